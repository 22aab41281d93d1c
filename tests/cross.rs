//! Real cross builds for x86_64-unknown-freebsd, read back with goblin, and
//! `bsdx repro` proving them bit-for-bit reproducible.
//!
//! Projects are created fresh at stable paths under the shared test dir:
//! bsdx remaps the project and target paths in RUSTFLAGS, so a stable path
//! keeps cargo's cache of the dependencies valid between runs.

use std::path::{Path, PathBuf};

use crate::support::*;

fn cross_build(project: &Path, target_dir: &Path, extra: &[&str]) -> Run {
    bsdx()
        .args(["build"])
        .args(extra)
        .dir(project)
        .env("CARGO_TARGET_DIR", target_dir)
        .run()
}

fn built_binary(run: &Run) -> PathBuf {
    let out = run.stdout();
    let path = PathBuf::from(
        out.lines()
            .last()
            .expect("bsdx build prints the binary path")
            .trim(),
    );
    assert!(path.is_file(), "{} does not exist", path.display());
    path
}

/// `bsdx new NAME --template T` at `<shared>/<slot>/NAME`, recreated.
fn new_project(slot: &str, template: &str, name: &str) -> PathBuf {
    let dest = shared_dir(slot).join(name);
    if dest.exists() {
        std::fs::remove_dir_all(&dest).unwrap();
    }
    bsdx()
        .args(["new", name, "--template", template, "--path"])
        .arg_path(&dest)
        .run()
        .success();
    dest
}

fn repro(project: &Path, work: &str, extra: &[&str]) -> Run {
    bsdx()
        .args(["repro", "--json", "--work-dir"])
        .arg_path(&shared_dir(work))
        .args(extra)
        .arg_path(project)
        .run()
}

#[test]
fn sysinfo_example_cross_builds_with_stubs_reproducibly() {
    let dir = new_project("src-sysinfo", "sysinfo", "sysinfo-probe");
    let r = repro(&dir, "repro-sysinfo", &["--stubs"]).success().json();
    assert_eq!(r["identical"], true, "{r:#}");
    // `bsdx build` in the first copy: the same flags, so nothing rebuilds.
    let copy = shared_dir("repro-sysinfo").join("a/sysinfo-probe");
    let run = cross_build(
        &copy,
        &shared_dir("repro-sysinfo").join("a/target"),
        &["--stubs"],
    )
    .success();
    let bin = built_binary(&run);
    assert!(
        bin.ends_with("x86_64-unknown-freebsd/release/sysinfo-probe"),
        "{}",
        bin.display()
    );
    let sha = r["binaries"][0]["sha256"][0].as_str().unwrap().to_string();
    assert_eq!(
        sha,
        sha256_of(&bin),
        "bsdx build and bsdx repro produce the same bytes"
    );
    let needed = assert_freebsd_executable(&bin, "14.4");
    for lib in ["libkvm.so.7", "libprocstat.so.1", "libc.so.7"] {
        assert!(needed.iter().any(|n| n == lib), "{lib} not in {needed:?}");
    }
    let text = String::from_utf8_lossy(&std::fs::read(&bin).unwrap()).into_owned();
    for leak in [
        "/root/",
        "/home/",
        "/tmp/",
        "/usr/lib/rustlib",
        ".cargo/registry",
        "repro-sysinfo",
    ] {
        assert!(
            !text.contains(leak),
            "the binary embeds the build-machine path fragment {leak}"
        );
    }
}

#[test]
fn sysinfo_example_cross_builds_against_a_base_txz_layout() {
    let tmp = tempfile::tempdir().unwrap();
    let base = crate::env::fake_base(tmp.path(), &[]);
    let dir = new_project("src-sysroot", "sysinfo", "sysroot-probe");
    let run = cross_build(
        &dir,
        &shared_dir("target-sysroot"),
        &["--sysroot", base.to_str().unwrap()],
    )
    .success();
    let needed = assert_freebsd_executable(&built_binary(&run), "14.4");
    assert!(needed.iter().any(|n| n == "libprocstat.so.1"), "{needed:?}");
}

