/* harness/compare/paired.c - Hodges-Lehmann estimate and Wilcoxon signed-rank interval of paired ratios. */
#include "paired.h"

#include "../base/stats.h"

#include <math.h>
#include <stdlib.h>

double bb_normal_upper_quantile(double p)
{
    double lo = -40, hi = 40; /* P(Z > z) = erfc(z / sqrt 2) / 2 falls with z: bisect */
    for (int i = 0; i < 200; i++) {
        double mid = 0.5 * (lo + hi);
        if (0.5 * erfc(mid / sqrt(2.0)) > p)
            lo = mid;
        else
            hi = mid;
    }
    return 0.5 * (lo + hi);
}

int bb_paired_estimate(const double *old, const double *new_, size_t n, double alpha, size_t max_pairs,
                       bb_paired *out)
{
    *out = (bb_paired){0};
    size_t rounds = 0;
    for (size_t i = 0; i < n; i++)
        rounds += old[i] > 0 && new_[i] > 0;
    size_t block = max_pairs && rounds > max_pairs ? (rounds + max_pairs - 1) / max_pairs : 1;
    size_t pairs = rounds / block;
    out->rounds = rounds;
    out->block = block;
    out->pairs = pairs;
    if (pairs < BB_PAIRED_MIN_PAIRS)
        return -1;
    double *d = malloc(pairs * sizeof *d);
    size_t nw = pairs * (pairs + 1) / 2;
    double *w = malloc(nw * sizeof *w);
    if (!d || !w) {
        free(d);
        free(w);
        return -1;
    }
    /* A block's value is the median of its rounds' log ratios: a sum would let one
     * interrupted call (milliseconds, against microsecond calls) decide the block. */
    double *blk = malloc(block * sizeof *blk);
    if (!blk) {
        free(d);
        free(w);
        return -1;
    }
    size_t in_block = 0, p = 0;
    for (size_t i = 0; i < n && p < pairs; i++) {
        if (!(old[i] > 0 && new_[i] > 0))
            continue;
        blk[in_block++] = log(new_[i] / old[i]);
        if (in_block == block) {
            qsort(blk, block, sizeof *blk, bb_cmp_double);
            d[p++] = bb_quantile_sorted(blk, block, 0.5);
            in_block = 0;
        }
    }
    free(blk);
    size_t k = 0;
    for (size_t i = 0; i < pairs; i++)
        for (size_t j = i; j < pairs; j++)
            w[k++] = 0.5 * (d[i] + d[j]);
    qsort(w, nw, sizeof *w, bb_cmp_double);
    qsort(d, pairs, sizeof *d, bb_cmp_double);
    /* k: the largest count of Walsh averages that may lie beyond each end of the interval */
    double np = (double)pairs;
    double mean = np * (np + 1) / 4, sd = sqrt(np * (np + 1) * (2 * np + 1) / 24);
    double crit = floor(mean - bb_normal_upper_quantile(alpha / 2) * sd);
    size_t cut = crit < 0 ? 0 : (size_t)crit;
    if (cut >= nw / 2)
        cut = nw / 2 - (nw % 2 == 0);
    out->lo = exp(w[cut]);
    out->hi = exp(w[nw - 1 - cut]);
    out->ratio = exp(bb_quantile_sorted(w, nw, 0.5));
    out->median_ratio = exp(bb_quantile_sorted(d, pairs, 0.5));
    free(d);
    free(w);
    return 0;
}

const char *bb_paired_verdict(const bb_paired *p, double threshold)
{
    if (p->pairs < BB_PAIRED_MIN_PAIRS)
        return "too few pairs";
    if (p->lo > 1.0 && p->ratio >= 1.0 + threshold)
        return "regression";
    if (p->hi < 1.0 && p->ratio <= 1.0 / (1.0 + threshold))
        return "improvement";
    return "no change";
}
