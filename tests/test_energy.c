/*
 * tests/test_energy.c - the RAPL reading code driven through fake sysfs trees built in a
 * temporary directory: powercap zones on two sockets with wrap-around (once and twice in a
 * window, by explicit samples and by the sampler thread), unreadable and malformed files,
 * the perf power PMU's event/scale/unit parsing and an injected perf counter, and the
 * probe end to end.  Tests run as root, so "unreadable" is made by an injected open
 * function (EACCES) or by a directory where a file is expected.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../harness/probe/energy.h"
#include "../harness/probe/probe.h"
#include "fakesys.h"
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/perf_event.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* likwid's topology code loads hwloc, whose plugins leak a little at exit; not ours.
 * Full unwinding lets the suppression see the libhwloc frame. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:libhwloc.so\n";
}
const char *__lsan_default_options(void);
const char *__lsan_default_options(void)
{
    return "print_suppressions=0";
}
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
    return "fast_unwind_on_malloc=0";
}

/* ------------------------------------------------------------------ fake trees */

static char root[256];

static void write_file(const char *rel, const char *text) { fs_write(root, rel, text); }
static void write_u64(const char *rel, uint64_t v) { fs_write_u64(root, rel, v); }

static uint64_t read_u64(const char *path)
{
    FILE *f = fopen(path, "r");
    uint64_t v = 0;
    assert_non_null(f);
    assert_int_equal(fscanf(f, "%" SCNu64, &v), 1);
    fclose(f);
    return v;
}

/* One powercap zone: <zone>/{name, energy_uj, max_energy_range_uj[, constraint_0_...]}. */
static void zone(const char *id, const char *name, uint64_t energy, uint64_t range,
                 uint64_t max_power_uw)
{
    char rel[128];
    snprintf(rel, sizeof rel, "%s/name", id);
    write_file(rel, name);
    snprintf(rel, sizeof rel, "%s/energy_uj", id);
    write_u64(rel, energy);
    snprintf(rel, sizeof rel, "%s/max_energy_range_uj", id);
    write_u64(rel, range);
    if (max_power_uw) {
        snprintf(rel, sizeof rel, "%s/constraint_0_max_power_uw", id);
        write_u64(rel, max_power_uw);
    }
}

static int make_root(void **state)
{
    (void)state;
    return tu_temp_dir(root, sizeof root, "bb_energy_test");
}

static int remove_root(void **state)
{
    (void)state;
    return tu_remove_tree(root);
}

/* Two sockets: package + core + dram each, a psys zone, and an mmio duplicate. */
#define RANGE0 1000000ull /* 1 J: small, so the test can wrap it */
static void two_socket_tree(void)
{
    zone("intel-rapl:0", "package-0\n", 900000, RANGE0, 0);
    zone("intel-rapl:0:0", "core\n", 10, 262143328850ull, 0);
    zone("intel-rapl:0:1", "dram\n", 20, 65712999613ull, 0);
    zone("intel-rapl:1", "package-1\n", 500, 262143328850ull, 125000000);
    zone("intel-rapl:1:0", "dram\n", 40, 65712999613ull, 0);
    zone("intel-rapl:2", "psys\n", 1000, 262143328850ull, 0);
    zone("intel-rapl-mmio:0", "package-0\n", 5, 262143328850ull, 0);
    write_file("intel-rapl/enabled", "1\n"); /* the control type directory: not a zone */
}

static bb_energy_opts manual_opts(void)
{
    static char perf_root[300];
    snprintf(perf_root, sizeof perf_root, "%s/no-perf", root);
    bb_energy_opts o = {.powercap_root = root, .perf_root = perf_root, .liveness_s = 0,
                        .no_sampler_thread = true, .no_papi = true};
    return o;
}

static const bb_energy_domain *find_domain(const bb_energy *e, const char *kind, int socket)
{
    for (int i = 0; i < e->n; i++)
        if (strcmp(e->dom[i].kind, kind) == 0 && e->dom[i].socket == socket)
            return &e->dom[i];
    return NULL;
}

static json_t *domain_json_of(json_t *energy, const char *kind, int socket)
{
    size_t i;
    json_t *d;
    json_array_foreach(json_object_get(energy, "domains"), i, d) {
        json_t *s = json_object_get(d, "socket");
        if (strcmp(json_string_value(json_object_get(d, "kind")), kind) == 0 &&
            (socket < 0 ? json_is_null(s) : json_integer_value(s) == socket))
            return d;
    }
    return NULL;
}

