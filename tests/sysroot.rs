//! `bsdx sysroot extract/fetch` on base.txz-shaped archives built here
//! (xz-compressed tar, members `./lib/...`, `./usr/lib/...`, libraries that
//! are real ELF stubs from `bsdx stubs`), hostile archives, file:// and
//! local HTTP mirrors; and `bsdx env/check --sysroot` over the result.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::support::*;

/// One tar member, written with raw headers so hostile names survive.
enum M<'a> {
    Dir(&'a str),
    File(&'a str, Vec<u8>),
    Symlink(&'a str, &'a str),
    Hard(&'a str, &'a str),
    Device(&'a str, tar::EntryType),
}

fn header(path: &str, kind: tar::EntryType, size: u64) -> tar::Header {
    let mut h = tar::Header::new_ustar();
    let name = path.as_bytes();
    assert!(name.len() <= 100, "{path}: too long for a plain ustar name");
    h.as_old_mut().name[..name.len()].copy_from_slice(name);
    h.set_entry_type(kind);
    h.set_size(size);
    h.set_mode(if kind.is_dir() { 0o755 } else { 0o644 });
    h.set_mtime(0);
    h
}

/// An xz-compressed tar of `members`, as base.txz is.
fn txz(members: &[M]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for m in members {
        let (mut h, data): (tar::Header, &[u8]) = match m {
            M::Dir(p) => (header(p, tar::EntryType::Directory, 0), &[]),
            M::File(p, bytes) => (
                header(p, tar::EntryType::Regular, bytes.len() as u64),
                bytes,
            ),
            M::Symlink(p, t) | M::Hard(p, t) => {
                let kind = if matches!(m, M::Symlink(..)) {
                    tar::EntryType::Symlink
                } else {
                    tar::EntryType::Link
                };
                let mut h = header(p, kind, 0);
                h.set_link_name_literal(t).unwrap();
                (h, &[])
            }
            M::Device(p, kind) => (header(p, *kind, 0), &[]),
        };
        h.set_cksum();
        b.append(&h, data).unwrap();
    }
    let tar = b.into_inner().unwrap();
    let mut xz = xz2::write::XzEncoder::new(Vec::new(), 6);
    xz.write_all(&tar).unwrap();
    xz.finish().unwrap()
}

fn sha256(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

/// The five libraries bsdx's builds need, as ELF stubs with FreeBSD 14.4 sonames.
fn stubs(root: &Path) -> PathBuf {
    base_stubs(&root.join("stubs"))
}

fn read(dir: &Path, name: &str) -> Vec<u8> {
    std::fs::read(dir.join(name)).unwrap()
}

/// A base.txz-shaped archive: the libraries where FreeBSD keeps them, its
/// relative development links (libmemstat.so left for bsdx to make), a
/// link chain, a dangling link, a hard link, linker scripts, static
/// archives, debug files, a library in a subdirectory, a text file with a
/// library's name, programs, and an absolute symlink outside the libraries
/// (as /etc/termcap is in a real base).
fn base_txz(stubs: &Path) -> Vec<u8> {
    txz(&[
        M::Dir("./"),
        M::Dir("./bin/"),
        M::File("./bin/[", b"#!/bin/sh\n".to_vec()),
        M::Hard("./bin/test", "./bin/["),
        M::Dir("./etc/"),
        M::Symlink("./etc/termcap", "/usr/share/misc/termcap"),
        M::Dir("./lib/"),
        M::File("./lib/libkvm.so.7", read(stubs, "libkvm.so.7")),
        M::File("./lib/libgeom.so.5", read(stubs, "libgeom.so.5")),
        M::File("./lib/libdevstat.so.7", read(stubs, "libdevstat.so.7")),
        M::File("./lib/libfake.so.1", b"not an ELF file\n".to_vec()),
        M::Hard("./lib/libgeomcopy.so.5", "./lib/libgeom.so.5"),
        M::Dir("./usr/"),
        M::Dir("./usr/bin/"),
        M::File("./usr/bin/ls", read(stubs, "libkvm.so.7")),
        M::Dir("./usr/lib/"),
        M::File(
            "./usr/lib/libprocstat.so.1",
            read(stubs, "libprocstat.so.1"),
        ),
        M::File("./usr/lib/libmemstat.so.3", read(stubs, "libmemstat.so.3")),
        M::Symlink("./usr/lib/libkvm.so", "../../lib/libkvm.so.7"),
        M::Symlink("./usr/lib/libgeom.so", "../../lib/libgeom.so.5"),
        M::Symlink("./usr/lib/libdevstat.so", "../../lib/libdevstat.so.7"),
        M::Symlink("./usr/lib/libprocstat.so", "libprocstat.so.1"),
        M::Symlink("./usr/lib/libkvm_alias.so", "libkvm.so"),
        M::Symlink("./usr/lib/libgone.so", "libgone.so.3"),
        M::File(
            "./usr/lib/libc.so",
            b"/* linker script */\nGROUP ( /lib/libc.so.7 /usr/lib/libc_nonshared.a )\n".to_vec(),
        ),
        M::File(
            "./usr/lib/libc++.so",
            b"GROUP ( /usr/lib/libc++.so.1 /usr/lib/libcxxrt.so.1 )\n".to_vec(),
        ),
        M::File("./usr/lib/libkvm.a", b"!<arch>\n".to_vec()),
        M::File("./usr/lib/libkvm_p.a", b"!<arch>\n".to_vec()),
        M::Dir("./usr/lib/compat/"),
        M::File("./usr/lib/compat/libold.so.3", read(stubs, "libkvm.so.7")),
        M::Dir("./usr/lib/debug/"),
        M::File(
            "./usr/lib/debug/libkvm.so.7.debug",
            read(stubs, "libkvm.so.7"),
        ),
    ])
}

const LIBRARIES: [&str; 5] = [
    "libdevstat.so.7",
    "libgeom.so.5",
    "libkvm.so.7",
    "libmemstat.so.3",
    "libprocstat.so.1",
];

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// Every path under `dir`, relative, sorted (links not followed).
fn tree(dir: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            out.push(e.path().strip_prefix(root).unwrap().display().to_string());
            if e.file_type().unwrap().is_dir() {
                walk(root, &e.path(), out);
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

fn pinned_default_release() -> String {
    let data: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(repo().join("data/releases.json")).unwrap())
            .unwrap();
    data["default_release"].as_str().unwrap().to_string()
}

/// Pinned releases and, per release, architectures, from data/releases.json,
/// as `{"releases": {release: {arch: pin}}}`.
fn pinned() -> serde_json::Value {
    let data: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(repo().join("data/releases.json")).unwrap())
            .unwrap();
    let by_release: serde_json::Map<String, serde_json::Value> = data["releases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["release"].as_str().unwrap().to_string(),
                r["base_txz"].clone(),
            )
        })
        .collect();
    serde_json::json!({ "releases": by_release })
}

#[test]
fn extract_keeps_only_shared_libraries_flat_with_links_and_a_marker() {
    let tmp = tempfile::tempdir().unwrap();
    let bytes = base_txz(&stubs(tmp.path()));
    let archive = tmp.path().join("base.txz");
    std::fs::write(&archive, &bytes).unwrap();
    let out = tmp.path().join("sysroot");
    let run = bsdx()
        .args(["sysroot", "extract"])
        .arg_path(&archive)
        .args(["--out"])
        .arg_path(&out)
        .run()
        .success();
    assert_eq!(run.stdout().trim(), out.display().to_string());
    let run = run
        .stderr_has("extracted 5 shared libraries")
        .stderr_has(&sha256(&bytes));
    assert!(
        !run.stderr().contains('\r'),
        "no progress bar when stderr is not a terminal"
    );

    assert_eq!(names(&out), ["bsdx-sysroot.json", "lib"]);
    let lib = out.join("lib");
    let mut expected: Vec<String> = LIBRARIES.iter().map(|s| s.to_string()).collect();
    expected.extend(
        [
            "libdevstat.so",
            "libgeom.so",
            "libgeomcopy.so.5",
            "libkvm.so",
            "libkvm_alias.so",
            "libmemstat.so",
            "libprocstat.so",
        ]
        .map(String::from),
    );
    expected.sort();
    assert_eq!(names(&lib), expected, "no linker scripts, archives, programs, debug files, subdirectories, non-ELF or dangling links");
    for name in LIBRARIES {
        let meta = std::fs::symlink_metadata(lib.join(name)).unwrap();
        assert!(meta.file_type().is_file(), "{name} is a real file");
        let bytes = read(&lib, name);
        assert_eq!(goblin::elf::Elf::parse(&bytes).unwrap().soname, Some(name));
    }
    for (link, target) in [
        ("libkvm.so", "libkvm.so.7"),
        ("libgeom.so", "libgeom.so.5"),
        ("libmemstat.so", "libmemstat.so.3"),
        ("libprocstat.so", "libprocstat.so.1"),
        ("libkvm_alias.so", "libkvm.so.7"),
        ("libgeomcopy.so.5", "libgeom.so.5"),
    ] {
        assert_eq!(
            std::fs::read_link(lib.join(link)).unwrap(),
            Path::new(target),
            "{link} is a relative link beside its library"
        );
    }

    let marker: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("bsdx-sysroot.json")).unwrap())
            .unwrap();
    assert_eq!(marker["schema"], 1);
    assert_eq!(
        marker["sha256"],
        sha256(&bytes),
        "the SHA-256 of the whole tarball"
    );
    assert!(
        marker["release"].is_null() && marker["arch"].is_null(),
        "not a pinned tarball and no --release: {marker}"
    );
    let libs: Vec<(&str, &str)> = marker["libraries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["file"].as_str().unwrap(), l["soname"].as_str().unwrap()))
        .collect();
    assert_eq!(libs, LIBRARIES.map(|s| (s, s)));
    assert_eq!(marker["links"]["libkvm.so"], "libkvm.so.7");

    // Labels, JSON, an existing empty directory, and a non-empty one.
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let run = bsdx()
        .args([
            "sysroot",
            "extract",
            "--release",
            "14.4",
            "--arch",
            "amd64",
            "--json",
            "--out",
        ])
        .arg_path(&empty)
        .arg_path(&archive)
        .run()
        .success();
    let run = run.stderr_has("warning: this is not the pinned base.txz of FreeBSD 14.4 amd64");
    let j = run.json();
    assert_eq!(
        (
            j["release"].as_str(),
            j["arch"].as_str(),
            j["path"].as_str()
        ),
        (Some("14.4"), Some("amd64"), empty.to_str())
    );
    let before = tree(&out);
    bsdx()
        .args(["sysroot", "extract", "--out"])
        .arg_path(&out)
        .arg_path(&archive)
        .run()
        .failure(1)
        .stderr_has("not empty");
    assert_eq!(tree(&out), before, "a non-empty directory is left alone");
}

