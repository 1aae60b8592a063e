/*
 * bench/cmd_paired.c - `bitbench paired RUN.jsonl`: the verdict of a paired A/B run.
 *
 * RUN.jsonl holds `bitbench gemm --paired --json` rows of two builds of the same kernels,
 * named OLD/IMPL and NEW/IMPL (module prefixes, default old/ and new/).  Round i's samples
 * of OLD/IMPL and NEW/IMPL were timed back to back, so each kernel and shape gives a
 * series of ratios new/old, judged by harness/compare/paired.h (Hodges-Lehmann estimate and
 * Wilcoxon signed-rank interval).  With --confirm RUN2.jsonl, a regression counts only
 * when the second run shows it too.  Exit 0 no regression, 1 a regression (or a kernel
 * that failed its check), 2 bad input.
 */
#include "cli.h"

#include "../harness/compare/paired.h"

#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CMD "paired"

typedef struct paired_opts {
    const char *run, *confirm, *old_prefix, *new_prefix, *out;
    double threshold, alpha;
    uint64_t max_pairs;
    int json;
} paired_opts;

static void usage(FILE *to)
{
    fprintf(to,
        "usage: bitbench paired RUN.jsonl [options]\n"
        "  RUN.jsonl        rows of `bitbench gemm --paired --json` with OLD/IMPL and NEW/IMPL kernels\n"
        "  --confirm FILE   a second run: a regression must show in both\n"
        "  --old P --new P  the two module prefixes (default old, new)\n"
        "  --threshold PCT  smallest slowdown called a regression, percent (default 3)\n"
        "  --alpha A        1 - confidence of the interval (default 0.01)\n"
        "  --max-pairs N    pairs analysed per kernel; more rounds go in blocks (their median) (default 1000)\n"
        "  --json           the verdicts as JSON (stdout, or --out FILE); the table goes to stderr\n");
}

static int parse(int argc, char **argv, paired_opts *o)
{
    static const struct option opts[] = {
        {"confirm", required_argument, 0, 'c'}, {"old", required_argument, 0, 'O'},
        {"new", required_argument, 0, 'N'},     {"threshold", required_argument, 0, 't'},
        {"alpha", required_argument, 0, 'a'},   {"max-pairs", required_argument, 0, 'p'},
        {"json", no_argument, 0, 'j'},          {"out", required_argument, 0, 'o'},
        {"help", no_argument, 0, 'h'},          {0, 0, 0, 0}};
    *o = (paired_opts){.old_prefix = "old", .new_prefix = "new", .threshold = 3, .alpha = 0.01, .max_pairs = 1000};
    int c, bad;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        bad = 0;
        switch (c) {
        case 'c': o->confirm = optarg; break;
        case 'O': o->old_prefix = optarg; break;
        case 'N': o->new_prefix = optarg; break;
        case 't': bad = bb_cli_parse_double(CMD, "--threshold", optarg, 0, 1000, &o->threshold); break;
        case 'a': bad = bb_cli_parse_double(CMD, "--alpha", optarg, 1e-6, 0.5, &o->alpha); break;
        case 'p': bad = bb_cli_parse_u64(CMD, "--max-pairs", optarg, BB_PAIRED_MIN_PAIRS, 20000, false, &o->max_pairs); break;
        case 'j': o->json = 1; break;
        case 'o': o->out = optarg; break;
        case 'h': usage(stdout); exit(BB_EXIT_OK);
        default:
            return bb_cli_error(CMD, "unknown or incomplete option '%s' (bitbench paired --help lists them)",
                                argv[optind - 1]);
        }
        if (bad)
            return BB_EXIT_USAGE;
    }
    if (optind + 1 != argc)
        return bb_cli_error(CMD, optind < argc ? "one run file expected, got '%s' too" : "no run file%s given",
                            optind < argc ? argv[optind + 1] : "");
    o->run = argv[optind];
    if (!strcmp(o->old_prefix, o->new_prefix))
        return bb_cli_error(CMD, "--old and --new are both '%s'; they name the two modules", o->old_prefix);
    return 0;
}

/* ------------------------------------------------------------------ reading */

typedef struct side {
    json_t *row;
    double *samples;
    size_t n;
} side;

typedef struct pair_key {
    char impl[160]; /* without the prefix */
    long long m, k, n;
    char mode[8];
    side old, new_;
} pair_key;

static json_t *load_rows(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    json_t *rows = json_array();
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, f) > 0) {
        json_t *j = json_loads(line, 0, NULL);
        const char *schema = json_string_value(json_object_get(j, "schema"));
        if (schema && !strcmp(schema, "bitbench.gemm/1"))
            json_array_append(rows, j);
        json_decref(j);
    }
    free(line);
    fclose(f);
    return rows;
}

