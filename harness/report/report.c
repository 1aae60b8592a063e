/*
 * harness/report/report.c - `bitbench report`: reading sweep rows into the report's data model,
 * the paper's reference values, choosing the row of a table cell, and the run itself.
 * The markdown is in report_md.c, the data files and gnuplot in report_plot.c.
 */
#include "report.h"

#include "../base/fmt.h"
#include "../base/stats.h" /* bb_median_inplace */
#include "../results/formats.h"
#include "../results/results.h"
#include "../results/row.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ------------------------------------------------------------------ JSON access */

/* The member at a dotted path ("machine.caches.llc_bytes"); NULL when absent. */
static json_t *jpath(json_t *o, const char *path)
{
    char key[64];
    while (o && *path) {
        size_t n = strcspn(path, ".");
        if (n >= sizeof key)
            return NULL;
        memcpy(key, path, n);
        key[n] = 0;
        o = json_is_object(o) ? json_object_get(o, key) : NULL;
        path += n + (path[n] == '.');
    }
    return o;
}

/* A number, NAN when null, absent or not a number (an "unavailable" object included). */
static double jnum(json_t *o, const char *path)
{
    json_t *v = jpath(o, path);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

/* Copies a string member into dst ("" when absent); false when absent or not a string. */
static bool jstr(json_t *o, const char *path, char *dst, size_t len)
{
    json_t *v = jpath(o, path);
    bb_fmt(dst, len, "%s", json_is_string(v) ? json_string_value(v) : "");
    return json_is_string(v);
}

/* Copies a typed row's string into dst ("" when null); false when null. */
static bool tstr(const char *s, char *dst, size_t len)
{
    bb_fmt(dst, len, "%s", s ? s : "");
    return s != NULL;
}

/* A value that may be a plain string or an {"status": "unavailable", "reason"} object. */
static void jstr_or_reason(json_t *o, const char *path, char *dst, size_t len)
{
    json_t *v = jpath(o, path);
    if (json_is_string(v))
        bb_fmt(dst, len, "%s", json_string_value(v));
    else if (json_is_string(json_object_get(v, "reason")))
        bb_fmt(dst, len, "unavailable: %s", json_string_value(json_object_get(v, "reason")));
    else
        bb_fmt(dst, len, "unavailable: not recorded");
}

/* ------------------------------------------------------------------ rows */

/* Model size in billions from a name like "700M" or "1.3B"; NAN when the name says none. */
static double size_from_name(const char *name)
{
    char *end;
    double v = strtod(name, &end);
    if (end == name || v <= 0)
        return NAN;
    if ((end[0] == 'B' || end[0] == 'b') && !end[1])
        return v;
    if ((end[0] == 'M' || end[0] == 'm') && !end[1])
        return v / 1000;
    return NAN;
}

static int machine_index(bb_report *r, const bb_result_row *t)
{
    char id[40];
    jstr(t->machine, "id", id, sizeof id);
    for (size_t i = 0; i < r->n_machines; i++)
        if (!strcmp(r->machines[i].id, id))
            return (int)i;
    bb_report_machine *grown = realloc(r->machines, (r->n_machines + 1) * sizeof *grown);
    if (!grown)
        abort(); /* a few machines: out of memory here means nothing else works either */
    r->machines = grown;
    bb_report_machine *m = &r->machines[r->n_machines];
    memset(m, 0, sizeof *m);
    bb_fmt(m->id, sizeof m->id, "%s", id);
    bb_fmt(m->label, sizeof m->label, "m%zu", r->n_machines + 1);
    jstr(t->machine, "hostname", m->hostname, sizeof m->hostname);
    jstr(t->machine, "cpu_model", m->cpu_model, sizeof m->cpu_model);
    jstr(t->machine, "vendor", m->vendor, sizeof m->vendor);
    jstr(t->machine, "family", m->family, sizeof m->family);
    jstr(t->machine, "model", m->model, sizeof m->model);
    jstr(t->machine, "os", m->os, sizeof m->os);
    jstr(t->machine, "isa_cap", m->isa_cap, sizeof m->isa_cap);
    jstr(t->machine, "hypervisor", m->hypervisor, sizeof m->hypervisor);
    jstr_or_reason(t->machine, "governor", m->governor, sizeof m->governor);
    jstr(t->build, "compiler", m->compiler, sizeof m->compiler);
    jstr(t->build, "cflags", m->cflags, sizeof m->cflags);
    tstr(t->git_revision, m->git, sizeof m->git);
    tstr(t->run_id, m->run_id, sizeof m->run_id);
    m->cores = (int)json_integer_value(jpath(t->machine, "cores"));
    m->memory_bytes = jnum(t->machine, "memory_bytes");
    m->virtualized = json_is_true(jpath(t->machine, "virtualized"));
    m->ceiling_gbps = NAN;
    m->roof_gops[0] = m->roof_gops[1] = m->roof_gops[2] = NAN;
    return (int)r->n_machines++;
}

/* Measured energy: net J/token when RAPL gave it, else the reason. */
static void read_energy(const bb_result_row *t, bb_report_row *w)
{
    json_t *e = t->energy;
    w->energy_j_per_token = NAN;
    char status[24];
    jstr(e, "status", status, sizeof status);
    if (!strcmp(status, "measured")) {
        w->energy_j_per_token = jnum(e, "net_j_per_token");
        w->energy_measured = isfinite(w->energy_j_per_token);
        if (!w->energy_measured)
            jstr(e, "net_reason", w->energy_reason, sizeof w->energy_reason);
    } else if (!jstr(e, "reason", w->energy_reason, sizeof w->energy_reason)) {
        bb_fmt(w->energy_reason, sizeof w->energy_reason, "not recorded in the row");
    }
    json_t *m = t->energy_model;
    w->model_j_per_token[0] = jnum(m, "nodes.45nm.j_per_token");
    w->model_j_per_token[1] = jnum(m, "nodes.7nm.j_per_token");
    if (!isfinite(w->model_j_per_token[0]) && !jstr(m, "reason", w->model_energy_reason,
                                                    sizeof w->model_energy_reason))
        bb_fmt(w->model_energy_reason, sizeof w->model_energy_reason, "not recorded in the row");
}

/* Fills w from a sweep row; false (with the missing member in why) when the row lacks
 * something every table needs. */
static bool read_row(const bb_result_row *t, bb_report_row *w, char *why, size_t len)
{
    const struct {
        const char *name;
        bool present;
    } required[] = {{"time", t->time},
                    {"status", t->status},
                    {"format", t->format},
                    {"impl", t->impl},
                    {"model.name", json_is_string(jpath(t->model, "name"))},
                    {"machine.id", json_is_string(jpath(t->machine, "id"))},
                    {"batch_source", t->batch_source}};
    for (size_t i = 0; i < sizeof required / sizeof *required; i++)
        if (!required[i].present) {
            bb_fmt(why, len, "no string member '%s'", required[i].name);
            return false;
        }
    /* A row that was not measured (no_fit, skipped, refused) has mode null by the schema. */
    if (!strcmp(t->status, "ok") && !t->mode) {
        bb_fmt(why, len, "no string member 'mode' in a measured row");
        return false;
    }
    if (!t->has_threads || !t->has_batch) {
        bb_fmt(why, len, "no integer member '%s'", t->has_threads ? "batch" : "threads");
        return false;
    }
    memset(w, 0, sizeof *w);
    tstr(t->time, w->time, sizeof w->time);
    tstr(t->run_id, w->run_id, sizeof w->run_id);
    if (!tstr(t->run_group, w->run_group, sizeof w->run_group))
        bb_fmt(w->run_group, sizeof w->run_group, "%s", w->run_id);
    w->replicates = 1;
    tstr(t->status, w->status, sizeof w->status);
    tstr(t->reason, w->reason, sizeof w->reason);
    tstr(t->format, w->format, sizeof w->format);
    tstr(t->impl, w->impl, sizeof w->impl);
    jstr(t->model, "name", w->model, sizeof w->model);
    char text[32] = "";
    tstr(t->batch_source, text, sizeof text);
    w->budget_batch = !strcmp(text, "budget");
    w->prompt = !strcmp(text, "prompt");
    w->schema = (int)t->schema_version;
    /* schema 1 rows timed the projections alone (and had no method variants) */
    if (!jstr(t->step, "kind", w->step_kind, sizeof w->step_kind))
        bb_fmt(w->step_kind, sizeof w->step_kind, "matmul_only");
    w->prompt_tokens = (long)json_integer_value(jpath(t->step, "tokens_per_sequence"));
    tstr(t->impl_method, w->method, sizeof w->method);
    w->multiply_free = t->multiply_free == 1;
    w->best_impl = t->impl_is_best < 0 ? true : t->impl_is_best == 1;
    text[0] = '\0';
    tstr(t->mode, text, sizeof text);
    w->extrapolated = !strcmp(text, "extrapolated");
    w->threads = (int)t->threads;
    w->batch = (long)t->batch;
    w->layers = (int)json_integer_value(jpath(t->model, "layers"));
    w->params = jnum(t->model, "params.total");
    w->size_b = size_from_name(w->model);
    if (!isfinite(w->size_b))
        w->size_b = w->params / 1e9;
    w->latency_ms = t->latency_ms_per_token;
    w->matmul_ms = t->matmul_ms_per_token;
    if (w->schema < 2)
        w->matmul_ms = w->latency_ms; /* the whole step was the matmuls */
    w->attention_ms = jnum(t->split, "attention_ms");
    w->other_ms = jnum(t->split, "other_ms");
    w->attention_share = jnum(t->split, "attention_share");
    w->speedup = jnum(t->vs_fp16, "speedup");
    w->speedup_lo = jnum(t->vs_fp16, "ci_low");
    w->speedup_hi = jnum(t->vs_fp16, "ci_high");
    w->tokens_per_s = t->tokens_per_s;
    w->cv = jnum(t->stats_step_ns, "cv");
    w->weight_bytes = jnum(t->weight_bytes, "value");
    w->peak_rss_bytes = jnum(t->peak_rss_bytes, "value");
    w->gbps = t->gbps;
    w->gops = t->gops;
    w->streamed_bytes = (t->has_streamed_bytes_per_step ? (double)t->streamed_bytes_per_step : NAN);
    w->ceiling_gbps = jnum(t->bandwidth_ceiling, "gbps");
    static const char *const roof_kinds[3] = {"int8_dot", "fp32_fma", "int_add"};
    for (int k = 0; k < 3; k++) {
        char path[64];
        snprintf(path, sizeof path, "peak.%s.t%d", roof_kinds[k], w->threads);
        w->roof_gops[k] = jnum(t->compute_roofs, path);
    }
    json_t *mb = jpath(t->budget, "max_batch");
    w->max_batch = json_is_integer(mb) ? (long)json_integer_value(mb) : -1;
    w->mem_budget_bytes = jnum(t->budget, "mem_budget_bytes");
    w->kv_bytes_per_seq = jnum(t->budget, "kv_bytes_per_seq");
    jstr(t->budget, "kv_formula", w->kv_formula, sizeof w->kv_formula);
    read_energy(t, w);
    return true;
}

typedef struct load_ctx {
    bb_report *r;
    int file;
} load_ctx;

static void take_row(json_t *row, size_t line, void *vctx)
{
    load_ctx *c = vctx;
    bb_report *r = c->r;
    char kind[32], why[160];
    if (jstr(row, "kind", kind, sizeof kind) && strcmp(kind, "sweep") != 0) {
        r->other_kinds++;
        return;
    }
    if (r->n_rows == r->cap_rows) {
        size_t cap = r->cap_rows ? 2 * r->cap_rows : 64;
        bb_report_row *grown = realloc(r->rows, cap * sizeof *grown);
        if (!grown)
            abort();
        r->rows = grown;
        r->cap_rows = cap;
    }
    bb_report_row *w = &r->rows[r->n_rows];
    if (!kind[0]) {
        bb_fmt(why, sizeof why, "no string member 'kind'");
    } else {
        bb_result_row t;
        int got = bb_result_row_read(row, &t, why, sizeof why);
        bool ok = got == 0 && read_row(&t, w, why, sizeof why);
        if (ok) {
            w->file = c->file;
            w->line = line;
            w->machine = machine_index(r, &t);
            r->n_rows++;
            r->file_rows[c->file]++;
        }
        if (got == 0)
            bb_result_row_free(&t);
        if (ok)
            return;
    }
    fprintf(r->log, "bitbench report: %s:%zu: skipped: %s\n", r->files[c->file], line, why);
    r->bad_lines++;
}

static void add_model(bb_report *r, const bb_report_row *w)
{
    for (size_t i = 0; i < r->n_models; i++)
        if (!strcmp(r->models[i].name, w->model))
            return;
    bb_report_model *grown = realloc(r->models, (r->n_models + 1) * sizeof *grown);
    if (!grown)
        abort();
    r->models = grown;
    bb_report_model *m = &r->models[r->n_models++];
    bb_fmt(m->name, sizeof m->name, "%s", w->model);
    m->params = w->params;
    m->size_b = w->size_b;
}

static int cmp_model(const void *a, const void *b)
{
    const bb_report_model *x = a, *y = b;
    if (x->size_b != y->size_b)
        return x->size_b < y->size_b ? -1 : 1;
    return strcmp(x->name, y->name);
}

/* bitbench's own format order (fp16 first), formats this build does not know after. */
static int format_rank(const char *name) { return (int)bb_result_format_rank(name); }

static int cmp_format(const void *a, const void *b)
{
    const char *x = a, *y = b;
    int rx = format_rank(x), ry = format_rank(y);
    return rx != ry ? rx - ry : strcmp(x, y);
}

static void add_format(bb_report *r, const char *name)
{
    for (size_t i = 0; i < r->n_formats; i++)
        if (!strcmp(r->formats[i], name))
            return;
    char(*grown)[24] = realloc(r->formats, (r->n_formats + 1) * sizeof *grown);
    if (!grown)
        abort();
    r->formats = grown;
    bb_fmt(r->formats[r->n_formats++], sizeof *grown, "%s", name);
}

static bool run_seen(const bb_report *r, size_t upto, int machine, const char *run_id)
{
    for (size_t i = 0; i < upto; i++)
        if (r->rows[i].machine == machine && !strcmp(r->rows[i].run_id, run_id))
            return true;
    return false;
}

/* Per machine: time span, runs, the table thread count and its bandwidth ceiling. */
static void summarize_machines(bb_report *r)
{
    for (size_t i = 0; i < r->n_rows; i++) {
        const bb_report_row *w = &r->rows[i];
        bb_report_machine *m = &r->machines[w->machine];
        if (!m->first_time[0] || strcmp(w->time, m->first_time) < 0)
            bb_fmt(m->first_time, sizeof m->first_time, "%s", w->time);
        if (strcmp(w->time, m->last_time) > 0)
            bb_fmt(m->last_time, sizeof m->last_time, "%s", w->time);
        if (!run_seen(r, i, w->machine, w->run_id))
            m->runs++;
        if (!strcmp(w->status, "ok") && w->threads > m->threads)
            m->threads = w->threads;
    }
    for (size_t i = 0; i < r->n_rows; i++) {
        const bb_report_row *w = &r->rows[i];
        bb_report_machine *m = &r->machines[w->machine];
        if (w->threads == m->threads && isfinite(w->ceiling_gbps) && !isfinite(m->ceiling_gbps))
            m->ceiling_gbps = w->ceiling_gbps;
        for (int k = 0; k < 3; k++)
            if (w->threads == m->threads && isfinite(w->roof_gops[k]) && !isfinite(m->roof_gops[k]))
                m->roof_gops[k] = w->roof_gops[k];
    }
}

/* Rows i and j measure the same thing in one run group: replicates to pool. */
static bool same_replicate_key(const bb_report_row *a, const bb_report_row *b)
{
    return a->machine == b->machine && a->threads == b->threads && a->batch == b->batch &&
           a->budget_batch == b->budget_batch && a->prompt == b->prompt && a->prompt_tokens == b->prompt_tokens &&
           !strcmp(a->run_group, b->run_group) && !strcmp(a->model, b->model) && !strcmp(a->impl, b->impl) &&
           !strcmp(a->step_kind, b->step_kind) && !strcmp(a->status, "ok") && !strcmp(b->status, "ok");
}

/* Replicates (scripts/run.sh runs the batch-1 plan in several passes under one --run-group,
 * each with fresh weight copies at another moment): one pass's paired interval covers the
 * noise within that process, not what differs between processes (where the copies landed,
 * the host's bandwidth at the time), which moved 70B speed-ups by 20-60% between
 * back-to-back runs on the Zen 5 VM (2026-12-05).  Every row of a group gets the medians over
 * its replicates - speed-up, latency, matmul time, tokens/s - and the speed-ups' range. */
static void pool_replicates(bb_report *r)
{
    size_t n = r->n_rows;
    double *v[4];
    for (int k = 0; k < 4; k++)
        if (!(v[k] = malloc((n ? n : 1) * sizeof *v[k])))
            abort();
    bool *done = calloc(n ? n : 1, sizeof *done);
    size_t *members = malloc((n ? n : 1) * sizeof *members);
    if (!done || !members)
        abort();
    for (size_t i = 0; i < n; i++) {
        if (done[i] || strcmp(r->rows[i].status, "ok"))
            continue;
        size_t m = 0;
        for (size_t j = i; j < n; j++)
            if (!done[j] && same_replicate_key(&r->rows[i], &r->rows[j]))
                members[m++] = j, done[j] = true;
        if (m < 2)
            continue;
        size_t k[4] = {0, 0, 0, 0};
        double lo = INFINITY, hi = -INFINITY;
        for (size_t t = 0; t < m; t++) {
            const bb_report_row *w = &r->rows[members[t]];
            const double x[4] = {w->speedup, w->latency_ms, w->matmul_ms, w->tokens_per_s};
            for (int q = 0; q < 4; q++)
                if (isfinite(x[q]))
                    v[q][k[q]++] = x[q];
            if (isfinite(w->speedup)) {
                lo = w->speedup < lo ? w->speedup : lo;
                hi = w->speedup > hi ? w->speedup : hi;
            }
        }
        double med[4];
        for (int q = 0; q < 4; q++)
            med[q] = k[q] ? bb_median_inplace(v[q], k[q]) : NAN;
        for (size_t t = 0; t < m; t++) {
            bb_report_row *w = &r->rows[members[t]];
            w->replicates = (int)m;
            w->speedup = med[0];
            w->speedup_lo = k[0] ? lo : NAN;
            w->speedup_hi = k[0] ? hi : NAN;
            w->latency_ms = med[1];
            w->matmul_ms = med[2];
            w->tokens_per_s = med[3];
        }
    }
    for (int q = 0; q < 4; q++)
        free(v[q]);
    free(done);
    free(members);
}

size_t bb_report_load(bb_report *r, const char *const *files, size_t n, FILE *log)
{
    r->files = files;
    r->n_files = n;
    r->log = log ? log : stderr;
    r->file_rows = calloc(n ? n : 1, sizeof *r->file_rows);
    if (!r->file_rows)
        abort();
    for (size_t f = 0; f < n; f++) {
        load_ctx c = {r, (int)f};
        bb_results_read_info info;
        char err[512];
        if (bb_results_read(files[f], take_row, &c, &info, err, sizeof err)) {
            fprintf(r->log, "bitbench report: %s: skipped: %s\n", files[f], err);
            continue;
        }
        /* The reader locates the first bad line; the others are counted. */
        if (info.bad_lines)
            fprintf(r->log, "bitbench report: %s:%zu: skipped: %s\n", files[f], info.first_bad_line,
                    info.first_bad_reason);
        if (info.bad_lines > 1)
            fprintf(r->log, "bitbench report: %s: skipped %zu more lines that are not JSON objects%s\n",
                    files[f], info.bad_lines - 1,
                    info.truncated_last ? " (the last line is cut short: a write interrupted)" : "");
        r->bad_lines += info.bad_lines;
    }
    for (size_t i = 0; i < r->n_rows; i++) {
        add_model(r, &r->rows[i]);
        add_format(r, r->rows[i].format);
    }
    pool_replicates(r);
    if (r->n_rows) { /* qsort wants a non-NULL array even for no elements */
        qsort(r->models, r->n_models, sizeof *r->models, cmp_model);
        qsort(r->formats, r->n_formats, sizeof *r->formats, cmp_format);
    }
    summarize_machines(r);
    return r->n_rows;
}

void bb_report_free(bb_report *r)
{
    free(r->rows);
    free(r->machines);
    free(r->file_rows);
    free(r->models);
    free(r->formats);
    free(r->refs);
    memset(r, 0, sizeof *r);
}

/* ------------------------------------------------------------------ choosing rows */

#define PAPER_BUDGET (160.0 * 1073741824.0) /* two A100 80GB, as bitbench sweep writes it */

static bool better(const bb_report_row *candidate, const bb_report_row *best)
{
    bool c_ok = !strcmp(candidate->status, "ok"), b_ok = !strcmp(best->status, "ok");
    if (c_ok != b_ok)
        return c_ok;
    if (candidate->best_impl != best->best_impl)
        return candidate->best_impl;
    bool c_paper = candidate->mem_budget_bytes == PAPER_BUDGET, b_paper = best->mem_budget_bytes == PAPER_BUDGET;
    if (candidate->budget_batch && c_paper != b_paper)
        return c_paper;
    return strcmp(candidate->time, best->time) > 0;
}

const bb_report_row *bb_report_pick(const bb_report *r, int machine, const char *model,
                                    const char *format, int threads, long batch, bool budget)
{
    if (threads <= 0)
        threads = r->machines[machine].threads;
    const bb_report_row *best = NULL;
    for (size_t i = 0; i < r->n_rows; i++) {
        const bb_report_row *w = &r->rows[i];
        if (w->machine != machine || w->threads != threads || w->budget_batch != budget || w->prompt ||
            (!budget && w->batch != batch) || strcmp(w->model, model) || strcmp(w->format, format))
            continue;
        if (!best || better(w, best))
            best = w;
    }
    return best;
}

bool bb_report_has(const bb_report *r, int machine, const char *model, const char *format)
{
    for (size_t i = 0; i < r->n_rows; i++) {
        const bb_report_row *w = &r->rows[i];
        if (w->machine == machine && (!model || !strcmp(w->model, model)) &&
            (!format || !strcmp(w->format, format)))
            return true;
    }
    return false;
}

const char *bb_report_table3_model(const bb_report *r, int machine)
{
    for (size_t i = 0; i < r->n_refs; i++)
        if (!strcmp(r->refs[i].experiment, "table3") && bb_report_has(r, machine, r->refs[i].model, NULL))
            return r->refs[i].model;
    const char *best = NULL;
    for (size_t j = 0; j < r->n_models; j++)
        for (size_t i = 0; i < r->n_rows; i++)
            if (r->rows[i].machine == machine && r->rows[i].budget_batch &&
                !strcmp(r->rows[i].model, r->models[j].name))
                best = r->models[j].name;
    return best;
}

const char *bb_report_family(const char *format)
{
    return bb_result_format_family(format);
}

const char *bb_report_prefix(const bb_report *r, int machine, char *buf, size_t len)
{
    if (r->n_machines <= 1)
        bb_fmt(buf, len, "%s", "");
    else
        bb_fmt(buf, len, "%s-", r->machines[machine].label);
    return buf;
}

/* ------------------------------------------------------------------ the paper's values */

/* Splits a CSV line into at most n fields at commas; the last field keeps the rest of the
 * line (the source may contain commas).  Returns the number of fields. */
static size_t split_fields(char *line, char **field, size_t n)
{
    size_t got = 0;
    while (got < n) {
        field[got++] = line;
        char *comma = got < n ? strchr(line, ',') : NULL;
        if (!comma)
            break;
        *comma = 0;
        line = comma + 1;
    }
    return got;
}

static bool parse_ref(char *line, bb_paper_ref *ref, char *why, size_t len)
{
    char *f[8];
    if (split_fields(line, f, 8) != 8) {
        bb_fmt(why, len, "expected 8 comma-separated fields "
                         "(experiment,model,system,family,metric,value,unit,source)");
        return false;
    }
    char *end;
    ref->value = strtod(f[5], &end);
    if (end == f[5] || *end || !isfinite(ref->value)) {
        bb_fmt(why, len, "value '%s' is not a number", f[5]);
        return false;
    }
    bb_fmt(ref->experiment, sizeof ref->experiment, "%s", f[0]);
    bb_fmt(ref->model, sizeof ref->model, "%s", f[1]);
    bb_fmt(ref->system, sizeof ref->system, "%s", f[2]);
    bb_fmt(ref->family, sizeof ref->family, "%s", f[3]);
    bb_fmt(ref->metric, sizeof ref->metric, "%s", f[4]);
    bb_fmt(ref->unit, sizeof ref->unit, "%s", f[6]);
    bb_fmt(ref->text, sizeof ref->text, "%s", f[5]);
    bb_fmt(ref->source, sizeof ref->source, "%s", f[7]);
    return true;
}

int bb_report_load_refs(bb_report *r, const char *path)
{
    bb_fmt(r->ref_path, sizeof r->ref_path, "%s", path ? path : "");
    FILE *f = path ? fopen(path, "r") : NULL;
    if (!f) {
        bb_fmt(r->ref_error, sizeof r->ref_error, "cannot read %s: %s", path ? path : "(none found)",
               path ? strerror(errno) : "no results/reference/paper.csv in the source tree");
        return -1;
    }
    char line[1024], why[160];
    size_t lineno = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        line[strcspn(line, "\r\n")] = 0;
        if (!line[0] || line[0] == '#' || !strncmp(line, "experiment,", 11))
            continue;
        bb_paper_ref ref;
        if (!parse_ref(line, &ref, why, sizeof why)) {
            fprintf(r->log ? r->log : stderr, "bitbench report: %s:%zu: skipped: %s\n", path, lineno, why);
            continue;
        }
        bb_paper_ref *grown = realloc(r->refs, (r->n_refs + 1) * sizeof *grown);
        if (!grown)
            abort();
        r->refs = grown;
        r->refs[r->n_refs++] = ref;
    }
    fclose(f);
    if (!r->n_refs) {
        bb_fmt(r->ref_error, sizeof r->ref_error, "%s holds no reference values", path);
        return -1;
    }
    return 0;
}

