//! `bsdx package --inspect FILE.pkg`: read a package back (any pkg(8)
//! package, not only bsdx's): its compression, member order, both
//! manifests, every file's sum and the flatsize checked against the
//! payload, and every ELF file inside audited by `bsdx check`.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use schemars::JsonSchema;
use serde::Serialize;

use super::manifest::urldecode;
use crate::check::Level;
use crate::digest::sha256_hex;
use crate::exit::{self, Exit};
use crate::model::release::Release;

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

fn decompress(bytes: &[u8]) -> Result<(Vec<u8>, &'static str)> {
    if bytes.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        let mut out = Vec::new();
        zstd::stream::Decoder::new(bytes)?
            .read_to_end(&mut out)
            .context("corrupt zstd stream")?;
        return Ok((out, "zstd"));
    }
    if bytes.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
        let mut out = Vec::new();
        xz2::read::XzDecoder::new(bytes)
            .read_to_end(&mut out)
            .context("corrupt xz stream")?;
        return Ok((out, "xz"));
    }
    if bytes.len() > 262 && &bytes[257..262] == b"ustar" {
        return Ok((bytes.to_vec(), "none"));
    }
    anyhow::bail!("not a pkg(8) package: neither zstd, xz nor tar (gzip and bzip2 packages are not read by bsdx)")
}

