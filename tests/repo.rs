//! `bsdx repo`: a pkg(8) repository from real packages (`bsdx package` of
//! the zig-built FreeBSD fixture, two and three versions of a service),
//! read back with independent tools — bsdtar and zstd for the archives,
//! `openssl dgst` for the signature, the way pkg ≥ 1.20 checks it
//! (RSASSA-PKCS1-v1_5/SHA-256 over the catalog's SHA-256 hex string) — and
//! with `bsdx repo --verify`; reproducibility, the incremental cache,
//! tampering (package, catalog, wrong key), a failed build that must leave
//! the previous repository as it was, and bad input.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::package::{fixture, project};
use crate::support::*;

const MANIFEST: &str = r#"[package]
name = "hello-svc"
version = "VERSION"
description = "A hello service"
authors = ["Jo Example <jo@example.org>"]

[package.metadata.bsdx.service]
args = ["-c", "{config_dir}/hello.conf"]
config = [{ source = "conf/hello.conf.example", name = "hello.conf" }]
"#;

fn tool(name: &str) -> Command {
    let ok = Command::new(name).arg("version").output().is_ok()
        || Command::new(name).arg("--version").output().is_ok();
    assert!(
        ok,
        "{name} is not installed: the repo tests read repositories with bsdtar, zstd and openssl\n  fix: apt-get install libarchive-tools zstd openssl"
    );
    Command::new(name)
}

#[track_caller]
fn ok(mut c: Command) -> String {
    let o = c.output().unwrap();
    assert!(
        o.status.success(),
        "{c:?}: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// `hello-svc-VERSION.pkg` of the fixture, written into `out`.
fn package(tmp: &Path, version: &str, out: &Path) -> PathBuf {
    let proj = project(
        &tmp.join(format!("proj-{version}")),
        &MANIFEST.replace("VERSION", version),
    );
    let r = bsdx()
        .args(["package", "--json", "--from-binary"])
        .arg_path(&fixture())
        .args(["--out"])
        .arg_path(out)
        .arg_path(&proj)
        .run()
        .success()
        .json();
    PathBuf::from(r["path"].as_str().unwrap())
}

/// An RSA key as `openssl genrsa` writes it, and its public half.
fn keypair(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    let key = dir.join(format!("{name}.key"));
    let pubkey = dir.join(format!("{name}.pub"));
    ok({
        let mut c = tool("openssl");
        c.args(["genrsa", "-out"]).arg(&key).arg("2048");
        c
    });
    ok({
        let mut c = tool("openssl");
        c.args(["rsa", "-pubout", "-in"])
            .arg(&key)
            .arg("-out")
            .arg(&pubkey);
        c
    });
    (key, pubkey)
}

fn repo(dir: &Path, key: Option<&Path>) -> crate::support::Run {
    let mut b = bsdx().args(["repo", "--json"]).arg_path(dir);
    if let Some(k) = key {
        b = b.args(["--key"]).arg_path(k);
    }
    b.run()
}

fn verify(dir: &Path, pubkey: &Path) -> crate::support::Run {
    bsdx()
        .args(["repo", "--verify", "--json", "--pubkey"])
        .arg_path(pubkey)
        .arg_path(dir)
        .run()
}

/// The members of a catalog archive, extracted by bsdtar into `into`.
fn extract(archive: &Path, into: &Path) -> Vec<String> {
    std::fs::create_dir_all(into).unwrap();
    let listing = ok({
        let mut c = tool("bsdtar");
        c.arg("-tf").arg(archive);
        c
    });
    ok({
        let mut c = tool("bsdtar");
        c.arg("-xf").arg(archive).arg("-C").arg(into);
        c
    });
    listing.lines().map(str::to_string).collect()
}

/// Whether openssl accepts `signature` (the stored member, NUL-terminated)
/// over `content` with `pubkey`, as pkg's `ossl_verify_cert_cb` checks it:
/// PKCS#1 v1.5 with SHA-256 of the content's SHA-256 hex string.
fn openssl_verifies(tmp: &Path, content: &Path, signature: &Path, pubkey: &Path) -> bool {
    let hex = tmp.join("catalog.sha256hex");
    std::fs::write(&hex, sha256_of(content)).unwrap();
    let mut sig = std::fs::read(signature).unwrap();
    assert_eq!(sig.pop(), Some(0), "pkg stores the signature with a NUL");
    let raw = tmp.join("signature.raw");
    std::fs::write(&raw, &sig).unwrap();
    let o = tool("openssl")
        .args(["dgst", "-sha256", "-verify"])
        .arg(pubkey)
        .arg("-signature")
        .arg(&raw)
        .arg(&hex)
        .output()
        .unwrap();
    o.status.success() && String::from_utf8_lossy(&o.stdout).contains("Verified OK")
}

fn catalog_bytes(dir: &Path) -> Vec<Vec<u8>> {
    ["data.pkg", "packagesite.pkg", "meta.conf"]
        .iter()
        .map(|f| std::fs::read(dir.join(f)).unwrap())
        .collect()
}

fn leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".bsdx-repo-") && n != ".bsdx-repo-cache.json")
        .collect()
}

