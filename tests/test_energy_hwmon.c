/*
 * tests/test_energy_hwmon.c - the hwmon energy backend (harness/probe/energy_hwmon.c) on fake hwmon
 * trees in a temporary directory: the trapezoid rule and its bound on readings with exact
 * results, sensor kinds from labels, which sensors are chosen (socket counters over per-core
 * ones, energy counters over power sensors, no GPUs, _input over _average), exact joules from
 * energy counters, integrated power (constant: exactly P x window), unreadable or malformed
 * files and still sensors (unavailable with the reason, never 0), the idle baseline, the
 * backend order, and `bitbench gemm --json` end to end on trees that scripts/fake-hwmon.sh
 * makes and drives (BITBENCH_BIN, BITBENCH_SRCDIR; make check sets both).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../harness/probe/energy.h"
#include "../harness/probe/energy_hwmon.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "fakesys.h"
#include "testutil.h"

/* ------------------------------------------------------------------ fake trees */

static char root[256];

static void write_file(const char *rel, const char *text) { fs_write(root, rel, text); }
static void write_u64(const char *rel, uint64_t v) { fs_write_u64(root, rel, v); }

/* <chip>/<type><index>_input (or _average) with its label (NULL: none). */
static void sensor(const char *chip, const char *type, int index, const char *suffix,
                   const char *label, uint64_t value)
{
    char rel[128];
    snprintf(rel, sizeof rel, "%s/%s%d_%s", chip, type, index, suffix);
    write_u64(rel, value);
    if (label) {
        char text[64];
        snprintf(rel, sizeof rel, "%s/%s%d_label", chip, type, index);
        snprintf(text, sizeof text, "%s\n", label);
        write_file(rel, text);
    }
}

static void chip(const char *dir, const char *name)
{
    char rel[64], text[64];
    snprintf(rel, sizeof rel, "%s/name", dir);
    snprintf(text, sizeof text, "%s\n", name);
    write_file(rel, text);
}

static int make_root(void **state)
{
    (void)state;
    return tu_temp_dir(root, sizeof root, "bb_hwmon_test");
}

static int remove_root(void **state)
{
    (void)state;
    int ret = tu_remove_tree(root);
    for (int i = 0; ret != 0 && i < 20; i++) { /* a stopped ticker's last file may linger */
        struct timespec ms50 = {0, 50000000};
        nanosleep(&ms50, NULL);
        ret = tu_remove_tree(root);
    }
    return ret;
}

/* hwmon alone, read only when the test says so. */
static bb_energy_opts hwmon_opts(void)
{
    static char none[300];
    snprintf(none, sizeof none, "%s/none", root);
    bb_energy_opts o = {.powercap_root = none, .perf_root = none, .hwmon_root = root,
                        .liveness_s = 0, .no_sampler_thread = true, .no_papi = true};
    return o;
}

static const bb_energy_domain *find_sensor(const bb_energy *e, const char *sensor_name)
{
    for (int i = 0; i < e->n; i++)
        if (strcmp(e->dom[i].sensor, sensor_name) == 0)
            return &e->dom[i];
    return NULL;
}

static json_t *domain_of(json_t *energy, const char *sensor_name)
{
    size_t i;
    json_t *d;
    json_array_foreach(json_object_get(energy, "domains"), i, d)
        if (strcmp(json_string_value(json_object_get(d, "sensor")), sensor_name) == 0)
            return d;
    return NULL;
}

/* Refuses paths ending in `deny` with EACCES, as a root-only sysfs file would. */
static int denying_open(const char *path, void *ctx)
{
    const char *deny = ctx;
    size_t n = strlen(path), d = strlen(deny);
    if (n >= d && strcmp(path + n - d, deny) == 0)
        return -EACCES;
    int fd = open(path, O_RDONLY);
    return fd < 0 ? -errno : fd;
}

/* ------------------------------------------------------------------ arithmetic */

