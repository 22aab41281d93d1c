use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::Path;

use anyhow::{Context, Result};
use indicatif::HumanBytes;

use crate::archive::{self, Kind, Stop};
use crate::cache;
use crate::error::Error;

use super::{Labels, LibraryFile, Marker, SysrootError, MARKER, SCHEMA};

const ELF_MAGIC: [u8; 4] = *b"\x7fELF";
// ---------------------------------------------------------------- extraction

/// Extract the libraries of `base_txz` into `out` (which must not exist or
/// be empty): staged beside it, renamed into place when complete. `source`
/// names the file in messages and the marker (its URL, for `fetch`). With
/// `expect`, the archive's SHA-256 must equal it.
pub fn extract(
    base_txz: &Path,
    out: &Path,
    labels: Labels,
    source: &str,
    expect: Option<&str>,
) -> Result<Marker> {
    ensure_empty(out)?;
    let staging = cache::staging_dir(out)?;
    let lib_dir = staging.path().join("lib");
    std::fs::create_dir(&lib_dir)
        .with_context(|| format!("cannot create {}", lib_dir.display()))?;
    let mut members = Members::default();
    let sha256 = archive::extract(base_txz, source, "a FreeBSD base.txz", &mut |mut m| {
        member(&mut m, &lib_dir, &mut members)
    })?;
    super::devel::finish(staging.path(), &members.devel)?;
    if let Some(expected) = expect.filter(|e| *e != sha256) {
        return Err(SysrootError::Mismatch {
            url: source.to_string(),
            expected: expected.to_string(),
            got: sha256,
        }
        .into());
    }
    if members.files.is_empty() {
        return Err(SysrootError::NoLibraries {
            archive: source.to_string(),
        }
        .into());
    }
    let libraries = describe(&lib_dir, &members)?;
    let links = link(&lib_dir, &members, &libraries)?;
    let (release, arch) = labels.settle(&sha256, expect.is_none());
    let marker = Marker {
        schema: SCHEMA,
        release,
        arch,
        sha256,
        source: source.to_string(),
        libraries,
        links,
    };
    let text = serde_json::to_string_pretty(&marker)?;
    std::fs::write(staging.path().join(MARKER), text + "\n")
        .context("cannot write the sysroot marker")?;
    cache::publish(staging, out)?;
    summarize(&marker, source, out);
    if members.devel.files > 0 {
        eprintln!(
            "bsdx: kept {} headers and crt objects ({}) for builds aimed at the release (usr/include, usr/lib/crt*.o, libc_nonshared.a)",
            members.devel.files,
            HumanBytes(members.devel.bytes)
        );
    }
    Ok(marker)
}

fn ensure_empty(out: &Path) -> Result<()> {
    match std::fs::symlink_metadata(out) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Ok(m) if m.is_dir() && std::fs::read_dir(out).is_ok_and(|mut d| d.next().is_none()) => {
            Ok(())
        }
        _ => Err(Error::NotEmpty {
            path: out.to_path_buf(),
        }
        .into()),
    }
}

fn summarize(marker: &Marker, name: &str, out: &Path) {
    let bytes: u64 = marker.libraries.iter().map(|l| l.size).sum();
    eprintln!(
        "bsdx: extracted {} shared libraries ({}) and {} links from {name} into {} (sha256 {})",
        marker.libraries.len(),
        HumanBytes(bytes),
        marker.links.len(),
        out.display(),
        marker.sha256
    );
}

/// What the archive's members say, gathered in one streaming pass. Paths
/// are the archive's, normalized (`usr/lib/libkvm.so`).
#[derive(Debug, Default)]
struct Members {
    /// Library written to `lib/`: archive path -> file name.
    files: BTreeMap<String, String>,
    /// Symlink (or hard link) among the libraries: archive path -> the
    /// archive path it names.
    links: BTreeMap<String, String>,
    /// Headers and crt objects kept for the floor (`super::devel`).
    devel: super::devel::Devel,
}

/// The selector: keep the shared libraries of `lib/` and `usr/lib/`
/// (written flat into `lib_dir`) and remember the links among them.
fn member(m: &mut archive::Member<'_>, lib_dir: &Path, members: &mut Members) -> Result<(), Stop> {
    if let Some(rel) = super::devel::wanted(&m.path) {
        let root = lib_dir.parent().unwrap_or(lib_dir);
        return super::devel::member(m, &rel, root, &mut members.devel);
    }
    let among_libraries = library_name(&m.path).is_some();
    match &m.kind {
        Kind::Symlink { resolved, .. } if among_libraries => {
            members.links.insert(m.joined(), resolved.join("/"));
            return Ok(());
        }
        // A hard link among the libraries is an alias like a symlink (bsdx
        // makes its own link).
        Kind::HardLink { target } if among_libraries => {
            members.links.insert(m.joined(), target.join("/"));
            return Ok(());
        }
        Kind::AbsoluteSymlink { text } if among_libraries => {
            return Err(Stop::Refused(format!(
                "is a symlink to the absolute path `{}`, outside the output",
                text.escape_debug()
            )));
        }
        Kind::File { .. } => {}
        _ => return Ok(()),
    }
    let Some(file) = library_name(&m.path).filter(|f| is_library_file(f)) else {
        return Ok(());
    };
    if members.files.values().any(|f| f == file) {
        return Ok(());
    }
    let file = file.to_string();
    let mut magic = [0u8; 4];
    match m.contents()?.read_exact(&mut magic) {
        Ok(()) if magic == ELF_MAGIC => {}
        Ok(()) => return Ok(()),
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(()),
        Err(e) => return Err(Stop::Read(e)),
    }
    m.write_new(&lib_dir.join(&file), 0o644, &magic)?;
    members.files.insert(m.joined(), file);
    Ok(())
}

