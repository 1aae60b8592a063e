/*
 * kernels/x86/step_ops_avx2.c - "step-avx2": the decoder step's non-weight operations
 * (kernels/step_ops.h) with AVX2 + FMA + F16C, 8 floats per vector.
 *
 * Attention reads the fp16 cache with vcvtph2ps (exact widening).  Scores take 8 cache
 * positions at a time: 8 independent FMA chains share each q load and hide the FMA
 * latency, and one hadd tree reduces them.  The V accumulation keeps 64 output floats
 * (8 accumulators) in registers over all positions, so each cache row is read once per
 * 64-float slice.  exp is our own vector routine (exp8 below) for the softmax and SiLU.
 * Tails (sizes not a multiple of 8) use masked loads/stores for fp32 and scalar F16C
 * conversions for fp16, which AVX2 cannot mask.
 *
 * Accuracy: other summation orders than the reference, FMA, and exp8's error (1.3 u
 * measured, 4 u allowed, u = 2^-24); tests/test_step_ops.c holds every operation to a bound
 * derived from those.  to_fp16 is vcvtps2ph with round-to-nearest-even: bit-exact with
 * bb_fp32_to_fp16, NaN payloads included.
 */
#include "../kernel.h"
#include "../step_ops.h"

#include <immintrin.h>
#include <math.h>

/* ------------------------------------------------------------------ helpers */

/* Lanes [0, n) set, n <= 8: the mask for a tail of n floats. */
static __m256i tail_mask(size_t n)
{
    static const int32_t ones_then_zeros[16] = {-1, -1, -1, -1, -1, -1, -1, -1};
    return _mm256_loadu_si256((const __m256i *)(ones_then_zeros + 8 - n));
}

static float hsum8(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* Lane j of the result = the sum of the 8 lanes of a_j. */
static __m128 hsum8_x4(__m256 a0, __m256 a1, __m256 a2, __m256 a3)
{
    __m256 h = _mm256_hadd_ps(_mm256_hadd_ps(a0, a1), _mm256_hadd_ps(a2, a3));
    return _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
}

static __m256 load_half8(const uint16_t *p)
{
    return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p));
}

/* exp(x), 8 lanes.  x = n ln2 + r with |r| <= ln2/2 (ln2 split so that n * LN2_HI is
 * exact), exp(r) by its degree-7 Taylor polynomial (truncation < 0.1 ulp at |r| = ln2/2)
 * in Horner form, then times 2^n built in the exponent field.  2^n is applied as two
 * factors 2^(n/2) 2^(n - n/2), each a normal float, so results round correctly into the
 * subnormals and overflow to inf; x is clamped to [-104, 89], outside which exp rounds to
 * 0 or inf anyway.  NaN stays NaN (the clamps keep the NaN operand).  Max relative error
 * 1.3 u (u = 2^-24) against double exp, measured on every 38th float of [-87.3, 88.7]
 * (58.9 M values); tests/test_step_ops.c allows 4 u. */
static __m256 exp8(__m256 x)
{
    const float LN2_HI = 0.693359375f, LN2_LO = -2.12194440e-4f;
    x = _mm256_max_ps(_mm256_set1_ps(-104.0f), _mm256_min_ps(_mm256_set1_ps(89.0f), x));
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504f)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(LN2_HI), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(LN2_LO), r);
    __m256 p = _mm256_set1_ps(1.0f / 5040);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 720));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    __m256i ni = _mm256_cvtps_epi32(n);
    __m256i half = _mm256_srai_epi32(ni, 1), rest = _mm256_sub_epi32(ni, half);
    __m256i bias = _mm256_set1_epi32(127);
    __m256 s1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(half, bias), 23));
    __m256 s2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(rest, bias), 23));
    return _mm256_mul_ps(_mm256_mul_ps(p, s1), s2);
}

/* ------------------------------------------------------------------ RMSNorm, RoPE */

