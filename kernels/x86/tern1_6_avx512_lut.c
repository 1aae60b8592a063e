/*
 * kernels/x86/tern1_6_avx512_lut.c - tern1.6, AVX-512 (BW + VBMI vpermb), table lookup
 * (bitnet.cpp TL2 style): multiply-free, bit-exact with tern1.6-scalar-ref.  Method and
 * index codes: ternary_lut.h.
 *
 * Groups of 3 weights, balanced index: a sign and a magnitude m in 0..13, a 4-bit nibble,
 * so 5 bits per 3 weights = 1.667 bits per weight (tern1.6's canonical 5 trits per byte is
 * 1.6; its 243-value bytes would need 122-entry tables, two vpermb per plane and a
 * 256-byte table per 5 activations).
 *
 * Tables.  Entry i of a group (0..31) is the int16 sum T[i] = sum_t d_t(i) x_t for i < 16
 * and -T[i - 16] for i >= 16 (|T| <= 381; rows 14, 15 unused), in a 32-byte low-byte and a
 * 32-byte high-byte plane: 64 bytes per 3 activations.  The hot loop broadcasts a plane to
 * both 256-bit halves, so vpermb, which reads 6 index bits, finds entry i at i and i + 32:
 * bit 5 of an index is a don't-care.  The index of a group is its nibble with its sign as
 * bit 4: one vpternlogd (bit select) merges the nibble (the index byte as it is for the low
 * nibble, after one vpsrlw by 4 for 64 rows for the high one: bits 4-7 are then the other
 * nibble, replaced) with the row's sign byte shifted so that the group's sign bit lands on
 * bit 4 (one vpsllw/vpsrlw, none for group 4).  The sign is thus exact in the table: no
 * complement and no correction.  (Sign masks loaded into mask registers, an earlier
 * version, cost a port-5 uop each on this CPU: kmovq k, m64 is not a plain load.)
 * Per 64 rows x 3 weights: 2 index ops + 2 vpermb + 2 unpack + 2 add, + 1/2 shift.
 *
 * Repacked layout (repack, untimed).  Rows in tiles of 64 (a byte lane per row, m padded
 * to 64 with zero weights), tiles in passes of up to 4 (256 rows).  k in blocks of 24
 * weights = 8 groups (k padded with zero weights); per tile and block 320 bytes: four
 * 64-byte nibble vectors (vector j: low nibble = group 2j, high nibble = group 2j + 1 of
 * each row), then 64 sign bytes (byte r: bit g = sign of group g of row r).  A pass is
 * block-major (block b of tile t at pass_base + (b * nt + t) * 320), one contiguous stream.
 * After all passes: one int32 per padded row (zero: the tables carry the signs).
 * Bytes: ceil(m / 64) * 64 * (ceil(k / 24) * 5 + 4): 1.667 bits per weight + 32 per row.
 *
 * Accumulation bound: an int16 lane gets one entry (|E| <= 381) per group, so it is widened
 * into int32 every 10 blocks = 80 groups (80 * 381 = 30480 <= 32767).
 */
#include "list_ternary_lut.h"

#include "act_q8_simd.h"
#include "ternary_lut.h"

#include <immintrin.h>
#include <pthread.h>

enum {
    GROUP = 3,
    MAGNITUDES = 14, /* (3^3 + 1) / 2 */
    BLOCK_GROUPS = 8,
    BLOCK_WEIGHTS = GROUP * BLOCK_GROUPS,
    PASS_TILES = 4,
    VEC_BYTES = 64,
    NIBBLE_VECS = BLOCK_GROUPS / 2,
    BLOCK_TILE_BYTES = (NIBBLE_VECS + 1) * VEC_BYTES, /* 4 nibble vectors + sign masks */
    PLANE_BYTES = 32,                                 /* 16 entries T, 16 entries -T */
    SIGN_BIT = 4,                                     /* of an index byte */
    GROUP_TABLE_BYTES = 2 * PLANE_BYTES,
    BLOCK_TABLE_BYTES = BLOCK_GROUPS * GROUP_TABLE_BYTES,
    CHUNK_BLOCKS = 10, /* int16 accumulation bound, see above */
};

/* ------------------------------------------------------------------ repack */

static int32_t pack_row(const uint8_t *codes, size_t blocks, uint8_t *tile, size_t stride,
                        size_t row)
{
    for (size_t b = 0; b < blocks; b++, tile += stride) {
        uint8_t *signs = tile + NIBBLE_VECS * VEC_BYTES + row;
        *signs = 0;
        for (unsigned g = 0; g < BLOCK_GROUPS; g++, codes += GROUP) {
            unsigned neg, m = tlut_balanced_index(codes, GROUP, &neg);
            uint8_t *byte = tile + g / 2 * VEC_BYTES + row;
            *byte = (uint8_t)(g % 2 ? (*byte & 0x0f) | m << 4 : m);
            *signs |= (uint8_t)(neg << g);
        }
    }
    return 0;
}