/* Which side a row is on, and its unprefixed name; NULL when it is on neither. */
static const char *strip(const paired_opts *o, const char *impl, int *is_new)
{
    size_t lo = strlen(o->old_prefix), ln = strlen(o->new_prefix);
    if (!strncmp(impl, o->old_prefix, lo) && impl[lo] == '/')
        return *is_new = 0, impl + lo + 1;
    if (!strncmp(impl, o->new_prefix, ln) && impl[ln] == '/')
        return *is_new = 1, impl + ln + 1;
    return NULL;
}

static void fill_side(side *s, json_t *row)
{
    s->row = row;
    json_t *samples = json_object_get(json_object_get(row, "latency_ns"), "samples");
    s->n = json_array_size(samples);
    s->samples = s->n ? malloc(s->n * sizeof(double)) : NULL;
    for (size_t i = 0; s->samples && i < s->n; i++)
        s->samples[i] = json_number_value(json_array_get(samples, i));
}

/* Groups rows into (old, new) pairs by unprefixed name and shape.  Count, or -1. */
static long collect(const paired_opts *o, json_t *rows, pair_key **out)
{
    size_t cap = json_array_size(rows), n = 0, i;
    pair_key *keys = calloc(cap ? cap : 1, sizeof *keys);
    json_t *row;
    json_array_foreach(rows, i, row) {
        int is_new;
        const char *base = strip(o, json_string_value(json_object_get(row, "impl")), &is_new);
        if (!base)
            continue;
        long long m = json_integer_value(json_object_get(row, "m")), k = json_integer_value(json_object_get(row, "k")),
                  nn = json_integer_value(json_object_get(row, "n"));
        const char *mode = json_string_value(json_object_get(row, "mode"));
        pair_key *key = NULL;
        for (size_t j = 0; j < n && !key; j++)
            if (!strcmp(keys[j].impl, base) && keys[j].m == m && keys[j].k == k && keys[j].n == nn)
                key = &keys[j];
        if (!key) {
            key = &keys[n++];
            snprintf(key->impl, sizeof key->impl, "%s", base);
            key->m = m, key->k = k, key->n = nn;
            snprintf(key->mode, sizeof key->mode, "%s", mode ? mode : "?");
        }
        side *s = is_new ? &key->new_ : &key->old;
        if (!s->row)
            fill_side(s, row);
    }
    *out = keys;
    return (long)n;
}

static void free_keys(pair_key *keys, long n)
{
    for (long i = 0; i < n; i++) {
        free(keys[i].old.samples);
        free(keys[i].new_.samples);
    }
    free(keys);
}

/* ------------------------------------------------------------------ judging */

typedef struct verdict {
    bb_paired est;
    const char *what; /* regression, improvement, no change, too few pairs, check failed, unpaired */
} verdict;

static verdict judge(const paired_opts *o, const pair_key *key)
{
    verdict v = {.what = "unpaired"};
    if (!key->old.row || !key->new_.row)
        return v;
    if (!key->old.n || !key->new_.n) {
        v.what = "check failed";
        return v;
    }
    size_t n = key->old.n < key->new_.n ? key->old.n : key->new_.n;
    if (bb_paired_estimate(key->old.samples, key->new_.samples, n, o->alpha, (size_t)o->max_pairs, &v.est) != 0)
        v.what = "too few pairs";
    else
        v.what = bb_paired_verdict(&v.est, o->threshold / 100);
    return v;
}

static json_t *verdict_json(const verdict *v)
{
    if (!v->est.pairs || !strcmp(v->what, "too few pairs") || !strcmp(v->what, "check failed") ||
        !strcmp(v->what, "unpaired"))
        return json_pack("{s:s, s:I}", "verdict", v->what, "pairs", (json_int_t)v->est.pairs);
    return json_pack("{s:s, s:f, s:f, s:f, s:f, s:I, s:I, s:I}", "verdict", v->what, "ratio", v->est.ratio,
                     "ci_low", v->est.lo, "ci_high", v->est.hi, "median_ratio", v->est.median_ratio, "pairs",
                     (json_int_t)v->est.pairs, "rounds", (json_int_t)v->est.rounds, "block",
                     (json_int_t)v->est.block);
}

static void print_row(FILE *to, const pair_key *key, const verdict *v, const char *final)
{
    char shape[64];
    snprintf(shape, sizeof shape, "%lldx%lldx%lld", key->m, key->k, key->n);
    if (v->est.pairs >= BB_PAIRED_MIN_PAIRS && strcmp(v->what, "check failed") && strcmp(v->what, "too few pairs"))
        fprintf(to, "%-28s %-14s %-4s %6zu %8.4f %8.4f %8.4f  %s\n", key->impl, shape, key->mode, v->est.pairs,
                v->est.ratio, v->est.lo, v->est.hi, final);
    else
        fprintf(to, "%-28s %-14s %-4s %6s %8s %8s %8s  %s\n", key->impl, shape, key->mode, "-", "-", "-", "-", final);
}

