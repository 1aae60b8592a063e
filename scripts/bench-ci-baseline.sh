#!/usr/bin/env bash
# scripts/bench-ci-baseline.sh - the stored-baseline CI flow end to end, at small scale (what
# tests/test_ci_bench.c asserted before timing left make check): scripts/ci-bench.sh writes a
# baseline, an unmodified build passes against it (exit 0), and a real injected 2x slowdown
# of one kernel (BITBENCH_INJECT_SLOWDOWN) fails it (exit 1) with exactly that kernel's
# rows flagged and the rerun confirming.  The kernels are the scalar references of three
# formats (every machine runs them; calls of 50-200 us).  Takes the shared timing lock once
# for the whole (about a minute here); exit 0 when all of that held, 1 when not.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
bin=${BITBENCH:-$here/build/bitbench}
lock=${BITBENCH_TIMING_LOCK:-/tmp/bitbench-timing.lock}
impls=(fp16-scalar-ref int8-scalar-ref tern2-scalar-ref)
tmp=$(mktemp -d /tmp/bitbench-ci-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail=0
[ "$lock" = none ] || { exec 9>> "$lock"; flock 9; }

ci() { # ci NAME [ENV...] -- [OPTIONS]: the small plan; prints and returns the exit status
  local name=$1 rc=0; shift
  local envs=(); while [ "$1" != -- ]; do envs+=("$1"); shift; done; shift
  env ${envs[@]+"${envs[@]}"} BITBENCH="$bin" "$here/scripts/ci-bench.sh" \
    --kernels "$(IFS=,; echo "${impls[*]}")" --shapes 256x512 --processes 2 --reps 150 \
    --baseline "$tmp/base.jsonl" --out "$tmp/$name" "$@" > "$tmp/$name.log" 2>&1 || rc=$?
  echo "$rc"
}
expect() { # expect WHAT GOT WANT
  if [ "$2" = "$3" ]; then echo "ok: $1 (exit $2)"; else echo "FAILED: $1: exit $2, expected $3" >&2; fail=1; fi
}

expect "no baseline yet is bad input" "$(ci none -- )" 2
expect "baseline written" "$(ci base -- --update-baseline)" 0
expect "an unmodified build passes" "$(ci same -- )" 0
[ "$fail" = 0 ] || cat "$tmp/same.log" >&2
expect "a 2x slowdown of ${impls[1]} fails" "$(ci slow BITBENCH_INJECT_SLOWDOWN="${impls[1]}" -- )" 1
# exactly the injected kernel, confirmed by the rerun, close to +100%
if command -v jq > /dev/null; then
  flagged=$(jq -r '.results[] | select(.verdict == "regression") | .impl' "$tmp/slow/compare-json.json" | sort -u)
  confirm=$(jq -r '.confirm | type' "$tmp/slow/compare-json.json")
  change=$(jq -r --arg i "${impls[1]}" '[.results[] | select(.impl == $i) | .floor_change] | min' "$tmp/slow/compare-json.json")
  expect "only ${impls[1]} flagged ($flagged)" "$flagged" "${impls[1]}"
  expect "confirmed by the rerun" "$confirm" string
  expect "floor change of ${impls[1]} above +50% ($change)" "$(awk -v c="$change" 'BEGIN { print (c > 0.5) }')" 1
else
  echo "bench-ci-baseline: jq not found: the flagged rows were not inspected (see $tmp/slow/compare.md)" >&2
fi
exit "$fail"
