# Test-only consumer of bsdx's flake (tests/nix/check.sh): calls bsdx.lib and
# overlays.default the way a downstream flake would, with arguments the
# outputs themselves do not use. check.sh overrides `bsdx` with the checkout
# and bsdx's own inputs with the stand-ins in ../standins.
{
  description = "bsdx flake probe (tests only)";

  inputs.bsdx.url = "path:/nonexistent/bsdx-probe-input-must-be-overridden";

  outputs =
    { self, bsdx }:
    let
      system = "x86_64-linux";
      inherit (bsdx.inputs) nixpkgs;
      pkgs = nixpkgs.legacyPackages.${system};
      src = "${bsdx}/templates/sysinfo";
      summary = drv: {
        inherit (drv) name drvPath;
        inherit (drv.passthru or drv) release target;
        sysroot = "${drv.sysroot}";
        preBuild = drv.preBuild;
        installCheckPhase = drv.installCheckPhase;
        buildPhase = drv.buildPhase;
        # std's own Cargo.lock vendored too (real crane: a `vendor-cargo-deps`
        # derivation, which records no list of lock files to read back)
        vendorDir = drv ? cargoVendorDir;
      };
    in
    {
      probe = {
        # a tier-3 target: std from rust-src, its Cargo.lock vendored too
        aarch64 = summary (bsdx.lib.buildFreebsdPackage {
          inherit system src;
          target = "aarch64-unknown-freebsd";
        });
        release135 = summary (bsdx.lib.buildFreebsdPackage {
          inherit system src;
          release = "13.5";
        });
        # lib with the caller's own package set instead of `system`
        withPkgs = summary (bsdx.lib.buildFreebsdPackage { inherit pkgs src; });
        # the same function through the overlay
        overlay = {
          bsdx = (bsdx.overlays.default pkgs pkgs).bsdx.drvPath;
          freebsd = summary ((bsdx.overlays.default pkgs pkgs).buildFreebsdPackage { inherit src; });
        };
        shell135 = (bsdx.lib.mkDevShell { inherit system; release = "13.5"; }).shellHook;
        sysroot135 = "${bsdx.packages.${system}.sysroot-13_5-amd64}";
        sysroot135arm = "${bsdx.packages.${system}.sysroot-13_5-arm64}";
        reproducible = {
          first = bsdx.checks.${system}.reproducible.first.drvPath;
          second = bsdx.checks.${system}.reproducible.second.drvPath;
          secondPostUnpack = bsdx.checks.${system}.reproducible.second.postUnpack;
          freebsd = bsdx.packages.${system}.freebsd.drvPath;
        };
      };

      # Each of these must fail to evaluate, naming what is known.
      bad = {
        release = (bsdx.lib.mkDevShell { inherit system; release = "9.9"; }).shellHook;
        arch = (bsdx.lib.mkDevShell { inherit system; release = "15.1"; target = "aarch64-unknown-freebsd"; }).shellHook;
        target = (bsdx.lib.mkDevShell { inherit system; target = "riscv64-unknown-freebsd"; }).shellHook;
        system = (bsdx.lib.mkDevShell { system = "mips-linux"; }).shellHook;
      };
    };
}
