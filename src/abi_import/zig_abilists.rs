//! Reader for the FreeBSD `abilists` file that Zig ships (`lib/libc/freebsd/abilists`).
//!
//! The format is the one read by Zig 0.15's `src/libs/freebsd.zig` (ziglang/zig: `loadMetaData`
//! reads the header, `buildSharedObjects` the symbols; the same layout as `glibc.zig`'s):
//!
//! ```text
//! u8 libs_len,     libs_len × NUL-terminated library name ("m", "c", "thr", "ld", ...)
//! u8 versions_len, versions_len × (u8 major, u8 minor, u8 patch)       (FBSD_1.0 ..= FBSD_1.7)
//! u8 targets_len,  targets_len × NUL-terminated "arch-freebsd-abi"
//! three sections — functions, objects, TLS objects — each:
//!   u16 LE number of *inclusions* (not symbols), then the inclusions:
//!     [symbol name, NUL-terminated]   only when the previous inclusion was terminal
//!     ULEB128 u64 target bitmask      (bit i = targets[i])
//!     ULEB128 u16 size                (objects and TLS only)
//!     u8 lib index | 0x20 unversioned | 0x40 weak | 0x80 terminal (last inclusion of the name)
//!     version indices, one byte each, 0x80 set on the last one
//! ```

use std::collections::BTreeMap;
use std::fmt;

use anyhow::{bail, ensure, Context, Result};
use serde::Serialize;

/// What to do about a file this parser cannot read.
const FIX: &str = "\n  fix: pass Zig 0.15.2's own lib/libc/freebsd/abilists (beside the zig that `python3 -m ziglang` runs); this file is damaged or of another Zig version";

/// Zig's library names with FreeBSD's sonames: `libs` (name, sover) in freebsd.zig gives
/// `lib{name}.so.{sover}`; "ld" is named after the dynamic linker, `/libexec/ld-elf.so.1`.
const SONAMES: &[(&str, &str)] = &[
    ("m", "libm.so.5"),
    ("stdthreads", "libstdthreads.so.0"),
    ("thr", "libthr.so.3"),
    ("c", "libc.so.7"),
    ("dl", "libdl.so.1"),
    ("rt", "librt.so.1"),
    ("ld", "ld-elf.so.1"),
    ("util", "libutil.so.9"),
    ("execinfo", "libexecinfo.so.1"),
];

/// The FreeBSD soname of one of Zig's library names ("c" → "libc.so.7").
pub fn soname(lib: &str) -> Option<&'static str> {
    SONAMES.iter().find(|(n, _)| *n == lib).map(|(_, s)| *s)
}

/// A symbol version node; FreeBSD names it `FBSD_{major}.{minor}` (patch is always 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Version {
    pub major: u8,
    pub minor: u8,
    pub patch: u8,
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FBSD_{}.{}", self.major, self.minor)
    }
}

/// Which section of the file a symbol comes from; serialized as "func", "object", "tls".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SymKind {
    Func,
    Object,
    Tls,
}

/// One record of a symbol: "in library `lib`, for these targets, at these versions".
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Inclusion {
    /// Bit `i` set means `AbiLists::targets[i]`.
    pub targets: u64,
    /// Index into `AbiLists::libs`.
    pub lib: u8,
    /// Indices into `AbiLists::versions`, as stored (ascending in practice).
    pub versions: Vec<u8>,
    /// Object size in bytes (objects and TLS only).
    pub size: Option<u16>,
    /// Exported without a version (Zig then emits a plain, unversioned symbol).
    pub unversioned: bool,
    pub weak: bool,
}

/// A symbol name with all its inclusions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Symbol {
    pub name: String,
    pub kind: SymKind,
    pub inclusions: Vec<Inclusion>,
}

/// The whole file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AbiLists {
    pub libs: Vec<String>,
    pub versions: Vec<Version>,
    /// Zig target triples, e.g. "x86_64-freebsd-none".
    pub targets: Vec<String>,
    pub functions: Vec<Symbol>,
    pub objects: Vec<Symbol>,
    pub tls: Vec<Symbol>,
}

/// One export; displays as `name@version` when hidden, `name@@version` when default.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ZigSym {
    pub name: String,
    pub kind: SymKind,
    pub size: Option<u64>,
    /// "FBSD_1.5"; empty for an unversioned symbol.
    pub version: String,
    /// A compat version (`name@FBSD_1.0`) rather than the default one (`name@@FBSD_1.5`).
    pub hidden: bool,
    pub weak: bool,
}

