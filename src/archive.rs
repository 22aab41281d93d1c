//! FreeBSD's distribution files (base.txz, kernel.txz) read as untrusted
//! archives: one streaming pass that hashes every byte of the file while it
//! is read, shows progress on a terminal, and applies one policy to every
//! member before the caller's selector sees it.
//!
//! The policy: a member with an absolute path or a `..` component, a
//! relative symlink that climbs out of the archive, a hard link to a path
//! outside it, a device file or fifo, and a kept file larger than
//! [`MAX_MEMBER`] refuse the whole archive, naming the member. Paths are
//! normalized (`./usr/lib/x` -> `["usr", "lib", "x"]`). Nothing is ever
//! written through a link: [`place`] creates directories one component at a
//! time and refuses any that is not a plain directory, and files are
//! created with `O_EXCL` ([`create`]).
//!
//! What to keep is the caller's business (`sysroot::extract` keeps
//! libraries, `vm::inputs` what a boot needs): [`extract`] hands each
//! admitted [`Member`] to its selector.

use std::fs::File;
use std::io::{self, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};

use crate::digest::HashingReader;

/// No file bsdx keeps from a release comes near this; a bigger one is hostile.
pub const MAX_MEMBER: u64 = 1 << 30;

/// An archive refused for one of its members.
#[derive(Debug, thiserror::Error)]
#[error("refusing {archive}: member `{member}` {why}; nothing was extracted\n  fix: a FreeBSD release archive never holds such a member: check where the file came from, and use the one from a FreeBSD mirror")]
pub struct Refused {
    pub archive: String,
    pub member: String,
    pub why: String,
}

/// What kind of member the policy admitted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// A regular file; `mode` is its permission bits from the archive.
    File { size: u64, mode: u32 },
    /// A symlink whose relative `text` stays inside the archive; `resolved`
    /// is the archive path it names.
    Symlink { text: String, resolved: Vec<String> },
    /// A symlink to an absolute path: it names nothing in the archive (a
    /// selector skips it or refuses it).
    AbsoluteSymlink { text: String },
    /// A hard link to `target`, an archive path.
    HardLink { target: Vec<String> },
    /// A directory, or anything else that carries no data.
    Other,
}

/// One member, admitted by the policy, for a selector to keep or skip.
pub struct Member<'a> {
    /// The member's normalized path.
    pub path: Vec<String>,
    pub kind: Kind,
    contents: &'a mut dyn Read,
}

/// Why a selector stopped the extraction.
#[derive(Debug)]
pub enum Stop {
    /// The member is refused (the words follow the member's name).
    Refused(String),
    /// Reading the archive failed.
    Read(io::Error),
    /// Anything else (writing the output, ...).
    Other(anyhow::Error),
}

impl From<anyhow::Error> for Stop {
    fn from(e: anyhow::Error) -> Self {
        Stop::Other(e)
    }
}

impl Member<'_> {
    /// The archive path, joined (`usr/lib/libc.so.7`).
    pub fn joined(&self) -> String {
        self.path.join("/")
    }

    /// The file's contents; a file larger than [`MAX_MEMBER`] is refused.
    pub fn contents(&mut self) -> Result<&mut dyn Read, Stop> {
        if let Kind::File { size, .. } = self.kind {
            if size > MAX_MEMBER {
                return Err(Stop::Refused(format!(
                    "is {size} bytes, more than bsdx accepts for one file"
                )));
            }
        }
        Ok(&mut *self.contents)
    }

    /// Create `dest` ([`create`]: it must not exist) with `head`, then the
    /// rest of the contents. Returns the bytes written.
    pub fn write_new(&mut self, dest: &Path, mode: u32, head: &[u8]) -> Result<u64, Stop> {
        let reader = self.contents()?;
        let cannot = |e: io::Error| {
            Stop::Other(anyhow::Error::new(e).context(format!("cannot write {}", dest.display())))
        };
        let mut out = create(dest, mode)?;
        out.write_all(head).map_err(cannot)?;
        let mut written = head.len() as u64;
        let mut buf = vec![0u8; 1 << 16];
        loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(Stop::Read(e)),
            };
            out.write_all(&buf[..n]).map_err(cannot)?;
            written += n as u64;
        }
        out.flush().map_err(cannot)?;
        Ok(written)
    }
}

