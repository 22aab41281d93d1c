//! The release catalog (`data/releases.json`, the one file of FreeBSD
//! release facts, also read by the flake): which releases bsdx knows, their
//! `__FreeBSD_version`, how each one's set of base libraries differs from
//! the release whose symbol data is shipped, and each one's pinned base.txz
//! per architecture. Data only: nothing here reads or writes files.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::model::abi::{self, AbiSet, Library};

pub const CATALOG_TEXT: &str = include_str!("../../data/releases.json");

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Catalog {
    pub schema: u32,
    pub default_release: String,
    pub releases: Vec<Release>,
    pub zig_provides: Vec<String>,
    pub cargo_zigbuild_filtered: Vec<String>,
    pub default_stubs: Vec<String>,
    /// Where FreeBSD keeps a release's base.txz during its life
    /// (`{machine}`, `{machine_arch}`, `{release}` are filled in).
    pub url_forms: Vec<String>,
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
    /// The release's base.txz per FreeBSD architecture (`amd64`, `arm64`).
    pub base_txz: BTreeMap<String, Pin>,
}

/// One pinned base.txz: where it lives and what its SHA-256 must be.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Pin {
    /// FreeBSD `machine` (`amd64`, `arm64`), the first path component.
    pub machine: String,
    /// FreeBSD `machine_arch` (`amd64`, `aarch64`), the second one.
    pub machine_arch: String,
    pub sha256: String,
    /// Independent projects found pinning this value.
    pub sources: u32,
    #[serde(default)]
    pub single_source: bool,
    pub urls: Vec<String>,
    #[serde(default)]
    pub size: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl Catalog {
    /// The URLs FreeBSD uses for `release`'s base.txz on `machine/machine_arch`.
    pub fn base_txz_urls(&self, release: &str, machine: &str, machine_arch: &str) -> Vec<String> {
        self.url_forms
            .iter()
            .map(|t| {
                t.replace("{machine}", machine)
                    .replace("{machine_arch}", machine_arch)
                    .replace("{release}", release)
            })
            .collect()
    }

    /// The release and architecture whose pinned base.txz has this SHA-256.
    pub fn identify_base_txz(&self, sha256: &str) -> Option<(&str, &str)> {
        self.releases.iter().find_map(|r| {
            r.base_txz
                .iter()
                .find(|(_, p)| p.sha256 == sha256)
                .map(|(a, _)| (r.release.as_str(), a.as_str()))
        })
    }
}

/// The release bsdx builds for when none is given (the data's `default_release`).
pub fn default_release() -> &'static str {
    &catalog().default_release
}

/// Every known release, oldest first: the CLI's `[possible values]`.
pub fn release_names() -> Vec<&'static str> {
    catalog().release_names()
}

/// `1404000` -> `14.4`; `1500068` -> `15.0`.
pub fn release_name(freebsd_version: u32) -> String {
    format!(
        "{}.{}",
        freebsd_version / 100_000,
        (freebsd_version / 1000) % 100
    )
}

pub fn catalog() -> &'static Catalog {
    static CATALOG: OnceLock<Catalog> = OnceLock::new();
    // `build.rs` writes [`CATALOG_TEXT`] as the expression that builds it:
    // nothing is parsed at start (unit-tested to equal a parse).
    CATALOG.get_or_init(|| include!(concat!(env!("OUT_DIR"), "/catalog.rs")))
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

    /// The same layers pre-indexed at compile time (what `bsdx check`
    /// searches): nothing is parsed.
    pub fn packed_layers(&self, machine: &str) -> Vec<abi::Packed> {
        self.symbol_keys(machine)
            .iter()
            .map(|k| abi::packed(k).expect("catalog names embedded symbol data (unit-tested)"))
            .collect()
    }

    /// True when the symbol lists come from this very release.
    pub fn symbols_are_exact(&self) -> bool {
        self.symbols.len() == 1 && self.symbols[0].starts_with(&format!("{}-", self.release))
    }

    /// [`Self::symbols_are_exact`], and the data is `machine`'s own (13.5's
    /// amd64 list only approximates arm64's).
    pub fn symbols_are_exact_for(&self, machine: &str) -> bool {
        self.symbols_are_exact()
            && self.symbol_keys(machine)[0] == format!("{}-{machine}", self.release)
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
        assert_eq!(c.schema, 2);
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
    fn every_symbol_data_file_is_named_by_a_release() {
        let named: std::collections::BTreeSet<String> = catalog()
            .releases
            .iter()
            .flat_map(|r| {
                ["amd64", "arm64"]
                    .into_iter()
                    .flat_map(|m| r.symbol_keys(m))
            })
            .collect();
        for key in abi::embedded_keys() {
            assert!(
                named.contains(key),
                "stubs/abi/{key}.json is named by no release in data/releases.json"
            );
        }
    }

    #[test]
    fn every_pin_follows_the_url_forms_and_names_its_machine() {
        let c = catalog();
        for r in &c.releases {
            assert!(!r.base_txz.is_empty(), "{}: no base.txz pin", r.release);
            for (arch, pin) in &r.base_txz {
                let t = crate::model::target::Target::from_arch(arch).unwrap();
                assert_eq!(
                    (pin.machine.as_str(), pin.machine_arch.as_str()),
                    (t.machine, t.machine_arch),
                    "{} {arch}",
                    r.release
                );
                assert_eq!(
                    pin.urls,
                    c.base_txz_urls(&r.release, &pin.machine, &pin.machine_arch),
                    "{} {arch}",
                    r.release
                );
                assert!(
                    pin.sha256.len() == 64 && pin.sha256.bytes().all(|b| b.is_ascii_hexdigit())
                );
                assert_eq!(pin.single_source, pin.sources < 2, "{} {arch}", r.release);
                assert_eq!(
                    c.identify_base_txz(&pin.sha256),
                    Some((r.release.as_str(), arch.as_str()))
                );
            }
        }
        let versions: Vec<u32> = c.releases.iter().map(|r| r.freebsd_version).collect();
        assert!(
            versions.windows(2).all(|w| w[0] < w[1]),
            "releases are listed oldest first"
        );
        assert!(release_names().contains(&default_release()));
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
        assert!(c.get("13.5").unwrap().symbols_are_exact_for("amd64"));
        assert!(
            !c.get("13.5").unwrap().symbols_are_exact_for("arm64"),
            "13.5's data is amd64's"
        );
    }

    #[test]
    fn the_built_catalog_is_the_parsed_one() {
        let parsed: Catalog = serde_json::from_str(CATALOG_TEXT).unwrap();
        assert_eq!(
            serde_json::to_value(&parsed).unwrap(),
            serde_json::to_value(catalog()).unwrap()
        );
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
