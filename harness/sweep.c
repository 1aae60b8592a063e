#include "sweep.h"

#include "bandwidth.h"
#include "cache.h"
#include "gemm_run.h"
#include "machine.h"
#include "openergy.h"
#include "pool.h"
#include "probe.h"
#include "rng.h"
#include "stats.h"
#include "roofs.h"
#include "tune.h"

#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

enum { HUGE_ALIGN = 2u << 20, MAX_THREADS = 256, CEILING_PASSES = 10 };
#define ASSUMED_LLC (256ull << 20) /* when the LLC size is unknown */

void bb_sweep_opts_default(bb_sweep_opts *o)
{
    memset(o, 0, sizeof *o);
    o->threads[0] = (unsigned)bb_online_cores();
    o->n_threads = 1;
    o->batches[0] = 1;
    o->n_batches = 1;
    o->budget_batch = true;
    o->mem_budget = bb_machine_mem_total();
    o->seq_len = 512;
    o->min_time = 1.0;
    o->min_reps = 5;
    o->max_reps = 1000;
    o->warmup = 1;
    o->max_row_time = 60;
    o->full_max = UINT64_MAX;
    o->lm_head = true;
    o->seed = 1;
    o->cv_warn = 0.05;
}

/* ------------------------------------------------------------------ arithmetic */

static const char *fmt_gb(double bytes, char *buf, size_t len)
{
    snprintf(buf, len, "%.2f GB", bytes / 1e9);
    return buf;
}

static uint64_t div_up(uint64_t a, uint64_t b) { return (a + b - 1) / b; }

void bb_sweep_rotation(uint64_t layer_bytes, uint64_t head_bytes, unsigned layers, uint64_t llc,
                       uint64_t full_max, bool warm, bb_rotation *out)
{
    uint64_t target = BB_SWEEP_LLC_MULTIPLE * (llc ? llc : ASSUMED_LLC);
    uint64_t model = layer_bytes * layers + head_bytes;
    uint64_t copies = warm ? 1 : div_up(target, model ? model : 1);
    memset(out, 0, sizeof *out);
    if (copies < 1)
        copies = 1;
    if (model <= full_max / copies) {
        out->full = true;
        out->layers_per_sample = layers;
        out->unit_bytes = model;
    } else {
        out->layers_per_sample = 1;
        out->unit_bytes = layer_bytes + head_bytes;
        copies = warm ? 1 : div_up(target, out->unit_bytes ? out->unit_bytes : 1);
        if (copies < 1)
            copies = 1;
    }
    out->copies = (unsigned)copies;
    out->rotation_bytes = copies * out->unit_bytes;
}

double bb_sweep_extrapolate(double layers_ns, double head_ns, unsigned layers, unsigned layers_per_sample)
{
    return layers_ns * ((double)layers / (double)layers_per_sample) + head_ns;
}

size_t bb_sweep_check_rows(size_t m) { return m <= 512 ? m : 256 + m % 256; }

/* ------------------------------------------------------------------ plan */

static uint64_t model_weight_total(const bb_model *m, bb_format_id f)
{
    bb_model_bytes b;
    bb_model_weight_bytes(m, f, &b);
    return b.total;
}

static uint64_t budget_batch_of(const bb_sweep_opts *o, const bb_model *m, bb_format_id f)
{
    return bb_model_max_batch(model_weight_total(m, f), bb_model_kv_bytes_per_seq(m, o->seq_len, 2),
                              o->mem_budget);
}

void bb_sweep_key(const bb_sweep_opts *o, const bb_sweep_row *r, char *buf, size_t len)
{
    snprintf(buf, len, "%s|%s|%s|t%u|b%" PRIu64 "%s|%s|%s", r->model->name, bb_formats[r->format].name,
             r->kernel ? r->kernel->name : "none", r->threads, r->batch, r->budget ? "|budget" : "",
             o->lm_head ? "head" : "nohead", o->warm ? "warm" : "cold");
}

int bb_sweep_plan(const bb_sweep_opts *o, bb_sweep_row **rows_out, size_t *n_out, char *err, size_t errlen)
{
    size_t per = o->n_threads * (o->n_batches + (o->budget_batch ? 1 : 0));
    size_t cap = o->n_models * o->n_formats * per;
    bb_sweep_row *rows = calloc(cap ? cap : 1, sizeof *rows);
    size_t n = 0;
    bool any_fits = false;
    if (!rows) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t mi = 0; mi < o->n_models; mi++)
        for (size_t fi = 0; fi < o->n_formats; fi++) {
            const bb_model *m = &o->models[mi];
            bb_format_id f = o->formats[fi];
            const bb_kernel *k = bb_select_kernel_model(bb_formats[f].name, m, o->threads, o->n_threads, NULL);
            uint64_t budget_batch = o->budget_batch ? budget_batch_of(o, m, f) : 0;
            any_fits |= budget_batch > 0;
            if (!k) {
                snprintf(err, errlen, "no runnable kernel for format %s under --isa %s", bb_formats[f].name,
                         bb_isa_name(bb_isa_cap()));
                free(rows);
                return -1;
            }
            /* Batches ascending within a (model, format): when a large batch makes a full
             * step too slow, the group switches to extrapolation once and stays there. */
            for (size_t bi = 0; bi < o->n_batches + (o->budget_batch ? 1 : 0); bi++) {
                for (size_t ti = 0; ti < o->n_threads; ti++) {
                    bb_sweep_row *r = &rows[n++];
                    r->model = m;
                    r->format = f;
                    r->kernel = k;
                    r->threads = o->threads[ti];
                    r->budget = bi == o->n_batches;
                    r->batch = r->budget ? budget_batch : o->batches[bi];
                    bb_sweep_key(o, r, r->key, sizeof r->key);
                }
            }
        }
    if (o->budget_batch && !any_fits && n) {
        uint64_t smallest = UINT64_MAX;
        for (size_t mi = 0; mi < o->n_models; mi++)
            for (size_t fi = 0; fi < o->n_formats; fi++) {
                uint64_t need = model_weight_total(&o->models[mi], o->formats[fi]) +
                                bb_model_kv_bytes_per_seq(&o->models[mi], o->seq_len, 2);
                smallest = need < smallest ? need : smallest;
            }
        snprintf(err, errlen,
                 "--mem-budget %" PRIu64 " bytes (%.2f GB) is too small: no model and format fits its weights "
                 "plus the KV cache of one sequence of %u tokens (the smallest needs %.2f GB)",
                 o->mem_budget, (double)o->mem_budget / 1e9, o->seq_len, (double)smallest / 1e9);
        free(rows);
        return -1;
    }
    *rows_out = rows;
    *n_out = n;
    return 0;
}

/* ------------------------------------------------------------------ weights */

/* The weights of every group come from one arena that outlives the groups.  First touch
 * of fresh memory is the dearest part of building gigabytes of weights (the kernel zeroes
 * every page; in a VM several times slower than a memcpy), so the pages that one group
 * touched are handed to the next, and only what a group does not need is returned. */
typedef struct arena {
    uint8_t **base;
    size_t *size;
    size_t n, cap;
    size_t cur, off; /* allocation point: chunk, offset */
} arena;

#define ARENA_CHUNK (256ull << 20)

static uint64_t arena_bytes(const arena *a)
{
    uint64_t t = 0;
    for (size_t i = 0; i < a->n; i++)
        t += a->size[i];
    return t;
}

/* Not zeroed: every caller writes all of it. */
static void *arena_alloc(arena *a, size_t bytes)
{
    size_t align = bytes >= HUGE_ALIGN ? HUGE_ALIGN : BB_ALIGN;
    for (; a->cur < a->n; a->cur++, a->off = 0) {
        size_t off = bb_round_up(a->off, align);
        if (off + bytes <= a->size[a->cur]) {
            a->off = off + bytes;
            return a->base[a->cur] + off;
        }
    }
    if (a->n == a->cap) {
        size_t cap = a->cap ? 2 * a->cap : 16;
        uint8_t **b = realloc(a->base, cap * sizeof *b);
        if (b)
            a->base = b;
        size_t *sz = b ? realloc(a->size, cap * sizeof *sz) : NULL;
        if (!sz)
            return NULL;
        a->size = sz;
        a->cap = cap;
    }
    size_t size = bb_round_up(bytes > ARENA_CHUNK ? bytes : ARENA_CHUNK, HUGE_ALIGN);
    void *p = NULL;
    if (posix_memalign(&p, HUGE_ALIGN, size) != 0)
        return NULL;
#ifdef MADV_HUGEPAGE
    madvise(p, size, MADV_HUGEPAGE); /* a hint, as in bb_alloc */
#endif
    a->base[a->n] = p;
    a->size[a->n] = size;
    a->cur = a->n++;
    a->off = bytes;
    return p;
}

