/* tests/testutil.c - shared by the cmocka tests: seeded data, the double reference, where the binary and sources are (testutil.h). */
#include "testutil.h"
#include "../harness/base/rng.h"

#include <ftw.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

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

char *tu_read_in(const char *dir, const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return tu_read_file(path);
}

int tu_run_bitbench(const char *env, const char *args, char *out, size_t outlen, char *err, size_t errlen)
{
    char cmd[8192], errfile[] = "/tmp/bitbench-test-err-XXXXXX";
    int fd = mkstemp(errfile);
    if (fd < 0)
        return -1;
    snprintf(cmd, sizeof cmd, "%s %s %s 2>%s", env ? env : "", tu_bitbench_bin(), args, errfile);
    FILE *p = popen(cmd, "r");
    if (!p) {
        close(fd);
        unlink(errfile);
        return -1;
    }
    char sink[4096];
    size_t got;
    if (out) {
        got = fread(out, 1, outlen - 1, p);
        out[got] = '\0';
    }
    while (fread(sink, 1, sizeof sink, p) > 0) /* the rest, so the command never blocks on a full pipe */
        ;
    int status = pclose(p);
    FILE *e = fdopen(fd, "r");
    if (err && e) {
        got = fread(err, 1, errlen - 1, e);
        err[got] = '\0';
    }
    if (e)
        fclose(e);
    else
        close(fd);
    unlink(errfile);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int tu_sh(const char *fmt, ...)
{
    char cmd[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int tu_sh_output(const char *cmd, char *out, size_t len)
{
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    size_t n = fread(out, 1, len ? len - 1 : 0, p);
    if (len)
        out[n] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int tu_temp_dir(char *dir, size_t len, const char *prefix)
{
    snprintf(dir, len, "/tmp/%s-XXXXXX", prefix);
    return mkdtemp(dir) ? 0 : -1;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

int tu_remove_tree(const char *path) { return nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS); }

bool tu_png_size(const char *path, uint32_t *w, uint32_t *h)
{
    unsigned char head[24];
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    size_t got = fread(head, 1, sizeof head, f);
    fclose(f);
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    if (got != sizeof head || memcmp(head, sig, 8) || memcmp(head + 12, "IHDR", 4))
        return false;
    *w = (uint32_t)head[16] << 24 | (uint32_t)head[17] << 16 | (uint32_t)head[18] << 8 | head[19];
    *h = (uint32_t)head[20] << 24 | (uint32_t)head[21] << 16 | (uint32_t)head[22] << 8 | head[23];
    return true;
}

int tu_self_exe(char *buf, size_t len)
{
    ssize_t n = readlink("/proc/self/exe", buf, len - 1);
    if (n <= 0) {
        fprintf(stderr, "cannot find this test's own executable (/proc/self/exe)\n");
        return -1;
    }
    buf[n] = '\0';
    return 0;
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