int bb_cmd_paired(int argc, char **argv)
{
    paired_opts o;
    int rc = parse(argc, argv, &o);
    if (rc)
        return rc;
    json_t *rows = load_rows(o.run), *crows = NULL;
    if (!rows)
        return bb_cli_error(CMD, "'%s': cannot read", o.run);
    if (o.confirm && !(crows = load_rows(o.confirm))) {
        json_decref(rows);
        return bb_cli_error(CMD, "--confirm '%s': cannot read", o.confirm);
    }
    pair_key *keys = NULL, *ckeys = NULL;
    long n = collect(&o, rows, &keys), cn = crows ? collect(&o, crows, &ckeys) : 0;
    if (n <= 0) {
        free_keys(keys, n);
        json_decref(rows);
        json_decref(crows);
        return bb_cli_error(CMD, "'%s': no gemm rows named %s/IMPL or %s/IMPL", o.run, o.old_prefix, o.new_prefix);
    }
    FILE *table = o.json ? stderr : stdout;
    fprintf(table, "paired A/B: ratio = new/old (Hodges-Lehmann), %.0f%% interval (Wilcoxon signed-rank); "
                   "regression = interval above 1 and ratio >= %.3g%s\n",
            100 * (1 - o.alpha), 1 + o.threshold / 100, o.confirm ? ", in both runs" : "");
    fprintf(table, "%-28s %-14s %-4s %6s %8s %8s %8s  %s\n", "impl", "MxKxN", "mode", "pairs", "ratio", "low",
            "high", "verdict");
    json_t *results = json_array();
    size_t regressions = 0, improvements = 0, failed = 0, compared = 0;
    for (long i = 0; i < n; i++) {
        verdict v = judge(&o, &keys[i]);
        const char *final = v.what;
        json_t *r = json_pack("{s:s, s:I, s:I, s:I, s:s}", "impl", keys[i].impl, "m", (json_int_t)keys[i].m,
                              "k", (json_int_t)keys[i].k, "n", (json_int_t)keys[i].n, "mode", keys[i].mode);
        json_object_set_new(r, "run", verdict_json(&v));
        if (o.confirm && !strcmp(v.what, "regression")) {
            verdict cv = {.what = "unpaired"};
            for (long j = 0; j < cn; j++)
                if (!strcmp(ckeys[j].impl, keys[i].impl) && ckeys[j].m == keys[i].m && ckeys[j].k == keys[i].k &&
                    ckeys[j].n == keys[i].n)
                    cv = judge(&o, &ckeys[j]);
            json_object_set_new(r, "confirm", verdict_json(&cv));
            final = !strcmp(cv.what, "regression") ? "regression" : "not confirmed";
        }
        json_object_set_new(r, "verdict", json_string(final));
        json_array_append_new(results, r);
        print_row(table, &keys[i], &v, final);
        compared += strcmp(v.what, "unpaired") != 0;
        regressions += !strcmp(final, "regression");
        improvements += !strcmp(final, "improvement");
        failed += !strcmp(final, "check failed");
    }
    if (o.json) {
        json_t *doc = json_pack("{s:s, s:f, s:f, s:s?, s:o, s:{s:I, s:I, s:I, s:I}}", "schema", "bitbench.paired/1",
                                "threshold_pct", o.threshold, "alpha", o.alpha, "confirm", o.confirm, "results",
                                results, "summary", "compared", (json_int_t)compared, "regressions",
                                (json_int_t)regressions, "improvements", (json_int_t)improvements, "check_failed",
                                (json_int_t)failed);
        FILE *out = o.out ? fopen(o.out, "w") : stdout;
        if (!out)
            rc = bb_cli_error(CMD, "--out '%s': cannot open for writing", o.out);
        else {
            json_dumpf(doc, out, JSON_INDENT(2));
            fputc('\n', out);
            if (out != stdout)
                fclose(out);
        }
        json_decref(doc);
    } else
        json_decref(results);
    fprintf(table, "paired: %zu compared, %zu regression(s), %zu improvement(s), %zu failed check(s)\n", compared,
            regressions, improvements, failed);
    free_keys(keys, n);
    free_keys(ckeys, cn);
    json_decref(rows);
    json_decref(crows);
    return rc ? rc : (regressions || failed) ? BB_EXIT_FINDING : BB_EXIT_OK;
}
