/*
 * kernels/x86/x86.h - the x86 SIMD kernels, for kernels/registry.c.  Each kernel file
 * kernels/x86/<format>_<isa>[_<method>].c is built with its ISA's flags only (see the
 * Makefile); it defines one or more `const bb_kernel` and declares them here.
 */
#ifndef BITBENCH_X86_H
#define BITBENCH_X86_H

#include "../kernel.h"

/* Add `extern const bb_kernel bb_kernel_<name>;` and its entry in BB_X86_KERNELS. */

#define BB_X86_KERNELS

#endif
