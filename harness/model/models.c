/* harness/model/models.c - the model catalogue and what follows from a shape (models.h). */
#include "models.h"
#include "../base/file.h"
#include "../results/budget.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { DIM_MAX = 1u << 20 };

static const char *const field_names[] = {"hidden", "ffn", "layers", "heads", "kv_heads", "vocab"};
enum { N_DIMS = 6 };

static uint32_t *dim_slot(bb_model *m, int i)
{
    uint32_t *slots[N_DIMS] = {&m->hidden, &m->ffn, &m->layers, &m->heads, &m->kv_heads, &m->vocab};
    return slots[i];
}

int bb_model_validate(const bb_model *m, char *err, size_t errlen)
{
    for (int i = 0; i < N_DIMS; i++) {
        uint32_t v = *dim_slot((bb_model *)m, i);
        if (v < 1 || v >= DIM_MAX) {
            snprintf(err, errlen, "model '%s': %s %u is outside 1..%u", m->name, field_names[i], v,
                     DIM_MAX - 1);
            return -1;
        }
    }
    if (m->hidden % m->heads) {
        snprintf(err, errlen, "model '%s': hidden %u is not a multiple of heads %u", m->name, m->hidden,
                 m->heads);
        return -1;
    }
    if (m->heads % m->kv_heads) {
        snprintf(err, errlen, "model '%s': heads %u is not a multiple of kv_heads %u", m->name, m->heads,
                 m->kv_heads);
        return -1;
    }
    return 0;
}

/* User text for a message: bytes outside printable ASCII as \xHH (a binary file given as
 * a catalogue must not write raw bytes to the terminal), at most 40 of them, then "...". */
static const char *shown(const char *s, size_t len, char *buf, size_t buflen)
{
    size_t o = 0;
    for (size_t i = 0; i < len && o + 8 < buflen; i++) {
        unsigned char c = (unsigned char)s[i];
        if (i == 40) {
            o += (size_t)snprintf(buf + o, buflen - o, "...");
            break;
        }
        o += (size_t)snprintf(buf + o, buflen - o, c >= 0x20 && c < 0x7f ? "%c" : "\\x%02x", c);
    }
    buf[o < buflen ? o : buflen - 1] = 0;
    return buf;
}

/* Names end up in result keys ("70B|tern2|..."), so they keep to a safe alphabet. */
static int set_name(bb_model *m, const char *s, size_t len, char *err, size_t errlen)
{
    if (len == 0 || len >= BB_MODEL_NAME_MAX) {
        char b[200];
        snprintf(err, errlen, "model name '%s': expected 1 to %d characters", shown(s, len, b, sizeof b),
                 BB_MODEL_NAME_MAX - 1);
        return -1;
    }
    for (size_t i = 0; i < len; i++)
        if (!isalnum((unsigned char)s[i]) && !strchr("._-+", s[i])) {
            char b[200];
            snprintf(err, errlen, "model name '%s': only letters, digits and . _ - + are allowed",
                     shown(s, len, b, sizeof b));
            return -1;
        }
    memcpy(m->name, s, len);
    m->name[len] = 0;
    return 0;
}

static int parse_dim(const char *s, size_t len, const char *what, uint32_t *out, char *err, size_t errlen)
{
    char buf[24];
    unsigned long long v = 0;
    char *end = NULL;
    bool digits = len > 0 && len < sizeof buf;
    for (size_t i = 0; digits && i < len; i++)
        digits = isdigit((unsigned char)s[i]);
    if (digits) {
        memcpy(buf, s, len);
        buf[len] = 0;
        errno = 0;
        v = strtoull(buf, &end, 10);
    }
    if (!digits || errno || v < 1 || v >= DIM_MAX) {
        char b[200];
        snprintf(err, errlen, "%s '%s': expected a whole number from 1 to %u", what, shown(s, len, b, sizeof b),
                 DIM_MAX - 1);
        return -1;
    }
    *out = (uint32_t)v;
    return 0;
}

static void trim(const char **s, size_t *len)
{
    while (*len && isspace((unsigned char)**s))
        (*s)++, (*len)--;
    while (*len && isspace((unsigned char)(*s)[*len - 1]))
        (*len)--;
}

/* Splits one catalogue line (without its newline) at sep into name, 6 dimensions and,
 * when want_source, the rest as the source.  0 or -1 with the reason in err. */
