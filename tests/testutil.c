#include "testutil.h"
#include "../harness/rng.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

uint64_t tu_rand_u64(uint64_t *s) { return bb_rng_u64(s); }
float tu_rand_f32(uint64_t *s) { return bb_rng_f32(s); }
void tu_fill_normalish(float *v, size_t n, float scale, uint64_t seed) { bb_rng_fill(v, n, scale, seed); }

float *tu_make_x(size_t k, size_t n, uint64_t seed, size_t *x_stride)
{
    size_t stride = bb_k_stride(k);
    float *x = bb_alloc(stride * n * sizeof(float));
    if (!x)
        abort();
    for (size_t t = 0; t < n; t++)
        tu_fill_normalish(x + t * stride, k, 1.0f, seed + t);
    *x_stride = stride;
    return x;
}

void tu_ref_gemm_double(const bb_weights *w, const float *x, size_t x_stride,
                        const bb_act_q8 *act, size_t n, double *out, double *abs_out)
{
    for (size_t t = 0; t < n; t++)
        for (size_t r = 0; r < w->m; r++) {
            double s = 0, a = 0;
            for (size_t i = 0; i < w->k; i++) {
                double xv = act ? (double)act->q[t * act->k_stride + i] * act->scale[t]
                                : (double)x[t * x_stride + i];
                double p = bb_weight_value(w, r, i) * xv;
                s += p;
                a += fabs(p);
            }
            out[t * w->m + r] = s;
            if (abs_out)
                abs_out[t * w->m + r] = a;
        }
}

float *tu_run_kernel(const bb_kernel *kn, const bb_weights *w, const float *x, size_t x_stride,
                     size_t n)
{
    float *y = bb_alloc(n * w->m * sizeof(float));
    void *layout = NULL, *act = NULL;
    if (kn->repack) {
        layout = bb_alloc(kn->layout_bytes(w));
        kn->repack(w, layout);
    }
    if (kn->act_bytes)
        act = bb_alloc(kn->act_bytes(w->k, n));
    bb_gemm_args a = {.w = w, .layout = layout ? layout : w->data, .x = x, .x_stride = x_stride,
                      .y = y, .y_stride = w->m, .n = n, .act = act};
    bb_kernel_gemm(kn, &a);
    bb_free(layout);
    bb_free(act);
    return y;
}
