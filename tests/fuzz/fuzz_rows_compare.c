/*
 * tests/fuzz/fuzz_rows_compare.c - `bitbench compare` reading a results file (JSONL rows)
 * as both base and new: whatever the bytes, it exits 0, 1 or 2 and never crashes.
 */
#include "../../bench/cli.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *f = fuzz_file(data, size);
    char *argv[] = {"compare", (char *)f, (char *)f, "--allow-different-machines", "--resamples", "50", NULL};
    int rc = bb_cmd_compare(6, argv);
    if (rc < 0 || rc > 2)
        abort();
    char *argv2[] = {"compare", (char *)f, (char *)f, "--format", "json", "--normalize", "fp16", NULL};
    rc = bb_cmd_compare(7, argv2);
    if (rc < 0 || rc > 2)
        abort();
    return 0;
}
