//! ABI data of FreeBSD base libraries: soname, DT_NEEDED and every exported
//! dynamic symbol (type, object size, version node).
//!
//! The data lives in `stubs/abi/<release>-<arch>.json`, embedded at compile
//! time and shared by `bsdx stubs` (to generate authentic stub libraries) and
//! the auditor. The file is written by [`write_pretty`] so that a symbol is
//! one line and a regenerated file diffs cleanly.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::OnceLock;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

pub const SCHEMA: u32 = 1;

/// ELF symbol type as FreeBSD's `readelf --dyn-syms` calls it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SymKind {
    Func,
    Object,
    Tls,
    Ifunc,
    Notype,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Symbol {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: SymKind,
    /// Size in bytes, recorded for data objects (`object`, `tls`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// Version node (`FBSD_1.0`, ...); `None` for unversioned libraries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// A non-default version (`name@VER`, not `name@@VER`): old binaries
    /// still bind to it, new links cannot.
    #[serde(default, skip_serializing_if = "is_false", alias = "hidden_version")]
    pub hidden: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Library {
    pub soname: String,
    /// Where the library lives in an installed base (`/lib/libkvm.so.7`).
    pub path: String,
    #[serde(default)]
    pub needed: Vec<String>,
    #[serde(alias = "exports")]
    pub symbols: Vec<Symbol>,
}

impl Library {
    /// The `-l` name: `libkvm.so.7` -> `kvm`.
    pub fn link_name(&self) -> &str {
        link_name(&self.soname)
    }
}

/// `libkvm.so.7` -> `kvm`; names that do not follow `lib<name>.so[.N]` are
/// returned unchanged.
pub fn link_name(soname: &str) -> &str {
    let base = soname.split(".so").next().unwrap_or(soname);
    base.strip_prefix("lib").unwrap_or(base)
}

/// All shared libraries of one release and architecture.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AbiSet {
    pub schema: u32,
    pub release: String,
    pub arch: String,
    pub source: String,
    pub libraries: Vec<Library>,
}

impl AbiSet {
    pub fn library(&self, soname: &str) -> Option<&Library> {
        self.libraries.iter().find(|l| l.soname == soname)
    }

    pub fn by_link_name(&self, name: &str) -> Option<&Library> {
        self.libraries.iter().find(|l| l.link_name() == name)
    }

    /// Sort libraries by soname and symbols by (name, version) so the file
    /// content depends only on the data, never on the order it was read in.
    pub fn normalize(&mut self) {
        self.libraries.sort_by(|a, b| a.soname.cmp(&b.soname));
        for lib in &mut self.libraries {
            lib.symbols.sort_by(|a, b| {
                (&a.name, &a.version, a.hidden).cmp(&(&b.name, &b.version, b.hidden))
            });
            lib.symbols.dedup();
        }
    }

    /// Convert the layout `readelf`-derived dumps use (`{"libraries": {soname: {exports, needed, path, soname}}}`).
    pub fn from_dump(text: &str) -> Result<AbiSet> {
        #[derive(Deserialize)]
        struct Dump {
            arch: String,
            release: String,
            source: String,
            libraries: BTreeMap<String, Library>,
        }
        let dump: Dump = serde_json::from_str(text).context(
            "not a base ABI dump (expected {arch, release, source, libraries: {soname: {...}}})",
        )?;
        let mut set = AbiSet {
            schema: SCHEMA,
            release: dump.release.trim_end_matches("-RELEASE").to_string(),
            arch: dump.arch,
            source: dump.source,
            libraries: dump.libraries.into_values().collect(),
        };
        set.normalize();
        Ok(set)
    }

