#!/usr/bin/env bash
# scripts/slurm/submit.sh - a fleet sweep on a Slurm cluster: one job array (a task per node
# type and plan shard, scripts/slurm/sweep.sbatch) and a report job that runs when every task
# has ended (--dependency=afterany, scripts/slurm/report.sbatch).  Run it from the source tree,
# built, on a filesystem every node sees.
#
#   scripts/slurm/submit.sh [options] [-- sbatch options for every job, e.g. --account=X --time=2:00:00]
#     --node-type SPEC   a node type: partition=P, constraint=FEATURE, or both joined by a comma
#                        (partition=P,constraint=F); repeat for each type (default: one type, the
#                        cluster's default partition)
#     --shard OPTIONS    bitbench sweep options of one plan shard, e.g. "--models 700M,1.3B" (repeat
#                        for each; default: one shard, the plan of `make run`); every shard runs on
#                        every node type
#     --out DIR          the fleet's results folder (default results/fleet-<UTC date-time>)
#     --attempts N       attempts per task before it is given up (default 3)
#     --dry-run          write tasks.tsv and print the commands, submit nothing
#
# Every node type gets the same plan (scripts/run.sh: `make run`'s options) unless a shard
# overrides it.  The array is submitted held; tasks of each node type get their partition and
# features with `scontrol update`, then the array is released (one array, several node types).
# Results: DIR/rows/<job>_<task>-<host>/sweep.jsonl per task, DIR/report/REPORT.md at the end
# (one section per machine, the cross-machine table and figure, and the tasks that never
# finished).  Exit 0 submitted, 2 bad options or sbatch refused.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)

die() { echo "submit.sh: $*" >&2; exit 2; }

types=()
shards=()
out=""
attempts=3
dry=0
extra=()
while [ $# -gt 0 ]; do
    case $1 in
    --node-type) [ $# -ge 2 ] || die "--node-type needs a value (partition=P, constraint=F or both)"; types+=("$2"); shift 2 ;;
    --node-type=*) types+=("${1#*=}"); shift ;;
    --shard) [ $# -ge 2 ] || die "--shard needs bitbench sweep options, e.g. --shard '--models 700M'"; shards+=("$2"); shift 2 ;;
    --shard=*) shards+=("${1#*=}"); shift ;;
    --out) [ $# -ge 2 ] || die "--out needs a folder"; out=$2; shift 2 ;;
    --out=*) out=${1#*=}; shift ;;
    --attempts) [ $# -ge 2 ] || die "--attempts needs a number"; attempts=$2; shift 2 ;;
    --attempts=*) attempts=${1#*=}; shift ;;
    --dry-run) dry=1; shift ;;
    --help | -h) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
    --) shift; extra=("$@"); break ;;
    *) die "unknown option '$1' (scripts/slurm/submit.sh --help lists them; sbatch options go after --)" ;;
    esac
