//! The rules: one function per question `bsdx rcd lint` asks of a script
//! ([`RULES`], in the order their findings are reported). Each reads the
//! statically evaluated [`Script`]; the daemon(8) rules only speak when
//! the command is daemon.

use super::daemon::DaemonArgs;
use super::script::{basename, parent, Script};
use crate::rcd::report::{Code, Finding, Level};

fn finding(level: Level, code: Code, line: usize, message: String, fix: String) -> Finding {
    Finding {
        level,
        code,
        line,
        message,
        fix,
    }
}

type Rule = fn(&Script) -> Vec<Finding>;

/// Every rule but `sh -n`'s, in the order the report lists findings.
pub(super) const RULES: &[Rule] = &[
    shebang,
    name,
    provide,
    rc_subr,
    rcvar,
    load_rc_config,
    run_rc_command,
    daemon_f,
    daemon_restart_child_pidfile,
    daemon_pidfile,
    procname_with_daemon,
    user_with_daemon_u,
    shutdown_keyword,
    pidfile_dir,
    log_reopen,
    log_writable,
    env_wrapper,
    require_login,
];

/// rc(8) runs scripts with /bin/sh.
fn shebang(s: &Script) -> Vec<Finding> {
    if s.lines.first().map(|l| l.trim_end()) == Some("#!/bin/sh") {
        return vec![];
    }
    vec![finding(
        Level::Error,
        Code::Shebang,
        1,
        "the first line is not `#!/bin/sh`: rc(8) and service(8) run rc.d scripts with /bin/sh"
            .into(),
        "make the first line `#!/bin/sh`".into(),
    )]
}

/// `$name` set, and a shell variable name.
fn name(s: &Script) -> Vec<Finding> {
    match s.get("name") {
        None => vec![finding(
            Level::Error,
            Code::NameInvalid,
            0,
            "`name` is not set: rc.subr needs it for every variable it reads (${name}_enable, …)"
                .into(),
            format!(
                "add name=\"{}\" before load_rc_config",
                s.file_name.replace('-', "_")
            ),
        )],
        Some(n)
            if n.is_empty()
                || !n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                || n.starts_with(|c: char| c.is_ascii_digit()) =>
        {
            vec![finding(
                Level::Error,
                Code::NameInvalid,
                s.line_of("name"),
                format!("name=\"{n}\" is not a shell variable name: rc.subr builds ${{name}}_enable, ${{name}}_user … from it, and `-` (or any other character but letters, digits, `_`) breaks them"),
                format!("use name=\"{}\" (and the same PROVIDE and file name)", n.replace(|c: char| !(c.is_ascii_alphanumeric()), "_")),
            )]
        }
        _ => vec![],
    }
}

/// `# PROVIDE:` as rcorder reads it, the same as `$name` and the file name.
fn provide(s: &Script) -> Vec<Finding> {
    let name = s.name();
    let file_name = &s.file_name;
    match s.header("PROVIDE") {
        None => {
            let loose = s.loose_header("PROVIDE");
            vec![finding(
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
                    if name.is_empty() { file_name } else { &name }
                ),
            )]
        }
        Some((line, provides)) => {
            let first = provides.first().cloned().unwrap_or_default();
            if first == name && (file_name.is_empty() || first == *file_name) {
                return vec![];
            }
            vec![finding(
                Level::Error,
                Code::ProvideMismatch,
                line,
                format!("PROVIDE ({first}), $name ({name}) and the file name ({file_name}) differ: service(8) finds the script by file name, rc.subr reads ${{name}}_* settings, rcorder orders by PROVIDE"),
                format!("make all three the same (no `.sh` suffix, `_` not `-`), e.g. `{}`", if name.is_empty() { first } else { name.clone() }),
            )]
        }
    }
}

/// `. /etc/rc.subr`.
fn rc_subr(s: &Script) -> Vec<Finding> {
    if s.rc_subr.is_some() {
        return vec![];
    }
    vec![finding(
        Level::Error,
        Code::NoRcSubr,
        0,
        "the script does not source /etc/rc.subr: load_rc_config and run_rc_command do not exist without it".into(),
        "add `. /etc/rc.subr` after the header comments".into(),
    )]
}

