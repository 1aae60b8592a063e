#!/usr/bin/env bash
# scripts/fake-hwmon.sh - a fake Linux hwmon tree whose energy counters tick (or whose power
# sensors hold) known values, to show that bitbench carries hwmon joules end to end on a
# machine without such sensors.
#
#   scripts/fake-hwmon.sh DIR [--mode energy|power] [--sockets N] [--cores N] [--step-uj UJ]
#                             [--power-uw UW[,UW...]] [--period S] [--ticks N] [--log FILE]
#
# --mode energy (default): DIR/hwmon0 is a "zenergy" chip as on AMD Zen: energy1..C_input
#   labelled Ecore000.. (C = --cores, default 4) and energy(C+1)..(C+N)_input labelled
#   Esocket0.. (N = --sockets, default 1), all starting at 0.  Every S seconds (--period,
#   default 0.1) a ticker adds UJ microjoules (--step-uj, default 1000000 = 1 J) to every
#   counter.  bitbench uses the Esocket counters only, so each socket's gross joules in a
#   row are exactly (ticks inside the window) x UJ.
# --mode power: DIR/hwmon0 is an "ina3221" chip as on NVIDIA Jetson: power1_input "VDD_IN"
#   (the board input), power2_input "VDD_CPU_GPU_CV" and power3_input "VDD_SOC" (rails inside
#   it, holding half and a quarter of it).  VDD_IN holds the first value of --power-uw
#   (microwatts, default 5000000 = 5 W); with several values (e.g. 4000000,8000000) the ticker
#   moves to the next one every S seconds, round and round.  With one value the power is
#   constant and a row's gross joules are exactly that power x window_s.  --log FILE
#   appends one line per value VDD_IN takes: "BEFORE AFTER UW", the wall-clock times
#   (seconds, $EPOCHREALTIME) just before and just after the new value was in place, so
#   that the true energy over a window can be bracketed (tests/test_energy_hwmon.c does).
# Both modes add DIR/hwmon1, a "k10temp" chip with only a temperature (the reader skips it).
# The ticker stops after N ticks (--ticks; default: runs until killed).  Values are replaced
# whole (write a temporary file, then mv), as a reader may read at any moment.  The ticker's
# PID is printed and kept in DIR/ticker.pid.
#
# Use:
#   pid=$(scripts/fake-hwmon.sh /tmp/hwmon --mode power --power-uw 4000000,8000000 --period 0.02)
#   BITBENCH_HWMON_ROOT=/tmp/hwmon BITBENCH_ENERGY_SOURCE=hwmon ./build/bitbench gemm ... --json
#   kill "$pid"
set -euo pipefail

die() { echo "fake-hwmon.sh: $*" >&2; exit 2; }
is_uint() { [[ $1 =~ ^[0-9]+$ ]]; }

[[ $# -ge 1 && $1 != -* ]] || die "usage: fake-hwmon.sh DIR [--mode energy|power] [--sockets N] [--cores N] [--step-uj UJ] [--power-uw UW[,UW...]] [--period S] [--ticks N]"
dir=$1; shift
mode=energy sockets=1 cores=4 step=1000000 power=5000000 period=0.1 ticks=-1 log=/dev/null
while [[ $# -gt 0 ]]; do
    [[ $# -ge 2 ]] || die "$1 needs a value"
    case $1 in
        --mode)     [[ $2 == energy || $2 == power ]] || die "--mode '$2': accepted energy, power"; mode=$2 ;;
        --sockets)  is_uint "$2" && (( $2 >= 1 && $2 <= 8 )) || die "--sockets '$2': accepted 1..8"; sockets=$2 ;;
        --cores)    is_uint "$2" && (( $2 <= 256 )) || die "--cores '$2': accepted 0..256"; cores=$2 ;;
        --step-uj)  is_uint "$2" && (( $2 > 0 )) || die "--step-uj '$2': accepted a positive whole number of microjoules"; step=$2 ;;
        --power-uw) [[ $2 =~ ^[0-9]+(,[0-9]+)*$ ]] || die "--power-uw '$2': accepted microwatts, e.g. 5000000 or 4000000,8000000"; power=$2 ;;
        --period)   [[ $2 =~ ^[0-9]*\.?[0-9]+$ ]] || die "--period '$2': accepted seconds, e.g. 0.1"; period=$2 ;;
        --ticks)    is_uint "$2" || die "--ticks '$2': accepted a whole number"; ticks=$2 ;;
        --log)      log=$2 ;;
        *) die "unknown option '$1'; accepted --mode --sockets --cores --step-uj --power-uw --period --ticks --log" ;;
    esac
    shift 2
done

mkdir -p "$dir/hwmon0" "$dir/hwmon1" || die "cannot create '$dir'"
put() { echo "$2" > "$1.tmp"; mv -f "$1.tmp" "$1"; } # file value: replaced whole
echo k10temp > "$dir/hwmon1/name"
echo 45000 > "$dir/hwmon1/temp1_input"

files=()
IFS=, read -r -a powers <<< "$power"
if [[ $mode == energy ]]; then
    echo zenergy > "$dir/hwmon0/name"
    n=1
    for (( c = 0; c < cores; c++, n++ )); do
        printf 'Ecore%03d\n' "$c" > "$dir/hwmon0/energy${n}_label"
        echo 0 > "$dir/hwmon0/energy${n}_input"
        files+=("$dir/hwmon0/energy${n}_input")
    done
    for (( s = 0; s < sockets; s++, n++ )); do
        echo "Esocket$s" > "$dir/hwmon0/energy${n}_label"
        echo 0 > "$dir/hwmon0/energy${n}_input"
        files+=("$dir/hwmon0/energy${n}_input")
    done
else
    echo ina3221 > "$dir/hwmon0/name"
    echo VDD_IN > "$dir/hwmon0/power1_label"
    echo VDD_CPU_GPU_CV > "$dir/hwmon0/power2_label"
    echo VDD_SOC > "$dir/hwmon0/power3_label"
fi
set_power() { # microwatts of VDD_IN
    local before=$EPOCHREALTIME
    put "$dir/hwmon0/power1_input" "$1"
    echo "$before $EPOCHREALTIME $1" >> "$log"
    put "$dir/hwmon0/power2_input" $(( $1 / 2 ))
    put "$dir/hwmon0/power3_input" $(( $1 / 4 ))
}
[[ $mode == power ]] && set_power "${powers[0]}"

tick() { # tick number
    if [[ $mode == energy ]]; then
        local f
        for f in "${files[@]}"; do
            put "$f" $(( $(<"$f") + step ))
        done
    elif (( ${#powers[@]} > 1 )); then
        set_power "${powers[$(( $1 % ${#powers[@]} ))]}"
    fi
}

(
    n=0
    while (( ticks < 0 || n < ticks )); do
        sleep "$period"
        n=$(( n + 1 ))
        tick "$n"
    done
) </dev/null >/dev/null 2>&1 &
echo $! > "$dir/ticker.pid"
echo $!
