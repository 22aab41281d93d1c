//! The release's own files, kernel.txz and base.txz: fetched once,
//! verified, and the parts a boot needs extracted into the cache.
//!
//! * base.txz: verified against the pin in `data/releases.json`, the same
//!   download (`sysroot::fetch::download`) as `bsdx sysroot fetch`.
//! * kernel.txz: bsdx has no pins for it. Its SHA-256 comes from the lock
//!   file, recorded from the release's `MANIFEST` on first use
//!   ([`super::lock`]).
//! * `--kernel-txz FILE` / `--base-txz FILE`: local files, hashed; a local
//!   base.txz that is not the pinned one is used with a warning.
//!
//! Each is extracted once into the cache ([`super::tree`]). Archives are
//! untrusted exactly as in `bsdx sysroot extract` (one policy,
//! [`crate::archive`]): a member with an absolute or `..` path, a link that
//! leaves the archive, or a device file refuses the whole archive, naming
//! the member, and nothing is ever written through a link.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::cache;
use crate::model::release::catalog;
use crate::model::target::Target;
use crate::sysroot::Wanted;

use super::lock;
use super::tree::{extract, Dist, Tree, Trust};

/// `https://…/14.4-RELEASE/base.txz` -> the same directory's `name`.
fn sibling(url: &str, name: &str) -> String {
    match url.rsplit_once('/') {
        Some((dir, _)) => format!("{dir}/{name}"),
        None => name.to_string(),
    }
}

/// The URLs of `name` in the release directory, like base.txz's.
pub fn dist_urls(release: &str, target: &Target, mirror: Option<&str>, name: &str) -> Vec<String> {
    let base = match Wanted::new(release, target.machine, None) {
        Ok(w) => w.urls_with(mirror),
        Err(_) => {
            let w = Wanted {
                release: release.to_string(),
                arch: target.machine.to_string(),
                machine: target.machine.to_string(),
                machine_arch: target.machine_arch.to_string(),
                sha256: String::new(),
                urls: catalog().base_txz_urls(release, target.machine, target.machine_arch),
                size: None,
                single_source: false,
            };
            w.urls_with(mirror)
        }
    };
    base.iter().map(|u| sibling(u, name)).collect()
}

// ---------------------------------------------------------------- acquiring

/// Where the inputs come from.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    pub kernel_txz: Option<PathBuf>,
    pub base_txz: Option<PathBuf>,
    /// The lock file (default: [`lock::default_lock`]).
    pub lock: Option<PathBuf>,
    /// Mirrors, as for `bsdx sysroot fetch` (`BSDX_MIRROR`).
    pub mirror: Option<String>,
}

/// Both trees for a release and machine, fetched and extracted as needed.
pub fn acquire(release: &str, target: &Target, sources: &Sources) -> Result<(Tree, Tree)> {
    let base = match &sources.base_txz {
        Some(file) => local(Dist::Base, file, release, target)?,
        None => pinned_base(release, target, sources.mirror.as_deref())?,
    };
    let kernel = match &sources.kernel_txz {
        Some(file) => local(Dist::Kernel, file, release, target)?,
        None => {
            let lock = match &sources.lock {
                Some(l) => l.clone(),
                None => lock::default_lock()?,
            };
            locked_kernel(release, target, sources.mirror.as_deref(), &lock, &base)?
        }
    };
    Ok((kernel, base))
}

fn root() -> Result<PathBuf> {
    Ok(cache::dir()?.join("run").join("inputs"))
}

fn dir_for(dist: Dist, release: &str, target: &Target, sha256: &str) -> Result<PathBuf> {
    Ok(root()?.join(format!(
        "{}-{release}-{}-{}",
        dist.name(),
        target.machine,
        &sha256[..16]
    )))
}

