//! daemon(8): its command line as daemon itself reads it (its getopt
//! letters and long names), and the rules about a service started through
//! it (in [`super::rules::RULES`]).

use std::collections::{BTreeMap, BTreeSet};

use super::rules::finding;
use super::script::{basename, parent, Script};
use crate::rcd::report::{Code, Finding, Level};

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

#[derive(Debug, Default, Clone)]
pub(super) struct DaemonArgs {
    pub flags: BTreeSet<char>,
    pub values: BTreeMap<char, String>,
    /// The command daemon runs, and its arguments.
    pub child: Vec<String>,
}

impl DaemonArgs {
    /// `-r` or `-R`: daemon restarts the child.
    pub fn restarts(&self) -> bool {
        self.flags.contains(&'r') || self.values.contains_key(&'R')
    }

    /// daemon stays as a supervisor (restarts, pid files, output).
    pub fn supervises(&self) -> bool {
        self.restarts()
            || self.values.contains_key(&'P')
            || self.values.contains_key(&'p')
            || self.values.contains_key(&'o')
    }

    /// The pid file daemon writes: the supervisor's (`-P`), else the
    /// child's (`-p`).
    pub fn pidfile(&self) -> Option<&String> {
        self.values.get(&'P').or(self.values.get(&'p'))
    }
}

