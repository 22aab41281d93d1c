//! bsdx's integration tests: one test binary, running the real `bsdx`
//! executable against real inputs (generated ELF stubs, constructed
//! sysroots, real cross builds) and reading its outputs with goblin.
//!
//! Cross builds share one cargo target directory (`$BSDX_TEST_TARGET_DIR`,
//! default `target/tmp/cross`) so std is compiled from source once.

mod support;

mod abi_data;
mod check;
mod cli;
mod cross;
mod env;
mod floor;
mod layout;
mod new;
mod package;
mod rcd;
mod repo;
mod run;
mod stubs;
mod sysroot;
mod sysroot_release;
