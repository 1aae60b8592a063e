/*
 * tests/test_sampler.c - the one interleaved sampler (harness/core/sampler.h) on fake participants
 * and a fake clock: interleaving order, warm-up and calibration discarded, the min-reps /
 * min-time / max-reps / time-cap stop rules, calibration arithmetic, a custom round order,
 * participants dropping out, and the stop flag.  No real time is measured or asserted.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../harness/core/sampler.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { MAXLOG = 4096 };

typedef struct fake {
    uint64_t clock;          /* ns; advanced only by participants' calls */
    uint64_t cost[4];        /* ns each call of a participant takes */
    size_t nlog;
    struct { size_t who; bb_sample_phase phase; size_t round; } log[MAXLOG];
    int drop_after[4];       /* > 0: inactive after that many kept calls */
    int kept_calls[4];
    volatile sig_atomic_t *stop;
    size_t stop_at;          /* set *stop after this many calls (0: never) */
    int self_timed_value;    /* self-timed participants return cost + this */
} fake;

static uint64_t fake_clock(void *ctx) { return ((fake *)ctx)->clock; }

static double fake_sample(void *ctx, size_t who, bb_sample_phase phase, size_t round)
{
    fake *f = ctx;
    if (f->nlog < MAXLOG) {
        f->log[f->nlog].who = who;
        f->log[f->nlog].phase = phase;
        f->log[f->nlog].round = round;
    }
    f->nlog++;
    f->clock += f->cost[who];
    if (phase == BB_SAMPLE_KEPT)
        f->kept_calls[who]++;
    if (f->stop_at && f->nlog == f->stop_at)
        *f->stop = 1;
    return (double)(f->cost[who] + (uint64_t)f->self_timed_value);
}

static bool fake_active(void *ctx, size_t who)
{
    fake *f = ctx;
    return !f->drop_after[who] || f->kept_calls[who] < f->drop_after[who];
}

static bb_sampler base(fake *f, size_t n)
{
    return (bb_sampler){.n = n, .ctx = f, .sample = fake_sample, .active = fake_active, .clock_ns = fake_clock};
}

static void test_interleaving_and_warmup(void **state)
{
    (void)state;
    fake f = {.cost = {100, 200, 300}};
    bb_sampler s = base(&f, 3);
    s.warmup = 2;
    s.fixed_rounds = 4;
    assert_int_equal(bb_sampler_run(&s), 0);
    assert_int_equal(f.nlog, 3 * (2 + 4));
    for (size_t c = 0; c < f.nlog; c++) { /* A B C A B C ...: warm-up rounds first */
        assert_int_equal(f.log[c].who, c % 3);
        assert_int_equal(f.log[c].phase, c < 6 ? BB_SAMPLE_WARMUP : BB_SAMPLE_KEPT);
        assert_int_equal(f.log[c].round, c < 6 ? c / 3 : c / 3 - 2);
    }
    for (size_t i = 0; i < 3; i++) { /* warm-up discarded; the sampler's clock timed the calls */
        assert_int_equal(s.nsamples[i], 4);
        for (size_t r = 0; r < 4; r++)
            assert_true(s.samples[i][r] == (double)f.cost[i]);
    }
    assert_int_equal(s.rounds, 4);
    assert_false(s.capped);
    assert_false(s.stopped);
    bb_sampler_free(&s);
}

static void test_min_reps_and_min_time(void **state)
{
    (void)state;
    /* min_time reached long before min_reps: min_reps decides */
    fake f = {.cost = {1000000, 1000000}};
    bb_sampler s = base(&f, 2);
    s.min_reps = 7;
    s.max_reps = 100;
    s.min_time_s = 1e-6;
    assert_int_equal(bb_sampler_run(&s), 0);
    assert_int_equal(s.rounds, 7);
    assert_int_equal(s.nsamples[0], 7);
    bb_sampler_free(&s);

    /* min_time decides: mean kept time per live participant (1.5 ms per round) >= 30 ms */
    fake g = {.cost = {1000000, 2000000}};
    s = base(&g, 2);
    s.min_reps = 3;
    s.max_reps = 1000;
    s.min_time_s = 0.03;
    assert_int_equal(bb_sampler_run(&s), 0);
    assert_int_equal(s.rounds, 20);
    bb_sampler_free(&s);

    /* max_reps bounds it */
    fake h = {.cost = {10, 10}};
    s = base(&h, 2);
    s.min_reps = 3;
    s.max_reps = 50;
    s.min_time_s = 1;
    assert_int_equal(bb_sampler_run(&s), 0);
    assert_int_equal(s.rounds, 50);
    assert_int_equal(s.nsamples[1], 50);
    bb_sampler_free(&s);
}

