/*
 * kernels/formats.c - the format table: one row per weight format.  The functions live
 * in kernels/ref/<format>.c; the layouts are described there and in README.md.
 */
#include "ref/ref.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define FORMAT_FUNCS(f)                                                                    \
    .quantize = bb_##f##_quantize, .get_code = bb_##f##_get_code,                          \
    .set_code = bb_##f##_set_code, .code_value = bb_##f##_code_value,                      \
    .opcount = bb_##f##_opcount

const bb_format bb_formats[BB_FMT_COUNT] = {
    [BB_FMT_FP16] = {.id = BB_FMT_FP16, .name = "fp16", .family = "fp16",
                     .summary = "IEEE binary16 weights, fp32 activations and accumulation",
                     .block = 32, .block_bytes = 64, .n_codes = 65536, .zero_code = 0,
                     .act = BB_ACT_F32, .scale = BB_SCALE_NONE, 
                     .max_k = SIZE_MAX, .max_k_why = "fp32 accumulation: no K limit of its own",
                     FORMAT_FUNCS(fp16)},
    [BB_FMT_INT8] = {.id = BB_FMT_INT8, .name = "int8", .family = "int8",
                     .summary = "W8A8: int8 absmax weights per row, int8 absmax activations",
                     .block = 64, .block_bytes = 64, .n_codes = 255, .zero_code = 127,
                     .act = BB_ACT_Q8, .scale = BB_SCALE_PER_ROW, 
                     .max_k = BB_INT8_MAX_K, .max_k_why = "int32 accumulator of K products of int8 weights and activations, |127 x 127| each",
                     FORMAT_FUNCS(int8)},
    [BB_FMT_POT4] = {.id = BB_FMT_POT4, .name = "pot4", .family = "pot",
                     .summary = "power-of-two weights, 4 bits: sign + 3-bit exponent code, per-row scale",
                     .block = 128, .block_bytes = 64, .n_codes = 16, .zero_code = 0,
                     .act = BB_ACT_Q8, .scale = BB_SCALE_PER_ROW, 
                     .max_k = BB_POT4_MAX_K, .max_k_why = "int32 accumulator of K terms |127 << 6| (activation shifted by up to 6)",
                     FORMAT_FUNCS(pot4)},
    [BB_FMT_POT5] = {.id = BB_FMT_POT5, .name = "pot5", .family = "pot",
                     .summary = "power-of-two weights, 5 bits: sign + 4-bit exponent code, per-row scale",
                     .block = 128, .block_bytes = 80, .n_codes = 32, .zero_code = 0,
                     .act = BB_ACT_Q8, .scale = BB_SCALE_PER_ROW, 
                     .max_k = BB_Q8_MAX_K, .max_k_why = "int32 sum of the K int8 activations (the accumulator is int64)",
                     FORMAT_FUNCS(pot5)},
    [BB_FMT_POT6] = {.id = BB_FMT_POT6, .name = "pot6", .family = "pot",
                     .summary = "power-of-two weights, 6 bits: sign + 5-bit exponent code, per-row scale",
                     .block = 128, .block_bytes = 96, .n_codes = 64, .zero_code = 0,
                     .act = BB_ACT_Q8, .scale = BB_SCALE_PER_ROW, 
                     .max_k = BB_Q8_MAX_K, .max_k_why = "int32 sum of the K int8 activations (the accumulator is int64)",
                     FORMAT_FUNCS(pot6)},
    [BB_FMT_TERN2] = {.id = BB_FMT_TERN2, .name = "tern2", .family = "ternary",
                      .summary = "BitNet b1.58 absmean ternary, 2 bits per weight, one scale per matrix",
                      .block = 256, .block_bytes = 64, .n_codes = 3, .zero_code = 1,
                      .act = BB_ACT_Q8, .scale = BB_SCALE_PER_MATRIX, 
                     .max_k = BB_Q8_MAX_K, .max_k_why = "int32 accumulator of K terms |127|",
                     FORMAT_FUNCS(tern2)},
    [BB_FMT_TERN1_6] = {.id = BB_FMT_TERN1_6, .name = "tern1.6", .family = "ternary",
                        .summary = "BitNet b1.58 absmean ternary, 5 trits per byte (1.6 bits), one scale per matrix",
                        .block = 320, .block_bytes = 64, .n_codes = 3, .zero_code = 1,
                        .act = BB_ACT_Q8, .scale = BB_SCALE_PER_MATRIX, 
                     .max_k = BB_Q8_MAX_K, .max_k_why = "int32 accumulator of K terms |127|",
                     FORMAT_FUNCS(tern1_6)},
};

