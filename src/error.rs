//! Errors a user can act on. Each message says what is wrong and what to do.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("unknown target `{given}`; supported targets: {known}\n  fix: pass --target (or BSDX_TARGET) as one of them")]
    UnknownTarget { given: String, known: String },

    #[error("unknown FreeBSD release `{given}`; known releases: {known}\n  fix: pass --release (or BSDX_RELEASE) as one of them")]
    UnknownRelease { given: String, known: String },

    #[error("{tool} not found: {why}\n  fix: {fix}")]
    MissingTool {
        tool: &'static str,
        why: String,
        fix: String,
    },

    #[error("the sysroot {sysroot} has no {library} (looked in lib/ and usr/lib/)\n  fix: point --sysroot at a directory extracted from the release's base.txz (it must contain lib/ and usr/lib/), or use --stubs")]
    SysrootMissingLibrary { sysroot: PathBuf, library: String },

    #[error("`{name}` is not a valid project name: {why}\n  allowed: an ASCII letter first, then letters, digits, `-` or `_` (at most 64 characters), not a Rust keyword or a reserved crate name; no `/`, `\\` or `..`")]
    BadProjectName { name: String, why: &'static str },

    #[error("unknown template `{given}`; available templates: {known}\n  fix: pass --template as one of them")]
    UnknownTemplate { given: String, known: String },

    #[error("--flake {url:?} is not a flake URL bsdx can write into flake.nix: {why}\n  fix: give the bsdx flake as path:/abs/dir, github:OWNER/REPO or git+https://HOST/PATH")]
    BadFlakeUrl { url: String, why: &'static str },

    #[error("template `{template}` has no flake.nix to write --flake into (templates with one: {with_flake})\n  fix: drop --flake, or choose --template from those")]
    NoFlakeInTemplate {
        template: String,
        with_flake: String,
    },

    #[error("{path} already exists and is not empty; bsdx never writes into a non-empty directory\n  fix: choose another destination (--path / --out), or remove it yourself")]
    NotEmpty { path: PathBuf },

    #[error("the sysroot {sysroot} is {found}, not FreeBSD {wanted}: its libraries would give wrong link results and verdicts\n  fix: {fix}")]
    SysrootReleaseMismatch {
        sysroot: PathBuf,
        wanted: String,
        found: String,
        fix: String,
    },

    #[error("path {path} contains whitespace, which cargo cannot carry in RUSTFLAGS\n  fix: set BSDX_CACHE_DIR (or --sysroot) to a path without spaces")]
    WhitespaceInPath { path: PathBuf },
}
