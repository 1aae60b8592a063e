/*
 * tests/test_kernels.c - every registered kernel this host can run, against the scalar
 * reference of its format, through the harness's own check (bit-exact for the integer
 * formats, the stated bound for fp16) and the threaded executor: ragged M and K, N = 1
 * and N > 1, 1 and 2 threads.  New kernels are covered by registering them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../harness/core/gemm_run.h"
#include "../harness/core/pool.h"
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

typedef struct shape { size_t m, k, n; } shape;

/* Ragged on purpose: the 1.3B FFN (5460) and 3B hidden (3200), K off every block size,
 * M not a multiple of 16 or of any row block, single rows, several tokens. */
static const shape shapes[] = {
    {1, 1, 1},   {3, 5460, 1}, {2, 3200, 2},  {17, 257, 3},  {33, 321, 1},
    {5, 1000, 8}, {31, 640, 5}, {64, 4096, 1}, {100, 768, 2}, {3, 65, 17},
};

static int check_kernel(const bb_kernel *k, bb_pool *pool, const shape *s, int expect_pass)
{
    size_t xs;
    float *w32 = bb_alloc(s->m * s->k * sizeof(float));
    tu_fill_normalish(w32, s->m * s->k, 1.0f / sqrtf((float)s->k), s->m * 131 + s->k);
    w32[0] = 3.0f; /* an outlier row value */
    float *x = tu_make_x(s->k, s->n, s->k + s->n, &xs);
    bb_kernel_weights kw;
    assert_int_equal(bb_kernel_weights_make(&kw, k, w32, s->m, s->k), 0);
    bb_check c;
    bb_gemm_check(pool, k, &kw, x, xs, s->n, &c);
    if (!c.passed && expect_pass)
        print_error("%s m=%zu k=%zu n=%zu threads=%d: %s\n", k->name, s->m, s->k, s->n,
                    bb_pool_threads(pool), c.detail);
    bb_kernel_weights_free(&kw);
    bb_free(x);
    bb_free(w32);
    return c.passed ? 0 : 1;
}

static void test_every_kernel_matches_its_reference(void **state)
{
    (void)state;
    char err[200];
    int failures = 0, tested = 0;
    for (int threads = 1; threads <= 2; threads++) {
        bb_pool *pool = bb_pool_create(threads, err, sizeof err);
        assert_non_null(pool);
        for (size_t i = 0; i < bb_kernel_count; i++) {
            const bb_kernel *k = bb_kernels[i];
            if (!bb_kernel_runnable(k))
                continue;
            tested++;
            for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
                failures += check_kernel(k, pool, &shapes[s], 1);
        }
        bb_pool_destroy(pool);
    }
    printf("checked %d kernel runs over %zu shapes\n", tested, sizeof shapes / sizeof shapes[0]);
    assert_int_equal(failures, 0);
}

/* The check itself must fail on a wrong kernel: corrupt one output through a kernel
 * wrapper and expect a reported mismatch. */
static const bb_kernel *wrapped;
static void corrupt_rows(const bb_gemm_args *a, size_t r0, size_t r1)
{
    wrapped->gemm_rows(a, r0, r1);
    if (r0 == 0)
        a->y[0] = a->y[0] * 1.0001f + 1e-3f;
}

static void test_check_catches_a_wrong_kernel(void **state)
{
    (void)state;
    char err[200];
    bb_pool *pool = bb_pool_create(1, err, sizeof err);
    for (int f = 0; f < BB_FMT_COUNT; f++) {
        wrapped = bb_kernel_reference((bb_format_id)f);
        bb_kernel bad = *wrapped;
        bad.name = "corrupted";
        bad.gemm_rows = corrupt_rows;
        shape s = {8, 300, 1};
        assert_int_equal(check_kernel(&bad, pool, &s, 0), 1);
    }
    bb_pool_destroy(pool);
}

/* Weights made from another implementation's quantized weights (gemm quantizes once per
 * format) are byte for byte those made from fp32: canonical data, scales and layout. */
