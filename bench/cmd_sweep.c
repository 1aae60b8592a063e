/*
 * bench/cmd_sweep.c - `bitbench sweep`: every weight format across the model sizes, one
 * JSON row per (model, format, threads, batch) appended to --out as it is measured, then
 * a table per model on stdout.  The plan and the measuring live in harness/sweep/sweep.c; the
 * row schema in harness/results/SCHEMA.md.
 */
#include "cli.h"

#include "../harness/machine/machine.h"
#include "../harness/model/models.h"
#include "../harness/results/results.h"
#include "../harness/sweep/sweep.h"
#include "../harness/report/sweep_table.h"
#include "../harness/tune/tune.h"
#include "../kernels/kernel.h"

#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CMD "sweep"
enum { MAX_SHAPES = 16 };

typedef struct sweep_cli {
    const char *models, *formats, *threads, *batches, *out, *resume, *catalogue, *isa, *impls, *budget_models;
    const char *run_group; /* --run-group: replicates of one measurement (the report pools them) */
    const char *shapes[MAX_SHAPES];
    size_t n_shapes;
    int json, quick, plan_only, no_tune;
    bb_sweep_opts opts;
    bb_model catalogue_models[BB_MODELS_MAX];
    size_t n_catalogue;
    bb_model selected[BB_MODELS_MAX + MAX_SHAPES];
    size_t n_selected;
} sweep_cli;

static void usage(FILE *to)
{
    fprintf(to,
        "usage: bitbench sweep [options]\n"
        "Decode steps of every model and format: latency per token, tokens/s, memory; one JSON row\n"
        "per model, format, threads and batch (harness/results/SCHEMA.md), then a table per model.\n"
        "  --models LIST      model names from the catalogue, or all (default)\n"
        "  --model-shape S    add a model name:hidden:ffn:layers:heads:kv:vocab (repeatable; without\n"
        "                     --models only these run)\n"
        "  --catalogue FILE   model catalogue (default results/models.csv, or $BITBENCH_MODELS)\n"
        "  --formats LIST     weight formats, or all (default): %s\n"
        "  --impl LIST        exact implementations instead (bitbench list), e.g. tern2-avx512-addonly;\n"
        "                     the formats follow from them\n"
        "  --no-tune          on a machine whose tuning record lacks a model's case, pick by the fixed\n"
        "                     priority (default: tune those cases first, as `bitbench tune` does: 1-55 s\n"
        "                     each, ~400 s for the default plan's 28 on 2 cores; also BITBENCH_AUTOTUNE=0)\n"
        "  --no-methods       ternary formats by their best implementation only (default: also the best\n"
        "                     of every other method: add-only, multiply-add, table lookup)\n"
        "  --context C        positions of the KV cache a decode step attends to (default 512)\n"
        "  --prompt P         also a prompt row per model: P tokens of one sequence at once (pp), besides\n"
        "                     the generation step at --context (tg)\n"
        "  --matmul-only      the projections alone (the earlier step: no norms, RoPE, attention)\n"
        "  --no-interleave    time each row alone (energy and counters per row) instead of alternating\n"
        "                     the implementations of a model and batch sample by sample\n"
        "  --threads LIST     thread counts, e.g. 1,2 (default: all cores)\n"
        "  --batch LIST       batches N, and 'budget' for the Table 3 batch (default 1,budget)\n"
        "  --budget-models L  models with Table 3 rows, or all (default: the largest of the plan)\n"
        "  --mem-budget B     a second Table 3 budget besides the paper's 160G, e.g. this machine's RAM\n"
        "  --seq-len N        Table 3 sequence length for the KV cache (default 512)\n"
        "  --min-time S       seconds of kept samples per row (default 1)\n"
        "  --min-reps N       samples per row at least (default 5); --max-reps N (default 1000)\n"
        "  --warmup N         discarded samples first (default 1)\n"
        "  --placements K     take an interleaved set's samples in K parts, moving every weight copy\n"
        "                     to new physical memory between parts, so where a copy landed is\n"
        "                     sampled like the noise (default 4; on a KVM guest a copy's pages alone\n"
        "                     moved its speed by up to 1.5x)\n"
        "  --max-row-time S   skip a row estimated to take longer; cap the samples (default 60)\n"
        "  --max-budget-row-time S   the same for Table 3 rows, which are not charged to --time-budget\n"
        "                     (default 120; their warm-up is the estimate's sample)\n"
        "  --time-budget S    the whole sweep's seconds: each row may take at most twice its share of\n"
        "                     what is left; rows after it is spent are written as skipped (default: none)\n"
        "  --full-max B       run full mode only when every copy of the model fits in B bytes\n"
        "                     (default: the memory the machine can give); else extrapolate\n"
        "  --lm-head | --no-lm-head   include the fp16 LM head in each step (default: included)\n"
        "  --warm             do not rotate weights (they may stay in the cache)\n"
        "  --llc B            assume this last-level cache size instead of detecting it\n"
        "  --out FILE         results, appended (default results/<date>-<host>/sweep.jsonl)\n"
        "  --run-group NAME   mark the rows as replicates of one measurement: sweeps run with the same\n"
        "                     NAME (letters, digits, . _ -) are pooled by the report (median of their\n"
        "                     speed-ups, with their range); default: each sweep is its own group\n"
        "  --resume FILE      skip rows already in FILE (and append to it unless --out is given)\n"
        "  --quick            small plan for smoke tests: 700M, batch 1 and budget, short timing\n"
        "  --plan             print the planned rows and exit without measuring\n"
        "  --json             print the rows (JSON Lines) on stdout instead of the tables\n"
        "  --isa %s   cap the kernels' ISA;  --seed S  data seed (default 1)\n"
        "Progress goes to stderr.  Ctrl-C keeps every row already written (each is fsync'd).\n"
        "Exit: 0 done, 1 a kernel failed its check, 2 bad input, 130 interrupted.\n",
        bb_cli_format_names(), bb_cli_isa_names("|"));
}

