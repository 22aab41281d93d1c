//! `bsdx package`: packages of a small real FreeBSD ELF fixture (built here
//! with `zig cc`), read back with libarchive's bsdtar and zstd (independent
//! readers) and with `bsdx package --inspect`; reproducibility across
//! directories; bad input. One full-tier test packages a real cross build
//! of the sysinfo template.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::check::{cc, HELLO};
use crate::support::*;

/// A FreeBSD 14.4 executable (ABI note linked in, EI_OSABI branded), as
/// `bsdx build` makes them; built once per test run.
pub fn fixture() -> PathBuf {
    static FIXTURE: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    FIXTURE
        .get_or_init(|| {
            let dir = shared_dir("package-fixture");
            let env = bsdx()
                .args(["env", "--json", "--release", "14.4"])
                .run()
                .success()
                .json();
            let note = env["abi_tag"].as_str().unwrap().to_string();
            // Without debug info, as bsdx's release links (`-Wl,--strip-debug`):
            // the crt objects Zig keeps in its global cache carry the working
            // directory of whichever compile built them first (another test's
            // temp dir) and Zig's install path, so with them the package's
            // sha256 below would depend on test order and on the machine.
            let bin = cc(&dir, "hello", HELLO, &[&note, "-Wl,--strip-debug"]);
            bsdx().args(["brand"]).arg_path(&bin).run().success();
            bin
        })
        .clone()
}

const MANIFEST: &str = r#"[package]
name = "hello-svc"
version = "1.2.0-rc.1"
description = "A hello service"
authors = ["Jo Example <jo@example.org>"]
homepage = "https://example.org/hello"

[package.metadata.bsdx.service]
args = ["-c", "{config_dir}/hello.conf", "-d", "{data_dir}"]
env = { RUST_LOG = "info" }
config = [{ source = "conf/hello.conf.example", name = "hello.conf" }]
"#;

/// A project directory with `Cargo.toml` (text) and its config file.
pub fn project(dir: &Path, cargo_toml: &str) -> PathBuf {
    std::fs::create_dir_all(dir.join("conf")).unwrap();
    std::fs::write(dir.join("Cargo.toml"), cargo_toml).unwrap();
    std::fs::write(dir.join("conf/hello.conf.example"), "greeting = hi\n").unwrap();
    dir.to_path_buf()
}

fn tool(name: &str) -> Command {
    let ok = Command::new(name).arg("--version").output().is_ok();
    assert!(
        ok,
        "{name} is not installed: the package tests read packages with libarchive's bsdtar and zstd\n  fix: apt-get install libarchive-tools zstd (.ci/run does)"
    );
    Command::new(name)
}

