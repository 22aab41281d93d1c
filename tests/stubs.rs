//! `bsdx stubs`: real sonames, real symbol types and versions, reproducible.

use crate::support::*;
use goblin::elf::sym::{STT_FUNC, STT_OBJECT};

#[test]
fn stubs_carry_real_sonames_and_symbols_and_are_reproducible() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    for out in [&a, &b] {
        bsdx()
            .args(["stubs", "--release", "14.4", "--out"])
            .arg_path(out)
            .run()
            .success()
            .stdout_has("libkvm.so.7");
    }
    for name in [
        "libkvm.so.7",
        "libprocstat.so.1",
        "libgeom.so.5",
        "libdevstat.so.7",
        "libmemstat.so.3",
        "libnv.so.1",
    ] {
        let bytes = std::fs::read(a.join(name)).unwrap();
        assert_eq!(
            bytes,
            std::fs::read(b.join(name)).unwrap(),
            "{name} differs between two generations"
        );
        let elf = goblin::elf::Elf::parse(&bytes).unwrap();
        assert_eq!(elf.soname, Some(name));
        assert!(elf.libraries.is_empty() && elf.interpreter.is_none());
        let dev = format!("{}.so", name.split(".so").next().unwrap());
        assert_eq!(
            std::fs::read_link(a.join(&dev)).unwrap(),
            std::path::Path::new(name)
        );
    }
    let kvm = exports(&a.join("libkvm.so.7"));
    assert_eq!(kvm.len(), 57, "libkvm.so.7 of 13.5 exports 57 symbols");
    assert!(kvm
        .iter()
        .any(|(n, t, _, v, _)| n == "kvm_openfiles" && *t == STT_FUNC && v.is_none()));
    let devstat = exports(&a.join("libdevstat.so.7"));
    assert!(devstat
        .iter()
        .any(|(n, t, size, _, _)| n == "devstat_errbuf" && *t == STT_OBJECT && *size == 2048));
    let procstat = exports(&a.join("libprocstat.so.1"));
    let vnode: Vec<_> = procstat
        .iter()
        .filter(|s| s.0 == "procstat_get_vnode_info")
        .collect();
    let mut seen: Vec<(Option<String>, bool)> = vnode.iter().map(|s| (s.3.clone(), s.4)).collect();
    seen.sort();
    assert_eq!(
        seen,
        vec![
            (Some("FBSD_1.2".into()), true),
            (Some("FBSD_1.5".into()), true),
            (Some("FBSD_1.6".into()), false)
        ],
        "default version FBSD_1.6, hidden FBSD_1.2 and FBSD_1.5"
    );
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(a.join("bsdx-stubs.json")).unwrap()).unwrap();
    assert_eq!(manifest["release"], "14.4");
    assert_eq!(manifest["symbols_from"], "13.5-amd64 + zig-14-libc-amd64");
}

#[test]
fn stubs_for_13_5_use_13_x_sonames_and_arm64_works() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("s");
    bsdx()
        .args([
            "stubs",
            "--release",
            "13.5",
            "--arch",
            "arm64",
            "--lib",
            "nv",
            "--lib",
            "libkvm",
            "--out",
        ])
        .arg_path(&out)
        .run()
        .success();
    let bytes = std::fs::read(out.join("libnv.so.0")).unwrap();
    let elf = goblin::elf::Elf::parse(&bytes).unwrap();
    assert_eq!(elf.header.e_machine, goblin::elf::header::EM_AARCH64);
    assert_eq!(elf.soname, Some("libnv.so.0"));
    assert!(out.join("libkvm.so.7").is_file());
    assert!(
        !out.join("libprocstat.so.1").exists(),
        "only the requested libraries"
    );
}

#[test]
fn stubs_bad_input() {
    let tmp = tempfile::tempdir().unwrap();
    let full = tmp.path().join("full");
    std::fs::create_dir(&full).unwrap();
    std::fs::write(full.join("keep.txt"), "mine").unwrap();
    bsdx()
        .args(["stubs", "--out"])
        .arg_path(&full)
        .run()
        .failure(1)
        .stderr_has("not empty");
    assert_eq!(
        std::fs::read_to_string(full.join("keep.txt")).unwrap(),
        "mine"
    );
    assert_eq!(
        std::fs::read_dir(&full).unwrap().count(),
        1,
        "nothing written into a non-empty dir"
    );
    let out = tmp.path().join("x");
    bsdx()
        .args(["stubs", "--release", "12.4", "--out"])
        .arg_path(&out)
        .run()
        .failure(2)
        .stderr_has("[possible values: 13.5, 14.2");
    bsdx()
        .args(["stubs", "--target", "mips", "--out"])
        .arg_path(&out)
        .run()
        .failure(2)
        .stderr_has(
            "[possible values: x86_64-unknown-freebsd, amd64, aarch64-unknown-freebsd, arm64]",
        );
    bsdx()
        .args(["stubs", "--lib", "c", "--out"])
        .arg_path(&out)
        .run()
        .failure(1)
        .stderr_has("provided by Zig");
    bsdx()
        .args(["stubs", "--lib", "nosuch", "--out"])
        .arg_path(&out)
        .run()
        .failure(1)
        .stderr_has("--list");
    assert!(!out.exists(), "nothing left behind on failure");
    assert_eq!(
        std::fs::read_dir(tmp.path()).unwrap().count(),
        1,
        "no staging directories left behind"
    );
    bsdx()
        .args(["stubs", "--list"])
        .run()
        .success()
        .stdout_has("libprocstat.so.1");
}
