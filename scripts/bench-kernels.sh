#!/usr/bin/env bash
# scripts/bench-kernels.sh - `make bench-kernels`: for each format, every implementation this
# CPU runs, timed interleaved (one process per format and shape, so the cold-weight rotation of
# all of them fits in memory) against the read-bandwidth ceiling measured in the same process,
# at the paper's projection shapes (700M to 70B, issue 11) for decode (N = 1, cold weights) at
# 1 and all threads, then prefill (N = 128) at 4096x4096.  At the end one table: per format,
# shape, threads and N the best implementation, its median time, GB/s and % of the ceiling of
# its own process.  Every row, raw samples included, goes to
# results/bench-kernels-*/<label>-<shape>-t<threads>-<format>.jsonl.
# Environment: BENCH_SHAPES ("MxK ..."), BENCH_THREADS ("1 2"), BENCH_MIN_TIME (seconds),
# BENCH_FORMATS ("fp16 int8 ..."), BENCH_PREFILL ("MxK ...", "" for none).
# Timing: run it under the shared lock (flock /tmp/bitbench-timing.lock make bench-kernels).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=build/bitbench
out="results/bench-kernels-$(date +%Y%m%d-%H%M%S)-$(hostname -s)"
mkdir -p "$out"
# 700M (1536), 1.3B-3B (5460x2048), 7B (4096, 11008x4096), 70B (8192, 28672x8192, 8192x28672)
shapes=${BENCH_SHAPES:-"1536x1536 5460x2048 4096x4096 11008x4096 8192x8192 28672x8192 8192x28672"}
threads=${BENCH_THREADS:-"1 $(nproc)"}
min_time=${BENCH_MIN_TIME:-0.5}
formats=${BENCH_FORMATS:-"fp16 int8 pot4 pot5 pot6 tern2 tern1.6"}
prefill=${BENCH_PREFILL-"4096x4096"}

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
    --no-probe --json --out "$out/$1-$4x$5-t$3-$6.jsonl" 2>&1 | grep -v '^gemm: ' >&2 || true
}

for t in $threads; do
  for s in $shapes; do
    for f in $formats; do run decode 1 "$t" "${s%x*}" "${s#*x}" "$f"; done
  done
done
for s in $prefill; do
  for f in $formats; do run prefill 128 "$(nproc)" "${s%x*}" "${s#*x}" "$f"; done
done

# The summary: the fastest implementation (lowest median) of each file, i.e. of each
# (format, shape, threads, N) measured in one process with its own ceiling.
echo
echo "best implementation per format and shape (median of interleaved cold calls; % of the read ceiling measured in the same process)"
printf '%-8s %-11s %3s %4s %-26s %11s %8s %7s %s\n' format shape T N best "median us" "GB/s" "%ceil" "runner-up (median us)"
for f in "$out"/*.jsonl; do
  [ -s "$f" ] || continue
  jq -rs '
    [ .[] | select(.check.passed and .latency_ns != null) ] | sort_by(.latency_ns.median) as $r
    | select(($r | length) > 0)
    | $r[0] as $b
    | [ $b.format, "\($b.m)x\($b.k)", ($b.threads | tostring), ($b.n | tostring), $b.impl,
        ($b.latency_ns.median / 1000 * 10 | round / 10 | tostring),
        ($b.gbps * 10 | round / 10 | tostring),
        (if $b.pct_of_ceiling == null then "-" else ($b.pct_of_ceiling | round | tostring) + "%" end),
        (if ($r | length) > 1 then "\($r[1].impl) (\($r[1].latency_ns.median / 1000 * 10 | round / 10))" else "-" end) ]
    | @tsv' "$f"
done | sort -t$'\t' -k1,1 -k3,3n -k4,4n -k2,2V | awk -F'\t' '{ printf "%-8s %-11s %3s %4s %-26s %11s %8s %7s %s\n", $1, $2, $3, $4, $5, $6, $7, $8, $9 }'
echo "bench-kernels: JSON rows in $out/" >&2
