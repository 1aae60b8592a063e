/*
 * kernels/arm/ternary_lut_neon.h - internal to tern2_neon_lut.c and tern1_6_neon_lut.c: the
 * table-lookup method (T-MAC, Wei et al. 2024; bitnet.cpp TL1/TL2) for NEON's TBL, and the
 * scalar, ISA-free parts both kernels share (repack skeleton, blob, driver).
 *
 * A group of g ternary weights against g int8 activations contributes one of 3^g sums that
 * depend on the activations only.  Per token, prepare_act tabulates them for every group
 * (exact int16 sums, |sum| <= 127 g); the repacked weights are table indices, and TBL looks
 * 16 of them up at once.  TBL reads one 16-byte table for all 16 byte lanes, so the lanes
 * are 16 different ROWS sharing one activation group: rows are repacked in tiles of 16,
 * byte lane r of a tile vector belonging to row r.  An int16 entry is kept as a 16-byte
 * low-byte plane and a 16-byte high-byte plane; two TBLs and ZIP1/ZIP2 give int16 lanes
 * (ZIP of low and high bytes is the little-endian int16), added with ADD.  The hot loop
 * has no multiply, and the sums are the reference's integers, so y is bit-exact.
 *
 * Layout (repack, untimed): tile t (rows 16 t .. 16 t + 15, m padded with zero-code rows)
 * at t * units * unit_tile_bytes, its units (of unit_weights weights, k padded with zero
 * codes) one after the other; after all tiles one int32 correction per padded row, added
 * to the row's sum (the kernels' sign trick may leave -1 per negative group).
 * Activation blob: the standard q8 blob, then per token units * unit_table_bytes of tables.
 */
#ifndef BITBENCH_ARM_TERNARY_LUT_NEON_H
#define BITBENCH_ARM_TERNARY_LUT_NEON_H
#include "act_q8_neon.h"
#include "ternary_neon.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { TL_TILE_ROWS = 16, TL_CODE_ZERO = 1 };

/* Codes 0..2 of weights 0 .. len-1 of row r of a canonical tern2 or tern1.6 matrix, the
 * zero code beyond k. */
static inline void tl_row_codes(const bb_weights *w, size_t r, uint8_t *codes, size_t len)
{
    const uint8_t *row = w->data + r * w->row_bytes;
    int base3 = w->format == BB_FMT_TERN1_6;
    size_t block = base3 ? TN_TERN1_6_BLOCK : TN_TERN2_BLOCK;
    memset(codes, TL_CODE_ZERO, len);
    for (size_t b0 = 0; b0 < w->k; b0 += block, row += TN_BLOCK_BYTES)
        for (size_t j = 0; j < TN_BLOCK_BYTES; j++) {
            unsigned v = row[j];
            for (size_t i = b0 + j; i < b0 + block; i += TN_BLOCK_BYTES) {
                unsigned code;
                if (base3) {
                    code = (3 * v) >> 8;
                    v = (3 * v) & 0xffu;
                } else {
                    code = v & 3u;
                    v >>= 2;
                }
                if (i < w->k && i < len)
                    codes[i] = (uint8_t)code;
            }
        }
}

/* A kernel's geometry and its two own functions. */
typedef struct tl_geom {
    const char *name;
    size_t unit_weights, unit_tile_bytes, unit_table_bytes;
    /* Packs one row's codes (units * unit_weights) as lane `lane` of its tile; returns the
     * row's correction. */
    int32_t (*pack_row)(const uint8_t *codes, size_t units, uint8_t *tile, unsigned lane);
    /* One token's tables from its q (k values; read nothing at or beyond k). */
    void (*build)(const int8_t *q, size_t k, size_t units, uint8_t *tables);
    /* The hot loop: the 16 int32 row sums of one tile against one token's tables. */
    void (*tile)(const uint8_t *wp, const uint8_t *tables, size_t units, int32_t sums[16]);
} tl_geom;

static inline size_t tl_units(const tl_geom *g, size_t k) { return (k + g->unit_weights - 1) / g->unit_weights; }
static inline size_t tl_tiles(size_t m) { return (m + TL_TILE_ROWS - 1) / TL_TILE_ROWS; }
static inline size_t tl_codes_bytes(const tl_geom *g, size_t m, size_t k)
{
    return tl_tiles(m) * tl_units(g, k) * g->unit_tile_bytes;
}

static inline size_t tl_layout_bytes(const tl_geom *g, const bb_weights *w)
{
    return tl_codes_bytes(g, w->m, w->k) + tl_tiles(w->m) * TL_TILE_ROWS * sizeof(int32_t);
}

static inline void tl_repack(const tl_geom *g, const bb_weights *w, void *layout)
{
    size_t units = tl_units(g, w->k), len = units * g->unit_weights;
    uint8_t *codes = malloc(len), *out = layout;
    int32_t *corrections = (int32_t *)(out + tl_codes_bytes(g, w->m, w->k));
    if (!codes) {
        fprintf(stderr, "%s: out of memory repacking %zu x %zu\n", g->name, w->m, w->k);
        abort();
    }
    for (size_t r = 0; r < tl_tiles(w->m) * TL_TILE_ROWS; r++) {
        if (r < w->m)
            tl_row_codes(w, r, codes, len);
        else
            memset(codes, TL_CODE_ZERO, len);
        corrections[r] = g->pack_row(codes, units, out + r / TL_TILE_ROWS * units * g->unit_tile_bytes,
                                     (unsigned)(r % TL_TILE_ROWS));
    }
    free(codes);
}

