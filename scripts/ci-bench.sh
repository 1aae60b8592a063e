#!/usr/bin/env bash
# scripts/ci-bench.sh - what a kernel project's CI runs: a quick fixed benchmark plan,
# compared against this machine's baseline; exit with compare's status
# (0 no regression, 1 regression, 2 bad input or a failed run).
#
#   scripts/ci-bench.sh                    measure, compare with results/baselines/<machine-id>.jsonl
#   scripts/ci-bench.sh --update-baseline  measure and make that the baseline
#   scripts/ci-bench.sh --against REF      paired A/B: REF's kernels against this tree's, in
#                                          one process (no baseline: for shared runners)
#
# The plan: each format's best implementation here (--kernels all: every runnable one), each in
# its own processes, on small shapes whose weights stay in L2 (--warm), one thread.  That
# measures what kernel changes change - the code's speed - and little else.  Measured
# here, on a 2-core VM shared with other engineers' builds and benchmarks, between
# back-to-back runs: floors of such rows moved by 0.1-5% for calls of 20 us and more, but
# 10-20% for calls of 2-10 us (a process's memory layout is part of its speed), cold
# (DRAM-streaming) rows by 17-40% (memory is shared with the neighbours), and kernels
# timed interleaved with scalar ones by 16-44% even with their weights in cache.  So each
# row is measured in --processes separate processes (default 3, spread over the run), and
# compare requires NEW's fastest process to be slower than BASE's slowest by the threshold.
# Use --cold on a dedicated runner to track the memory-bound decode behaviour instead.
#
# Noise control on top of that (harness/compare/compare.h):
#   - a verdict needs significance (Mann-Whitney U, p < alpha) AND an effect: the floor
#     (5% quantile: the calls no neighbour interrupted) slower by >= threshold beyond the
#     range of the baseline's processes, and the median's bootstrap CI reaching it too;
#     medians and their CIs are reported;
#   - a suspected regression is measured again (the whole plan, once); only a regression
#     that the rerun shows too fails the build.
#
# Paired A/B (--against REF): a stored baseline was measured in another noise regime; on
# a shared runner the same code moves 1.2x-2.3x between runs, and no threshold tells that
# from a 5% regression.  So both revisions run in the same process, at the same moment:
# REF's kernel table is built as a module (kernels/module.h) in a git worktree, cached
# under build/ab/<commit>/, and loaded next to this tree's as old/IMPL and new/IMPL;
# `bitbench gemm --paired` times each kernel of the plan as pairs (old then new, or new
# then old, a coin per pair and round) on the same weights and buffers, and `bitbench
# paired` judges the per-round ratios new/old: Hodges-Lehmann estimate and 99% Wilcoxon
# signed-rank interval.  A regression is an interval above 1 with an estimate >= 1 +
# threshold (default 3% here), confirmed by a rerun of the flagged kernels in a new
# process (a process's placement of code in memory alone moved a ratio by up to 2%, rarely
# more, here: the rerun redraws it).  Measured power: README, "Paired A/B gate".
#
# Options:
#   --against REF       paired A/B against git revision REF (a commit, branch or tag)
#   --seconds S         --against: timed seconds of the whole plan (default 16, wall clock; the
#                       confirmation rerun of flagged kernels takes a part of that again)
#   --update-baseline   write the run as the baseline (no comparison)
#   --baseline FILE     baseline to use/write (default results/baselines/<machine-id>.jsonl)
#   --out DIR           where the runs and reports go (default results/ci/<UTC time>)
#   --kernels K         best (default) | all | IMPL,IMPL,...   (each gemm process has a
#                       fixed cost of about 1 s here - counters and energy probing - so
#                       `all`, 32 implementations x 2 shapes x 3 processes, takes minutes)
#   --shapes LIST       MxK,MxK,... (default 256x1024,1024x256)
#   --threads T         (default 1);  --reps R  timed calls per process (default 100)
#   --processes P       processes per row (default 3)
#   --cold              rotate weight copies through > 4x LLC (DRAM-bound; noisy if shared)
#   --normalize X       compare ratios to implementation or format X of the same run
#                       (default none: measured here, it added noise)
#   --threshold PCT     minimum slowdown, percent (default 5; --against: 3);  --alpha A (default 0.01)
#   --no-confirm        no confirmation rerun
# Environment: BITBENCH (the binary, default build/bitbench next to this script);
#   BITBENCH_INJECT_SLOWDOWN=IMPL[:FACTOR] makes that kernel do FACTOR (default 2) times its
#   row work (to test all this; with --against, the new side's IMPL);
#   BITBENCH_MODULE: this tree's kernel module (default build/module/bitbench-kernels.so, made).
# Writes in --out: run.jsonl (and confirm.jsonl), compare.md, compare-json.json,
#   compare-bencher.json, compare-github-action-benchmark.json; appends compare.md to
#   $GITHUB_STEP_SUMMARY when that is set (GitHub Actions).
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
bin=${BITBENCH:-$here/build/bitbench}
update=0 baseline="" out="" normalize=none threshold="" alpha=0.01 against="" seconds=16 threads=1 reps=100 cold=0 processes=3
shapes=256x1024,1024x256 confirm=1 kernels=best

