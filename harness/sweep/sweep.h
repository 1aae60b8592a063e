/*
 * harness/sweep/sweep.h - the sweep: every (model, implementation, threads, batch) row planned,
 * then measured as decoder steps, one JSON row each (harness/results/SCHEMA.md).
 *
 * A decode step at batch N is harness/model/step.h's: N sequences, one new token each at
 * position --context C, through every layer (RMSNorm, q/k/v, RoPE, the fp16 KV cache,
 * attention, o, residual, RMSNorm, gate/up, SiLU, down, residual), then the final norm and
 * the fp16 LM head.  Activation quantization is inside the kernels, so inside the timed
 * region.  --matmul-only keeps the earlier step (the projections alone).  A prompt row
 * (--prompt P) runs one sequence of P tokens from position 0 (causal attention).
 *
 * Interleaving: the rows of one model, batch and thread count (one per implementation)
 * form a set; their samples alternate A B C ... A B C ..., each with its own cold rotation,
 * so one noisy moment hits all of them, and each row's speed-up vs fp16 comes from the
 * samples taken side by side (median of paired ratios, bootstrap interval).
 *
 * Cold weights: the sampled unit (the whole model in `full` mode, one layer + head in
 * `extrapolated` mode) has as many distinct copies as needed for their total to reach 4x
 * the last-level cache, used in turn, so every sample streams its weights from DRAM.
 * Weights are built from a seeded tile of 64 quantized rows repeated over M (values do not
 * change the timing of these kernels; building gigabytes from one tile takes a memcpy), with
 * the scales set so that the dequantized weights have RMS 1/sqrt(K).  The fp16 LM head is
 * one set of copies shared by a model's implementations, and the KV cache has a rotation of
 * its own (copies and windows of sequences), both reaching 4x the cache too.  A model is in
 * one mode for all its implementations; the Table 3 model runs first.
 */
#ifndef BITBENCH_SWEEP_H
#define BITBENCH_SWEEP_H

#include "../machine/cache.h"
#include "../../kernels/kernel.h"
#include "../model/models.h"
#include "../results/results.h"

#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BB_SWEEP_MAX_LIST 16
#define BB_SWEEP_TILE_ROWS 64
#define BB_SWEEP_LLC_MULTIPLE BB_COLD_LLC_MULTIPLE /* harness/machine/cache.h: one rule with gemm */

typedef struct bb_sweep_opts {
    const bb_model *models;
    size_t n_models;
    bb_format_id formats[BB_FMT_COUNT];
    size_t n_formats;
    unsigned threads[BB_SWEEP_MAX_LIST];
    size_t n_threads;
    uint64_t batches[BB_SWEEP_MAX_LIST]; /* from --batch; the budget batch is separate */
    size_t n_batches;
    bool budget_batch;    /* add a row at the Table 3 batch per model and format */
    uint64_t mem_budgets[2]; /* Table 3 budgets: the paper's (160 GiB) and --mem-budget's */
    size_t n_budgets;
    const char *budget_models[BB_SWEEP_MAX_LIST]; /* models with budget rows (empty: the largest) */
    size_t n_budget_models;
    uint32_t seq_len;     /* Table 3 sequence length (512) */
    uint32_t context;     /* --context C: the cache positions a decode step attends to (512) */
    uint32_t prompt;      /* --prompt P: also a prompt row per model (0: none) */
    bool matmul_only;     /* --matmul-only: the projections alone (the earlier step) */
    bool interleave;      /* formats alternate sample by sample (default) */
    bool methods;         /* every ternary method (add-only, multiply-add, lookup) besides the best */
    const bb_kernel *impls[64]; /* --impl: exactly these (n_impls > 0) */
    size_t n_impls;
    double min_time;      /* seconds of kept samples per row */
    unsigned min_reps;    /* samples per row at least (unless --max-row-time cuts) */
    unsigned max_reps;
    unsigned warmup;      /* samples discarded first */
    unsigned placements;  /* --placements K: the samples of an interleaved set are taken in K
                           * parts, the weights rebuilt at fresh addresses before each (1: once) */
    double max_row_time;  /* seconds: a row estimated to take longer is skipped */
    double max_budget_row_time; /* the same for Table 3 rows (large batches), outside --time-budget's share */
    double time_budget;   /* seconds for the whole sweep (0: none): rows share what is left */
    uint64_t full_max;    /* bytes: full mode only when every copy of the model fits */
    bool lm_head;
    bool warm;            /* no rotation: weights may stay in the cache */
    uint64_t seed;
    uint64_t llc_bytes;   /* 0: detect (hwloc, sysfs) */
    double cv_warn;       /* warn above this coefficient of variation */
    uint64_t (*mem_available)(void); /* NULL: MemAvailable */
    const char *out_path; /* for messages only */
} bb_sweep_opts;

void bb_sweep_opts_default(bb_sweep_opts *o);

/* One planned row. */
typedef struct bb_sweep_row {
    const bb_model *model;
    bb_format_id format;
    const bb_kernel *kernel;
    unsigned threads;
    uint64_t batch;      /* budget rows: the budget batch (0: nothing fits); prompt rows: 1 */
    bool budget;
    unsigned budget_index; /* which of opts.mem_budgets */
    uint32_t prompt;     /* prompt row: P tokens of one sequence (0: a decode row) */
    char key[224];
} bb_sweep_row;

