/*
 * harness/core/pool.c - see pool.h.  Workers spin briefly on a generation counter (a GEMV
 * takes tens of microseconds; a futex wake-up would be a visible part of that), then
 * sleep on a condition variable so an idle pool does not burn the machine.
 */
#include "pool.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef BB_HAVE_HWLOC
#include <hwloc.h>
#endif

/* The spin-wait hint (no intrinsics header: harness/ holds no ISA code). */
#if defined(__x86_64__) || defined(__i386__)
#define cpu_relax() __asm__ volatile("pause")
#elif defined(__aarch64__)
#define cpu_relax() __asm__ volatile("yield")
#else
#define cpu_relax() ((void)0)
#endif

enum { SPIN_ROUNDS = 1 << 18 };

struct worker {
    bb_pool *pool;
    int tid;
    pthread_t thread;
};

struct bb_pool {
    int threads;
    struct worker *workers;
    atomic_uint generation; /* bumped by each run */
    atomic_int pending;     /* workers still inside the current run */
    atomic_int stop;
    atomic_int sleepers;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    bb_pool_fn fn;
    void *ctx;
    char placement[160];
#ifdef BB_HAVE_HWLOC
    hwloc_topology_t topo;
    hwloc_cpuset_t *sets; /* one per thread, NULL entries when not pinned */
#endif
};

/* Read before main() runs, so before anything pins the main thread (the pool pins its
 * caller to the first core; sched_getaffinity(0) would then say 1). */
static int start_cores;
static cpu_set_t start_set; /* the main thread's mask at start: restored when no pool is left */
static bool have_start_set;
static atomic_int live_pools;
static int affinity_cores(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0)
        return CPU_COUNT(&set);
    return 1;
}
__attribute__((constructor)) static void read_start_cores(void)
{
    have_start_set = sched_getaffinity(0, sizeof start_set, &start_set) == 0;
    start_cores = have_start_set ? CPU_COUNT(&start_set) : 1;
}

int bb_online_cores(void) { return start_cores > 0 ? start_cores : affinity_cores(); }

int bb_machine_cpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : bb_online_cores();
}

static void pin_self(bb_pool *p, int tid)
{
#ifdef BB_HAVE_HWLOC
    if (p->sets && p->sets[tid])
        hwloc_set_cpubind(p->topo, p->sets[tid], HWLOC_CPUBIND_THREAD);
#else
    (void)p;
    (void)tid;
#endif
}

static void wait_for_run(bb_pool *p, unsigned seen)
{
    for (int i = 0; i < SPIN_ROUNDS; i++) {
        if (atomic_load_explicit(&p->generation, memory_order_acquire) != seen)
            return;
        cpu_relax();
    }
    pthread_mutex_lock(&p->lock);
    atomic_fetch_add(&p->sleepers, 1);
    while (atomic_load(&p->generation) == seen)
        pthread_cond_wait(&p->wake, &p->lock);
    atomic_fetch_sub(&p->sleepers, 1);
    pthread_mutex_unlock(&p->lock);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    bb_pool *p = w->pool;
    unsigned seen = 0;
    pin_self(p, w->tid);
    for (;;) {
        wait_for_run(p, seen);
        seen = atomic_load_explicit(&p->generation, memory_order_acquire);
        if (atomic_load(&p->stop)) {
            atomic_fetch_sub_explicit(&p->pending, 1, memory_order_release);
            return NULL;
        }
        p->fn(p->ctx, w->tid, p->threads);
        atomic_fetch_sub_explicit(&p->pending, 1, memory_order_release);
    }
}

