/*
 * tests/test_counters.c - event counters: every "unavailable" path gives null with a
 * reason (unknown names, no hardware PMU, permission, never scheduled), the default list
 * adds the software events exactly when hardware events are missing, derived figures
 * from injected counts, multiplex scaling, and one real software event.
 * Injected perf counters run with PAPI off, so the tests mean the same on any machine.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../harness/probe/counters.h"

#include <errno.h>
#include <linux/perf_event.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A fake perf_event: hardware events fail with hw_errno (0: work); every counter reads
 * value[config], enabled 1000 ns and running `running` ns. */
typedef struct fake_pmu {
    int hw_errno;
    int deny_kernel; /* EACCES unless exclude_kernel is set */
    uint64_t value[16];
    uint64_t running;
    int opened, enabled, disabled, resets, closed;
    uint64_t config_of_fd[32];
    uint32_t type_of_fd[32];
} fake_pmu;

static int fake_open(struct perf_event_attr *attr, pid_t pid, int cpu, void *ctx)
{
    fake_pmu *f = ctx;
    assert_int_equal(pid, 0); /* this process */
    assert_int_equal(cpu, -1);
    assert_true(attr->inherit);
    assert_true(attr->disabled);
    if (f->deny_kernel && !attr->exclude_kernel)
        return -EACCES;
    if (attr->type == PERF_TYPE_HARDWARE && f->hw_errno)
        return -f->hw_errno;
    f->config_of_fd[f->opened] = attr->config;
    f->type_of_fd[f->opened] = attr->type;
    return 10 + f->opened++;
}

static int fake_read(int fd, uint64_t *v, size_t n, void *ctx)
{
    fake_pmu *f = ctx;
    assert_int_equal(n, 3);
    uint64_t config = f->config_of_fd[fd - 10];
    v[0] = f->type_of_fd[fd - 10] == PERF_TYPE_SOFTWARE ? 77 : f->value[config];
    v[1] = 1000;
    v[2] = f->running;
    return 0;
}

static int fake_ioctl(int fd, unsigned long request, void *ctx)
{
    fake_pmu *f = ctx;
    (void)fd;
    f->enabled += request == PERF_EVENT_IOC_ENABLE;
    f->disabled += request == PERF_EVENT_IOC_DISABLE;
    f->resets += request == PERF_EVENT_IOC_RESET;
    return 0;
}

static void fake_close(int fd, void *ctx)
{
    (void)fd;
    ((fake_pmu *)ctx)->closed++;
}

static bb_counters *open_fake(const char *events, fake_pmu *f, bb_perf_ops *ops)
{
    *ops = (bb_perf_ops){fake_open, fake_read, fake_ioctl, fake_close, f};
    bb_counters_opts o = {.no_papi = true, .perf = ops};
    bb_counters *c = bb_counters_open(events, &o);
    assert_non_null(c);
    return c;
}

static json_t *event_of(json_t *j, const char *name)
{
    json_t *e = json_object_get(json_object_get(j, "events"), name);
    assert_non_null(e);
    return e;
}

static json_t *derived_of(json_t *j, const char *name)
{
    json_t *d = json_object_get(json_object_get(j, "derived"), name);
    assert_non_null(d);
    return d;
}

static const char *str(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    assert_true(json_is_string(v));
    return json_string_value(v);
}

static double num(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    assert_true(json_is_number(v));
    return json_number_value(v);
}

static void assert_unavailable(json_t *o, const char *reason_part)
{
    assert_string_equal(str(o, "status"), "unavailable");
    assert_true(json_is_null(json_object_get(o, "value")));
    assert_non_null(strstr(str(o, "reason"), reason_part));
}

/* ------------------------------------------------------------------ tests */

static void no_hardware_pmu_gives_null_with_reason(void **state)
{
    (void)state;
    fake_pmu f = {.hw_errno = ENOENT, .running = 1000};
    bb_perf_ops ops;
    bb_counters *c = open_fake("instructions,cycles,llc-misses,perf::TASK-CLOCK", &f, &ops);
    bb_counters_start(c);
    bb_counters_stop(c);
    json_t *j = bb_counters_json(c, 10, 1e6);
    assert_unavailable(event_of(j, "instructions"), "no hardware PMU");
    assert_unavailable(event_of(j, "cycles"), "No such file or directory");
    assert_unavailable(event_of(j, "llc-misses"), "perf_event_open(hardware event llc-misses)");
    assert_non_null(strstr(str(event_of(j, "instructions"), "reason"), "PAPI skipped"));
    json_t *tc = event_of(j, "perf::TASK-CLOCK");
    assert_string_equal(str(tc, "status"), "measured");
    assert_true(num(tc, "value") == 77);
    assert_string_equal(str(tc, "unit"), "ns");
    assert_unavailable(derived_of(j, "ipc"), "instructions not measured");
    json_t *ipc = derived_of(j, "ipc");
    assert_true(json_is_null(json_object_get(ipc, "value")));
    json_t *llc = derived_of(j, "llc_misses_per_kb_weights");
    assert_true(json_is_null(json_object_get(llc, "value")));
    assert_non_null(strstr(str(llc, "reason"), "llc-misses not measured"));
    json_decref(j);
    bb_counters_close(c);
    assert_int_equal(f.closed, 1);
}

