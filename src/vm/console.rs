//! The serial console: bsdx's own guest protocol, and the FreeBSD messages
//! that say how a boot went.
//!
//! Everything the VM prints arrives on one serial line: the loader, the
//! kernel, `ld-elf.so.1`, and bsdx's guest script (`/bsdx/init` on the boot
//! ISO, [`super::guest`]). The script's lines start with [`TAG`]:
//!
//! | line | meaning |
//! |---|---|
//! | `#bsdx:hello 1 14.4-RELEASE amd64` | the script started (protocol 1, `uname -r`, `uname -p`) |
//! | `#bsdx:start` | the program is about to run |
//! | `#bsdx:o:TEXT` / `#bsdx:e:TEXT` | one line the program wrote to stdout / stderr |
//! | `#bsdx:exit N` | the program ended with `$?` = N (128+N for signal N) |
//! | `#bsdx:error TEXT` | the script could not do its job (then it powers off) |
//! | `#bsdx:poweroff` | the script is powering the VM off |
//!
//! Everything else is FreeBSD's own output, recognised in [`freebsd`].
//! [`Parser`] turns the byte stream into [`Event`]s; [`Summary`] collects
//! them into what the host reports.

use std::collections::VecDeque;

use serde::Serialize;

pub mod freebsd;

use freebsd::{prompt, without_timestamp};

/// Every line bsdx's guest script prints starts with this.
pub const TAG: &str = "#bsdx:";
/// Version of the line protocol above (the `hello` line carries it).
pub const PROTOCOL: u32 = 1;
/// How many console lines a failure report shows.
pub const TAIL_LINES: usize = 25;

/// One thing the console said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A line the program wrote to stdout, without its newline.
    Stdout(String),
    /// A line the program wrote to stderr, without its newline.
    Stderr(String),
    Milestone(Milestone),
    /// `#bsdx:exit N`.
    Exit(i32),
    /// `#bsdx:error TEXT`.
    GuestError(String),
    /// `panic: TEXT` (the kernel panicked) or `Fatal trap N: …`.
    Panic(String),
    /// A place where FreeBSD stops and waits for a human: the kernel's
    /// `mountroot>` prompt, the loader's `OK` prompt, a boot block error.
    Stuck(Stuck),
    /// The kernel is shutting down (`Uptime: 4s`, `Powering system off`).
    Shutdown,
    /// `ld-elf.so.1` refused to start a program.
    Refusal(Refusal),
    /// `pid N (name), jid J, uid U: exited on signal S`.
    Signal(SignalExit),
}

/// How far the boot got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Stage {
    /// Nothing from FreeBSD yet (firmware, boot blocks).
    Firmware,
    /// FreeBSD's loader is loading the kernel.
    Loader,
    /// The kernel is running (`---<<BOOT>>---`).
    Kernel,
    /// The kernel is mounting its root file system.
    Root,
    /// bsdx's guest script runs (`#bsdx:hello`).
    Guest,
    /// The program runs (`#bsdx:start`).
    Program,
    /// The program ended (`#bsdx:exit`).
    Finished,
}

