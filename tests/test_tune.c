/*
 * tests/test_tune.c - tuned selection (harness/tune/tune.h): the record's write/read round trip,
 * versioning, the selection rule and its fallbacks with their reasons, the classes, the
 * paired ratio, and `bitbench gemm --kernel` reading a record.  Nothing here is timed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../harness/machine/machine.h"
#include "../harness/tune/tune.h"
#include "testutil.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char tmpdir[] = "/tmp/bitbench-test-tune-XXXXXX";

static void path_in_tmp(char *buf, size_t len, const char *name)
{
    snprintf(buf, len, "%s/%s", tmpdir, name);
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static bb_tune_entry entry(const char *format, size_t m, size_t k, unsigned threads, size_t n, const char *impl)
{
    bb_tune_entry e;
    memset(&e, 0, sizeof e);
    snprintf(e.format, sizeof e.format, "%s", format);
    bb_tune_shape_class(m, k, e.shape_class, sizeof e.shape_class);
    e.m = m;
    e.k = k;
    e.n = n;
    e.threads = threads;
    e.batch = bb_tune_batch_class(n);
    snprintf(e.impl, sizeof e.impl, "%s", impl);
    snprintf(e.priority_impl, sizeof e.priority_impl, "%s", bb_kernel_find_best(format)->name);
    snprintf(e.decision, sizeof e.decision, "faster");
    snprintf(e.note, sizeof e.note, "a test entry");
    snprintf(e.time, sizeof e.time, "2026-12-05T21:00:00Z");
    e.ratio_median = 0.875;
    e.ratio_lo = 0.75;
    e.ratio_hi = 0.9375;
    e.n_cand = 2;
    snprintf(e.cand[0].impl, sizeof e.cand[0].impl, "%s", impl);
    e.cand[0].median_ns = 1000.5;
    e.cand[0].samples = 40;
    snprintf(e.cand[1].impl, sizeof e.cand[1].impl, "%s", e.priority_impl);
    e.cand[1].median_ns = 1250.25;
    e.cand[1].samples = 40;
    return e;
}

/* ------------------------------------------------------------------ classes */

static void test_classes(void **state)
{
    (void)state;
    assert_int_equal(bb_tune_log2_class(1), 0);
    assert_int_equal(bb_tune_log2_class(3), 2);    /* log2 3 = 1.58 */
    assert_int_equal(bb_tune_log2_class(1536), 11); /* 10.58 */
    assert_int_equal(bb_tune_log2_class(2048), 11);
    assert_int_equal(bb_tune_log2_class(4096), 12);
    assert_int_equal(bb_tune_log2_class(5460), 12); /* 12.41 */
    assert_int_equal(bb_tune_log2_class(5792), 12); /* 2^12.5 = 5792.6: the class boundary */
    assert_int_equal(bb_tune_log2_class(5793), 13);
    assert_int_equal(bb_tune_log2_class(11008), 13); /* 13.43 */
    assert_int_equal(bb_tune_log2_class(28672), 15); /* 14.81 */
    char buf[16];
    assert_string_equal(bb_tune_shape_class(4096, 4096, buf, sizeof buf), "m12k12");
    assert_string_equal(bb_tune_shape_class(11008, 4096, buf, sizeof buf), "m13k12");
    assert_string_equal(bb_tune_shape_class(8192, 28672, buf, sizeof buf), "m13k15");
    /* the paper's seven projection shapes fall into seven different classes */
    static const size_t shapes[7][2] = {{1536, 1536}, {5460, 2048}, {4096, 4096}, {11008, 4096},
                                        {8192, 8192}, {28672, 8192}, {8192, 28672}};
    char cls[7][16];
    for (int i = 0; i < 7; i++) {
        bb_tune_shape_class(shapes[i][0], shapes[i][1], cls[i], sizeof cls[i]);
        for (int j = 0; j < i; j++)
            assert_string_not_equal(cls[i], cls[j]);
    }
    assert_int_equal(bb_tune_batch_class(1), BB_BATCH_DECODE);
    assert_int_equal(bb_tune_batch_class(2), BB_BATCH_SMALL);
    assert_int_equal(bb_tune_batch_class(31), BB_BATCH_SMALL);
    assert_int_equal(bb_tune_batch_class(32), BB_BATCH_PREFILL);
    assert_int_equal(bb_tune_batch_class(128), BB_BATCH_PREFILL);
    assert_string_equal(bb_tune_batch_class_name(BB_BATCH_PREFILL), "prefill");
}

