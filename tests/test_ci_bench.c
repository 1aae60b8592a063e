/*
 * tests/test_ci_bench.c - the CI flow end to end, at small scale: scripts/ci-bench.sh
 * writes a baseline, an unmodified build passes against it (exit 0), and a real injected
 * slowdown (env BITBENCH_INJECT_SLOWDOWN: that kernel computes its rows twice) fails it
 * (exit 1) with exactly that kernel's rows flagged.  Runs the binary named by
 * BITBENCH_BIN and the script under BITBENCH_SRCDIR (make check sets both).
 *
 * The pass is a statement about noise, so it rests on what the script does against
 * noise (floor quantile, processes per row, effect threshold, confirmation rerun), not on
 * timing luck.  The kernels are the scalar references of three formats: every machine
 * runs them, and their calls (~50-200 us here) are long enough to time in one process.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *bin(void)
{
    const char *b = getenv("BITBENCH_BIN");
    return b ? b : "build/bitbench";
}

static const char *srcdir(void)
{
    const char *s = getenv("BITBENCH_SRCDIR");
    return s ? s : ".";
}

static char tmpdir[64];

/* Runs a shell command; its exit status (-1 when it did not exit). */
static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static const char *impls[3] = {"fp16-scalar-ref", "int8-scalar-ref", "tern2-scalar-ref"};

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/bitbench-ci-XXXXXX");
    assert_non_null(mkdtemp(tmpdir));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    sh("rm -rf '%s'", tmpdir);
    return 0;
}

/* scripts/ci-bench.sh on the small plan; env may set BITBENCH_INJECT_SLOWDOWN. */
static int ci_bench(const char *env, const char *extra, const char *out)
{
    /* small: every gemm process costs about a second of counter and energy probing */
    return sh("%s BITBENCH='%s' '%s/scripts/ci-bench.sh' --kernels %s,%s,%s --shapes 256x512 --processes 2 "
              "--reps 150 --baseline '%s/base.jsonl' --out '%s/%s' %s > '%s/%s.log' 2>&1",
              env ? env : "", bin(), srcdir(), impls[0], impls[1], impls[2], tmpdir, tmpdir, out,
              extra ? extra : "", tmpdir, out);
}

static void show_log(const char *out)
{
    sh("cat '%s/%s.log' >&2", tmpdir, out);
}

static void test_unmodified_runs_pass_and_injected_slowdown_fails(void **state)
{
    (void)state;
    /* The verdicts rest on timings; under an emulator (make check-arm sets
     * BITBENCH_EMULATED) they mean nothing. */
    if (getenv("BITBENCH_EMULATED") && *getenv("BITBENCH_EMULATED")) {
        printf("skipped: timing under emulation (BITBENCH_EMULATED) means nothing\n");
        skip();
    }
    /* no baseline yet: bad input */
    assert_int_equal(ci_bench(NULL, NULL, "none"), 2);
    assert_int_equal(ci_bench(NULL, "--update-baseline", "base"), 0);

    int rc = ci_bench(NULL, NULL, "same");
    if (rc != 0)
        show_log("same");
    assert_int_equal(rc, 0);

    char env[128];
    snprintf(env, sizeof env, "BITBENCH_INJECT_SLOWDOWN=%s", impls[1]);
    rc = ci_bench(env, NULL, "slow");
    if (rc != 1)
        show_log("slow");
    assert_int_equal(rc, 1);

    /* exactly the injected kernel, confirmed by the rerun */
    char path[160];
    snprintf(path, sizeof path, "%s/slow/compare-json.json", tmpdir);
    json_error_t je;
    json_t *j = json_load_file(path, 0, &je);
    assert_non_null(j);
    assert_non_null(json_object_get(j, "confirm"));
    assert_true(json_is_string(json_object_get(j, "confirm")));
    size_t i, flagged = 0;
    json_t *r;
    json_array_foreach(json_object_get(j, "results"), i, r) {
        const char *impl = json_string_value(json_object_get(r, "impl"));
        const char *verdict = json_string_value(json_object_get(r, "verdict"));
        bool injected = !strcmp(impl, impls[1]);
        if (injected != !strcmp(verdict, "regression"))
            print_error("%s: %s\n", impl, verdict);
        assert_int_equal(injected, !strcmp(verdict, "regression"));
        flagged += injected;
        if (injected) /* computed twice: close to +100% */
            assert_true(json_real_value(json_object_get(r, "floor_change")) > 0.5);
    }
    assert_int_equal(flagged, 1);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "summary"), "compared")), 3);
    json_decref(j);
}

static void test_bad_options_exit_2(void **state)
{
    (void)state;
    assert_int_equal(sh("BITBENCH='%s' '%s/scripts/ci-bench.sh' --bogus > /dev/null 2>&1", bin(), srcdir()), 2);
    assert_int_equal(sh("BITBENCH='%s' '%s/scripts/ci-bench.sh' --shapes 12by3 > /dev/null 2>&1", bin(), srcdir()),
                     2);
    assert_int_equal(sh("BITBENCH=/nonexistent '%s/scripts/ci-bench.sh' > /dev/null 2>&1", srcdir()), 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_options_exit_2),
        cmocka_unit_test(test_unmodified_runs_pass_and_injected_slowdown_fails),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
