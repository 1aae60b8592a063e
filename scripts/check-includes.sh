#!/bin/sh
# scripts/check-includes.sh - the rooms of harness/ stay rooms: every #include "..." of a
# file under harness/ must point into its own room or a room its row below allows, and only
# the rooms marked "kernels" may include kernels/.  Analysis of result files (results,
# compare, report) needs no kernel, no timer and no machine: it includes neither.
#   scripts/check-includes.sh [ROOT]    check ROOT (default .); exit 1 on a backwards arrow
#   scripts/check-includes.sh --self-test   plants bad includes in a copy: each must fail
# The arrows (README, "Layout"): room: rooms it may include [kernels]
RULES='
base:
results: base
compare: results base
report: compare results base
core: base kernels
machine: core base results kernels
probe: core machine base results
model: core machine base results kernels
tune: core machine model base results kernels
sweep: core machine probe model tune base results kernels
'
set -u

check() {
    root=$1 bad=0
    if [ ! -d "$root/harness" ]; then echo "check-includes: no harness/ under $root" >&2; return 2; fi
    for f in $(cd "$root" && find harness -name '*.[ch]' | sort); do
        room=$(echo "$f" | cut -d/ -f2)
        case "$f" in harness/*/*) ;; *) echo "check-includes: $f: not in a room (harness/<room>/)" >&2; bad=1; continue;; esac
        rule=$(echo "$RULES" | sed -n "s/^$room:\(.*\)/\1/p")
        if ! echo "$RULES" | grep -q "^$room:"; then
            echo "check-includes: $f: room '$room' has no rule in scripts/check-includes.sh" >&2; bad=1; continue
        fi
        dir=$(dirname "$f")
        for inc in $(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$root/$f"); do
            # the included path, relative to the top of the tree
            target=$(cd "$root/$dir" 2>/dev/null && cd "$(dirname "$inc")" 2>/dev/null && pwd -P)
            top=$(cd "$root" && pwd -P)
            rel=${target#"$top"/}
            case "$rel" in
            harness/*) to=$(echo "$rel" | cut -d/ -f2) ;;
            kernels|kernels/*) to=kernels ;;
            *) echo "check-includes: $f includes \"$inc\": outside harness/ and kernels/" >&2; bad=1; continue ;;
            esac
            [ "$to" = "$room" ] && continue
            case " $rule " in *" $to "*) continue ;; esac
            echo "check-includes: $f includes \"$inc\": room $room may not include $to (allowed: ${rule# })" >&2
            bad=1
        done
    done
    return $bad
}

self_test() {
    tmp=$(mktemp -d) || exit 2
    trap 'rm -rf "$tmp"' EXIT
    fails=0
    # name | file to plant in | include planted
    for plant in "results|harness/results/results.c|../../kernels/kernel.h" \
                 "report|harness/report/report.c|../core/pool.h" \
                 "compare|harness/compare/compare.c|../machine/machine.h" \
                 "core|harness/core/pool.c|../sweep/sweep.h" \
                 "base|harness/base/stats.c|../results/results.h"; do
        name=${plant%%|*} rest=${plant#*|}; file=${rest%%|*} inc=${rest#*|}
        rm -rf "$tmp/t" && mkdir -p "$tmp/t" && cp -R harness kernels "$tmp/t/"
        echo "#include \"$inc\"" >>"$tmp/t/$file"
        if check "$tmp/t" 2>/dev/null; then
            echo "check-includes self-test: a planted include of $inc in $file passed (must fail)" >&2; fails=1
        fi
    done
    rm -rf "$tmp/t" && mkdir -p "$tmp/t" && cp -R harness kernels "$tmp/t/"
    if ! check "$tmp/t"; then echo "check-includes self-test: the unchanged copy fails" >&2; fails=1; fi
    [ $fails = 0 ] && echo "check-includes: self-test passed (5 planted backwards includes caught)"
    return $fails
}

if [ "${1:-}" = --self-test ]; then self_test; exit $?; fi
check "${1:-.}" && echo "check-includes: every include of harness/ follows the rooms' arrows"
