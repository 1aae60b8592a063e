/* harness/machine/roofs.c - timing the compute-roof loops of kernels/peak.h on 1 and T threads. */
#include "roofs.h"

#include "../base/stats.h"
#include "../core/clock.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

enum { RUNS = 7 };
#define MIN_RUN_NS 10e6

typedef struct roof_ctx {
    const bb_peak_loop *loop;
    uint64_t iters;
    int active;              /* threads that run the loop; the others return at once */
    volatile uint64_t sink;  /* keeps the loops' results alive */
} roof_ctx;

static void roof_thread(void *p, int tid, int nt)
{
    (void)nt;
    roof_ctx *c = p;
    if (tid < c->active)
        c->sink += c->loop->run(c->iters);
}

static double time_run(bb_pool *pool, roof_ctx *c)
{
    uint64_t t0 = bb_now_ns();
    bb_pool_run(pool, roof_thread, c);
    return (double)(bb_now_ns() - t0);
}

static void measure(bb_pool *pool, const bb_peak_loop *l, int threads, bb_roof *out)
{
    roof_ctx c = {.loop = l, .iters = 1000, .active = threads};
    /* calibrate: grow until one run takes >= MIN_RUN_NS */
    double t;
    while ((t = time_run(pool, &c)) < MIN_RUN_NS && c.iters < (1ull << 40))
        c.iters = t < MIN_RUN_NS / 16 ? c.iters * 16 : (uint64_t)((double)c.iters * MIN_RUN_NS * 1.2 / t) + 1;
    double rate[RUNS];
    for (int r = 0; r < RUNS; r++)
        rate[r] = (double)c.iters * l->ops_per_iter * threads / time_run(pool, &c); /* ops/ns = GOP/s */
    bb_summary s;
    bb_summarize(rate, RUNS, &s);
    *out = (bb_roof){.loop = l, .threads = threads, .best_gops = s.max, .median_gops = s.median, .runs = RUNS};
}

size_t bb_roofs_measure(bb_pool *pool, bb_roof *out, size_t cap)
{
    size_t n = 0;
    int tmax = bb_pool_threads(pool);
    /* 1 thread on a pool of its own: on the big pool every run would also wait for the idle
     * workers to wake and return, which on a loaded machine can take longer than the loop */
    char err[160];
    bb_pool *one = tmax > 1 ? bb_pool_create(1, err, sizeof err) : pool;
    for (size_t i = 0; i < bb_peak_loop_count; i++) {
        const bb_peak_loop *l = bb_peak_loops[i];
        if (!bb_peak_runnable(l))
            continue;
        if (n < cap && one)
            measure(one, l, 1, &out[n++]);
        if (tmax > 1 && n < cap)
            measure(pool, l, tmax, &out[n++]);
    }
    if (one && one != pool)
        bb_pool_destroy(one);
    return n;
}

json_t *bb_roofs_json(const bb_roof *r, size_t n, const char *placement)
{
    json_t *arr = json_array(), *peak = json_object();
    for (size_t i = 0; i < n; i++) {
        json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s, s:i, s:f, s:f, s:i}", "loop", r[i].loop->name,
                                             "kind", bb_peak_kind_name(r[i].loop->kind), "isa",
                                             bb_isa_name(r[i].loop->isa), "instr", r[i].loop->instr, "threads",
                                             r[i].threads, "best_gops", r[i].best_gops, "median_gops",
                                             r[i].median_gops, "runs", r[i].runs));
        const char *kind = bb_peak_kind_name(r[i].loop->kind);
        json_t *k = json_object_get(peak, kind);
        if (!k)
            json_object_set_new(peak, kind, k = json_object());
        char key[16];
        snprintf(key, sizeof key, "t%d", r[i].threads);
        if (json_number_value(json_object_get(k, key)) < r[i].best_gops)
            json_object_set_new(k, key, json_real(r[i].best_gops));
    }
    return json_pack("{s:s, s:s, s:s, s:o, s:o}", "status", "measured", "placement", placement, "method",
                     "in-register loops, independent accumulators, no memory traffic; each run >= 10 ms, all "
                     "threads at once; best (and median) of 7 runs; operations: 2 per multiply-accumulate, 1 per "
                     "add lane",
                     "roofs", arr, "peak", peak);
}
