//! The boot media: one ISO 9660 image (Rock Ridge for permissions and
//! links) holding FreeBSD's loader, the kernel and a root trimmed to what
//! the program needs, built deterministically and cached per (release,
//! machine, kernel.txz, base.txz, the program's libraries).
//!
//! The root has FreeBSD's `/boot` from base.txz (boot blocks, loader, Lua
//! scripts, defaults) with bsdx's `loader.conf`, the kernel (and a few
//! modules) from kernel.txz, `ld-elf.so.1`, the tools in
//! [`super::guest::REQUIRED_TOOLS`] and [`super::guest::EXTRA_TOOLS`],
//! `/etc` basics, and every library those tools and the program need,
//! following `DT_NEEDED` the way `ld-elf.so.1` searches (`/lib`, then
//! `/usr/lib`). The program itself is not on it: it goes on the per-run
//! data disk ([`super::data`]), so one ISO serves every program with the
//! same libraries.
//!
//! amd64 boots it as a BIOS El Torito no-emulation image (`boot/cdboot`);
//! arm64 through an El Torito EFI system partition image made with mtools
//! (`EFI/BOOT/BOOTAA64.EFI` = `boot/loader.efi`). Determinism: all dates
//! are [`EPOCH`] (`SOURCE_DATE_EPOCH` for mtools and xorriso, and
//! xorriso's `--set_all_file_dates`), the FAT serial is 0, ownership is
//! root (`-r`), and file order is by name.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use crate::cache;
use crate::model::target::Target;

use super::guest;
use super::guest::{ETC_FILES, EXTRA_TOOLS, REQUIRED_TOOLS};
use super::tools;
use super::tree::Tree;

/// Version of the media layout (part of the cache key).
pub const SCHEMA: u32 = 1;
/// Every date on the media: 1980-01-01 00:00:00 UTC (FAT's first day).
pub const EPOCH: u64 = 315_532_800;
/// The ISO's volume identifier.
pub const VOLUME: &str = "BSDX_ROOT";
const MARKER: &str = "bsdx-media.json";
const ISO: &str = "root.iso";
/// Where `ld-elf.so.1` looks for libraries without hints, in order.
const LIBRARY_DIRS: &[&str] = &["lib", "usr/lib"];
/// Empty directories the guest mounts things on.
const MOUNT_POINTS: &[&str] = &["dev", "mnt", "tmp", "var"];

/// `bsdx-media.json`: what a finished media directory holds.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Manifest {
    pub schema: u32,
    pub key: String,
    pub target: String,
    pub release: String,
    pub kernel_sha256: String,
    pub base_sha256: String,
    /// Every path on the ISO.
    pub root: Vec<RootEntry>,
    /// Libraries the program needs (sonames), found in base.txz.
    pub libraries: Vec<String>,
    /// Libraries the program needs that base.txz does not have.
    pub missing: Vec<String>,
    pub iso_sha256: String,
    pub iso_size: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum RootEntry {
    Dir { path: String },
    File { path: String, size: u64, mode: u32 },
    Link { path: String, target: String },
}

/// A finished ISO in the cache.
#[derive(Debug, Clone)]
pub struct Media {
    pub dir: PathBuf,
    pub iso: PathBuf,
    pub manifest: Manifest,
    /// It was already in the cache.
    pub cached: bool,
}

/// Where a root file comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Source {
    Base(String),
    Kernel(String),
    Generated(Vec<u8>),
    Link(String),
}

/// What goes on the ISO, before it is written.
#[derive(Debug, Default)]
pub struct Plan {
    files: BTreeMap<String, (Source, u32)>,
    dirs: BTreeSet<String>,
    pub libraries: Vec<String>,
    pub missing: Vec<String>,
}

/// The NEEDED sonames of an ELF file (nothing for other files).
pub fn needed(bytes: &[u8]) -> Vec<String> {
    match goblin::elf::Elf::parse(bytes) {
        Ok(elf) => elf.libraries.iter().map(|s| s.to_string()).collect(),
        Err(_) => vec![],
    }
}

