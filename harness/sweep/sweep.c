/* harness/sweep/sweep.c - the sweep: plan, weights in rotation, interleaved sets of decoder steps, one typed row each (sweep.h). */
#include "sweep.h"

#include "../core/sampler.h"

#include "../machine/bandwidth.h"
#include "../machine/cache.h"
#include "../core/gemm_run.h"
#include "../machine/machine.h"
#include "../model/openergy.h"
#include "../core/pool.h"
#include "../probe/probe.h"
#include "../base/rng.h"
#include "../base/stats.h"
#include "../model/step.h"
#include "../machine/roofs.h"
#include "../tune/tune.h"
#include "../core/clock.h"
#include "../results/value.h"
#include "../results/row.h"

#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <time.h>

enum { HUGE_ALIGN = 2u << 20, MAX_THREADS = 256, CEILING_PASSES = 10, MEMORY_WAIT_S = 60 };

void bb_sweep_opts_default(bb_sweep_opts *o)
{
    memset(o, 0, sizeof *o);
    o->threads[0] = (unsigned)bb_online_cores();
    o->n_threads = 1;
    o->batches[0] = 1;
    o->n_batches = 1;
    o->budget_batch = true;
    o->mem_budgets[0] = BB_SWEEP_PAPER_BUDGET;
    o->n_budgets = 1;
    o->seq_len = 512;
    o->context = 512;
    o->interleave = true;
    o->methods = true;
    o->min_time = 1.0;
    o->min_reps = 5;
    o->max_reps = 1000;
    o->placements = 4;
    o->warmup = 1;
    o->max_row_time = 60;
    o->max_budget_row_time = 120;
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


void bb_sweep_rotation(uint64_t layer_bytes, uint64_t head_bytes, unsigned layers, uint64_t llc,
                       uint64_t full_max, bool warm, bb_rotation *out)
{
    uint64_t model = layer_bytes * layers + head_bytes;
    uint64_t copies = bb_cold_copies(model, llc, warm);
    memset(out, 0, sizeof *out);
    if (model <= full_max / copies) {
        out->full = true;
        out->layers_per_sample = layers;
        out->unit_bytes = model;
    } else {
        out->layers_per_sample = 1;
        out->unit_bytes = layer_bytes + head_bytes;
        copies = bb_cold_copies(out->unit_bytes, llc, warm);
    }
    out->copies = (unsigned)copies;
    out->rotation_bytes = copies * out->unit_bytes;
}

double bb_sweep_extrapolate(double layers_ns, double head_ns, unsigned layers, unsigned layers_per_sample)
{
    return layers_ns * ((double)layers / (double)layers_per_sample) + head_ns;
}

size_t bb_sweep_check_rows(size_t m) { return m <= 512 ? m : 256 + m % 256; }

void bb_sweep_kv_plan(const bb_model *m, size_t n_seq, size_t cap, unsigned layers_per_sample, uint64_t llc,
                      bool warm, size_t n, bb_kv_plan *out)
{
    memset(out, 0, sizeof *out);
    out->slice_bytes = bb_step_kv_layer_bytes(m, n_seq ? n_seq : 1, cap);
    uint64_t one = out->slice_bytes * (layers_per_sample ? layers_per_sample : 1);
    out->copies = (unsigned)bb_cold_copies(one, llc, warm);
    out->total_bytes = out->copies * one;
    out->step_bytes = bb_step_kv_layer_bytes(m, n, cap) * m->layers;
}

void bb_sweep_paired_speedup(const double *a, const double *b, size_t n, double tokens_ratio, size_t resamples,
                             double level, uint64_t seed, double *point, double *lo, double *hi)
{
    bb_paired_ratio_median(a, b, n, tokens_ratio, resamples, level, seed, point, lo, hi);
}

void bb_sweep_interleave_order(size_t n, size_t rounds, size_t *out)
{
    for (size_t r = 0; r < rounds; r++)
        for (size_t i = 0; i < n; i++)
            out[r * n + i] = i;
}

/* ------------------------------------------------------------------ plan */

static uint64_t model_weight_total(const bb_model *m, bb_format_id f)
{
    bb_model_bytes b;
    bb_model_weight_bytes(m, f, &b);
    return b.total;
}

uint64_t bb_sweep_budget_batch(const bb_sweep_opts *o, const bb_model *m, bb_format_id f, uint64_t budget)
{
    return bb_model_max_batch(model_weight_total(m, f), bb_model_kv_bytes_per_seq(m, o->seq_len, 2), budget);
}

size_t bb_sweep_variants(const bb_sweep_opts *o, const bb_model *m, bb_format_id f, const bb_kernel **out,
                         size_t cap)
{
    size_t n = 0;
    if (o->n_impls) {
        for (size_t i = 0; i < o->n_impls && n < cap; i++)
            if (o->impls[i]->format == f)
                out[n++] = o->impls[i];
        return n;
    }
    /* the format's pick: the tuned winner where this machine's record covers the model
     * (harness/tune/tune.h), else the priority pick */
    const bb_kernel *best = m ? bb_select_kernel_model(bb_formats[f].name, m, o->threads, o->n_threads, NULL)
                              : bb_kernel_find_best(bb_formats[f].name);
    if (!best)
        return 0;
    out[n++] = best;
    if (!o->methods || strcmp(bb_formats[f].family, "ternary"))
        return n;
    /* the best runnable implementation of every other method of the format */
    for (size_t i = 0; i < bb_kernel_count; i++) {
        const bb_kernel *k = bb_kernels[i];
        if (k->format != f || !bb_kernel_runnable(k) || !strcmp(k->method, "ref"))
            continue;
        bool seen = false;
        for (size_t j = 0; j < n; j++)
            if (!strcmp(out[j]->method, k->method)) {
                seen = true;
                if (k->priority > out[j]->priority && j > 0)
                    out[j] = k;
            }
        if (!seen && n < cap)
            out[n++] = k;
    }
    return n;
}

static bool has_budget_rows(const bb_sweep_opts *o, const bb_model *m)
{
    if (!o->budget_batch)
        return false;
    if (o->n_budget_models) {
        for (size_t i = 0; i < o->n_budget_models; i++)
            if (!strcmp(o->budget_models[i], m->name) || !strcmp(o->budget_models[i], "all"))
                return true;
        return false;
    }
    /* default: the largest model of the plan (the paper's Table 3 is its 70B) */
    const bb_model *big = &o->models[0];
    for (size_t i = 1; i < o->n_models; i++) {
        bb_model_params a, b;
        bb_model_params_count(&o->models[i], &a);
        bb_model_params_count(big, &b);
        if (a.total > b.total)
            big = &o->models[i];
    }
    return big == m;
}

static void budget_tag(uint64_t budget, char *buf, size_t len)
{
    if (budget % (1ull << 30) == 0)
        snprintf(buf, len, "%" PRIu64 "G", budget >> 30);
    else
        snprintf(buf, len, "%" PRIu64, budget);
}

void bb_sweep_key(const bb_sweep_opts *o, const bb_sweep_row *r, char *buf, size_t len)
{
    char what[64], tag[32];
    if (o->matmul_only)
        snprintf(what, sizeof what, "matmul");
    else if (r->prompt)
        snprintf(what, sizeof what, "pp%u", r->prompt);
    else
        snprintf(what, sizeof what, "tg|c%u", o->context);
    char budget[48] = "";
    if (r->budget) {
        budget_tag(o->mem_budgets[r->budget_index], tag, sizeof tag);
        snprintf(budget, sizeof budget, "|budget%s", tag);
    }
    snprintf(buf, len, "%s|%s|%s|t%u|b%" PRIu64 "%s|%s|%s|%s", r->model->name, bb_formats[r->format].name,
             r->kernel ? r->kernel->name : "none", r->threads, r->batch, budget, o->lm_head ? "head" : "nohead",
             o->warm ? "warm" : "cold", what);
}

int bb_sweep_plan(const bb_sweep_opts *o, bb_sweep_row **rows_out, size_t *n_out, char *err, size_t errlen)
{
    enum { MAXV = 8 };
    size_t per_batch = o->n_threads * o->n_formats * MAXV;
    size_t cap = o->n_models * per_batch * (o->n_batches + 1 + o->n_budgets);
    bb_sweep_row *rows = calloc(cap ? cap : 1, sizeof *rows);
    size_t n = 0;
    if (!rows) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t fi = 0; fi < o->n_formats; fi++) {
        const bb_kernel *v[MAXV];
        if (!bb_sweep_variants(o, NULL, o->formats[fi], v, MAXV)) {
            if (o->n_impls)
                snprintf(err, errlen, "--formats %s has no implementation among --impl", bb_formats[o->formats[fi]].name);
            else
                snprintf(err, errlen, "no runnable kernel for format %s under --isa %s",
                         bb_formats[o->formats[fi]].name, bb_isa_name(bb_isa_cap()));
            free(rows);
            return -1;
        }
    }
    /* models with Table 3 rows first: under a --time-budget the paper's headline table must
     * not be what is left out */
    size_t order[BB_MODELS_MAX * 2], n_order = 0;
    for (int pass = 0; pass < 2; pass++)
        for (size_t mi = 0; mi < o->n_models && n_order < sizeof order / sizeof order[0]; mi++)
            if (has_budget_rows(o, &o->models[mi]) == (pass == 0))
                order[n_order++] = mi;
    for (size_t oi = 0; oi < n_order; oi++) {
        const bb_model *m = &o->models[order[oi]];
        bool budget = has_budget_rows(o, m);
        /* sets in order: list batches ascending (a full step too slow at one batch switches
         * the model to extrapolation once), the prompt, then the budget batches */
        size_t n_sets = o->n_batches + (o->prompt ? 1 : 0) + (budget ? o->n_budgets : 0);
        for (size_t si = 0; si < n_sets; si++)
            for (size_t ti = 0; ti < o->n_threads; ti++)
                for (size_t fi = 0; fi < o->n_formats; fi++) {
                    bb_format_id f = o->formats[fi];
                    const bb_kernel *v[MAXV];
                    size_t nv = bb_sweep_variants(o, m, f, v, MAXV);
                    bool is_budget = si >= o->n_batches + (o->prompt ? 1 : 0);
                    if (is_budget)
                        nv = 1; /* Table 3: each format's best implementation */
                    for (size_t vi = 0; vi < nv; vi++) {
                        bb_sweep_row *r = &rows[n++];
                        r->model = m;
                        r->format = f;
                        r->kernel = v[vi];
                        r->threads = o->threads[ti];
                        if (si < o->n_batches) {
                            r->batch = o->batches[si];
                        } else if (!is_budget) {
                            r->batch = 1;
                            r->prompt = o->prompt;
                        } else {
                            r->budget = true;
                            r->budget_index = (unsigned)(si - o->n_batches - (o->prompt ? 1 : 0));
                            r->batch = bb_sweep_budget_batch(o, m, f, o->mem_budgets[r->budget_index]);
                        }
                        bb_sweep_key(o, r, r->key, sizeof r->key);
                    }
                }
    }
    /* the shape limits of every projection and the LM head, at each row's token count,
     * before anything is allocated (bb_model_shape_check names the projection) */
    const bb_kernel *head = o->lm_head ? bb_kernel_find_best("fp16") : NULL;
    for (size_t i = 0; i < n; i++) {
        uint64_t tokens = rows[i].prompt > rows[i].batch ? rows[i].prompt : rows[i].batch;
        if (bb_model_shape_check(rows[i].model, rows[i].kernel, head, tokens ? tokens : 1, err, errlen)) {
            free(rows);
            return -1;
        }
    }
    /* a budget under which nothing fits is a mistake in the command, not a finding */
    for (size_t bi = 0; bi < o->n_budgets; bi++) {
        bool planned = false, fits = false;
        uint64_t smallest = UINT64_MAX;
        for (size_t i = 0; i < n; i++)
            if (rows[i].budget && rows[i].budget_index == bi) {
                planned = true;
                fits |= rows[i].batch > 0;
                uint64_t need = model_weight_total(rows[i].model, rows[i].format) +
                                bb_model_kv_bytes_per_seq(rows[i].model, o->seq_len, 2);
                smallest = need < smallest ? need : smallest;
            }
        if (planned && !fits) {
            snprintf(err, errlen,
                     "--mem-budget %" PRIu64 " bytes (%.2f GB) is too small: no model and format fits its weights "
                     "plus the KV cache of one sequence of %u tokens (the smallest needs %.2f GB)",
                     o->mem_budgets[bi], (double)o->mem_budgets[bi] / 1e9, o->seq_len, (double)smallest / 1e9);
            free(rows);
            return -1;
        }
    }
    *rows_out = rows;
    *n_out = n;
    return 0;
}

