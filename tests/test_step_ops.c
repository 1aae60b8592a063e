/*
 * tests/test_step_ops.c - every decoder-step operation entry (kernels/step_ops.h) this CPU
 * can run, against double-precision references written here, within bounds derived below.
 * Entries this host cannot run (CPU features, or the --isa / BITBENCH_ISA cap) are
 * skipped, and say so.
 *
 * Notation: u = 2^-24, the unit roundoff of fp32; gamma(n) = n u / (1 - n u) bounds the
 * relative error of a sum of n non-negative rounded terms, or of a dot product of length n
 * against sum |x_i y_i|, in any order, with or without FMA (Higham, Accuracy and Stability
 * of Numerical Algorithms, 2nd ed., section 3.1).  EXP_ERR is the relative error allowed to
 * an entry's exp (libm's expf in the reference is within 1 ulp; the SIMD entries' own
 * polynomial exp measures <= 2 ulp): 4 u.
 *
 * The fp16 rounding of K and V happens when they are stored (to_fp16, tested bit-exact
 * here); attention is checked on the stored halves, so that rounding (2^-11 relative, the
 * same for every entry) is an input here, not an error of the operation.
 *
 * Largest error / bound seen on the development VM (Zen 5), any entry: RMSNorm 0.24, RoPE
 * 0.69, SiLU 0.31, attention 0.04 (its bound is worst-case over positions; yet scaling one
 * 16-float slice of the output by 1 + 1e-4, reading one position past the causal limit, or
 * a wrong tail offset each fail it).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "step_ops.h"
#include "testutil.h"

#define U (FLT_EPSILON / 2) /* 2^-24 */
#define EXP_ERR (4 * U)

static double gamma_n(double n) { return n * U / (1 - n * U); }

static bool runnable(const bb_step_ops *ops)
{
    return (bb_cpu_features() & ops->needs) == ops->needs && ops->isa <= (int)bb_isa_cap();
}

/* Calls check(ops) for every runnable entry; says which ones it skipped. */
static void for_each_runnable(void (*check)(const bb_step_ops *ops))
{
    for (size_t i = 0; i < bb_step_ops_count; i++) {
        const bb_step_ops *ops = bb_step_ops_table[i];
        if (!runnable(ops)) {
            printf("%s: skipped, not runnable here (CPU features or the ISA cap)\n", ops->name);
            continue;
        }
        check(ops);
    }
}

static void *xalloc(size_t bytes)
{
    void *p = bb_alloc(bytes ? bytes : 1);
    assert_non_null(p);
    return p;
}

/* Fails with the entry, the operation and the element when |got - want| > bound. */
static void expect_within(const bb_step_ops *ops, const char *what, size_t i, double got,
                          double want, double bound)
{
    if (!(fabs(got - want) <= bound))
        fail_msg("%s %s [%zu]: got %.9g, want %.9g, error %.3g > bound %.3g", ops->name, what,
                 i, got, want, fabs(got - want), bound);
}

/* ------------------------------------------------------------------ the table */

static void test_table_names_and_pick(void **state)
{
    (void)state;
    const bb_step_ops *ref = bb_step_ops_reference();
    assert_string_equal(ref->name, "step-scalar-ref");
    assert_int_equal(ref->isa, BB_ISA_SCALAR);
    assert_int_equal(ref->needs, 0);
    assert_ptr_equal(bb_step_ops_find("step-scalar-ref"), ref);
    assert_null(bb_step_ops_find("step-nonesuch"));
    for (size_t i = 0; i < bb_step_ops_count; i++) {
        const bb_step_ops *a = bb_step_ops_table[i];
        assert_ptr_equal(bb_step_ops_find(a->name), a);
        assert_true(a->rmsnorm && a->rope && a->attention && a->silu_mul && a->add && a->to_fp16);
        if (a->isa >= BB_ISA_AVX2) /* vcvtph2ps / vcvtps2ph and FMA in every SIMD entry */
            assert_int_equal(a->needs & (BB_CPU_F16C | BB_CPU_FMA), BB_CPU_F16C | BB_CPU_FMA);
    }
    const bb_step_ops *best = bb_step_ops_best();
    assert_non_null(best);
    assert_true(runnable(best));
    for (size_t i = 0; i < bb_step_ops_count; i++)
        if (runnable(bb_step_ops_table[i]))
            assert_true(bb_step_ops_table[i]->priority <= best->priority);
}