/// `rcvar=${name}_enable`.
fn rcvar(s: &Script) -> Vec<Finding> {
    let name = s.name();
    match s.get("rcvar") {
        None => vec![finding(
            Level::Error,
            Code::NoRcvar,
            0,
            "rcvar is not set: `service NAME start` runs regardless of rc.conf and the service cannot be enabled with sysrc".into(),
            format!("add rcvar=\"{name}_enable\" and `: ${{{name}_enable:=\"NO\"}}` after load_rc_config"),
        )],
        Some(r) if r != format!("{name}_enable") && !r.contains("set_rcvar") => vec![finding(
            Level::Warning,
            Code::RcvarName,
            s.line_of("rcvar"),
            format!("rcvar is `{r}`, not `{name}_enable`: users enable services with `sysrc {name}_enable=YES`"),
            format!("use rcvar=\"{name}_enable\""),
        )],
        _ => vec![],
    }
}

/// `load_rc_config`, before the defaults.
fn load_rc_config(s: &Script) -> Vec<Finding> {
    match (s.load, s.early_default) {
        (None, _) => vec![finding(
            Level::Error,
            Code::NoLoadRcConfig,
            0,
            "load_rc_config is never called: the settings in rc.conf (and rc.conf.d) are not read"
                .into(),
            "add `load_rc_config $name` after name= and rcvar=, before the defaults".into(),
        )],
        (Some(_), Some(line)) => vec![finding(
            Level::Warning,
            Code::DefaultsBeforeLoadRcConfig,
            line,
            "defaults (`: ${x:=…}`) come before load_rc_config $name; the Porter's Handbook sets them after it, once rc.conf has been read".into(),
            "move the `: ${…:=…}` lines below `load_rc_config $name`".into(),
        )],
        (Some(_), None) => vec![],
    }
}

/// `run_rc_command "$1"`.
fn run_rc_command(s: &Script) -> Vec<Finding> {
    if s.run.is_some() {
        return vec![];
    }
    vec![finding(
        Level::Error,
        Code::NoRunRcCommand,
        0,
        "run_rc_command is never called: the script does nothing".into(),
        "end the script with `run_rc_command \"$1\"`".into(),
    )]
}

/// daemon's arguments, for the daemon rules (`None`: not started by daemon).
fn daemon(s: &Script) -> Option<&DaemonArgs> {
    s.daemon.as_ref()
}