impl Plan {
    /// Put `path` of `base` on the root: its file, or its link and (one
    /// step at a time) what the link names. Returns the file it ends at.
    fn add_base(&mut self, base: &Tree, path: &str) -> Option<String> {
        let mut chain = Vec::new();
        let mut at = path.to_string();
        for _ in 0..32 {
            if let Some(e) = base.marker.files.get(&at) {
                for (link, text) in chain {
                    self.files.insert(link, (Source::Link(text), 0o777));
                }
                self.files
                    .insert(at.clone(), (Source::Base(at.clone()), e.mode));
                return Some(at);
            }
            let text = base.marker.links.get(&at)?.clone();
            let next = base.resolve_step(&at)?;
            chain.push((at, text));
            at = next;
        }
        None
    }

    fn generated(&mut self, path: &str, content: impl Into<Vec<u8>>, mode: u32) {
        self.files
            .insert(path.to_string(), (Source::Generated(content.into()), mode));
    }

    /// Every path and what it is, for the cache key and the manifest.
    fn listing(&self, kernel: &Tree, base: &Tree) -> Vec<RootEntry> {
        let mut out: Vec<RootEntry> = self
            .all_dirs()
            .into_iter()
            .map(|path| RootEntry::Dir { path })
            .collect();
        for (path, (src, mode)) in &self.files {
            out.push(match src {
                Source::Link(t) => RootEntry::Link {
                    path: path.clone(),
                    target: t.clone(),
                },
                Source::Base(p) => RootEntry::File {
                    path: path.clone(),
                    size: base.marker.files[p].size,
                    mode: *mode,
                },
                Source::Kernel(p) => RootEntry::File {
                    path: path.clone(),
                    size: kernel.marker.files[p].size,
                    mode: *mode,
                },
                Source::Generated(b) => RootEntry::File {
                    path: path.clone(),
                    size: b.len() as u64,
                    mode: *mode,
                },
            });
        }
        out.sort_by(|a, b| entry_path(a).cmp(entry_path(b)));
        out
    }

    fn all_dirs(&self) -> BTreeSet<String> {
        let mut dirs = self.dirs.clone();
        for path in self.files.keys() {
            let mut p = path.as_str();
            while let Some((parent, _)) = p.rsplit_once('/') {
                dirs.insert(parent.to_string());
                p = parent;
            }
        }
        dirs
    }
}

fn entry_path(e: &RootEntry) -> &str {
    match e {
        RootEntry::Dir { path } | RootEntry::File { path, .. } | RootEntry::Link { path, .. } => {
            path
        }
    }
}

impl Tree {
    /// Where a link at `path` points, as an archive path (one step).
    pub fn resolve_step(&self, path: &str) -> Option<String> {
        let text = self.marker.links.get(path)?;
        let comps: Vec<String> = path.split('/').map(str::to_string).collect();
        crate::archive::join_inside(&comps[..comps.len() - 1], text).map(|p| p.join("/"))
    }
}

