/*
 * harness/report/report_plot.c - the gnuplot side of `bitbench report`: data files (*.dat, one
 * block per series, "?" for a missing value) and plotvars.gp (titles, series names, flags)
 * written by bitbench; the drawing is done by the scripts under plots/, run once per figure
 * and terminal (PNG and SVG).
 *
 * Data columns keep measured and extrapolated points in separate columns so that a script
 * can draw the line through both and mark them differently.
 */
#include "report.h"
#include "report_fleet.h"

#include "../base/fmt.h"
#include "text.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* ------------------------------------------------------------------ writing helpers */

typedef struct datafile {
    FILE *f;
    char path[4096];
    int blocks;
} datafile;

static bool open_data(datafile *d, const char *dir, const char *prefix, const char *name, char *why,
                      size_t len)
{
    bb_fmt(d->path, sizeof d->path, "%s/%s%s", dir, prefix, name);
    d->f = fopen(d->path, "w");
    d->blocks = 0;
    if (!d->f)
        bb_fmt(why, len, "cannot write %s: %s", d->path, strerror(errno));
    return d->f != NULL;
}

static bool close_data(datafile *d, char *why, size_t len)
{
    if (fclose(d->f) != 0) {
        bb_fmt(why, len, "cannot write %s: %s", d->path, strerror(errno));
        return false;
    }
    return true;
}

/* A gnuplot block (index N): separated from the previous one by two blank lines. */
static void block(datafile *d, const char *what)
{
    fprintf(d->f, "%s# block %d: %s\n", d->blocks ? "\n\n" : "", d->blocks, what);
    d->blocks++;
}

/* A block needs a line even when its series has no point: gnuplot reads a block of comments
 * alone as part of the separator, and every later block would take the previous index. */
static void no_points(FILE *f, int columns)
{
    fprintf(f, "# no measured row\n");
    for (int i = 0; i < columns; i++)
        fprintf(f, "%s?", i ? " " : "");
    fprintf(f, "\n");
}

/* A number, or "?" (gnuplot's missing value here) when not finite. */
static void num(FILE *f, double v)
{
    if (isfinite(v))
        fprintf(f, " %.6g", v);
    else
        fprintf(f, " ?");
}

/* Measured value into the measured or the extrapolated column, "?" in the other. */
static void split(FILE *f, double v, bool extrapolated)
{
    num(f, extrapolated ? NAN : v);
    num(f, extrapolated ? v : NAN);
}

static bool ok_row(const bb_report_row *w)
{
    return w && !strcmp(w->status, "ok");
}

static double measured(const bb_report_row *w, double v)
{
    return ok_row(w) ? v : NAN;
}

static const bb_report_row *pick1(const bb_report *r, int m, const char *model, const char *format)
{
    return bb_report_pick(r, m, model, format, 0, 1, false);
}

/* ------------------------------------------------------------------ per-machine data */

static void latency_block(const bb_report *r, int m, const char *f, FILE *out)
{
    fprintf(out, "# model size_b latency_ms measured extrapolated speedup_vs_fp16 measured extrapolated ci_low "
                 "ci_high (paired speed-up and its 95%% interval where the rows have one)\n");
    for (size_t j = 0; j < r->n_models; j++) {
        const bb_report_model *mod = &r->models[j];
        if (!bb_report_has(r, m, mod->name, NULL))
            continue;
        const bb_report_row *w = pick1(r, m, mod->name, f), *base = pick1(r, m, mod->name, "fp16");
        double lat = measured(w, w ? w->latency_ms : NAN);
        double speedup = measured(base, base ? base->latency_ms : NAN) / lat;
        double lo = NAN, hi = NAN;
        if (w && ok_row(w) && isfinite(w->speedup)) { /* paired: samples taken side by side */
            speedup = w->speedup;
            lo = w->speedup_lo;
            hi = w->speedup_hi;
        }
        bool extrap = w && w->extrapolated;
        fprintf(out, "%s", mod->name);
        num(out, mod->size_b);
        num(out, lat);
        split(out, lat, extrap);
        num(out, speedup);
        split(out, speedup, extrap || (base && base->extrapolated));
        num(out, lo);
        num(out, hi);
        fprintf(out, "\n");
    }
}