static void trapezoid_exact_and_bound(void **state)
{
    (void)state;
    bb_power_integral p;
    bb_power_integral_start(&p, 10.0, 2.0);
    bb_power_integral_add(&p, 11.0, 4.0);  /* (2 + 4) / 2 x 1 = 3 J, bound 2 x 1 / 2 = 1 */
    bb_power_integral_add(&p, 13.0, 4.0);  /* 4 x 2 = 8 J, bound 0 */
    bb_power_integral_add(&p, 13.5, 0.0);  /* (4 + 0) / 2 x 0.5 = 1 J, bound 4 x 0.5 / 2 = 1 */
    assert_true(p.joules == 12.0); /* dyadic: exact */
    assert_true(p.bound_j == 2.0);
    assert_int_equal(p.readings, 4);
    assert_true(p.min_w == 0.0 && p.max_w == 4.0);
    /* A reading timed before the latest counts as at it: no negative interval. */
    bb_power_integral_add(&p, 13.0, 8.0);
    assert_true(p.joules == 12.0);
    assert_true(p.last_w == 8.0 && p.last_t == 13.5);

    /* The bound holds for every moment of the two changes inside their intervals: the
     * power steps 2 -> 4 W at c in [10, 11] and 4 -> 0 W at d in [13, 13.5]. */
    for (int i = 0; i <= 8; i++)
        for (int j = 0; j <= 8; j++) {
            double c = 10.0 + i / 8.0, d = 13.0 + j / 16.0;
            double truth = 2.0 * (c - 10.0) + 4.0 * (d - c);
            assert_true(fabs(truth - 12.0) <= 2.0 + 1e-12);
        }
    /* Constant power: exact, bound 0, whatever the spacing. */
    bb_power_integral_start(&p, 0.0, 7.5);
    bb_power_integral_add(&p, 0.125, 7.5);
    bb_power_integral_add(&p, 0.5, 7.5);
    assert_true(p.joules == 3.75 && p.bound_j == 0.0);
}

static void kinds_from_labels(void **state)
{
    (void)state;
    int socket;
    assert_string_equal(bb_hwmon_kind("zenergy", "Esocket1", &socket), "package");
    assert_int_equal(socket, 1);
    assert_string_equal(bb_hwmon_kind("amd_energy", "Esocket0", &socket), "package");
    assert_int_equal(socket, 0);
    assert_string_equal(bb_hwmon_kind("amd_energy", "Ecore012", &socket), "core");
    assert_int_equal(socket, -1);
    assert_string_equal(bb_hwmon_kind("ina3221", "VDD_IN", &socket), "psys");
    assert_string_equal(bb_hwmon_kind("ina3221", "POM_5V_IN", &socket), "psys");
    assert_string_equal(bb_hwmon_kind("ina3221", "VDD_CPU_GPU_CV", &socket), "rail");
    assert_string_equal(bb_hwmon_kind("ina3221", "VDD_SOC", &socket), "rail");
    assert_string_equal(bb_hwmon_kind("power_meter", "power1", &socket), "psys");
    assert_string_equal(bb_hwmon_kind("smpro", "DIMM VRD1", &socket), "dram");
    assert_string_equal(bb_hwmon_kind("smpro", "Core VRD", &socket), "core");
    assert_string_equal(bb_hwmon_kind("x", "Package", &socket), "package");
    assert_int_equal(socket, -1);
}

/* ------------------------------------------------------------------ energy counters */

/* zenergy with 2 cores and 2 sockets; a temperature-only chip; a GPU; an INA3221 whose
 * power sensors lose to the energy counters; hwmon10 sorts after hwmon2. */
static void energy_tree(void)
{
    chip("hwmon0", "zenergy");
    sensor("hwmon0", "energy", 1, "input", "Ecore000", 100);
    sensor("hwmon0", "energy", 2, "input", "Ecore001", 200);
    sensor("hwmon0", "energy", 3, "input", "Esocket0", 1000000);
    sensor("hwmon0", "energy", 4, "input", "Esocket1", 5);
    chip("hwmon1", "k10temp");
    write_file("hwmon1/temp1_input", "45000\n");
    chip("hwmon2", "amdgpu");
    sensor("hwmon2", "power", 1, "average", NULL, 30000000);
    chip("hwmon10", "ina3221");
    sensor("hwmon10", "power", 1, "input", "VDD_IN", 5000000);
    write_file("hwmon10/in1_input", "5000\n");
}

