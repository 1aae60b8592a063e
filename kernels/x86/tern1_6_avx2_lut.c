/*
 * kernels/x86/tern1_6_avx2_lut.c - tern1.6, AVX2, table lookup (bitnet.cpp TL2 style,
 * vpshufb): multiply-free, bit-exact with tern1.6-scalar-ref.  Method: ternary_lut.h.
 *
 * Groups of 3 weights, balanced index: a sign and a magnitude m in 0..13 (a nibble), 5
 * bits per 3 weights = 1.667 bits per weight (the canonical 5-trit bytes would need
 * 122-entry tables, far beyond vpshufb's 16).  Entry m is T[m] = sum_t d_t(m) x_t
 * (|T| <= 381) in a 16-byte low-byte and a 16-byte high-byte plane.  A negative group's
 * entry is complemented byte-wise (vpxor with 0xff: -T - 1); the driver adds the row's
 * count of negative groups back.
 *
 * Repacked layout (repack, untimed).  Rows in tiles of 16 (m padded to 16), passes of 2
 * tiles (32 rows).  k in units of 48 weights = 16 groups (k padded with zero weights); per
 * tile and unit 160 bytes: four 32-byte nibble vectors, vector v holding in byte r of its
 * low half groups 2v (low nibble) and 2v + 1 (high nibble) of row r, and in its high half
 * groups 8 + 2v and 9 + 2v; then 32 sign bytes, byte r of the low half with bit j = sign of
 * group j (0..7) of row r, of the high half bit j = sign of group 8 + j.  Pairing group j
 * with j + 8 in the two lanes lets both lanes read their signs at the same bit: a vpsllw by
 * 7 - j and a vpcmpgtb give the 0xff bytes.  A pass is unit-major (unit u of tile t at
 * pass_base + (u * nt + t) * 160); after all passes one int32 per padded row.
 * Bytes: ceil(m / 16) * 16 * (ceil(k / 48) * 10 + 4): 1.667 bits per weight + 32 per row.
 *
 * Tables per unit: 512 bytes, per pair (j, j + 8), j = 0..7: [low j | low j + 8],
 * [high j | high j + 8].  Built per group as int16 words with vpsignw (d_t x_t, no
 * multiply), split into planes by vpshufb + vpermq.
 *
 * Accumulation bound: an int16 lane gets 8 entries per unit (<= 8 * 381 = 3048), so it is
 * widened every 10 units (30480 <= 32767).
 */
#include "list_ternary_lut.h"

#include "act_q8_simd.h"
#include "ternary_lut.h"

#include <immintrin.h>
#include <pthread.h>
#include <string.h>

enum {
    GROUP = 3,
    MAGNITUDES = 14,
    UNIT_GROUPS = 16,
    UNIT_WEIGHTS = GROUP * UNIT_GROUPS,
    PASS_TILES = 2,
    VEC_BYTES = 32,
    NIBBLE_VECS = 4,
    UNIT_TILE_BYTES = (NIBBLE_VECS + 1) * VEC_BYTES,
    PAIR_TABLE_BYTES = 2 * VEC_BYTES,
    UNIT_TABLE_BYTES = UNIT_GROUPS / 2 * PAIR_TABLE_BYTES,
    CHUNK_UNITS = 10,
};

/* ------------------------------------------------------------------ repack */

static int32_t pack_row(const uint8_t *codes, size_t units, uint8_t *tile, size_t stride,
                        size_t row)
{
    int32_t negatives = 0;
    for (size_t u = 0; u < units; u++, tile += stride) {
        uint8_t *signs = tile + NIBBLE_VECS * VEC_BYTES;
        signs[row] = signs[TLUT256_TILE_ROWS + row] = 0;
        for (unsigned g = 0; g < UNIT_GROUPS; g++, codes += GROUP) {
            unsigned neg, m = tlut_balanced_index(codes, GROUP, &neg);
            unsigned lane = g / 8, j = g % 8;
            uint8_t *byte = tile + j / 2 * VEC_BYTES + lane * TLUT256_TILE_ROWS + row;
            *byte = (uint8_t)(j % 2 ? (*byte & 0x0f) | m << 4 : m);
            signs[lane * TLUT256_TILE_ROWS + row] |= (uint8_t)(neg << j);
            negatives += (int32_t)neg;
        }
    }
    return negatives;
}

/* ------------------------------------------------------------------ activations */

/* The table build works in bytes, without a multiply, one pair (j, j + 8) per ymm (its
 * two lanes): vpshufb spreads activation 3 g + t over the lane of group g, vpsignb makes
 * d_t x_t (d_t = -1, 0, +1 per entry), and T = P + R with P = d_0 x_0 + d_1 x_1 and
 * R = d_2 x_2.  Low plane: wrapping byte sums.  High plane: the high bytes of P (its sign,
 * |P| < 256, read from the saturating sum) and of R (its sign), plus the carry out of the
 * low byte (unsigned lo < lo_P). */
