/*
 * kernels/module/builtin.c - the built-in kernel table as a module: the entry point of
 * build/module/bitbench-kernels.so (every kernel of kernels/, built as PIC).  Two
 * revisions' copies of it, loaded into one process under prefixes, are what
 * `scripts/ci-bench.sh --against REF` times in pairs.
 */
#include "../module.h"

static const bb_module_info info = {
    .abi_version = BB_MODULE_ABI_VERSION,
    .kernel_size = sizeof(bb_kernel),
    .description = "bitbench's built-in kernel table",
    .count = 0, /* set below: bb_kernel_count is not a constant expression */
    .kernels = bb_kernels,
};

const bb_module_info *bitbench_module(void)
{
    static bb_module_info filled;
    filled = info;
    filled.count = bb_kernel_count;
    return &filled;
}
