/* tests/test_ternary_simd.c - the ternary add-only and multiply-add SIMD kernels
 * (kernels/<arch>/tern2_*, tern1_6_* except _lut): every kernel of this architecture
 * bit-exact against the scalar reference on ragged shapes, every tern1.6 byte value, the
 * accumulator extremes at and beyond each kernel's K segment, and row sub-ranges; on
 * x86-64 also the AVX kernels' own layouts decoded back by an independent reading of the
 * documented format, and the activation bit planes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ref/ref.h"
#include "testutil.h"
#if defined(__x86_64__)
#include "x86/ternary_simd.h"
#endif

enum { CODE_NEG = 0, CODE_ZERO = 1, CODE_POS = 2 };

/* The add-only and multiply-add SIMD kernels of this architecture, from the table. */
static const bb_kernel *KERNELS[64];
static size_t N_KERNELS;

static void collect_kernels(void)
{
    for (size_t i = 0; i < bb_kernel_count; i++) {
        const bb_kernel *kn = bb_kernels[i];
        if ((kn->format == BB_FMT_TERN2 || kn->format == BB_FMT_TERN1_6) &&
            kn->isa != BB_ISA_SCALAR && strcmp(kn->method, "lut") != 0 &&
            N_KERNELS < sizeof KERNELS / sizeof KERNELS[0])
            KERNELS[N_KERNELS++] = kn;
    }
}

static bb_weights quantized(bb_format_id f, const float *w, size_t m, size_t k)
{
    bb_weights q;
    assert_int_equal(bb_weights_alloc(&q, f, m, k), 0);
    bb_format_get(f)->quantize(w, &q);
    return q;
}

/* Weights with the given code at every position (row r, i): code(r, i). */
static bb_weights with_codes(bb_format_id f, size_t m, size_t k, uint32_t (*code)(size_t, size_t))
{
    bb_weights q;
    assert_int_equal(bb_weights_alloc(&q, f, m, k), 0);
    bb_weights_fill_zero(&q);
    q.scales[0] = 0.5f;
    for (size_t r = 0; r < m; r++)
        for (size_t i = 0; i < k; i++)
            bb_format_get(f)->set_code(&q, r, i, code(r, i));
    return q;
}

/* Runs kn and the reference on (w, x); fails unless every output is bit-identical. */
static void expect_same_as_reference(const bb_kernel *kn, const bb_weights *w, const float *x,
                                     size_t x_stride, size_t n)
{
    const bb_kernel *ref = bb_kernel_reference(w->format);
    float *y = tu_run_kernel(kn, w, x, x_stride, n);
    float *yr = tu_run_kernel(ref, w, x, x_stride, n);
    for (size_t i = 0; i < n * w->m; i++)
        if (memcmp(&y[i], &yr[i], sizeof(float)) != 0)
            fail_msg("%s m=%zu k=%zu n=%zu: y[token %zu][row %zu] = %.9g, reference %.9g", kn->name,
                     w->m, w->k, n, i / w->m, i % w->m, y[i], yr[i]);
    bb_free(y);
    bb_free(yr);
}

static int runnable_or_note(const bb_kernel *kn)
{
    if (bb_kernel_runnable(kn))
        return 1;
    fprintf(stderr, "note: %s not runnable on this CPU, not tested here\n", kn->name);
    return 0;
}

static uint8_t *repacked(const bb_kernel *kn, const bb_weights *w)
{
    uint8_t *layout = bb_alloc(kn->layout_bytes(w));
    assert_non_null(layout);
    kn->repack(w, layout);
    return layout;
}

/* ------------------------------------------------------------------ layouts (x86-64) */
#if defined(__x86_64__)

static const bb_kernel *kernel_named(const char *name)
{
    for (size_t i = 0; i < N_KERNELS; i++)
        if (strcmp(KERNELS[i]->name, name) == 0)
            return KERNELS[i];
    fail_msg("kernel %s is not among this architecture's ternary kernels", name);
    return NULL;
}