/* ------------------------------------------------------------------ file */

static void test_round_trip(void **state)
{
    (void)state;
    char path[256], err[400];
    path_in_tmp(path, sizeof path, "sub/dir/rt.json"); /* parents are made */
    bb_tune_table t, back;
    bb_tune_table_init(&t, "0123456789abcdef", "Test CPU");
    snprintf(t.created, sizeof t.created, "2026-12-05T20:00:00Z");
    snprintf(t.updated, sizeof t.updated, "2026-12-05T21:00:00Z");
    bb_tune_entry a = entry("tern2", 4096, 4096, 2, 1, "tern2-scalar-ref");
    bb_tune_entry b = entry("fp16", 11008, 4096, 1, 128, "fp16-scalar-ref");
    assert_int_equal(bb_tune_table_put(&t, &a), 0);
    assert_int_equal(bb_tune_table_put(&t, &b), 0);
    /* the same key replaces */
    snprintf(a.note, sizeof a.note, "replaced");
    assert_int_equal(bb_tune_table_put(&t, &a), 0);
    assert_int_equal(t.n, 2);
    assert_int_equal(bb_tune_write(path, &t, err, sizeof err), 0);
    char tmp[300];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    assert_int_not_equal(access(tmp, F_OK), 0); /* renamed away */
    assert_int_equal(bb_tune_read(path, &back, err, sizeof err), 0);
    assert_string_equal(back.machine_id, "0123456789abcdef");
    assert_string_equal(back.cpu_model, "Test CPU");
    assert_string_equal(back.updated, "2026-12-05T21:00:00Z");
    assert_int_equal(back.n, 2);
    const bb_tune_entry *e = bb_tune_table_get(&back, "tern2", "m12k12", 2, BB_BATCH_DECODE);
    assert_non_null(e);
    assert_string_equal(e->impl, "tern2-scalar-ref");
    assert_string_equal(e->note, "replaced");
    assert_int_equal(e->m, 4096);
    assert_true(e->ratio_median == 0.875 && e->ratio_lo == 0.75 && e->ratio_hi == 0.9375);
    assert_int_equal(e->n_cand, 2);
    assert_true(e->cand[1].median_ns == 1250.25);
    assert_int_equal(e->cand[1].samples, 40);
    e = bb_tune_table_get(&back, "fp16", "m13k12", 1, BB_BATCH_PREFILL);
    assert_non_null(e);
    assert_int_equal(e->n, 128);
    assert_null(bb_tune_table_get(&back, "fp16", "m13k12", 1, BB_BATCH_DECODE));
    bb_tune_table_free(&back);
    bb_tune_table_free(&t);
}

