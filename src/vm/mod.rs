//! `bsdx run` and `bsdx test`: boot the real FreeBSD kernel and base of a
//! release under QEMU, run one program in it, stream its output and return
//! its exit status, unattended.
//!
//! * [`inputs`]: kernel.txz and base.txz, fetched once and verified (base
//!   against the pins, kernel against the lock file).
//! * [`tree`]: the parts of them a boot needs, extracted into the cache.
//! * [`lock`]: the lock file, `bsdx.lock`: kernel.txz's SHA-256 from the
//!   release's MANIFEST, trust on first use.
//! * [`root`]: what the boot ISO's root holds (loader, kernel, the guest's
//!   tools, the libraries they and the program need).
//! * [`media`]: the boot ISO, built deterministically and cached per inputs
//!   and libraries.
//! * [`guest`]: what runs in FreeBSD: loader.conf, bsdx's init script, the
//!   job, and the tools and files of base.txz the guest keeps.
//! * [`data`]: the per-run FAT data disk (program, job, results, `--mount`).
//! * [`qemu`]: the command line per machine and accelerator, the KVM probe.
//! * `session`: one boot under QEMU, the console read as it arrives, and
//!   the run's outcome.
//! * [`report`]: what a run reports (`--json`) and its text view.
//! * [`console`]: the serial console protocol and FreeBSD's messages.
//! * [`tools`]: the host programs and their Debian packages.
//!
//! One boot per program: at about 10 s from power-on to the program under
//! software emulation (FACTS.md §8), a test binary costs 10 s more than on
//! FreeBSD itself, which a crate with a handful of test binaries can live
//! with; a VM kept alive between binaries would need a control channel
//! into the guest and would let one binary's leftovers (files, processes,
//! a wedged kernel) change the next one's result.

pub mod console;
pub mod data;
pub mod guest;
pub mod inputs;
pub mod lock;
pub mod media;
pub mod qemu;
pub mod report;
pub mod root;
mod session;
pub mod tools;
pub mod tree;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::exit::{self, Exit};
use crate::model::target::Target;

use qemu::{Accel, AccelChoice};
pub use report::{InputReport, MediaReport, Outcome, Report, SignalReport};

/// Version of `bsdx run --json`.
pub const SCHEMA: u32 = 1;
/// Seconds a run may take, boot included, unless `--timeout` says otherwise.
pub const DEFAULT_TIMEOUT: u64 = 300;

/// Everything a run needs to know.
#[derive(Debug, Clone)]
pub struct Options {
    pub target: Target,
    pub release: String,
    pub binary: PathBuf,
    pub args: Vec<String>,
    pub timeout: Duration,
    pub mount: Option<PathBuf>,
    pub root: bool,
    /// The program's guest environment (`--env`), not the cross environment.
    pub guest_env: Vec<(String, String)>,
    pub accel: AccelChoice,
    pub memory_mb: u32,
    /// Guest CPUs; `None`: [`qemu::default_cpus`] for the accelerator used.
    pub cpus: Option<u32>,
    pub sources: inputs::Sources,
    /// Collect the program's output into the report instead of streaming it.
    pub capture: bool,
    /// Copy the raw console to stderr as it arrives.
    pub console: bool,
    pub quiet: bool,
    /// Build everything and print the QEMU command line, but do not boot.
    pub dry_run: bool,
}

/// What an ELF program looks like, from the host.
struct Program {
    needed: Vec<String>,
}

fn inspect(path: &Path, target: &Target, explicit: bool) -> Result<(Program, Target)> {
    let meta =
        std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
    if !meta.is_file() {
        bail!(
            "{} is not a file\n  fix: give `bsdx run` the path of a FreeBSD program (an executable file)",
            path.display()
        );
    }
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let Ok(elf) = goblin::elf::Elf::parse(&bytes) else {
        // A script: it runs under FreeBSD's sh if it says so.
        return Ok((Program { needed: vec![] }, *target));
    };
    let found = Target::from_e_machine(elf.header.e_machine);
    let target = match (found, explicit) {
        (Some(f), false) => f,
        (Some(f), true) if f != *target => bail!(
            "{} is an {} program, not {}\n  fix: pass --target {} (or leave --target out: bsdx reads it from the file)",
            path.display(),
            f.machine,
            target.triple,
            f.triple
        ),
        (None, _) => bail!(
            "{} is an ELF file for a machine bsdx cannot run (e_machine {}); bsdx runs amd64 and arm64 FreeBSD programs\n  fix: build it for x86_64-unknown-freebsd or aarch64-unknown-freebsd (`bsdx build --target ...`)",
            path.display(),
            elf.header.e_machine
        ),
        _ => *target,
    };
    if let Some(interp) = elf.interpreter.filter(|i| *i != "/libexec/ld-elf.so.1") {
        eprintln!(
            "bsdx: warning: {} asks for the interpreter {interp}, not FreeBSD's /libexec/ld-elf.so.1: is it a FreeBSD program? (`bsdx check` tells)",
            path.display()
        );
    }
    let needed = elf.libraries.iter().map(|s| s.to_string()).collect();
    Ok((Program { needed }, target))
}

