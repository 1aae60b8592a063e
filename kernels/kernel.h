/*
 * kernels/kernel.h - the one header that the harness, the program and the tests see.
 *
 * A linear layer computes Y[M x N] = W[M x K] . X[K x N]: M output features, K input
 * features, N tokens (N = 1 is decode, a GEMV).  Memory layout used everywhere:
 *   weights  row-major, one packed row per output feature, rows padded with zero codes
 *            to the format's block along K;
 *   X        token-major: token t's K floats at x + t * x_stride, zero-padded up to
 *            x_stride (>= bb_k_stride(K), so every format can read whole blocks);
 *   Y        token-major: token t's M floats at y + t * y_stride.
 *
 * Two tables, in the spirit of ggml's type_traits and the Linux crypto API:
 *   bb_formats[]  one row per weight format: quantizer, packing, dequantizer,
 *                 activation type it needs, op-count model;
 *   bb_kernels[]  one row per implementation: generic name (the format), exact name
 *                 spelling out ISA and method, CPU features it needs, priority.
 * bb_kernel_find_best("tern2") gives the best implementation this CPU may run;
 * bb_kernel_find_exact("tern2-scalar-ref") gives exactly that one.
 */
#ifndef BITBENCH_KERNEL_H
#define BITBENCH_KERNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BB_ALIGN 64 /* every weight, activation and output buffer */

/* ------------------------------------------------------------------ CPU features */

/* Features, architectures and ISA levels come from one table, kernels/isa.def (also read
 * by the Makefile for each level's compiler flags). */
enum {
#define BB_FEATURE(id, name) BB_CPU_BIT_##id,
#include "isa.def"
    BB_CPU_FEATURE_COUNT
};
enum {
#define BB_FEATURE(id, name) BB_CPU_##id = 1 << BB_CPU_BIT_##id,
#include "isa.def"
};

typedef enum {
    BB_ARCH_ANY = 0,
#define BB_ARCH(id, machine, dir) BB_ARCH_##id,
#include "isa.def"
} bb_arch;

/* ISA levels, for capping (--isa, BITBENCH_ISA) and for the flags a kernel file is built
 * with.  A kernel belongs to one level; BB_ISA_MASK_<ID> is every feature the level's
 * flags may use, so a kernel's .needs is that mask plus any extras its code checks. */
typedef enum {
#define BB_ISA(id, arch, name, mask, flags) BB_ISA_##id,
#include "isa.def"
    BB_ISA_COUNT
} bb_isa_level;
enum {
#define BB_ISA(id, arch, name, mask, flags) BB_ISA_MASK_##id = (mask),
#include "isa.def"
};

bb_arch bb_arch_host(void);                /* the architecture this binary was built for */
bb_arch bb_isa_arch(bb_isa_level l);       /* BB_ARCH_ANY for scalar */
uint32_t bb_isa_mask(bb_isa_level l);      /* BB_ISA_MASK_<l> */
const char *bb_isa_flags(bb_isa_level l);  /* the compiler flags of its kernel files */
/* True when level l is usable on this binary's architecture under cap: scalar always,
 * otherwise l is of this architecture and not above the cap (the table's order). */
bool bb_isa_allowed(bb_isa_level l, bb_isa_level cap);

uint32_t bb_cpu_detect(void);              /* x86: cpuid + xgetbv; AArch64: getauxval */
uint32_t bb_cpu_features(void);            /* detected, ANDed with the active cap */
bb_isa_level bb_isa_cap(void);             /* the active cap (default: highest) */
void bb_isa_set_cap(bb_isa_level cap);     /* --isa; overrides BITBENCH_ISA */
/* A level of this architecture by its --isa name: 0 ok, -1 unknown here. */
int bb_isa_parse(const char *s, bb_isa_level *out);
const char *bb_isa_name(bb_isa_level l);
/* The --isa names valid on this architecture, lowest first, joined by sep
 * ("scalar|avx2|avxvnni|avx512"); returns buf. */
char *bb_isa_names(const char *sep, char *buf, size_t len);
/* writes names of the features in mask, space separated, into buf; returns buf */
char *bb_cpu_features_str(uint32_t mask, char *buf, size_t len);

/* ------------------------------------------------------------------ op counts */

