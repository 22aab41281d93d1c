//! The rules: one function per question `bsdx check` asks of an ELF file
//! ([`RULES`], in the order their findings are reported), then the symbols
//! against every known release ([`super::symbols`]). [`check_bytes`] runs
//! them all.

use std::path::Path;

use super::base::Base;
use super::elf::escape;
use super::facts::Facts;
use super::report::{Code, FileReport, Finding, Level};
use super::symbols;
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

/// What a file is checked against: all known releases' data, oldest first,
/// the one the user asked about, and the target they asked for.
pub(super) struct Against<'a, 'b> {
    pub bases: &'b [Base<'a>],
    pub target_idx: usize,
    pub want: Option<&'b Target>,
    /// The directory of the build (the current one): an RPATH into it is a
    /// build path.
    pub build_dir: Option<String>,
}

impl Against<'_, '_> {
    pub fn base(&self) -> &Base<'_> {
        &self.bases[self.target_idx]
    }

    pub fn release(&self) -> &str {
        &self.base().release.release
    }
}

/// A finding about `item` (escaped for the terminal).
pub(super) fn finding(level: Level, code: Code, item: &str, message: String) -> Finding {
    Finding {
        level,
        code,
        message,
        item: escape(item),
    }
}

type Rule = fn(&Facts, &Against) -> Vec<Finding>;

/// Every rule but the symbols', in the order the report lists findings.
const RULES: &[Rule] = &[
    elf_class,
    machine,
    not_linked,
    not_freebsd,
    no_abi_tag,
    abi_tag_newer,
    osabi_sysv,
    interpreter,
    needed,
    rpath,
];

/// Only 64-bit targets exist.
fn elf_class(f: &Facts, _: &Against) -> Vec<Finding> {
    if f.is_64 {
        return vec![];
    }
    vec![finding(
        Level::Error,
        Code::ElfClass,
        "ELFCLASS32",
        "32-bit ELF: bsdx supports 64-bit FreeBSD targets (x86_64, aarch64) only".into(),
    )]
}

/// A machine bsdx builds for, and the one `--target` names.
fn machine(f: &Facts, a: &Against) -> Vec<Finding> {
    let name = &f.machine_name;
    match (f.machine, a.want) {
        (None, _) => vec![finding(Level::Error, Code::WrongMachine, name, format!("machine {name} is not a supported FreeBSD target (x86_64, aarch64); rebuild with --target x86_64-unknown-freebsd or aarch64-unknown-freebsd"))],
        (Some(m), Some(w)) if m.triple != w.triple => vec![finding(Level::Error, Code::WrongMachine, name, format!("built for {}, but --target is {}", m.triple, w.triple))],
        _ => vec![],
    }
}

/// An object file is not checked as a program.
fn not_linked(f: &Facts, _: &Against) -> Vec<Finding> {
    if f.kind != "relocatable" {
        return vec![];
    }
    vec![finding(
        Level::Info,
        Code::NotLinked,
        f.kind,
        "a relocatable object (.o): only linked executables and shared objects are checked".into(),
    )]
}

/// Is it FreeBSD's at all?
fn not_freebsd(f: &Facts, _: &Against) -> Vec<Finding> {
    if f.marked_freebsd() {
        return vec![];
    }
    let osabi = f.osabi;
    vec![finding(
        Level::Error,
        Code::NotFreebsd,
        &format!("EI_OSABI={osabi}"),
        format!(
            "nothing marks this as a FreeBSD binary (EI_OSABI {osabi}, no FreeBSD ABI note, interpreter {}, no FBSD_* symbol versions): build it with `bsdx build`",
            f.interp.as_deref().map(escape).unwrap_or_else(|| "none".into())
        ),
    )]
}

