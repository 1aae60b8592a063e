/* harness/report/compare_table.h - the outputs of `bitbench compare` (the verdicts come from
 * compare/compare.h): markdown (default), JSON ("bitbench.compare/1"), the Bencher Metric
 * Format and github-action-benchmark's customSmallerIsBetter, and the one-line summary. */
#ifndef BITBENCH_COMPARE_TABLE_H
#define BITBENCH_COMPARE_TABLE_H

#include "../compare/compare.h"

#include <jansson.h>
#include <stdio.h>

/* The files compared, as the user named them (confirm NULL: no rerun). */
typedef struct bb_compare_files {
    const char *base, *new_, *confirm;
} bb_compare_files;

void bb_compare_markdown(FILE *to, const bb_compare_files *f, const bb_compare_opts *o, const bb_comparison *c);
/* status: the exit status the command will return (recorded in the JSON). */
json_t *bb_compare_json(const bb_compare_files *f, const bb_compare_opts *o, const bb_comparison *c, int status);
/* Bencher Metric Format: NEW's median with its p10 and p90 per key. */
json_t *bb_compare_bencher_json(const bb_compare_opts *o, const bb_comparison *c);
/* github-action-benchmark, tool customSmallerIsBetter. */
json_t *bb_compare_gab_json(const bb_compare_opts *o, const bb_comparison *c);
/* "compare: N key(s) compared: ..." with the regressed keys and the exit status. */
void bb_compare_summary_line(FILE *to, const bb_comparison *c, int status);

#endif
