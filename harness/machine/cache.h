/* harness/machine/cache.h - the last-level cache size, which cold-weight rotation must exceed. */
#ifndef BITBENCH_CACHE_H
#define BITBENCH_CACHE_H
#include <stddef.h>
#include <stdint.h>

/* One data, instruction or unified cache of cpu0 as sysfs describes it. */
typedef struct bb_sysfs_cache {
    int level;
    char type[32];  /* "Data", "Instruction", "Unified" */
    uint64_t bytes;
} bb_sysfs_cache;
/* The caches of cpu0 from /sys/devices/system/cpu/cpu0/cache (at most cap); their count. */
size_t bb_sysfs_caches(bb_sysfs_cache *out, size_t cap);
/* Bytes of cpu0's cache of this level and type (a unified one counts for any type); 0 if none. */
uint64_t bb_sysfs_cache_bytes(int level, const char *type);
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