static void default_list_adds_software_events_only_when_hardware_missing(void **state)
{
    (void)state;
    unsetenv("BITBENCH_EVENTS");
    fake_pmu f = {.hw_errno = ENOENT, .running = 1000};
    bb_perf_ops ops;
    bb_counters *c = open_fake(NULL, &f, &ops);
    assert_int_equal(c->n, 7);
    assert_string_equal(c->ev[0].name, "instructions");
    assert_string_equal(c->ev[3].name, "perf::TASK-CLOCK");
    assert_string_equal(c->ev[4].name, "perf::PAGE-FAULTS");
    assert_string_equal(c->ev[5].name, "perf::CONTEXT-SWITCHES");
    bb_counters_close(c);

    fake_pmu g = {.running = 1000};
    c = open_fake(NULL, &g, &ops);
    assert_int_equal(c->n, 3);
    bb_counters_close(c);
}

static void environment_list_is_trimmed_and_deduplicated(void **state)
{
    (void)state;
    setenv("BITBENCH_EVENTS", " perf::PAGE-FAULTS , cycles,,Cycles ,", 1);
    fake_pmu f = {.running = 1000};
    bb_perf_ops ops;
    bb_counters *c = open_fake(NULL, &f, &ops);
    unsetenv("BITBENCH_EVENTS");
    assert_int_equal(c->n, 2);
    assert_string_equal(c->ev[0].name, "perf::PAGE-FAULTS");
    assert_string_equal(c->ev[1].name, "cycles");
    bb_counters_close(c);
}

static void derived_figures_from_injected_counts(void **state)
{
    (void)state;
    fake_pmu f = {.running = 1000};
    f.value[PERF_COUNT_HW_INSTRUCTIONS] = 3000000;
    f.value[PERF_COUNT_HW_CPU_CYCLES] = 1500000;
    f.value[PERF_COUNT_HW_CACHE_MISSES] = 6400;
    bb_perf_ops ops;
    bb_counters *c = open_fake("instructions,cycles,llc-misses", &f, &ops);
    bb_counters_start(c);
    assert_int_equal(f.resets, 3);
    assert_int_equal(f.enabled, 3);
    bb_counters_stop(c);
    assert_int_equal(f.disabled, 3);
    json_t *j = bb_counters_json(c, 8, 2.0 * 1024 * 1024);
    json_t *ins = event_of(j, "instructions");
    assert_string_equal(str(ins, "status"), "measured");
    assert_string_equal(str(ins, "backend"), "perf_event");
    assert_true(num(ins, "value") == 3000000);
    assert_true(num(derived_of(j, "ipc"), "value") == 2.0);
    assert_true(num(derived_of(j, "instructions_per_token"), "value") == 375000.0);
    assert_true(fabs(num(derived_of(j, "instructions_per_weight_byte"), "value") -
                     3000000.0 / (2.0 * 1024 * 1024)) < 1e-12);
    assert_true(num(derived_of(j, "llc_misses_per_kb_weights"), "value") == 6400.0 / 2048.0);
    assert_non_null(strstr(str(derived_of(j, "ipc"), "formula"), "instructions / cycles"));
    json_decref(j);

    /* The caller gave no tokens or bytes: those figures are null, with the reason. */
    j = bb_counters_json(c, 0, -1);
    assert_unavailable(derived_of(j, "instructions_per_token"), "tokens not given");
    assert_unavailable(derived_of(j, "instructions_per_weight_byte"), "weight bytes not given");
    assert_true(num(derived_of(j, "ipc"), "value") == 2.0);
    json_decref(j);
    bb_counters_close(c);
}

static void multiplexed_counts_are_scaled_and_flagged(void **state)
{
    (void)state;
    fake_pmu f = {.running = 250};
    f.value[PERF_COUNT_HW_CPU_CYCLES] = 1000;
    bb_perf_ops ops;
    bb_counters *c = open_fake("cycles", &f, &ops);
    bb_counters_start(c);
    bb_counters_stop(c);
    json_t *j = bb_counters_json(c, 1, 1);
    json_t *cy = event_of(j, "cycles");
    assert_true(num(cy, "value") == 4000); /* 1000 counted in a quarter of the time */
    assert_true(num(cy, "scaled_from_running_fraction") == 0.25);
    json_decref(j);
    bb_counters_close(c);
}

