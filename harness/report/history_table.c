/* harness/report/history_table.c - what `bitbench history` prints and plots: the markdown table,
 * the JSON ("bitbench.history/1") and the gnuplot data of a set of key series (history_table.h). */
#include "history_table.h"

#include "text.h"

#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

/* "dir/file.jsonl" of a path: enough to tell results/<time>/sweep.jsonl files apart. */
static const char *short_label(const char *path, char *buf, size_t len)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return path;
    const char *prev = slash;
    while (prev > path && prev[-1] != '/')
        prev--;
    snprintf(buf, len, "%s", prev);
    return buf;
}

void bb_history_markdown(FILE *to, const bb_history_view *a, const bb_key_series *ks, size_t n)
{
    char lb[PATH_MAX];
    size_t steps = 0;
    for (size_t k = 0; k < n; k++)
        steps += ks[k].n_steps;
    fprintf(to, "### bitbench history: %zu key(s) over %zu file(s), %zu step change(s)\n\n", n, a->n_files, steps);
    char lb2[PATH_MAX];
    fprintf(to, "Files, oldest first: `%s` ... `%s`. Per file, the median of the key's samples (measured; %s). A step: "
           "the median of up to %zu files' medians each side differs by >= %.1f%%, and Mann-Whitney U over their "
           "samples gives p < %g.\n\n", short_label(a->files[0], lb, sizeof lb),
           short_label(a->files[a->n_files - 1], lb2, sizeof lb2),
           a->normalize ? "ratios to the reference measured in the same run" : "ns", a->opts.window,
           100 * a->opts.threshold, a->opts.alpha);
    fprintf(to, "| key | files | first median | last median | steps (file: change) |\n|---|---:|---:|---:|---|\n");
    for (size_t k = 0; k < n; k++) {
        const bb_key_series *s = &ks[k];
        size_t present = 0, f0 = bb_history_first_present(s, a->n_files, false), f1 = bb_history_first_present(s, a->n_files, true);
        for (size_t f = 0; f < a->n_files; f++)
            present += s->pts[f].present;
        fputs("| ", to);
        bb_md_code(to, s->key);
        fprintf(to, " | %zu | %.4g | %.4g |", present, s->pts[f0].median, s->pts[f1].median);
        for (size_t i = 0; i < s->n_steps; i++)
            fprintf(to, "%s %s: %+.1f%%%s", i ? "," : "", short_label(a->files[s->steps[i].at], lb, sizeof lb),
                   100 * s->steps[i].change, s->steps[i].tentative ? " (tentative: last file)" : "");
        fprintf(to, "%s |\n", s->n_steps ? "" : " none");
    }
}

void bb_history_json(FILE *to, const bb_history_view *a, const bb_key_series *ks, size_t n)
{
    json_t *files = json_array(), *keys = json_array();
    for (size_t f = 0; f < a->n_files; f++)
        json_array_append_new(files, json_string(a->files[f]));
    for (size_t k = 0; k < n; k++) {
        json_t *pts = json_array(), *steps = json_array();
        for (size_t f = 0; f < a->n_files; f++)
            json_array_append_new(pts, ks[k].pts[f].present
                ? json_pack("{s:f, s:I}", "median", ks[k].pts[f].median, "n", (json_int_t)ks[k].pts[f].n)
                : json_null());
        for (size_t i = 0; i < ks[k].n_steps; i++) {
            const bb_step *s = &ks[k].steps[i];
            json_array_append_new(steps, json_pack("{s:I, s:s, s:f, s:f, s:f, s:f, s:b}", "file_index",
                (json_int_t)s->at, "file", a->files[s->at], "before", s->before, "after", s->after, "change",
                s->change, "p", s->p, "tentative", s->tentative));
        }
        json_array_append_new(keys, json_pack("{s:s, s:s, s:o, s:o}", "key", ks[k].key, "unit", ks[k].unit,
                                               "medians", pts, "steps", steps));
    }
    json_t *o = json_pack("{s:s, s:o, s:f, s:f, s:I, s:o, s:o}", "schema", "bitbench.history/1", "files", files,
        "threshold", a->opts.threshold, "alpha", a->opts.alpha, "window", (json_int_t)a->opts.window,
        "normalize", a->normalize ? json_string(a->normalize) : json_null(), "keys", keys);
    json_dumpf(o, to, JSON_INDENT(1));
    fputc('\n', to);
    json_decref(o);
}

int bb_history_write_data(const bb_history_view *a, const bb_key_series *ks, size_t n, const char *out_dir, char *dat,
                          char *steps_path, size_t len)
{
    char lb[PATH_MAX];
    snprintf(dat, len, "%s/history.dat", out_dir);
    snprintf(steps_path, len, "%s/history-steps.dat", out_dir);
    FILE *d = fopen(dat, "w"), *st = fopen(steps_path, "w");
    if (!d || !st) {
        if (d) fclose(d);
        if (st) fclose(st);
        return -1;
    }
    fprintf(d, "# bitbench history: one block per key; file index, median (%s), median / first median, file\n",
            a->normalize ? "ratio to the reference" : "ns, measured");
    fprintf(st, "# file index, level after the step / first median, change, key number\n");
    for (size_t k = 0; k < n; k++) {
        size_t f0 = bb_history_first_present(&ks[k], a->n_files, false);
        double first = ks[k].pts[f0].median;
        fprintf(d, "%s\"%s\"\n", k ? "\n\n" : "", ks[k].key);
        for (size_t f = 0; f < a->n_files; f++) {
            const char *label = short_label(a->files[f], lb, sizeof lb);
            if (ks[k].pts[f].present)
                fprintf(d, "%zu %.6g %.6g \"%s\"\n", f, ks[k].pts[f].median, ks[k].pts[f].median / first, label);
            else
                fprintf(d, "%zu NaN NaN \"%s\"\n", f, label);
        }
        for (size_t i = 0; i < ks[k].n_steps; i++)
            fprintf(st, "%zu %.6g %.6g %zu\n", ks[k].steps[i].at, ks[k].steps[i].after / first,
                    ks[k].steps[i].change, k);
    }
    fclose(d);
    fclose(st);
    return 0;
}
