//! The Rust targets bsdx cross-compiles for, and their FreeBSD/Zig names.

use std::fmt;

use serde::Serialize;

use crate::error::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Target {
    /// Rust target triple.
    pub triple: &'static str,
    /// FreeBSD `machine` name used in release paths (`amd64`, `arm64`).
    pub machine: &'static str,
    /// FreeBSD `machine_arch` (`amd64`, `aarch64`).
    pub machine_arch: &'static str,
    /// Zig's target for `zig cc -target`.
    pub zig: &'static str,
    /// goblin `e_machine` value.
    #[serde(skip)]
    pub e_machine: u16,
}

pub const DEFAULT: &str = "x86_64-unknown-freebsd";

pub const TARGETS: &[Target] = &[
    Target {
        triple: "x86_64-unknown-freebsd",
        machine: "amd64",
        machine_arch: "amd64",
        zig: "x86_64-freebsd",
        e_machine: goblin::elf::header::EM_X86_64,
    },
    Target {
        triple: "aarch64-unknown-freebsd",
        machine: "arm64",
        machine_arch: "aarch64",
        zig: "aarch64-freebsd",
        e_machine: goblin::elf::header::EM_AARCH64,
    },
];

impl Target {
    /// The target whose ELF `e_machine` this is (x86-64, AArch64), if bsdx builds for it.
    pub fn from_e_machine(e_machine: u16) -> Option<Target> {
        TARGETS.iter().copied().find(|t| t.e_machine == e_machine)
    }

    /// A Rust target triple (`x86_64-unknown-freebsd`) or a FreeBSD machine
    /// name for it (`amd64`, `arm64`, also `aarch64`, `x86_64`).
    pub fn parse(s: &str) -> Result<Target, Error> {
        TARGETS
            .iter()
            .copied()
            .find(|t| {
                t.triple == s
                    || t.machine == s
                    || t.machine_arch == s
                    || t.triple.split('-').next() == Some(s)
            })
            .ok_or_else(|| Error::UnknownTarget {
                given: s.to_string(),
                known: TARGETS
                    .iter()
                    .map(|t| format!("{} ({})", t.triple, t.machine))
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }

    /// Same as [`Target::parse`]; kept for callers that name an architecture.
    pub fn from_arch(arch: &str) -> Result<Target, Error> {
        Target::parse(arch)
    }

    /// `CARGO_TARGET_X86_64_UNKNOWN_FREEBSD_` prefix for cargo config variables.
    pub fn cargo_env_prefix(&self) -> String {
        format!(
            "CARGO_TARGET_{}_",
            self.triple.to_uppercase().replace('-', "_")
        )
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.triple)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_names() {
        let t = Target::parse(DEFAULT).unwrap();
        assert_eq!(t.cargo_env_prefix(), "CARGO_TARGET_X86_64_UNKNOWN_FREEBSD_");
        assert_eq!(
            Target::from_arch("arm64").unwrap().triple,
            "aarch64-unknown-freebsd"
        );
        assert_eq!(Target::from_arch("amd64").unwrap().triple, DEFAULT);
        let err = Target::parse("x86_64-unknown-linux-gnu")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("x86_64-unknown-freebsd (amd64), aarch64-unknown-freebsd (arm64)"),
            "{err}"
        );
        for alias in ["amd64", "x86_64", "x86_64-unknown-freebsd"] {
            assert_eq!(Target::parse(alias).unwrap().triple, DEFAULT);
        }
        for alias in ["arm64", "aarch64", "aarch64-unknown-freebsd"] {
            assert_eq!(Target::parse(alias).unwrap().machine, "arm64");
        }
    }
}
