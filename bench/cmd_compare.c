/*
 * bench/cmd_compare.c - `bitbench compare BASE.jsonl NEW.jsonl`: per key, did NEW get
 * slower?  Exit 0 no regression, 1 at least one, 2 bad input.  The statistics and the
 * pairing are in harness/compare/compare.h; this file parses options and writes the formats:
 * markdown (a CI summary), json, bencher (Bencher Metric Format) and
 * github-action-benchmark (customSmallerIsBetter).
 */
#include "cli.h"

#include "../harness/compare/compare.h"
#include "../harness/report/compare_table.h"
#include "../harness/machine/machine.h"

#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CMD "compare"

typedef enum { OUT_MARKDOWN, OUT_JSON, OUT_BENCHER, OUT_GAB } out_format;

typedef struct compare_args {
    const char *base, *new_, *confirm, *out;
    int machine_query; /* 1: --machine-id, 2: --machine-json */
    out_format format;
    bb_compare_opts opts;
} compare_args;

static void usage(FILE *to)
{
    fprintf(to,
        "usage: bitbench compare BASE.jsonl NEW.jsonl [options]\n"
        "  Pairs rows (sweep rows or gemm --json lines) by key and gives each a verdict:\n"
        "  regression when the floor (a low quantile: calls nothing interrupted) got slower by\n"
        "  >= --threshold, the median's bootstrap CI reaches that too, and the Mann-Whitney U\n"
        "  test gives p < --alpha.  Medians and their CIs are reported.\n"
        "  --alpha A          significance level (default 0.01; the CI level is 1 - A)\n"
        "  --threshold PCT    minimum change of the median, in percent (default 5)\n"
        "  --floor-quantile Q the floor's quantile (default 0.05; 0: the median alone decides)\n"
        "  --normalize IMPL   compare ratios to implementation IMPL (or the row of format IMPL)\n"
        "                     measured in the same run, so a slower machine is not a regression\n"
        "  --confirm FILE     a rerun of NEW: a regression counts only if FILE shows it too\n"
        "  --allow-different-machines   compare rows whose machine ids differ\n"
        "  --format F         markdown (default) | json | bencher | github-action-benchmark\n"
        "  --out FILE         write the output there instead of stdout\n"
        "  --resamples N      bootstrap resamples (default 2000);  --seed S (default 1)\n"
        "usage: bitbench compare --machine-id | --machine-json\n"
        "  this machine's id as sweep rows record it (CPU, ISA cap, cores), or a JSON line\n"
        "  {\"kind\": \"machine\", ...} that gives the rows after it in a file that identity\n"
        "exit status: 0 no regression, 1 at least one regression, 2 bad input\n");
}

static int parse_format(const char *s, out_format *f)
{
    static const char *names[] = {"markdown", "json", "bencher", "github-action-benchmark"};
    for (int i = 0; i < 4; i++)
        if (!strcmp(s, names[i])) {
            *f = (out_format)i;
            return 0;
        }
    return bb_cli_error(CMD, "--format '%s': expected markdown, json, bencher or github-action-benchmark", s);
}

static int parse_threshold(const char *s, double *out)
{
    char buf[64];
    snprintf(buf, sizeof buf, "%s", s);
    size_t len = strlen(buf);
    if (len && buf[len - 1] == '%')
        buf[len - 1] = '\0';
    double pct;
    if (bb_cli_parse_double(CMD, "--threshold", buf, 0, 1000, &pct))
        return BB_EXIT_USAGE;
    *out = pct / 100.0;
    return 0;
}

static int parse(int argc, char **argv, compare_args *a)
{
    static const struct option opts[] = {
        {"alpha", required_argument, 0, 'a'},     {"threshold", required_argument, 0, 't'},
        {"floor-quantile", required_argument, 0, 'q'},
        {"normalize", required_argument, 0, 'n'}, {"confirm", required_argument, 0, 'c'},
        {"allow-different-machines", no_argument, 0, 'M'},
        {"format", required_argument, 0, 'f'},    {"out", required_argument, 0, 'o'},
        {"resamples", required_argument, 0, 'r'}, {"seed", required_argument, 0, 's'},
        {"machine-id", no_argument, 0, 'I'},      {"machine-json", no_argument, 0, 'J'},
        {"help", no_argument, 0, 'h'},            {0, 0, 0, 0}};
    memset(a, 0, sizeof *a);
    bb_compare_opts_default(&a->opts);
    opterr = 0;
    optind = 1;
    int c;
    uint64_t u;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        int bad = 0;
        switch (c) {
        case 'a': bad = bb_cli_parse_double(CMD, "--alpha", optarg, 1e-12, 0.5, &a->opts.alpha); break;
        case 't': bad = parse_threshold(optarg, &a->opts.threshold); break;
        case 'q': bad = bb_cli_parse_double(CMD, "--floor-quantile", optarg, 0, 0.49, &a->opts.floor_quantile); break;
        case 'n': a->opts.normalize = optarg; break;
        case 'c': a->confirm = optarg; break;
        case 'M': a->opts.allow_different_machines = true; break;
        case 'f': bad = parse_format(optarg, &a->format); break;
        case 'o': a->out = optarg; break;
        case 'r':
            bad = bb_cli_parse_u64(CMD, "--resamples", optarg, 100, 1000000, false, &u);
            a->opts.resamples = (size_t)u;
            break;
        case 's': bad = bb_cli_parse_u64(CMD, "--seed", optarg, 0, UINT64_MAX, false, &a->opts.seed); break;
        case 'I': a->machine_query = 1; break;
        case 'J': a->machine_query = 2; break;
        case 'h': usage(stdout); exit(BB_EXIT_OK);
        default:
            return bb_cli_error(CMD, "unknown or incomplete option '%s' (bitbench compare --help lists them)",
                                argv[optind - 1]);
        }
        if (bad)
            return BB_EXIT_USAGE;
    }
    if (a->machine_query && argc - optind == 0)
        return 0;
    if (argc - optind != 2)
        return bb_cli_error(CMD, "expected two result files, BASE and NEW; got %d argument(s)", argc - optind);
    a->base = argv[optind];
    a->new_ = argv[optind + 1];
    return 0;
}