static int parse_fields(const char *line, size_t linelen, char sep, bool want_source, bb_model *m,
                        char *err, size_t errlen)
{
    const char *p = line, *end = line + linelen;
    memset(m, 0, sizeof *m);
    for (int f = 0; f < 1 + N_DIMS; f++) {
        const char *q = memchr(p, sep, (size_t)(end - p));
        bool last = f == N_DIMS;
        if (!q && !(last && !want_source)) {
            snprintf(err, errlen, "expected %s fields separated by '%c', found %d",
                     want_source ? "8 (name,hidden,ffn,layers,heads,kv_heads,vocab,source)"
                                 : "7 (name:hidden:ffn:layers:heads:kv:vocab)",
                     sep, f + 1);
            return -1;
        }
        if (!q)
            q = end;
        const char *s = p;
        size_t len = (size_t)(q - p);
        trim(&s, &len);
        int rc = f == 0 ? set_name(m, s, len, err, errlen)
                        : parse_dim(s, len, field_names[f - 1], dim_slot(m, f - 1), err, errlen);
        if (rc)
            return -1;
        p = q < end ? q + 1 : end;
    }
    if (want_source) {
        const char *s = p;
        size_t len = (size_t)(end - p);
        trim(&s, &len);
        if (len >= BB_MODEL_SOURCE_MAX)
            len = BB_MODEL_SOURCE_MAX - 1;
        memcpy(m->source, s, len);
        m->source[len] = 0;
        if (!len)
            snprintf(m->source, sizeof m->source, "unstated");
    } else if (p != end) {
        snprintf(err, errlen, "expected 7 fields (name:hidden:ffn:layers:heads:kv:vocab), found more");
        return -1;
    }
    return bb_model_validate(m, err, errlen);
}

static bool skippable(const char *s, size_t len)
{
    trim(&s, &len);
    return len == 0 || s[0] == '#' || (len >= 5 && strncmp(s, "name,", 5) == 0);
}

int bb_models_parse(const char *text, bb_model *out, size_t cap, size_t *n, char *err, size_t errlen)
{
    *n = 0;
    int lineno = 0;
    for (const char *line = text; *line;) {
        const char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        lineno++;
        if (len && line[len - 1] == '\r')
            len--;
        if (!skippable(line, len)) {
            char why[224];
            bb_model m;
            if (parse_fields(line, len, ',', true, &m, why, sizeof why)) {
                snprintf(err, errlen, "line %d: %s", lineno, why);
                return -1;
            }
            if (bb_models_find(out, *n, m.name)) {
                snprintf(err, errlen, "line %d: model '%s' is already defined", lineno, m.name);
                return -1;
            }
            if (*n == cap) {
                snprintf(err, errlen, "line %d: more than %zu models", lineno, cap);
                return -1;
            }
            out[(*n)++] = m;
        }
        line = nl ? nl + 1 : line + strlen(line); /* not + len: a last line may end in '\r' */
    }
    if (*n == 0) {
        snprintf(err, errlen, "no model lines (expected name,hidden,ffn,layers,heads,kv_heads,vocab,source)");
        return -1;
    }
    return 0;
}

int bb_models_load(const char *path, bb_model *out, size_t cap, size_t *n, char *err, size_t errlen)
{
    FILE *f = bb_fopen_readable(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, bb_fopen_error(errno));
        return -1;
    }
    char *text = NULL;
    size_t size = 0, used = 0;
    for (;;) {
        if (used + 4096 + 1 > size) {
            size_t bigger = size ? 2 * size : 8192;
            char *t = realloc(text, bigger);
            if (!t || bigger > (1u << 24)) {
                free(t ? t : text);
                fclose(f);
                snprintf(err, errlen, "%s: too large for a catalogue (over 16 MiB) or out of memory", path);
                return -1;
            }
            text = t;
            size = bigger;
        }
        size_t got = fread(text + used, 1, 4096, f);
        used += got;
        if (got < 4096)
            break;
    }
    fclose(f);
    text[used] = 0;
    char why[256];
    int rc = bb_models_parse(text, out, cap, n, why, sizeof why);
    if (rc)
        snprintf(err, errlen, "%s: %s", path, why);
    free(text);
    return rc;
}

const char *bb_models_default_path(char *buf, size_t len)
{
    const char *env = getenv("BITBENCH_MODELS");
    if (env && *env) {
        snprintf(buf, len, "%s", env);
        return access(buf, R_OK) == 0 ? buf : NULL;
    }
    if (access("results/models.csv", R_OK) == 0) {
        snprintf(buf, len, "results/models.csv");
        return buf;
    }
    char exe[4096];
    ssize_t got = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (got > 0) {
        exe[got] = 0;
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = 0;
            snprintf(buf, len, "%s/../results/models.csv", exe);
            if (access(buf, R_OK) == 0)
                return buf;
        }
    }
    snprintf(buf, len, "results/models.csv (none in the working directory or beside the executable; "
                       "set BITBENCH_MODELS)");
    return NULL;
}

