/* tests/test_step.c - the decoder step (harness/model/step.c) and the sweep's arithmetic around it:
 * a step's output stays finite (and bounded) for every format over all layers of 700M, a
 * prompt step too; the KV cache's bytes and rotation; extrapolation; paired speed-up
 * intervals on known data; the interleaving order, in the arithmetic and in a real sweep. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../harness/compare/compare.h"
#include "../harness/core/gemm_run.h"
#include "../harness/report/report.h"
#include "../harness/base/rng.h"
#include "../harness/model/step.h"
#include "../harness/sweep/sweep.h"

static char err[512];

static bb_model model_700m(void)
{
    bb_model m;
    if (bb_model_parse_shape("700M:1536:4096:24:16:16:32002", &m, err, sizeof err))
        fail_msg("%s", err);
    return m;
}

/* One layer's 7 matrices for kernel k (seeded fp32 of RMS 1/sqrt(K), quantized by the format),
 * and the fp16 head. */
typedef struct layer_weights {
    bb_kernel_weights proj[BB_PROJ_COUNT];
    bb_kernel_weights head;
} layer_weights;

static void make_weights(const bb_model *m, const bb_kernel *k, const bb_kernel *hk, layer_weights *lw)
{
    bb_proj p[BB_PROJ_COUNT];
    bb_model_projections(m, p);
    for (int i = 0; i < BB_PROJ_COUNT; i++) {
        float *w = malloc(p[i].m * p[i].k * sizeof *w);
        assert_non_null(w);
        bb_rng_fill(w, p[i].m * p[i].k, (float)sqrt(3.0 / (double)p[i].k), 100 + (uint64_t)i);
        assert_int_equal(bb_kernel_weights_make(&lw->proj[i], k, w, p[i].m, p[i].k), 0);
        free(w);
    }
    float *w = malloc((size_t)m->vocab * m->hidden * sizeof *w);
    assert_non_null(w);
    bb_rng_fill(w, (size_t)m->vocab * m->hidden, (float)sqrt(3.0 / m->hidden), 7);
    assert_int_equal(bb_kernel_weights_make(&lw->head, hk, w, m->vocab, m->hidden), 0);
    free(w);
}

static void free_weights(layer_weights *lw)
{
    for (int i = 0; i < BB_PROJ_COUNT; i++)
        bb_kernel_weights_free(&lw->proj[i]);
    bb_kernel_weights_free(&lw->head);
}

static double rms(const float *v, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += (double)v[i] * v[i];
    return sqrt(s / (double)n);
}

/* Every layer of the model (the same weights in each, the worst case for growth: nothing
 * decorrelates the layers), each with a KV cache of its own; returns the final RMS of x. */
static double run_model(bb_pool *pool, const bb_model *m, const bb_kernel *k, const bb_kernel *hk,
                        const layer_weights *lw, size_t n_seq, size_t n_tok, size_t pos0)
{
    size_t cap = pos0 + n_tok, kvd = bb_model_kv_dim(m);
    bb_step_bufs b;
    assert_int_equal(bb_step_bufs_alloc(&b, m, k, hk, n_seq * n_tok, cap, n_tok, bb_pool_threads(pool)), 0);
    bb_step_geom g = {.model = m, .kn = k, .head_kn = hk, .ops = bb_step_ops_best(), .n_seq = n_seq,
                      .n_tok = n_tok, .pos0 = pos0, .cap = cap};
    assert_int_equal(bb_step_validate(&g, &b, err, sizeof err), 0);
    size_t cache = n_seq * cap * kvd;
    uint16_t *kc = bb_alloc(cache * sizeof *kc), *vc = bb_alloc(cache * sizeof *vc);
    assert_non_null(kc);
    assert_non_null(vc);
    bb_step_fill_x(&b, n_seq * n_tok, m->hidden, 5);
    double x0 = rms(b.x, m->hidden);
    assert_true(x0 > 0.5 && x0 < 2);
    bb_step_split t = {0};
    /* every matrix with its stream's bytes, so the step prefetches the next one as it goes
     * (the same layer's Q after each down projection, the head after the last) */
    bb_step_mat head = {&lw->head.w, bb_kernel_weights_stream(&lw->head),
                        bb_kernel_weights_stream_bytes(&lw->head, hk)};
    for (unsigned l = 0; l < m->layers; l++) {
        bb_step_fill_cache(kc, cache, l);
        bb_step_fill_cache(vc, cache, 1000 + l);
        bb_step_layer layer = {.k_cache = kc, .v_cache = vc};
        for (int p = 0; p < BB_PROJ_COUNT; p++)
            layer.proj[p] = (bb_step_mat){&lw->proj[p].w, bb_kernel_weights_stream(&lw->proj[p]),
                                          bb_kernel_weights_stream_bytes(&lw->proj[p], k)};
        layer.next_q = l + 1 < m->layers ? &layer.proj[BB_PROJ_Q] : &head;
        bb_step_layer_run(pool, &g, &b, &layer, &t);
        if (!bb_step_finite(b.x, n_seq * n_tok, m->hidden, b.hs))
            fail_msg("%s: non-finite activations after layer %u", k->name, l);
    }
    bb_step_head_run(pool, &g, &b, &head, &t);
    if (!bb_step_finite(b.logits, n_seq * n_tok, m->vocab, b.vocab))
        fail_msg("%s: non-finite logits", k->name);
    assert_true(t.linear_ns > 0 && t.attention_ns > 0 && t.other_ns > 0);
    double out = 0;
    for (size_t r = 0; r < n_seq * n_tok; r++)
        out = fmax(out, rms(b.x + r * b.hs, m->hidden));
    bb_free(kc);
    bb_free(vc);
    bb_step_bufs_free(&b);
    return out;
}

