/* harness/machine/machine.c - who measured: build, CPU, ISA, caches, memory, VM, governor, as JSON (machine.h). */
#include "machine.h"

#include "../../kernels/kernel.h"
#include "cache.h"
#include "../core/pool.h"
#include "../results/value.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

uint64_t bb_proc_kb_field(const char *path, const char *field)
{
    FILE *f = fopen(path, "r");
    char line[256];
    size_t flen = strlen(field);
    uint64_t kb = 0;
    if (!f)
        return 0;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, field, flen) && line[flen] == ':') {
            kb = strtoull(line + flen + 1, NULL, 10);
            break;
        }
    fclose(f);
    return kb;
}

static uint64_t meminfo_bytes(const char *field) { return bb_proc_kb_field("/proc/meminfo", field) * 1024; }

uint64_t bb_machine_mem_available(void) { return meminfo_bytes("MemAvailable"); }
uint64_t bb_machine_mem_total(void) { return meminfo_bytes("MemTotal"); }

/* Copies the value of the first "key<spaces>: value" line of /proc/cpuinfo. */
static bool cpuinfo_field(const char *key, char *out, size_t len)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[1024];
    size_t klen = strlen(key);
    bool found = false;
    if (!f)
        return false;
    while (!found && fgets(line, sizeof line, f)) {
        char *colon = strchr(line, ':');
        if (!colon || strncmp(line, key, klen))
            continue;
        char *k_end = line + klen;
        while (k_end < colon && (*k_end == ' ' || *k_end == '\t'))
            k_end++;
        if (k_end != colon)
            continue;
        char *v = colon + 1;
        while (*v == ' ')
            v++;
        v[strcspn(v, "\n")] = 0;
        snprintf(out, len, "%s", v);
        found = true;
    }
    fclose(f);
    return found;
}

static void detect_hypervisor(bb_machine *m)
{
#if defined(__x86_64__) || defined(__i386__)
    unsigned a, b, c, d;
    if (__get_cpuid(1, &a, &b, &c, &d) && (c >> 31) & 1) {
        m->virtualized = true;
        __cpuid(0x40000000, a, b, c, d);
        char v[13];
        memcpy(v, &b, 4);
        memcpy(v + 4, &c, 4);
        memcpy(v + 8, &d, 4);
        v[12] = 0;
        /* "KVMKVMKVM", "VMwareVMware", "Microsoft Hv", "XenVMMXenVMM", "TCGTCGTCGTCG" */
        static const char *const known[][2] = {{"KVMKVMKVM", "KVM"}, {"VMwareVMware", "VMware"},
                                               {"Microsoft Hv", "Hyper-V"}, {"XenVMMXenVMM", "Xen"},
                                               {"TCGTCGTCGTCG", "QEMU TCG"}, {"ACRNACRNACRN", "ACRN"}};
        for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
            if (!strncmp(v, known[i][0], strlen(known[i][0])))
                snprintf(m->hypervisor, sizeof m->hypervisor, "%s", known[i][1]);
    }
#else
    char flags[4096];
    m->virtualized = cpuinfo_field("flags", flags, sizeof flags) && strstr(flags, " hypervisor");
#endif
}

static void read_governor(bb_machine *m)
{
    FILE *f = fopen("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor", "r");
    if (!f) {
        snprintf(m->governor_reason, sizeof m->governor_reason,
                 "no /sys/devices/system/cpu/cpu0/cpufreq (no cpufreq driver: usual in a VM)");
        return;
    }
    if (!fgets(m->governor, sizeof m->governor, f))
        snprintf(m->governor_reason, sizeof m->governor_reason, "scaling_governor is unreadable");
    m->governor[strcspn(m->governor, "\n")] = 0;
    fclose(f);
}

static void compute_id(bb_machine *m)
{
    char ident[768];
    snprintf(ident, sizeof ident, "%s|%s|%x|%x|%x|%s|%s|%d", m->cpu_model, m->vendor, m->family,
             m->model, m->stepping, m->isa_detected, m->isa_cap, m->cores);
    snprintf(m->id, sizeof m->id, "%016" PRIx64, bb_fnv1a64(ident, strlen(ident), 0));
}

void bb_machine_describe(bb_machine *m)
{
    memset(m, 0, sizeof *m);
    if (gethostname(m->hostname, sizeof m->hostname) != 0)
        snprintf(m->hostname, sizeof m->hostname, "unknown");
    m->hostname[sizeof m->hostname - 1] = 0;
    struct utsname u;
    if (uname(&u) == 0)
        snprintf(m->os, sizeof m->os, "%s %s %s", u.sysname, u.release, u.machine);
    if (!cpuinfo_field("model name", m->cpu_model, sizeof m->cpu_model))
        snprintf(m->cpu_model, sizeof m->cpu_model, "unknown");
    if (!cpuinfo_field("vendor_id", m->vendor, sizeof m->vendor))
        snprintf(m->vendor, sizeof m->vendor, "unknown");
    char v[32];
    if (cpuinfo_field("cpu family", v, sizeof v)) {
        m->have_family = true;
        m->family = (unsigned)strtoul(v, NULL, 10);
        if (cpuinfo_field("model", v, sizeof v))
            m->model = (unsigned)strtoul(v, NULL, 10);
        if (cpuinfo_field("stepping", v, sizeof v))
            m->stepping = (unsigned)strtoul(v, NULL, 10);
    }
    bb_cpu_features_str(bb_cpu_detect(), m->isa_detected, sizeof m->isa_detected);
    snprintf(m->isa_cap, sizeof m->isa_cap, "%s", bb_isa_name(bb_isa_cap()));
    m->cores = bb_machine_cpus(); /* the machine's, not this thread's (a pinned thread sees 1) */
    m->l1d_bytes = bb_sysfs_cache_bytes(1, "Data");
    m->l2_bytes = bb_sysfs_cache_bytes(2, "Data");
    const char *why = "";
    m->llc_bytes = bb_llc_bytes(&why);
    snprintf(m->llc_source, sizeof m->llc_source, "%s", why);
    m->memory_bytes = bb_machine_mem_total();
    detect_hypervisor(m);
    read_governor(m);
    compute_id(m);
}