/* One PU per core, cores in topology order; the caller gets the first. */
static void plan_placement(bb_pool *p)
{
#ifdef BB_HAVE_HWLOC
    if (hwloc_topology_init(&p->topo) != 0 || hwloc_topology_load(p->topo) != 0) {
        snprintf(p->placement, sizeof p->placement, "not pinned: hwloc could not load the topology");
        return;
    }
    int cores = hwloc_get_nbobjs_by_type(p->topo, HWLOC_OBJ_CORE);
    if (cores < p->threads) {
        snprintf(p->placement, sizeof p->placement,
                 "not pinned: %d threads on %d cores (oversubscribed)", p->threads, cores);
        return;
    }
    p->sets = calloc((size_t)p->threads, sizeof *p->sets);
    int used = snprintf(p->placement, sizeof p->placement, "pinned, one thread per core, PUs");
    for (int t = 0; t < p->threads; t++) {
        hwloc_obj_t core = hwloc_get_obj_by_type(p->topo, HWLOC_OBJ_CORE, (unsigned)t);
        p->sets[t] = hwloc_bitmap_dup(core->cpuset);
        hwloc_bitmap_singlify(p->sets[t]);
        if (used < (int)sizeof p->placement)
            used += snprintf(p->placement + used, sizeof p->placement - (size_t)used, "%s%d",
                             t ? "," : " ", hwloc_bitmap_first(p->sets[t]));
    }
    if (used < (int)sizeof p->placement)
        snprintf(p->placement + used, sizeof p->placement - (size_t)used, " (hwloc)");
#else
    snprintf(p->placement, sizeof p->placement, "not pinned: built without hwloc");
#endif
}

bb_pool *bb_pool_create(int threads, char *err, size_t errlen)
{
    if (threads < 1) {
        snprintf(err, errlen, "thread count %d: need at least 1", threads);
        return NULL;
    }
    bb_pool *p = calloc(1, sizeof *p);
    if (!p) {
        snprintf(err, errlen, "out of memory creating the thread pool");
        return NULL;
    }
    p->threads = threads;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->wake, NULL);
    plan_placement(p);
    atomic_fetch_add(&live_pools, 1);
    pin_self(p, 0);
    p->workers = calloc((size_t)threads, sizeof *p->workers);
    for (int t = 1; t < threads; t++) {
        p->workers[t] = (struct worker){.pool = p, .tid = t};
        int rc = pthread_create(&p->workers[t].thread, NULL, worker_main, &p->workers[t]);
        if (rc != 0) {
            snprintf(err, errlen, "cannot create thread %d of %d: %s", t, threads, strerror(rc));
            p->threads = t; /* destroy joins only those that exist */
            bb_pool_destroy(p);
            return NULL;
        }
    }
    return p;
}

void bb_pool_run(bb_pool *p, bb_pool_fn fn, void *ctx)
{
    if (p->threads == 1) {
        fn(ctx, 0, 1);
        return;
    }
    p->fn = fn;
    p->ctx = ctx;
    atomic_store(&p->pending, p->threads - 1);
    /* seq_cst, not release: the bump and the sleepers load below pair with the worker's
     * sleepers increment and generation load (wait_for_run), and only sequential
     * consistency forbids both sides reading the old values - a lost wake-up.  (x86 gave
     * that ordering anyway; a weakly ordered CPU such as AArch64 need not.) */
    atomic_fetch_add(&p->generation, 1);
    if (atomic_load(&p->sleepers) > 0) {
        pthread_mutex_lock(&p->lock);
        pthread_cond_broadcast(&p->wake);
        pthread_mutex_unlock(&p->lock);
    }
    fn(ctx, 0, p->threads);
    while (atomic_load_explicit(&p->pending, memory_order_acquire) > 0)
        cpu_relax();
}

static void nothing(void *ctx, int tid, int n)
{
    (void)ctx;
    (void)tid;
    (void)n;
}

void bb_pool_destroy(bb_pool *p)
{
    if (!p)
        return;
    atomic_store(&p->stop, 1);
    if (p->threads > 1)
        bb_pool_run(p, nothing, NULL);
    for (int t = 1; t < p->threads; t++)
        pthread_join(p->workers[t].thread, NULL);
#ifdef BB_HAVE_HWLOC
    if (p->sets) {
        for (int t = 0; t < p->threads; t++)
            hwloc_bitmap_free(p->sets[t]);
        free(p->sets);
    }
    if (p->topo)
        hwloc_topology_destroy(p->topo);
#endif
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->wake);
    free(p->workers);
    free(p);
    /* The last pool gone: the caller may use every core again (and so may the programs it
     * starts, which inherit its mask - a pinned parent made them see 1 core). */
    if (atomic_fetch_sub(&live_pools, 1) == 1 && have_start_set)
        pthread_setaffinity_np(pthread_self(), sizeof start_set, &start_set);
}

int bb_pool_threads(const bb_pool *p) { return p->threads; }
const char *bb_pool_placement(const bb_pool *p) { return p->placement; }
