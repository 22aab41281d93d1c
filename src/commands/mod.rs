//! The command layer: turn parsed arguments into calls, add context, print.
//! Returns the process exit code.

use std::path::PathBuf;

use anyhow::Result;

use crate::cli::{AbiCommand, Cli, Command};
use crate::exit;
use crate::model::release::catalog;

/// The libraries `--sysroot`/`--stubs`/`$BSDX_SYSROOT` choose, for
/// `release`: a sysroot of another release is refused before anything runs.
fn libs_for(
    args: &crate::cli::LibsArgs,
    release: &crate::model::release::Release,
) -> Result<crate::env::Libs> {
    let libs = args.libs();
    if let crate::env::Libs::Sysroot(dir) = &libs {
        crate::sysroot::ensure_is(dir, release)?;
    }
    Ok(libs)
}

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

pub fn run(cli: Cli) -> Result<i32> {
    match cli.command {
        Command::Env(a) => env::run(a),
        Command::Build(a) => build::run(a),
        Command::Repro(a) => repro::run(a),
        Command::Stubs(a) => stubs::run(a),
        Command::New(a) => new::run(a),
        Command::Doctor(a) => doctor::run(a),
        Command::Check(a) => check::run(a),
        Command::Brand(a) => brand::run(a),
        Command::Sysroot(cmd) => sysroot::run(cmd),
        Command::Schema(a) => schema::run(a),
        Command::Abi(AbiCommand::Import(a)) => abi::run(a),
        Command::Package(a) => package::run(a),
        Command::Rcd(a) => rcd::run(a),
        Command::Run(a) => run::run(a),
        Command::Test(a) => test::run(a),
        Command::Repo(a) => repo::execute(a),
    }
}
