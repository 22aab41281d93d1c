//! A fluent builder around the `bsdx` binary, ELF helpers, and the rules
//! for inputs a plain clone may not have.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Shared by every test run: stub cache and cross-build target dir.
pub fn shared_dir(name: &str) -> PathBuf {
    let base = std::env::var_os("BSDX_TEST_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cross"));
    let dir = base.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The shared dir of `bsdx repro`'s two copies (tests/cross.rs).
pub const REPRO_WORK: &str = "repro-work";

/// The target dir every x86_64 stub build for the default release shares
/// (`bsdx repro`'s first copy's): std is compiled there once, not once per
/// test (cargo locks the dir, so concurrent tests take turns).
pub fn stub_target_dir() -> PathBuf {
    shared_dir(REPRO_WORK).join("a/target")
}

/// Whether a test's input is there. A plain clone has no `../shared` beside
/// it and maybe no network: the test then prints why and skips (`false`).
/// `.ci/run` sets `BSDX_TEST_REQUIRE_ALL=1`, under which a missing input
/// fails the test instead, so CI never skips silently.
#[track_caller]
pub fn input_present(present: bool, reason: &str) -> bool {
    if present {
        return true;
    }
    if std::env::var_os("BSDX_TEST_REQUIRE_ALL").is_some_and(|v| v == "1") {
        panic!("{reason}: BSDX_TEST_REQUIRE_ALL=1 makes a missing input a failure");
    }
    // Straight to stderr: libtest captures eprintln! of a passing test.
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "skipped: {reason}");
    false
}

/// A file from `../shared` (beside the checkout), or `None` after saying
/// why the test skips (see [`input_present`]).
#[track_caller]
pub fn shared_input(rel: &str) -> Option<PathBuf> {
    let path = repo().join("../shared").join(rel);
    input_present(
        path.is_file(),
        &format!(
            "{} is missing (needs ../shared beside the checkout; .ci/run runs it)",
            path.display()
        ),
    )
    .then_some(path)
}

/// Variables from the developer's shell that would change what bsdx, cargo,
/// rustc, cargo-zigbuild or cc-rs do (toolchain choice, flags, profile,
/// target, paths, output format), so a test never depends on them. The
/// children of a test get none of them unless the test sets them itself.
pub fn scrubbed(name: &OsStr) -> bool {
    const NAMES: &[&str] = &[
        "RUSTC",
        "CARGO",
        "RUSTDOC",
        "RUSTFLAGS",
        "RUSTDOCFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_ENCODED_RUSTDOCFLAGS",
        "CARGO_TARGET_DIR",
        "CARGO_INCREMENTAL",
        "CARGO_LOG",
        "SOURCE_DATE_EPOCH",
        "CFLAGS",
        "CXXFLAGS",
        "CPPFLAGS",
        "LDFLAGS",
        "CC",
        "CXX",
        "AR",
        "CRATE_CC_NO_DEFAULTS",
    ];
    const PREFIXES: &[&str] = &[
        "BSDX_",
        "RUSTC_", // RUSTC_BOOTSTRAP, RUSTC_WRAPPER, RUSTC_WORKSPACE_WRAPPER, RUSTC_LINKER
        "CARGO_UNSTABLE_",
        "CARGO_PROFILE_",
        "CARGO_TARGET_",
        "CARGO_BUILD_",
        "CARGO_TERM_",
        "CARGO_ZIGBUILD_",
        "CFLAGS_",
        "CXXFLAGS_",
        "CC_",
        "CXX_",
        "AR_",
        "TARGET_",
        "HOST_",
    ];
    let name = name.to_string_lossy();
    NAMES.contains(&name.as_ref()) || PREFIXES.iter().any(|p| name.starts_with(p))
}

/// `parent` (normally this process's environment) without [`scrubbed`]
/// variables.
pub fn scrub<I, K, V>(cmd: &mut Command, parent: I)
where
    I: IntoIterator<Item = (K, V)>,
    K: AsRef<OsStr>,
    V: AsRef<OsStr>,
{
    cmd.env_clear();
    for (k, v) in parent {
        if !scrubbed(k.as_ref()) {
            cmd.env(k, v);
        }
    }
}

