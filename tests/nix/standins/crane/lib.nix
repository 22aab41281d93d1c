# STAND-IN craneLib (see ../README.md). Call shapes and phase text follow
# ipetkov/crane lib/default.nix, mkCargoDerivation.nix, buildDepsOnly.nix,
# buildPackage.nix, cargoTest.nix, vendorMultipleCargoDeps.nix, findCargoFiles.nix.
{
  pkgs,
  toolchain ? pkgs.stdenv.mkDerivation { name = "standin-crane-default-toolchain"; },
}:
let
  inherit (pkgs) lib;

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
      ];
    in
    pkgs.stdenv.mkDerivation (
      cleaned
      // {
        pname = "${args.pname or crateName.pname}${args.pnameSuffix or ""}";
        version = args.version or crateName.version;
        cargoVendorDir = args.cargoVendorDir or (vendorCargoDeps args);
        nativeBuildInputs = (args.nativeBuildInputs or [ ]) ++ [ toolchain ];
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

  vendorCargoDeps =
    args:
    pkgs.stdenv.mkDerivation {
      name = "standin-vendor-cargo-deps";
      cargoLock = "${args.src}/Cargo.lock";
    };

  craneLib = {
    inherit crateNameFromCargoToml mkCargoDerivation vendorCargoDeps;

    # lib/default.nix: overrideToolchain (toolchain | pkgs -> toolchain)
    overrideToolchain =
      t:
      import ./lib.nix {
        inherit pkgs;
        toolchain = if builtins.isFunction t then t pkgs else t;
      };

    # lib/findCargoFiles.nix
    findCargoFiles = src: {
      cargoTomls = [ "${src}/Cargo.toml" ];
      cargoConfigs = [ ];
    };

    # lib/vendorMultipleCargoDeps.nix
    vendorMultipleCargoDeps =
      {
        cargoConfigs ? [ ],
        cargoLockList ? [ ],
        ...
      }:
      pkgs.stdenv.mkDerivation {
        name = "standin-vendor-cargo-deps";
        inherit cargoLockList;
      };

    # lib/buildDepsOnly.nix
    buildDepsOnly =
      {
        cargoBuildCommand ? "cargoWithProfile build",
        cargoCheckCommand ? "cargoWithProfile check --all-targets",
        cargoExtraArgs ? "",
        cargoTestCommand ? "cargoWithProfile test",
        ...
      }@args:
      mkCargoDerivation (
        builtins.removeAttrs args [
          "cargoBuildCommand"
          "cargoCheckCommand"
          "cargoExtraArgs"
          "cargoTestCommand"
        ]
        // {
          pnameSuffix = "-deps";
          cargoArtifacts = null;
          buildPhaseCargoCommand = ''
            ${cargoCheckCommand} ${cargoExtraArgs}
            ${cargoBuildCommand} ${cargoExtraArgs}
          '';
          checkPhaseCargoCommand = "${cargoTestCommand} ${cargoExtraArgs}";
          doCheck = args.doCheck or true;
          installPhase = "prepareAndInstallCargoArtifactsDir";
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
