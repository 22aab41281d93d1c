//! bsdx's exit codes, the same for every subcommand, so scripts can rely on
//! them (the README lists them).
//!
//! | code | meaning |
//! |---|---|
//! | 0 | success (`check`: no errors; `repro`: identical) |
//! | 1 | failure: an error bsdx reports, `check` found errors (`--strict`: or warnings), `repro` found differences, `doctor` found something missing |
//! | 2 | usage: the command line is wrong (clap) |
//! | 3 | `check`, `rcd lint`, `package --inspect`: an input could not be read |
//! | 4 | `build`/`repro`/`package`: the build succeeded (or the binary was given), but `bsdx check` rejects it for the release |
//! | N | `build`/`repro`: cargo failed with exit code N (passed through; cargo uses 101) |
//! | N | `run`: the program's own exit status in FreeBSD (128+N when signal N killed it) |
//! | 124 | `run`: `--timeout` passed before the program's exit status arrived |
//! | 125 | `run`: the VM could not run the program: QEMU missing or failing, a kernel panic, FreeBSD stopped at a prompt, or no exit status came back |

use std::fmt;

pub const OK: i32 = 0;
pub const FAILURE: i32 = 1;
/// clap's own code for a bad command line.
pub const USAGE: i32 = 2;
pub const UNREADABLE: i32 = 3;
pub const REJECTED: i32 = 4;
/// `bsdx run`: no exit status before `--timeout` (as timeout(1)).
pub const RUN_TIMEOUT: i32 = 124;
/// `bsdx run`: the VM could not run the program to completion.
pub const RUN_FAILED: i32 = 125;

/// An error that ends bsdx with a specific exit code (`main` looks for it).
#[derive(Debug)]
pub struct Exit {
    pub code: i32,
    pub message: String,
}

impl fmt::Display for Exit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Exit {}

/// The exit code for an error: its [`Exit`] code, else [`FAILURE`].
pub fn code_of(e: &anyhow::Error) -> i32 {
    e.chain()
        .find_map(|c| c.downcast_ref::<Exit>())
        .map_or(FAILURE, |x| x.code)
}