static double modeled_field(const bb_report_row *w, int which)
{
    if (!w)
        return NAN;
    return which < 2 ? w->model_j_per_token[which] : w->weight_bytes;
}

static void memory_energy_block(const bb_report *r, int m, const char *f, FILE *mem, FILE *en)
{
    fprintf(mem, "# model size_b weight_gb_modeled reduction_vs_fp16\n");
    fprintf(en, "# model size_b mj_7nm mj_45nm ratio_7nm ratio_45nm measured_mj\n");
    for (size_t j = 0; j < r->n_models; j++) {
        const bb_report_model *mod = &r->models[j];
        if (!bb_report_has(r, m, mod->name, NULL))
            continue;
        const bb_report_row *w = pick1(r, m, mod->name, f), *base = pick1(r, m, mod->name, "fp16");
        fprintf(mem, "%s", mod->name);
        num(mem, mod->size_b);
        num(mem, modeled_field(w, 2) / 1e9);
        num(mem, modeled_field(base, 2) / modeled_field(w, 2));
        fprintf(mem, "\n");
        fprintf(en, "%s", mod->name);
        num(en, mod->size_b);
        num(en, modeled_field(w, 1) * 1e3);
        num(en, modeled_field(w, 0) * 1e3);
        num(en, modeled_field(base, 1) / modeled_field(w, 1));
        num(en, modeled_field(base, 0) / modeled_field(w, 0));
        num(en, w && ok_row(w) && w->energy_measured ? w->energy_j_per_token * 1e3 : NAN);
        fprintf(en, "\n");
    }
}

static void roofline_blocks(const bb_report *r, int m, const char *f, FILE *roof, FILE *bw)
{
    fprintf(roof, "# model batch ops_per_byte gops measured extrapolated\n");
    bool any = false;
    for (size_t i = 0; i < r->n_rows; i++) {
        const bb_report_row *w = &r->rows[i];
        if (w->machine != m || strcmp(w->format, f) || !ok_row(w) || w->threads != r->machines[m].threads ||
            !isfinite(w->gops) || !isfinite(w->gbps) || w->gbps <= 0)
            continue;
        fprintf(roof, "%s %ld", w->model, w->batch);
        num(roof, w->gops / w->gbps);
        num(roof, w->gops);
        split(roof, w->gops, w->extrapolated);
        fprintf(roof, "\n");
        any = true;
    }
    if (!any)
        no_points(roof, 6);
    fprintf(bw, "# model size_b gbps measured extrapolated pct_of_ceiling\n");
    for (size_t j = 0; j < r->n_models; j++) {
        const bb_report_model *mod = &r->models[j];
        if (!bb_report_has(r, m, mod->name, NULL))
            continue;
        const bb_report_row *w = pick1(r, m, mod->name, f);
        double gbps = measured(w, w ? w->gbps : NAN);
        fprintf(bw, "%s", mod->name);
        num(bw, mod->size_b);
        num(bw, gbps);
        split(bw, gbps, w && w->extrapolated);
        num(bw, w ? 100 * gbps / w->ceiling_gbps : NAN);
        fprintf(bw, "\n");
    }
}

/* One row per format: the Table 3 bars. */
static void table3_rows(const bb_report *r, int m, const char *model, size_t idx, const char *f, FILE *out)
{
    const bb_report_row *w = model ? bb_report_pick(r, m, model, f, 0, 0, true) : NULL;
    double tps = measured(w, w ? w->tokens_per_s : NAN);
    char label[96];
    if (!w)
        bb_fmt(label, sizeof label, "not run");
    else if (w->max_batch == 0)
        bb_fmt(label, sizeof label, "does not fit");
    else if (!ok_row(w))
        bb_fmt(label, sizeof label, "batch %ld: %s", w->batch, w->status);
    else
        bb_fmt(label, sizeof label, "batch %ld", w->batch);
    fprintf(out, "%zu %s", idx, f);
    num(out, tps);
    split(out, tps, w && w->extrapolated);
    fprintf(out, " \"%s\" %d\n", label, !isfinite(tps));
}

