/* harness/cache.h - the last-level cache size, which cold-weight rotation must exceed. */
#ifndef BITBENCH_CACHE_H
#define BITBENCH_CACHE_H
#include <stdint.h>
/* Bytes of the largest data cache (hwloc, else sysfs); 0 if unknown, with a reason in why. */
uint64_t bb_llc_bytes(const char **why);
#endif