#[test]
fn a_signed_repository_of_two_versions_reads_back_with_bsdtar_zstd_and_openssl() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let dir = t.join("repo");
    let all = dir.join("All");
    let old = package(t, "1.0.0", &all);
    let new = package(t, "1.1.0", &all);
    let (key, pubkey) = keypair(t, "repo");

    let r = repo(&dir, Some(&key)).success().json();
    assert_eq!(r["signed"], true);
    assert_eq!(r["abi"], "FreeBSD:14:amd64");
    // The fixture needs nothing newer than 14.2 (see tests/package.rs).
    assert_eq!(r["requires_freebsd_version"], 1402000);
    assert_eq!(r["packages"][1]["freebsd_version"], 1402000);
    assert_eq!(r["written"], true);
    let pkgs = r["packages"].as_array().unwrap();
    assert_eq!(pkgs.len(), 2, "{r:#}");
    assert_eq!(pkgs[0]["path"], "All/hello-svc-1.0.0.pkg");
    assert_eq!(pkgs[0]["listed"], false, "the older version is not listed");
    assert_eq!(pkgs[1]["listed"], true);
    assert_eq!(pkgs[1]["sha256"], sha256_of(&new));
    // Both versions read back clean with bsdx's package reader.
    for p in [&old, &new] {
        let i = bsdx()
            .args(["package", "--json", "--inspect"])
            .arg_path(p)
            .run()
            .success()
            .json();
        assert_eq!(i["problems"], serde_json::json!([]), "{i:#}");
    }

    // The archives, as libarchive and zstd read them.
    for a in ["data.pkg", "packagesite.pkg"] {
        ok({
            let mut c = tool("zstd");
            c.args(["-t", "-q"]).arg(dir.join(a));
            c
        });
    }
    let x = t.join("x");
    let data_members = extract(&dir.join("data.pkg"), &x.join("data"));
    assert_eq!(data_members, ["signature", "data"]);
    let site_members = extract(&dir.join("packagesite.pkg"), &x.join("site"));
    assert_eq!(site_members, ["signature", "packagesite.yaml"]);
    let data = std::fs::read_to_string(x.join("data/data")).unwrap();
    assert!(
        !data.contains('\n'),
        "data is one line (pkg reads its first line)"
    );
    let data: serde_json::Value = serde_json::from_str(&data).unwrap();
    assert_eq!(data["groups"], serde_json::json!([]));
    assert_eq!(data["expired_packages"], serde_json::json!([]));
    let listed = data["packages"].as_array().unwrap();
    assert_eq!(listed.len(), 1);
    let p = &listed[0];
    assert_eq!(p["name"], "hello-svc");
    assert_eq!(p["version"], "1.1.0");
    assert_eq!(p["sum"], sha256_of(&new));
    assert_eq!(
        p["pkgsize"].as_u64(),
        Some(std::fs::metadata(&new).unwrap().len())
    );
    assert_eq!(p["path"], "All/hello-svc-1.1.0.pkg");
    assert_eq!(p["repopath"], "All/hello-svc-1.1.0.pkg");
    assert!(p.get("files").is_none() && p.get("scripts").is_none());
    // Everything else is the package's own +COMPACT_MANIFEST.
    let px = t.join("pkgx");
    extract(&new, &px);
    let compact: serde_json::Value =
        serde_json::from_slice(&std::fs::read(px.join("+COMPACT_MANIFEST")).unwrap()).unwrap();
    for (k, v) in compact.as_object().unwrap() {
        assert_eq!(&p[k], v, "{k}");
    }
    let site = std::fs::read_to_string(x.join("site/packagesite.yaml")).unwrap();
    assert_eq!(site.lines().count(), 1);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(site.trim()).unwrap(),
        *p
    );
    for f in ["data.pkg", "packagesite.pkg", "meta.conf"] {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.join(f)).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o644, "{f}: readable by a web server");
    }
    assert!(dir.join(".bsdx-repo-cache.json").is_file());
    let meta = std::fs::read_to_string(dir.join("meta.conf")).unwrap();
    assert!(meta.contains("version = 2;") && meta.contains("packing_format = \"tzst\";"));

    // The signatures, checked by openssl as pkg checks them.
    assert!(openssl_verifies(
        t,
        &x.join("data/data"),
        &x.join("data/signature"),
        &pubkey
    ));
    assert!(openssl_verifies(
        t,
        &x.join("site/packagesite.yaml"),
        &x.join("site/signature"),
        &pubkey
    ));
    let v = verify(&dir, &pubkey).success().json();
    assert_eq!(v["problems"], serde_json::json!([]), "{v:#}");
    assert_eq!(v["archives"][0]["signature_ok"], true);
    assert_eq!(v["archives"][1]["signature_ok"], true);
    assert_eq!(v["packages"][0]["ok"], true);

    // The host configuration carries the same public key.
    let conf = bsdx()
        .args([
            "repo",
            "--json",
            "--name",
            "fleet",
            "--print-conf",
            "https://pkg.example.org/fleet/${ABI}",
            "--key",
        ])
        .arg_path(&key)
        .run()
        .success()
        .json();
    assert_eq!(
        conf["pubkey"].as_str().unwrap(),
        std::fs::read_to_string(&pubkey).unwrap()
    );
    assert_eq!(conf["conf_path"], "/usr/local/etc/pkg/repos/fleet.conf");
    let c = conf["conf"].as_str().unwrap();
    assert!(
        c.contains("fleet: {")
            && c.contains("url: \"https://pkg.example.org/fleet/${ABI}\"")
            && c.contains("signature_type: \"pubkey\"")
            && c.contains("pubkey: \"/usr/local/etc/pkg/keys/fleet.pub\""),
        "{c}"
    );
    let script = bsdx()
        .args([
            "repo",
            "--name",
            "fleet",
            "--print-conf",
            "https://h/x",
            "--pubkey",
        ])
        .arg_path(&pubkey)
        .run()
        .success()
        .stdout();
    let sh = Command::new("sh")
        .args(["-n", "-c", &script])
        .status()
        .unwrap();
    assert!(sh.success(), "{script}");
    assert!(script.contains("pkg update -r fleet"), "{script}");

    // Reproducible: the same packages give the same bytes, in place (nothing
    // rewritten, all sums from the cache) and from scratch elsewhere.
    let before = catalog_bytes(&dir);
    let again = repo(&dir, Some(&key)).success().json();
    assert_eq!(again["written"], false);
    assert!(again["packages"]
        .as_array()
        .unwrap()
        .iter()
        .all(|p| p["cached"] == true));
    assert_eq!(catalog_bytes(&dir), before);
    let copy = t.join("copy");
    std::fs::create_dir_all(copy.join("All")).unwrap();
    for p in [&old, &new] {
        std::fs::copy(p, copy.join("All").join(p.file_name().unwrap())).unwrap();
    }
    let fresh = repo(&copy, Some(&key)).success().json();
    assert!(fresh["packages"]
        .as_array()
        .unwrap()
        .iter()
        .all(|p| p["cached"] == false));
    assert_eq!(catalog_bytes(&copy), before, "byte-identical when rebuilt");
    assert_eq!(fresh["catalog"], again["catalog"]);

    // Incremental: a new version is read, the others come from the cache.
    let newer = package(t, "1.2.0", &all);
    let inc = repo(&dir, Some(&key)).success().json();
    let by_path = |p: &str| {
        inc["packages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["path"] == p)
            .unwrap()
            .clone()
    };
    assert_eq!(by_path("All/hello-svc-1.0.0.pkg")["cached"], true);
    assert_eq!(by_path("All/hello-svc-1.1.0.pkg")["cached"], true);
    assert_eq!(by_path("All/hello-svc-1.2.0.pkg")["cached"], false);
    assert_eq!(by_path("All/hello-svc-1.2.0.pkg")["listed"], true);
    assert_eq!(by_path("All/hello-svc-1.1.0.pkg")["listed"], false);
    assert_eq!(
        by_path("All/hello-svc-1.2.0.pkg")["sha256"],
        sha256_of(&newer)
    );
    assert_ne!(catalog_bytes(&dir), before);
    verify(&dir, &pubkey).success();
    assert_eq!(leftovers(&dir), Vec::<String>::new());
}

