/* harness/energy.c - RAPL energy through powercap sysfs, the perf power PMU or PAPI, and the
 * windows, idle baseline and JSON of every backend (hwmon's reader is energy_hwmon.c); see
 * energy.h for the order, the wrap-around sampling and the domains. */
#include "energy.h"
#include "energy_hwmon.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/perf_event.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifdef BB_HAVE_PAPI
#include <papi.h>
#endif

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void sleep_s(double s)
{
    if (!(s > 0))
        return;
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

const char *bb_energy_source_name(bb_energy_source s)
{
    switch (s) {
    case BB_ENERGY_POWERCAP: return "powercap";
    case BB_ENERGY_PERF: return "perf_event";
    case BB_ENERGY_PAPI: return "papi";
    case BB_ENERGY_HWMON: return "hwmon";
    default: return "none";
    }
}

/* ------------------------------------------------------------------ small parsers */

bool bb_energy_parse_u64(const char *text, uint64_t *out)
{
    const char *p = text;
    uint64_t v = 0;
    if (!isdigit((unsigned char)*p))
        return false;
    for (; isdigit((unsigned char)*p); p++) {
        unsigned digit = (unsigned)(*p - '0');
        if (v > (UINT64_MAX - digit) / 10)
            return false;
        v = v * 10 + digit;
    }
    while (*p == '\n' || *p == ' ')
        p++;
    if (*p)
        return false;
    *out = v;
    return true;
}

bool bb_energy_wrap_delta(uint64_t prev, uint64_t now, uint64_t range, uint64_t *delta)
{
    if (range && (prev > range || now > range))
        return false;
    if (now >= prev) {
        *delta = now - prev;
        return true;
    }
    if (!range)
        return false;
    *delta = (range - prev) + now;
    return true;
}

double bb_energy_sample_period(double range_j, double max_power_w)
{
    return range_j / max_power_w / 4.0;
}

/* Reads a whole small file into buf (NUL-terminated).  0, or -errno. */
static int read_file(const bb_energy *e, const char *path, char *buf, size_t len)
{
    int fd = e->opts.open_file ? e->opts.open_file(path, e->opts.open_ctx)
                               : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return e->opts.open_file ? fd : -errno;
    ssize_t got = read(fd, buf, len - 1);
    int err = got < 0 ? -errno : 0;
    close(fd);
    if (err)
        return err;
    buf[got] = '\0';
    return 0;
}

int bb_energy_read_file(const bb_energy *e, const char *path, char *buf, size_t len)
{
    return read_file(e, path, buf, len);
}

/* The file's text, trimmed and shortened for a message. */
static char *shown(char *text)
{
    size_t n = strcspn(text, "\n");
    if (n > 40)
        n = 40;
    text[n] = '\0';
    return text;
}

static void append(char *dst, size_t cap, const char *text)
{
    size_t used = strlen(dst);
    if (used + 3 < cap)
        bb_fmt(dst + used, cap - used, "%s%s", used ? "; " : "", text);
}

void bb_energy_append(char *dst, size_t cap, const char *text)
{
    append(dst, cap, text);
}

/* ------------------------------------------------------------------ powercap */

static void powercap_permission_reason(const bb_energy *e, const char *path, char *why, size_t len)
{
    bb_fmt(why, len,
             "%s: permission denied - energy_uj is readable by root only (Linux 5.10+, "
             "CVE-2020-8694). Run as root, or grant read access until reboot: "
             "sudo chmod a+r %s/intel-rapl:*/energy_uj; or for good with a udev rule "
             "(/etc/udev/rules.d/99-rapl.rules): "
             "ACTION==\"add\", SUBSYSTEM==\"powercap\", RUN+=\"/bin/chmod a+r /sys%%p/energy_uj\"",
             path, e->powercap_root);
}

/* Reads an energy counter file; 0 or -1 with why. */
static int read_counter_file(const bb_energy *e, const char *path, uint64_t *value, char *why,
                             size_t len)
{
    char text[64];
    int ret = read_file(e, path, text, sizeof text);
    if (ret == -EACCES || ret == -EPERM) {
        powercap_permission_reason(e, path, why, len);
        return -1;
    }
    if (ret < 0) {
        bb_fmt(why, len, "%s: cannot read: %s", path, strerror(-ret));
        return -1;
    }
    if (!bb_energy_parse_u64(text, value)) {
        bb_fmt(why, len, "%s holds '%s', expected an unsigned integer", path, shown(text));
        return -1;
    }
    return 0;
}

/* kind and socket from a zone's name: "package-1" -> package, 1; "dram" -> dram, -1. */
static void zone_kind(const char *name, char *kind, size_t len, int *socket)
{
    int n = -1;
    if (sscanf(name, "package-%d", &n) == 1) {
        bb_fmt(kind, len, "package");
        *socket = n;
    } else {
        bb_fmt(kind, len, "%s", name);
        *socket = -1;
    }
}

/* Max power of a zone: the largest constraint_N_max_power_uw it has (0 when none). */
static double zone_max_power_w(const bb_energy *e, const char *dir)
{
    double best = 0;
    for (int c = 0; c < 4; c++) {
        char path[600], text[64];
        uint64_t uw;
        bb_fmt(path, sizeof path, "%s/constraint_%d_max_power_uw", dir, c);
        if (read_file(e, path, text, sizeof text) == 0 && bb_energy_parse_u64(text, &uw) &&
            uw * 1e-6 > best)
            best = (double)uw * 1e-6;
    }
    return best;
}

/* Adds one zone as a domain, or says why it cannot be one. */
static bool powercap_add_zone(bb_energy *e, const char *zone, char *why, size_t len)
{
    char dir[400], path[600], text[128];
    unsigned parent = 0, sub = 0;
    int parts = sscanf(zone, "intel-rapl:%u:%u", &parent, &sub);
    bb_fmt(dir, sizeof dir, "%s/%s", e->powercap_root, zone);
    bb_fmt(path, sizeof path, "%s/name", dir);
    if (read_file(e, path, text, sizeof text) < 0) {
        bb_fmt(why, len, "%s: no readable name", dir);
        return false;
    }
    bb_energy_domain *d = &e->dom[e->n];
    memset(d, 0, sizeof *d);
    zone_kind(shown(text), d->kind, sizeof d->kind, &d->socket);
    if (parts == 2) { /* a subzone belongs to its parent zone's socket */
        char pname[128];
        bb_fmt(path, sizeof path, "%s/intel-rapl:%u/name", e->powercap_root, parent);
        char pkind[24];
        if (read_file(e, path, pname, sizeof pname) == 0)
            zone_kind(shown(pname), pkind, sizeof pkind, &d->socket);
        if (d->socket < 0)
            d->socket = (int)parent;
    }
    bb_fmt(path, sizeof path, "%s/max_energy_range_uj", dir);
    if (read_counter_file(e, path, &d->range, why, len) < 0)
        return false;
    if (d->range == 0) {
        bb_fmt(why, len, "%s is 0: cannot undo wrap-around", path);
        return false;
    }
    bb_fmt(d->where, sizeof d->where, "%s/energy_uj", dir);
    if (read_counter_file(e, d->where, &d->last, why, len) < 0)
        return false;
    d->joules_per_unit = 1e-6;
    d->max_power_w = zone_max_power_w(e, dir);
    d->max_power_assumed = !(d->max_power_w > 0);
    if (d->max_power_assumed)
        d->max_power_w = BB_ENERGY_ASSUMED_MAX_POWER_W;
    d->fd = -1;
    e->n++;
    return true;
}

static int zone_filter(const struct dirent *de)
{
    return strncmp(de->d_name, "intel-rapl:", 11) == 0; /* not intel-rapl-mmio: duplicates */
}

static bool powercap_open(bb_energy *e, char *why, size_t len)
{
    struct dirent **list;
    int count = scandir(e->powercap_root, &list, zone_filter, alphasort);
    if (count < 0) {
        if (errno == ENOENT)
            bb_fmt(why, len, "%s does not exist (no powercap RAPL driver: a VM, or a kernel "
                               "without intel_rapl)", e->powercap_root);
        else
            bb_fmt(why, len, "%s: %s", e->powercap_root, strerror(errno));
        return false;
    }
    for (int i = 0; i < count; i++) {
        char zone_why[BB_REASON_LEN];
        if (e->n < BB_ENERGY_MAX_DOMAINS && !powercap_add_zone(e, list[i]->d_name, zone_why,
                                                                 sizeof zone_why))
            append(e->skipped, sizeof e->skipped, zone_why);
        free(list[i]);
    }
    free(list);
    if (count == 0)
        bb_fmt(why, len, "%s has no intel-rapl:* zones", e->powercap_root);
    else if (e->n == 0)
        bb_fmt(why, len, "%s", e->skipped);
    return e->n > 0;
}

/* ------------------------------------------------------------------ perf power PMU */

/* A small sysfs file's text; false when missing or empty. */
static bool read_text(const char *path, char *buf, size_t len)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    size_t got = fread(buf, 1, len - 1, f);
    fclose(f);
    buf[got] = '\0';
    return got > 0;
}

