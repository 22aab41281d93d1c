# STAND-IN for github:ipetkov/crane, used only by tests/nix/check.sh (see ../README.md).
# Not crane: mkLib pkgs -> a craneLib with the functions bsdx's flake calls, whose
# derivations carry the phases crane would generate (ipetkov/crane lib/*.nix),
# so the commands bsdx's flake asks for can be read back.
{
  description = "STAND-IN for crane (bsdx tests only; not crane)";

  outputs =
    { self }:
    {
      mkLib = pkgs: import ./lib.nix { inherit pkgs; };
    };
}
