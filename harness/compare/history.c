/* harness/compare/history.c - step-change detection over a series of per-file medians. */
#include "history.h"

#include "compare.h"
#include "../base/stats.h"

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

/* ------------------------------------------------------------------ series of result files */

static bool key_listed(bb_key_series *ks, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(ks[i].key, key))
            return true;
    return false;
}

bb_key_series *bb_history_series(const bb_rowset *sets, size_t n_files, const char *key_filter,
                                 const bb_history_opts *o, size_t *n_keys)
{
    size_t cap = 0, n = 0;
    for (size_t f = 0; f < n_files; f++)
        cap += sets[f].n;
    bb_key_series *ks = calloc(cap, sizeof *ks);
    for (size_t f = 0; f < n_files; f++)
        for (size_t i = 0; i < sets[f].n; i++) {
            const bb_row *r = &sets[f].rows[i];
            if ((key_filter && !strstr(r->key, key_filter)) || key_listed(ks, n, r->key))
                continue;
            ks[n].key = r->key;
            ks[n].unit = r->normalized ? "ratio" : "ns";
            n++;
        }
    size_t kept = 0;
    for (size_t k = 0; k < n; k++) {
        ks[k].pts = calloc(n_files, sizeof *ks[k].pts);
        ks[k].owned = calloc(n_files, sizeof *ks[k].owned);
        for (size_t f = 0; f < n_files; f++) {
            size_t cnt;
            double *v = bb_rowset_pool(&sets[f], ks[k].key, &cnt);
            if (!v)
                continue;
            ks[k].owned[f] = v;
            ks[k].pts[f] = (bb_series_point){.present = true, .median = bb_median_copy(v, cnt), .samples = v,
                                             .n = cnt};
        }
        bool any = false;
        for (size_t f = 0; f < n_files; f++)
            any = any || ks[k].pts[f].present;
        if (!any) { /* rows without samples (not measured): no point to follow, no first level */
            free(ks[k].pts);
            free(ks[k].owned);
            continue;
        }
        ks[k].n_steps = bb_detect_steps(ks[k].pts, n_files, o, ks[k].steps, BB_HISTORY_MAX_STEPS);
        ks[kept++] = ks[k];
    }
    *n_keys = kept;
    return ks;
}

void bb_history_series_free(bb_key_series *ks, size_t n, size_t n_files)
{
    for (size_t k = 0; k < n; k++) {
        for (size_t f = 0; f < n_files; f++)
            free(ks[k].owned[f]);
        free(ks[k].owned);
        free(ks[k].pts);
    }
    free(ks);
}

size_t bb_history_first_present(const bb_key_series *s, size_t n_files, bool last)
{
    for (size_t i = 0; i < n_files; i++) {
        size_t f = last ? n_files - 1 - i : i;
        if (s->pts[f].present)
            return f;
    }
    return n_files;
}
