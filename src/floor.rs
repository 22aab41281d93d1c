//! The release is the floor: every link and every C compile of a build for
//! FreeBSD R sees R's libc, not Zig's.
//!
//! Zig 0.15 models a FreeBSD release by libc symbol-version node (13.x = up
//! to `FBSD_1.6`), which is wrong for real point releases (13.5 exports
//! `__libc_start1@@FBSD_1.7`, so `-target x86_64-freebsd.13.5` cannot link
//! at all), and plain `-target x86_64-freebsd` links against all of
//! `FBSD_1.7` (14.x), so a configure probe finds `secure_getenv` although
//! 13.5 lacks it. Zig takes a libc installation file from `ZIG_LIBC`
//! instead of its own libc; bsdx generates one per (release, target,
//! libraries) in its cache:
//!
//! * **stubs**: `crt_dir` holds stubs of R's libc family (`libc.so.7`,
//!   `libm`, `libthr`, ... with R's exact exports from bsdx's data, so a
//!   call to a function R lacks fails to link) and crt objects compiled from
//!   the FreeBSD csu sources Zig ships, the way Zig compiles its own
//!   `Scrt1.o` but with `__FreeBSD_version` = R (their ABI note says R) and
//!   split as FreeBSD splits them (`crt1.o`, `Scrt1.o`, `crti.o`, `crtn.o`,
//!   `crtbegin*.o`, `crtend*.o`). They need only `__libc_start1` from libc,
//!   which bsdx checks R exports. Headers: Zig's FreeBSD headers (14.x).
//! * **sysroot**: R's own `usr/include`, crt objects, `libc_nonshared.a` and
//!   libc family, linked into a cache directory (`libc.so` is a linker
//!   script naming them by absolute path, as FreeBSD's names `/lib/libc.so.7`).
//!   A sysroot without headers or crt objects (extracted by an older bsdx)
//!   falls back to Zig's headers and bsdx's crt objects, and says so.
//!
//! Where Zig or bsdx's data cannot express R exactly (15.x: `FBSD_1.8`, new
//! sonames), [`Floor::exact`] is false and [`Floor::note`] says why;
//! `bsdx check` stays the gate.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::Serialize;

use crate::cache;
use crate::model::abi::Library;
use crate::model::libs::Libs;
use crate::model::release::Release;
use crate::model::target::Target;
use crate::toolchain::Zig;

/// The generated libc installation file inside a floor directory.
pub const LIBC_FILE: &str = "zig-libc.txt";
/// Bumped when what bsdx puts in a floor directory changes.
const LAYOUT: &str = "floor-3";

/// The libc family: the libraries Zig provides itself for FreeBSD, which a
/// `ZIG_LIBC` build must find in `crt_dir` instead.
pub const LIBC_FAMILY: &[&str] = &[
    "c",
    "m",
    "thr",
    "dl",
    "rt",
    "execinfo",
    "util",
    "gcc_s",
    "stdthreads",
];

pub use crate::sysroot::devel::CRT_OBJECTS;

/// What the floor of a build is: `bsdx env --json`'s `floor`.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Floor {
    pub release: String,
    pub freebsd_version: u32,
    /// Every link and C compile sees exactly this release's libc: its
    /// exports, crt objects and (with a sysroot) headers.
    pub exact: bool,
    /// One line: what the build sees, and where it is approximate.
    pub note: String,
    /// The libc installation file bsdx generated (`ZIG_LIBC`); none when
    /// bsdx does not aim the build itself (see `note`).
    pub libc_file: Option<PathBuf>,
    /// `include_dir` of that file.
    pub headers: Option<PathBuf>,
    /// `crt_dir` of that file.
    pub crt_dir: Option<PathBuf>,
    /// Where the crt objects come from: `sysroot` or `bsdx` (compiled from
    /// the csu sources Zig ships, for this release).
    pub crt: Option<String>,
}

