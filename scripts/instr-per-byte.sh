#!/usr/bin/env bash
# scripts/instr-per-byte.sh - instructions per weight byte of each kernel's hot loop, counted by
# callgrind (an instruction count repeats exactly on a shared VM, where a time does not): where a
# decode call's time goes besides the memory stream (issue 11, item 3).  A kernel that needs
# more instructions per byte than the core retires in the time DRAM takes to deliver that byte
# cannot reach the bandwidth roof, whatever its prefetching.
#
#   scripts/instr-per-byte.sh [--impl LIST] [--m M] [--k K] [--out FILE]
#
# Per implementation: two runs of `bitbench gemm --warm --threads 1` under
# `valgrind --tool=callgrind --toggle-collect=<its hot symbol>` (bitbench list --json), with
# R1 and R2 timed calls; (Ir(R2) - Ir(R1)) / (R2 - R1) is one call's instructions in the hot
# function (the check, warm-up and calibration calls cancel), divided by the call's packed
# weight bytes (gemm's weight_bytes).  Valgrind has no AVX-512, so the default set is every
# runnable AVX2 implementation (and the scalar references with --impl); `--isa avx2` caps the
# activation quantizer too.  Decode (N = 1).  Default shape 1024 x 4096 (1 MiB of tern2):
# about 5-8 minutes for the default set on 2 cores.  Output: one TSV line per implementation
# (impl, instructions per call, weight bytes, instructions per byte, per weight) on stdout or
# --out; progress on stderr.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=build/bitbench
die() { echo "instr-per-byte: $*" >&2; exit 2; }
m=1024 k=4096 impls="" out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --impl) impls=${2:?}; shift ;;
    --m) m=${2:?}; shift ;;
    --k) k=${2:?}; shift ;;
    --out) out=${2:?}; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d'; exit 0 ;;
    *) die "unknown option '$1' (--impl, --m, --k, --out)" ;;
  esac
  shift
done
[[ $m =~ ^[1-9][0-9]*$ && $k =~ ^[1-9][0-9]*$ ]] || die "--m '$m' / --k '$k': expected positive whole numbers"
command -v valgrind >/dev/null || die "valgrind not found (apt-get install -y valgrind)"
command -v jq >/dev/null || die "jq not found (apt-get install -y jq)"
[ -x "$bin" ] || die "$bin missing: run make first"
list=$("$bin" list --json --isa avx2)
if [ -z "$impls" ]; then
  impls=$(jq -r '[.kernels[] | select(.runnable and .isa == "avx2") | .impl] | join(",")' <<<"$list")
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
[ -n "$out" ] && exec >"$out"
export BITBENCH_AUTOTUNE=0
r1=4 r2=12
printf 'impl\tinstructions_per_call\tweight_bytes\tinstructions_per_byte\tinstructions_per_weight\n'
n=$(tr , '\n' <<<"$impls" | wc -l) i=0
for impl in ${impls//,/ }; do
  i=$((i + 1))
  sym=$(jq -r --arg i "$impl" '.kernels[] | select(.impl == $i) | .hot_symbol // empty' <<<"$list")
  [ -n "$sym" ] || die "--impl '$impl': not a runnable implementation with a hot symbol (bitbench list --isa avx2)"
  echo "instr-per-byte: [$i/$n] $impl ($sym), ${m}x${k}" >&2
  ir=()
  for reps in $r1 $r2; do
    valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.$reps" --collect-atstart=no \
      --toggle-collect="$sym" "$bin" gemm --impl "$impl" --isa avx2 --m "$m" --k "$k" --reps "$reps" \
      --warm --threads 1 --no-ceiling --no-probe --json >"$tmp/row.$reps" 2>"$tmp/err.$reps" ||
      die "$impl: bitbench under valgrind failed: $(tail -1 "$tmp/err.$reps")"
    ir+=("$(sed -n 's/^summary: *\([0-9]*\).*/\1/p' "$tmp/cg.$reps" | head -1)")
  done
  bytes=$(jq -r '.weight_bytes' "$tmp/row.$r1")
  awk -v a="${ir[0]}" -v b="${ir[1]}" -v d=$((r2 - r1)) -v by="$bytes" -v w=$((m * k)) -v im="$impl" \
    'BEGIN { c = (b - a) / d; printf "%s\t%.0f\t%d\t%.3f\t%.4f\n", im, c, by, c / by, c / w }'
done
