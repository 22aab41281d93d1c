//! `bsdx sysroot`: a FreeBSD release's real base libraries, without Nix.
//!
//! * **Pins.** Every release's and architecture's `base.txz` SHA-256 and the
//!   URLs it lives at are `nix/releases.json`, the file the flake reads too;
//!   it is embedded and parsed once ([`pins`]).
//! * **`fetch`** downloads a pinned base.txz (each URL in order, three
//!   attempts for transient failures, a missing file moves on at once),
//!   verifies the SHA-256 while streaming, extracts it into
//!   `$BSDX_CACHE_DIR/sysroots/<release>-<arch>-<sha256[..16]>/` and is done
//!   when the marker `bsdx-sysroot.json` is there; a directory without the
//!   marker is garbage and is removed. A file whose hash differs from the
//!   pin is deleted and the other URLs are not tried.
//! * **`extract`** streams a base.txz (xz, then tar; the archive is never in
//!   memory) and keeps only what linking and auditing need: the ELF shared
//!   libraries (`lib*.so.N`) directly in `lib/` and `usr/lib/` and the links
//!   among them, flattened into `DIR/lib/` with a `lib<name>.so` link for
//!   each. `bsdx env/build/check --sysroot DIR` use that `lib/` as it is.
//!
//! The archive is untrusted. A member with a `..` or absolute path, a link
//! that climbs out of the archive, an absolute link among the libraries, or
//! a device file refuses the whole archive (the error names the member). Only regular files bsdx creates itself (`O_EXCL`, in a fresh
//! staging directory) and links it makes itself between them are written,
//! so nothing is ever written through a link.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{self, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use indicatif::{HumanBytes, ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::cache;
use crate::error::Error;

/// The file that marks a finished sysroot directory.
pub const MARKER: &str = "bsdx-sysroot.json";
/// Version of the marker's layout.
pub const SCHEMA: u32 = 1;

const PINS_TEXT: &str = include_str!("../nix/releases.json");
/// Where FreeBSD keeps a release's base.txz during its life: the current
/// mirror, then the archives. Used for a release given with `--sha256` that
/// has no pin (the pins follow the same pattern: unit-tested).
const URL_TEMPLATES: &[&str] = &[
    "https://download.freebsd.org/releases/{machine}/{machine_arch}/{release}-RELEASE/base.txz",
    "https://archive.freebsd.org/old-releases/{machine}/{machine_arch}/{release}-RELEASE/base.txz",
    "http://ftp-archive.freebsd.org/pub/FreeBSD-Archive/old-releases/{machine}/{machine_arch}/{release}-RELEASE/base.txz",
];
const ATTEMPTS: u32 = 3;
/// No FreeBSD library comes near this; a bigger member is hostile.
const MAX_LIBRARY: u64 = 1 << 30;
const ELF_MAGIC: [u8; 4] = *b"\x7fELF";
/// Downloads in progress in the cache: `sysroots/.base.txz-XXXXXX`.
const DOWNLOAD_PREFIX: &str = ".base.txz-";

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

    #[error("refusing {archive}: member `{member}` {why}; nothing was extracted\n  a FreeBSD base.txz never holds such a member: check where the file came from")]
    Refused {
        archive: String,
        member: String,
        why: String,
    },

    #[error("{archive} holds no shared libraries in lib/ or usr/lib/\n  fix: give the base.txz of a FreeBSD release (not kernel.txz, lib32.txz or src.txz)")]
    NoLibraries { archive: String },

    #[error("cannot download base.txz for FreeBSD {release} {arch}; tried:\n{tried}\n  fix: check the network or proxy (HTTPS_PROXY), or set BSDX_MIRROR to a mirror or a file:// directory holding <machine>/<machine_arch>/<release>-RELEASE/base.txz")]
    Unreachable {
        release: String,
        arch: String,
        tried: String,
    },
}

// ---------------------------------------------------------------- pins

#[derive(Debug, Deserialize)]
struct Pins {
    releases: BTreeMap<String, BTreeMap<String, Pin>>,
}

/// One pinned base.txz: where it lives and what its SHA-256 must be.
#[derive(Debug, Clone, Deserialize)]
pub struct Pin {
    /// FreeBSD `machine` (`amd64`, `arm64`), the first path component.
    pub machine: String,
    /// FreeBSD `machine_arch` (`amd64`, `aarch64`), the second one.
    pub machine_arch: String,
    pub sha256: String,
    /// Independent projects found pinning this value.
    pub sources: u32,
    pub urls: Vec<String>,
    #[serde(default)]
    pub size: Option<u64>,
}

fn pins() -> &'static Pins {
    static PINS: OnceLock<Pins> = OnceLock::new();
    PINS.get_or_init(|| {
        serde_json::from_str(PINS_TEXT).expect("embedded nix/releases.json is valid (unit-tested)")
    })
}

fn release_names() -> Vec<&'static str> {
    pins().releases.keys().map(String::as_str).collect()
}

/// The pins' name for `given` (`arm64` for `aarch64`), if any pin has it.
fn canonical_arch(given: &str) -> Option<&'static str> {
    pins()
        .releases
        .values()
        .flat_map(|a| a.iter())
        .find(|(k, p)| *k == given || p.machine_arch == given)
        .map(|(k, _)| k.as_str())
}

