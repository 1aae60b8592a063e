/*
 * tests/test_cli.c - the program as a user meets it: bad input gives exit status 2 and
 * a one-line error naming the bad value; a good run gives checked JSON.  Runs the
 * binary named by BITBENCH_BIN (make check sets it to the sanitized build).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include "testutil.h"

/* Runs `bitbench <args>`; returns the exit status, stdout and stderr in out/err. */
typedef struct bad_case {
    const char *env, *args, *must_say;
} bad_case;

static void test_bad_input_exits_2_with_one_line(void **state)
{
    (void)state;
    static const bad_case cases[] = {
        {NULL, "frobnicate", "unknown command 'frobnicate'"},
        {NULL, "", "usage"},
        {NULL, "gemm --kernel tern3 --m 8 --k 8", "tern3"},
        {NULL, "gemm --kernel tern3 --m 8 --k 8", "tern1.6"}, /* lists the valid names */
        {NULL, "gemm --impl tern2-scalar-nope --m 8 --k 8", "tern2-scalar-nope"},
        {NULL, "gemm --kernel int8 --m 0 --k 8", "--m '0'"},
        {NULL, "gemm --kernel int8 --m -3 --k 8", "--m '-3'"},
        {NULL, "gemm --kernel int8 --m abc --k 8", "--m 'abc'"},
        {NULL, "gemm --kernel int8 --m 8 --k 8 --n 1.5", "--n '1.5'"},
        {NULL, "gemm --kernel int8 --m 8", "missing --k"},
        {NULL, "gemm --kernel int8 --m 8 --k 8 --bogus", "--bogus"},
        {NULL, "gemm --m 8 --k 8", "no kernel"},
        {NULL, "gemm --kernel fp16 --m 1048576 --k 1048576", "available"},
        {NULL, "gemm --kernel fp16 --m 8 --k 8 --isa sse9", "--isa 'sse9'"},
        {"BITBENCH_ISA=mmx", "gemm --kernel fp16 --m 8 --k 8", "BITBENCH_ISA 'mmx'"},
        {"BITBENCH_HUGEPAGES=no", "gemm --kernel fp16 --m 8 --k 8", "BITBENCH_HUGEPAGES 'no': expected 0 or 1"},
        {"BITBENCH_PREFETCH_NEXT=2", "list", "BITBENCH_PREFETCH_NEXT '2'"},
        {NULL, "gemm --kernel fp16 --m 8 --k 8 --threads 0", "--threads '0'"},
        {NULL, "gemm --kernel fp16 --m 8 --k 8 --json --out /nonexistent-dir/x.json", "/nonexistent-dir/x.json"},
        {NULL, "list --bogus", "--bogus"},
        {NULL, "info --threads many", "--threads 'many'"},
    };
    char out[4096], err[4096];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = tu_run_bitbench(cases[i].env, cases[i].args, out, sizeof out, err, sizeof err);
        if (rc != 2 || !strstr(err, cases[i].must_say))
            print_error("`bitbench %s`: exit %d, stderr: %s", cases[i].args, rc, err);
        assert_int_equal(rc, 2);
        assert_non_null(strstr(err, cases[i].must_say));
        /* one line: the message ends at the first newline (usage text excepted) */
        if (strcmp(cases[i].must_say, "usage") != 0)
            assert_true(strchr(err, '\n') == err + strlen(err) - 1);
        assert_int_equal(out[0], '\0'); /* nothing on stdout */
    }
}

static void test_gemm_json_every_format_checked(void **state)
{
    (void)state;
    static char out[1 << 20], err[1 << 16];
    int rc = tu_run_bitbench(NULL, "gemm --kernel all --m 40 --k 300 --n 2 --reps 3 --warm --no-ceiling --json", out,
                 sizeof out, err, sizeof err);
    assert_int_equal(rc, 0);
    int lines = 0;
    for (char *save = NULL, *line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        json_error_t je;
        json_t *o = json_loads(line, 0, &je);
        assert_non_null(o);
        assert_true(json_is_true(json_object_get(json_object_get(o, "check"), "passed")));
        json_t *lat = json_object_get(o, "latency_ns");
        assert_int_equal(json_array_size(json_object_get(lat, "samples")), 3);
        assert_true(json_real_value(json_object_get(lat, "median")) > 0);
        assert_int_equal(json_integer_value(json_object_get(o, "m")), 40);
        assert_true(json_is_null(json_object_get(o, "ceiling"))); /* not measured: null, not 0 */
        json_decref(o);
        lines++;
    }
    assert_int_equal(lines, 7); /* fp16 int8 pot4 pot5 pot6 tern2 tern1.6 */
    assert_non_null(strstr(err, "tern1.6")); /* the human summary went to stderr */
}

static void test_list_json_and_isa_cap(void **state)
{
    (void)state;
    static char out[1 << 18], err[4096];
    assert_int_equal(tu_run_bitbench("BITBENCH_ISA=scalar", "list --json", out, sizeof out, err, sizeof err), 0);
    json_error_t je;
    json_t *o = json_loads(out, 0, &je);
    assert_non_null(o);
    assert_int_equal(json_array_size(json_object_get(o, "formats")), 7);
    size_t i;
    json_t *k;
    json_array_foreach(json_object_get(o, "kernels"), i, k)
    {
        int scalar = !strcmp(json_string_value(json_object_get(k, "isa")), "scalar");
        assert_int_equal(json_is_true(json_object_get(k, "runnable")), scalar);
    }
    json_decref(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_input_exits_2_with_one_line),
        cmocka_unit_test(test_list_json_and_isa_cap),
        cmocka_unit_test(test_gemm_json_every_format_checked),
    };
    return cmocka_run_group_tests_name("cli", tests, NULL, NULL);
}
