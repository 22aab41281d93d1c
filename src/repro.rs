//! `bsdx repro`: prove a FreeBSD build is bit-for-bit reproducible. The
//! project is copied into two directories with different paths, each built
//! with its own `CARGO_TARGET_DIR` by the same code as `bsdx build`, and every
//! produced binary's SHA-256 is compared. When they differ, an ELF-aware
//! diff says where: which sections, which byte ranges, and which embedded
//! strings (usually paths) differ.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::Result;
use schemars::JsonSchema;
use serde::Serialize;

use crate::digest::sha256_hex;
use crate::env::{self, Libs, Paths};
use crate::model::release::Release;
use crate::model::target::Target;

pub const SCHEMA: u32 = 1;

#[derive(Debug, Serialize, JsonSchema)]
pub struct Report {
    pub schema: u32,
    pub target: String,
    pub release: String,
    /// The two build directories (project copies).
    pub builds: [PathBuf; 2],
    pub binaries: Vec<Binary>,
    pub identical: bool,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct Binary {
    pub name: String,
    pub sha256: [String; 2],
    pub identical: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff: Option<Diff>,
}

#[derive(Debug, Default, Serialize, JsonSchema)]
pub struct Diff {
    pub sizes: [u64; 2],
    pub sections: Vec<SectionDiff>,
    /// Printable strings (>= 6 bytes) found in only one of the two files.
    pub only_in_first: Vec<String>,
    pub only_in_second: Vec<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct SectionDiff {
    pub name: String,
    pub sizes: [u64; 2],
    /// Differing byte ranges, as offsets into the section: `[start, end)`.
    pub ranges: Vec<(u64, u64)>,
    pub differing_bytes: u64,
}

/// Copy a Cargo project, leaving out `target/` and `.git/`.
fn copy_project(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from).map_err(|e| {
        anyhow::anyhow!(
            "cannot read {}: {e}\n  fix: make the project readable (bsdx repro copies it)",
            from.display()
        )
    })? {
        let entry = entry?;
        let name = entry.file_name();
        if name == "target" || name == ".git" {
            continue;
        }
        let (src, dst) = (entry.path(), to.join(&name));
        let ty = entry.file_type()?;
        if ty.is_dir() {
            copy_project(&src, &dst)?;
        } else if ty.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(&src)?, &dst)?;
        } else {
            std::fs::copy(&src, &dst).map_err(|e| {
                anyhow::anyhow!(
                    "cannot copy {}: {e}\n  fix: make it readable, or move it out of the project",
                    src.display()
                )
            })?;
        }
    }
    Ok(())
}

fn strings(bytes: &[u8]) -> BTreeSet<String> {
    bytes
        .split(|b| !(b.is_ascii_graphic() || *b == b' '))
        .filter(|s| s.len() >= 6)
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .collect()
}

fn ranges(a: &[u8], b: &[u8]) -> (Vec<(u64, u64)>, u64) {
    let n = a.len().max(b.len());
    let (mut out, mut count, mut start): (Vec<(u64, u64)>, u64, Option<usize>) = (vec![], 0, None);
    for i in 0..=n {
        let differs = i < n && a.get(i) != b.get(i);
        count += differs as u64;
        match (differs, start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                // Merge ranges closer than 16 bytes: one change, not many.
                match out.last_mut() {
                    Some(last) if s as u64 - last.1 < 16 => last.1 = i as u64,
                    _ => out.push((s as u64, i as u64)),
                }
                start = None;
            }
            _ => {}
        }
    }
    (out, count)
}

/// Sections by name with their file bytes (SHT_NOBITS have none).
fn sections(bytes: &[u8]) -> BTreeMap<String, &[u8]> {
    let mut out = BTreeMap::new();
    if let Ok(elf) = goblin::elf::Elf::parse(bytes) {
        for sh in &elf.section_headers {
            let name = elf
                .shdr_strtab
                .get_at(sh.sh_name)
                .unwrap_or("?")
                .to_string();
            let data = if sh.sh_type == goblin::elf::section_header::SHT_NOBITS {
                &[][..]
            } else {
                let start = sh.sh_offset as usize;
                bytes
                    .get(start..start.saturating_add(sh.sh_size as usize))
                    .unwrap_or(&[])
            };
            out.insert(name, data);
        }
    }
    out
}

