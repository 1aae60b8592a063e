/* tests/testutil.h - shared by the cmocka tests: seeded data, the double reference, and where
 * the program under test and the source tree are. */
#ifndef BITBENCH_TESTUTIL_H
#define BITBENCH_TESTUTIL_H

#include "../kernels/kernel.h"

#include <stdbool.h>
#include <stdint.h>

/* The bitbench binary the CLI tests run ($BITBENCH_BIN, else build/bitbench) and the source
 * tree ($BITBENCH_SRCDIR, else .): make check sets both. */
const char *tu_bitbench_bin(void);
const char *tu_srcdir(void);
/* A whole file as a NUL-terminated string (free it), or NULL if it cannot be read. */
char *tu_read_file(const char *path);
/* The same for dir/name. */
char *tu_read_in(const char *dir, const char *name);

/* `env bitbench args` through the shell (env may be NULL): its exit status (-1 when it did
 * not exit); stdout into out, stderr into err, each NUL-terminated and cut to fit (out or err
 * NULL: dropped). */
int tu_run_bitbench(const char *env, const char *args, char *out, size_t outlen, char *err, size_t errlen);
/* A shell command made like printf: its exit status (-1 when it did not exit). */
int tu_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* cmd through popen: its stdout (up to len - 1 bytes) into out; its exit status, -1 when it
 * did not exit (a signal) or could not start. */
int tu_sh_output(const char *cmd, char *out, size_t len);
/* A fresh directory /tmp/<prefix>-XXXXXX, its path into dir (len >= strlen(prefix) + 13);
 * 0, or -1. */
int tu_temp_dir(char *dir, size_t len, const char *prefix);
/* Removes path and everything below it (depth first, links not followed); 0, or -1. */
int tu_remove_tree(const char *path);
/* Width and height from a PNG's IHDR chunk; false when the file is not a PNG. */
bool tu_png_size(const char *path, uint32_t *w, uint32_t *h);
/* This test program's own path (/proc/self/exe) into buf; 0, or -1 with a line on stderr. */
int tu_self_exe(char *buf, size_t len);

/* xorshift64*: reproducible across machines (rand() is not). */
uint64_t tu_rand_u64(uint64_t *state);
/* uniform in [-1, 1) */
float tu_rand_f32(uint64_t *state);
/* roughly normal (sum of 4 uniforms), times scale */
void tu_fill_normalish(float *v, size_t n, float scale, uint64_t seed);

/* Activations: n tokens of k floats, stride bb_k_stride(k), zero padded.  Free with bb_free. */
float *tu_make_x(size_t k, size_t n, uint64_t seed, size_t *x_stride);

/* The double-precision product of the dequantized operands, for tokens [0, n):
 * out[t * m + r] = sum_i bb_weight_value(w, r, i) * xv(t, i), where xv is x itself for
 * fp32 formats, and q * scale of `act` for int8-activation formats (act may be NULL for
 * fp32).  Also returns sum_i |w x| per output in abs_out (may be NULL), for error bounds. */
void tu_ref_gemm_double(const bb_weights *w, const float *x, size_t x_stride,
                        const bb_act_q8 *act, size_t n, double *out, double *abs_out);

/* Runs kernel kn over (w, x) single-threaded into a fresh y (n * m floats, stride m);
 * allocates and repacks what the kernel needs.  Returns y (bb_free it). */
float *tu_run_kernel(const bb_kernel *kn, const bb_weights *w, const float *x, size_t x_stride,
                     size_t n);

/* A check of one shape: weights w (m x k, row-major), activations x (n tokens). */
typedef void (*tu_shape_check)(const float *w, size_t m, size_t k, const float *x,
                               size_t x_stride, size_t n);
/* Calls check for every k in ks[0 .. n_ks) and every m, n in 1 .. 3, with seeded
 * normal-ish weights of size w_scale and activations of size 1 (different per shape). */
void tu_for_small_shapes(const size_t *ks, size_t n_ks, float w_scale, tu_shape_check check);

/* Pack/unpack round trip of every code of format f in a 2 x k matrix, at positions 0, 1,
 * block - 1, block, k - 1, k and k_padded - 1 (those that exist) of both rows: set_code
 * then get_code gives the code back, and the neighbours and the other row keep the zero
 * code.  Returns the number of failures (the first few are printed to stderr). */
size_t tu_code_round_trip_failures(bb_format_id f, size_t k);

#endif
