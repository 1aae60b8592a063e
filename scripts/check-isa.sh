#!/bin/sh
# scripts/check-isa.sh - every object holds only instructions of its ISA level.
#
#   scripts/check-isa.sh ISA_DEF OBJECT...
#
# A file kernels/<dir>/<format>_<level>[_<method>].c is built with its level's flags and its
# kernels' .needs is at least the level's feature mask (tests/test_isa.c); this script
# closes the chain: it disassembles each object and maps instructions to the CPU features
# they need, and fails when one needs a feature outside the level's mask in ISA_DEF
# (kernels/isa.def).  An object's level is the first word of its file name (split at '_')
# that names a level of its architecture, as the Makefile's isa_level reads source names;
# other objects are of the scalar level: only the architecture's baseline (x86-64: none
# tracked; AArch64: NEON, part of its Linux ABI).
# So a kernel marked runnable on a CPU can only execute instructions that CPU has.
#
# Instruction -> feature (objdump's AT&T syntax on x86-64):
#   x86-64   any VEX/EVEX instruction (v...) -> avx2 (AVX and AVX2 are one level here);
#            vfmadd/vfmsub/vfnmadd/vfnmsub -> fma; vcvtph2ps/vcvtps2ph -> f16c;
#            a %zmm register or an opmask %k -> avx512f; %xmm16-31/%ymm16-31 -> avx512vl;
#            vpdpbusd/vpdpwssd[s] -> avxvnni with {vex}, else avx512vnni;
#            vpermb/vpermi2b/vpermt2b/vpmultishiftqb -> avx512vbmi; vpopcntd/q ->
#            avx512vpopcntdq; the others no level has: vpopcntb/w, vpshufbitqmb (bitalg),
#            vpcompressb/w, vpexpandb/w, vpshld/vpshrd (vbmi2), vpconflict/vplzcnt (cd),
#            vpmadd52 (ifma), *bf16* (bf16), fp16 arithmetic v...ph/v...sh (avx512fp16),
#            AMX tile instructions (amx).
#   AArch64  v/q registers -> neon; sdot/udot -> dotprod; usdot/sudot/smmla/ummla/usmmla
#            -> i8mm; half-precision arithmetic (an f... instruction on .4h/.8h or h
#            registers, but not the base conversions fcvt/fcvtl/fcvtn) -> fp16;
#            ARMv8.1 instructions (LSE atomics, sqrdmlah/sqrdmlsh, crc32) -> dotprod (every
#            dotprod CPU is ARMv8.2 or later); the others no level has: fmlal/fmlsl
#            (fp16fml), bf16 instructions, SVE z/p registers.
# The AVX-512 BW/DQ split is not decoded: the avx512 level has F, BW, VL and DQ together.
#
# CHECK_ISA_LEVEL (a level name) and CHECK_ISA_SYMBOL (one function) narrow the check, for
# tests/test_check_isa.c.  Exit 0 clean, 1 an offence, 2 bad usage or a missing tool.
set -eu

