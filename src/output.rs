//! Writing what a command produces: never over an existing file unless the
//! user said `--force`, and never half-written (a temporary file beside the
//! destination, renamed into place). `bsdx package` and `bsdx rcd --out`
//! write through here.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// The refusal every output path shares: `dest` exists and `force` is not
/// set. Call it before any expensive work, so nothing is built for nothing.
pub fn refuse_existing(dest: &Path, force: bool) -> Result<()> {
    anyhow::ensure!(
        force || !dest.exists(),
        "{} already exists; bsdx never overwrites an output file\n  fix: pass --force to replace it, or --out another directory",
        dest.display()
    );
    Ok(())
}

/// Write `bytes` to `dest` with permissions `mode`, through a temporary file
/// in the same directory (created if missing) renamed into place. An
/// existing `dest` is an error unless `force`.
pub fn write_new(dest: &Path, bytes: &[u8], mode: u32, force: bool) -> Result<PathBuf> {
    let dir = dest
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| {
        anyhow::anyhow!(
            "cannot create {}: {e}\n  fix: check that you may write there, or --out another directory",
            dir.display()
        )
    })?;
    refuse_existing(dest, force)?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".bsdx-tmp-")
        .tempfile_in(dir)
        .map_err(|e| {
            anyhow::anyhow!(
                "cannot create a temporary file in {}: {e}\n  fix: check that you may write there, or --out another directory",
                dir.display()
            )
        })?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(mode))?;
    }
    if force {
        tmp.persist(dest)
            .map_err(|e| anyhow::Error::new(e.error))
            .with_context(|| format!("cannot write {}", dest.display()))?;
    } else {
        tmp.persist_noclobber(dest)
            .map_err(|e| anyhow::Error::new(e.error))
            .with_context(|| {
                format!(
                    "cannot write {} (does it exist now?)\n  fix: pass --force to replace it, or --out another directory",
                    dest.display()
                )
            })?;
    }
    Ok(dest.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn writes_once_refuses_then_forces() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("sub").join("f");
        assert_eq!(write_new(&dest, b"one", 0o755, false).unwrap(), dest);
        assert_eq!(std::fs::read(&dest).unwrap(), b"one");
        let mode = std::fs::metadata(&dest).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o755);

        let err = write_new(&dest, b"two", 0o644, false)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("already exists") && err.contains("fix: pass --force"),
            "{err}"
        );
        assert_eq!(
            std::fs::read(&dest).unwrap(),
            b"one",
            "refused means untouched"
        );
        assert!(refuse_existing(&dest, false).is_err());
        assert!(refuse_existing(&dest, true).is_ok());

        write_new(&dest, b"two", 0o644, true).unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), b"two");
        // No temporary file is left behind.
        let left: Vec<_> = std::fs::read_dir(dest.parent().unwrap()).unwrap().collect();
        assert_eq!(left.len(), 1);
    }
}