/// The pin for `release` and `arch` (`arm64` or `aarch64`).
pub fn lookup(release: &str, arch: &str) -> Result<(&'static str, &'static Pin), SysrootError> {
    let archs = pins()
        .releases
        .get(release)
        .ok_or_else(|| SysrootError::UnknownRelease {
            given: release.to_string(),
            known: release_names().join(", "),
        })?;
    canonical_arch(arch)
        .and_then(|a| archs.get_key_value(a))
        .map(|(k, p)| (k.as_str(), p))
        .ok_or_else(|| SysrootError::UnknownArch {
            release: release.to_string(),
            given: arch.to_string(),
            known: archs.keys().cloned().collect::<Vec<_>>().join(", "),
        })
}

/// The release and architecture whose pinned base.txz has this SHA-256.
fn identify(sha256: &str) -> Option<(&'static str, &'static str)> {
    pins()
        .releases
        .iter()
        .flat_map(|(r, a)| a.iter().map(move |(k, p)| (r.as_str(), k.as_str(), p)))
        .find(|(_, _, p)| p.sha256 == sha256)
        .map(|(r, a, _)| (r, a))
}

fn parse_sha256(given: &str) -> Result<String, SysrootError> {
    let ok = given.len() == 64 && given.bytes().all(|b| b.is_ascii_hexdigit());
    ok.then(|| given.to_ascii_lowercase())
        .ok_or_else(|| SysrootError::BadSha256 {
            given: given.escape_debug().to_string(),
        })
}

/// `14.4`: digits, a dot, digits (it becomes part of paths and URLs).
fn is_release_name(s: &str) -> bool {
    let digits = |p: &str| !p.is_empty() && p.len() <= 4 && p.bytes().all(|b| b.is_ascii_digit());
    s.split_once('.')
        .is_some_and(|(a, b)| digits(a) && digits(b))
}

/// The base.txz `fetch` wants: a pin, possibly with its hash overridden, or
/// (with `--sha256`) an unpinned release at FreeBSD's usual URLs.
#[derive(Debug, Clone)]
pub struct Wanted {
    pub release: String,
    pub arch: String,
    pub machine: String,
    pub machine_arch: String,
    pub sha256: String,
    pub urls: Vec<String>,
    pub size: Option<u64>,
    /// The hash is the pin's and only one project was found pinning it.
    pub single_source: bool,
}

impl Wanted {
    pub fn new(release: &str, arch: &str, sha256: Option<&str>) -> Result<Wanted> {
        let sha256 = sha256.map(parse_sha256).transpose()?;
        match (lookup(release, arch), sha256) {
            (Ok((arch, pin)), sha) => Ok(Wanted {
                release: release.to_string(),
                arch: arch.to_string(),
                machine: pin.machine.clone(),
                machine_arch: pin.machine_arch.clone(),
                single_source: sha.is_none() && pin.sources < 2,
                size: if sha.is_none() { pin.size } else { None },
                sha256: sha.unwrap_or_else(|| pin.sha256.clone()),
                urls: pin.urls.clone(),
            }),
            (Err(e), None) => Err(e.into()),
            (Err(e), Some(sha)) => {
                Self::unpinned(release, arch, sha).ok_or_else(|| anyhow::Error::from(e))
            }
        }
    }

    /// A release or architecture without a pin, at the usual URLs.
    fn unpinned(release: &str, arch: &str, sha256: String) -> Option<Wanted> {
        let key = canonical_arch(arch)?;
        let like = pins().releases.values().find_map(|a| a.get(key))?;
        if !is_release_name(release) {
            return None;
        }
        let fill = |t: &&str| {
            t.replace("{machine}", &like.machine)
                .replace("{machine_arch}", &like.machine_arch)
                .replace("{release}", release)
        };
        Some(Wanted {
            release: release.to_string(),
            arch: key.to_string(),
            machine: like.machine.clone(),
            machine_arch: like.machine_arch.clone(),
            sha256,
            urls: URL_TEMPLATES.iter().map(fill).collect(),
            size: None,
            single_source: false,
        })
    }

    /// `14.4-amd64-769f60a6eea2938a`: the cache directory's name.
    pub fn dir_name(&self) -> String {
        format!("{}-{}-{}", self.release, self.arch, &self.sha256[..16])
    }

    /// The URLs on each mirror (space-separated base URLs) in place of the
    /// pinned ones; the pinned ones when there is none.
    pub fn urls_with(&self, mirrors: Option<&str>) -> Vec<String> {
        let mirrors: Vec<&str> = mirrors.unwrap_or("").split_whitespace().collect();
        if mirrors.is_empty() {
            return self.urls.clone();
        }
        mirrors
            .iter()
            .map(|m| {
                format!(
                    "{}/{}/{}/{}-RELEASE/base.txz",
                    m.trim_end_matches('/'),
                    self.machine,
                    self.machine_arch,
                    self.release
                )
            })
            .collect()
    }
}

// ---------------------------------------------------------------- CLI

#[derive(Debug, Subcommand)]
pub enum SysrootCommand {
    /// Download a release's base.txz, verify it and extract its libraries.
    ///
    /// Downloads the base.txz pinned in nix/releases.json for --release and
    /// --arch (each URL in turn, 3 attempts for transient errors; a missing
    /// file moves to the next URL at once), verifies its SHA-256 while
    /// streaming and extracts the shared libraries into
    /// $BSDX_CACHE_DIR/sysroots/<release>-<arch>-<sha256 prefix>/. Prints that
    /// directory, ready for `bsdx env/build/check --sysroot`. A finished
    /// directory is reused without downloading. A file whose SHA-256 differs
    /// is deleted, nothing is cached and the other URLs are not tried.
    Fetch(FetchArgs),
    /// Extract the shared libraries of a base.txz you already have.
    ///
    /// Streams the archive and keeps the ELF shared libraries (lib*.so.N) of
    /// lib/ and usr/lib/ and the links among them, flattened into DIR/lib/
    /// with a lib<name>.so link for each, plus DIR/bsdx-sysroot.json. Linker
    /// scripts, static archives and everything else are left out. An
    /// archive with a member that could write outside DIR (a `..` or
    /// absolute path, a link leaving the archive, an absolute link among the
    /// libraries) or a device file is refused as a whole.
    Extract(ExtractArgs),
}

