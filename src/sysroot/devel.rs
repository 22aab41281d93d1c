//! What a sysroot keeps of a base.txz besides the shared libraries: what a
//! build for the release compiles and links against (the floor, see
//! [`crate::floor`]): the headers (`usr/include/**`), the crt objects
//! (`usr/lib/crt1.o`, `Scrt1.o`, `crti.o`, `crtbegin*.o`, ...) and
//! `usr/lib/libc_nonshared.a`, kept at their own paths.
//!
//! The archive is untrusted, as for the libraries: files are created with
//! `O_EXCL` in the fresh staging directory; links are made only after every
//! file is written, only relative ones that stay inside `usr/include`, and
//! never where a directory on the way is a link.

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// Headers and crt objects written, and links to make at the end.
#[derive(Debug, Default)]
pub struct Devel {
    pub files: usize,
    pub bytes: u64,
    /// (link path, relative target) under the staging root.
    links: Vec<(PathBuf, String)>,
    /// (path, archive path it is a hard link to) under the staging root.
    copies: Vec<(PathBuf, PathBuf)>,
}

/// The output path (relative) of a member a sysroot keeps for the floor.
pub fn wanted(path: &[String]) -> Option<PathBuf> {
    match path {
        [usr, inc, rest @ ..] if usr == "usr" && inc == "include" && !rest.is_empty() => {
            Some(path.iter().collect())
        }
        [usr, lib, name] if usr == "usr" && lib == "lib" => {
            (crate::floor::CRT_OBJECTS.contains(&name.as_str()) || name == "libc_nonshared.a")
                .then(|| path.iter().collect())
        }
        _ => None,
    }
}

/// Why a member stopped the extraction: refused (with the reason), or an
/// I/O error.
pub enum Problem {
    Refused(String),
    Io(anyhow::Error),
}

/// Handle one wanted member at `rel` (from [`wanted`]): write a file,
/// remember a link, skip a directory.
pub fn member<R: Read>(
    entry: &mut tar::Entry<'_, R>,
    path: &[String],
    rel: &Path,
    root: &Path,
    d: &mut Devel,
    max: u64,
) -> Result<(), Problem> {
    let kind = entry.header().entry_type();
    if kind.is_dir() {
        return Ok(());
    }
    if kind.is_symlink() {
        let target =
            String::from_utf8_lossy(&entry.link_name_bytes().unwrap_or_default()).into_owned();
        let dir = &path[..path.len() - 1];
        let inside = !target.starts_with('/')
            && super::extract::join_inside(dir, &target)
                .is_some_and(|p| p.len() > 2 && p[0] == "usr" && p[1] == "include");
        if inside {
            d.links.push((rel.to_path_buf(), target));
        }
        return Ok(());
    }
    if kind.is_hard_link() {
        let target = entry.link_name_bytes().unwrap_or_default();
        let target = super::extract::normalize(&target)
            .map_err(|_| Problem::Refused("is a hard link to a path outside the archive".into()))?;
        if let Some(t) = wanted(&target) {
            d.copies.push((rel.to_path_buf(), t));
        }
        return Ok(());
    }
    if !(kind.is_file() || kind.is_contiguous()) {
        return Ok(());
    }
    if entry.size() > max {
        return Err(Problem::Refused(format!(
            "is {} bytes, more than any header or crt object",
            entry.size()
        )));
    }
    let dest = root.join(rel);
    if let Some(parent) = dest.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))
            .map_err(Problem::Io)?;
    }
    let mut out = match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&dest)
    {
        Ok(f) => f,
        // The same path twice: the first one stays.
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Ok(()),
        Err(e) => {
            return Err(Problem::Io(
                anyhow::Error::new(e).context(format!("cannot write {}", dest.display())),
            ))
        }
    };
    let n = io::copy(entry, &mut out)
        .and_then(|n| out.flush().map(|_| n))
        .with_context(|| format!("cannot write {}", dest.display()))
        .map_err(Problem::Io)?;
    d.files += 1;
    d.bytes += n;
    Ok(())
}

/// Make the remembered links and hard-link copies, after every file is
/// written. A name already taken, or one below a link, is left alone.
pub fn finish(root: &Path, d: &Devel) -> Result<()> {
    let below_a_link = |rel: &Path| {
        rel.ancestors().skip(1).any(|a| {
            !a.as_os_str().is_empty()
                && std::fs::symlink_metadata(root.join(a)).is_ok_and(|m| m.file_type().is_symlink())
        })
    };
    for (rel, from) in &d.copies {
        let (dest, src) = (root.join(rel), root.join(from));
        if below_a_link(rel) || below_a_link(from) || std::fs::symlink_metadata(&dest).is_ok() {
            continue;
        }
        if std::fs::symlink_metadata(&src).is_ok_and(|m| m.is_file()) {
            if let Some(p) = dest.parent() {
                std::fs::create_dir_all(p)?;
            }
            std::fs::copy(&src, &dest)
                .with_context(|| format!("cannot write {}", dest.display()))?;
        }
    }
    for (rel, target) in &d.links {
        let dest = root.join(rel);
        if below_a_link(rel) || std::fs::symlink_metadata(&dest).is_ok() {
            continue;
        }
        if let Some(p) = dest.parent() {
            std::fs::create_dir_all(p)?;
        }
        std::os::unix::fs::symlink(target, &dest)
            .with_context(|| format!("cannot create the link {}", dest.display()))?;
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
    fn keeps_headers_crt_objects_and_libc_nonshared() {
        for yes in [
            "usr/include/stdio.h",
            "usr/include/sys/param.h",
            "usr/lib/crt1.o",
            "usr/lib/Scrt1.o",
            "usr/lib/crtbeginS.o",
            "usr/lib/libc_nonshared.a",
        ] {
            assert_eq!(wanted(&p(yes)), Some(PathBuf::from(yes)), "{yes}");
        }
        for no in [
            "usr/include",
            "usr/lib/libc.a",
            "usr/lib/libc.so",
            "usr/lib/debug/crt1.o",
            "lib/crt1.o",
            "usr/share/include/x.h",
        ] {
            assert_eq!(wanted(&p(no)), None, "{no}");
        }
    }
}