static inline size_t tl_act_bytes(const tl_geom *g, size_t k, size_t n)
{
    return bb_act_q8_bytes(k, n) + n * tl_units(g, k) * g->unit_table_bytes;
}

static inline uint8_t *tl_tables(const tl_geom *g, const bb_gemm_args *a, size_t t)
{
    return (uint8_t *)a->act + bb_act_q8_bytes(a->w->k, a->n) +
           t * tl_units(g, a->w->k) * g->unit_table_bytes;
}

static inline void tl_prepare_act(const tl_geom *g, const bb_gemm_args *a, size_t t0, size_t t1)
{
    bb_act_q8 view = bb_act_q8_view(a->act, a->w->k, a->n);
    bb_act_q8_quantize_neon(a->x, a->x_stride, &view, t0, t1);
    for (size_t t = t0; t < t1; t++)
        g->build(view.q + t * view.k_stride, a->w->k, tl_units(g, a->w->k), tl_tables(g, a, t));
}

/* Tiles outer, tokens inner (a tile's weights come from cache for the other tokens).  Any
 * r0, r1: a tile computes its 16 rows and only those in [r0, r1) are stored. */
static inline void tl_gemm_rows(const tl_geom *g, const bb_gemm_args *a, size_t r0, size_t r1)
{
    const bb_weights *w = a->w;
    size_t units = tl_units(g, w->k);
    const uint8_t *layout = a->layout;
    const int32_t *corrections = (const int32_t *)(layout + tl_codes_bytes(g, w->m, w->k));
    bb_act_q8 act = bb_act_q8_view(a->act, w->k, a->n);
    q8_check_k(g->name, w->k, TN_MAX_K);
    for (size_t tile = r0 / TL_TILE_ROWS; tile * TL_TILE_ROWS < r1; tile++) {
        size_t base = tile * TL_TILE_ROWS;
        size_t lo = base > r0 ? base : r0, hi = base + TL_TILE_ROWS < r1 ? base + TL_TILE_ROWS : r1;
        const uint8_t *wp = layout + tile * units * g->unit_tile_bytes;
        for (size_t t = 0; t < a->n; t++) {
            int32_t sums[TL_TILE_ROWS];
            g->tile(wp, tl_tables(g, a, t), units, sums);
            for (size_t r = lo; r < hi; r++)
                a->y[t * a->y_stride + r] =
                    bb_rescale_i32(sums[r - base] + corrections[r], w->scales[0], act.scale[t]);
        }
    }
}

/* Adds int16 lookups of 16 rows: lo/hi are the looked-up low and high bytes; rows 0-7 go
 * to acc[0], rows 8-15 to acc[1]. */
TN_ALWAYS_INLINE void tl_add_entries(int16x8_t acc[2], uint8x16_t lo, uint8x16_t hi)
{
    acc[0] = vaddq_s16(acc[0], vreinterpretq_s16_u8(vzip1q_u8(lo, hi)));
    acc[1] = vaddq_s16(acc[1], vreinterpretq_s16_u8(vzip2q_u8(lo, hi)));
}

/* Widens the two int16 row accumulators into the four int32 ones (rows 4 i .. 4 i + 3). */
TN_ALWAYS_INLINE void tl_widen(int32x4_t s[4], const int16x8_t acc[2])
{
    s[0] = vaddw_s16(s[0], vget_low_s16(acc[0]));
    s[1] = vaddw_high_s16(s[1], acc[0]);
    s[2] = vaddw_s16(s[2], vget_low_s16(acc[1]));
    s[3] = vaddw_high_s16(s[3], acc[1]);
}

/* Stores an int16 table entry T as its low byte at lo[i] and its high byte at hi[i]. */
static inline void tl_put_entry(uint8_t *lo, uint8_t *hi, unsigned i, int v)
{
    uint16_t u = (uint16_t)v;
    lo[i] = (uint8_t)(u & 0xffu);
    hi[i] = (uint8_t)(u >> 8);
}

#define TL_DEFINE_KERNEL_FUNCS(geom)                                                          \
    static size_t layout_bytes(const bb_weights *w) { return tl_layout_bytes(&(geom), w); }   \
    static void repack(const bb_weights *w, void *layout) { tl_repack(&(geom), w, layout); }  \
    static size_t act_bytes(size_t k, size_t n) { return tl_act_bytes(&(geom), k, n); }       \
    static void prepare_act(const bb_gemm_args *a, size_t t0, size_t t1)                      \
    {                                                                                         \
        tl_prepare_act(&(geom), a, t0, t1);                                                   \
    }                                                                                         \
    static void gemm_rows(const bb_gemm_args *a, size_t r0, size_t r1)                        \
    {                                                                                         \
        tl_gemm_rows(&(geom), a, r0, r1);                                                     \
    }

#endif
