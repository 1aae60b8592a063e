/* harness/base/stats.h - summary statistics of timing samples (robust ones first). */
#ifndef BITBENCH_STATS_H
#define BITBENCH_STATS_H

#include <stddef.h>
#include <stdint.h>

typedef struct bb_summary {
    size_t n;
    double min, max, mean, median, p10, p90;
    double mad;   /* median absolute deviation (unscaled) */
    double stdev; /* sample standard deviation */
    double cv;    /* stdev / mean */
} bb_summary;

/* Summarizes v[0..n) (n >= 1); v is not modified. */
void bb_summarize(const double *v, size_t n, bb_summary *out);
/* Quantile q in [0, 1] of sorted s[0..n), linear interpolation (type 7, as R and numpy). */
double bb_quantile_sorted(const double *s, size_t n, double q);
int bb_cmp_double(const void *a, const void *b);
/* Quantile q of v[0..n) (n >= 1) as above; v is left alone. */
double bb_quantile_copy(const double *v, size_t n, double q);
/* Median of v[0..n) (type 7: mean of the two middle values for even n); v is reordered. */
double bb_median_inplace(double *v, size_t n);
double bb_median_copy(const double *v, size_t n); /* v is left alone */

/* From samples taken side by side: the median of a[i] / b[i] x ratio_scale and its
 * percentile-bootstrap interval at `level` over `resamples` resampled pairs (seeded);
 * NAN when n is 0.  The sweep's paired speed-up and gemm's % of the in-run ceiling. */
void bb_paired_ratio_median(const double *a, const double *b, size_t n, double ratio_scale, size_t resamples,
                            double level, uint64_t seed, double *point, double *lo, double *hi);

#endif