/* ------------------------------------------------------------------ weights */

/* One weight matrix as a kernel reads it, in the arena (check weights excepted); its copies
 * come from bb_kernel_weights_clone (harness/core/gemm_run.h), the one rule of gemm and sweep. */
typedef bb_kernel_weights mat;

/* The fields bb_weights_alloc would set, with data and scales from the arena. */
static int weights_in_arena(bb_arena *a, bb_weights *w, bb_format_id id, size_t m, size_t k)
{
    const bb_format *f = bb_format_get(id);
    memset(w, 0, sizeof *w);
    w->format = id;
    w->m = m;
    w->k = k;
    w->k_padded = bb_round_up(k, f->block);
    w->row_bytes = w->k_padded / f->block * f->block_bytes;
    w->n_scales = f->scale == BB_SCALE_PER_ROW ? m : f->scale == BB_SCALE_PER_MATRIX ? 1 : 0;
    w->data = bb_arena_alloc(a, m * w->row_bytes);
    w->scales = bb_arena_alloc(a, (w->n_scales ? w->n_scales : 1) * sizeof(float));
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
static int mat_from_tile(const bb_kernel *k, const bb_weights *tile, size_t m, bb_arena *ar, mat *out)
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
        out->layout = ar ? bb_arena_alloc(ar, bytes) : bb_alloc(bytes);
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

/* ------------------------------------------------------------------ a group */

enum { MAX_VARIANTS = 32 };

/* Everything built once for a (model, implementation): weights in rotation, check weights. */
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
    bb_arena *ar;                   /* where layers and heads live */
    uint64_t arena_need;         /* bytes of arena the weights take */
    uint64_t check_bytes;
    mat *layers;                 /* n_slots x BB_PROJ_COUNT */
    bb_kernel_weights check[BB_PROJ_COUNT + 1]; /* per distinct shape; [COUNT]: the head */
    uint64_t layer_stream, head_stream; /* bytes one layer / the head stream */
    uint64_t layer_macs, head_macs;     /* per token */
} group;

/* The groups of one model (one per implementation of its rows), built together so that
 * their samples can alternate, and what they share: the activations and the KV cache. */
typedef struct model_set {
    const bb_model *model;
    group g[MAX_VARIANTS];
    size_t n;
    bool full;                   /* every group in full mode, else all extrapolated */
    uint64_t max_seq, max_rows, max_tok; /* over the rows to run */
    size_t cap;                  /* cache positions per sequence */
    bb_step_bufs bufs;
    uint16_t *kv;                /* kv.copies x layers_per_sample slices: K then V */
    bb_kv_plan kv_plan;
    uint64_t kv_next;            /* KV rotation position */
    mat *heads;                  /* head_copies of the fp16 LM head, shared by the groups */
    unsigned head_copies;
    uint64_t head_next, head_bytes; /* head rotation position; bytes of the copies */
    uint64_t memory_estimate;
    bool hwm_reset;
    char hwm_note[160];
    char refuse[320];            /* non-empty: the set could not be built: why */
    char mode_reason[320];       /* why extrapolated although the model fits, or "" */
    double build_s;
} model_set;

/* The weights stay in the arena for the next model. */
static void group_free(group *g)
{
    free(g->layers);
    for (int i = 0; i <= BB_PROJ_COUNT; i++)
        bb_kernel_weights_free(&g->check[i]);
    g->layers = NULL;
}

static void set_free(model_set *ms)
{
    for (size_t i = 0; i < ms->n; i++)
        group_free(&ms->g[i]);
    bb_step_bufs_free(&ms->bufs);
    free(ms->heads);
    ms->heads = NULL;
    ms->kv = NULL; /* in the bb_arena */
}

static size_t head_m(const group *g) { return g->model->vocab; }
static size_t head_k(const group *g) { return g->model->hidden; }

static const group *find_group(const model_set *ms, const bb_kernel *k)
{
    for (size_t i = 0; i < ms->n; i++)
        if (ms->g[i].kn == k)
            return &ms->g[i];
    return NULL;
}

/* Shapes, rotation and the weights' memory: arithmetic only, nothing allocated. */
static void group_plan(group *g, const bb_sweep_opts *o, const bb_model *m, const bb_kernel *kn, uint64_t llc,
                       uint64_t full_limit)
{
    memset(g, 0, sizeof *g);
    g->model = m;
    g->format = kn->format;
    g->kn = kn;
    g->head_kn = bb_kernel_find_best("fp16");
    g->lm_head = o->lm_head;
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
    bb_sweep_rotation(g->layer_stream, g->head_stream, m->layers, llc, full_limit, o->warm, &g->rot);
    g->n_slots = g->rot.copies * g->rot.layers_per_sample;

    /* What the build allocates: the copies, the canonical matrices that layout kernels
     * keep (one per shape), the tiles and check weights. */
    uint64_t layer_alloc = 0, shared = 0, check = 0;
    for (int p = 0; p < BB_PROJ_COUNT; p++) {
        layer_alloc += copy_alloc_bytes(g->kn, g->proj[p].m, g->proj[p].k);
        if (g->shape_of[p] == p) {
            if (g->kn->layout_bytes)
                shared += alloc_size(bb_weights_bytes(g->format, g->proj[p].m, g->proj[p].k));
            check += 2 * bb_kernel_weights_bytes(g->kn, bb_sweep_check_rows(g->proj[p].m), g->proj[p].k);
        }
    }
    /* the head copies are the set's (set_plan); alloc_size counts the alignment, and the
     * first-fit arena wastes at most the set's last chunk (counted once in set_plan) */
    g->arena_need = (uint64_t)g->n_slots * layer_alloc + shared;
    g->check_bytes = check;
}

static void reset_peak_rss(model_set *ms)
{
    FILE *f = fopen("/proc/self/clear_refs", "w");
    ms->hwm_reset = f && fputs("5", f) >= 0;
    if (f && fclose(f) != 0)
        ms->hwm_reset = false;
    if (!ms->hwm_reset)
        snprintf(ms->hwm_note, sizeof ms->hwm_note, "process peak so far (VmHWM could not be reset: %s)",
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
                rc = bb_kernel_weights_clone(&g->layers[(size_t)s * BB_PROJ_COUNT + q], &master, g->kn, g->ar);
        }
    return rc;
}

/* The head's check weights for group g and, when heads is not NULL, the set's shared head
 * copies (every implementation of a model runs the same fp16 head). */
