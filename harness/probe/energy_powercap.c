/* harness/probe/energy_powercap.c - the RAPL backend through powercap sysfs (intel-rapl zones,
 * also AMD's): zones, their counters and limits (energy.h). */
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
    int ret = bb_energy_read_file(e, path, text, sizeof text);
    if (ret == -EACCES || ret == -EPERM) {
        powercap_permission_reason(e, path, why, len);
        return -1;
    }
    if (ret < 0) {
        bb_fmt(why, len, "%s: cannot read: %s", path, strerror(-ret));
        return -1;
    }
    if (!bb_energy_parse_u64(text, value)) {
        bb_fmt(why, len, "%s holds '%s', expected an unsigned integer", path, bb_energy_shown(text));
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
        if (bb_energy_read_file(e, path, text, sizeof text) == 0 && bb_energy_parse_u64(text, &uw) &&
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
    if (bb_energy_read_file(e, path, text, sizeof text) < 0) {
        bb_fmt(why, len, "%s: no readable name", dir);
        return false;
    }
    bb_energy_domain *d = &e->dom[e->n];
    memset(d, 0, sizeof *d);
    zone_kind(bb_energy_shown(text), d->kind, sizeof d->kind, &d->socket);
    if (parts == 2) { /* a subzone belongs to its parent zone's socket */
        char pname[128];
        bb_fmt(path, sizeof path, "%s/intel-rapl:%u/name", e->powercap_root, parent);
        char pkind[24];
        if (bb_energy_read_file(e, path, pname, sizeof pname) == 0)
            zone_kind(bb_energy_shown(pname), pkind, sizeof pkind, &d->socket);
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

bool bb_powercap_open(bb_energy *e, char *why, size_t len)
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
            bb_energy_append(e->skipped, sizeof e->skipped, zone_why);
        free(list[i]);
    }
    free(list);
    if (count == 0)
        bb_fmt(why, len, "%s has no intel-rapl:* zones", e->powercap_root);
    else if (e->n == 0)
        bb_fmt(why, len, "%s", e->skipped);
    return e->n > 0;
}

void bb_powercap_read(bb_energy *e, uint64_t *raw, char (*err)[BB_REASON_LEN])
{
    for (int i = 0; i < e->n; i++)
        read_counter_file(e, e->dom[i].where, &raw[i], err[i], BB_REASON_LEN);
}
