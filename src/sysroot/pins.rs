//! Which base.txz `bsdx sysroot fetch` wants: a pin from
//! `data/releases.json`, possibly with its hash overridden, or (with
//! `--sha256`) an unpinned release at FreeBSD's usual URLs.

use anyhow::Result;

use super::SysrootError;
use crate::model::release::{catalog, Pin};

fn pinned_release_names() -> Vec<&'static str> {
    catalog()
        .releases
        .iter()
        .filter(|r| !r.base_txz.is_empty())
        .map(|r| r.release.as_str())
        .collect()
}

/// The pins' name for `given` (`arm64` for `aarch64`), if any pin has it.
pub fn canonical_arch(given: &str) -> Option<&'static str> {
    catalog()
        .releases
        .iter()
        .flat_map(|r| r.base_txz.iter())
        .find(|(k, p)| *k == given || p.machine_arch == given)
        .map(|(k, _)| k.as_str())
}

/// The pin for `release` and `arch` (`arm64` or `aarch64`).
pub fn lookup(release: &str, arch: &str) -> Result<(&'static str, &'static Pin), SysrootError> {
    let archs = catalog()
        .releases
        .iter()
        .find(|r| r.release == release)
        .map(|r| &r.base_txz)
        .ok_or_else(|| SysrootError::UnknownRelease {
            given: release.to_string(),
            known: pinned_release_names().join(", "),
        })?;
    canonical_arch(arch)
        .and_then(|a| archs.get_key_value(a))
        .map(|(k, p)| (k.as_str(), p))
        .ok_or_else(|| SysrootError::UnknownArch {
            release: release.to_string(),
            given: arch.to_string(),
            known: archs.keys().cloned().collect::<Vec<_>>().join(", "),
        })
}

fn parse_sha256(given: &str) -> Result<String, SysrootError> {
    let ok = given.len() == 64 && given.bytes().all(|b| b.is_ascii_hexdigit());
    ok.then(|| given.to_ascii_lowercase())
        .ok_or_else(|| SysrootError::BadSha256 {
            given: given.escape_debug().to_string(),
        })
}

/// `14.4`: digits, a dot, digits (it becomes part of paths and URLs).
fn is_release_name(s: &str) -> bool {
    let digits = |p: &str| !p.is_empty() && p.len() <= 4 && p.bytes().all(|b| b.is_ascii_digit());
    s.split_once('.')
        .is_some_and(|(a, b)| digits(a) && digits(b))
}

/// The base.txz `fetch` wants: a pin, possibly with its hash overridden, or
/// (with `--sha256`) an unpinned release at FreeBSD's usual URLs.
#[derive(Debug, Clone)]
pub struct Wanted {
    pub release: String,
    pub arch: String,
    pub machine: String,
    pub machine_arch: String,
    pub sha256: String,
    pub urls: Vec<String>,
    pub size: Option<u64>,
    /// The hash is the pin's and only one project was found pinning it.
    pub single_source: bool,
}

impl Wanted {
    pub fn new(release: &str, arch: &str, sha256: Option<&str>) -> Result<Wanted> {
        let sha256 = sha256.map(parse_sha256).transpose()?;
        match (lookup(release, arch), sha256) {
            (Ok((arch, pin)), sha) => Ok(Wanted {
                release: release.to_string(),
                arch: arch.to_string(),
                machine: pin.machine.clone(),
                machine_arch: pin.machine_arch.clone(),
                single_source: sha.is_none() && pin.sources < 2,
                size: if sha.is_none() { pin.size } else { None },
                sha256: sha.unwrap_or_else(|| pin.sha256.clone()),
                urls: pin.urls.clone(),
            }),
            (Err(e), None) => Err(e.into()),
            (Err(e), Some(sha)) => {
                Self::unpinned(release, arch, sha).ok_or_else(|| anyhow::Error::from(e))
            }
        }
    }

