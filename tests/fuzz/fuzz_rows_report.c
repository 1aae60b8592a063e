/*
 * tests/fuzz/fuzz_rows_report.c - `bitbench report` (tables and .dat files, no plots) from a
 * results file (JSONL rows): exit 0 or 2 whatever the bytes, never a crash.
 */
#include "../../bench/cli.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *f = fuzz_file(data, size);
    char *argv[] = {"report", (char *)f, "--no-plots", "--out", (char *)fuzz_dir(),
                    "--reference", BB_FUZZ_SRCDIR "/results/reference/paper.csv", NULL};
    int rc = bb_cmd_report(7, argv);
    if (rc < 0 || rc > 2)
        abort();
    return 0;
}
