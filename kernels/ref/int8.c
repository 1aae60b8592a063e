/*
 * kernels/ref/int8.c - W8A8: int8 absmax weights with one scale per output row, int8
 * absmax activations per token (act_q8.c), int32 accumulation, one rescale per output.
 *
 * Layout (block 64 weights = 64 bytes): row r at data + r * row_bytes holds k_padded
 * bytes, byte i = (int8_t)q_ri; padding bytes hold 0.  code = q + 127 (0 .. 254), so the
 * format's zero code is 127.
 *
 * Quantizer, per row: amax = max_i |w_ri|; scale = amax / 127.0f; inv = 127.0f / amax;
 * q = clip((int)rintf(w * inv), -127, 127) (round half to even); an all-zero row gets
 * scale 0 and q 0.  This is the activation quantizer's formula applied to a weight row.
 *
 * Reference dot: acc = sum_i q_w[i] * q_x[i] in int32; y = bb_rescale_i32(acc, s_r, s_t).
 *
 * Why int32 cannot overflow: |q_w| <= 127 and |q_x| <= 127, so one product is at most
 * 127 * 127 = 16129 in magnitude, and a sum of k of them at most 16129 k.  For the
 * largest K this suite runs, k = 65536 = 2^16: 16129 * 65536 = 1 057 030 144 < 2^30 <
 * 2^31 - 1 = INT32_MAX, with headroom to spare.  The bound holds up to
 * k = floor(INT32_MAX / 16129) = 133144 (INT8_MAX_K below); beyond that the reference
 * refuses the shape instead of computing it wrongly.  Every partial sum obeys the same
 * bound, so the order of accumulation (SIMD lanes, blocks) does not matter either.
 */
#include "ref.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INT8_CODE_OFFSET 127
#define INT8_MAX_K BB_INT8_MAX_K

static int8_t *row_bytes_of(const bb_weights *w, size_t row)
{
    return (int8_t *)(w->data + row * w->row_bytes);
}

static int clip_int8(int v) { return v > 127 ? 127 : v < -127 ? -127 : v; }

static void quantize_row(const float *w, size_t k, size_t k_padded, int8_t *q, float *scale)
{
    float amax = 0.0f;
    for (size_t i = 0; i < k; i++)
        if (fabsf(w[i]) > amax)
            amax = fabsf(w[i]);
    memset(q, 0, k_padded);
    *scale = amax / 127.0f;
    if (amax == 0.0f)
        return;
    float inv = 127.0f / amax;
    for (size_t i = 0; i < k; i++)
        q[i] = (int8_t)clip_int8((int)rintf(w[i] * inv));
}

void bb_int8_quantize(const float *w, bb_weights *out)
{
    for (size_t r = 0; r < out->m; r++)
        quantize_row(w + r * out->k, out->k, out->k_padded, row_bytes_of(out, r), &out->scales[r]);
}

uint32_t bb_int8_get_code(const bb_weights *w, size_t row, size_t i)
{
    return (uint32_t)(row_bytes_of(w, row)[i] + INT8_CODE_OFFSET);
}

void bb_int8_set_code(bb_weights *w, size_t row, size_t i, uint32_t code)
{
    row_bytes_of(w, row)[i] = (int8_t)((int)code - INT8_CODE_OFFSET);
}

double bb_int8_code_value(uint32_t code) { return (double)((int)code - INT8_CODE_OFFSET); }

/* Conventions shared by every format's model (see kernels/ref/act_q8.c too): the k real
 * weights of every row are counted, zero weights included, so the count depends on the
 * shape only.  int8 per weight: 1 int_mul, 1 int_add (acc starts at 0); per output: the
 * rescale, 1 cvt (int -> float) and 2 fp32_mul; plus the activation quantization. */
void bb_int8_opcount(size_t m, size_t k, size_t n, bb_opcount *out)
{
    uint64_t weights = (uint64_t)m * k * n, outputs = (uint64_t)m * n;
    bb_act_q8_opcount(k, n, out);
    out->int_mul += weights;
    out->int_add += weights;
    out->cvt += outputs;
    out->fp32_mul += 2 * outputs;
}

static void int8_scalar_ref_gemm_rows(const bb_gemm_args *a, size_t r0, size_t r1)
{
    const bb_weights *w = a->w;
    bb_act_q8 act = bb_act_q8_view(a->act, w->k, a->n);
    assert(w->k <= INT8_MAX_K); /* internal misuse: bb_shape_check refuses such shapes first */
    for (size_t r = r0; r < r1; r++) {
        const int8_t *wq = (const int8_t *)a->layout + r * w->row_bytes;
        float row_scale = w->scales[r];
        for (size_t t = 0; t < a->n; t++) {
            const int8_t *xq = act.q + t * act.k_stride;
            int32_t acc = 0;
            for (size_t i = 0; i < w->k; i++) {
                acc += (int32_t)wq[i] * (int32_t)xq[i];
                BB_COUNT(int_mul, 1);
                BB_COUNT(int_add, 1);
            }
            a->y[t * a->y_stride + r] = bb_rescale_i32(acc, row_scale, act.scale[t]);
            BB_COUNT(cvt, 1);
            BB_COUNT(fp32_mul, 2);
        }
    }
}

const bb_kernel bb_kernel_int8_scalar_ref = {
    .name = "int8-scalar-ref",
    .format = BB_FMT_INT8,
    .method = "ref",
    .isa = BB_ISA_SCALAR,
    .needs = 0,
    .priority = 0,
    .multiply_free = false,
    .hot_symbol = "int8_scalar_ref_gemm_rows",
    .row_block = 1,
    .act_bytes = bb_act_q8_ref_bytes,
    .prepare_act = bb_act_q8_ref_prepare,
    .gemm_rows = int8_scalar_ref_gemm_rows,
};
