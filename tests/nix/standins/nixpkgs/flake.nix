# STAND-IN for github:NixOS/nixpkgs, used only by tests/nix/check.sh (see ../README.md).
# Not nixpkgs: only the attributes bsdx's flake uses, as unbuildable derivations.
{
  description = "STAND-IN for nixpkgs (bsdx tests only; not nixpkgs)";

  outputs =
    { self }:
    let
      lib = import ./lib.nix;
      systems = [
        "x86_64-linux"
        "aarch64-linux"
        "x86_64-darwin"
        "aarch64-darwin"
      ];
    in
    {
      inherit lib;
      # mirrors NixOS/nixpkgs flake.nix: legacyPackages.<system> is the package set
      legacyPackages = lib.genAttrs systems (system: import ./pkgs.nix { inherit lib system; });
    };
}
