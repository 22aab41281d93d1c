//! What `bsdx run` reports: the outcome of a run (`bsdx run --json`) and
//! the text a person reads on stderr after it ([`Report::render`]).

use std::path::PathBuf;

use serde::Serialize;

use crate::check::Finding;

use crate::exit;

use super::console::{Refusal, Stage};
use super::qemu::Accel;
use super::tree::{self, Tree};
use super::{Options, SCHEMA};

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
    pub trust: tree::Trust,
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
    /// Virtual CPUs the guest had (`--cpus`, else 1 under TCG and 2 with KVM).
    pub cpus: u32,
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

impl InputReport {
    /// An input as the report names it: which file, its SHA-256, where it
    /// came from and how bsdx trusts it.
    pub fn of(tree: &Tree) -> InputReport {
        InputReport {
            file: tree.marker.dist.file().to_string(),
            sha256: tree.marker.sha256.clone(),
            source: tree.marker.source.clone(),
            trust: tree.marker.trust.clone(),
        }
    }
}

impl Report {
    /// What is known before the boot (a `--dry-run`'s whole report): the
    /// outcome `dry-run` until the session says otherwise.
    pub fn before_boot(
        opts: &Options,
        accel: Accel,
        accel_note: Option<String>,
        media: MediaReport,
        inputs: Vec<InputReport>,
    ) -> Report {
        Report {
            schema: SCHEMA,
            release: opts.release.clone(),
            target: opts.target.triple.to_string(),
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
            accel_note,
            cpus: opts.cpus.unwrap_or(super::qemu::default_cpus(accel)),
            boot_seconds: None,
            seconds: 0.0,
            stdout: None,
            stderr: None,
            console_tail: vec![],
            console_log: None,
            qemu_messages: String::new(),
            media,
            inputs,
            qemu: String::new(),
        }
    }

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