impl fmt::Display for ZigSym {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.version.is_empty(), self.hidden) {
            (true, _) => write!(f, "{}", self.name),
            (false, true) => write!(f, "{}@{}", self.name, self.version),
            (false, false) => write!(f, "{}@@{}", self.name, self.version),
        }
    }
}

/// One library as Zig would stub it for a target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ZigLib {
    /// Zig's short name ("c", "thr", "ld", ...).
    pub name: String,
    /// FreeBSD soname ("libc.so.7", "ld-elf.so.1", ...).
    pub soname: String,
    /// Sorted by name, kind, then version.
    pub symbols: Vec<ZigSym>,
}

/// Bounds-checked cursor: every read returns an error instead of panicking.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn byte(&mut self) -> Result<u8> {
        let Some(&b) = self.buf.get(self.pos) else {
            bail!("unexpected end of file at byte {}{FIX}", self.pos)
        };
        self.pos += 1;
        Ok(b)
    }

    fn cstr(&mut self) -> Result<String> {
        let rest = &self.buf[self.pos..];
        let Some(len) = rest.iter().position(|&b| b == 0) else {
            bail!("unterminated string at byte {}{FIX}", self.pos)
        };
        let s = std::str::from_utf8(&rest[..len]).context("string is not UTF-8")?;
        self.pos += len + 1;
        Ok(s.to_owned())
    }

    /// Unsigned LEB128 that must fit in `bits` (≤ 64) bits.
    fn uleb128(&mut self, bits: u32) -> Result<u64> {
        let (mut value, mut shift) = (0u64, 0u32);
        loop {
            let b = self.byte()?;
            let low = u64::from(b & 0x7f);
            let fits = shift < bits && (low << shift) >> shift == low;
            ensure!(fits, "LEB128 overflows u{bits} at byte {}{FIX}", self.pos);
            value |= low << shift;
            ensure!(
                bits == 64 || value >> bits == 0,
                "LEB128 overflows u{bits}{FIX}"
            );
            if b & 0x80 == 0 {
                return Ok(value);
            }
            shift += 7;
        }
    }

    /// A u8 count followed by that many items.
    fn list<T>(&mut self, mut item: impl FnMut(&mut Self) -> Result<T>) -> Result<Vec<T>> {
        (0..self.byte()?).map(|_| item(self)).collect()
    }
}

/// Parses a whole `abilists` file. Never panics: malformed or truncated input is an error.
pub fn parse(bytes: &[u8]) -> Result<AbiLists> {
    let mut r = Reader { buf: bytes, pos: 0 };
    let libs = r.list(Reader::cstr)?;
    if let Some(bad) = libs.iter().find(|l| soname(l).is_none()) {
        bail!("unknown library name {bad:?}{FIX}");
    }
    let versions = r.list(|r| {
        let (major, minor, patch) = (r.byte()?, r.byte()?, r.byte()?);
        Ok(Version {
            major,
            minor,
            patch,
        })
    })?;
    let targets = r.list(Reader::cstr)?;
    ensure!(targets.len() <= 64, "more than 64 targets{FIX}");
    let counts = (libs.len(), versions.len(), targets.len());
    let mut section = |kind| {
        parse_section(&mut r, kind, counts).with_context(|| format!("abilists {kind:?} section"))
    };
    let functions = section(SymKind::Func)?;
    let objects = section(SymKind::Object)?;
    let tls = section(SymKind::Tls)?;
    let extra = bytes.len() - r.pos;
    ensure!(
        extra == 0,
        "{extra} trailing bytes after the TLS section{FIX}"
    );
    Ok(AbiLists {
        libs,
        versions,
        targets,
        functions,
        objects,
        tls,
    })
}

