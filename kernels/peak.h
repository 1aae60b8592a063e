/*
 * kernels/peak.h - compute roofs: small in-register loops that run one instruction class at
 * its throughput limit (likwid-bench's peakflops kernels are the model), so the roofline can
 * draw this CPU's measured peak int8 dot-product, fp32 FMA and integer-add rates beside the
 * bandwidth roof.  One loop = one table entry; each declares the operations one iteration
 * performs, and the harness (harness/machine/roofs.c) times it without knowing its instructions.
 *
 * Operations are counted as the kernels' GOP/s counts them: a multiply-accumulate is two
 * (int8 dot: 2 per u8 x s8 pair; FMA: 2 per lane), an integer add one per lane.
 */
#ifndef BITBENCH_PEAK_H
#define BITBENCH_PEAK_H

#include "kernel.h"

typedef enum { BB_PEAK_INT8_DOT, BB_PEAK_FP32_FMA, BB_PEAK_INT_ADD, BB_PEAK_KIND_COUNT } bb_peak_kind;

typedef struct bb_peak_loop {
    const char *name;    /* "int8dot-avx512-vpdpbusd" */
    bb_peak_kind kind;
    const char *instr;   /* what the loop issues, e.g. "vpdpbusd zmm, 12 independent accumulators" */
    bb_isa_level isa;
    uint32_t needs;      /* BB_CPU_* features */
    double ops_per_iter; /* operations (as above) of one iteration, all threads' work excluded */
    /* Runs iters iterations; returns a value folded from the accumulators (so that the
     * loop cannot be removed).  Thread-safe: no shared state. */
    uint64_t (*run)(uint64_t iters);
} bb_peak_loop;

extern const bb_peak_loop *const bb_peak_loops[];
extern const size_t bb_peak_loop_count;
const char *bb_peak_kind_name(bb_peak_kind k); /* "int8_dot", "fp32_fma", "int_add" */
bool bb_peak_runnable(const bb_peak_loop *l);  /* CPU (after the ISA cap) has l->needs */

/* the entries (kernels/ref/peak.c, kernels/x86/peak_avx2.c, kernels/x86/peak_avx512.c) */
extern const bb_peak_loop bb_peak_int8dot_scalar, bb_peak_fma_scalar, bb_peak_add_scalar;
extern const bb_peak_loop bb_peak_int8dot_avx2, bb_peak_fma_avx2, bb_peak_add_avx2;
extern const bb_peak_loop bb_peak_int8dot_avx512_vnni, bb_peak_int8dot_avx512_maddubs, bb_peak_fma_avx512,
    bb_peak_add_avx512;

#endif
