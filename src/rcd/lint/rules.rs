//! The rules: one function per question `bsdx rcd lint` asks of a script
//! ([`RULES`], in the order their findings are reported). Each reads the
//! statically evaluated [`Script`]; the daemon(8) rules ([`daemon`]) only
//! speak when the command is daemon.

use super::daemon;
use super::script::Script;
use crate::rcd::report::{Code, Finding, Level};

pub(super) fn finding(
    level: Level,
    code: Code,
    line: usize,
    message: String,
    fix: String,
) -> Finding {
    Finding {
        level,
        code,
        line,
        message,
        fix,
    }
}

pub(super) type Rule = fn(&Script) -> Vec<Finding>;

/// Every rule but `sh -n`'s, in the order the report lists findings.
pub(super) const RULES: &[Rule] = &[
    shebang,
    name,
    provide,
    rc_subr,
    rcvar,
    load_rc_config,
    run_rc_command,
    daemon::daemon_f,
    daemon::daemon_restart_child_pidfile,
    daemon::daemon_pidfile,
    daemon::procname_with_daemon,
    daemon::user_with_daemon_u,
    daemon::shutdown_keyword,
    daemon::pidfile_dir,
    daemon::log_reopen,
    daemon::log_writable,
    daemon::env_wrapper,
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
                s.name_or_suggested()
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
    let name = s.name_or_suggested();
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
pub(super) mod tests {
    use std::path::Path;

    use super::*;

    /// A correct script (as `bsdx rcd` writes them): each test makes one
    /// mistake in it.
    pub const GOOD: &str = r#"#!/bin/sh
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

    pub fn script(text: &str) -> Script {
        Script::read(Path::new("/usr/local/etc/rc.d/mybot"), text)
    }

    /// The findings of `rule` on GOOD with `from` replaced by `to`:
    /// (code, line).
    pub fn found(rule: Rule, from: &str, to: &str) -> Vec<(Code, usize)> {
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
            found(daemon::shutdown_keyword, "shutdown", "nojail"),
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
        // With no `name=`, the fix names the variable the `name` rule's own
        // fix would create, not `_enable`.
        let nameless = script(&GOOD.replacen("name=\"mybot\"", "", 1).replacen(
            "rcvar=\"mybot_enable\"",
            "",
            1,
        ));
        let f = rcvar(&nameless);
        assert_eq!(f.len(), 1);
        let fix = &f[0].fix;
        let suggested = nameless.name_or_suggested();
        assert!(!suggested.is_empty());
        assert!(
            fix.contains(&format!("rcvar=\"{suggested}_enable\"")),
            "{fix}"
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
}
