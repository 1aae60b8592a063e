/*
 * harness/report/report_md.c - REPORT.md: the paper's Table 1, Figures 2 and 3 and Table 3 as
 * tables, our figures beside the paper's, with every number labelled (see LEGEND).
 */
#include "report.h"
#include "report_fleet.h"

#include "../base/fmt.h"
#include "../results/budget.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

#define EXTRAP_MARK " †"
#define NOT_IN_PAPER "—"

static const char LEGEND[] =
    "How to read the numbers:\n"
    "- **measured**: the median wall-clock time of repeated decode steps on the machine named, "
    "with cold weights (every sample, the spread and the warnings are in the JSONL); tokens/s, "
    "GB/s and GOP/s are derived from it.\n"
    "- **†** (extrapolated): the model did not fit, so one layer (and the LM head) was timed "
    "with cold weights and multiplied by the layer count. A ratio carries † when either side "
    "does.\n"
    "- **modeled**: computed from the model shape and the format, not measured: weight memory "
    "(bits per weight incl. scales x parameters, + fp16 embedding and LM head), the KV cache and "
    "the budget batch, and arithmetic energy (operation counts x energy per operation at 45 nm "
    "and 7 nm, Horowitz ISSCC 2014: the paper's method).\n"
    "- **unavailable: why**: not obtained (`not run`: no such row; otherwise the row's status); "
    "the reasons are listed in the summary.\n"
    "- **paper**: the BitNet b1.58 paper's GPU figures (with their sources in the reference file), "
    "set beside ours, never mixed in; " NOT_IN_PAPER " where the paper gives no figure. "
    "fp16 rows are compared with the paper's LLaMA, ternary rows with BitNet b1.58.\n";

static const char CAVEATS[] =
    "- **CPU, not GPU.** The paper's figures come from GPUs (FasterTransformer with a 2-bit "
    "Ladder kernel; Table 3 on two A100 80GB). Compare ratios, not absolute times.\n"
    "- **End to end, without sampling.** A decode step here is the whole transformer step (RMSNorm, "
    "the 7 projections with activation quantization, RoPE, the fp16 KV cache at the row's context, "
    "attention, SiLU gating, residuals, the final norm and the fp16 LM head); token sampling and the "
    "embedding lookup are not run. The matmul-only view (the paper's kernels) is the linear layers' "
    "share of the same samples. Rows of schema 1 (older bitbench) timed the projections alone and "
    "count as matmul-only.\n"
    "- **Speed-ups** come from samples taken side by side: a model's formats alternate sample by "
    "sample, and the speed-up is the median of the paired ratios with a 95% bootstrap interval "
    "(older rows: the ratio of medians, no interval). Where the sweep ran in several passes (`make run`: "
    "fresh weight copies, minutes apart, one `--run-group`), a cell reads \"4.5x (3 runs: 4.3-4.8)\": the "
    "median over the passes and their range, since between processes the speed-ups move more than within "
    "one.\n"
    "- **Memory.** Ours is the modeled weight bytes (what the format stores); the paper's is the "
    "GPU memory of the whole run, so its reductions are smaller at small sizes.\n"
    "- **Energy.** Modeled energy is arithmetic only (the paper's Figure 3 method); measured "
    "energy (RAPL) is the package and DRAM while the steps run, net of the idle baseline.\n"
    "- **LM head.** It stays fp16 in every format (as in BitNet b1.58), which caps the speed-up "
    "and energy ratios of the small models.\n";

/* ------------------------------------------------------------------ numbers */

/* A value with its provenance: na != NULL means unavailable (na says why). */
typedef struct val {
    double v;
    const char *na;
    bool extrap;
} val;

typedef struct cellbuf {
    char s[160];
} cellbuf;

/* Significant digits without an exponent: 1.23, 12.3, 123, 12345. */
static const char *sig3(char *buf, size_t len, double v)
{
    if (!isfinite(v)) { /* e.g. a ratio to a zero: no digits to show (and no int to cast) */
        bb_fmt(buf, len, "n/a");
        return buf;
    }
    double a = fabs(v);
    int decimals = a == 0 ? 0 : 2 - (int)floor(log10(a));
    if (decimals < 0)
        decimals = 0;
    if (decimals > 6) {
        bb_fmt(buf, len, "%.2e", v);
        return buf;
    }
    bb_fmt(buf, len, "%.*f", decimals, v);
    return buf;
}

/* "unavailable: <status>" for a row that is missing or was not measured. */
static const char *row_na(const bb_report_row *w)
{
    if (!w)
        return "not run";
    return strcmp(w->status, "ok") ? w->status : NULL;
}

/* A measured number of row w (at offset off in the row); extrapolated rows are marked. */
static val measured(const bb_report_row *w, size_t off)
{
    val x = {NAN, row_na(w), false};
    if (x.na)
        return x;
    x.v = *(const double *)((const char *)w + off);
    x.extrap = w->extrapolated;
    if (!isfinite(x.v))
        x.na = "not recorded";
    return x;
}
#define MEASURED(w, field) measured((w), offsetof(bb_report_row, field))

/* A modeled number: there whenever the row is, measured or not. */
static val modeled(const bb_report_row *w, double v)
{
    val x = {v, w ? NULL : "not run", false};
    if (!x.na && !isfinite(v))
        x.na = "not recorded";
    return x;
}

/* A ratio against fp16: fp16 / x when fp16_over_x (speed-up, reduction), else x / fp16
 * (throughput, batch).  Unavailable when either side is: x's own reason first. */
static val vs_fp16(val fp16, val x, bool fp16_over_x)
{
    val q = {NAN, NULL, fp16.extrap || x.extrap};
    if (x.na || fp16.na) {
        q.na = x.na ? x.na : "fp16 not measured";
        return q;
    }
    q.v = fp16_over_x ? fp16.v / x.v : x.v / fp16.v;
    if (!isfinite(q.v))
        q.na = "division by zero";
    return q;
}

