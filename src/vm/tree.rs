//! An extracted distribution file in the cache: what bsdx keeps of
//! kernel.txz and base.txz ([`Dist::wanted`], the selector handed to
//! [`crate::archive::extract`]), under
//! `$BSDX_CACHE_DIR/run/inputs/<dist>-<release>-<arch>-<sha>`, staged beside
//! it and renamed into place with its marker (`bsdx-run-input.json`) last,
//! so a directory without the marker is garbage. Regular files are written
//! as files, relative symlinks as symlinks, hard links as copies; absolute
//! symlinks (etc/termcap -> /usr/share/...) are left out.

use std::collections::BTreeMap;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use crate::archive::{self, join_inside, Kind, Stop};
use crate::cache;
use crate::sysroot::SysrootError;

use super::guest::{ETC_FILES, EXTRA_TOOLS, KERNEL_MODULES, REQUIRED_TOOLS};

/// Version of the extracted trees' marker.
pub const SCHEMA: u32 = 1;
pub const MARKER: &str = "bsdx-run-input.json";

/// Which distribution file, and what bsdx keeps of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Dist {
    Kernel,
    Base,
}

impl Dist {
    pub fn file(self) -> &'static str {
        match self {
            Dist::Kernel => "kernel.txz",
            Dist::Base => "base.txz",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Dist::Kernel => "kernel",
            Dist::Base => "base",
        }
    }

    /// Whether bsdx keeps the member at `path` (normalized components).
    pub fn wanted(self, path: &[String]) -> bool {
        let joined = path.join("/");
        match self {
            Dist::Kernel => match path {
                [b, k, f] if b == "boot" && k == "kernel" => {
                    f == "kernel" || KERNEL_MODULES.contains(&f.as_str())
                }
                _ => false,
            },
            Dist::Base => match path {
                [b, first, ..] if b == "boot" => {
                    !matches!(first.as_str(), "dtb" | "firmware" | "modules" | "zfs")
                        && !first.starts_with("kernel")
                }
                [l, f] if l == "libexec" => f == "ld-elf.so.1",
                [l, .., f] if l == "lib" => f.contains(".so"),
                [u, l, f] if u == "usr" && l == "lib" => f.contains(".so"),
                _ => {
                    REQUIRED_TOOLS.contains(&joined.as_str())
                        || EXTRA_TOOLS.contains(&joined.as_str())
                        || ETC_FILES.contains(&joined.as_str())
                }
            },
        }
    }
}

/// One kept file.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Entry {
    pub size: u64,
    /// Permission bits from the archive (setuid and the like dropped).
    pub mode: u32,
}

/// `bsdx-run-input.json`: what an extracted tree holds and where it came from.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TreeMarker {
    pub schema: u32,
    pub dist: Dist,
    pub release: String,
    pub arch: String,
    /// SHA-256 of the whole .txz, computed while extracting.
    pub sha256: String,
    /// Where it came from (a URL or a path).
    pub source: String,
    /// How its SHA-256 was established.
    pub trust: Trust,
    /// Regular files, by archive path (`lib/libc.so.7`).
    pub files: BTreeMap<String, Entry>,
    /// Symbolic links: archive path -> link text (relative, inside the archive).
    pub links: BTreeMap<String, String>,
}

/// How bsdx knows the file is the right one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case", tag = "how")]
pub enum Trust {
    /// Matched the pin in data/releases.json.
    Pinned,
    /// Matched the lock file (recorded earlier from the release's MANIFEST).
    Locked { lock: PathBuf },
    /// Recorded just now from the release's MANIFEST: trust on first use.
    FirstUse { manifest: String, lock: PathBuf },
    /// A local file the user gave, not matched against anything.
    Local,
}

impl Trust {
    pub fn describe(&self) -> String {
        match self {
            Trust::Pinned => "SHA-256 pinned in data/releases.json".into(),
            Trust::Locked { lock } => format!(
                "SHA-256 from {} (recorded from the release's MANIFEST on first use)",
                lock.display()
            ),
            Trust::FirstUse { manifest, lock } => format!(
                "SHA-256 taken from {manifest} and recorded in {} just now: trust on first use",
                lock.display()
            ),
            Trust::Local => "a local file, used as given".into(),
        }
    }
}

/// An extracted tree in the cache.
#[derive(Debug, Clone)]
pub struct Tree {
    pub dir: PathBuf,
    pub marker: TreeMarker,
}

impl Tree {
    /// The tree in `dir`, if it is a finished one holding `sha256`.
    pub fn open(dir: &Path, sha256: &str) -> Option<Tree> {
        let text = std::fs::read_to_string(dir.join(MARKER)).ok()?;
        let marker: TreeMarker = serde_json::from_str(&text).ok()?;
        (marker.schema == SCHEMA && marker.sha256 == sha256).then(|| Tree {
            dir: dir.to_path_buf(),
            marker,
        })
    }

    /// The file an archive path names, following the archive's own links
    /// (by their text, never through the file system).
    pub fn resolve(&self, path: &str) -> Option<String> {
        let mut at = path.to_string();
        for _ in 0..32 {
            if self.marker.files.contains_key(&at) {
                return Some(at);
            }
            at = self.resolve_step(&at)?;
        }
        None
    }

    /// Where a link at `path` points, as an archive path (one step).
    pub fn resolve_step(&self, path: &str) -> Option<String> {
        let text = self.marker.links.get(path)?;
        let comps: Vec<String> = path.split('/').map(str::to_string).collect();
        join_inside(&comps[..comps.len() - 1], text).map(|p| p.join("/"))
    }

