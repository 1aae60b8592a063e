/*
 * kernels/x86/step_ops_avx512.c - "step-avx512": the decoder step's non-weight operations
 * (kernels/step_ops.h) with AVX-512 F/BW/VL/DQ (+ FMA, F16C), 16 floats per vector.
 *
 * The same plan as step_ops_avx2.c, twice as wide, with two things AVX2 lacks: masked
 * loads of fp16 (vmovdqu16, BW+VL) make every tail - of head_dim as of any length - one
 * more vector step instead of a scalar loop, and vscalefps applies 2^n in exp with correct
 * overflow and underflow in one instruction.  Scores take 8 cache positions at a time (8
 * FMA chains share each q load); the V accumulation keeps up to 128 output floats (8 zmm)
 * in registers over all positions, so a head of 128 reads its V rows once.
 *
 * Measured: one attention call at a 7B-like shape (32 heads = 32 kv heads, head_dim 128,
 * context 512, 1 token: 8 MiB of fp16 K and V), one thread, warm caches, median of 41 under
 * the timing lock on the 2-core Zen 5 VM (load average ~9 from other jobs, so medians are
 * high): step-scalar-ref 12.5 ms (min 4.7 ms), step-avx2 170 us, step-avx512 133 us (63 GB/s
 * of cache read).  With 8 kv heads (GQA 4): avx2 142 us, avx512 111 us.
 *
 * Accuracy: other summation orders than the reference, FMA, and exp16's error (1.3 u
 * measured, 4 u allowed, u = 2^-24); tests/test_step_ops.c holds every operation to a
 * bound derived from those.  to_fp16 is vcvtps2ph with round-to-nearest-even: bit-exact
 * with bb_fp32_to_fp16, NaN payloads included.
 */
#include "../kernel.h"
#include "../step_ops.h"

#include <immintrin.h>
#include <math.h>

/* ------------------------------------------------------------------ helpers */

/* Lanes [0, n) set, n <= 16. */
static __mmask16 tail_mask(size_t n) { return (__mmask16)((1u << n) - 1); }

/* Lane j of the result = the sum of the 8 lanes of a_j. */
static __m128 hsum8_x4(__m256 a0, __m256 a1, __m256 a2, __m256 a3)
{
    __m256 h = _mm256_hadd_ps(_mm256_hadd_ps(a0, a1), _mm256_hadd_ps(a2, a3));
    return _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
}

/* The two 8-lane halves of v added: the first step of every horizontal sum. */
static __m256 fold16(__m512 v)
{
    __m256 hi = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1));
    return _mm256_add_ps(_mm512_castps512_ps256(v), hi);
}

static __m512 load_half16(const uint16_t *p)
{
    return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)p));
}

static __m512 load_half16_masked(const uint16_t *p, __mmask16 m)
{
    return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, p));
}

/* exp(x), 16 lanes: the reduction and polynomial of exp8 in step_ops_avx2.c (x = n ln2 + r,
 * |r| <= ln2/2, degree-7 Taylor polynomial in Horner form), then vscalefps multiplies by 2^n
 * rounding correctly into the subnormals and to inf.  x is clamped to [-104, 89], outside
 * which exp rounds to 0 or inf anyway; NaN stays NaN.  Max relative error 1.3 u
 * (u = 2^-24), measured like exp8; tests/test_step_ops.c allows 4 u. */
static __m512 exp16(__m512 x)
{
    const float LN2_HI = 0.693359375f, LN2_LO = -2.12194440e-4f;
    x = _mm512_max_ps(_mm512_set1_ps(-104.0f), _mm512_min_ps(_mm512_set1_ps(89.0f), x));
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504f)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(LN2_HI), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(LN2_LO), r);
    __m512 p = _mm512_set1_ps(1.0f / 5040);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 720));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    return _mm512_scalef_ps(p, n);
}

/* ------------------------------------------------------------------ RMSNorm, RoPE */

static void rmsnorm_avx512(const float *x, const float *g, size_t d, float eps, float *out)
{
    __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(),
                     _mm512_setzero_ps()};
    size_t i = 0;
    for (; i + 64 <= d; i += 64)
