/*
 * bench/cmd_gemm.c - `bitbench gemm`: check, then time, kernels on one M x K x N shape.
 *
 * Several kernels given together are timed interleaved (A B C A B C ...) in one process,
 * so the machine's drift hits them alike and their ratios mean something.  Weights are
 * cold by default: each kernel rotates through enough copies of its weights to exceed
 * 4x the last-level cache, so every call streams its weights from DRAM as a decode does.
 * The read ceiling is one more participant of every round (harness/machine/ceiling.h): a read-only
 * pass over the kernel's own weight copies, so each % of ceiling is a ratio of two samples
 * taken side by side, on the same pages.
 */
#include "cli.h"

#include "../harness/machine/cache.h"
#include "../harness/machine/ceiling.h"
#include "../harness/core/gemm_run.h"
#include "../harness/machine/machine.h"
#include "../harness/core/module.h"
#include "../harness/model/openergy.h"
#include "../harness/probe/probe.h"
#include "../harness/core/pool.h"
#include "../harness/base/rng.h"
#include "../harness/core/sampler.h"
#include "../harness/base/stats.h"
#include "../harness/tune/tune.h"
#include "../kernels/kernel.h"
#include "../harness/core/clock.h"
#include "../harness/results/value.h"
#include "../harness/results/row.h"

#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CMD "gemm"
enum { MAX_ITEMS = 64 };

typedef struct gemm_opts {
    const char *kernels, *impls, *out, *isa, *events;
    uint64_t m, k, n, reps, seed, threads;
    double min_time, max_time;
    int json, warm, ceiling, probe, paired, tune;
} gemm_opts;

typedef struct item {
    const bb_kernel *k;
    bb_kernel_weights *copies;
    size_t ncopies;
    bb_gemm_io io;
    bb_check check;
    bb_work work;
    double *samples;
    size_t nsamples;
    bb_summary stats;
    json_t *probe;   /* {"energy", "counters"} of this kernel's own pass */
    char rule[512];  /* which rule chose the implementation (harness/tune/tune.h) */
    size_t probe_calls;
    int borrowed;       /* --paired: copies and io are its partner's (not freed here) */
    size_t copy_offset; /* and it starts half a rotation away from the partner */
    int ceiling;        /* its read-ceiling participant (harness/machine/ceiling.h), -1: none */
    bb_ceiling_pct pct; /* its % of that ceiling, paired by round */
} item;

static void usage(FILE *to)
{
    fprintf(to,
        "usage: bitbench gemm (--kernel FORMAT[,FORMAT..]|all | --impl IMPL[,IMPL..]|all) --m M --k K [options]\n"
        "  --kernel LIST   formats, each run with its fastest implementation here: the tuning record's\n"
        "                  pick for the shape, threads and batch; a case the record lacks is tuned first\n"
        "                  (seconds; --no-tune or BITBENCH_AUTOTUNE=0: the fixed priority instead)\n"
        "  --impl LIST     exact implementations; 'all' = every one this CPU runs\n"
        "  --m M --k K     weight matrix M x K;  --n N tokens (default 1: decode)\n"
        "  --reps R        timed calls per kernel (default: enough for --min-time, at least 10)\n"
        "  --min-time S    seconds of timed calls per kernel when --reps is not given (default 0.5)\n"
        "  --threads T     worker threads, pinned one per core (default: all cores)\n"
        "  --warm          reuse one weight copy (cache-warm); default cold (rotation > 4x LLC)\n"
        "  --no-ceiling    skip the read-ceiling participant (a read-only pass over the same bytes as\n"
        "                  each kernel's call, timed in every round beside the kernels)\n"
        "  --seed S        data seed (default 1);  --isa %s caps the ISA\n"
        "  --events LIST   counters (PAPI preset or native names; default: env BITBENCH_EVENTS, else\n"
        "                  instructions, cycles, LLC misses), measured with energy in a per-kernel pass\n"
        "  --no-probe      skip the counter/energy pass (saves ~0.5 s of backend probing per process)\n"
        "  --json          one JSON object per kernel on stdout (or --out FILE); summary on stderr\n"
        "  --plugin [PREFIX=]LIB.so  add a kernel module's kernels (as PREFIX/NAME); repeatable\n"
        "  --paired        time the kernels two by two as listed, each round's pair in random order,\n"
        "                  on shared weights where they pack alike (A/B: `bitbench paired` judges it)\n"
        "  --max-time S    stop timing after S seconds (whole rounds), however many --reps remain\n",
        bb_cli_isa_names("|"));
}