#[test]
fn a_symbol_the_real_library_lacks_fails_at_link_time() {
    let dir = shared_dir("src-missing-symbol").join("missing-symbol");
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(dir.join("Cargo.toml"), "[package]\nname = \"missing-symbol\"\nversion = \"0.1.0\"\nedition = \"2021\"\n[workspace]\n").unwrap();
    let main = |sym: &str| {
        format!("#[link(name = \"kvm\")]\nunsafe extern \"C\" {{ fn {sym}() -> i32; }}\nfn main() {{ println!(\"{{}}\", unsafe {{ {sym}() }}); }}\n")
    };
    let target = shared_dir("target-missing-symbol");
    std::fs::write(dir.join("src/main.rs"), main("kvm_no_such_function")).unwrap();
    cross_build(&dir, &target, &["--stubs"])
        .failure(1)
        .stderr_has("kvm_no_such_function");
    // The same program calling a function libkvm.so.7 really exports links.
    std::fs::write(dir.join("src/main.rs"), main("kvm_nlist")).unwrap();
    let run = cross_build(&dir, &target, &["--stubs"]).success();
    let needed = assert_freebsd_executable(&built_binary(&run), "14.4");
    assert!(needed.iter().any(|n| n == "libkvm.so.7"), "{needed:?}");
}

#[test]
fn bot_template_cross_builds_with_zero_extra_flags_reproducibly() {
    let dir = new_project("src-bot", "bot", "freebsd-bot");
    let r = repro(&dir, "repro-bot", &[]).success().json();
    assert_eq!(r["identical"], true, "{r:#}");
    // The bot declares a service: its .pkg (bsdx package) is compared too.
    assert!(
        r["binaries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|b| b["name"] == "freebsd-bot-0.1.0.pkg"),
        "{r:#}"
    );
    let copy = shared_dir("repro-bot").join("a/freebsd-bot");
    let run = cross_build(&copy, &shared_dir("repro-bot").join("a/target"), &[]).success();
    let bin = built_binary(&run);
    assert!(
        bin.ends_with("x86_64-unknown-freebsd/release/freebsd-bot"),
        "{}",
        bin.display()
    );
    assert_eq!(
        r["binaries"][0]["sha256"][0].as_str().unwrap(),
        sha256_of(&bin)
    );
    let needed = assert_freebsd_executable(&bin, "14.4");
    for lib in [
        "libkvm.so.7",
        "libprocstat.so.1",
        "libthr.so.3",
        "libc.so.7",
    ] {
        assert!(needed.iter().any(|n| n == lib), "{lib} not in {needed:?}");
    }
    println!("bot sha256 {}", r["binaries"][0]["sha256"][0]);
}

/// A build script that embeds its build directory: `bsdx repro` must say so.
#[test]
fn a_non_reproducible_project_is_explained() {
    let dir = shared_dir("src-nonrepro").join("nonrepro");
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(dir.join("Cargo.toml"), "[package]\nname = \"nonrepro\"\nversion = \"0.1.0\"\nedition = \"2021\"\nbuild = \"build.rs\"\n[workspace]\n").unwrap();
    std::fs::write(dir.join("build.rs"), "fn main() { println!(\"cargo:rustc-env=BUILT_IN={}\", std::env::var(\"CARGO_MANIFEST_DIR\").unwrap()); }\n").unwrap();
    std::fs::write(
        dir.join("src/main.rs"),
        "fn main() { println!(\"built in {}\", env!(\"BUILT_IN\")); }\n",
    )
    .unwrap();
    let run = repro(&dir, "repro-nonrepro", &["--stubs"]).failure(1);
    let r = run.json();
    assert_eq!(r["identical"], false);
    let d = &r["binaries"][0]["diff"];
    let first: Vec<&str> = d["only_in_first"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert!(
        first
            .iter()
            .any(|s| s.contains("repro-nonrepro/a/nonrepro")),
        "{first:?}"
    );
    assert!(
        d["sections"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["name"] == ".rodata"),
        "{d:#}"
    );
    let text = bsdx()
        .args(["repro", "--stubs", "--work-dir"])
        .arg_path(&shared_dir("repro-nonrepro"))
        .arg_path(&dir)
        .run()
        .failure(1)
        .stdout();
    assert!(
        text.contains("NOT reproducible")
            && text.contains("section .rodata")
            && text.contains("only in build 2:"),
        "{text}"
    );
}

#[test]
fn bot_template_passes_its_own_tests_natively() {
    let dir = new_project("src-native", "bot", "native-bot");
    let out = std::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["test", "--locked"])
        .current_dir(&dir)
        .env("CARGO_TARGET_DIR", shared_dir("native"))
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    assert!(text.contains("test result: ok"), "{text}");
}
