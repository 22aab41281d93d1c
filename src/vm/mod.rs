//! `bsdx run` and `bsdx test`: boot the real FreeBSD kernel and base of a
//! release under QEMU, run one program in it, stream its output and return
//! its exit status, unattended.
//!
//! * [`inputs`]: kernel.txz and base.txz, fetched once and verified (base
//!   against the pins, kernel against the lock file), the needed parts
//!   extracted into the cache.
//! * [`lock`]: the lock file, `bsdx.lock`: kernel.txz's SHA-256 from the
//!   release's MANIFEST, trust on first use.
//! * [`media`]: the boot ISO (loader, kernel, trimmed root), deterministic,
//!   cached per inputs and libraries.
//! * [`guest`]: what runs in FreeBSD: loader.conf, bsdx's init script, the
//!   job, and the tools and files of base.txz the guest keeps.
//! * [`data`]: the per-run FAT data disk (program, job, results, `--mount`).
//! * [`qemu`]: the command line per machine and accelerator, the KVM probe.
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
pub mod tools;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde::Serialize;

use crate::check::Finding;
use crate::exit::{self, Exit};
use crate::model::release::catalog;
use crate::model::target::Target;

use console::{Event, Milestone, Refusal, Stage, Summary};
use qemu::{Accel, AccelChoice};

