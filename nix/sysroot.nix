# sysroot :: { release :: String, arch :: String, baseTxz ? <the pinned FOD> } -> Derivation
#
# What linking for FreeBSD `release`/`arch` needs, extracted from the pinned
# base.txz by the same code the non-Nix path runs (`bsdx sysroot extract`):
# a flat lib/ of shared libraries and their dev symlinks, no static archives,
# no linker scripts, and the marker bsdx-sysroot.json. Nothing is decided here.
# `baseTxz` may be any base.txz of that release (a mirror's copy, a local
# file); bsdx checks it is that release's when it extracts it.
#
# runCommand name env script: NixOS/nixpkgs pkgs/build-support/trivial-builders/default.nix
{
  runCommand,
  bsdx,
  baseTxzFor,
  release,
  arch,
  baseTxz ? baseTxzFor release arch,
}:
runCommand "freebsd-${release}-${arch}-sysroot"
  {
    nativeBuildInputs = [ bsdx ];
    passthru = {
      inherit release arch baseTxz;
    };
  }
  ''
    export BSDX_CACHE_DIR="$TMPDIR/bsdx-cache"
    bsdx sysroot extract ${baseTxz} --out "$out" --release ${release} --target ${arch}
  ''
