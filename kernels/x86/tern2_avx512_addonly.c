/*
 * kernels/x86/tern2_avx512_addonly.c - tern2 without multiplies: the bit-serial add-only
 * kernel (AVX-512 F/BW + VPOPCNTDQ).  See ternary_simd.h for the method: weights and
 * activations as bit planes, one vpternlogq + vpopcntq + vpaddq per 512 weights and
 * activation bit.  No multiply instruction anywhere in bb_tern2_avx512_addonly_rows
 * (`make check-addonly` checks the disassembly).
 *
 * Own layout (repack, once, untimed): per row, the tern2 codes as P/Q bit planes in weight
 * order - k_padded / 512 blocks of 128 bytes [P | Q], then a 64-byte half block when
 * k_padded is an odd multiple of 256 - the same bytes per row as the canonical layout;
 * after the m rows, one int32 per row: 128 |P| + 127 |Q| (the offset the unsigned
 * activations add, see ternary_simd.h), rounded up to 64 bytes.
 *
 * Activations: the AVX-512 q8 quantizer, then each token's 8 bit planes of u = q + 128 in
 * weight order (ts_chunk_planes: 2 instructions and a mask store per 64 activations and
 * plane, once per token).
 */
#include "act_q8_simd.h"
#include "list_ternary.h"
#include "ternary_simd.h"

#include <immintrin.h>

enum { ROWS = 2 };

/* ------------------------------------------------------------------ layout */

static size_t layout_bytes(const bb_weights *w)
{
    return w->m * w->row_bytes + bb_round_up(w->m * sizeof(int32_t), BB_ALIGN);
}

/* Sets bit i of a plane of `bits` bits from codes[0 .. bits) where code == want. */
static unsigned pack_plane(const uint8_t *codes, size_t bits, unsigned want, uint8_t *plane)
{
    unsigned count = 0;
    memset(plane, 0, bits / 8);
    for (size_t i = 0; i < bits; i++)
        if (codes[i] == want) {
            plane[i / 8] |= (uint8_t)(1u << (i % 8));
            count++;
        }
    return count;
}

static void repack(const bb_weights *w, void *layout)
{
    uint8_t codes[TS_PLANE_BLOCK];
    int32_t *corr = (int32_t *)((uint8_t *)layout + w->m * w->row_bytes);
    for (size_t r = 0; r < w->m; r++) {
        const uint8_t *src = w->data + r * w->row_bytes;
        uint8_t *dst = (uint8_t *)layout + r * w->row_bytes;
        unsigned pos = 0, neg = 0;
        for (size_t i0 = 0; i0 < w->k_padded; i0 += TS_PLANE_BLOCK) {
            size_t bits = w->k_padded - i0 < TS_PLANE_BLOCK ? TS_TERN2_BLOCK : TS_PLANE_BLOCK;
            for (size_t h = 0; h < bits; h += TS_TERN2_BLOCK, src += TS_BLOCK_BYTES)
                ts_tern2_block_codes(src, codes + h);
            pos += pack_plane(codes, bits, 2, dst);
            neg += pack_plane(codes, bits, 0, dst + bits / 8);
            dst += bits / 4;
        }
        corr[r] = (int32_t)(128 * pos + 127 * neg);
    }
}

/* ------------------------------------------------------------------ activations */

/* Token planes in weight order: block g holds activations 512 g .. 512 g + 511. */
static size_t act_bytes(size_t k, size_t n)
{
    return bb_act_q8_bytes(k, n) + n * ts_uplane_bytes(k, TS_PLANE_BLOCK);
}

static void prepare_act(const bb_gemm_args *a, size_t t0, size_t t1)
{
    size_t k = a->w->k, bytes = ts_uplane_bytes(k, TS_PLANE_BLOCK);
    bb_act_q8_prepare_avx512(a, t0, t1);
    bb_act_q8 act = bb_act_q8_view(a->act, k, a->n);
    uint8_t *planes = (uint8_t *)ts_uplanes(a->act, k, a->n) + t0 * bytes;
    for (size_t t = t0; t < t1; t++) {
        const int8_t *q = act.q + t * act.k_stride;
        /* as many lanes as plane bytes: 8 planes of one bit per lane */
        for (size_t g0 = 0; g0 < bytes; g0 += TS_PLANE_BLOCK, planes += TS_UPLANES * TS_PLANE_BYTES)
            for (unsigned c = 0; c < TS_PLANE_BLOCK / 64; c++)
                ts_chunk_planes(g0 + 64 * c < act.k_stride ? q + g0 + 64 * c : NULL, planes, c);
    }
}

/* ------------------------------------------------------------------ kernel */

static inline __attribute__((always_inline)) void row_group(const tern_job *j, const uint8_t *w,
                                                            float *y, int nrows)
{
    const uint8_t *wrow[ROWS];
    const int32_t *corr = j->row_aux + (y - j->y);
#pragma GCC unroll 8
    for (int r = 0; r < nrows; r++, w += j->row_bytes)
        wrow[r] = w; /* w ends at the next group */
    /* blocks counts 256-weight halves: full 512-weight blocks are pairs of them */
    size_t full = j->blocks >> 1;
    int half = (int)(j->blocks & 1);
    const uint8_t *u = j->aux;
    for (size_t t = 0; t < j->n; t++, u += j->aux_stride, y += j->y_stride) {
        int64_t s[ROWS];
        ts_bitserial_rows(wrow, nrows, full, half, TS_PLANE_BYTES, 2 * TS_PLANE_BYTES, u, TS_SEL_PQ,
                          t == 0 ? ts_prefetch_from(j, w, nrows) : NULL, s);
#pragma GCC unroll 8
        for (int r = 0; r < nrows; r++)
            ts_put(y + r, (int32_t)(s[r] - corr[r]));
    }
}

void bb_tern2_avx512_addonly_rows(const tern_job *j);

/* no-tree-pre: GCC 12's partial redundancy elimination otherwise copies the 8 accumulators
 * every iteration (a register copy per plane: a third more vector instructions). */
__attribute__((noinline, optimize("no-tree-pre"))) void bb_tern2_avx512_addonly_rows(const tern_job *j)
{
    TS_FOR_ROW_GROUPS(j, ROWS, row_group);
}

/* |S| <= 255 K in int64 lanes: no bound beyond the reference's. */
static void gemm_rows(const bb_gemm_args *a, size_t r0, size_t r1)
{
    ts_gemm_rows(a, r0, r1, "tern2-avx512-addonly", TS_TERN2_BLOCK, TS_PLANE_BLOCK,
                 bb_tern2_avx512_addonly_rows);
}

const bb_kernel bb_kernel_tern2_avx512_addonly = {
    .name = "tern2-avx512-addonly",
    .format = BB_FMT_TERN2,
    .method = "addonly",
    .isa = BB_ISA_AVX512,
    .needs = BB_ISA_MASK_AVX512,
    .priority = 18,
    .multiply_free = true,
    .hot_symbol = "bb_tern2_avx512_addonly_rows",
    .row_block = ROWS,
    .layout_bytes = layout_bytes,
    .repack = repack,
    .act_bytes = act_bytes,
    .prepare_act = prepare_act,
    .gemm_rows = gemm_rows,
};