static void energy_counters_chosen_and_exact(void **state)
{
    (void)state;
    energy_tree();
    bb_energy_opts o = hwmon_opts();
    bb_energy *e = bb_energy_open(&o);
    assert_true(bb_energy_available(e));
    assert_int_equal(e->source, BB_ENERGY_HWMON);
    assert_string_equal(bb_energy_source_name(e->source), "hwmon");
    assert_int_equal(e->n, 2); /* the socket counters alone */
    const bb_energy_domain *s0 = find_sensor(e, "zenergy Esocket0");
    const bb_energy_domain *s1 = find_sensor(e, "zenergy Esocket1");
    assert_non_null(s0);
    assert_non_null(s1);
    assert_string_equal(s0->kind, "package");
    assert_int_equal(s1->socket, 1);
    assert_false(s0->integrated);
    assert_non_null(strstr(s0->where, "hwmon0/energy3_input"));
    assert_non_null(strstr(e->skipped, "2 per-core energy counter(s)"));
    assert_non_null(strstr(e->skipped, "hwmon2 (amdgpu): a GPU's sensors"));
    assert_non_null(strstr(e->skipped, "1 power sensor(s): energy counters are used"));
    assert_non_null(strstr(e->tried, "powercap: "));
    assert_true(e->sample_period_s == 0); /* 64-bit counters: no wrap, no sampler */

    bb_energy_begin(e);
    write_u64("hwmon0/energy3_input", 1000000 + 1234567); /* +1.234567 J */
    bb_energy_sample(e);
    write_u64("hwmon0/energy3_input", 1000000 + 2 * 1234567);
    write_u64("hwmon0/energy4_input", 5 + 3000001);
    write_u64("hwmon0/energy1_input", 999999999); /* a core: not read */
    bb_energy_end(e);
    json_t *j = bb_energy_json(e, 10);
    assert_string_equal(tu_str(j, "status"), "measured");
    assert_string_equal(tu_str(j, "source"), "hwmon");
    assert_non_null(strstr(tu_str(j, "method"), "energy counters"));
    assert_true(fabs(tu_num(domain_of(j, "zenergy Esocket0"), "gross_j") - 2.469134) < 1e-12);
    assert_true(fabs(tu_num(domain_of(j, "zenergy Esocket1"), "gross_j") - 3.000001) < 1e-12);
    assert_string_equal(tu_str(domain_of(j, "zenergy Esocket0"), "reading"), "energy counter");
    assert_true(fabs(tu_num(j, "gross_j") - 5.469135) < 1e-12);
    json_t *hw = json_object_get(j, "hwmon");
    assert_string_equal(tu_str(hw, "reading"), "energy counter");
    assert_int_equal(json_array_size(json_object_get(hw, "sensors")), 2);
    assert_null(json_object_get(hw, "integration"));
    json_decref(j);

    json_t *d = bb_energy_describe(e);
    assert_string_equal(tu_str(d, "source"), "hwmon");
    assert_non_null(strstr(tu_str(d, "order"), "hwmon"));
    assert_non_null(strstr(tu_str(d, "hwmon_access"), "CVE-2020-12912"));
    json_decref(d);
    bb_energy_close(e);
}

static void energy_counter_backwards_or_garbage_is_unavailable(void **state)
{
    (void)state;
    chip("hwmon0", "amd_energy");
    sensor("hwmon0", "energy", 1, "input", "Esocket0", 5000);
    sensor("hwmon0", "energy", 2, "input", "Esocket1", 5000);
    bb_energy_opts o = hwmon_opts();
    bb_energy *e = bb_energy_open(&o);
    assert_int_equal(e->n, 2);
    bb_energy_begin(e);
    write_u64("hwmon0/energy1_input", 4000); /* a 64-bit counter never goes back */
    write_u64("hwmon0/energy2_input", 6000);
    bb_energy_end(e);
    json_t *j = bb_energy_json(e, 1);
    json_t *d0 = domain_of(j, "amd_energy Esocket0");
    assert_string_equal(tu_str(d0, "status"), "unavailable");
    assert_true(json_is_null(json_object_get(d0, "gross_j")));
    assert_non_null(strstr(tu_str(d0, "reason"), "went backwards"));
    assert_string_equal(tu_str(j, "status"), "measured"); /* socket 1 alone, named as such */
    assert_true(fabs(tu_num(j, "gross_j") - 0.001) < 1e-15);
    assert_non_null(strstr(tu_str(j, "left_out"), "went backwards"));
    json_decref(j);

    bb_energy_begin(e);
    write_file("hwmon0/energy1_input", "12x\n");
    write_file("hwmon0/energy2_input", "-3\n");
    bb_energy_end(e);
    j = bb_energy_json(e, 1);
    assert_string_equal(tu_str(j, "status"), "unavailable");
    assert_true(!json_is_number(json_object_get(j, "gross_j"))); /* never a 0 */
    assert_non_null(strstr(tu_str(j, "reason"), "holds '12x', expected an unsigned integer"));
    assert_non_null(strstr(tu_str(j, "reason"), "holds '-3'"));
    json_decref(j);
    bb_energy_close(e);
}

/* ------------------------------------------------------------------ unreadable trees */

