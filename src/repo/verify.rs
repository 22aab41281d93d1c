//! Reading a repository back as a host would, offline: `meta.conf`, both
//! catalog archives (their signatures checked against a public key, as pkg
//! does for `signature_type: "pubkey"`), and every listed package's `sum`
//! and `pkgsize` against the file the catalog points at (what pkg checks
//! after downloading one, `repo/binary/fetch.c`
//! `pkg_repo_binary_try_fetch`).

use std::path::Path;

use anyhow::Result;
use schemars::JsonSchema;
use serde::Serialize;

use super::{meta, read, sign};
use crate::exit::{self, Exit};

#[derive(Debug, Serialize, JsonSchema)]
pub struct CheckedPackage {
    pub name: String,
    pub version: String,
    /// `repopath`, relative to the repository.
    pub path: String,
    pub sum: String,
    pub pkgsize: u64,
    /// The file exists, its size is `pkgsize` and its SHA-256 is `sum`.
    pub ok: bool,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct CheckedArchive {
    pub file: String,
    /// It carries a `signature` member.
    pub signed: bool,
    /// The signature verified against --pubkey (`None` without --pubkey).
    pub signature_ok: Option<bool>,
    /// Packages it lists.
    pub packages: usize,
}

/// What `bsdx repo --verify` found.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Verification {
    pub schema: u32,
    pub dir: std::path::PathBuf,
    pub archives: Vec<CheckedArchive>,
    pub packages: Vec<CheckedPackage>,
    /// Each problem, with what a host would do about it.
    pub problems: Vec<String>,
}

impl Verification {
    pub fn exit_code(&self) -> i32 {
        if self.problems.is_empty() {
            exit::OK
        } else {
            exit::FAILURE
        }
    }

    pub fn render(&self) -> String {
        let mut o = format!("{}:\n", self.dir.display());
        for a in &self.archives {
            o.push_str(&format!(
                "  {}: {} package(s), {}\n",
                a.file,
                a.packages,
                match (a.signed, a.signature_ok) {
                    (false, _) => "unsigned",
                    (true, None) => "signed (not checked: no --pubkey)",
                    (true, Some(true)) => "signature verified",
                    (true, Some(false)) => "SIGNATURE INVALID",
                }
            ));
        }
        for p in &self.packages {
            o.push_str(&format!(
                "  {} {}-{} {} ({} bytes, sha256 {})\n",
                if p.ok { "ok " } else { "BAD" },
                p.name,
                p.version,
                p.path,
                p.pkgsize,
                p.sum
            ));
        }
        for p in &self.problems {
            o.push_str(&format!("  error: {p}\n"));
        }
        o
    }
}

