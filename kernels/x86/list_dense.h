/* kernels/x86/list_dense.h - the dense SIMD kernels: one extern per kernel, and the list
 * registry.c puts into bb_kernels[] (each entry followed by a comma). */
#ifndef BITBENCH_X86_LIST_DENSE_H
#define BITBENCH_X86_LIST_DENSE_H
#include "../kernel.h"

extern const bb_kernel bb_kernel_int8_avx512_vnni;
extern const bb_kernel bb_kernel_fp16_avx512_fma;

#define BB_X86_KERNELS_DENSE &bb_kernel_int8_avx512_vnni, &bb_kernel_fp16_avx512_fma,

#endif
