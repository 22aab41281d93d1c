//! The release is the floor: `bsdx env --release R` aims `zig cc` at
//! FreeBSD R's libc (`ZIG_LIBC`), so a configure-like probe for a function
//! R lacks fails to link and the C code falls back, and the ABI note says R.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::*;

/// `bsdx env --release R --json` (optionally over a sysroot).
fn env_json(release: &str, sysroot: Option<&Path>) -> serde_json::Value {
    env_json_for("x86_64-unknown-freebsd", release, sysroot)
}

fn env_json_for(target: &str, release: &str, sysroot: Option<&Path>) -> serde_json::Value {
    let mut b = bsdx().args(["env", "--json", "--target", target, "--release", release]);
    if let Some(s) = sysroot {
        b = b.args(["--sysroot"]).arg_path(s);
    }
    b.run().success().json()
}

fn var<'a>(env: &'a serde_json::Value, name: &str) -> Option<&'a str> {
    env["vars"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == name)
        .map(|v| v["value"].as_str().unwrap())
}

/// `zig cc` for the FreeBSD target `bsdx env` was asked for, with the
/// environment it printed: `ZIG_LIBC` and the target's CFLAGS, as cc-rs
/// under cargo-zigbuild uses them.
fn cc(env: &serde_json::Value, dir: &Path, args: &[&str]) -> std::process::Output {
    let target = bsdx::model::target::Target::parse(env["target"].as_str().unwrap()).unwrap();
    let cflags = format!("CFLAGS_{}", target.triple.replace('-', "_"));
    let mut cmd: Command = zig();
    cmd.current_dir(dir)
        .args(["cc", "-target", target.zig, "-fPIE", "-pie"])
        .args(var(env, &cflags).unwrap().split_whitespace())
        .args(args);
    cmd.env_remove("ZIG_LIBC");
    if let Some(libc) = var(env, "ZIG_LIBC") {
        cmd.env("ZIG_LIBC", libc);
    }
    cmd.output().unwrap()
}

const PROBE: &str =
    "#include <stdlib.h>\nint main(void) { return secure_getenv(\"HOME\") != 0; }\n";

/// A C program configured like jemalloc's configure configures it: use
/// `secure_getenv` only where a program calling it links.
const PROGRAM: &str = r#"#include <stdio.h>
#include <stdlib.h>
#ifndef RELEASE_VERSION
#error "RELEASE_VERSION"
#endif
_Static_assert(__FreeBSD_version == RELEASE_VERSION, "C code sees the release");
static const char *home(void) {
#ifdef HAVE_SECURE_GETENV
    return secure_getenv("HOME");
#else
    return getenv("HOME");
#endif
}
int main(void) { const char *h = home(); puts(h ? h : "?"); return 0; }
"#;

/// The `__FreeBSD_version` in a file's NT_FREEBSD_ABI_TAG note.
fn abi_note(path: &Path) -> u32 {
    let bytes = std::fs::read(path).unwrap();
    let elf = goblin::elf::Elf::parse(&bytes).unwrap();
    let tag = elf
        .iter_note_headers(&bytes)
        .into_iter()
        .flatten()
        .flatten()
        .find(|n| n.n_type == 1 && n.name == "FreeBSD")
        .unwrap_or_else(|| panic!("{}: no ABI note", path.display()));
    u32::from_le_bytes(tag.desc.try_into().unwrap())
}

fn check(release: &str, path: &Path) -> serde_json::Value {
    bsdx()
        .args(["check", "--json", "--release", release])
        .arg_path(path)
        .run()
        .json()
}

/// The crt objects of the floor `env` names (`crt_dir` in its `ZIG_LIBC`
/// file) carry no debug info and no path: they are linked into every
/// program, and a path in them (the temporary directory they were compiled
/// in, Zig's install path) would make a build with debug info kept differ
/// from machine to machine.
fn crt_objects_carry_no_machine_paths(env: &serde_json::Value) {
    let libc = std::fs::read_to_string(var(env, "ZIG_LIBC").unwrap()).unwrap();
    let crt_dir = libc
        .lines()
        .find_map(|l| l.strip_prefix("crt_dir="))
        .expect("crt_dir in the ZIG_LIBC file");
    // Zig's install directory (its `lib` holds the csu sources).
    let zig_home = zig_binary().parent().unwrap().display().to_string();
    let mut seen = 0;
    for e in std::fs::read_dir(crt_dir).unwrap() {
        let path = e.unwrap().path();
        if path.extension().is_none_or(|x| x != "o") {
            continue;
        }
        seen += 1;
        let bytes = std::fs::read(&path).unwrap();
        let elf = goblin::elf::Elf::parse(&bytes).unwrap();
        let debug: Vec<&str> = elf
            .section_headers
            .iter()
            .filter_map(|s| elf.shdr_strtab.get_at(s.sh_name))
            .filter(|n| n.starts_with(".debug"))
            .collect();
        assert!(debug.is_empty(), "{}: {debug:?}", path.display());
        for needle in ["/tmp/", zig_home.as_str()] {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
                "{} holds {needle}",
                path.display()
            );
        }
    }
    assert!(
        seen >= 8,
        "crt1.o, Scrt1.o, crti.o, crtbegin*.o, … in {crt_dir}"
    );
}

