# baseTxz :: { release :: String, arch :: String } -> Derivation
#
# A FreeBSD release's base.txz as a fixed-output derivation: every URL form and
# the sha256 from data/releases.json (via ./pins.nix), tried in order, so a
# release keeps resolving after it moves from the mirror to the archive.
#
# fetchurl { urls; sha256; name; passthru; }:
#   NixOS/nixpkgs pkgs/build-support/fetchurl/default.nix
#   (`urls` "are tried in order"; `sha256` is the legacy hash form it maps to
#   outputHashAlgo = "sha256" / outputHash = <hex>, the form data/releases.json stores).
{
  fetchurl,
  pins,
  release,
  arch,
}:
let
  pin = pins.lookup release arch;
in
fetchurl {
  name = "FreeBSD-${release}-RELEASE-${arch}-base.txz";
  inherit (pin) urls sha256;
  passthru = {
    inherit release arch pin;
  };
}
