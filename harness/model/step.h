/*
 * harness/model/step.h - one transformer decoder step of a LLaMA-alike model, the same code for
 * every weight format (only the linear layers' kernel differs):
 *
 *   per layer:  xn = RMSNorm(x); q, k, v = Wq xn, Wk xn, Wv xn; RoPE(q, k);
 *               k, v -> the fp16 KV cache at the step's positions;
 *               a = attention(q, cache) (grouped-query, causal);  x += Wo a;
 *               xn = RMSNorm(x); g, u = Wgate xn, Wup xn; g = SiLU(g) * u;  x += Wdown g
 *   then:       xn = RMSNorm(x); logits = Whead xn (fp16)
 *
 * A step runs n_seq sequences of n_tok tokens each: decode is n_tok = 1 at position C (the
 * context), a prompt is one sequence of n_tok = P tokens from position 0.  The linear layers
 * see all n_seq x n_tok rows at once; attention runs per sequence over its own cache,
 * split by (sequence, head) over the thread pool.  The time of every phase is added to a
 * bb_step_split with one clock (bb_now_ns): linear layers (the 7 projections and the head),
 * attention (the operation itself), and the rest (norms, RoPE, cache stores, SiLU, adds).
 *
 * Matmul-only (the suite's earlier step, the paper's matmul view): the projections alone,
 * chained q -> o -> gate/up, gate -> down -> next layer's x; no norm, attention or cache.
 * It is kept for comparison with earlier rows; its activations are not normalized.
 */
#ifndef BITBENCH_STEP_H
#define BITBENCH_STEP_H

#include "../../kernels/kernel.h"
#include "../../kernels/step_ops.h"
#include "models.h"
#include "../core/pool.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BB_STEP_ROPE_THETA 10000.0 /* LLaMA and Llama-2 */
#define BB_STEP_NORM_EPS 1e-5f

/* A matrix as a kernel reads it. */
typedef struct bb_step_mat {
    const bb_weights *w;
    const void *layout; /* the kernel's layout, or w->data */
    size_t bytes;       /* of layout (bb_kernel_weights_stream_bytes); 0: unknown.  While a
                           projection finishes, the first bytes of the next are prefetched
                           (bb_gemm_exec_next) */
} bb_step_mat;

/* One layer's weights and its KV cache slice: n_seq x cap positions x kv_dim fp16 each
 * for K and V (sequence-major, then as kernels/step_ops.h lays out one sequence). */
typedef struct bb_step_layer {
    bb_step_mat proj[BB_PROJ_COUNT];
    uint16_t *k_cache, *v_cache;
    const bb_step_mat *next_q; /* what the step reads after this layer's down projection (the
                                  next layer's Q, or the head), prefetched; NULL: nothing */
} bb_step_layer;

typedef struct bb_step_geom {
    const bb_model *model;
    const bb_kernel *kn;      /* the linear layers */
    const bb_kernel *head_kn; /* the LM head (fp16) */
    const bb_step_ops *ops;
    size_t n_seq, n_tok;      /* rows = n_seq x n_tok */
    size_t pos0;              /* position of the step's first token in every sequence */
    size_t cap;               /* cache positions per sequence (>= pos0 + n_tok) */
    bool matmul_only;
} bb_step_geom;

typedef struct bb_step_split {
    double linear_ns, attention_ns, other_ns;
} bb_step_split;

/* Activation buffers for up to max_rows rows, attention scratch for `threads` threads over
 * up to max_ctx positions, RoPE tables for up to max_tok tokens. */
typedef struct bb_step_bufs {
    size_t hs, kvs, fs, vocab;   /* strides (floats per row) */
    size_t max_rows, max_tok, scratch_stride;
    int threads;
    float *x, *xn, *q, *k, *v, *att, *o, *gate, *up, *logits;
    void *act;                   /* the kernels' prepared activations */
    float *scratch;              /* threads x scratch_stride */
    float *rope;                 /* max_tok x head_dim: {cos, sin} pairs per token */
    size_t rope_pos0, rope_tok;  /* what rope holds */
} bb_step_bufs;

/* Bytes of the kernels' prepared activations for the step's largest input at `rows` rows. */
uint64_t bb_step_act_bytes(const bb_model *m, const bb_kernel *kn, const bb_kernel *head_kn, size_t rows);
/* A buffer set serves every kernel whose bb_step_act_bytes is at most kn's. */
uint64_t bb_step_bufs_bytes(const bb_model *m, const bb_kernel *kn, const bb_kernel *head_kn, size_t max_rows,
                            size_t max_ctx, size_t max_tok, int threads);
/* 0, or -1 (out of memory; nothing is left allocated).  head_kn NULL: no logits. */
int bb_step_bufs_alloc(bb_step_bufs *b, const bb_model *m, const bb_kernel *kn, const bb_kernel *head_kn,
                       size_t max_rows, size_t max_ctx, size_t max_tok, int threads);
void bb_step_bufs_free(bb_step_bufs *b);

/* Seeded inputs: every row of x with RMS about 1 (as after an embedding lookup). */
void bb_step_fill_x(bb_step_bufs *b, size_t rows, size_t hidden, uint64_t seed);
/* Seeded fp16 values of RMS about 1 (what RoPE'd keys and values of unit-RMS activations
 * through weights of RMS 1/sqrt(K) look like), n elements. */
void bb_step_fill_cache(uint16_t *c, size_t n, uint64_t seed);

/* Bytes of one layer's KV cache slice (K and V) for n_seq sequences of cap positions:
 *   2 x n_seq x cap x kv_heads x head_dim x 2 bytes. */
uint64_t bb_step_kv_layer_bytes(const bb_model *m, size_t n_seq, size_t cap);

/* Checks the geometry against the buffers (rows, positions); 0, or -1 with a reason. */
int bb_step_validate(const bb_step_geom *g, const bb_step_bufs *b, char *err, size_t errlen);
/* One layer in place on b->x (rows = n_seq x n_tok); times added to *t. */
void bb_step_layer_run(bb_pool *pool, const bb_step_geom *g, bb_step_bufs *b, const bb_step_layer *l,
                       bb_step_split *t);
/* Final RMSNorm and the LM head into b->logits (matmul-only: the head alone). */
void bb_step_head_run(bb_pool *pool, const bb_step_geom *g, bb_step_bufs *b, const bb_step_mat *head,
                      bb_step_split *t);

/* True when rows x cols of v (stride) are all finite. */
bool bb_step_finite(const float *v, size_t rows, size_t cols, size_t stride);

#endif