/* ------------------------------------------------------------------ arithmetic */

static void wrap_delta_arithmetic(void **state)
{
    (void)state;
    uint64_t d;
    assert_true(bb_energy_wrap_delta(100, 250, 1000, &d));
    assert_int_equal(d, 150);
    assert_true(bb_energy_wrap_delta(900, 50, 1000, &d)); /* wrapped once */
    assert_int_equal(d, 150);
    assert_true(bb_energy_wrap_delta(1000, 0, 1000, &d));
    assert_int_equal(d, 0);
    assert_true(bb_energy_wrap_delta(7, 7, 1000, &d));
    assert_int_equal(d, 0);
    assert_false(bb_energy_wrap_delta(100, 1001, 1000, &d)); /* above the range */
    assert_false(bb_energy_wrap_delta(1001, 5, 1000, &d));
    assert_false(bb_energy_wrap_delta(50, 40, 0, &d)); /* a 64-bit counter went back */
    assert_true(bb_energy_wrap_delta(UINT64_MAX - 5, UINT64_MAX, 0, &d));
    assert_int_equal(d, 5);
    /* Twice in a window: the sum of per-sample deltas, each with at most one wrap. */
    uint64_t samples[] = {900, 100, 950, 50}, total = 0;
    for (int i = 1; i < 4; i++) {
        assert_true(bb_energy_wrap_delta(samples[i - 1], samples[i], 1000, &d));
        total += d;
    }
    assert_int_equal(total, 200 + 850 + 100);
}

static void sampling_period_from_max_power(void **state)
{
    (void)state;
    /* A quarter of the time the counter takes to wrap at full power. */
    assert_true(fabs(bb_energy_sample_period(262143.32885, 1000.0) - 65.53583221) < 1e-6);
    assert_true(fabs(bb_energy_sample_period(65536.0, 125.0) - 131.072) < 1e-9);
    assert_true(fabs(bb_energy_sample_period(1.0, 1000.0) - 0.00025) < 1e-12);
}

static void parse_u64_strict(void **state)
{
    (void)state;
    uint64_t v;
    assert_true(bb_energy_parse_u64("123\n", &v));
    assert_int_equal(v, 123);
    assert_true(bb_energy_parse_u64("18446744073709551615", &v));
    assert_int_equal(v, UINT64_MAX);
    assert_false(bb_energy_parse_u64("18446744073709551616", &v));
    assert_false(bb_energy_parse_u64("", &v));
    assert_false(bb_energy_parse_u64("-1", &v));
    assert_false(bb_energy_parse_u64("12abc", &v));
    assert_false(bb_energy_parse_u64("abc", &v));
}

/* ------------------------------------------------------------------ powercap tree */

static void powercap_domains_and_sockets(void **state)
{
    (void)state;
    two_socket_tree();
    bb_energy_opts o = manual_opts();
    bb_energy *e = bb_energy_open(&o);
    assert_true(bb_energy_available(e));
    assert_int_equal(e->source, BB_ENERGY_POWERCAP);
    assert_int_equal(e->n, 6); /* mmio duplicate and control type left out */
    assert_non_null(find_domain(e, "package", 0));
    assert_non_null(find_domain(e, "package", 1));
    assert_non_null(find_domain(e, "core", 0));
    assert_non_null(find_domain(e, "dram", 0));
    assert_non_null(find_domain(e, "dram", 1));
    assert_non_null(find_domain(e, "psys", -1));
    const bb_energy_domain *p1 = find_domain(e, "package", 1);
    assert_false(p1->max_power_assumed);
    assert_true(fabs(p1->max_power_w - 125.0) < 1e-9);
    assert_true(find_domain(e, "package", 0)->max_power_assumed);
    /* The shortest period: package-0 wraps after 1 J at the assumed 1000 W. */
    assert_true(fabs(e->sample_period_s - 0.00025) < 1e-12);
    bb_energy_close(e);
}

