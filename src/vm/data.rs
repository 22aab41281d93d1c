//! The per-run data disk: a FAT image made with mtools (no root, no loop
//! device) holding the program, the job file, the results area and, with
//! `--mount DIR`, a copy of DIR. The guest mounts it on `/mnt` and runs the
//! program there; after the VM is off bsdx reads the exit status back from
//! the results area.
//!
//! ```text
//! /               the --mount directory's files (the program's working directory)
//! /.bsdx/job      sh code defining bsdx_job (super::guest::job)
//! /.bsdx/bin/NAME the program
//! /.bsdx/out/exit written by the guest: the program's exit status
//! ```
//!
//! FAT has no symlinks, owners or permission bits (the guest mounts it
//! with every file 0755, owned by the user the program runs as), and
//! names differ by case only if their case differs nowhere else: symlinks
//! and names FAT cannot hold are left out and listed; directories marked
//! as caches (`CACHEDIR.TAG`, as cargo marks `target/`) and `.git` are not
//! copied.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

use super::guest::{DATA_DIR, DATA_LABEL};
use super::media::{mtools_env, run_tool};
use super::tools;

/// FAT32's largest file.
const MAX_FILE: u64 = (4 << 30) - 1;
/// Files per mcopy call.
const BATCH: usize = 200;

/// What `--mount` copied, and what it left out.
#[derive(Debug, Default)]
pub struct Copied {
    pub files: usize,
    pub bytes: u64,
    pub skipped: Vec<String>,
}

/// A file name FAT's long names can hold.
pub fn fat_name_ok(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && !name.ends_with('.')
        && !name.ends_with(' ')
        && !name
            .chars()
            .any(|c| c.is_control() || "\\/:*?\"<>|".contains(c))
}

/// The program's name on the data disk: its own if FAT can hold it.
pub fn program_name(binary: &Path) -> String {
    binary
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .filter(|n| fat_name_ok(n))
        .unwrap_or_else(|| "program".into())
}

#[derive(Debug, Default)]
struct Walk {
    dirs: Vec<String>,
    /// Directory on the disk -> host files to copy into it.
    files: BTreeMap<String, Vec<PathBuf>>,
    bytes: u64,
    count: usize,
    skipped: Vec<String>,
}

fn walk(host: &Path, rel: &str, w: &mut Walk) -> Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(host)
        .with_context(|| format!("cannot read {}", host.display()))?
        .collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    for e in entries {
        let name = e.file_name().to_string_lossy().into_owned();
        let shown = if rel.is_empty() {
            name.clone()
        } else {
            format!("{rel}/{name}")
        };
        let ty = e.file_type()?;
        if !fat_name_ok(&name) {
            w.skipped.push(format!("{shown} (a name FAT cannot hold)"));
            continue;
        }
        if let Some(other) = seen.insert(name.to_lowercase(), name.clone()) {
            w.skipped
                .push(format!("{shown} (FAT does not tell it from {other})"));
            continue;
        }
        if ty.is_symlink() {
            w.skipped.push(format!("{shown} (a symlink)"));
        } else if ty.is_dir() {
            if name == ".git" || e.path().join("CACHEDIR.TAG").is_file() {
                w.skipped.push(format!("{shown}/ (a cache or .git)"));
                continue;
            }
            if rel.is_empty() && name == DATA_DIR {
                bail!("{} has a directory named {DATA_DIR}, where bsdx keeps its own files on the data disk\n  fix: rename it, or --mount another directory", host.display());
            }
            w.dirs.push(shown.clone());
            walk(&e.path(), &shown, w)?;
        } else if ty.is_file() {
            let size = e.metadata()?.len();
            if size > MAX_FILE {
                w.skipped
                    .push(format!("{shown} (over FAT's 4 GiB file limit)"));
                continue;
            }
            w.bytes += size;
            w.count += 1;
            w.files.entry(rel.to_string()).or_default().push(e.path());
        } else {
            w.skipped.push(format!("{shown} (not a regular file)"));
        }
    }
    Ok(())
}

