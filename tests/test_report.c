/*
 * tests/test_report.c - `bitbench report` on the hand-built fixtures of tests/fixtures/report
 * (two machines; extrapolated, failed and skipped rows; energy unavailable on one, measured on
 * the other): the markdown against a golden file, compared exactly; cells against the JSONL
 * read independently; malformed lines named by file and line and skipped; no usable rows is
 * exit 2; the gnuplot scripts make PNGs of the promised size; without gnuplot the tables and
 * .dat files are still written and the report says why there are no plots.
 *
 * Regenerate the golden file after an intended change of the report:
 *   BITBENCH_UPDATE_GOLDEN=1 ./build/tests/test_report   (then read the diff before committing)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../harness/report/report.h"

#include <dirent.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "goldenfile.h"
#include "testutil.h"

#define FIX "tests/fixtures/report/"
#define GOLDEN FIX "REPORT.golden.md"
#define REFERENCE "results/reference/paper.csv"

static const char *const two_machines[] = {FIX "vm.jsonl", FIX "metal.jsonl"};

/* ------------------------------------------------------------------ helpers */

static bool file_exists(const char *dir, const char *name)
{
    char path[4096];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return stat(path, &st) == 0 && st.st_size > 0;
}

/* Runs the report with its messages captured; returns the exit status, log in *log. */
static int run_report(const char *const *inputs, size_t n, const char *out_dir, bool no_plots, char **log)
{
    size_t log_len;
    FILE *logf = open_memstream(log, &log_len);
    assert_non_null(logf);
    bb_report_opts o = {.inputs = inputs, .n_inputs = n, .out_dir = out_dir, .reference_csv = REFERENCE,
                        .no_plots = no_plots, .log = logf};
    int rc = bb_report_run(&o);
    fclose(logf);
    return rc;
}

/* REPORT.md of both fixtures (no plots) rendered into a new temporary dir; the caller frees
 * the text and *log and removes dir. */
static char *render_two_machines(char *dir, size_t len, char **log)
{
    assert_int_equal(tu_temp_dir(dir, len, "bitbench-report"), 0);
    assert_int_equal(run_report(two_machines, 2, dir, true, log), 0);
    char *md = tu_read_in(dir, "REPORT.md");
    assert_non_null(md);
    return md;
}

/* ------------------------------------------------------------------ the tables */

static void test_markdown_matches_golden(void **state)
{
    (void)state;
    char dir[64], *log = NULL;
    char *got = render_two_machines(dir, sizeof dir, &log);
    tu_assert_golden(got, GOLDEN, "REPORT.md");
    free(got);
    free(log);
    tu_remove_tree(dir);
}

/* The row of vm.jsonl with this model, format, batch 1 and 2 threads, read with jansson
 * directly (not through the report's reader). */
static json_t *fixture_row(const char *model, const char *format)
{
    FILE *f = fopen(FIX "vm.jsonl", "r");
    assert_non_null(f);
    char line[65536];
    json_t *found = NULL;
    while (!found && fgets(line, sizeof line, f)) {
        json_t *row = json_loads(line, 0, NULL);
        assert_non_null(row);
        if (!strcmp(json_string_value(json_object_get(row, "format")), format) &&
            !strcmp(json_string_value(json_object_get(json_object_get(row, "model"), "name")), model) &&
            json_integer_value(json_object_get(row, "batch")) == 1 &&
            json_integer_value(json_object_get(row, "threads")) == 2)
            found = row;
        else
            json_decref(row);
    }
    fclose(f);
    assert_non_null(found);
    return found;
}

/* Table 3's budget note: the KV cache and the usable budget the paper's 16 and 176 imply,
 * recomputed here from the fixture's weight bytes, and each format's max batch there. */
