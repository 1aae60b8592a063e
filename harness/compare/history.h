/*
 * harness/compare/history.h - step changes in a metric over successive result files.
 *
 * One key's series: per file, the median of its samples (and the samples).  A step at
 * point t is a change of level between the points before and from t that is both large
 * (|change| >= threshold, levels = medians of the per-file medians of up to `window`
 * points each side) and significant (Mann-Whitney U over the pooled samples of the two
 * windows, p < alpha).  Medians of windows make one odd file (a noisy run) no step: it
 * is outvoted by its neighbours.  A step also makes its neighbours candidates (their
 * windows straddle it); the one kept is where the windows' samples separate best.  A step with fewer than two points after it is "tentative": it may be a spike.
 */
#ifndef BITBENCH_HISTORY_H
#define BITBENCH_HISTORY_H

#include "compare.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct bb_series_point {
    bool present;          /* the key was measured in this file */
    double median;
    const double *samples; /* not owned */
    size_t n;
} bb_series_point;

typedef struct bb_step {
    size_t at;      /* index of the first point of the new level (into the series given) */
    double before, after; /* the two levels */
    double change;  /* after / before - 1 */
    double p;
    double separation; /* P(after sample > before sample) - 1/2, from U: where the step is sharpest */
    bool tentative;
} bb_step;

typedef struct bb_history_opts {
    double threshold, alpha;
    size_t window;
} bb_history_opts;

/* Steps of a series of n points (absent points are skipped; `at` indexes pts).  Writes at
 * most cap steps; returns how many were found. */
size_t bb_detect_steps(const bb_series_point *pts, size_t n, const bb_history_opts *o, bb_step *out,
                       size_t cap);

enum { BB_HISTORY_MAX_STEPS = 64 };

/* One key over all files. */
typedef struct bb_key_series {
    const char *key, *unit;  /* unit "ns", or "ratio" after normalization */
    bb_series_point *pts;    /* one per file */
    double **owned;          /* pooled samples per file */
    bb_step steps[BB_HISTORY_MAX_STEPS];
    size_t n_steps;
} bb_key_series;

/* Every key of the n_files rowsets (only keys containing key_filter, when not NULL) with a
 * measured point in some file: its per-file medians and its steps.  *n_keys of them; the
 * series point into the rowsets: free them after. */
bb_key_series *bb_history_series(const bb_rowset *sets, size_t n_files, const char *key_filter,
                                 const bb_history_opts *o, size_t *n_keys);
void bb_history_series_free(bb_key_series *ks, size_t n_keys, size_t n_files);
/* The first (last: the last) file index where the series has a point; n_files if none. */
size_t bb_history_first_present(const bb_key_series *s, size_t n_files, bool last);

#endif
