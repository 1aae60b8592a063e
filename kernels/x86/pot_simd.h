/*
 * kernels/x86/pot_simd.h - private to the pot SIMD kernels (kernels/x86/pot_avx2_*.c,
 * pot_avx512_*.c): the lane layouts they read, the repack into them, the widened
 * activations they read, and the row/token driver around their hot functions.
 *
 * Every function here is static inline and compiled with the flags of the file that
 * includes it.
 *
 * ---------------------------------------------------------------- weight layouts
 * A layout is a bit permutation of the canonical pot block (kernels/ref/pot.c, 128
 * weights in 16 * b bytes): every layout keeps the canonical codes and the canonical
 * size, only where each code bit sits changes.  The permutation is chosen so that one
 * vector load puts the codes of whole weight groups into the lanes the kernel computes
 * in.  "Weight i" is the i-th weight (0..127) of the block.
 *
 * Nibble plane (bytes 0..63, code bits 0..3) with L lanes of 512 / L bits each: lane l,
 * bits 4g..4g+3 hold code bits 0..3 of weight i = g L + l (lane l = i % L, group
 * g = i / L).  The canonical plane is the case L = 64 (byte j: weights j and j + 64).
 *   POT_LANES_WORD  L = 32 (16-bit lanes): one 64-byte load gives 4 groups of 32 codes,
 *                   group g = weights 32 g .. 32 g + 31, for word-lane arithmetic.
 *   POT_LANES_DWORD L = 16 (32-bit lanes): 8 groups of 16, weights 16 g .. 16 g + 15.
 * Code bits 4 and 5 follow the nibble plane as mask planes, 16 bytes per bit: bit i
 * (bit i % 8 of byte i / 8) = that code bit of weight i.  Read as little-endian L-bit
 * integers, mask g holds group g's bits in lane order, so one kmov puts them in a mask
 * register.  pot5: one plane (the sign), which is its canonical high part unchanged;
 * pot6: the ecode-bit-4 plane, then the sign plane.
 * The layouts used:
 *   pot4-avx512-shift: word nibbles.
 *   pot5-avx512-shift, pot6-avx512-shift: dword nibbles + mask planes.
 *   every other pot SIMD kernel: the canonical layout (no repack).
 *
 * ---------------------------------------------------------------- activations
 * All kernels start from the standard int8 blob (bb_act_q8, quantized by the SIMD
 * quantizer of their ISA).  Kernels that compute in wider lanes read a widened copy
 * (POT_X_I16 / POT_X_I32: q sign-extended, in order), made once per token in prepare_act
 * and placed after the blob, every token padded to whole blocks (POT_BLOCK values, zeros
 * beyond k).  The widening is part of the timed activation preparation.
 */
#ifndef BITBENCH_X86_POT_SIMD_H
#define BITBENCH_X86_POT_SIMD_H

#include "../kernel.h"

#include <stdint.h>
#include <string.h>

enum {
    POT_BLOCK = 128,    /* weights per block */
    POT_NIBBLE_BYTES = 64,
    POT_PLANE_BYTES = 16, /* one bit per weight of a block */
    POT_LANES_WORD = 32,
    POT_LANES_DWORD = 16,
    POT_TILE = 4,       /* tokens one hot-function call handles (prefill) */
    POT_ROW_GROUP = 64, /* rows a token tile sweeps before the next tile (prefill: these
                           rows' weights stay in L2 while every tile passes over them) */
};

static inline unsigned pot_bits_of(bb_format_id f)
{
    return f == BB_FMT_POT4 ? 4u : f == BB_FMT_POT5 ? 5u : 6u;
}

/* ------------------------------------------------------------------ repack */

/* Bit position (in the nibble plane) of code bit 0 of weight i, for L lanes. */
static inline unsigned pot_nibble_bit(unsigned i, unsigned lanes)
{
    return (512u / lanes) * (i % lanes) + 4u * (i / lanes);
}