pub struct Bsdx {
    cmd: Command,
    shown: Vec<OsString>,
}

pub fn bsdx() -> Bsdx {
    bsdx_in_env(std::env::vars_os())
}

/// `bsdx` as run from a shell whose environment is `parent`, scrubbed.
pub fn bsdx_in_env<I, K, V>(parent: I) -> Bsdx
where
    I: IntoIterator<Item = (K, V)>,
    K: AsRef<OsStr>,
    V: AsRef<OsStr>,
{
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_bsdx"));
    scrub(&mut cmd, parent);
    cmd.env("BSDX_CACHE_DIR", shared_dir("cache"));
    Bsdx { cmd, shown: vec![] }
}

impl Bsdx {
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        for a in args {
            let a = a.into();
            self.shown.push(a.clone());
            self.cmd.arg(a);
        }
        self
    }

    pub fn arg_path(self, p: &Path) -> Self {
        self.args([p.as_os_str()])
    }

    pub fn env(mut self, k: &str, v: impl Into<OsString>) -> Self {
        self.cmd.env(k, v.into());
        self
    }

    pub fn env_remove(mut self, k: &str) -> Self {
        self.cmd.env_remove(k);
        self
    }

    pub fn dir(mut self, d: &Path) -> Self {
        self.cmd.current_dir(d);
        self
    }

    pub fn run(mut self) -> Run {
        let output = self.cmd.output().expect("bsdx runs");
        Run {
            output,
            shown: format!("bsdx {:?}", self.shown),
        }
    }
}

pub struct Run {
    pub output: Output,
    shown: String,
}

impl Run {
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.output.stdout).into_owned()
    }

    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }

    fn context(&self) -> String {
        format!(
            "{}\n--- status: {}\n--- stdout:\n{}\n--- stderr:\n{}",
            self.shown,
            self.output.status,
            self.stdout(),
            self.stderr()
        )
    }

    #[track_caller]
    pub fn success(self) -> Self {
        assert!(
            self.output.status.success(),
            "expected success: {}",
            self.context()
        );
        self
    }

    #[track_caller]
    pub fn failure(self, code: i32) -> Self {
        assert_eq!(
            self.output.status.code(),
            Some(code),
            "expected exit {code}: {}",
            self.context()
        );
        self
    }

    #[track_caller]
    pub fn stderr_has(self, needle: &str) -> Self {
        assert!(
            self.stderr().contains(needle),
            "stderr lacks {needle:?}: {}",
            self.context()
        );
        self
    }

    #[track_caller]
    pub fn stdout_has(self, needle: &str) -> Self {
        assert!(
            self.stdout().contains(needle),
            "stdout lacks {needle:?}: {}",
            self.context()
        );
        self
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout())
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", self.context()))
    }
}

/// Every soname in the FreeBSD base of `release`, from the data bsdx ships
/// (13.5 libraries, renamed per data/releases.json).
pub fn base_sonames(release: &str) -> Vec<String> {
    let abi: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("stubs/abi/13.5-amd64.json")).unwrap(),
    )
    .unwrap();
    let cat: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(repo().join("data/releases.json")).unwrap())
            .unwrap();
    let rel = cat["releases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["release"] == release)
        .unwrap();
    let mut names: Vec<String> = abi["libraries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            let s = l["soname"].as_str().unwrap();
            rel["renamed"][s].as_str().unwrap_or(s).to_string()
        })
        .collect();
    names.extend(
        rel["added"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_string()),
    );
    names
}

/// Assert what every binary bsdx builds for FreeBSD x86_64 must satisfy.
#[track_caller]
pub fn assert_freebsd_executable(path: &Path, release: &str) -> Vec<String> {
    assert_freebsd_executable_for(path, release, goblin::elf::header::EM_X86_64)
}

