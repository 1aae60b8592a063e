/*
 * harness/report/report.h - `bitbench report`: sweep results (harness/results/SCHEMA.md) turned into what a
 * reader of the BitNet b1.58 paper compares: REPORT.md (the paper's Table 1, Figures 2 and 3
 * and Table 3 as tables, our figures beside the paper's), gnuplot data files (*.dat) and,
 * when gnuplot is installed, the figures drawn by the scripts under plots/ (PNG and SVG).
 *
 * The paper's values are data (results/reference/paper.csv, each with its source), never
 * code.  Every number written says what it is: measured, extrapolated (one layer measured,
 * scaled to the layer count), modeled, paper, or unavailable with the reason.
 *
 * Choosing rows: rows are grouped by machine (machine.id).  A table cell is the row of that
 * machine, model, format, batch and thread count; when several rows match (two runs
 * concatenated, or several implementations of one format), an `ok` row wins over others,
 * then the format's best implementation (not a ternary method variant), then a budget row of
 * the paper's budget, then the latest `time`; prompt rows only where a prompt is asked for.
 * Tables use each machine's largest thread count with an `ok` row.
 */
#ifndef BITBENCH_REPORT_H
#define BITBENCH_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define BB_REPORT_TEXT 1024 /* reasons and descriptions are cut to this */

typedef struct bb_report_opts {
    const char *const *inputs; /* JSONL files */
    size_t n_inputs;
    const char *out_dir;       /* NULL: the first input's directory */
    const char *reference_csv; /* NULL: found as bb_report_find_file("results/reference/paper.csv") */
    const char *plots_dir;     /* NULL: found as bb_report_find_file("plots") */
    const char *gnuplot;       /* NULL: $BITBENCH_GNUPLOT, else "gnuplot" on PATH */
    bool no_plots;
    FILE *log;                 /* messages (skipped lines, plots); NULL: stderr */
} bb_report_opts;

/* Reads the inputs, writes REPORT.md, the .dat files and (unless no_plots or gnuplot is
 * missing) the figures into the output folder.  0 when REPORT.md was written (plots
 * skipped or failed are said in it and in the log); 2 when no input has a usable row or the
 * output folder cannot be written. */
int bb_report_run(const bb_report_opts *o);

/* ------------------------------------------------------------------ the data model */

typedef struct bb_report_row {
    int machine; /* index into bb_report.machines */
    int file;    /* index into bb_report.files */
    size_t line;
    char time[32], run_id[96], run_group[96], status[16], reason[BB_REPORT_TEXT];
    char format[24], impl[64], model[32];
    int threads;
    long batch;
    bool budget_batch; /* batch_source "budget": the Table 3 batch */
    bool prompt;       /* batch_source "prompt": P tokens of one sequence (pp) */
    long prompt_tokens;
    int schema;        /* schema_version */
    char step_kind[16]; /* "decode" (the whole step), "prompt", "matmul_only" (schema 1 rows: always) */
    char method[16];   /* impl_method */
    bool multiply_free;
    bool best_impl;    /* the format's best implementation (schema 1 rows: true) */
    /* the step's split (schema 2; NAN otherwise): medians in ms, and the attention share */
    double matmul_ms, attention_ms, other_ms, attention_share;
    /* paired speed-up vs the set's fp16 row with its 95% interval (schema 2; NAN otherwise) */
    double speedup, speedup_lo, speedup_hi;
    /* replicates pooled into this row (rows of one run_group with the same key; 1: none):
     * then speedup, latency_ms, matmul_ms and tokens_per_s are the medians over them and
     * speedup_lo/hi the range of their speed-ups, not a bootstrap interval */
    int replicates;
    bool extrapolated; /* mode "extrapolated" */
    double params;     /* model.params.total */
    double size_b;     /* model size in billions for the x axes: from the name ("1.3B"), else params */
    int layers;
    /* NAN when null or absent */
    double latency_ms, tokens_per_s, cv, weight_bytes, peak_rss_bytes, gbps, gops;
    double streamed_bytes, ceiling_gbps;
    double roof_gops[3]; /* compute roofs at the row's threads: int8 dot, fp32 FMA, int add (NaN: none) */
    long max_batch; /* budget.max_batch; -1 unknown */
    double mem_budget_bytes, kv_bytes_per_seq;
    char kv_formula[BB_REPORT_TEXT];
    bool energy_measured;
    double energy_j_per_token; /* measured, net of idle; NAN when not */
    char energy_reason[BB_REPORT_TEXT];
    double model_j_per_token[2]; /* modeled arithmetic energy, [0] 45 nm, [1] 7 nm */
    char model_energy_reason[BB_REPORT_TEXT];
} bb_report_row;

