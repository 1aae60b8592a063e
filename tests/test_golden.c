/*
 * tests/test_golden.c - the analysis commands' outputs did not change: report, compare and
 * history rendered from fixed result files (tests/golden/render.sh) must equal
 * tests/golden/expected/ byte for byte.  The expected files were rendered by the build of
 * main before harness/ was split into rooms (42339a7; since re-rendered by main's build at
 * each merge), so the move is checked to change no output.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "testutil.h"

static void test_outputs_match_expected(void **state)
{
    (void)state;
    char dir[64];
    assert_int_equal(tu_temp_dir(dir, sizeof dir, "bitbench-golden"), 0);
    assert_int_equal(tu_sh("cd '%s' && tests/golden/render.sh '%s' '%s/out'", tu_srcdir(), tu_bitbench_bin(), dir), 0);
#if defined(__x86_64__)
    /* the expected files were rendered on x86-64: byte for byte */
    int rc = tu_sh("cd '%s' && diff -r tests/golden/expected '%s/out' >&2", tu_srcdir(), dir);
#else
    /* Another architecture's libm may round the 17th digit of a double differently (history's
     * p-values printed in full, under qemu-aarch64): there, numbers of 12 or more digits
     * are compared to 11 digits after the point; every other byte still must match. */
    int rc = tu_sh("cd '%s' && cp -r tests/golden/expected '%s/want' && find '%s/want' '%s/out' -type f -exec "
                   "sed -i -E 's/([0-9]\\.[0-9]{11})[0-9]+/\\1/g' {} + && diff -r '%s/want' '%s/out' >&2",
                   tu_srcdir(), dir, dir, dir, dir, dir);
#endif
    if (rc)
        print_error("the outputs above differ from tests/golden/expected (left: expected)\n");
    assert_int_equal(rc, 0);
    tu_remove_tree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_outputs_match_expected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
