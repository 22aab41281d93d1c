//! Using an extracted FreeBSD base (`--sysroot DIR`, laid out like base.txz:
//! `lib/`, `usr/lib/`, relative symlinks) for linking.
//!
//! bsdx never hands the sysroot's `usr/lib` to the linker: it holds
//! `libc.so`/`libc++.so` linker scripts with absolute paths that would name
//! the build machine's files. Instead it builds a clean link directory of
//! symlinks to the real shared libraries, leaving out everything Zig
//! provides itself.
//!
//! A sysroot made by `bsdx sysroot extract/fetch` (it has the marker
//! `bsdx-sysroot.json`) is clean already: its `lib/` holds only shared
//! libraries and relative links, so it is the link directory as it is,
//! and nothing is written (a read-only Nix store path works).

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use anyhow::Result;
use serde::Serialize;

use crate::cache;
use crate::error::Error;
use crate::model::release::catalog;

#[derive(Debug, Clone, Serialize)]
pub struct LinkDir {
    pub dir: PathBuf,
    /// link name (`kvm`) -> soname (`libkvm.so.7`)
    pub libraries: BTreeMap<String, String>,
}

/// Resolve `path` (inside `root`) through symlinks, treating absolute link
/// targets as relative to `root`, as they would be on the FreeBSD host.
/// Returns `None` if it leaves `root`, loops, or does not exist.
fn resolve_in(root: &Path, rel: &Path) -> Option<PathBuf> {
    let mut rel = rel.to_path_buf();
    for _ in 0..32 {
        let full = root.join(&rel);
        let meta = std::fs::symlink_metadata(&full).ok()?;
        if !meta.file_type().is_symlink() {
            return meta.is_file().then_some(full);
        }
        let target = std::fs::read_link(&full).ok()?;
        let joined = if target.is_absolute() {
            target
        } else {
            Path::new("/").join(rel.parent()?).join(target)
        };
        let mut norm = PathBuf::new();
        for c in joined.components() {
            match c {
                Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
                Component::ParentDir => {
                    norm.pop();
                }
                Component::Normal(n) => norm.push(n),
            }
        }
        rel = norm;
    }
    None
}

/// A shared library found in a sysroot.
pub struct SharedLib {
    /// The file it resolves to, inside the sysroot.
    pub real: PathBuf,
    pub soname: String,
}

/// Every `lib*.so*` entry in `lib/` and `usr/lib/` that resolves (inside the
/// sysroot) to an ELF file with a DT_SONAME, in a stable order. Linker
/// scripts, static archives and dangling or escaping links are skipped.
pub fn shared_libraries(sysroot: &Path) -> Vec<SharedLib> {
    let mut out = Vec::new();
    for sub in ["lib", "usr/lib"] {
        let Ok(entries) = std::fs::read_dir(sysroot.join(sub)) else {
            continue;
        };
        let mut names: Vec<String> = entries
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        for name in names {
            if !(name.starts_with("lib") && name.contains(".so")) {
                continue;
            }
            let listed = Path::new(sub).join(&name);
            let Some(real) = resolve_in(sysroot, &listed) else {
                continue;
            };
            let Ok(bytes) = std::fs::read(&real) else {
                continue;
            };
            let Ok(elf) = goblin::elf::Elf::parse(&bytes) else {
                continue;
            };
            let Some(soname) = elf.soname.map(str::to_string) else {
                continue;
            };
            out.push(SharedLib { real, soname });
        }
    }
    out
}

/// The link directory for `sysroot`: the `lib/` of a sysroot made by
/// `bsdx sysroot`, else a clean directory of symlinks built (or reused) in
/// the cache.
pub fn link_dir(sysroot: &Path) -> Result<LinkDir> {
    let sysroot = std::fs::canonicalize(sysroot)
        .map_err(|e| {
            anyhow::anyhow!(
                "--sysroot {} does not exist ({e})\n  fix: give the directory `bsdx sysroot fetch` printed (or one extracted from base.txz), or use --stubs",
                sysroot.display()
            )
        })?;
    if !sysroot.join("lib").is_dir() && !sysroot.join("usr/lib").is_dir() {
        anyhow::bail!(
            "--sysroot {} has neither lib/ nor usr/lib/; it must be a directory extracted from a FreeBSD base.txz\n  fix: bsdx sysroot fetch --release R (prints one), bsdx sysroot extract BASE_TXZ --out DIR, or tar -xf base.txz -C DIR ./lib ./usr/lib; or use --stubs",
            sysroot.display()
        );
    }
    let found = link_libraries(&sysroot)?;
    let libraries = found
        .iter()
        .map(|(k, (s, _))| (k.clone(), s.clone()))
        .collect();
    if let Some(dir) = extracted_lib_dir(&sysroot, &found) {
        return Ok(LinkDir { dir, libraries });
    }
    let dir = cached_link_dir(&sysroot, &found)?;
    Ok(LinkDir { dir, libraries })
}

