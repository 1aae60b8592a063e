/* harness/report/sweep_table.c - the tables `bitbench sweep` prints when it ends (sweep_table.h). */
#include "sweep_table.h"

#include <inttypes.h>
#include <string.h>

static const json_t *row_of(const json_t *rows, const char *key) { return key ? json_object_get(rows, key) : NULL; }
static double num(const json_t *row, const char *k) { return json_number_value(json_object_get(row, k)); }
static bool has_status(const json_t *row, const char *status)
{
    const char *s = row ? json_string_value(json_object_get(row, "status")) : NULL;
    return s && !strcmp(s, status);
}
static bool is_ok(const json_t *row) { return has_status(row, "ok"); }

static void cell_latency(char *buf, size_t len, const json_t *row)
{
    if (!row)
        snprintf(buf, len, "-");
    else if (is_ok(row))
        snprintf(buf, len, "%.3f%s", num(row, "latency_ms_per_token"),
                 strcmp(json_string_value(json_object_get(row, "mode")), "full") ? "*" : "");
    else
        snprintf(buf, len, "%s", json_string_value(json_object_get(row, "status")));
}

/* tokens/s of an ok row, else its status, else "-". */
static void cell_tokens(char *buf, size_t len, const json_t *r)
{
    if (is_ok(r))
        snprintf(buf, len, "%.2f", num(r, "tokens_per_s"));
    else
        snprintf(buf, len, "%s", r ? json_string_value(json_object_get(r, "status")) : "-");
}

void bb_sweep_table_print(FILE *to, const json_t *rows, const bb_sweep_table *t)
{
    bool b0 = t->n_batches > 0;
    fprintf(to, "\n== %s (hidden %u, ffn %u, %u layers, vocab %u), %u thread%s%s\n", t->model, t->hidden, t->ffn,
            t->layers, t->vocab, t->threads, t->threads == 1 ? "" : "s", t->lm_head ? ", fp16 LM head" : "");
    fprintf(to, "%-8s %-22s %12s %8s %10s %8s", "format", "impl", b0 ? "ms/token" : "", b0 ? "vs fp16" : "",
            "weights GB", "vs fp16");
    for (size_t b = 0; b < t->n_batches; b++) {
        char h[24];
        snprintf(h, sizeof h, "tok/s b%" PRIu64, t->batches[b]);
        fprintf(to, " %11s", h);
    }
    if (t->budget)
        fprintf(to, " %8s %12s", "budget N", "tok/s budget");
    fprintf(to, " %7s %6s\n", "GB/s", "%ceil");
    const json_t *fp16 = b0 ? row_of(rows, t->fp16_first_key) : NULL;
    for (size_t i = 0; i < t->n_lines; i++) {
        const bb_sweep_table_line *l = &t->lines[i];
        const json_t *r1 = b0 ? row_of(rows, l->first_key) : NULL;
        char lat[32] = "", speed[16] = "-", red[16], tok[24], gbs[16] = "-", pct[16] = "-";
        if (b0)
            cell_latency(lat, sizeof lat, r1);
        const json_t *paired = json_object_get(json_object_get(r1, "vs_fp16"), "speedup");
        if (is_ok(r1) && json_is_number(paired)) /* from samples taken side by side */
            snprintf(speed, sizeof speed, "%.2fx", json_number_value(paired));
        else if (is_ok(r1) && is_ok(fp16))
            snprintf(speed, sizeof speed, "%.2fx", num(fp16, "latency_ms_per_token") / num(r1, "latency_ms_per_token"));
        snprintf(red, sizeof red, "%.2fx", t->fp16_weight_bytes / l->weight_bytes);
        fprintf(to, "%-8s %-22s %12s %8s %10.2f %8s", l->format, l->impl ? l->impl : "-", lat, b0 ? speed : "",
                l->weight_bytes / 1e9, red);
        for (size_t b = 0; b < t->n_batches; b++) {
            cell_tokens(tok, sizeof tok, row_of(rows, l->batch_keys[b]));
            fprintf(to, " %11s", tok);
        }
        if (t->budget) {
            cell_tokens(tok, sizeof tok, row_of(rows, l->budget_key));
            fprintf(to, " %8" PRIu64 " %12s", l->budget_batch, tok);
        }
        if (is_ok(r1)) {
            snprintf(gbs, sizeof gbs, "%.2f", num(r1, "gbps"));
            if (json_is_number(json_object_get(r1, "pct_of_ceiling")))
                snprintf(pct, sizeof pct, "%.0f%%", num(r1, "pct_of_ceiling"));
        }
        fprintf(to, " %7s %6s\n", gbs, pct);
    }
}

void bb_sweep_table_legend(FILE *to, unsigned seq_len, double budget_bytes, const char *path)
{
    fprintf(to, "\nms/token: median decode step (measured; * = extrapolated from per-layer samples); vs fp16: "
                "median of the paired ratios (formats alternate sample by sample; intervals in the rows and "
                "REPORT.md). "
                "weights: modeled bytes (format bits/weight + fp16 embedding and head). tok/s = batch / "
                "step time. budget N: largest batch whose weights + fp16 KV cache at %u tokens fit %.1f GB "
                "(modeled). GB/s: weight bytes streamed per step / step time, %%ceil: of the measured read "
                "bandwidth. Rows: %s\n",
            seq_len, budget_bytes / 1e9, path);
}
