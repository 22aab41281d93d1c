# STAND-IN for the nixpkgs package set (see ../README.md): only what bsdx's
# flake and the stand-in crane use. Not nixpkgs: every package here is this
# machine's own tool (Debian's rustc and rust-src, PyPI's zig and
# cargo-zigbuild, coreutils, gcc, jq...) linked into the store, at the paths
# tests/nix/check.sh found and wrote to host-tools.json. With Nix's sandbox
# off those links work, so derivations built from this set really run bsdx,
# cargo-zigbuild and Zig. Without host-tools.json everything still evaluates
# (builds then fail, saying why). Each entry names the nixpkgs file whose call
# shape and behaviour it follows.
{
  lib,
  system,
  hostTools,
}:
let
  # host-tools.json, or placeholders that evaluate and fail when built.
  missing = "/nonexistent/run-tests/nix/check.sh-to-write-host-tools.json";
  ht =
    if hostTools != null then
      hostTools
    else
      {
        bash = "/bin/bash";
        bin = { };
        rust = {
          version = "0.0.0";
          rustc = missing;
          cargo = missing;
          rustdoc = missing;
          src = missing;
        };
        zig = {
          version = "0.15.2";
          path = missing;
        };
        cargoZigbuild = {
          version = "0.24.1";
          path = missing;
        };
      };

  # linkHostTools name { "<bin name>" = "<absolute path on this machine>"; } extra
  linkHostTools =
    name: tools: extra:
    derivation {
      inherit name system;
      builder = ht.bash;
      args = [
        "-euc"
        ''
          PATH=${builtins.dirOf ht.bash}
          link() {
            if [ ! -e "$2" ]; then
              echo "stand-in ${name}: $2 does not exist on this machine (tests/nix/check.sh records the host's tools in host-tools.json)" >&2
              exit 1
            fi
            /usr/bin/mkdir -p "$(/usr/bin/dirname "$out/$1")"
            /usr/bin/ln -s "$2" "$out/$1"
          }
          /usr/bin/mkdir -p "$out/bin"
          ${lib.concatStringsSep "\n" (
            map (n: "link ${lib.escapeShellArg "bin/${n}"} ${lib.escapeShellArg tools.${n}}") (builtins.attrNames tools)
          )}
          ${extra}
        ''
      ];
    };

  # The stdenv's initial path: this machine's coreutils, sed, grep, tar, xz,
  # diff, find, gcc/binutils (build scripts and proc macros link natively), ...
  hostPath = linkHostTools "standin-host-tools" ht.bin "";

  stdenvDrv = derivation {
    name = "standin-stdenv";
    inherit system;
    builder = ht.bash;
    setupScript = ./setup.sh;
    args = [
      "-euc"
      ''
        /usr/bin/mkdir -p "$out"
        { echo "initialPath=${hostPath}"; /usr/bin/cat "$setupScript"; } > "$out/setup"
      ''
    ];
  };

  defaultBuilder = builtins.toFile "standin-default-builder.sh" ''
    source "$stdenv/setup"
    genericBuild
  '';

  # Upstream passes every attribute but meta/passthru (and a few internal
  # ones) to `derivation`, so a set or a function among them is an error;
  # so here.
  drvAttrs =
    attrs:
    builtins.removeAttrs attrs [
      "passthru"
      "meta"
      "pos"
    ];

  # pkgs/stdenv/generic/make-derivation.nix: mkDerivation attrs -> derivation
  # (+ passthru at the top level, meta, overrideAttrs); name from pname-version.
  mkDerivation =
    attrs:
    let
      name = attrs.name or "${attrs.pname}-${attrs.version}";
      drv = derivation (
        {
          # upstream: every stdenv derivation names its outputs (nix develop's
          # get-env.sh writes to them) and drops null attributes
          outputs = [ "out" ];
          __ignoreNulls = true;
        }
        // drvAttrs attrs
        // {
          inherit name system;
          builder = ht.bash;
          args = [
            "-e"
            (attrs.builderScript or defaultBuilder)
          ];
          stdenv = stdenvDrv;
        }
      );
      # lib/customisation.nix extendDerivation: each output is the derivation
      # with outputSpecified, so `nix build .#x.pkg` builds (and prints) that output
      outputs = builtins.listToAttrs (
        map (o: {
          name = o;
          value = drv.${o} // {
            outputSpecified = true;
          };
        }) (attrs.outputs or [ "out" ])
      );
    in
    drv
    // (attrs.passthru or { })
    // outputs
    // {
      inherit name;
      meta = attrs.meta or { };
      passthru = attrs.passthru or { };
      overrideAttrs =
        f:
        mkDerivation (
          attrs
          // (
            if builtins.isFunction f then
              let
                r = f attrs;
              in
              if builtins.isFunction r then r attrs else r
            else
              f
          )
        );
    };

  # pkgs/build-support/setup-hooks/make-setup-hook.nix: a derivation whose
  # nix-support/setup-hook is `script`, sourced by every build that has it in
  # nativeBuildInputs.
  makeSetupHook =
    {
      name,
      substitutions ? { },
    }:
    script:
    mkDerivation {
      inherit name;
      inherit script;
      buildCommand = ''
        mkdir -p "$out/nix-support"
        cp "$script" "$out/nix-support/setup-hook"
        ${lib.concatStringsSep "\n" (
          map (
            k: "sed -i -e ${lib.escapeShellArg "s|@${k}@|${toString substitutions.${k}}|g"} \"$out/nix-support/setup-hook\""
          ) (builtins.attrNames substitutions)
        )}
      '';
    };

  zig = mkDerivation {
    pname = "zig";
    inherit (ht.zig) version;
    buildCommand = "mkdir -p $out/bin && ln -s ${ht.zig.path} $out/bin/zig";
    # pkgs/development/compilers/zig/setup-hook.sh: the real zig's setup hook
    # replaces the build, check and install phases with `zig build` unless
    # dontUseZigBuild/dontUseZigCheck/dontUseZigInstall are set. The same
    # here, so a flake that forgets them breaks here too.
    passthru.hook = makeSetupHook { name = "zig-hook"; } ./zig-setup-hook.sh;
  };

  pkgs = {
    inherit lib system;
    path = ./.;

    # pkgs/top-level/splice.nix + lib/customisation.nix
    callPackage = lib.callPackageWith pkgs;
    newScope = extra: lib.callPackageWith (pkgs // extra);

    stdenv = {
      inherit mkDerivation;
      buildPlatform = {
        inherit system;
      };
      hostPlatform = {
        inherit system;
      };
      targetPlatform = {
        inherit system;
      };
    };
    stdenvNoCC = pkgs.stdenv;

    inherit makeSetupHook;

    # pkgs/build-support/fetchurl/default.nix: fetchurl { url | urls; hash | sha256; name; passthru; }
    # A fixed-output derivation: the first URL that answers, checked by Nix
    # against the hash. (This machine reaches no FreeBSD mirror, so a base.txz
    # FOD cannot be built here; the tests build sysroots from local tarballs.)
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
      in
      (mkDerivation {
        inherit name;
        urls = theUrls;
        outputHashMode = "flat";
        outputHashAlgo = "sha256";
        outputHash = if sha256 != "" then sha256 else hash;
        buildCommand = ''
          for u in $urls; do
            if curl -fsSL --retry 2 -o "$out" "$u"; then exit 0; fi
          done
          echo "fetchurl: none of $urls could be downloaded" >&2
          exit 1
        '';
        inherit passthru meta;
      })
      // {
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
    writeText = name: text: pkgs.runCommand name { inherit text; passAsFile = [ "text" ]; } ''cp "$textPath" "$out"'';

    # pkgs/build-support/mkshell/default.nix: mkShell { packages; inputsFrom; shellHook; ... }:
    # a stdenv derivation (so `nix develop` can source its stdenv's setup) whose
    # build fails outside nix-shell/nix develop.
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
          phases = [ "buildPhase" ];
          buildPhase = ''
            { echo "------------------------------------------------------------";
              echo " WARNING: the existence of this path is not guaranteed.";
              echo " It is an internal implementation detail for pkgs.mkShell.";
              echo "------------------------------------------------------------";
              echo;
              export;
            } >> "$out"
          '';
        }
      );

    # `nix develop` runs its shell with the flake's nixpkgs#bashInteractive when there is one.
    bashInteractive = linkHostTools "standin-bash-interactive" { bash = ht.bash; } "";
    # A package that puts `sh` on PATH (tests add it to buildInputs to see
    # whether patchShebangs would rewrite FreeBSD scripts).
    bash = linkHostTools "standin-bash" {
      bash = ht.bash;
      sh = ht.bin.sh or "/bin/sh";
    } "";

    # pkgs/top-level/all-packages.nix: zig_0_15 = zigPackages."0.15" (a 0.15.x release)
    zig_0_15 = zig;

    # pkgs/by-name/ca/cargo-zigbuild/package.nix: { zig, ... } ->
    # `wrapProgram $out/bin/cargo-zigbuild --prefix PATH : ${zig}/bin`
    cargo-zigbuild = pkgs.callPackage (
      { zig, runCommand }:
      runCommand "cargo-zigbuild-${ht.cargoZigbuild.version}"
        {
          pname = "cargo-zigbuild";
          inherit (ht.cargoZigbuild) version;
        }
        ''
          mkdir -p $out/bin
          cat > $out/bin/cargo-zigbuild <<EOF
          #!${ht.bash}
          export PATH="${zig}/bin\''${PATH:+:\$PATH}"
          exec ${ht.cargoZigbuild.path} "\$@"
          EOF
          chmod +x $out/bin/cargo-zigbuild
        ''
    ) { zig = pkgs.zig_0_15; };

    # pkgs/by-name/wr/writableTmpDirAsHomeHook/package.nix: HOME becomes a
    # fresh writable directory (not in nix-shell / nix develop).
    writableTmpDirAsHomeHook = makeSetupHook { name = "writable-tmpdir-as-home-hook"; } ./writable-tmpdir-as-home.sh;

    jq = linkHostTools "jq" { jq = ht.bin.jq or missing; } "";

    # pkgs/applications/virtualization/qemu, pkgs/by-name/mt/mtools,
    # pkgs/by-name/xo/xorriso: whichever of their programs this machine has
    # (CI has no QEMU: the tests never boot; see tests/run.rs).
    qemu = linkHostTools "qemu-host" (ht.qemu or { }) "";
    mtools = linkHostTools "mtools-host" (ht.mtools or { }) "";
    xorriso = linkHostTools "xorriso-host" (ht.xorriso or { }) "";

    # pkgs/by-name/ni/nixfmt/package.nix (never built by the tests)
    nixfmt = mkDerivation {
      pname = "nixfmt";
      version = "0-standin";
      buildCommand = "echo 'stand-in nixfmt: not available in the tests' >&2; exit 1";
      meta.mainProgram = "nixfmt";
    };

    # What the stand-in rust-overlay links: this machine's rustc, cargo and rust-src.
    bsdxStandinHostRust = {
      inherit (ht.rust) version;
      tools = {
        inherit (ht.rust) rustc cargo;
      }
      // lib.optionalAttrs (ht.rust ? rustdoc) { inherit (ht.rust) rustdoc; };
      inherit (ht.rust) src;
      inherit linkHostTools;
    };
  };
in
pkgs
