//! A sysroot's release is known, a mismatch with --release is refused
//! before anything runs, and `bsdx check`'s findings never contradict its
//! verdict (`runs_on`), for every release and every fixture here.

use std::path::{Path, PathBuf};

use crate::support::*;

/// A C program for x86_64-freebsd linked with `flags`.
fn cc(dir: &Path, name: &str, source: &str, flags: &[&str]) -> PathBuf {
    let src = dir.join(format!("{name}.c"));
    std::fs::write(&src, source).unwrap();
    let out = dir.join(name);
    let mut c = zig();
    c.args(["cc", "-target", "x86_64-freebsd", "-O1"])
        .args(flags)
        .arg("-o")
        .arg(&out)
        .arg(&src);
    run_ok(c, name);
    out
}

/// A sysroot made of FreeBSD 13.5 libraries, generated from the real 13.5
/// ABI data: bsdx's default stub set plus a libc.so.7 with exactly 13.5's
/// exports (so no secure_getenv@FBSD_1.7), laid out as `lib/` + `usr/lib/`.
fn sysroot_13_5(root: &Path) -> PathBuf {
    let sysroot = root.join("sysroot-13.5");
    let lib = sysroot.join("lib");
    bsdx()
        .args(["stubs", "--release", "13.5", "--out"])
        .arg_path(&lib)
        .run()
        .success();
    let release = bsdx::model::release::catalog().get("13.5").unwrap();
    let libc = release.library("c").expect("13.5 data has libc");
    let target = bsdx::model::target::Target::parse("amd64").unwrap();
    let zig = bsdx::toolchain::zig().unwrap();
    let out = root.join("libc-stub");
    bsdx::stubs::generate(&zig, release, &target, &[libc], &out).unwrap();
    std::fs::rename(out.join("libc.so.7"), lib.join("libc.so.7")).unwrap();
    std::fs::create_dir_all(sysroot.join("usr/lib")).unwrap();
    sysroot
}

/// The same libraries, as `bsdx sysroot extract` leaves them from a
/// base.txz-shaped archive: with the marker naming the release.
fn extracted(root: &Path, from: &Path, release: &str) -> PathBuf {
    let txz = root.join("base.txz");
    let file = std::fs::File::create(&txz).unwrap();
    let mut tar = tar::Builder::new(xz2::write::XzEncoder::new(file, 1));
    tar.follow_symlinks(false);
    tar.append_dir_all("lib", from.join("lib")).unwrap();
    tar.into_inner().unwrap().finish().unwrap();
    let out = root.join(format!("extracted-{release}"));
    bsdx()
        .args(["sysroot", "extract"])
        .arg_path(&txz)
        .args(["--release", release, "--out"])
        .arg_path(&out)
        .run()
        .success();
    out
}

/// The (sub)commands with a `--sysroot` option, as `bsdx abi import`.
fn commands_taking_sysroot() -> Vec<String> {
    fn walk(cmd: &clap::Command, path: &str, out: &mut Vec<String>) {
        if cmd.get_arguments().any(|a| a.get_id() == "sysroot") {
            out.push(path.to_string());
        }
        for sub in cmd.get_subcommands() {
            let p = if path.is_empty() {
                sub.get_name().to_string()
            } else {
                format!("{path} {}", sub.get_name())
            };
            walk(sub, &p, out);
        }
    }
    let mut out = Vec::new();
    walk(
        &<bsdx::cli::Cli as clap::CommandFactory>::command(),
        "",
        &mut out,
    );
    out.sort();
    out
}

