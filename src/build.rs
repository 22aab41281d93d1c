//! `bsdx build`: run `cargo zigbuild --release --target T` in the current
//! project with exactly the environment `bsdx env` prints, stream cargo's
//! output, and report every binary it produced.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;

use anyhow::{bail, Context, Result};

use crate::env::CrossEnv;

/// The cargo invocation (testable without running it).
pub fn command(env: &CrossEnv, cargo_args: &[String]) -> duct::Expression {
    let mut args: Vec<String> = vec![
        "zigbuild".into(),
        "--release".into(),
        "--target".into(),
        env.target.clone(),
        "--message-format=json-render-diagnostics".into(),
    ];
    args.extend(cargo_args.iter().cloned());
    env.apply(duct::cmd(&env.cargo, args))
}

/// Run the build in the current directory; returns the executables cargo
/// reported, in order.
pub fn execute(env: &CrossEnv, cargo_args: &[String]) -> Result<Vec<PathBuf>> {
    execute_in(env, cargo_args, &std::env::current_dir()?)
}

/// Run the build in `dir`, with the target directory `env` was computed for.
pub fn execute_in(
    env: &CrossEnv,
    cargo_args: &[String],
    dir: &std::path::Path,
) -> Result<Vec<PathBuf>> {
    if cargo_args.iter().any(|a| a.starts_with("--message-format")) {
        bail!("bsdx build reads cargo's JSON messages itself; remove --message-format from the cargo arguments");
    }
    let reader = command(env, cargo_args)
        .dir(dir)
        .env("CARGO_TARGET_DIR", &env.paths.target_dir)
        .unchecked()
        .reader()
        .with_context(|| format!("cannot run {} zigbuild", env.cargo.display()))?;
    let mut lines = BufReader::new(&reader);
    let mut binaries = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        if lines
            .read_line(&mut line)
            .context("reading cargo's output")?
            == 0
        {
            break;
        }
        match serde_json::from_str::<serde_json::Value>(&line) {
            Ok(msg) if msg["reason"] == "compiler-artifact" => {
                if let Some(exe) = msg["executable"].as_str() {
                    binaries.push(PathBuf::from(exe));
                }
            }
            Ok(_) => {}
            // Not a cargo message (a build script printing to stdout): pass it on.
            Err(_) => eprint!("{line}"),
        }
    }
    let output = reader.try_wait()?.context("cargo did not finish")?;
    if !output.status.success() {
        bail!(
            "cargo zigbuild failed ({}); the errors are above. `bsdx doctor` checks the toolchain",
            output.status
        );
    }
    binaries.dedup();
    Ok(binaries)
}
