/* kernels/x86/list_ternary_lut.h - the ternary_lut SIMD kernels: one extern per kernel, and the list
 * registry.c puts into bb_kernels[] (each entry followed by a comma). */
#ifndef BITBENCH_X86_LIST_TERNARY_LUT_H
#define BITBENCH_X86_LIST_TERNARY_LUT_H
#include "../kernel.h"

#define BB_X86_KERNELS_TERNARY_LUT

#endif
