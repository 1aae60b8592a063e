/* harness/probe/energy_hwmon.c - energy from Linux hwmon sensors (energy counters, or power sensors
 * integrated over time) for machines without RAPL; the sensor rule is in energy_hwmon.h. */
#include "energy_hwmon.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ integration */

void bb_power_integral_start(bb_power_integral *p, double t, double watts)
{
    *p = (bb_power_integral){.last_t = t, .last_w = watts, .min_w = watts, .max_w = watts,
                             .readings = 1};
}

void bb_power_integral_add(bb_power_integral *p, double t, double watts)
{
    if (t < p->last_t)
        t = p->last_t;
    double dt = t - p->last_t;
    p->joules += 0.5 * (p->last_w + watts) * dt;
    p->bound_j += 0.5 * fabs(watts - p->last_w) * dt;
    p->min_w = fmin(p->min_w, watts);
    p->max_w = fmax(p->max_w, watts);
    p->readings++;
    p->last_t = t;
    p->last_w = watts;
}

/* ------------------------------------------------------------------ kinds */

static bool contains(const char *s, const char *part)
{
    return strstr(s, part) != NULL;
}

const char *bb_hwmon_kind(const char *chip, const char *label, int *socket)
{
    char l[64];
    size_t n = 0;
    for (; label[n] && n < sizeof l - 1; n++)
        l[n] = (char)tolower((unsigned char)label[n]);
    l[n] = '\0';
    *socket = -1;
    if (strcmp(chip, "power_meter") == 0 || contains(l, "total") || contains(l, "sys") ||
        strcmp(l, "input") == 0 || strcmp(l, "vin") == 0 ||
        (n >= 3 && strcmp(l + n - 3, "_in") == 0))
        return "psys";
    if (contains(l, "socket") || contains(l, "package") || contains(l, "pkg")) {
        size_t d = n;
        while (d > 0 && isdigit((unsigned char)l[d - 1]))
            d--;
        if (d < n)
            *socket = atoi(l + d);
        return "package";
    }
    if (contains(l, "dimm") || contains(l, "dram") || contains(l, "ddr") || contains(l, "mem"))
        return "dram";
    if (contains(l, "core"))
        return "core";
    return "rail";
}

/* ------------------------------------------------------------------ reading */

const char *bb_hwmon_access_hint(void)
{
    return "amd_energy and zenergy make energy*_input readable by root only (CVE-2020-12912): "
           "run as root, or sudo chmod a+r /sys/class/hwmon/hwmon*/energy*_input (until reboot)";
}

/* Reads a sensor file as an unsigned integer; false with why. */
static bool read_value(const bb_energy *e, const char *path, uint64_t *value, char *why,
                       size_t len)
{
    char text[64];
    int ret = bb_energy_read_file(e, path, text, sizeof text);
    if (ret == -EACCES || ret == -EPERM) {
        bb_fmt(why, len, "%s: permission denied - %s", path, bb_hwmon_access_hint());
        return false;
    }
    if (ret < 0) {
        bb_fmt(why, len, "%s: cannot read: %s", path, strerror(-ret));
        return false;
    }
    if (!bb_energy_parse_u64(text, value)) {
        text[strcspn(text, "\n")] = '\0';
        text[40] = '\0';
        bb_fmt(why, len, "%s holds '%s', expected an unsigned integer", path, text);
        return false;
    }
    return true;
}

bool bb_hwmon_read(const bb_energy *e, const bb_energy_domain *d, uint64_t *raw, char *why,
                   size_t len)
{
    uint64_t milliamps;
    if (!read_value(e, d->where, raw, why, len))
        return false;
    if (!d->current_where[0])
        return true;
    if (!read_value(e, d->current_where, &milliamps, why, len))
        return false;
    *raw *= milliamps; /* mV x mA = uW */
    return true;
}

/* ------------------------------------------------------------------ open */

typedef struct sensor {
    char path[300];
    char current_path[300]; /* voltage x current (INA3221): the current file */
    char chip[32], label[32], dir[16];
    bool energy;   /* energyN_input, else powerN_input/_average */
    int index;
    const char *kind;
    int socket;
} sensor;

typedef struct sensor_list {
    sensor *s;
    int n, cap;
} sensor_list;

static const char *const gpu_chips[] = {"amdgpu", "radeon", "nouveau", "i915", "xe"};

static bool is_gpu(const char *chip)
{
    for (size_t i = 0; i < sizeof gpu_chips / sizeof gpu_chips[0]; i++)
        if (strcmp(chip, gpu_chips[i]) == 0)
            return true;
    return false;
}

