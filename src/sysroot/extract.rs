use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{self, IsTerminal, Read, Write};
use std::path::Path;

use anyhow::{Context, Result};
use indicatif::{HumanBytes, ProgressBar, ProgressStyle};
use sha2::{Digest, Sha256};

use crate::cache;
use crate::error::Error;

use super::{Labels, LibraryFile, Marker, SysrootError, MARKER, SCHEMA};

/// No FreeBSD library comes near this; a bigger member is hostile.
const MAX_LIBRARY: u64 = 1 << 30;
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
    let file =
        File::open(base_txz).with_context(|| format!("cannot open {}", base_txz.display()))?;
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let staging = cache::staging_dir(out)?;
    let lib_dir = staging.path().join("lib");
    std::fs::create_dir(&lib_dir)
        .with_context(|| format!("cannot create {}", lib_dir.display()))?;
    let bar = progress(len, "extracting base.txz");
    let (members, sha256) = stream(Tally::new(file, bar.clone()), source, &lib_dir)?;
    bar.finish_and_clear();
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

/// A reader that hashes and counts what passes through it.
pub(crate) struct Tally<R> {
    inner: R,
    hasher: Sha256,
    bar: ProgressBar,
    pub(crate) bytes: u64,
}

impl<R: Read> Tally<R> {
    pub(crate) fn new(inner: R, bar: ProgressBar) -> Self {
        Tally {
            inner,
            hasher: Sha256::new(),
            bar,
            bytes: 0,
        }
    }

    pub(crate) fn hex(&self) -> String {
        format!("{:x}", self.hasher.clone().finalize())
    }
}

impl<R: Read> Read for Tally<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.bar.inc(n as u64);
        self.bytes += n as u64;
        Ok(n)
    }
}

/// A progress bar on stderr when it is a terminal, else a hidden one.
pub(crate) fn progress(len: u64, message: &str) -> ProgressBar {
    if !io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len);
    let style = ProgressStyle::with_template(
        "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} {eta}",
    )
    .map(|s| s.progress_chars("=> "))
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar.set_message(message.to_string());
    bar
}

/// Read the whole file: the tar members, then whatever follows them, so
/// the xz stream's checks run and the hash covers every byte.
fn stream<R: Read>(reader: Tally<R>, name: &str, lib_dir: &Path) -> Result<(Members, String)> {
    let unreadable = || {
        format!("cannot read {name} as an xz-compressed tar archive (is it a FreeBSD base.txz?)")
    };
    let mut archive = tar::Archive::new(xz2::read::XzDecoder::new(reader));
    let members = read_members(&mut archive, name, lib_dir, &unreadable)?;
    let mut xz = archive.into_inner();
    io::copy(&mut xz, &mut io::sink()).with_context(unreadable)?;
    let mut tally = xz.into_inner();
    io::copy(&mut tally, &mut io::sink()).with_context(unreadable)?;
    Ok((members, tally.hex()))
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

fn read_members<R: Read>(
    archive: &mut tar::Archive<R>,
    name: &str,
    lib_dir: &Path,
    unreadable: &dyn Fn() -> String,
) -> Result<Members> {
    let mut members = Members::default();
    for entry in archive.entries().with_context(unreadable)? {
        let entry = entry.with_context(unreadable)?;
        let shown = escape(&entry.path_bytes());
        let refuse = |why: String| {
            anyhow::Error::from(SysrootError::Refused {
                archive: name.to_string(),
                member: shown.clone(),
                why,
            })
        };
        member(entry, lib_dir, &mut members).map_err(|e| match e {
            Member::Refused(why) => refuse(why),
            Member::Io(e) => anyhow::Error::new(e).context(unreadable()),
            Member::Write(e) => e,
        })?;
    }
    Ok(members)
}

/// Why a member stopped the extraction.
enum Member {
    Refused(String),
    /// Reading the archive failed.
    Io(io::Error),
    /// Writing the output failed.
    Write(anyhow::Error),
}

/// Look at one member: refuse it, skip it, write it or remember it.
fn member<R: Read>(
    mut entry: tar::Entry<'_, R>,
    lib_dir: &Path,
    m: &mut Members,
) -> Result<(), Member> {
    let path = normalize(&entry.path_bytes()).map_err(|why| Member::Refused(why.into()))?;
    let kind = entry.header().entry_type();
    if kind.is_character_special() || kind.is_block_special() || kind.is_fifo() {
        return Err(Member::Refused("is a device file or fifo".into()));
    }
    if let Some(rel) = super::devel::wanted(&path) {
        let root = lib_dir.parent().unwrap_or(lib_dir);
        return super::devel::member(&mut entry, &path, &rel, root, &mut m.devel, MAX_LIBRARY)
            .map_err(|e| match e {
                super::devel::Problem::Refused(why) => Member::Refused(why),
                super::devel::Problem::Io(e) => Member::Write(e),
            });
    }
    if kind.is_symlink() || kind.is_hard_link() {
        let target =
            String::from_utf8_lossy(&entry.link_name_bytes().unwrap_or_default()).into_owned();
        return remember_link(&path, &target, kind.is_symlink(), m).map_err(Member::Refused);
    }
    let Some(file) = library_name(&path).filter(|f| is_library_file(f)) else {
        return Ok(());
    };
    if !(kind.is_file() || kind.is_contiguous()) || m.files.values().any(|f| f == file) {
        return Ok(());
    }
    if entry.size() > MAX_LIBRARY {
        return Err(Member::Refused(format!(
            "is {} bytes, more than any shared library",
            entry.size()
        )));
    }
    let mut magic = [0u8; 4];
    match entry.read_exact(&mut magic) {
        Ok(()) if magic == ELF_MAGIC => {}
        Ok(()) => return Ok(()),
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(()),
        Err(e) => return Err(Member::Io(e)),
    }
    write_library(&mut entry, &magic, &lib_dir.join(file))?;
    m.files.insert(path.join("/"), file.to_string());
    Ok(())
}

/// Create `dest` (it must not exist: `O_EXCL` never follows a link) with
/// `head` and the rest of `entry`.
fn write_library<R: Read>(
    entry: &mut tar::Entry<'_, R>,
    head: &[u8],
    dest: &Path,
) -> Result<(), Member> {
    let cannot = |e: io::Error| {
        Member::Write(anyhow::Error::new(e).context(format!("cannot write {}", dest.display())))
    };
    let mut out = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(dest)
        .map_err(cannot)?;
    out.write_all(head).map_err(cannot)?;
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = match entry.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Member::Io(e)),
        };
        out.write_all(&buf[..n]).map_err(cannot)?;
    }
}

