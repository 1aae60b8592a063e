/*
 * kernels/x86/tern2_avx512_lut.c - tern2, AVX-512 (BW + VBMI vpermb), table lookup:
 * multiply-free, bit-exact with tern2-scalar-ref.  Method and index codes: ternary_lut.h.
 *
 * Groups of 4 weights, balanced index: the 81 patterns of a group are a sign and one of
 * 41 magnitudes m (0..40), so one byte per row per group holds m in bits 0-5 and the sign
 * in bit 7 (bit 6 is zero): 8 bits per 4 weights, tern2's 2 bits per weight.  vpermb looks
 * up 64 bytes at once in a 64-byte table using only bits 0-5 of each index byte, so the
 * packed byte is its own index, no shift, no mask.
 *
 * Tables.  Entry m of a group is the int16 sum T[m] = sum_t d_t(m) x_t (|T| <= 4 * 127 =
 * 508), kept as two 64-byte planes, low bytes and high bytes: 128 bytes per 4 activations.
 * A lookup is two vpermb (the two planes) for 64 rows.  The sign is applied exactly on the
 * byte pair: where the sign bit is set, both bytes are complemented (~b = 0xff - b, one
 * masked vpsubb each), which turns T into ~T = -T - 1; the missing +1 per negative group
 * is a per-row constant, counted at repack time and added to the row's sum by the driver.
 * vpunpckl/hbw then interleave the planes into int16 lanes, which two vpaddw accumulate:
 * 9 vector uops per 64 rows x 4 weights (vpermb is one uop; vpermw, two on this CPU,
 * made an earlier 3+3+2-group word layout 20% slower).
 *
 * Repacked layout (repack, untimed).  Rows in tiles of 64 (one byte lane per row, m padded
 * to 64 with zero weights), tiles in passes of up to 4 (256 rows), the last pass holding
 * the 1..4 tiles left; a pass is group-major: group s of tile t at
 * pass_base + (s * nt + t) * 64, one contiguous stream per pass.  k is padded to 4 with
 * zero weights.  After all passes: one int32 per padded row, its count of negative groups.
 * Bytes: ceil(m / 64) * 64 * (ceil(k / 4) + 4), i.e. 2 bits per weight plus 32 bits per row.
 *
 * Accumulation bound: an int16 lane gets one entry (|E| <= 508) per group, so it is widened
 * into int32 every 64 groups (64 * 508 = 32512 <= 32767).
 */
#include "list_ternary_lut.h"

#include "act_q8_simd.h"
#include "ternary_lut.h"

#include <immintrin.h>
#include <string.h>

enum {
    GROUP = 4,             /* weights per lookup */
    MAGNITUDES = 41,       /* (3^4 + 1) / 2 */
    SIGN_BIT = 0x80,
    TILE_ROWS = 64,        /* one byte lane per row */
    PASS_TILES = 4,
    PASS_ROWS = TILE_ROWS * PASS_TILES,
    VEC_BYTES = 64,
    GROUP_TABLE_BYTES = 2 * VEC_BYTES, /* low-byte plane, high-byte plane */
    CHUNK_GROUPS = 64,     /* int16 accumulation bound, see above */
};

#ifndef TLUT_PREFETCH
#define TLUT_PREFETCH 2048
#endif
enum { PREFETCH_BYTES = TLUT_PREFETCH }; /* ahead in the pass stream, measured 1-4 KiB best */

static size_t groups_of(size_t k) { return (k + GROUP - 1) / GROUP; }
static size_t tiles_of(size_t m) { return (m + TILE_ROWS - 1) / TILE_ROWS; }
static size_t codes_bytes(size_t m, size_t k) { return tiles_of(m) * TILE_ROWS * groups_of(k); }

static size_t layout_bytes(const bb_weights *w)
{
    return codes_bytes(w->m, w->k) + tiles_of(w->m) * TILE_ROWS * sizeof(int32_t);
}

/* ------------------------------------------------------------------ repack */