static void unreadable_files_and_empty_trees(void **state)
{
    (void)state;
    bb_energy_opts o = hwmon_opts();
    char missing[300];
    snprintf(missing, sizeof missing, "%s/nothing-here", root);
    o.hwmon_root = missing;
    bb_energy *e = bb_energy_open(&o);
    assert_false(bb_energy_available(e));
    assert_non_null(strstr(e->reason, "hwmon: "));
    assert_non_null(strstr(e->reason, "nothing-here does not exist"));
    bb_energy_close(e);

    o = hwmon_opts();
    e = bb_energy_open(&o); /* the root exists, no chips */
    assert_non_null(strstr(e->reason, "has no hwmon* chips"));
    bb_energy_close(e);

    chip("hwmon0", "k10temp");
    write_file("hwmon0/temp1_input", "45000\n");
    write_file("hwmon1/temp1_input", "45000\n"); /* no name */
    e = bb_energy_open(&o);
    assert_false(bb_energy_available(e));
    assert_non_null(strstr(e->reason, "no hwmon energy or power sensors"));
    assert_non_null(strstr(e->reason, "hwmon0 (k10temp)"));
    bb_energy_close(e);

    /* Root-only energy files (amd_energy): left out with the way to read them. */
    chip("hwmon2", "amd_energy");
    sensor("hwmon2", "energy", 1, "input", "Esocket0", 10);
    o.open_file = denying_open;
    o.open_ctx = "energy1_input";
    e = bb_energy_open(&o);
    assert_false(bb_energy_available(e));
    assert_non_null(strstr(e->reason, "energy1_input: permission denied"));
    assert_non_null(strstr(e->reason, "CVE-2020-12912"));
    assert_non_null(strstr(e->reason, "hwmon1: no readable name"));
    bb_energy_close(e);

    /* One readable socket: measured, the other named as left out. */
    sensor("hwmon2", "energy", 2, "input", "Esocket1", 10);
    e = bb_energy_open(&o);
    assert_true(bb_energy_available(e));
    assert_int_equal(e->n, 1);
    assert_non_null(find_sensor(e, "amd_energy Esocket1"));
    assert_non_null(strstr(e->skipped, "energy1_input: permission denied"));
    bb_energy_close(e);

    /* A directory where the value should be. */
    char path[512];
    snprintf(path, sizeof path, "%s/hwmon2/energy2_input", root);
    assert_int_equal(remove(path), 0);
    assert_int_equal(mkdir(path, 0755), 0);
    e = bb_energy_open(&o);
    assert_false(bb_energy_available(e));
    assert_non_null(strstr(e->reason, "energy2_input: cannot read: Is a directory"));
    bb_energy_close(e);
}

/* ------------------------------------------------------------------ power sensors */

/* A Jetson-like INA3221 (board input + two rails) and an _input/_average pair. */
static void power_tree(void)
{
    chip("hwmon0", "ina3221");
    sensor("hwmon0", "power", 1, "input", "VDD_IN", 8000000);
    sensor("hwmon0", "power", 2, "input", "VDD_CPU_GPU_CV", 4000000);
    sensor("hwmon0", "power", 3, "input", "VDD_SOC", 2000000);
    sensor("hwmon0", "power", 3, "average", "VDD_SOC", 1);
    write_file("hwmon0/in1_input", "5000\n");
}

static void power_sensors_integrated(void **state)
{
    (void)state;
    power_tree();
    bb_energy_opts o = hwmon_opts();
    bb_energy *e = bb_energy_open(&o);
    assert_true(bb_energy_available(e));
    assert_int_equal(e->n, 3);
    const bb_energy_domain *in = find_sensor(e, "ina3221 VDD_IN");
    assert_non_null(in);
    assert_true(in->integrated);
    assert_string_equal(in->kind, "psys");
    assert_string_equal(find_sensor(e, "ina3221 VDD_SOC")->kind, "rail");
    assert_non_null(strstr(find_sensor(e, "ina3221 VDD_SOC")->where, "power3_input"));
    assert_true(e->sample_period_s == BB_HWMON_POWER_PERIOD_S);

    /* Constant power: exactly P x window. */
    bb_energy_begin(e);
    bb_energy_sample(e);
    bb_energy_end(e);
    json_t *j = bb_energy_json(e, 1);
    assert_string_equal(tu_str(j, "status"), "measured");
    double w = tu_num(j, "window_s");
    assert_true(w > 0);
    assert_true(fabs(tu_num(j, "gross_j") - 8.0 * w) <= 1e-12 * 8.0 * w); /* psys alone */
    json_t *headline = json_object_get(j, "headline_domains");
    assert_int_equal(json_array_size(headline), 1);
    assert_string_equal(json_string_value(json_array_get(headline, 0)), "psys");
    json_t *cpu = domain_of(j, "ina3221 VDD_CPU_GPU_CV");
    assert_true(fabs(tu_num(cpu, "gross_j") - 4.0 * w) <= 1e-12 * 4.0 * w);
    assert_string_equal(tu_str(cpu, "reading"), "integrated power");
    json_t *integ = json_object_get(cpu, "integration");
    assert_int_equal(json_integer_value(json_object_get(integ, "readings")), 3);
    assert_true(tu_num(integ, "bound_j") == 0.0);
    json_t *hw = json_object_get(j, "hwmon");
    assert_string_equal(tu_str(hw, "reading"), "integrated power");
    assert_true(tu_num(json_object_get(hw, "integration"), "headline_bound_j") == 0.0);
    assert_non_null(strstr(tu_str(j, "method"), "trapezoid"));
    json_decref(j);

    /* A step 8 -> 12 W between the first two readings: 12 W x window less the bound. */
    bb_energy_begin(e);
    write_u64("hwmon0/power1_input", 12000000);
    bb_energy_sample(e);
    bb_energy_end(e);
    j = bb_energy_json(e, 1);
    w = tu_num(j, "window_s");
    json_t *vin = domain_of(j, "ina3221 VDD_IN");
    double bound = tu_num(json_object_get(vin, "integration"), "bound_j");
    assert_true(bound > 0 && bound <= 2.0 * w + 1e-12); /* |dP| x dt / 2, dt <= window */
    assert_true(fabs(tu_num(j, "gross_j") - (12.0 * w - bound)) < 1e-9);
    assert_true(tu_num(j, "gross_j") >= 8.0 * w && tu_num(j, "gross_j") <= 12.0 * w);
    assert_true(tu_num(json_object_get(json_object_get(j, "hwmon"), "integration"),
                    "headline_bound_j") == bound);
    json_decref(j);
    bb_energy_close(e);
}