/* A small file's first line, or "" when missing. */
static void read_line(const bb_energy *e, const char *path, char *out, size_t len)
{
    char text[128];
    out[0] = '\0';
    if (bb_energy_read_file(e, path, text, sizeof text) == 0) {
        text[strcspn(text, "\n")] = '\0';
        bb_fmt(out, len, "%s", text);
    }
}

static int chip_filter(const struct dirent *de)
{
    return strncmp(de->d_name, "hwmon", 5) == 0 && isdigit((unsigned char)de->d_name[5]);
}

static bool push(sensor_list *l, const sensor *s)
{
    if (l->n == l->cap) {
        int cap = l->cap ? 2 * l->cap : 32;
        sensor *grown = realloc(l->s, (size_t)cap * sizeof *grown);
        if (!grown)
            return false;
        l->s = grown;
        l->cap = cap;
    }
    l->s[l->n++] = *s;
    return true;
}

static bool exists(const bb_energy *e, const char *path)
{
    char text[8];
    return bb_energy_read_file(e, path, text, sizeof text) != -ENOENT;
}

/* The mainline ina3221 driver gives each of its 3 channels a bus voltage (inN_input, mV,
 * labelled inN_label) and a current (currN_input, mA), but no power attribute: the power is
 * their product (uW).  Only when the chip has no powerN file of its own. */
static void scan_ina3221_channels(const bb_energy *e, const char *path, const char *dir,
                                  const char *chip, sensor_list *out)
{
    for (int i = 0; i < out->n; i++)
        if (!out->s[i].energy && strcmp(out->s[i].dir, dir) == 0)
            return;
    for (int ch = 1; ch <= 3; ch++) {
        sensor s = {.index = ch};
        char lpath[400];
        bb_fmt(s.path, sizeof s.path, "%s/in%d_input", path, ch);
        bb_fmt(s.current_path, sizeof s.current_path, "%s/curr%d_input", path, ch);
        if (!exists(e, s.path) || !exists(e, s.current_path))
            continue;
        bb_fmt(s.chip, sizeof s.chip, "%s", chip);
        bb_fmt(s.dir, sizeof s.dir, "%s", dir);
        bb_fmt(lpath, sizeof lpath, "%s/in%d_label", path, ch);
        read_line(e, lpath, s.label, sizeof s.label);
        if (!s.label[0])
            bb_fmt(s.label, sizeof s.label, "channel%d", ch);
        s.kind = bb_hwmon_kind(chip, s.label, &s.socket);
        push(out, &s);
    }
}

/* The energy and power sensors of one chip directory, in index order. */
static void scan_chip(const bb_energy *e, const char *dir, const char *chip, sensor_list *out)
{
    char path[400];
    bb_fmt(path, sizeof path, "%s/%s", e->hwmon_root, dir);
    struct dirent **list;
    int count = scandir(path, &list, NULL, versionsort);
    if (count < 0)
        return;
    for (int i = 0; i < count; i++) {
        const char *name = list[i]->d_name;
        unsigned index;
        char rest[32];
        sensor s = {.index = -1};
        if (sscanf(name, "energy%u_%31s", &index, rest) == 2 && strcmp(rest, "input") == 0) {
            s.energy = true;
        } else if (sscanf(name, "power%u_%31s", &index, rest) == 2 &&
                   (strcmp(rest, "input") == 0 || strcmp(rest, "average") == 0)) {
            /* powerN_input is the instantaneous reading: prefer it to powerN_average */
            char other[400];
            bb_fmt(other, sizeof other, "%s/power%u_input", path, index);
            if (strcmp(rest, "average") == 0 && exists(e, other))
                continue;
        } else {
            continue;
        }
        s.index = (int)index;
        bb_fmt(s.path, sizeof s.path, "%s/%s", path, name);
        bb_fmt(s.chip, sizeof s.chip, "%s", chip);
        bb_fmt(s.dir, sizeof s.dir, "%s", dir);
        char lpath[400];
        bb_fmt(lpath, sizeof lpath, "%s/%s%u_label", path, s.energy ? "energy" : "power", index);
        read_line(e, lpath, s.label, sizeof s.label);
        if (!s.label[0])
            bb_fmt(s.label, sizeof s.label, "%s%u", s.energy ? "energy" : "power", index);
        s.kind = bb_hwmon_kind(chip, s.label, &s.socket);
        push(out, &s);
    }
    for (int i = 0; i < count; i++)
        free(list[i]);
    free(list);
    if (strcmp(chip, "ina3221") == 0)
        scan_ina3221_channels(e, path, dir, chip, out);
}