/// Decide the root: what the guest needs, plus the closure of the
/// program's NEEDED libraries (`program_needed`).
pub fn plan(
    target: &Target,
    kernel: &Tree,
    base: &Tree,
    program_needed: &[String],
) -> Result<Plan> {
    let mut plan = Plan::default();
    let whose = |t: &Tree| format!("the {} at {}", t.marker.dist.file(), t.marker.source);
    let mut required: Vec<&str> = REQUIRED_TOOLS.to_vec();
    required.push("libexec/ld-elf.so.1");
    match target.machine {
        "amd64" => required.extend(["boot/cdboot", "boot/loader"]),
        _ => required.push("boot/loader.efi"),
    }
    let mut elves = Vec::new();
    for path in &required {
        match plan.add_base(base, path) {
            Some(f) => elves.push(f),
            None => bail!(
                "{} has no {path}, which a bsdx boot needs: is it FreeBSD's base.txz for {}?\n  fix: pass the base.txz of FreeBSD {} {} with --base-txz, or leave --base-txz out to download the pinned one",
                whose(base),
                target.machine,
                base.marker.release,
                target.machine
            ),
        }
    }
    for path in EXTRA_TOOLS.iter().chain(ETC_FILES) {
        if let Some(f) = plan.add_base(base, path) {
            elves.push(f);
        }
    }
    let boot: Vec<String> = base
        .marker
        .files
        .keys()
        .chain(base.marker.links.keys())
        .filter(|p| p.starts_with("boot/"))
        .cloned()
        .collect();
    for p in boot {
        plan.add_base(base, &p);
    }
    if !kernel.marker.files.contains_key("boot/kernel/kernel") {
        bail!(
            "{} has no boot/kernel/kernel: is it FreeBSD's kernel.txz?\n  fix: pass the kernel.txz of FreeBSD {} {} with --kernel-txz, or leave --kernel-txz out to download it",
            whose(kernel),
            kernel.marker.release,
            target.machine
        );
    }
    for (p, e) in &kernel.marker.files {
        plan.files
            .insert(p.clone(), (Source::Kernel(p.clone()), e.mode));
    }
    // The libraries: the tools' closure, then the program's.
    let mut done = BTreeSet::new();
    let mut queue: Vec<String> = elves;
    let resolve = |plan: &mut Plan, soname: &str| -> Option<String> {
        LIBRARY_DIRS
            .iter()
            .find_map(|d| plan.add_base(base, &format!("{d}/{soname}")))
    };
    let mut wanted: Vec<String> = program_needed.to_vec();
    loop {
        while let Some(file) = queue.pop() {
            if !done.insert(file.clone()) {
                continue;
            }
            let Ok(bytes) = std::fs::read(base.path(&file)) else {
                continue;
            };
            for soname in needed(&bytes) {
                if let Some(f) = resolve(&mut plan, &soname) {
                    queue.push(f);
                }
            }
        }
        let Some(soname) = wanted.pop() else { break };
        match resolve(&mut plan, &soname) {
            Some(f) => {
                plan.libraries.push(soname);
                queue.push(f);
            }
            None => plan.missing.push(soname),
        }
    }
    plan.libraries.sort();
    plan.libraries.dedup();
    plan.missing.sort();
    plan.missing.dedup();
    plan.generated("boot/loader.conf", guest::loader_conf(target), 0o644);
    plan.generated("bsdx/init", guest::init_script(target), 0o755);
    plan.generated("etc/rc", guest::RC_FALLBACK, 0o755);
    for d in MOUNT_POINTS {
        plan.dirs.insert(d.to_string());
    }
    Ok(plan)
}

/// The cache key of a plan: every path, every source file's identity and
/// every generated byte.
fn key(target: &Target, kernel: &Tree, base: &Tree, plan: &Plan) -> String {
    let listing = serde_json::to_vec(&plan.listing(kernel, base)).expect("serializable");
    let generated: Vec<u8> = plan
        .files
        .values()
        .filter_map(|(s, _)| match s {
            Source::Generated(b) => Some(b.clone()),
            _ => None,
        })
        .flatten()
        .collect();
    cache::key(&[
        SCHEMA.to_string().as_bytes(),
        target.triple.as_bytes(),
        kernel.marker.sha256.as_bytes(),
        base.marker.sha256.as_bytes(),
        &listing,
        &generated,
    ])
}

