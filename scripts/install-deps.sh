#!/usr/bin/env bash
# scripts/install-deps.sh - install bitbench's Debian dependencies.  Idempotent: packages
# already present are left alone.  Needs root (or sudo).
#   build:   gcc make pkg-config libjansson-dev (required: results are JSON)
#   measure: libpapi-dev papi-tools (counters), likwid (marker regions), libhwloc-dev hwloc
#            (pinning, cache sizes) - optional: each missing one makes its figures "unavailable"
#   test:    libcmocka-dev (unit tests), binutils (objdump for make check-addonly),
#            slurm-wlm munge jq (make check-slurm: a one-node Slurm cluster on localhost;
#            scripts/slurm/ on a real cluster needs jq only, Slurm is the site's)
#   plots:   gnuplot-nox (runtime only: bitbench report draws with it)
set -euo pipefail
packages=(gcc make pkg-config binutils libjansson-dev libcmocka-dev libpapi-dev papi-tools likwid
          libhwloc-dev hwloc gnuplot-nox slurm-wlm munge jq)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present" >&2
  exit 0
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done" >&2
