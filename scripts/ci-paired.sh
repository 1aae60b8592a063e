# scripts/ci-paired.sh - the paired A/B mode of scripts/ci-bench.sh (--against REF), sourced
# by it after its options are read: here, bin, against, seconds, threshold, alpha, threads,
# shapes, impls, mode, out, confirm are set there.  Not a command of its own.

# REF's kernel module, built once per commit in a throw-away git worktree.
ref_module() {
  local sha=$1 dir=$here/build/ab/$1 wt
  if [ ! -f "$dir/bitbench-kernels.so" ]; then
    mkdir -p "$dir"
    wt=$dir/src
    rm -rf "$wt"
    git -C "$here" worktree prune
    git -C "$here" worktree add --detach --quiet "$wt" "$sha" >&2 \
      || die "cannot check out $against ($sha) in a worktree at $wt"
    echo "ci-bench: building the kernel module of $against (${sha:0:12}) in $wt" >&2
    if ! make -C "$wt" -j2 -s build/module/bitbench-kernels.so > "$dir/build.log" 2>&1; then
      git -C "$here" worktree remove --force "$wt"
      die "cannot build the kernel module of $against (${sha:0:12}): it predates kernel modules, or its build failed (see $dir/build.log)"
    fi
    cp "$wt/build/module/bitbench-kernels.so" "$dir/bitbench-kernels.so"
    git -C "$here" worktree remove --force "$wt"
  fi
  echo "$dir/bitbench-kernels.so"
}

sha=$(git -C "$here" rev-parse --verify --quiet "$against^{commit}") \
  || die "--against '$against': not a commit of this repository (a commit, branch or tag)"
old_so=$(ref_module "$sha")
new_so=${BITBENCH_MODULE:-}
if [ -z "$new_so" ]; then
  make -C "$here" -s build/module/bitbench-kernels.so >&2 || die "cannot build this tree's kernel module"
  new_so=$here/build/module/bitbench-kernels.so
fi
[ -f "$new_so" ] || die "BITBENCH_MODULE '$new_so': no such file"
plugins=(--plugin "old=$old_so" --plugin "new=$new_so")

# The plan's kernels that both revisions have (a kernel new in this tree has nothing to
# be compared with; one gone from it is reported too).
both=$("$bin" list "${plugins[@]}" | awk '{ n = ($1 == "*") ? $2 : $1 } n ~ /^(old|new)\// { print n }' | sort)
plan=() skipped=()
for impl in $impls; do
  if grep -qx "old/$impl" <<< "$both" && grep -qx "new/$impl" <<< "$both"; then plan+=("$impl")
  else skipped+=("$impl"); fi
done
[ "${#skipped[@]}" = 0 ] || echo "ci-bench: not in both revisions, not compared: ${skipped[*]}" >&2
[ "${#plan[@]}" -gt 0 ] || die "no kernel of the plan is in both $against and this tree"

# Injection names the new side's kernel (BITBENCH_INJECT_SLOWDOWN=tern2-avx512-madd:1.05).
inject=${BITBENCH_INJECT_SLOWDOWN:-}
[ -z "$inject" ] || [[ $inject == */* ]] || inject=new/$inject

nshapes=$(echo "${shapes//,/ }" | wc -w)

# paired_run DEST "IMPL@MxK ..." : one gemm process per shape, pairs in plan order.
paired_run() {
  local dest=$1 items=$2 s impl list n min_time max_time
  : > "$dest"
  for s in ${shapes//,/ }; do
    list="" n=0
    for impl in $items; do
      [ "${impl#*@}" = "$s" ] || continue
      list+=${list:+,}old/${impl%@*},new/${impl%@*}
      n=$((n + 2))
    done
    [ "$n" -gt 0 ] || continue
    # --min-time is per kernel (the slowest sets the rounds): the shape's share of the
    # budget over the whole plan's kernels, so that a confirmation of a few kernels gets as
    # many rounds as the first run, in a part of its time; --max-time caps a loaded machine.
    min_time=$(awk -v t="$seconds" -v s="$nshapes" -v n="$((2 * ${#plan[@]}))" 'BEGIN { printf "%.3f", t / s / n }')
    max_time=$(awk -v t="$seconds" -v s="$nshapes" -v n="$n" -v p="$((2 * ${#plan[@]}))" \
                 'BEGIN { printf "%.3f", t / s * n / p }')
    BITBENCH_INJECT_SLOWDOWN=$inject "$bin" gemm "${plugins[@]}" --impl "$list" --paired --m "${s%x*}" \
      --k "${s#*x}" --threads "$threads" --min-time "$min_time" --max-time "$max_time" --no-ceiling --no-probe --json $mode \
      >> "$dest" 2>> "$out/gemm.log" \
      || { local rc=$?; tail -3 "$out/gemm.log" >&2
           [ "$rc" = 1 ] || die "bitbench gemm failed at $s: see $out/gemm.log"; }
  done
}

items=""
for s in ${shapes//,/ }; do for impl in "${plan[@]}"; do items+=" $impl@$s"; done; done
echo "ci-bench: paired A/B of ${#plan[@]} kernel(s) x shapes $shapes, $against (${sha:0:12}) as old/ vs this tree" \
     "as new/, ${seconds} s of timing, ${mode:---cold}, $threads thread(s)" >&2
start=$(date +%s)
paired_run "$out/run.jsonl" "$items"
judge=(--threshold "$threshold" --alpha "$alpha")
rc=0
# the verdicts as JSON; the table (on stderr with --json) is what gate-power.sh reads
"$bin" paired "$out/run.jsonl" "${judge[@]}" --json --out "$out/paired.json" 2> "$out/paired.txt" || rc=$?
if [ "$rc" = 1 ] && [ "$confirm" = 1 ]; then
  flagged=$(awk '$NF == "regression" { split($2, d, "x"); print $1 "@" d[1] "x" d[2] }' "$out/paired.txt" | tr '\n' ' ')
  if [ -n "$flagged" ]; then
    echo "ci-bench: suspected regression of $flagged; timing those once more, in a new process" >&2
    paired_run "$out/confirm.jsonl" "$flagged"
    judge+=(--confirm "$out/confirm.jsonl")
    rc=0
    "$bin" paired "$out/run.jsonl" "${judge[@]}" --json --out "$out/paired.json" 2> "$out/paired.txt" || rc=$?
  fi
fi
[ "$rc" -le 1 ] || { cat "$out/paired.txt" >&2; die "bitbench paired failed (exit $rc)"; }
cat "$out/paired.txt"
[ -z "${GITHUB_STEP_SUMMARY:-}" ] || { echo '```'; cat "$out/paired.txt"; echo '```'; } >> "$GITHUB_STEP_SUMMARY"
echo "ci-bench: exit $rc (0 no regression, 1 regression, 2 bad input); $(( $(date +%s) - start )) s; files in $out" >&2
exit "$rc"
