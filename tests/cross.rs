//! Real cross builds for x86_64-unknown-freebsd, read back with goblin, and
//! `bsdx repro` proving them bit-for-bit reproducible. These are the full
//! tier: `cargo test --locked -- --ignored` (`.ci/run` runs it).
//!
//! Every build shares one work dir W (`<shared>/repro-work`): `bsdx repro`
//! builds its two copies in `W/a/<name>` and `W/bb/<name>` with the target
//! dirs `W/a/target` and `W/bb/target`, and the other stub builds use
//! `W/a/target` too. With std built from source bsdx keeps project and
//! target paths out of RUSTFLAGS (cargo's trim-paths remaps them), so std
//! is compiled once per target dir, not once per project: W/a, W/bb and
//! the sysroot build's own dir (its `-L` differs). Each build prints the
//! `Compiling std` lines cargo showed, prefixed `[label]`, for `.ci/run`
//! to count.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::*;

/// The work dir every cross build shares.
fn work() -> PathBuf {
    shared_dir(REPRO_WORK)
}

/// The target dir of `bsdx repro`'s first build, shared by the stub builds.
fn a_target() -> PathBuf {
    stub_target_dir()
}

/// The release profile both templates ship. Under `-Zbuild-std` std is
/// compiled with the project's profile (LTO decides whether its objects
/// carry bitcode), so the fixtures written here use the same one and share
/// the templates' std in `W/a` and `W/bb` instead of compiling their own.
const TEMPLATE_PROFILE: &str = "[profile.release]\nstrip = true\nlto = \"thin\"\n";

/// A `Cargo.toml` for a fixture project: its own workspace, the templates'
/// release profile, and `extra` package keys.
fn fixture_manifest(name: &str, extra: &str) -> String {
    format!(
        "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n{extra}[workspace]\n{TEMPLATE_PROFILE}"
    )
}

/// Print what cargo compiled (for `--nocapture` and `.ci/run`'s std count).
pub fn log_compiles(label: &str, run: &Run) -> usize {
    let err = run.stderr();
    let compiled: Vec<&str> = err
        .lines()
        .map(str::trim_start)
        .filter(|l| l.starts_with("Compiling "))
        .collect();
    for l in compiled.iter().filter(|l| l.starts_with("Compiling std v")) {
        println!("[{label}] {l}");
    }
    println!("[{label}] {} crate(s) compiled", compiled.len());
    compiled.len()
}

