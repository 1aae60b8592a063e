/*
 * bench/cmd_compare.c - `bitbench compare BASE.jsonl NEW.jsonl`: per key, did NEW get
 * slower?  Exit 0 no regression, 1 at least one, 2 bad input.  The statistics and the
 * pairing are in harness/compare.h; this file parses options and writes the formats:
 * markdown (a CI summary), json, bencher (Bencher Metric Format) and
 * github-action-benchmark (customSmallerIsBetter).
 */
#include "cli.h"

#include "../harness/compare/compare.h"
#include "../harness/machine/machine.h"

#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CMD "compare"

typedef enum { OUT_MARKDOWN, OUT_JSON, OUT_BENCHER, OUT_GAB } out_format;

typedef struct compare_args {
    const char *base, *new_, *confirm, *out;
    int machine_query; /* 1: --machine-id, 2: --machine-json */
    out_format format;
    bb_compare_opts opts;
} compare_args;

static void usage(FILE *to)
{
    fprintf(to,
        "usage: bitbench compare BASE.jsonl NEW.jsonl [options]\n"
        "  Pairs rows (sweep rows or gemm --json lines) by key and gives each a verdict:\n"
        "  regression when the floor (a low quantile: calls nothing interrupted) got slower by\n"
        "  >= --threshold, the median's bootstrap CI reaches that too, and the Mann-Whitney U\n"
        "  test gives p < --alpha.  Medians and their CIs are reported.\n"
        "  --alpha A          significance level (default 0.01; the CI level is 1 - A)\n"
        "  --threshold PCT    minimum change of the median, in percent (default 5)\n"
        "  --floor-quantile Q the floor's quantile (default 0.05; 0: the median alone decides)\n"
        "  --normalize IMPL   compare ratios to implementation IMPL (or the row of format IMPL)\n"
        "                     measured in the same run, so a slower machine is not a regression\n"
        "  --confirm FILE     a rerun of NEW: a regression counts only if FILE shows it too\n"
        "  --allow-different-machines   compare rows whose machine ids differ\n"
        "  --format F         markdown (default) | json | bencher | github-action-benchmark\n"
        "  --out FILE         write the output there instead of stdout\n"
        "  --resamples N      bootstrap resamples (default 2000);  --seed S (default 1)\n"
        "usage: bitbench compare --machine-id | --machine-json\n"
        "  this machine's id as sweep rows record it (CPU, ISA cap, cores), or a JSON line\n"
        "  {\"kind\": \"machine\", ...} that gives the rows after it in a file that identity\n"
        "exit status: 0 no regression, 1 at least one regression, 2 bad input\n");
}

static int parse_format(const char *s, out_format *f)
{
    static const char *names[] = {"markdown", "json", "bencher", "github-action-benchmark"};
    for (int i = 0; i < 4; i++)
        if (!strcmp(s, names[i])) {
            *f = (out_format)i;
            return 0;
        }
    return bb_cli_error(CMD, "--format '%s': expected markdown, json, bencher or github-action-benchmark", s);
}

static int parse_threshold(const char *s, double *out)
{
    char buf[64];
    snprintf(buf, sizeof buf, "%s", s);
    size_t len = strlen(buf);
    if (len && buf[len - 1] == '%')
        buf[len - 1] = '\0';
    double pct;
    if (bb_cli_parse_double(CMD, "--threshold", buf, 0, 1000, &pct))
        return BB_EXIT_USAGE;
    *out = pct / 100.0;
    return 0;
}

