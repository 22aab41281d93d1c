# STAND-IN for nixpkgs' pkgs/stdenv/generic/setup.sh (see ../README.md): not
# nixpkgs' stdenv. It does, with this machine's own tools, what bsdx's flake
# relies on from the real one:
# - genericBuild runs the phases unpack, patch, configure, build, check
#   (doCheck), install, fixup, installCheck (doInstallCheck); an attribute
#   named like a phase replaces it (`eval "${!curPhase:-$curPhase}"`);
#   `buildCommand` replaces them all;
# - runHook NAME runs the attribute/function NAME, then every function in the
#   array NAMEHooks (the order of the real runHook: implicit hook first);
# - unpackPhase copies $src into the build directory, runs postUnpack, and the
#   phase loop cds into $sourceRoot afterwards (so postUnpack may rename it);
# - inputs: nativeBuildInputs (and, without strictDeps, buildInputs) put
#   their bin/ on PATH; buildInputs' bin/ form HOST_PATH; every input's
#   nix-support/setup-hook is sourced;
# - fixupPhase: `strip -S` of ELF files in bin/ and lib/ unless dontStrip,
#   `patchelf --shrink-rpath` unless dontPatchELF, and patchShebangs unless
#   dontPatchShebangs: an interpreter found on HOST_PATH (strictDeps: the
#   buildInputs only) replaces `#!/path/to/it`, as the real
#   patch-shebangs.sh does with --host;
# - shell options: -eu and pipefail while this file is sourced, the caller's
#   restored at its end (nix develop's get-env.sh sources it).
# $initialPath (this machine's coreutils, sed, grep, tar, cc, ...) is set by
# the stdenv derivation that prepends it to this file.

__standin_setup_set_original=$-
set -eu
set -o pipefail

addToSearchPath() {
  local var=$1 dir=$2
  [ -d "$dir" ] || return 0
  export "$var"="${!var:+${!var}:}$dir"
}

_eval() {
  if declare -F "$1" >/dev/null 2>&1; then
    "$@"
  else
    eval "$1"
  fi
}

runHook() {
  local hookName=$1
  shift
  local hooksSlice="${hookName}Hooks[@]"
  if declare -F "$hookName" >/dev/null 2>&1; then
    "$hookName" "$@"
  elif [ -n "${!hookName:-}" ]; then
    eval "${!hookName}"
  fi
  local hook
  for hook in ${!hooksSlice+"${!hooksSlice}"}; do
    _eval "$hook" "$@"
  done
  return 0
}

stripHash() {
  local base
  base=$(basename -- "$1")
  if [[ $base =~ ^[a-z0-9]{32}- ]]; then
    echo "${base:33}"
  else
    echo "$base"
  fi
}

PATH=
HOST_PATH=
for i in $initialPath; do
  addToSearchPath PATH "$i/bin"
done
for i in ${nativeBuildInputs:-}; do
  addToSearchPath PATH "$i/bin"
done
for i in ${buildInputs:-}; do
  addToSearchPath HOST_PATH "$i/bin"
  if [ -z "${strictDeps:-}" ]; then addToSearchPath PATH "$i/bin"; fi
done
if [ -z "${strictDeps:-}" ]; then HOST_PATH="${HOST_PATH:+$HOST_PATH:}$PATH"; fi
export PATH HOST_PATH
for i in ${nativeBuildInputs:-} ${buildInputs:-}; do
  if [ -f "$i/nix-support/setup-hook" ]; then
    # shellcheck disable=SC1091
    source "$i/nix-support/setup-hook"
  fi
done

unpackPhase() {
  runHook preUnpack
  local s name
  for s in ${srcs:-${src:-}}; do
    name=$(stripHash "$s")
    if [ -d "$s" ]; then
      cp -pr --no-preserve=ownership -- "$s" "$name"
    else
      case "$s" in
        *.tar | *.tar.* | *.tgz | *.txz) tar xf "$s" ;;
        *) cp -p -- "$s" "$name" ;;
      esac
    fi
    if [ -z "${sourceRoot:-}" ] && [ -d "$name" ]; then sourceRoot=$name; fi
  done
  if [ -n "${sourceRoot:-}" ]; then chmod -R u+w -- "$sourceRoot"; fi
  runHook postUnpack
}

