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
    }
}
