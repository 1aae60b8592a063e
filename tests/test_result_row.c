/*
 * tests/test_result_row.c - the one results row (harness/results/row.h) and the value type
 * (harness/results/value.h): every member of both kinds written and read back; null members;
 * the writing order; real sweep rows of both schema versions read and written again to the
 * same JSON; a newer schema refused in one line; the analysis rooms' format list equal to the
 * kernels' format table.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../harness/results/formats.h"
#include "../harness/results/row.h"
#include "../harness/results/value.h"
#include "testutil.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ every member */

/* Member number idx gets a value of its own, whatever its type. */
#define SET_STR(name) r->name = #name "-value";
#define SET_INT(name) r->name = 1000 + idx, r->has_##name = true;
#define SET_NUM(name) r->name = idx + 0.25;
#define SET_BOOL(name) r->name = idx % 2;
#define SET_JSON(name) r->name = json_pack("{s:i, s:s}", "member", idx, "name", #name);
#define SET_SAMPLES(name)                                                                                           \
    {                                                                                                               \
        static double v[3];                                                                                         \
        v[0] = idx, v[1] = idx + 0.5, v[2] = idx + 1;                                                               \
        r->name = (bb_result_samples){v, 3, true};                                                                  \
    }
#define SET(type, name) SET_##type(name) idx++;

static void fill_every_member(bb_result_row *r, bb_result_kind kind)
{
    int idx = 0;
    bb_result_row_init(r, kind);
    if (kind == BB_RESULT_SWEEP) {
        BB_SWEEP_ROW_FIELDS(SET)
        r->schema_version = 2; /* the reader refuses a newer one */
        r->kind = "sweep";
    } else {
        BB_GEMM_ROW_FIELDS(SET)
        r->schema = BB_GEMM_SCHEMA;
    }
}

/* Every member of a's list equal in b. */
#define SAME_STR(name) assert_string_equal(a->name, b->name);
#define SAME_INT(name) assert_true(b->has_##name), assert_int_equal(a->name, b->name);
#define SAME_NUM(name) assert_true(a->name == b->name);
#define SAME_BOOL(name) assert_int_equal(a->name, b->name);
#define SAME_JSON(name) assert_true(json_equal(a->name, b->name));
#define SAME_SAMPLES(name)                                                                                          \
    assert_true(b->name.present);                                                                                   \
    assert_int_equal(a->name.n, b->name.n);                                                                         \
    for (size_t i = 0; i < a->name.n; i++)                                                                          \
        assert_true(a->name.v[i] == b->name.v[i]);
#define SAME(type, name) SAME_##type(name)

static void assert_same_members(const bb_result_row *a, const bb_result_row *b)
{
    assert_int_equal(a->row_kind, b->row_kind);
    if (a->row_kind == BB_RESULT_SWEEP) {
        BB_SWEEP_ROW_FIELDS(SAME)
    } else {
        BB_GEMM_ROW_FIELDS(SAME)
    }
}

/* Writes r, prints it as a JSON line, parses the line and reads it back into back. */
static void through_a_line(const bb_result_row *r, bb_result_row *back)
{
    json_t *j = bb_result_row_json(r);
    char *line = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    assert_non_null(line);
    json_error_t je;
    json_t *o = json_loads(line, 0, &je);
    free(line);
    assert_non_null(o);
    char why[160];
    assert_int_equal(bb_result_row_read(o, back, why, sizeof why), 0);
    json_decref(o);
}

static void test_every_member_round_trips(void **state)
{
    (void)state;
    bb_result_kind kinds[2] = {BB_RESULT_SWEEP, BB_RESULT_GEMM};
    for (int k = 0; k < 2; k++) {
        bb_result_row r, back;
        fill_every_member(&r, kinds[k]);
        through_a_line(&r, &back);
        assert_same_members(&r, &back);
        bb_result_row_free(&back);
        bb_result_row_drop_json(&r);
    }
}