static void powercap_wrap_twice_two_sockets(void **state)
{
    (void)state;
    two_socket_tree();
    bb_energy_opts o = manual_opts();
    bb_energy *e = bb_energy_open(&o);
    assert_true(bb_energy_available(e));
    bb_energy_begin(e);
    write_u64("intel-rapl:0/energy_uj", 100000); /* wrapped: +200000 */
    write_u64("intel-rapl:1/energy_uj", 2500);
    bb_energy_sample(e);
    write_u64("intel-rapl:0/energy_uj", 950000); /* +850000 */
    bb_energy_sample(e);
    write_u64("intel-rapl:0/energy_uj", 50000);  /* wrapped again: +100000 */
    write_u64("intel-rapl:0:1/energy_uj", 300020); /* dram socket 0: +0.3 J */
    write_u64("intel-rapl:1:0/energy_uj", 100040); /* dram socket 1: +0.1 J */
    write_u64("intel-rapl:1/energy_uj", 1000500);  /* package 1: +1.0 J in all */
    write_u64("intel-rapl:0:0/energy_uj", 500010); /* core: inside the package */
    write_u64("intel-rapl:2/energy_uj", 5001000);  /* psys: not in the headline */
    bb_energy_end(e);
    const bb_energy_domain *p0 = find_domain(e, "package", 0);
    assert_int_equal(p0->wraps, 2);
    assert_int_equal(p0->units, 1150000);

    json_t *j = bb_energy_json(e, 10);
    assert_string_equal(tu_str(j, "status"), "measured");
    assert_string_equal(tu_str(j, "source"), "powercap");
    assert_true(json_is_null(json_object_get(j, "reason")));
    assert_true(fabs(tu_num(domain_json_of(j, "package", 0), "gross_j") - 1.15) < 1e-12);
    assert_int_equal(json_integer_value(json_object_get(domain_json_of(j, "package", 0), "wraps")), 2);
    assert_true(fabs(tu_num(domain_json_of(j, "package", 1), "gross_j") - 1.0) < 1e-12);
    json_t *pk = json_object_get(json_object_get(j, "by_kind"), "package");
    assert_true(fabs(tu_num(pk, "gross_j") - 2.15) < 1e-12);
    assert_int_equal(json_integer_value(json_object_get(pk, "domains")), 2);
    assert_true(fabs(tu_num(json_object_get(json_object_get(j, "by_kind"), "dram"), "gross_j") - 0.4) < 1e-12);
    /* headline: package + dram on both sockets; not core (inside package), not psys */
    assert_true(fabs(tu_num(j, "gross_j") - 2.55) < 1e-12);
    json_t *kinds = json_object_get(j, "headline_domains");
    assert_int_equal(json_array_size(kinds), 2);
    /* no idle baseline: gross is measured, net is null with the reason */
    assert_true(json_is_null(json_object_get(j, "net_j")));
    assert_true(json_is_null(json_object_get(j, "net_j_per_token")));
    assert_non_null(strstr(tu_str(j, "net_reason"), "idle"));
    assert_true(fabs(tu_num(j, "avg_w") - 2.55 / tu_num(j, "window_s")) < 1e-9);
    json_decref(j);
    bb_energy_close(e);
}

/* An open function that advances every energy_uj file by `step` units before each read:
 * the counters then move by a known amount per reading, whatever the timing. */
typedef struct stepper {
    uint64_t step;
    const char *deny; /* a path suffix to refuse with EACCES (NULL: none) */
    int reads;
} stepper;

static int stepping_open(const char *path, void *ctx)
{
    stepper *s = ctx;
    size_t n = strlen(path);
    if (s->deny && n >= strlen(s->deny) && strcmp(path + n - strlen(s->deny), s->deny) == 0)
        return -EACCES;
    if (n > 10 && strcmp(path + n - 10, "/energy_uj") == 0 && s->step) {
        char range_path[600];
        snprintf(range_path, sizeof range_path, "%.*s/max_energy_range_uj", (int)(n - 10), path);
        uint64_t range = read_u64(range_path), v = read_u64(path) + s->step;
        FILE *f = fopen(path, "w");
        fprintf(f, "%" PRIu64 "\n", v > range ? v - range : v);
        fclose(f);
        s->reads++;
    }
    int fd = open(path, O_RDONLY);
    return fd < 0 ? -errno : fd;
}