/// An executable without the ABI note runs with osrel 0.
fn no_abi_tag(f: &Facts, _: &Against) -> Vec<Finding> {
    if !f.is_exec || f.tag.is_some() || f.kind == "relocatable" {
        return vec![];
    }
    vec![finding(
        Level::Warning,
        Code::NoAbiTag,
        ".note.tag",
        "no NT_FREEBSD_ABI_TAG note: the kernel will run this with osrel 0, picking legacy behaviour for every P_OSREL_* check; `bsdx build` (and `bsdx env`) link the note in".into(),
    )]
}

/// Built for a newer release than the one asked about.
fn abi_tag_newer(f: &Facts, a: &Against) -> Vec<Finding> {
    let release = a.release();
    match f.tag {
        Some(v) if v / 1000 > a.base().release.freebsd_version / 1000 => vec![finding(Level::Warning, Code::AbiTagNewer, &v.to_string(), format!("built for FreeBSD {} ({v}), newer than {release}: the kernel of {release} may lack what it expects; rebuild it for FreeBSD {release} (`bsdx build` links the note of the release it builds for)", release_name(v)))],
        _ => vec![],
    }
}

/// A FreeBSD executable branded SYSV (fine, but `bsdx build` brands it).
fn osabi_sysv(f: &Facts, _: &Against) -> Vec<Finding> {
    if f.osabi != 0 || !f.marked_freebsd() || !f.is_exec {
        return vec![];
    }
    vec![finding(Level::Info, Code::OsabiSysv, "EI_OSABI=0", "EI_OSABI is SYSV (0), not FreeBSD (9); FreeBSD still runs it (branded by interpreter or note); `bsdx build` brands it as `brandelf -t FreeBSD` would".into())]
}

/// FreeBSD's interpreter, and one wherever a dynamic executable needs it.
fn interpreter(f: &Facts, _: &Against) -> Vec<Finding> {
    match &f.interp {
        Some(i) if !f.fbsd_interp() => vec![finding(Level::Error, Code::WrongInterpreter, i, format!("interpreter {} is not FreeBSD's /libexec/ld-elf.so.1: this was linked for another OS; rebuild with `bsdx build`", escape(i)))],
        Some(_) => vec![],
        None if f.kind == "pie-executable"
            || (f.kind == "executable" && f.dynamic && !f.needed.is_empty()) =>
        {
            vec![finding(
                Level::Error,
                Code::NoInterpreter,
                "PT_INTERP",
                "a dynamically linked executable without an interpreter: FreeBSD cannot start it"
                    .into(),
            )]
        }
        None => vec![],
    }
}

/// Every DT_NEEDED a soname of the release's base.
fn needed(f: &Facts, a: &Against) -> Vec<Finding> {
    let release = a.release();
    let mut out = vec![];
    for n in &f.needed {
        if n.contains('/') {
            out.push(finding(Level::Error, Code::NeededPath, n, format!("DT_NEEDED {} is a path, not a soname: the library was linked by file name without a DT_SONAME; give it a soname (bsdx stubs/sysroots always have one)", escape(n))));
        } else if !a.base().has_soname(n) {
            let elsewhere: Vec<&str> = a
                .bases
                .iter()
                .filter(|b| b.has_soname(n))
                .map(|b| b.release.release.as_str())
                .collect();
            if elsewhere.is_empty() {
                out.push(finding(Level::Error, Code::NeededNotBase, n, format!("{} is not in FreeBSD base: the host needs a package that provides it (pkg install …), or link it statically", escape(n))));
            } else {
                out.push(finding(Level::Error, Code::NeededOtherRelease, n, format!("{} is not in FreeBSD {release}; it exists in FreeBSD {}, the releases this file was linked for: rebuild it for FreeBSD {release} so {release}'s soname is linked", escape(n), elsewhere.join(", "))));
            }
        }
    }
    out
}

