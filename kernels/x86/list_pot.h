/* kernels/x86/list_pot.h - the pot SIMD kernels: one extern per kernel, and the list
 * registry.c puts into bb_kernels[] (each entry followed by a comma).  Shift-based
 * (multiply-free) and multiply-based variants of pot4, pot5, pot6 read the same codes;
 * see kernels/x86/pot_simd.h for their layouts. */
#ifndef BITBENCH_X86_LIST_POT_H
#define BITBENCH_X86_LIST_POT_H
#include "../kernel.h"

extern const bb_kernel bb_kernel_pot4_avx512_shift;
extern const bb_kernel bb_kernel_pot5_avx512_shift;
extern const bb_kernel bb_kernel_pot6_avx512_shift;
extern const bb_kernel bb_kernel_pot4_avx512_mul;
extern const bb_kernel bb_kernel_pot5_avx512_mul;
extern const bb_kernel bb_kernel_pot6_avx512_mul;
extern const bb_kernel bb_kernel_pot4_avx2_mul;
extern const bb_kernel bb_kernel_pot5_avx2_mul;
extern const bb_kernel bb_kernel_pot6_avx2_mul;
extern const bb_kernel bb_kernel_pot4_avx2_shift;
extern const bb_kernel bb_kernel_pot5_avx2_shift;
extern const bb_kernel bb_kernel_pot6_avx2_shift;

#define BB_X86_KERNELS_POT                                                                 \
    &bb_kernel_pot4_avx512_shift, &bb_kernel_pot5_avx512_shift, &bb_kernel_pot6_avx512_shift,      \
        &bb_kernel_pot4_avx512_mul, &bb_kernel_pot5_avx512_mul, &bb_kernel_pot6_avx512_mul,          \
        &bb_kernel_pot4_avx2_mul, &bb_kernel_pot5_avx2_mul, &bb_kernel_pot6_avx2_mul,                \
        &bb_kernel_pot4_avx2_shift, &bb_kernel_pot5_avx2_shift, &bb_kernel_pot6_avx2_shift,

#endif
