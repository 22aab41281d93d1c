{
  description = "bsdx: cross-compile Rust services for FreeBSD with Zig (toolchain, pinned base.txz sysroots, devShell, buildFreebsdPackage)";

  inputs = {
    nixpkgs.url = "github:NixOS/nixpkgs/nixos-26.05";
    rust-overlay = {
      url = "github:oxalica/rust-overlay";
      inputs.nixpkgs.follows = "nixpkgs";
    };
    crane.url = "github:ipetkov/crane";
  };

  # Everything is in nix/ (one function per file, composed in nix/scope.nix);
  # every build step is a bsdx subcommand or cargo-zigbuild.
  # nixpkgs.lib.genAttrs, nixpkgs.legacyPackages: NixOS/nixpkgs flake.nix, lib/attrsets.nix
  # nixfmt: NixOS/nixpkgs pkgs/by-name/ni/nixfmt/package.nix
  outputs =
    {
      self,
      nixpkgs,
      rust-overlay,
      crane,
    }:
    let
      systems = [
        "x86_64-linux"
        "aarch64-linux"
        "aarch64-darwin"
      ];
      forAllSystems = nixpkgs.lib.genAttrs systems;

      scopeFor = pkgs: import ./nix/scope.nix { inherit pkgs crane rust-overlay; };
      scopes = forAllSystems (system: scopeFor nixpkgs.legacyPackages.${system});

      # lib functions take `system` (this flake's pinned nixpkgs) or `pkgs` (yours).
      scopeOf =
        args:
        if args ? pkgs then
          scopeFor args.pkgs
        else if args ? system then
          scopes.${args.system}
            or (throw "bsdx: system `${args.system}` is not one of ${builtins.concatStringsSep ", " systems}; pass `pkgs` instead")
        else
          throw "bsdx: pass `system` (e.g. \"x86_64-linux\") or `pkgs`";
      withScope =
        fn: args:
        (scopeOf args).${fn} (
          builtins.removeAttrs args [
            "system"
            "pkgs"
          ]
        );

      pins = import ./nix/pins.nix { };
    in
    {
      lib = {
        inherit systems;
        inherit (pins) releases defaultRelease;
        # buildFreebsdPackage :: { system | pkgs, src, release ? "14.4", target ? "x86_64-unknown-freebsd", ... } -> Derivation
        buildFreebsdPackage = withScope "buildFreebsdPackage";
        # mkDevShell :: { system | pkgs, release ? "14.4", target ? "x86_64-unknown-freebsd", sysroot ? <pinned>, packages ? [ ], ... } -> Derivation
        mkDevShell = withScope "mkDevShell";
        # mkSysroot :: { system | pkgs, release ? "14.4", target ? "x86_64-unknown-freebsd", baseTxz ? <pinned FOD> } -> Derivation
        mkSysroot = withScope "mkSysroot";
        # runInVm :: { system | pkgs, package, program ? package.pname, args ? [ ], kernelTxz, baseTxz ? <pinned>, ... } -> Derivation
        runInVm = withScope "runInVm";
        # mkPkgRepo :: { system | pkgs, packages :: [Derivation | Path], name ? "bsdx-pkg-repo" } -> Derivation
        mkPkgRepo = withScope "mkPkgRepo";
      };

      packages = forAllSystems (system: scopes.${system}.flakePackages);

      devShells = forAllSystems (system: {
        default = scopes.${system}.mkDevShell { };
      });

      checks = forAllSystems (system: scopes.${system}.flakeChecks);

      formatter = forAllSystems (system: nixpkgs.legacyPackages.${system}.nixfmt);

      overlays.default =
        final: prev:
        let
          scope = scopeFor final;
        in
        {
          inherit (scope) bsdx buildFreebsdPackage;
          mkBsdxShell = scope.mkDevShell;
        };

      templates = {
        bot = {
          path = ./templates/bot;
          description = "Discord bot (poise, sea-orm/SQLite, sysinfo, jemalloc) cross-built for FreeBSD, with an rc.d script";
          welcomeText = ''
            # A Discord bot for FreeBSD

            - `nix develop`, then `cargo zigbuild --release --target x86_64-unknown-freebsd`
              (the shell runs `bsdx env` over a pinned FreeBSD base; `bsdx build` works too)
            - `nix build .#freebsd`: `result/bin/` and `result/etc/rc.d/`, audited by `bsdx check`;
              `nix build .#freebsd-pkg`: the FreeBSD package (`pkg add ./….pkg`)
            - rename the crate: it is still called `bsdx-bot-template`
              (`bsdx new NAME` does the renaming for you)
            - first, set `inputs.bsdx.url` in flake.nix to the flake you just used
              (the URL you gave `nix flake init -t URL#bot`, e.g. `path:/home/me/src/bsdx`):
              until then every nix command stops at the placeholder
              `path:/bsdx-flake-url-not-set/edit-inputs.bsdx.url-in-flake.nix`
              (`bsdx new NAME --flake URL` writes it for you)
            - configure: copy `config.example.json` to `config.json`; see README.md
          '';
        };
        default = self.templates.bot;
      };
    };
}
