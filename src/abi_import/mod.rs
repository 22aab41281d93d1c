//! `bsdx abi import` (maintainers only): regenerate the symbol data in
//! `stubs/abi/` from a readelf-derived dump, from a real extracted base, or
//! from Zig's FreeBSD libc ABI lists.

use anyhow::Result;

use crate::model::abi::{AbiSet, Library, SymKind, Symbol, SCHEMA};

pub mod zig_abilists;

/// Convert Zig's FreeBSD libc-family ABI lists for one target
/// (`x86_64-freebsd-none`) into a library set.
pub fn from_zig_abilists(
    bytes: &[u8],
    zig_target: &str,
    arch: &str,
    zig_version: &str,
) -> Result<AbiSet> {
    use zig_abilists as z;
    let lists = z::parse(bytes)?;
    let libs = z::to_libraries(&lists, zig_target);
    if libs.is_empty() {
        anyhow::bail!(
            "Zig's abilists have no target {zig_target}; they have: {}\n  fix: pass a --target whose Zig name is among them (amd64, arm64)",
            lists.targets.join(", ")
        );
    }
    let mut set = AbiSet {
        schema: SCHEMA,
        release: "14.x".into(),
        arch: arch.into(),
        source: format!(
            "Zig {zig_version}'s lib/libc/freebsd/abilists ({zig_target}): the FreeBSD 14.x libc family Zig links against; public symbols only (no FBSDprivate_1.0)"
        ),
        libraries: libs
            .into_iter()
            .filter(|l| !l.symbols.is_empty())
            .map(|l| Library {
                path: if l.soname.starts_with("ld-elf") { format!("/libexec/{}", l.soname) } else { format!("/lib/{}", l.soname) },
                soname: l.soname,
                needed: vec![],
                symbols: l
                    .symbols
                    .into_iter()
                    .map(|s| Symbol {
                        name: s.name,
                        kind: match s.kind {
                            z::SymKind::Func => SymKind::Func,
                            z::SymKind::Object => SymKind::Object,
                            z::SymKind::Tls => SymKind::Tls,
                        },
                        size: s.size,
                        version: Some(s.version).filter(|v| !v.is_empty()),
                        hidden: s.hidden,
                    })
                    .collect(),
            })
            .collect(),
    };
    set.normalize();
    Ok(set)
}
