/* harness/probe/counters.c - PAPI event sets with a perf_event_open fallback; see counters.h. */
#include "counters.h"
#include "../results/value.h"

#include <ctype.h>
#include <errno.h>
#include <linux/perf_event.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifdef BB_HAVE_PAPI
#include <papi.h>
#endif

const char bb_counters_default_events[] = "instructions,cycles,llc-misses";
static const char software_events[] =
    "perf::TASK-CLOCK,perf::PAGE-FAULTS,perf::CONTEXT-SWITCHES,perf::CPU-MIGRATIONS";

/* ------------------------------------------------------------------ perf_event syscalls */

static int sys_perf_open(struct perf_event_attr *attr, pid_t pid, int cpu, void *ctx)
{
    (void)ctx;
    long fd = syscall(SYS_perf_event_open, attr, pid, cpu, -1, 0UL);
    return fd < 0 ? -errno : (int)fd;
}

static int sys_perf_read(int fd, uint64_t *values, size_t n, void *ctx)
{
    (void)ctx;
    ssize_t got = read(fd, values, n * sizeof *values);
    if (got < 0)
        return -errno;
    return (size_t)got == n * sizeof *values ? 0 : -EIO;
}

static int sys_perf_ioctl(int fd, unsigned long request, void *ctx)
{
    (void)ctx;
    return ioctl(fd, request, 0) < 0 ? -errno : 0;
}

static void sys_perf_close(int fd, void *ctx)
{
    (void)ctx;
    close(fd);
}

const bb_perf_ops bb_perf_syscalls = {
    .open = sys_perf_open, .read = sys_perf_read, .ioctl = sys_perf_ioctl, .close = sys_perf_close,
};

const char *bb_perf_permission_hint(bool system_wide, char *buf, size_t len)
{
    int paranoid = -99;
    FILE *f = fopen("/proc/sys/kernel/perf_event_paranoid", "r");
    if (f) {
        if (fscanf(f, "%d", &paranoid) != 1)
            paranoid = -99;
        fclose(f);
    }
    char now[48] = "unreadable";
    if (paranoid != -99)
        bb_fmt(now, sizeof now, "%d", paranoid);
    if (system_wide)
        bb_fmt(buf, len,
                 "kernel.perf_event_paranoid is %s; system-wide events need root, CAP_PERFMON "
                 "(sudo setcap cap_perfmon+ep build/bitbench) or "
                 "sudo sysctl -w kernel.perf_event_paranoid=0", now);
    else
        bb_fmt(buf, len,
                 "kernel.perf_event_paranoid is %s; counting this process needs <= 2 "
                 "(sudo sysctl -w kernel.perf_event_paranoid=2), root or CAP_PERFMON", now);
    return buf;
}

/* ------------------------------------------------------------------ PAPI */

bool bb_papi_ready(char *why, size_t len)
{
#ifdef BB_HAVE_PAPI
    static int state; /* 0 untried, 1 ready, -1 failed */
    static char failure[BB_REASON_LEN];
    if (state == 0) {
        int ret = PAPI_library_init(PAPI_VER_CURRENT);
        if (ret == PAPI_VER_CURRENT) {
            state = 1;
        } else {
            state = -1;
            bb_fmt(failure, sizeof failure, "PAPI_library_init: %s",
                     ret > 0 ? "header and library versions differ" : PAPI_strerror(ret));
        }
    }
    if (state < 0 && why)
        bb_fmt(why, len, "%s", failure);
    return state > 0;
#else
    if (why)
        bb_fmt(why, len, "built without PAPI (pkg-config papi not found at build time)");
    return false;
#endif
}

/* ------------------------------------------------------------------ event names */

typedef struct event_alias {
    const char *names[3]; /* what a user may write for it */
    const char *papi[3];  /* PAPI names to try, in order */
    bb_counter_role role;
    uint32_t perf_type;
    uint64_t perf_config;
    const char *unit;
} event_alias;

