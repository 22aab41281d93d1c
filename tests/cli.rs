//! The CLI surface and the documentation that describes it: the README's
//! table of `bsdx check` codes is the code list.

use crate::support::*;

/// The README's table of codes lists exactly `Code::ALL`, spelled as
/// `--json` spells them (`Display` is serde's name: `findings::spelled_by_serde`).
#[test]
fn readme_table_lists_every_check_code() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let section = readme
        .split("## bsdx check")
        .nth(1)
        .expect("README has a bsdx check section");
    let listed: Vec<String> = section
        .lines()
        .skip_while(|l| !l.starts_with("| code |"))
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .flat_map(|row| {
            row.split('|')
                .nth(1)
                .unwrap_or("")
                .split(',')
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .map(|c| c.trim().trim_matches('`').to_string())
        .collect();
    let mut all: Vec<String> = bsdx::check::Code::ALL
        .iter()
        .map(|c| c.to_string())
        .collect();
    let mut sorted = listed.clone();
    sorted.sort();
    all.sort();
    assert_eq!(sorted, all, "README's code table vs bsdx::check::Code::ALL");
}

/// Every subcommand path (`["sysroot", "fetch"]`), hidden ones included.
fn subcommands() -> Vec<Vec<String>> {
    fn walk(cmd: &clap::Command, path: Vec<String>, out: &mut Vec<Vec<String>>) {
        out.push(path.clone());
        for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
            let mut p = path.clone();
            p.push(sub.get_name().to_string());
            walk(sub, p, out);
        }
    }
    let mut out = Vec::new();
    walk(
        &<bsdx::cli::Cli as clap::CommandFactory>::command(),
        vec![],
        &mut out,
    );
    out
}

/// `--help` of every command, as users see it (wrapped at 100 columns).
#[test]
fn every_help_text_is_snapshotted() {
    let paths = subcommands();
    assert!(paths.len() >= 14, "{paths:?}");
    for path in paths {
        let text = bsdx()
            .args(&path)
            .args(["--help"])
            .env("COLUMNS", "100")
            .run()
            .success()
            .stdout();
        let name = if path.is_empty() {
            "bsdx".to_string()
        } else {
            format!("bsdx-{}", path.join("-"))
        };
        insta::assert_snapshot!(format!("help-{name}"), text);
    }
    let top = bsdx().args(["--help"]).run().success().stdout();
    assert!(
        !top.contains("\n  abi "),
        "maintainer-only `abi` is hidden from the top-level help"
    );
}

/// The JSON Schema of every `--json` output, generated from the types bsdx
/// prints, is part of the interface: a change shows up here.
#[test]
fn every_json_schema_is_snapshotted() {
    let all = bsdx().args(["schema"]).run().success().json();
    let names: Vec<&String> = all.as_object().unwrap().keys().collect();
    assert!(names.len() >= 11, "{names:?}");
    for (name, schema) in all.as_object().unwrap() {
        let one = bsdx().args(["schema", name]).run().success().json();
        assert_eq!(&one, schema, "bsdx schema {name} and bsdx schema agree");
        insta::assert_json_snapshot!(format!("schema-{name}"), schema);
    }
}

/// Top-level keys of `value` are the schema's properties, and every
/// required one is there.
#[track_caller]
pub fn conforms(value: &serde_json::Value, schema: &serde_json::Value) {
    let props = schema["properties"].as_object().expect("an object schema");
    let obj = value
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {value}"));
    for k in obj.keys() {
        assert!(
            props.contains_key(k),
            "`{k}` is not in the schema: {value:#}"
        );
    }
    for r in schema["required"].as_array().into_iter().flatten() {
        assert!(
            obj.contains_key(r.as_str().unwrap()),
            "required `{r}` missing: {value:#}"
        );
    }
}

/// Real `--json` outputs have the shape their schema says.
#[test]
fn json_outputs_follow_their_schemas() {
    let schema = |n: &str| bsdx().args(["schema", n]).run().success().json();
    let tmp = tempfile::tempdir().unwrap();
    conforms(
        &bsdx().args(["env", "--json"]).run().success().json(),
        &schema("env"),
    );
    conforms(
        &bsdx()
            .args(["stubs", "--list", "--json"])
            .run()
            .success()
            .json(),
        &schema("stubs-list"),
    );
    let new = bsdx()
        .args(["new", "demo", "--template", "sysinfo", "--json", "--path"])
        .arg_path(&tmp.path().join("demo"))
        .run()
        .success()
        .json();
    conforms(&new, &schema("new"));
    let doctor = bsdx().args(["doctor", "--json"]).run().json();
    conforms(&doctor, &schema("doctor"));
    let text = tmp.path().join("demo/Cargo.toml");
    let check = bsdx()
        .args(["check", "--json"])
        .arg_path(&text)
        .run()
        .failure(3)
        .json();
    conforms(&check, &schema("check"));
    conforms(&check["files"][0], &schema("check")["$defs"]["FileReport"]);
}

