/* harness/machine/ceiling.c - the in-run read ceiling of gemm (see ceiling.h): a pass over a
 * kernel's own copies, the threaded read, and the paired % of ceiling. */
#include "ceiling.h"

#include "../../kernels/kernel.h"
#include "../../kernels/read_loop.h"
#include "../base/stats.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { LINE_WORDS = 8 };

typedef struct pass_ctx {
    uint64_t (*sum)(const uint64_t *p, size_t n);
    const uint64_t *part[2];
    size_t words[2];
    uint64_t *sums; /* per thread, a cache line apart */
} pass_ctx;

static size_t part_words(const bb_ceiling_window *w, int i) { return bb_round_up((size_t)w->bytes[i], 8) / 8; }

/* Thread tid's share of each part: equal slices in whole lines, as a kernel's rows. */
static void read_slice(void *p, int tid, int nt)
{
    pass_ctx *c = p;
    uint64_t total = 0;
    for (int i = 0; i < 2; i++) {
        size_t words = c->words[i];
        size_t per = bb_round_up((words + (size_t)nt - 1) / (size_t)nt, LINE_WORDS);
        size_t w0 = (size_t)tid * per < words ? (size_t)tid * per : words;
        size_t w1 = w0 + per < words ? w0 + per : words;
        total += w0 < w1 ? c->sum(c->part[i] + w0, w1 - w0) : 0;
    }
    c->sums[(size_t)tid * LINE_WORDS] = total;
}

int bb_ceiling_pass_make(bb_ceiling_pass *c, const bb_ceiling_window *windows, size_t copies, size_t offset)
{
    memset(c, 0, sizeof *c);
    copies = copies ? copies : 1;
    for (size_t w = 0; w < copies; w++)
        for (int i = 0; i < 2; i++)
            if (windows[w].bytes[i] && (!windows[w].part[i] || (uintptr_t)windows[w].part[i] % BB_ALIGN))
                return -1;
    c->windows = malloc(copies * sizeof *c->windows);
    c->sums = malloc(copies * sizeof *c->sums);
    if (!c->windows || !c->sums) {
        bb_ceiling_pass_free(c);
        return -1;
    }
    memcpy(c->windows, windows, copies * sizeof *windows);
    c->copies = copies;
    c->offset = offset;
    c->bytes = 8 * (part_words(&windows[0], 0) + part_words(&windows[0], 1));
    const bb_read_loop *loop = bb_read_loop_widest(bb_cpu_detect());
    c->loads = loop->loads;
    c->sum = loop->sum;
    for (size_t w = 0; w < copies; w++) {
        c->sums[w] = 0;
        for (int i = 0; i < 2; i++)
            if (windows[w].bytes[i])
                c->sums[w] += c->sum(windows[w].part[i], part_words(&windows[w], i));
    }
    c->validated = true;
    return 0;
}

void bb_ceiling_pass_free(bb_ceiling_pass *c)
{
    free(c->windows);
    free(c->sums);
    memset(c, 0, sizeof *c);
}

void bb_ceiling_pass_run(bb_pool *pool, bb_ceiling_pass *c, size_t copy)
{
    enum { STACK_THREADS = 64 };
    int nt = bb_pool_threads(pool);
    uint64_t stack_sums[STACK_THREADS * LINE_WORDS] __attribute__((aligned(64)));
    uint64_t *sums = nt <= STACK_THREADS ? stack_sums : calloc((size_t)nt * LINE_WORDS, sizeof *sums);
    if (!sums || !c->copies) {
        c->validated = false;
        if (sums != stack_sums)
            free(sums);
        return;
    }
    size_t w = (copy + c->offset) % c->copies;
    const bb_ceiling_window *win = &c->windows[w];
    pass_ctx ctx = {.sum = c->sum, .sums = sums};
    for (int i = 0; i < 2; i++) {
        ctx.part[i] = win->part[i];
        ctx.words[i] = win->bytes[i] ? part_words(win, i) : 0;
    }
    bb_pool_run(pool, read_slice, &ctx);
    uint64_t total = 0;
    for (int t = 0; t < nt; t++)
        total += sums[(size_t)t * LINE_WORDS];
    if (total != c->sums[w])
        c->validated = false;
    c->passes++;
    if (sums != stack_sums)
        free(sums);
}