static const event_alias aliases[] = {
    {{"instructions", "PAPI_TOT_INS", "perf::INSTRUCTIONS"}, {"PAPI_TOT_INS", "perf::INSTRUCTIONS"},
     BB_ROLE_INSTRUCTIONS, PERF_TYPE_HARDWARE, PERF_COUNT_HW_INSTRUCTIONS, "count"},
    {{"cycles", "PAPI_TOT_CYC", "perf::CYCLES"}, {"PAPI_TOT_CYC", "perf::CYCLES"},
     BB_ROLE_CYCLES, PERF_TYPE_HARDWARE, PERF_COUNT_HW_CPU_CYCLES, "count"},
    {{"llc-misses", "PAPI_L3_TCM", "perf::CACHE-MISSES"},
     {"PAPI_L3_TCM", "LLC_MISSES", "perf::CACHE-MISSES"},
     BB_ROLE_LLC_MISSES, PERF_TYPE_HARDWARE, PERF_COUNT_HW_CACHE_MISSES, "count"},
    {{"perf::TASK-CLOCK", "task-clock"}, {"perf::TASK-CLOCK"},
     BB_ROLE_OTHER, PERF_TYPE_SOFTWARE, PERF_COUNT_SW_TASK_CLOCK, "ns"},
    {{"perf::PAGE-FAULTS", "page-faults"}, {"perf::PAGE-FAULTS"},
     BB_ROLE_OTHER, PERF_TYPE_SOFTWARE, PERF_COUNT_SW_PAGE_FAULTS, "count"},
    {{"perf::CONTEXT-SWITCHES", "context-switches"}, {"perf::CONTEXT-SWITCHES"},
     BB_ROLE_OTHER, PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CONTEXT_SWITCHES, "count"},
    {{"perf::CPU-MIGRATIONS", "cpu-migrations"}, {"perf::CPU-MIGRATIONS"},
     BB_ROLE_OTHER, PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CPU_MIGRATIONS, "count"},
};

static const event_alias *find_alias(const char *name)
{
    for (size_t a = 0; a < sizeof aliases / sizeof aliases[0]; a++)
        for (int i = 0; i < 3 && aliases[a].names[i]; i++)
            if (strcasecmp(aliases[a].names[i], name) == 0)
                return &aliases[a];
    return NULL;
}

/* Appends "; text" (or text) to a reason, truncating rather than overflowing. */
static void reason_add(char *reason, const char *text)
{
    size_t used = strlen(reason);
    if (used + 3 >= BB_REASON_LEN)
        return;
    bb_fmt(reason + used, BB_REASON_LEN - used, "%s%s", used ? "; " : "", text);
}

/* ------------------------------------------------------------------ per-event opening */

#ifdef BB_HAVE_PAPI
/* PAPI's reason, with the component's own when PAPI says the component is disabled. */
static void papi_reason(const char *name, int ret, char *out, size_t len)
{
    const char *extra = "";
    char comp[BB_REASON_LEN] = "";
    int code;
    if (ret == PAPI_ECMP_DISABLED && PAPI_event_name_to_code(name, &code) == PAPI_OK) {
        int cid = PAPI_get_event_component(code);
        const PAPI_component_info_t *ci = PAPI_get_component_info(cid < 0 ? 0 : cid);
        if (ci) {
            bb_fmt(comp, sizeof comp, " (component %s: %s)", ci->name, ci->disabled_reason);
            extra = comp;
        }
    }
    bb_fmt(out, len, "PAPI %s: %s%s", name, PAPI_strerror(ret), extra);
}

static bool open_papi(bb_counters *c, bb_counter_event *e, const event_alias *alias)
{
    const char *own[2] = {e->name, NULL};
    const char *const *tries = alias ? alias->papi : own;
    for (int i = 0; i < 3 && tries[i]; i++) {
        int ret = PAPI_add_named_event(c->papi_set, tries[i]);
        if (ret == PAPI_OK) {
            e->backend = "papi";
            bb_fmt(e->backend_name, sizeof e->backend_name, "%s", tries[i]);
            e->papi_slot = c->papi_count++;
            return true;
        }
        char why[BB_REASON_LEN];
        papi_reason(tries[i], ret, why, sizeof why);
        reason_add(e->reason, why);
    }
    return false;
}