static int parse(int argc, char **argv, compare_args *a)
{
    static const struct option opts[] = {
        {"alpha", required_argument, 0, 'a'},     {"threshold", required_argument, 0, 't'},
        {"floor-quantile", required_argument, 0, 'q'},
        {"normalize", required_argument, 0, 'n'}, {"confirm", required_argument, 0, 'c'},
        {"allow-different-machines", no_argument, 0, 'M'},
        {"format", required_argument, 0, 'f'},    {"out", required_argument, 0, 'o'},
        {"resamples", required_argument, 0, 'r'}, {"seed", required_argument, 0, 's'},
        {"machine-id", no_argument, 0, 'I'},      {"machine-json", no_argument, 0, 'J'},
        {"help", no_argument, 0, 'h'},            {0, 0, 0, 0}};
    memset(a, 0, sizeof *a);
    bb_compare_opts_default(&a->opts);
    opterr = 0;
    optind = 1;
    int c;
    uint64_t u;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        int bad = 0;
        switch (c) {
        case 'a': bad = bb_cli_parse_double(CMD, "--alpha", optarg, 1e-12, 0.5, &a->opts.alpha); break;
        case 't': bad = parse_threshold(optarg, &a->opts.threshold); break;
        case 'q': bad = bb_cli_parse_double(CMD, "--floor-quantile", optarg, 0, 0.49, &a->opts.floor_quantile); break;
        case 'n': a->opts.normalize = optarg; break;
        case 'c': a->confirm = optarg; break;
        case 'M': a->opts.allow_different_machines = true; break;
        case 'f': bad = parse_format(optarg, &a->format); break;
        case 'o': a->out = optarg; break;
        case 'r':
            bad = bb_cli_parse_u64(CMD, "--resamples", optarg, 100, 1000000, false, &u);
            a->opts.resamples = (size_t)u;
            break;
        case 's': bad = bb_cli_parse_u64(CMD, "--seed", optarg, 0, UINT64_MAX, false, &a->opts.seed); break;
        case 'I': a->machine_query = 1; break;
        case 'J': a->machine_query = 2; break;
        case 'h': usage(stdout); exit(BB_EXIT_OK);
        default:
            return bb_cli_error(CMD, "unknown or incomplete option '%s' (bitbench compare --help lists them)",
                                argv[optind - 1]);
        }
        if (bad)
            return BB_EXIT_USAGE;
    }
    if (a->machine_query && argc - optind == 0)
        return 0;
    if (argc - optind != 2)
        return bb_cli_error(CMD, "expected two result files, BASE and NEW; got %d argument(s)", argc - optind);
    a->base = argv[optind];
    a->new_ = argv[optind + 1];
    return 0;
}

/* ------------------------------------------------------------------ loading */

static int load(const char *path, const char *role, const compare_args *a, bb_rowset *s)
{
    char err[512];
    if (bb_rowset_load(path, s, err, sizeof err) != 0)
        return bb_cli_error(CMD, "%s %s", role, err);
    if (s->truncated_last)
        fprintf(stderr, "compare: %s '%s': last line incomplete (interrupted writer), skipped\n", role, path);
    if (s->sweep_schema && s->sweep_schema_min != s->sweep_schema)
        return bb_cli_error(CMD, "%s '%s' mixes sweep rows of schema_version %d and %d: schema 1 timed the "
                            "projections alone, schema 2 the whole decoder step; compare files of one schema",
                            role, path, s->sweep_schema_min, s->sweep_schema);
    if (a->opts.normalize && bb_rowset_normalize(s, a->opts.normalize) == 0)
        return bb_cli_error(CMD, "--normalize '%s': no row of %s '%s' could be normalized to it (no such "
                            "implementation or format measured beside the others in one run)",
                            a->opts.normalize, role, path);
    return 0;
}

/* ------------------------------------------------------------------ markdown */

static const char *fmt_value(double v, const char *unit, char *buf, size_t len)
{
    if (strcmp(unit, "ns") != 0)
        snprintf(buf, len, "%.4gx", v);
    else if (v >= 1e9)
        snprintf(buf, len, "%.3g s", v / 1e9);
    else if (v >= 1e6)
        snprintf(buf, len, "%.4g ms", v / 1e6);
    else if (v >= 1e3)
        snprintf(buf, len, "%.4g us", v / 1e3);
    else
        snprintf(buf, len, "%.4g ns", v);
    return buf;
}

static const char *fmt_p(double p, char *buf, size_t len)
{
    if (p < 1e-300)
        snprintf(buf, len, "<1e-300");
    else
        snprintf(buf, len, "%.2g", p);
    return buf;
}

static void md_change(FILE *to, const bb_sample_compare *s)
{
    fprintf(to, " %+.1f%% | [%+.1f%%, %+.1f%%] |", 100 * s->change, 100 * s->ci_low, 100 * s->ci_high);
    if (isnan(s->floor_change))
        fputs(" off |", to);
    else if (s->floor_change == 0 && (s->base_runs > 1 || s->new_runs > 1))
        fprintf(to, " within %zu base run(s) |", s->base_runs);
    else
        fprintf(to, " %+.1f%% |", 100 * s->floor_change);
}