/// GNU tar stores the second name of a hard-linked file as the link; a
/// library whose file name is not its soname still gets its soname and
/// its `lib<name>.so`.
#[test]
fn extract_follows_hard_links_and_sonames() {
    let tmp = tempfile::tempdir().unwrap();
    let stubs = stubs(tmp.path());
    let archive = tmp.path().join("base.txz");
    std::fs::write(
        &archive,
        txz(&[
            M::File("./usr/lib/libgeom_hard.so.5", read(&stubs, "libgeom.so.5")),
            M::Hard("./lib/libgeom.so.5", "./usr/lib/libgeom_hard.so.5"),
            M::File("./lib/libkvm.so.7", read(&stubs, "libkvm.so.7")),
            M::File("./lib/libkvm.so.6", read(&stubs, "libkvm.so.7")),
        ]),
    )
    .unwrap();
    let out = tmp.path().join("out");
    bsdx()
        .args(["sysroot", "extract", "--out"])
        .arg_path(&out)
        .arg_path(&archive)
        .run()
        .success();
    let lib = out.join("lib");
    assert_eq!(
        names(&lib),
        [
            "libgeom.so",
            "libgeom.so.5",
            "libgeom_hard.so",
            "libgeom_hard.so.5",
            "libkvm.so",
            "libkvm.so.6",
            "libkvm.so.7"
        ]
    );
    for (link, target) in [
        ("libgeom.so.5", "libgeom_hard.so.5"),
        ("libgeom.so", "libgeom_hard.so.5"),
        ("libkvm.so", "libkvm.so.7"),
    ] {
        assert_eq!(
            std::fs::read_link(lib.join(link)).unwrap(),
            Path::new(target),
            "{link}"
        );
    }
}

