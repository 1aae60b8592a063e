#!/usr/bin/env bash
# tests/slurm/check-slurm.sh - what `make check-slurm` runs: a fleet sweep on a real one-node
# Slurm cluster (tests/slurm/cluster.sh: munged, slurmctld, slurmd on localhost, 2 CPUs, two
# partitions standing for two node types), submitted the way a user does
# (scripts/slurm/submit.sh), with faults:
#   task 0 (typea, tiny plan): its sweep is SIGKILLed after its first row, mid-way through the
#          next (tests/slurm/flaky-bitbench.sh) - the task requeues itself and resumes;
#   task 1 (typea, bad options): fails at once, is not retried, and must be listed as never
#          finished;
#   task 2 (typeb, tiny plan): killed mid-row from outside with scancel --signal=KILL: it stays
#          cancelled (a cancel is the user's word) and is listed as unfinished until
#          `scontrol requeue` brings it back, resuming;
#   task 3 (typeb, bad options): like task 1.
# Then it waits for the report job and checks the merged report: every planned row of the good
# tasks there exactly once (nothing lost, nothing measured twice), two attempts each, the bad
# tasks listed as never finished.  The daemons are always stopped (trap), whatever happens.
#
#   tests/slurm/check-slurm.sh [BITBENCH]    (default build/bitbench; run as root)
#   BITBENCH_SLURM_KEEP=1 keeps the temporary folder (logs, rows, report) after a pass too.
# Bounded: every wait has a limit; the make target adds an overall timeout.  Exit 0 pass, 1 a
# check failed, 2 the environment (not root, Slurm or munge missing, the cluster did not start).
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=$(cd "$(dirname "${1:-$root/build/bitbench}")" && pwd)/$(basename "${1:-build/bitbench}")
[ -x "$bin" ] || { echo "check-slurm: $bin not found: run make first" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || { echo "check-slurm: must run as root (it starts slurmctld, slurmd and munged)" >&2; exit 2; }
for exe in munged slurmctld slurmd sbatch squeue scancel scontrol jq; do
    command -v "$exe" >/dev/null ||
        { echo "check-slurm: $exe not found: run scripts/install-deps.sh (slurm-wlm, munge, jq)" >&2; exit 2; }
done

start=$SECONDS
tmp=$(mktemp -d /tmp/bitbench-slurm.XXXXXX)
failed=0
cleanup() {
    "$root/tests/slurm/cluster.sh" stop "$tmp" || echo "check-slurm: stopping the cluster under $tmp failed" >&2
    if [ $failed = 0 ] && [ -z "${BITBENCH_SLURM_KEEP:-}" ]; then
        rm -rf "$tmp"
    else
        echo "check-slurm: logs kept in $tmp (slurmctld.log, slurmd.log, fleet/logs, fleet/tasks)" >&2
    fi
}
trap cleanup EXIT
trap 'echo "check-slurm: interrupted (timeout?)" >&2; failed=1; exit 1' INT TERM

fail() { echo "check-slurm: FAIL: $*" >&2; failed=1; }
die() { fail "$*"; exit 1; }
elapsed() { echo "$((SECONDS - start)) s"; }

echo "check-slurm: starting a one-node cluster under $tmp" >&2
SLURM_CONF=$("$root/tests/slurm/cluster.sh" start "$tmp") || { failed=1; exit 2; }
export SLURM_CONF
# The tasks run scripts/run.sh, which would tune the ternary formats first on a machine without
# a tuning record (minutes of timing): this test checks the fleet's bookkeeping, not speed.
export TUNE=0

fleet=$tmp/fleet
good="--model-shape tinyci:256:512:2:4:4:1000 --formats tern2 --no-methods --batch 1,2,4 --min-time 1 --min-reps 3"
BITBENCH_BIN=$root/tests/slurm/flaky-bitbench.sh BITBENCH_REAL_BIN=$bin BITBENCH_TEST_FAIL_TASK=0 \
    "$root/scripts/slurm/submit.sh" --out "$fleet" --attempts 3 \
    --node-type partition=typea --node-type partition=typeb,constraint=typeb \
    --shard "$good" --shard "--formats bogus" -- --time=5 >/dev/null || die "submit.sh failed"
jid=$(cat "$fleet/array_job_id")
rid=$(cat "$fleet/report_job_id")
echo "check-slurm: array $jid (4 tasks) and report job $rid submitted ($(elapsed))" >&2

# Task 2: scancel --signal=KILL once its first row is written, while the next is measured.
# A cancel is the user's word: the task must not come back by itself; the report would list
# it as unfinished; `scontrol requeue` brings it back and it resumes.  The report job is held
# meanwhile, so that it cannot start in the moment when no task is pending.
scontrol hold "$rid" || die "scontrol hold $rid (the report job) failed"
killed=0
for _ in $(seq 1 600); do
    f=$(ls "$fleet/rows/${jid}_2"-*/sweep.jsonl 2>/dev/null | head -n 1)
    if [ -n "$f" ] && [ "$(grep -c . "$f")" -ge 1 ]; then
        sleep 0.3
        rows_at_kill=$(grep -c . "$f")
        scancel --signal=KILL "${jid}_2" && killed=1
        echo "check-slurm: scancel --signal=KILL ${jid}_2 with $rows_at_kill of 3 rows written ($(elapsed))" >&2
        [ "$rows_at_kill" -lt 3 ] || fail "task 2 had written all its rows before the kill: not mid-sweep"
        break
    fi
    sleep 0.2
done
[ $killed = 1 ] || die "task 2 never wrote a row to kill it after (120 s); see $fleet/logs/${jid}_2.out"
for _ in $(seq 1 120); do
    [ "$(squeue -h -t all -j "${jid}_2" -o %T 2>/dev/null)" = CANCELLED ] && break
    sleep 0.5
done
[ "$(squeue -h -t all -j "${jid}_2" -o %T 2>/dev/null)" = CANCELLED ] ||
    die "task 2 is $(squeue -h -t all -j "${jid}_2" -o %T 2>&1) 60 s after scancel, want CANCELLED (not requeued by itself)"
grep -q "ended by Slurm" "$fleet/tasks/${jid}_2.log" || fail "task 2's log does not say Slurm ended it"
"$root/scripts/slurm/tasks.sh" "$fleet" >"$tmp/tasks-after-cancel.md" || fail "tasks.sh failed"
grep -q -- "- ${jid}_2 (.*): $rows_at_kill of 3 planned rows written" "$tmp/tasks-after-cancel.md" ||
    fail "tasks.sh does not list the cancelled task 2 as unfinished: $(grep -- "- ${jid}_2" "$tmp/tasks-after-cancel.md")"
scontrol requeue "${jid}_2" || die "scontrol requeue ${jid}_2 failed"
scontrol release "$rid" || die "scontrol release $rid failed"
echo "check-slurm: task 2 cancelled, not back by itself, listed as unfinished; requeued by hand ($(elapsed))" >&2

# The report job: it starts only after every task has ended (afterany), requeues included.
for _ in $(seq 1 480); do
    state=$(squeue -h -j "$rid" -o %T 2>/dev/null)
    [ -z "$state" ] && [ -s "$fleet/report/REPORT.md" ] && break
    sleep 0.5
done
[ -s "$fleet/report/REPORT.md" ] || die "no report after 240 s; squeue: $(squeue -h 2>&1 | tr '\n' ';')"
echo "check-slurm: report job done ($(elapsed))" >&2

# ---------------------------------------------------------------- checks
md=$fleet/report/REPORT.md
tsv=$fleet/report/tasks.tsv
field() { awk -F'\t' -v t="$1" -v c="$2" 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next } $1 == t { print $col[c] }' "$tsv"; }
for t in 0 2; do
    name=${jid}_$t
    [ "$(field "$name" state)" = finished ] || fail "$name: state '$(field "$name" state)', want finished"
    [ "$(field "$name" planned)" = 3 ] || fail "$name: $(field "$name" planned) rows planned, want 3"
    [ "$(field "$name" written)" = 3 ] || fail "$name: $(field "$name" written) rows written, want 3"
    [ "$(field "$name" measured)" = 3 ] || fail "$name: $(field "$name" measured) rows measured, want 3"
    [ "$(field "$name" duplicates)" = 0 ] || fail "$name: $(field "$name" duplicates) rows written twice"
    [ "$(field "$name" attempts)" = 2 ] || fail "$name: $(field "$name" attempts) attempts, want 2 (one killed, one resumed)"
    # Nothing measured twice: the lines of all its files are its three distinct rows.
    lines=$(cat "$fleet/rows/$name"-*/sweep.jsonl | grep -c .)
    [ "$lines" = 3 ] || fail "$name: $lines lines in its row files, want 3 (a row measured twice, or a cut line)"
    grep -q "resume from" "$fleet/tasks/$name.log" || fail "$name: its second attempt did not resume"
done
grep -q "requeued (attempt 2 of 3" "$fleet/tasks/${jid}_0.log" || fail "task 0 did not requeue itself after the SIGKILL"
grep -q "killed the sweep (SIGKILL)" "$fleet/logs/${jid}_0.out" || fail "task 0 was not SIGKILLed by the flaky bitbench"
for t in 1 3; do
    name=${jid}_$t
    [ "$(field "$name" state)" = "never finished" ] || fail "$name: state '$(field "$name" state)', want never finished"
    [ "$(field "$name" attempts)" = 1 ] || fail "$name: $(field "$name" attempts) attempts: bad options must not be retried"
    grep -q -- "- $name (.*--formats bogus.*the plan failed" "$md" || fail "REPORT.md does not list $name as never finished"
done
grep -q "^## Slurm tasks" "$md" || fail "REPORT.md has no Slurm tasks section"
grep -q "4 tasks (node type x plan shard), 2 finished, 2 never finished" "$md" || fail "REPORT.md miscounts the tasks"
grep -q "^Sweep results:.*${jid}_0-.*${jid}_2-" "$md" || fail "REPORT.md does not read the rows of tasks 0 and 2"
grep -q "^## m1\|^## .* on " "$md" || fail "REPORT.md has no machine section"
grep -q "tinyci" "$md" || fail "REPORT.md does not show the tiny model"
# Two node types from one array: task 2 ran in partition typeb (jobcomp: a line per job end).
t2=$(grep "ArrayJobId=$jid ArrayTaskId=2 " "$tmp/jobcomp.txt" 2>/dev/null)
[ -n "$t2" ] || fail "jobcomp.txt has no end of task 2"
! grep -qv "Partition=typeb" <<<"$t2" || fail "task 2 ran outside partition typeb: $t2"

if [ $failed = 0 ]; then
    echo "check-slurm: passed in $(elapsed): 4 tasks on 2 node types, 2 requeued after a kill mid-row (SIGKILL: by itself; scancel: by scontrol requeue) and resumed with no row lost or measured twice, 2 listed as never finished" >&2
    exit 0
fi
echo "check-slurm: FAILED ($(elapsed)); REPORT.md tasks section:" >&2
sed -n '/^## Slurm tasks/,$p' "$md" >&2
exit 1
