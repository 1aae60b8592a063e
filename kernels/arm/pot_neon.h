/*
 * kernels/arm/pot_neon.h - internal to pot_neon_shift.c and pot_neon_mul.c: the canonical
 * pot4/pot5/pot6 block (kernels/ref/pot.c) decoded into byte lanes, shift-and-mask only.
 *
 * Block: 128 weights in 16 b bytes.  Bytes 0..63: low nibble of byte j = code bits 0..3 of
 * weight j, high nibble = those of weight j + 64.  pot5: bit j % 8 of byte 64 + j / 8 = code
 * bit 4 of weight j.  pot6: bits 2i..2i+1 of byte 64 + j = code bits 4..5 of weight j + 32 i.
 * Vector v (0..7) below holds the codes of weights 16 v .. 16 v + 15, which pair with the
 * 16 activations at q + 16 v.
 * A code: sign = bit b-1, ecode = the bits below it; ecode 0 is the weight 0, otherwise the
 * term is +-(q << s) with s = emax + 1 - ecode, emax = 2^(b-1) - 2.
 */
#ifndef BITBENCH_ARM_POT_NEON_H
#define BITBENCH_ARM_POT_NEON_H
#include "act_q8_neon.h"
#include "q8_rows.h"

#include <arm_neon.h>

#define PN_ALWAYS_INLINE static inline __attribute__((always_inline))

enum { PN_BLOCK = 128 };

static inline size_t pn_block_bytes(int bits) { return (size_t)bits << 4; }
static inline unsigned pn_emax(int bits) { return (1u << (bits - 1)) - 2; }

/* The 8 code vectors of the block at blk. */
PN_ALWAYS_INLINE void pn_codes(const uint8_t *blk, int bits, uint8x16_t c[8])
{
    const uint8x16_t low = vdupq_n_u8(0x0f);
    for (int v = 0; v < 4; v++) {
        uint8x16_t nib = vld1q_u8(blk + 16 * v);
        c[v] = vandq_u8(nib, low);
        c[v + 4] = vshrq_n_u8(nib, 4);
    }
    if (bits == 5) {
        /* Byte 64 + 2v serves weights 16 v .. 16 v + 7, byte 65 + 2v the next 8: TBL
         * spreads them over the lanes, CMTST with the lane's bit gives 0xff or 0. */
        static const uint8_t lane_bit[16] = {1, 2, 4, 8, 16, 32, 64, 128,
                                             1, 2, 4, 8, 16, 32, 64, 128};
        uint8x16_t plane = vld1q_u8(blk + 64), bit = vld1q_u8(lane_bit);
        const uint8x16_t b4 = vdupq_n_u8(0x10);
        for (int v = 0; v < 8; v++) {
            uint8x16_t idx = vcombine_u8(vdup_n_u8((uint8_t)(2 * v)), vdup_n_u8((uint8_t)(2 * v + 1)));
            c[v] = vorrq_u8(c[v], vandq_u8(vtstq_u8(vqtbl1q_u8(plane, idx), bit), b4));
        }
    } else if (bits == 6) {
        /* Weights 32 i + 16 h .. + 15 read bits 2i..2i+1 of plane half h. */
        uint8x16_t p0 = vld1q_u8(blk + 64), p1 = vld1q_u8(blk + 80);
        const uint8x16_t b45 = vdupq_n_u8(0x30);
        c[0] = vorrq_u8(c[0], vandq_u8(vshlq_n_u8(p0, 4), b45));
        c[1] = vorrq_u8(c[1], vandq_u8(vshlq_n_u8(p1, 4), b45));
        c[2] = vorrq_u8(c[2], vandq_u8(vshlq_n_u8(p0, 2), b45));
        c[3] = vorrq_u8(c[3], vandq_u8(vshlq_n_u8(p1, 2), b45));
        c[4] = vorrq_u8(c[4], vandq_u8(p0, b45));
        c[5] = vorrq_u8(c[5], vandq_u8(p1, b45));
        c[6] = vorrq_u8(c[6], vandq_u8(vshrq_n_u8(p0, 2), b45));
        c[7] = vorrq_u8(c[7], vandq_u8(vshrq_n_u8(p1, 2), b45));
    }
}

/* x with the code's sign applied ((x ^ m) - m, m = 0 or -1) and zeroed where ecode = 0:
 * +-q or 0 in an int8 lane (|q| <= 127, no wrap). */
PN_ALWAYS_INLINE int8x16_t pn_signed_q(int8x16_t x, uint8x16_t code, int bits)
{
    int8x16_t neg = vreinterpretq_s8_u8(vtstq_u8(code, vdupq_n_u8((uint8_t)(1u << (bits - 1)))));
    int8x16_t keep = vreinterpretq_s8_u8(vtstq_u8(code, vdupq_n_u8((uint8_t)((1u << (bits - 1)) - 1))));
    return vandq_s8(vsubq_s8(veorq_s8(x, neg), neg), keep);
}

/* Shift counts s = emax + 1 - ecode (ecode 0 gives emax + 1; its term is zeroed anyway). */
PN_ALWAYS_INLINE uint8x16_t pn_shift(uint8x16_t code, int bits)
{
    uint8x16_t ecode = vandq_u8(code, vdupq_n_u8((uint8_t)((1u << (bits - 1)) - 1)));
    return vsubq_u8(vdupq_n_u8((uint8_t)(pn_emax(bits) + 1)), ecode);
}

/* int8 lanes widened: quarters i = 0..3 of a 16-lane vector as int32x4. */
PN_ALWAYS_INLINE int32x4_t pn_quarter(int8x16_t v, int i)
{
    int16x8_t h = i < 2 ? vmovl_s8(vget_low_s8(v)) : vmovl_high_s8(v);
    return i % 2 ? vmovl_high_s16(h) : vmovl_s16(vget_low_s16(h));
}

#endif
