//! `bsdx rcd lint`: check an rc.d script, generated or hand-written,
//! against what rc.subr(8), rcorder(8) and daemon(8) do with it. The script
//! is read statically (never run): its top-level assignments and `: ${x:=y}`
//! defaults are evaluated in order up to `run_rc_command`, `command_args`
//! is expanded with them and, when the command is daemon(8), parsed with
//! daemon's own option letters ([`script`], [`daemon`]). Each question is
//! one rule ([`rules`]); syntax is checked by a POSIX `sh -n`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::report::{Code, FileReport, Finding, Level, Report, SCHEMA};

mod daemon;
mod rules;
mod script;

use script::Script;

/// The POSIX shell used for `sh -n`: `$BSDX_SH`, else `/bin/sh` (dash on
/// Debian; FreeBSD's is ash, dash's ancestor), else `sh` on PATH.
pub fn shell() -> Option<PathBuf> {
    if let Some(s) = std::env::var_os("BSDX_SH").filter(|s| !s.is_empty()) {
        return Some(PathBuf::from(s));
    }
    if Path::new("/bin/sh").exists() {
        return Some(PathBuf::from("/bin/sh"));
    }
    which::which("sh").ok()
}

/// `sh -n` of `text`: `None` when fine, else (line, message).
fn syntax(sh: &Path, text: &str) -> Option<(usize, String)> {
    // A file, not a pipe: bsdx never writes to a child that may have gone.
    let mut file = tempfile::NamedTempFile::new().ok()?;
    file.write_all(text.as_bytes()).ok()?;
    let out = Command::new(sh)
        .arg("-n")
        .arg(file.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .ok()?;
    if out.status.success() {
        return None;
    }
    let msg = String::from_utf8_lossy(&out.stderr)
        .trim()
        .replace(&file.path().display().to_string(), "script");
    // dash: "sh: 12: Syntax error: …"; bash: "…: line 12: …".
    let line = msg
        .split(':')
        .map(str::trim)
        .find_map(|p| p.strip_prefix("line ").unwrap_or(p).parse::<usize>().ok())
        .unwrap_or(0);
    Some((line, msg))
}

/// Lint one script's text; `path`'s file name is what rc(8) runs it as.
pub fn lint_text(path: &Path, text: &str, sh: Option<&Path>) -> FileReport {
    let mut findings = Vec::new();
    let mut unchecked = Vec::new();
    match sh {
        Some(sh) => {
            if let Some((line, msg)) = syntax(sh, text) {
                findings.push(Finding {
                    level: Level::Error,
                    code: Code::Syntax,
                    line,
                    message: format!("`{} -n` rejects the script: {msg}", sh.display()),
                    fix: "correct the shell syntax at that line".into(),
                });
            }
        }
        None => unchecked.push("syntax: no POSIX sh found for `sh -n` (set BSDX_SH)".into()),
    }
    let script = Script::read(path, text);
    findings.extend(rules::RULES.iter().flat_map(|rule| rule(&script)));
    FileReport {
        path: path.to_path_buf(),
        unreadable: None,
        name: script.get("name"),
        findings,
        unchecked,
    }
}

/// Lint `files` with the shell from [`shell`].
pub fn run(files: &[PathBuf]) -> Report {
    let sh = shell();
    let mut reports = Vec::new();
    for f in files {
        match std::fs::read(f) {
            Ok(bytes) => {
                let text = String::from_utf8_lossy(&bytes);
                reports.push(lint_text(f, &text, sh.as_deref()));
            }
            Err(e) => reports.push(FileReport {
                path: f.clone(),
                unreadable: Some(format!("cannot read: {e}")),
                name: None,
                findings: vec![],
                unchecked: vec![],
            }),
        }
    }
    Report {
        schema: SCHEMA,
        shell: sh.map(|s| s.display().to_string()),
        tally: crate::findings::Tally::count(
            reports.iter().flat_map(|r| &r.findings).map(|f| f.level),
            reports.iter().filter(|r| r.unreadable.is_some()).count(),
        ),
        files: reports,
    }
}
