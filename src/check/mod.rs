//! `bsdx check`: prove a FreeBSD ELF file fits a FreeBSD release before it
//! ships — everything `ld-elf.so.1` would refuse, found on the build
//! machine. The report is data ([`Report`], `--json`); [`Report::render`]
//! is its human view.

use std::path::{Path, PathBuf};

mod base;
mod elf;
mod facts;
mod report;
mod rules;
mod symbols;

pub use crate::model::release::release_name;
pub use base::Base;
use elf::map;
pub use elf::{escape, expand};
pub use report::{Code, FileReport, Finding, Level, Report, SCHEMA};
use rules::check_bytes;

use crate::findings::Tally;
use crate::model::release::{catalog, Release};
use crate::model::target::Target;

/// Check one file's bytes against `release` with the embedded data (what
/// the fuzz target and the mutation tests drive).
pub fn check_one(path: &Path, bytes: &[u8], release: &Release) -> FileReport {
    let idx = catalog()
        .releases
        .iter()
        .position(|r| r.release == release.release)
        .unwrap_or(0);
    let bases: Vec<Base> = catalog()
        .releases
        .iter()
        .map(|r| Base::embedded(r, "amd64"))
        .collect();
    check_bytes(path, bytes, &bases, idx, None)
}

/// Check `files` against `release`. With `sysroot`, the target release's
/// symbol data is read from the real libraries there.
pub fn run(
    files: &[PathBuf],
    release: &Release,
    sysroot: Option<&Path>,
    want: Option<&Target>,
) -> anyhow::Result<Report> {
    let sysroot_set = match sysroot {
        Some(dir) => Some(crate::sysroot::abi_set(dir, &release.release, "sysroot")?),
        None => None,
    };
    let target_idx = catalog()
        .releases
        .iter()
        .position(|r| r.release == release.release)
        .expect("release comes from the catalog");
    let bases_for = |machine: &str| {
        let mut bases: Vec<Base> = catalog()
            .releases
            .iter()
            .map(|r| Base::embedded(r, machine))
            .collect();
        if let (Some(set), Some(dir)) = (&sysroot_set, sysroot) {
            bases[target_idx] = Base::sysroot(&catalog().releases[target_idx], set, dir, machine);
        }
        bases
    };
    // arm64's bases are built only when an arm64 file is met.
    let (amd64, arm64) = (bases_for("amd64"), std::cell::OnceCell::new());
    let mut reports = Vec::new();
    let mut seen_amd64 = false;
    for path in expand(files) {
        let report = match map(&path) {
            Ok(bytes) => {
                let bytes = &bytes[..];
                let arm = goblin::elf::Elf::parse_header(bytes)
                    .ok()
                    .and_then(|h| Target::from_e_machine(h.e_machine))
                    .is_some_and(|t| t.machine == "arm64");
                seen_amd64 |= !arm;
                check_bytes(
                    &path,
                    bytes,
                    if arm {
                        arm64.get_or_init(|| bases_for("arm64"))
                    } else {
                        &amd64
                    },
                    target_idx,
                    want,
                )
            }
            Err(e) => {
                let mut r = check_bytes(&path, &[], &amd64, target_idx, want);
                r.unreadable = Some(format!("cannot read: {e}"));
                r
            }
        };
        reports.push(report);
    }
    Ok(Report {
        schema: SCHEMA,
        release: release.release.clone(),
        data: match arm64.get() {
            // Only arm64 files: say which data checked them.
            Some(arm) if !seen_amd64 => arm[target_idx].description.clone(),
            Some(arm) => format!(
                "amd64: {}; arm64: {}",
                amd64[target_idx].description, arm[target_idx].description
            ),
            None => amd64[target_idx].description.clone(),
        },
        sysroot_release: sysroot.map(crate::sysroot::identify),
        tally: Tally::count(
            reports.iter().flat_map(|f| &f.findings).map(|f| f.level),
            reports.iter().filter(|r| r.unreadable.is_some()).count(),
        ),
        files: reports,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_escaping() {
        assert_eq!(release_name(1404000), "14.4");
        assert_eq!(release_name(1305000), "13.5");
        assert_eq!(release_name(1500068), "15.0");
        assert_eq!(escape("lib\x1b[31mx\n"), "lib\\u{1b}[31mx\\n");
    }

    #[test]
    fn renamed_sonames_per_release() {
        let c = catalog();
        let b13 = Base::embedded(c.get("13.5").unwrap(), "amd64");
        let b15 = Base::embedded(c.get("15.0").unwrap(), "amd64");
        assert!(b13.has_soname("libutil.so.9") && !b13.has_soname("libutil.so.10"));
        assert!(b15.has_soname("libutil.so.10") && !b15.has_soname("libutil.so.9"));
        assert!(b15.has_soname("libsys.so.7"));
    }

    #[test]
    fn garbage_never_panics() {
        let c = catalog();
        let bases: Vec<Base> = c
            .releases
            .iter()
            .map(|r| Base::embedded(r, "amd64"))
            .collect();
        let mut seed = 0x2545F4914F6CDD1Du64;
        for len in [0usize, 1, 4, 16, 52, 64, 200, 4096] {
            for _ in 0..64 {
                let mut bytes: Vec<u8> = (0..len)
                    .map(|_| {
                        seed ^= seed << 13;
                        seed ^= seed >> 7;
                        seed ^= seed << 17;
                        seed as u8
                    })
                    .collect();
                if len >= 4 {
                    bytes[..4].copy_from_slice(b"\x7fELF");
                }
                if len >= 6 {
                    bytes[4] = 2;
                    bytes[5] = 1;
                }
                let _ = check_bytes(Path::new("fuzz"), &bytes, &bases, 3, None);
            }
        }
    }
}
