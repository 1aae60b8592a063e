#!/bin/sh
# scripts/check-addonly.sh - prove that the multiply-free kernels are multiply-free.
#
#   scripts/check-addonly.sh BITBENCH_BINARY
#
# Asks the binary for its kernels (`list --json`), and for every kernel marked
# multiply_free disassembles its hot_symbol (objdump --disassemble=SYMBOL) and fails if any
# multiply or multiply-add instruction appears in it.  Fails too when such a kernel names no
# symbol, or the symbol is missing from the binary or empty - a check that looked at nothing
# must not pass.  Prints one OK line per kernel; on failure, one line per offence naming the
# kernel, the symbol and the instruction.  Exit 0 all clean, 1 an offence, 2 bad usage or a
# missing tool.  tests/test_check_addonly.c plants multiplies to prove the matcher catches them.
#
# What counts as a multiply (AT&T mnemonics as objdump prints them; any operand size
# suffix): integer mul/imul/mulx; SIMD integer multiplies pmul* (but not vpmultishiftqb, a
# bit-field gather), the multiply-adds pmadd*/vpmadd52*, the VNNI and AMX dot products
# vpdp*/tdp*, XOP vpmacs*/vpmadcs*; floating multiplies mul{ss,sd,ps,pd,sh,ph} and x87
# fmul/fimul, the FMA families vf[n]madd*/vf[n]msub*/fma4, complex fp16 vf[c]mulc*/vf[c]maddc*,
# dot products dpps/dppd/vdpbf16ps/vdpphps; carry-less pclmul* and GF(2^8) gf2p8mulb.
# AArch64 (the same words, scalar and vector forms alike): mul, mneg, madd, msub, the long
# and high forms smull/umull/smulh/umulh/smaddl/umaddl/smsubl/umsubl/smnegl/umnegl and
# [su]mlal/[su]mlsl (and their 2 forms), vector mla/mls, sqdmull/sqdmlal/sqdmlsl/sqdmulh/
# sqrdmulh/sqrdmlah/sqrdmlsh, the dot products sdot/udot/usdot/sudot, the matrix
# multiply-accumulates smmla/ummla/usmmla/bfmmla, bfdot/bfmlal*, polynomial pmul/pmull;
# floating fmul/fmulx/fnmul, fmla/fmls (and fmlal/fmlsl), fmadd/fmsub/fnmadd/fnmsub, fcmla.
# SVE's predicated forms print the same mnemonics.
# Shifts, adds, logic, popcount (cnt), compares, table lookups (tbl) and shuffles are allowed.
#
# The binary may be of another architecture than this machine (make check-arm): the
# script reads its ELF machine, disassembles with <arch>-linux-gnu-objdump and runs it under
# qemu-<arch> (QEMU_CPU, QEMU_LD_PREFIX from the environment).  OBJDUMP and BITBENCH_RUNNER
# override both choices.
set -eu

X86_MULTIPLY='mul[bwlq]?|imul[bwlq]?|mulx[lq]?|v?pmul([^t].*)?|v?pmadd.*|vpdp.*|tdp.*|vpmacs.*|vpmadcs.*|v?mul(ss|sd|ps|pd|sh|ph)|f(i)?mul.*|v?fn?madd.*|v?fn?msub.*|vfmaddsub.*|vfmsubadd.*|vfc?mulc.*|vfc?maddc.*|v?dpp[sd]|vdpbf16ps|vdpphps|v4fn?madd.*|vp4dpwssds?|v?pclmul.*|v?gf2p8mulb'
ARM_MULTIPLY='mul|mneg|madd|msub|[su]mull2?|[su]mulh|[su]maddl|[su]msubl|[su]mnegl|[su]mlal2?|[su]mlsl2?|mla|mls|sqdmull2?|sqdmlal2?|sqdmlsl2?|sqr?dmulh|sqrdmla[hs]|sqrdmlsh|[su]dot|usdot|sudot|[su]mmla|usmmla|bfmmla|bfdot|bfmlal[bt]?|pmull?2?|fmulx?|fnmul|fml[as]l?2?|fn?madd|fn?msub|fcmla'
MULTIPLY_RE="^($X86_MULTIPLY|$ARM_MULTIPLY)\$"

usage() {
    echo "usage: $0 BITBENCH_BINARY" >&2
    exit 2
}

