/* harness/tune/tune.c - the tuning record (read, write, merge), its classes, and the selection rule. */
#include "tune.h"

#include "../machine/machine.h"
#include "../model/models.h"
#include "../base/stats.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void copy(char *dst, size_t len, const char *src)
{
    size_t n = src ? strlen(src) : 0;
    if (n >= len)
        n = len - 1;
    memcpy(dst, src ? src : "", n);
    dst[n] = '\0';
}

/* ------------------------------------------------------------------ classes */

int bb_tune_log2_class(size_t v)
{
    if (v < 1)
        v = 1;
    return (int)floor(log2((double)v) + 0.5);
}

char *bb_tune_shape_class(size_t m, size_t k, char *buf, size_t len)
{
    snprintf(buf, len, "m%dk%d", bb_tune_log2_class(m), bb_tune_log2_class(k));
    return buf;
}

bb_batch_class bb_tune_batch_class(size_t n)
{
    return n <= 1 ? BB_BATCH_DECODE : n < 32 ? BB_BATCH_SMALL : BB_BATCH_PREFILL;
}

static const char *const batch_names[] = {"decode", "small", "prefill"};

const char *bb_tune_batch_class_name(bb_batch_class c)
{
    return (unsigned)c < 3 ? batch_names[c] : "?";
}

static int batch_parse(const char *s, bb_batch_class *out)
{
    for (int i = 0; i < 3; i++)
        if (s && !strcmp(s, batch_names[i])) {
            *out = (bb_batch_class)i;
            return 0;
        }
    return -1;
}

/* ------------------------------------------------------------------ table */

void bb_tune_table_init(bb_tune_table *t, const char *machine_id, const char *cpu_model)
{
    memset(t, 0, sizeof *t);
    t->version = BB_TUNE_VERSION;
    copy(t->machine_id, sizeof t->machine_id, machine_id);
    copy(t->cpu_model, sizeof t->cpu_model, cpu_model);
}

void bb_tune_table_free(bb_tune_table *t)
{
    free(t->entries);
    t->entries = NULL;
    t->n = t->cap = 0;
}

static bool same_key(const bb_tune_entry *a, const char *format, const char *shape_class, unsigned threads,
                     bb_batch_class batch)
{
    return !strcmp(a->format, format) && !strcmp(a->shape_class, shape_class) && a->threads == threads &&
           a->batch == batch;
}

const bb_tune_entry *bb_tune_table_get(const bb_tune_table *t, const char *format, const char *shape_class,
                                       unsigned threads, bb_batch_class batch)
{
    for (size_t i = 0; t && i < t->n; i++)
        if (same_key(&t->entries[i], format, shape_class, threads, batch))
            return &t->entries[i];
    return NULL;
}

int bb_tune_table_put(bb_tune_table *t, const bb_tune_entry *e)
{
    for (size_t i = 0; i < t->n; i++)
        if (same_key(&t->entries[i], e->format, e->shape_class, e->threads, e->batch)) {
            t->entries[i] = *e;
            return 0;
        }
    if (t->n == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 16;
        bb_tune_entry *p = realloc(t->entries, cap * sizeof *p);
        if (!p)
            return -1;
        t->entries = p;
        t->cap = cap;
    }
    t->entries[t->n++] = *e;
    return 0;
}

/* ------------------------------------------------------------------ file */

const char *bb_tune_default_path(const char *machine_id, char *buf, size_t len)
{
    const char *env = getenv("BITBENCH_TUNING");
    if (env && env[0])
        copy(buf, len, env);
    else
        snprintf(buf, len, "results/tuning/%s.json", machine_id);
    return buf;
}

json_t *bb_tune_entry_json(const bb_tune_entry *e)
{
    json_t *cands = json_array();
    for (size_t i = 0; i < e->n_cand; i++)
        json_array_append_new(cands, json_pack("{s:s, s:f, s:I}", "impl", e->cand[i].impl, "median_ns",
                                               e->cand[i].median_ns, "samples", (json_int_t)e->cand[i].samples));
    return json_pack("{s:s, s:s, s:I, s:I, s:I, s:i, s:s, s:s, s:s, s:s, s:f, s:[f, f], s:s, s:s, s:o}",
                     "format", e->format, "shape_class", e->shape_class, "m", (json_int_t)e->m, "k",
                     (json_int_t)e->k, "n", (json_int_t)e->n, "threads", (int)e->threads, "batch_class",
                     bb_tune_batch_class_name(e->batch), "impl", e->impl, "priority_impl", e->priority_impl,
                     "decision", e->decision, "ratio_median", e->ratio_median, "ratio_ci95", e->ratio_lo,
                     e->ratio_hi, "note", e->note, "time", e->time, "candidates", cands);
}

