/* tests/test_pot_simd.c - the pot4/pot5/pot6 SIMD kernels (kernels/<arch>/pot_*.c): their
 * repacked layouts decoded back independently, every code value against the reference
 * on ragged shapes and token counts that cross the kernels' token tiles and row groups,
 * the int32/int64 accumulator range at K = 65536 with every term at its largest, rows
 * long enough to cross every int32 segment, and row sub-ranges.  Kernels this host cannot
 * run are skipped (and say so). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

enum { POT_BLOCK = 128 };

static bool is_pot(bb_format_id f)
{
    return f == BB_FMT_POT4 || f == BB_FMT_POT5 || f == BB_FMT_POT6;
}
static unsigned bits_of(bb_format_id f) { return f == BB_FMT_POT4 ? 4 : f == BB_FMT_POT5 ? 5 : 6; }

/* The SIMD pot kernels this host runs; prints the ones it skips. */
static size_t runnable_pot_kernels(const bb_kernel **out, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < bb_kernel_count; i++) {
        const bb_kernel *k = bb_kernels[i];
        if (!is_pot(k->format) || k->isa == BB_ISA_SCALAR)
            continue;
        if (!bb_kernel_runnable(k)) {
            print_message("skipped (not runnable here): %s\n", k->name);
            continue;
        }
        assert_true(n < max);
        out[n++] = k;
    }
    return n;
}

/* A pot matrix whose rows all have scale `scale` and whose codes come from
 * code_at(row, i, ctx) for i < k, code 0 in the padding. */
typedef uint32_t (*code_fn)(size_t row, size_t i, void *ctx);

static bb_weights make_weights(bb_format_id f, size_t m, size_t k, code_fn code_at, void *ctx,
                               float scale)
{
    bb_weights w;
    assert_int_equal(bb_weights_alloc(&w, f, m, k), 0);
    const bb_format *fmt = bb_format_get(f);
    for (size_t r = 0; r < m; r++) {
        w.scales[r] = scale;
        for (size_t i = 0; i < w.k_padded; i++)
            fmt->set_code(&w, r, i, i < k ? code_at(r, i, ctx) : 0);
    }
    return w;
}

typedef struct random_ctx { uint64_t state; uint32_t n_codes; } random_ctx;

/* Uniform over every code, the sign-1 zero included. */
static uint32_t any_code(size_t row, size_t i, void *ctx)
{
    (void)row;
    (void)i;
    random_ctx *c = ctx;
    return (uint32_t)(tu_rand_u64(&c->state) >> 32) % c->n_codes;
}

static void expect_same_y(const char *name, const float *y, const float *yref, size_t m, size_t k,
                          size_t n)
{
    for (size_t i = 0; i < m * n; i++)
        if (memcmp(&y[i], &yref[i], sizeof y[i]) != 0)
            fail_msg("%s m=%zu k=%zu n=%zu: y[token %zu][row %zu] = %.9g, reference %.9g", name, m,
                     k, n, i / m, i % m, (double)y[i], (double)yref[i]);
}

/* ------------------------------------------------------------------ layouts */

/* Code of weight i of a repacked block, decoded from the layout description in
 * kernels/x86/pot_simd.h: nibble plane with `lanes` lanes of 512 / lanes bits (lane
 * i % lanes, nibble i / lanes), then one mask plane (16 bytes, bit i) per code bit >= 4. */
static uint32_t layout_code(const uint8_t *blk, unsigned bits, unsigned lanes, unsigned i)
{
    unsigned lane_bytes = 64 / lanes, lane = i % lanes, nibble = i / lanes;
    uint32_t code = (blk[lane * lane_bytes + nibble / 2] >> (4 * (nibble % 2))) & 15u;
    for (unsigned b = 4; b < bits; b++) {
        const uint8_t *plane = blk + 64 + 16 * (b - 4);
        code |= (uint32_t)((plane[i / 8] >> (i % 8)) & 1u) << b;
    }
    return code;
}

/* Lanes of each repacking kernel's layout; a pot kernel that repacks but is not listed
 * here fails the test, so every layout gets decoded. */
static unsigned layout_lanes(const char *name)
{
    if (strcmp(name, "pot4-avx512-shift") == 0)
        return 32;
    if (strcmp(name, "pot5-avx512-shift") == 0 || strcmp(name, "pot6-avx512-shift") == 0)
        return 16;
    fail_msg("%s repacks into a layout this test does not know", name);
    return 0;
}

