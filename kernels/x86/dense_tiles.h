/*
 * kernels/x86/dense_tiles.h - the register- and cache-blocked driver shared by the dense
 * SIMD kernels (fp16_*, int8_*).  Header-only and free of intrinsics, so that each kernel
 * file compiles it with its own ISA flags.
 *
 * A kernel computes Y in tiles of R rows x T tokens: one pass over K loads each weight
 * vector once and uses it for T tokens, and each activation vector once for R rows, so
 * a decode GEMV (T = 1) shares activation loads across rows and a prefill GEMM (N > 1)
 * reuses every weight load T times instead of running N separate GEMVs.
 *
 * Loop nest, outermost first (GotoBLAS-style cache blocking):
 *   K slices of k_slice weights: a T-token activation tile of one slice stays in L1 while
 *     the row tiles of a macro block pass over it (fp16 activations are 4 bytes each, so
 *     without slicing the activations of a 4096-wide prefill would stream from L3 once
 *     per row tile);
 *   macro blocks of macro_rows rows: their weights of one slice stay in L2 while every
 *     token tile passes over them, so weights stream from memory once.  A kernel may
 *     repack the block first (pack: fp16 converts it to fp32 once for all tokens);
 *   token tiles of T tokens (the last takes the remainder);
 *   row tiles of R rows, then single rows for what is left of the block.
 * Decode (n = 1) uses one slice and one token tile: rows stream straight through.
 *
 * The tile functions have R and T fixed at compile time (the body is force-inlined, its
 * loops fully unrolled, the accumulators in registers).  A tile over slice [k0, k1) stores
 * its results when k0 == 0 and adds them to Y otherwise, so a kernel that cannot add
 * partial results (integer accumulators) must be driven with k_slice >= k_padded.
 */
#ifndef BITBENCH_X86_DENSE_TILES_H
#define BITBENCH_X86_DENSE_TILES_H

#include "../kernel.h"

/* What a tile computes on: weights [k0, k1) of its rows, read from the kernel's layout
 * (panel NULL) or from the macro block that pack made (row r at panel + (r - panel_r0) *
 * panel_stride bytes, its weight k0 first). */
typedef struct dense_slice {
    size_t k0, k1;
    const void *panel;
    size_t panel_r0, panel_stride;
} dense_slice;

/* Rows [r, r + R) x tokens [t, t + T) of Y over the slice, R and T fixed by the function. */
typedef void (*dense_tile_fn)(const bb_gemm_args *a, const dense_slice *s, size_t r, size_t t);

/* One tile function: name(a, s, r, t) runs body(a, s, r, t, R, T) with constant R, T. */
#define DENSE_TILE_FN(name, body, R, T)                                                    \
    static void name(const bb_gemm_args *a, const dense_slice *s, size_t r, size_t t)      \
    {                                                                                      \
        body(a, s, r, t, R, T);                                                            \
    }

/* The tile functions for T = 1 .. n of body with R rows, and the table name[T] of them
 * (name[0] unused) that dense_blocking takes. */