static void test_table3_note_solves_the_papers_batches(void **state)
{
    (void)state;
    char dir[64], *log = NULL;
    char *md = render_two_machines(dir, sizeof dir, &log);
    json_t *f = fixture_row("70B", "fp16"), *t = fixture_row("70B", "tern2");
    double wf = json_number_value(json_object_get(json_object_get(f, "weight_bytes"), "value"));
    double wt = json_number_value(json_object_get(json_object_get(t, "weight_bytes"), "value"));
    double kv_row = json_number_value(json_object_get(json_object_get(f, "budget"), "kv_bytes_per_seq"));
    assert_true(wf > wt && wt > 0 && kv_row > 0);
    double kv = (wf - wt) / 160.0, usable = wf + 16.0 * kv;
    char want[160];
    snprintf(want, sizeof want, "`bitbench sweep --mem-budget %llu` (bytes)", (unsigned long long)usable);
    if (!strstr(md, want))
        print_error("REPORT.md lacks '%s'\n", want);
    assert_non_null(strstr(md, want));
    /* fp16's and tern2's batches at that budget with the rows' own cache */
    unsigned long long bf = (unsigned long long)((uint64_t)usable - (uint64_t)wf) / (uint64_t)kv_row;
    unsigned long long bt = (unsigned long long)((uint64_t)usable - (uint64_t)wt) / (uint64_t)kv_row;
    snprintf(want, sizeof want, "| fp16 | %llu | 1.00x |", bf);
    assert_non_null(strstr(md, want));
    snprintf(want, sizeof want, "| tern2 | %llu |", bt);
    assert_non_null(strstr(md, want));
    json_decref(f);
    json_decref(t);
    free(md);
    free(log);
    tu_remove_tree(dir);
}

/* Replicates: rows of one run_group with the same key get the medians over the group and
 * the range of its speed-ups; another group, and a failed row, stay as they are. */
static void test_replicates_pool_by_run_group(void **state)
{
    (void)state;
    char path[] = "/tmp/bitbench-replicates-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    assert_non_null(f);
    static const struct {
        const char *group, *status;
        double speedup, latency;
    } reps[] = {{"g1", "ok", 3.0, 10.0}, {"g1", "ok", 5.0, 30.0}, {"g1", "ok", 4.0, 20.0},
                {"other", "ok", 9.0, 1.0}};
    for (size_t i = 0; i < sizeof reps / sizeof *reps; i++) {
        json_t *row = fixture_row("700M", "tern2");
        char id[32];
        snprintf(id, sizeof id, "run-%zu", i);
        json_object_set_new(row, "run_id", json_string(id));
        json_object_set_new(row, "run_group", json_string(reps[i].group));
        json_object_set_new(row, "status", json_string(reps[i].status));
        json_object_set_new(row, "latency_ms_per_token", json_real(reps[i].latency));
        json_object_set_new(row, "vs_fp16", json_pack("{s:s, s:f, s:f, s:f}", "status", "measured", "speedup",
                                                     reps[i].speedup, "ci_low", reps[i].speedup * 0.9,
                                                     "ci_high", reps[i].speedup * 1.1));
        char *line = json_dumps(row, JSON_COMPACT);
        fprintf(f, "%s\n", line);
        free(line);
        json_decref(row);
    }
    fclose(f);
    bb_report r = {0};
    const char *files[] = {path};
    FILE *quiet = fopen("/dev/null", "w");
    assert_int_equal(bb_report_load(&r, files, 1, quiet), 4);
    for (size_t i = 0; i < r.n_rows; i++) {
        const bb_report_row *w = &r.rows[i];
        if (!strcmp(w->run_group, "g1")) {
            assert_int_equal(w->replicates, 3);
            assert_true(fabs(w->speedup - 4.0) < 1e-12);
            assert_true(fabs(w->speedup_lo - 3.0) < 1e-12 && fabs(w->speedup_hi - 5.0) < 1e-12);
            assert_true(fabs(w->latency_ms - 20.0) < 1e-12);
        } else {
            assert_int_equal(w->replicates, 1);
            assert_true(fabs(w->speedup - 9.0) < 1e-12);
        }
    }
    bb_report_free(&r);
    fclose(quiet);
    unlink(path);
}