static inline unsigned pot_get_bit(const uint8_t *p, unsigned bit)
{
    return (p[bit >> 3] >> (bit & 7u)) & 1u;
}

/* One canonical block into the layout with `lanes` lanes: a pure bit permutation. */
static inline void pot_repack_block(const uint8_t *src, uint8_t *dst, unsigned bits,
                                    unsigned lanes)
{
    memset(dst, 0, 16u * bits);
    for (unsigned i = 0; i < POT_BLOCK; i++) {
        unsigned from = pot_nibble_bit(i, 64), to = pot_nibble_bit(i, lanes);
        unsigned nibble = (unsigned)(src[from >> 3] >> (from & 7u)) & 15u;
        dst[to >> 3] = (uint8_t)(dst[to >> 3] | nibble << (to & 7u)); /* to % 8 is 0 or 4 */
    }
    if (bits == 5) /* the canonical high part already is the sign plane */
        memcpy(dst + POT_NIBBLE_BYTES, src + POT_NIBBLE_BYTES, POT_PLANE_BYTES);
    if (bits == 6) /* byte pairs (byte j, bits 2h..2h+1: weight j + 32 h) -> two planes */
        for (unsigned i = 0; i < POT_BLOCK; i++)
            for (unsigned b = 0; b < 2; b++) {
                unsigned bit = pot_get_bit(src + POT_NIBBLE_BYTES, 8u * (i % 32) + 2u * (i / 32) + b);
                uint8_t *plane = dst + POT_NIBBLE_BYTES + POT_PLANE_BYTES * b;
                plane[i >> 3] = (uint8_t)(plane[i >> 3] | bit << (i & 7u));
            }
}

static inline size_t pot_layout_bytes(const bb_weights *w) { return w->m * w->row_bytes; }

static inline void pot_repack(const bb_weights *w, void *layout, unsigned lanes)
{
    unsigned bits = pot_bits_of(w->format), block_bytes = 16u * bits;
    size_t blocks = w->m * (w->row_bytes / block_bytes);
    const uint8_t *src = w->data;
    uint8_t *dst = layout;
    for (size_t b = 0; b < blocks; b++, src += block_bytes, dst += block_bytes)
        pot_repack_block(src, dst, bits, lanes);
}

/* ------------------------------------------------------------------ activations */

typedef enum { POT_X_Q8, POT_X_I16, POT_X_I32 } pot_x_kind;

static inline size_t pot_x_elem_bytes(pot_x_kind kind)
{
    return kind == POT_X_I16 ? 2 : kind == POT_X_I32 ? 4 : 0;
}

/* Bytes of one token's widened copy (0 for POT_X_Q8). */
static inline size_t pot_x_token_bytes(pot_x_kind kind, size_t k)
{
    return bb_round_up(k, POT_BLOCK) * pot_x_elem_bytes(kind);
}

static inline size_t pot_x_act_bytes(pot_x_kind kind, size_t k, size_t n)
{
    return bb_act_q8_bytes(k, n) + n * pot_x_token_bytes(kind, k);
}

/* What token t's hot loop reads: the int8 q, or its widened copy. */
static inline const void *pot_x_token(pot_x_kind kind, void *act, size_t k, size_t n, size_t t)
{
    if (kind == POT_X_Q8) {
        bb_act_q8 q = bb_act_q8_view(act, k, n);
        return q.q + t * q.k_stride;
    }
    return (const uint8_t *)act + bb_act_q8_bytes(k, n) + t * pot_x_token_bytes(kind, k);
}

