/*
 * harness/probe/energy.h - measured energy (RAPL) over a window, with an idle baseline.
 *
 * Backends, tried in this order; the first that has at least one readable domain whose
 * counter advances is used, and why each earlier one was not is kept:
 *   1. powercap sysfs: <root>/intel-rapl:* zones (AMD's RAPL driver uses the same names),
 *      root = opts.powercap_root, else env BITBENCH_POWERCAP_ROOT, else /sys/class/powercap.
 *      Each zone's energy_uj (microjoules) wraps to 0 after max_energy_range_uj; a sampler
 *      thread reads every domain at least 4 times per wrap period (the period is the
 *      range divided by the zone's max power, constraint_*_max_power_uw, or 1000 W when the
 *      zone does not say), so that at most one wrap falls between two readings.
 *      intel-rapl-mmio:* zones repeat the package domain and are skipped.
 *   2. perf_event power PMU: <root>/power/events/energy-{pkg,cores,ram,gpu,psys} with .scale
 *      and .unit, system-wide, on each CPU of <root>/power/cpumask (one per package);
 *      root = opts.perf_root, else env BITBENCH_PERF_SYSFS_ROOT, else
 *      /sys/bus/event_source/devices.  The kernel extends these counters to 64 bits.
 *   3. PAPI's rapl component (PACKAGE/DRAM/PP0/PP1/PSYS_ENERGY, nJ) or powercap component
 *      (ENERGY_UJ:ZONEn, which reads the same sysfs files as backend 1).
 *   4. hwmon: Linux hardware-monitoring sensors (energy_hwmon.c), for machines without RAPL
 *      (ARM servers and boards; AMD Zen through amd_energy/zenergy): energy counters
 *      (energyN_input, uJ) when any chip has them, else power sensors (powerN_input or
 *      powerN_average, uW) integrated over the window by the trapezoid rule over readings
 *      taken every BB_HWMON_POWER_PERIOD_S by the sampler thread.  root = opts.hwmon_root,
 *      else env BITBENCH_HWMON_ROOT, else /sys/class/hwmon.  Last because where RAPL exists
 *      it is the package's own counter, and a hwmon sensor on such a machine is often
 *      something else (a BMC's whole-system power meter averaged over a second, a GPU).
 * Env BITBENCH_ENERGY_SOURCE=powercap|perf_event|papi|hwmon tries that backend alone.
 * A backend whose counters do not advance within opts.liveness_s (a VM may expose the power
 * PMU without RAPL behind it: it opens and reads 0 forever) counts as unavailable; a power
 * sensor counts as advancing when it reads more than 0 W (its integral then moves).
 *
 * Domains: kind "package", "core", "uncore", "dram", "psys" (or "zoneN[_subzoneM]" from
 * PAPI's powercap component), one per socket where the hardware has one per socket.  The
 * headline figure sums package and dram over sockets; psys when there is no package
 * domain (psys covers the package; core and uncore lie inside it).
 *
 * Windows shorter than BB_ENERGY_MIN_WINDOW_S are unreliable (RAPL updates about every
 * millisecond): the caller batches repetitions so that a window lasts at least that long.
 */
#ifndef BITBENCH_ENERGY_H
#define BITBENCH_ENERGY_H

#include "counters.h"

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define BB_ENERGY_MAX_DOMAINS 32
#define BB_ENERGY_MIN_WINDOW_S 0.05
#define BB_ENERGY_ASSUMED_MAX_POWER_W 1000.0

typedef enum {
    BB_ENERGY_NONE,
    BB_ENERGY_POWERCAP,
    BB_ENERGY_PERF,
    BB_ENERGY_PAPI,
    BB_ENERGY_HWMON,
} bb_energy_source;

/* The trapezoid rule over timed power readings (hwmon power sensors; energy_hwmon.c).
 * bound_j: the largest error of the integral if the power between two consecutive readings
 * stays between their two values (true when it changes at most once, or monotonically,
 * between readings): sum of |P[i+1] - P[i]| x (t[i+1] - t[i]) / 2. */
typedef struct bb_power_integral {
    double last_t, last_w; /* the latest reading (s, W) */
    double joules, bound_j;
    double min_w, max_w;
    unsigned long readings;
} bb_power_integral;

typedef struct bb_energy_opts {
    const char *powercap_root; /* NULL: env, then default (see above) */
    const char *perf_root;     /* NULL: env, then default */
    const char *hwmon_root;    /* NULL: env BITBENCH_HWMON_ROOT, then /sys/class/hwmon */
    double liveness_s;         /* wait this long for a counter to move; < 0: 0.25 s; 0: skip */
    double sample_period_s;    /* > 0: sample this often instead of the wrap-derived period */
    bool no_sampler_thread;    /* tests call bb_energy_sample themselves */
    bool no_papi;
    /* Test hooks; NULL: the real ones.  open_file returns an fd or -errno. */
    int (*open_file)(const char *path, void *ctx);
    void *open_ctx;
    const bb_perf_ops *perf;
} bb_energy_opts;