typedef struct bb_report_machine {
    char id[40], label[8]; /* label: "m1", "m2", ... in order of first appearance */
    char hostname[128], cpu_model[160], vendor[32], family[16], model[16], os[192], isa_cap[16];
    char governor[BB_REPORT_TEXT], hypervisor[32], compiler[128], cflags[256], git[64];
    char run_id[96];
    int runs; /* distinct run ids */
    int cores;
    double memory_bytes;
    bool virtualized;
    char first_time[32], last_time[32];
    int threads; /* the thread count the tables use */
    double ceiling_gbps;
    double roof_gops[3]; /* int8 dot, fp32 FMA, int add at `threads`, from the rows (NaN: none) */
    char ceiling_how[BB_REPORT_TEXT];
} bb_report_machine;

typedef struct bb_paper_ref {
    char experiment[16], model[32], system[32], family[16], metric[40], unit[16];
    double value;
    char text[16]; /* the value as the file writes it (the paper's precision: "0.80") */
    char source[BB_REPORT_TEXT];
} bb_paper_ref;

typedef struct bb_report_model {
    char name[32];
    double params, size_b;
} bb_report_model;

typedef struct bb_report {
    bb_report_row *rows;
    size_t n_rows, cap_rows;
    bb_report_machine *machines;
    size_t n_machines;
    const char *const *files;
    size_t n_files;
    size_t *file_rows;  /* usable rows per file */
    size_t bad_lines;   /* lines skipped, all files */
    size_t other_kinds; /* rows of other kinds (not "sweep"), ignored */
    bb_report_model *models; /* every model seen, by size */
    size_t n_models;
    char (*formats)[24];     /* every format seen, in bitbench's format order */
    size_t n_formats;
    bb_paper_ref *refs;
    size_t n_refs;
    char ref_path[512], ref_error[BB_REPORT_TEXT]; /* ref_error: why there are no refs */
    FILE *log;
} bb_report;

/* Reads every input (a file that cannot be read, or a malformed line, is reported on log
 * with its file and line and skipped).  Returns the number of usable rows. */
size_t bb_report_load(bb_report *r, const char *const *files, size_t n, FILE *log);
/* Reads the paper's reference values; on failure ref_error says why (the report goes on
 * without them).  0 or -1. */
int bb_report_load_refs(bb_report *r, const char *path);
void bb_report_free(bb_report *r);

/* The row for a table cell (see the rule at the top); NULL when there is none.
 * threads <= 0: the machine's table thread count; budget: the Table 3 row (batch ignored). */
const bb_report_row *bb_report_pick(const bb_report *r, int machine, const char *model,
                                    const char *format, int threads, long batch, bool budget);
/* The paper's value, NULL when it gives none.  family: "fp16" or "ternary". */
const bb_paper_ref *bb_report_paper(const bb_report *r, const char *model, const char *family,
                                    const char *metric);
/* The format's family ("fp16", "int8", "pot", "ternary"), "" for formats this build lacks. */
const char *bb_report_family(const char *format);

/* True when the machine has a row of that model and format (NULL: any). */
bool bb_report_has(const bb_report *r, int machine, const char *model, const char *format);
/* The model of the Table 3 section and figure: the paper's (reference file) when the machine
 * has it, else the largest with budget-batch rows; NULL when none. */
const char *bb_report_table3_model(const bb_report *r, int machine);
/* The model of the tokens/s-vs-batch table and figure: the one with the most batch sizes
 * (the larger on ties); NULL when the machine has none. */
const char *bb_report_batch_model(const bb_report *r, int machine);

/* REPORT.md.  plots_note: the figures written (markdown lines) or why they were skipped. */
void bb_report_markdown(const bb_report *r, FILE *out, const char *plots_note);

/* The gnuplot data files (<prefix>*.dat, <prefix>plotvars.gp) of every machine into dir.
 * 0, or -1 with why. */
int bb_report_write_data(const bb_report *r, const char *dir, char *why, size_t len);
/* Runs the scripts of plots_dir over the data in dir: PNG and SVG per figure.  Appends
 * markdown lines naming each figure written, or saying why it is not, to note.  Returns the
 * number of figures that failed (0: all written, or skipped for a stated reason). */
int bb_report_plot(const bb_report *r, const char *dir, const char *plots_dir, const char *gnuplot,
                   char *note, size_t len);

/* File name prefix of a machine's data and figures: "" with one machine, else "m1-", ... */
const char *bb_report_prefix(const bb_report *r, int machine, char *buf, size_t len);

/* A file or folder of the source tree: $BITBENCH_SRCDIR/rel, else beside the executable
 * (<exe dir>/../rel), else ./rel.  Writes the path found into buf; NULL when none exists
 * (buf then lists where it looked). */
const char *bb_report_find_file(const char *rel, char *buf, size_t len);

#endif
