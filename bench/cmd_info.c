/* bench/cmd_info.c - `bitbench info [--bandwidth] [--json]`: what this machine offers. */
#include "cli.h"

#include "../harness/machine/bandwidth.h"
#include "../harness/machine/roofs.h"
#include "../harness/machine/cache.h"
#include "../harness/machine/machine.h"
#include "../harness/core/pool.h"
#include "../harness/probe/probe.h"
#include "../kernels/kernel.h"
#include "../harness/results/value.h"

#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#define CMD "info"

static json_t *bandwidth_json(int threads)
{
    char err[200];
    bb_pool *pool = bb_pool_create(threads, err, sizeof err);
    if (!pool)
        return bb_value_unavailable(err);
    fprintf(stderr, "info: measuring read bandwidth with 1..%d thread(s)\n", threads);
    bb_bandwidth *bw = calloc((size_t)bb_pool_threads(pool), sizeof *bw);
    int measured = bw ? bb_bandwidth_measure(pool, 0, 7, bw, bb_pool_threads(pool)) : -1;
    if (measured < 1) {
        free(bw);
        bb_pool_destroy(pool);
        return bb_value_unavailable("cannot allocate the buffer (4x LLC)");
    }
    json_t *arr = json_array();
    for (int t = 0; t < measured; t++)
        json_array_append_new(arr, json_pack("{s:i, s:f, s:f, s:I, s:i, s:b, s:s}", "threads", bw[t].threads,
            "best_gbps", bw[t].best_gbps, "median_gbps", bw[t].median_gbps, "buffer_bytes",
            (json_int_t)bw[t].buffer_bytes, "passes", bw[t].passes, "validated", bw[t].validated,
            "loads", bw[t].loads));
    json_t *o = json_pack("{s:s, s:s, s:s, s:o}", "status", "measured", "placement", bb_pool_placement(pool),
        "method", "read-only 64-bit sum over a buffer >= 4x LLC; best (and median) of passes; sum validated",
        "by_threads", arr);
    free(bw);
    bb_pool_destroy(pool);
    return o;
}

static json_t *info_json(int bandwidth, int threads)
{
    char det[256], act[256];
    const char *llc_src;
    uint64_t llc = bb_llc_bytes(&llc_src);
    bb_machine machine;
    bb_machine_describe(&machine);
    size_t runnable = 0;
    for (size_t i = 0; i < bb_kernel_count; i++)
        runnable += bb_kernel_runnable(bb_kernels[i]);
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:i, s:I, s:s, s:I, s:I, s:I}", "cpu", machine.cpu_model,
        "isa_detected", bb_cpu_features_str(bb_cpu_detect(), det, sizeof det),
        "isa_active", bb_cpu_features_str(bb_cpu_features(), act, sizeof act),
        "isa_cap", bb_isa_name(bb_isa_cap()), "cores", bb_online_cores(),
        "llc_bytes", (json_int_t)llc, "llc_source", llc_src, "mem_available_bytes",
        (json_int_t)bb_mem_available(), "kernels", (json_int_t)bb_kernel_count,
        "kernels_runnable", (json_int_t)runnable);
    json_object_set_new(o, "machine", bb_machine_json(&machine));
    bb_probe *probe = bb_probe_open(NULL);
    json_object_set_new(o, "measurement", bb_probe_describe(probe));
    bb_probe_close(probe);
    json_object_set_new(o, "bandwidth", bandwidth ? bandwidth_json(threads)
        : bb_value_unavailable("not measured: pass --bandwidth"));
    return o;
}

