/* harness/compare/compare.c - the statistics of a verdict, and pairing two result files by key. */
#include "compare.h"

#include "../base/hash.h"
#include "../base/rng.h"
#include "../base/stats.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ median */

/* ------------------------------------------------------------------ Mann-Whitney U */

/* Midranks of the pooled sample; returns sum over tie groups of t^3 - t. */
static double rank_sum_new(const double *a, size_t na, const double *b, size_t nb, double *rank_sum)
{
    size_t n = na + nb;
    struct tagged { double v; int from_new; } *all = malloc(n * sizeof *all);
    for (size_t i = 0; i < na; i++)
        all[i] = (struct tagged){a[i], 0};
    for (size_t j = 0; j < nb; j++)
        all[na + j] = (struct tagged){b[j], 1};
    qsort(all, n, sizeof *all, bb_cmp_double); /* compares the first member, v */
    double ties = 0, rs = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j + 1 < n && all[j + 1].v == all[i].v)
            j++;
        double t = (double)(j - i + 1), midrank = 0.5 * (double)(i + j) + 1.0;
        ties += t * t * t - t;
        for (size_t q = i; q <= j; q++)
            rs += all[q].from_new ? midrank : 0.0;
        i = j + 1;
    }
    free(all);
    *rank_sum = rs;
    return ties;
}

/* P(U <= u) under H0 for sample sizes m, n without ties: the coefficients of the
 * Gaussian binomial [m+n choose m]_q count the arrangements with U = 0, 1, ... */
static double exact_cdf(size_t m, size_t n, double u)
{
    size_t top = m * n;
    double *c = calloc(top + 1, sizeof *c);
    c[0] = 1;
    size_t deg = 0;
    for (size_t i = 1; i <= m; i++) {
        /* multiply by (1 - q^(n+i)), then divide by (1 - q^i): stays a polynomial */
        size_t sh = n + i;
        for (size_t d = deg + sh; d >= sh; d--)
            if (d <= top)
                c[d] -= c[d - sh];
        size_t product_deg = deg + sh;
        deg += n;
        for (size_t d = i; d <= deg; d++)
            c[d] += c[d - i];
        for (size_t d = deg + 1; d <= product_deg && d <= top; d++)
            c[d] = 0; /* the quotient's terms above its degree vanish (exactly) */
    }
    double total = 0, below = 0;
    for (size_t d = 0; d <= top; d++) {
        total += c[d];
        if ((double)d <= u + 1e-9)
            below += c[d];
    }
    free(c);
    return below / total;
}

void bb_mann_whitney(const double *a, size_t na, const double *b, size_t nb, bb_mwu *out)
{
    double rs;
    double ties = rank_sum_new(a, na, b, nb, &rs);
    double fa = (double)na, fb = (double)nb, n = fa + fb;
    out->u_new = rs - fb * (fb + 1) / 2;
    double mean = fa * fb / 2;
    if (ties == 0 && na <= 25 && nb <= 25) {
        double u_small = fmin(out->u_new, fa * fb - out->u_new);
        out->exact = true;
        out->z = 0;
        out->p = fmin(1.0, 2.0 * exact_cdf(na, nb, u_small));
        return;
    }
    out->exact = false;
    double var = fa * fb / 12.0 * ((n + 1) - ties / (n * (n - 1)));
    double dev = fabs(out->u_new - mean) - 0.5;
    if (var <= 0 || dev <= 0) { /* all values equal, or U at its mean */
        out->z = 0;
        out->p = 1;
        return;
    }
    out->z = dev / sqrt(var);
    out->p = erfc(out->z / sqrt(2.0));
}

/* ------------------------------------------------------------------ bootstrap */

static size_t draw_index(uint64_t *s, size_t n)
{
    return (size_t)((double)(bb_rng_u64(s) >> 11) * 0x1.0p-53 * (double)n);
}

static double resampled_median(const double *v, size_t n, double *buf, uint64_t *s)
{
    for (size_t i = 0; i < n; i++)
        buf[i] = v[draw_index(s, n)];
    return bb_median_inplace(buf, n);
}

