#!/bin/sh
# scripts/check-arm.sh - run the AArch64 build's tests under qemu-user (make check-arm).
#
#   scripts/check-arm.sh ARM_BUILD_DIR
#
# ARM_BUILD_DIR holds a cross-built tree (make BUILD=... CC=aarch64-linux-gnu-gcc
# test-programs): tests/test_*, asan/bitbench (UBSan there) and bitbench.  For each emulated
# CPU - `max` (dotprod, i8mm, fp16) and `cortex-a53` (plain ARMv8.0 NEON) - it shows
# `bitbench list`, checks that exactly the kernels whose features the CPU lacks are
# reported not runnable (dispatch falls back), and runs every test program; then
# check-addonly on the AArch64 binary.  Test programs that start bitbench get a wrapper
# that runs it under the same qemu CPU.  Exit 0 all passed, 1 a failure, 2 a missing tool.
# Speed under emulation means nothing: nothing here times anything.
set -u

build=${1:?usage: $0 ARM_BUILD_DIR}
qemu=${QEMU_AARCH64:-qemu-aarch64}
command -v "$qemu" >/dev/null 2>&1 ||
    { echo "check-arm: $qemu not found: install qemu-user (scripts/install-deps.sh)" >&2; exit 2; }
[ -x "$build/bitbench" ] && [ -x "$build/asan/bitbench" ] ||
    { echo "check-arm: $build/bitbench or $build/asan/bitbench missing: build them first (make check-arm)" >&2; exit 2; }

# The arm64 loader and libraries come from Debian multiarch (/lib/ld-linux-aarch64.so.1,
# /usr/lib/aarch64-linux-gnu), which qemu finds without QEMU_LD_PREFIX.  Do not point
# QEMU_LD_PREFIX at the cross toolchain's /usr/aarch64-linux-gnu: its libc mixed with the
# multiarch libraries hung bitbench's thread pool (seen with gemm --kernel all, 2 threads).
src=$(pwd)
wrapper=$src/$build/qemu-bitbench
# (absolute paths: tests run bitbench with PATH emptied)
qemu_path=$(command -v "$qemu")
printf '#!/bin/sh\n# bitbench (sanitized, AArch64) under %s, CPU from QEMU_CPU\nexec %s %s "$@"\n' \
    "$qemu" "$qemu_path" "$src/$build/asan/bitbench" >"$wrapper"
chmod +x "$wrapper"

fail=0
for cpu in max cortex-a53; do
    export QEMU_CPU=$cpu
    echo "== check-arm: qemu-aarch64 -cpu $cpu: bitbench list"
    "$qemu" "$build/bitbench" list | sed -n '/^Implementations/,$p'
    # Dispatch: a kernel is runnable exactly when the emulated CPU has its features.
    detected=$("$qemu" "$build/bitbench" info 2>/dev/null | sed -n 's/^isa detected: *//p')
    bad=$("$qemu" "$build/bitbench" list --json | awk -v have=" $detected " '
        /"impl":/     { impl = $2; gsub(/[",]/, "", impl) }
        /"needs":/    { needs = $0; sub(/^[^:]*: *"/, "", needs); sub(/",?$/, "", needs) }
        /"runnable":/ {
            want = "true"; n = split(needs, f, " ")
            for (i = 1; i <= n; i++) if (index(have, " " f[i] " ") == 0) want = "false"
            got = ($0 ~ /true/) ? "true" : "false"
            if (got != want) print impl " runnable=" got ", expected " want " (needs: " needs ")"
        }')
    if [ -n "$bad" ]; then
        echo "check-arm: FAIL dispatch on -cpu $cpu (detected: $detected):"; echo "$bad"; fail=1
    else
        echo "check-arm: dispatch on -cpu $cpu (detected: $detected) matches every kernel's needs"
    fi
    # every program on the first CPU; on the Cortex-A53 the ones whose outcome depends on
    # the CPU's features (kernels, dispatch, the CLI's gemm): the others (reports, compare,
    # sweep plans, results, energy files) run the same code on any AArch64 CPU.
    if [ "$cpu" = max ]; then pattern='test_*'; else pattern=${CHECK_ARM_A53_TESTS:-'test_*kernels* test_*simd* test_*lut* test_*isa* test_*arm* test_fp16 test_act_q8 test_cli'}; fi
    tests=$(for p in $pattern; do ls "$build"/tests/$p 2>/dev/null; done | sort -u)
    logs=$build/check-arm-logs/$cpu
    rm -rf "$logs" && mkdir -p "$logs"
    # ${CHECK_ARM_JOBS:-nproc} programs at a time (each is one emulated process)
    echo "$tests" | xargs -P "${CHECK_ARM_JOBS:-$(nproc)}" -I{} sh -c '
        t=$1 log=$2/$(basename "$1").log
        t0=$(date +%s)
        if BITBENCH_EMULATED=qemu BITBENCH_BIN=$3 BITBENCH_SRCDIR=$4 "$5" "$t" >"$log" 2>&1; then r=ok; else r=FAIL; fi
        echo "$r $(($(date +%s) - t0))" >"$log.result"' sh {} "$logs" "$wrapper" "$src" "$qemu"
    for t in $tests; do
        log=$logs/$(basename "$t").log
        read -r verdict secs <"$log.result" || verdict=FAIL
        if [ "$verdict" = ok ]; then
            echo "check-arm: ok   $t on -cpu $cpu (${secs}s emulated, not a timing)"
        else
            echo "== check-arm: FAIL $t on -cpu $cpu; its output:"; cat "$log"; fail=1
        fi
    done
done

echo "== check-arm: check-addonly on the AArch64 binary"
QEMU_CPU=max scripts/check-addonly.sh "$build/bitbench" || fail=1

if [ $fail = 0 ]; then echo "check-arm: all passed (qemu-aarch64 -cpu max and -cpu cortex-a53)"; else echo "check-arm: FAILED"; fi
exit $fail
