#!/usr/bin/env bash
# scripts/bench-kernels.sh - `make bench-kernels`: every implementation this CPU runs,
# timed interleaved per shape against the read-bandwidth ceiling measured in the same run,
# at the decode shapes of issue 3 (N = 1, cold weights) for 1 and all threads, and prefill
# (N = 128).  Tables go to stdout; every row (with raw samples) to results/bench-kernels-*/.
# Environment: BENCH_SHAPES ("MxK ..."), BENCH_THREADS ("1 2"), BENCH_MIN_TIME (seconds).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=build/bitbench
out="results/bench-kernels-$(date +%Y%m%d-%H%M%S)-$(hostname -s)"
mkdir -p "$out"
shapes=${BENCH_SHAPES:-"4096x4096 11008x4096 4096x11008"}
threads=${BENCH_THREADS:-"1 $(nproc)"}
min_time=${BENCH_MIN_TIME:-1}
for t in $threads; do
  for s in $shapes; do
    m=${s%x*} k=${s#*x}
    echo "== decode N=1, M=$m K=$k, $t thread(s)" >&2
    "$bin" gemm --impl all --m "$m" --k "$k" --n 1 --threads "$t" --min-time "$min_time" \
      --json --out "$out/decode-$s-t$t.jsonl" 2>&1 | grep -v '^gemm: ' || true
  done
done
m=4096 k=4096
echo "== prefill N=128, M=$m K=$k, $(nproc) thread(s) (GOP/s is the figure of merit)" >&2
"$bin" gemm --impl all --m $m --k $k --n 128 --min-time "$min_time" --json \
  --out "$out/prefill-${m}x$k.jsonl" 2>&1 | grep -v '^gemm: ' || true
echo "bench-kernels: JSON rows in $out/" >&2
