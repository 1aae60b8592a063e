/* tests/test_sweep.c - the sweep (harness/sweep/sweep.c): rotation and extrapolation arithmetic,
 * check rows, statistics against hand values, the plan, and whole sweeps of a tiny model
 * (full and extrapolated), resuming after a kill, Ctrl-C, memory refusal, time skips. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../harness/base/rng.h"
#include "../harness/base/stats.h"
#include "../harness/sweep/sweep.h"

#define MiB (1ull << 20)

static char err[512];

/* ------------------------------------------------------------------ arithmetic */

static void test_rotation_examples(void **state)
{
    (void)state;
    bb_rotation r;
    /* a model of 105 MB against a 10 MB LLC: one copy is already 10x the LLC */
    bb_sweep_rotation(10 * MiB, 5 * MiB, 10, 10 * MiB, UINT64_MAX, false, &r);
    assert_true(r.full);
    assert_int_equal(r.layers_per_sample, 10);
    assert_int_equal(r.copies, 1);
    assert_int_equal(r.rotation_bytes, 105 * MiB);
    /* a 6 MB model: 7 copies reach 40 MB */
    bb_sweep_rotation(1 * MiB, 2 * MiB, 4, 10 * MiB, UINT64_MAX, false, &r);
    assert_true(r.full);
    assert_int_equal(r.copies, 7);
    assert_int_equal(r.unit_bytes, 6 * MiB);
    /* the same with only 20 MB allowed for full mode: one layer + head (3 MB) x 14 */
    bb_sweep_rotation(1 * MiB, 2 * MiB, 4, 10 * MiB, 20 * MiB, false, &r);
    assert_false(r.full);
    assert_int_equal(r.layers_per_sample, 1);
    assert_int_equal(r.unit_bytes, 3 * MiB);
    assert_int_equal(r.copies, 14);
    assert_int_equal(r.rotation_bytes, 42 * MiB);
    /* --warm: no rotation */
    bb_sweep_rotation(1 * MiB, 2 * MiB, 4, 10 * MiB, UINT64_MAX, true, &r);
    assert_int_equal(r.copies, 1);
    /* unknown LLC: 256 MiB assumed, so the rotation reaches 1 GiB */
    bb_sweep_rotation(1 * MiB, 0, 4, 0, 0, false, &r);
    assert_false(r.full);
    assert_int_equal(r.copies, 1024);
    /* 70B fp16 on this machine's 260 MiB LLC: one layer + head is 2.2 GB, one copy */
    bb_sweep_rotation(1711276032ull, 524288000ull, 80, 260 * MiB, 16ull << 30, false, &r);
    assert_false(r.full);
    assert_int_equal(r.copies, 1);
}

/* The property the rotation exists for: at least 4x the LLC, and no copy more than needed. */
static void test_rotation_defeats_the_cache(void **state)
{
    (void)state;
    uint64_t s = 12345;
    for (int i = 0; i < 20000; i++) {
        uint64_t layer = 1 + bb_rng_u64(&s) % (512 * MiB), head = bb_rng_u64(&s) % (600 * MiB);
        unsigned layers = 1 + (unsigned)(bb_rng_u64(&s) % 96);
        uint64_t llc = MiB + bb_rng_u64(&s) % (512 * MiB);
        uint64_t full_max = bb_rng_u64(&s) % 4 == 0 ? UINT64_MAX : bb_rng_u64(&s) % (64ull << 30);
        bb_rotation r;
        bb_sweep_rotation(layer, head, layers, llc, full_max, false, &r);
        uint64_t unit = r.full ? layer * layers + head : layer + head;
        assert_int_equal(r.unit_bytes, unit);
        assert_int_equal(r.rotation_bytes, unit * r.copies);
        if (r.rotation_bytes < BB_SWEEP_LLC_MULTIPLE * llc)
            fail_msg("rotation %llu < 4 x llc %llu", (unsigned long long)r.rotation_bytes,
                     (unsigned long long)llc);
        if (r.copies > 1 && (r.copies - 1) * unit >= BB_SWEEP_LLC_MULTIPLE * llc)
            fail_msg("one copy too many: %u x %llu", r.copies, (unsigned long long)unit);
        if (r.full && r.rotation_bytes > full_max)
            fail_msg("full mode over --full-max");
        assert_int_equal(r.layers_per_sample, r.full ? layers : 1);
    }
}

