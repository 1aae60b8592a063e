/*
 * tests/test_ci_bench.c - scripts/ci-bench.sh's handling of input, which needs no timing:
 * bad options, a missing baseline, a bad --against revision, exclusive modes - each exit 2
 * before anything is measured.  Runs the binary named by BITBENCH_BIN and the script under
 * BITBENCH_SRCDIR (make check sets both).
 *
 * What needs timing lives in benchmark scripts, outside make check: the stored-baseline
 * flow end to end (an unmodified build passes, an injected 2x slowdown fails with exactly
 * that kernel flagged) in scripts/bench-ci-baseline.sh, the paired gate's power in
 * scripts/gate-power.sh, the injected factor's accuracy in scripts/bench-inject.sh.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "testutil.h"

static char tmpdir[64];

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
    tu_sh("rm -rf '%s'", tmpdir);
    return 0;
}

static void test_bad_options_exit_2(void **state)
{
    (void)state;
    assert_int_equal(tu_sh("BITBENCH='%s' '%s/scripts/ci-bench.sh' --bogus > /dev/null 2>&1", tu_bitbench_bin(), tu_srcdir()), 2);
    assert_int_equal(tu_sh("BITBENCH='%s' '%s/scripts/ci-bench.sh' --shapes 12by3 > /dev/null 2>&1", tu_bitbench_bin(), tu_srcdir()),
                     2);
    assert_int_equal(tu_sh("BITBENCH=/nonexistent '%s/scripts/ci-bench.sh' > /dev/null 2>&1", tu_srcdir()), 2);
    assert_int_equal(tu_sh("BITBENCH='%s' '%s/scripts/ci-bench.sh' --seconds -3 > /dev/null 2>&1", tu_bitbench_bin(), tu_srcdir()), 2);
    assert_int_equal(tu_sh("BITBENCH='%s' '%s/scripts/ci-bench.sh' --against HEAD --update-baseline > /dev/null 2>&1",
                        tu_bitbench_bin(), tu_srcdir()), 2);
}

/* No baseline for this machine: bad input, before anything is timed. */
static void test_missing_baseline_exit_2(void **state)
{
    (void)state;
    assert_int_equal(tu_sh("BITBENCH='%s' '%s/scripts/ci-bench.sh' --kernels fp16-scalar-ref --baseline '%s/none.jsonl' "
                        "--out '%s/out' > /dev/null 2>&1", tu_bitbench_bin(), tu_srcdir(), tmpdir, tmpdir), 2);
    assert_int_equal(tu_sh("test -e '%s/out/run.jsonl'", tmpdir), 1); /* nothing was measured */
}

/* --against a revision that does not exist: bad input, before any build or timing. */
static void test_bad_against_exit_2(void **state)
{
    (void)state;
    assert_int_equal(tu_sh("BITBENCH='%s' '%s/scripts/ci-bench.sh' --against no-such-revision-xyz --out '%s/ab' "
                        "> '%s/ab.log' 2>&1", tu_bitbench_bin(), tu_srcdir(), tmpdir, tmpdir), 2);
    assert_int_equal(tu_sh("grep -q \"no-such-revision-xyz': not a commit\" '%s/ab.log'", tmpdir), 0);
}

/* The help text documents both modes. */
static void test_help_names_both_modes(void **state)
{
    (void)state;
    assert_int_equal(tu_sh("'%s/scripts/ci-bench.sh' --help | grep -q -- '--against REF'", tu_srcdir()), 0);
    assert_int_equal(tu_sh("'%s/scripts/ci-bench.sh' --help | grep -q -- '--update-baseline'", tu_srcdir()), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_options_exit_2),
        cmocka_unit_test(test_missing_baseline_exit_2),
        cmocka_unit_test(test_bad_against_exit_2),
        cmocka_unit_test(test_help_names_both_modes),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
