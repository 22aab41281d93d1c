# buildFreebsdPackage :: {
#   src,                                      # a Cargo project (Cargo.toml + Cargo.lock), optionally with rc.d/
#   release        ? "14.4",                  # FreeBSD release to link for (data/releases.json default_release)
#   target         ? "x86_64-unknown-freebsd",
#   sysroot        ? <pinned base.txz of release/target, extracted by bsdx>,
#   cargoExtraArgs ? "--locked",
#   ...                                       # anything else goes to crane (pname, cargoArtifacts, preBuild, ...)
# } -> Derivation                             # $out/bin/*, and $out/etc/rc.d/* (mode 0755) when the project has rc.d/
#
# A Rust project cross-built for FreeBSD with crane. Every step is bsdx or
# cargo-zigbuild: `bsdx env` computes the environment (the one `bsdx build`
# applies), `cargo zigbuild --profile release --target T` builds, and
# `bsdx check` audits the installed binaries against the release (installCheck,
# so a binary that would not run on `release` fails the build).
#
# crane: ipetkov/crane lib/buildPackage.nix (cargoBuildCommand, cargoExtraArgs, cargoArtifacts,
#   installFromCargoBuildLog), lib/buildDepsOnly.nix (cargoCheckCommand, doCheck),
#   lib/vendorMultipleCargoDeps.nix + lib/findCargoFiles.nix (std's Cargo.lock for -Zbuild-std,
#   as in crane's examples/build-std/flake.nix).
# rust-src path: toolchain.rust.passthru.availableComponents (oxalica/rust-overlay lib/mk-aggregated.nix).
# writableTmpDirAsHomeHook: NixOS/nixpkgs pkgs/by-name/wr/writableTmpDirAsHomeHook/package.nix
# dontUseZig{Configure,Build,Check,Install}: NixOS/nixpkgs doc/hooks/zig.section.md
#   ("zig overrides the default build, check and install phases"), setup-hook.sh.
# dontStrip: NixOS/nixpkgs pkgs/build-support/setup-hooks/strip.sh; dontPatchELF:
#   pkgs/development/tools/misc/patchelf/setup-hook.sh; doInstallCheck/installCheckPhase
#   (run after fixup): pkgs/stdenv/generic/setup.sh. The audited file is the file installed,
#   untouched by the host's strip/patchelf.
# lib.optionalAttrs, lib.elem: NixOS/nixpkgs lib/attrsets.nix, lib/lists.nix
{
  lib,
  craneLib,
  bsdx,
  toolchain,
  pins,
  sysrootFor,
  writableTmpDirAsHomeHook,
}:
{
  src,
  release ? pins.defaultRelease,
  target ? "x86_64-unknown-freebsd",
  sysroot ? sysrootFor release (pins.archOf target),
  cargoExtraArgs ? "--locked",
  ...
}@args:
let
  bsdxArgs = "--sysroot ${sysroot} --release ${release} --target ${target}";

  # Tier-3 targets have no prebuilt std: -Zbuild-std compiles it from rust-src,
  # whose dependencies must be vendored too (import-from-derivation: the
  # toolchain is built to read its Cargo.lock).
  buildsStd = !(lib.elem target toolchain.prebuiltStdTargets);
  stdVendor = lib.optionalAttrs buildsStd {
    cargoVendorDir = craneLib.vendorMultipleCargoDeps {
      inherit (craneLib.findCargoFiles src) cargoConfigs;
      cargoLockList = [
        "${src}/Cargo.lock"
        "${toolchain.rust.passthru.availableComponents.rust-src}/lib/rustlib/src/rust/library/Cargo.lock"
      ];
    };
  };

  common =
    builtins.removeAttrs args [
      "release"
      "target"
      "sysroot"
      "cargoExtraArgs"
      "postInstall"
      "passthru"
    ]
    // stdVendor
    // {
      inherit src;
      strictDeps = true;

      nativeBuildInputs = [
        bsdx
        writableTmpDirAsHomeHook
      ]
      ++ toolchain.packages
      ++ (args.nativeBuildInputs or [ ]);

      CARGO_BUILD_TARGET = target;
      cargoExtraArgs = "${cargoExtraArgs} --target ${target}";
      cargoBuildCommand = "cargo zigbuild --profile release";
      # crane's dependency build may also run `cargo check`; build scripts (cc,
      # jemalloc's configure) need cargo-zigbuild's compiler wrappers there too.
      cargoCheckCommand = "cargo-zigbuild check --profile release";
      # Tests would run FreeBSD binaries on the build machine.
      doCheck = false;

      # zig is on PATH for bsdx and cargo-zigbuild only; its setup hook must
      # not replace crane's phases.
      dontUseZigConfigure = true;
      dontUseZigBuild = true;
      dontUseZigCheck = true;
      dontUseZigInstall = true;

      preBuild = ''
        export ZIG_GLOBAL_CACHE_DIR="$TMPDIR/zig-global-cache"
        export ZIG_LOCAL_CACHE_DIR="$TMPDIR/zig-local-cache"
        export CARGO_ZIGBUILD_CACHE_DIR="$TMPDIR/cargo-zigbuild-cache"
        export BSDX_CACHE_DIR="$TMPDIR/bsdx-cache"
        bsdxEnv="$(bsdx env ${bsdxArgs})"
        eval "$bsdxEnv"
      ''
      + (args.preBuild or "");
    };

  cargoArtifacts = args.cargoArtifacts or (craneLib.buildDepsOnly common);
in
craneLib.buildPackage (
  common
  // {
    inherit cargoArtifacts;

    dontStrip = true;
    dontPatchELF = true;

    # EI_OSABI -> FreeBSD (9), as `bsdx build` does after linking.
    postInstall = ''
      bsdx brand "$out/bin"
      if [ -d rc.d ]; then
        mkdir -p "$out/etc/rc.d"
        install -m 0755 rc.d/* "$out/etc/rc.d/"
      fi
    ''
    + (args.postInstall or "");

    doInstallCheck = true;
    installCheckPhase = ''
      runHook preInstallCheck
      bsdx check "$out/bin" --release ${release} --sysroot ${sysroot} --target ${target}
      runHook postInstallCheck
    '';

    passthru = (args.passthru or { }) // {
      inherit
        release
        target
        sysroot
        cargoArtifacts
        ;
    };
  }
)
