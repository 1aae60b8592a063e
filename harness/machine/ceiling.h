/*
 * harness/machine/ceiling.h - the read ceiling as one more participant of gemm's interleaved rotation:
 * a read-only pass (the widest read loop, kernels/read_loop.h) over exactly the bytes of a
 * kernel's call, on the same pool and threads, rotated through cold copies by the same rule as
 * the kernel's weights; and each kernel's % of that ceiling, a ratio of samples taken side by
 * side in the same round, with an interval.
 *
 * Why: a ceiling taken once, before the kernels, mixes two moments.  Measured on the 2-core
 * development VM, the one-shot ceiling moved 25-36 GB/s at 1 thread and 30-67 GB/s at 2 between
 * processes, as much as the kernels did; a ratio of two samples of the same round sees the
 * same machine, and the fixed costs of a call (waking threads, joining) that a kernel of this
 * size pays, the read pass pays too.
 */
#ifndef BITBENCH_CEILING_H
#define BITBENCH_CEILING_H

#include "../core/pool.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One read pass's data: `copies` windows of `bytes` each (the words a window holds are their
 * own index in the buffer, so every window's sum is known), `stride` apart: the rounding of
 * bb_alloc, which places the kernel's own copies (2 MiB apart when large, like its huge-page
 * alignment). */
typedef struct bb_ceiling_pass {
    uint64_t bytes;    /* read per pass: the kernel's declared weight bytes, rounded up to 8 */
    size_t copies;     /* windows rotated through (bb_cold_copies of bytes; warm: 1) */
    size_t stride;     /* bytes from one window to the next */
    uint64_t *buf;     /* copies * stride bytes */
    const char *loads; /* the read loop: "avx512 (64-byte loads)" */
    uint64_t (*sum)(const uint64_t *p, size_t n); /* its function, looked up once (cpuid is a
                                                   * VM exit: not inside a timed call) */
    bool validated;    /* every pass's sum so far matched the window's known contents */
    uint64_t passes;   /* passes run */
} bb_ceiling_pass;

/* Bytes of the buffer a pass of `bytes` over `copies` windows needs (for memory checks). */
uint64_t bb_ceiling_pass_bytes(uint64_t bytes, size_t copies);
/* Allocates and fills the windows.  0, or -1 out of memory (nothing allocated). */
int bb_ceiling_pass_make(bb_ceiling_pass *c, uint64_t bytes, size_t copies);
void bb_ceiling_pass_free(bb_ceiling_pass *c);
/* One read pass over window copy % copies, split over the pool's threads like a kernel's rows
 * (equal slices in whole 64-byte lines), sums checked. */
void bb_ceiling_pass_run(bb_pool *pool, bb_ceiling_pass *c, size_t copy);

/* gemm's ceiling participants: one per distinct byte count among the kernels of a run (kernels
 * whose calls read the same bytes share one), planned first (for the memory check), then
 * allocated.  The samples are the sampler's, one per kept round, in round order. */
enum { BB_CEILING_MAX = 64 };
typedef struct bb_ceiling_set {
    size_t n;
    uint64_t llc; /* bytes the cold rotation must exceed 4 times (0: unknown, cache.h's rule) */
    bool warm;
    bb_ceiling_pass pass[BB_CEILING_MAX]; /* bytes and copies planned; buf once allocated */
    double *samples[BB_CEILING_MAX];
    size_t nsamples[BB_CEILING_MAX];
} bb_ceiling_set;
/* The participant for calls of `bytes`: an existing one of the same bytes, else a new one
 * (copies by bb_cold_copies, as the kernels' weights).  Its index, or -1 when the set is full. */
int bb_ceiling_set_plan(bb_ceiling_set *s, uint64_t bytes);
/* Bytes the planned participants will allocate. */
uint64_t bb_ceiling_set_memory(const bb_ceiling_set *s);
/* Allocates every planned participant.  0, or -1 out of memory. */
int bb_ceiling_set_alloc(bb_ceiling_set *s);
void bb_ceiling_set_free(bb_ceiling_set *s);
/* The row's "ceiling" object for participant i (the field names of the earlier one-shot
 * ceiling, gbps = bytes / fastest pass, median_gbps = bytes / median pass, plus how it was
 * measured and its samples); threads: the pool's. */
json_t *bb_ceiling_json(const bb_ceiling_set *s, size_t i, int threads);

/* A kernel's share of the ceiling measured beside it: per round i with both samples > 0 (and
 * finite), r_i = 100 x ceiling_ns[i] / kernel_ns[i] (the same bytes, so the ratio of times is
 * the ratio of GB/s); pct is the median of r_i, [lo, hi] its 95% percentile-bootstrap
 * interval (2000 resamples of the rounds, seeded: the same samples give the same interval;
 * bb_paired_ratio_median (base/stats.h), the sweep's paired statistic). */
typedef struct bb_ceiling_pct {
    size_t rounds;    /* rounds with both samples */
    size_t resamples; /* bootstrap resamples: 2000, fewer for long runs (the work is rounds x
                       * resamples; at least 200, which still places a 95% interval) */
    double pct, lo, hi;
} bb_ceiling_pct;
enum { BB_CEILING_RESAMPLES = 2000, BB_CEILING_MIN_RESAMPLES = 200 };
#define BB_CEILING_BOOTSTRAP_WORK 2e7 /* rounds x resamples above which resamples shrink */
/* 0, or -1 when no round has both samples (out->pct etc. are then NAN). */
int bb_ceiling_pct_paired(const double *ceiling_ns, const double *kernel_ns, size_t n, uint64_t seed,
                          bb_ceiling_pct *out);

#endif