/* ------------------------------------------------------------------ parsing */

/* Splits a comma list into at most cap pointers into buf.  -1 on an empty item. */
static int split_list(const char *s, char *buf, size_t buflen, char **items, size_t cap, size_t *n)
{
    if (!s || !*s || strlen(s) >= buflen)
        return -1;
    strcpy(buf, s);
    *n = 0;
    char *p = buf;
    for (;;) {
        char *comma = strchr(p, ',');
        if (comma)
            *comma = 0;
        if (!*p || *n == cap)
            return -1;
        items[(*n)++] = p;
        if (!comma)
            return 0;
        p = comma + 1;
    }
}

/* --impl LIST: exact implementations (runnable under the ISA cap); their formats form
 * --formats unless that is given too. */
static int parse_impls(sweep_cli *c)
{
    bb_sweep_opts *o = &c->opts;
    if (!c->impls)
        return 0;
    char buf[2048], *items[64];
    size_t n;
    if (split_list(c->impls, buf, sizeof buf, items, 64, &n))
        return bb_cli_error(CMD, "--impl '%s': expected a comma-separated list of implementation names "
                                 "(bitbench list shows them)", c->impls);
    for (size_t i = 0; i < n; i++) {
        const bb_kernel *k = bb_kernel_find_exact(items[i]);
        if (!k)
            return bb_cli_error(CMD, "--impl: unknown implementation '%s'; bitbench list shows the names", items[i]);
        if (!bb_kernel_runnable(k))
            return bb_cli_error(CMD, "--impl: %s cannot run on this CPU under --isa %s", items[i],
                                bb_isa_name(bb_isa_cap()));
        for (size_t j = 0; j < o->n_impls; j++)
            if (o->impls[j] == k)
                return bb_cli_error(CMD, "--impl: '%s' is listed twice", items[i]);
        o->impls[o->n_impls++] = k;
    }
    if (!c->formats)
        for (size_t i = 0; i < o->n_impls; i++) {
            bool seen = false;
            for (size_t j = 0; j < o->n_formats; j++)
                seen |= o->formats[j] == o->impls[i]->format;
            if (!seen)
                o->formats[o->n_formats++] = o->impls[i]->format;
        }
    return 0;
}

static int parse_budget_models(sweep_cli *c)
{
    bb_sweep_opts *o = &c->opts;
    if (!c->budget_models)
        return 0;
    static char buf[1024];
    char *items[BB_SWEEP_MAX_LIST];
    size_t n;
    if (split_list(c->budget_models, buf, sizeof buf, items, BB_SWEEP_MAX_LIST, &n))
        return bb_cli_error(CMD, "--budget-models '%s': expected a comma-separated list of model names, or all",
                            c->budget_models);
    for (size_t i = 0; i < n; i++) {
        if (strcmp(items[i], "all") && !bb_models_find(o->models, o->n_models, items[i]))
            return bb_cli_error(CMD, "--budget-models: '%s' is not in the plan's models", items[i]);
        o->budget_models[o->n_budget_models++] = items[i];
    }
    return 0;
}

