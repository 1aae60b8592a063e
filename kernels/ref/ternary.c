/*
 * kernels/ref/ternary.c - BitNet b1.58 ternary weights {-1, 0, +1} with one scale per
 * matrix, int8 absmax activations (act_q8.c), and a dot product made of additions and
 * subtractions only.  Two packings of the same codes, each its own format: tern2 (2 bits
 * per weight) and tern1.6 (5 trits per byte, 1.6 bits per weight).
 *
 * Quantizer (absmean; Ma et al., "The Era of 1-bit LLMs: All Large Language Models are in
 * 1.58 Bits", arXiv 2402.17764, eqs. 1-3), shared by both formats:
 *   gamma = (1 / (m k)) sum_ij |W_ij|  over the whole matrix (not per row), summed in
 *           double, stored as float: the matrix's one scale;
 *   q_ij  = clip(rint((double)W_ij / ((double)gamma + eps)), -1, +1).
 * The quotient uses the STORED float gamma, so the codes can be re-derived from the
 * packed matrix alone.  rint in the default rounding mode rounds half to even: a weight
 * at exactly gamma/2 becomes 0, one at exactly 3 gamma/2 becomes 2 and clips to 1.
 * eps = 1e-5: the paper writes "gamma + eps" without a value; 1e-5 is the floor the public
 * BitNet b1.58 training code clamps the mean to.  Adding it (the paper's form) rather than
 * clamping changes a quotient by a relative 1e-5 / gamma at most, and makes the all-zero
 * matrix need no special case: gamma = 0, every quotient 0 / 1e-5 = 0, every weight 0.
 * Non-finite weights are outside the contract (the harness feeds finite data): they make
 * gamma non-finite, a NaN quotient falls through the clip to the zero code, and every output
 * of the matrix is then non-finite - visibly wrong, never plausibly wrong.
 *
 * Codes: c = q + 1 (0 is -1, 1 is 0, 2 is +1); the zero code 1 fills row padding.
 * A row is k_padded = round_up(k, block) weights in blocks of 64 bytes; in both layouts
 * byte j (0..63) of a block holds weights j, j + 64, j + 128, ... of that block, so one
 * 64-byte load serves 64 consecutive activations per lane in a SIMD kernel.
 *   tern2 (block 256): bits 2i..2i+1 of byte j = c of weight j + 64 i, i = 0..3.
 *   tern1.6 (block 320): byte j holds c_t of weights j + 64 t, t = 0..4, as the base-3
 *     number n = sum_t c_t 3^(4-t) (c_0 most significant, n in 0..242), stored as
 *     byte = ceil(n * 256 / 243) = (n * 256 + 242) / 243.
 *
 * Why that tern1.6 byte: byte / 256 is a fixed-point fraction just above n / 243, whose
 * base-3 digits are c_0 c_1 c_2 c_3 c_4.  Multiplying a fraction by 3 moves its leading
 * trit into the integer part, so trit t is read as: v = byte * 3^t mod 256 (the fraction
 * with t trits shifted out), c_t = (v * 3) >> 8 (the next integer part).  Times 3 is
 * (v << 1) + v, so decoding takes shifts and adds only - no division by powers of 3 as a
 * plain n would need.  Rounding UP matters: a truncated byte sits just below n / 243 and
 * a trailing trit would read one too low.  Rounded up, the byte exceeds n / 243 by
 * e = d / (243 * 256), d <= 242; step t multiplies e by 3, and every trit reads right as
 * long as 3^5 e < 1, which holds since 243 d < 243 * 256.  The tests check the decode
 * for all 243 values of n.
 *
 * Reference dot: acc = sum of +q_x where c = 2 and -q_x where c = 0, in int32;
 * y = bb_rescale_i32(acc, gamma, act scale).  Overflow: |acc| <= 127 k, and
 * 127 k <= INT32_MAX for k <= TERN_MAX_K = 16 909 320; for the suite's largest K, 65536,
 * |acc| <= 8 323 072 < 2^23, so even (float)acc in the rescale is exact.  Beyond
 * TERN_MAX_K the kernel refuses the shape rather than compute it wrongly.
 */
#include "ref.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TERN_EPS 1e-5
#define TERN_MAX_K BB_Q8_MAX_K