typedef struct build_consts {
    /* [pair j][digit t]: vpshufb indices of activation 3 g + t (g = j + 8 lane) in the
     * lane's window of 32 bytes, split into its first and second 16 (0x80: not there). */
    __m256i pick_first[UNIT_GROUPS / 2][GROUP], pick_second[UNIT_GROUPS / 2][GROUP];
    __m256i digit[GROUP]; /* d_t(m) per entry byte m (0 for m >= 14) */
} build_consts;

/* The constants, made once per process (prepare_act may run on several threads). */
static build_consts BUILD_CONSTS;
static pthread_once_t build_consts_once = PTHREAD_ONCE_INIT;

static void make_build_consts(void)
{
    build_consts bc;
    int8_t bytes[32], second[32];
    for (unsigned j = 0; j < UNIT_GROUPS / 2; j++)
        for (unsigned t = 0; t < GROUP; t++) {
            for (unsigned b = 0; b < 32; b++) {
                unsigned lane = b / 16, p = GROUP * (j + 8 * lane) + t - 16 * lane;
                bytes[b] = (int8_t)(p < 16 ? p : 0x80);
                second[b] = (int8_t)(p >= 16 ? p - 16 : 0x80);
            }
            bc.pick_first[j][t] = _mm256_loadu_si256((const __m256i *)bytes);
            bc.pick_second[j][t] = _mm256_loadu_si256((const __m256i *)second);
        }
    for (unsigned t = 0; t < GROUP; t++) {
        for (unsigned b = 0; b < 32; b++)
            bytes[b] = (int8_t)(b % 16 < MAGNITUDES ? tlut_balanced_digit(b % 16, GROUP, t) : 0);
        bc.digit[t] = _mm256_loadu_si256((const __m256i *)bytes);
    }
    BUILD_CONSTS = bc;
}

static void build_token_tables(const int8_t *q, size_t k, size_t units, const build_consts *bc,
                               uint8_t *tables)
{
    const __m256i zero = _mm256_setzero_si256();
    int8_t x[64] __attribute__((aligned(32)));
    for (size_t u = 0, i = 0; u < units; u++, i += UNIT_WEIGHTS) {
        /* 48 activations: lane 0 (groups 0-7) reads bytes 0-23 from the window 0-31, lane 1
         * (groups 8-15) bytes 24-47 from the window 16-47.  The last unit may run past
         * k_stride, so it comes through a zero-padded copy. */
        size_t left = i < k ? k - i : 0, n = left < UNIT_WEIGHTS ? left : UNIT_WEIGHTS;
        const int8_t *src = q + i;
        if (n < UNIT_WEIGHTS) {
            memcpy(x, src, n);
            memset(x + n, 0, sizeof x - n);
            src = x;
        }
        __m256i lo_lane = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)src));
        __m256i mid = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(src + 16)));
        __m256i hi_lane = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(src + 32)));
        __m256i first = _mm256_blend_epi32(lo_lane, mid, 0xf0);
        __m256i second = _mm256_blend_epi32(mid, hi_lane, 0xf0);
        for (unsigned j = 0; j < UNIT_GROUPS / 2; j++, tables += PAIR_TABLE_BYTES) {
            __m256i s[GROUP];
            for (unsigned t = 0; t < GROUP; t++) {
                __m256i a = _mm256_or_si256(_mm256_shuffle_epi8(first, bc->pick_first[j][t]),
                                            _mm256_shuffle_epi8(second, bc->pick_second[j][t]));
                s[t] = _mm256_sign_epi8(a, bc->digit[t]);
            }
            __m256i lo_p = _mm256_add_epi8(s[0], s[1]);
            __m256i hi_p = _mm256_cmpgt_epi8(zero, _mm256_adds_epi8(s[0], s[1]));
            __m256i lo = _mm256_add_epi8(lo_p, s[2]);
            __m256i no_carry = _mm256_cmpeq_epi8(_mm256_max_epu8(lo, lo_p), lo);
            __m256i hi = _mm256_add_epi8(hi_p, _mm256_cmpgt_epi8(zero, s[2]));
            hi = _mm256_sub_epi8(hi, _mm256_xor_si256(no_carry, _mm256_set1_epi8(-1)));
            _mm256_store_si256((__m256i *)tables, lo);
            _mm256_store_si256((__m256i *)(tables + VEC_BYTES), hi);
        }
    }
}

/* ------------------------------------------------------------------ hot loop */

/* 0xff in the bytes whose sign bit j is set. */
static inline __attribute__((always_inline)) __m256i sign_bytes(__m256i signs, const unsigned j)
{
    return _mm256_cmpgt_epi8(_mm256_setzero_si256(), _mm256_slli_epi16(signs, 7 - j));
}

