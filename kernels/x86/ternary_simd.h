/*
 * kernels/x86/ternary_simd.h - private to the ternary add-only and multiply-add SIMD kernels
 * (kernels/x86/tern2_*.c, tern1_6_*.c): the canonical block geometry, the job one kernel's
 * hot function works on, and the driver around it.
 *
 * Driver shape, shared by all eight kernels: gemm_rows turns the arguments into a
 * tern_job (every multiplication of an index by a stride happens here, outside the hot
 * function), calls the kernel's hot function, which writes the exact int32 dot product of
 * row r and token t into the float slot y[t][r] (as raw int32 bits), then rescales every
 * slot in place with bb_rescale_i32.  So the hot function holds the whole loop nest over
 * rows, tokens and K, and no float multiply (the rescale) ever sits inside it - which is
 * what `make check-addonly` asks of the multiply-free kernels.
 *
 * Every header function is static inline and compiled with the flags of the file that
 * includes it; the ISA-specific pieces exist only under their feature macros (__AVX2__,
 * __AVX512F__, __AVX512BW__, __AVX512VNNI__, and __AVX512VPOPCNTDQ__, which the bit-serial
 * files turn on with a target pragma: the Makefile's AVX-512 flags lack it).
 */
#ifndef BITBENCH_X86_TERNARY_SIMD_H
#define BITBENCH_X86_TERNARY_SIMD_H

#include "../kernel.h"

#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    TS_BLOCK_BYTES = 64,  /* both canonical layouts: byte j holds weights j + 64 t */
    TS_TERN2_BLOCK = 256, /* 4 two-bit codes per byte */
    TS_TERN1_6_BLOCK = 320, /* 5 trits per byte */
    TS_TRITS = 5,
    TS_LANE = 64,         /* weights one 64-byte vector of activations covers */
};

/* The reference's K bound: |acc| <= 127 K must fit int32. */
#define TS_MAX_K BB_Q8_MAX_K

/* What a hot function needs for rows [r0, r1) and every token; pointers walk, so the hot
 * function adds strides but never multiplies an index. */
typedef struct tern_job {
    const uint8_t *w;     /* row r0 of the kernel's layout */
    size_t row_bytes;     /* bytes from one row to the next in that layout */
    size_t rows;          /* r1 - r0 */
    size_t blocks;        /* layout blocks per row (the kernel says what a block is) */
    const int8_t *q;      /* token 0's int8 activations */
    size_t q_stride;      /* bytes from one token's activations to the next */
    const int32_t *q_sum; /* per token: the sum of its int8 activations */
    const uint8_t *aux;   /* kernel-specific per-token data (bit planes), token 0 */
    size_t aux_stride;    /* bytes from one token's aux to the next */
    const int32_t *row_aux; /* kernel-specific per-row int32 (corrections), row r0 */
    size_t n;             /* tokens */
    float *y;             /* y + r0: int32 results land here first */
    size_t y_stride;
    size_t k;             /* real weights per row */
} tern_job;

static inline void ts_refuse_k(const char *name, size_t k, size_t max_k)
{
    (void)name;
    assert(k <= max_k); /* internal misuse: bb_shape_check refuses such shapes first */
}

/* The job for rows [r0, r1): everything but the kernel-specific fields. */
static inline tern_job ts_job(const bb_gemm_args *a, size_t r0, size_t r1, size_t row_bytes,
                              size_t blocks)
{
    bb_act_q8 act = bb_act_q8_view(a->act, a->w->k, a->n);
    tern_job j = {
        .w = (const uint8_t *)a->layout + r0 * row_bytes,
        .row_bytes = row_bytes,
        .rows = r1 - r0,
        .blocks = blocks,
        .q = act.q,
        .q_stride = act.k_stride,
        .q_sum = act.sum,
        .n = a->n,
        .y = a->y + r0,
        .y_stride = a->y_stride,
        .k = a->w->k,
    };
    return j;
}

/* acc - sum without signed overflow: the true value fits int32 (|acc| <= 127 K), the
 * intermediate "codes 0/1/2" dot product of the multiply-add kernels may not. */
static inline int32_t ts_minus(int64_t dot, int32_t sum)
{
    return (int32_t)(uint32_t)((uint64_t)dot - (uint64_t)(int64_t)sum);
}

