/*
 * harness/compare/compare.h - did NEW get slower than BASE?  Noise-robust verdicts per key.
 *
 * Timing samples on a shared machine are noisy and skewed (a busy neighbour adds
 * 10-50% to some calls), so everything here is rank- or median-based:
 *   - change   = median(new) / median(base) - 1 (positive = slower; smaller is better);
 *   - CI       = percentile bootstrap of that change over the raw samples (both sides
 *                resampled), seeded so that a verdict is reproducible;
 *   - test     = Mann-Whitney U, two-sided (exact when small and tie-free, else the
 *                normal approximation with tie and continuity corrections);
 *   - floor    = the same change of a low quantile (p5 by default): the time of calls
 *                that nothing interrupted.  Interference only adds time, and on a shared
 *                core a co-runner's time slices can hit half the calls of a run or more:
 *                the median then jumps between the clean and the interrupted cluster
 *                (2-3x on this project's 2-core VM, even against a real slowdown) while
 *                the floor stays put; a kernel that does more work moves the floor;
 *                With several runs of a key on a side (a baseline made of 3 runs), the
 *                floor change is measured from the edge of that side's range of per-run
 *                floors: a process's memory layout alone moved floors of 2-10 us calls by
 *                10-20% here, so the new run must leave the baseline runs' range;
 *   - verdict  = regression when p < alpha, the floor is slower by >= threshold, and the
 *                median's CI reaches +threshold (a precise median that did not move vetoes;
 *                an unstable one does not); improvement likewise; else no change.  With
 *                the floor off (quantile 0): p < alpha and median change >= threshold.
 *                Both significance and effect size are needed: with hundreds of samples a
 *                1% drift is "significant", and a 20% jump in 5 samples may be chance.
 * Machine drift between runs is the larger danger; bb_rowset_normalize divides each row
 * by a reference implementation measured in the same run (ratios are judged on their
 * medians: interference moves a ratio both ways, so it has no floor), and
 * bb_compare_rowsets takes an optional confirmation run: a regression counts only when
 * the rerun shows it too.
 *
 * Result files: JSON Lines of `bitbench sweep` rows (harness/results/SCHEMA.md, kind "sweep") or
 * of `bitbench gemm --json` (schema "bitbench.gemm/1"); other lines are counted, skipped,
 * except {"kind": "machine", "machine": {...}} (`bitbench compare --machine-json`): its
 * machine is given to the following rows that carry none (gemm rows do not).
 */
#ifndef BITBENCH_COMPARE_H
#define BITBENCH_COMPARE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ------------------------------------------------------------------ statistics */

typedef struct bb_mwu {
    double u_new;  /* pairs (base_i, new_j) with new_j > base_i, ties counted 1/2 */
    double z;      /* standardized |U - mean| after continuity correction (0 when exact) */
    double p;      /* two-sided p-value */
    bool exact;    /* p from the exact null distribution (no ties, both n <= 25) */
} bb_mwu;

/* Mann-Whitney U of b (new) against a (base); na, nb >= 1. */
void bb_mann_whitney(const double *a, size_t na, const double *b, size_t nb, bb_mwu *out);


/* Percentile-bootstrap interval at `level` (e.g. 0.99) of median(b)/median(a) - 1,
 * from `resamples` resamples of both a and b, with xorshift64* seeded by seed. */
void bb_bootstrap_median_change(const double *a, size_t na, const double *b, size_t nb,
                                size_t resamples, double level, uint64_t seed, double *lo,
                                double *hi);

typedef enum {
    BB_NO_CHANGE,
    BB_REGRESSION,
    BB_IMPROVEMENT,
    BB_UNCONFIRMED, /* a regression in NEW that the confirmation run did not show */
} bb_verdict;
const char *bb_verdict_name(bb_verdict v);

typedef struct bb_compare_opts {
    double alpha;     /* significance level of the U test; the CI level is 1 - alpha */
    double threshold; /* minimum |change| for a verdict, e.g. 0.05 */
    double floor_quantile; /* quantile whose change must pass the threshold too; 0: off */
    size_t resamples; /* bootstrap resamples */
    uint64_t seed;
    const char *normalize;     /* reference implementation, or NULL */
    bool allow_different_machines;
} bb_compare_opts;
void bb_compare_opts_default(bb_compare_opts *o); /* 0.01, 5%, floor p5, 2000, seed 1 */

typedef struct bb_sample_compare {
    size_t n_base, n_new;
    double base_median, new_median;
    double new_p10, new_p90; /* spread of NEW, for trackers that want bounds */
    double change, ci_low, ci_high; /* relative change of the median and its CI */
    double floor_change; /* relative change of the floor quantile beyond the range of the
                          * runs' floors, 0 inside it (NAN when off) */
    size_t base_runs, new_runs; /* runs (rows) whose floors made the ranges */
    bb_mwu test;
    bb_verdict verdict;
} bb_sample_compare;