/* Starts over, keeping the first chunks up to `keep` bytes and freeing the rest. */
static void arena_rewind(arena *a, uint64_t keep)
{
    uint64_t held = 0;
    size_t i = 0;
    for (; i < a->n && held < keep; i++)
        held += a->size[i];
    for (size_t j = i; j < a->n; j++)
        free(a->base[j]);
    a->n = i;
    a->cur = a->off = 0;
}

static void arena_free(arena *a)
{
    arena_rewind(a, 0);
    free(a->base);
    free(a->size);
    memset(a, 0, sizeof *a);
}

/* One weight matrix as a kernel reads it, in the arena (check weights excepted).  Copies
 * of a kernel with its own layout share the canonical data (the kernel reads only the
 * layout) and have their own layout and scales. */
typedef struct mat {
    bb_weights w;
    void *layout;
} mat;

/* The fields bb_weights_alloc would set, with data and scales from the arena. */
static int weights_in_arena(arena *a, bb_weights *w, bb_format_id id, size_t m, size_t k)
{
    const bb_format *f = bb_format_get(id);
    memset(w, 0, sizeof *w);
    w->format = id;
    w->m = m;
    w->k = k;
    w->k_padded = bb_round_up(k, f->block);
    w->row_bytes = w->k_padded / f->block * f->block_bytes;
    w->n_scales = f->scale == BB_SCALE_PER_ROW ? m : f->scale == BB_SCALE_PER_MATRIX ? 1 : 0;
    w->data = arena_alloc(a, m * w->row_bytes);
    w->scales = arena_alloc(a, (w->n_scales ? w->n_scales : 1) * sizeof(float));
    if (!w->data || !w->scales)
        return -1;
    w->scales[0] = 0;
    return 0;
}

static uint64_t alloc_size(uint64_t bytes)
{
    return bytes >= HUGE_ALIGN ? bb_round_up(bytes, HUGE_ALIGN) : bb_round_up(bytes ? bytes : 1, BB_ALIGN);
}

/* Bytes one copy allocates (what the rotation streams), and the canonical bytes shared. */
static uint64_t copy_alloc_bytes(const bb_kernel *k, size_t m, size_t kk)
{
    bb_work work;
    bb_kernel_work(k, m, kk, 1, &work);
    if (!k->layout_bytes)
        return alloc_size(bb_weights_bytes(k->format, m, kk));
    return alloc_size(work.weight_bytes);
}

static uint64_t stream_bytes(const bb_kernel *k, size_t m, size_t kk)
{
    bb_work work;
    bb_kernel_work(k, m, kk, 1, &work);
    return work.weight_bytes;
}

/* RMS of the dequantized tile; the scales are multiplied so that it becomes 1/sqrt(K). */
static void normalize_scales(bb_weights *t)
{
    if (!t->n_scales)
        return;
    double ss = 0;
    for (size_t r = 0; r < t->m; r++)
        for (size_t i = 0; i < t->k; i++) {
            double v = bb_weight_value(t, r, i);
            ss += v * v;
        }
    double rms = sqrt(ss / ((double)t->m * (double)t->k));
    if (!(rms > 0))
        return;
    float c = (float)(1.0 / sqrt((double)t->k) / rms);
    for (size_t i = 0; i < t->n_scales; i++)
        t->scales[i] *= c;
}

/* The seeded tile of a shape: BB_SWEEP_TILE_ROWS rows quantized by the format. */
static int make_tile(bb_format_id f, size_t m, size_t k, uint64_t seed, bb_weights *tile)
{
    size_t rows = m < BB_SWEEP_TILE_ROWS ? m : BB_SWEEP_TILE_ROWS;
    float *w32 = malloc(rows * k * sizeof *w32);
    if (!w32 || bb_weights_alloc(tile, f, rows, k) != 0) {
        free(w32);
        return -1;
    }
    /* sum of 4 uniforms x 0.5 has variance 1/3: scale sqrt(3/K) gives RMS 1/sqrt(K) */
    bb_rng_fill(w32, rows * k, (float)sqrt(3.0 / (double)k), seed);
    bb_formats[f].quantize(w32, tile);
    free(w32);
    normalize_scales(tile);
    return 0;
}

/* An m-row matrix whose row r is tile row r mod tile rows, repacked for kernel k: in
 * the arena, or (ar NULL, the check weights) in memory of its own (bb_kernel_weights_free). */
static int mat_from_tile(const bb_kernel *k, const bb_weights *tile, size_t m, arena *ar, mat *out)
{
    memset(out, 0, sizeof *out);
    if (ar ? weights_in_arena(ar, &out->w, tile->format, m, tile->k) != 0
           : bb_weights_alloc(&out->w, tile->format, m, tile->k) != 0)
        return -1;
    for (size_t r = 0; r < m; r++)
        memcpy(out->w.data + r * out->w.row_bytes, tile->data + (r % tile->m) * tile->row_bytes,
               tile->row_bytes);
    if (out->w.n_scales == 1)
        out->w.scales[0] = tile->scales[0];
    else
        for (size_t r = 0; r < out->w.n_scales; r++)
            out->w.scales[r] = tile->scales[r % tile->m];
    if (k->repack) {
        size_t bytes = k->layout_bytes(&out->w);
        out->layout = ar ? arena_alloc(ar, bytes) : bb_alloc(bytes);
        if (!out->layout) {
            if (!ar)
                bb_weights_free(&out->w);
            return -1;
        }
        memset(out->layout, 0, bytes); /* repack may leave padding unwritten */
        k->repack(&out->w, out->layout);
    }
    return 0;
}

static int mat_clone(const bb_kernel *k, const mat *src, arena *ar, mat *dst)
{
    memset(dst, 0, sizeof *dst);
    dst->w = src->w;
    size_t scale_bytes = (src->w.n_scales ? src->w.n_scales : 1) * sizeof(float);
    dst->w.scales = arena_alloc(ar, scale_bytes);
    if (!dst->w.scales)
        return -1;
    memcpy(dst->w.scales, src->w.scales, scale_bytes);
    if (src->layout) {
        size_t bytes = k->layout_bytes(&src->w);
        if (!(dst->layout = arena_alloc(ar, bytes)))
            return -1;
        memcpy(dst->layout, src->layout, bytes);
        return 0;
    }
    if (!(dst->w.data = arena_alloc(ar, src->w.m * src->w.row_bytes)))
        return -1;
    memcpy(dst->w.data, src->w.data, src->w.m * src->w.row_bytes);
    return 0;
}

/* ------------------------------------------------------------------ a group */

/* Everything built once for a (model, format): weights in rotation, check weights,
 * activation buffers for the largest batch of its rows. */
typedef struct group {
    const bb_model *model;
    bb_format_id format;
    const bb_kernel *kn, *head_kn;
    bool lm_head;
    bb_proj proj[BB_PROJ_COUNT];
    int shape_of[BB_PROJ_COUNT]; /* first projection with the same M x K */
    bb_rotation rot;
    unsigned n_slots;            /* layer weight sets */
    uint64_t next_copy;          /* rotation position */
    arena *ar;                   /* where layers and heads live */
    uint64_t arena_need;         /* bytes of arena the weights take */
    mat *layers;                 /* n_slots x BB_PROJ_COUNT */
    mat *heads;                  /* rot.copies when lm_head */
    bb_kernel_weights check[BB_PROJ_COUNT + 1]; /* per distinct shape; [COUNT]: the head */
    uint64_t n_max;
    size_t hs, kvs, fs;          /* activation strides: hidden, kv, ffn */
    float *x, *xn, *q, *k, *v, *o, *gate, *up, *logits;
    void *act;
    uint64_t layer_stream, head_stream; /* bytes one layer / the head stream */
    uint64_t layer_macs, head_macs;     /* per token */
    uint64_t memory_estimate;
    bool hwm_reset;
    char hwm_note[160];
    char refuse[320];            /* non-empty: the group could not be built: why */
    char mode_reason[320];       /* why extrapolated although the model fits, or "" */
    double build_s;
} group;

/* The weights stay in the arena for the next group. */
static void group_free(group *g)
{
    free(g->layers);
    free(g->heads);
    for (int i = 0; i <= BB_PROJ_COUNT; i++)
        bb_kernel_weights_free(&g->check[i]);
    float **bufs[] = {&g->x, &g->xn, &g->q, &g->k, &g->v, &g->o, &g->gate, &g->up, &g->logits};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) {
        bb_free(*bufs[i]);
        *bufs[i] = NULL;
    }
    bb_free(g->act);
    g->act = NULL;
    g->layers = NULL;
    g->heads = NULL;
}

static size_t head_m(const group *g) { return g->model->vocab; }
static size_t head_k(const group *g) { return g->model->hidden; }