static void test_time_cap(void **state)
{
    (void)state;
    /* rounds of 3 ms, warm-up round included in the cap: capped after whole rounds at >= 10 ms */
    fake f = {.cost = {1000000, 2000000}};
    bb_sampler s = base(&f, 2);
    s.warmup = 1;
    s.min_reps = 100;
    s.max_reps = 1000;
    s.min_time_s = 10;
    s.max_time_s = 0.010;
    assert_int_equal(bb_sampler_run(&s), 0);
    assert_true(s.capped);
    assert_int_equal(s.rounds, 3); /* 3 ms warm-up + 3 kept rounds = 12 ms */
    bb_sampler_free(&s);
}

static void test_calibration(void **state)
{
    (void)state;
    /* slowest participant 4 ms: 0.5 s / 4 ms = 125 rounds; calibration calls not kept */
    fake f = {.cost = {1000000, 4000000}};
    bb_sampler s = base(&f, 2);
    s.calibrate = 3;
    s.min_reps = 10;
    s.max_reps = 1000000;
    s.min_time_s = 0.5;
    assert_int_equal(bb_sampler_run(&s), 0);
    assert_int_equal(s.planned, 125);
    assert_int_equal(s.rounds, 125);
    assert_int_equal(s.nsamples[0], 125);
    for (size_t c = 0; c < 6; c++) { /* each participant alone, 3 calls */
        assert_int_equal(f.log[c].phase, BB_SAMPLE_CALIBRATE);
        assert_int_equal(f.log[c].who, c / 3);
    }
    bb_sampler_free(&s);

    /* too few: at least min_reps */
    fake g = {.cost = {1000000, 4000000}};
    s = base(&g, 2);
    s.calibrate = 3;
    s.min_reps = 10;
    s.max_reps = 1000000;
    s.min_time_s = 0.001;
    assert_int_equal(bb_sampler_run(&s), 0);
    assert_int_equal(s.rounds, 10);
    bb_sampler_free(&s);
}

static void reverse(void *ctx, size_t round, size_t *perm)
{
    (void)ctx;
    if (round % 2)
        for (size_t i = 0; i < 3; i++)
            perm[i] = 2 - i;
}

static void test_order_and_dropout(void **state)
{
    (void)state;
    fake f = {.cost = {10, 10, 10}, .drop_after = {0, 2, 0}};
    bb_sampler s = base(&f, 3);
    s.order = reverse;
    s.fixed_rounds = 4;
    assert_int_equal(bb_sampler_run(&s), 0);
    /* round 0: 0 1 2; round 1: 2 1 0; then participant 1 is out: 0 2; 2 0 */
    size_t want[] = {0, 1, 2, 2, 1, 0, 0, 2, 2, 0};
    assert_int_equal(f.nlog, sizeof want / sizeof want[0]);
    for (size_t c = 0; c < f.nlog; c++)
        assert_int_equal(f.log[c].who, want[c]);
    assert_int_equal(s.nsamples[1], 2);
    assert_int_equal(s.nsamples[0], 4);
    bb_sampler_free(&s);
}

static double nan_sample(void *ctx, size_t who, bb_sample_phase phase, size_t round)
{
    fake_sample(ctx, who, phase, round);
    return who == 1 ? NAN : 5.0;
}

static void test_self_timed_and_nan(void **state)
{
    (void)state;
    fake f = {.cost = {10, 10}};
    bb_sampler s = base(&f, 2);
    s.sample = nan_sample;
    s.self_timed = true;
    s.fixed_rounds = 3;
    assert_int_equal(bb_sampler_run(&s), 0);
    assert_int_equal(s.nsamples[0], 3);
    assert_true(s.samples[0][2] == 5.0); /* the participant's own time, not the clock's */
    assert_int_equal(s.nsamples[1], 0);  /* NAN: no sample */
    bb_sampler_free(&s);
}

static void test_stop_flag(void **state)
{
    (void)state;
    volatile sig_atomic_t stop = 0;
    fake f = {.cost = {10, 10}, .stop = &stop, .stop_at = 5};
    bb_sampler s = base(&f, 2);
    s.stop = &stop;
    s.warmup = 1;
    s.min_reps = 1000;
    s.max_reps = 1000;
    s.min_time_s = 1;
    assert_int_equal(bb_sampler_run(&s), 1);
    assert_true(s.stopped);
    assert_int_equal(f.nlog, 5); /* no call after the flag */
    bb_sampler_free(&s);

    stop = 1; /* already set: nothing runs */
    fake g = {.cost = {10, 10}};
    s = base(&g, 2);
    s.stop = &stop;
    s.fixed_rounds = 3;
    assert_int_equal(bb_sampler_run(&s), 1);
    assert_int_equal(g.nlog, 0);
    bb_sampler_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_interleaving_and_warmup),
        cmocka_unit_test(test_min_reps_and_min_time),
        cmocka_unit_test(test_time_cap),
        cmocka_unit_test(test_calibration),
        cmocka_unit_test(test_order_and_dropout),
        cmocka_unit_test(test_self_timed_and_nan),
        cmocka_unit_test(test_stop_flag),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
