/*
 * harness/tune/tune.h - tuned kernel selection: a small versioned record of which implementation
 * of each format was fastest on this machine, per shape class, thread count and batch class
 * (FFTW's wisdom, ATLAS's install-time search), and the one rule that turns `--kernel F`
 * into an implementation: the tuned winner when a record covers the case, else the fixed
 * priority of the kernel table, with the reason either way.
 *
 * Classes (documented in README "Tuned selection"):
 *   shape class  "m<a>k<b>": a = log2(M), b = log2(K), each rounded to the nearest integer
 *                (half up), i.e. M and K each snapped to the nearest power of two on a log
 *                scale.  1536 -> 2^11 (1.5 is the half point: up), 5460 -> 2^12,
 *                11008 -> 2^13, 28672 -> 2^15.  Shapes a factor < sqrt(2) apart in both
 *                dimensions share a class: they stream similar bytes per row and per call.
 *   batch class  "decode" (N = 1), "small" (2 <= N <= 31), "prefill" (N >= 32).
 *   threads      exact.
 * A record is for one machine id (harness/machine/machine.h: CPU, ISA detected, ISA cap, cores);
 * a record of another id is never used.
 *
 * The file: JSON {"schema": "bitbench.tuning", "version": 1, "machine_id", "machine",
 * "created", "updated", "git_revision", "rule", "entries": [...]}, one entry per
 * (format, shape class, threads, batch class).  Written atomically (temp file + rename).
 * Default path results/tuning/<machine-id>.json, or $BITBENCH_TUNING.
 */
#ifndef BITBENCH_TUNE_H
#define BITBENCH_TUNE_H

#include "../../kernels/kernel.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BB_TUNE_SCHEMA "bitbench.tuning"
#define BB_TUNE_VERSION 1
/* A candidate replaces the priority pick only when its paired median time ratio is at most
 * 1 - BB_TUNE_MARGIN and the 95% interval of that ratio lies below 1. */
#define BB_TUNE_MARGIN 0.03

typedef enum { BB_BATCH_DECODE, BB_BATCH_SMALL, BB_BATCH_PREFILL } bb_batch_class;

/* "m12k12" for 4096 x 4096, into buf (>= 16 bytes); returns buf. */
char *bb_tune_shape_class(size_t m, size_t k, char *buf, size_t len);
int bb_tune_log2_class(size_t v); /* round(log2 v), half up; v >= 1 */
bb_batch_class bb_tune_batch_class(size_t n);
const char *bb_tune_batch_class_name(bb_batch_class c);

/* One measured candidate of an entry. */
typedef struct bb_tune_candidate {
    char impl[64];
    double median_ns;
    size_t samples;
} bb_tune_candidate;

typedef struct bb_tune_entry {
    char format[16];
    char shape_class[16];
    size_t m, k, n;            /* the shape actually measured */
    unsigned threads;
    bb_batch_class batch;
    char impl[64];             /* the chosen implementation */
    char priority_impl[64];    /* what the priority would pick */
    char decision[32];         /* "faster" (a tuned winner) or "kept-priority" */
    double ratio_median;       /* winner (or best rival) / priority pick, paired per round */
    double ratio_lo, ratio_hi; /* its 95% interval (distribution-free, order statistics) */
    char note[200];            /* why: the rival's ratio when the priority pick was kept */
    char time[32];             /* when measured (UTC) */
    bb_tune_candidate cand[16];
    size_t n_cand;
} bb_tune_entry;

typedef struct bb_tune_table {
    int version;
    char machine_id[17];
    char cpu_model[128];
    char created[32], updated[32];
    char git_revision[64];
    char path[512];            /* where it was read from / will be written to */
    bb_tune_entry *entries;
    size_t n, cap;
} bb_tune_table;

void bb_tune_table_init(bb_tune_table *t, const char *machine_id, const char *cpu_model);
void bb_tune_table_free(bb_tune_table *t);
/* Adds e, replacing an entry with the same (format, shape class, threads, batch class). */
int bb_tune_table_put(bb_tune_table *t, const bb_tune_entry *e);
const bb_tune_entry *bb_tune_table_get(const bb_tune_table *t, const char *format, const char *shape_class,
                                       unsigned threads, bb_batch_class batch);

/* The default path for machine id (BITBENCH_TUNING when set), into buf. */
const char *bb_tune_default_path(const char *machine_id, char *buf, size_t len);
/* 0 read; 1 no file at path (not an error: nothing tuned); -1 unreadable, malformed or of a
 * version this build does not read (err says which, and what to do). */
int bb_tune_read(const char *path, bb_tune_table *t, char *err, size_t errlen);
/* Atomic: path.tmp.<pid> written, flushed, renamed over path; parent folders made. */
int bb_tune_write(const char *path, const bb_tune_table *t, char *err, size_t errlen);
json_t *bb_tune_entry_json(const bb_tune_entry *e);

/* ------------------------------------------------------------------ the selection rule */

typedef struct bb_select_rule {
    bool tuned;          /* true: a tuning record chose it */
    char text[512];      /* "tuned: <file> <date>" or "priority: no tuning record for ..." */
} bb_select_rule;

/* The rule, on an explicit table (NULL: none) and machine id: pure, for tests. */
const bb_kernel *bb_tune_select(const bb_tune_table *t, const char *machine_id, const char *format,
                                size_t m, size_t k, size_t n, unsigned threads, bb_select_rule *rule);

/* `--kernel F` everywhere: the fastest F here for this case when this machine's record
 * (read once per process from bb_tune_default_path) covers it, else the priority pick.
 * NULL when the format is unknown or nothing of it runs.  rule may be NULL. */
const bb_kernel *bb_select_kernel(const char *format, size_t m, size_t k, size_t n, unsigned threads,
                                  bb_select_rule *rule);
/* The sweep's pick: one implementation per (model, format), since a sweep group builds the
 * model's weights once for all its rows: bb_select_kernel at the model's largest projection
 * (most weights; the MLP's on every model here), decode (N = 1), the largest of the
 * sweep's thread counts.  The rule text names that case. */
struct bb_model;
/* That case: the model's largest projection (M x K), the largest thread count (N = 1). */
void bb_tune_model_case(const struct bb_model *m, const unsigned *threads, size_t n_threads, size_t *pm, size_t *pk,
                        unsigned *pt, const char **proj_name);
const bb_kernel *bb_select_kernel_model(const char *format, const struct bb_model *m, const unsigned *threads,
                                        size_t n_threads, bb_select_rule *rule);
/* Once per process, on stderr, when this machine has no tuning record: how to make one. */
void bb_tune_hint(const char *cmd);
/* Forget the process's cached record (after `bitbench tune` wrote a new one; tests). */
void bb_tune_forget(void);

/* ------------------------------------------------------------------ the decision */

/* Paired ratios a[i] / b[i] of samples taken in the same interleaved round: median and the
 * distribution-free 95% interval of the median (order statistics, normal approximation to
 * the binomial).  n >= 1; with fewer than 6 pairs the interval is [min, max]. */
void bb_tune_paired_ratio(const double *a, const double *b, size_t n, double *median, double *lo, double *hi);

#endif
