#!/usr/bin/env bash
# tests/nix/check.sh: evaluate bsdx's flake offline and check what it says.
#
# No network is needed: nixpkgs, rust-overlay and crane are replaced with the
# small stand-in flakes in tests/nix/standins (--override-input), so this
# proves the flake evaluates and that its derivations carry the right URLs,
# hashes, commands and environment. It does not build anything with Nix (see
# the README's "what CI verifies" list). Two steps also run what a derivation
# would run, outside Nix, when a built bsdx is available (BSDX_BIN, default
# target/debug/bsdx): the devShell hook, and the sysroot builder on a
# base.txz-shaped tarball made here.
#
# Needs: nix (Debian's nix-bin is enough; this script installs nothing),
# python3, tar, xz. Works as root without a daemon (local store) and as a user
# with a daemon; otherwise set BSDX_NIX_STORE (see below).
#
# Output: one line per check (ok / FAIL / skip); the last line is
# "N passed, M failed". Exit status 0 only when M is 0.
set -uo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
passed=0
failed=0
skipped=0

ok() {
  passed=$((passed + 1))
  printf 'ok    %s\n' "$1"
}
fail() {
  failed=$((failed + 1))
  printf 'FAIL  %s\n' "$1"
  if [ $# -gt 1 ] && [ -n "$2" ]; then printf '%s\n' "$2" | sed 's/^/      /' | head -n 40; fi
}
skip() {
  skipped=$((skipped + 1))
  printf 'skip  %s: %s\n' "$1" "$2"
}
finish() {
  if [ "$skipped" -gt 0 ]; then echo "($skipped skipped; see the skip lines)"; fi
  echo "$passed passed, $failed failed"
  if [ "$failed" -eq 0 ]; then exit 0; else exit 1; fi
}

# ---------------------------------------------------------------- prerequisites
missing=""
for tool in nix python3 tar xz; do
  command -v "$tool" >/dev/null 2>&1 || missing="$missing $tool"
done
if [ -n "$missing" ]; then
  fail "prerequisites" "not found on PATH:$missing (CI installs Debian's nix-bin; this script installs nothing)"
  finish
fi

T=$(mktemp -d "${TMPDIR:-/tmp}/bsdx-nix-check.XXXXXX")
# BSDX_NIX_KEEP=1 keeps the work directory (logs, the flake copies) for debugging.
if [ "${BSDX_NIX_KEEP:-0}" = 1 ]; then echo "work directory: $T (kept)"; else trap 'chmod -R u+w "$T" 2>/dev/null; rm -rf "$T"' EXIT; fi

# Which store: root uses the local store directly (no daemon needed, as in
# CI); a user needs a running nix-daemon. BSDX_NIX_STORE overrides (a chroot
# store directory works for everything but the two template checks: Nix 2.8
# looks template paths up in /nix/store).
store_args=()
if [ -n "${BSDX_NIX_STORE:-}" ]; then
  store_args=(--store "$BSDX_NIX_STORE")
elif [ "$(id -u)" = 0 ]; then
  store_args=(--store local)
elif [ ! -S /nix/var/nix/daemon-socket/socket ]; then
  fail "nix store" "not root and no nix-daemon socket: run as root, start nix-daemon, or set BSDX_NIX_STORE"
  finish
fi

# Offline, and (for the real builds below) without the sandbox: the stand-in
# packages link this machine's tools, which a sandbox would hide.
export NIX_CONFIG="experimental-features = nix-command flakes
sandbox = false
build-users-group =
substituters =
flake-registry =
warn-dirty = false${NIX_CONFIG:+
$NIX_CONFIG}"
nx() { nix "${store_args[@]}" "$@"; }

# nixpkgs 26.05's lib requires Nix >= 2.18 (lib/minfeatures.nix); so do the
# stand-ins (builtins.readFileType in lib.fileset).
nix_version=$(nix --version 2>/dev/null | awk '{print $NF}')
if [ "$(printf '%s\n2.18\n' "$nix_version" | sort -V | head -n 1)" != 2.18 ]; then
  fail "nix >= 2.18" "this is nix $nix_version (Debian 12's nix-bin is 2.8); run .ci/setup-nix and put /opt/bsdx-nix/bin first on PATH"
  finish
fi

if ! out=$(nx eval --expr '1 + 1' 2>&1) || [ "$out" != 2 ]; then
  fail "nix can evaluate (nix $(nix --version 2>/dev/null | awk '{print $NF}'), store: ${store_args[*]:-auto})" "$out"
  finish
fi
ok "nix can evaluate ($(nix --version 2>/dev/null), store: ${store_args[*]:-auto})"

# ------------------------------------------ the stand-ins behave like upstream
# Each expression must fail (or give) what the real nixpkgs lib does; a
# stand-in that accepted them would hide the bugs the real inputs reveal.
standin_out=""
standin_lib="import $REPO/tests/nix/standins/nixpkgs/lib.nix"
expect_fail() { # WHAT EXPR NEEDLE
  if nx eval --impure --json --expr "$2" >/dev/null 2>"$T/err"; then
    standin_out="$standin_out
$1: evaluated"
  elif ! grep -qF -- "$3" "$T/err"; then
    standin_out="$standin_out
$1: error lacks '$3': $(grep -m1 'error:' "$T/err")"
  fi
}
expect_fail "hasInfix with a store path in the needle" \
  "let lib = $standin_lib; d = derivation { name = \"x\"; system = \"x\"; builder = \"/bin/sh\"; }; in lib.hasInfix \"\${d}\" \"\${d}\"" \
  "is not allowed to refer to a store path"
expect_fail "callPackageWith without a required argument" \
  "let lib = $standin_lib; in (lib.callPackageWith { } ({ a, b ? 1 }: a) { })" \
  'Function called without required argument "a"'
expect_fail "fileset.unions of a missing path" \
  "let lib = $standin_lib; in lib.fileset.unions [ /nonexistent/bsdx-file ]" \
  "is a path that does not exist"
if ! v=$(nx eval --impure --json --expr "let lib = $standin_lib; f = lib.makeOverridable ({ a ? 1 }: { v = a; }); in [ (lib.hasInfix \"a.c\" \"abc\") (lib.hasInfix \"b.c\" \"ab.cd\") ((f { }).override { a = 2; }).v ]" 2>"$T/err") || [ "$v" != '[false,true,2]' ]; then
  standin_out="$standin_out
hasInfix treats its needle literally / makeOverridable: $v $(cat "$T/err")"
fi
# escapeShellArg as nixpkgs' lib/strings.nix: a safe word stays bare, others
# are single-quoted (the expected line is nixpkgs' output for these words).
esc_expr='let lib = '"$standin_lib"'; in lib.escapeShellArgs [ "--version" "/nix/store/x-y/bin/a,b:c@d%e+f" "two words" "it'"'"'s" "" "$HOME" ]'
esc_want="--version /nix/store/x-y/bin/a,b:c@d%e+f 'two words' 'it'\\''s' '' '\$HOME'"
if ! v=$(nx eval --impure --raw --expr "$esc_expr" 2>"$T/err") || [ "$v" != "$esc_want" ]; then
  standin_out="$standin_out
escapeShellArgs: got [$v], nixpkgs gives [$esc_want] $(cat "$T/err")"
fi
if [ -z "$standin_out" ]; then ok "stand-in lib behaves like nixpkgs lib: escapeShellArg quotes only unsafe words, hasInfix refuses a store-path needle and is literal, callPackage names a missing argument, fileset checks paths, override"; else fail "stand-in lib" "$standin_out"; fi

# ------------------------------------------------------------- the flake copy
# A copy of the files git would commit (tracked + untracked, not ignored): a
# path: flake of the checkout itself would copy target/ into the store, and a
# git+file: one would leave out files not committed yet.
R="$T/bsdx"
mkdir -p "$R"
if git -C "$REPO" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  (cd "$REPO" && git ls-files -z --cached --others --exclude-standard | tar --null --ignore-failed-read -T - -cf -) | tar -xf - -C "$R"
else
  tar -C "$REPO" --exclude=./target --exclude=./.git -cf - . | tar -xf - -C "$R"
fi
S="$R/tests/nix/standins"
F="path:$R"
OVR=(--override-input nixpkgs "path:$S/nixpkgs" --override-input rust-overlay "path:$S/rust-overlay" --override-input crane "path:$S/crane")
SUB_OVR=(--override-input bsdx/nixpkgs "path:$S/nixpkgs" --override-input bsdx/rust-overlay "path:$S/rust-overlay" --override-input bsdx/crane "path:$S/crane")

# ev FLAKEREF#ATTR [args]: nix eval with the stand-ins; stderr kept in $T/err
ev() { nx eval --no-write-lock-file "${OVR[@]}" "$@" 2>"$T/err"; }
err() { grep -v -e '^evaluating ' -e '^warning: not writing modified lock file' -e '^• Updated input' -e "^    '" -e '^  → ' "$T/err"; }

# pycheck NAME JSON-FILE PYTHON: run PYTHON with `data` (the JSON) and `fail(msg)`; ok if nothing failed
pycheck() {
  local name=$1 json=$2 code=$3 res
  if res=$(REPO="$R" python3 - "$json" <<EOF 2>&1
import json, os, sys
data = json.load(open(sys.argv[1]))
R = os.environ["REPO"]
catalog = json.load(open(os.path.join(R, "data/releases.json")))
releases = {r["release"]: r["base_txz"] for r in catalog["releases"]}
errors = []
def fail(msg): errors.append(msg)
$code
if errors:
    print("\n".join(errors)); sys.exit(1)
EOF
  ); then ok "$name"; else fail "$name" "$res"; fi
}

SYSTEM=x86_64-linux
sysroot_path=""
bsdx_drv=""
DEFAULT_RELEASE=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["default_release"])' "$R/data/releases.json")
DEFAULT_SYSROOT="sysroot-${DEFAULT_RELEASE//./_}-amd64"

