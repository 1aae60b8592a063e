/*
 * harness/model/models.h - the model catalogue (results/models.csv, or --model-shape) and what
 * follows from a shape: the projections of one decoder layer, parameter counts, weight
 * bytes per format, the KV cache and the largest batch under a memory budget.
 *
 * A decoder layer (LLaMA-alike, no biases) has, in decode order:
 *   q  hidden x hidden            k, v  kv_dim x hidden   (kv_dim = kv_heads * hidden/heads)
 *   o  hidden x hidden            gate, up  ffn x hidden   down  hidden x ffn
 * (M x K: M outputs, K inputs), plus two RMSNorm vectors of hidden.  The model adds an
 * embedding and an LM head (vocab x hidden each, untied, kept in fp16 as BitNet b1.58
 * does) and a final RMSNorm.
 */
#ifndef BITBENCH_MODELS_H
#define BITBENCH_MODELS_H

#include "../../kernels/kernel.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BB_MODEL_NAME_MAX 32
#define BB_MODEL_SOURCE_MAX 160
#define BB_MODELS_MAX 64

typedef struct bb_model {
    char name[BB_MODEL_NAME_MAX];
    uint32_t hidden, ffn, layers, heads, kv_heads, vocab;
    char source[BB_MODEL_SOURCE_MAX];
} bb_model;

typedef enum {
    BB_PROJ_Q, BB_PROJ_K, BB_PROJ_V, BB_PROJ_O, BB_PROJ_GATE, BB_PROJ_UP, BB_PROJ_DOWN,
    BB_PROJ_COUNT
} bb_proj_id;

typedef struct bb_proj {
    const char *name; /* "q", "k", ... */
    size_t m, k;      /* outputs x inputs */
} bb_proj;

typedef struct bb_model_params {
    uint64_t linear;    /* the 7 projections of every layer */
    uint64_t embedding; /* vocab x hidden */
    uint64_t head;      /* vocab x hidden */
    uint64_t norm;      /* 2 per layer + the final one, hidden each */
    uint64_t total;
} bb_model_params;

typedef struct bb_model_bytes {
    uint64_t linear;         /* the projections in the format (bb_weights_bytes, scales incl.) */
    uint64_t embedding_head; /* fp16 embedding + fp16 LM head */
    uint64_t norm;           /* fp16 norm vectors */
    uint64_t total;
} bb_model_bytes;

/* Checks a shape: every field >= 1, heads divides hidden, kv_heads divides heads, sizes
 * below 2^20.  0, or -1 with a one-line reason in err. */
int bb_model_validate(const bb_model *m, char *err, size_t errlen);

/* Parses catalogue text (CSV as in results/models.csv: '#' comments, blank lines and a
 * header line starting with "name," are skipped).  At most cap models.  0, or -1 with
 * "line N: <what is wrong>" in err.  Duplicate names are an error. */
int bb_models_parse(const char *text, bb_model *out, size_t cap, size_t *n, char *err, size_t errlen);
/* Reads and parses a catalogue file; err names the file. */
int bb_models_load(const char *path, bb_model *out, size_t cap, size_t *n, char *err, size_t errlen);
/* The catalogue path: $BITBENCH_MODELS, else results/models.csv below the working
 * directory, else beside the executable's parent (build/../results/models.csv).  Writes
 * the chosen path into buf; returns buf, or NULL when none exists (buf lists the tries). */
const char *bb_models_default_path(char *buf, size_t len);

/* "name:hidden:ffn:layers:heads:kv:vocab" (--model-shape).  0, or -1 with reason. */
int bb_model_parse_shape(const char *spec, bb_model *out, char *err, size_t errlen);
const bb_model *bb_models_find(const bb_model *models, size_t n, const char *name);

size_t bb_model_head_dim(const bb_model *m);
size_t bb_model_kv_dim(const bb_model *m);
/* The 7 projections of one layer, in decode order. */
void bb_model_projections(const bb_model *m, bb_proj out[BB_PROJ_COUNT]);
void bb_model_params_count(const bb_model *m, bb_model_params *out);
/* Weight bytes of the whole model with its layers in format f. */
void bb_model_weight_bytes(const bb_model *m, bb_format_id f, bb_model_bytes *out);

/* The shape limits (bb_kernel_shape_check) of every projection of m through kn, and of
 * the LM head through head_kn (NULL: no head), at n tokens.  0, or -1 with the reason
 * naming the model and the projection. */
int bb_model_shape_check(const bb_model *m, const bb_kernel *kn, const bb_kernel *head_kn, size_t n,
                         char *err, size_t errlen);

/* KV cache of one sequence of seq_len tokens, elem_bytes per element (fp16: 2):
 *   2 (K and V) x layers x kv_heads x head_dim x seq_len x elem_bytes. */
uint64_t bb_model_kv_bytes_per_seq(const bb_model *m, uint32_t seq_len, uint32_t elem_bytes);
extern const char bb_model_kv_formula[];
/* Largest batch B with weight_bytes + B x kv_bytes_per_seq <= budget; 0 if none fits. */
uint64_t bb_model_max_batch(uint64_t weight_bytes, uint64_t kv_bytes_per_seq, uint64_t budget);

#endif