/// The libraries to link against, by link name: (soname, real file).
/// Everything Zig provides is left out; the ones cargo-zigbuild filters
/// must be there.
fn link_libraries(sysroot: &Path) -> Result<BTreeMap<String, (String, PathBuf)>> {
    let mut found: BTreeMap<String, (String, PathBuf)> = BTreeMap::new();
    for lib in shared_libraries(sysroot) {
        let link = crate::model::abi::link_name(&lib.soname).to_string();
        if catalog().zig_provides(&link) || found.contains_key(&link) {
            continue;
        }
        found.insert(link, (lib.soname, lib.real));
    }
    for need in &catalog().cargo_zigbuild_filtered {
        if !found.contains_key(need) {
            return Err(Error::SysrootMissingLibrary {
                sysroot: sysroot.to_path_buf(),
                library: format!("lib{need}.so.*"),
            }
            .into());
        }
    }
    Ok(found)
}

/// `sysroot/lib` when `bsdx sysroot` made the sysroot (it has the marker)
/// and every library is there under its soname.
fn extracted_lib_dir(
    sysroot: &Path,
    found: &BTreeMap<String, (String, PathBuf)>,
) -> Option<PathBuf> {
    if !sysroot.join(super::MARKER).is_file() {
        return None;
    }
    let dir = sysroot.join("lib");
    found
        .values()
        .all(|(soname, _)| !soname.contains('/') && dir.join(soname).is_file())
        .then_some(dir)
}

/// Build (or reuse) the clean link directory for a raw sysroot in the cache.
fn cached_link_dir(sysroot: &Path, found: &BTreeMap<String, (String, PathBuf)>) -> Result<PathBuf> {
    let mut listing = Vec::new();
    for (link, (soname, real)) in found {
        let size = std::fs::metadata(real)?.len();
        listing.push(format!("{link}\0{soname}\0{}\0{size}", real.display()));
    }
    let key = cache::key(&[
        sysroot.as_os_str().as_encoded_bytes(),
        listing.join("\n").as_bytes(),
    ]);
    let dir = cache::dir()?.join("linkdirs").join(key);
    if dir.join(".complete").is_file() {
        return Ok(dir);
    }
    let staging = cache::staging_dir(&dir)?;
    for (link, (soname, real)) in found {
        std::os::unix::fs::symlink(real, staging.path().join(soname))?;
        let dev = format!("lib{link}.so");
        if &dev != soname {
            std::os::unix::fs::symlink(soname, staging.path().join(dev))?;
        }
    }
    std::fs::write(
        staging.path().join(".complete"),
        sysroot.as_os_str().as_encoded_bytes(),
    )?;
    if cache::publish(staging, &dir).is_err() && !dir.join(".complete").is_file() {
        anyhow::bail!(
            "cannot create the link directory {}\n  fix: make $BSDX_CACHE_DIR (default ~/.cache/bsdx) a writable directory",
            dir.display()
        );
    }
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_relative_and_absolute_links_inside_the_root() {
        let root = tempfile::tempdir().unwrap();
        let r = root.path();
        std::fs::create_dir_all(r.join("lib")).unwrap();
        std::fs::create_dir_all(r.join("usr/lib")).unwrap();
        std::fs::write(r.join("lib/libkvm.so.7"), b"x").unwrap();
        std::os::unix::fs::symlink("../../lib/libkvm.so.7", r.join("usr/lib/libkvm.so")).unwrap();
        std::os::unix::fs::symlink("/lib/libkvm.so.7", r.join("usr/lib/libabs.so")).unwrap();
        std::os::unix::fs::symlink("../../../../../etc/passwd", r.join("usr/lib/libevil.so"))
            .unwrap();
        std::os::unix::fs::symlink("libloop.so", r.join("usr/lib/libloop.so")).unwrap();
        assert_eq!(
            resolve_in(r, Path::new("usr/lib/libkvm.so")),
            Some(r.join("lib/libkvm.so.7"))
        );
        assert_eq!(
            resolve_in(r, Path::new("usr/lib/libabs.so")),
            Some(r.join("lib/libkvm.so.7"))
        );
        assert_eq!(
            resolve_in(r, Path::new("usr/lib/libevil.so")),
            None,
            "clamped to the root: /etc/passwd does not exist there"
        );
        assert_eq!(resolve_in(r, Path::new("usr/lib/libloop.so")), None);
    }
}