static void md_row(FILE *to, const bb_key_result *k, bool with_confirm)
{
    char b1[32], b2[32], p[32];
    fputs("| ", to);
    bb_md_code(to, k->key);
    fprintf(to, "%s | %s | %s |", k->unit[0] == 'r' ? " (ratio)" : "",
            fmt_value(k->first.base_median, k->unit, b1, sizeof b1),
            fmt_value(k->first.new_median, k->unit, b2, sizeof b2));
    md_change(to, &k->first);
    fprintf(to, " %s |", fmt_p(k->first.test.p, p, sizeof p));
    if (with_confirm) {
        if (k->confirmed_run)
            fprintf(to, " %+.1f%% (p %s) |", 100 * k->confirm.change, fmt_p(k->confirm.test.p, p, sizeof p));
        else
            fputs(" not rerun |", to);
    }
    if (k->have_instructions)
        fprintf(to, " %+.2f%% |", 100 * k->instructions_change);
    else
        fputs(" n/a |", to);
    bool loud = k->verdict == BB_REGRESSION;
    fprintf(to, " %s%s%s |\n", loud ? "**" : "", bb_verdict_name(k->verdict), loud ? "**" : "");
}

static void write_markdown(FILE *to, const compare_args *a, const bb_comparison *c)
{
    size_t unchanged = c->n_results - c->regressions - c->improvements - c->unconfirmed;
    fprintf(to, "### bitbench compare: %zu regression(s), %zu improvement(s), %zu unchanged", c->regressions,
            c->improvements, unchanged);
    if (a->confirm)
        fprintf(to, ", %zu not confirmed by the rerun", c->unconfirmed);
    fprintf(to, "\n\nBASE `%s` vs NEW `%s`%s%s%s. %s.\n\n", a->base, a->new_, a->confirm ? ", confirmation rerun `" : "",
            a->confirm ? a->confirm : "", a->confirm ? "`" : "", c->machine_note);
    if (a->opts.floor_quantile > 0)
        fprintf(to, "Verdict: **regression** when the floor (the %g-quantile: the calls nothing interrupted; a busy "
                    "neighbour moves the median, not the floor; with several runs of a key, measured from the "
                    "slowest run's floor) is slower by >= %.1f%%, the median's CI reaches +%.1f%% too",
                a->opts.floor_quantile, 100 * a->opts.threshold, 100 * a->opts.threshold);
    else
        fprintf(to, "Verdict: **regression** when the median is slower by >= %.1f%%", 100 * a->opts.threshold);
    fprintf(to, ", and the difference is significant (Mann-Whitney U, two-sided p < %g)%s. The CI of the median "
                "change is a %g%% percentile bootstrap over the raw samples (%zu resamples).",
            a->opts.alpha, a->confirm ? "; with a rerun, only when the rerun shows it too" : "",
            100 * (1 - a->opts.alpha), a->opts.resamples);
    if (a->opts.normalize)
        fprintf(to, " Values are ratios to `%s` measured in the same run (per round when interleaved); its "
                    "own row is in ns.", a->opts.normalize);
    fputs(" Medians measured (monotonic clock); instructions retired per token measured by counters where "
          "available.\n\n", to);
    fprintf(to, "| key | BASE median | NEW median | change | %g%% CI | floor change | p |%s instructions | verdict |\n",
            100 * (1 - a->opts.alpha), a->confirm ? " rerun change |" : "");
    fprintf(to, "|---|---:|---:|---:|---|---:|---:|%s---:|---|\n", a->confirm ? "---:|" : "");
    for (size_t i = 0; i < c->n_results; i++)
        md_row(to, &c->results[i], a->confirm != NULL);
    if (c->n_missing) {
        fputs("\nNot compared:\n\n", to);
        for (size_t i = 0; i < c->n_missing; i++) {
            fputs("- ", to);
            bb_md_code(to, c->missing[i].key);
            fprintf(to, ": %s\n", c->missing[i].why);
        }
    }
}

/* ------------------------------------------------------------------ json formats */