fn parse_section(
    r: &mut Reader,
    kind: SymKind,
    counts: (usize, usize, usize),
) -> Result<Vec<Symbol>> {
    let (n_libs, n_versions, n_targets) = counts;
    let count = u16::from_le_bytes([r.byte()?, r.byte()?]);
    let mut syms = Vec::new();
    let mut open: Option<Symbol> = None;
    for _ in 0..count {
        let mut sym = match open.take() {
            Some(sym) => sym,
            None => Symbol {
                name: r.cstr()?,
                kind,
                inclusions: Vec::new(),
            },
        };
        let name = &sym.name;
        let targets = r.uleb128(64)?;
        let known = n_targets == 64 || targets >> n_targets == 0;
        ensure!(known, "{name}: bad targets{FIX}");
        let size = match kind {
            SymKind::Func => None,
            SymKind::Object | SymKind::Tls => Some(r.uleb128(16)? as u16),
        };
        let flags = r.byte()?;
        let lib = flags & 0x1f;
        ensure!(
            usize::from(lib) < n_libs,
            "{name}: bad library index {lib}{FIX}"
        );
        let mut versions = Vec::new();
        loop {
            let b = r.byte()?;
            let v = b & 0x7f;
            ensure!(
                usize::from(v) < n_versions,
                "{name}: bad version index {v}{FIX}"
            );
            versions.push(v);
            if b & 0x80 != 0 {
                break;
            }
        }
        let (unversioned, weak) = (flags & 0x20 != 0, flags & 0x40 != 0);
        let inclusion = Inclusion {
            targets,
            lib,
            versions,
            size,
            unversioned,
            weak,
        };
        sym.inclusions.push(inclusion);
        if flags & 0x80 != 0 {
            syms.push(sym);
        } else {
            open = Some(sym);
        }
    }
    if let Some(sym) = open {
        bail!("{}: section ends before its last inclusion{FIX}", sym.name);
    }
    Ok(syms)
}

