/*
 * harness/core/arena.h - where weights in rotation live: an arena of large chunks (2 MiB
 * aligned, huge pages hinted).  The weights of a model's groups come from one arena.  An
 * allocation takes the first chunk with room (first fit: a large matrix that needs a chunk of
 * its own must not make the remainder of the previous chunk unusable for the small
 * allocations after it, or the waste piles up to gigabytes at 70B).  Between models the arena
 * is emptied: chunks kept from a smaller model would not fit a larger model's matrices and
 * would be held twice.
 */
#ifndef BITBENCH_ARENA_H
#define BITBENCH_ARENA_H

#include "../../kernels/kernel.h"

#include <stddef.h>
#include <stdint.h>

#define BB_ARENA_CHUNK (256ull << 20)
enum { BB_ARENA_HUGE_ALIGN = 2u << 20 };

typedef struct bb_arena {
    uint8_t **base;
    size_t *size, *used;
    size_t n, cap;
} bb_arena;

/* Bytes the arena holds (its chunks). */
uint64_t bb_arena_bytes(const bb_arena *a);
/* Not zeroed: every caller writes all of it.  NULL when out of memory. */
void *bb_arena_alloc(bb_arena *a, size_t bytes);
/* Starts over, keeping the first chunks up to `keep` bytes and freeing the rest. */
void bb_arena_rewind(bb_arena *a, uint64_t keep);
/* Gives every chunk new pages at the same addresses, the bytes copied over: what the
 * arena holds stays valid, but lives in other physical memory.  -1 (out of memory, or
 * mremap refused): the chunks moved so far have moved, the rest have not. */
int bb_arena_move_pages(bb_arena *a);
void bb_arena_free(bb_arena *a);

#endif