static void test_versions(void **state)
{
    (void)state;
    char path[256], err[400];
    bb_tune_table t;
    path_in_tmp(path, sizeof path, "absent.json");
    assert_int_equal(bb_tune_read(path, &t, err, sizeof err), 1); /* nothing tuned: not an error */

    path_in_tmp(path, sizeof path, "v2.json");
    write_text(path, "{\"schema\": \"bitbench.tuning\", \"version\": 2, \"machine_id\": \"x\", \"entries\": []}\n");
    assert_int_equal(bb_tune_read(path, &t, err, sizeof err), -1);
    assert_non_null(strstr(err, "version 2"));
    assert_non_null(strstr(err, "reads only version 1"));
    assert_non_null(strstr(err, "bitbench tune"));

    path_in_tmp(path, sizeof path, "v0.json");
    write_text(path, "{\"schema\": \"bitbench.tuning\", \"version\": 0, \"entries\": []}\n");
    assert_int_equal(bb_tune_read(path, &t, err, sizeof err), -1);
    assert_non_null(strstr(err, "version 0"));

    path_in_tmp(path, sizeof path, "nover.json");
    write_text(path, "{\"schema\": \"bitbench.tuning\", \"entries\": []}\n");
    assert_int_equal(bb_tune_read(path, &t, err, sizeof err), -1);
    assert_non_null(strstr(err, "version (none)"));

    path_in_tmp(path, sizeof path, "other.json");
    write_text(path, "{\"schema\": \"something.else\", \"version\": 1}\n");
    assert_int_equal(bb_tune_read(path, &t, err, sizeof err), -1);
    assert_non_null(strstr(err, "schema is 'something.else'"));

    path_in_tmp(path, sizeof path, "broken.json");
    write_text(path, "{\"schema\": \"bitbench.tuning\", \"vers");
    assert_int_equal(bb_tune_read(path, &t, err, sizeof err), -1);
    assert_non_null(strstr(err, "not JSON"));

    path_in_tmp(path, sizeof path, "badentry.json");
    write_text(path, "{\"schema\": \"bitbench.tuning\", \"version\": 1, \"machine_id\": \"x\", "
                     "\"entries\": [{\"format\": \"tern2\", \"shape_class\": \"m12k12\", \"threads\": 2, "
                     "\"batch_class\": \"sometimes\", \"impl\": \"tern2-scalar-ref\"}]}\n");
    assert_int_equal(bb_tune_read(path, &t, err, sizeof err), -1);
    assert_non_null(strstr(err, "entry 1"));
}

/* ------------------------------------------------------------------ the rule */

static void test_selection(void **state)
{
    (void)state;
    const char *id = "00000000000000aa";
    bb_tune_table t;
    bb_tune_table_init(&t, id, "Test CPU");
    snprintf(t.path, sizeof t.path, "/somewhere/rec.json");
    snprintf(t.updated, sizeof t.updated, "2026-12-05T21:00:00Z");
    /* the scalar reference runs everywhere and is never the priority pick when SIMD runs:
     * a record naming it must win over the priority */
    bb_tune_entry e = entry("tern2", 4096, 4096, 2, 1, "tern2-scalar-ref");
    bb_tune_table_put(&t, &e);
    const bb_kernel *prio = bb_kernel_find_best("tern2");
    bb_select_rule r;

    const bb_kernel *k = bb_tune_select(&t, id, "tern2", 4096, 4096, 1, 2, &r);
    assert_ptr_equal(k, bb_kernel_find_exact("tern2-scalar-ref"));
    assert_true(r.tuned);
    assert_non_null(strstr(r.text, "tuned: /somewhere/rec.json 2026-12-05"));
    /* the same class: a shape within a factor sqrt(2) */
    k = bb_tune_select(&t, id, "tern2", 5000, 3500, 1, 2, &r);
    assert_true(r.tuned);

    /* another machine's record */
    k = bb_tune_select(&t, "00000000000000bb", "tern2", 4096, 4096, 1, 2, &r);
    assert_ptr_equal(k, prio);
    assert_false(r.tuned);
    assert_non_null(strstr(r.text, "priority: tuning record /somewhere/rec.json is for machine 00000000000000aa"));

    /* no table at all */
    k = bb_tune_select(NULL, id, "tern2", 4096, 4096, 1, 2, &r);
    assert_ptr_equal(k, prio);
    assert_non_null(strstr(r.text, "priority: no tuning record for this machine"));

    /* shape, threads, batch outside the record */
    k = bb_tune_select(&t, id, "tern2", 1000, 100, 1, 2, &r);
    assert_ptr_equal(k, prio);
    assert_non_null(strstr(r.text, "priority: no tuning record for tern2 m10k7 2 thread(s) decode"));
    k = bb_tune_select(&t, id, "tern2", 4096, 4096, 1, 1, &r);
    assert_non_null(strstr(r.text, "no tuning record for tern2 m12k12 1 thread(s) decode"));
    k = bb_tune_select(&t, id, "tern2", 4096, 4096, 128, 2, &r);
    assert_non_null(strstr(r.text, "no tuning record for tern2 m12k12 2 thread(s) prefill"));
    k = bb_tune_select(&t, id, "int8", 4096, 4096, 1, 2, &r);
    assert_ptr_equal(k, bb_kernel_find_best("int8"));
    assert_false(r.tuned);

    /* an unknown implementation, and one of another format */
    snprintf(t.entries[0].impl, sizeof t.entries[0].impl, "tern2-avx9000-magic");
    k = bb_tune_select(&t, id, "tern2", 4096, 4096, 1, 2, &r);
    assert_ptr_equal(k, prio);
    assert_non_null(strstr(r.text, "names 'tern2-avx9000-magic', which is no tern2 implementation"));
    snprintf(t.entries[0].impl, sizeof t.entries[0].impl, "fp16-scalar-ref");
    k = bb_tune_select(&t, id, "tern2", 4096, 4096, 1, 2, &r);
    assert_ptr_equal(k, prio);
    assert_non_null(strstr(r.text, "no tern2 implementation"));

    /* an implementation that cannot run here: the ISA capped below it (any SIMD kernel of
     * the format this CPU has: tern2-avx512-madd on x86-64, tern2-dotprod-madd on AArch64) */
    if (prio != bb_kernel_reference(BB_FMT_TERN2)) {
        bb_isa_level cap = bb_isa_cap();
        char want[160];
        snprintf(t.entries[0].impl, sizeof t.entries[0].impl, "%s", prio->name);
        snprintf(want, sizeof want, "names %s, which cannot run here", prio->name);
        bb_isa_set_cap(BB_ISA_SCALAR);
        k = bb_tune_select(&t, id, "tern2", 4096, 4096, 1, 2, &r);
        bb_isa_set_cap(cap);
        assert_ptr_equal(k, bb_kernel_reference(BB_FMT_TERN2));
        assert_false(r.tuned);
        assert_non_null(strstr(r.text, want));
    }

    /* an unknown format */
    assert_null(bb_tune_select(&t, id, "tern3", 4096, 4096, 1, 2, &r));
    bb_tune_table_free(&t);
}