/* ------------------------------------------------------------------ activations */

/* The table build, without a multiply: per pair of groups the build vector
 * v = [x_0..x_7, -x_0..-x_7, 0...] (int16 words, 6 of the 8 activations used); word i of
 * group h's table is the sum over digits t of v[pick[h][t][i]] (vpermb as a word gather:
 * one uop, vpermw takes two), with the digits negated for i >= 16; one more vpermb orders
 * the 32 words' bytes as the low and the high plane. */
enum { ZERO_SLOT = 16 };

typedef struct build_consts {
    __m512i pick[2][GROUP]; /* [group in v][digit]: word gathers */
    __m512i planes;
} build_consts;

/* The constants, made once per process (prepare_act may run on several threads). */
static build_consts BUILD_CONSTS;
static pthread_once_t build_consts_once = PTHREAD_ONCE_INIT;

static void make_build_consts(void)
{
    build_consts bc;
    uint8_t idx[64];
    for (unsigned h = 0; h < 2; h++)
        for (unsigned t = 0; t < GROUP; t++) {
            for (unsigned i = 0; i < 32; i++) {
                unsigned m = i % 16, j = GROUP * h + t;
                int d = m < MAGNITUDES ? tlut_balanced_digit(m, GROUP, t) : 0;
                d = i < 16 ? d : -d;
                unsigned slot = d > 0 ? j : d < 0 ? 8 + j : ZERO_SLOT;
                idx[2 * i] = (uint8_t)(2 * slot);
                idx[2 * i + 1] = (uint8_t)(2 * slot + 1);
            }
            bc.pick[h][t] = _mm512_loadu_si512(idx);
        }
    for (unsigned b = 0; b < 64; b++) /* low plane: low bytes of words 0-31, then high bytes */
        idx[b] = (uint8_t)(2 * (b % 32) + b / 32);
    bc.planes = _mm512_loadu_si512(idx);
    BUILD_CONSTS = bc;
}

static inline __m512i gather_words(__m512i idx, __m512i v)
{
    return _mm512_permutexvar_epi8(idx, v);
}

/* groups: whole blocks, an even number (groups past k get zero activations, so zero tables). */
static void build_token_tables(const int8_t *q, size_t k, size_t groups, const build_consts *bc,
                               uint8_t *tables)
{
    /* Reads stop at k: the pairs of groups start 6 bytes apart and load 8, which past the
     * end could leave the q row (k_stride need not exceed k by 2). */
    for (size_t s = 0; s < groups; s += 2) {
        size_t i = s * GROUP, left = i < k ? k - i : 0;
        __mmask16 valid = (__mmask16)(left >= 8 ? 0xff : (1u << left) - 1);
        __m128i x = _mm_cvtepi8_epi16(_mm_maskz_loadu_epi8(valid, q + i));
        __m128i nx = _mm_sub_epi16(_mm_setzero_si128(), x);
        __m512i v = _mm512_inserti32x4(_mm512_zextsi128_si512(x), nx, 1);
        for (unsigned h = 0; h < 2; h++, tables += GROUP_TABLE_BYTES) {
            const __m512i *p = bc->pick[h];
            __m512i words =
                _mm512_add_epi16(gather_words(p[0], v),
                                 _mm512_add_epi16(gather_words(p[1], v), gather_words(p[2], v)));
            _mm512_store_si512(tables, _mm512_permutexvar_epi8(bc->planes, words));
        }
    }
}

/* ------------------------------------------------------------------ hot loop */

static inline __attribute__((always_inline)) __m512i plane(const uint8_t *p)
{
    return _mm512_broadcast_i64x4(_mm256_load_si256((const __m256i *)p));
}

/* The sign byte with group g's sign bit moved to bit 4 (other bits: don't-cares). */
static inline __attribute__((always_inline)) __m512i sign_at_bit4(__m512i signs, const unsigned g)
{
    if (g < SIGN_BIT)
        return _mm512_slli_epi16(signs, SIGN_BIT - g);
    if (g > SIGN_BIT)
        return _mm512_srli_epi16(signs, g - SIGN_BIT);
    return signs;
}