# ------------------------------------------------------------------ flake show
if nx flake show --json --no-write-lock-file "${OVR[@]}" "$F" >"$T/show.json" 2>"$T/err"; then
  pycheck "nix flake show: packages, devShells, checks, formatter per system; templates, overlays, lib" "$T/show.json" '
want_pkgs = {"default", "bsdx", "freebsd", "freebsd-pkg", "freebsd-repo"} | {"sysroot-%s-%s" % (r.replace(".", "_"), a) for r in releases for a in releases[r]}
want_checks = {"freebsd", "bsdx-tests", "reproducible", "eval-devshell-env", "eval-base-txz-pins", "eval-build-commands", "eval-toolchain", "eval-run", "eval-pkg-repo"}
for system in ("x86_64-linux", "aarch64-linux"):
    pkgs = set(data.get("packages", {}).get(system, {}))
    if pkgs != want_pkgs: fail("packages.%s: %s, want %s" % (system, sorted(pkgs), sorted(want_pkgs)))
    if "default" not in data.get("devShells", {}).get(system, {}): fail("devShells.%s.default missing" % system)
    checks = set(data.get("checks", {}).get(system, {}))
    if checks != want_checks: fail("checks.%s: %s, want %s" % (system, sorted(checks), sorted(want_checks)))
    if system not in data.get("formatter", {}): fail("formatter.%s missing" % system)
if set(data.get("templates", {})) != {"bot", "default"}: fail("templates: %s" % sorted(data.get("templates", {})))
if "default" not in data.get("overlays", {}): fail("overlays.default missing")
if "lib" not in data: fail("lib missing")
'
else
  fail "nix flake show" "$(err)"
fi

# ----------------------------------------------------------------- flake check
if nx flake check --all-systems --no-build --no-write-lock-file "${OVR[@]}" "$F" 2>"$T/err"; then
  ok "nix flake check --all-systems --no-build: every output of every system evaluates, the eval-* assertions hold"
else
  fail "nix flake check --no-build" "$(err)"
fi

# ------------------------------------------------------------ flake.lock nodes
python3 - "$R/flake.lock" "$REPO/../shared/nix/pins.json" >"$T/lock.out" 2>&1 <<'EOF'
import json, os, sys
lock = json.load(open(sys.argv[1]))
errors = []
nodes = lock.get("nodes", {})
if lock.get("version") != 7: errors.append("lock version %r, want 7" % lock.get("version"))
if set(nodes) != {"root", "nixpkgs", "rust-overlay", "crane"}: errors.append("nodes: %s" % sorted(nodes))
if nodes.get("root", {}).get("inputs") != {"nixpkgs": "nixpkgs", "rust-overlay": "rust-overlay", "crane": "crane"}:
    errors.append("root inputs: %r" % nodes.get("root", {}).get("inputs"))