static uint64_t act_scratch_bytes(const group *g, uint64_t n)
{
    uint64_t best = 0;
    for (int p = 0; p < BB_PROJ_COUNT; p++)
        if (g->kn->act_bytes && g->kn->act_bytes(g->proj[p].k, n) > best)
            best = g->kn->act_bytes(g->proj[p].k, n);
    if (g->lm_head && g->head_kn->act_bytes && g->head_kn->act_bytes(head_k(g), n) > best)
        best = g->head_kn->act_bytes(head_k(g), n);
    return best;
}

static uint64_t io_bytes(const group *g, uint64_t n)
{
    uint64_t floats = n * (3 * g->hs + 2 * g->kvs + 2 * g->fs + (g->lm_head ? head_m(g) : 0));
    return floats * sizeof(float) + alloc_size(act_scratch_bytes(g, n)) + 9 * HUGE_ALIGN;
}

/* Shapes, rotation and the memory estimate: arithmetic only, nothing allocated. */
static void group_plan(group *g, const bb_sweep_opts *o, const bb_model *m, bb_format_id f,
                       uint64_t n_max, uint64_t llc, uint64_t usable, bool force_extrapolated)
{
    memset(g, 0, sizeof *g);
    g->model = m;
    g->format = f;
    g->kn = bb_select_kernel_model(bb_formats[f].name, m, o->threads, o->n_threads, NULL);
    g->head_kn = bb_kernel_find_best("fp16");
    g->lm_head = o->lm_head;
    g->n_max = n_max ? n_max : 1;
    bb_model_projections(m, g->proj);
    for (int p = 0; p < BB_PROJ_COUNT; p++) {
        g->shape_of[p] = p;
        for (int q = 0; q < p; q++)
            if (g->proj[q].m == g->proj[p].m && g->proj[q].k == g->proj[p].k) {
                g->shape_of[p] = q;
                break;
            }
        g->layer_stream += stream_bytes(g->kn, g->proj[p].m, g->proj[p].k);
        g->layer_macs += (uint64_t)g->proj[p].m * g->proj[p].k;
    }
    if (g->lm_head) {
        g->head_stream = stream_bytes(g->head_kn, head_m(g), head_k(g));
        g->head_macs = (uint64_t)head_m(g) * head_k(g);
    }
    g->hs = bb_k_stride(m->hidden);
    g->kvs = bb_k_stride(bb_model_kv_dim(m));
    g->fs = bb_k_stride(m->ffn);

    uint64_t limit = force_extrapolated ? 0 : o->full_max < usable ? o->full_max : usable;
    bb_sweep_rotation(g->layer_stream, g->head_stream, m->layers, llc, limit, o->warm, &g->rot);
    g->n_slots = g->rot.copies * g->rot.layers_per_sample;

    /* What the build allocates: the copies, the canonical matrices that layout kernels
     * keep (one per shape), the tiles and check weights, the activations. */
    uint64_t layer_alloc = 0, shared = 0, check = 0;
    for (int p = 0; p < BB_PROJ_COUNT; p++) {
        layer_alloc += copy_alloc_bytes(g->kn, g->proj[p].m, g->proj[p].k);
        if (g->shape_of[p] == p) {
            if (g->kn->layout_bytes)
                shared += alloc_size(bb_weights_bytes(f, g->proj[p].m, g->proj[p].k));
            check += 2 * bb_kernel_weights_bytes(g->kn, bb_sweep_check_rows(g->proj[p].m), g->proj[p].k);
        }
    }
    uint64_t head_alloc = g->lm_head ? copy_alloc_bytes(g->head_kn, head_m(g), head_k(g)) : 0;
    if (g->lm_head && g->head_kn->layout_bytes)
        shared += alloc_size(bb_weights_bytes(BB_FMT_FP16, head_m(g), head_k(g)));
    /* + a chunk: a matrix that does not fit the rest of a chunk starts the next one */
    g->arena_need = (uint64_t)g->n_slots * layer_alloc + (uint64_t)g->rot.copies * head_alloc + shared +
                    ARENA_CHUNK;
    g->memory_estimate = g->arena_need + check + io_bytes(g, g->n_max) + (64ull << 20);
}

static void reset_peak_rss(group *g)
{
    FILE *f = fopen("/proc/self/clear_refs", "w");
    g->hwm_reset = f && fputs("5", f) >= 0;
    if (f && fclose(f) != 0)
        g->hwm_reset = false;
    if (!g->hwm_reset)
        snprintf(g->hwm_note, sizeof g->hwm_note, "process peak so far (VmHWM could not be reset: %s)",
                 strerror(errno));
}

/* Builds one shape's matrices in every slot that uses it (the first use takes the
 * master itself), and its check weights. */
static int build_shape(group *g, int p, uint64_t seed)
{
    bb_weights tile;
    if (make_tile(g->format, g->proj[p].m, g->proj[p].k, seed, &tile) != 0)
        return -1;
    mat master, chk;
    /* check weights: the first check_rows rows of the same matrix, in memory of their own */
    int rc = mat_from_tile(g->kn, &tile, g->proj[p].m, g->ar, &master);
    if (rc == 0 && (rc = mat_from_tile(g->kn, &tile, bb_sweep_check_rows(g->proj[p].m), NULL, &chk)) == 0) {
        g->check[p].w = chk.w;
        g->check[p].layout = chk.layout;
    }
    bb_weights_free(&tile);
    for (unsigned s = 0; s < g->n_slots && rc == 0; s++)
        for (int q = 0; q < BB_PROJ_COUNT && rc == 0; q++) {
            if (g->shape_of[q] != p)
                continue;
            if (s + 1 == g->n_slots && q == p) /* the master itself serves the last use */
                g->layers[(size_t)s * BB_PROJ_COUNT + q] = master;
            else /* clones of a layout kernel share the master's canonical data */
                rc = mat_clone(g->kn, &master, g->ar, &g->layers[(size_t)s * BB_PROJ_COUNT + q]);
        }
    return rc;
}

static int build_heads(group *g, uint64_t seed)
{
    if (!g->lm_head)
        return 0;
    bb_weights tile;
    mat master;
    if (make_tile(BB_FMT_FP16, head_m(g), head_k(g), seed, &tile) != 0)
        return -1;
    int rc = mat_from_tile(g->head_kn, &tile, head_m(g), g->ar, &master);
    mat chk;
    if (rc == 0 && (rc = mat_from_tile(g->head_kn, &tile, bb_sweep_check_rows(head_m(g)), NULL, &chk)) == 0) {
        g->check[BB_PROJ_COUNT].w = chk.w;
        g->check[BB_PROJ_COUNT].layout = chk.layout;
    }
    bb_weights_free(&tile);
    for (unsigned c = 0; rc == 0 && c + 1 < g->rot.copies; c++)
        rc = mat_clone(g->head_kn, &master, g->ar, &g->heads[c]);
    if (rc == 0)
        g->heads[g->rot.copies - 1] = master;
    return rc;
}

static int alloc_io(group *g)
{
    uint64_t n = g->n_max;
    g->x = bb_alloc(n * g->hs * sizeof(float));
    g->xn = bb_alloc(n * g->hs * sizeof(float));
    g->q = bb_alloc(n * g->hs * sizeof(float));
    g->o = bb_alloc(n * g->hs * sizeof(float));
    g->k = bb_alloc(n * g->kvs * sizeof(float));
    g->v = bb_alloc(n * g->kvs * sizeof(float));
    g->gate = bb_alloc(n * g->fs * sizeof(float));
    g->up = bb_alloc(n * g->fs * sizeof(float));
    g->logits = g->lm_head ? bb_alloc(n * head_m(g) * sizeof(float)) : NULL;
    uint64_t act = act_scratch_bytes(g, n);
    g->act = act ? bb_alloc(act) : NULL;
    return g->x && g->xn && g->q && g->o && g->k && g->v && g->gate && g->up &&
                   (!g->lm_head || g->logits) && (!act || g->act)
               ? 0
               : -1;
}

/* Allocates and fills everything; on failure g->refuse says why. */
static void group_build(group *g, const bb_sweep_opts *o)
{
    uint64_t t0 = bb_now_ns();
    reset_peak_rss(g);
    g->layers = calloc((size_t)g->n_slots * BB_PROJ_COUNT, sizeof *g->layers);
    g->heads = calloc(g->rot.copies, sizeof *g->heads);
    int rc = g->layers && g->heads ? 0 : -1;
    uint64_t seed = o->seed * 1000003u + (uint64_t)g->format * 131 + g->model->hidden;
    for (int p = 0; p < BB_PROJ_COUNT && rc == 0; p++)
        if (g->shape_of[p] == p)
            rc = build_shape(g, p, seed + (uint64_t)p);
    if (rc == 0)
        rc = build_heads(g, seed + 97);
    if (rc == 0)
        rc = alloc_io(g);
    if (rc != 0) {
        char h[32];
        snprintf(g->refuse, sizeof g->refuse,
                 "allocation failed while building the weights (estimate %s); the machine has less "
                 "memory than MemAvailable said",
                 fmt_gb((double)g->memory_estimate, h, sizeof h));
        group_free(g);
    }
    g->build_s = (double)(bb_now_ns() - t0) / 1e9;
}

