/*
 * kernels/x86/tern1_6_avx512_addonly.c - tern1.6 without multiplies (AVX-512 F/BW +
 * VPOPCNTDQ): the base-3 bytes decoded bit-sliced, 512 bytes (2560 weights) per
 * instruction, into the two weight planes of the bit-serial add-only dot product of
 * ternary_simd.h.
 *
 * Decode.  Trit t of a canonical byte is c_t = (3 v_t) >> 8 with v_t = byte * 3^t mod 256
 * (kernels/ref/ternary.c), and v_{t+1} = 3 v_t mod 256.  With the 8 bits of v_t held as 8
 * planes (bit i of 512 bytes in one register), 3 v = v + 2 v is a ripple-carry adder of
 * vpternlogq: sum bit s_i = v_i ^ v_{i-1} ^ k_i and carry k_{i+1} = maj(v_i, v_{i-1}, k_i),
 * 14 instructions for 512 bytes.  Its top bits say the trit: 3 v >= 512 (c = 2, weight +1)
 * exactly when v_7 and k_8 are both 1, 3 v < 256 (c = 0, weight -1) exactly when both are 0,
 * and c = 1 (weight 0) when they differ.  So (v_7, k_8) are the weight planes, read with
 * TS_SEL_EQ: T = [U = v_7 = k_8] - one vpternlogq per activation plane as for tern2.  Per
 * 2560 weights: 4 * 14 + 7 decode instructions, then 5 * 24 for the dot product; a row is
 * decoded once into a small stack buffer and reused for every token.  A row's short last
 * group (K is rarely a multiple of 2560) is packed densely: its 5 x nb chunks of 64 weights
 * fill ceil(5 nb / 8) blocks instead of 5.
 *
 * Own layout (repack, once, untimed): each row's canonical bytes in groups of 8 blocks
 * (512 bytes), bit-transposed: plane i of a group holds bit i of its bytes (byte j at bit
 * j); a last group of nb < 8 blocks has 8 planes of 64 nb bits.  Same bytes per row as the
 * canonical layout.  After the m rows, one int32 per row: 128 |P| + 127 |Q|, the offset the
 * unsigned activations add (ternary_simd.h), rounded up to 64 bytes.
 *
 * Activations: per group g and trit t, a block of planes whose 64-lane chunk i holds the
 * activations of block i of the group, trit t: 2560 g + 320 i + 64 t + (0..63); for the
 * short last group of nb blocks, chunk c of its dense blocks is trit c / nb, block c % nb.
 */
#include "act_q8_simd.h"
#include "list_ternary.h"
#include "ternary_simd.h"

#include <immintrin.h>

enum {
    GROUP_BLOCKS = 8,                              /* canonical blocks per group */
    GROUP_BYTES = GROUP_BLOCKS * TS_BLOCK_BYTES,   /* 512: one bit per plane lane */
    GROUP = GROUP_BLOCKS * TS_TERN1_6_BLOCK,       /* 2560 weights */
    ROWS = 2,                                      /* rows per pass */
    SEGMENT_GROUPS = 16,                           /* decoded at a time: 40960 weights */
    /* decoded weight planes: all first planes (v_7), then all second planes (k_8), 64
     * bytes a block; room for a segment and a short group: 2 * 85 * 64 = 10.6 KiB */
    SCRATCH_BLOCKS = (SEGMENT_GROUPS + 1) * TS_TRITS + 1, /* + 1: the stores' overhang */
    SECOND = SCRATCH_BLOCKS * TS_PLANE_BYTES,
};

/* ------------------------------------------------------------------ layout */

static size_t rows_bytes(const bb_weights *w) { return w->m * w->row_bytes; }

static size_t layout_bytes(const bb_weights *w)
{
    return rows_bytes(w) + bb_round_up(w->m * sizeof(int32_t), BB_ALIGN);
}

static void repack(const bb_weights *w, void *layout)
{
    uint8_t codes[TS_TERN1_6_BLOCK];
    int32_t *corr = (int32_t *)((uint8_t *)layout + rows_bytes(w));
    for (size_t r = 0; r < w->m; r++) {
        const uint8_t *src = w->data + r * w->row_bytes;
        uint8_t *dst = (uint8_t *)layout + r * w->row_bytes;
        memset(dst, 0, w->row_bytes);
        for (size_t g0 = 0; g0 < w->row_bytes; g0 += GROUP_BYTES) {
            size_t bytes = w->row_bytes - g0 < GROUP_BYTES ? w->row_bytes - g0 : GROUP_BYTES;
            for (size_t j = 0; j < bytes; j++)
                for (int i = 0; i < 8; i++)
                    if ((src[g0 + j] >> i) & 1)
                        dst[g0 + i * bytes / 8 + j / 8] |= (uint8_t)(1u << (j % 8));
        }
        int32_t c = 0;
        for (size_t b = 0; b < w->row_bytes / TS_BLOCK_BYTES; b++, src += TS_BLOCK_BYTES) {
            ts_tern1_6_block_codes(src, codes);
            for (int i = 0; i < TS_TERN1_6_BLOCK; i++)
                c += codes[i] == 2 ? 128 : codes[i] == 0 ? 127 : 0;
        }
        corr[r] = c;
    }
}