static void test_layout_round_trip(void **state)
{
    (void)state;
    const bb_kernel *ks[64];
    size_t nk = runnable_pot_kernels(ks, 64), tested = 0;
    for (size_t j = 0; j < nk; j++) {
        const bb_kernel *kn = ks[j];
        if (!kn->repack || bb_isa_arch(kn->isa) != BB_ARCH_X86_64)
            continue; /* the decoder below reads the x86 layouts */
        unsigned bits = bits_of(kn->format), lanes = layout_lanes(kn->name);
        const bb_format *f = bb_format_get(kn->format);
        random_ctx ctx = {.state = 77 + bits, .n_codes = f->n_codes};
        bb_weights w = make_weights(kn->format, 3, 300, any_code, &ctx, 1.0f);
        assert_int_equal(kn->layout_bytes(&w), w.m * w.row_bytes); /* same size as canonical */
        uint8_t *layout = bb_alloc(kn->layout_bytes(&w));
        memset(layout, 0xA5, kn->layout_bytes(&w)); /* a repack must write every byte */
        kn->repack(&w, layout);
        for (size_t r = 0; r < w.m; r++)
            for (size_t i = 0; i < w.k_padded; i++) {
                const uint8_t *blk = layout + r * w.row_bytes + i / POT_BLOCK * f->block_bytes;
                uint32_t got = layout_code(blk, bits, lanes, (unsigned)(i % POT_BLOCK));
                uint32_t want = f->get_code(&w, r, i);
                if (got != want)
                    fail_msg("%s row %zu weight %zu: layout holds code %u, canonical %u", kn->name,
                             r, i, got, want);
            }
        bb_free(layout);
        bb_weights_free(&w);
        tested++;
    }
    print_message("layouts decoded: %zu\n", tested);
}

/* ------------------------------------------------------------------ every code */

typedef struct shape { size_t m, k, n; } shape;

/* Ragged K (a single weight, one short of a block, one past it, 1.3B/3B widths), M across
 * the driver's 64-row groups, N across its 4-token tiles (5 and 9 leave ragged tiles). */
static const shape SHAPES[] = {
    {1, 1, 1},   {3, 127, 2},  {2, 129, 5},   {70, 300, 1}, {5, 1000, 9},
    {3, 3200, 4}, {2, 5460, 3}, {66, 256, 6}, {1, 4096, 1},
};

static void test_every_code_matches_reference(void **state)
{
    (void)state;
    const bb_kernel *ks[64];
    size_t nk = runnable_pot_kernels(ks, 64);
    for (size_t s = 0; s < sizeof SHAPES / sizeof SHAPES[0]; s++) {
        const shape *sh = &SHAPES[s];
        size_t xs;
        float *x = tu_make_x(sh->k, sh->n, 300 + s, &xs);
        for (int fi = 0; fi < 3; fi++) {
            bb_format_id f = fi == 0 ? BB_FMT_POT4 : fi == 1 ? BB_FMT_POT5 : BB_FMT_POT6;
            random_ctx ctx = {.state = 1000 + 10 * s + fi, .n_codes = bb_format_get(f)->n_codes};
            bb_weights w = make_weights(f, sh->m, sh->k, any_code, &ctx, 1.0f);
            for (size_t r = 0; r < sh->m; r++) /* varied positive scales */
                w.scales[r] = ldexpf(1.0f + (float)r / 8.0f, -(int)(r % 5));
            float *yref = tu_run_kernel(bb_kernel_reference(f), &w, x, xs, sh->n);
            for (size_t j = 0; j < nk; j++) {
                if (ks[j]->format != f)
                    continue;
                float *y = tu_run_kernel(ks[j], &w, x, xs, sh->n);
                expect_same_y(ks[j]->name, y, yref, sh->m, sh->k, sh->n);
                bb_free(y);
            }
            bb_free(yref);
            bb_weights_free(&w);
        }
        bb_free(x);
    }
}

/* ------------------------------------------------------------------ accumulator range */

/* Rows of largest-magnitude weights (ecode 1, |w| = 2^emax): all +, a + half then a -
 * half (every partial sum is huge, the total 0), alternating signs, all -. */
typedef struct extreme_ctx { unsigned bits; size_t k; } extreme_ctx;

static uint32_t extreme_code(size_t row, size_t i, void *vctx)
{
    const extreme_ctx *c = vctx;
    uint32_t plus = 1, minus = (1u << (c->bits - 1)) | 1u;
    switch (row) {
    case 0: return plus;
    case 1: return i < c->k / 2 ? plus : minus;
    case 2: return i % 2 ? minus : plus;
    default: return minus;
    }
}

static int extreme_sign(size_t row, size_t i, size_t k)
{
    switch (row) {
    case 0: return 1;
    case 1: return i < k / 2 ? 1 : -1;
    case 2: return i % 2 ? -1 : 1;
    default: return -1;
    }
}

/* Token t's activation i: +127, -127, or +-127 alternating per block. */
static float extreme_x(size_t t, size_t i)
{
    if (t == 0)
        return 127.0f;
    if (t == 1)
        return -127.0f;
    return (i / POT_BLOCK) % 2 ? -127.0f : 127.0f;
}