/* ------------------------------------------------------------------ a decode step */

static void gemm(bb_pool *pool, const bb_kernel *k, const mat *w, const float *x, size_t xs, float *y,
                 size_t ys, size_t n, void *act)
{
    bb_gemm_args a = {.w = &w->w, .layout = w->layout ? w->layout : w->w.data, .x = x, .x_stride = xs,
                      .y = y, .y_stride = ys, .n = n, .act = act};
    bb_gemm_exec(pool, k, &a);
}

/* One layer: q, k, v from x; o from q (stand-in for the attention output); gate and up
 * from o; down from gate; down's output is the next layer's x. */
static void layer_step(bb_pool *pool, group *g, const mat *L, size_t n)
{
    const bb_kernel *k = g->kn;
    gemm(pool, k, &L[BB_PROJ_Q], g->x, g->hs, g->q, g->hs, n, g->act);
    gemm(pool, k, &L[BB_PROJ_K], g->x, g->hs, g->k, g->kvs, n, g->act);
    gemm(pool, k, &L[BB_PROJ_V], g->x, g->hs, g->v, g->kvs, n, g->act);
    gemm(pool, k, &L[BB_PROJ_O], g->q, g->hs, g->o, g->hs, n, g->act);
    gemm(pool, k, &L[BB_PROJ_GATE], g->o, g->hs, g->gate, g->fs, n, g->act);
    gemm(pool, k, &L[BB_PROJ_UP], g->o, g->hs, g->up, g->fs, n, g->act);
    gemm(pool, k, &L[BB_PROJ_DOWN], g->gate, g->fs, g->xn, g->hs, n, g->act);
    float *t = g->x;
    g->x = g->xn;
    g->xn = t;
}

/* The next copy of the unit in the rotation (every call, estimates and warm-up included,
 * moves on, so a copy comes back only after all the others): its first `layers` layers,
 * then its head. */
static void sample(bb_pool *pool, group *g, unsigned layers, size_t n, double *layers_ns, double *head_ns)
{
    unsigned c = (unsigned)(g->next_copy++ % g->rot.copies);
    const mat *base = &g->layers[(size_t)c * g->rot.layers_per_sample * BB_PROJ_COUNT];
    uint64_t t0 = bb_now_ns();
    for (unsigned l = 0; l < layers; l++)
        layer_step(pool, g, base + (size_t)l * BB_PROJ_COUNT, n);
    uint64_t t1 = bb_now_ns();
    if (g->lm_head)
        gemm(pool, g->head_kn, &g->heads[c], g->x, g->hs, g->logits, head_m(g), n, g->act);
    uint64_t t2 = bb_now_ns();
    *layers_ns = (double)(t1 - t0);
    *head_ns = (double)(t2 - t1);
}

static void fill_inputs(group *g, size_t n, uint64_t seed)
{
    for (size_t t = 0; t < n; t++) {
        bb_rng_fill(g->x + t * g->hs, g->model->hidden, 1.0f, seed + t);
        bb_rng_fill(g->o + t * g->hs, g->model->hidden, 1.0f, seed + 7777 + t);
        bb_rng_fill(g->gate + t * g->fs, g->model->ffn, 1.0f, seed + 15555 + t);
    }
}

static bool all_finite(const float *v, size_t rows, size_t cols, size_t stride)
{
    for (size_t r = 0; r < rows; r++)
        for (size_t i = 0; i < cols; i++)
            if (!isfinite(v[r * stride + i]))
                return false;
    return true;
}

/* ------------------------------------------------------------------ JSON helpers */

static json_t *unavailable(const char *reason)
{
    return json_pack("{s:s, s:s}", "status", "unavailable", "reason", reason);
}

/* json_real refuses NaN and inf: those become null. */
static json_t *real_or_null(double v) { return isfinite(v) ? json_real(v) : json_null(); }

static void utc_now(char *buf, size_t len, const char *fmt)
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(buf, len, fmt, &tm);
}

static json_t *stats_json(const bb_summary *s)
{
    return json_pack("{s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "n", (json_int_t)s->n, "min",
                     real_or_null(s->min), "max", real_or_null(s->max), "mean", real_or_null(s->mean),
                     "median", real_or_null(s->median), "p10", real_or_null(s->p10), "p90",
                     real_or_null(s->p90), "mad", real_or_null(s->mad), "stdev", real_or_null(s->stdev),
                     "cv", real_or_null(s->cv));
}

static json_t *array_of(const double *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, real_or_null(v[i]));
    return a;
}

static uint64_t read_vm_hwm(void) { return bb_proc_kb_field("/proc/self/status", "VmHWM") * 1024; }

json_t *bb_sweep_common(const char *run_id)
{
    bb_machine m;
    bb_machine_describe(&m);
    return json_pack("{s:s, s:s, s:o, s:o}", "run_id", run_id, "git_revision", bb_git_revision(), "build",
                     bb_build_json(), "machine", bb_machine_json(&m));
}

/* ------------------------------------------------------------------ one row */

typedef struct row_result {
    const char *status; /* "ok", ... */
    char reason[512];
    json_t *check;      /* owned */
    double *layers_ns, *head_ns, *step_ns;
    size_t n_samples;
    unsigned warmup_done;
    bb_summary stats;
    json_t *warnings;   /* owned */
    json_t *probe;      /* owned: {"energy", "counters"} over the kept samples, or NULL */
    double timed_s, row_s, est_sample_s, build_s;
} row_result;

typedef struct sweep_state {
    bb_pool *pools[MAX_THREADS + 1];
    bb_bandwidth ceiling[MAX_THREADS];
    int ceiling_threads;     /* entries of ceiling[] measured */
    json_t *roofs;           /* compute roofs (harness/roofs.h), measured with the ceiling */
    char ceiling_reason[240];
    uint64_t llc;
    const char *llc_source;
    double granularity_ns;
    bb_probe *probe;         /* energy + counters around each row's kept samples */
    arena ar;                /* the weights of the group being measured */
    double row_cap;          /* seconds this row may take: --max-row-time, or less under --time-budget */
    char cap_note[96];       /* where row_cap comes from, for reasons */
} sweep_state;

static json_t *model_json(const bb_model *m)
{
    bb_model_params p;
    bb_model_params_count(m, &p);
    return json_pack("{s:s, s:i, s:i, s:i, s:i, s:i, s:i, s:s, s:{s:I, s:I, s:I, s:I, s:I}}", "name", m->name,
                     "hidden", (int)m->hidden, "ffn", (int)m->ffn, "layers", (int)m->layers, "heads",
                     (int)m->heads, "kv_heads", (int)m->kv_heads, "vocab", (int)m->vocab, "source", m->source,
                     "params", "linear", (json_int_t)p.linear, "embedding", (json_int_t)p.embedding, "head",
                     (json_int_t)p.head, "norm", (json_int_t)p.norm, "total", (json_int_t)p.total);
}

static json_t *weight_bytes_json(const bb_model *m, bb_format_id f)
{
    bb_model_bytes b;
    bb_model_weight_bytes(m, f, &b);
    return json_pack("{s:I, s:s, s:I, s:I, s:I, s:s}", "value", (json_int_t)b.total, "status", "modeled",
                     "linear", (json_int_t)b.linear, "embedding_head", (json_int_t)b.embedding_head, "norm",
                     (json_int_t)b.norm, "how",
                     "packed bytes of every layer's 7 matrices in the format (bits per weight incl. "
                     "scales and padding) + fp16 embedding + fp16 LM head + fp16 norms");
}

static json_t *budget_json(const bb_sweep_opts *o, const bb_model *m, bb_format_id f)
{
    return json_pack("{s:I, s:i, s:I, s:s, s:I, s:s}", "mem_budget_bytes", (json_int_t)o->mem_budget,
                     "seq_len", (int)o->seq_len, "kv_bytes_per_seq",
                     (json_int_t)bb_model_kv_bytes_per_seq(m, o->seq_len, 2), "kv_formula", bb_model_kv_formula,
                     "max_batch", (json_int_t)budget_batch_of(o, m, f), "what_counts",
                     "weights (modeled, weight_bytes) and the KV cache at seq_len; activations and runtime "
                     "buffers are not counted");
}

static json_t *ceiling_json(const sweep_state *st, unsigned threads)
{
    if ((int)threads > st->ceiling_threads)
        return unavailable(st->ceiling_reason[0] ? st->ceiling_reason
                                                 : "not measured for this thread count");
    const bb_bandwidth *b = &st->ceiling[threads - 1];
    char how[200], h[32];
    snprintf(how, sizeof how, "STREAM-style read of %s with %s, best of %d passes%s",
             fmt_gb((double)b->buffer_bytes, h, sizeof h), b->loads ? b->loads : "?", b->passes,
             b->validated ? ", sums validated" : ", SUM CHECK FAILED");
    return json_pack("{s:o, s:s, s:s, s:i, s:o}", "gbps", real_or_null(b->best_gbps), "status", "measured",
                     "how", how, "threads", (int)threads, "median_gbps", real_or_null(b->median_gbps));
}

