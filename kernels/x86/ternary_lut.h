/*
 * kernels/x86/ternary_lut.h - internal to the ternary table-lookup kernels
 * (tern2_avx2_lut.c, tern2_avx512_lut.c, tern1_6_avx2_lut.c, tern1_6_avx512_lut.c) and their
 * test: the scalar, ISA-free parts they share.
 *
 * Method (T-MAC, Wei et al. 2024; bitnet.cpp TL1/TL2): a group of g consecutive ternary
 * weights w_0..w_{g-1} against int8 activations x_0..x_{g-1} contributes sum_i w_i x_i,
 * one of 3^g values that depend on the activations only.  Per token the kernel tabulates
 * them for every group of activations once (the table build, in prepare_act), and the
 * weights, repacked into table indices, select entries: one lookup replaces g sign-selected
 * adds, and the hot loop has no multiply.  The entries are exact int16 sums (|sum| <= 127 g),
 * so every kernel reproduces the reference's integer dot product, hence its y, bit for bit.
 *
 * Two index codes are used (c = weight code 0, 1, 2 standing for -1, 0, +1):
 *   plain:    i = sum_t c_t 3^(g-1-t), i in 0 .. 3^g - 1, table entry sum_t (c_t - 1) x_t.
 *   balanced: v = sum_t (c_t - 1) 3^(g-1-t) in -(3^g-1)/2 .. (3^g-1)/2, a balanced-ternary
 *             number; stored as a magnitude |v| and a sign.  The pattern of -v is the
 *             negated pattern of v, so its sum is the negated sum: a table of the
 *             (3^g+1)/2 magnitudes (14 for g = 3, TL2's "sign + 4-bit index") and a sign
 *             applied after the lookup cover all 3^g patterns.
 */
#ifndef BITBENCH_X86_TERNARY_LUT_H
#define BITBENCH_X86_TERNARY_LUT_H

#include "../kernel.h"

#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { TLUT_CODE_NEG = 0, TLUT_CODE_ZERO = 1, TLUT_CODE_POS = 2 };

/* Software prefetch distance in a pass's weight stream: the hardware prefetchers alone
 * left a single-thread pass well short of the read bandwidth.  Measured cold at 4096 x 4096,
 * 1 thread (best of 280 calls): 4 KiB and 8 KiB alike, 2 KiB 1-5% slower, 1 KiB 8-15%. */
#ifndef TLUT_PREFETCH
#define TLUT_PREFETCH 4096
#endif
enum { TLUT_PREFETCH_BYTES = TLUT_PREFETCH };

/* Beyond this k an int32 accumulator of +-127 terms could overflow (as in the reference). */
#define TLUT_MAX_K BB_Q8_MAX_K

static inline void tlut_check_k(const char *kernel, size_t k)
{
    (void)kernel;
    assert(k <= TLUT_MAX_K); /* internal misuse: bb_shape_check refuses such shapes first */
}

/* Codes 0..2 of weights 0 .. len-1 of row r of a canonical tern2 or tern1.6 matrix (the
 * layouts of kernels/ref/ternary.c), the zero code beyond k.  Decoded from the packed
 * bytes directly: repack runs over every weight of gigabyte-sized rotations. */
static inline void tlut_row_codes(const bb_weights *w, size_t r, uint8_t *codes, size_t len)
{
    const uint8_t *row = w->data + r * w->row_bytes;
    int base3 = w->format == BB_FMT_TERN1_6;
    size_t block = base3 ? 320 : 256, n = w->k < len ? w->k : len;
    for (size_t b0 = 0; b0 < n; b0 += block, row += 64)
        for (size_t j = 0; j < 64; j++) {
            unsigned bits = row[j];
            for (size_t i = b0 + j; i < b0 + block; i += 64) {
                unsigned code;
                if (base3) { /* trit t: v = byte * 3^t mod 256, code = (3 v) >> 8 */
                    unsigned v3 = bits * 3u;
                    code = v3 >> 8;
                    bits = v3 & 0xffu;
                } else {
                    code = bits & 3u;
                    bits >>= 2;
                }
                if (i < n)
                    codes[i] = (uint8_t)code;
            }
        }
    for (size_t i = n; i < len; i++)
        codes[i] = TLUT_CODE_ZERO;
}

/* Plain index of g codes: sum_t c_t 3^(g-1-t). */
static inline unsigned tlut_plain_index(const uint8_t *c, unsigned g)
{
    unsigned i = 0;
    for (unsigned t = 0; t < g; t++)
        i = i * 3 + c[t];
    return i;
}