enum { TERN_CODE_NEG = 0, TERN_CODE_ZERO = 1, TERN_CODE_POS = 2 };
enum {
    TERN_BLOCK_BYTES = 64, /* byte j of a block holds weights j + 64 t */
    TERN2_BLOCK = 256,     /* 4 two-bit lanes per byte */
    TERN1_6_BLOCK = 320,   /* 5 trits per byte */
    TERN1_6_TRITS = 5,
};

/* ------------------------------------------------------------------ quantizer */

static float absmean_gamma(const float *w, size_t count)
{
    double sum = 0.0;
    for (size_t i = 0; i < count; i++)
        sum += fabs((double)w[i]);
    return (float)(sum / (double)count);
}

static uint8_t ternary_code(float w, float gamma)
{
    double q = rint((double)w / ((double)gamma + TERN_EPS));
    if (q >= 1.0)
        return TERN_CODE_POS;
    if (q <= -1.0)
        return TERN_CODE_NEG;
    return TERN_CODE_ZERO; /* also a NaN quotient */
}

/* Packs one block's codes (block entries, 0..2) into TERN_BLOCK_BYTES bytes. */
typedef void (*tern_pack_block_fn)(const uint8_t *codes, uint8_t *out);

static void ternary_quantize(const float *w, bb_weights *out, size_t block,
                             tern_pack_block_fn pack_block)
{
    uint8_t codes[TERN1_6_BLOCK]; /* the larger block */
    float gamma = absmean_gamma(w, out->m * out->k);
    out->scales[0] = gamma;
    for (size_t r = 0; r < out->m; r++) {
        const float *wr = w + r * out->k;
        uint8_t *dst = out->data + r * out->row_bytes;
        for (size_t b0 = 0; b0 < out->k_padded; b0 += block, dst += TERN_BLOCK_BYTES) {
            for (size_t o = 0; o < block; o++)
                codes[o] = b0 + o < out->k ? ternary_code(wr[b0 + o], gamma) : TERN_CODE_ZERO;
            pack_block(codes, dst);
        }
    }
}

/* ------------------------------------------------------------------ packing */

/* Multiplication by 3 as a shift and an add: the tern1.6 trit decode step. */
static inline unsigned times3(unsigned v) { return (v << 1) + v; }

static uint8_t tern1_6_encode(const unsigned c[TERN1_6_TRITS])
{
    unsigned n = 0;
    for (int t = 0; t < TERN1_6_TRITS; t++)
        n = n * 3 + c[t];
    return (uint8_t)((n * 256 + 242) / 243);
}

static void tern1_6_decode(uint8_t byte, unsigned c[TERN1_6_TRITS])
{
    unsigned v = byte;
    for (int t = 0; t < TERN1_6_TRITS; t++) {
        unsigned v3 = times3(v);
        c[t] = v3 >> 8;
        v = v3 & 0xffu;
    }
}

static void tern2_pack_block(const uint8_t *codes, uint8_t *out)
{
    for (int j = 0; j < TERN_BLOCK_BYTES; j++)
        out[j] = (uint8_t)(codes[j] | codes[j + 64] << 2 | codes[j + 128] << 4 | codes[j + 192] << 6);
}

static void tern1_6_pack_block(const uint8_t *codes, uint8_t *out)
{
    for (int j = 0; j < TERN_BLOCK_BYTES; j++) {
        unsigned c[TERN1_6_TRITS];
        for (int t = 0; t < TERN1_6_TRITS; t++)
            c[t] = codes[j + 64 * t];
        out[j] = tern1_6_encode(c);
    }
}

/* The byte holding weight (row, i), and which lane (tern2) or trit (tern1.6) of it. */
static uint8_t *code_byte(const bb_weights *w, size_t row, size_t i, size_t block, unsigned *lane)
{
    size_t in_block = i % block;
    *lane = (unsigned)(in_block / TERN_BLOCK_BYTES);
    return w->data + row * w->row_bytes + i / block * TERN_BLOCK_BYTES + in_block % TERN_BLOCK_BYTES;
}

static void check_code(const char *format, uint32_t code)
{
    if (code > TERN_CODE_POS) {
        fprintf(stderr, "%s set_code: code %u is not a ternary code; accepted 0, 1, 2\n", format,
                code);
        abort();
    }
}