static void papi_create_set(bb_counters *c)
{
    if (PAPI_create_eventset(&c->papi_set) != PAPI_OK) {
        c->papi_set = -1;
        return;
    }
    /* Inherit needs the set bound to the CPU component first. */
    int cid = PAPI_get_component_index("perf_event");
    PAPI_option_t opt;
    memset(&opt, 0, sizeof opt);
    opt.inherit.eventset = c->papi_set;
    opt.inherit.inherit = PAPI_INHERIT_ALL;
    c->papi_inherit = cid >= 0 && PAPI_assign_eventset_component(c->papi_set, cid) == PAPI_OK &&
                      PAPI_set_opt(PAPI_INHERIT, &opt) == PAPI_OK;
}
#endif

/* perf counts the thread and its later children; kernel-mode counts need more privilege
 * than user-mode ones, so fall back to user-mode only when refused. */
static bool open_perf(bb_counters *c, bb_counter_event *e, const event_alias *alias)
{
    struct perf_event_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.size = sizeof attr;
    attr.type = alias->perf_type;
    attr.config = alias->perf_config;
    attr.disabled = 1;
    attr.inherit = 1;
    attr.read_format = PERF_FORMAT_TOTAL_TIME_ENABLED | PERF_FORMAT_TOTAL_TIME_RUNNING;
    int fd = c->perf.open(&attr, 0, -1, c->perf.ctx);
    bool user_only = false;
    if (fd == -EACCES || fd == -EPERM) {
        attr.exclude_kernel = 1;
        attr.exclude_hv = 1;
        fd = c->perf.open(&attr, 0, -1, c->perf.ctx);
        user_only = true;
    }
    if (fd >= 0) {
        e->fd = fd;
        e->backend = "perf_event";
        bb_fmt(e->backend_name, sizeof e->backend_name, "%s%s",
                 alias->names[0], user_only ? " (user mode only)" : "");
        return true;
    }
    char why[BB_REASON_LEN];
    const char *kind = alias->perf_type == PERF_TYPE_HARDWARE ? "hardware" : "software";
    if (fd == -ENOENT || fd == -EOPNOTSUPP || fd == -ENODEV)
        bb_fmt(why, sizeof why,
                 "perf_event_open(%s event %s): %s - no hardware PMU (a VM without PMU "
                 "passthrough?)", kind, alias->names[0], strerror(-fd));
    else if (fd == -EACCES || fd == -EPERM) {
        char hint[BB_REASON_LEN / 2];
        bb_fmt(why, sizeof why, "perf_event_open(%s): permission denied; %s",
                 alias->names[0], bb_perf_permission_hint(false, hint, sizeof hint));
    } else
        bb_fmt(why, sizeof why, "perf_event_open(%s event %s): %s", kind, alias->names[0],
                 strerror(-fd));
    reason_add(e->reason, why);
    return false;
}

static void open_event(bb_counters *c, bb_counter_event *e, bool papi_ok, const char *papi_why)
{
    const event_alias *alias = find_alias(e->name);
    e->role = alias ? alias->role : BB_ROLE_OTHER;
    e->unit = alias ? alias->unit : "count";
    e->papi_slot = -1;
    e->fd = -1;
#ifdef BB_HAVE_PAPI
    if (papi_ok && c->papi_set >= 0 && open_papi(c, e, alias)) {
        e->reason[0] = '\0';
        return;
    }
#endif
    if (!papi_ok)
        reason_add(e->reason, papi_why);
    if (alias && open_perf(c, e, alias)) {
        e->reason[0] = '\0';
        return;
    }
    if (!alias && !papi_ok)
        reason_add(e->reason, "not a name perf_event_open knows here (see harness/probe/counters.h)");
}

/* ------------------------------------------------------------------ the list */

