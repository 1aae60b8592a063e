/* harness/report/sweep_table.h - the tables `bitbench sweep` prints when it ends: per model and
 * thread count, each format's ms/token, speed-up vs fp16, weight bytes, tokens/s per batch,
 * the Table 3 batch and GB/s.  The sweep (bench/cmd_sweep.c) says which rows (by key) make
 * each line; the numbers come from the rows alone. */
#ifndef BITBENCH_SWEEP_TABLE_H
#define BITBENCH_SWEEP_TABLE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum { BB_SWEEP_TABLE_MAX_BATCHES = 16 };

/* One format's line: the keys of its rows (NULL: no such row planned). */
typedef struct bb_sweep_table_line {
    const char *format, *impl;   /* impl NULL: "-" (no runnable implementation) */
    const char *first_key;       /* the row at the first batch of --batch */
    const char *batch_keys[BB_SWEEP_TABLE_MAX_BATCHES];
    const char *budget_key;      /* the Table 3 row */
    uint64_t budget_batch;
    double weight_bytes;         /* modeled, the whole model */
} bb_sweep_table_line;

typedef struct bb_sweep_table {
    const char *model;
    unsigned hidden, ffn, layers, vocab, threads;
    bool lm_head;
    const uint64_t *batches;     /* --batch */
    size_t n_batches;            /* at most BB_SWEEP_TABLE_MAX_BATCHES */
    bool budget;                 /* a Table 3 column */
    const char *fp16_first_key;  /* fp16's row at the first batch, for the speed-up */
    double fp16_weight_bytes;
    const bb_sweep_table_line *lines;
    size_t n_lines;
} bb_sweep_table;

/* The table of one model and thread count; rows: object key -> row (the last row of each key). */
void bb_sweep_table_print(FILE *to, const json_t *rows, const bb_sweep_table *t);
/* What the columns mean, after the tables. */
void bb_sweep_table_legend(FILE *to, unsigned seq_len, double budget_bytes, const char *path);

#endif