/// Make the data disk at `image`.
pub fn create(
    image: &Path,
    job: &str,
    program: &Path,
    name: &str,
    mount: Option<&Path>,
) -> Result<Copied> {
    let mut w = Walk::default();
    if let Some(dir) = mount {
        if !dir.is_dir() {
            bail!("--mount {}: not a directory\n  fix: give --mount a directory (its files are copied to {} in the guest)", dir.display(), super::guest::MOUNT);
        }
        walk(dir, "", &mut w)?;
    }
    let program_size = std::fs::metadata(program)
        .with_context(|| format!("cannot read {}", program.display()))?
        .len();
    if program_size > MAX_FILE {
        bail!("{} is over FAT's 4 GiB file limit, and the data disk that carries it into the guest is FAT\n  fix: make the program smaller (strip its debug info: `[profile.release] strip = true`)", program.display());
    }
    // Content plus a quarter for FAT overhead and cluster slack, plus room
    // for what the program writes; at least 64 MiB.
    let content = w.bytes + program_size + job.len() as u64;
    let size = (content + content / 4 + (64 << 20)).div_ceil(1 << 20) << 20;
    let file = std::fs::File::create(image)
        .with_context(|| format!("cannot create {}", image.display()))?;
    file.set_len(size)?;
    drop(file);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(super::media::EPOCH)
        .to_string();
    let mut f = Command::new(tools::find(&tools::MFORMAT)?);
    f.arg("-i")
        .arg(image)
        .args(["-T", &(size / 512).to_string(), "-h", "64", "-s", "32"]);
    if size > (512 << 20) {
        f.arg("-F");
    }
    f.args(["-v", DATA_LABEL, "::"]);
    run_tool(mtools_env(&mut f, &now), "mformat")?;
    let mmd = tools::find(&tools::MMD)?;
    let mcopy = tools::find(&tools::MCOPY)?;
    let mut dirs: Vec<String> = vec![
        DATA_DIR.into(),
        format!("{DATA_DIR}/bin"),
        format!("{DATA_DIR}/out"),
    ];
    dirs.extend(w.dirs.iter().cloned());
    for chunk in dirs.chunks(BATCH) {
        let mut c = Command::new(&mmd);
        c.arg("-i").arg(image);
        for d in chunk {
            c.arg(format!("::/{d}"));
        }
        run_tool(mtools_env(&mut c, &now), "mmd")?;
    }
    let jobfile = image.with_extension("job");
    std::fs::write(&jobfile, job)?;
    let copy = |from: &[&Path], to: &str| -> Result<()> {
        let mut c = Command::new(&mcopy);
        c.arg("-i").arg(image).arg("-m");
        for f in from {
            c.arg(f);
        }
        c.arg(to);
        run_tool(mtools_env(&mut c, &now), "mcopy")
    };
    copy(&[&jobfile], &format!("::/{DATA_DIR}/job"))?;
    copy(&[program], &format!("::/{DATA_DIR}/bin/{name}"))?;
    let _ = std::fs::remove_file(&jobfile);
    for (dir, files) in &w.files {
        for chunk in files.chunks(BATCH) {
            let from: Vec<&Path> = chunk.iter().map(PathBuf::as_path).collect();
            copy(&from, &format!("::/{dir}/"))?;
        }
    }
    Ok(Copied {
        files: w.count,
        bytes: w.bytes,
        skipped: w.skipped,
    })
}

/// The exit status the guest wrote to the results area, if it did.
pub fn read_exit(image: &Path) -> Option<i32> {
    let mcopy = tools::find(&tools::MCOPY).ok()?;
    let mut c = Command::new(mcopy);
    c.arg("-i")
        .arg(image)
        .arg(format!("::/{DATA_DIR}/out/exit"))
        .arg("-");
    let out = mtools_env(&mut c, "0").output().ok()?;
    if !out.status.success() {
        return None;
    }
    String::from_utf8_lossy(&out.stdout).trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(fat_name_ok("Cargo.toml") && fat_name_ok(".hidden") && fat_name_ok("a b"));
        for bad in ["a:b", "x?", "trail.", "", "back\\slash"] {
            assert!(!fat_name_ok(bad), "{bad}");
        }
        assert_eq!(
            program_name(Path::new("/t/x86_64-unknown-freebsd/debug/deps/foo-1a2b")),
            "foo-1a2b"
        );
        assert_eq!(program_name(Path::new("/t/a:b")), "program");
    }
}
