#!/bin/bash
OUT=${OUT:-pfn}; mkdir -p $OUT
export BITBENCH_AUTOTUNE=0
for r in 1 2 3 4 5; do
 for v in 1 0; do
  BITBENCH_PREFETCH_NEXT=$v ${BB:-build/bitbench} sweep --models ${MODEL:-7B} --impl fp16-avx512-packed,tern2-avx512-addonly,tern2-avx512-madd,tern1.6-avx512-madd --batch 1 --threads 2 --no-tune --placements 1 --min-time 1 --out $OUT/v${v}_r$r.jsonl > /dev/null 2>&1
 done
 echo "round $r $(date +%T)"
done
