#!/usr/bin/env bash
# tests/slurm/cluster.sh - a one-node Slurm cluster on localhost for `make check-slurm`:
# munged, slurmctld and slurmd started as root with every key, state, spool, pid and log file
# under one temporary folder, and stopped again (only the processes this script started).
#
#   tests/slurm/cluster.sh start DIR   start the daemons under DIR (made if missing); prints
#                                      the SLURM_CONF to export once the node is idle
#   tests/slurm/cluster.sh stop DIR    cancel every job, stop the daemons started under DIR
#
# Ports: $BITBENCH_SLURM_PORT (slurmctld) and the next one (slurmd); by default the first free
# pair from 16817 up, so that the test never talks to a real cluster's daemons (6817/6818) or
# to another test cluster on this machine.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

die() { echo "cluster.sh: $*" >&2; exit 2; }

wait_for() { # seconds, description (for the reader), command...
    local limit=$1
    shift 2
    local end=$((SECONDS + limit))
    until "$@" >/dev/null 2>&1; do
        [ $SECONDS -lt $end ] || return 1
        sleep 0.5
    done
}

# True when something accepts TCP connections on localhost:port.
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

node_idle() { sinfo -h -N -o '%T' | grep -qx idle; }

start() {
    local dir=$1
    [ "$(id -u)" -eq 0 ] || die "must run as root (slurmd starts jobs as their users)"
    for exe in munged slurmctld slurmd sbatch scontrol sinfo; do
        command -v "$exe" >/dev/null || die "$exe not found: run scripts/install-deps.sh (slurm-wlm, munge)"
    done
    mkdir -p "$dir"/{munge,ctld-state,slurmd-spool,etc}
    dir=$(cd "$dir" && pwd)
    chmod 700 "$dir/munge"
    local port=${BITBENCH_SLURM_PORT:-}
    if [ -z "$port" ]; then
        for port in $(seq 16817 2 16915); do
            listening "$port" || listening $((port + 1)) || break
        done
    fi
    local host
    host=$(hostname -s)
    # munge: a key of our own, its socket in DIR.
    if [ ! -s "$dir/munge/munge.key" ]; then
        dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 status=none
        chmod 400 "$dir/munge/munge.key"
    fi
    munged --force --key-file="$dir/munge/munge.key" --socket="$dir/munge/munge.socket" \
        --pid-file="$dir/munge/munged.pid" --log-file="$dir/munge/munged.log" \
        --seed-file="$dir/munge/munged.seed" 2>>"$dir/munge/munged.stderr" ||
        die "munged did not start: $(tail -n 3 "$dir/munge/munged.log" "$dir/munge/munged.stderr" 2>/dev/null)"
    sed -e "s|@TMP@|$dir|g" -e "s|@HOST@|$host|g" -e "s|@NODE@|bbnode|g" \
        -e "s|@CTLD_PORT@|$port|g" -e "s|@SLURMD_PORT@|$((port + 1))|g" \
        "$here/slurm.conf.in" >"$dir/etc/slurm.conf"
    export SLURM_CONF=$dir/etc/slurm.conf
    # -c: a clean state (no jobs of an earlier run); -i: ignore state files that do not parse.
    slurmctld -c -i -f "$SLURM_CONF" || die "slurmctld did not start: $(tail -n 5 "$dir/slurmctld.log")"
    wait_for 30 "slurmctld" scontrol ping || die "slurmctld does not answer: $(tail -n 5 "$dir/slurmctld.log")"
    slurmd -f "$SLURM_CONF" -N bbnode || die "slurmd did not start: $(tail -n 5 "$dir/slurmd.log")"
    if ! wait_for 60 "node idle" node_idle; then
        scontrol update NodeName=bbnode State=RESUME >/dev/null 2>&1 || true
        wait_for 20 "node idle" node_idle ||
            die "the node is not idle: $(sinfo -N -o '%N %T %E' | tail -n 1); slurmd.log: $(tail -n 5 "$dir/slurmd.log")"
    fi
    echo "$SLURM_CONF"
}

# The pid in a pid file, if that process still runs.
pid_of() { local p; p=$(cat "$1" 2>/dev/null) || return 1; [ -n "$p" ] && kill -0 "$p" 2>/dev/null && echo "$p"; }

stop_pid() { # pid file, name
    local pid
    pid=$(pid_of "$1") || return 0
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.25; done
    echo "cluster.sh: $2 (pid $pid) did not stop on SIGTERM: killing it" >&2
    kill -9 "$pid" 2>/dev/null || true
}

stop() {
    local dir=$1
    [ -d "$dir" ] || return 0
    dir=$(cd "$dir" && pwd)
    export SLURM_CONF=$dir/etc/slurm.conf
    if [ -f "$SLURM_CONF" ] && pid_of "$dir/slurmctld.pid" >/dev/null; then
        scancel --quiet --full --partition=typea,typeb 2>/dev/null || true
        wait_for 20 "jobs gone" bash -c '[ -z "$(squeue -h -t all -o %i 2>/dev/null | head -c1)" ] || [ -z "$(squeue -h -o %i)" ]' || true
    fi
    stop_pid "$dir/slurmd.pid" slurmd
    stop_pid "$dir/slurmctld.pid" slurmctld
    # Job processes of this cluster that outlived slurmd: a job's environment names our
    # config and has a job id (the test driver's has no job id).
    local p env
    for p in /proc/[0-9]*; do
        env=$({ tr '\0' '\n' <"$p/environ"; } 2>/dev/null) || continue
        if grep -qxF "SLURM_CONF=$SLURM_CONF" <<<"$env" && grep -q '^SLURM_JOB_ID=' <<<"$env"; then
            kill -9 "${p#/proc/}" 2>/dev/null || true
        fi
    done
    stop_pid "$dir/munge/munged.pid" munged
}

case "${1:-}" in
start) [ $# -eq 2 ] || die "usage: cluster.sh start DIR"; start "$2" ;;
stop) [ $# -eq 2 ] || die "usage: cluster.sh stop DIR"; stop "$2" ;;
*) die "usage: cluster.sh start|stop DIR" ;;
esac
