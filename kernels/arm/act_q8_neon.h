/* kernels/arm/act_q8_neon.h - the NEON int8 absmax activation quantizer (act_q8_neon.c),
 * bit-exact with bb_act_q8_quantize_ref, for every ARM kernel of a BB_ACT_Q8 format:
 *   .act_bytes = bb_act_q8_bytes, .prepare_act = bb_act_q8_prepare_neon
 * It needs NEON only (base AArch64), so kernels of every ARM level may use it. */
#ifndef BITBENCH_ARM_ACT_Q8_NEON_H
#define BITBENCH_ARM_ACT_Q8_NEON_H
#include "../kernel.h"

void bb_act_q8_quantize_neon(const float *x, size_t x_stride, bb_act_q8 *a, size_t t0, size_t t1);
void bb_act_q8_prepare_neon(const bb_gemm_args *a, size_t t0, size_t t1);

#endif
