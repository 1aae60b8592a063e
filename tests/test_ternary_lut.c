/* tests/test_ternary_lut.c - the ternary table-lookup kernels (kernels/x86/tern*_lut.c): their
 * repacked layouts decoded by an independent model written here from the files' header
 * comments (round trip against the canonical codes, padding, per-row corrections), their
 * per-token tables against sums computed here from the int8 activations, and their output
 * bit for bit against the scalar reference on ragged shapes, n > 1, extreme values and
 * row sub-ranges.  Kernels this CPU cannot run are skipped (and say so). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

enum { CODE_NEG = 0, CODE_ZERO = 1, CODE_POS = 2 };

/* ------------------------------------------------------------------ layout model */

typedef struct lut_model {
    const char *name;
    unsigned group; /* weights per lookup */
    int balanced;   /* balanced index (magnitude + sign) or plain */
    size_t tile_rows, pass_tiles, unit_groups, unit_tile_bytes, unit_table_bytes;
    /* Index (magnitude or plain) and sign of group gi of row r in a tile's unit bytes. */
    void (*read_index)(const uint8_t *unit, size_t r, size_t gi, unsigned *index, unsigned *neg);
    /* Where entry e of group gi lives in a unit's table bytes: low byte and high byte. */
    void (*entry_at)(size_t gi, unsigned e, size_t *lo, size_t *hi);
    /* Where its negation lives, for tables that carry the sign (NULL: they do not, and the
     * row's correction is its count of negative groups instead of zero). */
    void (*negated_at)(size_t gi, unsigned e, size_t *lo, size_t *hi);
} lut_model;

static void t2_512_read(const uint8_t *u, size_t r, size_t gi, unsigned *index, unsigned *neg)
{
    (void)gi;
    assert_int_equal(u[r] & 0x40, 0); /* bit 6 unused */
    *index = u[r] & 0x3f;
    *neg = u[r] >> 7;
}
static void t2_512_entry(size_t gi, unsigned e, size_t *lo, size_t *hi)
{
    (void)gi;
    *lo = e;
    *hi = 64 + e;
}

static void t16_512_read(const uint8_t *u, size_t r, size_t gi, unsigned *index, unsigned *neg)
{
    uint8_t byte = u[gi / 2 * 64 + r];
    *index = gi % 2 ? byte >> 4 : byte & 0x0f;
    *neg = u[256 + r] >> gi & 1u;
}
static void t16_512_entry(size_t gi, unsigned e, size_t *lo, size_t *hi)
{
    *lo = 64 * gi + e;
    *hi = 64 * gi + 32 + e;
}
static void t16_512_negated(size_t gi, unsigned e, size_t *lo, size_t *hi)
{
    t16_512_entry(gi, e + 16, lo, hi);
}

static void t2_256_read(const uint8_t *u, size_t r, size_t gi, unsigned *index, unsigned *neg)
{
    uint8_t byte = u[16 * (gi % 2) + r];
    *index = gi < 2 ? byte & 0x0f : byte >> 4;
    *neg = 0;
}
static void t2_256_entry(size_t gi, unsigned e, size_t *lo, size_t *hi)
{
    *lo = 64 * (gi / 2) + 16 * (gi % 2) + e;
    *hi = *lo + 32;
}

static void t16_256_read(const uint8_t *u, size_t r, size_t gi, unsigned *index, unsigned *neg)
{
    size_t lane = gi / 8, j = gi % 8;
    uint8_t byte = u[j / 2 * 32 + 16 * lane + r];
    *index = j % 2 ? byte >> 4 : byte & 0x0f;
    *neg = u[128 + 16 * lane + r] >> j & 1u;
}
static void t16_256_entry(size_t gi, unsigned e, size_t *lo, size_t *hi)
{
    *lo = 64 * (gi % 8) + 16 * (gi / 8) + e;
    *hi = *lo + 32;
}

static const lut_model MODELS[] = {
    {"tern2-avx512-lut", 4, 1, 64, 4, 1, 64, 128, t2_512_read, t2_512_entry, NULL},
    {"tern1.6-avx512-lut", 3, 1, 64, 4, 8, 320, 512, t16_512_read, t16_512_entry, t16_512_negated},
    {"tern2-avx2-lut", 2, 0, 16, 2, 4, 32, 128, t2_256_read, t2_256_entry, NULL},
    {"tern1.6-avx2-lut", 3, 1, 16, 2, 16, 160, 512, t16_256_read, t16_256_entry, NULL},
};
#define N_MODELS (sizeof MODELS / sizeof MODELS[0])