static int parse_formats(sweep_cli *c)
{
    bb_sweep_opts *o = &c->opts;
    if (o->n_formats)
        return 0; /* from --impl */
    if (!c->formats || !strcmp(c->formats, "all")) {
        for (int f = 0; f < BB_FMT_COUNT; f++)
            o->formats[o->n_formats++] = (bb_format_id)f;
        return 0;
    }
    char buf[512], *items[BB_FMT_COUNT * 2];
    size_t n;
    if (split_list(c->formats, buf, sizeof buf, items, BB_FMT_COUNT * 2, &n))
        return bb_cli_error(CMD, "--formats '%s': expected a comma-separated list of: %s, all", c->formats,
                            bb_cli_format_names());
    for (size_t i = 0; i < n; i++) {
        const bb_format *f = bb_format_find(items[i]);
        if (!f)
            return bb_cli_error(CMD, "--formats: unknown format '%s'; expected one of: %s, all", items[i],
                                bb_cli_format_names());
        for (size_t j = 0; j < o->n_formats; j++)
            if (o->formats[j] == f->id)
                return bb_cli_error(CMD, "--formats: '%s' is listed twice", items[i]);
        o->formats[o->n_formats++] = f->id;
    }
    return 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* "1,8,64,budget": numbers sorted ascending (the sweep relies on it), 'budget' anywhere. */
static int parse_batches(sweep_cli *c)
{
    bb_sweep_opts *o = &c->opts;
    if (!c->batches)
        return 0; /* defaults: 1 and budget */
    char buf[512], *items[BB_SWEEP_MAX_LIST + 1];
    size_t n;
    o->n_batches = 0;
    o->budget_batch = false;
    if (split_list(c->batches, buf, sizeof buf, items, BB_SWEEP_MAX_LIST + 1, &n))
        return bb_cli_error(CMD, "--batch '%s': expected a comma-separated list of whole numbers from 1 to "
                                 "65536 and/or 'budget' (at most %d)", c->batches, BB_SWEEP_MAX_LIST);
    for (size_t i = 0; i < n; i++) {
        if (!strcmp(items[i], "budget")) {
            o->budget_batch = true;
            continue;
        }
        uint64_t v;
        if (bb_cli_parse_u64(CMD, "--batch", items[i], 1, 65536, false, &v))
            return BB_EXIT_USAGE;
        for (size_t j = 0; j < o->n_batches; j++)
            if (o->batches[j] == v)
                return bb_cli_error(CMD, "--batch: %" PRIu64 " is listed twice", v);
        if (o->n_batches == BB_SWEEP_MAX_LIST)
            return bb_cli_error(CMD, "--batch: at most %d batches", BB_SWEEP_MAX_LIST);
        o->batches[o->n_batches++] = v;
    }
    qsort(o->batches, o->n_batches, sizeof o->batches[0], cmp_u64);
    return 0;
}

static int parse_threads(sweep_cli *c)
{
    bb_sweep_opts *o = &c->opts;
    if (!c->threads)
        return 0;
    uint64_t v[BB_SWEEP_MAX_LIST];
    size_t n;
    if (bb_cli_parse_u64_list(CMD, "--threads", c->threads, 1, 256, v, BB_SWEEP_MAX_LIST, &n))
        return BB_EXIT_USAGE;
    o->n_threads = n;
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < i; j++)
            if (v[j] == v[i])
                return bb_cli_error(CMD, "--threads: %" PRIu64 " is listed twice", v[i]);
        if (bb_cli_check_threads(CMD, v[i]))
            return BB_EXIT_USAGE;
        o->threads[i] = (unsigned)v[i];
    }
    return 0;
}

static const char *catalogue_names(const sweep_cli *c)
{
    static char buf[1024];
    buf[0] = 0;
    for (size_t i = 0; i < c->n_catalogue && strlen(buf) + BB_MODEL_NAME_MAX + 2 < sizeof buf; i++) {
        if (i)
            strcat(buf, ", ");
        strcat(buf, c->catalogue_models[i].name);
    }
    return buf;
}

static int select_models(sweep_cli *c)
{
    char path[4200], err[512];
    const char *file = c->catalogue ? c->catalogue : bb_models_default_path(path, sizeof path);
    if (!file)
        return bb_cli_error(CMD, "no model catalogue: %s", path);
    if (bb_models_load(file, c->catalogue_models, BB_MODELS_MAX, &c->n_catalogue, err, sizeof err))
        return bb_cli_error(CMD, "catalogue %s", err);
    if (c->models || !c->n_shapes) {
        const char *list = c->models ? c->models : "all";
        if (!strcmp(list, "all")) {
            for (size_t i = 0; i < c->n_catalogue; i++)
                c->selected[c->n_selected++] = c->catalogue_models[i];
        } else {
            char buf[1024], *items[BB_MODELS_MAX];
            size_t n;
            if (split_list(list, buf, sizeof buf, items, BB_MODELS_MAX, &n))
                return bb_cli_error(CMD, "--models '%s': expected a comma-separated list of: %s, all", list,
                                    catalogue_names(c));
            for (size_t i = 0; i < n; i++) {
                const bb_model *m = bb_models_find(c->catalogue_models, c->n_catalogue, items[i]);
                if (!m)
                    return bb_cli_error(CMD, "--models: unknown model '%s'; expected one of: %s, all "
                                             "(or --model-shape name:hidden:ffn:layers:heads:kv:vocab)",
                                        items[i], catalogue_names(c));
                if (bb_models_find(c->selected, c->n_selected, m->name))
                    return bb_cli_error(CMD, "--models: '%s' is listed twice", m->name);
                c->selected[c->n_selected++] = *m;
            }
        }
    }
    for (size_t i = 0; i < c->n_shapes; i++) {
        bb_model m;
        if (bb_model_parse_shape(c->shapes[i], &m, err, sizeof err))
            return bb_cli_error(CMD, "%s", err);
        if (bb_models_find(c->selected, c->n_selected, m.name))
            return bb_cli_error(CMD, "--model-shape: a model named '%s' is already in the plan", m.name);
        c->selected[c->n_selected++] = m;
    }
    c->opts.models = c->selected;
    c->opts.n_models = c->n_selected;
    return 0;
}