static void power_average_when_no_input_and_rails_headline(void **state)
{
    (void)state;
    /* Altra-like SMpro rails: no board input, so the headline is every rail. */
    chip("hwmon0", "smpro");
    sensor("hwmon0", "power", 1, "input", "VDD_CORE", 3000000);
    sensor("hwmon0", "power", 2, "input", "VDD_SOC", 1000000);
    sensor("hwmon0", "power", 3, "input", "DIMM VRD1", 500000);
    chip("hwmon1", "acpi_meter"); /* _average only */
    sensor("hwmon1", "power", 1, "average", "CPU rail", 250000);
    bb_energy_opts o = hwmon_opts();
    bb_energy *e = bb_energy_open(&o);
    assert_int_equal(e->n, 4);
    assert_non_null(strstr(find_sensor(e, "acpi_meter CPU rail")->where, "power1_average"));
    bb_energy_begin(e);
    bb_energy_end(e);
    json_t *j = bb_energy_json(e, 1);
    double w = tu_num(j, "window_s");
    assert_true(fabs(tu_num(j, "gross_j") - 4.75 * w) <= 1e-12 * 4.75 * w);
    assert_int_equal(json_array_size(json_object_get(j, "headline_domains")), 3); /* core, rail, dram */
    json_decref(j);
    bb_energy_close(e);
}

static void ina3221_voltage_times_current(void **state)
{
    (void)state;
    /* The mainline driver: bus voltage and current per channel, no power attribute. */
    chip("hwmon0", "ina3221");
    sensor("hwmon0", "in", 1, "input", "VDD_IN", 5000);  /* mV */
    sensor("hwmon0", "curr", 1, "input", NULL, 1500);    /* mA: 7.5 W */
    sensor("hwmon0", "in", 2, "input", "VDD_SOC", 5000);
    sensor("hwmon0", "curr", 2, "input", NULL, 400);     /* 2 W */
    sensor("hwmon0", "in", 3, "input", "NC", 0);         /* no current: not a sensor */
    sensor("hwmon0", "in", 4, "input", NULL, 120);       /* shunt voltage, uV */
    sensor("hwmon0", "curr", 4, "input", NULL, 1900);    /* sum of currents */
    bb_energy_opts o = hwmon_opts();
    bb_energy *e = bb_energy_open(&o);
    assert_true(bb_energy_available(e));
    assert_int_equal(e->n, 2);
    const bb_energy_domain *in = find_sensor(e, "ina3221 VDD_IN");
    assert_non_null(in);
    assert_string_equal(in->kind, "psys");
    assert_non_null(strstr(in->where, "hwmon0/in1_input"));
    assert_non_null(strstr(in->current_where, "hwmon0/curr1_input"));
    bb_energy_begin(e);
    bb_energy_end(e);
    json_t *j = bb_energy_json(e, 1);
    double w = tu_num(j, "window_s");
    assert_true(fabs(tu_num(j, "gross_j") - 7.5 * w) <= 1e-12 * 7.5 * w);
    assert_true(fabs(tu_num(domain_of(j, "ina3221 VDD_SOC"), "gross_j") - 2.0 * w) <= 1e-12 * 2.0 * w);
    assert_string_equal(tu_str(domain_of(j, "ina3221 VDD_IN"), "reading"),
                        "integrated power (voltage x current)");
    json_decref(j);

    /* A current that turns to garbage: that rail is unavailable, with the file named. */
    bb_energy_begin(e);
    write_file("hwmon0/curr2_input", "abc\n");
    bb_energy_end(e);
    j = bb_energy_json(e, 1);
    json_t *soc = domain_of(j, "ina3221 VDD_SOC");
    assert_string_equal(tu_str(soc, "status"), "unavailable");
    assert_non_null(strstr(tu_str(soc, "reason"), "curr2_input holds 'abc'"));
    assert_string_equal(tu_str(j, "status"), "measured");
    json_decref(j);
    bb_energy_close(e);

    /* A chip with power attributes of its own uses them, not the product. */
    sensor("hwmon0", "power", 1, "input", "VDD_IN", 1000000);
    e = bb_energy_open(&o);
    assert_int_equal(e->n, 1);
    assert_string_equal(e->dom[0].current_where, "");
    bb_energy_close(e);
}

