/* kernels/ref/peak.c - the scalar compute-roof loops (kernels/peak.h): what a CPU without
 * SIMD kernels can do, 8 independent accumulators each so that latency does not bound them. */
#include "../peak.h"

/* An empty asm that claims to change v: the compiler must recompute what depends on it
 * every iteration instead of hoisting it out of the loop. */
#define OPAQUE(v) __asm__ volatile("" : "+r"(v))

static uint64_t int8dot(uint64_t iters)
{
    int32_t acc[8] = {0};
    int32_t a = 3; /* a u8 x s8 product */
    for (uint64_t i = 0; i < iters; i++) {
        OPAQUE(a);
        #pragma GCC unroll 16
        for (int j = 0; j < 8; j++)
            acc[j] += (int32_t)(uint8_t)(a + j) * (int32_t)(int8_t)(j - 4);
    }
    uint64_t s = 0;
    for (int j = 0; j < 8; j++)
        s += (uint32_t)acc[j];
    return s;
}

static uint64_t fma_(uint64_t iters)
{
    float acc[8] = {0}, a = 1.0000001f, b = 1e-7f;
    for (uint64_t i = 0; i < iters; i++)
        #pragma GCC unroll 16
        for (int j = 0; j < 8; j++)
            acc[j] = acc[j] * a + b;
    float s = 0;
    for (int j = 0; j < 8; j++)
        s += acc[j];
    return (uint64_t)(s * 1000);
}

static uint64_t add(uint64_t iters)
{
    uint32_t acc[8] = {0}, a = 1;
    for (uint64_t i = 0; i < iters; i++) {
        OPAQUE(a);
        #pragma GCC unroll 16
        for (int j = 0; j < 8; j++)
            acc[j] += a;
    }
    uint64_t s = 0;
    for (int j = 0; j < 8; j++)
        s += acc[j];
    return s;
}

const bb_peak_loop bb_peak_int8dot_scalar = {"int8dot-scalar", BB_PEAK_INT8_DOT, "scalar imul + add, 8 accumulators",
                                             BB_ISA_SCALAR, 0, 8 * 2, int8dot};
const bb_peak_loop bb_peak_fma_scalar = {"fma-scalar", BB_PEAK_FP32_FMA, "scalar mulss + addss, 8 accumulators",
                                         BB_ISA_SCALAR, 0, 8 * 2, fma_};
const bb_peak_loop bb_peak_add_scalar = {"add-scalar", BB_PEAK_INT_ADD, "scalar 32-bit add, 8 accumulators",
                                         BB_ISA_SCALAR, 0, 8, add};