/* tokens/s against batch: the list batches and the budget batch, ascending. */
static void batch_block(const bb_report *r, int m, const char *model, const char *f, FILE *out)
{
    fprintf(out, "# batch tokens_per_s measured extrapolated\n");
    long last = 0;
    for (bool any = false;; any = true) {
        const bb_report_row *next = NULL;
        for (size_t i = 0; i < r->n_rows; i++) {
            const bb_report_row *w = &r->rows[i];
            if (w->machine == m && ok_row(w) && model && !strcmp(w->model, model) && !strcmp(w->format, f) &&
                w->threads == r->machines[m].threads && w->batch > last && (!next || w->batch < next->batch))
                next = bb_report_pick(r, m, model, f, 0, w->batch, w->budget_batch);
        }
        if (!next) {
            if (!any)
                no_points(out, 4);
            return;
        }
        fprintf(out, "%ld", next->batch);
        num(out, next->tokens_per_s);
        split(out, next->tokens_per_s, next->extrapolated);
        fprintf(out, "\n");
        last = next->batch;
    }
}

/* ------------------------------------------------------------------ plotvars.gp */

static void xtics(const bb_report *r, int m, FILE *out)
{
    fprintf(out, "xtics_models = '(");
    bool first = true;
    double lo = INFINITY, hi = 0;
    for (size_t j = 0; j < r->n_models; j++) {
        const bb_report_model *mod = &r->models[j];
        if (m >= 0 && !bb_report_has(r, m, mod->name, NULL))
            continue;
        fprintf(out, "%s\"%s\" %.6g", first ? "" : ", ", mod->name, mod->size_b);
        first = false;
        lo = fmin(lo, mod->size_b);
        hi = fmax(hi, mod->size_b);
    }
    fprintf(out, ")'\nsize_min = %.6g\nsize_max = %.6g\n", lo / 1.5, hi * 2.2);
}

/* "Intel(R) Xeon(R) Processor (ci-vm-2, KVM guest) - 2025-01-31" */
static void machine_title(const bb_report_machine *M, char *buf, size_t len)
{
    bb_fmt(buf, len, "%s (%s%s%s, %d thread%s) - %.10s", M->cpu_model, M->hostname,
           M->virtualized ? ", " : "", M->virtualized ? (M->hypervisor[0] ? M->hypervisor : "VM") : "",
           M->threads, M->threads == 1 ? "" : "s", M->last_time);
}

static int count_measured(const bb_report *r, int m, bool energy)
{
    int n = 0;
    for (size_t i = 0; i < r->n_rows; i++) {
        const bb_report_row *w = &r->rows[i];
        if (w->machine == m && ok_row(w) && (!energy || w->energy_measured))
            n++;
    }
    return n;
}

static const char *energy_note(const bb_report *r, int m)
{
    for (size_t i = 0; i < r->n_rows; i++) {
        const bb_report_row *w = &r->rows[i];
        if (w->machine == m && ok_row(w) && !w->energy_measured)
            return w->energy_reason;
    }
    return "";
}