/// Version of `bsdx run --json`.
pub const SCHEMA: u32 = 1;
/// Seconds a run may take, boot included, unless `--timeout` says otherwise.
pub const DEFAULT_TIMEOUT: u64 = 300;
/// How long QEMU gets to power off after the program's exit status arrived.
const AFTER_EXIT: Duration = Duration::from_secs(30);
/// How long a panicking kernel gets to print its backtrace and reboot.
const AFTER_PANIC: Duration = Duration::from_secs(15);

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
    pub cpus: u32,
    pub sources: inputs::Sources,
    /// Collect the program's output into the report instead of streaming it.
    pub capture: bool,
    /// Copy the raw console to stderr as it arrives.
    pub console: bool,
    pub quiet: bool,
    /// Build everything and print the QEMU command line, but do not boot.
    pub dry_run: bool,
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// The program exited; `program_exit` is its status.
    Exited,
    /// The program was killed by a signal (`program_exit` = 128 + N).
    Signaled,
    /// `--timeout` passed first.
    Timeout,
    /// The kernel panicked.
    Panic,
    /// FreeBSD stopped at a prompt (loader, mountroot) or its boot blocks failed.
    Stuck,
    /// bsdx's guest script could not run the program.
    GuestError,
    /// The VM stopped without the program's exit status.
    NoStatus,
    /// QEMU could not run the VM.
    QemuFailed,
    /// `--dry-run`: built, not booted.
    DryRun,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct SignalReport {
    pub number: i32,
    pub name: String,
    pub core_dumped: bool,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct InputReport {
    pub file: String,
    pub sha256: String,
    pub source: String,
    pub trust: inputs::Trust,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct MediaReport {
    pub iso: PathBuf,
    pub cached: bool,
    /// The program's libraries found in base.txz.
    pub libraries: Vec<String>,
    /// The program's libraries base.txz does not have.
    pub missing: Vec<String>,
}

/// What `bsdx run --json` prints.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Report {
    pub schema: u32,
    pub release: String,
    pub target: String,
    pub program: PathBuf,
    pub args: Vec<String>,
    pub outcome: Outcome,
    /// bsdx's own exit status: the program's, or 124 (timeout) / 125 (the
    /// VM could not run it).
    pub exit_code: i32,
    /// The program's exit status as FreeBSD's sh reports it (128+N for signal N).
    pub program_exit: Option<i32>,
    pub signal: Option<SignalReport>,
    /// How far the boot got.
    pub stage: Option<Stage>,
    /// What went wrong, in words (none when the program ran).
    pub message: Option<String>,
    /// What `ld-elf.so.1` refused.
    pub refusals: Vec<Refusal>,
    /// `bsdx check` findings that name what the loader refused.
    pub predicted: Vec<Finding>,
    pub accel: Accel,
    /// Why KVM was not used.
    pub accel_note: Option<String>,
    /// Seconds from starting QEMU to bsdx's guest script.
    pub boot_seconds: Option<f64>,
    pub seconds: f64,
    /// The program's stdout (only with --json; otherwise it was streamed).
    pub stdout: Option<String>,
    pub stderr: Option<String>,
    /// The console's last lines (escape sequences removed).
    pub console_tail: Vec<String>,
    /// The whole console, kept when the run failed.
    pub console_log: Option<PathBuf>,
    /// QEMU's own messages (stderr).
    pub qemu_messages: String,
    pub media: MediaReport,
    pub inputs: Vec<InputReport>,
    /// The QEMU command line, for a shell.
    pub qemu: String,
}

/// What an ELF program looks like, from the host.
struct Program {
    needed: Vec<String>,
}

fn inspect(path: &Path, target: &Target, explicit: bool) -> Result<(Program, Target)> {
    let meta =
        std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
    if !meta.is_file() {
        bail!("{} is not a file", path.display());
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
            "{} is an ELF file for a machine bsdx cannot run (e_machine {}); bsdx runs amd64 and arm64 FreeBSD programs",
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
    let plan = media::plan(&target, &kernel, &base, &program.needed)?;
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
    let mut guest_env = opts.guest_env.clone();
    if opts.mount.is_some() && std::env::var_os("CARGO_MANIFEST_DIR").is_some() {
        // cargo's test runner: the package is mounted where the program runs.
        guest_env.retain(|(k, _)| k != "CARGO_MANIFEST_DIR");
        guest_env.push(("CARGO_MANIFEST_DIR".into(), guest::MOUNT.into()));
    }
    let job = guest::Job {
        program: name.clone(),
        args: opts.args.clone(),
        guest_env,
        root: opts.root,
    };
    let copied = data::create(
        &image,
        &guest::job(&job),
        &opts.binary,
        &name,
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
    let (accel, accel_note) = qemu::choose(opts.accel, &target, &qemu_path, firmware.as_deref());
    let machine = qemu::Machine {
        target,
        accel,
        memory_mb: opts.memory_mb,
        cpus: opts.cpus,
        firmware,
    };
    let args = qemu::args(&machine, &media.iso, &image);
    let line = qemu::shell_line(&qemu_path, &args);
    let mut report = Report {
        schema: SCHEMA,
        release: opts.release.clone(),
        target: target.triple.to_string(),
        program: opts.binary.clone(),
        args: opts.args.clone(),
        outcome: Outcome::DryRun,
        exit_code: exit::OK,
        program_exit: None,
        signal: None,
        stage: None,
        message: None,
        refusals: vec![],
        predicted: vec![],
        accel,
        accel_note: accel_note.clone(),
        boot_seconds: None,
        seconds: 0.0,
        stdout: None,
        stderr: None,
        console_tail: vec![],
        console_log: None,
        qemu_messages: String::new(),
        media: MediaReport {
            iso: media.iso.clone(),
            cached: media.cached,
            libraries: plan.libraries.clone(),
            missing: plan.missing.clone(),
        },
        inputs: [&kernel, &base]
            .iter()
            .map(|t| InputReport {
                file: t.marker.dist.file().to_string(),
                sha256: t.marker.sha256.clone(),
                source: t.marker.source.clone(),
                trust: t.marker.trust.clone(),
            })
            .collect(),
        qemu: line.clone(),
    };
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
            "bsdx: booting FreeBSD {} {} ({}, {} MiB, {} CPUs; --console shows the boot)",
            opts.release,
            target.machine,
            match accel {
                Accel::Kvm => "KVM",
                Accel::Tcg => "TCG",
            },
            opts.memory_mb,
            opts.cpus
        );
    }
    let session = boot(&qemu_path, &args, &opts, &name)?;
    let log = run_dir.path().join("console.log");
    std::fs::write(&log, &session.log).ok();
    finish(&mut report, session, &opts, &image, &log, started)?;
    Ok(report)
}

fn run_failed(message: String) -> anyhow::Error {
    Exit {
        code: exit::RUN_FAILED,
        message,
    }
    .into()
}

/// What one boot produced.
struct Session {
    summary: Summary,
    tail: Vec<String>,
    log: Vec<u8>,
    stdout: String,
    stderr: String,
    timed_out: bool,
    boot_seconds: Option<f64>,
    status: Option<std::process::ExitStatus>,
    qemu_messages: String,
}

fn boot(qemu: &Path, args: &[std::ffi::OsString], opts: &Options, name: &str) -> Result<Session> {
    let t0 = Instant::now();
    let mut child = Command::new(qemu)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            run_failed(format!(
                "cannot start {}: {e}\n  fix: `bsdx doctor` names what to install",
                qemu.display()
            ))
        })?;
    let mut out = child.stdout.take().expect("piped");
    let mut err = child.stderr.take().expect("piped");
    let (tx, rx) = std::sync::mpsc::channel::<Option<Vec<u8>>>();
    let reader = std::thread::spawn(move || {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            match out.read(&mut buf) {
                Ok(0) | Err(_) => {
                    let _ = tx.send(None);
                    return;
                }
                Ok(n) => {
                    if tx.send(Some(buf[..n].to_vec())).is_err() {
                        return;
                    }
                }
            }
        }
    });
    let (etx, erx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        let _ = etx.send(s);
    });
    let mut parser = console::Parser::new();
    let mut summary = Summary::default();
    let mut session = Session {
        summary: Summary::default(),
        tail: vec![],
        log: Vec::new(),
        stdout: String::new(),
        stderr: String::new(),
        timed_out: false,
        boot_seconds: None,
        status: None,
        qemu_messages: String::new(),
    };
    let deadline = t0 + opts.timeout;
    let mut end_by: Option<Instant> = None;
    let mut killed = false;
    let handle = |events: Vec<Event>,
                  session: &mut Session,
                  end_by: &mut Option<Instant>,
                  summary: &mut Summary| {
        for e in events {
            summary.note(&e);
            match &e {
                Event::Stdout(l) => {
                    if opts.capture {
                        session.stdout.push_str(l);
                        session.stdout.push('\n');
                    } else {
                        let mut o = std::io::stdout().lock();
                        let _ = writeln!(o, "{l}");
                        let _ = o.flush();
                    }
                }
                Event::Stderr(l) => {
                    if opts.capture {
                        session.stderr.push_str(l);
                        session.stderr.push('\n');
                    } else if !opts.console {
                        eprintln!("{l}");
                    }
                }
                Event::Milestone(Milestone::Guest { .. }) => {
                    session.boot_seconds = Some(t0.elapsed().as_secs_f64());
                }
                Event::Milestone(Milestone::Started) if !opts.quiet && !opts.console => {
                    let (rel, mach) = summary
                        .guest
                        .as_ref()
                        .map(|(_, r, m)| (r.clone(), m.clone()))
                        .unwrap_or_default();
                    let who = if opts.root {
                        "root".to_string()
                    } else {
                        format!("{} (uid {})", guest::USER.0, guest::USER.1)
                    };
                    eprintln!(
                        "bsdx: FreeBSD {rel} {mach} up after {:.1} s; running {name} as {who}",
                        session.boot_seconds.unwrap_or_default()
                    );
                }
                Event::Exit(_) | Event::GuestError(_) => {
                    end_by.get_or_insert(Instant::now() + AFTER_EXIT);
                }
                Event::Panic(_) => {
                    end_by.get_or_insert(Instant::now() + AFTER_PANIC);
                }
                Event::Stuck(_) => {
                    *end_by = Some(Instant::now() + Duration::from_secs(1));
                }
                _ => {}
            }
        }
    };
    loop {
        let until = end_by.map_or(deadline, |e| e.min(deadline));
        let left = until.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(Some(chunk)) => {
                session.log.extend_from_slice(&chunk);
                if opts.console {
                    let mut e = std::io::stderr().lock();
                    let _ = e.write_all(&chunk);
                    let _ = e.flush();
                }
                let events = parser.feed(&chunk);
                handle(events, &mut session, &mut end_by, &mut summary);
            }
            Ok(None) | Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                // Woken by the deadline, or by the end of a grace period.
                session.timed_out = end_by.is_none_or(|e| e >= deadline);
                let _ = child.kill();
                killed = true;
                break;
            }
        }
    }
    let events = parser.finish();
    handle(events, &mut session, &mut end_by, &mut summary);
    if !killed {
        // stdout closed: QEMU is exiting. Give it a moment, then make sure.
        for _ in 0..50 {
            if let Ok(Some(_)) = child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = child.kill();
    }
    let status = child.wait().ok();
    session.status = if killed { None } else { status };
    if !killed {
        let _ = reader.join();
    }
    // QEMU is gone; its stderr ends with it (a helper it started could
    // keep it open: wait a little, not for ever).
    session.qemu_messages = erx.recv_timeout(Duration::from_secs(2)).unwrap_or_default();
    session.tail = parser.tail();
    session.summary = summary;
    Ok(session)
}