/// Configure (probe) and build the program for `release`; returns whether
/// the probe linked and the program.
fn configure_and_build(env: &serde_json::Value, dir: &Path, version: u32) -> (bool, PathBuf) {
    configure_and_build_with(env, dir, version, &[])
}

/// [`configure_and_build`] with extra compiler flags for the probe and the
/// program. (Each new floor costs Zig a build of its runtimes per
/// optimisation mode: about 17 s debug, 5 s at -O2, cold.)
fn configure_and_build_with(
    env: &serde_json::Value,
    dir: &Path,
    version: u32,
    flags: &[&str],
) -> (bool, PathBuf) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("probe.c"), PROBE).unwrap();
    std::fs::write(dir.join("prog.c"), PROGRAM).unwrap();
    let mut probe_args = flags.to_vec();
    probe_args.extend(["probe.c", "-o", "probe"]);
    let probe = cc(env, dir, &probe_args);
    let have = probe.status.success();
    if !have {
        let err = String::from_utf8_lossy(&probe.stderr);
        assert!(
            err.contains("undefined symbol: secure_getenv"),
            "the probe fails at link time, not compile time: {err}"
        );
    }
    let mut args: Vec<String> = flags.iter().map(|f| f.to_string()).collect();
    args.push(format!("-DRELEASE_VERSION={version}"));
    if have {
        args.push("-DHAVE_SECURE_GETENV=1".into());
    }
    args.extend(["prog.c", "-o", "prog"].map(String::from));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = cc(env, dir, &args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (have, dir.join("prog"))
}

#[test]
fn a_configure_probe_falls_back_on_13_5_and_finds_secure_getenv_on_14_2() {
    let tmp = tempfile::tempdir().unwrap();

    let env = env_json("13.5", None);
    assert_eq!(env["floor"]["release"], "13.5");
    assert_eq!(env["floor"]["exact"], true, "{:#}", env["floor"]);
    assert!(var(&env, "ZIG_LIBC").is_some());
    crt_objects_carry_no_machine_paths(&env);
    let (have, prog) = configure_and_build(&env, &tmp.path().join("13.5"), 1305000);
    assert!(!have, "13.5 has no secure_getenv: the probe must not link");
    assert_eq!(abi_note(&prog), 1305000, "the ABI note says 13.5");
    let r = check("13.5", &prog);
    assert_eq!(
        (r["errors"].as_u64(), r["warnings"].as_u64()),
        (Some(0), Some(0)),
        "{r:#}"
    );

    let env = env_json("14.2", None);
    let (have, prog) = configure_and_build(&env, &tmp.path().join("14.2"), 1402000);
    assert!(have, "14.2 has secure_getenv: the probe links");
    assert_eq!(abi_note(&prog), 1402000);
    let r = check("14.2", &prog);
    assert_eq!(r["errors"].as_u64(), Some(0), "{r:#}");
    let r = check("13.5", &prog);
    assert!(
        r["errors"].as_u64().unwrap() > 0,
        "built for 14.2, not 13.5: {r:#}"
    );
}

