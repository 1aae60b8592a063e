/* harness/base/stats.c - summary statistics, quantiles and medians of samples (stats.h). */
#include "stats.h"
#include "rng.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int bb_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double bb_quantile_sorted(const double *s, size_t n, double q)
{
    if (n == 1)
        return s[0];
    double pos = q * (double)(n - 1);
    size_t lo = (size_t)floor(pos);
    if (lo >= n - 1)
        return s[n - 1];
    double frac = pos - (double)lo;
    return s[lo] + frac * (s[lo + 1] - s[lo]);
}

void bb_summarize(const double *v, size_t n, bb_summary *out)
{
    memset(out, 0, sizeof *out);
    out->n = n;
    if (n == 0)
        return;
    double *s = malloc(n * sizeof *s);
    memcpy(s, v, n * sizeof *s);
    qsort(s, n, sizeof *s, bb_cmp_double);
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += s[i];
    out->mean = sum / (double)n;
    double ss = 0;
    for (size_t i = 0; i < n; i++)
        ss += (s[i] - out->mean) * (s[i] - out->mean);
    out->stdev = n > 1 ? sqrt(ss / (double)(n - 1)) : 0.0;
    out->cv = out->mean != 0 ? out->stdev / out->mean : 0.0;
    out->min = s[0];
    out->max = s[n - 1];
    out->median = bb_quantile_sorted(s, n, 0.5);
    out->p10 = bb_quantile_sorted(s, n, 0.1);
    out->p90 = bb_quantile_sorted(s, n, 0.9);
    for (size_t i = 0; i < n; i++)
        s[i] = fabs(s[i] - out->median);
    qsort(s, n, sizeof *s, bb_cmp_double);
    out->mad = bb_quantile_sorted(s, n, 0.5);
    free(s);
}

static void swap_d(double *a, double *b)
{
    double t = *a;
    *a = *b;
    *b = t;
}

/* Moves the k-th smallest of v[0..n) to v[k], smaller ones before it (Hoare selection). */
static void select_kth(double *v, size_t n, size_t k)
{
    size_t lo = 0, hi = n - 1;
    while (lo < hi) {
        double pivot = v[lo + (hi - lo) / 2];
        size_t i = lo, j = hi;
        while (i <= j) {
            while (v[i] < pivot)
                i++;
            while (v[j] > pivot)
                j--;
            if (i <= j) {
                swap_d(&v[i], &v[j]);
                i++;
                if (j == 0)
                    break;
                j--;
            }
        }
        if (k <= j)
            hi = j;
        else if (k >= i)
            lo = i;
        else
            return;
    }
}

double bb_median_inplace(double *v, size_t n)
{
    size_t k = n / 2;
    select_kth(v, n, k);
    if (n % 2)
        return v[k];
    double below = v[0]; /* the largest of v[0..k) is the other middle value */
    for (size_t i = 1; i < k; i++)
        below = v[i] > below ? v[i] : below;
    return 0.5 * (below + v[k]);
}

double bb_quantile_copy(const double *v, size_t n, double q)
{
    double *t = malloc(n * sizeof *t);
    memcpy(t, v, n * sizeof *t);
    qsort(t, n, sizeof *t, bb_cmp_double);
    double x = bb_quantile_sorted(t, n, q);
    free(t);
    return x;
}

double bb_median_copy(const double *v, size_t n) { return bb_quantile_copy(v, n, 0.5); }

static size_t paired_draw(uint64_t *s, size_t n)
{
    return (size_t)((double)(bb_rng_u64(s) >> 11) * 0x1.0p-53 * (double)n);
}

void bb_paired_ratio_median(const double *a, const double *b, size_t n, double ratio_scale, size_t resamples,
                            double level, uint64_t seed, double *point, double *lo, double *hi)
{
    *point = *lo = *hi = NAN;
    if (!n)
        return;
    double *r = malloc(n * sizeof *r), *buf = malloc(n * sizeof *buf);
    double *meds = malloc((resamples ? resamples : 1) * sizeof *meds);
    if (!r || !buf || !meds) {
        free(r), free(buf), free(meds);
        return;
    }
    for (size_t i = 0; i < n; i++)
        r[i] = a[i] / b[i] * ratio_scale;
    *point = bb_median_copy(r, n);
    uint64_t s = seed * 0x9E3779B97F4A7C15ull + 0x2545F4914F6CDD1Dull;
    for (size_t k = 0; k < resamples; k++) {
        for (size_t i = 0; i < n; i++)
            buf[i] = r[paired_draw(&s, n)];
        meds[k] = bb_median_inplace(buf, n);
    }
    if (resamples) {
        qsort(meds, resamples, sizeof *meds, bb_cmp_double);
        *lo = bb_quantile_sorted(meds, resamples, (1.0 - level) / 2);
        *hi = bb_quantile_sorted(meds, resamples, 1.0 - (1.0 - level) / 2);
    }
    free(r), free(buf), free(meds);
}