#[derive(Debug, Args)]
pub struct FetchArgs {
    /// FreeBSD release, one of those pinned in nix/releases.json (e.g. 14.4).
    #[arg(long, env = "BSDX_RELEASE")]
    pub release: String,
    /// FreeBSD architecture: amd64 or arm64 (aarch64).
    #[arg(long, default_value = "amd64")]
    pub arch: String,
    /// Expect this SHA-256 instead of the pinned one: for testing, or for a
    /// release bsdx does not pin yet (take it from the release's MANIFEST).
    #[arg(long, value_name = "HEX")]
    pub sha256: Option<String>,
    /// Download from these mirrors instead of the pinned URLs: base URLs or
    /// file:// directories holding <machine>/<machine_arch>/<release>-RELEASE/base.txz,
    /// separated by spaces, tried in order.
    #[arg(long, env = "BSDX_MIRROR", value_name = "URLS")]
    pub mirror: Option<String>,
    /// Print {path, release, arch, sha256, url, cached} as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ExtractArgs {
    /// The base.txz to read.
    #[arg(value_name = "BASE_TXZ")]
    pub base_txz: PathBuf,
    /// Directory to create (must not exist, or be empty).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Release to record in the marker (default: the one whose pinned
    /// SHA-256 the file has, if any).
    #[arg(long)]
    pub release: Option<String>,
    /// Architecture to record in the marker (default: as for --release).
    #[arg(long)]
    pub arch: Option<String>,
    /// Print the marker (and the directory's path) as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(cmd: SysrootCommand) -> Result<i32> {
    match cmd {
        SysrootCommand::Fetch(a) => fetch_command(a),
        SysrootCommand::Extract(a) => extract_command(a),
    }
}

fn extract_command(a: ExtractArgs) -> Result<i32> {
    let arch = a
        .arch
        .map(|g| canonical_arch(&g).map(str::to_string).unwrap_or(g));
    let labels = Labels {
        release: a.release,
        arch,
    };
    let source = a.base_txz.display().to_string();
    let marker = extract(&a.base_txz, &a.out, labels, &source, None)?;
    if a.json {
        let mut value = serde_json::to_value(&marker)?;
        value["path"] = serde_json::json!(a.out);
        println!("{}", serde_json::to_string_pretty(&value)?);
    } else {
        println!("{}", a.out.display());
    }
    Ok(0)
}

fn fetch_command(a: FetchArgs) -> Result<i32> {
    let want = Wanted::new(&a.release, &a.arch, a.sha256.as_deref())?;
    let urls = want.urls_with(a.mirror.as_deref());
    let (path, marker, cached) = fetch(&want, &urls)?;
    if cached {
        eprintln!(
            "bsdx: FreeBSD {} {} sysroot already in the cache",
            want.release, want.arch
        );
    }
    if a.json {
        let out = serde_json::json!({
            "path": path, "release": want.release, "arch": want.arch,
            "sha256": marker.sha256, "url": marker.source, "cached": cached,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        println!("{}", path.display());
    }
    Ok(0)
}

// ---------------------------------------------------------------- marker

/// `DIR/bsdx-sysroot.json`: what a sysroot directory holds and where from.
#[derive(Debug, Clone, Serialize, Deserialize)]
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

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LibraryFile {
    pub file: String,
    /// DT_SONAME (`None` if the ELF file has none or does not parse).
    pub soname: Option<String>,
    pub size: u64,
}

/// The marker of a finished sysroot directory holding `sha256`, if it is one.
fn complete(dir: &Path, sha256: &str) -> Option<Marker> {
    let text = std::fs::read_to_string(dir.join(MARKER)).ok()?;
    let marker: Marker = serde_json::from_str(&text).ok()?;
    (marker.sha256 == sha256).then_some(marker)
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
    fn settle(self, sha256: &str, warn: bool) -> (Option<String>, Option<String>) {
        let found = identify(sha256);
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

// ---------------------------------------------------------------- extraction

/// Extract the libraries of `base_txz` into `out` (which must not exist or
/// be empty): staged beside it, renamed into place when complete. `source`
/// names the file in messages and the marker (its URL, for `fetch`). With
/// `expect`, the archive's SHA-256 must equal it.
pub fn extract(
    base_txz: &Path,
    out: &Path,
    labels: Labels,
    source: &str,
    expect: Option<&str>,
) -> Result<Marker> {
    ensure_empty(out)?;
    let file =
        File::open(base_txz).with_context(|| format!("cannot open {}", base_txz.display()))?;
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let staging = cache::staging_dir(out)?;
    let lib_dir = staging.path().join("lib");
    std::fs::create_dir(&lib_dir)
        .with_context(|| format!("cannot create {}", lib_dir.display()))?;
    let bar = progress(len, "extracting base.txz");
    let (members, sha256) = stream(Tally::new(file, bar.clone()), source, &lib_dir)?;
    bar.finish_and_clear();
    if let Some(expected) = expect.filter(|e| *e != sha256) {
        return Err(SysrootError::Mismatch {
            url: source.to_string(),
            expected: expected.to_string(),
            got: sha256,
        }
        .into());
    }
    if members.files.is_empty() {
        return Err(SysrootError::NoLibraries {
            archive: source.to_string(),
        }
        .into());
    }
    let libraries = describe(&lib_dir, &members)?;
    let links = link(&lib_dir, &members, &libraries)?;
    let (release, arch) = labels.settle(&sha256, expect.is_none());
    let marker = Marker {
        schema: SCHEMA,
        release,
        arch,
        sha256,
        source: source.to_string(),
        libraries,
        links,
    };
    let text = serde_json::to_string_pretty(&marker)?;
    std::fs::write(staging.path().join(MARKER), text + "\n")
        .context("cannot write the sysroot marker")?;
    cache::publish(staging, out)?;
    summarize(&marker, source, out);
    Ok(marker)
}

fn ensure_empty(out: &Path) -> Result<()> {
    match std::fs::symlink_metadata(out) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Ok(m) if m.is_dir() && std::fs::read_dir(out).is_ok_and(|mut d| d.next().is_none()) => {
            Ok(())
        }
        _ => Err(Error::NotEmpty {
            path: out.to_path_buf(),
        }
        .into()),
    }
}

fn summarize(marker: &Marker, name: &str, out: &Path) {
    let bytes: u64 = marker.libraries.iter().map(|l| l.size).sum();
    eprintln!(
        "bsdx: extracted {} shared libraries ({}) and {} links from {name} into {} (sha256 {})",
        marker.libraries.len(),
        HumanBytes(bytes),
        marker.links.len(),
        out.display(),
        marker.sha256
    );
}

/// A reader that hashes and counts what passes through it.
struct Tally<R> {
    inner: R,
    hasher: Sha256,
    bar: ProgressBar,
    bytes: u64,
}

impl<R: Read> Tally<R> {
    fn new(inner: R, bar: ProgressBar) -> Self {
        Tally {
            inner,
            hasher: Sha256::new(),
            bar,
            bytes: 0,
        }
    }

    fn hex(&self) -> String {
        format!("{:x}", self.hasher.clone().finalize())
    }
}

impl<R: Read> Read for Tally<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.bar.inc(n as u64);
        self.bytes += n as u64;
        Ok(n)
    }
}

/// A progress bar on stderr when it is a terminal, else a hidden one.
fn progress(len: u64, message: &str) -> ProgressBar {
    if !io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len);
    let style = ProgressStyle::with_template(
        "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} {eta}",
    )
    .map(|s| s.progress_chars("=> "))
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar.set_message(message.to_string());
    bar
}

