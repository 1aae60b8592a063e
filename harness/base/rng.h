/* harness/base/rng.h - xorshift64*: seeded data that is the same on every machine (rand() is not). */
#ifndef BITBENCH_RNG_H
#define BITBENCH_RNG_H

#include <stddef.h>
#include <stdint.h>

static inline uint64_t bb_rng_u64(uint64_t *s)
{
    uint64_t x = *s ? *s : 0x9E3779B97F4A7C15ull;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1Dull;
}

/* uniform in [-1, 1) */
static inline float bb_rng_f32(uint64_t *s)
{
    return (float)((double)(bb_rng_u64(s) >> 11) * 0x1.0p-53 * 2.0 - 1.0);
}

/* Bell-shaped values (sum of four uniforms, like trained weights: many small, few large). */
static inline void bb_rng_fill(float *v, size_t n, float scale, uint64_t seed)
{
    uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
    for (size_t i = 0; i < n; i++)
        v[i] = scale * 0.5f * (bb_rng_f32(&s) + bb_rng_f32(&s) + bb_rng_f32(&s) + bb_rng_f32(&s));
}

#endif