/// Verify the repository in `dir`, its signatures against `pubkey`.
pub fn verify(dir: &Path, pubkey: Option<&Path>) -> Result<Verification> {
    let key = pubkey.map(sign::load_public_key).transpose()?;
    let meta_conf = dir.join("meta.conf");
    if !meta_conf.is_file() {
        return Err(Exit {
            code: exit::UNREADABLE,
            message: format!(
                "{} has no meta.conf: not a pkg repository\n  fix: build one with `bsdx repo {}`",
                dir.display(),
                dir.display()
            ),
        }
        .into());
    }
    let mut problems = Vec::new();
    let conf = std::fs::read_to_string(&meta_conf).unwrap_or_default();
    if !conf.lines().any(|l| l.trim() == "version = 2;") {
        problems.push("meta.conf does not say `version = 2;`".to_string());
    }
    let mut archives = Vec::new();
    let mut catalogs: Vec<Vec<serde_json::Value>> = Vec::new();
    for (archive_name, member) in [
        (format!("{}.pkg", meta::DATA_ARCHIVE), meta::DATA),
        (format!("{}.pkg", meta::MANIFESTS_ARCHIVE), meta::MANIFESTS),
    ] {
        let members = read::members(&dir.join(&archive_name))?;
        let Some(content) = members.get(member) else {
            problems.push(format!(
                "{archive_name} has no `{member}` member: pkg fails the update"
            ));
            continue;
        };
        let signature = members.get("signature");
        let signature_ok = match (&key, signature) {
            (Some(k), Some(s)) => Some(sign::verify(k, content, s)),
            (Some(_), None) => Some(false),
            (None, _) => None,
        };
        if signature_ok == Some(false) {
            problems.push(format!(
                "{archive_name}: {} (pkg: \"Invalid signature, removing repository.\" / \"No signature found in the repository.\")",
                if signature.is_some() {
                    "the signature does not match the catalog and key"
                } else {
                    "no signature"
                }
            ));
        }
        let list: Vec<serde_json::Value> = if member == meta::DATA {
            serde_json::from_slice::<serde_json::Value>(content)
                .ok()
                .and_then(|v| v.get("packages").and_then(|p| p.as_array()).cloned())
                .unwrap_or_else(|| {
                    problems.push(format!(
                        "{archive_name}: `{member}` is not a JSON object with `packages`"
                    ));
                    Vec::new()
                })
        } else {
            String::from_utf8_lossy(content)
                .lines()
                .filter(|l| !l.is_empty())
                .filter_map(|l| match serde_json::from_str(l) {
                    Ok(v) => Some(v),
                    Err(e) => {
                        problems.push(format!("{archive_name}: a line is not JSON: {e}"));
                        None
                    }
                })
                .collect()
        };
        archives.push(CheckedArchive {
            file: archive_name,
            signed: signature.is_some(),
            signature_ok,
            packages: list.len(),
        });
        catalogs.push(list);
    }
    if catalogs.len() == 2 && catalogs[0] != catalogs[1] {
        problems.push("data.pkg and packagesite.pkg list different packages".into());
    }
    let mut packages = Vec::new();
    for p in catalogs.first().into_iter().flatten() {
        let s = |k: &str| p.get(k).and_then(|v| v.as_str()).unwrap_or("").to_string();
        let (name, version, path, sum) = (s("name"), s("version"), s("repopath"), s("sum"));
        let pkgsize = p.get("pkgsize").and_then(|v| v.as_u64()).unwrap_or(0);
        let file = dir.join(&path);
        let ok = if path.is_empty() || path.starts_with('/') || path.split('/').any(|c| c == "..") {
            problems.push(format!("{name}-{version}: no usable repopath `{path}`"));
            false
        } else {
            match std::fs::metadata(&file) {
                Err(_) => {
                    problems.push(format!(
                        "{name}-{version}: {path} is missing (pkg: \"{name}-{version} missing from repository\")"
                    ));
                    false
                }
                Ok(md) if md.len() != pkgsize => {
                    problems.push(format!(
                        "{name}-{version}: {path} is {} bytes, the catalog says {pkgsize} (pkg: \"cached package {name}-{version}: missing or size mismatch\")",
                        md.len()
                    ));
                    false
                }
                Ok(_) => {
                    // pkg_checksum_validate_fileat: no `$` is SHA-256 hex;
                    // type 1 is SHA-256 hex too (libpkg/pkg/checksum.h).
                    let want = match sum.split_once('$') {
                        None => Some(sum.as_str()),
                        Some(("1", hex)) => Some(hex),
                        Some(_) => None,
                    };
                    let have = crate::digest::sha256_file(&file)?;
                    if want.is_none() {
                        problems.push(format!(
                            "{name}-{version}: sum {sum} is not SHA-256; bsdx does not check that type"
                        ));
                        false
                    } else if Some(have.as_str()) != want {
                        problems.push(format!(
                            "{name}-{version}: {path} has sha256 {have}, the catalog says {sum} (pkg: \"{name}-{version} failed checksum from repository\")"
                        ));
                        false
                    } else {
                        // The catalog's object must be the package's own
                        // manifest (what an unsigned catalog cannot prove).
                        let manifest = read::manifest(&file)?;
                        let differing: Vec<&String> = manifest
                            .iter()
                            .filter(|(k, v)| {
                                !["sum", "pkgsize", "path", "repopath"].contains(&k.as_str())
                                    && p.get(k.as_str()) != Some(v)
                            })
                            .map(|(k, _)| k)
                            .collect();
                        if differing.is_empty() {
                            true
                        } else {
                            problems.push(format!(
                                "{name}-{version}: the catalog's {differing:?} differ from {path}'s own manifest"
                            ));
                            false
                        }
                    }
                }
            }
        };
        packages.push(CheckedPackage {
            name,
            version,
            path,
            sum,
            pkgsize,
            ok,
        });
    }
    Ok(Verification {
        schema: super::SCHEMA,
        dir: dir.to_path_buf(),
        archives,
        packages,
        problems,
    })
}
