/* harness/core/sampler.c - the one interleaved sampler of gemm and sweep (see sampler.h). */
#include "sampler.h"

#include "../base/stats.h"
#include "clock.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static uint64_t now_ns(const bb_sampler *s) { return s->clock_ns ? s->clock_ns(s->ctx) : bb_now_ns(); }
static bool live(const bb_sampler *s, size_t who) { return !s->active || s->active(s->ctx, who); }
static bool stopping(const bb_sampler *s) { return s->stop && *s->stop; }

/* One call of `who`: its time in ns, or NAN when it gave no sample. */
static double call(bb_sampler *s, size_t who, bb_sample_phase phase, size_t round)
{
    if (s->self_timed)
        return s->sample(s->ctx, who, phase, round);
    uint64_t t0 = now_ns(s);
    double r = s->sample(s->ctx, who, phase, round);
    uint64_t t1 = now_ns(s);
    return isnan(r) ? NAN : (double)(t1 - t0);
}

static int keep(bb_sampler *s, size_t who, double ns, size_t *cap)
{
    if (s->nsamples[who] == cap[who]) {
        size_t c = cap[who] ? 2 * cap[who] : 64;
        double *p = realloc(s->samples[who], c * sizeof *p);
        if (!p)
            return -1;
        s->samples[who] = p;
        cap[who] = c;
    }
    s->samples[who][s->nsamples[who]++] = ns;
    return 0;
}

/* Each participant alone, s->calibrate calls: the slowest one's fastest call sets the rounds. */
static size_t calibrated_rounds(bb_sampler *s)
{
    double slowest = 0;
    for (size_t i = 0; i < s->n; i++) {
        double best = INFINITY;
        for (unsigned r = 0; r < s->calibrate; r++) {
            if (stopping(s) || !live(s, i))
                break;
            double t = call(s, i, BB_SAMPLE_CALIBRATE, r);
            best = t < best ? t : best; /* NAN never wins */
        }
        slowest = isfinite(best) && best > slowest ? best : slowest;
    }
    double lo = (double)s->min_reps, hi = s->max_reps ? (double)s->max_reps : INFINITY;
    double reps = slowest > 0 ? s->min_time_s * 1e9 / slowest : lo;
    return reps < lo ? s->min_reps : reps > hi ? s->max_reps : (size_t)reps;
}

int bb_sampler_run(bb_sampler *s)
{
    s->rounds = s->planned = 0;
    s->capped = s->stopped = false;
    s->samples = calloc(s->n ? s->n : 1, sizeof *s->samples);
    s->nsamples = calloc(s->n ? s->n : 1, sizeof *s->nsamples);
    size_t *cap = calloc(s->n ? s->n : 1, sizeof *cap);
    size_t *perm = calloc(s->n ? s->n : 1, sizeof *perm);
    int rc = -1;
    if (!s->samples || !s->nsamples || !cap || !perm)
        goto out;
    uint64_t t0 = now_ns(s); /* the cap counts warm-up and kept rounds, not calibration */
    for (unsigned w = 0; w < s->warmup; w++)
        for (size_t i = 0; i < s->n; i++) {
            if (stopping(s))
                goto stopped;
            if (live(s, i))
                call(s, i, BB_SAMPLE_WARMUP, w);
        }
    uint64_t cal0 = now_ns(s);
    if (s->fixed_rounds)
        s->planned = s->fixed_rounds;
    else if (s->calibrate)
        s->planned = calibrated_rounds(s);
    if (s->planned) /* the whole array at once: no realloc between timed calls */
        for (size_t i = 0; i < s->n; i++) {
            if (!(s->samples[i] = malloc(s->planned * sizeof(double))))
                goto out;
            cap[i] = s->planned;
        }
    t0 += now_ns(s) - cal0;
    uint64_t last_note = now_ns(s);
    double kept_ns = 0;
    for (;;) {
        if (s->planned && s->rounds >= s->planned)
            break;
        for (size_t i = 0; i < s->n; i++)
            perm[i] = i;
        if (s->order)
            s->order(s->ctx, s->rounds, perm);
        size_t n_live = 0;
        for (size_t j = 0; j < s->n; j++) {
            size_t i = perm[j];
            if (stopping(s))
                goto stopped;
            if (!live(s, i))
                continue;
            n_live++;
            double t = call(s, i, BB_SAMPLE_KEPT, s->rounds);
            if (isnan(t))
                continue;
            if (keep(s, i, t, cap))
                goto out;
            kept_ns += t;
        }
        s->rounds++;
        if (!n_live || (s->max_reps && s->rounds >= s->max_reps && !s->planned))
            break;
        if (!s->planned && s->rounds >= s->min_reps && kept_ns / (double)n_live >= s->min_time_s * 1e9)
            break;
        uint64_t now = now_ns(s);
        if (s->max_time_s > 0 && (double)(now - t0) / 1e9 >= s->max_time_s) {
            s->capped = true;
            break;
        }
        if (s->progress && (double)(now - last_note) / 1e9 > s->progress_every_s) {
            s->progress(s->ctx, s->rounds, s->planned, (double)(now - t0) / 1e9);
            last_note = now;
        }
    }
    rc = 0;
    goto out;
stopped:
    s->stopped = true;
    rc = 1;
out:
    free(cap);
    free(perm);
    return rc;
}

void bb_sampler_free(bb_sampler *s)
{
    for (size_t i = 0; s->samples && i < s->n; i++)
        free(s->samples[i]);
    free(s->samples);
    free(s->nsamples);
    s->samples = NULL;
    s->nsamples = NULL;
}
