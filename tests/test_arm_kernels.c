/*
 * tests/test_arm_kernels.c - the AArch64 kernels (kernels/arm/) that this CPU can run,
 * against the scalar reference of their format, on what their blockings make ragged:
 * M and K off every block, K long enough to cross every int16/int32 accumulator segment
 * with extreme values (all activations at +-127, all weights at their largest), n = 1, 3,
 * 4, 9 tokens (odd tokens left over by 2 x 2 tiles), and gemm_rows over row sub-ranges
 * [r0, r1) in chunks of the kernel's row_block, with the rows outside left untouched, and
 * (integer formats) matrices that cycle through every code of the format.
 * Bit-exact for the integer formats; fp16 within 2 gamma_K sum |w x| of the reference.
 * (tests/test_kernels.c checks every kernel through the harness too; this adds the shapes
 * and sub-ranges specific to the ARM blockings.)  Also the NEON activation quantizer
 * against the reference one, byte for byte.  On other hosts it checks nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../kernels/kernel.h"
#ifdef __aarch64__
#include "../kernels/arm/act_q8_neon.h"
#endif

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct shape { size_t m, k, n; int extreme; } shape;

static const shape shapes[] = {
    {1, 1, 1, 0},     {3, 65, 3, 0},    {17, 257, 4, 0},   {33, 321, 9, 0},  {5, 1000, 1, 0},
    {19, 2049, 3, 0}, {2, 4095, 4, 0},  {7, 20000, 2, 1},  {4, 66000, 1, 1}, {9, 5460, 9, 0},
    {18, 9000, 3, 1}, {6, 700, 2, 1},  {21, 1999, 3, 2}, {40, 640, 4, 2},
};

static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 0x2545F4914F6CDD1DULL;
}

static float rng_f32(uint64_t *s) { return (float)((double)(rng_next(s) >> 40) / (1 << 23)) - 1.0f; }

static int is_arm_kernel(const bb_kernel *k)
{
    return strstr(k->name, "-neon-") || strstr(k->name, "-dotprod-") || strstr(k->name, "-i8mm-");
}

/* Weights: random, or (extreme) every weight at the row's largest magnitude with random
 * signs mostly positive, so that the dot products reach their bounds. */
static void fill(float *w, size_t m, size_t k, float *x, size_t x_stride, size_t n, int extreme,
                 uint64_t seed)
{
    uint64_t s = seed | 1;
    for (size_t i = 0; i < m * k; i++)
        w[i] = extreme ? ((rng_next(&s) & 15) ? 1.0f : -1.0f) : rng_f32(&s) / sqrtf((float)k);
    for (size_t t = 0; t < n; t++)
        for (size_t i = 0; i < k; i++)
            x[t * x_stride + i] = extreme ? ((rng_next(&s) & 15) ? 2.5f : -2.5f) : rng_f32(&s);
    if (m * k > 1)
        w[1] = 3.0f; /* an outlier */
}

