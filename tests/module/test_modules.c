/*
 * tests/module/test_modules.c - kernel modules that must not get timed, one per
 * VARIANT_<name> (kernels/module/module.mk builds build/tests/modules/<name>.so):
 *   wrong  an fp16 kernel off by one ulp-scale amount: loads, fails its check
 *   abi2   built for the next ABI version: refused
 *   nosym  exports no bitbench_module: refused
 *   clash  a kernel named like a built-in one: refused without a prefix
 */
#include "../../kernels/module.h"

static void fp16_wrong_gemm_rows(const bb_gemm_args *a, size_t r0, size_t r1)
{
    const bb_weights *w = a->w;
    for (size_t r = r0; r < r1; r++)
        for (size_t t = 0; t < a->n; t++) {
            const float *x = a->x + t * a->x_stride;
            float acc = 0;
            for (size_t i = 0; i < w->k; i++)
                acc += x[i]; /* ignores the weights: the check must catch it */
            a->y[t * a->y_stride + r] = acc;
        }
}

static const bb_kernel test_kernel = {
#ifdef VARIANT_clash
    .name = "fp16-scalar-ref",
#else
    .name = "fp16-test-wrong",
#endif
    .format = BB_FMT_FP16,
    .method = "wrong",
    .isa = BB_ISA_SCALAR,
    .row_block = 1,
    .gemm_rows = fp16_wrong_gemm_rows,
};
static const bb_kernel *const kernels[] = {&test_kernel};

static const bb_module_info info = {
#ifdef VARIANT_abi2
    .abi_version = BB_MODULE_ABI_VERSION + 1,
#else
    .abi_version = BB_MODULE_ABI_VERSION,
#endif
    .kernel_size = sizeof(bb_kernel),
    .description = "a module for the loader's tests",
    .count = 1,
    .kernels = kernels,
};

#ifdef VARIANT_nosym
BB_MODULE_EXPORT const bb_module_info *bitbench_module_v0(void);
const bb_module_info *bitbench_module_v0(void) { return &info; }
#else
const bb_module_info *bitbench_module(void) { return &info; }
#endif
