# STAND-IN for github:NixOS/nixpkgs, used only by tests/nix/check.sh (see ../README.md).
# Not nixpkgs: the lib functions and packages bsdx's flake uses, built from
# this machine's own tools (host-tools.json, written by tests/nix/check.sh).
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
      hostTools = if builtins.pathExists ./host-tools.json then builtins.fromJSON (builtins.readFile ./host-tools.json) else null;
    in
    {
      inherit lib;
      # mirrors NixOS/nixpkgs flake.nix: legacyPackages.<system> is the package set
      legacyPackages = lib.genAttrs systems (system: import ./pkgs.nix { inherit lib system hostTools; });
    };
}