/* Digit t (0 = most significant) of plain index i of g codes, as a weight -1, 0, +1. */
static inline int tlut_plain_digit(unsigned i, unsigned g, unsigned t)
{
    for (unsigned s = t + 1; s < g; s++)
        i /= 3;
    return (int)(i % 3) - 1;
}

/* Balanced index of g codes: *neg = 1 when v < 0; returns |v| in 0 .. (3^g - 1) / 2. */
static inline unsigned tlut_balanced_index(const uint8_t *c, unsigned g, unsigned *neg)
{
    int v = 0;
    for (unsigned t = 0; t < g; t++)
        v = v * 3 + (c[t] - 1);
    *neg = v < 0;
    return (unsigned)(v < 0 ? -v : v);
}

/* Digit t (0 = most significant) of the g-digit balanced-ternary number m >= 0, as a
 * weight -1, 0, +1: the pattern whose sum table entry m holds. */
static inline int tlut_balanced_digit(unsigned m, unsigned g, unsigned t)
{
    int v = (int)m, d = 0;
    for (unsigned s = g; s-- > t;) {
        int r = v % 3; /* v >= 0 stays true: digits -1 borrow from the next one */
        d = r == 2 ? -1 : r;
        v = (v - d) / 3;
    }
    return d;
}

/* ------------------------------------------------------------------ layout and driver */

/* What the generic repack and driver need to know of a kernel.  Every kernel stores rows in
 * tiles (one SIMD lane per row), tiles in passes of up to pass_tiles, and k in units of
 * unit_weights; a pass is unit-major (unit u of tile t at pass_base + (u * nt + t) *
 * unit_tile_bytes, nt the pass's tiles), so each pass is one contiguous stream.  After all
 * passes: one int32 per padded row, added to the row's sum (the kernels' sign trick leaves
 * -1 per negative group, see the kernel files). */
typedef void (*tlut_pass_fn)(const uint8_t *wp, const uint8_t *tab, const uint8_t *tab_end,
                             int32_t *sums, unsigned nt);
/* Packs one row's codes (units * unit_weights of them) into its tile: unit u at
 * tile + u * unit_stride, the row being lane `row` of the tile.  Returns the row's int32
 * correction. */
typedef int32_t (*tlut_pack_row_fn)(const uint8_t *codes, size_t units, uint8_t *tile,
                                    size_t unit_stride, size_t row);

/* prepare_act's two steps: the int8 quantizer (act_q8_simd.h), then the kernel's tables of
 * one token from its int8 activations q (k of them, zero beyond). */
typedef void (*tlut_quantize_fn)(const float *x, size_t x_stride, bb_act_q8 *a, size_t t0,
                                 size_t t1);
typedef void (*tlut_build_fn)(const int8_t *q, size_t k, uint8_t *tables);

typedef struct tlut_geom {
    const char *name; /* the kernel's, for messages */
    size_t tile_rows, pass_tiles;
    size_t unit_weights;             /* weights per unit of k */
    size_t unit_tile_bytes;          /* layout bytes of one unit of one tile */
    size_t unit_table_bytes;         /* table bytes of one unit of one token */
    size_t (*lane_row)(size_t lane); /* row within the tile of int32 sum lane `lane` */
    tlut_pass_fn pass;               /* the hot function: sums of one pass, in lane order */
    tlut_pack_row_fn pack_row;
    tlut_quantize_fn quantize;
    tlut_build_fn build;
} tlut_geom;

static inline size_t tlut_units(const tlut_geom *g, size_t k)
{
    return (k + g->unit_weights - 1) / g->unit_weights;
}
static inline size_t tlut_tiles(const tlut_geom *g, size_t m)
{
    return (m + g->tile_rows - 1) / g->tile_rows;
}
static inline size_t tlut_pass_rows(const tlut_geom *g) { return g->tile_rows * g->pass_tiles; }

static inline size_t tlut_codes_bytes(const tlut_geom *g, size_t m, size_t k)
{
    return tlut_tiles(g, m) * tlut_units(g, k) * g->unit_tile_bytes;
}

static inline size_t tlut_layout_bytes(const tlut_geom *g, const bb_weights *w)
{
    return tlut_codes_bytes(g, w->m, w->k) + tlut_tiles(g, w->m) * g->tile_rows * sizeof(int32_t);
}