const bb_paper_ref *bb_report_paper(const bb_report *r, const char *model, const char *family,
                                    const char *metric)
{
    for (size_t i = 0; i < r->n_refs; i++) {
        const bb_paper_ref *p = &r->refs[i];
        if (!strcmp(p->model, model) && !strcmp(p->family, family) && !strcmp(p->metric, metric))
            return p;
    }
    return NULL;
}

/* ------------------------------------------------------------------ the run */

/* The canonical form of an existing path, so that the report names it plainly. */
static const char *found(const char *path, char *buf, size_t len)
{
    char real[4096];
    if (realpath(path, real))
        bb_fmt(buf, len, "%s", real);
    else
        bb_fmt(buf, len, "%s", path);
    return buf;
}

const char *bb_report_find_file(const char *rel, char *buf, size_t len)
{
    char path[4096];
    const char *src = getenv("BITBENCH_SRCDIR");
    if (src && *src) {
        bb_fmt(path, sizeof path, "%s/%s", src, rel);
        if (access(path, R_OK) == 0)
            return found(path, buf, len);
    }
    char exe[4096];
    ssize_t got = readlink("/proc/self/exe", exe, sizeof exe - 1);
    char *slash = got > 0 ? (exe[got] = 0, strrchr(exe, '/')) : NULL;
    if (slash) {
        *slash = 0;
        bb_fmt(path, sizeof path, "%s/../%s", exe, rel);
        if (access(path, R_OK) == 0)
            return found(path, buf, len);
    }
    if (access(rel, R_OK) == 0)
        return found(rel, buf, len);
    bb_fmt(buf, len, "%s (not under $BITBENCH_SRCDIR, beside the executable or in the working directory)",
           rel);
    return NULL;
}