/// Where two builds of one binary differ.
pub fn diff(a: &[u8], b: &[u8]) -> Diff {
    let (sa, sb) = (sections(a), sections(b));
    let mut d = Diff {
        sizes: [a.len() as u64, b.len() as u64],
        ..Diff::default()
    };
    let names: BTreeSet<&String> = sa.keys().chain(sb.keys()).collect();
    for name in names {
        let (x, y) = (
            sa.get(name).copied().unwrap_or(&[]),
            sb.get(name).copied().unwrap_or(&[]),
        );
        if x == y {
            continue;
        }
        let (ranges, differing_bytes) = ranges(x, y);
        d.sections.push(SectionDiff {
            name: crate::check::escape(name),
            sizes: [x.len() as u64, y.len() as u64],
            ranges: ranges.into_iter().take(20).collect(),
            differing_bytes,
        });
    }
    if sa.is_empty() && a != b {
        let (ranges, differing_bytes) = ranges(a, b);
        d.sections.push(SectionDiff {
            name: "(whole file: not ELF)".into(),
            sizes: d.sizes,
            ranges: ranges.into_iter().take(20).collect(),
            differing_bytes,
        });
    }
    let (xa, xb) = (strings(a), strings(b));
    // Paths first (the usual culprit), then shorter strings.
    let ranked = |only: Vec<&String>| {
        let mut v: Vec<String> = only.into_iter().map(|s| crate::check::escape(s)).collect();
        v.sort_by_key(|s| (!s.contains('/'), s.len()));
        v.truncate(50);
        v
    };
    d.only_in_first = ranked(xa.difference(&xb).collect());
    d.only_in_second = ranked(xb.difference(&xa).collect());
    d
}

/// Build `project` twice in `work/a/<name>` and `work/bb/<name>` (different
/// path lengths, different target dirs) and compare the binaries.
pub fn run(
    project: &Path,
    work: &Path,
    target: &Target,
    release: &Release,
    libs: &Libs,
    cargo_args: &[String],
) -> Result<Report> {
    let project = std::fs::canonicalize(project).map_err(|e| {
        anyhow::anyhow!(
            "{} does not exist ({e})\n  fix: pass the directory of a Cargo project",
            project.display()
        )
    })?;
    anyhow::ensure!(
        project.join("Cargo.toml").is_file(),
        "{} has no Cargo.toml\n  fix: pass the directory of a Cargo project (the one with Cargo.toml)",
        project.display()
    );
    let name = project
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "project".into());
    let dirs = [work.join("a").join(&name), work.join("bb").join(&name)];
    let mut outputs: Vec<BTreeMap<String, PathBuf>> = Vec::new();
    for (i, dir) in dirs.iter().enumerate() {
        if dir.exists() {
            std::fs::remove_dir_all(dir).map_err(|e| {
                anyhow::anyhow!(
                    "cannot clear {}: {e}\n  fix: remove it yourself (bsdx repro rebuilds it)",
                    dir.display()
                )
            })?;
        }
        copy_project(&project, dir)?;
        let paths = Paths::new(
            dir,
            Some(dir.parent().expect("has a parent").join("target")),
        );
        let cross = env::compute(target, release, libs, &paths)?;
        eprintln!("bsdx repro: build {} of 2 in {}", i + 1, dir.display());
        // Exactly as `bsdx build`: built, branded, checked.
        let built = crate::build::build_checked(&cross, release, libs, cargo_args, dir)?;
        // With a declared service, its .pkg (`bsdx package`) is compared too.
        let sysroot = match libs {
            Libs::Sysroot(d) => Some(d.as_path()),
            Libs::Stubs => None,
        };
        let pkg = crate::package::for_repro(dir, &built.binaries, target, release, sysroot)?;
        outputs.push(
            built
                .binaries
                .into_iter()
                .chain(pkg)
                .map(|b| {
                    (
                        b.file_name()
                            .map(|n| n.to_string_lossy().into_owned())
                            .unwrap_or_default(),
                        b,
                    )
                })
                .collect(),
        );
    }
    let mut binaries = Vec::new();
    let names: BTreeSet<&String> = outputs[0].keys().chain(outputs[1].keys()).collect();
    for n in names {
        let read = |m: &BTreeMap<String, PathBuf>| m.get(n).map(std::fs::read).transpose();
        let (a, b) = (
            read(&outputs[0])?.unwrap_or_default(),
            read(&outputs[1])?.unwrap_or_default(),
        );
        let identical = a == b && !a.is_empty();
        binaries.push(Binary {
            name: n.clone(),
            sha256: [sha256_hex(&a), sha256_hex(&b)],
            identical,
            diff: (!identical).then(|| diff(&a, &b)),
        });
    }
    anyhow::ensure!(
        !binaries.is_empty(),
        "the project produced no binaries to compare\n  fix: give it a binary target (src/main.rs or [[bin]]): bsdx repro compares the binaries cargo builds"
    );
    Ok(Report {
        schema: SCHEMA,
        target: target.triple.into(),
        release: release.release.clone(),
        identical: binaries.iter().all(|b| b.identical),
        builds: dirs,
        binaries,
    })
}

