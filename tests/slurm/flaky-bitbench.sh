#!/usr/bin/env bash
# tests/slurm/flaky-bitbench.sh - bitbench for `make check-slurm` that fails once: in the first
# attempt of array task $BITBENCH_TEST_FAIL_TASK, `sweep` is killed (SIGKILL) as soon as its
# first row is written, while the next row is being measured - a node lost mid-row.  Every
# other call is the real binary ($BITBENCH_REAL_BIN) unchanged.
set -uo pipefail
real=${BITBENCH_REAL_BIN:?BITBENCH_REAL_BIN: the real bitbench}
fail_task=${BITBENCH_TEST_FAIL_TASK:-}
if [ "${1:-}" != sweep ] || [ -z "$fail_task" ] || [ "${SLURM_ARRAY_TASK_ID:-}" != "$fail_task" ] ||
    [ "${SLURM_RESTART_COUNT:-0}" != 0 ] || printf '%s\n' "$@" | grep -qx -- --plan; then
    exec "$real" "$@"
fi
out=""
prev=""
for a in "$@"; do
    [ "$prev" = --out ] && out=$a
    prev=$a
done
[ -n "$out" ] || { echo "flaky-bitbench.sh: no --out in: $*" >&2; exit 2; }
"$real" "$@" &
pid=$!
for _ in $(seq 1 600); do
    if [ -s "$out" ] && [ "$(grep -c . "$out")" -ge 1 ]; then
        kill -9 "$pid"
        wait "$pid"
        echo "flaky-bitbench.sh: killed the sweep (SIGKILL) after its first row, mid-way through the next" >&2
        exit 137
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
done
wait "$pid"
echo "flaky-bitbench.sh: the sweep ended before it could be killed (the test wanted rows that take longer)" >&2
exit 3