fn finish(
    report: &mut Report,
    s: Session,
    opts: &Options,
    image: &Path,
    log: &Path,
    started: Instant,
) -> Result<()> {
    let sum = &s.summary;
    let mut program_exit = sum.exit;
    if program_exit.is_none() && !s.timed_out {
        // The console may have lost the line; the results area has it.
        program_exit = data::read_exit(image);
    }
    report.program_exit = program_exit;
    report.stage = sum.stage;
    report.boot_seconds = s.boot_seconds;
    report.refusals = sum.refusals.clone();
    report.console_tail = s.tail.clone();
    report.qemu_messages = s.qemu_messages.clone();
    if opts.capture {
        report.stdout = Some(s.stdout.clone());
        report.stderr = Some(s.stderr.clone());
    }
    let stage = sum.stage.unwrap_or(Stage::Firmware);
    let (outcome, code, message) = match program_exit {
        _ if sum.panic.is_some() && program_exit.is_none() => (
            Outcome::Panic,
            exit::RUN_FAILED,
            Some(format!(
                "the FreeBSD kernel panicked {}: {}",
                stage.describe(),
                sum.panic.as_deref().unwrap_or("")
            )),
        ),
        None if s.timed_out => (
            Outcome::Timeout,
            exit::RUN_TIMEOUT,
            Some(format!(
                "no result after {} s (--timeout); it stopped {}",
                opts.timeout.as_secs(),
                stage.describe()
            )),
        ),
        None if sum.stuck.is_some() => (
            Outcome::Stuck,
            exit::RUN_FAILED,
            Some(sum.stuck.expect("checked").describe().to_string()),
        ),
        None if sum.guest_error.is_some() => (
            Outcome::GuestError,
            exit::RUN_FAILED,
            Some(format!(
                "bsdx's guest script failed: {}",
                sum.guest_error.as_deref().unwrap_or("")
            )),
        ),
        None if stage == Stage::Firmware && s.status.is_some_and(|st| !st.success()) => (
            Outcome::QemuFailed,
            exit::RUN_FAILED,
            Some(format!("QEMU failed ({})", s.status.expect("checked"))),
        ),
        None => (
            Outcome::NoStatus,
            exit::RUN_FAILED,
            Some(format!(
                "the VM stopped {} without the program's exit status",
                stage.describe()
            )),
        ),
        Some(c) => {
            let sig = (c > 128)
                .then(|| sum.signals.iter().rev().find(|x| x.signal == c - 128))
                .flatten();
            match sig {
                Some(x) => {
                    report.signal = Some(SignalReport {
                        number: x.signal,
                        name: console::signal_name(x.signal).to_string(),
                        core_dumped: x.core_dumped,
                    });
                    (Outcome::Signaled, c, None)
                }
                None => (Outcome::Exited, c, None),
            }
        }
    };
    report.outcome = outcome;
    report.exit_code = code;
    report.message = message;
    if !report.refusals.is_empty() {
        report.predicted = predict(&opts.binary, &opts.release, &opts.target, &report.refusals);
    }
    if outcome != Outcome::Exited && outcome != Outcome::Signaled {
        report.console_log = keep_log(log);
    }
    report.seconds = started.elapsed().as_secs_f64();
    Ok(())
}

