/*
 * kernels/ref/pot.c - power-of-two weights with b = 4, 5 or 6 bits (pot4, pot5, pot6):
 * quantizer, block packing and the scalar reference GEMM, whose dot product is shifts
 * and adds only.  One implementation parameterized by b; the bb_pot<b>_* functions and
 * bb_kernel_pot<b>_scalar_ref at the bottom are thin wrappers.
 *
 * Code (b bits) = sign << (b-1) | ecode.  ecode 0: the weight is 0 (a code with ecode 0
 * and sign 1 also decodes to 0; the quantizer writes sign 0).  ecode c >= 1: magnitude
 * 2^-(c-1) relative to the row's absmax, i.e. exponent e = c - 1 in 0 .. emax with
 * emax = 2^(b-1) - 2 (pot4 6, pot5 14, pot6 30).
 *
 * Rounding (DeepShift-Q; Elgenedy, arXiv 2506.00315): per row amax = max |w|; for each
 * weight r = |w| / amax in (0, 1] and e = floor(-log2(r) + 0.5), the nearest exponent
 * in the log domain: r goes to 2^-e when 2^-(e+0.5) < r <= 2^-(e-0.5).  The boundaries
 * are geometric midpoints (0.75 -> 1, 0.70 -> 0.5), irrational, so no ratio ever ties.
 * e is decided exactly on the exact ratio |w| / amax - not on a rounded float quotient
 * and not with libm's log2, so the result depends on neither:
 *     r > 2^-(e+0.5)  <=>  |w|^2 * 2^(2e+1) > amax^2,
 * where the square of a float is exact in double and the power of two stays in range.
 * Clipping of the exponent range: e < 0 cannot happen (r <= 1).  When e > emax the
 * weight becomes 0 if r < 2^-(emax+1) (nearer to 0 than to the smallest level 2^-emax),
 * else e = emax; so r = 2^-(emax+1) exactly maps to emax.
 * Row scale = ldexpf(amax, -emax) (exact unless amax is within 2^emax of the float
 * subnormal range), so that w ~= scale * sign * 2^(emax - e), code_value(code) =
 * sign * 2^(emax - e), and the integer dot is acc = sum of +-(q_x << (emax - e)) over the
 * nonzero weights.  All-zero row: scale 0, every code 0.
 * Non-finite weights (the harness feeds none): amax is taken over the finite weights;
 * NaN becomes 0; +-inf clips to +-amax (e = 0), or to 0 in a row without a finite
 * nonzero weight.
 *
 * Overflow: |q_x| <= 127 < 2^7 and the shift emax - e <= emax, so every term is below
 * 2^(7+emax) in magnitude, and with K <= 65536 = 2^16 terms |acc| < 2^(23+emax):
 * pot4 (emax 6) < 2^29 fits int32; pot5 (< 2^37) and pot6 (< 2^53) need int64.
 * tests/test_pot.c runs K = 65536 with every term at its largest.
 * pot4: y = bb_rescale_i32(acc, scale, act scale); pot5, pot6: bb_rescale_i64.
 *
 * Block: 128 weights in 16 * b bytes (64 / 80 / 96); row padding holds code 0.
 *   bytes 0..63   low nibble of byte j = code bits 0..3 of weight j, high nibble = code
 *                 bits 0..3 of weight j + 64;
 *   pot5 64..79   bit (j % 8) of byte 64 + j / 8 = code bit 4 of weight j (j = 0..127);
 *   pot6 64..95   bits 2i..2i+1 of byte 64 + j = code bits 4..5 of weight j + 32 i
 *                 (j = 0..31, i = 0..3).
 *
 * Op-count model (conventions shared by all formats): per weight-token pair over the K
 * real weights of a row (padding excluded; a zero weight is counted as an add of 0, so
 * the count does not depend on the data) 1 shift and 1 int_add; per output 1 cvt and
 * 2 fp32_mul (the rescale); plus the activation quantization (bb_act_q8_opcount).
 * Decoding a code from its bit planes (masks and plane shifts) is not counted, as the
 * other formats do not count their unpacking.
 */
