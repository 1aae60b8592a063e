/* harness/machine/cache.c - cache sizes: hwloc, else the one sysfs reader (cache.h). */
#include "cache.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef BB_HAVE_HWLOC
#include <hwloc.h>
#endif

/* The one sysfs cache reader: cpu0's /sys/devices/system/cpu/cpu0/cache/indexN/{level,type,size}
 * ("32768K"); entries with a file missing are skipped. */
size_t bb_sysfs_caches(bb_sysfs_cache *out, size_t cap)
{
    size_t n = 0;
    for (int i = 0; i < 16 && n < cap; i++) {
        char path[96], level[8] = "", type[32] = "", size[32] = "";
        const char *names[3] = {"level", "type", "size"};
        char *bufs[3] = {level, type, size};
        size_t lens[3] = {sizeof level, sizeof type, sizeof size};
        bool ok = true;
        for (int j = 0; j < 3 && ok; j++) {
            snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/%s", i, names[j]);
            FILE *f = fopen(path, "r");
            ok = f && fgets(bufs[j], (int)lens[j], f);
            if (f)
                fclose(f);
            bufs[j][strcspn(bufs[j], "\n")] = 0;
        }
        if (!ok)
            continue;
        char *end = NULL;
        uint64_t v = strtoull(size, &end, 10);
        out[n].level = atoi(level);
        snprintf(out[n].type, sizeof out[n].type, "%s", type);
        out[n].bytes = v * (*end == 'K' ? 1024ull : *end == 'M' ? 1048576ull : 1ull);
        n++;
    }
    return n;
}

uint64_t bb_sysfs_cache_bytes(int level, const char *type)
{
    bb_sysfs_cache c[16];
    size_t n = bb_sysfs_caches(c, 16);
    for (size_t i = 0; i < n; i++)
        if (c[i].level == level && (!strcmp(c[i].type, type) || !strcmp(c[i].type, "Unified")))
            return c[i].bytes;
    return 0;
}

/* sysfs fallback of the LLC: the largest cache of cpu0. */
static uint64_t llc_from_sysfs(void)
{
    bb_sysfs_cache c[16];
    size_t n = bb_sysfs_caches(c, 16);
    uint64_t best = 0;
    for (size_t i = 0; i < n; i++)
        if (c[i].bytes > best)
            best = c[i].bytes;
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