static void test_extrapolation(void **state)
{
    (void)state;
    /* 70B: one layer 2 ms, head 0.5 ms -> 80 x 2 + 0.5 = 160.5 ms */
    assert_true(fabs(bb_sweep_extrapolate(2e6, 5e5, 80, 1) - 160.5e6) < 1e-6);
    /* full mode: the sample is the step */
    assert_true(bb_sweep_extrapolate(7e6, 1e6, 24, 24) == 8e6);
    /* two layers per sample of a 10-layer model */
    assert_true(bb_sweep_extrapolate(3e6, 0, 10, 2) == 15e6);
}

static void test_check_rows(void **state)
{
    (void)state;
    assert_int_equal(bb_sweep_check_rows(1), 1);
    assert_int_equal(bb_sweep_check_rows(100), 100);
    assert_int_equal(bb_sweep_check_rows(512), 512);
    assert_int_equal(bb_sweep_check_rows(513), 257);
    assert_int_equal(bb_sweep_check_rows(28672), 256);   /* 70B ffn: no ragged tail */
    assert_int_equal(bb_sweep_check_rows(5460), 340);    /* 1.3B ffn: the tail of 84 kept */
    assert_int_equal(bb_sweep_check_rows(32002), 258);   /* 1bitLLM vocab */
    for (size_t m = 1; m < 5000; m += 7)
        assert_int_equal(bb_sweep_check_rows(m) % 256, m % 256);
}

/* bb_summarize against values computed by hand (R's type 7 quantiles). */
static void test_statistics_known_values(void **state)
{
    (void)state;
    double v[10] = {7, 3, 10, 1, 5, 9, 2, 8, 4, 6}; /* 1..10 shuffled */
    bb_summary s;
    bb_summarize(v, 10, &s);
    assert_int_equal(s.n, 10);
    assert_true(s.min == 1 && s.max == 10);
    assert_true(fabs(s.mean - 5.5) < 1e-12);
    assert_true(fabs(s.median - 5.5) < 1e-12);
    assert_true(fabs(s.p10 - 1.9) < 1e-12);
    assert_true(fabs(s.p90 - 9.1) < 1e-12);
    assert_true(fabs(s.mad - 2.5) < 1e-12);
    assert_true(fabs(s.stdev - sqrt(55.0 / 6.0)) < 1e-12);
    assert_true(fabs(s.cv - sqrt(55.0 / 6.0) / 5.5) < 1e-12);
    assert_true(v[0] == 7); /* input untouched */
    double w[5] = {100, 101, 99, 100, 250};
    bb_summarize(w, 5, &s);
    assert_true(s.median == 100);
    assert_true(s.mad == 1); /* robust to the outlier */
    assert_true(fabs(s.p90 - 190.4) < 1e-9);
    double one = 42;
    bb_summarize(&one, 1, &s);
    assert_true(s.median == 42 && s.p10 == 42 && s.stdev == 0 && s.cv == 0);
}

/* ------------------------------------------------------------------ plan */

static bb_model tiny(const char *name, unsigned layers)
{
    bb_model m;
    char spec[96];
    snprintf(spec, sizeof spec, "%s:64:96:%u:4:2:200", name, layers);
    if (bb_model_parse_shape(spec, &m, err, sizeof err))
        fail_msg("%s", err);
    return m;
}

static void tiny_opts(bb_sweep_opts *o, const bb_model *models, size_t n_models)
{
    bb_sweep_opts_default(o);
    o->models = models;
    o->n_models = n_models;
    for (int f = 0; f < BB_FMT_COUNT; f++)
        o->formats[o->n_formats++] = (bb_format_id)f;
    o->threads[0] = 1;
    o->n_threads = 1;
    o->batches[0] = 1;
    o->batches[1] = 3;
    o->n_batches = 2;
    o->budget_batch = false;
    o->methods = false;
    o->llc_bytes = 64 << 10;
    o->min_time = 0.0005;
    o->min_reps = 3;
    o->max_reps = 6;
    o->max_row_time = 60;
}