/* The cell text: the number scaled (with suffix, e.g. "x") or "unavailable: why". */
static const char *show(cellbuf *c, val x, double scale, const char *suffix)
{
    if (x.na) {
        bb_fmt(c->s, sizeof c->s, "unavailable: %s", x.na);
        return c->s;
    }
    char num[64];
    bb_fmt(c->s, sizeof c->s, "%s%s%s", sig3(num, sizeof num, x.v * scale), suffix,
           x.extrap ? EXTRAP_MARK : "");
    return c->s;
}

/* ------------------------------------------------------------------ lookups */

static const bb_report_row *pick1(const bb_report *r, int m, const char *model, const char *format)
{
    return bb_report_pick(r, m, model, format, 0, 1, false);
}

static const char *paper_family(const char *format)
{
    const char *fam = bb_report_family(format);
    return !strcmp(fam, "fp16") || !strcmp(fam, "ternary") ? fam : NULL;
}

/* "2.08 (LLaMA)" for fp16, "0.80 (2.60x)" for ternary with its ratio metric, else the dash. */
static const char *paper_cell(cellbuf *c, const bb_report *r, const char *model, const char *format,
                              const char *metric, const char *ratio_metric)
{
    const char *fam = paper_family(format);
    const bb_paper_ref *p = fam ? bb_report_paper(r, model, fam, metric) : NULL;
    const bb_paper_ref *q = fam && ratio_metric ? bb_report_paper(r, model, fam, ratio_metric) : NULL;
    if (!p && !q)
        bb_fmt(c->s, sizeof c->s, NOT_IN_PAPER);
    else if (p && q)
        bb_fmt(c->s, sizeof c->s, "%s (%sx)", p->text, q->text);
    else if (p)
        bb_fmt(c->s, sizeof c->s, "%s (%s)", p->text, p->system);
    else
        bb_fmt(c->s, sizeof c->s, "%sx", q->text);
    return c->s;
}

static bool machine_has_model(const bb_report *r, int m, const char *model)
{
    return bb_report_has(r, m, model, NULL);
}

static bool machine_has_format(const bb_report *r, int m, const char *format)
{
    return bb_report_has(r, m, NULL, format);
}

/* ------------------------------------------------------------------ per-model grids */

/* One value per (format, model) at batch 1. */
typedef val (*grid_fn)(const bb_report *r, int m, const char *model, const char *format);

static void grid_header(const bb_report *r, int m, FILE *out, const char *first)
{
    fprintf(out, "| %s |", first);
    for (size_t j = 0; j < r->n_models; j++)
        if (machine_has_model(r, m, r->models[j].name))
            fprintf(out, " %s |", r->models[j].name);
    fprintf(out, "\n|---|");
    for (size_t j = 0; j < r->n_models; j++)
        if (machine_has_model(r, m, r->models[j].name))
            fprintf(out, "---|");
    fprintf(out, "\n");
}

static void grid(const bb_report *r, int m, FILE *out, grid_fn fn, double scale, const char *suffix,
                 bool skip_fp16)
{
    grid_header(r, m, out, "format");
    for (size_t i = 0; i < r->n_formats; i++) {
        const char *f = r->formats[i];
        if (!machine_has_format(r, m, f) || (skip_fp16 && !strcmp(f, "fp16")))
            continue;
        fprintf(out, "| %s |", f);
        for (size_t j = 0; j < r->n_models; j++) {
            if (!machine_has_model(r, m, r->models[j].name))
                continue;
            cellbuf c;
            fprintf(out, " %s |", show(&c, fn(r, m, r->models[j].name, f), scale, suffix));
        }
        fprintf(out, "\n");
    }
}

/* The paper's row under a grid: its value per model, or the dash. */
static void paper_grid_row(const bb_report *r, int m, FILE *out, const char *label, const char *metric)
{
    bool any = false;
    for (size_t j = 0; j < r->n_models && !any; j++)
        any = bb_report_paper(r, r->models[j].name, "ternary", metric) != NULL;
    if (!any)
        return;
    fprintf(out, "| %s |", label);
    for (size_t j = 0; j < r->n_models; j++) {
        if (!machine_has_model(r, m, r->models[j].name))
            continue;
        const bb_paper_ref *p = bb_report_paper(r, r->models[j].name, "ternary", metric);
        if (p)
            fprintf(out, " %sx |", p->text);
        else
            fprintf(out, " " NOT_IN_PAPER " |");
    }
    fprintf(out, "\n");
}

static val g_latency(const bb_report *r, int m, const char *model, const char *f)
{
    return MEASURED(pick1(r, m, model, f), latency_ms);
}

static val g_speedup(const bb_report *r, int m, const char *model, const char *f)
{
    const bb_report_row *w = pick1(r, m, model, f);
    val x = MEASURED(w, speedup);
    if (!x.na)
        return x; /* paired, from samples taken side by side */
    return vs_fp16(g_latency(r, m, model, "fp16"), g_latency(r, m, model, f), true);
}

/* "2.31x [2.20, 2.45]": the paired speed-up and its interval, else the ratio of medians. */
static const char *speed_cell(cellbuf *c, const bb_report *r, int m, const bb_report_row *w, const char *model)
{
    if (w && !strcmp(w->status, "ok") && isfinite(w->speedup)) {
        char a[32], b[32], d[32];
        if (w->replicates > 1) /* the median over passes, with their range (report.c: pool_replicates) */
            bb_fmt(c->s, sizeof c->s, "%sx (%d runs: %s-%s)%s", sig3(a, sizeof a, w->speedup), w->replicates,
                   sig3(b, sizeof b, w->speedup_lo), sig3(d, sizeof d, w->speedup_hi),
                   w->extrapolated ? EXTRAP_MARK : "");
        else
            bb_fmt(c->s, sizeof c->s, "%sx [%s, %s]%s", sig3(a, sizeof a, w->speedup),
                   sig3(b, sizeof b, w->speedup_lo), sig3(d, sizeof d, w->speedup_hi),
                   w->extrapolated ? EXTRAP_MARK : "");
        return c->s;
    }
    return show(c, g_speedup(r, m, model, w ? w->format : "fp16"), 1, "x");
}