static int parse(int argc, char **argv, gemm_opts *o)
{
    static const struct option opts[] = {
        {"kernel", required_argument, 0, 'K'}, {"impl", required_argument, 0, 'I'},
        {"m", required_argument, 0, 'm'},      {"k", required_argument, 0, 'k'},
        {"n", required_argument, 0, 'n'},      {"reps", required_argument, 0, 'r'},
        {"min-time", required_argument, 0, 'T'}, {"seed", required_argument, 0, 's'},
        {"threads", required_argument, 0, 't'}, {"isa", required_argument, 0, 'i'},
        {"warm", no_argument, 0, 'w'},         {"no-ceiling", no_argument, 0, 'C'},
        {"json", no_argument, 0, 'j'},         {"out", required_argument, 0, 'o'},
        {"events", required_argument, 0, 'e'},  {"no-probe", no_argument, 0, 'P'},
        {"plugin", required_argument, 0, 'L'}, {"paired", no_argument, 0, 'A'},
        {"max-time", required_argument, 0, 'X'}, {"no-tune", no_argument, 0, 'U'},
        {"help", no_argument, 0, 'h'},         {0, 0, 0, 0}};
    *o = (gemm_opts){.n = 1, .seed = 1, .min_time = 0.5, .ceiling = 1, .probe = 1, .tune = 1,
                     .threads = (uint64_t)bb_cli_default_threads()};
    int c, have_m = 0, have_k = 0;
    opterr = 0;
    optind = 1;
    const uint64_t dim_max = 1u << 20;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        int bad = 0;
        switch (c) {
        case 'K': o->kernels = optarg; break;
        case 'I': o->impls = optarg; break;
        case 'm': bad = bb_cli_parse_u64(CMD, "--m", optarg, 1, dim_max, false, &o->m); have_m = 1; break;
        case 'k': bad = bb_cli_parse_u64(CMD, "--k", optarg, 1, dim_max, false, &o->k); have_k = 1; break;
        case 'n': bad = bb_cli_parse_u64(CMD, "--n", optarg, 1, 65536, false, &o->n); break;
        case 'r': bad = bb_cli_parse_u64(CMD, "--reps", optarg, 1, 10000000, false, &o->reps); break;
        case 'T': bad = bb_cli_parse_double(CMD, "--min-time", optarg, 0.001, 3600, &o->min_time); break;
        case 's': bad = bb_cli_parse_u64(CMD, "--seed", optarg, 0, UINT64_MAX, false, &o->seed); break;
        case 't':
            bad = bb_cli_parse_u64(CMD, "--threads", optarg, 1, 1024, false, &o->threads) ||
                  bb_cli_check_threads(CMD, o->threads);
            break;
        case 'i': o->isa = optarg; break;
        case 'w': o->warm = 1; break;
        case 'C': o->ceiling = 0; break;
        case 'U': o->tune = 0; break;
        case 'j': o->json = 1; break;
        case 'o': o->out = optarg; break;
        case 'e': o->events = optarg; break;
        case 'P': o->probe = 0; break;
        case 'A': o->paired = 1; break;
        case 'X': bad = bb_cli_parse_double(CMD, "--max-time", optarg, 0.001, 86400, &o->max_time); break;
        case 'L': bad = bb_cli_load_plugin(CMD, optarg); break;
        case 'h': usage(stdout); exit(BB_EXIT_OK);
        default:
            return bb_cli_error(CMD, "unknown or incomplete option '%s' (bitbench gemm --help lists them)",
                                argv[optind - 1]);
        }
        if (bad)
            return BB_EXIT_USAGE;
    }
    if (optind < argc)
        return bb_cli_error(CMD, "unexpected argument '%s'", argv[optind]);
    if (!o->kernels && !o->impls)
        return bb_cli_error(CMD, "no kernel: give --kernel FORMAT (one of: %s, all) or --impl NAME",
                            bb_cli_format_names());
    char err[256];
    if (bb_inject_slowdown_check(err, sizeof err) != 0)
        return bb_cli_error(CMD, "%s", err);
    if (!have_m || !have_k)
        return bb_cli_error(CMD, "missing %s: the weight matrix is --m M (outputs) by --k K (inputs)",
                            !have_m ? "--m" : "--k");
    return bb_cli_apply_isa(CMD, o->isa);
}

/* ------------------------------------------------------------------ kernel selection */

static int add_item(item *items, size_t *n, const bb_kernel *k)
{
    for (size_t i = 0; i < *n; i++)
        if (items[i].k == k)
            return 0;
    if (*n == MAX_ITEMS)
        return bb_cli_error(CMD, "more than %d kernels in one run", MAX_ITEMS);
    memset(&items[*n], 0, sizeof items[*n]);
    items[(*n)++].k = k;
    return 0;
}

/* --kernel F: the fastest F here when tuned, else the priority (harness/tune/tune.h). */
static int add_selected(const gemm_opts *o, item *items, size_t *n, const char *format)
{
    bb_select_rule rule;
    const bb_kernel *k = bb_select_kernel(format, o->m, o->k, o->n, (unsigned)o->threads, &rule);
    size_t before = *n;
    if (!k || add_item(items, n, k))
        return BB_EXIT_USAGE;
    if (*n > before)
        snprintf(items[before].rule, sizeof items[before].rule, "%s", rule.text);
    return 0;
}

