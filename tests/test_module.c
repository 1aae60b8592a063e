/*
 * tests/test_module.c - kernel modules (kernels/module.h, harness/core/module.h): the ABI
 * version and layout checks, name clashes, a missing entry symbol, the example module and
 * the built-in table as a module passing the harness's check, a module whose kernel is
 * wrong reported failed and not timed, and the BITBENCH_INJECT_SLOWDOWN syntax.  No
 * timing is asserted.  The modules are built by kernels/module/module.mk under
 * BB_TEST_MODULE_DIR; the program under test is BITBENCH_BIN (make check sets it).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../harness/core/gemm_run.h"
#include "../harness/core/module.h"
#include "../harness/core/pool.h"
#include "testutil.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#ifndef BB_TEST_MODULE_DIR
#define BB_TEST_MODULE_DIR "build"
#endif

static const char *module_path(const char *rel)
{
    static char path[4][512];
    static int next;
    char *p = path[next++ % 4];
    snprintf(p, sizeof path[0], "%s/%s", BB_TEST_MODULE_DIR, rel);
    return p;
}

static int forget(void **state)
{
    (void)state;
    bb_module_forget_all();
    return 0;
}

/* ------------------------------------------------------------------ in-memory tables */

static void plain_rows(const bb_gemm_args *a, size_t r0, size_t r1)
{
    (void)a, (void)r0, (void)r1;
}

static void plain_repack(const bb_weights *w, void *layout)
{
    (void)w, (void)layout;
}

static const bb_kernel k_one = {.name = "fp16-test-one", .format = BB_FMT_FP16, .method = "t",
                                .isa = BB_ISA_SCALAR, .row_block = 1, .gemm_rows = plain_rows};
static const bb_kernel k_builtin_name = {.name = "tern2-scalar-ref", .format = BB_FMT_FP16, .method = "t",
                                         .isa = BB_ISA_SCALAR, .row_block = 1, .gemm_rows = plain_rows};
static const bb_kernel *const one[] = {&k_one};
static const bb_kernel *const twice[] = {&k_one, &k_one};
static const bb_kernel *const builtin_name[] = {&k_builtin_name};

static bb_module_info info_of(const bb_kernel *const *k, size_t n)
{
    return (bb_module_info){.abi_version = BB_MODULE_ABI_VERSION, .kernel_size = sizeof(bb_kernel),
                            .description = "test", .count = n, .kernels = k};
}

static void test_abi_version_and_layout_are_checked(void **state)
{
    (void)state;
    char err[512];
    bb_module_info info = info_of(one, 1);
    info.abi_version = BB_MODULE_ABI_VERSION + 1;
    assert_int_equal(bb_module_register(&info, NULL, "m.so", err, sizeof err), -1);
    assert_non_null(strstr(err, "ABI version"));
    assert_non_null(strstr(err, "m.so"));
    info.abi_version = 0;
    assert_int_equal(bb_module_register(&info, NULL, "m.so", err, sizeof err), -1);
    info = info_of(one, 1);
    info.kernel_size = sizeof(bb_kernel) + 8;
    assert_int_equal(bb_module_register(&info, NULL, "m.so", err, sizeof err), -1);
    assert_non_null(strstr(err, "bytes"));
    assert_int_equal(bb_module_register(NULL, NULL, "m.so", err, sizeof err), -1);
    info = info_of(one, 0);
    assert_int_equal(bb_module_register(&info, NULL, "m.so", err, sizeof err), -1);
    assert_int_equal(bb_module_kernel_count(), 0);
    info = info_of(one, 1);
    assert_int_equal(bb_module_register(&info, NULL, "m.so", err, sizeof err), 0);
    assert_int_equal(bb_module_kernel_count(), 1);
    assert_string_equal(bb_module_kernel_origin(0), "m.so");
}

static void test_malformed_entries_are_refused(void **state)
{
    (void)state;
    char err[512];
    bb_kernel bad[4] = {k_one, k_one, k_one, k_one};
    bad[0].gemm_rows = NULL;
    bad[1].format = BB_FMT_COUNT;
    bad[2].format = BB_FMT_TERN2; /* int8 activations, but no prepare_act */
    bad[3].repack = plain_repack; /* repack without layout_bytes */
    for (int i = 0; i < 4; i++) {
        const bb_kernel *list[] = {&bad[i]};
        bb_module_info info = info_of(list, 1);
        assert_int_equal(bb_module_register(&info, NULL, "m.so", err, sizeof err), -1);
        assert_non_null(strstr(err, "entry 0"));
    }
    assert_int_equal(bb_module_kernel_count(), 0);
}