static inline void ts_put(float *slot, int32_t acc) { memcpy(slot, &acc, sizeof acc); }

/* Turns the int32 results the hot function left in y into floats, in place. */
static inline void ts_rescale(const bb_gemm_args *a, size_t r0, size_t r1)
{
    bb_act_q8 act = bb_act_q8_view(a->act, a->w->k, a->n);
    float gamma = a->w->scales[0];
    for (size_t t = 0; t < a->n; t++) {
        float *y = a->y + t * a->y_stride;
        for (size_t r = r0; r < r1; r++) {
            int32_t acc;
            memcpy(&acc, y + r, sizeof acc);
            y[r] = bb_rescale_i32(acc, gamma, act.scale[t]);
        }
    }
}

/* The hot functions' outer loop: groups of R rows, then single rows for the rest; calls
 * group(j, w, y, nrows) with w and y at the group's first row (pointers walk: no index is
 * multiplied, as the multiply-free hot functions require). */
#define TS_FOR_ROW_GROUPS(j, R, group)                                                      \
    do {                                                                                   \
        const uint8_t *ts_w = (j)->w;                                                      \
        float *ts_y = (j)->y;                                                              \
        size_t ts_r = 0;                                                                   \
        for (; ts_r + (R) <= (j)->rows; ts_r += (R), ts_w += (R) * (j)->row_bytes, ts_y += (R)) \
            group(j, ts_w, ts_y, R);                                                       \
        for (; ts_r < (j)->rows; ts_r++, ts_w += (j)->row_bytes, ts_y++)                   \
            group(j, ts_w, ts_y, 1);                                                       \
    } while (0)

/* Software prefetch of the weight stream.  A row group reads its R rows side by side, i.e.
 * its R * row_bytes in R interleaved sub-streams, which the hardware prefetchers alone follow
 * too late at one thread.  So a kernel consuming R * 64 bytes of the group prefetches the
 * next R lines of a region ahead of the group, in address order: while a group runs, a later
 * one streams in (how far ahead: ts_prefetch_from).  Prefetching past
 * the end of the matrix is harmless. */
static inline void ts_prefetch(const uint8_t *p, int lines)
{
    for (int i = 0; i < lines; i++)
        __builtin_prefetch(p + 64 * i, 0, 3);
}

/* Where a row group's pass starts prefetching: TS_PREFETCH_BYTES after the group's first
 * row (group_end: the row after its last; nrows rows in it), or at group_end if the group is
 * longer, so a pass streams in the bytes a few groups later whatever its group's size.
 * Measured on the Zen 5 VM, cold, % of the ceiling read beside each kernel, 3 rounds of
 * alternating builds (2026-12-06), 4096x4096 (1 KiB rows): tern2-avx512-addonly (2-row
 * groups), 1 thread: next group (2 KiB ahead) 57-64%, 4 KiB 76-83%, 8 KiB 81-88%; 2 threads
 * 54-68% -> 72-81% -> 74-82%; tern2-avx2-madd (2-row groups too) 58-69% at 2 KiB, 79-83% at
 * 4 KiB; tern1.6-avx512-madd (4-row groups) 57-68% at 4 KiB, 68-79% at 8 KiB; at
 * 8192x8192 (2 KiB rows) 16 KiB ahead was no better than 8 (tern2-avx2-madd 57-63% vs
 * 68-71% at 1 thread): as the TLUT_PREFETCH measurement of the lookup kernels found, a few
 * KiB, not a number of rows. */
enum { TS_PREFETCH_BYTES = 8192 };
static inline const uint8_t *ts_prefetch_from(const tern_job *j, const uint8_t *group_end, int nrows)
{
    size_t group = (size_t)nrows * j->row_bytes;
    return group_end + (group < TS_PREFETCH_BYTES ? TS_PREFETCH_BYTES - group : 0);
}

/* Canonical code -> weight: 0 -> -1, 1 -> 0, 2 -> +1, as kernels/ref/ternary.c. */
static inline int ts_code_weight(unsigned code) { return code == 2 ? 1 : code == 0 ? -1 : 0; }