static void add_names(bb_counters *c, const char *list)
{
    char *copy = strdup(list ? list : "");
    if (!copy)
        return;
    char *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        while (isspace((unsigned char)*tok))
            tok++;
        size_t n = strlen(tok);
        while (n && isspace((unsigned char)tok[n - 1]))
            tok[--n] = '\0';
        bool dup = false;
        for (int i = 0; i < c->n; i++)
            dup = dup || strcasecmp(c->ev[i].name, tok) == 0;
        if (n == 0 || dup)
            continue;
        if (c->n == BB_COUNTERS_MAX || n >= sizeof c->ev[0].name) {
            char why[160];
            bb_fmt(why, sizeof why, "'%.60s' left out: %s", tok,
                     c->n == BB_COUNTERS_MAX ? "more than 16 events" : "name longer than 63");
            reason_add(c->list_note, why);
            continue;
        }
        bb_fmt(c->ev[c->n++].name, sizeof c->ev[0].name, "%s", tok);
    }
    free(copy);
}

static bool any_hardware_missing(const bb_counters *c)
{
    for (int i = 0; i < c->n; i++)
        if (c->ev[i].role != BB_ROLE_OTHER && !c->ev[i].backend)
            return true;
    return false;
}

static void open_from(bb_counters *c, int first, bool papi_ok, const char *papi_why)
{
    for (int i = first; i < c->n; i++)
        open_event(c, &c->ev[i], papi_ok, papi_why);
}

bb_counters *bb_counters_open(const char *events, const bb_counters_opts *opts)
{
    bb_counters *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->perf = opts && opts->perf ? *opts->perf : bb_perf_syscalls;
    c->papi_set = -1;
    char papi_why[BB_REASON_LEN] = "PAPI skipped (no_papi)";
    bool papi_ok = !(opts && opts->no_papi) && bb_papi_ready(papi_why, sizeof papi_why);
#ifdef BB_HAVE_PAPI
    if (papi_ok) {
        papi_create_set(c);
        if (c->papi_set < 0) {
            papi_ok = false;
            bb_fmt(papi_why, sizeof papi_why, "PAPI_create_eventset failed");
        }
    }
#endif
    bool defaults = events == NULL && getenv("BITBENCH_EVENTS") == NULL;
    add_names(c, events ? events : defaults ? bb_counters_default_events
                                            : getenv("BITBENCH_EVENTS"));
    open_from(c, 0, papi_ok, papi_why);
    if (defaults && any_hardware_missing(c)) {
        int first = c->n;
        add_names(c, software_events);
        open_from(c, first, papi_ok, papi_why);
    }
    bool papi_thread_only = false;
    for (int i = 0; i < c->n; i++)
        papi_thread_only = papi_thread_only || (c->ev[i].papi_slot >= 0 && !c->papi_inherit);
    bb_fmt(c->scope, sizeof c->scope, "%s",
           papi_thread_only ? "PAPI events: the calling thread only (PAPI refused "
                              "PAPI_INHERIT); perf_event events: the calling thread and the "
                              "threads it creates after the counters are opened"
                            : "the calling thread and the threads it creates after the "
                              "counters are opened (inherit)");
    return c;
}

void bb_counters_close(bb_counters *c)
{
    if (!c)
        return;
    for (int i = 0; i < c->n; i++)
        if (c->ev[i].fd >= 0)
            c->perf.close(c->ev[i].fd, c->perf.ctx);
#ifdef BB_HAVE_PAPI
    if (c->papi_set >= 0) {
        if (c->running)
            PAPI_stop(c->papi_set, NULL);
        PAPI_cleanup_eventset(c->papi_set);
        PAPI_destroy_eventset(&c->papi_set);
    }
#endif
    free(c);
}

/* ------------------------------------------------------------------ start / stop */

void bb_counters_start(bb_counters *c)
{
    if (!c || c->running)
        return;
    c->run_error[0] = '\0';
    for (int i = 0; i < c->n; i++) {
        bb_counter_event *e = &c->ev[i];
        e->measured = false;
        if (e->fd >= 0) {
            c->perf.ioctl(e->fd, PERF_EVENT_IOC_RESET, c->perf.ctx);
            c->perf.ioctl(e->fd, PERF_EVENT_IOC_ENABLE, c->perf.ctx);
        }
    }
#ifdef BB_HAVE_PAPI
    if (c->papi_set >= 0 && c->papi_count > 0) {
        int ret = PAPI_start(c->papi_set);
        if (ret != PAPI_OK)
            bb_fmt(c->run_error, sizeof c->run_error, "PAPI_start: %s", PAPI_strerror(ret));
    }
#endif
    c->running = true;
}