static json_t *peak_rss_json(const group *g)
{
    uint64_t hwm = read_vm_hwm();
    if (!hwm)
        return unavailable("no VmHWM in /proc/self/status");
    return json_pack("{s:I, s:s, s:s, s:s}", "value", (json_int_t)hwm, "status", "measured", "how",
                     "VmHWM of /proc/self/status at the end of the row", "scope",
                     g && g->hwm_reset ? "since this model and format's weights were built (VmHWM reset "
                                         "through /proc/self/clear_refs)"
                                       : g ? g->hwm_note : "process peak so far");
}

static void set_new(json_t *o, const char *k, json_t *v) { json_object_set_new(o, k, v ? v : json_null()); }

/* The paper's method: operation counts of one decode step (every projection's reference
 * op-count model times the layers, plus the fp16 head) times energy per operation; and
 * the DRAM term separately. */
static json_t *energy_model_json(const bb_model *m, bb_format_id f, bool lm_head, uint64_t batch,
                                 uint64_t streamed)
{
    if (batch == 0)
        return unavailable("no batch fits the budget: nothing to model");
    bb_proj p[BB_PROJ_COUNT];
    bb_opcount step, one;
    memset(&step, 0, sizeof step);
    bb_model_projections(m, p);
    for (int i = 0; i < BB_PROJ_COUNT; i++) {
        bb_formats[f].opcount(p[i].m, p[i].k, batch, &one);
        bb_opcount_accumulate(&step, &one, m->layers);
    }
    if (lm_head) {
        bb_formats[BB_FMT_FP16].opcount(m->vocab, m->hidden, batch, &one);
        bb_opcount_accumulate(&step, &one, 1);
    }
    json_t *e = bb_openergy_json(&step, (double)batch);
    if (e && streamed)
        json_object_set_new(e, "dram", bb_openergy_dram_json((double)streamed, (double)batch));
    return e;
}

/* The row as SCHEMA.md describes it. */
static json_t *row_json(const bb_sweep_ctx *c, const sweep_state *st, const bb_sweep_row *r, const group *g,
                        row_result *res)
{
    const bb_sweep_opts *o = c->opts;
    const bb_model *m = r->model;
    json_t *j = json_object();
    char t[32];
    utc_now(t, sizeof t, "%Y-%m-%dT%H:%M:%SZ");
    set_new(j, "schema_version", json_integer(BB_RESULTS_SCHEMA_VERSION));
    set_new(j, "kind", json_string("sweep"));
    json_object_set(j, "run_id", json_object_get(c->common, "run_id"));
    set_new(j, "time", json_string(t));
    set_new(j, "key", json_string(r->key));
    set_new(j, "status", json_string(res->status));
    set_new(j, "reason", res->reason[0] ? json_string(res->reason) : json_null());
    json_object_set(j, "git_revision", json_object_get(c->common, "git_revision"));
    json_object_set(j, "build", json_object_get(c->common, "build"));
    json_object_set(j, "machine", json_object_get(c->common, "machine"));
    set_new(j, "format", json_string(bb_formats[r->format].name));
    set_new(j, "impl", json_string(r->kernel->name));
    bb_select_rule rule;
    bb_select_kernel_model(bb_formats[r->format].name, m, o->threads, o->n_threads, &rule);
    set_new(j, "impl_rule", json_string(rule.text));
    set_new(j, "impl_isa", json_string(bb_isa_name(r->kernel->isa)));
    set_new(j, "impl_method", json_string(r->kernel->method));
    set_new(j, "multiply_free", json_boolean(r->kernel->multiply_free));
    const bb_kernel *hk = bb_kernel_find_best("fp16");
    set_new(j, "head_impl", o->lm_head && hk ? json_string(hk->name) : json_null());
    set_new(j, "threads", json_integer(r->threads));
    bb_pool *pool = r->threads <= MAX_THREADS ? st->pools[r->threads] : NULL;
    set_new(j, "placement", pool ? json_string(bb_pool_placement(pool)) : json_null());
    set_new(j, "model", model_json(m));
    set_new(j, "batch", json_integer((json_int_t)r->batch));
    set_new(j, "batch_source", json_string(r->budget ? "budget" : "list"));
    set_new(j, "lm_head", json_boolean(o->lm_head));
    set_new(j, "warm", json_boolean(o->warm));

    bool measured = res->n_samples > 0;
    if (g) {
        set_new(j, "mode", json_string(g->rot.full ? "full" : "extrapolated"));
        set_new(j, "mode_reason", g->rot.full ? json_null() : json_string(g->mode_reason[0] ? g->mode_reason
                                                                                            : "the model does not fit --full-max or the usable memory"));
        set_new(j, "layers_per_sample", json_integer(g->rot.layers_per_sample));
        set_new(j, "layers_measured", json_integer((json_int_t)g->n_slots));
        uint64_t llc = st->llc;
        set_new(j, "rotation", json_pack("{s:i, s:I, s:o, s:o}", "copies", (int)g->rot.copies, "bytes",
                                         (json_int_t)g->rot.rotation_bytes, "llc_bytes",
                                         llc ? json_integer((json_int_t)llc) : unavailable(st->llc_source),
                                         "llc_multiple",
                                         llc ? real_or_null((double)g->rot.rotation_bytes / (double)llc)
                                             : json_null()));
        set_new(j, "extrapolation",
                g->rot.full ? json_null()
                            : json_pack("{s:i, s:s}", "factor", (int)m->layers, "formula",
                                        "step_ns = layers x layer_ns + head_ns (per sample)"));
    } else {
        const char *keys[] = {"mode", "mode_reason", "layers_per_sample", "layers_measured", "rotation",
                              "extrapolation"};
        for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
            set_new(j, keys[i], json_null());
    }
    set_new(j, "check", res->check ? json_incref(res->check) : json_null());
    set_new(j, "timing", json_pack("{s:i, s:I, s:f, s:o, s:f, s:o, s:o, s:o}", "warmup_samples",
                                   (int)res->warmup_done, "samples", (json_int_t)res->n_samples, "min_time_s",
                                   o->min_time, "timed_s", real_or_null(res->timed_s), "timer_granularity_ns",
                                   st->granularity_ns, "row_wall_s", real_or_null(res->row_s), "build_s",
                                   real_or_null(res->build_s), "estimated_sample_s",
                                   real_or_null(res->est_sample_s)));
    json_object_set_new(json_object_get(j, "timing"), "row_time_cap_s", real_or_null(st->row_cap));
    set_new(j, "samples_step_ns", array_of(res->step_ns, res->n_samples));
    set_new(j, "samples_layers_ns", array_of(res->layers_ns, res->n_samples));
    set_new(j, "samples_head_ns", o->lm_head ? array_of(res->head_ns, res->n_samples) : json_null());
    set_new(j, "stats_step_ns", measured ? stats_json(&res->stats) : json_null());
    double med = res->stats.median;
    set_new(j, "latency_ms_per_token", measured ? real_or_null(med / 1e6) : json_null());
    set_new(j, "tokens_per_s", measured ? real_or_null((double)r->batch * 1e9 / med) : json_null());
    set_new(j, "warnings", json_incref(res->warnings));

    set_new(j, "weight_bytes", weight_bytes_json(m, r->format));
    bb_model_bytes wb;
    bb_model_params params;
    bb_model_weight_bytes(m, r->format, &wb);
    bb_model_params_count(m, &params);
    set_new(j, "bits_per_weight", real_or_null((double)wb.linear * 8.0 / (double)params.linear));
    uint64_t streamed = g ? g->layer_stream * m->layers + g->head_stream : 0;
    set_new(j, "streamed_bytes_per_step", g ? json_integer((json_int_t)streamed) : json_null());
    set_new(j, "memory_estimate_bytes", g ? json_integer((json_int_t)g->memory_estimate) : json_null());
    set_new(j, "peak_rss_bytes", peak_rss_json(g));
    double gbps = measured ? (double)streamed / med : NAN;
    double ops = g ? 2.0 * (double)(g->layer_macs * m->layers + g->head_macs) * (double)r->batch : 0;
    set_new(j, "gbps", measured ? real_or_null(gbps) : json_null());
    set_new(j, "gops", measured ? real_or_null(ops / med) : json_null());
    json_t *ceil = ceiling_json(st, r->threads);
    double ceil_gbps = json_real_value(json_object_get(ceil, "gbps"));
    set_new(j, "bandwidth_ceiling", ceil);
    set_new(j, "compute_roofs", st->roofs ? json_incref(st->roofs) : json_null());
    set_new(j, "pct_of_ceiling", measured && ceil_gbps > 0 ? real_or_null(100.0 * gbps / ceil_gbps) : json_null());
    set_new(j, "budget", budget_json(o, m, r->format));
    json_t *energy = json_object_get(res->probe, "energy"), *counters = json_object_get(res->probe, "counters");
    const char *why = "the row was not measured (see status and reason)";
    set_new(j, "counters", counters ? json_incref(counters) : unavailable(why));
    set_new(j, "energy", energy ? json_incref(energy) : unavailable(why));
    set_new(j, "energy_model", energy_model_json(m, r->format, o->lm_head, r->batch, streamed));
    return j;
}

