# STAND-IN for nixpkgs pkgs/by-name/wr/writableTmpDirAsHomeHook (behaviour:
# outside nix-shell/nix develop, HOME becomes a fresh writable directory).
writableTmpDirAsHomeHook() {
  if [ -z "${IN_NIX_SHELL-}" ]; then
    HOME=$(mktemp -d)
    export HOME
  fi
}
postHooks+=(writableTmpDirAsHomeHook)