/* The residual stream over 24 layers: finite, and grown by at most about sqrt(2 x layers)
 * (each layer adds two unit-size terms); a blow-up would show as orders of magnitude. */
static void test_step_finite_every_format_700m(void **state)
{
    (void)state;
    bb_model m = model_700m();
    bb_pool *pool = bb_pool_create(2, err, sizeof err);
    assert_non_null(pool);
    const bb_kernel *hk = bb_kernel_find_best("fp16");
    for (int f = 0; f < BB_FMT_COUNT; f++) {
        const bb_kernel *k = bb_kernel_find_best(bb_formats[f].name);
        assert_non_null(k);
        layer_weights lw;
        make_weights(&m, k, hk, &lw);
        double out = run_model(pool, &m, k, hk, &lw, 2, 1, 64); /* decode: 2 sequences at position 64 */
        if (!(out < 50))
            fail_msg("%s: residual RMS %.3g after 24 layers", k->name, out);
        if (f == BB_FMT_TERN2) { /* a prompt: 12 tokens from position 0, causal */
            out = run_model(pool, &m, k, hk, &lw, 1, 12, 0);
            assert_true(out < 50);
        }
        free_weights(&lw);
    }
    bb_pool_destroy(pool);
}

/* Prefetching the next call's stream (bb_gemm_exec_next, on in this program: see main) changes
 * no output bit and no byte of the stream, at 1 and 2 threads, for a next stream shorter than
 * the prefetch window and one longer. */
static void test_gemm_exec_next_same_outputs(void **state)
{
    (void)state;
    const size_t m = 96, kk = 512;
    const bb_kernel *k = bb_kernel_find_best("tern2");
    assert_non_null(k);
    float *w = malloc(m * kk * sizeof *w), *x = bb_alloc(kk * sizeof *x);
    float *y0 = bb_alloc(m * sizeof *y0), *y1 = bb_alloc(m * sizeof *y1);
    assert_non_null(w);
    bb_rng_fill(w, m * kk, 0.05f, 3);
    bb_rng_fill(x, kk, 1.0f, 4);
    bb_kernel_weights kw;
    assert_int_equal(bb_kernel_weights_make(&kw, k, w, m, kk), 0);
    void *act = bb_alloc(k->act_bytes ? k->act_bytes(kk, 1) : 64);
    size_t big = 3 * BB_PREFETCH_NEXT_BYTES;
    uint8_t *next = bb_alloc(big);
    assert_non_null(next);
    memset(next, 0x5a, big);
    for (int threads = 1; threads <= 2; threads++) {
        bb_pool *pool = bb_pool_create(threads, err, sizeof err);
        assert_non_null(pool);
        bb_gemm_args a = {.w = &kw.w, .layout = bb_kernel_weights_stream(&kw), .x = x, .x_stride = kk,
                          .y = y0, .y_stride = m, .n = 1, .act = act};
        bb_gemm_exec(pool, k, &a);
        a.y = y1;
        bb_gemm_exec_next(pool, k, &a, next, 1000);
        assert_memory_equal(y0, y1, m * sizeof *y0);
        memset(y1, 0, m * sizeof *y1);
        bb_gemm_exec_next(pool, k, &a, next, big);
        assert_memory_equal(y0, y1, m * sizeof *y0);
        bb_pool_destroy(pool);
    }
    for (size_t i = 0; i < big; i++)
        if (next[i] != 0x5a)
            fail_msg("the prefetched stream changed at byte %zu", i);
    bb_kernel_weights_free(&kw);
    free(w);
    bb_free(x);
    bb_free(y0);
    bb_free(y1);
    bb_free(act);
    bb_free(next);
}

