#!/usr/bin/env bash
# scripts/fake-powercap.sh - a fake RAPL powercap tree whose counters tick at a known rate,
# to show that bitbench carries measured joules end to end on a machine without RAPL.
#
#   scripts/fake-powercap.sh DIR [--sockets N] [--step-uj UJ] [--period S] [--range-uj UJ]
#                                [--ticks N]
#
# Creates, for each socket s < N (default 1):
#   DIR/intel-rapl:s/    name "package-s"   (the package domain of socket s)
#   DIR/intel-rapl:s:0/  name "dram"        (its DRAM domain)
# each with energy_uj = 0, max_energy_range_uj (default 262143328850, a real package's) and
# constraint_0_max_power_uw = 100 W.  Then a background ticker adds UJ microjoules (default
# 1000000 = 1 J) to every energy_uj every S seconds (default 0.1), wrapping at the range, and
# stops after N ticks (--ticks; default: runs until killed).  Values are replaced whole
# (write a temporary file, then mv), as a reader may read at any moment.  The ticker's PID
# is printed and kept in DIR/ticker.pid (the reader ignores names other than intel-rapl:*).
#
# Use:
#   pid=$(scripts/fake-powercap.sh /tmp/rapl --sockets 2)
#   BITBENCH_POWERCAP_ROOT=/tmp/rapl ./build/bitbench ...
#   kill "$pid"
# Every domain's gross joules in a row are then an exact multiple of the step (1 J by
# default): ticks that fell inside the window x step.  The idle baseline ticks at the same
# rate, so net joules are 0 give or take one step per domain (which ticks fall inside a
# window is a matter of timing): the fake power is constant.
set -euo pipefail

die() { echo "fake-powercap.sh: $*" >&2; exit 2; }
is_uint() { [[ $1 =~ ^[0-9]+$ ]]; }

[[ $# -ge 1 && $1 != -* ]] || die "usage: fake-powercap.sh DIR [--sockets N] [--step-uj UJ] [--period S] [--range-uj UJ] [--ticks N]"
dir=$1; shift
sockets=1 step=1000000 period=0.1 range=262143328850 ticks=-1
while [[ $# -gt 0 ]]; do
    [[ $# -ge 2 ]] || die "$1 needs a value"
    case $1 in
        --sockets)  is_uint "$2" && (( $2 >= 1 && $2 <= 64 )) || die "--sockets '$2': accepted 1..64"; sockets=$2 ;;
        --step-uj)  is_uint "$2" || die "--step-uj '$2': accepted a whole number of microjoules"; step=$2 ;;
        --period)   [[ $2 =~ ^[0-9]*\.?[0-9]+$ ]] || die "--period '$2': accepted seconds, e.g. 0.1"; period=$2 ;;
        --range-uj) is_uint "$2" && (( $2 > 0 )) || die "--range-uj '$2': accepted a positive whole number"; range=$2 ;;
        --ticks)    is_uint "$2" || die "--ticks '$2': accepted a whole number"; ticks=$2 ;;
        *) die "unknown option '$1'; accepted --sockets --step-uj --period --range-uj --ticks" ;;
    esac
    shift 2
done
(( step < range )) || die "--step-uj $step must be below --range-uj $range"

mkdir -p "$dir" || die "cannot create '$dir'"
files=()
make_zone() { # zone-dir name
    mkdir -p "$dir/$1"
    echo "$2" > "$dir/$1/name"
    echo 0 > "$dir/$1/energy_uj"
    echo "$range" > "$dir/$1/max_energy_range_uj"
    echo 100000000 > "$dir/$1/constraint_0_max_power_uw"
    files+=("$dir/$1/energy_uj")
}
for (( s = 0; s < sockets; s++ )); do
    make_zone "intel-rapl:$s" "package-$s"
    make_zone "intel-rapl:$s:0" "dram"
done

tick() {
    local f v
    for f in "${files[@]}"; do
        v=$(( $(<"$f") + step ))
        (( v > range )) && v=$(( v - range ))
        echo "$v" > "$f.tmp"
        mv -f "$f.tmp" "$f"
    done
}

(
    n=0
    while (( ticks < 0 || n < ticks )); do
        sleep "$period"
        tick
        n=$(( n + 1 ))
    done
) </dev/null >/dev/null 2>&1 &
echo $! > "$dir/ticker.pid"
echo $!