# scan_symbol FILE SYMBOL: prints "count N" (instructions seen), then "mul ADDR MNEMONIC ..."
# for every multiply.  A prefix ({vex}, rep, lock, notrack, ...) is its own word, so every
# word before the operands is matched against the pattern.
scan_symbol() {
    $objdump -d --no-show-raw-insn --disassemble="$2" "$1" 2>/dev/null |
        awk -v re="$MULTIPLY_RE" '
        /^ *[0-9a-f]+:\t/ {
            n++
            addr = $1; sub(/:$/, "", addr)
            text = $0; sub(/^ *[0-9a-f]+:\t/, "", text)
            k = split(text, w, /[ \t]+/)
            for (i = 1; i <= k; i++) {
                if (w[i] ~ /[%$(,<#\[]/ || w[i] ~ /^[0-9a-fx]+$/) break  # operands start
                if (w[i] ~ re) { print "mul " addr " " w[i] " | " text; break }
            }
        }
        END { print "count " n + 0 }'
}

# kernels BINARY: one line per kernel, "impl multiply_free hot_symbol" (symbol "-" if none).
# Reads the JSON that `bitbench list --json` prints (jansson, one key per line), keys in
# any order within an object.
kernels() {
    $runner "$1" list --json | awk '
        function strval(line) {
            sub(/^[^:]*:[ \t]*/, "", line); sub(/,[ \t]*$/, "", line)
            if (line == "null") return "-"
            gsub(/"/, "", line); return line == "" ? "-" : line
        }
        /"impl":/          { impl = strval($0) }
        /"multiply_free":/ { mf = ($0 ~ /true/) ? 1 : 0 }
        /"hot_symbol":/    { hot = strval($0) }
        /^[ \t]*}/ {
            if (impl != "") print impl, mf, (hot == "" ? "-" : hot)
            impl = ""; mf = 0; hot = ""
        }'
}

[ $# -eq 1 ] || usage
bin=$1
[ -x "$bin" ] || { echo "check-addonly: $bin is not an executable; build it first (make)" >&2; exit 2; }
# ELF e_machine (bytes 18-19, little-endian): 62 x86-64, 183 AArch64.
case $(od -An -tu2 -j18 -N2 "$bin" | tr -d ' ') in
    62) arch=x86_64 ;;
    183) arch=aarch64 ;;
    *) arch=$(uname -m) ;;
esac
if [ "$arch" = "$(uname -m)" ]; then
    objdump=${OBJDUMP:-objdump}
    runner=${BITBENCH_RUNNER:-}
else
    objdump=${OBJDUMP:-$arch-linux-gnu-objdump}
    runner=${BITBENCH_RUNNER:-qemu-$arch}
    command -v "${runner%% *}" >/dev/null 2>&1 || { echo "check-addonly: $bin is $arch: ${runner%% *} not found: install qemu-user (scripts/install-deps.sh)" >&2; exit 2; }
fi
command -v "$objdump" >/dev/null 2>&1 || { echo "check-addonly: $objdump not found: install binutils (scripts/install-deps.sh)" >&2; exit 2; }

list=$(kernels "$bin") || { echo "check-addonly: '$bin list --json' failed" >&2; exit 2; }
[ -n "$list" ] || { echo "check-addonly: '$bin list --json' listed no kernels" >&2; exit 2; }

fail=0
checked=0
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
echo "$list" | while read -r impl mf hot; do
    [ "$mf" = 1 ] || continue
    if [ "$hot" = "-" ]; then
        echo "check-addonly: FAIL $impl: multiply_free but names no hot_symbol to check"
        echo fail >>"$tmp"
        continue
    fi
    out=$(scan_symbol "$bin" "$hot")
    count=$(echo "$out" | sed -n 's/^count //p')
    if [ "${count:-0}" -eq 0 ]; then
        echo "check-addonly: FAIL $impl: hot_symbol $hot is missing from $bin or empty"
        echo fail >>"$tmp"
        continue
    fi
    muls=$(echo "$out" | sed -n 's/^mul //p')
    if [ -n "$muls" ]; then
        echo "$muls" | while read -r addr insn rest; do
            echo "check-addonly: FAIL $impl: $hot has multiply instruction '$insn' at 0x$addr: ${rest#| }"
        done
        echo fail >>"$tmp"
        continue
    fi
    echo "check-addonly: OK   $impl: $hot, $count instructions, no multiply"
    echo ok >>"$tmp"
done

grep -q fail "$tmp" && fail=1
checked=$(grep -c . "$tmp" || true)
if [ "$checked" -eq 0 ]; then
    echo "check-addonly: FAIL no kernel of $bin is marked multiply_free: nothing was checked"
    exit 1
fi
if [ "$fail" -ne 0 ]; then
    echo "check-addonly: FAILED ($checked multiply-free kernels checked)"
    exit 1
fi
echo "check-addonly: all $checked multiply-free kernels are free of multiplies"