#[test]
fn a_tampered_package_a_tampered_catalog_and_a_wrong_key_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let dir = t.join("repo");
    let pkg = package(t, "1.0.0", &dir);
    let (key, pubkey) = keypair(t, "good");
    let (_, other) = keypair(t, "other");
    repo(&dir, Some(&key)).success();
    verify(&dir, &pubkey).success();

    // A wrong key: every signature fails, for bsdx and for openssl.
    let v = verify(&dir, &other).failure(1).json();
    assert_eq!(v["archives"][0]["signature_ok"], false, "{v:#}");
    assert_eq!(v["archives"][1]["signature_ok"], false, "{v:#}");
    let x = t.join("x");
    extract(&dir.join("data.pkg"), &x);
    assert!(!openssl_verifies(
        t,
        &x.join("data"),
        &x.join("signature"),
        &other
    ));
    assert!(openssl_verifies(
        t,
        &x.join("data"),
        &x.join("signature"),
        &pubkey
    ));

    // A tampered package (same size, one byte changed): its sum no longer
    // matches the signed catalog.
    let good = std::fs::read(&pkg).unwrap();
    let mut bad = good.clone();
    let mid = bad.len() / 2;
    bad[mid] ^= 0xff;
    std::fs::write(&pkg, &bad).unwrap();
    let v = verify(&dir, &pubkey).failure(1).json();
    assert_eq!(v["packages"][0]["ok"], false);
    assert_eq!(
        v["archives"][0]["signature_ok"], true,
        "the catalog is intact"
    );
    let problems = v["problems"].to_string();
    assert!(
        problems.contains("failed checksum from repository"),
        "{v:#}"
    );
    // A tampered package of another size: pkg's size check.
    std::fs::write(&pkg, &good[..good.len() - 1]).unwrap();
    let v = verify(&dir, &pubkey).failure(1).json();
    assert!(v["problems"].to_string().contains("size mismatch"), "{v:#}");
    std::fs::write(&pkg, &good).unwrap();
    verify(&dir, &pubkey).success();

    // A tampered catalog: the sum in `data` edited to match a swapped
    // package, the old signature kept: the signature fails.
    let data = std::fs::read_to_string(x.join("data")).unwrap();
    let forged = data.replace(&sha256_of(&pkg), &"0".repeat(64));
    assert_ne!(forged, data);
    std::fs::write(x.join("data"), &forged).unwrap();
    let forged_archive = t.join("data.pkg");
    ok({
        let mut c = tool("bsdtar");
        c.arg("--zstd")
            .arg("-cf")
            .arg(&forged_archive)
            .arg("-C")
            .arg(&x)
            .args(["signature", "data"]);
        c
    });
    std::fs::copy(&forged_archive, dir.join("data.pkg")).unwrap();
    assert!(!openssl_verifies(
        t,
        &x.join("data"),
        &x.join("signature"),
        &pubkey
    ));
    let v = verify(&dir, &pubkey).failure(1).json();
    assert_eq!(v["archives"][0]["signature_ok"], false, "{v:#}");
    assert_eq!(v["archives"][1]["signature_ok"], true);
    assert!(
        v["problems"].to_string().contains("Invalid signature"),
        "{v:#}"
    );
    let text = bsdx()
        .args(["repo", "--verify", "--pubkey"])
        .arg_path(&pubkey)
        .arg_path(&dir)
        .run()
        .failure(1)
        .stdout();
    assert!(text.contains("SIGNATURE INVALID"), "{text}");

    // An unsigned catalog edited to describe the package differently: the
    // sum still matches, but the package's own manifest does not.
    repo(&dir, None).success();
    let u = t.join("u");
    extract(&dir.join("data.pkg"), &u);
    let data = std::fs::read_to_string(u.join("data")).unwrap();
    let edited = data.replace(
        "\"comment\":\"A hello service\"",
        "\"comment\":\"Trust me\"",
    );
    assert_ne!(edited, data);
    std::fs::write(u.join("data"), edited).unwrap();
    ok({
        let mut c = tool("bsdtar");
        c.arg("--zstd")
            .arg("-cf")
            .arg(dir.join("data.pkg"))
            .arg("-C")
            .arg(&u)
            .arg("data");
        c
    });
    let v = bsdx()
        .args(["repo", "--verify", "--json"])
        .arg_path(&dir)
        .run()
        .failure(1)
        .json();
    assert!(v["problems"].to_string().contains("comment"), "{v:#}");

    // An unsigned repository checked against a key: refused (pkg: "No
    // signature found in the repository").
    repo(&dir, None).success();
    let v = verify(&dir, &pubkey).failure(1).json();
    assert_eq!(v["archives"][0]["signed"], false);
    assert!(v["problems"].to_string().contains("no signature"), "{v:#}");
}

