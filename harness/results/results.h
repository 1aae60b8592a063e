/*
 * harness/results/results.h - results as JSON Lines (schema: harness/results/SCHEMA.md).
 *
 * Writing: one row is one line, written with a single write() while holding flock() on
 * the file, then fsync()ed: a crash or Ctrl-C loses at most the row in progress, and two
 * processes appending to the same file never interleave half lines.  When the file does
 * not end in a newline (a previous writer was killed mid-write), the cut fragment is
 * removed (on open and before each row, under the lock) so the file holds whole lines
 * only; a last row that is whole JSON but lacks its newline just gets one.
 *
 * Reading: a line that is not a JSON object is skipped and counted (the last line without
 * its newline is the usual case: a truncated write), never fatal.
 */
#ifndef BITBENCH_RESULTS_H
#define BITBENCH_RESULTS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define BB_RESULTS_SCHEMA_VERSION 2 /* 2: the whole decoder step, interleaved (harness/results/SCHEMA.md) */

typedef struct bb_results_writer {
    int fd;
    char path[4096];
    size_t rows; /* rows written by this writer */
} bb_results_writer;

/* Creates the parent directories and opens path for appending (created 0644).  Checks it
 * is writable now, before anything is measured.  0, or -1 with a one-line reason. */
int bb_results_open(bb_results_writer *w, const char *path, char *err, size_t errlen);
/* Appends row as one compact line.  0, or -1 with the reason (errno's text). */
int bb_results_append(bb_results_writer *w, const json_t *row, char *err, size_t errlen);
void bb_results_close(bb_results_writer *w);

typedef struct bb_results_read_info {
    size_t lines;        /* non-empty lines seen */
    size_t rows;         /* JSON objects passed to the callback */
    size_t bad_lines;    /* lines skipped: not JSON, not an object, newer schema */
    bool truncated_last; /* the last line had no newline and did not parse */
    size_t first_bad_line;    /* 1-based line number of the first skipped line, 0 if none */
    char first_bad_reason[160];
} bb_results_read_info;

/* Calls fn for every row of path in file order (fn borrows row: json_incref to keep it).
 * Returns 0, or -1 with the reason when the file cannot be read at all. */
typedef void (*bb_results_row_fn)(json_t *row, size_t line, void *ctx);
int bb_results_read(const char *path, bb_results_row_fn fn, void *ctx, bb_results_read_info *info,
                    char *err, size_t errlen);

/* A set of row keys (the "key" member), for --resume. */
typedef struct bb_keyset {
    char **keys;
    size_t n, cap;
    bool sorted;
} bb_keyset;
void bb_keyset_add(bb_keyset *s, const char *key);
bool bb_keyset_has(bb_keyset *s, const char *key);
void bb_keyset_free(bb_keyset *s);
/* Adds the key of every readable row of path; a missing file is an empty set (0). */
int bb_keyset_load(bb_keyset *s, const char *path, bb_results_read_info *info, char *err, size_t errlen);

#endif
