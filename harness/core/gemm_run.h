/*
 * harness/core/gemm_run.h - running a kernel: the threaded executor, the correctness check
 * against the scalar reference (done before anything is timed), and a self-contained
 * benchmark case (seeded data, cold weights rotated through copies) for `bitbench gemm`.
 * The harness knows kernels only through kernel.h.
 */
#ifndef BITBENCH_GEMM_RUN_H
#define BITBENCH_GEMM_RUN_H

#include "../../kernels/kernel.h"
#include "arena.h"
#include "pool.h"

#include <stdbool.h>

/* One GEMM through kernel k on the pool: activations prepared (split by tokens when
 * there are enough), then rows split into cache-line-aligned chunks, one per thread.
 * When env BITBENCH_INJECT_SLOWDOWN=IMPL[:FACTOR] names k (exactly; FACTOR default 2),
 * k computes (FACTOR - 1) x its rows once more - whole passes, then the first rows of each
 * thread's chunk, the fraction dithered over calls in row blocks: a real, known slowdown
 * (of the row work; activation preparation is not repeated) for measuring regression
 * detection.  Cold weights: the repeated rows were read earlier in the call and may come from
 * cache, so the slowdown can be below FACTOR; scripts/bench-inject.sh measures how close it gets. */
void bb_gemm_exec(bb_pool *pool, const bb_kernel *k, const bb_gemm_args *a);
/* The same, and with env BITBENCH_PREFETCH_NEXT=1 (off by default), in decode (N < 32: one
 * contiguous row range per thread) each thread that finishes its rows before the last one
 * prefetches into L2 the first BB_PREFETCH_NEXT_BYTES of its share of `next` (next_bytes
 * bytes: the stream the next call reads, e.g. a decoder step's next projection; share t of T
 * = bytes [t/T, (t+1)/T), as the next call's rows split) instead of waiting idle at the join.
 * Off by default because it bought nothing here.  Measured in the 7B decode step (bitbench
 * sweep, 2 threads, cold, fp16 / tern2 madd and add-only / tern1.6 madd, 5 rounds of
 * alternating processes, Zen 5 VM, 2026-12-06): every thread prefetching 64 KiB made the step
 * 1.09-1.14x slower (paired medians; the last thread's prefetches delay the join and take
 * bandwidth from the projection still streaming); only the threads that finish early:
 * 0.95-1.03x, intervals spanning 1.  next NULL: bb_gemm_exec. */
enum { BB_PREFETCH_NEXT_BYTES = 64 * 1024 };
void bb_gemm_exec_next(bb_pool *pool, const bb_kernel *k, const bb_gemm_args *a, const void *next,
                       size_t next_bytes);
/* Splits "IMPL[:FACTOR]" (FACTOR in [1, 16], default 2).  0, or -1 when malformed. */
int bb_inject_slowdown_parse(const char *s, char *impl, size_t len, double *factor);
/* 0, or -1 with a one-line reason when BITBENCH_INJECT_SLOWDOWN is set but malformed. */
int bb_inject_slowdown_check(char *err, size_t len);

/* Kernel-specific weights: the canonical matrix plus the kernel's repacked layout. */
typedef struct bb_kernel_weights {
    bb_weights w;
    void *layout;     /* NULL when the kernel reads w.data */
    bool shares_data; /* a copy: w.data is the original's (the kernel reads only the layout) */
} bb_kernel_weights;
/* Quantizes fp32 W (m x k, stride k) and repacks for kernel k.  0, or -1: out of memory, or
 * a shape beyond the kernel's limits (bb_kernel_shape_check; named on stderr, nothing
 * allocated). */
int bb_kernel_weights_make(bb_kernel_weights *kw, const bb_kernel *k, const float *w32, size_t m,
                           size_t kk);
/* The same as bb_kernel_weights_make from weights already quantized to k's format (q is
 * copied, then repacked for k): gemm quantizes once per format, not once per implementation
 * (quantizing 28672 x 8192 to pot5 took ~4 s of a 26 s tune case, per implementation). */
int bb_kernel_weights_make_from(bb_kernel_weights *kw, const bb_kernel *k, const bb_weights *q);
/* A copy at another address for cold rotation, the one rule of gemm and sweep: the copy has
 * its own copy of every byte kernel k reads - its layout when it has one, else the canonical
 * data, and the scales - and shares the rest with src (the canonical data of a kernel with
 * its own layout, which the kernel never reads).  A copy of unread bytes would not change
 * what a call streams from DRAM; it would only take memory and time (a 70B model's canonical
 * data once more per copy).  From the arena ar, or (ar NULL) memory of its own, freed by
 * bb_kernel_weights_free (which leaves shared data to src).  0, or -1 out of memory. */
int bb_kernel_weights_clone(bb_kernel_weights *dst, const bb_kernel_weights *src, const bb_kernel *k,
                            bb_arena *ar);
void bb_kernel_weights_free(bb_kernel_weights *kw);
uint64_t bb_kernel_weights_bytes(const bb_kernel *k, size_t m, size_t kk); /* incl. layout copy */
/* The packed weights a call of kernel k reads from kw (bb_gemm_args.layout): its layout when
 * it has one, else the canonical data.  Inline: it is read inside timed calls. */
static inline const void *bb_kernel_weights_stream(const bb_kernel_weights *kw)
{
    return kw->layout ? kw->layout : kw->w.data;
}
/* Their bytes (the scales, kw->w.scales, are read besides). */
size_t bb_kernel_weights_stream_bytes(const bb_kernel_weights *kw, const bb_kernel *k);

/* Result of checking a kernel against the scalar reference of its format. */
typedef struct bb_check {
    bool passed;
    bool bit_exact;         /* integer formats: must equal the reference kernel bit for bit */
    size_t mismatches;      /* outputs that differ from the reference kernel */
    double max_abs_err;     /* vs the double-precision product of the dequantized operands */
    double max_err_ratio;   /* max |y - exact| / bound (must be <= 1) */
    size_t rows_vs_double;  /* rows compared against the double product */
    char detail[256];       /* what failed, or the tolerance used */
} bb_check;

/* Runs k (threaded) and the reference (single-threaded) on the same weights and x,
 * compares all outputs with the reference kernel, and up to 64 rows spread over M
 * against the double-precision product.  Tolerances: integer formats bit-exact vs the
 * reference, and |y - exact| <= 4 u |exact| (the three roundings of the rescale);
 * fp16 |y - exact| <= gamma_K sum|w x| (gamma_K = K u / (1 - K u), u = 2^-24: any
 * summation order, FMA or not). */
void bb_gemm_check(bb_pool *pool, const bb_kernel *k, const bb_kernel_weights *kw, const float *x,
                   size_t x_stride, size_t n, bb_check *out);

/* Activation buffers for kernel k at (k, n): x (seeded, zero padded), y, act. */
typedef struct bb_gemm_io {
    float *x;
    size_t x_stride;
    float *y;
    void *act;
} bb_gemm_io;
/* Activations (seeded), output and activation scratch for m x kk x n.  0, or -1: out of
 * memory, or a shape beyond the kernel's limits (named on stderr, nothing allocated). */
int bb_gemm_io_make(bb_gemm_io *io, const bb_kernel *k, size_t m, size_t kk, size_t n, uint64_t seed);
void bb_gemm_io_free(bb_gemm_io *io);
uint64_t bb_gemm_io_bytes(const bb_kernel *k, size_t m, size_t kk, size_t n);

#endif
