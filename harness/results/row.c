/* harness/results/row.c - the one results row: writer and reader of both kinds (row.h). */
#include "row.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ init */

#define INIT_STR(name) r->name = NULL;
#define INIT_INT(name) r->name = 0, r->has_##name = false;
#define INIT_NUM(name) r->name = NAN;
#define INIT_BOOL(name) r->name = -1;
#define INIT_JSON(name) r->name = NULL;
#define INIT_SAMPLES(name) r->name = (bb_result_samples){0};
#define INIT(type, name) INIT_##type(name)

void bb_result_row_init(bb_result_row *r, bb_result_kind kind)
{
    memset(r, 0, sizeof *r);
    r->row_kind = kind;
    BB_RESULT_ROW_MEMBERS(INIT)
    if (kind == BB_RESULT_SWEEP) {
        r->schema_version = BB_RESULTS_SCHEMA_VERSION, r->has_schema_version = true;
        r->kind = "sweep";
    } else {
        r->schema = BB_GEMM_SCHEMA;
    }
}

/* ------------------------------------------------------------------ writer */

/* json_real refuses NaN and inf: those are null. */
static json_t *real_or_null(double v) { return isfinite(v) ? json_real(v) : json_null(); }

static json_t *samples_json(const bb_result_samples *s)
{
    if (!s->present)
        return json_null();
    json_t *a = json_array();
    for (size_t i = 0; i < s->n; i++)
        json_array_append_new(a, real_or_null(s->v[i]));
    return a;
}

/* Each member as a new reference (json null for a null member). */
#define OUT_STR(name) (r->name ? json_string(r->name) : json_null())
#define OUT_INT(name) (r->has_##name ? json_integer((json_int_t)r->name) : json_null())
#define OUT_NUM(name) real_or_null(r->name)
#define OUT_BOOL(name) (r->name < 0 ? json_null() : json_boolean(r->name))
#define OUT_JSON(name) (r->name ? json_incref(r->name) : json_null())
#define OUT_SAMPLES(name) samples_json(&r->name)
/* Absent: nothing to say (a JSON member may still be an explicit null). */
#define ABSENT_STR(name) (!r->name)
#define ABSENT_INT(name) (!r->has_##name)
#define ABSENT_NUM(name) (isnan(r->name))
#define ABSENT_BOOL(name) (r->name < 0)
#define ABSENT_JSON(name) (!r->name)
#define ABSENT_SAMPLES(name) (!r->name.present)
/* sweep rows say null for what is absent; gemm lines leave it out */
#define WRITE(type, name)                                                                                           \
    if (!(skip_absent && ABSENT_##type(name)))                                                                      \
        json_object_set_new(o, #name, OUT_##type(name));

json_t *bb_result_row_json(const bb_result_row *r)
{
    json_t *o = json_object();
    bool skip_absent = r->row_kind == BB_RESULT_GEMM;
    if (r->row_kind == BB_RESULT_GEMM) {
        BB_GEMM_ROW_FIELDS(WRITE)
    } else {
        BB_SWEEP_ROW_FIELDS(WRITE)
    }
    return o;
}

/* ------------------------------------------------------------------ reader */

static int read_samples(const json_t *a, bb_result_samples *s)
{
    if (!json_is_array(a))
        return 0;
    size_t n = json_array_size(a), i;
    json_t *v;
    s->v = malloc((n ? n : 1) * sizeof *s->v);
    if (!s->v)
        return -1;
    json_array_foreach(a, i, v)
        s->v[i] = json_is_number(v) ? json_number_value(v) : NAN;
    s->n = n;
    s->present = true;
    return 0;
}

#define IN_STR(name) r->name = json_string_value(v);
#define IN_INT(name) if (json_is_integer(v)) r->name = json_integer_value(v), r->has_##name = true;
#define IN_NUM(name) if (json_is_number(v)) r->name = json_number_value(v);
#define IN_BOOL(name) if (json_is_boolean(v)) r->name = json_is_true(v);
#define IN_JSON(name) r->name = v; /* an explicit null stays json null */
#define IN_SAMPLES(name) if (read_samples(v, &r->name) != 0) return -1;
#define READ(type, name)                                                                                            \
    {                                                                                                               \
        json_t *v = json_object_get(o, #name);                                                                      \
        if (v) {                                                                                                    \
            IN_##type(name)                                                                                         \
        }                                                                                                           \
    }

static int read_sweep(const json_t *o, bb_result_row *r)
{
    BB_SWEEP_ROW_FIELDS(READ)
    return 0;
}

static int read_gemm(const json_t *o, bb_result_row *r)
{
    BB_GEMM_ROW_FIELDS(READ)
    return 0;
}

int bb_result_row_read(const json_t *o, bb_result_row *r, char *why, size_t len)
{
    const char *kind = json_string_value(json_object_get(o, "kind"));
    const char *schema = json_string_value(json_object_get(o, "schema"));
    /* a line claiming both is a sweep row */
    bool sweep = kind && !strcmp(kind, "sweep"), gemm = !sweep && schema && !strcmp(schema, BB_GEMM_SCHEMA);
    if (!sweep && !gemm)
        return 1;
    json_int_t version = json_integer_value(json_object_get(o, "schema_version"));
    if (sweep && version > BB_RESULTS_SCHEMA_VERSION) {
        snprintf(why, len, "schema_version %lld is newer than this bitbench reads (%d)", (long long)version,
                 BB_RESULTS_SCHEMA_VERSION);
        return -1;
    }
    bb_result_row_init(r, sweep ? BB_RESULT_SWEEP : BB_RESULT_GEMM);
    r->kind = NULL, r->schema = NULL, r->schema_version = 0, r->has_schema_version = false;
    r->src = json_incref((json_t *)o);
    r->owns_samples = true;
    if ((sweep ? read_sweep(o, r) : read_gemm(o, r)) != 0) {
        bb_result_row_free(r);
        snprintf(why, len, "out of memory");
        return -1;
    }
    return 0;
}

#define FREE_SAMPLES(name) free(r->name.v);
#define FREE_STR(name)
#define FREE_INT(name)
#define FREE_NUM(name)
#define FREE_BOOL(name)
#define FREE_JSON(name)
#define FREE(type, name) FREE_##type(name)

void bb_result_row_free(bb_result_row *r)
{
    if (r->owns_samples) {
        BB_RESULT_ROW_MEMBERS(FREE)
    }
    json_decref(r->src);
    memset(r, 0, sizeof *r);
}

#define DROP_JSON(name) json_decref(r->name), r->name = NULL;
#define DROP_STR(name)
#define DROP_INT(name)
#define DROP_NUM(name)
#define DROP_BOOL(name)
#define DROP_SAMPLES(name)
#define DROP(type, name) DROP_##type(name)

void bb_result_row_drop_json(bb_result_row *r)
{
    BB_RESULT_ROW_MEMBERS(DROP)
}
