# mkPkgRepo :: { packages :: [Derivation | Path], name ? "bsdx-pkg-repo" } -> Derivation
#
# A pkg(8) repository of FreeBSD packages: $out/All/NAME-VERSION.pkg for every
# .pkg in `packages` (a buildFreebsdPackage's `.pkg` output, a directory holding
# .pkg files, or a .pkg file), and beside them the catalog `bsdx repo` writes
# (meta.conf, data.pkg, packagesite.pkg): serve $out with any static web
# server and point hosts at it (README, "Fleet: bsdx repo").
#
# Unsigned: signing needs the private key, and anything a derivation reads
# is copied into the world-readable Nix store. Sign a copy outside Nix with
# `bsdx repo DIR --key KEY.pem` (the packages' sums come from the catalog
# cache, so only the catalog is rewritten).
#
# Reproducible: bsdx repo orders the catalog by name and stamps its members
# with SOURCE_DATE_EPOCH (stdenv sets it); its incremental cache, which
# records the inputs' mtimes, is not kept in $out.
#
# runCommandLocal: NixOS/nixpkgs pkgs/build-support/trivial-builders/default.nix
# lib.escapeShellArgs: NixOS/nixpkgs lib/strings.nix
{
  lib,
  runCommandLocal,
  bsdx,
}:
{
  packages,
  name ? "bsdx-pkg-repo",
}:
runCommandLocal name
  {
    nativeBuildInputs = [ bsdx ];
    passthru = { inherit packages; };
  }
  ''
    mkdir -p "$out/All"
    for p in ${lib.escapeShellArgs (map toString packages)}; do
      if [ -d "$p" ]; then
        found=0
        for f in "$p"/*.pkg; do
          [ -e "$f" ] || continue
          cp "$f" "$out/All/"
          found=1
        done
        [ "$found" = 1 ] || { echo "mkPkgRepo: $p holds no .pkg file (give a buildFreebsdPackage's .pkg output)" >&2; exit 1; }
      else
        cp "$p" "$out/All/"
      fi
    done
    chmod 0644 "$out"/All/*.pkg
    bsdx repo "$out"
    rm -f "$out/.bsdx-repo-cache.json"
  ''