static int select_kernels(const gemm_opts *o, item *items, size_t *n)
{
    char buf[1024];
    *n = 0;
    if (o->kernels) {
        snprintf(buf, sizeof buf, "%s", o->kernels);
        for (char *s = NULL, *t = strtok_r(buf, ",", &s); t; t = strtok_r(NULL, ",", &s)) {
            if (!strcmp(t, "all")) {
                for (int f = 0; f < BB_FMT_COUNT; f++)
                    add_selected(o, items, n, bb_formats[f].name);
                continue;
            }
            if (!bb_format_find(t))
                return bb_cli_error(CMD, "--kernel '%s': unknown format; expected one of: %s, all", t,
                                    bb_cli_format_names());
            if (add_selected(o, items, n, t))
                return BB_EXIT_USAGE;
        }
    }
    if (o->impls) {
        snprintf(buf, sizeof buf, "%s", o->impls);
        for (char *s = NULL, *t = strtok_r(buf, ",", &s); t; t = strtok_r(NULL, ",", &s)) {
            if (!strcmp(t, "all")) {
                for (size_t i = 0; i < bb_kernel_count; i++)
                    if (bb_kernel_runnable(bb_kernels[i]) && add_item(items, n, bb_kernels[i]))
                        return BB_EXIT_USAGE;
                for (size_t i = 0; i < bb_module_kernel_count(); i++)
                    if (bb_kernel_runnable(bb_module_kernel(i)) && add_item(items, n, bb_module_kernel(i)))
                        return BB_EXIT_USAGE;
                continue;
            }
            const bb_kernel *k = bb_any_kernel_find_exact(t);
            if (!k)
                return bb_cli_error(CMD, "--impl '%s': unknown implementation; `bitbench list` shows them", t);
            if (!bb_kernel_runnable(k)) {
                char missing[128];
                bb_cpu_features_str(k->needs & ~bb_cpu_features(), missing, sizeof missing);
                return bb_cli_error(CMD, "--impl '%s' cannot run here: needs %s (ISA cap: %s)", t,
                                    missing[0] ? missing : bb_isa_name(k->isa), bb_isa_name(bb_isa_cap()));
            }
            if (add_item(items, n, k))
                return BB_EXIT_USAGE;
        }
    }
    if (*n == 0)
        return bb_cli_error(CMD, "no kernel selected");
    if (o->paired && *n % 2)
        return bb_cli_error(CMD, "--paired: %zu distinct kernels selected; pairs need an even number", *n);
    return 0;
}

/* ------------------------------------------------------------------ setup */

static size_t copies_for(const gemm_opts *o, const bb_kernel *k)
{
    /* one rule with sweep (harness/machine/cache.h), on the bytes a call streams: a kernel with
     * its own layout reads only that, so counting its unread canonical copy too left its
     * rotation at ~2x the LLC instead of the promised 4x */
    bb_work work;
    bb_kernel_work(k, o->m, o->k, 1, &work);
    return (size_t)bb_cold_copies(work.weight_bytes, bb_llc_bytes(NULL), o->warm);
}

/* The shape limits (kernel.h), for every selected kernel, before anything is allocated. */
static int check_shapes(const gemm_opts *o, const item *items, size_t n)
{
    char err[512];
    for (size_t i = 0; i < n; i++)
        if (bb_kernel_shape_check(items[i].k, o->m, o->k, o->n, err, sizeof err))
            return bb_cli_error(CMD, "%s", err);
    return 0;
}

static int check_memory(const gemm_opts *o, item *items, size_t n)
{
    uint64_t need = (uint64_t)o->m * o->k * sizeof(float); /* the fp32 weights, while quantizing */
    for (size_t i = 0; i < n; i++) {
        items[i].ncopies = copies_for(o, items[i].k);
        need += items[i].ncopies * bb_kernel_weights_bytes(items[i].k, o->m, o->k) +
                2 * bb_gemm_io_bytes(items[i].k, o->m, o->k, o->n); /* run + check buffers */
    }
    uint64_t avail = bb_mem_available();
    if (avail && need > avail / 10 * 9) {
        char a[32], b[32];
        return bb_cli_error(CMD, "shape %llux%llux%llu needs %s for %zu kernel(s) (cold rotation included; "
                            "--warm needs less), but only %s is available",
                            (unsigned long long)o->m, (unsigned long long)o->k, (unsigned long long)o->n,
                            bb_human_bytes((double)need, a, sizeof a), n,
                            bb_human_bytes((double)avail, b, sizeof b));
    }
    return 0;
}

