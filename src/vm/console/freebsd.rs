//! FreeBSD's own messages on the console, recognised: the loader, the
//! kernel (`---<<BOOT>>---`, the banner, mounting root, panics, traps,
//! shutdown, `mountroot>`), the boot blocks' errors, `ld-elf.so.1`'s
//! refusals and the kernel's signal notes. The patterns were checked
//! against real console logs of a FreeBSD 13.2 kernel
//! (`../shared/freebsd/serial-logs`, used by the tests) and FreeBSD's
//! sources (loader, `kern_shutdown.c`, `kern_sig.c`, `rtld.c`).

use serde::Serialize;

use super::{Event, Milestone};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Stuck {
    /// `mountroot>`: the kernel could not mount its root file system.
    MountRoot,
    /// The loader's interactive prompt: it could not boot the kernel.
    LoaderPrompt,
    /// The BIOS boot blocks or the EFI loader gave up.
    BootBlocks,
}

impl Stuck {
    pub fn describe(self) -> &'static str {
        match self {
            Stuck::MountRoot => "the kernel could not mount the boot ISO as its root file system and stopped at its mountroot> prompt",
            Stuck::LoaderPrompt => "FreeBSD's loader could not boot the kernel and stopped at its prompt",
            Stuck::BootBlocks => "FreeBSD's boot blocks could not find or start the loader",
        }
    }
}

/// What `ld-elf.so.1` refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Refusal {
    /// The program or library it was loading, as the loader names it.
    pub object: String,
    #[serde(flatten)]
    pub kind: RefusalKind,
    /// The loader's line, as printed.
    pub line: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum RefusalKind {
    /// `Undefined symbol "secure_getenv@FBSD_1.7"`.
    UndefinedSymbol { symbol: String },
    /// `Shared object "libfoo.so.1" not found, required by "prog"`.
    MissingLibrary { library: String },
}

impl RefusalKind {
    /// The item `bsdx check` would name for the same problem.
    pub fn item(&self) -> &str {
        match self {
            RefusalKind::UndefinedSymbol { symbol } => symbol,
            RefusalKind::MissingLibrary { library } => library,
        }
    }
}

/// The kernel's note that a process died of a signal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct SignalExit {
    pub pid: u32,
    pub name: String,
    pub uid: u32,
    pub signal: i32,
    pub core_dumped: bool,
}

/// Drop a `[  5.508] ` host timestamp some capture tools put in front.
pub(super) fn without_timestamp(line: &str) -> &str {
    let t = line.trim_start();
    if let Some(rest) = t.strip_prefix('[') {
        if let Some((stamp, after)) = rest.split_once(']') {
            if !stamp.is_empty() && stamp.trim().chars().all(|c| c.is_ascii_digit() || c == '.') {
                return after.strip_prefix(' ').unwrap_or(after);
            }
        }
    }
    line
}

pub(super) fn prompt(text: &str) -> Option<Stuck> {
    let t = without_timestamp(text).trim_end();
    if t.ends_with("mountroot>") {
        return Some(Stuck::MountRoot);
    }
    None
}

/// The event one of FreeBSD's console lines carries, if any (`t` cleaned,
/// its timestamp removed).
pub(super) fn event(t: &str) -> Option<Event> {
    if let Some(r) = refusal(t) {
        return Some(Event::Refusal(r));
    }
    if let Some(s) = signal(t) {
        return Some(Event::Signal(s));
    }
    if let Some(msg) = t.strip_prefix("panic: ") {
        return Some(Event::Panic(msg.trim().to_string()));
    }
    if t.starts_with("Fatal trap ") {
        return Some(Event::Panic(t.trim().to_string()));
    }
    if t.contains("---<<BOOT>>---") {
        return Some(Event::Milestone(Milestone::Kernel));
    }
    if let Some(rest) = t.strip_prefix("Trying to mount root from ") {
        let dev = rest.split_whitespace().next().unwrap_or("").to_string();
        return Some(Event::Milestone(Milestone::MountingRoot(dev)));
    }
    if is_banner(t) {
        return Some(Event::Milestone(Milestone::Banner(t.trim().to_string())));
    }
    if t.contains("/boot/kernel/kernel text=") || t.trim_start().starts_with("Booting [") {
        return Some(Event::Milestone(Milestone::Loader));
    }
    if t.starts_with("Uptime: ") || t.contains("Powering system off") {
        return Some(Event::Shutdown);
    }
    if prompt(t).is_some() {
        return Some(Event::Stuck(Stuck::MountRoot));
    }
    // The loader's prompt (its help line precedes "OK"), cdboot's and
    // BTX's errors, loader.efi's "no bootable partition".
    if t.starts_with("Type '?' for a list of commands") {
        return Some(Event::Stuck(Stuck::LoaderPrompt));
    }
    if t.starts_with("Can't find /boot/loader")
        || t.starts_with("BTX halted")
        || t.starts_with("Failed to find bootable partition")
    {
        return Some(Event::Stuck(Stuck::BootBlocks));
    }
    None
}

