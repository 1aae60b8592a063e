/* harness/core/gemm_run.c - running a kernel: threaded executor, check against the reference, weight copies, io buffers (gemm_run.h). */
#include "gemm_run.h"

#include "../base/rng.h"

#include <float.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ executor */

enum { PREFILL_N = 32, PREFILL_CHUNKS = 8 };

typedef struct exec_ctx {
    const bb_kernel *k;
    const bb_gemm_args *a;
    size_t chunk;
    bool dynamic;      /* chunks taken from `next` by whichever thread is free (prefill) */
    atomic_size_t next;
    const uint8_t *pf_next; /* bb_gemm_exec_next's stream, or NULL */
    size_t pf_next_bytes;
    atomic_int finished;    /* threads done with their rows */
    int repeat;        /* whole passes over the rows: 1, more under an injected slowdown */
    size_t extra_rows; /* then this many rows of each chunk once more (injected slowdown) */
} exec_ctx;

static void exec_act(void *p, int tid, int nt)
{
    exec_ctx *c = p;
    size_t per = (c->a->n + (size_t)nt - 1) / (size_t)nt;
    size_t t0 = (size_t)tid * per, t1 = t0 + per > c->a->n ? c->a->n : t0 + per;
    if (t0 < t1)
        c->k->prepare_act(c->a, t0, t1);
}

static void exec_chunk(const exec_ctx *c, size_t r0, size_t r1)
{
    for (int i = 0; i < c->repeat && r0 < r1; i++)
        c->k->gemm_rows(c->a, r0, r1);
    size_t extra = c->extra_rows < r1 - r0 ? c->extra_rows : r1 - r0;
    if (r0 < r1 && extra)
        c->k->gemm_rows(c->a, r0, r0 + extra); /* the same outputs again: real, idempotent work
                                                  on the rows read longest ago (the last ones
                                                  would still be in L1: cheaper than average) */
}

/* Thread tid's first BB_PREFETCH_NEXT_BYTES of the next call's stream, into L2 (locality 2:
 * prefetcht1 on x86, PRFM PLDL2KEEP on AArch64), line by line. */
static void prefetch_next(const exec_ctx *c, int tid, int nt)
{
    size_t share = c->pf_next_bytes / (size_t)nt;
    size_t n = share < BB_PREFETCH_NEXT_BYTES ? share : BB_PREFETCH_NEXT_BYTES;
    const uint8_t *p = c->pf_next + (size_t)tid * share;
    for (size_t off = 0; off < n; off += 64)
        __builtin_prefetch(p + off, 0, 2);
}

static void exec_rows(void *p, int tid, int nt)
{
    exec_ctx *c = p;
    size_t m = c->a->w->m;
    if (!c->dynamic) {
        size_t r0 = (size_t)tid * c->chunk, r1 = r0 + c->chunk > m ? m : r0 + c->chunk;
        exec_chunk(c, r0, r1);
        /* only a thread that is not the last to finish: the last one would delay the join */
        if (c->pf_next && atomic_fetch_add_explicit(&c->finished, 1, memory_order_relaxed) < nt - 1)
            prefetch_next(c, tid, nt);
        return;
    }
    for (size_t r0; (r0 = atomic_fetch_add_explicit(&c->next, c->chunk, memory_order_relaxed)) < m;)
        exec_chunk(c, r0, r0 + c->chunk > m ? m : r0 + c->chunk);
}

static size_t gcd(size_t a, size_t b) { return b ? gcd(b, a % b) : a; }

/* BITBENCH_INJECT_SLOWDOWN=IMPL[:FACTOR], read once: bb_gemm_exec runs inside timed
 * regions, where a getenv per call is noise. */
static struct {
    int read, bad;
    char impl[160];
    double factor;
    double carry; /* rows owed by the dithering of the fractional part */
} inject;