/// RPATH/RUNPATH: never into the build machine.
fn rpath(f: &Facts, a: &Against) -> Vec<Finding> {
    f.rpath
        .iter()
        .map(|p| {
            let bad = p.split(':').find(|e| {
                BUILD_PATHS.iter().any(|b| e.starts_with(b))
                    || a.build_dir
                        .as_deref()
                        .is_some_and(|d| d.len() > 1 && e.starts_with(d))
            });
            match bad {
                Some(e) => finding(Level::Error, Code::RpathBuildPath, p, format!("RPATH/RUNPATH entry {} names a build-machine path; remove it (no -Wl,-rpath to build dirs)", escape(e))),
                None => finding(Level::Info, Code::Rpath, p, format!("RPATH/RUNPATH {}", escape(p))),
            }
        })
        .collect()
}

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
    let f = match Facts::read(bytes) {
        Ok(f) => f,
        Err(why) => {
            r.unreadable = Some(why);
            return r;
        }
    };
    let a = Against {
        bases,
        target_idx,
        want,
        build_dir: std::env::current_dir()
            .ok()
            .map(|d| d.display().to_string()),
    };
    r.findings = RULES.iter().flat_map(|rule| rule(&f, &a)).collect();
    let s = symbols::resolve(&f, &a, &r.findings);
    r.findings.extend(s.findings);
    r.runs_on = s.runs_on;
    r.unchecked = s.unchecked;
    r.required_symbols = f.reqs.len();
    r.min_release = r.runs_on.first().cloned();
    r.built_for = f.tag.map(release_name);
    r.kind = f.kind.into();
    r.machine = f.machine_name.clone();
    r.linkage = if f.dynamic { "dynamic" } else { "static" }.into();
    r.osabi = f.osabi;
    r.abi_tag = f.tag;
    r.interpreter = f.interp.as_deref().map(escape);
    r.needed = f.needed.iter().map(|n| escape(n)).collect();
    r.rpath = f.rpath.iter().map(|p| escape(p)).collect();
    r
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::model::release::catalog;
    use crate::model::target::TARGETS;

    /// Every known release's embedded amd64 data, oldest first.
    pub fn bases() -> Vec<Base<'static>> {
        catalog()
            .releases
            .iter()
            .map(|r| Base::embedded(r, "amd64"))
            .collect()
    }

    pub fn against<'a, 'b>(bases: &'b [Base<'a>], release: &str) -> Against<'a, 'b> {
        Against {
            target_idx: bases
                .iter()
                .position(|b| b.release.release == release)
                .unwrap(),
            bases,
            want: None,
            build_dir: Some("/src/proj".into()),
        }
    }

    /// A dynamically linked FreeBSD 14.3 x86-64 PIE executable with no
    /// finding: each test changes one fact.
    pub fn good() -> Facts {
        Facts {
            kind: "pie-executable",
            is_exec: true,
            is_64: true,
            machine: Some(TARGETS[0]),
            machine_name: "amd64".into(),
            dynamic: true,
            osabi: 9,
            tag: Some(1403000),
            interp: Some("/libexec/ld-elf.so.1".into()),
            needed: vec!["libc.so.7".into()],
            rpath: vec![],
            fbsd_versions: true,
            reqs: vec![],
        }
    }

    fn codes(rule: Rule, f: &Facts, a: &Against) -> Vec<Code> {
        rule(f, a).iter().map(|x| x.code).collect()
    }

    #[test]
    fn the_good_file_has_no_finding() {
        let b = bases();
        let a = against(&b, "14.4");
        for rule in RULES {
            assert!(rule(&good(), &a).is_empty());
        }
    }

    #[test]
    fn class_machine_and_kind() {
        let b = bases();
        let mut a = against(&b, "14.4");
        let f32 = Facts {
            is_64: false,
            ..good()
        };
        assert_eq!(codes(elf_class, &f32, &a), [Code::ElfClass]);
        let riscv = Facts {
            machine: None,
            machine_name: "RISC-V".into(),
            ..good()
        };
        let wrong = machine(&riscv, &a);
        assert_eq!(wrong[0].code, Code::WrongMachine);
        assert!(wrong[0]
            .message
            .contains("machine RISC-V is not a supported"));
        a.want = Some(&TARGETS[1]);
        let other = machine(&good(), &a);
        assert!(other[0]
            .message
            .contains("but --target is aarch64-unknown-freebsd"));
        let obj = Facts {
            kind: "relocatable",
            ..good()
        };
        assert_eq!(codes(not_linked, &obj, &a), [Code::NotLinked]);
    }

    #[test]
    fn freebsd_marks_note_and_brand() {
        let b = bases();
        let a = against(&b, "14.3");
        let linux = Facts {
            osabi: 0,
            tag: None,
            interp: Some("/lib64/ld-linux-x86-64.so.2".into()),
            needed: vec!["libc.so.6".into()],
            fbsd_versions: false,
            ..good()
        };
        let nf = not_freebsd(&linux, &a);
        assert_eq!(nf[0].code, Code::NotFreebsd);
        assert_eq!(nf[0].item, "EI_OSABI=0");
        assert_eq!(codes(interpreter, &linux, &a), [Code::WrongInterpreter]);
        assert!(osabi_sysv(&linux, &a).is_empty(), "not FreeBSD's at all");

        let untagged = Facts {
            tag: None,
            osabi: 0,
            ..good()
        };
        assert_eq!(codes(no_abi_tag, &untagged, &a), [Code::NoAbiTag]);
        assert_eq!(codes(osabi_sysv, &untagged, &a), [Code::OsabiSysv]);
        let lib = Facts {
            kind: "shared-object",
            is_exec: false,
            interp: None,
            ..untagged.clone()
        };
        assert!(no_abi_tag(&lib, &a).is_empty() && osabi_sysv(&lib, &a).is_empty());
        assert!(interpreter(&lib, &a).is_empty());
        let no_interp = Facts {
            interp: None,
            ..good()
        };
        assert_eq!(codes(interpreter, &no_interp, &a), [Code::NoInterpreter]);

        let newer = Facts {
            tag: Some(1500000),
            ..good()
        };
        let n = abi_tag_newer(&newer, &a);
        assert_eq!(n[0].code, Code::AbiTagNewer);
        assert!(n[0]
            .message
            .contains("built for FreeBSD 15.0 (1500000), newer than 14.3"));
        assert!(abi_tag_newer(&good(), &a).is_empty());
    }

    #[test]
    fn needed_sonames_per_release() {
        let b = bases();
        let a = against(&b, "13.5");
        let f = Facts {
            needed: vec![
                "libc.so.7".into(),
                "/tmp/libx.so".into(),
                "libutil.so.10".into(),
                "libfoo.so.1".into(),
            ],
            ..good()
        };
        assert_eq!(
            codes(needed, &f, &a),
            [
                Code::NeededPath,
                Code::NeededOtherRelease,
                Code::NeededNotBase
            ]
        );
        assert!(needed(&f, &a)[1]
            .message
            .contains("it exists in FreeBSD 15.0"));
    }

    #[test]
    fn rpaths_into_the_build_machine() {
        let b = bases();
        let a = against(&b, "14.4");
        let f = Facts {
            rpath: vec![
                "/usr/local/lib".into(),
                "$ORIGIN:/home/me/lib".into(),
                "/src/proj/target/lib".into(),
            ],
            ..good()
        };
        let found = rpath(&f, &a);
        let got: Vec<(Code, &str)> = found.iter().map(|x| (x.code, x.item.as_str())).collect();
        assert_eq!(
            got,
            [
                (Code::Rpath, "/usr/local/lib"),
                (Code::RpathBuildPath, "$ORIGIN:/home/me/lib"),
                (Code::RpathBuildPath, "/src/proj/target/lib"),
            ]
        );
        assert!(found[1].message.contains("entry /home/me/lib names"));
    }
}