static val g_memory(const bb_report *r, int m, const char *model, const char *f)
{
    const bb_report_row *w = pick1(r, m, model, f);
    return modeled(w, w ? w->weight_bytes : NAN);
}

static val g_reduction(const bb_report *r, int m, const char *model, const char *f)
{
    return vs_fp16(g_memory(r, m, model, "fp16"), g_memory(r, m, model, f), true);
}

static val g_energy7(const bb_report *r, int m, const char *model, const char *f)
{
    const bb_report_row *w = pick1(r, m, model, f);
    return modeled(w, w ? w->model_j_per_token[1] : NAN);
}

static val g_energy45(const bb_report *r, int m, const char *model, const char *f)
{
    const bb_report_row *w = pick1(r, m, model, f);
    return modeled(w, w ? w->model_j_per_token[0] : NAN);
}

static val g_eratio7(const bb_report *r, int m, const char *model, const char *f)
{
    return vs_fp16(g_energy7(r, m, model, "fp16"), g_energy7(r, m, model, f), true);
}

static val g_eratio45(const bb_report *r, int m, const char *model, const char *f)
{
    return vs_fp16(g_energy45(r, m, model, "fp16"), g_energy45(r, m, model, f), true);
}

static val g_energy_measured(const bb_report *r, int m, const char *model, const char *f)
{
    const bb_report_row *w = pick1(r, m, model, f);
    val x = MEASURED(w, energy_j_per_token);
    if (!x.na && !w->energy_measured)
        x.na = "no RAPL";
    return x;
}

static val g_gbps(const bb_report *r, int m, const char *model, const char *f)
{
    return MEASURED(pick1(r, m, model, f), gbps);
}

static val g_gops(const bb_report *r, int m, const char *model, const char *f)
{
    return MEASURED(pick1(r, m, model, f), gops);
}

static val g_pct_ceiling(const bb_report *r, int m, const char *model, const char *f)
{
    const bb_report_row *w = pick1(r, m, model, f);
    val x = MEASURED(w, gbps);
    if (!x.na && !isfinite(w->ceiling_gbps))
        x.na = "no bandwidth ceiling";
    if (!x.na)
        x.v = 100 * x.v / w->ceiling_gbps;
    return x;
}

/* ------------------------------------------------------------------ summary */

static void count_rows(const bb_report *r, int m, FILE *out)
{
    size_t total = 0, ok = 0, extrap = 0, other_threads = 0;
    for (size_t i = 0; i < r->n_rows; i++) {
        const bb_report_row *w = &r->rows[i];
        if (w->machine != m)
            continue;
        total++;
        if (!strcmp(w->status, "ok")) {
            ok++;
            extrap += w->extrapolated;
        }
        other_threads += w->threads != r->machines[m].threads;
    }
    fprintf(out, "- Rows: %zu, %zu measured (%zu full, %zu extrapolated), %zu not measured. Tables use "
                 "%d thread%s (the most with a measured row)",
            total, ok, ok - extrap, extrap, total - ok, r->machines[m].threads,
            r->machines[m].threads == 1 ? "" : "s");
    if (other_threads)
        fprintf(out, "; %zu row%s at other thread counts %s in the JSONL only", other_threads,
                other_threads == 1 ? "" : "s", other_threads == 1 ? "is" : "are");
    fprintf(out, ".\n");
}

/* Distinct reasons for missing measured energy among measured rows, with their counts. */
static void energy_summary(const bb_report *r, int m, FILE *out)
{
    size_t measured_rows = 0, ok_rows = 0;
    for (size_t i = 0; i < r->n_rows; i++) {
        const bb_report_row *w = &r->rows[i];
        if (w->machine == m && !strcmp(w->status, "ok")) {
            ok_rows++;
            measured_rows += w->energy_measured;
        }
    }
    if (measured_rows)
        fprintf(out, "- Measured energy (RAPL, net of idle): %zu of %zu measured rows.\n", measured_rows,
                ok_rows);
    for (size_t i = 0; i < r->n_rows; i++) {
        const bb_report_row *w = &r->rows[i];
        if (w->machine != m || strcmp(w->status, "ok") || w->energy_measured)
            continue;
        bool seen = false;
        size_t count = 0;
        for (size_t j = 0; j < r->n_rows; j++) {
            const bb_report_row *x = &r->rows[j];
            if (x->machine != m || strcmp(x->status, "ok") || x->energy_measured ||
                strcmp(x->energy_reason, w->energy_reason))
                continue;
            seen |= j < i;
            count++;
        }
        if (!seen)
            fprintf(out, "- Unavailable: measured energy in %zu of %zu measured rows: %s\n", count, ok_rows,
                    w->energy_reason);
    }
}

static void not_measured_list(const bb_report *r, int m, FILE *out)
{
    bool any = false;
    for (size_t i = 0; i < r->n_rows; i++) {
        const bb_report_row *w = &r->rows[i];
        if (w->machine != m || !strcmp(w->status, "ok"))
            continue;
        if (!any)
            fprintf(out, "- Unavailable: rows not measured:\n");
        any = true;
        fprintf(out, "  - %s %s, %s %ld, %d thread%s: %s: %s\n", w->model, w->format,
                w->budget_batch ? "budget batch" : "batch", w->batch, w->threads, w->threads == 1 ? "" : "s",
                w->status, w->reason[0] ? w->reason : "no reason recorded");
    }
}