/* The codes of one canonical block, in weight order (block entries). */
static inline void ts_tern2_block_codes(const uint8_t *blk, uint8_t codes[TS_TERN2_BLOCK])
{
    for (int j = 0; j < TS_BLOCK_BYTES; j++)
        for (int i = 0; i < 4; i++)
            codes[j + TS_LANE * i] = (uint8_t)((blk[j] >> (2 * i)) & 3u);
}

static inline void ts_tern1_6_block_codes(const uint8_t *blk, uint8_t codes[TS_TERN1_6_BLOCK])
{
    for (int j = 0; j < TS_BLOCK_BYTES; j++) {
        unsigned v = blk[j];
        for (int t = 0; t < TS_TRITS; t++) {
            unsigned v3 = (v << 1) + v; /* the reference's decode: trit = (3 v) >> 8 */
            codes[j + TS_LANE * t] = (uint8_t)(v3 >> 8);
            v = v3 & 0xffu;
        }
    }
}

/* ------------------------------------------------------------------ bit-serial add-only core
 *
 * The AVX-512 add-only kernels compute a dot product without a multiply and without the
 * two masked adds per 32 weights of a plain bit-plane kernel (which on this CPU is bound by
 * mask-register traffic: one k-mask load or compare per cycle).  Instead both operands
 * are bit planes, and one instruction handles 512 weights:
 *   weights: P (bit i set where weight i is +1) and Q (where it is -1), 512 bits each;
 *   activations: u = q + 128 in 0..255 (unsigned), as 8 planes U_b = bit b of every u.
 * For each plane, T_b = (P & U_b) | (Q & ~U_b) (one vpternlogq) has bit i = bit b of u_i
 * where w_i = +1, of 255 - u_i where w_i = -1, and 0 where w_i = 0, so
 *   S = sum_b 2^b popcount(T_b) = sum_{w=+1} u + sum_{w=-1} (255 - u)
 *     = sum w q + 128 |P| + 127 |Q|,
 * and the exact dot product is S - (128 |P| + 127 |Q|), a per-row constant the repack
 * stores.  Popcount is a sum of bits: per 512 weights and row, 8 x (vpternlogq, vpopcntq,
 * vpaddq) = 24 additions-and-logic instructions, against 8 vpandd + 8 vpdpbusd for VNNI.
 * The 8 per-plane counts stay in separate qword accumulators (no shift in the loop) and are
 * weighted by 2^b once per row.  S <= 255 K fits int64 lanes trivially.
 *
 * The two weight planes of a block may encode the weights differently, as long as one
 * vpternlogq with U selects the same T: TS_SEL_PQ takes (P, Q) as above; TS_SEL_EQ takes
 * (A, B) with w = +1 where A = B = 1, -1 where A = B = 0, 0 where A != B, so T = [A = B = U]
 * (tern1.6's decode produces exactly that, see tern1_6_avx512_addonly.c).
 *
 * Weight blocks: two 64-byte planes (tern2's layout: [first | second], 128 bytes a block),
 * then optionally a half block of 64 bytes [32 | 32] for 256 more weights.  Token planes: per weight block, U_0 .. U_7 of
 * the activations of that block's 512 weights, 64 bytes each; which activations a block
 * holds is the kernel's business (ts_chunk_planes fills one 64-weight chunk). */
enum { TS_PLANE_BLOCK = 512, TS_PLANE_BYTES = 64, TS_UPLANES = 8 };
typedef enum { TS_SEL_PQ, TS_SEL_EQ } ts_select;

/* Bytes of one token's activation planes when the kernel groups K in units of `group`
 * activations (a multiple of 512): 8 planes of `group` bits, covering bb_k_stride(k). */
static inline size_t ts_uplane_bytes(size_t k, size_t group)
{
    return bb_round_up(bb_k_stride(k), group) / 8 * TS_UPLANES;
}
/* The planes of token 0 inside an act blob: after the standard q8 blob. */
static inline const uint8_t *ts_uplanes(const void *act, size_t k, size_t n)
{
    return (const uint8_t *)act + bb_act_q8_bytes(k, n);
}

typedef void (*ts_hot_fn)(const tern_job *j);

/* gemm_rows of every kernel here: refuse K beyond the reference's bound, build the job for
 * rows [r0, r1) (blocks of block_weights weights per row), run the hot function, rescale.
 * The bit-serial kernels pass uplane_group > 0: their activation planes follow the q8 blob
 * (ts_uplanes) and their per-row int32 offsets follow the m rows of the layout. */