void bb_bootstrap_median_change(const double *a, size_t na, const double *b, size_t nb,
                                size_t resamples, double level, uint64_t seed, double *lo,
                                double *hi)
{
    double *buf = malloc((na > nb ? na : nb) * sizeof *buf);
    double *chg = malloc(resamples * sizeof *chg);
    uint64_t s = seed * 0x9E3779B97F4A7C15ull + 0x2545F4914F6CDD1Dull;
    for (size_t r = 0; r < resamples; r++) {
        double ma = resampled_median(a, na, buf, &s);
        double mb = resampled_median(b, nb, buf, &s);
        chg[r] = mb / ma - 1.0;
    }
    qsort(chg, resamples, sizeof *chg, bb_cmp_double);
    *lo = bb_quantile_sorted(chg, resamples, (1.0 - level) / 2);
    *hi = bb_quantile_sorted(chg, resamples, 1.0 - (1.0 - level) / 2);
    free(chg);
    free(buf);
}

/* ------------------------------------------------------------------ verdict */

const char *bb_verdict_name(bb_verdict v)
{
    switch (v) {
    case BB_REGRESSION: return "regression";
    case BB_IMPROVEMENT: return "improvement";
    case BB_UNCONFIRMED: return "unconfirmed";
    default: return "no change";
    }
}

void bb_compare_opts_default(bb_compare_opts *o)
{
    *o = (bb_compare_opts){.alpha = 0.01, .threshold = 0.05, .floor_quantile = 0.05, .resamples = 2000, .seed = 1};
}

/* Signed distance of NEW's floors outside BASE's: 0 when the ranges overlap. */
static double floor_change(const bb_floor_range *fr)
{
    if (fr->new_lo > fr->base_hi)
        return fr->new_lo / fr->base_hi - 1;
    if (fr->new_hi < fr->base_lo)
        return fr->new_hi / fr->base_lo - 1;
    return 0;
}

void bb_compare_runs(const double *a, size_t na, const double *b, size_t nb, const bb_floor_range *fr,
                     const bb_compare_opts *o, uint64_t seed, bb_sample_compare *out)
{
    memset(out, 0, sizeof *out);
    out->n_base = na;
    out->n_new = nb;
    out->base_median = bb_median_copy(a, na);
    bb_summary sb;
    bb_summarize(b, nb, &sb);
    out->new_median = sb.median;
    out->new_p10 = sb.p10;
    out->new_p90 = sb.p90;
    out->change = out->new_median / out->base_median - 1.0;
    bb_bootstrap_median_change(a, na, b, nb, o->resamples, 1.0 - o->alpha, seed, &out->ci_low,
                               &out->ci_high);
    bb_mann_whitney(a, na, b, nb, &out->test);
    bool significant = out->test.p < o->alpha, slower, faster;
    out->floor_change = NAN;
    if (o->floor_quantile > 0 && fr) {
        /* The floor decides the size; the median may veto it only when it is precise:
         * when a run's median sits at the edge of its interrupted calls' cluster, it jumps
         * between clusters (its CI is then wide) and can even move against a 2x slowdown. */
        out->floor_change = floor_change(fr);
        out->base_runs = fr->base_runs;
        out->new_runs = fr->new_runs;
        slower = out->floor_change >= o->threshold && out->ci_high >= o->threshold;
        faster = out->floor_change <= -o->threshold && out->ci_low <= -o->threshold;
    } else {
        slower = out->change >= o->threshold;
        faster = out->change <= -o->threshold;
    }
    if (significant && slower)
        out->verdict = BB_REGRESSION;
    else if (significant && faster)
        out->verdict = BB_IMPROVEMENT;
    else
        out->verdict = BB_NO_CHANGE;
}

void bb_compare_samples(const double *a, size_t na, const double *b, size_t nb,
                        const bb_compare_opts *o, uint64_t seed, bb_sample_compare *out)
{
    bb_floor_range fr = {.base_runs = 1, .new_runs = 1};
    if (o->floor_quantile > 0) {
        fr.base_lo = fr.base_hi = bb_quantile_copy(a, na, o->floor_quantile);
        fr.new_lo = fr.new_hi = bb_quantile_copy(b, nb, o->floor_quantile);
    }
    bb_compare_runs(a, na, b, nb, &fr, o, seed, out);
}

/* ------------------------------------------------------------------ pairing two files */

static const bb_row *first_row(const bb_rowset *s, const char *key)
{
    for (size_t i = 0; i < s->n; i++)
        if (!strcmp(s->rows[i].key, key))
            return &s->rows[i];
    return NULL;
}

static bool first_of_key(const bb_rowset *s, size_t i)
{
    return first_row(s, s->rows[i].key) == &s->rows[i];
}

