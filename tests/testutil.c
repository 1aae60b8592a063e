/* tests/testutil.c - shared by the cmocka tests: seeded data, the double reference, where the binary and sources are (testutil.h). */
#include "testutil.h"
#include "../harness/base/rng.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *tu_bitbench_bin(void)
{
    const char *b = getenv("BITBENCH_BIN");
    return b ? b : "build/bitbench";
}

const char *tu_srcdir(void)
{
    const char *s = getenv("BITBENCH_SRCDIR");
    return s ? s : ".";
}

char *tu_read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = n >= 0 ? malloc((size_t)n + 1) : NULL;
    size_t got = buf ? fread(buf, 1, (size_t)n, f) : 0;
    if (buf)
        buf[got] = 0;
    fclose(f);
    return buf;
}

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

void tu_for_small_shapes(const size_t *ks, size_t n_ks, float w_scale, tu_shape_check check)
{
    for (size_t c = 0; c < n_ks; c++)
        for (size_t m = 1; m <= 3; m++)
            for (size_t n = 1; n <= 3; n++) {
                size_t k = ks[c], x_stride;
                float *w = malloc(m * k * sizeof(float));
                if (!w)
                    abort();
                tu_fill_normalish(w, m * k, w_scale, 1000 * c + 10 * m + n);
                float *x = tu_make_x(k, n, 55 + 7 * c + m, &x_stride);
                check(w, m, k, x, x_stride, n);
                free(w);
                bb_free(x);
            }
}

static size_t code_mismatch(const char *what, bb_format_id f, size_t row, size_t i, uint32_t code,
                            uint32_t got, uint32_t want, size_t failures)
{
    if (failures < 5)
        fprintf(stderr, "%s: %s after set_code(row %zu, %zu, %u): code %u, expected %u\n",
                bb_format_get(f)->name, what, row, i, code, got, want);
    return 1;
}

size_t tu_code_round_trip_failures(bb_format_id f, size_t k)
{
    const bb_format *fmt = bb_format_get(f);
    bb_weights w;
    if (bb_weights_alloc(&w, f, 2, k) != 0)
        abort();
    bb_weights_fill_zero(&w);
    const size_t positions[] = {0, 1, fmt->block - 1, fmt->block, k - 1, k, w.k_padded - 1};
    size_t failures = 0;
    for (size_t r = 0; r < 2; r++)
        for (size_t p = 0; p < sizeof positions / sizeof positions[0]; p++) {
            size_t i = positions[p];
            if (i >= w.k_padded)
                continue;
            for (uint32_t code = 0; code < fmt->n_codes; code++) {
                fmt->set_code(&w, r, i, code);
                uint32_t got = fmt->get_code(&w, r, i), z = fmt->zero_code;
                if (got != code)
                    failures += code_mismatch("get_code", f, r, i, code, got, code, failures);
                if (i > 0 && (got = fmt->get_code(&w, r, i - 1)) != z)
                    failures += code_mismatch("left neighbour", f, r, i, code, got, z, failures);
                if (i + 1 < w.k_padded && (got = fmt->get_code(&w, r, i + 1)) != z)
                    failures += code_mismatch("right neighbour", f, r, i, code, got, z, failures);
                if ((got = fmt->get_code(&w, 1 - r, i)) != z)
                    failures += code_mismatch("other row", f, r, i, code, got, z, failures);
                fmt->set_code(&w, r, i, z);
            }
        }
    bb_weights_free(&w);
    return failures;
}
