/*
 * kernels/x86/fp16_packed.h - the fp16 prefill driver with packed operands, shared by the
 * "packed" kernels of fp16_avx2.c and fp16_avx512.c (each includes it under its own flags;
 * the only intrinsics here are F16C's, which both levels have).
 *
 * Why another prefill (fp16_panel.h is the first): its tiles take dot products along K
 * (both operands K-contiguous, a horizontal sum per output), reading 4 weight rows from
 * an L2 panel and 6 token rows, all 4 KiB or 16 KiB apart (so on the same L1 sets), for
 * every 24 FMAs.  Here the roles are those of a BLIS macro-kernel (Goto and van de Geijn,
 * "Anatomy of high-performance matrix multiplication", 2008), with vectors along tokens:
 *
 *   activations are packed once per call (prepare_act, split over threads by tokens)
 *     into panels of P tokens, K-major: panel p holds x[p P + j][k] at (k P + j), so one
 *     K step of a panel is P contiguous floats (P / lanes vector loads);
 *   weights are converted to fp32 MR rows x one K slice at a time into a small buffer that
 *     stays in L1 (MR x KC floats), and each weight is broadcast;
 *   a tile is MR rows x (NV x lanes) tokens of fp32 accumulators, one lane per output, so
 *     the sum along K stays in a lane (no horizontal sums) and each K step is NV vector
 *     loads and MR broadcasts for MR x NV FMAs.  Its results go to a transposed block
 *     Ct[row][token] (vector stores, added over K slices), which is written to Y once per
 *     macro block;
 *   the K slice of the packed activations (KC x NC floats) stays in L2 while the MR-row
 *     groups of a macro block of MC rows pass over it, so activations come from L3 once
 *     per MC / MR groups, and weights from memory once per NC tokens.
 *
 * Accuracy: each output is one fp32 FMA chain per K slice, the slices then added: another
 * order than the reference's, inside the same bound gamma_K sum |w x| (fp16_avx512.c).
 */
#ifndef BITBENCH_X86_FP16_PACKED_H
#define BITBENCH_X86_FP16_PACKED_H

#include "../kernel.h"

#include <immintrin.h>
#include <string.h>

/* One tile: rows [0, MR) of w (row stride FP16_PACKED_KC floats, converted weights) by
 * kc K steps of the packed panel b (P floats per step), into c[i * c_stride + j] for the
 * tile's tokens j; add: c += the sums (later K slices), else c = the sums. */
typedef void (*fp16_packed_tile_fn)(const float *w, const float *b, size_t kc, float *c,
                                    size_t c_stride, int add);

enum {
    FP16_PACKED_KC = 512,  /* K slice: a 12-row weight buffer is 24 KiB (L1), a 128-token
                              activation slice 256 KiB (L2) */
    FP16_PACKED_NC = 256,  /* tokens per pass over a macro block (Ct's width) */
    FP16_PACKED_MAX_MR = 12,
};
#ifndef FP16_PACKED_PREFETCH
#define FP16_PACKED_PREFETCH 1
#endif

typedef struct fp16_packed_geom {
    size_t p;        /* tokens per activation panel (= lanes x the full tile's NV) */
    size_t lanes;    /* floats per vector */
    size_t mr;       /* rows per tile, <= FP16_PACKED_MAX_MR */
    size_t mc;       /* rows per macro block, a multiple of mr */
    fp16_packed_tile_fn full; /* MR x P */
    fp16_packed_tile_fn half; /* MR x P/2: the last panel when it holds <= P/2 tokens */
} fp16_packed_geom;

static inline size_t fp16_packed_k(size_t k) { return bb_round_up(k, 32); }

/* a->act: ceil(n / p) panels of k_padded x p floats. */
static inline size_t fp16_packed_act_bytes(size_t k, size_t n, size_t p)
{
    return bb_round_up(n, p) * fp16_packed_k(k) * sizeof(float);
}