/// The file name of a member directly in `lib/` or `usr/lib/` that looks
/// like a shared library or its link (`lib*.so*`).
fn library_name(path: &[String]) -> Option<&str> {
    let name = match path {
        [dir, name] if dir == "lib" => name,
        [usr, dir, name] if usr == "usr" && dir == "lib" => name,
        _ => return None,
    };
    (name.starts_with("lib") && name.contains(".so")).then_some(name.as_str())
}

/// `libkvm.so.7`, `libfoo.so.1.2`: a versioned shared library file name.
fn is_library_file(name: &str) -> bool {
    let Some((stem, version)) = name.split_once(".so.") else {
        return false;
    };
    let plain = !name.contains('/') && !name.contains('\0');
    plain
        && stem.len() > 3
        && stem.starts_with("lib")
        && version
            .split('.')
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

/// `libkvm.so` for `libkvm.so.7`, and the version as numbers.
fn dev_name(file: &str) -> (String, Vec<u64>) {
    let (stem, version) = file.split_once(".so.").unwrap_or((file, ""));
    (
        format!("{stem}.so"),
        version.split('.').map(|p| p.parse().unwrap_or(0)).collect(),
    )
}

/// Each written library: file name, DT_SONAME, size.
fn describe(lib_dir: &Path, m: &Members) -> Result<Vec<LibraryFile>> {
    let names: BTreeSet<&String> = m.files.values().collect();
    let mut out = Vec::new();
    for file in names {
        let path = lib_dir.join(file);
        let bytes =
            std::fs::read(&path).with_context(|| format!("cannot read back {}", path.display()))?;
        let soname = goblin::elf::Elf::parse(&bytes)
            .ok()
            .and_then(|e| e.soname.map(str::to_string));
        out.push(LibraryFile {
            file: file.clone(),
            soname,
            size: bytes.len() as u64,
        });
    }
    Ok(out)
}

/// Make the links in `lib/`, each a relative symlink to a library file
/// beside it: the archive's own links among the libraries, a soname link
/// when a soname differs from its file name, and a `lib<name>.so` for each
/// library, after its soname and its file name (the highest version when
/// there are several). A name already taken is left alone.
fn link(
    lib_dir: &Path,
    m: &Members,
    libraries: &[LibraryFile],
) -> Result<BTreeMap<String, String>> {
    let mut taken: BTreeSet<String> = libraries.iter().map(|l| l.file.clone()).collect();
    let mut planned: Vec<(String, String)> = Vec::new();
    for path in m.links.keys() {
        let name = path.rsplit('/').next().unwrap_or(path);
        if let Some(file) = resolve(m, path) {
            planned.push((name.to_string(), file.to_string()));
        }
    }
    for l in libraries {
        if let Some(soname) = l.soname.as_deref().filter(|s| is_library_file(s)) {
            planned.push((soname.to_string(), l.file.clone()));
        }
    }
    let mut by_version: Vec<&LibraryFile> = libraries.iter().collect();
    by_version.sort_by_key(|l| std::cmp::Reverse(dev_name(&l.file).1));
    for l in by_version {
        let soname = l.soname.as_deref().filter(|s| is_library_file(s));
        for dev in soname.into_iter().chain([l.file.as_str()]) {
            planned.push((dev_name(dev).0, l.file.clone()));
        }
    }
    let mut links = BTreeMap::new();
    for (name, file) in planned {
        if taken.insert(name.clone()) {
            std::os::unix::fs::symlink(&file, lib_dir.join(&name)).with_context(|| {
                format!("cannot create the link {name} in {}", lib_dir.display())
            })?;
            links.insert(name, file);
        }
    }
    Ok(links)
}

/// The library file an archive link finally names, following links among
/// the libraries; `None` when it dangles or names something else.
fn resolve<'a>(m: &'a Members, path: &str) -> Option<&'a str> {
    let mut at = path;
    for _ in 0..32 {
        if let Some(file) = m.files.get(at) {
            return Some(file);
        }
        at = m.links.get(at)?;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(p: &[&str]) -> Vec<String> {
        p.iter().map(|s| s.to_string()).collect()
    }
    #[test]
    fn library_member_names() {
        assert_eq!(
            library_name(&strings(&["lib", "libc.so.7"])),
            Some("libc.so.7")
        );
        assert_eq!(
            library_name(&strings(&["usr", "lib", "libc.so"])),
            Some("libc.so")
        );
        assert_eq!(
            library_name(&strings(&["usr", "lib", "debug", "libc.so.7"])),
            None
        );
        assert_eq!(library_name(&strings(&["usr", "bin", "libc.so.7"])), None);
        for ok in ["libkvm.so.7", "libfoo.so.1.2"] {
            assert!(is_library_file(ok), "{ok}");
        }
        for no in [
            "libc.so",
            "libc.a",
            "lib.so.1",
            "libx.so.1a",
            "libx.so.",
            "libx.so.1.",
            "engine.so.1",
        ] {
            assert!(!is_library_file(no), "{no}");
        }
        assert_eq!(
            dev_name("libfoo.so.1.2"),
            ("libfoo.so".to_string(), vec![1, 2])
        );
    }
}