/* Operations one GEMM performs in a format, counted for the reference algorithm
 * exactly (tests/test_opcount.c checks them against an instrumented run).  Classes
 * follow the energy table of Horowitz (ISSCC 2014) used by the BitNet papers. */
typedef struct bb_opcount {
    uint64_t int_add;  /* integer add/sub (accumulation, sign-selected add) */
    uint64_t int_mul;  /* integer multiply */
    uint64_t int_cmp;  /* integer compare/min/max (clipping) */
    uint64_t shift;    /* integer shift (PoT) */
    uint64_t fp16_add, fp16_mul;
    uint64_t fp32_add, fp32_mul, fp32_div;
    uint64_t fp32_cmp; /* float compare/max (absmax search) */
    uint64_t cvt;      /* conversions: fp16<->fp32, int<->float, float rounding */
} bb_opcount;

/* ------------------------------------------------------------------ formats */

typedef enum {
    BB_FMT_FP16,
    BB_FMT_INT8,
    BB_FMT_POT4,
    BB_FMT_POT5,
    BB_FMT_POT6,
    BB_FMT_TERN2,
    BB_FMT_TERN1_6,
    BB_FMT_COUNT
} bb_format_id;

/* What activations a format's kernels consume (ggml's vec_dot_type). */
typedef enum {
    BB_ACT_F32, /* the fp32 X as given */
    BB_ACT_Q8,  /* int8 absmax per token, Q_b = 127 (BitNet b1.58), see bb_act_q8 */
} bb_act_type;

typedef enum { BB_SCALE_NONE, BB_SCALE_PER_ROW, BB_SCALE_PER_MATRIX } bb_scale_kind;

/* A packed weight matrix in a format's canonical layout. */
typedef struct bb_weights {
    bb_format_id format;
    size_t m, k;
    size_t k_padded;  /* k rounded up to the format's block */
    size_t row_bytes; /* bytes of one packed row */
    uint8_t *data;    /* m * row_bytes, BB_ALIGN-aligned */
    float *scales;    /* n_scales floats: per row, one per matrix, or none */
    size_t n_scales;
} bb_weights;

typedef struct bb_format {
    bb_format_id id;
    const char *name;    /* "tern2", "pot5": also the generic kernel name */
    const char *family;  /* "fp16", "int8", "pot", "ternary" */
    const char *summary; /* one line for `bitbench list` */
    unsigned block;       /* weights per block along K; rows are padded to it */
    unsigned block_bytes; /* bytes of one block */
    unsigned n_codes;     /* number of distinct codes (for round-trip tests) */
    uint32_t zero_code;   /* the code for 0, written into row padding */
    bb_act_type act;
    bb_scale_kind scale;
    size_t max_k;          /* largest K its GEMM computes exactly: bb_shape_check refuses more */
    const char *max_k_why; /* why, for the refusal message */

    /* Quantize fp32 W[m x k] (row-major, stride k) into out, which bb_weights_alloc made. */
    void (*quantize)(const float *w, bb_weights *out);
    /* The code of weight (row, i), and setting it; codes are 0 .. n_codes-1. */
    uint32_t (*get_code)(const bb_weights *w, size_t row, size_t i);
    void (*set_code)(bb_weights *w, size_t row, size_t i, uint32_t code);
    /* The unscaled value a code stands for (fp16: the half's value). */
    double (*code_value)(uint32_t code);
    /* Op-count model of one GEMM (reference algorithm, activation quantization and
     * rescale included). */
    void (*opcount)(size_t m, size_t k, size_t n, bb_opcount *out);
} bb_format;

extern const bb_format bb_formats[BB_FMT_COUNT];

const bb_format *bb_format_get(bb_format_id id);
const bb_format *bb_format_find(const char *name); /* NULL if unknown */

/* Allocation, sized from the format table.  The bytes start zeroed, which is not the
 * zero code of every format: quantize (or set_code on every weight, padding included
 * via bb_weights_fill_zero) before use.  Returns 0, or -1 on allocation failure. */
