/* harness/core/sampler.h - the one interleaved sampler of gemm and sweep: warm-up, calibration, stop rule, stop flag. */
#ifndef BITBENCH_SAMPLER_H
#define BITBENCH_SAMPLER_H
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Why a participant is called: warm-up and calibration samples are not kept. */
typedef enum { BB_SAMPLE_WARMUP, BB_SAMPLE_CALIBRATE, BB_SAMPLE_KEPT } bb_sample_phase;

/* The participants are opaque: the sampler only calls them in turn (A B C ... A B C ...).
 * It never knows what a participant runs, so gemm's kernels and sweep's decoder steps
 * share one rule for how many samples are taken and when to stop. */
typedef struct bb_sampler {
    size_t n;  /* participants */
    void *ctx; /* passed to every callback */
    /* One unit of work of participant `who`.  round counts within its phase (0, 1, ...).
     * self_timed: the return value is the sample in ns (the participant measured itself,
     * e.g. to split its time); otherwise the sampler's clock times the call and the return
     * value is only checked for NAN.  NAN: no sample (the participant failed this call). */
    double (*sample)(void *ctx, size_t who, bb_sample_phase phase, size_t round);
    bool self_timed;
    /* Whether `who` still takes part (NULL: always); checked before each of its calls. */
    bool (*active)(void *ctx, size_t who);
    /* The order of one kept round (NULL: 0, 1, ..., n-1): fills a permutation of n. */
    void (*order)(void *ctx, size_t round, size_t *perm);
    /* Called after a kept round when progress_every_s has passed since the last call
     * (planned = 0 when the number of rounds is not known in advance). */
    void (*progress)(void *ctx, size_t rounds_done, size_t planned, double elapsed_s);
    double progress_every_s;
    uint64_t (*clock_ns)(void *ctx); /* NULL: bb_now_ns (CLOCK_MONOTONIC); tests pass a fake */
    volatile sig_atomic_t *stop;     /* set by a signal handler: stop before the next call */

    unsigned warmup;       /* rounds run first and discarded */
    size_t fixed_rounds;   /* > 0: exactly this many kept rounds (bounded by max_time_s) */
    unsigned calibrate;    /* > 0 and no fixed_rounds: each participant alone runs this many
                            * calls; rounds = min_time_s / (the slowest participant's fastest
                            * call), clamped to [min_reps, max_reps], then fixed */
    size_t min_reps;       /* kept rounds at least (when the rounds are not fixed) */
    size_t max_reps;       /* kept rounds at most (0: no limit) */
    double min_time_s;     /* without calibration: stop once min_reps are done and the kept
                            * time per live participant reaches this */
    double max_time_s;     /* wall-clock cap from the first warm-up call (0: none); checked
                            * after whole rounds */

    /* Results (bb_sampler_run fills them; bb_sampler_free frees them) */
    double **samples;      /* samples[who][0..nsamples[who]): kept ns, in order */
    size_t *nsamples;
    size_t rounds;         /* kept rounds run */
    size_t planned;        /* the rounds planned by fixed_rounds or calibration (0: open) */
    bool capped;           /* max_time_s ended it */
    bool stopped;          /* *stop ended it */
} bb_sampler;

/* Runs the sampler.  0 done, 1 stopped by *stop, -1 out of memory. */
int bb_sampler_run(bb_sampler *s);
void bb_sampler_free(bb_sampler *s);
#endif
