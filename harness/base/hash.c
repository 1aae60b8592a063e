/* harness/base/hash.c - 64-bit FNV-1a (hash.h). */
#include "hash.h"

uint64_t bb_fnv1a64(const void *data, size_t len, uint64_t h)
{
    const unsigned char *p = data;
    if (!h)
        h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}