static size_t ceil_div(size_t a, size_t b) { return (a + b - 1) / b; }
static size_t units_of(const lut_model *lm, size_t k)
{
    return ceil_div(k, lm->group * lm->unit_groups);
}
static size_t tiles_of(const lut_model *lm, size_t m) { return ceil_div(m, lm->tile_rows); }
static size_t codes_bytes(const lut_model *lm, size_t m, size_t k)
{
    return tiles_of(lm, m) * units_of(lm, k) * lm->unit_tile_bytes;
}

/* The g weights (-1, 0, +1, most significant first) an index stands for; 0 if none does. */
static int pattern_of(const lut_model *lm, unsigned index, unsigned neg, int *w)
{
    unsigned patterns = 1;
    for (unsigned t = 0; t < lm->group; t++)
        patterns *= 3;
    for (unsigned p = 0; p < patterns; p++) {
        int v = 0, d[8];
        for (unsigned t = lm->group, q = p; t-- > 0; q /= 3)
            d[t] = (int)(q % 3) - 1;
        for (unsigned t = 0; t < lm->group; t++)
            v = 3 * v + d[t];
        int match = lm->balanced ? (unsigned)abs(v) == index && (unsigned)(v < 0) == neg
                                 : p == index && !neg;
        if (match) {
            memcpy(w, d, lm->group * sizeof *w);
            return 1;
        }
    }
    return 0;
}

/* Unit bytes of tile row `row`'s tile for unit u. */
static const uint8_t *unit_bytes(const lut_model *lm, const uint8_t *layout, size_t m, size_t k,
                                 size_t row, size_t u)
{
    size_t pass_rows = lm->tile_rows * lm->pass_tiles, pass = row / pass_rows;
    size_t tile = row % pass_rows / lm->tile_rows, tiles = tiles_of(lm, m);
    size_t nt = tiles - pass * lm->pass_tiles < lm->pass_tiles ? tiles - pass * lm->pass_tiles
                                                               : lm->pass_tiles;
    size_t pass_base = pass * lm->pass_tiles * units_of(lm, k) * lm->unit_tile_bytes;
    return layout + pass_base + (u * nt + tile) * lm->unit_tile_bytes;
}

static bb_weights quantized(bb_format_id f, const float *w, size_t m, size_t k)
{
    bb_weights q;
    assert_int_equal(bb_weights_alloc(&q, f, m, k), 0);
    bb_format_get(f)->quantize(w, &q);
    return q;
}

/* Every group of every padded row decodes to the canonical codes (zero codes beyond k and
 * m), and the int32 after the codes is the row's count of negative groups where the tables
 * do not carry the sign (zero where they do). */
static void check_layout(const lut_model *lm, const bb_kernel *kn, const bb_weights *q)
{
    size_t units = units_of(lm, q->k), len = units * lm->unit_groups * lm->group;
    size_t rows = tiles_of(lm, q->m) * lm->tile_rows;
    const bb_format *f = bb_format_get(q->format);
    assert_int_equal(kn->layout_bytes(q), codes_bytes(lm, q->m, q->k) + rows * sizeof(int32_t));
    uint8_t *layout = bb_alloc(kn->layout_bytes(q));
    kn->repack(q, layout);
    const int32_t *corrections = (const int32_t *)(layout + codes_bytes(lm, q->m, q->k));
    for (size_t r = 0; r < rows; r++) {
        int32_t negatives = 0;
        for (size_t g = 0; g < len / lm->group; g++) {
            unsigned index, neg;
            int w[8];
            lm->read_index(unit_bytes(lm, layout, q->m, q->k, r, g / lm->unit_groups),
                           r % lm->tile_rows, g % lm->unit_groups, &index, &neg);
            if (!pattern_of(lm, index, neg, w))
                fail_msg("%s %zux%zu: row %zu group %zu: index %u sign %u is no pattern", lm->name,
                         q->m, q->k, r, g, index, neg);
            for (unsigned t = 0; t < lm->group; t++) {
                size_t i = g * lm->group + t;
                uint32_t want = r < q->m && i < q->k ? f->get_code(q, r, i) : CODE_ZERO;
                if ((uint32_t)(w[t] + 1) != want)
                    fail_msg("%s %zux%zu: weight (%zu, %zu) decodes to code %d, canonical %u",
                             lm->name, q->m, q->k, r, i, w[t] + 1, want);
            }
            negatives += (int32_t)neg;
        }
        assert_int_equal(corrections[r], lm->negated_at ? 0 : negatives);
    }
    bb_free(layout);
}

