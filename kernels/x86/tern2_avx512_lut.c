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
#include <pthread.h>

enum {
    GROUP = 4,       /* weights per lookup */
    MAGNITUDES = 41, /* (3^4 + 1) / 2 */
    SIGN_BIT = 0x80,
    PASS_TILES = 4, /* 256 rows per pass */
    VEC_BYTES = 64,
    GROUP_TABLE_BYTES = 2 * VEC_BYTES, /* low-byte plane, high-byte plane */
    CHUNK_GROUPS = 64,                 /* int16 accumulation bound, see above */
};

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

/* The table build, without a multiply, with vpermb (one uop) as the gather.
 * Entry m = 27 d_0 + 9 d_1 + 3 d_2 + d_3 splits as 9 a + b, a = 3 d_0 + d_1 and
 * b = 3 d_2 + d_3 in -4..4, so T[m] = P[a] + Q[b] with P[a] = d_0 x_0 + d_1 x_1 and
 * Q[b] = d_2 x_2 + d_3 x_3.  Per group: P and Q as 18 int16 words (2 gathers from the build
 * vector v = [x_0..x_7, -x_0..-x_7, 0...] of two groups, 1 add); then the planes directly:
 * gathers put the low and the high bytes of P[a(m)] and Q[b(m)] at byte m (4), the low
 * plane is the wrapping byte sum and the high plane the sum of the high bytes plus the
 * carry out of the low one (lo < low byte of P, unsigned).  13 uops per 4 activations; a
 * plain sum of 4 vpermw per 32 entries and a byte split took 32. */
enum { ZERO_WORD = 16, PQ_ZERO = 18, Q_BASE = 9 };

typedef struct build_consts {
    __m512i pq[2][2];    /* [group in v][first or second digit of the pair]: v -> P, Q */
    __m512i bytes[2][2]; /* [P or Q][low or high byte]: PQ words -> plane bytes */
} build_consts;

/* The v slot of d * x_j: +x_j, -x_j or a zero word. */
static uint8_t signed_slot(int d, unsigned j)
{
    return (uint8_t)(d > 0 ? j : d < 0 ? 8 + j : ZERO_WORD);
}

/* The constants, made once per process (prepare_act may run on several threads). */
static build_consts BUILD_CONSTS;
static pthread_once_t build_consts_once = PTHREAD_ONCE_INIT;

static void make_build_consts(void)
{
    build_consts bc;
    uint8_t idx[64];
    for (unsigned h = 0; h < 2; h++)
        for (unsigned t = 0; t < 2; t++) {
            for (unsigned i = 0; i < 32; i++) {
                /* Words 0-8: P[a] (a = i - 4), digits 0, 1; words 9-17: Q[b], digits 2, 3. */
                unsigned pair = i / Q_BASE, v = i % Q_BASE;
                int digit = i < PQ_ZERO ? tlut_balanced_digit(v < 4 ? 4 - v : v - 4, 2, t) : 0;
                uint8_t slot = i < PQ_ZERO
                                   ? signed_slot(v < 4 ? -digit : digit, GROUP * h + 2 * pair + t)
                                   : ZERO_WORD;
                idx[2 * i] = (uint8_t)(2 * slot);
                idx[2 * i + 1] = (uint8_t)(2 * slot + 1);
            }
            bc.pq[h][t] = _mm512_loadu_si512(idx);
        }
    for (unsigned part = 0; part < 2; part++)
        for (unsigned byte = 0; byte < 2; byte++) {
            for (unsigned m = 0; m < 64; m++) {
                unsigned slot = PQ_ZERO;
                if (m < MAGNITUDES) {
                    int a = 3 * tlut_balanced_digit(m, GROUP, 0) + tlut_balanced_digit(m, GROUP, 1);
                    int b = 3 * tlut_balanced_digit(m, GROUP, 2) + tlut_balanced_digit(m, GROUP, 3);
                    slot = part == 0 ? (unsigned)(a + 4) : Q_BASE + (unsigned)(b + 4);
                }
                idx[m] = (uint8_t)(2 * slot + byte);
            }
            bc.bytes[part][byte] = _mm512_loadu_si512(idx);
        }
    BUILD_CONSTS = bc;
}