done
[[ $attempts =~ ^[1-9][0-9]?$ ]] || die "--attempts '$attempts': expected a whole number from 1 to 99"
[ ${#types[@]} -gt 0 ] || types=("default")
[ ${#shards[@]} -gt 0 ] || shards=("")
[ -x "$root/build/bitbench" ] || [ -n "${BITBENCH_BIN:-}" ] || die "$root/build/bitbench not found: run make first"
command -v sbatch >/dev/null || [ $dry = 1 ] || die "sbatch not found: not on a Slurm login node?"

# A node type's sbatch selector and its label ("zen4", "spr", "default").
partition_of() { local s=$1; [[ ,$s, =~ ,partition=([^,]+), ]] && echo "${BASH_REMATCH[1]}" || true; }
constraint_of() { local s=$1; [[ ,$s, =~ ,constraint=([^,]+), ]] && echo "${BASH_REMATCH[1]}" || true; }
for t in "${types[@]}"; do
    [ "$t" = default ] && continue
    rest=$(sed -E 's/(^|,)(partition|constraint)=[^,]+//g' <<<"$t")
    [ -z "$rest" ] || die "--node-type '$t': expected partition=P, constraint=F or partition=P,constraint=F"
done
label_of() {
    local p c
    p=$(partition_of "$1")
    c=$(constraint_of "$1")
    if [ -n "$p" ] && [ -n "$c" ]; then echo "$p/$c"; elif [ -n "$p$c" ]; then echo "$p$c"; else echo default; fi
}
for s in "${shards[@]}"; do
    case $s in *$'\t'* | *$'\n'*) die "--shard '$s': no tabs or newlines" ;; esac
done

stamp=$(date -u +%Y%m%d-%H%M%S)
out=${out:-$root/results/fleet-$stamp}
mkdir -p "$out"/{rows,tasks,logs,report}
out=$(cd "$out" && pwd)
[ ! -e "$out/array_job_id" ] || die "--out $out already holds a submitted fleet (array_job_id): choose a new folder"

# tasks.tsv: task id, node type label, its selector, the shard's sweep options.
{
    printf '#task\tnode_type\tselector\tsweep_options\n'
    i=0
    for t in "${types[@]}"; do
        for s in "${shards[@]}"; do
            printf '%d\t%s\t%s\t%s\n' "$i" "$(label_of "$t")" "$t" "$s"
            i=$((i + 1))
        done
    done
} >"$out/tasks.tsv"
n=$(($(wc -l <"$out/tasks.tsv") - 1))

# The jobs find the tree and the attempt limit in their environment (sbatch passes it on).
export BITBENCH_ROOT=$root BITBENCH_SLURM_ATTEMPTS=$attempts
common=(--export=ALL "${extra[@]}")
sel=()
if [ ${#types[@]} -eq 1 ]; then # one node type: its selector on the array itself
    p=$(partition_of "${types[0]}")
    c=$(constraint_of "${types[0]}")
    [ -z "$p" ] || sel+=(--partition="$p")
    [ -z "$c" ] || sel+=(--constraint="$c")
fi
array_cmd=(sbatch --parsable --hold --array="0-$((n - 1))" --output="$out/logs/%A_%a.out" "${sel[@]}" "${common[@]}"
           "$root/scripts/slurm/sweep.sbatch" "$out")
if [ $dry = 1 ]; then
    printf '%q ' "${array_cmd[@]}"
    echo
    [ ${#types[@]} -eq 1 ] || echo "# then per task: scontrol update JobId=<array>_<task> Partition=... Features=... (tasks.tsv)"
    echo "scontrol release <array>"
    printf '%q ' sbatch --parsable --dependency="afterany:<array>" --kill-on-invalid-dep=no \
        --output="$out/logs/report-%j.out" "${common[@]}" "$root/scripts/slurm/report.sbatch" "$out"
    echo
    exit 0
fi
jid=$("${array_cmd[@]}") || die "sbatch refused the array (see above)"
jid=${jid%%;*}
echo "$jid" >"$out/array_job_id"

# Several node types: each task gets its own partition / features while the array is held.
if [ ${#types[@]} -gt 1 ]; then
    while IFS=$'\t' read -r task _ selector _; do
        case $task in '#'*) continue ;; esac
        upd=()
        p=$(partition_of "$selector")
        c=$(constraint_of "$selector")
        [ -z "$p" ] || upd+=(Partition="$p")
        [ -z "$c" ] || upd+=(Features="$c")
        [ ${#upd[@]} -gt 0 ] || continue
        if ! scontrol update JobId="${jid}_$task" "${upd[@]}"; then
            scancel "$jid" || true
            die "scontrol update JobId=${jid}_$task ${upd[*]} failed: the array $jid is cancelled"
        fi
    done <"$out/tasks.tsv"
fi
scontrol release "$jid" || die "scontrol release $jid failed: the array is still held (scontrol release $jid)"

rid=$(sbatch --parsable --dependency="afterany:$jid" --kill-on-invalid-dep=no --output="$out/logs/report-%j.out" \
    "${common[@]}" "$root/scripts/slurm/report.sbatch" "$out") || die "sbatch refused the report job; the array $jid runs: submit it by hand: sbatch --dependency=afterany:$jid scripts/slurm/report.sbatch $out"
rid=${rid%%;*}
echo "$rid" >"$out/report_job_id"
echo "submit.sh: array $jid ($n task$([ "$n" = 1 ] || echo s): ${#types[@]} node type$([ ${#types[@]} = 1 ] || echo s) x ${#shards[@]} shard$([ ${#shards[@]} = 1 ] || echo s)), report job $rid" >&2
echo "submit.sh: rows in $out/rows, report in $out/report/REPORT.md when job $rid ends (squeue -j $jid,$rid)" >&2
echo "$out"
