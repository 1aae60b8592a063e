/*
 * bench/cmd_tune.c - `bitbench tune`: time every runnable implementation of each format at
 * the shapes asked for and record, per (format, shape class, threads, batch class), which
 * one `--kernel FORMAT` should run on this machine (harness/tune/tune.h has the classes, the
 * file and the rule).
 *
 * The measurement is `bitbench gemm`'s, called in-process with --impl listing a format's
 * implementations: checked against the reference, interleaved (A B C A B C ...), cold
 * weights rotated through > 4x LLC, in PLACEMENTS runs whose rounds are pooled (below).  No
 * timing loop of its own.  Because the samples of
 * one round are taken side by side, the ratio of a rival to the priority pick is judged
 * per round (paired); a rival replaces the priority pick only when it is clearly faster
 * (harness/tune/tune.h, BB_TUNE_MARGIN), so that a table taken on a loaded machine keeps the
 * priority where the difference is noise.
 */
#include "cli.h"

#include "../harness/machine/machine.h"
#include "../harness/base/stats.h"
#include "../harness/tune/tune.h"
#include "../kernels/kernel.h"
#include "../harness/core/clock.h"

#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CMD "tune"
enum { MAX_SHAPES = 32, MAX_LIST = 16 };
/* A case is timed in PLACEMENTS separate gemm runs, each allocating every implementation's
 * weight copies anew, with the implementations' order (and so their allocation order)
 * rotated by one from run to run; the rounds of all runs are pooled.  Where a copy's pages
 * land moved a kernel's speed by up to 1.5x on the Zen 5 VM (results/measurements/
 * placements-20261206-vm), and with one run a tuning record took that for the kernel's speed:
 * at 11008x4096, 2 threads, one run put tern2-avx2-lut ahead of tern2-avx512-addonly
 * (388 vs 393 us) that a later process timed at 386 vs 240 us. */
enum { PLACEMENTS = 3 };

/* The paper's projection shapes, 700M to 70B (M x K, one per shape class).  The default
 * leaves out the 70B MLP's two (28672x8192, 8192x28672): each needs ~1 GB of fp32 weights
 * quantized once per implementation and adds about a minute per format; `--shapes paper`
 * includes them. */
static const char *const default_shapes = "1536x1536,5460x2048,4096x4096,11008x4096,8192x8192";
static const char *const paper_shapes =
    "1536x1536,5460x2048,4096x4096,11008x4096,8192x8192,28672x8192,8192x28672";

typedef struct tune_opts {
    const char *out, *isa;
    size_t shapes[MAX_SHAPES][2];
    size_t n_shapes;
    bool formats[BB_FMT_COUNT];
    uint64_t threads[MAX_LIST], batches[MAX_LIST];
    size_t n_threads, n_batches;
    double min_time;
    int show, with_ref;
} tune_opts;

static void usage(FILE *to)
{
    fprintf(to,
        "usage: bitbench tune [options]       (take the timing lock: flock /tmp/bitbench-timing.lock ...)\n"
        "  --shapes LIST    MxK[,MxK..], 'default' (%s)\n"
        "                   or 'paper' (adds the 70B MLP shapes 28672x8192, 8192x28672)\n"
        "  --formats LIST   formats to tune (default: all)\n"
        "  --threads LIST   thread counts (default: all cores, as gemm and sweep use)\n"
        "  --batch LIST     token counts N (default 1: decode; e.g. 1,128 adds prefill)\n"
        "  --min-time S     seconds of interleaved timed calls per shape and format (default 0.2; raised\n"
        "                   to 30 calls' worth at 10 GB/s for big shapes, so the paired interval means something)\n"
        "  --with-ref       time the scalar references too (slow; never the pick when SIMD runs)\n"
        "  --out FILE       the record (default: $BITBENCH_TUNING, else results/tuning/<machine-id>.json);\n"
        "                   entries measured now replace the same (format, class, threads, batch) ones\n"
        "  --isa L          cap the ISA (the record is then for that cap: the machine id includes it)\n"
        "  --show           print the record and exit (nothing timed)\n",
        default_shapes);
}