fn cross_build(label: &str, project: &Path, target_dir: &Path, extra: &[&str]) -> Run {
    let run = bsdx()
        .args(["build"])
        .args(extra)
        .dir(project)
        .env("CARGO_TARGET_DIR", target_dir)
        .run();
    log_compiles(label, &run);
    run
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

/// `bsdx new NAME --template T` at `<shared>/src/NAME`, recreated.
fn new_project(template: &str, name: &str) -> PathBuf {
    let dest = shared_dir("src").join(name);
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

/// A project written by the test at `<shared>/src/NAME`.
fn own_project(name: &str) -> PathBuf {
    let dir = shared_dir("src").join(name);
    std::fs::create_dir_all(dir.join("src")).unwrap();
    dir
}

fn repro(label: &str, project: &Path, extra: &[&str]) -> Run {
    let run = bsdx()
        .args(["repro", "--json", "--work-dir"])
        .arg_path(&work())
        .args(extra)
        .arg_path(project)
        .run();
    log_compiles(label, &run);
    run
}

/// `bsdx build` in repro's first copy, right after repro built it there
/// with the same flags and target dir: cargo has nothing to compile.
#[track_caller]
fn rebuild_of_repro_copy(label: &str, name: &str, extra: &[&str]) -> PathBuf {
    let run = cross_build(label, &work().join("a").join(name), &a_target(), extra).success();
    let compiled: Vec<String> = run
        .stderr()
        .lines()
        .filter(|l| l.trim_start().starts_with("Compiling "))
        .map(str::to_string)
        .collect();
    assert!(
        compiled.is_empty(),
        "bsdx build after bsdx repro in the same copy recompiled {compiled:#?}"
    );
    built_binary(&run)
}

#[test]
#[ignore = "real cross build (full tier): cargo test --locked -- --ignored"]
fn sysinfo_example_cross_builds_with_stubs_reproducibly() {
    let dir = new_project("sysinfo", "sysinfo-probe");
    let r = repro("sysinfo repro", &dir, &["--stubs"]).success().json();
    assert_eq!(r["identical"], true, "{r:#}");
    let bin = rebuild_of_repro_copy("sysinfo build", "sysinfo-probe", &["--stubs"]);
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
    let w = work().display().to_string();
    for leak in [
        "/root/",
        "/home/",
        "/tmp/",
        "/usr/lib/rustlib",
        ".cargo/registry",
        "repro-work",
        &w,
    ] {
        assert!(
            !text.contains(leak),
            "the binary embeds the build-machine path fragment {leak}"
        );
    }
}

#[test]
#[ignore = "real cross build (full tier): cargo test --locked -- --ignored"]
fn sysinfo_example_cross_builds_against_a_base_txz_layout() {
    // A stable sysroot path keeps the -L flag, and so std, the same across
    // runs; its own target dir keeps W/a/target's std (other -L) intact.
    let root = shared_dir("sysroot-base");
    std::fs::remove_dir_all(&root).unwrap();
    let base = crate::env::fake_base(&root, &[]);
    let dir = new_project("sysinfo", "sysroot-probe");
    let run = cross_build(
        "sysroot build",
        &dir,
        &shared_dir("target-sysroot"),
        &["--sysroot", base.to_str().unwrap()],
    )
    .success();
    let needed = assert_freebsd_executable(&built_binary(&run), "14.4");
    assert!(needed.iter().any(|n| n == "libprocstat.so.1"), "{needed:?}");
}

#[test]
#[ignore = "real cross build (full tier): cargo test --locked -- --ignored"]
fn a_symbol_the_real_library_lacks_fails_at_link_time() {
    let dir = own_project("missing-symbol");
    std::fs::write(
        dir.join("Cargo.toml"),
        fixture_manifest("missing-symbol", ""),
    )
    .unwrap();
    let main = |sym: &str| {
        format!("#[link(name = \"kvm\")]\nunsafe extern \"C\" {{ fn {sym}() -> i32; }}\nfn main() {{ println!(\"{{}}\", unsafe {{ {sym}() }}); }}\n")
    };
    let target = a_target();
    std::fs::write(dir.join("src/main.rs"), main("kvm_no_such_function")).unwrap();
    cross_build("missing-symbol build 1", &dir, &target, &["--stubs"])
        .failure(101)
        .stderr_has("kvm_no_such_function");
    // The same program calling a function libkvm.so.7 really exports links.
    std::fs::write(dir.join("src/main.rs"), main("kvm_nlist")).unwrap();
    let run = cross_build("missing-symbol build 2", &dir, &target, &["--stubs"]).success();
    let needed = assert_freebsd_executable(&built_binary(&run), "14.4");
    assert!(needed.iter().any(|n| n == "libkvm.so.7"), "{needed:?}");
}

/// Files named `name` anywhere under `dir`.
fn files_named(dir: &Path, name: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                todo.push(p);
            } else if e.file_name() == name {
                found.push(p);
            }
        }
    }
    found
}