/* The figure: a 70B step at batch 176 and 512 tokens of context reads about 29 GB
 * of KV cache; one layer's slice is 1/80 of it. */
static void test_kv_cache_arithmetic(void **state)
{
    (void)state;
    bb_model m;
    assert_int_equal(bb_model_parse_shape("70B:8192:28672:80:64:8:32000", &m, err, sizeof err), 0);
    /* 2 (K, V) x 176 x 512 x (8 x 128) x 2 bytes */
    assert_int_equal(bb_step_kv_layer_bytes(&m, 176, 512), 2ull * 176 * 512 * 1024 * 2);
    bb_kv_plan kv;
    bb_sweep_kv_plan(&m, 176, 513, 1, 32ull << 20, false, 176, &kv);
    assert_int_equal(kv.slice_bytes, 2ull * 176 * 513 * 1024 * 2);
    assert_int_equal(kv.copies, 1); /* 370 MB is already 4x a 32 MiB cache */
    assert_int_equal(kv.step_bytes, 80ull * 2 * 176 * 513 * 1024 * 2);
    assert_true(kv.step_bytes > 29e9 && kv.step_bytes < 30e9);
    /* the per-layer figure matches the model's per-sequence KV bytes (bb_model_kv_bytes_per_seq) */
    assert_int_equal(bb_step_kv_layer_bytes(&m, 1, 512) * m.layers, bb_model_kv_bytes_per_seq(&m, 512, 2));
    /* 700M at batch 1: 24 layers of 3.15 MB (75.6 MB) need two copies to pass 4 x 32 MiB */
    bb_model s = model_700m();
    bb_sweep_kv_plan(&s, 1, 513, 24, 32ull << 20, false, 1, &kv);
    assert_int_equal(kv.slice_bytes, 2ull * 513 * 1536 * 2);
    assert_int_equal(kv.copies, 2);
    assert_int_equal(kv.total_bytes, 2ull * 24 * kv.slice_bytes);
    bb_sweep_kv_plan(&s, 1, 513, 24, 32ull << 20, true, 1, &kv); /* --warm */
    assert_int_equal(kv.copies, 1);
    /* extrapolation: 80 x (linear 2 ms + attention 3 ms of one layer and its KV slice) + head 1 ms */
    assert_true(fabs(bb_sweep_extrapolate(5e6, 1e6, 80, 1) - 401e6) < 1e-3);
}

static void test_paired_speedup_known_data(void **state)
{
    (void)state;
    double p, lo, hi;
    /* constant ratio 2: the interval is the point */
    double a[6] = {10, 12, 11, 30, 10, 14}, b[6] = {5, 6, 5.5, 15, 5, 7};
    bb_sweep_paired_speedup(a, b, 6, 1.0, 2000, 0.95, 1, &p, &lo, &hi);
    assert_true(fabs(p - 2) < 1e-12 && fabs(lo - 2) < 1e-12 && fabs(hi - 2) < 1e-12);
    /* a noisy moment that hits both sides of a pair cancels (30 vs 15 above); ratios
     * 1.8 .. 2.2: median 2, the interval inside [1.8, 2.2] around it */
    double c[5] = {18, 19, 20, 21, 22}, d[5] = {10, 10, 10, 10, 10};
    bb_sweep_paired_speedup(c, d, 5, 1.0, 2000, 0.95, 1, &p, &lo, &hi);
    assert_true(fabs(p - 2) < 1e-12);
    assert_true(lo >= 1.8 && lo <= 2 && hi >= 2 && hi <= 2.2 && hi > lo);
    double lo1 = lo, hi1 = hi;
    /* budget rows: tokens/s ratio = step ratio x batch ratio (176 / 16 = 11) */
    bb_sweep_paired_speedup(a, a, 6, 11.0, 100, 0.95, 1, &p, &lo, &hi);
    assert_true(fabs(p - 11) < 1e-12);
    /* the same data and seed give the same interval */
    double lo2, hi2;
    bb_sweep_paired_speedup(c, d, 5, 1.0, 2000, 0.95, 1, &p, &lo2, &hi2);
    assert_true(lo2 == lo1 && hi2 == hi1);
}

static void test_interleave_order(void **state)
{
    (void)state;
    size_t o[12];
    bb_sweep_interleave_order(3, 4, o);
    for (size_t i = 0; i < 12; i++)
        assert_int_equal(o[i], i % 3);
}

