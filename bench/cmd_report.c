/*
 * bench/cmd_report.c - `bitbench report RESULTS.jsonl... [--out DIR]`: REPORT.md, the
 * gnuplot data files and the figures (harness/report/report.h does the work).
 */
#include "cli.h"

#include "../harness/report/report.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#define CMD "report"

static void usage(FILE *to)
{
    fprintf(to,
        "usage: bitbench report RESULTS.jsonl... [options]\n"
        "  Tables (REPORT.md) and figures (PNG and SVG, drawn by gnuplot with the scripts under\n"
        "  plots/) from sweep results, our figures beside the BitNet b1.58 paper's.  Files from\n"
        "  several machines give one section per machine and the cross-machine figure.\n"
        "  --out DIR         output folder (default: the first results file's folder)\n"
        "  --reference CSV   the paper's values (default: results/reference/paper.csv of the source)\n"
        "  --plots-dir DIR   the gnuplot scripts (default: plots/ of the source)\n"
        "  --gnuplot EXE     the gnuplot to run (default: $BITBENCH_GNUPLOT, else gnuplot on PATH)\n"
        "  --no-plots        write the tables and the .dat files only\n"
        "Without gnuplot the tables and .dat files are written and REPORT.md says why there are no\n"
        "figures (exit 0).  Malformed lines are named (file:line) on stderr and skipped; no usable\n"
        "row at all is an error (exit 2).\n");
}

int bb_cmd_report(int argc, char **argv)
{
    static const struct option opts[] = {
        {"out", required_argument, 0, 'o'},       {"reference", required_argument, 0, 'r'},
        {"plots-dir", required_argument, 0, 'p'}, {"gnuplot", required_argument, 0, 'g'},
        {"no-plots", no_argument, 0, 'n'},        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    bb_report_opts o = {0};
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'o': o.out_dir = optarg; break;
        case 'r': o.reference_csv = optarg; break;
        case 'p': o.plots_dir = optarg; break;
        case 'g': o.gnuplot = optarg; break;
        case 'n': o.no_plots = true; break;
        case 'h': usage(stdout); exit(BB_EXIT_OK);
        default:
            return bb_cli_error(CMD, "unknown or incomplete option '%s' (bitbench report --help lists them)",
                                argv[optind - 1]);
        }
    }
    if (optind >= argc)
        return bb_cli_error(CMD, "no results file: bitbench report RESULTS.jsonl... [--out DIR]");
    o.inputs = (const char *const *)(argv + optind);
    o.n_inputs = (size_t)(argc - optind);
    return bb_report_run(&o) ? BB_EXIT_USAGE : BB_EXIT_OK;
}
