//! `bsdx rcd` (generation) and `bsdx rcd lint`: generated scripts are
//! lint-clean and the bot template's script is exactly generated output;
//! the field notes' hand-written script and one script per mistake get the
//! findings they should.

use std::path::{Path, PathBuf};

use crate::support::*;

fn lint(files: &[&Path], extra: &[&str]) -> Run {
    bsdx()
        .args(["rcd", "lint", "--json"])
        .args(extra)
        .args(files.iter().map(|p| p.as_os_str()))
        .run()
}

fn codes(report: &serde_json::Value, file: usize) -> Vec<String> {
    report["files"][file]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn the_bot_templates_script_is_generated_output_and_lint_clean() {
    let committed = repo().join("templates/bot/rc.d/bsdx_bot_template");
    let generated = bsdx()
        .args(["rcd"])
        .arg_path(&repo().join("templates/bot"))
        .run()
        .success()
        .stdout();
    if std::env::var_os("BSDX_UPDATE_TEMPLATES").is_some() {
        std::fs::write(&committed, &generated).unwrap();
    }
    assert_eq!(
        std::fs::read_to_string(&committed).unwrap(),
        generated,
        "templates/bot/rc.d/bsdx_bot_template is generated: run `bsdx rcd templates/bot > templates/bot/rc.d/bsdx_bot_template` (or BSDX_UPDATE_TEMPLATES=1 cargo test)"
    );
    let r = lint(&[&committed], &["--strict"]).success().json();
    assert_eq!(codes(&r, 0), Vec::<String>::new(), "{r:#}");
    assert!(r["shell"].as_str().is_some(), "sh -n ran: {r:#}");

    // `bsdx new` writes the script generated for the new name, also clean.
    let tmp = tempfile::tempdir().unwrap();
    let dest = tmp.path().join("my-bot");
    bsdx()
        .args(["new", "my-bot", "--path"])
        .arg_path(&dest)
        .run()
        .success();
    let rc = dest.join("rc.d/my_bot");
    let fresh = bsdx()
        .args(["rcd"])
        .arg_path(&dest)
        .run()
        .success()
        .stdout();
    assert_eq!(std::fs::read_to_string(&rc).unwrap(), fresh);
    assert_eq!(
        codes(&lint(&[&rc], &[]).success().json(), 0),
        Vec::<String>::new()
    );
}

#[test]
fn rcd_out_writes_both_files_and_never_overwrites() {
    let tmp = tempfile::tempdir().unwrap();
    let proj = crate::package::project(
        &tmp.path().join("p"),
        "[package]\nname = \"web\"\nversion = \"1.0.0\"\n\n[package.metadata.bsdx.service]\nuser = \"www\"\nrestart-delay = 3\nrequire = [\"NETWORKING\", \"DAEMON\"]\n",
    );
    let out = tmp.path().join("etc");
    let g = bsdx()
        .args(["rcd", "--json", "--out"])
        .arg_path(&out)
        .arg_path(&proj)
        .run()
        .success()
        .json();
    assert_eq!(g["name"], "web");
    assert_eq!(g["service"]["create_user"], false, "www is a base account");
    let rc = out.join("rc.d/web");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&rc).unwrap().permissions().mode() & 0o777,
        0o755
    );
    let script = std::fs::read_to_string(&rc).unwrap();
    assert!(
        script.contains("# REQUIRE: LOGIN NETWORKING DAEMON\n"),
        "{script}"
    );
    assert!(
        script.contains("-R ${web_restart_delay}")
            && script.contains(": ${web_restart_delay:=\"3\"}")
    );
    assert!(out.join("newsyslog.conf.d/web.conf").is_file());
    assert_eq!(
        codes(&lint(&[&rc], &[]).success().json(), 0),
        Vec::<String>::new()
    );
    bsdx()
        .args(["rcd", "--out"])
        .arg_path(&out)
        .arg_path(&proj)
        .run()
        .failure(1)
        .stderr_has("already exists");
    bsdx()
        .args(["rcd", "--force", "--out"])
        .arg_path(&out)
        .arg_path(&proj)
        .run()
        .success();
    // A root service: no -u, no REQUIRE: LOGIN needed; still clean.
    let root = crate::package::project(
        &tmp.path().join("r"),
        "[package]\nname = \"rootd\"\nversion = \"1.0.0\"\n\n[package.metadata.bsdx.service]\nuser = \"root\"\n",
    );
    let text = bsdx()
        .args(["rcd"])
        .arg_path(&root)
        .run()
        .success()
        .stdout();
    let f = tmp.path().join("rootd");
    std::fs::write(&f, text).unwrap();
    assert_eq!(
        codes(&lint(&[&f], &["--strict"]).success().json(), 0),
        Vec::<String>::new()
    );
}