/* The --isa cap rules the pick: capped to scalar, the reference is the best. */
static void test_table_respects_isa_cap(void **state)
{
    (void)state;
    bb_isa_level was = bb_isa_cap();
    bb_isa_set_cap(BB_ISA_SCALAR);
    assert_ptr_equal(bb_step_ops_best(), bb_step_ops_reference());
    bb_isa_set_cap(BB_ISA_AVX2);
    assert_true(bb_step_ops_best()->isa <= BB_ISA_AVX2);
    bb_isa_set_cap(was);
}

/* ------------------------------------------------------------------ RMSNorm */

/* Bound, relative to |want|: the sum of d squares (non-negative terms) is within gamma(d);
 * the divide by d and the add of eps add 2u; sqrt halves the relative error and adds u;
 * the reciprocal, the multiply by it and by g add 3u: (gamma(d) + 2u) / 2 + 4u, taken as
 * gamma(d) / 2 + 6u.  A wrong mean (d instead of d - 1, eps outside the root) is off by far
 * more at the sizes below. */
static void check_rmsnorm_shape(const bb_step_ops *ops, size_t d, float scale, float eps,
                                bool with_gain, bool in_place)
{
    float *x = xalloc(d * sizeof(float)), *g = xalloc(d * sizeof(float));
    float *out = in_place ? x : xalloc(d * sizeof(float));
    double *want = xalloc(d * sizeof(double));
    tu_fill_normalish(x, d, scale, 11 + d);
    tu_fill_normalish(g, d, 1.0f, 17 + d);
    double sum_sq = 0;
    for (size_t i = 0; i < d; i++)
        sum_sq += (double)x[i] * x[i];
    double inv_rms = 1 / sqrt(sum_sq / (double)d + eps);
    for (size_t i = 0; i < d; i++)
        want[i] = x[i] * inv_rms * (with_gain ? g[i] : 1.0);
    ops->rmsnorm(x, with_gain ? g : NULL, d, eps, out);
    double rel = gamma_n((double)d) / 2 + 6 * U;
    for (size_t i = 0; i < d; i++)
        expect_within(ops, "rmsnorm", i, out[i], want[i], rel * fabs(want[i]));
    if (!in_place)
        bb_free(out);
    bb_free(x);
    bb_free(g);
    bb_free(want);
}

static void check_rmsnorm(const bb_step_ops *ops)
{
    static const size_t sizes[] = {1, 2, 7, 8, 9, 31, 33, 64, 80, 2048, 4096, 4099, 8192};
    static const float scales[] = {1e-3f, 1.0f, 300.0f};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
        for (size_t c = 0; c < 3; c++) {
            check_rmsnorm_shape(ops, sizes[s], scales[c], 1e-5f, true, false);
            check_rmsnorm_shape(ops, sizes[s], scales[c], 1e-6f, false, true);
        }
}

static void test_rmsnorm(void **state)
{
    (void)state;
    for_each_runnable(check_rmsnorm);
}

/* ------------------------------------------------------------------ RoPE */

/* The angles in double, from the definition (not from bb_rope_table). */
static void rope_angle(size_t pos, size_t i, size_t head_dim, double theta, double *c, double *s)
{
    double angle = (double)pos * pow(theta, -2.0 * (double)i / (double)head_dim);
    *c = cos(angle);
    *s = sin(angle);
}

/* The table rounds cos and sin once (within u of the double value; the double angle
 * itself is off by ~1e-16 * pos rad, far below that). */