/// arm64's floor: crt objects bsdx builds for aarch64 and libc stubs from
/// 13.5's amd64 exports (bsdx has no arm64 symbol data for 13.5, which the
/// floor says). An optimised (`-O2`: `--gc-sections`) link keeps the ABI
/// note on both machines: FreeBSD's crtbrand puts it in a section group,
/// which lld's garbage collection drops; bsdx's crt does not.
#[test]
fn arm64_has_a_floor_too_and_optimised_c_links_keep_the_abi_note() {
    let tmp = tempfile::tempdir().unwrap();
    let env = env_json_for("aarch64-unknown-freebsd", "13.5", None);
    assert_eq!(env["floor"]["crt"], "bsdx", "{:#}", env["floor"]);
    assert_eq!(
        env["floor"]["exact"], false,
        "amd64's data approximates arm64's"
    );
    let note = env["floor"]["note"].as_str().unwrap();
    assert!(
        note.contains("no arm64 symbol data for 13.5") && note.contains("ABI note 1305000"),
        "{note}"
    );
    let (have, prog) = configure_and_build_with(&env, &tmp.path().join("arm64"), 1305000, &["-O2"]);
    assert!(!have, "13.5 has no secure_getenv on arm64 either");
    assert_eq!(abi_note(&prog), 1305000, "the ABI note survives -O2");
    let bytes = std::fs::read(&prog).unwrap();
    let elf = goblin::elf::Elf::parse(&bytes).unwrap();
    assert_eq!(elf.header.e_machine, goblin::elf::header::EM_AARCH64);
    assert_eq!(elf.interpreter, Some("/libexec/ld-elf.so.1"));
    let r = check("13.5", &prog);
    assert_eq!(r["errors"].as_u64(), Some(0), "{r:#}");
    assert!(
        r["data"]
            .as_str()
            .unwrap()
            .contains("no full arm64 symbol data for 13.5"),
        "check says arm64 is approximated by amd64's data: {r:#}"
    );

    let env = env_json_for("aarch64-unknown-freebsd", "14.2", None);
    let (have, prog) =
        configure_and_build_with(&env, &tmp.path().join("arm64-14.2"), 1402000, &["-O2"]);
    assert!(have, "14.2's arm64 libc (Zig's data) has secure_getenv");
    assert_eq!(abi_note(&prog), 1402000);

    let env = env_json("13.5", None);
    let (_, prog) = configure_and_build_with(&env, &tmp.path().join("amd64-O2"), 1305000, &["-O2"]);
    assert_eq!(abi_note(&prog), 1305000, "amd64 -O2 keeps the ABI note");
}

#[test]
fn zig_libc_you_set_is_kept_and_15_x_says_it_is_approximate() {
    let env = bsdx()
        .env("ZIG_LIBC", "/my/libc.txt")
        .args(["env", "--json", "--release", "13.5"])
        .run()
        .success()
        .json();
    assert_eq!(var(&env, "ZIG_LIBC"), None, "not set over yours");
    assert_eq!(env["floor"]["exact"], false);
    // Your libc file names your crt objects, not bsdx's: the note object is
    // linked, since they may carry no note.
    assert!(env["floor"]["crt"].is_null(), "{:#}", env["floor"]);
    let tag = env["abi_tag"].as_str().unwrap();
    let rustflags = var(&env, "CARGO_TARGET_X86_64_UNKNOWN_FREEBSD_RUSTFLAGS").unwrap();
    assert!(rustflags.contains(tag), "{rustflags}");
    // Without it, bsdx's crt objects carry the note and the object is not
    // linked: one note per binary.
    let own = env_json("13.5", None);
    assert_eq!(own["floor"]["crt"], "bsdx");
    let rustflags = var(&own, "CARGO_TARGET_X86_64_UNKNOWN_FREEBSD_RUSTFLAGS").unwrap();
    assert!(
        !rustflags.contains(own["abi_tag"].as_str().unwrap()),
        "{rustflags}"
    );
    assert!(env["floor"]["note"]
        .as_str()
        .unwrap()
        .contains("/my/libc.txt"));

    let env = env_json("15.0", None);
    assert_eq!(env["floor"]["exact"], false);
    let note = env["floor"]["note"].as_str().unwrap();
    assert!(
        note.contains("FBSD_1.8") && note.contains("bsdx check --release 15.0"),
        "{note}"
    );
    bsdx()
        .args(["env", "--release", "15.0"])
        .run()
        .success()
        .stdout_has("# floor: FreeBSD 15.0 (approximate): ");
}

