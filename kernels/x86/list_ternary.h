/* kernels/x86/list_ternary.h - the ternary add-only and multiply-add SIMD kernels: one extern
 * per kernel, and the list registry.c puts into bb_kernels[] (each entry followed by a comma).
 * (The table-lookup ternary kernels are in list_ternary_lut.h.) */
#ifndef BITBENCH_X86_LIST_TERNARY_H
#define BITBENCH_X86_LIST_TERNARY_H
#include "../kernel.h"

extern const bb_kernel bb_kernel_tern2_avx512_madd;
extern const bb_kernel bb_kernel_tern2_avx512_addonly;
extern const bb_kernel bb_kernel_tern1_6_avx512_madd;
extern const bb_kernel bb_kernel_tern1_6_avx512_addonly;
extern const bb_kernel bb_kernel_tern2_avx2_madd;
extern const bb_kernel bb_kernel_tern2_avx2_addonly;
extern const bb_kernel bb_kernel_tern1_6_avx2_madd;
extern const bb_kernel bb_kernel_tern1_6_avx2_addonly;

#define BB_X86_KERNELS_TERNARY                                                             \
    &bb_kernel_tern2_avx512_madd, &bb_kernel_tern2_avx512_addonly,                         \
        &bb_kernel_tern1_6_avx512_madd, &bb_kernel_tern1_6_avx512_addonly,                 \
        &bb_kernel_tern2_avx2_madd, &bb_kernel_tern2_avx2_addonly,                         \
        &bb_kernel_tern1_6_avx2_madd, &bb_kernel_tern1_6_avx2_addonly,

#endif