/// The libraries Zig would build for `target` ("x86_64-freebsd-none", "aarch64-freebsd-none",
/// ...), in file order. An unknown target gives an empty list.
///
/// Default vs. hidden: the format records only *which* versions a symbol has, not which one is
/// the default (`@@`) — FreeBSD's real `.so` marks compat versions hidden in `.gnu.version`,
/// but that bit is not in the file. Zig (`buildSharedObjects`) makes the greatest version
/// `<=` the target OS's node the default and the rest `@`; here the OS is the newest the file
/// describes (14.x, FBSD_1.7), so the newest version of each symbol is the default and all
/// older ones are hidden. That is what FreeBSD does for compat symbols (`stat@FBSD_1.0` hidden,
/// `stat@@FBSD_1.5`). Unversioned inclusions (libutil, libexecinfo) get an empty version.
/// Limitation: a symbol FreeBSD exports *only* as a hidden compat version (`gets@FBSD_1.0`,
/// `iconv@FBSD_1.3`, libthr's `sem_*@FBSD_1.0`; 41 on amd64 against 13.5's tables) looks
/// like any single-version symbol here and comes out as the default, exactly as Zig stubs it.
pub fn to_libraries(lists: &AbiLists, target: &str) -> Vec<ZigLib> {
    let Some(t) = lists.targets.iter().position(|t| t == target) else {
        return Vec::new();
    };
    // (lib, name, kind) → version index (None = unversioned) → (size, weak)
    type Versions = BTreeMap<Option<u8>, (Option<u16>, bool)>;
    let mut per_lib: BTreeMap<(u8, &str, SymKind), Versions> = BTreeMap::new();
    let all = lists
        .functions
        .iter()
        .chain(&lists.objects)
        .chain(&lists.tls);
    for sym in all {
        for inc in sym.inclusions.iter().filter(|i| i.targets >> t & 1 == 1) {
            let entry = per_lib.entry((inc.lib, &sym.name, sym.kind)).or_default();
            for &v in &inc.versions {
                let key = if inc.unversioned { None } else { Some(v) };
                entry.insert(key, (inc.size, inc.weak));
            }
        }
    }
    let mut libs: Vec<ZigLib> = (lists.libs.iter())
        .map(|name| ZigLib {
            name: name.clone(),
            soname: soname(name).unwrap_or(name).to_owned(),
            symbols: Vec::new(),
        })
        .collect();
    for ((lib, name, kind), versions) in per_lib {
        let newest = versions.keys().filter_map(|v| *v).max();
        for (v, (size, weak)) in versions {
            let version = v.and_then(|v| lists.versions.get(usize::from(v)));
            libs[usize::from(lib)].symbols.push(ZigSym {
                name: name.to_owned(),
                kind,
                size: size.map(u64::from),
                version: version.map(Version::to_string).unwrap_or_default(),
                hidden: v.is_some() && v != newest,
                weak,
            });
        }
    }
    libs
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The abilists of the Zig installed as the `ziglang` Python package.
    fn real_file() -> Vec<u8> {
        let script = "import ziglang,os;print(os.path.dirname(ziglang.__file__))";
        let out = std::process::Command::new("python3")
            .args(["-c", script])
            .output();
        let dir = match out {
            Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).trim().to_owned(),
            _ => panic!("Zig is not installed as a Python package: `pip install ziglang==0.15.2`"),
        };
        let path = format!("{dir}/lib/libc/freebsd/abilists");
        std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read Zig's {path}: {e}"))
    }

    fn lib<'a>(libs: &'a [ZigLib], soname: &str) -> &'a ZigLib {
        let found = libs.iter().find(|l| l.soname == soname);
        found.unwrap_or_else(|| panic!("no {soname}"))
    }

    /// Every export of `name` in `lib`, e.g. "stat@FBSD_1.0 stat@@FBSD_1.5".
    fn exports(lib: &ZigLib, name: &str) -> String {
        let syms = lib.symbols.iter().filter(|s| s.name == name);
        syms.map(ZigSym::to_string).collect::<Vec<_>>().join(" ")
    }

    #[test]
    fn header() {
        let lists = parse(&real_file()).unwrap();
        assert_eq!(
            lists.libs.join(" "),
            "m stdthreads thr c dl rt ld util execinfo"
        );
        let versions: Vec<String> = lists.versions.iter().map(Version::to_string).collect();
        let expected: Vec<String> = (0..8).map(|m| format!("FBSD_1.{m}")).collect();
        assert_eq!(versions, expected);
        assert_eq!(lists.targets.len(), 8);
        assert!(lists.targets.iter().any(|t| t == "x86_64-freebsd-none"));
        assert!(lists.targets.iter().any(|t| t == "aarch64-freebsd-none"));
        let (f, o, t) = (lists.functions.len(), lists.objects.len(), lists.tls.len());
        println!("{f} functions, {o} objects, {t} tls");
        assert!(f > 2000 && o > 20 && t >= 1);
    }

    #[test]
    fn known_symbols() {
        let lists = parse(&real_file()).unwrap();
        for target in ["x86_64-freebsd-none", "aarch64-freebsd-none"] {
            let libs = to_libraries(&lists, target);
            for l in &libs {
                let hidden = l.symbols.iter().filter(|s| s.hidden).count();
                println!(
                    "{target} {}: {} exports, {hidden} hidden",
                    l.soname,
                    l.symbols.len()
                );
                assert!(!l.symbols.is_empty(), "{} is empty", l.soname);
            }
            assert_eq!(libs.len(), 9);
            let libc = lib(&libs, "libc.so.7");
            assert!(libc.symbols.len() > 2000, "libc has {}", libc.symbols.len());
            assert_eq!(exports(libc, "secure_getenv"), "secure_getenv@@FBSD_1.7");
            assert_eq!(exports(libc, "__libc_start1"), "__libc_start1@@FBSD_1.7");
            assert_eq!(exports(libc, "stat"), "stat@FBSD_1.0 stat@@FBSD_1.5");
            let thr = lib(&libs, "libthr.so.3");
            assert_eq!(exports(thr, "pthread_create"), "pthread_create@@FBSD_1.0");
            assert_eq!(exports(lib(&libs, "libm.so.5"), "sin"), "sin@@FBSD_1.0");
            assert_eq!(exports(lib(&libs, "libutil.so.9"), "openpty"), "openpty");
            // Objects and TLS carry a size; functions do not.
            let stderrp = libc.symbols.iter().find(|s| s.name == "__stderrp").unwrap();
            assert_eq!((stderrp.kind, stderrp.size), (SymKind::Object, Some(8)));
            let rune = libc
                .symbols
                .iter()
                .find(|s| s.name == "_ThreadRuneLocale")
                .unwrap();
            assert_eq!((rune.kind, rune.size), (SymKind::Tls, Some(8)));
            assert!(libc
                .symbols
                .iter()
                .all(|s| (s.kind == SymKind::Func) == s.size.is_none()));
        }
        assert!(to_libraries(&lists, "mips-freebsd-none").is_empty());
    }

    #[test]
    fn truncated_input_is_an_error() {
        let bytes = real_file();
        let mut cuts = vec![0, 1, 2, 10, 0x2c, 0x2d, 0x48, 0xee, 0xef, 0xf0, 0x100];
        cuts.extend((0..bytes.len()).step_by(97));
        cuts.extend(bytes.len() - 3..bytes.len());
        for cut in cuts {
            assert!(parse(&bytes[..cut]).is_err(), "truncated at {cut} parsed");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(parse(&longer).is_err(), "trailing byte accepted");
    }

    #[test]
    fn corrupted_input_does_not_panic() {
        let bytes = real_file();
        for (i, pos) in (0..bytes.len()).step_by(13).enumerate() {
            let mut bad = bytes.clone();
            bad[pos] = [0xff, 0x00, 0x80, 0x7f][i % 4];
            let _ = parse(&bad); // Ok or Err, but no panic.
        }
    }
}