/* Token t of x into its panel, one float at a time (the ragged ends of a token range). */
static inline void fp16_packed_act_token(const bb_gemm_args *a, size_t t, size_t p)
{
    const size_t kp = a->w->k_padded;
    const float *x = a->x + t * a->x_stride;
    float *panel = (float *)a->act + (t / p) * kp * p + t % p;
    for (size_t k = 0; k < kp; k++) /* x is zero padded up to x_stride >= kp */
        panel[k * p] = x[k];
}

/* v[j] = element i of row j in, out[i] = element j of row i: an 8 x 8 transpose. */
static inline void fp16_packed_transpose8(__m256 v[8])
{
    __m256 t[8], u[8];
#pragma GCC unroll 8
    for (int j = 0; j < 8; j += 2) {
        t[j] = _mm256_unpacklo_ps(v[j], v[j + 1]);
        t[j + 1] = _mm256_unpackhi_ps(v[j], v[j + 1]);
    }
#pragma GCC unroll 8
    for (int j = 0; j < 8; j += 4) {
        u[j] = _mm256_shuffle_ps(t[j], t[j + 2], 0x44);
        u[j + 1] = _mm256_shuffle_ps(t[j], t[j + 2], 0xee);
        u[j + 2] = _mm256_shuffle_ps(t[j + 1], t[j + 3], 0x44);
        u[j + 3] = _mm256_shuffle_ps(t[j + 1], t[j + 3], 0xee);
    }
#pragma GCC unroll 8
    for (int j = 0; j < 4; j++) {
        v[j] = _mm256_permute2f128_ps(u[j], u[j + 4], 0x20);
        v[j + 4] = _mm256_permute2f128_ps(u[j], u[j + 4], 0x31);
    }
}

/* Tokens [t0, t1) of x into their panels, 8 tokens x 8 K steps per transpose where the
 * range allows (one float at a time, the scattered stores of that took 1% of a 4096 x
 * 4096 x 128 call); the call that packs the last token also zeroes the rest of the last
 * panel (the tiles compute on it; their results are not stored).  p is a multiple of 8. */
static inline void fp16_packed_act(const bb_gemm_args *a, size_t t0, size_t t1, size_t p)
{
    const size_t kp = a->w->k_padded, xs = a->x_stride;
    float *act = a->act;
    size_t t = t0;
    for (; t < t1 && t % 8; t++)
        fp16_packed_act_token(a, t, p);
    for (; t + 8 <= t1; t += 8) {
        const float *x = a->x + t * xs;
        float *panel = act + (t / p) * kp * p + t % p;
        for (size_t k = 0; k < kp; k += 8) {
            __m256 v[8];
#pragma GCC unroll 8
            for (int j = 0; j < 8; j++)
                v[j] = _mm256_loadu_ps(x + j * xs + k);
            fp16_packed_transpose8(v);
#pragma GCC unroll 8
            for (int i = 0; i < 8; i++)
                _mm256_storeu_ps(panel + (k + i) * p, v[i]);
        }
    }
    for (; t < t1; t++)
        fp16_packed_act_token(a, t, p);
    if (t1 == a->n && a->n % p) {
        float *panel = act + (a->n / p) * kp * p;
        for (size_t k = 0; k < kp; k++)
            memset(panel + k * p + a->n % p, 0, (p - a->n % p) * sizeof(float));
    }
}

/* Rows [r, r + rows) of the K slice [k0, k0 + kc) as fp32 into w (row stride
 * FP16_PACKED_KC), rows [rows, mr) zero. */
static inline void fp16_packed_convert(const bb_gemm_args *a, size_t r, size_t rows, size_t mr,
                                       size_t k0, size_t kc, float *w)
{
    for (size_t i = 0; i < rows; i++) {
        const __m128i *h =
            (const __m128i *)((const uint8_t *)a->layout + (r + i) * a->w->row_bytes + k0 * 2);
        float *out = w + i * FP16_PACKED_KC;
        for (size_t c = 0; c < kc / 8; c++)
            _mm256_store_ps(out + c * 8, _mm256_cvtph_ps(_mm_loadu_si128(h + c)));
    }
    for (size_t i = rows; i < mr; i++)
        memset(w + i * FP16_PACKED_KC, 0, kc * sizeof(float));
}