static void machine_summary(const bb_report *r, int m, FILE *out)
{
    const bb_report_machine *M = &r->machines[m];
    char mem[32];
    fprintf(out, "### %s: %s on %s\n\n", M->label, M->cpu_model, M->hostname);
    bb_fmt(mem, sizeof mem, "%.1f GiB", M->memory_bytes / 1073741824.0);
    fprintf(out, "- Machine: %s (%s family %s model %s), %d cores, %s, %s%s, governor %s, ISA cap %s, %s. "
                 "Machine id %s.\n",
            M->cpu_model, M->vendor, M->family, M->model, M->cores,
            isfinite(M->memory_bytes) ? mem : "memory unknown",
            M->virtualized ? (M->hypervisor[0] ? M->hypervisor : "a") : "not virtualized",
            M->virtualized ? " guest" : "",
            M->governor, M->isa_cap, M->os, M->id);
    fprintf(out, "- Build: git %s, %s, flags `%s`.\n", M->git, M->compiler, M->cflags);
    fprintf(out, "- Run%s: %s, %s to %s.\n", M->runs == 1 ? "" : "s", M->runs == 1 ? M->run_id : "several",
            M->first_time, M->last_time);
    count_rows(r, m, out);
    char num[64];
    fprintf(out, "- Measured: decode latency per token and tokens/s (wall clock, cold weights), peak RSS "
                 "(VmHWM), and the read-bandwidth ceiling: ");
    if (isfinite(M->ceiling_gbps))
        fprintf(out, "%s GB/s at %d threads.\n", sig3(num, sizeof num, M->ceiling_gbps), M->threads);
    else
        fprintf(out, "unavailable (not in the rows).\n");
    fprintf(out, "- Modeled: weight memory, KV cache and the budget batch, arithmetic energy per token "
                 "(45 nm and 7 nm).\n");
    energy_summary(r, m, out);
    not_measured_list(r, m, out);
    fprintf(out, "\n");
}

static void summary(const bb_report *r, FILE *out)
{
    fprintf(out, "## Summary\n\n");
    for (size_t m = 0; m < r->n_machines; m++)
        machine_summary(r, (int)m, out);
    fprintf(out, "### Caveats\n\n%s\n", CAVEATS);
    if (r->n_refs)
        fprintf(out, "Paper values: %s (%zu values).\n\n", r->ref_path, r->n_refs);
    else
        fprintf(out, "Paper values: unavailable: %s.\n\n", r->ref_error);
}

/* ------------------------------------------------------------------ Table 1 */

/* The paper's Table 1 sizes (from the reference file), else every model up to 3B. */
static bool in_table1(const bb_report *r, const char *model, double size_b)
{
    bool any = false;
    for (size_t i = 0; i < r->n_refs; i++) {
        if (strcmp(r->refs[i].experiment, "table1"))
            continue;
        any = true;
        if (!strcmp(r->refs[i].model, model))
            return true;
    }
    return !any && size_b <= 3.0;
}

static void table1_row(const bb_report *r, int m, FILE *out, const char *model, const char *f)
{
    const bb_report_row *w = pick1(r, m, model, f);
    cellbuf c[8];
    fprintf(out, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", model, f,
            show(&c[0], g_memory(r, m, model, f), 1e-9, ""), show(&c[1], g_reduction(r, m, model, f), 1, "x"),
            show(&c[2], g_latency(r, m, model, f), 1, ""), show(&c[3], g_speedup(r, m, model, f), 1, "x"),
            show(&c[4], MEASURED(w, peak_rss_bytes), 1e-9, ""),
            paper_cell(&c[5], r, model, f, "memory", "memory_reduction"),
            paper_cell(&c[6], r, model, f, "latency", "speedup"), w ? w->impl : "unavailable: not run");
}

static void table1(const bb_report *r, int m, FILE *out)
{
    fprintf(out, "### Table 1: memory and decode latency (batch 1)\n\n"
                 "The paper's Table 1 layout; the paper's cells give its value and, for BitNet b1.58, "
                 "the factor over LLaMA.\n\n");
    fprintf(out, "| model | format | memory GB (modeled) | reduction vs fp16 (modeled) | latency ms/token "
                 "(measured) | speed-up vs fp16 (measured) | peak RSS GB (measured) | paper memory GB | "
                 "paper latency ms/token | implementation |\n"
                 "|---|---|---|---|---|---|---|---|---|---|\n");
    bool any = false;
    for (size_t j = 0; j < r->n_models; j++) {
        const bb_report_model *mod = &r->models[j];
        if (!in_table1(r, mod->name, mod->size_b) || !machine_has_model(r, m, mod->name))
            continue;
        for (size_t i = 0; i < r->n_formats; i++)
            if (machine_has_format(r, m, r->formats[i])) {
                table1_row(r, m, out, mod->name, r->formats[i]);
                any = true;
            }
    }
    if (!any)
        fprintf(out, "| unavailable: no rows of the Table 1 sizes | | | | | | | | | |\n");
    fprintf(out, "\n");
}

/* ------------------------------------------------------------------ Figures 2 and 3 */

/* One grid of a figure: its heading, the cell, and the paper's row under it (if any). */
typedef struct grid_part {
    const char *heading;
    grid_fn fn;
    double scale;
    const char *suffix;
    bool ratio;
    const char *paper_label, *paper_metric; /* NULL: no paper row */
} grid_part;

static void grids(const bb_report *r, int m, FILE *out, const grid_part *parts, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        fprintf(out, "%s", parts[i].heading);
        grid(r, m, out, parts[i].fn, parts[i].scale, parts[i].suffix, parts[i].ratio);
        if (parts[i].paper_label)
            paper_grid_row(r, m, out, parts[i].paper_label, parts[i].paper_metric);
    }
}

static void figure2(const bb_report *r, int m, FILE *out)
{
    static const grid_part parts[] = {
        {"### Figure 2a: decode latency per token, ms (measured, batch 1)\n\n", g_latency, 1, "", false, NULL, NULL},
        {"\nSpeed-up vs fp16 (ratio of measured latencies):\n\n", g_speedup, 1, "x", true,
         "paper: BitNet b1.58 vs LLaMA (GPU)", "speedup"},
        {"\n### Figure 2b: weight memory, GB (modeled)\n\n", g_memory, 1e-9, "", false, NULL, NULL},
        {"\nReduction vs fp16 (modeled):\n\n", g_reduction, 1, "x", true, "paper: BitNet b1.58 vs LLaMA (GPU memory)",
         "memory_reduction"},
    };
    grids(r, m, out, parts, sizeof parts / sizeof parts[0]);
    fprintf(out, "\n");
}