/* The first row of key with a status other than ok, when none is ok: why it has no samples. */
static char *why_unmeasured(const bb_rowset *s, const char *key, const char *side)
{
    const bb_row *r = first_row(s, key);
    char *buf = malloc(512);
    snprintf(buf, 512, "not measured in %s: %s%s%s", side, r->status, r->reason ? ": " : "",
             r->reason ? r->reason : "");
    return buf;
}

static void add_missing(bb_comparison *c, const char *key, char *why)
{
    c->missing = realloc(c->missing, (c->n_missing + 1) * sizeof *c->missing);
    c->missing[c->n_missing++] = (bb_key_missing){key, why};
}

/* Machine ids of the two sides of a key: 0 same or unknown, else 2 with the reason. */
static int check_machines(const bb_row *a, const bb_row *b, const char *bname, const char *nname,
                          const bb_compare_opts *o, bb_comparison *c, char *err, size_t errlen)
{
    if (!a->machine_id || !b->machine_id) {
        if (!c->machine_note[0])
            snprintf(c->machine_note, sizeof c->machine_note,
                     "machine identity not checked: %s rows carry no machine description (gemm rows do not)",
                     !a->machine_id ? bname : nname);
        return 0;
    }
    if (!strcmp(a->machine_id, b->machine_id)) {
        if (!c->machine_note[0])
            snprintf(c->machine_note, sizeof c->machine_note, "same machine: id %s (%s)", a->machine_id,
                     a->machine_desc);
        return 0;
    }
    if (!o->allow_different_machines) {
        snprintf(err, errlen, "%s and %s come from different machines: %s is %s (%s), %s is %s (%s); "
                 "timings do not compare across machines (pass --allow-different-machines to compare anyway)",
                 bname, nname, bname, a->machine_id, a->machine_desc, nname, b->machine_id, b->machine_desc);
        return 2;
    }
    c->machines_differ = true;
    snprintf(c->machine_note, sizeof c->machine_note,
             "DIFFERENT machines, compared because of --allow-different-machines: %s (%s) vs %s (%s)",
             a->machine_id, a->machine_desc, b->machine_id, b->machine_desc);
    return 0;
}

static bb_verdict final_verdict(const bb_key_result *k)
{
    if (k->first.verdict != BB_REGRESSION || !k->confirmed_run)
        return k->first.verdict;
    return k->confirm.verdict == BB_REGRESSION ? BB_REGRESSION : BB_UNCONFIRMED;
}

static void compare_instructions(const bb_row *a, const bb_row *b, bb_key_result *k)
{
    if (a->have_instructions && b->have_instructions) {
        k->have_instructions = true;
        k->instructions_change = b->instructions_per_token / a->instructions_per_token - 1.0;
    } else {
        k->instructions_note = !a->have_instructions ? a->instructions_reason : b->instructions_reason;
    }
}

/* Smallest and largest per-row floor of a key (each row is one run of it). */
static void floor_range(const bb_rowset *s, const char *key, double q, double *lo, double *hi, size_t *runs)
{
    *lo = INFINITY;
    *hi = -INFINITY;
    *runs = 0;
    for (size_t i = 0; q > 0 && i < s->n; i++) {
        const bb_row *r = &s->rows[i];
        if (strcmp(r->key, key) != 0 || strcmp(r->status, "ok") != 0)
            continue;
        double f = bb_quantile_copy(r->samples, r->n, q);
        *lo = f < *lo ? f : *lo;
        *hi = f > *hi ? f : *hi;
        (*runs)++;
    }
}