/// [`assert_freebsd_executable`] for the machine `e_machine` (x86-64, AArch64).
pub fn assert_freebsd_executable_for(path: &Path, release: &str, e_machine: u16) -> Vec<String> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let elf = goblin::elf::Elf::parse(&bytes).expect("an ELF file");
    assert_eq!(
        elf.header.e_machine,
        e_machine,
        "{}: not {}",
        path.display(),
        goblin::elf::header::machine_to_str(e_machine)
    );
    assert!(elf.is_64);
    assert_eq!(
        elf.interpreter,
        Some("/libexec/ld-elf.so.1"),
        "{}: wrong interpreter",
        path.display()
    );
    assert!(
        elf.rpaths.is_empty() && elf.runpaths.is_empty(),
        "{}: RPATH {:?} RUNPATH {:?}",
        path.display(),
        elf.rpaths,
        elf.runpaths
    );
    assert_eq!(
        bytes[7],
        9,
        "{}: EI_OSABI is not FreeBSD (bsdx build brands it)",
        path.display()
    );
    let tags: Vec<_> = elf
        .iter_note_headers(&bytes)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|n| n.n_type == 1 && n.name == "FreeBSD")
        .collect();
    assert_eq!(
        tags.len(),
        1,
        "{}: one NT_FREEBSD_ABI_TAG note (the crt's or bsdx's note object, not both)",
        path.display()
    );
    let tag = &tags[0];
    let (major, minor) = release.split_once('.').unwrap();
    let want = major.parse::<u32>().unwrap() * 100_000 + minor.parse::<u32>().unwrap() * 1000;
    assert_eq!(
        u32::from_le_bytes(tag.desc.try_into().unwrap()),
        want,
        "{}: ABI tag",
        path.display()
    );
    let report = bsdx()
        .args(["check", "--json", "--release", release])
        .arg_path(path)
        .run()
        .success()
        .json();
    assert_eq!(
        (report["errors"].as_u64(), report["warnings"].as_u64()),
        (Some(0), Some(0)),
        "{}: {report:#}",
        path.display()
    );
    let base = base_sonames(release);
    assert!(!elf.libraries.is_empty());
    for lib in &elf.libraries {
        assert!(
            !lib.contains('/'),
            "{}: NEEDED {lib} is a path",
            path.display()
        );
        assert!(
            base.iter().any(|b| b == lib),
            "{}: NEEDED {lib} is not a FreeBSD {release} base library",
            path.display()
        );
    }
    elf.libraries.iter().map(|s| s.to_string()).collect()
}

/// Dynamic symbols a shared object exports: (name, type, size, version).
pub fn exports(path: &Path) -> Vec<(String, u8, u64, Option<String>, bool)> {
    let bytes = std::fs::read(path).unwrap();
    let elf = goblin::elf::Elf::parse(&bytes).unwrap();
    let mut versions = std::collections::HashMap::new();
    if let Some(vd) = &elf.verdef {
        for d in vd.iter() {
            if let Some(aux) = d.iter().next() {
                versions.insert(
                    d.vd_ndx,
                    elf.dynstrtab.get_at(aux.vda_name).unwrap_or("").to_string(),
                );
            }
        }
    }
    let vs: Vec<u16> = elf
        .versym
        .as_ref()
        .map(|v| v.iter().map(|x| x.vs_val).collect())
        .unwrap_or_default();
    elf.dynsyms
        .iter()
        .enumerate()
        .filter(|(_, s)| s.st_shndx != 0 && s.st_bind() == goblin::elf::sym::STB_GLOBAL)
        .map(|(i, s)| {
            let raw = vs.get(i).copied().unwrap_or(1);
            let hidden = raw & 0x8000 != 0;
            let ver = versions
                .get(&(raw & 0x7fff))
                .cloned()
                .filter(|_| raw & 0x7fff > 1);
            (
                elf.dynstrtab.get_at(s.st_name).unwrap().to_string(),
                s.st_type(),
                s.st_size,
                ver,
                hidden,
            )
        })
        .collect()
}