/// Read the whole file: the tar members, then whatever follows them, so
/// the xz stream's checks run and the hash covers every byte.
fn stream<R: Read>(reader: Tally<R>, name: &str, lib_dir: &Path) -> Result<(Members, String)> {
    let unreadable = || {
        format!("cannot read {name} as an xz-compressed tar archive (is it a FreeBSD base.txz?)")
    };
    let mut archive = tar::Archive::new(xz2::read::XzDecoder::new(reader));
    let members = read_members(&mut archive, name, lib_dir, &unreadable)?;
    let mut xz = archive.into_inner();
    io::copy(&mut xz, &mut io::sink()).with_context(unreadable)?;
    let mut tally = xz.into_inner();
    io::copy(&mut tally, &mut io::sink()).with_context(unreadable)?;
    Ok((members, tally.hex()))
}

/// What the archive's members say, gathered in one streaming pass. Paths
/// are the archive's, normalized (`usr/lib/libkvm.so`).
#[derive(Debug, Default)]
struct Members {
    /// Library written to `lib/`: archive path -> file name.
    files: BTreeMap<String, String>,
    /// Symlink (or hard link) among the libraries: archive path -> the
    /// archive path it names.
    links: BTreeMap<String, String>,
}

fn read_members<R: Read>(
    archive: &mut tar::Archive<R>,
    name: &str,
    lib_dir: &Path,
    unreadable: &dyn Fn() -> String,
) -> Result<Members> {
    let mut members = Members::default();
    for entry in archive.entries().with_context(unreadable)? {
        let entry = entry.with_context(unreadable)?;
        let shown = escape(&entry.path_bytes());
        let refuse = |why: String| {
            anyhow::Error::from(SysrootError::Refused {
                archive: name.to_string(),
                member: shown.clone(),
                why,
            })
        };
        member(entry, lib_dir, &mut members).map_err(|e| match e {
            Member::Refused(why) => refuse(why),
            Member::Io(e) => anyhow::Error::new(e).context(unreadable()),
            Member::Write(e) => e,
        })?;
    }
    Ok(members)
}

/// Why a member stopped the extraction.
enum Member {
    Refused(String),
    /// Reading the archive failed.
    Io(io::Error),
    /// Writing the output failed.
    Write(anyhow::Error),
}

