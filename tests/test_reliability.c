/*
 * tests/test_reliability.c - bad input never crashes: the shape limits of the format
 * table (library and commands), threads above the cores, one machine record whatever the
 * calling thread's affinity, and every bad file a user can hand a reader (catalogue,
 * results, a binary blob) - exit 2 with one line, never a signal.  The inputs the fuzzers
 * found (tests/fuzz/seeds/) are replayed here.  The commands run from BITBENCH_BIN.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../harness/compare/compare.h"
#include "../harness/machine/machine.h"
#include "../harness/model/models.h"
#include "../harness/core/pool.h"
#include "../kernels/kernel.h"

#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "testutil.h"

static char err[512];

/* ------------------------------------------------------------------ library limits */

/* Every format's K limit is data: max_k passes, max_k + 1 is refused naming the limit. */
static void test_k_limit_per_format(void **state)
{
    (void)state;
    for (int f = 0; f < BB_FMT_COUNT; f++) {
        const bb_format *fmt = &bb_formats[f];
        if (fmt->max_k == SIZE_MAX)
            continue; /* fp16: no K limit of its own */
        assert_int_equal(bb_shape_check(fmt->id, 1, fmt->max_k, 1, err, sizeof err), 0);
        assert_int_equal(bb_shape_check(fmt->id, 1, fmt->max_k + 1, 1, err, sizeof err), -1);
        char want[64];
        snprintf(want, sizeof want, "accepted k <= %zu", fmt->max_k);
        if (!strstr(err, want))
            fail_msg("%s: '%s' does not say '%s'", fmt->name, err, want);
    }
    assert_int_equal(bb_formats[BB_FMT_INT8].max_k, 133144);
    assert_int_equal(bb_formats[BB_FMT_POT4].max_k, 264208);
    assert_int_equal(bb_formats[BB_FMT_TERN2].max_k, 16909320);
    /* every implementation answers with its format's limit (none has a tighter one yet) */
    for (size_t i = 0; i < bb_kernel_count; i++)
        assert_true(bb_kernel_max_k(bb_kernels[i]) <= bb_formats[bb_kernels[i]->format].max_k);
}

/* M and N: the 2^46-byte buffer limit, the 64-bit work count, and zero. */
static void test_m_and_n_limits(void **state)
{
    (void)state;
    const uint64_t cap = BB_MAX_BUFFER_BYTES;
    /* fp16, k = 32: a row is 64 bytes, so m <= 2^40 */
    assert_int_equal(bb_shape_check(BB_FMT_FP16, (size_t)(cap / 64), 32, 1, err, sizeof err), 0);
    assert_int_equal(bb_shape_check(BB_FMT_FP16, (size_t)(cap / 64) + 1, 32, 1, err, sizeof err), -1);
    assert_non_null(strstr(err, "m = "));
    /* n: token rows of bb_k_stride(k) floats */
    size_t x_row = bb_k_stride(32) * sizeof(float);
    assert_int_equal(bb_shape_check(BB_FMT_FP16, 1, 32, (size_t)(cap / x_row), err, sizeof err), 0);
    assert_int_equal(bb_shape_check(BB_FMT_FP16, 1, 32, (size_t)(cap / x_row) + 1, err, sizeof err), -1);
    assert_non_null(strstr(err, "n = "));
    /* y = m x n floats */
    assert_int_equal(bb_shape_check(BB_FMT_FP16, 1u << 24, 32, 1u << 21, err, sizeof err), -1);
    assert_non_null(strstr(err, "output"));
    /* 2 m k n beyond 64 bits, though every buffer fits */
    assert_int_equal(bb_shape_check(BB_FMT_FP16, 1u << 21, 1u << 21, 1u << 21, err, sizeof err), -1);
    assert_non_null(strstr(err, "64 bits"));
    /* sizes whose byte counts would wrap a size_t */
    assert_int_equal(bb_shape_check(BB_FMT_FP16, SIZE_MAX, SIZE_MAX, SIZE_MAX, err, sizeof err), -1);
    assert_int_equal(bb_shape_check(BB_FMT_TERN1_6, SIZE_MAX, 1, 1, err, sizeof err), -1);
    assert_int_equal(bb_shape_check(BB_FMT_INT8, 1, 1, SIZE_MAX, err, sizeof err), -1);
    assert_int_equal(bb_shape_check(BB_FMT_INT8, 0, 8, 1, err, sizeof err), -1);
    assert_int_equal(bb_shape_check(BB_FMT_INT8, 8, 8, 0, err, sizeof err), -1);
    bb_weights w;
    assert_int_equal(bb_weights_alloc(&w, BB_FMT_FP16, SIZE_MAX / 2, 64), -1); /* no wrap, no crash */
}