/* --quick: the smallest model, short timing, for smoke tests (under 2 minutes). */
static void apply_quick(sweep_cli *c)
{
    if (!c->models && !c->n_shapes)
        c->models = "700M";
    c->opts.min_time = 0.05;
    c->opts.min_reps = 3;
    c->opts.max_row_time = 15;
}

static int parse(int argc, char **argv, sweep_cli *c)
{
    enum { O_MODELS = 256, O_SHAPE, O_CAT, O_FORMATS, O_THREADS, O_BATCH, O_BUDGET, O_SEQ, O_MINTIME,
           O_MINREPS, O_MAXREPS, O_WARMUP, O_ROWTIME, O_BUDGETTIME, O_FULLMAX, O_HEAD, O_NOHEAD, O_WARM, O_LLC, O_OUT,
           O_RESUME, O_QUICK, O_PLAN, O_JSON, O_ISA, O_SEED, O_HELP, O_IMPL, O_NOMETHODS, O_CONTEXT, O_PROMPT,
           O_MATMUL, O_NOINTER, O_BMODELS, O_BROWTIME, O_GROUP, O_PLACE, O_NOTUNE };
    static const struct option opts[] = {
        {"models", required_argument, 0, O_MODELS}, {"model-shape", required_argument, 0, O_SHAPE},
        {"catalogue", required_argument, 0, O_CAT}, {"formats", required_argument, 0, O_FORMATS},
        {"threads", required_argument, 0, O_THREADS}, {"batch", required_argument, 0, O_BATCH},
        {"mem-budget", required_argument, 0, O_BUDGET}, {"seq-len", required_argument, 0, O_SEQ},
        {"min-time", required_argument, 0, O_MINTIME}, {"min-reps", required_argument, 0, O_MINREPS},
        {"max-reps", required_argument, 0, O_MAXREPS}, {"warmup", required_argument, 0, O_WARMUP},
        {"placements", required_argument, 0, O_PLACE}, {"no-tune", no_argument, 0, O_NOTUNE},
        {"max-row-time", required_argument, 0, O_ROWTIME}, {"full-max", required_argument, 0, O_FULLMAX},
        {"time-budget", required_argument, 0, O_BUDGETTIME},
        {"lm-head", no_argument, 0, O_HEAD}, {"no-lm-head", no_argument, 0, O_NOHEAD},
        {"warm", no_argument, 0, O_WARM}, {"llc", required_argument, 0, O_LLC},
        {"out", required_argument, 0, O_OUT}, {"resume", required_argument, 0, O_RESUME},
        {"quick", no_argument, 0, O_QUICK}, {"plan", no_argument, 0, O_PLAN},
        {"json", no_argument, 0, O_JSON}, {"isa", required_argument, 0, O_ISA},
        {"seed", required_argument, 0, O_SEED}, {"help", no_argument, 0, O_HELP},
        {"impl", required_argument, 0, O_IMPL}, {"no-methods", no_argument, 0, O_NOMETHODS},
        {"context", required_argument, 0, O_CONTEXT}, {"prompt", required_argument, 0, O_PROMPT},
        {"matmul-only", no_argument, 0, O_MATMUL}, {"no-interleave", no_argument, 0, O_NOINTER},
        {"budget-models", required_argument, 0, O_BMODELS}, {"run-group", required_argument, 0, O_GROUP},
        {"max-budget-row-time", required_argument, 0, O_BROWTIME}, {0, 0, 0, 0}};
    bb_sweep_opts *o = &c->opts;
    uint64_t v;
    int opt;
    opterr = 0;
    optind = 1;
    /* --quick sets defaults that explicit options override, whatever their order */
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--quick"))
            c->quick = 1;
    if (c->quick)
        apply_quick(c);
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        int bad = 0;
        switch (opt) {
        case O_MODELS: c->models = optarg; break;
        case O_SHAPE:
            if (c->n_shapes == MAX_SHAPES)
                return bb_cli_error(CMD, "--model-shape: at most %d", MAX_SHAPES);
            c->shapes[c->n_shapes++] = optarg;
            break;
        case O_CAT: c->catalogue = optarg; break;
        case O_FORMATS: c->formats = optarg; break;
        case O_THREADS: c->threads = optarg; break;
        case O_BATCH: c->batches = optarg; break;
        case O_BUDGET:
            bad = bb_cli_parse_u64(CMD, "--mem-budget", optarg, 1, UINT64_MAX, true, &v);
            if (!bad && v != BB_SWEEP_PAPER_BUDGET) {
                o->mem_budgets[1] = v;
                o->n_budgets = 2;
            }
            break;
        case O_IMPL: c->impls = optarg; break;
        case O_NOMETHODS: o->methods = false; break;
        case O_CONTEXT: bad = bb_cli_parse_u64(CMD, "--context", optarg, 1, 1u << 20, false, &v); o->context = (uint32_t)v; break;
        case O_PROMPT: bad = bb_cli_parse_u64(CMD, "--prompt", optarg, 1, 65536, false, &v); o->prompt = (uint32_t)v; break;
        case O_MATMUL: o->matmul_only = true; break;
        case O_NOINTER: o->interleave = false; break;
        case O_BMODELS: c->budget_models = optarg; break;
        case O_BROWTIME: bad = bb_cli_parse_double(CMD, "--max-budget-row-time", optarg, 0.001, 1e6, &o->max_budget_row_time); break;
        case O_SEQ: bad = bb_cli_parse_u64(CMD, "--seq-len", optarg, 1, 1u << 20, false, &v); o->seq_len = (uint32_t)v; break;
        case O_MINTIME: bad = bb_cli_parse_double(CMD, "--min-time", optarg, 0, 3600, &o->min_time); break;
        case O_MINREPS: bad = bb_cli_parse_u64(CMD, "--min-reps", optarg, 1, 100000, false, &v); o->min_reps = (unsigned)v; break;
        case O_MAXREPS: bad = bb_cli_parse_u64(CMD, "--max-reps", optarg, 1, 1000000, false, &v); o->max_reps = (unsigned)v; break;
        case O_WARMUP: bad = bb_cli_parse_u64(CMD, "--warmup", optarg, 0, 1000, false, &v); o->warmup = (unsigned)v; break;
        case O_PLACE: bad = bb_cli_parse_u64(CMD, "--placements", optarg, 1, 64, false, &v); o->placements = (unsigned)v; break;
        case O_ROWTIME: bad = bb_cli_parse_double(CMD, "--max-row-time", optarg, 0.001, 1e6, &o->max_row_time); break;
        case O_BUDGETTIME: bad = bb_cli_parse_double(CMD, "--time-budget", optarg, 0, 1e7, &o->time_budget); break;
        case O_FULLMAX: bad = bb_cli_parse_u64(CMD, "--full-max", optarg, 0, UINT64_MAX, true, &o->full_max); break;
        case O_HEAD: o->lm_head = true; break;
        case O_NOHEAD: o->lm_head = false; break;
        case O_WARM: o->warm = true; break;
        case O_LLC: bad = bb_cli_parse_u64(CMD, "--llc", optarg, 1, UINT64_MAX, true, &o->llc_bytes); break;
        case O_OUT: c->out = optarg; break;
        case O_RESUME: c->resume = optarg; break;
        case O_QUICK: break;
        case O_PLAN: c->plan_only = 1; break;
        case O_NOTUNE: c->no_tune = 1; break;
        case O_JSON: c->json = 1; break;
        case O_ISA: c->isa = optarg; break;
        case O_SEED: bad = bb_cli_parse_u64(CMD, "--seed", optarg, 0, UINT64_MAX, false, &o->seed); break;
        case O_GROUP: {
            size_t len = strlen(optarg);
            if (!len || len > 80 || strspn(optarg, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") != len)
                return bb_cli_error(CMD, "--run-group '%s': expected 1 to 80 letters, digits, '.', '_' or '-'",
                                    optarg);
            c->run_group = optarg;
            break;
        }
        case O_HELP: usage(stdout); exit(BB_EXIT_OK);
        default:
            return bb_cli_error(CMD, "unknown or incomplete option '%s' (bitbench sweep --help lists them)",
                                argv[optind - 1]);
        }
        if (bad)
            return BB_EXIT_USAGE;
    }
    if (optind < argc)
        return bb_cli_error(CMD, "unexpected argument '%s'", argv[optind]);
    if (o->min_reps > o->max_reps)
        return bb_cli_error(CMD, "--min-reps %u is more than --max-reps %u", o->min_reps, o->max_reps);
    int rc;
    if ((rc = bb_cli_apply_isa(CMD, c->isa)) || (rc = parse_impls(c)) || (rc = parse_formats(c)) ||
        (rc = parse_batches(c)) || (rc = parse_threads(c)) || (rc = select_models(c)) ||
        (rc = parse_budget_models(c)))
        return rc;
    if (o->matmul_only && o->prompt)
        return bb_cli_error(CMD, "--prompt needs the decoder step: it cannot go with --matmul-only");
    if (!o->n_batches && !o->budget_batch)
        return bb_cli_error(CMD, "--batch: nothing to run");
    return 0;
}

/* ------------------------------------------------------------------ progress, signals */

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
    static const char msg[] = "\nbitbench sweep: stopping after the current sample (Ctrl-C again to kill "
                              "at once); rows already written are kept\n";
    ssize_t w = write(STDERR_FILENO, msg, sizeof msg - 1);
    (void)w;
}