static bool machine_has_measured_energy(const bb_report *r, int m)
{
    for (size_t i = 0; i < r->n_rows; i++)
        if (r->rows[i].machine == m && r->rows[i].energy_measured)
            return true;
    return false;
}

static void figure3(const bb_report *r, int m, FILE *out)
{
    static const grid_part parts[] = {
        {"### Figure 3: energy per token\n\nArithmetic energy per token, mJ (modeled at 7 nm):\n\n", g_energy7, 1e3, "",
         false, NULL, NULL},
        {"\nArithmetic energy per token, mJ (modeled at 45 nm):\n\n", g_energy45, 1e3, "", false, NULL, NULL},
        {"\nfp16 energy over the format's (modeled, 7 nm):\n\n", g_eratio7, 1, "x", true,
         "paper: BitNet b1.58 end to end (secondary)", "end_to_end_energy_ratio"},
        {"\nfp16 energy over the format's (modeled, 45 nm):\n\n", g_eratio45, 1, "x", true, NULL, NULL},
    };
    grids(r, m, out, parts, sizeof parts / sizeof parts[0]);
    const bb_paper_ref *mm = bb_report_paper(r, "all", "ternary", "matmul_energy_ratio_7nm");
    if (mm)
        fprintf(out, "\nThe paper's matmul-only factor at 7 nm is %sx (%s); ours include activation "
                     "quantization, rescaling and the fp16 LM head.\n",
                mm->text, mm->source);
    if (machine_has_measured_energy(r, m)) {
        fprintf(out, "\nEnergy per token, mJ (measured: RAPL, net of the idle baseline):\n\n");
        grid(r, m, out, g_energy_measured, 1e3, "", false);
    } else {
        fprintf(out, "\nMeasured energy per token: unavailable on this machine (see the summary).\n");
    }
    fprintf(out, "\n");
}

/* ------------------------------------------------------------------ Table 3 */

static val budget_batch(const bb_report_row *w)
{
    return modeled(w, w && w->max_batch >= 0 ? (double)w->max_batch : NAN);
}

static void table3_row(const bb_report *r, int m, FILE *out, const char *model, const char *f)
{
    const bb_report_row *w = bb_report_pick(r, m, model, f, 0, 0, true);
    const bb_report_row *base = bb_report_pick(r, m, model, "fp16", 0, 0, true);
    val batch = budget_batch(w), fp16_batch = budget_batch(base);
    if (!batch.na && batch.v == 0)
        batch.na = "does not fit";
    if (!fp16_batch.na && fp16_batch.v == 0)
        fp16_batch.na = "does not fit";
    val tps = MEASURED(w, tokens_per_s), fp16_tps = MEASURED(base, tokens_per_s);
    val share = MEASURED(w, attention_share);
    cellbuf c[8];
    const char *ratio = w && isfinite(w->speedup) ? speed_cell(&c[6], r, m, w, model)
                                                  : show(&c[6], vs_fp16(fp16_tps, tps, false), 1, "x");
    fprintf(out, "| %s | %s | %s | %s | %s | %s | %s | %s |\n", f, show(&c[0], batch, 1, ""),
            show(&c[1], vs_fp16(fp16_batch, batch, false), 1, "x"), show(&c[2], tps, 1, ""), ratio,
            show(&c[7], share, 100, "%"),
            paper_cell(&c[4], r, model, f, "max_batch", "max_batch_ratio"),
            paper_cell(&c[5], r, model, f, "tokens_per_s", "tokens_per_s_ratio"));
}

/* Why Table 3's max-batch ratio is not the paper's.  When both formats keep the same KV
 * cache, max batch = (budget - weights) / KV per sequence, so the ratio to fp16 is
 * (budget - W_format) / (budget - W_fp16): it follows the room fp16 has left, not the cache
 * size.  The paper's two batches (16 fp16, 176 ternary) meet that rule for one cache size
 * only: W_fp16 - W_tern = (176 - 16) x KV, which fixes the KV per sequence and the usable
 * budget the paper's runs must have had.  All of it is modeled from the rows' weight bytes. */
