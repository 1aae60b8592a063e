/*
 * kernels/ref/step_ops.c - "step-scalar-ref": the plain-C reference of the decoder step's
 * non-weight operations (kernels/step_ops.h), built without vectorization like every
 * reference, so it is both the baseline the SIMD entries are timed against and the entry
 * every CPU can run.  Plain fp32 arithmetic in the obvious order, libm's expf; the
 * accuracy bounds it meets are derived in tests/test_step_ops.c.
 */
#include "../kernel.h"
#include "../step_ops.h"

#include <math.h>
#include <string.h>

/* A half's value: normal halves (nearly every cache entry) inline by rebiasing the exponent
 * field (exact), the rest through bb_fp16_to_fp32.  The out-of-line call for every element
 * made the scalar attention ~10x slower than its arithmetic, a baseline that measured
 * function calls rather than scalar code. */
static inline float half_value(uint16_t h)
{
    uint32_t exp_field = h & 0x7c00u;
    if (exp_field == 0 || exp_field == 0x7c00u)
        return bb_fp16_to_fp32(h); /* zero, subnormal, inf, NaN */
    /* sign to bit 31; exponent + mantissa shifted by 13 and rebiased by (127 - 15) << 23 */
    uint32_t bits = ((uint32_t)(h & 0x8000u) << 16) | (((uint32_t)(h & 0x7fffu) << 13) + 0x38000000u);
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

static void rmsnorm_scalar(const float *x, const float *g, size_t d, float eps, float *out)
{
    float sum_sq = 0.0f;
    for (size_t i = 0; i < d; i++)
        sum_sq += x[i] * x[i];
    float inv_rms = 1.0f / sqrtf(sum_sq / (float)d + eps);
    for (size_t i = 0; i < d; i++)
        out[i] = x[i] * inv_rms * (g ? g[i] : 1.0f);
}

static void rope_scalar(float *v, size_t n_heads, size_t head_dim, const float *cos_sin)
{
    for (size_t h = 0; h < n_heads; h++) {
        float *head = v + h * head_dim;
        for (size_t i = 0; i + 1 < head_dim; i += 2) {
            float c = cos_sin[i], s = cos_sin[i + 1];
            float x0 = head[i], x1 = head[i + 1];
            head[i] = x0 * c - x1 * s;
            head[i + 1] = x0 * s + x1 * c;
        }
    }
}

/* Scores of one query head against cache positions [0, ctx): scores[p] = scale * q.k_p. */
static void attn_scores(const float *q, const uint16_t *k, size_t pos_stride, size_t head_dim,
                        size_t ctx, float scale, float *scores)
{
    for (size_t p = 0; p < ctx; p++) {
        const uint16_t *kp = k + p * pos_stride;
        float dot = 0.0f;
        for (size_t i = 0; i < head_dim; i++)
            dot += q[i] * half_value(kp[i]);
        scores[p] = dot * scale;
    }
}

/* Scores become exp(score - max) in place; returns their sum.  Subtracting the max keeps
 * every exponent <= 0, so nothing overflows however large the scores are. */
static float softmax_unnormalized(float *scores, size_t ctx)
{
    float max = scores[0];
    for (size_t p = 1; p < ctx; p++)
        if (scores[p] > max)
            max = scores[p];
    float sum = 0.0f;
    for (size_t p = 0; p < ctx; p++) {
        scores[p] = expf(scores[p] - max);
        sum += scores[p];
    }
    return sum;
}

/* out = sum_p weights[p] * v_p / sum. */
static void attn_weighted_values(const float *weights, float sum, const uint16_t *v,
                                 size_t pos_stride, size_t head_dim, size_t ctx, float *out)
{
    for (size_t i = 0; i < head_dim; i++)
        out[i] = 0.0f;
    for (size_t p = 0; p < ctx; p++) {
        const uint16_t *vp = v + p * pos_stride;
        for (size_t i = 0; i < head_dim; i++)
            out[i] += weights[p] * half_value(vp[i]);
    }
    float inv_sum = 1.0f / sum;
    for (size_t i = 0; i < head_dim; i++)
        out[i] *= inv_sum;
}

static void attention_scalar(const bb_attn_args *a, size_t h0, size_t h1)
{
    size_t group = a->n_heads / a->n_kv_heads, d = a->head_dim;
    size_t pos_stride = a->n_kv_heads * d;
    float scale = 1.0f / sqrtf((float)d);
    for (size_t t = 0; t < a->n_tok; t++) {
        size_t ctx = a->pos0 + t + 1; /* causal: positions after pos0 + t stay unread */
        for (size_t h = h0; h < h1; h++) {
            size_t kvh = h / group;
            const float *q = a->q + t * a->q_stride + h * d;
            float *out = a->out + t * a->out_stride + h * d;
            attn_scores(q, a->k_cache + kvh * d, pos_stride, d, ctx, scale, a->scratch);
            float sum = softmax_unnormalized(a->scratch, ctx);
            attn_weighted_values(a->scratch, sum, a->v_cache + kvh * d, pos_stride, d, ctx, out);
        }
    }
}

static void silu_mul_scalar(const float *gate, const float *up, size_t n, float *out)
{
    for (size_t i = 0; i < n; i++)
        out[i] = gate[i] / (1.0f + expf(-gate[i])) * up[i];
}

static void add_scalar(float *y, const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] += x[i];
}

static void to_fp16_scalar(const float *src, size_t n, uint16_t *dst)
{
    for (size_t i = 0; i < n; i++)
        dst[i] = bb_fp32_to_fp16(src[i]);
}

const bb_step_ops bb_step_ops_scalar_ref = {
    .name = "step-scalar-ref",
    .isa = BB_ISA_SCALAR,
    .needs = 0,
    .priority = 0,
    .rmsnorm = rmsnorm_scalar,
    .rope = rope_scalar,
    .attention = attention_scalar,
    .silu_mul = silu_mul_scalar,
    .add = add_scalar,
    .to_fp16 = to_fp16_scalar,
};
