/* harness/machine/bandwidth.c - the read-bandwidth probe (bandwidth.h): threads, passes and
 * validation; the read loops themselves are kernels (kernels/read_loop.h). */
#include "bandwidth.h"

#include "../../kernels/kernel.h"
#include "../../kernels/read_loop.h"
#include "cache.h"
#include "../base/stats.h"
#include "../core/clock.h"

#include <stdlib.h>
#include <string.h>

typedef uint64_t (*sum_fn)(const uint64_t *p, size_t n);

typedef struct bw_ctx {
    sum_fn sum;
    const uint64_t *buf;
    size_t words;
    int active;           /* threads taking part in this pass */
    uint64_t sums[256];   /* per thread, 8 apart to avoid false sharing */
} bw_ctx;

static void slice(size_t words, int tid, int nt, size_t *w0, size_t *w1)
{
    size_t per = bb_round_up((words + (size_t)nt - 1) / (size_t)nt, 8);
    *w0 = (size_t)tid * per < words ? (size_t)tid * per : words;
    *w1 = *w0 + per < words ? *w0 + per : words;
}

static void read_pass(void *p, int tid, int nt)
{
    (void)nt;
    bw_ctx *c = p;
    if (tid >= c->active)
        return;
    size_t w0, w1;
    slice(c->words, tid, c->active, &w0, &w1);
    c->sums[tid * 8] = c->sum(c->buf + w0, w1 - w0);
}

/* First touch from the threads that will read, so pages land near them. */
static void fill_pass(void *p, int tid, int nt)
{
    bw_ctx *c = p;
    size_t w0, w1;
    slice(c->words, tid, nt, &w0, &w1);
    uint64_t *b = (uint64_t *)c->buf;
    for (size_t i = w0; i < w1; i++)
        b[i] = i;
}

int bb_bandwidth_measure(bb_pool *pool, uint64_t buffer_bytes, int passes, bb_bandwidth *out, int cap)
{
    int threads = bb_pool_threads(pool);
    if (threads > cap)
        threads = cap;
    if (threads < 1)
        return -1;
    if (!buffer_bytes) {
        buffer_bytes = 4 * bb_llc_bytes(NULL);
        if (buffer_bytes < (256ull << 20))
            buffer_bytes = 256ull << 20;
    }
    if (passes < 1)
        passes = 1;
    bw_ctx *c = calloc(1, sizeof *c);
    /* The physical limit, whatever --isa caps the kernels to: the widest loads the CPU has. */
    const bb_read_loop *loop = bb_read_loop_widest(bb_cpu_detect());
    c->sum = loop->sum;
    const char *loads = loop->loads;
    c->words = buffer_bytes / 8;
    c->buf = bb_alloc(c->words * 8);
    if (!c->buf) {
        free(c);
        return -1;
    }
    bb_pool_run(pool, fill_pass, c);
    uint64_t expected = (uint64_t)c->words * (c->words - 1) / 2; /* sum of 0..words-1, mod 2^64 */
    double *gbps = malloc((size_t)passes * sizeof *gbps);
    for (int t = 1; t <= threads; t++) {
        bb_bandwidth *o = &out[t - 1];
        memset(o, 0, sizeof *o);
        o->threads = t;
        o->buffer_bytes = c->words * 8;
        o->passes = passes;
        o->validated = true;
        o->loads = loads;
        c->active = t;
        bb_pool_run(pool, read_pass, c); /* warm-up pass, not counted */
        for (int i = 0; i < passes; i++) {
            uint64_t t0 = bb_now_ns();
            bb_pool_run(pool, read_pass, c);
            uint64_t dt = bb_now_ns() - t0;
            uint64_t total = 0;
            for (int j = 0; j < t; j++)
                total += c->sums[j * 8];
            if (total != expected)
                o->validated = false;
            gbps[i] = (double)o->buffer_bytes / (double)dt;
        }
        bb_summary s;
        bb_summarize(gbps, (size_t)passes, &s);
        o->best_gbps = s.max;
        o->median_gbps = s.median;
    }
    free(gbps);
    bb_free((void *)c->buf);
    free(c);
    return threads;
}
