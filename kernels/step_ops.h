/*
 * kernels/step_ops.h - the non-weight operations of a transformer decoder step (RMSNorm,
 * RoPE, attention over an fp16 KV cache, SiLU gating, residual add), one table entry per
 * ISA like the GEMM kernels: a scalar reference plus SIMD variants, picked at run time.
 * Every weight format runs the same entry, so formats differ only in their linear layers.
 *
 * Activations are fp32, token-major.  The KV cache is fp16 (IEEE binary16, as llama.cpp
 * and bitnet.cpp keep it), laid out [position][kv_head][head_dim].  Accuracy: each SIMD
 * entry is checked against a double-precision reference within the bound stated next to
 * each operation in tests/test_step_ops.c.
 */
#ifndef BITBENCH_STEP_OPS_H
#define BITBENCH_STEP_OPS_H

#include <stddef.h>
#include <stdint.h>

/* Attention of n_tok query tokens over the cache (grouped-query: query head h reads kv
 * head h / (n_heads / n_kv_heads)).  Token t (0-based within the step) sits at position
 * pos0 + t and attends to cache positions [0, pos0 + t] (causal; the step's own keys and
 * values are already stored there).  Scores are scaled by 1/sqrt(head_dim), softmax in
 * fp32 with the running-max subtraction. */
typedef struct bb_attn_args {
    const float *q;          /* n_tok rows of n_heads * head_dim, after RoPE */
    size_t q_stride;         /* floats between tokens */
    const uint16_t *k_cache; /* fp16 [ctx_cap][n_kv_heads][head_dim] */
    const uint16_t *v_cache; /* same layout */
    size_t n_heads, n_kv_heads, head_dim;
    size_t n_tok, pos0;
    float *out;              /* n_tok rows of n_heads * head_dim */
    size_t out_stride;
    /* scratch for one (token, head) at a time per calling thread: at least
     * bb_attn_scratch_floats(pos0 + n_tok) floats, BB_ALIGN-aligned */
    float *scratch;
} bb_attn_args;

static inline size_t bb_attn_scratch_floats(size_t ctx) { return ctx + 64; }

typedef struct bb_step_ops {
    const char *name;  /* "step-scalar-ref", "step-avx2", "step-avx512" */
    int isa;           /* a bb_isa_level */
    uint32_t needs;    /* BB_CPU_* features */
    int priority;      /* bb_step_ops_best picks the highest runnable */

    /* out[i] = x[i] / sqrt(mean_i(x[i]^2) + eps) * (g ? g[i] : 1); out may equal x */
    void (*rmsnorm)(const float *x, const float *g, size_t d, float eps, float *out);
    /* Rotates the interleaved pairs (2i, 2i+1) of each of n_heads heads of v in place by
     * the angles of cos_sin (head_dim/2 pairs {cos, sin}, from bb_rope_table). */
    void (*rope)(float *v, size_t n_heads, size_t head_dim, const float *cos_sin);
    /* Heads [h0, h1) of every token: the unit the thread pool splits. */
    void (*attention)(const bb_attn_args *a, size_t h0, size_t h1);
    /* out[i] = gate[i] / (1 + exp(-gate[i])) * up[i]; out may equal gate */
    void (*silu_mul)(const float *gate, const float *up, size_t n, float *out);
    /* y[i] += x[i] */
    void (*add)(float *y, const float *x, size_t n);
    /* dst[i] = fp16(src[i]), round to nearest even: storing K and V into the cache */
    void (*to_fp16)(const float *src, size_t n, uint16_t *dst);
} bb_step_ops;

/* cos_sin[2i] = cos(pos * theta^(-2i/head_dim)), cos_sin[2i+1] = sin(...), i < head_dim/2,
 * computed in double and rounded once: shared by every entry so they rotate identically. */
void bb_rope_table(size_t pos, size_t head_dim, double theta, float *cos_sin);

extern const bb_step_ops *const bb_step_ops_table[];
extern const size_t bb_step_ops_count;
const bb_step_ops *bb_step_ops_best(void);      /* highest-priority runnable entry */
const bb_step_ops *bb_step_ops_reference(void); /* the scalar reference */
const bb_step_ops *bb_step_ops_find(const char *name);

#endif