static int bit(const uint8_t *p, size_t i) { return (p[i / 8] >> (i % 8)) & 1; }

/* tern2-avx512-addonly: per row, 512-weight blocks [P 64 B | Q 64 B], a last 256-weight
 * half block [P 32 B | Q 32 B]; then int32 128 |P| + 127 |Q| per row. */
static void test_tern2_bitplane_layout(void **state)
{
    (void)state;
    static const size_t ks[] = {1, 255, 256, 257, 512, 700, 1024, 4352};
    const bb_kernel *kn = kernel_named("tern2-avx512-addonly");
    for (size_t c = 0; c < sizeof ks / sizeof ks[0]; c++) {
        size_t m = 3, k = ks[c];
        float *w32 = malloc(m * k * sizeof(float));
        tu_fill_normalish(w32, m * k, 1.0f, 77 + c);
        bb_weights w = quantized(BB_FMT_TERN2, w32, m, k);
        assert_int_equal(kn->layout_bytes(&w), m * w.row_bytes + bb_round_up(4 * m, 64));
        uint8_t *layout = repacked(kn, &w);
        const int32_t *corr = (const int32_t *)(layout + m * w.row_bytes);
        for (size_t r = 0; r < m; r++) {
            const uint8_t *row = layout + r * w.row_bytes;
            int32_t pos = 0, neg = 0;
            for (size_t i = 0; i < w.k_padded; i++) {
                size_t blk = i / 512, in = i % 512;
                int half = w.k_padded - blk * 512 == 256;
                const uint8_t *p = row + blk * 128, *q = p + (half ? 32 : 64);
                int pb = bit(p, in), qb = bit(q, in);
                uint32_t got = pb && qb ? 99 : pb ? CODE_POS : qb ? CODE_NEG : CODE_ZERO;
                uint32_t want = bb_tern2_get_code(&w, r, i);
                if (got != want)
                    fail_msg("k=%zu row %zu weight %zu: planes say code %u, canonical %u", k, r, i,
                             got, want);
                pos += pb;
                neg += qb;
            }
            assert_int_equal(corr[r], 128 * pos + 127 * neg);
        }
        bb_free(layout);
        bb_weights_free(&w);
        free(w32);
    }
}

/* tern2-avx2-addonly: canonical positions, code rewritten -1 -> 3, 0 -> 0, +1 -> 1. */
static void test_tern2_signed_code_layout(void **state)
{
    (void)state;
    const bb_kernel *kn = kernel_named("tern2-avx2-addonly");
    size_t m = 2, k = 777;
    float *w32 = malloc(m * k * sizeof(float));
    tu_fill_normalish(w32, m * k, 1.0f, 5);
    bb_weights w = quantized(BB_FMT_TERN2, w32, m, k);
    assert_int_equal(kn->layout_bytes(&w), m * w.row_bytes);
    uint8_t *layout = repacked(kn, &w);
    static const uint32_t from_signed[4] = {CODE_ZERO, CODE_POS, 99, CODE_NEG};
    for (size_t r = 0; r < m; r++)
        for (size_t i = 0; i < w.k_padded; i++) {
            size_t byte = r * w.row_bytes + i / 256 * 64 + i % 64, lane = i % 256 / 64;
            uint32_t got = from_signed[(layout[byte] >> (2 * lane)) & 3];
            assert_int_equal(got, bb_tern2_get_code(&w, r, i));
        }
    bb_free(layout);
    bb_weights_free(&w);
    free(w32);
}

/* tern1.6-avx512-addonly: each row's canonical bytes in groups of 512 (the last group
 * shorter), bit-transposed - plane i of a group of `bytes` bytes is bytes / 8 bytes long and
 * holds bit i of byte j at bit j; then the per-row offsets. */