/* ------------------------------------------------------------------ activations */

/* Where the activations of block i, trit t of group g start. */
static size_t chunk_at(size_t g, size_t i, size_t trit)
{
    return g * GROUP + i * TS_TERN1_6_BLOCK + trit * TS_LANE;
}

static size_t act_bytes(size_t k, size_t n)
{
    return bb_act_q8_bytes(k, n) + n * ts_uplane_bytes(k, GROUP);
}

static void prepare_act(const bb_gemm_args *a, size_t t0, size_t t1)
{
    size_t k = a->w->k, bytes = ts_uplane_bytes(k, GROUP);
    bb_act_q8_prepare_avx512(a, t0, t1);
    bb_act_q8 act = bb_act_q8_view(a->act, k, a->n);
    uint8_t *planes = (uint8_t *)ts_uplanes(a->act, k, a->n) + t0 * bytes;
    size_t blocks = bb_round_up(k, TS_TERN1_6_BLOCK) / TS_TERN1_6_BLOCK;
    size_t full = blocks / GROUP_BLOCKS, tail = blocks % GROUP_BLOCKS;
    for (size_t t = t0; t < t1; t++) {
        const int8_t *q = act.q + t * act.k_stride;
        uint8_t *p = planes + (t - t0) * bytes;
        for (size_t g = 0; g < full; g++)
            for (size_t trit = 0; trit < TS_TRITS; trit++, p += TS_UPLANES * TS_PLANE_BYTES)
                for (unsigned i = 0; i < GROUP_BLOCKS; i++)
                    ts_chunk_planes(q + chunk_at(g, i, trit), p, i);
        /* the short last group, densely: chunk c is trit c / tail, block c % tail */
        for (size_t c0 = 0; c0 < TS_TRITS * tail; c0 += 8, p += TS_UPLANES * TS_PLANE_BYTES)
            for (unsigned c = 0; c < 8; c++)
                ts_chunk_planes(c0 + c < TS_TRITS * tail
                                    ? q + chunk_at(full, (c0 + c) % tail, (c0 + c) / tail)
                                    : NULL,
                                p, c);
    }
}

/* ------------------------------------------------------------------ decode */

#define XOR3 0x96 /* a ^ b ^ c */
#define MAJ 0xe8  /* at least two of a, b, c */

/* One group: the 8 planes of v_0 in v[], `nb` qwords of them real (8: a full group).  Writes
 * the (v_7, k_8) weight planes of trits 0..4, 64 bits for each real qword, densely from
 * qword 0 of a (first planes) and of a + SECOND (second planes): a full group fills 5
 * blocks, a short one 5 nb qwords, trit after trit.  Only whole unmasked 64-byte stores, in
 * order, so that the loads which soon read them back can be forwarded (a masked store
 * cannot forward): a short group's trit writes 8 - nb qwords too many, which the next trit
 * overwrites, and after the last, a zero-weight vector (v_7 = 0, k_8 = 1) covers the rest of
 * the last block. */
static inline __attribute__((always_inline)) void decode_group(__m512i v[8], size_t nb,
                                                               uint8_t *a)
{
#pragma GCC unroll 5
    for (int t = 0; t < TS_TRITS; t++, a += nb << 3) {
        __m512i s[8], k = _mm512_and_si512(v[1], v[0]);
        s[0] = v[0];
        s[1] = _mm512_xor_si512(v[1], v[0]);
#pragma GCC unroll 8
        for (int i = 2; i < 8; i++) {
            if (t < TS_TRITS - 1)
                s[i] = _mm512_ternarylogic_epi64(v[i], v[i - 1], k, XOR3);
            k = _mm512_ternarylogic_epi64(v[i], v[i - 1], k, MAJ);
        }
        _mm512_storeu_si512(a, v[7]);
        _mm512_storeu_si512(a + SECOND, k);
        if (t < TS_TRITS - 1) {
#pragma GCC unroll 8
            for (int i = 0; i < 8; i++)
                v[i] = s[i];
        }
    }
    if (nb < GROUP_BLOCKS) { /* a is at qword 5 nb now */
        _mm512_storeu_si512(a, _mm512_setzero_si512());
        _mm512_storeu_si512(a + SECOND, _mm512_set1_epi64(-1));
    }
}

/* Decodes `full` groups of a row, then a short group of `tail` blocks if tail > 0, into the
 * scratch planes at a; returns the number of weight-plane blocks.  The short group's 5 tail
 * chunks of 64 weights fill ceil(5 tail / 8) blocks instead of 5 (the activation planes
 * follow the same order). */
