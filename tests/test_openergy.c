/*
 * tests/test_openergy.c - the modeled energy against values computed by hand from the
 * Horowitz table (paper-facts.md), the class mapping stated in harness/model/openergy.h, the
 * paper's 71.4x at 7 nm, and the JSON labels.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../harness/model/openergy.h"

#include <math.h>
#include <string.h>

static void assert_close(double got, double want)
{
    if (fabs(got - want) > 1e-9 * fmax(1.0, fabs(want))) {
        print_error("got %.17g, want %.17g\n", got, want);
        fail();
    }
}

/* One operation of each class, and what it must cost (pJ at 45 nm, 7 nm), written out
 * from the table so that a wrong row in openergy.c cannot agree with itself. */
static void one_op_per_class(void **state)
{
    (void)state;
    static const struct {
        size_t offset;
        double pj45, pj7;
    } want[] = {
        {offsetof(bb_opcount, int_add), 0.03, 0.007},  /* INT8 ADD */
        {offsetof(bb_opcount, int_mul), 0.2, 0.07},    /* INT8 MUL */
        {offsetof(bb_opcount, int_cmp), 0.03, 0.007},  /* as INT8 ADD */
        {offsetof(bb_opcount, shift), 0.03, 0.007},    /* as INT8 ADD (assumed) */
        {offsetof(bb_opcount, fp16_add), 0.4, 0.16},
        {offsetof(bb_opcount, fp16_mul), 1.1, 0.34},
        {offsetof(bb_opcount, fp32_add), 0.9, 0.38},
        {offsetof(bb_opcount, fp32_mul), 3.7, 1.31},
        {offsetof(bb_opcount, fp32_cmp), 0.9, 0.38},   /* as FP32 ADD */
        {offsetof(bb_opcount, cvt), 0.9, 0.38},        /* as FP32 ADD (assumed) */
        {offsetof(bb_opcount, fp32_div), 0, 0},        /* left out of the sum */
    };
    assert_int_equal(bb_op_energy_count, sizeof want / sizeof want[0]);
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        bb_opcount ops;
        memset(&ops, 0, sizeof ops);
        *(uint64_t *)((char *)&ops + want[i].offset) = 1000;
        assert_close(bb_openergy_pj(&ops, BB_NODE_45NM), 1000 * want[i].pj45);
        assert_close(bb_openergy_pj(&ops, BB_NODE_7NM), 1000 * want[i].pj7);
    }
}

static void mixed_counts_hand_computed(void **state)
{
    (void)state;
    bb_opcount ops = {.int_add = 1000, .int_mul = 1000, .fp32_mul = 10, .cvt = 4};
    /* 45 nm: 1000*0.03 + 1000*0.2 + 10*3.7 + 4*0.9 = 30 + 200 + 37 + 3.6 */
    assert_close(bb_openergy_pj(&ops, BB_NODE_45NM), 270.6);
    /* 7 nm: 7 + 70 + 13.1 + 1.52 */
    assert_close(bb_openergy_pj(&ops, BB_NODE_7NM), 91.62);
}

static void paper_model_gives_71_4_at_7nm(void **state)
{
    (void)state;
    assert_close(bb_openergy_paper_mac_pj(BB_PAPER_FP16, BB_NODE_7NM), 0.5);
    assert_close(bb_openergy_paper_mac_pj(BB_PAPER_TERNARY, BB_NODE_7NM), 0.007);
    double r7 = bb_openergy_paper_ratio(BB_NODE_7NM);
    assert_close(r7, 0.5 / 0.007);
    assert_true(fabs(r7 - 71.4) < 0.05); /* the paper's 71.4x */
    assert_close(bb_openergy_paper_ratio(BB_NODE_45NM), 1.5 / 0.03);
    assert_close(bb_openergy_paper_matmul_pj(BB_PAPER_FP16, 4096, 4096, 1, BB_NODE_7NM),
                 4096.0 * 4096.0 * 0.5);
    assert_close(bb_openergy_paper_matmul_pj(BB_PAPER_TERNARY, 4096, 11008, 8, BB_NODE_45NM),
                 4096.0 * 11008.0 * 8 * 0.03);

    /* The same per-MAC assumption through the op counts: equal ratios. */
    bb_opcount fp16 = {.fp16_add = 1u << 20, .fp16_mul = 1u << 20};
    bb_opcount tern = {.int_add = 1u << 20};
    assert_close(bb_openergy_ratio(&fp16, &tern, BB_NODE_7NM), r7);

    json_t *j = bb_openergy_paper_json();
    assert_string_equal(json_string_value(json_object_get(j, "status")), "modeled");
    json_t *ratio = json_object_get(j, "ratio_fp16_over_ternary");
    assert_close(json_number_value(json_object_get(ratio, "7nm")), r7);
    assert_non_null(strstr(json_string_value(json_object_get(j, "assumptions")), "INT8 ADD"));
    json_decref(j);
}