impl Floor {
    /// Whether the crt objects every link uses carry the NT_FREEBSD_ABI_TAG
    /// note: bsdx's do (assembled outside a section group, so `--gc-sections`
    /// keeps it); Zig's own have none, and a sysroot's `crtbrand` puts it in
    /// a group that `--gc-sections` drops. Where this is false the build
    /// links bsdx's separate note object.
    pub fn crt_carries_note(&self) -> bool {
        self.crt.as_deref() == Some("bsdx") && self.libc_file.is_some()
    }

    /// C compiler flags that make `__FreeBSD__`/`__FreeBSD_version` say the
    /// release (Zig defines them for 14.0 under `-target x86_64-freebsd`).
    pub fn cflags(&self) -> String {
        if self.libc_file.is_none() {
            return String::new();
        }
        format!(
            "-U__FreeBSD__ -D__FreeBSD__={} -U__FreeBSD_version -D__FreeBSD_version={}",
            self.freebsd_version / 100_000,
            self.freebsd_version
        )
    }
}

/// `ZIG_LIBC` set by the user is kept: the floor is then whatever it names.
pub fn yours(floor: &mut Floor, value: &str) {
    floor.exact = false;
    // The crt objects are whatever that file names, not bsdx's.
    floor.crt = None;
    floor.note = format!(
        "ZIG_LIBC is already set here ({value}): kept, so the build sees whatever libc it names; unset it for FreeBSD {}'s ({})",
        floor.release, floor.note
    );
}

/// Zig 0.15's own FreeBSD libc stops at this major release (`FBSD_1.7`).
pub const ZIG_LIBC_CEILING: u32 = 14;

/// Decide (and generate, once, into the cache) the floor for building
/// `target` against `release` with `libs`.
pub fn compute(zig: &Zig, target: &Target, release: &Release, libs: &Libs) -> Result<Floor> {
    let major = release.freebsd_version / 100_000;
    let mut floor = Floor {
        release: release.release.clone(),
        freebsd_version: release.freebsd_version,
        exact: false,
        note: String::new(),
        libc_file: None,
        headers: None,
        crt_dir: None,
        crt: None,
    };
    if !matches!(target.machine, "amd64" | "arm64") {
        floor.note = format!(
            "not aimed for {}: bsdx builds crt objects for amd64 and arm64 only, so Zig's own FreeBSD libc (14.x, up to FBSD_1.7) decides what links; `bsdx check --release {}` is the gate",
            target.triple, release.release
        );
        return Ok(floor);
    }
    let lib_dir = zig
        .lib_dir
        .clone()
        .context("`zig env` did not report Zig's lib directory (lib_dir); bsdx needs Zig's FreeBSD headers and csu sources from it")?;
    match libs {
        Libs::Stubs => {
            let dir = stub_floor(zig, &lib_dir, target, release)?;
            floor.headers = Some(zig_include(&lib_dir, target));
            floor.crt_dir = Some(dir.join("lib"));
            floor.crt = Some("bsdx".into());
            floor.libc_file = Some(dir.join(LIBC_FILE));
            let own_data = release.symbols_are_exact_for(target.machine);
            floor.exact = own_data && major <= ZIG_LIBC_CEILING;
            floor.note = if floor.exact {
                format!(
                    "links see FreeBSD {r}'s libc family (stubs of its exact exports) and crt objects for {r} (ABI note {v}); C code sees Zig's FreeBSD headers (14.x), so a function {r} lacks compiles but fails to link, as a configure probe needs",
                    r = release.release,
                    v = release.freebsd_version
                )
            } else if major > ZIG_LIBC_CEILING {
                format!(
                    "Zig 0.15.2's FreeBSD libc stops at FBSD_1.7 (14.x) and bsdx has no {r} libc symbol data, so links see 14.x's libc family ({data}) under {r}'s sonames; a function new in {r} (FBSD_1.8) fails to link. `bsdx check --release {r}` stays the gate; --sysroot with a {r} base is exact",
                    r = release.release,
                    data = release.symbol_keys(target.machine).join(" + ")
                )
            } else if release.symbols_are_exact() {
                format!(
                    "links see FreeBSD {r}'s libc family from its amd64 exports ({data}: bsdx has no {m} symbol data for {r}, so a symbol only amd64 has may link and one only {m} has may not) and {m} crt objects for {r} (ABI note {v}); `bsdx check --release {r}` stays the gate; --sysroot with a {r} {m} base is exact",
                    r = release.release,
                    m = target.machine,
                    v = release.freebsd_version,
                    data = release.symbol_keys(target.machine).join(" + ")
                )
            } else {
                format!(
                    "links see FreeBSD {r}'s libc family from {data} (not {r}'s own list: a symbol added after {r} within FBSD_1.7 may link) and crt objects for {r}; `bsdx check --release {r}` stays the gate; --sysroot with a {r} base is exact",
                    r = release.release,
                    data = release.symbol_keys(target.machine).join(" + ")
                )
            };
        }
        Libs::Sysroot(root) => {
            let root = std::fs::canonicalize(root)
                .with_context(|| format!("--sysroot {} does not exist", root.display()))?;
            let Some((dir, headers, crt_from_sysroot, missing)) =
                sysroot_floor(zig, &lib_dir, target, release, &root)?
            else {
                floor.note = format!(
                    "not aimed: the sysroot {} has no libc.so.7 in lib/ or usr/lib/, so Zig's own FreeBSD libc (14.x, up to FBSD_1.7) decides what links; `bsdx check --release {}` is the gate",
                    root.display(),
                    release.release
                );
                return Ok(floor);
            };
            floor.exact = headers.starts_with(&root) && crt_from_sysroot;
            floor.headers = Some(headers.clone());
            floor.crt_dir = Some(dir.join("lib"));
            floor.crt = Some(if crt_from_sysroot { "sysroot" } else { "bsdx" }.into());
            floor.libc_file = Some(dir.join(LIBC_FILE));
            floor.note = if floor.exact {
                format!(
                    "links and C compiles see the sysroot's own FreeBSD {} headers, crt objects and libc family ({})",
                    release.release,
                    root.display()
                )
            } else {
                format!(
                    "the sysroot {} lacks {} (extracted by an older bsdx?): using {} instead; links still see its libc family. Re-extract it (`bsdx sysroot fetch`/`extract`) for an exact floor",
                    root.display(),
                    missing.join(", "),
                    if crt_from_sysroot {
                        "Zig's FreeBSD headers (14.x)"
                    } else if headers.starts_with(&root) {
                        "crt objects bsdx compiles for the release"
                    } else {
                        "Zig's FreeBSD headers (14.x) and crt objects bsdx compiles for the release"
                    }
                )
            };
        }
    }
    Ok(floor)
}

