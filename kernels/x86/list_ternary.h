/* kernels/x86/list_ternary.h - the ternary SIMD kernels: one extern per kernel, and the list
 * registry.c puts into bb_kernels[] (each entry followed by a comma). */
#ifndef BITBENCH_X86_LIST_TERNARY_H
#define BITBENCH_X86_LIST_TERNARY_H
#include "../kernel.h"

#define BB_X86_KERNELS_TERNARY

#endif
