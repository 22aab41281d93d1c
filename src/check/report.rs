//! The audit's result as data ([`Report`], what `--json` prints) and its
//! human view ([`Report::render`]).

use std::path::PathBuf;

use serde::Serialize;

use super::elf::escape;

/// Version of the `--json` schema (see README, "bsdx check --json").
pub const SCHEMA: u32 = 1;

pub use crate::findings::Level;
use crate::findings::Tally;

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Finding {
    pub level: Level,
    pub code: Code,
    /// What is wrong and what to do about it.
    pub message: String,
    /// The offending item (a soname, a symbol, a path), as found in the file.
    pub item: String,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct FileReport {
    pub path: PathBuf,
    /// Set when the file could not be read as ELF at all; nothing else is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unreadable: Option<String>,
    pub kind: String,
    pub machine: String,
    pub linkage: String,
    pub osabi: u8,
    /// `__FreeBSD_version` from the NT_FREEBSD_ABI_TAG note.
    pub abi_tag: Option<u32>,
    /// The release the ABI tag names (`14.3`).
    pub built_for: Option<String>,
    pub interpreter: Option<String>,
    pub needed: Vec<String>,
    pub rpath: Vec<String>,
    /// Undefined dynamic symbols the file needs (weak ones excluded).
    pub required_symbols: usize,
    /// Known releases on which every requirement is met, oldest first.
    pub runs_on: Vec<String>,
    /// The oldest of `runs_on`.
    pub min_release: Option<String>,
    pub findings: Vec<Finding>,
    /// Checks that could not be done, and why.
    pub unchecked: Vec<String>,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Report {
    pub schema: u32,
    pub release: String,
    /// Where the symbol data for `release` came from.
    pub data: String,
    /// With --sysroot: the release the sysroot itself says it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sysroot_release: Option<crate::sysroot::SysrootRelease>,
    pub files: Vec<FileReport>,
    #[serde(flatten)]
    pub tally: Tally,
}

impl Report {
    /// As [`Tally::exit_code`].
    pub fn exit_code(&self, strict: bool) -> i32 {
        self.tally.exit_code(strict)
    }
}

impl Report {
    /// The human view. `color` adds ANSI colours (only on a terminal).
    pub fn render(&self, color: bool) -> String {
        let paint = |code: &str, s: &str| {
            if color {
                format!("\x1b[{code}m{s}\x1b[0m")
            } else {
                s.to_string()
            }
        };
        let mut out = String::new();
        for f in &self.files {
            let path = escape(&f.path.display().to_string());
            if let Some(why) = &f.unreadable {
                out.push_str(&format!("{}: {}\n", paint("1", &path), paint("31", why)));
                continue;
            }
            let built = f
                .built_for
                .as_ref()
                .map(|b| format!(", built for FreeBSD {b}"))
                .unwrap_or_default();
            out.push_str(&format!(
                "{}: {} {} {}{built}\n",
                paint("1", &path),
                f.machine,
                f.kind,
                f.linkage
            ));
            if !f.needed.is_empty() {
                out.push_str(&format!("  needs: {}\n", f.needed.join(", ")));
            }
            match &f.min_release {
                Some(min) => out.push_str(&format!(
                    "  runs on: FreeBSD >= {min} (of the known releases: {})\n",
                    f.runs_on.join(", ")
                )),
                None => out.push_str(&format!("  runs on: {} known release\n", paint("31", "no"))),
            }
            for x in &f.findings {
                let code = match x.level {
                    Level::Error => "31",
                    Level::Warning => "33",
                    Level::Info => "36",
                };
                out.push_str(&format!(
                    "  {} [{}] {}\n",
                    paint(code, x.level.label()),
                    x.code,
                    x.message
                ));
            }
            for u in &f.unchecked {
                out.push_str(&format!("  not checked: {u}\n"));
            }
        }
        if let Some(s) = &self.sysroot_release {
            out.push_str(&format!("sysroot: {}\n", s.describe()));
        }
        out.push_str(&format!(
            "checked {} file(s) against FreeBSD {}: {}\n",
            self.files.len(),
            self.release,
            self.tally.summary()
        ));
        out
    }
}

/// What a finding is about: the stable identifier in `--json` and the
/// README's table (kebab-case; unit-tested against the README).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Code {
    ElfClass,
    WrongMachine,
    NotLinked,
    NotFreebsd,
    NoAbiTag,
    AbiTagNewer,
    OsabiSysv,
    WrongInterpreter,
    NoInterpreter,
    NeededPath,
    NeededOtherRelease,
    NeededNotBase,
    RpathBuildPath,
    Rpath,
    MissingSymbol,
    MissingSymbolVersion,
    SymbolNotInData,
    HostProvidedSymbols,
    NotOnRelease,
}

impl Code {
    /// Every code, in the README table's order.
    pub const ALL: &'static [Code] = &[
        Code::ElfClass,
        Code::WrongMachine,
        Code::NotLinked,
        Code::NotFreebsd,
        Code::NoAbiTag,
        Code::AbiTagNewer,
        Code::OsabiSysv,
        Code::WrongInterpreter,
        Code::NoInterpreter,
        Code::NeededPath,
        Code::NeededOtherRelease,
        Code::NeededNotBase,
        Code::RpathBuildPath,
        Code::Rpath,
        Code::MissingSymbol,
        Code::MissingSymbolVersion,
        Code::SymbolNotInData,
        Code::HostProvidedSymbols,
        Code::NotOnRelease,
    ];
}

crate::findings::spelled_by_serde!(Code);