static void powercap_idle_baseline_and_net(void **state)
{
    (void)state;
    zone("intel-rapl:0", "package-0\n", 0, 262143328850ull, 0);
    zone("intel-rapl:0:0", "dram\n", 0, 65712999613ull, 0);
    stepper s = {.step = 20000}; /* 0.02 J per reading */
    bb_energy_opts o = manual_opts();
    o.open_file = stepping_open;
    o.open_ctx = &s;
    bb_energy *e = bb_energy_open(&o);
    assert_true(bb_energy_available(e));
    bb_energy_idle(e, 0.01); /* begin + end: one step per domain */
    assert_true(e->idle_window_s >= 0.01);
    const bb_energy_domain *pkg = find_domain(e, "package", 0);
    assert_true(fabs(pkg->idle_w - 0.02 / e->idle_window_s) < 1e-9);

    bb_energy_begin(e);
    bb_energy_sample(e);
    bb_energy_sample(e);
    bb_energy_end(e); /* three steps in the window */
    json_t *j = bb_energy_json(e, 4);
    assert_string_equal(tu_str(j, "status"), "measured");
    double w = tu_num(j, "window_s"), idle_w = pkg->idle_w + find_domain(e, "dram", 0)->idle_w;
    assert_true(fabs(tu_num(j, "gross_j") - 0.12) < 1e-12); /* 2 domains x 3 x 0.02 J */
    assert_true(fabs(tu_num(j, "idle_j") - idle_w * w) < 1e-12);
    assert_true(fabs(tu_num(j, "net_j") - (0.12 - idle_w * w)) < 1e-12);
    assert_true(fabs(tu_num(j, "net_j_per_token") - tu_num(j, "net_j") / 4) < 1e-12);
    assert_true(fabs(tu_num(j, "net_w") - tu_num(j, "net_j") / w) < 1e-9);
    assert_true(fabs(tu_num(j, "idle_window_s") - e->idle_window_s) < 1e-12);
    json_t *d = domain_json_of(j, "package", 0);
    assert_true(fabs(tu_num(d, "net_j") - (0.06 - pkg->idle_w * w)) < 1e-12);
    json_decref(j);
    bb_energy_close(e);
}

static void powercap_permission_denied(void **state)
{
    (void)state;
    zone("intel-rapl:0", "package-0\n", 0, 262143328850ull, 0);
    stepper s = {.deny = "/energy_uj"};
    bb_energy_opts o = manual_opts();
    o.open_file = stepping_open;
    o.open_ctx = &s;
    bb_energy *e = bb_energy_open(&o);
    assert_false(bb_energy_available(e));
    assert_non_null(strstr(e->reason, "powercap: "));
    assert_non_null(strstr(e->reason, "intel-rapl:0/energy_uj: permission denied"));
    assert_non_null(strstr(e->reason, "root"));
    assert_non_null(strstr(e->reason, "chmod a+r"));
    assert_non_null(strstr(e->reason, "udev"));
    assert_non_null(strstr(e->reason, "perf_event: no power PMU"));
    json_t *j = bb_energy_json(e, 1);
    assert_string_equal(tu_str(j, "status"), "unavailable");
    assert_true(json_is_null(json_object_get(j, "source")));
    assert_true(json_is_null(json_object_get(j, "gross_j")));
    assert_true(json_is_null(json_object_get(j, "net_j_per_token")));
    assert_non_null(strstr(tu_str(j, "reason"), "permission denied"));
    json_decref(j);
    bb_energy_close(e);
}

static void powercap_one_domain_denied_others_measured(void **state)
{
    (void)state;
    zone("intel-rapl:0", "package-0\n", 0, 262143328850ull, 0);
    zone("intel-rapl:0:0", "dram\n", 0, 65712999613ull, 0);
    stepper s = {.step = 1000, .deny = "intel-rapl:0:0/energy_uj"};
    bb_energy_opts o = manual_opts();
    o.open_file = stepping_open;
    o.open_ctx = &s;
    bb_energy *e = bb_energy_open(&o);
    assert_true(bb_energy_available(e));
    assert_int_equal(e->n, 1);
    assert_non_null(strstr(e->skipped, "intel-rapl:0:0/energy_uj: permission denied"));
    json_t *d = bb_energy_describe(e);
    assert_non_null(strstr(tu_str(d, "domains_left_out"), "permission denied"));
    json_decref(d);
    bb_energy_close(e);
}

static void powercap_directory_instead_of_file(void **state)
{
    (void)state;
    zone("intel-rapl:0", "package-0\n", 0, 262143328850ull, 0);
    char path[512];
    snprintf(path, sizeof path, "%s/intel-rapl:0/energy_uj", root);
    assert_int_equal(remove(path), 0);
    assert_int_equal(mkdir(path, 0755), 0);
    bb_energy_opts o = manual_opts();
    bb_energy *e = bb_energy_open(&o);
    assert_false(bb_energy_available(e));
    assert_non_null(strstr(e->reason, "energy_uj: cannot read: Is a directory"));
    bb_energy_close(e);
}