/* A model whose projection exceeds a format's K is refused naming the projection. */
static void test_model_projection_limits(void **state)
{
    (void)state;
    bb_model m;
    assert_int_equal(bb_model_parse_shape("x:64:150000:1:1:1:10", &m, err, sizeof err), 0);
    assert_int_equal(bb_model_shape_check(&m, bb_kernel_reference(BB_FMT_INT8), NULL, 1, err, sizeof err), -1);
    assert_non_null(strstr(err, "projection down"));
    assert_int_equal(bb_model_shape_check(&m, bb_kernel_reference(BB_FMT_TERN2),
                                          bb_kernel_reference(BB_FMT_FP16), 1, err, sizeof err), 0);
}

/* ------------------------------------------------------------------ one machine record */

/* The machine record and its id do not depend on the calling thread's affinity: a thread
 * pinned to one CPU (as the pool pins its caller) describes the same machine. */
static void test_machine_record_ignores_affinity(void **state)
{
    (void)state;
    bb_machine before, pinned, pooled;
    bb_machine_describe(&before);
    int cores = bb_online_cores();

    cpu_set_t all, one;
    assert_int_equal(pthread_getaffinity_np(pthread_self(), sizeof all, &all), 0);
    int first = 0;
    while (!CPU_ISSET(first, &all))
        first++;
    CPU_ZERO(&one);
    CPU_SET(first, &one);
    assert_int_equal(pthread_setaffinity_np(pthread_self(), sizeof one, &one), 0);
    bb_machine_describe(&pinned);
    assert_int_equal(bb_online_cores(), cores);
    assert_int_equal(pthread_setaffinity_np(pthread_self(), sizeof all, &all), 0);

    bb_pool *pool = bb_pool_create(cores, err, sizeof err); /* pins this thread too */
    assert_non_null(pool);
    bb_machine_describe(&pooled);
    bb_pool_destroy(pool);
    assert_int_equal(pthread_setaffinity_np(pthread_self(), sizeof all, &all), 0);

    assert_int_equal(pinned.cores, before.cores);
    assert_int_equal(pooled.cores, before.cores);
    assert_string_equal(pinned.id, before.id);
    assert_string_equal(pooled.id, before.id);
}

/* ------------------------------------------------------------------ commands */

static char dir[] = "/tmp/bitbench-rel-XXXXXX";

/* Runs `bitbench <args>` (args may name @D for the scratch folder and @S for the source);
 * returns the raw wait status and the first 4 KiB of stderr. */
static int run(const char *args, char *errbuf, size_t errlen)
{
    char expanded[2048], cmd[4096], errfile[600];
    size_t o = 0;
    for (const char *p = args; *p && o + 600 < sizeof expanded; p++) {
        if (p[0] == '@' && (p[1] == 'D' || p[1] == 'S')) {
            o += (size_t)snprintf(expanded + o, sizeof expanded - o, "%s", p[1] == 'D' ? dir : tu_srcdir());
            p++;
        } else {
            expanded[o++] = *p;
        }
    }
    expanded[o] = 0;
    snprintf(errfile, sizeof errfile, "%s/stderr.txt", dir);
    /* bounded: a reader that regresses into reading forever is killed (time, or memory
     * under ASan) and fails the case, rather than taking the machine's memory */
    snprintf(cmd, sizeof cmd,
             "ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}hard_rss_limit_mb=1024 timeout -s KILL 120 %s %s "
             ">/dev/null 2>%s", tu_bitbench_bin(), expanded, errfile);
    int status = system(cmd);
    FILE *e = fopen(errfile, "r");
    size_t got = e ? fread(errbuf, 1, errlen - 1, e) : 0;
    errbuf[got] = 0;
    if (e)
        fclose(e);
    return status;
}

static void write_file(const char *name, const void *data, size_t len)
{
    char path[600];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
}

static int setup_dir(void **state)
{
    (void)state;
    if (!mkdtemp(dir))
        return -1;
    /* a 100 kB binary file (fixed bytes: xorshift), a malformed catalogue, malformed rows */
    static unsigned char blob[100 * 1024];
    uint64_t x = 88172645463325252ull;
    for (size_t i = 0; i < sizeof blob; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        blob[i] = (unsigned char)x;
    }
    write_file("blob.bin", blob, sizeof blob);
    static const char cat[] = "name,hidden,ffn,layers,heads,kv_heads,vocab,source\n"
                               "tiny,64,128,2,2,1,256,ok\n"
                               "broken,64,abc,2,2,1,256,not a number\n";
    write_file("bad-catalogue.csv", cat, sizeof cat - 1);
    static const char rows[] = "this is not json\n{\"schema_version\":1,\"key\":\n[1,2,3]\n";
    write_file("bad-rows.jsonl", rows, sizeof rows - 1);
    char sub[600];
    snprintf(sub, sizeof sub, "%s/a-directory.jsonl", dir);
    mkdir(sub, 0755);
    return 0;
}

