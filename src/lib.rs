//! bsdx: cross-compile Rust services for FreeBSD from Linux.
//!
//! The binary (`src/main.rs`) only parses the command line and calls
//! [`commands::run`]; everything else is a module per concept, exposed as a
//! library so the fuzz target and tests can drive the parsers directly.

pub mod abi_import;
pub mod abitag;
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
pub mod floor;
pub mod model;
pub mod new;
pub mod package;
pub mod rcd;
pub mod repro;
pub mod run;
pub mod stubs;
pub mod sysroot;
pub mod toolchain;
