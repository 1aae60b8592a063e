/*
 * bench/cmd_history.c - `bitbench history DIR|FILE...`: each key's median over successive
 * result files, with step changes detected (harness/compare/history.h), as a markdown (or JSON)
 * report, gnuplot data, and a plot drawn by plots/history.gp when gnuplot is installed.
 * Files of a directory are taken in path order (result directories are named by time).
 */
#include "cli.h"

#include "../harness/compare/compare.h"
#include "../harness/compare/history.h"
#include "../harness/report/history_table.h"
#include "../harness/base/stats.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CMD "history"

typedef struct history_args {
    char **files;
    size_t n_files;
    const char *out_dir, *key_filter, *normalize;
    bool plot, json, allow_machines;
    bb_history_opts h;
} history_args;

static void usage(FILE *to)
{
    fprintf(to,
        "usage: bitbench history [options] DIR|FILE...\n"
        "  The median of every key over successive result files (sweep rows or gemm --json\n"
        "  lines; a DIR is searched for *.jsonl, taken in path order), with step changes.\n"
        "  --threshold PCT    smallest step, percent of the level (default 5)\n"
        "  --alpha A          significance of a step (Mann-Whitney U, default 0.01)\n"
        "  --window W         files each side that set a level (default 3)\n"
        "  --normalize IMPL   ratios to IMPL (or the row of format IMPL) of the same run\n"
        "  --key TEXT         only keys containing TEXT\n"
        "  --out DIR          history.dat, history-steps.dat, history.png (default results/history)\n"
        "  --no-plot          write the data, do not run gnuplot\n"
        "  --json             the report as JSON instead of markdown\n"
        "  --allow-different-machines   follow keys across machines (refused by default)\n");
}

/* ------------------------------------------------------------------ files */

static int add_file(history_args *a, const char *path)
{
    a->files = realloc(a->files, (a->n_files + 1) * sizeof *a->files);
    a->files[a->n_files++] = strdup(path);
    return 0;
}

static int cmp_str(const void *x, const void *y)
{
    return strcmp(*(char *const *)x, *(char *const *)y);
}

/* Every *.jsonl under dir (recursively), appended in path order. */
static void add_dir(history_args *a, const char *dir)
{
    size_t first = a->n_files;
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(path, &st) != 0)
            continue;
        size_t len = strlen(e->d_name);
        if (S_ISDIR(st.st_mode))
            add_dir(a, path);
        else if (len > 6 && !strcmp(e->d_name + len - 6, ".jsonl"))
            add_file(a, path);
    }
    if (d)
        closedir(d);
    qsort(a->files + first, a->n_files - first, sizeof *a->files, cmp_str);
}

static int parse(int argc, char **argv, history_args *a)
{
    static const struct option opts[] = {
        {"threshold", required_argument, 0, 't'}, {"alpha", required_argument, 0, 'a'},
        {"window", required_argument, 0, 'w'},    {"normalize", required_argument, 0, 'n'},
        {"key", required_argument, 0, 'k'},       {"out", required_argument, 0, 'o'},
        {"no-plot", no_argument, 0, 'P'},         {"json", no_argument, 0, 'j'},
        {"allow-different-machines", no_argument, 0, 'M'},
        {"help", no_argument, 0, 'h'},            {0, 0, 0, 0}};
    memset(a, 0, sizeof *a);
    a->h = (bb_history_opts){.threshold = 0.05, .alpha = 0.01, .window = 3};
    a->plot = true;
    a->out_dir = "results/history";
    opterr = 0;
    optind = 1;
    int c;
    uint64_t w;
    double pct;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        int bad = 0;
        switch (c) {
        case 't':
            bad = bb_cli_parse_double(CMD, "--threshold", optarg, 0, 1000, &pct);
            a->h.threshold = pct / 100;
            break;
        case 'a': bad = bb_cli_parse_double(CMD, "--alpha", optarg, 1e-12, 0.5, &a->h.alpha); break;
        case 'w':
            bad = bb_cli_parse_u64(CMD, "--window", optarg, 1, 32, false, &w);
            a->h.window = (size_t)w;
            break;
        case 'n': a->normalize = optarg; break;
        case 'k': a->key_filter = optarg; break;
        case 'o': a->out_dir = optarg; break;
        case 'P': a->plot = false; break;
        case 'j': a->json = true; break;
        case 'M': a->allow_machines = true; break;
        case 'h': usage(stdout); exit(BB_EXIT_OK);
        default:
            return bb_cli_error(CMD, "unknown or incomplete option '%s' (bitbench history --help lists them)",
                                argv[optind - 1]);
        }
        if (bad)
            return BB_EXIT_USAGE;
    }
    if (optind == argc)
        return bb_cli_error(CMD, "no result files: give a directory of *.jsonl files or the files, oldest first");
    for (int i = optind; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0)
            return bb_cli_error(CMD, "'%s': no such file or directory", argv[i]);
        if (S_ISDIR(st.st_mode))
            add_dir(a, argv[i]);
        else
            add_file(a, argv[i]);
    }
    if (a->n_files < 2)
        return bb_cli_error(CMD, "%zu result file(s) found; a history needs at least 2", a->n_files);
    return 0;
}

