//! The command layer: turn parsed arguments into calls, add context, print.
//! Returns the process exit code.

use std::path::PathBuf;

use anyhow::Result;

use crate::cli::{AbiCommand, Cli, Command};
use crate::exit;
use crate::model::release::catalog;

fn print_json<T: serde::Serialize>(value: &T) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

mod abi;
mod brand;
mod build;
mod check;
mod doctor;
mod env;
mod new;
mod package;
mod rcd;
mod repo;
mod repro;
mod run;
mod schema;
mod stubs;
mod sysroot;
mod test;

pub fn execute(cli: Cli) -> Result<i32> {
    match cli.command {
        Command::Env(a) => env::execute(a),
        Command::Build(a) => build::execute(a),
        Command::Repro(a) => repro::execute(a),
        Command::Stubs(a) => stubs::execute(a),
        Command::New(a) => new::execute(a),
        Command::Doctor(a) => doctor::execute(a),
        Command::Check(a) => check::execute(a),
        Command::Brand(a) => brand::execute(a),
        Command::Sysroot(cmd) => sysroot::execute(cmd),
        Command::Schema(a) => schema::execute(a),
        Command::Abi(AbiCommand::Import(a)) => abi::execute(a),
        Command::Package(a) => package::execute(a),
        Command::Rcd(a) => rcd::execute(a),
        Command::Run(a) => run::execute(a),
        Command::Test(a) => test::execute(a),
        Command::Repo(a) => repo::execute(a),
    }
}

/// Work in the Cargo project at `path` (the `[PATH]` of env, build and
/// test: default `.`) from here on. A `--sysroot` given relative
/// to where bsdx was started keeps naming the same directory.
fn enter_project(
    path: &std::path::Path,
    libs: crate::env::Libs,
) -> Result<(PathBuf, crate::env::Libs)> {
    use anyhow::Context;
    let cwd = std::env::current_dir()?;
    let dir = std::fs::canonicalize(path).map_err(|e| {
        anyhow::anyhow!(
            "the project directory {} does not exist ({e})\n  fix: give a Cargo project's directory as PATH, or run bsdx inside it",
            path.display()
        )
    })?;
    if std::fs::canonicalize(&cwd).is_ok_and(|c| c == dir) {
        return Ok((cwd, libs));
    }
    let libs = match libs {
        crate::env::Libs::Sysroot(d) => crate::env::Libs::Sysroot(cwd.join(d)),
        stubs => stubs,
    };
    std::env::set_current_dir(&dir).with_context(|| format!("cannot enter {}", dir.display()))?;
    Ok((dir, libs))
}
