//! `bsdx repo`: a pkg(8) repository from the .pkg files in a directory —
//! the catalog a FreeBSD host fetches (`meta.conf`, `data.pkg`,
//! `packagesite.pkg`), signed with an RSA key the way pkg verifies
//! `signature_type: "pubkey"` — and the host's repository configuration.
//!
//! Formats are read from freebsd/pkg (master `13f9f98` of 2026-08-21 and
//! the tags and commits named in each module): [`catalog`]
//! (`libpkg/pkg_repo_create.c`, `pkg_manifest.c`, `repo/binary/update.c`),
//! [`meta`] (`libpkg/pkg_repo_meta.c`), [`sign`] (`libpkg/pkgsign_ossl.c`,
//! `rsa.c`, `pkg_repo.c`). [`write`] builds, [`verify`] reads back.

use std::path::PathBuf;

use schemars::JsonSchema;
use serde::Serialize;

pub mod catalog;
pub mod meta;
pub mod read;
pub mod sign;
pub mod verify;
pub mod write;

pub use verify::verify;
pub use write::build;

/// Version of `bsdx repo --json`.
pub const SCHEMA: u32 = 1;

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Package {
    /// Relative to the repository directory (the catalog's `repopath`).
    pub path: String,
    pub name: String,
    pub version: String,
    pub abi: String,
    /// `annotations.FreeBSD_version`: the oldest userland it installs on.
    pub freebsd_version: Option<u32>,
    pub size: u64,
    /// SHA-256 of the .pkg file: the catalog's `sum`.
    pub sha256: String,
    /// In the catalog; `false` for an older version of a listed name (kept
    /// on disk for `pkg add URL` roll-backs, not offered to `pkg install`).
    pub listed: bool,
    /// Sum and manifest taken from the cache (same size and mtime as last
    /// time), not read again.
    pub cached: bool,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Catalog {
    pub data_pkg: PathBuf,
    pub data_pkg_sha256: String,
    /// SHA-256 of the `data` file inside (the string the signature covers).
    pub data_sha256: String,
    pub packagesite_pkg: PathBuf,
    pub packagesite_pkg_sha256: String,
    /// SHA-256 of `packagesite.yaml` inside.
    pub packagesite_yaml_sha256: String,
    pub meta_conf: PathBuf,
}

/// What `bsdx repo DIR` wrote.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Report {
    pub schema: u32,
    pub dir: PathBuf,
    pub packages: Vec<Package>,
    /// The one ABI of the listed packages.
    pub abi: String,
    /// The highest `FreeBSD_version` of the listed packages: on an older
    /// userland `pkg update` fails for the whole catalog
    /// (`repo/binary/update.c`: "repository %s contains packages for wrong
    /// OS version"; `utils.c` `is_valid_os_version` asks first within the
    /// same major, default no; IGNORE_OSVERSION skips it).
    pub requires_freebsd_version: Option<u32>,
    /// The catalog carries signatures (`--key`).
    pub signed: bool,
    /// SHA-256 of the public key's PEM text, when signed.
    pub public_key_sha256: Option<String>,
    pub catalog: Catalog,
    /// `false` when the catalog was already exactly this (nothing rewritten).
    pub written: bool,
}

impl Report {
    pub fn render(&self) -> String {
        let mut o = String::new();
        for p in &self.packages {
            o.push_str(&format!(
                "  {} {}-{} {} ({} bytes, sha256 {}){}\n",
                if p.listed { "+" } else { " " },
                p.name,
                p.version,
                p.path,
                p.size,
                p.sha256,
                match (p.listed, p.cached) {
                    (false, _) => " — older version, not in the catalog",
                    (true, true) => " (cached)",
                    (true, false) => "",
                }
            ));
        }
        if let Some(v) = self.requires_freebsd_version {
            o.push_str(&format!(
                "  hosts need FreeBSD_version >= {v}: on an older userland `pkg update` fails for the whole catalog (\"contains packages for wrong OS version\")\n"
            ));
        }
        o.push_str(&format!(
            "  {} package(s) in the catalog for {}, {}; {}\n",
            self.packages.iter().filter(|p| p.listed).count(),
            self.abi,
            if self.signed {
                "signed (RSA)"
            } else {
                "UNSIGNED: hosts cannot tell a tampered catalog (pass --key)"
            },
            if self.written {
                "data.pkg, packagesite.pkg and meta.conf written"
            } else {
                "unchanged"
            }
        ));
        o
    }
}

/// What `bsdx repo --print-conf URL` prints.
#[derive(Debug, Serialize, JsonSchema)]
pub struct HostConf {
    pub name: String,
    pub url: String,
    pub conf_path: String,
    pub conf: String,
    pub pubkey_path: Option<String>,
    pub pubkey: Option<String>,
    /// A shell script that installs both and runs `pkg update -r NAME`.
    pub script: String,
}

/// Whether `name` can name a repository (a UCL key and a file name).
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// The host's `/usr/local/etc/pkg/repos/NAME.conf` (pkg.conf(5), section
/// REPOSITORY CONFIGURATION) for `url`, and the public key to install when
/// the repository is signed.
pub fn host_conf(name: &str, url: &str, pubkey: Option<&rsa::RsaPublicKey>) -> HostConf {
    let conf_path = format!("/usr/local/etc/pkg/repos/{name}.conf");
    let pubkey_path = pubkey.map(|_| format!("/usr/local/etc/pkg/keys/{name}.pub"));
    let pem = pubkey.map(sign::public_pem);
    let url_q = serde_json::to_string(url).expect("a string");
    let conf = match &pubkey_path {
        Some(p) => format!(
            "{name}: {{\n  url: {url_q},\n  signature_type: \"pubkey\",\n  pubkey: \"{p}\",\n  enabled: yes\n}}\n"
        ),
        None => format!(
            "# UNSIGNED: pkg cannot tell a tampered catalog from this server's (build with `bsdx repo DIR --key KEY.pem`)\n{name}: {{\n  url: {url_q},\n  signature_type: \"none\",\n  enabled: yes\n}}\n"
        ),
    };
    let mut script = String::from("#!/bin/sh\n# Run as root on each FreeBSD host.\nset -e\n");
    if let (Some(p), Some(k)) = (&pubkey_path, &pem) {
        script.push_str(&format!(
            "mkdir -p /usr/local/etc/pkg/keys\ncat > {p} <<'EOF'\n{k}EOF\n"
        ));
    }
    script.push_str(&format!(
        "mkdir -p /usr/local/etc/pkg/repos\ncat > {conf_path} <<'EOF'\n{conf}EOF\npkg update -r {name}\n"
    ));
    HostConf {
        name: name.to_string(),
        url: url.to_string(),
        conf_path,
        conf,
        pubkey_path,
        pubkey: pem,
        script,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_an_unsigned_host_conf() {
        assert!(valid_name("fleet") && valid_name("my_repo-2"));
        for bad in ["", "2x", "../x", "a b", "a.conf", &"x".repeat(65)] {
            assert!(!valid_name(bad), "{bad}");
        }
        let c = host_conf("fleet", "https://h/${ABI}", None);
        assert!(c.conf.contains("signature_type: \"none\""), "{}", c.conf);
        assert!(c.conf.contains("url: \"https://h/${ABI}\""), "{}", c.conf);
        assert_eq!(c.pubkey, None);
        assert!(!c.script.contains("keys"), "{}", c.script);
        assert!(c.script.ends_with("pkg update -r fleet\n"));
    }
}
