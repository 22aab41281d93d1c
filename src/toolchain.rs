//! Finding the tools a FreeBSD cross build needs: a Rust toolchain that has
//! the target's standard library (prebuilt, or its source for `-Zbuild-std`),
//! Zig (>= 0.15) and cargo-zigbuild (>= 0.21). Every miss is an
//! [`Error::MissingTool`] carrying the command that fixes it.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::Error;
use crate::model::target::Target;

/// The one-command fix for a Debian/Ubuntu machine without Nix.
pub const SETUP_SCRIPT: &str = ".ci/setup-debian (in the bsdx checkout)";
pub const ZIG_PIN: &str = "0.15.2";
pub const CARGO_ZIGBUILD_PIN: &str = "0.24.1";

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StdSource {
    /// `rustup target add` (or Nix) installed the target's std.
    Prebuilt,
    /// std is compiled from this source with `-Zbuild-std`.
    FromSource(PathBuf),
}

#[derive(Debug, Clone, Serialize)]
pub struct Rust {
    pub rustc: PathBuf,
    pub cargo: PathBuf,
    pub version: String,
    /// `commit-hash` from `rustc -vV`: prebuilt std's sources are remapped
    /// to `/rustc/<hash>`; bsdx maps std built from source the same way.
    pub commit_hash: Option<String>,
    pub sysroot: PathBuf,
    pub std: StdSource,
    /// The rustc/cargo found first on PATH is not the one chosen, so the
    /// environment must name it (RUSTC, CARGO).
    pub differs_from_path: bool,
}

fn run(program: &Path, args: &[&str]) -> Option<String> {
    let out = std::process::Command::new(program)
        .args(args)
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn std_source(sysroot: &Path, target: &Target) -> Option<StdSource> {
    let libdir = sysroot.join("lib/rustlib").join(target.triple).join("lib");
    let prebuilt = std::fs::read_dir(&libdir).ok().is_some_and(|entries| {
        entries.flatten().any(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            name.starts_with("libstd-") && name.ends_with(".rlib")
        })
    });
    if prebuilt {
        return Some(StdSource::Prebuilt);
    }
    let src = sysroot.join("lib/rustlib/src/rust");
    src.join("library/std/src/lib.rs")
        .is_file()
        .then_some(StdSource::FromSource(src))
}

/// Choose the Rust toolchain for `target`: `$RUSTC` if set; otherwise the
/// `rustc` on PATH, then Debian's `/usr/bin/rustc`, whichever first has the
/// target's std or its source.
pub fn rust(target: &Target) -> Result<Rust, Error> {
    let on_path = which::which("rustc").ok();
    let candidates: Vec<PathBuf> = match std::env::var_os("RUSTC") {
        Some(r) if !r.is_empty() => vec![PathBuf::from(r)],
        _ => on_path
            .iter()
            .cloned()
            .chain([PathBuf::from("/usr/bin/rustc")])
            .collect(),
    };
    let mut seen = Vec::new();
    for rustc in candidates {
        if seen.contains(&rustc) {
            continue;
        }
        seen.push(rustc.clone());
        let Some(sysroot) = run(&rustc, &["--print", "sysroot"]) else {
            continue;
        };
        let sysroot = PathBuf::from(sysroot);
        let Some(std) = std_source(&sysroot, target) else {
            continue;
        };
        let version = run(&rustc, &["--version"]).unwrap_or_default();
        let commit_hash = run(&rustc, &["-vV"])
            .and_then(|v| {
                v.lines()
                    .find_map(|l| l.strip_prefix("commit-hash: ").map(str::to_string))
            })
            .filter(|h| h != "unknown");
        let sibling = rustc.with_file_name("cargo");
        let cargo = if sibling.is_file() {
            sibling
        } else {
            which::which("cargo").unwrap_or_else(|_| "cargo".into())
        };
        let differs_from_path = on_path.as_ref() != Some(&rustc);
        return Ok(Rust {
            rustc,
            cargo,
            version,
            commit_hash,
            sysroot,
            std,
            differs_from_path,
        });
    }
    let tried = seen
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ");
    let fix = if target.triple.starts_with("x86_64") && which::which("rustup").is_ok() {
        format!("`rustup target add {t}` (with network), or {SETUP_SCRIPT} for Debian's rustc-web + rust-web-src (std built from source)", t = target.triple)
    } else if which::which("rustup").is_ok() {
        format!("`rustup component add rust-src` ({t} is tier 3: std is always built from source), or {SETUP_SCRIPT}", t = target.triple)
    } else {
        format!("`apt-get install rustc-web cargo-web rust-web-src` (or run {SETUP_SCRIPT})")
    };
    Err(Error::MissingTool {
        tool: "a Rust standard library for the target",
        why: if tried.is_empty() {
            "no rustc on PATH".to_string()
        } else {
            format!(
                "tried {tried}: none has a prebuilt std for {} nor the Rust source to build it",
                target.triple
            )
        },
        fix,
    })
}

