/*
 * harness/machine/bandwidth.h - the memory-read ceiling a decode kernel is judged against:
 * STREAM-style (a buffer far larger than the LLC, best of several passes, the sum
 * validated), read-only like a GEMV's weight stream, for 1..T threads.
 */
#ifndef BITBENCH_BANDWIDTH_H
#define BITBENCH_BANDWIDTH_H

#include "../core/pool.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct bb_bandwidth {
    int threads;
    uint64_t buffer_bytes;
    int passes;
    double best_gbps;   /* STREAM's convention: the best pass */
    double median_gbps;
    bool validated;     /* every pass's sum matched the known contents */
    const char *loads;  /* the read loop used: the widest loads this CPU has */
} bb_bandwidth;

/* Measures with 1..T threads into out[0..T), T = the smaller of bb_pool_threads(pool) and
 * cap (out's size).  buffer_bytes 0: 4x the LLC (at least 256 MiB).  Returns T, the number
 * of results written (read no further), or -1 when the buffer cannot be allocated. */
int bb_bandwidth_measure(bb_pool *pool, uint64_t buffer_bytes, int passes, bb_bandwidth *out, int cap);

#endif