/// Look at one member: refuse it, skip it, write it or remember it.
fn member<R: Read>(
    mut entry: tar::Entry<'_, R>,
    lib_dir: &Path,
    m: &mut Members,
) -> Result<(), Member> {
    let path = normalize(&entry.path_bytes()).map_err(|why| Member::Refused(why.into()))?;
    let kind = entry.header().entry_type();
    if kind.is_character_special() || kind.is_block_special() || kind.is_fifo() {
        return Err(Member::Refused("is a device file or fifo".into()));
    }
    if kind.is_symlink() || kind.is_hard_link() {
        let target =
            String::from_utf8_lossy(&entry.link_name_bytes().unwrap_or_default()).into_owned();
        return remember_link(&path, &target, kind.is_symlink(), m).map_err(Member::Refused);
    }
    let Some(file) = library_name(&path).filter(|f| is_library_file(f)) else {
        return Ok(());
    };
    if !(kind.is_file() || kind.is_contiguous()) || m.files.values().any(|f| f == file) {
        return Ok(());
    }
    if entry.size() > MAX_LIBRARY {
        return Err(Member::Refused(format!(
            "is {} bytes, more than any shared library",
            entry.size()
        )));
    }
    let mut magic = [0u8; 4];
    match entry.read_exact(&mut magic) {
        Ok(()) if magic == ELF_MAGIC => {}
        Ok(()) => return Ok(()),
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(()),
        Err(e) => return Err(Member::Io(e)),
    }
    write_library(&mut entry, &magic, &lib_dir.join(file))?;
    m.files.insert(path.join("/"), file.to_string());
    Ok(())
}

/// Create `dest` (it must not exist: `O_EXCL` never follows a link) with
/// `head` and the rest of `entry`.
fn write_library<R: Read>(
    entry: &mut tar::Entry<'_, R>,
    head: &[u8],
    dest: &Path,
) -> Result<(), Member> {
    let cannot = |e: io::Error| {
        Member::Write(anyhow::Error::new(e).context(format!("cannot write {}", dest.display())))
    };
    let mut out = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(dest)
        .map_err(cannot)?;
    out.write_all(head).map_err(cannot)?;
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = match entry.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Member::Io(e)),
        };
        out.write_all(&buf[..n]).map_err(cannot)?;
    }
}

/// Check a link member; remember it when it is among the libraries. A
/// hard link there is an alias like a symlink (bsdx makes its own link).
fn remember_link(
    path: &[String],
    target: &str,
    symlink: bool,
    m: &mut Members,
) -> Result<(), String> {
    let shown = target.escape_debug();
    let among_libraries = library_name(path).is_some();
    let resolved = if !symlink {
        normalize(target.as_bytes())
            .map_err(|_| format!("is a hard link to `{shown}`, outside the archive"))?
    } else if target.starts_with('/') {
        if among_libraries {
            return Err(format!(
                "is a symlink to the absolute path `{shown}`, outside the output"
            ));
        }
        return Ok(());
    } else {
        let dir = &path[..path.len().saturating_sub(1)];
        join_inside(dir, target)
            .ok_or_else(|| format!("is a symlink to `{shown}`, which leaves the archive"))?
    };
    if among_libraries {
        m.links.insert(path.join("/"), resolved.join("/"));
    }
    Ok(())
}

/// A member's path as components; refuses absolute paths and `..`.
fn normalize(raw: &[u8]) -> Result<Vec<String>, &'static str> {
    let text = String::from_utf8_lossy(raw);
    if text.starts_with('/') {
        return Err("has an absolute path");
    }
    let mut out = Vec::new();
    for c in text.split('/') {
        match c {
            "" | "." => {}
            ".." => return Err("has a `..` component"),
            n => out.push(n.to_string()),
        }
    }
    Ok(out)
}

/// `dir` joined with the relative link `target`; `None` if it climbs out.
fn join_inside(dir: &[String], target: &str) -> Option<Vec<String>> {
    let mut out = dir.to_vec();
    for c in target.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                out.pop()?;
            }
            n => out.push(n.to_string()),
        }
    }
    Some(out)
}

/// The file name of a member directly in `lib/` or `usr/lib/` that looks
/// like a shared library or its link (`lib*.so*`).
fn library_name(path: &[String]) -> Option<&str> {
    let name = match path {
        [dir, name] if dir == "lib" => name,
        [usr, dir, name] if usr == "usr" && dir == "lib" => name,
        _ => return None,
    };
    (name.starts_with("lib") && name.contains(".so")).then_some(name.as_str())
}

