/* bench/cli.c - what every subcommand shares: one-line errors, number and list parsing, --threads and --isa (cli.h). */
#include "cli.h"

#include "../harness/machine/machine.h"
#include "../harness/core/module.h"
#include "../harness/core/pool.h"
#include "../kernels/kernel.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int bb_cli_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "bitbench %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return BB_EXIT_USAGE;
}

int bb_cli_parse_u64(const char *cmd, const char *opt, const char *s, uint64_t lo, uint64_t hi,
                     bool suffixes, uint64_t *out)
{
    char *end = NULL;
    errno = 0;
    if (!s || !*s || *s == '-' || *s == '+')
        goto bad;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s)
        goto bad;
    uint64_t mult = 1;
    if (suffixes && *end) {
        switch (*end) {
        case 'K': case 'k': mult = 1ull << 10; break;
        case 'M': case 'm': mult = 1ull << 20; break;
        case 'G': case 'g': mult = 1ull << 30; break;
        case 'T': case 't': mult = 1ull << 40; break;
        default: goto bad;
        }
        end++;
        if (*end == 'i' || *end == 'B')
            end += (*end == 'i' && end[1] == 'B') ? 2 : 1;
    }
    if (*end || (mult > 1 && v > UINT64_MAX / mult))
        goto bad;
    v *= mult;
    if (v < lo || v > hi)
        goto bad;
    *out = v;
    return 0;
bad:
    bb_cli_error(cmd, "%s '%s': expected a whole number from %" PRIu64 " to %" PRIu64 "%s", opt,
                 s ? s : "", lo, hi, suffixes ? " (suffixes K, M, G, T allowed)" : "");
    return -1;
}

int bb_cli_parse_double(const char *cmd, const char *opt, const char *s, double lo, double hi,
                        double *out)
{
    char *end = NULL;
    errno = 0;
    double v = s ? strtod(s, &end) : 0;
    if (!s || !*s || errno || *end || !(v >= lo && v <= hi)) {
        bb_cli_error(cmd, "%s '%s': expected a number from %g to %g", opt, s ? s : "", lo, hi);
        return -1;
    }
    *out = v;
    return 0;
}

int bb_cli_parse_u64_list(const char *cmd, const char *opt, const char *s, uint64_t lo, uint64_t hi,
                          uint64_t *v, size_t cap, size_t *count)
{
    char buf[512];
    if (!s || strlen(s) >= sizeof buf || !*s) {
        bb_cli_error(cmd, "%s '%s': expected a comma-separated list of whole numbers", opt, s ? s : "");
        return -1;
    }
    strcpy(buf, s);
    *count = 0;
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (*count == cap) {
            bb_cli_error(cmd, "%s '%s': at most %zu entries", opt, s, cap);
            return -1;
        }
        if (bb_cli_parse_u64(cmd, opt, tok, lo, hi, false, &v[*count]) != 0)
            return -1;
        (*count)++;
    }
    if (*count == 0 || s[strlen(s) - 1] == ',' || strstr(s, ",,")) {
        bb_cli_error(cmd, "%s '%s': expected a comma-separated list of whole numbers", opt, s);
        return -1;
    }
    return 0;
}

uint64_t bb_mem_available(void) { return bb_machine_mem_available(); }

const char *bb_human_bytes(double bytes, char *buf, size_t len)
{
    static const char *const unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    while (bytes >= 1024 && u < 4) {
        bytes /= 1024;
        u++;
    }
    snprintf(buf, len, u ? "%.2f %s" : "%.0f %s", bytes, unit[u]);
    return buf;
}

int bb_cli_apply_isa(const char *cmd, const char *s)
{
    bb_isa_level l;
    const char *src = s ? "--isa" : "BITBENCH_ISA";
    const char *v = s ? s : getenv("BITBENCH_ISA");
    if (!v || (!s && !*v))
        return 0;
    if (bb_isa_parse(v, &l) != 0)
        return bb_cli_error(cmd, "%s '%s': expected one of %s (the ISA levels of %s)", src, v,
                            bb_cli_isa_names(", "), bb_cli_arch_name());
    bb_isa_set_cap(l);
    return 0;
}

int bb_cli_default_threads(void) { return bb_online_cores(); }

const char *bb_cli_isa_names(const char *sep)
{
    static char buf[160];
    return bb_isa_names(sep, buf, sizeof buf);
}

const char *bb_cli_arch_name(void)
{
    switch (bb_arch_host()) {
    case BB_ARCH_X86_64:
        return "x86-64";
    case BB_ARCH_AARCH64:
        return "AArch64";
    default:
        return "this architecture";
    }
}

int bb_cli_check_threads(const char *cmd, uint64_t t)
{
    int cores = bb_cli_default_threads();
    if (t <= (uint64_t)cores)
        return 0;
    return bb_cli_error(cmd, "--threads %" PRIu64 ": more threads than the %d core%s this process may use "
                             "(they would share cores and time each other); accepted 1 to %d",
                        t, cores, cores == 1 ? "" : "s", cores);
}

const char *bb_cli_format_names(void)
{
    static char buf[160];
    if (!buf[0])
        for (int f = 0; f < BB_FMT_COUNT; f++) {
            if (f)
                strcat(buf, ", ");
            strcat(buf, bb_formats[f].name);
        }
    return buf;
}

int bb_cli_load_plugin(const char *cmd, const char *spec)
{
    char err[512];
    if (bb_module_load(spec, err, sizeof err) != 0)
        return bb_cli_error(cmd, "--plugin: %s", err);
    return 0;
}

int bb_cli_check_env_switches(const char *cmd)
{
    static const char *const names[] = {"BITBENCH_HUGEPAGES", "BITBENCH_PREFETCH_NEXT"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const char *v = getenv(names[i]);
        if (v && strcmp(v, "0") != 0 && strcmp(v, "1") != 0)
            return bb_cli_error(cmd, "%s '%s': expected 0 or 1", names[i], v);
    }
    return 0;
}