/* One group's lookup for 64 rows: nibble (bits 0-3 of `nibbles`) with the sign as bit 4. */
static inline __attribute__((always_inline)) void lookup(__m512i nibbles, __m512i signs,
                                                         const unsigned g, const uint8_t *table,
                                                         __m512i *acc_lo, __m512i *acc_hi)
{
    const __m512i low4 = _mm512_set1_epi8(0x0f);
    __m512i idx = _mm512_ternarylogic_epi32(low4, nibbles, sign_at_bit4(signs, g), 0xca);
    __m512i lo = _mm512_permutexvar_epi8(idx, plane(table));
    __m512i hi = _mm512_permutexvar_epi8(idx, plane(table + PLANE_BYTES));
    tlut512_accumulate(lo, hi, acc_lo, acc_hi);
}

static inline __attribute__((always_inline)) void pass_tiles(const uint8_t *wp, const uint8_t *tab,
                                                             const uint8_t *tab_end, int32_t *sums,
                                                             const unsigned NT)
{
    tlut512_zero_sums(sums, NT);
    while (tab < tab_end) {
        const uint8_t *chunk_end = tab + CHUNK_BLOCKS * BLOCK_TABLE_BYTES;
        if (chunk_end > tab_end)
            chunk_end = tab_end;
        __m512i acc_lo[PASS_TILES], acc_hi[PASS_TILES];
#pragma GCC unroll 4
        for (unsigned t = 0; t < NT; t++)
            acc_lo[t] = acc_hi[t] = _mm512_setzero_si512();
        for (; tab < chunk_end; tab += BLOCK_TABLE_BYTES, wp += NT * BLOCK_TILE_BYTES) {
#pragma GCC unroll 4
            for (unsigned t = 0; t < NT; t++) {
                const uint8_t *tile = wp + t * BLOCK_TILE_BYTES;
                __m512i signs = _mm512_load_si512(tile + NIBBLE_VECS * VEC_BYTES);
                _mm_prefetch((const char *)(tile + TLUT_PREFETCH_BYTES + NIBBLE_VECS * VEC_BYTES),
                             _MM_HINT_T0);
#pragma GCC unroll 4
                for (unsigned j = 0; j < NIBBLE_VECS; j++) {
                    const uint8_t *tj = tab + 2 * j * GROUP_TABLE_BYTES;
                    _mm_prefetch((const char *)(tile + TLUT_PREFETCH_BYTES + j * VEC_BYTES),
                                 _MM_HINT_T0);
                    __m512i nib = _mm512_load_si512(tile + j * VEC_BYTES);
                    lookup(nib, signs, 2 * j, tj, &acc_lo[t], &acc_hi[t]);
                    lookup(_mm512_srli_epi16(nib, 4), signs, 2 * j + 1, tj + GROUP_TABLE_BYTES,
                           &acc_lo[t], &acc_hi[t]);
                }
            }
        }
#pragma GCC unroll 4
        for (unsigned t = 0; t < NT; t++)
            tlut512_widen(acc_lo[t], acc_hi[t], sums + t * TLUT512_TILE_ROWS);
    }
}

TLUT_DEFINE_PASS(bb_tern1_6_avx512_lut_pass, pass_tiles, PASS_TILES)

/* ------------------------------------------------------------------ kernel */

static void build_tables(const int8_t *q, size_t k, uint8_t *tables);

static const tlut_geom GEOM = {
    .name = "tern1.6-avx512-lut",
    .tile_rows = TLUT512_TILE_ROWS,
    .pass_tiles = PASS_TILES,
    .unit_weights = BLOCK_WEIGHTS,
    .unit_tile_bytes = BLOCK_TILE_BYTES,
    .unit_table_bytes = BLOCK_TABLE_BYTES,
    .lane_row = tlut512_lane_row,
    .pass = bb_tern1_6_avx512_lut_pass,
    .pack_row = pack_row,
    .quantize = bb_act_q8_quantize_avx512,
    .build = build_tables,
};

TLUT_DEFINE_KERNEL_FUNCS(GEOM)

static void build_tables(const int8_t *q, size_t k, uint8_t *tables)
{
    pthread_once(&build_consts_once, make_build_consts);
    build_token_tables(q, k, tlut_units(&GEOM, k) * BLOCK_GROUPS, &BUILD_CONSTS, tables);
}

const bb_kernel bb_kernel_tern1_6_avx512_lut = {
    .name = "tern1.6-avx512-lut",
    .format = BB_FMT_TERN1_6,
    .method = "lut",
    .isa = BB_ISA_AVX512,
    .needs = BB_ISA_MASK_AVX512,
    .priority = 20,
    .multiply_free = true,
    .hot_symbol = "bb_tern1_6_avx512_lut_pass",
    .row_block = TLUT512_TILE_ROWS * PASS_TILES,
    .layout_bytes = layout_bytes,
    .repack = repack,
    .act_bytes = act_bytes,
    .prepare_act = prepare_act,
    .gemm_rows = gemm_rows,
};