/* Widens tokens [t0, t1) of the (already quantized) blob. */
static inline void pot_x_widen(pot_x_kind kind, void *act, size_t k, size_t n, size_t t0,
                               size_t t1)
{
    bb_act_q8 q = bb_act_q8_view(act, k, n);
    size_t kp = bb_round_up(k, POT_BLOCK);
    for (size_t t = t0; t < t1; t++) {
        const int8_t *src = q.q + t * q.k_stride; /* zero from k up to k_stride >= kp */
        void *dst = (void *)pot_x_token(kind, act, k, n, t);
        if (kind == POT_X_I16) {
            int16_t *d = dst;
            for (size_t i = 0; i < kp; i++)
                d[i] = src[i];
        } else if (kind == POT_X_I32) {
            int32_t *d = dst;
            for (size_t i = 0; i < kp; i++)
                d[i] = src[i];
        }
    }
}

/* ------------------------------------------------------------------ driver */

/* A hot function: the exact dot products of one row (blocks layout blocks at w) with
 * ntok (1..POT_TILE) tokens whose data start at x[0..ntok), into dot[0..ntok).  It may
 * return dot + bias * sum(q) (see pot_simd.sum_bias). */
typedef void (*pot_dot_fn)(const uint8_t *w, size_t blocks, const void *const *x, unsigned ntok,
                           int64_t *dot);

typedef struct pot_simd {
    pot_x_kind x;
    pot_dot_fn dot;
    int sum_bias; /* the hot function's results exceed the dot by sum_bias * act.sum[t] */
} pot_simd;

/* Rows [r0, r1) by token tiles; see POT_ROW_GROUP. */
static inline void pot_simd_gemm_rows(const pot_simd *ks, const bb_gemm_args *a, size_t r0,
                                      size_t r1)
{
    const bb_weights *w = a->w;
    bb_act_q8 act = bb_act_q8_view(a->act, w->k, a->n);
    size_t blocks = w->k_padded / POT_BLOCK;
    for (size_t g0 = r0; g0 < r1; g0 += POT_ROW_GROUP) {
        size_t g1 = g0 + POT_ROW_GROUP < r1 ? g0 + POT_ROW_GROUP : r1;
        for (size_t t0 = 0; t0 < a->n; t0 += POT_TILE) {
            unsigned ntok = (unsigned)(a->n - t0 < POT_TILE ? a->n - t0 : POT_TILE);
            const void *x[POT_TILE];
            for (unsigned i = 0; i < ntok; i++)
                x[i] = pot_x_token(ks->x, a->act, w->k, a->n, t0 + i);
            const uint8_t *wrow = (const uint8_t *)a->layout + g0 * w->row_bytes;
            for (size_t r = g0; r < g1; r++, wrow += w->row_bytes) {
                int64_t dot[POT_TILE];
                float row_scale = bb_row_scale(w, r);
                ks->dot(wrow, blocks, x, ntok, dot);
                for (unsigned i = 0; i < ntok; i++) {
                    size_t t = t0 + i;
                    int64_t d = dot[i] - (int64_t)ks->sum_bias * act.sum[t];
                    a->y[t * a->y_stride + r] =
                        w->format == BB_FMT_POT4
                            ? bb_rescale_i32((int32_t)d, row_scale, act.scale[t])
                            : bb_rescale_i64(d, row_scale, act.scale[t]);
                }
            }
        }
    }
}

/* ------------------------------------------------------------------ kernel table helpers */

/* act_bytes / prepare_act of a kernel reading the widened activations `kind` after the q8
 * blob quantized by `quantize_prepare` (the SIMD quantizer of the kernel's ISA). */
#define POT_X_ACT_FUNCS(name, kind, quantize_prepare)                                          \
    static size_t name##_act_bytes(size_t k, size_t n) { return pot_x_act_bytes(kind, k, n); }  \
    static void name##_prepare_act(const bb_gemm_args *a, size_t t0, size_t t1)                \
    {                                                                                           \
        quantize_prepare(a, t0, t1);                                                            \
        pot_x_widen(kind, a->act, a->w->k, a->n, t0, t1);                                       \
    }