static inline void ts_gemm_rows(const bb_gemm_args *a, size_t r0, size_t r1, const char *name,
                                size_t block_weights, size_t uplane_group, ts_hot_fn hot)
{
    const bb_weights *w = a->w;
    ts_refuse_k(name, w->k, TS_MAX_K);
    tern_job j = ts_job(a, r0, r1, w->row_bytes, w->k_padded / block_weights);
    if (uplane_group) {
        j.aux = ts_uplanes(a->act, w->k, a->n);
        j.aux_stride = ts_uplane_bytes(w->k, uplane_group);
        j.row_aux = (const int32_t *)((const uint8_t *)a->layout + w->m * w->row_bytes) + r0;
    }
    hot(&j);
    ts_rescale(a, r0, r1);
}

#ifdef __AVX512BW__
#include <immintrin.h>

/* The 8 planes of 64 activations q (NULL: 64 zeros) into chunk c (qword c) of a token's
 * plane block: u = q + 128; u + u shifts every byte left by one, vpmovb2m reads the top
 * bits, so plane 7 comes first. */
static inline void ts_chunk_planes(const int8_t *q, uint8_t *block, unsigned chunk)
{
    const __m512i bias = _mm512_set1_epi8((char)0x80);
    __m512i u = q ? _mm512_xor_si512(_mm512_load_si512(q), bias) : bias;
    for (int b = TS_UPLANES - 1; b >= 0; b--) {
        _store_mask64((__mmask64 *)(block + b * TS_PLANE_BYTES + 8 * chunk), _mm512_movepi8_mask(u));
        u = _mm512_add_epi8(u, u);
    }
}
#endif

#ifdef __AVX512VPOPCNTDQ__
/* vpternlogq truth tables over (U, first plane, second plane): U first, so that the freshly
 * loaded activation plane is the instruction's destination and no register copy is needed.
 *   TS_SEL_PQ: (P & U) | (Q & ~U);  TS_SEL_EQ: U = A = B. */
#define TS_TERNLOG_PQ 0xca
#define TS_TERNLOG_EQ 0x81

static inline __attribute__((always_inline)) void
ts_bitserial_block(__m512i acc[TS_UPLANES], __m512i p, __m512i q, const uint8_t *u, ts_select sel)
{
#pragma GCC unroll 8
    for (int b = 0; b < TS_UPLANES; b++) {
        __m512i ub = _mm512_load_si512(u + b * TS_PLANE_BYTES);
        __m512i t = sel == TS_SEL_PQ ? _mm512_ternarylogic_epi64(ub, p, q, TS_TERNLOG_PQ)
                                     : _mm512_ternarylogic_epi64(ub, p, q, TS_TERNLOG_EQ);
        acc[b] = _mm512_add_epi64(acc[b], _mm512_popcnt_epi64(t));
    }
}

/* S (see above) of `nrows` rows (wrow[r], same layout: `full` blocks `stride` bytes apart,
 * each block's second plane `second` bytes after its first, then a half block if `half`)
 * against one token's planes u; prefetches from pf on (ts_prefetch), NULL: none. */
static inline __attribute__((always_inline)) void
ts_bitserial_rows(const uint8_t *const *wrow, int nrows, size_t full, int half, size_t second,
                  size_t stride, const uint8_t *u, ts_select sel, const uint8_t *pf,
                  int64_t *s_out)
{
    enum { MAXR = 2 };
    __m512i acc[MAXR][TS_UPLANES];
#pragma GCC unroll 8
    for (int r = 0; r < nrows; r++) {
#pragma GCC unroll 8
        for (int b = 0; b < TS_UPLANES; b++)
            acc[r][b] = _mm512_setzero_si512();
    }
    /* The half block first (its planes follow the full blocks'): GCC keeps the accumulators
     * in the same registers through a loop that comes last, but copies them every
     * iteration when code after the loop reads them. */
    size_t tail = full * stride;
    if (half) { /* 256 weights: the upper halves of both planes are zero, so T is too */
#pragma GCC unroll 8
        for (int r = 0; r < nrows; r++)
            ts_bitserial_block(
                acc[r], _mm512_zextsi256_si512(_mm256_load_si256((const __m256i *)(wrow[r] + tail))),
                _mm512_zextsi256_si512(_mm256_load_si256((const __m256i *)(wrow[r] + tail + 32))),
                u + full * TS_UPLANES * TS_PLANE_BYTES, sel);
    }
    size_t off = 0;
    for (size_t g = 0; g < full; g++, off += stride, u += TS_UPLANES * TS_PLANE_BYTES) {
        if (pf) {
            ts_prefetch(pf, 2 * nrows);
            pf += 2 * nrows * TS_PLANE_BYTES;
        }
#pragma GCC unroll 8
        for (int r = 0; r < nrows; r++)
            ts_bitserial_block(acc[r], _mm512_load_si512(wrow[r] + off),
                               _mm512_load_si512(wrow[r] + off + second), u, sel);
    }
#pragma GCC unroll 8
    for (int r = 0; r < nrows; r++) {
        __m512i s = acc[r][TS_UPLANES - 1];
#pragma GCC unroll 8
        for (int b = TS_UPLANES - 2; b >= 0; b--)
            s = _mm512_add_epi64(_mm512_add_epi64(s, s), acc[r][b]);
        s_out[r] = _mm512_reduce_add_epi64(s);
    }
}
#endif

