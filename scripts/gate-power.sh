#!/usr/bin/env bash
# scripts/gate-power.sh - the power of the paired CI gate (scripts/ci-bench.sh --against),
# measured: R gate runs with a real injected slowdown of one kernel per factor, and
# C clean runs; prints per factor how often that kernel was flagged (detection) and how
# often any other kernel was (false positives).  Each gate run takes the shared timing
# lock, so that no other benchmark of this machine times at the same moment.
#
#   scripts/gate-power.sh [--against REF] [--impl IMPL] [--factors 1.02,1.05,1.10]
#                         [--runs R] [--clean-runs C] [--seconds S] [--out DIR] [--lock FILE|none]
#                         [--include-runs FILE]
#   scripts/gate-power.sh --table RUNS.tsv     the table of an earlier (or interrupted) measurement
#
#   --against REF   revision to compare with (default HEAD: the same code, so that every
#                   flag but the injected one is a false positive)
#   --impl IMPL     the kernel slowed down (default: this machine's best tern2 kernel)
#   --factors LIST  injected factors (BITBENCH_INJECT_SLOWDOWN=IMPL:FACTOR; default 1.02,1.05,1.10)
#   --runs R        gate runs per factor (default 10);  --clean-runs C (default 20)
#   --seconds S     passed to ci-bench.sh (timed seconds per gate run; its default 16)
#   --lock FILE     lock taken around each round (default /tmp/bitbench-timing.lock): one
#                   round is each factor once and C/R clean runs, 2-3 minutes here; taking
#                   the lock per round, not per run, keeps a busy lock from stretching the
#                   measurement by its queue once per run
#   --include-runs FILE  a runs.tsv of an earlier invocation (same REF, IMPL and seconds):
#                   its runs count in the table too (after an interrupted measurement)
# Writes DIR/runs.tsv (one line per gate run) and prints the table; exit 0, or 2 when a gate
# run failed (exit 2) or an option is bad.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
bin=${BITBENCH:-$here/build/bitbench}
against=HEAD impl="" factors=1.02,1.05,1.10 runs=10 clean=20 seconds="" lock=/tmp/bitbench-timing.lock
out=$here/results/gate-power/$(date -u +%Y%m%dT%H%M%SZ)
include=()

die() { echo "gate-power: $*" >&2; exit 2; }
table() { # table RUNS.tsv
  local impl
  impl=$(head -1 "$1" | sed 's/.*ratios_of_//')
  awk -F'\t' -v impl="$impl" 'NR > 1 {
    n[$1]++; det[$1] += $4; fp[$1] += ($5 > 0); split($6, r, ",");
    for (j in r) { sum[$1] += r[j]; cnt[$1]++ }
    if (!($1 in seen)) { order[++k] = $1; seen[$1] = 1 } }
  END {
    printf "%-7s %5s %-22s %-30s %s\n", "factor", "runs", "detected (" impl ")", "false positive (other kernels)", "mean ratio new/old of it"
    for (j = 1; j <= k; j++) { f = order[j]
      d = (f == "clean") ? "-" : sprintf("%d/%d (%.0f%%)", det[f], n[f], 100 * det[f] / n[f])
      if (f == "clean") fpos = sprintf("%d/%d runs flagged anything", fp[f] + det[f], n[f])
      else fpos = sprintf("%d/%d runs (%.0f%%)", fp[f], n[f], 100 * fp[f] / n[f])
      printf "%-7s %5d %-22s %-30s %.4f\n", f, n[f], d, fpos, cnt[f] ? sum[f] / cnt[f] : 0 } }' "$1"
}
if [ "${1:-}" = --table ]; then
  [ -f "${2:-}" ] || die "--table needs a runs.tsv file"
  table "$2"
  exit 0
