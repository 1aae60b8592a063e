/*
 * kernels/x86/tern1_6_avx512_lut.c - tern1.6, AVX-512 (BW + VBMI vpermb), table lookup
 * (bitnet.cpp TL2 style): multiply-free, bit-exact with tern1.6-scalar-ref.  Method and
 * index codes: ternary_lut.h.
 *
 * Groups of 3 weights, balanced index: a sign and a magnitude m in 0..13, a 4-bit nibble,
 * so 5 bits per 3 weights = 1.667 bits per weight (tern1.6's canonical 5 trits per byte is
 * 1.6; its 243-value bytes would need 122-entry tables, too big for one vpermb).
 *
 * Tables.  Entry m of a group is the int16 sum T[m] = sum_t d_t(m) x_t (|T| <= 381), 16
 * entries (14 used) in a low-byte and a high-byte plane of 16 bytes each: 32 bytes per 3
 * activations.  The hot loop broadcasts a plane to all four 128-bit lanes, so vpermb,
 * which reads 6 index bits, finds entry m at m, m + 16, m + 32 and m + 48: the two bits
 * above the nibble are don't-cares.  So the low nibble of an index byte is looked up with
 * the byte as it is, and the high nibble after one vpsrlw by 4 for 64 rows, no masking.
 * The sign of each group is a 64-bit mask (one bit per row), loaded straight into a mask
 * register; the lookup step (ternary_lut.h) complements the entry's bytes where it is
 * set, leaving -T - 1, and the driver adds the row's count of negative groups.
 * Per 64 rows x 6 weights: 1 shift + 2 x (2 vpermb + 2 masked vpsubb + 2 unpack + 2 add).
 *
 * Repacked layout (repack, untimed).  Rows in tiles of 64 (a byte lane per row, m padded
 * to 64 with zero weights), tiles in passes of up to 4 (256 rows).  k in blocks of 24
 * weights = 8 groups (k padded with zero weights); per tile and block 320 bytes: four
 * 64-byte nibble vectors (vector j: low nibble = group 2j, high nibble = group 2j + 1 of
 * each row) and a 64-byte vector of the 8 groups' sign masks.  A pass is block-major
 * (block b of tile t at pass_base + (b * nt + t) * 320), one contiguous stream.  After all
 * passes: one int32 per padded row, its count of negative groups.
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
    PLANE_BYTES = 16,
    GROUP_TABLE_BYTES = 2 * PLANE_BYTES,
    BLOCK_TABLE_BYTES = BLOCK_GROUPS * GROUP_TABLE_BYTES,
    CHUNK_BLOCKS = 10, /* int16 accumulation bound, see above */
};

/* ------------------------------------------------------------------ repack */

static int32_t pack_row(const uint8_t *codes, size_t blocks, uint8_t *tile, size_t stride,
                        size_t row)
{
    int32_t negatives = 0;
    for (size_t b = 0; b < blocks; b++, tile += stride) {
        uint64_t *signs = (uint64_t *)(tile + NIBBLE_VECS * VEC_BYTES);
        for (unsigned g = 0; g < BLOCK_GROUPS; g++, codes += GROUP) {
            unsigned neg, m = tlut_balanced_index(codes, GROUP, &neg);
            uint8_t *byte = tile + g / 2 * VEC_BYTES + row;
            *byte = (uint8_t)(g % 2 ? (*byte & 0x0f) | m << 4 : (*byte & 0xf0) | m);
            signs[g] = (signs[g] & ~(1ull << row)) | (uint64_t)neg << row;
            negatives += (int32_t)neg;
        }
    }
    return negatives;
}

/* ------------------------------------------------------------------ activations */

/* The table build makes two groups' tables per step from 8 activations (6 used) as int16
 * words of v = [x_0..x_7, -x_0..-x_7, 0...]: word 16 h + m of the result is entry m of
 * group h, the sum over digits t of v[pick[t]]; one vpermb then orders the bytes as the
 * two groups' low and high planes. */
enum { ZERO_SLOT = 16 };

typedef struct build_consts {
    __m512i pick[GROUP];
    __m512i planes;
} build_consts;

/* The constants, made once per process (prepare_act may run on several threads). */
static build_consts BUILD_CONSTS;
static pthread_once_t build_consts_once = PTHREAD_ONCE_INIT;

static void make_build_consts(void)
{
    build_consts bc;
    int16_t pick[32];
    uint8_t planes[64];
    for (unsigned t = 0; t < GROUP; t++) {
        for (unsigned e = 0; e < 32; e++) {
            unsigned h = e / 16, m = e % 16, j = GROUP * h + t;
            int d = m < MAGNITUDES ? tlut_balanced_digit(m, GROUP, t) : 0;
            pick[e] = (int16_t)(d > 0 ? j : d < 0 ? 8 + j : ZERO_SLOT);
        }
        bc.pick[t] = _mm512_loadu_si512(pick);
    }
    /* Output byte 32 h + 16 p + m = byte p of word 16 h + m. */
    for (unsigned i = 0; i < 64; i++)
        planes[i] = (uint8_t)(2 * (16 * (i / 32) + i % 16) + i % 32 / 16);
    bc.planes = _mm512_loadu_si512(planes);
    BUILD_CONSTS = bc;
}