static void still_power_sensor_is_unavailable(void **state)
{
    (void)state;
    chip("hwmon0", "ina3221");
    sensor("hwmon0", "power", 1, "input", "VDD_IN", 0);
    sensor("hwmon0", "power", 2, "input", "VDD_SOC", 0);
    bb_energy_opts o = hwmon_opts();
    o.liveness_s = 0.01;
    bb_energy *e = bb_energy_open(&o);
    assert_false(bb_energy_available(e));
    assert_non_null(strstr(e->reason, "read 0 W throughout"));
    bb_energy_close(e);

    /* Trusted (liveness skipped), but a rail that reads 0 W in the window is null, not 0 J. */
    write_u64("hwmon0/power1_input", 6000000);
    o.liveness_s = 0.25;
    e = bb_energy_open(&o); /* VDD_IN reads more than 0 W: trusted */
    assert_true(bb_energy_available(e));
    bb_energy_begin(e);
    bb_energy_end(e);
    json_t *j = bb_energy_json(e, 1);
    json_t *soc = domain_of(j, "ina3221 VDD_SOC");
    assert_string_equal(tu_str(soc, "status"), "unavailable");
    assert_true(json_is_null(json_object_get(soc, "gross_j")));
    assert_non_null(strstr(tu_str(soc, "reason"), "read 0 W throughout the window"));
    assert_string_equal(tu_str(j, "status"), "measured");
    json_decref(j);
    bb_energy_close(e);
}

static void idle_baseline_and_sampler_thread(void **state)
{
    (void)state;
    chip("hwmon0", "ina3221");
    sensor("hwmon0", "power", 1, "input", "VDD_IN", 2000000);
    bb_energy_opts o = hwmon_opts();
    o.no_sampler_thread = false;
    bb_energy *e = bb_energy_open(&o);
    bb_energy_idle(e, 0.02); /* 2 W idle */
    assert_true(fabs(e->dom[0].idle_w - 2.0) < 1e-9);
    write_u64("hwmon0/power1_input", 5000000);
    bb_energy_begin(e);
    struct timespec ms20 = {0, 20000000};
    nanosleep(&ms20, NULL);
    bb_energy_end(e);
    assert_true(e->dom[0].power.readings >= 2);
    json_t *j = bb_energy_json(e, 4);
    double w = tu_num(j, "window_s");
    assert_true(fabs(tu_num(j, "gross_j") - 5.0 * w) < 1e-9);
    assert_true(fabs(tu_num(j, "net_j") - 3.0 * w) < 1e-9);
    assert_true(fabs(tu_num(j, "net_j_per_token") - 3.0 * w / 4) < 1e-9);
    json_decref(j);
    bb_energy_close(e);
}

/* ------------------------------------------------------------------ order */

static void after_rapl_and_chosen_by_environment(void **state)
{
    (void)state;
    /* A RAPL zone and a hwmon chip: powercap wins, unless hwmon is asked for. */
    write_file("rapl/intel-rapl:0/name", "package-0\n");
    write_u64("rapl/intel-rapl:0/energy_uj", 10);
    write_u64("rapl/intel-rapl:0/max_energy_range_uj", 262143328850ull);
    chip("hwmon0", "zenergy");
    sensor("hwmon0", "energy", 1, "input", "Esocket0", 10);
    char rapl[300];
    snprintf(rapl, sizeof rapl, "%s/rapl", root);
    bb_energy_opts o = hwmon_opts();
    o.powercap_root = rapl;
    bb_energy *e = bb_energy_open(&o);
    assert_int_equal(e->source, BB_ENERGY_POWERCAP);
    bb_energy_close(e);
    setenv("BITBENCH_ENERGY_SOURCE", "hwmon", 1);
    e = bb_energy_open(&o);
    assert_int_equal(e->source, BB_ENERGY_HWMON);
    assert_string_equal(e->tried, "");
    bb_energy_close(e);
    setenv("BITBENCH_ENERGY_SOURCE", "rapl", 1);
    e = bb_energy_open(&o);
    assert_false(bb_energy_available(e));
    assert_non_null(strstr(e->reason, "BITBENCH_ENERGY_SOURCE='rapl': accepted powercap, "
                                      "perf_event, papi, hwmon"));
    bb_energy_close(e);
    unsetenv("BITBENCH_ENERGY_SOURCE");

    /* BITBENCH_HWMON_ROOT when the options do not say. */
    setenv("BITBENCH_HWMON_ROOT", root, 1);
    o = hwmon_opts();
    o.hwmon_root = NULL;
    e = bb_energy_open(&o);
    unsetenv("BITBENCH_HWMON_ROOT");
    assert_int_equal(e->source, BB_ENERGY_HWMON);
    assert_string_equal(e->hwmon_root, root);
    bb_energy_close(e);
}

