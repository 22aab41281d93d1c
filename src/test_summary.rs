//! `bsdx test --json`: a summary of the test binaries cargo ran (each
//! through `bsdx run`), read from cargo's and libtest's output as it
//! streams past.

use std::path::PathBuf;

use schemars::JsonSchema;
use serde::Serialize;

/// Version of `bsdx test --json`.
pub const SCHEMA: u32 = 1;

/// What `bsdx test` ran, and how it went.
#[derive(Debug, Serialize, JsonSchema, PartialEq, Eq)]
pub struct Summary {
    pub schema: u32,
    pub target: String,
    pub release: String,
    /// Cargo's exit status, which is `bsdx test`'s.
    pub exit_code: i32,
    /// Every test binary cargo ran, in order.
    pub runs: Vec<Run>,
    /// Totals over the runs' results.
    pub passed: u64,
    pub failed: u64,
    pub ignored: u64,
}

/// One test binary cargo ran.
#[derive(Debug, Serialize, JsonSchema, PartialEq, Eq)]
pub struct Run {
    /// As cargo names it: `unittests src/lib.rs`, `tests/it.rs`.
    pub name: String,
    /// The test binary, as cargo shows it (relative to the workspace).
    pub binary: Option<PathBuf>,
    /// libtest's `test result:` line; none when the binary printed none
    /// (it did not start, crashed, or the VM could not run it).
    pub result: Option<Counts>,
}

/// The counts of one libtest `test result:` line.
#[derive(Debug, Default, Serialize, JsonSchema, PartialEq, Eq)]
pub struct Counts {
    /// `ok` (true) or `FAILED`.
    pub ok: bool,
    pub passed: u64,
    pub failed: u64,
    pub ignored: u64,
    pub measured: u64,
    pub filtered_out: u64,
}

impl Summary {
    pub fn new(target: &str, release: &str) -> Summary {
        Summary {
            schema: SCHEMA,
            target: target.to_string(),
            release: release.to_string(),
            exit_code: 0,
            runs: vec![],
            passed: 0,
            failed: 0,
            ignored: 0,
        }
    }

    /// Take in one line of cargo's (or a test binary's) output.
    pub fn read_line(&mut self, line: &str) {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("Running ") {
            let (name, binary) = match rest.rsplit_once(" (") {
                Some((n, b)) if b.ends_with(')') => {
                    (n, Some(PathBuf::from(b.trim_end_matches(')'))))
                }
                _ => (rest, None),
            };
            self.runs.push(Run {
                name: name.to_string(),
                binary,
                result: None,
            });
        } else if let Some(counts) = line.strip_prefix("test result: ").and_then(parse_counts) {
            self.passed += counts.passed;
            self.failed += counts.failed;
            self.ignored += counts.ignored;
            match self.runs.last_mut() {
                Some(r) if r.result.is_none() => r.result = Some(counts),
                // A result cargo did not announce: still counted.
                _ => self.runs.push(Run {
                    name: String::new(),
                    binary: None,
                    result: Some(counts),
                }),
            }
        }
    }
}

/// `ok. 2 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.01s`
fn parse_counts(s: &str) -> Option<Counts> {
    let (verdict, rest) = s.split_once(". ")?;
    let mut c = Counts {
        ok: match verdict {
            "ok" => true,
            "FAILED" => false,
            _ => return None,
        },
        ..Counts::default()
    };
    for part in rest.split(';') {
        let (n, what) = part.trim().split_once(' ')?;
        let Ok(n) = n.parse() else { continue };
        match what {
            "passed" => c.passed = n,
            "failed" => c.failed = n,
            "ignored" => c.ignored = n,
            "measured" => c.measured = n,
            "filtered out" => c.filtered_out = n,
            _ => {}
        }
    }
    Some(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_cargos_runs_and_libtests_results() {
        let mut s = Summary::new("x86_64-unknown-freebsd", "14.4");
        for l in [
            "   Compiling demo v0.1.0 (/p)",
            "     Running unittests src/lib.rs (target/x86_64-unknown-freebsd/debug/deps/demo-1a2b)",
            "running 2 tests",
            "test tests::one ... ok",
            "test result: ok. 2 passed; 0 failed; 1 ignored; 0 measured; 3 filtered out; finished in 0.01s",
            "     Running tests/it.rs (target/x86_64-unknown-freebsd/debug/deps/it-3c4d)",
            "test result: FAILED. 1 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s",
            "     Running tests/crash.rs (target/x86_64-unknown-freebsd/debug/deps/crash-5e6f)",
        ] {
            s.read_line(l);
        }
        assert_eq!(s.runs.len(), 3);
        assert_eq!(s.runs[0].name, "unittests src/lib.rs");
        assert_eq!(
            s.runs[0].binary.as_deref(),
            Some(std::path::Path::new(
                "target/x86_64-unknown-freebsd/debug/deps/demo-1a2b"
            ))
        );
        assert_eq!(
            s.runs[0].result,
            Some(Counts {
                ok: true,
                passed: 2,
                failed: 0,
                ignored: 1,
                measured: 0,
                filtered_out: 3
            })
        );
        assert!(!s.runs[1].result.as_ref().unwrap().ok);
        assert_eq!(s.runs[2].result, None, "it printed no result");
        assert_eq!((s.passed, s.failed, s.ignored), (3, 1, 1));
    }
}
