/* harness/probe/probe.c - energy + counters + likwid marker around one region; see probe.h. */
#include "probe.h"
#include "../results/value.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef BB_HAVE_LIKWID
#include <likwid-marker.h>
#include <likwid.h>
#endif

struct bb_probe {
    bb_energy *energy;
    bb_counters *counters;
    bool likwid_active;  /* marker API initialised (running under likwid-perfctr -m) */
    const char *likwid_why; /* why not, when not */
    char region[128];
    bool in_region, have_region;
};

#ifdef BB_HAVE_LIKWID
/* likwid's marker init prints "Running without Marker API" unless likwid-perfctr set up
 * its environment, so initialise only when all of it is there. */
static bool under_likwid_perfctr(void)
{
    return getenv("LIKWID_MODE") && getenv("LIKWID_FILEPATH") && getenv("LIKWID_EVENTS") &&
           getenv("LIKWID_THREADS");
}

/* This likwid's name for the CPU ("unknown" when it has no performance groups for it, and
 * likwid-perfctr refuses to measure). */
static bool likwid_knows_cpu(char *name, size_t len)
{
    bb_fmt(name, len, "?");
    if (topology_init() != 0)
        return false;
    CpuInfo_t info = get_cpuInfo();
    bool known = info && info->short_name && strcmp(info->short_name, "unknown") != 0;
    if (info && info->name)
        bb_fmt(name, len, "%s (%s)", info->name, info->short_name ? info->short_name : "?");
    topology_finalize();
    return known;
}
#endif

bb_probe *bb_probe_open_with(const char *events, const bb_energy_opts *energy,
                             const bb_counters_opts *counters)
{
    bb_probe *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->energy = bb_energy_open(energy);
    p->counters = bb_counters_open(events, counters);
#ifdef BB_HAVE_LIKWID
    char cpu[160];
    if (!under_likwid_perfctr()) {
        p->likwid_why = "not running under likwid-perfctr -m";
    } else if (!likwid_knows_cpu(cpu, sizeof cpu)) {
        /* likwid's init would print errors about an unsupported processor and measure
         * nothing: report it instead. */
        p->likwid_why = "this likwid does not know the CPU: no marker regions";
    } else {
        LIKWID_MARKER_INIT;
        p->likwid_active = true;
    }
#else
    p->likwid_why = "built without likwid (likwid-marker.h not found at build time)";
#endif
    return p;
}

bb_probe *bb_probe_open(const char *events)
{
    return bb_probe_open_with(events, NULL, NULL);
}

void bb_probe_close(bb_probe *p)
{
    if (!p)
        return;
    if (p->in_region)
        bb_probe_end(p);
#ifdef BB_HAVE_LIKWID
    if (p->likwid_active)
        LIKWID_MARKER_CLOSE;
#endif
    bb_energy_close(p->energy);
    bb_counters_close(p->counters);
    free(p);
}

double bb_probe_min_window_s(const bb_probe *p)
{
    return p && bb_energy_available(p->energy) ? BB_ENERGY_MIN_WINDOW_S : 0.0;
}

void bb_probe_idle(bb_probe *p, double seconds)
{
    if (p && !p->in_region)
        bb_energy_idle(p->energy, seconds);
}

void bb_probe_begin(bb_probe *p, const char *region)
{
    if (!p || p->in_region)
        return;
    snprintf(p->region, sizeof p->region, "%s", region ? region : "region");
#ifdef BB_HAVE_LIKWID
    if (p->likwid_active)
        LIKWID_MARKER_REGISTER(p->region);
#endif
    bb_energy_begin(p->energy);
    bb_counters_start(p->counters);
#ifdef BB_HAVE_LIKWID
    if (p->likwid_active)
        LIKWID_MARKER_START(p->region);
#endif
    p->in_region = true;
}

void bb_probe_end(bb_probe *p)
{
    if (!p || !p->in_region)
        return;
#ifdef BB_HAVE_LIKWID
    if (p->likwid_active)
        LIKWID_MARKER_STOP(p->region);
#endif
    bb_counters_stop(p->counters);
    bb_energy_end(p->energy);
    p->in_region = false;
    p->have_region = true;
}

static json_t *likwid_json(const bb_probe *p)
{
    if (p->likwid_active)
        return json_pack("{s:s, s:s}", "status", "marker regions active", "region", p->region);
    return json_pack("{s:s, s:s}", "status", "inactive", "reason", p->likwid_why);
}

json_t *bb_probe_result(bb_probe *p, double calls, double tokens, double weight_bytes)
{
    if (!p)
        return json_pack("{s:o, s:o}", "energy", bb_value_unavailable("probe not opened (out of memory)"),
                         "counters", bb_value_unavailable("probe not opened (out of memory)"));
    json_t *energy = bb_energy_json(p->energy, tokens);
    json_t *counters = bb_counters_json(p->counters, tokens, calls * weight_bytes);
    if (!p->have_region) {
        json_object_set_new(energy, "status", json_string("unavailable"));
        json_object_set_new(energy, "reason", json_string("no region measured yet"));
    }
    json_object_set_new(counters, "likwid", likwid_json(p));
    return json_pack("{s:o, s:o}", "energy", energy, "counters", counters);
}

static json_t *likwid_describe(const bb_probe *p)
{
#ifdef BB_HAVE_LIKWID
    char cpu[160];
    bool known = likwid_knows_cpu(cpu, sizeof cpu);
    json_t *o = json_pack("{s:b, s:b, s:b, s:s}", "built_in", 1, "marker_active",
                          p->likwid_active, "cpu_supported", known, "cpu", cpu);
    if (!known)
        json_object_set_new(o, "reason",
                            json_string("this likwid does not know the CPU (no performance "
                                        "groups): likwid-perfctr refuses to measure here; the "
                                        "marker calls stay compiled in and do nothing"));
    else if (!p->likwid_active)
        json_object_set_new(o, "reason", json_string(p->likwid_why));
    return o;
#else
    return json_pack("{s:b, s:s}", "built_in", 0, "reason", p->likwid_why);
#endif
}

json_t *bb_probe_describe(bb_probe *p)
{
    if (!p)
        return json_pack("{s:s}", "reason", "probe not opened (out of memory)");
    return json_pack("{s:o, s:o, s:o}", "energy", bb_energy_describe(p->energy), "counters",
                     bb_counters_describe(p->counters), "likwid", likwid_describe(p));
}