static void test_name_clashes_are_refused_whole(void **state)
{
    (void)state;
    char err[512];
    bb_module_info info = info_of(builtin_name, 1);
    assert_int_equal(bb_module_register(&info, NULL, "m.so", err, sizeof err), -1);
    assert_non_null(strstr(err, "'tern2-scalar-ref' clashes"));
    info = info_of(twice, 2); /* a clash inside one module: nothing of it stays */
    assert_int_equal(bb_module_register(&info, NULL, "m.so", err, sizeof err), -1);
    assert_int_equal(bb_module_kernel_count(), 0);
    info = info_of(one, 1);
    assert_int_equal(bb_module_register(&info, NULL, "a.so", err, sizeof err), 0);
    assert_int_equal(bb_module_register(&info, NULL, "b.so", err, sizeof err), -1); /* across modules */
    assert_int_equal(bb_module_register(&info, "new", "b.so", err, sizeof err), 0); /* prefixed: fine */
    assert_int_equal(bb_module_register(&info, "new", "c.so", err, sizeof err), -1);
    assert_int_equal(bb_module_register(&info, "bad/prefix", "c.so", err, sizeof err), -1);
    assert_int_equal(bb_module_kernel_count(), 2);
    assert_non_null(bb_module_find_exact("new/fp16-test-one"));
    assert_ptr_equal(bb_any_kernel_find_exact("new/fp16-test-one"), bb_module_find_exact("new/fp16-test-one"));
    assert_ptr_equal(bb_any_kernel_find_exact("tern2-scalar-ref"), bb_kernel_find_exact("tern2-scalar-ref"));
    assert_null(bb_any_kernel_find_exact("fp16-test-two"));
}

/* ------------------------------------------------------------------ shared objects */

static void test_shared_objects_refused_with_a_reason(void **state)
{
    (void)state;
    char err[512];
    assert_int_equal(bb_module_load(module_path("tests/modules/abi2.so"), err, sizeof err), -1);
    assert_non_null(strstr(err, "ABI version 2"));
    assert_int_equal(bb_module_load(module_path("tests/modules/nosym.so"), err, sizeof err), -1);
    assert_non_null(strstr(err, "no symbol bitbench_module"));
    assert_int_equal(bb_module_load(module_path("tests/modules/clash.so"), err, sizeof err), -1);
    assert_non_null(strstr(err, "clashes"));
    assert_int_equal(bb_module_load("/nonexistent/module.so", err, sizeof err), -1);
    assert_non_null(strstr(err, "cannot load"));
    assert_int_equal(bb_module_kernel_count(), 0);
    char spec[600];
    snprintf(spec, sizeof spec, "x=%s", module_path("tests/modules/clash.so"));
    assert_int_equal(bb_module_load(spec, err, sizeof err), 0);
    assert_non_null(bb_module_find_exact("x/fp16-scalar-ref"));
}

/* Checks kernel k the way `bitbench gemm` does before timing it. */
static bool passes_check(const bb_kernel *k, size_t m, size_t kk, size_t n)
{
    char err[200];
    bb_pool *pool = bb_pool_create(1, err, sizeof err);
    assert_non_null(pool);
    float *w32 = malloc(m * kk * sizeof(float));
    tu_fill_normalish(w32, m * kk, 0.1f, 7);
    bb_kernel_weights kw;
    assert_int_equal(bb_kernel_weights_make(&kw, k, w32, m, kk), 0);
    size_t xs;
    float *x = tu_make_x(kk, n, 11, &xs);
    bb_check c;
    bb_gemm_check(pool, k, &kw, x, xs, n, &c);
    if (!c.passed)
        print_message("%s: %s\n", k->name, c.detail);
    bb_free(x);
    bb_kernel_weights_free(&kw);
    free(w32);
    bb_pool_destroy(pool);
    return c.passed;
}

static void test_example_module_passes_the_check(void **state)
{
    (void)state;
    char err[512];
    assert_int_equal(bb_module_load(module_path("examples/fp16-example.so"), err, sizeof err), 0);
    const bb_kernel *k = bb_module_find_exact("fp16-example-c4");
    assert_non_null(k);
    assert_true(bb_kernel_runnable(k));
    assert_true(passes_check(k, 37, 131, 3));
}

static void test_wrong_kernel_fails_the_check(void **state)
{
    (void)state;
    char err[512];
    assert_int_equal(bb_module_load(module_path("tests/modules/wrong.so"), err, sizeof err), 0);
    assert_false(passes_check(bb_module_find_exact("fp16-test-wrong"), 16, 64, 1));
}

/* Two builds of the same table side by side, as ci-bench --against loads them. */
static void test_builtin_table_as_two_modules(void **state)
{
    (void)state;
    char err[512], spec[600];
    snprintf(spec, sizeof spec, "old=%s", module_path("module/bitbench-kernels.so"));
    assert_int_equal(bb_module_load(spec, err, sizeof err), 0);
    snprintf(spec, sizeof spec, "new=%s", module_path("module/bitbench-kernels.so"));
    assert_int_equal(bb_module_load(spec, err, sizeof err), 0);
    assert_int_equal(bb_module_kernel_count(), 2 * bb_kernel_count);
    for (int f = 0; f < BB_FMT_COUNT; f++) {
        const bb_kernel *best = bb_kernel_find_best(bb_formats[f].name);
        char name[200];
        snprintf(name, sizeof name, "new/%s", best->name);
        const bb_kernel *k = bb_module_find_exact(name);
        assert_non_null(k);
        assert_int_equal(k->format, best->format);
        assert_int_equal(k->needs, best->needs);
        assert_true(passes_check(k, 67, 300, 2));
    }
}