#[test]
fn a_failed_build_leaves_the_previous_repository_as_it_was() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let dir = t.join("repo");
    let pkg = package(t, "1.0.0", &dir);
    let (key, pubkey) = keypair(t, "k");
    repo(&dir, Some(&key)).success();
    let before = catalog_bytes(&dir);
    let good = std::fs::read(&pkg).unwrap();

    // A truncated package, a file that is no package, a package without a
    // manifest, among a good one: the build fails naming the file, nothing
    // of the previous repository changes, no temporary directory is left.
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "truncated-1.0.pkg",
            good[..good.len() / 2].to_vec(),
            "truncated or corrupt",
        ),
        ("text-1.0.pkg", b"hello\n".to_vec(), "not a pkg(8) package"),
        ("empty-1.0.pkg", Vec::new(), "not a pkg(8) package"),
    ];
    for (name, bytes, needle) in cases {
        let bad = dir.join(name);
        std::fs::write(&bad, bytes).unwrap();
        repo(&dir, Some(&key))
            .failure(3)
            .stderr_has(name)
            .stderr_has(needle)
            .stderr_has("fix:");
        assert_eq!(catalog_bytes(&dir), before, "{name}");
        assert_eq!(leftovers(&dir), Vec::<String>::new(), "{name}");
        std::fs::remove_file(&bad).unwrap();
    }
    // A tar without a manifest.
    let bare = t.join("bare");
    std::fs::create_dir_all(&bare).unwrap();
    std::fs::write(bare.join("f"), "x").unwrap();
    ok({
        let mut c = tool("bsdtar");
        c.arg("--zstd")
            .arg("-cf")
            .arg(dir.join("bare-1.0.pkg"))
            .arg("-C")
            .arg(&bare)
            .arg("f");
        c
    });
    repo(&dir, Some(&key))
        .failure(3)
        .stderr_has("neither +COMPACT_MANIFEST nor +MANIFEST");
    assert_eq!(catalog_bytes(&dir), before);
    std::fs::remove_file(dir.join("bare-1.0.pkg")).unwrap();
    verify(&dir, &pubkey).success();

    // A failure in the middle of moving the files into place (packagesite.pkg
    // replaced by a non-empty directory, which rename(2) cannot replace):
    // the error says so, the temporary directory is gone, and what was
    // already moved is whole and validly signed.
    std::fs::remove_file(dir.join("packagesite.pkg")).unwrap();
    std::fs::create_dir_all(dir.join("packagesite.pkg/x")).unwrap();
    repo(&dir, Some(&key))
        .failure(1)
        .stderr_has("cannot move the new packagesite.pkg");
    assert_eq!(leftovers(&dir), Vec::<String>::new());
    assert_eq!(std::fs::read(dir.join("data.pkg")).unwrap(), before[0]);
    std::fs::remove_dir_all(dir.join("packagesite.pkg")).unwrap();
    repo(&dir, Some(&key)).success();
    assert_eq!(catalog_bytes(&dir), before, "the same repository again");
    verify(&dir, &pubkey).success();
}

