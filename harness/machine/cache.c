#include "cache.h"

#include <stdio.h>
#include <string.h>

#ifdef BB_HAVE_HWLOC
#include <hwloc.h>
#endif

/* sysfs fallback: the largest "indexN/size" of cpu0, e.g. "32768K". */
static uint64_t llc_from_sysfs(void)
{
    uint64_t best = 0;
    for (int i = 0; i < 8; i++) {
        char path[96], buf[32];
        snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/size", i);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        if (fgets(buf, sizeof buf, f)) {
            unsigned long long v = 0;
            char unit = 0;
            if (sscanf(buf, "%llu%c", &v, &unit) >= 1) {
                uint64_t b = v * (unit == 'K' ? 1024ull : unit == 'M' ? 1048576ull : 1ull);
                if (b > best)
                    best = b;
            }
        }
        fclose(f);
    }
    return best;
}

uint64_t bb_llc_bytes(const char **why)
{
    static uint64_t cached;
    static const char *cached_why = "";
    if (cached) {
        if (why)
            *why = cached_why;
        return cached;
    }
#ifdef BB_HAVE_HWLOC
    hwloc_topology_t topo;
    if (hwloc_topology_init(&topo) == 0 && hwloc_topology_load(topo) == 0) {
        for (int depth = 0; depth < hwloc_topology_get_depth(topo); depth++) {
            hwloc_obj_t o = hwloc_get_obj_by_depth(topo, depth, 0);
            if (o && hwloc_obj_type_is_dcache(o->type) && o->attr->cache.size > cached)
                cached = o->attr->cache.size;
        }
        hwloc_topology_destroy(topo);
        cached_why = "hwloc";
    }
#endif
    if (!cached) {
        cached = llc_from_sysfs();
        cached_why = cached ? "sysfs" : "unknown: neither hwloc nor sysfs reports a cache size";
    }
    if (why)
        *why = cached_why;
    return cached;
}