/* ------------------------------------------------------------------ prefill (VNNI)
 *
 * With many tokens, decoding the weights again for every token wastes most of a
 * multiply-add kernel's work.  The prefill path decodes a group of TS_PF_ROWS rows once per
 * K segment into code bytes c in {0, 1, 2} in weight order (the kernel's decode function),
 * then runs the int8 method on them: vpdpbusd of 64 codes against 64 activations, a tile of
 * TS_PF_ROWS rows x TS_PF_TOKENS tokens sharing every load; sum (c - 1) x = sum c x - sum x.
 * Per dword lane a segment adds at most 4 * 2 * 127 per 64 weights: far from overflow; the
 * segments' sums are added with wrap-around in the int32 output slots, the true result
 * fitting int32. */
#ifdef __AVX512VNNI__
enum { TS_PF_ROWS = 4, TS_PF_TOKENS = 4, TS_PF_SEGMENT = 4096 };

/* Decodes `blocks` canonical blocks of one row into blocks * block_weights code bytes. */
typedef void (*ts_decode_fn)(const uint8_t *row, size_t blocks, uint8_t *codes);

/* Sums of 4 vectors of int32, as one vector of 4: transposing adds. */
static inline __m128i ts_sum4(__m512i a, __m512i b, __m512i c, __m512i d)
{
    __m512i ab = _mm512_add_epi32(_mm512_unpacklo_epi32(a, b), _mm512_unpackhi_epi32(a, b));
    __m512i cd = _mm512_add_epi32(_mm512_unpacklo_epi32(c, d), _mm512_unpackhi_epi32(c, d));
    __m512i abcd = _mm512_add_epi32(_mm512_unpacklo_epi64(ab, cd), _mm512_unpackhi_epi64(ab, cd));
    __m256i h = _mm256_add_epi32(_mm512_castsi512_si256(abcd), _mm512_extracti64x4_epi64(abcd, 1));
    return _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
}

/* acc += u . s in place.  With the intrinsic, GCC 12 copies each of the tile's 16
 * accumulators to a new register and back on every step (the intrinsic returns a new value);
 * the asm ties the accumulator to its register. */