static int parse_shapes(const char *s, tune_opts *o)
{
    char buf[1024];
    if (!strcmp(s, "default") || !strcmp(s, "paper"))
        s = !strcmp(s, "paper") ? paper_shapes : default_shapes;
    snprintf(buf, sizeof buf, "%s", s);
    o->n_shapes = 0;
    for (char *sv = NULL, *t = strtok_r(buf, ",", &sv); t; t = strtok_r(NULL, ",", &sv)) {
        char *x = strchr(t, 'x'), *e1, *e2;
        unsigned long long m = strtoull(t, &e1, 10), k = x ? strtoull(x + 1, &e2, 10) : 0;
        if (!x || e1 != x || *e2 || m < 1 || k < 1 || m > (1u << 20) || k > (1u << 20))
            return bb_cli_error(CMD, "--shapes '%s': expected MxK with 1 <= M, K <= 1048576, e.g. 4096x4096", t);
        if (o->n_shapes == MAX_SHAPES)
            return bb_cli_error(CMD, "--shapes: at most %d shapes", MAX_SHAPES);
        o->shapes[o->n_shapes][0] = m;
        o->shapes[o->n_shapes++][1] = k;
    }
    return o->n_shapes ? 0 : bb_cli_error(CMD, "--shapes: empty list");
}

static int parse_formats(const char *s, tune_opts *o)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", s);
    memset(o->formats, 0, sizeof o->formats);
    for (char *sv = NULL, *t = strtok_r(buf, ",", &sv); t; t = strtok_r(NULL, ",", &sv)) {
        if (!strcmp(t, "all")) {
            for (int f = 0; f < BB_FMT_COUNT; f++)
                o->formats[f] = true;
            continue;
        }
        const bb_format *f = bb_format_find(t);
        if (!f)
            return bb_cli_error(CMD, "--formats '%s': unknown format; expected one of: %s, all", t,
                                bb_cli_format_names());
        o->formats[f->id] = true;
    }
    return 0;
}