static void build_token_tables(const int8_t *q, size_t groups, const build_consts *bc,
                               uint8_t *tables)
{
    const __m512i minus_one = _mm512_set1_epi8(-1);
    /* q is zero from k up to k_stride (a multiple of 64 >= 8 * ceil(groups / 2)). */
    for (size_t s = 0; s < groups; s += 2, q += 2 * GROUP) {
        __m128i x = _mm_cvtepi8_epi16(_mm_loadl_epi64((const __m128i *)q));
        __m128i nx = _mm_sub_epi16(_mm_setzero_si128(), x);
        __m512i v = _mm512_inserti32x4(_mm512_zextsi128_si512(x), nx, 1);
        for (unsigned h = 0; h < 2 && s + h < groups; h++, tables += GROUP_TABLE_BYTES) {
            __m512i pq = _mm512_add_epi16(_mm512_permutexvar_epi8(bc->pq[h][0], v),
                                          _mm512_permutexvar_epi8(bc->pq[h][1], v));
            __m512i p_lo = _mm512_permutexvar_epi8(bc->bytes[0][0], pq);
            __m512i low = _mm512_add_epi8(p_lo, _mm512_permutexvar_epi8(bc->bytes[1][0], pq));
            __m512i high = _mm512_add_epi8(_mm512_permutexvar_epi8(bc->bytes[0][1], pq),
                                           _mm512_permutexvar_epi8(bc->bytes[1][1], pq));
            high = _mm512_mask_sub_epi8(high, _mm512_cmplt_epu8_mask(low, p_lo), high, minus_one);
            _mm512_store_si512(tables, low);
            _mm512_store_si512(tables + VEC_BYTES, high);
        }
    }
}

/* ------------------------------------------------------------------ hot loop */

/* The int32 sums (lane order, 64 per tile) of one pass of NT tiles over all groups. */
static inline __attribute__((always_inline)) void pass_tiles(const uint8_t *wp, const uint8_t *tab,
                                                             const uint8_t *tab_end, int32_t *sums,
                                                             const unsigned NT)
{
    tlut512_zero_sums(sums, NT);
    while (tab < tab_end) {
        const uint8_t *chunk_end = tab + CHUNK_GROUPS * GROUP_TABLE_BYTES;
        if (chunk_end > tab_end)
            chunk_end = tab_end;
        __m512i acc_lo[PASS_TILES], acc_hi[PASS_TILES];
#pragma GCC unroll 4
        for (unsigned t = 0; t < NT; t++)
            acc_lo[t] = acc_hi[t] = _mm512_setzero_si512();
        for (; tab < chunk_end; tab += GROUP_TABLE_BYTES, wp += NT * VEC_BYTES) {
            __m512i low_plane = _mm512_load_si512(tab);
            __m512i high_plane = _mm512_load_si512(tab + VEC_BYTES);
#pragma GCC unroll 4
            for (unsigned t = 0; t < NT; t++) {
                _mm_prefetch((const char *)(wp + TLUT_PREFETCH_BYTES + t * VEC_BYTES), _MM_HINT_T0);
                __m512i idx = _mm512_load_si512(wp + t * VEC_BYTES);
                tlut512_lookup(idx, _mm512_movepi8_mask(idx), low_plane, high_plane, &acc_lo[t],
                               &acc_hi[t]);
            }
        }
#pragma GCC unroll 4
        for (unsigned t = 0; t < NT; t++)
            tlut512_widen(acc_lo[t], acc_hi[t], sums + t * TLUT512_TILE_ROWS);
    }
}

TLUT_DEFINE_PASS(bb_tern2_avx512_lut_pass, pass_tiles, PASS_TILES)

/* ------------------------------------------------------------------ kernel */

static void build_tables(const int8_t *q, size_t k, uint8_t *tables);

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
    .quantize = bb_act_q8_quantize_avx512,
    .build = build_tables,
};

TLUT_DEFINE_KERNEL_FUNCS(GEOM)

static void build_tables(const int8_t *q, size_t k, uint8_t *tables)
{
    pthread_once(&build_consts_once, make_build_consts);
    build_token_tables(q, tlut_units(&GEOM, k), &BUILD_CONSTS, tables);
}

const bb_kernel bb_kernel_tern2_avx512_lut = {
    .name = "tern2-avx512-lut",
    .format = BB_FMT_TERN2,
    .method = "lut",
    .isa = BB_ISA_AVX512,
    .needs = BB_ISA_MASK_AVX512,
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