static void install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESETHAND; /* a second Ctrl-C kills */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

static void fmt_duration(double s, char *buf, size_t len)
{
    if (!isfinite(s))
        snprintf(buf, len, "?");
    else if (s < 60)
        snprintf(buf, len, "%.0fs", s);
    else if (s < 3600)
        snprintf(buf, len, "%dm%02ds", (int)(s / 60), (int)fmod(s, 60));
    else
        snprintf(buf, len, "%dh%02dm", (int)(s / 3600), (int)fmod(s / 60, 60));
}

static void progress(void *ctx, size_t index, size_t total, const bb_sweep_row *r, const json_t *row,
                     double elapsed, double eta)
{
    (void)ctx;
    char el[32], left[32], what[160];
    fmt_duration(elapsed, el, sizeof el);
    fmt_duration(eta, left, sizeof left);
    const char *status = json_string_value(json_object_get(row, "status"));
    if (!strcmp(status, "ok"))
        snprintf(what, sizeof what, "%.3f ms/token, %.2f tokens/s, %s",
                 json_real_value(json_object_get(row, "latency_ms_per_token")),
                 json_real_value(json_object_get(row, "tokens_per_s")),
                 json_string_value(json_object_get(row, "mode")));
    else
        snprintf(what, sizeof what, "%s", status);
    fprintf(stderr, "[%zu/%zu] %s %s (%s) t%u b%" PRIu64 "%s: %s  (elapsed %s, about %s left)\n", index, total,
            r->model->name, bb_formats[r->format].name, r->kernel->name, r->threads, r->batch,
            r->budget ? " (budget)" : "", what, el, left);
    const char *reason = json_string_value(json_object_get(row, "reason"));
    if (reason && strcmp(status, "ok"))
        fprintf(stderr, "        %s\n", reason);
}