static void test_make_from_equals_make(void **state)
{
    (void)state;
    static const shape cases[] = {{17, 257, 1}, {64, 4096, 1}, {3, 5460, 1}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const shape *s = &cases[c];
        float *w32 = bb_alloc(s->m * s->k * sizeof(float));
        tu_fill_normalish(w32, s->m * s->k, 1.0f / sqrtf((float)s->k), s->m * 7 + s->k);
        for (size_t i = 0; i < bb_kernel_count; i++) {
            const bb_kernel *k = bb_kernels[i], *ref = bb_kernel_find_best(bb_formats[k->format].name);
            bb_kernel_weights a, q, b;
            assert_int_equal(bb_kernel_weights_make(&a, k, w32, s->m, s->k), 0);
            assert_int_equal(bb_kernel_weights_make(&q, ref, w32, s->m, s->k), 0);
            assert_int_equal(bb_kernel_weights_make_from(&b, k, &q.w), 0);
            assert_memory_equal(a.w.data, b.w.data, a.w.m * a.w.row_bytes);
            assert_memory_equal(a.w.scales, b.w.scales, (a.w.n_scales ? a.w.n_scales : 1) * sizeof(float));
            assert_int_equal(!a.layout, !b.layout);
            if (a.layout)
                assert_memory_equal(a.layout, b.layout, k->layout_bytes(&a.w));
            bb_kernel_weights_free(&a);
            bb_kernel_weights_free(&b);
            /* another format's weights are refused */
            const bb_kernel *other = bb_kernel_find_best(bb_formats[(k->format + 1) % BB_FMT_COUNT].name);
            assert_int_equal(bb_kernel_weights_make_from(&b, other, &q.w), -1);
            bb_kernel_weights_free(&q);
        }
        bb_free(w32);
    }
}

static void test_names_and_lookup(void **state)
{
    (void)state;
    for (size_t i = 0; i < bb_kernel_count; i++) {
        const bb_kernel *k = bb_kernels[i];
        char prefix[32];
        snprintf(prefix, sizeof prefix, "%s-", bb_formats[k->format].name);
        assert_true(strncmp(k->name, prefix, strlen(prefix)) == 0); /* "<format>-<isa>-<method>" */
        assert_ptr_equal(bb_kernel_find_exact(k->name), k);
        for (size_t j = 0; j < i; j++)
            assert_true(strcmp(bb_kernels[j]->name, k->name) != 0);
        if (k->multiply_free)
            assert_non_null(k->hot_symbol);
        assert_non_null(k->gemm_rows);
        assert_true(bb_formats[k->format].act == BB_ACT_F32 || k->prepare_act);
    }
    for (int f = 0; f < BB_FMT_COUNT; f++) {
        const bb_kernel *best = bb_kernel_find_best(bb_formats[f].name);
        assert_non_null(best);
        assert_true(bb_kernel_runnable(best));
        for (size_t i = 0; i < bb_kernel_count; i++)
            if (bb_kernels[i]->format == (bb_format_id)f && bb_kernel_runnable(bb_kernels[i]))
                assert_true(bb_kernels[i]->priority <= best->priority);
        assert_non_null(bb_kernel_reference((bb_format_id)f));
    }
    assert_null(bb_kernel_find_best("nope"));
    assert_null(bb_kernel_find_exact("tern2"));
}

/* Capping the ISA at scalar leaves only the references runnable. */
static void test_isa_cap(void **state)
{
    (void)state;
    bb_isa_level top = bb_isa_cap();
    bb_isa_set_cap(BB_ISA_SCALAR);
    for (size_t i = 0; i < bb_kernel_count; i++)
        assert_int_equal(bb_kernel_runnable(bb_kernels[i]), bb_kernels[i]->isa == BB_ISA_SCALAR);
    for (int f = 0; f < BB_FMT_COUNT; f++)
        assert_ptr_equal(bb_kernel_find_best(bb_formats[f].name), bb_kernel_reference((bb_format_id)f));
    bb_isa_set_cap(top);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names_and_lookup),
        cmocka_unit_test(test_make_from_equals_make),
        cmocka_unit_test(test_isa_cap),
        cmocka_unit_test(test_check_catches_a_wrong_kernel),
        cmocka_unit_test(test_every_kernel_matches_its_reference),
    };
    return cmocka_run_group_tests_name("kernels", tests, NULL, NULL);
}
