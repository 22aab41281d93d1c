# reproducible :: { src, ... } -> Derivation     # same arguments as buildFreebsdPackage
#
# Builds the package twice, the second time with its source (and its
# dependency build's source) unpacked under another directory name, and
# succeeds only if both outputs are byte-identical. Paths of the build
# directory that leak into a binary (FreeBSD FACTS §6) make it fail. On failure,
# rebuild both with --keep-failed and compare them with diffoscope.
#
# runCommandLocal: NixOS/nixpkgs pkgs/build-support/trivial-builders/default.nix
# postUnpack/sourceRoot: NixOS/nixpkgs pkgs/stdenv/generic/setup.sh (unpackPhase, then cd "$sourceRoot")
{
  runCommandLocal,
  buildFreebsdPackage,
}:
args:
let
  first = buildFreebsdPackage args;
  second = buildFreebsdPackage (
    args
    // {
      pname = "${first.pname}-rebuilt-elsewhere";
      postUnpack = (args.postUnpack or "") + ''
        mv "$sourceRoot" "$sourceRoot-rebuilt-elsewhere"
        sourceRoot="$sourceRoot-rebuilt-elsewhere"
      '';
    }
  );
in
runCommandLocal "${first.pname}-reproducible"
  (
    {
      inherit first second;
    }
    # a declared service's .pkg (second output) is compared too
    // (
      if first ? pkg then
        {
          firstPkg = first.pkg;
          secondPkg = second.pkg;
        }
      else
        { }
    )
  )
  ''
    if ! diff -r "$first" "$second"; then
      echo "not reproducible: $first and $second differ (rebuild with --keep-failed and run diffoscope)" >&2
      exit 1
    fi
    if [ -n "''${firstPkg:-}" ] && ! diff -r "$firstPkg" "$secondPkg"; then
      echo "not reproducible: the packages $firstPkg and $secondPkg differ" >&2
      exit 1
    fi
    { (cd "$first" && find . -type f -exec sha256sum {} +)
      if [ -n "''${firstPkg:-}" ]; then (cd "$firstPkg" && find . -type f -exec sha256sum {} +); fi
    } > "$out"
  ''