static const bb_kernel *runnable(const lut_model *lm)
{
    const bb_kernel *kn = bb_kernel_find_exact(lm->name);
    if (!kn && bb_arch_host() != BB_ARCH_X86_64) {
        /* the models are of the x86 kernels; other architectures' kernels are held to the
         * reference by tests/test_kernels.c */
        fprintf(stderr, "test_ternary_lut: %s skipped: not built for this architecture\n", lm->name);
        return NULL;
    }
    if (!kn)
        fail_msg("%s is not registered", lm->name);
    if (!bb_kernel_runnable(kn)) {
        fprintf(stderr, "test_ternary_lut: %s skipped: this CPU lacks its features\n", lm->name);
        return NULL;
    }
    return kn;
}

static void test_layout_round_trip(void **state)
{
    (void)state;
    /* Ragged against every unit (4, 24, 8, 48 weights) and tile (64, 16 rows, passes). */
    static const size_t ms[] = {1, 3, 17, 64, 65, 300};
    static const size_t ks[] = {1, 2, 5, 23, 25, 47, 49, 100, 333};
    for (size_t i = 0; i < N_MODELS; i++) {
        const bb_kernel *kn = runnable(&MODELS[i]);
        if (!kn)
            continue;
        for (size_t a = 0; a < sizeof ms / sizeof *ms; a++)
            for (size_t b = 0; b < sizeof ks / sizeof *ks; b++) {
                size_t m = ms[a], k = ks[b];
                float *w = malloc(m * k * sizeof(float));
                tu_fill_normalish(w, m * k, 1.0f, 31 * m + k);
                bb_weights q = quantized(kn->format, w, m, k);
                check_layout(&MODELS[i], kn, &q);
                bb_weights_free(&q);
                free(w);
            }
    }
}

/* ------------------------------------------------------------------ tables */

static void check_tables(const lut_model *lm, const bb_kernel *kn, size_t k, size_t n,
                         const float *x, size_t x_stride)
{
    size_t units = units_of(lm, k), groups = units * lm->unit_groups;
    bb_weights w;
    assert_int_equal(bb_weights_alloc(&w, kn->format, 1, k), 0);
    bb_weights_fill_zero(&w);
    void *act = bb_alloc(kn->act_bytes(k, n));
    bb_gemm_args a = {.w = &w, .x = x, .x_stride = x_stride, .n = n, .act = act};
    kn->prepare_act(&a, 0, n);
    bb_act_q8 view = bb_act_q8_view(act, k, n);
    const uint8_t *tables = (const uint8_t *)act + bb_act_q8_bytes(k, n);
    unsigned entries = 1;
    for (unsigned t = 0; t < lm->group; t++)
        entries *= 3;
    entries = lm->balanced ? (entries + 1) / 2 : entries;
    for (size_t t = 0; t < n; t++, tables += units * lm->unit_table_bytes)
        for (size_t g = 0; g < groups; g++)
            for (unsigned e = 0; e < entries; e++) {
                int d[8], want = 0;
                size_t lo, hi;
                assert_true(pattern_of(lm, e, 0, d));
                for (unsigned j = 0; j < lm->group; j++) {
                    size_t i = g * lm->group + j;
                    want += d[j] * (i < k ? view.q[t * view.k_stride + i] : 0);
                }
                lm->entry_at(g % lm->unit_groups, e, &lo, &hi);
                const uint8_t *u = tables + g / lm->unit_groups * lm->unit_table_bytes;
                int16_t got = (int16_t)(u[lo] | u[hi] << 8);
                if (got != want)
                    fail_msg("%s k=%zu token %zu group %zu entry %u: table %d, sum %d", lm->name, k,
                             t, g, e, got, want);
            }
    bb_free(act);
    bb_weights_free(&w);
}