#include "ref.h"

#include <math.h>
#include <string.h>

enum { POT_BLOCK = 128 };

static unsigned pot_emax(int bits) { return (1u << (bits - 1)) - 2; }
static size_t pot_block_bytes(int bits) { return (size_t)bits << 4; } /* 128 * bits / 8 */
static unsigned pot_ecode_mask(int bits) { return (1u << (bits - 1)) - 1; }

/* ------------------------------------------------------------------ packing */

/* Code of weight j (0..127) of the block at blk: shifts and masks only, because the
 * reference dot loop calls it and must stay multiply-free. */
static inline unsigned pot_block_code(const uint8_t *blk, unsigned j, int bits)
{
    unsigned code = (unsigned)(blk[j & 63] >> ((j >> 6) << 2)) & 15u;
    if (bits == 5)
        code |= ((unsigned)(blk[64 + (j >> 3)] >> (j & 7)) & 1u) << 4;
    else if (bits == 6)
        code |= ((unsigned)(blk[64 + (j & 31)] >> ((j >> 5) << 1)) & 3u) << 4;
    return code;
}

/* Replace the bits selected by mask << shift in *byte with value << shift. */
static void put_bits(uint8_t *byte, unsigned shift, unsigned mask, unsigned value)
{
    *byte = (uint8_t)((*byte & ~(mask << shift)) | ((value & mask) << shift));
}

static void pot_block_set_code(uint8_t *blk, unsigned j, int bits, unsigned code)
{
    put_bits(&blk[j & 63], (j >> 6) << 2, 15u, code);
    if (bits == 5)
        put_bits(&blk[64 + (j >> 3)], j & 7, 1u, code >> 4);
    else if (bits == 6)
        put_bits(&blk[64 + (j & 31)], (j >> 5) << 1, 3u, code >> 4);
}

static uint8_t *pot_block_of(const bb_weights *w, size_t row, size_t i, int bits)
{
    return w->data + row * w->row_bytes + i / POT_BLOCK * pot_block_bytes(bits);
}

static uint32_t pot_get_code(const bb_weights *w, size_t row, size_t i, int bits)
{
    return pot_block_code(pot_block_of(w, row, i, bits), (unsigned)(i % POT_BLOCK), bits);
}

static void pot_set_code(bb_weights *w, size_t row, size_t i, uint32_t code, int bits)
{
    pot_block_set_code(pot_block_of(w, row, i, bits), (unsigned)(i % POT_BLOCK), bits, code);
}

static double pot_code_value(uint32_t code, int bits)
{
    unsigned ecode = code & pot_ecode_mask(bits);
    if (ecode == 0)
        return 0.0;
    double magnitude = ldexp(1.0, (int)(pot_emax(bits) + 1 - ecode));
    return (code >> (bits - 1)) & 1u ? -magnitude : magnitude;
}

/* ------------------------------------------------------------------ quantizer */

/* floor(-log2(a / amax) + 0.5) for 0 < a <= amax, both finite, decided exactly (see the
 * top of the file).  The exponents of a and amax give e with -log2(a / amax) in
 * (e - 1, e + 1); one exact comparison moves it to the right neighbour if needed.
 * Range: a^2 >= 2^-298 and every scaled square stays within a factor 8 of amax^2 <=
 * 2^256, so the double products and ldexp are exact. */
static int pot_round_log2(float a, float amax)
{
    double a2 = (double)a * a, amax2 = (double)amax * amax;
    int exp_a, exp_amax;
    frexpf(a, &exp_a);
    frexpf(amax, &exp_amax);
    int e = exp_amax - exp_a;
    if (ldexp(a2, 2 * e - 1) > amax2)        /* r > 2^-(e-0.5): rounds to e - 1 */
        e--;
    else if (!(ldexp(a2, 2 * e + 1) > amax2)) /* r <= 2^-(e+0.5): rounds to e + 1 */
        e++;
    return e;
}

