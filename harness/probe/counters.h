/*
 * harness/probe/counters.h - event counts (instructions, cycles, LLC misses, ...) over one timed
 * region, each event measured or "unavailable" with the reason, never a made-up 0.
 *
 * Backends, tried per event in this order:
 *   1. PAPI's low-level API (when built with -DBB_HAVE_PAPI): one event set holding every
 *      event PAPI can add; an event it cannot add keeps PAPI's own reason
 *      (PAPI_strerror, plus the component's disabled_reason when the component is off).
 *   2. perf_event_open(2) directly, for the generic events in the alias table below, when
 *      PAPI cannot add them.  Needed on VMs without a PMU: there libpfm4 finds no default
 *      PMU, PAPI disables its perf_event component and offers no event at all, not even the
 *      kernel's software events, which perf_event_open still counts.
 *
 * Event names (case-insensitive), as a comma list:
 *   instructions, cycles, llc-misses   aliases: PAPI_TOT_INS / PAPI_TOT_CYC / PAPI_L3_TCM
 *                                      (then LLC_MISSES, perf::CACHE-MISSES) through PAPI,
 *                                      else the perf generic hardware event;
 *   perf::TASK-CLOCK, perf::PAGE-FAULTS, perf::CONTEXT-SWITCHES, perf::CPU-MIGRATIONS
 *                                      the kernel's software events (PAPI or perf);
 *   anything else                      passed to PAPI as a preset or native name.
 * Default (events NULL): BITBENCH_EVENTS if set, else instructions,cycles,llc-misses, plus
 * the four software events when any of those three hardware events is unavailable.
 *
 * Scope: the thread that calls bb_counters_open/start/stop, plus threads it creates after
 * bb_counters_open (perf "inherit"; PAPI_INHERIT when PAPI accepts it).  Open the counters
 * before starting worker threads; the JSON states the scope that was obtained.
 */
#ifndef BITBENCH_COUNTERS_H
#define BITBENCH_COUNTERS_H

#include "../base/fmt.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct perf_event_attr;

#define BB_COUNTERS_MAX 16
#define BB_REASON_LEN 512

/* The perf_event system calls, replaceable so that tests drive every path (a PMU that is
 * missing, a counter that returns chosen values) on any machine.  Each returns >= 0 on
 * success or -errno. */
typedef struct bb_perf_ops {
    int (*open)(struct perf_event_attr *attr, pid_t pid, int cpu, void *ctx); /* an fd */
    int (*read)(int fd, uint64_t *values, size_t n, void *ctx); /* n u64 from the fd */
    int (*ioctl)(int fd, unsigned long request, void *ctx);     /* PERF_EVENT_IOC_* */
    void (*close)(int fd, void *ctx);
    void *ctx;
} bb_perf_ops;
extern const bb_perf_ops bb_perf_syscalls; /* the real ones */

/* How to grant perf_event access, with the current kernel.perf_event_paranoid value,
 * e.g. for system-wide events ("cpu-wide") or per-process ones.  Returns buf. */
const char *bb_perf_permission_hint(bool system_wide, char *buf, size_t len);

/* PAPI, initialised once per process.  Returns true when usable; otherwise why (when
 * why != NULL).  Always false without -DBB_HAVE_PAPI. */
bool bb_papi_ready(char *why, size_t len);

typedef enum {
    BB_ROLE_OTHER,
    BB_ROLE_INSTRUCTIONS,
    BB_ROLE_CYCLES,
    BB_ROLE_LLC_MISSES,
} bb_counter_role;

typedef struct bb_counter_event {
    char name[64];       /* as requested */
    bb_counter_role role;
    const char *backend; /* "papi" or "perf_event"; NULL when unavailable */
    char backend_name[64]; /* the name the backend knows it by ("PAPI_TOT_INS") */
    const char *unit;    /* "count" or "ns" */
    char reason[BB_REASON_LEN]; /* why unavailable ("" when available) */
    /* private to counters.c */
    int papi_slot; /* index in the PAPI event set, -1 if not there */
    int fd;        /* perf fd, -1 if none */
    bool measured;
    double value;  /* after stop, when measured */
    double running_fraction; /* perf: time running / enabled (< 1: multiplexed, scaled) */
} bb_counter_event;

typedef struct bb_counters_opts {
    bool no_papi;            /* skip PAPI (tests; or to compare with perf directly) */
    const bb_perf_ops *perf; /* NULL: bb_perf_syscalls */
} bb_counters_opts;

typedef struct bb_counters {
    bb_counter_event ev[BB_COUNTERS_MAX];
    int n;
    char list_note[BB_REASON_LEN]; /* e.g. names dropped beyond BB_COUNTERS_MAX */
    char scope[240];
    bb_perf_ops perf;
    int papi_set;  /* PAPI event set, or -1 */
    int papi_count;
    bool papi_inherit; /* PAPI accepted PAPI_INHERIT for the set */
    bool running;
    char run_error[BB_REASON_LEN]; /* start/stop failed for the whole PAPI set: why */
} bb_counters;

/* Opens the events of a comma list (NULL: the default above).  Never fails except for
 * memory (NULL); every event is there, available or with its reason.  opts may be NULL. */
bb_counters *bb_counters_open(const char *events, const bb_counters_opts *opts);
void bb_counters_close(bb_counters *c);
void bb_counters_start(bb_counters *c); /* reset and start every available event */
void bb_counters_stop(bb_counters *c);  /* stop and read */

/* The last region's counts:
 *   {"scope": ..., "events": {name: {"status": "measured"|"unavailable", "value": n|null,
 *    "unit", "backend", "backend_name", "reason"}}, "derived": {"ipc", "instructions_per_token",
 *    "instructions_per_weight_byte", "llc_misses_per_kb_weights": {"status": "derived"|"unavailable",
 *    "value": x|null, "formula"|"reason"}}}
 * tokens: tokens produced in the region; weight_bytes_streamed: weight bytes the region read
 * (calls x bytes per call).  A non-positive tokens or bytes gives null with a reason. */
json_t *bb_counters_json(const bb_counters *c, double tokens, double weight_bytes_streamed);

/* For `bitbench info`: each backend (usable or why not) and which events could be added. */
json_t *bb_counters_describe(const bb_counters *c);

/* The list of event names used when events == NULL and BITBENCH_EVENTS is unset. */
extern const char bb_counters_default_events[];

#endif