#pragma GCC unroll 4
        for (int j = 0; j < 4; j++) {
            __m512 v = _mm512_loadu_ps(x + i + 16 * j);
            acc[j] = _mm512_fmadd_ps(v, v, acc[j]);
        }
    for (; i + 16 <= d; i += 16) {
        __m512 v = _mm512_loadu_ps(x + i);
        acc[0] = _mm512_fmadd_ps(v, v, acc[0]);
    }
    if (i < d) {
        __m512 v = _mm512_maskz_loadu_ps(tail_mask(d - i), x + i);
        acc[1] = _mm512_fmadd_ps(v, v, acc[1]);
    }
    float sum_sq = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(acc[0], acc[1]),
                                                      _mm512_add_ps(acc[2], acc[3])));
    __m512 inv_rms = _mm512_set1_ps(1.0f / sqrtf(sum_sq / (float)d + eps));
    for (i = 0; i < d; i += 16) {
        __mmask16 m = tail_mask(d - i < 16 ? d - i : 16);
        __m512 y = _mm512_mul_ps(_mm512_maskz_loadu_ps(m, x + i), inv_rms);
        if (g)
            y = _mm512_mul_ps(y, _mm512_maskz_loadu_ps(m, g + i));
        _mm512_mask_storeu_ps(out + i, m, y);
    }
}

/* Pairs (x0, x1) by (c, s): even lanes x0 c - x1 s, odd lanes x1 c + x0 s (see
 * step_ops_avx2.c). */
static __m512 rotate_pairs(__m512 x, __m512 cs)
{
    __m512 c = _mm512_moveldup_ps(cs), s = _mm512_movehdup_ps(cs);
    __m512 swapped = _mm512_permute_ps(x, 0xb1);
    return _mm512_fmaddsub_ps(x, c, _mm512_mul_ps(swapped, s));
}

static void rope_avx512(float *v, size_t n_heads, size_t head_dim, const float *cos_sin)
{
    for (size_t h = 0; h < n_heads; h++) {
        float *head = v + h * head_dim;
        size_t i = 0;
        for (; i + 16 <= head_dim; i += 16)
            _mm512_storeu_ps(head + i, rotate_pairs(_mm512_loadu_ps(head + i),
                                                    _mm512_loadu_ps(cos_sin + i)));
        if (i < head_dim) {
            __mmask16 m = tail_mask(head_dim - i);
            _mm512_mask_storeu_ps(head + i, m,
                                  rotate_pairs(_mm512_maskz_loadu_ps(m, head + i),
                                               _mm512_maskz_loadu_ps(m, cos_sin + i)));
        }
    }
}

/* ------------------------------------------------------------------ attention */

/* scores[p] = scale * q . k_p for p < ctx, 8 positions per pass over q; the head_dim tail
 * is one masked step. */
static void attn_scores_avx512(const float *q, const uint16_t *k, size_t stride, size_t d,
                               size_t ctx, float scale, float *scores)
{
    size_t d16 = d & ~(size_t)15, p = 0;
    __mmask16 tail = tail_mask(d - d16);
    __m128 vscale = _mm_set1_ps(scale);
    for (; p + 8 <= ctx; p += 8) {
        const uint16_t *kp = k + p * stride;
        __m512 acc[8];
#pragma GCC unroll 8
        for (int j = 0; j < 8; j++)
            acc[j] = _mm512_setzero_ps();
        for (size_t i = 0; i < d16; i += 16) {
            __m512 qv = _mm512_loadu_ps(q + i);
#pragma GCC unroll 8
            for (int j = 0; j < 8; j++)
                acc[j] = _mm512_fmadd_ps(qv, load_half16(kp + j * stride + i), acc[j]);
        }
        if (tail) {
            __m512 qv = _mm512_maskz_loadu_ps(tail, q + d16);
#pragma GCC unroll 8
            for (int j = 0; j < 8; j++)
                acc[j] = _mm512_fmadd_ps(qv, load_half16_masked(kp + j * stride + d16, tail),
                                         acc[j]);
        }
        __m128 lo = hsum8_x4(fold16(acc[0]), fold16(acc[1]), fold16(acc[2]), fold16(acc[3]));
        __m128 hi = hsum8_x4(fold16(acc[4]), fold16(acc[5]), fold16(acc[6]), fold16(acc[7]));
        _mm_storeu_ps(scores + p, _mm_mul_ps(lo, vscale));
        _mm_storeu_ps(scores + p + 4, _mm_mul_ps(hi, vscale));
    }
    for (; p < ctx; p++) {
        const uint16_t *kp = k + p * stride;
        __m512 acc = _mm512_setzero_ps();
        for (size_t i = 0; i < d16; i += 16)
            acc = _mm512_fmadd_ps(_mm512_loadu_ps(q + i), load_half16(kp + i), acc);
        if (tail)
            acc = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(tail, q + d16),
                                  load_half16_masked(kp + d16, tail), acc);
        scores[p] = _mm512_reduce_add_ps(acc) * scale;
    }
}

