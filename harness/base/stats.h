/* harness/stats.h - summary statistics of timing samples (robust ones first). */
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

/* Monotonic clock in nanoseconds, and its granularity (smallest observed non-zero step). */
uint64_t bb_now_ns(void);
double bb_timer_granularity_ns(void);

#endif
