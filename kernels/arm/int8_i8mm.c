/*
 * kernels/arm/int8_i8mm.c - int8 W8A8 prefill with SMMLA (Armv8.6 i8mm: Neoverse V1/V2/N2,
 * Cortex-A710+, Apple M2+), bit-exact with int8-scalar-ref.
 *
 * SMMLA multiplies a 2 x 8 int8 matrix by the transpose of another 2 x 8 one and adds the
 * 2 x 2 int32 result: with 8 weights of rows r, r + 1 as the first operand and 8
 * activations of tokens t, t + 1 as the second, one instruction does the 32 multiply-adds
 * of a 2 x 2 (row, token) tile - twice SDOT's 16 per instruction, and every loaded weight
 * serves two tokens from registers.  The operands come from plain 16-byte loads of each row
 * and token and TRN1/TRN2 on 64-bit lanes (no repacked layout), so the kernel reads the
 * canonical int8 rows.  Tiles of 2 rows x 2 tokens; an odd last row or token (and decode,
 * n = 1) goes through the SDOT dot of int8_dotprod.c.  Any r0: the tiles start at r0.
 * The int32 bound is the reference's (every partial sum obeys it, kernels/ref/int8.c).
 */
#include "arm.h"

#include "act_q8_neon.h"
#include "int8_dot.h"
#include "q8_rows.h"

#include <arm_neon.h>

/* acc [r0t0, r0t1, r1t0, r1t1] of rows w0, w1 and tokens x0, x1 over kp (multiple of 64). */
void bb_int8_smmla_tile(const int8_t *w0, const int8_t *w1, const int8_t *x0, const int8_t *x1,
                        size_t kp, int32_t out[4]);
void bb_int8_smmla_tile(const int8_t *w0, const int8_t *w1, const int8_t *x0, const int8_t *x1,
                        size_t kp, int32_t out[4])
{
    int32x4_t a0 = vdupq_n_s32(0), a1 = a0, a2 = a0, a3 = a0;
    for (size_t i = 0; i < kp; i += 32) {
        int64x2_t wa = vreinterpretq_s64_s8(vld1q_s8(w0 + i));
        int64x2_t wb = vreinterpretq_s64_s8(vld1q_s8(w1 + i));
        int64x2_t xa = vreinterpretq_s64_s8(vld1q_s8(x0 + i));
        int64x2_t xb = vreinterpretq_s64_s8(vld1q_s8(x1 + i));
        int64x2_t wc = vreinterpretq_s64_s8(vld1q_s8(w0 + i + 16));
        int64x2_t wd = vreinterpretq_s64_s8(vld1q_s8(w1 + i + 16));
        int64x2_t xc = vreinterpretq_s64_s8(vld1q_s8(x0 + i + 16));
        int64x2_t xd = vreinterpretq_s64_s8(vld1q_s8(x1 + i + 16));
        a0 = vmmlaq_s32(a0, vreinterpretq_s8_s64(vtrn1q_s64(wa, wb)),
                        vreinterpretq_s8_s64(vtrn1q_s64(xa, xb)));
        a1 = vmmlaq_s32(a1, vreinterpretq_s8_s64(vtrn2q_s64(wa, wb)),
                        vreinterpretq_s8_s64(vtrn2q_s64(xa, xb)));
        a2 = vmmlaq_s32(a2, vreinterpretq_s8_s64(vtrn1q_s64(wc, wd)),
                        vreinterpretq_s8_s64(vtrn1q_s64(xc, xd)));
        a3 = vmmlaq_s32(a3, vreinterpretq_s8_s64(vtrn2q_s64(wc, wd)),
                        vreinterpretq_s8_s64(vtrn2q_s64(xc, xd)));
    }
    vst1q_s32(out, vaddq_s32(vaddq_s32(a0, a1), vaddq_s32(a2, a3)));
}

static void gemm_rows(const bb_gemm_args *a, size_t r0, size_t r1)
{
    const bb_weights *w = a->w;
    bb_act_q8 act = bb_act_q8_view(a->act, w->k, a->n);
    size_t kp = w->k_padded;
    q8_check_k("int8-i8mm-smmla", w->k, BB_INT8_MAX_K);
    for (size_t r = r0; r < r1; r += 2) {
        const int8_t *w0 = (const int8_t *)a->layout + r * w->row_bytes;
        size_t t = 0;
        if (r + 1 < r1) {
            const int8_t *w1 = w0 + w->row_bytes;
            float s0 = w->scales[r], s1 = w->scales[r + 1];
            for (; t + 1 < a->n; t += 2) {
                int32_t acc[4];
                bb_int8_smmla_tile(w0, w1, act.q + t * act.k_stride, act.q + (t + 1) * act.k_stride,
                                   kp, acc);
                a->y[t * a->y_stride + r] = bb_rescale_i32(acc[0], s0, act.scale[t]);
                a->y[(t + 1) * a->y_stride + r] = bb_rescale_i32(acc[1], s0, act.scale[t + 1]);
                a->y[t * a->y_stride + r + 1] = bb_rescale_i32(acc[2], s1, act.scale[t]);
                a->y[(t + 1) * a->y_stride + r + 1] = bb_rescale_i32(acc[3], s1, act.scale[t + 1]);
            }
            for (; t < a->n; t++) {
                const int8_t *xq = act.q + t * act.k_stride;
                a->y[t * a->y_stride + r] = bb_rescale_i32(
                    bb_int8_sdot_dot((const uint8_t *)w0, xq, kp), s0, act.scale[t]);
                a->y[t * a->y_stride + r + 1] = bb_rescale_i32(
                    bb_int8_sdot_dot((const uint8_t *)w1, xq, kp), s1, act.scale[t]);
            }
        } else {
            for (; t < a->n; t++)
                a->y[t * a->y_stride + r] = bb_rescale_i32(
                    bb_int8_sdot_dot((const uint8_t *)w0, act.q + t * act.k_stride, kp),
                    w->scales[r], act.scale[t]);
        }
    }
}

const bb_kernel bb_kernel_int8_i8mm_smmla = {
    .name = "int8-i8mm-smmla",
    .format = BB_FMT_INT8,
    .method = "smmla",
    .isa = BB_ISA_I8MM,
    .needs = BB_ISA_MASK_I8MM,
    .priority = 30, /* not measured on ARM hardware yet (see arm.h); n = 1 is the SDOT dot */
    .multiply_free = false,
    .hot_symbol = "bb_int8_smmla_tile",
    .row_block = 2,
    .act_bytes = bb_act_q8_bytes,
    .prepare_act = bb_act_q8_prepare_neon,
    .gemm_rows = gemm_rows,
};