static inline void tlut_repack(const tlut_geom *g, const bb_weights *w, void *layout)
{
    size_t units = tlut_units(g, w->k), tiles = tlut_tiles(g, w->m), len = units * g->unit_weights;
    size_t pass_rows = tlut_pass_rows(g);
    uint8_t *codes = malloc(len), *out = layout;
    int32_t *corrections = (int32_t *)(out + tlut_codes_bytes(g, w->m, w->k));
    if (!codes) {
        fprintf(stderr, "%s: out of memory repacking %zu x %zu\n", g->name, w->m, w->k);
        abort();
    }
    for (size_t r = 0; r < tiles * g->tile_rows; r++) {
        size_t pass = r / pass_rows, tile = r % pass_rows / g->tile_rows;
        size_t left = tiles - pass * g->pass_tiles,
               nt = left < g->pass_tiles ? left : g->pass_tiles;
        uint8_t *pass_base = out + pass * g->pass_tiles * units * g->unit_tile_bytes;
        if (r < w->m)
            tlut_row_codes(w, r, codes, len);
        else
            memset(codes, TLUT_CODE_ZERO, len);
        corrections[r] = g->pack_row(codes, units, pass_base + tile * g->unit_tile_bytes,
                                     nt * g->unit_tile_bytes, r % g->tile_rows);
    }
    free(codes);
}

/* Activation blob: the standard q8 blob (bb_act_q8_view), then each token's tables; both
 * 64-byte aligned when unit_table_bytes is a multiple of 64 (bb_act_q8_bytes is). */
static inline size_t tlut_table_bytes(const tlut_geom *g, size_t k)
{
    return tlut_units(g, k) * g->unit_table_bytes;
}

static inline size_t tlut_act_bytes(const tlut_geom *g, size_t k, size_t n)
{
    return bb_act_q8_bytes(k, n) + n * tlut_table_bytes(g, k);
}

static inline uint8_t *tlut_token_tables(const tlut_geom *g, const bb_gemm_args *a, size_t t)
{
    return (uint8_t *)a->act + bb_act_q8_bytes(a->w->k, a->n) + t * tlut_table_bytes(g, a->w->k);
}

static inline void tlut_prepare_act(const tlut_geom *g, const bb_gemm_args *a, size_t t0, size_t t1)
{
    bb_act_q8 view = bb_act_q8_view(a->act, a->w->k, a->n);
    g->quantize(a->x, a->x_stride, &view, t0, t1);
    for (size_t t = t0; t < t1; t++)
        g->build(view.q + t * view.k_stride, a->w->k, tlut_token_tables(g, a, t));
}

/* gemm_rows: token blocks outer, passes, tokens inner.  A pass's weights are read from
 * memory once per token block and from cache for its other tokens; the block is as many
 * tokens as have tables within TLUT_TABLE_BUDGET, so that they stay in L2 across the
 * passes (128 tokens' tables, 16 MiB at k = 4096, streamed from L3 per pass took 3x the
 * time).  y = bb_rescale_i32(sum + correction) per row. */
enum { TLUT_TABLE_BUDGET = 1 << 20 };

static inline void tlut_gemm_rows(const tlut_geom *g, const bb_gemm_args *a, size_t r0, size_t r1)
{
    enum { MAX_PASS_ROWS = 256 };
    const bb_weights *w = a->w;
    size_t units = tlut_units(g, w->k), tiles = tlut_tiles(g, w->m), pass_rows = tlut_pass_rows(g);
    size_t block = TLUT_TABLE_BUDGET / tlut_table_bytes(g, w->k);
    const uint8_t *layout = a->layout;
    const int32_t *corrections = (const int32_t *)(layout + tlut_codes_bytes(g, w->m, w->k));
    bb_act_q8 act = bb_act_q8_view(a->act, w->k, a->n);
    int32_t sums[MAX_PASS_ROWS] __attribute__((aligned(64)));
    int32_t rows[MAX_PASS_ROWS];
    tlut_check_k(g->name, w->k);
    block = block ? block : 1;
    for (size_t t0 = 0; t0 < a->n; t0 += block) {
        size_t t1 = t0 + block < a->n ? t0 + block : a->n;
        for (size_t p0 = r0 - r0 % pass_rows; p0 < r1; p0 += pass_rows) {
            size_t pass = p0 / pass_rows, left = tiles - pass * g->pass_tiles;
            unsigned nt = (unsigned)(left < g->pass_tiles ? left : g->pass_tiles);
            const uint8_t *wp = layout + pass * g->pass_tiles * units * g->unit_tile_bytes;
            size_t end = p0 + nt * g->tile_rows, lo = p0 > r0 ? p0 : r0, hi = end < r1 ? end : r1;
            for (size_t t = t0; t < t1; t++) {
                const uint8_t *tab = tlut_token_tables(g, a, t);
                g->pass(wp, tab, tab + units * g->unit_table_bytes, sums, nt);
                for (size_t i = 0; i < nt * g->tile_rows; i++)
                    rows[i - i % g->tile_rows + g->lane_row(i % g->tile_rows)] = sums[i];
                for (size_t r = lo; r < hi; r++)
                    a->y[t * a->y_stride + r] =
                        bb_rescale_i32(rows[r - p0] + corrections[r], w->scales[0], act.scale[t]);
            }
        }
    }
}

