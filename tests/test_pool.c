/* tests/test_pool.c - the thread pool and the bandwidth probe that every timing relies on. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../harness/machine/bandwidth.h"
#include "../harness/core/pool.h"

#include <stdatomic.h>
#include <string.h>

typedef struct visits {
    atomic_int per_tid[8];
    atomic_int nthreads_seen;
} visits;

static void record(void *p, int tid, int n)
{
    visits *v = p;
    atomic_fetch_add(&v->per_tid[tid], 1);
    atomic_store(&v->nthreads_seen, n);
}

/* Every run calls fn exactly once per thread, and returns only after all of them. */
static void test_each_thread_runs_once_per_run(void **state)
{
    (void)state;
    char err[200];
    for (int threads = 1; threads <= 4; threads++) {
        bb_pool *p = bb_pool_create(threads, err, sizeof err);
        assert_non_null(p);
        assert_int_equal(bb_pool_threads(p), threads);
        assert_true(strlen(bb_pool_placement(p)) > 0);
        visits v;
        memset(&v, 0, sizeof v);
        for (int run = 1; run <= 200; run++) {
            bb_pool_run(p, record, &v);
            for (int t = 0; t < threads; t++)
                assert_int_equal(atomic_load(&v.per_tid[t]), run);
        }
        assert_int_equal(atomic_load(&v.nthreads_seen), threads);
        bb_pool_destroy(p);
    }
}

static void test_bad_thread_count(void **state)
{
    (void)state;
    char err[200] = "";
    assert_null(bb_pool_create(0, err, sizeof err));
    assert_non_null(strstr(err, "0"));
}

/* The probe's sum must validate, and the buffer size is what was asked. */
static void test_bandwidth_small_buffer_validates(void **state)
{
    (void)state;
    char err[200];
    bb_pool *p = bb_pool_create(2, err, sizeof err);
    bb_bandwidth bw[2];
    /* sized by what was measured: a cap below the pool's threads writes only cap results */
    memset(bw, 0xab, sizeof bw);
    assert_int_equal(bb_bandwidth_measure(p, 8u << 20, 2, bw, 1), 1);
    assert_int_equal(bw[0].threads, 1);
    assert_int_equal(((unsigned char *)&bw[1])[0], 0xab);
    assert_int_equal(bb_bandwidth_measure(p, 8u << 20, 2, bw, 2), 2);
    for (int t = 0; t < 2; t++) {
        assert_int_equal(bw[t].threads, t + 1);
        assert_true(bw[t].validated);
        assert_int_equal(bw[t].buffer_bytes, 8u << 20);
        assert_true(bw[t].best_gbps >= bw[t].median_gbps && bw[t].median_gbps > 0);
        assert_non_null(bw[t].loads);
    }
    bb_pool_destroy(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_each_thread_runs_once_per_run),
        cmocka_unit_test(test_bad_thread_count),
        cmocka_unit_test(test_bandwidth_small_buffer_validates),
    };
    return cmocka_run_group_tests_name("pool", tests, NULL, NULL);
}