static void stop_perf_event(bb_counters *c, bb_counter_event *e)
{
    uint64_t v[3]; /* value, time enabled, time running */
    c->perf.ioctl(e->fd, PERF_EVENT_IOC_DISABLE, c->perf.ctx);
    int ret = c->perf.read(e->fd, v, 3, c->perf.ctx);
    if (ret < 0) {
        bb_fmt(e->reason, sizeof e->reason, "reading the perf counter: %s", strerror(-ret));
        return;
    }
    if (v[2] == 0) {
        bb_fmt(e->reason, sizeof e->reason,
                 "the counter was never scheduled in the region (more events than counters?)");
        return;
    }
    e->reason[0] = '\0';
    e->running_fraction = (double)v[2] / (double)v[1];
    /* Multiplexed counters are scaled to the whole region, as perf stat does. */
    e->value = (double)v[0] * ((double)v[1] / (double)v[2]);
    e->measured = true;
}

void bb_counters_stop(bb_counters *c)
{
    if (!c || !c->running)
        return;
#ifdef BB_HAVE_PAPI
    long long values[BB_COUNTERS_MAX] = {0};
    bool papi_read = false;
    if (c->papi_set >= 0 && c->papi_count > 0 && c->run_error[0] == '\0') {
        int ret = PAPI_stop(c->papi_set, values);
        papi_read = ret == PAPI_OK;
        if (!papi_read)
            bb_fmt(c->run_error, sizeof c->run_error, "PAPI_stop: %s", PAPI_strerror(ret));
    }
#endif
    for (int i = 0; i < c->n; i++) {
        bb_counter_event *e = &c->ev[i];
        if (e->fd >= 0)
            stop_perf_event(c, e);
#ifdef BB_HAVE_PAPI
        if (e->papi_slot >= 0 && papi_read) {
            e->value = (double)values[e->papi_slot];
            e->running_fraction = 1.0;
            e->measured = true;
        }
#endif
    }
    c->running = false;
}

/* ------------------------------------------------------------------ JSON */

static const bb_counter_event *measured_role(const bb_counters *c, bb_counter_role role)
{
    for (int i = 0; i < c->n; i++)
        if (c->ev[i].role == role && c->ev[i].measured)
            return &c->ev[i];
    return NULL;
}

static const char *role_name(bb_counter_role role)
{
    return role == BB_ROLE_INSTRUCTIONS ? "instructions"
           : role == BB_ROLE_CYCLES     ? "cycles"
                                        : "llc-misses";
}

/* One derived figure: num_role / (den_role value or den_value) * factor, or null with
 * the first missing input named. */
static json_t *derived(const bb_counters *c, bb_counter_role num_role, bb_counter_role den_role,
                       double den_value, const char *den_what, double factor,
                       const char *formula)
{
    const bb_counter_event *num = measured_role(c, num_role);
    const bb_counter_event *den = den_role != BB_ROLE_OTHER ? measured_role(c, den_role) : NULL;
    char why[BB_REASON_LEN] = "";
    if (!num)
        bb_fmt(why, sizeof why, "%s not measured (not requested, or unavailable: see events)",
                 role_name(num_role));
    else if (den_role != BB_ROLE_OTHER && !den)
        bb_fmt(why, sizeof why, "%s not measured (not requested, or unavailable: see events)",
                 role_name(den_role));
    else if (den_role == BB_ROLE_OTHER && !(den_value > 0))
        bb_fmt(why, sizeof why, "%s not given by the caller", den_what);
    else if (den && den->value == 0)
        bb_fmt(why, sizeof why, "%s measured as 0", role_name(den_role));
    if (why[0])
        return bb_value_unavailable_value(why);
    double d = den ? den->value : den_value;
    return json_pack("{s:s, s:f, s:s}", "status", "derived", "value", num->value / d * factor,
                     "formula", formula);
}

