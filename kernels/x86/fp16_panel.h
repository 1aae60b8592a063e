/*
 * kernels/x86/fp16_panel.h - the fp16 prefill's packed panel, shared by fp16_avx2.c and
 * fp16_avx512.c (each includes it under its own flags; the conversion needs only F16C).
 *
 * Prefill reads every weight once per token tile.  Converting halves in the inner loop
 * (vcvtph2ps: 2 uops on the FMA ports) costs a quarter of the FMA throughput there, so
 * each cache block of weights (64 rows x one K slice of 1024) is widened to fp32 once and
 * shared by all token tiles: 256 KiB, L2-resident.  Measured: +22% GOP/s for
 * fp16-avx512-fma at 512 x 4096 x 128 (thread CPU time, this machine).
 */
#ifndef BITBENCH_X86_FP16_PANEL_H
#define BITBENCH_X86_FP16_PANEL_H

#include "dense_tiles.h"

#include <immintrin.h>

enum { FP16_PANEL_K = 1024, FP16_PANEL_ROWS = 64 };

/* dense_blocking.pack: rows [r0, r1) of slice s widened to fp32 into scratch (row stride
 * FP16_PANEL_K floats), and s pointed at it. */
static inline void fp16_panel_pack(const bb_gemm_args *a, size_t r0, size_t r1, void *scratch,
                                   dense_slice *s)
{
    float *panel = scratch;
    const size_t steps = (s->k1 - s->k0) / 8;
    for (size_t r = r0; r < r1; r++) {
        const __m128i *halves =
            (const __m128i *)((const uint8_t *)a->layout + r * a->w->row_bytes + s->k0 * 2);
        float *out = panel + (r - r0) * FP16_PANEL_K;
        for (size_t c = 0; c < steps; c++)
            _mm256_store_ps(out + c * 8, _mm256_cvtph_ps(_mm_loadu_si128(halves + c)));
    }
    s->panel = panel;
    s->panel_r0 = r0;
    s->panel_stride = FP16_PANEL_K * sizeof(float);
}

/* dense_for_tiles over [r0, r1) with the panel: tiles_r / tiles_1 must read s->panel. */
static inline void fp16_panel_gemm(const bb_gemm_args *a, size_t r0, size_t r1, size_t rows,
                                   size_t max_t, const dense_tile_fn *tiles_r,
                                   const dense_tile_fn *tiles_1)
{
    static _Alignas(64) _Thread_local float panel[FP16_PANEL_ROWS * FP16_PANEL_K];
    dense_blocking b = {.rows = rows, .max_t = max_t, .macro_rows = FP16_PANEL_ROWS,
                        .k_slice = FP16_PANEL_K, .tiles_r = tiles_r, .tiles_1 = tiles_1,
                        .pack = fp16_panel_pack, .scratch = panel};
    dense_for_tiles(a, r0, r1, &b);
}

#endif