/// The script from the field notes, verbatim (`None`, saying why, without
/// `../shared` beside the checkout).
fn field_notes_script() -> Option<String> {
    let notes = std::fs::read_to_string(shared_input(
        "field-notes/cross-compiling-rust-to-freebsd.txt",
    )?)
    .unwrap();
    let start = notes.find("#!/bin/sh").unwrap();
    let end = notes[start..].find("run_rc_command \"$1\"").unwrap() + start;
    Some(format!("{}run_rc_command \"$1\"\n", &notes[start..end]))
}

#[test]
fn the_field_notes_script_gets_its_daemon_lessons() {
    let Some(script) = field_notes_script() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("dc_bot");
    std::fs::write(&f, script).unwrap();
    let r = lint(&[&f], &[]).success().json();
    let mut got = codes(&r, 0);
    got.sort();
    assert_eq!(
        got,
        [
            "defaults-before-load-rc-config",
            "env-wrapper",
            "log-no-reopen",
            "log-not-writable"
        ],
        "{r:#}"
    );
    for f in r["files"][0]["findings"].as_array().unwrap() {
        assert!(f["fix"].as_str().unwrap().len() > 10, "{f}");
    }
    lint(&[&f], &["--strict"]).failure(1);
    let text = bsdx()
        .args(["rcd", "lint"])
        .arg_path(&f)
        .run()
        .success()
        .stdout();
    assert!(
        text.contains("warning [env-wrapper] line 16:")
            && text.contains("    fix: set dc_bot_env="),
        "{text}"
    );
    insta::assert_snapshot!("rcd-lint-view-warnings", redact(&text, tmp.path()));
}

/// A correct hand-written script: every mistake below is one edit of it.
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

#[test]
fn each_mistake_is_caught_with_its_fix() {
    let tmp = tempfile::tempdir().unwrap();
    let good = tmp.path().join("mybot");
    std::fs::write(&good, GOOD).unwrap();
    assert_eq!(
        codes(&lint(&[&good], &["--strict"]).success().json(), 0),
        Vec::<String>::new()
    );

    // (code, file name, from, to)
    let cases: &[(&str, &str, &str, &str)] = &[
        ("syntax", "mybot", "run_rc_command", "if [ -n x ]; then\nrun_rc_command"),
        ("shebang", "mybot", "#!/bin/sh", "#!/usr/local/bin/bash"),
        ("no-provide", "mybot", "# PROVIDE: mybot", "#PROVIDE: mybot"),
        ("provide-mismatch", "mybot.sh", "", ""),
        ("name-invalid", "my-bot", "name=\"mybot\"", "name=\"my-bot\""),
        ("no-rc-subr", "mybot", ". /etc/rc.subr", ""),
        ("no-rcvar", "mybot", "rcvar=\"mybot_enable\"", ""),
        ("rcvar-name", "mybot", "rcvar=\"mybot_enable\"", "rcvar=\"mybot_on\""),
        ("no-load-rc-config", "mybot", "load_rc_config $name", ""),
        (
            "defaults-before-load-rc-config",
            "mybot",
            "load_rc_config $name\n\n: ${mybot_enable:=\"NO\"}",
            ": ${mybot_enable:=\"NO\"}\nload_rc_config $name",
        ),
        ("no-run-rc-command", "mybot", "run_rc_command \"$1\"", ""),
        ("no-shutdown-keyword", "mybot", "# KEYWORD: shutdown\n", ""),
        ("require-login", "mybot", "# REQUIRE: LOGIN NETWORKING", "# REQUIRE: NETWORKING"),
        ("daemon-no-f", "mybot", "-f -r", "-r"),
        ("daemon-restart-child-pidfile", "mybot", "-P ${pidfile}", "-p ${pidfile}"),
        ("daemon-pidfile-mismatch", "mybot", "-P ${pidfile}", "-P /var/run/${name}/other.pid"),
        ("procname-with-daemon", "mybot", "start_precmd=", "procname=\"/usr/local/bin/mybot\"\nstart_precmd="),
        ("user-with-daemon-u", "mybot", "unset mybot_user\n", ""),
        ("pidfile-dir", "mybot", "pidfile=\"/var/run/${name}/${name}.pid\"", "pidfile=\"/var/run/${name}.pid\""),
        ("log-not-writable", "mybot", "\t[ -e \"${mybot_logfile}\" ] || install -o \"${mybot_runas}\" -m 0600 /dev/null \"${mybot_logfile}\"\n", ""),
        ("log-no-reopen", "mybot", " -H ", " "),
        ("env-wrapper", "mybot", "-H /usr/local/bin/mybot", "-H /usr/bin/env RUST_LOG=info /usr/local/bin/mybot"),
    ];
    let mut covered = std::collections::BTreeSet::new();
    for (code, file, from, to) in cases {
        assert!(
            GOOD.contains(from),
            "{code}: {from:?} is not in the good script"
        );
        let dir = tmp.path().join(code);
        std::fs::create_dir_all(&dir).unwrap();
        let path: PathBuf = dir.join(file);
        std::fs::write(&path, GOOD.replacen(from, to, 1)).unwrap();
        let r = lint(&[&path], &["--strict"]).failure(1).json();
        let found = &r["files"][0]["findings"];
        let hit = found
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["code"] == *code)
            .unwrap_or_else(|| panic!("{code} not reported for {file}: {r:#}"));
        assert!(
            !hit["fix"].as_str().unwrap().is_empty()
                && !hit["message"].as_str().unwrap().is_empty()
        );
        covered.insert(code.to_string());
    }
    let all: std::collections::BTreeSet<String> =
        bsdx::rcd::Code::ALL.iter().map(|c| c.to_string()).collect();
    assert_eq!(
        covered, all,
        "every lint code has a script that triggers it"
    );
}

