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

enum {
    GROUP = 4,             /* weights per lookup */
    MAGNITUDES = 41,       /* (3^4 + 1) / 2 */
    SIGN_BIT = 0x80,
    PASS_TILES = 4,        /* 256 rows per pass */
    VEC_BYTES = 64,
    GROUP_TABLE_BYTES = 2 * VEC_BYTES, /* low-byte plane, high-byte plane */
    CHUNK_GROUPS = 64,     /* int16 accumulation bound, see above */
};

#ifndef TLUT_PREFETCH
#define TLUT_PREFETCH 2048
#endif
enum { PREFETCH_BYTES = TLUT_PREFETCH }; /* ahead in the pass stream, measured 1-4 KiB best */

/* ------------------------------------------------------------------ repack */

static int32_t pack_row(const uint8_t *codes, size_t groups, uint8_t *tile, size_t stride,
                        size_t row)
{
    int32_t negatives = 0;
    for (size_t s = 0; s < groups; s++, codes += GROUP) {
        unsigned neg, m = tlut_balanced_index(codes, GROUP, &neg);
        tile[s * stride + row] = (uint8_t)(m | (neg ? SIGN_BIT : 0));
        negatives += (int32_t)neg;
    }
    return negatives;
}

/* ------------------------------------------------------------------ activations */

/* The table build works on 8 activations (two groups) at a time, as int16 words in the
 * build vector v = [x_0..x_7, -x_0..-x_7, 0...]: entry m of group h is the sum over digits t
 * of v[pick[h][half][t][m % 32]] (half = m / 32), gathered by vpermw; vpermt2b then splits
 * the 64 words into the low-byte and high-byte planes. */
enum { ZERO_SLOT = 16 };

typedef struct build_consts {
    __m512i pick[2][2][GROUP];
    __m512i low_bytes, high_bytes;
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
    for (unsigned e = 0; e < 64; e++) { /* word e of (lo words, hi words): bytes 2e, 2e+1 */
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

/* ------------------------------------------------------------------ hot loop */

/* The int32 sums (lane order, 64 per tile) of one pass of NT tiles over all groups. */
static inline __attribute__((always_inline)) void
pass_tiles(const uint8_t *wp, const uint8_t *tab, const uint8_t *tab_end, int32_t *sums,
           const unsigned NT)
{
    tlut512_zero_sums(sums, NT);
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
                tlut512_lookup(idx, _mm512_movepi8_mask(idx), low_plane, high_plane, &acc_lo[t],
                               &acc_hi[t]);
            }
        }
        _Pragma("GCC unroll 4") for (unsigned t = 0; t < NT; t++)
            tlut512_widen(acc_lo[t], acc_hi[t], sums + t * TLUT512_TILE_ROWS);
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

/* ------------------------------------------------------------------ kernel */

static const tlut_geom GEOM = {
    .name = "tern2-avx512-lut",
    .tile_rows = TLUT512_TILE_ROWS,
    .pass_tiles = PASS_TILES,
    .unit_weights = GROUP,
    .unit_tile_bytes = VEC_BYTES,
    .unit_table_bytes = GROUP_TABLE_BYTES,
    .lane_row = tlut512_lane_row,
    .pass = bb_tern2_avx512_lut_pass,
    .pack_row = pack_row,
};

static size_t layout_bytes(const bb_weights *w) { return tlut_layout_bytes(&GEOM, w); }
static void repack(const bb_weights *w, void *layout) { tlut_repack(&GEOM, w, layout); }
static size_t act_bytes(size_t k, size_t n) { return tlut_act_bytes(&GEOM, k, n); }
static void gemm_rows(const bb_gemm_args *a, size_t r0, size_t r1) { tlut_gemm_rows(&GEOM, a, r0, r1); }

static void prepare_act(const bb_gemm_args *a, size_t t0, size_t t1)
{
    bb_act_q8 view = bb_act_q8_view(a->act, a->w->k, a->n);
    build_consts bc = make_build_consts();
    bb_act_q8_quantize_avx512(a->x, a->x_stride, &view, t0, t1);
    for (size_t t = t0; t < t1; t++)
        build_token_tables(view.q + t * view.k_stride, tlut_units(&GEOM, a->w->k), &bc,
                           tlut_token_tables(&GEOM, a, t));
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
    .row_block = TLUT512_TILE_ROWS * PASS_TILES,
    .layout_bytes = layout_bytes,
    .repack = repack,
    .act_bytes = act_bytes,
    .prepare_act = prepare_act,
    .gemm_rows = gemm_rows,
};
