//! `bsdx check` on fixtures built here with `zig cc` (good ones and broken
//! ones), on garbage, and on real FreeBSD binaries built by others.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::*;

/// Compile C for x86_64-freebsd with extra flags; returns the output path.
pub fn cc(dir: &Path, name: &str, source: &str, flags: &[&str]) -> PathBuf {
    let src = dir.join(format!("{name}.c"));
    std::fs::write(&src, source).unwrap();
    let out = dir.join(name);
    // Relative names, run in `dir`: the file symbol in .symtab is then
    // `NAME.c`, so the output's bytes do not depend on where the tests run
    // (the views of it are snapshotted).
    let o = zig()
        .current_dir(dir)
        .args(["cc", "-target", "x86_64-freebsd", "-O1"])
        .args(flags)
        .arg("-o")
        .arg(name)
        .arg(format!("{name}.c"))
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "zig cc {name}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    out
}

fn check(files: &[&Path], extra: &[&str]) -> Run {
    bsdx()
        .args(["check", "--json"])
        .args(extra)
        .args(files.iter().map(|p| p.as_os_str()))
        .run()
}

fn codes(report: &serde_json::Value, file: usize) -> Vec<String> {
    report["files"][file]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["level"] != "info")
        .map(|f| f["code"].as_str().unwrap().to_string())
        .collect()
}

pub const HELLO: &str = "#include <stdio.h>\nint main(void) { puts(\"hi\"); return 0; }\n";

#[test]
fn abi_tag_present_or_missing() {
    let tmp = tempfile::tempdir().unwrap();
    let env = bsdx()
        .args(["env", "--format", "json", "--release", "14.3"])
        .run()
        .success()
        .json();
    let note = env["abi_tag"].as_str().unwrap().to_string();
    let plain = cc(tmp.path(), "plain", HELLO, &[]);
    let tagged = cc(tmp.path(), "tagged", HELLO, &[&note]);
    let run = check(&[&plain, &tagged], &[]).failure(0);
    let r = run.json();
    assert_eq!(codes(&r, 0), ["no-abi-tag"]);
    assert!(r["files"][0]["abi_tag"].is_null());
    assert_eq!(codes(&r, 1), Vec::<String>::new());
    assert_eq!(r["files"][1]["abi_tag"], 1403000);
    assert_eq!(r["files"][1]["built_for"], "14.3");
    assert_eq!(r["files"][1]["interpreter"], "/libexec/ld-elf.so.1");
    assert_eq!(r["schema"], 1);
    check(&[&plain], &["--strict"]).failure(1);
    // Checked against an older release than it was built for.
    let older = check(&[&tagged], &["--release", "13.5"]).failure(0).json();
    assert_eq!(codes(&older, 0), ["abi-tag-newer"]);
    let text = bsdx()
        .args(["check"])
        .arg_path(&plain)
        .run()
        .failure(0)
        .stdout();
    assert!(
        text.contains("warning [no-abi-tag]") && text.contains("osrel 0"),
        "{text}"
    );
    assert!(
        !text.contains('\x1b'),
        "no colour when stdout is not a terminal"
    );
    // The whole human view, of a file with a warning and a clean one.
    let both = bsdx()
        .args(["check", "--release", "14.3"])
        .arg_path(&plain)
        .arg_path(&tagged)
        .run()
        .failure(0)
        .stdout();
    insta::assert_snapshot!("check-view-abi-tag", redact(&both, tmp.path()));
}

#[test]
fn broken_binaries_are_reported_with_the_fix() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let interp = cc(
        d,
        "interp",
        HELLO,
        &["-Wl,--dynamic-linker=/lib64/ld-linux-x86-64.so.2"],
    );
    let rpath = cc(d, "rpath", HELLO, &["-Wl,-rpath,/tmp/build/lib"]);
    // A library without a soname, linked by path: its path becomes DT_NEEDED.
    let lib = d.join("libnosoname.so");
    std::fs::write(d.join("nosoname.c"), "int helper(void) { return 1; }\n").unwrap();
    let o = zig()
        .args(["cc", "-target", "x86_64-freebsd", "-shared", "-o"])
        .arg(&lib)
        .arg(d.join("nosoname.c"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let pathdep = cc(
        d,
        "pathdep",
        "int helper(void);\nint main(void) { return helper(); }\n",
        &[lib.to_str().unwrap()],
    );
    let r = check(&[&interp, &rpath, &pathdep], &[]).failure(1).json();
    assert!(
        codes(&r, 0).contains(&"wrong-interpreter".to_string()),
        "{r}"
    );
    assert!(
        codes(&r, 1).contains(&"rpath-build-path".to_string()),
        "{r}"
    );
    assert!(codes(&r, 2).contains(&"needed-path".to_string()), "{r}");
    let msg = r["files"][1]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "rpath-build-path")
        .unwrap()["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        msg.contains("/tmp/build/lib") && msg.contains("remove"),
        "{msg}"
    );
    assert_eq!(r["errors"].as_u64().unwrap(), 3, "{r}");
    let text = bsdx()
        .args(["check"])
        .args([&interp, &rpath, &pathdep])
        .run()
        .failure(1)
        .stdout();
    insta::assert_snapshot!("check-view-broken", redact(&text, d));
}