/* The hot symbol: external (no .isra/.constprop clone renames it) and not inlined, so that
 * `make check-addonly` finds and disassembles it; it dispatches the pass's tile count
 * (1..max_nt) to the kernel's always-inline pass_tiles(wp, tab, tab_end, sums, NT). */
#define TLUT_DEFINE_PASS(symbol, pass_tiles, max_nt)                                               \
    void symbol(const uint8_t *wp, const uint8_t *tab, const uint8_t *tab_end, int32_t *sums,      \
                unsigned nt);                                                                      \
    __attribute__((noinline)) void symbol(const uint8_t *wp, const uint8_t *tab,                   \
                                          const uint8_t *tab_end, int32_t *sums, unsigned nt)      \
    {                                                                                              \
        if (nt <= 1)                                                                               \
            pass_tiles(wp, tab, tab_end, sums, 1);                                                 \
        else if (nt == 2 || (max_nt) == 2)                                                         \
            pass_tiles(wp, tab, tab_end, sums, 2);                                                 \
        else if (nt == 3 || (max_nt) == 3)                                                         \
            pass_tiles(wp, tab, tab_end, sums, (max_nt) > 3 ? 3 : (max_nt));                       \
        else                                                                                       \
            pass_tiles(wp, tab, tab_end, sums, (max_nt));                                          \
    }

/* The kernel-table functions that only forward to the generic ones above. */
#define TLUT_DEFINE_KERNEL_FUNCS(geom)                                                             \
    static size_t layout_bytes(const bb_weights *w) { return tlut_layout_bytes(&(geom), w); }      \
    static void repack(const bb_weights *w, void *layout) { tlut_repack(&(geom), w, layout); }     \
    static size_t act_bytes(size_t k, size_t n) { return tlut_act_bytes(&(geom), k, n); }          \
    static void gemm_rows(const bb_gemm_args *a, size_t r0, size_t r1)                             \
    {                                                                                              \
        tlut_gemm_rows(&(geom), a, r0, r1);                                                        \
    }                                                                                              \
    static void prepare_act(const bb_gemm_args *a, size_t t0, size_t t1)                           \
    {                                                                                              \
        tlut_prepare_act(&(geom), a, t0, t1);                                                      \
    }

/* ------------------------------------------------------------------ AVX-512 lookup step */
#ifdef __AVX512VBMI__
#include <immintrin.h>

/* Tiles of 64 rows, one byte lane per row.  One lookup of 64 rows: vpermb reads bits 0-5
 * of each index byte in the 64-byte low-byte and high-byte planes of the int16 table;
 * where `neg` is set both bytes are complemented (one masked vpsubb each: 0xff - b), which
 * turns entry T into ~T = -T - 1 (the -1 per negative group is the row's correction);
 * vpunpckl/hbw interleave the planes into int16 lanes (rows 16 (j / 8) + j % 8 of lane j
 * in the low accumulator, 8 more in the high one), added with vpaddw. */
enum { TLUT512_TILE_ROWS = 64 };

/* Interleaves looked-up low and high bytes into int16 lanes and accumulates them. */
static inline __attribute__((always_inline)) void
tlut512_accumulate(__m512i lo, __m512i hi, __m512i *acc_lo, __m512i *acc_hi)
{
    *acc_lo = _mm512_add_epi16(*acc_lo, _mm512_unpacklo_epi8(lo, hi));
    *acc_hi = _mm512_add_epi16(*acc_hi, _mm512_unpackhi_epi8(lo, hi));
}

static inline __attribute__((always_inline)) void tlut512_lookup(__m512i idx, __mmask64 neg,
                                                                 __m512i low_plane,
                                                                 __m512i high_plane,
                                                                 __m512i *acc_lo, __m512i *acc_hi)
{
    const __m512i ones = _mm512_set1_epi8(-1);
    __m512i lo = _mm512_permutexvar_epi8(idx, low_plane);
    __m512i hi = _mm512_permutexvar_epi8(idx, high_plane);
    lo = _mm512_mask_sub_epi8(lo, neg, ones, lo);
    hi = _mm512_mask_sub_epi8(hi, neg, ones, hi);
    tlut512_accumulate(lo, hi, acc_lo, acc_hi);
}

