/*
 * kernels/arm/act_q8_neon.c - int8 absmax activation quantizer, NEON, bit-exact with
 * bb_act_q8_quantize_ref (kernels/ref/act_q8.c, the contract in kernel.h).
 *
 * Per token two passes: the maximum of |x| (FABS + FMAX, four accumulators: a maximum is
 * the same value in any order), then 16 values at a time: FMUL by inv (the reference's one
 * multiply), FCVTNS (round to nearest, ties to even: what rintf does in the default mode),
 * clip in int32, sum, narrow to bytes (XTN: the values are already in [-127, 127]).  The
 * ragged end is copied into a zeroed 16-float block and quantized like any other block, so
 * its zero lanes give q = 0.  inv is 127 / eta, or 0 / 1 for an all-zero token, as in the
 * reference.  Non-finite x is outside the contract (deterministic, memory-safe, no more).
 */
#include "act_q8_neon.h"

#include <arm_neon.h>
#include <math.h>
#include <string.h>

enum { BLOCK = 16 };

static float token_absmax(const float *x, size_t k)
{
    float32x4_t m0 = vdupq_n_f32(0.0f), m1 = m0, m2 = m0, m3 = m0;
    size_t i = 0;
    for (; i + BLOCK <= k; i += BLOCK) {
        m0 = vmaxq_f32(m0, vabsq_f32(vld1q_f32(x + i)));
        m1 = vmaxq_f32(m1, vabsq_f32(vld1q_f32(x + i + 4)));
        m2 = vmaxq_f32(m2, vabsq_f32(vld1q_f32(x + i + 8)));
        m3 = vmaxq_f32(m3, vabsq_f32(vld1q_f32(x + i + 12)));
    }
    float eta = vmaxvq_f32(vmaxq_f32(vmaxq_f32(m0, m1), vmaxq_f32(m2, m3)));
    for (; i < k; i++) {
        float ax = fabsf(x[i]);
        eta = ax > eta ? ax : eta;
    }
    return eta;
}

static inline int32x4_t codes4(float32x4_t v, float32x4_t inv, int32x4_t *sum)
{
    int32x4_t c = vcvtnq_s32_f32(vmulq_f32(v, inv));
    c = vminq_s32(vmaxq_s32(c, vdupq_n_s32(-127)), vdupq_n_s32(127));
    *sum = vaddq_s32(*sum, c);
    return c;
}

static inline void quantize16(const float *x, float32x4_t inv, int8_t *q, int32x4_t *sum)
{
    int16x8_t lo = vcombine_s16(vmovn_s32(codes4(vld1q_f32(x), inv, sum)),
                                vmovn_s32(codes4(vld1q_f32(x + 4), inv, sum)));
    int16x8_t hi = vcombine_s16(vmovn_s32(codes4(vld1q_f32(x + 8), inv, sum)),
                                vmovn_s32(codes4(vld1q_f32(x + 12), inv, sum)));
    vst1q_s8(q, vcombine_s8(vmovn_s16(lo), vmovn_s16(hi)));
}

static void quantize_token(const float *x, size_t k, size_t k_stride, int8_t *q, float *scale,
                           int32_t *sum)
{
    float eta = token_absmax(x, k);
    float numerator = eta > 0.0f ? 127.0f : 0.0f;
    float divisor = eta > 0.0f ? eta : 1.0f;
    float32x4_t inv = vdupq_n_f32(numerator / divisor);
    int32x4_t s = vdupq_n_s32(0);
    size_t i = 0;
    for (; i + BLOCK <= k; i += BLOCK)
        quantize16(x + i, inv, q + i, &s);
    if (i < k) {
        float tail[BLOCK] = {0};
        int8_t qt[BLOCK];
        memcpy(tail, x + i, (k - i) * sizeof(float));
        quantize16(tail, inv, qt, &s);
        memcpy(q + i, qt, k - i);
    }
    memset(q + k, 0, k_stride - k);
    *scale = eta / 127.0f;
    *sum = vaddvq_s32(s);
}

void bb_act_q8_quantize_neon(const float *x, size_t x_stride, bb_act_q8 *a, size_t t0, size_t t1)
{
    for (size_t t = t0; t < t1; t++)
        quantize_token(x + t * x_stride, a->k, a->k_stride, a->q + t * a->k_stride, &a->scale[t],
                       &a->sum[t]);
}

void bb_act_q8_prepare_neon(const bb_gemm_args *a, size_t t0, size_t t1)
{
    bb_act_q8 view = bb_act_q8_view(a->act, a->w->k, a->n);
    bb_act_q8_quantize_neon(a->x, a->x_stride, &view, t0, t1);
}