static void test_rope_table_is_rounded_double(void **state)
{
    (void)state;
    static const size_t positions[] = {0, 1, 2, 511, 4096, 100000};
    float cs[256];
    for (size_t k = 0; k < sizeof positions / sizeof positions[0]; k++)
        for (size_t i = 0; i < 64; i++) {
            bb_rope_table(positions[k], 128, 10000.0, cs);
            double c, s;
            rope_angle(positions[k], i, 128, 10000.0, &c, &s);
            assert_true(fabs(cs[2 * i] - c) <= U * fabs(c) + 1e-12);
            assert_true(fabs(cs[2 * i + 1] - s) <= U * fabs(s) + 1e-12);
        }
    bb_rope_table(0, 64, 10000.0, cs);
    for (size_t i = 0; i < 32; i++) { /* position 0 is the identity, exactly */
        assert_true(cs[2 * i] == 1.0f);
        assert_true(cs[2 * i + 1] == 0.0f);
    }
}

/* Bound per pair, against the rotation by the exact angle: the table's cos and sin are
 * each within u (|x0| u + |x1| u), and x0 c - x1 s is two products and a sum, within
 * gamma(2) (|x0 c| + |x1 s|) <= gamma(2) (|x0| + |x1|): together 3.01 u (|x0| + |x1|). */
static void check_rope_shape(const bb_step_ops *ops, size_t n_heads, size_t head_dim,
                             size_t pos, double theta)
{
    size_t n = n_heads * head_dim;
    float *v = xalloc(n * sizeof(float)), *cs = xalloc(head_dim * sizeof(float));
    double *want = xalloc(n * sizeof(double)), *mag = xalloc(n * sizeof(double));
    tu_fill_normalish(v, n, 3.0f, 23 + pos + head_dim);
    bb_rope_table(pos, head_dim, theta, cs);
    for (size_t h = 0; h < n_heads; h++)
        for (size_t i = 0; i < head_dim / 2; i++) {
            size_t e = h * head_dim + 2 * i;
            double c, s, x0 = v[e], x1 = v[e + 1];
            rope_angle(pos, i, head_dim, theta, &c, &s);
            want[e] = x0 * c - x1 * s;
            want[e + 1] = x0 * s + x1 * c;
            mag[e] = mag[e + 1] = fabs(x0) + fabs(x1);
        }
    ops->rope(v, n_heads, head_dim, cs);
    for (size_t e = 0; e < n; e++)
        expect_within(ops, "rope", e, v[e], want[e], 3.01 * U * mag[e]);
    bb_free(v);
    bb_free(cs);
    bb_free(want);
    bb_free(mag);
}

static void check_rope(const bb_step_ops *ops)
{
    static const size_t dims[] = {2, 4, 6, 10, 16, 18, 36, 64, 72, 80, 128, 256};
    static const size_t positions[] = {0, 1, 17, 511, 4095, 100000};
    for (size_t d = 0; d < sizeof dims / sizeof dims[0]; d++)
        for (size_t p = 0; p < sizeof positions / sizeof positions[0]; p++) {
            check_rope_shape(ops, 3, dims[d], positions[p], 10000.0);
            check_rope_shape(ops, 1, dims[d], positions[p], 500000.0);
        }
}

static void test_rope(void **state)
{
    (void)state;
    for_each_runnable(check_rope);
}

/* ------------------------------------------------------------------ attention */

typedef struct attn_case {
    size_t n_heads, n_kv_heads, head_dim, n_tok, pos0;
    size_t h0, h1;      /* heads computed; others must stay untouched */
    float q_scale;      /* sets the score range: scores ~ q_scale * kv_scale * sqrt(d) */
    float kv_scale;
    float future_boost; /* keys after pos0 times this: a causal leak would dominate */
    uint64_t seed;
} attn_case;

/* K and V halves for positions [0, pos0 + n_tok), then poison (inf, NaN, 65504) up to
 * ctx_cap: reading a position after the step changes the output to non-finite or huge. */
