/*
 * kernels/arm/tern2_neon_lut.c - tern2, plain NEON, table lookup (T-MAC / bitnet.cpp TL1
 * style, TBL): multiply-free, bit-exact with tern2-scalar-ref.  Method and layout skeleton:
 * ternary_lut_neon.h.
 *
 * Groups of 2 weights, plain index i = 3 c_0 + c_1 (0..8) in a nibble: 2 bits per weight,
 * as tern2.  Entry i of a group is T[i] = (c_0 - 1) x_0 + (c_1 - 1) x_1 (|T| <= 254);
 * entries 9..15 are 0 (never indexed).
 *
 * Repacked layout: units of 4 weights (2 groups); per tile and unit 16 bytes, byte r = index
 * of group 0 (low nibble) | index of group 1 (high nibble) of row r.  No correction (0).
 * Tables per unit: 64 bytes, [low g0 | high g0 | low g1 | high g1].
 *
 * Hot loop per 16 rows x 4 weights: AND + USHR for the nibbles, 4 TBL, 2 x (ZIP1, ZIP2,
 * 2 ADD).  Bound: an int16 row lane gets 2 entries per unit (<= 508), widened into int32
 * every 64 units: 64 * 508 = 32512 <= 32767.
 */
#include "arm.h"

#include "ternary_lut_neon.h"

enum { UNIT_WEIGHTS = 4, UNIT_TILE_BYTES = 16, UNIT_TABLE_BYTES = 64, SEGMENT_UNITS = 64 };

static int32_t pack_row(const uint8_t *codes, size_t units, uint8_t *tile, unsigned lane)
{
    for (size_t u = 0; u < units; u++, codes += UNIT_WEIGHTS)
        tile[u * UNIT_TILE_BYTES + lane] =
            (uint8_t)((3 * codes[0] + codes[1]) | (3 * codes[2] + codes[3]) << 4);
    return 0;
}

static int signed_x(int d, int x) { return d < 0 ? -x : d > 0 ? x : 0; }

static void build(const int8_t *q, size_t k, size_t units, uint8_t *tables)
{
    memset(tables, 0, units * UNIT_TABLE_BYTES);
    for (size_t g = 0; g < 2 * units; g++) {
        uint8_t *lo = tables + 32 * g, *hi = lo + 16;
        int x0 = 2 * g < k ? q[2 * g] : 0, x1 = 2 * g + 1 < k ? q[2 * g + 1] : 0;
        for (int c0 = 0; c0 < 3; c0++)
            for (int c1 = 0; c1 < 3; c1++)
                tl_put_entry(lo, hi, (unsigned)(3 * c0 + c1),
                             signed_x(c0 - 1, x0) + signed_x(c1 - 1, x1));
    }
}

void bb_tern2_neon_lut_tile(const uint8_t *wp, const uint8_t *tab, size_t units, int32_t sums[16]);
__attribute__((noinline)) void bb_tern2_neon_lut_tile(const uint8_t *wp, const uint8_t *tab,
                                                      size_t units, int32_t sums[16])
{
    const uint8x16_t nibble = vdupq_n_u8(0x0f);
    int32x4_t s[4] = {vdupq_n_s32(0), vdupq_n_s32(0), vdupq_n_s32(0), vdupq_n_s32(0)};
    for (size_t u0 = 0; u0 < units; u0 += SEGMENT_UNITS) {
        size_t u1 = units - u0 > SEGMENT_UNITS ? u0 + SEGMENT_UNITS : units;
        int16x8_t acc[2] = {vdupq_n_s16(0), vdupq_n_s16(0)};
        for (size_t u = u0; u < u1; u++, wp += UNIT_TILE_BYTES, tab += UNIT_TABLE_BYTES) {
            uint8x16_t idx = vld1q_u8(wp);
            uint8x16_t i0 = vandq_u8(idx, nibble), i1 = vshrq_n_u8(idx, 4);
            tl_add_entries(acc, vqtbl1q_u8(vld1q_u8(tab), i0), vqtbl1q_u8(vld1q_u8(tab + 16), i0));
            tl_add_entries(acc, vqtbl1q_u8(vld1q_u8(tab + 32), i1),
                           vqtbl1q_u8(vld1q_u8(tab + 48), i1));
        }
        tl_widen(s, acc);
    }
    for (int i = 0; i < 4; i++)
        vst1q_s32(sums + 4 * i, s[i]);
}

static const tl_geom geom = {
    .name = "tern2-neon-lut",
    .unit_weights = UNIT_WEIGHTS,
    .unit_tile_bytes = UNIT_TILE_BYTES,
    .unit_table_bytes = UNIT_TABLE_BYTES,
    .pack_row = pack_row,
    .build = build,
    .tile = bb_tern2_neon_lut_tile,
};

TL_DEFINE_KERNEL_FUNCS(geom)

const bb_kernel bb_kernel_tern2_neon_lut = {
    .name = "tern2-neon-lut",
    .format = BB_FMT_TERN2,
    .method = "lut",
    .isa = BB_ISA_NEON,
    .needs = BB_ISA_MASK_NEON,
    .priority = 10, /* not measured on ARM hardware yet (see arm.h) */
    .multiply_free = true,
    .hot_symbol = "bb_tern2_neon_lut_tile",
    .row_block = TL_TILE_ROWS,
    .layout_bytes = layout_bytes,
    .repack = repack,
    .act_bytes = act_bytes,
    .prepare_act = prepare_act,
    .gemm_rows = gemm_rows,
};
