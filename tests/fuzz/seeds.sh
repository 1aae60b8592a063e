#!/usr/bin/env bash
# tests/fuzz/seeds.sh OUT - the seed corpora of the fuzz targets, from real files: every
# row of the report fixtures and of the committed measurements (one row per seed, plus a
# few whole files), the model catalogue (whole and line by line), and tests/fuzz/seeds/
# <corpus>-*: hand-written argument lists, and every input a fuzzer once failed on - the
# regression tests: each run replays its seeds first.  Writes OUT/<corpus>/; idempotent.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=$1
mkdir -p "$out/rows" "$out/catalogue" "$out/model_shape" "$out/cli_sweep" "$out/cli_gemm"
i=0
for f in tests/fixtures/report/*.jsonl results/measurements/*/*.jsonl; do
  [ -f "$f" ] || continue
  while IFS= read -r line || [ -n "$line" ]; do
    printf '%s\n' "$line" >"$out/rows/line-$i"; i=$((i + 1))
  done <"$f"
done
cp tests/fixtures/report/bad.jsonl "$out/rows/whole-bad"
cp tests/fixtures/report/metal.jsonl "$out/rows/whole-metal"
cp results/models.csv "$out/catalogue/models.csv"
i=0
while IFS= read -r line; do
  printf 'name,hidden,ffn,layers,heads,kv_heads,vocab,source\n%s\n' "$line" >"$out/catalogue/line-$i"
  i=$((i + 1))
  case $line in \#*|name,*|'') ;; *)
    IFS=, read -r n h f l he kv v _ <<<"$line"
    printf '%s:%s:%s:%s:%s:%s:%s' "$n" "$h" "$f" "$l" "$he" "$kv" "$v" >"$out/model_shape/$n" ;;
  esac
done <results/models.csv
for kind in rows catalogue model_shape cli_sweep cli_gemm; do
  for s in tests/fuzz/seeds/"$kind"-*; do
    [ -f "$s" ] && cp "$s" "$out/$kind/"
  done
done
exit 0