static void rmsnorm_avx2(const float *x, const float *g, size_t d, float eps, float *out)
{
    __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(),
                     _mm256_setzero_ps()};
    size_t i = 0;
    for (; i + 32 <= d; i += 32)
        #pragma GCC unroll 4
        for (int j = 0; j < 4; j++) {
            __m256 v = _mm256_loadu_ps(x + i + 8 * j);
            acc[j] = _mm256_fmadd_ps(v, v, acc[j]);
        }
    for (; i + 8 <= d; i += 8) {
        __m256 v = _mm256_loadu_ps(x + i);
        acc[0] = _mm256_fmadd_ps(v, v, acc[0]);
    }
    if (i < d) {
        __m256 v = _mm256_maskload_ps(x + i, tail_mask(d - i));
        acc[1] = _mm256_fmadd_ps(v, v, acc[1]);
    }
    float sum_sq = hsum8(_mm256_add_ps(_mm256_add_ps(acc[0], acc[1]),
                                       _mm256_add_ps(acc[2], acc[3])));
    __m256 inv_rms = _mm256_set1_ps(1.0f / sqrtf(sum_sq / (float)d + eps));
    for (i = 0; i + 8 <= d; i += 8) {
        __m256 y = _mm256_mul_ps(_mm256_loadu_ps(x + i), inv_rms);
        _mm256_storeu_ps(out + i, g ? _mm256_mul_ps(y, _mm256_loadu_ps(g + i)) : y);
    }
    if (i < d) {
        __m256i m = tail_mask(d - i);
        __m256 y = _mm256_mul_ps(_mm256_maskload_ps(x + i, m), inv_rms);
        _mm256_maskstore_ps(out + i, m, g ? _mm256_mul_ps(y, _mm256_maskload_ps(g + i, m)) : y);
    }
}

/* Pairs (x0, x1) by (c, s): even lanes x0 c - x1 s, odd lanes x1 c + x0 s, which is
 * fmaddsub(x, c, swapped(x) * s) with c and s duplicated from the {cos, sin} pairs. */
static __m256 rotate_pairs(__m256 x, __m256 cs)
{
    __m256 c = _mm256_moveldup_ps(cs), s = _mm256_movehdup_ps(cs);
    __m256 swapped = _mm256_permute_ps(x, 0xb1);
    return _mm256_fmaddsub_ps(x, c, _mm256_mul_ps(swapped, s));
}

static void rope_avx2(float *v, size_t n_heads, size_t head_dim, const float *cos_sin)
{
    for (size_t h = 0; h < n_heads; h++) {
        float *head = v + h * head_dim;
        size_t i = 0;
        for (; i + 8 <= head_dim; i += 8)
            _mm256_storeu_ps(head + i, rotate_pairs(_mm256_loadu_ps(head + i),
                                                    _mm256_loadu_ps(cos_sin + i)));
        if (i < head_dim) {
            __m256i m = tail_mask(head_dim - i);
            _mm256_maskstore_ps(head + i, m, rotate_pairs(_mm256_maskload_ps(head + i, m),
                                                          _mm256_maskload_ps(cos_sin + i, m)));
        }
    }
}

/* ------------------------------------------------------------------ attention */

/* q . k over [from, d), d - from < 8: the part the 8-wide loop leaves. */
static float dot_tail(const float *q, const uint16_t *k, size_t from, size_t d)
{
    float s = 0.0f;
    for (size_t i = from; i < d; i++)
        s += q[i] * _cvtsh_ss(k[i]);
    return s;
}

/* Four positions' scores from 4 accumulators: reduce, add the ragged tails, scale. */
static __m128 finish_4_scores(__m256 a0, __m256 a1, __m256 a2, __m256 a3, const float *q,
                              const uint16_t *k0, size_t stride, size_t d8, size_t d,
                              __m128 scale)
{
    __m128 dots = hsum8_x4(a0, a1, a2, a3);
    if (d8 < d)
        dots = _mm_add_ps(dots, _mm_setr_ps(dot_tail(q, k0, d8, d),
                                            dot_tail(q, k0 + stride, d8, d),
                                            dot_tail(q, k0 + 2 * stride, d8, d),
                                            dot_tail(q, k0 + 3 * stride, d8, d)));
    return _mm_mul_ps(dots, scale);
}

