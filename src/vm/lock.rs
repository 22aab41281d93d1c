//! `bsdx.lock`: trust on first use for kernel.txz. bsdx has no pins for
//! kernel.txz; its SHA-256 comes from the release's `MANIFEST` (field 1 the
//! file name, field 2 the SHA-256) the first time and is recorded in the
//! lock file ([`Lock`], `bsdx.lock` in the project), which later runs
//! verify against and which can be committed. The first MANIFEST is
//! believed, but only when its base.txz line agrees with bsdx's pin, so a
//! MANIFEST that lies about base.txz is refused. bsdx never invents a hash.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use crate::model::target::Target;

use super::inputs::dist_urls;
use super::tree::{Tree, Trust};

/// `bsdx.lock`: the kernel.txz hashes recorded on first use.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct Lock {
    pub schema: u32,
    #[serde(default)]
    pub about: String,
    /// `<release>-<arch>` -> what was recorded.
    #[serde(default)]
    pub kernel_txz: BTreeMap<String, Locked>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Locked {
    pub sha256: String,
    /// The MANIFEST it was read from.
    pub manifest: String,
    pub recorded_by: String,
}

const LOCK_ABOUT: &str = "Written by `bsdx run`: the SHA-256 of each FreeBSD kernel.txz bsdx has booted, read from the release's MANIFEST the first time (trust on first use: bsdx pins base.txz, not kernel.txz). Later runs verify kernel.txz against these. Commit this file so every machine boots the same kernel; delete an entry to record it afresh.";

impl Lock {
    pub fn read(path: &Path) -> Result<Lock> {
        match std::fs::read_to_string(path) {
            Ok(text) => serde_json::from_str(&text).map_err(|e| {
                anyhow::anyhow!(
                    "{} is not a bsdx lock file ({e})\n  fix: repair it, or remove it to record the hashes again",
                    path.display()
                )
            }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Lock {
                schema: 1,
                ..Lock::default()
            }),
            Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
        }
    }

    /// Write it (a temporary file beside it, then renamed).
    pub fn write(&self, path: &Path) -> Result<()> {
        let mut lock = self.clone();
        lock.schema = 1;
        lock.about = LOCK_ABOUT.into();
        let tmp = path.with_extension("lock.tmp");
        std::fs::write(&tmp, serde_json::to_string_pretty(&lock)? + "\n")
            .with_context(|| format!("cannot write {}", tmp.display()))?;
        std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))
    }
}

/// The key of a release and architecture in the lock (`14.4-amd64`).
pub fn lock_key(release: &str, target: &Target) -> String {
    format!("{release}-{}", target.machine)
}

/// The default lock file: `bsdx.lock` at the Cargo workspace root, or in
/// the current directory outside one.
pub fn default_lock() -> Result<PathBuf> {
    Ok(crate::env::Paths::current()?.project.join("bsdx.lock"))
}

// ---------------------------------------------------------------- MANIFEST

/// The SHA-256 of `file` in a release's MANIFEST (tab-separated: name,
/// sha256, file count, set name, description, default).
pub fn manifest_sha256(manifest: &str, file: &str) -> Option<String> {
    manifest.lines().find_map(|l| {
        let mut f = l.split('\t');
        let (name, sha) = (f.next()?, f.next()?);
        let ok = name == file && sha.len() == 64 && sha.bytes().all(|b| b.is_ascii_hexdigit());
        ok.then(|| sha.to_ascii_lowercase())
    })
}

fn fetch_text(url: &str) -> Result<String, String> {
    if let Some(path) = crate::sysroot::fetch::file_url_path(url) {
        return std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()));
    }
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        return Err("unsupported URL (use https://, http:// or file:///absolute/path)".into());
    }
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(60)))
        .user_agent(concat!("bsdx/", env!("CARGO_PKG_VERSION")))
        .build()
        .into();
    let mut response = agent.get(url).call().map_err(|e| e.to_string())?;
    response
        .body_mut()
        .with_config()
        .limit(1 << 20)
        .read_to_string()
        .map_err(|e| e.to_string())
}

/// The release's MANIFEST, from the first URL that has it.
fn manifest(release: &str, target: &Target, mirror: Option<&str>) -> Result<(String, String)> {
    let mut tried = Vec::new();
    for url in dist_urls(release, target, mirror, "MANIFEST") {
        match fetch_text(&url) {
            Ok(text) => return Ok((url, text)),
            Err(e) => tried.push(format!("  {url}: {e}")),
        }
    }
    bail!(
        "cannot fetch the MANIFEST of FreeBSD {release} {}, which names kernel.txz's SHA-256; tried:\n{}\n  fix: check the network, set BSDX_MIRROR, or pass --kernel-txz FILE with a kernel.txz you have",
        target.machine,
        tried.join("\n")
    )
}