/// `libkvm.so.7`, `libfoo.so.1.2`: a versioned shared library file name.
fn is_library_file(name: &str) -> bool {
    let Some((stem, version)) = name.split_once(".so.") else {
        return false;
    };
    let plain = !name.contains('/') && !name.contains('\0');
    plain
        && stem.len() > 3
        && stem.starts_with("lib")
        && version
            .split('.')
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

/// `libkvm.so` for `libkvm.so.7`, and the version as numbers.
fn dev_name(file: &str) -> (String, Vec<u64>) {
    let (stem, version) = file.split_once(".so.").unwrap_or((file, ""));
    (
        format!("{stem}.so"),
        version.split('.').map(|p| p.parse().unwrap_or(0)).collect(),
    )
}

/// Each written library: file name, DT_SONAME, size.
fn describe(lib_dir: &Path, m: &Members) -> Result<Vec<LibraryFile>> {
    let names: BTreeSet<&String> = m.files.values().collect();
    let mut out = Vec::new();
    for file in names {
        let path = lib_dir.join(file);
        let bytes =
            std::fs::read(&path).with_context(|| format!("cannot read back {}", path.display()))?;
        let soname = goblin::elf::Elf::parse(&bytes)
            .ok()
            .and_then(|e| e.soname.map(str::to_string));
        out.push(LibraryFile {
            file: file.clone(),
            soname,
            size: bytes.len() as u64,
        });
    }
    Ok(out)
}

/// Make the links in `lib/`, each a relative symlink to a library file
/// beside it: the archive's own links among the libraries, a soname link
/// when a soname differs from its file name, and a `lib<name>.so` for each
/// library, after its soname and its file name (the highest version when
/// there are several). A name already taken is left alone.
fn link(
    lib_dir: &Path,
    m: &Members,
    libraries: &[LibraryFile],
) -> Result<BTreeMap<String, String>> {
    let mut taken: BTreeSet<String> = libraries.iter().map(|l| l.file.clone()).collect();
    let mut planned: Vec<(String, String)> = Vec::new();
    for path in m.links.keys() {
        let name = path.rsplit('/').next().unwrap_or(path);
        if let Some(file) = resolve(m, path) {
            planned.push((name.to_string(), file.to_string()));
        }
    }
    for l in libraries {
        if let Some(soname) = l.soname.as_deref().filter(|s| is_library_file(s)) {
            planned.push((soname.to_string(), l.file.clone()));
        }
    }
    let mut by_version: Vec<&LibraryFile> = libraries.iter().collect();
    by_version.sort_by_key(|l| std::cmp::Reverse(dev_name(&l.file).1));
    for l in by_version {
        let soname = l.soname.as_deref().filter(|s| is_library_file(s));
        for dev in soname.into_iter().chain([l.file.as_str()]) {
            planned.push((dev_name(dev).0, l.file.clone()));
        }
    }
    let mut links = BTreeMap::new();
    for (name, file) in planned {
        if taken.insert(name.clone()) {
            std::os::unix::fs::symlink(&file, lib_dir.join(&name)).with_context(|| {
                format!("cannot create the link {name} in {}", lib_dir.display())
            })?;
            links.insert(name, file);
        }
    }
    Ok(links)
}

/// The library file an archive link finally names, following links among
/// the libraries; `None` when it dangles or names something else.
fn resolve<'a>(m: &'a Members, path: &str) -> Option<&'a str> {
    let mut at = path;
    for _ in 0..32 {
        if let Some(file) = m.files.get(at) {
            return Some(file);
        }
        at = m.links.get(at)?;
    }
    None
}

/// An archive's member name, printable on a terminal.
fn escape(raw: &[u8]) -> String {
    String::from_utf8_lossy(raw).escape_debug().to_string()
}

// ---------------------------------------------------------------- fetch

/// The sysroot for `want` in the cache: reused when complete, else
/// downloaded from `urls` and extracted. Returns (path, marker, cached).
pub fn fetch(want: &Wanted, urls: &[String]) -> Result<(PathBuf, Marker, bool)> {
    let root = cache::dir()?.join("sysroots");
    let dir = root.join(want.dir_name());
    if let Some(marker) = complete(&dir, &want.sha256) {
        return Ok((dir, marker, true));
    }
    remove_garbage(&dir)?;
    std::fs::create_dir_all(&root).with_context(|| format!("cannot create {}", root.display()))?;
    sweep(&root);
    if want.single_source {
        eprintln!("bsdx: note: the pinned SHA-256 of FreeBSD {} {} is confirmed by one source only (see nix/releases.json)", want.release, want.arch);
    }
    let (tmp, url) = download(urls, want, &root)?;
    let labels = Labels {
        release: Some(want.release.clone()),
        arch: Some(want.arch.clone()),
    };
    let marker = match extract(tmp.path(), &dir, labels, &url, Some(&want.sha256)) {
        Ok(marker) => marker,
        // Another bsdx may have finished the same directory first.
        Err(e) => complete(&dir, &want.sha256).ok_or(e)?,
    };
    Ok((dir, marker, false))
}

/// Remove a cache directory left without its marker.
fn remove_garbage(dir: &Path) -> Result<()> {
    let removed = match std::fs::symlink_metadata(dir) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(dir),
        _ => std::fs::remove_file(dir),
    };
    eprintln!("bsdx: removing the unfinished {}", dir.display());
    removed.with_context(|| {
        format!(
            "cannot remove the unfinished {}; remove it yourself",
            dir.display()
        )
    })
}

