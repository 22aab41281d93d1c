//! `bsdx doctor`: is everything a FreeBSD cross build needs here? Each
//! missing piece comes with the exact command that installs it.

use std::fmt;
use std::path::PathBuf;

use serde::Serialize;

use crate::error::Error;
use crate::model::release::{catalog, Release};
use crate::model::target::Target;
use crate::toolchain::{self, StdSource};

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct Check {
    pub name: String,
    pub ok: bool,
    /// Only `bsdx run` and `bsdx test` need it (a missing one does not fail
    /// the doctor).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub run_only: bool,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct Report {
    pub schema: u32,
    pub target: String,
    pub release: String,
    pub checks: Vec<Check>,
}

impl Report {
    pub fn ok(&self) -> bool {
        self.checks.iter().all(|c| c.ok || c.run_only)
    }
}

fn from<T>(name: &str, r: Result<T, Error>, detail: impl FnOnce(&T) -> String) -> Check {
    match r {
        Ok(v) => Check {
            name: name.into(),
            ok: true,
            run_only: false,
            detail: detail(&v),
            fix: None,
        },
        Err(Error::MissingTool { why, fix, .. }) => Check {
            name: name.into(),
            ok: false,
            run_only: false,
            detail: why,
            fix: Some(fix),
        },
        Err(e) => {
            let (detail, fix) = split_fix(&e.to_string());
            Check {
                name: name.into(),
                ok: false,
                run_only: false,
                detail,
                fix,
            }
        }
    }
}

/// An error's message, split into what is wrong and its `fix:` line.
fn split_fix(message: &str) -> (String, Option<String>) {
    match message.split_once("\n  fix: ") {
        Some((detail, fix)) => (detail.to_string(), Some(fix.to_string())),
        None => (message.to_string(), None),
    }
}

pub fn run(target: &Target, release: &Release, sysroot: Option<PathBuf>) -> Report {
    let mut checks = vec![
        from("rust", toolchain::rust(target), |r| {
            format!(
                "{} ({}); std for {}: {}",
                r.version,
                r.rustc.display(),
                target.triple,
                match &r.std {
                    StdSource::Prebuilt => "prebuilt".to_string(),
                    StdSource::FromSource(p) =>
                        format!("built from source in {} (-Zbuild-std)", p.display()),
                }
            )
        }),
        from("zig", toolchain::zig(), |z| {
            format!("{} ({})", z.version, z.display())
        }),
        from("cargo-zigbuild", toolchain::cargo_zigbuild(), |c| {
            format!("{} ({})", c.version, c.path.display())
        }),
    ];
    if let Some(root) = &sysroot {
        checks.push(match crate::sysroot::ensure_is(root, release) {
            Ok(found) => Check {
                name: "sysroot release".into(),
                ok: true,
                detail: format!("{} is {}", root.display(), found.describe()),
                fix: None,
                run_only: false,
            },
            Err(e) => from::<()>("sysroot release", Err(e), |_| String::new()),
        });
    }
    checks.push(match sysroot {
        Some(root) => match crate::sysroot::link_dir(&root) {
            Ok(ld) => Check {
                name: "libraries".into(),
                ok: true,
                run_only: false,
                detail: format!(
                    "sysroot {}: {} shared libraries usable for linking",
                    root.display(),
                    ld.libraries.len()
                ),
                fix: None,
            },
            Err(e) => {
                let (detail, fix) = split_fix(&format!("{e:#}"));
                Check {
                    name: "libraries".into(),
                    ok: false,
                    run_only: false,
                    detail,
                    fix: Some(fix.unwrap_or_else(|| {
                        "point --sysroot at a directory extracted from a FreeBSD base.txz (`bsdx sysroot fetch` prints one), or drop it to use stubs".into()
                    })),
                }
            }
        },
        None => Check {
            name: "libraries".into(),
            ok: true,
            run_only: false,
            detail: format!(
                "no --sysroot: stubs for FreeBSD {} ({}) are generated with zig on first use",
                release.release,
                catalog().default_stubs.join(", ")
            ),
            fix: None,
        },
    });
    checks.extend(run_checks(target));
    Report {
        schema: 1,
        target: target.triple.into(),
        release: release.release.clone(),
        checks,
    }
}

/// What `bsdx run` and `bsdx test` need: QEMU, mtools, xorriso and (arm64)
/// EFI firmware, each with its Debian package.
fn run_checks(target: &Target) -> Vec<Check> {
    use crate::vm::tools;
    let mut checks: Vec<Check> = tools::all(target)
        .iter()
        .map(|t| {
            from(t.name, tools::find(t), |p| {
                format!("{} ({})", p.display(), t.purpose)
            })
        })
        .collect();
    if target.machine != "amd64" {
        let qemu = tools::find(&tools::qemu(target)).ok();
        checks.push(from(
            "EFI firmware",
            tools::firmware(qemu.as_deref()),
            |p| format!("{} (boots FreeBSD's loader.efi)", p.display()),
        ));
    }
    for c in &mut checks {
        c.run_only = true;
        c.name = format!("run: {}", c.name);
    }
    checks
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "bsdx doctor: {} for FreeBSD {}",
            self.target, self.release
        )?;
        for c in &self.checks {
            writeln!(
                f,
                "  [{}] {:<15} {}",
                if c.ok { "ok" } else { "missing" },
                c.name,
                c.detail
            )?;
            if c.run_only && !c.ok {
                writeln!(f, "      (only `bsdx run` and `bsdx test` need it)")?;
            }
            if let Some(fix) = &c.fix {
                writeln!(f, "      fix: {fix}")?;
            }
        }
        if self.ok() {
            writeln!(
                f,
                "everything needed is here: `bsdx build` in a Cargo project"
            )
        } else {
            writeln!(
                f,
                "on Debian/Ubuntu, {} installs all of it",
                toolchain::SETUP_SCRIPT
            )
        }
    }
}
