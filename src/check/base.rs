//! What a release's base libraries export: the embedded symbol data, or a
//! sysroot's real libraries, queried by soname and symbol (version).

use std::path::Path;

use super::elf::Requirement;
use crate::model::abi::{AbiSet, Library, Packed, PackedLibrary};
use crate::model::release::Release;

/// The symbol data of one release: layers of library sets, each with the
/// sonames it should be known by in that release.
pub struct Base<'a> {
    pub release: &'a Release,
    /// Real libraries read from a sysroot: for a soname they have, they are
    /// the only truth; the embedded layers serve only the sonames they lack.
    primary: Option<&'a AbiSet>,
    /// The embedded layers, pre-indexed at compile time: a check searches
    /// them without parsing the JSON.
    sets: Vec<(Packed, &'a std::collections::BTreeMap<String, String>)>,
    /// The data is this release's own (a sysroot, or the release data was
    /// taken from this very release).
    pub exact: bool,
    pub description: String,
}

/// One layer's version of a library: a sysroot's, or the embedded data's.
#[derive(Clone, Copy)]
pub(super) enum Lib<'a> {
    Read(&'a Library),
    Embedded(PackedLibrary),
}

impl Lib<'_> {
    fn exports(&self, name: &str, version: Option<&str>) -> bool {
        match self {
            Lib::Read(lib) => lib.exports(name, version),
            Lib::Embedded(lib) => lib.exports(name, version),
        }
    }
}

pub(super) enum Lookup {
    Found,
    Missing,
    /// The library is not in the data: nothing can be said.
    Unknown,
}

impl<'a> Base<'a> {
    pub fn embedded(release: &'a Release, machine: &str) -> Base<'a> {
        Base {
            release,
            primary: None,
            sets: release
                .packed_layers(machine)
                .into_iter()
                .map(|set| (set, &release.renamed))
                .collect(),
            exact: release.symbols_are_exact_for(machine),
            description: if release.symbols_are_exact_for(machine) {
                format!(
                    "FreeBSD {} base symbol data shipped with bsdx",
                    release.release
                )
            } else {
                format!(
                    "FreeBSD {} sonames; symbol lists from {} (bsdx has no full {machine} symbol data for {}; pass --sysroot for exact checks)",
                    release.release,
                    release.symbol_keys(machine).join(" + "),
                    release.release
                )
            },
        }
    }

    pub fn sysroot(release: &'a Release, set: &'a AbiSet, dir: &Path, machine: &str) -> Base<'a> {
        Base {
            release,
            primary: Some(set),
            sets: release
                .packed_layers(machine)
                .into_iter()
                .map(|s| (s, &release.renamed))
                .collect(),
            exact: true,
            description: format!(
                "the libraries of the sysroot {} (bsdx's data for sonames it lacks)",
                dir.display()
            ),
        }
    }

    /// Every layer's version of the library known as `soname` in this release.
    pub(super) fn libraries(&self, soname: &str) -> Vec<Lib<'a>> {
        if let Some(lib) = self.primary.and_then(|p| p.library(soname)) {
            return vec![Lib::Read(lib)];
        }
        self.sets
            .iter()
            .filter_map(|(set, renamed)| {
                let original = renamed
                    .iter()
                    .find(|(_, new)| *new == soname)
                    .map(|(old, _)| old.as_str());
                match original {
                    Some(old) => set.library(old),
                    // A library renamed away in this release is not there under its old name.
                    None if renamed.contains_key(soname) => None,
                    None => set.library(soname),
                }
                .map(Lib::Embedded)
            })
            .collect()
    }

    pub fn has_soname(&self, soname: &str) -> bool {
        !self.libraries(soname).is_empty() || self.release.added.iter().any(|a| a == soname)
    }

    pub(super) fn lookup(&self, req: &Requirement, needed: &[String]) -> Lookup {
        let exports = |lib: &Lib, version: Option<&str>| lib.exports(&req.name, version);
        match (&req.file, &req.version) {
            (Some(file), Some(version)) => {
                let libs = self.libraries(file);
                if libs.iter().any(|lib| exports(lib, Some(version))) {
                    Lookup::Found
                } else if libs.is_empty() {
                    Lookup::Unknown
                } else {
                    Lookup::Missing
                }
            }
            _ => {
                let mut unknown = false;
                for n in needed {
                    let libs = self.libraries(n);
                    if libs.iter().any(|lib| exports(lib, None)) {
                        return Lookup::Found;
                    }
                    unknown |= libs.is_empty();
                }
                if unknown {
                    Lookup::Unknown
                } else {
                    Lookup::Missing
                }
            }
        }
    }
}
