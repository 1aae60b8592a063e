#!/usr/bin/env bash
# scripts/bench-kernels.sh - `make bench-kernels`: per format and shape, the chosen (best)
# implementation, its median time, GB/s and % of the read ceiling measured beside it: in every
# round of `bitbench gemm`'s interleaved timing, a read-only pass over the kernel's own
# weight copies (the one half a rotation away: cold, same threads) is one more participant, and % of ceiling is the
# median over rounds of ceiling time / kernel time with a 95% bootstrap interval (issue 11,
# items 4 and 5).  Shapes: the paper's projections, 700M to 70B.  Decode (N = 1, cold weights)
# at 1 and all threads, then prefill (N = 128) at 4096x4096.
#
# Default plan: one process per (shape, threads, N) times every format's chosen kernel
# (`--kernel`, i.e. the tuned winner when `bitbench tune` recorded one, else the priority pick;
# each row says which rule chose it), all interleaved, each beside its own ceiling pass.
# --all-impls: every runnable implementation of each format instead (one process per format,
# as before; the best of each process is printed), which takes several times longer.
#
#   scripts/bench-kernels.sh [--quick] [--all-impls] [--shapes "MxK ..."] [--threads "1 2"]
#                            [--formats "fp16 int8 ..."] [--min-time S] [--prefill "MxK ..."|""]
#                            [--out DIR]
#   scripts/bench-kernels.sh --table DIR        # the summary of an earlier run again
#
# --quick: 1536x1536, 4096x4096 and 11008x4096, --min-time 0.25, no prefill (about 1 minute
# on the 2-core VM; the full default plan about 6-8 minutes).
# Environment (older interface, still read): BENCH_SHAPES, BENCH_THREADS, BENCH_MIN_TIME,
# BENCH_FORMATS, BENCH_PREFILL.  Every row, raw samples included (kernel and ceiling), goes to
# results/bench-kernels-*/<label>-<shape>-t<threads>[-<format>].jsonl.
# Timing: run it under the shared lock (flock /tmp/bitbench-timing.lock make bench-kernels).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=build/bitbench
die() { echo "bench-kernels: $*" >&2; exit 2; }

# 700M (1536), 1.3B-3B (5460x2048), 7B (4096, 11008x4096), 70B (8192, 28672x8192, 8192x28672)
shapes=${BENCH_SHAPES:-"1536x1536 5460x2048 4096x4096 11008x4096 8192x8192 28672x8192 8192x28672"}
threads=${BENCH_THREADS:-"1 $(nproc)"}
min_time=${BENCH_MIN_TIME:-0.5}
formats=${BENCH_FORMATS:-"fp16 int8 pot4 pot5 pot6 tern2 tern1.6"}
prefill=${BENCH_PREFILL-"4096x4096"}
all_impls=0 out="" table=""
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) shapes="1536x1536 4096x4096 11008x4096"; min_time=0.25; prefill="" ;;
    --all-impls) all_impls=1 ;;
    --shapes) shapes=${2:?}; shift ;;
    --threads) threads=${2:?}; shift ;;
    --formats) formats=${2:?}; shift ;;
    --min-time) min_time=${2:?}; shift ;;
    --prefill) prefill=${2-}; shift ;;
    --out) out=${2:?}; shift ;;
    --table) table=${2:?}; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d'; exit 0 ;;
    *) die "unknown option '$1' (--quick, --all-impls, --shapes, --threads, --formats, --min-time, --prefill, --out, --table)" ;;
  esac
  shift
done
for s in $shapes $prefill; do
  [[ $s =~ ^[0-9]+x[0-9]+$ ]] || die "shape '$s': expected MxK, e.g. 4096x4096"
done