#[test]
fn extracted_sysroot_is_used_directly_by_env_and_check() {
    let tmp = tempfile::tempdir().unwrap();
    let archive = tmp.path().join("base.txz");
    std::fs::write(&archive, base_txz(&stubs(tmp.path()))).unwrap();
    let out = tmp.path().join("sysroot");
    bsdx()
        .args(["sysroot", "extract"])
        .arg_path(&archive)
        .args(["--out"])
        .arg_path(&out)
        .run()
        .success();
    let lib = std::fs::canonicalize(&out).unwrap().join("lib");
    // Read-only, as in the Nix store; a fresh cache shows what env writes.
    let cache = tmp.path().join("cache");
    for d in [&lib, &out] {
        std::fs::set_permissions(d, std::os::unix::fs::PermissionsExt::from_mode(0o555)).unwrap();
    }
    let env = bsdx()
        .env("BSDX_CACHE_DIR", &cache)
        .args(["env", "--format", "json", "--sysroot"])
        .arg_path(&out)
        .run()
        .success()
        .json();
    assert_eq!(
        env["lib_dir"],
        lib.to_str().unwrap(),
        "the extracted lib/ is the link directory"
    );
    let args: Vec<&str> = env["link_args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    let want: Vec<String> = [
        "libkvm.so.7",
        "libmemstat.so.3",
        "libprocstat.so.1",
        "libdevstat.so.7",
    ]
    .iter()
    .map(|s| lib.join(s).display().to_string())
    .collect();
    assert_eq!(args, want);
    assert!(
        !cache.join("linkdirs").exists(),
        "no link directory is built in the cache"
    );
    for d in [&out, &lib] {
        std::fs::set_permissions(d, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    }

    // bsdx check reads the extracted libraries' symbols: a function libkvm
    // has is found there, one it lacks is not.
    let note = env["abi_tag"].as_str().unwrap();
    let so = |name: &str, function: &str| {
        let src = tmp.path().join(format!("{name}.c"));
        std::fs::write(
            &src,
            format!("void *{function}(void);\nvoid *use(void) {{ return {function}(); }}\n"),
        )
        .unwrap();
        let so = tmp.path().join(format!("lib{name}.so"));
        let o = zig()
            .args([
                "cc",
                "-target",
                "x86_64-freebsd",
                "-shared",
                "-nostdlib",
                "-o",
            ])
            .arg(&so)
            .arg(&src)
            .arg(note)
            .arg("-L")
            .arg(&lib)
            .arg("-lkvm")
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "zig cc: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        so
    };
    let (good, bad) = (
        so("good", "kvm_openfiles"),
        so("bad", "kvm_no_such_function"),
    );
    let r = bsdx()
        .args(["check", "--json", "--sysroot"])
        .arg_path(&out)
        .arg_path(&good)
        .run()
        .success()
        .json();
    assert!(
        r["data"]
            .as_str()
            .unwrap()
            .contains("the libraries of the sysroot"),
        "{r}"
    );
    assert_eq!(r["files"][0]["needed"], serde_json::json!(["libkvm.so.7"]));
    assert_eq!(r["errors"], 0, "{r}");
    assert!(
        r["files"][0]["findings"].as_array().unwrap().is_empty(),
        "{r}"
    );
    // In a shared object, a symbol none of its NEEDED libraries has is
    // taken as the host's (bsdx check's rule), so it is reported as such.
    let r = bsdx()
        .args(["check", "--json", "--sysroot"])
        .arg_path(&out)
        .arg_path(&bad)
        .run()
        .success()
        .json();
    let codes: Vec<(&str, &str)> = r["files"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["code"].as_str().unwrap(), f["item"].as_str().unwrap()))
        .collect();
    assert_eq!(
        codes,
        [("host-provided-symbols", "kvm_no_such_function")],
        "{r}"
    );
}

