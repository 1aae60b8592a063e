/*
 * kernels/x86/tern1_6_avx512_addonly.c - tern1.6 without multiplies (AVX-512 F/BW +
 * VPOPCNTDQ): decode each row's base-3 bytes into P/Q bit planes in a small stack buffer,
 * then the bit-serial add-only dot product of ternary_simd.h against every token.
 *
 * Decode, per 64 canonical bytes and trit t (64 weights): with v_t = byte * 3^t mod 256,
 * c_t = (3 v_t) >> 8 is 2 exactly when v_t >= 171 and 0 exactly when v_t < 86 (3 * 86 =
 * 258 >= 256, 3 * 171 = 513 >= 512), so two unsigned byte compares give the P and Q masks
 * of those 64 weights directly, stored as they are; v_{t+1} = v_t + v_t + v_t (two vpaddb
 * wrapping mod 256).  No trit value is ever formed, and nothing multiplies.  A row is decoded
 * once and reused for all tokens, so prefill pays the decode once per row.
 *
 * Layout: the canonical rows unchanged (the same bytes stream from memory), then one int32
 * per row, 128 |P| + 127 |Q|, the offset of the unsigned activations (ternary_simd.h),
 * rounded up to 64 bytes.  Rows longer than SEGMENT weights are decoded and dotted a segment
 * at a time, the partial sums added in the int32 output slot.
 */
#pragma GCC target("avx512vpopcntdq")

#include "act_q8_simd.h"
#include "list_ternary.h"
#include "ternary_simd.h"

#include <immintrin.h>

enum {
    /* 8 canonical blocks = 2560 weights = 5 plane blocks: the unit where both grids meet */
    SUPER_BLOCKS = 8,
    SUPER_PLANES = 5,
    SEGMENT_SUPERS = 16,
    SEGMENT = SEGMENT_SUPERS * SUPER_BLOCKS * TS_TERN1_6_BLOCK, /* 40960 weights */
    PLANE_PAIR = 2 * TS_PLANE_BYTES,                           /* P then Q: 128 bytes */
    SCRATCH = SEGMENT / TS_PLANE_BLOCK * PLANE_PAIR,           /* 10 KiB */
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
    memcpy(layout, w->data, rows_bytes(w));
    int32_t *corr = (int32_t *)((uint8_t *)layout + rows_bytes(w));
    for (size_t r = 0; r < w->m; r++) {
        const uint8_t *src = w->data + r * w->row_bytes;
        int32_t c = 0;
        for (size_t b = 0; b < w->row_bytes / TS_BLOCK_BYTES; b++, src += TS_BLOCK_BYTES) {
            ts_tern1_6_block_codes(src, codes);
            for (int i = 0; i < TS_TERN1_6_BLOCK; i++)
                c += codes[i] == 2 ? 128 : codes[i] == 0 ? 127 : 0;
        }
        corr[r] = c;
    }
}

/* ------------------------------------------------------------------ decode */

/* The P and Q masks of the 64 weights of trit t of a block, and v for the next trit. */
static inline __attribute__((always_inline)) __m512i decode_trit(__m512i v, uint8_t *p, uint8_t *q)
{
    _store_mask64((__mmask64 *)p, _mm512_cmpge_epu8_mask(v, _mm512_set1_epi8((char)171)));
    _store_mask64((__mmask64 *)q, _mm512_cmplt_epu8_mask(v, _mm512_set1_epi8(86)));
    return _mm512_add_epi8(_mm512_add_epi8(v, v), v);
}

/* 8 canonical blocks into 5 plane blocks: chunk c = 5 block + trit lands in plane block
 * c / 8, qword c % 8 - constants once the loops unroll. */
static inline __attribute__((always_inline)) void decode_super(const uint8_t *src, uint8_t *dst)
{
#pragma GCC unroll 8
    for (int b = 0; b < SUPER_BLOCKS; b++) {
        __m512i v = _mm512_load_si512(src + b * TS_BLOCK_BYTES);
#pragma GCC unroll 5
        for (int t = 0; t < TS_TRITS; t++) {
            int c = TS_TRITS * b + t;
            uint8_t *p = dst + c / 8 * PLANE_PAIR + c % 8 * 8;
            v = decode_trit(v, p, p + TS_PLANE_BYTES);
        }
    }
}

