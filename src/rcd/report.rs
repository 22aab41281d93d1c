//! `bsdx rcd lint`'s result as data ([`Report`], what `--json` prints) and
//! its human view ([`Report::render`]), in the style of `bsdx check`.

use std::path::PathBuf;

use schemars::JsonSchema;
use serde::Serialize;

pub use crate::findings::Level;
use crate::findings::Tally;

/// Version of `bsdx rcd lint --json`.
pub const SCHEMA: u32 = 1;

/// What a finding is about: the stable identifier in `--json` and the
/// README's table (kebab-case; tested against the README).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Code {
    Syntax,
    Shebang,
    NoProvide,
    ProvideMismatch,
    NameInvalid,
    NoRcSubr,
    NoRcvar,
    RcvarName,
    NoLoadRcConfig,
    DefaultsBeforeLoadRcConfig,
    NoRunRcCommand,
    NoShutdownKeyword,
    RequireLogin,
    DaemonNoF,
    DaemonRestartChildPidfile,
    DaemonPidfileMismatch,
    ProcnameWithDaemon,
    UserWithDaemonU,
    PidfileDir,
    LogNotWritable,
    LogNoReopen,
    EnvWrapper,
}

impl Code {
    /// Every code, in the README table's order.
    pub const ALL: &'static [Code] = &[
        Code::Syntax,
        Code::Shebang,
        Code::NoProvide,
        Code::ProvideMismatch,
        Code::NameInvalid,
        Code::NoRcSubr,
        Code::NoRcvar,
        Code::RcvarName,
        Code::NoLoadRcConfig,
        Code::DefaultsBeforeLoadRcConfig,
        Code::NoRunRcCommand,
        Code::NoShutdownKeyword,
        Code::RequireLogin,
        Code::DaemonNoF,
        Code::DaemonRestartChildPidfile,
        Code::DaemonPidfileMismatch,
        Code::ProcnameWithDaemon,
        Code::UserWithDaemonU,
        Code::PidfileDir,
        Code::LogNotWritable,
        Code::LogNoReopen,
        Code::EnvWrapper,
    ];
}

crate::findings::spelled_by_serde!(Code);

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Finding {
    pub level: Level,
    pub code: Code,
    /// 1-based line the finding is about (0: the whole file).
    pub line: usize,
    /// What is wrong.
    pub message: String,
    /// What to change.
    pub fix: String,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct FileReport {
    pub path: PathBuf,
    /// Set when the file could not be read; nothing else is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unreadable: Option<String>,
    /// `$name` as the script sets it.
    pub name: Option<String>,
    pub findings: Vec<Finding>,
    /// Checks that could not be done, and why.
    pub unchecked: Vec<String>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Report {
    pub schema: u32,
    /// The POSIX shell `sh -n` ran with (`null`: none found).
    pub shell: Option<String>,
    pub files: Vec<FileReport>,
    #[serde(flatten)]
    pub tally: Tally,
}

impl Report {
    /// As [`Tally::exit_code`], the same as `bsdx check`'s.
    pub fn exit_code(&self, strict: bool) -> i32 {
        self.tally.exit_code(strict)
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        for f in &self.files {
            let path = crate::check::escape(&f.path.display().to_string());
            if let Some(why) = &f.unreadable {
                out.push_str(&format!("{path}: {why}\n"));
                continue;
            }
            out.push_str(&format!(
                "{path}: {}\n",
                if f.findings.is_empty() {
                    "clean"
                } else {
                    "findings"
                }
            ));
            for x in &f.findings {
                let label = x.level.label();
                let at = if x.line > 0 {
                    format!(" line {}", x.line)
                } else {
                    String::new()
                };
                out.push_str(&format!(
                    "  {label} [{}]{at}: {}\n    fix: {}\n",
                    x.code, x.message, x.fix
                ));
            }
            for u in &f.unchecked {
                out.push_str(&format!("  not checked: {u}\n"));
            }
        }
        out.push_str(&format!(
            "linted {} file(s): {}\n",
            self.files.len(),
            self.tally.summary()
        ));
        out
    }
}