fn output(mut c: Command) -> String {
    let o = c.output().unwrap();
    assert!(
        o.status.success(),
        "{c:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn package(proj: &Path, bin: &Path, out: &Path, extra: &[&str]) -> Run {
    bsdx()
        .args(["package", "--json", "--from-binary"])
        .arg_path(bin)
        .args(["--out"])
        .arg_path(out)
        .args(extra)
        .arg_path(proj)
        .env_remove("SOURCE_DATE_EPOCH")
        .run()
}

/// `-rwxr-xr-x` → `0755` (bsdtar's listing as pkg's `perm`).
fn mode_of(ls: &str) -> String {
    let bits: u32 = ls[1..]
        .chars()
        .enumerate()
        .map(|(i, c)| if c == '-' { 0 } else { 1 << (8 - i) })
        .sum();
    format!("{bits:04o}")
}

/// An ELF file's DT_NEEDED, sorted, once each (read with goblin).
fn needed(bin: &Path) -> Vec<String> {
    let data = std::fs::read(bin).unwrap();
    let elf = goblin::elf::Elf::parse(&data).unwrap();
    let mut v: Vec<String> = elf.libraries.iter().map(|l| l.to_string()).collect();
    v.sort();
    v.dedup();
    assert!(!v.is_empty(), "the fixture is dynamically linked");
    v
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

#[test]
fn a_package_reads_back_with_bsdtar_as_pkg_create_would_write_it() {
    let tmp = tempfile::tempdir().unwrap();
    let bin = fixture();
    let proj = project(&tmp.path().join("proj"), MANIFEST);
    let out = tmp.path().join("out");
    let r = package(&proj, &bin, &out, &[]).success().json();
    let pkg = out.join("hello-svc-1.2.0.rc.1.pkg");
    assert_eq!(PathBuf::from(r["path"].as_str().unwrap()), pkg);
    assert_eq!(r["abi"], "FreeBSD:14:amd64");
    assert_eq!(r["compression"], "zstd");

    // zstd and bsdtar, independent readers.
    let z = tool("zstd").args(["-t", "-q"]).arg(&pkg).status().unwrap();
    assert!(z.success(), "zstd -t");
    let listing = output({
        let mut c = tool("bsdtar");
        c.arg("-tvf").arg(&pkg);
        c
    });
    let rows: Vec<Vec<&str>> = listing
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    let names: Vec<&str> = rows.iter().map(|r| *r.last().unwrap()).collect();
    assert_eq!(
        names,
        [
            "+COMPACT_MANIFEST",
            "+MANIFEST",
            "/usr/local/bin/hello-svc",
            "/usr/local/etc/hello_svc/hello.conf.sample",
            "/usr/local/etc/hello_svc/hello_svc.env.sample",
            "/usr/local/etc/newsyslog.conf.d/hello_svc.conf",
            "/usr/local/etc/rc.d/hello_svc",
            "/usr/local/etc/hello_svc/",
            "/var/db/hello_svc/",
        ],
        "members in pkg create's order, absolute paths:\n{listing}"
    );
    let perms: BTreeMap<&str, (&str, &str, &str)> = rows
        .iter()
        .map(|r| (*r.last().unwrap(), (r[0], r[2], r[3])))
        .collect();
    assert_eq!(
        perms["/usr/local/bin/hello-svc"],
        ("-rwxr-xr-x", "root", "wheel")
    );
    assert_eq!(
        perms["/usr/local/etc/rc.d/hello_svc"],
        ("-rwxr-xr-x", "root", "wheel")
    );
    assert_eq!(
        perms["/usr/local/etc/hello_svc/hello.conf.sample"],
        ("-rw-r-----", "root", "hello_svc"),
        "the service's group reads its config"
    );
    assert_eq!(
        perms["/usr/local/etc/hello_svc/hello_svc.env.sample"],
        ("-rw-------", "root", "wheel"),
        "the env file holds secrets"
    );
    assert_eq!(
        perms["/var/db/hello_svc/"],
        ("drwxr-x---", "hello_svc", "hello_svc")
    );
    assert!(
        listing.lines().all(|l| l.contains("Jan  1  2000")),
        "one fixed mtime without SOURCE_DATE_EPOCH:\n{listing}"
    );

    // The manifest: pkg's key order, fields, and sums that match the payload.
    let extracted = tmp.path().join("x");
    std::fs::create_dir_all(&extracted).unwrap();
    output({
        let mut c = tool("bsdtar");
        c.arg("-xf").arg(&pkg).arg("-C").arg(&extracted);
        c
    });
    let raw = std::fs::read_to_string(extracted.join("+MANIFEST")).unwrap();
    let order = [
        "\"name\":",
        "\"origin\":",
        "\"version\":",
        "\"comment\":",
        "\"maintainer\":",
        "\"www\":",
        "\"abi\":",
        "\"arch\":",
        "\"prefix\":",
        "\"flatsize\":",
        "\"desc\":",
        "\"users\":",
        "\"groups\":",
        "\"shlibs_required\":",
        "\"annotations\":",
        "\"files\":",
        "\"directories\":",
        "\"scripts\":",
        "\"messages\":",
    ];
    let at: Vec<usize> = order
        .iter()
        .map(|k| raw.find(k).unwrap_or_else(|| panic!("{k} missing: {raw}")))
        .collect();
    assert!(
        at.windows(2).all(|w| w[0] < w[1]),
        "keys out of pkg's order: {raw}"
    );
    assert!(
        !raw.contains('\n') || raw.find('\n') > raw.find("\"scripts\""),
        "compact JSON"
    );
    let m: serde_json::Value = serde_json::from_str(&raw).unwrap();
    assert_eq!(m["name"], "hello-svc");
    assert_eq!(m["version"], "1.2.0.rc.1", "pkg versions have no `-`");
    assert_eq!(m["origin"], "local/hello-svc");
    assert_eq!(m["maintainer"], "jo@example.org");
    assert_eq!(m["www"], "https://example.org/hello");
    assert_eq!(m["arch"], "freebsd:14:x86:64");
    assert_eq!(m["prefix"], "/usr/local");
    assert_eq!(m["users"], serde_json::json!(["hello_svc"]));
    assert_eq!(m["groups"], serde_json::json!(["hello_svc"]));
    // The fixture only needs libc symbols every 14.x has: the floor is 14.2.
    assert_eq!(m["annotations"]["FreeBSD_version"], "1402000");
    assert_eq!(r["floor_release"], "14.2");
    // Every file in pkg ≥ 2.4's per-file form (libpkg/pkg_manifest.c
    // `pkg_emit_object`): exactly sum, uname, gname, perm, mtime, in that
    // order, each equal to the archive member bsdtar lists.
    let mut flat = 0;
    let files = m["files"].as_object().unwrap();
    assert_eq!(files.len(), 5, "{raw}");
    for (path, attrs) in files {
        let data = std::fs::read(extracted.join(path.trim_start_matches('/'))).unwrap();
        flat += data.len() as u64;
        let hex: String = {
            use sha2::Digest;
            sha2::Sha256::digest(&data)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect()
        };
        let keys: Vec<&str> = attrs
            .as_object()
            .unwrap()
            .keys()
            .map(|k| k.as_str())
            .collect();
        let mut sorted = ["gname", "mtime", "perm", "sum", "uname"];
        sorted.sort();
        assert_eq!(keys, sorted, "{path}: {attrs}");
        let entry = format!(
            "\"{path}\":{{\"sum\":\"1${hex}\",\"uname\":\"{}\",\"gname\":\"{}\",\"perm\":\"{}\",\"mtime\":946684800}}",
            perms[path.as_str()].1,
            perms[path.as_str()].2,
            mode_of(perms[path.as_str()].0),
        );
        assert!(raw.contains(&entry), "{entry} not in {raw}");
    }
    assert_eq!(
        files["/usr/local/bin/hello-svc"],
        serde_json::json!({"sum": files["/usr/local/bin/hello-svc"]["sum"], "uname": "root", "gname": "wheel", "perm": "0755", "mtime": 946684800})
    );
    assert_eq!(
        files["/usr/local/etc/hello_svc/hello.conf.sample"]["gname"],
        "hello_svc"
    );
    assert_eq!(
        files["/usr/local/etc/hello_svc/hello_svc.env.sample"]["perm"],
        "0600"
    );
    assert_eq!(m["flatsize"].as_u64(), Some(flat));
    assert_eq!(
        m["directories"],
        serde_json::json!({
            "/usr/local/etc/hello_svc": {"uname": "root", "gname": "wheel", "perm": "0755"},
            "/var/db/hello_svc": {"uname": "hello_svc", "gname": "hello_svc", "perm": "0750"},
        })
    );
    assert!(
        raw.contains(
            r#""/var/db/hello_svc":{"uname":"hello_svc","gname":"hello_svc","perm":"0750"}"#
        ),
        "{raw}"
    );
    // shlibs_required: the binary's DT_NEEDED, as pkg create records it.
    assert_eq!(
        m["shlibs_required"],
        serde_json::json!(needed(&bin)),
        "{raw}"
    );
    assert!(m["shlibs_required"]
        .as_array()
        .unwrap()
        .contains(&serde_json::json!("libc.so.7")));
    assert_eq!(r["shlibs_required"], m["shlibs_required"]);
    let compact: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(extracted.join("+COMPACT_MANIFEST")).unwrap(),
    )
    .unwrap();
    let mut stripped = m.as_object().unwrap().clone();
    for k in ["files", "directories", "scripts"] {
        stripped.remove(k);
    }
    assert_eq!(compact, serde_json::Value::Object(stripped));

    // The payload: the fixture, the generated rc.d script (lint-clean), the
    // newsyslog drop-in, the sample.
    assert_eq!(
        std::fs::read(extracted.join("usr/local/bin/hello-svc")).unwrap(),
        std::fs::read(&bin).unwrap()
    );
    let rc = extracted.join("usr/local/etc/rc.d/hello_svc");
    let generated = bsdx()
        .args(["rcd"])
        .arg_path(&proj)
        .run()
        .success()
        .stdout();
    assert_eq!(std::fs::read_to_string(&rc).unwrap(), generated);
    let lint = bsdx()
        .args(["rcd", "lint", "--json"])
        .arg_path(&rc)
        .run()
        .success()
        .json();
    assert_eq!(
        lint["files"][0]["findings"],
        serde_json::json!([]),
        "{lint:#}"
    );
    let newsyslog =
        std::fs::read_to_string(extracted.join("usr/local/etc/newsyslog.conf.d/hello_svc.conf"))
            .unwrap();
    assert!(
        newsyslog.contains("/var/log/hello_svc.log hello_svc:hello_svc  600")
            && newsyslog.contains("/var/run/hello_svc/hello_svc.pid"),
        "{newsyslog}"
    );

    // The scripts: valid sh; post-install installs the samples once,
    // pre-deinstall removes only unmodified copies (PKG_ROOTDIR honoured).
    let scripts = m["scripts"].as_object().unwrap();
    for (k, s) in scripts {
        let ok = Command::new("sh")
            .args(["-n", "-c", s.as_str().unwrap()])
            .status()
            .unwrap();
        assert!(ok.success(), "{k} is not valid sh");
    }
    assert!(scripts["pre-install"]
        .as_str()
        .unwrap()
        .contains("useradd hello_svc -g hello_svc"));
    let run = |name: &str| {
        let st = Command::new("sh")
            .args(["-c", scripts[name].as_str().unwrap()])
            .env("PKG_ROOTDIR", &extracted)
            .status()
            .unwrap();
        assert!(st.success(), "{name}");
    };
    let live = extracted.join("usr/local/etc/hello_svc/hello.conf");
    run("post-install");
    assert_eq!(std::fs::read_to_string(&live).unwrap(), "greeting = hi\n");
    assert!(extracted
        .join("usr/local/etc/hello_svc/hello_svc.env")
        .is_file());
    std::fs::write(&live, "greeting = edited\n").unwrap();
    run("post-install");
    assert_eq!(
        std::fs::read_to_string(&live).unwrap(),
        "greeting = edited\n",
        "an edited file is never replaced"
    );
    run("pre-deinstall");
    assert!(live.exists(), "an edited file is kept on removal");
    assert!(
        !extracted
            .join("usr/local/etc/hello_svc/hello_svc.env")
            .exists(),
        "an unmodified copy is removed"
    );

    // bsdx's own reader agrees.
    let i = bsdx()
        .args(["package", "--json", "--inspect"])
        .arg_path(&pkg)
        .run()
        .success()
        .json();
    assert_eq!(i["verified"], 5);
    assert_eq!(i["problems"], serde_json::json!([]), "{i:#}");
    assert_eq!(i["check"]["files"][0]["path"], "/usr/local/bin/hello-svc");
    assert_eq!(i["check"]["errors"], 0);
    assert_eq!(i["rcd"][0]["path"], "/usr/local/etc/rc.d/hello_svc");
    assert_eq!(i["rcd"][0]["findings"], serde_json::json!([]), "{i:#}");
    // Real outputs follow their published schemas.
    let schema = |n: &str| bsdx().args(["schema", n]).run().success().json();
    crate::cli::conforms(&r, &schema("package"));
    crate::cli::conforms(&i, &schema("package-inspect"));
    crate::cli::conforms(&lint, &schema("rcd-lint"));
    let g = bsdx()
        .args(["rcd", "--json"])
        .arg_path(&proj)
        .run()
        .success()
        .json();
    crate::cli::conforms(&g, &schema("rcd"));
    let text = bsdx()
        .args(["package", "--inspect"])
        .arg_path(&pkg)
        .run()
        .success()
        .stdout();
    assert!(text.contains("5 file sum(s) verified"), "{text}");
    insta::assert_snapshot!("package-inspect-view", redact(&text, tmp.path()));
}

#[test]
fn the_package_is_bit_reproducible_across_directories() {
    let tmp = tempfile::tempdir().unwrap();
    let bin = fixture();
    let a = project(&tmp.path().join("a/hello"), MANIFEST);
    let b = project(&tmp.path().join("build/elsewhere/hello"), MANIFEST);
    let sums = |extra: &[&str], env: Option<&str>| -> Vec<String> {
        [&a, &b]
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let out = tmp.path().join(format!("out{i}{}", extra.join("")));
                let mut c = bsdx()
                    .args(["package", "--json", "--from-binary"])
                    .arg_path(&bin)
                    .args(["--out"])
                    .arg_path(&out)
                    .args(extra)
                    .arg_path(p);
                c = match env {
                    Some(v) => c.env("SOURCE_DATE_EPOCH", v),
                    None => c.env_remove("SOURCE_DATE_EPOCH"),
                };
                c.run().success().json()["sha256"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect()
    };
    let zstd = sums(&[], None);
    assert_eq!(zstd[0], zstd[1], "zstd packages differ between directories");
    let xz = sums(&["--xz"], None);
    assert_eq!(xz[0], xz[1], "xz packages differ between directories");
    assert_ne!(zstd[0], xz[0]);
    let dated = sums(&["--force"], Some("1700000000"));
    assert_eq!(dated[0], dated[1]);
    assert_ne!(dated[0], zstd[0], "SOURCE_DATE_EPOCH sets the mtimes");
    let listing = output({
        let mut c = tool("bsdtar");
        c.arg("-tvf")
            .arg(tmp.path().join("out0--force/hello-svc-1.2.0.rc.1.pkg"));
        c
    });
    assert!(listing.contains("Nov 14  2023"), "{listing}");
}

#[test]
fn bad_input_gets_a_clear_error_and_leaves_nothing_behind() {
    let tmp = tempfile::tempdir().unwrap();
    let bin = fixture();
    let out = tmp.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    let cases: &[(&str, String, &str)] = &[
        (
            "dash",
            MANIFEST.replace("args = [", "name = \"hello-svc\"\nargs = ["),
            "contains `-`",
        ),
        (
            "path",
            MANIFEST.replace("args = [", "name = \"../etc/x\"\nargs = ["),
            "is a path",
        ),
        (
            "quote",
            MANIFEST.replace("\"-d\"", "\"a;b\""),
            "must be one word",
        ),
        (
            "unknown-key",
            MANIFEST.replace("args = [", "sevice-user = \"x\"\nargs = ["),
            "unknown field",
        ),
        (
            "no-config-source",
            MANIFEST.replace("conf/hello.conf.example", "conf/missing"),
            "does not exist",
        ),
    ];
    for (slot, toml, needle) in cases {
        let proj = project(&tmp.path().join(slot), toml);
        let run = package(&proj, &bin, &out, &[]).failure(1);
        assert!(run.stderr().contains(needle), "{slot}: {}", run.stderr());
        assert!(run.stderr().contains("fix:"), "{slot}: {}", run.stderr());
        assert_eq!(
            files_in(&out),
            Vec::<String>::new(),
            "{slot} wrote something"
        );
    }

    // A binary `bsdx check` rejects for the release: exit 4, nothing written.
    let linux = cc(
        tmp.path(),
        "linuxish",
        HELLO,
        &["-Wl,--dynamic-linker=/lib64/ld-linux-x86-64.so.2"],
    );
    let proj = project(&tmp.path().join("ok"), MANIFEST);
    package(&proj, &linux, &out, &[])
        .failure(4)
        .stderr_has("wrong-interpreter")
        .stderr_has("nothing was written");
    assert_eq!(files_in(&out), Vec::<String>::new());

    // An existing output file is never replaced without --force.
    package(&proj, &bin, &out, &[]).success();
    let before = std::fs::read(out.join("hello-svc-1.2.0.rc.1.pkg")).unwrap();
    package(&proj, &bin, &out, &["--xz"])
        .failure(1)
        .stderr_has("already exists")
        .stderr_has("--force");
    assert_eq!(
        std::fs::read(out.join("hello-svc-1.2.0.rc.1.pkg")).unwrap(),
        before
    );
    package(&proj, &bin, &out, &["--xz", "--force"]).success();
    assert_ne!(
        std::fs::read(out.join("hello-svc-1.2.0.rc.1.pkg")).unwrap(),
        before
    );
    assert_eq!(
        files_in(&out),
        ["hello-svc-1.2.0.rc.1.pkg"],
        "no temporary files left"
    );

    // Reading back: a tampered payload, and files that are not packages.
    let tampered = tmp.path().join("tampered.pkg");
    {
        let raw = std::fs::read(out.join("hello-svc-1.2.0.rc.1.pkg")).unwrap();
        let mut tar = Vec::new();
        std::io::Read::read_to_end(&mut xz2::read::XzDecoder::new(raw.as_slice()), &mut tar)
            .unwrap();
        let mut a = tar::Archive::new(tar.as_slice());
        let mut b = tar::Builder::new(Vec::new());
        for e in a.entries().unwrap() {
            let mut e = e.unwrap();
            let mut h = e.header().clone();
            let mut data = Vec::new();
            std::io::Read::read_to_end(&mut e, &mut data).unwrap();
            if e.path_bytes().ends_with(b"rc.d/hello_svc") {
                data.extend_from_slice(b"# tampered\n");
                h.set_size(data.len() as u64);
                h.set_cksum();
            }
            b.append(&h, data.as_slice()).unwrap();
        }
        std::fs::write(&tampered, b.into_inner().unwrap()).unwrap();
    }
    let i = bsdx()
        .args(["package", "--json", "--inspect"])
        .arg_path(&tampered)
        .run()
        .failure(1)
        .json();
    let codes: Vec<&str> = i["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["code"].as_str().unwrap())
        .collect();
    assert!(
        codes.contains(&"sum") && codes.contains(&"flatsize"),
        "{i:#}"
    );
    assert_eq!(i["compression"], "none");
    bsdx()
        .args(["package", "--inspect"])
        .arg_path(&proj.join("Cargo.toml"))
        .run()
        .failure(3)
        .stderr_has("not a pkg(8) package");
    bsdx()
        .args(["package", "--inspect"])
        .arg_path(&tmp.path().join("absent.pkg"))
        .run()
        .failure(3);
}

/// `bsdx new` + a real cross build + `bsdx package`, of the small sysinfo
/// template with a declared service (the bot's package is covered by the
/// bot's `bsdx repro` in tests/cross.rs, which compares its .pkg too). It
/// builds in the stub builds' shared target dir, so it compiles no std of
/// its own.
#[test]
#[ignore = "real cross build (full tier): bsdx package builds the sysinfo template"]
fn bsdx_package_builds_checks_and_packages_a_real_project() {
    let dest = shared_dir("src-package").join("pkgprobe");
    if dest.exists() {
        std::fs::remove_dir_all(&dest).unwrap();
    }
    bsdx()
        .args(["new", "pkgprobe", "--template", "sysinfo", "--path"])
        .arg_path(&dest)
        .run()
        .success();
    let toml = std::fs::read_to_string(dest.join("Cargo.toml")).unwrap();
    let toml = toml.replacen(
        "[dependencies]",
        "[package.metadata.bsdx.service]\nuser = \"nobody\"\n\n[dependencies]",
        1,
    );
    std::fs::write(dest.join("Cargo.toml"), toml).unwrap();
    let out = tempfile::tempdir().unwrap();
    let r = bsdx()
        .args(["package", "--json", "--out"])
        .arg_path(out.path())
        .dir(&dest)
        .env("CARGO_TARGET_DIR", stub_target_dir())
        .run()
        .success()
        .json();
    assert_eq!(r["check"]["errors"], 0);
    assert_eq!(
        r["users"],
        serde_json::json!([]),
        "nobody exists on FreeBSD"
    );
    let pkg = PathBuf::from(r["path"].as_str().unwrap());
    assert_eq!(pkg.file_name().unwrap(), "pkgprobe-0.1.0.pkg");
    let listing = output({
        let mut c = tool("bsdtar");
        c.arg("-tf").arg(&pkg);
        c
    });
    assert!(listing.contains("/usr/local/bin/pkgprobe\n"), "{listing}");
    let i = bsdx()
        .args(["package", "--json", "--inspect"])
        .arg_path(&pkg)
        .run()
        .success()
        .json();
    assert_eq!(i["problems"], serde_json::json!([]), "{i:#}");
    assert_eq!(i["check"]["errors"], 0);
    println!(
        "pkgprobe package: {} bytes, sha256 {}",
        r["size"], r["sha256"]
    );
}

/// The members of a package (any compression), in order: path, header,
/// data.
fn members(pkg: &Path) -> Vec<(String, tar::Header, Vec<u8>)> {
    let raw = std::fs::read(pkg).unwrap();
    let mut tar = Vec::new();
    std::io::Read::read_to_end(
        &mut zstd::stream::Decoder::new(raw.as_slice()).unwrap(),
        &mut tar,
    )
    .unwrap();
    let mut a = tar::Archive::new(tar.as_slice());
    a.entries()
        .unwrap()
        .map(|e| {
            let mut e = e.unwrap();
            let h = e.header().clone();
            let mut data = Vec::new();
            std::io::Read::read_to_end(&mut e, &mut data).unwrap();
            (
                String::from_utf8_lossy(&e.path_bytes()).into_owned(),
                h,
                data,
            )
        })
        .collect()
}

/// A package bsdx wrote before the per-file form (pkg's pre-2.4 manifest:
/// `"path": "1$…"`, `"dir": "y"`) still reads back with `--inspect`: its
/// sums are verified, and the missing owners and modes are said once.
#[test]
fn an_old_form_package_still_inspects() {
    let tmp = tempfile::tempdir().unwrap();
    let proj = project(&tmp.path().join("proj"), MANIFEST);
    let out = tmp.path().join("out");
    package(&proj, &fixture(), &out, &[]).success();
    let mut b = tar::Builder::new(Vec::new());
    for (path, mut h, mut data) in members(&out.join("hello-svc-1.2.0.rc.1.pkg")) {
        if path == "+COMPACT_MANIFEST" {
            let mut m: serde_json::Map<String, serde_json::Value> =
                serde_json::from_slice(&data).unwrap();
            m.remove("shlibs_required").unwrap();
            data = serde_json::to_vec(&m).unwrap();
            h.set_size(data.len() as u64);
            h.set_cksum();
        }
        if path == "+MANIFEST" {
            let mut m: serde_json::Map<String, serde_json::Value> =
                serde_json::from_slice(&data).unwrap();
            let old = |v: &serde_json::Value,
                       f: &dyn Fn(&serde_json::Value) -> serde_json::Value| {
                serde_json::Value::Object(
                    v.as_object()
                        .unwrap()
                        .iter()
                        .map(|(k, v)| (k.clone(), f(v)))
                        .collect(),
                )
            };
            let files = old(&m["files"], &|v| v["sum"].clone());
            let dirs = old(&m["directories"], &|_| "y".into());
            m.insert("files".into(), files);
            m.insert("directories".into(), dirs);
            m.remove("shlibs_required").unwrap();
            data = serde_json::to_vec(&m).unwrap();
            assert!(String::from_utf8_lossy(&data).contains("\"/var/db/hello_svc\":\"y\""));
            h.set_size(data.len() as u64);
            h.set_cksum();
        }
        b.append(&h, data.as_slice()).unwrap();
    }
    let old = tmp.path().join("old.pkg");
    std::fs::write(
        &old,
        zstd::stream::encode_all(b.into_inner().unwrap().as_slice(), 3).unwrap(),
    )
    .unwrap();
    let i = bsdx()
        .args(["package", "--json", "--inspect"])
        .arg_path(&old)
        .run()
        .success()
        .json();
    assert_eq!(i["verified"], 5, "{i:#}");
    let codes: Vec<(&str, &str)> = i["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["level"].as_str().unwrap(), p["code"].as_str().unwrap()))
        .collect();
    assert_eq!(
        codes,
        [("info", "manifest-form"), ("info", "shlibs")],
        "{i:#}"
    );
    assert!(
        i["problems"][1]["message"]
            .as_str()
            .unwrap()
            .starts_with("shlibs_required lacks libc.so.7"),
        "{i:#}"
    );

    // And a per-file record that disagrees with the archive is an error.
    let mut b = tar::Builder::new(Vec::new());
    for (path, mut h, data) in members(&out.join("hello-svc-1.2.0.rc.1.pkg")) {
        if path == "/usr/local/bin/hello-svc" {
            h.set_mode(0o777);
            h.set_cksum();
        }
        b.append(&h, data.as_slice()).unwrap();
    }
    let chmod = tmp.path().join("chmod.pkg");
    std::fs::write(&chmod, b.into_inner().unwrap()).unwrap();
    let i = bsdx()
        .args(["package", "--json", "--inspect"])
        .arg_path(&chmod)
        .run()
        .failure(1)
        .json();
    let p = &i["problems"][0];
    assert_eq!(
        (p["level"].as_str(), p["code"].as_str()),
        (Some("error"), Some("attributes")),
        "{i:#}"
    );
    assert!(
        p["message"]
            .as_str()
            .unwrap()
            .contains("records root:wheel 0755, the archive holds root:wheel 0777"),
        "{i:#}"
    );
}

/// A CLI tool (no service): the fixture as the crate's binary
/// `/usr/local/bin/hello`, with assets and deps.
const TOOL: &str = r#"[package]
name = "hello"
version = "0.3.0"
description = "Says hello"

[package.metadata.bsdx.package]
assets = [
  ["README.md", "/usr/local/share/doc/hello/", "644"],
  { source = "data/hello.db", dest = "/usr/local/share/hello/hello.db", mode = "640", group = "www" },
]
deps = { ca_root_nss = { origin = "security/ca_root_nss", version = "3.108" } }
"#;

fn tool_project(dir: &Path, cargo_toml: &str) -> PathBuf {
    std::fs::create_dir_all(dir.join("data")).unwrap();
    std::fs::write(dir.join("Cargo.toml"), cargo_toml).unwrap();
    std::fs::write(dir.join("README.md"), "# hello\n").unwrap();
    std::fs::write(dir.join("data/hello.db"), b"\x00db\x01").unwrap();
    dir.to_path_buf()
}

#[test]
fn a_tool_without_a_service_packages_its_binary_assets_and_deps() {
    let tmp = tempfile::tempdir().unwrap();
    let bin = fixture();
    assert_eq!(bin.file_name().unwrap(), "hello", "the crate's binary");
    let proj = tool_project(&tmp.path().join("hello"), TOOL);
    let out = tmp.path().join("out");
    let r = package(&proj, &bin, &out, &[]).success().json();
    let pkg = out.join("hello-0.3.0.pkg");
    assert_eq!(PathBuf::from(r["path"].as_str().unwrap()), pkg);
    let listing = output({
        let mut c = tool("bsdtar");
        c.arg("-tvf").arg(&pkg);
        c
    });
    let rows: Vec<(String, String, String, String)> = listing
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (
                f.last().unwrap().to_string(),
                f[0].to_string(),
                f[2].to_string(),
                f[3].to_string(),
            )
        })
        .collect();
    let row = |p: &str, m: &str, u: &str, g: &str| (p.into(), m.into(), u.into(), g.into());
    assert_eq!(
        rows,
        [
            row("+COMPACT_MANIFEST", "-rw-r--r--", "root", "wheel"),
            row("+MANIFEST", "-rw-r--r--", "root", "wheel"),
            row("/usr/local/bin/hello", "-rwxr-xr-x", "root", "wheel"),
            row(
                "/usr/local/share/doc/hello/README.md",
                "-rw-r--r--",
                "root",
                "wheel"
            ),
            row(
                "/usr/local/share/hello/hello.db",
                "-rw-r-----",
                "root",
                "www"
            ),
        ],
        "{listing}"
    );
    let all = members(&pkg);
    let raw = String::from_utf8(all[1].2.clone()).unwrap();
    let m: serde_json::Value = serde_json::from_str(&raw).unwrap();
    assert_eq!(m["name"], "hello");
    assert_eq!(m["version"], "0.3.0");
    assert_eq!(m["comment"], "Says hello");
    assert_eq!(
        m["deps"],
        serde_json::json!({"ca_root_nss": {"origin": "security/ca_root_nss", "version": "3.108"}})
    );
    assert!(
        raw.contains(r#""deps":{"ca_root_nss":{"origin":"security/ca_root_nss","version":"3.108"}},"categories":["local"],"shlibs_required":["#),
        "pkg's key order: {raw}"
    );
    assert_eq!(m["shlibs_required"], serde_json::json!(needed(&bin)));
    assert_eq!(r["deps"], serde_json::json!(["ca_root_nss"]));
    for k in [
        "scripts",
        "users",
        "groups",
        "messages",
        "directories",
        "shlibs_provided",
    ] {
        assert!(m.get(k).is_none(), "a tool has no {k}: {raw}");
    }
    let db = &m["files"]["/usr/local/share/hello/hello.db"];
    assert_eq!(
        (
            db["uname"].as_str(),
            db["gname"].as_str(),
            db["perm"].as_str()
        ),
        (Some("root"), Some("www"), Some("0640"))
    );
    assert_eq!(
        m["files"]["/usr/local/share/doc/hello/README.md"]["perm"],
        "0644"
    );
    assert_eq!(m["files"]["/usr/local/bin/hello"]["perm"], "0755");
    assert_eq!(
        m["flatsize"].as_u64(),
        Some(std::fs::metadata(&bin).unwrap().len() + 8 + 4)
    );
    // The compact manifest (what a repository's catalog carries) has the
    // deps and shlibs too.
    let compact: serde_json::Value = serde_json::from_slice(&all[0].2).unwrap();
    assert_eq!(compact["deps"], m["deps"]);
    assert_eq!(compact["shlibs_required"], m["shlibs_required"]);
    let i = bsdx()
        .args(["package", "--json", "--inspect"])
        .arg_path(&pkg)
        .run()
        .success()
        .json();
    assert_eq!(i["problems"], serde_json::json!([]), "{i:#}");
    assert_eq!(i["verified"], 3);
    let text = bsdx()
        .args(["package", "--inspect"])
        .arg_path(&pkg)
        .run()
        .success()
        .stdout();
    assert!(
        text.contains("  deps: ca_root_nss (security/ca_root_nss 3.108)\n")
            && text.contains("  shlibs_required: libc.so.7"),
        "{text}"
    );

    // The version is Cargo's: bump it, package the same binary again.
    std::fs::write(proj.join("Cargo.toml"), TOOL.replace("0.3.0", "0.3.1")).unwrap();
    let r = package(&proj, &bin, &out, &[]).success().json();
    assert_eq!(r["version"], "0.3.1");
    assert_eq!(files_in(&out), ["hello-0.3.0.pkg", "hello-0.3.1.pkg"]);
    let m: serde_json::Value =
        serde_json::from_slice(&members(&out.join("hello-0.3.1.pkg"))[1].2).unwrap();
    assert_eq!(m["version"], "0.3.1");

    // A binary that is not one of the crate's: refused, nothing written.
    let other = tmp.path().join("other");
    std::fs::copy(&bin, &other).unwrap();
    let out2 = tmp.path().join("out2");
    package(&proj, &other, &out2, &[])
        .failure(1)
        .stderr_has("is not one of the crate's binaries (hello)")
        .stderr_has("fix:");
    assert_eq!(files_in(&out2), Vec::<String>::new());
}

#[test]
fn bad_package_declarations_are_refused_naming_the_key_and_the_fix() {
    let tmp = tempfile::tempdir().unwrap();
    let bin = fixture();
    let out = tmp.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    let cases: &[(&str, String, &str)] = &[
        (
            "assets-type",
            "[package]\nname = \"hello\"\nversion = \"0.3.0\"\n\n[package.metadata.bsdx.package]\nassets = \"README.md\"\n".into(),
            "`assets`: is a string, not an array of entries",
        ),
        (
            "relative-dest",
            TOOL.replace("\"/usr/local/share/doc/hello/\"", "\"share/doc/\""),
            "`assets[0]`: dest `share/doc/README.md` must be an absolute path",
        ),
        (
            "mode",
            TOOL.replace("\"644\"]", "\"rw-r--r--\"]"),
            "`assets[0]`: mode `rw-r--r--` is not an octal file mode",
        ),
        (
            "missing-source",
            TOOL.replace("\"README.md\", \"/usr", "\"MISSING.md\", \"/usr"),
            "`assets[0]`: cannot read source MISSING.md",
        ),
        (
            "collision",
            TOOL.replace("/usr/local/share/hello/hello.db", "/usr/local/bin/hello"),
            "`assets[1]`: dest /usr/local/bin/hello is a file bsdx already puts in the package",
        ),
        (
            "dep-origin",
            TOOL.replace("origin = \"security/ca_root_nss\", ", ""),
            "`deps.ca_root_nss`: origin `` is not a port's origin",
        ),
        (
            "dep-shorthand",
            TOOL.replace(
                "{ origin = \"security/ca_root_nss\", version = \"3.108\" }",
                "\"security/ca_root_nss\"",
            ),
            "`deps.ca_root_nss`: is a string",
        ),
        (
            "unknown-key",
            TOOL.replace("deps = ", "dependencies = "),
            "`dependencies`: unknown field `dependencies`",
        ),
    ];
    for (slot, toml, needle) in cases {
        let proj = tool_project(&tmp.path().join(slot), toml);
        let run = package(&proj, &bin, &out, &[]).failure(1);
        let err = run.stderr();
        assert!(
            err.contains("[package.metadata.bsdx.package] in ") && err.contains(needle),
            "{slot}: {err}"
        );
        assert!(err.contains("\n  fix: "), "{slot}: {err}");
        assert_eq!(
            files_in(&out),
            Vec::<String>::new(),
            "{slot} wrote something"
        );
    }
}

/// `bsdx new t --template sysinfo` declares no service: it packages as a
/// tool, its binary `t` in /usr/local/bin (the fixture stands in for the
/// real cross build, which the full tier runs above).
#[test]
fn the_sysinfo_template_packages_as_a_tool() {
    let tmp = tempfile::tempdir().unwrap();
    let dest = tmp.path().join("t");
    bsdx()
        .args(["new", "t", "--template", "sysinfo", "--path"])
        .arg_path(&dest)
        .run()
        .success();
    let bin = tmp.path().join("bin/t");
    std::fs::create_dir_all(bin.parent().unwrap()).unwrap();
    std::fs::copy(fixture(), &bin).unwrap();
    let out = tmp.path().join("out");
    let r = package(&dest, &bin, &out, &[]).success().json();
    assert_eq!(r["name"], "t");
    assert_eq!(r["version"], "0.1.0");
    let paths: Vec<&str> = r["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["/usr/local/bin/t"]);
    assert_eq!(r["files"][0]["mode"], "0755");
    assert_eq!(files_in(&out), ["t-0.1.0.pkg"]);
}
