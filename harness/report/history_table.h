/* harness/report/history_table.h - the outputs of `bitbench history` (the series and steps come
 * from compare/history.h): markdown, JSON and the data files plots/history.gp draws. */
#ifndef BITBENCH_HISTORY_TABLE_H
#define BITBENCH_HISTORY_TABLE_H

#include "../compare/history.h"

#include <stdio.h>

/* What the series were made of: the files in order, the normalization and the step rule. */
typedef struct bb_history_view {
    const char *const *files;
    size_t n_files;
    const char *normalize; /* NULL: ns */
    bb_history_opts opts;
} bb_history_view;

void bb_history_markdown(FILE *to, const bb_history_view *v, const bb_key_series *ks, size_t n);
void bb_history_json(FILE *to, const bb_history_view *v, const bb_key_series *ks, size_t n);
/* out_dir/history.dat (one block per key) and out_dir/history-steps.dat; their paths into dat
 * and steps_path (len each).  0, or -1 when either cannot be written. */
int bb_history_write_data(const bb_history_view *v, const bb_key_series *ks, size_t n, const char *out_dir,
                          char *dat, char *steps_path, size_t len);

#endif
