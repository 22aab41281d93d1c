# STAND-IN for nixpkgs pkgs/development/compilers/zig/setup-hook.sh
# (doc/hooks/zig.section.md): zig.hook replaces the build, check and install
# phases with `zig build` unless dontUseZigBuild / dontUseZigCheck /
# dontUseZigInstall are set. There is no configure phase and no
# dontUseZigConfigure.
zigBuildPhase() { runHook preBuild; zig build; runHook postBuild; }
zigCheckPhase() { runHook preCheck; zig build test; runHook postCheck; }
zigInstallPhase() { runHook preInstall; zig build install --prefix "$out"; runHook postInstall; }
if [ -z "${dontUseZigBuild-}" ] && [ -z "${buildPhase-}" ]; then buildPhase=zigBuildPhase; fi
if [ -z "${dontUseZigCheck-}" ] && [ -z "${checkPhase-}" ]; then checkPhase=zigCheckPhase; fi
if [ -z "${dontUseZigInstall-}" ] && [ -z "${installPhase-}" ]; then installPhase=zigInstallPhase; fi