static uint16_t *make_cache(const attn_case *c, size_t ctx_cap, float boost, uint64_t seed)
{
    size_t row = c->n_kv_heads * c->head_dim, valid = c->pos0 + c->n_tok;
    uint16_t *cache = xalloc(ctx_cap * row * sizeof(uint16_t));
    float *tmp = xalloc(row * sizeof(float));
    static const uint16_t poison[] = {0x7c00, 0x7e00, 0x7bff, 0xfc00, 0xfe01};
    for (size_t p = 0; p < ctx_cap; p++) {
        tu_fill_normalish(tmp, row, c->kv_scale * (p > c->pos0 ? boost : 1.0f), seed + p);
        for (size_t e = 0; e < row; e++)
            cache[p * row + e] = p < valid ? bb_fp32_to_fp16(tmp[e]) : poison[(p + e) % 5];
    }
    bb_free(tmp);
    return cache;
}

static double half_at(const uint16_t *cache, size_t row, size_t p, size_t kvh, size_t d,
                      size_t i)
{
    return bb_fp16_to_fp32(cache[p * row + kvh * d + i]);
}

/* The double reference of one (token, head) and its error bound, element by element.
 *
 * Scores: s_p = q.k_p / sqrt(d).  A_p = sum_i |q_i k_pi| / sqrt(d).  The computed score is
 * within delta = gamma(d + 4) max_p A_p (the dot product gamma(d), the scale rounded twice,
 * 1/sqrt, and the multiply by it).  The shifted score s_p - max is then within 2 delta plus
 * the subtraction's u |s_p - max|, and exp adds EXP_ERR: the weight w_p = exp(s_p - max)
 * has relative error eps_p <= 2 delta + u |s_p - max| + EXP_ERR (+ second order).
 * Output o = sum_p pi_p v_p with pi_p = w_p / sum w: a relative error eps_p in each w_p
 * moves it by at most sum_p pi_p eps_p |v_p| + (sum_p pi_p eps_p) sum_p pi_p |v_p|; the
 * sums of ctx terms (numerator and denominator) add gamma(ctx + 1) + gamma(ctx), the
 * division (a reciprocal and a multiply) 2u, each relative to sum_p pi_p |v_p|.  The total
 * is taken times 1.01 for the second-order terms, plus 1e-30 absolute for the weights below
 * FLT_MIN that an exp may flush to 0 (each < 1.2e-38 against a largest weight of 1). */
static void attn_reference(const attn_case *c, const float *q, const uint16_t *kc,
                           const uint16_t *vc, size_t t, size_t h, double *want, double *bound)
{
    size_t d = c->head_dim, ctx = c->pos0 + t + 1, row = c->n_kv_heads * d;
    size_t kvh = h / (c->n_heads / c->n_kv_heads);
    double *s = xalloc(ctx * sizeof(double)), *w = xalloc(ctx * sizeof(double));
    double inv_sqrt_d = 1 / sqrt((double)d), max = -INFINITY, max_abs = 0, wsum = 0;
    for (size_t p = 0; p < ctx; p++) {
        double dot = 0, abs_dot = 0;
        for (size_t i = 0; i < d; i++) {
            double prod = q[i] * half_at(kc, row, p, kvh, d, i);
            dot += prod;
            abs_dot += fabs(prod);
        }
        s[p] = dot * inv_sqrt_d;
        max = fmax(max, s[p]);
        max_abs = fmax(max_abs, abs_dot * inv_sqrt_d);
    }
    double delta = gamma_n((double)d + 4) * max_abs, mean_eps = 0;
    for (size_t p = 0; p < ctx; p++) {
        w[p] = exp(s[p] - max);
        wsum += w[p];
    }
    for (size_t p = 0; p < ctx; p++) {
        double eps_p = 2 * delta + U * fabs(s[p] - max) + EXP_ERR;
        mean_eps += w[p] / wsum * eps_p;
        s[p] = eps_p; /* s now holds eps_p */
    }
    double sums = gamma_n((double)ctx + 1) + gamma_n((double)ctx) + 2 * U;
    for (size_t i = 0; i < d; i++) {
        double o = 0, mag = 0, weighted_eps = 0;
        for (size_t p = 0; p < ctx; p++) {
            double pi = w[p] / wsum, v = half_at(vc, row, p, kvh, d, i);
            o += pi * v;
            mag += pi * fabs(v);
            weighted_eps += pi * s[p] * fabs(v);
        }
        want[i] = o;
        bound[i] = 1.01 * (weighted_eps + (mean_eps + sums) * mag) + 1e-30;
    }
    bb_free(s);
    bb_free(w);
}