/* ------------------------------------------------------------------ check, estimate, time */

static float *seeded_x(size_t k, size_t n, uint64_t seed, size_t *stride)
{
    *stride = bb_k_stride(k);
    float *x = bb_alloc(*stride * n * sizeof(float));
    for (size_t t = 0; x && t < n; t++)
        bb_rng_fill(x + t * *stride, k, 1.0f, seed * 7919 + t + 1);
    return x;
}

/* Every distinct shape of the first layer, and the head, against the scalar reference. */
static json_t *check_group(bb_pool *pool, const group *g, size_t n_check, bool *passed)
{
    json_t *shapes = json_array();
    size_t mismatches = 0;
    double worst = 0;
    char detail[320] = "";
    *passed = true;
    for (int p = 0; p <= BB_PROJ_COUNT; p++) {
        bool head = p == BB_PROJ_COUNT;
        if (head ? !g->lm_head : g->shape_of[p] != p)
            continue;
        const bb_kernel *k = head ? g->head_kn : g->kn;
        size_t kk = head ? head_k(g) : g->proj[p].k, stride;
        char name[32];
        if (head)
            snprintf(name, sizeof name, "head");
        else
            snprintf(name, sizeof name, "%s", g->proj[p].name);
        for (int q = p + 1; !head && q < BB_PROJ_COUNT; q++)
            if (g->shape_of[q] == p && strlen(name) + strlen(g->proj[q].name) + 2 < sizeof name)
                strcat(strcat(name, "/"), g->proj[q].name);
        float *x = seeded_x(kk, n_check, (uint64_t)p + 11, &stride);
        bb_check res;
        memset(&res, 0, sizeof res);
        if (!x) {
            res.passed = false;
            snprintf(res.detail, sizeof res.detail, "out of memory for the check's activations");
        } else {
            bb_gemm_check(pool, k, &g->check[p], x, stride, n_check, &res);
        }
        bb_free(x);
        json_array_append_new(shapes, json_pack("{s:s, s:s, s:I, s:I, s:I, s:b, s:o, s:I, s:s}", "proj", name,
                                                "impl", k->name, "m", (json_int_t)g->check[p].w.m, "m_model",
                                                (json_int_t)(head ? head_m(g) : g->proj[p].m), "k",
                                                (json_int_t)kk, "passed", res.passed, "max_err_ratio",
                                                real_or_null(res.max_err_ratio), "mismatches",
                                                (json_int_t)res.mismatches, "detail", res.detail));
        mismatches += res.mismatches;
        if (res.max_err_ratio > worst)
            worst = res.max_err_ratio;
        if (!res.passed && *passed) {
            *passed = false;
            snprintf(detail, sizeof detail, "%s (%s): %s", name, k->name, res.detail);
        }
    }
    char scope[320];
    snprintf(scope, sizeof scope,
             "the first layer's distinct shapes%s, each cut to its first M' rows (M' = M up to 512, else "
             "256 + M mod 256: the same rows and ragged tail), full K, %zu token%s, threaded kernel vs "
             "the scalar reference and the double-precision product",
             g->lm_head ? " and the LM head" : "", n_check, n_check == 1 ? "" : "s");
    return json_pack("{s:b, s:s, s:I, s:I, s:o, s:s, s:o}", "passed", *passed, "scope", scope, "tokens",
                     (json_int_t)n_check, "mismatches", (json_int_t)mismatches, "max_err_ratio",
                     real_or_null(worst), "detail", *passed ? "every shape passed" : detail, "shapes", shapes);
}

/* A lower bound of the seconds one layer + head take at N tokens with `threads` threads:
 * the largest projection's check weights (cache-warm) run on this thread alone, the
 * fastest of the calls made in 5 ms, scaled by operations and divided by the threads
 * (perfect scaling).  Single-threaded on purpose: on a loaded machine a pool call waits
 * for a descheduled worker, and a few-microsecond call would then read as milliseconds. */
static double warm_estimate_s(group *g, size_t n, unsigned threads)
{
    int p = BB_PROJ_GATE;
    for (int q = 0; q < BB_PROJ_COUNT; q++)
        if (g->proj[q].m * g->proj[q].k > g->proj[p].m * g->proj[p].k)
            p = q;
    const bb_kernel_weights *cw = &g->check[g->shape_of[p]];
    bool from_ffn = g->proj[p].k == g->model->ffn, to_ffn = g->proj[p].m == g->model->ffn;
    bb_gemm_args a = {.w = &cw->w, .layout = cw->layout ? cw->layout : cw->w.data,
                      .x = from_ffn ? g->gate : g->o, .x_stride = from_ffn ? g->fs : g->hs,
                      .y = to_ffn ? g->up : g->q, .y_stride = to_ffn ? g->fs : g->hs, .n = n, .act = g->act};
    double best = INFINITY;
    uint64_t t_end = bb_now_ns() + 5000000;
    for (int rep = 0; rep < 200 && (rep < 3 || bb_now_ns() < t_end); rep++) {
        uint64_t t0 = bb_now_ns();
        bb_kernel_gemm(g->kn, &a);
        double dt = (double)(bb_now_ns() - t0);
        if (dt < best)
            best = dt;
    }
    double macs = (double)cw->w.m * (double)cw->w.k * (double)n;
    return best / macs * (double)n * (double)(g->layer_macs + g->head_macs) / 1e9 / threads;
}

/* One real layer (the first copy) and head at N tokens, timed: what an extrapolated
 * sample costs, and from it a full step (layers x layer + head). */
static void layer_estimate_s(bb_pool *pool, group *g, size_t n, double *layer_s, double *head_s)
{
    *layer_s = *head_s = INFINITY;
    /* twice (two copies when there are), the faster: one preemption must not skip a row */
    for (int i = 0; i < 2; i++) {
        double lns, hns;
        sample(pool, g, 1, n, &lns, &hns);
        if (lns + hns < (*layer_s + *head_s) * 1e9) {
            *layer_s = lns / 1e9;
            *head_s = hns / 1e9;
        }
    }
}

