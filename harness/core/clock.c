/* harness/core/clock.c - the one clock (clock.h). */
#include "clock.h"

#include <time.h>

uint64_t bb_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

double bb_timer_granularity_ns(void)
{
    static double cached = 0;
    if (cached > 0)
        return cached;
    uint64_t best = UINT64_MAX;
    for (int i = 0; i < 64; i++) {
        uint64_t a = bb_now_ns(), b;
        while ((b = bb_now_ns()) == a)
            ;
        if (b - a < best)
            best = b - a;
    }
    cached = (double)best;
    return cached;
}