static json_t *unavailable(const char *reason) { return bb_value_unavailable(reason); }

static json_t *bytes_or_unavailable(uint64_t v, const char *what)
{
    char reason[128];
    if (v)
        return json_integer((json_int_t)v);
    snprintf(reason, sizeof reason, "%s size not reported by sysfs", what);
    return unavailable(reason);
}

json_t *bb_machine_json(const bb_machine *m)
{
    char hex[16];
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(m->id));
    json_object_set_new(o, "hostname", json_string(m->hostname));
    json_object_set_new(o, "os", json_string(m->os));
    json_object_set_new(o, "cpu_model", json_string(m->cpu_model));
    json_object_set_new(o, "vendor", json_string(m->vendor));
    if (m->have_family) {
        snprintf(hex, sizeof hex, "0x%x", m->family);
        json_object_set_new(o, "family", json_string(hex));
        snprintf(hex, sizeof hex, "0x%x", m->model);
        json_object_set_new(o, "model", json_string(hex));
        json_object_set_new(o, "stepping", json_integer(m->stepping));
    } else {
        json_object_set_new(o, "family", unavailable("no 'cpu family' in /proc/cpuinfo"));
        json_object_set_new(o, "model", unavailable("no 'cpu family' in /proc/cpuinfo"));
        json_object_set_new(o, "stepping", json_null());
    }
    json_object_set_new(o, "isa_detected", json_string(m->isa_detected));
    json_object_set_new(o, "isa_cap", json_string(m->isa_cap));
    json_object_set_new(o, "cores", json_integer(m->cores));
    json_t *c = json_object();
    json_object_set_new(c, "l1d_bytes", bytes_or_unavailable(m->l1d_bytes, "L1d"));
    json_object_set_new(c, "l2_bytes", bytes_or_unavailable(m->l2_bytes, "L2"));
    json_object_set_new(c, "llc_bytes", m->llc_bytes ? json_integer((json_int_t)m->llc_bytes)
                                                     : unavailable(m->llc_source));
    json_object_set_new(c, "llc_source", json_string(m->llc_source));
    json_object_set_new(o, "caches", c);
    json_object_set_new(o, "memory_bytes", m->memory_bytes ? json_integer((json_int_t)m->memory_bytes)
                                                           : unavailable("no MemTotal in /proc/meminfo"));
    json_object_set_new(o, "virtualized", json_boolean(m->virtualized));
    json_object_set_new(o, "hypervisor", m->hypervisor[0] ? json_string(m->hypervisor) : json_null());
    json_object_set_new(o, "governor", m->governor[0] ? json_string(m->governor)
                                                      : unavailable(m->governor_reason));
    return o;
}

/* ------------------------------------------------------------------ build */

#define BB_STR2(x) #x
#define BB_STR(x) BB_STR2(x)

static const char *compiler_string(void)
{
#if defined(__clang__)
    return "clang " __clang_version__;
#elif defined(__GNUC__)
    return "gcc " __VERSION__;
#else
    return "unknown C compiler";
#endif
}

json_t *bb_build_json(void)
{
#ifdef BB_CFLAGS
    const char *cflags = BB_CFLAGS;
#else
    const char *cflags = "unknown (built without -DBB_CFLAGS)";
#endif
    return json_pack("{s:s, s:s, s:b, s:b}", "compiler", compiler_string(), "cflags", cflags,
                     "optimized",
#ifdef __OPTIMIZE__
                     1,
#else
                     0,
#endif
                     "sanitized",
#if defined(__SANITIZE_ADDRESS__)
                     1
#else
                     0
#endif
    );
}

/* Runs git in dir; true with the first output line in out. */
static bool git_describe(const char *dir, char *out, size_t len)
{
    char cmd[4200];
    if (strchr(dir, '\''))
        return false;
    snprintf(cmd, sizeof cmd, "git -C '%s' describe --always --dirty --abbrev=12 2>/dev/null", dir);
    FILE *p = popen(cmd, "r");
    if (!p)
        return false;
    bool ok = fgets(out, (int)len, p) != NULL;
    int status = pclose(p);
    out[strcspn(out, "\n")] = 0;
    return ok && status == 0 && out[0];
}

const char *bb_git_revision(void)
{
    static char rev[96];
    if (rev[0])
        return rev;
#ifdef BB_GIT_REV
    snprintf(rev, sizeof rev, "%s", BB_GIT_REV);
    if (rev[0])
        return rev;
#endif
    const char *src = getenv("BITBENCH_SRCDIR");
    char exe[4096];
    ssize_t got = readlink("/proc/self/exe", exe, sizeof exe - 1);
    bool found = src && *src && git_describe(src, rev, sizeof rev);
    if (!found && got > 0) {
        exe[got] = 0;
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = 0;
            found = git_describe(exe, rev, sizeof rev);
        }
    }
    if (!found)
        found = git_describe(".", rev, sizeof rev);
    if (!found)
        snprintf(rev, sizeof rev, "unknown");
    return rev;
}