#[test]
fn sonames_and_symbols_per_release() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    // libutil: Zig links libutil.so.9, which FreeBSD 15 renamed to libutil.so.10.
    let util = cc(d, "util", "#include <sys/types.h>\n#include <libutil.h>\n#include <stdio.h>\nint main(void) { char b[8]; humanize_number(b, sizeof b, 1234, \"\", HN_AUTOSCALE, 0); puts(b); return 0; }\n", &["-lutil"]);
    let r15 = check(&[&util], &["--release", "15.0"]).failure(1).json();
    let f = &r15["files"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "needed-other-release")
        .cloned()
        .expect("libutil.so.9 flagged");
    assert_eq!(f["item"], "libutil.so.9");
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains("13.5, 14.2, 14.3, 14.4"),
        "{f}"
    );
    check(&[&util], &["--release", "14.4"]).success();

    // secure_getenv@FBSD_1.7 exists in 14.x (Zig's libc stubs), not in 13.5's libc.
    let sg = cc(d, "sg", "#define _GNU_SOURCE\n#include <stdlib.h>\n#include <stdio.h>\nint main(void) { puts(secure_getenv(\"HOME\") ? \"y\" : \"n\"); return 0; }\n", &[]);
    let r13 = check(&[&sg], &["--release", "13.5"]).failure(1).json();
    let f = r13["files"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "missing-symbol-version")
        .cloned()
        .expect("secure_getenv flagged");
    assert_eq!(f["item"], "secure_getenv@FBSD_1.7 (libc.so.7)");
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains("ld-elf.so.1 will refuse"),
        "{f}"
    );
    assert_ne!(r13["files"][0]["min_release"], "13.5");
    // 14.x's libc family comes from Zig's 14.x lists: found, no warning.
    let r14 = check(&[&sg], &["--release", "14.4"]).success().json();
    assert_eq!(codes(&r14, 0), ["no-abi-tag"], "{r14}");
    assert_eq!(r14["files"][0]["min_release"], "14.2");
}

/// A library stub as hand-written ones are: `libkvm.so.7` with a function the
/// real libkvm lacks, and `libprocstat.so.1` with a too-new version node.
#[test]
fn stub_mistakes_are_caught() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    std::fs::write(
        d.join("kvm.c"),
        "void *kvm_openfiles(void) { return 0; }\nint kvm_bogus_function(void) { return 0; }\n",
    )
    .unwrap();
    std::fs::write(
        d.join("ps.c"),
        "int procstat_from_the_future(void) { return 0; }\n",
    )
    .unwrap();
    std::fs::write(
        d.join("ps.map"),
        "FBSD_1.8 { global: procstat_from_the_future; local: *; };\n",
    )
    .unwrap();
    for (src, soname, extra) in [
        ("kvm.c", "libkvm.so.7", None),
        (
            "ps.c",
            "libprocstat.so.1",
            Some("-Wl,--version-script=ps.map"),
        ),
    ] {
        let mut c = zig();
        c.current_dir(d)
            .args(["cc", "-target", "x86_64-freebsd", "-shared", "-nostdlib"])
            .arg(format!("-Wl,-soname,{soname}"))
            .args(extra)
            .args(["-o", soname, src]);
        let o = c.output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let kvm = d.join("libkvm.so.7");
    let ps = d.join("libprocstat.so.1");
    let prog = cc(
        d,
        "prog",
        "int kvm_bogus_function(void); int procstat_from_the_future(void);\nint main(void) { return kvm_bogus_function() + procstat_from_the_future(); }\n",
        &[kvm.to_str().unwrap(), ps.to_str().unwrap()],
    );
    let r = check(&[&prog], &["--release", "13.5"]).failure(1).json();
    let found = codes(&r, 0);
    assert!(
        found.contains(&"missing-symbol".to_string())
            && found.contains(&"missing-symbol-version".to_string()),
        "{r}"
    );
    let items: Vec<&str> = r["files"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["item"].as_str().unwrap())
        .collect();
    assert!(items.contains(&"kvm_bogus_function"), "{items:?}");
    assert!(
        items.contains(&"procstat_from_the_future@FBSD_1.8 (libprocstat.so.1)"),
        "{items:?}"
    );
    assert!(r["files"][0]["runs_on"].as_array().unwrap().is_empty());
}

