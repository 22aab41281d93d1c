# buildFreebsdPackage :: {
#   src,                                      # a Cargo project (Cargo.toml + Cargo.lock)
#   release        ? "14.4",                  # FreeBSD release to link for (data/releases.json default_release)
#   target         ? "x86_64-unknown-freebsd",
#   sysroot        ? <pinned base.txz of release/target, extracted by bsdx>,
#   cargoExtraArgs ? "--locked",
#   ...                                       # anything else goes to crane (pname, cargoArtifacts, preBuild, ...)
# } -> Derivation   # $out/bin/*; with a declared service ([package.metadata.bsdx.service]):
#                   #   $out/etc/rc.d/NAME + $out/etc/newsyslog.conf.d/NAME.conf (`bsdx rcd`),
#                   #   and a second output `pkg` holding NAME-VERSION.pkg (`bsdx package`);
#                   # without one, a project's own rc.d/* are installed to $out/etc/rc.d (0755).
#                   # passthru.tests.reproducible: the same build elsewhere, compared.
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
# dontUseZig{Build,Check,Install}: NixOS/nixpkgs doc/hooks/zig.section.md
#   ("zig overrides the default build, check and install phases"), setup-hook.sh
#   (there is no configure phase, so no dontUseZigConfigure).
# dontPatchShebangs: NixOS/nixpkgs pkgs/build-support/setup-hooks/patch-shebangs.sh (fixup
#   rewrites `#!/bin/sh` to a store path when an `sh` is on the host path, e.g. from a
#   caller's buildInputs; FreeBSD's rc.d scripts must keep `#!/bin/sh`).
# outputs, builtins.fromTOML: NixOS/nixpkgs doc/stdenv/multiple-output.chapter.md; Nix manual.
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
  reproducible,
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

  # The declared service, read at evaluation time: it decides the outputs.
  # (read from the source itself, as crane's crateNameFromCargoToml does, so
  # evaluating does not need the source copied to the store)
  origSrc = if builtins.isAttrs src && src ? origSrc then src.origSrc else src;
  cargoToml = builtins.fromTOML (
    builtins.readFile (if builtins.isPath origSrc then origSrc + "/Cargo.toml" else "${origSrc}/Cargo.toml")
  );
  service = cargoToml.package.metadata.bsdx.service or null;
  hasService = service != null;
  binary = if hasService then service.binary or cargoToml.package.name else null;

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
      "outputs"
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

      # The pinned Zig for bsdx and cargo-zigbuild, whatever the host has.
      inherit (toolchain.zigEnv) BSDX_ZIG CARGO_ZIGBUILD_ZIG_PATH CARGO_ZIGBUILD_PYTHON_PATH;

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
    # FreeBSD scripts keep FreeBSD's interpreter paths.
    dontPatchShebangs = true;
  }
  // lib.optionalAttrs hasService {
    outputs = [
      "out"
      "pkg"
    ];
  }
  // {
    # EI_OSABI -> FreeBSD (9), as `bsdx build` does after linking; then the
    # service's rc.d script and newsyslog drop-in (`bsdx rcd`, the same text
    # `bsdx package` ships) and its package, or the project's own rc.d/.
    postInstall = ''
      bsdx brand "$out/bin"
    ''
    + (
      if hasService then
        ''
          bsdx rcd --out "$out/etc"
          mkdir -p "$pkg"
          bsdx package . --from-binary "$out/bin/${binary}" ${bsdxArgs} --out "$pkg"
        ''
      else
        ''
          if [ -d rc.d ]; then
            mkdir -p "$out/etc/rc.d"
            install -m 0755 rc.d/* "$out/etc/rc.d/"
          fi
        ''
    )
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
        hasService
        ;
      # nix build .#freebsd.tests.reproducible: built again elsewhere, compared
      tests = (args.passthru.tests or { }) // {
        reproducible = reproducible args;
      };
    };
  }
)
