/* kernels/peak.c - the table of compute-roof loops (kernels/peak.h). */
#include "peak.h"

/* The SIMD loops exist for the architecture being built (kernels/<arch>/); an architecture
 * without its own loops (AArch64 today) has the plain-C ones only. */
const bb_peak_loop *const bb_peak_loops[] = {
    &bb_peak_int8dot_scalar, &bb_peak_fma_scalar, &bb_peak_add_scalar,
#if defined(__x86_64__)
    &bb_peak_int8dot_avx2,   &bb_peak_fma_avx2,   &bb_peak_add_avx2,
    &bb_peak_int8dot_avx512_vnni, &bb_peak_int8dot_avx512_maddubs, &bb_peak_fma_avx512, &bb_peak_add_avx512,
#endif
};
const size_t bb_peak_loop_count = sizeof bb_peak_loops / sizeof bb_peak_loops[0];

const char *bb_peak_kind_name(bb_peak_kind k)
{
    static const char *const names[] = {"int8_dot", "fp32_fma", "int_add"};
    return (unsigned)k < BB_PEAK_KIND_COUNT ? names[k] : "?";
}

bool bb_peak_runnable(const bb_peak_loop *l)
{
    return (bb_cpu_features() & l->needs) == l->needs && bb_isa_allowed(l->isa, bb_isa_cap());
}
