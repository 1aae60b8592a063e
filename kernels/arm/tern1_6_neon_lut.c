/*
 * kernels/arm/tern1_6_neon_lut.c - tern1.6, plain NEON, table lookup (bitnet.cpp TL2 style,
 * TBL): multiply-free, bit-exact with tern1.6-scalar-ref.  Method and layout skeleton:
 * ternary_lut_neon.h.
 *
 * Groups of 3 weights with a balanced index: v = 9 (c_0 - 1) + 3 (c_1 - 1) + (c_2 - 1) in
 * -13..13, stored as a magnitude |v| (a nibble) and a sign bit: 5 bits per 3 weights =
 * 1.67 bits per weight (the canonical 5-trit bytes would need 243-entry tables, beyond
 * TBL's 16 bytes per register).  The balanced-ternary digits of -v are those of v negated,
 * so one table of the 14 magnitudes, T[m] = sum_t d_t(m) x_t (|T| <= 381), serves all 27
 * patterns with a sign.  A negative group's entry is complemented byte-wise (EOR with the
 * CMTST sign mask: ~T = -T - 1 in int16); the row's correction adds its count of negative
 * groups back.
 *
 * Repacked layout: units of 24 weights (8 groups); per tile and unit 80 bytes: four nibble
 * vectors, vector p holding in byte r the magnitudes of groups 2p (low nibble) and 2p + 1
 * (high nibble) of row r, then one sign vector, byte r with bit g = sign of group g.
 * Tables per unit: 256 bytes, per group g [low 16 | high 16] at 32 g.
 *
 * Bound: an int16 row lane gets 8 entries per unit (|entry| <= 382 after the complement),
 * widened into int32 every 10 units: 10 * 8 * 382 = 30560 <= 32767.
 */
#include "arm.h"

#include "ternary_lut_neon.h"

enum {
    GROUPS = 8,
    UNIT_WEIGHTS = 3 * GROUPS,
    UNIT_TILE_BYTES = 16 * (GROUPS / 2 + 1),
    UNIT_TABLE_BYTES = 32 * GROUPS,
    SEGMENT_UNITS = 10,
};

static int32_t pack_row(const uint8_t *codes, size_t units, uint8_t *tile, unsigned lane)
{
    int32_t negatives = 0;
    for (size_t u = 0; u < units; u++, tile += UNIT_TILE_BYTES) {
        unsigned signs = 0;
        for (unsigned g = 0; g < GROUPS; g++, codes += 3) {
            int v = 9 * (codes[0] - 1) + 3 * (codes[1] - 1) + (codes[2] - 1);
            unsigned m = (unsigned)(v < 0 ? -v : v);
            if (v < 0) {
                signs |= 1u << g;
                negatives++;
            }
            tile[16 * (g / 2) + lane] |= (uint8_t)(m << (4 * (g % 2)));
        }
        tile[16 * (GROUPS / 2) + lane] = (uint8_t)signs;
    }
    return negatives;
}

/* Balanced-ternary digit t (0: weight 9, 1: weight 3, 2: weight 1) of m in 0..13. */
static int balanced_digit(int m, int t)
{
    int d = 0;
    for (int s = 2; s >= t; s--) {
        d = (m + 1) % 3 - 1;
        m = (m - d) / 3;
    }
    return d;
}

static int signed_x(int d, int x) { return d < 0 ? -x : d > 0 ? x : 0; }

static void build(const int8_t *q, size_t k, size_t units, uint8_t *tables)
{
    memset(tables, 0, units * UNIT_TABLE_BYTES);
    for (size_t g = 0; g < GROUPS * units; g++) {
        uint8_t *lo = tables + 32 * g, *hi = lo + 16;
        int x[3];
        for (int t = 0; t < 3; t++)
            x[t] = 3 * g + t < k ? q[3 * g + t] : 0;
        for (int m = 0; m <= 13; m++)
            tl_put_entry(lo, hi, (unsigned)m,
                         signed_x(balanced_digit(m, 0), x[0]) + signed_x(balanced_digit(m, 1), x[1]) +
                             signed_x(balanced_digit(m, 2), x[2]));
    }
}

/* Looks up group g's entries for the nibble indices idx, complemented where neg is set. */
TN_ALWAYS_INLINE void lookup(int16x8_t acc[2], const uint8_t *tab, uint8x16_t idx, uint8x16_t neg)
{
    tl_add_entries(acc, veorq_u8(vqtbl1q_u8(vld1q_u8(tab), idx), neg),
                   veorq_u8(vqtbl1q_u8(vld1q_u8(tab + 16), idx), neg));
}

void bb_tern1_6_neon_lut_tile(const uint8_t *wp, const uint8_t *tab, size_t units,
                              int32_t sums[16]);
__attribute__((noinline)) void bb_tern1_6_neon_lut_tile(const uint8_t *wp, const uint8_t *tab,
                                                        size_t units, int32_t sums[16])
{
    const uint8x16_t nibble = vdupq_n_u8(0x0f);
    int32x4_t s[4] = {vdupq_n_s32(0), vdupq_n_s32(0), vdupq_n_s32(0), vdupq_n_s32(0)};
    for (size_t u0 = 0; u0 < units; u0 += SEGMENT_UNITS) {
        size_t u1 = units - u0 > SEGMENT_UNITS ? u0 + SEGMENT_UNITS : units;
        int16x8_t acc[2] = {vdupq_n_s16(0), vdupq_n_s16(0)};
        for (size_t u = u0; u < u1; u++, wp += UNIT_TILE_BYTES, tab += UNIT_TABLE_BYTES) {
            uint8x16_t signs = vld1q_u8(wp + 16 * (GROUPS / 2));
#pragma GCC unroll 4
            for (int p = 0; p < GROUPS / 2; p++) {
                uint8x16_t idx = vld1q_u8(wp + 16 * p);
                uint8x16_t neg0 = vtstq_u8(signs, vdupq_n_u8((uint8_t)(1u << (2 * p))));
                uint8x16_t neg1 = vtstq_u8(signs, vdupq_n_u8((uint8_t)(2u << (2 * p))));
                lookup(acc, tab + 64 * p, vandq_u8(idx, nibble), neg0);
                lookup(acc, tab + 64 * p + 32, vshrq_n_u8(idx, 4), neg1);
            }
        }
        tl_widen(s, acc);
    }
    for (int i = 0; i < 4; i++)
        vst1q_s32(sums + 4 * i, s[i]);
}

static const tl_geom geom = {
    .name = "tern1.6-neon-lut",
    .unit_weights = UNIT_WEIGHTS,
    .unit_tile_bytes = UNIT_TILE_BYTES,
    .unit_table_bytes = UNIT_TABLE_BYTES,
    .pack_row = pack_row,
    .build = build,
    .tile = bb_tern1_6_neon_lut_tile,
};

TL_DEFINE_KERNEL_FUNCS(geom)

const bb_kernel bb_kernel_tern1_6_neon_lut = {
    .name = "tern1.6-neon-lut",
    .format = BB_FMT_TERN1_6,
    .method = "lut",
    .isa = BB_ISA_NEON,
    .needs = BB_ISA_MASK_NEON,
    .priority = 10, /* not measured on ARM hardware yet (see arm.h) */
    .multiply_free = true,
    .hot_symbol = "bb_tern1_6_neon_lut_tile",
    .row_block = TL_TILE_ROWS,
    .layout_bytes = layout_bytes,
    .repack = repack,
    .act_bytes = act_bytes,
    .prepare_act = prepare_act,
    .gemm_rows = gemm_rows,
};