/* Member names in writing order, for the order test. */
#define NAME(type, name) #name,
static const char *const sweep_names[] = {BB_SWEEP_ROW_FIELDS(NAME)};
static const char *const gemm_names[] = {BB_GEMM_ROW_FIELDS(NAME)};

static void test_members_are_written_in_list_order(void **state)
{
    (void)state;
    bb_result_row r;
    fill_every_member(&r, BB_RESULT_SWEEP);
    json_t *j = bb_result_row_json(&r);
    const char *key;
    json_t *v;
    size_t i = 0;
    json_object_foreach(j, key, v)
        assert_string_equal(key, sweep_names[i++]);
    assert_int_equal(i, sizeof sweep_names / sizeof *sweep_names);
    json_decref(j);
    bb_result_row_drop_json(&r);
    fill_every_member(&r, BB_RESULT_GEMM);
    j = bb_result_row_json(&r);
    i = 0;
    json_object_foreach(j, key, v)
        assert_string_equal(key, gemm_names[i++]);
    assert_int_equal(i, sizeof gemm_names / sizeof *gemm_names);
    json_decref(j);
    bb_result_row_drop_json(&r);
}

/* A sweep row says null for what it lacks; a gemm line leaves it out. */
static void test_null_members(void **state)
{
    (void)state;
    bb_result_row r, back;
    bb_result_row_init(&r, BB_RESULT_SWEEP);
    json_t *j = bb_result_row_json(&r);
    assert_int_equal(json_object_size(j), sizeof sweep_names / sizeof *sweep_names);
    assert_true(json_is_null(json_object_get(j, "latency_ms_per_token")));
    assert_true(json_is_null(json_object_get(j, "samples_step_ns")));
    assert_int_equal(json_integer_value(json_object_get(j, "schema_version")), BB_RESULTS_SCHEMA_VERSION);
    json_decref(j);
    through_a_line(&r, &back);
    assert_true(isnan(back.latency_ms_per_token));
    assert_false(back.samples_step_ns.present);
    assert_false(back.has_threads);
    assert_int_equal(back.multiply_free, -1);
    assert_null(back.reason);
    assert_true(!back.energy || json_is_null(back.energy));
    bb_result_row_free(&back);
    bb_result_row_init(&r, BB_RESULT_GEMM);
    j = bb_result_row_json(&r);
    assert_int_equal(json_object_size(j), 1); /* "schema" alone */
    json_decref(j);
}

/* ------------------------------------------------------------------ real rows, versions */

typedef struct file_rows {
    size_t rows, same;
} file_rows;

static void rewrite_row(json_t *row, size_t line, void *ctx)
{
    (void)line;
    file_rows *f = ctx;
    bb_result_row r;
    char why[160];
    assert_int_equal(bb_result_row_read(row, &r, why, sizeof why), 0);
    json_t *again = bb_result_row_json(&r);
    f->rows++;
    /* every member the file has reads and writes back the same */
    bool same = true;
    const char *name;
    json_t *v;
    json_object_foreach(row, name, v) {
        json_t *w2 = json_object_get(again, name);
        if (!json_equal(v, w2)) {
            same = false;
            char *a = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY), *b = w2 ? json_dumps(w2, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
            print_error("line %zu, member %s read and written again differs:\n%.200s\n%.200s\n", line, name, a,
                        b ? b : "(absent)");
            free(a);
            free(b);
        }
    }
    /* members newer than the file: written as null */
    json_object_foreach(again, name, v)
        if (!json_object_get(row, name) && !json_is_null(v)) {
            print_error("line %zu: member %s is not in the file but was written as non-null\n", line, name);
            f->same--;
        }
    f->same += same;
    json_decref(again);
    bb_result_row_free(&r);
}

/* Every member the sweep writes is a member of the typed row: a real schema-2 file read and
 * written again is the same JSON, row for row (members added since the file was written,
 * impl_rule and compute_roofs here, come out null). */
