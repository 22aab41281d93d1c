//! bsdx's cache directory and the one way things are published into it (or
//! anywhere): build in a temporary sibling, then rename into place, so a
//! reader never sees a half-written directory.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};

/// `$BSDX_CACHE_DIR`, else the user cache directory + `bsdx`.
pub fn dir() -> Result<PathBuf> {
    if let Some(d) = std::env::var_os("BSDX_CACHE_DIR").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(d));
    }
    dirs::cache_dir()
        .map(|d| d.join("bsdx"))
        .context("no cache directory (HOME is unset); set BSDX_CACHE_DIR")
}

/// First 16 hex digits of the SHA-256 of `parts` (each length-prefixed).
pub fn key(parts: &[&[u8]]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_le_bytes());
        h.update(p);
    }
    h.finalize()
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A temporary directory beside `dest`, on the same filesystem, so the
/// final rename is atomic. Removed on drop unless published.
pub fn staging_dir(dest: &Path) -> Result<tempfile::TempDir> {
    let parent = dest
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent)
        .with_context(|| format!("cannot create {}", parent.display()))?;
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    tempfile::Builder::new()
        .prefix(&format!(".{name}.bsdx-tmp-"))
        .tempdir_in(parent)
        .with_context(|| {
            format!(
                "cannot create a temporary directory in {}",
                parent.display()
            )
        })
}

/// Rename a finished staging directory to `dest`. `dest` must not exist or
/// be an empty directory (rename(2) replaces an empty directory).
pub fn publish(staging: tempfile::TempDir, dest: &Path) -> Result<()> {
    let path = staging.keep();
    std::fs::rename(&path, dest).map_err(|e| {
        let _ = std::fs::remove_dir_all(&path);
        anyhow::Error::new(e).context(format!(
            "cannot move the finished output into {}",
            dest.display()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_is_stable_and_separates_parts() {
        assert_eq!(key(&[b"ab", b"c"]), key(&[b"ab", b"c"]));
        assert_ne!(key(&[b"ab", b"c"]), key(&[b"a", b"bc"]));
        assert_eq!(key(&[b"x"]).len(), 16);
    }

    #[test]
    fn publish_replaces_only_an_empty_dir() {
        let root = tempfile::tempdir().unwrap();
        let dest = root.path().join("out");
        let s = staging_dir(&dest).unwrap();
        std::fs::write(s.path().join("f"), "1").unwrap();
        publish(s, &dest).unwrap();
        assert_eq!(std::fs::read_to_string(dest.join("f")).unwrap(), "1");
        let s = staging_dir(&dest).unwrap();
        let staged = s.path().to_path_buf();
        assert!(
            publish(s, &dest).is_err(),
            "a non-empty destination is never replaced"
        );
        assert!(!staged.exists(), "the staging dir is cleaned up");
        assert_eq!(std::fs::read_to_string(dest.join("f")).unwrap(), "1");
    }
}
