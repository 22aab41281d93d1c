//! The cross environment: the one function that decides every variable a
//! FreeBSD cross build needs. `bsdx env` prints it, `bsdx build` applies it
//! to cargo, and the Nix devShell exports what `bsdx env` prints.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::Serialize;

use crate::abitag;
use crate::error::Error;
use crate::model::release::{catalog, Release};
use crate::model::target::Target;
use crate::stubs;
use crate::sysroot;
use crate::toolchain::{self, StdSource};

pub const SCHEMA: u32 = 1;

pub use crate::model::libs::Libs;

/// Where the build happens: the project and cargo's target directory. Both
/// are remapped out of the output, so builds in different places match.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Paths {
    pub project: PathBuf,
    pub target_dir: PathBuf,
}

impl Paths {
    /// The current Cargo workspace's root (or the current directory outside
    /// one) and `$CARGO_TARGET_DIR` (else `<root>/target`).
    pub fn current() -> Result<Paths> {
        let cwd = std::env::current_dir()?;
        let root = std::process::Command::new(current("CARGO").unwrap_or_else(|| "cargo".into()))
            .args(["locate-project", "--workspace", "--message-format", "plain"])
            .output()
            .ok()
            .filter(|o| o.status.success())
            .and_then(|o| {
                PathBuf::from(String::from_utf8_lossy(&o.stdout).trim())
                    .parent()
                    .map(Path::to_path_buf)
            })
            .unwrap_or(cwd);
        Ok(Paths::new(
            &root,
            current("CARGO_TARGET_DIR").map(PathBuf::from),
        ))
    }

    pub fn new(project: &Path, target_dir: Option<PathBuf>) -> Paths {
        let project = std::fs::canonicalize(project).unwrap_or_else(|_| project.to_path_buf());
        let target_dir = match target_dir {
            Some(t) if t.is_absolute() => t,
            Some(t) => project.join(t),
            None => project.join("target"),
        };
        Paths {
            project,
            target_dir,
        }
    }
}

/// Where cargo's `trim-paths` maps the target directory (and so where bsdx
/// maps it for C code when cargo does it for Rust).
pub const TRIMMED_TARGET_DIR: &str = "/cargo/build-dir";

