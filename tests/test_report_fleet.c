/*
 * tests/test_report_fleet.c - the cross-machine table and figure of `bitbench report`
 * (harness/report/report_fleet.c) on the rows of two fake machines of a fleet sweep
 * (tests/fixtures/fleet: a Zen 4 node type whose task was requeued onto a second host, and a
 * Sapphire Rapids one): the markdown against a golden file, compared exactly; its cells against
 * the JSONL read independently; fleet.dat's blocks; nothing with one machine; the figure drawn
 * when gnuplot is there.
 *
 * Regenerate the golden file after an intended change of the section:
 *   BITBENCH_UPDATE_GOLDEN=1 ./build/tests/test_report_fleet   (then read the diff before committing)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../harness/report/report.h"
#include "../harness/report/report_fleet.h"

#include <dirent.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "goldenfile.h"
#include "testutil.h"

#define FIX "tests/fixtures/fleet/"
#define GOLDEN FIX "FLEET.golden.md"

static const char *const fleet_files[] = {FIX "4242_0-zen4-n07.jsonl", FIX "4242_0-zen4-n08.jsonl",
                                          FIX "4242_1-spr-n12.jsonl"};
enum { N_FILES = sizeof fleet_files / sizeof *fleet_files };

/* ------------------------------------------------------------------ helpers */

/* The fleet section of the given inputs, as a string. */
static char *fleet_markdown(const char *const *files, size_t n)
{
    bb_report r;
    memset(&r, 0, sizeof r);
    FILE *log = fopen("/dev/null", "w");
    assert_non_null(log);
    assert_true(bb_report_load(&r, files, n, log) > 0);
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    assert_non_null(out);
    bb_report_fleet_markdown(&r, out);
    fclose(out);
    fclose(log);
    bb_report_free(&r);
    return text;
}

/* The latency of a batch-1 ok row of that host family, model and format, read with jansson
 * (not the report's reader); NAN when none. */
static double latency(const char *cpu_prefix, const char *model, const char *format)
{
    for (size_t f = 0; f < N_FILES; f++) {
        FILE *in = fopen(fleet_files[f], "r");
        assert_non_null(in);
        char line[1 << 16];
        while (fgets(line, sizeof line, in)) {
            json_t *row = json_loads(line, 0, NULL);
            if (!row)
                continue;
            const char *cpu = json_string_value(json_object_get(json_object_get(row, "machine"), "cpu_model"));
            const char *mod = json_string_value(json_object_get(json_object_get(row, "model"), "name"));
            const char *fmt = json_string_value(json_object_get(row, "format"));
            const char *st = json_string_value(json_object_get(row, "status"));
            double v = NAN;
            if (cpu && mod && fmt && st && !strncmp(cpu, cpu_prefix, strlen(cpu_prefix)) && !strcmp(mod, model) &&
                !strcmp(fmt, format) && !strcmp(st, "ok") && json_integer_value(json_object_get(row, "batch")) == 1)
                v = json_number_value(json_object_get(row, "latency_ms_per_token"));
            json_decref(row);
            if (isfinite(v)) {
                fclose(in);
                return v;
            }
        }
        fclose(in);
    }
    return NAN;
}

/* The cells of the table row "| format |" under "### model, batch 1": cell[0] is the format. */
static size_t table_row(const char *md, const char *model, const char *format, char cells[][96], size_t cap)
{
    char head[64], start[64];
    snprintf(head, sizeof head, "### %s, batch 1\n", model);
    snprintf(start, sizeof start, "\n| %s |", format);
    const char *sec = strstr(md, head);
    assert_non_null(sec);
    const char *row = strstr(sec, start);
    assert_non_null(row);
    const char *next = strstr(sec + 1, "\n### ");
    assert_true(!next || row < next);
    char line[1024];
    size_t line_len = strcspn(row + 1, "\n");
    assert_true(line_len < sizeof line);
    memcpy(line, row + 1, line_len);
    line[line_len] = 0;
    /* "| a | b | c |": the cells between the bars, trimmed */
    size_t n = 0;
    char *p = line + 1;
    for (char *bar; n < cap && (bar = strchr(p, '|'));) {
        *bar = 0;
        while (*p == ' ')
            p++;
        size_t len = strlen(p);
        while (len && p[len - 1] == ' ')
            len--;
        snprintf(cells[n++], sizeof cells[0], "%.*s", (int)len, p);
        p = bar + 1;
    }
    return n;
}