static void repack(const bb_weights *w, void *layout)
{
    size_t groups = groups_of(w->k), tiles = tiles_of(w->m);
    uint8_t *codes = malloc(groups * GROUP), *out = layout;
    int32_t *negatives = (int32_t *)(out + codes_bytes(w->m, w->k));
    if (!codes) {
        fprintf(stderr, "tern2-avx512-lut: out of memory repacking %zu x %zu\n", w->m, w->k);
        abort();
    }
    for (size_t r = 0; r < tiles * TILE_ROWS; r++) {
        size_t pass = r / PASS_ROWS, tile = r % PASS_ROWS / TILE_ROWS;
        size_t left = tiles - pass * PASS_TILES, nt = left < PASS_TILES ? left : PASS_TILES;
        uint8_t *base = out + pass * PASS_ROWS * groups + tile * TILE_ROWS + r % TILE_ROWS;
        int32_t count = 0;
        if (r < w->m)
            tlut_row_codes(w, r, codes, groups * GROUP);
        else
            memset(codes, TLUT_CODE_ZERO, groups * GROUP);
        for (size_t s = 0; s < groups; s++) {
            unsigned neg, m = tlut_balanced_index(codes + s * GROUP, GROUP, &neg);
            base[s * nt * TILE_ROWS] = (uint8_t)(m | (neg ? SIGN_BIT : 0));
            count += (int32_t)neg;
        }
        negatives[r] = count;
    }
    free(codes);
}

/* ------------------------------------------------------------------ activations */

/* Blob: the standard q8 blob, then per token groups_of(k) * 128 bytes of tables (both
 * parts 64-byte aligned: bb_act_q8_bytes is a multiple of 64). */
static size_t token_table_bytes(size_t k) { return groups_of(k) * GROUP_TABLE_BYTES; }

static size_t act_bytes(size_t k, size_t n) { return bb_act_q8_bytes(k, n) + n * token_table_bytes(k); }

static const uint8_t *token_tables(const bb_gemm_args *a, size_t t)
{
    const uint8_t *blob = a->act;
    return blob + bb_act_q8_bytes(a->w->k, a->n) + t * token_table_bytes(a->w->k);
}

/* The table build works on 8 activations (two groups) at a time, as int16 words in the
 * build vector v = [x_0..x_7, -x_0..-x_7, 0...]: entry m of group h is the sum over digits t
 * of v[pick[h][half][t][m % 32]] (half = m / 32), gathered by vpermw. */
enum { ZERO_SLOT = 16 };

typedef struct build_consts {
    __m512i pick[2][2][GROUP];
    __m512i low_bytes, high_bytes; /* vpermt2b: the word pairs' low / high bytes */
} build_consts;

static build_consts make_build_consts(void)
{
    build_consts bc;
    int16_t pick[32];
    uint8_t low[64], high[64];
    for (unsigned h = 0; h < 2; h++)
        for (unsigned half = 0; half < 2; half++)
            for (unsigned t = 0; t < GROUP; t++) {
                for (unsigned e = 0; e < 32; e++) {
                    unsigned m = half * 32 + e;
                    int d = m < MAGNITUDES ? tlut_balanced_digit(m, GROUP, t) : 0;
                    unsigned j = h * GROUP + t;
                    pick[e] = (int16_t)(d > 0 ? j : d < 0 ? 8 + j : ZERO_SLOT);
                }
                bc.pick[h][half][t] = _mm512_loadu_si512(pick);
            }
    /* Word e of (lo words, hi words) is bytes 2e, 2e+1 of the 128-byte pair. */
    for (unsigned e = 0; e < 64; e++) {
        low[e] = (uint8_t)(2 * e);
        high[e] = (uint8_t)(2 * e + 1);
    }
    bc.low_bytes = _mm512_loadu_si512(low);
    bc.high_bytes = _mm512_loadu_si512(high);
    return bc;
}

static inline __m512i entry_words(const build_consts *bc, __m512i v, unsigned h, unsigned half)
{
    const __m512i *p = bc->pick[h][half];
    return _mm512_add_epi16(_mm512_add_epi16(_mm512_permutexvar_epi16(p[0], v),
                                             _mm512_permutexvar_epi16(p[1], v)),
                            _mm512_add_epi16(_mm512_permutexvar_epi16(p[2], v),
                                             _mm512_permutexvar_epi16(p[3], v)));
}