static void test_plan_order_keys_and_budget(void **state)
{
    (void)state;
    bb_model m[2] = {tiny("a", 2), tiny("b", 3)};
    bb_sweep_opts o;
    tiny_opts(&o, m, 2);
    o.threads[1] = 2;
    o.n_threads = 2;
    o.budget_batch = true;
    o.budget_models[0] = "all";
    o.n_budget_models = 1;
    o.mem_budgets[0] = 1 << 20;
    bb_sweep_row *rows;
    size_t n;
    assert_int_equal(bb_sweep_plan(&o, &rows, &n, err, sizeof err), 0);
    assert_int_equal(n, 2 * BB_FMT_COUNT * 2 * 3);
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < i; j++)
            if (!strcmp(rows[i].key, rows[j].key))
                fail_msg("duplicate key %s", rows[i].key);
        char key[224];
        bb_sweep_key(&o, &rows[i], key, sizeof key);
        assert_string_equal(key, rows[i].key);
        assert_non_null(rows[i].kernel);
    }
    /* model, then batches ascending (budget last), then threads, then format: the rows of
     * one interleaved set are adjacent */
    assert_string_equal(rows[0].model->name, "a");
    assert_int_equal(rows[0].format, BB_FMT_FP16);
    assert_int_equal(rows[0].batch, 1);
    assert_int_equal(rows[0].threads, 1);
    assert_int_equal(rows[1].format, BB_FMT_INT8);
    assert_int_equal(rows[BB_FMT_COUNT].threads, 2);
    assert_int_equal(rows[2 * BB_FMT_COUNT].batch, 3);
    size_t b0 = 4 * BB_FMT_COUNT; /* the first budget row */
    assert_true(rows[b0].budget && rows[b0 + 1].budget && !rows[b0 - 1].budget);
    /* the budget batch is the modeled one */
    bb_model_bytes b;
    bb_model_weight_bytes(&m[0], BB_FMT_FP16, &b);
    assert_int_equal(rows[b0].batch, ((1 << 20) - b.total) / bb_model_kv_bytes_per_seq(&m[0], 512, 2));
    assert_non_null(strstr(rows[b0].key, "|budget1048576|"));
    assert_non_null(strstr(rows[0].key, "a|fp16|"));
    assert_non_null(strstr(rows[0].key, "|tg|c512"));
    free(rows);

    /* by default only the largest model has budget rows (the paper's Table 3 is 70B) */
    o.n_budget_models = 0;
    assert_int_equal(bb_sweep_plan(&o, &rows, &n, err, sizeof err), 0);
    size_t budget_rows = 0;
    for (size_t i = 0; i < n; i++)
        if (rows[i].budget) {
            budget_rows++;
            assert_string_equal(rows[i].model->name, "b");
        }
    assert_int_equal(budget_rows, BB_FMT_COUNT * 2);
    free(rows);

    /* every ternary method: the best of each, the best overall first */
    o.methods = true;
    o.budget_batch = false;
    assert_int_equal(bb_sweep_plan(&o, &rows, &n, err, sizeof err), 0);
    const bb_kernel *v[8];
    size_t nv = bb_sweep_variants(&o, NULL, BB_FMT_TERN2, v, 8);
    assert_true(nv >= 1);
    assert_ptr_equal(v[0], bb_kernel_find_best("tern2"));
    for (size_t i = 0; i < nv; i++)
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(v[i]->method, v[j]->method);
    assert_int_equal(n, 2 * 2 * 2 * (BB_FMT_COUNT - 2 + nv + bb_sweep_variants(&o, NULL, BB_FMT_TERN1_6, v, 8)));
    free(rows);
    o.methods = false;
    o.budget_batch = true;

    o.mem_budgets[0] = 1000; /* nothing fits */
    assert_int_equal(bb_sweep_plan(&o, &rows, &n, err, sizeof err), -1);
    assert_non_null(strstr(err, "too small"));
}

/* ------------------------------------------------------------------ whole sweeps */

typedef struct rows_read {
    json_t *rows; /* array */
} rows_read;

static void keep(json_t *row, size_t line, void *ctx)
{
    (void)line;
    json_array_append(((rows_read *)ctx)->rows, row);
}

static json_t *read_rows(const char *path, bb_results_read_info *info)
{
    rows_read r = {.rows = json_array()};
    if (bb_results_read(path, keep, &r, info, err, sizeof err))
        fail_msg("%s", err);
    return r.rows;
}