static void test_table_build(void **state)
{
    (void)state;
    static const size_t ks[] = {1, 7, 24, 48, 50, 257, 1280, 3200};
    for (size_t i = 0; i < N_MODELS; i++) {
        const bb_kernel *kn = runnable(&MODELS[i]);
        for (size_t b = 0; kn && b < sizeof ks / sizeof *ks; b++) {
            size_t k = ks[b], n = b % 2 ? 3 : 1, x_stride;
            float *x = tu_make_x(k, n, 7 * k + n, &x_stride);
            check_tables(&MODELS[i], kn, k, n, x, x_stride);
            bb_free(x);
        }
    }
}

/* Tables of the largest entries: activations +-127 (|sum| up to 127 g, past int8). */
static void test_table_extremes(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_MODELS; i++) {
        const bb_kernel *kn = runnable(&MODELS[i]);
        if (!kn)
            continue;
        size_t k = 96, x_stride;
        float *x = tu_make_x(k, 2, 5, &x_stride);
        for (size_t j = 0; j < k; j++) {
            x[j] = j % 5 == 1 ? -1.0f : 1.0f;       /* token 0: +-127 */
            x[x_stride + j] = j % 2 ? -1.0f : 1.0f; /* token 1: alternating */
        }
        check_tables(&MODELS[i], kn, k, 2, x, x_stride);
        bb_free(x);
    }
}

/* ------------------------------------------------------------------ kernel vs reference */

static void expect_same_as_reference(const bb_kernel *kn, const float *w32, size_t m, size_t k,
                                     const float *x, size_t x_stride, size_t n)
{
    bb_weights q = quantized(kn->format, w32, m, k);
    const bb_kernel *ref = bb_kernel_reference(kn->format);
    float *want = tu_run_kernel(ref, &q, x, x_stride, n);
    float *got = tu_run_kernel(kn, &q, x, x_stride, n);
    for (size_t i = 0; i < m * n; i++)
        if (memcmp(&got[i], &want[i], sizeof(float)) != 0)
            fail_msg("%s %zux%zu n=%zu: y[%zu] = %.9g, reference %.9g", kn->name, m, k, n, i,
                     (double)got[i], (double)want[i]);
    bb_free(want);
    bb_free(got);
    bb_weights_free(&q);
}

static void test_ragged_shapes_match_reference(void **state)
{
    (void)state;
    static const size_t ms[] = {1, 2, 3, 15, 16, 17, 63, 64, 65, 257, 300};
    static const size_t ks[] = {1,  2,  3,   4,   5,   8,   23,   24,   25,  47,
                                48, 49, 255, 256, 257, 320, 1280, 3200, 5460};
    for (size_t i = 0; i < N_MODELS; i++) {
        const bb_kernel *kn = runnable(&MODELS[i]);
        for (size_t a = 0; kn && a < sizeof ms / sizeof *ms; a++)
            for (size_t b = 0; b < sizeof ks / sizeof *ks; b++) {
                size_t m = ms[a], k = ks[b], n = 1 + (a + b) % 3, x_stride;
                if (m * k > 400000)
                    continue;
                float *w = malloc(m * k * sizeof(float));
                tu_fill_normalish(w, m * k, 0.5f, 1000 * m + k);
                float *x = tu_make_x(k, n, 17 * m + k, &x_stride);
                expect_same_as_reference(kn, w, m, k, x, x_stride, n);
                free(w);
                bb_free(x);
            }
    }
}

/* All weights +1 (or -1, or alternating) against all activations 127: the int16
 * accumulators reach their proven bounds before every widening, and the int32 sum is
 * 127 k.  k = 65536 is the suite's largest. */
static void test_accumulator_extremes(void **state)
{
    (void)state;
    static const size_t ks[] = {4095, 65536};
    for (size_t i = 0; i < N_MODELS; i++) {
        const bb_kernel *kn = runnable(&MODELS[i]);
        for (size_t b = 0; kn && b < sizeof ks / sizeof *ks; b++)
            for (int pattern = 0; pattern < 3; pattern++) {
                size_t m = 3, k = ks[b], x_stride;
                float *w = malloc(m * k * sizeof(float));
                float *x = tu_make_x(k, 2, 3, &x_stride);
                for (size_t j = 0; j < m * k; j++)
                    w[j] = pattern == 0 ? 1.0f : pattern == 1 ? -1.0f : j % 2 ? -1.0f : 1.0f;
                for (size_t j = 0; j < k; j++) {
                    x[j] = 1.0f;                            /* token 0: every q = 127 */
                    x[x_stride + j] = j % 2 ? -1.0f : 1.0f; /* token 1: +-127 */
                }
                expect_same_as_reference(kn, w, m, k, x, x_stride, 2);
                free(w);
                bb_free(x);
            }
    }
}

