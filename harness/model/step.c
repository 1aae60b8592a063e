/* harness/model/step.c - one decoder step of a LLaMA-alike model: linear layers through the format's kernel, the rest through kernels/step_ops.h (see step.h). */
#include "step.h"

#include "../core/gemm_run.h"
#include "../base/rng.h"
#include "../base/stats.h"
#include "../core/clock.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ buffers */

static size_t head_dim(const bb_model *m) { return bb_model_head_dim(m); }

uint64_t bb_step_act_bytes(const bb_model *m, const bb_kernel *kn, const bb_kernel *head_kn, size_t rows)
{
    bb_proj p[BB_PROJ_COUNT];
    uint64_t best = 0;
    bb_model_projections(m, p);
    for (int i = 0; i < BB_PROJ_COUNT; i++)
        if (kn->act_bytes && kn->act_bytes(p[i].k, rows) > best)
            best = kn->act_bytes(p[i].k, rows);
    if (head_kn && head_kn->act_bytes && head_kn->act_bytes(m->hidden, rows) > best)
        best = head_kn->act_bytes(m->hidden, rows);
    return best;
}

static size_t scratch_stride(size_t max_ctx)
{
    return bb_round_up(bb_attn_scratch_floats(max_ctx), BB_ALIGN / sizeof(float));
}

uint64_t bb_step_bufs_bytes(const bb_model *m, const bb_kernel *kn, const bb_kernel *head_kn, size_t max_rows,
                            size_t max_ctx, size_t max_tok, int threads)
{
    uint64_t hs = bb_k_stride(m->hidden), kvs = bb_k_stride(bb_model_kv_dim(m)), fs = bb_k_stride(m->ffn);
    uint64_t floats = (uint64_t)max_rows * (6 * hs + 2 * kvs + 2 * fs + (head_kn ? m->vocab : 0));
    floats += (uint64_t)threads * scratch_stride(max_ctx) + (uint64_t)max_tok * head_dim(m);
    return floats * sizeof(float) + bb_step_act_bytes(m, kn, head_kn, max_rows) + 13 * BB_ALIGN;
}

int bb_step_bufs_alloc(bb_step_bufs *b, const bb_model *m, const bb_kernel *kn, const bb_kernel *head_kn,
                       size_t max_rows, size_t max_ctx, size_t max_tok, int threads)
{
    memset(b, 0, sizeof *b);
    b->hs = bb_k_stride(m->hidden);
    b->kvs = bb_k_stride(bb_model_kv_dim(m));
    b->fs = bb_k_stride(m->ffn);
    b->vocab = head_kn ? m->vocab : 0;
    b->max_rows = max_rows ? max_rows : 1;
    b->max_tok = max_tok ? max_tok : 1;
    b->threads = threads < 1 ? 1 : threads;
    b->scratch_stride = scratch_stride(max_ctx);
    size_t r = b->max_rows;
    /* bb_alloc zeroes: the strides' padding stays zero, as the kernels require */
    float **hid[] = {&b->x, &b->xn, &b->q, &b->att, &b->o};
    for (size_t i = 0; i < sizeof hid / sizeof hid[0]; i++)
        *hid[i] = bb_alloc(r * b->hs * sizeof(float));
    b->k = bb_alloc(r * b->kvs * sizeof(float));
    b->v = bb_alloc(r * b->kvs * sizeof(float));
    b->gate = bb_alloc(r * b->fs * sizeof(float));
    b->up = bb_alloc(r * b->fs * sizeof(float));
    b->logits = head_kn ? bb_alloc(r * m->vocab * sizeof(float)) : NULL;
    uint64_t act = bb_step_act_bytes(m, kn, head_kn, r);
    b->act = act ? bb_alloc(act) : NULL;
    b->scratch = bb_alloc((size_t)b->threads * b->scratch_stride * sizeof(float));
    b->rope = bb_alloc(b->max_tok * head_dim(m) * sizeof(float));
    b->rope_tok = 0;
    if (!b->x || !b->xn || !b->q || !b->att || !b->o || !b->k || !b->v || !b->gate || !b->up ||
        (head_kn && !b->logits) || (act && !b->act) || !b->scratch || !b->rope) {
        bb_step_bufs_free(b);
        return -1;
    }
    return 0;
}

void bb_step_bufs_free(bb_step_bufs *b)
{
    float **all[] = {&b->x, &b->xn, &b->q, &b->k, &b->v, &b->att, &b->o, &b->gate, &b->up, &b->logits,
                     &b->scratch, &b->rope};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        bb_free(*all[i]);
        *all[i] = NULL;
    }
    bb_free(b->act);
    b->act = NULL;
}

