/*
 * harness/compare/compare_rows.c - result files as compare and history see them: one bb_row per
 * measured (or not measured) key, from sweep rows or gemm JSON lines, and normalization
 * to a reference implementation of the same run.
 */
#include "compare.h"
#include "../results/results.h"
#include "../results/row.h"
#include "../base/stats.h"
#include "../base/file.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

static char *fmt_alloc(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *fmt_alloc(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *s = malloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

static const char *str_member(const json_t *o, const char *name)
{
    return json_string_value(json_object_get(o, name));
}

static int samples_from(bb_row *r, const json_t *arr)
{
    size_t i, n = json_array_size(arr);
    json_t *v;
    if (!json_is_array(arr) || n == 0)
        return -1;
    r->samples = malloc(n * sizeof *r->samples);
    json_array_foreach(arr, i, v) {
        if (!json_is_number(v) || json_number_value(v) <= 0)
            return -1;
        r->samples[i] = json_number_value(v);
    }
    r->n = n;
    return 0;
}

static void machine_from(bb_row *r, const json_t *m)
{
    const char *id = str_member(m, "id");
    if (!id)
        return;
    r->machine_id = strdup(id);
    const char *cpu = str_member(m, "cpu_model"), *cap = str_member(m, "isa_cap");
    r->machine_desc = fmt_alloc("%s; ISA cap %s; %lld cores", cpu ? cpu : "cpu unknown", cap ? cap : "unknown",
                                (long long)json_integer_value(json_object_get(m, "cores")));
}

/* Instructions retired per token from a row's counters object (harness/probe/counters.h). */
static void instructions_from(bb_row *r, const json_t *counters)
{
    const json_t *ipt = json_object_get(json_object_get(counters, "derived"), "instructions_per_token");
    const json_t *v = json_object_get(ipt, "value");
    if (json_is_number(v) && json_number_value(v) > 0) {
        r->have_instructions = true;
        r->instructions_per_token = json_number_value(v);
        return;
    }
    const char *why = str_member(ipt, "reason");
    if (!why)
        why = str_member(counters, "reason");
    r->instructions_reason = strdup(why ? why : "no instruction counter in this row");
}

/* "a|fmt|impl|rest..." without fields 1 and 2. */
static char *group_of_key(const char *key)
{
    char *g = malloc(strlen(key) + 1), *out = g;
    int field = 0;
    for (const char *p = key; *p; p++) {
        if (*p == '|')
            field++;
        if (field != 1 && field != 2)
            *out++ = *p;
    }
    *out = '\0';
    return g;
}

/* The measured samples of a typed row: every one a positive number. */
static int typed_samples(bb_row *r, const bb_result_samples *s)
{
    if (!s->present || s->n == 0)
        return -1;
    r->samples = malloc(s->n * sizeof *r->samples);
    for (size_t i = 0; i < s->n; i++) {
        if (!(s->v[i] > 0))
            return -1;
        r->samples[i] = s->v[i];
    }
    r->n = s->n;
    return 0;
}

static int sweep_row(bb_row *r, const bb_result_row *w, char *err, size_t errlen)
{
    const char *key = w->key, *status = w->status;
    if (!key || !status) {
        snprintf(err, errlen, "a sweep row without %s", key ? "\"status\"" : "\"key\"");
        return -1;
    }
    r->key = strdup(key);
    r->group = group_of_key(key);
    r->run = strdup(w->run_id ? w->run_id : "unknown run");
    r->format = dup_or_null(w->format);
    r->impl = dup_or_null(w->impl);
    r->status = strdup(status);
    r->reason = dup_or_null(w->reason);
    machine_from(r, w->machine);
    instructions_from(r, w->counters);
    if (!strcmp(status, "ok") && typed_samples(r, &w->samples_step_ns) != 0) {
        snprintf(err, errlen, "row '%s' has status ok but no valid samples_step_ns", key);
        return -1;
    }
    return 0;
}

static int gemm_row(bb_row *r, const bb_result_row *w, char *err, size_t errlen)
{
    const char *fmt = w->format, *impl = w->impl, *mode = w->mode;
    if (!fmt || !impl || !mode) {
        snprintf(err, errlen, "a bitbench.gemm/1 row without format, impl or mode");
        return -1;
    }
    long long m = w->m, k = w->k, n = w->n, t = w->threads;
    r->key = fmt_alloc("gemm:%lldx%lld|%s|%s|t%lld|b%lld|%s", m, k, fmt, impl, t, n, mode);
    r->group = group_of_key(r->key);
    r->format = strdup(fmt);
    r->impl = strdup(impl);
    r->interleaved = true; /* cmd_gemm times the kernels of one invocation in turn */
    machine_from(r, w->machine);
    instructions_from(r, w->counters);
    const json_t *lat = w->latency_ns;
    if (json_is_object(lat)) {
        r->status = strdup("ok");
        if (samples_from(r, json_object_get(lat, "samples")) != 0) {
            snprintf(err, errlen, "row '%s' has latency_ns without valid samples", r->key);
            return -1;
        }
    } else {
        r->status = strdup("not_timed");
        const char *why = w->latency_unavailable;
        r->reason = strdup(why ? why : "no latency_ns");
    }
    return 0;
}

/* State carried from line to line of one file. */
typedef struct load_ctx {
    size_t gemm_runs;
    json_t *machine; /* of the last {"kind": "machine"} line: for rows that carry none */
} load_ctx;

/* gemm rows carry no run id: one invocation is a block of consecutive rows of one group
 * in which no implementation repeats. */
static void assign_gemm_run(bb_rowset *s, bb_row *r, size_t *run_no)
{
    bool same_run = false;
    if (s->n > 0 && !strncmp(s->rows[s->n - 1].run, s->path, strlen(s->path)) &&
        !strcmp(s->rows[s->n - 1].group, r->group)) {
        same_run = true;
        for (size_t i = s->n; i-- > 0 && !strcmp(s->rows[i].run, s->rows[s->n - 1].run);)
            if (!strcmp(s->rows[i].impl, r->impl))
                same_run = false;
    }
    if (!same_run)
        (*run_no)++;
    r->run = fmt_alloc("%s#%zu", s->path, *run_no);
}

static void row_free(bb_row *r)
{
    free(r->key); free(r->group); free(r->run); free(r->format); free(r->impl);
    free(r->status); free(r->reason); free(r->machine_id); free(r->machine_desc);
    free(r->samples); free(r->instructions_reason);
}

/* One line: appended to s, counted as another kind, or -1 with the reason. */
static int parse_line(bb_rowset *s, const char *line, size_t lineno, load_ctx *ctx, char *err, size_t errlen)
{
    json_error_t je;
    json_t *o = json_loads(line, 0, &je);
    if (!json_is_object(o)) {
        snprintf(err, errlen, "%s line %zu: not a JSON object (%s)", s->path, lineno, o ? "other JSON" : je.text);
        json_decref(o);
        return -1;
    }
    const char *kind = str_member(o, "kind");
    /* a row claiming both kinds is read as a sweep row (bb_result_row_read) */
    bb_result_row w;
    char why[256];
    int got = bb_result_row_read(o, &w, why, sizeof why);
    if (got < 0) {
        snprintf(err, errlen, "%s line %zu: %s", s->path, lineno, why);
        json_decref(o);
        return -1;
    }
    bool sweep = got == 0 && w.row_kind == BB_RESULT_SWEEP, gemm = got == 0 && w.row_kind == BB_RESULT_GEMM;
    if (sweep) {
        int v = w.has_schema_version ? (int)w.schema_version : 0;
        if (v > s->sweep_schema)
            s->sweep_schema = v;
        if (!s->sweep_schema_min || v < s->sweep_schema_min)
            s->sweep_schema_min = v;
    }
    if (kind && !strcmp(kind, "machine") && json_is_object(json_object_get(o, "machine"))) {
        json_decref(ctx->machine);
        ctx->machine = json_incref(json_object_get(o, "machine"));
        json_decref(o);
        return 0;
    }
    if (!sweep && !gemm) {
        s->other_lines++;
        json_decref(o);
        return 0;
    }
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 64;
        s->rows = realloc(s->rows, s->cap * sizeof *s->rows);
    }
    bb_row *r = &s->rows[s->n];
    memset(r, 0, sizeof *r);
    r->line = lineno;
    int rc = sweep ? sweep_row(r, &w, why, sizeof why) : gemm_row(r, &w, why, sizeof why);
    if (rc == 0 && gemm)
        assign_gemm_run(s, r, &ctx->gemm_runs);
    if (rc == 0 && !r->machine_id && ctx->machine)
        machine_from(r, ctx->machine);
    bb_result_row_free(&w);
    json_decref(o);
    if (rc != 0) {
        snprintf(err, errlen, "%s line %zu: %s", s->path, lineno, why);
        row_free(r);
        return -1;
    }
    s->n++;
    return 0;
}

int bb_rowset_load(const char *path, bb_rowset *s, char *err, size_t errlen)
{
    memset(s, 0, sizeof *s);
    s->path = strdup(path);
    FILE *f = bb_fopen_readable(path, "r");
    if (!f) {
        snprintf(err, errlen, "'%s': cannot open for reading: %s", path, bb_fopen_error(errno));
        return -1;
    }
    char *line = NULL;
    size_t cap = 0, lineno = 0;
    load_ctx ctx = {0};
    ssize_t len;
    int rc = 0;
    while (rc == 0 && (len = getline(&line, &cap, f)) > 0) {
        lineno++;
        if (line[len - 1] != '\n') { /* an interrupted writer's last line */
            s->truncated_last = true;
            break;
        }
        if (strspn(line, " \t\r\n") == (size_t)len)
            continue;
        rc = parse_line(s, line, lineno, &ctx, err, errlen);
    }
    free(line);
    json_decref(ctx.machine);
    fclose(f);
    if (rc == 0 && s->n == 0) {
        snprintf(err, errlen, "'%s': no sweep or gemm rows (%zu line(s) of other kinds)", path, s->other_lines);
        rc = -1;
    }
    return rc;
}

void bb_rowset_free(bb_rowset *s)
{
    for (size_t i = 0; i < s->n; i++)
        row_free(&s->rows[i]);
    free(s->rows);
    free(s->path);
    free(s->normalized_to);
    memset(s, 0, sizeof *s);
}

/* ------------------------------------------------------------------ normalization */

static bool names_ref(const bb_row *r, const char *ref, bool by_format)
{
    const char *name = by_format ? r->format : r->impl;
    return name && !strcmp(name, ref);
}

/* The reference row of r's run and group: the implementation named ref, else the row of
 * the format named ref (so `--normalize fp16` follows whatever fp16 kernel ran). */
static const bb_row *reference_of(const bb_rowset *s, const bb_row *r, const char *ref)
{
    for (int by_format = 0; by_format < 2; by_format++)
        for (size_t i = 0; i < s->n; i++) {
            const bb_row *c = &s->rows[i];
            if (!strcmp(c->run, r->run) && !strcmp(c->group, r->group) && names_ref(c, ref, by_format))
                return c;
        }
    return NULL;
}

size_t bb_rowset_normalize(bb_rowset *s, const char *ref)
{
    size_t done = 0;
    double **ratios = calloc(s->n, sizeof *ratios); /* computed first: references stay raw */
    for (size_t i = 0; i < s->n; i++) {
        bb_row *r = &s->rows[i];
        const bb_row *rr = reference_of(s, r, ref);
        if (rr == r) {
            r->is_reference = true;
            continue;
        }
        if (strcmp(r->status, "ok") != 0)
            continue;
        if (!rr || strcmp(rr->status, "ok") != 0) {
            free(r->reason);
            r->reason = rr ? fmt_alloc("reference %s of this run not measured: %s", rr->impl, rr->status)
                           : fmt_alloc("no %s row in the same run (%s) to normalize to", ref, r->run);
            free(r->status);
            r->status = strdup("no_reference");
            continue;
        }
        ratios[i] = malloc(r->n * sizeof(double));
        bool per_round = r->interleaved && rr->interleaved && r->n == rr->n;
        double ref_median = per_round ? 0 : bb_median_copy(rr->samples, rr->n);
        for (size_t j = 0; j < r->n; j++)
            ratios[i][j] = r->samples[j] / (per_round ? rr->samples[j] : ref_median);
    }
    for (size_t i = 0; i < s->n; i++) {
        if (!ratios[i])
            continue;
        free(s->rows[i].samples);
        s->rows[i].samples = ratios[i];
        s->rows[i].normalized = true;
        done++;
    }
    free(ratios);
    free(s->normalized_to);
    s->normalized_to = strdup(ref);
    return done;
}

double *bb_rowset_pool(const bb_rowset *s, const char *key, size_t *n)
{
    size_t total = 0;
    for (size_t i = 0; i < s->n; i++)
        if (!strcmp(s->rows[i].key, key) && !strcmp(s->rows[i].status, "ok"))
            total += s->rows[i].n;
    *n = total;
    if (!total)
        return NULL;
    double *v = malloc(total * sizeof *v), *p = v;
    for (size_t i = 0; i < s->n; i++)
        if (!strcmp(s->rows[i].key, key) && !strcmp(s->rows[i].status, "ok")) {
            memcpy(p, s->rows[i].samples, s->rows[i].n * sizeof *v);
            p += s->rows[i].n;
        }
    return v;
}