/* scores[p] = scale * q . k_p for p < ctx, 8 positions per pass over q. */
static void attn_scores_avx2(const float *q, const uint16_t *k, size_t stride, size_t d,
                             size_t ctx, float scale, float *scores)
{
    size_t d8 = d & ~(size_t)7, p = 0;
    __m128 vscale = _mm_set1_ps(scale);
    for (; p + 8 <= ctx; p += 8) {
        const uint16_t *kp = k + p * stride;
        __m256 acc[8];
        #pragma GCC unroll 8
        for (int j = 0; j < 8; j++)
            acc[j] = _mm256_setzero_ps();
        for (size_t i = 0; i < d8; i += 8) {
            __m256 qv = _mm256_loadu_ps(q + i);
            #pragma GCC unroll 8
            for (int j = 0; j < 8; j++)
                acc[j] = _mm256_fmadd_ps(qv, load_half8(kp + j * stride + i), acc[j]);
        }
        _mm_storeu_ps(scores + p, finish_4_scores(acc[0], acc[1], acc[2], acc[3], q, kp, stride,
                                                  d8, d, vscale));
        _mm_storeu_ps(scores + p + 4, finish_4_scores(acc[4], acc[5], acc[6], acc[7], q,
                                                      kp + 4 * stride, stride, d8, d, vscale));
    }
    for (; p < ctx; p++) {
        const uint16_t *kp = k + p * stride;
        __m256 acc = _mm256_setzero_ps();
        for (size_t i = 0; i < d8; i += 8)
            acc = _mm256_fmadd_ps(_mm256_loadu_ps(q + i), load_half8(kp + i), acc);
        scores[p] = (hsum8(acc) + dot_tail(q, kp, d8, d)) * scale;
    }
}

/* Scores become exp(score - max) in place (the max keeps every exponent <= 0); returns
 * their sum.  The scratch's 64 spare floats take -inf padding up to a multiple of 8,
 * whose exp is 0, so the loops need no tail. */
static float softmax_avx2(float *s, size_t ctx)
{
    size_t padded = (ctx + 7) & ~(size_t)7;
    for (size_t p = ctx; p < padded; p++)
        s[p] = -INFINITY;
    __m256 vmax = _mm256_set1_ps(-INFINITY);
    for (size_t p = 0; p < padded; p += 8)
        vmax = _mm256_max_ps(vmax, _mm256_loadu_ps(s + p));
    __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(vmax), _mm256_extractf128_ps(vmax, 1));
    m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
    m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
    __m256 bcast_max = _mm256_set1_ps(_mm_cvtss_f32(m4));
    __m256 sum = _mm256_setzero_ps();
    for (size_t p = 0; p < padded; p += 8) {
        __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(s + p), bcast_max));
        _mm256_storeu_ps(s + p, e);
        sum = _mm256_add_ps(sum, e);
    }
    return hsum8(sum);
}

/* out[0, 64) = inv_sum * sum_p w[p] v_p[0, 64): 8 accumulators over every position. */
static void attn_values_64(const float *w, const uint16_t *v, size_t stride, size_t ctx,
                           float inv_sum, float *out)
{
    __m256 acc[8];
    #pragma GCC unroll 8
    for (int j = 0; j < 8; j++)
        acc[j] = _mm256_setzero_ps();
    for (size_t p = 0; p < ctx; p++) {
        __m256 wp = _mm256_broadcast_ss(w + p);
        const uint16_t *vp = v + p * stride;
        #pragma GCC unroll 8
        for (int j = 0; j < 8; j++)
            acc[j] = _mm256_fmadd_ps(wp, load_half8(vp + 8 * j), acc[j]);
    }
    #pragma GCC unroll 8
    for (int j = 0; j < 8; j++)
        _mm256_storeu_ps(out + 8 * j, _mm256_mul_ps(acc[j], _mm256_set1_ps(inv_sum)));
}

/* The same for 8 output floats. */
static void attn_values_8(const float *w, const uint16_t *v, size_t stride, size_t ctx,
                          float inv_sum, float *out)
{
    __m256 acc = _mm256_setzero_ps();
    for (size_t p = 0; p < ctx; p++)
        acc = _mm256_fmadd_ps(_mm256_broadcast_ss(w + p), load_half8(v + p * stride), acc);
    _mm256_storeu_ps(out, _mm256_mul_ps(acc, _mm256_set1_ps(inv_sum)));
}

