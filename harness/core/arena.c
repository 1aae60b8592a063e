/* harness/core/arena.c - where the sweep's weights in rotation live: first-fit chunks (arena.h). */
#include "arena.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>


/* A chunk of its own mapping (so bb_arena_move_pages can replace its pages), 2 MiB aligned,
 * huge pages hinted before the first touch; NULL when out of memory. */
static void *map_chunk(size_t size)
{
    size_t span = size + BB_ARENA_HUGE_ALIGN;
    uint8_t *m = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        return NULL;
    uint8_t *p = (uint8_t *)bb_round_up((uintptr_t)m, BB_ARENA_HUGE_ALIGN);
    if (p > m)
        munmap(m, (size_t)(p - m));
    if (p + size < m + span)
        munmap(p + size, (size_t)(m + span - (p + size)));
    madvise(p, size, bb_page_advice()); /* a hint, as in bb_alloc */
    return p;
}

int bb_arena_move_pages(bb_arena *a)
{
    for (size_t i = 0; i < a->n; i++) {
        uint8_t *q = map_chunk(a->size[i]);
        if (!q)
            return -1;
        memcpy(q, a->base[i], a->used[i]);
        /* the new pages take the old addresses; the old pages are freed */
        if (mremap(q, a->size[i], a->size[i], MREMAP_MAYMOVE | MREMAP_FIXED, a->base[i]) == MAP_FAILED) {
            munmap(q, a->size[i]);
            return -1;
        }
    }
    return 0;
}

uint64_t bb_arena_bytes(const bb_arena *a)
{
    uint64_t t = 0;
    for (size_t i = 0; i < a->n; i++)
        t += a->size[i];
    return t;
}

void *bb_arena_alloc(bb_arena *a, size_t bytes)
{
    size_t align = bytes >= BB_ARENA_HUGE_ALIGN ? BB_ARENA_HUGE_ALIGN : BB_ALIGN;
    for (size_t i = 0; i < a->n; i++) {
        size_t off = bb_round_up(a->used[i], align);
        if (off + bytes <= a->size[i]) {
            a->used[i] = off + bytes;
            return a->base[i] + off;
        }
    }
    if (a->n == a->cap) {
        size_t cap = a->cap ? 2 * a->cap : 16;
        uint8_t **b = realloc(a->base, cap * sizeof *b);
        if (b)
            a->base = b;
        size_t *sz = b ? realloc(a->size, cap * sizeof *sz) : NULL;
        if (sz)
            a->size = sz;
        size_t *us = sz ? realloc(a->used, cap * sizeof *us) : NULL;
        if (!us)
            return NULL;
        a->used = us;
        a->cap = cap;
    }
    size_t size = bb_round_up(bytes > BB_ARENA_CHUNK ? bytes : BB_ARENA_CHUNK, BB_ARENA_HUGE_ALIGN);
    void *p = map_chunk(size);
    if (!p)
        return NULL;
    a->base[a->n] = p;
    a->size[a->n] = size;
    a->used[a->n] = bytes;
    a->n++;
    return p;
}

void bb_arena_rewind(bb_arena *a, uint64_t keep)
{
    uint64_t held = 0;
    size_t i = 0;
    for (; i < a->n && held < keep; i++)
        held += a->size[i];
    for (size_t j = i; j < a->n; j++)
        munmap(a->base[j], a->size[j]);
    a->n = i;
    for (size_t j = 0; j < a->n; j++)
        a->used[j] = 0;
}

void bb_arena_free(bb_arena *a)
{
    bb_arena_rewind(a, 0);
    free(a->base);
    free(a->size);
    free(a->used);
    memset(a, 0, sizeof *a);
}