#define DENSE_TILE_FNS_1(name, body, R) DENSE_TILE_FN(name##_1, body, R, 1)
#define DENSE_TILE_FNS_2(name, body, R) DENSE_TILE_FNS_1(name, body, R) DENSE_TILE_FN(name##_2, body, R, 2)
#define DENSE_TILE_FNS_3(name, body, R) DENSE_TILE_FNS_2(name, body, R) DENSE_TILE_FN(name##_3, body, R, 3)
#define DENSE_TILE_FNS_4(name, body, R) DENSE_TILE_FNS_3(name, body, R) DENSE_TILE_FN(name##_4, body, R, 4)
#define DENSE_TILE_FNS_6(name, body, R)                                                    \
    DENSE_TILE_FNS_4(name, body, R) DENSE_TILE_FN(name##_5, body, R, 5) DENSE_TILE_FN(name##_6, body, R, 6)
#define DENSE_TILE_TABLE_1(name, body, R)                                                  \
    DENSE_TILE_FNS_1(name, body, R)                                                        \
    static const dense_tile_fn name[2] = {NULL, name##_1};
#define DENSE_TILE_TABLE_3(name, body, R)                                                  \
    DENSE_TILE_FNS_3(name, body, R)                                                        \
    static const dense_tile_fn name[4] = {NULL, name##_1, name##_2, name##_3};
#define DENSE_TILE_TABLE_4(name, body, R)                                                  \
    DENSE_TILE_FNS_4(name, body, R)                                                        \
    static const dense_tile_fn name[5] = {NULL, name##_1, name##_2, name##_3, name##_4};
#define DENSE_TILE_TABLE_6(name, body, R)                                                  \
    DENSE_TILE_FNS_6(name, body, R)                                                        \
    static const dense_tile_fn name[7] = {NULL,     name##_1, name##_2, name##_3,          \
                                          name##_4, name##_5, name##_6};

/* The K loop of every dense tile, over accumulators acc[R][T] (declared [>= R][>= T] and
 * zeroed by the caller) and column steps c in [c0, c1): per step, prefetch(c) when T == 1
 * (decode), the T activation vectors load_x(j, c) once, and per row the weight vector
 * load_w(i, c) once, then acc[i][j] = mac(acc[i][j], w, x[j]).  R and T are constants, so
 * the loops unroll and the accumulators stay in registers.  A macro, not a function: the
 * vector type and the three operations belong to each ISA file. */
#define DENSE_MAX_T 8
#define DENSE_TILE_LOOP(VEC, acc, R, T, c0, c1, prefetch, load_x, load_w, mac)             \
    for (size_t c_ = (c0); c_ < (c1); c_++) {                                              \
        if ((T) == 1)                                                                      \
            prefetch(c_);                                                                  \
        VEC x_[DENSE_MAX_T];                                                               \
        _Pragma("GCC unroll 8") for (int j_ = 0; j_ < (T); j_++) x_[j_] = load_x(j_, c_);  \
        _Pragma("GCC unroll 8") for (int i_ = 0; i_ < (R); i_++)                           \
        {                                                                                  \
            VEC w_ = load_w(i_, c_);                                                       \
            _Pragma("GCC unroll 8") for (int j_ = 0; j_ < (T); j_++)                       \
                (acc)[i_][j_] = mac((acc)[i_][j_], w_, x_[j_]);                            \
        }                                                                                  \
    }

#define DENSE_TILE_ZERO(acc, R, T, zero)                                                   \
    _Pragma("GCC unroll 8") for (int i_ = 0; i_ < (R); i_++)                               \
        _Pragma("GCC unroll 8") for (int j_ = 0; j_ < (T); j_++) (acc)[i_][j_] = zero;

/* Decode streams R rows at once, R streams for the hardware prefetcher, which then falls
 * short of the one-stream read ceiling; a software prefetch 1 KiB ahead in each row, once
 * per 64-byte line (at byte offsets that are multiples of 64), closes most of the gap
 * (measured: fp16_avx512.c). */
enum { DENSE_DECODE_PREFETCH = 1024 };
static inline void dense_prefetch_rows(const void *row0, size_t stride, int rows, size_t offset)
{
    if (offset % 64 != 0)
        return;
#pragma GCC unroll 8
    for (int i = 0; i < rows; i++)
        __builtin_prefetch((const char *)row0 + i * stride + offset + DENSE_DECODE_PREFETCH, 0, 3);
}

typedef struct dense_blocking {
    size_t rows;       /* R of the full tiles */
    size_t max_t;      /* T of the full tiles */
    size_t macro_rows; /* a multiple of rows */
    size_t k_slice;    /* a multiple of the kernel's K step; >= k_padded for no slicing */
    const dense_tile_fn *tiles_r; /* [T] for T = 1 .. max_t: R-row tiles (index 0 unused) */
    const dense_tile_fn *tiles_1; /* [T]: single-row tiles */
    /* Optional: repack rows [r0, r1) of slice s into scratch and point s->panel at it. */
    void (*pack)(const bb_gemm_args *a, size_t r0, size_t r1, void *scratch, dense_slice *s);
    void *scratch;
} dense_blocking;

static inline void dense_macro_block(const bb_gemm_args *a, const dense_blocking *b,
                                     const dense_slice *s, size_t r0, size_t r1)
{
    for (size_t t = 0; t < a->n; t += b->max_t) {
        size_t nt = a->n - t < b->max_t ? a->n - t : b->max_t;
        size_t r = r0;
        for (; r + b->rows <= r1; r += b->rows)
            b->tiles_r[nt](a, s, r, t);
        for (; r < r1; r++)
            b->tiles_1[nt](a, s, r, t);
    }
}

static inline void dense_for_tiles(const bb_gemm_args *a, size_t r0, size_t r1,
                                   const dense_blocking *b)
{
    size_t k_padded = a->w->k_padded;
    for (size_t k0 = 0; k0 < k_padded; k0 += b->k_slice) {
        size_t k1 = k_padded - k0 < b->k_slice ? k_padded : k0 + b->k_slice;
        for (size_t rb = r0; rb < r1; rb += b->macro_rows) {
            size_t re = r1 - rb < b->macro_rows ? r1 : rb + b->macro_rows;
            dense_slice s = {.k0 = k0, .k1 = k1};
            if (b->pack)
                b->pack(a, rb, re, b->scratch, &s);
            dense_macro_block(a, b, &s, rb, re);
        }
    }
}

/* Decode (n = 1): 8-row tiles.  More rows in flight keep more line fills outstanding:
 * measured here (cold weights, 4096 x 4096, 1 thread, best of 50), 8 rows beat the
 * prefill tiles' 2 or 4 rows by 7-13% (fp16) and 9-48% (int8 VNNI), and 16 rows were
 * 7-10% slower than 8. */
enum { DENSE_DECODE_ROWS = 8 };
static inline void dense_decode(const bb_gemm_args *a, size_t r0, size_t r1,
                                const dense_tile_fn *tiles_8, const dense_tile_fn *tiles_1)
{
    dense_blocking b = {.rows = DENSE_DECODE_ROWS, .max_t = 1, .macro_rows = 8 * DENSE_DECODE_ROWS,
                        .k_slice = a->w->k_padded, .tiles_r = tiles_8, .tiles_1 = tiles_1};
    dense_for_tiles(a, r0, r1, &b);
}

#endif