static void powercap_garbage_contents(void **state)
{
    (void)state;
    zone("intel-rapl:0", "package-0\n", 0, 262143328850ull, 0);
    zone("intel-rapl:1", "package-1\n", 0, 262143328850ull, 0);
    zone("intel-rapl:2", "package-2\n", 0, 262143328850ull, 0);
    write_file("intel-rapl:0/energy_uj", "abc\n");
    write_file("intel-rapl:1/max_energy_range_uj", "-5\n");
    bb_energy_opts o = manual_opts();
    bb_energy *e = bb_energy_open(&o);
    assert_true(bb_energy_available(e)); /* package-2 is fine */
    assert_int_equal(e->n, 1);
    assert_non_null(strstr(e->skipped, "intel-rapl:0/energy_uj holds 'abc', expected an unsigned integer"));
    assert_non_null(strstr(e->skipped, "max_energy_range_uj holds '-5'"));

    /* Garbage appearing in the middle of a window: that domain is unavailable, never 0. */
    bb_energy_begin(e);
    write_file("intel-rapl:2/energy_uj", "12x\n");
    bb_energy_end(e);
    json_t *j = bb_energy_json(e, 1);
    assert_string_equal(tu_str(j, "status"), "unavailable");
    assert_non_null(strstr(tu_str(j, "reason"), "holds '12x'"));
    json_t *d = domain_json_of(j, "package", 2);
    assert_string_equal(tu_str(d, "status"), "unavailable");
    assert_true(json_is_null(json_object_get(d, "gross_j")));
    json_decref(j);

    /* A value above max_energy_range_uj cannot come from the counter. */
    write_u64("intel-rapl:2/energy_uj", 10);
    bb_energy_begin(e);
    write_u64("intel-rapl:2/energy_uj", 262143328851ull);
    bb_energy_end(e);
    assert_non_null(strstr(e->dom[0].error, "not a counter that wraps"));
    bb_energy_close(e);
}

static void powercap_missing_root_and_empty_root(void **state)
{
    (void)state;
    bb_energy_opts o = manual_opts();
    char missing[300];
    snprintf(missing, sizeof missing, "%s/nothing-here", root);
    o.powercap_root = missing;
    bb_energy *e = bb_energy_open(&o);
    assert_false(bb_energy_available(e));
    assert_non_null(strstr(e->reason, "nothing-here does not exist"));
    bb_energy_close(e);
    o.powercap_root = root; /* exists, no zones */
    e = bb_energy_open(&o);
    assert_non_null(strstr(e->reason, "has no intel-rapl:* zones"));
    bb_energy_close(e);
}

static void counter_that_never_moves_is_unavailable(void **state)
{
    (void)state;
    zone("intel-rapl:0", "package-0\n", 777, 262143328850ull, 0);
    zone("intel-rapl:0:0", "dram\n", 0, 65712999613ull, 0);
    bb_energy_opts o = manual_opts();
    o.liveness_s = 0.01;
    bb_energy *e = bb_energy_open(&o);
    assert_false(bb_energy_available(e));
    assert_non_null(strstr(e->reason, "did not advance"));
    bb_energy_close(e);

    /* Liveness skipped: a domain that stays still in a window reads null, not 0 J. */
    o.liveness_s = 0;
    e = bb_energy_open(&o);
    bb_energy_begin(e);
    write_u64("intel-rapl:0/energy_uj", 1777);
    bb_energy_end(e);
    json_t *j = bb_energy_json(e, 1);
    assert_string_equal(tu_str(j, "status"), "measured");
    json_t *dram = domain_json_of(j, "dram", 0);
    assert_string_equal(tu_str(dram, "status"), "unavailable");
    assert_true(json_is_null(json_object_get(dram, "gross_j")));
    assert_non_null(strstr(tu_str(dram, "reason"), "did not advance"));
    assert_true(fabs(tu_num(j, "gross_j") - 0.001) < 1e-12); /* the package alone */
    assert_non_null(strstr(tu_str(j, "left_out"), "dram"));
    json_decref(j);
    bb_energy_close(e);
}

static unsigned long samples_taken(bb_energy *e)
{
    pthread_mutex_lock(&e->lock);
    unsigned long n = e->samples;
    pthread_mutex_unlock(&e->lock);
    return n;
}

/* Waits (bounded) for the sampler thread to take another reading. */
static void wait_for_sample(bb_energy *e)
{
    unsigned long before = samples_taken(e);
    for (int i = 0; i < 5000 && samples_taken(e) <= before; i++) {
        struct timespec ms = {0, 1000000};
        nanosleep(&ms, NULL);
    }
    assert_true(samples_taken(e) > before);
}