/* The code of one weight of a row whose (finite) absmax is amax > 0. */
static unsigned pot_quantize_weight(float w, float amax, int bits)
{
    float a = fabsf(w);
    int emax = (int)pot_emax(bits), e = 0;
    if (!(a > 0.0f)) /* zero or NaN */
        return 0;
    if (!isinf(a)) {
        e = pot_round_log2(a, amax);
        if (e > emax) {
            if (ldexp((double)a, emax + 1) < (double)amax) /* r < 2^-(emax+1) */
                return 0;
            e = emax;
        }
    }
    return (signbit(w) ? 1u << (bits - 1) : 0u) | (unsigned)(e + 1);
}

static float pot_row_absmax(const float *w, size_t k)
{
    float amax = 0.0f;
    for (size_t i = 0; i < k; i++) {
        float a = fabsf(w[i]);
        if (isfinite(a) && a > amax)
            amax = a;
    }
    return amax;
}

static void pot_quantize(const float *w, bb_weights *out, int bits)
{
    memset(out->data, 0, out->m * out->row_bytes); /* code 0 everywhere, padding included */
    for (size_t r = 0; r < out->m; r++) {
        const float *row = w + r * out->k;
        float amax = pot_row_absmax(row, out->k);
        out->scales[r] = ldexpf(amax, -(int)pot_emax(bits));
        if (amax == 0.0f)
            continue;
        for (size_t i = 0; i < out->k; i++)
            pot_set_code(out, r, i, pot_quantize_weight(row[i], amax, bits), bits);
    }
}

/* ------------------------------------------------------------------ reference kernel */

/* One weight's term +-(q << (emax - e)), or 0 for ecode 0, as a two's complement bit
 * pattern modulo 2^64.  Negation by xor-and-subtract and zeroing by a mask keep it free
 * of branches and multiplies, and the shift acts on an unsigned value (shifting a
 * negative signed value left is undefined in C).  The truncation to 32 bits that pot4
 * applies commutes with all of it. */
static inline uint64_t pot_term(unsigned code, int8_t q, int bits)
{
    unsigned ecode = code & pot_ecode_mask(bits);
    uint64_t negate = 0 - (uint64_t)(code >> (bits - 1)); /* all ones for a negative weight */
    uint64_t keep = 0 - (uint64_t)(ecode != 0);
    uint64_t shifted = (uint64_t)(int64_t)q << (pot_emax(bits) + 1 - ecode);
    return ((shifted ^ negate) - negate) & keep;
}

/* Two's complement patterns back to signed values without an implementation-defined
 * conversion. */
static inline int32_t pot_signed32(uint32_t u)
{
    return u <= INT32_MAX ? (int32_t)u : -(int32_t)~u - 1;
}
static inline int64_t pot_signed64(uint64_t u)
{
    return u <= INT64_MAX ? (int64_t)u : -(int64_t)~u - 1;
}

/* The hot loops: one packed row against one token's K int8 activations.  Not inlined,
 * so that `make check-addonly` can disassemble them (the kernels' hot_symbol): pointers
 * walk the row and the activations, so not even indexing multiplies.  The accumulator
 * is unsigned (wrap-around is defined) of the width the overflow proof asks for. */
#define POT_REF_DOT(bits, acc_type, uacc_type, to_signed)                                       \
    __attribute__((noinline)) acc_type bb_pot##bits##_ref_dot(const uint8_t *wrow,            \
                                                              const int8_t *q, size_t k);      \
    __attribute__((noinline)) acc_type bb_pot##bits##_ref_dot(const uint8_t *wrow,            \
                                                              const int8_t *q, size_t k)       \
    {                                                                                           \
        uacc_type acc = 0;                                                                      \
        const int8_t *q_end = q + k;                                                            \
        for (; q < q_end; wrow += pot_block_bytes(bits)) {                                      \
            const int8_t *block_end = (size_t)(q_end - q) > POT_BLOCK ? q + POT_BLOCK : q_end;  \
            for (unsigned j = 0; q < block_end; j++, q++) {                                     \
                BB_COUNT(shift, 1);                                                             \
                BB_COUNT(int_add, 1);                                                           \
                acc += (uacc_type)pot_term(pot_block_code(wrow, j, bits), *q, bits);            \
            }                                                                                   \
        }                                                                                       \
        return to_signed(acc);                                                                  \
    }

