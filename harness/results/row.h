/*
 * harness/results/row.h - the one results row: a typed struct (bb_result_row), its one writer
 * (bb_result_row_json) and its one reader (bb_result_row_read).  Two kinds share it: the
 * sweep's rows (kind "sweep", schema_version 1 or 2, SCHEMA.md) and `bitbench gemm --json`
 * lines (schema "bitbench.gemm/1").  Each kind's members, in the order they are written, are
 * one list below (BB_SWEEP_ROW_FIELDS, BB_GEMM_ROW_FIELDS): the struct, the writer, the
 * reader and the round-trip test (tests/test_results.c) are all made from those lists, so a
 * member cannot be written and forgotten by a reader.
 *
 * Member types: STR a string (NULL: null), INT an integer (has_<name> false: null), NUM a
 * number (NAN: absent, BB_RESULT_NULL: an explicit null; the reader reads null as NAN), BOOL true/false (-1: null), JSON any JSON value (an object
 * described in SCHEMA.md by the room that measures it; NULL: absent, json null: null),
 * SAMPLES an array of numbers (present false: null; a null element reads as NAN).  A sweep
 * row writes every member of its list (null when absent); a gemm line leaves absent members
 * out.
 *
 * The reader is lenient about content and strict about nothing else: a member that is
 * absent or of another type reads as null, so each consumer keeps its own rule for what a
 * row must have (report needs threads and batch, compare needs samples of an ok row, ...).
 * It refuses a sweep row of a schema_version newer than this build's, in one line.
 */
#ifndef BITBENCH_RESULT_ROW_H
#define BITBENCH_RESULT_ROW_H

#include "results.h"

#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct bb_result_samples {
    double *v;
    size_t n;
    bool present;
} bb_result_samples;

/* X(TYPE, name) per member, in writing order. */
#define BB_SWEEP_ROW_FIELDS(X)                                                                                      \
    X(INT, schema_version) X(STR, kind) X(STR, run_id) X(STR, run_group) X(STR, time) X(STR, key) X(STR, status) X(STR, reason)     \
    X(STR, git_revision) X(JSON, build) X(JSON, machine) X(STR, format) X(STR, impl) X(STR, impl_rule)            \
    X(STR, impl_isa) X(STR, impl_method) X(BOOL, multiply_free) X(BOOL, impl_is_best) X(STR, head_impl)          \
    X(INT, threads) X(STR, placement) X(JSON, model) X(INT, batch) X(STR, batch_source) X(BOOL, lm_head)         \
    X(BOOL, warm) X(JSON, step) X(STR, mode) X(STR, mode_reason) X(INT, layers_per_sample)                       \
    X(INT, layers_measured) X(JSON, rotation) X(JSON, extrapolation) X(JSON, check) X(JSON, interleave)          \
    X(JSON, timing) X(SAMPLES, samples_step_ns) X(SAMPLES, samples_layers_ns) X(SAMPLES, samples_head_ns)        \
    X(SAMPLES, samples_linear_ns) X(SAMPLES, samples_attention_ns) X(SAMPLES, samples_other_ns)                  \
    X(JSON, stats_step_ns) X(NUM, latency_ms_per_token) X(NUM, tokens_per_s) X(JSON, split)                      \
    X(NUM, matmul_ms_per_token) X(JSON, vs_fp16) X(JSON, warnings) X(JSON, weight_bytes)                         \
    X(NUM, bits_per_weight) X(INT, streamed_bytes_per_step) X(JSON, kv_bytes_per_step)                           \
    X(INT, memory_estimate_bytes) X(JSON, peak_rss_bytes) X(NUM, gbps) X(NUM, gops) X(JSON, bandwidth_ceiling)   \
    X(JSON, compute_roofs) X(NUM, pct_of_ceiling) X(JSON, budget) X(JSON, counters) X(JSON, energy)              \
    X(JSON, energy_model)