static void test_tern1_6_bitsliced_layout(void **state)
{
    (void)state;
    static const size_t ks[] = {1, 320, 2560, 2561, 4096, 6000};
    const bb_kernel *kn = kernel_named("tern1.6-avx512-addonly");
    for (size_t c = 0; c < sizeof ks / sizeof ks[0]; c++) {
        size_t m = 3, k = ks[c];
        float *w32 = malloc(m * k * sizeof(float));
        tu_fill_normalish(w32, m * k, 1.0f, 9 + c);
        bb_weights w = quantized(BB_FMT_TERN1_6, w32, m, k);
        assert_int_equal(kn->layout_bytes(&w), m * w.row_bytes + bb_round_up(4 * m, 64));
        uint8_t *layout = repacked(kn, &w);
        for (size_t r = 0; r < m; r++) {
            const uint8_t *row = layout + r * w.row_bytes, *canon = w.data + r * w.row_bytes;
            for (size_t g0 = 0; g0 < w.row_bytes; g0 += 512) {
                size_t bytes = w.row_bytes - g0 < 512 ? w.row_bytes - g0 : 512;
                for (size_t j = 0; j < bytes; j++) {
                    unsigned byte = 0;
                    for (int i = 0; i < 8; i++)
                        byte |= (unsigned)bit(row + g0 + i * bytes / 8, j) << i;
                    if (byte != canon[g0 + j])
                        fail_msg("k=%zu row %zu byte %zu: planes give %u, canonical %u", k, r,
                                 g0 + j, byte, canon[g0 + j]);
                }
            }
        }
        const int32_t *corr = (const int32_t *)(layout + m * w.row_bytes);
        for (size_t r = 0; r < m; r++) {
            int32_t want = 0;
            for (size_t i = 0; i < w.k_padded; i++) {
                uint32_t code = bb_tern1_6_get_code(&w, r, i);
                want += code == CODE_POS ? 128 : code == CODE_NEG ? 127 : 0;
            }
            assert_int_equal(corr[r], want);
        }
        bb_free(layout);
        bb_weights_free(&w);
        free(w32);
    }
}

/* The bit-serial kernels' activations: the q8 blob, then per token planes of u = q + 128,
 * 8 per block of 512 lanes, bit b of plane b = bit b of u; q = 0 (u = 128) past k_stride.
 * Lane order: tern2, weight order; tern1.6, per full group of 2560 weights and trit t, lane
 * chunk i (64 lanes) = activations 2560 g + 320 i + 64 t + 0..63, and in the short last
 * group of nb blocks, chunk c = trit c / nb of block c % nb, none past 5 nb. */
static size_t lane_activation(bb_format_id f, size_t k, size_t lane)
{
    if (f == BB_FMT_TERN2)
        return lane;
    size_t blocks = (k + 319) / 320, full = blocks / 8, nb = blocks % 8;
    if (lane < full * 2560) {
        size_t g = lane / 2560, t = lane % 2560 / 512, i = lane % 512 / 64;
        return 2560 * g + 320 * i + 64 * t + lane % 64;
    }
    size_t c = (lane - full * 2560) / 64;
    return c < 5 * nb ? 2560 * full + 320 * (c % nb) + 64 * (c / nb) + lane % 64 : SIZE_MAX;
}

