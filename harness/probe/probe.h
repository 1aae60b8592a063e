/*
 * harness/probe/probe.h - one object that measures a timed region: RAPL energy (energy.h),
 * event counts (counters.h) and a likwid marker region, each labelled measured or
 * "unavailable" with the reason.  Nothing here fails: a missing backend is recorded.
 *
 * Use, per process and per result row:
 *
 *   bb_probe *p = bb_probe_open(NULL);              // before starting worker threads
 *   ...per row:
 *   double win = bb_probe_min_window_s(p);          // 0.05 s when energy is measurable, else 0
 *   // choose `calls` so that the timed region lasts >= win
 *   bb_probe_idle(p, expected_region_seconds);      // idle baseline right before the row
 *   bb_probe_begin(p, "tern2/7B/n1");               // exactly around the timed region
 *   for (i = 0; i < calls; i++) decode_step(...);
 *   bb_probe_end(p);
 *   json_t *r = bb_probe_result(p, calls, calls * batch, weight_bytes_per_call);
 *   json_object_update(row, r); json_decref(r);     // fills "energy" and "counters"
 *   ...
 *   bb_probe_close(p);
 *
 * Environment: BITBENCH_EVENTS (event list, see counters.h), BITBENCH_POWERCAP_ROOT and
 * BITBENCH_PERF_SYSFS_ROOT (sysfs roots, for fake trees: scripts/fake-powercap.sh).
 *
 * likwid (built with -DBB_HAVE_LIKWID -DLIKWID_PERFMON): begin/end are a marker region of
 * the given name (no spaces), so `likwid-perfctr -C 0 -m -g MEM ./build/bitbench ...` shows
 * one region per row.  The marker API is initialised only when the process runs under
 * likwid-perfctr -m (its LIKWID_* environment is set) and likwid knows the CPU: otherwise
 * likwid's init prints "Running without Marker API" on every run, or "Unsupported
 * Processor" errors.  counters.likwid says which.  Regions cover the calling thread.
 */
#ifndef BITBENCH_PROBE_H
#define BITBENCH_PROBE_H

#include "counters.h"
#include "energy.h"

#include <jansson.h>

typedef struct bb_probe bb_probe;

/* events: comma list, or NULL for BITBENCH_EVENTS, else the default (see counters.h).
 * Never NULL except when out of memory; every function below accepts NULL. */
bb_probe *bb_probe_open(const char *events);
/* The same with explicit options for both halves (tests; either may be NULL). */
bb_probe *bb_probe_open_with(const char *events, const bb_energy_opts *energy,
                             const bb_counters_opts *counters);
void bb_probe_close(bb_probe *p);

/* 0.05 s when energy can be measured (the shortest window RAPL gives reliably), else 0. */
double bb_probe_min_window_s(const bb_probe *p);
/* The idle baseline: sleeps `seconds` (use the row's expected window) and records the idle
 * power of every energy domain; the next results subtract it.  No-op without energy. */
void bb_probe_idle(bb_probe *p, double seconds);

/* Around exactly the timed region.  begin: likwid region registered, energy window opened,
 * counters started, likwid region started (innermost, so that counters and likwid see
 * the least of the energy reads); end in the reverse order. */
void bb_probe_begin(bb_probe *p, const char *region);
void bb_probe_end(bb_probe *p);

/* The last region, as {"energy": {...}, "counters": {...}} (the row's slots of the same
 * names in harness/results/SCHEMA.md; the likwid marker's state is counters.likwid).
 *   calls        kernel calls (e.g. decode steps) in the region;
 *   tokens       tokens those calls produced (calls x batch);
 *   weight_bytes weight bytes ONE call streams (the region read calls x weight_bytes).
 * energy:   "source" (powercap | perf_event | papi | hwmon | null), "status" (measured |
 *           unavailable), "reason" (null when measured), "window_s", "idle_window_s",
 *           "headline_domains" (package+dram, else psys), "gross_j", "idle_j", "net_j",
 *           "net_j_per_token", "avg_w", "idle_w", "net_w" (null with "net_reason" when no
 *           idle baseline), "domains" (one per domain and socket: gross/idle/net, wraps),
 *           "by_kind" (per kind summed over sockets), "method", "sample_period_s".
 * counters: see bb_counters_json (per event status/value/reason; derived IPC, instructions
 *           per token and per weight byte, LLC misses per KB of weights), plus "likwid":
 *           {"status": "marker regions active" | "inactive" | "unavailable", ...}.
 * The caller owns the returned object. */
json_t *bb_probe_result(bb_probe *p, double calls, double tokens, double weight_bytes);

/* For `bitbench info`: {"energy": backends tried, domains, access hints; "counters": PAPI
 * and perf_event, which default events can be added; "likwid": built in, CPU known,
 * marker active}. */
json_t *bb_probe_describe(bb_probe *p);

#endif
