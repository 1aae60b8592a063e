/*
 * kernels/x86/tern2_avx2_lut.c - tern2, AVX2, table lookup (T-MAC / bitnet.cpp TL1 style,
 * vpshufb): multiply-free, bit-exact with tern2-scalar-ref.  Method: ternary_lut.h.
 *
 * Groups of 2 weights, plain index i = 3 c_0 + c_1 (0..8), a nibble: 4 bits per 2 weights,
 * tern2's 2 bits per weight.  Entry i of a group is T[i] = (c_0 - 1) x_0 + (c_1 - 1) x_1,
 * |T| <= 254, kept as a 16-byte low-byte plane and a 16-byte high-byte plane (no sign
 * split is needed: 9 entries fit vpshufb's 16).
 *
 * Repacked layout (repack, untimed).  Rows in tiles of 16 (vpshufb: a byte lane per row
 * within each 128-bit half; m padded to 16 with zero weights), tiles in passes of 2 (32
 * rows).  k in units of 8 weights = 4 groups g0..g3 (k padded with zero weights); per tile
 * and unit 32 bytes, byte r of the low half holding g0 (low nibble) and g2 (high nibble)
 * of row r, byte r of the high half g1 and g3.  So one 32-byte load serves 2 lookups: low
 * nibbles (vpand) against tables (g0 | g1), high nibbles (vpsrlw 4, vpand) against
 * (g2 | g3).  A pass is unit-major (unit u of tile t at pass_base + (u * nt + t) * 32).
 * After all passes one int32 per padded row (zero: no correction here).
 * Bytes: ceil(m / 16) * 16 * (ceil(k / 8) * 2 + 4): 2 bits per weight + 32 per row.
 *
 * Tables per unit: 128 bytes, [low g0 | low g1], [high g0 | high g1], then g2, g3 alike.
 * Built from bytes without a multiply: vpsignb(x_t, d_t) is d_t x_t for d_t in -1, 0, 1,
 * the low plane is the wrapping byte sum, and since |T| < 256 the high byte is just the
 * sign, read from the saturating byte sum (which keeps it).
 *
 * Hot loop per 16 rows x 8 weights: 3 nibble ops + 2 x (2 vpshufb + 2 unpack + 2 add).
 * Accumulation bound: an int16 lane gets two entries per unit (<= 508), so it is widened
 * every 64 units (64 * 508 = 32512 <= 32767).
 */
#include "list_ternary_lut.h"

#include "act_q8_simd.h"
#include "ternary_lut.h"

#include <immintrin.h>
#include <pthread.h>

enum {
    GROUP = 2,
    UNIT_GROUPS = 4,
    UNIT_WEIGHTS = GROUP * UNIT_GROUPS,
    PASS_TILES = 2,
    VEC_BYTES = 32,
    UNIT_TABLE_BYTES = 4 * VEC_BYTES,
    CHUNK_UNITS = 64,
};

/* ------------------------------------------------------------------ repack */

static int32_t pack_row(const uint8_t *codes, size_t units, uint8_t *tile, size_t stride,
                        size_t row)
{
    for (size_t u = 0; u < units; u++, tile += stride, codes += UNIT_WEIGHTS) {
        unsigned i[UNIT_GROUPS];
        for (unsigned g = 0; g < UNIT_GROUPS; g++)
            i[g] = tlut_plain_index(codes + GROUP * g, GROUP);
        tile[row] = (uint8_t)(i[0] | i[2] << 4);
        tile[TLUT256_TILE_ROWS + row] = (uint8_t)(i[1] | i[3] << 4);
    }
    return 0;
}

/* ------------------------------------------------------------------ activations */

typedef struct build_consts {
    __m256i pick[2][GROUP]; /* vpshufb: activation byte of digit t, per lane, for g0|g1, g2|g3 */
    __m256i digit[GROUP];   /* d_t(i) per entry byte i (0 for unused entries) */
} build_consts;

/* The constants, made once per process (prepare_act may run on several threads). */
static build_consts BUILD_CONSTS;
static pthread_once_t build_consts_once = PTHREAD_ONCE_INIT;

static void make_build_consts(void)
{
    build_consts bc;
    int8_t pick[32], digit[32];
    for (unsigned pair = 0; pair < 2; pair++)
        for (unsigned t = 0; t < GROUP; t++) {
            for (unsigned b = 0; b < 32; b++) /* group 2 pair + lane; its digit t */
                pick[b] = (int8_t)(GROUP * (2 * pair + b / 16) + t);
            bc.pick[pair][t] = _mm256_loadu_si256((const __m256i *)pick);
        }
    for (unsigned t = 0; t < GROUP; t++) {
        for (unsigned b = 0; b < 32; b++)
            digit[b] = (int8_t)(b % 16 < 9 ? tlut_plain_digit(b % 16, GROUP, t) : 0);
        bc.digit[t] = _mm256_loadu_si256((const __m256i *)digit);
    }
    BUILD_CONSTS = bc;
}

