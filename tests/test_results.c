/* tests/test_results.c - JSON Lines results (harness/results/results.c): rows round-trip in order,
 * a truncated last line is skipped and the next writer cuts it off, resume keys,
 * concurrent writers never interleave, newer schemas are skipped, error paths. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../harness/results/results.h"
#include "testutil.h"

static char dir[64];
static char err[512];

static int setup(void **state)
{
    (void)state;
    return tu_temp_dir(dir, sizeof dir, "bb_results");
}

static int teardown(void **state)
{
    (void)state;
    return tu_remove_tree(dir);
}

static void path_in_dir(char *buf, size_t len, const char *name) { snprintf(buf, len, "%s/%s", dir, name); }

static json_t *row(const char *key, int value)
{
    return json_pack("{s:i, s:s, s:s, s:i}", "schema_version", BB_RESULTS_SCHEMA_VERSION, "key", key, "status",
                     "ok", "value", value);
}

static void append(bb_results_writer *w, const char *key, int value)
{
    json_t *r = row(key, value);
    if (bb_results_append(w, r, err, sizeof err) != 0)
        fail_msg("append: %s", err);
    json_decref(r);
}

typedef struct seen {
    int values[1024];
    size_t lines[1024];
    size_t n;
} seen;

static void collect(json_t *r, size_t line, void *ctx)
{
    seen *s = ctx;
    if (s->n < 1024) {
        s->values[s->n] = (int)json_integer_value(json_object_get(r, "value"));
        s->lines[s->n++] = line;
    }
}

static void append_raw(const char *path, const char *text)
{
    FILE *f = fopen(path, "a");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_round_trip_in_order_and_parent_dirs(void **state)
{
    (void)state;
    char path[128];
    path_in_dir(path, sizeof path, "a/b/c/sweep.jsonl"); /* parents are created */
    bb_results_writer w;
    assert_int_equal(bb_results_open(&w, path, err, sizeof err), 0);
    for (int i = 0; i < 5; i++) {
        char key[16];
        snprintf(key, sizeof key, "k%d", i);
        append(&w, key, i * 10);
    }
    assert_int_equal(w.rows, 5);
    bb_results_close(&w);
    seen s = {0};
    bb_results_read_info info;
    assert_int_equal(bb_results_read(path, collect, &s, &info, err, sizeof err), 0);
    assert_int_equal(info.rows, 5);
    assert_int_equal(info.bad_lines, 0);
    assert_false(info.truncated_last);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(s.values[i], i * 10);
        assert_int_equal(s.lines[i], i + 1);
    }
    /* one compact line per row */
    FILE *f = fopen(path, "r");
    char line[512];
    int lines = 0;
    while (fgets(line, sizeof line, f)) {
        assert_non_null(strchr(line, '\n'));
        assert_int_equal(line[0], '{');
        lines++;
    }
    fclose(f);
    assert_int_equal(lines, 5);
}

/* A writer killed mid-row leaves a fragment without its newline: the reader skips it, and
 * the next writer cuts it off, so the file is whole rows again and its own row survives. */
static void test_truncated_last_line(void **state)
{
    (void)state;
    char path[128];
    path_in_dir(path, sizeof path, "t.jsonl");
    bb_results_writer w;
    assert_int_equal(bb_results_open(&w, path, err, sizeof err), 0);
    append(&w, "a", 1);
    append(&w, "b", 2);
    bb_results_close(&w);
    append_raw(path, "{\"schema_version\":1,\"key\":\"c\",\"val");

    seen s = {0};
    bb_results_read_info info;
    assert_int_equal(bb_results_read(path, collect, &s, &info, err, sizeof err), 0);
    assert_int_equal(info.rows, 2);
    assert_int_equal(info.bad_lines, 1);
    assert_true(info.truncated_last);
    assert_int_equal(info.first_bad_line, 3);

    assert_int_equal(bb_results_open(&w, path, err, sizeof err), 0);
    append(&w, "c", 3);
    bb_results_close(&w);
    memset(&s, 0, sizeof s);
    assert_int_equal(bb_results_read(path, collect, &s, &info, err, sizeof err), 0);
    assert_int_equal(info.rows, 3);
    assert_int_equal(info.bad_lines, 0); /* the fragment is gone */
    assert_false(info.truncated_last);
    assert_int_equal(s.values[2], 3);
    assert_int_equal(s.lines[2], 3);
}

/* A last row that is whole JSON but lacks its newline (a hand-edited file) is kept: the
 * next writer only adds the newline. */
static void test_whole_last_row_without_newline_is_kept(void **state)
{
    (void)state;
    char path[128];
    path_in_dir(path, sizeof path, "nonl.jsonl");
    append_raw(path, "{\"schema_version\":1,\"key\":\"a\",\"value\":1}\n{\"schema_version\":1,\"key\":\"b\",\"value\":2}");
    bb_results_writer w;
    assert_int_equal(bb_results_open(&w, path, err, sizeof err), 0);
    append(&w, "c", 3);
    bb_results_close(&w);
    seen s = {0};
    bb_results_read_info info;
    assert_int_equal(bb_results_read(path, collect, &s, &info, err, sizeof err), 0);
    assert_int_equal(info.rows, 3);
    assert_int_equal(info.bad_lines, 0);
    assert_int_equal(s.values[1], 2);
    assert_int_equal(s.values[2], 3);
}