int bb_ceiling_pct_paired(const double *ceiling_ns, const double *kernel_ns, size_t n, uint64_t seed,
                          bb_ceiling_pct *out)
{
    *out = (bb_ceiling_pct){.pct = NAN, .lo = NAN, .hi = NAN};
    double *a = malloc((n ? n : 1) * sizeof *a), *b = malloc((n ? n : 1) * sizeof *b);
    if (!a || !b) {
        free(a), free(b);
        return -1;
    }
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (ceiling_ns[i] > 0 && kernel_ns[i] > 0 && isfinite(ceiling_ns[i]) && isfinite(kernel_ns[i])) {
            a[m] = ceiling_ns[i];
            b[m++] = kernel_ns[i];
        }
    out->rounds = m;
    double budget = BB_CEILING_BOOTSTRAP_WORK / (double)(m ? m : 1);
    out->resamples = budget >= BB_CEILING_RESAMPLES ? BB_CEILING_RESAMPLES
                     : budget <= BB_CEILING_MIN_RESAMPLES ? BB_CEILING_MIN_RESAMPLES : (size_t)budget;
    if (m)
        bb_paired_ratio_median(a, b, m, 100.0, out->resamples, 0.95, seed, &out->pct, &out->lo, &out->hi);
    free(a), free(b);
    return m && isfinite(out->pct) ? 0 : -1;
}

/* ------------------------------------------------------------------ gemm's participants */

int bb_ceiling_set_add(bb_ceiling_set *s, const bb_ceiling_window *windows, size_t copies, size_t offset)
{
    if (s->n == BB_CEILING_MAX || bb_ceiling_pass_make(&s->pass[s->n], windows, copies, offset) != 0)
        return -1;
    return (int)s->n++;
}

void bb_ceiling_set_free(bb_ceiling_set *s)
{
    for (size_t i = 0; i < s->n; i++) {
        bb_ceiling_pass_free(&s->pass[i]);
        free(s->samples[i]);
        s->samples[i] = NULL;
        s->nsamples[i] = 0;
    }
    s->n = 0;
}

json_t *bb_ceiling_json(const bb_ceiling_set *s, size_t i, int threads)
{
    const bb_ceiling_pass *c = &s->pass[i];
    size_t n = s->nsamples[i];
    if (!n)
        return json_null();
    bb_summary st;
    bb_summarize(s->samples[i], n, &st);
    json_t *samples = json_array();
    for (size_t k = 0; k < n; k++)
        json_array_append_new(samples, json_real(s->samples[i][k]));
    char how[400];
    snprintf(how, sizeof how,
             "read-only pass over the kernel's own weight copies (the bytes of its call), %s, same pool and "
             "threads, one participant of the interleaved rounds (in this run, beside the kernel); gbps: bytes / "
             "fastest pass, median_gbps: bytes / median pass",
             s->warm ? "warm (its one copy)"
                     : "cold (each round the copy half a rotation from the one the kernel reads: copies > 4x LLC)");
    return json_pack("{s:f, s:f, s:i, s:I, s:b, s:s, s:s, s:I, s:I, s:I, s:f, s:o}", "gbps",
                     (double)c->bytes / st.min, "median_gbps", (double)c->bytes / st.median, "threads", threads,
                     "buffer_bytes", (json_int_t)(c->bytes * c->copies), "validated", c->validated, "loads",
                     c->loads ? c->loads : "", "measured", how, "bytes_per_pass", (json_int_t)c->bytes, "copies",
                     (json_int_t)c->copies, "n", (json_int_t)n, "median_ns", st.median, "samples_ns", samples);
}
