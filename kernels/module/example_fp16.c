/*
 * kernels/module/example_fp16.c - an example kernel module (README "Writing a kernel
 * module"): one plain-C fp16 kernel with four partial sums, built to
 * build/examples/fp16-example.so and checked and timed by `make check` through
 * `bitbench gemm --plugin`.  It needs nothing from bitbench but kernels/module.h:
 * a module brings its own code and the host brings data, threads and the check.
 */
#include "../module.h"

#include <string.h>

/* binary16 -> binary32, exact for every finite half and for infinities (the check never
 * feeds NaN weights; a real kernel would keep NaN payloads too). */
static float half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, exp = (h >> 10) & 0x1fu, man = h & 0x3ffu, bits;
    if (exp == 0x1f)
        bits = sign | 0x7f800000u | (man << 13);
    else if (exp != 0)
        bits = sign | ((exp + 112u) << 23) | (man << 13);
    else if (man == 0)
        bits = sign;
    else { /* subnormal half: normalize */
        exp = 113;
        while (!(man & 0x400u)) {
            man <<= 1;
            exp--;
        }
        bits = sign | (exp << 23) | ((man & 0x3ffu) << 13);
    }
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

/* Rows [r0, r1) for every token: W row-major (k_padded halves per row), x token-major. */
static void fp16_example_c4_gemm_rows(const bb_gemm_args *a, size_t r0, size_t r1)
{
    const bb_weights *w = a->w;
    for (size_t r = r0; r < r1; r++) {
        const uint16_t *wh = (const uint16_t *)((const uint8_t *)a->layout + r * w->row_bytes);
        for (size_t t = 0; t < a->n; t++) {
            const float *x = a->x + t * a->x_stride;
            float s[4] = {0, 0, 0, 0};
            size_t i = 0;
            for (; i + 4 <= w->k; i += 4) /* four sums: another order than the reference's */
                for (int j = 0; j < 4; j++)
                    s[j] += half_to_float(wh[i + j]) * x[i + j];
            for (; i < w->k; i++)
                s[0] += half_to_float(wh[i]) * x[i];
            a->y[t * a->y_stride + r] = (s[0] + s[1]) + (s[2] + s[3]);
        }
    }
}

static const bb_kernel fp16_example_c4 = {
    .name = "fp16-example-c4", /* "<format>-<isa or origin>-<method>" like the built-ins */
    .format = BB_FMT_FP16,
    .method = "c4",
    .isa = BB_ISA_SCALAR,
    .needs = 0,     /* BB_CPU_* bits it needs; the host skips it on CPUs without them */
    .priority = -1, /* below the built-ins: --kernel fp16 keeps picking bitbench's best */
    .row_block = 1,
    .gemm_rows = fp16_example_c4_gemm_rows,
};

static const bb_kernel *const kernels[] = {&fp16_example_c4};

const bb_module_info *bitbench_module(void)
{
    static const bb_module_info info = {
        .abi_version = BB_MODULE_ABI_VERSION,
        .kernel_size = sizeof(bb_kernel),
        .description = "example: plain-C fp16 with four partial sums",
        .count = sizeof kernels / sizeof kernels[0],
        .kernels = kernels,
    };
    return &info;
}