/// A project given as PATH that is not there is refused with the fix.
#[test]
fn a_missing_project_path_is_refused_with_the_fix() {
    let tmp = tempfile::tempdir().unwrap();
    for cmd in ["build", "test"] {
        bsdx()
            .args([cmd, "--stubs"])
            .arg_path(&tmp.path().join("nope"))
            .run()
            .failure(1)
            .stderr_has("nope does not exist")
            .stderr_has("fix: give a Cargo project's directory as PATH");
    }
}

/// The VM's size and time limits are refused out of range, never clamped
/// behind the user's back.
#[test]
fn vm_limits_out_of_range_are_refused() {
    for (flag, value, named) in [
        ("--memory", "64", "128.."),
        ("--cpus", "0", "1..=64"),
        ("--cpus", "65", "1..=64"),
        ("--timeout", "0", "1.."),
    ] {
        for cmd in ["run", "test"] {
            let mut b = bsdx().args([cmd, flag, value]);
            if cmd == "run" {
                b = b.args(["prog"]);
            }
            b.run()
                .failure(2)
                .stderr_has(&format!("invalid value '{value}' for '{flag}"))
                .stderr_has(named);
        }
    }
}

/// One grammar: every --target has the --arch alias and BSDX_TARGET; every
/// --release refuses a value that is no release with a usage error naming
/// the known ones; every --out is a directory.
#[test]
fn one_grammar_for_every_command() {
    use clap::Parser;
    let mut releases = Vec::new();
    let mut targets = Vec::new();
    for path in subcommands() {
        let mut cmd = <bsdx::cli::Cli as clap::CommandFactory>::command();
        for name in &path {
            cmd = cmd.find_subcommand(name).unwrap().clone();
        }
        for a in cmd.get_arguments() {
            match a.get_id().as_str() {
                "target" => {
                    assert!(
                        a.get_all_aliases().unwrap_or_default().contains(&"arch"),
                        "{path:?}: --arch"
                    );
                    assert_eq!(
                        a.get_env(),
                        Some(std::ffi::OsStr::new("BSDX_TARGET")),
                        "{path:?}"
                    );
                    targets.push(path.join(" "));
                }
                "out" => assert_eq!(
                    a.get_value_names().map(|v| v[0].as_str()),
                    Some("DIR"),
                    "{path:?}: --out is a directory"
                ),
                "release" => {
                    let args = ["bsdx"]
                        .into_iter()
                        .chain(path.iter().map(String::as_str))
                        .chain(["--release", "nope"]);
                    let err = bsdx::cli::Cli::try_parse_from(args).unwrap_err();
                    use clap::error::ErrorKind;
                    assert!(
                        matches!(
                            err.kind(),
                            ErrorKind::InvalidValue | ErrorKind::ValueValidation
                        ),
                        "{path:?}: {err}"
                    );
                    assert_eq!(err.exit_code(), 2, "{path:?}: a usage error");
                    assert!(
                        err.to_string().contains("13.5, 14.2, 14.3, 14.4"),
                        "{path:?}: {err}"
                    );
                    releases.push(path.join(" "));
                }
                _ => {}
            }
        }
    }
    for c in [
        "run",
        "abi import",
        "sysroot fetch",
        "sysroot extract",
        "check",
    ] {
        assert!(releases.iter().any(|r| r == c), "{c}: {releases:?}");
        assert!(targets.iter().any(|r| r == c), "{c}: {targets:?}");
    }
}

/// `bsdx … | head`: a reader that goes away ends bsdx the way it ends any
/// Unix filter (SIGPIPE), not with a panic and a backtrace.
#[test]
fn a_closed_pipe_ends_bsdx_quietly() {
    use std::os::unix::process::ExitStatusExt;
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader); // every write now fails with EPIPE
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_bsdx"))
        .args(["env", "--json"])
        .env("RUST_BACKTRACE", "1")
        .stdout(writer)
        .stderr(std::process::Stdio::piped())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(
        out.status.signal(),
        Some(13),
        "SIGPIPE: {:?} {err}",
        out.status
    );
}

