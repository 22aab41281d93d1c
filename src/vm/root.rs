//! The boot ISO's root, decided before anything is written: FreeBSD's
//! `/boot` from base.txz with bsdx's `loader.conf`, the kernel (and a few
//! modules) from kernel.txz, `ld-elf.so.1`, the guest's tools and `/etc`
//! basics ([`super::guest::REQUIRED_TOOLS`] and its neighbours), and every
//! library those tools and the program need, following `DT_NEEDED` the way
//! `ld-elf.so.1` searches (`/lib`, then `/usr/lib`). [`super::media`]
//! writes it.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};

use crate::model::target::Target;

use super::guest;
use super::guest::{ETC_FILES, EXTRA_TOOLS, REQUIRED_TOOLS};
use super::tree::Tree;

/// Where `ld-elf.so.1` looks for libraries without hints, in order.
const LIBRARY_DIRS: &[&str] = &["lib", "usr/lib"];
/// Empty directories the guest mounts things on.
const MOUNT_POINTS: &[&str] = &["dev", "mnt", "tmp", "var"];

/// One path on the root, as the media manifest lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum RootEntry {
    Dir { path: String },
    File { path: String, size: u64, mode: u32 },
    Link { path: String, target: String },
}

/// Where a root file comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Source {
    Base(String),
    Kernel(String),
    Generated(Vec<u8>),
    Link(String),
}

/// What goes on the ISO, before it is written.
#[derive(Debug, Default)]
pub struct Plan {
    pub(super) files: BTreeMap<String, (Source, u32)>,
    pub(super) dirs: BTreeSet<String>,
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
    pub(super) fn listing(&self, kernel: &Tree, base: &Tree) -> Vec<RootEntry> {
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

    pub(super) fn all_dirs(&self) -> BTreeSet<String> {
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
