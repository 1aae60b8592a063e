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
# The default plan measures the batch-1 rows in three passes (PASSES) under one --run-group:
# within one process the formats alternate sample by sample, so a pass's paired interval
# is narrow, but between processes the speed-ups moved much more than that interval: three
# back-to-back 70B passes on the Zen 5 VM (2026-12-05) gave tern1.6-avx512-madd 7.8x, 10.4x
# and 6.4x vs fp16, each with a 95% interval of +-4% (fp16 stable, the ternary layer's
# copy fast or slow for a whole process: where the copies landed, the host's bandwidth).
# Two single-pass `make run`s agreed within 10% on 57 of 60 batch-1 speed-ups one time and
# on 42 of 60 the next.  The cause is where a copy's pages land: rebuilt at the same
# addresses and pages its speed repeats within 3%, moved to other physical pages (same
# addresses) a 7B ternary layer took 40-62 ms per step and fp16 272-350 ms (2026-12-06).  So
# each pass takes a set's samples in --placements 6 parts with every copy moved to new pages
# between them, each pass builds fresh copies minutes apart from the others, and the report
# takes the median over the passes with their range.
#   pass 1: Table 3 rows (70B at the paper's 160 GB: batches of 200-935), each under
#           --max-budget-row-time (120 s by default), outside --time-budget; then batch 1;
#   pass 2..PASSES: batch 1 only.
# Settings, all recorded in every row:
#   --min-time 0.7 --min-reps 3   per row and pass: the rows of a set alternate, so each gets
#                        the same number of samples (~2 s per row over three passes);
#   --placements 6       per pass, a set's rounds in 6 parts (at least 2 rounds each), the
#                        copies moved to new pages between them; Table 3 rows take one part;
#   --full-max 2G        a model whose weights (in rotation copies) exceed 2 GB is timed one
#                        layer + head per sample and extrapolated to all layers (mode
#                        "extrapolated"); the smaller ones run every layer (mode "full");
#   --max-row-time 20    a row whose samples would take longer is skipped with the estimate
#                        as its reason (scalar kernels at the large Table 3 batches), and a
#                        full step too slow for it is timed per layer instead;
#   --time-budget        300 s for pass 1's batch-1 rows, 180 s for each later pass (13
#                        minutes in all with Table 3): on a machine shared with other work each
#                        row gets at most twice its share of the time left, and rows after it
#                        is spent are written as skipped, saying so.
# Environment: PASSES (default 3), TUNE (0: no first-run tuning: BITBENCH_AUTOTUNE=0), BITBENCH_BIN (default $BUILD/bitbench, BUILD as make passes it), RESULTS_DIR (default
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
    # --plan lists one pass's rows (and times nothing); --resume continues an earlier run's
    # rows: one pass each (scripts/slurm's tasks use both; a replicate of a resumed row would
    # count as written twice).
    single=0
    for a in "$@"; do
        case $a in
        --plan | --resume | --resume=*) single=1 ;;
        esac
    done
    # First run on this machine: the sweep tunes its own picks (one implementation per model
    # and format, at the model's largest projection: `bitbench sweep --help`, --no-tune) before
    # pass 1, so every row runs the fastest implementation here, not the fixed priority; the
    # record (results/tuning/<machine-id>.json) serves every later run.  TUNE=0 skips it.
    if [ "${TUNE:-1}" = 0 ]; then export BITBENCH_AUTOTUNE=0; fi
    passes=${PASSES:-3}
    [ "$single" = 0 ] || passes=1
    case $passes in ''|*[!0-9]*|0) echo "run.sh: PASSES='$passes': expected a whole number >= 1" >&2; exit 2 ;; esac
    group="run-$stamp-${host//[^A-Za-z0-9._-]/_}"
    common=(--full-max 2G --max-row-time 20 --min-time 0.7 --min-reps 3 --placements 6 --run-group "$group" --out "$out")
    echo "run.sh: pass 1 of $passes: Table 3 and batch 1" >&2
    "$bin" sweep "${common[@]}" --time-budget 300 "$@" | tee "$RESULTS_DIR/tables.txt" || status=$?
    for p in $(seq 2 "$passes"); do
        [ "$status" = 0 ] || break
        echo "run.sh: pass $p of $passes: batch 1 again, fresh weight copies (tables in tables-pass$p.txt)" >&2
        "$bin" sweep "${common[@]}" --batch 1 --time-budget 180 "$@" > "$RESULTS_DIR/tables-pass$p.txt" || status=$?
    done
fi
end=$(date +%s)
echo "run.sh: sweep finished in $((end - start)) s; rows in $out, tables in $RESULTS_DIR/tables.txt" >&2
# The report reads whatever rows were written, even after a failed or interrupted sweep.
if [ -s "$out" ]; then
    "$bin" report "$out" --out "$RESULTS_DIR" || status=$?
    echo "run.sh: report in $RESULTS_DIR/REPORT.md" >&2
fi
exit $status