static inline __m512i ts_dpbusd(__m512i acc, __m512i u, __m512i s)
{
    __asm__("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(u), "v"(s));
    return acc;
}

/* One tile: 4 rows of codes (row r at codes + r * len; rows past nrows repeat row 0) by 4
 * tokens (past ntok repeat the last), over len bytes; adds sum c x into the int32 slots
 * y[t][r] (or stores, when first) of the real rows and tokens. */
#define TS_PF_DP4(r, c)                                                                    \
    a##r##0 = ts_dpbusd(a##r##0, c, v0);                                                   \
    a##r##1 = ts_dpbusd(a##r##1, c, v1);                                                   \
    a##r##2 = ts_dpbusd(a##r##2, c, v2);                                                   \
    a##r##3 = ts_dpbusd(a##r##3, c, v3)

static inline __attribute__((always_inline)) void
ts_pf_tile(const uint8_t *codes, size_t len, int nrows, const int8_t *x, size_t q_stride,
           int ntok, float *y, size_t y_stride, int first)
{
    __m512i a00 = _mm512_setzero_si512(), a01 = a00, a02 = a00, a03 = a00, a10 = a00, a11 = a00,
            a12 = a00, a13 = a00, a20 = a00, a21 = a00, a22 = a00, a23 = a00, a30 = a00,
            a31 = a00, a32 = a00, a33 = a00;
    const uint8_t *c0 = codes, *c1 = nrows > 1 ? c0 + len : c0, *c2 = nrows > 2 ? c1 + len : c0,
                  *c3 = nrows > 3 ? c2 + len : c0;
    const int8_t *x0 = x, *x1 = ntok > 1 ? x0 + q_stride : x0, *x2 = ntok > 2 ? x1 + q_stride : x1,
                 *x3 = ntok > 3 ? x2 + q_stride : x2;
    for (size_t i = 0; i < len; i += 64) {
        __m512i v0 = _mm512_load_si512(x0 + i), v1 = _mm512_load_si512(x1 + i),
                v2 = _mm512_load_si512(x2 + i), v3 = _mm512_load_si512(x3 + i);
        TS_PF_DP4(0, _mm512_load_si512(c0 + i));
        TS_PF_DP4(1, _mm512_load_si512(c1 + i));
        TS_PF_DP4(2, _mm512_load_si512(c2 + i));
        TS_PF_DP4(3, _mm512_load_si512(c3 + i));
    }
    __m128i sums[TS_PF_TOKENS] = {ts_sum4(a00, a10, a20, a30), ts_sum4(a01, a11, a21, a31),
                                  ts_sum4(a02, a12, a22, a32), ts_sum4(a03, a13, a23, a33)};
    for (int t = 0; t < ntok; t++) {
        int32_t sum[4];
        _mm_storeu_si128((__m128i *)sum, sums[t]);
        for (int r = 0; r < nrows; r++) {
            int32_t prev = 0;
            if (!first)
                memcpy(&prev, y + t * y_stride + r, sizeof prev);
            ts_put(y + t * y_stride + r, (int32_t)((uint32_t)prev + (uint32_t)sum[r]));
        }
    }
}

/* Rows [0, j->rows) of a job for all tokens, by decode-once (j->blocks canonical blocks of
 * block_weights weights per row). */
static inline __attribute__((always_inline)) void
ts_prefill_rows(const tern_job *j, size_t block_weights, ts_decode_fn decode)
{
    size_t seg_blocks = (TS_PF_SEGMENT + block_weights - 1) / block_weights;
    _Alignas(64) uint8_t codes[TS_PF_ROWS * ((TS_PF_SEGMENT + 319) / 320 * 320 + 256)];
    for (size_t r0 = 0; r0 < j->rows; r0 += TS_PF_ROWS) {
        int nrows = j->rows - r0 < TS_PF_ROWS ? (int)(j->rows - r0) : TS_PF_ROWS;
        float *y = j->y + r0;
        for (size_t b0 = 0; b0 < j->blocks; b0 += seg_blocks) {
            size_t blocks = j->blocks - b0 < seg_blocks ? j->blocks - b0 : seg_blocks;
            size_t len = blocks * block_weights;
            for (int r = 0; r < nrows; r++)
                decode(j->w + (r0 + (size_t)r) * j->row_bytes + b0 * TS_BLOCK_BYTES, blocks,
                       codes + r * len);
            const int8_t *x = j->q + b0 * block_weights;
            for (size_t t0 = 0; t0 < j->n; t0 += TS_PF_TOKENS) {
                int ntok = j->n - t0 < TS_PF_TOKENS ? (int)(j->n - t0) : TS_PF_TOKENS;
                float *yt = y + t0 * j->y_stride;
                const int8_t *xt = x + t0 * j->q_stride;
                ts_pf_tile(codes, len, nrows, xt, j->q_stride, ntok, yt, j->y_stride, b0 == 0);
            }
        }
        for (size_t t = 0; t < j->n; t++) /* the codes are w + 1 */
            for (int r = 0; r < nrows; r++) {
                int32_t acc;
                memcpy(&acc, y + t * j->y_stride + r, sizeof acc);
                ts_put(y + t * j->y_stride + r, ts_minus(acc, j->q_sum[t]));
            }
    }
}
#endif

/* ------------------------------------------------------------------ row groups, per token
 *
 * A row group of the kernels that decode the weights again on every token's pass (all but
 * the bit-serial and prefill paths): the group's rows from w (nrows <= R), then per token
 * dots(rows, x, blocks, nrows, prefetch, out) leaves each row's sum S in out[] and the slot
 * gets S - offset, minus the token's activation sum when minus_sum (the "codes 0/1/2"
 * kernels).  The first token's pass prefetches from ts_prefetch_from, a few KiB ahead: one
 * group ahead left the memory and the compute of a call in series (tern2-avx512-madd at
 * 4096x4096, 2 threads: 78 us warm, 81 us for its bytes at the ceiling, 151 us cold). */
#ifdef __AVX2__
#include <immintrin.h>

enum { TS_MAX_GROUP_ROWS = 4 };
typedef void (*ts_dots_fn)(const uint8_t *const *wrow, const int8_t *x, size_t blocks, int nrows,
                           const uint8_t *pf, int64_t *out);

static inline __attribute__((always_inline)) void
ts_token_passes(const tern_job *j, const uint8_t *w, float *y, int nrows, ts_dots_fn dots,
                int64_t offset, int minus_sum)
{
    const uint8_t *wrow[TS_MAX_GROUP_ROWS];
#pragma GCC unroll 4
    for (int r = 0; r < nrows; r++, w += j->row_bytes)
        wrow[r] = w; /* w ends at the next group */
    const int8_t *x = j->q;
    for (size_t t = 0; t < j->n; t++, x += j->q_stride, y += j->y_stride) {
        int64_t s[TS_MAX_GROUP_ROWS];
        dots(wrow, x, j->blocks, nrows, t == 0 ? ts_prefetch_from(j, w, nrows) : NULL, s);
#pragma GCC unroll 4
        for (int r = 0; r < nrows; r++)
            ts_put(y + r, ts_minus(s[r] - offset, minus_sum ? j->q_sum[t] : 0));
    }
}

static inline int64_t ts_hsum256_epi64(__m256i v)
{
    __m128i h = _mm_add_epi64(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    return _mm_cvtsi128_si64(_mm_add_epi64(h, _mm_unpackhi_epi64(h, h)));
}

static inline int32_t ts_hsum256_epi32(__m256i v)
{
    __m128i h = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0x4e));
    return _mm_cvtsi128_si32(_mm_add_epi32(h, _mm_shuffle_epi32(h, 0xb1)));
}

