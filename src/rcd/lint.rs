//! `bsdx rcd lint`: check an rc.d script, generated or hand-written,
//! against what rc.subr(8), rcorder(8) and daemon(8) do with it. The script
//! is read statically (never run): its top-level assignments and `: ${x:=y}`
//! defaults are evaluated in order up to `run_rc_command`, `command_args`
//! is expanded with them and, when the command is daemon(8), parsed with
//! daemon's own option letters. Syntax is checked by a POSIX `sh -n`.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::report::{Code, FileReport, Finding, Level, Report, SCHEMA};
use super::shell::{self, Cmd};

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
    let mut child = Command::new(sh)
        .arg("-n")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .ok()?;
    child.stdin.take()?.write_all(text.as_bytes()).ok()?;
    let out = child.wait_with_output().ok()?;
    if out.status.success() {
        return None;
    }
    let msg = String::from_utf8_lossy(&out.stderr).trim().to_string();
    // dash: "sh: 12: Syntax error: …"; bash: "…: line 12: …".
    let line = msg
        .split(':')
        .map(str::trim)
        .find_map(|p| p.strip_prefix("line ").unwrap_or(p).parse::<usize>().ok())
        .unwrap_or(0);
    Some((line, msg))
}

/// daemon(8)'s options: (letter, takes a value), and the long names.
const DAEMON_FLAGS: &str = "cfHrSh";
const DAEMON_VALUED: &str = "pPuotlsTmR";
const DAEMON_LONG: &[(&str, char)] = &[
    ("change-dir", 'c'),
    ("close-fds", 'f'),
    ("sighup", 'H'),
    ("syslog", 'S'),
    ("output-file", 'o'),
    ("output-mask", 'm'),
    ("child-pidfile", 'p'),
    ("supervisor-pidfile", 'P'),
    ("restart", 'r'),
    ("restart-delay", 'R'),
    ("title", 't'),
    ("user", 'u'),
    ("syslog-priority", 's'),
    ("syslog-facility", 'l'),
    ("syslog-tag", 'T'),
    ("help", 'h'),
];

#[derive(Debug, Default)]
struct DaemonArgs {
    flags: BTreeSet<char>,
    values: BTreeMap<char, String>,
    child: Vec<String>,
}

fn parse_daemon(args: &[String]) -> DaemonArgs {
    let mut d = DaemonArgs::default();
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        if a == "--" {
            i += 1;
            break;
        }
        if let Some(long) = a.strip_prefix("--") {
            let (k, v) = match long.split_once('=') {
                Some((k, v)) => (k, Some(v.to_string())),
                None => (long, None),
            };
            if let Some((_, ch)) = DAEMON_LONG.iter().find(|(n, _)| *n == k) {
                if DAEMON_VALUED.contains(*ch) {
                    let v = v.or_else(|| {
                        i += 1;
                        args.get(i).cloned()
                    });
                    d.values.insert(*ch, v.unwrap_or_default());
                } else {
                    d.flags.insert(*ch);
                }
            }
            i += 1;
            continue;
        }
        if !a.starts_with('-') || a.len() < 2 {
            break;
        }
        let letters: Vec<char> = a[1..].chars().collect();
        let mut j = 0;
        while j < letters.len() {
            let ch = letters[j];
            if DAEMON_VALUED.contains(ch) {
                let rest: String = letters[j + 1..].iter().collect();
                let v = if rest.is_empty() {
                    i += 1;
                    args.get(i).cloned().unwrap_or_default()
                } else {
                    rest
                };
                d.values.insert(ch, v);
                break;
            }
            if DAEMON_FLAGS.contains(ch) {
                d.flags.insert(ch);
            }
            j += 1;
        }
        i += 1;
    }
    d.child = args[i.min(args.len())..].to_vec();
    d
}

fn basename(p: &str) -> &str {
    p.rsplit('/').next().unwrap_or(p)
}

fn parent(p: &str) -> &str {
    match p.rfind('/') {
        Some(0) => "/",
        Some(i) => &p[..i],
        None => ".",
    }
}

/// An rc.d script's header keyword line (`# PROVIDE: a b`), as rcorder(8)
/// reads it: exactly `# KEY:`.
fn header(lines: &[&str], key: &str) -> Option<(usize, Vec<String>)> {
    let exact = format!("# {key}:");
    lines.iter().enumerate().find_map(|(i, l)| {
        l.strip_prefix(&exact)
            .map(|rest| (i + 1, rest.split_whitespace().map(str::to_string).collect()))
    })
}