int bb_weights_alloc(bb_weights *w, bb_format_id f, size_t m, size_t k);
void bb_weights_free(bb_weights *w);
/* Set every code, padding included, to the format's code for 0. */
void bb_weights_fill_zero(bb_weights *w);
/* Bytes of a packed m x k matrix including its scales: what memory reports use. */
uint64_t bb_weights_bytes(bb_format_id f, size_t m, size_t k);
/* Effective bits per weight including scales and padding, for an m x k matrix. */
double bb_bits_per_weight(bb_format_id f, size_t m, size_t k);
/* Scale of row `row` (1.0 for formats without scales). */
static inline float bb_row_scale(const bb_weights *w, size_t row)
{
    return w->n_scales == 0 ? 1.0f : w->scales[w->n_scales == 1 ? 0 : row];
}
/* Dequantized weight (row, i) in double: scale * code_value(code). */
double bb_weight_value(const bb_weights *w, size_t row, size_t i);

/* ------------------------------------------------------------------ shape limits */

/* K limits of the integer accumulators (the proofs are in kernels/ref/<format>.c):
 *   int8     K products of |127 x 127| in int32:           K <= INT32_MAX / 16129 = 133 144
 *   pot4     K terms of |127 << 6| in int32:               K <= INT32_MAX / 8128  = 264 208
 *   ternary  K terms of |127| in int32, and every Q8 format's int32 activation sum
 *            (bb_act_q8.sum, K values of |127|):            K <= INT32_MAX / 127   = 16 909 320
 * fp16 accumulates in fp32 and has no K limit of its own. */
#define BB_INT8_MAX_K ((size_t)(INT32_MAX / (127 * 127)))
#define BB_POT4_MAX_K ((size_t)(INT32_MAX / (127 << 6)))
#define BB_Q8_MAX_K ((size_t)(INT32_MAX / 127))

/* Every buffer one GEMM needs (packed weights, a kernel's layout, X, Y, the int8
 * activations) must stay below 2^46 bytes (64 TiB): half of x86-64's 2^47-byte user
 * address space, so no such buffer can ever be mapped, and with each below 2^46 no later
 * sum or small multiple of buffer sizes can overflow a size_t.  That bounds M and N for a
 * given K: M <= 2^46 / row_bytes and M x N x 4 <= 2^46 (Y), N <= 2^46 / (4 x_stride) (X).
 * The work 2 M K N must also fit a uint64 (bb_work.ops). */
#define BB_MAX_BUFFER_BYTES ((uint64_t)1 << 46)

/* Whether a GEMM of m x k weights in format f by n tokens is within every limit above.
 * 0, or -1 with one line naming the value, the limit and why.  Call it before anything is
 * allocated: the kernels only assert the K limit (internal misuse). */
int bb_shape_check(bb_format_id f, size_t m, size_t k, size_t n, char *err, size_t errlen);

/* K rounded up so that every format's padded row fits: the x_stride floor. */
size_t bb_k_stride(size_t k);
size_t bb_round_up(size_t v, size_t to);

/* ------------------------------------------------------------------ activations */

/* int8 absmax activations.  Per token t:
 *   eta = max_k |x_k|; inv = 127 / eta; q_k = clip(rint(x_k * inv), -127, 127)
 *   (rint: round half to even); scale = eta / 127; sum = sum_k q_k.
 * eta == 0 gives all-zero q and scale 0.  The float operations are fixed so that every
 * SIMD quantizer reproduces the reference bit for bit. */
typedef struct bb_act_q8 {
    int8_t *q;      /* n rows of k_stride int8, zero beyond k */
    float *scale;   /* n */
    int32_t *sum;   /* n */
    size_t k, k_stride, n;
} bb_act_q8;

/* One blob holds a bb_act_q8's arrays; these give its size and carve it. */
size_t bb_act_q8_bytes(size_t k, size_t n);
bb_act_q8 bb_act_q8_view(void *blob, size_t k, size_t n);
/* The reference quantizer for tokens [t0, t1) (scalar, in kernels/ref). */
void bb_act_q8_quantize_ref(const float *x, size_t x_stride, bb_act_q8 *a, size_t t0, size_t t1);

/* The integer formats' rescale, shared by every kernel so that they agree bit for bit:
 * y = ((float)acc * row_scale) * act_scale. */
static inline float bb_rescale_i32(int32_t acc, float row_scale, float act_scale)
{
    return ((float)acc * row_scale) * act_scale;
}
static inline float bb_rescale_i64(int64_t acc, float row_scale, float act_scale)
{
    return ((float)acc * row_scale) * act_scale;
}

/* ------------------------------------------------------------------ fp16 */

uint16_t bb_fp32_to_fp16(float f); /* IEEE binary16, round to nearest even */
float bb_fp16_to_fp32(uint16_t h);