/// Stream the xz-compressed tar `txz` once, handing each member the policy
/// admits to `select`, then read whatever follows the members so the xz
/// checks run and the hash covers every byte. `name` names the file in
/// messages (a URL or a path), `what` what it should be (`FreeBSD's
/// kernel.txz`). Returns the file's SHA-256.
pub fn extract(
    txz: &Path,
    name: &str,
    what: &str,
    select: &mut dyn FnMut(Member<'_>) -> Result<(), Stop>,
) -> Result<String> {
    let file = File::open(txz).with_context(|| format!("cannot open {}", txz.display()))?;
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let file_name = what.rsplit(' ').next().unwrap_or(what);
    let bar = progress(len, &format!("extracting {file_name}"));
    let unreadable = |e: io::Error| {
        anyhow::anyhow!(
            "cannot read {name} as an xz-compressed tar archive ({e}): is it {what}?\n  fix: give {what}, whole (a download cut short is not; fetch it again)"
        )
    };
    let mut archive = tar::Archive::new(xz2::read::XzDecoder::new(HashingReader::new(
        file,
        bar.clone(),
    )));
    for entry in archive.entries().map_err(unreadable)? {
        let mut entry = entry.map_err(unreadable)?;
        let raw = entry.path_bytes().into_owned();
        let refused = |why: String| {
            anyhow::Error::from(Refused {
                archive: name.to_string(),
                member: escape(&raw),
                why,
            })
        };
        let admitted = admit(&mut entry);
        let result = admitted.and_then(|(path, kind)| {
            select(Member {
                path,
                kind,
                contents: &mut entry,
            })
        });
        result.map_err(|e| match e {
            Stop::Refused(why) => refused(why),
            Stop::Read(e) => unreadable(e),
            Stop::Other(e) => e,
        })?;
    }
    let mut xz = archive.into_inner();
    io::copy(&mut xz, &mut io::sink()).map_err(unreadable)?;
    let mut hashing = xz.into_inner();
    io::copy(&mut hashing, &mut io::sink()).map_err(unreadable)?;
    bar.finish_and_clear();
    Ok(hashing.hex())
}

/// The policy for one member: its normalized path and kind, or why the
/// archive is refused.
fn admit<R: Read>(entry: &mut tar::Entry<'_, R>) -> Result<(Vec<String>, Kind), Stop> {
    let path = normalize(&entry.path_bytes()).map_err(|why| Stop::Refused(why.into()))?;
    let kind = entry.header().entry_type();
    if kind.is_character_special() || kind.is_block_special() || kind.is_fifo() {
        return Err(Stop::Refused("is a device file or fifo".into()));
    }
    let link_text =
        || String::from_utf8_lossy(&entry.link_name_bytes().unwrap_or_default()).into_owned();
    let kind = if kind.is_symlink() {
        let text = link_text();
        if text.starts_with('/') {
            Kind::AbsoluteSymlink { text }
        } else {
            let dir = &path[..path.len().saturating_sub(1)];
            let resolved = join_inside(dir, &text).ok_or_else(|| {
                Stop::Refused(format!(
                    "is a symlink to `{}`, which leaves the archive",
                    text.escape_debug()
                ))
            })?;
            Kind::Symlink { text, resolved }
        }
    } else if kind.is_hard_link() {
        let text = link_text();
        let target = normalize(text.as_bytes()).map_err(|_| {
            Stop::Refused(format!(
                "is a hard link to `{}`, outside the archive",
                text.escape_debug()
            ))
        })?;
        Kind::HardLink { target }
    } else if kind.is_file() || kind.is_contiguous() {
        Kind::File {
            size: entry.size(),
            mode: entry.header().mode().unwrap_or(0o644),
        }
    } else {
        Kind::Other
    };
    Ok((path, kind))
}

/// A member's path as components; refuses absolute paths and `..`.
pub fn normalize(raw: &[u8]) -> Result<Vec<String>, &'static str> {
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
pub fn join_inside(dir: &[String], target: &str) -> Option<Vec<String>> {
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

/// An archive's member name, printable on a terminal.
pub fn escape(raw: &[u8]) -> String {
    String::from_utf8_lossy(raw).escape_debug().to_string()
}

/// The path for the member `path` under `root`, creating its directories
/// one by one; none of them may be a link or a file (nothing is written
/// through one). Err is why the member is refused.
pub fn place(root: &Path, path: &[String]) -> Result<PathBuf, Stop> {
    let mut at = root.to_path_buf();
    for c in &path[..path.len().saturating_sub(1)] {
        at.push(c);
        match std::fs::symlink_metadata(&at) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => {
                return Err(Stop::Refused(format!(
                    "lies under `{c}`, which the archive made a link or a file"
                )))
            }
            Err(_) => std::fs::create_dir(&at)
                .with_context(|| format!("cannot create {}", at.display()))?,
        }
    }
    let leaf = at.join(path.last().map(String::as_str).unwrap_or(""));
    if std::fs::symlink_metadata(&leaf).is_ok_and(|m| m.is_dir()) {
        return Err(Stop::Refused(
            "names a directory the archive already has".into(),
        ));
    }
    Ok(leaf)
}

/// Create the file `at`, which must not exist (`O_EXCL` never follows a
/// link), with `mode` (at least owner read-write).
pub fn create(at: &Path, mode: u32) -> Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode | 0o600)
        .open(at)
        .with_context(|| format!("cannot create {}", at.display()))
}