static int build_items(const gemm_opts *o, item *items, size_t n)
{
    float *w32 = malloc(o->m * o->k * sizeof(float));
    if (!w32)
        return -1;
    /* Weights ~ N(0, 1/K)-ish, like a trained layer; the scale does not change speed. */
    bb_rng_fill(w32, o->m * o->k, 1.0f / sqrtf((float)o->k), o->seed);
    for (size_t i = 0; i < n; i++) {
        item *it = &items[i];
        it->copies = calloc(it->ncopies, sizeof *it->copies);
        const item *same = NULL; /* an earlier implementation of the format: its quantized weights */
        for (size_t j = 0; j < i && !same; j++)
            same = items[j].k->format == it->k->format ? &items[j] : NULL;
        if (!it->copies || (same ? bb_kernel_weights_make_from(&it->copies[0], it->k, &same->copies[0].w)
                                 : bb_kernel_weights_make(&it->copies[0], it->k, w32, o->m, o->k)) != 0)
            goto fail;
        for (size_t c = 1; c < it->ncopies; c++)
            if (bb_kernel_weights_clone(&it->copies[c], &it->copies[0], it->k, NULL) != 0)
                goto fail;
        if (bb_gemm_io_make(&it->io, it->k, o->m, o->k, o->n, o->seed) != 0)
            goto fail;
        bb_kernel_work(it->k, o->m, o->k, o->n, &it->work);
    }
    free(w32);
    return 0;
fail:
    free(w32);
    return -1;
}

/* --paired: a pair whose weights pack to the same bytes and whose activation buffers
 * have the same size shares them.  Measured here with one build loaded twice: on
 * buffers of their own, the two sides of a pair differed by up to 4% (9% between two
 * builds), changing from process to process - the placement of the data, not the code.
 * Sharing makes placement common to both sides (cold: the partner starts half a
 * rotation away, so that it does not find the weights its partner just read). */
static void share_pairs(const gemm_opts *o, item *items, size_t n)
{
    for (size_t p = 0; o->paired && p + 1 < n; p += 2) {
        item *a = &items[p], *b = &items[p + 1];
        size_t lb = a->k->layout_bytes ? a->k->layout_bytes(&a->copies[0].w) : 0;
        size_t act_a = a->k->act_bytes ? a->k->act_bytes(o->k, o->n) : 0;
        size_t act_b = b->k->act_bytes ? b->k->act_bytes(o->k, o->n) : 0;
        if (a->k->format != b->k->format || a->ncopies != b->ncopies || act_a != act_b ||
            !a->copies[0].layout != !b->copies[0].layout ||
            (lb && (lb != b->k->layout_bytes(&b->copies[0].w) ||
                    memcmp(a->copies[0].layout, b->copies[0].layout, lb) != 0)))
            continue;
        for (size_t c = 0; c < b->ncopies; c++)
            bb_kernel_weights_free(&b->copies[c]);
        free(b->copies);
        bb_gemm_io_free(&b->io);
        b->copies = a->copies;
        b->io = a->io;
        b->borrowed = 1;
        b->copy_offset = a->ncopies / 2;
    }
}

static void free_items(item *items, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (items[i].borrowed) {
            free(items[i].samples);
            json_decref(items[i].probe);
            continue;
        }
        for (size_t c = 0; items[i].copies && c < items[i].ncopies; c++)
            bb_kernel_weights_free(&items[i].copies[c]);
        free(items[i].copies);
        bb_gemm_io_free(&items[i].io);
        free(items[i].samples);
        json_decref(items[i].probe);
    }
}

/* The read-ceiling participants: one per kernel, over its own copies (the layout it reads, or
 * the canonical data, and the scales), each round the copy half a rotation from the one its
 * call reads; --paired, a quarter, as the partner sharing the copies reads the other half. */