# The summary of every .jsonl in a folder: per file (one process), per format, the fastest
# row (lowest median), with the paired % of the ceiling measured beside it, its interval and
# the issue-11 decode target for that shape (N = 1: 2 threads >= 85% at 7B/70B projection
# shapes, >= 75% at 4096x4096 and smaller; 1 thread 80% / 70%).
summary() {
  echo
  echo "best implementation per format and shape (median of interleaved cold calls; % of ceiling: median over rounds"
  echo "of ceiling pass time / kernel time, the ceiling a read-only pass over the kernel's own copies in the same round; [95% interval])"
  printf '%-8s %-11s %3s %4s %-26s %10s %7s %8s %16s %6s  %s\n' format shape T N implementation "median us" "GB/s" \
    "ceilGB/s" "%ceil [95%]" target "chosen by / runner-up"
  for f in "$1"/*.jsonl; do
    [ -s "$f" ] || continue
    jq -rs '
      def r1: . * 10 | round / 10;
      [ .[] | select(.check.passed and .latency_ns != null) ] | group_by(.format)[] | sort_by(.latency_ns.median) as $r
      | $r[0] as $b
      | (if $b.threads >= 2 then (if $b.m * $b.k > 4096 * 4096 then 85 else 75 end)
         else (if $b.m * $b.k > 4096 * 4096 then 80 else 70 end) end) as $target
      | [ $b.format, "\($b.m)x\($b.k)", ($b.threads | tostring), ($b.n | tostring), $b.impl,
          ($b.latency_ns.median / 1000 | r1 | tostring),
          ($b.gbps | r1 | tostring),
          (if $b.ceiling == null then "-" else ($b.ceiling.median_gbps | r1 | tostring) end),
          (if $b.pct_of_ceiling == null then "-"
           elif $b.pct_of_ceiling_ci95 == null then ($b.pct_of_ceiling | round | tostring) + "%"
           else "\($b.pct_of_ceiling | round)% [\($b.pct_of_ceiling_ci95[0] | round)-\($b.pct_of_ceiling_ci95[1] | round)]" end),
          (if $b.n != 1 or $b.pct_of_ceiling == null then "-"
           elif $b.pct_of_ceiling >= $target then "\($target) ok" else "\($target) NO" end),
          (if ($r | length) > 1 then "runner-up \($r[1].impl) (\($r[1].latency_ns.median / 1000 | r1) us)"
           else ($b.impl_rule // "-" | split(":")[0]) end) ]
      | @tsv' "$f"
  done | sort -t$'\t' -k4,4n -k3,3n -k1,1 -k2,2V |
    awk -F'\t' '{ printf "%-8s %-11s %3s %4s %-26s %10s %7s %8s %16s %6s  %s\n", $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11 }'
}

if [ -n "$table" ]; then
  [ -d "$table" ] || die "--table '$table': not a folder"
  summary "$table"
  exit 0
fi
[ -x "$bin" ] || die "$bin not built (make)"
command -v jq > /dev/null || die "jq not found (scripts/install-deps.sh)"
out=${out:-"results/bench-kernels-$(date +%Y%m%d-%H%M%S)-$(hostname -s)"}
mkdir -p "$out"
t_start=$(date +%s)

# Runnable implementations of one format, comma-separated (from `bitbench list`).
impls_of() {
  "$bin" list | awk -v f="$1" '{ for (i = 1; i <= NF; i++) if (index($i, f "-") == 1 && $(i + 1) == f) {
      if ($(i + 5) == "yes") { printf "%s%s", sep, $i; sep = "," } } }'
}

gemm() { # file, then gemm's own options
  local file=$1; shift
  "$bin" gemm "$@" --min-time "$min_time" --no-probe --json --out "$file" 2>&1 | grep -v '^gemm: ' >&2 || true
}

run() { # label n threads m k
  if [ "$all_impls" = 1 ]; then
    for f in $formats; do
      local impls; impls=$(impls_of "$f")
      [ -n "$impls" ] || continue
      echo "== $1 N=$2, M=$4 K=$5, $3 thread(s), every implementation of $f" >&2
      gemm "$out/$1-$4x$5-t$3-$f.jsonl" --impl "$impls" --m "$4" --k "$5" --n "$2" --threads "$3"
    done
  else
    echo "== $1 N=$2, M=$4 K=$5, $3 thread(s), chosen kernel of: $formats" >&2
    gemm "$out/$1-$4x$5-t$3.jsonl" --kernel "$(echo $formats | tr ' ' ',')" --m "$4" --k "$5" --n "$2" --threads "$3"
  fi
}

for t in $threads; do
  for s in $shapes; do run decode 1 "$t" "${s%x*}" "${s#*x}"; done
done
for s in $prefill; do run prefill 128 "$(nproc)" "${s%x*}" "${s#*x}"; done

summary "$out"
echo "bench-kernels: $(( $(date +%s) - t_start )) s; JSON rows in $out/ (scripts/bench-kernels.sh --table $out prints this again)" >&2