int bb_model_parse_shape(const char *spec, bb_model *out, char *err, size_t errlen)
{
    char why[224];
    if (parse_fields(spec, strlen(spec), ':', false, out, why, sizeof why)) {
        char b[200];
        snprintf(err, errlen, "--model-shape '%s': %s", shown(spec, strlen(spec), b, sizeof b), why);
        return -1;
    }
    snprintf(out->source, sizeof out->source, "--model-shape %s", spec);
    return 0;
}

const bb_model *bb_models_find(const bb_model *models, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(models[i].name, name) == 0)
            return &models[i];
    return NULL;
}

size_t bb_model_head_dim(const bb_model *m) { return m->hidden / m->heads; }
size_t bb_model_kv_dim(const bb_model *m) { return (size_t)m->kv_heads * bb_model_head_dim(m); }

void bb_model_projections(const bb_model *m, bb_proj out[BB_PROJ_COUNT])
{
    size_t h = m->hidden, kv = bb_model_kv_dim(m), f = m->ffn;
    out[BB_PROJ_Q] = (bb_proj){"q", h, h};
    out[BB_PROJ_K] = (bb_proj){"k", kv, h};
    out[BB_PROJ_V] = (bb_proj){"v", kv, h};
    out[BB_PROJ_O] = (bb_proj){"o", h, h};
    out[BB_PROJ_GATE] = (bb_proj){"gate", f, h};
    out[BB_PROJ_UP] = (bb_proj){"up", f, h};
    out[BB_PROJ_DOWN] = (bb_proj){"down", h, f};
}

void bb_model_params_count(const bb_model *m, bb_model_params *out)
{
    bb_proj p[BB_PROJ_COUNT];
    bb_model_projections(m, p);
    uint64_t per_layer = 0;
    for (int i = 0; i < BB_PROJ_COUNT; i++)
        per_layer += (uint64_t)p[i].m * p[i].k;
    out->linear = per_layer * m->layers;
    out->embedding = (uint64_t)m->vocab * m->hidden;
    out->head = out->embedding;
    out->norm = (2ull * m->layers + 1) * m->hidden;
    out->total = out->linear + out->embedding + out->head + out->norm;
}

void bb_model_weight_bytes(const bb_model *m, bb_format_id f, bb_model_bytes *out)
{
    bb_proj p[BB_PROJ_COUNT];
    bb_model_projections(m, p);
    uint64_t per_layer = 0;
    for (int i = 0; i < BB_PROJ_COUNT; i++)
        per_layer += bb_weights_bytes(f, p[i].m, p[i].k);
    bb_model_params params;
    bb_model_params_count(m, &params);
    out->linear = per_layer * m->layers;
    out->embedding_head = 2 * bb_weights_bytes(BB_FMT_FP16, m->vocab, m->hidden);
    out->norm = params.norm * 2;
    out->total = out->linear + out->embedding_head + out->norm;
}

const char bb_model_kv_formula[] =
    "2 (K and V) x layers x kv_heads x (hidden / heads) x seq_len x bytes per element (fp16: 2)";

uint64_t bb_model_kv_bytes_per_seq(const bb_model *m, uint32_t seq_len, uint32_t elem_bytes)
{
    return 2ull * m->layers * bb_model_kv_dim(m) * seq_len * elem_bytes;
}

uint64_t bb_model_max_batch(uint64_t weight_bytes, uint64_t kv_bytes_per_seq, uint64_t budget)
{
    return bb_budget_max_batch(weight_bytes, kv_bytes_per_seq, budget);
}

int bb_model_shape_check(const bb_model *m, const bb_kernel *kn, const bb_kernel *head_kn, size_t n,
                         char *err, size_t errlen)
{
    bb_proj proj[BB_PROJ_COUNT];
    char why[400];
    bb_model_projections(m, proj);
    for (int p = 0; p < BB_PROJ_COUNT; p++)
        if (bb_kernel_shape_check(kn, proj[p].m, proj[p].k, n, why, sizeof why)) {
            snprintf(err, errlen, "model %s, projection %s (M x K = %zu x %zu): %s", m->name, proj[p].name,
                     proj[p].m, proj[p].k, why);
            return -1;
        }
    if (head_kn && bb_kernel_shape_check(head_kn, m->vocab, m->hidden, n, why, sizeof why)) {
        snprintf(err, errlen, "model %s, LM head (M x K = %u x %u): %s", m->name, m->vocab, m->hidden, why);
        return -1;
    }
    return 0;
}