/// A sysroot with the release's libc family, headers and crt objects (as
/// `bsdx sysroot extract` now keeps them), and one without headers or crt
/// objects (an older extraction).
#[test]
fn a_sysroot_floor_uses_its_own_headers_and_crt_objects_or_says_what_it_lacks() {
    let tmp = tempfile::tempdir().unwrap();
    // The release's libc family and crt objects, as the stub floor made them.
    let stub_env = env_json("13.5", None);
    let stub_lib = PathBuf::from(stub_env["floor"]["crt_dir"].as_str().unwrap());
    let base = crate::env::fake_base(tmp.path(), &[]);
    for e in std::fs::read_dir(&stub_lib).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let meta = std::fs::symlink_metadata(e.path()).unwrap();
        if name.contains(".so.") && meta.is_file() {
            std::fs::copy(e.path(), base.join("lib").join(&name)).unwrap();
        }
    }
    let old = env_json("13.5", Some(&base));
    assert_eq!(old["floor"]["exact"], false, "{:#}", old["floor"]);
    assert_eq!(old["floor"]["crt"], "bsdx");
    let note = old["floor"]["note"].as_str().unwrap();
    assert!(
        note.contains("usr/include") && note.contains("crt objects"),
        "{note}"
    );
    let dir = tmp.path().join("old");
    let (have, prog) = configure_and_build(&old, &dir, 1305000);
    assert!(!have);
    assert_eq!(abi_note(&prog), 1305000);

    // Now with headers and crt objects where a base keeps them.
    for e in std::fs::read_dir(&stub_lib).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.ends_with(".o") {
            std::fs::copy(e.path(), base.join("usr/lib").join(&name)).unwrap();
        }
    }
    let headers = PathBuf::from(stub_env["floor"]["headers"].as_str().unwrap());
    let inc = base.join("usr/include");
    for from in [headers.parent().unwrap().join("generic-freebsd"), headers] {
        let ok = Command::new("cp")
            .arg("-R")
            .arg(format!("{}/.", from.display()))
            .arg(&inc)
            .status()
            .unwrap();
        assert!(ok.success());
    }
    let full = env_json("13.5", Some(&base));
    assert_eq!(full["floor"]["exact"], true, "{:#}", full["floor"]);
    assert_eq!(full["floor"]["crt"], "sysroot");
    assert_eq!(
        full["floor"]["headers"],
        std::fs::canonicalize(&inc).unwrap().to_str().unwrap()
    );
    let (have, prog) = configure_and_build(&full, &tmp.path().join("full"), 1305000);
    assert!(!have, "the sysroot's libc has no secure_getenv");
    assert_eq!(abi_note(&prog), 1305000);
    let r = check("13.5", &prog);
    assert_eq!(r["errors"].as_u64(), Some(0), "{r:#}");
}

/// The issue's "done when": a fresh project built with `--release 13.5`
/// passes `bsdx check --release 13.5`. The floor is a property of what the
/// link and the C compiles see, not of the optimiser, so this build lowers
/// the template's release profile (opt-level 0, no LTO) to keep the full
/// tier inside CI's budget; the bot's optimised 14.4 build is the repro test
/// in tests/cross.rs, and the optimised 13.5 build is measured in the README.
#[test]
#[ignore = "real cross build (full tier): cargo test --locked -- --ignored"]
fn a_new_project_built_for_13_5_passes_check_for_13_5() {
    let dir = shared_dir("src").join("floor-b");
    if dir.exists() {
        std::fs::remove_dir_all(&dir).unwrap();
    }
    bsdx()
        .args(["new", "b", "--path"])
        .arg_path(&dir)
        .run()
        .success();
    let run = bsdx()
        .args(["build", "--release", "13.5"])
        .dir(&dir)
        .env("CARGO_TARGET_DIR", shared_dir("target-floor"))
        .env("CARGO_PROFILE_RELEASE_OPT_LEVEL", "0")
        .env("CARGO_PROFILE_RELEASE_LTO", "false")
        .run();
    crate::cross::log_compiles("13.5 build", &run);
    let run = run.success();
    let bin = PathBuf::from(run.stdout().lines().last().unwrap().trim());
    assert!(bin.is_file(), "{}", bin.display());
    assert_eq!(abi_note(&bin), 1305000);
    let checked = bsdx()
        .args(["check", "--release", "13.5"])
        .arg_path(&bin)
        .run();
    println!("{}", checked.stdout());
    checked.success();
    assert_freebsd_executable(&bin, "13.5");
}

