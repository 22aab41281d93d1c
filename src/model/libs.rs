//! Where the FreeBSD libraries a link sees come from.

use std::path::PathBuf;

/// Where the FreeBSD libraries the linker needs come from: bsdx's stubs of
/// a release's exact exports, or an extracted base (`--sysroot DIR`).
#[derive(Debug, Clone)]
pub enum Libs {
    Stubs,
    Sysroot(PathBuf),
}
