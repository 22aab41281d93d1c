//! bsdx: cross-compile Rust services for FreeBSD from Linux.
//!
//! The binary (`src/main.rs`) only parses the command line and calls
//! [`commands::execute`]; everything else is a module per concept, exposed as a
//! library so the fuzz target and tests can drive the parsers directly.

pub mod abi_import;
pub mod abitag;
pub mod archive;
pub mod build;
pub mod cache;
pub mod check;
pub mod cli;
pub mod commands;
pub mod digest;
pub mod doctor;
pub mod env;
pub mod error;
pub mod exit;
pub mod findings;
pub mod floor;
pub mod model;
pub mod new;
pub mod output;
pub mod package;
pub mod project;
pub mod rcd;
pub mod repo;
pub mod repro;
pub mod stubs;
pub mod sysroot;
pub mod test_summary;
pub mod toolchain;
pub mod vm;
pub mod warmup;