static void add_warning(row_result *res, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add_warning(row_result *res, const char *fmt, ...)
{
    char buf[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    json_array_append_new(res->warnings, json_string(buf));
}

/* Kept samples until min_reps and min_time are both met (or max_reps, or the row's time
 * is up), inside one probe region.  Returns 1 when stopped by the signal flag. */
static int sample_loop(bb_sweep_ctx *c, const sweep_state *st, bb_pool *pool, group *g, const bb_sweep_row *r,
                       row_result *res, uint64_t row_t0, double *timed_ns)
{
    const bb_sweep_opts *o = c->opts;
    double min_time = o->min_time;
    if (bb_probe_min_window_s(st->probe) > min_time)
        min_time = bb_probe_min_window_s(st->probe);
    char region[96];
    snprintf(region, sizeof region, "%s/%s/t%u/b%" PRIu64, g->model->name, bb_formats[g->format].name,
             r->threads, r->batch);
    double expected = res->est_sample_s * o->min_reps > min_time ? res->est_sample_s * o->min_reps : min_time;
    bb_probe_idle(st->probe, expected < st->row_cap ? expected : st->row_cap);
    bb_probe_begin(st->probe, region);
    int rc = 0;
    for (;;) {
        if (c->stop && *c->stop) {
            rc = 1;
            break;
        }
        size_t s = res->n_samples++;
        sample(pool, g, g->rot.layers_per_sample, r->batch, &res->layers_ns[s], &res->head_ns[s]);
        res->step_ns[s] = bb_sweep_extrapolate(res->layers_ns[s], res->head_ns[s], g->model->layers,
                                               g->rot.layers_per_sample);
        *timed_ns += res->layers_ns[s] + res->head_ns[s];
        if (res->n_samples >= o->max_reps)
            break;
        if (res->n_samples >= o->min_reps && *timed_ns >= min_time * 1e9)
            break;
        if ((double)(bb_now_ns() - row_t0) / 1e9 >= st->row_cap) {
            if (res->n_samples < o->min_reps)
                add_warning(res, "only %zu samples (fewer than %u): the row reached its time cap, %s",
                            res->n_samples, o->min_reps, st->cap_note);
            break;
        }
    }
    bb_probe_end(st->probe);
    /* A sample is a fraction of a step in extrapolated mode: count tokens by operations. */
    double frac = (double)(g->rot.layers_per_sample * g->layer_macs + g->head_macs) /
                  (double)(g->model->layers * g->layer_macs + g->head_macs);
    double per_sample_bytes = (double)(g->rot.layers_per_sample * g->layer_stream + g->head_stream);
    res->probe = bb_probe_result(st->probe, (double)res->n_samples,
                                 (double)res->n_samples * (double)r->batch * frac, per_sample_bytes);
    return rc;
}

static void row_warnings(const bb_sweep_opts *o, const sweep_state *st, const group *g, size_t n,
                         unsigned threads, row_result *res)
{
    if (res->stats.cv > o->cv_warn)
        add_warning(res, "CV %.1f%% > %.0f%%: noisy samples (a shared or virtual machine?); compare medians "
                         "and their spread, not single values",
                    100 * res->stats.cv, 100 * o->cv_warn);
    double shortest = INFINITY;
    for (size_t s = 0; s < res->n_samples; s++)
        if (res->layers_ns[s] + res->head_ns[s] < shortest)
            shortest = res->layers_ns[s] + res->head_ns[s];
    if (shortest < 1000 * st->granularity_ns)
        add_warning(res, "shortest sample %.0f ns is under 1000 timer ticks (%.0f ns each): timing error "
                         "above 0.1%%",
                    shortest, st->granularity_ns);
    if (!all_finite(g->x, n, g->model->hidden, g->hs) ||
        (g->lm_head && !all_finite(g->logits, n, head_m(g), head_m(g))))
        add_warning(res, "non-finite activations after the last sample: timings of NaN/inf data may "
                         "differ from real data");
    if (o->warm)
        add_warning(res, "--warm: weights were not rotated and may have been served from the cache");
    int t = (int)threads;
    if (t <= st->ceiling_threads && res->stats.median > 0 &&
        (double)(g->layer_stream * g->model->layers + g->head_stream) / res->stats.median >
            st->ceiling[t - 1].best_gbps)
        add_warning(res, "weight bytes streamed faster than the measured read ceiling: the ceiling was "
                         "measured under other load, or some weights came from a cache");
    else if (!st->llc)
        add_warning(res, "LLC size unknown (%s): the rotation assumed 256 MiB", st->llc_source);
}

/* Warm-up (discarded), then the kept samples.  Returns 1 when stopped by the signal flag. */
static int time_row(bb_sweep_ctx *c, const sweep_state *st, bb_pool *pool, group *g, const bb_sweep_row *r,
                    row_result *res, uint64_t row_t0)
{
    const bb_sweep_opts *o = c->opts;
    res->layers_ns = calloc(o->max_reps, sizeof(double));
    res->head_ns = calloc(o->max_reps, sizeof(double));
    res->step_ns = calloc(o->max_reps, sizeof(double));
    if (!res->layers_ns || !res->head_ns || !res->step_ns)
        return -1;
    fill_inputs(g, r->batch, o->seed + r->batch);
    for (unsigned i = 0; i < o->warmup; i++) {
        if (c->stop && *c->stop)
            return 1;
        double lns, hns;
        sample(pool, g, g->rot.layers_per_sample, r->batch, &lns, &hns);
        res->warmup_done++;
    }
    double timed_ns = 0;
    int rc = sample_loop(c, st, pool, g, r, res, row_t0, &timed_ns);
    if (rc != 0)
        return rc;
    res->timed_s = timed_ns / 1e9;
    bb_summarize(res->step_ns, res->n_samples, &res->stats);
    row_warnings(o, st, g, r->batch, r->threads, res);
    return 0;
}

/* ------------------------------------------------------------------ the run */

static bb_pool *pool_for(sweep_state *st, unsigned threads, char *err, size_t errlen)
{
    if (threads < 1 || threads > MAX_THREADS) {
        snprintf(err, errlen, "threads %u outside 1..%d", threads, MAX_THREADS);
        return NULL;
    }
    if (!st->pools[threads])
        st->pools[threads] = bb_pool_create((int)threads, err, errlen);
    return st->pools[threads];
}

static void measure_ceiling(sweep_state *st, const bb_sweep_opts *o)
{
    unsigned tmax = 0;
    for (size_t i = 0; i < o->n_threads; i++)
        if (o->threads[i] > tmax)
            tmax = o->threads[i];
    char err[160];
    bb_pool *pool = pool_for(st, tmax, err, sizeof err);
    if (!pool) {
        snprintf(st->ceiling_reason, sizeof st->ceiling_reason, "no thread pool: %s", err);
        return;
    }
    int measured = tmax > 32 ? 32 : (int)tmax;
    /* 4x the LLC (at least 256 MiB) by default; 4x the --llc given, so that a small
     * assumed cache keeps the measurement small too (tests) */
    if (bb_bandwidth_measure(pool, 4 * o->llc_bytes, CEILING_PASSES, st->ceiling) != 0) {
        snprintf(st->ceiling_reason, sizeof st->ceiling_reason,
                 "the bandwidth buffer (4x LLC) could not be allocated");
        return;
    }
    st->ceiling_threads = measured;
    bb_roof roofs[64];
    st->roofs = bb_roofs_json(roofs, bb_roofs_measure(pool, roofs, 64), bb_pool_placement(pool));
}

static size_t count_group_rows(const bb_sweep_row *rows, size_t n, size_t i, uint64_t *n_max, bb_sweep_ctx *c)
{
    size_t j = i;
    *n_max = 0;
    for (; j < n && rows[j].model == rows[i].model && rows[j].format == rows[i].format; j++)
        if ((!c->skip || !bb_keyset_has(c->skip, rows[j].key)) && rows[j].batch > *n_max)
            *n_max = rows[j].batch;
    return j - i;
}

static uint64_t usable_memory(const bb_sweep_opts *o)
{
    uint64_t avail = o->mem_available ? o->mem_available() : bb_machine_mem_available();
    uint64_t margin = avail / 8 > (512ull << 20) ? avail / 8 : (512ull << 20);
    return avail > margin ? avail - margin : 0;
}

static void finish_row(row_result *res)
{
    json_decref(res->check);
    json_decref(res->warnings);
    json_decref(res->probe);
    free(res->layers_ns);
    free(res->head_ns);
    free(res->step_ns);
    memset(res, 0, sizeof *res);
}

/* Measures (or refuses, or skips) one row of a built group. */
static int run_row(bb_sweep_ctx *c, sweep_state *st, group *g, const bb_sweep_row *r, row_result *res)
{
    const bb_sweep_opts *o = c->opts;
    uint64_t t0 = bb_now_ns();
    char err[200];
    if (!g) {
        res->status = "no_fit";
        bb_model_bytes b;
        bb_model_weight_bytes(r->model, r->format, &b);
        snprintf(res->reason, sizeof res->reason,
                 "Table 3: the weights (%.2f GB) plus the KV cache of one sequence of %u tokens (%.3f GB) "
                 "exceed --mem-budget %.2f GB",
                 (double)b.total / 1e9, o->seq_len,
                 (double)bb_model_kv_bytes_per_seq(r->model, o->seq_len, 2) / 1e9, (double)o->mem_budget / 1e9);
        return 0;
    }
    if (g->refuse[0]) {
        res->status = "refused";
        snprintf(res->reason, sizeof res->reason, "%s", g->refuse);
        return 0;
    }
    bb_pool *pool = pool_for(st, r->threads, err, sizeof err);
    if (!pool) {
        res->status = "error";
        snprintf(res->reason, sizeof res->reason, "cannot start %u threads: %s", r->threads, err);
        return 0;
    }
    size_t n_check = r->batch < 8 ? r->batch : 8;
    bool passed;
    res->check = check_group(pool, g, n_check, &passed);
    if (!passed) {
        res->status = "check_failed";
        snprintf(res->reason, sizeof res->reason, "the kernel disagrees with the scalar reference: %s",
                 json_string_value(json_object_get(res->check, "detail")));
        return 0;
    }
    fill_inputs(g, r->batch, o->seed);
    unsigned samples = o->warmup + o->min_reps;
    double lower = warm_estimate_s(g, r->batch, r->threads);
    if (lower * samples > st->row_cap) {
        res->est_sample_s = lower;
        res->status = "skipped";
        snprintf(res->reason, sizeof res->reason,
                 "even one layer + head per sample would take at least %.2f s (a cache-warm probe of the "
                 "largest projection at N=%" PRIu64 ", scaled by operations): %u warm-up + %u samples exceed "
                 "the row's time cap, %s",
                 lower, r->batch, o->warmup, o->min_reps, st->cap_note);
        return 0;
    }
    double layer_s, head_s;
    layer_estimate_s(pool, g, r->batch, &layer_s, &head_s);
    res->est_sample_s = (double)g->rot.layers_per_sample * layer_s + head_s;
    if (res->est_sample_s * samples > st->row_cap) {
        /* A full step at this batch is too slow: one layer + head per sample will do. */
        if (g->rot.full && (layer_s + head_s) * samples <= st->row_cap)
            return 2;
        res->status = "skipped";
        snprintf(res->reason, sizeof res->reason,
                 "one sample (%u layer%s + head) takes about %.2f s (one layer timed: %.3f s, head %.3f s): "
                 "%u warm-up + %u samples exceed the row's time cap, %s",
                 g->rot.layers_per_sample, g->rot.layers_per_sample == 1 ? "" : "s", res->est_sample_s, layer_s,
                 head_s, o->warmup, o->min_reps, st->cap_note);
        return 0;
    }
    int rc = time_row(c, st, pool, g, r, res, t0);
    if (rc != 0)
        return rc;
    res->status = "ok";
    return 0;
}

static void group_note(const group *g, const bb_sweep_opts *o, FILE *to)
{
    char a[32], b[32];
    fprintf(to, "bitbench sweep: %s %s (%s): %s mode, %u cop%s of %s in rotation (%s), %s to allocate\n",
            g->model->name, bb_formats[g->format].name, g->kn->name, g->rot.full ? "full" : "extrapolated",
            g->rot.copies, g->rot.copies == 1 ? "y" : "ies",
            g->rot.full ? "the model" : (o->lm_head ? "one layer + head" : "one layer"),
            fmt_gb((double)g->rot.rotation_bytes, a, sizeof a),
            fmt_gb((double)g->memory_estimate, b, sizeof b));
}

/* The time the next row may take: --max-row-time, or under --time-budget at most twice
 * its fair share of what is left (at least a second).  False when the budget is spent. */
static bool set_row_cap(sweep_state *st, const bb_sweep_opts *o, double elapsed_s, size_t rows_left)
{
    st->row_cap = o->max_row_time;
    snprintf(st->cap_note, sizeof st->cap_note, "--max-row-time %.0f s", o->max_row_time);
    if (o->time_budget <= 0)
        return true;
    double left = o->time_budget - elapsed_s;
    if (left <= 0)
        return false;
    double share = 2 * left / (double)(rows_left ? rows_left : 1);
    if (share < 1)
        share = 1;
    if (share < st->row_cap) {
        st->row_cap = share;
        snprintf(st->cap_note, sizeof st->cap_note, "%.1f s (twice its share of the --time-budget left)", share);
    }
    return true;
}

/* Plans and builds the group of row r (extrapolated when forced); refuses it when the
 * estimate exceeds what the machine can give. */
static void group_open(group *g, const bb_sweep_opts *o, sweep_state *st, const bb_sweep_row *r,
                       uint64_t n_max, bool force_extrapolated)
{
    /* the arena's pages are ours already: they count as usable */
    uint64_t usable = usable_memory(o) + arena_bytes(&st->ar);
    group_plan(g, o, r->model, r->format, n_max, st->llc, usable, force_extrapolated);
    if (g->rot.full && g->memory_estimate > usable) {
        /* the weights fit but not with everything else: extrapolate rather than refuse */
        group_plan(g, o, r->model, r->format, n_max, st->llc, usable, true);
        snprintf(g->mode_reason, sizeof g->mode_reason,
                 "the full model fits --full-max but not with its activations in the usable memory");
    }
    g->ar = &st->ar;
    arena_rewind(g->ar, g->arena_need);
    group_note(g, o, stderr);
    if (g->memory_estimate > usable) {
        char a[32], b[32];
        snprintf(g->refuse, sizeof g->refuse,
                 "needs about %s (weights in rotation, activations for N=%" PRIu64 ") but only %s can be "
                 "used (MemAvailable less a margin): refused rather than risk the OOM killer",
                 fmt_gb((double)g->memory_estimate, a, sizeof a), n_max, fmt_gb((double)usable, b, sizeof b));
        return;
    }
    group_build(g, o);
}

/* Writes the row and reports progress.  0, or -1 when the write failed. */
static int emit_row(bb_sweep_ctx *c, const sweep_state *st, const bb_sweep_row *r, const group *g,
                    row_result *res, size_t index, size_t total, size_t processed, size_t todo,
                    uint64_t t_start, char *errout, size_t errlen)
{
    json_t *row = row_json(c, st, r, g, res);
    int rc = bb_results_append(c->writer, row, errout, errlen);
    if (rc == 0)
        c->rows_written++;
    double elapsed = (double)(bb_now_ns() - t_start) / 1e9;
    if (c->progress)
        c->progress(c->progress_ctx, index, total, r, row, elapsed,
                    processed ? elapsed / (double)processed * (double)(todo - processed) : NAN);
    json_decref(row);
    return rc;
}

int bb_sweep_run(bb_sweep_ctx *c, const bb_sweep_row *rows, size_t n, char *errout, size_t errlen)
{
    const bb_sweep_opts *o = c->opts;
    sweep_state *st = calloc(1, sizeof *st);
    if (!st) {
        snprintf(errout, errlen, "out of memory");
        return -1;
    }
    st->llc = o->llc_bytes ? o->llc_bytes : bb_llc_bytes(&st->llc_source);
    if (o->llc_bytes)
        st->llc_source = "--llc option";
    st->granularity_ns = bb_timer_granularity_ns();
    size_t todo = 0;
    for (size_t i = 0; i < n; i++)
        todo += !(c->skip && bb_keyset_has(c->skip, rows[i].key));
    uint64_t t_start = bb_now_ns();
    if (todo) {
        st->probe = bb_probe_open(NULL); /* before any worker thread: counters inherit */
        measure_ceiling(st, o);
    }

    int status = 0;
    size_t processed = 0;
    for (size_t i = 0; i < n && status == 0;) {
        uint64_t n_max;
        size_t count = count_group_rows(rows, n, i, &n_max, c);
        group g;
        bool built = false;
        memset(&g, 0, sizeof g);
        for (size_t j = i; j < i + count && status == 0; j++) {
            const bb_sweep_row *r = &rows[j];
            if (c->skip && bb_keyset_has(c->skip, r->key)) {
                c->rows_skipped++;
                continue;
            }
            bool no_fit = r->budget && r->batch == 0;
            uint64_t t0 = bb_now_ns();
            double build_s = 0;
            if (!set_row_cap(st, o, (double)(t0 - t_start) / 1e9, todo - processed) && !no_fit) {
                /* the time budget is spent: say so for every row left, build nothing */
                row_result res = {.warnings = json_array(), .status = "skipped"};
                snprintf(res.reason, sizeof res.reason, "the sweep's --time-budget of %.0f s was used up "
                                                        "before this row", o->time_budget);
                processed++;
                if (emit_row(c, st, r, NULL, &res, j + 1, n, processed, todo, t_start, errout, errlen) != 0)
                    status = -1;
                finish_row(&res);
                continue;
            }
            if (!built && !no_fit) {
                group_open(&g, o, st, r, n_max, false);
                built = true;
                build_s = g.build_s;
            }
            row_result res = {.warnings = json_array()};
            int rc = run_row(c, st, no_fit ? NULL : &g, r, &res);
            if (rc == 2) {
                /* too slow in full mode: rebuild as extrapolated, for this row and the rest */
                char why[320];
                snprintf(why, sizeof why,
                         "a full decode step at N=%" PRIu64 " is estimated at %.1f s per sample: %u samples "
                         "exceed the row's time cap, %s: from this batch on, one layer + head per sample, "
                         "extrapolated",
                         r->batch, res.est_sample_s, o->warmup + o->min_reps, st->cap_note);
                finish_row(&res);
                res = (row_result){.warnings = json_array()};
                group_free(&g);
                group_open(&g, o, st, r, n_max, true);
                snprintf(g.mode_reason, sizeof g.mode_reason, "%s", why);
                build_s += g.build_s;
                rc = run_row(c, st, &g, r, &res);
            }
            res.row_s = (double)(bb_now_ns() - t0) / 1e9;
            res.build_s = build_s;
            if (rc == 1 || (c->stop && *c->stop)) {
                snprintf(c->interrupted_row, sizeof c->interrupted_row, "%s", r->key);
                status = 1;
            } else if (rc < 0) {
                snprintf(errout, errlen, "out of memory for the samples of %s", r->key);
                status = -1;
            } else {
                processed++;
                if (emit_row(c, st, r, no_fit ? NULL : &g, &res, j + 1, n, processed, todo, t_start, errout,
                             errlen) != 0)
                    status = -1;
            }
            finish_row(&res);
        }
        if (built)
            group_free(&g);
        i += count;
    }
    for (int t = 0; t <= MAX_THREADS; t++)
        if (st->pools[t])
            bb_pool_destroy(st->pools[t]);
    bb_probe_close(st->probe);
    arena_free(&st->ar);
    json_decref(st->roofs);
    free(st);
    return status;
}