static bool chip_has_package_counter(const sensor_list *l, const char *dir)
{
    for (int i = 0; i < l->n; i++)
        if (l->s[i].energy && strcmp(l->s[i].dir, dir) == 0 &&
            strcmp(l->s[i].kind, "package") == 0)
            return true;
    return false;
}

static void add_domain(bb_energy *e, const sensor *s, uint64_t first)
{
    bb_energy_domain *d = &e->dom[e->n++];
    memset(d, 0, sizeof *d);
    bb_fmt(d->kind, sizeof d->kind, "%s", s->kind);
    d->socket = s->socket;
    bb_fmt(d->where, sizeof d->where, "%s", s->path);
    bb_fmt(d->sensor, sizeof d->sensor, "%s %s", s->chip, s->label);
    d->joules_per_unit = 1e-6; /* uJ; and uW x s for a power sensor */
    d->range = 0;              /* drivers accumulate energy in 64 bits: no wrap to undo */
    d->max_power_w = BB_ENERGY_ASSUMED_MAX_POWER_W;
    d->max_power_assumed = true;
    d->integrated = !s->energy;
    bb_fmt(d->current_where, sizeof d->current_where, "%s", s->current_path);
    d->last = first;
    d->fd = -1;
}

bool bb_hwmon_open(bb_energy *e, char *why, size_t len)
{
    struct dirent **chips;
    int count = scandir(e->hwmon_root, &chips, chip_filter, versionsort);
    if (count < 0) {
        if (errno == ENOENT)
            bb_fmt(why, len, "%s does not exist (no hwmon drivers: a VM, or a kernel without "
                             "hwmon)", e->hwmon_root);
        else
            bb_fmt(why, len, "%s: %s", e->hwmon_root, strerror(errno));
        return false;
    }
    sensor_list all = {0};
    char names[BB_REASON_LEN] = "";
    for (int i = 0; i < count; i++) {
        char path[400], chip[32], line[BB_REASON_LEN];
        bb_fmt(path, sizeof path, "%s/%s/name", e->hwmon_root, chips[i]->d_name);
        read_line(e, path, chip, sizeof chip);
        if (!chip[0]) {
            bb_fmt(line, sizeof line, "%s: no readable name", chips[i]->d_name);
            bb_energy_append(e->skipped, sizeof e->skipped, line);
        } else if (is_gpu(chip)) {
            bb_fmt(line, sizeof line, "%s (%s): a GPU's sensors, not the CPU's", chips[i]->d_name,
                   chip);
            bb_energy_append(e->skipped, sizeof e->skipped, line);
        } else {
            bb_fmt(line, sizeof line, "%s (%s)", chips[i]->d_name, chip);
            bb_energy_append(names, sizeof names, line);
            scan_chip(e, chips[i]->d_name, chip, &all);
        }
        free(chips[i]);
    }
    free(chips);

    /* Read each once: an unreadable sensor is left out with its reason. */
    uint64_t *first = calloc((size_t)all.n + 1, sizeof *first);
    bool *ok = calloc((size_t)all.n + 1, sizeof *ok);
    bool any_energy = false;
    char unreadable[BB_REASON_LEN] = "";
    for (int i = 0; first && ok && i < all.n; i++) {
        char one[BB_REASON_LEN];
        ok[i] = read_value(e, all.s[i].path, &first[i], one, sizeof one);
        uint64_t milliamps;
        if (ok[i] && all.s[i].current_path[0]) {
            ok[i] = read_value(e, all.s[i].current_path, &milliamps, one, sizeof one);
            first[i] *= milliamps;
        }
        if (!ok[i])
            bb_energy_append(unreadable, sizeof unreadable, one);
        any_energy = any_energy || (ok[i] && all.s[i].energy);
    }
    int cores_left = 0, power_left = 0, over = 0;
    for (int i = 0; first && ok && i < all.n; i++) {
        const sensor *s = &all.s[i];
        if (!ok[i])
            continue;
        if (any_energy && !s->energy) {
            power_left++;
        } else if (s->energy && strcmp(s->kind, "package") != 0 &&
                   chip_has_package_counter(&all, s->dir)) {
            cores_left++;
        } else if (e->n == BB_ENERGY_MAX_DOMAINS) {
            over++;
        } else {
            add_domain(e, s, first[i]);
        }
    }
    char line[BB_REASON_LEN];
    if (unreadable[0])
        bb_energy_append(e->skipped, sizeof e->skipped, unreadable);
    if (cores_left) {
        bb_fmt(line, sizeof line, "%d per-core energy counter(s): the socket counters of the "
                                  "same chip include them", cores_left);
        bb_energy_append(e->skipped, sizeof e->skipped, line);
    }
    if (power_left) {
        bb_fmt(line, sizeof line, "%d power sensor(s): energy counters are used when there are "
                                  "any (exact, no integration)", power_left);
        bb_energy_append(e->skipped, sizeof e->skipped, line);
    }
    if (over) {
        bb_fmt(line, sizeof line, "%d sensor(s) beyond the first %d", over,
               BB_ENERGY_MAX_DOMAINS);
        bb_energy_append(e->skipped, sizeof e->skipped, line);
    }
    if (e->n == 0) {
        if (!first || !ok)
            bb_fmt(why, len, "out of memory");
        else if (count == 0)
            bb_fmt(why, len, "%s has no hwmon* chips", e->hwmon_root);
        else if (all.n == 0)
            bb_fmt(why, len, "no hwmon energy or power sensors (energy*_input, power*_input, "
                             "power*_average) in %s%s%s%s%s", e->hwmon_root,
                   names[0] ? ": chips " : "", names, e->skipped[0] ? "; left out: " : "",
                   e->skipped);
        else
            bb_fmt(why, len, "%s", e->skipped);
    }
    free(first);
    free(ok);
    free(all.s);
    return e->n > 0;
}

