/*
 * kernels/ref/ref.h - private to kernels/: the per-format functions that
 * kernels/formats.c puts into bb_formats[], and the scalar reference kernels that
 * kernels/registry.c registers.  Everything here is built without vector flags
 * (see the Makefile), so the references stay honest scalar baselines.
 */
#ifndef BITBENCH_REF_H
#define BITBENCH_REF_H

#include "../kernel.h"

/* Instrumented op counting for tests/test_opcount.c: the reference sources are built
 * a second time with -DBB_COUNT_OPS, and every operation the op-count model claims is
 * tallied here as it happens.  In normal builds BB_COUNT compiles to nothing. */
#ifdef BB_COUNT_OPS
extern bb_opcount bb_ops_counted;
#define BB_COUNT(field, n) (bb_ops_counted.field += (uint64_t)(n))
#else
#define BB_COUNT(field, n) ((void)0)
#endif

#define BB_FORMAT_FUNCS(f)                                                                 \
    void bb_##f##_quantize(const float *w, bb_weights *out);                               \
    uint32_t bb_##f##_get_code(const bb_weights *w, size_t row, size_t i);                 \
    void bb_##f##_set_code(bb_weights *w, size_t row, size_t i, uint32_t code);            \
    double bb_##f##_code_value(uint32_t code);                                             \
    void bb_##f##_opcount(size_t m, size_t k, size_t n, bb_opcount *out);                  \
    extern const bb_kernel bb_kernel_##f##_scalar_ref;

BB_FORMAT_FUNCS(fp16)
BB_FORMAT_FUNCS(int8)
BB_FORMAT_FUNCS(pot4)
BB_FORMAT_FUNCS(pot5)
BB_FORMAT_FUNCS(pot6)
BB_FORMAT_FUNCS(tern2)
BB_FORMAT_FUNCS(tern1_6)

/* Shared by the q8 reference kernels: act_bytes / prepare_act of the standard layout. */
size_t bb_act_q8_ref_bytes(size_t k, size_t n);
void bb_act_q8_ref_prepare(const bb_gemm_args *a, size_t t0, size_t t1);
/* Op count of bb_act_q8_quantize_ref for n tokens of k values. */
void bb_act_q8_opcount(size_t k, size_t n, bb_opcount *out);

#endif