die() { echo "ci-bench: $*" >&2; exit 2; }
need_arg() { [ $# -ge 2 ] || die "$1 needs a value"; }
while [ $# -gt 0 ]; do
  case "$1" in
    --update-baseline) update=1 ;;
    --against)   need_arg "$@"; against=$2; shift ;;
    --seconds)   need_arg "$@"; seconds=$2; shift ;;
    --baseline)  need_arg "$@"; baseline=$2; shift ;;
    --out)       need_arg "$@"; out=$2; shift ;;
    --normalize) need_arg "$@"; normalize=$2; shift ;;
    --threshold) need_arg "$@"; threshold=$2; shift ;;
    --alpha)     need_arg "$@"; alpha=$2; shift ;;
    --threads)   need_arg "$@"; threads=$2; shift ;;
    --reps)      need_arg "$@"; reps=$2; shift ;;
    --processes) need_arg "$@"; processes=$2; shift ;;
    --shapes)    need_arg "$@"; shapes=$2; shift ;;
    --kernels)   need_arg "$@"; kernels=$2; shift ;;
    --cold)      cold=1 ;;
    --no-confirm) confirm=0 ;;
    -h|--help)   sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option '$1' (scripts/ci-bench.sh --help lists them)" ;;
  esac
  shift
done
[[ $processes =~ ^[1-9][0-9]*$ ]] || die "--processes '$processes': expected a whole number >= 1"
[ -x "$bin" ] || die "no bitbench binary at '$bin' (run make, or set BITBENCH)"
awk -v s="$seconds" 'BEGIN { exit !(s ~ /^[0-9]+([.][0-9]+)?$/ && s + 0 > 0) }' \
  || die "--seconds '$seconds': expected a positive number of seconds"
if [ -n "$against" ] && [ "$update" = 1 ]; then
  die "--against and --update-baseline exclude each other (a paired run needs no baseline)"
fi
for s in ${shapes//,/ }; do
  [[ $s =~ ^[0-9]+x[0-9]+$ ]] || die "--shapes: '$s' is not MxK (e.g. 512x2048)"
done

machine=$("$bin" compare --machine-id) || die "cannot identify this machine"
baseline=${baseline:-$here/results/baselines/$machine.jsonl}
out=${out:-$here/results/ci/$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$out"

case "$kernels" in
  all)  impls=$("$bin" list | awk '/^Implementations/ { t = 1; next }
          t && NF >= 7 { if ($1 == "*") { n = $2; r = $7 } else { n = $1; r = $6 }
                         if (n != "impl" && r == "yes") print n }') ;;
  best) impls=$("$bin" list | awk '/^Implementations/ { t = 1; next } t && $1 == "*" && $7 == "yes" { print $2 }') ;;
  *)    impls=${kernels//,/ } ;;
esac
[ -n "$impls" ] || die "no runnable implementation found (bitbench list)"
mode=--warm
[ "$cold" = 0 ] || mode=""

if [ -n "$against" ]; then
  threshold=${threshold:-3}
  # shellcheck source=scripts/ci-paired.sh
  . "$here/scripts/ci-paired.sh"
  exit $?
fi
threshold=${threshold:-5}

# One process per implementation, shape and pass; the passes go over the whole plan in
# turn, so that a busy minute does not hit every process of a row.  A machine line
# first, so that compare can check the machine of these gemm rows (they carry none).
run_plan() {
  local dest=$1
  "$bin" compare --machine-json > "$dest"
  echo "ci-bench: timing $(echo $impls | wc -w) implementation(s) x shapes $shapes x $processes process(es)" \
       "($threads thread(s), $reps calls each, ${mode:---cold})" >&2
  for pass in $(seq "$processes"); do
    for s in ${shapes//,/ }; do
      for impl in $impls; do
        "$bin" gemm --impl "$impl" --m "${s%x*}" --k "${s#*x}" --threads "$threads" --reps "$reps" \
          --no-ceiling --json $mode >> "$dest" 2>> "$out/gemm.log" \
          || { tail -3 "$out/gemm.log" >&2; die "bitbench gemm failed for $impl at $s (its check failed?): see $out/gemm.log"; }
      done
    done
  done
}

if [ "$update" = 0 ] && [ ! -f "$baseline" ]; then
  die "no baseline for machine $machine at $baseline; create it with --update-baseline"
fi
run_plan "$out/run.jsonl"
if [ "$update" = 1 ]; then
  mkdir -p "$(dirname "$baseline")"
  cp "$out/run.jsonl" "$baseline"
  echo "ci-bench: baseline for machine $machine written to $baseline (commit it)" >&2
  exit 0
fi

compare_opts=(--threshold "$threshold" --alpha "$alpha")
[ "$normalize" = none ] || compare_opts+=(--normalize "$normalize")
compare() { # compare [extra options]: writes compare.md, returns compare's status
  local rc=0
  "$bin" compare "$baseline" "$out/run.jsonl" "${compare_opts[@]}" "$@" --out "$out/compare.md" || rc=$?
  return $rc
}

rc=0
compare || rc=$?
if [ "$rc" = 1 ] && [ "$confirm" = 1 ]; then
  echo "ci-bench: suspected regression; measuring once more to confirm" >&2
  run_plan "$out/confirm.jsonl"
  compare_opts+=(--confirm "$out/confirm.jsonl")
  rc=0
  compare || rc=$?
fi
if [ "$rc" -le 1 ]; then
  for f in json bencher github-action-benchmark; do
    "$bin" compare "$baseline" "$out/run.jsonl" "${compare_opts[@]}" --format "$f" --out "$out/compare-$f.json" 2>/dev/null || true
  done
  cat "$out/compare.md"
  [ -z "${GITHUB_STEP_SUMMARY:-}" ] || cat "$out/compare.md" >> "$GITHUB_STEP_SUMMARY"
fi
echo "ci-bench: exit $rc (0 no regression, 1 regression, 2 bad input); files in $out" >&2
exit "$rc"
