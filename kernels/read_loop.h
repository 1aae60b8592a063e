/*
 * kernels/read_loop.h - the read loops of the memory-bandwidth probe (harness/machine/bandwidth.c),
 * one table entry per ISA like the GEMM kernels, so that the harness holds no intrinsics.
 * Single-core read bandwidth depends on load width on some CPUs (measured on the
 * development VM: 16-byte loads 7.6 GB/s, 64-byte loads 14.6 GB/s), so the probe takes the
 * widest loop the CPU has: the bandwidth ceiling a decode kernel is judged against.
 */
#ifndef BITBENCH_READ_LOOP_H
#define BITBENCH_READ_LOOP_H

#include "kernel.h"

typedef struct bb_read_loop {
    const char *loads;    /* recorded with the figure: "avx512 (64-byte loads)" */
    bb_isa_level isa;     /* the level its file is built with */
    uint32_t needs;       /* BB_CPU_* (its level's mask) */
    unsigned load_bytes;  /* bytes per load: the widest runnable loop wins */
    /* Sum of n 64-bit words (wrapping), p BB_ALIGN-aligned; independent accumulators so
     * that the loop is bound by loads, not by the add chain. */
    uint64_t (*sum)(const uint64_t *p, size_t n);
} bb_read_loop;

/* The widest loop whose needs cpu has (a BB_CPU_* mask); the plain-C loop at least. */
const bb_read_loop *bb_read_loop_widest(uint32_t cpu);

/* Every loop built into this binary (the plain-C one first), for tests. */
extern const bb_read_loop *const bb_read_loops[];
extern const size_t bb_read_loop_count;

#endif