/* ------------------------------------------------------------------ the program */

static void test_program_refuses_and_reports(void **state)
{
    (void)state;
    const char *shape = "--m 32 --k 96 --reps 3 --warm --no-probe --no-ceiling --threads 1";
    char out[64] = "/tmp/bitbench-module-XXXXXX";
    int fd = mkstemp(out);
    assert_true(fd >= 0);
    /* refused: exit 2 and one line naming the module and the reason */
    assert_int_equal(tu_sh("'%s' gemm --plugin '%s' --impl fp16-test-wrong %s > /dev/null 2> '%s'", tu_bitbench_bin(),
                        module_path("tests/modules/abi2.so"), shape, out), 2);
    assert_int_equal(tu_sh("test $(wc -l < '%s') = 1 && grep -q 'ABI version 2' '%s'", out, out), 0);
    assert_int_equal(tu_sh("'%s' list --plugin '%s' > /dev/null 2>&1", tu_bitbench_bin(), module_path("tests/modules/nosym.so")), 2);
    assert_int_equal(tu_sh("'%s' list --plugin '%s' > /dev/null 2>&1", tu_bitbench_bin(), module_path("tests/modules/clash.so")), 2);
    /* the example: listed, checked and timed */
    assert_int_equal(tu_sh("'%s' list --plugin '%s' | grep -q '^  fp16-example-c4 .*(module '", tu_bitbench_bin(),
                        module_path("examples/fp16-example.so")), 0);
    assert_int_equal(tu_sh("'%s' gemm --plugin '%s' --impl fp16-example-c4 %s --json > '%s' 2> /dev/null", tu_bitbench_bin(),
                        module_path("examples/fp16-example.so"), shape, out), 0);
    json_t *j = json_load_file(out, JSON_DISABLE_EOF_CHECK, NULL);
    assert_non_null(j);
    assert_true(json_is_true(json_object_get(json_object_get(j, "check"), "passed")));
    assert_true(json_is_object(json_object_get(j, "latency_ns")));
    json_decref(j);
    /* a wrong kernel: exit 1, reported failed, not timed */
    assert_int_equal(tu_sh("'%s' gemm --plugin '%s' --impl fp16-test-wrong %s --json > '%s' 2> /dev/null", tu_bitbench_bin(),
                        module_path("tests/modules/wrong.so"), shape, out), 1);
    j = json_load_file(out, JSON_DISABLE_EOF_CHECK, NULL);
    assert_non_null(j);
    assert_true(json_is_false(json_object_get(json_object_get(j, "check"), "passed")));
    assert_true(json_is_null(json_object_get(j, "latency_ns")));
    assert_non_null(json_object_get(j, "latency_unavailable"));
    json_decref(j);
    /* --paired needs pairs */
    assert_int_equal(tu_sh("'%s' gemm --plugin '%s' --impl fp16-example-c4 --paired %s > /dev/null 2>&1", tu_bitbench_bin(),
                        module_path("examples/fp16-example.so"), shape), 2);
    /* a malformed injection is bad input */
    assert_int_equal(tu_sh("BITBENCH_INJECT_SLOWDOWN=fp16-scalar-ref:0.5 '%s' gemm --impl fp16-scalar-ref %s "
                        "> /dev/null 2>&1", tu_bitbench_bin(), shape), 2);
    remove(out);
}

static void test_injection_syntax(void **state)
{
    (void)state;
    char impl[64];
    double f;
    assert_int_equal(bb_inject_slowdown_parse("tern2-avx2-madd", impl, sizeof impl, &f), 0);
    assert_string_equal(impl, "tern2-avx2-madd");
    assert_true(f == 2.0);
    assert_int_equal(bb_inject_slowdown_parse("new/int8-avx2:1.05", impl, sizeof impl, &f), 0);
    assert_string_equal(impl, "new/int8-avx2");
    assert_true(f == 1.05);
    assert_int_equal(bb_inject_slowdown_parse("x:0.9", impl, sizeof impl, &f), -1);
    assert_int_equal(bb_inject_slowdown_parse("x:2x", impl, sizeof impl, &f), -1);
    assert_int_equal(bb_inject_slowdown_parse(":1.5", impl, sizeof impl, &f), -1);
    assert_int_equal(bb_inject_slowdown_parse("x:", impl, sizeof impl, &f), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_abi_version_and_layout_are_checked, forget),
        cmocka_unit_test_teardown(test_malformed_entries_are_refused, forget),
        cmocka_unit_test_teardown(test_name_clashes_are_refused_whole, forget),
        cmocka_unit_test_teardown(test_shared_objects_refused_with_a_reason, forget),
        cmocka_unit_test_teardown(test_example_module_passes_the_check, forget),
        cmocka_unit_test_teardown(test_wrong_kernel_fails_the_check, forget),
        cmocka_unit_test_teardown(test_builtin_table_as_two_modules, forget),
        cmocka_unit_test(test_program_refuses_and_reports),
        cmocka_unit_test(test_injection_syntax),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