impl Stage {
    /// "in the loader", for messages like "stopped in the loader".
    pub fn describe(self) -> &'static str {
        match self {
            Stage::Firmware => "before FreeBSD's loader printed anything (firmware or boot blocks)",
            Stage::Loader => "in FreeBSD's loader, before the kernel started",
            Stage::Kernel => "in the kernel, before it mounted the boot ISO as root",
            Stage::Root => "while the kernel mounted the boot ISO as root",
            Stage::Guest => "in bsdx's guest script, before the program started",
            Stage::Program => "while the program ran",
            Stage::Finished => "after the program ended",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Milestone {
    /// The loader has loaded the kernel (`/boot/kernel/kernel text=…`, `Booting [`).
    Loader,
    /// `---<<BOOT>>---`: the kernel took over.
    Kernel,
    /// The kernel's banner, e.g. `FreeBSD 13.2-RELEASE GENERIC amd64`.
    Banner(String),
    /// `Trying to mount root from cd9660:/dev/cd0 []...`: the device.
    MountingRoot(String),
    /// `#bsdx:hello`: protocol version and the guest's `uname -r`, `uname -p`.
    Guest {
        protocol: u32,
        release: String,
        machine: String,
    },
    /// `#bsdx:start`.
    Started,
    /// `#bsdx:poweroff`.
    PoweringOff,
}

pub use freebsd::{refusal, signal, signal_name, Refusal, RefusalKind, SignalExit, Stuck};

/// Feed it console bytes as they arrive; it returns the events in them.
#[derive(Debug, Default)]
pub struct Parser {
    partial: Vec<u8>,
    stuck_seen: bool,
    tail: VecDeque<String>,
}

impl Parser {
    pub fn new() -> Parser {
        Parser::default()
    }

    /// The events in `bytes` (complete lines only, plus prompts that wait
    /// without a newline).
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<Event> {
        let mut events = Vec::new();
        for &b in bytes {
            if b == b'\n' {
                let line = std::mem::take(&mut self.partial);
                self.line(&line, &mut events);
            } else {
                self.partial.push(b);
            }
        }
        // A prompt waits for input on the same line: look at what is there.
        if !self.stuck_seen {
            let text = clean(&self.partial);
            if let Some(s) = prompt(&text) {
                self.stuck_seen = true;
                self.remember(text);
                events.push(Event::Stuck(s));
            }
        }
        events
    }

    /// The end of the stream: whatever is left in the last line.
    pub fn finish(&mut self) -> Vec<Event> {
        let mut events = Vec::new();
        if !self.partial.is_empty() {
            let line = std::mem::take(&mut self.partial);
            self.line(&line, &mut events);
        }
        events
    }

    /// The last console lines, cleaned for a terminal (escape sequences
    /// and the loader's spinner removed), oldest first.
    pub fn tail(&self) -> Vec<String> {
        self.tail.iter().cloned().collect()
    }

    fn remember(&mut self, line: String) {
        if self.tail.len() == TAIL_LINES {
            self.tail.pop_front();
        }
        self.tail.push_back(line);
    }

    fn line(&mut self, raw: &[u8], events: &mut Vec<Event>) {
        // The console's terminal turns "\n" into "\r\n": drop that "\r".
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        if let Some(rest) = raw.strip_prefix(TAG.as_bytes()) {
            // Payload lines are passed on as they are (colours included).
            if let Some(text) = rest.strip_prefix(b"o:") {
                events.push(Event::Stdout(String::from_utf8_lossy(text).into_owned()));
                self.remember(format!("{TAG}o:{}", clean(text)));
                return;
            }
            if let Some(text) = rest.strip_prefix(b"e:") {
                let text = String::from_utf8_lossy(text).into_owned();
                if let Some(r) = refusal(&clean(text.as_bytes())) {
                    events.push(Event::Refusal(r));
                }
                self.remember(format!("{TAG}e:{}", clean(text.as_bytes())));
                events.push(Event::Stderr(text));
                return;
            }
        }
        let text = clean(raw);
        if let Some(e) = classify(&text) {
            if matches!(e, Event::Stuck(_)) {
                if self.stuck_seen {
                    self.remember(text);
                    return;
                }
                self.stuck_seen = true;
            }
            events.push(e);
        }
        if !text.trim().is_empty() {
            self.remember(text);
        }
    }
}

/// A console line made printable: escape sequences removed, backspaces
/// applied (the loader's spinner), other control characters dropped.
pub fn clean(raw: &[u8]) -> String {
    let text = String::from_utf8_lossy(raw);
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\x1b' => {
                // CSI: ESC [ parameters final-byte; other escapes: one more char.
                if chars.peek() == Some(&'[') {
                    chars.next();
                    for d in chars.by_ref() {
                        if ('\x40'..='\x7e').contains(&d) {
                            break;
                        }
                    }
                } else {
                    chars.next();
                }
            }
            '\x08' => {
                out.pop();
            }
            '\t' => out.push('\t'),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// The event a (cleaned) console line carries, if any: bsdx's own line,
/// else one of FreeBSD's messages.
fn classify(text: &str) -> Option<Event> {
    let t = without_timestamp(text);
    if let Some(rest) = t.strip_prefix(TAG) {
        return guest_line(rest);
    }
    freebsd::event(t)
}

fn guest_line(rest: &str) -> Option<Event> {
    let (word, args) = rest.split_once(' ').unwrap_or((rest, ""));
    match word {
        "hello" => {
            let mut a = args.split_whitespace();
            let protocol = a.next().and_then(|p| p.parse().ok()).unwrap_or(0);
            Some(Event::Milestone(Milestone::Guest {
                protocol,
                release: a.next().unwrap_or("").to_string(),
                machine: a.next().unwrap_or("").to_string(),
            }))
        }
        "start" => Some(Event::Milestone(Milestone::Started)),
        "poweroff" => Some(Event::Milestone(Milestone::PoweringOff)),
        "exit" => args.trim().parse().ok().map(Event::Exit),
        "error" => Some(Event::GuestError(args.trim().to_string())),
        _ => None,
    }
}

/// Everything a run's console said that the report needs.
#[derive(Debug, Default, Clone)]
pub struct Summary {
    pub stage: Option<Stage>,
    pub banner: Option<String>,
    pub root: Option<String>,
    pub guest: Option<(u32, String, String)>,
    pub exit: Option<i32>,
    pub guest_error: Option<String>,
    pub panic: Option<String>,
    pub stuck: Option<Stuck>,
    pub shutdown: bool,
    pub refusals: Vec<Refusal>,
    pub signals: Vec<SignalExit>,
}

impl Summary {
    /// Take one event into account.
    pub fn note(&mut self, e: &Event) {
        let mut reach = |s: Stage| {
            if self.stage.is_none_or(|cur| cur < s) {
                self.stage = Some(s);
            }
        };
        match e {
            Event::Milestone(m) => match m {
                Milestone::Loader => reach(Stage::Loader),
                Milestone::Kernel => reach(Stage::Kernel),
                Milestone::Banner(b) => {
                    reach(Stage::Kernel);
                    self.banner.get_or_insert_with(|| b.clone());
                }
                Milestone::MountingRoot(d) => {
                    reach(Stage::Root);
                    self.root = Some(d.clone());
                }
                Milestone::Guest {
                    protocol,
                    release,
                    machine,
                } => {
                    reach(Stage::Guest);
                    self.guest = Some((*protocol, release.clone(), machine.clone()));
                }
                Milestone::Started => reach(Stage::Program),
                Milestone::PoweringOff => {}
            },
            Event::Exit(code) => {
                reach(Stage::Finished);
                self.exit.get_or_insert(*code);
            }
            Event::GuestError(m) => {
                self.guest_error.get_or_insert_with(|| m.clone());
            }
            Event::Panic(m) => {
                self.panic.get_or_insert_with(|| m.clone());
            }
            Event::Stuck(s) => {
                self.stuck.get_or_insert(*s);
            }
            Event::Shutdown => self.shutdown = true,
            Event::Refusal(r) => {
                if !self.refusals.contains(r) {
                    self.refusals.push(r.clone());
                }
            }
            Event::Signal(s) => self.signals.push(s.clone()),
            Event::Stdout(_) | Event::Stderr(_) => {}
        }
    }

    /// Everything in `log` (a whole console capture), for tests and for
    /// reading a saved log.
    pub fn of_log(log: &[u8]) -> (Summary, Vec<Event>, Vec<String>) {
        let mut p = Parser::new();
        let mut events = p.feed(log);
        events.extend(p.finish());
        let mut s = Summary::default();
        for e in &events {
            s.note(e);
        }
        (s, events, p.tail())
    }
}

#[cfg(test)]
mod tests {
    use super::freebsd::is_banner;
    use super::*;

    fn events(text: &str) -> Vec<Event> {
        let mut p = Parser::new();
        let mut e = p.feed(text.as_bytes());
        e.extend(p.finish());
        e
    }

    #[test]
    fn protocol_lines() {
        let e = events(
            "#bsdx:hello 1 14.4-RELEASE amd64\r\n#bsdx:start\r\n#bsdx:o:a \x1b[32mgreen\x1b[0m\r\n#bsdx:e:oops\r\n#bsdx:o:\r\n#bsdx:exit 139\r\n#bsdx:poweroff\r\n",
        );
        assert_eq!(
            e,
            vec![
                Event::Milestone(Milestone::Guest {
                    protocol: 1,
                    release: "14.4-RELEASE".into(),
                    machine: "amd64".into()
                }),
                Event::Milestone(Milestone::Started),
                Event::Stdout("a \x1b[32mgreen\x1b[0m".into()),
                Event::Stderr("oops".into()),
                Event::Stdout(String::new()),
                Event::Exit(139),
                Event::Milestone(Milestone::PoweringOff),
            ]
        );
    }

    #[test]
    fn a_progress_line_keeps_its_carriage_returns() {
        assert_eq!(
            events("#bsdx:o:10%\r50%\r\r\n"),
            vec![Event::Stdout("10%\r50%\r".into())]
        );
    }

    #[test]
    fn the_loader_spinner_and_escapes_are_cleaned() {
        assert_eq!(
            clean(b"-\x08\\\x08|\x08/\x08/boot/kernel/kernel text=0x1"),
            "/boot/kernel/kernel text=0x1"
        );
        assert_eq!(
            clean(b"\x1b[2J\x1b[01;01HBdsDxe: loading"),
            "BdsDxe: loading"
        );
    }

    #[test]
    fn freebsd_messages() {
        let r =
            refusal(r#"ld-elf.so.1: /mnt/freebsd-bot: Undefined symbol "secure_getenv@FBSD_1.7""#)
                .unwrap();
        assert_eq!(r.object, "/mnt/freebsd-bot");
        assert_eq!(r.kind.item(), "secure_getenv@FBSD_1.7");
        let r =
            refusal(r#"ld-elf.so.1: Shared object "libfoo.so.1" not found, required by "prog""#)
                .unwrap();
        assert_eq!((r.object.as_str(), r.kind.item()), ("prog", "libfoo.so.1"));
        let s = signal("pid 18 (missing-symbol), jid 0, uid 0: exited on signal 10 (core dumped)")
            .unwrap();
        assert_eq!(
            (s.pid, s.name.as_str(), s.signal, s.core_dumped),
            (18, "missing-symbol", 10, true)
        );
        assert_eq!(
            signal("pid 7 (a (b)), jid 0, uid 977: exited on signal 6")
                .unwrap()
                .name,
            "a (b)"
        );
        assert_eq!(signal_name(11), "SIGSEGV");
        assert_eq!(signal_name(99), "a signal");
        assert!(is_banner("FreeBSD 14.4-RELEASE GENERIC amd64"));
        assert!(is_banner("FreeBSD 13.2-RELEASE FBSDRUN amd64"));
        assert!(!is_banner(
            "FreeBSD is a registered trademark of The FreeBSD Foundation."
        ));
        assert_eq!(
            events("panic: vm_fault: fault on nofault entry\n"),
            vec![Event::Panic("vm_fault: fault on nofault entry".into())]
        );
    }

    #[test]
    fn prompts_without_a_newline_are_seen_once() {
        let mut p = Parser::new();
        assert_eq!(p.feed(b"Root mount waiting for: CAM\n"), vec![]);
        assert_eq!(p.feed(b"mountroot> "), vec![Event::Stuck(Stuck::MountRoot)]);
        assert_eq!(p.feed(b"\nmountroot> "), vec![]);
    }

    #[test]
    fn a_summary_knows_how_far_it_got() {
        let (s, _, tail) = Summary::of_log(
            b"\r\n---<<BOOT>>---\r\nFreeBSD 14.4-RELEASE GENERIC amd64\r\nTrying to mount root from cd9660:/dev/cd0 []...\r\n#bsdx:hello 1 14.4-RELEASE amd64\r\n",
        );
        assert_eq!(s.stage, Some(Stage::Guest));
        assert_eq!(s.root.as_deref(), Some("cd9660:/dev/cd0"));
        assert_eq!(
            s.banner.as_deref(),
            Some("FreeBSD 14.4-RELEASE GENERIC amd64")
        );
        assert_eq!(tail.len(), 4);
    }
}