/* Rows [r, r + rows) of the K slice [k0, k0 + kc) of the fp16 weights towards L2: the
 * next group's, asked for while this one computes, so that converting it does not wait on
 * memory. */
static inline void fp16_packed_prefetch(const bb_gemm_args *a, size_t r, size_t rows, size_t k0,
                                        size_t kc)
{
    for (size_t i = 0; i < rows; i++) {
        const char *h = (const char *)a->layout + (r + i) * a->w->row_bytes + k0 * 2;
        /* asm volatile: GCC 12 -O2 deletes a loop of _mm_prefetch alone as dead code */
        for (size_t c = 0; c < kc * 2; c += 64)
            __asm__ volatile("prefetcht1 %0" : : "m"(h[c]));
    }
}

/* Ct (rows x its tokens [0, nt), row stride ct_stride) into Y at rows [r, r + rows) and
 * tokens [t, t + nt). */
static inline void fp16_packed_store(const bb_gemm_args *a, const float *ct, size_t ct_stride,
                                     size_t r, size_t rows, size_t t, size_t nt)
{
    for (size_t j = 0; j < nt; j++) {
        float *y = a->y + (t + j) * a->y_stride + r;
        for (size_t i = 0; i < rows; i++)
            y[i] = ct[i * ct_stride + j];
    }
}

/* Rows [r0, r1) of Y for all tokens; a->act holds the packed panels. */
static inline void fp16_packed_gemm(const bb_gemm_args *a, size_t r0, size_t r1,
                                    const fp16_packed_geom *g)
{
    enum { MAX_MC = 96 };
    static _Alignas(64) _Thread_local float wbuf[FP16_PACKED_MAX_MR * FP16_PACKED_KC];
    static _Alignas(64) _Thread_local float ct[MAX_MC * FP16_PACKED_NC];
    const size_t kp = a->w->k_padded, p = g->p, n = a->n;
    const float *act = a->act;
    for (size_t rb = r0; rb < r1; rb += g->mc) {
        const size_t re = r1 - rb < g->mc ? r1 : rb + g->mc;
        for (size_t t0 = 0; t0 < n; t0 += FP16_PACKED_NC) {
            const size_t nt = n - t0 < FP16_PACKED_NC ? n - t0 : FP16_PACKED_NC;
            const size_t panels = (nt + p - 1) / p;
            const size_t last = nt - (panels - 1) * p; /* tokens in the last panel */
            for (size_t k0 = 0; k0 < kp; k0 += FP16_PACKED_KC) {
                const size_t kc = kp - k0 < FP16_PACKED_KC ? kp - k0 : FP16_PACKED_KC;
                for (size_t r = rb; r < re; r += g->mr) {
                    const size_t rows = re - r < g->mr ? re - r : g->mr;
                    fp16_packed_convert(a, r, rows, g->mr, k0, kc, wbuf);
                    if (FP16_PACKED_PREFETCH) {
                        /* the next group: the next rows of this slice, else the first rows
                         * of the next slice, else those of the next macro block */
                        size_t nr = r + g->mr, nk = k0;
                        if (nr >= re) {
                            nr = rb;
                            nk = k0 + FP16_PACKED_KC;
                            if (nk >= kp) {
                                nr = re;
                                nk = 0;
                            }
                        }
                        if (nr < r1) {
                            size_t nrows = r1 - nr < g->mr ? r1 - nr : g->mr;
                            size_t nkc = kp - nk < FP16_PACKED_KC ? kp - nk : FP16_PACKED_KC;
                            fp16_packed_prefetch(a, nr, nrows, nk, nkc);
                        }
                    }
                    for (size_t q = 0; q < panels; q++) {
                        const float *b = act + ((t0 / p + q) * kp + k0) * p;
                        float *c = ct + (r - rb) * FP16_PACKED_NC + q * p;
                        fp16_packed_tile_fn f = q + 1 == panels && last * 2 <= p ? g->half : g->full;
                        f(wbuf, b, kc, c, FP16_PACKED_NC, k0 != 0);
                    }
                }
            }
            fp16_packed_store(a, ct, FP16_PACKED_NC, rb, re - rb, t0, nt);
        }
    }
}