#[test]
fn a_13_5_sysroot_is_known_and_refused_as_14_4() {
    let tmp = tempfile::tempdir().unwrap();
    let sysroot = sysroot_13_5(tmp.path());
    let sg = cc(tmp.path(), "sg", "#define _GNU_SOURCE\n#include <stdlib.h>\n#include <stdio.h>\nint main(void) { puts(secure_getenv(\"HOME\") ? \"y\" : \"n\"); return 0; }\n", &[]);

    // Refused before anything runs, with both releases and the fix, by
    // every command that takes --sysroot (`doctor` reports it as a failed
    // check instead, below; `abi import --sysroot` labels a sysroot, so
    // there is no other release to compare with). `tmp` holds no Cargo
    // project: a command that went past the guard would fail otherwise
    // (cargo's 101, `package`'s missing Cargo.toml), never with this.
    let sg_arg = sg.to_str().unwrap();
    let refusing: [&[&str]; 6] = [
        &["env"],
        &["build"],
        &["repro"],
        &["check", sg_arg],
        &["package"],
        &["test"],
    ];
    let takes_sysroot = commands_taking_sysroot();
    let mut covered: Vec<String> = refusing.iter().map(|c| c[0].to_string()).collect();
    covered.extend(["doctor".into(), "abi import".into()]);
    covered.sort();
    assert_eq!(
        takes_sysroot, covered,
        "every command with --sysroot is tested here"
    );
    for cmd in refusing {
        for through_env in [false, true] {
            let mut b = bsdx()
                .args(cmd.iter().copied())
                .args(["--release", "14.4"])
                .dir(tmp.path());
            b = if through_env {
                b.env("BSDX_SYSROOT", &sysroot)
            } else {
                b.args(["--sysroot"]).arg_path(&sysroot)
            };
            b.run()
                .failure(1)
                .stderr_has("is FreeBSD 13.5")
                .stderr_has("not FreeBSD 14.4")
                .stderr_has("--release 13.5")
                .stderr_has("bsdx sysroot fetch --release 14.4");
        }
    }
    assert!(
        std::fs::read_dir(tmp.path()).unwrap().all(|e| !e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .ends_with(".pkg")),
        "no package written"
    );
    // An explicit --stubs beats $BSDX_SYSROOT.
    bsdx()
        .args(["env", "--release", "14.4", "--stubs"])
        .env("BSDX_SYSROOT", &sysroot)
        .run()
        .success();
    let doctor = bsdx()
        .args(["doctor", "--json", "--release", "14.4", "--sysroot"])
        .arg_path(&sysroot)
        .run()
        .json();
    let c = doctor["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "sysroot release")
        .cloned()
        .expect("doctor checks the sysroot's release");
    assert_eq!(c["ok"], false, "{c}");

    // Matching: the sysroot says 13.5 (from its libc's exports), and the
    // binary needs 14.2 because of secure_getenv@FBSD_1.7, with a true fix.
    let r = bsdx()
        .args(["check", "--json", "--release", "13.5", "--sysroot"])
        .arg_path(&sysroot)
        .arg_path(&sg)
        .run()
        .failure(1)
        .json();
    assert_eq!(r["sysroot_release"]["release"], "13.5", "{r:#}");
    assert!(
        r["sysroot_release"]["source"]
            .as_str()
            .unwrap()
            .contains("exported symbols"),
        "{r:#}"
    );
    let f = &r["files"][0];
    assert_eq!(f["min_release"], "14.2", "{f:#}");
    assert_eq!(f["runs_on"][0], "14.2");
    assert!(!f["runs_on"].as_array().unwrap().iter().any(|x| x == "13.5"));
    let missing = f["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["code"] == "missing-symbol-version")
        .expect("flagged");
    assert_eq!(missing["item"], "secure_getenv@FBSD_1.7 (libc.so.7)");
    let msg = missing["message"].as_str().unwrap();
    assert!(
        msg.contains("FreeBSD 14.2, 14.3, 14.4, 15.0, 15.1 export it")
            && msg.contains("--release 14.2"),
        "{msg}"
    );
    assert!(
        !msg.contains("--release 13.5"),
        "never suggests the release in use: {msg}"
    );
    let env = bsdx()
        .args(["env", "--json", "--release", "13.5", "--sysroot"])
        .arg_path(&sysroot)
        .run()
        .success()
        .json();
    assert_eq!(env["sysroot_release"]["release"], "13.5");
    let text = bsdx()
        .args(["env", "--release", "13.5", "--sysroot"])
        .arg_path(&sysroot)
        .run()
        .success()
        .stdout();
    assert!(text.contains("# sysroot: FreeBSD 13.5"), "{text}");

    // Made by `bsdx sysroot extract`: its marker says which release it is.
    let marked = extracted(tmp.path(), &sysroot, "13.5");
    bsdx()
        .args(["check", "--release", "14.4", "--sysroot"])
        .arg_path(&marked)
        .arg_path(&sg)
        .run()
        .failure(1)
        .stderr_has("bsdx-sysroot.json")
        .stderr_has("not FreeBSD 14.4");
    let r = bsdx()
        .args(["check", "--json", "--release", "13.5", "--sysroot"])
        .arg_path(&marked)
        .arg_path(&sg)
        .run()
        .failure(1)
        .json();
    assert_eq!(r["sysroot_release"]["source"], "its bsdx-sysroot.json");
    assert_eq!(r["files"][0]["min_release"], "14.2");
}

#[test]
fn a_libc_abi_note_names_the_release() {
    let tmp = tempfile::tempdir().unwrap();
    let lib = tmp.path().join("root/lib");
    std::fs::create_dir_all(&lib).unwrap();
    std::fs::create_dir_all(tmp.path().join("root/usr/lib")).unwrap();
    let note = tmp.path().join("note.s");
    std::fs::write(&note, bsdx::abitag::source(1305000)).unwrap();
    let mut c = zig();
    c.args([
        "cc",
        "-target",
        "x86_64-freebsd",
        "-shared",
        "-nostdlib",
        "-Wl,-soname,libc.so.7",
        "-o",
    ])
    .arg(lib.join("libc.so.7"))
    .arg(&note);
    run_ok(c, "libc.so.7 with a note");
    let d = bsdx()
        .args(["doctor", "--json", "--release", "14.4", "--sysroot"])
        .arg_path(&tmp.path().join("root"))
        .run()
        .json();
    let c = d["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "sysroot release")
        .cloned()
        .unwrap();
    assert_eq!(c["ok"], false);
    let detail = c["detail"].as_str().unwrap();
    assert!(
        detail.contains("FreeBSD 13.5") && detail.contains("__FreeBSD_version 1305000"),
        "{detail}"
    );
    let d = bsdx()
        .args(["doctor", "--json", "--release", "13.5", "--sysroot"])
        .arg_path(&tmp.path().join("root"))
        .run()
        .json();
    let c = d["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "sysroot release")
        .cloned()
        .unwrap();
    assert_eq!(c["ok"], true, "{c}");
}

/// Findings that can only explain the verdict, never contradict it.
fn assert_consistent(fixture: &Path, releases: &[String]) {
    let release_error = [
        "missing-symbol",
        "missing-symbol-version",
        "needed-not-base",
        "needed-other-release",
        "needed-path",
        "symbol-not-in-data",
    ];
    let mut verdicts = Vec::new();
    for r in releases {
        let report = bsdx()
            .args(["check", "--json", "--release", r])
            .arg_path(fixture)
            .run()
            .json();
        let f = &report["files"][0];
        let runs_on: Vec<String> = f["runs_on"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect();
        assert_eq!(
            f["min_release"].as_str(),
            runs_on.first().map(String::as_str),
            "{}: min_release is runs_on's first",
            fixture.display()
        );
        let findings = f["findings"].as_array().unwrap();
        let explains = findings
            .iter()
            .any(|x| release_error.contains(&x["code"].as_str().unwrap()));
        assert_eq!(
            runs_on.contains(r),
            !explains,
            "{} --release {r}: in runs_on iff no finding says why not: {f:#}",
            fixture.display()
        );
        for other in releases.iter().filter(|o| *o != r && !runs_on.contains(o)) {
            assert!(
                findings
                    .iter()
                    .any(|x| x["code"] == "not-on-release" && x["item"] == other.as_str()),
                "{} --release {r}: omits {other} from runs_on without saying why: {f:#}",
                fixture.display()
            );
        }
        for x in findings {
            let msg = x["message"].as_str().unwrap();
            for (i, _) in msg.match_indices("--release ") {
                let named: String = msg[i + 10..]
                    .chars()
                    .take_while(|c| c.is_ascii_digit() || *c == '.')
                    .collect();
                assert_ne!(&named, r, "suggests the release in use: {msg}");
                assert!(
                    runs_on.contains(&named),
                    "suggests {named}, where it does not run (runs_on {runs_on:?}): {msg}"
                );
            }
        }
        verdicts.push(runs_on);
    }
    assert!(
        verdicts.windows(2).all(|w| w[0] == w[1]),
        "{}: runs_on depends on --release: {verdicts:?}",
        fixture.display()
    );
}

/// A libkvm.so.7 that exports a function the real one lacks (a stub mistake).
fn fake_kvm(d: &Path) -> PathBuf {
    let dir = d.join("fake-kvm");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("kvm.c"),
        "int kvm_no_such_function(void) { return 0; }\n",
    )
    .unwrap();
    let mut c = zig();
    c.args([
        "cc",
        "-target",
        "x86_64-freebsd",
        "-shared",
        "-Wl,-soname,libkvm.so.7",
        "-o",
    ])
    .arg(dir.join("libkvm.so"))
    .arg(dir.join("kvm.c"));
    run_ok(c, "fake libkvm");
    dir
}

#[test]
fn findings_never_contradict_runs_on_for_any_release() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let releases: Vec<String> = bsdx::model::release::release_names()
        .into_iter()
        .map(str::to_string)
        .collect();
    let s14 = d.join("stubs-14.4");
    bsdx()
        .args(["stubs", "--release", "14.4", "--out"])
        .arg_path(&s14)
        .run()
        .success();
    let s13 = d.join("stubs-13.5");
    bsdx()
        .args(["stubs", "--release", "13.5", "--out"])
        .arg_path(&s13)
        .run()
        .success();
    let fixtures = [
        cc(d, "hello", "#include <stdio.h>\nint main(void) { puts(\"hi\"); return 0; }\n", &[]),
        cc(d, "sg", "#define _GNU_SOURCE\n#include <stdlib.h>\nint main(void) { return secure_getenv(\"HOME\") != 0; }\n", &[]),
        cc(d, "kvm", "void *kvm_open(const char *, const char *, const char *, int, const char *);\nint main(void) { return kvm_open(0, 0, 0, 0, 0) != 0; }\n", &["-L", s14.to_str().unwrap(), "-lkvm"]),
        cc(d, "nv13", "void *nvlist_create(int);\nint main(void) { return nvlist_create(0) != 0; }\n", &["-L", s13.to_str().unwrap(), "-lnv"]),
        cc(d, "nope", "int kvm_no_such_function(void);\nint main(void) { return kvm_no_such_function(); }\n", &["-L", fake_kvm(d).to_str().unwrap(), "-lkvm"]),
    ];
    for f in &fixtures {
        assert_consistent(f, &releases);
    }
    // The fixtures cover the cases: all releases, 14.2 and later, 13.5 only, none.
    let runs = |f: &Path| {
        bsdx().args(["check", "--json"]).arg_path(f).run().json()["files"][0]["runs_on"].clone()
    };
    assert_eq!(runs(&fixtures[0]).as_array().unwrap().len(), releases.len());
    assert_eq!(runs(&fixtures[1])[0], "14.2");
    assert_eq!(runs(&fixtures[3]), serde_json::json!(["13.5"]));
    assert_eq!(runs(&fixtures[4]), serde_json::json!([]));
}
