//! What the rules look at: the facts of one ELF file, read once with
//! goblin. Every rule ([`super::rules`], [`super::symbols`]) is a function
//! of these facts and the releases they are checked against.

use goblin::elf::{header, Elf};

use super::elf::{abi_tag, escape, requirements, Requirement};
use crate::model::target::Target;

#[derive(Debug, Clone, Default)]
pub(super) struct Facts {
    /// `executable`, `pie-executable`, `shared-object`, `relocatable`, `other`.
    pub kind: &'static str,
    /// An executable (a PIE one included), not a library.
    pub is_exec: bool,
    pub is_64: bool,
    /// The target whose `e_machine` this is, if bsdx builds for it.
    pub machine: Option<Target>,
    /// Its FreeBSD `machine_arch`, or goblin's name for another machine.
    pub machine_name: String,
    /// Has a dynamic section.
    pub dynamic: bool,
    /// `EI_OSABI`.
    pub osabi: u8,
    /// `__FreeBSD_version` of the NT_FREEBSD_ABI_TAG note.
    pub tag: Option<u32>,
    /// `PT_INTERP`, as found (not escaped).
    pub interp: Option<String>,
    /// DT_NEEDED, as found.
    pub needed: Vec<String>,
    /// DT_RPATH and DT_RUNPATH, as found.
    pub rpath: Vec<String>,
    /// Some symbol version it needs is an `FBSD_*` one.
    pub fbsd_versions: bool,
    /// The undefined dynamic symbols it needs (weak ones excluded).
    pub reqs: Vec<Requirement>,
}

impl Facts {
    /// Read the facts of `bytes`; `Err` says why it is not a readable ELF
    /// file.
    pub fn read(bytes: &[u8]) -> Result<Facts, String> {
        let elf = Elf::parse(bytes)
            .map_err(|e| format!("not a readable ELF file: {}", escape(&e.to_string())))?;
        let interp = elf.interpreter.map(str::to_string);
        let machine = Target::from_e_machine(elf.header.e_machine);
        let fbsd_versions = elf.verneed.as_ref().is_some_and(|vn| {
            vn.iter().any(|n| {
                n.iter().any(|a| {
                    elf.dynstrtab
                        .get_at(a.vna_name)
                        .is_some_and(|v| v.starts_with("FBSD_"))
                })
            })
        });
        Ok(Facts {
            kind: match elf.header.e_type {
                header::ET_EXEC => "executable",
                header::ET_DYN if interp.is_some() => "pie-executable",
                header::ET_DYN => "shared-object",
                header::ET_REL => "relocatable",
                _ => "other",
            },
            is_exec: elf.header.e_type == header::ET_EXEC
                || (elf.header.e_type == header::ET_DYN && interp.is_some()),
            is_64: elf.is_64,
            machine_name: machine
                .map(|t| t.machine_arch.to_string())
                .unwrap_or_else(|| header::machine_to_str(elf.header.e_machine).to_string()),
            machine,
            dynamic: elf.dynamic.is_some(),
            osabi: bytes.get(header::EI_OSABI).copied().unwrap_or(0),
            tag: abi_tag(&elf, bytes),
            interp,
            needed: elf.libraries.iter().map(|s| s.to_string()).collect(),
            rpath: elf
                .rpaths
                .iter()
                .chain(elf.runpaths.iter())
                .map(|s| s.to_string())
                .collect(),
            fbsd_versions,
            reqs: requirements(&elf),
        })
    }

    /// The interpreter is FreeBSD's `/libexec/ld-elf.so.1` (or its 32-bit
    /// sibling).
    pub fn fbsd_interp(&self) -> bool {
        self.interp
            .as_deref()
            .is_some_and(|i| i.starts_with("/libexec/ld-elf"))
    }

    /// Anything marks it as FreeBSD's: the OS ABI byte, the ABI note, the
    /// interpreter, an `FBSD_*` symbol version, or FreeBSD's libc.
    pub fn marked_freebsd(&self) -> bool {
        self.osabi == crate::abitag::ELFOSABI_FREEBSD
            || self.tag.is_some()
            || self.fbsd_interp()
            || self.fbsd_versions
            || self.needed.iter().any(|n| n == "libc.so.7")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facts_of_this_test_binary() {
        // A real ELF file every host has: the test binary itself (a Linux
        // x86-64 or AArch64 executable).
        let bytes = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        let f = Facts::read(&bytes).unwrap();
        assert!(f.is_64 && f.is_exec && f.dynamic, "{f:?}");
        assert!(f.machine.is_some(), "{}", f.machine_name);
        assert!(!f.fbsd_interp() && !f.fbsd_versions);
        assert!(!f.needed.is_empty() && !f.reqs.is_empty());
        assert_eq!(f.tag, None);
    }

    #[test]
    fn garbage_says_why() {
        let why = Facts::read(b"\x7fELF\x02\x01").unwrap_err();
        assert!(why.starts_with("not a readable ELF file: "), "{why}");
    }

    #[test]
    fn freebsd_marks() {
        let f = Facts::default();
        assert!(!f.marked_freebsd());
        for f in [
            Facts {
                osabi: 9,
                ..Facts::default()
            },
            Facts {
                tag: Some(1404000),
                ..Facts::default()
            },
            Facts {
                interp: Some("/libexec/ld-elf.so.1".into()),
                ..Facts::default()
            },
            Facts {
                fbsd_versions: true,
                ..Facts::default()
            },
            Facts {
                needed: vec!["libc.so.7".into()],
                ..Facts::default()
            },
        ] {
            assert!(f.marked_freebsd(), "{f:?}");
        }
    }
}
