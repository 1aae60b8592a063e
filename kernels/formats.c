/*
 * kernels/formats.c - the format table: one row per weight format.  The functions live
 * in kernels/ref/<format>.c; the layouts are described there and in README.md.
 */
#include "ref/ref.h"

#include <string.h>

#define FORMAT_FUNCS(f)                                                                    \
    .quantize = bb_##f##_quantize, .get_code = bb_##f##_get_code,                          \
    .set_code = bb_##f##_set_code, .code_value = bb_##f##_code_value,                      \
    .opcount = bb_##f##_opcount

const bb_format bb_formats[BB_FMT_COUNT] = {
    [BB_FMT_FP16] = {.id = BB_FMT_FP16, .name = "fp16", .family = "fp16",
                     .summary = "IEEE binary16 weights, fp32 activations and accumulation",
                     .block = 32, .block_bytes = 64, .n_codes = 65536, .zero_code = 0,
                     .act = BB_ACT_F32, .scale = BB_SCALE_NONE, FORMAT_FUNCS(fp16)},
    [BB_FMT_INT8] = {.id = BB_FMT_INT8, .name = "int8", .family = "int8",
                     .summary = "W8A8: int8 absmax weights per row, int8 absmax activations",
                     .block = 64, .block_bytes = 64, .n_codes = 255, .zero_code = 127,
                     .act = BB_ACT_Q8, .scale = BB_SCALE_PER_ROW, FORMAT_FUNCS(int8)},
    [BB_FMT_POT4] = {.id = BB_FMT_POT4, .name = "pot4", .family = "pot",
                     .summary = "power-of-two weights, 4 bits: sign + 3-bit exponent code, per-row scale",
                     .block = 128, .block_bytes = 64, .n_codes = 16, .zero_code = 0,
                     .act = BB_ACT_Q8, .scale = BB_SCALE_PER_ROW, FORMAT_FUNCS(pot4)},
    [BB_FMT_POT5] = {.id = BB_FMT_POT5, .name = "pot5", .family = "pot",
                     .summary = "power-of-two weights, 5 bits: sign + 4-bit exponent code, per-row scale",
                     .block = 128, .block_bytes = 80, .n_codes = 32, .zero_code = 0,
                     .act = BB_ACT_Q8, .scale = BB_SCALE_PER_ROW, FORMAT_FUNCS(pot5)},
    [BB_FMT_POT6] = {.id = BB_FMT_POT6, .name = "pot6", .family = "pot",
                     .summary = "power-of-two weights, 6 bits: sign + 5-bit exponent code, per-row scale",
                     .block = 128, .block_bytes = 96, .n_codes = 64, .zero_code = 0,
                     .act = BB_ACT_Q8, .scale = BB_SCALE_PER_ROW, FORMAT_FUNCS(pot6)},
    [BB_FMT_TERN2] = {.id = BB_FMT_TERN2, .name = "tern2", .family = "ternary",
                      .summary = "BitNet b1.58 absmean ternary, 2 bits per weight, one scale per matrix",
                      .block = 256, .block_bytes = 64, .n_codes = 3, .zero_code = 1,
                      .act = BB_ACT_Q8, .scale = BB_SCALE_PER_MATRIX, FORMAT_FUNCS(tern2)},
    [BB_FMT_TERN1_6] = {.id = BB_FMT_TERN1_6, .name = "tern1.6", .family = "ternary",
                        .summary = "BitNet b1.58 absmean ternary, 5 trits per byte (1.6 bits), one scale per matrix",
                        .block = 320, .block_bytes = 64, .n_codes = 3, .zero_code = 1,
                        .act = BB_ACT_Q8, .scale = BB_SCALE_PER_MATRIX, FORMAT_FUNCS(tern1_6)},
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