[ $# -ge 2 ] || { echo "usage: $0 ISA_DEF OBJECT..." >&2; exit 2; }
def=$1
shift
[ -r "$def" ] || { echo "check-isa: cannot read $def" >&2; exit 2; }

# feature ID -> name, level name -> arch and feature names, arch machine -> kernel dir
tables=$(awk '
    /^BB_FEATURE\(/ { s = $0; sub(/^BB_FEATURE\( */, "", s); id = s; sub(/,.*/, "", id)
                      nm = s; sub(/^[^"]*"/, "", nm); sub(/".*/, "", nm); feat[id] = nm }
    /^BB_ARCH\(/    { s = $0; sub(/^BB_ARCH\( */, "", s); id = s; sub(/,.*/, "", id)
                      n = split(s, q, "\""); print "arch " id " " q[2] " " q[4] }
    /^BB_ISA\(/     { s = $0; sub(/^BB_ISA\( */, "", s); split(s, f, ","); arch = f[2]; gsub(/ /, "", arch)
                      n = split(s, q, "\""); name = q[2]; mask = q[3]
                      out = "level " name " " arch
                      while (match(mask, /BB_CPU_[A-Z0-9_]+/)) {
                          id = substr(mask, RSTART + 7, RLENGTH - 7); out = out " " feat[id]
                          mask = substr(mask, RSTART + RLENGTH) }
                      print out }' "$def")

fail=0
checked=0
for obj in "$@"; do
    [ -r "$obj" ] || { echo "check-isa: cannot read $obj" >&2; exit 2; }
    case $(od -An -tu2 -j18 -N2 "$obj" | tr -d ' ') in
        62) machine=x86_64 ;;
        183) machine=aarch64 ;;
        *) echo "check-isa: $obj: not an x86-64 or AArch64 ELF file" >&2; exit 2 ;;
    esac
    if [ "$machine" = "$(uname -m)" ]; then objdump=${OBJDUMP:-objdump}; else objdump=$machine-linux-gnu-objdump; fi
    command -v "$objdump" >/dev/null 2>&1 || { echo "check-isa: $objdump not found: run scripts/install-deps.sh" >&2; exit 2; }
    archid=$(echo "$tables" | awk -v m="$machine" '$1 == "arch" && $3 == m { print $2 }')
    # the level: CHECK_ISA_LEVEL, else the first word of the file name that names a level of
    # this architecture, else scalar
    level=${CHECK_ISA_LEVEL:-}
    if [ -z "$level" ]; then
        level=$(basename "$obj" .o | tr '_' '\n' | awk -v a="$archid" -v t="$tables" '
            BEGIN { n = split(t, lines, "\n"); for (i = 1; i <= n; i++) { split(lines[i], f, " ")
                    if (f[1] == "level" && f[3] == a) lv[f[2]] = 1 } }
            ($0 in lv) { print; exit }')
        [ -n "$level" ] || level=scalar
    fi
    allowed=" $(echo "$tables" | awk -v l="$level" '$1 == "level" && $2 == l { for (i = 4; i <= NF; i++) printf "%s ", $i }')"
    [ "$machine" = aarch64 ] && allowed="$allowed neon "
    sym=${CHECK_ISA_SYMBOL:+--disassemble=$CHECK_ISA_SYMBOL}
    # shellcheck disable=SC2086
    bad=$($objdump -d --no-show-raw-insn $sym "$obj" | awk -v m="$machine" -v allowed="$allowed" '
        function need(f) { if (index(allowed, " " f " ") == 0 && !(f in seen)) { seen[f] = 1; print f " | " addr " " text } }
        /^ *[0-9a-f]+:\t/ {
            addr = $1; sub(/:$/, "", addr)
            text = $0; sub(/^ *[0-9a-f]+:\t/, "", text)
            k = split(text, w, /[ \t]+/); op = ""; vex = 0
            for (i = 1; i <= k; i++) {
                if (w[i] == "{vex}" || w[i] == "{vex3}") { vex = 1; continue }
                if (w[i] ~ /^(rep|repz|repnz|lock|notrack|bnd|data16|addr32|cs|ds)$/) continue
                op = w[i]; break
            }
            ops = substr(text, index(text, op) + length(op))
            if (m == "x86_64") {
                if (op ~ /^v/ && op !~ /^(verr|verw|vm)/) need("avx2")
                if (op ~ /^v(fn?madd|fn?msub|fmaddsub|fmsubadd)/) need("fma")
                if (op ~ /^vcvt(ph2ps|ps2ph)$/) need("f16c")
                if (ops ~ /%zmm/ || ops ~ /%k[0-7]/) need("avx512f")
                if (ops ~ /%[xy]mm(1[6-9]|2[0-9]|3[01])/) need("avx512vl")
                if (op ~ /^vpdp(busd|wssd)s?$/) need(vex ? "avxvnni" : "avx512vnni")
                if (op ~ /^(vpermb|vpermi2b|vpermt2b|vpmultishiftqb)$/) need("avx512vbmi")
                if (op ~ /^vpopcnt[dq]$/) need("avx512vpopcntdq")
                if (op ~ /^(vpopcnt[bw]|vpshufbitqmb)$/) need("avx512bitalg")
                if (op ~ /^(vpcompress[bw]|vpexpand[bw]|vpshld|vpshrd)/) need("avx512vbmi2")
                if (op ~ /^(vpconflict|vplzcnt)/) need("avx512cd")
                if (op ~ /^vpmadd52/) need("avx512ifma")
                if (op ~ /bf16/) need("avx512bf16")
                if (op ~ /^v.*(ph|sh)$/ && op !~ /^vcvt(ph2ps|ps2ph)$/) need("avx512fp16")
                if (op ~ /^(tdp|tile|ldtilecfg|sttilecfg)/) need("amx")
            } else {
                if (ops ~ /(^|[ ,{])v[0-9]+\./ || ops ~ /(^|[ ,])q[0-9]+/) need("neon")
                if (op ~ /^[su]dot$/) need("dotprod")
                if (op ~ /^(usdot|sudot|smmla|ummla|usmmla)$/) need("i8mm")
                if (op ~ /^f/ && op !~ /^fcvt[ln]?2?$/ && op !~ /^fml[as]l/ &&
                    (ops ~ /\.[48]h/ || ops ~ /(^|[ ,])h[0-9]+/)) need("fp16")
                if (op ~ /^fml[as]l/) need("fp16fml")
                if (op ~ /^bf/) need("bf16")
                if (op ~ /^(cas|ldadd|ldclr|ldeor|ldset|ldsmax|ldsmin|ldumax|ldumin|swp|sqrdmla|sqrdmls|crc32)/) need("dotprod")
                if (ops ~ /(^|[ ,{])z[0-9]+\./ || ops ~ /(^|[ ,{])p[0-9]+[\/.]/) need("sve")
            }
        }')
    checked=$((checked + 1))
    if [ -n "$bad" ]; then
        echo "$bad" | while IFS='|' read -r feature insn; do
            echo "check-isa: FAIL $obj (level $level, allows:$allowed): needs ${feature% }:$insn"
        done
        fail=1
    fi
done
if [ $fail -ne 0 ]; then
    echo "check-isa: FAILED ($checked objects checked against kernels/isa.def)"
    exit 1
fi
echo "check-isa: all $checked objects use only instructions of their ISA level"