/* Places value into config according to a format file's "config:lo-hi" (or "config:bit"). */
static bool place_term(const char *pmu_dir, const char *term, uint64_t value, uint64_t *config,
                       char *why, size_t len)
{
    char path[600], text[64];
    unsigned lo, hi;
    bb_fmt(path, sizeof path, "%s/format/%s", pmu_dir, term);
    if (!read_text(path, text, sizeof text)) {
        bb_fmt(why, len, "%s: missing, cannot place '%s'", path, term);
        return false;
    }
    int got = sscanf(text, "config:%u-%u", &lo, &hi);
    if (got == 1)
        hi = lo;
    if (got < 1 || hi < lo || hi > 63) {
        bb_fmt(why, len, "%s holds '%s', expected config:lo-hi", path, shown(text));
        return false;
    }
    uint64_t width_mask = hi - lo == 63 ? UINT64_MAX : ((1ull << (hi - lo + 1)) - 1);
    if (value & ~width_mask) {
        bb_fmt(why, len, "%s=%#" PRIx64 " does not fit %s", term, value, shown(text));
        return false;
    }
    *config |= value << lo;
    return true;
}

bool bb_perf_parse_event(const char *pmu_dir, const char *event, uint64_t *config,
                         double *scale, char *why, size_t len)
{
    char path[600], text[256], *end;
    bb_fmt(path, sizeof path, "%s/events/%s", pmu_dir, event);
    if (!read_text(path, text, sizeof text)) {
        bb_fmt(why, len, "%s: missing or empty", path);
        return false;
    }
    *config = 0;
    char *save = NULL;
    for (char *t = strtok_r(shown(text), ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(t, '=');
        uint64_t value = 1;
        if (eq) {
            *eq = '\0';
            errno = 0;
            value = strtoull(eq + 1, &end, 0);
            if (errno || end == eq + 1 || *end) {
                bb_fmt(why, len, "%s: '%s' is not a number", path, eq + 1);
                return false;
            }
        }
        if (!place_term(pmu_dir, t, value, config, why, len))
            return false;
    }
    bb_fmt(path, sizeof path, "%s/events/%s.scale", pmu_dir, event);
    if (!read_text(path, text, sizeof text)) {
        bb_fmt(why, len, "%s: missing", path);
        return false;
    }
    errno = 0;
    *scale = strtod(text, &end);
    if (errno || end == text || (*end && *end != '\n') || !(*scale > 0)) {
        bb_fmt(why, len, "%s holds '%s', expected a positive number", path, shown(text));
        return false;
    }
    bb_fmt(path, sizeof path, "%s/events/%s.unit", pmu_dir, event);
    if (!read_text(path, text, sizeof text) || strcmp(shown(text), "Joules") != 0) {
        bb_fmt(why, len, "%s: unit '%s', expected Joules", path, text);
        return false;
    }
    return true;
}

static const char *perf_kind(const char *event)
{
    static const char *const map[][2] = {{"energy-pkg", "package"}, {"energy-cores", "core"},
                                         {"energy-ram", "dram"},    {"energy-gpu", "uncore"},
                                         {"energy-psys", "psys"}};
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(event, map[i][0]) == 0)
            return map[i][1];
    return event + 7; /* a newer energy-<x>: keep <x> */
}

