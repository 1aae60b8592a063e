/*
 * kernels/step_ops.c - the table of decoder-step operation entries (kernels/step_ops.h),
 * the run-time pick among them (the same rule as the GEMM kernels in registry.c: the CPU,
 * after the --isa cap, has what the entry needs), and the RoPE angle table they share.
 */
#include "kernel.h"
#include "step_ops.h"

#include <math.h>
#include <string.h>

/* Defined in kernels/ref/step_ops.c and kernels/x86/step_ops_<isa>.c; an architecture
 * without SIMD entries of its own (AArch64 today) runs the scalar reference. */
extern const bb_step_ops bb_step_ops_scalar_ref;
#if defined(__x86_64__)
extern const bb_step_ops bb_step_ops_avx2, bb_step_ops_avx512;
#endif

const bb_step_ops *const bb_step_ops_table[] = {
    &bb_step_ops_scalar_ref,
#if defined(__x86_64__)
    &bb_step_ops_avx2,
    &bb_step_ops_avx512,
#endif
};
const size_t bb_step_ops_count = sizeof bb_step_ops_table / sizeof bb_step_ops_table[0];

static int step_ops_runnable(const bb_step_ops *ops)
{
    return (bb_cpu_features() & ops->needs) == ops->needs && bb_isa_allowed((bb_isa_level)ops->isa, bb_isa_cap());
}

const bb_step_ops *bb_step_ops_best(void)
{
    const bb_step_ops *best = NULL;
    for (size_t i = 0; i < bb_step_ops_count; i++) {
        const bb_step_ops *ops = bb_step_ops_table[i];
        if (step_ops_runnable(ops) && (!best || ops->priority > best->priority))
            best = ops;
    }
    return best; /* never NULL: the scalar reference needs nothing */
}

const bb_step_ops *bb_step_ops_reference(void) { return &bb_step_ops_scalar_ref; }

const bb_step_ops *bb_step_ops_find(const char *name)
{
    for (size_t i = 0; i < bb_step_ops_count; i++)
        if (strcmp(bb_step_ops_table[i]->name, name) == 0)
            return bb_step_ops_table[i];
    return NULL;
}

/* Angles in double and one rounding to float at the end: at pos ~ 10^4 a float angle
 * would already be off by ~10^-3 rad, and every entry must rotate by the same numbers. */
void bb_rope_table(size_t pos, size_t head_dim, double theta, float *cos_sin)
{
    for (size_t i = 0; i < head_dim / 2; i++) {
        double inv_freq = pow(theta, -2.0 * (double)i / (double)head_dim);
        double angle = (double)pos * inv_freq;
        cos_sin[2 * i] = (float)cos(angle);
        cos_sin[2 * i + 1] = (float)sin(angle);
    }
}
