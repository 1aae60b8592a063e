/*
 * kernels/ref/fp16.c - IEEE binary16 weights, fp32 activations, fp32 accumulation: the
 * paper's baseline.  Also the portable fp32 <-> fp16 conversions every part of the
 * suite uses (they must not depend on F16C, which the scalar build never enables).
 *
 * Layout (block 32 weights = 64 bytes): row r at data + r * row_bytes holds k_padded
 * little-endian binary16 patterns; padding holds 0x0000 (+0).  No scale.
 * code = the 16-bit pattern, code_value = the half's value.
 *
 * Reference dot: acc = 0.0f; acc = acc + bb_fp16_to_fp32(w_i) * x_i for i = 0 .. k-1,
 * the multiply and the add rounded separately (no FMA: the references are built
 * without -mfma, and -std=c11 keeps floating-point contraction off).
 *
 * Error bound (Higham, Accuracy and Stability of Numerical Algorithms, 2nd ed., eq. 3.5):
 * with u = 2^-24 (fp32 unit roundoff) and gamma_k = k u / (1 - k u), the computed y
 * satisfies |y - sum_i w_i x_i| <= gamma_k * sum_i |w_i x_i|, where w_i is the half's
 * exact value (the conversion half -> float is exact), provided nothing overflows or
 * underflows.  tests/test_fp16.c holds the kernel to this bound.
 */
#include "ref.h"

#include <string.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "fp16 weights are stored little-endian and the reference reads them as uint16_t"
#endif

/* ------------------------------------------------------------------ conversions */

#define F32_SIGN 0x80000000u
#define F32_EXP_MASK 0x7f800000u
#define F32_QUIET_BIT 0x00400000u
#define F16_EXP_MASK 0x7c00u
#define F16_QUIET_BIT 0x0200u
#define F16_MAX_EXP_FIELD 0x1fu
/* Rebiasing an exponent field from binary16 (bias 15) to binary32 (bias 127). */
#define EXP_REBIAS (127 - 15)
/* |x| >= 65520 rounds to inf: 65520 is halfway between 65504 (the largest half,
 * odd mantissa 0x3ff) and 65536 (one step beyond), and the tie goes to the even side. */
#define F32_BITS_65520 0x477ff000u
/* 2^-14, the smallest normal half. */
#define F32_BITS_MIN_NORMAL_HALF 0x38800000u

static uint32_t f32_bits(float f)
{
    uint32_t b;
    memcpy(&b, &f, sizeof b);
    return b;
}

static float f32_from_bits(uint32_t b)
{
    float f;
    memcpy(&f, &b, sizeof f);
    return f;
}

/* Right shift of an unsigned value by `shift` (1 .. 31), rounded to nearest, ties to even. */
static uint32_t shift_right_rne(uint32_t v, unsigned shift)
{
    uint32_t kept = v >> shift;
    uint32_t rest = v & ((1u << shift) - 1);
    uint32_t half = 1u << (shift - 1);
    if (rest > half || (rest == half && (kept & 1)))
        kept++;
    return kept;
}

uint16_t bb_fp32_to_fp16(float f)
{
    uint32_t bits = f32_bits(f);
    uint16_t sign = (uint16_t)((bits >> 16) & 0x8000u);
    uint32_t abs_bits = bits & ~F32_SIGN;

    if (abs_bits >= F32_EXP_MASK) {
        if (abs_bits == F32_EXP_MASK)
            return sign | F16_EXP_MASK; /* inf */
        /* NaN: keep the top payload bits and make it quiet (as F16C does). */
        return (uint16_t)(sign | F16_EXP_MASK | F16_QUIET_BIT | ((abs_bits >> 13) & 0x3ffu));
    }
    if (abs_bits >= F32_BITS_65520)
        return sign | F16_EXP_MASK;
    if (abs_bits >= F32_BITS_MIN_NORMAL_HALF) {
        /* Normal half: rebias, drop 13 mantissa bits with rounding.  A mantissa that rounds
         * up to 0x400 carries into the exponent, which is the right result (65504 at most
         * here, since >= 65520 went to inf above). */
        return (uint16_t)(sign | shift_right_rne(abs_bits - ((uint32_t)EXP_REBIAS << 23), 13));
    }
    /* Subnormal half or zero: the result is round(|f| * 2^24).  |f| = m * 2^(e - 150) with
     * m the 24-bit significand, so the result is m >> (126 - e), rounded. */
    uint32_t e = abs_bits >> 23;
    if (e < 102) /* |f| < 2^-25: less than half the smallest subnormal, rounds to 0 */
        return sign;
    uint32_t m = (abs_bits & 0x7fffffu) | 0x800000u;
    /* The rounded value may reach 0x400, the smallest normal: also the right encoding. */
    return (uint16_t)(sign | shift_right_rne(m, 126 - e));
}