/* Scores become exp(score - max) in place (the max keeps every exponent <= 0); returns
 * their sum.  The scratch's 64 spare floats take -inf padding up to a multiple of 16,
 * whose exp is 0, so the loops need no tail. */
static float softmax_avx512(float *s, size_t ctx)
{
    size_t padded = (ctx + 15) & ~(size_t)15;
    for (size_t p = ctx; p < padded; p++)
        s[p] = -INFINITY;
    __m512 vmax = _mm512_set1_ps(-INFINITY);
    for (size_t p = 0; p < padded; p += 16)
        vmax = _mm512_max_ps(vmax, _mm512_loadu_ps(s + p));
    __m512 bcast_max = _mm512_set1_ps(_mm512_reduce_max_ps(vmax));
    __m512 sum = _mm512_setzero_ps();
    for (size_t p = 0; p < padded; p += 16) {
        __m512 e = exp16(_mm512_sub_ps(_mm512_loadu_ps(s + p), bcast_max));
        _mm512_storeu_ps(s + p, e);
        sum = _mm512_add_ps(sum, e);
    }
    return _mm512_reduce_add_ps(sum);
}

/* out[0, 16 NV) = inv_sum * sum_p w[p] v_p[0, 16 NV): NV accumulators held over every
 * position.  NV is a constant at each call, so the loops unroll into registers. */
static inline __attribute__((always_inline)) void
attn_values_nv(const float *w, const uint16_t *v, size_t stride, size_t ctx, float inv_sum,
               float *out, int nv)
{
    __m512 acc[8];
#pragma GCC unroll 8
    for (int j = 0; j < nv; j++)
        acc[j] = _mm512_setzero_ps();
    for (size_t p = 0; p < ctx; p++) {
        __m512 wp = _mm512_set1_ps(w[p]);
        const uint16_t *vp = v + p * stride;
#pragma GCC unroll 8
        for (int j = 0; j < nv; j++)
            acc[j] = _mm512_fmadd_ps(wp, load_half16(vp + 16 * j), acc[j]);
    }
#pragma GCC unroll 8
    for (int j = 0; j < nv; j++)
        _mm512_storeu_ps(out + 16 * j, _mm512_mul_ps(acc[j], _mm512_set1_ps(inv_sum)));
}

/* The same for the last n < 16 output floats, masked. */
static void attn_values_tail(const float *w, const uint16_t *v, size_t stride, size_t ctx,
                             float inv_sum, size_t n, float *out)
{
    __mmask16 m = tail_mask(n);
    __m512 acc = _mm512_setzero_ps();
    for (size_t p = 0; p < ctx; p++)
        acc = _mm512_fmadd_ps(_mm512_set1_ps(w[p]), load_half16_masked(v + p * stride, m), acc);
    _mm512_mask_storeu_ps(out, m, _mm512_mul_ps(acc, _mm512_set1_ps(inv_sum)));
}

static void attn_values_avx512(const float *w, float sum, const uint16_t *v, size_t stride,
                               size_t d, size_t ctx, float *out)
{
    float inv_sum = 1.0f / sum;
    size_t i = 0;
    for (; i + 128 <= d; i += 128)
        attn_values_nv(w, v + i, stride, ctx, inv_sum, out + i, 8);
    if (i + 64 <= d) {
        attn_values_nv(w, v + i, stride, ctx, inv_sum, out + i, 4);
        i += 64;
    }
    for (; i + 16 <= d; i += 16)
        attn_values_nv(w, v + i, stride, ctx, inv_sum, out + i, 1);
    if (i < d)
        attn_values_tail(w, v + i, stride, ctx, inv_sum, d - i, out + i);
}

