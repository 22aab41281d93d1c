# Test-only consumer of bsdx's flake whose outputs tests/nix/check.sh really
# builds (Nix with sandbox = false, the stand-in inputs of ../standins, which
# link this machine's own rustc, zig and cargo-zigbuild). check.sh copies this
# directory and writes beside flake.nix, before evaluating it:
#   base.txz   a base.txz-shaped tarball of bsdx's stub libraries (not FreeBSD's)
#   sysinfo/   templates/sysinfo
#   service/   templates/sysinfo plus a [package.metadata.bsdx.service] declaration
{
  description = "bsdx flake builds (tests only)";

  inputs.bsdx.url = "path:/nonexistent/bsdx-builds-input-must-be-overridden";

  outputs =
    { self, bsdx }:
    let
      system = "x86_64-linux";
      pkgs = bsdx.inputs.nixpkgs.legacyPackages.${system};
      release = bsdx.lib.defaultRelease;

      # nix/sysroot.nix over the test's tarball: `bsdx sysroot extract` in a derivation
      sysroot = bsdx.lib.mkSysroot {
        inherit system release;
        baseTxz = ./base.txz;
      };

      sysinfo = bsdx.lib.buildFreebsdPackage {
        inherit system release sysroot;
        src = ./sysinfo;
      };

      # A declared service: rc.d + newsyslog via `bsdx rcd`, a .pkg output.
      # `sh` on the host path (bash in buildInputs) is what would make
      # patchShebangs rewrite `#!/bin/sh` without dontPatchShebangs.
      service = bsdx.lib.buildFreebsdPackage {
        inherit system release sysroot;
        src = ./service;
        buildInputs = [ pkgs.bash ];
        # the dependency build of sysinfo (same Cargo.lock), as crane users share it
        inherit (sysinfo) cargoArtifacts;
      };
    in
    {
      packages.${system} = {
        inherit sysroot sysinfo service;
        # The control for dontPatchShebangs: the same #!/bin/sh script, sh in
        # buildInputs, fixup left on: the stand-in stdenv must rewrite it (as
        # nixpkgs' patch-shebangs.sh does), or the service test proves nothing.
        shebang-control = pkgs.stdenv.mkDerivation {
          name = "shebang-control";
          strictDeps = true;
          buildInputs = [ pkgs.bash ];
          phases = [
            "installPhase"
            "fixupPhase"
          ];
          installPhase = ''
            mkdir -p "$out/etc/rc.d"
            printf '#!/bin/sh\necho hi\n' > "$out/etc/rc.d/control"
            chmod 0755 "$out/etc/rc.d/control"
          '';
        };
        service-pkg = service.pkg;
        # nix/pkg-repo.nix: `bsdx repo` over the service's .pkg
        service-repo = bsdx.lib.mkPkgRepo {
          inherit system;
          packages = [ service.pkg ];
        };
        service-reproducible = service.tests.reproducible;
        eval-toolchain = bsdx.checks.${system}.eval-toolchain;
        bsdx-tests = bsdx.checks.${system}.bsdx-tests;
      };
      devShells.${system}.default = bsdx.lib.mkDevShell { inherit system release sysroot; };
    };
}