/* Sentinel in outputs of heads outside [h0, h1): the call must not write there. */
#define UNTOUCHED (-12345.0f)

static void check_attention_case(const bb_step_ops *ops, const attn_case *c)
{
    size_t d = c->head_dim, width = c->n_heads * d, ctx_end = c->pos0 + c->n_tok;
    size_t ctx_cap = ctx_end + 3; /* three poisoned positions after the step */
    /* Strides wider than a row: the entry must use them, not assume dense rows. */
    size_t q_stride = width + 8, out_stride = width + 16;
    float *q = xalloc(c->n_tok * q_stride * sizeof(float));
    float *out = xalloc(c->n_tok * out_stride * sizeof(float));
    float *scratch = xalloc(bb_attn_scratch_floats(ctx_end) * sizeof(float));
    uint16_t *kc = make_cache(c, ctx_cap, c->future_boost, c->seed);
    uint16_t *vc = make_cache(c, ctx_cap, 1.0f, c->seed + 7777);
    double *want = xalloc(d * sizeof(double)), *bound = xalloc(d * sizeof(double));
    for (size_t t = 0; t < c->n_tok; t++)
        tu_fill_normalish(q + t * q_stride, width, c->q_scale, c->seed + 99 + t);
    for (size_t e = 0; e < c->n_tok * out_stride; e++)
        out[e] = UNTOUCHED;
    bb_attn_args a = {.q = q, .q_stride = q_stride, .k_cache = kc, .v_cache = vc,
                      .n_heads = c->n_heads, .n_kv_heads = c->n_kv_heads, .head_dim = d,
                      .n_tok = c->n_tok, .pos0 = c->pos0, .out = out, .out_stride = out_stride,
                      .scratch = scratch};
    ops->attention(&a, c->h0, c->h1);
    for (size_t t = 0; t < c->n_tok; t++)
        for (size_t h = 0; h < c->n_heads; h++) {
            const float *o = out + t * out_stride + h * d;
            if (h < c->h0 || h >= c->h1) {
                for (size_t i = 0; i < d; i++)
                    if (o[i] != UNTOUCHED)
                        fail_msg("%s attention wrote head %zu outside [%zu, %zu)", ops->name, h,
                                 c->h0, c->h1);
                continue;
            }
            attn_reference(c, q + t * q_stride + h * d, kc, vc, t, h, want, bound);
            for (size_t i = 0; i < d; i++)
                if (!(fabs(o[i] - want[i]) <= bound[i]))
                    fail_msg("%s attention heads %zu/%zu d %zu tok %zu/%zu pos0 %zu head %zu "
                             "[%zu]: got %.9g, want %.9g, error %.3g > bound %.3g",
                             ops->name, c->n_heads, c->n_kv_heads, d, t, c->n_tok, c->pos0, h,
                             i, o[i], want[i], fabs(o[i] - want[i]), bound[i]);
        }
    for (size_t t = 0; t < c->n_tok; t++) /* the stride gaps too */
        for (size_t e = width; e < out_stride; e++)
            assert_true(out[t * out_stride + e] == UNTOUCHED);
    bb_free(q);
    bb_free(out);
    bb_free(scratch);
    bb_free(kc);
    bb_free(vc);
    bb_free(want);
    bb_free(bound);
}

static attn_case decode_case(size_t n_heads, size_t n_kv, size_t d, size_t pos0)
{
    return (attn_case){.n_heads = n_heads, .n_kv_heads = n_kv, .head_dim = d, .n_tok = 1,
                       .pos0 = pos0, .h0 = 0, .h1 = n_heads, .q_scale = 1.0f,
                       .kv_scale = 1.0f, .future_boost = 1.0f, .seed = 1000 + n_heads * d + pos0};
}