/// Delete downloads an interrupted bsdx left behind (a day old or more).
fn sweep(root: &Path) {
    let day = Duration::from_secs(24 * 3600);
    for e in std::fs::read_dir(root).into_iter().flatten().flatten() {
        let stale = e
            .metadata()
            .ok()
            .and_then(|m| m.modified().ok())
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > day);
        if stale
            && e.file_name().to_string_lossy().starts_with(DOWNLOAD_PREFIX)
            && e.file_type().is_ok_and(|t| t.is_file())
        {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// Why one download attempt failed, and so what happens next.
enum Attempt {
    /// The URL has no such file: the next URL, at once.
    Missing(String),
    /// Worth retrying the same URL.
    Transient(String),
    /// The next URL.
    Failed(String),
    /// Trouble on this machine (disk full...): stop.
    Local(anyhow::Error),
}

/// The first of `urls` that yields the wanted file, verified, in a
/// temporary file in `dir` (deleted when dropped).
fn download(
    urls: &[String],
    want: &Wanted,
    dir: &Path,
) -> Result<(tempfile::NamedTempFile, String)> {
    let mut tried = Vec::new();
    for (i, url) in urls.iter().enumerate() {
        match download_url(url, want, dir)? {
            Ok(tmp) => return Ok((tmp, url.clone())),
            Err(why) => {
                if i + 1 < urls.len() {
                    eprintln!("bsdx: {url}: {why}; trying the next URL");
                }
                tried.push(format!("  {url}: {why}"));
            }
        }
    }
    Err(SysrootError::Unreachable {
        release: want.release.clone(),
        arch: want.arch.clone(),
        tried: tried.join("\n"),
    }
    .into())
}

/// `Ok(Ok(file))`: downloaded and verified. `Ok(Err(why))`: this URL
/// failed, try the next. `Err`: stop (a SHA-256 mismatch, local trouble).
fn download_url(
    url: &str,
    want: &Wanted,
    dir: &Path,
) -> Result<Result<tempfile::NamedTempFile, String>> {
    let mut last = String::new();
    for attempt in 1..=ATTEMPTS {
        let mut tmp = tempfile::Builder::new()
            .prefix(DOWNLOAD_PREFIX)
            .tempfile_in(dir)
            .with_context(|| format!("cannot create a temporary file in {}", dir.display()))?;
        match download_once(url, tmp.as_file_mut(), want) {
            Ok((got, bytes)) if got == want.sha256 => {
                eprintln!(
                    "bsdx: downloaded {url} ({}, sha256 verified)",
                    HumanBytes(bytes)
                );
                return Ok(Ok(tmp));
            }
            Ok((got, _)) => {
                drop(tmp);
                return Err(SysrootError::Mismatch {
                    url: url.to_string(),
                    expected: want.sha256.clone(),
                    got,
                }
                .into());
            }
            Err(Attempt::Local(e)) => return Err(e),
            Err(Attempt::Missing(why) | Attempt::Failed(why)) => return Ok(Err(why)),
            Err(Attempt::Transient(why)) => {
                if attempt < ATTEMPTS {
                    let wait = Duration::from_secs(2u64.pow(attempt));
                    eprintln!(
                        "bsdx: {url}: {why}; retrying in {}s (attempt {attempt} of {ATTEMPTS})",
                        wait.as_secs()
                    );
                    std::thread::sleep(wait);
                }
                last = format!("{why} ({ATTEMPTS} attempts)");
            }
        }
    }
    Ok(Err(last))
}

/// Download `url` into `dest`; returns its SHA-256 and size.
fn download_once(url: &str, dest: &mut File, want: &Wanted) -> Result<(String, u64), Attempt> {
    let (reader, len) = open_url(url)?;
    let bar = progress(
        len.or(want.size).unwrap_or(0),
        &format!(
            "downloading FreeBSD {} {} base.txz",
            want.release, want.arch
        ),
    );
    let mut tally = Tally::new(reader, bar.clone());
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = match tally.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Attempt::Transient(format!("the download broke off: {e}"))),
        };
        dest.write_all(&buf[..n]).map_err(|e| {
            Attempt::Local(
                anyhow::Error::new(e).context("cannot write the download into the cache directory"),
            )
        })?;
    }
    dest.flush().map_err(|e| Attempt::Local(e.into()))?;
    bar.finish_and_clear();
    Ok((tally.hex(), tally.bytes))
}

/// A reader for `url` (`file://`, `http://`, `https://`) and its length.
fn open_url(url: &str) -> Result<(Box<dyn Read>, Option<u64>), Attempt> {
    if let Some(path) = file_url_path(url) {
        return match File::open(&path) {
            Ok(f) => {
                let len = f.metadata().ok().map(|m| m.len());
                Ok((Box::new(f), len))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                Err(Attempt::Missing("no such file".into()))
            }
            Err(e) => Err(Attempt::Failed(format!(
                "cannot open {}: {e}",
                path.display()
            ))),
        };
    }
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        return Err(Attempt::Failed(
            "unsupported URL (use https://, http:// or file:///absolute/path)".into(),
        ));
    }
    let response = agent().get(url).call().map_err(classify)?;
    let len = response.body().content_length();
    Ok((Box::new(response.into_body().into_reader()), len))
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_connect(Some(Duration::from_secs(30)))
        .timeout_recv_response(Some(Duration::from_secs(60)))
        .timeout_per_read(Some(Duration::from_secs(60)))
        .user_agent(concat!("bsdx/", env!("CARGO_PKG_VERSION")))
        .build()
        .into()
}

fn classify(e: ureq::Error) -> Attempt {
    let why = e.to_string();
    match e {
        ureq::Error::StatusCode(c @ (404 | 410)) => {
            Attempt::Missing(format!("HTTP {c}, not there"))
        }
        ureq::Error::StatusCode(c) if c == 408 || c == 429 || c >= 500 => {
            Attempt::Transient(format!("HTTP {c}"))
        }
        ureq::Error::StatusCode(c) => Attempt::Failed(format!("HTTP {c}")),
        ureq::Error::Io(_)
        | ureq::Error::Timeout(_)
        | ureq::Error::ConnectionFailed
        | ureq::Error::HostNotFound
        | ureq::Error::Protocol(_) => Attempt::Transient(why),
        _ => Attempt::Failed(why),
    }
}

/// The path of a `file:///absolute/path` URL (`%XX` decoded).
fn file_url_path(url: &str) -> Option<PathBuf> {
    let rest = url.strip_prefix("file://")?;
    let rest = rest.strip_prefix("localhost").unwrap_or(rest);
    use std::os::unix::ffi::OsStringExt;
    rest.starts_with('/')
        .then(|| PathBuf::from(std::ffi::OsString::from_vec(percent_decode(rest))))
}