/* bb_select_kernel reads $BITBENCH_TUNING once per process. */
static void test_select_from_file(void **state)
{
    (void)state;
    bb_machine mach;
    bb_machine_describe(&mach);
    char path[256], err[400];
    path_in_tmp(path, sizeof path, "this-machine.json");
    bb_tune_table t;
    bb_tune_table_init(&t, mach.id, mach.cpu_model);
    bb_tune_entry e = entry("pot5", 64, 256, 1, 1, "pot5-scalar-ref");
    bb_tune_table_put(&t, &e);
    assert_int_equal(bb_tune_write(path, &t, err, sizeof err), 0);
    bb_tune_table_free(&t);

    setenv("BITBENCH_TUNING", path, 1);
    bb_tune_forget();
    bb_select_rule r;
    const bb_kernel *k = bb_select_kernel("pot5", 64, 256, 1, 1, &r);
    assert_ptr_equal(k, bb_kernel_find_exact("pot5-scalar-ref"));
    assert_true(r.tuned);
    assert_non_null(strstr(r.text, path));
    k = bb_select_kernel("pot5", 64, 256, 1, 2, &r);
    assert_ptr_equal(k, bb_kernel_find_best("pot5"));
    assert_false(r.tuned);

    /* through the program: gemm --kernel says which rule chose */
    const char *bin = getenv("BITBENCH_BIN");
    if (bin) {
        char cmd[800], line[1024];
        snprintf(cmd, sizeof cmd, "BITBENCH_AUTOTUNE=0 %s gemm --kernel pot5,int8 --m 64 --k 256 --threads 1 "
                 "--reps 2 --warm --no-ceiling --no-probe 2>&1", bin);
        FILE *p = popen(cmd, "r");
        assert_non_null(p);
        int tuned = 0, prio = 0;
        while (fgets(line, sizeof line, p)) {
            tuned |= strstr(line, "pot5-scalar-ref") && strstr(line, "chosen by tuned: ");
            prio |= strstr(line, "chosen by priority: no tuning record for int8 m6k8 1 thread(s) decode") != NULL;
        }
        assert_int_equal(pclose(p), 0);
        assert_true(tuned);
        assert_true(prio);
    }

    /* an old version: priority, with the reason */
    write_text(path, "{\"schema\": \"bitbench.tuning\", \"version\": 0, \"entries\": []}\n");
    bb_tune_forget();
    k = bb_select_kernel("pot5", 64, 256, 1, 1, &r);
    assert_ptr_equal(k, bb_kernel_find_best("pot5"));
    assert_non_null(strstr(r.text, "priority: tuning record unusable"));
    assert_non_null(strstr(r.text, "version 0"));
    unsetenv("BITBENCH_TUNING");
    bb_tune_forget();
}