static void table3_budget_note(const bb_report *r, int m, FILE *out, const char *model, const bb_report_row *any)
{
    const bb_report_row *base = bb_report_pick(r, m, model, "fp16", 0, 0, true);
    const bb_report_row *tern = bb_report_pick(r, m, model, "tern2", 0, 0, true);
    const bb_paper_ref *pf = bb_report_paper(r, model, "fp16", "max_batch");
    const bb_paper_ref *pt = bb_report_paper(r, model, "ternary", "max_batch");
    if (!any || !base || !tern || !pf || !pt || !(pt->value > pf->value) || !isfinite(base->weight_bytes) ||
        !isfinite(tern->weight_bytes) || !(any->kv_bytes_per_seq > 0) || !(any->mem_budget_bytes > 0))
        return;
    double kv = (base->weight_bytes - tern->weight_bytes) / (pt->value - pf->value);
    double usable = base->weight_bytes + pf->value * kv;
    char a[32], b[32], c[32], d[32], e[32];
    fprintf(out, "Why the max-batch ratio differs from the paper's (modeled): with one KV cache layout for "
                 "every format, max batch = (budget - weights) / KV cache per sequence, so the ratio to fp16 "
                 "is (budget - weights of the format) / (budget - fp16 weights): it follows the room fp16 has "
                 "left, not the cache size. Here fp16 has %s GB left of %s GB. The paper's %s and %s fit that "
                 "rule only with %s GB of KV cache per sequence and %s GB usable (its two 80 GB GPUs less the "
                 "runtime's own memory); at that budget, with this cache (%s GB per sequence):\n\n"
                 "| format | max batch at %s GB (modeled) | vs fp16 |\n|---|---|---|\n",
            sig3(a, sizeof a, (any->mem_budget_bytes - base->weight_bytes) / 1e9),
            sig3(b, sizeof b, any->mem_budget_bytes / 1e9), pf->text, pt->text, sig3(c, sizeof c, kv / 1e9),
            sig3(d, sizeof d, usable / 1e9), sig3(e, sizeof e, any->kv_bytes_per_seq / 1e9), d);
    uint64_t fp16_batch = bb_budget_max_batch((uint64_t)base->weight_bytes, (uint64_t)any->kv_bytes_per_seq,
                                              (uint64_t)usable);
    for (size_t i = 0; i < r->n_formats; i++) {
        const bb_report_row *w = bb_report_pick(r, m, model, r->formats[i], 0, 0, true);
        if (!w || !isfinite(w->weight_bytes))
            continue;
        uint64_t mb = bb_budget_max_batch((uint64_t)w->weight_bytes, (uint64_t)any->kv_bytes_per_seq,
                                          (uint64_t)usable);
        char ratio[40] = "fp16 does not fit";
        if (fp16_batch)
            bb_fmt(ratio, sizeof ratio, "%sx", sig3(a, sizeof a, (double)mb / (double)fp16_batch));
        fprintf(out, "| %s | %llu | %s |\n", r->formats[i], (unsigned long long)mb, ratio);
    }
    fprintf(out, "\n`bitbench sweep --mem-budget %llu` (bytes) times the Table 3 rows at that budget.\n\n",
            (unsigned long long)usable);
}

static void table3(const bb_report *r, int m, FILE *out)
{
    const char *model = bb_report_table3_model(r, m);
    if (!model) {
        fprintf(out, "### Table 3: throughput at the memory-budget batch\n\nUnavailable: no budget-batch "
                     "rows on this machine.\n\n");
        return;
    }
    const bb_report_row *any = bb_report_pick(r, m, model, "fp16", 0, 0, true);
    for (size_t i = 0; i < r->n_rows && !any; i++)
        if (r->rows[i].machine == m && r->rows[i].budget_batch && !strcmp(r->rows[i].model, model))
            any = &r->rows[i];
    fprintf(out, "### Table 3: %s, largest batch under the memory budget and its throughput\n\n", model);
    char b[64], kv[64];
    if (any)
        fprintf(out, "Budget %s GiB%s (weights and KV cache only), sequence length 512; KV cache per sequence "
                     "%s GB (modeled: %s). A model or batch that does not fit this machine is timed one layer "
                     "(its weights and its slice of the KV cache) + the head, and extrapolated (†). The "
                     "tokens/s ratio is paired (formats alternated sample by sample) with its 95%% interval; "
                     "the attention share is of the measured step at that batch.\n\n",
                sig3(b, sizeof b, any->mem_budget_bytes / 1073741824.0),
                any->mem_budget_bytes == 160.0 * 1073741824.0 ? " (the paper's: two A100 80GB)" : "",
                sig3(kv, sizeof kv, any->kv_bytes_per_seq / 1e9), any->kv_formula);
    fprintf(out, "| format | max batch (modeled) | vs fp16 | tokens/s at that batch (measured) | vs fp16 | "
                 "attention share | paper max batch | paper tokens/s |\n|---|---|---|---|---|---|---|---|\n");
    for (size_t i = 0; i < r->n_formats; i++)
        if (machine_has_format(r, m, r->formats[i]))
            table3_row(r, m, out, model, r->formats[i]);
    fprintf(out, "\n");
    table3_budget_note(r, m, out, model, any);
}

/* ------------------------------------------------------------------ end to end, methods, pp/tg */

static void e2e_table(const bb_report *r, int m, FILE *out)
{
    fprintf(out, "### Where the time goes: end to end vs matmul only (batch 1)\n\n"
                 "One clock over the same samples: the linear layers (7 projections x layers + LM head: "
                 "the paper's matmul view), attention over the fp16 KV cache, and the rest (norms, RoPE, "
                 "cache stores, SiLU, residuals). Speed-ups: end to end is paired with its 95%% interval; "
                 "matmul only is the ratio of the linear layers' medians.\n\n"
                 "| model | format | step ms (measured) | matmul ms | attention ms | rest ms | attention share | "
                 "speed-up end to end | speed-up matmul only | context |\n|---|---|---|---|---|---|---|---|---|---|\n");
    bool any = false;
    for (size_t j = 0; j < r->n_models; j++) {
        const char *model = r->models[j].name;
        if (!machine_has_model(r, m, model))
            continue;
        const bb_report_row *base = pick1(r, m, model, "fp16");
        for (size_t i = 0; i < r->n_formats; i++) {
            const char *f = r->formats[i];
            const bb_report_row *w = pick1(r, m, model, f);
            if (!w)
                continue;
            any = true;
            cellbuf c[8];
            val att = MEASURED(w, attention_ms), rest = MEASURED(w, other_ms), share = MEASURED(w, attention_share);
            if (!strcmp(w->step_kind, "matmul_only") && !strcmp(w->status, "ok"))
                att.na = rest.na = share.na = "not run (a matmul-only step)";
            fprintf(out, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", model, f,
                    show(&c[0], MEASURED(w, latency_ms), 1, ""), show(&c[1], MEASURED(w, matmul_ms), 1, ""),
                    show(&c[2], att, 1, ""), show(&c[3], rest, 1, ""),
                    show(&c[4], share, 100, "%"), speed_cell(&c[5], r, m, w, model),
                    show(&c[6], vs_fp16(MEASURED(base, matmul_ms), MEASURED(w, matmul_ms), true), 1, "x"),
                    !strcmp(w->step_kind, "decode") ? "512" : w->step_kind);
        }
    }
    if (!any)
        fprintf(out, "| unavailable: no batch-1 rows | | | | | | | | | |\n");
    fprintf(out, "\n");
}

