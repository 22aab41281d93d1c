# scope :: { pkgs, crane, rust-overlay } -> Scope
#
# Every function in nix/ composed with callPackage over one nixpkgs instance.
# flake.nix instantiates it per system (and for overlays.default); nothing
# here knows about flakes.
#
# lib.makeScope newScope (self: { ... }): NixOS/nixpkgs lib/customisation.nix
#   (the result also holds newScope, callPackage, overrideScope and `packages`,
#   hence flakePackages/flakeChecks below).
# crane.mkLib pkgs, craneLib.overrideToolchain: ipetkov/crane flake.nix, lib/default.nix
# rust-overlay.lib.mkRustBin { } pkgs: oxalica/rust-overlay flake.nix
{
  pkgs,
  crane,
  rust-overlay,
}:
pkgs.lib.makeScope pkgs.newScope (
  self:
  let
    inherit (self) callPackage;
  in
  {
    pins = callPackage ./pins.nix { };

    rustBin = rust-overlay.lib.mkRustBin { } pkgs;
    toolchain = callPackage ./toolchain.nix { };
    craneLib = (crane.mkLib pkgs).overrideToolchain self.toolchain.rust;

    baseTxzFor = release: arch: callPackage ./base-txz.nix { inherit release arch; };
    sysrootFor = release: arch: callPackage ./sysroot.nix { inherit release arch; };
    # mkSysroot { release ? default, target ? x86_64, baseTxz ? pinned FOD }
    mkSysroot =
      {
        release ? self.pins.defaultRelease,
        target ? "x86_64-unknown-freebsd",
        baseTxz ? self.baseTxzFor release (self.pins.archOf target),
      }:
      callPackage ./sysroot.nix {
        inherit release baseTxz;
        arch = self.pins.archOf target;
      };

    bsdx = callPackage ./bsdx.nix { };
    bsdxTests = callPackage ./bsdx-tests.nix { };

    mkDevShell = callPackage ./dev-shell.nix { };
    buildFreebsdPackage = callPackage ./build-freebsd-package.nix { };
    reproducible = callPackage ./reproducible.nix { };
    runInVm = callPackage ./run-in-vm.nix { };
    # mkPkgRepo { packages, name ? } : a pkg(8) repository (unsigned) of .pkg outputs
    mkPkgRepo = callPackage ./pkg-repo.nix { };
    # kernel.txz as a fixed-output derivation where data/releases.json pins one (none yet).
    kernelTxzFor =
      release: arch:
      let
        pin = self.pins.kernelPin release arch;
      in
      if pin == null then
        null
      else
        pkgs.fetchurl {
          name = "FreeBSD-${release}-RELEASE-${arch}-kernel.txz";
          inherit (pin) urls sha256;
        };

    # The bot template, built for FreeBSD: what `bsdx new` users get.
    botSrc = ../templates/bot;
    sysinfoSrc = ../templates/sysinfo;
    freebsd = self.buildFreebsdPackage { src = self.botSrc; };

    # The bot's FreeBSD package (pkg add ./NAME-VERSION.pkg): the second
    # output of packages.freebsd, since the bot declares a service.
    freebsdPkg = self.freebsd.pkg;

    flakePackages = {
      default = self.bsdx;
      inherit (self) bsdx freebsd;
      freebsd-pkg = self.freebsdPkg;
      # the bot's package as a pkg(8) repository (meta.conf, data.pkg, packagesite.pkg, All/)
      freebsd-repo = self.mkPkgRepo { packages = [ self.freebsdPkg ]; };
    }
    // builtins.listToAttrs (
      map (
        { release, arch, ... }:
        {
          name = self.pins.sysrootName release arch;
          value = self.sysrootFor release arch;
        }
      ) self.pins.all
    );

    # callPackage adds override/overrideDerivation to an attribute set it returns;
    # `checks` must hold derivations only.
    flakeChecks = builtins.removeAttrs (callPackage ./checks.nix { }) [
      "override"
      "overrideDerivation"
    ];
  }
)