static int make_parents(const char *path, char *err, size_t errlen)
{
    char buf[512];
    copy(buf, sizeof buf, path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0777) != 0 && errno != EEXIST) {
            snprintf(err, errlen, "cannot create folder %s: %s", buf, strerror(errno));
            return -1;
        }
        *p = '/';
    }
    return 0;
}

int bb_tune_write(const char *path, const bb_tune_table *t, char *err, size_t errlen)
{
    json_t *entries = json_array();
    for (size_t i = 0; i < t->n; i++)
        json_array_append_new(entries, bb_tune_entry_json(&t->entries[i]));
    json_t *root = json_pack(
        "{s:s, s:i, s:s, s:{s:s, s:s}, s:s, s:s, s:s, s:s, s:o}", "schema", BB_TUNE_SCHEMA, "version",
        BB_TUNE_VERSION, "machine_id", t->machine_id, "machine", "id", t->machine_id, "cpu_model", t->cpu_model,
        "created", t->created, "updated", t->updated, "git_revision", t->git_revision, "rule",
        "per (format, shape class m<round log2 M>k<round log2 K>, threads, batch class): the implementation "
        "with the lowest median time, interleaved and cold, if its paired per-round time ratio to the priority "
        "pick has median <= 0.97 and a 95% interval below 1; otherwise the priority pick is kept",
        "entries", entries);
    if (!root) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (make_parents(path, err, errlen) != 0) {
        json_decref(root);
        return -1;
    }
    char tmp[600];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "w");
    int rc = -1;
    if (!f) {
        snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
    } else if (json_dumpf(root, f, JSON_INDENT(1) | JSON_PRESERVE_ORDER) != 0 || fputc('\n', f) == EOF ||
               fflush(f) != 0 || fsync(fileno(f)) != 0) {
        snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
        fclose(f);
        unlink(tmp);
    } else if (fclose(f) != 0 || rename(tmp, path) != 0) {
        snprintf(err, errlen, "cannot replace %s: %s", path, strerror(errno));
        unlink(tmp);
    } else {
        rc = 0;
    }
    json_decref(root);
    return rc;
}

