/*
 * kernels/x86/x86.h - the x86 SIMD kernels, for kernels/registry.c.  Each kernel file
 * kernels/x86/<format>_<isa>[_<method>].c is built with its ISA's flags only (see the
 * Makefile: _avx2, _avxvnni, _avx512, _avx512fp16 in the name pick the flags) and defines
 * one or more `const bb_kernel`; each family lists its kernels in a list_<family>.h.
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
