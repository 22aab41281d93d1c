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

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::archive::{self, Kind, Member, Stop};

/// The crt objects a FreeBSD base has in `usr/lib` (Zig asks `crt_dir` for
/// those of PIE and non-PIE executables and shared libraries).
pub const CRT_OBJECTS: &[&str] = &[
    "crt1.o",
    "Scrt1.o",
    "gcrt1.o",
    "crti.o",
    "crtn.o",
    "crtbegin.o",
    "crtbeginS.o",
    "crtbeginT.o",
    "crtend.o",
    "crtendS.o",
];

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
        [usr, lib, name] if usr == "usr" && lib == "lib" => (CRT_OBJECTS.contains(&name.as_str())
            || name == "libc_nonshared.a")
            .then(|| path.iter().collect()),
        _ => None,
    }
}

/// Handle one wanted member at `rel` (from [`wanted`]), already admitted by
/// the archive policy ([`crate::archive`]): write a file, remember a link,
/// skip anything else.
pub fn member(m: &mut Member<'_>, rel: &Path, root: &Path, d: &mut Devel) -> Result<(), Stop> {
    match &m.kind {
        Kind::Symlink { text, resolved } => {
            if resolved.len() > 2 && resolved[0] == "usr" && resolved[1] == "include" {
                d.links.push((rel.to_path_buf(), text.clone()));
            }
            Ok(())
        }
        Kind::HardLink { target } => {
            if let Some(t) = wanted(target) {
                d.copies.push((rel.to_path_buf(), t));
            }
            Ok(())
        }
        Kind::File { .. } => {
            let dest = archive::place(root, &m.path)?;
            // The same path twice: the first one stays.
            if std::fs::symlink_metadata(&dest).is_ok() {
                return Ok(());
            }
            let n = m.write_new(&dest, 0o644, &[])?;
            d.files += 1;
            d.bytes += n;
            Ok(())
        }
        Kind::AbsoluteSymlink { .. } | Kind::Other => Ok(()),
    }
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