fn local(dist: Dist, file: &Path, release: &str, target: &Target) -> Result<Tree> {
    let sha = crate::digest::sha256_file(file)?;
    let dir = dir_for(dist, release, target, &sha)?;
    if let Some(t) = Tree::open(&dir, &sha) {
        return Ok(t);
    }
    if dist == Dist::Base {
        if let Ok((_, pin)) = crate::sysroot::lookup(release, target.machine) {
            if pin.sha256 != sha {
                eprintln!(
                    "bsdx: warning: {} is not the pinned base.txz of FreeBSD {release} {} (sha256 {sha}, pinned {}); using it as given",
                    file.display(),
                    target.machine,
                    pin.sha256
                );
            }
        }
    }
    let trust = match crate::sysroot::lookup(release, target.machine) {
        Ok((_, pin)) if dist == Dist::Base && pin.sha256 == sha => Trust::Pinned,
        _ => Trust::Local,
    };
    let labels = (release.to_string(), target.machine.to_string());
    extract(
        dist,
        file,
        &file.display().to_string(),
        &dir,
        labels,
        trust,
        Some(&sha),
    )
}

fn pinned_base(release: &str, target: &Target, mirror: Option<&str>) -> Result<Tree> {
    let want = Wanted::new(release, target.machine, None).map_err(|e| {
        // The pin's own advice (--sha256) is `bsdx sysroot fetch`'s; here
        // the way out is a local file.
        let e = e.to_string();
        let why = e.lines().next().unwrap_or_default();
        anyhow::anyhow!(
            "FreeBSD {release} has no pinned base.txz for {} ({why})\n  fix: pass --base-txz FILE with the release's base.txz for {}",
            target.machine,
            target.machine
        )
    })?;
    let dir = dir_for(Dist::Base, release, target, &want.sha256)?;
    if let Some(t) = Tree::open(&dir, &want.sha256) {
        return Ok(t);
    }
    let urls = want.urls_with(mirror);
    download_and_extract(Dist::Base, &want, &urls, &dir, Trust::Pinned)
}

fn locked_kernel(
    release: &str,
    target: &Target,
    mirror: Option<&str>,
    lock_path: &Path,
    base: &Tree,
) -> Result<Tree> {
    let (sha, trust) = lock::kernel_sha256(release, target, mirror, lock_path, base)?;
    let dir = dir_for(Dist::Kernel, release, target, &sha)?;
    if let Some(t) = Tree::open(&dir, &sha) {
        return Ok(t);
    }
    let want = Wanted {
        release: release.to_string(),
        arch: target.machine.to_string(),
        machine: target.machine.to_string(),
        machine_arch: target.machine_arch.to_string(),
        sha256: sha,
        urls: vec![],
        size: None,
        single_source: false,
    };
    let urls = dist_urls(release, target, mirror, "kernel.txz");
    download_and_extract(Dist::Kernel, &want, &urls, &dir, trust)
}

fn download_and_extract(
    dist: Dist,
    want: &Wanted,
    urls: &[String],
    dir: &Path,
    trust: Trust,
) -> Result<Tree> {
    let root = root()?;
    std::fs::create_dir_all(&root).with_context(|| format!("cannot create {}", root.display()))?;
    let (tmp, url) = crate::sysroot::fetch::download(urls, want, &root)?;
    let labels = (want.release.clone(), want.arch.clone());
    let tree = extract(
        dist,
        tmp.path(),
        &url,
        dir,
        labels,
        trust,
        Some(&want.sha256),
    );
    drop(tmp);
    tree
}

// ---------------------------------------------------------------- extraction
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_directory_urls() {
        let t = Target::parse("amd64").unwrap();
        let u = dist_urls("14.4", &t, None, "MANIFEST");
        assert_eq!(
            u[0],
            "https://download.freebsd.org/releases/amd64/amd64/14.4-RELEASE/MANIFEST"
        );
        let u = dist_urls("14.4", &t, Some("file:///m"), "kernel.txz");
        assert_eq!(u, ["file:///m/amd64/amd64/14.4-RELEASE/kernel.txz"]);
        let a = Target::parse("arm64").unwrap();
        assert_eq!(
            dist_urls("13.2", &a, None, "kernel.txz")[0],
            "https://download.freebsd.org/releases/arm64/aarch64/13.2-RELEASE/kernel.txz"
        );
    }
}