static const char *str_of(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

static int entry_from_json(const json_t *j, bb_tune_entry *e)
{
    memset(e, 0, sizeof *e);
    const json_t *ci = json_object_get(j, "ratio_ci95");
    if (!json_is_object(j) || !json_is_string(json_object_get(j, "format")) ||
        !json_is_string(json_object_get(j, "shape_class")) || !json_is_string(json_object_get(j, "impl")) ||
        !json_is_integer(json_object_get(j, "threads")) ||
        batch_parse(json_string_value(json_object_get(j, "batch_class")), &e->batch) != 0)
        return -1;
    copy(e->format, sizeof e->format, str_of(j, "format"));
    copy(e->shape_class, sizeof e->shape_class, str_of(j, "shape_class"));
    copy(e->impl, sizeof e->impl, str_of(j, "impl"));
    copy(e->priority_impl, sizeof e->priority_impl, str_of(j, "priority_impl"));
    copy(e->decision, sizeof e->decision, str_of(j, "decision"));
    copy(e->note, sizeof e->note, str_of(j, "note"));
    copy(e->time, sizeof e->time, str_of(j, "time"));
    e->m = (size_t)json_integer_value(json_object_get(j, "m"));
    e->k = (size_t)json_integer_value(json_object_get(j, "k"));
    e->n = (size_t)json_integer_value(json_object_get(j, "n"));
    e->threads = (unsigned)json_integer_value(json_object_get(j, "threads"));
    e->ratio_median = json_number_value(json_object_get(j, "ratio_median"));
    e->ratio_lo = json_number_value(json_array_get(ci, 0));
    e->ratio_hi = json_number_value(json_array_get(ci, 1));
    const json_t *cands = json_object_get(j, "candidates");
    for (size_t i = 0; i < json_array_size(cands) && e->n_cand < sizeof e->cand / sizeof e->cand[0]; i++) {
        const json_t *c = json_array_get(cands, i);
        bb_tune_candidate *d = &e->cand[e->n_cand++];
        copy(d->impl, sizeof d->impl, str_of(c, "impl"));
        d->median_ns = json_number_value(json_object_get(c, "median_ns"));
        d->samples = (size_t)json_integer_value(json_object_get(c, "samples"));
    }
    return 0;
}

int bb_tune_read(const char *path, bb_tune_table *t, char *err, size_t errlen)
{
    memset(t, 0, sizeof *t);
    copy(t->path, sizeof t->path, path);
    if (access(path, F_OK) != 0 && errno == ENOENT)
        return 1;
    json_error_t je;
    json_t *root = json_load_file(path, 0, &je);
    if (!root) {
        snprintf(err, errlen, "tuning record %s: not JSON (%s, line %d); delete it or run `bitbench tune`", path,
                 je.text, je.line);
        return -1;
    }
    const char *schema = json_string_value(json_object_get(root, "schema"));
    const json_t *ver = json_object_get(root, "version");
    int rc = -1;
    if (!schema || strcmp(schema, BB_TUNE_SCHEMA) != 0) {
        snprintf(err, errlen, "tuning record %s: schema is '%s', expected '%s'", path, schema ? schema : "(none)",
                 BB_TUNE_SCHEMA);
    } else if (!json_is_integer(ver) || json_integer_value(ver) != BB_TUNE_VERSION) {
        char vbuf[32] = "(none)";
        if (json_is_integer(ver))
            snprintf(vbuf, sizeof vbuf, "%lld", (long long)json_integer_value(ver));
        snprintf(err, errlen,
                 "tuning record %s: version %s, this build reads only version %d; run `bitbench tune` to "
                 "measure again (the old file is replaced)",
                 path, vbuf, BB_TUNE_VERSION);
    } else {
        t->version = BB_TUNE_VERSION;
        copy(t->machine_id, sizeof t->machine_id, str_of(root, "machine_id"));
        copy(t->cpu_model, sizeof t->cpu_model, str_of(json_object_get(root, "machine"), "cpu_model"));
        copy(t->created, sizeof t->created, str_of(root, "created"));
        copy(t->updated, sizeof t->updated, str_of(root, "updated"));
        copy(t->git_revision, sizeof t->git_revision, str_of(root, "git_revision"));
        const json_t *entries = json_object_get(root, "entries");
        rc = 0;
        for (size_t i = 0; i < json_array_size(entries); i++) {
            bb_tune_entry e;
            if (entry_from_json(json_array_get(entries, i), &e) != 0) {
                snprintf(err, errlen, "tuning record %s: entry %zu lacks format, shape_class, impl, threads or "
                         "batch_class; run `bitbench tune` to measure again", path, i + 1);
                rc = -1;
                break;
            }
            if (bb_tune_table_put(t, &e) != 0) {
                snprintf(err, errlen, "out of memory");
                rc = -1;
                break;
            }
        }
        if (rc != 0)
            bb_tune_table_free(t);
    }
    json_decref(root);
    return rc;
}

/* ------------------------------------------------------------------ the selection rule */

static const bb_kernel *priority_pick(const char *format, bb_select_rule *rule, const char *why)
{
    const bb_kernel *k = bb_kernel_find_best(format);
    if (rule) {
        rule->tuned = false;
        snprintf(rule->text, sizeof rule->text, "priority: %s", why);
    }
    return k;
}

const bb_kernel *bb_tune_select(const bb_tune_table *t, const char *machine_id, const char *format,
                                size_t m, size_t k, size_t n, unsigned threads, bb_select_rule *rule)
{
    char why[300], sc[16];
    bb_batch_class bc = bb_tune_batch_class(n);
    bb_tune_shape_class(m, k, sc, sizeof sc);
    if (!bb_format_find(format))
        return NULL;
    if (!t) {
        snprintf(why, sizeof why, "no tuning record for this machine (%s)", machine_id);
        return priority_pick(format, rule, why);
    }
    if (strcmp(t->machine_id, machine_id) != 0) {
        snprintf(why, sizeof why, "tuning record %.200s is for machine %s, this is %s", t->path, t->machine_id,
                 machine_id);
        return priority_pick(format, rule, why);
    }
    const bb_tune_entry *e = bb_tune_table_get(t, format, sc, threads, bc);
    if (!e) {
        snprintf(why, sizeof why, "no tuning record for %s %s %u thread(s) %s in %.200s", format, sc, threads,
                 bb_tune_batch_class_name(bc), t->path);
        return priority_pick(format, rule, why);
    }
    const bb_kernel *kn = bb_kernel_find_exact(e->impl);
    if (!kn || strcmp(bb_formats[kn->format].name, format) != 0) {
        snprintf(why, sizeof why, "tuning record names '%s', which is no %s implementation of this build",
                 e->impl, format);
        return priority_pick(format, rule, why);
    }
    if (!bb_kernel_runnable(kn)) {
        snprintf(why, sizeof why, "tuning record names %s, which cannot run here (ISA cap %s)", e->impl,
                 bb_isa_name(bb_isa_cap()));
        return priority_pick(format, rule, why);
    }
    if (rule) {
        rule->tuned = true;
        snprintf(rule->text, sizeof rule->text, "tuned: %.200s %.10s (%s %s t%u %s: %s)", t->path,
                 t->updated[0] ? t->updated : t->created, format, sc, threads, bb_tune_batch_class_name(bc),
                 e->decision);
    }
    return kn;
}

/* The process's record: read once. */
static struct {
    bool loaded, present;
    bb_tune_table t;
    char machine_id[17];
    char err[400];
} cache;

void bb_tune_forget(void)
{
    if (cache.loaded && cache.present)
        bb_tune_table_free(&cache.t);
    memset(&cache, 0, sizeof cache);
}

static void load_once(void)
{
    if (cache.loaded)
        return;
    cache.loaded = true;
    bb_machine mach;
    bb_machine_describe(&mach);
    copy(cache.machine_id, sizeof cache.machine_id, mach.id);
    char path[512];
    bb_tune_default_path(mach.id, path, sizeof path);
    int rc = bb_tune_read(path, &cache.t, cache.err, sizeof cache.err);
    cache.present = rc == 0;
    if (rc < 0)
        fprintf(stderr, "bitbench: %s; using the priority order\n", cache.err);
}

const bb_kernel *bb_select_kernel(const char *format, size_t m, size_t k, size_t n, unsigned threads,
                                  bb_select_rule *rule)
{
    load_once();
    bb_select_rule r;
    const bb_kernel *kn =
        bb_tune_select(cache.present ? &cache.t : NULL, cache.machine_id, format, m, k, n, threads, &r);
    if (kn && !cache.present && cache.err[0])
        snprintf(r.text, sizeof r.text, "priority: tuning record unusable (%.280s)", cache.err);
    if (rule)
        *rule = r;
    return kn;
}

void bb_tune_model_case(const struct bb_model *m, const unsigned *threads, size_t n_threads, size_t *pm, size_t *pk,
                        unsigned *pt, const char **proj_name)
{
    unsigned t = 1;
    for (size_t i = 0; i < n_threads; i++)
        t = threads[i] > t ? threads[i] : t;
    bb_proj proj[BB_PROJ_COUNT];
    bb_model_projections(m, proj);
    size_t big = 0;
    for (size_t p = 1; p < BB_PROJ_COUNT; p++)
        if ((uint64_t)proj[p].m * proj[p].k > (uint64_t)proj[big].m * proj[big].k)
            big = p;
    *pm = proj[big].m;
    *pk = proj[big].k;
    *pt = t;
    if (proj_name)
        *proj_name = proj[big].name;
}

const bb_kernel *bb_select_kernel_model(const char *format, const struct bb_model *m, const unsigned *threads,
                                        size_t n_threads, bb_select_rule *rule)
{
    size_t pm, pk;
    unsigned t;
    const char *name;
    bb_tune_model_case(m, threads, n_threads, &pm, &pk, &t, &name);
    bb_select_rule r;
    const bb_kernel *k = bb_select_kernel(format, pm, pk, 1, t, &r);
    if (rule) {
        rule->tuned = r.tuned;
        snprintf(rule->text, sizeof rule->text, "%.300s [sweep: one impl per model and format, picked at %s %zux%zu, "
                 "%u thread(s), decode]", r.text, name, pm, pk, t);
    }
    return k;
}

void bb_tune_hint(const char *cmd)
{
    static bool said;
    load_once();
    if (said || cache.present || cache.err[0])
        return;
    said = true;
    char path[512];
    fprintf(stderr,
            "%s: no tuning record for this machine (%s): --kernel picks by fixed priority; "
            "`bitbench tune` measures the fastest per shape (a few minutes; take the timing lock)\n",
            cmd, bb_tune_default_path(cache.machine_id, path, sizeof path));
}

/* ------------------------------------------------------------------ the decision */

void bb_tune_paired_ratio(const double *a, const double *b, size_t n, double *median, double *lo, double *hi)
{
    double *r = malloc((n ? n : 1) * sizeof *r);
    if (!r || n == 0) {
        free(r);
        *median = *lo = *hi = NAN;
        return;
    }
    for (size_t i = 0; i < n; i++)
        r[i] = b[i] > 0 ? a[i] / b[i] : NAN;
    qsort(r, n, sizeof *r, bb_cmp_double);
    *median = bb_quantile_sorted(r, n, 0.5);
    if (n < 6) {
        *lo = r[0];
        *hi = r[n - 1];
    } else {
        /* ranks of the 95% interval of the median: n/2 -+ 1.96 sqrt(n)/2 (1-based) */
        double h = 0.98 * sqrt((double)n);
        long j = (long)floor((double)n / 2.0 - h), kk = (long)ceil((double)n / 2.0 + 1.0 + h);
        if (j < 1)
            j = 1;
        if (kk > (long)n)
            kk = (long)n;
        *lo = r[j - 1];
        *hi = r[kk - 1];
    }
    free(r);
}