/// A loosely written header (`#PROVIDE:`, `# Provide :`) rcorder ignores.
fn loose_header(lines: &[&str], key: &str) -> Option<usize> {
    lines
        .iter()
        .position(|l| {
            let t = l.trim_start_matches('#').trim_start();
            l.starts_with('#')
                && t.to_ascii_uppercase().starts_with(key)
                && !l.starts_with(&format!("# {key}:"))
        })
        .map(|i| i + 1)
}

fn is_assignment(w: &str) -> Option<(&str, &str)> {
    let (k, v) = w.split_once('=')?;
    (!k.is_empty()
        && k.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
    .then_some((k, v))
}

/// `${var:=word}` / `${var=word}` in a `:` command.
fn default_of(w: &str) -> Option<(String, String)> {
    let inner = w.strip_prefix("${")?.strip_suffix('}')?;
    let end = inner.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))?;
    let (name, op) = inner.split_at(end);
    let word = op.strip_prefix(":=").or_else(|| op.strip_prefix('='))?;
    Some((name.to_string(), shell::unquote(word)))
}

/// Lint one script's text; `path`'s file name is what rc(8) runs it as.
pub fn lint_text(path: &Path, text: &str, sh: Option<&Path>) -> FileReport {
    let mut findings = Vec::new();
    let mut unchecked = Vec::new();
    let mut find = |level, code, line: usize, message: String, fix: String| {
        findings.push(Finding {
            level,
            code,
            line,
            message,
            fix,
        })
    };
    match sh {
        Some(sh) => {
            if let Some((line, msg)) = syntax(sh, text) {
                find(
                    Level::Error,
                    Code::Syntax,
                    line,
                    format!("`{} -n` rejects the script: {msg}", sh.display()),
                    "correct the shell syntax at that line".into(),
                );
            }
        }
        None => unchecked.push("syntax: no POSIX sh found for `sh -n` (set BSDX_SH)".into()),
    }
    let lines: Vec<&str> = text.lines().collect();
    if lines.first().map(|l| l.trim_end()) != Some("#!/bin/sh") {
        find(
            Level::Error,
            Code::Shebang,
            1,
            "the first line is not `#!/bin/sh`: rc(8) and service(8) run rc.d scripts with /bin/sh"
                .into(),
            "make the first line `#!/bin/sh`".into(),
        );
    }

    // Evaluate the top level up to run_rc_command.
    let cmds = shell::commands(text);
    let mut vars: BTreeMap<String, String> = BTreeMap::new();
    let mut set_at: BTreeMap<String, usize> = BTreeMap::new();
    let (mut rc_subr, mut load, mut run) = (None, None, None);
    let mut early_default: Option<usize> = None;
    let mut functions: BTreeMap<String, Vec<&Cmd>> = BTreeMap::new();
    for c in &cmds {
        if let Some(f) = &c.function {
            functions.entry(f.clone()).or_default().push(c);
            continue;
        }
        if run.is_some() {
            continue;
        }
        let w = c.words();
        match w[0].as_str() {
            "." | "source" if w.get(1).is_some_and(|p| p.ends_with("/etc/rc.subr")) => {
                rc_subr = Some(c.line)
            }
            "load_rc_config" => {
                load.get_or_insert(c.line);
            }
            "run_rc_command" => run = Some(c.line),
            "unset" => {
                for v in &w[1..] {
                    vars.remove(v);
                }
            }
            ":" => {
                for word in &c.raw[1..] {
                    if let Some((k, v)) = default_of(word) {
                        if load.is_none() && early_default.is_none() {
                            early_default = Some(c.line);
                        }
                        if vars
                            .get(&k)
                            .is_none_or(|x| x.is_empty() && word.contains(":="))
                        {
                            let v = shell::expand(&v, &vars);
                            vars.insert(k.clone(), v);
                            set_at.insert(k, c.line);
                        }
                    }
                }
            }
            _ => {
                if w.iter().all(|x| is_assignment(x).is_some()) {
                    for x in &w {
                        let (k, v) = is_assignment(x).expect("checked");
                        let v = shell::expand(v, &vars);
                        vars.insert(k.to_string(), v);
                        set_at.insert(k.to_string(), c.line);
                    }
                }
            }
        }
    }
    let get = |k: &str| vars.get(k).map(|v| shell::expand(v, &vars));
    let line_of = |k: &str| set_at.get(k).copied().unwrap_or(0);

    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = get("name");
    match &name {
        None => find(
            Level::Error,
            Code::NameInvalid,
            0,
            "`name` is not set: rc.subr needs it for every variable it reads (${name}_enable, …)".into(),
            format!("add name=\"{}\" before load_rc_config", file_name.replace('-', "_")),
        ),
        Some(n) if n.is_empty()
            || !n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            || n.starts_with(|c: char| c.is_ascii_digit()) =>
        {
            find(
                Level::Error,
                Code::NameInvalid,
                line_of("name"),
                format!("name=\"{n}\" is not a shell variable name: rc.subr builds ${{name}}_enable, ${{name}}_user … from it, and `-` (or any other character but letters, digits, `_`) breaks them"),
                format!("use name=\"{}\" (and the same PROVIDE and file name)", n.replace(|c: char| !(c.is_ascii_alphanumeric()), "_")),
            )
        }
        _ => {}
    }
    let name_s = name.clone().unwrap_or_default();
    match header(&lines, "PROVIDE") {
        None => {
            let loose = loose_header(&lines, "PROVIDE");
            find(
                Level::Error,
                Code::NoProvide,
                loose.unwrap_or(0),
                if loose.is_some() {
                    "the PROVIDE line is not written `# PROVIDE: name`, the only form rcorder(8) reads".into()
                } else {
                    "no `# PROVIDE:` line: rcorder(8) cannot order the script, so it is not started at boot".into()
                },
                format!(
                    "add `# PROVIDE: {}` after the first line",
                    if name_s.is_empty() {
                        &file_name
                    } else {
                        &name_s
                    }
                ),
            );
        }
        Some((line, provides)) => {
            let first = provides.first().cloned().unwrap_or_default();
            if first != name_s || (!file_name.is_empty() && first != file_name) {
                find(
                    Level::Error,
                    Code::ProvideMismatch,
                    line,
                    format!("PROVIDE ({first}), $name ({name_s}) and the file name ({file_name}) differ: service(8) finds the script by file name, rc.subr reads ${{name}}_* settings, rcorder orders by PROVIDE"),
                    format!("make all three the same (no `.sh` suffix, `_` not `-`), e.g. `{}`", if name_s.is_empty() { first } else { name_s.clone() }),
                );
            }
        }
    }
    if rc_subr.is_none() {
        find(
            Level::Error,
            Code::NoRcSubr,
            0,
            "the script does not source /etc/rc.subr: load_rc_config and run_rc_command do not exist without it".into(),
            "add `. /etc/rc.subr` after the header comments".into(),
        );
    }
    match get("rcvar") {
        None => find(
            Level::Error,
            Code::NoRcvar,
            0,
            "rcvar is not set: `service NAME start` runs regardless of rc.conf and the service cannot be enabled with sysrc".into(),
            format!("add rcvar=\"{name_s}_enable\" and `: ${{{name_s}_enable:=\"NO\"}}` after load_rc_config"),
        ),
        Some(r) if r != format!("{name_s}_enable") && !r.contains("set_rcvar") => find(
            Level::Warning,
            Code::RcvarName,
            line_of("rcvar"),
            format!("rcvar is `{r}`, not `{name_s}_enable`: users enable services with `sysrc {name_s}_enable=YES`"),
            format!("use rcvar=\"{name_s}_enable\""),
        ),
        _ => {}
    }
    if load.is_none() {
        find(
            Level::Error,
            Code::NoLoadRcConfig,
            0,
            "load_rc_config is never called: the settings in rc.conf (and rc.conf.d) are not read"
                .into(),
            "add `load_rc_config $name` after name= and rcvar=, before the defaults".into(),
        );
    } else if let Some(line) = early_default {
        find(
            Level::Warning,
            Code::DefaultsBeforeLoadRcConfig,
            line,
            "defaults (`: ${x:=…}`) come before load_rc_config $name; the Porter's Handbook sets them after it, once rc.conf has been read".into(),
            "move the `: ${…:=…}` lines below `load_rc_config $name`".into(),
        );
    }
    if run.is_none() {
        find(
            Level::Error,
            Code::NoRunRcCommand,
            0,
            "run_rc_command is never called: the script does nothing".into(),
            "end the script with `run_rc_command \"$1\"`".into(),
        );
    }

    let require = header(&lines, "REQUIRE")
        .map(|(_, r)| r)
        .unwrap_or_default();
    let shutdown =
        header(&lines, "KEYWORD").is_some_and(|(_, k)| k.iter().any(|k| k == "shutdown"));
    let rc_user = get(&format!("{name_s}_user")).filter(|u| !u.is_empty());
    let command = get("command").unwrap_or_default();
    let mut runs_as = rc_user.clone();
    if basename(&command) == "daemon" {
        let args = shell::split(&get("command_args").unwrap_or_default());
        let d = parse_daemon(&args);
        let args_line = line_of("command_args");
        let restart = d.flags.contains(&'r') || d.values.contains_key(&'R');
        let supervised = restart
            || d.values.contains_key(&'P')
            || d.values.contains_key(&'p')
            || d.values.contains_key(&'o');
        if !d.flags.contains(&'f') {
            find(
                Level::Error,
                Code::DaemonNoF,
                args_line,
                "daemon(8) runs without -f: it keeps stdin/stdout/stderr of `service start` open, which then hangs (or dies with the terminal)".into(),
                "add -f to command_args".into(),
            );
        }
        let pidfile = get("pidfile");
        let sup = d.values.get(&'P');
        let child = d.values.get(&'p');
        if restart && child.is_some() && sup.is_none() {
            find(
                Level::Error,
                Code::DaemonRestartChildPidfile,
                args_line,
                "daemon -r with -p: the pid file holds the child's pid, so `service stop` kills the child and the supervisor starts it again".into(),
                "use -P ${pidfile} (the supervisor's pid) instead of -p".into(),
            );
        }
        match (sup.or(child), &pidfile) {
            (None, _) => find(
                Level::Error,
                Code::DaemonPidfileMismatch,
                args_line,
                "daemon(8) writes no pid file: rc.subr then looks for any process named daemon, so `service stop` and `status` can act on another service's daemon".into(),
                "set pidfile=\"/var/run/${name}/${name}.pid\" and pass -P ${pidfile}".into(),
            ),
            (Some(p), None) => find(
                Level::Error,
                Code::DaemonPidfileMismatch,
                args_line,
                format!("daemon writes {p} but pidfile= is not set: rc.subr cannot find the running service"),
                format!("set pidfile=\"{p}\" (and pass -P ${{pidfile}})"),
            ),
            (Some(p), Some(pf)) if p != pf => find(
                Level::Error,
                Code::DaemonPidfileMismatch,
                args_line,
                format!("daemon writes {p} but pidfile= is {pf}: `service stop` and `status` read the wrong file"),
                "pass -P ${pidfile}".into(),
            ),
            _ => {}
        }
        if let Some(p) = get("procname").filter(|p| p != "/usr/sbin/daemon") {
            find(
                Level::Error,
                Code::ProcnameWithDaemon,
                line_of("procname"),
                format!("procname is {p}, but the process in the pid file is daemon(8)'s supervisor, titled `daemon: …`: rc.subr matches it only while procname is /usr/sbin/daemon, so `service stop` finds nothing"),
                "remove procname=".into(),
            );
        }
        if let Some(u) = d.values.get(&'u') {
            if rc_user.is_some() {
                find(
                    Level::Error,
                    Code::UserWithDaemonU,
                    line_of(&format!("{name_s}_user")),
                    format!("{name_s}_user is set and daemon gets -u: rc.subr runs daemon through `su -m {}`, so it starts unprivileged and cannot switch to the -u user or write its files", rc_user.clone().unwrap_or_default()),
                    format!("copy the user to another variable and `unset {name_s}_user` before run_rc_command ({name_s}_runas=\"${{{name_s}_user}}\"), and pass -u ${{{name_s}_runas}}"),
                );
            }
            runs_as = Some(u.clone());
        }
        let drops = runs_as.as_deref().is_some_and(|u| u != "root");
        if supervised && !shutdown {
            find(
                Level::Warning,
                Code::NoShutdownKeyword,
                header(&lines, "KEYWORD").map(|(l, _)| l).unwrap_or(0),
                "a supervised daemon without `# KEYWORD: shutdown`: it is not stopped cleanly at shutdown".into(),
                "add `# KEYWORD: shutdown` to the header".into(),
            );
        }
        // What start_precmd (or any function) creates.
        let created = |target: &str, dir: bool| {
            functions.values().flatten().any(|c| {
                let w: Vec<String> = c.words().iter().map(|x| shell::expand(x, &vars)).collect();
                let tool = basename(&w[0]);
                let mentions = w.iter().any(|x| x == target);
                mentions
                    && match tool {
                        "install" => !dir || w.iter().any(|x| x == "-d"),
                        "mkdir" => dir,
                        "touch" | "chown" => !dir,
                        _ => false,
                    }
            })
        };
        if let Some(p) = sup.or(child) {
            let dir = parent(p);
            if drops && (dir == "/var/run" || dir == "/run") {
                find(
                    Level::Warning,
                    Code::PidfileDir,
                    args_line,
                    format!("the pid file {p} is in {dir}, which only root can write, while daemon -u drops privileges: a daemon(8) that has dropped them cannot create or remove it there"),
                    "use pidfile=\"/var/run/${name}/${name}.pid\" and create the directory in start_precmd: install -d -o USER -m 755 /var/run/${name}".into(),
                );
            } else if dir.starts_with("/var/run/") && !created(dir, true) {
                find(
                    Level::Warning,
                    Code::PidfileDir,
                    args_line,
                    format!("the pid file's directory {dir} is not created by the script, and /var/run is emptied at boot"),
                    format!("create it in start_precmd: install -d{} -m 755 {dir}", if drops { " -o USER" } else { "" }),
                );
            }
        }
        if let Some(log) = d.values.get(&'o') {
            if !d.flags.contains(&'H') {
                find(
                    Level::Warning,
                    Code::LogNoReopen,
                    args_line,
                    format!("daemon -o {log} without -H: when newsyslog rotates the log, daemon keeps writing to the rotated file"),
                    format!("add -H, and a newsyslog drop-in /usr/local/etc/newsyslog.conf.d/{name_s}.conf naming {log} and the -P pid file (newsyslog sends SIGHUP, -H reopens)"),
                );
            }
            if drops && !created(log, false) {
                find(
                    Level::Warning,
                    Code::LogNotWritable,
                    args_line,
                    format!("the script does not create {log} for the user daemon -u runs as: its owner and mode depend on who creates it first (the field notes `touch` and `chown` it by hand)"),
                    format!("create it in start_precmd: [ -e {log} ] || install -o USER -m 600 /dev/null {log}"),
                );
            }
        }
        if d.child.first().is_some_and(|c| basename(c) == "env") {
            find(
                Level::Warning,
                Code::EnvWrapper,
                args_line,
                "the service is started through env(1) to set its environment: rc.subr has that built in".into(),
                format!("set {name_s}_env=\"NAME=value …\" (and {name_s}_env_file for secrets, sourced as root) and drop env from command_args"),
            );
        }
    }
    if runs_as.as_deref().is_some_and(|u| u != "root") && !require.iter().any(|r| r == "LOGIN") {
        find(
            Level::Error,
            Code::RequireLogin,
            header(&lines, "REQUIRE").map(|(l, _)| l).unwrap_or(0),
            format!("the service runs as {} but does not REQUIRE LOGIN: it may start before user accounts and home directories are usable", runs_as.clone().unwrap_or_default()),
            "add LOGIN to `# REQUIRE:`".into(),
        );
    }
    FileReport {
        path: path.to_path_buf(),
        unreadable: None,
        name,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn daemon_options_like_getopt() {
        let a: Vec<String> = "-fr -R 10 -P/x.pid -u bob --output-file=/l -H /bin/x -v"
            .split(' ')
            .map(str::to_string)
            .collect();
        let d = parse_daemon(&a);
        assert!(d.flags.contains(&'f') && d.flags.contains(&'r') && d.flags.contains(&'H'));
        assert_eq!(d.values[&'P'], "/x.pid");
        assert_eq!(d.values[&'R'], "10");
        assert_eq!(d.values[&'o'], "/l");
        assert_eq!(d.child, ["/bin/x", "-v"]);
    }
}