/* gemm_rows on sub-ranges that do not start at a pass (the harness's chunks do; a caller
 * may not): every row once, by whichever call owns it, and nothing else written. */
static void test_row_ranges(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_MODELS; i++) {
        const bb_kernel *kn = runnable(&MODELS[i]);
        if (!kn)
            continue;
        size_t m = 300, k = 200, n = 2, x_stride;
        float *w32 = malloc(m * k * sizeof(float));
        tu_fill_normalish(w32, m * k, 1.0f, 99);
        float *x = tu_make_x(k, n, 98, &x_stride);
        bb_weights q = quantized(kn->format, w32, m, k);
        float *want = tu_run_kernel(bb_kernel_reference(kn->format), &q, x, x_stride, n);
        void *layout = bb_alloc(kn->layout_bytes(&q)), *act = bb_alloc(kn->act_bytes(k, n));
        float *y = bb_alloc(m * n * sizeof(float));
        kn->repack(&q, layout);
        bb_gemm_args a = {.w = &q,
                          .layout = layout,
                          .x = x,
                          .x_stride = x_stride,
                          .y = y,
                          .y_stride = m,
                          .n = n,
                          .act = act};
        kn->prepare_act(&a, 0, 1);
        kn->prepare_act(&a, 1, n);
        static const size_t cuts[] = {0, 5, 70, 71, 200, 299, 300};
        for (size_t c = 0; c + 1 < sizeof cuts / sizeof *cuts; c++) {
            for (size_t j = 0; j < m * n; j++)
                y[j] = -12345.0f;
            kn->gemm_rows(&a, cuts[c], cuts[c + 1]);
            for (size_t t = 0; t < n; t++)
                for (size_t r = 0; r < m; r++) {
                    float got = y[t * m + r];
                    if (r >= cuts[c] && r < cuts[c + 1])
                        assert_memory_equal(&got, &want[t * m + r], sizeof got);
                    else
                        assert_true(got == -12345.0f);
                }
        }
        bb_free(y);
        bb_free(act);
        bb_free(layout);
        bb_free(want);
        bb_weights_free(&q);
        bb_free(x);
        free(w32);
    }
}

/* The bytes streamed: tern2 layouts stay at 2 bits per weight, tern1.6 ones at 5/3, plus the
 * padding of k to the layout's unit and 32 bits per row of corrections. */
static void test_bits_per_weight(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_MODELS; i++) {
        const bb_kernel *kn = bb_kernel_find_exact(MODELS[i].name);
        if (!kn && bb_arch_host() != BB_ARCH_X86_64)
            continue; /* an x86 kernel's model */
        assert_non_null(kn);
        size_t m = 4096, k = 4096;
        bb_weights shape = {.format = kn->format, .m = m, .k = k};
        double bits = (double)kn->layout_bytes(&shape) * 8.0 / ((double)m * (double)k);
        double nominal = kn->format == BB_FMT_TERN2 ? 2.0 : 5.0 / 3.0;
        double unit = (double)(MODELS[i].group * MODELS[i].unit_groups);
        double limit = nominal * ((double)k + unit) / (double)k + 32.0 / (double)k;
        if (bits > limit)
            fail_msg("%s: %.4f bits per weight, over %.3f", kn->name, bits, limit);
        assert_true(kn->multiply_free);
        assert_non_null(kn->hot_symbol);
        assert_string_equal(kn->method, "lut");
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layout_round_trip),
        cmocka_unit_test(test_table_build),
        cmocka_unit_test(test_table_extremes),
        cmocka_unit_test(test_ragged_shapes_match_reference),
        cmocka_unit_test(test_accumulator_extremes),
        cmocka_unit_test(test_row_ranges),
        cmocka_unit_test(test_bits_per_weight),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
