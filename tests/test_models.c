/* tests/test_models.c - the model catalogue (harness/model/models.c): parsing and its error
 * messages, --model-shape, parameter counts against published sizes, weight bytes, the
 * KV-cache formula and the largest batch under a budget. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../harness/model/models.h"

static bb_model models[BB_MODELS_MAX];
static size_t n_models;
static char err[512];

static int parse(const char *text)
{
    err[0] = 0;
    return bb_models_parse(text, models, BB_MODELS_MAX, &n_models, err, sizeof err);
}

static void test_parse_comments_header_crlf_and_source_with_commas(void **state)
{
    (void)state;
    const char *text = "# a comment\n"
                       "\n"
                       "name,hidden,ffn,layers,heads,kv_heads,vocab,source\n"
                       "tiny, 64 ,128,2,4,2,100,made up, for a test\r\n"
                       "  # indented comment\n"
                       "big.one_2,8192,28672,80,64,8,32000,\n";
    assert_int_equal(parse(text), 0);
    assert_int_equal(n_models, 2);
    assert_string_equal(models[0].name, "tiny");
    assert_int_equal(models[0].hidden, 64);
    assert_int_equal(models[0].ffn, 128);
    assert_int_equal(models[0].layers, 2);
    assert_int_equal(models[0].heads, 4);
    assert_int_equal(models[0].kv_heads, 2);
    assert_int_equal(models[0].vocab, 100);
    assert_string_equal(models[0].source, "made up, for a test");
    assert_string_equal(models[1].name, "big.one_2");
    assert_string_equal(models[1].source, "unstated");
}

/* Each bad line is named by its number and says what is wrong. */
static void test_parse_bad_lines(void **state)
{
    (void)state;
    static const struct {
        const char *text, *want;
    } cases[] = {
        {"ok,64,128,2,4,2,100,s\nbad,64,128,2,4\n", "line 2: expected 8"},
        {"x,64,12a,2,4,2,100,s\n", "line 1: ffn '12a'"},
        {"x,64,128,0,4,2,100,s\n", "line 1: layers '0'"},
        {"x,64,128,-2,4,2,100,s\n", "layers '-2'"},
        {"x,65,128,2,4,2,100,s\n", "hidden 65 is not a multiple of heads 4"},
        {"x,64,128,2,4,3,100,s\n", "heads 4 is not a multiple of kv_heads 3"},
        {"x,64,128,2,4,2,100,s\n# c\nx,64,128,2,4,2,100,t\n", "line 3: model 'x' is already defined"},
        {"a b,64,128,2,4,2,100,s\n", "model name 'a b'"},
        {"x|y,64,128,2,4,2,100,s\n", "model name 'x|y'"},
        {",64,128,2,4,2,100,s\n", "model name ''"},
        {"x,64,128,2,4,2,2000000,s\n", "vocab '2000000'"},
        {"# only comments\n\n", "no model lines"},
        {"", "no model lines"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (parse(cases[i].text) != -1)
            fail_msg("case %zu accepted: %s", i, cases[i].text);
        if (!strstr(err, cases[i].want))
            fail_msg("case %zu: error '%s' does not contain '%s'", i, err, cases[i].want);
    }
}

static void test_parse_capacity(void **state)
{
    (void)state;
    bb_model two[2];
    size_t n;
    const char *text = "a,64,128,2,4,2,100,s\nb,64,128,2,4,2,100,s\nc,64,128,2,4,2,100,s\n";
    assert_int_equal(bb_models_parse(text, two, 2, &n, err, sizeof err), -1);
    assert_non_null(strstr(err, "line 3: more than 2 models"));
}

static void test_model_shape(void **state)
{
    (void)state;
    bb_model m;
    assert_int_equal(bb_model_parse_shape("mine:4096:11008:32:32:8:32000", &m, err, sizeof err), 0);
    assert_string_equal(m.name, "mine");
    assert_int_equal(m.ffn, 11008);
    assert_int_equal(m.kv_heads, 8);
    assert_non_null(strstr(m.source, "--model-shape"));
    static const struct {
        const char *spec, *want;
    } bad[] = {
        {"mine:4096:11008", "expected 7"},
        {"mine:4096:11008:32:32:8:32000:9", "found more"},
        {"mine:4096:x:32:32:8:32000", "ffn 'x'"},
        {"mine:4096:11008:32:32:8:", "vocab ''"},
        {":4096:11008:32:32:8:32000", "model name ''"},
        {"mine:4096:11008:32:30:8:32000", "not a multiple of heads"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(bb_model_parse_shape(bad[i].spec, &m, err, sizeof err), -1);
        if (!strstr(err, bad[i].want) || !strstr(err, bad[i].spec))
            fail_msg("'%s': error '%s' should name the spec and say '%s'", bad[i].spec, err, bad[i].want);
    }
}

/* The shipped catalogue: results/models.csv under BITBENCH_SRCDIR (make check sets it). */
static void load_shipped(void)
{
    const char *src = getenv("BITBENCH_SRCDIR");
    char path[4096];
    snprintf(path, sizeof path, "%s/results/models.csv", src ? src : ".");
    if (bb_models_load(path, models, BB_MODELS_MAX, &n_models, err, sizeof err) != 0)
        fail_msg("%s", err);
}

static const bb_model *shipped(const char *name)
{
    const bb_model *m = bb_models_find(models, n_models, name);
    if (!m)
        fail_msg("model %s missing from results/models.csv", name);
    return m;
}

static void test_shipped_catalogue_matches_paper_facts(void **state)
{
    (void)state;
    load_shipped();
    assert_int_equal(n_models, 6);
    static const bb_model want[] = {
        {"700M", 1536, 4096, 24, 16, 16, 32002, ""}, {"1.3B", 2048, 5460, 24, 32, 32, 32002, ""},
        {"3B", 3200, 8640, 26, 32, 32, 32002, ""},   {"7B", 4096, 11008, 32, 32, 32, 32000, ""},
        {"13B", 5120, 13824, 40, 40, 40, 32000, ""}, {"70B", 8192, 28672, 80, 64, 8, 32000, ""},
    };
    for (size_t i = 0; i < 6; i++) {
        const bb_model *m = shipped(want[i].name);
        assert_int_equal(m->hidden, want[i].hidden);
        assert_int_equal(m->ffn, want[i].ffn);
        assert_int_equal(m->layers, want[i].layers);
        assert_int_equal(m->heads, want[i].heads);
        assert_int_equal(m->kv_heads, want[i].kv_heads);
        assert_int_equal(m->vocab, want[i].vocab);
        assert_true(strlen(m->source) > 5);
    }
}

/* Llama-2's published parameter counts are exact (RMSNorm vectors included, untied
 * embedding and head): 6,738,415,616 / 13,015,864,320 / 68,976,648,192. */
static void test_params_llama2_exact(void **state)
{
    (void)state;
    load_shipped();
    bb_model_params p;
    bb_model_params_count(shipped("7B"), &p);
    assert_int_equal(p.total, 6738415616ull);
    assert_int_equal(p.linear, 6476005376ull);
    bb_model_params_count(shipped("13B"), &p);
    assert_int_equal(p.total, 13015864320ull);
    bb_model_params_count(shipped("70B"), &p);
    assert_int_equal(p.total, 68976648192ull);
    assert_int_equal(p.embedding, 262144000ull);
    assert_int_equal(p.head, p.embedding);
    assert_int_equal(p.norm, 161ull * 8192);
}

/* The 1bitLLM configs carry loose names: with an untied fp16 embedding and head, 700M
 * has 0.78B parameters, 1.3B 1.34B, 3B 3.43B (the paper's own "3.9B" shows the same
 * looseness).  Each stays within 15% of its name; the linear layers alone stay below it. */
static void test_params_bitnet_within_name(void **state)
{
    (void)state;
    load_shipped();
    static const struct {
        const char *name;
        double nominal;
        uint64_t total;
    } cases[] = {{"700M", 0.7e9, 777862656ull}, {"1.3B", 1.3e9, 1338943488ull}, {"3B", 3.0e9, 3426486400ull}};
    for (size_t i = 0; i < 3; i++) {
        bb_model_params p;
        bb_model_params_count(shipped(cases[i].name), &p);
        assert_int_equal(p.total, cases[i].total);
        double ratio = (double)p.total / cases[i].nominal;
        if (ratio < 0.85 || ratio > 1.15)
            fail_msg("%s: %llu parameters, %.3f of the name", cases[i].name, (unsigned long long)p.total, ratio);
        assert_true((double)p.linear < cases[i].nominal * 1.1);
    }
}

static void test_projections_and_kv_dim(void **state)
{
    (void)state;
    load_shipped();
    bb_proj p[BB_PROJ_COUNT];
    bb_model_projections(shipped("70B"), p);
    const char *names[] = {"q", "k", "v", "o", "gate", "up", "down"};
    size_t m[] = {8192, 1024, 1024, 8192, 28672, 28672, 8192}, k[] = {8192, 8192, 8192, 8192, 8192, 8192, 28672};
    for (int i = 0; i < BB_PROJ_COUNT; i++) {
        assert_string_equal(p[i].name, names[i]);
        assert_int_equal(p[i].m, m[i]);
        assert_int_equal(p[i].k, k[i]);
    }
    assert_int_equal(bb_model_head_dim(shipped("70B")), 128);
    assert_int_equal(bb_model_kv_dim(shipped("7B")), 4096);
}

static void test_weight_bytes(void **state)
{
    (void)state;
    load_shipped();
    bb_model_bytes b;
    const bb_model *m7 = shipped("7B");
    bb_model_weight_bytes(m7, BB_FMT_FP16, &b);
    /* fp16: 2 bytes per weight, no scale; 4096 and 11008 are multiples of the 32 block */
    assert_int_equal(b.linear, 2 * 6476005376ull);
    assert_int_equal(b.embedding_head, 2ull * 2 * 32000 * 4096);
    assert_int_equal(b.norm, 2ull * 65 * 4096);
    assert_int_equal(b.total, b.linear + b.embedding_head + b.norm);
    /* tern2: 2 bits per weight (K multiple of 256) + one fp32 scale per matrix */
    bb_model_weight_bytes(m7, BB_FMT_TERN2, &b);
    assert_int_equal(b.linear, 6476005376ull / 4 + 32ull * 7 * 4);
    assert_int_equal(b.embedding_head, 2ull * 2 * 32000 * 4096);
    /* a format with padding: 1.3B's ffn 5460 is padded to the format's block along K */
    bb_model_weight_bytes(shipped("1.3B"), BB_FMT_TERN2, &b);
    bb_model_params p;
    bb_model_params_count(shipped("1.3B"), &p);
    assert_true(b.linear > p.linear / 4);
}

static void test_kv_cache_and_max_batch(void **state)
{
    (void)state;
    load_shipped();
    /* 2 x 80 layers x 8 kv heads x 128 x 512 tokens x 2 bytes */
    assert_int_equal(bb_model_kv_bytes_per_seq(shipped("70B"), 512, 2), 167772160ull);
    assert_int_equal(bb_model_kv_bytes_per_seq(shipped("7B"), 512, 2), 268435456ull);
    assert_int_equal(bb_model_kv_bytes_per_seq(shipped("7B"), 1024, 1), 268435456ull);
    assert_non_null(strstr(bb_model_kv_formula, "kv_heads"));
    assert_int_equal(bb_model_max_batch(100, 10, 99), 0);   /* weights alone exceed */
    assert_int_equal(bb_model_max_batch(100, 10, 100), 0);  /* no room for one sequence */
    assert_int_equal(bb_model_max_batch(100, 10, 109), 0);
    assert_int_equal(bb_model_max_batch(100, 10, 110), 1);  /* exactly one */
    assert_int_equal(bb_model_max_batch(100, 10, 1099), 99);
    assert_int_equal(bb_model_max_batch(100, 0, 1000), 0);  /* no KV model: refuse, not divide */
    /* Table 3 at two A100s (160 GB): 70B fp16 weights fit with a 113-sequence KV cache */
    bb_model_bytes b;
    bb_model_weight_bytes(shipped("70B"), BB_FMT_FP16, &b);
    uint64_t nb = bb_model_max_batch(b.total, 167772160ull, 160000000000ull);
    assert_int_equal(nb, (160000000000ull - b.total) / 167772160ull);
}

static void test_load_errors_name_the_file(void **state)
{
    (void)state;
    assert_int_equal(bb_models_load("/nonexistent/models.csv", models, BB_MODELS_MAX, &n_models, err, sizeof err), -1);
    assert_non_null(strstr(err, "/nonexistent/models.csv"));
    char path[] = "/tmp/bb_models_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fputs("name,hidden,ffn,layers,heads,kv_heads,vocab,source\nx,64,128,2,4,2\n", f);
    fclose(f);
    assert_int_equal(bb_models_load(path, models, BB_MODELS_MAX, &n_models, err, sizeof err), -1);
    assert_non_null(strstr(err, path));
    assert_non_null(strstr(err, "line 2"));
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_comments_header_crlf_and_source_with_commas),
        cmocka_unit_test(test_parse_bad_lines),
        cmocka_unit_test(test_parse_capacity),
        cmocka_unit_test(test_model_shape),
        cmocka_unit_test(test_shipped_catalogue_matches_paper_facts),
        cmocka_unit_test(test_params_llama2_exact),
        cmocka_unit_test(test_params_bitnet_within_name),
        cmocka_unit_test(test_projections_and_kv_dim),
        cmocka_unit_test(test_weight_bytes),
        cmocka_unit_test(test_kv_cache_and_max_batch),
        cmocka_unit_test(test_load_errors_name_the_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
