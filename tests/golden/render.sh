#!/bin/sh
# tests/golden/render.sh - renders the golden outputs of the analysis commands (report,
# compare, history) from fixed result files into OUT, for tests/test_golden.c.
#   tests/golden/render.sh BITBENCH OUT     (run from the source tree's top)
# The files rendered are compared byte for byte with tests/golden/expected/; to record them
# again after an intended change of an output: tests/golden/render.sh build/bitbench
# tests/golden/expected (then read the diff before committing).
# No plots (--no-plots, --no-plot): whether gnuplot is installed must not change the text.
# Each command's exit status is recorded too (compare exits 1 on a regression), and its
# messages (stderr).
set -u
bin=$1 out=$2
run_a=results/measurements/step-make-run-20261205-vm/run-a.sweep.jsonl
run_b=results/measurements/step-make-run-20261205-vm/run-b.sweep.jsonl
schema1=tests/fixtures/report/vm.jsonl
rm -rf "$out" && mkdir -p "$out"

status() { echo "$1: exit $2" >>"$out/exit-status.txt"; }

# a schema-2 sweep (decoder steps, interleaved) and a schema-1 one (projections only)
"$bin" report "$run_a" --no-plots --out "$out/report-run-a" 2>"$out/report-run-a.stderr"
status report-run-a $?
"$bin" report "$schema1" --no-plots --out "$out/report-schema1" 2>"$out/report-schema1.stderr"
status report-schema1 $?
for f in markdown json bencher github-action-benchmark; do
    "$bin" compare "$run_a" "$run_b" --format $f >"$out/compare-a-b.$f" 2>"$out/compare-a-b.$f.stderr"
    status compare-a-b.$f $?
done
"$bin" compare "$schema1" "$schema1" >"$out/compare-schema1.markdown" 2>"$out/compare-schema1.stderr"
status compare-schema1 $?
"$bin" history --no-plot --out "$out/history-a-b" "$run_a" "$run_b" "$run_a" \
    >"$out/history-a-b.markdown" 2>"$out/history-a-b.stderr"
status history-a-b $?
"$bin" history --no-plot --json --out "$out/history-a-b-json" "$run_a" "$run_b" "$run_a" \
    >"$out/history-a-b.json" 2>"$out/history-a-b-json.stderr"
status history-a-b-json $?
# What varies from checkout to checkout, and only that, is written as a name: the OUT
# folder (in history's messages) and the source tree (REPORT.md's "Paper values:" line names
# the reference file it read by its real path).
src=$(pwd -P)
for f in "$out"/*.stderr "$out"/*/REPORT.md; do
    sed -e "s|$out/|OUT/|g" -e "s|$src/|SRC/|g" "$f" >"$f.tmp" && mv "$f.tmp" "$f"
done
exit 0
