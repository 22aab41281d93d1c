# mkDevShell :: {
#   release  ? "14.4" (data/releases.json default_release),
#   target   ? "x86_64-unknown-freebsd",
#   sysroot  ? <the pinned base.txz of release/target, extracted by bsdx>,
#   withRun  ? true  (QEMU, mtools and xorriso for `bsdx run` / `bsdx test`),
#   packages ? [ ],
#   ...      (passed on to mkShell)
# } -> Derivation
#
# bsdx, the toolchain, and the FreeBSD cross environment for `release`/`target`
# over the pinned sysroot. The environment is whatever
# `bsdx env --sysroot <store path>` prints, evaluated when the shell starts: it
# is computed by bsdx (the same code `bsdx build` applies), not restated here.
# Plain `cargo zigbuild --release --target <target>` then works in the shell.
# BSDX_SYSROOT/BSDX_RELEASE/BSDX_TARGET make `bsdx build`/`bsdx check` there
# use the same sysroot. BSDX_ZIG/CARGO_ZIGBUILD_ZIG_PATH pin the Zig both
# tools use (toolchain.zigEnv), even where the host's python3 has ziglang.
#
# mkShell { packages; shellHook; ... }: NixOS/nixpkgs pkgs/build-support/mkshell/default.nix
{
  mkShell,
  bsdx,
  toolchain,
  pins,
  sysrootFor,
  qemu,
  mtools,
  xorriso,
}:
{
  release ? pins.defaultRelease,
  target ? "x86_64-unknown-freebsd",
  sysroot ? sysrootFor release (pins.archOf target),
  withRun ? true,
  packages ? [ ],
  ...
}@args:
mkShell (
  builtins.removeAttrs args [
    "release"
    "target"
    "sysroot"
    "withRun"
  ]
  // toolchain.zigEnv
  // {
    packages = [
      bsdx
    ]
    ++ toolchain.packages
    ++ (
      if withRun then
        [
          qemu
          mtools
          xorriso
        ]
      else
        [ ]
    )
    ++ packages;

    BSDX_RELEASE = release;
    BSDX_TARGET = target;
    BSDX_SYSROOT = "${sysroot}";

    # Zig's setup hook (NixOS/nixpkgs pkgs/development/compilers/zig/setup-hook.sh,
    # zigSetGlobalCacheDir) may point ZIG_GLOBAL_CACHE_DIR at
    # a fresh temporary directory; in a shell, keep Zig's default, persistent cache.
    shellHook = ''
      export ZIG_GLOBAL_CACHE_DIR="''${XDG_CACHE_HOME:-$HOME/.cache}/zig"
      if bsdx_env="$(bsdx env --sysroot ${sysroot} --release ${release} --target ${target})"; then
        eval "$bsdx_env"
      else
        echo "bsdx: \`bsdx env\` failed (see above); the FreeBSD cross environment is not set" >&2
      fi
      unset bsdx_env
    ''
    + (args.shellHook or "");

    passthru = (args.passthru or { }) // {
      inherit sysroot release target;
    };
  }
)