static double num(const json_t *o, const char *k) { return json_number_value(json_object_get(o, k)); }

static void keep(json_t *row, size_t line, void *ctx)
{
    (void)line;
    json_array_append((json_t *)ctx, row);
}

/* A real sweep of a tiny model: the rows of one batch were sampled in one interleaved set
 * (same order list, same number of rounds, every position once), and each has a paired
 * speed-up vs the set's fp16 row. */
static void test_sweep_rows_interleaved(void **state)
{
    (void)state;
    bb_model m;
    assert_int_equal(bb_model_parse_shape("tiny:64:96:2:4:2:200", &m, err, sizeof err), 0);
    bb_sweep_opts o;
    bb_sweep_opts_default(&o);
    o.models = &m;
    o.n_models = 1;
    o.formats[0] = BB_FMT_FP16;
    o.formats[1] = BB_FMT_TERN2;
    o.formats[2] = BB_FMT_INT8;
    o.n_formats = 3;
    o.threads[0] = 1;
    o.n_threads = 1;
    o.budget_batch = false;
    o.context = 16;
    o.llc_bytes = 64 << 10;
    o.min_time = 0.0005;
    o.min_reps = 4;
    o.max_reps = 4;
    bb_sweep_row *rows;
    size_t n;
    assert_int_equal(bb_sweep_plan(&o, &rows, &n, err, sizeof err), 0);
    char path[] = "/tmp/bb_step_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    bb_results_writer w;
    assert_int_equal(bb_results_open(&w, path, err, sizeof err), 0);
    bb_sweep_ctx c = {.opts = &o, .writer = &w, .common = bb_sweep_common("t")};
    assert_int_equal(bb_sweep_run(&c, rows, n, err, sizeof err), 0);
    bb_results_close(&w);
    json_decref(c.common);
    json_t *got = json_array();
    bb_results_read_info info;
    assert_int_equal(bb_results_read(path, keep, got, &info, err, sizeof err), 0);
    unlink(path);
    assert_int_equal(json_array_size(got), n);
    unsigned seen = 0;
    for (size_t i = 0; i < n; i++) {
        const json_t *row = json_array_get(got, i), *set = json_object_get(row, "interleave");
        assert_string_equal(json_string_value(json_object_get(row, "status")), "ok");
        assert_true(json_is_true(json_object_get(set, "interleaved")));
        assert_int_equal(json_array_size(json_object_get(set, "order")), n);
        assert_int_equal(num(set, "rounds"), 4);
        assert_int_equal(json_array_size(json_object_get(row, "samples_step_ns")), 4);
        size_t pos = (size_t)num(set, "position");
        assert_string_equal(json_string_value(json_array_get(json_object_get(set, "order"), pos)),
                            json_string_value(json_object_get(row, "impl")));
        seen |= 1u << pos;
        const json_t *vs = json_object_get(row, "vs_fp16");
        assert_string_equal(json_string_value(json_object_get(vs, "status")), "measured");
        assert_true(num(vs, "ci_low") <= num(vs, "speedup") && num(vs, "speedup") <= num(vs, "ci_high"));
        const json_t *split = json_object_get(row, "split");
        assert_true(num(split, "linear_ms") > 0 && num(split, "attention_ms") > 0);
        assert_true(num(split, "attention_share") > 0 && num(split, "attention_share") < 1);
    }
    assert_int_equal(seen, (1u << n) - 1);
    json_decref(got);
    free(rows);

    /* a prompt row per implementation (pp: 8 tokens of one sequence, causal), and the
     * earlier matmul-only step: both measured, their kinds recorded */
    for (int variant = 0; variant < 2; variant++) {
        o.prompt = variant == 0 ? 8 : 0;
        o.matmul_only = variant == 1;
        assert_int_equal(bb_sweep_plan(&o, &rows, &n, err, sizeof err), 0);
        fd = mkstemp(path);
        close(fd);
        assert_int_equal(bb_results_open(&w, path, err, sizeof err), 0);
        bb_sweep_ctx c2 = {.opts = &o, .writer = &w, .common = bb_sweep_common("t")};
        assert_int_equal(bb_sweep_run(&c2, rows, n, err, sizeof err), 0);
        bb_results_close(&w);
        json_decref(c2.common);
        got = json_array();
        assert_int_equal(bb_results_read(path, keep, got, &info, err, sizeof err), 0);
        unlink(path);
        snprintf(path, sizeof path, "/tmp/bb_step_XXXXXX");
        size_t prompts = 0;
        for (size_t i = 0; i < json_array_size(got); i++) {
            const json_t *row = json_array_get(got, i), *step = json_object_get(row, "step");
            assert_string_equal(json_string_value(json_object_get(row, "status")), "ok");
            const char *kind = json_string_value(json_object_get(step, "kind"));
            if (variant == 1) {
                assert_string_equal(kind, "matmul_only");
                assert_non_null(strstr(json_string_value(json_object_get(row, "key")), "|matmul"));
            } else if (!strcmp(kind, "prompt")) {
                prompts++;
                assert_int_equal(num(step, "tokens"), 8);
                assert_string_equal(json_string_value(json_object_get(row, "batch_source")), "prompt");
                double tps = num(row, "tokens_per_s"), med = num(json_object_get(row, "stats_step_ns"), "median");
                assert_true(fabs(tps - 8e9 / med) <= 1e-6 * tps);
            }
        }
        if (variant == 0)
            assert_int_equal(2 * prompts, json_array_size(got)); /* one pp row beside each tg row */
        json_decref(got);
        free(rows);
    }
}

