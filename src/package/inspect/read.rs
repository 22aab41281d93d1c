//! A package read into memory: its compression, its members in order with
//! their contents' sums, and both manifests — what the rules look at.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::Path;

use anyhow::Result;

use super::Member;
use crate::digest::sha256_hex;
use crate::exit::{self, Exit};
use crate::package::manifest::urldecode;

#[derive(Debug)]
pub(super) struct Package {
    /// The file as read (compressed).
    pub raw: Vec<u8>,
    /// `zstd`, `xz` or `none`.
    pub compression: &'static str,
    /// Archive members, in order.
    pub members: Vec<Member>,
    /// Each regular file's content, by path.
    pub contents: BTreeMap<String, Vec<u8>>,
    /// `+MANIFEST` and `+COMPACT_MANIFEST` as JSON (`Null`: missing or not JSON).
    pub manifest: serde_json::Value,
    pub compact: serde_json::Value,
}

/// What to do about a damaged package.
const DAMAGED: &str = "the file is damaged or truncated: make it (or download it) again";

/// An input bsdx cannot read as a package: [`exit::UNREADABLE`].
fn unreadable(message: String) -> anyhow::Error {
    Exit {
        code: exit::UNREADABLE,
        message,
    }
    .into()
}

fn decompress(bytes: &[u8]) -> Result<(Vec<u8>, &'static str)> {
    if bytes.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        let mut out = Vec::new();
        zstd::stream::Decoder::new(bytes)?
            .read_to_end(&mut out)
            .map_err(|e| anyhow::anyhow!("corrupt zstd stream: {e}\n  fix: {DAMAGED}"))?;
        return Ok((out, "zstd"));
    }
    if bytes.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
        let mut out = Vec::new();
        xz2::read::XzDecoder::new(bytes)
            .read_to_end(&mut out)
            .map_err(|e| anyhow::anyhow!("corrupt xz stream: {e}\n  fix: {DAMAGED}"))?;
        return Ok((out, "xz"));
    }
    if bytes.len() > 262 && &bytes[257..262] == b"ustar" {
        return Ok((bytes.to_vec(), "none"));
    }
    anyhow::bail!("not a pkg(8) package: neither zstd, xz nor tar (gzip and bzip2 packages are not read by bsdx)\n  fix: pass a .pkg made by pkg create or bsdx package (a .pkg, .tzst or .txz file)")
}

impl Package {
    /// Read the package at `path`.
    pub fn read(path: &Path) -> Result<Package> {
        let raw = std::fs::read(path)
            .map_err(|e| unreadable(format!("cannot read {}: {e}", path.display())))?;
        Package::parse(raw, path)
    }

    /// Read a package's bytes; `path` names it in errors.
    pub fn parse(raw: Vec<u8>, path: &Path) -> Result<Package> {
        let (tar, compression) =
            decompress(&raw).map_err(|e| unreadable(format!("{}: {e:#}", path.display())))?;
        let mut members = Vec::new();
        let mut contents: BTreeMap<String, Vec<u8>> = BTreeMap::new();
        let mut archive = tar::Archive::new(tar.as_slice());
        let entries = archive.entries().map_err(|e| {
            unreadable(format!(
                "{}: not a tar archive inside: {e}\n  fix: {DAMAGED}",
                path.display()
            ))
        })?;
        for entry in entries {
            let mut e = entry.map_err(|e| {
                unreadable(format!(
                    "{}: corrupt tar member: {e}\n  fix: {DAMAGED}",
                    path.display()
                ))
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
        let json = |name: &str| -> serde_json::Value {
            contents
                .get(name)
                .and_then(|b| serde_json::from_slice(b).ok())
                .unwrap_or(serde_json::Value::Null)
        };
        Ok(Package {
            manifest: json("+MANIFEST"),
            compact: json("+COMPACT_MANIFEST"),
            raw,
            compression,
            members,
            contents,
        })
    }

    /// A string field of the manifest.
    pub fn field(&self, k: &str) -> Option<String> {
        self.manifest
            .get(k)
            .and_then(|v| v.as_str())
            .map(str::to_string)
    }

    /// `annotations.FreeBSD_version`, a string or a number.
    pub fn freebsd_version(&self) -> Option<u32> {
        self.manifest
            .get("annotations")
            .and_then(|a| a.get("FreeBSD_version"))
            .and_then(|v| {
                v.as_str()
                    .and_then(|s| s.parse().ok())
                    .or(v.as_u64().map(|n| n as u32))
            })
    }

    pub fn flatsize(&self) -> Option<u64> {
        self.manifest.get("flatsize").and_then(|f| f.as_u64())
    }

    /// The manifest's files (decoded paths) and their sums.
    pub fn listed(&self) -> BTreeMap<String, String> {
        self.manifest
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
            .unwrap_or_default()
    }

    /// The manifest's directories (decoded, no trailing `/`).
    pub fn dirs(&self) -> BTreeSet<String> {
        self.manifest
            .get("directories")
            .and_then(|d| d.as_object())
            .map(|o| {
                o.keys()
                    .map(|k| urldecode(k).trim_end_matches('/').to_string())
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn member(&self, path: &str) -> Option<&Member> {
        self.members.iter().find(|m| m.path == path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::package::archive::{compress, tar_bytes, Compression, Member as Add};

    /// A small real package, compressed `how`.
    pub(crate) fn package(how: Compression) -> Vec<u8> {
        let files = vec![Add {
            path: "/usr/local/bin/x".into(),
            data: Some(b"#!/bin/sh\n".to_vec()),
            mode: 0o755,
            uname: "root".into(),
            gname: "wheel".into(),
        }];
        let full = format!(
            r#"{{"name":"x","files":{{"/usr/local/bin/x":"1${}"}},"flatsize":10}}"#,
            sha256_hex(b"#!/bin/sh\n")
        );
        let tar = tar_bytes(r#"{"name":"x"}"#, &full, &files, 946684800).unwrap();
        compress(&tar, how).unwrap()
    }

    #[test]
    fn reads_each_compression_back() {
        for (how, name) in [
            (Compression::Zstd, "zstd"),
            (Compression::Xz, "xz"),
            (Compression::None, "none"),
        ] {
            let p = Package::parse(package(how), Path::new("x.pkg")).unwrap();
            assert_eq!(p.compression, name);
            let paths: Vec<&str> = p.members.iter().map(|m| m.path.as_str()).collect();
            assert_eq!(
                paths,
                ["+COMPACT_MANIFEST", "+MANIFEST", "/usr/local/bin/x"]
            );
            assert_eq!(p.field("name").as_deref(), Some("x"));
            assert_eq!(p.flatsize(), Some(10));
            assert_eq!(p.member("/usr/local/bin/x").unwrap().mode, "0755");
            assert_eq!(p.listed().len(), 1);
        }
    }

    #[test]
    fn not_a_package_is_unreadable_with_a_fix() {
        let e = Package::parse(b"PK\x03\x04 a zip".to_vec(), Path::new("x.zip")).unwrap_err();
        let exit = e.downcast_ref::<Exit>().unwrap();
        assert_eq!(exit.code, exit::UNREADABLE);
        assert!(exit.message.contains("not a pkg(8) package") && exit.message.contains("fix:"));
    }
}