static void test_activation_planes(void **state)
{
    (void)state;
    static const char *const names[] = {"tern2-avx512-addonly", "tern1.6-avx512-addonly"};
    for (int c = 0; c < 2; c++) {
        const bb_kernel *kn = kernel_named(names[c]);
        if (!runnable_or_note(kn))
            continue;
        size_t m = 1, k = 2700, n = 3, x_stride; /* tern1.6: one full group, a 1-block tail */
        float *x = tu_make_x(k, n, 21, &x_stride);
        bb_weights w;
        assert_int_equal(bb_weights_alloc(&w, kn->format, m, k), 0);
        void *act = bb_alloc(kn->act_bytes(k, n));
        bb_gemm_args a = {.w = &w, .x = x, .x_stride = x_stride, .n = n, .act = act};
        kn->prepare_act(&a, 0, n);
        bb_act_q8 q = bb_act_q8_view(act, k, n);
        const uint8_t *planes = ts_uplanes(act, k, n);
        size_t lanes = ts_uplane_bytes(k, kn->format == BB_FMT_TERN2 ? 512 : 2560);
        assert_true(lanes >= q.k_stride);
        size_t used = lanes; /* tern1.6: the dense short group fills ceil(5 nb / 8) blocks */
        if (kn->format == BB_FMT_TERN1_6)
            used = (k + 319) / 320 / 8 * 2560 + ((k + 319) / 320 % 8 * 5 + 7) / 8 * 512;
        for (size_t t = 0; t < n; t++)
            for (size_t lane = 0; lane < used; lane++) {
                size_t i = lane_activation(kn->format, k, lane);
                unsigned u = (uint8_t)((i < q.k_stride ? q.q[t * q.k_stride + i] : 0) + 128);
                for (int b = 0; b < TS_UPLANES; b++) {
                    const uint8_t *plane = planes + t * lanes + lane / 512 * 512 + 64 * b;
                    if (bit(plane, lane % 512) != (int)((u >> b) & 1))
                        fail_msg("%s token %zu lane %zu plane %d: bit %d, u = %u", kn->name, t,
                                 lane, b, bit(plane, lane % 512), u);
                }
            }
        bb_free(act);
        bb_free(x);
        bb_weights_free(&w);
    }
}

#endif /* __x86_64__: layouts */

/* ------------------------------------------------------------------ against the reference */

static const bb_kernel *shape_kernel;

static void check_shape(const float *w32, size_t m, size_t k, const float *x, size_t x_stride,
                        size_t n)
{
    bb_weights w = quantized(shape_kernel->format, w32, m, k);
    expect_same_as_reference(shape_kernel, &w, x, x_stride, n);
    bb_weights_free(&w);
}

/* Every kernel, M and N in 1..3, K around every block and plane-block edge. */
static void test_ragged_shapes_match_reference(void **state)
{
    (void)state;
    static const size_t ks[] = {1, 5, 63, 64, 255, 256, 257, 319, 320, 321, 511, 512, 513,
                                767, 768, 2560, 2561, 3200, 5460};
    for (size_t i = 0; i < N_KERNELS; i++) {
        if (!runnable_or_note(KERNELS[i]))
            continue;
        shape_kernel = KERNELS[i];
        tu_for_small_shapes(ks, sizeof ks / sizeof ks[0], 1.0f, check_shape);
    }
}

/* More rows than any row group, so groups and the ragged tail both run; token counts on
 * both sides of the prefill path (decode once, 4-token tiles, ragged tile) and K across
 * several of its segments (4096 weights). */
static void test_row_groups_and_tokens(void **state)
{
    (void)state;
    static const size_t ns[] = {3, 4, 9}, ks[] = {1111, 9000};
    size_t m = 37, x_stride;
    for (size_t c = 0; c < sizeof ks / sizeof ks[0]; c++)
        for (size_t d = 0; d < sizeof ns / sizeof ns[0]; d++) {
            size_t k = ks[c], n = ns[d];
            float *w32 = malloc(m * k * sizeof(float));
            tu_fill_normalish(w32, m * k, 1.0f, 31 + c);
            float *x = tu_make_x(k, n, 32 + d, &x_stride);
            for (size_t i = 0; i < N_KERNELS; i++) {
                if (!runnable_or_note(KERNELS[i]))
                    continue;
                bb_weights w = quantized(KERNELS[i]->format, w32, m, k);
                expect_same_as_reference(KERNELS[i], &w, x, x_stride, n);
                bb_weights_free(&w);
            }
            bb_free(x);
            free(w32);
        }
}

/* Every tern1.6 byte value 0..242 at every byte position: weight (block b, byte j, trit t)
 * gets digit t of n = (64 b + j) mod 243, so the decode thresholds 86 and 171 are crossed
 * in every trit. */
