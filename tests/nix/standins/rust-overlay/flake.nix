# STAND-IN for github:oxalica/rust-overlay, used only by tests/nix/check.sh (see ../README.md).
# Not rust-overlay: lib.mkRustBin and overlays.default with the same call
# shapes (oxalica/rust-overlay flake.nix, lib/rust-bin.nix, lib/mk-aggregated.nix),
# whose toolchain is this machine's rustc and cargo (Debian's, with rust-src),
# linked by the stand-in nixpkgs. Differences from the real one, on purpose:
# the version is the host's (the real stable.latest at the locked revision is
# 1.97.1), and no FreeBSD std is included even though x86_64-unknown-freebsd is
# accepted as a target (the real manifest has a prebuilt rust-std for it):
# bsdx env then builds std from rust-src (-Zbuild-std), as it does without Nix.
{
  description = "STAND-IN for rust-overlay (bsdx tests only; not rust-overlay)";

  # The real flake has a nixpkgs input, which bsdx's flake makes follow its own.
  inputs.nixpkgs.url = "path:/nonexistent/bsdx-standin-rust-overlay-nixpkgs-must-be-overridden";

  outputs =
    { self, nixpkgs }:
    let
      # Targets whose rust-std the real 1.97.1 manifest has, among those bsdx asks about.
      manifestTargets = [
        "x86_64-unknown-linux-gnu"
        "aarch64-unknown-linux-gnu"
        "x86_64-unknown-freebsd"
      ];

      # oxalica/rust-overlay flake.nix: mkRustBin = { distRoot ? ... }: pkgs: <rust-bin>
      mkRustBin =
        { }:
        pkgs:
        let
          host = pkgs.bsdxStandinHostRust;
          rustSrc = host.linkHostTools "rust-src-${host.version}" { } ''
            /usr/bin/mkdir -p "$out/lib/rustlib/src"
            /usr/bin/ln -s ${host.src} "$out/lib/rustlib/src/rust"
          '';
          # lib/rust-bin.nix: a profile is makeOverridable ({ extensions, targets, targetExtensions }: mkAggregated ...)
          profile =
            pname:
            nixpkgs.lib.makeOverridable (
              {
                extensions ? [ ],
                targets ? [ ],
                targetExtensions ? [ ],
              }:
              let
                unknown = builtins.filter (t: !(builtins.elem t manifestTargets)) targets;
                drv = host.linkHostTools "${pname}-${host.version}" host.tools (
                  if builtins.elem "rust-src" extensions then
                    ''
                      /usr/bin/mkdir -p "$out/lib/rustlib/src"
                      /usr/bin/ln -s ${host.src} "$out/lib/rustlib/src/rust"
                    ''
                  else
                    ""
                );
              in
              if unknown != [ ] then
                throw "Unknown target `${builtins.head unknown}`"
              else
                drv
                // {
                  inherit (host) version;
                  # lib/mk-aggregated.nix: passthru = { inherit availableComponents; }
                  passthru.availableComponents = {
                    rust-src = rustSrc;
                  };
                  availableComponents = {
                    rust-src = rustSrc;
                  };
                }
            ) { };
        in
        {
          stable.latest = {
            default = profile "rust-default";
            minimal = profile "rust-minimal";
          };
        };
    in
    {
      lib = { inherit mkRustBin; };
      overlays.default = final: prev: { rust-bin = mkRustBin { } final; };
    };
}