/* One ISA's packed kernel from its vector type and intrinsics: the register tile (MR rows x NV
 * vectors of accumulators, a full and a half-width variant), the activation hooks and the row
 * function, which hands n < MIN_N to the ISA's fma kernel (decode stays its code).  BCAST takes
 * a pointer to the weight to broadcast. */
#define FP16_PACKED_KERNEL(VEC, SETZERO, LOAD, BCAST, FMADD, ADD, STORE, MR_, NV_, LANES_, MIN_N_, FMA_ROWS, \
                           ROWS_FN)                                                                     \
    enum { PACKED_MR = MR_, PACKED_NV = NV_, PACKED_P = NV_ * LANES_, PACKED_MIN_N = MIN_N_ };          \
    static inline __attribute__((always_inline)) void packed_tile(const float *w, const float *b,       \
                                                                  size_t kc, float *c, size_t c_stride, \
                                                                  int add, const int MR, const int NV)  \
    {                                                                                                   \
        VEC acc[PACKED_MR][PACKED_NV];                                                                  \
        _Pragma("GCC unroll 16") for (int i = 0; i < MR; i++)                                           \
            _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++) acc[i][v] = SETZERO();                 \
        for (size_t k = 0; k < kc; k++) {                                                               \
            VEC x[PACKED_NV];                                                                           \
            _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++) x[v] = LOAD(b + k * PACKED_P + v * LANES_); \
            _Pragma("GCC unroll 16") for (int i = 0; i < MR; i++) {                                     \
                VEC wi = BCAST(w + i * FP16_PACKED_KC + k);                                             \
                _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++) acc[i][v] = FMADD(wi, x[v], acc[i][v]); \
            }                                                                                           \
        }                                                                                               \
        _Pragma("GCC unroll 16") for (int i = 0; i < MR; i++)                                           \
            _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++) {                                      \
                float *ci = c + i * c_stride + v * LANES_;                                              \
                STORE(ci, add ? ADD(LOAD(ci), acc[i][v]) : acc[i][v]);                                  \
            }                                                                                           \
    }                                                                                                   \
    static void packed_tile_full(const float *w, const float *b, size_t kc, float *c, size_t cs, int add) \
    {                                                                                                   \
        packed_tile(w, b, kc, c, cs, add, PACKED_MR, PACKED_NV);                                        \
    }                                                                                                   \
    static void packed_tile_half(const float *w, const float *b, size_t kc, float *c, size_t cs, int add) \
    {                                                                                                   \
        packed_tile(w, b, kc, c, cs, add, PACKED_MR, PACKED_NV / 2);                                    \
    }                                                                                                   \
    static size_t packed_act_bytes(size_t k, size_t n) { return fp16_packed_act_bytes(k, n, PACKED_P); } \
    static void packed_prepare_act(const bb_gemm_args *a, size_t t0, size_t t1)                         \
    {                                                                                                   \
        if (a->n >= PACKED_MIN_N)                                                                       \
            fp16_packed_act(a, t0, t1, PACKED_P);                                                       \
    }                                                                                                   \
    static void ROWS_FN(const bb_gemm_args *a, size_t r0, size_t r1)                                    \
    {                                                                                                   \
        static const fp16_packed_geom geom = {.p = PACKED_P, .lanes = LANES_, .mr = PACKED_MR,          \
                                              .mc = 96, .full = packed_tile_full, .half = packed_tile_half}; \
        if (a->n < PACKED_MIN_N) {                                                                      \
            FMA_ROWS(a, r0, r1);                                                                        \
            return;                                                                                     \
        }                                                                                               \
        fp16_packed_gemm(a, r0, r1, &geom);                                                             \
    }

#endif