static void test_bad_lines_and_newer_schema_are_skipped(void **state)
{
    (void)state;
    char path[128];
    path_in_dir(path, sizeof path, "bad.jsonl");
    append_raw(path, "{\"schema_version\":1,\"key\":\"a\",\"value\":1}\n"
                     "not json\n"
                     "[1,2,3]\n"
                     "\n"
                     "{\"schema_version\":3,\"key\":\"future\",\"value\":9}\n"
                     "{\"schema_version\":1,\"key\":\"b\",\"value\":2}\n");
    seen s = {0};
    bb_results_read_info info;
    assert_int_equal(bb_results_read(path, collect, &s, &info, err, sizeof err), 0);
    assert_int_equal(info.rows, 2);
    assert_int_equal(info.bad_lines, 3);
    assert_int_equal(info.lines, 5); /* the empty line is not counted */
    assert_int_equal(info.first_bad_line, 2);
    assert_false(info.truncated_last);
    assert_int_equal(s.values[1], 2);

    bb_keyset ks = {0};
    assert_int_equal(bb_keyset_load(&ks, path, &info, err, sizeof err), 0);
    assert_true(bb_keyset_has(&ks, "a"));
    assert_true(bb_keyset_has(&ks, "b"));
    assert_false(bb_keyset_has(&ks, "future"));
    bb_keyset_free(&ks);
}

static void test_keyset(void **state)
{
    (void)state;
    bb_keyset ks = {0};
    bb_results_read_info info;
    char path[128];
    path_in_dir(path, sizeof path, "missing.jsonl");
    assert_int_equal(bb_keyset_load(&ks, path, &info, err, sizeof err), 0); /* no file: empty */
    assert_false(bb_keyset_has(&ks, "x"));
    for (int i = 0; i < 300; i++) {
        char key[32];
        snprintf(key, sizeof key, "70B|tern2|x|t2|b%d|head|cold", i * 7);
        bb_keyset_add(&ks, key);
    }
    assert_true(bb_keyset_has(&ks, "70B|tern2|x|t2|b0|head|cold"));
    assert_true(bb_keyset_has(&ks, "70B|tern2|x|t2|b2093|head|cold"));
    assert_false(bb_keyset_has(&ks, "70B|tern2|x|t2|b1|head|cold"));
    bb_keyset_add(&ks, "late");
    assert_true(bb_keyset_has(&ks, "late")); /* added after a lookup sorted the set */
    bb_keyset_free(&ks);
}

/* Two processes appending 200 rows each to one file: every line is a whole row. */
static void test_concurrent_writers_never_interleave(void **state)
{
    (void)state;
    char path[128];
    path_in_dir(path, sizeof path, "shared.jsonl");
    enum { ROWS = 200 };
    pid_t kids[2];
    for (int k = 0; k < 2; k++) {
        kids[k] = fork();
        assert_true(kids[k] >= 0);
        if (kids[k] == 0) {
            bb_results_writer w;
            if (bb_results_open(&w, path, err, sizeof err) != 0)
                _exit(1);
            /* big rows, so that a torn write would show */
            char pad[3000];
            memset(pad, 'a' + k, sizeof pad - 1);
            pad[sizeof pad - 1] = 0;
            for (int i = 0; i < ROWS; i++) {
                json_t *r = json_pack("{s:i, s:s, s:i, s:s}", "schema_version", 1, "key", "x", "value",
                                      k * 1000 + i, "pad", pad);
                if (bb_results_append(&w, r, err, sizeof err) != 0)
                    _exit(1);
                json_decref(r);
            }
            bb_results_close(&w);
            _exit(0);
        }
    }
    for (int k = 0; k < 2; k++) {
        int st;
        waitpid(kids[k], &st, 0);
        assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    seen s = {0};
    bb_results_read_info info;
    assert_int_equal(bb_results_read(path, collect, &s, &info, err, sizeof err), 0);
    assert_int_equal(info.rows, 2 * ROWS);
    assert_int_equal(info.bad_lines, 0);
    /* each writer's rows appear in its own order */
    int next[2] = {0, 0};
    for (size_t i = 0; i < s.n; i++) {
        int k = s.values[i] / 1000;
        assert_int_equal(s.values[i] % 1000, next[k]++);
    }
}

static void test_open_errors(void **state)
{
    (void)state;
    bb_results_writer w;
    assert_int_equal(bb_results_open(&w, "/dev/null/sub/x.jsonl", err, sizeof err), -1);
    assert_non_null(strstr(err, "/dev/null"));
    assert_int_equal(bb_results_open(&w, dir, err, sizeof err), -1); /* a directory */
    assert_non_null(strstr(err, dir));
    char ro[128];
    path_in_dir(ro, sizeof ro, "ro");
    assert_int_equal(mkdir(ro, 0500), 0);
    char inside[160];
    snprintf(inside, sizeof inside, "%s/x.jsonl", ro);
    if (geteuid() != 0) { /* root writes anywhere */
        assert_int_equal(bb_results_open(&w, inside, err, sizeof err), -1);
        assert_non_null(strstr(err, "Permission denied"));
    }
    assert_int_equal(bb_results_read("/nonexistent.jsonl", NULL, NULL, &(bb_results_read_info){0}, err,
                                     sizeof err), -1);
    assert_non_null(strstr(err, "/nonexistent.jsonl"));
}

/* jansson refuses NaN; the writer says so instead of writing half a row. */
static void test_unserializable_row(void **state)
{
    (void)state;
    char path[128];
    path_in_dir(path, sizeof path, "n.jsonl");
    bb_results_writer w;
    assert_int_equal(bb_results_open(&w, path, err, sizeof err), 0);
    assert_int_equal(bb_results_append(&w, NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "cannot serialize"));
    bb_results_close(&w);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_size, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip_in_order_and_parent_dirs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncated_last_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_whole_last_row_without_newline_is_kept, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_lines_and_newer_schema_are_skipped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keyset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_writers_never_interleave, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unserializable_row, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