static void test_accumulator_extremes(void **state)
{
    (void)state;
    enum { K = 65536, M = 4, N = 3 };
    const bb_kernel *ks[64];
    size_t nk = runnable_pot_kernels(ks, 64);
    size_t xs = bb_k_stride(K);
    float *x = bb_alloc(xs * N * sizeof(float));
    for (size_t t = 0; t < N; t++)
        for (size_t i = 0; i < K; i++)
            x[t * xs + i] = extreme_x(t, i); /* absmax 127: q = x, activation scale 1 */
    for (int fi = 0; fi < 3; fi++) {
        bb_format_id f = fi == 0 ? BB_FMT_POT4 : fi == 1 ? BB_FMT_POT5 : BB_FMT_POT6;
        extreme_ctx ctx = {.bits = bits_of(f), .k = K};
        int64_t big = (int64_t)1 << ((1 << (ctx.bits - 1)) - 2); /* 2^emax */
        bb_weights w = make_weights(f, M, K, extreme_code, &ctx, 1.0f);
        /* the exact dot products, so that y = (float)dot (both scales are 1) */
        float want[N * M];
        for (size_t t = 0; t < N; t++)
            for (size_t r = 0; r < M; r++) {
                int64_t dot = 0;
                for (size_t i = 0; i < K; i++)
                    dot += extreme_sign(r, i, K) * big * (int64_t)extreme_x(t, i);
                want[t * M + r] = (float)dot;
            }
        assert_true(want[0] == (float)(127 * big * K)); /* the bound of the overflow proof */
        for (size_t j = 0; j < nk; j++) {
            if (ks[j]->format != f)
                continue;
            float *y = tu_run_kernel(ks[j], &w, x, xs, N);
            expect_same_y(ks[j]->name, y, want, M, K, N);
            bb_free(y);
        }
        bb_weights_free(&w);
    }
    bb_free(x);
}

/* ------------------------------------------------------------------ long rows */

/* K past every kernel's int32 segment (the longest is 16384 blocks, pot4-avx512-shift), so
 * that each one widens into int64 more than once; random codes keep the dot products
 * well inside the reference's own accumulators. */
static void test_segments_of_long_rows(void **state)
{
    (void)state;
    const size_t k = 16384 * POT_BLOCK + 300, n = 2;
    const bb_kernel *ks[64];
    size_t nk = runnable_pot_kernels(ks, 64), xs;
    float *x = tu_make_x(k, n, 21, &xs);
    for (int fi = 0; fi < 3; fi++) {
        bb_format_id f = fi == 0 ? BB_FMT_POT4 : fi == 1 ? BB_FMT_POT5 : BB_FMT_POT6;
        random_ctx ctx = {.state = 99 + fi, .n_codes = bb_format_get(f)->n_codes};
        bb_weights w = make_weights(f, 1, k, any_code, &ctx, 1.0f);
        float *yref = tu_run_kernel(bb_kernel_reference(f), &w, x, xs, n);
        for (size_t j = 0; j < nk; j++) {
            if (ks[j]->format != f)
                continue;
            float *y = tu_run_kernel(ks[j], &w, x, xs, n);
            expect_same_y(ks[j]->name, y, yref, 1, k, n);
            bb_free(y);
        }
        bb_free(yref);
        bb_weights_free(&w);
    }
    bb_free(x);
}

/* ------------------------------------------------------------------ row ranges */

/* gemm_rows on [r0, r1) writes exactly those rows (the threads' chunks), and the same
 * values as a whole-matrix run. */
static void test_row_ranges(void **state)
{
    (void)state;
    enum { M = 150, K = 700, N = 5 };
    const bb_kernel *ks[64];
    size_t nk = runnable_pot_kernels(ks, 64), xs;
    float *x = tu_make_x(K, N, 9, &xs);
    for (size_t j = 0; j < nk; j++) {
        const bb_kernel *kn = ks[j];
        random_ctx ctx = {.state = 5 + j, .n_codes = bb_format_get(kn->format)->n_codes};
        bb_weights w = make_weights(kn->format, M, K, any_code, &ctx, 0.5f);
        float *whole = tu_run_kernel(kn, &w, x, xs, N);
        void *layout = kn->repack ? bb_alloc(kn->layout_bytes(&w)) : NULL;
        if (layout)
            kn->repack(&w, layout);
        void *act = bb_alloc(kn->act_bytes(K, N));
        float *y = bb_alloc(M * N * sizeof(float));
        for (size_t i = 0; i < M * N; i++)
            y[i] = NAN;
        bb_gemm_args a = {.w = &w, .layout = layout ? layout : w.data, .x = x, .x_stride = xs,
                          .y = y, .y_stride = M, .n = N, .act = act};
        kn->prepare_act(&a, 0, N);
        kn->gemm_rows(&a, 17, 96); /* crosses a 64-row group, odd bounds */
        for (size_t t = 0; t < N; t++)
            for (size_t r = 0; r < M; r++) {
                float v = y[t * M + r];
                if (r < 17 || r >= 96)
                    assert_true(isnan(v));
                else if (memcmp(&v, &whole[t * M + r], sizeof v) != 0)
                    fail_msg("%s rows [17, 96): row %zu token %zu differs from a whole run",
                             kn->name, r, t);
            }
        bb_free(y);
        bb_free(act);
        bb_free(layout);
        bb_free(whole);
        bb_weights_free(&w);
    }
    bb_free(x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layout_round_trip),
        cmocka_unit_test(test_every_code_matches_reference),
        cmocka_unit_test(test_accumulator_extremes),
        cmocka_unit_test(test_segments_of_long_rows),
        cmocka_unit_test(test_row_ranges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
