/*
 * tests/test_roofs.c - the compute-roof loops (kernels/peak.h) and their JSON
 * (harness/machine/roofs.h): every entry well formed, every runnable loop runs and gives the same
 * result twice (no shared state), the scalar ones exist for every kind.  Nothing is timed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../harness/machine/roofs.h"

#include <string.h>

static void test_table(void **state)
{
    (void)state;
    bool scalar[BB_PEAK_KIND_COUNT] = {false};
    for (size_t i = 0; i < bb_peak_loop_count; i++) {
        const bb_peak_loop *l = bb_peak_loops[i];
        assert_non_null(l->name);
        assert_non_null(l->instr);
        assert_non_null(l->run);
        assert_true(l->ops_per_iter > 0);
        assert_true((unsigned)l->kind < BB_PEAK_KIND_COUNT);
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(l->name, bb_peak_loops[j]->name);
        if (l->isa == BB_ISA_SCALAR) {
            assert_int_equal(l->needs, 0);
            assert_true(bb_peak_runnable(l));
            scalar[l->kind] = true;
        }
    }
    for (int k = 0; k < BB_PEAK_KIND_COUNT; k++)
        assert_true(scalar[k]); /* a plain-C fallback for every roof */
    assert_string_equal(bb_peak_kind_name(BB_PEAK_INT8_DOT), "int8_dot");
}

static void test_loops_run(void **state)
{
    (void)state;
    for (size_t i = 0; i < bb_peak_loop_count; i++) {
        const bb_peak_loop *l = bb_peak_loops[i];
        if (!bb_peak_runnable(l))
            continue;
        uint64_t a = l->run(1000), b = l->run(1000);
        assert_true(a == b);
        l->run(0);
    }
}

static void test_json(void **state)
{
    (void)state;
    /* a wider loop of the same kind, made up: the JSON is architecture-neutral */
    bb_peak_loop wide_fma = bb_peak_fma_scalar;
    wide_fma.name = "fma-wide-test";
    bb_roof r[3] = {
        {.loop = &bb_peak_fma_scalar, .threads = 1, .best_gops = 4.0, .median_gops = 3.5, .runs = 5},
        {.loop = &bb_peak_fma_scalar, .threads = 2, .best_gops = 8.0, .median_gops = 7.0, .runs = 5},
        {.loop = &wide_fma, .threads = 2, .best_gops = 64.0, .median_gops = 60.0, .runs = 5},
    };
    json_t *j = bb_roofs_json(r, 3, "not pinned");
    assert_string_equal(json_string_value(json_object_get(j, "status")), "measured");
    assert_int_equal(json_array_size(json_object_get(j, "roofs")), 3);
    json_t *fma = json_object_get(json_object_get(j, "peak"), "fp32_fma");
    /* the peak of a kind at T threads is the best loop of any ISA */
    assert_true(json_real_value(json_object_get(fma, "t1")) == 4.0);
    assert_true(json_real_value(json_object_get(fma, "t2")) == 64.0);
    assert_null(json_object_get(json_object_get(j, "peak"), "int8_dot"));
    json_decref(j);
}

static void test_measure_small(void **state)
{
    (void)state;
    char err[200];
    bb_pool *pool = bb_pool_create(1, err, sizeof err);
    assert_non_null(pool);
    bb_isa_level cap = bb_isa_cap();
    bb_isa_set_cap(BB_ISA_SCALAR); /* the three scalar loops only: quick */
    bb_roof r[8];
    size_t n = bb_roofs_measure(pool, r, 8);
    bb_isa_set_cap(cap);
    assert_int_equal(n, 3);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(r[i].threads, 1);
        assert_true(r[i].best_gops > 0 && r[i].best_gops >= r[i].median_gops);
    }
    bb_pool_destroy(pool);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_loops_run),
        cmocka_unit_test(test_json),
        cmocka_unit_test(test_measure_small),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
