/*
 * tests/fuzz/fuzz_rows_history.c - `bitbench history` over a results file (JSONL rows)
 * given as three successive runs: exit 0 or 2 whatever the bytes, never a crash.
 */
#include "../../bench/cli.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *f = fuzz_file(data, size);
    char *argv[] = {"history", "--no-plot", "--json", "--window", "1", "--out", (char *)fuzz_dir(),
                    "--allow-different-machines", (char *)f, (char *)f, (char *)f, NULL};
    int rc = bb_cmd_history(11, argv);
    if (rc < 0 || rc > 2)
        abort();
    return 0;
}
