/* kernels/arm/int8_dot.h - internal to int8_dotprod.c and int8_i8mm.c: the SDOT dot of one
 * int8 row with one token over k_padded (defined in int8_dotprod.c, built with dotprod
 * flags; callers need BB_ISA_MASK_DOTPROD), and the int32 overflow limit on k. */
#ifndef BITBENCH_ARM_INT8_DOT_H
#define BITBENCH_ARM_INT8_DOT_H
#include <stddef.h>
#include <stdint.h>

#define BB_INT8_MAX_K ((size_t)(INT32_MAX / (127 * 127)))

int32_t bb_int8_sdot_dot(const uint8_t *wrow, const int8_t *x, size_t k_padded);

#endif
