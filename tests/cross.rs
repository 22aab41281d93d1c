//! Real cross builds for x86_64-unknown-freebsd, read back with goblin.

use std::path::{Path, PathBuf};

use crate::support::*;

fn cross_build(project: &Path, extra: &[&str]) -> Run {
    bsdx().args(["build"]).args(extra).dir(project).env("CARGO_TARGET_DIR", shared_dir("target")).run()
}

fn built_binary(run: &Run) -> PathBuf {
    let out = run.stdout();
    let path = PathBuf::from(out.lines().last().expect("bsdx build prints the binary path").trim());
    assert!(path.is_file(), "{} does not exist", path.display());
    path
}

fn new_project(template: &str, name: &str) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dest = tmp.path().join(name);
    bsdx().args(["new", name, "--template", template, "--path"]).arg_path(&dest).run().success();
    (tmp, dest)
}

#[test]
fn sysinfo_example_cross_builds_with_stubs() {
    let (_tmp, dir) = new_project("sysinfo", "sysinfo-probe");
    let run = cross_build(&dir, &["--stubs"]).success();
    let bin = built_binary(&run);
    assert!(bin.ends_with("x86_64-unknown-freebsd/release/sysinfo-probe"), "{}", bin.display());
    let needed = assert_freebsd_executable(&bin, "14.4");
    for lib in ["libkvm.so.7", "libprocstat.so.1", "libc.so.7"] {
        assert!(needed.iter().any(|n| n == lib), "{lib} not in {needed:?}");
    }
}

#[test]
fn sysinfo_example_cross_builds_against_a_base_txz_layout() {
    let tmp = tempfile::tempdir().unwrap();
    let base = crate::env::fake_base(tmp.path(), &[]);
    let (_p, dir) = new_project("sysinfo", "sysroot-probe");
    let run = cross_build(&dir, &["--sysroot", base.to_str().unwrap()]).success();
    let needed = assert_freebsd_executable(&built_binary(&run), "14.4");
    assert!(needed.iter().any(|n| n == "libprocstat.so.1"), "{needed:?}");
}

#[test]
fn a_symbol_the_real_library_lacks_fails_at_link_time() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("missing-symbol");
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(dir.join("Cargo.toml"), "[package]\nname = \"missing-symbol\"\nversion = \"0.1.0\"\nedition = \"2021\"\n[workspace]\n").unwrap();
    let main = |sym: &str| format!("#[link(name = \"kvm\")]\nunsafe extern \"C\" {{ fn {sym}() -> i32; }}\nfn main() {{ println!(\"{{}}\", unsafe {{ {sym}() }}); }}\n");
    std::fs::write(dir.join("src/main.rs"), main("kvm_no_such_function")).unwrap();
    cross_build(&dir, &["--stubs"]).failure(1).stderr_has("kvm_no_such_function");
    // The same program calling a function libkvm.so.7 really exports links.
    std::fs::write(dir.join("src/main.rs"), main("kvm_nlist")).unwrap();
    let run = cross_build(&dir, &["--stubs"]).success();
    let needed = assert_freebsd_executable(&built_binary(&run), "14.4");
    assert!(needed.iter().any(|n| n == "libkvm.so.7"), "{needed:?}");
}

#[test]
fn bot_template_cross_builds_with_zero_extra_flags() {
    let (_tmp, dir) = new_project("bot", "freebsd-bot");
    let run = cross_build(&dir, &[]).success();
    let bin = built_binary(&run);
    assert!(bin.ends_with("x86_64-unknown-freebsd/release/freebsd-bot"), "{}", bin.display());
    let needed = assert_freebsd_executable(&bin, "14.4");
    for lib in ["libkvm.so.7", "libprocstat.so.1", "libthr.so.3", "libc.so.7"] {
        assert!(needed.iter().any(|n| n == lib), "{lib} not in {needed:?}");
    }
}

#[test]
fn bot_template_passes_its_own_tests_natively() {
    let (_tmp, dir) = new_project("bot", "native-bot");
    let out = std::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["test", "--locked"])
        .current_dir(&dir)
        .env("CARGO_TARGET_DIR", shared_dir("native"))
        .output()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{text}");
    assert!(text.contains("test result: ok"), "{text}");
}
