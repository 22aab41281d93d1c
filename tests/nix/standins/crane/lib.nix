# STAND-IN craneLib (see ../README.md and hooks.sh): not crane. Call shapes and
# phase commands follow ipetkov/crane lib/default.nix, mkCargoDerivation.nix,
# buildDepsOnly.nix, buildPackage.nix, cargoTest.nix, vendorMultipleCargoDeps.nix,
# findCargoFiles.nix, crateNameFromCargoToml.nix at the locked revision (the
# commands are those ../shared/nix/UPSTREAM.md records from the real crane);
# the derivations really build, with the stand-in nixpkgs' host tools.
{
  pkgs,
  toolchain ? pkgs.bsdxStandinMissingToolchain or null,
}:
let
  inherit (pkgs) lib;

  hooks = pkgs.makeSetupHook { name = "crane-standin-hooks"; } ./hooks.sh;

  crateNameFromCargoToml =
    args:
    let
      # like crane: read the original source of a lib.cleanSourceWith / lib.fileset.toSource result
      src = if args.src ? _isLibCleanSourceWith then args.src.origSrc else args.src;
      toml = builtins.fromTOML (builtins.readFile (src + "/Cargo.toml"));
    in
    {
      pname = toml.package.name or "cargo-package";
      version = toml.package.version or "0.0.1";
    };

  # lib/mkCargoDerivation.nix
  mkCargoDerivation =
    args:
    let
      crateName = crateNameFromCargoToml args;
      cleaned = builtins.removeAttrs args [
        "buildPhaseCargoCommand"
        "checkPhaseCargoCommand"
        "installPhaseCommand"
        "pnameSuffix"
        "cargoArtifacts"
      ];
    in
    if toolchain == null then
      throw "crane stand-in: call overrideToolchain first (bsdx's flake always does)"
    else
      pkgs.stdenv.mkDerivation (
        cleaned
        // lib.optionalAttrs (args.cargoArtifacts or null != null) { inherit (args) cargoArtifacts; }
        // {
          pname = "${args.pname or crateName.pname}${args.pnameSuffix or ""}";
          version = args.version or crateName.version;
          nativeBuildInputs = (args.nativeBuildInputs or [ ]) ++ [
            toolchain
            hooks
            pkgs.jq
          ];
          buildPhase = args.buildPhase or ''
            runHook preBuild
            cargo --version
            ${args.buildPhaseCargoCommand}
            runHook postBuild
          '';
          checkPhase = args.checkPhase or ''
            runHook preCheck
            ${args.checkPhaseCargoCommand or ""}
            runHook postCheck
          '';
          installPhase = args.installPhase or ''
            runHook preInstall
            ${args.installPhaseCommand or "mkdir -p $out"}
            runHook postInstall
          '';
        }
      );

  craneLib = {
    inherit crateNameFromCargoToml mkCargoDerivation;

    # lib/default.nix: overrideToolchain (toolchain | pkgs -> toolchain)
    overrideToolchain =
      t:
      import ./lib.nix {
        inherit pkgs;
        toolchain = if builtins.isFunction t then t pkgs else t;
      };

    # lib/findCargoFiles.nix: { cargoTomls, cargoConfigs } found under src
    findCargoFiles =
      src:
      let
        has = p: builtins.pathExists (src + p);
      in
      {
        cargoTomls = [ "${src}/Cargo.toml" ];
        cargoConfigs = (
          lib.optionals (has "/.cargo/config.toml") [ "${src}/.cargo/config.toml" ]
          ++ lib.optionals (has "/.cargo/config") [ "${src}/.cargo/config" ]
        );
      };

    # lib/vendorMultipleCargoDeps.nix: the real one returns
    # `runCommandLocal "vendor-cargo-deps"` (no attribute lists the lock files).
    # This stand-in does not vendor (see hooks.sh); building it fails.
    vendorMultipleCargoDeps =
      {
        cargoConfigs ? [ ],
        cargoLockList ? [ ],
        ...
      }:
      pkgs.runCommandLocal "vendor-cargo-deps" { } ''
        echo "crane stand-in: vendorMultipleCargoDeps does not vendor (cargo downloads from crates.io here); it is evaluated, not built" >&2
        exit 1
      '';

    # lib/buildDepsOnly.nix
    buildDepsOnly =
      {
        cargoBuildCommand ? "cargoWithProfile build",
        cargoCheckCommand ? "cargoWithProfile check",
        cargoExtraArgs ? "--locked",
        cargoTestCommand ? "cargoWithProfile test",
        cargoTestExtraArgs ? "--no-run",
        ...
      }@args:
      mkCargoDerivation (
        builtins.removeAttrs args [
          "cargoBuildCommand"
          "cargoCheckCommand"
          "cargoExtraArgs"
          "cargoTestCommand"
          "cargoTestExtraArgs"
        ]
        // {
          pnameSuffix = "-deps";
          CRANE_BUILD_DEPS_ONLY = 1;
          buildPhaseCargoCommand = ''
            ${cargoCheckCommand} ${cargoExtraArgs}
            ${cargoBuildCommand} ${cargoExtraArgs}
          '';
          checkPhaseCargoCommand = "${cargoTestCommand} ${cargoExtraArgs} ${cargoTestExtraArgs}";
          doCheck = args.doCheck or true;
          installPhase = ''
            runHook preInstall
            prepareAndInstallCargoArtifactsDir
            runHook postInstall
          '';
        }
      );

    # lib/buildPackage.nix
    buildPackage =
      {
        cargoBuildCommand ? "cargoWithProfile build",
        cargoExtraArgs ? "--locked",
        cargoTestCommand ? "cargoWithProfile test",
        cargoTestExtraArgs ? "",
        ...
      }@args:
      mkCargoDerivation (
        builtins.removeAttrs args [
          "cargoBuildCommand"
          "cargoExtraArgs"
          "cargoTestCommand"
          "cargoTestExtraArgs"
        ]
        // {
          doCheck = args.doCheck or true;
          cargoArtifacts = args.cargoArtifacts or (craneLib.buildDepsOnly args);
          buildPhaseCargoCommand = ''
            cargoBuildLog=$(mktemp cargoBuildLogXXXX.json)
            ${cargoBuildCommand} --message-format json-render-diagnostics ${cargoExtraArgs} >"$cargoBuildLog"
          '';
          checkPhaseCargoCommand = "${cargoTestCommand} ${cargoExtraArgs} ${cargoTestExtraArgs}";
          installPhaseCommand = ''installFromCargoBuildLog "$out" "$cargoBuildLog"'';
        }
      );

    # lib/cargoTest.nix
    cargoTest =
      {
        cargoArtifacts,
        cargoExtraArgs ? "--locked",
        cargoTestExtraArgs ? "",
        ...
      }@args:
      mkCargoDerivation (
        builtins.removeAttrs args [
          "cargoExtraArgs"
          "cargoTestExtraArgs"
        ]
        // {
          pnameSuffix = "-test";
          doCheck = args.doCheck or true;
          buildPhaseCargoCommand = "";
          checkPhaseCargoCommand = "cargoWithProfile test ${cargoExtraArgs} ${cargoTestExtraArgs}";
        }
      );
  };
in
craneLib
