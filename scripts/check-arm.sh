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
printf '#!/bin/sh\n# bitbench (sanitized, AArch64) under %s, CPU from QEMU_CPU\nexec %s %s "$@"\n' \
    "$qemu" "$qemu" "$src/$build/asan/bitbench" >"$wrapper"
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
    for t in "$build"/tests/test_*; do
        [ -x "$t" ] || continue
        echo "== check-arm [-cpu $cpu] $t"
        t0=$(date +%s)
        BITBENCH_EMULATED=qemu BITBENCH_BIN=$wrapper BITBENCH_SRCDIR=$src "$qemu" "$t" || { echo "check-arm: FAIL $t on -cpu $cpu"; fail=1; }
        echo "check-arm: $t on -cpu $cpu took $(($(date +%s) - t0)) s (emulated: not a timing)"
    done
done

echo "== check-arm: check-addonly on the AArch64 binary"
QEMU_CPU=max scripts/check-addonly.sh "$build/bitbench" || fail=1

if [ $fail = 0 ]; then echo "check-arm: all passed (qemu-aarch64 -cpu max and -cpu cortex-a53)"; else echo "check-arm: FAILED"; fi
exit $fail
