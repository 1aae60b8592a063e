/* harness/report/compare_table.c - what `bitbench compare` prints: the markdown table, its JSON,
 * and the Bencher and github-action-benchmark formats of a comparison (compare_table.h). */
#include "compare_table.h"

#include "text.h"
#include "../results/value.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

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

void bb_compare_markdown(FILE *to, const bb_compare_files *f, const bb_compare_opts *o, const bb_comparison *c)
{
    size_t unchanged = c->n_results - c->regressions - c->improvements - c->unconfirmed;
    fprintf(to, "### bitbench compare: %zu regression(s), %zu improvement(s), %zu unchanged", c->regressions,
            c->improvements, unchanged);
    if (f->confirm)
        fprintf(to, ", %zu not confirmed by the rerun", c->unconfirmed);
    fprintf(to, "\n\nBASE `%s` vs NEW `%s`%s%s%s. %s.\n\n", f->base, f->new_, f->confirm ? ", confirmation rerun `" : "",
            f->confirm ? f->confirm : "", f->confirm ? "`" : "", c->machine_note);
    if (o->floor_quantile > 0)
        fprintf(to, "Verdict: **regression** when the floor (the %g-quantile: the calls nothing interrupted; a busy "
                    "neighbour moves the median, not the floor; with several runs of a key, measured from the "
                    "slowest run's floor) is slower by >= %.1f%%, the median's CI reaches +%.1f%% too",
                o->floor_quantile, 100 * o->threshold, 100 * o->threshold);
    else
        fprintf(to, "Verdict: **regression** when the median is slower by >= %.1f%%", 100 * o->threshold);
    fprintf(to, ", and the difference is significant (Mann-Whitney U, two-sided p < %g)%s. The CI of the median "
                "change is a %g%% percentile bootstrap over the raw samples (%zu resamples).",
            o->alpha, f->confirm ? "; with a rerun, only when the rerun shows it too" : "",
            100 * (1 - o->alpha), o->resamples);
    if (o->normalize)
        fprintf(to, " Values are ratios to `%s` measured in the same run (per round when interleaved); its "
                    "own row is in ns.", o->normalize);
    fputs(" Medians measured (monotonic clock); instructions retired per token measured by counters where "
          "available.\n\n", to);
    fprintf(to, "| key | BASE median | NEW median | change | %g%% CI | floor change | p |%s instructions | verdict |\n",
            100 * (1 - o->alpha), f->confirm ? " rerun change |" : "");
    fprintf(to, "|---|---:|---:|---:|---|---:|---:|%s---:|---|\n", f->confirm ? "---:|" : "");
    for (size_t i = 0; i < c->n_results; i++)
        md_row(to, &c->results[i], f->confirm != NULL);
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
        : bb_value_unavailable(k->instructions_note ? k->instructions_note : "not recorded"));
    json_object_set_new(o, "verdict", json_string(bb_verdict_name(k->verdict)));
    return o;
}

json_t *bb_compare_json(const bb_compare_files *f, const bb_compare_opts *o, const bb_comparison *c, int status)
{
    json_t *results = json_array(), *missing = json_array();
    for (size_t i = 0; i < c->n_results; i++)
        json_array_append_new(results, result_json(&c->results[i]));
    for (size_t i = 0; i < c->n_missing; i++)
        json_array_append_new(missing, json_pack("{s:s, s:s}", "key", c->missing[i].key, "why", c->missing[i].why));
    return json_pack("{s:s, s:s, s:s, s:o, s:f, s:f, s:f, s:f, s:I, s:I, s:o, s:s, s:b, "
                     "s:{s:I, s:I, s:I, s:I}, s:o, s:o, s:i}",
        "schema", "bitbench.compare/1", "base", f->base, "new", f->new_,
        "confirm", f->confirm ? json_string(f->confirm) : json_null(), "alpha", o->alpha,
        "threshold", o->threshold, "floor_quantile", o->floor_quantile, "ci_level", 1 - o->alpha, "resamples", (json_int_t)o->resamples,
        "seed", (json_int_t)o->seed,
        "normalize", o->normalize ? json_string(o->normalize) : json_null(),
        "machine", c->machine_note, "machines_differ", c->machines_differ,
        "summary", "regressions", (json_int_t)c->regressions, "improvements", (json_int_t)c->improvements,
        "unconfirmed", (json_int_t)c->unconfirmed, "compared", (json_int_t)c->n_results,
        "results", results, "not_compared", missing, "exit_status", status);
}

/* Bencher Metric Format: {benchmark: {measure: {value, lower_value, upper_value}}}, NEW's
 * median with its p10 and p90.  "latency" is Bencher's built-in measure, in ns. */
json_t *bb_compare_bencher_json(const bb_compare_opts *o, const bb_comparison *c)
{
    char measure[96];
    json_t *out = json_object();
    for (size_t i = 0; i < c->n_results; i++) {
        const bb_key_result *k = &c->results[i];
        const bb_sample_compare *s = &k->first;
        if (!strcmp(k->unit, "ns"))
            snprintf(measure, sizeof measure, "latency");
        else
            snprintf(measure, sizeof measure, "latency-ratio-to-%s", o->normalize);
        json_object_set_new(out, k->key, json_pack("{s:{s:f, s:f, s:f}}", measure, "value", s->new_median,
                                                   "lower_value", s->new_p10, "upper_value", s->new_p90));
    }
    return out;
}

/* github-action-benchmark, tool customSmallerIsBetter: [{name, unit, value, range, extra}]. */
json_t *bb_compare_gab_json(const bb_compare_opts *o, const bb_comparison *c)
{
    json_t *arr = json_array();
    char unit[96], range[64], extra[256];
    for (size_t i = 0; i < c->n_results; i++) {
        const bb_key_result *k = &c->results[i];
        const bb_sample_compare *s = &k->first;
        if (!strcmp(k->unit, "ns"))
            snprintf(unit, sizeof unit, "ns");
        else
            snprintf(unit, sizeof unit, "x %s", o->normalize);
        snprintf(range, sizeof range, "± %.4g", (s->new_p90 - s->new_p10) / 2);
        snprintf(extra, sizeof extra, "median of %zu samples (range: half the p10-p90 spread); vs base %+.1f%% "
                 "[%+.1f%%, %+.1f%%], p=%.2g: %s", s->n_new, 100 * s->change, 100 * s->ci_low, 100 * s->ci_high,
                 s->test.p, bb_verdict_name(k->verdict));
        json_array_append_new(arr, json_pack("{s:s, s:s, s:f, s:s, s:s}", "name", k->key, "unit", unit,
                                             "value", s->new_median, "range", range, "extra", extra));
    }
    return arr;
}

void bb_compare_summary_line(FILE *to, const bb_comparison *c, int status)
{
    fprintf(to, "compare: %zu key(s) compared: %zu regression(s)", c->n_results, c->regressions);
    for (size_t i = 0, shown = 0; i < c->n_results && shown < 8; i++)
        if (c->results[i].verdict == BB_REGRESSION)
            fprintf(to, "%s%s", shown++ ? ", " : " (", c->results[i].key);
    fprintf(to, "%s, %zu improvement(s), %zu unconfirmed, %zu not compared; exit %d\n",
            c->regressions ? ")" : "", c->improvements, c->unconfirmed, c->n_missing, status);
}
