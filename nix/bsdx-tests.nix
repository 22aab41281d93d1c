# bsdxTests :: Derivation
#
# bsdx's unit tests (`cargo test --lib --bins`: the modules in src/), reusing
# bsdx's dependency build; the integration tests (tests/lib.rs) cross-build the
# templates, whose crates a sandbox cannot download.
# Some tests assemble objects with `zig cc`, so Zig is on PATH, with its setup
# hook kept out of crane's phases and its caches in the writable $TMPDIR.
#
# craneLib.cargoTest { cargoArtifacts; cargoTestExtraArgs; }: ipetkov/crane lib/cargoTest.nix
# writableTmpDirAsHomeHook: NixOS/nixpkgs pkgs/by-name/wr/writableTmpDirAsHomeHook/package.nix
# dontUseZig{Build,Check,Install}: NixOS/nixpkgs doc/hooks/zig.section.md,
#   pkgs/development/compilers/zig/setup-hook.sh (no configure phase)
{
  craneLib,
  bsdx,
  toolchain,
  writableTmpDirAsHomeHook,
}:
craneLib.cargoTest (
  bsdx.passthru.commonArgs
  // {
    inherit (bsdx.passthru) cargoArtifacts;
    # These four read Zig's abilists through the `ziglang` Python package
    # (src/zig_abilists.rs real_file), which a Nix build does not have.
    cargoTestExtraArgs = builtins.concatStringsSep " " [
      "--lib --bins --"
      "--skip zig_abilists::tests::corrupted_input_does_not_panic"
      "--skip zig_abilists::tests::header"
      "--skip zig_abilists::tests::known_symbols"
      "--skip zig_abilists::tests::truncated_input_is_an_error"
    ];
    nativeBuildInputs = [
      toolchain.zig
      writableTmpDirAsHomeHook
    ];
    dontUseZigBuild = true;
    dontUseZigCheck = true;
    dontUseZigInstall = true;
    preCheck = ''
      export ZIG_GLOBAL_CACHE_DIR="$TMPDIR/zig-global-cache" ZIG_LOCAL_CACHE_DIR="$TMPDIR/zig-local-cache"
      export BSDX_CACHE_DIR="$TMPDIR/bsdx-cache"
    '';
  }
)