/* `bitbench gemm --json`: one line per kernel (README, "bitbench gemm"); an absent member is
 * left out of the line (a kernel that failed its check has no latency). */
#define BB_GEMM_ROW_FIELDS(X)                                                                                       \
    X(STR, schema) X(STR, format) X(STR, impl) X(STR, method) X(STR, isa) X(INT, m) X(INT, k) X(INT, n)          \
    X(INT, threads) X(STR, placement) X(STR, mode) X(INT, weight_copies) X(JSON, weight_bytes) X(JSON, check)    \
    X(STR, impl_rule) X(JSON, machine) X(JSON, build) X(JSON, latency_ns) X(STR, latency_unavailable)            \
    X(NUM, gbps) X(NUM, gops) X(NUM, timer_granularity_ns) X(JSON, ceiling) X(NUM, pct_of_ceiling) \
    X(JSON, pct_of_ceiling_ci95) X(INT, pct_of_ceiling_rounds) X(STR, pct_of_ceiling_measured)                  \
    X(STR, pct_of_ceiling_unavailable)              \
    X(JSON, energy) X(JSON, counters) X(INT, probe_pass_calls) X(JSON, energy_model) X(JSON, warnings)

/* Every member of either kind, once (the struct).  A name in both lists is one member. */
#define BB_RESULT_ROW_MEMBERS(X)                                                                                    \
    BB_SWEEP_ROW_FIELDS(X)                                                                                          \
    X(STR, schema) X(STR, method) X(STR, isa) X(INT, m) X(INT, k) X(INT, n) X(INT, weight_copies)               \
    X(JSON, latency_ns) X(STR, latency_unavailable) X(NUM, timer_granularity_ns) X(JSON, ceiling)               \
    X(JSON, pct_of_ceiling_ci95) X(INT, pct_of_ceiling_rounds) X(STR, pct_of_ceiling_measured)                  \
    X(STR, pct_of_ceiling_unavailable) X(INT, probe_pass_calls)

typedef enum { BB_RESULT_SWEEP = 1, BB_RESULT_GEMM = 2 } bb_result_kind;

/* A NUM member written as null even in a gemm line (where an absent member is left out). */
#define BB_RESULT_NULL INFINITY

#define BB_GEMM_SCHEMA "bitbench.gemm/1"

#define BB_RESULT_MEMBER_STR(name) const char *name;
#define BB_RESULT_MEMBER_INT(name) int64_t name; bool has_##name;
#define BB_RESULT_MEMBER_NUM(name) double name;
#define BB_RESULT_MEMBER_BOOL(name) int name;
#define BB_RESULT_MEMBER_JSON(name) json_t *name;
#define BB_RESULT_MEMBER_SAMPLES(name) bb_result_samples name;
#define BB_RESULT_MEMBER(type, name) BB_RESULT_MEMBER_##type(name)

typedef struct bb_result_row {
    bb_result_kind row_kind;
    BB_RESULT_ROW_MEMBERS(BB_RESULT_MEMBER)
    /* reader: what the row owns (strings point into src) */
    json_t *src;
    bool owns_samples;
} bb_result_row;

/* Every member null (NAN, -1, NULL, absent) for this kind. */
void bb_result_row_init(bb_result_row *r, bb_result_kind kind);
/* The row as one JSON object, members in their list's order.  Takes nothing from r. */
json_t *bb_result_row_json(const bb_result_row *r);
/* Reads one JSON object.  Returns 0 (r filled: free it with bb_result_row_free), 1 when it
 * is no row of either kind (r untouched), or -1 with a one-line reason in why: a sweep row of
 * a newer schema_version than this build reads. */
int bb_result_row_read(const json_t *o, bb_result_row *r, char *why, size_t len);
void bb_result_row_free(bb_result_row *r);
/* For a writer that built r from fresh JSON members: drops them (json_decref each). */
void bb_result_row_drop_json(bb_result_row *r);

#endif