static int run(const bb_sweep_opts *o, const bb_sweep_row *rows, size_t n, const char *path, bb_keyset *skip,
               volatile sig_atomic_t *stop, bb_sweep_ctx *out)
{
    bb_results_writer w;
    if (bb_results_open(&w, path, err, sizeof err))
        fail_msg("%s", err);
    bb_sweep_ctx c = {.opts = o, .writer = &w, .skip = skip, .stop = stop, .common = bb_sweep_common("test-run")};
    int rc = bb_sweep_run(&c, rows, n, err, sizeof err);
    bb_results_close(&w);
    json_decref(c.common);
    if (out)
        *out = c;
    return rc;
}

static char path[64];

static int make_path(void **state)
{
    (void)state;
    snprintf(path, sizeof path, "/tmp/bb_sweep_XXXXXX");
    int fd = mkstemp(path);
    if (fd < 0)
        return -1;
    close(fd);
    return 0;
}

static int remove_path(void **state)
{
    (void)state;
    unlink(path);
    return 0;
}

static double num(const json_t *o, const char *k) { return json_number_value(json_object_get(o, k)); }
static const char *str(const json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }

/* A slot that issue 5 fills: an object with a status (counters: with its events), never a
 * bare number or null. */
static void expect_slot(const json_t *row, const char *k)
{
    const json_t *v = json_object_get(row, k);
    if (!json_is_object(v) ||
        !(json_is_string(json_object_get(v, "status")) || json_is_object(json_object_get(v, "events"))))
        fail_msg("%s: slot %s is not an object with a status or events", str(row, "key"), k);
}

static void expect_measured_row(const json_t *row, const bb_sweep_opts *o)
{
    const char *key = str(row, "key");
    if (strcmp(str(row, "status"), "ok"))
        fail_msg("%s: status %s (%s)", key, str(row, "status"), str(row, "reason"));
    assert_int_equal(num(row, "schema_version"), BB_RESULTS_SCHEMA_VERSION);
    assert_string_equal(str(row, "kind"), "sweep");
    assert_string_equal(str(row, "run_id"), "test-run");
    assert_true(json_is_true(json_object_get(json_object_get(row, "check"), "passed")));
    assert_int_equal(strlen(str(json_object_get(row, "machine"), "id")), 16);
    const json_t *samples = json_object_get(row, "samples_step_ns");
    size_t n = json_array_size(samples);
    assert_true(n >= o->min_reps && n <= o->max_reps);
    assert_int_equal(n, num(json_object_get(row, "timing"), "samples"));
    assert_int_equal(json_array_size(json_object_get(row, "samples_layers_ns")), n);
    double v[64];
    for (size_t i = 0; i < n; i++)
        v[i] = json_number_value(json_array_get(samples, i));
    bb_summary s;
    bb_summarize(v, n, &s);
    const json_t *stats = json_object_get(row, "stats_step_ns");
    assert_true(fabs(num(stats, "median") - s.median) <= 1e-9 * s.median);
    assert_true(fabs(num(row, "latency_ms_per_token") - s.median / 1e6) <= 1e-9 * s.median);
    double batch = num(row, "batch");
    assert_true(fabs(num(row, "tokens_per_s") - batch * 1e9 / s.median) <= 1e-6 * num(row, "tokens_per_s"));
    assert_string_equal(str(json_object_get(row, "weight_bytes"), "status"), "modeled");
    assert_string_equal(str(json_object_get(row, "peak_rss_bytes"), "status"), "measured");
    assert_string_equal(str(json_object_get(row, "bandwidth_ceiling"), "status"), "measured");
    assert_true(num(json_object_get(row, "peak_rss_bytes"), "value") > 0);
    assert_true(num(row, "gbps") > 0 && num(row, "gops") > 0);
    const json_t *rot = json_object_get(row, "rotation");
    assert_true(num(rot, "bytes") >= 4.0 * (double)o->llc_bytes);
    assert_true(num(rot, "llc_multiple") >= 4.0);
    expect_slot(row, "counters");
    expect_slot(row, "energy");
    expect_slot(row, "energy_model");
    expect_slot(row, "bandwidth_ceiling");
}

