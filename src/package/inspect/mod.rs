//! `bsdx package --inspect FILE.pkg`: read a package back (any pkg(8)
//! package, not only bsdx's): its compression, member order, both
//! manifests, every file's sum and the flatsize checked against the
//! payload ([`rules`], one function per question), every ELF file inside
//! audited by `bsdx check` and every rc.d script by `bsdx rcd lint`.

use std::path::{Path, PathBuf};

use anyhow::Result;
use schemars::JsonSchema;
use serde::Serialize;

use crate::digest::sha256_hex;
use crate::exit;
use crate::findings::Level;
use crate::model::release::Release;

mod read;
mod rules;

use read::Package;

pub const SCHEMA: u32 = 1;

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Member {
    pub path: String,
    /// `file`, `dir`, `symlink`, `other`.
    pub kind: String,
    pub size: u64,
    /// Octal, e.g. `0755`.
    pub mode: String,
    pub uname: String,
    pub gname: String,
    pub mtime: u64,
    /// `1$<sha256>` of a file's content, computed here.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Problem {
    pub level: Level,
    /// `member-order`, `manifest`, `compact-manifest`, `abi`, `sum`,
    /// `missing`, `unlisted`, `flatsize`, `freebsd-version`.
    pub code: String,
    pub message: String,
}

/// What `bsdx package --inspect` found.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Inspection {
    pub schema: u32,
    pub path: PathBuf,
    pub size: u64,
    pub sha256: String,
    /// `zstd`, `xz` or `none`.
    pub compression: String,
    pub name: Option<String>,
    pub version: Option<String>,
    pub abi: Option<String>,
    pub arch: Option<String>,
    pub freebsd_version: Option<u32>,
    pub flatsize: Option<u64>,
    /// The full manifest, as JSON.
    pub manifest: serde_json::Value,
    /// Archive members, in order.
    pub members: Vec<Member>,
    /// Files whose sum matched the manifest.
    pub verified: usize,
    pub problems: Vec<Problem>,
    /// `bsdx check` of the ELF files inside (paths as installed).
    pub check: crate::check::Report,
    /// `bsdx rcd lint` of the rc.d scripts inside (`…/etc/rc.d/*`).
    pub rcd: Vec<crate::rcd::report::FileReport>,
}

impl Inspection {
    /// 0 clean, 1 problems or check errors.
    pub fn exit_code(&self) -> i32 {
        let bad = self.problems.iter().any(|p| p.level == Level::Error)
            || self.check.exit_code(false) != exit::OK
            || self
                .rcd
                .iter()
                .flat_map(|r| &r.findings)
                .any(|f| f.level == Level::Error);
        if bad {
            exit::FAILURE
        } else {
            exit::OK
        }
    }

    pub fn render(&self) -> String {
        let mut o = String::new();
        o.push_str(&format!(
            "{}: {}-{} ({} compressed, {} bytes, sha256 {})\n",
            crate::check::escape(&self.path.display().to_string()),
            self.name.as_deref().unwrap_or("?"),
            self.version.as_deref().unwrap_or("?"),
            self.compression,
            self.size,
            self.sha256
        ));
        o.push_str(&format!(
            "  abi {}, arch {}, FreeBSD_version {}, flatsize {}\n",
            self.abi.as_deref().unwrap_or("?"),
            self.arch.as_deref().unwrap_or("?"),
            self.freebsd_version
                .map(|v| v.to_string())
                .unwrap_or_else(|| "?".into()),
            self.flatsize
                .map(|v| v.to_string())
                .unwrap_or_else(|| "?".into())
        ));
        for k in ["deps", "shlibs_required", "shlibs_provided"] {
            let Some(v) = self.manifest.get(k) else {
                continue;
            };
            let names: Vec<String> = match v {
                serde_json::Value::Object(o) => o
                    .iter()
                    .map(|(n, d)| {
                        format!(
                            "{n} ({} {})",
                            d["origin"].as_str().unwrap_or("?"),
                            d["version"].as_str().unwrap_or("?")
                        )
                    })
                    .collect(),
                serde_json::Value::Array(a) => a
                    .iter()
                    .map(|s| s.as_str().unwrap_or("?").to_string())
                    .collect(),
                _ => continue,
            };
            o.push_str(&format!(
                "  {k}: {}\n",
                crate::check::escape(&names.join(", "))
            ));
        }
        for m in &self.members {
            o.push_str(&format!(
                "  {} {:>5} {}:{} {:>10} {}\n",
                if m.kind == "dir" { 'd' } else { '-' },
                m.mode,
                m.uname,
                m.gname,
                m.size,
                crate::check::escape(&m.path)
            ));
        }
        o.push_str(&format!("  {} file sum(s) verified\n", self.verified));
        for p in &self.problems {
            let l = p.level.label();
            o.push_str(&format!("  {l} [{}] {}\n", p.code, p.message));
        }
        for r in &self.rcd {
            o.push_str(&format!(
                "  rc.d script {}: {} finding(s)\n",
                crate::check::escape(&r.path.display().to_string()),
                r.findings.len()
            ));
            for f in &r.findings {
                o.push_str(&format!(
                    "    [{}] line {}: {}\n",
                    f.code, f.line, f.message
                ));
            }
        }
        if !self.check.files.is_empty() {
            o.push_str(&self.check.render(false));
        }
        o
    }
}

/// Read and verify the package at `path`; ELF files are checked against
/// `release`.
pub fn inspect(path: &Path, release: &Release) -> Result<Inspection> {
    let p = Package::read(path)?;
    Ok(Inspection {
        schema: SCHEMA,
        path: path.to_path_buf(),
        size: p.raw.len() as u64,
        sha256: sha256_hex(&p.raw),
        compression: p.compression.into(),
        name: p.field("name"),
        version: p.field("version"),
        abi: p.field("abi"),
        arch: p.field("arch"),
        freebsd_version: p.freebsd_version(),
        flatsize: p.flatsize(),
        verified: rules::verified(&p),
        problems: rules::RULES.iter().flat_map(|rule| rule(&p)).collect(),
        check: check_elf_files(&p, release)?,
        rcd: lint_rc_scripts(&p),
        manifest: p.manifest,
        members: p.members,
    })
}

/// `bsdx check` of the ELF files inside, under their installed paths.
fn check_elf_files(p: &Package, release: &Release) -> Result<crate::check::Report> {
    let tmp = tempfile::tempdir()?;
    let mut elves: Vec<(PathBuf, String)> = Vec::new();
    for (i, (path, data)) in p.contents.iter().enumerate() {
        if data.starts_with(b"\x7fELF") {
            let f = tmp.path().join(format!("{i}"));
            std::fs::write(&f, data)?;
            elves.push((f, path.clone()));
        }
    }
    let paths: Vec<PathBuf> = elves.iter().map(|(f, _)| f.clone()).collect();
    let mut check = crate::check::run(&paths, release, None, None)?;
    for (r, (_, path)) in check.files.iter_mut().zip(&elves) {
        r.path = PathBuf::from(path);
    }
    Ok(check)
}

/// `bsdx rcd lint` of the rc.d scripts inside.
fn lint_rc_scripts(p: &Package) -> Vec<crate::rcd::report::FileReport> {
    let sh = crate::rcd::lint::shell();
    p.contents
        .iter()
        .filter(|(path, _)| path.contains("/etc/rc.d/"))
        .map(|(path, data)| {
            crate::rcd::lint::lint_text(
                Path::new(path),
                &String::from_utf8_lossy(data),
                sh.as_deref(),
            )
        })
        .collect()
}