/* CPUs of a cpumask list such as "0,28" or "0-1". */
static int parse_cpulist(const char *text, int *cpus, int max)
{
    int n = 0;
    const char *p = text;
    while (*p && *p != '\n' && n < max) {
        char *end;
        long lo = strtol(p, &end, 10), hi = lo;
        if (end == p || lo < 0)
            return -1;
        if (*end == '-')
            hi = strtol(end + 1, &end, 10);
        for (long c = lo; c <= hi && n < max; c++)
            cpus[n++] = (int)c;
        p = *end == ',' ? end + 1 : end;
        if (*end && *end != ',' && *end != '\n')
            return -1;
    }
    return n;
}

static bool perf_add_event(bb_energy *e, const char *pmu, uint32_t type, const char *event,
                           const int *cpus, int ncpu, char *why, size_t len)
{
    uint64_t config;
    double scale;
    if (!bb_perf_parse_event(pmu, event, &config, &scale, why, len))
        return false;
    const char *kind = perf_kind(event);
    bool platform = strcmp(kind, "psys") == 0; /* one counter for the whole platform */
    for (int s = 0; s < (platform ? 1 : ncpu) && e->n < BB_ENERGY_MAX_DOMAINS; s++) {
        struct perf_event_attr attr;
        memset(&attr, 0, sizeof attr);
        attr.size = sizeof attr;
        attr.type = type;
        attr.config = config;
        int fd = e->opts.perf->open(&attr, -1, cpus[s], e->opts.perf->ctx);
        if (fd < 0) {
            char hint[BB_REASON_LEN / 2] = "";
            if (fd == -EACCES || fd == -EPERM)
                bb_perf_permission_hint(true, hint, sizeof hint);
            bb_fmt(why, len, "perf_event_open(power/%s/ on CPU %d): %s%s%s", event, cpus[s],
                     strerror(-fd), hint[0] ? "; " : "", hint);
            return false;
        }
        bb_energy_domain *d = &e->dom[e->n++];
        memset(d, 0, sizeof *d);
        bb_fmt(d->kind, sizeof d->kind, "%s", kind);
        d->socket = platform ? -1 : s;
        bb_fmt(d->where, sizeof d->where, "power/%s/ (cpu %d, scale %.17g J)", event, cpus[s],
                 scale);
        d->fd = fd;
        d->joules_per_unit = scale;
        d->max_power_w = BB_ENERGY_ASSUMED_MAX_POWER_W;
    }
    return true;
}

static int energy_event_filter(const struct dirent *de)
{
    return strncmp(de->d_name, "energy-", 7) == 0 && !strchr(de->d_name, '.');
}

static bool perf_open(bb_energy *e, char *why, size_t len)
{
    char pmu[300], path[400], text[256];
    uint64_t type;
    int cpus[256];
    bb_fmt(pmu, sizeof pmu, "%s/power", e->perf_root);
    bb_fmt(path, sizeof path, "%s/type", pmu);
    if (!read_text(path, text, sizeof text) || !bb_energy_parse_u64(text, &type)) {
        bb_fmt(why, len, "no power PMU (%s unreadable: kernel or CPU without RAPL perf "
                           "events, or a VM)", path);
        return false;
    }
    bb_fmt(path, sizeof path, "%s/cpumask", pmu);
    int ncpu = read_text(path, text, sizeof text) ? parse_cpulist(text, cpus, 256) : -1;
    if (ncpu <= 0) {
        bb_fmt(why, len, "%s: missing or not a CPU list", path);
        return false;
    }
    bb_fmt(path, sizeof path, "%s/events", pmu);
    struct dirent **list;
    int count = scandir(path, &list, energy_event_filter, alphasort);
    if (count <= 0) {
        bb_fmt(why, len, "%s: no energy-* events", path);
        if (count == 0)
            free(list);
        return false;
    }
    for (int i = 0; i < count; i++) {
        char ev_why[BB_REASON_LEN];
        if (!perf_add_event(e, pmu, (uint32_t)type, list[i]->d_name, cpus, ncpu, ev_why,
                            sizeof ev_why))
            append(e->skipped, sizeof e->skipped, ev_why);
        free(list[i]);
    }
    free(list);
    if (e->n == 0)
        bb_fmt(why, len, "%s", e->skipped);
    return e->n > 0;
}

/* ------------------------------------------------------------------ PAPI */

#ifdef BB_HAVE_PAPI
/* Domain kind of a PAPI energy event, or NULL when the event is not an energy total. */
static const char *papi_kind(const char *name, char *buf, size_t len, int *socket)
{
    static const char *const rapl[][2] = {{"PACKAGE_ENERGY:PACKAGE", "package"},
                                          {"DRAM_ENERGY:PACKAGE", "dram"},
                                          {"PP0_ENERGY:PACKAGE", "core"},
                                          {"PP1_ENERGY:PACKAGE", "uncore"},
                                          {"PSYS_ENERGY:PACKAGE", "psys"}};
    const char *colon = strstr(name, ":::");
    const char *ev = colon ? colon + 3 : name;
    for (size_t i = 0; i < sizeof rapl / sizeof rapl[0]; i++) {
        size_t n = strlen(rapl[i][0]);
        if (strncmp(ev, rapl[i][0], n) == 0) {
            *socket = strcmp(rapl[i][1], "psys") == 0 ? -1 : atoi(ev + n);
            return rapl[i][1];
        }
    }
    unsigned zone, sub;
    if (sscanf(ev, "ENERGY_UJ:ZONE%u_SUBZONE%u", &zone, &sub) == 2)
        bb_fmt(buf, len, "zone%u_subzone%u", zone, sub);
    else if (sscanf(ev, "ENERGY_UJ:ZONE%u", &zone) == 1)
        bb_fmt(buf, len, "zone%u", zone);
    else
        return NULL;
    *socket = (int)zone;
    return buf;
}

