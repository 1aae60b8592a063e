/*
 * kernels/x86/act_q8_simd.h - the vectorized int8 absmax activation quantizers, for every
 * SIMD kernel that consumes BB_ACT_Q8 activations.
 *
 * Each one reproduces bb_act_q8_quantize_ref (kernels/ref/act_q8.c) bit for bit: the same
 * eta (a maximum of |x| is the same value in any order), the same float operations
 * (inv = 127.0f / eta, one multiply x * inv, conversion in the current rounding mode -
 * which is what rintf uses too - then the clip to [-127, 127]), scale = eta / 127.0f, the
 * sum of the clipped codes, and zeros from k up to k_stride.  tests/test_dense_simd.c
 * checks this on ragged k, halfway ties, outliers and all-zero tokens.
 *
 * Use in a kernel table:  .act_bytes = bb_act_q8_bytes (the standard blob of kernel.h),
 *                         .prepare_act = bb_act_q8_prepare_avx2 or _avx512,
 * and register .needs with at least the features listed below.
 *
 * Non-finite x is outside the contract (the reference leaves it undefined): here a NaN
 * may or may not be seen by the maximum depending on its lane, and an inf gives inv = 0
 * and inf * 0 = NaN, which converts to INT32_MIN and clips to -127.  The result is
 * deterministic and memory-safe, nothing more.
 */
#ifndef BITBENCH_X86_ACT_Q8_SIMD_H
#define BITBENCH_X86_ACT_Q8_SIMD_H

#include "../kernel.h"

/* AVX2 (needs BB_ACT_Q8_AVX2_NEEDS: the avx2 level, whose flags the file is built with).  Tokens [t0, t1) of x (stride
 * x_stride, only the first a->k values of a token are read) into a. */
void bb_act_q8_quantize_avx2(const float *x, size_t x_stride, bb_act_q8 *a, size_t t0, size_t t1);
/* prepare_act for a kernel whose act_bytes is bb_act_q8_bytes. */
void bb_act_q8_prepare_avx2(const bb_gemm_args *a, size_t t0, size_t t1);

/* AVX-512 (needs BB_ACT_Q8_AVX512_NEEDS: the avx512 level - F and BW in the source, and
 * whatever else of the level's flags the compiler may use, VNNI and VBMI included). */
void bb_act_q8_quantize_avx512(const float *x, size_t x_stride, bb_act_q8 *a, size_t t0,
                               size_t t1);
void bb_act_q8_prepare_avx512(const bb_gemm_args *a, size_t t0, size_t t1);

#define BB_ACT_Q8_AVX2_NEEDS BB_ISA_MASK_AVX2
#define BB_ACT_Q8_AVX512_NEEDS BB_ISA_MASK_AVX512

/* For the quantizer files: the reference's inv exactly, 127 / eta, or 0 / 1 for an
 * all-zero token (so every q is 0 and the scale eta / 127 is 0). */
static inline float bb_act_q8_inv(float eta)
{
    float numerator = eta > 0.0f ? 127.0f : 0.0f;
    float divisor = eta > 0.0f ? eta : 1.0f;
    return numerator / divisor;
}

/* For the quantizer files: bb_act_q8_quantize_<isa> and bb_act_q8_prepare_<isa> from the
 * file's quantize_token(x, k, k_stride, q, scale, sum). */
#define BB_ACT_Q8_ENTRY_POINTS(isa, quantize_token)                                        \
    void bb_act_q8_quantize_##isa(const float *x, size_t x_stride, bb_act_q8 *a, size_t t0, \
                                  size_t t1)                                               \
    {                                                                                      \
        for (size_t t = t0; t < t1; t++)                                                   \
            quantize_token(x + t * x_stride, a->k, a->k_stride, a->q + t * a->k_stride,    \
                           &a->scale[t], &a->sum[t]);                                      \
    }                                                                                      \
    void bb_act_q8_prepare_##isa(const bb_gemm_args *a, size_t t0, size_t t1)             \
    {                                                                                      \
        bb_act_q8 view = bb_act_q8_view(a->act, a->w->k, a->n);                            \
        bb_act_q8_quantize_##isa(a->x, a->x_stride, &view, t0, t1);                        \
    }

#endif
