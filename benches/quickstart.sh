#!/usr/bin/env bash
# `.ci/quickstart` from nothing of bsdx's: a fresh CARGO_HOME (every crate
# downloaded from crates.io), fresh target dirs for bsdx and the bot, fresh
# bsdx, Zig and cargo-zigbuild caches. Prints each step's seconds and the total
# against the goal (<= 420 s for a fresh Debian machine).
#   benches/quickstart.sh
# What it cannot make fresh: Debian's and PyPI's packages already installed on
# this machine (their install is then a check, a few seconds; on a fresh
# machine `.ci/setup-debian` took 63 s here: apt 44 s, pip 19 s). Run it on a
# fresh machine for the whole figure.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/bsdx-quickstart.XXXXXX")"
trap 'rm -rf "$work"' EXIT
export CARGO_HOME="$work/cargo-home" CARGO_TARGET_DIR="$work/target" \
  BSDX_CACHE_DIR="$work/bsdx-cache" ZIG_GLOBAL_CACHE_DIR="$work/zig-cache" \
  CARGO_ZIGBUILD_CACHE_DIR="$work/zigbuild-cache"
start=$SECONDS
echo "bench: .ci/quickstart with fresh caches in $work (log: its stderr, shown at the end)" >&2
bin=$(bash "$repo/.ci/quickstart" "$work/freebsd-bot" 2>"$work/log") ||
  { tail -n 40 "$work/log" >&2; echo "bench: quickstart failed" >&2; exit 1; }
total=$((SECONDS - start))
file "$bin" | grep -q "FreeBSD" || { echo "not a FreeBSD binary: $bin" >&2; exit 1; }
echo "== quickstart steps (seconds since start)"
grep '^quickstart: ' "$work/log"
printf 'quickstart total: %d s (goal <= 420 s on a fresh machine; packages already installed here)\n' "$total"
# The work's own floor: the CPU seconds every step spent (the kernel's count,
# the last step line), spread perfectly over this machine's cores. No order
# or overlap of the same work finishes below it; only less work does.
cpu=$(grep '^quickstart: ' "$work/log" | tail -n 1 | sed -n 's/.*CPU \([0-9]*\) s.*/\1/p')
cores=$(nproc)
if [ -n "$cpu" ]; then
  printf 'quickstart CPU: %d s on %d cores: no schedule of this work ends before %d s (%.0f %% of the wall time was that floor)\n' \
    "$cpu" "$cores" "$((cpu / cores))" "$(awk "BEGIN { print 100 * $cpu / $cores / $total }")"
fi
