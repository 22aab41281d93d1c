//! Facts read from an ELF file with goblin (ABI note, symbol requirements),
//! and how files are found and read: directories expanded, files mapped.

use std::path::{Path, PathBuf};

use goblin::elf::{sym, Elf};

#[derive(Debug, Clone)]
pub struct Requirement {
    pub name: String,
    pub file: Option<String>,
    pub version: Option<String>,
}

impl Requirement {
    pub fn display(&self) -> String {
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

/// `__FreeBSD_version` from the file's NT_FREEBSD_ABI_TAG note.
pub fn abi_tag(elf: &Elf, bytes: &[u8]) -> Option<u32> {
    crate::abitag::read(elf, bytes)
}

pub fn requirements(elf: &Elf) -> Vec<Requirement> {
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
pub(super) enum Bytes {
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

pub(super) fn map(path: &Path) -> std::io::Result<Bytes> {
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