/* ------------------------------------------------------------------ JSON */

static bool has_kind(const bb_energy *e, const char *kind)
{
    for (int i = 0; i < e->n; i++)
        if (strcmp(e->dom[i].kind, kind) == 0)
            return true;
    return false;
}

bool bb_hwmon_in_headline(const bb_energy *e, const char *kind)
{
    if (has_kind(e, "package"))
        return strcmp(kind, "package") == 0 || strcmp(kind, "dram") == 0;
    if (has_kind(e, "psys"))
        return strcmp(kind, "psys") == 0;
    return true;
}

static bool integrated(const bb_energy *e)
{
    return e->n > 0 && e->dom[0].integrated; /* one reading kind per backend: see open */
}

const char *bb_hwmon_method(const bb_energy *e)
{
    return integrated(e)
               ? "hwmon power sensors (powerN_input, else powerN_average, uW; on an INA3221 "
                 "without them, inN_input mV x currN_input mA) integrated by the "
                 "trapezoid rule over readings at both ends of the window and every "
                 "sample_period_s between (sampler thread); net = gross - idle W x window"
               : "hwmon energy counters (energyN_input, uJ, accumulated in 64 bits by the "
                 "driver) read at both ends of the window; net = gross - idle W x window";
}

void bb_hwmon_domain_json(const bb_energy_domain *d, json_t *o)
{
    json_object_set_new(o, "sensor", json_string(d->sensor));
    json_object_set_new(o, "reading",
                        json_string(d->current_where[0] ? "integrated power (voltage x current)"
                                    : d->integrated     ? "integrated power"
                                                        : "energy counter"));
    if (d->current_where[0])
        json_object_set_new(o, "current_where", json_string(d->current_where));
    if (d->integrated)
        json_object_set_new(o, "integration",
                            json_pack("{s:s, s:I, s:f, s:f, s:f}", "method", "trapezoid",
                                      "readings", (json_int_t)d->power.readings, "bound_j",
                                      d->power.bound_j, "min_w", d->power.min_w, "max_w",
                                      d->power.max_w));
}

json_t *bb_hwmon_json(const bb_energy *e)
{
    json_t *sensors = json_array();
    double bound = 0;
    bool bound_known = true;
    for (int i = 0; i < e->n; i++) {
        const bb_energy_domain *d = &e->dom[i];
        json_array_append_new(sensors, json_pack("{s:s, s:s, s:s}", "sensor", d->sensor, "kind",
                                                 d->kind, "where", d->where));
        if (d->integrated && bb_hwmon_in_headline(e, d->kind)) {
            if (d->error[0])
                bound_known = false;
            else if (d->power.joules > 0)
                bound += d->power.bound_j;
        }
    }
    json_t *o = json_pack("{s:s, s:o, s:f}", "reading",
                          integrated(e) ? "integrated power" : "energy counter", "sensors",
                          sensors, "window_start_unix_s", e->t0_unix);
    if (integrated(e))
        json_object_set_new(
            o, "integration",
            json_pack("{s:s, s:f, s:o, s:s}", "method",
                      "trapezoid rule over power readings taken at the window's ends and every "
                      "period_s between",
                      "period_s", e->sample_period_s, "headline_bound_j",
                      bound_known ? json_real(bound) : json_null(), "bound_assumes",
                      "between two readings the power stays between their values (it changes "
                      "at most once, or monotonically); bound = sum of |dP| x dt / 2 over "
                      "the readings, for gross_j (the idle baseline has its own)"));
    return o;
}