static void plotvars(const bb_report *r, int m, const char *table3_model, FILE *out)
{
    const bb_report_machine *M = &r->machines[m];
    char title[512];
    machine_title(M, title, sizeof title);
    fprintf(out, "# written by bitbench report: what the scripts under plots/ need to know\nmachine_title = ");
    bb_gp_string(out, title);
    int n = 0;
    for (size_t i = 0; i < r->n_formats; i++)
        n += bb_report_has(r, m, NULL, r->formats[i]);
    fprintf(out, "\narray series[%d] = [", n);
    for (size_t i = 0, k = 0; i < r->n_formats; i++)
        if (bb_report_has(r, m, NULL, r->formats[i]))
            fprintf(out, "%s\"%s\"", k++ ? ", " : "", r->formats[i]);
    fprintf(out, "]\nseries_count = %d\n", n);
    xtics(r, m, out);
    fprintf(out, "have_measured = %d\nhave_energy_measured = %d\nenergy_note = ", count_measured(r, m, false) > 0,
            count_measured(r, m, true) > 0);
    bb_gp_string(out, energy_note(r, m));
    fprintf(out, "\nhave_ceiling = %d\nbandwidth_ceiling = %.6g\n", isfinite(M->ceiling_gbps),
            isfinite(M->ceiling_gbps) ? M->ceiling_gbps : 0.0);
    /* compute roofs (harness/machine/roofs.h) when the rows carry them; 0 = not drawn */
    static const char *const roof_vars[3] = {"roof_int8_dot", "roof_fp32_fma", "roof_int_add"};
    for (int k = 0; k < 3; k++)
        fprintf(out, "%s = %.6g\n", roof_vars[k], isfinite(M->roof_gops[k]) ? M->roof_gops[k] : 0.0);
    fprintf(out, "table3_model = ");
    bb_gp_string(out, table3_model ? table3_model : "");
    const char *bm = bb_report_batch_model(r, m);
    fprintf(out, "\nbatch_model = ");
    bb_gp_string(out, bm ? bm : "");
    const bb_paper_ref *mm = bb_report_paper(r, "all", "ternary", "matmul_energy_ratio_7nm");
    fprintf(out, "\nhave_paper = %d\npaper_matmul_ratio_7nm = %.6g\n", r->n_refs > 0, mm ? mm->value : 0.0);
    fprintf(out, "paper_table3 = ");
    char p3[256] = "";
    const bb_paper_ref *lb = bb_report_paper(r, table3_model ? table3_model : "", "fp16", "max_batch"),
                       *lt = bb_report_paper(r, table3_model ? table3_model : "", "fp16", "tokens_per_s"),
                       *bb = bb_report_paper(r, table3_model ? table3_model : "", "ternary", "max_batch"),
                       *bt = bb_report_paper(r, table3_model ? table3_model : "", "ternary", "tokens_per_s");
    if (lb && lt && bb && bt)
        bb_fmt(p3, sizeof p3, "paper (GPU, 2x A100 80GB): LLaMA batch %g, %g tokens/s; BitNet b1.58 batch %g, "
                              "%g tokens/s", lb->value, lt->value, bb->value, bt->value);
    bb_gp_string(out, p3);
    fprintf(out, "\n");
}

/* The paper's points of one metric, for the models of machine m (m < 0: of any machine),
 * so that no point sits at a size the figure has no tick for. */
static void paper_block(const bb_report *r, int m, datafile *d, const char *metric)
{
    block(d, metric);
    fprintf(d->f, "# model size_b value label (the paper's BitNet b1.58 over LLaMA, GPU)\n");
    for (size_t i = 0; i < r->n_refs; i++) {
        const bb_paper_ref *p = &r->refs[i];
        if (strcmp(p->metric, metric) || strcmp(p->family, "ternary"))
            continue;
        for (size_t j = 0; j < r->n_models; j++) {
            const bb_report_model *mod = &r->models[j];
            if (strcmp(mod->name, p->model) || (m >= 0 && !bb_report_has(r, m, mod->name, NULL)))
                continue;
            fprintf(d->f, "%s %.6g %.6g \"%sx\"\n", p->model, mod->size_b, p->value, p->text);
        }
    }
}

