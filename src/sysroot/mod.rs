//! Everything about a FreeBSD base's real libraries: `bsdx sysroot` and
//! `--sysroot DIR`.
//!
//! * [`pins`]: which base.txz to fetch (the pins are `data/releases.json`,
//!   the file the flake reads too).
//! * [`fetch`]: download a pinned base.txz (each URL in order, three
//!   attempts for transient failures, a missing file moves on at once),
//!   verify the SHA-256 while streaming, extract it into
//!   `$BSDX_CACHE_DIR/sysroots/<release>-<arch>-<sha256[..16]>/`; done
//!   when the marker `bsdx-sysroot.json` is there. A directory without the
//!   marker is garbage and is removed; a file whose hash differs from the
//!   pin is deleted and the other URLs are not tried.
//! * [`extract`]: stream a base.txz (xz, then tar; never in memory) and
//!   keep the ELF shared libraries (`lib*.so.N`) of `lib/` and `usr/lib/`
//!   and the links among them, flattened into `DIR/lib/`. The archive is
//!   untrusted: a member with a `..` or absolute path, a link that climbs
//!   out, an absolute link among the libraries, or a device file refuses
//!   the whole archive (the error names the member). Only regular files
//!   bsdx creates itself (`O_EXCL`, in a fresh staging directory) and links
//!   it makes between them are written, so nothing is written through a link.
//! * [`devel`]: what extraction keeps besides the libraries, for the floor
//!   (`ZIG_LIBC`, [`crate::floor`]): `usr/include/**`, the crt objects and
//!   `libc_nonshared.a`, at their own paths.
//! * [`link_dir`]: the directory handed to the linker for `--sysroot DIR`.
//! * [`release`]: which release a sysroot is, and refusing a mismatch.
//! * [`libraries`]: the ABI (sonames, symbols) of a sysroot's libraries,
//!   for `bsdx check --sysroot` and `bsdx abi import --sysroot`.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

pub mod devel;
pub mod extract;
pub mod fetch;
pub mod libraries;
pub mod link_dir;
pub mod pins;
pub mod release;

pub use extract::extract;
pub use fetch::fetch;
pub use libraries::{abi_set, library_from_elf};
pub use link_dir::{link_dir, shared_libraries, LinkDir, SharedLib};
pub use pins::{canonical_arch, lookup, Wanted};
pub use release::{ensure_is, identify, SysrootRelease};

/// The file that marks a finished sysroot directory.
pub const MARKER: &str = "bsdx-sysroot.json";
/// Version of the marker's layout.
pub const SCHEMA: u32 = 1;

// ---------------------------------------------------------------- errors

#[derive(Debug, thiserror::Error)]
pub enum SysrootError {
    #[error("no base.txz pin for FreeBSD release `{given}`; pinned releases: {known}\n  fix: pick one of those; for a release bsdx does not pin yet, pass --sha256 with the value from the release's MANIFEST")]
    UnknownRelease { given: String, known: String },

    #[error("no base.txz pin for FreeBSD {release} `{given}`; pinned architectures for {release}: {known}\n  fix: pick one of those; for another one, pass --sha256 with the value from the release's MANIFEST")]
    UnknownArch {
        release: String,
        given: String,
        known: String,
    },

    #[error("`{given}` is not a SHA-256\n  fix: give 64 hex digits, as in the release's MANIFEST")]
    BadSha256 { given: String },

    #[error("sha256 mismatch for {url}: expected {expected}, got {got}\n  the file was deleted and nothing was cached; bsdx never accepts a mismatching file and does not try the other URLs after one\n  fix: retry later or from another mirror (BSDX_MIRROR); if the release's MANIFEST, checked independently, lists {got}, pass --sha256 {got}")]
    Mismatch {
        url: String,
        expected: String,
        got: String,
    },

    #[error("{archive} holds no shared libraries in lib/ or usr/lib/\n  fix: give the base.txz of a FreeBSD release (not kernel.txz, lib32.txz or src.txz)")]
    NoLibraries { archive: String },

    #[error("cannot download {file} for FreeBSD {release} {arch}; tried:\n{tried}\n  fix: check the network or proxy (HTTPS_PROXY), or set BSDX_MIRROR to a mirror or a file:// directory holding <machine>/<machine_arch>/<release>-RELEASE/{file}")]
    Unreachable {
        file: String,
        release: String,
        arch: String,
        tried: String,
    },
}

// ---------------------------------------------------------------- marker

/// `DIR/bsdx-sysroot.json`: what a sysroot directory holds and where from.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Marker {
    pub schema: u32,
    pub release: Option<String>,
    pub arch: Option<String>,
    /// SHA-256 of the whole base.txz, computed while extracting.
    pub sha256: String,
    /// Where the base.txz came from (a URL or a path).
    pub source: String,
    /// The library files in `lib/`, by name.
    pub libraries: Vec<LibraryFile>,
    /// The links in `lib/`: name -> the library file it points at.
    pub links: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LibraryFile {
    pub file: String,
    /// DT_SONAME (`None` if the ELF file has none or does not parse).
    pub soname: Option<String>,
    pub size: u64,
}

/// The marker of a finished sysroot directory holding `sha256`, if it is one.
pub(crate) fn complete(dir: &Path, sha256: &str) -> Option<Marker> {
    let text = std::fs::read_to_string(dir.join(MARKER)).ok()?;
    let marker: Marker = serde_json::from_str(&text).ok()?;
    (marker.sha256 == sha256).then_some(marker)
}

/// `bsdx sysroot extract --json`: the marker and where the sysroot is.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct Extracted {
    pub path: std::path::PathBuf,
    #[serde(flatten)]
    pub marker: Marker,
}

/// `bsdx sysroot fetch --json`.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct Fetched {
    /// The sysroot directory in the cache.
    pub path: std::path::PathBuf,
    pub release: String,
    pub arch: String,
    pub sha256: String,
    /// Where the base.txz was downloaded from.
    pub url: String,
    /// True when the sysroot was already in the cache.
    pub cached: bool,
}

/// What to record as the release and architecture of an extracted base.
pub struct Labels {
    pub release: Option<String>,
    pub arch: Option<String>,
}

impl Labels {
    /// Fill what is missing from the pin with this SHA-256; with `warn`,
    /// say so when the file is not the pinned base.txz of the release and
    /// arch it is said to be.
    pub(crate) fn settle(self, sha256: &str, warn: bool) -> (Option<String>, Option<String>) {
        let found = crate::model::release::catalog().identify_base_txz(sha256);
        if let (Some(r), Some(a), true) = (&self.release, &self.arch, warn) {
            if let Ok((_, pin)) = lookup(r, a) {
                if pin.sha256 != sha256 {
                    eprintln!("bsdx: warning: this is not the pinned base.txz of FreeBSD {r} {a} (sha256 {sha256}, pinned {}); recorded as {r} {a} anyway", pin.sha256);
                }
            }
        }
        match (self.release, self.arch, found) {
            (None, None, Some((r, a))) => (Some(r.to_string()), Some(a.to_string())),
            (r, a, _) => (r, a),
        }
    }
}
