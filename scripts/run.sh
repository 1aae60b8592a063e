#!/usr/bin/env bash
# scripts/run.sh - what `make run` runs: the main job of bitbench.
#
# A sweep of every weight format over the six model sizes of the BitNet b1.58 paper
# (700M-70B): decode latency per token at batch 1, memory, and the Table 3 experiment
# (throughput at the largest batch that fits the memory budget), one JSON row each in
# results/<date>-<host>/sweep.jsonl, then a table per model on stdout.
#
#   scripts/run.sh            the default plan (about 10-15 minutes on 2 cores)
#   scripts/run.sh --quick    the smoke-test plan (700M only, short timing: under 2 minutes)
#   scripts/run.sh ARGS...    extra `bitbench sweep` options, e.g. --mem-budget 160G
#                             (two A100 80GB, as in the paper) or --threads 1,2
#
# The default plan keeps to the time by three settings, all recorded in every row:
#   --full-max 2G        a model whose weights (in rotation copies) exceed 2 GB is timed one
#                        layer + head per sample and extrapolated to all layers (mode
#                        "extrapolated"); the smaller ones run every layer (mode "full");
#   --max-row-time 20    a row whose samples would take longer is skipped with the estimate
#                        as its reason (scalar kernels at the large Table 3 batches), and a
#                        full step too slow for it is timed per layer instead;
#   --time-budget 780    13 minutes for the whole sweep: on a machine shared with other work
#                        each row gets at most twice its share of the time left, and rows
#                        after it is spent are written as skipped, saying so.
# Environment: BITBENCH_BIN (default build/bitbench), RESULTS_DIR (default
# results/<UTC date-time>-<host>).
set -euo pipefail
cd "$(dirname "$0")/.."

bin=${BITBENCH_BIN:-build/bitbench}
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
    "$bin" sweep --full-max 2G --max-row-time 20 --time-budget 780 --out "$out" "$@" | tee "$RESULTS_DIR/tables.txt" || status=$?
fi
end=$(date +%s)
echo "run.sh: sweep finished in $((end - start)) s; rows in $out, tables in $RESULTS_DIR/tables.txt" >&2
# The report reads whatever rows were written, even after a failed or interrupted sweep.
if [ -s "$out" ]; then
    "$bin" report "$out" --out "$RESULTS_DIR" || status=$?
    echo "run.sh: report in $RESULTS_DIR/REPORT.md" >&2
fi
exit $status