/* ------------------------------------------------------------------ tests */

static void test_markdown_matches_golden(void **state)
{
    (void)state;
    char *got = fleet_markdown(fleet_files, N_FILES);
    tu_assert_golden(got, GOLDEN, "the fleet section");
    free(got);
}

static void test_cells_match_the_rows(void **state)
{
    (void)state;
    char *md = fleet_markdown(fleet_files, N_FILES);
    static const char *const models[] = {"700M", "7B", "70B"};
    static const char *const formats[] = {"int8", "tern2"};
    for (size_t i = 0; i < 3; i++)
        for (size_t j = 0; j < 2; j++) {
            char cells[8][96];
            size_t n = table_row(md, models[i], formats[j], cells, 8);
            assert_int_equal(n, 6); /* format, m1 x2, m2 x2, gains most */
            double zen = latency("AMD", models[i], "fp16") / latency("AMD", models[i], formats[j]);
            double spr = latency("Intel", models[i], "fp16") / latency("Intel", models[i], formats[j]);
            double got_zen = strtod(cells[1], NULL), got_spr = strtod(cells[3], NULL);
            if (fabs(got_zen - zen) > 0.006 * zen || fabs(got_spr - spr) > 0.006 * spr)
                print_error("%s %s: table %s / %s, rows %.4f / %.4f\n", models[i], formats[j], cells[1], cells[3], zen,
                            spr);
            assert_true(fabs(got_zen - zen) <= 0.006 * zen);
            assert_true(fabs(got_spr - spr) <= 0.006 * spr);
            /* the winner is the larger speed-up (no tie in this fixture for these cells) */
            assert_true(fabs(zen - spr) > 0.005 * fmax(zen, spr));
            assert_non_null(strstr(cells[5], zen > spr ? "m1 (" : "m2 ("));
        }
    /* unavailable cells say why: a format not in one machine's plan, a failed check, no ceiling */
    char cells[8][96];
    table_row(md, "7B", "pot4", cells, 8);
    assert_string_equal(cells[3], "unavailable: not run");
    assert_string_equal(cells[5], "unavailable: measured on one machine");
    table_row(md, "7B", "tern1.6", cells, 8);
    assert_string_equal(cells[3], "unavailable: check_failed");
    table_row(md, "700M", "int8", cells, 8);
    assert_string_equal(cells[4], "unavailable: no bandwidth ceiling");
    assert_null(strstr(cells[3], "unavailable")); /* its speed-up is still there */
    /* fp16 is each machine's baseline; the extrapolated 70B rows carry the mark */
    table_row(md, "70B", "fp16", cells, 8);
    assert_string_equal(cells[1], "1x (baseline)");
    table_row(md, "70B", "tern2", cells, 8);
    assert_non_null(strstr(cells[1], "†"));
    /* the Zen 4 rows of two hosts (a requeued task) are one machine */
    assert_non_null(strstr(md, "| m1 | AMD EPYC 9654 96-Core Processor | zen4-n07 (first of 2 runs) |"));
    assert_null(strstr(md, "| m3 |"));
    free(md);
}

static void test_one_machine_has_no_section(void **state)
{
    (void)state;
    static const char *const one[] = {FIX "4242_1-spr-n12.jsonl"};
    char *md = fleet_markdown(one, 1);
    assert_string_equal(md, "");
    free(md);
    bb_report r;
    memset(&r, 0, sizeof r);
    FILE *log = fopen("/dev/null", "w");
    bb_report_load(&r, one, 1, log);
    assert_null(bb_report_fleet_model(&r));
    char why[256] = "";
    assert_int_equal(bb_report_fleet_data(&r, "/nonexistent-dir", why, sizeof why), 0); /* writes nothing */
    bb_report_free(&r);
    fclose(log);
}