static void test_real_sweep_rows_read_and_write_the_same(void **state)
{
    (void)state;
    char path[4096], err[256];
    snprintf(path, sizeof path, "%s/results/measurements/step-make-run-20261205-vm/run-a.sweep.jsonl", tu_srcdir());
    file_rows f = {0};
    bb_results_read_info info;
    assert_int_equal(bb_results_read(path, rewrite_row, &f, &info, err, sizeof err), 0);
    assert_true(f.rows > 10);
    assert_int_equal(f.same, f.rows);
}

/* Schema 1 rows are read (the members they lack are null); a newer schema is refused. */
static void test_schema_versions(void **state)
{
    (void)state;
    char why[160] = "";
    bb_result_row r;
    json_t *v1 = json_pack("{s:i, s:s, s:s, s:s, s:[f, f]}", "schema_version", 1, "kind", "sweep", "key",
                           "700M|tern2|x|t1|b1|head|cold", "status", "ok", "samples_ns", 1.0, 2.0);
    assert_int_equal(bb_result_row_read(v1, &r, why, sizeof why), 0);
    assert_int_equal(r.schema_version, 1);
    assert_string_equal(r.key, "700M|tern2|x|t1|b1|head|cold");
    assert_false(r.samples_step_ns.present);
    bb_result_row_free(&r);
    json_decref(v1);
    json_t *v3 = json_pack("{s:i, s:s, s:s}", "schema_version", 3, "kind", "sweep", "status", "ok");
    assert_int_equal(bb_result_row_read(v3, &r, why, sizeof why), -1);
    assert_string_equal(why, "schema_version 3 is newer than this bitbench reads (2)");
    assert_null(strchr(why, '\n'));
    json_decref(v3);
    json_t *other = json_pack("{s:s}", "kind", "machine");
    assert_int_equal(bb_result_row_read(other, &r, why, sizeof why), 1);
    json_decref(other);
}

/* ------------------------------------------------------------------ formats, values */

static void test_format_list_matches_the_kernels(void **state)
{
    (void)state;
    assert_int_equal(bb_result_format_count, BB_FMT_COUNT);
    for (int f = 0; f < BB_FMT_COUNT; f++) {
        assert_string_equal(bb_result_formats[f].name, bb_formats[f].name);
        assert_string_equal(bb_result_formats[f].family, bb_formats[f].family);
        assert_int_equal(bb_result_format_rank(bb_formats[f].name), f);
    }
    assert_int_equal(bb_result_format_rank("nope"), bb_result_format_count);
    assert_string_equal(bb_result_format_family("nope"), "");
}

static void test_value_shapes(void **state)
{
    (void)state;
    json_t *u = bb_value_unavailable("no RAPL"), *uv = bb_value_unavailable_value("no PMU");
    char *a = json_dumps(u, JSON_COMPACT), *b = json_dumps(uv, JSON_COMPACT);
    assert_string_equal(a, "{\"status\":\"unavailable\",\"reason\":\"no RAPL\"}");
    assert_string_equal(b, "{\"status\":\"unavailable\",\"value\":null,\"reason\":\"no PMU\"}");
    assert_int_equal(bb_value_status_of(u), BB_VALUE_UNAVAILABLE);
    assert_string_equal(bb_value_reason(uv), "no PMU");
    json_t *m = json_pack("{s:s, s:f}", "status", "measured", "value", 1.5);
    assert_int_equal(bb_value_status_of(m), BB_VALUE_MEASURED);
    assert_null(bb_value_reason(m));
    assert_int_equal(bb_value_status_of(NULL), BB_VALUE_ABSENT);
    assert_string_equal(bb_value_status_name(BB_VALUE_MODELED), "modeled");
    free(a);
    free(b);
    json_decref(u);
    json_decref(uv);
    json_decref(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_member_round_trips),
        cmocka_unit_test(test_members_are_written_in_list_order),
        cmocka_unit_test(test_null_members),
        cmocka_unit_test(test_real_sweep_rows_read_and_write_the_same),
        cmocka_unit_test(test_schema_versions),
        cmocka_unit_test(test_format_list_matches_the_kernels),
        cmocka_unit_test(test_value_shapes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