/* ------------------------------------------------------------------ loading */

static int load(const char *path, const char *role, const compare_args *a, bb_rowset *s)
{
    char err[512];
    if (bb_rowset_load(path, s, err, sizeof err) != 0)
        return bb_cli_error(CMD, "%s %s", role, err);
    if (s->truncated_last)
        fprintf(stderr, "compare: %s '%s': last line incomplete (interrupted writer), skipped\n", role, path);
    if (s->sweep_schema && s->sweep_schema_min != s->sweep_schema)
        return bb_cli_error(CMD, "%s '%s' mixes sweep rows of schema_version %d and %d: schema 1 timed the "
                            "projections alone, schema 2 the whole decoder step; compare files of one schema",
                            role, path, s->sweep_schema_min, s->sweep_schema);
    if (a->opts.normalize && bb_rowset_normalize(s, a->opts.normalize) == 0)
        return bb_cli_error(CMD, "--normalize '%s': no row of %s '%s' could be normalized to it (no such "
                            "implementation or format measured beside the others in one run)",
                            a->opts.normalize, role, path);
    return 0;
}

/* ------------------------------------------------------------------ main */

static int write_output(const compare_args *a, const bb_comparison *c, int status)
{
    FILE *to = stdout;
    if (a->out && !(to = fopen(a->out, "w")))
        return bb_cli_error(CMD, "--out '%s': cannot open for writing", a->out);
    bb_compare_files files = {.base = a->base, .new_ = a->new_, .confirm = a->confirm};
    if (a->format == OUT_MARKDOWN) {
        bb_compare_markdown(to, &files, &a->opts, c);
    } else {
        json_t *j = a->format == OUT_JSON ? bb_compare_json(&files, &a->opts, c, status)
                  : a->format == OUT_BENCHER ? bb_compare_bencher_json(&a->opts, c) : bb_compare_gab_json(&a->opts, c);
        json_dumpf(j, to, JSON_INDENT(1));
        fputc('\n', to);
        json_decref(j);
    }
    if (to != stdout)
        fclose(to);
    bb_compare_summary_line(stderr, c, status);
    return 0;
}

static int print_machine(int what)
{
    bb_machine m;
    bb_machine_describe(&m);
    if (what == 1) {
        printf("%s\n", m.id);
        return 0;
    }
    json_t *line = json_pack("{s:s, s:i, s:o}", "kind", "machine", "schema_version", 1, "machine", bb_machine_json(&m));
    json_dumpf(line, stdout, JSON_COMPACT);
    putchar('\n');
    json_decref(line);
    return 0;
}

int bb_cmd_compare(int argc, char **argv)
{
    compare_args a;
    int rc = parse(argc, argv, &a);
    if (rc)
        return rc;
    if (a.machine_query)
        return print_machine(a.machine_query);
    bb_rowset base = {0}, new_ = {0}, confirm = {0};
    bb_comparison c = {0};
    char err[1024];
    if ((rc = load(a.base, "BASE", &a, &base)) || (rc = load(a.new_, "NEW", &a, &new_)) ||
        (a.confirm && (rc = load(a.confirm, "--confirm", &a, &confirm))))
        goto done;
    if (bb_compare_rowsets(&base, &new_, a.confirm ? &confirm : NULL, &a.opts, &c, err, sizeof err) != 0) {
        rc = bb_cli_error(CMD, "%s", err);
        goto done;
    }
    int status = c.regressions ? BB_EXIT_FINDING : BB_EXIT_OK;
    rc = write_output(&a, &c, status);
    if (!rc)
        rc = status;
done:
    bb_comparison_free(&c);
    bb_rowset_free(&base);
    bb_rowset_free(&new_);
    bb_rowset_free(&confirm);
    return rc;
}
