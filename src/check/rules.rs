//! The rules: every finding `bsdx check` can make about one ELF file, and
//! the releases it runs on, computed against every known release's data.

use std::path::Path;

use goblin::elf::{header, Elf};

use super::base::{Base, Lookup};
use super::elf::{abi_tag, escape, requirements};
use super::report::{Code, FileReport, Finding, Level};
use crate::model::release::release_name;
use crate::model::target::Target;

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
pub(super) fn check_bytes(
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
    let machine = Target::from_e_machine(elf.header.e_machine);
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
            Code::ElfClass,
            "ELFCLASS32",
            "32-bit ELF: bsdx supports 64-bit FreeBSD targets (x86_64, aarch64) only".into(),
        );
    }
    match (machine, want) {
        (None, _) => find(Level::Error, Code::WrongMachine, &machine_name, format!("machine {machine_name} is not a supported FreeBSD target (x86_64, aarch64); rebuild with --target x86_64-unknown-freebsd or aarch64-unknown-freebsd")),
        (Some(m), Some(w)) if m.triple != w.triple => find(Level::Error, Code::WrongMachine, &machine_name, format!("built for {}, but --target is {}", m.triple, w.triple)),
        _ => {}
    }
    if kind == "relocatable" {
        find(
            Level::Info,
            Code::NotLinked,
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
            Code::NotFreebsd,
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
            Code::NoAbiTag,
            ".note.tag",
            "no NT_FREEBSD_ABI_TAG note: the kernel will run this with osrel 0, picking legacy behaviour for every P_OSREL_* check; `bsdx build` (and `bsdx env`) link the note in".into(),
        );
    }
    if let Some(v) = tag {
        r.built_for = Some(release_name(v));
        if v / 1000 > base.release.freebsd_version / 1000 {
            find(Level::Warning, Code::AbiTagNewer, &v.to_string(), format!("built for FreeBSD {} ({v}), newer than {release}: the kernel of {release} may lack what it expects; rebuild it for FreeBSD {release} (`bsdx build` links the note of the release it builds for)", release_name(v)));
        }
    }
    if osabi == 0 && signs && is_exec {
        find(Level::Info, Code::OsabiSysv, "EI_OSABI=0", "EI_OSABI is SYSV (0), not FreeBSD (9); FreeBSD still runs it (branded by interpreter or note); `bsdx build` brands it as `brandelf -t FreeBSD` would".into());
    }
    if let Some(i) = &interp {
        if !fbsd_interp {
            find(Level::Error, Code::WrongInterpreter, i, format!("interpreter {} is not FreeBSD's /libexec/ld-elf.so.1: this was linked for another OS; rebuild with `bsdx build`", escape(i)));
        }
    } else if kind == "pie-executable" || (kind == "executable" && dynamic && !needed.is_empty()) {
        find(
            Level::Error,
            Code::NoInterpreter,
            "PT_INTERP",
            "a dynamically linked executable without an interpreter: FreeBSD cannot start it"
                .into(),
        );
    }

    // NEEDED.
    for n in &needed {
        if n.contains('/') {
            find(Level::Error, Code::NeededPath, n, format!("DT_NEEDED {} is a path, not a soname: the library was linked by file name without a DT_SONAME; give it a soname (bsdx stubs/sysroots always have one)", escape(n)));
        } else if !base.has_soname(n) {
            let elsewhere: Vec<&str> = bases
                .iter()
                .filter(|b| b.has_soname(n))
                .map(|b| b.release.release.as_str())
                .collect();
            if elsewhere.is_empty() {
                find(Level::Error, Code::NeededNotBase, n, format!("{} is not in FreeBSD base: the host needs a package that provides it (pkg install …), or link it statically", escape(n)));
            } else {
                find(Level::Error, Code::NeededOtherRelease, n, format!("{} is not in FreeBSD {release}; it exists in FreeBSD {}, the releases this file was linked for: rebuild it for FreeBSD {release} so {release}'s soname is linked", escape(n), elsewhere.join(", ")));
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
            Some(e) => find(Level::Error, Code::RpathBuildPath, p, format!("RPATH/RUNPATH entry {} names a build-machine path; remove it (no -Wl,-rpath to build dirs)", escape(e))),
            None => find(Level::Info, Code::Rpath, p, format!("RPATH/RUNPATH {}", escape(p))),
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
    // One lookup per (release, requirement): the verdict (`runs_on`) and every
    // message below are computed from this same table, so they cannot disagree.
    let found: Vec<Vec<Lookup>> = bases
        .iter()
        .map(|b| reqs.iter().map(|req| b.lookup(req, &needed)).collect())
        .collect();
    let exporters = |j: usize| -> Vec<&str> {
        bases
            .iter()
            .zip(&found)
            .filter(|(_, row)| matches!(row[j], Lookup::Found))
            .map(|(b, _)| b.release.release.as_str())
            .collect()
    };
    // Why each release is left out of `runs_on`.
    let mut why_not: Vec<Vec<String>> = vec![Vec::new(); bases.len()];
    for (i, b) in bases.iter().enumerate() {
        for n in &needed {
            if n.contains('/') {
                why_not[i].push(format!("DT_NEEDED {} is a path", escape(n)));
            } else if !b.has_soname(n) {
                why_not[i].push(format!("{} is not in its base", escape(n)));
            }
        }
        for (j, req) in reqs.iter().enumerate() {
            match found[i][j] {
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
                    why_not[i].push(format!("{} is not exported", req.display()));
                    if i != target_idx {
                        continue;
                    }
                    let shown = req.display();
                    let have = exporters(j);
                    let elsewhere = match have.first() {
                        Some(first) => format!(
                            "FreeBSD {} export it, so this file needs one of those (check it with --release {first}); to run on {release}, rebuild so nothing calls it (C code compiled against Zig's libc headers, which describe FreeBSD 14, may)",
                            have.join(", ")
                        ),
                        None => "no release bsdx knows exports it: it was linked against a library (or stub) that has it, the real ones do not".to_string(),
                    };
                    let (level, code, message) = match (&req.version, b.exact) {
                        (_, false) => (Level::Warning, Code::SymbolNotInData, format!("{shown} is not in bsdx's symbol data for FreeBSD {release} ({}); check with --sysroot against the real base", base.description)),
                        (Some(_), true) => (Level::Error, Code::MissingSymbolVersion, format!("FreeBSD {release} does not export {shown}: ld-elf.so.1 will refuse to start it. {elsewhere}")),
                        (None, true) => (Level::Error, Code::MissingSymbol, format!("no NEEDED library of FreeBSD {release} exports {shown}: ld-elf.so.1 will refuse to start it. {elsewhere}")),
                    };
                    find(level, code, &shown, message);
                }
            }
        }
        if why_not[i].is_empty() && dynamic {
            r.runs_on.push(b.release.release.clone());
        }
    }
    for (i, b) in bases.iter().enumerate() {
        if i == target_idx || why_not[i].is_empty() || !dynamic {
            continue;
        }
        let reasons = &why_not[i];
        find(
            Level::Info,
            Code::NotOnRelease,
            &b.release.release,
            format!(
                "does not run on FreeBSD {}: {}{}",
                b.release.release,
                reasons
                    .iter()
                    .take(3)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join("; "),
                if reasons.len() > 3 {
                    format!("; and {} more", reasons.len() - 3)
                } else {
                    String::new()
                }
            ),
        );
    }
    if !host_provided.is_empty() {
        let shown: Vec<&str> = host_provided.iter().take(5).map(String::as_str).collect();
        find(
            Level::Info,
            Code::HostProvidedSymbols,
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
