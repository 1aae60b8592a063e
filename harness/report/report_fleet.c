/*
 * harness/report/report_fleet.c - the fleet part of `bitbench report` (see report_fleet.h): per model,
 * each format's speed-up vs fp16 and share of the bandwidth ceiling on every machine side by
 * side, and the data of plots/fleet.gp.
 */
#include "report_fleet.h"

#include "../base/fmt.h"
#include "text.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#define EXTRAP_MARK " †"

/* A value with its provenance: na != NULL means unavailable (na says why). */
typedef struct fleet_val {
    double v;
    const char *na;
    bool extrap;
} fleet_val;

static const bb_report_row *pick1(const bb_report *r, int m, const char *model, const char *format)
{
    return bb_report_pick(r, m, model, format, 0, 1, false);
}

static bool ok(const bb_report_row *w)
{
    return w && !strcmp(w->status, "ok") && isfinite(w->latency_ms) && w->latency_ms > 0;
}

/* fp16's latency over the format's, both measured on machine m. */
static fleet_val speedup(const bb_report *r, int m, const char *model, const char *format)
{
    const bb_report_row *w = pick1(r, m, model, format), *base = pick1(r, m, model, "fp16");
    fleet_val x = {NAN, NULL, false};
    if (!w)
        x.na = "not run";
    else if (!ok(w))
        x.na = strcmp(w->status, "ok") ? w->status : "not recorded";
    else if (!base)
        x.na = "fp16 not run";
    else if (!ok(base))
        x.na = "fp16 not measured";
    if (x.na)
        return x;
    x.v = base->latency_ms / w->latency_ms;
    x.extrap = w->extrapolated || base->extrapolated;
    return x;
}

/* The weight stream's GB/s over the ceiling measured on the same machine, in %. */
static fleet_val pct_ceiling(const bb_report *r, int m, const char *model, const char *format)
{
    const bb_report_row *w = pick1(r, m, model, format);
    fleet_val x = {NAN, NULL, false};
    if (!w)
        x.na = "not run";
    else if (strcmp(w->status, "ok"))
        x.na = w->status;
    else if (!isfinite(w->gbps))
        x.na = "not recorded";
    else if (!isfinite(w->ceiling_gbps) || w->ceiling_gbps <= 0)
        x.na = "no bandwidth ceiling";
    if (x.na)
        return x;
    x.v = 100 * w->gbps / w->ceiling_gbps;
    x.extrap = w->extrapolated;
    return x;
}

/* Significant digits without an exponent: 1.23, 12.3, 123. */
static const char *sig3(char *buf, size_t len, double v)
{
    double a = fabs(v);
    int decimals = a == 0 ? 0 : 2 - (int)floor(log10(a));
    bb_fmt(buf, len, "%.*f", decimals < 0 ? 0 : decimals > 6 ? 6 : decimals, v);
    return buf;
}

static const char *cell(char *buf, size_t len, fleet_val x, const char *suffix)
{
    char num[64];
    if (x.na)
        bb_fmt(buf, len, "unavailable: %s", x.na);
    else
        bb_fmt(buf, len, "%s%s%s", sig3(num, sizeof num, x.v), suffix, x.extrap ? EXTRAP_MARK : "");
    return buf;
}

/* Machines with a batch-1 row of the model (fp16_measured: a measured fp16 row). */
static int machines_with(const bb_report *r, const char *model, bool fp16_measured)
{
    int n = 0;
    for (size_t m = 0; m < r->n_machines; m++) {
        if (fp16_measured ? ok(pick1(r, (int)m, model, "fp16")) : bb_report_has(r, (int)m, model, NULL))
            n++;
    }
    return n;
}

static bool has_batch1(const bb_report *r, int m, const char *model)
{
    for (size_t i = 0; i < r->n_rows; i++) {
        const bb_report_row *w = &r->rows[i];
        if (w->machine == m && !w->budget_batch && w->batch == 1 && !strcmp(w->model, model))
            return true;
    }
    return false;
}

static int machines_batch1(const bb_report *r, const char *model)
{
    int n = 0;
    for (size_t m = 0; m < r->n_machines; m++)
        n += has_batch1(r, (int)m, model);
    return n;
}

const char *bb_report_fleet_model(const bb_report *r)
{
    if (r->n_machines < 2)
        return NULL;
    for (size_t j = r->n_models; j-- > 0;)
        if (machines_with(r, r->models[j].name, true) >= 2)
            return r->models[j].name;
    for (size_t j = r->n_models; j-- > 0;)
        if (machines_batch1(r, r->models[j].name) >= 2)
            return r->models[j].name;
    return NULL;
}