int bb_inject_slowdown_parse(const char *s, char *impl, size_t len, double *factor)
{
    const char *colon = strrchr(s, ':');
    size_t n = colon ? (size_t)(colon - s) : strlen(s);
    *factor = 2.0;
    if (n == 0 || n >= len)
        return -1;
    memcpy(impl, s, n);
    impl[n] = 0;
    if (colon) {
        char *end;
        *factor = strtod(colon + 1, &end);
        if (end == colon + 1 || *end || !(*factor >= 1.0 && *factor <= 16.0))
            return -1;
    }
    return 0;
}

static void inject_read(void)
{
    const char *env = getenv("BITBENCH_INJECT_SLOWDOWN");
    inject.read = 1;
    if (env && *env && bb_inject_slowdown_parse(env, inject.impl, sizeof inject.impl, &inject.factor) != 0)
        inject.bad = 1;
}

int bb_inject_slowdown_check(char *err, size_t len)
{
    if (!inject.read)
        inject_read();
    if (inject.bad)
        snprintf(err, len, "BITBENCH_INJECT_SLOWDOWN='%s': expected IMPL or IMPL:FACTOR with FACTOR in [1, 16]",
                 getenv("BITBENCH_INJECT_SLOWDOWN"));
    return inject.bad ? -1 : 0;
}

static double injected_factor(const bb_kernel *k)
{
    if (!inject.read)
        inject_read();
    return !inject.bad && inject.impl[0] && strcmp(inject.impl, k->name) == 0 ? inject.factor : 1.0;
}

/* Extra work (factor - 1) x the rows: whole passes, then a part of each chunk computed once
 * more.  The part is a whole number of row blocks, so the fraction is dithered over calls:
 * each call owes frac x chunk rows plus what earlier calls left, and pays in row blocks. */
static void plan_injection(exec_ctx *c, double factor, size_t rows_per_chunk, size_t rb)
{
    double extra = factor - 1.0, whole = floor(extra + 1e-9);
    c->repeat = 1 + (int)whole;
    double owed = (extra - whole) * (double)rows_per_chunk + inject.carry;
    size_t pay = owed > 0 ? (size_t)(owed / (double)rb) * rb : 0;
    inject.carry = owed - (double)pay;
    c->extra_rows = pay;
}

static int prefetch_next_enabled(void)
{
    static int enabled = -1; /* read once: this runs inside timed regions */
    if (enabled < 0) {
        const char *e = getenv("BITBENCH_PREFETCH_NEXT");
        enabled = e && strcmp(e, "1") == 0;
    }
    return enabled;
}

void bb_gemm_exec(bb_pool *pool, const bb_kernel *k, const bb_gemm_args *a)
{
    bb_gemm_exec_next(pool, k, a, NULL, 0);
}

void bb_gemm_exec_next(bb_pool *pool, const bb_kernel *k, const bb_gemm_args *a, const void *next,
                       size_t next_bytes)
{
    int threads = bb_pool_threads(pool);
    exec_ctx c = {.k = k, .a = a, .repeat = 1};
    if (next && next_bytes && prefetch_next_enabled()) {
        c.pf_next = next;
        c.pf_next_bytes = next_bytes;
    }
    double factor = injected_factor(k);
    if (k->prepare_act) {
        if (a->n >= 2 * (size_t)threads)
            bb_pool_run(pool, exec_act, &c);
        else
            k->prepare_act(a, 0, a->n);
    }
    /* Chunks are a multiple of 16 rows (one 64-byte line of fp32 outputs, so threads
     * never share an output line) and of the kernel's row block. */
    size_t rb = k->row_block ? k->row_block : 1;
    size_t unit = 16 / gcd(16, rb) * rb;
    /* Decode streams the weights: one contiguous range per thread keeps each core's
     * prefetcher on one stream.  Measured against ggml's way (threads taking 64-row chunks
     * from a shared counter), alternating processes, 5 rounds, 2 threads, cold, Zen 5 VM
     * (2026-12-06): 64-row chunks took 1.02-1.11x the time of one range per thread for fp16
     * and int8 and 1.09-1.54x for the ternary kernels (tern1.6-avx512-madd 4096x4096:
     * 137 vs 91 us), 16-row chunks 1.08-2.75x.  Prefill (N >= 32) is compute-bound, and on a shared VM one
     * core can be slower for a while: a fixed half each made 2 threads wait for the slower
     * core (fp16 N=128 4096x4096: 26.4-44.4 ms vs ggml's dynamic chunks 21.4-42.5 ms), so
     * there the threads take PREFILL_CHUNKS chunks per thread from a shared counter. */
    c.dynamic = threads > 1 && a->n >= PREFILL_N;
    size_t parts = (size_t)threads * (c.dynamic ? PREFILL_CHUNKS : 1);
    size_t per = (a->w->m + parts - 1) / parts;
    c.chunk = bb_round_up(per, unit);
    atomic_init(&c.next, 0);
    atomic_init(&c.finished, 0);
    if (factor != 1.0)
        plan_injection(&c, factor, c.chunk < a->w->m ? c.chunk : a->w->m, rb);
    bb_pool_run(pool, exec_rows, &c);
}