/// Zig's FreeBSD headers for `target`: (arch-specific, generic).
fn zig_headers(lib_dir: &Path, target: &Target) -> (PathBuf, PathBuf) {
    let arch = target.zig.split('-').next().unwrap_or("x86_64");
    let inc = lib_dir.join("libc/include");
    (
        inc.join(format!("{arch}-freebsd-none")),
        inc.join("generic-freebsd"),
    )
}

fn zig_include(lib_dir: &Path, target: &Target) -> PathBuf {
    zig_headers(lib_dir, target).0
}

/// The libc installation file Zig reads.
pub fn libc_file_text(include: &Path, sys_include: &Path, crt_dir: &Path) -> String {
    format!(
        "# generated by bsdx: FreeBSD libc for `zig cc` (ZIG_LIBC)\ninclude_dir={}\nsys_include_dir={}\ncrt_dir={}\nmsvc_lib_dir=\nkernel32_lib_dir=\ngcc_dir=\n",
        include.display(),
        sys_include.display(),
        crt_dir.display()
    )
}

/// The release's library `link_name` with the union of every symbol data
/// layer's exports (as `bsdx check` reads them), under the release's soname.
pub fn merged_library(release: &Release, machine: &str, link_name: &str) -> Option<Library> {
    let mut lib = release.library(link_name)?;
    let mut seen: BTreeSet<(String, Option<String>)> = lib
        .symbols
        .iter()
        .map(|s| (s.name.clone(), s.version.clone()))
        .collect();
    for set in release.layers(machine) {
        if let Some(other) = set.by_link_name(link_name) {
            for s in &other.symbols {
                if !seen.insert((s.name.clone(), s.version.clone())) {
                    continue;
                }
                if !s.hidden {
                    // A later layer (a newer release) moved the default
                    // version (qsort_r: FBSD_1.0 -> FBSD_1.7): the old one
                    // stays, as a compat (hidden) version.
                    for old in lib.symbols.iter_mut() {
                        if old.name == s.name && !old.hidden {
                            old.hidden = true;
                        }
                    }
                }
                lib.symbols.push(s.clone());
            }
        }
    }
    lib.symbols
        .sort_by(|a, b| (&a.name, &a.version, a.hidden).cmp(&(&b.name, &b.version, b.hidden)));
    Some(lib)
}

