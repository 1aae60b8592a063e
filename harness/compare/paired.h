/*
 * harness/compare/paired.h - statistics of a paired A/B timing: two builds of a kernel timed
 * alternately in one process (old, new in random order within each round), so that
 * round i's two samples saw the same machine state.  The verdict rests on the per-round
 * ratios new/old, not on either side's absolute times, which drift on shared runners.
 *
 * Estimate and interval: the Wilcoxon signed-rank method on d_i = log(new_i / old_i):
 * the Hodges-Lehmann estimate (median of the Walsh averages (d_i + d_j) / 2, i <= j)
 * and its distribution-free confidence interval (the (k+1)-th smallest and largest
 * Walsh averages, k the signed-rank statistic's alpha/2 critical value, normal
 * approximation; Hollander & Wolfe, Nonparametric Statistical Methods, ch. 3).  It needs
 * only a symmetric distribution of d around its centre - no normality - and one
 * interrupted call moves it by one rank, not by its size.  Reported as ratios, exp(.).
 *
 * Analysis only: no kernel, no timer.
 */
#ifndef BITBENCH_PAIRED_H
#define BITBENCH_PAIRED_H

#include <stddef.h>

enum { BB_PAIRED_MIN_PAIRS = 20 }; /* below this, no verdict (the interval is too coarse) */

typedef struct bb_paired {
    size_t rounds;       /* pairs given (both samples > 0) */
    size_t block;        /* consecutive rounds per analysed pair (to bound the work) */
    size_t pairs;        /* pairs analysed: rounds / block */
    double ratio;        /* Hodges-Lehmann estimate of new/old */
    double lo, hi;       /* its (1 - alpha) confidence interval */
    double median_ratio; /* plain median of the pairs' ratios, for reference */
} bb_paired;

/* Pairs old[i], new_[i] for i < n (rounds with a sample <= 0 are skipped); when more
 * than max_pairs remain, consecutive rounds form blocks, each block one pair (the median
 * of its rounds' log ratios), so that at most max_pairs pairs are analysed (the Walsh
 * averages are pairs^2 / 2 numbers).
 * 0, or -1 with fewer than BB_PAIRED_MIN_PAIRS pairs or out of memory. */
int bb_paired_estimate(const double *old, const double *new_, size_t n, double alpha, size_t max_pairs,
                       bb_paired *out);

/* "regression" when the interval lies above 1 and the estimate is at least 1 + threshold
 * (threshold 0.03: 3% slower); "improvement" mirrored; otherwise "no change". */
const char *bb_paired_verdict(const bb_paired *p, double threshold);

/* z with P(Z > z) = p for a standard normal Z (0 < p < 1). */
double bb_normal_upper_quantile(double p);

#endif