static int write_paper(const bb_report *r, int m, const char *dir, const char *prefix, char *why, size_t len)
{
    datafile paper;
    if (!open_data(&paper, dir, prefix, "paper.dat", why, len))
        return -1;
    paper_block(r, m, &paper, "speedup");
    paper_block(r, m, &paper, "memory_reduction");
    paper_block(r, m, &paper, "end_to_end_energy_ratio");
    return close_data(&paper, why, len) ? 0 : -1;
}

enum { F_LATENCY, F_MEMORY, F_ENERGY, F_TABLE3, F_BATCH, F_ROOF, F_BW, F_VARS, F_COUNT };
static const char *const data_names[F_COUNT] = {"latency.dat", "memory.dat", "energy.dat", "table3.dat",
                                                "batch.dat", "roofline.dat", "bandwidth.dat", "plotvars.gp"};

static int write_machine(const bb_report *r, int m, const char *dir, char *why, size_t len)
{
    char prefix[16];
    bb_report_prefix(r, m, prefix, sizeof prefix);
    datafile d[F_COUNT];
    int opened = 0;
    for (; opened < F_COUNT; opened++)
        if (!open_data(&d[opened], dir, prefix, data_names[opened], why, len))
            break;
    if (opened == F_COUNT) {
        const char *t3 = bb_report_table3_model(r, m), *bm = bb_report_batch_model(r, m);
        fprintf(d[F_TABLE3].f, "# idx format tokens_per_s measured extrapolated label unavailable (%s, budget batch)\n",
                t3 ? t3 : "no budget rows");
        for (size_t i = 0, k = 0; i < r->n_formats; i++) {
            const char *f = r->formats[i];
            if (!bb_report_has(r, m, NULL, f))
                continue;
            for (int x = F_LATENCY; x <= F_BW; x++)
                if (x != F_TABLE3)
                    block(&d[x], f);
            latency_block(r, m, f, d[F_LATENCY].f);
            memory_energy_block(r, m, f, d[F_MEMORY].f, d[F_ENERGY].f);
            roofline_blocks(r, m, f, d[F_ROOF].f, d[F_BW].f);
            batch_block(r, m, bm, f, d[F_BATCH].f);
            table3_rows(r, m, t3, k++, f, d[F_TABLE3].f);
        }
        plotvars(r, m, t3, d[F_VARS].f);
    }
    int rc = opened == F_COUNT ? write_paper(r, m, dir, prefix, why, len) : -1;
    for (int i = 0; i < opened; i++)
        if (!close_data(&d[i], why, len))
            rc = -1;
    return rc;
}

/* ------------------------------------------------------------------ shared data */

/* cross.dat: block (format k, machine m) = k x machines + m, speed-up vs fp16 by size. */
static void cross_data(const bb_report *r, datafile *d, FILE *vars)
{
    int k = 0;
    fprintf(vars, "# written by bitbench report for plots/cross_machine.gp\narray cross_formats[%zu]\n",
            r->n_formats);
    for (size_t i = 0; i < r->n_formats; i++) {
        const char *f = r->formats[i];
        if (!strcmp(f, "fp16"))
            continue;
        fprintf(vars, "cross_formats[%d] = \"%s\"\n", ++k, f);
        for (size_t m = 0; m < r->n_machines; m++) {
            block(d, f);
            fprintf(d->f, "# machine %s: model size_b speedup measured extrapolated\n", r->machines[m].label);
            for (size_t j = 0; j < r->n_models; j++) {
                const bb_report_model *mod = &r->models[j];
                const bb_report_row *w = pick1(r, (int)m, mod->name, f), *base = pick1(r, (int)m, mod->name, "fp16");
                double s = measured(base, base ? base->latency_ms : NAN) / measured(w, w ? w->latency_ms : NAN);
                fprintf(d->f, "%s", mod->name);
                num(d->f, mod->size_b);
                num(d->f, s);
                split(d->f, s, (w && w->extrapolated) || (base && base->extrapolated));
                fprintf(d->f, "\n");
            }
        }
    }
    fprintf(vars, "cross_count = %d\nmachine_count = %zu\narray machine_names[%zu]\n", k, r->n_machines,
            r->n_machines);
    for (size_t m = 0; m < r->n_machines; m++) {
        char title[512];
        machine_title(&r->machines[m], title, sizeof title);
        fprintf(vars, "machine_names[%zu] = ", m + 1);
        bb_gp_string(vars, title);
        fprintf(vars, "\n");
    }
    xtics(r, -1, vars);
    fprintf(vars, "have_paper = %d\n", r->n_refs > 0);
}

