# toolchain :: { } -> {
#   rust, zig, cargo-zigbuild :: Derivation,
#   packages                  :: [ Derivation ],   # the three, for nativeBuildInputs / mkShell
#   zigEnv                    :: { BSDX_ZIG, CARGO_ZIGBUILD_ZIG_PATH, CARGO_ZIGBUILD_PYTHON_PATH },
#   prebuiltStdTargets        :: [ String ],       # FreeBSD targets whose std ships prebuilt
# }
#
# The cross toolchain: Rust stable with the FreeBSD std and rust-src, Zig 0.15
# (the version CI uses: PyPI ziglang==0.15.2), and cargo-zigbuild built to run
# that Zig.
#
# rustBin = rust-overlay.lib.mkRustBin { } pkgs (oxalica/rust-overlay flake.nix);
#   rustBin.stable.latest.default.override { extensions; targets; }:
#   oxalica/rust-overlay lib/rust-bin.nix (mkProfile, makeOverridable) and docs/reference.md.
#   x86_64-unknown-freebsd has a prebuilt rust-std; aarch64-unknown-freebsd is tier 3
#   and has none (asking rust-overlay for it is an error), so it is built from
#   rust-src with -Zbuild-std, which `bsdx env` turns on when it finds no std.
# zig_0_15: NixOS/nixpkgs pkgs/top-level/all-packages.nix (zig_0_15 = zigPackages."0.15").
# cargo-zigbuild: NixOS/nixpkgs pkgs/by-name/ca/cargo-zigbuild/package.nix takes `zig` as an
#   argument and wraps the binary with `--prefix PATH : ${zig}/bin`, so `.override { zig; }`
#   pins the Zig it runs. FreeBSD support needs cargo-zigbuild >= 0.21.0; checks.toolchain
#   asserts the version nixpkgs provides.
# zigEnv: cargo-zigbuild (rust-cross/cargo-zigbuild src/zig.rs find_zig) tries
#   `$CARGO_ZIGBUILD_PYTHON_PATH -m ziglang` (default python3) before
#   `$CARGO_ZIGBUILD_ZIG_PATH` (default `zig` on PATH), and bsdx does the same
#   after `$BSDX_ZIG`. A host python3 with PyPI's ziglang would win over the
#   pinned Zig in `nix develop`; naming a python that does not exist and the
#   pinned zig makes both tools use the pinned one, in shells and builds alike.
{
  rustBin,
  zig_0_15,
  cargo-zigbuild,
}:
let
  prebuiltStdTargets = [ "x86_64-unknown-freebsd" ];

  rust = rustBin.stable.latest.default.override {
    extensions = [ "rust-src" ];
    targets = prebuiltStdTargets;
  };

  zig = zig_0_15;

  cargoZigbuild = cargo-zigbuild.override { inherit zig; };
in
{
  inherit rust zig prebuiltStdTargets;
  zigEnv = {
    BSDX_ZIG = "${zig}/bin/zig";
    CARGO_ZIGBUILD_ZIG_PATH = "${zig}/bin/zig";
    CARGO_ZIGBUILD_PYTHON_PATH = "bsdx-pins-zig-not-python-ziglang";
  };
  cargo-zigbuild = cargoZigbuild;
  packages = [
    rust
    zig
    cargoZigbuild
  ];
}