static void build_token_tables(const int8_t *q, size_t groups, const build_consts *bc,
                               uint8_t *tables)
{
    /* q is zero from k up to k_stride (a multiple of 64 >= 8 * ceil(groups / 2)). */
    for (size_t s = 0; s < groups; s += 2, q += 2 * GROUP) {
        __m128i x = _mm_cvtepi8_epi16(_mm_loadl_epi64((const __m128i *)q));
        __m128i nx = _mm_sub_epi16(_mm_setzero_si128(), x);
        __m512i v = _mm512_inserti32x4(_mm512_zextsi128_si512(x), nx, 1);
        for (unsigned h = 0; h < 2 && s + h < groups; h++, tables += GROUP_TABLE_BYTES) {
            __m512i lo = entry_words(bc, v, h, 0), hi = entry_words(bc, v, h, 1);
            _mm512_store_si512(tables, _mm512_permutex2var_epi8(lo, bc->low_bytes, hi));
            _mm512_store_si512(tables + VEC_BYTES, _mm512_permutex2var_epi8(lo, bc->high_bytes, hi));
        }
    }
}

static void prepare_act(const bb_gemm_args *a, size_t t0, size_t t1)
{
    size_t k = a->w->k;
    bb_act_q8 view = bb_act_q8_view(a->act, k, a->n);
    build_consts bc = make_build_consts();
    bb_act_q8_quantize_avx512(a->x, a->x_stride, &view, t0, t1);
    for (size_t t = t0; t < t1; t++)
        build_token_tables(view.q + t * view.k_stride, groups_of(k), &bc,
                           (uint8_t *)token_tables(a, t));
}

/* ------------------------------------------------------------------ hot loop */

/* Adds the int16 accumulators of a tile into its 64 int32 sums, in lane order: sums[i]
 * for i < 32 is lane i of the low-half accumulator (rows 16 (i / 8) + i % 8), then the
 * high-half one (rows 16 (i / 8) + 8 + i % 8). */
static inline __attribute__((always_inline)) void widen(__m512i lo, __m512i hi, int32_t *sums)
{
    __m512i *s = (__m512i *)sums;
    s[0] = _mm512_add_epi32(s[0], _mm512_cvtepi16_epi32(_mm512_castsi512_si256(lo)));
    s[1] = _mm512_add_epi32(s[1], _mm512_cvtepi16_epi32(_mm512_extracti64x4_epi64(lo, 1)));
    s[2] = _mm512_add_epi32(s[2], _mm512_cvtepi16_epi32(_mm512_castsi512_si256(hi)));
    s[3] = _mm512_add_epi32(s[3], _mm512_cvtepi16_epi32(_mm512_extracti64x4_epi64(hi, 1)));
}

/* The int32 sums (lane order, 64 per tile) of one pass of NT tiles over all groups. */
static inline __attribute__((always_inline)) void
pass_tiles(const uint8_t *wp, const uint8_t *tab, const uint8_t *tab_end, int32_t *sums,
           const unsigned NT)
{
    const __m512i ones = _mm512_set1_epi8(-1);
    _Pragma("GCC unroll 16") for (unsigned i = 0; i < NT * TILE_ROWS / 16; i++)
        _mm512_store_si512(sums + 16 * i, _mm512_setzero_si512());
    while (tab < tab_end) {
        const uint8_t *chunk_end = tab + CHUNK_GROUPS * GROUP_TABLE_BYTES;
        if (chunk_end > tab_end)
            chunk_end = tab_end;
        __m512i acc_lo[PASS_TILES], acc_hi[PASS_TILES];
        _Pragma("GCC unroll 4") for (unsigned t = 0; t < NT; t++)
            acc_lo[t] = acc_hi[t] = _mm512_setzero_si512();
        for (; tab < chunk_end; tab += GROUP_TABLE_BYTES, wp += NT * VEC_BYTES) {
            __m512i low_plane = _mm512_load_si512(tab);
            __m512i high_plane = _mm512_load_si512(tab + VEC_BYTES);
            _Pragma("GCC unroll 4") for (unsigned t = 0; t < NT; t++) {
                _mm_prefetch((const char *)(wp + PREFETCH_BYTES + t * VEC_BYTES), _MM_HINT_T0);
                __m512i idx = _mm512_load_si512(wp + t * VEC_BYTES);
                __mmask64 neg = _mm512_movepi8_mask(idx);
                __m512i lo = _mm512_permutexvar_epi8(idx, low_plane);
                __m512i hi = _mm512_permutexvar_epi8(idx, high_plane);
                lo = _mm512_mask_sub_epi8(lo, neg, ones, lo);
                hi = _mm512_mask_sub_epi8(hi, neg, ones, hi);
                acc_lo[t] = _mm512_add_epi16(acc_lo[t], _mm512_unpacklo_epi8(lo, hi));
                acc_hi[t] = _mm512_add_epi16(acc_hi[t], _mm512_unpackhi_epi8(lo, hi));
            }
        }
        _Pragma("GCC unroll 4") for (unsigned t = 0; t < NT; t++)
            widen(acc_lo[t], acc_hi[t], sums + t * TILE_ROWS);
    }
}