/* Grouped-query ratios 1, 4, 8; head_dim 64, 128, 80 and ragged ones whose tails the SIMD
 * loops handle apart (72: 8 | d but not 16; 36, 6: neither); contexts 1, short ones that are
 * not a multiple of 8, and longer. */
static void check_attention_shapes(const bb_step_ops *ops)
{
    static const size_t ratios[][2] = {{4, 4}, {8, 2}, {16, 2}};
    static const size_t dims[] = {64, 128, 80, 72, 36, 6};
    static const size_t positions[] = {0, 5, 37, 300};
    for (size_t r = 0; r < 3; r++)
        for (size_t d = 0; d < sizeof dims / sizeof dims[0]; d++)
            for (size_t p = 0; p < sizeof positions / sizeof positions[0]; p++) {
                attn_case c = decode_case(ratios[r][0], ratios[r][1], dims[d], positions[p]);
                check_attention_case(ops, &c);
            }
}

static void test_attention_gqa_shapes(void **state)
{
    (void)state;
    for_each_runnable(check_attention_shapes);
}

/* Prefill: token t sits at pos0 + t and must see positions [0, pos0 + t] only.  The keys
 * after pos0 are 4 times larger (scores ~16 times the others), so a token that read one
 * later position would weigh it most; positions after the step hold inf/NaN. */
static void check_attention_causal(const bb_step_ops *ops)
{
    static const size_t shapes[][4] = {/* heads, kv heads, head_dim, n_tok */
                                       {4, 4, 64, 5}, {8, 2, 128, 9}, {8, 1, 80, 17}, {4, 2, 36, 12}};
    static const size_t starts[] = {0, 3, 40};
    for (size_t s = 0; s < 4; s++)
        for (size_t p = 0; p < 3; p++) {
            attn_case c = decode_case(shapes[s][0], shapes[s][1], shapes[s][2], starts[p]);
            c.n_tok = shapes[s][3];
            c.future_boost = 4.0f;
            c.seed += 31 * s;
            check_attention_case(ops, &c);
        }
}

static void test_attention_causal_prefill(void **state)
{
    (void)state;
    for_each_runnable(check_attention_causal);
}

/* A call computes heads [h0, h1) of every token and nothing else (the thread pool's unit). */
static void check_attention_head_ranges(const bb_step_ops *ops)
{
    static const size_t ranges[][2] = {{0, 1}, {3, 7}, {7, 8}, {4, 4}, {0, 8}};
    for (size_t r = 0; r < 5; r++) {
        attn_case c = decode_case(8, 2, 64, 20);
        c.n_tok = 3;
        c.h0 = ranges[r][0];
        c.h1 = ranges[r][1];
        check_attention_case(ops, &c);
    }
}

static void test_attention_head_ranges(void **state)
{
    (void)state;
    for_each_runnable(check_attention_head_ranges);
}

/* Long contexts and large score ranges: 4096 positions, scores up to a few hundred (where
 * exp without the max subtraction overflows) and up to ~10^4 (a single position takes all
 * the weight; every other weight underflows). */
static void check_attention_long(const bb_step_ops *ops)
{
    attn_case c = decode_case(4, 1, 128, 4095);
    check_attention_case(ops, &c);
    c.q_scale = 30.0f; /* scores ~ +-30 * sqrt(128) ~ +-340 */
    check_attention_case(ops, &c);
    c = decode_case(8, 8, 64, 2000);
    c.n_tok = 2;
    c.q_scale = 100.0f;
    c.kv_scale = 100.0f;
    check_attention_case(ops, &c);
}

static void test_attention_long_context(void **state)
{
    (void)state;
    for_each_runnable(check_attention_long);
}

/* ------------------------------------------------------------------ SiLU gating, add */

