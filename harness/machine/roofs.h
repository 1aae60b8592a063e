/*
 * harness/machine/roofs.h - this CPU's compute roofs, measured: each runnable loop of the kernels'
 * peak table (kernels/peak.h) timed on 1 and on all of the pool's threads at once, best of
 * several runs of >= 10 ms each.  Rates are operations per second as kernels/peak.h counts
 * them (GOP/s), the same unit as a gemm row's gops.
 */
#ifndef BITBENCH_ROOFS_H
#define BITBENCH_ROOFS_H

#include "../../kernels/peak.h"
#include "../core/pool.h"

#include <jansson.h>

typedef struct bb_roof {
    const bb_peak_loop *loop;
    int threads;
    double best_gops, median_gops;
    int runs;
} bb_roof;

/* Measures every runnable loop at 1 thread and at bb_pool_threads(pool) (once when that is
 * 1) into out (up to cap); returns the count. */
size_t bb_roofs_measure(bb_pool *pool, bb_roof *out, size_t cap);

/* {"status": "measured", "method", "roofs": [{"loop", "kind", "isa", "instr", "threads",
 * "best_gops", "median_gops", "runs"}], "peak": {"<kind>": {"t<T>": best GOP/s of any ISA}}}. */
json_t *bb_roofs_json(const bb_roof *r, size_t n, const char *placement);

#endif
