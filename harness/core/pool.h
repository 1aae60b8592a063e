/*
 * harness/core/pool.h - a persistent thread pool: threads are created (and pinned, with
 * hwloc, one per core) once, outside any timed region; a run wakes them, each calls
 * fn(ctx, tid, nthreads), and the caller (tid 0) takes part and returns when all are done.
 */
#ifndef BITBENCH_POOL_H
#define BITBENCH_POOL_H

#include <stddef.h>

typedef struct bb_pool bb_pool;
typedef void (*bb_pool_fn)(void *ctx, int tid, int nthreads);

/* threads >= 1.  On failure returns NULL and writes a one-line reason into err. */
bb_pool *bb_pool_create(int threads, char *err, size_t errlen);
void bb_pool_destroy(bb_pool *p);
int bb_pool_threads(const bb_pool *p);
/* How the threads are placed, e.g. "pinned to PUs 0,1 (hwloc, one per core)" or
 * "not pinned: <reason>". */
const char *bb_pool_placement(const bb_pool *p);
void bb_pool_run(bb_pool *p, bb_pool_fn fn, void *ctx);

/* Cores this process may use: its affinity mask as it was when the program started,
 * before any pool pinned the calling thread (a pinned main thread would say 1). */
int bb_online_cores(void);
/* Logical CPUs online in the machine (sysfs), whatever any thread's affinity: what the
 * machine record (and so the machine id) says. */
int bb_machine_cpus(void);

#endif