static double papi_unit_joules(const char *units)
{
    return strcmp(units, "nJ") == 0 ? 1e-9 : strcmp(units, "uJ") == 0 ? 1e-6
                                        : strcmp(units, "J") == 0  ? 1.0
                                                                   : 0;
}

static bool papi_add_component(bb_energy *e, int cid, char *why, size_t len)
{
    int code = PAPI_NATIVE_MASK;
    if (PAPI_enum_cmp_event(&code, PAPI_ENUM_FIRST, cid) != PAPI_OK) {
        bb_fmt(why, len, "PAPI component %s lists no events", PAPI_get_component_info(cid)->name);
        return false;
    }
    do {
        char name[PAPI_MAX_STR_LEN], kbuf[24];
        PAPI_event_info_t info;
        int socket;
        const char *kind;
        if (PAPI_event_code_to_name(code, name) != PAPI_OK ||
            !(kind = papi_kind(name, kbuf, sizeof kbuf, &socket)) ||
            PAPI_get_event_info(code, &info) != PAPI_OK || !papi_unit_joules(info.units) ||
            e->n == BB_ENERGY_MAX_DOMAINS || PAPI_add_event(e->papi_set, code) != PAPI_OK)
            continue;
        bb_energy_domain *d = &e->dom[e->n++];
        memset(d, 0, sizeof *d);
        bb_fmt(d->kind, sizeof d->kind, "%s", kind);
        d->socket = socket;
        bb_fmt(d->where, sizeof d->where, "%s", name);
        d->joules_per_unit = papi_unit_joules(info.units);
        d->fd = -1;
        d->max_power_w = BB_ENERGY_ASSUMED_MAX_POWER_W;
    } while (PAPI_enum_cmp_event(&code, PAPI_ENUM_EVENTS, cid) == PAPI_OK);
    if (e->n == 0)
        bb_fmt(why, len, "PAPI component %s: no energy event could be added",
                 PAPI_get_component_info(cid)->name);
    return e->n > 0;
}
#endif

static bool papi_open(bb_energy *e, char *why, size_t len)
{
    if (e->opts.no_papi) {
        bb_fmt(why, len, "skipped (no_papi)");
        return false;
    }
    if (!bb_papi_ready(why, len))
        return false;
#ifdef BB_HAVE_PAPI
    const char *names[] = {"rapl", "powercap"};
    why[0] = '\0';
    for (int i = 0; i < 2; i++) {
        char one[BB_REASON_LEN];
        int cid = PAPI_get_component_index(names[i]);
        const PAPI_component_info_t *ci = cid >= 0 ? PAPI_get_component_info(cid) : NULL;
        if (!ci) {
            bb_fmt(one, sizeof one, "no %s component in this PAPI build", names[i]);
        } else if (ci->disabled) {
            bb_fmt(one, sizeof one, "PAPI %s component disabled: %s", names[i],
                     ci->disabled_reason);
        } else if (PAPI_create_eventset(&e->papi_set) != PAPI_OK) {
            bb_fmt(one, sizeof one, "PAPI_create_eventset failed");
        } else if (papi_add_component(e, cid, one, sizeof one) &&
                   PAPI_start(e->papi_set) == PAPI_OK) {
            return true;
        } else {
            e->n = 0;
            PAPI_cleanup_eventset(e->papi_set);
            PAPI_destroy_eventset(&e->papi_set);
            e->papi_set = -1;
        }
        append(why, len, one);
    }
    return false;
#else
    return false;
#endif
}

/* ------------------------------------------------------------------ reading */

/* Reads every domain's raw counter into raw[]; a failed one gets its error set. */
static void read_all(bb_energy *e, uint64_t *raw, char (*err)[BB_REASON_LEN])
{
#ifdef BB_HAVE_PAPI
    long long values[BB_ENERGY_MAX_DOMAINS];
    int papi_ret = e->source == BB_ENERGY_PAPI ? PAPI_read(e->papi_set, values) : PAPI_OK;
#endif
    for (int i = 0; i < e->n; i++) {
        bb_energy_domain *d = &e->dom[i];
        err[i][0] = '\0';
        if (e->source == BB_ENERGY_POWERCAP) {
            read_counter_file(e, d->where, &raw[i], err[i], BB_REASON_LEN);
        } else if (e->source == BB_ENERGY_PERF) {
            int ret = e->opts.perf->read(d->fd, &raw[i], 1, e->opts.perf->ctx);
            if (ret < 0)
                bb_fmt(err[i], BB_REASON_LEN, "reading %s: %s", d->where, strerror(-ret));
        } else if (e->source == BB_ENERGY_HWMON) {
            bb_hwmon_read(e, d, &raw[i], err[i], BB_REASON_LEN);
        }
#ifdef BB_HAVE_PAPI
        else if (e->source == BB_ENERGY_PAPI) {
            if (papi_ret == PAPI_OK)
                raw[i] = (uint64_t)values[i];
            else
                bb_fmt(err[i], BB_REASON_LEN, "PAPI_read: %s", PAPI_strerror(papi_ret));
        }
#endif
    }
}

/* One reading folded into the window: the sampler's tick and the window's ends.  A power
 * reading is timed at the middle of the reads, or at the window's end once it is set. */