/* ------------------------------------------------------------------ end to end */

/* Starts scripts/fake-hwmon.sh on root with `args`; the ticker's pid. */
static pid_t fake_hwmon(const char *args)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "'%s/scripts/fake-hwmon.sh' '%s' %s", tu_srcdir(), root, args);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    long pid = 0;
    assert_int_equal(fscanf(p, "%ld", &pid), 1);
    assert_int_equal(pclose(p), 0);
    assert_true(pid > 0);
    return (pid_t)pid;
}

/* Stops a ticker (not our child: the script's) and waits, bounded, until it is gone. */
static void stop_ticker(pid_t pid)
{
    kill(pid, SIGTERM);
    for (int i = 0; i < 200 && kill(pid, 0) == 0; i++) {
        struct timespec ms10 = {0, 10000000};
        nanosleep(&ms10, NULL);
    }
}

/* One `bitbench gemm --json` row's energy object, read from the fake tree alone. */
static json_t *gemm_energy(void)
{
    char cmd[1024];
    /* One thread leaves a core to the ticker; 0.2 s of timed calls makes a probe window
     * long enough for several ticks. */
    snprintf(cmd, sizeof cmd,
             "BITBENCH_ENERGY_SOURCE=hwmon BITBENCH_HWMON_ROOT='%s' '%s' gemm --impl "
             "tern2-scalar-ref --m 256 --k 256 --threads 1 --min-time 0.2 --no-ceiling --warm --json "
             "2>/dev/null",
             root, tu_bitbench_bin());
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    json_error_t err;
    json_t *row = json_loadf(p, JSON_DISABLE_EOF_CHECK, &err);
    int st = pclose(p);
    assert_non_null(row);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    json_t *energy = json_incref(json_object_get(row, "energy"));
    json_decref(row);
    assert_non_null(energy);
    return energy;
}

static void gemm_row_energy_counter_mode(void **state)
{
    (void)state;
    const double step_j = 1.234567;
    pid_t ticker = fake_hwmon("--mode energy --sockets 2 --cores 2 --step-uj 1234567 --period 0.005");
    /* The shell ticker forks an mv per file and tick: on a loaded machine it can miss the
     * 0.25 s in which a counter must move to be trusted, or a short window.  That is the
     * ticker's timing, not the joules: run again (at most twice more). */
    json_t *en = gemm_energy();
    for (int again = 0; again < 2 && strcmp(tu_str(en, "status"), "measured") != 0; again++) {
        print_message("energy %s (%s): running again\n", tu_str(en, "status"), tu_str(en, "reason"));
        json_decref(en);
        en = gemm_energy();
    }
    stop_ticker(ticker);
    assert_string_equal(tu_str(en, "source"), "hwmon");
    assert_string_equal(tu_str(en, "status"), "measured");
    assert_string_equal(tu_str(json_object_get(en, "hwmon"), "reading"), "energy counter");
    double sum = 0;
    for (int s = 0; s < 2; s++) {
        char name[32];
        snprintf(name, sizeof name, "zenergy Esocket%d", s);
        json_t *d = domain_of(en, name);
        assert_non_null(d);
        double ticks = tu_num(d, "gross_j") / step_j;
        /* exactly the tree's increments: a whole number of steps */
        assert_true(round(ticks) >= 1 && fabs(ticks - round(ticks)) < 1e-9);
        sum += tu_num(d, "gross_j");
    }
    assert_null(domain_of(en, "zenergy Ecore000"));
    assert_true(fabs(tu_num(en, "gross_j") - sum) < 1e-9);
    json_decref(en);
}

/* The script's log: "BEFORE AFTER UW" per value VDD_IN took (wall-clock seconds).  The
 * energy over [t0, t1] of a power that steps to each value at some moment inside its
 * bracket lies in [*lo, *hi]: each step's moment pushes the integral one way only, so the
 * extremes take each bracket's ends.  Returns the number of steps inside the window. */
static double step_integral(const double *at, const double *watts, int n, double t0, double t1)
{
    double sum = 0;
    for (int k = 0; k < n; k++) {
        double a = k == 0 ? t0 : fmax(at[k], t0), b = k + 1 < n ? fmin(at[k + 1], t1) : t1;
        if (b > a)
            sum += watts[k] * (b - a);
    }
    return sum;
}

