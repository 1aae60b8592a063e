/*
 * kernels/x86/ternary_lut.h - internal to the ternary table-lookup kernels
 * (tern2_avx2_lut.c, tern2_avx512_lut.c, tern1_6_avx2_lut.c, tern1_6_avx512_lut.c) and their
 * test: the scalar, ISA-free parts they share.
 *
 * Method (T-MAC, Wei et al. 2024; bitnet.cpp TL1/TL2): a group of g consecutive ternary
 * weights w_0..w_{g-1} against int8 activations x_0..x_{g-1} contributes sum_i w_i x_i,
 * one of 3^g values that depend on the activations only.  Per token the kernel tabulates
 * them for every group of activations once (the table build, in prepare_act), and the
 * weights, repacked into table indices, select entries: one lookup replaces g sign-selected
 * adds, and the hot loop has no multiply.  The entries are exact int16 sums (|sum| <= 127 g),
 * so every kernel reproduces the reference's integer dot product, hence its y, bit for bit.
 *
 * Two index codes are used (c = weight code 0, 1, 2 standing for -1, 0, +1):
 *   plain:    i = sum_t c_t 3^(g-1-t), i in 0 .. 3^g - 1, table entry sum_t (c_t - 1) x_t.
 *   balanced: v = sum_t (c_t - 1) 3^(g-1-t) in -(3^g-1)/2 .. (3^g-1)/2, a balanced-ternary
 *             number; stored as a magnitude |v| and a sign.  The pattern of -v is the
 *             negated pattern of v, so its sum is the negated sum: a table of the
 *             (3^g+1)/2 magnitudes (14 for g = 3, TL2's "sign + 4-bit index") and a sign
 *             applied after the lookup cover all 3^g patterns.
 */
#ifndef BITBENCH_X86_TERNARY_LUT_H
#define BITBENCH_X86_TERNARY_LUT_H

#include "../kernel.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

enum { TLUT_CODE_NEG = 0, TLUT_CODE_ZERO = 1, TLUT_CODE_POS = 2 };

/* Beyond this k an int32 accumulator of +-127 terms could overflow (as in the reference). */
#define TLUT_MAX_K ((size_t)(INT32_MAX / 127))

static inline void tlut_check_k(const char *kernel, size_t k)
{
    if (k > TLUT_MAX_K) {
        fprintf(stderr, "%s: k = %zu would overflow the int32 accumulator; accepted k <= %zu\n",
                kernel, k, TLUT_MAX_K);
        abort();
    }
}

/* Codes 0..2 of weights 0 .. len-1 of row r of a canonical tern2 or tern1.6 matrix (the
 * layouts of kernels/ref/ternary.c), the zero code beyond k.  Decoded from the packed
 * bytes directly: repack runs over every weight of gigabyte-sized rotations. */
static inline void tlut_row_codes(const bb_weights *w, size_t r, uint8_t *codes, size_t len)
{
    const uint8_t *row = w->data + r * w->row_bytes;
    int base3 = w->format == BB_FMT_TERN1_6;
    size_t block = base3 ? 320 : 256, n = w->k < len ? w->k : len;
    for (size_t b0 = 0; b0 < n; b0 += block, row += 64)
        for (size_t j = 0; j < 64; j++) {
            unsigned bits = row[j];
            for (size_t i = b0 + j; i < b0 + block; i += 64) {
                unsigned code;
                if (base3) { /* trit t: v = byte * 3^t mod 256, code = (3 v) >> 8 */
                    unsigned v3 = bits * 3u;
                    code = v3 >> 8;
                    bits = v3 & 0xffu;
                } else {
                    code = bits & 3u;
                    bits >>= 2;
                }
                if (i < n)
                    codes[i] = (uint8_t)code;
            }
        }
    for (size_t i = n; i < len; i++)
        codes[i] = TLUT_CODE_ZERO;
}

/* Plain index of g codes: sum_t c_t 3^(g-1-t). */
static inline unsigned tlut_plain_index(const uint8_t *c, unsigned g)
{
    unsigned i = 0;
    for (unsigned t = 0; t < g; t++)
        i = i * 3 + c[t];
    return i;
}

/* Digit t (0 = most significant) of plain index i of g codes, as a weight -1, 0, +1. */
static inline int tlut_plain_digit(unsigned i, unsigned g, unsigned t)
{
    for (unsigned s = t + 1; s < g; s++)
        i /= 3;
    return (int)(i % 3) - 1;
}

/* Balanced index of g codes: *neg = 1 when v < 0; returns |v| in 0 .. (3^g - 1) / 2. */
static inline unsigned tlut_balanced_index(const uint8_t *c, unsigned g, unsigned *neg)
{
    int v = 0;
    for (unsigned t = 0; t < g; t++)
        v = v * 3 + (c[t] - 1);
    *neg = v < 0;
    return (unsigned)(v < 0 ? -v : v);
}

/* Digit t (0 = most significant) of the g-digit balanced-ternary number m >= 0, as a
 * weight -1, 0, +1: the pattern whose sum table entry m holds. */
static inline int tlut_balanced_digit(unsigned m, unsigned g, unsigned t)
{
    int v = (int)m, d = 0;
    for (unsigned s = g; s-- > t;) {
        int r = v % 3; /* v >= 0 stays true: digits -1 borrow from the next one */
        d = r == 2 ? -1 : r;
        v = (v - d) / 3;
    }
    return d;
}

#endif