#[test]
fn hostile_archives_are_refused_and_nothing_is_written_outside() {
    let tmp = tempfile::tempdir().unwrap();
    let stubs = stubs(tmp.path());
    let kvm = read(&stubs, "libkvm.so.7");
    let abs_target = tmp.path().join("abs-target");
    let abs_member = format!("{}/libabs.so.1", abs_target.display());
    let cases: Vec<(&str, M, &str)> = vec![
        (
            "dotdot",
            M::File("./lib/../../../escape.so.1", kvm.clone()),
            "has a `..` component",
        ),
        (
            "absolute",
            M::File(&abs_member, kvm.clone()),
            "has an absolute path",
        ),
        (
            "symlink-out",
            M::Symlink("./usr/lib/libevil.so", "../../../../../../etc/passwd"),
            "which leaves the archive",
        ),
        (
            "symlink-out-elsewhere",
            M::Symlink("./usr/share/evil", "../../../../etc"),
            "which leaves the archive",
        ),
        (
            "symlink-abs",
            M::Symlink("./usr/lib/libabs.so", "/etc/passwd"),
            "absolute path `/etc/passwd`",
        ),
        (
            "hardlink-out",
            M::Hard("./lib/libhard.so.1", "../../etc/passwd"),
            "hard link to `../../etc/passwd`",
        ),
        (
            "hardlink-abs",
            M::Hard("./lib/libhard.so.1", "/etc/passwd"),
            "hard link to `/etc/passwd`",
        ),
        (
            "char",
            M::Device("./lib/libdev.so.1", tar::EntryType::Char),
            "device file",
        ),
        (
            "block",
            M::Device("./dev/disk0", tar::EntryType::Block),
            "device file",
        ),
        (
            "fifo",
            M::Device("./var/fifo", tar::EntryType::Fifo),
            "device file or fifo",
        ),
    ];
    for (name, hostile, why) in cases {
        let case = tmp.path().join(name);
        let work = case.join("work");
        std::fs::create_dir_all(&work).unwrap();
        let member = match &hostile {
            M::File(p, _) | M::Symlink(p, _) | M::Hard(p, _) | M::Device(p, _) | M::Dir(p) => {
                p.to_string()
            }
        };
        let bytes = txz(&[
            M::Dir("./lib/"),
            M::File("./lib/libkvm.so.7", kvm.clone()),
            hostile,
            M::File("./lib/libgeom.so.5", read(&stubs, "libgeom.so.5")),
        ]);
        let archive = case.join("base.txz");
        std::fs::write(&archive, bytes).unwrap();
        let run = bsdx()
            .args(["sysroot", "extract"])
            .arg_path(&archive)
            .args(["--out"])
            .arg_path(&work.join("out"))
            .run()
            // Exit status 1, a refusal: a panic would exit 101.
            .failure(1);
        run.stderr_has(&format!("member `{member}`"))
            .stderr_has(why)
            .stderr_has("nothing was extracted");
        assert_eq!(
            tree(&case),
            ["base.txz", "work"],
            "{name}: nothing written beside the archive or the output"
        );
        assert!(!abs_target.exists(), "{name}");
    }
    assert!(!tmp.path().join("escape.so.1").exists());

    // A directory symlink is never followed while writing: the library
    // lands in DIR/lib, the directory it points at stays empty.
    let outside = tmp.path().join("outside");
    std::fs::create_dir(&outside).unwrap();
    let target = outside.display().to_string();
    let archive = tmp.path().join("dirlink.txz");
    std::fs::write(
        &archive,
        txz(&[
            M::Dir("./usr/"),
            M::Symlink("./usr/lib", &target),
            M::File("./usr/lib/libkvm.so.7", kvm.clone()),
        ]),
    )
    .unwrap();
    let out = tmp.path().join("dirlink");
    bsdx()
        .args(["sysroot", "extract"])
        .arg_path(&archive)
        .args(["--out"])
        .arg_path(&out)
        .run()
        .success();
    assert!(std::fs::symlink_metadata(out.join("lib/libkvm.so.7"))
        .unwrap()
        .file_type()
        .is_file());
    assert!(tree(&outside).is_empty(), "{:?}", tree(&outside));
}