/* The first `gemm --kernel F` at a case the record lacks tunes it (stderr), records it and
 * runs the pick with the tuned rule; the next run tunes nothing; --no-tune (or
 * BITBENCH_AUTOTUNE=0) never tunes; stdout stays the JSON rows throughout. */
static void test_first_run_tunes(void **state)
{
    (void)state;
    if (!getenv("BITBENCH_BIN"))
        skip();
    char path[256], env[400], out[1 << 16], err[1 << 14], err2[1 << 14];
    path_in_tmp(path, sizeof path, "first-run.json");
    unlink(path);
    snprintf(env, sizeof env, "BITBENCH_AUTOTUNE=1 BITBENCH_TUNING='%s'", path);
    const char *args = "gemm --kernel tern2,int8 --m 64 --k 512 --threads 1 --reps 3 --warm --no-ceiling "
                       "--no-probe --json";
    assert_int_equal(tu_run_bitbench(env, args, out, sizeof out, err, sizeof err), 0);
    if (!strstr(err, "first run of 2 case(s)"))
        fail_msg("no first-run tuning said on stderr: %s", err);
    size_t rows = 0;
    for (char *sv = NULL, *l = strtok_r(out, "\n", &sv); l; l = strtok_r(NULL, "\n", &sv), rows++) {
        json_error_t je;
        json_t *j = json_loads(l, 0, &je);
        if (!j)
            fail_msg("stdout line %zu is not JSON (%s): %.200s", rows + 1, je.text, l);
        const char *rule = json_string_value(json_object_get(j, "impl_rule"));
        if (!rule || strncmp(rule, "tuned: ", 7))
            fail_msg("row %zu: impl_rule '%s', expected the tuned rule", rows + 1, rule ? rule : "(none)");
        json_decref(j);
    }
    assert_int_equal(rows, 2);
    bb_tune_table t;
    assert_int_equal(bb_tune_read(path, &t, err, sizeof err), 0);
    assert_int_equal(t.n, 2);
    assert_non_null(bb_tune_table_get(&t, "tern2", "m6k9", 1, BB_BATCH_DECODE));
    assert_non_null(bb_tune_table_get(&t, "int8", "m6k9", 1, BB_BATCH_DECODE));
    /* every candidate timed in 3 placements (separate gemm runs of >= 10 rounds each), their
     * rounds pooled */
    for (size_t i = 0; i < t.n; i++) {
        assert_true(t.entries[i].n_cand >= 1);
        for (size_t c = 0; c < t.entries[i].n_cand; c++)
            if (t.entries[i].cand[c].samples < 30)
                fail_msg("%s %s: %zu pooled rounds, expected >= 3 runs x 10", t.entries[i].format,
                         t.entries[i].cand[c].impl, t.entries[i].cand[c].samples);
    }
    bb_tune_table_free(&t);

    /* covered now: nothing tuned */
    assert_int_equal(tu_run_bitbench(env, args, out, sizeof out, err2, sizeof err2), 0);
    assert_null(strstr(err2, "first run"));

    /* sweep: its picks (one per model and format) tuned first, the rows say so */
    char spath[256], sargs[600];
    path_in_tmp(spath, sizeof spath, "first-run-sweep.jsonl");
    unlink(spath);
    unlink(path);
    snprintf(sargs, sizeof sargs, "sweep --model-shape tiny:64:96:2:4:2:100 --formats tern2,int8 --batch 1 "
             "--threads 1 --min-time 0.01 --no-methods --out '%s'", spath);
    assert_int_equal(tu_run_bitbench(env, sargs, NULL, 0, err2, sizeof err2), 0);
    if (!strstr(err2, "first run of 2 case(s)"))
        fail_msg("sweep: no first-run tuning said on stderr: %s", err2);
    assert_int_equal(bb_tune_read(path, &t, err, sizeof err), 0);
    assert_int_equal(t.n, 2);
    bb_tune_table_free(&t);
    FILE *f = fopen(spath, "r");
    assert_non_null(f);
    char line[1 << 16];
    size_t srows = 0;
    while (fgets(line, sizeof line, f)) {
        json_t *j = json_loads(line, 0, NULL);
        assert_non_null(j);
        const char *rule = json_string_value(json_object_get(j, "impl_rule"));
        if (!rule || strncmp(rule, "tuned: ", 7))
            fail_msg("sweep row %zu: impl_rule '%s', expected the tuned rule", srows + 1, rule ? rule : "(none)");
        json_decref(j);
        srows++;
    }
    fclose(f);
    unlink(spath);
    assert_int_equal(srows, 2);

    /* --no-tune, and BITBENCH_AUTOTUNE=0: no record made */
    unlink(path);
    char noargs[400];
    snprintf(noargs, sizeof noargs, "%s --no-tune", args);
    assert_int_equal(tu_run_bitbench(env, noargs, out, sizeof out, err2, sizeof err2), 0);
    assert_int_equal(access(path, F_OK), -1);
    snprintf(env, sizeof env, "BITBENCH_AUTOTUNE=0 BITBENCH_TUNING='%s'", path);
    assert_int_equal(tu_run_bitbench(env, args, out, sizeof out, err2, sizeof err2), 0);
    assert_int_equal(access(path, F_OK), -1);
    assert_null(strstr(err2, "first run"));
}