#define BB_SWEEP_PAPER_BUDGET (160ull << 30) /* two A100 80GB, as --mem-budget 160G parses */

/* The implementations a plan runs for format f (best first), per opts; n <= cap. */
size_t bb_sweep_variants(const bb_sweep_opts *o, const struct bb_model *m, bb_format_id f, const bb_kernel **out,
                         size_t cap);
/* The Table 3 batch of model m with kernel k's format under budget b. */
uint64_t bb_sweep_budget_batch(const bb_sweep_opts *o, const bb_model *m, bb_format_id f, uint64_t budget);

/* The rows in run order: model, then batch (list ascending, prompt, budgets), threads,
 * implementation: the rows of one set (interleaved) are adjacent.  -1 with a one-line reason
 * (e.g. a budget too small for batch 1 of any model and format). */
int bb_sweep_plan(const bb_sweep_opts *o, bb_sweep_row **rows, size_t *n, char *err, size_t errlen);
void bb_sweep_key(const bb_sweep_opts *o, const bb_sweep_row *r, char *buf, size_t len);

/* ------------------------------------------------------------------ arithmetic */

/* How a model is sampled: full (layers_per_sample = layers) or extrapolated (1), and the
 * number of copies of the sampled unit that the rotation needs. */
typedef struct bb_rotation {
    bool full;
    unsigned layers_per_sample;
    unsigned copies;
    uint64_t unit_bytes;     /* one copy of the sampled unit: layers + head */
    uint64_t rotation_bytes; /* copies x unit_bytes */
} bb_rotation;

/* layer_bytes, head_bytes: what one layer and the head stream (kernel layouts).  llc 0
 * means unknown (then BB_ASSUMED_LLC, harness/machine/cache.h, is assumed).  Full mode when copies x model <= full_max. */
void bb_sweep_rotation(uint64_t layer_bytes, uint64_t head_bytes, unsigned layers, uint64_t llc,
                       uint64_t full_max, bool warm, bb_rotation *out);
/* ns of a whole decode step from one sample: layers_ns x layers / layers_per_sample + head_ns. */
double bb_sweep_extrapolate(double layers_ns, double head_ns, unsigned layers, unsigned layers_per_sample);

/* The KV cache of the sweep: one layer's slice for n_seq sequences of cap positions
 * (bb_step_kv_layer_bytes), `copies` times for each of layers_per_sample layers, so that
 * the whole is at least BB_SWEEP_LLC_MULTIPLE x llc (cold, like the weights). */
typedef struct bb_kv_plan {
    uint64_t slice_bytes;  /* one layer, n_seq sequences */
    unsigned copies;
    uint64_t total_bytes;  /* copies x layers_per_sample x slice_bytes */
    uint64_t step_bytes;   /* what a whole step reads at batch n: layers x n x per-sequence bytes */
} bb_kv_plan;
void bb_sweep_kv_plan(const bb_model *m, size_t n_seq, size_t cap, unsigned layers_per_sample, uint64_t llc,
                      bool warm, size_t n, bb_kv_plan *out);

/* Paired speed-up of b over a from samples taken side by side: the median of a[i]/b[i]
 * (times the tokens ratio tok_b/tok_a, 1 for equal batches) and its percentile-bootstrap
 * interval at `level` over resampled pairs (seeded). */
void bb_sweep_paired_speedup(const double *a, const double *b, size_t n, double tokens_ratio, size_t resamples,
                             double level, uint64_t seed, double *point, double *lo, double *hi);
/* The order of an interleaved set of n rows over `rounds` rounds: out[i] = the row of the
 * i-th sample (A B C ... A B C ...). */
void bb_sweep_interleave_order(size_t n, size_t rounds, size_t *out);
/* Rows of the correctness check for an M-row matrix: all of them up to 512, else
 * 256 + M mod 256 (keeps the ragged tail every row blocking up to 256 sees). */
size_t bb_sweep_check_rows(size_t m);

/* ------------------------------------------------------------------ running */

typedef void (*bb_sweep_progress_fn)(void *ctx, size_t index, size_t total, const bb_sweep_row *row,
                                     const json_t *result, double elapsed_s, double eta_s);

typedef struct bb_sweep_ctx {
    const bb_sweep_opts *opts;
    bb_results_writer *writer;
    bb_keyset *skip;            /* keys to skip (--resume); may be NULL */
    bb_sweep_progress_fn progress;
    void *progress_ctx;
    volatile sig_atomic_t *stop; /* set by a signal handler: stop between samples */
    json_t *common;             /* run_id, git, build, machine: copied into every row */
    size_t rows_written, rows_skipped;
    char interrupted_row[256];  /* the row that was lost, when stopped */
} bb_sweep_ctx;

/* The fields every row of this run repeats (run id, time base, git, build, machine). */
json_t *bb_sweep_common(const char *run_id);
/* Runs the planned rows.  0 done, 1 stopped by *stop (rows written so far are kept),
 * -1 a results write failed (err says why). */
int bb_sweep_run(bb_sweep_ctx *c, const bb_sweep_row *rows, size_t n, char *err, size_t errlen);

#endif
