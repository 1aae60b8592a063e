#!/usr/bin/env bash
# scripts/slurm/tasks.sh - the state of every task of a fleet sweep, from what the tasks left on
# the shared filesystem (no Slurm accounting needed): its plan (tasks/<job>_<task>.plan, the
# keys `bitbench sweep --plan` gave on its node), its rows (rows/<job>_<task>-<host>/sweep.jsonl,
# every attempt and host) and its log (tasks/<job>_<task>.log).
#
#   scripts/slurm/tasks.sh FLEET_DIR     markdown on stdout; FLEET_DIR/report/tasks.tsv beside it
#
# A task is finished when every planned row is written; otherwise it never finished, and the
# list says how far it got and why it stopped.  Duplicates (a key written twice: a row measured
# twice) are counted; a correct resume has none.  Needs jq.
set -euo pipefail

fleet=${1:-}
if [ -z "$fleet" ] || [ ! -f "$fleet/tasks.tsv" ]; then
    echo "tasks.sh: usage: scripts/slurm/tasks.sh FLEET_DIR (with tasks.tsv); got '$fleet'" >&2
    exit 2
fi
command -v jq >/dev/null || { echo "tasks.sh: jq not found: run scripts/install-deps.sh" >&2; exit 2; }
job=$(cat "$fleet/array_job_id" 2>/dev/null || true)
[ -n "$job" ] || { echo "tasks.sh: $fleet/array_job_id is missing: was the array submitted?" >&2; exit 2; }
mkdir -p "$fleet/report"
tsv=$fleet/report/tasks.tsv
work=$(mktemp -d "${TMPDIR:-/tmp}/bitbench-tasks.XXXXXX")
trap 'rm -rf "$work"' EXIT

printf 'task\tnode_type\tshard\tattempts\thosts\tstate\tplanned\twritten\tmeasured\tduplicates\tlast_event\n' >"$tsv"
rows_md=()
unfinished_md=()
n_tasks=0
n_done=0
while IFS=$'\t' read -r task node_type _ shard; do
    case $task in '#'* | '') continue ;; esac
    n_tasks=$((n_tasks + 1))
    name=${job}_$task
    log=$fleet/tasks/$name.log
    plan=$fleet/tasks/$name.plan
    attempts=0
    hosts="-"
    last="never started (no attempt logged)"
    if [ -s "$log" ]; then
        attempts=$(awk -F'\t' '$4 ~ /^start/' "$log" | wc -l)
        hosts=$(awk -F'\t' '{print $3}' "$log" | sort -u | paste -sd, -)
        last=$(tail -n 1 "$log" | cut -f4)
    fi
    # Keys written (every attempt, every host): one line per row; readable lines only.
    : >"$work/keys"
    : >"$work/ok"
    for f in "$fleet/rows/$name"-*/sweep.jsonl; do
        [ -s "$f" ] || continue
        jq -R -r 'fromjson? | select(type == "object" and .kind == "sweep") | .key // empty' "$f" >>"$work/keys"
        jq -R -r 'fromjson? | select(type == "object" and .kind == "sweep" and .status == "ok") | .key // empty' "$f" >>"$work/ok"
    done
    written=$(sort -u "$work/keys" | grep -c . || true)
    measured=$(sort -u "$work/ok" | grep -c . || true)
    dups=$(sort "$work/keys" | uniq -d | grep -c . || true)
    if [ -s "$plan" ]; then
        # `sweep --plan` prints one key per line (and nothing else on stdout).
        awk '{print $1}' "$plan" | sort -u >"$work/plan"
        planned=$(grep -c . "$work/plan" || true)
        sort -u "$work/keys" >"$work/have"
        missing=$(comm -23 "$work/plan" "$work/have" | grep -c . || true)
    else
        planned="?"
        missing="?"
    fi
    if [ "$planned" != "?" ] && [ "$missing" = 0 ] && [ "$planned" -gt 0 ]; then
        state=finished
        n_done=$((n_done + 1))
    else
        state="never finished"
    fi
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$node_type" "${shard:-}" "$attempts" "$hosts" \
        "$state" "$planned" "$written" "$measured" "$dups" "$last" >>"$tsv"
    rows_md+=("| $name | $node_type | \`${shard:-(make run plan)}\` | $attempts | $hosts | $planned | $written | $measured | $dups | $state |")
    if [ "$state" != finished ]; then
        if [ "$planned" = "?" ]; then
            how="no plan recorded (the task never ran its sweep)"
        else
            how="$((planned - missing)) of $planned planned rows written"
        fi
        item="- $name ($node_type, \`${shard:-(make run plan)}\`): $how; last event: $last; log \`tasks/$name.log\`, output \`logs/${job}_$task.out\`"
        if [ "$planned" != "?" ] && [ "$missing" != 0 ]; then
            item+=$'\n'"  - missing: $(comm -23 "$work/plan" "$work/have" | head -n 8 | sed 's/.*/`&`/' | paste -sd, - | sed 's/,/, /g')"
            [ "$missing" -le 8 ] || item+=" and $((missing - 8)) more"
        fi
        unfinished_md+=("$item")
    fi
done <"$fleet/tasks.tsv"

echo "## Slurm tasks"
echo
echo "Array job $job: $n_tasks task$([ "$n_tasks" = 1 ] || echo s) (node type x plan shard), $n_done finished, $((n_tasks - n_done)) never finished. Planned: the rows \`bitbench sweep --plan\` lists on the task's node; written: distinct rows in its files (every attempt); measured: of those, status ok; duplicates: rows written more than once (a resume that measured a row again)."
echo
echo "| task | node type | sweep options | attempts | hosts | rows planned | written | measured | duplicates | state |"
echo "|---|---|---|---|---|---|---|---|---|---|"
printf '%s\n' "${rows_md[@]}"
echo
if [ ${#unfinished_md[@]} -eq 0 ]; then
    echo "Every task finished."
else
    echo "Tasks that never finished:"
    echo
    printf '%s\n' "${unfinished_md[@]}"
fi