#[test]
#[ignore = "real cross build (full tier): cargo test --locked -- --ignored"]
fn a_cold_zig_cache_is_warmed_with_the_runtimes_the_link_uses() {
    let dir = own_project("warm-link");
    std::fs::write(dir.join("Cargo.toml"), fixture_manifest("warm-link", "")).unwrap();
    std::fs::write(
        dir.join("src/main.rs"),
        "fn main() { println!(\"warm\"); }\n",
    )
    .unwrap();
    let fresh = |name: &str| {
        let d = shared_dir(name);
        std::fs::remove_dir_all(&d).unwrap();
        d
    };
    let build = |zig_cache: &Path, warmup: bool| {
        // A new main.rs each time: cargo relinks, Zig's cache decides the rest.
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap();
        std::fs::write(
            dir.join("src/main.rs"),
            format!("fn main() {{ println!(\"warm {}\"); }}\n", stamp.as_nanos()),
        )
        .unwrap();
        let mut b = bsdx()
            .args(["build", "--stubs"])
            .dir(&dir)
            .env("CARGO_TARGET_DIR", a_target())
            .env("ZIG_GLOBAL_CACHE_DIR", zig_cache);
        if !warmup {
            b = b.env("BSDX_NO_WARMUP", "1");
        }
        let run = b.run();
        log_compiles("warm-link", &run);
        assert_freebsd_executable(&built_binary(&run.success()), "14.4");
    };
    let runtimes = |zig_cache: &Path| -> Vec<PathBuf> {
        let mut found: Vec<PathBuf> = ["libcompiler_rt.a", "libubsan_rt.a", "libunwind.a"]
            .iter()
            .flat_map(|n| files_named(zig_cache, n))
            .collect();
        found.sort();
        found
    };

    // The warm-up's two commands, run to the end in a cold cache, as bsdx
    // runs them (cargo-zigbuild's `zig cc`, the environment `bsdx env` gives)...
    let cache = fresh("zig-cold-cache");
    let env = bsdx()
        .args(["env", "--json", "--stubs"])
        .dir(&dir)
        .run()
        .success()
        .json();
    let scratch = tempfile::tempdir().unwrap();
    std::fs::write(
        scratch.path().join("warmup.c"),
        "int main(void) { return 0; }\n",
    )
    .unwrap();
    let target = bsdx::model::target::Target::parse("x86_64-unknown-freebsd").unwrap();
    for args in bsdx::warmup::commands(&target, scratch.path()) {
        let mut c = Command::new("cargo-zigbuild");
        c.args(&args).env("ZIG_GLOBAL_CACHE_DIR", &cache);
        for v in env["vars"].as_array().unwrap() {
            c.env(v["name"].as_str().unwrap(), v["value"].as_str().unwrap());
        }
        run_ok(c, "warm-up");
    }
    let warmed = runtimes(&cache);
    assert!(
        !warmed.is_empty(),
        "the warm-up built no runtime in {}",
        cache.display()
    );
    // ...are exactly the runtimes the real link then uses: it builds none.
    build(&cache, false);
    assert_eq!(
        runtimes(&cache),
        warmed,
        "the link built runtimes the warm-up did not"
    );

    // And `bsdx build` runs the warm-up (its object lands in the cache).
    let cache = fresh("zig-cold-cache");
    build(&cache, true);
    assert!(
        !files_named(&cache, "warmup.o").is_empty(),
        "no warm-up object in {}: bsdx build did not warm Zig's cache",
        cache.display()
    );
}