/// A progress bar on stderr when it is a terminal, else a hidden one.
pub fn progress(len: u64, message: &str) -> ProgressBar {
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
    }

    /// One member of a test archive.
    enum M<'a> {
        File(&'a str, &'a [u8]),
        /// A file whose header claims `size` bytes (the data is not there).
        Claims(&'a str, u64),
        Symlink(&'a str, &'a str),
        Hard(&'a str, &'a str),
        Device(&'a str, tar::EntryType),
    }

    /// A real xz-compressed tar with `members`, written as given (the
    /// `tar` crate's own path checks bypassed, as a hostile archive would).
    fn txz(dir: &Path, members: &[M]) -> PathBuf {
        let mut raw = Vec::new();
        {
            let mut b = tar::Builder::new(&mut raw);
            for m in members {
                let (name, kind, size, link, data): (&str, _, u64, Option<&str>, &[u8]) = match m {
                    M::File(p, d) => (p, tar::EntryType::Regular, d.len() as u64, None, d),
                    M::Claims(p, n) => (p, tar::EntryType::Regular, *n, None, &[]),
                    M::Symlink(p, t) => (p, tar::EntryType::Symlink, 0, Some(t), &[]),
                    M::Hard(p, t) => (p, tar::EntryType::Link, 0, Some(t), &[]),
                    M::Device(p, k) => (p, *k, 0, None, &[]),
                };
                let mut h = tar::Header::new_gnu();
                h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
                if let Some(l) = link {
                    h.as_old_mut().linkname[..l.len()].copy_from_slice(l.as_bytes());
                }
                h.set_entry_type(kind);
                h.set_size(size);
                h.set_mode(0o644);
                h.set_mtime(0);
                h.set_cksum();
                b.append(&h, data).unwrap();
            }
            b.finish().unwrap();
        }
        let path = dir.join("test.txz");
        let mut xz = xz2::write::XzEncoder::new(File::create(&path).unwrap(), 1);
        xz.write_all(&raw).unwrap();
        xz.finish().unwrap();
        path
    }

    /// Extract `txz` keeping every file and symlink under `out` (as a
    /// selector that writes a tree would); what it wrote, by archive path.
    fn keep_all(txz: &Path, out: &Path) -> Result<Vec<String>> {
        let mut kept = Vec::new();
        extract(txz, "test.txz", "a test archive", &mut |mut m| {
            let at = match &m.kind {
                Kind::File { .. } => {
                    let at = place(out, &m.path)?;
                    m.write_new(&at, 0o644, &[])?;
                    at
                }
                Kind::Symlink { text, .. } => {
                    let at = place(out, &m.path)?;
                    std::os::unix::fs::symlink(text, &at).map_err(anyhow::Error::from)?;
                    at
                }
                _ => return Ok(()),
            };
            kept.push(at.strip_prefix(out).unwrap().display().to_string());
            Ok(())
        })?;
        Ok(kept)
    }

    fn files_under(dir: &Path) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            out.push(e.path());
            if e.file_type().unwrap().is_dir() {
                out.extend(files_under(&e.path()));
            }
        }
        out
    }

    #[test]
    fn a_plain_archive_is_extracted_and_hashed() {
        let d = tempfile::tempdir().unwrap();
        let txz = txz(
            d.path(),
            &[
                M::File("./lib/libc.so.7", b"\x7fELF libc"),
                M::Symlink("./usr/lib/libc.so", "../../lib/libc.so.7"),
            ],
        );
        let out = d.path().join("out");
        std::fs::create_dir(&out).unwrap();
        let kept = keep_all(&txz, &out).unwrap();
        assert_eq!(kept, ["lib/libc.so.7", "usr/lib/libc.so"]);
        assert_eq!(
            std::fs::read(out.join("usr/lib/libc.so")).unwrap(),
            b"\x7fELF libc"
        );
        let sha = extract(&txz, "test.txz", "a test archive", &mut |_| Ok(())).unwrap();
        assert_eq!(sha, crate::digest::sha256_file(&txz).unwrap());
    }

    #[test]
    fn hostile_members_are_refused_and_nothing_is_left_outside() {
        let cases: Vec<(&str, Vec<M>, &str)> = vec![
            (
                "dotdot",
                vec![M::File("./lib/../../escape", b"x")],
                "member `./lib/../../escape` has a `..` component",
            ),
            (
                "absolute",
                vec![M::File("/tmp/bsdx-archive-test-abs", b"x")],
                "member `/tmp/bsdx-archive-test-abs` has an absolute path",
            ),
            (
                "escaping symlink",
                vec![M::Symlink("./usr/lib/evil", "../../../etc/passwd")],
                "is a symlink to `../../../etc/passwd`, which leaves the archive",
            ),
            (
                "hard link out",
                vec![M::Hard("./lib/libhard.so.1", "../../etc/passwd")],
                "is a hard link to `../../etc/passwd`, outside the archive",
            ),
            (
                "absolute hard link",
                vec![M::Hard("./lib/libhard.so.1", "/etc/passwd")],
                "is a hard link to `/etc/passwd`, outside the archive",
            ),
            (
                "char device",
                vec![M::Device("./dev/mem", tar::EntryType::Char)],
                "member `./dev/mem` is a device file or fifo",
            ),
            (
                "block device",
                vec![M::Device("./dev/disk0", tar::EntryType::Block)],
                "is a device file or fifo",
            ),
            (
                "fifo",
                vec![M::Device("./var/fifo", tar::EntryType::Fifo)],
                "is a device file or fifo",
            ),
            (
                "oversized",
                vec![M::Claims("./lib/libhuge.so.1", MAX_MEMBER + 1)],
                "is 1073741825 bytes, more than bsdx accepts for one file",
            ),
            (
                "written through its own link",
                vec![
                    M::Symlink("./lib/dir", "."),
                    M::File("./lib/dir/libc.so.7", b"x"),
                ],
                "lies under `dir`, which the archive made a link or a file",
            ),
        ];
        for (name, members, why) in cases {
            let d = tempfile::tempdir().unwrap();
            let archive = txz(d.path(), &members);
            let out = d.path().join("out");
            std::fs::create_dir(&out).unwrap();
            let e = keep_all(&archive, &out).unwrap_err();
            let refused = e
                .downcast_ref::<Refused>()
                .unwrap_or_else(|| panic!("{name}: not a refusal: {e:#}"));
            assert_eq!(refused.archive, "test.txz", "{name}");
            let text = e.to_string();
            assert!(text.contains(why), "{name}: {text}");
            assert!(text.starts_with("refusing test.txz: member `"), "{text}");
            assert!(text.contains("\n  fix: "), "{name}: {text}");
            // Nothing beside the archive and the output directory, and
            // nothing in it but what came before the refused member.
            let mut beside: Vec<_> = std::fs::read_dir(d.path())
                .unwrap()
                .map(|e| e.unwrap().file_name().into_string().unwrap())
                .collect();
            beside.sort();
            assert_eq!(beside, ["out", "test.txz"], "{name}");
            let written: Vec<_> = files_under(&out)
                .into_iter()
                .filter(|p| !std::fs::symlink_metadata(p).unwrap().is_dir())
                .collect();
            let allowed = usize::from(name == "written through its own link");
            assert!(written.len() <= allowed, "{name}: {written:?}");
        }
        assert!(!Path::new("/tmp/bsdx-archive-test-abs").exists());
    }

    #[test]
    fn a_file_that_is_not_an_xz_tar_says_so() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("kernel.txz");
        std::fs::write(&p, b"not xz").unwrap();
        let e = extract(&p, "kernel.txz", "FreeBSD's kernel.txz", &mut |_| Ok(())).unwrap_err();
        let text = format!("{e:#}");
        assert!(
            text.starts_with("cannot read kernel.txz as an xz-compressed tar archive ("),
            "{text}"
        );
        assert!(
            text.ends_with("): is it FreeBSD's kernel.txz?\n  fix: give FreeBSD's kernel.txz, whole (a download cut short is not; fetch it again)"),
            "{text}"
        );
    }
}