/* BASE vs NEW (and the confirmation run) for one key measured on both sides. */
static void compare_key(const bb_rowset *base, const bb_rowset *new_, const bb_rowset *confirm,
                        const char *key, const bb_compare_opts *o, bb_key_result *k)
{
    const bb_row *a = first_row(base, key), *b = first_row(new_, key);
    size_t na, nb, nc = 0;
    double *va = bb_rowset_pool(base, key, &na), *vb = bb_rowset_pool(new_, key, &nb);
    double *vc = confirm ? bb_rowset_pool(confirm, key, &nc) : NULL;
    uint64_t seed = o->seed ^ bb_fnv1a64(key, strlen(key), 0);
    memset(k, 0, sizeof *k);
    k->key = key;
    k->format = a->format;
    k->impl = a->impl;
    k->unit = (a->normalized && b->normalized) ? "ratio" : "ns";
    bb_compare_opts ratio_opts = *o;
    if (!strcmp(k->unit, "ratio")) { /* a ratio's interference goes both ways: no floor */
        ratio_opts.floor_quantile = 0;
        o = &ratio_opts;
    }
    bb_floor_range fr;
    floor_range(base, key, o->floor_quantile, &fr.base_lo, &fr.base_hi, &fr.base_runs);
    floor_range(new_, key, o->floor_quantile, &fr.new_lo, &fr.new_hi, &fr.new_runs);
    bb_compare_runs(va, na, vb, nb, &fr, o, seed, &k->first);
    if (vc) {
        k->confirmed_run = true;
        floor_range(confirm, key, o->floor_quantile, &fr.new_lo, &fr.new_hi, &fr.new_runs);
        bb_compare_runs(va, na, vc, nc, &fr, o, seed + 1, &k->confirm);
    }
    k->verdict = final_verdict(k);
    compare_instructions(a, b, k);
    free(va);
    free(vb);
    free(vc);
}

static int pair_keys(const bb_rowset *base, const bb_rowset *new_, const bb_rowset *confirm,
                     const bb_compare_opts *o, bb_comparison *c, char *err, size_t errlen)
{
    c->results = calloc(base->n, sizeof *c->results);
    for (size_t i = 0; i < base->n; i++) {
        if (!first_of_key(base, i))
            continue;
        const char *key = base->rows[i].key;
        const bb_row *b = first_row(new_, key);
        size_t na, nb;
        free(bb_rowset_pool(base, key, &na));
        if (!b) {
            add_missing(c, key, strdup("only in BASE"));
            continue;
        }
        free(bb_rowset_pool(new_, key, &nb));
        if (!na || !nb) {
            add_missing(c, key, why_unmeasured(!na ? base : new_, key, !na ? "BASE" : "NEW"));
            continue;
        }
        const bb_row *cr = confirm ? first_row(confirm, key) : NULL;
        int rc = check_machines(&base->rows[i], b, "BASE", "NEW", o, c, err, errlen);
        if (!rc && cr)
            rc = check_machines(&base->rows[i], cr, "BASE", "the confirmation run", o, c, err, errlen);
        if (rc)
            return rc;
        bb_key_result *k = &c->results[c->n_results++];
        compare_key(base, new_, confirm, key, o, k);
        c->regressions += k->verdict == BB_REGRESSION;
        c->improvements += k->verdict == BB_IMPROVEMENT;
        c->unconfirmed += k->verdict == BB_UNCONFIRMED;
    }
    for (size_t i = 0; i < new_->n; i++)
        if (first_of_key(new_, i) && !first_row(base, new_->rows[i].key))
            add_missing(c, new_->rows[i].key, strdup("only in NEW"));
    return 0;
}

static size_t distinct_keys(const bb_rowset *s)
{
    size_t n = 0;
    for (size_t i = 0; i < s->n; i++)
        n += first_of_key(s, i);
    return n;
}

int bb_compare_rowsets(const bb_rowset *base, const bb_rowset *new_, const bb_rowset *confirm,
                       const bb_compare_opts *o, bb_comparison *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (base->sweep_schema && new_->sweep_schema && base->sweep_schema != new_->sweep_schema) {
        snprintf(err, errlen, "BASE '%s' has sweep rows of schema_version %d and NEW '%s' of %d: schema 1 timed the "
                 "projections alone, schema 2 the whole decoder step (other keys, other times); re-run the "
                 "baseline with this bitbench", base->path, base->sweep_schema, new_->path, new_->sweep_schema);
        return 2;
    }
    int rc = pair_keys(base, new_, confirm, o, out, err, errlen);
    if (rc)
        return rc;
    if (out->n_results == 0) {
        snprintf(err, errlen, "no key is measured in both files (BASE has %zu key(s), e.g. '%s'; NEW has %zu, "
                 "e.g. '%s'): keys pair on shape or model, format, implementation, threads, batch and mode",
                 distinct_keys(base), base->rows[0].key, distinct_keys(new_), new_->rows[0].key);
        return 2;
    }
    if (!out->machine_note[0])
        snprintf(out->machine_note, sizeof out->machine_note, "machine identity not checked");
    return 0;
}

void bb_comparison_free(bb_comparison *c)
{
    for (size_t i = 0; i < c->n_missing; i++)
        free((char *)c->missing[i].why);
    free(c->missing);
    free(c->results);
    memset(c, 0, sizeof *c);
}
