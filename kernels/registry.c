/*
 * kernels/registry.c - every kernel implementation, in one table.  Adding a kernel is
 * adding one line here (and its file).  Lookup by format name gives the best one this
 * CPU may run; lookup by implementation name is exact.
 */
#include "ref/ref.h"
#if defined(__x86_64__)
#include "x86/x86.h"
#define BB_SIMD_KERNELS BB_X86_KERNELS
#elif defined(__aarch64__)
#include "arm/arm.h"
#define BB_SIMD_KERNELS BB_ARM_KERNELS
#else
#define BB_SIMD_KERNELS
#endif

#include <string.h>

const bb_kernel *const bb_kernels[] = {
    /* scalar references: always runnable, lowest priority */
    &bb_kernel_fp16_scalar_ref,
    &bb_kernel_int8_scalar_ref,
    &bb_kernel_pot4_scalar_ref,
    &bb_kernel_pot5_scalar_ref,
    &bb_kernel_pot6_scalar_ref,
    &bb_kernel_tern2_scalar_ref,
    &bb_kernel_tern1_6_scalar_ref,
    /* SIMD kernels of this architecture (kernels/x86/x86.h, kernels/arm/arm.h): the
     * Makefile builds only the folder of the target architecture (kernels/isa.def) */
    BB_SIMD_KERNELS
};
const size_t bb_kernel_count = sizeof bb_kernels / sizeof bb_kernels[0];

bool bb_kernel_runnable(const bb_kernel *k)
{
    return (bb_cpu_features() & k->needs) == k->needs && bb_isa_allowed(k->isa, bb_isa_cap());
}

const bb_kernel *bb_kernel_find_exact(const char *impl)
{
    for (size_t i = 0; i < bb_kernel_count; i++)
        if (strcmp(bb_kernels[i]->name, impl) == 0)
            return bb_kernels[i];
    return NULL;
}

const bb_kernel *bb_kernel_find_best(const char *format_name)
{
    const bb_format *f = bb_format_find(format_name);
    const bb_kernel *best = NULL;
    if (!f)
        return NULL;
    for (size_t i = 0; i < bb_kernel_count; i++) {
        const bb_kernel *k = bb_kernels[i];
        if (k->format == f->id && bb_kernel_runnable(k) && (!best || k->priority > best->priority))
            best = k;
    }
    return best;
}

const bb_kernel *bb_kernel_reference(bb_format_id f)
{
    for (size_t i = 0; i < bb_kernel_count; i++)
        if (bb_kernels[i]->format == f && bb_kernels[i]->isa == BB_ISA_SCALAR &&
            strcmp(bb_kernels[i]->method, "ref") == 0)
            return bb_kernels[i];
    return NULL;
}