/// The media for `plan`, from the cache or built now.
pub fn prepare(
    target: &Target,
    release: &str,
    kernel: &Tree,
    base: &Tree,
    plan: &Plan,
) -> Result<Media> {
    let key = key(target, kernel, base, plan);
    let dir = cache::dir()?
        .join("run")
        .join("media")
        .join(format!("{}-{}-{key}", release, target.machine));
    if let Some(m) = open(&dir, &key) {
        return Ok(Media { cached: true, ..m });
    }
    if dir.exists() {
        std::fs::remove_dir_all(&dir).with_context(|| {
            format!(
                "cannot remove the unfinished {}\n  fix: remove it yourself",
                dir.display()
            )
        })?;
    }
    let xorriso = tools::find(&tools::XORRISO)?;
    let staging = cache::staging_dir(&dir)?;
    let root = staging.path().join("root");
    let listing = plan.listing(kernel, base);
    let bytes: u64 = listing
        .iter()
        .map(|e| match e {
            RootEntry::File { size, .. } => *size,
            _ => 0,
        })
        .sum();
    eprintln!(
        "bsdx: building the boot ISO for FreeBSD {release} {} ({} files, {})",
        target.machine,
        listing.len(),
        indicatif::HumanBytes(bytes)
    );
    stage(&root, plan, kernel, base)?;
    let iso = staging.path().join(ISO);
    let mut cmd = Command::new(&xorriso);
    cmd.env("SOURCE_DATE_EPOCH", EPOCH.to_string())
        .args(["-as", "mkisofs", "-quiet", "-o"])
        .arg(&iso)
        .args(["-r", "-V", VOLUME, "--set_all_file_dates"])
        .arg(format!("={EPOCH}"))
        .args(["-c", "boot/boot.catalog"]);
    match target.machine {
        "amd64" => cmd.args(["-b", "boot/cdboot", "-no-emul-boot"]),
        _ => {
            esp(&root, base)?;
            cmd.args(["-e", "boot/efi.img", "-no-emul-boot"])
        }
    };
    cmd.arg(&root);
    run_tool(&mut cmd, "xorriso")?;
    std::fs::remove_dir_all(&root).context("cannot remove the staged root")?;
    let iso_sha256 = crate::digest::sha256_file(&iso)?;
    let iso_size = std::fs::metadata(&iso)?.len();
    let manifest = Manifest {
        schema: SCHEMA,
        key: key.clone(),
        target: target.triple.to_string(),
        release: release.to_string(),
        kernel_sha256: kernel.marker.sha256.clone(),
        base_sha256: base.marker.sha256.clone(),
        root: listing,
        libraries: plan.libraries.clone(),
        missing: plan.missing.clone(),
        iso_sha256,
        iso_size,
    };
    std::fs::write(
        staging.path().join(MARKER),
        serde_json::to_string_pretty(&manifest)? + "\n",
    )?;
    if let Err(e) = cache::publish(staging, &dir) {
        return open(&dir, &key).ok_or(e);
    }
    Ok(Media {
        iso: dir.join(ISO),
        dir,
        manifest,
        cached: false,
    })
}

fn open(dir: &Path, key: &str) -> Option<Media> {
    let text = std::fs::read_to_string(dir.join(MARKER)).ok()?;
    let manifest: Manifest = serde_json::from_str(&text).ok()?;
    let iso = dir.join(ISO);
    (manifest.key == key && iso.is_file()).then(|| Media {
        dir: dir.to_path_buf(),
        iso,
        manifest,
        cached: true,
    })
}

/// Write the root into `root`: files copied from the extracted trees,
/// links as links, modes normalized (0755 if executable, else 0644).
fn stage(root: &Path, plan: &Plan, kernel: &Tree, base: &Tree) -> Result<()> {
    for d in plan
        .all_dirs()
        .iter()
        .chain(std::iter::once(&String::new()))
    {
        std::fs::create_dir_all(root.join(d))
            .with_context(|| format!("cannot create {d} in the staged root"))?;
    }
    for (path, (src, mode)) in &plan.files {
        let at = root.join(path);
        if let Source::Link(t) = src {
            std::os::unix::fs::symlink(t, &at)
                .with_context(|| format!("cannot create the link {path}"))?;
            continue;
        }
        match src {
            Source::Base(p) => copy_regular(&base.path(p), &at)?,
            Source::Kernel(p) => copy_regular(&kernel.path(p), &at)?,
            Source::Generated(b) => {
                std::fs::write(&at, b).with_context(|| format!("cannot write {path}"))?
            }
            Source::Link(_) => unreachable!(),
        };
        use std::os::unix::fs::PermissionsExt;
        let m = if mode & 0o111 != 0 { 0o755 } else { 0o644 };
        std::fs::set_permissions(&at, std::fs::Permissions::from_mode(m))?;
    }
    Ok(())
}

