/* kernels/x86/list_dense.h - the dense SIMD kernels: one extern per kernel, and the list
 * registry.c puts into bb_kernels[] (each entry followed by a comma). */
#ifndef BITBENCH_X86_LIST_DENSE_H
#define BITBENCH_X86_LIST_DENSE_H
#include "../kernel.h"

extern const bb_kernel bb_kernel_fp16_avx2_fma;    /* fp16_avx2.c */
extern const bb_kernel bb_kernel_fp16_avx2_packed; /* fp16_avx2.c */
extern const bb_kernel bb_kernel_fp16_avx512_fma;  /* fp16_avx512.c */
extern const bb_kernel bb_kernel_fp16_avx512_packed; /* fp16_avx512.c */
extern const bb_kernel bb_kernel_int8_avx2_maddubs; /* int8_avx2.c */
extern const bb_kernel bb_kernel_int8_avx2_vnni;   /* int8_avxvnni.c */
extern const bb_kernel bb_kernel_int8_avx512_vnni; /* int8_avx512.c */

#define BB_X86_KERNELS_DENSE                                                               \
    &bb_kernel_fp16_avx2_fma, &bb_kernel_fp16_avx2_packed, &bb_kernel_fp16_avx512_fma, &bb_kernel_fp16_avx512_packed, &bb_kernel_int8_avx2_maddubs,    \
        &bb_kernel_int8_avx2_vnni, &bb_kernel_int8_avx512_vnni,

#endif
