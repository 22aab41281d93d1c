//! An rc.d script read statically (never run), as the rules see it: its
//! header lines, its top-level assignments and `: ${x:=y}` defaults
//! evaluated in order up to `run_rc_command`, where rc.subr's calls are,
//! its functions, and `command_args` parsed when the command is daemon(8).

use std::collections::BTreeMap;
use std::path::Path;

use super::daemon::{parse_daemon, DaemonArgs};
use crate::rcd::shell::{self, Cmd};

pub(super) struct Script {
    pub lines: Vec<String>,
    /// The file name: what rc(8) and service(8) run it as.
    pub file_name: String,
    vars: BTreeMap<String, String>,
    set_at: BTreeMap<String, usize>,
    /// Lines of `. /etc/rc.subr`, the first `load_rc_config`, `run_rc_command`.
    pub rc_subr: Option<usize>,
    pub load: Option<usize>,
    pub run: Option<usize>,
    /// The first `: ${x:=…}` before `load_rc_config`.
    pub early_default: Option<usize>,
    /// Every command inside a function.
    functions: Vec<Cmd>,
    /// `command_args`, when `command` is daemon(8).
    pub daemon: Option<DaemonArgs>,
}

impl Script {
    pub fn read(path: &Path, text: &str) -> Script {
        let mut s = Script {
            lines: text.lines().map(str::to_string).collect(),
            file_name: path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            vars: BTreeMap::new(),
            set_at: BTreeMap::new(),
            rc_subr: None,
            load: None,
            run: None,
            early_default: None,
            functions: vec![],
            daemon: None,
        };
        for c in shell::commands(text) {
            if c.function.is_some() {
                s.functions.push(c);
            } else if s.run.is_none() {
                s.evaluate(&c);
            }
        }
        if basename(&s.get("command").unwrap_or_default()) == "daemon" {
            s.daemon = Some(parse_daemon(&shell::split(
                &s.get("command_args").unwrap_or_default(),
            )));
        }
        s
    }

    /// One top-level command, before `run_rc_command`.
    fn evaluate(&mut self, c: &Cmd) {
        let w = c.words();
        match w[0].as_str() {
            "." | "source" if w.get(1).is_some_and(|p| p.ends_with("/etc/rc.subr")) => {
                self.rc_subr = Some(c.line)
            }
            "load_rc_config" => {
                self.load.get_or_insert(c.line);
            }
            "run_rc_command" => self.run = Some(c.line),
            "unset" => {
                for v in &w[1..] {
                    self.vars.remove(v);
                }
            }
            ":" => {
                for word in &c.raw[1..] {
                    if let Some((k, v)) = default_of(word) {
                        if self.load.is_none() && self.early_default.is_none() {
                            self.early_default = Some(c.line);
                        }
                        if self
                            .vars
                            .get(&k)
                            .is_none_or(|x| x.is_empty() && word.contains(":="))
                        {
                            let v = shell::expand(&v, &self.vars);
                            self.vars.insert(k.clone(), v);
                            self.set_at.insert(k, c.line);
                        }
                    }
                }
            }
            _ => {
                if w.iter().all(|x| is_assignment(x).is_some()) {
                    for x in &w {
                        let (k, v) = is_assignment(x).expect("checked");
                        let v = shell::expand(v, &self.vars);
                        self.vars.insert(k.to_string(), v);
                        self.set_at.insert(k.to_string(), c.line);
                    }
                }
            }
        }
    }

    /// A variable's value where `run_rc_command` is called, expanded.
    pub fn get(&self, k: &str) -> Option<String> {
        self.vars.get(k).map(|v| shell::expand(v, &self.vars))
    }

    /// The line that last set `k` (0: never set).
    pub fn line_of(&self, k: &str) -> usize {
        self.set_at.get(k).copied().unwrap_or(0)
    }

    /// `$name`, or empty.
    pub fn name(&self) -> String {
        self.get("name").unwrap_or_default()
    }

    /// `name`, or where it is not set the one the `name` rule suggests (the
    /// file's name, `-` as `_`): fix texts that spell a variable then name a
    /// real one, never `_enable`.
    pub fn name_or_suggested(&self) -> String {
        self.get("name")
            .unwrap_or_else(|| self.file_name.replace('-', "_"))
    }

    /// The line of `command_args`.
    pub fn args_line(&self) -> usize {
        self.line_of("command_args")
    }

    /// `${name}_user`, when set and not empty.
    pub fn rc_user(&self) -> Option<String> {
        self.get(&format!("{}_user", self.name()))
            .filter(|u| !u.is_empty())
    }

    /// The user the service runs as: daemon's `-u`, else `${name}_user`.
    pub fn runs_as(&self) -> Option<String> {
        self.daemon
            .as_ref()
            .and_then(|d| d.values.get(&'u').cloned())
            .or_else(|| self.rc_user())
    }