/// The stub floor directory for (release, target), generated once.
fn stub_floor(zig: &Zig, zig_lib: &Path, target: &Target, release: &Release) -> Result<PathBuf> {
    let data: String = release
        .symbol_keys(target.machine)
        .iter()
        .filter_map(|k| crate::model::abi::embedded_text(k))
        .collect();
    let key = cache::key(&[
        LAYOUT.as_bytes(),
        env!("CARGO_PKG_VERSION").as_bytes(),
        crate::model::release::CATALOG_TEXT.as_bytes(),
        data.as_bytes(),
        zig.version.as_bytes(),
        zig_lib.as_os_str().as_encoded_bytes(),
        target.triple.as_bytes(),
        release.release.as_bytes(),
        &release.freebsd_version.to_le_bytes(),
    ]);
    let dir = cache::dir()?.join("floor").join(format!(
        "{}-{}-stubs-{key}",
        release.release, target.machine
    ));
    if dir.join(LIBC_FILE).is_file() {
        return Ok(dir);
    }
    let libs: Vec<Library> = LIBC_FAMILY
        .iter()
        .filter_map(|n| merged_library(release, target.machine, n))
        .collect();
    let libc = libs
        .iter()
        .find(|l| l.link_name() == "c")
        .with_context(|| format!("bsdx's data has no libc for FreeBSD {}", release.release))?;
    if !libc.symbols.iter().any(|s| s.name == "__libc_start1") {
        bail!(
            "FreeBSD {}'s libc (bsdx's data) has no __libc_start1, which the crt objects bsdx builds call; build with --sysroot (the release's own crt objects)",
            release.release
        );
    }
    eprintln!(
        "bsdx: generating FreeBSD {} {} libc stubs and crt objects in {}",
        release.release,
        target.machine,
        dir.display()
    );
    let staging = cache::staging_dir(&dir)?;
    let out = staging.path().join("lib");
    crate::stubs::generate(zig, release, target, &libs, &out)?;
    symlink_if_absent("libthr.so", &out.join("libpthread.so"))?;
    crt_objects(zig, zig_lib, target, release.freebsd_version, &out)?;
    let (inc, sys) = zig_headers(zig_lib, target);
    std::fs::write(
        staging.path().join(LIBC_FILE),
        libc_file_text(&inc, &sys, &dir.join("lib")),
    )?;
    match cache::publish(staging, &dir) {
        Ok(()) => Ok(dir),
        Err(_) if dir.join(LIBC_FILE).is_file() => Ok(dir),
        Err(e) => Err(e),
    }
}

fn symlink_if_absent(target: &str, link: &Path) -> Result<()> {
    if std::fs::symlink_metadata(link).is_err() {
        std::os::unix::fs::symlink(target, link)
            .with_context(|| format!("cannot create {}", link.display()))?;
    }
    Ok(())
}

/// FreeBSD amd64's `crti.S` and `crtn.S` (Zig ships neither): the `_init`
/// and `_fini` prologue and epilogue.
const CRTI_AMD64: &str = "/* FreeBSD amd64 crti.S (generated by bsdx) */\n\
    \t.section .init,\"ax\",@progbits\n\t.align 4\n\t.globl _init\n\t.type _init,@function\n_init:\n\tsubq $8,%rsp\n\
    \t.section .fini,\"ax\",@progbits\n\t.align 4\n\t.globl _fini\n\t.type _fini,@function\n_fini:\n\tsubq $8,%rsp\n\
    \t.section .note.GNU-stack,\"\",%progbits\n";