impl Report {
    pub fn render(&self) -> String {
        let mut out = String::new();
        for b in &self.binaries {
            if b.identical {
                out.push_str(&format!("{}: identical, sha256 {}\n", b.name, b.sha256[0]));
                continue;
            }
            out.push_str(&format!(
                "{}: DIFFERENT\n  build 1: {}\n  build 2: {}\n",
                b.name, b.sha256[0], b.sha256[1]
            ));
            if let Some(d) = &b.diff {
                for s in &d.sections {
                    let shown: Vec<String> = s
                        .ranges
                        .iter()
                        .take(5)
                        .map(|(a, b)| format!("{a:#x}..{b:#x}"))
                        .collect();
                    out.push_str(&format!(
                        "  section {}: {} byte(s) differ at {}{}\n",
                        s.name,
                        s.differing_bytes,
                        shown.join(", "),
                        if s.ranges.len() > 5 { ", …" } else { "" }
                    ));
                }
                for (label, list) in [
                    ("build 1", &d.only_in_first),
                    ("build 2", &d.only_in_second),
                ] {
                    for s in list.iter().take(10) {
                        out.push_str(&format!("  only in {label}: {s}\n"));
                    }
                }
            }
        }
        out.push_str(if self.identical {
            "reproducible: every binary is bit-for-bit identical across the two builds\n"
        } else {
            "NOT reproducible: see the differences above (embedded build paths are the usual cause)\n"
        });
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_merge_and_count() {
        let (r, n) = ranges(
            b"aaaaXaaaaaaaaaaaaaaaaaaaaaaaaaaYY",
            b"aaaaYaaaaaaaaaaaaaaaaaaaaaaaaaaZZ",
        );
        assert_eq!(n, 3);
        assert_eq!(r, vec![(4, 5), (31, 33)]);
        let (r, _) = ranges(b"aXaXa", b"aYaYa");
        assert_eq!(r, vec![(1, 4)], "close ranges merge");
        assert_eq!(
            ranges(b"abc", b"abcde").0,
            vec![(3, 5)],
            "length differences count"
        );
    }

    #[test]
    fn strings_that_differ() {
        let d = diff(
            b"xx /home/alice/bot/src/main.rs yy",
            b"xx /home/bob/bot/src/main.rs yy",
        );
        assert_eq!(d.only_in_first, vec!["xx /home/alice/bot/src/main.rs yy"]);
        assert_eq!(d.sections[0].name, "(whole file: not ELF)");
    }
}