/* Table 1 rows carry the JSONL's numbers: weight GB, latency, speed-up over the fp16 row. */
static void test_table1_cells_match_the_jsonl(void **state)
{
    (void)state;
    char dir[64], *log = NULL;
    char *md = render_two_machines(dir, sizeof dir, &log);
    static const char *const cases[][2] = {{"700M", "tern2"}, {"1.3B", "int8"}, {"3B", "tern1.6"}};
    for (size_t i = 0; i < 3; i++) {
        json_t *row = fixture_row(cases[i][0], cases[i][1]), *base = fixture_row(cases[i][0], "fp16");
        double lat = json_real_value(json_object_get(row, "latency_ms_per_token"));
        double lat16 = json_real_value(json_object_get(base, "latency_ms_per_token"));
        double gb = (double)json_integer_value(json_object_get(json_object_get(row, "weight_bytes"), "value")) / 1e9;
        char want[256];
        /* three significant digits, as the report promises */
        snprintf(want, sizeof want, "| %s | %s | %.*f | ", cases[i][0], cases[i][1], gb < 1 ? 3 : 2, gb);
        if (!strstr(md, want))
            print_error("no Table 1 row starting '%s'\n", want);
        assert_non_null(strstr(md, want));
        const char *line = strstr(md, want);
        char lat_cell[64], speedup_cell[64];
        snprintf(lat_cell, sizeof lat_cell, "| %.*f |", lat < 100 ? 1 : 0, lat);
        snprintf(speedup_cell, sizeof speedup_cell, "| %.2fx |", lat16 / lat);
        const char *eol = strchr(line, '\n');
        char row_text[1024];
        snprintf(row_text, sizeof row_text, "%.*s", (int)(eol - line), line);
        if (!strstr(row_text, lat_cell) || !strstr(row_text, speedup_cell))
            print_error("row '%s' lacks '%s' or '%s'\n", row_text, lat_cell, speedup_cell);
        assert_non_null(strstr(row_text, lat_cell));
        assert_non_null(strstr(row_text, speedup_cell));
        json_decref(row);
        json_decref(base);
    }
    /* a failed row is "unavailable" with its status, never a 0 */
    assert_non_null(strstr(md, "| pot4 | 84.0 | 146 | 379 | unavailable: check_failed | 7726 † |"));
    free(md);
    free(log);
    tu_remove_tree(dir);
}

/* The cell rules: an ok row beats a failed one, the latest beats older ones, and the tables'
 * thread count is the largest measured one. */
static void test_pick_rules(void **state)
{
    (void)state;
    bb_report r;
    memset(&r, 0, sizeof r);
    FILE *quiet = fopen("/dev/null", "w");
    assert_int_equal(bb_report_load(&r, two_machines, 2, quiet), 46);
    assert_int_equal(r.n_machines, 2);
    assert_int_equal(r.machines[0].threads, 2);
    assert_int_equal(r.machines[1].threads, 8);
    const bb_report_row *two = bb_report_pick(&r, 0, "700M", "tern2", 0, 1, false);
    const bb_report_row *one = bb_report_pick(&r, 0, "700M", "tern2", 1, 1, false);
    assert_non_null(two);
    assert_non_null(one);
    assert_int_equal(two->threads, 2);
    assert_int_equal(one->threads, 1);
    assert_null(bb_report_pick(&r, 1, "70B", "tern2", 0, 1, false));
    const bb_report_row *budget = bb_report_pick(&r, 0, "70B", "tern2", 0, 0, true);
    assert_non_null(budget);
    assert_int_equal(budget->batch, budget->max_batch);
    /* a failed copy of an ok row, written later, does not replace it */
    bb_report_row failed = *two;
    snprintf(failed.status, sizeof failed.status, "error");
    snprintf(failed.time, sizeof failed.time, "2099-01-01T00:00:00Z");
    assert_true(r.n_rows < r.cap_rows); /* room for one more row without growing */
    r.rows[r.n_rows++] = failed;
    assert_ptr_equal(bb_report_pick(&r, 0, "700M", "tern2", 0, 1, false), two);
    /* a later ok copy does */
    r.rows[r.n_rows - 1] = *two;
    snprintf(r.rows[r.n_rows - 1].time, sizeof failed.time, "2099-01-01T00:00:00Z");
    assert_ptr_equal(bb_report_pick(&r, 0, "700M", "tern2", 0, 1, false), &r.rows[r.n_rows - 1]);
    fclose(quiet);
    bb_report_free(&r);
}