fn percent_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = b
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (b[i], hex) {
            (b'%', Some(v)) => {
                out.push(v);
                i += 3;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(p: &[&str]) -> Vec<String> {
        p.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn every_pin_loads_and_is_well_formed() {
        let raw: serde_json::Value = serde_json::from_str(PINS_TEXT).unwrap();
        assert_eq!(raw["schema"], 1);
        assert!(!pins().releases.is_empty());
        for (release, archs) in &pins().releases {
            assert!(is_release_name(release), "{release}");
            assert!(!archs.is_empty(), "{release}");
            for (arch, pin) in archs {
                let what = format!("{release} {arch}");
                assert_eq!(pin.sha256.len(), 64, "{what}");
                assert!(
                    pin.sha256
                        .bytes()
                        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
                    "{what}: lowercase hex"
                );
                assert!(pin.urls.len() >= 2, "{what}: at least two URLs");
                assert_eq!(&pin.machine, arch, "{what}");
                let expected: Vec<String> = URL_TEMPLATES
                    .iter()
                    .map(|t| {
                        t.replace("{machine}", &pin.machine)
                            .replace("{machine_arch}", &pin.machine_arch)
                            .replace("{release}", release)
                    })
                    .collect();
                assert_eq!(pin.urls, expected, "{what}: URLs follow FreeBSD's layout");
                let w = Wanted::new(release, arch, None).unwrap();
                assert_eq!(w.sha256, pin.sha256);
                assert_eq!(
                    identify(&pin.sha256),
                    Some((release.as_str(), arch.as_str()))
                );
            }
        }
        let all: Vec<&String> = pins()
            .releases
            .values()
            .flat_map(|a| a.values().map(|p| &p.sha256))
            .collect();
        assert_eq!(
            all.len(),
            all.iter().collect::<BTreeSet<_>>().len(),
            "no two pins share a hash"
        );
    }

    #[test]
    fn unknown_releases_and_archs_list_the_known_ones() {
        let e = lookup("16.0", "amd64").unwrap_err().to_string();
        assert!(
            e.contains("pinned releases: 13.5, 14.2, 14.3, 14.4, 15.0, 15.1"),
            "{e}"
        );
        let e = lookup("15.1", "arm64").unwrap_err().to_string();
        assert!(e.contains("pinned architectures for 15.1: amd64"), "{e}");
        let e = lookup("14.4", "sparc64").unwrap_err().to_string();
        assert!(
            e.contains("pinned architectures for 14.4: amd64, arm64"),
            "{e}"
        );
        assert_eq!(lookup("14.4", "aarch64").unwrap().0, "arm64");
    }

    #[test]
    fn sha256_override_and_unpinned_releases() {
        let sha = "AB".repeat(32);
        let w = Wanted::new("14.4", "amd64", Some(&sha)).unwrap();
        assert_eq!(w.sha256, "ab".repeat(32));
        assert_eq!(w.dir_name(), format!("14.4-amd64-{}", "ab".repeat(8)));
        let w = Wanted::new("15.1", "aarch64", Some(&sha)).unwrap();
        assert_eq!(
            w.urls[0],
            "https://download.freebsd.org/releases/arm64/aarch64/15.1-RELEASE/base.txz"
        );
        assert!(
            Wanted::new("../x", "amd64", Some(&sha)).is_err(),
            "release names become paths"
        );
        assert!(Wanted::new("16.0", "sparc64", Some(&sha)).is_err());
        assert!(Wanted::new("14.4", "amd64", Some("abc"))
            .unwrap_err()
            .to_string()
            .contains("64 hex digits"));
        let w = Wanted::new("14.4", "amd64", None).unwrap();
        assert_eq!(w.urls_with(Some("  ")), w.urls);
        assert_eq!(
            w.urls_with(Some("file:///m/ https://x.example")),
            [
                "file:///m/amd64/amd64/14.4-RELEASE/base.txz",
                "https://x.example/amd64/amd64/14.4-RELEASE/base.txz"
            ]
        );
    }

    #[test]
    fn member_paths() {
        assert_eq!(
            normalize(b"./usr/lib/libkvm.so").unwrap(),
            strings(&["usr", "lib", "libkvm.so"])
        );
        assert!(normalize(b"/etc/passwd").is_err());
        assert!(normalize(b"./lib/../../x").is_err());
        assert_eq!(
            join_inside(&strings(&["usr", "lib"]), "../../lib/libkvm.so.7").unwrap(),
            strings(&["lib", "libkvm.so.7"])
        );
        assert_eq!(
            join_inside(&strings(&["usr", "lib"]), "../../../etc/passwd"),
            None
        );
        assert_eq!(
            library_name(&strings(&["lib", "libc.so.7"])),
            Some("libc.so.7")
        );
        assert_eq!(
            library_name(&strings(&["usr", "lib", "libc.so"])),
            Some("libc.so")
        );
        assert_eq!(
            library_name(&strings(&["usr", "lib", "debug", "libc.so.7"])),
            None
        );
        assert_eq!(library_name(&strings(&["usr", "bin", "libc.so.7"])), None);
        for ok in ["libkvm.so.7", "libfoo.so.1.2"] {
            assert!(is_library_file(ok), "{ok}");
        }
        for no in [
            "libc.so",
            "libc.a",
            "lib.so.1",
            "libx.so.1a",
            "libx.so.",
            "libx.so.1.",
            "engine.so.1",
        ] {
            assert!(!is_library_file(no), "{no}");
        }
        assert_eq!(
            dev_name("libfoo.so.1.2"),
            ("libfoo.so".to_string(), vec![1, 2])
        );
    }

    #[test]
    fn file_urls() {
        assert_eq!(
            file_url_path("file:///a%20b/c"),
            Some(PathBuf::from("/a b/c"))
        );
        assert_eq!(
            file_url_path("file://localhost/x"),
            Some(PathBuf::from("/x"))
        );
        assert_eq!(file_url_path("file://relative"), None);
        assert_eq!(file_url_path("https://x"), None);
        assert_eq!(percent_decode("100%"), b"100%");
    }
}