static int build_heads(group *g, uint64_t seed, mat *heads, unsigned copies)
{
    if (!g->lm_head)
        return 0;
    bb_weights tile;
    mat master;
    if (make_tile(BB_FMT_FP16, head_m(g), head_k(g), seed, &tile) != 0)
        return -1;
    int rc = heads ? mat_from_tile(g->head_kn, &tile, head_m(g), g->ar, &master) : 0;
    mat chk;
    if (rc == 0 && (rc = mat_from_tile(g->head_kn, &tile, bb_sweep_check_rows(head_m(g)), NULL, &chk)) == 0) {
        g->check[BB_PROJ_COUNT].w = chk.w;
        g->check[BB_PROJ_COUNT].layout = chk.layout;
    }
    bb_weights_free(&tile);
    for (unsigned c = 0; heads && rc == 0 && c + 1 < copies; c++)
        rc = bb_kernel_weights_clone(&heads[c], &master, g->head_kn, g->ar);
    if (heads && rc == 0)
        heads[copies - 1] = master;
    return rc;
}

/* Allocates and fills a group's weights; -1 when out of memory. */
static int group_build(group *g, const bb_sweep_opts *o, mat *heads, unsigned head_copies)
{
    g->layers = calloc((size_t)g->n_slots * BB_PROJ_COUNT, sizeof *g->layers);
    int rc = g->layers ? 0 : -1;
    uint64_t seed = o->seed * 1000003u + (uint64_t)g->format * 131 + g->model->hidden;
    for (int p = 0; p < BB_PROJ_COUNT && rc == 0; p++)
        if (g->shape_of[p] == p)
            rc = build_shape(g, p, seed + (uint64_t)p);
    if (rc == 0)
        rc = build_heads(g, o->seed * 1000003u + 97, heads, head_copies);
    return rc;
}

/* ------------------------------------------------------------------ a decode step */

static const uint16_t *kv_slot(const model_set *ms, size_t slot, int which)
{
    return ms->kv + (2 * slot + (size_t)which) * (ms->kv_plan.slice_bytes / 4);
}

static bb_step_geom row_geom(const model_set *ms, const group *g, const bb_sweep_opts *o, const bb_sweep_row *r)
{
    bb_step_geom geo = {.model = ms->model, .kn = g->kn, .head_kn = g->head_kn, .ops = bb_step_ops_best(),
                        .n_seq = r->prompt ? 1 : r->batch, .n_tok = r->prompt ? r->prompt : 1,
                        .pos0 = r->prompt ? 0 : o->context, .cap = ms->cap, .matmul_only = o->matmul_only};
    return geo;
}

/* Tokens a row's step produces: its batch, or the prompt's tokens. */
static uint64_t row_tokens(const bb_sweep_row *r) { return r->prompt ? r->prompt : r->batch; }

/* The next copy of the unit in the rotation (every call, estimates and warm-up included,
 * moves on, so a copy comes back only after all the others): its first `layers` layers,
 * with the next KV slices, then its head.  The inputs are refilled first (outside the
 * clock), so a sample never continues another format's activations. */
static void sample(bb_pool *pool, model_set *ms, group *g, const bb_step_geom *geo, unsigned layers,
                   uint64_t seed, double *layers_ns, double *head_ns, bb_step_split *sp)
{
    unsigned c = (unsigned)(g->next_copy++ % g->rot.copies);
    const mat *base = &g->layers[(size_t)c * g->rot.layers_per_sample * BB_PROJ_COUNT];
    size_t kvd = bb_model_kv_dim(ms->model);
    unsigned kc = (unsigned)(ms->kv_next % ms->kv_plan.copies);
    size_t windows = ms->max_seq / geo->n_seq ? ms->max_seq / geo->n_seq : 1;
    size_t off = (size_t)((ms->kv_next / ms->kv_plan.copies) % windows) * geo->n_seq * ms->cap * kvd;
    ms->kv_next++;
    bb_step_fill_x(&ms->bufs, geo->n_seq * geo->n_tok, ms->model->hidden, seed);
    memset(sp, 0, sizeof *sp);
    const mat *hm = g->lm_head ? &ms->heads[ms->head_next++ % ms->head_copies] : NULL;
    bb_step_mat h = {0};
    if (hm)
        h = (bb_step_mat){&hm->w, bb_kernel_weights_stream(hm), bb_kernel_weights_stream_bytes(hm, g->head_kn)};
    size_t bytes[BB_PROJ_COUNT]; /* the same in every layer and copy: outside the clock */
    for (int p = 0; p < BB_PROJ_COUNT; p++)
        bytes[p] = bb_kernel_weights_stream_bytes(&base[p], g->kn);
    bb_step_mat next_q = {0};
    uint64_t t0 = bb_now_ns();
    for (unsigned l = 0; l < layers; l++) {
        const mat *L = base + (size_t)l * BB_PROJ_COUNT;
        size_t slot = (size_t)kc * g->rot.layers_per_sample + l;
        bb_step_layer layer = {.k_cache = ms->kv ? (uint16_t *)kv_slot(ms, slot, 0) + off : NULL,
                               .v_cache = ms->kv ? (uint16_t *)kv_slot(ms, slot, 1) + off : NULL,
                               .next_q = hm ? &h : NULL};
        for (int p = 0; p < BB_PROJ_COUNT; p++)
            layer.proj[p] = (bb_step_mat){&L[p].w, bb_kernel_weights_stream(&L[p]), bytes[p]};
        if (l + 1 < layers) {
            const mat *q = &L[BB_PROJ_COUNT + BB_PROJ_Q];
            next_q = (bb_step_mat){&q->w, bb_kernel_weights_stream(q), bytes[BB_PROJ_Q]};
            layer.next_q = &next_q;
        }
        bb_step_layer_run(pool, geo, &ms->bufs, &layer, sp);
    }
    uint64_t t1 = bb_now_ns();
    bb_step_split head_split = {0};
    if (hm)
        bb_step_head_run(pool, geo, &ms->bufs, &h, &head_split);
    uint64_t t2 = bb_now_ns();
    *layers_ns = (double)(t1 - t0);
    *head_ns = (double)(t2 - t1);
    /* the split of the whole step: the layers' parts scaled like the layers, + the head's */
    double f = (double)ms->model->layers / (double)layers;
    sp->linear_ns = sp->linear_ns * f + head_split.linear_ns;
    sp->attention_ns *= f;
    sp->other_ns = sp->other_ns * f + head_split.other_ns;
}

static bool step_finite(const model_set *ms, const group *g, size_t rows)
{
    return bb_step_finite(ms->bufs.x, rows, ms->model->hidden, ms->bufs.hs) &&
           (!g->lm_head || bb_step_finite(ms->bufs.logits, rows, head_m(g), ms->bufs.vocab));
}

/* ------------------------------------------------------------------ JSON helpers */

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
    double *linear_ns, *attention_ns, *other_ns; /* the step's split, per sample */
    size_t n_samples;
    bool active;        /* being sampled in the current set */
    bool non_finite;    /* a sample ended with a non-finite activation */
    bool matmul_non_finite; /* the same under --matmul-only: a warning */
    bb_step_geom geo;
    group *g;
    double speedup, speedup_lo, speedup_hi; /* vs the set's fp16 row, paired; NAN: none */
    size_t pairs;
    const char *baseline_impl;
    json_t *set;        /* owned: the interleaved set this row was sampled in */
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
    json_t *roofs;           /* compute roofs (harness/machine/roofs.h), measured with the ceiling */
    char ceiling_reason[240];
    uint64_t llc;
    const char *llc_source;
    double granularity_ns;
    bb_probe *probe;         /* energy + counters around each row's kept samples */
    bb_arena ar;                /* the weights of the group being measured */
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

static json_t *budget_json(const bb_sweep_opts *o, const bb_sweep_row *r)
{
    uint64_t budget = o->mem_budgets[r->budget ? r->budget_index : 0];
    return json_pack("{s:I, s:s, s:i, s:I, s:s, s:I, s:s}", "mem_budget_bytes", (json_int_t)budget, "budget_source",
                     budget == BB_SWEEP_PAPER_BUDGET ? "paper (two A100 80GB)" : "--mem-budget",
                     "seq_len", (int)o->seq_len, "kv_bytes_per_seq",
                     (json_int_t)bb_model_kv_bytes_per_seq(r->model, o->seq_len, 2), "kv_formula", bb_model_kv_formula,
                     "max_batch", (json_int_t)bb_sweep_budget_batch(o, r->model, r->format, budget), "what_counts",
                     "weights (modeled, weight_bytes) and the KV cache at seq_len; activations and runtime "
                     "buffers are not counted");
}

static json_t *ceiling_json(const sweep_state *st, unsigned threads)
{
    if ((int)threads > st->ceiling_threads)
        return bb_value_unavailable(st->ceiling_reason[0] ? st->ceiling_reason
                                                 : "not measured for this thread count");
    const bb_bandwidth *b = &st->ceiling[threads - 1];
    char how[200], h[32];
    snprintf(how, sizeof how, "STREAM-style read of %s with %s, best of %d passes%s",
             fmt_gb((double)b->buffer_bytes, h, sizeof h), b->loads ? b->loads : "?", b->passes,
             b->validated ? ", sums validated" : ", SUM CHECK FAILED");
    return json_pack("{s:o, s:s, s:s, s:i, s:o}", "gbps", real_or_null(b->best_gbps), "status", "measured",
                     "how", how, "threads", (int)threads, "median_gbps", real_or_null(b->median_gbps));
}

static json_t *peak_rss_json(const model_set *g)
{
    uint64_t hwm = read_vm_hwm();
    if (!hwm)
        return bb_value_unavailable("no VmHWM in /proc/self/status");
    return json_pack("{s:I, s:s, s:s, s:s}", "value", (json_int_t)hwm, "status", "measured", "how",
                     "VmHWM of /proc/self/status at the end of the row", "scope",
                     g && g->hwm_reset ? "since this model's weights (every implementation of its set) were "
                                         "built (VmHWM reset through /proc/self/clear_refs)"
                                       : g ? g->hwm_note : "process peak so far");
}