#[test]
fn lint_exit_codes_and_text() {
    let tmp = tempfile::tempdir().unwrap();
    let bad = tmp.path().join("mybot");
    std::fs::write(&bad, GOOD.replace("-f -r", "-r")).unwrap();
    let text = bsdx()
        .args(["rcd", "lint"])
        .arg_path(&bad)
        .run()
        .failure(1)
        .stdout();
    assert!(
        text.contains("error [daemon-no-f]") && text.contains("fix: add -f"),
        "{text}"
    );
    insta::assert_snapshot!("rcd-lint-view-error", redact(&text, tmp.path()));
    let text = lint(&[&tmp.path().join("absent")], &[]).failure(3).json();
    assert_eq!(text["unreadable"], 1, "{text:#}");
    let text = bsdx()
        .args(["rcd", "lint"])
        .arg_path(&tmp.path().join("absent"))
        .run()
        .failure(3)
        .stdout();
    insta::assert_snapshot!("rcd-lint-view-unreadable", redact(&text, tmp.path()));
}

/// The README's table of lint codes lists exactly `Code::ALL`.
#[test]
fn readme_table_lists_every_lint_code() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let section = readme
        .split("### bsdx rcd lint")
        .nth(1)
        .expect("README has a `### bsdx rcd lint` section");
    let mut listed: Vec<String> = section
        .lines()
        .skip_while(|l| !l.starts_with("| code |"))
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .map(|row| {
            row.split('|')
                .nth(1)
                .unwrap_or("")
                .trim()
                .trim_matches('`')
                .to_string()
        })
        .collect();
    let mut all: Vec<String> = bsdx::rcd::Code::ALL.iter().map(|c| c.to_string()).collect();
    listed.sort();
    all.sort();
    assert_eq!(listed, all, "README's lint table vs bsdx::rcd::Code::ALL");
}

/// `bsdx rcd lint` is a subcommand, but never hides a project directory
/// named `lint`: without FILE it means that project, as `bsdx rcd ./lint`.
#[test]
fn rcd_lint_does_not_shadow_a_project_named_lint() {
    let tmp = tempfile::tempdir().unwrap();
    crate::package::project(
        &tmp.path().join("lint"),
        "[package]\nname = \"web\"\nversion = \"1.0.0\"\n\n[package.metadata.bsdx.service]\n",
    );
    let explicit = bsdx()
        .args(["rcd", "./lint"])
        .dir(tmp.path())
        .run()
        .success()
        .stdout();
    assert!(explicit.contains("# PROVIDE: web"), "{explicit}");
    let short = bsdx()
        .args(["rcd", "lint"])
        .dir(tmp.path())
        .run()
        .success()
        .stdout();
    assert_eq!(short, explicit);
    let json = bsdx()
        .args(["rcd", "lint", "--json"])
        .dir(tmp.path())
        .run()
        .success()
        .json();
    assert_eq!(json["script"], explicit.as_str());
    // Where there is no such project, FILE is required (a usage error).
    let elsewhere = tempfile::tempdir().unwrap();
    bsdx()
        .args(["rcd", "lint"])
        .dir(elsewhere.path())
        .run()
        .failure(2)
        .stderr_has("fix: bsdx rcd lint FILE");
}