static void sample_locked(bb_energy *e)
{
    uint64_t raw[BB_ENERGY_MAX_DOMAINS];
    char err[BB_ENERGY_MAX_DOMAINS][BB_REASON_LEN];
    double before = now_s();
    read_all(e, raw, err);
    double t = e->t_end > 0 ? e->t_end : 0.5 * (before + now_s());
    for (int i = 0; i < e->n; i++) {
        bb_energy_domain *d = &e->dom[i];
        uint64_t delta;
        if (d->error[0])
            continue;
        if (err[i][0]) {
            bb_fmt(d->error, sizeof d->error, "%s", err[i]);
        } else if (d->integrated) {
            bb_power_integral_add(&d->power, t, (double)raw[i] * d->joules_per_unit);
            d->last = raw[i];
        } else if (!d->range && raw[i] < d->last) {
            bb_fmt(d->error, sizeof d->error,
                     "%s read %" PRIu64 " after %" PRIu64 ": a 64-bit counter went backwards "
                     "(driver reloaded, or a counter that wraps at an unknown range)",
                     d->where, raw[i], d->last);
        } else if (!bb_energy_wrap_delta(d->last, raw[i], d->range, &delta)) {
            bb_fmt(d->error, sizeof d->error,
                     "%s read %" PRIu64 " after %" PRIu64 ": not a counter that wraps at %" PRIu64,
                     d->where, raw[i], d->last, d->range);
        } else {
            d->wraps += raw[i] < d->last;
            d->units += delta;
            d->last = raw[i];
        }
    }
    e->samples++;
}

void bb_energy_sample(bb_energy *e)
{
    if (!bb_energy_available(e))
        return;
    pthread_mutex_lock(&e->lock);
    sample_locked(e);
    pthread_mutex_unlock(&e->lock);
}

static void *sampler_main(void *arg)
{
    bb_energy *e = arg;
    pthread_mutex_lock(&e->lock);
    while (!e->stop) {
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        double t = (double)until.tv_nsec * 1e-9 + e->sample_period_s;
        until.tv_sec += (time_t)t;
        until.tv_nsec = (long)((t - (double)(time_t)t) * 1e9);
        if (pthread_cond_timedwait(&e->wake, &e->lock, &until) == ETIMEDOUT && !e->stop &&
            e->t_end == 0) /* the window's last reading is taken: nothing after it counts */
            sample_locked(e);
    }
    pthread_mutex_unlock(&e->lock);
    return NULL;
}

/* True when some domain's counter moves within `seconds` (polled every 2 ms). */
static bool counters_advance(bb_energy *e, double seconds, char *why, size_t len)
{
    uint64_t first[BB_ENERGY_MAX_DOMAINS], raw[BB_ENERGY_MAX_DOMAINS];
    char err[BB_ENERGY_MAX_DOMAINS][BB_REASON_LEN];
    read_all(e, first, err);
    double until = now_s() + seconds;
    do {
        sleep_s(0.002);
        read_all(e, raw, err);
        for (int i = 0; i < e->n; i++)
            if (!err[i][0] && (e->dom[i].integrated ? raw[i] > 0 : raw[i] != first[i]))
                return true;
    } while (now_s() < until);
    if (e->source == BB_ENERGY_HWMON && e->dom[0].integrated)
        bb_fmt(why, len, "%d power sensor(s) opened (%s%s) but read 0 W throughout %.3g s",
               e->n, e->dom[0].where, e->n > 1 ? ", ..." : "", seconds);
    else
        bb_fmt(why, len, "%d counter(s) opened (%s%s) but did not advance in %.3g s (a VM that "
                           "exposes the interface without RAPL behind it?)",
                 e->n, e->dom[0].where, e->n > 1 ? ", ..." : "", seconds);
    return false;
}

/* ------------------------------------------------------------------ open / close */

static void release_domains(bb_energy *e)
{
    for (int i = 0; i < e->n; i++)
        if (e->dom[i].fd >= 0 && e->source == BB_ENERGY_PERF)
            e->opts.perf->close(e->dom[i].fd, e->opts.perf->ctx);
#ifdef BB_HAVE_PAPI
    if (e->papi_set >= 0) {
        PAPI_stop(e->papi_set, NULL);
        PAPI_cleanup_eventset(e->papi_set);
        PAPI_destroy_eventset(&e->papi_set);
    }
#endif
    e->papi_set = -1;
    e->n = 0;
    e->skipped[0] = '\0';
}

static void set_root(char *dst, size_t len, const char *opt, const char *env, const char *def)
{
    const char *v = opt ? opt : getenv(env) ? getenv(env) : def;
    bb_fmt(dst, len, "%s", v);
}

static double wrap_sample_period(const bb_energy *e)
{
    double period = 0;
    for (int i = 0; i < e->n; i++) {
        const bb_energy_domain *d = &e->dom[i];
        if (d->integrated && (period == 0 || BB_HWMON_POWER_PERIOD_S < period))
            period = BB_HWMON_POWER_PERIOD_S; /* integration, not wrap-around, sets it */
        if (!d->range)
            continue;
        double p = bb_energy_sample_period((double)d->range * d->joules_per_unit, d->max_power_w);
        if (period == 0 || p < period)
            period = p;
    }
    return period;
}