/* ------------------------------------------------------------------ weights */

static size_t layout_size(const bb_kernel *k, const bb_weights *w)
{
    return k->layout_bytes ? k->layout_bytes(w) : 0;
}

/* kw's layout for kernel k, when k has one, from kw's canonical weights (freed on failure). */
static int repack_own(bb_kernel_weights *kw, const bb_kernel *k)
{
    if (k->repack) {
        kw->layout = bb_alloc(layout_size(k, &kw->w));
        if (!kw->layout) {
            bb_weights_free(&kw->w);
            return -1;
        }
        k->repack(&kw->w, kw->layout);
    }
    return 0;
}

int bb_kernel_weights_make(bb_kernel_weights *kw, const bb_kernel *k, const float *w32, size_t m,
                           size_t kk)
{
    char why[400];
    memset(kw, 0, sizeof *kw);
    if (bb_kernel_shape_check(k, m, kk, 1, why, sizeof why)) { /* before any allocation */
        fprintf(stderr, "bb_kernel_weights_make: %s\n", why);
        return -1;
    }
    if (bb_weights_alloc(&kw->w, k->format, m, kk) != 0)
        return -1;
    bb_format_get(k->format)->quantize(w32, &kw->w);
    return repack_own(kw, k);
}

static void *alloc_in(bb_arena *ar, size_t bytes) { return ar ? bb_arena_alloc(ar, bytes) : bb_alloc(bytes); }

int bb_kernel_weights_make_from(bb_kernel_weights *kw, const bb_kernel *k, const bb_weights *q)
{
    char why[400];
    memset(kw, 0, sizeof *kw);
    if (q->format != k->format || bb_kernel_shape_check(k, q->m, q->k, 1, why, sizeof why)) {
        fprintf(stderr, "bb_kernel_weights_make_from: %s\n",
                q->format != k->format ? "the weights are of another format" : why);
        return -1;
    }
    if (bb_weights_alloc(&kw->w, k->format, q->m, q->k) != 0)
        return -1;
    memcpy(kw->w.data, q->data, q->m * q->row_bytes);
    memcpy(kw->w.scales, q->scales, (q->n_scales ? q->n_scales : 1) * sizeof(float));
    return repack_own(kw, k);
}

int bb_kernel_weights_clone(bb_kernel_weights *dst, const bb_kernel_weights *src, const bb_kernel *k,
                            bb_arena *ar)
{
    memset(dst, 0, sizeof *dst);
    dst->w = src->w;
    dst->w.data = NULL;
    size_t scale_bytes = (src->w.n_scales ? src->w.n_scales : 1) * sizeof(float);
    if (!(dst->w.scales = alloc_in(ar, scale_bytes)))
        return -1;
    memcpy(dst->w.scales, src->w.scales, scale_bytes);
    if (src->layout) {
        dst->w.data = src->w.data;
        dst->shares_data = true;
        size_t bytes = layout_size(k, &src->w);
        if (!(dst->layout = alloc_in(ar, bytes))) {
            if (!ar)
                bb_kernel_weights_free(dst);
            return -1;
        }
        memcpy(dst->layout, src->layout, bytes);
        return 0;
    }
    if (!(dst->w.data = alloc_in(ar, src->w.m * src->w.row_bytes))) {
        if (!ar)
            bb_kernel_weights_free(dst);
        return -1;
    }
    memcpy(dst->w.data, src->w.data, src->w.m * src->w.row_bytes);
    return 0;
}