static json_t *event_json(const bb_counter_event *e, const char *run_error)
{
    if (e->measured) {
        json_t *o = json_pack("{s:s, s:f, s:s, s:s, s:s}", "status", "measured", "value",
                              e->value, "unit", e->unit, "backend", e->backend, "backend_name",
                              e->backend_name);
        if (e->running_fraction < 1.0)
            json_object_set_new(o, "scaled_from_running_fraction",
                                json_real(e->running_fraction));
        return o;
    }
    const char *why = e->reason[0] ? e->reason
                      : e->papi_slot >= 0 && run_error[0] ? run_error
                                                          : "no region measured yet";
    return bb_value_unavailable_value(why);
}

json_t *bb_counters_json(const bb_counters *c, double tokens, double weight_bytes_streamed)
{
    if (!c)
        return json_pack("{s:s}", "reason", "counters not opened (out of memory)");
    json_t *events = json_object();
    for (int i = 0; i < c->n; i++)
        json_object_set_new(events, c->ev[i].name, event_json(&c->ev[i], c->run_error));
    json_t *d = json_object();
    json_object_set_new(d, "ipc", derived(c, BB_ROLE_INSTRUCTIONS, BB_ROLE_CYCLES, 0, "",
                                          1.0, "instructions / cycles"));
    json_object_set_new(d, "instructions_per_token",
                        derived(c, BB_ROLE_INSTRUCTIONS, BB_ROLE_OTHER, tokens, "tokens", 1.0,
                                "instructions / tokens"));
    json_object_set_new(d, "instructions_per_weight_byte",
                        derived(c, BB_ROLE_INSTRUCTIONS, BB_ROLE_OTHER, weight_bytes_streamed,
                                "weight bytes", 1.0,
                                "instructions / (calls x weight bytes per call)"));
    json_object_set_new(d, "llc_misses_per_kb_weights",
                        derived(c, BB_ROLE_LLC_MISSES, BB_ROLE_OTHER, weight_bytes_streamed,
                                "weight bytes", 1024.0,
                                "LLC misses / (calls x weight bytes per call / 1024)"));
    json_t *o = json_pack("{s:s, s:o, s:o}", "scope", c->scope, "events", events, "derived", d);
    if (c->list_note[0])
        json_object_set_new(o, "note", json_string(c->list_note));
    return o;
}

static json_t *papi_describe(void)
{
    char why[BB_REASON_LEN];
    if (!bb_papi_ready(why, sizeof why))
        return bb_value_unavailable(why);
#ifdef BB_HAVE_PAPI
    json_t *comps = json_array();
    for (int i = 0; i < PAPI_num_components(); i++) {
        const PAPI_component_info_t *ci = PAPI_get_component_info(i);
        if (!ci)
            continue;
        json_array_append_new(comps, ci->disabled
                                         ? json_pack("{s:s, s:b, s:s}", "name", ci->name,
                                                     "enabled", 0, "reason", ci->disabled_reason)
                                         : json_pack("{s:s, s:b}", "name", ci->name, "enabled", 1));
    }
    char version[32];
    bb_fmt(version, sizeof version, "%d.%d.%d", PAPI_VERSION_MAJOR(PAPI_VERSION),
             PAPI_VERSION_MINOR(PAPI_VERSION), PAPI_VERSION_REVISION(PAPI_VERSION));
    return json_pack("{s:s, s:s, s:o}", "status", "available", "version", version, "components",
                     comps);
#else
    return NULL;
#endif
}

json_t *bb_counters_describe(const bb_counters *c)
{
    char hint[BB_REASON_LEN];
    json_t *events = json_object();
    for (int i = 0; c && i < c->n; i++) {
        const bb_counter_event *e = &c->ev[i];
        json_object_set_new(events, e->name,
                            e->backend ? json_pack("{s:b, s:s, s:s}", "can_add", 1, "backend",
                                                   e->backend, "backend_name", e->backend_name)
                                       : json_pack("{s:b, s:s}", "can_add", 0, "reason",
                                                   e->reason));
    }
    return json_pack("{s:o, s:{s:s, s:s}, s:s, s:o}", "papi", papi_describe(), "perf_event",
                     "access", bb_perf_permission_hint(false, hint, sizeof hint), "note",
                     "used per event when PAPI cannot add it", "scope",
                     c ? c->scope : "", "events", events);
}
