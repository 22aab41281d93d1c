//! One boot under QEMU: start it, read the serial console as it arrives
//! (the program's output streamed or captured, the boot's milestones), end
//! it at the program's exit status, a panic, a stuck boot or the timeout,
//! and decide the run's outcome from what the console said.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Result;

use crate::check::Finding;
use crate::exit;
use crate::model::release::catalog;
use crate::model::target::Target;

use super::console::{self, Event, Milestone, Refusal, Stage, Summary};
use super::report::{Outcome, Report, SignalReport};
use super::{data, guest, run_failed, Options};

/// How long QEMU gets to power off after the program's exit status arrived.
const AFTER_EXIT: Duration = Duration::from_secs(30);
/// How long a panicking kernel gets to print its backtrace and reboot.
const AFTER_PANIC: Duration = Duration::from_secs(15);

/// What one boot produced.
pub(super) struct Session {
    summary: Summary,
    tail: Vec<String>,
    pub(super) log: Vec<u8>,
    stdout: String,
    stderr: String,
    timed_out: bool,
    boot_seconds: Option<f64>,
    status: Option<std::process::ExitStatus>,
    qemu_messages: String,
}

/// Boot QEMU with `args` and watch its console until the program's exit
/// status (then a grace period for the power-off), a panic, a stuck boot
/// or `--timeout`.
pub(super) fn boot(
    qemu: &Path,
    args: &[std::ffi::OsString],
    opts: &Options,
    name: &str,
) -> Result<Session> {
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
    let (reader, rx, erx) = read_output(&mut child);
    let mut parser = console::Parser::new();
    let mut watch = Watch {
        opts,
        name,
        t0,
        end_by: None,
        summary: Summary::default(),
        session: Session {
            summary: Summary::default(),
            tail: vec![],
            log: Vec::new(),
            stdout: String::new(),
            stderr: String::new(),
            timed_out: false,
            boot_seconds: None,
            status: None,
            qemu_messages: String::new(),
        },
    };
    let deadline = t0 + opts.timeout;
    let mut killed = false;
    loop {
        let until = watch.end_by.map_or(deadline, |e| e.min(deadline));
        let left = until.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(Some(chunk)) => {
                watch.session.log.extend_from_slice(&chunk);
                if opts.console {
                    let mut e = std::io::stderr().lock();
                    let _ = e.write_all(&chunk);
                    let _ = e.flush();
                }
                watch.note(parser.feed(&chunk));
            }
            Ok(None) | Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                // Woken by the deadline, or by the end of a grace period.
                watch.session.timed_out = watch.end_by.is_none_or(|e| e >= deadline);
                let _ = child.kill();
                killed = true;
                break;
            }
        }
    }
    watch.note(parser.finish());
    let Watch {
        mut session,
        summary,
        ..
    } = watch;
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

type Chunks = std::sync::mpsc::Receiver<Option<Vec<u8>>>;

/// Threads reading QEMU's stdout (the console, in chunks as they arrive;
/// `None` at its end) and its stderr (whole, when QEMU is gone).
fn read_output(
    child: &mut std::process::Child,
) -> (
    std::thread::JoinHandle<()>,
    Chunks,
    std::sync::mpsc::Receiver<String>,
) {
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
    (reader, rx, erx)
}

/// What the watch over a boot keeps between console chunks.
struct Watch<'a> {
    opts: &'a Options,
    name: &'a str,
    t0: Instant,
    /// When to stop QEMU, once the console said the run is over.
    end_by: Option<Instant>,
    summary: Summary,
    session: Session,
}

impl Watch<'_> {
    /// Take in what the console said: the program's output streamed (or
    /// kept, with --json), the boot's milestones, and when to stop.
    fn note(&mut self, events: Vec<Event>) {
        let opts = self.opts;
        let session = &mut self.session;
        for e in events {
            self.summary.note(&e);
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
                    session.boot_seconds = Some(self.t0.elapsed().as_secs_f64());
                }
                Event::Milestone(Milestone::Started) if !opts.quiet && !opts.console => {
                    let (rel, mach) = self
                        .summary
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
                        "bsdx: FreeBSD {rel} {mach} up after {:.1} s; running {} as {who}",
                        session.boot_seconds.unwrap_or_default(),
                        self.name
                    );
                }
                Event::Exit(_) | Event::GuestError(_) => {
                    self.end_by.get_or_insert(Instant::now() + AFTER_EXIT);
                }
                Event::Panic(_) => {
                    self.end_by.get_or_insert(Instant::now() + AFTER_PANIC);
                }
                Event::Stuck(_) => {
                    self.end_by = Some(Instant::now() + Duration::from_secs(1));
                }
                _ => {}
            }
        }
    }
}

pub(super) fn finish(
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