/// daemon -f, or `service start` hangs.
fn daemon_f(s: &Script) -> Vec<Finding> {
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
fn daemon_restart_child_pidfile(s: &Script) -> Vec<Finding> {
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
fn daemon_pidfile(s: &Script) -> Vec<Finding> {
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
fn procname_with_daemon(s: &Script) -> Vec<Finding> {
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
fn user_with_daemon_u(s: &Script) -> Vec<Finding> {
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
fn shutdown_keyword(s: &Script) -> Vec<Finding> {
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
fn pidfile_dir(s: &Script) -> Vec<Finding> {
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
fn log_reopen(s: &Script) -> Vec<Finding> {
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
fn log_writable(s: &Script) -> Vec<Finding> {
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
fn env_wrapper(s: &Script) -> Vec<Finding> {
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

/// A service that runs as a user starts after LOGIN.
fn require_login(s: &Script) -> Vec<Finding> {
    let require = s.header("REQUIRE");
    let login = require
        .as_ref()
        .is_some_and(|(_, r)| r.iter().any(|r| r == "LOGIN"));
    match s.runs_as() {
        Some(user) if user != "root" && !login => vec![finding(
            Level::Error,
            Code::RequireLogin,
            require.map(|(l, _)| l).unwrap_or(0),
            format!("the service runs as {user} but does not REQUIRE LOGIN: it may start before user accounts and home directories are usable"),
            "add LOGIN to `# REQUIRE:`".into(),
        )],
        _ => vec![],
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    /// A correct script (as `bsdx rcd` writes them): each test makes one
    /// mistake in it.
    const GOOD: &str = r#"#!/bin/sh
#
# PROVIDE: mybot
# REQUIRE: LOGIN NETWORKING
# KEYWORD: shutdown

. /etc/rc.subr

name="mybot"
rcvar="mybot_enable"

load_rc_config $name

: ${mybot_enable:="NO"}
: ${mybot_user:="mybot"}
: ${mybot_logfile:="/var/log/mybot.log"}

mybot_runas="${mybot_user}"
unset mybot_user

pidfile="/var/run/${name}/${name}.pid"
command="/usr/sbin/daemon"
command_args="-f -r -R 5 -P ${pidfile} -u ${mybot_runas} -o ${mybot_logfile} -H /usr/local/bin/mybot"
start_precmd="mybot_prestart"

mybot_prestart()
{
	install -d -o "${mybot_runas}" -m 0755 "/var/run/${name}" || return 1
	[ -e "${mybot_logfile}" ] || install -o "${mybot_runas}" -m 0600 /dev/null "${mybot_logfile}"
}

run_rc_command "$1"
"#;

    fn script(text: &str) -> Script {
        Script::read(Path::new("/usr/local/etc/rc.d/mybot"), text)
    }

    /// The findings of `rule` on GOOD with `from` replaced by `to`:
    /// (code, line).
    fn found(rule: Rule, from: &str, to: &str) -> Vec<(Code, usize)> {
        assert!(GOOD.contains(from), "{from}");
        rule(&script(&GOOD.replacen(from, to, 1)))
            .iter()
            .map(|f| (f.code, f.line))
            .collect()
    }

    #[test]
    fn the_good_script_has_no_finding() {
        let s = script(GOOD);
        for rule in RULES {
            let f = rule(&s);
            assert!(f.is_empty(), "{f:?}");
        }
    }

    #[test]
    fn header_rules() {
        assert_eq!(
            found(shebang, "#!/bin/sh", "#!/bin/bash"),
            [(Code::Shebang, 1)]
        );
        assert_eq!(
            found(provide, "# PROVIDE: mybot", "#PROVIDE: mybot"),
            [(Code::NoProvide, 3)]
        );
        assert_eq!(
            found(provide, "# PROVIDE: mybot", ""),
            [(Code::NoProvide, 0)]
        );
        assert_eq!(
            found(provide, "# PROVIDE: mybot", "# PROVIDE: my_bot"),
            [(Code::ProvideMismatch, 3)]
        );
        assert_eq!(
            found(require_login, " LOGIN", ""),
            [(Code::RequireLogin, 4)]
        );
        assert_eq!(
            found(shutdown_keyword, "shutdown", "nojail"),
            [(Code::NoShutdownKeyword, 5)]
        );
    }

    #[test]
    fn rc_subr_rules() {
        assert_eq!(
            found(name, "name=\"mybot\"", "name=\"my-bot\""),
            [(Code::NameInvalid, 9)]
        );
        assert_eq!(found(name, "name=\"mybot\"", ""), [(Code::NameInvalid, 0)]);
        assert_eq!(found(rc_subr, ". /etc/rc.subr", ""), [(Code::NoRcSubr, 0)]);
        assert_eq!(
            found(rcvar, "rcvar=\"mybot_enable\"", ""),
            [(Code::NoRcvar, 0)]
        );
        assert_eq!(
            found(rcvar, "rcvar=\"mybot_enable\"", "rcvar=\"bot_enable\""),
            [(Code::RcvarName, 10)]
        );
        assert_eq!(
            found(load_rc_config, "load_rc_config $name", ""),
            [(Code::NoLoadRcConfig, 0)]
        );
        assert_eq!(
            found(
                load_rc_config,
                "load_rc_config $name\n",
                "\n: ${early:=1}\nload_rc_config $name"
            ),
            [(Code::DefaultsBeforeLoadRcConfig, 13)]
        );
        assert_eq!(
            found(run_rc_command, "run_rc_command \"$1\"", ""),
            [(Code::NoRunRcCommand, 0)]
        );
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