/// `bsdx sysroot extract` keeps what the floor needs besides the shared
/// libraries: `usr/include/**`, the crt objects and `libc_nonshared.a`, at
/// their own paths; relative links inside `usr/include` too, none that
/// leaves it; a link that leaves the archive refuses the whole archive (the
/// one archive policy, `src/archive.rs`).
#[test]
fn sysroot_extract_keeps_headers_and_crt_objects() {
    use std::io::Write;
    let tmp = tempfile::tempdir().unwrap();
    let libs = base_stubs(&tmp.path().join("libs"));
    let mut b = tar::Builder::new(Vec::new());
    let mut add = |path: &str, kind: tar::EntryType, data: &[u8], link: Option<&str>| {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        if let Some(l) = link {
            h.set_link_name(l).unwrap();
        }
        b.append_data(&mut h, path, data).unwrap();
    };
    let kvm_bytes = std::fs::read(libs.join("libkvm.so.7")).unwrap();
    let kvm = kvm_bytes.clone();
    add("./lib/libkvm.so.7", tar::EntryType::Regular, &kvm, None);
    add("./usr/include/", tar::EntryType::Directory, b"", None);
    add(
        "./usr/include/stdio.h",
        tar::EntryType::Regular,
        b"/* stdio */\n",
        None,
    );
    add(
        "./usr/include/sys/param.h",
        tar::EntryType::Regular,
        b"#define __FreeBSD_version 1305000\n",
        None,
    );
    add(
        "./usr/include/alias.h",
        tar::EntryType::Symlink,
        b"",
        Some("stdio.h"),
    );
    add(
        "./usr/include/copy.h",
        tar::EntryType::Link,
        b"",
        Some("./usr/include/stdio.h"),
    );
    // Inside the archive but outside usr/include: not kept.
    add(
        "./usr/include/up",
        tar::EntryType::Symlink,
        b"",
        Some("../share"),
    );
    for o in [
        "crt1.o",
        "Scrt1.o",
        "crti.o",
        "crtn.o",
        "crtbeginS.o",
        "crtendS.o",
        "libc_nonshared.a",
    ] {
        add(
            &format!("./usr/lib/{o}"),
            tar::EntryType::Regular,
            o.as_bytes(),
            None,
        );
    }
    add(
        "./usr/lib/libc.a",
        tar::EntryType::Regular,
        b"!<arch>\n",
        None,
    );
    add(
        "./usr/share/misc/x.h",
        tar::EntryType::Regular,
        b"no\n",
        None,
    );
    let mut xz = xz2::write::XzEncoder::new(Vec::new(), 6);
    xz.write_all(&b.into_inner().unwrap()).unwrap();
    let archive = tmp.path().join("base.txz");
    std::fs::write(&archive, xz.finish().unwrap()).unwrap();
    let out = tmp.path().join("sysroot");
    bsdx()
        .args(["sysroot", "extract"])
        .arg_path(&archive)
        .args(["--out"])
        .arg_path(&out)
        .run()
        .success()
        .stderr_has("kept 9 headers and crt objects");
    let read = |p: &str| std::fs::read_to_string(out.join(p)).unwrap();
    assert_eq!(read("usr/include/stdio.h"), "/* stdio */\n");
    assert_eq!(read("usr/include/alias.h"), "/* stdio */\n");
    assert_eq!(read("usr/include/copy.h"), "/* stdio */\n");
    assert!(read("usr/include/sys/param.h").contains("1305000"));
    assert_eq!(read("usr/lib/Scrt1.o"), "Scrt1.o");
    assert_eq!(read("usr/lib/libc_nonshared.a"), "libc_nonshared.a");
    for absent in ["usr/include/up", "usr/lib/libc.a", "usr/share"] {
        assert!(
            std::fs::symlink_metadata(out.join(absent)).is_err(),
            "{absent}"
        );
    }
    assert!(out.join("lib/libkvm.so.7").is_file());

    // A header link that leaves the archive: the whole archive is refused
    // and nothing is written.
    let mut b = tar::Builder::new(Vec::new());
    for (path, kind, link) in [
        ("./lib/libkvm.so.7", tar::EntryType::Regular, None),
        (
            "./usr/include/evil",
            tar::EntryType::Symlink,
            Some("../../../etc"),
        ),
    ] {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        let data: &[u8] = if link.is_none() { &kvm_bytes } else { b"" };
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        if let Some(l) = link {
            h.set_link_name(l).unwrap();
        }
        b.append_data(&mut h, path, data).unwrap();
    }
    let mut xz = xz2::write::XzEncoder::new(Vec::new(), 6);
    xz.write_all(&b.into_inner().unwrap()).unwrap();
    let evil = tmp.path().join("evil.txz");
    std::fs::write(&evil, xz.finish().unwrap()).unwrap();
    let out = tmp.path().join("refused");
    bsdx()
        .args(["sysroot", "extract"])
        .arg_path(&evil)
        .args(["--out"])
        .arg_path(&out)
        .run()
        .failure(1)
        .stderr_has(
            "member `usr/include/evil` is a symlink to `../../../etc`, which leaves the archive",
        );
    assert!(!out.exists(), "a refused archive left {}", out.display());
}
