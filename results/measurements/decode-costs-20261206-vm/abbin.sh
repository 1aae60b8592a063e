#!/bin/bash
# alternate two builds' processes: BASE (default build/bitbench) and VARIANT (another build's
# bitbench); one jsonl per (shape, build, round), summarized by absum.py
OUT=${OUT:?}; VARIANT=${VARIANT:?the other build, e.g. /tmp/rows2/build/bitbench}; mkdir -p $OUT
export BITBENCH_AUTOTUNE=0
for r in $(seq 1 ${ROUNDS:-5}); do
 for shape in ${SHAPES:-4096x4096}; do
  IFS=x read M K <<< $shape
  for v in base:${BASE:-build/bitbench} rows2:$VARIANT; do
   name=${v%%:*}; bin=${v#*:}
   $bin gemm --impl ${IMPLS:-tern2-avx512-madd,tern2-avx2-madd} --m $M --k $K --threads ${T:-2} --min-time ${MT:-0.3} --no-probe --json > $OUT/${shape}_${name}_r$r.jsonl 2>/dev/null
  done
 done
 echo "round $r $(date +%T)" >&2
done
