#!/usr/bin/env python3
"""Write host-tools.json for the stand-in nixpkgs (tests/nix/standins/nixpkgs):
the absolute paths of this machine's tools that the stand-in packages link
into the Nix store (coreutils & co. for the stdenv, Debian's rustc/cargo and
rust-src, PyPI's zig and cargo-zigbuild, jq, QEMU, mtools, xorriso).

    host-tools.py OUT.json

Tools that are missing are left out (the stand-in package then fails to
build, naming the file); rustc, cargo, zig and cargo-zigbuild are required.
"""
import json, os, shutil, subprocess, sys, sysconfig


def which(name):
    p = shutil.which(name)
    return os.path.realpath(p) if p else None


def run(*argv):
    try:
        return subprocess.run(argv, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


STDENV_TOOLS = """
sh bash cat cp mv rm ln ls mkdir rmdir chmod chown touch date env echo printf head tail sort uniq
wc cut tr tee basename dirname readlink realpath mktemp install stat sha256sum cmp diff id uname
sleep true false test expr seq od xargs nproc sed grep awk find tar xz gzip zstd file patch
make cc gcc c++ g++ cpp ld as ar nm ranlib strip objcopy objdump readelf patchelf curl
""".split()

out = {"bash": which("bash"), "bin": {}}
for t in STDENV_TOOLS:
    p = shutil.which(t)
    if p:
        # keep `sh` and friends as named (a link to dash stays `sh`), but
        # resolve the directory so pyenv/venv shims do not leak in
        out["bin"][t] = p
out["bin"]["jq"] = which("jq")

rustc = "/usr/bin/rustc" if os.path.exists("/usr/bin/rustc") else which("rustc")
cargo = "/usr/bin/cargo" if os.path.exists("/usr/bin/cargo") else which("cargo")
if not rustc or not cargo:
    sys.exit("host-tools.py: no rustc/cargo (run .ci/setup-debian)")
sysroot = run(rustc, "--print", "sysroot")
version = run(rustc, "--version")
out["rust"] = {
    "version": version.split()[1] if version else "0",
    "rustc": rustc,
    "cargo": cargo,
    "src": os.path.join(sysroot, "lib/rustlib/src/rust") if sysroot else "/nonexistent",
}
if os.path.exists(os.path.join(os.path.dirname(rustc), "rustdoc")):
    out["rust"]["rustdoc"] = os.path.join(os.path.dirname(rustc), "rustdoc")

zig = run(sys.executable, "-c", "import ziglang, os; print(os.path.join(os.path.dirname(ziglang.__file__), 'zig'))")
zig = zig or which("zig")
if not zig:
    sys.exit("host-tools.py: no zig (pip install ziglang==0.15.2, or .ci/setup-debian)")
out["zig"] = {"version": run(zig, "version"), "path": zig}

czb = os.path.join(sysconfig.get_path("scripts"), "cargo-zigbuild")
if not os.path.exists(czb):
    czb = which("cargo-zigbuild")
if not czb:
    sys.exit("host-tools.py: no cargo-zigbuild (.ci/setup-debian)")
v = run(czb, "--version")
out["cargoZigbuild"] = {"version": v.split()[-1] if v else "0", "path": czb}

out["qemu"] = {n: which(n) for n in ("qemu-system-x86_64", "qemu-system-aarch64", "qemu-img") if which(n)}
out["mtools"] = {n: which(n) for n in ("mformat", "mcopy", "mmd", "mdir") if which(n)}
out["xorriso"] = {n: which(n) for n in ("xorriso",) if which(n)}

with open(sys.argv[1], "w") as f:
    json.dump(out, f, indent=1, sort_keys=True)
