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

#[test]
fn new_writes_the_flake_url_it_is_given_or_a_placeholder_that_names_the_fix() {
    let tmp = tempfile::tempdir().unwrap();
    let placeholder = bsdx::new::FLAKE_URL_PLACEHOLDER;
    // Without --flake: the placeholder, said in the output and the JSON.
    let dest = tmp.path().join("a");
    bsdx()
        .args(["new", "a", "--path"])
        .arg_path(&dest)
        .run()
        .success()
        .stdout_has(&format!("inputs.bsdx.url is a placeholder ({placeholder})"));
    let flake = std::fs::read_to_string(dest.join("flake.nix")).unwrap();
    assert!(
        flake.contains(&format!("inputs.bsdx.url = \"{placeholder}\";")),
        "{flake}"
    );
    // With --flake: that URL, once, and no placeholder.
    let dest = tmp.path().join("b");
    let j = bsdx()
        .args([
            "new",
            "b",
            "--json",
            "--flake",
            "path:/home/me/src/bsdx",
            "--path",
        ])
        .arg_path(&dest)
        .run()
        .success()
        .json();
    assert_eq!(j["flake_url"], "path:/home/me/src/bsdx", "{j}");
    assert_eq!(j["flake_url_is_placeholder"], false, "{j}");
    let flake = std::fs::read_to_string(dest.join("flake.nix")).unwrap();
    assert!(
        flake.contains("inputs.bsdx.url = \"path:/home/me/src/bsdx\";")
            && !flake.contains(placeholder),
        "{flake}"
    );
    // A template without flake.nix: no flake_url.
    let dest = tmp.path().join("c");
    let j = bsdx()
        .args(["new", "c", "--json", "--template", "sysinfo", "--path"])
        .arg_path(&dest)
        .run()
        .success()
        .json();
    assert!(
        j["flake_url"].is_null() && j["flake_url_is_placeholder"] == false,
        "{j}"
    );
    // Refusals leave nothing behind.
    for (args, needle) in [
        (vec!["--flake", "path:/a \"b"], "is not a flake URL"),
        (vec!["--flake", "/home/me/bsdx"], "has no scheme"),
        (
            vec!["--flake", "path:/x", "--template", "sysinfo"],
            "has no flake.nix",
        ),
    ] {
        let dest = tmp.path().join("refused");
        bsdx()
            .args(["new", "refused", "--path"])
            .arg_path(&dest)
            .args(&args)
            .run()
            .failure(1)
            .stderr_has(needle)
            .stderr_has("fix:");
        assert!(!dest.exists(), "{args:?} left {}", dest.display());
    }
}

/// The placeholder `nix flake init -t URL#bot` leaves, as the template's
/// flake.nix spells it, is the one its README and the flake's welcomeText
/// tell the user to replace, and both mention `bsdx new --flake`.
#[test]
fn the_bot_templates_readme_welcome_text_and_flake_agree_on_the_bsdx_url() {
    let placeholder = bsdx::new::FLAKE_URL_PLACEHOLDER;
    let read = |p: &str| std::fs::read_to_string(repo().join(p)).unwrap();
    let flake = read("templates/bot/flake.nix");
    assert!(
        flake.contains(&format!("inputs.bsdx.url = \"{placeholder}\";")),
        "templates/bot/flake.nix"
    );
    let readme = read("templates/bot/README.md");
    let root = read("flake.nix");
    let welcome = root
        .split("welcomeText = ''")
        .nth(1)
        .and_then(|w| w.split("'';").next())
        .expect("flake.nix: templates.bot.welcomeText");
    for (name, text) in [
        ("templates/bot/README.md", readme.as_str()),
        ("welcomeText", welcome),
    ] {
        assert!(
            text.contains(placeholder),
            "{name} does not quote the placeholder"
        );
        assert!(
            text.contains("--flake URL"),
            "{name} does not mention bsdx new --flake URL"
        );
        assert!(
            text.contains("inputs.bsdx.url"),
            "{name} does not name inputs.bsdx.url"
        );
    }
}