/* The same for the last < 8 output floats, scalar (AVX2 has no masked fp16 load). */
static void attn_values_tail(const float *w, const uint16_t *v, size_t stride, size_t ctx,
                             float inv_sum, size_t n, float *out)
{
    for (size_t i = 0; i < n; i++) {
        float acc = 0.0f;
        for (size_t p = 0; p < ctx; p++)
            acc += w[p] * _cvtsh_ss(v[p * stride + i]);
        out[i] = acc * inv_sum;
    }
}

static void attn_values_avx2(const float *w, float sum, const uint16_t *v, size_t stride,
                             size_t d, size_t ctx, float *out)
{
    float inv_sum = 1.0f / sum;
    size_t i = 0;
    for (; i + 64 <= d; i += 64)
        attn_values_64(w, v + i, stride, ctx, inv_sum, out + i);
    for (; i + 8 <= d; i += 8)
        attn_values_8(w, v + i, stride, ctx, inv_sum, out + i);
    if (i < d)
        attn_values_tail(w, v + i, stride, ctx, inv_sum, d - i, out + i);
}

static void attention_avx2(const bb_attn_args *a, size_t h0, size_t h1)
{
    size_t group = a->n_heads / a->n_kv_heads, d = a->head_dim;
    size_t stride = a->n_kv_heads * d;
    float scale = 1.0f / sqrtf((float)d);
    for (size_t t = 0; t < a->n_tok; t++) {
        size_t ctx = a->pos0 + t + 1; /* causal: positions after pos0 + t stay unread */
        for (size_t h = h0; h < h1; h++) {
            size_t kvh = h / group;
            const float *q = a->q + t * a->q_stride + h * d;
            attn_scores_avx2(q, a->k_cache + kvh * d, stride, d, ctx, scale, a->scratch);
            float sum = softmax_avx2(a->scratch, ctx);
            attn_values_avx2(a->scratch, sum, a->v_cache + kvh * d, stride, d, ctx,
                             a->out + t * a->out_stride + h * d);
        }
    }
}

/* ------------------------------------------------------------------ SiLU, add, fp16 */

static __m256 silu_mul8(__m256 g, __m256 u)
{
    __m256 one = _mm256_set1_ps(1.0f);
    __m256 denom = _mm256_add_ps(one, exp8(_mm256_sub_ps(_mm256_setzero_ps(), g)));
    return _mm256_mul_ps(_mm256_div_ps(g, denom), u);
}

static void silu_mul_avx2(const float *gate, const float *up, size_t n, float *out)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(out + i, silu_mul8(_mm256_loadu_ps(gate + i), _mm256_loadu_ps(up + i)));
    if (i < n) {
        __m256i m = tail_mask(n - i);
        _mm256_maskstore_ps(out + i, m, silu_mul8(_mm256_maskload_ps(gate + i, m),
                                                  _mm256_maskload_ps(up + i, m)));
    }
}

static void add_avx2(float *y, const float *x, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, _mm256_add_ps(_mm256_loadu_ps(y + i), _mm256_loadu_ps(x + i)));
    if (i < n) {
        __m256i m = tail_mask(n - i);
        _mm256_maskstore_ps(y + i, m, _mm256_add_ps(_mm256_maskload_ps(y + i, m),
                                                    _mm256_maskload_ps(x + i, m)));
    }
}

static void to_fp16_avx2(const float *src, size_t n, uint16_t *dst)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128((__m128i *)(dst + i),
                         _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT));
    for (; i < n; i++)
        dst[i] = _cvtss_sh(src[i], _MM_FROUND_TO_NEAREST_INT);
}

const bb_step_ops bb_step_ops_avx2 = {
    .name = "step-avx2",
    .isa = BB_ISA_AVX2,
    .needs = BB_CPU_AVX2 | BB_CPU_FMA | BB_CPU_F16C,
    .priority = 10,
    .rmsnorm = rmsnorm_avx2,
    .rope = rope_avx2,
    .attention = attention_avx2,
    .silu_mul = silu_mul_avx2,
    .add = add_avx2,
    .to_fp16 = to_fp16_avx2,
};