static void never_scheduled_is_unavailable(void **state)
{
    (void)state;
    fake_pmu f = {.running = 0};
    bb_perf_ops ops;
    bb_counters *c = open_fake("cycles", &f, &ops);
    bb_counters_start(c);
    bb_counters_stop(c);
    json_t *j = bb_counters_json(c, 1, 1);
    assert_unavailable(event_of(j, "cycles"), "never scheduled");
    json_decref(j);
    bb_counters_close(c);
}

static void permission_retries_user_mode_then_explains(void **state)
{
    (void)state;
    fake_pmu f = {.deny_kernel = 1, .running = 1000};
    bb_perf_ops ops;
    bb_counters *c = open_fake("cycles", &f, &ops);
    assert_non_null(strstr(c->ev[0].backend_name, "user mode only"));
    bb_counters_close(c);

    fake_pmu g = {.hw_errno = EACCES, .running = 1000};
    c = open_fake("cycles", &g, &ops);
    bb_counters_start(c);
    bb_counters_stop(c);
    json_t *j = bb_counters_json(c, 1, 1);
    assert_unavailable(event_of(j, "cycles"), "permission denied");
    assert_non_null(strstr(str(event_of(j, "cycles"), "reason"), "perf_event_paranoid"));
    json_decref(j);
    bb_counters_close(c);
}

static void unknown_name_is_unavailable_with_reason(void **state)
{
    (void)state;
    bb_counters *c = bb_counters_open("NOT_AN_EVENT_XYZ", NULL); /* PAPI too, if built */
    bb_counters_start(c);
    bb_counters_stop(c);
    json_t *j = bb_counters_json(c, 1, 1);
    json_t *e = event_of(j, "NOT_AN_EVENT_XYZ");
    assert_string_equal(str(e, "status"), "unavailable");
    assert_true(json_is_null(json_object_get(e, "value")));
    assert_true(strlen(str(e, "reason")) > 10);
    json_decref(j);
    json_t *d = bb_counters_describe(c);
    json_t *de = json_object_get(json_object_get(d, "events"), "NOT_AN_EVENT_XYZ");
    assert_true(json_is_false(json_object_get(de, "can_add")));
    assert_true(json_is_object(json_object_get(d, "papi")));
    json_decref(d);
    bb_counters_close(c);
}

static void too_many_events_are_noted(void **state)
{
    (void)state;
    char list[1024] = "";
    for (int i = 0; i < 20; i++)
        snprintf(list + strlen(list), sizeof list - strlen(list), "ev%d,", i);
    fake_pmu f = {.running = 1000};
    bb_perf_ops ops;
    bb_counters *c = open_fake(list, &f, &ops);
    assert_int_equal(c->n, BB_COUNTERS_MAX);
    json_t *j = bb_counters_json(c, 1, 1);
    assert_non_null(strstr(str(j, "note"), "'ev16' left out: more than 16 events"));
    assert_unavailable(event_of(j, "ev0"), "not a name perf_event_open knows");
    json_decref(j);
    bb_counters_close(c);
}

/* The real thing: the kernel's task clock, through PAPI or perf_event_open. */
static void real_task_clock_counts_a_busy_loop(void **state)
{
    (void)state;
    bb_counters *c = bb_counters_open("perf::TASK-CLOCK", NULL);
    bb_counters_start(c);
    volatile double x = 0;
    for (int i = 0; i < 2000000; i++)
        x += i;
    bb_counters_stop(c);
    json_t *j = bb_counters_json(c, 1, 1);
    json_t *e = event_of(j, "perf::TASK-CLOCK");
    if (strcmp(str(e, "status"), "unavailable") == 0) {
        print_message("task clock unavailable here: %s\n", str(e, "reason"));
        json_decref(j);
        bb_counters_close(c);
        skip();
    }
    assert_true(num(e, "value") > 0);
    json_decref(j);
    bb_counters_close(c);
}

static void null_counters_are_harmless(void **state)
{
    (void)state;
    bb_counters_start(NULL);
    bb_counters_stop(NULL);
    bb_counters_close(NULL);
    json_t *j = bb_counters_json(NULL, 1, 1);
    assert_non_null(strstr(str(j, "reason"), "not opened"));
    json_decref(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(no_hardware_pmu_gives_null_with_reason),
        cmocka_unit_test(default_list_adds_software_events_only_when_hardware_missing),
        cmocka_unit_test(environment_list_is_trimmed_and_deduplicated),
        cmocka_unit_test(derived_figures_from_injected_counts),
        cmocka_unit_test(multiplexed_counts_are_scaled_and_flagged),
        cmocka_unit_test(never_scheduled_is_unavailable),
        cmocka_unit_test(permission_retries_user_mode_then_explains),
        cmocka_unit_test(unknown_name_is_unavailable_with_reason),
        cmocka_unit_test(too_many_events_are_noted),
        cmocka_unit_test(real_task_clock_counts_a_busy_loop),
        cmocka_unit_test(null_counters_are_harmless),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