static int remove_dir(void **state)
{
    (void)state;
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    int rc = system(cmd) == 0 ? 0 : -1;
    snprintf(dir, sizeof dir, "/tmp/bitbench-rel-XXXXXX"); /* the next setup makes a new one */
    return rc;
}

typedef struct bad_case {
    const char *args, *must_say;
} bad_case;

/* Each bad input: exit 2, one line on stderr naming it, no signal.  README.md's
 * reliability table lists the same cases with their messages. */
static void test_bad_inputs_exit_2(void **state)
{
    (void)state;
    char threads_gemm[128], threads_sweep[160], threads_info[64], more[32];
    int cores = bb_online_cores();
    snprintf(more, sizeof more, "--threads %d", cores + 1);
    snprintf(threads_gemm, sizeof threads_gemm, "gemm --kernel fp16 --m 8 --k 8 --threads %d", cores + 1);
    snprintf(threads_sweep, sizeof threads_sweep, "sweep --plan --quick --threads 1,%d", cores + 1);
    snprintf(threads_info, sizeof threads_info, "info --threads %d", cores + 1);
    const bad_case cases[] = {
        /* K above each limit */
        {"gemm --kernel int8 --m 4 --k 140000", "accepted k <= 133144"},
        {"gemm --kernel pot4 --m 4 --k 300000", "accepted k <= 264208"},
        {"gemm --impl int8-scalar-ref --m 4 --k 133145", "accepted k <= 133144"},
        {"gemm --kernel all --m 4 --k 1048577", "--k '1048577'"},
        {"sweep --plan --model-shape x:64:150000:1:1:1:10 --formats int8", "projection down"},
        {"sweep --plan --model-shape x:64:300000:1:1:1:10 --formats pot4", "accepted k <= 264208"},
        /* M and N at and beyond their limits */
        {"gemm --kernel fp16 --m 1048577 --k 8", "--m '1048577'"},
        {"gemm --kernel fp16 --m 1048576 --k 1048576", "available"},
        {"gemm --kernel fp16 --m 8 --k 8 --n 65537", "--n '65537'"},
        {"gemm --kernel fp16 --m 1048576 --k 4096 --n 65536", "available"},
        {"sweep --plan --model-shape x:1048576:64:1:1:1:10", "x:1048576:64:1:1:1:10"},
        {"sweep --plan --quick --batch 65537", "--batch"},
        {"sweep --plan --quick --run-group 'a/b'", "--run-group 'a/b'"},
        /* threads above the cores */
        {threads_gemm, more},
        {threads_sweep, more},
        {threads_info, more},
        /* catalogues: missing, unreadable (a directory), malformed, binary */
        {"sweep --plan --catalogue @D/missing.csv", "missing.csv"},
        {"sweep --plan --catalogue @D/a-directory.jsonl", "a-directory.jsonl"},
        {"sweep --plan --catalogue @D/bad-catalogue.csv", "line 3"},
        {"sweep --plan --catalogue @D/blob.bin", "blob.bin"},
        /* results: missing, unreadable, malformed, binary - to every reader */
        {"compare @D/missing.jsonl @D/missing.jsonl", "missing.jsonl"},
        {"compare @D/a-directory.jsonl @D/a-directory.jsonl", "a-directory.jsonl"},
        {"compare @D/bad-rows.jsonl @D/bad-rows.jsonl", "bad-rows.jsonl"},
        {"compare @D/blob.bin @D/blob.bin", "blob.bin"},
        {"report @D/missing.jsonl --no-plots --out @D/r", "missing.jsonl"},
        {"report @D/a-directory.jsonl --no-plots --out @D/r", "a-directory.jsonl"},
        {"report @D/bad-rows.jsonl --no-plots --out @D/r", "bad-rows.jsonl"},
        {"report @D/blob.bin --no-plots --out @D/r", "blob.bin"},
        {"history --no-plot --out @D/h @D/missing.jsonl @D/missing.jsonl", "missing.jsonl"},
        {"history --no-plot --out @D/h @D/bad-rows.jsonl @D/bad-rows.jsonl", "bad-rows.jsonl"},
        {"history --no-plot --out @D/h @D/blob.bin @D/blob.bin", "blob.bin"},
        {"sweep --plan --quick --resume @D/a-directory.jsonl", "a-directory.jsonl"},
        {"sweep --plan --quick --resume @D/bad-rows.jsonl", "not a results file"},
        {"sweep --plan --quick --resume @D/blob.bin", "not a results file"},
        /* a device: one endless line (the readers would grow it until memory ran out) */
        {"compare /dev/zero /dev/zero", "/dev/zero"},
        {"report /dev/zero --no-plots --out @D/r", "/dev/zero"},
        {"history --no-plot --out @D/h /dev/zero /dev/zero", "/dev/zero"},
        {"sweep --plan --quick --resume /dev/zero", "/dev/zero"},
        {"sweep --plan --catalogue /dev/zero", "/dev/zero"},
        /* what the fuzzers found (tests/fuzz/seeds/): ran forever / read out of bounds */
        {"sweep --plan --catalogue @S/tests/fuzz/seeds/catalogue-last-line-cr.csv", "no model lines"},
        {"history --no-plot --out @D/h @S/tests/fuzz/seeds/rows-history-without-samples.jsonl "
         "@S/tests/fuzz/seeds/rows-history-without-samples.jsonl",
         "no key"},
    };
    char e[4096];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int status = run(cases[i].args, e, sizeof e);
        if (WIFSIGNALED(status))
            fail_msg("`bitbench %s` died of signal %d: %s", cases[i].args, WTERMSIG(status), e);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 2)
            fail_msg("`bitbench %s`: exit %d, expected 2; stderr: %s", cases[i].args, WEXITSTATUS(status), e);
        if (!strstr(e, cases[i].must_say))
            fail_msg("`bitbench %s`: stderr does not say '%s': %s", cases[i].args, cases[i].must_say, e);
        const char *nl = strchr(e, '\n');
        /* one line naming the problem (report and history name skipped lines first: at most 3) */
        size_t lines = 0;
        for (const char *p = e; (p = strchr(p, '\n')); p++)
            lines++;
        if (!nl || lines > 3)
            fail_msg("`bitbench %s`: expected a short message, got %zu lines: %s", cases[i].args, lines, e);
    }
}