static json_t *samples_json(const bb_sample_compare *s, const char *unit)
{
    return json_pack("{s:{s:I, s:f}, s:{s:I, s:f, s:f, s:f}, s:s, s:f, s:[f, f], s:o, s:{s:I, s:I}, "
                     "s:{s:s, s:f, s:f, s:f, s:s}, s:s}",
        "base", "n", (json_int_t)s->n_base, "median", s->base_median,
        "new", "n", (json_int_t)s->n_new, "median", s->new_median, "p10", s->new_p10, "p90", s->new_p90,
        "unit", unit, "change", s->change, "ci", s->ci_low, s->ci_high,
        "floor_change", isnan(s->floor_change) ? json_null() : json_real(s->floor_change),
        "runs", "base", (json_int_t)s->base_runs, "new", (json_int_t)s->new_runs,
        "test", "name", "mann-whitney-u, two-sided", "u_new", s->test.u_new, "z", s->test.z, "p", s->test.p,
        "method", s->test.exact ? "exact" : "normal approximation, tie and continuity corrected",
        "verdict", bb_verdict_name(s->verdict));
}

static json_t *result_json(const bb_key_result *k)
{
    json_t *o = samples_json(&k->first, k->unit);
    json_object_set_new(o, "key", json_string(k->key));
    json_object_set_new(o, "format", k->format ? json_string(k->format) : json_null());
    json_object_set_new(o, "impl", k->impl ? json_string(k->impl) : json_null());
    json_object_set_new(o, "confirm", k->confirmed_run ? samples_json(&k->confirm, k->unit) : json_null());
    json_object_set_new(o, "instructions_per_token", k->have_instructions
        ? json_pack("{s:s, s:f}", "status", "measured", "change", k->instructions_change)
        : json_pack("{s:s, s:s}", "status", "unavailable", "reason",
                    k->instructions_note ? k->instructions_note : "not recorded"));
    json_object_set_new(o, "verdict", json_string(bb_verdict_name(k->verdict)));
    return o;
}

static json_t *comparison_json(const compare_args *a, const bb_comparison *c, int status)
{
    json_t *results = json_array(), *missing = json_array();
    for (size_t i = 0; i < c->n_results; i++)
        json_array_append_new(results, result_json(&c->results[i]));
    for (size_t i = 0; i < c->n_missing; i++)
        json_array_append_new(missing, json_pack("{s:s, s:s}", "key", c->missing[i].key, "why", c->missing[i].why));
    return json_pack("{s:s, s:s, s:s, s:o, s:f, s:f, s:f, s:f, s:I, s:I, s:o, s:s, s:b, "
                     "s:{s:I, s:I, s:I, s:I}, s:o, s:o, s:i}",
        "schema", "bitbench.compare/1", "base", a->base, "new", a->new_,
        "confirm", a->confirm ? json_string(a->confirm) : json_null(), "alpha", a->opts.alpha,
        "threshold", a->opts.threshold, "floor_quantile", a->opts.floor_quantile, "ci_level", 1 - a->opts.alpha, "resamples", (json_int_t)a->opts.resamples,
        "seed", (json_int_t)a->opts.seed,
        "normalize", a->opts.normalize ? json_string(a->opts.normalize) : json_null(),
        "machine", c->machine_note, "machines_differ", c->machines_differ,
        "summary", "regressions", (json_int_t)c->regressions, "improvements", (json_int_t)c->improvements,
        "unconfirmed", (json_int_t)c->unconfirmed, "compared", (json_int_t)c->n_results,
        "results", results, "not_compared", missing, "exit_status", status);
}

/* Bencher Metric Format: {benchmark: {measure: {value, lower_value, upper_value}}}, NEW's
 * median with its p10 and p90.  "latency" is Bencher's built-in measure, in ns. */
static json_t *bencher_json(const compare_args *a, const bb_comparison *c)
{
    char measure[96];
    json_t *o = json_object();
    for (size_t i = 0; i < c->n_results; i++) {
        const bb_key_result *k = &c->results[i];
        const bb_sample_compare *s = &k->first;
        if (!strcmp(k->unit, "ns"))
            snprintf(measure, sizeof measure, "latency");
        else
            snprintf(measure, sizeof measure, "latency-ratio-to-%s", a->opts.normalize);
        json_object_set_new(o, k->key, json_pack("{s:{s:f, s:f, s:f}}", measure, "value", s->new_median,
                                                 "lower_value", s->new_p10, "upper_value", s->new_p90));
    }
    return o;
}