#[test]
fn garbage_and_directories() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let good = cc(d, "good", HELLO, &[]);
    let bytes = std::fs::read(&good).unwrap();
    std::fs::write(d.join("truncated"), &bytes[..100]).unwrap();
    std::fs::write(d.join("text.txt"), "not an elf").unwrap();
    let mut absurd = bytes.clone();
    absurd[0x20..0x28].copy_from_slice(&u64::MAX.to_le_bytes()); // e_phoff
    absurd[0x38..0x3a].copy_from_slice(&u16::MAX.to_le_bytes()); // e_phnum
    std::fs::write(d.join("absurd"), &absurd).unwrap();
    let run = check(
        &[
            &d.join("truncated"),
            &d.join("text.txt"),
            &d.join("absurd"),
            &good,
            &d.join("missing"),
        ],
        &[],
    )
    .failure(3);
    let r = run.json();
    let files = r["files"].as_array().unwrap();
    assert_eq!(files.len(), 5);
    assert_eq!(r["unreadable"].as_u64().unwrap(), 4, "{r}");
    assert!(
        files[3]["unreadable"].is_null(),
        "the good file is still checked: {r}"
    );
    assert_eq!(files[3]["interpreter"], "/libexec/ld-elf.so.1");
    let text = bsdx()
        .args(["check", "--release", "14.3"])
        .args(["truncated", "text.txt", "absurd", "good", "missing"].map(|f| d.join(f)))
        .run()
        .failure(3)
        .stdout();
    insta::assert_snapshot!("check-view-unreadable", redact(&text, d));
    // A directory means every ELF file in it; text files are skipped there.
    let dir = check(&[d], &[]).json();
    let names: Vec<&str> = dir["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap().rsplit('/').next().unwrap())
        .collect();
    assert!(
        names.contains(&"good") && !names.contains(&"text.txt"),
        "{names:?}"
    );
    bsdx()
        .args(["check", "--release", "9.0", "x"])
        .run()
        .failure(2)
        .stderr_has("[possible values: 13.5,");
    bsdx().args(["check"]).run().failure(2);
}