void bb_kernel_weights_free(bb_kernel_weights *kw)
{
    if (kw->shares_data)
        kw->w.data = NULL; /* the original's */
    bb_weights_free(&kw->w);
    bb_free(kw->layout);
    kw->layout = NULL;
}

size_t bb_kernel_weights_stream_bytes(const bb_kernel_weights *kw, const bb_kernel *k)
{
    return kw->layout ? layout_size(k, &kw->w) : kw->w.m * kw->w.row_bytes;
}

uint64_t bb_kernel_weights_bytes(const bb_kernel *k, size_t m, size_t kk)
{
    bb_work work;
    bb_kernel_work(k, m, kk, 1, &work);
    uint64_t canonical = bb_weights_bytes(k->format, m, kk);
    return canonical + (k->layout_bytes ? work.weight_bytes : 0);
}

/* ------------------------------------------------------------------ io */

uint64_t bb_gemm_io_bytes(const bb_kernel *k, size_t m, size_t kk, size_t n)
{
    uint64_t x = (uint64_t)bb_k_stride(kk) * n * sizeof(float);
    uint64_t y = (uint64_t)m * n * sizeof(float);
    uint64_t act = k->act_bytes ? k->act_bytes(kk, n) : 0;
    return x + y + act;
}

int bb_gemm_io_make(bb_gemm_io *io, const bb_kernel *k, size_t m, size_t kk, size_t n, uint64_t seed)
{
    char why[400];
    memset(io, 0, sizeof *io);
    if (bb_kernel_shape_check(k, m, kk, n, why, sizeof why)) { /* before any allocation */
        fprintf(stderr, "bb_gemm_io_make: %s\n", why);
        return -1;
    }
    io->x_stride = bb_k_stride(kk);
    io->x = bb_alloc(io->x_stride * n * sizeof(float));
    io->y = bb_alloc(m * n * sizeof(float));
    io->act = k->act_bytes ? bb_alloc(k->act_bytes(kk, n)) : NULL;
    if (!io->x || !io->y || (k->act_bytes && !io->act)) {
        bb_gemm_io_free(io);
        return -1;
    }
    for (size_t t = 0; t < n; t++)
        bb_rng_fill(io->x + t * io->x_stride, kk, 1.0f, seed * 7919 + t + 1);
    return 0;
}

void bb_gemm_io_free(bb_gemm_io *io)
{
    bb_free(io->x);
    bb_free(io->y);
    bb_free(io->act);
    memset(io, 0, sizeof *io);
}

/* ------------------------------------------------------------------ check */

/* Exact product of the dequantized operands for one (row, token), and sum |w x|. */
static void exact_dot(const bb_weights *w, size_t row, const float *x, const bb_act_q8 *q,
                      size_t t, double *dot, double *abs_sum)
{
    double s = 0, a = 0;
    for (size_t i = 0; i < w->k; i++) {
        double xv = q ? (double)q->q[t * q->k_stride + i] * q->scale[t] : (double)x[i];
        double p = bb_weight_value(w, row, i) * xv;
        s += p;
        a += fabs(p);
    }
    *dot = s;
    *abs_sum = a;
}

static bool same_bits(float a, float b) { return memcmp(&a, &b, sizeof a) == 0; }

static void compare_with_reference(const float *y, const float *yref, size_t count, bool exact,
                                   double tol, bb_check *out)
{
    for (size_t i = 0; i < count; i++) {
        bool ok = exact ? same_bits(y[i], yref[i]) : fabs((double)y[i] - yref[i]) <= tol;
        if (!ok && out->mismatches++ == 0)
            snprintf(out->detail, sizeof out->detail,
                     "output %zu differs from the reference kernel: %.9g vs %.9g", i, y[i], yref[i]);
    }
}