/// `FreeBSD 13.2-RELEASE GENERIC amd64` (the kernel's version line).
pub(super) fn is_banner(t: &str) -> bool {
    let Some(rest) = t.strip_prefix("FreeBSD ") else {
        return false;
    };
    let version = rest.split_whitespace().next().unwrap_or("");
    let (num, kind) = version.split_once('-').unwrap_or(("", ""));
    num.split('.').count() == 2
        && num
            .split('.')
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        && !kind.is_empty()
        && kind
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-')
}

/// `ld-elf.so.1: /mnt/prog: Undefined symbol "secure_getenv@FBSD_1.7"` and
/// `ld-elf.so.1: Shared object "libfoo.so.1" not found, required by "prog"`
/// (the formats of `rtld.c`).
pub fn refusal(t: &str) -> Option<Refusal> {
    let at = t.find("ld-elf.so.1: ")?;
    let line = t[at..].trim().to_string();
    let rest = &line["ld-elf.so.1: ".len()..];
    if let Some(after) = rest.strip_prefix("Shared object \"") {
        let (library, tail) = after.split_once('"')?;
        let object = tail
            .split_once("required by \"")
            .and_then(|(_, o)| o.split_once('"'))
            .map(|(o, _)| o.to_string())
            .unwrap_or_default();
        return Some(Refusal {
            object,
            kind: RefusalKind::MissingLibrary {
                library: library.to_string(),
            },
            line,
        });
    }
    let (object, msg) = rest.rsplit_once(": Undefined symbol \"")?;
    let symbol = msg.strip_suffix('"').unwrap_or(msg).to_string();
    Some(Refusal {
        object: object.to_string(),
        kind: RefusalKind::UndefinedSymbol { symbol },
        line,
    })
}

/// `pid 20 (sh), jid 0, uid 0: exited on signal 11 (core dumped)`
/// (`kern_sig.c`, printed when `kern.logsigexit` is on, the default).
pub fn signal(t: &str) -> Option<SignalExit> {
    let rest = t.trim().strip_prefix("pid ")?;
    let (pid, rest) = rest.split_once(" (")?;
    let (name, rest) = rest.rsplit_once("), jid ")?;
    let (_, rest) = rest.split_once(", uid ")?;
    let (uid, rest) = rest.split_once(": exited on signal ")?;
    let sig: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
    Some(SignalExit {
        pid: pid.parse().ok()?,
        name: name.to_string(),
        uid: uid.parse().ok()?,
        signal: sig.parse().ok()?,
        core_dumped: rest.contains("(core dumped)"),
    })
}

/// FreeBSD's name for a signal number (`sys/signal.h`, the same on amd64
/// and arm64).
pub fn signal_name(n: i32) -> &'static str {
    const NAMES: [&str; 33] = [
        "",
        "SIGHUP",
        "SIGINT",
        "SIGQUIT",
        "SIGILL",
        "SIGTRAP",
        "SIGABRT",
        "SIGEMT",
        "SIGFPE",
        "SIGKILL",
        "SIGBUS",
        "SIGSEGV",
        "SIGSYS",
        "SIGPIPE",
        "SIGALRM",
        "SIGTERM",
        "SIGURG",
        "SIGSTOP",
        "SIGTSTP",
        "SIGCONT",
        "SIGCHLD",
        "SIGTTIN",
        "SIGTTOU",
        "SIGIO",
        "SIGXCPU",
        "SIGXFSZ",
        "SIGVTALRM",
        "SIGPROF",
        "SIGWINCH",
        "SIGINFO",
        "SIGUSR1",
        "SIGUSR2",
        "SIGTHR",
    ];
    usize::try_from(n)
        .ok()
        .and_then(|i| NAMES.get(i))
        .copied()
        .filter(|s| !s.is_empty())
        .unwrap_or("a signal")
}