static void sampler_thread_undoes_two_wraps(void **state)
{
    (void)state;
    zone("intel-rapl:0", "package-0\n", 900000, RANGE0, 0);
    bb_energy_opts o = manual_opts();
    o.no_sampler_thread = false;
    o.sample_period_s = 0.001;
    bb_energy *e = bb_energy_open(&o);
    assert_true(bb_energy_available(e));
    bb_energy_begin(e);
    write_u64("intel-rapl:0/energy_uj", 100000);
    wait_for_sample(e);
    write_u64("intel-rapl:0/energy_uj", 950000);
    wait_for_sample(e);
    write_u64("intel-rapl:0/energy_uj", 50000);
    wait_for_sample(e);
    bb_energy_end(e);
    assert_int_equal(e->dom[0].wraps, 2);
    assert_true(fabs(e->dom[0].joules - 1.15) < 1e-12);
    bb_energy_close(e);
}

/* ------------------------------------------------------------------ perf power PMU */

static void fake_power_pmu(const char *cpumask)
{
    write_file("pmu/power/type", "23\n");
    write_file("pmu/power/cpumask", cpumask);
    write_file("pmu/power/format/event", "config:0-7\n");
    write_file("pmu/power/format/umask", "config:8-15\n");
    const char *events[] = {"energy-pkg", "event=0x02\n", "energy-ram", "event=0x03\n",
                            "energy-psys", "event=0x05\n"};
    for (int i = 0; i < 6; i += 2) {
        char rel[128];
        snprintf(rel, sizeof rel, "pmu/power/events/%s", events[i]);
        write_file(rel, events[i + 1]);
        snprintf(rel, sizeof rel, "pmu/power/events/%s.scale", events[i]);
        write_file(rel, "2.3283064365386962890625e-10\n");
        snprintf(rel, sizeof rel, "pmu/power/events/%s.unit", events[i]);
        write_file(rel, "Joules\n");
    }
}

static void perf_event_scale_unit_parsing(void **state)
{
    (void)state;
    fake_power_pmu("0\n");
    char pmu[300], why[BB_REASON_LEN];
    snprintf(pmu, sizeof pmu, "%s/pmu/power", root);
    uint64_t config;
    double scale;
    assert_true(bb_perf_parse_event(pmu, "energy-pkg", &config, &scale, why, sizeof why));
    assert_int_equal(config, 2);
    assert_true(scale == 0x1p-32); /* 2.3283064365386962890625e-10 is exactly 2^-32 */

    write_file("pmu/power/events/energy-x", "event=0x01,umask=0x3\n");
    write_file("pmu/power/events/energy-x.scale", "1e-6\n");
    write_file("pmu/power/events/energy-x.unit", "Joules\n");
    assert_true(bb_perf_parse_event(pmu, "energy-x", &config, &scale, why, sizeof why));
    assert_int_equal(config, 0x301);
    assert_true(scale == 1e-6);

    write_file("pmu/power/events/energy-x.unit", "Watts\n");
    assert_false(bb_perf_parse_event(pmu, "energy-x", &config, &scale, why, sizeof why));
    assert_non_null(strstr(why, "unit 'Watts', expected Joules"));
    write_file("pmu/power/events/energy-x.unit", "Joules\n");
    write_file("pmu/power/events/energy-x.scale", "lots\n");
    assert_false(bb_perf_parse_event(pmu, "energy-x", &config, &scale, why, sizeof why));
    assert_non_null(strstr(why, "holds 'lots', expected a positive number"));
    write_file("pmu/power/events/energy-x.scale", "1e-6\n");
    write_file("pmu/power/events/energy-x", "event=0x1ff\n");
    assert_false(bb_perf_parse_event(pmu, "energy-x", &config, &scale, why, sizeof why));
    assert_non_null(strstr(why, "does not fit"));
    write_file("pmu/power/events/energy-x", "event=0x1,cmask=2\n");
    assert_false(bb_perf_parse_event(pmu, "energy-x", &config, &scale, why, sizeof why));
    assert_non_null(strstr(why, "format/cmask: missing"));
    write_file("pmu/power/events/energy-x", "event=zz\n");
    assert_false(bb_perf_parse_event(pmu, "energy-x", &config, &scale, why, sizeof why));
    assert_non_null(strstr(why, "'zz' is not a number"));
    assert_false(bb_perf_parse_event(pmu, "energy-none", &config, &scale, why, sizeof why));
}

/* A fake perf: fds 100.. are counters that advance by `step` on every read. */
typedef struct fake_perf {
    int opened, closed, fail_errno;
    uint32_t type[16];
    uint64_t config[16];
    int cpu[16];
    uint64_t count[16], step;
} fake_perf;