/// Read and verify the package at `path`; ELF files are checked against
/// `release`.
pub fn inspect(path: &Path, release: &Release) -> Result<Inspection> {
    let raw = std::fs::read(path).map_err(|e| Exit {
        code: exit::UNREADABLE,
        message: format!("cannot read {}: {e}", path.display()),
    })?;
    let (tar, compression) = decompress(&raw).map_err(|e| Exit {
        code: exit::UNREADABLE,
        message: format!("{}: {e:#}", path.display()),
    })?;
    let mut members = Vec::new();
    let mut contents: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let mut archive = tar::Archive::new(tar.as_slice());
    let entries = archive.entries().map_err(|e| Exit {
        code: exit::UNREADABLE,
        message: format!("{}: not a tar archive inside: {e}", path.display()),
    })?;
    for entry in entries {
        let mut e = entry.map_err(|e| Exit {
            code: exit::UNREADABLE,
            message: format!("{}: corrupt tar member: {e}", path.display()),
        })?;
        let name = String::from_utf8_lossy(&e.path_bytes()).into_owned();
        let h = e.header();
        let kind = match h.entry_type() {
            tar::EntryType::Regular | tar::EntryType::Continuous => "file",
            tar::EntryType::Directory => "dir",
            tar::EntryType::Symlink => "symlink",
            _ => "other",
        };
        let mut m = Member {
            path: if kind == "dir" {
                name.trim_end_matches('/').to_string()
            } else {
                name
            },
            kind: kind.into(),
            size: h.size().unwrap_or(0),
            mode: format!("{:04o}", h.mode().unwrap_or(0) & 0o7777),
            uname: h.username().ok().flatten().unwrap_or("").to_string(),
            gname: h.groupname().ok().flatten().unwrap_or("").to_string(),
            mtime: h.mtime().unwrap_or(0),
            sha256: None,
        };
        if kind == "file" {
            let mut data = Vec::new();
            e.read_to_end(&mut data)?;
            m.sha256 = Some(format!("1${}", sha256_hex(&data)));
            contents.insert(m.path.clone(), data);
        }
        members.push(m);
    }
    let mut problems = Vec::new();
    let mut problem = |level, code: &str, message: String| {
        problems.push(Problem {
            level,
            code: code.into(),
            message,
        })
    };
    let order: Vec<&str> = members.iter().take(2).map(|m| m.path.as_str()).collect();
    if order != ["+COMPACT_MANIFEST", "+MANIFEST"] {
        problem(
            Level::Error,
            "member-order",
            format!("the first members are {order:?}, not +COMPACT_MANIFEST then +MANIFEST: pkg reads the manifest from the start of the stream"),
        );
    }
    let json = |name: &str| -> Option<serde_json::Value> {
        contents
            .get(name)
            .and_then(|b| serde_json::from_slice(b).ok())
    };
    let manifest = json("+MANIFEST").unwrap_or(serde_json::Value::Null);
    let compact = json("+COMPACT_MANIFEST").unwrap_or(serde_json::Value::Null);
    if !manifest.is_object() {
        problem(
            Level::Error,
            "manifest",
            "+MANIFEST is missing or not JSON".into(),
        );
    }
    if let (Some(full), Some(c)) = (manifest.as_object(), compact.as_object()) {
        let mut stripped = full.clone();
        for k in ["files", "directories", "scripts", "config", "lua_scripts"] {
            stripped.remove(k);
        }
        if &stripped != c {
            problem(
                Level::Warning,
                "compact-manifest",
                "+COMPACT_MANIFEST is not +MANIFEST without files, directories and scripts".into(),
            );
        }
    } else if manifest.is_object() {
        problem(
            Level::Error,
            "compact-manifest",
            "+COMPACT_MANIFEST is missing or not JSON".into(),
        );
    }
    let s = |k: &str| manifest.get(k).and_then(|v| v.as_str()).map(str::to_string);
    for k in [
        "name",
        "origin",
        "version",
        "comment",
        "maintainer",
        "www",
        "abi",
        "prefix",
        "desc",
    ] {
        if manifest.is_object() && s(k).is_none() {
            problem(
                Level::Error,
                "manifest",
                format!("the manifest has no `{k}`"),
            );
        }
    }
    let abi = s("abi");
    if let Some(a) = &abi {
        let parts: Vec<&str> = a.split(':').collect();
        if parts.len() != 3
            || parts[0] != "FreeBSD"
            || parts[1].parse::<u32>().is_err() && parts[1] != "*"
        {
            problem(
                Level::Error,
                "abi",
                format!("abi `{a}` is not FreeBSD:<major>:<arch>"),
            );
        }
    }
    let freebsd_version = manifest
        .get("annotations")
        .and_then(|a| a.get("FreeBSD_version"))
        .and_then(|v| {
            v.as_str()
                .and_then(|s| s.parse().ok())
                .or(v.as_u64().map(|n| n as u32))
        });
    if let (Some(v), Some(a)) = (freebsd_version, &abi) {
        if let Some(major) = a.split(':').nth(1).and_then(|m| m.parse::<u32>().ok()) {
            if v / 100_000 != major {
                problem(
                    Level::Warning,
                    "freebsd-version",
                    format!("FreeBSD_version {v} is not a FreeBSD {major} version (abi {a})"),
                );
            }
        }
    }
    let listed: BTreeMap<String, String> = manifest
        .get("files")
        .and_then(|f| f.as_object())
        .map(|o| {
            o.iter()
                .map(|(k, v)| {
                    let sum = match v {
                        serde_json::Value::String(s) => s.clone(),
                        other => other
                            .get("sum")
                            .and_then(|s| s.as_str())
                            .unwrap_or("")
                            .to_string(),
                    };
                    (urldecode(k), sum)
                })
                .collect()
        })
        .unwrap_or_default();
    let dirs: BTreeSet<String> = manifest
        .get("directories")
        .and_then(|d| d.as_object())
        .map(|o| {
            o.keys()
                .map(|k| urldecode(k).trim_end_matches('/').to_string())
                .collect()
        })
        .unwrap_or_default();
    let mut verified = 0;
    let mut flat = 0u64;
    for (p, sum) in &listed {
        match members.iter().find(|m| &m.path == p) {
            None => problem(
                Level::Error,
                "missing",
                format!("{p} is in the manifest but not in the archive"),
            ),
            Some(m) => {
                flat += m.size;
                let have = m.sha256.clone().unwrap_or_default();
                let content = have.trim_start_matches("1$");
                match sum.split_once('$') {
                    Some(("1", hex)) if hex == content => verified += 1,
                    None if sum == content => verified += 1,
                    Some((t, _)) if t != "1" => problem(
                        Level::Info,
                        "sum",
                        format!("{p}: sum type {t} is not verified by bsdx (only 1$, sha256)"),
                    ),
                    _ => problem(
                        Level::Error,
                        "sum",
                        format!("{p}: the manifest says {sum}, the content is {have}"),
                    ),
                }
            }
        }
    }
    for m in members.iter().skip(2) {
        let known = match m.kind.as_str() {
            "dir" => dirs.contains(&m.path),
            _ => listed.contains_key(&m.path),
        };
        if !known {
            problem(
                Level::Error,
                "unlisted",
                format!(
                    "{} is in the archive but not in the manifest: pkg refuses it",
                    m.path
                ),
            );
        }
    }
    for d in &dirs {
        if !members.iter().any(|m| m.kind == "dir" && &m.path == d) {
            problem(Level::Warning, "missing", format!("directory {d} is in the manifest but has no archive member (its owner and mode are pkg's defaults)"));
        }
    }
    let flatsize = manifest.get("flatsize").and_then(|f| f.as_u64());
    if let Some(fs) = flatsize {
        if fs != flat {
            problem(
                Level::Warning,
                "flatsize",
                format!("flatsize {fs} differs from the files' total size {flat}"),
            );
        }
    }
    // Audit the ELF files inside, under their installed paths.
    let tmp = tempfile::tempdir()?;
    let mut elves: Vec<(PathBuf, String)> = Vec::new();
    for (i, (p, data)) in contents.iter().enumerate() {
        if data.starts_with(b"\x7fELF") {
            let f = tmp.path().join(format!("{i}"));
            std::fs::write(&f, data)?;
            elves.push((f, p.clone()));
        }
    }
    let paths: Vec<PathBuf> = elves.iter().map(|(f, _)| f.clone()).collect();
    let mut check = crate::check::run(&paths, release, None, None)?;
    for (r, (_, p)) in check.files.iter_mut().zip(&elves) {
        r.path = PathBuf::from(p);
    }
    let sh = crate::rcd::lint::shell();
    let rcd = contents
        .iter()
        .filter(|(p, _)| p.contains("/etc/rc.d/"))
        .map(|(p, data)| {
            crate::rcd::lint::lint_text(Path::new(p), &String::from_utf8_lossy(data), sh.as_deref())
        })
        .collect();
    Ok(Inspection {
        schema: SCHEMA,
        path: path.to_path_buf(),
        size: raw.len() as u64,
        sha256: sha256_hex(&raw),
        compression: compression.into(),
        name: s("name"),
        version: s("version"),
        abi,
        arch: s("arch"),
        freebsd_version,
        flatsize,
        manifest,
        members,
        verified,
        problems,
        check,
        rcd,
    })
}
