/* harness/probe/energy.c - the energy core: backends tried in order (energy_powercap.c,
 * energy_perf.c, energy_papi.c, energy_hwmon.c), the wrap-around sampler, windows, idle
 * baseline and the JSON of every backend; see energy.h for the order and the domains. */
#include "energy.h"
#include "energy_backend.h"
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
char *bb_energy_shown(char *text)
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

/* ------------------------------------------------------------------ reading */

/* Reads every domain's raw counter into raw[] through the backend; a failed one gets its
 * error set. */
static void read_all(bb_energy *e, uint64_t *raw, char (*err)[BB_REASON_LEN])
{
    for (int i = 0; i < e->n; i++)
        err[i][0] = '\0';
    switch (e->source) {
    case BB_ENERGY_POWERCAP: bb_powercap_read(e, raw, err); break;
    case BB_ENERGY_PERF: bb_perf_energy_read(e, raw, err); break;
    case BB_ENERGY_PAPI: bb_papi_energy_read(e, raw, err); break;
    case BB_ENERGY_HWMON:
        for (int i = 0; i < e->n; i++)
            bb_hwmon_read(e, &e->dom[i], &raw[i], err[i], BB_REASON_LEN);
        break;
    default: break;
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
    if (e->source == BB_ENERGY_PERF)
        bb_perf_energy_release(e);
    bb_papi_energy_release(e);
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
    } backends[] = {{BB_ENERGY_POWERCAP, "powercap", bb_powercap_open},
                    {BB_ENERGY_PERF, "perf_event", bb_perf_energy_open},
                    {BB_ENERGY_PAPI, "papi", bb_papi_energy_open},
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
