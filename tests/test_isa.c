/* tests/test_isa.c - the ISA table (kernels/isa.def) and the kernels agree: every kernel's
 * .needs covers its level's feature mask (so scripts/check-isa.sh, which holds each object
 * to its level's mask, also holds it to the kernel's needs), levels and names are of this
 * architecture, --isa names parse back, a cap allows its level and those below it on this
 * architecture, and the bandwidth read loops follow the same rules. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel.h"
#include "read_loop.h"

static bool here(bb_isa_level l)
{
    return bb_isa_arch(l) == BB_ARCH_ANY || bb_isa_arch(l) == bb_arch_host();
}

static void test_needs_cover_level_mask(void **state)
{
    (void)state;
    char buf[256];
    for (size_t i = 0; i < bb_kernel_count; i++) {
        const bb_kernel *k = bb_kernels[i];
        uint32_t mask = bb_isa_mask(k->isa), missing = mask & ~k->needs;
        if (missing)
            fail_msg("%s (level %s): .needs lacks %s of its level's mask", k->name,
                     bb_isa_name(k->isa), bb_cpu_features_str(missing, buf, sizeof buf));
        if (!here(k->isa))
            fail_msg("%s: level %s is not of this architecture", k->name, bb_isa_name(k->isa));
        /* exact names spell the level: <format>-<level>-<method> */
        char want[96];
        snprintf(want, sizeof want, "%s-%s-%s", bb_format_get(k->format)->name,
                 bb_isa_name(k->isa), k->method);
        /* int8-avx2-vnni keeps the name users' scripts know; its level became avxvnni */
        if (strcmp(k->name, want) != 0 && k->isa != BB_ISA_SCALAR &&
            strcmp(k->name, "int8-avx2-vnni") != 0)
            fail_msg("%s: name does not spell format-level-method (%s)", k->name, want);
    }
}

/* Names are unique, scalar needs nothing and has no flags, every other level needs
 * something.  (Masks need not nest: avx512 does not imply AVX-VNNI; a cap allows the
 * union of the masks of the levels it allows.) */
static void test_levels(void **state)
{
    (void)state;
    for (int a = 0; a < BB_ISA_COUNT; a++) {
        bb_isa_level la = (bb_isa_level)a;
        if (la != BB_ISA_SCALAR) {
            assert_true(bb_isa_mask(la) != 0);
            assert_true(bb_isa_arch(la) != BB_ARCH_ANY);
        }
        for (int b = a + 1; b < BB_ISA_COUNT; b++)
            assert_string_not_equal(bb_isa_name(la), bb_isa_name((bb_isa_level)b));
    }
    assert_int_equal(bb_isa_mask(BB_ISA_SCALAR), 0);
    assert_int_equal(bb_isa_arch(BB_ISA_SCALAR), BB_ARCH_ANY);
    assert_string_equal(bb_isa_flags(BB_ISA_SCALAR), "");
}

static void test_names_parse_per_architecture(void **state)
{
    (void)state;
    char names[256];
    bb_isa_names("|", names, sizeof names);
    assert_true(strncmp(names, "scalar", 6) == 0);
    for (int i = 0; i < BB_ISA_COUNT; i++) {
        bb_isa_level l = (bb_isa_level)i, got = BB_ISA_COUNT;
        int rc = bb_isa_parse(bb_isa_name(l), &got);
        if (here(l)) {
            assert_int_equal(rc, 0);
            assert_int_equal(got, l);
            assert_non_null(strstr(names, bb_isa_name(l)));
        } else {
            assert_int_equal(rc, -1); /* another architecture's level is no --isa here */
            assert_null(strstr(names, bb_isa_name(l)));
        }
    }
    bb_isa_level l;
    assert_int_equal(bb_isa_parse("sse9", &l), -1);
    assert_int_equal(bb_isa_parse(NULL, &l), -1);
    /* every feature has a name */
    char buf[512];
    bb_cpu_features_str((1u << BB_CPU_FEATURE_COUNT) - 1, buf, sizeof buf);
    size_t words = 1;
    for (const char *p = buf; *p; p++)
        words += *p == ' ';
    assert_int_equal(words, BB_CPU_FEATURE_COUNT);
}

/* Cap at each level of this architecture: runnable kernels are those at or below it. */
static void test_cap_semantics(void **state)
{
    (void)state;
    bb_isa_level top = bb_isa_cap();
    for (int c = 0; c < BB_ISA_COUNT; c++) {
        bb_isa_level cap = (bb_isa_level)c;
        if (!here(cap))
            continue;
        bb_isa_set_cap(cap);
        for (size_t i = 0; i < bb_kernel_count; i++) {
            const bb_kernel *k = bb_kernels[i];
            bool allowed = k->isa == BB_ISA_SCALAR || k->isa <= cap;
            assert_int_equal(bb_isa_allowed(k->isa, cap), allowed);
            if (!allowed)
                assert_false(bb_kernel_runnable(k));
            else
                assert_int_equal(bb_kernel_runnable(k),
                                 (bb_cpu_detect() & k->needs) == k->needs);
        }
        /* the features of levels above the cap are hidden */
        for (int a = c + 1; a < BB_ISA_COUNT; a++)
            if (here((bb_isa_level)a) && bb_isa_arch((bb_isa_level)a) != BB_ARCH_ANY)
                assert_int_equal(bb_cpu_features() & bb_isa_mask((bb_isa_level)a) &
                                     ~bb_isa_mask(cap),
                                 0);
    }
    bb_isa_set_cap(top);
}

static void test_read_loops(void **state)
{
    (void)state;
    enum { N = 1003 };
    uint64_t *buf = bb_alloc(N * sizeof *buf);
    assert_non_null(buf);
    for (size_t i = 0; i < N; i++)
        buf[i] = i * 0x9e3779b97f4a7c15ull;
    uint64_t want = 0;
    for (size_t i = 0; i < N; i++)
        want += buf[i];
    for (size_t i = 0; i < bb_read_loop_count; i++) {
        const bb_read_loop *l = bb_read_loops[i];
        assert_true(here(l->isa));
        assert_int_equal(bb_isa_mask(l->isa) & ~l->needs, 0);
        if ((bb_cpu_detect() & l->needs) != l->needs) {
            printf("read loop %s: skipped, this CPU lacks its features\n", l->loads);
            continue;
        }
        for (size_t n = 0; n <= N; n += N / 7 + 1)
            if (n == N) {
                assert_true(l->sum(buf, n) == want);
            } else {
                uint64_t w = 0;
                for (size_t j = 0; j < n; j++)
                    w += buf[j];
                assert_true(l->sum(buf, n) == w);
            }
        assert_true(l->sum(buf, N) == want);
    }
    const bb_read_loop *w = bb_read_loop_widest(bb_cpu_detect());
    assert_non_null(w);
    assert_true(w->load_bytes >= 8);
    assert_int_equal(bb_read_loop_widest(0)->load_bytes, 8);
    bb_free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_needs_cover_level_mask),
        cmocka_unit_test(test_levels),
        cmocka_unit_test(test_names_parse_per_architecture),
        cmocka_unit_test(test_cap_semantics),
        cmocka_unit_test(test_read_loops),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