/* Bound: exp within EXP_ERR, 1 + e within EXP_ERR + u, the division and the multiply by up
 * 2u: relative EXP_ERR + 4u.  When gate < -88.7, exp(-gate) overflows to inf and the result
 * is 0 where the exact one is |gate up| e^gate < |gate up| FLT_MIN / 2: that much absolute. */
static double silu_bound(double want, double gate, double up)
{
    return (EXP_ERR + 4 * U) * fabs(want) + fabs(gate * up) * FLT_MIN;
}

static double silu_mul_double(double g, double u) { return g / (1 + exp(-g)) * u; }

static void check_silu_values(const bb_step_ops *ops, const float *gate, const float *up, size_t n)
{
    float *out = xalloc(n * sizeof(float)), *inplace = xalloc(n * sizeof(float));
    ops->silu_mul(gate, up, n, out);
    memcpy(inplace, gate, n * sizeof(float));
    ops->silu_mul(inplace, up, n, inplace);
    for (size_t i = 0; i < n; i++) {
        double want = silu_mul_double(gate[i], up[i]);
        expect_within(ops, "silu_mul", i, out[i], want, silu_bound(want, gate[i], up[i]));
        assert_true(memcmp(&out[i], &inplace[i], sizeof(float)) == 0);
    }
    bb_free(out);
    bb_free(inplace);
}

static void check_silu(const bb_step_ops *ops)
{
    static const float extremes[] = {-100.0f, 100.0f, 0.0f, -0.0f, -1e-30f, 1e-30f, -1.0f, 1.0f,
                                     -20.0f, 20.0f, -87.0f, -88.0f, -88.5f, -89.0f, 88.0f, 89.0f,
                                     -103.9f, -104.5f, 1e4f, -1e4f, 3.0e38f, -3.0e38f, 0.5f};
    size_t n_ext = sizeof extremes / sizeof extremes[0];
    float up[64];
    for (size_t i = 0; i < 64; i++)
        up[i] = i % 3 == 0 ? 1.0f : (float)i * 0.37f - 7.0f;
    check_silu_values(ops, extremes, up, n_ext);
    /* every tail length, and a dense sweep of the range where exp is neither 0 nor inf */
    enum { N = 4000 };
    float *g = xalloc(N * sizeof(float)), *u = xalloc(N * sizeof(float));
    for (size_t i = 0; i < N; i++) {
        g[i] = -95.0f + 190.0f * (float)i / N;
        u[i] = 1.0f + (float)(i % 7);
    }
    for (size_t n = 1; n <= 33; n++)
        check_silu_values(ops, g + 1000 + 3 * n, u, n);
    check_silu_values(ops, g, u, N);
    tu_fill_normalish(g, N, 4.0f, 5);
    check_silu_values(ops, g, u, N);
    bb_free(g);
    bb_free(u);

    /* exact where the answer is exact in fp32, and NaN stays NaN */
    float gate[4] = {100.0f, 0.0f, -100.0f, NAN}, ones[4] = {1, 1, 1, 1}, out[4];
    ops->silu_mul(gate, ones, 4, out);
    assert_true(out[0] == 100.0f);
    assert_true(out[1] == 0.0f);
    assert_true(out[2] == 0.0f || fabsf(out[2]) < 1e-40f);
    assert_true(isnan(out[3]));
}

static void test_silu_mul(void **state)
{
    (void)state;
    for_each_runnable(check_silu);
}

/* Addition of two floats is one correctly rounded operation: bit-exact, every tail. */
static void check_add(const bb_step_ops *ops)
{
    enum { N = 300 };
    float *x = xalloc(N * sizeof(float)), *y = xalloc(N * sizeof(float));
    float *want = xalloc(N * sizeof(float));
    for (size_t n = 0; n < N; n += n < 40 ? 1 : 37) {
        tu_fill_normalish(x, N, 2.0f, 40 + n);
        tu_fill_normalish(y, N, 1e3f, 50 + n);
        for (size_t i = 0; i < N; i++)
            want[i] = i < n ? y[i] + x[i] : y[i]; /* past n: untouched */
        ops->add(y, x, n);
        assert_memory_equal(y, want, N * sizeof(float));
    }
    bb_free(x);
    bb_free(y);
    bb_free(want);
}

