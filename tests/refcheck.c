/* tests/refcheck.c - the table entry of a multiply-free scalar reference (refcheck.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "refcheck.h"

#include "../kernels/ref/ref.h"

void tu_assert_int8_act_reference(const bb_kernel *kn, bb_format_id f, const char *hot_symbol)
{
    assert_non_null(kn);
    assert_ptr_equal(bb_kernel_reference(f), kn);
    assert_int_equal(kn->format, f);
    assert_string_equal(kn->method, "ref");
    assert_int_equal(kn->isa, BB_ISA_SCALAR);
    assert_int_equal(kn->needs, 0);
    assert_int_equal(kn->priority, 0);
    assert_int_equal(kn->row_block, 1);
    assert_true(kn->multiply_free);
    assert_string_equal(kn->hot_symbol, hot_symbol);
    assert_ptr_equal(kn->act_bytes, bb_act_q8_ref_bytes);
    assert_ptr_equal(kn->prepare_act, bb_act_q8_ref_prepare);
    assert_null(kn->repack);
}