static void info_text(json_t *o)
{
    char b[32];
    json_t *mach = json_object_get(o, "machine");
    printf("machine (as recorded in result rows):\n");
    const char *key;
    json_t *val;
    json_object_foreach(mach, key, val)
        if (json_is_string(val) && *json_string_value(val))
            printf("  %-18s %s\n", key, json_string_value(val));
        else if (json_is_integer(val))
            printf("  %-18s %lld\n", key, (long long)json_integer_value(val));
        else if (json_is_boolean(val))
            printf("  %-18s %s\n", key, json_is_true(val) ? "yes" : "no");
    printf("isa detected: %s\n", json_string_value(json_object_get(o, "isa_detected")));
    printf("isa active:   %s (cap %s)\n", json_string_value(json_object_get(o, "isa_active")),
           json_string_value(json_object_get(o, "isa_cap")));
    printf("cores:        %d\n", (int)json_integer_value(json_object_get(o, "cores")));
    printf("LLC:          %s (%s)\n", bb_human_bytes((double)json_integer_value(json_object_get(o, "llc_bytes")), b, sizeof b),
           json_string_value(json_object_get(o, "llc_source")));
    printf("kernels:      %d registered, %d runnable here\n", (int)json_integer_value(json_object_get(o, "kernels")),
           (int)json_integer_value(json_object_get(o, "kernels_runnable")));
    json_t *meas = json_object_get(o, "measurement"), *energy = json_object_get(meas, "energy");
    const char *es = json_string_value(json_object_get(energy, "status"));
    printf("energy:       %s%s%s\n", es ? es : "?", json_is_string(json_object_get(energy, "reason")) ? ": " : "",
           json_is_string(json_object_get(energy, "reason")) ? json_string_value(json_object_get(energy, "reason")) : "");
    if (es && strcmp(es, "available") == 0) { /* which backend, and what it reads */
        size_t i;
        json_t *d;
        printf("energy from:  %s:", json_string_value(json_object_get(energy, "source")));
        json_array_foreach(json_object_get(energy, "domains"), i, d) {
            json_t *sensor = json_object_get(d, "sensor");
            printf("%s %s", i ? "," : "",
                   json_is_string(sensor) ? json_string_value(sensor) : json_string_value(json_object_get(d, "where")));
            if (json_is_string(json_object_get(d, "reading")))
                printf(" (%s)", json_string_value(json_object_get(d, "reading")));
        }
        printf("\n");
        if (json_is_string(json_object_get(energy, "not_used")))
            printf("energy not:   %s\n", json_string_value(json_object_get(energy, "not_used")));
    }
    const char *ev_name;
    json_t *ev;
    json_object_foreach(json_object_get(json_object_get(meas, "counters"), "events"), ev_name, ev)
        printf("counter:      %-24s %s\n", ev_name,
               json_is_true(json_object_get(ev, "can_add")) ? "can be measured"
               : json_is_string(json_object_get(ev, "reason")) ? json_string_value(json_object_get(ev, "reason"))
                                                                 : "unavailable");
    json_t *bw = json_object_get(o, "bandwidth");
    if (strcmp(json_string_value(json_object_get(bw, "status")), "measured") != 0) {
        printf("bandwidth:    unavailable: %s\n", json_string_value(json_object_get(bw, "reason")));
        return;
    }
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(bw, "by_threads"), i, e)
        printf("bandwidth:    %2d thread(s): %.1f GB/s best, %.1f median (measured, read-only, %s, %s)\n",
               (int)json_integer_value(json_object_get(e, "threads")), json_real_value(json_object_get(e, "best_gbps")),
               json_real_value(json_object_get(e, "median_gbps")),
               json_string_value(json_object_get(e, "loads")),
               json_is_true(json_object_get(e, "validated")) ? "validated" : "NOT validated");
}

/* --roofs: the compute roofs (harness/machine/roofs.h), measured now. */
static json_t *roofs_json(int threads)
{
    char err[200];
    bb_pool *pool = bb_pool_create(threads, err, sizeof err);
    if (!pool)
        return bb_value_unavailable(err);
    fprintf(stderr, "info: measuring compute roofs at 1 and %d thread(s) (take the timing lock)\n", threads);
    bb_roof r[64];
    size_t n = bb_roofs_measure(pool, r, 64);
    json_t *o = bb_roofs_json(r, n, bb_pool_placement(pool));
    bb_pool_destroy(pool);
    return o;
}

static void roofs_text(const json_t *o)
{
    size_t i;
    json_t *e;
    if (!o)
        return;
    if (strcmp(json_string_value(json_object_get(o, "status")), "measured") != 0) {
        printf("roofs:        unavailable: %s\n", json_string_value(json_object_get(o, "reason")));
        return;
    }
    json_array_foreach(json_object_get(o, "roofs"), i, e)
        printf("roof:         %-9s %-24s %2d thread(s): %8.1f GOP/s best, %8.1f median (measured, %s)\n",
               json_string_value(json_object_get(e, "kind")), json_string_value(json_object_get(e, "loop")),
               (int)json_integer_value(json_object_get(e, "threads")),
               json_real_value(json_object_get(e, "best_gops")), json_real_value(json_object_get(e, "median_gops")),
               json_string_value(json_object_get(e, "instr")));
    printf("roofs method: %s\n", json_string_value(json_object_get(o, "method")));
}

int bb_cmd_info(int argc, char **argv)
{
    static const struct option opts[] = {{"json", no_argument, 0, 'j'}, {"bandwidth", no_argument, 0, 'b'},
        {"roofs", no_argument, 0, 'r'}, {"threads", required_argument, 0, 't'}, {"isa", required_argument, 0, 'i'}, {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    int json = 0, bw = 0, roofs = 0, c;
    uint64_t threads = (uint64_t)bb_cli_default_threads();
    const char *isa = NULL;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'j') json = 1;
        else if (c == 'b') bw = 1;
        else if (c == 'r') roofs = 1;
        else if (c == 'i') isa = optarg;
        else if (c == 't') {
            if (bb_cli_parse_u64(CMD, "--threads", optarg, 1, 1024, false, &threads) ||
                bb_cli_check_threads(CMD, threads))
                return BB_EXIT_USAGE;
        } else if (c == 'h') {
            printf("usage: bitbench info [--bandwidth] [--roofs] [--threads T] [--isa L] [--json]\n");
            return BB_EXIT_OK;
        } else
            return bb_cli_error(CMD, "unknown option '%s'; accepted: --bandwidth, --roofs, --threads, --isa, --json",
                                argv[optind - 1]);
    }
    if (optind < argc)
        return bb_cli_error(CMD, "unexpected argument '%s'", argv[optind]);
    if (bb_cli_apply_isa(CMD, isa))
        return BB_EXIT_USAGE;
    json_t *o = info_json(bw, (int)threads);
    if (roofs)
        json_object_set_new(o, "roofs", roofs_json((int)threads));
    if (json) {
        json_dumpf(o, stdout, JSON_INDENT(2));
        putchar('\n');
    } else {
        info_text(o);
        roofs_text(json_object_get(o, "roofs"));
    }
    json_decref(o);
    return BB_EXIT_OK;
}