if nodes.get("rust-overlay", {}).get("inputs") != {"nixpkgs": ["nixpkgs"]}:
    errors.append("rust-overlay does not follow the root nixpkgs")
if nodes.get("nixpkgs", {}).get("original", {}).get("ref") != "nixos-26.05":
    errors.append("nixpkgs is not nixos-26.05")
for name, node in nodes.items():
    if name != "root" and not node.get("locked", {}).get("narHash", "").startswith("sha256-"):
        errors.append("%s: no narHash" % name)
if os.path.exists(sys.argv[2]):
    pins = json.load(open(sys.argv[2]))
    for node, pin in (("nixpkgs", "nixos-26.05"), ("rust-overlay", "rust-overlay"), ("crane", "crane")):
        if nodes.get(node) != pins[pin]: errors.append("%s differs from shared/nix/pins.json %s" % (node, pin))
    print("compared with shared/nix/pins.json")
else:
    print("shared/nix/pins.json not found: structure only")
if errors:
    print("\n".join(errors)); sys.exit(1)
EOF
if [ $? -eq 0 ]; then ok "flake.lock: version 7, root + nixpkgs (nixos-26.05) + rust-overlay (follows nixpkgs) + crane; $(tail -n 1 "$T/lock.out")"; else fail "flake.lock" "$(cat "$T/lock.out")"; fi

# ---------------------------------------------------- packages and FOD pins
if ev --json "$F#packages.$SYSTEM" --apply '
  ps: builtins.mapAttrs (n: p:
    { name = p.name; drvPath = p.drvPath; }
    // (if builtins.substring 0 8 n == "sysroot-" then {
      inherit (p) release arch buildCommand;
      # (a set with an outPath attribute would be printed as that path)
      out = p.outPath;
      base = {
        inherit (p.baseTxz) urls outputHash outputHashAlgo name;
        path = p.baseTxz.outPath;
      };
    } else { })) ps' >"$T/pkgs.json"; then
  pycheck "packages.$SYSTEM: default is bsdx; freebsd is the bot template" "$T/pkgs.json" '
if data["default"]["drvPath"] != data["bsdx"]["drvPath"]: fail("default is not bsdx")
if not data["bsdx"]["name"].startswith("bsdx-"): fail("bsdx is %s" % data["bsdx"]["name"])
if not data["freebsd"]["name"].startswith("bsdx-bot-template-"): fail("freebsd is %s" % data["freebsd"]["name"])
'
  pycheck "base.txz FODs: urls, sha256 and name of every release/arch equal data/releases.json" "$T/pkgs.json" '
seen = set()
for n, p in data.items():
    if not n.startswith("sysroot-"): continue
    r, a = p["release"], p["arch"]
    seen.add((r, a))
    if n != "sysroot-%s-%s" % (r.replace(".", "_"), a): fail("%s is %s/%s" % (n, r, a))
    pin = releases.get(r, {}).get(a)
    if pin is None: fail("%s: no pin %s/%s" % (n, r, a)); continue
    b = p["base"]
    if b["urls"] != pin["urls"]: fail("%s: urls %r != %r" % (n, b["urls"], pin["urls"]))
    if b["outputHash"] != pin["sha256"] or b["outputHashAlgo"] != "sha256": fail("%s: hash %s:%s != sha256:%s" % (n, b["outputHashAlgo"], b["outputHash"], pin["sha256"]))
    if not b["name"].endswith("base.txz"): fail("%s: FOD name %s" % (n, b["name"]))
want = {(r, a) for r in releases for a in releases[r]}
if seen != want: fail("sysroots %s != pins %s" % (sorted(seen), sorted(want)))
'
  pycheck "sysroot derivations run \`bsdx sysroot extract <pinned base.txz> --out \$out --release R --target A\`" "$T/pkgs.json" '
for n, p in data.items():
    if not n.startswith("sysroot-"): continue
    want = "bsdx sysroot extract %s --out \"$out\" --release %s --target %s" % (p["base"]["path"], p["release"], p["arch"])
    if want not in p["buildCommand"]: fail("%s: buildCommand lacks %s:\n%s" % (n, want, p["buildCommand"]))
'
else
  fail "packages.$SYSTEM evaluate" "$(err)"
fi

# ----------------------------------------------------------------- devShell
if ev --json "$F#devShells.$SYSTEM.default" --apply '
  s: {
    inherit (s) shellHook BSDX_SYSROOT BSDX_RELEASE BSDX_TARGET;
    inputs = map (d: { name = d.name; drvPath = d.drvPath; }) (s.nativeBuildInputs or [ ]);
  }' >"$T/shell.json" &&
  sysroot_path=$(ev --raw "$F#packages.$SYSTEM.$DEFAULT_SYSROOT.outPath") &&
  bsdx_drv=$(ev --raw "$F#packages.$SYSTEM.bsdx.drvPath"); then
  pycheck "devShell: shellHook evaluates \`bsdx env --sysroot <sysroot store path>\`; BSDX_SYSROOT/RELEASE/TARGET" "$T/shell.json" "
sysroot, release = '$sysroot_path', '$DEFAULT_RELEASE'
call = 'bsdx env --sysroot %s --release %s --target x86_64-unknown-freebsd' % (sysroot, release)
if call not in data['shellHook']: fail('shellHook lacks %r:\n%s' % (call, data['shellHook']))
if 'eval \"\$bsdx_env\"' not in data['shellHook']: fail('shellHook does not eval the output')
if data['BSDX_SYSROOT'] != sysroot: fail('BSDX_SYSROOT %s' % data['BSDX_SYSROOT'])
if (data['BSDX_RELEASE'], data['BSDX_TARGET']) != (release, 'x86_64-unknown-freebsd'): fail('BSDX_RELEASE/TARGET')
if catalog['default_release'] != release: fail('default release')
"
  pycheck "devShell: packages are bsdx, Rust, Zig 0.15, cargo-zigbuild" "$T/shell.json" "