/* ------------------------------------------------------------------ tables */

typedef struct row_list {
    json_t *rows; /* object: key -> last row with that key */
} row_list;

static void collect_row(json_t *row, size_t line, void *ctx)
{
    (void)line;
    row_list *l = ctx;
    const char *key = json_string_value(json_object_get(row, "key"));
    if (key)
        json_object_set(l->rows, key, row);
}

/* The key of the row of (model, format, threads, batch) in this plan; NULL when the format has
 * no runnable implementation. */
static const char *find_key(const bb_sweep_opts *o, const bb_model *m, bb_format_id f, unsigned threads,
                            uint64_t batch, bool budget, char *key, size_t len)
{
    bb_sweep_row r = {.model = m, .format = f, .kernel = bb_select_kernel_model(bb_formats[f].name, m, o->threads, o->n_threads, NULL),
                      .threads = threads, .batch = batch, .budget = budget};
    if (o->n_impls) {
        const bb_kernel *v[8];
        if (bb_sweep_variants(o, m, f, v, 8))
            r.kernel = v[0];
    }
    if (!r.kernel)
        return NULL;
    bb_sweep_key(o, &r, key, len);
    return key;
}

enum { KEY_LEN = 224 };

/* The table of one model and thread count: which rows make each format's line
 * (harness/report/sweep_table.h prints it). */
static void print_model_table(FILE *to, const json_t *rows, const bb_sweep_opts *o, const bb_model *m,
                              unsigned threads)
{
    uint64_t b0 = o->n_batches ? o->batches[0] : 0;
    size_t nb = o->n_batches < BB_SWEEP_TABLE_MAX_BATCHES ? o->n_batches : BB_SWEEP_TABLE_MAX_BATCHES;
    bb_sweep_table_line lines[BB_FMT_COUNT];
    char keys[BB_FMT_COUNT][BB_SWEEP_TABLE_MAX_BATCHES + 2][KEY_LEN], fp16_key[KEY_LEN];
    bb_model_bytes fp16_bytes;
    bb_model_weight_bytes(m, BB_FMT_FP16, &fp16_bytes);
    for (size_t fi = 0; fi < o->n_formats; fi++) {
        bb_format_id f = o->formats[fi];
        const bb_kernel *k = bb_select_kernel_model(bb_formats[f].name, m, o->threads, o->n_threads, NULL);
        bb_model_bytes wb;
        bb_model_weight_bytes(m, f, &wb);
        bb_sweep_table_line *l = &lines[fi];
        *l = (bb_sweep_table_line){.format = bb_formats[f].name, .impl = k ? k->name : NULL,
                                   .weight_bytes = (double)wb.total};
        if (b0)
            l->first_key = find_key(o, m, f, threads, b0, false, keys[fi][0], KEY_LEN);
        for (size_t b = 0; b < nb; b++)
            l->batch_keys[b] = find_key(o, m, f, threads, o->batches[b], false, keys[fi][b + 1], KEY_LEN);
        if (o->budget_batch) {
            l->budget_batch = bb_sweep_budget_batch(o, m, f, o->mem_budgets[0]);
            l->budget_key = find_key(o, m, f, threads, l->budget_batch, true, keys[fi][nb + 1], KEY_LEN);
        }
    }
    bb_sweep_table t = {.model = m->name, .hidden = m->hidden, .ffn = m->ffn, .layers = m->layers,
                        .vocab = m->vocab, .threads = threads, .lm_head = o->lm_head, .batches = o->batches,
                        .n_batches = nb, .budget = o->budget_batch,
                        .fp16_first_key = b0 ? find_key(o, m, BB_FMT_FP16, threads, b0, false, fp16_key, KEY_LEN) : NULL,
                        .fp16_weight_bytes = (double)fp16_bytes.total, .lines = lines, .n_lines = o->n_formats};
    bb_sweep_table_print(to, rows, &t);
}

