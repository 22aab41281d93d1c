//! Reading what a repository holds: a package's manifest (streamed: the
//! whole archive is read, so a truncated or corrupt package is caught, but
//! only the manifest is kept) and the members of a catalog archive.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use anyhow::Result;
use serde_json::{Map, Value};

use crate::exit::{self, Exit};

fn unreadable(message: String) -> anyhow::Error {
    Exit {
        code: exit::UNREADABLE,
        message,
    }
    .into()
}

/// A decompressing reader for a zstd, xz or plain tar stream (pkg's
/// `packing_format`s that bsdx reads; libarchive sniffs the same way).
fn open(path: &Path) -> std::io::Result<Box<dyn Read>> {
    let mut f = BufReader::new(std::fs::File::open(path)?);
    let head = f.fill_buf()?.to_vec();
    Ok(if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Box::new(zstd::stream::read::Decoder::with_buffer(f)?)
    } else if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
        Box::new(xz2::read::XzDecoder::new(f))
    } else {
        Box::new(f)
    })
}

/// Every regular member of the tar archive at `path`, by name.
pub fn members(path: &Path) -> Result<BTreeMap<String, Vec<u8>>> {
    let fail = |e: std::io::Error| {
        unreadable(format!(
            "{}: not a readable zstd/xz/tar archive: {e}",
            path.display()
        ))
    };
    let mut archive = tar::Archive::new(open(path).map_err(fail)?);
    let mut out = BTreeMap::new();
    for entry in archive.entries().map_err(fail)? {
        let mut e = entry.map_err(fail)?;
        let name = String::from_utf8_lossy(&e.path_bytes()).into_owned();
        let mut data = Vec::new();
        e.read_to_end(&mut data).map_err(fail)?;
        if e.header().entry_type().is_file() {
            out.insert(name, data);
        }
    }
    Ok(out)
}

/// The compact manifest of the package at `path` (`+COMPACT_MANIFEST`, or
/// `+MANIFEST` without its file lists when there is none), after reading
/// the whole archive; an error naming the file and the fix otherwise.
pub fn manifest(path: &Path) -> Result<Map<String, Value>> {
    let fix = "  fix: rebuild it with `bsdx package` (or `pkg create`), or move it out of the repository directory";
    let fail = |what: String| unreadable(format!("{}: {what}\n{fix}", path.display()));
    let reader = open(path).map_err(|e| fail(format!("cannot read it: {e}")))?;
    let mut archive = tar::Archive::new(reader);
    let mut compact = None;
    let mut full = None;
    let mut count = 0;
    let entries = archive
        .entries()
        .map_err(|e| fail(format!("not a pkg(8) package (zstd, xz or tar): {e}")))?;
    for entry in entries {
        let mut e = entry.map_err(|e| {
            fail(format!(
                "not a pkg(8) package, or truncated or corrupt (zstd, xz or tar): {e}"
            ))
        })?;
        count += 1;
        let name = String::from_utf8_lossy(&e.path_bytes()).into_owned();
        let mut data = Vec::new();
        e.read_to_end(&mut data)
            .map_err(|e| fail(format!("truncated or corrupt at member {name}: {e}")))?;
        match name.as_str() {
            "+COMPACT_MANIFEST" => compact = Some(data),
            "+MANIFEST" => full = Some(data),
            _ => {}
        }
    }
    if count == 0 {
        return Err(fail(
            "not a pkg(8) package: no tar members (empty, or not zstd/xz/tar)".into(),
        ));
    }
    let (bytes, which) = match (compact, full) {
        (Some(c), _) => (c, "+COMPACT_MANIFEST"),
        (None, Some(f)) => (f, "+MANIFEST"),
        (None, None) => {
            return Err(fail(
                "not a pkg(8) package: it has neither +COMPACT_MANIFEST nor +MANIFEST".into(),
            ))
        }
    };
    let value: Value =
        serde_json::from_slice(&bytes).map_err(|e| fail(format!("{which} is not JSON: {e}")))?;
    let Value::Object(mut m) = value else {
        return Err(fail(format!("{which} is not a JSON object")));
    };
    for k in super::catalog::REQUIRED {
        if !m.get(*k).is_some_and(|v| v.is_string()) {
            return Err(fail(format!(
                "{which} has no `{k}` string, which pkg's repository database requires"
            )));
        }
    }
    for k in ["files", "directories", "scripts", "lua_scripts", "config"] {
        m.remove(k);
    }
    Ok(m)
}
