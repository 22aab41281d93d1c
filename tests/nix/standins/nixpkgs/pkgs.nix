# STAND-IN for the nixpkgs package set (see ../README.md): only what bsdx's flake uses.
# Each entry names the nixpkgs file whose call shape it mirrors.
{ lib, system }:
let
  # A real derivation that cannot be built: evaluation only.
  placeholder =
    name: attrs:
    derivation (
      {
        inherit name system;
        builder = "/bin/sh";
        args = [
          "-c"
          "echo 'tests/nix stand-in derivation ${name}: evaluation only, not buildable' >&2; exit 1"
        ];
      }
      // attrs
    );

  # Keep the attributes a derivation can carry (strings, numbers, bools, paths,
  # derivations and lists of those); the rest stays on the Nix value only.
  coercible =
    v:
    builtins.isString v
    || builtins.isInt v
    || builtins.isBool v
    || builtins.isPath v
    || lib.isDerivation v
    || (builtins.isAttrs v && v ? outPath)
    || (builtins.isList v && builtins.all coercible v);
  drvAttrs =
    attrs:
    builtins.removeAttrs (lib.genAttrs (builtins.filter (n: coercible attrs.${n}) (builtins.attrNames attrs)) (
      n: attrs.${n}
    )) [ "passthru" "meta" "name" "system" "builder" "args" ];

  # pkgs/stdenv/generic/make-derivation.nix: mkDerivation attrs -> derivation (+ passthru, overrideAttrs)
  mkDerivation =
    attrs:
    let
      name = attrs.name or "${attrs.pname}-${attrs.version or "0"}";
      drv = placeholder name (drvAttrs attrs);
    in
    drv
    // attrs
    // (attrs.passthru or { })
    // {
      inherit (drv) drvPath outPath type;
      inherit name;
      meta = attrs.meta or { };
      overrideAttrs = f: mkDerivation (attrs // (if builtins.isFunction f then f attrs else f));
    };

  pkgs = {
    inherit lib system;

    # pkgs/top-level/splice.nix + lib/customisation.nix
    callPackage = lib.callPackageWith pkgs;
    newScope = extra: lib.callPackageWith (pkgs // extra);

    stdenv = {
      inherit mkDerivation;
      hostPlatform = { inherit system; };
    };

    # pkgs/build-support/fetchurl/default.nix: fetchurl { url | urls; hash | sha256; name; passthru; }
    fetchurl =
      {
        url ? "",
        urls ? [ ],
        sha256 ? "",
        hash ? "",
        name ? baseNameOf (toString (if urls != [ ] then builtins.head urls else url)),
        passthru ? { },
        meta ? { },
      }:
      let
        theUrls = if urls != [ ] then urls else [ url ];
        drv = placeholder name {
          urls = theUrls;
          outputHashMode = "flat";
          outputHashAlgo = "sha256";
          outputHash = if sha256 != "" then sha256 else hash;
        };
      in
      drv
      // passthru
      // {
        inherit meta;
        urls = theUrls;
        outputHash = if sha256 != "" then sha256 else hash;
        outputHashAlgo = "sha256";
        url = builtins.head theUrls;
      };

    # pkgs/build-support/trivial-builders/default.nix: runCommand name env buildCommand
    runCommand = name: env: buildCommand: mkDerivation (env // { inherit name buildCommand; });
    runCommandLocal =
      name: env: buildCommand:
      mkDerivation (
        env
        // {
          inherit name buildCommand;
          preferLocalBuild = true;
          allowSubstitutes = false;
        }
      );

    # pkgs/build-support/mkshell/default.nix: mkShell { packages; inputsFrom; shellHook; ... }
    mkShell =
      {
        name ? "nix-shell",
        packages ? [ ],
        nativeBuildInputs ? [ ],
        shellHook ? "",
        ...
      }@attrs:
      mkDerivation (
        builtins.removeAttrs attrs [ "packages" ]
        // {
          inherit name shellHook;
          nativeBuildInputs = packages ++ nativeBuildInputs;
        }
      );

    # pkgs/top-level/all-packages.nix: zig_0_15 = zigPackages."0.15" (a 0.15.x release)
    zig_0_15 = mkDerivation {
      pname = "standin-zig";
      version = "0.15.2";
      passthru.hook = mkDerivation { name = "standin-zig-hook"; };
    };

    # pkgs/by-name/ca/cargo-zigbuild/package.nix: { zig, ... } -> wraps PATH with ${zig}/bin
    cargo-zigbuild = lib.makeOverridable (
      { zig }:
      mkDerivation {
        pname = "standin-cargo-zigbuild";
        # The version CI installs from PyPI; the real one is whatever the locked nixpkgs has.
        version = "0.24.1";
        inherit zig;
      }
    ) { zig = pkgs.zig_0_15; };

    # pkgs/by-name/wr/writableTmpDirAsHomeHook/package.nix
    writableTmpDirAsHomeHook = mkDerivation { name = "standin-writable-tmpdir-as-home-hook"; };

    # pkgs/by-name/ni/nixfmt/package.nix
    nixfmt = mkDerivation {
      pname = "standin-nixfmt";
      version = "0";
      meta.mainProgram = "nixfmt";
    };
  };
in
pkgs
