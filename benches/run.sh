#!/usr/bin/env bash
# `bsdx run` of a hello program under QEMU, start to exit status, side by side
# in one run: bsdx's defaults against `--cpus 2` (the old default) on the same
# kernel.txz/base.txz. Prints each median (FreeBSD up = QEMU start to bsdx's
# guest script, and the whole run) and the ratio defaults / --cpus 2.
#   benches/run.sh --kernel-txz FILE --base-txz FILE [--release R] [RUNS]
# Goal (issue 21): whole run <= 8 s, FreeBSD up <= 4 s under TCG.
# Without both files it says so and exits 0: no FreeBSD kernel can be fetched
# on the machines this project is built on (no network but package registries).
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
kernel="" base="" release="" runs=3
while [ $# -gt 0 ]; do
  case "$1" in
    --kernel-txz) kernel="$2"; shift 2 ;;
    --base-txz) base="$2"; shift 2 ;;
    --release) release="$2"; shift 2 ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) runs="$1"; shift ;;
  esac
done
if [ -z "$kernel" ] || [ -z "$base" ]; then
  echo "skipped: bsdx run needs a FreeBSD kernel.txz and base.txz (--kernel-txz FILE --base-txz FILE); none can be fetched here"
  exit 0
fi
for f in "$kernel" "$base"; do [ -f "$f" ] || { echo "benches/run.sh: $f: no such file" >&2; exit 2; }; done
work="$(mktemp -d "${TMPDIR:-/tmp}/bsdx-run-bench.XXXXXX")"
trap 'rm -rf "$work"' EXIT

cargo build --release --locked --manifest-path "$repo/Cargo.toml" -q
bsdx="$repo/target/release/bsdx"
if python3 -m ziglang version >/dev/null 2>&1; then zig=(python3 -m ziglang); else zig=(zig); fi
printf '#include <stdio.h>\nint main(void) { puts("hello from FreeBSD"); return 0; }\n' >"$work/hello.c"
"${zig[@]}" cc -target x86_64-freebsd -O2 -o "$work/hello" "$work/hello.c"
"$bsdx" brand "$work/hello" >/dev/null

common=(--kernel-txz "$kernel" --base-txz "$base" --lock "$work/bsdx.lock" --json --quiet)
[ -n "$release" ] && common+=(--release "$release")
export BSDX_CACHE_DIR="$work/cache"
# The first run builds the boot media (cached afterwards): not timed.
"$bsdx" run "${common[@]}" "$work/hello" >"$work/warm.json" || { cat "$work/warm.json"; exit 1; }

field() { python3 -c "import json,sys; r=json.load(open(sys.argv[1])); v=r.get(sys.argv[2]); print(v if v is not None else 'nan')" "$@"; }
median() { sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
declare -A up total
for i in $(seq "$runs"); do
  for mode in default cpus2; do
    extra=(); [ "$mode" = cpus2 ] && extra=(--cpus 2)
    "$bsdx" run "${common[@]}" "${extra[@]}" "$work/hello" >"$work/$mode.json" || { cat "$work/$mode.json"; exit 1; }
    up[$mode]+="$(field "$work/$mode.json" boot_seconds) "
    total[$mode]+="$(field "$work/$mode.json" seconds) "
  done
done
accel=$(field "$work/default.json" accel)
for mode in default cpus2; do
  u=$(printf '%s\n' ${up[$mode]} | median); t=$(printf '%s\n' ${total[$mode]} | median)
  printf '%-22s FreeBSD up %6.2f s   whole run %6.2f s   (median of %d, accel %s)\n' \
    "$([ $mode = default ] && echo 'bsdx run (defaults)' || echo 'bsdx run --cpus 2')" "$u" "$t" "$runs" "$accel"
  eval "t_$mode=$t"
done
printf 'defaults / --cpus 2 (whole run): %.3f\n' "$(awk "BEGIN { print $t_default / $t_cpus2 }")"