/* Adds a tile's int16 accumulators into its 64 int32 sums (lane order, see tlut512_lane_row). */
static inline __attribute__((always_inline)) void tlut512_widen(__m512i lo, __m512i hi,
                                                                int32_t *sums)
{
    __m512i *s = (__m512i *)sums;
    s[0] = _mm512_add_epi32(s[0], _mm512_cvtepi16_epi32(_mm512_castsi512_si256(lo)));
    s[1] = _mm512_add_epi32(s[1], _mm512_cvtepi16_epi32(_mm512_extracti64x4_epi64(lo, 1)));
    s[2] = _mm512_add_epi32(s[2], _mm512_cvtepi16_epi32(_mm512_castsi512_si256(hi)));
    s[3] = _mm512_add_epi32(s[3], _mm512_cvtepi16_epi32(_mm512_extracti64x4_epi64(hi, 1)));
}

static inline __attribute__((always_inline)) void tlut512_zero_sums(int32_t *sums, unsigned tiles)
{
    for (unsigned i = 0; i < tiles * TLUT512_TILE_ROWS / 16; i++)
        _mm512_store_si512(sums + 16 * i, _mm512_setzero_si512());
}

/* Row within the tile of int32 sum lane i: lanes 0-31 are the low accumulator's, 32-63 the
 * high one's. */
static inline size_t tlut512_lane_row(size_t i) { return 16 * (i % 32 / 8) + 8 * (i / 32) + i % 8; }
#endif

/* ------------------------------------------------------------------ AVX2 lookup step */
#ifdef __AVX2__
#include <immintrin.h>

/* Tiles of 16 rows: vpshufb looks up 16 bytes per 128-bit lane in that lane's 16-entry
 * table, so a ymm of nibble indices serves two groups (one per lane) for 16 rows.  The
 * planes hold the two groups' low-byte (high-byte) tables, lane by lane.  `sign` is 0xff
 * in the bytes whose entry is to be negated (complemented: -T - 1, see the kernels), or
 * zero.  Unpacking gives int16 lanes: acc_a holds rows 0-7 (lane 0: group of lane 0,
 * lane 1: group of lane 1), acc_b rows 8-15. */
enum { TLUT256_TILE_ROWS = 16 };

static inline __attribute__((always_inline)) void tlut256_lookup(__m256i idx, __m256i sign,
                                                                 __m256i low_planes,
                                                                 __m256i high_planes,
                                                                 __m256i *acc_a, __m256i *acc_b)
{
    __m256i lo = _mm256_xor_si256(_mm256_shuffle_epi8(low_planes, idx), sign);
    __m256i hi = _mm256_xor_si256(_mm256_shuffle_epi8(high_planes, idx), sign);
    *acc_a = _mm256_add_epi16(*acc_a, _mm256_unpacklo_epi8(lo, hi));
    *acc_b = _mm256_add_epi16(*acc_b, _mm256_unpackhi_epi8(lo, hi));
}

/* Adds a tile's int16 accumulators into its 16 int32 row sums (the two lanes of a row
 * hold two different groups: they add up). */
static inline __attribute__((always_inline)) void tlut256_widen(__m256i a, __m256i b, int32_t *sums)
{
    __m256i *s = (__m256i *)sums;
    s[0] = _mm256_add_epi32(
        s[0], _mm256_add_epi32(_mm256_cvtepi16_epi32(_mm256_castsi256_si128(a)),
                               _mm256_cvtepi16_epi32(_mm256_extracti128_si256(a, 1))));
    s[1] = _mm256_add_epi32(
        s[1], _mm256_add_epi32(_mm256_cvtepi16_epi32(_mm256_castsi256_si128(b)),
                               _mm256_cvtepi16_epi32(_mm256_extracti128_si256(b, 1))));
}

static inline __attribute__((always_inline)) void tlut256_zero_sums(int32_t *sums, unsigned tiles)
{
    for (unsigned i = 0; i < tiles * TLUT256_TILE_ROWS / 8; i++)
        _mm256_store_si256((__m256i *)(sums + 8 * i), _mm256_setzero_si256());
}

static inline size_t tlut256_lane_row(size_t i) { return i; }
#endif

#endif