patchPhase() {
  runHook prePatch
  local p
  for p in ${patches:-}; do patch -p1 <"$p"; done
  runHook postPatch
}

configurePhase() {
  runHook preConfigure
  if [ -x ./configure ] && [ -z "${dontConfigure:-}" ]; then ./configure --prefix="$out"; fi
  runHook postConfigure
}

buildPhase() {
  runHook preBuild
  if [ -f Makefile ] || [ -f makefile ]; then make ${makeFlags:-}; fi
  runHook postBuild
}

checkPhase() {
  runHook preCheck
  runHook postCheck
}

installPhase() {
  runHook preInstall
  if [ -f Makefile ] || [ -f makefile ]; then make install ${installFlags:-}; fi
  runHook postInstall
}

patchShebangsHost() {
  local f first interp newPath rest
  while IFS= read -r -d '' f; do
    [ -x "$f" ] || continue
    IFS= read -r first <"$f" || true
    [[ $first == '#!'* ]] || continue
    read -r interp rest <<<"${first#\#!}"
    case "$interp" in
      "$NIX_STORE"/*) continue ;;
    esac
    newPath=$(PATH="$HOST_PATH" command -v "$(basename "$interp")" 2>/dev/null || true)
    [ -n "$newPath" ] && [ "$newPath" != "$interp" ] || continue
    echo "patching script interpreter paths in $f: $interp -> $newPath"
    sed -i -e "1s|^#!.*|#!$newPath${rest:+ $rest}|" "$f"
  done < <(find "$@" -type f -print0)
}

fixupPhase() {
  runHook preFixup
  local o dir f
  for o in ${outputs:-out}; do
    dir=${!o}
    [ -e "$dir" ] || continue
    while IFS= read -r -d '' f; do
      [ "$(head -c 4 "$f" | od -An -c | tr -d ' ')" = '177ELF' ] || continue
      if [ -z "${dontStrip:-}" ]; then strip -S "$f" 2>/dev/null || true; fi
      if [ -z "${dontPatchELF:-}" ]; then patchelf --shrink-rpath "$f" 2>/dev/null || true; fi
    done < <(find "$dir" -type f \( -path "$dir/bin/*" -o -path "$dir/lib/*" \) -print0)
    if [ -z "${dontPatchShebangs:-}" ]; then patchShebangsHost "$dir"; fi
  done
  runHook postFixup
}

installCheckPhase() {
  runHook preInstallCheck
  runHook postInstallCheck
}

runPhase() {
  local curPhase=$1
  echo "Running phase: $curPhase"
  eval "${!curPhase:-$curPhase}"
  if [ "$curPhase" = unpackPhase ]; then
    [ -n "${sourceRoot:-}" ] && chmod +x -- "$sourceRoot"
    cd -- "${sourceRoot:-.}"
  fi
}

genericBuild() {
  if [ -n "${buildCommand:-}" ]; then
    eval "$buildCommand"
    return
  fi
  local todo="${phases:-}"
  if [ -z "$todo" ]; then
    todo="unpackPhase patchPhase configurePhase buildPhase"
    if [ -n "${doCheck:-}" ]; then todo="$todo checkPhase"; fi
    todo="$todo installPhase fixupPhase"
    if [ -n "${doInstallCheck:-}" ]; then todo="$todo installCheckPhase"; fi
  fi
  local p
  for p in $todo; do runPhase "$p"; done
}

NIX_STORE=${NIX_STORE:-/nix/store}
export NIX_STORE
for h in ${postHooks+"${postHooks[@]}"}; do _eval "$h"; done
unset h

[[ $__standin_setup_set_original == *e* ]] || set +e
[[ $__standin_setup_set_original == *u* ]] || set +u
unset -v __standin_setup_set_original