/* Each step sample is the measured layers x layers / layers_per_sample + head. */
static void expect_step_samples(const json_t *row, double factor)
{
    const json_t *step = json_object_get(row, "samples_step_ns");
    for (size_t s = 0; s < json_array_size(step); s++) {
        double l = json_number_value(json_array_get(json_object_get(row, "samples_layers_ns"), s));
        double h = json_number_value(json_array_get(json_object_get(row, "samples_head_ns"), s));
        double want = factor * l + h;
        assert_true(fabs(json_number_value(json_array_get(step, s)) - want) <= 1e-6 * want);
    }
}

/* Plans o, runs every row into path and reads them back (one per planned row). */
static json_t *sweep_all(const bb_sweep_opts *o, bb_sweep_row **rows, size_t *n)
{
    assert_int_equal(bb_sweep_plan(o, rows, n, err, sizeof err), 0);
    if (run(o, *rows, *n, path, NULL, NULL, NULL) != 0)
        fail_msg("%s", err);
    bb_results_read_info info;
    json_t *got = read_rows(path, &info);
    assert_int_equal(json_array_size(got), *n);
    assert_int_equal(info.bad_lines, 0);
    return got;
}

static void test_full_sweep_of_a_tiny_model(void **state)
{
    (void)state;
    bb_model m[1] = {tiny("tiny", 3)};
    bb_sweep_opts o;
    tiny_opts(&o, m, 1);
    bb_sweep_row *rows;
    size_t n;
    json_t *got = sweep_all(&o, &rows, &n);
    for (size_t i = 0; i < n; i++) {
        const json_t *row = json_array_get(got, i);
        assert_string_equal(str(row, "key"), rows[i].key);
        expect_measured_row(row, &o);
        assert_string_equal(str(row, "mode"), "full");
        assert_true(json_is_null(json_object_get(row, "extrapolation")));
        assert_int_equal(num(row, "layers_per_sample"), 3);
        expect_step_samples(row, 1); /* full mode: the step is the measured layers + head */
    }
    json_decref(got);
    free(rows);
}

static void test_extrapolated_sweep(void **state)
{
    (void)state;
    bb_model m[1] = {tiny("tiny", 5)};
    bb_sweep_opts o;
    tiny_opts(&o, m, 1);
    o.full_max = 0;
    o.formats[0] = BB_FMT_TERN2;
    o.formats[1] = BB_FMT_INT8;
    o.n_formats = 2;
    o.n_batches = 1;
    bb_sweep_row *rows;
    size_t n;
    json_t *got = sweep_all(&o, &rows, &n);
    for (size_t i = 0; i < n; i++) {
        const json_t *row = json_array_get(got, i);
        expect_measured_row(row, &o);
        assert_string_equal(str(row, "mode"), "extrapolated");
        assert_int_equal(num(row, "layers_per_sample"), 1);
        assert_int_equal(num(json_object_get(row, "extrapolation"), "factor"), 5);
        expect_step_samples(row, 5);
    }
    json_decref(got);
    free(rows);
}

/* --placements: each row's rounds come in parts with the weights moved between them; the
 * rows stay whole (one sample per round) and say where each part began. */
static void test_placements_split_the_rounds(void **state)
{
    (void)state;
    bb_model m[1] = {tiny("tiny", 2)};
    bb_sweep_opts o;
    tiny_opts(&o, m, 1);
    o.formats[0] = BB_FMT_TERN2;
    o.formats[1] = BB_FMT_FP16;
    o.n_formats = 2;
    o.n_batches = 1;
    o.placements = 3;
    o.min_reps = 6;
    o.max_reps = 12;
    bb_sweep_row *rows;
    size_t n;
    json_t *got = sweep_all(&o, &rows, &n);
    assert_int_equal(n, 2);
    for (size_t i = 0; i < n; i++) {
        const json_t *row = json_array_get(got, i);
        expect_measured_row(row, &o);
        const json_t *il = json_object_get(row, "interleave"), *pl = json_object_get(il, "placements");
        assert_int_equal(num(pl, "count"), 3);
        const json_t *first = json_object_get(pl, "first_round");
        assert_int_equal(json_array_size(first), 3);
        assert_int_equal(json_array_size(json_object_get(pl, "move_s")), 2);
        assert_int_equal(json_integer_value(json_array_get(first, 0)), 0);
        for (size_t p = 1; p < 3; p++) /* each part at least 2 rounds (6 / 3) */
            assert_true(json_integer_value(json_array_get(first, p)) >=
                        json_integer_value(json_array_get(first, p - 1)) + 2);
        assert_true(json_integer_value(json_array_get(first, 2)) < num(il, "rounds"));
        assert_int_equal(num(il, "rounds"), num(json_object_get(row, "timing"), "samples"));
    }
    /* one placement: one part, no move */
    o.placements = 1;
    json_decref(got);
    free(rows);
    assert_int_equal(truncate(path, 0), 0);
    got = sweep_all(&o, &rows, &n);
    const json_t *pl = json_object_get(json_object_get(json_array_get(got, 0), "interleave"), "placements");
    assert_int_equal(num(pl, "count"), 1);
    assert_int_equal(json_array_size(json_object_get(pl, "move_s")), 0);
    json_decref(got);
    free(rows);
}