float bb_fp16_to_fp32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & F16_MAX_EXP_FIELD;
    uint32_t mant = h & 0x3ffu;

    if (exp == F16_MAX_EXP_FIELD) {
        if (mant == 0)
            return f32_from_bits(sign | F32_EXP_MASK);
        /* NaN: payload kept, quiet bit set (a signaling half NaN becomes quiet, as F16C). */
        return f32_from_bits(sign | F32_EXP_MASK | F32_QUIET_BIT | (mant << 13));
    }
    if (exp == 0) {
        if (mant == 0)
            return f32_from_bits(sign);
        /* Subnormal half mant * 2^-24: normalize so that bit 10 is the implicit one. */
        uint32_t e32 = EXP_REBIAS + 1;
        while (!(mant & 0x400u)) {
            mant <<= 1;
            e32--;
        }
        return f32_from_bits(sign | (e32 << 23) | ((mant & 0x3ffu) << 13));
    }
    return f32_from_bits(sign | ((exp + EXP_REBIAS) << 23) | (mant << 13));
}

/* ------------------------------------------------------------------ format */

static uint8_t *code_address(const bb_weights *w, size_t row, size_t i)
{
    return w->data + row * w->row_bytes + 2 * i;
}

void bb_fp16_set_code(bb_weights *w, size_t row, size_t i, uint32_t code)
{
    uint8_t *p = code_address(w, row, i);
    p[0] = (uint8_t)(code & 0xffu);
    p[1] = (uint8_t)((code >> 8) & 0xffu);
}

uint32_t bb_fp16_get_code(const bb_weights *w, size_t row, size_t i)
{
    const uint8_t *p = code_address(w, row, i);
    return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}

double bb_fp16_code_value(uint32_t code) { return (double)bb_fp16_to_fp32((uint16_t)code); }

void bb_fp16_quantize(const float *w, bb_weights *out)
{
    for (size_t r = 0; r < out->m; r++) {
        for (size_t i = 0; i < out->k; i++)
            bb_fp16_set_code(out, r, i, bb_fp32_to_fp16(w[r * out->k + i]));
        for (size_t i = out->k; i < out->k_padded; i++)
            bb_fp16_set_code(out, r, i, 0);
    }
}

/* Conventions shared by every format's model: the k real weights of every row are
 * counted (not the padding), zero weights included, so the count depends on the shape
 * only.  fp16 per weight: 1 cvt (half -> float), 1 fp32_mul, 1 fp32_add (acc starts at
 * 0.0f, so k adds per output).  No activation quantization and no rescale. */
void bb_fp16_opcount(size_t m, size_t k, size_t n, bb_opcount *out)
{
    uint64_t weights = (uint64_t)m * k * n;
    memset(out, 0, sizeof *out);
    out->cvt = weights;
    out->fp32_mul = weights;
    out->fp32_add = weights;
}

static void fp16_scalar_ref_gemm_rows(const bb_gemm_args *a, size_t r0, size_t r1)
{
    const bb_weights *w = a->w;
    for (size_t r = r0; r < r1; r++) {
        const uint16_t *wh = (const uint16_t *)((const uint8_t *)a->layout + r * w->row_bytes);
        for (size_t t = 0; t < a->n; t++) {
            const float *x = a->x + t * a->x_stride;
            float acc = 0.0f;
            for (size_t i = 0; i < w->k; i++) {
                float wf = bb_fp16_to_fp32(wh[i]);
                BB_COUNT(cvt, 1);
                float p = wf * x[i];
                BB_COUNT(fp32_mul, 1);
                acc = acc + p;
                BB_COUNT(fp32_add, 1);
            }
            a->y[t * a->y_stride + r] = acc;
        }
    }
}

const bb_kernel bb_kernel_fp16_scalar_ref = {
    .name = "fp16-scalar-ref",
    .format = BB_FMT_FP16,
    .method = "ref",
    .isa = BB_ISA_SCALAR,
    .needs = 0,
    .priority = 0,
    .multiply_free = false,
    .hot_symbol = "fp16_scalar_ref_gemm_rows",
    .row_block = 1,
    .act_bytes = NULL,
    .prepare_act = NULL,
    .gemm_rows = fp16_scalar_ref_gemm_rows,
};
