/*
 * bench/bitbench.c - the one program: `bitbench <subcommand> [options]`.
 * Data goes to stdout (or --out files), messages to stderr; exit 0 success,
 * 1 a finding (a regression), 2 bad input or environment.
 */
#include "cli.h"

#include <stdio.h>
#include <string.h>

static const struct subcommand {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} subcommands[] = {
    {"list", bb_cmd_list, "every format and implementation, and which ones this CPU runs"},
    {"info", bb_cmd_info, "this machine: CPU, caches, ISA, counters, energy, bandwidth (--bandwidth)"},
    {"gemm", bb_cmd_gemm, "check and time kernels on one M x K x N shape"},
    {"sweep", bb_cmd_sweep, "every format across the model sizes 700M-70B (the main job)"},
    {"report", bb_cmd_report, "tables and plots from sweep results"},
    {"compare", bb_cmd_compare, "regression verdicts between two result files"},
    {"history", bb_cmd_history, "a metric over successive result files, with step changes"},
    {"paired", bb_cmd_paired, "verdicts of a paired A/B run of two kernel modules (gemm --paired)"},
    {"tune", bb_cmd_tune, "time every implementation per shape; --kernel then picks the fastest here"},
};
enum { N_SUB = sizeof subcommands / sizeof subcommands[0] };

static void usage(FILE *to)
{
    fprintf(to, "usage: bitbench <command> [options]   (bitbench <command> --help for its options)\n\n");
    for (int i = 0; i < N_SUB; i++)
        fprintf(to, "  %-8s %s\n", subcommands[i].name, subcommands[i].summary);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return BB_EXIT_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return BB_EXIT_OK;
    }
    for (int i = 0; i < N_SUB; i++)
        if (!strcmp(argv[1], subcommands[i].name)) {
            if (bb_cli_check_env_switches(argv[1]))
                return BB_EXIT_USAGE;
            return subcommands[i].run(argc - 1, argv + 1);
        }
    fprintf(stderr, "bitbench: unknown command '%s'; expected one of: list, info, gemm, sweep, report, "
                    "compare, history, paired, tune\n", argv[1]);
    return BB_EXIT_USAGE;
}