/* A sweep killed after some rows (and mid-row: a truncated line) is completed by resuming,
 * without duplicates. */
static void test_resume_after_kill(void **state)
{
    (void)state;
    bb_model m[1] = {tiny("tiny", 2)};
    bb_sweep_opts o;
    tiny_opts(&o, m, 1);
    o.formats[0] = BB_FMT_FP16;
    o.formats[1] = BB_FMT_TERN2;
    o.formats[2] = BB_FMT_POT4;
    o.n_formats = 3;
    bb_sweep_row *rows;
    size_t n;
    assert_int_equal(bb_sweep_plan(&o, &rows, &n, err, sizeof err), 0);
    assert_int_equal(n, 6);
    if (run(&o, rows, 3, path, NULL, NULL, NULL) != 0) /* the "killed" run */
        fail_msg("%s", err);
    FILE *f = fopen(path, "a");
    fputs("{\"schema_version\":1,\"key\":\"", f);
    fclose(f);

    bb_keyset done = {0};
    bb_results_read_info info;
    assert_int_equal(bb_keyset_load(&done, path, &info, err, sizeof err), 0);
    assert_true(info.truncated_last);
    assert_int_equal(done.n, 3);
    bb_sweep_ctx c;
    if (run(&o, rows, n, path, &done, NULL, &c) != 0)
        fail_msg("%s", err);
    assert_int_equal(c.rows_written, 3);
    assert_int_equal(c.rows_skipped, 3);
    json_t *got = read_rows(path, &info);
    assert_int_equal(json_array_size(got), n);
    assert_int_equal(info.bad_lines, 0); /* the writer cut the fragment off before its rows */
    for (size_t i = 0; i < n; i++) {
        int count = 0;
        for (size_t j = 0; j < n; j++)
            count += !strcmp(str(json_array_get(got, j), "key"), rows[i].key);
        if (count != 1)
            fail_msg("key %s appears %d times", rows[i].key, count);
    }
    /* resuming a complete file measures nothing */
    bb_keyset_free(&done);
    assert_int_equal(bb_keyset_load(&done, path, &info, err, sizeof err), 0);
    assert_int_equal(run(&o, rows, n, path, &done, NULL, &c), 0);
    assert_int_equal(c.rows_written, 0);
    bb_keyset_free(&done);
    json_decref(got);
    free(rows);
}

static void test_stop_flag_keeps_nothing_half_done(void **state)
{
    (void)state;
    bb_model m[1] = {tiny("tiny", 2)};
    bb_sweep_opts o;
    tiny_opts(&o, m, 1);
    bb_sweep_row *rows;
    size_t n;
    assert_int_equal(bb_sweep_plan(&o, &rows, &n, err, sizeof err), 0);
    volatile sig_atomic_t stop = 1;
    bb_sweep_ctx c;
    assert_int_equal(run(&o, rows, n, path, NULL, &stop, &c), 1);
    assert_int_equal(c.rows_written, 0);
    assert_string_equal(c.interrupted_row, rows[0].key);
    bb_results_read_info info;
    json_t *got = read_rows(path, &info);
    assert_int_equal(json_array_size(got), 0);
    assert_int_equal(info.bad_lines, 0);
    json_decref(got);
    free(rows);
}

static uint64_t one_mib(void) { return 1ull << 20; }