/* With several machines: the cross-machine data, and the paper's points at every model. */
static int write_shared(const bb_report *r, const char *dir, char *why, size_t len)
{
    if (r->n_machines < 2)
        return 0;
    if (write_paper(r, -1, dir, "", why, len))
        return -1;
    datafile cross, vars;
    if (!open_data(&cross, dir, "", "cross.dat", why, len))
        return -1;
    if (!open_data(&vars, dir, "", "crossvars.gp", why, len)) {
        fclose(cross.f);
        return -1;
    }
    cross_data(r, &cross, vars.f);
    bool ok = close_data(&cross, why, len);
    ok = close_data(&vars, why, len) && ok;
    return ok ? bb_report_fleet_data(r, dir, why, len) : -1;
}

int bb_report_write_data(const bb_report *r, const char *dir, char *why, size_t len)
{
    if (write_shared(r, dir, why, len))
        return -1;
    for (size_t m = 0; m < r->n_machines; m++)
        if (write_machine(r, (int)m, dir, why, len))
            return -1;
    return 0;
}

/* ------------------------------------------------------------------ running gnuplot */

/* The gnuplot executable: explicit, $BITBENCH_GNUPLOT, else "gnuplot" searched on PATH. */
static bool find_gnuplot(const char *given, char *buf, size_t len, char *why, size_t whylen)
{
    const char *exe = given ? given : getenv("BITBENCH_GNUPLOT");
    if (exe && *exe) {
        bb_fmt(buf, len, "%s", exe);
        if (access(buf, X_OK) == 0)
            return true;
        bb_fmt(why, whylen, "gnuplot '%s' is not an executable file (%s)", exe, strerror(errno));
        return false;
    }
    const char *path = getenv("PATH");
    for (const char *p = path ? path : ""; *p;) {
        size_t n = strcspn(p, ":");
        bb_fmt(buf, len, "%.*s/gnuplot", (int)n, p);
        if (n && access(buf, X_OK) == 0)
            return true;
        p += n + (p[n] == ':');
    }
    bb_fmt(why, whylen, "gnuplot was not found on PATH (%s); install it (Debian: apt-get install gnuplot-nox) "
                        "and run bitbench report again",
           path && *path ? path : "PATH is empty");
    return false;
}

/* Runs one script for one terminal; its output goes to log_fd.  The exit status, or -1. */
static int run_gnuplot(const char *gnuplot, const char *plots_dir, const char *dir, const char *prefix,
                       const char *script, const char *term, int log_fd)
{
    char setup[8192], path[4096];
    bb_fmt(setup, sizeof setup, "plots='%s/'; data='%s/%s'; shared='%s/'; term_kind='%s'", plots_dir, dir,
           prefix, dir, term);
    bb_fmt(path, sizeof path, "%s/%s.gp", plots_dir, script);
    char *argv[] = {(char *)gnuplot, "-e", setup, path, NULL};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, log_fd, STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&fa, log_fd, STDERR_FILENO);
    pid_t pid;
    int err = posix_spawn(&pid, gnuplot, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (err)
        return -1;
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static const char *const figures[][2] = {
    {"latency", "Figure 2a: decode latency per token and speed-up vs fp16"},
    {"memory", "Figure 2b: weight memory and reduction vs fp16"},
    {"energy", "Figure 3: energy per token (modeled, and measured where measured) and ratio to fp16"},
    {"throughput", "Table 3: throughput at the memory-budget batch, and tokens/s vs batch"},
    {"roofline", "Roofline: achieved GOP/s and GB/s against the measured bandwidth ceiling"},
};

static bool nonempty_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && st.st_size > 0;
}