POT_REF_DOT(4, int32_t, uint32_t, pot_signed32)
POT_REF_DOT(5, int64_t, uint64_t, pot_signed64)
POT_REF_DOT(6, int64_t, uint64_t, pot_signed64)

/* Rows outside, tokens inside: a row stays in cache while every token passes over it. */
static void pot_gemm_rows(const bb_gemm_args *a, size_t r0, size_t r1, int bits)
{
    const bb_weights *w = a->w;
    bb_act_q8 act = bb_act_q8_view(a->act, w->k, a->n);
    for (size_t r = r0; r < r1; r++) {
        const uint8_t *wrow = (const uint8_t *)a->layout + r * w->row_bytes;
        float row_scale = bb_row_scale(w, r);
        for (size_t t = 0; t < a->n; t++) {
            const int8_t *q = act.q + t * act.k_stride;
            float y;
            if (bits == 4)
                y = bb_rescale_i32(bb_pot4_ref_dot(wrow, q, w->k), row_scale, act.scale[t]);
            else if (bits == 5)
                y = bb_rescale_i64(bb_pot5_ref_dot(wrow, q, w->k), row_scale, act.scale[t]);
            else
                y = bb_rescale_i64(bb_pot6_ref_dot(wrow, q, w->k), row_scale, act.scale[t]);
            BB_COUNT(cvt, 1);
            BB_COUNT(fp32_mul, 2);
            a->y[t * a->y_stride + r] = y;
        }
    }
}

static void pot_opcount(size_t m, size_t k, size_t n, bb_opcount *out)
{
    uint64_t pairs = (uint64_t)m * k * n, outputs = (uint64_t)m * n;
    bb_act_q8_opcount(k, n, out);
    out->shift += pairs;
    out->int_add += pairs;
    out->cvt += outputs;
    out->fp32_mul += 2 * outputs;
}

/* ------------------------------------------------------------------ the three formats */

#define POT_FORMAT(bits)                                                                        \
    void bb_pot##bits##_quantize(const float *w, bb_weights *out) { pot_quantize(w, out, bits); } \
    uint32_t bb_pot##bits##_get_code(const bb_weights *w, size_t row, size_t i)               \
    {                                                                                           \
        return pot_get_code(w, row, i, bits);                                                   \
    }                                                                                           \
    void bb_pot##bits##_set_code(bb_weights *w, size_t row, size_t i, uint32_t code)          \
    {                                                                                           \
        pot_set_code(w, row, i, code, bits);                                                    \
    }                                                                                           \
    double bb_pot##bits##_code_value(uint32_t code) { return pot_code_value(code, bits); }      \
    void bb_pot##bits##_opcount(size_t m, size_t k, size_t n, bb_opcount *out)                \
    {                                                                                           \
        pot_opcount(m, k, n, out);                                                              \
    }                                                                                           \
    static void pot##bits##_gemm_rows(const bb_gemm_args *a, size_t r0, size_t r1)            \
    {                                                                                           \
        pot_gemm_rows(a, r0, r1, bits);                                                         \
    }                                                                                           \
    const bb_kernel bb_kernel_pot##bits##_scalar_ref = {                                        \
        .name = "pot" #bits "-scalar-ref",                                                      \
        .format = BB_FMT_POT##bits,                                                             \
        .method = "ref",                                                                        \
        .isa = BB_ISA_SCALAR,                                                                   \
        .needs = 0,                                                                             \
        .priority = 0,                                                                          \
        .multiply_free = true,                                                                  \
        .hot_symbol = "bb_pot" #bits "_ref_dot",                                                \
        .row_block = 1,                                                                         \
        .act_bytes = bb_act_q8_ref_bytes,                                                       \
        .prepare_act = bb_act_q8_ref_prepare,                                                   \
        .gemm_rows = pot##bits##_gemm_rows,                                                     \
    };

POT_FORMAT(4)
POT_FORMAT(5)
POT_FORMAT(6)
