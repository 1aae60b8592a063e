/*
 * kernels/common.c - what every format and kernel shares: aligned memory, sizes of
 * packed matrices and activation blobs, and the single-threaded GEMM driver.
 */
#include "kernel.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* Large buffers (weights rotated through gigabytes) are 2 MiB-aligned and asked to use
 * transparent huge pages: with 4 KiB pages, first touch of a gigabyte costs a quarter of
 * a million page faults, seconds in a VM, and the TLB misses would tax the timed loop. */
enum { HUGE_PAGE = 2u << 20 };

int bb_page_advice(void)
{
    static int advice = -1; /* read once (benign race: every thread computes the same) */
    if (advice < 0) {
        const char *e = getenv("BITBENCH_HUGEPAGES");
        advice = e && strcmp(e, "0") == 0 ? MADV_NOHUGEPAGE : MADV_HUGEPAGE;
    }
    return advice;
}

void *bb_alloc(size_t bytes)
{
    void *p = NULL;
    size_t align = bytes >= HUGE_PAGE ? HUGE_PAGE : BB_ALIGN;
    size_t rounded = bb_round_up(bytes ? bytes : 1, align);
    if (posix_memalign(&p, align, rounded) != 0)
        return NULL;
    if (align == HUGE_PAGE)
        madvise(p, rounded, bb_page_advice()); /* a hint: failure only costs speed */
    memset(p, 0, rounded);
    return p;
}

void bb_free(void *p) { free(p); }

size_t bb_round_up(size_t v, size_t to) { return (v + to - 1) / to * to; }

size_t bb_k_stride(size_t k)
{
    size_t s = 0;
    for (int f = 0; f < BB_FMT_COUNT; f++) {
        size_t p = bb_round_up(k, bb_formats[f].block);
        if (p > s)
            s = p;
    }
    return bb_round_up(s, BB_ALIGN);
}

static size_t n_scales_of(const bb_format *f, size_t m)
{
    switch (f->scale) {
    case BB_SCALE_PER_ROW: return m;
    case BB_SCALE_PER_MATRIX: return 1;
    default: return 0;
    }
}

/* The sizes of an m x k matrix in format f: what allocation and work declarations share. */
static void set_shape(bb_weights *w, const bb_format *f, size_t m, size_t k)
{
    w->format = f->id;
    w->m = m;
    w->k = k;
    w->k_padded = bb_round_up(k, f->block);
    w->row_bytes = w->k_padded / f->block * f->block_bytes;
    w->n_scales = n_scales_of(f, m);
}

uint64_t bb_weights_bytes(bb_format_id id, size_t m, size_t k)
{
    bb_weights shape = {0};
    set_shape(&shape, bb_format_get(id), m, k);
    return (uint64_t)m * shape.row_bytes + (uint64_t)shape.n_scales * sizeof(float);
}

double bb_bits_per_weight(bb_format_id id, size_t m, size_t k)
{
    return (double)bb_weights_bytes(id, m, k) * 8.0 / ((double)m * (double)k);
}

int bb_weights_alloc(bb_weights *w, bb_format_id id, size_t m, size_t k)
{
    const bb_format *f = bb_format_get(id);
    memset(w, 0, sizeof *w);
    if (!f || m == 0 || k == 0)
        return -1;
    if (k > BB_MAX_BUFFER_BYTES) /* row_bytes below would overflow */
        return -1;
    set_shape(w, f, m, k);
    size_t bytes;
    if (__builtin_mul_overflow(m, w->row_bytes, &bytes))
        return -1;
    w->data = bb_alloc(bytes);
    w->scales = bb_alloc((w->n_scales ? w->n_scales : 1) * sizeof(float));
    if (!w->data || !w->scales) {
        bb_weights_free(w);
        return -1;
    }
    return 0;
}

void bb_weights_free(bb_weights *w)
{
    bb_free(w->data);
    bb_free(w->scales);
    w->data = NULL;
    w->scales = NULL;
}