static int count(const char *s, const char *what)
{
    int n = 0;
    for (const char *p = s; (p = strstr(p, what)); p += strlen(what))
        n++;
    return n;
}

static void test_figure_data(void **state)
{
    (void)state;
    char dir[] = "/tmp/bitbench-fleet-XXXXXX";
    assert_non_null(mkdtemp(dir));
    bb_report r;
    memset(&r, 0, sizeof r);
    FILE *log = fopen("/dev/null", "w");
    bb_report_load(&r, fleet_files, N_FILES, log);
    assert_string_equal(bb_report_fleet_model(&r), "70B");
    char why[256] = "";
    assert_int_equal(bb_report_fleet_data(&r, dir, why, sizeof why), 0);
    char *dat = tu_read_in(dir, "fleet.dat"), *vars = tu_read_in(dir, "fleetvars.gp");
    assert_non_null(dat);
    assert_non_null(vars);
    /* a block per machine, a line per format in each (every block has every format) */
    assert_int_equal(count(dat, "# block "), 2);
    assert_int_equal(count(dat, " tern2 "), 2);
    assert_int_equal(count(dat, " pot4 "), 2);
    /* 70B is extrapolated everywhere: the measured columns are empty, the extrapolated filled */
    char want[128];
    double s = latency("AMD", "70B", "fp16") / latency("AMD", "70B", "tern2");
    const char *line = strstr(dat, "\n4 tern2 ? ");
    assert_non_null(line);
    assert_true(fabs(strtod(line + strlen("\n4 tern2 ? "), NULL) - s) < 1e-4 * s);
    /* pot4 has no Sapphire Rapids row: "?" in its block */
    const char *second = strstr(dat, "# block 1:");
    assert_non_null(second);
    assert_non_null(strstr(second, "\n3 pot4 ? ? ? ?\n"));
    snprintf(want, sizeof want, "fleet_model = '70B'");
    assert_non_null(strstr(vars, want));
    assert_non_null(strstr(vars, "fleet_machine_count = 2"));
    assert_non_null(strstr(vars, "fleet_machines[2] = 'm2: Intel(R) Xeon(R) Platinum 8480+ (spr-n12, 16 threads)'"));
    free(dat);
    free(vars);
    bb_report_free(&r);
    fclose(log);
    tu_remove_tree(dir);
}

static void test_report_draws_the_figure(void **state)
{
    (void)state;
    if (system("gnuplot --version >/dev/null 2>&1") != 0) {
        print_message("skipped: gnuplot is not installed\n");
        skip();
    }
    char dir[] = "/tmp/bitbench-fleet-XXXXXX";
    assert_non_null(mkdtemp(dir));
    FILE *log = fopen("/dev/null", "w");
    bb_report_opts o = {.inputs = fleet_files, .n_inputs = N_FILES, .out_dir = dir,
                        .reference_csv = "results/reference/paper.csv", .log = log};
    assert_int_equal(bb_report_run(&o), 0);
    fclose(log);
    char path[256];
    uint32_t w = 0, h = 0;
    snprintf(path, sizeof path, "%s/fleet.png", dir);
    if (!tu_png_size(path, &w, &h)) {
        char *gl = tu_read_in(dir, "gnuplot.log");
        print_error("no %s; gnuplot.log:\n%s\n", path, gl ? gl : "");
        free(gl);
    }
    assert_int_equal(w, 1400);
    assert_int_equal(h, 700);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_true(st.st_size > 10000); /* bars and text, not a blank canvas */
    char *md = tu_read_in(dir, "REPORT.md");
    assert_non_null(md);
    assert_non_null(strstr(md, "](fleet.png)"));
    assert_non_null(strstr(md, "## Across machines: which CPU gains most from each format"));
    free(md);
    tu_remove_tree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_markdown_matches_golden),
        cmocka_unit_test(test_cells_match_the_rows),
        cmocka_unit_test(test_one_machine_has_no_section),
        cmocka_unit_test(test_figure_data),
        cmocka_unit_test(test_report_draws_the_figure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