static uint32_t all_bytes_code(size_t r, size_t i)
{
    size_t blk = i / 320, j = i % 64, t = i % 320 / 64;
    unsigned n = (unsigned)((64 * blk + j + 17 * r) % 243);
    for (size_t d = 4; d > t; d--)
        n /= 3;
    return n % 3;
}

static void test_tern1_6_every_byte_value(void **state)
{
    (void)state;
    size_t m = 2, k = 320 * 8, n = 2, x_stride;
    float *x = tu_make_x(k, n, 3, &x_stride);
    bb_weights w = with_codes(BB_FMT_TERN1_6, m, k, all_bytes_code);
    for (size_t i = 0; i < N_KERNELS; i++)
        if (KERNELS[i]->format == BB_FMT_TERN1_6 && runnable_or_note(KERNELS[i]))
            expect_same_as_reference(KERNELS[i], &w, x, x_stride, n);
    bb_weights_free(&w);
    bb_free(x);
}

/* ------------------------------------------------------------------ extremes */

static uint32_t all_pos(size_t r, size_t i) { (void)r, (void)i; return CODE_POS; }
static uint32_t all_neg(size_t r, size_t i) { (void)r, (void)i; return CODE_NEG; }
static uint32_t alternating(size_t r, size_t i) { return (uint32_t)((i + r) % 3); }

/* All activations x = 1 (q = 127) or -1, n tokens: |acc| up to 127 K, the largest any kernel meets;
 * exact int32 results are checked against 127 K directly, not only against the reference.
 * K = 65536 (the suite's largest); the multiply-add kernels' segment lengths are crossed
 * by K = 330 000 (tern1.6, 1024 blocks = 327 680 weights) and 2 100 000 (tern2, 8192 blocks
 * = 2 097 152), the bit-serial tern1.6 segment (40 960) by both. */
static void check_extreme(bb_format_id f, size_t k, uint32_t (*code)(size_t, size_t), float xv,
                          size_t n)
{
    size_t m = 2, x_stride = bb_k_stride(k);
    float *x = bb_alloc(n * x_stride * sizeof(float));
    for (size_t t = 0; t < n; t++)
        for (size_t i = 0; i < k; i++)
            x[t * x_stride + i] = xv;
    bb_weights w = with_codes(f, m, k, code);
    for (size_t i = 0; i < N_KERNELS; i++) {
        const bb_kernel *kn = KERNELS[i];
        if (kn->format != f || !bb_kernel_runnable(kn))
            continue;
        expect_same_as_reference(kn, &w, x, x_stride, n);
        if (code != alternating) {
            float *y = tu_run_kernel(kn, &w, x, x_stride, n);
            double acc = (double)(code == all_pos ? 127 : -127) * (double)k * (xv > 0 ? 1 : -1);
            float want = bb_rescale_i32((int32_t)acc, w.scales[0], (xv > 0 ? xv : -xv) / 127.0f);
            for (size_t t = 0; t < n; t++)
                if (memcmp(&y[t * m], &want, sizeof want) != 0)
                    fail_msg("%s k=%zu n=%zu: y[%zu] = %.9g, expected exactly %.9g (acc %.0f)",
                             kn->name, k, n, t, y[t * m], want, acc);
            bb_free(y);
        }
    }
    bb_weights_free(&w);
    bb_free(x);
}

static void test_accumulator_extremes(void **state)
{
    (void)state;
    for (int f = BB_FMT_TERN2; f <= BB_FMT_TERN1_6; f++)
        for (size_t n = 1; n <= 4; n += 3) { /* one token, and the prefill path */
            check_extreme((bb_format_id)f, 65536, all_pos, 1.0f, n);
            check_extreme((bb_format_id)f, 65536, all_neg, 1.0f, n);
            check_extreme((bb_format_id)f, 65536, all_pos, -1.0f, n);
            check_extreme((bb_format_id)f, 65536, alternating, 1.0f, n);
        }
    check_extreme(BB_FMT_TERN1_6, 330000, all_pos, 1.0f, 1);
    check_extreme(BB_FMT_TERN1_6, 330000, alternating, -1.0f, 1);
    check_extreme(BB_FMT_TERN2, 2100000, all_pos, 1.0f, 1);
    check_extreme(BB_FMT_TERN2, 2100000, all_neg, -1.0f, 1);
}