#[test]
fn extract_bad_input() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    std::fs::write(t.join("text.txz"), "this is not xz").unwrap();
    std::fs::write(
        t.join("nolibs.txz"),
        txz(&[
            M::Dir("./usr/"),
            M::Dir("./usr/bin/"),
            M::File("./usr/bin/ls", b"\x7fELF....".to_vec()),
        ]),
    )
    .unwrap();
    let mut truncated = txz(&[M::File("./lib/libkvm.so.7", vec![0x7f; 100_000])]);
    truncated.truncate(truncated.len() / 2);
    std::fs::write(t.join("truncated.txz"), truncated).unwrap();
    for (file, says) in [
        ("missing.txz", "cannot open"),
        ("text.txz", "as an xz-compressed tar archive"),
        (
            "nolibs.txz",
            "holds no shared libraries in lib/ or usr/lib/",
        ),
        ("truncated.txz", "as an xz-compressed tar archive"),
    ] {
        let out = t.join(format!("out-{file}"));
        // Exit status 1, an error: a panic would exit 101.
        bsdx()
            .args(["sysroot", "extract"])
            .arg_path(&t.join(file))
            .args(["--out"])
            .arg_path(&out)
            .run()
            .failure(1)
            .stderr_has(says);
        assert!(!out.exists(), "{file}");
    }
    assert_eq!(
        names(t).iter().filter(|n| n.starts_with('.')).count(),
        0,
        "no staging directories left"
    );
    bsdx()
        .args(["sysroot", "extract", "x.txz"])
        .run()
        .failure(2)
        .stderr_has("--out");
}

