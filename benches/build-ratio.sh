#!/usr/bin/env bash
# Cold release builds of the bot template, measured side by side in one run:
#   A  FreeBSD via `bsdx build`                                   (what users run)
#   B  native Linux: cargo build -Zbuild-std with the same rustc   (the floor)
#   C  raw `cargo zigbuild` with exactly the flags `bsdx env` prints (bsdx's overhead)
# Prints A/B (target <= 1.00) and A/C (target <= 1.02), then where A and B differ:
# cargo's own timings (--timings) of each unit, grouped as the C dependencies'
# build scripts (ring, SQLite, jemalloc: zig cc vs gcc), the bot's own crate
# (its compile and the final link) and the rest (std and the Rust crates).
# Each build gets a fresh target dir and a fresh Zig cache; crates are fetched
# before timing starts. BSDX_NO_WARMUP=1 measures without bsdx's Zig warm-up.
#   benches/build-ratio.sh [ROUNDS]   (default 1; each round is three cold builds;
#   BSDX_BENCH_RAW=0 leaves out C)
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
rounds="${1:-1}"
work="$(mktemp -d "${TMPDIR:-/tmp}/bsdx-bench.XXXXXX")"
trap 'rm -rf "$work"' EXIT

cargo build --release --locked --manifest-path "$repo/Cargo.toml" -q
bsdx="$repo/target/release/bsdx"
export BSDX_CACHE_DIR="$work/cache"
"$bsdx" new bench-bot --path "$work/bot" >/dev/null
cd "$work/bot"
eval "$("$bsdx" env)"   # also generates the stubs, outside the timings
cargo="${CARGO:-cargo}"
"$cargo" fetch --locked -q

now() { date +%s.%N; }
timed() { # name, then the command
  local name=$1; shift
  local t0 t1
  export CARGO_TARGET_DIR="$work/t-$name" ZIG_GLOBAL_CACHE_DIR="$work/zig-$name"
  rm -rf "$CARGO_TARGET_DIR" "$ZIG_GLOBAL_CACHE_DIR"
  t0=$(now)
  "$@" >"$work/$name.log" 2>&1 || { echo "build $name failed:"; tail -30 "$work/$name.log"; exit 1; }
  t1=$(now)
  awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }'
}
host=$(rustc -vV 2>/dev/null | sed -n 's/^host: //p'); host=${host:-x86_64-unknown-linux-gnu}
sum_a=0; sum_b=0; sum_c=0
for r in $(seq "$rounds"); do
  a=$(timed bsdx "$bsdx" build -- --timings)
  b=$(timed native env RUSTC_BOOTSTRAP=1 "$cargo" build --release --locked -Zbuild-std=std,panic_abort --target "$host" --timings)
  if [ "${BSDX_BENCH_RAW:-1}" = 0 ]; then c=$b; else   # BSDX_BENCH_RAW=0: skip C
  c=$(timed raw "$cargo" zigbuild --release --locked --target x86_64-unknown-freebsd --timings); fi
  printf 'round %s: bsdx build %.1fs  native %.1fs' "$r" "$a" "$b"
  [ "${BSDX_BENCH_RAW:-1}" = 0 ] && echo || printf '  raw cargo-zigbuild %.1fs\n' "$c"
  sum_a=$(awk "BEGIN { print $sum_a + $a }"); sum_b=$(awk "BEGIN { print $sum_b + $b }"); sum_c=$(awk "BEGIN { print $sum_c + $c }")
done
printf 'bsdx build / native Linux build: %.3f (target <= 1.00)\n' "$(awk "BEGIN { print $sum_a / $sum_b }")"
[ "${BSDX_BENCH_RAW:-1}" = 0 ] ||
  printf 'bsdx build / raw cargo zigbuild: %.3f (target <= 1.02)\n' "$(awk "BEGIN { print $sum_a / $sum_c }")"

# Where the difference goes, from the last round's cargo timings (seconds of
# each unit's own duration; units overlap on 2 cores, so groups do not add up
# to wall time).
python3 - "$work/t-bsdx" "$work/t-native" <<'PY'
import json, re, sys
def units(target_dir):
    html = open(f"{target_dir}/cargo-timings/cargo-timing.html").read()
    return json.loads(re.search(r"const UNIT_DATA = (\[.*?\n\]);", html, re.S).group(1))
def groups(us):
    g = {"C dependencies' build scripts (ring, SQLite, jemalloc)": 0.0,
         "the bot's crate: compile + final link": 0.0,
         "everything else (std, Rust crates, other build scripts)": 0.0}
    keys = list(g)
    for u in us:
        c_dep = u["mode"] == "run-custom-build" and u["name"] in ("ring", "libsqlite3-sys", "tikv-jemalloc-sys")
        own = u["name"] == "bench-bot" and "bin" in u["target"]
        g[keys[0] if c_dep else keys[1] if own else keys[2]] += u["duration"]
    return g
a, b = groups(units(sys.argv[1])), groups(units(sys.argv[2]))
print(f"{'unit durations (s)':58} {'FreeBSD':>8} {'native':>8} {'diff':>7}")
for k in a:
    print(f"{k:58} {a[k]:8.1f} {b[k]:8.1f} {a[k] - b[k]:+7.1f}")
PY