/* The AVX2 add-only kernels' dots: per 64-byte block and row, half(acc, 32 weight bytes, x)
 * twice (two accumulators of int64 SAD lanes), prefetching as ts_token_passes says. */
typedef __m256i (*ts_half_sad_fn)(__m256i acc, __m256i w, const int8_t *x);

static inline __attribute__((always_inline)) void
ts_sad_dots(const uint8_t *const *wrow, const int8_t *x, size_t blocks, int nrows,
            const uint8_t *pf, int64_t *out, size_t block_weights, ts_half_sad_fn half)
{
    __m256i acc[TS_MAX_GROUP_ROWS][2];
#pragma GCC unroll 4
    for (int r = 0; r < nrows; r++)
        acc[r][0] = acc[r][1] = _mm256_setzero_si256();
    for (size_t b = 0, off = 0; b < blocks; b++, off += TS_BLOCK_BYTES, x += block_weights) {
        if (pf) {
            ts_prefetch(pf, nrows);
            pf += nrows * TS_BLOCK_BYTES;
        }
#pragma GCC unroll 4
        for (int r = 0; r < nrows; r++) {
            acc[r][0] = half(acc[r][0], _mm256_load_si256((const __m256i *)(wrow[r] + off)), x);
            acc[r][1] = half(acc[r][1], _mm256_load_si256((const __m256i *)(wrow[r] + off + 32)), x + 32);
        }
    }
#pragma GCC unroll 4
    for (int r = 0; r < nrows; r++)
        out[r] = ts_hsum256_epi64(_mm256_add_epi64(acc[r][0], acc[r][1]));
}

/* The AVX2 multiply-add kernels' dots: vpmaddubsw products in two int16 accumulators (lo:
 * products of codes, hi: of codes times 4, see tern2_avx2_madd.c), updated by half(acc, 32
 * weight bytes, x) twice per 64-byte block and widened to int32 with vpmaddwd every
 * widen_blocks blocks (the kernel's int16 bound), hi shifted back exactly. */