names = [i['name'] for i in data['inputs']]
if '$bsdx_drv' not in [i['drvPath'] for i in data['inputs']]: fail('bsdx is not in the shell: %s' % names)
if not any('zig-0.15' in n for n in names): fail('no Zig 0.15: %s' % names)
if not any('cargo-zigbuild' in n for n in names): fail('no cargo-zigbuild: %s' % names)
if not any('rust' in n for n in names): fail('no Rust toolchain: %s' % names)
"
else
  fail "devShell evaluates" "$(err)"
fi

# ---------------------------------------------------------- packages.freebsd
if ev --json "$F#packages.$SYSTEM.freebsd" --apply '
  p: {
    inherit (p) buildPhase preBuild installCheckPhase postInstall doInstallCheck CARGO_BUILD_TARGET
      dontUseZigBuild dontUseZigCheck dontUseZigInstall dontStrip dontPatchELF dontPatchShebangs doCheck
      BSDX_ZIG CARGO_ZIGBUILD_ZIG_PATH CARGO_ZIGBUILD_PYTHON_PATH;
    outputs = p.outputs or [ "out" ];
    sysroot = "${p.sysroot}";
    inputs = map (d: d.name) p.nativeBuildInputs;
    deps = { inherit (p.cargoArtifacts) preBuild buildPhase; };
  }' >"$T/freebsd.json"; then
  pycheck "packages.freebsd: crane runs \`cargo zigbuild --profile release --target T\` in the env \`bsdx env\` prints; \`bsdx check\` audits \$out" "$T/freebsd.json" "
sysroot, release, t = '$sysroot_path', '$DEFAULT_RELEASE', 'x86_64-unknown-freebsd'
if 'cargo zigbuild --profile release' not in data['buildPhase'] or '--target ' + t not in data['buildPhase']: fail('buildPhase:\n' + data['buildPhase'])
env = 'bsdx env --sysroot %s --release %s --target %s' % (sysroot, release, t)
for where, pre in (('preBuild', data['preBuild']), ('dependency build preBuild', data['deps']['preBuild'])):
    if env not in pre or 'eval \"\$bsdxEnv\"' not in pre: fail('%s lacks %s:\n%s' % (where, env, pre))
    for v in ('ZIG_GLOBAL_CACHE_DIR', 'ZIG_LOCAL_CACHE_DIR', 'CARGO_ZIGBUILD_CACHE_DIR', 'BSDX_CACHE_DIR'):
        if 'export %s=\"\$TMPDIR/' % v not in pre: fail('%s: %s not in \$TMPDIR' % (where, v))
if 'cargo zigbuild --profile release' not in data['deps']['buildPhase']: fail('dependency build does not use cargo zigbuild')
chk = 'bsdx check \"\$out/bin\" --release %s --sysroot %s --target %s' % (release, sysroot, t)
if chk not in data['installCheckPhase'] or data['doInstallCheck'] is not True: fail('installCheck lacks ' + chk)
if data['sysroot'] != sysroot: fail('sysroot %s' % data['sysroot'])
if data['CARGO_BUILD_TARGET'] != t: fail('CARGO_BUILD_TARGET')
if not all(data[k] is True for k in ('dontUseZigBuild', 'dontUseZigCheck', 'dontUseZigInstall')): fail('Zig setup hook not disabled')
if not (data['dontStrip'] and data['dontPatchELF'] and data['dontPatchShebangs'] and data['doCheck'] is False): fail('dontStrip/dontPatchELF/dontPatchShebangs/doCheck')
if not (data['BSDX_ZIG'].startswith('/nix/store/') and data['BSDX_ZIG'].endswith('/bin/zig') and data['CARGO_ZIGBUILD_ZIG_PATH'] == data['BSDX_ZIG']): fail('the pinned Zig is not given to bsdx and cargo-zigbuild')
if data['outputs'] != ['out', 'pkg'] or 'bsdx package . --from-binary' not in data['postInstall'] or 'bsdx rcd --out' not in data['postInstall']: fail('the bot declares a service: rc.d via bsdx rcd and a pkg output expected')
if not any('writable-tmpdir-as-home' in n for n in data['inputs']): fail('no writable HOME hook: %s' % data['inputs'])
"
else
  fail "packages.freebsd evaluates" "$(err)"
fi

# --------------------------------------------- lib and overlay (probe flake)
P="path:$R/tests/nix/probe"
if nx eval --json --no-write-lock-file --override-input bsdx "$F" "${SUB_OVR[@]}" "$P#probe" >"$T/probe.json" 2>"$T/err"; then
  pycheck "lib.buildFreebsdPackage/mkDevShell and overlays.default: release, target, pkgs arguments" "$T/probe.json" '
a, r = data["aarch64"], data["release135"]
if a["target"] != "aarch64-unknown-freebsd" or "--target aarch64-unknown-freebsd" not in a["buildPhase"]: fail("aarch64 target not used")
if not a["sysroot"].endswith("-%s-arm64-sysroot" % catalog["default_release"]): fail("aarch64 sysroot %s" % a["sysroot"])
if not a["vendorDir"]: fail("aarch64: std dependencies not vendored (no cargoVendorDir)")
if r["vendorDir"]: fail("x86_64 vendors std dependencies it does not build")
if r["sysroot"] != data["sysroot135"] or "--release 13.5" not in r["installCheckPhase"]: fail("release 13.5 not used: %s" % r["sysroot"])
if "--release 13.5" not in data["shell135"] or data["sysroot135"] not in data["shell135"]: fail("mkDevShell release 13.5")
if data["withPkgs"]["drvPath"] != data["overlay"]["freebsd"]["drvPath"]: fail("lib with pkgs differs from the overlay")
if not data["overlay"]["bsdx"].endswith(".drv"): fail("overlay bsdx")
rp = data["reproducible"]
if rp["first"] != rp["freebsd"] or rp["second"] == rp["first"] or "rebuilt-elsewhere" not in rp["secondPostUnpack"]: fail("checks.reproducible does not rebuild packages.freebsd elsewhere")
'
else
  fail "probe flake evaluates" "$(err)"
