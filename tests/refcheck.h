/* tests/refcheck.h - shared by the kernel tests: what every multiply-free scalar reference with
 * int8 activations (pot*, tern*) must declare in its table entry. */
#ifndef BITBENCH_REFCHECK_H
#define BITBENCH_REFCHECK_H

#include "../kernels/kernel.h"

/* kn is format f's reference: scalar, method "ref", priority 0, one row per block,
 * multiply-free, hot loop hot_symbol, the reference int8 activation preparation, no repack. */
void tu_assert_int8_act_reference(const bb_kernel *kn, bb_format_id f, const char *hot_symbol);

#endif