/* Everything above for one pair of samples (one run each side). */
void bb_compare_samples(const double *a, size_t na, const double *b, size_t nb,
                        const bb_compare_opts *o, uint64_t seed, bb_sample_compare *out);

/* The per-run floors of each side: smallest and largest, and how many runs. */
typedef struct bb_floor_range {
    double base_lo, base_hi, new_lo, new_hi;
    size_t base_runs, new_runs;
} bb_floor_range;
/* Same, with the samples of several runs pooled in a and b and their floors in fr. */
void bb_compare_runs(const double *a, size_t na, const double *b, size_t nb, const bb_floor_range *fr,
                     const bb_compare_opts *o, uint64_t seed, bb_sample_compare *out);

/* ------------------------------------------------------------------ result rows */

typedef struct bb_row {
    char *key;     /* pairing key: <model or gemm:MxK>|<format>|<impl>|t<threads>|b<batch>|...|<cold|warm> */
    char *group;   /* the key without format and impl: rows that ran the same work */
    char *run;     /* run id (sweep) or "<file>#<n>" (gemm: one invocation) */
    char *format, *impl;
    char *status;  /* "ok", or why there are no samples ("check_failed", ...) */
    char *reason;  /* NULL when ok */
    bool interleaved; /* sample i of every row of the run was taken in the same round (gemm) */
    char *machine_id;   /* NULL: the row carries no machine description */
    char *machine_desc; /* "cpu model; isa cap; N cores" for messages */
    double *samples;    /* ns per call / per decode step (or ratios after normalization) */
    size_t n;
    bool have_instructions; /* instructions retired per token, measured by counters */
    double instructions_per_token;
    char *instructions_reason; /* why not, when !have_instructions */
    bool normalized, is_reference;
    size_t line; /* 1-based line in its file */
} bb_row;

typedef struct bb_rowset {
    char *path;
    bb_row *rows;
    size_t n, cap;
    size_t other_lines;  /* valid JSON of another kind (skipped) */
    bool truncated_last; /* the last line had no newline (an interrupted writer): skipped */
    char *normalized_to; /* the reference implementation, after bb_rowset_normalize */
    int sweep_schema;    /* the newest schema_version of its sweep rows (0: none) */
    int sweep_schema_min;
} bb_rowset;

/* Reads a JSON Lines file.  0, or -1 with a one-line reason in err (unreadable file, a
 * malformed line (its number), a row of a newer schema, no rows at all). */
int bb_rowset_load(const char *path, bb_rowset *s, char *err, size_t errlen);
void bb_rowset_free(bb_rowset *s);

/* Replaces each measured row's samples by ratios to the row of implementation `ref` in
 * the same run and group: per round when the run interleaved its rows (gemm) and the
 * counts match, else to the reference's median.  The reference rows keep their raw ns
 * (is_reference).  Rows without a reference in their run get status "no_reference".
 * Returns the number of rows normalized; 0 means `ref` was measured nowhere. */
size_t bb_rowset_normalize(bb_rowset *s, const char *ref);

/* ------------------------------------------------------------------ comparing two files */

typedef struct bb_key_result {
    const char *key, *format, *impl;
    const char *unit; /* "ns", or "ratio to <ref>" */
    bb_sample_compare first;   /* BASE vs NEW */
    bool confirmed_run;        /* a confirmation run was given and has this key */
    bb_sample_compare confirm; /* BASE vs the confirmation run */
    bb_verdict verdict;        /* final */
    bool have_instructions;
    double instructions_change; /* new / base - 1 of instructions per token */
    const char *instructions_note; /* why unavailable */
} bb_key_result;

typedef struct bb_key_missing {
    const char *key;
    const char *why; /* e.g. "only in BASE", "not measured in NEW: check_failed: ..." */
} bb_key_missing;

typedef struct bb_comparison {
    bb_key_result *results;
    size_t n_results;
    bb_key_missing *missing;
    size_t n_missing;
    size_t regressions, improvements, unconfirmed;
    char machine_note[512]; /* "same machine (id ...)", or what could not be checked */
    bool machines_differ;   /* allowed by the option, noted */
} bb_comparison;

/* Pairs rows by key (rows with the same key in one file are pooled), compares each pair,
 * lists keys found on one side only.  confirm may be NULL.  Returns 0, or 2 (bad input:
 * different machines without allow_different_machines, or no key in common) with the
 * reason in err.  The comparison points into the rowsets: free them after it. */
int bb_compare_rowsets(const bb_rowset *base, const bb_rowset *new_, const bb_rowset *confirm,
                       const bb_compare_opts *o, bb_comparison *out, char *err, size_t errlen);
void bb_comparison_free(bb_comparison *c);


/* Samples of every row with this key pooled into a fresh array (*n of them; NULL when
 * none are measured).  Shared by compare and history. */
double *bb_rowset_pool(const bb_rowset *s, const char *key, size_t *n);

#endif