/* Old rows (schema 1, tests/fixtures): the report reads them as matmul-only steps of the
 * best implementation; compare refuses to pair them with schema 2 rows, saying why; a newer
 * schema is refused. */
static void test_old_schema_rows(void **state)
{
    (void)state;
    const char *src = getenv("BITBENCH_SRCDIR") ? getenv("BITBENCH_SRCDIR") : ".";
    char v1[600];
    snprintf(v1, sizeof v1, "%s/tests/fixtures/report/metal.jsonl", src);
    bb_report r;
    memset(&r, 0, sizeof r);
    FILE *log = fopen("/dev/null", "w");
    const char *files[1] = {v1};
    assert_true(bb_report_load(&r, files, 1, log) > 0);
    fclose(log);
    for (size_t i = 0; i < r.n_rows; i++) {
        assert_int_equal(r.rows[i].schema, 1);
        assert_string_equal(r.rows[i].step_kind, "matmul_only");
        assert_true(r.rows[i].best_impl);
        assert_true(isnan(r.rows[i].speedup));
        if (!strcmp(r.rows[i].status, "ok"))
            assert_true(r.rows[i].matmul_ms == r.rows[i].latency_ms);
    }
    bb_report_free(&r);

    char v2[] = "/tmp/bb_step_v2_XXXXXX";
    int fd = mkstemp(v2);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fputs("{\"schema_version\":2,\"kind\":\"sweep\",\"run_id\":\"r\",\"key\":\"700M|fp16|fp16-x|t2|b1|head|cold|tg|c512\","
          "\"status\":\"ok\",\"format\":\"fp16\",\"impl\":\"fp16-x\",\"machine\":{\"id\":\"b2c7e0a94f13d688\"},"
          "\"samples_step_ns\":[10,11,12]}\n", f);
    fclose(f);
    bb_rowset a, b;
    assert_int_equal(bb_rowset_load(v1, &a, err, sizeof err), 0);
    assert_int_equal(bb_rowset_load(v2, &b, err, sizeof err), 0);
    assert_int_equal(a.sweep_schema, 1);
    assert_int_equal(b.sweep_schema, 2);
    bb_compare_opts o;
    bb_compare_opts_default(&o);
    bb_comparison c;
    assert_int_equal(bb_compare_rowsets(&a, &b, NULL, &o, &c, err, sizeof err), 2);
    assert_non_null(strstr(err, "schema_version 1"));
    assert_non_null(strstr(err, "re-run the baseline"));
    bb_comparison_free(&c);
    bb_rowset_free(&a);
    bb_rowset_free(&b);
    f = fopen(v2, "w");
    fputs("{\"schema_version\":3,\"kind\":\"sweep\",\"key\":\"k\",\"status\":\"ok\"}\n", f);
    fclose(f);
    assert_int_equal(bb_rowset_load(v2, &b, err, sizeof err), -1);
    assert_non_null(strstr(err, "newer than this bitbench reads (2)"));
    bb_rowset_free(&b);
    unlink(v2);
}

int main(void)
{
    /* the next-projection prefetch is off by default; on here, so every step below runs it
     * (read once per process, before the first call) */
    setenv("BITBENCH_PREFETCH_NEXT", "1", 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kv_cache_arithmetic),
        cmocka_unit_test(test_paired_speedup_known_data),
        cmocka_unit_test(test_interleave_order),
        cmocka_unit_test(test_old_schema_rows),
        cmocka_unit_test(test_sweep_rows_interleaved),
        cmocka_unit_test(test_step_finite_every_format_700m),
        cmocka_unit_test(test_gemm_exec_next_same_outputs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
