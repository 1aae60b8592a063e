#include "stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

uint64_t bb_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

double bb_timer_granularity_ns(void)
{
    static double cached = 0;
    if (cached > 0)
        return cached;
    uint64_t best = UINT64_MAX;
    for (int i = 0; i < 64; i++) {
        uint64_t a = bb_now_ns(), b;
        while ((b = bb_now_ns()) == a)
            ;
        if (b - a < best)
            best = b - a;
    }
    cached = (double)best;
    return cached;
}
