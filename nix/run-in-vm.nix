# runInVm :: {
#   package,                     # a buildFreebsdPackage result (or any derivation with bin/)
#   program   ? package.pname,   # the executable in ${package}/bin
#   args      ? [ ],
#   release   ? package.release or the default release,
#   target    ? package.target or "x86_64-unknown-freebsd",
#   kernelTxz,                   # FreeBSD's kernel.txz for release/target (a path or a fetchurl you pin)
#   baseTxz   ? <the pinned base.txz of release/target>,
#   timeout   ? 900,             # seconds; software emulation boots in ~10 s, the payload decides the rest
# } -> Derivation                # $out: the program's output; the build fails with its exit status
#
# Runs a FreeBSD binary on the real FreeBSD kernel and base in QEMU:
# `bsdx run` (boot media from kernel.txz/base.txz, the program on a data disk,
# its exit status back). KVM when /dev/kvm really runs a guest (Nix's sandbox
# only offers it with the `kvm` system feature), TCG otherwise.
#
# Buildable only where kernel.txz can be had: data/releases.json pins no
# kernel.txz yet (bsdx run checks it against the release's MANIFEST and
# records it in bsdx.lock, trust on first use), so the flake's
# checks.run-<template> exist only for releases whose pins include one.
#
# runCommand, lib.escapeShellArgs: NixOS/nixpkgs pkgs/build-support/trivial-builders/default.nix,
#   lib/strings.nix
{
  lib,
  runCommand,
  bsdx,
  qemu,
  mtools,
  xorriso,
  pins,
  baseTxzFor,
}:
{
  package,
  program ? package.pname,
  args ? [ ],
  release ? package.release or pins.defaultRelease,
  target ? package.target or "x86_64-unknown-freebsd",
  kernelTxz,
  baseTxz ? baseTxzFor release (pins.archOf target),
  timeout ? 900,
}:
runCommand "${program}-on-freebsd-${release}"
  {
    nativeBuildInputs = [
      bsdx
      qemu
      mtools
      xorriso
    ];
    passthru = {
      inherit
        package
        release
        target
        kernelTxz
        baseTxz
        ;
    };
  }
  ''
    export BSDX_CACHE_DIR="$TMPDIR/bsdx-cache"
    bsdx run --release ${release} --target ${target} \
      --kernel-txz ${kernelTxz} --base-txz ${baseTxz} --lock "$TMPDIR/bsdx.lock" \
      --timeout ${toString timeout} \
      -- ${package}/bin/${program} ${lib.escapeShellArgs args} | tee "$out"
  ''