pub(super) fn parse_daemon(args: &[String]) -> DaemonArgs {
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

/// daemon's arguments, for the daemon rules (`None`: not started by daemon).
fn daemon(s: &Script) -> Option<&DaemonArgs> {
    s.daemon.as_ref()
}

/// daemon -f, or `service start` hangs.
pub(super) fn daemon_f(s: &Script) -> Vec<Finding> {
    match daemon(s) {
        Some(d) if !d.flags.contains(&'f') => vec![finding(
            Level::Error,
            Code::DaemonNoF,
            s.args_line(),
            "daemon(8) runs without -f: it keeps stdin/stdout/stderr of `service start` open, which then hangs (or dies with the terminal)".into(),
            "add -f to command_args".into(),
        )],
        _ => vec![],
    }
}

/// daemon -r restarts what `service stop` kills when the pid file is -p's.
pub(super) fn daemon_restart_child_pidfile(s: &Script) -> Vec<Finding> {
    match daemon(s) {
        Some(d) if d.restarts() && d.values.contains_key(&'p') && !d.values.contains_key(&'P') => {
            vec![finding(
                Level::Error,
                Code::DaemonRestartChildPidfile,
                s.args_line(),
                "daemon -r with -p: the pid file holds the child's pid, so `service stop` kills the child and the supervisor starts it again".into(),
                "use -P ${pidfile} (the supervisor's pid) instead of -p".into(),
            )]
        }
        _ => vec![],
    }
}

/// daemon writes the pid file `pidfile=` names.
pub(super) fn daemon_pidfile(s: &Script) -> Vec<Finding> {
    let Some(d) = daemon(s) else {
        return vec![];
    };
    let line = s.args_line();
    match (d.pidfile(), s.get("pidfile")) {
        (None, _) => vec![finding(
            Level::Error,
            Code::DaemonPidfileMismatch,
            line,
            "daemon(8) writes no pid file: rc.subr then looks for any process named daemon, so `service stop` and `status` can act on another service's daemon".into(),
            "set pidfile=\"/var/run/${name}/${name}.pid\" and pass -P ${pidfile}".into(),
        )],
        (Some(p), None) => vec![finding(
            Level::Error,
            Code::DaemonPidfileMismatch,
            line,
            format!("daemon writes {p} but pidfile= is not set: rc.subr cannot find the running service"),
            format!("set pidfile=\"{p}\" (and pass -P ${{pidfile}})"),
        )],
        (Some(p), Some(pf)) if *p != pf => vec![finding(
            Level::Error,
            Code::DaemonPidfileMismatch,
            line,
            format!("daemon writes {p} but pidfile= is {pf}: `service stop` and `status` read the wrong file"),
            "pass -P ${pidfile}".into(),
        )],
        _ => vec![],
    }
}

/// procname must stay daemon's own.
pub(super) fn procname_with_daemon(s: &Script) -> Vec<Finding> {
    if daemon(s).is_none() {
        return vec![];
    }
    match s.get("procname").filter(|p| p != "/usr/sbin/daemon") {
        Some(p) => vec![finding(
            Level::Error,
            Code::ProcnameWithDaemon,
            s.line_of("procname"),
            format!("procname is {p}, but the process in the pid file is daemon(8)'s supervisor, titled `daemon: …`: rc.subr matches it only while procname is /usr/sbin/daemon, so `service stop` finds nothing"),
            "remove procname=".into(),
        )],
        None => vec![],
    }
}

/// `${name}_user` and daemon -u do not mix.
pub(super) fn user_with_daemon_u(s: &Script) -> Vec<Finding> {
    let (Some(d), Some(user)) = (daemon(s), s.rc_user()) else {
        return vec![];
    };
    if !d.values.contains_key(&'u') {
        return vec![];
    }
    let name = s.name();
    vec![finding(
        Level::Error,
        Code::UserWithDaemonU,
        s.line_of(&format!("{name}_user")),
        format!("{name}_user is set and daemon gets -u: rc.subr runs daemon through `su -m {user}`, so it starts unprivileged and cannot switch to the -u user or write its files"),
        format!("copy the user to another variable and `unset {name}_user` before run_rc_command ({name}_runas=\"${{{name}_user}}\"), and pass -u ${{{name}_runas}}"),
    )]
}

/// A supervisor is stopped at shutdown only with `# KEYWORD: shutdown`.
pub(super) fn shutdown_keyword(s: &Script) -> Vec<Finding> {
    let keyword = s.header("KEYWORD");
    let shutdown = keyword
        .as_ref()
        .is_some_and(|(_, k)| k.iter().any(|k| k == "shutdown"));
    match daemon(s) {
        Some(d) if d.supervises() && !shutdown => vec![finding(
            Level::Warning,
            Code::NoShutdownKeyword,
            keyword.map(|(l, _)| l).unwrap_or(0),
            "a supervised daemon without `# KEYWORD: shutdown`: it is not stopped cleanly at shutdown".into(),
            "add `# KEYWORD: shutdown` to the header".into(),
        )],
        _ => vec![],
    }
}

/// The pid file's directory: writable by the user, and created at start.
pub(super) fn pidfile_dir(s: &Script) -> Vec<Finding> {
    let Some(p) = daemon(s).and_then(|d| d.pidfile()) else {
        return vec![];
    };
    let (dir, drops) = (parent(p), s.drops());
    if drops && (dir == "/var/run" || dir == "/run") {
        vec![finding(
            Level::Warning,
            Code::PidfileDir,
            s.args_line(),
            format!("the pid file {p} is in {dir}, which only root can write, while daemon -u drops privileges: a daemon(8) that has dropped them cannot create or remove it there"),
            "use pidfile=\"/var/run/${name}/${name}.pid\" and create the directory in start_precmd: install -d -o USER -m 755 /var/run/${name}".into(),
        )]
    } else if dir.starts_with("/var/run/") && !s.creates(dir, true) {
        vec![finding(
            Level::Warning,
            Code::PidfileDir,
            s.args_line(),
            format!("the pid file's directory {dir} is not created by the script, and /var/run is emptied at boot"),
            format!("create it in start_precmd: install -d{} -m 755 {dir}", if drops { " -o USER" } else { "" }),
        )]
    } else {
        vec![]
    }
}

/// daemon -o needs -H to follow newsyslog's rotation.
pub(super) fn log_reopen(s: &Script) -> Vec<Finding> {
    let Some(d) = daemon(s) else {
        return vec![];
    };
    match d.values.get(&'o') {
        Some(log) if !d.flags.contains(&'H') => vec![finding(
            Level::Warning,
            Code::LogNoReopen,
            s.args_line(),
            format!("daemon -o {log} without -H: when newsyslog rotates the log, daemon keeps writing to the rotated file"),
            format!("add -H, and a newsyslog drop-in /usr/local/etc/newsyslog.conf.d/{}.conf naming {log} and the -P pid file (newsyslog sends SIGHUP, -H reopens)", s.name()),
        )],
        _ => vec![],
    }
}

/// daemon -o's file, created for the user it runs as.
pub(super) fn log_writable(s: &Script) -> Vec<Finding> {
    match daemon(s).and_then(|d| d.values.get(&'o')) {
        Some(log) if s.drops() && !s.creates(log, false) => vec![finding(
            Level::Warning,
            Code::LogNotWritable,
            s.args_line(),
            format!("the script does not create {log} for the user daemon -u runs as: its owner and mode depend on who creates it first (the field notes `touch` and `chown` it by hand)"),
            format!("create it in start_precmd: [ -e {log} ] || install -o USER -m 600 /dev/null {log}"),
        )],
        _ => vec![],
    }
}

/// rc.subr sets the environment itself (`${name}_env`).
pub(super) fn env_wrapper(s: &Script) -> Vec<Finding> {
    match daemon(s) {
        Some(d) if d.child.first().is_some_and(|c| basename(c) == "env") => {
            let name = s.name();
            vec![finding(
                Level::Warning,
                Code::EnvWrapper,
                s.args_line(),
                "the service is started through env(1) to set its environment: rc.subr has that built in".into(),
                format!("set {name}_env=\"NAME=value …\" (and {name}_env_file for secrets, sourced as root) and drop env from command_args"),
            )]
        }
        _ => vec![],
    }
}

#[cfg(test)]
mod tests {
    use super::super::rules::tests::{found, script, GOOD};
    use super::*;

    fn parse(s: &str) -> DaemonArgs {
        let a: Vec<String> = s.split(' ').map(str::to_string).collect();
        parse_daemon(&a)
    }

    #[test]
    fn daemon_options_like_getopt() {
        let d = parse("-fr -R 10 -P/x.pid -u bob --output-file=/l -H /bin/x -v");
        assert!(d.flags.contains(&'f') && d.flags.contains(&'r') && d.flags.contains(&'H'));
        assert_eq!(d.values[&'P'], "/x.pid");
        assert_eq!(d.values[&'R'], "10");
        assert_eq!(d.values[&'o'], "/l");
        assert_eq!(d.child, ["/bin/x", "-v"]);
        assert!(d.restarts() && d.supervises());
        assert_eq!(d.pidfile().map(String::as_str), Some("/x.pid"));
    }

    #[test]
    fn plain_daemon_and_the_end_of_options() {
        let d = parse("-f --child-pidfile /c.pid -- -x");
        assert!(!d.restarts() && d.supervises());
        assert_eq!(d.pidfile().map(String::as_str), Some("/c.pid"));
        assert_eq!(d.child, ["-x"]);
        let d = parse("-f /bin/x");
        assert!(!d.supervises() && d.pidfile().is_none());
    }

    #[test]
    fn daemon_rules() {
        assert_eq!(found(daemon_f, "-f -r", "-r"), [(Code::DaemonNoF, 23)]);
        assert_eq!(
            found(
                daemon_restart_child_pidfile,
                "-P ${pidfile}",
                "-p ${pidfile}"
            ),
            [(Code::DaemonRestartChildPidfile, 23)]
        );
        assert_eq!(
            found(daemon_pidfile, "-P ${pidfile} ", ""),
            [(Code::DaemonPidfileMismatch, 23)]
        );
        assert_eq!(
            found(
                daemon_pidfile,
                "pidfile=\"/var/run/${name}/${name}.pid\"",
                ""
            ),
            [(Code::DaemonPidfileMismatch, 23)]
        );
        assert_eq!(
            found(daemon_pidfile, "-P ${pidfile}", "-P /tmp/x.pid"),
            [(Code::DaemonPidfileMismatch, 23)]
        );
        assert_eq!(
            found(
                procname_with_daemon,
                "start_precmd",
                "procname=\"/usr/local/bin/mybot\"\nstart_precmd"
            ),
            [(Code::ProcnameWithDaemon, 24)]
        );
        assert_eq!(
            found(user_with_daemon_u, "unset mybot_user", ""),
            [(Code::UserWithDaemonU, 15)]
        );
        assert_eq!(
            found(
                pidfile_dir,
                "/var/run/${name}/${name}.pid",
                "/var/run/${name}.pid"
            ),
            [(Code::PidfileDir, 23)]
        );
        assert_eq!(
            found(
                pidfile_dir,
                "install -d -o \"${mybot_runas}\" -m 0755 \"/var/run/${name}\" || return 1",
                "true"
            ),
            [(Code::PidfileDir, 23)]
        );
        assert_eq!(found(log_reopen, " -H ", " "), [(Code::LogNoReopen, 23)]);
        assert_eq!(
            found(log_writable, "[ -e \"${mybot_logfile}\" ] || install -o \"${mybot_runas}\" -m 0600 /dev/null \"${mybot_logfile}\"", "true"),
            [(Code::LogNotWritable, 23)]
        );
        assert_eq!(
            found(env_wrapper, "-H /usr", "-H /usr/bin/env A=1 /usr"),
            [(Code::EnvWrapper, 23)]
        );
    }

    #[test]
    fn daemon_rules_need_daemon() {
        let plain = GOOD.replace("/usr/sbin/daemon", "/usr/local/bin/mybot");
        let s = script(&plain);
        assert!(s.daemon.is_none());
        for rule in [
            daemon_f,
            daemon_pidfile,
            shutdown_keyword,
            log_reopen,
            env_wrapper,
        ] {
            assert!(rule(&s).is_empty());
        }
    }
}