/* `blocks` (< 8) canonical blocks; zero-fills the last plane block.  Returns plane blocks. */
static inline size_t decode_tail(const uint8_t *src, size_t blocks, uint8_t *dst)
{
    unsigned qword = 0;
    for (size_t b = 0; b < blocks; b++, src += TS_BLOCK_BYTES) {
        __m512i v = _mm512_load_si512(src);
        for (int t = 0; t < TS_TRITS; t++) {
            v = decode_trit(v, dst + qword * 8, dst + TS_PLANE_BYTES + qword * 8);
            if (++qword == 8) {
                qword = 0;
                dst += PLANE_PAIR;
            }
        }
    }
    if (qword == 0)
        return (blocks * TS_TRITS) >> 3;
    memset(dst + qword * 8, 0, TS_PLANE_BYTES - qword * 8);
    memset(dst + TS_PLANE_BYTES + qword * 8, 0, TS_PLANE_BYTES - qword * 8);
    return ((blocks * TS_TRITS) >> 3) + 1;
}

/* ------------------------------------------------------------------ kernel */

void bb_tern1_6_avx512_addonly_rows(const tern_job *j);

/* no-tree-pre: see tern2_avx512_addonly.c. */
__attribute__((noinline, optimize("no-tree-pre"))) void
bb_tern1_6_avx512_addonly_rows(const tern_job *j)
{
    _Alignas(64) uint8_t planes[SCRATCH];
    const uint8_t *w = j->w;
    const int32_t *corr = j->row_aux;
    float *y = j->y;
    for (size_t r = 0; r < j->rows; r++, w += j->row_bytes, corr++, y++) {
        const uint8_t *src = w, *u_seg = j->aux;
        for (size_t left = j->blocks; left > 0;) {
            /* decode up to SEGMENT weights of the row */
            size_t supers = 0, blocks, groups = 0;
            uint8_t *dst = planes;
            for (; supers < SEGMENT_SUPERS && left >= SUPER_BLOCKS; supers++, left -= SUPER_BLOCKS,
                                                                   src += SUPER_BLOCKS * TS_BLOCK_BYTES,
                                                                   dst += SUPER_PLANES * PLANE_PAIR)
                decode_super(src, dst);
            groups = supers * SUPER_PLANES;
            blocks = supers < SEGMENT_SUPERS && left > 0 ? left : 0;
            if (blocks) {
                groups += decode_tail(src, blocks, dst);
                src += blocks * TS_BLOCK_BYTES;
                left = 0;
            }
            /* ... and dot it with every token */
            int first = u_seg == j->aux;
            const uint8_t *u = u_seg;
            float *yt = y;
            for (size_t t = 0; t < j->n; t++, u += j->aux_stride, yt += j->y_stride) {
                const uint8_t *row = planes;
                int64_t s;
                ts_bitserial_rows(&row, 1, groups, 0, u, &s);
                int32_t acc = (int32_t)(s - (first ? *corr : 0));
                if (!first) {
                    int32_t prev;
                    memcpy(&prev, yt, sizeof prev);
                    acc = (int32_t)((uint32_t)acc + (uint32_t)prev);
                }
                ts_put(yt, acc);
            }
            u_seg += groups * TS_UPLANES * TS_PLANE_BYTES;
        }
    }
}

static void gemm_rows(const bb_gemm_args *a, size_t r0, size_t r1)
{
    const bb_weights *w = a->w;
    ts_refuse_k("tern1.6-avx512-addonly", w->k, TS_MAX_K);
    tern_job j = ts_job(a, r0, r1, w->row_bytes, w->k_padded / TS_TERN1_6_BLOCK);
    j.aux = ts_uplanes(a->act, w->k, a->n);
    j.aux_stride = ts_uplane_bytes(w->k);
    j.row_aux = (const int32_t *)((const uint8_t *)a->layout + rows_bytes(w)) + r0;
    bb_tern1_6_avx512_addonly_rows(&j);
    ts_rescale(a, r0, r1);
}

const bb_kernel bb_kernel_tern1_6_avx512_addonly = {
    .name = "tern1.6-avx512-addonly",
    .format = BB_FMT_TERN1_6,
    .method = "addonly",
    .isa = BB_ISA_AVX512,
    .needs = BB_ACT_Q8_AVX512_NEEDS | BB_CPU_AVX512F | BB_CPU_AVX512BW | BB_CPU_AVX512VPOPCNTDQ,
    .priority = 20,
    .multiply_free = true,
    .hot_symbol = "bb_tern1_6_avx512_addonly_rows",
    .row_block = 1,
    .layout_bytes = layout_bytes,
    .repack = repack,
    .act_bytes = ts_bitserial_act_bytes,
    .prepare_act = bb_ternary_bitserial_prepare_avx512,
    .gemm_rows = gemm_rows,
};
