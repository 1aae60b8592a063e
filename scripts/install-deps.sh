#!/usr/bin/env bash
# scripts/install-deps.sh - install bitbench's Debian dependencies.  Idempotent: packages
# already present are left alone.  Needs root (or sudo).
#   build:   gcc make pkg-config libjansson-dev (required: results are JSON)
#   measure: libpapi-dev papi-tools (counters), likwid (marker regions), libhwloc-dev hwloc
#            (pinning, cache sizes) - optional: each missing one makes its figures "unavailable"
#   test:    libcmocka-dev (unit tests), binutils (objdump for make check-addonly),
#            slurm-wlm munge jq (make check-slurm: a one-node Slurm cluster on localhost;
#            scripts/slurm/ on a real cluster needs jq only, Slurm is the site's),
#            clang + libclang-rt-<version>-dev (libFuzzer for make fuzz / make check; the
#            runtime is only "recommended" by clang, so it is named here, for clang's version)
#   plots:   gnuplot-nox (runtime only: bitbench report draws with it)
#   ARM:     on an x86-64 host, what make check-arm needs: gcc-aarch64-linux-gnu, qemu-user,
#            and the arm64 builds of jansson, cmocka and hwloc from Debian's multiarch
#            archive (this adds the arm64 architecture to dpkg once).  A native AArch64 host
#            needs nothing beyond the lists above.
set -euo pipefail
packages=(gcc make pkg-config binutils libjansson-dev libcmocka-dev libpapi-dev papi-tools
          hwloc libhwloc-dev gnuplot-nox slurm-wlm munge jq clang)
# likwid: Debian (bookworm) builds it for amd64, not arm64
[ "$(dpkg --print-architecture)" = amd64 ] && packages+=(likwid)
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
if [ "$(dpkg --print-architecture)" = amd64 ]; then
  packages+=(gcc-aarch64-linux-gnu binutils-aarch64-linux-gnu qemu-user
             libjansson-dev:arm64 libcmocka-dev:arm64 libhwloc-dev:arm64)
  if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    echo "install-deps: adding the arm64 architecture (Debian multiarch) for make check-arm" >&2
    $sudo dpkg --add-architecture arm64
  fi
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
export DEBIAN_FRONTEND=noninteractive
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present" >&2
else
  echo "install-deps: installing ${missing[*]}" >&2
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# libFuzzer's runtime, for the clang just installed (Debian names it by clang's major version)
clang_major=$(clang -dumpversion 2>/dev/null | cut -d. -f1)
if [ -n "$clang_major" ]; then
  rt="libclang-rt-$clang_major-dev"
  if ! dpkg-query -W -f='${Status}' "$rt" 2>/dev/null | grep -q 'install ok installed'; then
    echo "install-deps: installing $rt" >&2
    [ ${#missing[@]} -gt 0 ] || $sudo apt-get update -qq
    $sudo apt-get install -y -qq --no-install-recommends "$rt" >/dev/null
  fi
fi
echo "install-deps: done" >&2
