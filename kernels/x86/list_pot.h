/* kernels/x86/list_pot.h - the pot SIMD kernels: one extern per kernel, and the list
 * registry.c puts into bb_kernels[] (each entry followed by a comma). */
#ifndef BITBENCH_X86_LIST_POT_H
#define BITBENCH_X86_LIST_POT_H
#include "../kernel.h"

#define BB_X86_KERNELS_POT

#endif