/// Check a link member; remember it when it is among the libraries. A
/// hard link there is an alias like a symlink (bsdx makes its own link).
fn remember_link(
    path: &[String],
    target: &str,
    symlink: bool,
    m: &mut Members,
) -> Result<(), String> {
    let shown = target.escape_debug();
    let among_libraries = library_name(path).is_some();
    let resolved = if !symlink {
        normalize(target.as_bytes())
            .map_err(|_| format!("is a hard link to `{shown}`, outside the archive"))?
    } else if target.starts_with('/') {
        if among_libraries {
            return Err(format!(
                "is a symlink to the absolute path `{shown}`, outside the output"
            ));
        }
        return Ok(());
    } else {
        let dir = &path[..path.len().saturating_sub(1)];
        join_inside(dir, target)
            .ok_or_else(|| format!("is a symlink to `{shown}`, which leaves the archive"))?
    };
    if among_libraries {
        m.links.insert(path.join("/"), resolved.join("/"));
    }
    Ok(())
}

/// A member's path as components; refuses absolute paths and `..`.
pub(crate) fn normalize(raw: &[u8]) -> Result<Vec<String>, &'static str> {
    let text = String::from_utf8_lossy(raw);
    if text.starts_with('/') {
        return Err("has an absolute path");
    }
    let mut out = Vec::new();
    for c in text.split('/') {
        match c {
            "" | "." => {}
            ".." => return Err("has a `..` component"),
            n => out.push(n.to_string()),
        }
    }
    Ok(out)
}

/// `dir` joined with the relative link `target`; `None` if it climbs out.
pub(crate) fn join_inside(dir: &[String], target: &str) -> Option<Vec<String>> {
    let mut out = dir.to_vec();
    for c in target.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                out.pop()?;
            }
            n => out.push(n.to_string()),
        }
    }
    Some(out)
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

/// An archive's member name, printable on a terminal.
pub(crate) fn escape(raw: &[u8]) -> String {
    String::from_utf8_lossy(raw).escape_debug().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(p: &[&str]) -> Vec<String> {
        p.iter().map(|s| s.to_string()).collect()
    }
    #[test]
    fn member_paths() {
        assert_eq!(
            normalize(b"./usr/lib/libkvm.so").unwrap(),
            strings(&["usr", "lib", "libkvm.so"])
        );
        assert!(normalize(b"/etc/passwd").is_err());
        assert!(normalize(b"./lib/../../x").is_err());
        assert_eq!(
            join_inside(&strings(&["usr", "lib"]), "../../lib/libkvm.so.7").unwrap(),
            strings(&["lib", "libkvm.so.7"])
        );
        assert_eq!(
            join_inside(&strings(&["usr", "lib"]), "../../../etc/passwd"),
            None
        );
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