/// Keep a failed run's console log where the user can read it.
fn keep_log(log: &Path) -> Option<PathBuf> {
    let dir = crate::cache::dir().ok()?.join("run").join("logs");
    std::fs::create_dir_all(&dir).ok()?;
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let dest = dir.join(format!("console-{stamp}-{}.log", std::process::id()));
    std::fs::copy(log, &dest).ok()?;
    Some(dest)
}

/// The `bsdx check` findings about what the loader refused.
fn predict(binary: &Path, release: &str, target: &Target, refusals: &[Refusal]) -> Vec<Finding> {
    let Ok(rel) = catalog().get(release) else {
        return vec![];
    };
    let Ok(report) = crate::check::run(&[binary.to_path_buf()], rel, None, Some(target)) else {
        return vec![];
    };
    report
        .files
        .iter()
        .flat_map(|f| f.findings.iter())
        .filter(|f| {
            refusals
                .iter()
                .any(|r| f.item.split(' ').any(|i| i == r.kind.item()))
        })
        .cloned()
        .collect()
}

impl Report {
    /// What a person reads on stderr after the run (nothing when the
    /// program simply exited).
    pub fn render(&self) -> String {
        let mut out = String::new();
        let name = self
            .program
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if let Some(sig) = &self.signal {
            out.push_str(&format!(
                "bsdx: {name} was killed by signal {} ({}){}; exit status {}\n",
                sig.number,
                sig.name,
                if sig.core_dumped { ", core dumped" } else { "" },
                self.exit_code
            ));
        }
        if !self.refusals.is_empty() {
            out.push_str(&format!(
                "bsdx: FreeBSD's loader refused to start {name}:\n"
            ));
            for r in &self.refusals {
                out.push_str(&format!("  {}\n", r.line));
            }
            if self.predicted.is_empty() {
                out.push_str(&format!("  bsdx check did not predict this for FreeBSD {} (its symbol data may be approximate for this release: `bsdx check --sysroot` with the real base knows)\n", self.release));
            } else {
                out.push_str(&format!(
                    "  bsdx check --release {} predicted it:\n",
                    self.release
                ));
                for f in &self.predicted {
                    out.push_str(&format!("    [{}] {}\n", f.code, f.message));
                }
            }
        }
        if let Some(m) = &self.message {
            out.push_str(&format!("bsdx: error: {m}\n"));
            if !self.console_tail.is_empty() {
                out.push_str("  the console's last lines:\n");
                for l in &self.console_tail {
                    out.push_str(&format!("  | {}\n", crate::check::escape(l)));
                }
            }
            let q = self.qemu_messages.trim();
            if !q.is_empty() {
                out.push_str("  QEMU said:\n");
                for l in q.lines().take(20) {
                    out.push_str(&format!("  | {l}\n"));
                }
            }
            if let Some(p) = &self.console_log {
                out.push_str(&format!("  the whole console: {}\n", p.display()));
            }
            out.push_str(match self.outcome {
                Outcome::Timeout => "  fix: raise --timeout (software emulation is slow), or rerun with --console to watch the boot\n",
                Outcome::QemuFailed => "  fix: `bsdx doctor` checks QEMU and the firmware; the QEMU command line is in `bsdx run --dry-run`\n",
                _ => "  fix: rerun with --console to see the whole boot; the media are in the bsdx cache (remove $BSDX_CACHE_DIR/run/media to rebuild them)\n",
            });
        }
        out
    }
}

/// `bsdx env --runner` and `bsdx test`: the runner cargo puts in front of
/// each test binary: this bsdx, `run`, the options, `--`.
pub fn runner_command(release: &str, target: &Target, extra: &[String]) -> Result<String> {
    let exe = std::env::current_exe().context("cannot find the bsdx executable")?;
    let exe = exe.display().to_string();
    let mut words = vec![
        exe,
        "run".into(),
        "--release".into(),
        release.into(),
        "--target".into(),
        target.triple.into(),
    ];
    words.extend(extra.iter().cloned());
    words.push("--".into());
    if let Some(w) = words
        .iter()
        .find(|w| w.chars().any(char::is_whitespace) || w.is_empty())
    {
        bail!("cargo splits a runner from the environment on whitespace, and `{w}` contains some\n  fix: install bsdx (and the files it is given) at a path without spaces");
    }
    Ok(words.join(" "))
}