typedef struct ts_acc16 {
    __m256i lo, hi;
} ts_acc16;
typedef void (*ts_half_madd_fn)(ts_acc16 *acc, __m256i w, const int8_t *x);

static inline __attribute__((always_inline)) void
ts_maddubs_dots(const uint8_t *const *wrow, const int8_t *x, size_t blocks, int nrows,
                const uint8_t *pf, int64_t *out, size_t block_weights, size_t widen_blocks,
                ts_half_madd_fn half)
{
    const __m256i ones = _mm256_set1_epi16(1);
    __m256i dot[TS_MAX_GROUP_ROWS];
#pragma GCC unroll 4
    for (int r = 0; r < nrows; r++)
        dot[r] = _mm256_setzero_si256();
    size_t off = 0;
    for (size_t b0 = 0; b0 < blocks; b0 += widen_blocks) {
        size_t end = blocks - b0 < widen_blocks ? blocks : b0 + widen_blocks;
        ts_acc16 a[TS_MAX_GROUP_ROWS];
#pragma GCC unroll 4
        for (int r = 0; r < nrows; r++)
            a[r].lo = a[r].hi = _mm256_setzero_si256();
        for (size_t b = b0; b < end; b++, off += TS_BLOCK_BYTES, x += block_weights) {
            if (pf) {
                ts_prefetch(pf, nrows);
                pf += nrows * TS_BLOCK_BYTES;
            }
#pragma GCC unroll 4
            for (int r = 0; r < nrows; r++) {
                half(&a[r], _mm256_load_si256((const __m256i *)(wrow[r] + off)), x);
                half(&a[r], _mm256_load_si256((const __m256i *)(wrow[r] + off + 32)), x + 32);
            }
        }
#pragma GCC unroll 4
        for (int r = 0; r < nrows; r++) {
            __m256i lo = _mm256_madd_epi16(a[r].lo, ones), hi = _mm256_madd_epi16(a[r].hi, ones);
            dot[r] = _mm256_add_epi32(dot[r], _mm256_add_epi32(lo, _mm256_srai_epi32(hi, 2)));
        }
    }
#pragma GCC unroll 4
    for (int r = 0; r < nrows; r++)
        out[r] = ts_hsum256_epi32(dot[r]);
}
#endif

#ifdef __AVX512F__
/* The AVX-512 multiply-add kernels' dots for ts_token_passes: K in segments of seg_blocks
 * blocks (their int32 lanes' bound), segment(rows, x, blocks, nrows, prefetch, dot) adding
 * each segment's lanes (already scaled back) into dot[]; lanes then sum with wrap-around,
 * exact modulo 2^32 and so exact for the int32 result. */
typedef void (*ts_segment_fn)(const uint8_t *const *wrow, const int8_t *x, size_t blocks,
                              int nrows, const uint8_t *pf, __m512i *dot);

static inline __attribute__((always_inline)) void
ts_segmented_dots(const uint8_t *const *wrow, const int8_t *x, size_t blocks, int nrows,
                  const uint8_t *pf, int64_t *out, size_t seg_blocks, size_t block_weights,
                  ts_segment_fn segment)
{
    __m512i dot[TS_MAX_GROUP_ROWS];
#pragma GCC unroll 4
    for (int r = 0; r < nrows; r++)
        dot[r] = _mm512_setzero_si512();
    for (size_t b0 = 0; b0 < blocks; b0 += seg_blocks) {
        size_t len = blocks - b0 < seg_blocks ? blocks - b0 : seg_blocks;
        const uint8_t *seg[TS_MAX_GROUP_ROWS];
#pragma GCC unroll 4
        for (int r = 0; r < nrows; r++)
            seg[r] = wrow[r] + b0 * TS_BLOCK_BYTES;
        segment(seg, x + b0 * block_weights, len, nrows,
                pf ? pf + b0 * TS_BLOCK_BYTES * (size_t)nrows : NULL, dot);
    }
#pragma GCC unroll 4
    for (int r = 0; r < nrows; r++)
        out[r] = _mm512_reduce_add_epi32(dot[r]);
}
#endif

#endif
