/*
 * kernels/x86/int8_offset.h - the offset layout of the int8 VNNI kernels (int8_avx512.c,
 * int8_avxvnni.c): vpdpbusd multiplies unsigned bytes by signed bytes, so the weights are
 * made unsigned once, at repack time:
 *
 *   layout (same size and row layout as the canonical one): byte = (uint8_t)q_w ^ 0x80,
 *   i.e. q_w + 128 in 1 .. 255 (padding: 128).
 *
 *   sum_i (q_w + 128) q_x = sum_i q_w q_x + 128 sum_i q_x,  and sum_i q_x is the token's
 *   bb_act_q8.sum (over the k real values; the padding activations are 0, so the padding
 *   weights 128 add nothing).  So acc = vpdpbusd sums - 128 * sum[t], exactly.
 *
 * Exactness: the true result |sum q_w q_x| <= 127 * 127 * k fits in int32 for k <=
 * INT8_MAX_K = 133144 (the reference's own limit; refused beyond it).  The biased sums
 * may exceed int32 for k > 66306, but vpdpbusd (not the saturating vpdpbusds), vpaddd and
 * the correction below all wrap modulo 2^32, so the final int32 is exact whenever the true
 * result fits.  tests/test_dense_simd.c runs k = 70000 with extreme weights to show it.
 *
 * Header-only: each kernel file compiles these with its own flags.
 */
#ifndef BITBENCH_X86_INT8_OFFSET_H
#define BITBENCH_X86_INT8_OFFSET_H

#include "../kernel.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>

#define INT8_MAX_K BB_INT8_MAX_K

static inline size_t int8_offset_layout_bytes(const bb_weights *w) { return w->m * w->row_bytes; }

static inline void int8_offset_repack(const bb_weights *w, void *layout)
{
    uint8_t *out = layout;
    for (size_t i = 0; i < w->m * w->row_bytes; i++)
        out[i] = w->data[i] ^ 0x80u;
}

/* 128 * act_sum modulo 2^32: the bias the unsigned weights add. */
static inline uint32_t int8_offset_bias(int32_t act_sum) { return (uint32_t)act_sum << 7; }

/* The exact dot product from a biased lane sum (both modulo 2^32). */
static inline int32_t int8_offset_unbias(int32_t biased, int32_t act_sum)
{
    return (int32_t)((uint32_t)biased - int8_offset_bias(act_sum));
}

/* Y of (row, token) from the biased lane sum: unbias, then bb_rescale_i32. */
static inline void int8_offset_store(const bb_gemm_args *a, const bb_act_q8 *act, size_t row,
                                     size_t token, int32_t biased)
{
    int32_t exact = int8_offset_unbias(biased, act->sum[token]);
    a->y[token * a->y_stride + row] =
        bb_rescale_i32(exact, a->w->scales[row], act->scale[token]);
}

/* Kernels refuse k beyond the reference's int32 limit, as the reference does. */
static inline void int8_check_k(const char *kernel, size_t k)
{
    (void)kernel;
    assert(k <= INT8_MAX_K); /* internal misuse: bb_shape_check refuses such shapes first */
}

#endif
