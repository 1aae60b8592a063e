#!/usr/bin/env bash
# scripts/bench-inject.sh - how close BITBENCH_INJECT_SLOWDOWN=IMPL:FACTOR comes to FACTOR:
# the built-in kernel module is loaded twice (old/, new/: the same code on shared weights),
# new/IMPL gets the injection, and `bitbench gemm --paired` + `bitbench paired` measure the
# time ratio new/old.  A benchmark, not a test: it takes the shared timing lock, prints a
# table, and exits 1 when a ratio misses its factor by more than the tolerance.
#
#   scripts/bench-inject.sh [--impls IMPL,...] [--factors 1.02,1.05,1.10,2] [--shapes MxK,...]
#                           [--seconds S] [--tolerance T] [--lock FILE|none]
#   --impls      kernels to slow down (default: this machine's best of each format)
#   --tolerance  allowed |measured - factor| as a fraction of (factor - 1) (default 0.4:
#                at 1.05, 1.03-1.07); the injected rows are a whole number of row blocks
#                and re-read rows can be in a nearer cache than the average, so the time
#                ratio is near FACTOR, not equal to it
#   --seconds    timed seconds per kernel, factor and shape (default 2)
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
bin=${BITBENCH:-$here/build/bitbench}
module=${BITBENCH_MODULE:-$here/build/module/bitbench-kernels.so}
impls="" factors=1.02,1.05,1.10,2 shapes=256x1024,1024x256 seconds=2 tol=0.4 lock=/tmp/bitbench-timing.lock

die() { echo "bench-inject: $*" >&2; exit 2; }
need_arg() { [ $# -ge 2 ] || die "$1 needs a value"; }
while [ $# -gt 0 ]; do
  case "$1" in
    --impls)     need_arg "$@"; impls=${2//,/ }; shift ;;
    --factors)   need_arg "$@"; factors=$2; shift ;;
    --shapes)    need_arg "$@"; shapes=$2; shift ;;
    --seconds)   need_arg "$@"; seconds=$2; shift ;;
    --tolerance) need_arg "$@"; tol=$2; shift ;;
    --lock)      need_arg "$@"; lock=$2; shift ;;
    -h|--help)   sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option '$1' (scripts/bench-inject.sh --help lists them)" ;;
  esac
  shift
done
[ -x "$bin" ] || die "no bitbench binary at '$bin' (run make, or set BITBENCH)"
[ -f "$module" ] || make -C "$here" -s build/module/bitbench-kernels.so >&2 || die "cannot build $module"
[ -n "$impls" ] || impls=$("$bin" list | awk '/^Implementations/ { t = 1; next } t && $1 == "*" && $7 == "yes" { print $2 }')
# one lock for the whole measurement (about a minute with the defaults of a few kernels):
# taken per call, a busy lock's queue would stretch it by its wait once per call
[ "$lock" = none ] || { exec 9>> "$lock"; flock 9; }
tmp=$(mktemp -d /tmp/bitbench-inject-XXXXXX)
trap 'rm -rf "$tmp"' EXIT

list=""
for i in $impls; do list+=${list:+,}old/$i,new/$i; done
n=$(( 2 * $(echo $impls | wc -w) ))
printf '%-26s %-10s %7s %9s %9s  %s\n' impl shape factor measured "low-high" verdict
bad=0
for f in ${factors//,/ }; do
  for i in $impls; do
    for s in ${shapes//,/ }; do
      min_time=$(awk -v t="$seconds" -v n="$n" 'BEGIN { printf "%.3f", t / n }')
      BITBENCH_INJECT_SLOWDOWN=new/$i:$f "$bin" gemm --plugin "old=$module" --plugin "new=$module" \
        --impl "old/$i,new/$i" --paired --m "${s%x*}" --k "${s#*x}" --threads 1 --warm --no-ceiling --no-probe \
        --min-time "$min_time" --max-time "$seconds" --json --out "$tmp/run.jsonl" 2> /dev/null > /dev/null \
        || die "bitbench gemm failed for $i at $s"
      "$bin" paired "$tmp/run.jsonl" --threshold 0 > "$tmp/t.txt" || true
      awk -v impl="$i" -v s="$s" -v f="$f" -v tol="$tol" '$1 == impl && NF >= 8 {
          ok = ($5 - f < tol * (f - 1) && f - $5 < tol * (f - 1)) || (f == 1 && $5 - 1 < 0.01 && 1 - $5 < 0.01)
          printf "%-26s %-10s %7s %9.4f %4.3f-%4.3f  %s\n", impl, s, f, $5, $6, $7, ok ? "ok" : "OUT OF TOLERANCE"
          exit !ok }' "$tmp/t.txt" || bad=1
    done
  done
done
[ "$bad" = 0 ] && echo "bench-inject: every measured ratio within ${tol} x (factor - 1) of its factor" >&2 \
  || echo "bench-inject: some ratios out of tolerance (above)" >&2
exit "$bad"