void bb_gemm_check(bb_pool *pool, const bb_kernel *k, const bb_kernel_weights *kw, const float *x,
                   size_t x_stride, size_t n, bb_check *out)
{
    const bb_weights *w = &kw->w;
    const bb_format *f = bb_format_get(k->format);
    const bb_kernel *ref = bb_kernel_reference(k->format);
    size_t m = w->m;
    memset(out, 0, sizeof *out);
    out->bit_exact = f->act == BB_ACT_Q8;

    float *y = bb_alloc(m * n * sizeof(float)), *yref = bb_alloc(m * n * sizeof(float));
    void *act = k->act_bytes ? bb_alloc(k->act_bytes(w->k, n)) : NULL;
    void *ref_act = bb_alloc(bb_act_q8_bytes(w->k, n));
    bb_gemm_args a = {.w = w, .layout = bb_kernel_weights_stream(kw), .x = x,
                      .x_stride = x_stride, .y = y, .y_stride = m, .n = n, .act = act};
    bb_gemm_exec(pool, k, &a);
    bb_gemm_args ra = {.w = w, .layout = w->data, .x = x, .x_stride = x_stride, .y = yref,
                       .y_stride = m, .n = n, .act = ref_act};
    bb_kernel_gemm(ref, &ra);

    /* The double-precision product on up to 64 rows spread over M. */
    bb_act_q8 q = bb_act_q8_view(ref_act, w->k, n);
    size_t step = m > 64 ? m / 64 : 1;
    double u = 0x1.0p-24, K = (double)w->k, gamma = K * u / (1.0 - K * u);
    double worst_ref_tol = 0, worst_y = 0, worst_exact = 0;
    size_t worst_r = 0, worst_t = 0;
    for (size_t r = 0; r < m; r += step, out->rows_vs_double++)
        for (size_t t = 0; t < n; t++) {
            double exact, abs_sum;
            exact_dot(w, r, x + t * x_stride, f->act == BB_ACT_Q8 ? &q : NULL, t, &exact, &abs_sum);
            /* The double "exact" sum has its own rounding: at most K 2^-53 sum|w x|. */
            double own = K * 0x1.0p-52 * abs_sum;
            double bound = (f->act == BB_ACT_Q8 ? 4 * u * fabs(exact) : gamma * abs_sum) + own + FLT_MIN;
            double err = fabs((double)y[t * m + r] - exact);
            if (err > out->max_abs_err)
                out->max_abs_err = err;
            if (err / bound > out->max_err_ratio) {
                out->max_err_ratio = err / bound;
                worst_r = r, worst_t = t, worst_y = y[t * m + r], worst_exact = exact;
            }
            if (2 * bound > worst_ref_tol)
                worst_ref_tol = 2 * bound;
        }
    /* fp16: kernel and reference may sum in different orders; each is within the bound
     * of the exact value, so they are within twice the largest bound of each other. */
    compare_with_reference(y, yref, m * n, out->bit_exact, worst_ref_tol, out);
    out->passed = out->mismatches == 0 && out->max_err_ratio <= 1.0 && !isnan(out->max_err_ratio);
    if (out->passed)
        snprintf(out->detail, sizeof out->detail, "%s",
                 out->bit_exact ? "bit-exact vs the scalar reference; within 4u of the exact product"
                                : "within gamma_K * sum|w x| of the exact product (u = 2^-24)");
    else if (out->mismatches == 0)
        snprintf(out->detail, sizeof out->detail,
                 "row %zu token %zu: %.9g vs exact %.9g, error %.3g times the bound", worst_r, worst_t,
                 worst_y, worst_exact, out->max_err_ratio);
    bb_free(y);
    bb_free(yref);
    bb_free(act);
    bb_free(ref_act);
}