/// Run it. `explicit_target`: the user chose `--target` (else the file decides).
pub fn run(mut opts: Options, explicit_target: bool) -> Result<Report> {
    let started = Instant::now();
    let (program, target) = inspect(&opts.binary, &opts.target, explicit_target)?;
    opts.target = target;
    let qemu_tool = tools::qemu(&target);
    let qemu_path = match tools::find(&qemu_tool) {
        Ok(p) => p,
        Err(e) if opts.dry_run => {
            eprintln!("bsdx: warning: {e}");
            PathBuf::from(qemu_tool.name)
        }
        Err(e) => return Err(run_failed(e.to_string())),
    };
    let firmware = match target.machine {
        "amd64" => None,
        _ => Some(tools::firmware(Some(&qemu_path)).map_err(|e| run_failed(e.to_string()))?),
    };
    let (kernel, base) = inputs::acquire(&opts.release, &target, &opts.sources)?;
    let plan = root::plan(&target, &kernel, &base, &program.needed)?;
    let media = media::prepare(&target, &opts.release, &kernel, &base, &plan)?;
    let name = data::program_name(&opts.binary);
    for m in &plan.missing {
        eprintln!(
            "bsdx: warning: {name} needs {m}, which FreeBSD {}'s base does not have: ld-elf.so.1 will refuse to start it",
            opts.release
        );
    }
    let run_dir = if opts.dry_run {
        let parent = crate::cache::dir()?.join("run");
        std::fs::create_dir_all(&parent)?;
        tempfile::Builder::new()
            .prefix(".dry-run-")
            .tempdir_in(&parent)?
    } else {
        tempfile::Builder::new().prefix("bsdx-run-").tempdir()?
    };
    let image = run_dir.path().join("data.img");
    data_disk(&opts, &name, &image)?;
    let (accel, accel_note) = qemu::choose(opts.accel, &target, &qemu_path, firmware.as_deref());
    let machine = qemu::Machine {
        target,
        accel,
        memory_mb: opts.memory_mb,
        cpus: opts.cpus.unwrap_or(qemu::default_cpus(accel)),
        firmware,
    };
    let args = qemu::args(&machine, &media.iso, &image);
    let line = qemu::shell_line(&qemu_path, &args);
    let inputs = [&kernel, &base].map(InputReport::of).to_vec();
    let media_report = MediaReport {
        iso: media.iso.clone(),
        cached: media.cached,
        libraries: plan.libraries.clone(),
        missing: plan.missing.clone(),
    };
    let mut report = Report::before_boot(&opts, accel, accel_note.clone(), media_report, inputs);
    report.cpus = machine.cpus;
    report.qemu = line.clone();
    if opts.dry_run {
        let kept = run_dir.keep();
        let dest = kept.parent().expect("has a parent").join("dry-run");
        let _ = std::fs::remove_dir_all(&dest);
        std::fs::rename(&kept, &dest)?;
        report.qemu = line.replace(&kept.display().to_string(), &dest.display().to_string());
        report.seconds = started.elapsed().as_secs_f64();
        return Ok(report);
    }
    if let (Accel::Tcg, Some(why), false) = (accel, &accel_note, opts.quiet) {
        eprintln!("bsdx: note: {why}: using QEMU's software emulation (TCG), so FreeBSD takes a while to boot");
    }
    if !opts.quiet && !opts.console {
        eprintln!(
            "bsdx: booting FreeBSD {} {} ({}, {} MiB, {} CPU{}; --console shows the boot)",
            opts.release,
            target.machine,
            match accel {
                Accel::Kvm => "KVM",
                Accel::Tcg => "TCG",
            },
            opts.memory_mb,
            machine.cpus,
            if machine.cpus == 1 { "" } else { "s" }
        );
    }
    let session = session::boot(&qemu_path, &args, &opts, &name)?;
    let log = run_dir.path().join("console.log");
    std::fs::write(&log, &session.log).ok();
    session::finish(&mut report, session, &opts, &image, &log, started)?;
    Ok(report)
}

/// The run's data disk at `image`: the program, its job (arguments and
/// guest environment) and the `--mount` directory.
fn data_disk(opts: &Options, name: &str, image: &Path) -> Result<()> {
    let mut guest_env = opts.guest_env.clone();
    if opts.mount.is_some() && std::env::var_os("CARGO_MANIFEST_DIR").is_some() {
        // cargo's test runner: the package is mounted where the program runs.
        guest_env.retain(|(k, _)| k != "CARGO_MANIFEST_DIR");
        guest_env.push(("CARGO_MANIFEST_DIR".into(), guest::MOUNT.into()));
    }
    let job = guest::Job {
        program: name.to_string(),
        args: opts.args.clone(),
        guest_env,
        root: opts.root,
    };
    let copied = data::create(
        image,
        &guest::job(&job),
        &opts.binary,
        name,
        opts.mount.as_deref(),
    )?;
    if let Some(m) = &opts.mount {
        if !opts.quiet {
            eprintln!(
                "bsdx: {} copied to {} in the guest ({} files, {})",
                std::path::absolute(m)
                    .unwrap_or_else(|_| m.clone())
                    .display(),
                guest::MOUNT,
                copied.files,
                indicatif::HumanBytes(copied.bytes)
            );
        }
        for s in &copied.skipped {
            eprintln!("bsdx: note: not copied: {s}");
        }
    }
    Ok(())
}

pub(crate) fn run_failed(message: String) -> anyhow::Error {
    Exit {
        code: exit::RUN_FAILED,
        message,
    }
    .into()
}
