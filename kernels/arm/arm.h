/*
 * kernels/arm/arm.h - the AArch64 SIMD kernels, for kernels/registry.c.  Each kernel file
 * kernels/arm/<format>_<level>[_<method>].c is built with its ISA level's flags only (the
 * ISA table, kernels/isa.def: neon -march=armv8-a, dotprod +dotprod, i8mm +dotprod+i8mm)
 * and defines one or more `const bb_kernel`.  A kernel's .needs is its level's feature mask
 * (BB_ISA_MASK_<LEVEL> from kernels/isa.def) plus any extras, so dispatch never picks SDOT or SMMLA code on a CPU
 * without them (e.g. a Cortex-A53).
 *
 * Priorities are NOT measured on ARM hardware yet (only checked for exactness under
 * qemu-aarch64, where speed means nothing): they follow the instruction counts of the hot
 * loops - dotprod/i8mm over plain NEON, multiply-add over table lookup over add-only for
 * the ternary formats, as on x86.  Measure on a real core before trusting them.
 */
#ifndef BITBENCH_ARM_H
#define BITBENCH_ARM_H
#include "../kernel.h"

extern const bb_kernel bb_kernel_fp16_neon_fma;        /* fp16_neon.c */
extern const bb_kernel bb_kernel_int8_neon_smull;      /* int8_neon.c */
extern const bb_kernel bb_kernel_int8_dotprod_sdot;    /* int8_dotprod.c */
extern const bb_kernel bb_kernel_int8_i8mm_smmla;      /* int8_i8mm.c */
extern const bb_kernel bb_kernel_tern2_neon_addonly;   /* tern2_neon_addonly.c */
extern const bb_kernel bb_kernel_tern2_dotprod_madd;   /* tern2_dotprod_madd.c */
extern const bb_kernel bb_kernel_tern1_6_neon_addonly; /* tern1_6_neon_addonly.c */
extern const bb_kernel bb_kernel_tern1_6_dotprod_madd; /* tern1_6_dotprod_madd.c */
extern const bb_kernel bb_kernel_tern2_neon_lut;       /* tern2_neon_lut.c */
extern const bb_kernel bb_kernel_tern1_6_neon_lut;     /* tern1_6_neon_lut.c */
extern const bb_kernel bb_kernel_pot4_neon_shift;      /* pot_neon_shift.c */
extern const bb_kernel bb_kernel_pot5_neon_shift;
extern const bb_kernel bb_kernel_pot6_neon_shift;
extern const bb_kernel bb_kernel_pot4_neon_mul;        /* pot_neon_mul.c */
extern const bb_kernel bb_kernel_pot5_neon_mul;
extern const bb_kernel bb_kernel_pot6_neon_mul;

/* The list registry.c puts into bb_kernels[] on aarch64 (each entry followed by a comma). */
#define BB_ARM_KERNELS                                                                      \
    &bb_kernel_fp16_neon_fma, &bb_kernel_int8_neon_smull, &bb_kernel_int8_dotprod_sdot,     \
        &bb_kernel_int8_i8mm_smmla,                                                         \
        &bb_kernel_tern2_neon_addonly, &bb_kernel_tern2_dotprod_madd,                       \
        &bb_kernel_tern1_6_neon_addonly, &bb_kernel_tern1_6_dotprod_madd,                   \
        &bb_kernel_tern2_neon_lut, &bb_kernel_tern1_6_neon_lut, &bb_kernel_pot4_neon_shift, \
        &bb_kernel_pot5_neon_shift, &bb_kernel_pot6_neon_shift, &bb_kernel_pot4_neon_mul,   \
        &bb_kernel_pot5_neon_mul, &bb_kernel_pot6_neon_mul,

#endif