/* The latest ok row of an exact implementation at batch 1 (any method variant). */
static const bb_report_row *pick_impl(const bb_report *r, int m, const char *model, const char *impl)
{
    const bb_report_row *best = NULL;
    for (size_t i = 0; i < r->n_rows; i++) {
        const bb_report_row *w = &r->rows[i];
        if (w->machine != m || w->threads != r->machines[m].threads || w->budget_batch || w->prompt ||
            w->batch != 1 || strcmp(w->model, model) || strcmp(w->impl, impl) || strcmp(w->status, "ok"))
            continue;
        if (!best || strcmp(w->time, best->time) > 0)
            best = w;
    }
    return best;
}

static void methods_table(const bb_report *r, int m, FILE *out)
{
    bool header = false;
    for (size_t j = 0; j < r->n_models; j++) {
        const char *model = r->models[j].name;
        for (size_t i = 0; i < r->n_rows; i++) {
            const bb_report_row *w = &r->rows[i];
            if (w->machine != m || strcmp(w->model, model) || strcmp(bb_report_family(w->format), "ternary"))
                continue;
            if (pick_impl(r, m, model, w->impl) != w)
                continue;
            if (!header) {
                fprintf(out, "### Ternary methods end to end (batch 1)\n\n"
                             "Each ternary format with the best implementation of every method, in the same "
                             "interleaved set as fp16: what the multiply-free kernels (add-only, table lookup) "
                             "cost or save against multiply-add, end to end.\n\n"
                             "| model | format | implementation | method | multiply-free | step ms (measured) | "
                             "matmul ms | speed-up vs fp16 end to end |\n|---|---|---|---|---|---|---|---|\n");
                header = true;
            }
            cellbuf c[4];
            fprintf(out, "| %s | %s | %s | %s | %s | %s | %s | %s |\n", model, w->format, w->impl, w->method,
                    w->multiply_free ? "yes" : "no", show(&c[0], MEASURED(w, latency_ms), 1, ""),
                    show(&c[1], MEASURED(w, matmul_ms), 1, ""), speed_cell(&c[2], r, m, w, model));
        }
    }
    if (header)
        fprintf(out, "\n");
}

static const bb_report_row *pick_prompt(const bb_report *r, int m, const char *model, const char *f)
{
    const bb_report_row *best = NULL;
    for (size_t i = 0; i < r->n_rows; i++) {
        const bb_report_row *w = &r->rows[i];
        if (w->machine == m && w->prompt && w->best_impl && w->threads == r->machines[m].threads &&
            !strcmp(w->model, model) && !strcmp(w->format, f) && (!best || strcmp(w->time, best->time) > 0))
            best = w;
    }
    return best;
}

static void pp_tg_table(const bb_report *r, int m, FILE *out)
{
    bool any = false;
    for (size_t i = 0; i < r->n_rows && !any; i++)
        any = r->rows[i].machine == m && r->rows[i].prompt;
    if (!any)
        return;
    fprintf(out, "### Prompt and generation, tokens/s (measured, as llama-bench reports them)\n\n"
                 "pp: one sequence of P tokens through every layer at once (causal attention); tg: the "
                 "generation step at batch 1 over the KV cache.\n\n"
                 "| model | format | pp tokens/s | P | tg tokens/s | pp speed-up vs fp16 | tg speed-up vs fp16 |\n"
                 "|---|---|---|---|---|---|---|\n");
    for (size_t j = 0; j < r->n_models; j++) {
        const char *model = r->models[j].name;
        for (size_t i = 0; i < r->n_formats; i++) {
            const char *f = r->formats[i];
            const bb_report_row *pp = pick_prompt(r, m, model, f), *tg = pick1(r, m, model, f);
            if (!pp)
                continue;
            cellbuf c[5];
            fprintf(out, "| %s | %s | %s | %ld | %s | %s | %s |\n", model, f, show(&c[0], MEASURED(pp, tokens_per_s), 1, ""),
                    pp->prompt_tokens, show(&c[1], MEASURED(tg, tokens_per_s), 1, ""),
                    show(&c[2], MEASURED(pp, speedup), 1, "x"), speed_cell(&c[3], r, m, tg, model));
        }
    }
    fprintf(out, "\n");
}

/* ------------------------------------------------------------------ throughput vs batch */

static bool has_list_batch(const bb_report *r, int m, const char *model, long batch)
{
    for (size_t i = 0; i < r->n_rows; i++) {
        const bb_report_row *w = &r->rows[i];
        if (w->machine == m && !w->budget_batch && w->batch == batch && !strcmp(w->model, model) &&
            w->threads == r->machines[m].threads)
            return true;
    }
    return false;
}

/* Distinct list batches of a model (ascending, at most cap); returns how many. */
static size_t list_batches(const bb_report *r, int m, const char *model, long *out, size_t cap)
{
    size_t n = 0;
    long last = 0;
    for (;;) {
        long next = -1;
        for (size_t i = 0; i < r->n_rows; i++) {
            const bb_report_row *w = &r->rows[i];
            if (w->machine == m && !w->budget_batch && !strcmp(w->model, model) && w->batch > last &&
                (next < 0 || w->batch < next) && has_list_batch(r, m, model, w->batch))
                next = w->batch;
        }
        if (next < 0 || n == cap)
            return n;
        out[n++] = last = next;
    }
}

const char *bb_report_batch_model(const bb_report *r, int m)
{
    const char *best = NULL;
    size_t best_n = 1; /* one batch size is no curve */
    long tmp[64];
    for (size_t j = 0; j < r->n_models; j++) {
        const char *model = r->models[j].name;
        size_t n = list_batches(r, m, model, tmp, 64);
        for (size_t i = 0; i < r->n_rows; i++)
            if (r->rows[i].machine == m && r->rows[i].budget_batch && !strcmp(r->rows[i].model, model)) {
                n++;
                break;
            }
        if (n >= 2 && n >= best_n) {
            best = model;
            best_n = n;
        }
    }
    return best;
}