/* ------------------------------------------------------------------ markdown */

static void machines_table(const bb_report *r, FILE *out)
{
    fprintf(out, "| machine | CPU | host | cores | threads used | bandwidth ceiling GB/s (measured) |\n"
                 "|---|---|---|---|---|---|\n");
    for (size_t m = 0; m < r->n_machines; m++) {
        const bb_report_machine *M = &r->machines[m];
        char num[64];
        char runs[32] = "";
        if (M->runs > 1)
            bb_fmt(runs, sizeof runs, " (first of %d runs)", M->runs);
        fprintf(out, "| %s | %s | %s%s | %d | %d | %s |\n", M->label, M->cpu_model, M->hostname, runs, M->cores,
                M->threads,
                isfinite(M->ceiling_gbps) ? sig3(num, sizeof num, M->ceiling_gbps) : "unavailable: not in the rows");
    }
    fprintf(out, "\n");
}

/* The machine with the largest measured speed-up of the format, if two or more have one; the
 * machines within 0.5 % of it share the place (a difference below what the table shows). */
static void gains_most(const bb_report *r, const char *model, const char *f, char *buf, size_t len)
{
    int n = 0;
    fleet_val best = {0};
    for (size_t m = 0; m < r->n_machines; m++) {
        fleet_val x = speedup(r, (int)m, model, f);
        if (!x.na && (!n++ || x.v > best.v))
            best = x;
    }
    if (n < 2) {
        bb_fmt(buf, len, "unavailable: measured on %s", n ? "one machine" : "no machine");
        return;
    }
    size_t used = 0;
    int tied = 0;
    buf[0] = 0;
    for (size_t m = 0; m < r->n_machines; m++) {
        fleet_val x = speedup(r, (int)m, model, f);
        if (x.na || x.v < best.v * 0.995)
            continue;
        bb_fmt(buf + used, len - used, "%s%s", tied++ ? " = " : "", r->machines[m].label);
        used = strlen(buf);
    }
    char num[64];
    bb_fmt(buf + used, len - used, " (%sx%s%s)", sig3(num, sizeof num, best.v), best.extrap ? EXTRAP_MARK : "",
           tied > 1 ? ", within 0.5 %" : "");
}

static void model_table(const bb_report *r, const char *model, FILE *out)
{
    fprintf(out, "### %s, batch 1\n\n| format |", model);
    for (size_t m = 0; m < r->n_machines; m++)
        if (has_batch1(r, (int)m, model))
            fprintf(out, " %s speed-up vs fp16 | %s %% of its ceiling |", r->machines[m].label,
                    r->machines[m].label);
    fprintf(out, " gains most |\n|---|");
    for (size_t m = 0; m < r->n_machines; m++)
        if (has_batch1(r, (int)m, model))
            fprintf(out, "---|---|");
    fprintf(out, "---|\n");
    for (size_t i = 0; i < r->n_formats; i++) {
        const char *f = r->formats[i];
        bool any = false;
        for (size_t m = 0; m < r->n_machines && !any; m++)
            any = pick1(r, (int)m, model, f) != NULL;
        if (!any)
            continue;
        bool base = !strcmp(f, "fp16");
        fprintf(out, "| %s |", f);
        for (size_t m = 0; m < r->n_machines; m++) {
            if (!has_batch1(r, (int)m, model))
                continue;
            char a[160], b[160];
            fleet_val s = speedup(r, (int)m, model, f);
            if (base && !s.na)
                bb_fmt(a, sizeof a, "1x (baseline)");
            else
                cell(a, sizeof a, s, "x");
            fprintf(out, " %s | %s |", a, cell(b, sizeof b, pct_ceiling(r, (int)m, model, f), "%"));
        }
        char g[160];
        if (base)
            bb_fmt(g, sizeof g, "—");
        else
            gains_most(r, model, f, g, sizeof g);
        fprintf(out, " %s |\n", g);
    }
    fprintf(out, "\n");
}