static void print_tables(FILE *to, const char *path, const bb_sweep_opts *o)
{
    row_list l = {.rows = json_object()};
    bb_results_read_info info;
    char err[256];
    if (bb_results_read(path, collect_row, &l, &info, err, sizeof err) != 0) {
        fprintf(stderr, "bitbench sweep: %s\n", err);
        json_decref(l.rows);
        return;
    }
    for (size_t mi = 0; mi < o->n_models; mi++)
        for (size_t ti = 0; ti < o->n_threads; ti++)
            print_model_table(to, l.rows, o, &o->models[mi], o->threads[ti]);
    bb_sweep_table_legend(to, o->seq_len, (double)o->mem_budgets[0], path);
    json_decref(l.rows);
}

static void print_rows_json(FILE *to, const char *path, const bb_sweep_row *plan, size_t n)
{
    row_list l = {.rows = json_object()};
    bb_results_read_info info;
    char err[256];
    if (bb_results_read(path, collect_row, &l, &info, err, sizeof err) != 0)
        fprintf(stderr, "bitbench sweep: %s\n", err);
    for (size_t i = 0; i < n; i++) {
        json_t *row = json_object_get(l.rows, plan[i].key);
        char *text = row ? json_dumps(row, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15)) : NULL;
        if (text)
            fprintf(to, "%s\n", text);
        free(text);
    }
    json_decref(l.rows);
}

/* ------------------------------------------------------------------ plan display */

static void print_plan(FILE *to, const bb_sweep_row *rows, size_t n, bb_keyset *skip)
{
    for (size_t i = 0; i < n; i++)
        fprintf(to, "%s%s\n", rows[i].key, skip && bb_keyset_has(skip, rows[i].key) ? "  (done: resumed)" : "");
}

static void default_out(char *buf, size_t len)
{
    char host[64] = "host", stamp[32];
    time_t now = time(NULL);
    struct tm tm;
    gethostname(host, sizeof host);
    host[sizeof host - 1] = 0;
    for (char *p = host; *p; p++)
        if (*p == '/' || *p == ' ')
            *p = '_';
    gmtime_r(&now, &tm);
    strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
    snprintf(buf, len, "results/%s-%s/sweep.jsonl", stamp, host);
}

static bool any_check_failed(const char *path)
{
    row_list l = {.rows = json_object()};
    bb_results_read_info info;
    char err[256];
    bool failed = false;
    if (bb_results_read(path, collect_row, &l, &info, err, sizeof err) == 0) {
        const char *key;
        json_t *row;
        json_object_foreach(l.rows, key, row) {
            const char *status = json_string_value(json_object_get(row, "status"));
            failed |= status && !strcmp(status, "check_failed");
        }
    }
    json_decref(l.rows);
    return failed;
}

/* The sweep's picks (one implementation per model and format: harness/tune/tune.h) that this
 * machine's tuning record lacks are tuned first, then the rows planned again with them. */
static int tune_first(const bb_sweep_opts *o, bb_sweep_row **rows, size_t *n)
{
    if (o->n_impls) /* exact implementations: nothing is picked */
        return 0;
    bb_tune_case cases[(BB_MODELS_MAX + MAX_SHAPES) * BB_FMT_COUNT];
    size_t nc = 0;
    for (size_t i = 0; i < o->n_models; i++)
        for (size_t f = 0; f < o->n_formats; f++) {
            bb_tune_case *tc = &cases[nc++];
            *tc = (bb_tune_case){.format = o->formats[f], .n = 1};
            bb_tune_model_case(&o->models[i], o->threads, o->n_threads, &tc->m, &tc->k, &tc->threads, NULL);
        }
    int rc = bb_tune_missing(CMD, cases, nc);
    if (rc)
        return rc;
    char err[512];
    free(*rows);
    *rows = NULL;
    if (bb_sweep_plan(o, rows, n, err, sizeof err)) /* planned once already: cannot fail here */
        return bb_cli_error(CMD, "%s", err);
    return 0;
}

