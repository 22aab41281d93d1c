# checks :: { } -> {
#   freebsd              # the bot template built for FreeBSD; its installCheck is `bsdx check`
#   bsdx-tests           # bsdx's unit tests
#   reproducible         # the bot built twice in different build directories, compared
#   eval-devshell-env    # eval-only: the devShells run `bsdx env --sysroot <pinned sysroot>`
#   eval-base-txz-pins   # eval-only: every FOD's urls/hash is data/releases.json's
#   eval-build-commands  # eval-only: buildFreebsdPackage's phases call cargo zigbuild / bsdx
#   eval-toolchain       # eval-only: Zig 0.15, cargo-zigbuild >= 0.21 (FreeBSD support)
#   eval-run             # eval-only: runInVm runs `bsdx run` with the release's files, QEMU, mtools, xorriso
#   eval-pkg-repo        # eval-only: mkPkgRepo runs `bsdx repo` over the bot's .pkg output
#   run-sysinfo, run-bot # the templates' binaries on FreeBSD in QEMU: only where
#                        # data/releases.json pins the default release's kernel.txz (none yet)
# }
#
# The eval-* checks are tiny derivations that only exist if their assertions
# hold: evaluating them (nix flake check --no-build, tests/nix/check.sh) is the
# test; building them only writes how many assertions held.
#
# lib.hasInfix, lib.hasPrefix, lib.versionAtLeast, lib.concatStringsSep,
# lib.escapeShellArgs: NixOS/nixpkgs lib/strings.nix (escapeShellArg quotes only
#   a word that does not match [[:alnum:],._+:@%/-]+: an expected command line is
#   built with it, never spelled out)
#   (hasInfix builds a regex from its needle with builtins.match, which refuses
#   a string with context: a needle naming a store path must go through
#   `plain`, builtins.unsafeDiscardStringContext; the haystack may keep it).
# runCommandLocal: NixOS/nixpkgs pkgs/build-support/trivial-builders/default.nix
{
  lib,
  runCommandLocal,
  pins,
  baseTxzFor,
  sysrootFor,
  mkDevShell,
  toolchain,
  freebsd,
  bsdxTests,
  reproducible,
  botSrc,
  sysinfoSrc,
  buildFreebsdPackage,
  runInVm,
  kernelTxzFor,
  mkPkgRepo,
}:
let
  evalCheck =
    name: assertions:
    let
      failed = builtins.filter (a: !a.ok) assertions;
    in
    if failed != [ ] then
      throw "bsdx: check ${name} failed during evaluation:\n  ${lib.concatStringsSep "\n  " (map (a: a.what) failed)}"
    else
      runCommandLocal "bsdx-${name}" { } ''
        echo "${toString (builtins.length assertions)} assertions held during evaluation" > "$out"
      '';

  check = ok: what: { inherit ok what; };

  # A needle for lib.hasInfix that may name store paths (see above).
  plain = builtins.unsafeDiscardStringContext;

  targetOf = arch: builtins.head (builtins.filter (t: pins.targetArch.${t} == arch) (builtins.attrNames pins.targetArch));

  shellAssertions =
    { release, arch, ... }:
    let
      target = targetOf arch;
      shell = mkDevShell { inherit release target; };
      sysroot = sysrootFor release arch;
      call = "bsdx env --sysroot ${sysroot} --release ${release} --target ${target}";
    in
    [
      (check (lib.hasInfix (plain call) shell.shellHook) "devShell ${release}/${target}: shellHook does not run `${call}`")
      (check (shell.BSDX_SYSROOT == "${sysroot}") "devShell ${release}/${target}: BSDX_SYSROOT is not the sysroot store path")
      (check (shell.BSDX_RELEASE == release && shell.BSDX_TARGET == target) "devShell ${release}/${target}: BSDX_RELEASE/BSDX_TARGET")
    ];

  pinAssertions =
    { release, arch, pin }:
    let
      fod = baseTxzFor release arch;
    in
    [
      (check (fod.urls == pin.urls) "base.txz ${release}/${arch}: urls differ from data/releases.json")
      (check (fod.outputHash == pin.sha256) "base.txz ${release}/${arch}: outputHash ${fod.outputHash} is not data/releases.json's ${pin.sha256}")
      (check (fod.outputHashAlgo == "sha256") "base.txz ${release}/${arch}: outputHashAlgo is not sha256")
      (check ((sysrootFor release arch).baseTxz.outPath == fod.outPath) "sysroot ${release}/${arch}: not extracted from the pinned base.txz")
    ];

  defaultSysroot = sysrootFor pins.defaultRelease "amd64";

  sysinfo = buildFreebsdPackage { src = sysinfoSrc; };
  runs = {
    run-sysinfo = {
      package = sysinfo;
    };
    run-bot = {
      package = freebsd;
      args = [ "--version" ];
    };
  };
  kernelTxz = kernelTxzFor pins.defaultRelease "amd64";
  runChecks =
    if kernelTxz == null then { } else builtins.mapAttrs (_: r: runInVm (r // { inherit kernelTxz; })) runs;

  # The command a run check would execute, with a kernel.txz path that is
  # never built (evaluation only). The arguments mix words the shell takes as
  # they are with words that need quoting; the expected command line is built
  # with the same lib.escapeShellArgs the code uses, never spelled out as one
  # implementation's output (nixpkgs leaves `--version` unquoted).
  runProbeArgs = [
    "--version"
    "two words"
    "it's"
  ];
  runProbe = runInVm {
    package = freebsd;
    args = runProbeArgs;
    kernelTxz = "/kernel.txz";
  };
in
runChecks
// {
  inherit freebsd;
  bsdx-tests = bsdxTests;
  reproducible = reproducible { src = botSrc; };

  eval-devshell-env = evalCheck "eval-devshell-env" (builtins.concatMap shellAssertions pins.all);

  eval-base-txz-pins = evalCheck "eval-base-txz-pins" (builtins.concatMap pinAssertions pins.all);

  eval-build-commands = evalCheck "eval-build-commands" [
    (check (lib.hasInfix "cargo zigbuild --profile release" freebsd.buildPhase) "freebsd: buildPhase does not run `cargo zigbuild --profile release`")
    (check (lib.hasInfix "--target x86_64-unknown-freebsd" freebsd.buildPhase) "freebsd: buildPhase does not pass --target x86_64-unknown-freebsd")
    (check (lib.hasInfix (plain "bsdx env --sysroot ${defaultSysroot} --release ${pins.defaultRelease}") freebsd.preBuild) "freebsd: preBuild does not evaluate `bsdx env` over the pinned sysroot")
    (check (lib.hasInfix (plain "bsdx check \"$out/bin\" --release ${pins.defaultRelease} --sysroot ${defaultSysroot}") freebsd.installCheckPhase) "freebsd: installCheckPhase does not run `bsdx check` over the pinned sysroot")
    (check (freebsd.doInstallCheck or false) "freebsd: doInstallCheck is off, so `bsdx check` would not run")
    (check (freebsd.dontUseZigBuild or false && freebsd.dontUseZigInstall or false) "freebsd: Zig's setup hook would replace crane's phases")
    (check (freebsd.dontPatchShebangs or false) "freebsd: fixup would rewrite the rc.d script's #!/bin/sh")
    (check (freebsd.BSDX_ZIG == "${toolchain.zig}/bin/zig" && freebsd.CARGO_ZIGBUILD_ZIG_PATH == freebsd.BSDX_ZIG) "freebsd: the pinned Zig is not the one bsdx and cargo-zigbuild use")
    (check (freebsd ? pkg && lib.hasInfix "bsdx package . --from-binary" freebsd.postInstall) "freebsd: the bot declares a service but no .pkg output is made")
    (check (lib.hasInfix "bsdx rcd --out \"$out/etc\"" freebsd.postInstall) "freebsd: the rc.d script is not generated by `bsdx rcd`")
  ];

  eval-run = evalCheck "eval-run" [
    (check (lib.hasInfix (plain "bsdx run --release ${pins.defaultRelease} --target x86_64-unknown-freebsd") runProbe.buildCommand) "runInVm: not `bsdx run` for the package's release/target")
    (check (lib.hasInfix (plain "--kernel-txz /kernel.txz --base-txz ${baseTxzFor pins.defaultRelease "amd64"}") runProbe.buildCommand) "runInVm: not the release's kernel.txz and pinned base.txz")
    (check (lib.hasInfix (plain "-- ${freebsd}/bin/bsdx-bot-template ${lib.escapeShellArgs runProbeArgs} |") runProbe.buildCommand) "runInVm: not the package's binary with its arguments")
    (check (builtins.length runProbe.nativeBuildInputs == 4) "runInVm: bsdx, QEMU, mtools and xorriso are not all inputs")
  ];

  eval-pkg-repo =
    let
      repo = mkPkgRepo { packages = [ freebsd.pkg ]; };
    in
    evalCheck "eval-pkg-repo" [
      (check (lib.hasInfix (plain "for p in ${lib.escapeShellArgs (map toString [ freebsd.pkg ])}; do") repo.buildCommand) "mkPkgRepo: the bot's .pkg output is not what it copies")
      (check (lib.hasInfix "bsdx repo \"$out\"" repo.buildCommand) "mkPkgRepo: `bsdx repo` does not write the catalog")
      (check (builtins.length repo.nativeBuildInputs == 1 && lib.hasInfix "-bsdx-" "${builtins.head repo.nativeBuildInputs}") "mkPkgRepo: bsdx is not its one input")
    ];

  eval-toolchain = evalCheck "eval-toolchain" [
    (check (lib.hasPrefix "0.15" toolchain.zig.version) "zig is ${toolchain.zig.version}, not 0.15 (the version CI uses)")
    (check (lib.versionAtLeast toolchain.cargo-zigbuild.version "0.21.0") "cargo-zigbuild ${toolchain.cargo-zigbuild.version} predates FreeBSD support (0.21.0)")
  ];
}