fi
need_arg() { [ $# -ge 2 ] || die "$1 needs a value"; }
while [ $# -gt 0 ]; do
  case "$1" in
    --against)    need_arg "$@"; against=$2; shift ;;
    --impl)       need_arg "$@"; impl=$2; shift ;;
    --factors)    need_arg "$@"; factors=$2; shift ;;
    --runs)       need_arg "$@"; runs=$2; shift ;;
    --clean-runs) need_arg "$@"; clean=$2; shift ;;
    --seconds)    need_arg "$@"; seconds=$2; shift ;;
    --out)        need_arg "$@"; out=$2; shift ;;
    --lock)       need_arg "$@"; lock=$2; shift ;;
    --include-runs) need_arg "$@"; [ -f "$2" ] || die "--include-runs '$2': no such file"; include+=("$2"); shift ;;
    -h|--help)    sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option '$1' (scripts/gate-power.sh --help lists them)" ;;
  esac
  shift
done
[[ $runs =~ ^[0-9]+$ ]] || die "--runs '$runs': expected a whole number"
[[ $clean =~ ^[0-9]+$ ]] || die "--clean-runs '$clean': expected a whole number"
for f in ${factors//,/ }; do
  awk -v f="$f" 'BEGIN { exit !(f ~ /^[0-9]+([.][0-9]+)?$/ && f >= 1 && f <= 16) }' \
    || die "--factors: '$f' is not a factor in [1, 16]"
done
[ -x "$bin" ] || die "no bitbench binary at '$bin' (run make, or set BITBENCH)"
sha=$(git -C "$here" rev-parse --verify --quiet "$against^{commit}") || die "--against '$against': not a commit"
if [ -z "$impl" ]; then
  impl=$("$bin" list | awk '/^Implementations/ { t = 1; next } t && $1 == "*" && $3 == "tern2" { print $2 }')
fi
[ -n "$impl" ] || die "no --impl given and no tern2 kernel found"
mkdir -p "$out"

lock_round() { [ "$lock" = none ] || { exec 9>> "$lock"; flock 9; }; }
unlock_round() { [ "$lock" = none ] || { flock -u 9; exec 9>&-; }; }

# gate FACTOR I: one gate run; appends "factor run exit detected others ratios" to runs.tsv
gate() {
  local factor=$1 i=$2 dir=$out/$1-$2 rc=0 env=()
  [ "$factor" = clean ] || env=(BITBENCH_INJECT_SLOWDOWN="$impl:$factor")
  env "${env[@]}" BITBENCH="$bin" "$here/scripts/ci-bench.sh" --against "$sha" --out "$dir" \
    ${seconds:+--seconds "$seconds"} > "$dir.log" 2>&1 || rc=$?
  [ "$rc" -le 1 ] || { tail -3 "$dir.log" >&2; die "gate run $factor #$i failed (exit $rc): see $dir.log"; }
  awk -v impl="$impl" -v f="$factor" -v i="$i" -v rc="$rc" '
    $NF == "regression" { if ($1 == impl) det = 1; else others++ }
    $1 == impl && NF >= 8 { ratios = ratios (ratios ? "," : "") $5 }
    END { printf "%s\t%s\t%s\t%d\t%d\t%s\n", f, i, rc, det, others, ratios }' "$dir/paired.txt" >> "$out/runs.tsv"
  tail -1 "$out/runs.tsv" >&2
}

echo "gate-power: $impl, against $against (${sha:0:12}), factors $factors x $runs runs, $clean clean runs; in $out" >&2
printf 'factor\trun\texit\tdetected\tothers_flagged\tratios_of_%s\n' "$impl" > "$out/runs.tsv"
for f in ${include[@]+"${include[@]}"}; do
  tail -n +2 "$f" | sed 's/\t/\tincluded-/' >> "$out/runs.tsv"   # run numbers marked as earlier ones
done
# Interleaved (clean runs spread over the rounds): a partial run still covers every factor,
# and the machine's busy and quiet spells fall on all of them alike.
rounds=$(( runs > 0 ? runs : 1 )) c=0
for i in $(seq "$rounds"); do
  lock_round
  while [ "$c" -lt $(( clean * i / rounds )) ]; do c=$((c + 1)); gate clean "$c"; done
  [ "$runs" = 0 ] || for f in ${factors//,/ }; do gate "$f" "$i"; done
  unlock_round
done

table "$out/runs.tsv" | tee "$out/table.txt"