static double ternary_code_value(uint32_t code)
{
    /* Only 2 and 0 are nonzero, exactly as the dot product reads them. */
    return code == TERN_CODE_POS ? 1.0 : code == TERN_CODE_NEG ? -1.0 : 0.0;
}

void bb_tern2_quantize(const float *w, bb_weights *out)
{
    ternary_quantize(w, out, TERN2_BLOCK, tern2_pack_block);
}

uint32_t bb_tern2_get_code(const bb_weights *w, size_t row, size_t i)
{
    unsigned lane;
    const uint8_t *byte = code_byte(w, row, i, TERN2_BLOCK, &lane);
    return (*byte >> (2 * lane)) & 3u;
}

void bb_tern2_set_code(bb_weights *w, size_t row, size_t i, uint32_t code)
{
    unsigned lane;
    uint8_t *byte = code_byte(w, row, i, TERN2_BLOCK, &lane);
    check_code("tern2", code);
    *byte = (uint8_t)((*byte & ~(3u << (2 * lane))) | code << (2 * lane));
}

double bb_tern2_code_value(uint32_t code) { return ternary_code_value(code); }

void bb_tern1_6_quantize(const float *w, bb_weights *out)
{
    ternary_quantize(w, out, TERN1_6_BLOCK, tern1_6_pack_block);
}

uint32_t bb_tern1_6_get_code(const bb_weights *w, size_t row, size_t i)
{
    unsigned trit, c[TERN1_6_TRITS];
    tern1_6_decode(*code_byte(w, row, i, TERN1_6_BLOCK, &trit), c);
    return c[trit];
}

void bb_tern1_6_set_code(bb_weights *w, size_t row, size_t i, uint32_t code)
{
    unsigned trit, c[TERN1_6_TRITS];
    uint8_t *byte = code_byte(w, row, i, TERN1_6_BLOCK, &trit);
    check_code("tern1.6", code);
    tern1_6_decode(*byte, c);
    c[trit] = code;
    *byte = tern1_6_encode(c);
}

double bb_tern1_6_code_value(uint32_t code) { return ternary_code_value(code); }

/* ------------------------------------------------------------------ op count */

/* Conventions shared by every format's model (see kernels/ref/act_q8.c too): the k real
 * weights of every row are counted, zero weights included ("an add of 0", as in the BitNet
 * energy model), so the count depends on the shape only.  Ternary per weight: 1 int_add
 * (a sign-selected add or subtract), no multiply; per output: the rescale, 1 cvt
 * (int -> float) and 2 fp32_mul; plus the activation quantization. */
static void ternary_opcount(size_t m, size_t k, size_t n, bb_opcount *out)
{
    uint64_t weights = (uint64_t)m * k * n, outputs = (uint64_t)m * n;
    bb_act_q8_opcount(k, n, out);
    out->int_add += weights;
    out->cvt += outputs;
    out->fp32_mul += 2 * outputs;
}

void bb_tern2_opcount(size_t m, size_t k, size_t n, bb_opcount *out)
{
    ternary_opcount(m, k, n, out);
}

void bb_tern1_6_opcount(size_t m, size_t k, size_t n, bb_opcount *out)
{
    ternary_opcount(m, k, n, out);
}

/* ------------------------------------------------------------------ reference kernels */

static inline int32_t ternary_accumulate(int32_t acc, unsigned code, int8_t x)
{
    if (code == TERN_CODE_POS)
        return acc + x;
    if (code == TERN_CODE_NEG)
        return acc - x;
    return acc; /* a zero weight: counted as an add of 0 */
}

/* The dot loop of both layouts over the k real weights of one packed row.  No multiply
 * anywhere, not even for addresses: pointers walk, tern2 lanes come out by shifts, tern1.6
 * trits by times3 (shift + add).  Inlined into one non-inlined function per layout, which
 * `make check-addonly` disassembles. */
