/* harness/machine/ceiling.c - the in-run read ceiling of gemm (see ceiling.h): cold windows, the
 * threaded read pass, and the paired % of ceiling. */
#include "ceiling.h"

#include "../../kernels/kernel.h"
#include "../../kernels/read_loop.h"
#include "../base/stats.h"
#include "cache.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

enum { HUGE_PAGE = 2u << 20, LINE_WORDS = 8 };

/* bb_alloc's placement rule (kernels/common.c): blocks of 2 MiB and more are 2 MiB-aligned. */
static size_t window_stride(uint64_t bytes)
{
    size_t align = bytes >= HUGE_PAGE ? HUGE_PAGE : BB_ALIGN;
    return bb_round_up((size_t)bytes, align);
}

uint64_t bb_ceiling_pass_bytes(uint64_t bytes, size_t copies)
{
    return (uint64_t)window_stride(bb_round_up((size_t)(bytes ? bytes : 8), 8)) * (copies ? copies : 1);
}

int bb_ceiling_pass_make(bb_ceiling_pass *c, uint64_t bytes, size_t copies)
{
    memset(c, 0, sizeof *c);
    c->bytes = bb_round_up((size_t)(bytes ? bytes : 8), 8);
    c->copies = copies ? copies : 1;
    c->stride = window_stride(c->bytes);
    size_t total = c->stride * c->copies;
    if (c->stride >= HUGE_PAGE) {
        c->buf = bb_alloc(total); /* 2 MiB-aligned and THP-advised, as bb_alloc places each copy */
    } else {
        /* A kernel's copy below 2 MiB is an allocation of its own on 4 KiB pages (bb_alloc
         * advises huge pages only from 2 MiB on), so the windows are kept off huge pages too:
         * one THP-backed buffer would give the ceiling a TLB and prefetch advantage that the
         * kernel's weights do not have (measured at 4096x4096, 2 threads, two process pairs:
         * tern2-avx512-madd 152-158 us on huge pages, 226-236 us on 4 KiB pages). */
        void *p = NULL;
        if (posix_memalign(&p, 4096, total) != 0)
            p = NULL;
#ifdef MADV_NOHUGEPAGE
        if (p)
            madvise(p, total, MADV_NOHUGEPAGE); /* before the first touch */
#endif
        c->buf = p;
    }
    if (!c->buf)
        return -1;
    size_t words = c->stride * c->copies / 8;
    for (size_t i = 0; i < words; i++)
        c->buf[i] = i;
    const bb_read_loop *loop = bb_read_loop_widest(bb_cpu_detect());
    c->loads = loop->loads;
    c->sum = loop->sum;
    c->validated = true;
    return 0;
}

void bb_ceiling_pass_free(bb_ceiling_pass *c)
{
    bb_free(c->buf);
    memset(c, 0, sizeof *c);
}

typedef struct pass_ctx {
    uint64_t (*sum)(const uint64_t *p, size_t n);
    const uint64_t *window;
    size_t words;
    uint64_t *sums; /* per thread, a cache line apart */
} pass_ctx;

static void read_slice(void *p, int tid, int nt)
{
    pass_ctx *c = p;
    size_t per = bb_round_up((c->words + (size_t)nt - 1) / (size_t)nt, LINE_WORDS);
    size_t w0 = (size_t)tid * per < c->words ? (size_t)tid * per : c->words;
    size_t w1 = w0 + per < c->words ? w0 + per : c->words;
    c->sums[(size_t)tid * LINE_WORDS] = w0 < w1 ? c->sum(c->window + w0, w1 - w0) : 0;
}

/* The sum of the words a + 0 .. a + n - 1 (each word is its index), mod 2^64. */
static uint64_t index_sum(uint64_t a, uint64_t n)
{
    uint64_t tri = n % 2 == 0 ? n / 2 * (n - 1) : (n - 1) / 2 * n; /* n (n - 1) / 2, exactly */
    return n * a + tri;
}

void bb_ceiling_pass_run(bb_pool *pool, bb_ceiling_pass *c, size_t copy)
{
    enum { STACK_THREADS = 64 };
    int nt = bb_pool_threads(pool);
    uint64_t stack_sums[STACK_THREADS * LINE_WORDS] __attribute__((aligned(64)));
    uint64_t *sums = nt <= STACK_THREADS ? stack_sums : calloc((size_t)nt * LINE_WORDS, sizeof *sums);
    if (!sums) {
        c->validated = false;
        return;
    }
    size_t first = copy % c->copies * (c->stride / 8);
    pass_ctx ctx = {.sum = c->sum, .window = c->buf + first,
                    .words = c->bytes / 8, .sums = sums};
    bb_pool_run(pool, read_slice, &ctx);
    uint64_t total = 0;
    for (int t = 0; t < nt; t++)
        total += sums[(size_t)t * LINE_WORDS];
    if (total != index_sum(first, ctx.words))
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

int bb_ceiling_set_plan(bb_ceiling_set *s, uint64_t bytes)
{
    uint64_t rounded = bb_round_up((size_t)(bytes ? bytes : 8), 8);
    for (size_t i = 0; i < s->n; i++)
        if (s->pass[i].bytes == rounded)
            return (int)i;
    if (s->n == BB_CEILING_MAX)
        return -1;
    bb_ceiling_pass *c = &s->pass[s->n];
    memset(c, 0, sizeof *c);
    c->bytes = rounded;
    c->copies = (size_t)bb_cold_copies(rounded, s->llc, s->warm);
    c->stride = window_stride(rounded);
    return (int)s->n++;
}

uint64_t bb_ceiling_set_memory(const bb_ceiling_set *s)
{
    uint64_t total = 0;
    for (size_t i = 0; i < s->n; i++)
        total += bb_ceiling_pass_bytes(s->pass[i].bytes, s->pass[i].copies);
    return total;
}

int bb_ceiling_set_alloc(bb_ceiling_set *s)
{
    for (size_t i = 0; i < s->n; i++)
        if (!s->pass[i].buf && bb_ceiling_pass_make(&s->pass[i], s->pass[i].bytes, s->pass[i].copies) != 0)
            return -1;
    return 0;
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
             "read-only pass over the same bytes as the kernel's call, %s, same pool and threads, one participant "
             "of the interleaved rounds (in this run, beside the kernel); gbps: bytes / fastest pass, median_gbps: "
             "bytes / median pass",
             s->warm ? "warm (one copy)" : "cold (rotated through copies > 4x LLC, as the kernel's weights)");
    return json_pack("{s:f, s:f, s:i, s:I, s:b, s:s, s:s, s:I, s:I, s:I, s:f, s:o}", "gbps",
                     (double)c->bytes / st.min, "median_gbps", (double)c->bytes / st.median, "threads", threads,
                     "buffer_bytes", (json_int_t)(c->stride * c->copies), "validated", c->validated, "loads",
                     c->loads ? c->loads : "", "measured", how, "bytes_per_pass", (json_int_t)c->bytes, "copies",
                     (json_int_t)c->copies, "n", (json_int_t)n, "median_ns", st.median, "samples_ns", samples);
}
