#!/bin/bash
# alternate processes over variants (env assignments); one jsonl per (shape, variant, round)
BB=${BB:-build/bitbench}  # run from the repository root
OUT=${OUT:?}; mkdir -p $OUT
ROUNDS=${ROUNDS:-6}
IMPLS=${IMPLS:-fp16-avx512-packed,int8-avx512-vnni,tern2-avx512-madd,tern2-avx512-addonly,tern1.6-avx512-madd}
export BITBENCH_AUTOTUNE=0
for r in $(seq 1 $ROUNDS); do
 for shape in ${SHAPES:-4096x4096}; do
  IFS=x read M K <<< $shape
  for v in $VARIANTS; do   # e.g. "base chunk64=BITBENCH_DECODE_CHUNK=64"
   name=${v%%=*}; envs=${v#*=}; [ "$name" = "$v" ] && envs=""
   env $envs $BB gemm --impl $IMPLS --m $M --k $K --threads ${T:-2} --min-time ${MT:-0.3} --no-probe --json > $OUT/${shape}_${name}_r$r.jsonl 2>/dev/null
  done
 done
 echo "round $r done $(date +%T)" >&2
done