/* mkdir -p dir. */
static int make_dir(const char *dir, char *why, size_t len)
{
    char path[4096];
    bb_fmt(path, sizeof path, "%s", dir);
    for (char *p = path + 1;; p++) {
        if (*p != '/' && *p)
            continue;
        char keep = *p;
        *p = 0;
        if (mkdir(path, 0755) != 0 && errno != EEXIST) {
            bb_fmt(why, len, "cannot create %s: %s", path, strerror(errno));
            return -1;
        }
        *p = keep;
        if (!keep)
            break;
    }
    if (access(dir, W_OK) != 0) {
        bb_fmt(why, len, "cannot write into %s: %s", dir, strerror(errno));
        return -1;
    }
    return 0;
}

static void default_out_dir(const char *first_input, char *buf, size_t len)
{
    bb_fmt(buf, len, "%s", first_input);
    char *slash = strrchr(buf, '/');
    if (!slash)
        bb_fmt(buf, len, ".");
    else if (slash == buf)
        buf[1] = 0;
    else
        *slash = 0;
}

static int write_markdown(const bb_report *r, const char *dir, const char *plots_note)
{
    char path[4096];
    bb_fmt(path, sizeof path, "%s/REPORT.md", dir);
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(r->log, "bitbench report: cannot write %s: %s\n", path, strerror(errno));
        return -1;
    }
    bb_report_markdown(r, f, plots_note);
    if (fclose(f) != 0) {
        fprintf(r->log, "bitbench report: cannot write %s: %s\n", path, strerror(errno));
        return -1;
    }
    fprintf(r->log, "bitbench report: wrote %s\n", path);
    return 0;
}

