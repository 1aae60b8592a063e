/*
 * kernels/arm/ternary_neon.h - internal to the ternary ARM kernels: the canonical layouts'
 * decoding in NEON byte lanes, and the gemm_rows they share (q8_rows.h).
 *
 * Canonical blocks (kernels/ref/ternary.c): 64 bytes; byte j holds weights j + 64 t of the
 * block, so a 16-byte vector of weight bytes pairs with 16 consecutive activations per t.
 *   tern2 (256 weights): code t = bits 2t..2t+1.  Codes are 0, 1, 2 (set_code refuses 3),
 *     so bit 2t+1 set means +1, and both bits clear means -1.
 *   tern1.6 (320 weights): v_0 = byte, code t = floor(3 v_t / 256), v_{t+1} = 3 v_t mod 256.
 *     In byte lanes without a multiply: floor(3 v / 256) = (v >= 86) + (v >= 171)
 *     (3 * 85 = 255 < 256 <= 258 = 3 * 86; 3 * 170 = 510 < 512 <= 513 = 3 * 171), and
 *     3 v mod 256 = v + v + v in wrapping byte adds.  So +1 is v >= 171 and -1 is v < 86.
 */
#ifndef BITBENCH_ARM_TERNARY_NEON_H
#define BITBENCH_ARM_TERNARY_NEON_H
#include "q8_rows.h"

#include <arm_neon.h>

enum { TN_BLOCK_BYTES = 64, TN_TERN2_BLOCK = 256, TN_TERN1_6_BLOCK = 320 };

/* Beyond this k an int32 accumulator of +-127 terms could overflow (as in the reference). */
#define TN_MAX_K ((size_t)(INT32_MAX / 127))

#define TN_ALWAYS_INLINE static inline __attribute__((always_inline))

/* tern1.6: the next trit state, 3 v mod 256, by two byte adds. */
TN_ALWAYS_INLINE uint8x16_t tn_times3(uint8x16_t v) { return vaddq_u8(vaddq_u8(v, v), v); }

#endif