static int add_ceilings(const gemm_opts *o, item *items, size_t n, bb_ceiling_set *cs)
{
    memset(cs, 0, sizeof *cs);
    cs->warm = o->warm;
    for (size_t i = 0; i < n; i++) {
        item *it = &items[i];
        it->ceiling = -1;
        if (!o->ceiling)
            continue;
        bb_ceiling_window *win = calloc(it->ncopies, sizeof *win);
        if (!win)
            return -1;
        for (size_t c = 0; c < it->ncopies; c++) {
            const bb_kernel_weights *kw = &it->copies[c];
            win[c].part[0] = bb_kernel_weights_stream(kw);
            win[c].bytes[0] = bb_kernel_weights_stream_bytes(kw, it->k);
            win[c].part[1] = kw->w.scales;
            win[c].bytes[1] = kw->w.n_scales * sizeof(float);
        }
        size_t ahead = o->paired ? it->ncopies / 4 : it->ncopies / 2;
        it->ceiling = bb_ceiling_set_add(cs, win, it->ncopies, it->copy_offset + ahead);
        free(win);
        if (it->ceiling < 0)
            return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ timing */

static void call(bb_pool *pool, item *it, size_t m, size_t n, size_t copy)
{
    bb_kernel_weights *kw = &it->copies[(copy + it->copy_offset) % it->ncopies];
    bb_gemm_args a = {.w = &kw->w, .layout = bb_kernel_weights_stream(kw), .x = it->io.x,
                      .x_stride = it->io.x_stride, .y = it->io.y, .y_stride = m, .n = n,
                      .act = it->io.act};
    bb_gemm_exec(pool, it->k, &a);
}

/* The sampler's view of a run (harness/core/sampler.h): one participant per kernel. */
typedef struct gemm_run {
    const gemm_opts *o;
    bb_pool *pool;
    item *items;
    size_t n;
    bb_ceiling_set *ceilings; /* participants n .. n + ceilings->n - 1, after the kernels */
    uint64_t coin; /* --paired: xorshift64 state, one coin per pair and round */
} gemm_run;

static double sample_item(void *ctx, size_t who, bb_sample_phase phase, size_t round)
{
    gemm_run *g = ctx;
    /* calibration calls use copies 1, 2, 3 (as before the sampler); timed rounds copy `round` */
    size_t copy = phase == BB_SAMPLE_CALIBRATE ? round + 1 : round;
    if (who >= g->n) /* a read-ceiling pass, rotated like the kernels' weights */
        bb_ceiling_pass_run(g->pool, &g->ceilings->pass[who - g->n], copy);
    else
        call(g->pool, &g->items[who], g->o->m, g->o->n, copy);
    return 0;
}

/* A ceiling participant runs while a kernel that reads its bytes does. */
static bool item_active(void *ctx, size_t who)
{
    gemm_run *g = ctx;
    if (who < g->n)
        return g->items[who].check.passed;
    for (size_t i = 0; i < g->n; i++)
        if (g->items[i].ceiling == (int)(who - g->n) && g->items[i].check.passed)
            return true;
    return false;
}

/* --paired: each round, a coin per pair; heads, the pair runs in reverse. */
static void paired_order(void *ctx, size_t round, size_t *perm)
{
    gemm_run *g = ctx;
    (void)round;
    for (size_t j = 0; j < g->n; j++) {
        if (j % 2 == 0)
            g->coin ^= g->coin << 13, g->coin ^= g->coin >> 7, g->coin ^= g->coin << 17;
        perm[j] = g->coin >> 63 ? j ^ 1 : j;
    }
}

static void note_progress(void *ctx, size_t done_rounds, size_t planned, double el)
{
    (void)ctx;
    double done = (double)done_rounds / (double)planned;
    fprintf(stderr, "gemm: timing round %zu of %zu, %.0f s elapsed, about %.0f s left\n", done_rounds, planned,
            el, el / done - el);
}

/* Calls per kernel: --reps, or enough for --min-time judged from 3 calls each, 10 to 10^6;
 * rounds interleaved (A B C A B C ...), each call timed alone, until done or --max-time. */
static int run_interleaved(const gemm_opts *o, bb_pool *pool, item *items, size_t n, bb_ceiling_set *cs)
{
    gemm_run g = {.o = o, .pool = pool, .items = items, .n = n, .ceilings = cs,
                  .coin = o->seed * 0x9e3779b97f4a7c15ull + 1};
    bb_sampler s = {.n = n + cs->n, .ctx = &g, .sample = sample_item, .active = item_active,
                    .order = o->paired ? paired_order : NULL, .progress = note_progress, .progress_every_s = 2,
                    .warmup = 1, .fixed_rounds = (size_t)o->reps, .calibrate = 3, .min_reps = 10, .max_reps = 1000000,
                    .min_time_s = o->min_time, .max_time_s = o->max_time};
    if (bb_sampler_run(&s) < 0) {
        bb_sampler_free(&s);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        items[i].samples = s.samples[i];
        items[i].nsamples = s.nsamples[i];
        s.samples[i] = NULL;
        if (items[i].nsamples)
            bb_summarize(items[i].samples, items[i].nsamples, &items[i].stats);
    }
    for (size_t c = 0; c < cs->n; c++) {
        cs->samples[c] = s.samples[n + c];
        cs->nsamples[c] = s.nsamples[n + c];
        s.samples[n + c] = NULL;
    }
    /* % of ceiling: samples of the same round, kernel and its ceiling pass (same bytes) */
    for (size_t i = 0; i < n; i++) {
        items[i].pct = (bb_ceiling_pct){.pct = NAN, .lo = NAN, .hi = NAN};
        int c = items[i].ceiling;
        if (c >= 0 && items[i].nsamples && cs->nsamples[c]) {
            size_t rounds = items[i].nsamples < cs->nsamples[c] ? items[i].nsamples : cs->nsamples[c];
            bb_ceiling_pct_paired(cs->samples[c], items[i].samples, rounds, o->seed + i, &items[i].pct);
        }
    }
    bb_sampler_free(&s);
    return 0;
}

/* Counters and energy: a pass of each kernel alone (the interleaved timing mixes kernels),
 * long enough for an energy window, with the idle baseline measured just before. */
static void probe_pass(const gemm_opts *o, bb_pool *pool, bb_probe *probe, item *items, size_t n)
{
    double min_window = bb_probe_min_window_s(probe);
    for (size_t i = 0; i < n; i++) {
        item *it = &items[i];
        if (!it->check.passed)
            continue;
        double per_call = it->stats.median * 1e-9;
        size_t calls = it->nsamples;
        if (min_window > 0 && per_call * (double)calls < min_window)
            calls = (size_t)(min_window / per_call) + 1;
        char region[96];
        snprintf(region, sizeof region, "gemm/%s", it->k->name);
        bb_probe_idle(probe, per_call * (double)calls);
        bb_probe_begin(probe, region);
        for (size_t c = 0; c < calls; c++)
            call(pool, it, o->m, o->n, c);
        bb_probe_end(probe);
        it->probe_calls = calls;
        it->probe = bb_probe_result(probe, (double)calls, (double)calls * (double)o->n,
                                    (double)calls * (double)it->work.weight_bytes);
    }
}

/* ------------------------------------------------------------------ output */

/* The kernel's line (README, "bitbench gemm"): the typed row (harness/results/row.h), kind gemm. */
static json_t *item_json(const gemm_opts *o, const item *it, bb_pool *pool, const bb_ceiling_set *cs,
                         double granularity, const bb_machine *machine)
{
    const bb_format *f = bb_format_get(it->k->format);
    bb_result_row w;
    bb_result_row_init(&w, BB_RESULT_GEMM);
    w.format = f->name;
    w.impl = it->k->name;
    w.method = it->k->method;
    w.isa = bb_isa_name(it->k->isa);
    w.m = (int64_t)o->m, w.has_m = true;
    w.k = (int64_t)o->k, w.has_k = true;
    w.n = (int64_t)o->n, w.has_n = true;
    w.threads = bb_pool_threads(pool), w.has_threads = true;
    w.placement = bb_pool_placement(pool);
    w.mode = o->warm ? "warm" : "cold";
    w.weight_copies = (int64_t)it->ncopies, w.has_weight_copies = true;
    w.weight_bytes = json_integer((json_int_t)it->work.weight_bytes);
    w.check = json_pack("{s:b, s:b, s:I, s:f, s:f, s:I, s:s}", "passed", it->check.passed, "bit_exact_required",
                        it->check.bit_exact, "mismatches", (json_int_t)it->check.mismatches, "max_abs_err",
                        it->check.max_abs_err, "max_err_over_bound", it->check.max_err_ratio, "rows_vs_double",
                        (json_int_t)it->check.rows_vs_double, "detail", it->check.detail);
    w.impl_rule = it->rule[0] ? it->rule : "exact: --impl";
    w.machine = bb_machine_json(machine);
    w.build = bb_build_json();
    if (!it->check.passed) {
        w.latency_ns = json_null();
        w.latency_unavailable = "not timed: the correctness check failed";
        json_t *j = bb_result_row_json(&w);
        bb_result_row_drop_json(&w);
        return j;
    }
    const bb_summary *s = &it->stats;
    json_t *samples = json_array();
    for (size_t i = 0; i < it->nsamples; i++)
        json_array_append_new(samples, json_real(it->samples[i]));
    w.latency_ns = json_pack("{s:s, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:I, s:o}", "measured",
                             "CLOCK_MONOTONIC around each call, interleaved with the other kernels of this run",
                             "median", s->median, "min", s->min, "max", s->max, "p10", s->p10, "p90", s->p90, "mad",
                             s->mad, "cv", s->cv, "n", (json_int_t)s->n, "samples", samples);
    double secs = s->median * 1e-9;
    w.gbps = (double)it->work.weight_bytes / secs / 1e9;
    w.gops = (double)it->work.ops / secs / 1e9;
    w.timer_granularity_ns = granularity;
    char how[300];
    if (it->ceiling >= 0 && isfinite(it->pct.pct)) {
        w.ceiling = bb_ceiling_json(cs, (size_t)it->ceiling, bb_pool_threads(pool));
        w.pct_of_ceiling = it->pct.pct;
        w.pct_of_ceiling_ci95 = json_pack("[f, f]", it->pct.lo, it->pct.hi);
        w.pct_of_ceiling_rounds = (int64_t)it->pct.rounds, w.has_pct_of_ceiling_rounds = true;
        snprintf(how, sizeof how,
                 "median over rounds of 100 x ceiling pass time / kernel call time, both taken in the same round "
                 "over the kernel's own weight copies (the same bytes); ci95: percentile bootstrap of that median "
                 "(%zu resamples)",
                 it->pct.resamples);
        w.pct_of_ceiling_measured = how;
    } else {
        w.ceiling = json_null();
        w.pct_of_ceiling = BB_RESULT_NULL;
        w.pct_of_ceiling_unavailable = o->ceiling ? "no paired ceiling samples" : "not measured: --no-ceiling";
    }
    if (!o->probe) {
        w.energy = bb_value_unavailable("not measured: --no-probe");
        w.counters = bb_value_unavailable("not measured: --no-probe");
    } else if (it->probe) {
        w.energy = json_incref(json_object_get(it->probe, "energy"));
        w.counters = json_incref(json_object_get(it->probe, "counters"));
        w.probe_pass_calls = (int64_t)it->probe_calls, w.has_probe_pass_calls = true;
    }
    bb_opcount ops;
    f->opcount(o->m, o->k, o->n, &ops);
    w.energy_model = bb_openergy_json(&ops, (double)o->n);
    w.warnings = json_array();
    if (s->cv > 0.10)
        json_array_append_new(w.warnings, json_string("high variation: coefficient of variation above 10%"));
    if (s->min < 100 * granularity)
        json_array_append_new(w.warnings, json_string("calls shorter than 100x the timer granularity"));
    json_t *j = bb_result_row_json(&w);
    bb_result_row_drop_json(&w);
    return j;
}

/* "81% [78-84]": a kernel's paired % of ceiling and its interval, or "-". */
static const char *pct_text(const item *it, char *buf, size_t len)
{
    if (it->ceiling < 0 || !isfinite(it->pct.pct))
        snprintf(buf, len, "-");
    else
        snprintf(buf, len, "%.0f%% [%.0f-%.0f]", it->pct.pct, it->pct.lo, it->pct.hi);
    return buf;
}

static void print_best_per_format(FILE *to, const item *items, size_t n)
{
    int header = 0;
    for (int f = 0; f < BB_FMT_COUNT; f++) {
        const item *best = NULL;
        int count = 0;
        for (size_t i = 0; i < n; i++)
            if (items[i].k->format == (bb_format_id)f && items[i].check.passed) {
                count++;
                if (!best || items[i].stats.median < best->stats.median)
                    best = &items[i];
            }
        if (count < 2)
            continue;
        if (!header++)
            fprintf(to, "best per format (lowest median in this run):\n");
        double gbps = (double)best->work.weight_bytes / (best->stats.median * 1e-9) / 1e9;
        fprintf(to, "  %-8s %-26s %9.1f us %7.1f GB/s", bb_formats[f].name, best->k->name,
                best->stats.median / 1e3, gbps);
        char pct[48];
        if (best->ceiling >= 0)
            fprintf(to, " %s of the ceiling beside it", pct_text(best, pct, sizeof pct));
        fputc('\n', to);
    }
}

static void print_table(FILE *to, const gemm_opts *o, const item *items, size_t n, bb_pool *pool,
                        const bb_ceiling_set *cs)
{
    char cbuf[64] = "not measured (--no-ceiling)";
    int valid = 1;
    for (size_t c = 0; c < cs->n; c++)
        valid &= cs->pass[c].validated;
    if (cs->n)
        snprintf(cbuf, sizeof cbuf, "measured beside each kernel%s", valid ? "" : " (NOT validated)");
    fprintf(to, "gemm M=%llu K=%llu N=%llu, %d thread(s) (%s), %s weights; ceiling %s\n",
            (unsigned long long)o->m, (unsigned long long)o->k, (unsigned long long)o->n,
            bb_pool_threads(pool), bb_pool_placement(pool),
            o->warm ? "warm" : "cold (rotated > 4x LLC)", cbuf);
    fprintf(to, "%-26s %8s %11s %11s %11s %8s %8s %15s %8s %6s  %s\n", "impl", "bits/w", "median us", "min us",
            "max us", "GB/s", "ceilGB/s", "%ceil [95%]", "GOP/s", "CV%", "check");
    for (size_t i = 0; i < n; i++) {
        const item *it = &items[i];
        double bits = (double)it->work.weight_bytes * 8.0 / ((double)o->m * (double)o->k);
        if (!it->check.passed) {
            fprintf(to, "%-26s %8.3f %11s %11s %11s %8s %8s %15s %8s %6s  FAILED: %s\n", it->k->name, bits, "-",
                    "-", "-", "-", "-", "-", "-", "-", it->check.detail);
            continue;
        }
        double secs = it->stats.median * 1e-9, gbps = (double)it->work.weight_bytes / secs / 1e9;
        char pct[48], cg[16] = "-";
        if (it->ceiling >= 0 && cs->nsamples[it->ceiling]) {
            bb_summary st;
            bb_summarize(cs->samples[it->ceiling], cs->nsamples[it->ceiling], &st);
            snprintf(cg, sizeof cg, "%.1f", (double)cs->pass[it->ceiling].bytes / st.median);
        }
        fprintf(to, "%-26s %8.3f %11.1f %11.1f %11.1f %8.1f %8s %15s %8.1f %6.1f  %s\n", it->k->name, bits,
                it->stats.median / 1e3, it->stats.min / 1e3, it->stats.max / 1e3, gbps, cg, pct_text(it, pct, sizeof pct),
                (double)it->work.ops / secs / 1e9, 100 * it->stats.cv,
                it->check.bit_exact ? "ok (bit-exact)" : "ok (within bound)");
    }
    fprintf(to, "(latency measured: median of %zu interleaved calls per kernel; GB/s = packed weight bytes / median)\n",
            n ? items[0].nsamples : 0);
    if (cs->n)
        fprintf(to, "(ceiling measured: a read-only pass over the kernel's own weight copies, %s, timed in every "
                    "round beside the kernels; ceilGB/s = bytes / its median pass; %%ceil = median over rounds of "
                    "ceiling time / kernel time, [95%% bootstrap interval])\n",
                o->warm ? "warm" : "the copy half a rotation from its call's");
    for (size_t i = 0; i < n; i++)
        if (items[i].rule[0])
            fprintf(to, "%-26s chosen by %s\n", items[i].k->name, items[i].rule);
    print_best_per_format(to, items, n);
}

static int emit(const gemm_opts *o, item *items, size_t n, bb_pool *pool, const bb_ceiling_set *cs)
{
    FILE *out = stdout;
    if (o->json) {
        if (o->out && !(out = fopen(o->out, "w")))
            return bb_cli_error(CMD, "--out '%s': cannot open for writing", o->out);
        double g = bb_timer_granularity_ns();
        bb_machine machine;
        bb_machine_describe(&machine);
        for (size_t i = 0; i < n; i++) {
            json_t *j = item_json(o, &items[i], pool, cs, g, &machine);
            json_dumpf(j, out, JSON_COMPACT);
            fputc('\n', out);
            json_decref(j);
        }
        if (out != stdout)
            fclose(out);
    }
    print_table(o->json ? stderr : stdout, o, items, n, pool, cs);
    return 0;
}

/* The first `--kernel F` at a case this machine's tuning record lacks: tune it, then pick
 * again (bench/cli.h bb_tune_missing).  After every input check, so bad input stays one line. */
static int tune_first(const gemm_opts *o, item *items, size_t *n)
{
    if (!o->kernels || !o->tune || !bb_tune_auto_enabled())
        return 0;
    bb_tune_case cases[BB_FMT_COUNT];
    size_t nc = 0;
    for (size_t i = 0; i < *n; i++)
        if (!strncmp(items[i].rule, "priority", 8) && nc < BB_FMT_COUNT)
            cases[nc++] = (bb_tune_case){.format = items[i].k->format, .m = o->m, .k = o->k, .n = o->n,
                                         .threads = (unsigned)o->threads};
    int rc = nc ? bb_tune_missing(CMD, cases, nc) : 0;
    return rc ? rc : nc ? select_kernels(o, items, n) : 0;
}

int bb_cmd_gemm(int argc, char **argv)
{
    gemm_opts o;
    item items[MAX_ITEMS];
    static bb_ceiling_set ceilings;
    size_t n = 0;
    int rc = parse(argc, argv, &o);
    if (rc)
        return rc;
    if ((rc = select_kernels(&o, items, &n)) || (rc = check_shapes(&o, items, n)) ||
        (rc = tune_first(&o, items, &n)) || (rc = check_memory(&o, items, n)))
        return rc;
    if (o.json && o.out) { /* an unwritable --out fails before anything is measured */
        FILE *t = fopen(o.out, "a");
        if (!t)
            return bb_cli_error(CMD, "--out '%s': cannot open for writing", o.out);
        fclose(t);
    }
    char err[200];
    /* Opened before the pool so that its counters follow the worker threads too. */
    bb_probe *probe = o.probe ? bb_probe_open(o.events) : NULL;
    bb_pool *pool = bb_pool_create((int)o.threads, err, sizeof err);
    if (!pool) {
        bb_probe_close(probe);
        return bb_cli_error(CMD, "%s", err);
    }
    if (o.kernels) /* after every input check: bad input stays one line */
        bb_tune_hint(CMD);
    fprintf(stderr, "gemm: preparing %zu kernel(s) at %llux%llux%llu\n", n, (unsigned long long)o.m,
            (unsigned long long)o.k, (unsigned long long)o.n);
    int built = build_items(&o, items, n);
    if (built == 0)
        share_pairs(&o, items, n);
    if (built != 0 || add_ceilings(&o, items, n, &ceilings) != 0) {
        free_items(items, n);
        bb_ceiling_set_free(&ceilings);
        bb_pool_destroy(pool);
        bb_probe_close(probe);
        return bb_cli_error(CMD, "out of memory while preparing the weights");
    }
    /* The ceiling is no longer measured once here, before the kernels: it is a participant of
     * the interleaved rounds (add_ceilings, harness/machine/ceiling.h). */
    int failed = 0;
    for (size_t i = 0; i < n; i++) {
        bb_gemm_check(pool, items[i].k, &items[i].copies[0], items[i].io.x, items[i].io.x_stride, o.n,
                      &items[i].check);
        if (!items[i].check.passed) {
            failed = 1;
            fprintf(stderr, "gemm: %s FAILED its check, not timed: %s\n", items[i].k->name, items[i].check.detail);
        }
    }
    if (run_interleaved(&o, pool, items, n, &ceilings) != 0) {
        bb_ceiling_set_free(&ceilings);
        free_items(items, n);
        bb_pool_destroy(pool);
        bb_probe_close(probe);
        return bb_cli_error(CMD, "out of memory for the samples");
    }
    if (probe)
        probe_pass(&o, pool, probe, items, n);
    rc = emit(&o, items, n, pool, &ceilings);
    bb_ceiling_set_free(&ceilings);
    free_items(items, n);
    bb_pool_destroy(pool);
    bb_probe_close(probe);
    return rc ? rc : failed ? BB_EXIT_FINDING : BB_EXIT_OK;
}
