//! bsdx: cross-compile Rust services for FreeBSD from Linux.

mod abi;
mod abitag;
mod base_txz;
mod build;
mod cache;
mod check;
mod cli;
mod commands;
mod doctor;
mod env;
mod error;
mod new;
mod release;
mod stubs;
mod sysroot;
mod target;
mod toolchain;
mod zig_abilists;

use clap::Parser;

fn main() {
    let cli = cli::Cli::parse();
    match commands::run(cli) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::exit(1);
        }
    }
}