const bb_format *bb_format_get(bb_format_id id)
{
    return (unsigned)id < BB_FMT_COUNT ? &bb_formats[id] : NULL;
}

const bb_format *bb_format_find(const char *name)
{
    for (int i = 0; i < BB_FMT_COUNT; i++)
        if (strcmp(bb_formats[i].name, name) == 0)
            return &bb_formats[i];
    return NULL;
}

/* The limits of kernel.h ("shape limits"), checked in an order that keeps every product
 * below 2^64: K first (a K beyond 2^44 would already overflow X's byte count), then each
 * buffer with an overflow-checked multiply. */
static bool over(uint64_t a, uint64_t b, uint64_t limit)
{
    uint64_t p;
    return __builtin_mul_overflow(a, b, &p) || p > limit;
}

int bb_shape_check(bb_format_id id, size_t m, size_t k, size_t n, char *err, size_t errlen)
{
    const bb_format *f = bb_format_get(id);
    const uint64_t cap = BB_MAX_BUFFER_BYTES;
    if (!f) {
        snprintf(err, errlen, "format %d is not in the format table", (int)id);
        return -1;
    }
    if (m == 0 || k == 0 || n == 0) {
        snprintf(err, errlen, "%s: m = %zu, k = %zu, n = %zu: every dimension must be at least 1",
                 f->name, m, k, n);
        return -1;
    }
    if (k > f->max_k) {
        snprintf(err, errlen, "%s: k = %zu is above its limit; accepted k <= %zu (%s)", f->name, k,
                 f->max_k, f->max_k_why);
        return -1;
    }
    if (k > cap / sizeof(float) - 4096) {
        snprintf(err, errlen, "%s: k = %zu: one token's activations alone exceed 2^46 bytes (64 TiB, "
                              "the largest buffer bitbench allocates); accepted k <= %" PRIu64,
                 f->name, k, cap / sizeof(float) - 4096);
        return -1;
    }
    uint64_t row_bytes = (k + f->block - 1) / f->block * f->block_bytes;
    uint64_t x_row = bb_k_stride(k) * sizeof(float);
    if (over(m, row_bytes, cap) || over(m, sizeof(float), cap)) {
        snprintf(err, errlen, "%s: m = %zu: the packed %zu x %zu weights exceed 2^46 bytes (64 TiB, the "
                              "largest buffer bitbench allocates); accepted m <= %" PRIu64 " for this k",
                 f->name, m, m, k, cap / row_bytes);
        return -1;
    }
    if (over(n, x_row, cap)) {
        snprintf(err, errlen, "%s: n = %zu: the activations (%zu tokens x %" PRIu64 " bytes) exceed 2^46 "
                              "bytes (64 TiB, the largest buffer bitbench allocates); accepted n <= %" PRIu64
                              " for this k", f->name, n, n, x_row, cap / x_row);
        return -1;
    }
    if (over((uint64_t)m * sizeof(float), n, cap)) {
        snprintf(err, errlen, "%s: m = %zu, n = %zu: the output (m x n floats) exceeds 2^46 bytes (64 TiB, "
                              "the largest buffer bitbench allocates); accepted n <= %" PRIu64 " for this m",
                 f->name, m, n, cap / ((uint64_t)m * sizeof(float)));
        return -1;
    }
    uint64_t mk, mkn;
    if (__builtin_mul_overflow((uint64_t)m, (uint64_t)k, &mk) ||
        __builtin_mul_overflow(mk, (uint64_t)n, &mkn) || mkn > UINT64_MAX / 2) {
        snprintf(err, errlen, "%s: m x k x n = %zu x %zu x %zu: the work 2 m k n does not fit 64 bits; "
                              "accepted n <= %" PRIu64 " for this m and k",
                 f->name, m, k, n, UINT64_MAX / 2 / mk);
        return -1;
    }
    return 0;
}