static int check_one(const bb_kernel *kn, const shape *sh, uint64_t seed)
{
    const bb_format *f = bb_format_get(kn->format);
    const bb_kernel *ref = bb_kernel_reference(kn->format);
    size_t m = sh->m, k = sh->k, n = sh->n, xs = bb_k_stride(k);
    float *w32 = malloc(m * k * sizeof(float));
    float *x = bb_alloc(xs * n * sizeof(float));
    float *y = bb_alloc(m * n * sizeof(float)), *yref = bb_alloc(m * n * sizeof(float));
    bb_weights w;
    assert_non_null(w32);
    assert_int_equal(bb_weights_alloc(&w, kn->format, m, k), 0);
    fill(w32, m, k, x, xs, n, sh->extreme, seed);
    f->quantize(w32, &w);
    if (sh->extreme && kn->format >= BB_FMT_POT4 && kn->format <= BB_FMT_POT6)
        for (size_t r = 0; r < m; r++) /* the largest shift: ecode 1, mostly positive */
            for (size_t i = 0; i < k; i++)
                f->set_code(&w, r, i, (i % 17 == 3) ? (1u << (kn->format - BB_FMT_POT4 + 3)) | 1u : 1u);
    if (sh->extreme == 2) /* every code, in a different order per row */
        for (size_t r = 0; r < m; r++)
            for (size_t i = 0; i < k; i++)
                f->set_code(&w, r, i, (uint32_t)((i * (2 * r + 1) + r) % f->n_codes));

    bb_gemm_args ra = {.w = &w, .layout = w.data, .x = x, .x_stride = xs, .y = yref, .y_stride = m,
                       .n = n};
    void *ref_act = ref->act_bytes ? bb_alloc(ref->act_bytes(k, n)) : NULL;
    ra.act = ref_act;
    bb_kernel_gemm(ref, &ra);

    void *layout = kn->layout_bytes ? bb_alloc(kn->layout_bytes(&w)) : NULL;
    if (layout)
        kn->repack(&w, layout);
    void *act = kn->act_bytes ? bb_alloc(kn->act_bytes(k, n)) : NULL;
    bb_gemm_args a = ra;
    a.layout = layout ? layout : w.data;
    a.act = act;
    a.y = y;
    if (kn->prepare_act) {
        kn->prepare_act(&a, 0, 1); /* in two token ranges, as threads would */
        if (n > 1)
            kn->prepare_act(&a, 1, n);
    }
    /* Sub-ranges: chunks of (1 + seed % 3) row blocks; each one alone must write its rows
     * only (the rest of y is NaN). */
    size_t chunk = kn->row_block * (1 + seed % 3), bad = 0;
    for (size_t r0 = 0; r0 < m; r0 += chunk) {
        size_t r1 = r0 + chunk < m ? r0 + chunk : m;
        for (size_t i = 0; i < m * n; i++)
            y[i] = NAN;
        kn->gemm_rows(&a, r0, r1);
        for (size_t t = 0; t < n; t++)
            for (size_t r = 0; r < m; r++) {
                float got = y[t * m + r], want = yref[t * m + r];
                int ok;
                if (r < r0 || r >= r1)
                    ok = isnan(got);
                else if (f->act == BB_ACT_Q8)
                    ok = memcmp(&got, &want, sizeof got) == 0;
                else {
                    double abs_sum = 0, gamma = k * 0x1.0p-24 / (1 - k * 0x1.0p-24);
                    for (size_t i = 0; i < k; i++)
                        abs_sum += fabs(bb_weight_value(&w, r, i) * x[t * xs + i]);
                    ok = fabs((double)got - want) <= 2 * gamma * abs_sum + 1e-30;
                }
                if (!ok && bad++ < 3)
                    print_error("%s m=%zu k=%zu n=%zu rows [%zu, %zu): y[t=%zu][r=%zu] = %.9g, "
                                "reference %.9g\n", kn->name, m, k, n, r0, r1, t, r, got, want);
            }
    }
    bb_free(layout);
    bb_free(act);
    bb_free(ref_act);
    bb_weights_free(&w);
    bb_free(y);
    bb_free(yref);
    bb_free(x);
    free(w32);
    return bad != 0;
}

static void test_arm_kernels_match_references(void **state)
{
    (void)state;
    int failures = 0, tested = 0;
    for (size_t i = 0; i < bb_kernel_count; i++) {
        const bb_kernel *kn = bb_kernels[i];
        if (!is_arm_kernel(kn) || !bb_kernel_runnable(kn))
            continue;
        tested++;
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
            if (shapes[s].extreme != 2 || kn->format != BB_FMT_FP16) /* fp16 codes: NaN, inf */
                failures += check_one(kn, &shapes[s], 7 * s + i);
    }
    printf("checked %d ARM kernels over %zu shapes\n", tested, sizeof shapes / sizeof shapes[0]);
    assert_int_equal(failures, 0);
}

/* The NEON quantizer against the reference: ragged k (every tail length), halfway ties
 * (eta = 127 makes inv = 1, so x = j + 0.5 rounds to even), negative ties, an all-zero
 * token and an outlier token; q up to k_stride (the zero padding), scale bits and sums. */
static void test_act_q8_neon_matches_reference(void **state)
{
    (void)state;
#ifdef __aarch64__
    int bad = 0;
    for (size_t k = 1; k <= 70; k++) {
        enum { N = 4 };
        size_t xs = bb_k_stride(k);
        float *x = bb_alloc(xs * N * sizeof(float));
        void *b1 = bb_alloc(bb_act_q8_bytes(k, N)), *b2 = bb_alloc(bb_act_q8_bytes(k, N));
        uint64_t s = 99 + k;
        for (size_t i = 0; i < k; i++) {
            x[i] = (float)((int)(i % 250) - 125) + 0.5f; /* token 0: ties */
            x[xs + i] = 0.0f;                              /* token 1: all zero */
            x[2 * xs + i] = rng_f32(&s) * 1e-3f;           /* token 2: random, one outlier */
            x[3 * xs + i] = rng_f32(&s) * 3.0f;            /* token 3: random */
        }
        x[0] = 127.0f; /* eta of the ties token */
        x[2 * xs + k / 2] = 50.0f;
        memset(b1, 0x5a, bb_act_q8_bytes(k, N)); /* padding must be written */
        memset(b2, 0xa5, bb_act_q8_bytes(k, N));
        bb_act_q8 ref = bb_act_q8_view(b1, k, N), got = bb_act_q8_view(b2, k, N);
        bb_act_q8_quantize_ref(x, xs, &ref, 0, N);
        bb_act_q8_quantize_neon(x, xs, &got, 0, 2);
        bb_act_q8_quantize_neon(x, xs, &got, 2, N);
        for (size_t t = 0; t < N; t++)
            if (memcmp(ref.q + t * ref.k_stride, got.q + t * got.k_stride, ref.k_stride) != 0 ||
                memcmp(&ref.scale[t], &got.scale[t], sizeof(float)) != 0 ||
                ref.sum[t] != got.sum[t]) {
                if (bad++ < 3)
                    print_error("act_q8 neon k=%zu token %zu differs from the reference\n", k, t);
            }
        bb_free(x);
        bb_free(b1);
        bb_free(b2);
    }
    assert_int_equal(bad, 0);
#else
    skip();
#endif
}