/* External and not inlined: `make check-addonly` disassembles it (no multiply inside). */
void bb_tern2_avx512_lut_pass(const uint8_t *wp, const uint8_t *tab, const uint8_t *tab_end,
                              int32_t *sums, unsigned nt);

__attribute__((noinline)) void bb_tern2_avx512_lut_pass(const uint8_t *wp, const uint8_t *tab,
                                                        const uint8_t *tab_end, int32_t *sums,
                                                        unsigned nt)
{
    switch (nt) {
    case 1: pass_tiles(wp, tab, tab_end, sums, 1); break;
    case 2: pass_tiles(wp, tab, tab_end, sums, 2); break;
    case 3: pass_tiles(wp, tab, tab_end, sums, 3); break;
    default: pass_tiles(wp, tab, tab_end, sums, 4); break;
    }
}

/* ------------------------------------------------------------------ driver */

/* Row (within its tile) of lane i of the tile's int32 sums (see widen). */
static size_t lane_row(size_t i) { return 16 * (i % 32 / 8) + 8 * (i / 32) + i % 8; }

static void gemm_rows(const bb_gemm_args *a, size_t r0, size_t r1)
{
    const bb_weights *w = a->w;
    size_t groups = groups_of(w->k), tiles = tiles_of(w->m);
    const uint8_t *layout = a->layout;
    const int32_t *negatives = (const int32_t *)(layout + codes_bytes(w->m, w->k));
    bb_act_q8 act = bb_act_q8_view(a->act, w->k, a->n);
    int32_t sums[PASS_ROWS] __attribute__((aligned(64)));
    int32_t rows[PASS_ROWS];
    tlut_check_k("tern2-avx512-lut", w->k);
    for (size_t p0 = r0 - r0 % PASS_ROWS; p0 < r1; p0 += PASS_ROWS) {
        size_t pass = p0 / PASS_ROWS, left = tiles - pass * PASS_TILES;
        unsigned nt = left < PASS_TILES ? (unsigned)left : PASS_TILES;
        const uint8_t *wp = layout + pass * PASS_ROWS * groups;
        size_t lo = p0 > r0 ? p0 : r0, hi = p0 + nt * TILE_ROWS < r1 ? p0 + nt * TILE_ROWS : r1;
        for (size_t t = 0; t < a->n; t++) {
            const uint8_t *tab = token_tables(a, t);
            bb_tern2_avx512_lut_pass(wp, tab, tab + groups * GROUP_TABLE_BYTES, sums, nt);
            for (size_t i = 0; i < nt * TILE_ROWS; i++)
                rows[i / TILE_ROWS * TILE_ROWS + lane_row(i % TILE_ROWS)] = sums[i];
            for (size_t r = lo; r < hi; r++)
                a->y[t * a->y_stride + r] = bb_rescale_i32(rows[r - p0] + negatives[r],
                                                           w->scales[0], act.scale[t]);
        }
    }
}

const bb_kernel bb_kernel_tern2_avx512_lut = {
    .name = "tern2-avx512-lut",
    .format = BB_FMT_TERN2,
    .method = "lut",
    .isa = BB_ISA_AVX512,
    .needs = BB_CPU_AVX512F | BB_CPU_AVX512BW | BB_CPU_AVX512VBMI | BB_ACT_Q8_AVX512_NEEDS,
    .priority = 20,
    .multiply_free = true,
    .hot_symbol = "bb_tern2_avx512_lut_pass",
    .row_block = PASS_ROWS,
    .layout_bytes = layout_bytes,
    .repack = repack,
    .act_bytes = act_bytes,
    .prepare_act = prepare_act,
    .gemm_rows = gemm_rows,
};
