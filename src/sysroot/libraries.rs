//! The ABI of a sysroot's real libraries: soname, NEEDED and every exported
//! dynamic symbol, read with goblin into the data model's [`AbiSet`].

use anyhow::{Context, Result};

use crate::model::abi::{AbiSet, Library, SymKind, Symbol, SCHEMA};

/// Read one shared library's ABI from its ELF bytes: soname, NEEDED, and
/// every defined global/weak dynamic symbol with its version.
pub fn library_from_elf(bytes: &[u8], path: &str) -> Result<Library> {
    use goblin::elf::sym;
    let elf = goblin::elf::Elf::parse(bytes).context("not an ELF file")?;
    let soname = elf.soname.context("no DT_SONAME")?.to_string();
    let mut versions = std::collections::HashMap::new();
    if let Some(vd) = &elf.verdef {
        for d in vd.iter() {
            if let Some(aux) = d.iter().next() {
                versions.insert(
                    d.vd_ndx,
                    elf.dynstrtab.get_at(aux.vda_name).unwrap_or("").to_string(),
                );
            }
        }
    }
    let versym: Vec<u16> = elf
        .versym
        .as_ref()
        .map(|v| v.iter().map(|x| x.vs_val).collect())
        .unwrap_or_default();
    let mut symbols = Vec::new();
    for (i, s) in elf.dynsyms.iter().enumerate() {
        if s.st_shndx == 0
            || s.st_name == 0
            || !matches!(s.st_bind(), sym::STB_GLOBAL | sym::STB_WEAK)
        {
            continue;
        }
        let Some(name) = elf.dynstrtab.get_at(s.st_name) else {
            continue;
        };
        let raw = versym.get(i).copied().unwrap_or(1);
        let version = versions
            .get(&(raw & 0x7fff))
            .filter(|_| raw & 0x7fff > 1)
            .cloned();
        // The version node's own definition symbol is not an export.
        if version.as_deref() == Some(name) && s.st_value == 0 {
            continue;
        }
        let kind = match s.st_type() {
            sym::STT_FUNC => SymKind::Func,
            sym::STT_OBJECT => SymKind::Object,
            sym::STT_TLS => SymKind::Tls,
            sym::STT_GNU_IFUNC => SymKind::Ifunc,
            _ => SymKind::Notype,
        };
        let size = matches!(kind, SymKind::Object | SymKind::Tls).then_some(s.st_size);
        symbols.push(Symbol {
            name: name.to_string(),
            kind,
            size,
            version,
            hidden: raw & 0x8000 != 0,
        });
    }
    Ok(Library {
        soname,
        path: path.to_string(),
        needed: elf.libraries.iter().map(|s| s.to_string()).collect(),
        symbols,
    })
}

/// The ABI of every shared library in an extracted base (`lib/`, `usr/lib/`).
pub fn abi_set(dir: &std::path::Path, release: &str, arch: &str) -> Result<AbiSet> {
    let mut set = AbiSet {
        schema: SCHEMA,
        release: release.to_string(),
        arch: arch.to_string(),
        source: format!("dynamic symbol tables of the shared libraries in lib/ and usr/lib/ of a FreeBSD {release} {arch} base, read by bsdx"),
        libraries: Vec::new(),
    };
    let mut seen = std::collections::BTreeSet::new();
    for lib in super::shared_libraries(dir) {
        if !seen.insert(lib.real.clone()) {
            continue;
        }
        let bytes = std::fs::read(&lib.real)?;
        let rel = lib.real.strip_prefix(dir).unwrap_or(&lib.real);
        let mut l = library_from_elf(&bytes, &format!("/{}", rel.display()))
            .with_context(|| format!("in {}", lib.real.display()))?;
        if set.libraries.iter().any(|x: &Library| x.soname == l.soname) {
            continue;
        }
        l.symbols.shrink_to_fit();
        set.libraries.push(l);
    }
    if set.libraries.is_empty() {
        anyhow::bail!(
            "{} holds no shared libraries in lib/ or usr/lib/: is it an extracted base.txz?\n  fix: give a directory extracted from a FreeBSD base.txz (`bsdx sysroot fetch --release R` prints one; `bsdx sysroot extract BASE_TXZ --out DIR` makes one)",
            dir.display()
        );
    }
    set.normalize();
    Ok(set)
}