bb_energy *bb_energy_open(const bb_energy_opts *opts)
{
    bb_energy *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    if (opts)
        e->opts = *opts;
    if (!e->opts.perf)
        e->opts.perf = &bb_perf_syscalls;
    double live = e->opts.liveness_s < 0 || !opts ? 0.25 : e->opts.liveness_s;
    e->papi_set = -1;
    pthread_mutex_init(&e->lock, NULL);
    pthread_condattr_t attr; /* the sampler's timeouts must not follow wall-clock jumps */
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&e->wake, &attr);
    pthread_condattr_destroy(&attr);
    set_root(e->powercap_root, sizeof e->powercap_root, e->opts.powercap_root,
             "BITBENCH_POWERCAP_ROOT", "/sys/class/powercap");
    set_root(e->perf_root, sizeof e->perf_root, e->opts.perf_root, "BITBENCH_PERF_SYSFS_ROOT",
             "/sys/bus/event_source/devices");
    set_root(e->hwmon_root, sizeof e->hwmon_root, e->opts.hwmon_root, "BITBENCH_HWMON_ROOT",
             "/sys/class/hwmon");
    static const struct {
        bb_energy_source source;
        const char *label;
        bool (*open)(bb_energy *, char *, size_t);
    } backends[] = {{BB_ENERGY_POWERCAP, "powercap", powercap_open},
                    {BB_ENERGY_PERF, "perf_event", perf_open},
                    {BB_ENERGY_PAPI, "papi", papi_open},
                    {BB_ENERGY_HWMON, "hwmon", bb_hwmon_open}};
    const size_t nb = sizeof backends / sizeof backends[0];
    const char *only = getenv("BITBENCH_ENERGY_SOURCE");
    bool only_known = !only;
    for (size_t b = 0; b < nb; b++)
        only_known = only_known || strcmp(only, backends[b].label) == 0;
    if (!only_known) {
        e->source = BB_ENERGY_NONE;
        bb_fmt(e->reason, sizeof e->reason, "BITBENCH_ENERGY_SOURCE='%s': accepted powercap, "
                                            "perf_event, papi, hwmon", only);
        return e;
    }
    for (size_t b = 0; b < nb; b++) {
        char why[BB_REASON_LEN], line[BB_REASON_LEN + 16];
        if (only && strcmp(only, backends[b].label) != 0)
            continue;
        e->source = backends[b].source;
        if (backends[b].open(e, why, sizeof why) && (live == 0 || counters_advance(e, live, why,
                                                                                   sizeof why))) {
            e->sample_period_s = e->opts.sample_period_s > 0 ? e->opts.sample_period_s
                                                             : wrap_sample_period(e);
            for (int i = 0; i < e->n; i++) {
                e->dom[i].idle_w = NAN;
                e->dom[i].joules = NAN;
                bb_fmt(e->dom[i].idle_error, BB_REASON_LEN,
                         "no idle baseline measured (bb_probe_idle before the row)");
            }
            bb_fmt(e->reason, sizeof e->reason, "%s", "");
            return e;
        }
        release_domains(e);
        bb_fmt(line, sizeof line, "%s: %s", backends[b].label, why);
        append(e->tried, sizeof e->tried, line);
    }
    e->source = BB_ENERGY_NONE;
    bb_fmt(e->reason, sizeof e->reason, "%s", e->tried);
    return e;
}

static void stop_sampler(bb_energy *e)
{
    if (!e->thread_running)
        return;
    pthread_mutex_lock(&e->lock);
    e->stop = true;
    pthread_cond_signal(&e->wake);
    pthread_mutex_unlock(&e->lock);
    pthread_join(e->thread, NULL);
    e->thread_running = false;
}

void bb_energy_close(bb_energy *e)
{
    if (!e)
        return;
    stop_sampler(e);
    release_domains(e);
    pthread_mutex_destroy(&e->lock);
    pthread_cond_destroy(&e->wake);
    free(e);
}

/* ------------------------------------------------------------------ windows */

void bb_energy_begin(bb_energy *e)
{
    if (!bb_energy_available(e))
        return;
    stop_sampler(e);
    uint64_t raw[BB_ENERGY_MAX_DOMAINS];
    char err[BB_ENERGY_MAX_DOMAINS][BB_REASON_LEN];
    pthread_mutex_lock(&e->lock);
    read_all(e, raw, err);
    for (int i = 0; i < e->n; i++) {
        bb_energy_domain *d = &e->dom[i];
        d->last = raw[i];
        d->units = 0;
        d->wraps = 0;
        bb_fmt(d->error, sizeof d->error, "%s", err[i]);
        d->joules = NAN;
    }
    e->stop = false;
    e->window_s = 0;
    e->t0 = now_s();
    struct timespec unix_now;
    clock_gettime(CLOCK_REALTIME, &unix_now);
    e->t0_unix = (double)unix_now.tv_sec + 1e-9 * (double)unix_now.tv_nsec;
    e->t_end = 0;
    for (int i = 0; i < e->n; i++)
        if (e->dom[i].integrated)
            bb_power_integral_start(&e->dom[i].power, e->t0,
                                    (double)raw[i] * e->dom[i].joules_per_unit);
    pthread_mutex_unlock(&e->lock);
    if (!e->opts.no_sampler_thread && e->sample_period_s > 0)
        e->thread_running = pthread_create(&e->thread, NULL, sampler_main, e) == 0;
}

void bb_energy_end(bb_energy *e)
{
    if (!bb_energy_available(e))
        return;
    /* The last reading right away (a power reading counts as at t1), then the sampler
     * stops: joining it first would let a power change after t1 into the window.  t1 is
     * taken under the lock, so that no sampler reading is timed after it. */
    pthread_mutex_lock(&e->lock);
    double t1 = now_s();
    e->t_end = t1;
    sample_locked(e);
    pthread_mutex_unlock(&e->lock);
    stop_sampler(e);
    pthread_mutex_lock(&e->lock);
    e->window_s = t1 - e->t0;
    for (int i = 0; i < e->n; i++) {
        bb_energy_domain *d = &e->dom[i];
        d->joules = d->error[0]     ? NAN
                    : d->integrated ? d->power.joules
                                    : (double)d->units * d->joules_per_unit;
    }
    pthread_mutex_unlock(&e->lock);
}

void bb_energy_idle(bb_energy *e, double seconds)
{
    if (!bb_energy_available(e))
        return;
    bb_energy_begin(e);
    sleep_s(seconds);
    bb_energy_end(e);
    for (int i = 0; i < e->n; i++) {
        bb_energy_domain *d = &e->dom[i];
        d->idle_w = NAN;
        bb_fmt(d->idle_error, sizeof d->idle_error, "%s", d->error);
        if (!d->error[0] && e->window_s > 0)
            d->idle_w = d->joules / e->window_s;
        else if (!d->error[0])
            bb_fmt(d->idle_error, sizeof d->idle_error, "idle window of 0 s");
        d->joules = NAN; /* the idle window is not a row's window */
        bb_fmt(d->error, sizeof d->error, "no window measured since the idle baseline");
    }
    e->idle_window_s = e->window_s;
    e->window_s = 0;
}

/* ------------------------------------------------------------------ JSON */

