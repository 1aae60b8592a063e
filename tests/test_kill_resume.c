/*
 * tests/test_kill_resume.c - kills lose nothing: a small sweep (tiny shapes, short rows) is
 * SIGKILLed at random moments 20 times, resumed with --resume each time, then finished.
 * Every planned row must be in the file exactly once, every line a whole row (no cut
 * line left behind), and `report` and `compare` must read the file.  Bounded: each kill
 * comes within one uninterrupted run's time, capped.  Runs the binary named by
 * BITBENCH_BIN (make check: the sanitized build).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "testutil.h"

enum { KILLS = 20, MAX_KEYS = 64 };

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* The sweep: 3 formats x 6 batches of a 2-layer model of 64 x 128 projections, one thread,
 * a few samples per row, a 64 KiB "LLC" so the bandwidth buffer and rotations are small. */
#define SWEEP_ARGS "sweep", "--model-shape", "tiny:64:128:2:2:1:256", "--formats", "fp16,int8,tern2", \
                   "--no-methods", "--threads", "1", "--batch", "1,2,3,4,5,6", "--min-time", "0.001", "--min-reps", "2",     \
                   "--max-reps", "3", "--warmup", "0", "--llc", "64K"

/* Starts `bitbench sweep ... <mode> path` with stdout and stderr to /dev/null. */
static pid_t start_sweep(const char *mode, const char *path)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        dup2(null, 2);
        char *argv[] = {(char *)tu_bitbench_bin(), SWEEP_ARGS, (char *)mode, (char *)path, NULL};
        execv(argv[0], argv);
        _exit(127);
    }
    return pid;
}

static int wait_exit(pid_t pid)
{
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return status;
}

/* The planned keys, from `sweep --plan` (one key per line). */
static size_t planned_keys(char keys[][224])
{
    char cmd[1024], line[200];
    snprintf(cmd, sizeof cmd, "%s sweep --model-shape tiny:64:128:2:2:1:256 --formats fp16,int8,tern2 "
                              "--no-methods --threads 1 --batch 1,2,3,4,5,6 --plan", tu_bitbench_bin());
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = 0;
    while (fgets(line, sizeof line, p) && n < MAX_KEYS) {
        line[strcspn(line, "\n")] = 0;
        if (strchr(line, '|'))
            snprintf(keys[n++], 224, "%s", line);
    }
    assert_int_equal(pclose(p), 0);
    return n;
}

/* Reads path: the number of lines, of whole rows, of each key; whether it ends in '\n'. */
typedef struct file_state {
    size_t lines, rows, count[MAX_KEYS], unknown;
    int cut_last; /* the last line has no newline */
} file_state;

static void read_state(const char *path, char keys[][224], size_t n_keys, file_state *s)
{
    memset(s, 0, sizeof *s);
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    while ((len = getline(&line, &cap, f)) > 0) {
        s->lines++;
        int whole = line[len - 1] == '\n';
        if (!whole)
            s->cut_last = 1;
        json_error_t e;
        json_t *row = json_loadb(line, (size_t)len, 0, &e);
        if (json_is_object(row)) {
            s->rows++;
            const char *key = json_string_value(json_object_get(row, "key"));
            size_t k = 0;
            while (key && k < n_keys && strcmp(keys[k], key) != 0)
                k++;
            if (key && k < n_keys)
                s->count[k]++;
            else
                s->unknown++;
        }
        json_decref(row);
    }
    free(line);
    fclose(f);
}

static int run_cmd(const char *fmt, const char *a, const char *b)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, fmt, tu_bitbench_bin(), a, b);
    int status = system(cmd);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

static void test_sigkill_and_resume_lose_nothing(void **state)
{
    (void)state;
    char dir[] = "/tmp/bitbench-kill-XXXXXX", path[128], full[128];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/rows.jsonl", dir);
    snprintf(full, sizeof full, "%s/full.jsonl", dir);
    static char keys[MAX_KEYS][224];
    size_t n_keys = planned_keys(keys);
    assert_int_equal(n_keys, 18);

    /* One uninterrupted run sets the time scale of the kills. */
    double t0 = now_s();
    int st = wait_exit(start_sweep("--out", full));
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    double span = now_s() - t0;
    if (span > 20)
        span = 20;
    unsigned seed = (unsigned)time(NULL);
    srand(seed);
    printf("kill-resume: one run takes %.2f s; %d kills at random moments (seed %u)\n", span, KILLS, seed);

    size_t killed_mid_run = 0, present = 0;
    for (int i = 0; i < KILLS; i++) {
        pid_t pid = start_sweep(i == 0 ? "--out" : "--resume", path);
        /* within the time the rows still missing take (plus the start-up), so that most
         * kills land while rows are being measured and written */
        double left = 0.3 + 0.7 * (double)(n_keys - present) / (double)n_keys;
        double at = span * left * rand() / ((double)RAND_MAX + 1);
        struct timespec d = {(time_t)at, (long)((at - (double)(time_t)at) * 1e9)};
        nanosleep(&d, NULL);
        kill(pid, SIGKILL);
        st = wait_exit(pid);
        if (WIFSIGNALED(st))
            killed_mid_run++;
        else if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
            fail_msg("kill %d: the sweep exited %d before the kill", i, WEXITSTATUS(st));
        /* between runs: no key twice; at most the last line cut (the next run repairs it) */
        file_state s;
        read_state(path, keys, n_keys, &s);
        for (size_t k = 0; k < n_keys; k++)
            if (s.count[k] > 1)
                fail_msg("kill %d: %s is in the file %zu times", i, keys[k], s.count[k]);
        assert_int_equal(s.unknown, 0);
        present = 0;
        for (size_t k = 0; k < n_keys; k++)
            present += s.count[k] > 0;
        if (s.lines > s.rows + (size_t)s.cut_last)
            fail_msg("kill %d: %zu lines but %zu rows: a cut line was left inside the file", i, s.lines,
                     s.rows);
    }
    st = wait_exit(start_sweep("--resume", path));
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    printf("kill-resume: %zu of %d kills landed mid-run\n", killed_mid_run, KILLS);

    file_state s;
    read_state(path, keys, n_keys, &s);
    for (size_t k = 0; k < n_keys; k++)
        if (s.count[k] != 1)
            fail_msg("after resume: %s is in the file %zu times", keys[k], s.count[k]);
    assert_int_equal(s.cut_last, 0);
    assert_int_equal(s.lines, n_keys); /* no partial or foreign line */
    assert_int_equal(s.rows, n_keys);

    char out[160];
    snprintf(out, sizeof out, "%s/report", dir);
    assert_int_equal(run_cmd("%s report %s --no-plots --out %s >/dev/null 2>&1", path, out), 0);
    int rc = run_cmd("%s compare %s %s --format json >/dev/null 2>&1", path, path);
    assert_true(rc == 0 || rc == 1); /* a verdict, not bad input */

    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sigkill_and_resume_lose_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
