/*
 * kernels/x86/x86.h - the x86 SIMD kernels, for kernels/registry.c.  Each kernel file
 * kernels/x86/<format>_<level>[_<method>].c is built with its ISA level's flags only (the
 * ISA table kernels/isa.def: avx2, avxvnni, avx512) and defines one or more `const
 * bb_kernel` whose .isa is that level and .needs its BB_ISA_MASK_<level>; each family
 * lists its kernels in a list_<family>.h.
 */
#ifndef BITBENCH_X86_H
#define BITBENCH_X86_H

#include "list_dense.h"
#include "list_pot.h"
#include "list_ternary.h"
#include "list_ternary_lut.h"

#define BB_X86_KERNELS                                                                     \
    BB_X86_KERNELS_DENSE BB_X86_KERNELS_POT BB_X86_KERNELS_TERNARY BB_X86_KERNELS_TERNARY_LUT

#endif
