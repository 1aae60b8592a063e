/* harness/core/clock.h - the one clock every timed region reads: CLOCK_MONOTONIC in ns. */
#ifndef BITBENCH_CLOCK_H
#define BITBENCH_CLOCK_H

#include <stdint.h>

/* Monotonic clock in nanoseconds, and its granularity (smallest observed non-zero step). */
uint64_t bb_now_ns(void);
double bb_timer_granularity_ns(void);

#endif