/// A directory laid out like a FreeBSD mirror, holding `bytes` for 14.4 amd64.
fn mirror(root: &Path, bytes: &[u8]) -> PathBuf {
    let dir = root.join("amd64/amd64/14.4-RELEASE");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("base.txz"), bytes).unwrap();
    dir.join("base.txz")
}

fn url(dir: &Path) -> String {
    format!("file://{}", dir.display())
}

#[test]
fn fetch_from_a_file_mirror_is_verified_cached_and_reused() {
    let tmp = tempfile::tempdir().unwrap();
    let bytes = base_txz(&stubs(tmp.path()));
    let sha = sha256(&bytes);
    let file = mirror(&tmp.path().join("good"), &bytes);
    let cache = tmp.path().join("cache");
    let mirrors = format!(
        "{} {}",
        url(&tmp.path().join("missing")),
        url(&tmp.path().join("good"))
    );
    let fetch = || {
        bsdx()
            .env("BSDX_CACHE_DIR", &cache)
            .env("BSDX_MIRROR", &mirrors)
            .args(["sysroot", "fetch", "--release", "14.4", "--sha256", &sha])
    };

    let run = fetch().args(["--json"]).run().success();
    let run = run
        .stderr_has("missing/amd64/amd64/14.4-RELEASE/base.txz: no such file")
        .stderr_has("sha256 verified")
        .stderr_has("extracted 5 shared libraries");
    let j = run.json();
    let dir = cache
        .join("sysroots")
        .join(format!("14.4-amd64-{}", &sha[..16]));
    assert_eq!(j["path"], dir.to_str().unwrap());
    assert_eq!(
        j["url"],
        format!("file://{}", file.display()),
        "the next URL was used"
    );
    assert_eq!(
        (
            j["sha256"].as_str(),
            j["cached"].as_bool(),
            j["release"].as_str(),
            j["arch"].as_str()
        ),
        (Some(sha.as_str()), Some(false), Some("14.4"), Some("amd64"))
    );
    assert_eq!(
        names(&cache.join("sysroots")),
        [dir.file_name().unwrap().to_str().unwrap()],
        "no temporary files left"
    );
    assert!(dir.join("lib/libkvm.so.7").is_file());
    let marker: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("bsdx-sysroot.json")).unwrap())
            .unwrap();
    assert_eq!(
        (marker["release"].as_str(), marker["sha256"].as_str()),
        (Some("14.4"), Some(sha.as_str()))
    );

    // Complete: reused without downloading (the mirror is gone now, so a
    // download could not succeed) and without extracting again.
    std::fs::remove_file(&file).unwrap();
    let modified = |p: &Path| std::fs::metadata(p).unwrap().modified().unwrap();
    let before = modified(&dir.join("bsdx-sysroot.json"));
    let run = fetch().run().success().stderr_has("already in the cache");
    assert_eq!(run.stdout().trim(), dir.to_str().unwrap());
    let j = fetch().args(["--json"]).run().success().json();
    assert_eq!(j["cached"], true, "{j}");
    assert_eq!(modified(&dir.join("bsdx-sysroot.json")), before);
    assert_eq!(
        names(&cache.join("sysroots")),
        [dir.file_name().unwrap().to_str().unwrap()],
        "no download in the cache"
    );
    bsdx()
        .args(["env", "--format", "json", "--sysroot"])
        .arg_path(&dir)
        .run()
        .success();

    // Without its marker the directory is garbage: removed, and fetched again.
    std::fs::remove_file(dir.join("bsdx-sysroot.json")).unwrap();
    std::fs::write(dir.join("stray"), "x").unwrap();
    fetch()
        .run()
        .failure(1)
        .stderr_has("removing the unfinished")
        .stderr_has("cannot download base.txz for FreeBSD 14.4 amd64")
        .stderr_has("BSDX_MIRROR");
    assert!(
        !dir.exists(),
        "the garbage is gone even though the download failed"
    );
    std::fs::write(&file, &bytes).unwrap();
    fetch().run().success().stderr_has("sha256 verified");
    assert!(dir.join("bsdx-sysroot.json").is_file() && !dir.join("stray").exists());
}

