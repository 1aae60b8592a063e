/*
 * kernels/x86/dense_tiles.h - the register-blocked driver shared by the dense SIMD kernels
 * (fp16_*, int8_*).  Header-only and free of intrinsics, so that each kernel file compiles
 * it with its own ISA flags.
 *
 * A kernel computes Y in tiles of R rows x T tokens: one pass over K loads each weight
 * vector once and uses it for T tokens, and each activation vector once for R rows, so
 * a decode GEMV (T = 1) shares activation loads across rows and a prefill GEMM (N > 1)
 * reuses every weight load T times instead of running N separate GEMVs.  Rows are the
 * outer loop: the R rows of weights (R x K elements) stay in L1/L2 while all token tiles
 * pass over them, so the weights stream from memory exactly once.
 *
 * The file provides, for each T = 1 .. T_max, a tile function with R and T known at
 * compile time (the body is force-inlined, its loops fully unrolled, the accumulators in
 * registers); dense_for_tiles covers [r0, r1) x [0, n) with full-R tiles and then
 * single-row tiles for the rows left over, and the last token tile takes the remainder.
 */
#ifndef BITBENCH_X86_DENSE_TILES_H
#define BITBENCH_X86_DENSE_TILES_H

#include "../kernel.h"

/* Rows [r, r + R) x tokens [t, t + T) of Y, R and T fixed by the function. */
typedef void (*dense_tile_fn)(const bb_gemm_args *a, size_t r, size_t t);

/* One tile function: name(a, r, t) runs body(a, r, t, R, T) with constant R and T. */
#define DENSE_TILE_FN(name, body, R, T)                                                    \
    static void name(const bb_gemm_args *a, size_t r, size_t t) { body(a, r, t, R, T); }

/* tiles_r[T] / tiles_1[T]: the R-row and single-row tile for T tokens, T = 1 .. max_t
 * (index 0 unused). */
static inline void dense_for_tiles(const bb_gemm_args *a, size_t r0, size_t r1, size_t rows,
                                   size_t max_t, const dense_tile_fn *tiles_r,
                                   const dense_tile_fn *tiles_1)
{
    size_t r = r0;
    for (; r + rows <= r1; r += rows)
        for (size_t t = 0; t < a->n; t += max_t)
            tiles_r[a->n - t < max_t ? a->n - t : max_t](a, r, t);
    for (; r < r1; r++)
        for (size_t t = 0; t < a->n; t += max_t)
            tiles_1[a->n - t < max_t ? a->n - t : max_t](a, r, t);
}

#endif
