/* bench/cmd_list.c - `bitbench list [--json]`: formats, implementations, what runs here. */
#include "cli.h"

#include "../harness/core/module.h"
#include "../kernels/kernel.h"

#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

/* Bits per weight are quoted at this shape, where padding is nil for every format but
 * tern1.6; the memory reports use each real shape. */
enum { QUOTE_M = 4096, QUOTE_K = 4096 };

static const char *act_name(bb_act_type a) { return a == BB_ACT_Q8 ? "int8-absmax" : "fp32"; }

static const char *why_not_runnable(const bb_kernel *k, char *buf, size_t len)
{
    if (!bb_isa_allowed(k->isa, bb_isa_cap())) {
        snprintf(buf, len, "capped by --isa/BITBENCH_ISA=%s", bb_isa_name(bb_isa_cap()));
        return buf;
    }
    char missing[128];
    bb_cpu_features_str(k->needs & ~bb_cpu_detect(), missing, sizeof missing);
    snprintf(buf, len, "CPU lacks %s", missing);
    return buf;
}

static json_t *list_json(void)
{
    json_t *formats = json_array(), *kernels = json_array();
    for (int f = 0; f < BB_FMT_COUNT; f++) {
        const bb_format *F = &bb_formats[f];
        json_array_append_new(formats, json_pack("{s:s, s:s, s:s, s:f, s:i, s:i, s:s}",
            "name", F->name, "family", F->family, "summary", F->summary,
            "bits_per_weight_4096x4096", bb_bits_per_weight(F->id, QUOTE_M, QUOTE_K),
            "block", (int)F->block, "block_bytes", (int)F->block_bytes, "activations", act_name(F->act)));
    }
    char needs[128], why[160];
    for (size_t i = 0; i < bb_kernel_count + bb_module_kernel_count(); i++) {
        const bb_kernel *k = i < bb_kernel_count ? bb_kernels[i] : bb_module_kernel(i - bb_kernel_count);
        bool run = bb_kernel_runnable(k);
        json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:b, s:b, s:s?}",
            "impl", k->name, "format", bb_formats[k->format].name, "method", k->method,
            "isa", bb_isa_name(k->isa), "needs", bb_cpu_features_str(k->needs, needs, sizeof needs),
            "priority", k->priority, "runnable", run, "multiply_free", k->multiply_free,
            "hot_symbol", k->hot_symbol);
        if (!run)
            json_object_set_new(o, "not_runnable_because", json_string(why_not_runnable(k, why, sizeof why)));
        if (i >= bb_kernel_count)
            json_object_set_new(o, "module", json_string(bb_module_kernel_origin(i - bb_kernel_count)));
        json_array_append_new(kernels, o);
    }
    return json_pack("{s:o, s:o}", "formats", formats, "kernels", kernels);
}

static void list_text(void)
{
    printf("Formats (bits per weight incl. scales, at %dx%d):\n", QUOTE_M, QUOTE_K);
    printf("  %-8s %-8s %6s %6s  %-12s %s\n", "format", "family", "bits", "block", "activations", "summary");
    for (int f = 0; f < BB_FMT_COUNT; f++) {
        const bb_format *F = &bb_formats[f];
        printf("  %-8s %-8s %6.3f %6u  %-12s %s\n", F->name, F->family,
               bb_bits_per_weight(F->id, QUOTE_M, QUOTE_K), F->block, act_name(F->act), F->summary);
    }
    printf("\nImplementations (best runnable per format is marked *):\n");
    printf("  %-28s %-8s %-8s %-7s %4s %-5s %s\n", "impl", "format", "method", "isa", "prio", "runs", "mult-free");
    char why[160];
    for (size_t i = 0; i < bb_kernel_count + bb_module_kernel_count(); i++) {
        const bb_kernel *k = i < bb_kernel_count ? bb_kernels[i] : bb_module_kernel(i - bb_kernel_count);
        bool run = bb_kernel_runnable(k);
        bool best = bb_kernel_find_best(bb_formats[k->format].name) == k;
        printf("%c %-28s %-8s %-8s %-7s %4d %-5s %s%s%s", best ? '*' : ' ', k->name,
               bb_formats[k->format].name, k->method, bb_isa_name(k->isa), k->priority,
               run ? "yes" : "no", k->multiply_free ? "yes" : "no", run ? "" : "   (",
               run ? "" : why_not_runnable(k, why, sizeof why));
        if (!run)
            printf(")");
        if (i >= bb_kernel_count)
            printf("   (module %s)", bb_module_kernel_origin(i - bb_kernel_count));
        printf("\n");
    }
}

int bb_cmd_list(int argc, char **argv)
{
    static const struct option opts[] = {
        {"json", no_argument, 0, 'j'}, {"isa", required_argument, 0, 'i'}, {"help", no_argument, 0, 'h'},
        {"plugin", required_argument, 0, 'L'}, {0, 0, 0, 0}};
    int json = 0, c;
    const char *isa = NULL;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'j')
            json = 1;
        else if (c == 'i')
            isa = optarg;
        else if (c == 'L') {
            if (bb_cli_load_plugin("list", optarg) != 0)
                return BB_EXIT_USAGE;
        }
        else if (c == 'h') {
            printf("usage: bitbench list [--json] [--isa %s] [--plugin [PREFIX=]LIB.so ...]\n", bb_cli_isa_names("|"));
            return BB_EXIT_OK;
        } else
            return bb_cli_error("list", "unknown option '%s'; accepted: --json, --isa, --plugin", argv[optind - 1]);
    }
    if (optind < argc)
        return bb_cli_error("list", "unexpected argument '%s'", argv[optind]);
    if (bb_cli_apply_isa("list", isa) != 0)
        return BB_EXIT_USAGE;
    if (json) {
        json_t *o = list_json();
        json_dumpf(o, stdout, JSON_INDENT(2));
        putchar('\n');
        json_decref(o);
    } else
        list_text();
    return BB_EXIT_OK;
}