pub fn sha256_of(path: &Path) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(std::fs::read(path).unwrap())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The five libraries bsdx's builds need (kvm, procstat, memstat, devstat,
/// geom), generated by `bsdx stubs` with FreeBSD 14.4 sonames, copied into
/// `dir`. They are generated once per `bsdx` binary (the output is
/// deterministic; tests/stubs.rs proves it) and copied from there.
pub fn base_stubs(dir: &Path) -> PathBuf {
    let set = stub_set();
    std::fs::create_dir_all(dir).unwrap();
    for e in std::fs::read_dir(set).unwrap().flatten() {
        let (from, to) = (e.path(), dir.join(e.file_name()));
        if e.file_type().unwrap().is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(&from).unwrap(), &to).unwrap();
        } else if e.file_name() != ".complete" {
            std::fs::copy(&from, &to).unwrap();
        }
    }
    dir.to_path_buf()
}

fn stub_set() -> &'static Path {
    static SET: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    SET.get_or_init(|| {
        let exe = Path::new(env!("CARGO_BIN_EXE_bsdx"));
        let meta = std::fs::metadata(exe).unwrap();
        let stamp = meta
            .modified()
            .unwrap()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap();
        let key = format!(
            "{}-{}-{}",
            meta.len(),
            stamp.as_secs(),
            stamp.subsec_nanos()
        );
        let root = shared_dir("base-stubs");
        let set = root.join(&key);
        if set.join(".complete").is_file() {
            return set;
        }
        let staging = tempfile::tempdir_in(&root).unwrap();
        let mut args: Vec<&str> = vec!["stubs", "--release", "14.4"];
        for lib in ["kvm", "procstat", "memstat", "devstat", "geom"] {
            args.extend(["--lib", lib]);
        }
        bsdx()
            .args(args)
            .args(["--out"])
            .arg_path(staging.path())
            .run()
            .success();
        std::fs::write(staging.path().join(".complete"), &key).unwrap();
        // Sets made by older bsdx builds go; another process may have won.
        for old in std::fs::read_dir(&root).unwrap().flatten() {
            let name = old.file_name();
            if name != OsStr::new(&key) && !name.to_string_lossy().starts_with(".tmp") {
                let _ = std::fs::remove_dir_all(old.path());
            }
        }
        let staged = staging.keep();
        if std::fs::rename(&staged, &set).is_err() {
            let _ = std::fs::remove_dir_all(&staged);
            assert!(set.join(".complete").is_file(), "{}", set.display());
        }
        set
    })
}

/// `zig` as cargo-zigbuild finds it: `python3 -m ziglang`, else `zig`.
/// The path of the Zig executable itself (the `ziglang` package's `zig`, or
/// `zig` on PATH).
pub fn zig_binary() -> PathBuf {
    let py = Command::new("python3")
        .args([
            "-c",
            "import ziglang, os; print(os.path.join(os.path.dirname(ziglang.__file__), 'zig'))",
        ])
        .output();
    match py {
        Ok(o) if o.status.success() => PathBuf::from(String::from_utf8(o.stdout).unwrap().trim()),
        _ => which_zig(),
    }
}

fn which_zig() -> PathBuf {
    let out = Command::new("sh")
        .args(["-c", "command -v zig"])
        .output()
        .expect("sh");
    assert!(
        out.status.success(),
        "no Zig: `pip install ziglang==0.15.2`"
    );
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

/// Run `cmd`; fail the test with its stderr unless it succeeds.
#[track_caller]
pub fn run_ok(mut cmd: Command, what: &str) {
    let o = cmd.output().unwrap();
    assert!(
        o.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

pub fn zig() -> Command {
    let py = Command::new("python3")
        .args(["-m", "ziglang", "version"])
        .output();
    if py.is_ok_and(|o| o.status.success()) {
        let mut c = Command::new("python3");
        c.args(["-m", "ziglang"]);
        c
    } else {
        Command::new("zig")
    }
}

/// `text` with `dir` (a test's temporary directory) written as `[TMP]`, so
/// a snapshot of a human view does not depend on where the test ran.
pub fn redact(text: &str, dir: &Path) -> String {
    let canonical = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    text.replace(&canonical.display().to_string(), "[TMP]")
        .replace(&dir.display().to_string(), "[TMP]")
}
