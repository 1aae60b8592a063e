/*
 * tests/fuzz/fuzz_rows_resume.c - `bitbench sweep --resume FILE`: the keys of the rows
 * already measured (bb_keyset_load), and the plan that skips them (sweep --plan --resume),
 * from any bytes: exit 0 or 2, never a crash.
 */
#include "../../bench/cli.h"
#include "../../harness/results/results.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *f = fuzz_file(data, size);
    bb_keyset keys = {0};
    bb_results_read_info info;
    char err[256];
    if (bb_keyset_load(&keys, f, &info, err, sizeof err) == 0) {
        if (info.rows > info.lines || keys.n > info.rows)
            abort();
        (void)bb_keyset_has(&keys, "700M|tern2|tern2-avx512-madd|t1|b1|head|cold");
    }
    bb_keyset_free(&keys);
    char *argv[] = {"sweep", "--plan", "--quick", "--formats", "fp16,tern2", "--threads", "1",
                    "--catalogue", BB_FUZZ_SRCDIR "/results/models.csv", "--resume", (char *)f, NULL};
    int rc = bb_cmd_sweep(11, argv);
    if (rc < 0 || rc > 2)
        abort();
    return 0;
}
