/*
 * tests/fuzz/fuzz_cli_sweep.c - `bitbench sweep` options, one per input line (--formats,
 * --threads, --batch, --models, --model-shape lists and every number), ending in --plan so
 * nothing is measured: exit 0 or 2 whatever the arguments, never a crash.
 */
#include "../../bench/cli.h"
#include "../../kernels/kernel.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *argv[FUZZ_MAX_ARGS + 8], *buf;
    int argc = fuzz_argv("sweep", data, size, argv, &buf);
    /* --plan last: measuring is not the reader's job; --out is never opened under --plan */
    argv[argc++] = "--catalogue";
    argv[argc++] = BB_FUZZ_SRCDIR "/results/models.csv";
    argv[argc++] = "--plan";
    argv[argc] = NULL;
    int rc = bb_cmd_sweep(argc, argv);
    if (rc < 0 || rc > 2)
        abort();
    bb_isa_set_cap(BB_ISA_AVX512); /* --isa is process state: the next input starts uncapped */
    free(buf);
    return 0;
}
