/* harness/base/hash.h - 64-bit FNV-1a, for short stable identities (machine ids, seeds per key). */
#ifndef BITBENCH_HASH_H
#define BITBENCH_HASH_H

#include <stddef.h>
#include <stdint.h>

/* h 0: the FNV offset basis; else continues from h. */
uint64_t bb_fnv1a64(const void *data, size_t len, uint64_t h);

#endif
