/* kernels/x86/list_ternary_lut.h - the ternary table-lookup SIMD kernels (T-MAC / bitnet.cpp
 * TL1/TL2 style, multiply-free): one extern per kernel, and the list registry.c puts into
 * bb_kernels[] (each entry followed by a comma). */
#ifndef BITBENCH_X86_LIST_TERNARY_LUT_H
#define BITBENCH_X86_LIST_TERNARY_LUT_H
#include "../kernel.h"

extern const bb_kernel bb_kernel_tern2_avx512_lut;
extern const bb_kernel bb_kernel_tern1_6_avx512_lut;
extern const bb_kernel bb_kernel_tern2_avx2_lut;
extern const bb_kernel bb_kernel_tern1_6_avx2_lut;

#define BB_X86_KERNELS_TERNARY_LUT                                                         \
    &bb_kernel_tern2_avx512_lut, &bb_kernel_tern1_6_avx512_lut, &bb_kernel_tern2_avx2_lut,      \
        &bb_kernel_tern1_6_avx2_lut,

#endif