static void test_refused_skipped_and_no_fit_rows(void **state)
{
    (void)state;
    bb_model m[1] = {tiny("tiny", 2)};
    bb_sweep_opts o;
    tiny_opts(&o, m, 1);
    o.n_formats = 2; /* fp16, int8 */
    o.n_batches = 1;
    o.mem_available = one_mib; /* less than the margin: everything is refused */
    bb_sweep_row *rows;
    size_t n;
    json_t *got = sweep_all(&o, &rows, &n);
    for (size_t i = 0; i < n; i++) {
        const json_t *row = json_array_get(got, i);
        assert_string_equal(str(row, "status"), "refused");
        assert_non_null(strstr(str(row, "reason"), "OOM killer"));
        assert_true(json_is_null(json_object_get(row, "latency_ms_per_token")));
        assert_int_equal(json_array_size(json_object_get(row, "samples_step_ns")), 0);
        expect_slot(row, "energy");
        expect_slot(row, "counters");
    }
    json_decref(got);
    free(rows);

    /* a row time far too short: skipped with the estimate as the reason */
    unlink(path);
    o.mem_available = NULL;
    o.max_row_time = 1e-9;
    got = sweep_all(&o, &rows, &n);
    for (size_t i = 0; i < n; i++) {
        const json_t *row = json_array_get(got, i);
        assert_string_equal(str(row, "status"), "skipped");
        assert_non_null(strstr(str(row, "reason"), "--max-row-time"));
        assert_true(json_is_true(json_object_get(json_object_get(row, "check"), "passed")));
    }
    json_decref(got);
    free(rows);

    /* the whole sweep's time budget spent at once: every row says so, none is built */
    unlink(path);
    o.max_row_time = 60;
    o.time_budget = 1e-9;
    got = sweep_all(&o, &rows, &n);
    for (size_t i = 0; i < n; i++) {
        const json_t *row = json_array_get(got, i);
        assert_string_equal(str(row, "status"), "skipped");
        assert_non_null(strstr(str(row, "reason"), "--time-budget"));
        assert_true(json_is_null(json_object_get(row, "mode")));
        assert_true(json_is_null(json_object_get(row, "check")));
    }
    json_decref(got);
    free(rows);
    o.time_budget = 0;

    /* Table 3 with a budget only the small formats fit: fp16 gets a no_fit row */
    unlink(path);
    o.max_row_time = 60;
    o.n_batches = 0;
    o.budget_batch = true;
    o.formats[1] = BB_FMT_TERN2;
    bb_model_bytes fp16, tern;
    bb_model_weight_bytes(&m[0], BB_FMT_FP16, &fp16);
    bb_model_weight_bytes(&m[0], BB_FMT_TERN2, &tern);
    uint64_t kv = bb_model_kv_bytes_per_seq(&m[0], 512, 2);
    o.mem_budgets[0] = tern.total + kv + 1000; /* one sequence fits tern2; fp16 needs more */
    assert_true(o.mem_budgets[0] < fp16.total + kv);
    got = sweep_all(&o, &rows, &n);
    assert_int_equal(n, 2);
    assert_string_equal(str(json_array_get(got, 0), "status"), "no_fit");
    assert_non_null(strstr(str(json_array_get(got, 0), "reason"), "--mem-budget"));
    const json_t *ok = json_array_get(got, 1);
    expect_measured_row(ok, &o);
    assert_int_equal(num(ok, "batch"), 1);
    assert_string_equal(str(ok, "batch_source"), "budget");
    assert_int_equal(num(json_object_get(ok, "budget"), "max_batch"), 1);
    json_decref(got);
    free(rows);
}

/* ------------------------------------------------------------------ the command line */