static void build_token_tables(const int8_t *q, size_t units, const build_consts *bc,
                               uint8_t *tables)
{
    /* q is zero from k up to k_stride, a multiple of 64 >= units * 8. */
    for (size_t u = 0; u < units; u++, q += UNIT_WEIGHTS) {
        __m256i x = _mm256_broadcastsi128_si256(_mm_loadl_epi64((const __m128i *)q));
        for (unsigned pair = 0; pair < 2; pair++, tables += 2 * VEC_BYTES) {
            __m256i p0 = _mm256_sign_epi8(_mm256_shuffle_epi8(x, bc->pick[pair][0]), bc->digit[0]);
            __m256i p1 = _mm256_sign_epi8(_mm256_shuffle_epi8(x, bc->pick[pair][1]), bc->digit[1]);
            __m256i high = _mm256_cmpgt_epi8(_mm256_setzero_si256(), _mm256_adds_epi8(p0, p1));
            _mm256_store_si256((__m256i *)tables, _mm256_add_epi8(p0, p1));
            _mm256_store_si256((__m256i *)(tables + VEC_BYTES), high);
        }
    }
}

/* ------------------------------------------------------------------ hot loop */

static inline __attribute__((always_inline)) void pass_tiles(const uint8_t *wp, const uint8_t *tab,
                                                             const uint8_t *tab_end, int32_t *sums,
                                                             const unsigned NT)
{
    const __m256i nibble = _mm256_set1_epi8(0x0f), no_sign = _mm256_setzero_si256();
    tlut256_zero_sums(sums, NT);
    while (tab < tab_end) {
        const uint8_t *chunk_end = tab + CHUNK_UNITS * UNIT_TABLE_BYTES;
        if (chunk_end > tab_end)
            chunk_end = tab_end;
        __m256i acc_a[PASS_TILES], acc_b[PASS_TILES];
#pragma GCC unroll 2
        for (unsigned t = 0; t < NT; t++)
            acc_a[t] = acc_b[t] = _mm256_setzero_si256();
        for (; tab < chunk_end; tab += UNIT_TABLE_BYTES, wp += NT * VEC_BYTES) {
            __m256i lo01 = _mm256_load_si256((const __m256i *)tab);
            __m256i hi01 = _mm256_load_si256((const __m256i *)(tab + VEC_BYTES));
            __m256i lo23 = _mm256_load_si256((const __m256i *)(tab + 2 * VEC_BYTES));
            __m256i hi23 = _mm256_load_si256((const __m256i *)(tab + 3 * VEC_BYTES));
#pragma GCC unroll 2
            for (unsigned t = 0; t < NT; t++) {
                _mm_prefetch((const char *)(wp + TLUT_PREFETCH_BYTES + t * VEC_BYTES), _MM_HINT_T0);
                __m256i w = _mm256_load_si256((const __m256i *)(wp + t * VEC_BYTES));
                tlut256_lookup(_mm256_and_si256(w, nibble), no_sign, lo01, hi01, &acc_a[t],
                               &acc_b[t]);
                tlut256_lookup(_mm256_and_si256(_mm256_srli_epi16(w, 4), nibble), no_sign, lo23,
                               hi23, &acc_a[t], &acc_b[t]);
            }
        }
#pragma GCC unroll 2
        for (unsigned t = 0; t < NT; t++)
            tlut256_widen(acc_a[t], acc_b[t], sums + t * TLUT256_TILE_ROWS);
    }
}

TLUT_DEFINE_PASS(bb_tern2_avx2_lut_pass, pass_tiles, PASS_TILES)

/* ------------------------------------------------------------------ kernel */

static void build_tables(const int8_t *q, size_t k, uint8_t *tables);

static const tlut_geom GEOM = {
    .name = "tern2-avx2-lut",
    .tile_rows = TLUT256_TILE_ROWS,
    .pass_tiles = PASS_TILES,
    .unit_weights = UNIT_WEIGHTS,
    .unit_tile_bytes = VEC_BYTES,
    .unit_table_bytes = UNIT_TABLE_BYTES,
    .lane_row = tlut256_lane_row,
    .pass = bb_tern2_avx2_lut_pass,
    .pack_row = pack_row,
    .quantize = bb_act_q8_quantize_avx2,
    .build = build_tables,
};

TLUT_DEFINE_KERNEL_FUNCS(GEOM)

static void build_tables(const int8_t *q, size_t k, uint8_t *tables)
{
    pthread_once(&build_consts_once, make_build_consts);
    build_token_tables(q, tlut_units(&GEOM, k), &BUILD_CONSTS, tables);
}

const bb_kernel bb_kernel_tern2_avx2_lut = {
    .name = "tern2-avx2-lut",
    .format = BB_FMT_TERN2,
    .method = "lut",
    .isa = BB_ISA_AVX2,
    .needs = BB_ISA_MASK_AVX2,
    .priority = 10,
    .multiply_free = true,
    .hot_symbol = "bb_tern2_avx2_lut_pass",
    .row_block = TLUT256_TILE_ROWS * PASS_TILES,
    .layout_bytes = layout_bytes,
    .repack = repack,
    .act_bytes = act_bytes,
    .prepare_act = prepare_act,
    .gemm_rows = gemm_rows,
};