/* The hot function `fn` (a pot_dot_fn): tokens in passes of at most max_tile, each pass
 * dispatched to tile(bits, w, blocks, x, ntok, dot) with a constant ntok, so that an
 * always_inline tile unrolls its token loops into registers for each count.  Not inlined,
 * so that `make check-addonly` can disassemble it (the kernels' hot_symbol). */
#define POT_DOT_FUNCTION(fn, tile, bits, max_tile)                                              \
    void fn(const uint8_t *w, size_t blocks, const void *const *x, unsigned ntok, int64_t *dot); \
    __attribute__((noinline)) void fn(const uint8_t *w, size_t blocks, const void *const *x,   \
                                      unsigned ntok, int64_t *dot)                              \
    {                                                                                           \
        for (unsigned t = 0; t < ntok; t += (max_tile)) {                                       \
            switch (ntok - t < (max_tile) ? ntok - t : (max_tile)) {                            \
            case 1: tile(bits, w, blocks, x + t, 1, dot + t); break;                            \
            case 2: tile(bits, w, blocks, x + t, 2, dot + t); break;                            \
            case 3: if ((max_tile) >= 3) tile(bits, w, blocks, x + t, 3, dot + t); break;       \
            default: if ((max_tile) >= 4) tile(bits, w, blocks, x + t, 4, dot + t); break;      \
            }                                                                                   \
        }                                                                                       \
    }

/* The table entry bb_kernel_pot<bits>_<isa>_<method> ("pot<bits>-<isa>-<method>") around
 * the hot function bb_pot<bits>_<isa>_<method>_dot, with its gemm_rows. */
#define POT_KERNEL(bits, isa_tag, isa_level, method_tag, prio, mul_free, x_kind, bias, needs_,  \
                   layout_fn, repack_fn, act_bytes_fn, prepare_fn)                             \
    static const pot_simd pot##bits##_simd = {                                                  \
        .x = x_kind, .dot = bb_pot##bits##_##isa_tag##_##method_tag##_dot, .sum_bias = bias};   \
    static void pot##bits##_rows(const bb_gemm_args *a, size_t r0, size_t r1)                   \
    {                                                                                           \
        pot_simd_gemm_rows(&pot##bits##_simd, a, r0, r1);                                       \
    }                                                                                           \
    const bb_kernel bb_kernel_pot##bits##_##isa_tag##_##method_tag = {                          \
        .name = "pot" #bits "-" #isa_tag "-" #method_tag,                                       \
        .format = BB_FMT_POT##bits,                                                             \
        .method = #method_tag,                                                                  \
        .isa = isa_level,                                                                       \
        .needs = needs_,                                                                        \
        .priority = prio,                                                                       \
        .multiply_free = mul_free,                                                              \
        .hot_symbol = "bb_pot" #bits "_" #isa_tag "_" #method_tag "_dot",                       \
        .row_block = 1,                                                                         \
        .layout_bytes = layout_fn,                                                              \
        .repack = repack_fn,                                                                    \
        .act_bytes = act_bytes_fn,                                                              \
        .prepare_act = prepare_fn,                                                              \
        .gemm_rows = pot##bits##_rows,                                                          \
    };

/* Software prefetch of the weight stream, POT_PREFETCH bytes ahead of the block at w
 * (every 64-byte line of it): the hardware prefetcher alone leaves the stream well short
 * of the read ceiling.  Measured on the 2-core Xeon VM (4096 x 4096, cold, one thread,
 * minimum of interleaved calls, pot4-avx512-mul / pot4-avx512-shift): no prefetch 840 /
 * 1190 us; 512 B ahead 700 / 950; 1 KiB 640 / 860; 2 KiB 580 / 735; 4 KiB 578 / 688;
 * 8 KiB 585 / 695; 16 KiB 590 / 735. */
#define POT_PREFETCH 4096
static inline void pot_prefetch_block(const uint8_t *w, unsigned block_bytes)
{
    __builtin_prefetch(w + POT_PREFETCH, 0, 3);
    if (block_bytes > 64)
        __builtin_prefetch(w + POT_PREFETCH + 64, 0, 3);
}