/* The figures, or why there are none: markdown lines for the report. */
static void make_plots(const bb_report *r, const bb_report_opts *o, const char *dir, char *note,
                       size_t len)
{
    char plots[4096];
    const char *plots_dir = o->plots_dir;
    if (!plots_dir)
        plots_dir = bb_report_find_file("plots", plots, sizeof plots);
    if (o->no_plots)
        bb_fmt(note, len, "Plots skipped: --no-plots was given (the .dat files are written).\n");
    else if (!plots_dir)
        bb_fmt(note, len, "Plots skipped: the gnuplot scripts were not found: %s.\n", plots);
    else if (bb_report_plot(r, dir, plots_dir, o->gnuplot, note, len))
        fprintf(r->log, "bitbench report: some figures failed; see %s/gnuplot.log\n", dir);
}

int bb_report_run(const bb_report_opts *o)
{
    FILE *log = o->log ? o->log : stderr;
    char dir[4096], why[512], refbuf[4096];
    if (!o->n_inputs) {
        fprintf(log, "bitbench report: no results file given (bitbench report RESULTS.jsonl... [--out DIR])\n");
        return 2;
    }
    if (o->out_dir)
        bb_fmt(dir, sizeof dir, "%s", o->out_dir);
    else
        default_out_dir(o->inputs[0], dir, sizeof dir);
    if (make_dir(dir, why, sizeof why)) {
        fprintf(log, "bitbench report: --out '%s': %s\n", dir, why);
        return 2;
    }
    bb_report r;
    memset(&r, 0, sizeof r);
    if (!bb_report_load(&r, o->inputs, o->n_inputs, log)) {
        fprintf(log, "bitbench report: no usable sweep rows in %s%s\n", o->inputs[0],
                o->n_inputs > 1 ? " or the other files given" : "");
        bb_report_free(&r);
        return 2;
    }
    const char *ref = o->reference_csv;
    if (!ref)
        ref = bb_report_find_file("results/reference/paper.csv", refbuf, sizeof refbuf);
    if (!ref)
        bb_fmt(r.ref_error, sizeof r.ref_error, "not found: %s", refbuf);
    else if (bb_report_load_refs(&r, ref))
        fprintf(log, "bitbench report: paper values unavailable: %s\n", r.ref_error);
    enum { NOTE_LEN = 16384 };
    char *note = calloc(1, NOTE_LEN);
    if (!note)
        abort();
    if (bb_report_write_data(&r, dir, why, sizeof why)) {
        fprintf(log, "bitbench report: %s\n", why);
        bb_fmt(note, NOTE_LEN, "Plots skipped: the data files could not be written: %s.\n", why);
    } else {
        make_plots(&r, o, dir, note, NOTE_LEN);
    }
    int rc = write_markdown(&r, dir, note) ? 2 : 0;
    free(note);
    bb_report_free(&r);
    return rc;
}