static void test_add(void **state)
{
    (void)state;
    for_each_runnable(check_add);
}

/* ------------------------------------------------------------------ fp16 store */

static float float_of(uint32_t b)
{
    float f;
    memcpy(&f, &b, sizeof f);
    return f;
}

/* Every value where rounding to half can go wrong: each half's own value, the float
 * neighbours either side, the exact midpoint to the next half (a tie) and its neighbours,
 * over all 65536 patterns (subnormals, the overflow edge 65504 .. 65520, inf and NaNs
 * included); signalling and quiet NaN payloads; the float subnormals and tiny values that
 * round to 0 or the least half; plus random bit patterns. */
static size_t interesting_floats(float *v, size_t cap)
{
    size_t n = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        float f = bb_fp16_to_fp32((uint16_t)h);
        uint32_t b;
        memcpy(&b, &f, sizeof b);
        v[n++] = f;
        v[n++] = float_of(b + 1);
        v[n++] = float_of(b - 1);
        if ((h & 0x7fff) < 0x7bff) { /* below 65504: the midpoint to the next half up */
            float next = bb_fp16_to_fp32((uint16_t)(h + 1));
            float mid = (float)(((double)f + (double)next) / 2); /* exact: 12 bits */
            uint32_t mb;
            memcpy(&mb, &mid, sizeof mb);
            v[n++] = mid;
            v[n++] = float_of(mb + 1);
            v[n++] = float_of(mb - 1);
        }
    }
    static const uint32_t special[] = {0x7f800001, 0x7fbfffff, 0x7fc00000, 0xffc12345, 0xff800001,
                                       0x00000001, 0x80000001, 0x007fffff, 0x00800000, 0x33000000,
                                       0x33000001, 0x32ffffff, 0xb3000000, 0x477ff000, 0x477fefff,
                                       0x477ff001, 0x7f7fffff, 0xff7fffff};
    for (size_t i = 0; i < sizeof special / sizeof special[0]; i++)
        v[n++] = float_of(special[i]);
    uint64_t rng = 77;
    while (n < cap)
        v[n++] = float_of((uint32_t)tu_rand_u64(&rng));
    return n;
}

static void check_to_fp16(const bb_step_ops *ops)
{
    enum { CAP = 65536 * 6 + 200000 };
    float *v = xalloc(CAP * sizeof(float));
    uint16_t *got = xalloc(CAP * sizeof(uint16_t));
    size_t n = interesting_floats(v, CAP);
    /* chunks of changing length, so every tail length and alignment is used */
    for (size_t i = 0, len = 1; i < n; i += len, len = len % 37 + 1)
        ops->to_fp16(v + i, len < n - i ? len : n - i, got + i);
    for (size_t i = 0; i < n; i++) {
        uint16_t want = bb_fp32_to_fp16(v[i]);
        if (got[i] != want) {
            uint32_t b;
            memcpy(&b, &v[i], sizeof b);
            fail_msg("%s to_fp16(0x%08x = %g) = 0x%04x, want 0x%04x", ops->name, b, v[i],
                     got[i], want);
        }
    }
    bb_free(v);
    bb_free(got);
}

static void test_to_fp16_bit_exact(void **state)
{
    (void)state;
    for_each_runnable(check_to_fp16);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_names_and_pick),
        cmocka_unit_test(test_table_respects_isa_cap),
        cmocka_unit_test(test_rmsnorm),
        cmocka_unit_test(test_rope_table_is_rounded_double),
        cmocka_unit_test(test_rope),
        cmocka_unit_test(test_attention_gqa_shapes),
        cmocka_unit_test(test_attention_causal_prefill),
        cmocka_unit_test(test_attention_head_ranges),
        cmocka_unit_test(test_attention_long_context),
        cmocka_unit_test(test_silu_mul),
        cmocka_unit_test(test_add),
        cmocka_unit_test(test_to_fp16_bit_exact),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