/* One figure as PNG and SVG; appends a markdown line to note.  True when both were made. */
static bool figure(const char *gnuplot, const char *plots_dir, const char *dir, const char *prefix,
                   const char *script, const char *caption, int log_fd, char *note, size_t len)
{
    char data[4096], png[4096], svg[4096];
    bb_fmt(data, sizeof data, "%s/%s", dir, prefix);
    bb_fmt(png, sizeof png, "%s%s.png", data, script);
    bb_fmt(svg, sizeof svg, "%s%s.svg", data, script);
    unlink(png);
    unlink(svg);
    dprintf(log_fd, "== %s/%s.gp on %s*\n", plots_dir, script, data);
    int rc_png = run_gnuplot(gnuplot, plots_dir, dir, prefix, script, "png", log_fd);
    int rc_svg = run_gnuplot(gnuplot, plots_dir, dir, prefix, script, "svg", log_fd);
    size_t used = strlen(note);
    if (rc_png == 0 && rc_svg == 0 && nonempty_file(png) && nonempty_file(svg)) {
        bb_fmt(note + used, len - used, "- %s ([SVG](%s%s.svg))\n\n  ![%s%s](%s%s.png)\n\n", caption, prefix,
               script, prefix, script, prefix, script);
        return true;
    }
    bb_fmt(note + used, len - used, "- %s: unavailable: gnuplot failed on plots/%s.gp (exit %d; see gnuplot.log)\n",
           caption, script, rc_png ? rc_png : rc_svg);
    return false;
}

int bb_report_plot(const bb_report *r, const char *dir, const char *plots_dir, const char *gnuplot, char *note,
                   size_t len)
{
    char exe[4096], why[1024];
    if (!find_gnuplot(gnuplot, exe, sizeof exe, why, sizeof why)) {
        bb_fmt(note, len, "Plots skipped: %s. The tables above and the .dat files are complete.\n", why);
        fprintf(r->log ? r->log : stderr, "bitbench report: plots skipped: %s\n", why);
        return 0;
    }
    if (strchr(dir, '\'') || strchr(plots_dir, '\'')) {
        bb_fmt(note, len, "Plots skipped: a path contains a single quote, which gnuplot's -e cannot take.\n");
        return 0;
    }
    char log_path[4096];
    bb_fmt(log_path, sizeof log_path, "%s/gnuplot.log", dir);
    int log_fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (log_fd < 0) {
        bb_fmt(note, len, "Plots skipped: cannot write %s: %s.\n", log_path, strerror(errno));
        return 1;
    }
    int failed = 0;
    note[0] = 0;
    for (size_t m = 0; m < r->n_machines; m++) {
        char prefix[16];
        bb_report_prefix(r, (int)m, prefix, sizeof prefix);
        if (r->n_machines > 1) {
            size_t used = strlen(note);
            bb_fmt(note + used, len - used, "\n%s:\n\n", r->machines[m].label);
        }
        for (size_t i = 0; i < sizeof figures / sizeof *figures; i++)
            failed += !figure(exe, plots_dir, dir, prefix, figures[i][0], figures[i][1], log_fd, note, len);
    }
    if (r->n_machines > 1) {
        size_t used = strlen(note);
        bb_fmt(note + used, len - used, "\nAll machines:\n\n");
        failed += !figure(exe, plots_dir, dir, "", "cross_machine",
                          "Across machines: speed-up vs fp16, one line per machine", log_fd, note, len);
        failed += !figure(exe, plots_dir, dir, "", "fleet",
                          "Across machines: per format, speed-up vs fp16 and % of each machine's bandwidth "
                          "ceiling", log_fd, note, len);
    }
    close(log_fd);
    return failed;
}