/* ------------------------------------------------------------------ kernels */

typedef struct bb_kernel bb_kernel;

/* Arguments of one GEMM call. */
typedef struct bb_gemm_args {
    const bb_weights *w;  /* canonical weights (for shape and scales) */
    const void *layout;   /* kernel's repacked weights, or w->data if it has none */
    const float *x;       /* token-major, x_stride floats per token, zero padded */
    size_t x_stride;
    float *y;             /* token-major, y_stride floats per token */
    size_t y_stride;
    size_t n;             /* tokens */
    void *act;            /* prepared activations (kernel's act_bytes), or NULL */
} bb_gemm_args;

struct bb_kernel {
    const char *name;   /* exact: "<format>-<isa>-<method>", e.g. "tern2-avx512-addonly" */
    bb_format_id format;
    const char *method; /* "ref", "fma", "vnni", "maddubs", "addonly", "madd", "lut", "shift", "mul" */
    bb_isa_level isa;
    uint32_t needs;     /* BB_CPU_* features this kernel needs */
    int priority;       /* find_best picks the highest runnable */
    bool multiply_free; /* hot loop has no multiply: `make check-addonly` checks it */
    const char *hot_symbol; /* function holding the hot loop (multiply-free kernels: the
                               one check-addonly disassembles; must not be inlined away) */
    unsigned row_block; /* rows one pass computes; thread chunks are multiples of it */
    size_t max_k;       /* a K limit of its own, tighter than the format's; 0: the format's */

    /* Optional weight layout of the kernel's own (NULL: uses w->data as is).
     * repack runs once, outside any timed region. */
    size_t (*layout_bytes)(const bb_weights *w);
    void (*repack)(const bb_weights *w, void *layout);

    /* Activation preparation for tokens [t0, t1).  NULL for BB_ACT_F32 kernels that read
     * x directly.  act_bytes gives the size of a->act. */
    size_t (*act_bytes)(size_t k, size_t n);
    void (*prepare_act)(const bb_gemm_args *a, size_t t0, size_t t1);

    /* Compute rows [r0, r1) of Y for all n tokens. */
    void (*gemm_rows)(const bb_gemm_args *a, size_t r0, size_t r1);
};

/* Work a kernel declares for a shape: the harness derives GB/s and GOP/s from it. */
typedef struct bb_work {
    uint64_t weight_bytes; /* packed weights (kernel layout) incl. scales */
    uint64_t act_bytes;    /* activation bytes read */
    uint64_t out_bytes;    /* output bytes written */
    uint64_t ops;          /* 2*M*K*N: one multiply-accumulate counts two */
} bb_work;
void bb_kernel_work(const bb_kernel *k, size_t m, size_t kk, size_t n, bb_work *out);

/* bb_shape_check for an implementation: its own K limit (if any), the format's limits,
 * and its repacked layout's size.  0, or -1 with the reason. */
int bb_kernel_shape_check(const bb_kernel *k, size_t m, size_t kk, size_t n, char *err, size_t errlen);
/* The K limit that applies to an implementation (the smaller of its own and its format's). */
size_t bb_kernel_max_k(const bb_kernel *k);

extern const bb_kernel *const bb_kernels[];
extern const size_t bb_kernel_count;

bool bb_kernel_runnable(const bb_kernel *k);          /* CPU (after the cap) has k->needs */
const bb_kernel *bb_kernel_find_exact(const char *impl);
const bb_kernel *bb_kernel_find_best(const char *format_name);
const bb_kernel *bb_kernel_reference(bb_format_id f); /* the scalar reference */

/* Single-threaded whole GEMM through a kernel: prepare_act for all tokens, then all
 * rows.  The harness has a threaded driver; this is for tests and checks. */
void bb_kernel_gemm(const bb_kernel *k, const bb_gemm_args *a);

/* ------------------------------------------------------------------ aligned memory */
void *bb_alloc(size_t bytes); /* BB_ALIGN-aligned, zeroed; NULL on failure */
/* The page-size hint for large buffers (bb_alloc's and the weight arena's): MADV_HUGEPAGE,
 * or MADV_NOHUGEPAGE when env BITBENCH_HUGEPAGES=0 (what huge pages buy, measured by A/B). */
int bb_page_advice(void);
void bb_free(void *p);

#endif