void bb_report_fleet_markdown(const bb_report *r, FILE *out)
{
    if (r->n_machines < 2)
        return;
    fprintf(out, "## Across machines: which CPU gains most from each format\n\n"
                 "Every machine against itself, at its table thread count: the **speed-up vs fp16** "
                 "(its fp16 latency over the format's, both measured at batch 1) and the **%% of its "
                 "ceiling** (weight bytes streamed per second, derived from the measured time, over the "
                 "read bandwidth measured on that machine). A format near its ceiling is bandwidth "
                 "bound there and gains about its byte reduction; one far below it is bound by "
                 "compute on that CPU. " "†: extrapolated (one layer timed).\n\n");
    machines_table(r, out);
    bool any = false;
    for (size_t j = 0; j < r->n_models; j++)
        if (machines_batch1(r, r->models[j].name) >= 2) {
            model_table(r, r->models[j].name, out);
            any = true;
        }
    if (!any)
        fprintf(out, "Unavailable: no model has batch-1 rows on two machines, so no format can be "
                     "compared across them.\n\n");
}

/* ------------------------------------------------------------------ figure data */

static void num(FILE *f, double v)
{
    if (isfinite(v))
        fprintf(f, " %.6g", v);
    else
        fprintf(f, " ?");
}

static int write_file(const char *path, FILE *f, char *why, size_t len)
{
    if (fclose(f) != 0) {
        bb_fmt(why, len, "cannot write %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

int bb_report_fleet_data(const bb_report *r, const char *dir, char *why, size_t len)
{
    if (r->n_machines < 2)
        return 0;
    const char *model = bb_report_fleet_model(r);
    char dat_path[4096], vars_path[4096];
    bb_fmt(dat_path, sizeof dat_path, "%s/fleet.dat", dir);
    bb_fmt(vars_path, sizeof vars_path, "%s/fleetvars.gp", dir);
    FILE *dat = fopen(dat_path, "w");
    if (!dat) {
        bb_fmt(why, len, "cannot write %s: %s", dat_path, strerror(errno));
        return -1;
    }
    FILE *vars = fopen(vars_path, "w");
    if (!vars) {
        bb_fmt(why, len, "cannot write %s: %s", vars_path, strerror(errno));
        fclose(dat);
        return -1;
    }
    /* Block m: one line per format (every block has every format, "?" where unavailable). */
    for (size_t m = 0; m < r->n_machines; m++) {
        fprintf(dat, "%s# block %zu: machine %s, model %s, batch 1\n"
                     "# index format speedup_measured speedup_extrapolated pct_ceiling_measured "
                     "pct_ceiling_extrapolated\n",
                m ? "\n\n" : "", m, r->machines[m].label, model ? model : "(none)");
        for (size_t i = 0; i < r->n_formats; i++) {
            fleet_val s = {NAN, "no model", false}, p = s;
            if (model) {
                s = speedup(r, (int)m, model, r->formats[i]);
                p = pct_ceiling(r, (int)m, model, r->formats[i]);
            }
            double sv = s.na ? NAN : s.v, pv = p.na ? NAN : p.v;
            fprintf(dat, "%zu %s", i + 1, r->formats[i]);
            num(dat, s.extrap ? NAN : sv);
            num(dat, s.extrap ? sv : NAN);
            num(dat, p.extrap ? NAN : pv);
            num(dat, p.extrap ? pv : NAN);
            fprintf(dat, "\n");
        }
    }
    fprintf(vars, "# written by bitbench report for plots/fleet.gp\nfleet_model = ");
    bb_gp_string(vars, model ? model : "");
    fprintf(vars, "\nfleet_have_model = %d\nfleet_format_count = %zu\nfleet_xtics = '(", model != NULL,
            r->n_formats);
    for (size_t i = 0; i < r->n_formats; i++)
        fprintf(vars, "%s\"%s\" %zu", i ? ", " : "", r->formats[i], i + 1);
    fprintf(vars, ")'\nfleet_machine_count = %zu\narray fleet_machines[%zu]\n", r->n_machines, r->n_machines);
    for (size_t m = 0; m < r->n_machines; m++) {
        const bb_report_machine *M = &r->machines[m];
        char title[512];
        bb_fmt(title, sizeof title, "%s: %s (%s, %d thread%s)", M->label, M->cpu_model, M->hostname, M->threads,
               M->threads == 1 ? "" : "s");
        fprintf(vars, "fleet_machines[%zu] = ", m + 1);
        bb_gp_string(vars, title);
        fprintf(vars, "\n");
    }
    int rc = write_file(dat_path, dat, why, len);
    return write_file(vars_path, vars, why, len) || rc ? -1 : 0;
}