static void attention_avx512(const bb_attn_args *a, size_t h0, size_t h1)
{
    size_t group = a->n_heads / a->n_kv_heads, d = a->head_dim;
    size_t stride = a->n_kv_heads * d;
    float scale = 1.0f / sqrtf((float)d);
    for (size_t t = 0; t < a->n_tok; t++) {
        size_t ctx = a->pos0 + t + 1; /* causal: positions after pos0 + t stay unread */
        for (size_t h = h0; h < h1; h++) {
            size_t kvh = h / group;
            const float *q = a->q + t * a->q_stride + h * d;
            attn_scores_avx512(q, a->k_cache + kvh * d, stride, d, ctx, scale, a->scratch);
            float sum = softmax_avx512(a->scratch, ctx);
            attn_values_avx512(a->scratch, sum, a->v_cache + kvh * d, stride, d, ctx,
                               a->out + t * a->out_stride + h * d);
        }
    }
}

/* ------------------------------------------------------------------ SiLU, add, fp16 */

static __m512 silu_mul16(__m512 g, __m512 u)
{
    __m512 denom = _mm512_add_ps(_mm512_set1_ps(1.0f),
                                 exp16(_mm512_sub_ps(_mm512_setzero_ps(), g)));
    return _mm512_mul_ps(_mm512_div_ps(g, denom), u);
}

/* The element-wise operations: whole vectors, then one masked step for the tail (a mask on
 * every step measured slower: to_fp16 of 4096 floats 0.28 us against 0.15 us, median of
 * 101 on a loaded VM, so indicative only). */
static void silu_mul_avx512(const float *gate, const float *up, size_t n, float *out)
{
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm512_storeu_ps(out + i, silu_mul16(_mm512_loadu_ps(gate + i), _mm512_loadu_ps(up + i)));
    if (i < n) {
        __mmask16 m = tail_mask(n - i);
        _mm512_mask_storeu_ps(out + i, m, silu_mul16(_mm512_maskz_loadu_ps(m, gate + i),
                                                     _mm512_maskz_loadu_ps(m, up + i)));
    }
}

static void add_avx512(float *y, const float *x, size_t n)
{
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm512_storeu_ps(y + i, _mm512_add_ps(_mm512_loadu_ps(y + i), _mm512_loadu_ps(x + i)));
    if (i < n) {
        __mmask16 m = tail_mask(n - i);
        _mm512_mask_storeu_ps(y + i, m, _mm512_add_ps(_mm512_maskz_loadu_ps(m, y + i),
                                                      _mm512_maskz_loadu_ps(m, x + i)));
    }
}

static void to_fp16_avx512(const float *src, size_t n, uint16_t *dst)
{
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm256_storeu_si256((__m256i *)(dst + i),
                            _mm512_cvtps_ph(_mm512_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT));
    if (i < n) {
        __mmask16 m = tail_mask(n - i);
        __m256i h = _mm512_cvtps_ph(_mm512_maskz_loadu_ps(m, src + i), _MM_FROUND_TO_NEAREST_INT);
        _mm256_mask_storeu_epi16(dst + i, m, h);
    }
}

const bb_step_ops bb_step_ops_avx512 = {
    .name = "step-avx512",
    .isa = BB_ISA_AVX512,
    /* What the file's flags let the compiler use (VNNI and VBMI it has no use for), as the
     * AVX-512 GEMM kernels declare it. */
    .needs = BB_CPU_AVX2 | BB_CPU_FMA | BB_CPU_F16C | BB_CPU_AVX512F | BB_CPU_AVX512BW |
             BB_CPU_AVX512VL | BB_CPU_AVX512DQ,
    .priority = 20,
    .rmsnorm = rmsnorm_avx512,
    .rope = rope_avx512,
    .attention = attention_avx512,
    .silu_mul = silu_mul_avx512,
    .add = add_avx512,
    .to_fp16 = to_fp16_avx512,
};
