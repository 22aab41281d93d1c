//! `bsdx check`: prove a FreeBSD ELF file fits a FreeBSD release before it
//! ships — everything `ld-elf.so.1` would refuse, found on the build
//! machine. The report is data ([`Report`], `--json`); [`Report::render`]
//! is its human view.

use std::path::{Path, PathBuf};

use goblin::elf::{header, sym, Elf};
use serde::Serialize;

use crate::model::abi::AbiSet;
use crate::model::release::{catalog, Release};
use crate::model::target::{Target, TARGETS};

/// Version of the `--json` schema (see README, "bsdx check --json").
pub const SCHEMA: u32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Info,
    Warning,
    Error,
}

#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub level: Level,
    pub code: &'static str,
    /// What is wrong and what to do about it.
    pub message: String,
    /// The offending item (a soname, a symbol, a path), as found in the file.
    pub item: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct FileReport {
    pub path: PathBuf,
    /// Set when the file could not be read as ELF at all; nothing else is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unreadable: Option<String>,
    pub kind: String,
    pub machine: String,
    pub linkage: String,
    pub osabi: u8,
    /// `__FreeBSD_version` from the NT_FREEBSD_ABI_TAG note.
    pub abi_tag: Option<u32>,
    /// The release the ABI tag names (`14.3`).
    pub built_for: Option<String>,
    pub interpreter: Option<String>,
    pub needed: Vec<String>,
    pub rpath: Vec<String>,
    /// Undefined dynamic symbols the file needs (weak ones excluded).
    pub required_symbols: usize,
    /// Known releases on which every requirement is met, oldest first.
    pub runs_on: Vec<String>,
    /// The oldest of `runs_on`.
    pub min_release: Option<String>,
    pub findings: Vec<Finding>,
    /// Checks that could not be done, and why.
    pub unchecked: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub schema: u32,
    pub release: String,
    /// Where the symbol data for `release` came from.
    pub data: String,
    pub files: Vec<FileReport>,
    pub errors: usize,
    pub warnings: usize,
    pub unreadable: usize,
}

impl Report {
    /// 0 no errors, 1 errors (or warnings with `strict`), 2 unreadable input.
    pub fn exit_code(&self, strict: bool) -> i32 {
        if self.unreadable > 0 {
            2
        } else if self.errors > 0 || (strict && self.warnings > 0) {
            1
        } else {
            0
        }
    }
}

/// The symbol data of one release: layers of library sets, each with the
/// sonames it should be known by in that release.
pub struct Base<'a> {
    pub release: &'a Release,
    /// Real libraries read from a sysroot: for a soname they have, they are
    /// the only truth; the embedded layers serve only the sonames they lack.
    primary: Option<&'a AbiSet>,
    sets: Vec<(&'a AbiSet, &'a std::collections::BTreeMap<String, String>)>,
    /// The data is this release's own (a sysroot, or the release data was
    /// taken from this very release).
    pub exact: bool,
    pub description: String,
}

enum Lookup {
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
                .layers(machine)
                .into_iter()
                .map(|set| (set, &release.renamed))
                .collect(),
            exact: release.symbols_are_exact(),
            description: if release.symbols_are_exact() {
                format!(
                    "FreeBSD {} base symbol data shipped with bsdx",
                    release.release
                )
            } else {
                format!(
                    "FreeBSD {} sonames; symbol lists from {} (bsdx has no full symbol data for {}; pass --sysroot for exact checks)",
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
                .layers(machine)
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
    fn libraries(&self, soname: &str) -> Vec<&'a crate::model::abi::Library> {
        if let Some(lib) = self.primary.and_then(|p| p.library(soname)) {
            return vec![lib];
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
            })
            .collect()
    }

    pub fn has_soname(&self, soname: &str) -> bool {
        !self.libraries(soname).is_empty() || self.release.added.iter().any(|a| a == soname)
    }

