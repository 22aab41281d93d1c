//! The .pkg archive: a tar in the form libarchive's `pax_restricted` writes
//! (ustar headers, a pax extended header only for what ustar cannot hold),
//! members in pkg create's order (`+COMPACT_MANIFEST`, `+MANIFEST`, the
//! files, then the directories), absolute paths, fixed owners and one mtime,
//! compressed with zstd (pkg's default) or xz. Written by
//! [`crate::output::write_new`].

use std::io::Write;

use anyhow::{Context, Result};

/// One payload member.
#[derive(Debug, Clone)]
pub struct Member {
    /// Absolute path on the target (`/usr/local/bin/x`); directories without
    /// a trailing `/`.
    pub path: String,
    /// `None` for a directory.
    pub data: Option<Vec<u8>>,
    pub mode: u32,
    pub uname: String,
    pub gname: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    /// zstd level 19 (`pkg create`'s default format, tzst).
    Zstd,
    /// xz level 6 (txz, pkg's format before 1.17).
    Xz,
    /// No compression (tar), as `pkg create -f tar`.
    None,
}

fn header(
    path: &str,
    size: u64,
    mode: u32,
    dir: bool,
    uname: &str,
    gname: &str,
    mtime: u64,
) -> Result<(tar::Header, Option<Vec<u8>>)> {
    let mut h = tar::Header::new_ustar();
    h.set_size(size);
    h.set_mode(mode);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(mtime);
    h.set_entry_type(if dir {
        tar::EntryType::Directory
    } else {
        tar::EntryType::Regular
    });
    h.set_username(uname)
        .with_context(|| format!("user name {uname} does not fit a tar header\n  fix: choose a shorter `user` (at most 32 bytes) in [package.metadata.bsdx.service]"))?;
    h.set_groupname(gname)
        .with_context(|| format!("group name {gname} does not fit a tar header\n  fix: choose a shorter `group` (at most 32 bytes) in [package.metadata.bsdx.service]"))?;
    // libarchive writes directories with a trailing slash.
    let name = if dir {
        format!("{path}/")
    } else {
        path.to_string()
    };
    let bytes = name.as_bytes();
    let mut pax = None;
    let ustar = h.as_ustar_mut().expect("a ustar header");
    if bytes.len() <= 100 {
        ustar.name[..bytes.len()].copy_from_slice(bytes);
    } else if let Some(split) = (0..bytes.len())
        .rev()
        .find(|&i| bytes[i] == b'/' && i <= 155 && bytes.len() - i - 1 <= 100 && i > 0)
    {
        ustar.prefix[..split].copy_from_slice(&bytes[..split]);
        ustar.name[..bytes.len() - split - 1].copy_from_slice(&bytes[split + 1..]);
    } else {
        // Too long for ustar: a pax `path` record, ustar name truncated.
        let keep = &bytes[bytes.len() - 99..];
        ustar.name[..keep.len()].copy_from_slice(keep);
        let rec_body = format!(" path={name}\n");
        let mut len = rec_body.len() + 1;
        while format!("{len}{rec_body}").len() != len {
            len += 1;
        }
        pax = Some(format!("{len}{rec_body}").into_bytes());
    }
    h.set_cksum();
    Ok((h, pax))
}

/// The uncompressed tar of `members` after the two manifests.
pub fn tar_bytes(compact: &str, full: &str, members: &[Member], mtime: u64) -> Result<Vec<u8>> {
    let mut b = tar::Builder::new(Vec::new());
    let mut add = |path: &str, data: Option<&[u8]>, mode: u32, u: &str, g: &str| -> Result<()> {
        let size = data.map_or(0, |d| d.len() as u64);
        let (h, pax) = header(path, size, mode, data.is_none(), u, g, mtime)?;
        if let Some(records) = pax {
            let base = path.rsplit('/').next().unwrap_or(path);
            let base = &base[..base.len().min(80)];
            let (ph, _) = header(
                &format!("PaxHeader/{base}"),
                records.len() as u64,
                0o644,
                false,
                u,
                g,
                mtime,
            )?;
            let mut ph = ph;
            ph.set_entry_type(tar::EntryType::XHeader);
            ph.set_cksum();
            b.append(&ph, records.as_slice())?;
        }
        b.append(&h, data.unwrap_or(&[]))?;
        Ok(())
    };
    add(
        "+COMPACT_MANIFEST",
        Some(compact.as_bytes()),
        0o644,
        "root",
        "wheel",
    )?;
    add("+MANIFEST", Some(full.as_bytes()), 0o644, "root", "wheel")?;
    let mut files: Vec<&Member> = members.iter().filter(|m| m.data.is_some()).collect();
    let mut dirs: Vec<&Member> = members.iter().filter(|m| m.data.is_none()).collect();
    files.sort_by(|a, b| a.path.cmp(&b.path));
    dirs.sort_by(|a, b| a.path.cmp(&b.path));
    for m in files.into_iter().chain(dirs) {
        add(&m.path, m.data.as_deref(), m.mode, &m.uname, &m.gname)?;
    }
    Ok(b.into_inner()?)
}

/// Compress `tar`.
pub fn compress(tar: &[u8], how: Compression) -> Result<Vec<u8>> {
    Ok(match how {
        Compression::None => tar.to_vec(),
        Compression::Zstd => {
            let mut e = zstd::stream::Encoder::new(Vec::new(), 19)?;
            e.include_checksum(true)?;
            e.write_all(tar)?;
            e.finish()?
        }
        Compression::Xz => {
            let mut e = xz2::write::XzEncoder::new(Vec::new(), 6);
            e.write_all(tar)?;
            e.finish()?
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_in_pkg_order_with_absolute_paths() {
        let m = vec![
            Member {
                path: "/var/db/x".into(),
                data: None,
                mode: 0o750,
                uname: "x".into(),
                gname: "x".into(),
            },
            Member {
                path: "/usr/local/bin/x".into(),
                data: Some(b"elf".to_vec()),
                mode: 0o755,
                uname: "root".into(),
                gname: "wheel".into(),
            },
            Member {
                path: format!("/usr/local/share/{}/f", "d".repeat(150)),
                data: Some(b"long".to_vec()),
                mode: 0o644,
                uname: "root".into(),
                gname: "wheel".into(),
            },
        ];
        let t = tar_bytes("{}", "{}", &m, 946684800).unwrap();
        let mut a = tar::Archive::new(t.as_slice());
        let names: Vec<(String, u32, u64)> = a
            .entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (
                    String::from_utf8_lossy(&e.path_bytes()).into_owned(),
                    e.header().mode().unwrap(),
                    e.header().mtime().unwrap(),
                )
            })
            .collect();
        assert_eq!(names[0].0, "+COMPACT_MANIFEST");
        assert_eq!(names[1].0, "+MANIFEST");
        assert_eq!(names[2].0, "/usr/local/bin/x");
        assert!(
            names[3].0.ends_with("/f") && names[3].0.len() > 160,
            "{names:?}"
        );
        assert_eq!((names[4].0.as_str(), names[4].1), ("/var/db/x/", 0o750));
        assert!(names.iter().all(|n| n.2 == 946684800));
        assert_eq!(t, tar_bytes("{}", "{}", &m, 946684800).unwrap());
    }
}
