/*
 * harness/machine/ceiling.h - the read ceiling as one more participant of gemm's interleaved rotation:
 * a read-only pass (the widest read loop, kernels/read_loop.h) over exactly the bytes of a
 * kernel's call - the kernel's own cold copies, half a rotation away - on the same pool and
 * threads; and each kernel's % of that ceiling, a ratio of samples taken side by
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

/* One copy of the bytes a kernel's call reads, in the caller's memory: up to two parts (its
 * packed weights and its scales), each BB_ALIGN-aligned and allocated to at least its bytes
 * rounded up to 64 (bb_alloc's and the arena's rule), so that whole 8-byte words are read. */
typedef struct bb_ceiling_window {
    const void *part[2];
    uint64_t bytes[2]; /* 0: no such part */
} bb_ceiling_window;

/* One read pass's data: a kernel's own cold copies.  Call `copy` reads window
 * (copy + offset) % copies - with offset half a rotation, a copy the kernel read half a
 * rotation ago and reads again half a rotation later, so it is as cold as the kernel's and on
 * the same physical pages over the run.  Why the kernel's own copies: where a copy's pages
 * land moved a kernel's speed by up to 1.5x on the Zen 5 VM (results/measurements/
 * placements-20261206-vm), so a ceiling read from a buffer of its own was another placement. */
typedef struct bb_ceiling_pass {
    uint64_t bytes;    /* read per pass: both parts, each rounded up to 8 */
    size_t copies;     /* windows rotated through (the kernel's copies; warm: 1) */
    size_t offset;     /* call `copy` reads window (copy + offset) % copies */
    bb_ceiling_window *windows; /* copies of them (the array is the pass's, the memory not) */
    uint64_t *sums;    /* each window's word sum, taken once when the pass is made (untimed) */
    const char *loads; /* the read loop: "avx512 (64-byte loads)" */
    uint64_t (*sum)(const uint64_t *p, size_t n); /* its function, looked up once (cpuid is a
                                                   * VM exit: not inside a timed call) */
    bool validated;    /* every pass's sum so far matched its window's */
    uint64_t passes;   /* passes run */
} bb_ceiling_pass;

/* Makes a pass over `copies` windows (copied), reading each once for its sum.  0, or -1 (out
 * of memory, or a part not BB_ALIGN-aligned; nothing kept). */
int bb_ceiling_pass_make(bb_ceiling_pass *c, const bb_ceiling_window *windows, size_t copies, size_t offset);
void bb_ceiling_pass_free(bb_ceiling_pass *c);
/* One read pass over window (copy + offset) % copies, each part split over the pool's threads
 * like a kernel's rows (equal slices in whole 64-byte lines), its sum checked. */
void bb_ceiling_pass_run(bb_pool *pool, bb_ceiling_pass *c, size_t copy);

/* gemm's ceiling participants: one per kernel, over that kernel's copies.  The samples are the
 * sampler's, one per kept round, in round order. */
enum { BB_CEILING_MAX = 64 };
typedef struct bb_ceiling_set {
    size_t n;
    bool warm;
    bb_ceiling_pass pass[BB_CEILING_MAX];
    double *samples[BB_CEILING_MAX];
    size_t nsamples[BB_CEILING_MAX];
} bb_ceiling_set;
/* Adds a participant over these windows (bb_ceiling_pass_make).  Its index, or -1 (the set is
 * full, out of memory, or a part misaligned). */
int bb_ceiling_set_add(bb_ceiling_set *s, const bb_ceiling_window *windows, size_t copies, size_t offset);
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
