# bsdx :: Derivation (passthru: { commonArgs, cargoArtifacts })
#
# The bsdx CLI, built with crane from this repository's Cargo.lock. The source
# is exactly what the crate compiles or embeds (build.rs, which pre-indexes
# stubs/abi/*.json for bsdx check; src/, and stubs/, templates/,
# data/releases.json via include_str!/include_dir!), so editing the flake or the
# integration tests does not rebuild bsdx — except tests/lib.rs, which
# Cargo.toml names as the integration test: cargo refuses a manifest whose
# declared target file is missing, even to build the binary. (Its modules
# stay out; `cargo test --lib --bins` does not compile it.)
#
# lib.fileset.toSource { root; fileset; }, lib.fileset.unions:
#   NixOS/nixpkgs lib/fileset/default.nix
# craneLib.buildDepsOnly, craneLib.buildPackage (cargoArtifacts, doCheck, passthru):
#   ipetkov/crane lib/buildDepsOnly.nix, lib/buildPackage.nix
{
  lib,
  craneLib,
}:
let
  src = lib.fileset.toSource {
    root = ../.;
    fileset = lib.fileset.unions [
      ../Cargo.toml
      ../Cargo.lock
      ../build.rs
      ../src
      ../stubs
      ../templates
      ../data
      ../tests/lib.rs
    ];
  };

  commonArgs = {
    inherit src;
    strictDeps = true;
  };

  cargoArtifacts = craneLib.buildDepsOnly commonArgs;
in
craneLib.buildPackage (
  commonArgs
  // {
    inherit cargoArtifacts;
    # Unit tests run in checks.bsdx-tests; the integration tests cross-build
    # the templates, whose crates a sandbox cannot download.
    doCheck = false;
    passthru = {
      inherit commonArgs cargoArtifacts;
    };
    meta.mainProgram = "bsdx";
  }
)