/* The paper's method: operation counts of one decode step (every projection's reference
 * op-count model times the layers, plus the fp16 head) times energy per operation; and
 * the DRAM term separately. */
static json_t *energy_model_json(const bb_model *m, bb_format_id f, bool lm_head, uint64_t batch,
                                 uint64_t streamed)
{
    if (batch == 0)
        return bb_value_unavailable("no batch fits the budget: nothing to model");
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

static double median_of(const double *v, size_t n) { return n ? bb_median_copy(v, n) : NAN; }

/* Where the time goes: medians of the per-sample split (whole step), and the attention share. */
static json_t *split_json(const row_result *res)
{
    size_t n = res->n_samples;
    if (!n)
        return json_null();
    double *share = malloc(n * sizeof *share);
    for (size_t i = 0; share && i < n; i++)
        share[i] = res->attention_ns[i] / res->step_ns[i];
    json_t *j = json_pack("{s:o, s:o, s:o, s:o, s:s, s:s}", "linear_ms", real_or_null(median_of(res->linear_ns, n) / 1e6),
                          "attention_ms", real_or_null(median_of(res->attention_ns, n) / 1e6), "other_ms",
                          real_or_null(median_of(res->other_ns, n) / 1e6), "attention_share",
                          real_or_null(share ? median_of(share, n) : NAN), "status", "measured", "how",
                          "medians over the samples of the step's time in the linear layers (7 projections x "
                          "layers + the LM head), attention, and the rest (norms, RoPE, cache stores, SiLU, "
                          "residual adds), one clock (extrapolated rows: the layer's parts x layers)");
    free(share);
    return j;
}

static json_t *vs_fp16_json(const bb_sweep_row *r, const row_result *res)
{
    if (!res->n_samples)
        return json_null();
    if (!(res->speedup > 0))
        return bb_value_unavailable(res->baseline_impl ? "the fp16 row of this set was not measured"
                                              : "no fp16 row in this set (run --formats with fp16)");
    return json_pack("{s:s, s:f, s:f, s:f, s:f, s:I, s:s, s:s}", "status", "measured", "speedup", res->speedup,
                     "ci_low", res->speedup_lo, "ci_high", res->speedup_hi, "level", 0.95, "pairs",
                     (json_int_t)res->pairs, "baseline_impl", res->baseline_impl, "how",
                     r->budget ? "median over rounds of the paired tokens/s ratio (batch / step ns of this row over "
                                 "the fp16 row's, same round), percentile bootstrap of the median over resampled "
                                 "rounds (2000)"
                               : "median over rounds of fp16 step ns / this step ns (samples taken side by side), "
                                 "percentile bootstrap of the median over resampled rounds (2000)");
}

/* The row as SCHEMA.md describes it: the typed row (harness/results/row.h) filled from this
 * row's plan, measurement and set, written by the one writer. */
static json_t *row_json(const bb_sweep_ctx *c, const sweep_state *st, const bb_sweep_row *r, const model_set *ms,
                        row_result *res)
{
    const bb_sweep_opts *o = c->opts;
    const bb_model *m = r->model;
    const group *g = ms && !ms->refuse[0] ? find_group(ms, r->kernel) : NULL;
    bb_result_row w;
    bb_result_row_init(&w, BB_RESULT_SWEEP);
    char t[32];
    utc_now(t, sizeof t, "%Y-%m-%dT%H:%M:%SZ");
    w.run_id = json_string_value(json_object_get(c->common, "run_id"));
    /* replicates of one measurement share a group (--run-group); else the run is its own */
    json_t *group = json_object_get(c->common, "run_group");
    w.run_group = json_string_value(group ? group : json_object_get(c->common, "run_id"));
    w.time = t;
    w.key = r->key;
    w.status = res->status;
    w.reason = res->reason[0] ? res->reason : NULL;
    w.git_revision = json_string_value(json_object_get(c->common, "git_revision"));
    w.build = json_incref(json_object_get(c->common, "build"));
    w.machine = json_incref(json_object_get(c->common, "machine"));
    w.format = bb_formats[r->format].name;
    w.impl = r->kernel->name;
    bb_select_rule rule;
    const bb_kernel *pick = bb_select_kernel_model(bb_formats[r->format].name, m, o->threads, o->n_threads, &rule);
    if (o->n_impls)
        w.impl_rule = "exact: --impl";
    else if (pick != r->kernel)
        w.impl_rule = "method: the best runnable implementation of its method (the format's pick is another method)";
    else
        w.impl_rule = rule.text;
    w.impl_isa = bb_isa_name(r->kernel->isa);
    w.impl_method = r->kernel->method;
    w.multiply_free = r->kernel->multiply_free;
    w.impl_is_best = pick == r->kernel;
    const bb_kernel *hk = bb_kernel_find_best("fp16");
    w.head_impl = o->lm_head && hk ? hk->name : NULL;
    w.threads = r->threads, w.has_threads = true;
    bb_pool *pool = r->threads <= MAX_THREADS ? st->pools[r->threads] : NULL;
    w.placement = pool ? bb_pool_placement(pool) : NULL;
    w.model = model_json(m);
    w.batch = (int64_t)r->batch, w.has_batch = true;
    w.batch_source = r->budget ? "budget" : r->prompt ? "prompt" : "list";
    w.lm_head = o->lm_head;
    w.warm = o->warm;
    const bb_step_ops *ops = bb_step_ops_best();
    w.step = json_pack("{s:s, s:i, s:i, s:i, s:i, s:o, s:f, s:f}", "kind",
                       o->matmul_only ? "matmul_only" : r->prompt ? "prompt" : "decode", "context",
                       (int)(r->prompt ? 0 : o->context), "sequences", (int)(r->prompt ? 1 : r->batch),
                       "tokens_per_sequence", (int)(r->prompt ? r->prompt : 1), "tokens", (int)row_tokens(r),
                       "ops_impl", o->matmul_only || !ops ? json_null() : json_string(ops->name), "rope_theta",
                       BB_STEP_ROPE_THETA, "norm_eps", (double)BB_STEP_NORM_EPS);

    bool measured = res->n_samples > 0;
    if (g) {
        w.mode = g->rot.full ? "full" : "extrapolated";
        w.mode_reason = g->rot.full ? NULL
                                    : ms->mode_reason[0] ? ms->mode_reason
                                                         : "the model does not fit --full-max or the usable memory";
        w.layers_per_sample = g->rot.layers_per_sample, w.has_layers_per_sample = true;
        w.layers_measured = g->n_slots, w.has_layers_measured = true;
        uint64_t llc = st->llc;
        w.rotation = json_pack("{s:i, s:I, s:o, s:o, s:i, s:I}", "copies", (int)g->rot.copies, "bytes",
                               (json_int_t)g->rot.rotation_bytes, "llc_bytes",
                               llc ? json_integer((json_int_t)llc) : bb_value_unavailable(st->llc_source),
                               "llc_multiple",
                               llc ? real_or_null((double)g->rot.rotation_bytes / (double)llc) : json_null(),
                               "kv_copies", (int)ms->kv_plan.copies, "kv_bytes", (json_int_t)ms->kv_plan.total_bytes);
        json_object_set_new(w.rotation, "head_copies", json_integer(ms->head_copies));
        w.extrapolation = g->rot.full ? NULL
                                      : json_pack("{s:i, s:s}", "factor", (int)m->layers, "formula",
                                                  "step_ns = layers x layer_ns + head_ns per sample; the layer is "
                                                  "timed with its own weights and its slice of the KV cache (this "
                                                  "batch's sequences at the row's context)");
    }
    w.check = res->check ? json_incref(res->check) : NULL;
    w.interleave = res->set ? json_incref(res->set) : NULL;
    w.timing = json_pack("{s:i, s:I, s:f, s:o, s:f, s:o, s:o, s:o}", "warmup_samples", (int)res->warmup_done,
                         "samples", (json_int_t)res->n_samples, "min_time_s", o->min_time, "timed_s",
                         real_or_null(res->timed_s), "timer_granularity_ns", st->granularity_ns, "row_wall_s",
                         real_or_null(res->row_s), "build_s", real_or_null(res->build_s), "estimated_sample_s",
                         real_or_null(res->est_sample_s));
    json_object_set_new(w.timing, "row_time_cap_s", real_or_null(st->row_cap));
    size_t n = res->n_samples;
    w.samples_step_ns = (bb_result_samples){res->step_ns, n, true};
    w.samples_layers_ns = (bb_result_samples){res->layers_ns, n, true};
    w.samples_head_ns = (bb_result_samples){res->head_ns, n, o->lm_head};
    w.samples_linear_ns = (bb_result_samples){res->linear_ns, n, true};
    w.samples_attention_ns = (bb_result_samples){res->attention_ns, n, true};
    w.samples_other_ns = (bb_result_samples){res->other_ns, n, true};
    w.stats_step_ns = measured ? stats_json(&res->stats) : NULL;
    double med = res->stats.median;
    if (measured) {
        w.latency_ms_per_token = med / 1e6;
        w.tokens_per_s = (double)row_tokens(r) * 1e9 / med;
        w.matmul_ms_per_token = median_of(res->linear_ns, n) / 1e6;
    }
    w.split = split_json(res);
    w.vs_fp16 = vs_fp16_json(r, res);
    w.warnings = json_incref(res->warnings);

    w.weight_bytes = weight_bytes_json(m, r->format);
    bb_model_bytes wb;
    bb_model_params params;
    bb_model_weight_bytes(m, r->format, &wb);
    bb_model_params_count(m, &params);
    w.bits_per_weight = (double)wb.linear * 8.0 / (double)params.linear;
    uint64_t streamed = g ? g->layer_stream * m->layers + g->head_stream : 0;
    if (g)
        w.streamed_bytes_per_step = (int64_t)streamed, w.has_streamed_bytes_per_step = true;
    uint64_t kv_read = o->matmul_only ? 0
                                      : bb_step_kv_layer_bytes(m, r->prompt ? 1 : r->batch,
                                                               r->prompt ? r->prompt : o->context + 1) *
                                            m->layers;
    w.kv_bytes_per_step = json_pack("{s:I, s:s, s:s}", "value", (json_int_t)kv_read, "status", "modeled", "how",
                                    "2 (K,V) x layers x sequences x positions attended x kv_heads x head_dim x 2 "
                                    "bytes (fp16)");
    if (ms)
        w.memory_estimate_bytes = (int64_t)ms->memory_estimate, w.has_memory_estimate_bytes = true;
    w.peak_rss_bytes = peak_rss_json(ms);
    double gbps = measured ? (double)streamed / med : NAN;
    double ops_n = g ? 2.0 * (double)(g->layer_macs * m->layers + g->head_macs) * (double)row_tokens(r) : 0;
    w.gbps = gbps;
    w.gops = measured ? ops_n / med : NAN;
    w.bandwidth_ceiling = ceiling_json(st, r->threads);
    double ceil_gbps = json_real_value(json_object_get(w.bandwidth_ceiling, "gbps"));
    w.compute_roofs = st->roofs ? json_incref(st->roofs) : NULL;
    w.pct_of_ceiling = measured && ceil_gbps > 0 ? 100.0 * gbps / ceil_gbps : NAN;
    w.budget = budget_json(o, r);
    json_t *energy = json_object_get(res->probe, "energy"), *counters = json_object_get(res->probe, "counters");
    const char *why = res->set && measured ? "formats were interleaved sample by sample: energy and counters need "
                                             "one format per window (--no-interleave)"
                                           : "the row was not measured (see status and reason)";
    w.counters = counters ? json_incref(counters) : bb_value_unavailable(why);
    w.energy = energy ? json_incref(energy) : bb_value_unavailable(why);
    w.energy_model = energy_model_json(m, r->format, o->lm_head, row_tokens(r), streamed);
    json_t *j = bb_result_row_json(&w);
    bb_result_row_drop_json(&w);
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

/* A lower bound of the seconds one layer + head take at N rows with `threads` threads:
 * the largest projection's check weights (cache-warm) run on this thread alone, the
 * fastest of the calls made in 5 ms, scaled by operations and divided by the threads
 * (perfect scaling).  Single-threaded on purpose: on a loaded machine a pool call waits
 * for a descheduled worker, and a few-microsecond call would then read as milliseconds. */
static double warm_estimate_s(model_set *ms, const group *g, size_t n, unsigned threads)
{
    int p = BB_PROJ_GATE;
    for (int q = 0; q < BB_PROJ_COUNT; q++)
        if (g->proj[q].m * g->proj[q].k > g->proj[p].m * g->proj[p].k)
            p = q;
    const bb_kernel_weights *cw = &g->check[g->shape_of[p]];
    bb_step_bufs *b = &ms->bufs;
    bool from_ffn = g->proj[p].k == g->model->ffn, to_ffn = g->proj[p].m == g->model->ffn;
    bb_gemm_args a = {.w = &cw->w, .layout = bb_kernel_weights_stream(cw),
                      .x = from_ffn ? b->gate : b->o, .x_stride = from_ffn ? b->fs : b->hs,
                      .y = to_ffn ? b->up : b->q, .y_stride = to_ffn ? b->fs : b->hs, .n = n, .act = b->act};
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

/* One real layer and head at the row's geometry, timed: what an extrapolated sample
 * costs, and from it a full step (layers x layer + head). */
static void layer_estimate_s(bb_pool *pool, model_set *ms, group *g, const bb_step_geom *geo, double *layer_s,
                             double *head_s)
{
    *layer_s = *head_s = INFINITY;
    /* twice (two copies when there are), the faster: one preemption must not skip a row;
     * once when one takes over a quarter second (large batches: the estimate is dear) */
    for (int i = 0; i < 2 && !(i == 1 && *layer_s + *head_s > 0.25); i++) {
        double lns, hns;
        bb_step_split sp;
        sample(pool, ms, g, geo, 1, 99 + (uint64_t)i, &lns, &hns, &sp);
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
    /* 4x the LLC (at least 256 MiB) by default; 4x the --llc given, so that a small
     * assumed cache keeps the measurement small too (tests) */
    int measured = bb_bandwidth_measure(pool, 4 * o->llc_bytes, CEILING_PASSES, st->ceiling, MAX_THREADS);
    if (measured < 1) {
        snprintf(st->ceiling_reason, sizeof st->ceiling_reason,
                 "the bandwidth buffer (4x LLC) could not be allocated");
        return;
    }
    st->ceiling_threads = measured;
    bb_roof roofs[64];
    st->roofs = bb_roofs_json(roofs, bb_roofs_measure(pool, roofs, 64), bb_pool_placement(pool));
}

static uint64_t usable_memory(const bb_sweep_opts *o)
{
    uint64_t avail = o->mem_available ? o->mem_available() : bb_machine_mem_available();
    uint64_t margin = avail / 8 > (512ull << 20) ? avail / 8 : (512ull << 20);
    return avail > margin ? avail - margin : 0;
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


static void finish_row(row_result *res)
{
    json_decref(res->check);
    json_decref(res->warnings);
    json_decref(res->probe);
    json_decref(res->set);
    double **arrays[] = {&res->layers_ns, &res->head_ns, &res->step_ns, &res->linear_ns, &res->attention_ns,
                         &res->other_ns};
    for (size_t i = 0; i < sizeof arrays / sizeof arrays[0]; i++)
        free(*arrays[i]);
    memset(res, 0, sizeof *res);
}

static void row_init(row_result *res)
{
    memset(res, 0, sizeof *res);
    res->warnings = json_array();
    res->speedup = res->speedup_lo = res->speedup_hi = NAN;
}

static int row_arrays(row_result *res, size_t cap)
{
    double **arrays[] = {&res->layers_ns, &res->head_ns, &res->step_ns, &res->linear_ns, &res->attention_ns,
                         &res->other_ns};
    for (size_t i = 0; i < sizeof arrays / sizeof arrays[0]; i++)
        if (!(*arrays[i] = calloc(cap ? cap : 1, sizeof(double))))
            return -1;
    return 0;
}

/* ------------------------------------------------------------------ a model's set of groups */

static bool row_pending(const bb_sweep_ctx *c, const bb_sweep_row *r)
{
    return !(c->skip && bb_keyset_has(c->skip, r->key)) && !(r->budget && r->batch == 0);
}

static void set_note(const model_set *ms, FILE *to)
{
    char a[32], b[32];
    uint64_t rot = ms->kv_plan.total_bytes;
    for (size_t i = 0; i < ms->n; i++)
        rot += ms->g[i].rot.rotation_bytes;
    fprintf(to, "bitbench sweep: %s: %zu implementation%s, %s mode, weights and KV cache in rotation %s, %s to "
                "allocate\n",
            ms->model->name, ms->n, ms->n == 1 ? "" : "s", ms->full ? "full" : "extrapolated",
            fmt_gb((double)rot, a, sizeof a), fmt_gb((double)ms->memory_estimate, b, sizeof b));
}

/* Plans every group of the model's pending rows [rows, rows + n), the shared KV cache and
 * activations: arithmetic only. */
static void set_plan(model_set *ms, const bb_sweep_ctx *c, const sweep_state *st, const bb_sweep_row *rows, size_t n,
                     uint64_t usable, bool force_extrapolated)
{
    const bb_sweep_opts *o = c->opts;
    memset(ms, 0, sizeof *ms);
    ms->model = rows[0].model;
    ms->max_seq = ms->max_tok = ms->max_rows = 1;
    ms->cap = (size_t)o->context + 1;
    for (size_t i = 0; i < n; i++) {
        const bb_sweep_row *r = &rows[i];
        if (!row_pending(c, r))
            continue;
        if (!find_group(ms, r->kernel) && ms->n < MAX_VARIANTS)
            ms->g[ms->n++].kn = r->kernel;
        if (r->prompt) {
            ms->max_tok = r->prompt > ms->max_tok ? r->prompt : ms->max_tok;
            ms->cap = r->prompt > ms->cap ? r->prompt : ms->cap;
        } else if (r->batch > ms->max_seq) {
            ms->max_seq = r->batch;
        }
    }
    ms->max_rows = ms->max_seq > ms->max_tok ? ms->max_seq : ms->max_tok;
    uint64_t limit = force_extrapolated ? 0 : o->full_max < usable ? o->full_max : usable;
    ms->full = true;
    for (size_t i = 0; i < ms->n; i++) {
        group_plan(&ms->g[i], o, ms->model, ms->g[i].kn, st->llc, limit);
        ms->full &= ms->g[i].rot.full;
    }
    if (!ms->full) /* one mode for the whole set: extrapolated for all */
        for (size_t i = 0; i < ms->n; i++)
            group_plan(&ms->g[i], o, ms->model, ms->g[i].kn, st->llc, 0);
    unsigned lps = ms->full ? ms->model->layers : 1;
    if (o->matmul_only) {
        memset(&ms->kv_plan, 0, sizeof ms->kv_plan);
        ms->kv_plan.copies = 1;
    } else {
        bb_sweep_kv_plan(ms->model, ms->max_seq, ms->cap, lps, st->llc, o->warm, ms->max_seq, &ms->kv_plan);
    }
    const bb_kernel *widest = ms->n ? ms->g[0].kn : NULL;
    const bb_kernel *hk = o->lm_head ? bb_kernel_find_best("fp16") : NULL;
    for (size_t i = 1; i < ms->n; i++)
        if (bb_step_act_bytes(ms->model, ms->g[i].kn, hk, ms->max_rows) >
            bb_step_act_bytes(ms->model, widest, hk, ms->max_rows))
            widest = ms->g[i].kn;
    ms->head_copies = 1;
    ms->head_bytes = 0;
    if (o->lm_head && ms->n) {
        const group *g0 = &ms->g[0];
        uint64_t one = copy_alloc_bytes(g0->head_kn, head_m(g0), head_k(g0));
        ms->head_copies = (unsigned)bb_cold_copies(g0->head_stream, st->llc, o->warm);
        ms->head_bytes = ms->head_copies * one;
        if (g0->head_kn->layout_bytes)
            ms->head_bytes += alloc_size(bb_weights_bytes(BB_FMT_FP16, head_m(g0), head_k(g0)));
    }
    uint64_t total = ms->kv_plan.total_bytes + ms->head_bytes + BB_ARENA_CHUNK + (64ull << 20);
    if (widest)
        total += bb_step_bufs_bytes(ms->model, widest, hk, ms->max_rows, ms->cap, ms->max_tok, MAX_THREADS > 64 ? 64 : MAX_THREADS);
    for (size_t i = 0; i < ms->n; i++)
        total += ms->g[i].arena_need + ms->g[i].check_bytes;
    ms->memory_estimate = total;
}

/* The set's activations, KV-free step buffers and kernel scratch, sized for its widest
 * implementation and largest thread count. */
static int set_bufs_alloc(const model_set *ms, const bb_sweep_opts *o, bb_step_bufs *b)
{
    const bb_kernel *hk = o->lm_head ? bb_kernel_find_best("fp16") : NULL, *widest = ms->g[0].kn;
    for (size_t i = 1; i < ms->n; i++)
        if (bb_step_act_bytes(ms->model, ms->g[i].kn, hk, ms->max_rows) >
            bb_step_act_bytes(ms->model, widest, hk, ms->max_rows))
            widest = ms->g[i].kn;
    unsigned tmax = 1;
    for (size_t i = 0; i < o->n_threads; i++)
        tmax = o->threads[i] > tmax ? o->threads[i] : tmax;
    return bb_step_bufs_alloc(b, ms->model, widest, hk, ms->max_rows, ms->cap, ms->max_tok, (int)tmax);
}

/* Builds what set_plan planned; on failure ms->refuse says why. */
static void set_build(model_set *ms, const bb_sweep_opts *o, sweep_state *st)
{
    uint64_t t0 = bb_now_ns();
    reset_peak_rss(ms);
    bb_arena_rewind(&st->ar, 0); /* see struct bb_arena */
    int rc = 0;
    ms->heads = calloc(ms->head_copies, sizeof *ms->heads);
    rc = ms->heads ? 0 : -1;
    for (size_t i = 0; i < ms->n && rc == 0; i++) {
        ms->g[i].ar = &st->ar;
        rc = group_build(&ms->g[i], o, i == 0 ? ms->heads : NULL, ms->head_copies);
    }
    if (rc == 0 && ms->kv_plan.total_bytes) {
        ms->kv = bb_arena_alloc(&st->ar, ms->kv_plan.total_bytes);
        if (ms->kv)
            bb_step_fill_cache(ms->kv, ms->kv_plan.total_bytes / 2, o->seed);
        rc = ms->kv ? 0 : -1;
    }
    if (rc == 0)
        rc = set_bufs_alloc(ms, o, &ms->bufs);
    if (rc == 0)
        for (size_t t = 0; t < ms->max_rows; t++) { /* inputs of the warm estimate */
            bb_rng_fill(ms->bufs.o + t * ms->bufs.hs, ms->model->hidden, 1.0f, o->seed + 7777 + t);
            bb_rng_fill(ms->bufs.gate + t * ms->bufs.fs, ms->model->ffn, 1.0f, o->seed + 15555 + t);
        }
    if (rc != 0) {
        char h[32];
        snprintf(ms->refuse, sizeof ms->refuse,
                 "allocation failed while building the weights (estimate %s); the machine has less "
                 "memory than MemAvailable said",
                 fmt_gb((double)ms->memory_estimate, h, sizeof h));
        set_free(ms);
    }
    ms->build_s = (double)(bb_now_ns() - t0) / 1e9;
}

static void set_open(model_set *ms, const bb_sweep_ctx *c, sweep_state *st, const bb_sweep_row *rows, size_t n,
                     bool force_extrapolated)
{
    /* the arena's pages are ours already (set_build returns them first): they count as usable */
    uint64_t usable = usable_memory(c->opts) + bb_arena_bytes(&st->ar);
    set_plan(ms, c, st, rows, n, usable, force_extrapolated);
    if (ms->full && ms->memory_estimate > usable) {
        set_plan(ms, c, st, rows, n, usable, true);
        snprintf(ms->mode_reason, sizeof ms->mode_reason,
                 "every implementation's full model fits --full-max but not all of them with the KV cache and "
                 "activations in the usable memory");
    }
    set_note(ms, stderr);
    if (!ms->n)
        return;
    /* Memory another process is still giving back (one that just ended, a build) is back
     * within seconds: wait up to MEMORY_WAIT_S before refusing a set that fits the machine.
     * Seen on the Zen 5 VM: a 70B set refused at 9.6 GB usable right after another run,
     * with 23 GB free a minute later. */
    for (int waited = 0; ms->memory_estimate > usable && !c->opts->mem_available && waited < MEMORY_WAIT_S &&
                         !(c->stop && *c->stop);
         waited += 2) {
        char a[32], b[32];
        if (waited == 0)
            fprintf(stderr, "bitbench sweep: %s needs about %s, %s usable now: waiting up to %d s for memory\n",
                    ms->model->name, fmt_gb((double)ms->memory_estimate, a, sizeof a),
                    fmt_gb((double)usable, b, sizeof b), MEMORY_WAIT_S);
        sleep(2);
        usable = usable_memory(c->opts) + bb_arena_bytes(&st->ar);
    }
    if (ms->memory_estimate > usable) {
        char a[32], b[32];
        snprintf(ms->refuse, sizeof ms->refuse,
                 "needs about %s (the weights of its %zu implementations in rotation, KV cache and activations "
                 "for %" PRIu64 " rows) but only %s can be used (MemAvailable less a margin): refused rather than "
                 "risk the OOM killer",
                 fmt_gb((double)ms->memory_estimate, a, sizeof a), ms->n, ms->max_rows,
                 fmt_gb((double)usable, b, sizeof b));
        return;
    }
    set_build(ms, c->opts, st);
}

/* ------------------------------------------------------------------ one row, then a set */

/* Everything before the samples: check, estimates.  0 with res->active set when the row
 * is to be sampled (or its status set when not); 2 when a full step is too slow for the
 * row's cap but one layer + head is not (the model should be extrapolated). */
static int prepare_row(bb_sweep_ctx *c, sweep_state *st, model_set *ms, const bb_sweep_row *r, row_result *res)
{
    const bb_sweep_opts *o = c->opts;
    char err[200];
    if (r->budget && r->batch == 0) {
        res->status = "no_fit";
        bb_model_bytes b;
        bb_model_weight_bytes(r->model, r->format, &b);
        snprintf(res->reason, sizeof res->reason,
                 "Table 3: the weights (%.2f GB) plus the KV cache of one sequence of %u tokens (%.3f GB) "
                 "exceed the memory budget %.2f GB (%s)",
                 (double)b.total / 1e9, o->seq_len,
                 (double)bb_model_kv_bytes_per_seq(r->model, o->seq_len, 2) / 1e9,
                 (double)o->mem_budgets[r->budget_index] / 1e9,
                 o->mem_budgets[r->budget_index] == BB_SWEEP_PAPER_BUDGET ? "the paper's two A100 80GB"
                                                                          : "--mem-budget");
        return 0;
    }
    if (ms->refuse[0]) {
        res->status = "refused";
        snprintf(res->reason, sizeof res->reason, "%s", ms->refuse);
        return 0;
    }
    group *g = (group *)find_group(ms, r->kernel);
    bb_pool *pool = pool_for(st, r->threads, err, sizeof err);
    if (!pool || !g) {
        res->status = "error";
        snprintf(res->reason, sizeof res->reason, "cannot start %u threads: %s", r->threads, err);
        return 0;
    }
    size_t rows = (size_t)row_tokens(r);
    size_t n_check = rows < 8 ? rows : 8;
    bool passed;
    res->check = check_group(pool, g, n_check, &passed);
    if (!passed) {
        res->status = "check_failed";
        snprintf(res->reason, sizeof res->reason, "the kernel disagrees with the scalar reference: %s",
                 json_string_value(json_object_get(res->check, "detail")));
        return 0;
    }
    res->geo = row_geom(ms, g, o, r);
    if (bb_step_validate(&res->geo, &ms->bufs, err, sizeof err) != 0) {
        res->status = "error";
        snprintf(res->reason, sizeof res->reason, "step geometry: %s", err);
        return 0;
    }
    unsigned samples = o->warmup + o->min_reps;
    double lower = warm_estimate_s(ms, g, rows, r->threads);
    if (lower * samples > st->row_cap) {
        res->est_sample_s = lower;
        res->status = "skipped";
        snprintf(res->reason, sizeof res->reason,
                 "even one layer + head per sample would take at least %.2f s (a cache-warm probe of the "
                 "largest projection at %zu rows, scaled by operations): %u warm-up + %u samples exceed "
                 "the row's time cap, %s",
                 lower, rows, o->warmup, o->min_reps, st->cap_note);
        return 0;
    }
    double layer_s, head_s;
    layer_estimate_s(pool, ms, g, &res->geo, &layer_s, &head_s);
    res->est_sample_s = (double)g->rot.layers_per_sample * layer_s + head_s;
    if (res->est_sample_s * samples > st->row_cap) {
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
    if (row_arrays(res, o->max_reps) != 0) {
        res->status = "error";
        snprintf(res->reason, sizeof res->reason, "out of memory for the samples");
        return 0;
    }
    res->g = g;
    res->active = true;
    return 0;
}

/* One sample of an active row, kept (keep) or warm-up: its timed ns (layers + head),
 * or NAN when it gave none (warm-up, or non-finite activations). */
static double take_sample(bb_sweep_ctx *c, sweep_state *st, model_set *ms, const bb_sweep_row *r, row_result *res,
                          bool keep, uint64_t seed)
{
    bb_pool *pool = st->pools[r->threads];
    group *g = res->g;
    double lns, hns;
    bb_step_split sp;
    sample(pool, ms, g, &res->geo, g->rot.layers_per_sample, seed, &lns, &hns, &sp);
    if (!step_finite(ms, g, res->geo.n_seq * res->geo.n_tok)) {
        if (c->opts->matmul_only) { /* no norms: the earlier step's values may grow; a warning */
            res->matmul_non_finite = true;
        } else {
            res->non_finite = true;
            res->active = false;
            return NAN;
        }
    }
    if (!keep) {
        res->warmup_done++;
        return NAN;
    }
    size_t s = res->n_samples++;
    res->layers_ns[s] = lns;
    res->head_ns[s] = hns;
    res->step_ns[s] = bb_sweep_extrapolate(lns, hns, g->model->layers, g->rot.layers_per_sample);
    res->linear_ns[s] = sp.linear_ns;
    res->attention_ns[s] = sp.attention_ns;
    res->other_ns[s] = sp.other_ns;
    res->timed_s += (lns + hns) / 1e9;
    return lns + hns;
}

/* The sampler's view of a set (harness/core/sampler.h): one participant per row idx[i]. */
typedef struct set_run {
    bb_sweep_ctx *c;
    sweep_state *st;
    model_set *ms;
    const bb_sweep_row *rows;
    row_result *res;
    const size_t *idx;
} set_run;

static double set_sample(void *ctx, size_t who, bb_sample_phase phase, size_t round)
{
    set_run *sr = ctx;
    size_t i = sr->idx[who];
    uint64_t seed = sr->c->opts->seed * (phase == BB_SAMPLE_KEPT ? 1009 : 31) + round;
    return take_sample(sr->c, sr->st, sr->ms, &sr->rows[i], &sr->res[i], phase == BB_SAMPLE_KEPT, seed);
}

static bool set_active(void *ctx, size_t who)
{
    set_run *sr = ctx;
    return sr->res[sr->idx[who]].active;
}

/* Rounds over the rows idx[0..n) (each active row one sample per round, in order):
 * warm-up rounds, then kept rounds until min_reps and a mean of min_time per row (or
 * max_reps, or the set's time cap) - of placement `part` of `parts`, which takes that share
 * of min_time and min_reps (at least 2) and the rounds max_reps leaves after `done`.  1 when
 * stopped by the signal flag. */
static int sample_rounds(bb_sweep_ctx *c, sweep_state *st, model_set *ms, const bb_sweep_row *rows,
                         row_result *res, const size_t *idx, size_t n, double cap_s, unsigned part,
                         unsigned parts, size_t done, size_t *rounds_out)
{
    const bb_sweep_opts *o = c->opts;
    size_t max_reps = o->max_reps ? o->max_reps : 1;
    size_t min_reps = ((size_t)o->min_reps + parts - 1) / parts;
    if (parts > 1 && min_reps < 2)
        min_reps = 2;
    if (part + 1 == parts && done + min_reps < o->min_reps)
        min_reps = o->min_reps - done; /* the last part makes up for capped ones */
    set_run sr = {.c = c, .st = st, .ms = ms, .rows = rows, .res = res, .idx = idx};
    bb_sampler s = {.n = n, .ctx = &sr, .sample = set_sample, .self_timed = true, .active = set_active,
                    .stop = c->stop,
                    /* Table 3 rows: the estimate's sample of seconds was their warm-up */
                    .warmup = n && rows[idx[0]].budget ? 0 : o->warmup, .min_reps = min_reps,
                    .max_reps = max_reps > done ? max_reps - done : 1, .min_time_s = o->min_time / parts,
                    .max_time_s = cap_s};
    int rc = bb_sampler_run(&s);
    bb_sampler_free(&s);
    if (rc < 0)
        return -1;
    if (rc == 1)
        return 1;
    if (s.capped && part + 1 == parts && done + s.rounds < o->min_reps)
        for (size_t i = 0; i < n; i++)
            if (res[idx[i]].active)
                add_warning(&res[idx[i]], "only %zu samples (fewer than %u): the set reached its time "
                                          "cap, %s per row", done + s.rounds, o->min_reps, st->cap_note);
    *rounds_out = s.rounds;
    return 0;
}

static void row_warnings(const bb_sweep_opts *o, const sweep_state *st, const bb_sweep_row *r, row_result *res)
{
    const group *g = res->g;
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
    if (res->matmul_non_finite)
        add_warning(res, "non-finite activations (--matmul-only has no norms): timings of NaN/inf data may "
                         "differ from real data");
    if (o->warm)
        add_warning(res, "--warm: weights were not rotated and may have been served from the cache");
    int t = (int)r->threads;
    if (t <= st->ceiling_threads && res->stats.median > 0 &&
        (double)(g->layer_stream * g->model->layers + g->head_stream) / res->stats.median >
            st->ceiling[t - 1].best_gbps)
        add_warning(res, "weight bytes streamed faster than the measured read ceiling: the ceiling was "
                         "measured under other load, or some weights came from a cache");
    else if (!st->llc)
        add_warning(res, "LLC size unknown (%s): the rotation assumed %llu MiB", st->llc_source,
                    (unsigned long long)(BB_ASSUMED_LLC >> 20));
}

/* Speed-ups of every measured row of a set against its fp16 row, from paired samples. */
static void set_speedups(const bb_sweep_row *rows, row_result *res, size_t n)
{
    int base = -1;
    for (size_t i = 0; i < n; i++)
        if (rows[i].format == BB_FMT_FP16 && (base < 0 || res[i].n_samples > res[base].n_samples))
            base = (int)i;
    for (size_t i = 0; i < n; i++) {
        if (base < 0)
            continue;
        res[i].baseline_impl = rows[base].kernel->name;
        size_t pairs = res[i].n_samples < res[base].n_samples ? res[i].n_samples : res[base].n_samples;
        if (!pairs)
            continue;
        double tok = (double)row_tokens(&rows[i]) / (double)row_tokens(&rows[base]);
        bb_sweep_paired_speedup(res[base].step_ns, res[i].step_ns, pairs, tok, 2000, 0.95, 17, &res[i].speedup,
                                &res[i].speedup_lo, &res[i].speedup_hi);
        res[i].pairs = pairs;
    }
}

/* Writes the row and reports progress.  0, or -1 when the write failed. */
static int emit_row(bb_sweep_ctx *c, const sweep_state *st, const bb_sweep_row *r, const model_set *ms,
                    row_result *res, size_t index, size_t total, size_t processed, size_t todo,
                    uint64_t t_start, char *errout, size_t errlen)
{
    json_t *row = row_json(c, st, r, ms, res);
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

static bool same_set(const bb_sweep_row *a, const bb_sweep_row *b)
{
    return a->model == b->model && a->threads == b->threads && a->budget == b->budget && a->prompt == b->prompt &&
           (a->budget ? a->budget_index == b->budget_index : a->batch == b->batch);
}

#define PLACEMENTS_HOW                                                                                       \
    "the set's rounds were taken in count parts; before each part after the first, every weight, head and " \
    "KV copy moved to new physical memory at the same addresses (bb_arena_move_pages) and the activation "  \
    "and scratch buffers were allocated anew, so where they landed is sampled like the noise; "             \
    "first_round: the set's round each part began; move_s: each move"

/* How many placements a set's samples are split over: --placements, but one for Table 3 rows
 * (seconds per sample, batches in the hundreds) and a set of one implementation (nothing to
 * trade places with). */
static unsigned set_placements(const bb_sweep_opts *o, const model_set *ms, const bb_sweep_row *rows, size_t n)
{
    if (o->placements <= 1 || ms->n < 2 || (n && rows[0].budget))
        return 1;
    return o->placements;
}

/* Measures the set rows[0..n) of an open model.  0 done (results in res), 1 stopped,
 * 2 a full step is too slow (reopen the model extrapolated and call again). */
static int run_set(bb_sweep_ctx *c, sweep_state *st, model_set *ms, const bb_sweep_row *rows, row_result *res,
                   size_t n)
{
    const bb_sweep_opts *o = c->opts;
    size_t idx[MAX_VARIANTS * BB_FMT_COUNT], n_active = 0;
    for (size_t i = 0; i < n; i++) {
        int rc = prepare_row(c, st, ms, &rows[i], &res[i]);
        if (rc != 0)
            return rc;
        if (res[i].active && n_active < sizeof idx / sizeof idx[0])
            idx[n_active++] = i;
    }
    if (!n_active)
        return 0;
    size_t rounds = 0;
    if (o->interleave) {
        unsigned parts = set_placements(o, ms, rows, n);
        json_t *starts = json_array(), *moves = json_array();
        double cap_s = st->row_cap * (double)n_active, t0 = (double)bb_now_ns() / 1e9;
        for (unsigned p = 0; p < parts && rounds < (o->max_reps ? o->max_reps : 1); p++) {
            if (p > 0) {
                /* the same bytes at the same addresses, in other physical memory: a copy's
                 * placement alone moved its speed by up to 1.5x here (see --placements) */
                uint64_t tb = bb_now_ns();
                bb_step_bufs fresh; /* the buffers too: taken before the old ones are freed */
                if (set_bufs_alloc(ms, o, &fresh) == 0) {
                    bb_step_bufs_free(&ms->bufs);
                    ms->bufs = fresh;
                }
                if (bb_arena_move_pages(&st->ar) != 0) {
                    for (size_t i = 0; i < n_active; i++)
                        add_warning(&res[idx[i]], "placements: %u of %u taken (the weights could not be moved "
                                                  "to new memory: %s)", p, parts, strerror(errno));
                    break;
                }
                json_array_append_new(moves, json_real((double)(bb_now_ns() - tb) / 1e9));
            }
            json_array_append_new(starts, json_integer((json_int_t)rounds));
            double left = cap_s - ((double)bb_now_ns() / 1e9 - t0);
            size_t got = 0;
            int rc = sample_rounds(c, st, ms, rows, res, idx, n_active, (left > 0 ? left : 0) / (parts - p), p,
                                   parts, rounds, &got);
            rounds += got;
            if (rc != 0) {
                json_decref(starts);
                json_decref(moves);
                return rc;
            }
        }
        json_t *order = json_array();
        for (size_t i = 0; i < n_active; i++)
            json_array_append_new(order, json_string(rows[idx[i]].kernel->name));
        for (size_t i = 0; i < n_active; i++)
            res[idx[i]].set = json_pack("{s:b, s:O, s:I, s:I, s:s, s:{s:I, s:O, s:O, s:s}}", "interleaved", 1,
                                        "order", order, "position", (json_int_t)i, "rounds", (json_int_t)rounds,
                                        "how",
                                        "one sample of each row in turn per round (A B C ... A B C ...), each "
                                        "with its own cold rotation; warm-up rounds first",
                                        "placements", "count", (json_int_t)json_array_size(starts), "first_round",
                                        starts, "move_s", moves, "how", PLACEMENTS_HOW);
        json_decref(order);
        json_decref(starts);
        json_decref(moves);
    } else {
        for (size_t i = 0; i < n_active; i++) {
            row_result *rr = &res[idx[i]];
            const bb_sweep_row *r = &rows[idx[i]];
            char region[96];
            snprintf(region, sizeof region, "%s/%s/t%u/b%" PRIu64, r->model->name, r->kernel->name, r->threads,
                     r->batch);
            double expected = rr->est_sample_s * o->min_reps > o->min_time ? rr->est_sample_s * o->min_reps
                                                                           : o->min_time;
            bb_probe_idle(st->probe, expected < st->row_cap ? expected : st->row_cap);
            bb_probe_begin(st->probe, region);
            int rc = sample_rounds(c, st, ms, rows, res, &idx[i], 1, st->row_cap, 0, 1, 0, &rounds);
            bb_probe_end(st->probe);
            if (rc != 0)
                return rc;
            const group *g = rr->g;
            double frac = (double)(g->rot.layers_per_sample * g->layer_macs + g->head_macs) /
                          (double)(g->model->layers * g->layer_macs + g->head_macs);
            double per_sample_bytes = (double)(g->rot.layers_per_sample * g->layer_stream + g->head_stream);
            rr->probe = bb_probe_result(st->probe, (double)rr->n_samples,
                                        (double)rr->n_samples * (double)row_tokens(r) * frac, per_sample_bytes);
        }
    }
    for (size_t k = 0; k < n_active; k++) {
        row_result *rr = &res[idx[k]];
        if (rr->non_finite) {
            rr->status = "error";
            snprintf(rr->reason, sizeof rr->reason,
                     "non-finite activations after a sample (%zu kept before it): the step's output must stay "
                     "finite", rr->n_samples);
            rr->n_samples = 0;
            continue;
        }
        if (!rr->n_samples) {
            rr->status = "skipped";
            snprintf(rr->reason, sizeof rr->reason, "no sample was kept");
            continue;
        }
        rr->status = "ok";
        bb_summarize(rr->step_ns, rr->n_samples, &rr->stats);
        row_warnings(o, st, &rows[idx[k]], rr);
    }
    set_speedups(rows, res, n);
    return 0;
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
    double budget_rows_s = 0; /* seconds spent on Table 3 sets */
    row_result *res = calloc(n ? n : 1, sizeof *res);
    model_set *ms = calloc(1, sizeof *ms);
    if (!res || !ms) {
        free(res);
        free(ms);
        free(st);
        snprintf(errout, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < n && status == 0;) {
        size_t end = i;
        bool any = false;
        while (end < n && rows[end].model == rows[i].model) {
            any |= row_pending(c, &rows[end]) || (rows[end].budget && !(c->skip && bb_keyset_has(c->skip, rows[end].key)));
            end++;
        }
        bool opened = false;
        for (size_t a = i; a < end && status == 0;) {
            size_t b = a + 1;
            while (b < end && same_set(&rows[a], &rows[b]))
                b++;
            /* the set's rows still to run, in plan order */
            const bb_sweep_row *todo_rows[MAX_VARIANTS * BB_FMT_COUNT];
            size_t nt = 0;
            for (size_t k = a; k < b; k++) {
                if (c->skip && bb_keyset_has(c->skip, rows[k].key))
                    c->rows_skipped++;
                else if (nt < sizeof todo_rows / sizeof todo_rows[0])
                    todo_rows[nt++] = &rows[k];
            }
            if (!nt) {
                a = b;
                continue;
            }
            uint64_t t0 = bb_now_ns();
            /* Table 3 rows have their own cap and are not charged to --time-budget */
            bool spent = !set_row_cap(st, o, (double)(t0 - t_start) / 1e9 - budget_rows_s, todo - processed);
            double build_s = 0;
            if (!opened && !spent && any) {
                set_open(ms, c, st, &rows[i], end - i, false);
                opened = true;
                build_s = ms->build_s;
            }
            bb_sweep_row set_rows[MAX_VARIANTS * BB_FMT_COUNT];
            for (size_t k = 0; k < nt; k++) {
                set_rows[k] = *todo_rows[k];
                row_init(&res[k]);
            }
            int rc = 0;
            if (spent) {
                for (size_t k = 0; k < nt; k++) {
                    res[k].status = "skipped";
                    snprintf(res[k].reason, sizeof res[k].reason,
                             "the sweep's --time-budget of %.0f s was used up before this row", o->time_budget);
                }
            } else {
                if (set_rows[0].budget && o->max_budget_row_time > st->row_cap) {
                    /* Table 3 rows run first and take seconds per sample at their batch:
                     * their own cap, not a share of the --time-budget */
                    st->row_cap = o->max_budget_row_time;
                    snprintf(st->cap_note, sizeof st->cap_note, "--max-budget-row-time %.0f s",
                             o->max_budget_row_time);
                }
                rc = run_set(c, st, ms, set_rows, res, nt);
                if (rc == 2) {
                    /* too slow in full mode: reopen as extrapolated, for this set and the rest */
                    char why[320];
                    snprintf(why, sizeof why,
                             "a full decode step at N=%" PRIu64 " is too slow for the row's time cap (%s): from "
                             "this batch on, one layer + head per sample, extrapolated",
                             set_rows[0].batch, st->cap_note);
                    for (size_t k = 0; k < nt; k++) {
                        finish_row(&res[k]);
                        row_init(&res[k]);
                    }
                    set_free(ms);
                    set_open(ms, c, st, &rows[i], end - i, true);
                    snprintf(ms->mode_reason, sizeof ms->mode_reason, "%s", why);
                    build_s += ms->build_s;
                    rc = run_set(c, st, ms, set_rows, res, nt);
                    if (rc == 2)
                        rc = 0; /* cannot happen extrapolated; the rows keep their status */
                }
            }
            double wall = (double)(bb_now_ns() - t0) / 1e9;
            if (set_rows[0].budget)
                budget_rows_s += wall;
            if (rc == 1 || (c->stop && *c->stop)) {
                snprintf(c->interrupted_row, sizeof c->interrupted_row, "%s", set_rows[0].key);
                status = 1;
            } else {
                for (size_t k = 0; k < nt && status == 0; k++) {
                    if (!res[k].status) {
                        res[k].status = "error";
                        snprintf(res[k].reason, sizeof res[k].reason, "not measured");
                    }
                    res[k].row_s = wall;
                    res[k].build_s = build_s;
                    processed++;
                    if (emit_row(c, st, &set_rows[k], opened && !spent ? ms : NULL, &res[k],
                                 (size_t)(todo_rows[k] - rows) + 1, n, processed, todo, t_start, errout, errlen) != 0)
                        status = -1;
                }
            }
            for (size_t k = 0; k < nt; k++)
                finish_row(&res[k]);
            a = b;
        }
        if (opened)
            set_free(ms);
        i = end;
    }
    free(res);
    free(ms);
    for (int t = 0; t <= MAX_THREADS; t++)
        if (st->pools[t])
            bb_pool_destroy(st->pools[t]);
    bb_probe_close(st->probe);
    bb_arena_free(&st->ar);
    json_decref(st->roofs);
    free(st);
    return status;
}