typedef struct bb_energy_domain {
    char kind[24];
    int socket;          /* package index; -1 for platform-wide domains (psys) */
    char where[320];     /* the energy_uj file, perf event or PAPI event read */
    double joules_per_unit;
    uint64_t range;      /* the counter wraps to 0 after this many units; 0: never */
    double max_power_w;  /* sets the sampling period */
    bool max_power_assumed;
    /* Window state, private to energy.c (under the lock while the sampler runs). */
    int fd;
    uint64_t last;
    uint64_t units;      /* units counted this window, wraps undone */
    unsigned wraps;
    char error[BB_REASON_LEN]; /* a reading failed in this window: why */
    /* hwmon: the sensor ("<chip> <label>") and, for a power sensor, its integral. */
    char sensor[64];
    bool integrated;     /* a power sensor (uW readings) integrated over time */
    char current_where[320]; /* power = where (mV) x this file (mA), when a chip has no
                              * power attribute (INA3221); "" otherwise */
    bb_power_integral power;
    /* Results of the last window and of the idle baseline. */
    double joules;       /* NAN when error[0] */
    double idle_w;       /* NAN until measured */
    char idle_error[BB_REASON_LEN];
} bb_energy_domain;

typedef struct bb_energy {
    bb_energy_source source;
    char reason[4 * BB_REASON_LEN]; /* why no backend works ("" when one does) */
    char tried[4 * BB_REASON_LEN];  /* what each earlier backend said */
    char skipped[2 * BB_REASON_LEN]; /* domains of the used backend left out, and why */
    bb_energy_domain dom[BB_ENERGY_MAX_DOMAINS];
    int n;
    double sample_period_s;
    double window_s;      /* last window, CLOCK_MONOTONIC */
    double idle_window_s; /* 0 until bb_energy_idle ran */
    unsigned long samples; /* sampler readings taken (all windows) */
    bb_energy_opts opts;
    char powercap_root[256], perf_root[256], hwmon_root[256];
    /* sampler thread */
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool thread_running, stop;
    double t0;
    double t_end; /* set by bb_energy_end before the sampler stops; 0 while a window runs */
    double t0_unix; /* the window's start on CLOCK_REALTIME, to align external power logs */
    int papi_set;
} bb_energy;

/* Never NULL except out of memory; opts may be NULL. */
bb_energy *bb_energy_open(const bb_energy_opts *opts);
void bb_energy_close(bb_energy *e);
static inline bool bb_energy_available(const bb_energy *e)
{
    return e && e->source != BB_ENERGY_NONE;
}
const char *bb_energy_source_name(bb_energy_source s); /* "powercap", ..., "hwmon"; "none" */

/* A window: begin reads every domain and starts the sampler thread; end reads again,
 * stops it and sets each domain's joules (or error) and window_s. */
void bb_energy_begin(bb_energy *e);
void bb_energy_sample(bb_energy *e); /* one reading of every domain (the sampler's tick) */
void bb_energy_end(bb_energy *e);
/* The idle baseline: a window of `seconds` spent sleeping; sets each domain's idle_w. */
void bb_energy_idle(bb_energy *e, double seconds);

/* The last window as JSON (see bb_probe_result in probe.h for the layout). */
json_t *bb_energy_json(const bb_energy *e, double tokens);
/* For `bitbench info`: every backend tried, the domains, the access hints. */
json_t *bb_energy_describe(const bb_energy *e);

/* ---- pieces exposed for the tests ---- */
/* Units counted from prev to now on a counter that wraps to 0 after `range` units
 * (range 0: a 64-bit counter that never wraps).  False when the readings cannot come from
 * such a counter (above the range, or backwards without a range). */
bool bb_energy_wrap_delta(uint64_t prev, uint64_t now, uint64_t range, uint64_t *delta);
/* A quarter of the wrap period range_j / max_power_w, in seconds. */
double bb_energy_sample_period(double range_j, double max_power_w);
/* Parses a sysfs integer file's text ("123\n"); false on anything else. */
bool bb_energy_parse_u64(const char *text, uint64_t *out);
/* Reads a perf PMU event: <pmu_dir>/events/<event> ("event=0x02,umask=0x1") placed into
 * the config bits its <pmu_dir>/format/<term> files give ("config:0-7"), and .scale/.unit
 * (the unit must be Joules).  False with why on failure. */
bool bb_perf_parse_event(const char *pmu_dir, const char *event, uint64_t *config,
                         double *scale, char *why, size_t len);

#endif