    /// The service runs as another user than root.
    pub fn drops(&self) -> bool {
        self.runs_as().is_some_and(|u| u != "root")
    }

    /// An rc.d script's header keyword line (`# PROVIDE: a b`), as
    /// rcorder(8) reads it: exactly `# KEY:`.
    pub fn header(&self, key: &str) -> Option<(usize, Vec<String>)> {
        let exact = format!("# {key}:");
        self.lines.iter().enumerate().find_map(|(i, l)| {
            l.strip_prefix(&exact)
                .map(|rest| (i + 1, rest.split_whitespace().map(str::to_string).collect()))
        })
    }

    /// A loosely written header (`#PROVIDE:`, `# Provide :`) rcorder ignores.
    pub fn loose_header(&self, key: &str) -> Option<usize> {
        self.lines
            .iter()
            .position(|l| {
                let t = l.trim_start_matches('#').trim_start();
                l.starts_with('#')
                    && t.to_ascii_uppercase().starts_with(key)
                    && !l.starts_with(&format!("# {key}:"))
            })
            .map(|i| i + 1)
    }

    /// Whether a function (start_precmd, …) creates `target`: a directory
    /// (`install -d`, `mkdir`) or a file (`install`, `touch`, `chown`).
    pub fn creates(&self, target: &str, dir: bool) -> bool {
        self.functions.iter().any(|c| {
            let w: Vec<String> = c
                .words()
                .iter()
                .map(|x| shell::expand(x, &self.vars))
                .collect();
            let mentions = w.iter().any(|x| x == target);
            mentions
                && match basename(&w[0]) {
                    "install" => !dir || w.iter().any(|x| x == "-d"),
                    "mkdir" => dir,
                    "touch" | "chown" => !dir,
                    _ => false,
                }
        })
    }
}

pub(super) fn basename(p: &str) -> &str {
    p.rsplit('/').next().unwrap_or(p)
}

pub(super) fn parent(p: &str) -> &str {
    match p.rfind('/') {
        Some(0) => "/",
        Some(i) => &p[..i],
        None => ".",
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evaluated_up_to_run_rc_command() {
        let s = Script::read(
            Path::new("/etc/rc.d/x"),
            "#!/bin/sh\n# PROVIDE: x\n#REQUIRE: LOGIN\n. /etc/rc.subr\nname=x\n: ${x_user:=\"bob\"}\nload_rc_config $name\n: ${x_user:=\"alice\"}\npidfile=/var/run/${name}.pid\nx_tmp=1\nunset x_tmp\ncommand=/usr/sbin/daemon\ncommand_args=\"-f -P ${pidfile} -u root /bin/x\"\nf()\n{\n\tinstall -d /var/run/${name}\n}\nrun_rc_command \"$1\"\nname=late\n",
        );
        assert_eq!(s.file_name, "x");
        assert_eq!((s.rc_subr, s.load, s.run), (Some(4), Some(7), Some(18)));
        assert_eq!(s.early_default, Some(6));
        assert_eq!(s.name(), "x", "nothing after run_rc_command counts");
        assert_eq!(
            s.rc_user().as_deref(),
            Some("bob"),
            "the first default wins"
        );
        assert_eq!(s.line_of("x_user"), 6);
        assert_eq!(s.get("x_tmp"), None);
        assert_eq!(s.get("pidfile").as_deref(), Some("/var/run/x.pid"));
        let d = s.daemon.as_ref().unwrap();
        assert_eq!(d.pidfile().map(String::as_str), Some("/var/run/x.pid"));
        assert_eq!(s.runs_as().as_deref(), Some("root"), "-u wins over x_user");
        assert!(!s.drops());
        assert_eq!(s.header("PROVIDE"), Some((2, vec!["x".to_string()])));
        assert_eq!(s.header("REQUIRE"), None);
        assert_eq!(s.loose_header("REQUIRE"), Some(3));
        assert!(s.creates("/var/run/x", true) && !s.creates("/var/run/y", true));
        assert!(!s.creates("/var/log/x.log", false));
    }

    #[test]
    fn paths_and_words() {
        assert_eq!(
            (basename("/usr/sbin/daemon"), basename("env")),
            ("daemon", "env")
        );
        assert_eq!(
            (parent("/var/run/x.pid"), parent("/x"), parent("x")),
            ("/var/run", "/", ".")
        );
        assert_eq!(is_assignment("a_1=b=c"), Some(("a_1", "b=c")));
        assert_eq!(is_assignment("1a=b"), None);
        assert_eq!(default_of("${a:=\"NO\"}"), Some(("a".into(), "NO".into())));
        assert_eq!(default_of("${a=x}"), Some(("a".into(), "x".into())));
        assert_eq!(default_of("${a:-x}"), None);
    }
}