static int fake_open(struct perf_event_attr *attr, pid_t pid, int cpu, void *ctx)
{
    fake_perf *f = ctx;
    assert_int_equal(pid, -1); /* system-wide */
    if (f->fail_errno)
        return -f->fail_errno;
    f->type[f->opened] = attr->type;
    f->config[f->opened] = attr->config;
    f->cpu[f->opened] = cpu;
    return 100 + f->opened++;
}

static int fake_read(int fd, uint64_t *values, size_t n, void *ctx)
{
    fake_perf *f = ctx;
    assert_int_equal(n, 1);
    f->count[fd - 100] += f->step;
    values[0] = f->count[fd - 100];
    return 0;
}

static void fake_close(int fd, void *ctx)
{
    (void)fd;
    ((fake_perf *)ctx)->closed++;
}

static bb_energy_opts perf_only_opts(fake_perf *f, bb_perf_ops *ops)
{
    static char pmu_root[300], no_powercap[300];
    snprintf(pmu_root, sizeof pmu_root, "%s/pmu", root);
    snprintf(no_powercap, sizeof no_powercap, "%s/no-powercap", root);
    *ops = (bb_perf_ops){.open = fake_open, .read = fake_read, .close = fake_close, .ctx = f};
    bb_energy_opts o = {.powercap_root = no_powercap, .perf_root = pmu_root, .liveness_s = 0.01,
                        .no_sampler_thread = true, .no_papi = true, .perf = ops};
    return o;
}

static void perf_backend_two_packages(void **state)
{
    (void)state;
    fake_power_pmu("0,28\n");
    fake_perf f = {.step = 1ull << 32}; /* one joule per read at scale 2^-32 */
    bb_perf_ops ops;
    bb_energy_opts o = perf_only_opts(&f, &ops);
    bb_energy *e = bb_energy_open(&o);
    assert_true(bb_energy_available(e));
    assert_int_equal(e->source, BB_ENERGY_PERF);
    assert_non_null(strstr(e->tried, "powercap: "));
    assert_int_equal(e->n, 5); /* pkg and ram on two packages, psys once */
    assert_int_equal(f.opened, 5);
    for (int i = 0; i < f.opened; i++)
        assert_int_equal(f.type[i], 23);
    const bb_energy_domain *pkg1 = find_domain(e, "package", 1);
    assert_non_null(pkg1);
    assert_int_equal(f.cpu[pkg1->fd - 100], 28);
    assert_int_equal(f.config[pkg1->fd - 100], 2);
    assert_int_equal(f.config[find_domain(e, "dram", 0)->fd - 100], 3);
    assert_non_null(find_domain(e, "psys", -1));
    assert_int_equal(pkg1->range, 0);

    bb_energy_begin(e);
    bb_energy_sample(e);
    bb_energy_end(e); /* two reads after begin: 2 J per domain */
    json_t *j = bb_energy_json(e, 2);
    assert_string_equal(tu_str(j, "source"), "perf_event");
    assert_true(fabs(tu_num(domain_json_of(j, "package", 1), "gross_j") - 2.0) < 1e-12);
    assert_true(fabs(tu_num(j, "gross_j") - 8.0) < 1e-12); /* package + dram, 2 sockets */
    json_decref(j);
    bb_energy_close(e);
    assert_int_equal(f.closed, 5);
}

static void perf_backend_permission_and_stuck(void **state)
{
    (void)state;
    fake_power_pmu("0\n");
    fake_perf f = {.fail_errno = EACCES};
    bb_perf_ops ops;
    bb_energy_opts o = perf_only_opts(&f, &ops);
    bb_energy *e = bb_energy_open(&o);
    assert_false(bb_energy_available(e));
    assert_non_null(strstr(e->reason, "perf_event: perf_event_open(power/energy-pkg/ on CPU 0): "
                                      "Permission denied"));
    assert_non_null(strstr(e->reason, "perf_event_paranoid"));
    assert_non_null(strstr(e->reason, "CAP_PERFMON"));
    bb_energy_close(e);

    /* Opens but never moves, as this VM's energy-psys does. */
    fake_perf stuck = {.step = 0};
    o = perf_only_opts(&stuck, &ops);
    e = bb_energy_open(&o);
    assert_false(bb_energy_available(e));
    assert_non_null(strstr(e->reason, "did not advance in 0.01 s"));
    assert_int_equal(stuck.closed, stuck.opened);
    assert_true(bb_probe_min_window_s(NULL) == 0.0);
    bb_energy_close(e);
}