static void test_reference_values_are_data(void **state)
{
    (void)state;
    bb_report r;
    memset(&r, 0, sizeof r);
    assert_int_equal(bb_report_load_refs(&r, REFERENCE), 0);
    const bb_paper_ref *s70 = bb_report_paper(&r, "70B", "ternary", "speedup");
    assert_non_null(s70);
    assert_true(fabs(s70->value - 4.1) < 1e-12);
    assert_string_equal(s70->text, "4.1");
    assert_non_null(strstr(s70->source, "2402.17764"));
    const bb_paper_ref *llama = bb_report_paper(&r, "70B", "fp16", "tokens_per_s");
    assert_non_null(llama);
    assert_true(llama->value == 333);
    assert_null(bb_report_paper(&r, "7B", "ternary", "speedup"));
    bb_report_free(&r);
    /* a missing file leaves the report without paper values, saying why */
    memset(&r, 0, sizeof r);
    assert_int_equal(bb_report_load_refs(&r, "/nonexistent/paper.csv"), -1);
    assert_non_null(strstr(r.ref_error, "/nonexistent/paper.csv"));
    bb_report_free(&r);
}

/* ------------------------------------------------------------------ bad input */

static void test_malformed_lines_named_and_skipped(void **state)
{
    (void)state;
    bb_report r;
    memset(&r, 0, sizeof r);
    char *log = NULL;
    size_t log_len;
    FILE *logf = open_memstream(&log, &log_len);
    const char *const files[] = {FIX "bad.jsonl", "/nonexistent/sweep.jsonl"};
    assert_int_equal(bb_report_load(&r, files, 2, logf), 1);
    fclose(logf);
    /* line 2 is not JSON, 4 an array, 5 lacks "format", 6 is cut short; 3 is blank */
    assert_int_equal(r.bad_lines, 4);
    assert_int_equal(r.file_rows[0], 1);
    assert_non_null(strstr(log, FIX "bad.jsonl:2: skipped"));
    assert_non_null(strstr(log, FIX "bad.jsonl:5: skipped: no string member 'format'"));
    assert_non_null(strstr(log, "cut short"));
    assert_non_null(strstr(log, "/nonexistent/sweep.jsonl: skipped: cannot read"));
    free(log);
    bb_report_free(&r);
}

static void test_no_usable_rows_is_exit_2(void **state)
{
    (void)state;
    char dir[64], path[128], *log = NULL;
    assert_int_equal(tu_temp_dir(dir, sizeof dir, "bitbench-report"), 0);
    snprintf(path, sizeof path, "%s/garbage.jsonl", dir);
    FILE *f = fopen(path, "w");
    fputs("not json\n{\"kind\": \"sweep\"}\n", f);
    fclose(f);
    const char *const inputs[] = {path};
    assert_int_equal(run_report(inputs, 1, dir, true, &log), 2);
    assert_non_null(strstr(log, "no usable sweep rows"));
    assert_false(file_exists(dir, "REPORT.md"));
    free(log);
    /* the same through the command line, with a one-line error */
    char err[4096], args[512];
    snprintf(args, sizeof args, "report %s --out %s --no-plots", path, dir);
    assert_int_equal(tu_run_bitbench("", args, NULL, 0, err, sizeof err), 2);
    assert_non_null(strstr(err, "no usable sweep rows"));
    assert_int_equal(tu_run_bitbench("", "report", NULL, 0, err, sizeof err), 2);
    assert_non_null(strstr(err, "no results file"));
    assert_int_equal(tu_run_bitbench("", "report " FIX "vm.jsonl --bogus", NULL, 0, err, sizeof err), 2);
    assert_non_null(strstr(err, "--bogus"));
    assert_int_equal(tu_run_bitbench("", "report " FIX "vm.jsonl --out /proc/nope --no-plots", NULL, 0, err, sizeof err), 2);
    assert_non_null(strstr(err, "/proc/nope"));
    tu_remove_tree(dir);
}

/* ------------------------------------------------------------------ plots */

static bool have_gnuplot(void)
{
    return system("gnuplot --version >/dev/null 2>&1") == 0;
}