    /// One symbol per line: small diffs when the data is regenerated.
    pub fn write_pretty(&self) -> String {
        let mut out = String::new();
        let q = |s: &str| serde_json::to_string(s).expect("strings serialize");
        let _ = writeln!(out, "{{");
        let _ = writeln!(out, "  \"schema\": {},", self.schema);
        let _ = writeln!(out, "  \"release\": {},", q(&self.release));
        let _ = writeln!(out, "  \"arch\": {},", q(&self.arch));
        let _ = writeln!(out, "  \"source\": {},", q(&self.source));
        let _ = writeln!(out, "  \"libraries\": [");
        for (i, lib) in self.libraries.iter().enumerate() {
            let _ = writeln!(out, "    {{");
            let _ = writeln!(out, "      \"soname\": {},", q(&lib.soname));
            let _ = writeln!(out, "      \"path\": {},", q(&lib.path));
            let _ = writeln!(
                out,
                "      \"needed\": {},",
                serde_json::to_string(&lib.needed).expect("serialize")
            );
            let _ = writeln!(out, "      \"symbols\": [");
            for (j, sym) in lib.symbols.iter().enumerate() {
                let comma = if j + 1 < lib.symbols.len() { "," } else { "" };
                let _ = writeln!(
                    out,
                    "        {}{comma}",
                    serde_json::to_string(sym).expect("serialize")
                );
            }
            let _ = writeln!(out, "      ]");
            let comma = if i + 1 < self.libraries.len() {
                ","
            } else {
                ""
            };
            let _ = writeln!(out, "    }}{comma}");
        }
        let _ = writeln!(out, "  ]");
        let _ = writeln!(out, "}}");
        out
    }
}

/// The symbol data files shipped in `stubs/abi/`: `<key>.json`, where the
/// key is what `data/releases.json` names in a release's `symbols`.
static EMBEDDED: include_dir::Dir<'static> =
    include_dir::include_dir!("$CARGO_MANIFEST_DIR/stubs/abi");

/// Every embedded data file, by key, each parsed on first use.
fn files() -> &'static [(&'static str, &'static str, OnceLock<AbiSet>)] {
    static FILES: OnceLock<Vec<(&'static str, &'static str, OnceLock<AbiSet>)>> = OnceLock::new();
    FILES.get_or_init(|| {
        EMBEDDED
            .files()
            .filter_map(|f| {
                let key = f.path().to_str()?.strip_suffix(".json")?;
                Some((key, f.contents_utf8()?, OnceLock::new()))
            })
            .collect()
    })
}

/// Look up embedded symbol data by its key (`13.5-amd64`).
pub fn embedded(key: &str) -> Result<&'static AbiSet> {
    let (k, text, set) = files()
        .iter()
        .find(|(k, _, _)| *k == key)
        .with_context(|| format!("no embedded symbol data named {key} (stubs/abi/{key}.json)"))?;
    Ok(set.get_or_init(|| {
        serde_json::from_str(text)
            .unwrap_or_else(|e| panic!("embedded stubs/abi/{k}.json is invalid: {e}"))
    }))
}

/// Bytes of an embedded data file, for cache keys.
pub fn embedded_text(key: &str) -> Option<&'static str> {
    files()
        .iter()
        .find(|(k, _, _)| *k == key)
        .map(|(_, t, _)| *t)
}

/// The keys of every embedded data file.
pub fn embedded_keys() -> Vec<&'static str> {
    files().iter().map(|(k, _, _)| *k).collect()
}

/// The symbol data files in the compact form `build.rs` packs them into at
/// compile time: what `bsdx check` searches, without parsing any JSON.
static PACKED: &[(&str, &[u8])] = include!(concat!(env!("OUT_DIR"), "/abi_packed.rs"));

/// One embedded data file, pre-indexed (`build.rs`): a fixed header, then
/// tables of libraries, DT_NEEDED names and symbols (fixed-size records,
/// little-endian; a string is a `u32` offset and a `u32` length into the
/// string table), in the JSON's (normalized, so sorted) order.
///
/// Header: `BSDXABI1`, schema `u32`, release, arch, source (strings), the
/// library count and the offsets of the library, needed, symbol and string
/// tables (`u32` each). Library record: soname, path, first needed, needed
/// count, first symbol, symbol count. Symbol record: name, version, size
/// `u64`, type `u8`, flags `u8` (1 size, 2 version, 4 hidden), 2 padding.
#[derive(Clone, Copy)]
pub struct Packed {
    pub key: &'static str,
    bytes: &'static [u8],
}

const LIB_RECORD: usize = 32;
const SYM_RECORD: usize = 28;
const STR_RECORD: usize = 8;

impl Packed {
    fn u32_at(&self, at: usize) -> usize {
        let b: [u8; 4] = self.bytes[at..at + 4].try_into().expect("4 bytes");
        u32::from_le_bytes(b) as usize
    }