/* ------------------------------------------------------------------ the probe */

static void probe_reads_fake_tree_from_environment(void **state)
{
    (void)state;
    zone("intel-rapl:0", "package-0\n", 0, 262143328850ull, 0);
    stepper s = {.step = 250000};
    bb_energy_opts o = manual_opts();
    o.powercap_root = NULL; /* from BITBENCH_POWERCAP_ROOT */
    o.open_file = stepping_open;
    o.open_ctx = &s;
    setenv("BITBENCH_POWERCAP_ROOT", root, 1);
    bb_counters_opts co = {.no_papi = true};
    bb_probe *p = bb_probe_open_with("perf::TASK-CLOCK", &o, &co);
    unsetenv("BITBENCH_POWERCAP_ROOT");
    assert_non_null(p);
    assert_true(bb_probe_min_window_s(p) == 0.05);
    json_t *before = bb_probe_result(p, 1, 1, 1);
    assert_string_equal(tu_str(json_object_get(before, "energy"), "status"), "unavailable");
    json_decref(before);
    bb_probe_idle(p, 0.001);
    bb_probe_begin(p, "fake/row");
    bb_probe_end(p);
    json_t *r = bb_probe_result(p, 3, 6, 1000);
    json_t *en = json_object_get(r, "energy");
    assert_string_equal(tu_str(en, "status"), "measured");
    assert_true(fabs(tu_num(en, "gross_j") - 0.25) < 1e-12); /* exactly one step */
    assert_true(json_is_number(json_object_get(en, "net_j_per_token")));
    json_t *ev = json_object_get(json_object_get(json_object_get(r, "counters"), "events"),
                                 "perf::TASK-CLOCK");
    assert_non_null(ev);
    assert_true(json_is_string(json_object_get(ev, "status")));
    assert_non_null(json_object_get(json_object_get(r, "counters"), "likwid"));
    json_decref(r);
    bb_probe_close(p);
}

/* On the real machine, whatever it has: never a crash, never a 0 for a missing value. */
static void probe_on_this_machine(void **state)
{
    (void)state;
    bb_probe *p = bb_probe_open(NULL);
    assert_non_null(p);
    bb_probe_idle(p, bb_probe_min_window_s(p));
    bb_probe_begin(p, "this-machine");
    volatile double x = 0;
    for (int i = 0; i < 100000; i++)
        x += i;
    bb_probe_end(p);
    json_t *r = bb_probe_result(p, 1, 1, 1 << 20);
    json_t *en = json_object_get(r, "energy");
    if (strcmp(tu_str(en, "status"), "unavailable") == 0) {
        assert_true(strlen(tu_str(en, "reason")) > 10);
        assert_true(json_is_null(json_object_get(en, "gross_j")));
    } else {
        assert_true(tu_num(en, "gross_j") > 0);
    }
    json_t *d = bb_probe_describe(p);
    json_t *de = json_object_get(d, "energy");
    assert_non_null(strstr(tu_str(de, "perf_access"), "perf_event_paranoid"));
    assert_true(json_is_object(json_object_get(d, "counters")));
    assert_true(json_is_object(json_object_get(d, "likwid")));
    json_decref(d);
    json_decref(r);
    bb_probe_close(p);
    bb_probe_close(NULL);
    json_t *n = bb_probe_result(NULL, 1, 1, 1);
    assert_string_equal(tu_str(json_object_get(n, "energy"), "status"), "unavailable");
    json_decref(n);
}

#define T(f) cmocka_unit_test_setup_teardown(f, make_root, remove_root)

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(wrap_delta_arithmetic),
        cmocka_unit_test(sampling_period_from_max_power),
        cmocka_unit_test(parse_u64_strict),
        T(powercap_domains_and_sockets),
        T(powercap_wrap_twice_two_sockets),
        T(powercap_idle_baseline_and_net),
        T(powercap_permission_denied),
        T(powercap_one_domain_denied_others_measured),
        T(powercap_directory_instead_of_file),
        T(powercap_garbage_contents),
        T(powercap_missing_root_and_empty_root),
        T(counter_that_never_moves_is_unavailable),
        T(sampler_thread_undoes_two_wraps),
        T(perf_event_scale_unit_parsing),
        T(perf_backend_two_packages),
        T(perf_backend_permission_and_stuck),
        T(probe_reads_fake_tree_from_environment),
        cmocka_unit_test(probe_on_this_machine),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
