//! `bsdx sysroot`: FreeBSD base.txz pins (nix/releases.json), download with
//! verification into a versioned cache, and extraction of what linking needs.
//! (Being written; see issue 4.)

use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum SysrootCommand {}

pub fn run(cmd: SysrootCommand) -> anyhow::Result<i32> {
    match cmd {}
}