const CRTN_AMD64: &str = "/* FreeBSD amd64 crtn.S (generated by bsdx) */\n\
    \t.section .init,\"ax\",@progbits\n\taddq $8,%rsp\n\tret\n\
    \t.section .fini,\"ax\",@progbits\n\taddq $8,%rsp\n\tret\n\
    \t.section .note.GNU-stack,\"\",%progbits\n";
/// FreeBSD arm64's `crti.S` and `crtn.S`: `_init`/`_fini` keep the link
/// register in a 16-byte frame.
const CRTI_AARCH64: &str = "/* FreeBSD arm64 crti.S (generated by bsdx) */\n\
    \t.section .init,\"ax\",%progbits\n\t.align 4\n\t.globl _init\n\t.type _init,%function\n_init:\n\tsub sp, sp, #16\n\tstr x30, [sp]\n\
    \t.section .fini,\"ax\",%progbits\n\t.align 4\n\t.globl _fini\n\t.type _fini,%function\n_fini:\n\tsub sp, sp, #16\n\tstr x30, [sp]\n\
    \t.section .note.GNU-stack,\"\",%progbits\n";
const CRTN_AARCH64: &str = "/* FreeBSD arm64 crtn.S (generated by bsdx) */\n\
    \t.section .init,\"ax\",%progbits\n\tldr x30, [sp]\n\tadd sp, sp, #16\n\tret\n\
    \t.section .fini,\"ax\",%progbits\n\tldr x30, [sp]\n\tadd sp, sp, #16\n\tret\n\
    \t.section .note.GNU-stack,\"\",%progbits\n";