static int true_energy_bracket(const char *log, double t0, double t1, double *lo, double *hi)
{
    enum { MAX = 4096 };
    static double before[MAX], after[MAX], watts[MAX], at_lo[MAX], at_hi[MAX];
    FILE *f = fopen(log, "r");
    assert_non_null(f);
    int n = 0;
    double uw;
    while (n < MAX && fscanf(f, "%lf %lf %lf", &before[n], &after[n], &uw) == 3)
        watts[n++] = uw * 1e-6;
    fclose(f);
    assert_true(n >= 1);
    assert_true(after[0] <= t0); /* the first value was in place before the window */
    int inside = 0;
    for (int k = 0; k < n; k++) {
        bool rises = k > 0 && watts[k] > watts[k - 1]; /* a later step: less energy */
        at_lo[k] = rises ? after[k] : before[k];
        at_hi[k] = rises ? before[k] : after[k];
        inside += k > 0 && after[k] > t0 && before[k] < t1;
    }
    *lo = step_integral(at_lo, watts, n, t0, t1);
    *hi = step_integral(at_hi, watts, n, t0, t1);
    return inside;
}

static void gemm_row_power_mode(void **state)
{
    (void)state;
    /* Constant: exactly P x window, bound 0. */
    pid_t ticker = fake_hwmon("--mode power --power-uw 7500000");
    json_t *en = gemm_energy();
    stop_ticker(ticker);
    assert_string_equal(tu_str(en, "source"), "hwmon");
    assert_string_equal(tu_str(en, "status"), "measured");
    json_t *hw = json_object_get(en, "hwmon");
    assert_string_equal(tu_str(hw, "reading"), "integrated power");
    double w = tu_num(en, "window_s");
    assert_true(fabs(tu_num(en, "gross_j") - 7.5 * w) <= 1e-9 * 7.5 * w); /* VDD_IN alone */
    assert_true(tu_num(json_object_get(hw, "integration"), "headline_bound_j") == 0.0);
    assert_true(fabs(tu_num(en, "avg_w") - 7.5) < 1e-9);
    json_decref(en);

    /* Alternating 4 and 8 W, logged by the script with wall-clock brackets around each
     * change: the true energy over the row's window lies in [lo, hi], and the row's joules
     * must lie within its stated bound of that, give or take the timing of the readings
     * themselves (each is timed at the middle of its reads, up to ms under load): 20 ms of
     * the 4 W step.  Changes every ~0.1 s, readings every 5 ms: at most one change between
     * two readings, as the bound assumes. */
    char log[300];
    snprintf(log, sizeof log, "%s.log", root); /* outside the tree */
    char args[400];
    snprintf(args, sizeof args, "--mode power --power-uw 4000000,8000000 --period 0.1 --log '%s'", log);
    ticker = fake_hwmon(args);
    en = gemm_energy();
    stop_ticker(ticker);
    assert_string_equal(tu_str(en, "status"), "measured");
    json_t *hw2 = json_object_get(en, "hwmon");
    double t0 = tu_num(hw2, "window_start_unix_s");
    w = tu_num(en, "window_s");
    double gross = tu_num(en, "gross_j");
    double bound = tu_num(json_object_get(hw2, "integration"), "headline_bound_j");
    double lo, hi;
    int changes = true_energy_bracket(log, t0, t0 + w, &lo, &hi);
    remove(log);
    print_message("window %.3f s, %d change(s) in it: gross %.6f J, bound %.6f J, truth in "
                  "[%.6f, %.6f] J\n", w, changes, gross, bound, lo, hi);
    const double slack = 4.0 * 0.020;
    assert_true(gross >= lo - bound - slack);
    assert_true(gross <= hi + bound + slack);
    assert_true(gross >= 4.0 * w * (1 - 1e-12) && gross <= 8.0 * w * (1 + 1e-12));
    json_decref(en);
}

#define T(f) cmocka_unit_test_setup_teardown(f, make_root, remove_root)

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(trapezoid_exact_and_bound),
        cmocka_unit_test(kinds_from_labels),
        T(energy_counters_chosen_and_exact),
        T(energy_counter_backwards_or_garbage_is_unavailable),
        T(unreadable_files_and_empty_trees),
        T(power_sensors_integrated),
        T(power_average_when_no_input_and_rails_headline),
        T(ina3221_voltage_times_current),
        T(still_power_sensor_is_unavailable),
        T(idle_baseline_and_sampler_thread),
        T(after_rapl_and_chosen_by_environment),
        T(gemm_row_energy_counter_mode),
        T(gemm_row_power_mode),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
