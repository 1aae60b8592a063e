/* harness/history.c - step-change detection over a series of per-file medians. */
#include "history.h"

#include "compare.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Indices of the present points (the series without its gaps). */
static size_t present_points(const bb_series_point *pts, size_t n, size_t *idx)
{
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (pts[i].present && pts[i].n > 0)
            idx[m++] = i;
    return m;
}

/* Median of the per-file medians of idx[lo..hi), and their samples pooled into *pool. */
static double window_level(const bb_series_point *pts, const size_t *idx, size_t lo, size_t hi,
                           double **pool, size_t *npool)
{
    double meds[64];
    size_t k = 0, total = 0;
    for (size_t i = lo; i < hi; i++) {
        meds[k++] = pts[idx[i]].median;
        total += pts[idx[i]].n;
    }
    *pool = malloc(total * sizeof **pool);
    *npool = 0;
    for (size_t i = lo; i < hi; i++) {
        memcpy(*pool + *npool, pts[idx[i]].samples, pts[idx[i]].n * sizeof **pool);
        *npool += pts[idx[i]].n;
    }
    return bb_median_inplace(meds, k);
}

/* The candidate step at compact position t (0 < t < m), or false. */
static bool candidate_at(const bb_series_point *pts, const size_t *idx, size_t m, size_t t,
                         const bb_history_opts *o, bb_step *s)
{
    size_t lo = t > o->window ? t - o->window : 0, hi = t + o->window < m ? t + o->window : m;
    double *before, *after;
    size_t nb, na;
    s->before = window_level(pts, idx, lo, t, &before, &nb);
    s->after = window_level(pts, idx, t, hi, &after, &na);
    s->change = s->after / s->before - 1.0;
    bool found = false;
    if (fabs(s->change) >= o->threshold) {
        bb_mwu u;
        bb_mann_whitney(before, nb, after, na, &u);
        s->p = u.p;
        s->separation = u.u_new / ((double)na * (double)nb) - 0.5;
        found = u.p < o->alpha;
    }
    free(before);
    free(after);
    s->at = idx[t];
    s->tentative = hi - t < 2;
    return found;
}

/* Is candidate a (at position ia) a better mark of the step than b? */
static bool sharper(const bb_step *a, size_t ia, const bb_step *b, size_t ib)
{
    double sa = fabs(a->separation), sb = fabs(b->separation);
    if (sa != sb)
        return sa > sb;
    if (fabs(a->change) != fabs(b->change))
        return fabs(a->change) > fabs(b->change);
    return ia < ib;
}

size_t bb_detect_steps(const bb_series_point *pts, size_t n, const bb_history_opts *o, bb_step *out,
                       size_t cap)
{
    bb_history_opts opt = *o;
    if (opt.window < 1)
        opt.window = 1;
    if (opt.window > 32)
        opt.window = 32; /* window_level keeps up to 64 medians */
    size_t *idx = malloc((n ? n : 1) * sizeof *idx), m = present_points(pts, n, idx);
    bb_step *cand = calloc(m ? m : 1, sizeof *cand);
    bool *is = calloc(m ? m : 1, sizeof *is);
    for (size_t t = 1; t < m; t++)
        is[t] = candidate_at(pts, idx, m, t, &opt, &cand[t]);
    size_t found = 0;
    for (size_t t = 1; t < m; t++) {
        if (!is[t])
            continue;
        bool sharpest = true; /* among the candidates within one window: one step, one mark */
        for (size_t u = t > opt.window ? t - opt.window : 1; u < m && u <= t + opt.window; u++)
            if (u != t && is[u] && sharper(&cand[u], u, &cand[t], t))
                sharpest = false;
        if (sharpest && found < cap)
            out[found++] = cand[t];
    }
    free(idx);
    free(cand);
    free(is);
    return found;
}