// ---------------------------------------------------------------- trust on first use

/// The SHA-256 kernel.txz must have, and how bsdx knows it: from the lock
/// file, else from the release's MANIFEST (checked against bsdx's base.txz
/// pin), recorded in the lock file just now (trust on first use).
pub fn kernel_sha256(
    release: &str,
    target: &Target,
    mirror: Option<&str>,
    lock_path: &Path,
    base: &Tree,
) -> Result<(String, Trust)> {
    let mut lock = Lock::read(lock_path)?;
    let key = lock_key(release, target);
    let (sha, trust) = match lock.kernel_txz.get(&key) {
        Some(l) => (
            l.sha256.clone(),
            Trust::Locked {
                lock: lock_path.to_path_buf(),
            },
        ),
        None => {
            let (url, text) = manifest(release, target, mirror)?;
            let sha = manifest_sha256(&text, "kernel.txz").with_context(|| {
                format!(
                    "{url} lists no kernel.txz with a SHA-256: is it a FreeBSD release MANIFEST?\n  fix: check BSDX_MIRROR, or pass --kernel-txz FILE with a kernel.txz you have"
                )
            })?;
            match (manifest_sha256(&text, "base.txz"), crate::sysroot::lookup(release, target.machine)) {
                (Some(b), Ok((_, pin))) if b != pin.sha256 => bail!(
                    "{url} says base.txz has SHA-256 {b}, but bsdx pins {} for FreeBSD {release} {}: refusing to trust its kernel.txz hash\n  fix: check where that MANIFEST came from (BSDX_MIRROR?), or pass --kernel-txz FILE",
                    pin.sha256, target.machine
                ),
                (None, _) => eprintln!("bsdx: warning: {url} lists no base.txz to compare with bsdx's pin"),
                _ => {}
            }
            if base.marker.trust == Trust::Local {
                eprintln!("bsdx: note: the base.txz in use is a local file; the kernel.txz hash still comes from {url}");
            }
            eprintln!(
                "bsdx: kernel.txz of FreeBSD {release} {}: SHA-256 {sha} from {url}, recorded in {} (trust on first use: commit that file to pin it)",
                target.machine,
                lock_path.display()
            );
            lock.kernel_txz.insert(
                key.clone(),
                Locked {
                    sha256: sha.clone(),
                    manifest: url.clone(),
                    recorded_by: concat!("bsdx ", env!("CARGO_PKG_VERSION")).into(),
                },
            );
            if let Err(e) = lock.write(lock_path) {
                eprintln!("bsdx: warning: {e:#}; the hash is used for this run only");
            }
            (
                sha,
                Trust::FirstUse {
                    manifest: url,
                    lock: lock_path.to_path_buf(),
                },
            )
        }
    };
    Ok((sha, trust))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lock_file_round_trips_and_a_broken_one_says_what_to_do() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("bsdx.lock");
        let empty = Lock::read(&path).unwrap();
        assert_eq!((empty.schema, empty.kernel_txz.len()), (1, 0));
        let mut lock = empty;
        lock.kernel_txz.insert(
            "14.4-amd64".into(),
            Locked {
                sha256: "ab".repeat(32),
                manifest: "file:///m/MANIFEST".into(),
                recorded_by: "bsdx test".into(),
            },
        );
        lock.write(&path).unwrap();
        let back = Lock::read(&path).unwrap();
        assert_eq!(back.kernel_txz["14.4-amd64"].sha256, "ab".repeat(32));
        assert!(back.about.contains("trust on first use"), "{}", back.about);
        assert!(!d.path().join("bsdx.lock.tmp").exists());
        std::fs::write(&path, "not json").unwrap();
        let e = Lock::read(&path).unwrap_err().to_string();
        assert!(e.contains("is not a bsdx lock file ("), "{e}");
        assert!(
            e.ends_with("\n  fix: repair it, or remove it to record the hashes again"),
            "{e}"
        );
    }

    #[test]
    fn manifest_fields() {
        let m = "base.txz\t769f60a6eea2938a5c4c2d6d1c4f69e63bd0b46b52c4a7a1f04ce8cb1e07b7d0\t27283\tbase\t\"Base system (MANDATORY)\"\ton\nkernel.txz\tABCDEF0123456789abcdef0123456789abcdef0123456789abcdef0123456789\t900\tkernel\t\"Kernel (MANDATORY)\"\ton\n";
        assert_eq!(
            manifest_sha256(m, "kernel.txz").unwrap(),
            "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789"
        );
        assert!(manifest_sha256(m, "base.txz")
            .unwrap()
            .starts_with("769f60a6"));
        assert_eq!(manifest_sha256(m, "lib32.txz"), None);
        assert_eq!(
            manifest_sha256("kernel.txz\tnot-a-hash\n", "kernel.txz"),
            None
        );
    }
}