static inline __attribute__((always_inline)) void pass_tiles(const uint8_t *wp, const uint8_t *tab,
                                                             const uint8_t *tab_end, int32_t *sums,
                                                             const unsigned NT)
{
    const __m256i nibble = _mm256_set1_epi8(0x0f);
    tlut256_zero_sums(sums, NT);
    while (tab < tab_end) {
        const uint8_t *chunk_end = tab + CHUNK_UNITS * UNIT_TABLE_BYTES;
        if (chunk_end > tab_end)
            chunk_end = tab_end;
        __m256i acc_a[PASS_TILES], acc_b[PASS_TILES];
#pragma GCC unroll 2
        for (unsigned t = 0; t < NT; t++)
            acc_a[t] = acc_b[t] = _mm256_setzero_si256();
        for (; tab < chunk_end; tab += UNIT_TABLE_BYTES, wp += NT * UNIT_TILE_BYTES) {
#pragma GCC unroll 4
            for (unsigned v = 0; v < NIBBLE_VECS; v++) {
                const uint8_t *pair = tab + 2 * v * PAIR_TABLE_BYTES;
                __m256i lo0 = _mm256_load_si256((const __m256i *)pair);
                __m256i hi0 = _mm256_load_si256((const __m256i *)(pair + VEC_BYTES));
                __m256i lo1 = _mm256_load_si256((const __m256i *)(pair + PAIR_TABLE_BYTES));
                __m256i hi1 =
                    _mm256_load_si256((const __m256i *)(pair + PAIR_TABLE_BYTES + VEC_BYTES));
#pragma GCC unroll 2
                for (unsigned t = 0; t < NT; t++) {
                    const uint8_t *tile = wp + t * UNIT_TILE_BYTES;
                    _mm_prefetch((const char *)(tile + TLUT_PREFETCH_BYTES + v * VEC_BYTES),
                                 _MM_HINT_T0);
                    __m256i w = _mm256_load_si256((const __m256i *)(tile + v * VEC_BYTES));
                    __m256i s =
                        _mm256_load_si256((const __m256i *)(tile + NIBBLE_VECS * VEC_BYTES));
                    tlut256_lookup(_mm256_and_si256(w, nibble), sign_bytes(s, 2 * v), lo0, hi0,
                                   &acc_a[t], &acc_b[t]);
                    tlut256_lookup(_mm256_and_si256(_mm256_srli_epi16(w, 4), nibble),
                                   sign_bytes(s, 2 * v + 1), lo1, hi1, &acc_a[t], &acc_b[t]);
                }
            }
        }
#pragma GCC unroll 2
        for (unsigned t = 0; t < NT; t++)
            tlut256_widen(acc_a[t], acc_b[t], sums + t * TLUT256_TILE_ROWS);
    }
}

TLUT_DEFINE_PASS(bb_tern1_6_avx2_lut_pass, pass_tiles, PASS_TILES)

/* ------------------------------------------------------------------ kernel */

static void build_tables(const int8_t *q, size_t k, uint8_t *tables);

static const tlut_geom GEOM = {
    .name = "tern1.6-avx2-lut",
    .tile_rows = TLUT256_TILE_ROWS,
    .pass_tiles = PASS_TILES,
    .unit_weights = UNIT_WEIGHTS,
    .unit_tile_bytes = UNIT_TILE_BYTES,
    .unit_table_bytes = UNIT_TABLE_BYTES,
    .lane_row = tlut256_lane_row,
    .pass = bb_tern1_6_avx2_lut_pass,
    .pack_row = pack_row,
    .quantize = bb_act_q8_quantize_avx2,
    .build = build_tables,
};

TLUT_DEFINE_KERNEL_FUNCS(GEOM)

static void build_tables(const int8_t *q, size_t k, uint8_t *tables)
{
    pthread_once(&build_consts_once, make_build_consts);
    build_token_tables(q, k, tlut_units(&GEOM, k), &BUILD_CONSTS, tables);
}

const bb_kernel bb_kernel_tern1_6_avx2_lut = {
    .name = "tern1.6-avx2-lut",
    .format = BB_FMT_TERN1_6,
    .method = "lut",
    .isa = BB_ISA_AVX2,
    .needs = BB_ISA_MASK_AVX2,
    .priority = 10,
    .multiply_free = true,
    .hot_symbol = "bb_tern1_6_avx2_lut_pass",
    .row_block = TLUT256_TILE_ROWS * PASS_TILES,
    .layout_bytes = layout_bytes,
    .repack = repack,
    .act_bytes = act_bytes,
    .prepare_act = prepare_act,
    .gemm_rows = gemm_rows,
};
