# STAND-IN for github:ipetkov/crane, used only by tests/nix/check.sh (see ../README.md).
# Not crane: mkLib pkgs -> a craneLib with the functions bsdx's flake calls, with
# the call shapes and phase commands of ipetkov/crane lib/*.nix, whose
# derivations really build (with the stand-in nixpkgs' host tools; see lib.nix).
{
  description = "STAND-IN for crane (bsdx tests only; not crane)";

  outputs =
    { self }:
    {
      mkLib = pkgs: import ./lib.nix { inherit pkgs; };
    };
}