static int load_all(const history_args *a, bb_rowset *sets)
{
    char err[512];
    const char *machine = NULL, *machine_file = NULL;
    for (size_t f = 0; f < a->n_files; f++) {
        if (bb_rowset_load(a->files[f], &sets[f], err, sizeof err) != 0)
            return bb_cli_error(CMD, "%s", err);
        if (a->normalize && bb_rowset_normalize(&sets[f], a->normalize) == 0)
            return bb_cli_error(CMD, "--normalize '%s': nothing in '%s' could be normalized to it", a->normalize,
                                a->files[f]);
        for (size_t i = 0; i < sets[f].n; i++) {
            const char *id = sets[f].rows[i].machine_id;
            if (!id)
                continue;
            if (!machine) {
                machine = id;
                machine_file = a->files[f];
            } else if (strcmp(id, machine) != 0 && !a->allow_machines) {
                return bb_cli_error(CMD, "'%s' (machine %s) and '%s' (machine %s) come from different machines; "
                                    "pass --allow-different-machines to follow keys across them",
                                    machine_file, machine, a->files[f], id);
            }
        }
    }
    return 0;
}

/* mkdir -p, without a shell: --out is the user's text (a quote in it once reached sh). */
static int make_dirs(const char *dir)
{
    char buf[PATH_MAX];
    if (snprintf(buf, sizeof buf, "%s", dir) >= (int)sizeof buf)
        return -1;
    for (char *p = buf + 1;; p++) {
        if (*p == '/' || *p == 0) {
            char keep = *p;
            *p = 0;
            if (mkdir(buf, 0755) != 0 && errno != EEXIST)
                return -1;
            *p = keep;
            if (!keep)
                break;
        }
    }
    struct stat st;
    return stat(dir, &st) == 0 && S_ISDIR(st.st_mode) ? 0 : -1;
}

/* ------------------------------------------------------------------ gnuplot */

/* plots/history.gp: $BITBENCH_PLOTS, else next to the binary's parent (build/..), else ./plots. */
static void find_script(char *buf, size_t len)
{
    const char *env = getenv("BITBENCH_PLOTS");
    char exe[PATH_MAX];
    ssize_t n;
    if (env) {
        snprintf(buf, len, "%s/history.gp", env);
        return;
    }
    if ((n = readlink("/proc/self/exe", exe, sizeof exe - 1)) > 0) {
        exe[n] = '\0';
        snprintf(buf, len, "%s/../plots/history.gp", dirname(exe));
        if (access(buf, R_OK) == 0)
            return;
    }
    snprintf(buf, len, "plots/history.gp");
}

static void plot(const history_args *a, const char *dat, const char *steps_path, size_t n_keys, size_t n_steps)
{
    char script[PATH_MAX], png[PATH_MAX], cmd[4 * PATH_MAX + 256];
    if (system("command -v gnuplot >/dev/null 2>&1") != 0) {
        fprintf(stderr, "history: plot skipped: gnuplot not found (install gnuplot-nox); data in %s\n", dat);
        return;
    }
    find_script(script, sizeof script);
    if (access(script, R_OK) != 0) {
        fprintf(stderr, "history: plot skipped: %s not found (set BITBENCH_PLOTS to the plots/ directory)\n", script);
        return;
    }
    snprintf(png, sizeof png, "%s/history.png", a->out_dir);
    snprintf(cmd, sizeof cmd, "gnuplot -e \"datafile='%s'; stepsfile='%s'; outfile='%s'; nkeys=%zu; nsteps=%zu\" '%s'",
             dat, steps_path, png, n_keys, n_steps, script);
    if (system(cmd) == 0)
        fprintf(stderr, "history: plot written to %s\n", png);
    else
        fprintf(stderr, "history: gnuplot failed on %s (command: %s)\n", script, cmd);
}

int bb_cmd_history(int argc, char **argv)
{
    history_args a;
    int rc = parse(argc, argv, &a);
    bb_rowset *sets = NULL;
    bb_key_series *ks = NULL;
    size_t n_keys = 0;
    if (rc)
        goto done;
    sets = calloc(a.n_files, sizeof *sets);
    if ((rc = load_all(&a, sets)))
        goto done;
    ks = bb_history_series(sets, a.n_files, a.key_filter, &a.h, &n_keys);
    if (n_keys == 0) {
        rc = bb_cli_error(CMD, "no key%s%s%s in the %zu file(s)", a.key_filter ? " containing '" : "",
                          a.key_filter ? a.key_filter : "", a.key_filter ? "'" : "", a.n_files);
        goto done;
    }
    bb_history_view view = {.files = (const char *const *)a.files, .n_files = a.n_files, .normalize = a.normalize,
                            .opts = a.h};
    if (a.json)
        bb_history_json(stdout, &view, ks, n_keys);
    else
        bb_history_markdown(stdout, &view, ks, n_keys);
    char dat[PATH_MAX], steps_path[PATH_MAX];
    if (make_dirs(a.out_dir) != 0)
        rc = bb_cli_error(CMD, "--out '%s': cannot create the directory", a.out_dir);
    else if (bb_history_write_data(&view, ks, n_keys, a.out_dir, dat, steps_path, sizeof dat) != 0)
        rc = bb_cli_error(CMD, "--out '%s': cannot write history.dat there", a.out_dir);
    if (rc) {
        goto done;
    }
    size_t n_steps = 0;
    for (size_t k = 0; k < n_keys; k++)
        n_steps += ks[k].n_steps;
    if (a.plot)
        plot(&a, dat, steps_path, n_keys, n_steps);
    else
        fprintf(stderr, "history: plot not drawn (--no-plot); data in %s\n", dat);
done:
    if (ks)
        bb_history_series_free(ks, n_keys, a.n_files);
    for (size_t f = 0; sets && f < a.n_files; f++)
        bb_rowset_free(&sets[f]);
    free(sets);
    for (size_t f = 0; f < a.n_files; f++)
        free(a.files[f]);
    free(a.files);
    return rc;
}