/* The fuzzers' findings that are not bad input (the readers accept them): no signal, no
 * sanitizer report (ASan's leak check and UBSan end the process with another code), exit 0-2. */
static void test_fuzz_findings_replayed(void **state)
{
    (void)state;
    static const char *const cases[] = {
        /* UBSan: a NaN ratio cast to int in the report's number formatting */
        "report @S/tests/fuzz/seeds/rows-report-ratio-not-finite.jsonl --no-plots --out @D/r",
        /* LeakSanitizer: a row with kind sweep and the gemm schema was read as both */
        "history --no-plot --json --out @D/h @S/tests/fuzz/seeds/rows-sweep-and-gemm-kind.jsonl "
        "@S/tests/fuzz/seeds/rows-sweep-and-gemm-kind.jsonl",
        "compare @S/tests/fuzz/seeds/rows-sweep-and-gemm-kind.jsonl "
        "@S/tests/fuzz/seeds/rows-sweep-and-gemm-kind.jsonl",
    };
    char e[4096];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int status = run(cases[i], e, sizeof e);
        if (!WIFEXITED(status) || WEXITSTATUS(status) > 2)
            fail_msg("`bitbench %s`: %s %d: %s", cases[i], WIFEXITED(status) ? "exit" : "signal",
                     WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), e);
    }
}

/* In process, so that LeakSanitizer sees the lost pointer: a row with kind "sweep" and the
 * gemm schema was read as both, and the gemm run id replaced (leaked) the sweep one. */
static void test_row_of_both_kinds_does_not_leak(void **state)
{
    (void)state;
    char path[600];
    snprintf(path, sizeof path, "%s/tests/fuzz/seeds/rows-sweep-and-gemm-kind.jsonl", tu_srcdir());
    bb_rowset s;
    (void)bb_rowset_load(path, &s, err, sizeof err);
    bb_rowset_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_k_limit_per_format),
        cmocka_unit_test(test_m_and_n_limits),
        cmocka_unit_test(test_model_projection_limits),
        cmocka_unit_test(test_machine_record_ignores_affinity),
        cmocka_unit_test(test_row_of_both_kinds_does_not_leak),
        cmocka_unit_test_setup_teardown(test_bad_inputs_exit_2, setup_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_fuzz_findings_replayed, setup_dir, remove_dir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
