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
/* The one rotation rule (gemm and sweep alike): cold data rotates through enough copies
 * of a unit to exceed this many times the LLC, so each use streams it from DRAM. */
#define BB_COLD_LLC_MULTIPLE 4
/* Copies of a unit of unit_bytes for a cold rotation (llc 0: unknown, assumed as above);
 * warm: 1. */
static inline uint64_t bb_cold_copies(uint64_t unit_bytes, uint64_t llc, int warm)
{
    if (warm)
        return 1;
    uint64_t target = BB_COLD_LLC_MULTIPLE * bb_llc_or_assumed(llc), unit = unit_bytes ? unit_bytes : 1;
    uint64_t copies = (target + unit - 1) / unit;
    return copies ? copies : 1;
}
#endif