#[test]
fn fetch_refuses_a_tampered_file_and_caches_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let bytes = base_txz(&stubs(tmp.path()));
    let sha = sha256(&bytes);
    let cache = tmp.path().join("cache");
    let tampered = mirror(&tmp.path().join("tampered"), &bytes);
    let nothing_cached = || {
        let left = tree(&cache.join("sysroots"));
        assert!(left.is_empty(), "left in the cache: {left:?}");
    };

    // Against the real 14.4 pin, a constructed tarball is a tampered one.
    let pin = pinned()["releases"]["14.4"]["amd64"]["sha256"]
        .as_str()
        .unwrap()
        .to_string();
    let url = format!("file://{}", tampered.display());
    bsdx()
        .env("BSDX_CACHE_DIR", &cache)
        .env("BSDX_MIRROR", self::url(&tmp.path().join("tampered")))
        .args(["sysroot", "fetch", "--release", "14.4"])
        .run()
        .failure(1)
        .stderr_has(&format!(
            "sha256 mismatch for {url}: expected {pin}, got {sha}"
        ));
    nothing_cached();

    // A mismatch stops the fetch: a good second mirror is not tried.
    let mut flipped = bytes.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 1;
    std::fs::write(&tampered, &flipped).unwrap();
    mirror(&tmp.path().join("good"), &bytes);
    let mirrors = format!(
        "{} {}",
        self::url(&tmp.path().join("tampered")),
        self::url(&tmp.path().join("good"))
    );
    let run = bsdx()
        .env("BSDX_CACHE_DIR", &cache)
        .env("BSDX_MIRROR", &mirrors)
        .args(["sysroot", "fetch", "--release", "14.4", "--sha256", &sha])
        .run()
        .failure(1);
    run.stderr_has(&format!(
        "sha256 mismatch for {url}: expected {sha}, got {}",
        sha256(&flipped)
    ));
    // The good mirror holds the file --sha256 names: had it been tried, the
    // fetch would have succeeded and cached it. It failed and cached nothing.
    assert_eq!(
        sha256(&std::fs::read(tmp.path().join("good/amd64/amd64/14.4-RELEASE/base.txz")).unwrap()),
        sha
    );
    nothing_cached();
}

