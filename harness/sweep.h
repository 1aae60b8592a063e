/*
 * harness/sweep.h - the sweep: every (model, format, threads, batch) row planned, then
 * measured as decode steps, one JSON row each (harness/SCHEMA.md).
 *
 * A decode step at batch N: for every layer, q, k, v, o, gate, up, down at N tokens with
 * the activations flowing (q's output feeds o, o's feeds gate and up, gate's feeds down,
 * down's is the next layer's input: attention and the SwiGLU product are not computed,
 * only the linear layers are), then the fp16 LM head.  Activation quantization is inside
 * the kernels, so inside the timed region.
 *
 * Cold weights: the sampled unit (the whole model in `full` mode, one layer + head in
 * `extrapolated` mode) has as many distinct copies as needed for their total to reach 4x
 * the last-level cache, used in turn, so every sample streams its weights from DRAM.
 * Weights are built from a seeded tile of 64 quantized rows repeated over M (values do not
 * change the timing of these kernels; building gigabytes from one tile takes a memcpy), with
 * the scales set so that the dequantized weights have RMS 1/sqrt(K): activations keep their
 * size through 80 layers.
 */
#ifndef BITBENCH_SWEEP_H
#define BITBENCH_SWEEP_H

#include "../kernels/kernel.h"
#include "models.h"
#include "results.h"

#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BB_SWEEP_MAX_LIST 16
#define BB_SWEEP_TILE_ROWS 64
#define BB_SWEEP_LLC_MULTIPLE 4

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
    uint64_t mem_budget;  /* Table 3 budget in bytes (default: MemTotal) */
    uint32_t seq_len;     /* Table 3 sequence length (512) */
    double min_time;      /* seconds of kept samples per row */
    unsigned min_reps;    /* samples per row at least (unless --max-row-time cuts) */
    unsigned max_reps;
    unsigned warmup;      /* samples discarded first */
    double max_row_time;  /* seconds: a row estimated to take longer is skipped */
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
    uint64_t batch;      /* budget rows: the budget batch (0: nothing fits) */
    bool budget;
    char key[224];
} bb_sweep_row;

/* The rows in run order (model, format, threads, batch).  -1 with a one-line reason
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
 * means unknown (then 256 MiB is assumed).  Full mode when copies x model <= full_max. */
void bb_sweep_rotation(uint64_t layer_bytes, uint64_t head_bytes, unsigned layers, uint64_t llc,
                       uint64_t full_max, bool warm, bb_rotation *out);
/* ns of a whole decode step from one sample: layers_ns x layers / layers_per_sample + head_ns. */
double bb_sweep_extrapolate(double layers_ns, double head_ns, unsigned layers, unsigned layers_per_sample);
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