/* What a real ternary kernel counts: the activation quantization and rescale make the
 * ratio fall below the paper's 71.4. 4096 x 4096, one token, counts written by hand. */
static void real_kernel_overheads_lower_the_ratio(void **state)
{
    (void)state;
    const double k = 4096, m = 4096, w = m * k;
    bb_opcount fp16 = {.fp16_add = (uint64_t)w, .fp16_mul = (uint64_t)w};
    bb_opcount tern = {.int_add = (uint64_t)(w + k), .fp32_cmp = (uint64_t)k,
                       .fp32_mul = (uint64_t)(k + 2 * m), .cvt = (uint64_t)(k + m),
                       .int_cmp = (uint64_t)(2 * k), .fp32_div = 2};
    double tern7 = (w + k) * 0.007 + k * 0.38 + (k + 2 * m) * 1.31 + (k + m) * 0.38 +
                   2 * k * 0.007;
    assert_close(bb_openergy_pj(&tern, BB_NODE_7NM), tern7);
    double r = bb_openergy_ratio(&fp16, &tern, BB_NODE_7NM);
    assert_close(r, w * 0.5 / tern7);
    assert_true(r < 71.4);
}

static void json_labels_and_per_token(void **state)
{
    (void)state;
    bb_opcount ops = {.int_add = 2000, .shift = 500, .fp32_div = 3};
    json_t *j = bb_openergy_json(&ops, 4);
    assert_string_equal(json_string_value(json_object_get(j, "status")), "modeled");
    const char *src = json_string_value(json_object_get(j, "source"));
    assert_non_null(strstr(src, "Horowitz"));
    assert_non_null(strstr(src, "2310.11453"));
    json_t *n7 = json_object_get(json_object_get(j, "nodes"), "7nm");
    double pj7 = 2000 * 0.007 + 500 * 0.007;
    assert_close(json_number_value(json_object_get(n7, "pj")), pj7);
    assert_close(json_number_value(json_object_get(n7, "j")), pj7 * 1e-12);
    assert_close(json_number_value(json_object_get(n7, "j_per_token")), pj7 * 1e-12 / 4);
    json_t *by = json_object_get(j, "by_class");
    json_t *shift = json_object_get(by, "shift");
    assert_string_equal(json_string_value(json_object_get(shift, "charged_as")), "INT8 ADD");
    assert_non_null(strstr(json_string_value(json_object_get(shift, "basis")), "assumed"));
    assert_null(json_object_get(by, "int_mul")); /* zero counts are not listed */
    assert_null(json_object_get(by, "fp32_div"));
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "excluded"),
                                                        "fp32_div")), 3);
    json_decref(j);

    j = bb_openergy_json(&ops, 0);
    n7 = json_object_get(json_object_get(j, "nodes"), "7nm");
    assert_true(json_is_null(json_object_get(n7, "j_per_token")));
    assert_non_null(json_string_value(json_object_get(n7, "j_per_token_reason")));
    json_decref(j);
}

static void accumulate_sums_every_class(void **state)
{
    (void)state;
    bb_opcount acc = {.int_add = 1, .fp32_div = 1};
    bb_opcount one = {.int_add = 2, .int_mul = 3, .int_cmp = 4, .shift = 5, .fp16_add = 6,
                      .fp16_mul = 7, .fp32_add = 8, .fp32_mul = 9, .fp32_div = 10,
                      .fp32_cmp = 11, .cvt = 12};
    bb_opcount_accumulate(&acc, &one, 7);
    assert_int_equal(acc.int_add, 15);
    assert_int_equal(acc.int_mul, 21);
    assert_int_equal(acc.int_cmp, 28);
    assert_int_equal(acc.shift, 35);
    assert_int_equal(acc.fp16_add, 42);
    assert_int_equal(acc.fp16_mul, 49);
    assert_int_equal(acc.fp32_add, 56);
    assert_int_equal(acc.fp32_mul, 63);
    assert_int_equal(acc.fp32_div, 71);
    assert_int_equal(acc.fp32_cmp, 77);
    assert_int_equal(acc.cvt, 84);
}

static void dram_term_is_separate(void **state)
{
    (void)state;
    json_t *j = bb_openergy_dram_json(1e9, 10);
    assert_string_equal(json_string_value(json_object_get(j, "status")), "modeled");
    assert_close(json_number_value(json_object_get(j, "j")), 1e9 * 8 * 20e-12); /* 0.16 J */
    assert_close(json_number_value(json_object_get(j, "j_per_token")), 0.016);
    assert_non_null(strstr(json_string_value(json_object_get(j, "source")), "640 pJ"));
    json_decref(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(one_op_per_class),
        cmocka_unit_test(mixed_counts_hand_computed),
        cmocka_unit_test(paper_model_gives_71_4_at_7nm),
        cmocka_unit_test(real_kernel_overheads_lower_the_ratio),
        cmocka_unit_test(json_labels_and_per_token),
        cmocka_unit_test(accumulate_sums_every_class),
        cmocka_unit_test(dram_term_is_separate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