    /// A release or architecture without a pin, at the usual URLs.
    fn unpinned(release: &str, arch: &str, sha256: String) -> Option<Wanted> {
        let key = canonical_arch(arch)?;
        let like = catalog()
            .releases
            .iter()
            .find_map(|r| r.base_txz.get(key))?;
        if !is_release_name(release) {
            return None;
        }
        Some(Wanted {
            release: release.to_string(),
            arch: key.to_string(),
            machine: like.machine.clone(),
            machine_arch: like.machine_arch.clone(),
            sha256,
            urls: catalog().base_txz_urls(release, &like.machine, &like.machine_arch),
            size: None,
            single_source: false,
        })
    }

    /// `14.4-amd64-769f60a6eea2938a`: the cache directory's name.
    pub fn dir_name(&self) -> String {
        format!("{}-{}-{}", self.release, self.arch, &self.sha256[..16])
    }

    /// The URLs on each mirror (space-separated base URLs) in place of the
    /// pinned ones; the pinned ones when there is none.
    pub fn urls_with(&self, mirrors: Option<&str>) -> Vec<String> {
        let mirrors: Vec<&str> = mirrors.unwrap_or("").split_whitespace().collect();
        if mirrors.is_empty() {
            return self.urls.clone();
        }
        mirrors
            .iter()
            .map(|m| {
                format!(
                    "{}/{}/{}/{}-RELEASE/base.txz",
                    m.trim_end_matches('/'),
                    self.machine,
                    self.machine_arch,
                    self.release
                )
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_pin_is_wanted_as_pinned_and_hashes_are_unique() {
        let mut seen = std::collections::BTreeSet::new();
        for r in &catalog().releases {
            for (arch, pin) in &r.base_txz {
                let w = Wanted::new(&r.release, arch, None).unwrap();
                assert_eq!(
                    (w.sha256.as_str(), &w.urls),
                    (pin.sha256.as_str(), &pin.urls)
                );
                assert_eq!(w.single_source, pin.sources < 2);
                assert!(is_release_name(&r.release), "{}", r.release);
                assert!(
                    seen.insert(pin.sha256.clone()),
                    "{} {arch}: sha256 pinned twice",
                    r.release
                );
            }
        }
    }

    #[test]
    fn unknown_releases_and_archs_list_the_known_ones() {
        let e = lookup("16.0", "amd64").unwrap_err().to_string();
        assert!(
            e.contains("pinned releases: 13.5, 14.2, 14.3, 14.4, 15.0, 15.1"),
            "{e}"
        );
        let e = lookup("15.1", "arm64").unwrap_err().to_string();
        assert!(e.contains("pinned architectures for 15.1: amd64"), "{e}");
        let e = lookup("14.4", "sparc64").unwrap_err().to_string();
        assert!(
            e.contains("pinned architectures for 14.4: amd64, arm64"),
            "{e}"
        );
        assert_eq!(lookup("14.4", "aarch64").unwrap().0, "arm64");
    }

    #[test]
    fn sha256_override_and_unpinned_releases() {
        let sha = "AB".repeat(32);
        let w = Wanted::new("14.4", "amd64", Some(&sha)).unwrap();
        assert_eq!(w.sha256, "ab".repeat(32));
        assert_eq!(w.dir_name(), format!("14.4-amd64-{}", "ab".repeat(8)));
        let w = Wanted::new("15.1", "aarch64", Some(&sha)).unwrap();
        assert_eq!(
            w.urls[0],
            "https://download.freebsd.org/releases/arm64/aarch64/15.1-RELEASE/base.txz"
        );
        assert!(
            Wanted::new("../x", "amd64", Some(&sha)).is_err(),
            "release names become paths"
        );
        assert!(Wanted::new("16.0", "sparc64", Some(&sha)).is_err());
        assert!(Wanted::new("14.4", "amd64", Some("abc"))
            .unwrap_err()
            .to_string()
            .contains("64 hex digits"));
        let w = Wanted::new("14.4", "amd64", None).unwrap();
        assert_eq!(w.urls_with(Some("  ")), w.urls);
        assert_eq!(
            w.urls_with(Some("file:///m/ https://x.example")),
            [
                "file:///m/amd64/amd64/14.4-RELEASE/base.txz",
                "https://x.example/amd64/amd64/14.4-RELEASE/base.txz"
            ]
        );
    }
}
