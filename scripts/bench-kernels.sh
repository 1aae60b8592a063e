#!/usr/bin/env bash
# scripts/bench-kernels.sh - `make bench-kernels`: for each format, every implementation this
# CPU runs, timed interleaved (one process per format, so the cold-weight rotation of all of
# them fits in memory) against the read-bandwidth ceiling measured in the same process, at the
# decode shapes of issue 3 (N = 1, cold weights) for 1 and all threads, then prefill (N = 128).
# Tables (with "best per format") go to stdout; every row, raw samples included, to
# results/bench-kernels-*/<shape>-t<threads>-<format>.jsonl.
# Environment: BENCH_SHAPES ("MxK ..."), BENCH_THREADS ("1 2"), BENCH_MIN_TIME (seconds),
# BENCH_FORMATS ("fp16 int8 ...").
set -euo pipefail
cd "$(dirname "$0")/.."
bin=build/bitbench
out="results/bench-kernels-$(date +%Y%m%d-%H%M%S)-$(hostname -s)"
mkdir -p "$out"
shapes=${BENCH_SHAPES:-"4096x4096 11008x4096 4096x11008"}
threads=${BENCH_THREADS:-"1 $(nproc)"}
min_time=${BENCH_MIN_TIME:-1}
formats=${BENCH_FORMATS:-"fp16 int8 pot4 pot5 pot6 tern2 tern1.6"}

# Runnable implementations of one format, comma-separated (from `bitbench list`).
impls_of() {
  "$bin" list | awk -v f="$1" '{ for (i = 1; i <= NF; i++) if (index($i, f "-") == 1 && $(i + 1) == f) {
      if ($(i + 5) == "yes") { printf "%s%s", sep, $i; sep = "," } } }'
}

run() { # label n threads m k format
  local impls; impls=$(impls_of "$6")
  [ -n "$impls" ] || return 0
  echo "== $1 N=$2, M=$4 K=$5, $3 thread(s), $6" >&2
  "$bin" gemm --impl "$impls" --m "$4" --k "$5" --n "$2" --threads "$3" --min-time "$min_time" \
    --no-probe --json --out "$out/$1-$4x$5-t$3-$6.jsonl" 2>&1 | grep -v '^gemm: ' || true
}

for t in $threads; do
  for s in $shapes; do
    for f in $formats; do run decode 1 "$t" "${s%x*}" "${s#*x}" "$f"; done
  done
done
for f in $formats; do run prefill 128 "$(nproc)" 4096 4096 "$f"; done
echo "bench-kernels: JSON rows in $out/" >&2