static void test_plots_are_pngs_of_the_promised_size(void **state)
{
    (void)state;
    if (!have_gnuplot()) {
        print_message("skipped: gnuplot is not installed (the no-gnuplot path is tested below)\n");
        skip();
    }
    char dir[64], *log = NULL;
    assert_int_equal(tu_temp_dir(dir, sizeof dir, "bitbench-report"), 0);
    assert_int_equal(run_report(two_machines, 2, dir, false, &log), 0);
    static const struct { const char *name; uint32_t w, h; } figs[] = {
        {"m1-latency", 1200, 950}, {"m1-memory", 1200, 950},   {"m1-energy", 1200, 950},
        {"m1-throughput", 1400, 650}, {"m1-roofline", 1400, 650}, {"m2-latency", 1200, 950},
        {"m2-energy", 1200, 950},  {"m2-throughput", 1400, 650}, {"cross_machine", 1400, 950},
    };
    char *md = tu_read_in(dir, "REPORT.md");
    for (size_t i = 0; i < sizeof figs / sizeof *figs; i++) {
        char path[256], name[64];
        snprintf(path, sizeof path, "%s/%s.png", dir, figs[i].name);
        uint32_t w = 0, h = 0;
        if (!tu_png_size(path, &w, &h) || w != figs[i].w || h != figs[i].h) {
            char *gl = tu_read_in(dir, "gnuplot.log");
            print_error("%s: %ux%u, want %ux%u; gnuplot.log:\n%s\n", path, w, h, figs[i].w, figs[i].h, gl ? gl : "");
            free(gl);
        }
        assert_int_equal(w, figs[i].w);
        assert_int_equal(h, figs[i].h);
        struct stat st;
        assert_int_equal(stat(path, &st), 0);
        assert_true(st.st_size > 10000); /* axes and text: a blank canvas of this size is ~4 KB */
        snprintf(name, sizeof name, "%s.svg", figs[i].name);
        assert_true(file_exists(dir, name));
        snprintf(name, sizeof name, "](%s.png)", figs[i].name);
        assert_non_null(strstr(md, name)); /* and REPORT.md shows it */
    }
    assert_null(strstr(md, "Plots skipped"));
    assert_null(strstr(md, "gnuplot failed"));
    free(md);
    free(log);
    tu_remove_tree(dir);
}

static void test_without_gnuplot_tables_and_data_exit_0(void **state)
{
    (void)state;
    char dir[64], args[512], err[4096];
    assert_int_equal(tu_temp_dir(dir, sizeof dir, "bitbench-report"), 0);
    snprintf(args, sizeof args, "report " FIX "vm.jsonl --out %s --reference " REFERENCE, dir);
    /* an empty PATH hides gnuplot (the binary is named by a path, so the shell still finds it) */
    assert_int_equal(tu_run_bitbench("BITBENCH_GNUPLOT= PATH=/nonexistent", args, NULL, 0, err, sizeof err), 0);
    assert_non_null(strstr(err, "plots skipped: gnuplot was not found on PATH"));
    char *md = tu_read_in(dir, "REPORT.md");
    assert_non_null(md);
    assert_non_null(strstr(md, "Plots skipped: gnuplot was not found on PATH (/nonexistent)"));
    assert_non_null(strstr(md, "### Table 1"));
    static const char *const data[] = {"latency.dat", "memory.dat", "energy.dat", "table3.dat", "batch.dat",
                                       "roofline.dat", "bandwidth.dat", "plotvars.gp", "paper.dat"};
    for (size_t i = 0; i < sizeof data / sizeof *data; i++) {
        if (!file_exists(dir, data[i]))
            print_error("%s missing\n", data[i]);
        assert_true(file_exists(dir, data[i]));
    }
    assert_false(file_exists(dir, "latency.png"));
    /* the .dat files carry the JSONL's numbers: measured and extrapolated in their columns */
    char *lat = tu_read_in(dir, "latency.dat");
    json_t *row = fixture_row("70B", "tern2");
    char want[128];
    snprintf(want, sizeof want, "70B 70 %.6g ? %.6g",
             json_real_value(json_object_get(row, "latency_ms_per_token")),
             json_real_value(json_object_get(row, "latency_ms_per_token")));
    if (!strstr(lat, want))
        print_error("latency.dat lacks '%s'\n", want);
    assert_non_null(strstr(lat, want));
    json_decref(row);
    free(lat);
    free(md);
    tu_remove_tree(dir);
}