void bb_step_fill_x(bb_step_bufs *b, size_t rows, size_t hidden, uint64_t seed)
{
    /* bb_rng_fill's values have RMS 1/sqrt(3) per unit scale */
    for (size_t t = 0; t < rows; t++)
        bb_rng_fill(b->x + t * b->hs, hidden, (float)sqrt(3.0), seed * 7919 + t + 1);
}

void bb_step_fill_cache(uint16_t *c, size_t n, uint64_t seed)
{
    /* one seeded pattern of 8191 halves (a prime: no alignment with head_dim or kv_dim),
     * repeated: writing gigabytes of cache must cost a memcpy, not a generator */
    enum { PATTERN = 8191 };
    float f[PATTERN];
    uint16_t h[PATTERN];
    bb_rng_fill(f, PATTERN, (float)sqrt(3.0), seed + 424242);
    for (size_t i = 0; i < PATTERN; i++)
        h[i] = bb_fp32_to_fp16(f[i]);
    for (size_t i = 0; i < n; i += PATTERN)
        memcpy(c + i, h, (n - i < PATTERN ? n - i : PATTERN) * sizeof *h);
}

uint64_t bb_step_kv_layer_bytes(const bb_model *m, size_t n_seq, size_t cap)
{
    return 2ull * n_seq * cap * bb_model_kv_dim(m) * 2ull;
}

bool bb_step_finite(const float *v, size_t rows, size_t cols, size_t stride)
{
    for (size_t r = 0; r < rows; r++)
        for (size_t i = 0; i < cols; i++)
            if (!isfinite(v[r * stride + i]))
                return false;
    return true;
}

