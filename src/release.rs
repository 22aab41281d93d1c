//! The release catalog (`stubs/releases.json`): which FreeBSD releases bsdx
//! knows, their `__FreeBSD_version`, and how each one's set of base
//! libraries differs from the release whose symbol data is shipped.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::abi::{self, AbiSet, Library};
use crate::error::Error;

pub const CATALOG_TEXT: &str = include_str!("../stubs/releases.json");

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Catalog {
    pub schema: u32,
    pub default_release: String,
    pub releases: Vec<Release>,
    pub zig_provides: Vec<String>,
    pub cargo_zigbuild_filtered: Vec<String>,
    pub default_stubs: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Release {
    pub release: String,
    pub freebsd_version: u32,
    /// `false` when `freebsd_version` is a lower bound.
    pub exact: bool,
    /// Keys of the symbol data (`stubs/abi/<key>.json`, `{arch}` replaced
    /// by `amd64`/`arm64`) whose union approximates this release's exports.
    pub symbols: Vec<String>,
    #[serde(default)]
    pub renamed: BTreeMap<String, String>,
    #[serde(default)]
    pub added: Vec<String>,
}

pub fn catalog() -> &'static Catalog {
    static CATALOG: OnceLock<Catalog> = OnceLock::new();
    CATALOG.get_or_init(|| {
        serde_json::from_str(CATALOG_TEXT)
            .expect("embedded stubs/releases.json is valid (unit-tested)")
    })
}

impl Catalog {
    pub fn get(&self, release: &str) -> Result<&Release, Error> {
        self.releases
            .iter()
            .find(|r| r.release == release)
            .ok_or_else(|| Error::UnknownRelease {
                given: release.to_string(),
                known: self.release_names().join(", "),
            })
    }

    pub fn release_names(&self) -> Vec<&str> {
        self.releases.iter().map(|r| r.release.as_str()).collect()
    }

    /// True when Zig already ships a FreeBSD stub for this `-l` name.
    pub fn zig_provides(&self, link_name: &str) -> bool {
        self.zig_provides.iter().any(|n| n == link_name)
    }
}

impl Release {
    /// The symbol data keys for a FreeBSD machine (`amd64`, `arm64`).
    pub fn symbol_keys(&self, machine: &str) -> Vec<String> {
        self.symbols
            .iter()
            .map(|k| k.replace("{arch}", machine))
            .collect()
    }

    /// The symbol data layers this release is approximated by, for `machine`.
    pub fn layers(&self, machine: &str) -> Vec<&'static AbiSet> {
        self.symbol_keys(machine)
            .iter()
            .map(|k| abi::embedded(k).expect("catalog names embedded symbol data (unit-tested)"))
            .collect()
    }

    /// True when the symbol lists come from this very release.
    pub fn symbols_are_exact(&self) -> bool {
        self.symbols.len() == 1 && self.symbols[0].starts_with(&format!("{}-", self.release))
    }

    /// The library with link name `name` as this release ships it: the
    /// first layer's library with this release's soname.
    pub fn library(&self, link_name: &str) -> Option<Library> {
        let mut lib = self
            .layers("amd64")
            .into_iter()
            .find_map(|set| set.by_link_name(link_name))?
            .clone();
        if let Some(new) = self.renamed.get(&lib.soname) {
            lib.path = lib.path.replace(&lib.soname, new);
            lib.soname = new.clone();
        }
        Some(lib)
    }

    /// Every soname in this release's base.
    pub fn sonames(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .layers("amd64")
            .iter()
            .flat_map(|set| &set.libraries)
            .map(|l| {
                self.renamed
                    .get(&l.soname)
                    .cloned()
                    .unwrap_or_else(|| l.soname.clone())
            })
            .chain(self.added.iter().cloned())
            .collect();
        names.sort();
        names.dedup();
        names
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_loads_and_is_consistent() {
        let c = catalog();
        assert_eq!(c.schema, 1);
        c.get(&c.default_release).unwrap();
        for r in &c.releases {
            for machine in ["amd64", "arm64"] {
                let layers = r.layers(machine);
                for old in r.renamed.keys() {
                    assert!(
                        layers.iter().any(|l| l.library(old).is_some()),
                        "{}: renames {old}, which the symbol data lacks",
                        r.release
                    );
                }
            }
        }
        for name in c.default_stubs.iter().chain(&c.cargo_zigbuild_filtered) {
            assert!(
                !c.zig_provides(name),
                "{name} is both stubbed and provided by Zig"
            );
            for r in &c.releases {
                assert!(
                    r.library(name).is_some(),
                    "{}: no data for stub {name}",
                    r.release
                );
            }
        }
    }

    #[test]
    fn per_release_sonames() {
        let c = catalog();
        let r15 = c.get("15.0").unwrap();
        assert!(r15.sonames().contains(&"libutil.so.10".to_string()));
        assert!(r15.sonames().contains(&"libsys.so.7".to_string()));
        assert!(!r15.sonames().contains(&"libutil.so.9".to_string()));
        assert_eq!(
            c.get("14.4").unwrap().library("nv").unwrap().soname,
            "libnv.so.1"
        );
        assert_eq!(
            c.get("13.5").unwrap().library("nv").unwrap().soname,
            "libnv.so.0"
        );
        assert_eq!(
            c.get("14.4").unwrap().library("kvm").unwrap().soname,
            "libkvm.so.7"
        );
        assert!(c.get("13.5").unwrap().symbols_are_exact());
        assert!(!c.get("14.4").unwrap().symbols_are_exact());
    }

    #[test]
    fn unknown_release_lists_known_ones() {
        let err = catalog().get("12.4").unwrap_err().to_string();
        assert!(
            err.contains("12.4") && err.contains("14.4") && err.contains("15.1"),
            "{err}"
        );
    }
}