void bb_weights_fill_zero(bb_weights *w)
{
    const bb_format *f = bb_format_get(w->format);
    for (size_t r = 0; r < w->m; r++)
        for (size_t i = 0; i < w->k_padded; i++)
            f->set_code(w, r, i, f->zero_code);
}

double bb_weight_value(const bb_weights *w, size_t row, size_t i)
{
    const bb_format *f = bb_format_get(w->format);
    return (double)bb_row_scale(w, row) * f->code_value(f->get_code(w, row, i));
}

/* Blob layout: scale[n] | sum[n] | q[n][k_stride], each part 64-byte aligned. */
static size_t q8_k_stride(size_t k) { return bb_k_stride(k); }
static size_t q8_head_bytes(size_t n) { return bb_round_up(n * sizeof(float), BB_ALIGN); }

size_t bb_act_q8_bytes(size_t k, size_t n)
{
    return 2 * q8_head_bytes(n) + n * q8_k_stride(k);
}

bb_act_q8 bb_act_q8_view(void *blob, size_t k, size_t n)
{
    uint8_t *b = blob;
    bb_act_q8 a = {
        .scale = (float *)b,
        .sum = (int32_t *)(b + q8_head_bytes(n)),
        .q = (int8_t *)(b + 2 * q8_head_bytes(n)),
        .k = k,
        .k_stride = q8_k_stride(k),
        .n = n,
    };
    return a;
}

void bb_kernel_work(const bb_kernel *kn, size_t m, size_t k, size_t n, bb_work *out)
{
    const bb_format *f = bb_format_get(kn->format);
    uint64_t wbytes = bb_weights_bytes(kn->format, m, k);
    if (kn->layout_bytes) {
        /* A repacked layout may differ in size; ask it with a shape-only descriptor. */
        bb_weights shape = {0};
        set_shape(&shape, f, m, k);
        wbytes = kn->layout_bytes(&shape) + shape.n_scales * sizeof(float);
    }
    out->weight_bytes = wbytes;
    out->act_bytes = (uint64_t)n * k * (f->act == BB_ACT_Q8 ? 1 : sizeof(float));
    out->out_bytes = (uint64_t)n * m * sizeof(float);
    out->ops = 2ull * m * k * n;
}

size_t bb_kernel_max_k(const bb_kernel *kn)
{
    size_t f = bb_formats[kn->format].max_k;
    return kn->max_k && kn->max_k < f ? kn->max_k : f;
}

int bb_kernel_shape_check(const bb_kernel *kn, size_t m, size_t k, size_t n, char *err, size_t errlen)
{
    if (kn->max_k && k > kn->max_k && k <= bb_formats[kn->format].max_k) {
        snprintf(err, errlen, "%s: k = %zu is above this implementation's limit; accepted k <= %zu",
                 kn->name, k, kn->max_k);
        return -1;
    }
    if (bb_shape_check(kn->format, m, k, n, err, errlen))
        return -1;
    if (kn->layout_bytes) {
        /* the format's weights passed: a repacked copy of them is within a small factor */
        bb_weights shape = {0};
        set_shape(&shape, bb_format_get(kn->format), m, k);
        uint64_t bytes = kn->layout_bytes(&shape);
        if (bytes > BB_MAX_BUFFER_BYTES) {
            snprintf(err, errlen, "%s: m = %zu, k = %zu: its repacked weights (%" PRIu64 " bytes) exceed "
                                  "2^46 bytes (64 TiB, the largest buffer bitbench allocates)",
                     kn->name, m, k, bytes);
            return -1;
        }
    }
    return 0;
}

void bb_kernel_gemm(const bb_kernel *kn, const bb_gemm_args *a)
{
    if (kn->prepare_act)
        kn->prepare_act(a, 0, a->n);
    kn->gemm_rows(a, 0, a->w->m);
}
