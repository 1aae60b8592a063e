/*
 * kernels/arm/q8_rows.h - internal to the ARM kernels of the BB_ACT_Q8 formats: the
 * gemm_rows driver they share.  Rows outer, tokens inner (a packed row is read from memory
 * once and from cache for the other tokens); every (row, token) is one call of the
 * kernel's dot function over the whole padded row (padding weights are the zero code and
 * activations are zero from k up to k_stride, so whole blocks add nothing extra), then the
 * shared rescale.  Refuses, like the references, a k whose accumulator could overflow.
 */
#ifndef BITBENCH_ARM_Q8_ROWS_H
#define BITBENCH_ARM_Q8_ROWS_H
#include "../kernel.h"

#include <stdio.h>
#include <stdlib.h>

/* The dot of one packed row (canonical row_bytes) with one token's q over k_padded. */
typedef int32_t (*q8_dot32_fn)(const uint8_t *wrow, const int8_t *xq, size_t k_padded);
typedef int64_t (*q8_dot64_fn)(const uint8_t *wrow, const int8_t *xq, size_t k_padded);

static inline void q8_check_k(const char *name, size_t k, size_t max_k)
{
    if (k > max_k) {
        fprintf(stderr, "%s: k = %zu would overflow the accumulator; accepted k <= %zu\n", name,
                k, max_k);
        abort();
    }
}

static inline void q8_rows_i32(const bb_gemm_args *a, size_t r0, size_t r1, const char *name,
                               size_t max_k, q8_dot32_fn dot)
{
    const bb_weights *w = a->w;
    bb_act_q8 act = bb_act_q8_view(a->act, w->k, a->n);
    q8_check_k(name, w->k, max_k);
    for (size_t r = r0; r < r1; r++) {
        const uint8_t *wrow = (const uint8_t *)a->layout + r * w->row_bytes;
        float row_scale = bb_row_scale(w, r);
        for (size_t t = 0; t < a->n; t++)
            a->y[t * a->y_stride + r] = bb_rescale_i32(
                dot(wrow, act.q + t * act.k_stride, w->k_padded), row_scale, act.scale[t]);
    }
}

static inline void q8_rows_i64(const bb_gemm_args *a, size_t r0, size_t r1, q8_dot64_fn dot)
{
    const bb_weights *w = a->w;
    bb_act_q8 act = bb_act_q8_view(a->act, w->k, a->n);
    for (size_t r = r0; r < r1; r++) {
        const uint8_t *wrow = (const uint8_t *)a->layout + r * w->row_bytes;
        float row_scale = bb_row_scale(w, r);
        for (size_t t = 0; t < a->n; t++)
            a->y[t * a->y_stride + r] = bb_rescale_i64(
                dot(wrow, act.q + t * act.k_stride, w->k_padded), row_scale, act.scale[t]);
    }
}

#endif