/// Copy a file the extraction wrote, refusing anything but a regular file.
fn copy_regular(from: &Path, to: &Path) -> Result<()> {
    let m = std::fs::symlink_metadata(from).with_context(|| {
        format!(
            "{} is missing from the cache\n  fix: remove $BSDX_CACHE_DIR/run/inputs (bsdx extracts the release's files again)",
            from.display()
        )
    })?;
    if !m.is_file() {
        bail!("{} is not a regular file\n  fix: remove $BSDX_CACHE_DIR/run/inputs (bsdx extracts the release's files again)", from.display());
    }
    std::fs::copy(from, to).with_context(|| format!("cannot copy {}", from.display()))?;
    Ok(())
}

/// arm64: `boot/efi.img`, a FAT EFI system partition holding the loader
/// as `EFI/BOOT/BOOTAA64.EFI` (what the firmware boots by default).
fn esp(root: &Path, base: &Tree) -> Result<()> {
    let loader = base.path(
        &base
            .resolve("boot/loader.efi")
            .with_context(|| format!("the base.txz at {} has no boot/loader.efi, which an arm64 boot needs\n  fix: pass the arm64 base.txz of the release with --base-txz, or leave --base-txz out to download the pinned one", base.marker.source))?,
    );
    let size = std::fs::metadata(&loader)?.len();
    // Twice the loader plus 1 MiB, in 512-byte sectors, at least 2 MiB.
    let sectors = ((size * 2 + (1 << 20)) / 512).max(4096);
    let img = root.join("boot/efi.img");
    let sde = EPOCH.to_string();
    let mformat = tools::find(&tools::MFORMAT)?;
    let mmd = tools::find(&tools::MMD)?;
    let mcopy = tools::find(&tools::MCOPY)?;
    let mut f = Command::new(mformat);
    f.arg("-i").arg(&img).args([
        "-C",
        "-T",
        &sectors.to_string(),
        "-h",
        "2",
        "-s",
        "32",
        "-N",
        "0",
        "-v",
        "BSDXEFI",
        "::",
    ]);
    run_tool(mtools_env(&mut f, &sde), "mformat")?;
    let mut d = Command::new(mmd);
    d.arg("-i").arg(&img).args(["::/EFI", "::/EFI/BOOT"]);
    run_tool(mtools_env(&mut d, &sde), "mmd")?;
    let mut c = Command::new(mcopy);
    c.arg("-i")
        .arg(&img)
        .arg(&loader)
        .arg("::/EFI/BOOT/BOOTAA64.EFI");
    run_tool(mtools_env(&mut c, &sde), "mcopy")?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&img, std::fs::Permissions::from_mode(0o644))?;
    Ok(())
}

/// mtools without the user's configuration, dates from `sde`.
pub fn mtools_env<'a>(c: &'a mut Command, sde: &str) -> &'a mut Command {
    c.env("MTOOLSRC", "/dev/null")
        .env("MTOOLS_SKIP_CHECK", "1")
        .env("SOURCE_DATE_EPOCH", sde)
        .stdin(std::process::Stdio::null())
}

/// Run a helper; its output is shown only when it fails.
pub fn run_tool(cmd: &mut Command, name: &str) -> Result<()> {
    let out = cmd.output().with_context(|| format!("cannot run {name}"))?;
    if !out.status.success() {
        bail!(
            "{name} failed ({}):\n{}{}\n  fix: `bsdx doctor` checks xorriso and mtools; if they are fine, remove $BSDX_CACHE_DIR/run/media and retry",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}