/* Two's complement bits back to int64 without an implementation-defined conversion. */
static inline int64_t pot_i64(uint64_t u)
{
    return u <= (uint64_t)INT64_MAX ? (int64_t)u : -(int64_t)~u - 1;
}

#ifdef __AVX512F__
#include <immintrin.h>

/* acc64 + the 16 int32 lanes of acc32 sign-extended (the periodic widening that keeps the
 * int32 lanes of a segment from overflowing). */
static inline __m512i pot_widen_add_epi32(__m512i acc64, __m512i acc32)
{
    acc64 = _mm512_add_epi64(acc64, _mm512_cvtepi32_epi64(_mm512_castsi512_si256(acc32)));
    return _mm512_add_epi64(acc64, _mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64(acc32, 1)));
}

/* A mask register straight from memory (kmovw/kmovd k, m: a load, no ALU uop; a memcpy
 * into an integer compiles to a load plus a kmov from a general register, which costs a
 * port-5 uop in the loop).  The operand names the bytes as uint8_t, so nothing is
 * accessed through another type. */
static inline __mmask16 pot_mask16(const uint8_t *p)
{
    __mmask16 k;
    __asm__("kmovw %1, %0" : "=k"(k) : "m"(*(const uint8_t(*)[2])p));
    return k;
}
#endif

#ifdef __AVX512BW__
static inline __mmask64 pot_mask64(const uint8_t *p)
{
    __mmask64 k;
    __asm__("kmovq %1, %0" : "=k"(k) : "m"(*(const uint8_t(*)[8])p));
    return k;
}
#endif

#ifdef __AVX2__
#include <immintrin.h>

static inline __m256i pot_widen_add_epi32_avx2(__m256i acc64, __m256i acc32)
{
    acc64 = _mm256_add_epi64(acc64, _mm256_cvtepi32_epi64(_mm256_castsi256_si128(acc32)));
    return _mm256_add_epi64(acc64, _mm256_cvtepi32_epi64(_mm256_extracti128_si256(acc32, 1)));
}

/* Codes (pot4) or ecode bits 0..3 of the 32 weights of group g (weights 32 g ..) of a
 * canonical block: the low nibbles of bytes 0..31 (g = 0) and 32..63 (g = 1), then their
 * high nibbles. */
static inline __m256i pot_avx2_group_nibbles(const uint8_t *w, int g)
{
    __m256i v = _mm256_loadu_si256((const __m256i *)(w + 32 * (g & 1)));
    if (g >= 2)
        v = _mm256_srli_epi16(v, 4);
    return _mm256_and_si256(v, _mm256_set1_epi8(0x0f));
}

/* 0xff where bit i of the 32-bit little-endian word at p is set, in byte i. */
static inline __m256i pot_avx2_bits_to_bytes(const uint8_t *p)
{
    uint32_t word;
    memcpy(&word, p, sizeof word);
    const __m256i spread = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, /* */
                                            2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
    const __m256i bit = _mm256_set1_epi64x(0x8040201008040201ll);
    __m256i b = _mm256_shuffle_epi8(_mm256_set1_epi32((int)word), spread);
    return _mm256_cmpeq_epi8(_mm256_and_si256(b, bit), bit);
}

/* 0xff where bits `mask` of each byte are all set. */
static inline __m256i pot_avx2_bytes_with(__m256i v, int mask)
{
    __m256i m = _mm256_set1_epi8((char)mask);
    return _mm256_cmpeq_epi8(_mm256_and_si256(v, m), m);
}

static inline int64_t pot_hsum_epi64_avx2(__m256i v)
{
    int64_t lane[4];
    _mm256_storeu_si256((__m256i *)lane, v);
    return pot_i64((uint64_t)lane[0] + (uint64_t)lane[1] + (uint64_t)lane[2] + (uint64_t)lane[3]);
}
#endif

#endif