/* github-action-benchmark, tool customSmallerIsBetter: [{name, unit, value, range, extra}]. */
static json_t *gab_json(const compare_args *a, const bb_comparison *c)
{
    json_t *arr = json_array();
    char unit[96], range[64], extra[256];
    for (size_t i = 0; i < c->n_results; i++) {
        const bb_key_result *k = &c->results[i];
        const bb_sample_compare *s = &k->first;
        if (!strcmp(k->unit, "ns"))
            snprintf(unit, sizeof unit, "ns");
        else
            snprintf(unit, sizeof unit, "x %s", a->opts.normalize);
        snprintf(range, sizeof range, "± %.4g", (s->new_p90 - s->new_p10) / 2);
        snprintf(extra, sizeof extra, "median of %zu samples (range: half the p10-p90 spread); vs base %+.1f%% "
                 "[%+.1f%%, %+.1f%%], p=%.2g: %s", s->n_new, 100 * s->change, 100 * s->ci_low, 100 * s->ci_high,
                 s->test.p, bb_verdict_name(k->verdict));
        json_array_append_new(arr, json_pack("{s:s, s:s, s:f, s:s, s:s}", "name", k->key, "unit", unit,
                                             "value", s->new_median, "range", range, "extra", extra));
    }
    return arr;
}

/* ------------------------------------------------------------------ main */

static void summary_line(const bb_comparison *c, int status)
{
    fprintf(stderr, "compare: %zu key(s) compared: %zu regression(s)", c->n_results, c->regressions);
    for (size_t i = 0, shown = 0; i < c->n_results && shown < 8; i++)
        if (c->results[i].verdict == BB_REGRESSION)
            fprintf(stderr, "%s%s", shown++ ? ", " : " (", c->results[i].key);
    fprintf(stderr, "%s, %zu improvement(s), %zu unconfirmed, %zu not compared; exit %d\n",
            c->regressions ? ")" : "", c->improvements, c->unconfirmed, c->n_missing, status);
}

static int write_output(const compare_args *a, const bb_comparison *c, int status)
{
    FILE *to = stdout;
    if (a->out && !(to = fopen(a->out, "w")))
        return bb_cli_error(CMD, "--out '%s': cannot open for writing", a->out);
    if (a->format == OUT_MARKDOWN) {
        write_markdown(to, a, c);
    } else {
        json_t *j = a->format == OUT_JSON ? comparison_json(a, c, status)
                  : a->format == OUT_BENCHER ? bencher_json(a, c) : gab_json(a, c);
        json_dumpf(j, to, JSON_INDENT(1));
        fputc('\n', to);
        json_decref(j);
    }
    if (to != stdout)
        fclose(to);
    summary_line(c, status);
    return 0;
}

static int print_machine(int what)
{
    bb_machine m;
    bb_machine_describe(&m);
    if (what == 1) {
        printf("%s\n", m.id);
        return 0;
    }
    json_t *line = json_pack("{s:s, s:i, s:o}", "kind", "machine", "schema_version", 1, "machine", bb_machine_json(&m));
    json_dumpf(line, stdout, JSON_COMPACT);
    putchar('\n');
    json_decref(line);
    return 0;
}

int bb_cmd_compare(int argc, char **argv)
{
    compare_args a;
    int rc = parse(argc, argv, &a);
    if (rc)
        return rc;
    if (a.machine_query)
        return print_machine(a.machine_query);
    bb_rowset base = {0}, new_ = {0}, confirm = {0};
    bb_comparison c = {0};
    char err[1024];
    if ((rc = load(a.base, "BASE", &a, &base)) || (rc = load(a.new_, "NEW", &a, &new_)) ||
        (a.confirm && (rc = load(a.confirm, "--confirm", &a, &confirm))))
        goto done;
    if (bb_compare_rowsets(&base, &new_, a.confirm ? &confirm : NULL, &a.opts, &c, err, sizeof err) != 0) {
        rc = bb_cli_error(CMD, "%s", err);
        goto done;
    }
    int status = c.regressions ? BB_EXIT_FINDING : BB_EXIT_OK;
    rc = write_output(&a, &c, status);
    if (!rc)
        rc = status;
done:
    bb_comparison_free(&c);
    bb_rowset_free(&base);
    bb_rowset_free(&new_);
    bb_rowset_free(&confirm);
    return rc;
}