static void batch_table(const bb_report *r, int m, FILE *out)
{
    const char *model = bb_report_batch_model(r, m);
    if (!model)
        return;
    long batches[16];
    size_t nb = list_batches(r, m, model, batches, 16);
    fprintf(out, "### Throughput vs batch: %s, tokens/s (measured)\n\n| format |", model);
    for (size_t k = 0; k < nb; k++)
        fprintf(out, " batch %ld |", batches[k]);
    fprintf(out, " budget batch |\n|---|");
    for (size_t k = 0; k <= nb; k++)
        fprintf(out, "---|");
    fprintf(out, "\n");
    for (size_t i = 0; i < r->n_formats; i++) {
        const char *f = r->formats[i];
        if (!machine_has_format(r, m, f))
            continue;
        cellbuf c;
        fprintf(out, "| %s |", f);
        for (size_t k = 0; k < nb; k++)
            fprintf(out, " %s |", show(&c, MEASURED(bb_report_pick(r, m, model, f, 0, batches[k], false),
                                                    tokens_per_s), 1, ""));
        const bb_report_row *w = bb_report_pick(r, m, model, f, 0, 0, true);
        val tps = MEASURED(w, tokens_per_s);
        if (w)
            fprintf(out, tps.na ? " %s (batch %ld) |\n" : " %s at batch %ld |\n", show(&c, tps, 1, ""), w->batch);
        else
            fprintf(out, " unavailable: not run |\n");
    }
    fprintf(out, "\n");
}

/* ------------------------------------------------------------------ roofline */

static void roofline(const bb_report *r, int m, FILE *out)
{
    const bb_report_machine *M = &r->machines[m];
    char num[64];
    fprintf(out, "### Roofline: weight bandwidth and operation rate (batch 1)\n\n");
    if (isfinite(M->ceiling_gbps))
        fprintf(out, "Ceiling: %s GB/s (measured read bandwidth, %d threads).\n\n",
                sig3(num, sizeof num, M->ceiling_gbps), M->threads);
    else
        fprintf(out, "Ceiling: unavailable (no bandwidth_ceiling in the rows).\n\n");
    fprintf(out, "Weight bytes streamed per second, GB/s (derived from measured time):\n\n");
    grid(r, m, out, g_gbps, 1, "", false);
    fprintf(out, "\nShare of the bandwidth ceiling, %% (derived):\n\n");
    grid(r, m, out, g_pct_ceiling, 1, "%", false);
    fprintf(out, "\nOperations per second, GOP/s (derived: 2 per weight per token):\n\n");
    grid(r, m, out, g_gops, 1, "", false);
    fprintf(out, "\n");
}

/* ------------------------------------------------------------------ cross-machine */

static void cross_machine(const bb_report *r, FILE *out)
{
    if (r->n_machines < 2)
        return;
    fprintf(out, "## Across machines: speed-up vs fp16 (batch 1, ratio of measured latencies)\n\n"
                 "| format | machine |");
    for (size_t j = 0; j < r->n_models; j++)
        fprintf(out, " %s |", r->models[j].name);
    fprintf(out, "\n|---|---|");
    for (size_t j = 0; j < r->n_models; j++)
        fprintf(out, "---|");
    fprintf(out, "\n");
    for (size_t i = 0; i < r->n_formats; i++) {
        const char *f = r->formats[i];
        if (!strcmp(f, "fp16"))
            continue;
        for (size_t m = 0; m < r->n_machines; m++) {
            if (!machine_has_format(r, (int)m, f))
                continue;
            fprintf(out, "| %s | %s (%s) |", f, r->machines[m].label, r->machines[m].cpu_model);
            for (size_t j = 0; j < r->n_models; j++) {
                cellbuf c;
                fprintf(out, " %s |", show(&c, g_speedup(r, (int)m, r->models[j].name, f), 1, "x"));
            }
            fprintf(out, "\n");
        }
    }
    fprintf(out, "\n");
}

/* ------------------------------------------------------------------ the document */

static void inputs(const bb_report *r, FILE *out)
{
    fprintf(out, "Sweep results:");
    for (size_t f = 0; f < r->n_files; f++)
        fprintf(out, "%s `%s` (%zu usable rows)", f ? "," : "", r->files[f], r->file_rows[f]);
    fprintf(out, ".\n");
    if (r->bad_lines)
        fprintf(out, "Skipped: %zu malformed line%s (each named with its file and line on stderr).\n",
                r->bad_lines, r->bad_lines == 1 ? "" : "s");
    if (r->other_kinds)
        fprintf(out, "Ignored: %zu rows of other kinds than `sweep`.\n", r->other_kinds);
    fprintf(out, "\n");
}

void bb_report_markdown(const bb_report *r, FILE *out, const char *plots_note)
{
    fprintf(out, "# bitbench report: low-bit weights on CPU vs the BitNet b1.58 paper\n\n");
    inputs(r, out);
    fprintf(out, "%s\n", LEGEND);
    summary(r, out);
    for (size_t m = 0; m < r->n_machines; m++) {
        const bb_report_machine *M = &r->machines[m];
        fprintf(out, "## %s: %s on %s (%d thread%s)\n\n", M->label, M->cpu_model, M->hostname, M->threads,
                M->threads == 1 ? "" : "s");
        table1(r, (int)m, out);
        figure2(r, (int)m, out);
        figure3(r, (int)m, out);
        e2e_table(r, (int)m, out);
        methods_table(r, (int)m, out);
        pp_tg_table(r, (int)m, out);
        table3(r, (int)m, out);
        batch_table(r, (int)m, out);
        roofline(r, (int)m, out);
    }
    cross_machine(r, out);
    bb_report_fleet_markdown(r, out);
    fprintf(out, "## Figures\n\n%s", plots_note && *plots_note ? plots_note : "None.\n");
}
