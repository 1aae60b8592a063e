/* harness/cache.h - the last-level cache size, which cold-weight rotation must exceed. */
#ifndef BITBENCH_CACHE_H
#define BITBENCH_CACHE_H
#include <stdint.h>
/* Bytes of the largest data cache (hwloc, else sysfs); 0 if unknown, with a reason in why. */
uint64_t bb_llc_bytes(const char **why);
/* The one rule for an unknown LLC (gemm and sweep alike): assume a large one, 256 MiB (the
 * largest server L3s), rather than time weights that a real cache would hold. */
#define BB_ASSUMED_LLC (256ull << 20)
static inline uint64_t bb_llc_or_assumed(uint64_t llc) { return llc ? llc : BB_ASSUMED_LLC; }
#endif