/// Started with its standard output closed (`>&-`), bsdx runs as usual and
/// what it prints lands in none of the files it writes. (bsdx's own entry
/// point, `src/main.rs`, opens `/dev/null` on a closed standard descriptor as
/// std's runtime would; no bsdx command is known to print while a file it
/// writes holds descriptor 1, so this guards the behaviour, not that line.)
#[test]
fn a_closed_stdout_is_not_reused() {
    let tmp = tempfile::tempdir().unwrap();
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(r#"exec 1>&-; exec "$0" new demo --path "$1""#)
        .arg(env!("CARGO_BIN_EXE_bsdx"))
        .arg(tmp.path().join("demo"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    let manifest = std::fs::read_to_string(tmp.path().join("demo/Cargo.toml")).unwrap();
    assert!(manifest.starts_with("[package]"), "{manifest}");
    for entry in walk(&tmp.path().join("demo")) {
        let text = std::fs::read(&entry).unwrap();
        assert!(
            !String::from_utf8_lossy(&text).contains("from template `"),
            "{}: bsdx's own output landed in a file it wrote",
            entry.display()
        );
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        if e.file_type().unwrap().is_dir() {
            files.extend(walk(&e.path()));
        } else {
            files.push(e.path());
        }
    }
    files
}

/// build.rs links the unwinder from libgcc_eh.a (`link_unwinder_statically`),
/// so no start of bsdx opens, maps and relocates libgcc_s.so.1 (a tenth of
/// `bsdx check`'s wall time, benches/check.sh). This test binary is linked
/// the same way (it links the bsdx library, which carries the archive), so
/// it also shows the linked-in unwinder at work: a panic unwinds through
/// frames (their drops run) to `catch_unwind`, and a backtrace walks them.
#[test]
fn bsdx_starts_without_libgcc_s_and_still_unwinds() {
    let needs_gcc_s = |path: &std::path::Path| {
        needed_libraries(path)
            .iter()
            .any(|l| l.starts_with("libgcc_s"))
    };
    let exe = std::env::current_exe().unwrap();
    let bsdx = std::path::Path::new(env!("CARGO_BIN_EXE_bsdx"));
    match env!("BSDX_UNWINDER") {
        "libgcc_eh.a" => {
            assert!(!needs_gcc_s(bsdx), "bsdx still needs libgcc_s");
            assert!(!needs_gcc_s(&exe), "this test binary still needs libgcc_s");
        }
        other => {
            eprintln!("skipped the DT_NEEDED half: unwinder {other} (no libgcc_eh.a at build time)")
        }
    }

    struct Dropped<'a>(&'a std::cell::Cell<u32>);
    impl Drop for Dropped<'_> {
        fn drop(&mut self) {
            self.0.set(self.0.get() + 1);
        }
    }
    #[inline(never)]
    fn deep(n: u32, drops: &std::cell::Cell<u32>) -> std::backtrace::Backtrace {
        let _guard = Dropped(drops);
        if n == 0 {
            let trace = std::backtrace::Backtrace::force_capture();
            std::panic::panic_any(trace);
        }
        deep(n - 1, drops)
    }
    let drops = std::cell::Cell::new(0);
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| deep(3, &drops)));
    std::panic::set_hook(hook);
    let payload = caught.expect_err("the panic was caught");
    assert_eq!(drops.get(), 4, "every frame's drop ran while unwinding");
    let trace = payload.downcast::<std::backtrace::Backtrace>().unwrap();
    assert_eq!(trace.status(), std::backtrace::BacktraceStatus::Captured);
    let text = trace.to_string();
    assert!(text.matches("deep").count() >= 4, "{text}");
}

/// bsdx defines its one libm import (`pow`, src/main.rs), so the executable
/// needs no libm.so.6: one library fewer mapped and relocated at every start.
/// Fails when a new libm function creeps in (then define it there too, or
/// accept the cost and drop this test).
#[test]
fn bsdx_needs_no_libm() {
    let bsdx = std::path::Path::new(env!("CARGO_BIN_EXE_bsdx"));
    let libs = needed_libraries(bsdx);
    assert!(
        !libs.iter().any(|l| l.starts_with("libm.so")),
        "bsdx needs {libs:?}; libm's symbols it imports: {:?}",
        imported_symbols(bsdx)
    );
}

/// The DT_NEEDED libraries of a host executable, which must include libc
/// (so a file that is not a dynamic glibc executable fails here, not later).
fn needed_libraries(path: &std::path::Path) -> Vec<String> {
    let bytes = std::fs::read(path).unwrap();
    let elf = goblin::elf::Elf::parse(&bytes).unwrap();
    let libs: Vec<String> = elf.libraries.iter().map(|l| l.to_string()).collect();
    assert!(libs.iter().any(|l| l.starts_with("libc.so")), "{libs:?}");
    libs
}

/// The names of the symbols a host executable imports (for failure messages).
fn imported_symbols(path: &std::path::Path) -> Vec<String> {
    let bytes = std::fs::read(path).unwrap();
    let elf = goblin::elf::Elf::parse(&bytes).unwrap();
    elf.dynsyms
        .iter()
        .filter(|s| s.is_import())
        .filter_map(|s| elf.dynstrtab.get_at(s.st_name))
        .map(str::to_string)
        .collect()
}