static inline size_t decode_row(const uint8_t *src, size_t full, size_t tail, uint8_t *a)
{
    __m512i v[8];
    for (size_t g = 0; g < full; g++, src += GROUP_BYTES, a += TS_TRITS * TS_PLANE_BYTES) {
        ts_prefetch(src + 2 * GROUP_BYTES, GROUP_BYTES / 64); /* two groups ahead */
#pragma GCC unroll 8
        for (int i = 0; i < 8; i++)
            v[i] = _mm512_load_si512(src + i * TS_PLANE_BYTES);
        decode_group(v, GROUP_BLOCKS, a);
    }
    size_t blocks = (full << 2) + full;
    if (tail) { /* planes of 64 tail bits: tail qwords each */
        __mmask8 valid = (__mmask8)((1u << tail) - 1);
        /* Prefetch the rows after as the full groups do: without it a row that is only a
         * short group (K = 2048: 700M, 1.3B) was latency-bound, 459-473 us against 130-150
         * with it (4096x2048, 1 thread, cold; tern1.6-avx512-madd 76-102 us beside it; Zen 5
         * VM 2026-12-06); the hardware prefetchers do not follow these masked loads. */
        ts_prefetch(src + 2 * GROUP_BYTES, (int)tail);
        for (int i = 0; i < 8; i++, src += tail << 3)
            v[i] = _mm512_maskz_loadu_epi64(valid, src);
        decode_group(v, tail, a);
        blocks += (((tail << 2) + tail) + 7) >> 3;
    }
    return blocks;
}

/* ------------------------------------------------------------------ kernel */

/* `nrows` (1, 2) rows from w: decode each segment of every row of the group into its own
 * scratch planes, then dot them with every token, the rows sharing the activation loads. */
static inline __attribute__((always_inline)) void row_group(const tern_job *j, const uint8_t *w,
                                                            float *y, int nrows)
{
    _Alignas(64) uint8_t planes[ROWS][2 * SECOND];
    const int32_t *corr = j->row_aux + (y - j->y);
    const uint8_t *src[ROWS], *scratch[ROWS];
#pragma GCC unroll 2
    for (int r = 0; r < nrows; r++, w += j->row_bytes) {
        src[r] = w;
        scratch[r] = planes[r];
    }
    size_t full_in_row = j->blocks >> 3, tail = j->blocks & (GROUP_BLOCKS - 1);
    const uint8_t *u_seg = j->aux;
    for (size_t g0 = 0;; g0 += SEGMENT_GROUPS) {
        /* decode up to SEGMENT_GROUPS groups (and the short one, with the last) ... */
        size_t full = full_in_row - g0 < SEGMENT_GROUPS ? full_in_row - g0 : SEGMENT_GROUPS;
        int last = g0 + full == full_in_row;
        size_t blocks = 0;
#pragma GCC unroll 2
        for (int r = 0; r < nrows; r++) {
            blocks = decode_row(src[r], full, last ? tail : 0, planes[r]);
            src[r] += full * GROUP_BYTES;
        }
        /* ... and dot them with every token */
        const uint8_t *u = u_seg;
        float *yt = y;
        for (size_t t = 0; t < j->n; t++, u += j->aux_stride, yt += j->y_stride) {
            int64_t s[ROWS];
            ts_bitserial_rows(scratch, nrows, blocks, 0, SECOND, TS_PLANE_BYTES, u, TS_SEL_EQ,
                              NULL, s);
#pragma GCC unroll 2
            for (int r = 0; r < nrows; r++) {
                int32_t acc = (int32_t)(s[r] - (g0 == 0 ? corr[r] : 0));
                if (g0 > 0) {
                    int32_t prev;
                    memcpy(&prev, yt + r, sizeof prev);
                    acc = (int32_t)((uint32_t)acc + (uint32_t)prev);
                }
                ts_put(yt + r, acc);
            }
        }
        u_seg += blocks * TS_UPLANES * TS_PLANE_BYTES;
        if (last)
            break;
    }
}

void bb_tern1_6_avx512_addonly_rows(const tern_job *j);

/* no-tree-pre: see tern2_avx512_addonly.c. */
__attribute__((noinline, optimize("no-tree-pre"))) void
bb_tern1_6_avx512_addonly_rows(const tern_job *j)
{
    TS_FOR_ROW_GROUPS(j, ROWS, row_group);
}

static void gemm_rows(const bb_gemm_args *a, size_t r0, size_t r1)
{
    ts_gemm_rows(a, r0, r1, "tern1.6-avx512-addonly", TS_TERN1_6_BLOCK, GROUP,
                 bb_tern1_6_avx512_addonly_rows);
}

const bb_kernel bb_kernel_tern1_6_avx512_addonly = {
    .name = "tern1.6-avx512-addonly",
    .format = BB_FMT_TERN1_6,
    .method = "addonly",
    .isa = BB_ISA_AVX512,
    .needs = BB_ISA_MASK_AVX512,
    .priority = 18,
    .multiply_free = true,
    .hot_symbol = "bb_tern1_6_avx512_addonly_rows",
    .row_block = ROWS,
    .layout_bytes = layout_bytes,
    .repack = repack,
    .act_bytes = act_bytes,
    .prepare_act = prepare_act,
    .gemm_rows = gemm_rows,
};
