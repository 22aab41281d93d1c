//! `bsdx new`: creates projects from the embedded templates, and refuses
//! anything that could overwrite or escape.

use crate::support::*;

#[test]
fn new_bot_substitutes_the_name_everywhere() {
    let tmp = tempfile::tempdir().unwrap();
    let dest = tmp.path().join("my-bot");
    bsdx()
        .args(["new", "my-bot", "--path"])
        .arg_path(&dest)
        .run()
        .success()
        .stdout_has("created");
    let toml = std::fs::read_to_string(dest.join("Cargo.toml")).unwrap();
    assert!(toml.contains("name = \"my-bot\""), "{toml}");
    let rc = dest.join("rc.d/my_bot");
    let script = std::fs::read_to_string(&rc).unwrap();
    assert!(
        script.contains("/usr/sbin/daemon")
            && script.contains("-f -r -R ${my_bot_restart_delay} -P ${pidfile} -u ${my_bot_runas}"),
        "{script}"
    );
    assert!(
        script.contains(": ${my_bot_restart_delay:=\"10\"}")
            && script.contains("/usr/local/bin/my-bot ${my_bot_args}")
            && script.contains(": ${my_bot_args:=\"-c /usr/local/etc/my_bot/config.json -d /var/db/my_bot/sqlite.db\"}"),
        "{script}"
    );
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&rc).unwrap().permissions().mode() & 0o111,
        0o111,
        "rc.d script is executable"
    );
    let status = std::process::Command::new("sh")
        .arg("-n")
        .arg(&rc)
        .status()
        .unwrap();
    assert!(status.success(), "rc.d script is valid sh");
    for entry in walk(&dest) {
        let text = std::fs::read_to_string(&entry).unwrap_or_default();
        assert!(
            !text.contains("bsdx-bot-template") && !text.contains("bsdx_bot_template"),
            "{} keeps a placeholder",
            entry.display()
        );
        assert!(
            !entry.to_string_lossy().contains("template"),
            "{} keeps a placeholder in its name",
            entry.display()
        );
    }
    assert!(
        dest.join("Cargo.lock").is_file(),
        "the template's lock file is shipped"
    );
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = vec![];
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p))
        } else {
            out.push(p)
        }
    }
    out
}

#[test]
fn new_into_an_existing_empty_directory_and_json() {
    let tmp = tempfile::tempdir().unwrap();
    let dest = tmp.path().join("empty");
    std::fs::create_dir(&dest).unwrap();
    let run = bsdx()
        .args(["new", "probe", "--template", "sysinfo", "--json", "--path"])
        .arg_path(&dest)
        .run()
        .success();
    let files = run.json()["files"].as_array().unwrap().len();
    assert!(files >= 3, "{files}");
    assert!(dest.join("src/main.rs").is_file());
}

#[test]
fn new_refuses_bad_names_and_existing_files() {
    let tmp = tempfile::tempdir().unwrap();
    for bad in ["../escape", "a/b", "fn", "1bot", "bot!", ""] {
        bsdx()
            .args(["new", bad])
            .dir(tmp.path())
            .run()
            .failure(1)
            .stderr_has("allowed:");
    }
    assert_eq!(
        std::fs::read_dir(tmp.path()).unwrap().count(),
        0,
        "nothing created for bad names"
    );
    assert!(!tmp.path().parent().unwrap().join("escape").exists());

    let dest = tmp.path().join("taken");
    std::fs::create_dir(&dest).unwrap();
    std::fs::write(dest.join("Cargo.toml"), "mine").unwrap();
    bsdx()
        .args(["new", "taken"])
        .dir(tmp.path())
        .run()
        .failure(1)
        .stderr_has("not empty");
    assert_eq!(
        std::fs::read_to_string(dest.join("Cargo.toml")).unwrap(),
        "mine"
    );

    bsdx()
        .args(["new", "x", "--template", "nope"])
        .dir(tmp.path())
        .run()
        .failure(2)
        .stderr_has("[possible values: bot, sysinfo]");
    let leftovers: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(
        leftovers,
        vec![std::ffi::OsString::from("taken")],
        "no staging directories left behind"
    );
}
