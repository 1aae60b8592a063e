#!/usr/bin/env bash
# scripts/run.sh - what `make run` runs: the main job of bitbench.
#
# A sweep of every weight format over the six model sizes of the BitNet b1.58 paper
# (700M-70B): the whole decoder step (norms, projections, RoPE, attention over a 512-token
# fp16 KV cache, SwiGLU, LM head) at batch 1, with the formats of a model alternating
# sample by sample and tern2/tern1.6 run with every method (add-only, multiply-add, table
# lookup); memory; and the Table 3 experiment for 70B (throughput at the largest batch that
# fits the paper's 160 GB, timed per layer and extrapolated), one JSON row each in
# results/<date>-<host>/sweep.jsonl, then a table per model on stdout and REPORT.md.
#
#   scripts/run.sh            the default plan (about 10-15 minutes on 2 cores)
#   scripts/run.sh --quick    the smoke-test plan (700M only, short timing: under 2 minutes)
#   scripts/run.sh ARGS...    extra `bitbench sweep` options, e.g. --mem-budget 160G
#                             (two A100 80GB, as in the paper) or --threads 1,2
#
# The default plan keeps to the time by these settings, all recorded in every row:
#   --min-time 2 --min-reps 3   per row: the rows of a set alternate, so each gets the same
#                        number of samples; paired speed-ups need fewer samples than lone medians.
#                        With 0.5 s per row, two quiet back-to-back runs (Zen 5 VM, 2026-12-05)
#                        agreed within 10% on 57 of 60 batch-1 speed-ups (median spread 3.8%); the
#                        three misses were 70B ternary rows with 15-16 samples (spread 12-15%).
#                        2 s per row gives the 70B set ~4x the rounds for ~100 s more;
#   --full-max 2G        a model whose weights (in rotation copies) exceed 2 GB is timed one
#                        layer + head per sample and extrapolated to all layers (mode
#                        "extrapolated"); the smaller ones run every layer (mode "full");
#   Table 3 rows (70B at the paper's 160 GB: batches of 200-935) run first, each under
#                        --max-budget-row-time (120 s by default), outside --time-budget;
#   --max-row-time 20    a row whose samples would take longer is skipped with the estimate
#                        as its reason (scalar kernels at the large Table 3 batches), and a
#                        full step too slow for it is timed per layer instead;
#   --time-budget 780    13 minutes for the whole sweep: on a machine shared with other work
#                        each row gets at most twice its share of the time left, and rows
#                        after it is spent are written as skipped, saying so.
# Environment: BITBENCH_BIN (default $BUILD/bitbench, BUILD as make passes it), RESULTS_DIR (default
# results/<UTC date-time>-<host>).
set -euo pipefail
cd "$(dirname "$0")/.."

bin=${BITBENCH_BIN:-${BUILD:-build}/bitbench}
if [ ! -x "$bin" ]; then
    echo "run.sh: $bin not found: run make first" >&2
    exit 2
fi

quick=0
for a in "$@"; do
    if [ "$a" = "--quick" ]; then quick=1; fi
done

stamp=$(date -u +%Y%m%d-%H%M%S)
host=$(hostname 2>/dev/null | tr '/ ' '__' || echo host)
RESULTS_DIR=${RESULTS_DIR:-results/$stamp-$host}
export RESULTS_DIR
mkdir -p "$RESULTS_DIR"
out="$RESULTS_DIR/sweep.jsonl"

start=$(date +%s)
status=0
if [ "$quick" = 1 ]; then
    "$bin" sweep --out "$out" "$@" | tee "$RESULTS_DIR/tables.txt" || status=$?
else
    "$bin" sweep --full-max 2G --max-row-time 20 --time-budget 780 --min-time 2 --min-reps 3 --out "$out" "$@" | tee "$RESULTS_DIR/tables.txt" || status=$?
fi
end=$(date +%s)
echo "run.sh: sweep finished in $((end - start)) s; rows in $out, tables in $RESULTS_DIR/tables.txt" >&2
# The report reads whatever rows were written, even after a failed or interrupted sweep.
if [ -s "$out" ]; then
    "$bin" report "$out" --out "$RESULTS_DIR" || status=$?
    echo "run.sh: report in $RESULTS_DIR/REPORT.md" >&2
fi
exit $status
