/* harness/probe/energy_papi.c - the RAPL backend through PAPI's rapl or powercap component
 * (energy.h); without PAPI at build time it says so. */
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

#ifdef BB_HAVE_PAPI
#include <papi.h>
#endif

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

bool bb_papi_energy_open(bb_energy *e, char *why, size_t len)
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
        bb_energy_append(why, len, one);
    }
    return false;
#else
    return false;
#endif
}

void bb_papi_energy_read(bb_energy *e, uint64_t *raw, char (*err)[BB_REASON_LEN])
{
#ifdef BB_HAVE_PAPI
    long long values[BB_ENERGY_MAX_DOMAINS];
    int ret = PAPI_read(e->papi_set, values);
    for (int i = 0; i < e->n; i++) {
        if (ret == PAPI_OK)
            raw[i] = (uint64_t)values[i];
        else
            bb_fmt(err[i], BB_REASON_LEN, "PAPI_read: %s", PAPI_strerror(ret));
    }
#else
    (void)e, (void)raw, (void)err;
#endif
}

void bb_papi_energy_release(bb_energy *e)
{
#ifdef BB_HAVE_PAPI
    if (e->papi_set >= 0) {
        PAPI_stop(e->papi_set, NULL);
        PAPI_cleanup_eventset(e->papi_set);
        PAPI_destroy_eventset(&e->papi_set);
    }
#endif
    e->papi_set = -1;
}
