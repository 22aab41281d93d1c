//! bsdx's data model: FreeBSD releases (`data/releases.json`), the symbol
//! data of their base libraries (`stubs/abi/`), the Rust targets, and where
//! a link's libraries come from (stubs or a sysroot). Pure
//! data, embedded at compile time: nothing in here does I/O, so every other
//! module may depend on it and it depends on none of them.

pub mod abi;
pub mod libs;
pub mod release;
pub mod service;
pub mod target;