#[test]
fn bad_input_gets_a_clear_error_with_a_fix() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let (key, pubkey) = keypair(t, "k");
    bsdx()
        .args(["repo"])
        .arg_path(&t.join("absent"))
        .run()
        .failure(3)
        .stderr_has("is not a directory")
        .stderr_has("fix:");
    let empty = t.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    repo(&empty, None)
        .failure(1)
        .stderr_has("no .pkg files")
        .stderr_has("fix:");
    // Keys that cannot sign: a public key, an EC key, garbage, none at all.
    let ec = t.join("ec.pem");
    ok({
        let mut c = tool("openssl");
        c.args([
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
        ])
        .arg(&ec);
        c
    });
    let garbage = t.join("garbage.pem");
    std::fs::write(&garbage, "not a key\n").unwrap();
    for (k, needle) in [
        (&pubkey, "a public key"),
        (&ec, "not an RSA one"),
        (&garbage, "not a PEM RSA private key"),
        (&t.join("missing.pem"), "cannot read the signing key"),
    ] {
        repo(&empty, Some(k))
            .failure(3)
            .stderr_has(needle)
            .stderr_has("fix: create one with `openssl genrsa");
    }
    // A PKCS#1 key (`BEGIN RSA PRIVATE KEY`, OpenSSL 1.1's genrsa) signs too.
    let pkcs1 = t.join("pkcs1.pem");
    ok({
        let mut c = tool("openssl");
        c.args(["rsa", "-traditional", "-in"])
            .arg(&key)
            .arg("-out")
            .arg(&pkcs1);
        c
    });
    assert!(std::fs::read_to_string(&pkcs1)
        .unwrap()
        .contains("BEGIN RSA PRIVATE KEY"));
    let from_pkcs1 = bsdx()
        .args(["repo", "--json", "--print-conf", "https://h/r", "--key"])
        .arg_path(&pkcs1)
        .run()
        .success()
        .json();
    assert_eq!(
        from_pkcs1["pubkey"].as_str().unwrap(),
        std::fs::read_to_string(&pubkey).unwrap()
    );
    // --print-conf refuses what pkg cannot fetch, and says when unsigned.
    bsdx()
        .args(["repo", "--print-conf", "example.org/pkg"])
        .run()
        .failure(1)
        .stderr_has("fix:");
    bsdx()
        .args(["repo", "--name", "../x", "--print-conf", "https://h/r"])
        .run()
        .failure(1)
        .stderr_has("cannot name a repository");
    bsdx()
        .args(["repo", "--print-conf", "https://h/r"])
        .run()
        .success()
        .stderr_has("signature_type \"none\"")
        .stdout_has("signature_type: \"none\"");
    // Two files of the same name and version; packages for two ABIs.
    let dup = t.join("dup");
    let a = package(t, "1.0.0", &dup);
    std::fs::create_dir_all(dup.join("All")).unwrap();
    std::fs::copy(&a, dup.join("All/hello-svc-1.0.0.pkg")).unwrap();
    repo(&dup, None)
        .failure(1)
        .stderr_has("are both hello-svc 1.0.0")
        .stderr_has("fix:");
    let two = t.join("two");
    package(t, "1.0.0", &two);
    let proj = project(
        &t.join("proj-13"),
        &MANIFEST
            .replace("VERSION", "1.0.0")
            .replace("hello-svc", "hello-old"),
    );
    let bin13 = {
        let dir = t.join("bin13");
        std::fs::create_dir_all(&dir).unwrap();
        let env = bsdx()
            .args(["env", "--json", "--release", "13.5"])
            .run()
            .success()
            .json();
        let b = crate::check::cc(
            &dir,
            "hello",
            crate::check::HELLO,
            &[env["abi_tag"].as_str().unwrap()],
        );
        bsdx().args(["brand"]).arg_path(&b).run().success();
        b
    };
    bsdx()
        .args(["package", "--release", "13.5", "--from-binary"])
        .arg_path(&bin13)
        .args(["--out"])
        .arg_path(&two)
        .arg_path(&proj)
        .run()
        .success();
    repo(&two, None)
        .failure(1)
        .stderr_has("different ABIs")
        .stderr_has("FreeBSD:13:amd64")
        .stderr_has("fix: one repository directory per ABI");
}