/// Compile the crt objects for `freebsd_version` into `out`, from the
/// FreeBSD csu sources in Zig's lib directory, with the flags Zig's own
/// `src/libs/freebsd.zig` uses for its `Scrt1.o`, linked (`ld -r`) the way
/// FreeBSD's `lib/csu` Makefiles link them.
pub fn crt_objects(
    zig: &Zig,
    zig_lib: &Path,
    target: &Target,
    freebsd_version: u32,
    out: &Path,
) -> Result<()> {
    let csu = zig_lib.join("libc/freebsd/lib/csu");
    let (arch, crti, crtn) = match target.machine {
        "amd64" => ("amd64", CRTI_AMD64, CRTN_AMD64),
        "arm64" => ("aarch64", CRTI_AARCH64, CRTN_AARCH64),
        other => bail!("bsdx builds crt objects for amd64 and arm64 only (not {other})"),
    };
    let (inc, sys) = zig_headers(zig_lib, target);
    let work = tempfile::tempdir().context("cannot create a temporary directory")?;
    let w = work.path();
    let includes: Vec<String> = [
        inc,
        sys,
        csu.join(arch),
        csu.join("common"),
        zig_lib.join("libc/freebsd/lib/libc/include"),
    ]
    .iter()
    .flat_map(|d| ["-I".to_string(), d.display().to_string()])
    .collect();
    let version = [
        "-U__FreeBSD_version".to_string(),
        format!("-D__FreeBSD_version={freebsd_version}"),
        "-U__FreeBSD__".to_string(),
        format!("-D__FreeBSD__={}", freebsd_version / 100_000),
    ];
    let cc = |src: &Path, obj: &str, extra: &[&str]| -> Result<PathBuf> {
        let dest = w.join(obj);
        let output = zig
            .command()
            .current_dir(w)
            .args(["cc", "-target", target.zig, "-c", "-nostdinc"])
            // No debug info: `zig cc` emits it by default, and it would
            // carry this temporary directory (DW_AT_comp_dir) and Zig's
            // install path into every binary linked with debug info kept
            // (`strip = "none"`, `debug = true`), so the same source would
            // give different bytes on another machine or after the cache
            // is rebuilt. FreeBSD's own crt objects carry none either.
            // (Zig's own runtimes, compiler-rt among them, still carry Zig's
            // paths in their debug info: see the README's "Reproducible
            // builds".)
            .args(["-g0", "-DSTRIP_FBSDID", "-Qunused-arguments", "-w"])
            .args(&version)
            .args(&includes)
            .args(extra)
            .arg("-o")
            .arg(&dest)
            .arg(src)
            .output()
            .with_context(|| format!("cannot run {}", zig.display()))?;
        if !output.status.success() {
            bail!(
                "zig cc failed on {} ({obj}):\n{}",
                src.display(),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        Ok(dest)
    };
    const C: &[&str] = &[
        "-O2",
        "-fno-common",
        "-std=gnu99",
        "-fno-omit-frame-pointer",
        "-fno-asynchronous-unwind-tables",
    ];
    let with = |a: &[&'static str], b: &[&'static str]| -> Vec<&'static str> {
        a.iter().chain(b).copied().collect()
    };
    let static_ = ["-fno-pic", "-fno-pie"];
    let pic = ["-fPIC", "-DPIC"];
    let common = csu.join("common");
    // FreeBSD's crtbrand.S puts the ABI tag in a COMDAT group
    // (`.freebsd.noteG`), and lld's `--gc-sections` (which `zig cc -O2` and
    // rustc pass) drops notes in groups: the note is assembled outside one.
    let brand = w.join("crtbrand.s");
    std::fs::write(&brand, crate::abitag::source(freebsd_version))?;
    let notes = [
        cc(&brand, "crtbrand.o", &[])?,
        cc(
            &common.join("feature_note.S"),
            "feature_note.o",
            &["-DLOCORE"],
        )?,
        cc(
            &common.join("ignore_init_note.S"),
            "ignore_init_note.o",
            &["-DLOCORE"],
        )?,
    ];
    let crt1 = csu.join(arch);
    for (name, flags, gcrt) in [
        ("crt1.o", &static_[..], false),
        ("Scrt1.o", &pic[..], false),
        ("gcrt1.o", &static_[..], true),
    ] {
        let mut cflags = with(C, flags);
        let mut aflags = with(&["-DLOCORE"], flags);
        if gcrt {
            cflags.push("-DGCRT");
            aflags.push("-DGCRT");
        }
        let c = cc(&crt1.join("crt1_c.c"), &format!("{name}.c.o"), &cflags)?;
        let s = cc(&crt1.join("crt1_s.S"), &format!("{name}.s.o"), &aflags)?;
        let mut parts = vec![c, s];
        parts.extend(notes.iter().cloned());
        relocatable(zig, &parts, &out.join(name))?;
    }
    for (name, src, flags) in [
        ("crtbegin.o", "crtbegin.c", &static_[..]),
        ("crtbeginT.o", "crtbegin.c", &static_[..]),
        ("crtbeginS.o", "crtbegin.c", &["-fPIC", "-DSHARED"][..]),
        ("crtend.o", "crtend.c", &static_[..]),
        ("crtendS.o", "crtend.c", &["-fPIC", "-DSHARED"][..]),
    ] {
        let o = cc(&common.join(src), name, &with(C, flags))?;
        std::fs::copy(&o, out.join(name))?;
    }
    for (name, text) in [("crti", crti), ("crtn", crtn)] {
        let s = w.join(format!("{name}.s"));
        std::fs::write(&s, text)?;
        let o = cc(&s, &format!("{name}.o"), &[])?;
        std::fs::copy(&o, out.join(format!("{name}.o")))?;
    }
    Ok(())
}

/// `ld -r` (Zig's lld) of `parts` into `dest`.
fn relocatable(zig: &Zig, parts: &[PathBuf], dest: &Path) -> Result<()> {
    let output = zig
        .command()
        .arg("ld.lld")
        .arg("-r")
        .arg("-o")
        .arg(dest)
        .args(parts)
        .output()
        .with_context(|| format!("cannot run {}", zig.display()))?;
    if !output.status.success() {
        bail!(
            "zig ld.lld -r failed for {}:\n{}",
            dest.display(),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(())
}

/// What a sysroot has of the files a floor needs: headers and crt objects.
pub struct SysrootDevel {
    pub include: Option<PathBuf>,
    /// crt objects present, by name.
    pub crt: Vec<String>,
    pub libc_nonshared: Option<PathBuf>,
}

/// Look for `usr/include` (with `stdio.h`), the crt objects and
/// `libc_nonshared.a` in `usr/lib` of `root`.
pub fn sysroot_devel(root: &Path) -> SysrootDevel {
    let include = root.join("usr/include");
    let lib = root.join("usr/lib");
    SysrootDevel {
        include: include.join("stdio.h").is_file().then_some(include),
        crt: CRT_OBJECTS
            .iter()
            .filter(|o| lib.join(o).is_file())
            .map(|o| o.to_string())
            .collect(),
        libc_nonshared: Some(lib.join("libc_nonshared.a")).filter(|p| p.is_file()),
    }
}

/// The crt objects Zig links (see [`CRT_OBJECTS`]; `gcrt1.o` only for `-pg`).
const CRT_NEEDED: &[&str] = &[
    "crt1.o",
    "Scrt1.o",
    "crti.o",
    "crtn.o",
    "crtbegin.o",
    "crtbeginS.o",
    "crtend.o",
    "crtendS.o",
];

type SysrootFloor = (PathBuf, PathBuf, bool, Vec<String>);

/// The floor directory for a sysroot: (dir, include dir, crt objects from the
/// sysroot, what the sysroot lacks).
fn sysroot_floor(
    zig: &Zig,
    zig_lib: &Path,
    target: &Target,
    release: &Release,
    root: &Path,
) -> Result<Option<SysrootFloor>> {
    let devel = sysroot_devel(root);
    let crt_ok = CRT_NEEDED.iter().all(|o| devel.crt.iter().any(|c| c == o));
    let mut missing = Vec::new();
    if devel.include.is_none() {
        missing.push("usr/include".to_string());
    }
    if !crt_ok {
        missing.push("the crt objects (usr/lib/crt1.o, Scrt1.o, crti.o, ...)".to_string());
    }
    let mut family = Vec::new();
    for lib in crate::sysroot::shared_libraries(root) {
        let link = crate::model::abi::link_name(&lib.soname).to_string();
        if LIBC_FAMILY.contains(&link.as_str()) && !family.iter().any(|(l, _, _)| *l == link) {
            family.push((link, lib.soname, lib.real));
        }
    }
    if !family.iter().any(|(l, _, _)| l == "c") {
        return Ok(None);
    }
    let mut listing = vec![format!("{}", root.display())];
    for (link, soname, real) in &family {
        let size = std::fs::metadata(real).map(|m| m.len()).unwrap_or(0);
        listing.push(format!("{link}\0{soname}\0{}\0{size}", real.display()));
    }
    listing.push(format!(
        "{:?}\0{}\0{:?}",
        devel.include, crt_ok, devel.libc_nonshared
    ));
    let key = cache::key(&[
        LAYOUT.as_bytes(),
        env!("CARGO_PKG_VERSION").as_bytes(),
        zig.version.as_bytes(),
        zig_lib.as_os_str().as_encoded_bytes(),
        target.triple.as_bytes(),
        release.release.as_bytes(),
        listing.join("\n").as_bytes(),
    ]);
    let dir = cache::dir()?.join("floor").join(format!(
        "{}-{}-sysroot-{key}",
        release.release, target.machine
    ));
    let (inc, sys) = match &devel.include {
        Some(i) => (i.clone(), i.clone()),
        None => zig_headers(zig_lib, target),
    };
    if dir.join(LIBC_FILE).is_file() {
        return Ok(Some((dir, inc, crt_ok, missing)));
    }
    let staging = cache::staging_dir(&dir)?;
    let out = staging.path().join("lib");
    std::fs::create_dir(&out)?;
    let final_lib = dir.join("lib");
    for (link, soname, real) in &family {
        std::os::unix::fs::symlink(real, out.join(soname))?;
        let dev = format!("lib{link}.so");
        if link == "c" {
            let nonshared = match &devel.libc_nonshared {
                Some(a) => {
                    std::os::unix::fs::symlink(a, out.join("libc_nonshared.a"))?;
                    format!(" {}", final_lib.join("libc_nonshared.a").display())
                }
                None => String::new(),
            };
            std::fs::write(
                out.join(&dev),
                format!(
                    "/* generated by bsdx: FreeBSD's libc.so, naming the sysroot's files */\nGROUP ( {}{nonshared} )\n",
                    final_lib.join(soname).display()
                ),
            )?;
        } else if &dev != soname {
            symlink_if_absent(soname, &out.join(dev))?;
        }
    }
    if family.iter().any(|(l, _, _)| l == "thr") {
        symlink_if_absent("libthr.so", &out.join("libpthread.so"))?;
    }
    if crt_ok {
        for o in &devel.crt {
            std::os::unix::fs::symlink(root.join("usr/lib").join(o), out.join(o))?;
        }
    } else {
        crt_objects(zig, zig_lib, target, release.freebsd_version, &out)?;
    }
    std::fs::write(
        staging.path().join(LIBC_FILE),
        libc_file_text(&inc, &sys, &final_lib),
    )?;
    match cache::publish(staging, &dir) {
        Ok(()) => {}
        Err(_) if dir.join(LIBC_FILE).is_file() => {}
        Err(e) => return Err(e),
    }
    Ok(Some((dir, inc, crt_ok, missing)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::release::catalog;

    #[test]
    fn merged_libc_follows_the_release() {
        let c135 = merged_library(catalog().get("13.5").unwrap(), "amd64", "c").unwrap();
        assert_eq!(c135.soname, "libc.so.7");
        assert!(c135.symbols.iter().any(|s| s.name == "__libc_start1"));
        assert!(!c135.symbols.iter().any(|s| s.name == "secure_getenv"));
        let c142 = merged_library(catalog().get("14.2").unwrap(), "amd64", "c").unwrap();
        assert!(c142.symbols.iter().any(|s| s.name == "secure_getenv"));
        let qsort_r: Vec<_> = c142
            .symbols
            .iter()
            .filter(|s| s.name == "qsort_r")
            .collect();
        assert_eq!(qsort_r.len(), 2, "{qsort_r:?}");
        assert_eq!(
            qsort_r
                .iter()
                .filter(|s| !s.hidden)
                .map(|s| s.version.as_deref())
                .collect::<Vec<_>>(),
            [Some("FBSD_1.7")],
            "one default version: the newer release's"
        );
        let u150 = merged_library(catalog().get("15.0").unwrap(), "amd64", "util").unwrap();
        assert_eq!(u150.soname, "libutil.so.10");
    }

    #[test]
    fn cflags_name_the_release_and_yours_is_kept() {
        let mut f = Floor {
            release: "13.5".into(),
            freebsd_version: 1305000,
            exact: true,
            note: "n".into(),
            libc_file: None,
            headers: None,
            crt_dir: None,
            crt: None,
        };
        assert_eq!(f.cflags(), "", "nothing when bsdx does not aim the build");
        f.libc_file = Some("/c/zig-libc.txt".into());
        assert_eq!(
            f.cflags(),
            "-U__FreeBSD__ -D__FreeBSD__=13 -U__FreeBSD_version -D__FreeBSD_version=1305000"
        );
        f.crt = Some("bsdx".into());
        assert!(f.crt_carries_note());
        yours(&mut f, "/mine");
        assert!(!f.exact);
        assert!(!f.crt_carries_note(), "your ZIG_LIBC names your crt");
        assert!(
            f.note.starts_with("ZIG_LIBC is already set here (/mine)"),
            "{}",
            f.note
        );
    }

    #[test]
    fn libc_file_layout() {
        let t = libc_file_text(Path::new("/i"), Path::new("/s"), Path::new("/c"));
        for line in [
            "include_dir=/i\n",
            "sys_include_dir=/s\n",
            "crt_dir=/c\n",
            "msvc_lib_dir=\n",
            "kernel32_lib_dir=\n",
            "gcc_dir=\n",
        ] {
            assert!(t.contains(line), "{t}");
        }
    }
}