/* gemm_rows(r0, r1) writes rows [r0, r1) of every token and nothing else. */
static void test_row_range_only(void **state)
{
    (void)state;
    size_t m = 40, k = 900, n = 2, x_stride, r0 = 16, r1 = 35;
    float *w32 = malloc(m * k * sizeof(float));
    tu_fill_normalish(w32, m * k, 1.0f, 8);
    float *x = tu_make_x(k, n, 9, &x_stride);
    for (size_t i = 0; i < N_KERNELS; i++) {
        const bb_kernel *kn = KERNELS[i];
        if (!runnable_or_note(kn))
            continue;
        bb_weights w = quantized(kn->format, w32, m, k);
        float *full = tu_run_kernel(kn, &w, x, x_stride, n);
        void *layout = kn->repack ? repacked(kn, &w) : NULL;
        void *act = bb_alloc(kn->act_bytes(k, n));
        float *y = bb_alloc(n * m * sizeof(float));
        for (size_t j = 0; j < n * m; j++)
            y[j] = -12345.0f;
        bb_gemm_args a = {.w = &w, .layout = layout ? layout : w.data, .x = x,
                          .x_stride = x_stride, .y = y, .y_stride = m, .n = n, .act = act};
        kn->prepare_act(&a, 0, n);
        kn->gemm_rows(&a, r0, r1);
        for (size_t t = 0; t < n; t++)
            for (size_t r = 0; r < m; r++) {
                float want = r >= r0 && r < r1 ? full[t * m + r] : -12345.0f;
                if (memcmp(&y[t * m + r], &want, sizeof want) != 0)
                    fail_msg("%s rows [%zu, %zu): y[%zu][%zu] = %g, expected %g", kn->name, r0, r1,
                             t, r, y[t * m + r], want);
            }
        bb_free(y);
        bb_free(act);
        bb_free(layout);
        bb_free(full);
        bb_weights_free(&w);
    }
    bb_free(x);
    free(w32);
}

/* Table entries say what the kernels are: names, methods, multiply-free flags. */
static void test_kernel_entries(void **state)
{
    (void)state;
#if defined(__x86_64__)
    assert_int_equal(N_KERNELS, 8);
#endif
    for (size_t i = 0; i < N_KERNELS; i++) {
        const bb_kernel *kn = KERNELS[i];
        int addonly = strcmp(kn->method, "addonly") == 0;
        assert_true(addonly || strcmp(kn->method, "madd") == 0);
        assert_int_equal(kn->multiply_free, addonly);
        assert_non_null(kn->hot_symbol);
        assert_true(kn->format == BB_FMT_TERN2 || kn->format == BB_FMT_TERN1_6);
        char want[64];
        snprintf(want, sizeof want, "%s-%s-%s", bb_format_get(kn->format)->name,
                 bb_isa_name(kn->isa), kn->method);
        assert_string_equal(kn->name, want);
        assert_ptr_equal(bb_kernel_find_exact(kn->name), kn);
    }
}

int main(void)
{
    collect_kernels();
    const struct CMUnitTest tests[] = {
#if defined(__x86_64__)
        cmocka_unit_test(test_tern2_bitplane_layout),
        cmocka_unit_test(test_tern2_signed_code_layout),
        cmocka_unit_test(test_tern1_6_bitsliced_layout),
        cmocka_unit_test(test_activation_planes),
#endif
        cmocka_unit_test(test_ragged_shapes_match_reference),
        cmocka_unit_test(test_row_groups_and_tokens),
        cmocka_unit_test(test_tern1_6_every_byte_value),
        cmocka_unit_test(test_accumulator_extremes),
        cmocka_unit_test(test_row_range_only),
        cmocka_unit_test(test_kernel_entries),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