    fn lookup(&self, req: &Requirement, needed: &[String]) -> Lookup {
        let exports = |lib: &crate::model::abi::Library, version: Option<&str>| {
            let start = lib
                .symbols
                .partition_point(|s| s.name.as_str() < req.name.as_str());
            lib.symbols[start..]
                .iter()
                .take_while(|s| s.name == req.name)
                .any(|s| version.is_none() || s.version.as_deref() == version)
        };
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

#[derive(Debug, Clone)]
struct Requirement {
    name: String,
    file: Option<String>,
    version: Option<String>,
}

impl Requirement {
    fn display(&self) -> String {
        match (&self.version, &self.file) {
            (Some(v), Some(f)) => format!("{}@{v} ({f})", self.name),
            _ => self.name.clone(),
        }
    }
}

/// Make an ELF-sourced string safe to print on a terminal.
pub fn escape(s: &str) -> String {
    s.chars()
        .flat_map(|c| {
            if c.is_control() {
                c.escape_default().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect()
}

/// `1404000` -> `14.4`; `1500068` -> `15.0`.
pub fn release_name(freebsd_version: u32) -> String {
    format!(
        "{}.{}",
        freebsd_version / 100_000,
        (freebsd_version / 1000) % 100
    )
}

fn abi_tag(elf: &Elf, bytes: &[u8]) -> Option<u32> {
    let from = |notes: Option<goblin::elf::note::NoteIterator>| {
        notes?
            .flatten()
            .find(|n| {
                n.n_type == crate::abitag::NT_FREEBSD_ABI_TAG
                    && n.name == "FreeBSD"
                    && n.desc.len() == 4
            })
            .map(|n| {
                let d: [u8; 4] = n.desc.try_into().expect("length checked");
                if elf.little_endian {
                    u32::from_le_bytes(d)
                } else {
                    u32::from_be_bytes(d)
                }
            })
    };
    from(elf.iter_note_headers(bytes)).or_else(|| from(elf.iter_note_sections(bytes, None)))
}

fn requirements(elf: &Elf) -> Vec<Requirement> {
    let mut needs = std::collections::HashMap::new();
    if let Some(vn) = &elf.verneed {
        for need in vn.iter() {
            let file = elf.dynstrtab.get_at(need.vn_file).unwrap_or("").to_string();
            for aux in need.iter() {
                let name = elf.dynstrtab.get_at(aux.vna_name).unwrap_or("").to_string();
                needs.insert(aux.vna_other, (file.clone(), name));
            }
        }
    }
    let versym: Vec<u16> = elf
        .versym
        .as_ref()
        .map(|v| v.iter().map(|x| x.vs_val).collect())
        .unwrap_or_default();
    let mut reqs = Vec::new();
    for (i, s) in elf.dynsyms.iter().enumerate() {
        if s.st_shndx != 0 || s.st_bind() == sym::STB_WEAK || s.st_name == 0 {
            continue;
        }
        let Some(name) = elf.dynstrtab.get_at(s.st_name).filter(|n| !n.is_empty()) else {
            continue;
        };
        let idx = versym.get(i).map(|v| v & 0x7fff).unwrap_or(0);
        let (file, version) = match needs.get(&idx) {
            Some((f, v)) if idx >= 2 => (Some(f.clone()), Some(v.clone())),
            _ => (None, None),
        };
        reqs.push(Requirement {
            name: escape(name),
            file: file.map(|f| escape(&f)),
            version: version.map(|v| escape(&v)),
        });
    }
    reqs
}

const BUILD_PATHS: &[&str] = &[
    "/nix/store",
    "/home/",
    "/tmp",
    "/root",
    "/var/tmp",
    "/build",
    "/usr/src/",
    "/workspace",
];

/// Check one ELF file's bytes. `bases` are all known releases' data, oldest
/// first; `target_idx` is the one the user asked about.
fn check_bytes(
    path: &Path,
    bytes: &[u8],
    bases: &[Base],
    target_idx: usize,
    want: Option<&Target>,
) -> FileReport {
    let mut r = FileReport {
        path: path.to_path_buf(),
        unreadable: None,
        kind: String::new(),
        machine: String::new(),
        linkage: String::new(),
        osabi: 0,
        abi_tag: None,
        built_for: None,
        interpreter: None,
        needed: vec![],
        rpath: vec![],
        required_symbols: 0,
        runs_on: vec![],
        min_release: None,
        findings: vec![],
        unchecked: vec![],
    };
    let elf = match Elf::parse(bytes) {
        Ok(e) => e,
        Err(e) => {
            r.unreadable = Some(format!(
                "not a readable ELF file: {}",
                escape(&e.to_string())
            ));
            return r;
        }
    };
    let base = &bases[target_idx];
    let release = &base.release.release;
    let mut find = |level, code, item: &str, message: String| {
        r.findings.push(Finding {
            level,
            code,
            message,
            item: escape(item),
        })
    };

    // Kind, class, machine.
    let interp = elf.interpreter.map(str::to_string);
    let is_exec = elf.header.e_type == header::ET_EXEC
        || (elf.header.e_type == header::ET_DYN && interp.is_some());
    let kind = match elf.header.e_type {
        header::ET_EXEC => "executable",
        header::ET_DYN if interp.is_some() => "pie-executable",
        header::ET_DYN => "shared-object",
        header::ET_REL => "relocatable",
        _ => "other",
    };
    let machine = TARGETS.iter().find(|t| t.e_machine == elf.header.e_machine);
    let machine_name = machine
        .map(|t| t.machine_arch.to_string())
        .unwrap_or_else(|| header::machine_to_str(elf.header.e_machine).to_string());
    let dynamic = elf.dynamic.is_some();
    let osabi = bytes.get(header::EI_OSABI).copied().unwrap_or(0);
    let tag = abi_tag(&elf, bytes);
    let needed: Vec<String> = elf.libraries.iter().map(|s| s.to_string()).collect();
    let rpath: Vec<String> = elf
        .rpaths
        .iter()
        .chain(elf.runpaths.iter())
        .map(|s| s.to_string())
        .collect();
    if !elf.is_64 {
        find(
            Level::Error,
            "elf-class",
            "ELFCLASS32",
            "32-bit ELF: bsdx supports 64-bit FreeBSD targets (x86_64, aarch64) only".into(),
        );
    }
    match (machine, want) {
        (None, _) => find(Level::Error, "wrong-machine", &machine_name, format!("machine {machine_name} is not a supported FreeBSD target (x86_64, aarch64); rebuild with --target x86_64-unknown-freebsd or aarch64-unknown-freebsd")),
        (Some(m), Some(w)) if m.triple != w.triple => find(Level::Error, "wrong-machine", &machine_name, format!("built for {}, but --target is {}", m.triple, w.triple)),
        _ => {}
    }
    if kind == "relocatable" {
        find(
            Level::Info,
            "not-linked",
            kind,
            "a relocatable object (.o): only linked executables and shared objects are checked"
                .into(),
        );
    }

    // Is it FreeBSD at all?
    let fbsd_versions = elf.verneed.as_ref().is_some_and(|vn| {
        vn.iter().any(|n| {
            n.iter().any(|a| {
                elf.dynstrtab
                    .get_at(a.vna_name)
                    .is_some_and(|v| v.starts_with("FBSD_"))
            })
        })
    });
    let fbsd_interp = interp
        .as_deref()
        .is_some_and(|i| i.starts_with("/libexec/ld-elf"));
    let signs = osabi == crate::abitag::ELFOSABI_FREEBSD
        || tag.is_some()
        || fbsd_interp
        || fbsd_versions
        || needed.iter().any(|n| n == "libc.so.7");
    if !signs {
        find(
            Level::Error,
            "not-freebsd",
            &format!("EI_OSABI={osabi}"),
            format!(
                "nothing marks this as a FreeBSD binary (EI_OSABI {osabi}, no FreeBSD ABI note, interpreter {}, no FBSD_* symbol versions): build it with `bsdx build`",
                interp.as_deref().map(escape).unwrap_or_else(|| "none".into())
            ),
        );
    }
    if is_exec && tag.is_none() && kind != "relocatable" {
        find(
            Level::Warning,
            "no-abi-tag",
            ".note.tag",
            "no NT_FREEBSD_ABI_TAG note: the kernel will run this with osrel 0, picking legacy behaviour for every P_OSREL_* check; `bsdx build` (and `bsdx env`) link the note in".into(),
        );
    }
    if let Some(v) = tag {
        r.built_for = Some(release_name(v));
        if v / 1000 > base.release.freebsd_version / 1000 {
            find(Level::Warning, "abi-tag-newer", &v.to_string(), format!("built for FreeBSD {} ({v}), newer than {release}: build with --release {release}", release_name(v)));
        }
    }
    if osabi == 0 && signs && is_exec {
        find(Level::Info, "osabi-sysv", "EI_OSABI=0", "EI_OSABI is SYSV (0), not FreeBSD (9); FreeBSD still runs it (branded by interpreter or note); `bsdx build` brands it as `brandelf -t FreeBSD` would".into());
    }
    if let Some(i) = &interp {
        if !fbsd_interp {
            find(Level::Error, "wrong-interpreter", i, format!("interpreter {} is not FreeBSD's /libexec/ld-elf.so.1: this was linked for another OS; rebuild with `bsdx build`", escape(i)));
        }
    } else if kind == "pie-executable" || (kind == "executable" && dynamic && !needed.is_empty()) {
        find(
            Level::Error,
            "no-interpreter",
            "PT_INTERP",
            "a dynamically linked executable without an interpreter: FreeBSD cannot start it"
                .into(),
        );
    }

    // NEEDED.
    for n in &needed {
        if n.contains('/') {
            find(Level::Error, "needed-path", n, format!("DT_NEEDED {} is a path, not a soname: the library was linked by file name without a DT_SONAME; give it a soname (bsdx stubs/sysroots always have one)", escape(n)));
        } else if !base.has_soname(n) {
            let elsewhere: Vec<&str> = bases
                .iter()
                .filter(|b| b.has_soname(n))
                .map(|b| b.release.release.as_str())
                .collect();
            if elsewhere.is_empty() {
                find(Level::Error, "needed-not-base", n, format!("{} is not in FreeBSD base: the host needs a package that provides it (pkg install …), or link it statically", escape(n)));
            } else {
                find(Level::Error, "needed-other-release", n, format!("{} is not in FreeBSD {release}; it exists in FreeBSD {}: build with --release {release} so the right soname is linked", escape(n), elsewhere.join(", ")));
            }
        }
    }
    let build_dir = std::env::current_dir()
        .ok()
        .map(|d| d.display().to_string());
    for p in &rpath {
        let bad = p.split(':').find(|e| {
            BUILD_PATHS.iter().any(|b| e.starts_with(b))
                || build_dir
                    .as_deref()
                    .is_some_and(|d| d.len() > 1 && e.starts_with(d))
        });
        match bad {
            Some(e) => find(Level::Error, "rpath-build-path", p, format!("RPATH/RUNPATH entry {} names a build-machine path; remove it (no -Wl,-rpath to build dirs)", escape(e))),
            None => find(Level::Info, "rpath", p, format!("RPATH/RUNPATH {}", escape(p))),
        }
    }

    // Symbols, against every known release.
    let reqs = requirements(&elf);
    r.required_symbols = reqs.len();
    if !dynamic {
        r.unchecked
            .push("statically linked: no libraries or symbols to resolve".into());
    }
    let mut unknown_libs = std::collections::BTreeSet::new();
    let mut host_provided = Vec::new();
    for (i, b) in bases.iter().enumerate() {
        let mut ok = needed.iter().all(|n| !n.contains('/') && b.has_soname(n));
        for req in &reqs {
            match b.lookup(req, &needed) {
                Lookup::Found => {}
                Lookup::Unknown => {
                    if i == target_idx {
                        unknown_libs.insert(
                            req.file
                                .clone()
                                .unwrap_or_else(|| "one of the NEEDED libraries".into()),
                        );
                    }
                }
                // A shared object may take symbols from the program that loads it.
                Lookup::Missing if !is_exec => {
                    if i == target_idx {
                        host_provided.push(req.display());
                    }
                }
                Lookup::Missing => {
                    ok = false;
                    if i != target_idx {
                        continue;
                    }
                    let shown = req.display();
                    let (level, code, message) = match (&req.version, b.exact) {
                        (_, false) => (Level::Warning, "symbol-not-in-data", format!("{shown} is not in bsdx's symbol data for FreeBSD {release} ({}); check with --sysroot against the real base", base.description)),
                        (Some(_), true) => (Level::Error, "missing-symbol-version", format!("FreeBSD {release} does not export {shown}: ld-elf.so.1 will refuse to start it; build with --release {release} (or older)")),
                        (None, true) => (Level::Error, "missing-symbol", format!("no NEEDED library of FreeBSD {release} exports {shown}: it was linked against a library (or stub) that has it, the real one does not")),
                    };
                    find(level, code, &shown, message);
                }
            }
        }
        if ok && dynamic {
            r.runs_on.push(b.release.release.clone());
        }
    }
    if !host_provided.is_empty() {
        let shown: Vec<&str> = host_provided.iter().take(5).map(String::as_str).collect();
        find(
            Level::Info,
            "host-provided-symbols",
            &host_provided.join(" "),
            format!(
                "{} undefined symbol(s) ({}{}) are in none of its NEEDED libraries: fine if the program that loads this object provides them (a plugin's host API)",
                host_provided.len(),
                shown.join(", "),
                if host_provided.len() > 5 { ", …" } else { "" }
            ),
        );
    }
    if !dynamic && r.findings.iter().all(|f| f.level != Level::Error) {
        // Nothing to resolve: the kernel ABI it was built for is the bound.
        r.runs_on = bases
            .iter()
            .filter(|b| tag.is_none_or(|t| b.release.freebsd_version / 1000 >= t / 1000))
            .map(|b| b.release.release.clone())
            .collect();
    }
    for lib in unknown_libs {
        r.unchecked.push(format!(
            "symbols from {} not checked: no symbol data for it",
            escape(&lib)
        ));
    }
    if !base.exact && dynamic {
        r.unchecked.push(format!(
            "exact symbol availability in FreeBSD {release}: {}",
            base.description
        ));
    }
    r.min_release = r.runs_on.first().cloned();
    r.kind = kind.into();
    r.machine = machine_name;
    r.linkage = if dynamic { "dynamic" } else { "static" }.into();
    r.osabi = osabi;
    r.abi_tag = tag;
    r.interpreter = interp.as_deref().map(escape);
    r.needed = needed.iter().map(|n| escape(n)).collect();
    r.rpath = rpath.iter().map(|p| escape(p)).collect();
    r
}

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

/// Expand directories into the ELF files below them.
pub fn expand(inputs: &[PathBuf]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for p in inputs {
        if p.is_dir() {
            let mut stack = vec![p.clone()];
            while let Some(d) = stack.pop() {
                let Ok(rd) = std::fs::read_dir(&d) else {
                    continue;
                };
                let mut entries: Vec<PathBuf> = rd.flatten().map(|e| e.path()).collect();
                entries.sort();
                for e in entries.into_iter().rev() {
                    let meta = std::fs::symlink_metadata(&e);
                    if meta.as_ref().is_ok_and(|m| m.is_dir()) {
                        stack.push(e);
                    } else if meta.is_ok_and(|m| m.is_file()) && is_elf(&e) {
                        out.push(e);
                    }
                }
            }
        } else {
            out.push(p.clone());
        }
    }
    out
}

/// The file's bytes, memory-mapped: a 100 MB binary costs no copy, and
/// goblin only touches the headers and tables it parses.
enum Bytes {
    Mapped(memmap2::Mmap),
    Read(Vec<u8>),
}

impl std::ops::Deref for Bytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Bytes::Mapped(m) => m,
            Bytes::Read(v) => v,
        }
    }
}

fn map(path: &Path) -> std::io::Result<Bytes> {
    let file = std::fs::File::open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    if meta.len() < 4096 {
        return std::fs::read(path).map(Bytes::Read);
    }
    // SAFETY: the map is read-only and lives only while this file is checked;
    // a concurrent writer truncating the file is the documented hazard of
    // mapping, the same one ripgrep accepts.
    match unsafe { memmap2::Mmap::map(&file) } {
        Ok(m) => Ok(Bytes::Mapped(m)),
        Err(_) => std::fs::read(path).map(Bytes::Read),
    }
}

fn is_elf(p: &Path) -> bool {
    use std::io::Read;
    let mut magic = [0u8; 4];
    std::fs::File::open(p)
        .and_then(|mut f| f.read_exact(&mut magic))
        .is_ok()
        && magic == *b"\x7fELF"
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
    let (amd64, arm64) = (bases_for("amd64"), bases_for("arm64"));
    let mut reports = Vec::new();
    for path in expand(files) {
        let report = match map(&path) {
            Ok(bytes) => {
                let bytes = &bytes[..];
                let arm = bytes.len() > 20
                    && u16::from_le_bytes([bytes[18], bytes[19]]) == header::EM_AARCH64;
                check_bytes(
                    &path,
                    bytes,
                    if arm { &arm64 } else { &amd64 },
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
    let count = |l| {
        reports
            .iter()
            .flat_map(|f| &f.findings)
            .filter(|f| f.level == l)
            .count()
    };
    Ok(Report {
        schema: SCHEMA,
        release: release.release.clone(),
        data: amd64[target_idx].description.clone(),
        errors: count(Level::Error),
        warnings: count(Level::Warning),
        unreadable: reports.iter().filter(|r| r.unreadable.is_some()).count(),
        files: reports,
    })
}

impl Report {
    /// The human view. `color` adds ANSI colours (only on a terminal).
    pub fn render(&self, color: bool) -> String {
        let paint = |code: &str, s: &str| {
            if color {
                format!("\x1b[{code}m{s}\x1b[0m")
            } else {
                s.to_string()
            }
        };
        let mut out = String::new();
        for f in &self.files {
            let path = escape(&f.path.display().to_string());
            if let Some(why) = &f.unreadable {
                out.push_str(&format!("{}: {}\n", paint("1", &path), paint("31", why)));
                continue;
            }
            let built = f
                .built_for
                .as_ref()
                .map(|b| format!(", built for FreeBSD {b}"))
                .unwrap_or_default();
            out.push_str(&format!(
                "{}: {} {} {}{built}\n",
                paint("1", &path),
                f.machine,
                f.kind,
                f.linkage
            ));
            if !f.needed.is_empty() {
                out.push_str(&format!("  needs: {}\n", f.needed.join(", ")));
            }
            match &f.min_release {
                Some(min) => out.push_str(&format!(
                    "  runs on: FreeBSD >= {min} (of the known releases: {})\n",
                    f.runs_on.join(", ")
                )),
                None => out.push_str(&format!("  runs on: {} known release\n", paint("31", "no"))),
            }
            for x in &f.findings {
                let (label, code) = match x.level {
                    Level::Error => ("error", "31"),
                    Level::Warning => ("warning", "33"),
                    Level::Info => ("info", "36"),
                };
                out.push_str(&format!(
                    "  {} [{}] {}\n",
                    paint(code, label),
                    x.code,
                    x.message
                ));
            }
            for u in &f.unchecked {
                out.push_str(&format!("  not checked: {u}\n"));
            }
        }
        out.push_str(&format!(
            "checked {} file(s) against FreeBSD {}: {} error(s), {} warning(s){}\n",
            self.files.len(),
            self.release,
            self.errors,
            self.warnings,
            if self.unreadable > 0 {
                format!(", {} unreadable", self.unreadable)
            } else {
                String::new()
            }
        ));
        out
    }
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