static int parse(int argc, char **argv, tune_opts *o)
{
    static const struct option opts[] = {
        {"shapes", required_argument, 0, 'S'}, {"formats", required_argument, 0, 'F'},
        {"threads", required_argument, 0, 't'}, {"batch", required_argument, 0, 'b'},
        {"min-time", required_argument, 0, 'T'}, {"with-ref", no_argument, 0, 'R'},
        {"out", required_argument, 0, 'o'},    {"isa", required_argument, 0, 'i'},
        {"show", no_argument, 0, 's'},         {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    memset(o, 0, sizeof *o);
    o->min_time = 0.2;
    o->threads[0] = (uint64_t)bb_cli_default_threads();
    o->n_threads = 1;
    o->batches[0] = 1;
    o->n_batches = 1;
    for (int f = 0; f < BB_FMT_COUNT; f++)
        o->formats[f] = true;
    int c, rc = parse_shapes(default_shapes, o);
    opterr = 0;
    optind = 1;
    while (rc == 0 && (c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'S': rc = parse_shapes(optarg, o); break;
        case 'F': rc = parse_formats(optarg, o); break;
        case 't': rc = bb_cli_parse_u64_list(CMD, "--threads", optarg, 1, 1024, o->threads, MAX_LIST, &o->n_threads); break;
        case 'b': rc = bb_cli_parse_u64_list(CMD, "--batch", optarg, 1, 65536, o->batches, MAX_LIST, &o->n_batches); break;
        case 'T': rc = bb_cli_parse_double(CMD, "--min-time", optarg, 0.01, 600, &o->min_time); break;
        case 'R': o->with_ref = 1; break;
        case 'o': o->out = optarg; break;
        case 'i': o->isa = optarg; break;
        case 's': o->show = 1; break;
        case 'h': usage(stdout); exit(BB_EXIT_OK);
        default:
            return bb_cli_error(CMD, "unknown or incomplete option '%s' (bitbench tune --help lists them)",
                                argv[optind - 1]);
        }
    }
    if (rc)
        return rc;
    if (optind < argc)
        return bb_cli_error(CMD, "unexpected argument '%s'", argv[optind]);
    return bb_cli_apply_isa(CMD, o->isa);
}

/* ------------------------------------------------------------------ show */

static void show(const bb_tune_table *t)
{
    printf("tuning record %s (version %d)\n  machine %s (%s), created %s, updated %s, git %s\n", t->path,
           t->version, t->machine_id, t->cpu_model, t->created, t->updated, t->git_revision);
    printf("%-8s %-8s %11s %3s %-8s %-26s %-26s %7s %-17s %s\n", "format", "class", "shape", "T", "batch",
           "chosen", "priority pick", "ratio", "95% interval", "decision");
    for (size_t i = 0; i < t->n; i++) {
        const bb_tune_entry *e = &t->entries[i];
        char shape[32], ci[32] = "-", ratio[16] = "-";
        snprintf(shape, sizeof shape, "%zux%zu", e->m, e->k);
        if (isfinite(e->ratio_median)) {
            snprintf(ratio, sizeof ratio, "%.3f", e->ratio_median);
            snprintf(ci, sizeof ci, "[%.3f, %.3f]", e->ratio_lo, e->ratio_hi);
        }
        printf("%-8s %-8s %11s %3u %-8s %-26s %-26s %7s %-17s %s\n", e->format, e->shape_class, shape, e->threads,
               bb_tune_batch_class_name(e->batch), e->impl, e->priority_impl, ratio, ci, e->decision);
    }
    printf("(ratio: chosen or best rival / priority pick, median of per-round ratios of interleaved cold calls)\n");
}

/* ------------------------------------------------------------------ measure */

/* gemm's JSON rows of one run. */
typedef struct measured {
    char impl[64];
    bool passed;
    double median;
    double *samples;
    size_t n;
} measured;

/* Runs `bitbench gemm` in this process with its stderr kept aside (shown when it fails).
 * Returns gemm's exit code; rows in *rows. */
static int run_gemm(const char *impls, size_t m, size_t k, uint64_t n, uint64_t threads, double min_time,
                    measured *rows, size_t *n_rows, char *why, size_t whylen)
{
    char out[] = "/tmp/bitbench-tune-XXXXXX", errf[] = "/tmp/bitbench-tune-err-XXXXXX";
    int ofd = mkstemp(out), efd = mkstemp(errf);
    *n_rows = 0;
    if (ofd < 0 || efd < 0) {
        snprintf(why, whylen, "cannot create a temporary file in /tmp");
        return BB_EXIT_USAGE;
    }
    close(ofd);
    char sm[24], sk[24], sn[24], st[24], stime[32], simpl[1024];
    snprintf(sm, sizeof sm, "%zu", m);
    snprintf(sk, sizeof sk, "%zu", k);
    snprintf(sn, sizeof sn, "%llu", (unsigned long long)n);
    snprintf(st, sizeof st, "%llu", (unsigned long long)threads);
    snprintf(stime, sizeof stime, "%g", min_time);
    snprintf(simpl, sizeof simpl, "%s", impls);
    char *argv[] = {"gemm", "--impl", simpl, "--m", sm, "--k", sk, "--n", sn, "--threads", st, "--min-time",
                    stime, "--no-ceiling", "--no-probe", "--json", "--out", out, NULL};
    fflush(stderr);
    int saved = dup(2);
    dup2(efd, 2);
    int rc = bb_cmd_gemm((int)(sizeof argv / sizeof argv[0]) - 1, argv);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    if (rc == BB_EXIT_USAGE) { /* gemm's one-line reason (e.g. not enough memory) */
        FILE *f = fdopen(efd, "r");
        char line[256] = "";
        why[0] = '\0';
        rewind(f);
        while (fgets(line, sizeof line, f))
            if (!strncmp(line, "bitbench gemm: ", 15))
                snprintf(why, whylen, "%.250s", line + 15);
        why[strcspn(why, "\n")] = '\0';
        fclose(f);
    } else {
        close(efd);
    }
    unlink(errf);
    FILE *f = fopen(out, "r");
    char *line = NULL;
    size_t cap = 0;
    while (f && getline(&line, &cap, f) > 0 && *n_rows < MAX_LIST) {
        json_t *j = json_loads(line, 0, NULL);
        const json_t *lat = json_object_get(j, "latency_ns"), *s = json_object_get(lat, "samples");
        measured *r = &rows[*n_rows];
        memset(r, 0, sizeof *r);
        const char *impl = json_string_value(json_object_get(j, "impl"));
        snprintf(r->impl, sizeof r->impl, "%s", impl ? impl : "?");
        r->passed = json_is_true(json_object_get(json_object_get(j, "check"), "passed")) && json_is_object(lat);
        if (r->passed) {
            r->median = json_number_value(json_object_get(lat, "median"));
            r->n = json_array_size(s);
            r->samples = calloc(r->n ? r->n : 1, sizeof(double));
            for (size_t i = 0; i < r->n; i++)
                r->samples[i] = json_number_value(json_array_get(s, i));
        }
        json_decref(j);
        if (j)
            (*n_rows)++;
    }
    free(line);
    if (f)
        fclose(f);
    unlink(out);
    return rc;
}

/* Appends run `add` (n_add rows) to the pooled rows: per implementation, the first n rounds
 * of this run, n the fewest rounds any implementation of the run has, so that sample i of
 * every implementation still comes from the same round.  A row that failed in any run is
 * failed in the pool. */
static void pool_runs(measured *pool, size_t *n_pool, measured *add, size_t n_add)
{
    size_t n = SIZE_MAX;
    for (size_t i = 0; i < n_add; i++)
        if (add[i].passed && add[i].n < n)
            n = add[i].n;
    for (size_t i = 0; i < n_add; i++) {
        measured *p = NULL;
        for (size_t j = 0; j < *n_pool && !p; j++)
            if (!strcmp(pool[j].impl, add[i].impl))
                p = &pool[j];
        if (!p && *n_pool < MAX_LIST) {
            p = &pool[(*n_pool)++];
            memset(p, 0, sizeof *p);
            memcpy(p->impl, add[i].impl, sizeof p->impl);
            p->passed = true;
        }
        if (p && add[i].passed && p->passed) {
            double *grown = realloc(p->samples, (p->n + n) * sizeof *grown);
            if (grown) {
                memcpy(grown + p->n, add[i].samples, n * sizeof *grown);
                p->samples = grown;
                p->n += n;
            }
        } else if (p) {
            p->passed = false;
        }
        free(add[i].samples);
        add[i].samples = NULL;
    }
}

/* The pooled rows' medians (0 rounds: failed). */
static void pool_medians(measured *pool, size_t n_pool)
{
    for (size_t i = 0; i < n_pool; i++) {
        pool[i].passed = pool[i].passed && pool[i].n > 0;
        if (pool[i].passed)
            pool[i].median = bb_median_copy(pool[i].samples, pool[i].n);
    }
}

/* names[0..n) joined by commas, starting at names[r] and wrapping around, into out. */
static void join_rotated(const char *const *names, size_t n, size_t r, char *out, size_t len)
{
    out[0] = '\0';
    for (size_t i = 0, o = 0; i < n && o < len; i++, o = strlen(out))
        snprintf(out + o, len - o, "%s%s", i ? "," : "", names[(i + r) % n]);
}

static void utc_now(char *buf, size_t len)
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* The decision of harness/tune/tune.h from one gemm run. */
static void decide(bb_tune_entry *e, const measured *rows, size_t n_rows, const bb_kernel *prio)
{
    const measured *p = NULL, *best = NULL;
    for (size_t i = 0; i < n_rows; i++) {
        if (!rows[i].passed)
            continue;
        if (!strcmp(rows[i].impl, prio->name))
            p = &rows[i];
        if (!best || rows[i].median < best->median)
            best = &rows[i];
        if (e->n_cand < sizeof e->cand / sizeof e->cand[0]) {
            bb_tune_candidate *c = &e->cand[e->n_cand++];
            snprintf(c->impl, sizeof c->impl, "%.63s", rows[i].impl);
            c->median_ns = rows[i].median;
            c->samples = rows[i].n;
        }
    }
    snprintf(e->priority_impl, sizeof e->priority_impl, "%.63s", prio->name);
    snprintf(e->impl, sizeof e->impl, "%.63s", prio->name);
    e->ratio_median = e->ratio_lo = e->ratio_hi = NAN;
    if (!p || !best) {
        snprintf(e->decision, sizeof e->decision, "kept-priority");
        snprintf(e->note, sizeof e->note, "the priority pick was not measured (failed its check?)");
        return;
    }
    /* the rival: the fastest other than the priority pick */
    const measured *rival = NULL;
    for (size_t i = 0; i < n_rows; i++)
        if (rows[i].passed && &rows[i] != p && (!rival || rows[i].median < rival->median))
            rival = &rows[i];
    if (!rival) {
        snprintf(e->decision, sizeof e->decision, "only");
        snprintf(e->note, sizeof e->note, "the only runnable implementation measured");
        return;
    }
    size_t n = rival->n < p->n ? rival->n : p->n;
    bb_tune_paired_ratio(rival->samples, p->samples, n, &e->ratio_median, &e->ratio_lo, &e->ratio_hi);
    if (best == rival && e->ratio_median <= 1 - BB_TUNE_MARGIN && e->ratio_hi < 1) {
        snprintf(e->impl, sizeof e->impl, "%.63s", rival->impl);
        snprintf(e->decision, sizeof e->decision, "faster");
        snprintf(e->note, sizeof e->note, "%s / %s = %.3f per round, 95%% [%.3f, %.3f], %zu rounds", rival->impl,
                 p->impl, e->ratio_median, e->ratio_lo, e->ratio_hi, n);
    } else if (best == rival) {
        snprintf(e->decision, sizeof e->decision, "kept-priority");
        snprintf(e->note, sizeof e->note,
                 "%s had the lower median but not clearly: ratio %.3f, 95%% [%.3f, %.3f] over %zu rounds "
                 "(needs <= %.2f and an interval below 1)",
                 rival->impl, e->ratio_median, e->ratio_lo, e->ratio_hi, n, 1 - BB_TUNE_MARGIN);
    } else {
        snprintf(e->decision, sizeof e->decision, "priority-fastest");
        snprintf(e->note, sizeof e->note, "the best rival %s: ratio %.3f, 95%% [%.3f, %.3f] over %zu rounds",
                 rival->impl, e->ratio_median, e->ratio_lo, e->ratio_hi, n);
    }
}

/* One case: every runnable implementation of format f at m x k, n tokens, `threads`, timed by
 * gemm; the decision printed as a line of the table on `table` and put in t, which is written
 * to path at once (an interrupted tune keeps what it measured).  0, or BB_EXIT_USAGE. */
static int tune_case(FILE *table, bb_tune_table *t, const char *path, bb_format_id f, size_t m, size_t k,
                     uint64_t n, uint64_t threads, double min_time_floor, bool with_ref)
{
    const bb_kernel *prio = bb_kernel_find_best(bb_formats[f].name);
    const char *impls[MAX_LIST];
    size_t n_impls = 0;
    for (size_t i = 0; i < bb_kernel_count && n_impls < MAX_LIST; i++) {
        const bb_kernel *kn = bb_kernels[i];
        bool ref = kn->isa == BB_ISA_SCALAR && !strcmp(kn->method, "ref");
        if (kn->format != f || !bb_kernel_runnable(kn) || (ref && !with_ref && kn != prio))
            continue;
        impls[n_impls++] = kn->name;
    }
    measured rows[MAX_LIST], run[MAX_LIST];
    size_t n_rows = 0;
    char why[300] = "";
    /* >= ~30 rounds even for big shapes (gemm's own floor is 10 a run, which makes the paired
     * interval [min, max]): time for 30 calls streaming at 10 GB/s, over all placements */
    double min_time = 30.0 * (double)bb_weights_bytes(f, m, k) / 10e9;
    min_time = min_time > min_time_floor ? min_time : min_time_floor;
    int rc = 0;
    for (size_t p = 0; p < PLACEMENTS && rc != BB_EXIT_USAGE; p++) {
        char order[1024];
        size_t n_run = 0;
        join_rotated(impls, n_impls, p, order, sizeof order);
        rc = run_gemm(order, m, k, n, threads, min_time / PLACEMENTS, run, &n_run, why, sizeof why);
        if (rc != BB_EXIT_USAGE)
            pool_runs(rows, &n_rows, run, n_run);
        else
            for (size_t i = 0; i < n_run; i++)
                free(run[i].samples);
    }
    pool_medians(rows, n_rows);
    bb_tune_entry e;
    memset(&e, 0, sizeof e);
    snprintf(e.format, sizeof e.format, "%s", bb_formats[f].name);
    bb_tune_shape_class(m, k, e.shape_class, sizeof e.shape_class);
    e.m = m;
    e.k = k;
    e.n = n;
    e.threads = (unsigned)threads;
    e.batch = bb_tune_batch_class(e.n);
    utc_now(e.time, sizeof e.time);
    if (rc == BB_EXIT_USAGE || n_rows == 0) {
        for (size_t i = 0; i < n_rows; i++)
            free(rows[i].samples);
        fprintf(table, "%-8s %-8s %5zux%-5zu %3u %6zu %-26s %-17s %s\n", e.format, e.shape_class, m, k, e.threads,
                e.n, "-", "not measured", why[0] ? why : "gemm gave no rows");
        fflush(table);
        return 0;
    }
    decide(&e, rows, n_rows, prio);
    for (size_t i = 0; i < n_rows; i++)
        free(rows[i].samples);
    fprintf(table, "%-8s %-8s %5zux%-5zu %3u %6zu %-26s %-17s %s\n", e.format, e.shape_class, m, k, e.threads, e.n,
            e.impl, e.decision, e.note);
    fflush(table);
    utc_now(t->updated, sizeof t->updated);
    char err[400];
    if (bb_tune_table_put(t, &e) != 0 || bb_tune_write(path, t, err, sizeof err) != 0)
        return bb_cli_error(CMD, "%s", err);
    return 0;
}

static void table_header(FILE *table)
{
    fprintf(table, "%-8s %-8s %11s %3s %6s %-26s %-17s %s\n", "format", "class", "shape", "T", "N", "chosen",
            "decision", "why");
}

static int tune(const tune_opts *o, const char *path, bb_tune_table *t)
{
    size_t total = 0, done = 0;
    for (int f = 0; f < BB_FMT_COUNT; f++)
        total += o->formats[f] ? o->n_shapes * o->n_threads * o->n_batches : 0;
    uint64_t start = bb_now_ns();
    table_header(stdout);
    for (size_t ti = 0; ti < o->n_threads; ti++)
        for (size_t bi = 0; bi < o->n_batches; bi++)
            for (size_t si = 0; si < o->n_shapes; si++)
                for (int f = 0; f < BB_FMT_COUNT; f++) {
                    if (!o->formats[f])
                        continue;
                    size_t m = o->shapes[si][0], k = o->shapes[si][1];
                    done++;
                    fprintf(stderr, "tune: [%zu/%zu] %s %zux%zu N=%llu T=%llu (%.0f s so far)\n", done, total,
                            bb_formats[f].name, m, k, (unsigned long long)o->batches[bi],
                            (unsigned long long)o->threads[ti], (double)(bb_now_ns() - start) / 1e9);
                    int rc = tune_case(stdout, t, path, (bb_format_id)f, m, k, o->batches[bi], o->threads[ti],
                                       o->min_time, o->with_ref);
                    if (rc)
                        return rc;
                }
    fprintf(stderr, "tune: %zu case(s) in %.0f s; record %s (bitbench tune --show prints it)\n", done,
            (double)(bb_now_ns() - start) / 1e9, path);
    return 0;
}

/* This machine's record from path (out, or the default path when NULL) into t, or a new one
 * when there is none, it is unreadable or it is another machine's (said on stderr). */
static void open_record(const char *who, const char *out, bb_tune_table *t, char *path, size_t len)
{
    bb_machine mach;
    bb_machine_describe(&mach);
    char err[400];
    if (out)
        snprintf(path, len, "%s", out);
    else
        bb_tune_default_path(mach.id, path, len);
    int r = bb_tune_read(path, t, err, sizeof err);
    if (r < 0) { /* an unreadable or old record is replaced, and we say so */
        fprintf(stderr, "%s: %s; starting a new record\n", who, err);
        r = 1;
    }
    if (r == 0 && strcmp(t->machine_id, mach.id) != 0) {
        fprintf(stderr, "%s: %s is for machine %s, this is %s; starting a new record\n", who, path, t->machine_id,
                mach.id);
        bb_tune_table_free(t);
        r = 1;
    }
    if (r == 1) {
        bb_tune_table_init(t, mach.id, mach.cpu_model);
        utc_now(t->created, sizeof t->created);
    }
    snprintf(t->path, sizeof t->path, "%s", path);
    snprintf(t->git_revision, sizeof t->git_revision, "%s", bb_git_revision());
}

bool bb_tune_auto_enabled(void)
{
    const char *e = getenv("BITBENCH_AUTOTUNE");
    return !(e && !strcmp(e, "0"));
}

int bb_tune_missing(const char *cmd, const bb_tune_case *cases, size_t n)
{
    size_t todo[256], n_todo = 0;
    for (size_t i = 0; i < n && n_todo < sizeof todo / sizeof todo[0]; i++) {
        const bb_tune_case *c = &cases[i];
        bb_select_rule rule;
        bool dup = false;
        for (size_t j = 0; j < n_todo && !dup; j++) { /* one entry per class, as the record keys it */
            const bb_tune_case *d = &cases[todo[j]];
            char a[16], b[16];
            dup = d->format == c->format && d->threads == c->threads &&
                  bb_tune_batch_class(d->n) == bb_tune_batch_class(c->n) &&
                  !strcmp(bb_tune_shape_class(d->m, d->k, a, sizeof a), bb_tune_shape_class(c->m, c->k, b, sizeof b));
        }
        if (!dup && bb_select_kernel(bb_formats[c->format].name, c->m, c->k, c->n, c->threads, &rule) && !rule.tuned)
            todo[n_todo++] = i;
    }
    if (!n_todo)
        return 0;
    bb_tune_table t;
    char path[512];
    open_record(cmd, NULL, &t, path, sizeof path);
    fprintf(stderr,
            "%s: first run of %zu case(s) on this machine: timing every implementation of each (as `bitbench "
            "tune` does) to pick the fastest; the record %s serves every later run (--no-tune or "
            "BITBENCH_AUTOTUNE=0 skips this)\n",
            cmd, n_todo, path);
    table_header(stderr);
    uint64_t start = bb_now_ns();
    int rc = 0;
    for (size_t i = 0; i < n_todo && rc == 0; i++) {
        const bb_tune_case *c = &cases[todo[i]];
        fprintf(stderr, "%s: tuning [%zu/%zu] %s %zux%zu N=%llu T=%u (%.0f s so far)\n", cmd, i + 1, n_todo,
                bb_formats[c->format].name, c->m, c->k, (unsigned long long)c->n, c->threads,
                (double)(bb_now_ns() - start) / 1e9);
        rc = tune_case(stderr, &t, path, c->format, c->m, c->k, c->n, c->threads, 0.2, false);
    }
    fprintf(stderr, "%s: tuned %zu case(s) in %.0f s\n", cmd, n_todo, (double)(bb_now_ns() - start) / 1e9);
    bb_tune_table_free(&t);
    bb_tune_forget();
    return rc;
}

int bb_cmd_tune(int argc, char **argv)
{
    tune_opts o;
    int rc = parse(argc, argv, &o);
    if (rc)
        return rc;
    char path[512], err[400];
    bb_tune_table t;
    if (o.show) {
        bb_machine mach;
        bb_machine_describe(&mach);
        if (o.out)
            snprintf(path, sizeof path, "%s", o.out);
        else
            bb_tune_default_path(mach.id, path, sizeof path);
        int r = bb_tune_read(path, &t, err, sizeof err);
        if (r == 1) {
            printf("no tuning record at %s (machine %s): `bitbench tune` makes one\n", path, mach.id);
            return BB_EXIT_OK;
        }
        if (r < 0)
            return bb_cli_error(CMD, "%s", err);
        show(&t);
        if (strcmp(t.machine_id, mach.id) != 0)
            printf("note: this record is for machine %s; this machine is %s, so it is not used here\n",
                   t.machine_id, mach.id);
        bb_tune_table_free(&t);
        return BB_EXIT_OK;
    }
    open_record(CMD, o.out, &t, path, sizeof path);
    rc = tune(&o, path, &t);
    bb_tune_table_free(&t);
    bb_tune_forget();
    return rc;
}