int bb_cmd_sweep(int argc, char **argv)
{
    sweep_cli *c = calloc(1, sizeof *c);
    if (!c)
        return bb_cli_error(CMD, "out of memory");
    bb_sweep_opts_default(&c->opts);
    int rc = parse(argc, argv, c);
    if (rc) {
        free(c);
        return rc;
    }
    bb_sweep_opts *o = &c->opts;
    char err[512], out[4200];
    bb_sweep_row *rows = NULL;
    size_t n = 0;
    bb_keyset skip = {0};
    bb_results_read_info info;
    if (bb_sweep_plan(o, &rows, &n, err, sizeof err)) {
        free(c);
        return bb_cli_error(CMD, "%s", err);
    }
    if (c->resume && bb_keyset_load(&skip, c->resume, &info, err, sizeof err)) {
        rc = bb_cli_error(CMD, "--resume: %s", err);
        goto done;
    }
    /* not a results file at all (e.g. a binary given by mistake): appending to it would
     * bury the rows in it.  One cut last line alone is a run killed during its first row. */
    if (c->resume && info.rows == 0 && info.bad_lines > (info.truncated_last ? 1u : 0u)) {
        rc = bb_cli_error(CMD, "--resume %s: not a results file: no readable row, %zu unreadable line%s "
                               "(line %zu: %s)", c->resume, info.bad_lines, info.bad_lines == 1 ? "" : "s",
                          info.first_bad_line, info.first_bad_reason);
        goto done;
    }
    if (c->resume && info.bad_lines)
        fprintf(stderr, "bitbench sweep: --resume %s: %zu unreadable line%s skipped (line %zu: %s)%s\n",
                c->resume, info.bad_lines, info.bad_lines == 1 ? "" : "s", info.first_bad_line,
                info.first_bad_reason, info.truncated_last ? "; the last line was cut short (a killed run)" : "");
    if (c->plan_only) {
        print_plan(stdout, rows, n, c->resume ? &skip : NULL);
        goto done;
    }
    if (!c->no_tune && bb_tune_auto_enabled() && (rc = tune_first(o, &rows, &n)) != 0)
        goto done;
    if (c->out)
        snprintf(out, sizeof out, "%s", c->out);
    else if (c->resume)
        snprintf(out, sizeof out, "%s", c->resume);
    else
        default_out(out, sizeof out);
    o->out_path = out;
    bb_results_writer w;
    if (bb_results_open(&w, out, err, sizeof err)) {
        rc = bb_cli_error(CMD, "--out: %s", err);
        goto done;
    }
    char run_id[160], stamp[32], host[64] = "host";
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
    gethostname(host, sizeof host);
    host[sizeof host - 1] = 0;
    snprintf(run_id, sizeof run_id, "%s-%s-%ld", stamp, host, (long)getpid());
    bb_sweep_ctx ctx = {.opts = o, .writer = &w, .skip = c->resume ? &skip : NULL, .progress = progress,
                        .stop = &stop_flag, .common = bb_sweep_common(run_id)};
    json_object_set_new(ctx.common, "run_group", json_string(c->run_group ? c->run_group : run_id));
    fprintf(stderr, "bitbench sweep: %zu rows (%zu models x %zu formats), results to %s\n", n, o->n_models,
            o->n_formats, out);
    bb_tune_hint(CMD);
    install_signals();
    int status = bb_sweep_run(&ctx, rows, n, err, sizeof err);
    bb_results_close(&w);
    json_decref(ctx.common);
    if (status == 1) {
        fprintf(stderr, "bitbench sweep: interrupted: %zu rows written to %s are kept (each was fsync'd); the "
                        "row in progress (%s) is lost. Continue with: bitbench sweep ... --resume %s\n",
                ctx.rows_written, out, ctx.interrupted_row, out);
        rc = 130;
        goto done;
    }
    if (status < 0) {
        rc = bb_cli_error(CMD, "%s", err);
        goto done;
    }
    fprintf(stderr, "bitbench sweep: done: %zu rows written to %s", ctx.rows_written, out);
    if (ctx.rows_skipped)
        fprintf(stderr, " (%zu already there, not measured again)", ctx.rows_skipped);
    fputc('\n', stderr);
    if (c->json)
        print_rows_json(stdout, out, rows, n);
    else
        print_tables(stdout, out, o);
    rc = any_check_failed(out) ? BB_EXIT_FINDING : BB_EXIT_OK;
done:
    bb_keyset_free(&skip);
    free(rows);
    free(c);
    return rc;
}