fi

bad_out=""
for case in "release:known releases: 13.5, 14.2, 14.3, 14.4, 15.0, 15.1" "arch:known for 15.1: amd64" "target:known: aarch64-unknown-freebsd, x86_64-unknown-freebsd" "system:is not one of x86_64-linux"; do
  attr=${case%%:*}
  want=${case#*:}
  if nx eval --json --no-write-lock-file --override-input bsdx "$F" "${SUB_OVR[@]}" "$P#bad.$attr" >/dev/null 2>"$T/err"; then
    bad_out="$bad_out
bad.$attr evaluated"
  elif ! grep -qF -- "$want" "$T/err"; then
    bad_out="$bad_out
bad.$attr: error lacks '$want': $(err | head -n 3)"
  fi
done
if [ -z "$bad_out" ]; then ok "unknown release / arch / target / system: evaluation fails naming the known ones"; else fail "bad input" "$bad_out"; fi

# ------------------------------------------------------------------ templates
if ev --json "$F#templates" --apply 't: builtins.mapAttrs (n: v: { path = "${v.path}"; inherit (v) description welcomeText; }) t' >"$T/templates.json"; then
  pycheck "templates.bot/default: description, welcomeText, a path with Cargo.toml, flake.nix, rc.d/ and no flake.lock" "$T/templates.json" '
for n in ("bot", "default"):
    t = data[n]
    if len(t["description"]) < 10 or len(t["welcomeText"]) < 10: fail("%s: description/welcomeText" % n)
    for f in ("Cargo.toml", "Cargo.lock", "flake.nix", "rc.d", "src/main.rs"):
        if not os.path.exists(os.path.join(t["path"], f)): fail("%s: %s missing from %s" % (n, f, t["path"]))
    if os.path.exists(os.path.join(t["path"], "flake.lock")): fail("%s ships a flake.lock" % n)
if data["bot"]["path"] != data["default"]["path"]: fail("default is not bot")
'
else
  fail "templates evaluate" "$(err)"
fi

# ------------------------------------------- nix flake init -t <repo>#bot
proj="$T/newbot"
mkdir -p "$proj"
if (cd "$proj" && nx flake init -t "$F#bot") >"$T/init.out" 2>&1; then
  missing=""
  for f in flake.nix Cargo.toml Cargo.lock rc.d/bsdx_bot_template src/main.rs; do
    [ -e "$proj/$f" ] || missing="$missing $f"
  done
  [ -e "$proj/flake.lock" ] && missing="$missing (a flake.lock was created)"
  grep -q 'inputs.bsdx.url = "' "$proj/flake.nix" || missing="$missing (no inputs.bsdx.url)"
  if [ -z "$missing" ]; then ok "nix flake init -t path:<repo>#bot creates the project"; else fail "nix flake init -t path:<repo>#bot" "missing:$missing"; fi
  # Without the input overridden, the first nix command stops at the
  # placeholder URL, naming what to edit (what welcomeText and the README say).
  if nx eval --raw --no-write-lock-file "path:$proj#packages.$SYSTEM.freebsd.drvPath" >/dev/null 2>"$T/err"; then
    fail "the new project's placeholder bsdx URL" "evaluated without inputs.bsdx.url set"
  elif ! grep -qF "edit-inputs.bsdx.url-in-flake.nix" "$T/err"; then
    fail "the new project's placeholder bsdx URL" "error does not name inputs.bsdx.url: $(err | head -n 5)"
  else
    ok "the new project's first nix command fails naming inputs.bsdx.url in flake.nix"
  fi
  q='p: { inherit (p) buildPhase preBuild installCheckPhase postInstall; sysroot = "${p.sysroot}"; }'
  if nx eval --json --no-write-lock-file --override-input bsdx "$F" "${SUB_OVR[@]}" "path:$proj#packages.$SYSTEM.freebsd" --apply "$q" >"$T/proj.json" 2>"$T/err" &&
    proj_shell=$(nx eval --raw --no-write-lock-file --override-input bsdx "$F" "${SUB_OVR[@]}" "path:$proj#devShells.$SYSTEM.default.drvPath" 2>>"$T/err") &&
    proj_default=$(nx eval --raw --no-write-lock-file --override-input bsdx "$F" "${SUB_OVR[@]}" "path:$proj#packages.$SYSTEM.default.drvPath" 2>>"$T/err") &&
    proj_freebsd=$(nx eval --raw --no-write-lock-file --override-input bsdx "$F" "${SUB_OVR[@]}" "path:$proj#packages.$SYSTEM.freebsd.drvPath" 2>>"$T/err") &&
    repo_shell=$(ev --raw "$F#devShells.$SYSTEM.default.drvPath") &&
    ev --json "$F#packages.$SYSTEM.freebsd" --apply "$q" >"$T/repo.json"; then
    if [ "$proj_shell" != "$repo_shell" ]; then
      fail "the new project's flake evaluates like the repo's" "devShell $proj_shell != $repo_shell"
    elif [ "$proj_default" != "$proj_freebsd" ]; then
      fail "the new project's flake evaluates like the repo's" "packages.default is not packages.freebsd"
    elif ! cmp -s "$T/proj.json" "$T/repo.json"; then
      fail "the new project's flake evaluates like the repo's" "packages.freebsd phases differ: $(diff "$T/repo.json" "$T/proj.json" | head -n 5)"
    else
      ok "the new project's flake (bsdx input overridden with the checkout) evaluates like the repo's: same devShell, same freebsd phases"
    fi
  else
    fail "the new project's flake evaluates" "$(err)"
  fi
else
  fail "nix flake init -t path:<repo>#bot" "$(cat "$T/init.out")"
fi

# -------------------------------------- builder steps run outside Nix (bsdx)
BSDX=${BSDX_BIN:-$REPO/target/debug/bsdx}
if [ ! -x "$BSDX" ]; then
  skip "devShell hook run outside Nix" "no bsdx at $BSDX (cargo build, or set BSDX_BIN)"
  skip "sysroot builder run outside Nix" "no bsdx at $BSDX (cargo build, or set BSDX_BIN)"
  finish
fi
bindir="$T/bin"
mkdir -p "$bindir"
ln -s "$(cd "$(dirname "$BSDX")" && pwd)/$(basename "$BSDX")" "$bindir/bsdx"
export BSDX_CACHE_DIR="$T/bsdx-cache"

# The devShell's shellHook, with the sysroot store path (not built here)
# replaced by a stand-in sysroot of stub libraries, run in bash: the variables
# it leaves must be exactly what `bsdx env --format json` reports.
fake="$T/fake-sysroot"
if ! "$BSDX" stubs --release "$DEFAULT_RELEASE" --out "$fake/lib" >"$T/stubs.out" 2>&1; then
  skip "devShell hook run outside Nix" "bsdx stubs failed (Zig missing?): $(tail -n 1 "$T/stubs.out")"
elif [ -z "$sysroot_path" ] || ! hook=$(ev --raw "$F#devShells.$SYSTEM.default.shellHook"); then
  fail "devShell hook run outside Nix" "$(err)"
elif ! "$BSDX" env --sysroot "$fake" --release "$DEFAULT_RELEASE" --target x86_64-unknown-freebsd --format json >"$T/env.json" 2>"$T/env.err"; then
  skip "devShell hook run outside Nix" "bsdx env cannot run here: $(tail -n 1 "$T/env.err")"
else
  hook=${hook//"$sysroot_path"/"$fake"}
  if env -u BSDX_SYSROOT -u BSDX_RELEASE -u BSDX_TARGET -u RUSTFLAGS -u CARGO_ENCODED_RUSTFLAGS PATH="$bindir:$PATH" \
    bash -c "$hook"$'\n''env -0' >"$T/after.env" 2>"$T/hook.err"; then
    res=$(python3 - "$T/env.json" "$T/after.env" <<'EOF'
import json, sys
want = {v["name"]: v["value"] for v in json.load(open(sys.argv[1]))["vars"]}
got = dict(kv.split("=", 1) for kv in open(sys.argv[2]).read().split("\0") if "=" in kv)
bad = ["%s: %r != %r" % (k, got.get(k), v) for k, v in want.items() if got.get(k) != v]
print("\n".join(bad) if bad else "%d variables" % len(want)); sys.exit(1 if bad else 0)
EOF
    )
    if [ $? -eq 0 ]; then ok "devShell hook run outside Nix exports what \`bsdx env\` prints ($res)"; else fail "devShell hook run outside Nix" "$res"; fi
  else
    fail "devShell hook run outside Nix" "$(cat "$T/hook.err")"
  fi
fi

# `bsdx new` ships the template's flake.nix with the name substituted; the
# project's flake evaluates with the bsdx input pointed at this checkout.
newp="$T/my-bot"
if ! "$BSDX" new my-bot --path "$newp" >/dev/null 2>"$T/new.err"; then
  fail "bsdx new: the project's flake evaluates" "$(cat "$T/new.err")"
elif [ ! -f "$newp/flake.nix" ]; then
  skip "bsdx new: the project's flake evaluates" "this bsdx embeds no templates/bot/flake.nix (rebuild it)"
elif name=$(nx eval --raw --no-write-lock-file --override-input bsdx "$F" "${SUB_OVR[@]}" "path:$newp#packages.$SYSTEM.freebsd.name" 2>"$T/err"); then
  if [ "$name" = my-bot-0.1.0 ] && ! grep -q 'bsdx-bot-template\|bsdx_bot_template' "$newp/flake.nix"; then
    ok "bsdx new: the project's flake.nix has the new name and evaluates (packages.freebsd is $name)"
  else
    fail "bsdx new: the project's flake evaluates" "packages.freebsd is $name, or flake.nix keeps a placeholder"
  fi
else
  fail "bsdx new: the project's flake evaluates" "$(err)"
fi

# `bsdx new --flake URL` writes URL as inputs.bsdx.url: the project's first
# nix command then needs no --override-input for bsdx (only for bsdx's own
# inputs, which are the stand-ins here).
newf="$T/my-bot-flake"
if ! "$BSDX" new my-bot --path "$newf" --flake "$F" >/dev/null 2>"$T/new.err"; then
  fail "bsdx new --flake: the project's flake evaluates as written" "$(cat "$T/new.err")"
elif ! grep -qF "inputs.bsdx.url = \"$F\";" "$newf/flake.nix"; then
  fail "bsdx new --flake: the project's flake evaluates as written" "flake.nix does not name $F: $(grep -n 'inputs.bsdx.url' "$newf/flake.nix")"
elif name=$(nx eval --raw --no-write-lock-file "${SUB_OVR[@]}" "path:$newf#packages.$SYSTEM.freebsd.name" 2>"$T/err"); then
  if [ "$name" = my-bot-0.1.0 ]; then ok "bsdx new --flake URL: inputs.bsdx.url is URL and the flake evaluates with no override of bsdx"; else fail "bsdx new --flake" "packages.freebsd is $name"; fi
else
  fail "bsdx new --flake: the project's flake evaluates as written" "$(err)"
fi

# ------------------------------------------------------ real builds by Nix
# With sandbox = false and the stand-ins linking this machine's tools, Nix
# builds: bsdx itself (crane), a sysroot from a base.txz-shaped tarball made
# here (`bsdx sysroot extract` in nix/sysroot.nix), the sysinfo template and a
# service variant of it (buildFreebsdPackage: preBuild, postInstall, installCheck),
# the service built again elsewhere (passthru.tests.reproducible), bsdx's unit
# tests, an eval check; `nix develop` runs the shell hook and a plain
# `cargo zigbuild`. BSDX_NIX_BUILDS=0 skips this part (evaluation only).
if [ "${BSDX_NIX_BUILDS:-1}" = 0 ]; then
  skip "real nix builds" "BSDX_NIX_BUILDS=0"
  finish
fi
if [ ! -d "$fake/lib" ]; then
  fail "real nix builds" "no stub libraries to pack into a base.txz (see above)"
  finish
fi
base="$T/base"
mkdir -p "$base/lib" "$base/usr/lib"
for so in "$fake"/lib/lib*.so.*; do
  cp "$so" "$base/lib/"
  n=$(basename "$so")
  ln -s "../../lib/$n" "$base/usr/lib/${n%%.so.*}.so"
done
printf '/* GNU ld script */\nGROUP ( /lib/libc.so.7 /usr/lib/libc_nonshared.a )\n' >"$base/usr/lib/libc.so"
printf '!<arch>\n' >"$base/usr/lib/libkvm.a"
B="$R/tests/nix/builds"
tar -C "$base" -cJf "$B/base.txz" ./lib ./usr
cp -r "$R/templates/sysinfo" "$B/sysinfo"
cp -r "$R/templates/sysinfo" "$B/service"
printf '\n[package.metadata.bsdx.service]\nargs = ["--interval", "60"]\n' >>"$B/service/Cargo.toml"
BF="path:$B"
if ! python3 "$R/tests/nix/host-tools.py" "$S/nixpkgs/host-tools.json" 2>"$T/err"; then
  fail "real nix builds: this machine's tools for the stand-in nixpkgs" "$(cat "$T/err")"
  finish
fi
# nb ATTR...: nix build with the stand-ins; store paths on stdout, log in $T/build.log
BUILD_OVR=(--override-input bsdx "$F" "${SUB_OVR[@]}")
nb() { nx build --no-link --print-out-paths --no-write-lock-file -L "${BUILD_OVR[@]}" "$@" 2>>"$T/build.log"; }
buildlog() { grep -v -e '^warning: not writing' -e '^• Updated input' -e "^    '" -e '^  → ' "$T/build.log" | tail -n 40; }
t0=$SECONDS

sysroot=""
if sysroot=$(nb "$BF#sysroot"); then
  problems=""
  [ -e "$sysroot/bsdx-sysroot.json" ] || problems="$problems no bsdx-sysroot.json;"
  [ -e "$sysroot/lib/libkvm.so.7" ] || problems="$problems no lib/libkvm.so.7;"
  if grep -rlI 'GROUP' "$sysroot" >/dev/null 2>&1; then problems="$problems a linker script was kept;"; fi
  if find "$sysroot" -name '*.a' | grep -q .; then problems="$problems a static archive was kept;"; fi
  if ! "$BSDX" env --sysroot "$sysroot" --release "$DEFAULT_RELEASE" >/dev/null 2>"$T/env2.err"; then problems="$problems bsdx env rejects it: $(tail -n 1 "$T/env2.err");"; fi
  if [ -z "$problems" ]; then ok "nix build: mkSysroot over a constructed base.txz (bsdx, built by crane, runs bsdx sysroot extract) gives a sysroot bsdx env accepts"; else fail "nix build: mkSysroot" "$problems"; fi
else
  sysroot=""
  fail "nix build: mkSysroot (and bsdx, built by crane)" "$(buildlog)"
fi

# audit BIN WHAT: bsdx check over the Nix sysroot; ABI note; EI_OSABI 9
audit() {
  local bin=$1 what=$2 j
  if ! j=$("$BSDX" check "$bin" --release "$DEFAULT_RELEASE" --sysroot "$sysroot" --json 2>&1); then
    echo "$what: bsdx check rejects $bin: $(echo "$j" | tail -n 5)"
    return
  fi
  python3 - "$bin" "$what" <<'PY'
import sys
data = open(sys.argv[1], "rb").read()
what = sys.argv[2]
if data[:4] != b"\x7fELF": print(what + ": not an ELF file")
elif data[7] != 9: print(what + ": EI_OSABI is %d, not 9 (FreeBSD)" % data[7])
elif b"FreeBSD\x00" not in data: print(what + ": no FreeBSD ABI note")
PY
}

sysinfo_out=""
if [ -n "$sysroot" ] && sysinfo_out=$(nb "$BF#sysinfo"); then
  problems=$(audit "$sysinfo_out/bin/bsdx-sysinfo-template" sysinfo)
  if [ -e "$sysinfo_out/etc" ]; then problems="$problems etc/ installed for a project without a service or rc.d/;"; fi
  if [ -z "$problems" ]; then
    ok "nix build: buildFreebsdPackage of templates/sysinfo: \$out/bin passes bsdx check, carries the ABI note and EI_OSABI 9 (sha256 $(sha256sum "$sysinfo_out/bin/bsdx-sysinfo-template" | cut -c1-16)…)"
  else
    fail "nix build: buildFreebsdPackage of templates/sysinfo" "$problems"
  fi
else
  sysinfo_out=""
  fail "nix build: buildFreebsdPackage of templates/sysinfo" "$(buildlog)"
fi

service_out=""
if [ -n "$sysinfo_out" ] && service_out=$(nb "$BF#service") && service_pkg=$(nb "$BF#service-pkg"); then
  name=bsdx_sysinfo_template
  rcd="$service_out/etc/rc.d/$name"
  problems=$(audit "$service_out/bin/bsdx-sysinfo-template" service)
  if [ ! -f "$rcd" ]; then
    problems="$problems no etc/rc.d/$name;"
  else
    [ "$(head -n 1 "$rcd")" = '#!/bin/sh' ] || problems="$problems the rc.d script starts with $(head -n 1 "$rcd"), not #!/bin/sh (patchShebangs ran);"
    case "$(stat -c %a "$rcd")" in 555 | 755) ;; *) problems="$problems rc.d mode $(stat -c %a "$rcd");" ;; esac
    "$BSDX" rcd lint "$rcd" >"$T/lint.out" 2>&1 || problems="$problems bsdx rcd lint: $(cat "$T/lint.out");"
    "$BSDX" rcd "$B/service" 2>/dev/null | cmp -s - "$rcd" || problems="$problems the installed script is not what bsdx rcd prints;"
  fi
  [ -f "$service_out/etc/newsyslog.conf.d/$name.conf" ] || problems="$problems no newsyslog drop-in;"
  pkgfile=$(ls "$service_pkg"/*.pkg 2>/dev/null | head -n 1)
  if [ -z "$pkgfile" ]; then
    problems="$problems no .pkg in the pkg output;"
  elif ! "$BSDX" package --inspect "$pkgfile" --json >"$T/inspect.json" 2>"$T/inspect.err"; then
    problems="$problems bsdx package --inspect: $(tail -n 3 "$T/inspect.err");"
  else
    bin_sum=$(sha256sum "$service_out/bin/bsdx-sysinfo-template" | cut -d' ' -f1)
    grep -q "$bin_sum" "$T/inspect.json" || problems="$problems the .pkg's binary is not \$out/bin's ($bin_sum);"
  fi
  if ctl=$(nb "$BF#shebang-control"); then
    case "$(head -n 1 "$ctl/etc/rc.d/control")" in
      '#!/nix/store/'*/bin/sh) ;;
      *) problems="$problems the control script (fixup on) kept $(head -n 1 "$ctl/etc/rc.d/control"): the stand-in's patchShebangs proves nothing;" ;;
    esac
  else
    problems="$problems the shebang control did not build;"
  fi
  if [ -z "$problems" ]; then
    ok "nix build: a declared service: \$out/etc/rc.d (#!/bin/sh kept with sh in buildInputs, where fixup rewrites a control script's; lint-clean, = bsdx rcd), newsyslog drop-in, and the pkg output's $(basename "$pkgfile") reads back with \$out/bin's binary"
  else
    fail "nix build: a declared service" "$problems"
  fi
