# STAND-IN for crane's setup hooks (ipetkov/crane lib/setupHooks/*.sh): not
# crane. The same function names and order, this project's own bodies.
# Differences from the real crane, on purpose:
# - no vendoring: the real crane vendors every crate of Cargo.lock as a
#   fixed-output derivation and points cargo at them; here (sandbox off)
#   cargo downloads from crates.io into a fixed $CARGO_HOME outside the store;
# - cargo artifacts are a plain copy of target/ (the real one: target.tar.zst),
#   and the inherited crate sources are touched so cargo rebuilds the crate
#   itself over the dependency build (the real crane builds its dependencies
#   from a dummy source, mkDummySrc; here the deps build dummies the crate's
#   own .rs files in place);
# - removeReferencesToRustToolchain/VendoredSources are absent: nothing from
#   the store is referenced by a binary linked with the host's toolchain.

# CARGO_HOME is one fixed directory for every build (the sandbox is off): cargo
# fingerprints a registry crate by its source path, so the dependency build's
# artifacts are reused only if the crates sit at the same path in the final
# build, as the real crane's vendored store path guarantees.
configureCargoCommonVars() {
  export CARGO_HOME="${BSDX_STANDIN_CARGO_HOME:-/tmp/bsdx-standin-cargo-home}"
  mkdir -p "$CARGO_HOME"
  export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-${NIX_BUILD_CORES:-1}}"
  export RUST_BACKTRACE=1
  export CARGO_BUILD_INCREMENTAL=false
  export CARGO_PROFILE="${CARGO_PROFILE-release}"
}

cargoWithProfile() {
  cargo "$1" ${CARGO_PROFILE:+--profile "$CARGO_PROFILE"} "${@:2}"
}

dummyCrateSources() {
  if [ -z "${CRANE_BUILD_DEPS_ONLY:-}" ]; then return 0; fi
  local f
  for f in src/main.rs src/bin/*.rs build.rs examples/*.rs; do
    if [ -f "$f" ]; then echo 'fn main() {}' >"$f"; fi
  done
  for f in tests/*.rs benches/*.rs; do
    if [ -f "$f" ]; then : >"$f"; fi
  done
  if [ -f src/lib.rs ]; then : >src/lib.rs; fi
  find src -name '*.rs' ! -path src/main.rs ! -path src/lib.rs ! -path 'src/bin/*' -delete 2>/dev/null || true
}

inheritCargoArtifacts() {
  if [ -z "${cargoArtifacts:-}" ] || [ ! -d "$cargoArtifacts/target" ]; then return 0; fi
  echo "copying cargo artifacts from $cargoArtifacts/target to target"
  cp -r --no-preserve=ownership "$cargoArtifacts/target" target
  chmod -R u+w target
  find . -path ./target -prune -o -type f -print0 | xargs -0 -r touch
}

prepareAndInstallCargoArtifactsDir() {
  mkdir -p "$out"
  if [ -d target ]; then cp -r target "$out/target"; fi
}

installFromCargoBuildLog() {
  local dest=$1 log=$2 f
  local select_non_test='select(.reason == "compiler-artifact" and .profile.test == false)'
  mkdir -p "$dest/bin"
  jq -R -r "fromjson? | ${select_non_test} | .executable | select(. != null)" <"$log" | while IFS= read -r f; do
    echo "installing $f"
    cp "$f" "$dest/bin/"
  done
  rmdir --ignore-fail-on-non-empty "$dest/bin"
}

preConfigureHooks+=(configureCargoCommonVars dummyCrateSources inheritCargoArtifacts)