/* groups: whole blocks, an even number (groups past k get zero activations, so zero tables). */
static void build_token_tables(const int8_t *q, size_t k, size_t groups, const build_consts *bc,
                               uint8_t *tables)
{
    /* Reads stop at k: the pairs of groups start 6 bytes apart and load 8, which past the
     * end could leave the q row (k_stride need not exceed k by 2). */
    for (size_t s = 0; s < groups; s += 2, tables += 2 * GROUP_TABLE_BYTES) {
        size_t i = s * GROUP, left = i < k ? k - i : 0;
        __mmask16 valid = (__mmask16)(left >= 8 ? 0xff : (1u << left) - 1);
        __m128i x = _mm_cvtepi8_epi16(_mm_maskz_loadu_epi8(valid, q + i));
        __m128i nx = _mm_sub_epi16(_mm_setzero_si128(), x);
        __m512i v = _mm512_inserti32x4(_mm512_zextsi128_si512(x), nx, 1);
        __m512i words =
            _mm512_add_epi16(_mm512_permutexvar_epi16(bc->pick[0], v),
                             _mm512_add_epi16(_mm512_permutexvar_epi16(bc->pick[1], v),
                                              _mm512_permutexvar_epi16(bc->pick[2], v)));
        _mm512_store_si512(tables, _mm512_permutexvar_epi8(bc->planes, words));
    }
}

/* ------------------------------------------------------------------ hot loop */

static inline __attribute__((always_inline)) __m512i plane(const uint8_t *p)
{
    return _mm512_broadcast_i32x4(_mm_load_si128((const __m128i *)p));
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
            for (unsigned t = 0; t < NT; t++)
                _mm_prefetch((const char *)(wp + TLUT_PREFETCH_BYTES + t * BLOCK_TILE_BYTES +
                                            NIBBLE_VECS * VEC_BYTES),
                             _MM_HINT_T0);
#pragma GCC unroll 4
            for (unsigned j = 0; j < NIBBLE_VECS; j++) {
                const uint8_t *tj = tab + 2 * j * GROUP_TABLE_BYTES;
                __m512i lo0 = plane(tj), hi0 = plane(tj + PLANE_BYTES);
                __m512i lo1 = plane(tj + GROUP_TABLE_BYTES);
                __m512i hi1 = plane(tj + GROUP_TABLE_BYTES + PLANE_BYTES);
#pragma GCC unroll 4
                for (unsigned t = 0; t < NT; t++) {
                    const uint8_t *tile = wp + t * BLOCK_TILE_BYTES;
                    const uint8_t *signs = tile + NIBBLE_VECS * VEC_BYTES + 2 * j * 8;
                    _mm_prefetch((const char *)(tile + TLUT_PREFETCH_BYTES + j * VEC_BYTES),
                                 _MM_HINT_T0);
                    __m512i idx = _mm512_load_si512(tile + j * VEC_BYTES);
                    tlut512_lookup(idx, _load_mask64((__mmask64 *)signs), lo0, hi0, &acc_lo[t],
                                   &acc_hi[t]);
                    tlut512_lookup(_mm512_srli_epi16(idx, 4),
                                   _load_mask64((__mmask64 *)(signs + 8)), lo1, hi1, &acc_lo[t],
                                   &acc_hi[t]);
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
};

TLUT_DEFINE_KERNEL_FUNCS(GEOM)

static void prepare_act(const bb_gemm_args *a, size_t t0, size_t t1)
{
    size_t k = a->w->k;
    bb_act_q8 view = bb_act_q8_view(a->act, k, a->n);
    pthread_once(&build_consts_once, make_build_consts);
    bb_act_q8_quantize_avx512(a->x, a->x_stride, &view, t0, t1);
    for (size_t t = t0; t < t1; t++)
        build_token_tables(view.q + t * view.k_stride, k, tlut_units(&GEOM, k) * BLOCK_GROUPS,
                           &BUILD_CONSTS, tlut_token_tables(&GEOM, a, t));
}

const bb_kernel bb_kernel_tern1_6_avx512_lut = {
    .name = "tern1.6-avx512-lut",
    .format = BB_FMT_TERN1_6,
    .method = "lut",
    .isa = BB_ISA_AVX512,
    .needs = BB_CPU_AVX512F | BB_CPU_AVX512BW | BB_CPU_AVX512VL | BB_CPU_AVX512VBMI |
             BB_ACT_Q8_AVX512_NEEDS,
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
