//! Which FreeBSD release a sysroot's libraries are: from bsdx's own marker
//! when `bsdx sysroot` made it, else from the ABI note `libc.so.7` carries
//! (`__FreeBSD_version`), else from the symbols (name@version) its libc
//! exports, compared with each release's data (13.5's libc lacks
//! `secure_getenv@FBSD_1.7`, 14.x's has it). A sysroot of one release checked or linked
//! as another would give wrong answers, so bsdx refuses the mismatch.

use std::path::Path;

use schemars::JsonSchema;
use serde::Serialize;

use super::{shared_libraries, Marker, MARKER};
use crate::error::Error;
use crate::model::release::{catalog, Release};

/// What a sysroot says about its release.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SysrootRelease {
    /// The release, when the sysroot names exactly one (`13.5`).
    pub release: Option<String>,
    /// The known releases it can be: one when exact, several when only the
    /// symbol versions tell, none when nothing does.
    pub candidates: Vec<String>,
    /// How bsdx knows.
    pub source: String,
}

impl SysrootRelease {
    /// `FreeBSD 13.5 (from …)` for messages and `bsdx env`.
    pub fn describe(&self) -> String {
        match (&self.release, self.candidates.as_slice()) {
            (Some(r), _) => format!("FreeBSD {r} ({})", self.source),
            (None, []) => format!("an unknown release ({})", self.source),
            (None, c) => format!("FreeBSD {} ({})", c.join(" or "), self.source),
        }
    }

    /// True when the sysroot cannot be `release`.
    pub fn excludes(&self, release: &Release) -> bool {
        match &self.release {
            Some(r) => r != &release.release,
            None => !self.candidates.is_empty() && !self.candidates.contains(&release.release),
        }
    }
}

type Exports = std::collections::HashSet<(String, Option<String>)>;

/// What libc.so.7 exports in each known release's data: `(name, version)`.
fn libc_exports() -> Vec<(&'static Release, Exports)> {
    catalog()
        .releases
        .iter()
        .map(|r| {
            let set = r
                .layers("amd64")
                .iter()
                .filter_map(|set| set.library("libc.so.7"))
                .flat_map(|lib| {
                    lib.symbols
                        .iter()
                        .map(|s| (s.name.clone(), s.version.clone()))
                })
                .collect();
            (r, set)
        })
        .collect()
}

/// The known releases whose libc data `exports` covers, keeping only the
/// most specific ones (a release whose data is a strict subset of another
/// candidate's is dropped: 14.x's data includes 13.5's).
fn releases_covered_by(exports: &Exports) -> Vec<String> {
    let data = libc_exports();
    let covered: Vec<&(&Release, Exports)> = data
        .iter()
        .filter(|(_, want)| !want.is_empty() && want.is_subset(exports))
        .collect();
    covered
        .iter()
        .filter(|(_, a)| {
            !covered
                .iter()
                .any(|(_, b)| a.len() < b.len() && a.is_subset(b))
        })
        .map(|(r, _)| r.release.clone())
        .collect()
}

/// Determine the release of the sysroot at `dir`.
pub fn identify(dir: &Path) -> SysrootRelease {
    if let Some(marker) = std::fs::read_to_string(dir.join(MARKER))
        .ok()
        .and_then(|t| serde_json::from_str::<Marker>(&t).ok())
    {
        if let Some(r) = marker.release {
            let known = catalog().get(&r).is_ok();
            return SysrootRelease {
                candidates: if known { vec![r.clone()] } else { vec![] },
                release: Some(r),
                source: format!("its {MARKER}"),
            };
        }
    }
    let Some(libc) = shared_libraries(dir)
        .into_iter()
        .find(|l| l.soname == "libc.so.7")
    else {
        return SysrootRelease {
            release: None,
            candidates: vec![],
            source: "it has no libc.so.7 to tell by".into(),
        };
    };
    let shown = libc
        .real
        .strip_prefix(dir)
        .unwrap_or(&libc.real)
        .display()
        .to_string();
    let bytes = std::fs::read(&libc.real).unwrap_or_default();
    let elf = goblin::elf::Elf::parse(&bytes).ok();
    if let Some(v) = elf.as_ref().and_then(|e| crate::abitag::read(e, &bytes)) {
        let candidates: Vec<String> = catalog()
            .releases
            .iter()
            .filter(|r| r.freebsd_version / 1000 == v / 1000)
            .map(|r| r.release.clone())
            .collect();
        return SysrootRelease {
            release: Some(crate::model::release::release_name(v)),
            candidates,
            source: format!("the ABI note of {shown}, __FreeBSD_version {v}"),
        };
    }
    let Ok(lib) = super::library_from_elf(&bytes, &shown) else {
        return SysrootRelease {
            release: None,
            candidates: vec![],
            source: format!("{shown} is not a readable shared library"),
        };
    };
    let exports: Exports = lib
        .symbols
        .into_iter()
        .map(|s| (s.name, s.version))
        .collect();
    let candidates = releases_covered_by(&exports);
    SysrootRelease {
        release: (candidates.len() == 1).then(|| candidates[0].clone()),
        source: if candidates.is_empty() {
            format!("{shown} has no ABI note, and its symbols match no known release's data")
        } else {
            format!(
                "{shown} has no ABI note; its exported symbols match bsdx's data for FreeBSD {}",
                candidates.join(", ")
            )
        },
        candidates,
    }
}

/// The sysroot at `dir` as `release`: refused when it is another release.
pub fn ensure_is(dir: &Path, release: &Release) -> Result<SysrootRelease, Error> {
    let found = identify(dir);
    if found.excludes(release) {
        let theirs = found
            .release
            .clone()
            .or_else(|| found.candidates.first().cloned());
        return Err(Error::SysrootReleaseMismatch {
            sysroot: dir.to_path_buf(),
            wanted: release.release.clone(),
            found: found.describe(),
            fix: match theirs {
                Some(r) => format!(
                    "build or check for the sysroot's release (--release {r}), or get a FreeBSD {} sysroot: `bsdx sysroot fetch --release {}`",
                    release.release, release.release
                ),
                None => format!("get a FreeBSD {0} sysroot: `bsdx sysroot fetch --release {0}`", release.release),
            },
        });
    }
    Ok(found)
}
