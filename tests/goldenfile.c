/* tests/goldenfile.c - a text output held equal to a golden file (goldenfile.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "goldenfile.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void tu_assert_golden(const char *got, const char *golden, const char *what)
{
    assert_non_null(got);
    if (getenv("BITBENCH_UPDATE_GOLDEN")) {
        FILE *f = fopen(golden, "w");
        assert_non_null(f);
        fputs(got, f);
        fclose(f);
        print_message("rewrote %s: read its diff before committing\n", golden);
    }
    char *want = tu_read_file(golden);
    assert_non_null(want);
    if (strcmp(got, want)) {
        size_t i = 0;
        while (got[i] && got[i] == want[i])
            i++;
        size_t from = i > 80 ? i - 80 : 0;
        print_error("%s differs from %s at byte %zu:\n--- got:\n%.200s\n--- want:\n%.200s\n", what, golden, i,
                    got + from, want + from);
    }
    assert_string_equal(got, want);
    free(want);
}