/// Real FreeBSD binaries built by others, from the npm registry (pinned
/// versions; npm verifies each tarball's integrity hash): esbuild (Go,
/// static, built natively with the ABI note) and Rust N-API modules
/// (rollup, lightningcss: cross-built shared objects).
#[test]
fn real_freebsd_binaries_from_others_pass() {
    let dir = shared_dir("npm-fixtures");
    let pkgs = [
        ("@esbuild/freebsd-x64@0.28.2", "package/bin/esbuild"),
        ("@esbuild/freebsd-arm64@0.28.2", "package/bin/esbuild"),
        (
            "@rollup/rollup-freebsd-x64@4.68.8",
            "package/rollup.freebsd-x64.node",
        ),
        (
            "@rollup/rollup-freebsd-arm64@4.68.8",
            "package/rollup.freebsd-arm64.node",
        ),
        (
            "lightningcss-freebsd-x64@1.33.0",
            "package/lightningcss.freebsd-x64.node",
        ),
    ];
    let mut files = Vec::new();
    for (spec, inner) in pkgs {
        let out = dir.join(spec.replace(['/', '@'], "_"));
        if !out.join(inner).is_file() {
            let o = Command::new("npm")
                .args(["pack", "--silent", spec, "--pack-destination"])
                .arg(&dir)
                .output();
            let why = match &o {
                Ok(o) if o.status.success() => None,
                Ok(o) => Some(
                    format!(
                        "npm pack {spec} failed ({}) {}",
                        o.status,
                        String::from_utf8_lossy(&o.stderr).trim()
                    )
                    .trim_end()
                    .to_string(),
                ),
                Err(e) => Some(format!("cannot run npm: {e}")),
            };
            if !input_present(
                why.is_none(),
                &format!(
                    "{} (needs npm and the npm registry; .ci/run runs it)",
                    why.as_deref().unwrap_or_default()
                ),
            ) {
                return;
            }
            let o = o.unwrap();
            let tgz = dir.join(
                String::from_utf8_lossy(&o.stdout)
                    .trim()
                    .lines()
                    .last()
                    .unwrap(),
            );
            std::fs::create_dir_all(&out).unwrap();
            let t = Command::new("tar")
                .arg("-xzf")
                .arg(&tgz)
                .arg("-C")
                .arg(&out)
                .status()
                .unwrap();
            assert!(t.success());
        }
        files.push(out.join(inner));
    }
    let refs: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
    let r = check(&refs, &["--release", "14.4"]).success().json();
    assert_eq!(
        (r["errors"].as_u64(), r["warnings"].as_u64()),
        (Some(0), Some(0)),
        "{r:#}"
    );
    assert_eq!(r["files"][0]["built_for"], "12.3");
    assert_eq!(r["files"][0]["linkage"], "static");
    assert_eq!(r["files"][1]["machine"], "aarch64");
    assert_eq!(r["files"][2]["kind"], "shared-object");
    // The N-API symbols come from node, the program that loads the module.
    let info = r["files"][2]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "host-provided-symbols")
        .cloned()
        .unwrap();
    assert!(
        info["message"].as_str().unwrap().contains("napi_"),
        "{info}"
    );
    // An aarch64 file checked as x86_64 is an error.
    let wrong = check(&[refs[1]], &["--target", "x86_64-unknown-freebsd"])
        .failure(1)
        .json();
    assert_eq!(codes(&wrong, 0), ["wrong-machine"]);
}

/// A proptest-style corpus: real ELF files (fixtures built here and stubs),
/// truncated at every length up to 4 KiB and with thousands of seeded
/// random byte, word and field corruptions. What it checks: `check` never
/// panics on any of them (a panic fails the test), and every report is
/// either a verdict (the file's kind) or says why the file is unreadable —
/// a file cut inside its ELF header always the latter.
#[test]
fn mutated_elf_files_never_panic() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let hello = std::fs::read(cc(d, "hello", HELLO, &[])).unwrap();
    let stubs = d.join("stubs");
    bsdx()
        .args(["stubs", "--lib", "procstat", "--lib", "devstat", "--out"])
        .arg_path(&stubs)
        .run()
        .success();
    let corpus = [
        hello,
        std::fs::read(stubs.join("libprocstat.so.1")).unwrap(),
        std::fs::read(stubs.join("libdevstat.so.7")).unwrap(),
    ];
    let release = bsdx::model::release::catalog().get("14.4").unwrap();
    let mut seed = 0x9E3779B97F4A7C15u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let reports_or_says_why = |r: &bsdx::check::FileReport| {
        assert!(
            r.unreadable.is_some() == r.kind.is_empty(),
            "a verdict or a reason, never both or neither: {r:?}"
        );
    };
    for base in &corpus {
        for len in (0..base.len().min(4096)).step_by(7) {
            let r = bsdx::check::check_one(Path::new("t"), &base[..len], release);
            reports_or_says_why(&r);
            if len < 64 {
                assert!(r.unreadable.is_some(), "{len} bytes: {r:?}");
            }
        }
        for _ in 0..3000 {
            let mut m = base.clone();
            for _ in 0..(1 + next() % 8) {
                let at = (next() as usize) % m.len();
                match next() % 4 {
                    0 => m[at] = next() as u8,
                    1 => m[at] ^= 0x80,
                    2 => {
                        let w = (next() as u32).to_le_bytes();
                        let end = (at + 4).min(m.len());
                        m[at..end].copy_from_slice(&w[..end - at]);
                    }
                    _ => {
                        let v = [0u8, 0xff, 0x7f, 0x80][(next() % 4) as usize];
                        let end = (at + 8).min(m.len());
                        m[at..end].iter_mut().for_each(|b| *b = v);
                    }
                }
            }
            reports_or_says_why(&bsdx::check::check_one(Path::new("m"), &m, release));
        }
    }
}