#[test]
#[ignore = "real cross build (full tier): cargo test --locked -- --ignored"]
fn bot_template_cross_builds_with_zero_extra_flags_reproducibly() {
    let dir = new_project("bot", "freebsd-bot");
    let r = repro("bot repro", &dir, &[]).success().json();
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
    let bin = rebuild_of_repro_copy("bot build", "freebsd-bot", &[]);
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
#[ignore = "real cross build (full tier): cargo test --locked -- --ignored"]
fn a_non_reproducible_project_is_explained() {
    let dir = own_project("nonrepro");
    std::fs::write(
        dir.join("Cargo.toml"),
        fixture_manifest("nonrepro", "build = \"build.rs\"\n"),
    )
    .unwrap();
    std::fs::write(dir.join("build.rs"), "fn main() { println!(\"cargo:rustc-env=BUILT_IN={}\", std::env::var(\"CARGO_MANIFEST_DIR\").unwrap()); }\n").unwrap();
    std::fs::write(
        dir.join("src/main.rs"),
        "fn main() { println!(\"built in {}\", env!(\"BUILT_IN\")); }\n",
    )
    .unwrap();
    let run = repro("nonrepro repro", &dir, &["--stubs"]).failure(1);
    let r = run.json();
    assert_eq!(r["identical"], false);
    let d = &r["binaries"][0]["diff"];
    let first: Vec<&str> = d["only_in_first"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    // The first copy's absolute path, as its build script saw it.
    let copy = std::fs::canonicalize(work()).unwrap().join("a/nonrepro");
    let copy = copy.to_str().unwrap();
    assert!(
        first.iter().any(|s| s.contains(copy)),
        "{copy} in {first:?}"
    );
    assert!(
        d["sections"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["name"] == ".rodata"),
        "{d:#}"
    );
    let run = bsdx()
        .args(["repro", "--stubs", "--work-dir"])
        .arg_path(&work())
        .arg_path(&dir)
        .run();
    log_compiles("nonrepro repro (text)", &run);
    let text = run.failure(1).stdout();
    assert!(
        text.contains("NOT reproducible")
            && text.contains("section .rodata")
            && text.contains("only in build 2:"),
        "{text}"
    );
}

#[test]
#[ignore = "real cross build (full tier): cargo test --locked -- --ignored"]
fn bot_template_passes_its_own_tests_natively() {
    let dir = new_project("bot", "native-bot");
    // The cargo running these tests builds for the host; the developer's
    // flags and toolchain overrides are scrubbed as for bsdx.
    let mut cargo =
        std::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    scrub(&mut cargo, std::env::vars_os());
    let out = cargo
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

/// arm64 end to end (std for the tier-3 target built from rust-src): the
/// sysinfo template built twice by `bsdx repro` (identical), then as `bsdx
/// build` (nothing recompiled): an AArch64 PIE for FreeBSD with
/// `/libexec/ld-elf.so.1`, branded, the ABI note, base sonames only, and
/// `bsdx check` passing it against the arm64 data; then `bsdx package` of it
/// as a tool, whose manifest says `FreeBSD:14:aarch64` and pkg's legacy
/// `freebsd:14:aarch64:64` (`libpkg/private/elf_tables.h`,
/// machine_arch_translation).
#[test]
#[ignore = "real cross build (full tier): cargo test --locked -- --ignored"]
fn sysinfo_template_builds_checks_and_packages_for_arm64() {
    const ARM: &[&str] = &["--stubs", "--target", "aarch64-unknown-freebsd"];
    let dir = new_project("sysinfo", "sysinfo-arm64");
    let r = repro("arm64 repro", &dir, ARM).success().json();
    assert_eq!(r["identical"], true, "{r:#}");
    let bin = rebuild_of_repro_copy("arm64 build", "sysinfo-arm64", ARM);
    assert!(
        bin.ends_with("aarch64-unknown-freebsd/release/sysinfo-arm64"),
        "{}",
        bin.display()
    );
    assert_eq!(
        r["binaries"][0]["sha256"][0].as_str().unwrap(),
        sha256_of(&bin)
    );
    let needed = assert_freebsd_executable_for(&bin, "14.4", goblin::elf::header::EM_AARCH64);
    for lib in ["libkvm.so.7", "libprocstat.so.1", "libc.so.7"] {
        assert!(needed.iter().any(|n| n == lib), "{lib} not in {needed:?}");
    }
    let check = bsdx()
        .args(["check", "--json"])
        .arg_path(&bin)
        .run()
        .success()
        .json();
    assert_eq!(check["files"][0]["machine"], "aarch64", "{check:#}");
    // A tool (no service declared) packaged from the binary.
    let out = shared_dir("arm64-pkg");
    let _ = std::fs::remove_dir_all(&out);
    let p = bsdx()
        .args([
            "package",
            "--json",
            "--target",
            "aarch64-unknown-freebsd",
            "--from-binary",
        ])
        .arg_path(&bin)
        .args(["--out"])
        .arg_path(&out)
        .arg_path(&dir)
        .run()
        .success()
        .json();
    let pkg = out.join("sysinfo-arm64-0.1.0.pkg");
    assert!(pkg.is_file(), "{p:#}");
    let i = bsdx()
        .args(["package", "--json", "--inspect"])
        .arg_path(&pkg)
        .run()
        .success()
        .json();
    assert_eq!(i["abi"], "FreeBSD:14:aarch64", "{i:#}");
    assert_eq!(i["arch"], "freebsd:14:aarch64:64", "{i:#}");
    assert_eq!(i["manifest"]["abi"], "FreeBSD:14:aarch64", "{i:#}");
}