    fn bytes_at(&self, at: usize) -> &'static [u8] {
        let start = self.u32_at(52) + self.u32_at(at);
        &self.bytes[start..start + self.u32_at(at + 4)]
    }

    fn str_at(&self, at: usize) -> &'static str {
        std::str::from_utf8(self.bytes_at(at)).expect("build.rs packs UTF-8")
    }

    pub fn schema(&self) -> u32 {
        self.u32_at(8) as u32
    }

    pub fn release(&self) -> &'static str {
        self.str_at(12)
    }

    pub fn arch(&self) -> &'static str {
        self.str_at(20)
    }

    pub fn source(&self) -> &'static str {
        self.str_at(28)
    }

    pub fn libraries(self) -> impl Iterator<Item = PackedLibrary> {
        (0..self.u32_at(36)).map(move |i| PackedLibrary {
            set: self,
            at: self.u32_at(40) + i * LIB_RECORD,
        })
    }

    /// The library with this soname (libraries are sorted by soname).
    pub fn library(self, soname: &str) -> Option<PackedLibrary> {
        let n = self.u32_at(36);
        let lib = |i: usize| PackedLibrary {
            set: self,
            at: self.u32_at(40) + i * LIB_RECORD,
        };
        let i = partition_point(n, |i| lib(i).soname_bytes() < soname.as_bytes());
        (i < n && lib(i).soname_bytes() == soname.as_bytes()).then(|| lib(i))
    }

    /// The whole file as [`AbiSet`] (what the JSON parses to).
    pub fn to_abi_set(self) -> AbiSet {
        AbiSet {
            schema: self.schema(),
            release: self.release().to_string(),
            arch: self.arch().to_string(),
            source: self.source().to_string(),
            libraries: self.libraries().map(|l| l.to_library()).collect(),
        }
    }
}

/// `partition_point` over the indices `0..n`.
fn partition_point(n: usize, mut pred: impl FnMut(usize) -> bool) -> usize {
    let (mut lo, mut hi) = (0, n);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if pred(mid) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}

/// One library of a [`Packed`] file.
#[derive(Clone, Copy)]
pub struct PackedLibrary {
    set: Packed,
    at: usize,
}

impl PackedLibrary {
    fn soname_bytes(&self) -> &'static [u8] {
        self.set.bytes_at(self.at)
    }

    pub fn soname(&self) -> &'static str {
        self.set.str_at(self.at)
    }

    pub fn path(&self) -> &'static str {
        self.set.str_at(self.at + 8)
    }

    pub fn needed(&self) -> impl Iterator<Item = &'static str> {
        let set = self.set;
        let first = set.u32_at(44) + set.u32_at(self.at + 16) * STR_RECORD;
        (0..set.u32_at(self.at + 20)).map(move |i| set.str_at(first + i * STR_RECORD))
    }

    fn symbol_at(&self, i: usize) -> usize {
        self.set.u32_at(48) + (self.set.u32_at(self.at + 24) + i) * SYM_RECORD
    }

    fn symbol_count(&self) -> usize {
        self.set.u32_at(self.at + 28)
    }

    fn symbol(&self, i: usize) -> Symbol {
        let at = self.symbol_at(i);
        let b = self.set.bytes;
        let flags = b[at + 25];
        Symbol {
            name: self.set.str_at(at).to_string(),
            kind: match b[at + 24] {
                0 => SymKind::Func,
                1 => SymKind::Object,
                2 => SymKind::Tls,
                3 => SymKind::Ifunc,
                _ => SymKind::Notype,
            },
            size: (flags & 1 != 0)
                .then(|| u64::from_le_bytes(b[at + 16..at + 24].try_into().expect("8 bytes"))),
            version: (flags & 2 != 0).then(|| self.set.str_at(at + 8).to_string()),
            hidden: flags & 4 != 0,
        }
    }

    /// Exports a symbol `name`, at `version` when one is given (any
    /// version node, hidden ones included, as [`Library::exports`]).
    pub fn exports(&self, name: &str, version: Option<&str>) -> bool {
        let n = self.symbol_count();
        let name_of = |i: usize| self.set.bytes_at(self.symbol_at(i));
        let start = partition_point(n, |i| name_of(i) < name.as_bytes());
        (start..n)
            .take_while(|&i| name_of(i) == name.as_bytes())
            .any(|i| {
                let at = self.symbol_at(i);
                version.is_none()
                    || (self.set.bytes[at + 25] & 2 != 0
                        && Some(self.set.bytes_at(at + 8)) == version.map(str::as_bytes))
            })
    }

    pub fn to_library(&self) -> Library {
        Library {
            soname: self.soname().to_string(),
            path: self.path().to_string(),
            needed: self.needed().map(str::to_string).collect(),
            symbols: (0..self.symbol_count()).map(|i| self.symbol(i)).collect(),
        }
    }
}