/* Blocks ("# block N") in a .dat file, and whether each has a data line: gnuplot reads a
 * block of comments alone as part of the separator, shifting every later series. */
static int blocks_with_data(const char *text, int *blocks)
{
    int with_data = 0;
    bool in_block = false, has_data = false;
    *blocks = 0;
    for (const char *line = text; *line;) {
        const char *eol = strchr(line, '\n');
        size_t len = eol ? (size_t)(eol - line) : strlen(line);
        if (!strncmp(line, "# block ", 8)) {
            with_data += in_block && has_data;
            (*blocks)++;
            in_block = true;
            has_data = false;
        } else if (len && line[0] != '#') {
            has_data = true;
        }
        line += len + (eol != NULL);
    }
    return with_data + (in_block && has_data);
}

static void test_every_series_block_has_a_line(void **state)
{
    (void)state;
    char dir[64], path[128], *log = NULL;
    assert_int_equal(tu_temp_dir(dir, sizeof dir, "bitbench-report"), 0);
    /* the fixture with every int8 row unmeasured: int8 has no point in any figure */
    snprintf(path, sizeof path, "%s/int8-skipped.jsonl", dir);
    FILE *in = fopen(FIX "vm.jsonl", "r"), *out = fopen(path, "w");
    assert_non_null(in);
    assert_non_null(out);
    char line[65536];
    while (fgets(line, sizeof line, in)) {
        json_t *row = json_loads(line, 0, NULL);
        assert_non_null(row);
        if (!strcmp(json_string_value(json_object_get(row, "format")), "int8")) {
            json_object_set_new(row, "status", json_string("skipped"));
            json_object_set_new(row, "reason", json_string("test: not measured"));
            static const char *const measured[] = {"latency_ms_per_token", "tokens_per_s", "gbps", "gops",
                                                   "stats_step_ns"};
            for (size_t i = 0; i < 5; i++)
                json_object_set_new(row, measured[i], json_null());
        }
        char *text = json_dumps(row, JSON_COMPACT);
        fprintf(out, "%s\n", text);
        free(text);
        json_decref(row);
    }
    fclose(in);
    fclose(out);
    const char *const inputs[] = {path};
    assert_int_equal(run_report(inputs, 1, dir, true, &log), 0);
    static const char *const files[] = {"latency.dat", "memory.dat", "energy.dat", "batch.dat", "roofline.dat",
                                        "bandwidth.dat"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        char *text = tu_read_in(dir, files[i]);
        assert_non_null(text);
        int blocks, with_data = blocks_with_data(text, &blocks);
        if (blocks != 5 || with_data != 5)
            print_error("%s: %d blocks, %d with a data line (want 5 and 5)\n", files[i], blocks, with_data);
        assert_int_equal(blocks, 5);
        assert_int_equal(with_data, 5);
        free(text);
    }
    free(log);
    tu_remove_tree(dir);
}

int main(void)
{
    /* The fixtures and the reference file are named relative to the source tree. */
    const char *src = getenv("BITBENCH_SRCDIR");
    if (src && *src && chdir(src) != 0) {
        fprintf(stderr, "test_report: cannot enter BITBENCH_SRCDIR %s\n", src);
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_markdown_matches_golden),
        cmocka_unit_test(test_table1_cells_match_the_jsonl),
        cmocka_unit_test(test_table3_note_solves_the_papers_batches),
        cmocka_unit_test(test_replicates_pool_by_run_group),
        cmocka_unit_test(test_pick_rules),
        cmocka_unit_test(test_reference_values_are_data),
        cmocka_unit_test(test_malformed_lines_named_and_skipped),
        cmocka_unit_test(test_no_usable_rows_is_exit_2),
        cmocka_unit_test(test_every_series_block_has_a_line),
        cmocka_unit_test(test_plots_are_pngs_of_the_promised_size),
        cmocka_unit_test(test_without_gnuplot_tables_and_data_exit_0),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
