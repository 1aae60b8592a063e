/* harness/probe/energy_perf.c - the RAPL backend through the perf_event power PMU
 * (power/energy-pkg ...): event parsing, one fd per domain and CPU (energy.h). */
#include "energy_backend.h"

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
#include <unistd.h>

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
        bb_fmt(why, len, "%s holds '%s', expected config:lo-hi", path, bb_energy_shown(text));
        return false;
    }
    uint64_t width_mask = hi - lo == 63 ? UINT64_MAX : ((1ull << (hi - lo + 1)) - 1);
    if (value & ~width_mask) {
        bb_fmt(why, len, "%s=%#" PRIx64 " does not fit %s", term, value, bb_energy_shown(text));
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
    for (char *t = strtok_r(bb_energy_shown(text), ",", &save); t; t = strtok_r(NULL, ",", &save)) {
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
        bb_fmt(why, len, "%s holds '%s', expected a positive number", path, bb_energy_shown(text));
        return false;
    }
    bb_fmt(path, sizeof path, "%s/events/%s.unit", pmu_dir, event);
    if (!read_text(path, text, sizeof text) || strcmp(bb_energy_shown(text), "Joules") != 0) {
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

bool bb_perf_energy_open(bb_energy *e, char *why, size_t len)
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
            bb_energy_append(e->skipped, sizeof e->skipped, ev_why);
        free(list[i]);
    }
    free(list);
    if (e->n == 0)
        bb_fmt(why, len, "%s", e->skipped);
    return e->n > 0;
}

void bb_perf_energy_read(bb_energy *e, uint64_t *raw, char (*err)[BB_REASON_LEN])
{
    for (int i = 0; i < e->n; i++) {
        bb_energy_domain *d = &e->dom[i];
        int ret = e->opts.perf->read(d->fd, &raw[i], 1, e->opts.perf->ctx);
        if (ret < 0)
            bb_fmt(err[i], BB_REASON_LEN, "reading %s: %s", d->where, strerror(-ret));
    }
}

void bb_perf_energy_release(bb_energy *e)
{
    for (int i = 0; i < e->n; i++)
        if (e->dom[i].fd >= 0)
            e->opts.perf->close(e->dom[i].fd, e->opts.perf->ctx);
}
