/*
 * kernels/ref/act_q8.c - the reference int8 absmax activation quantizer (BitNet b1.58's
 * per-token activation quantization, Q_b = 127), shared by every q8 reference kernel
 * (int8, pot4/5/6, tern2, tern1.6) as their act_bytes / prepare_act.
 *
 * Per token t, over the k real values (the contract in kernel.h, which every SIMD
 * quantizer must reproduce bit for bit):
 *   eta = max_i |x_i|            running maximum with fabsf
 *   inv = 127.0f / eta           one float division (0 when eta == 0, see below)
 *   q_i = clip((int)rintf(x_i * inv), -127, 127)
 *                                one float multiply, rintf in the default rounding
 *                                mode (round half to even), then an integer clip
 *   scale = eta / 127.0f, sum = sum_i q_i, q_i = 0 for k <= i < k_stride.
 *
 * eta == 0 (an all-zero token): the same loop runs with inv = 0, so every q is 0, the
 * scale is 0/127 = 0 and the sum 0.  The path performs exactly the operations of the
 * general one (the division is 0/1 instead of 127/eta), which keeps the op count a
 * function of (k, n) alone.
 *
 * Non-finite x is outside the contract (the harness only generates finite data): an inf
 * or NaN reaches (int)rintf(NaN or inf), whose value C leaves undefined.  For finite x
 * the product x_i * inv is at most 127 * (1 + 2^-23) in magnitude, so the conversion is
 * always in range and the clip only guards the contract.
 */
#include "ref.h"

#include <math.h>
#include <string.h>

static float token_absmax(const float *x, size_t k)
{
    float eta = 0.0f;
    for (size_t i = 0; i < k; i++) {
        float ax = fabsf(x[i]); /* a sign-bit clear: not counted */
        BB_COUNT(fp32_cmp, 1);
        if (ax > eta)
            eta = ax;
    }
    return eta;
}

static int clip_q8(int v)
{
    BB_COUNT(int_cmp, 2);
    if (v > 127)
        v = 127;
    if (v < -127)
        v = -127;
    return v;
}

static void quantize_token(const float *x, size_t k, size_t k_stride, int8_t *q, float *scale,
                           int32_t *sum)
{
    float eta = token_absmax(x, k);
    /* One division on both paths: 127/eta, or 0/1 for an all-zero token.  The eta > 0
     * test is control flow (like the loop tests), not an arithmetic op of the model. */
    float numerator = eta > 0.0f ? 127.0f : 0.0f;
    float divisor = eta > 0.0f ? eta : 1.0f;
    float inv = numerator / divisor;
    BB_COUNT(fp32_div, 1);

    int32_t s = 0;
    for (size_t i = 0; i < k; i++) {
        float p = x[i] * inv;
        BB_COUNT(fp32_mul, 1);
        int v = (int)rintf(p);
        BB_COUNT(cvt, 1);
        v = clip_q8(v);
        q[i] = (int8_t)v;
        s += v;
        BB_COUNT(int_add, 1);
    }
    memset(q + k, 0, k_stride - k);

    *scale = eta / 127.0f;
    BB_COUNT(fp32_div, 1);
    *sum = s;
}

void bb_act_q8_quantize_ref(const float *x, size_t x_stride, bb_act_q8 *a, size_t t0, size_t t1)
{
    for (size_t t = t0; t < t1; t++)
        quantize_token(x + t * x_stride, a->k, a->k_stride, a->q + t * a->k_stride, &a->scale[t],
                       &a->sum[t]);
}

size_t bb_act_q8_ref_bytes(size_t k, size_t n) { return bb_act_q8_bytes(k, n); }

void bb_act_q8_ref_prepare(const bb_gemm_args *a, size_t t0, size_t t1)
{
    bb_act_q8 view = bb_act_q8_view(a->act, a->w->k, a->n);
    bb_act_q8_quantize_ref(a->x, a->x_stride, &view, t0, t1);
}

/* Fills *out (every field) with the operations of quantizing n tokens of k values; a
 * format's op-count model starts from this and adds its own dot product and rescale. */
void bb_act_q8_opcount(size_t k, size_t n, bb_opcount *out)
{
    uint64_t values = (uint64_t)k * n;
    memset(out, 0, sizeof *out);
    out->fp32_cmp = values;      /* running absmax */
    out->fp32_div = 2ull * n;    /* inv and scale */
    out->fp32_mul = values;      /* x * inv */
    out->cvt = values;           /* rintf to int */
    out->int_cmp = 2ull * values; /* clip to [-127, 127] */
    out->int_add = values;       /* the sum */
}
