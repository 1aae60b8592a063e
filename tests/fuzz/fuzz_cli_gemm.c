/*
 * tests/fuzz/fuzz_cli_gemm.c - `bitbench gemm` options, one per input line (--kernel and
 * --impl lists, --m/--k/--n, --threads, every number): parsed, kernels selected and the
 * shape checked exactly as the command does before it allocates - but nothing is run.
 * The command's file is included so that its static steps can be called one by one.
 */
#include "../../bench/cmd_gemm.c"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *argv[FUZZ_MAX_ARGS + 1], *buf;
    int argc = fuzz_argv("gemm", data, size, argv, &buf);
    gemm_opts o;
    item *items = calloc(MAX_ITEMS, sizeof *items);
    size_t n = 0;
    if (parse(argc, argv, &o) == 0 && select_kernels(&o, items, &n) == 0)
        (void)check_shapes(&o, items, n);
    bb_isa_set_cap(BB_ISA_AVX512); /* --isa is process state: the next input starts uncapped */
    free(items);
    free(buf);
    return 0;
}