static inline __attribute__((always_inline)) int32_t
ternary_dot(const uint8_t *wrow, const int8_t *xq, size_t k, size_t block, int base3)
{
    int32_t acc = 0;
    for (size_t left = k; left > 0;) {
        size_t in_block = left < block ? left : block;
        BB_COUNT(int_add, in_block);
        for (size_t j = 0; j < TERN_BLOCK_BYTES && j < in_block; j++) {
            unsigned bits = wrow[j];
            const int8_t *x = xq + j;
            for (size_t pos = j; pos < in_block; pos += TERN_BLOCK_BYTES, x += TERN_BLOCK_BYTES) {
                unsigned code;
                if (base3) {
                    unsigned v3 = times3(bits);
                    code = v3 >> 8;
                    bits = v3 & 0xffu;
                } else {
                    code = bits & 3u;
                    bits >>= 2;
                }
                acc = ternary_accumulate(acc, code, *x);
            }
        }
        wrow += TERN_BLOCK_BYTES;
        xq += block;
        left -= in_block;
    }
    return acc;
}

/* External, so that the symbol keeps its name (no .isra/.constprop clone of a static). */
int32_t bb_tern2_scalar_ref_dot(const uint8_t *wrow, const int8_t *xq, size_t k);
int32_t bb_tern1_6_scalar_ref_dot(const uint8_t *wrow, const int8_t *xq, size_t k);

__attribute__((noinline)) int32_t bb_tern2_scalar_ref_dot(const uint8_t *wrow, const int8_t *xq,
                                                          size_t k)
{
    return ternary_dot(wrow, xq, k, TERN2_BLOCK, 0);
}

__attribute__((noinline)) int32_t bb_tern1_6_scalar_ref_dot(const uint8_t *wrow,
                                                            const int8_t *xq, size_t k)
{
    return ternary_dot(wrow, xq, k, TERN1_6_BLOCK, 1);
}

typedef int32_t (*tern_dot_fn)(const uint8_t *wrow, const int8_t *xq, size_t k);

/* Rows outer, tokens inner: a packed row is read from memory once for all n tokens. */
static void ternary_gemm_rows(const bb_gemm_args *a, size_t r0, size_t r1, const char *name,
                              tern_dot_fn dot)
{
    const bb_weights *w = a->w;
    bb_act_q8 act = bb_act_q8_view(a->act, w->k, a->n);
    float gamma = w->scales[0];
    (void)name;
    assert(w->k <= TERN_MAX_K); /* internal misuse: bb_shape_check refuses such shapes first */
    for (size_t r = r0; r < r1; r++) {
        const uint8_t *wrow = (const uint8_t *)a->layout + r * w->row_bytes;
        for (size_t t = 0; t < a->n; t++) {
            int32_t acc = dot(wrow, act.q + t * act.k_stride, w->k);
            a->y[t * a->y_stride + r] = bb_rescale_i32(acc, gamma, act.scale[t]);
            BB_COUNT(cvt, 1);
            BB_COUNT(fp32_mul, 2);
        }
    }
}

static void tern2_scalar_ref_gemm_rows(const bb_gemm_args *a, size_t r0, size_t r1)
{
    ternary_gemm_rows(a, r0, r1, "tern2-scalar-ref", bb_tern2_scalar_ref_dot);
}

static void tern1_6_scalar_ref_gemm_rows(const bb_gemm_args *a, size_t r0, size_t r1)
{
    ternary_gemm_rows(a, r0, r1, "tern1.6-scalar-ref", bb_tern1_6_scalar_ref_dot);
}

const bb_kernel bb_kernel_tern2_scalar_ref = {
    .name = "tern2-scalar-ref",
    .format = BB_FMT_TERN2,
    .method = "ref",
    .isa = BB_ISA_SCALAR,
    .needs = 0,
    .priority = 0,
    .multiply_free = true,
    .hot_symbol = "bb_tern2_scalar_ref_dot",
    .row_block = 1,
    .act_bytes = bb_act_q8_ref_bytes,
    .prepare_act = bb_act_q8_ref_prepare,
    .gemm_rows = tern2_scalar_ref_gemm_rows,
};

const bb_kernel bb_kernel_tern1_6_scalar_ref = {
    .name = "tern1.6-scalar-ref",
    .format = BB_FMT_TERN1_6,
    .method = "ref",
    .isa = BB_ISA_SCALAR,
    .needs = 0,
    .priority = 0,
    .multiply_free = true,
    .hot_symbol = "bb_tern1_6_scalar_ref_dot",
    .row_block = 1,
    .act_bytes = bb_act_q8_ref_bytes,
    .prepare_act = bb_act_q8_ref_prepare,
    .gemm_rows = tern1_6_scalar_ref_gemm_rows,
};