#[derive(Debug, Clone, Serialize)]
pub struct Zig {
    pub program: PathBuf,
    pub args: Vec<String>,
    pub version: String,
    /// Zig's lib directory (libc headers and sources), from `zig env`.
    pub lib_dir: Option<PathBuf>,
}

impl Zig {
    pub fn command(&self) -> std::process::Command {
        let mut c = std::process::Command::new(&self.program);
        c.args(&self.args);
        c
    }

    pub fn display(&self) -> String {
        std::iter::once(self.program.display().to_string())
            .chain(self.args.iter().cloned())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

fn parse_version(s: &str) -> Option<(u64, u64, u64)> {
    let v = s
        .split_whitespace()
        .find(|w| w.chars().next().is_some_and(|c| c.is_ascii_digit()))?;
    let mut parts = v.split(['.', '-', '+']).map(|p| p.parse::<u64>().ok());
    Some((
        parts.next()??,
        parts.next()??,
        parts.next().flatten().unwrap_or(0),
    ))
}

/// Find Zig the way cargo-zigbuild 0.24 does (`src/zig.rs` `find_zig`:
/// `$CARGO_ZIGBUILD_PYTHON_PATH -m ziglang` (default `python3`), then
/// `$CARGO_ZIGBUILD_ZIG_PATH` (default `zig`)), after `$BSDX_ZIG` if set, so
/// the Zig that makes stubs and ABI notes is the one that links. The flake's
/// shells and builds set all three to the pinned Zig.
pub fn zig() -> Result<Zig, Error> {
    let mut tried = Vec::new();
    let mut candidates: Vec<(PathBuf, Vec<String>)> = Vec::new();
    if let Some(z) = std::env::var_os("BSDX_ZIG").filter(|z| !z.is_empty()) {
        candidates.push((PathBuf::from(z), vec![]));
    }
    let python = std::env::var("CARGO_ZIGBUILD_PYTHON_PATH").unwrap_or_else(|_| "python3".into());
    if let Ok(py) = which::which(python) {
        candidates.push((py, vec!["-m".into(), "ziglang".into()]));
    }
    // cargo-zigbuild's plain-zig fallback: `$CARGO_ZIGBUILD_ZIG_PATH`, else `zig`.
    let zig = std::env::var_os("CARGO_ZIGBUILD_ZIG_PATH")
        .filter(|z| !z.is_empty())
        .unwrap_or_else(|| "zig".into());
    if let Ok(z) = which::which(zig) {
        candidates.push((z, vec![]));
    }
    for (program, args) in candidates {
        let mut argv: Vec<&str> = args.iter().map(String::as_str).collect();
        argv.push("version");
        let shown = format!("{} {}", program.display(), argv.join(" "));
        match run(&program, &argv) {
            Some(v) if parse_version(&v).is_some_and(|v| v >= (0, 15, 0)) => {
                let mut argv: Vec<&str> = args.iter().map(String::as_str).collect();
                argv.push("env");
                let lib_dir = run(&program, &argv).and_then(|env| zig_env_lib_dir(&env));
                return Ok(Zig {
                    program,
                    args,
                    version: v,
                    lib_dir,
                });
            }
            Some(v) => tried.push(format!("{shown} -> {v} (too old; need >= 0.15)")),
            None => tried.push(format!("{shown} failed")),
        }
    }
    Err(Error::MissingTool {
        tool: "zig",
        why: if tried.is_empty() {
            "neither `python3 -m ziglang` nor `zig` is available".into()
        } else {
            tried.join("; ")
        },
        fix: format!("`pip install ziglang=={ZIG_PIN}` (or run {SETUP_SCRIPT})"),
    })
}

/// `.lib_dir = "..."` from `zig env` (ZON since 0.15, JSON before).
fn zig_env_lib_dir(env: &str) -> Option<PathBuf> {
    let rest = &env[env.find("lib_dir")? + "lib_dir".len()..];
    let rest = &rest[rest.find([':', '='])?..];
    let start = rest.find('"')? + 1;
    let end = start + rest[start..].find('"')?;
    Some(PathBuf::from(&rest[start..end]))
}

#[derive(Debug, Clone, Serialize)]
pub struct CargoZigbuild {
    pub path: PathBuf,
    pub version: String,
}

pub fn cargo_zigbuild() -> Result<CargoZigbuild, Error> {
    let fix = format!("`pip install cargo-zigbuild=={CARGO_ZIGBUILD_PIN}` or `cargo install --locked cargo-zigbuild` (or run {SETUP_SCRIPT})");
    let path = which::which("cargo-zigbuild").map_err(|_| Error::MissingTool {
        tool: "cargo-zigbuild",
        why: "`cargo-zigbuild` is not on PATH".into(),
        fix: fix.clone(),
    })?;
    let version = run(&path, &["--version"]).unwrap_or_default();
    match parse_version(&version) {
        Some(v) if v >= (0, 21, 0) => Ok(CargoZigbuild { path, version }),
        _ => Err(Error::MissingTool {
            tool: "cargo-zigbuild",
            why: format!(
                "{} reports `{version}`; FreeBSD support needs >= 0.21",
                path.display()
            ),
            fix,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zig_env() {
        let zon = ".{\n    .zig_exe = \"/z/zig\",\n    .lib_dir = \"/z/lib\",\n}";
        assert_eq!(zig_env_lib_dir(zon), Some(PathBuf::from("/z/lib")));
        assert_eq!(
            zig_env_lib_dir("{\"lib_dir\": \"/j/lib\"}"),
            Some(PathBuf::from("/j/lib"))
        );
        assert_eq!(zig_env_lib_dir("nothing"), None);
    }

    #[test]
    fn versions() {
        assert_eq!(parse_version("0.15.2"), Some((0, 15, 2)));
        assert_eq!(parse_version("cargo-zigbuild 0.24.1"), Some((0, 24, 1)));
        assert_eq!(parse_version("0.16.0-dev.123+abc"), Some((0, 16, 0)));
        assert_eq!(parse_version("zig"), None);
    }

    #[test]
    fn std_detection_on_a_fake_sysroot() {
        let t = Target::parse("x86_64-unknown-freebsd").unwrap();
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(std_source(dir.path(), &t), None);
        let src = dir.path().join("lib/rustlib/src/rust/library/std/src");
        std::fs::create_dir_all(&src).unwrap();
        std::fs::write(src.join("lib.rs"), "").unwrap();
        assert_eq!(
            std_source(dir.path(), &t),
            Some(StdSource::FromSource(
                dir.path().join("lib/rustlib/src/rust")
            ))
        );
        let lib = dir.path().join("lib/rustlib/x86_64-unknown-freebsd/lib");
        std::fs::create_dir_all(&lib).unwrap();
        std::fs::write(lib.join("libstd-0123abcd.rlib"), "").unwrap();
        assert_eq!(std_source(dir.path(), &t), Some(StdSource::Prebuilt));
    }
}