/* The table-lookup kernels' repacked layouts, decoded as their files document them
 * (kernels/arm/tern2_neon_lut.c, tern1_6_neon_lut.c) and compared with get_code of the
 * canonical matrix: tiles of 16 rows, units of 4 (tern2: nibble = 3 c0 + c1 per 2 weights)
 * or 24 weights (tern1.6: 8 groups of 3 as |v| nibbles + a sign byte, correction = number
 * of negative groups), zero codes beyond k and m. */
static unsigned code_or_zero(const bb_weights *w, size_t r, size_t i)
{
    return r < w->m && i < w->k ? bb_format_get(w->format)->get_code(w, r, i) : 1u;
}

static void test_lut_layouts_decode_back(void **state)
{
    (void)state;
    const bb_kernel *k2 = bb_kernel_find_exact("tern2-neon-lut");
    const bb_kernel *k16 = bb_kernel_find_exact("tern1.6-neon-lut");
    if (!k2 || !k16)
        skip();
    static const size_t ms[] = {1, 16, 17, 40}, ks[] = {1, 5, 24, 25, 321, 1000};
    int bad = 0;
    for (size_t a = 0; a < 4; a++)
        for (size_t b = 0; b < 6; b++)
            for (int f = 0; f < 2; f++) {
                size_t m = ms[a], k = ks[b], tiles = (m + 15) / 16;
                const bb_kernel *kn = f ? k16 : k2;
                const bb_format *fmt = bb_format_get(kn->format);
                bb_weights w;
                assert_int_equal(bb_weights_alloc(&w, kn->format, m, k), 0);
                bb_weights_fill_zero(&w);
                for (size_t r = 0; r < m; r++)
                    for (size_t i = 0; i < k; i++)
                        fmt->set_code(&w, r, i, (uint32_t)((i * 7 + r * 5 + i / 3) % 3));
                uint8_t *lay = bb_alloc(kn->layout_bytes(&w));
                kn->repack(&w, lay);
                size_t unit = f ? 24 : 4, unit_bytes = f ? 80 : 16, units = (k + unit - 1) / unit;
                const int32_t *corr = (const int32_t *)(lay + tiles * units * unit_bytes);
                for (size_t r = 0; r < tiles * 16; r++) {
                    int32_t negatives = 0;
                    for (size_t u = 0; u < units; u++) {
                        const uint8_t *ub = lay + (r / 16 * units + u) * unit_bytes;
                        size_t lane = r % 16, i0 = u * unit;
                        if (!f) {
                            unsigned want = (3 * code_or_zero(&w, r, i0) + code_or_zero(&w, r, i0 + 1)) |
                                            (3 * code_or_zero(&w, r, i0 + 2) + code_or_zero(&w, r, i0 + 3)) << 4;
                            bad += ub[lane] != want;
                            continue;
                        }
                        for (unsigned g = 0; g < 8; g++) {
                            size_t i = i0 + 3 * g;
                            int v = 9 * ((int)code_or_zero(&w, r, i) - 1) +
                                    3 * ((int)code_or_zero(&w, r, i + 1) - 1) +
                                    ((int)code_or_zero(&w, r, i + 2) - 1);
                            unsigned mag = (ub[16 * (g / 2) + lane] >> (4 * (g % 2))) & 15u;
                            unsigned sign = (ub[64 + lane] >> g) & 1u;
                            bad += mag != (unsigned)(v < 0 ? -v : v) || sign != (v < 0);
                            negatives += v < 0;
                        }
                    }
                    bad += corr[r] != negatives;
                }
                if (bad)
                    print_error("%s m=%zu k=%zu: %d layout bytes differ\n", kn->name, m, k, bad);
                bb_free(lay);
                bb_weights_free(&w);
                assert_int_equal(bad, 0);
            }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_act_q8_neon_matches_reference),
        cmocka_unit_test(test_lut_layouts_decode_back),
        cmocka_unit_test(test_arm_kernels_match_references),
    };
    return cmocka_run_group_tests_name("arm_kernels", tests, NULL, NULL);
}