int bb_step_validate(const bb_step_geom *g, const bb_step_bufs *b, char *err, size_t errlen)
{
    size_t rows = g->n_seq * g->n_tok;
    if (!g->n_seq || !g->n_tok || rows > b->max_rows) {
        snprintf(err, errlen, "%zu sequences x %zu tokens: the buffers hold %zu rows", g->n_seq, g->n_tok,
                 b->max_rows);
        return -1;
    }
    if (!g->matmul_only && (g->pos0 + g->n_tok > g->cap || g->n_tok > b->max_tok ||
                            bb_attn_scratch_floats(g->pos0 + g->n_tok) > b->scratch_stride)) {
        snprintf(err, errlen, "positions %zu..%zu exceed the cache (%zu) or the scratch", g->pos0,
                 g->pos0 + g->n_tok - 1, g->cap);
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ parallel pieces */

/* y = W x through k; `next` (NULL: none) is the matrix the step reads after this one: its
 * first bytes are prefetched as the threads finish (bb_gemm_exec_next). */
static void gemm(bb_pool *pool, const bb_kernel *k, const bb_step_mat *w, const float *x, size_t xs, float *y,
                 size_t ys, size_t n, void *act, const bb_step_mat *next)
{
    bb_gemm_args a = {.w = w->w, .layout = w->layout ? w->layout : w->w->data, .x = x, .x_stride = xs, .y = y,
                      .y_stride = ys, .n = n, .act = act};
    if (next && next->layout && next->bytes)
        bb_gemm_exec_next(pool, k, &a, next->layout, next->bytes);
    else
        bb_gemm_exec(pool, k, &a);
}

typedef enum { OP_NORM, OP_ROPE_STORE, OP_ADD, OP_SILU } row_op;

typedef struct rows_job {
    row_op op;
    const bb_step_geom *g;
    bb_step_bufs *b;
    const bb_step_layer *l;
    float *dst;
    const float *src;
    size_t stride, cols, rows;
} rows_job;

static void rows_range(const rows_job *j, size_t r0, size_t r1)
{
    const bb_step_ops *ops = j->g->ops;
    const bb_model *m = j->g->model;
    size_t hd = head_dim(m), kvd = bb_model_kv_dim(m);
    for (size_t r = r0; r < r1; r++)
        switch (j->op) {
        case OP_NORM:
            ops->rmsnorm(j->src + r * j->stride, NULL, j->cols, BB_STEP_NORM_EPS, j->dst + r * j->stride);
            break;
        case OP_ADD:
            ops->add(j->dst + r * j->stride, j->src + r * j->stride, j->cols);
            break;
        case OP_SILU:
            ops->silu_mul(j->dst + r * j->stride, j->src + r * j->stride, j->cols, j->dst + r * j->stride);
            break;
        case OP_ROPE_STORE: {
            size_t s = r / j->g->n_tok, t = r % j->g->n_tok;
            const float *cs = j->b->rope + t * hd;
            float *q = j->b->q + r * j->b->hs, *k = j->b->k + r * j->b->kvs, *v = j->b->v + r * j->b->kvs;
            ops->rope(q, m->heads, hd, cs);
            ops->rope(k, m->kv_heads, hd, cs);
            size_t at = (s * j->g->cap + j->g->pos0 + t) * kvd;
            ops->to_fp16(k, kvd, j->l->k_cache + at);
            ops->to_fp16(v, kvd, j->l->v_cache + at);
            break;
        }
        }
}

static void rows_worker(void *p, int tid, int nt)
{
    const rows_job *j = p;
    size_t per = (j->rows + (size_t)nt - 1) / (size_t)nt;
    size_t r0 = (size_t)tid * per, r1 = r0 + per > j->rows ? j->rows : r0 + per;
    if (r0 < r1)
        rows_range(j, r0, r1);
}

/* Row-wise operations: inline for few rows (a pool wake-up costs more than the work). */
static void run_rows(bb_pool *pool, rows_job *j)
{
    if (j->rows >= 4 * (size_t)bb_pool_threads(pool))
        bb_pool_run(pool, rows_worker, j);
    else
        rows_range(j, 0, j->rows);
}

typedef struct attn_job {
    const bb_step_geom *g;
    bb_step_bufs *b;
    const bb_step_layer *l;
} attn_job;

/* Units are (sequence, head) pairs; each thread takes a contiguous run of them. */
static void attn_worker(void *p, int tid, int nt)
{
    const attn_job *j = p;
    const bb_model *m = j->g->model;
    size_t heads = m->heads, units = j->g->n_seq * heads, kvd = bb_model_kv_dim(m);
    size_t per = (units + (size_t)nt - 1) / (size_t)nt;
    size_t u0 = (size_t)tid * per, u1 = u0 + per > units ? units : u0 + per;
    while (u0 < u1) {
        size_t s = u0 / heads, h0 = u0 % heads, h1 = heads;
        if (s * heads + h1 > u1)
            h1 = u1 - s * heads;
        size_t row = s * j->g->n_tok;
        bb_attn_args a = {.q = j->b->q + row * j->b->hs, .q_stride = j->b->hs,
                          .k_cache = j->l->k_cache + s * j->g->cap * kvd,
                          .v_cache = j->l->v_cache + s * j->g->cap * kvd, .n_heads = heads,
                          .n_kv_heads = m->kv_heads, .head_dim = head_dim(m), .n_tok = j->g->n_tok,
                          .pos0 = j->g->pos0, .out = j->b->att + row * j->b->hs, .out_stride = j->b->hs,
                          .scratch = j->b->scratch + (size_t)tid * j->b->scratch_stride};
        j->g->ops->attention(&a, h0, h1);
        u0 = s * heads + h1;
    }
}

/* ------------------------------------------------------------------ the step */

static void rope_table(const bb_step_geom *g, bb_step_bufs *b)
{
    size_t hd = head_dim(g->model);
    if (b->rope_tok == g->n_tok && b->rope_pos0 == g->pos0)
        return;
    for (size_t t = 0; t < g->n_tok; t++)
        bb_rope_table(g->pos0 + t, hd, BB_STEP_ROPE_THETA, b->rope + t * hd);
    b->rope_pos0 = g->pos0;
    b->rope_tok = g->n_tok;
}

static double lap(uint64_t *t)
{
    uint64_t now = bb_now_ns();
    double d = (double)(now - *t);
    *t = now;
    return d;
}

/* The suite's earlier step: projections only, activations chained without norms. */
static void matmul_only_layer(bb_pool *pool, const bb_step_geom *g, bb_step_bufs *b, const bb_step_layer *l,
                              bb_step_split *t)
{
    const bb_kernel *k = g->kn;
    size_t n = g->n_seq * g->n_tok;
    uint64_t t0 = bb_now_ns();
    gemm(pool, k, &l->proj[BB_PROJ_Q], b->x, b->hs, b->q, b->hs, n, b->act, &l->proj[BB_PROJ_K]);
    gemm(pool, k, &l->proj[BB_PROJ_K], b->x, b->hs, b->k, b->kvs, n, b->act, &l->proj[BB_PROJ_V]);
    gemm(pool, k, &l->proj[BB_PROJ_V], b->x, b->hs, b->v, b->kvs, n, b->act, &l->proj[BB_PROJ_O]);
    gemm(pool, k, &l->proj[BB_PROJ_O], b->q, b->hs, b->o, b->hs, n, b->act, &l->proj[BB_PROJ_GATE]);
    gemm(pool, k, &l->proj[BB_PROJ_GATE], b->o, b->hs, b->gate, b->fs, n, b->act, &l->proj[BB_PROJ_UP]);
    gemm(pool, k, &l->proj[BB_PROJ_UP], b->o, b->hs, b->up, b->fs, n, b->act, &l->proj[BB_PROJ_DOWN]);
    gemm(pool, k, &l->proj[BB_PROJ_DOWN], b->gate, b->fs, b->xn, b->hs, n, b->act, l->next_q);
    t->linear_ns += lap(&t0);
    float *s = b->x;
    b->x = b->xn;
    b->xn = s;
}

void bb_step_layer_run(bb_pool *pool, const bb_step_geom *g, bb_step_bufs *b, const bb_step_layer *l,
                       bb_step_split *t)
{
    if (g->matmul_only) {
        matmul_only_layer(pool, g, b, l, t);
        return;
    }
    const bb_kernel *k = g->kn;
    const bb_model *m = g->model;
    size_t n = g->n_seq * g->n_tok;
    rope_table(g, b); /* once per geometry, outside the clock's laps below */
    uint64_t t0 = bb_now_ns();
    rows_job norm = {.op = OP_NORM, .g = g, .b = b, .l = l, .dst = b->xn, .src = b->x, .stride = b->hs,
                     .cols = m->hidden, .rows = n};
    run_rows(pool, &norm);
    t->other_ns += lap(&t0);
    gemm(pool, k, &l->proj[BB_PROJ_Q], b->xn, b->hs, b->q, b->hs, n, b->act, &l->proj[BB_PROJ_K]);
    gemm(pool, k, &l->proj[BB_PROJ_K], b->xn, b->hs, b->k, b->kvs, n, b->act, &l->proj[BB_PROJ_V]);
    gemm(pool, k, &l->proj[BB_PROJ_V], b->xn, b->hs, b->v, b->kvs, n, b->act, &l->proj[BB_PROJ_O]);
    t->linear_ns += lap(&t0);
    rows_job rope = {.op = OP_ROPE_STORE, .g = g, .b = b, .l = l, .rows = n};
    run_rows(pool, &rope);
    t->other_ns += lap(&t0);
    attn_job aj = {.g = g, .b = b, .l = l};
    if (g->n_seq * m->heads >= 2 * (size_t)bb_pool_threads(pool) || g->n_tok > 1)
        bb_pool_run(pool, attn_worker, &aj);
    else
        attn_worker(&aj, 0, 1);
    t->attention_ns += lap(&t0);
    gemm(pool, k, &l->proj[BB_PROJ_O], b->att, b->hs, b->o, b->hs, n, b->act, &l->proj[BB_PROJ_GATE]);
    t->linear_ns += lap(&t0);
    rows_job add = {.op = OP_ADD, .g = g, .b = b, .dst = b->x, .src = b->o, .stride = b->hs, .cols = m->hidden,
                    .rows = n};
    run_rows(pool, &add);
    run_rows(pool, &norm);
    t->other_ns += lap(&t0);
    gemm(pool, k, &l->proj[BB_PROJ_GATE], b->xn, b->hs, b->gate, b->fs, n, b->act, &l->proj[BB_PROJ_UP]);
    gemm(pool, k, &l->proj[BB_PROJ_UP], b->xn, b->hs, b->up, b->fs, n, b->act, &l->proj[BB_PROJ_DOWN]);
    t->linear_ns += lap(&t0);
    rows_job silu = {.op = OP_SILU, .g = g, .b = b, .dst = b->gate, .src = b->up, .stride = b->fs,
                     .cols = m->ffn, .rows = n};
    run_rows(pool, &silu);
    t->other_ns += lap(&t0);
    gemm(pool, k, &l->proj[BB_PROJ_DOWN], b->gate, b->fs, b->o, b->hs, n, b->act, l->next_q);
    t->linear_ns += lap(&t0);
    run_rows(pool, &add);
    t->other_ns += lap(&t0);
}

void bb_step_head_run(bb_pool *pool, const bb_step_geom *g, bb_step_bufs *b, const bb_step_mat *head,
                      bb_step_split *t)
{
    size_t n = g->n_seq * g->n_tok;
    uint64_t t0 = bb_now_ns();
    const float *in = b->x;
    if (!g->matmul_only) {
        rows_job norm = {.op = OP_NORM, .g = g, .b = b, .dst = b->xn, .src = b->x, .stride = b->hs,
                         .cols = g->model->hidden, .rows = n};
        run_rows(pool, &norm);
        in = b->xn;
        t->other_ns += lap(&t0);
    }
    gemm(pool, g->head_kn, head, in, b->hs, b->logits, b->vocab, n, b->act, NULL);
    t->linear_ns += lap(&t0);
}