/// A one-shot-per-connection HTTP server on 127.0.0.1: `/missing/...` is
/// a 404, `/flaky/...` a 503 the first time, anything else `body`.
fn serve(body: Vec<u8>) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut flaky_seen = false;
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let mut req = Vec::new();
            let mut buf = [0u8; 1024];
            while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                match s.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => req.extend_from_slice(&buf[..n]),
                }
            }
            let path = String::from_utf8_lossy(&req)
                .split_whitespace()
                .nth(1)
                .unwrap_or("")
                .to_string();
            let (status, data): (&str, &[u8]) = if path.starts_with("/missing/") {
                ("404 Not Found", b"no")
            } else if path.starts_with("/flaky/") && !flaky_seen {
                flaky_seen = true;
                ("503 Service Unavailable", b"later")
            } else {
                ("200 OK", &body)
            };
            let _ = write!(
                s,
                "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                data.len()
            );
            let _ = s.write_all(data);
        }
    });
    format!("http://{addr}")
}

#[test]
fn fetch_over_http_moves_past_a_404_and_retries_a_503() {
    let tmp = tempfile::tempdir().unwrap();
    let bytes = base_txz(&stubs(tmp.path()));
    let sha = sha256(&bytes);
    let server = serve(bytes);
    let cache = tmp.path().join("cache");
    let run = bsdx()
        .env("BSDX_CACHE_DIR", &cache)
        .env_remove("HTTP_PROXY")
        .env_remove("http_proxy")
        .env_remove("ALL_PROXY")
        .env_remove("all_proxy")
        .args([
            "sysroot",
            "fetch",
            "--release",
            "14.4",
            "--json",
            "--sha256",
            &sha,
            "--mirror",
        ])
        .args([format!("{server}/missing {server}/flaky")])
        .run()
        .success();
    let run = run
        .stderr_has("/missing/amd64/amd64/14.4-RELEASE/base.txz: HTTP 404")
        .stderr_has("HTTP 503; retrying in 2s (attempt 1 of 3)");
    assert_eq!(
        run.json()["url"],
        format!("{server}/flaky/amd64/amd64/14.4-RELEASE/base.txz")
    );
}

#[test]
fn fetch_names_the_known_releases_and_architectures() {
    let pins = pinned();
    let releases: Vec<&String> = pins["releases"].as_object().unwrap().keys().collect();
    let known = releases
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    bsdx()
        .args(["sysroot", "fetch", "--release", "16.0"])
        .run()
        .failure(1)
        .stderr_has(&format!("pinned releases: {known}"))
        .stderr_has("--sha256");
    // Every release names the architectures it pins when one is missing:
    // only arm64 of 15.1 is a machine bsdx knows without a pin.
    for release in &releases {
        let archs: Vec<&String> = pins["releases"][release.as_str()]
            .as_object()
            .unwrap()
            .keys()
            .collect();
        assert!(archs.iter().any(|a| *a == "amd64"), "{release}: {archs:?}");
    }
    bsdx()
        .args([
            "sysroot",
            "fetch",
            "--release",
            "14.4",
            "--target",
            "sparc64",
        ])
        .run()
        .failure(2)
        .stderr_has(
            "[possible values: x86_64-unknown-freebsd, amd64, aarch64-unknown-freebsd, arm64]",
        );
    bsdx()
        .args(["sysroot", "fetch", "--release", "15.1", "--arch", "arm64"])
        .run()
        .failure(1)
        .stderr_has("pinned architectures for 15.1: amd64");
    bsdx()
        .args(["sysroot", "fetch", "--release", "14.4", "--sha256", "xyz"])
        .run()
        .failure(1)
        .stderr_has("64 hex digits");
    let help = bsdx()
        .args(["sysroot", "fetch", "--help"])
        .run()
        .success()
        .stdout();
    let default = format!("[default: {}]", pinned_default_release());
    for needle in [
        "--sha256",
        "BSDX_MIRROR",
        "BSDX_RELEASE",
        "SHA-256",
        default.as_str(),
    ] {
        assert!(help.contains(needle), "help lacks {needle}: {help}");
    }
}