/// The path prefixes bsdx maps to fixed names: rustc's
/// `--remap-path-prefix` and the C compiler's `-ffile-prefix-map`. Later
/// entries are more specific (rustc and clang use the last match).
/// `trim_paths`: cargo's `trim-paths` remaps Rust's paths, so the target
/// directory gets cargo's name for it.
pub fn remaps(
    paths: &Paths,
    rust: &toolchain::Rust,
    zig: &toolchain::Zig,
    trim_paths: bool,
) -> Vec<(PathBuf, String)> {
    let mut maps = Vec::new();
    if let Some(home) = current("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| dirs::home_dir().map(|h| h.join(".cargo")))
    {
        maps.push((home, "/cargo".to_string()));
    }
    if let Some(lib) = &zig.lib_dir {
        maps.push((lib.clone(), "/zig/lib".to_string()));
    }
    if let StdSource::FromSource(src) = &rust.std {
        let hash = rust.commit_hash.clone().unwrap_or_else(|| "src".into());
        maps.push((src.clone(), format!("/rustc/{hash}")));
    }
    maps.push((paths.project.clone(), ".".to_string()));
    let target = if trim_paths {
        TRIMMED_TARGET_DIR
    } else {
        "/target"
    };
    maps.push((paths.target_dir.clone(), target.to_string()));
    maps
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Var {
    pub name: String,
    pub value: String,
    /// One line saying why bsdx sets it.
    pub why: String,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct CrossEnv {
    pub schema: u32,
    pub target: String,
    pub release: String,
    pub freebsd_version: u32,
    /// `stubs` or `sysroot`.
    pub libs: String,
    pub sysroot: Option<PathBuf>,
    pub lib_dir: PathBuf,
    /// Libraries passed as file operands (cargo-zigbuild drops their `-l`).
    pub link_args: Vec<PathBuf>,
    /// Object carrying the `.note.tag` ABI note for `freebsd_version`.
    pub abi_tag: PathBuf,
    pub paths: Paths,
    pub rustc: PathBuf,
    pub cargo: PathBuf,
    pub rust_version: String,
    /// std is compiled from source (`-Zbuild-std`): the target has no
    /// prebuilt std in this toolchain.
    pub build_std: bool,
    /// The sysroot's release, as the sysroot itself says (with `--sysroot`).
    pub sysroot_release: Option<crate::sysroot::SysrootRelease>,
    pub zig: String,
    /// The release the build aims at: what every link and C compile sees
    /// (`ZIG_LIBC`), and whether that is exactly the release.
    pub floor: crate::floor::Floor,
    pub vars: Vec<Var>,
}

fn current(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn check_path(p: &Path) -> Result<(), Error> {
    if p.to_string_lossy().chars().any(char::is_whitespace) {
        return Err(Error::WhitespaceInPath {
            path: p.to_path_buf(),
        });
    }
    Ok(())
}

/// Decide the environment for building `target` against `release`.
pub fn compute(target: &Target, release: &Release, libs: &Libs, paths: &Paths) -> Result<CrossEnv> {
    let rust = toolchain::rust(target)?;
    let zig = toolchain::zig()?;
    let (lib_dir, sonames): (PathBuf, Vec<(String, String)>) = match libs {
        Libs::Stubs => {
            let dir = stubs::cached(&zig, release, target)?;
            let names = catalog()
                .cargo_zigbuild_filtered
                .iter()
                .map(|n| {
                    (
                        n.clone(),
                        release.library(n).map(|l| l.soname).unwrap_or_default(),
                    )
                })
                .collect();
            (dir, names)
        }
        Libs::Sysroot(root) => {
            let ld = sysroot::link_dir(root)?;
            let names = catalog()
                .cargo_zigbuild_filtered
                .iter()
                .map(|n| (n.clone(), ld.libraries[n].clone()))
                .collect();
            (ld.dir, names)
        }
    };
    check_path(&lib_dir)?;
    let link_args: Vec<PathBuf> = sonames
        .iter()
        .map(|(_, soname)| lib_dir.join(soname))
        .collect();
    let abi_tag = abitag::object(&zig, target, release.freebsd_version)?;
    check_path(&abi_tag)?;
    let mut floor = crate::floor::compute(&zig, target, release, libs)?;
    if let Some(yours) = current("ZIG_LIBC") {
        crate::floor::yours(&mut floor, &yours);
    }

    let mut flags = vec!["-L".to_string(), format!("native={}", lib_dir.display())];
    for a in &link_args {
        flags.push("-C".into());
        flags.push(format!("link-arg={}", a.display()));
    }
    // bsdx's crt objects carry the note already (outside a section group,
    // so it survives --gc-sections); a second copy would only duplicate it.
    let tag_in_crt = floor.crt_carries_note();
    if !tag_in_crt {
        flags.push("-C".into());
        flags.push(format!("link-arg={}", abi_tag.display()));
    }
    let build_std = matches!(rust.std, StdSource::FromSource(_));
    // Under -Zbuild-std, RUSTFLAGS are part of std's fingerprint: a project
    // or target-dir path in them would rebuild std for every project. So
    // cargo's trim-paths remaps those paths instead, per crate and outside
    // the fingerprint (unstable like -Zbuild-std; RUSTC_BOOTSTRAP=1 covers
    // both). With a prebuilt std, stable cargo: remaps in RUSTFLAGS (they
    // then only rebuild the project's dependencies, not std).
    let trim_paths = build_std;
    let maps = remaps(paths, &rust, &zig, trim_paths);
    for (from, to) in &maps {
        check_path(from)?;
        if !trim_paths {
            flags.push(format!("--remap-path-prefix={}={to}", from.display()));
        }
    }
    let ours = flags.join(" ");
    let mut vars = Vec::new();
    let why_flags = format!(
        "link FreeBSD {} libraries from {}; {} given as files because cargo-zigbuild drops their -l flags; \
         {}; {}",
        release.release,
        lib_dir.display(),
        catalog().cargo_zigbuild_filtered.iter().map(|n| format!("lib{n}")).collect::<Vec<_>>().join(", "),
        if tag_in_crt {
            format!("the floor's crt objects carry the NT_FREEBSD_ABI_TAG note ({})", release.freebsd_version)
        } else {
            format!(
                "link the NT_FREEBSD_ABI_TAG note ({}), which these crt objects do not keep (Zig's have none; FreeBSD's own put it in a section group that --gc-sections drops)",
                release.freebsd_version
            )
        },
        if trim_paths {
            "no path remaps here: cargo's trim-paths remaps build-machine paths (CARGO_PROFILE_RELEASE_TRIM_PATHS)"
        } else {
            "remap build-machine paths for reproducible output"
        }
    );
    let merge = |existing: Option<String>, sep: &str, ours: &str| match existing {
        Some(e) if e.contains(ours) => e,
        Some(e) => format!("{ours}{sep}{e}"),
        None => ours.to_string(),
    };
    // Cargo ignores target.<triple>.rustflags when RUSTFLAGS or
    // CARGO_ENCODED_RUSTFLAGS is set, so join whichever wins.
    if let Some(enc) = current("CARGO_ENCODED_RUSTFLAGS") {
        vars.push(Var {
            name: "CARGO_ENCODED_RUSTFLAGS".into(),
            value: merge(Some(enc), "\x1f", &flags.join("\x1f")),
            why: why_flags,
        });
    } else if let Some(rf) = current("RUSTFLAGS") {
        vars.push(Var {
            name: "RUSTFLAGS".into(),
            value: merge(Some(rf), " ", &ours),
            why: why_flags,
        });
    } else {
        let name = format!("{}RUSTFLAGS", target.cargo_env_prefix());
        vars.push(Var {
            value: merge(current(&name), " ", &ours),
            name,
            why: why_flags,
        });
    }
    // C and C++ built by cc-rs through zig cc (which cargo-zigbuild runs with -g).
    let cflags = maps
        .iter()
        .map(|(from, to)| format!("-ffile-prefix-map={}={to}", from.display()))
        .chain(Some(floor.cflags()).filter(|f| !f.is_empty()))
        .collect::<Vec<_>>()
        .join(" ");
    let triple = target.triple.replace('-', "_");
    let why = if floor.cflags().is_empty() {
        "keep build-machine paths (project, target dir, $CARGO_HOME, Zig) out of C objects' debug info (cargo's trim-paths covers Rust only)"
    } else {
        "keep build-machine paths (project, target dir, $CARGO_HOME, Zig) out of C objects' debug info (cargo's trim-paths covers Rust only); __FreeBSD__/__FreeBSD_version say the release"
    };
    for name in [format!("CFLAGS_{triple}"), format!("CXXFLAGS_{triple}")] {
        vars.push(Var {
            value: merge(current(&name), " ", &cflags),
            why: why.into(),
            name,
        });
    }
    if let Some(file) = &floor.libc_file {
        if current("ZIG_LIBC").is_none() {
            vars.push(Var {
                name: "ZIG_LIBC".into(),
                value: file.display().to_string(),
                why: format!(
                    "zig cc links and compiles against FreeBSD {}'s libc, not Zig's own: {}",
                    release.release, floor.note
                ),
            });
        }
    }
    if rust.differs_from_path {
        if current("RUSTC").is_none() {
            vars.push(Var {
                name: "RUSTC".into(),
                value: rust.rustc.display().to_string(),
                why: format!(
                    "{} has what {} needs; the rustc on PATH does not",
                    rust.version, target.triple
                ),
            });
        }
        vars.push(Var {
            name: "CARGO".into(),
            value: rust.cargo.display().to_string(),
            why: "the cargo that belongs to that rustc".into(),
        });
    }
    if build_std {
        if current("RUSTC_BOOTSTRAP").is_none() {
            vars.push(Var { name: "RUSTC_BOOTSTRAP".into(), value: "1".into(), why: format!("no prebuilt std for {} in this toolchain: std is built from source, which needs -Z flags", target.triple) });
        }
        if current("CARGO_UNSTABLE_BUILD_STD").is_none() {
            vars.push(Var { name: "CARGO_UNSTABLE_BUILD_STD".into(), value: "std,panic_abort".into(), why: "the config form of -Zbuild-std=std,panic_abort, so plain `cargo zigbuild --target ...` builds std".into() });
        }
    }
    if trim_paths {
        if current("CARGO_UNSTABLE_TRIM_PATHS").is_none() {
            vars.push(Var {
                name: "CARGO_UNSTABLE_TRIM_PATHS".into(),
                value: "true".into(),
                why: "the config form of -Ztrim-paths: lets the release profile set trim-paths (unstable; RUSTC_BOOTSTRAP=1 allows it)".into(),
            });
        }
        if current("CARGO_PROFILE_RELEASE_TRIM_PATHS").is_none() {
            vars.push(Var {
                name: "CARGO_PROFILE_RELEASE_TRIM_PATHS".into(),
                value: "all".into(),
                why: format!(
                    "cargo remaps the workspace to ., the target dir to {TRIMMED_TARGET_DIR}, registry sources and std's source to /rustc/<commit> for every crate, \
                     outside RUSTFLAGS: RUSTFLAGS are part of std's fingerprint under -Zbuild-std, so paths there would rebuild std for every project"
                ),
            });
        }
    }
    Ok(CrossEnv {
        schema: SCHEMA,
        target: target.triple.to_string(),
        release: release.release.clone(),
        freebsd_version: release.freebsd_version,
        libs: match libs {
            Libs::Stubs => "stubs",
            Libs::Sysroot(_) => "sysroot",
        }
        .into(),
        sysroot: match libs {
            Libs::Sysroot(p) => Some(p.clone()),
            Libs::Stubs => None,
        },
        lib_dir,
        link_args,
        abi_tag,
        paths: paths.clone(),
        rustc: rust.rustc,
        cargo: rust.cargo,
        rust_version: rust.version,
        build_std,
        sysroot_release: match libs {
            Libs::Sysroot(p) => Some(crate::sysroot::identify(p)),
            Libs::Stubs => None,
        },
        zig: zig.display(),
        floor,
        vars,
    })
}

/// `bsdx env --runner` (a separate addition to [`compute`]): cargo runs
/// every binary for the target through `bsdx run`, in a FreeBSD VM, with
/// the package directory copied to the guest. A runner you set yourself is
/// kept.
pub fn runner_var(target: &Target, release: &Release) -> Result<Var> {
    let name = format!("{}RUNNER", target.cargo_env_prefix());
    if let Some(yours) = current(&name) {
        return Ok(Var {
            name,
            value: yours,
            why: "already set here: kept (unset it for `bsdx run`)".into(),
        });
    }
    let value = runner_command(&release.release, target, &["--mount".into(), ".".into()])?;
    Ok(Var {
        name,
        value,
        why: format!(
            "cargo test/run for {} start each binary in a FreeBSD {} VM (`bsdx run`), the package directory copied to /mnt",
            target.triple, release.release
        ),
    })
}

/// `bsdx env --runner` and `bsdx test`: the runner cargo puts in front of
/// each test binary: this bsdx, `run`, the options, `--`.
pub fn runner_command(release: &str, target: &Target, extra: &[String]) -> Result<String> {
    let exe = std::env::current_exe().context("cannot find the bsdx executable")?;
    let exe = exe.display().to_string();
    let mut words = vec![
        exe,
        "run".into(),
        "--release".into(),
        release.into(),
        "--target".into(),
        target.triple.into(),
    ];
    words.extend(extra.iter().cloned());
    words.push("--".into());
    if let Some(w) = words
        .iter()
        .find(|w| w.chars().any(char::is_whitespace) || w.is_empty())
    {
        bail!("cargo splits a runner from the environment on whitespace, and `{w}` contains some\n  fix: install bsdx (and the files it is given) at a path without spaces");
    }
    Ok(words.join(" "))
}

/// Quote for POSIX sh.
pub fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

impl CrossEnv {
    /// `export NAME='value'` lines, each after a comment saying why.
    pub fn to_sh(&self) -> String {
        let mut out = format!(
            "# bsdx env: {} for FreeBSD {} ({}), {}\n",
            self.target,
            self.release,
            self.libs,
            if self.build_std {
                "std built from source"
            } else {
                "prebuilt std"
            }
        );
        if let Some(s) = &self.sysroot_release {
            out.push_str(&format!("# sysroot: {}\n", s.describe()));
        }
        out.push_str(&format!(
            "# floor: FreeBSD {} ({}): {}\n",
            self.floor.release,
            if self.floor.exact {
                "exact"
            } else {
                "approximate"
            },
            self.floor.note
        ));
        for v in &self.vars {
            out.push_str(&format!(
                "# {}\nexport {}={}\n",
                v.why.replace('\n', " "),
                v.name,
                sh_quote(&v.value)
            ));
        }
        out.push_str(&format!(
            "# then: cargo zigbuild --release --target {}\n",
            self.target
        ));
        out
    }

    pub fn apply(&self, mut cmd: duct::Expression) -> duct::Expression {
        for v in &self.vars {
            cmd = cmd.env(&v.name, &v.value);
        }
        cmd
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(sh_quote("a b"), "'a b'");
        assert_eq!(sh_quote("it's"), "'it'\\''s'");
    }
}
