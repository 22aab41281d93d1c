//! `bsdx build`: run `cargo zigbuild --release --target T` in the current
//! project with exactly the environment `bsdx env` prints, stream cargo's
//! output, and report every binary it produced.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use schemars::JsonSchema;
use serde::Serialize;

use crate::env::{CrossEnv, Libs};
use crate::exit::{self, Exit};
use crate::model::release::Release;
use crate::model::target::Target;

/// Version of `bsdx build --json`.
pub const SCHEMA: u32 = 1;

/// What one build made: the binaries, branded FreeBSD, and their audit.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Built {
    pub schema: u32,
    pub target: String,
    pub release: String,
    /// Every executable cargo reported, in order.
    pub binaries: Vec<PathBuf>,
    /// `bsdx check` of those binaries against `release`.
    pub check: crate::check::Report,
    /// What the links and C compiles saw (`bsdx env`'s `floor`).
    pub floor: crate::floor::Floor,
}

/// Build in `dir`, brand every binary and check it against `release` (with
/// the sysroot's real libraries when `libs` is one): what `bsdx build` does,
/// and what `bsdx repro` does for each of its two builds. The check report
/// goes to stderr. Cargo failing ends with cargo's exit code; `bsdx check`
/// rejecting the output with [`exit::REJECTED`].
pub fn build_checked(
    env: &CrossEnv,
    release: &Release,
    libs: &Libs,
    cargo_args: &[String],
    dir: &std::path::Path,
) -> Result<Built> {
    eprintln!(
        "bsdx: floor: FreeBSD {} ({}): {}",
        env.floor.release,
        if env.floor.exact {
            "exact"
        } else {
            "approximate"
        },
        env.floor.note
    );
    let binaries = execute_in(env, cargo_args, dir)?;
    for b in &binaries {
        crate::abitag::brand(b)?;
    }
    let sysroot = match libs {
        Libs::Sysroot(d) => Some(d.as_path()),
        Libs::Stubs => None,
    };
    let target = Target::parse(&env.target)?;
    let check = crate::check::run(&binaries, release, sysroot, Some(&target))?;
    if !binaries.is_empty() {
        eprint!("{}", check.render(false));
    }
    if check.exit_code(false) != exit::OK {
        return Err(Exit {
            code: exit::REJECTED,
            message: format!(
                "bsdx check found errors in the build output (above); the binaries would not run on FreeBSD {}\n  fix: each finding above says what to change (or which --release the binary does run on)",
                release.release
            ),
        }
        .into());
    }
    Ok(Built {
        schema: SCHEMA,
        target: env.target.clone(),
        release: env.release.clone(),
        binaries,
        check,
        floor: env.floor.clone(),
    })
}

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

/// Run the build in `dir`, with the target directory `env` was computed for;
/// returns the executables cargo reported, in order.
pub fn execute_in(
    env: &CrossEnv,
    cargo_args: &[String],
    dir: &std::path::Path,
) -> Result<Vec<PathBuf>> {
    if cargo_args.iter().any(|a| a.starts_with("--message-format")) {
        bail!("bsdx build reads cargo's JSON messages itself\n  fix: remove --message-format from the cargo arguments");
    }
    // Zig's runtimes for the final link get built while cargo compiles.
    let warmup = crate::warmup::start(env);
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
    if let Some(w) = warmup {
        w.finish();
    }
    if !output.status.success() {
        return Err(Exit {
            code: output.status.code().unwrap_or(exit::FAILURE),
            message: format!(
                "cargo zigbuild failed ({}); the errors are above\n  fix: fix those errors; `bsdx doctor` checks the toolchain",
                output.status
            ),
        }
        .into());
    }
    binaries.dedup();
    Ok(binaries)
}