static json_t *real_or_null(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

/* A domain's figures for the last window; false (with why) when its gross is unknown. */
typedef struct domain_figures {
    double gross, idle, net;
    const char *why;      /* gross unavailable: why */
    const char *idle_why; /* idle (and so net) unavailable: why */
} domain_figures;

static domain_figures figures(const bb_energy *e, const bb_energy_domain *d)
{
    domain_figures f = {d->joules, NAN, NAN, NULL, NULL};
    if (d->error[0])
        f.why = d->error;
    else if (d->integrated && !(d->power.joules > 0))
        f.why = "the sensor read 0 W throughout the window (rail off or not supported here?)";
    else if (!d->integrated && d->units == 0)
        f.why = "the counter did not advance in the window (domain not supported here?)";
    if (f.why) {
        f.gross = NAN;
        return f;
    }
    if (e->idle_window_s <= 0 || !isfinite(d->idle_w))
        f.idle_why = d->idle_error[0] ? d->idle_error : "no idle baseline";
    else if (d->idle_w == 0)
        f.idle_why = d->integrated ? "the sensor read 0 W throughout the idle window"
                                   : "the counter did not advance during the idle window";
    else {
        f.idle = d->idle_w * e->window_s;
        f.net = f.gross - f.idle;
    }
    return f;
}

static json_t *domain_json(const bb_energy *e, const bb_energy_domain *d)
{
    domain_figures f = figures(e, d);
    json_t *o = json_pack("{s:s, s:o, s:s, s:s, s:o, s:o, s:o, s:o, s:i}", "kind", d->kind,
                          "socket", d->socket < 0 ? json_null() : json_integer(d->socket),
                          "where", d->where, "status", f.why ? "unavailable" : "measured",
                          "gross_j", real_or_null(f.gross), "idle_j", real_or_null(f.idle),
                          "net_j", real_or_null(f.net), "avg_w",
                          real_or_null(f.gross / e->window_s), "wraps", (int)d->wraps);
    if (f.why)
        json_object_set_new(o, "reason", json_string(f.why));
    else if (f.idle_why)
        json_object_set_new(o, "idle_reason", json_string(f.idle_why));
    if (e->source == BB_ENERGY_HWMON)
        bb_hwmon_domain_json(d, o);
    return o;
}

/* Sums over the domains whose kind passes `in`; a domain that did not measure is left out
 * and named in *left_out.  Returns how many were summed. */
typedef struct energy_sum {
    double gross, idle, net;
    int summed, no_idle;
    char left_out[BB_REASON_LEN];
    const char *idle_why;
} energy_sum;

static energy_sum sum_kinds(const bb_energy *e, bool (*in)(const char *kind, const void *arg),
                            const void *arg)
{
    energy_sum s = {0};
    for (int i = 0; i < e->n; i++) {
        const bb_energy_domain *d = &e->dom[i];
        if (!in(d->kind, arg))
            continue;
        domain_figures f = figures(e, d);
        if (f.why) {
            char line[BB_REASON_LEN];
            bb_fmt(line, sizeof line, "%s socket %d: %s", d->kind, d->socket, f.why);
            append(s.left_out, sizeof s.left_out, line);
            continue;
        }
        s.summed++;
        s.gross += f.gross;
        if (f.idle_why) {
            s.no_idle++;
            s.idle_why = f.idle_why;
        } else {
            s.idle += f.idle;
            s.net += f.net;
        }
    }
    return s;
}

static bool same_kind(const char *kind, const void *arg)
{
    return strcmp(kind, arg) == 0;
}

static bool has_kind(const bb_energy *e, const char *kind)
{
    for (int i = 0; i < e->n; i++)
        if (same_kind(e->dom[i].kind, kind))
            return true;
    return false;
}

/* The headline domains: package + dram, else psys, else the top-level PAPI zones, else
 * whatever the first domain is. */
static bool in_headline(const char *kind, const void *arg)
{
    const bb_energy *e = arg;
    if (e->source == BB_ENERGY_HWMON)
        return bb_hwmon_in_headline(e, kind);
    if (has_kind(e, "package"))
        return same_kind(kind, "package") || same_kind(kind, "dram");
    if (has_kind(e, "psys"))
        return same_kind(kind, "psys");
    if (strncmp(e->dom[0].kind, "zone", 4) == 0)
        return strncmp(kind, "zone", 4) == 0 && !strstr(kind, "_subzone");
    return same_kind(kind, e->dom[0].kind);
}

static json_t *sum_json(const energy_sum *s, double window_s)
{
    bool net_ok = s->summed > 0 && s->no_idle == 0;
    json_t *o = json_pack("{s:o, s:o, s:o, s:o, s:i}", "gross_j",
                          s->summed ? json_real(s->gross) : json_null(), "idle_j",
                          net_ok ? json_real(s->idle) : json_null(), "net_j",
                          net_ok ? json_real(s->net) : json_null(), "avg_w",
                          s->summed ? json_real(s->gross / window_s) : json_null(), "domains",
                          s->summed);
    if (s->left_out[0])
        json_object_set_new(o, "left_out", json_string(s->left_out));
    return o;
}

static json_t *unavailable_json(const char *source, const char *why)
{
    return json_pack("{s:s?, s:s, s:s, s:n, s:n, s:n, s:n}", "source", source, "status",
                     "unavailable", "reason", why, "gross_j", "net_j", "net_j_per_token",
                     "avg_w");
}

static const char *method_text(const bb_energy *e)
{
    switch (e->source) {
    case BB_ENERGY_HWMON:
        return bb_hwmon_method(e);
    case BB_ENERGY_POWERCAP:
        return "RAPL energy_uj from powercap sysfs, read at both ends of the window and by a "
               "sampler thread often enough to undo wrap-around; net = gross - idle W x window";
    case BB_ENERGY_PERF:
        return "RAPL through the perf_event power PMU (64-bit counters, sysfs scale), one CPU "
               "per package; net = gross - idle W x window";
    default:
        return "RAPL through PAPI's energy component; net = gross - idle W x window";
    }
}

static json_t *headline_json(const bb_energy *e, double tokens, json_t *o)
{
    energy_sum h = sum_kinds(e, in_headline, e);
    json_t *kinds = json_array();
    for (int i = 0; i < e->n; i++) {
        bool seen = false;
        for (int j = 0; j < i; j++)
            seen = seen || same_kind(e->dom[j].kind, e->dom[i].kind);
        if (!seen && in_headline(e->dom[i].kind, e))
            json_array_append_new(kinds, json_string(e->dom[i].kind));
    }
    json_object_set_new(o, "headline_domains", kinds);
    if (h.summed == 0) {
        json_object_set_new(o, "status", json_string("unavailable"));
        json_object_set_new(o, "reason", json_string(h.left_out));
        return o;
    }
    bool net_ok = h.no_idle == 0;
    json_object_set_new(o, "status", json_string("measured"));
    json_object_set_new(o, "reason", json_null());
    json_object_set_new(o, "gross_j", json_real(h.gross));
    json_object_set_new(o, "idle_j", net_ok ? json_real(h.idle) : json_null());
    json_object_set_new(o, "net_j", net_ok ? json_real(h.net) : json_null());
    json_object_set_new(o, "net_j_per_token",
                        net_ok && tokens > 0 ? json_real(h.net / tokens) : json_null());
    json_object_set_new(o, "avg_w", json_real(h.gross / e->window_s));
    json_object_set_new(o, "idle_w", net_ok ? json_real(h.idle / e->window_s) : json_null());
    json_object_set_new(o, "net_w", net_ok ? json_real(h.net / e->window_s) : json_null());
    if (!net_ok)
        json_object_set_new(o, "net_reason", json_string(h.idle_why));
    else if (!(tokens > 0))
        json_object_set_new(o, "net_reason", json_string("tokens not given by the caller"));
    if (h.left_out[0])
        json_object_set_new(o, "left_out", json_string(h.left_out));
    return o;
}

json_t *bb_energy_json(const bb_energy *e, double tokens)
{
    if (!e)
        return unavailable_json(NULL, "energy not opened (out of memory)");
    if (!bb_energy_available(e))
        return unavailable_json(NULL, e->reason);
    const char *source = bb_energy_source_name(e->source);
    if (!(e->window_s > 0))
        return unavailable_json(source, "no window measured (bb_probe_begin/bb_probe_end)");
    json_t *o = json_pack("{s:s, s:s, s:f, s:o, s:f}", "source", source, "method",
                          method_text(e), "window_s", e->window_s, "idle_window_s",
                          e->idle_window_s > 0 ? json_real(e->idle_window_s) : json_null(),
                          "sample_period_s", e->sample_period_s);
    headline_json(e, tokens, o);
    json_t *domains = json_array(), *by_kind = json_object();
    for (int i = 0; i < e->n; i++) {
        json_array_append_new(domains, domain_json(e, &e->dom[i]));
        if (!json_object_get(by_kind, e->dom[i].kind)) {
            energy_sum s = sum_kinds(e, same_kind, e->dom[i].kind);
            json_object_set_new(by_kind, e->dom[i].kind, sum_json(&s, e->window_s));
        }
    }
    json_object_set_new(o, "domains", domains);
    json_object_set_new(o, "by_kind", by_kind);
    if (e->source == BB_ENERGY_HWMON)
        json_object_set_new(o, "hwmon", bb_hwmon_json(e));
    if (e->window_s < BB_ENERGY_MIN_WINDOW_S)
        json_object_set_new(o, "warning",
                            json_string("window shorter than 0.05 s: RAPL updates about every "
                                        "1 ms, so the joules carry a few percent of error"));
    return o;
}

json_t *bb_energy_describe(const bb_energy *e)
{
    if (!e)
        return json_pack("{s:s}", "reason", "out of memory");
    json_t *domains = json_array();
    for (int i = 0; i < e->n; i++) {
        const bb_energy_domain *d = &e->dom[i];
        json_array_append_new(
            domains, json_pack("{s:s, s:o, s:s, s:f, s:o, s:f, s:b}", "kind", d->kind, "socket",
                               d->socket < 0 ? json_null() : json_integer(d->socket), "where",
                               d->where, "joules_per_unit", d->joules_per_unit, "wrap_j",
                               d->range ? json_real((double)d->range * d->joules_per_unit)
                                        : json_null(),
                               "max_power_w", d->max_power_w, "max_power_assumed",
                               d->max_power_assumed));
        if (e->source == BB_ENERGY_HWMON)
            bb_hwmon_domain_json(d, json_array_get(domains, json_array_size(domains) - 1));
    }
    char hint[BB_REASON_LEN];
    json_t *o = json_pack("{s:s, s:s, s:s, s:s?, s:s?, s:s?, s:o, s:f, s:s, s:s}", "status",
                          bb_energy_available(e) ? "available" : "unavailable", "source",
                          bb_energy_source_name(e->source), "order",
                          "powercap sysfs, perf_event power PMU, PAPI rapl/powercap component, "
                          "hwmon energy counters or power sensors (last: RAPL is the package's "
                          "own counter; BITBENCH_ENERGY_SOURCE=NAME tries one alone)",
                          "reason", e->reason[0] ? e->reason : NULL, "not_used",
                          e->tried[0] && bb_energy_available(e) ? e->tried : NULL,
                          "domains_left_out", e->skipped[0] ? e->skipped : NULL, "domains",
                          domains, "sample_period_s", e->sample_period_s, "powercap_root",
                          e->powercap_root, "perf_sysfs_root", e->perf_root);
    json_object_set_new(o, "perf_access", json_string(bb_perf_permission_hint(true, hint,
                                                                               sizeof hint)));
    json_object_set_new(o, "hwmon_root", json_string(e->hwmon_root));
    json_object_set_new(o, "hwmon_access", json_string(bb_hwmon_access_hint()));
    json_object_set_new(o, "powercap_access",
                        json_string("energy_uj is root-only on Linux 5.10+: run as root, "
                                    "chmod a+r the energy_uj files, or a udev rule (see the "
                                    "reason text when access is denied)"));
    return o;
}
