# pins :: { } -> {
#   releases       :: { "<release>" = { "<arch>" = { urls, sha256, single_source, ... }; }; },
#   defaultRelease :: String,
#   archOf         :: String -> String,                 # Rust target triple -> FreeBSD arch key
#   lookup         :: String -> String -> Pin,          # release -> arch -> pin, or an error listing the known ones
#   sysrootName    :: String -> String -> String,       # "14.4" "amd64" -> "sysroot-14_4-amd64"
#   all            :: [ { release, arch, pin } ],
# }
#
# The FreeBSD data the flake needs, read from the one file of release facts bsdx
# embeds with include_str!: data/releases.json (the release catalog, its default
# release, and each release's base.txz pins: urls + sha256). Nothing here is a
# copy of that data; edit the JSON, never this file.
{ }:
let
  catalog = builtins.fromJSON (builtins.readFile ../data/releases.json);

  # { "<release>" = { "<arch>" = pin; }; } from the catalog's ordered list.
  releases = builtins.listToAttrs (
    map (r: {
      name = r.release;
      value = r.base_txz;
    }) catalog.releases
  );

  # bsdx's two targets and the directory name FreeBSD publishes their base.txz
  # under (data/releases.json's arch keys; bsdx's src/model/target.rs has the same pairs).
  targetArch = {
    "x86_64-unknown-freebsd" = "amd64";
    "aarch64-unknown-freebsd" = "arm64";
  };

  kernels = builtins.listToAttrs (
    map (r: {
      name = r.release;
      value = r.kernel_txz or { };
    }) catalog.releases
  );

  known = names: builtins.concatStringsSep ", " names;
in
{
  inherit releases targetArch;

  defaultRelease = catalog.default_release;

  archOf =
    target:
    targetArch.${target}
      or (throw "bsdx: unknown target `${target}`; known: ${known (builtins.attrNames targetArch)}");

  lookup =
    release: arch:
    let
      perArch =
        releases.${release}
          or (throw "bsdx: no base.txz pin for FreeBSD `${release}` in data/releases.json; known releases: ${known (builtins.attrNames releases)}");
    in
    perArch.${arch}
      or (throw "bsdx: no base.txz pin for FreeBSD ${release} `${arch}` in data/releases.json; known for ${release}: ${known (builtins.attrNames perArch)}");

  # release -> arch -> { urls, sha256 } or null: a kernel.txz pin, where
  # data/releases.json has one (`kernel_txz`, shaped like `base_txz`).
  kernelPin = release: arch: (kernels.${release} or { }).${arch} or null;

  sysrootName = release: arch: "sysroot-${builtins.replaceStrings [ "." ] [ "_" ] release}-${arch}";

  all = builtins.concatLists (
    map (
      release:
      map (arch: {
        inherit release arch;
        pin = releases.${release}.${arch};
      }) (builtins.attrNames releases.${release})
    ) (builtins.attrNames releases)
  );
}