/* `bitbench sweep <args>` (BITBENCH_BIN, else build/bitbench): exit status and stderr. */
static int sweep_cli(const char *args, char *errbuf, size_t errlen)
{
    const char *bin = getenv("BITBENCH_BIN") ? getenv("BITBENCH_BIN") : "build/bitbench";
    char cmd[1024], errfile[] = "/tmp/bb_sweep_cli_XXXXXX";
    int fd = mkstemp(errfile);
    assert_true(fd >= 0);
    snprintf(cmd, sizeof cmd, "%s sweep %s >/dev/null 2>%s", bin, args, errfile);
    int status = system(cmd);
    FILE *e = fdopen(fd, "r");
    size_t got = fread(errbuf, 1, errlen - 1, e);
    errbuf[got] = 0;
    fclose(e);
    unlink(errfile);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Bad input: exit 2, one line naming the bad value (and the valid ones), nothing measured. */
static void test_cli_bad_input(void **state)
{
    (void)state;
    static const struct {
        const char *args, *must_say[2];
    } cases[] = {
        {"--models 5B", {"unknown model '5B'", "700M, 1.3B, 3B, 7B, 13B, 70B"}},
        {"--formats fp8", {"unknown format 'fp8'", "tern1.6"}},
        {"--formats int8,int8", {"listed twice", NULL}},
        {"--model-shape x:64:96:2", {"--model-shape 'x:64:96:2'", "expected 7"}},
        {"--model-shape x:65:96:2:4:2:100", {"not a multiple of heads", NULL}},
        {"--batch 1,,8", {"--batch '1,,8'", NULL}},
        {"--batch 0", {"--batch '0'", NULL}},
        {"--threads 1,x", {"--threads 'x'", NULL}},
        {"--mem-budget lots", {"--mem-budget 'lots'", NULL}},
        {"--mem-budget 1K --models 700M", {"--mem-budget 1024 bytes", "too small"}},
        {"--min-reps 9 --max-reps 3", {"--min-reps 9", NULL}},
        {"--placements 0", {"--placements '0'", NULL}},
        {"--quick --out /dev/null/x/sweep.jsonl", {"--out", "/dev/null"}},
        {"--catalogue /nonexistent.csv", {"/nonexistent.csv", NULL}},
        {"--isa sse9", {"sse9", "scalar"}},
        {"--frobnicate", {"--frobnicate", NULL}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char e[2048];
        int rc = sweep_cli(cases[i].args, e, sizeof e);
        if (rc != 2)
            fail_msg("'%s': exit %d, expected 2 (stderr: %s)", cases[i].args, rc, e);
        const char *nl = strchr(e, '\n');
        if (!nl || nl[1] != 0)
            fail_msg("'%s': expected one line on stderr, got: %s", cases[i].args, e);
        for (int j = 0; j < 2; j++)
            if (cases[i].must_say[j] && !strstr(e, cases[i].must_say[j]))
                fail_msg("'%s': stderr '%s' does not say '%s'", cases[i].args, e, cases[i].must_say[j]);
    }
}

/* --plan lists the rows (and which a resume skips) without measuring. */
static void test_cli_plan(void **state)
{
    (void)state;
    const char *bin = getenv("BITBENCH_BIN") ? getenv("BITBENCH_BIN") : "build/bitbench";
    char cmd[512], line[256];
    snprintf(cmd, sizeof cmd, "%s sweep --plan --models 700M,70B --formats fp16,tern2 --threads 1,2 --batch 1,8,budget",
             bin);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    int lines = 0, budget = 0;
    while (fgets(line, sizeof line, p)) {
        lines++;
        budget += strstr(line, "|budget160G|") != NULL;
    }
    assert_int_equal(pclose(p), 0);
    /* tern2 with its three methods at the list batches; budget rows for 70B only, each
     * format's best implementation */
    assert_int_equal(lines, 2 * 2 * 2 * 4 + 2 * 2);
    assert_int_equal(budget, 2 * 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rotation_examples),
        cmocka_unit_test(test_rotation_defeats_the_cache),
        cmocka_unit_test(test_extrapolation),
        cmocka_unit_test(test_check_rows),
        cmocka_unit_test(test_statistics_known_values),
        cmocka_unit_test(test_plan_order_keys_and_budget),
        cmocka_unit_test_setup_teardown(test_full_sweep_of_a_tiny_model, make_path, remove_path),
        cmocka_unit_test_setup_teardown(test_extrapolated_sweep, make_path, remove_path),
        cmocka_unit_test_setup_teardown(test_placements_split_the_rounds, make_path, remove_path),
        cmocka_unit_test_setup_teardown(test_resume_after_kill, make_path, remove_path),
        cmocka_unit_test_setup_teardown(test_stop_flag_keeps_nothing_half_done, make_path, remove_path),
        cmocka_unit_test_setup_teardown(test_refused_skipped_and_no_fit_rows, make_path, remove_path),
        cmocka_unit_test(test_cli_bad_input),
        cmocka_unit_test(test_cli_plan),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
