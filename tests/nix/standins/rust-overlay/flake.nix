# STAND-IN for github:oxalica/rust-overlay, used only by tests/nix/check.sh (see ../README.md).
# Not rust-overlay: lib.mkRustBin and overlays.default with the same call shapes,
# returning unbuildable derivations that record what was asked for.
{
  description = "STAND-IN for rust-overlay (bsdx tests only; not rust-overlay)";

  # The real flake has a nixpkgs input, which bsdx's flake makes follow its own.
  inputs.nixpkgs.url = "path:/nonexistent/bsdx-standin-rust-overlay-nixpkgs-must-be-overridden";

  outputs =
    { self, nixpkgs }:
    let
      # oxalica/rust-overlay flake.nix: mkRustBin = { distRoot ? ... }: pkgs: <rust-bin>
      mkRustBin =
        { }:
        pkgs:
        let
          # lib/rust-bin.nix: a profile is makeOverridable ({ extensions, targets, targetExtensions }: mkAggregated ...)
          profile =
            pname:
            pkgs.lib.makeOverridable (
              {
                extensions ? [ ],
                targets ? [ ],
                targetExtensions ? [ ],
              }:
              pkgs.stdenv.mkDerivation {
                pname = "standin-${pname}";
                version = "1.0.0-standin";
                inherit extensions targets targetExtensions;
                # lib/mk-aggregated.nix: passthru = { inherit availableComponents; }
                passthru.availableComponents = {
                  rust-src = pkgs.stdenv.mkDerivation {
                    pname = "standin-rust-src";
                    version = "1.0.0-standin";
                  };
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