    /// The file on disk for an archive path of a regular file.
    pub fn path(&self, archive_path: &str) -> PathBuf {
        self.dir.join(archive_path)
    }
}

/// Extract what `dist` keeps of `txz` into `out` (staged, then renamed);
/// with `expect`, the archive's SHA-256 must be that.
pub fn extract(
    dist: Dist,
    txz: &Path,
    source: &str,
    out: &Path,
    (release, arch): (String, String),
    trust: Trust,
    expect: Option<&str>,
) -> Result<Tree> {
    if let Some(t) = expect.and_then(|sha| Tree::open(out, sha)) {
        return Ok(t);
    }
    remove_unfinished(out)?;
    let staging = cache::staging_dir(out)?;
    let mut files = Files::new();
    let mut links = Links::new();
    let what = format!("FreeBSD's {}", dist.file());
    let sha256 = archive::extract(txz, source, &what, &mut |mut m| {
        keep(dist, &mut m, staging.path(), &mut files, &mut links)
    })?;
    if let Some(e) = expect.filter(|e| *e != sha256) {
        return Err(SysrootError::Mismatch {
            url: source.to_string(),
            expected: e.to_string(),
            got: sha256,
        }
        .into());
    }
    if files.is_empty() {
        bail!(
            "{source} holds nothing bsdx needs from a {}: is it FreeBSD's {} for the release?\n  fix: pass the {} of FreeBSD {release} {arch} (from a FreeBSD mirror), or leave the option out to download it",
            dist.file(),
            dist.file(),
            dist.file()
        );
    }
    let marker = TreeMarker {
        schema: SCHEMA,
        dist,
        release,
        arch,
        sha256,
        source: source.to_string(),
        trust,
        files,
        links,
    };
    std::fs::write(
        staging.path().join(MARKER),
        serde_json::to_string_pretty(&marker)? + "\n",
    )
    .context("cannot write the marker")?;
    if let Err(e) = cache::publish(staging, out) {
        // Another bsdx may have finished the same directory first.
        return Tree::open(out, &marker.sha256).ok_or(e);
    }
    Ok(Tree {
        dir: out.to_path_buf(),
        marker,
    })
}

fn remove_unfinished(dir: &Path) -> Result<()> {
    match std::fs::symlink_metadata(dir) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(dir).with_context(|| {
            format!(
                "cannot remove the unfinished {}\n  fix: remove it yourself",
                dir.display()
            )
        }),
        _ => std::fs::remove_file(dir)
            .with_context(|| format!("cannot remove {}\n  fix: remove it yourself", dir.display())),
    }
}

type Files = BTreeMap<String, Entry>;
type Links = BTreeMap<String, String>;

/// The selector: write what `dist` keeps under `root` (symlinks as
/// symlinks, hard links as copies; absolute symlinks such as
/// etc/termcap -> /usr/share/... are left out).
fn keep(
    dist: Dist,
    m: &mut archive::Member<'_>,
    root: &Path,
    files: &mut Files,
    links: &mut Links,
) -> Result<(), Stop> {
    if !dist.wanted(&m.path) {
        return Ok(());
    }
    match m.kind.clone() {
        Kind::Symlink { text, .. } => {
            let at = archive::place(root, &m.path)?;
            std::os::unix::fs::symlink(&text, &at)
                .with_context(|| format!("cannot create {}", at.display()))?;
            links.insert(m.joined(), text);
        }
        Kind::HardLink { target } => {
            let t = target.join("/");
            if let Some(e) = files.get(&t).cloned() {
                let at = archive::place(root, &m.path)?;
                let from = root.join(&t);
                let copy = || -> Result<()> {
                    let mut to = archive::create(&at, e.mode)?;
                    io::copy(&mut File::open(&from)?, &mut to)?;
                    Ok(())
                };
                copy().with_context(|| {
                    format!("cannot copy {} to {}", from.display(), at.display())
                })?;
                files.insert(m.joined(), e);
            }
        }
        Kind::File { mode, .. } => {
            let mode = mode & 0o755;
            let key = m.joined();
            let at = archive::place(root, &m.path)?;
            if files.remove(&key).is_some() {
                std::fs::remove_file(&at)
                    .with_context(|| format!("cannot replace {}", at.display()))?;
            }
            let size = m.write_new(&at, mode, &[])?;
            files.insert(key, Entry { size, mode });
        }
        Kind::AbsoluteSymlink { .. } | Kind::Other => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Vec<String> {
        s.split('/').map(str::to_string).collect()
    }

    #[test]
    fn what_is_kept() {
        for yes in [
            "boot/cdboot",
            "boot/lua/loader.lua",
            "boot/defaults/loader.conf",
            "libexec/ld-elf.so.1",
            "lib/libc.so.7",
            "lib/casper/libcap_dns.so.2",
            "usr/lib/libkvm.so",
            "bin/sh",
            "etc/pwd.db",
        ] {
            assert!(Dist::Base.wanted(&p(yes)), "{yes}");
        }
        for no in [
            "boot/kernel/kernel",
            "boot/dtb/x.dtb",
            "usr/lib/libc.a",
            "usr/bin/cc",
            "etc/master.passwd",
            "usr/lib/debug/lib/libc.so.7.debug/x",
        ] {
            assert!(!Dist::Base.wanted(&p(no)), "{no}");
        }
        assert!(Dist::Kernel.wanted(&p("boot/kernel/kernel")));
        assert!(Dist::Kernel.wanted(&p("boot/kernel/tmpfs.ko")));
        assert!(!Dist::Kernel.wanted(&p("boot/kernel/if_em.ko")));
    }
}