/* ------------------------------------------------------------------ the decision's statistic */

static void test_paired_ratio(void **state)
{
    (void)state;
    double a[40], b[40], med, lo, hi;
    for (int i = 0; i < 40; i++) {
        b[i] = 1000 + 37 * (i % 7);
        a[i] = 0.9 * b[i];
    }
    bb_tune_paired_ratio(a, b, 40, &med, &lo, &hi);
    assert_true(fabs(med - 0.9) < 1e-12 && fabs(lo - 0.9) < 1e-12 && fabs(hi - 0.9) < 1e-12);
    /* ratios 0.80 .. 1.19: the median's interval straddles 1 */
    for (int i = 0; i < 40; i++) {
        b[i] = 100;
        a[i] = 80 + i;
    }
    bb_tune_paired_ratio(a, b, 40, &med, &lo, &hi);
    assert_true(fabs(med - 0.995) < 1e-12);
    assert_true(lo < 0.995 && lo > 0.8 && hi > 1 && hi < 1.19);
    /* fewer than 6 pairs: [min, max] */
    bb_tune_paired_ratio(a, b, 3, &med, &lo, &hi);
    assert_true(fabs(lo - 0.80) < 1e-12 && fabs(hi - 0.82) < 1e-12 && fabs(med - 0.81) < 1e-12);
}

static int setup(void **state)
{
    (void)state;
    return tu_temp_dir(tmpdir, sizeof tmpdir, "bitbench-test-tune");
}

static int teardown(void **state)
{
    (void)state;
    return tu_remove_tree(tmpdir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_classes),     cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_versions),    cmocka_unit_test(test_selection),
        cmocka_unit_test(test_select_from_file), cmocka_unit_test(test_first_run_tunes),
        cmocka_unit_test(test_paired_ratio),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