impl Library {
    /// Exports a symbol `name`, at `version` when one is given. Symbols are
    /// sorted by name ([`AbiSet::normalize`]).
    pub fn exports(&self, name: &str, version: Option<&str>) -> bool {
        let start = self.symbols.partition_point(|s| s.name.as_str() < name);
        self.symbols[start..]
            .iter()
            .take_while(|s| s.name == name)
            .any(|s| version.is_none() || s.version.as_deref() == version)
    }
}

/// Look up embedded symbol data by its key (`13.5-amd64`), pre-indexed.
pub fn packed(key: &str) -> Result<Packed> {
    PACKED
        .iter()
        .find(|(k, _)| *k == key)
        .map(|&(key, bytes)| Packed { key, bytes })
        .with_context(|| format!("no embedded symbol data named {key} (stubs/abi/{key}.json)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_embedded_file_loads_and_is_normalized() {
        assert_eq!(
            embedded_keys().len(),
            EMBEDDED.files().count(),
            "every file is JSON"
        );
        for key in embedded_keys() {
            let text = embedded_text(key).unwrap();
            let set = embedded(key).unwrap();
            assert_eq!(set.schema, SCHEMA);
            assert!(!set.libraries.is_empty());
            let mut again = set.clone();
            again.normalize();
            assert_eq!(&again, set, "{key} is not normalized");
            assert_eq!(
                set.write_pretty(),
                text,
                "{key} is not in write_pretty layout"
            );
        }
    }

    #[test]
    fn the_packed_index_equals_the_json() {
        assert_eq!(
            PACKED.iter().map(|(k, _)| *k).collect::<Vec<_>>(),
            {
                let mut keys = embedded_keys();
                keys.sort();
                keys
            },
            "build.rs packs every file"
        );
        for key in embedded_keys() {
            let packed = packed(key).unwrap();
            let set = embedded(key).unwrap();
            assert_eq!(&packed.to_abi_set(), set, "{key}: packed form differs");
            for lib in &set.libraries {
                let p = packed.library(&lib.soname).unwrap();
                assert_eq!(p.soname(), lib.soname);
                for (i, s) in lib.symbols.iter().enumerate() {
                    // Every name and version is found, as in the JSON.
                    assert!(p.exports(&s.name, None));
                    assert!(p.exports(&s.name, s.version.as_deref()));
                    if i % 7 == 0 {
                        let absent = format!("{}~", s.name);
                        assert_eq!(p.exports(&absent, None), lib.exports(&absent, None));
                        assert_eq!(
                            p.exports(&s.name, Some("NO_SUCH_1.0")),
                            lib.exports(&s.name, Some("NO_SUCH_1.0"))
                        );
                    }
                }
            }
            assert!(packed.library("libnothere.so.1").is_none());
            assert!(packed.library("").is_none());
            assert!(packed.library("\u{10ffff}").is_none());
        }
    }

    #[test]
    fn real_13_5_data_has_what_stubs_need() {
        let set = embedded("13.5-amd64").unwrap();
        let kvm = set.library("libkvm.so.7").unwrap();
        assert_eq!(kvm.path, "/lib/libkvm.so.7");
        assert!(kvm
            .symbols
            .iter()
            .any(|s| s.name == "kvm_openfiles" && s.kind == SymKind::Func && s.version.is_none()));
        let devstat = set.library("libdevstat.so.7").unwrap();
        let errbuf = devstat
            .symbols
            .iter()
            .find(|s| s.name == "devstat_errbuf")
            .unwrap();
        assert_eq!((errbuf.kind, errbuf.size), (SymKind::Object, Some(2048)));
        let procstat = set.library("libprocstat.so.1").unwrap();
        let hidden: Vec<_> = procstat
            .symbols
            .iter()
            .filter(|s| s.name == "procstat_get_vnode_info")
            .collect();
        assert_eq!(hidden.len(), 3, "one default and two hidden versions");
        assert_eq!(hidden.iter().filter(|s| !s.hidden).count(), 1);
        assert_eq!(
            set.by_link_name("procstat").unwrap().soname,
            "libprocstat.so.1"
        );
    }

    #[test]
    fn link_names() {
        assert_eq!(link_name("libkvm.so.7"), "kvm");
        assert_eq!(link_name("libc++.so.1"), "c++");
        assert_eq!(link_name("pam_unix.so.6"), "pam_unix");
    }
}