else
  service_out=""
  fail "nix build: a declared service (rc.d, pkg output)" "$(buildlog)"
fi

# mkPkgRepo: the catalog bsdx repo writes, read back by bsdx repo --verify,
# and the same bytes when Nix builds it again (--rebuild compares).
if [ -n "$service_out" ] && repo_out=$(nb "$BF#service-repo"); then
  problems=""
  ls "$repo_out"/All/*.pkg >/dev/null 2>&1 || problems="$problems no All/*.pkg;"
  for f in meta.conf data.pkg packagesite.pkg; do [ -f "$repo_out/$f" ] || problems="$problems no $f;"; done
  [ -e "$repo_out/.bsdx-repo-cache.json" ] && problems="$problems the incremental cache is in the output;"
  "$BSDX" repo --verify "$repo_out" >"$T/verify.out" 2>&1 || problems="$problems bsdx repo --verify: $(cat "$T/verify.out");"
  nx build --no-link --rebuild --no-write-lock-file --override-input bsdx "$F" "${SUB_OVR[@]}" "$BF#service-repo" 2>"$T/rebuild.err" || problems="$problems nix build --rebuild: $(tail -n 3 "$T/rebuild.err");"
  if [ -z "$problems" ]; then ok "nix build: lib.mkPkgRepo over the service's .pkg (bsdx repo --verify passes; rebuilt byte-identical)"; else fail "nix build: lib.mkPkgRepo" "$problems"; fi
else
  fail "nix build: lib.mkPkgRepo" "$(buildlog)"
fi

if [ -n "$service_out" ] && repro=$(nb "$BF#service-reproducible"); then
  ok "nix build: the service built again under another directory name is byte-identical ($(wc -l <"$repro") files: binary, rc.d, newsyslog, .pkg)"
else
  fail "nix build: passthru.tests.reproducible" "$(buildlog)"
fi

if nb "$BF#eval-toolchain" >/dev/null && nb "$BF#bsdx-tests" >/dev/null; then
  ok "nix build: checks.eval-toolchain and checks.bsdx-tests (bsdx's unit tests, built and run by crane's cargoTest)"
else
  fail "nix build: checks.eval-toolchain / checks.bsdx-tests" "$(buildlog)"
fi

# nix develop: the shell hook, then a plain `cargo zigbuild` in the project,
# with this machine's python3 (which has PyPI's ziglang) still on PATH.
proj="$T/devshell-sysinfo"
cp -r "$R/templates/sysinfo" "$proj"
if [ -n "$sysroot" ] && (cd "$proj" && nx develop --no-write-lock-file "${BUILD_OVR[@]}" "$BF" --command bash -c '
    set -e
    cargo zigbuild --release --target x86_64-unknown-freebsd -q
    echo "BSDX_SYSROOT=$BSDX_SYSROOT"
    echo "CARGO_ZIGBUILD_ZIG_PATH=$CARGO_ZIGBUILD_ZIG_PATH"
    bsdx doctor --json | python3 -c "import json,sys; print(\"zig=\" + [c[\"detail\"] for c in json.load(sys.stdin)[\"checks\"] if c[\"name\"] == \"zig\"][0])"
    bsdx env --json > devshell-env.json
    env -0 > devshell-after.env
  ') >"$T/develop.out" 2>>"$T/build.log"; then
  problems=$(audit "$proj/target/x86_64-unknown-freebsd/release/bsdx-sysinfo-template" "devShell build" | grep -v 'EI_OSABI')
  grep -qx "BSDX_SYSROOT=$sysroot" "$T/develop.out" || problems="$problems BSDX_SYSROOT is not the Nix sysroot: $(grep BSDX_SYSROOT "$T/develop.out");"
  zigline=$(grep '^zig=' "$T/develop.out")
  case "$zigline" in *"/nix/store/"*) ;; *) problems="$problems bsdx uses a Zig outside the store: $zigline;" ;; esac
  grep -q '^CARGO_ZIGBUILD_ZIG_PATH=/nix/store/' "$T/develop.out" || problems="$problems CARGO_ZIGBUILD_ZIG_PATH is not the pinned zig;"
  res=$(python3 - "$proj/devshell-env.json" "$proj/devshell-after.env" <<'PY'
import json, sys
want = {v["name"]: v["value"] for v in json.load(open(sys.argv[1]))["vars"]}
got = dict(kv.split("=", 1) for kv in open(sys.argv[2]).read().split("\0") if "=" in kv)
print("\n".join("%s: %r != %r" % (k, got.get(k), v) for k, v in want.items() if got.get(k) != v))
PY
  )
  [ -z "$res" ] || problems="$problems the hook's environment differs from bsdx env: $res;"
  if [ -z "$problems" ]; then
    ok "nix develop: the hook exports bsdx env's environment over the Nix sysroot; plain cargo zigbuild links a binary bsdx check accepts; bsdx and cargo-zigbuild use the pinned Zig although python3 has ziglang"
  else
    fail "nix develop" "$problems"
  fi
else
  fail "nix develop --command cargo zigbuild" "$(tail -n 5 "$T/develop.out" 2>/dev/null)
$(buildlog)"
fi
echo "(real nix builds took $((SECONDS - t0)) s)"

finish
