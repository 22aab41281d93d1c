//! bsdx: cross-compile Rust services for FreeBSD from Linux.
//!
//! `main` is the C entry point (`#![no_main]`): std's runtime set-up before
//! `fn main` reads `/proc/self/maps` (glibc's `pthread_getattr_np`, for the
//! main thread's stack-overflow message), which was a tenth of a whole
//! `bsdx check` (benches/check.sh). bsdx does the rest of that set-up itself:
//! standard descriptors that are closed are opened on `/dev/null` (so no file
//! bsdx opens can become its stdout), and SIGPIPE is left at its default, as
//! for any Unix filter. What is given up: a stack overflow on the main thread
//! ends in SIGSEGV without std's one-line message. `std::env::args` still
//! works (glibc passes argv to std's initialiser).
//! (Under `cargo test` the harness's own `main` runs, with no tests here.)
#![cfg_attr(not(test), no_main)]

/// `pow` for this executable, from the `libm` crate (pure Rust): bsdx's one
/// libm import is `pow` (indicatif's progress estimates, through
/// `f64::powf`). With it defined here libm.so.6 drops out of DT_NEEDED
/// (rustc links with `--as-needed`), so no start of bsdx maps, relocates and
/// runs the ifunc resolvers of a library it calls once in a progress bar:
/// about a tenth of `bsdx check`'s page faults (benches/check.sh).
#[cfg(not(test))]
#[no_mangle]
pub extern "C" fn pow(x: f64, y: f64) -> f64 {
    libm::pow(x, y)
}

/// The process entry point, called by the C runtime.
#[cfg(not(test))]
#[no_mangle]
pub extern "C" fn main(_argc: libc::c_int, _argv: *const *const libc::c_char) -> libc::c_int {
    // SAFETY: called first, before any thread or file exists; fcntl, open
    // and signal are async-signal-safe and take no Rust-owned memory.
    unsafe {
        for fd in 0..3 {
            if libc::fcntl(fd, libc::F_GETFD) == -1
                && std::io::Error::last_os_error().raw_os_error() == Some(libc::EBADF)
                && libc::open(c"/dev/null".as_ptr(), libc::O_RDWR) == -1
            {
                libc::abort();
            }
        }
        // `bsdx check --json | head` ends bsdx quietly when the reader goes
        // (a print to a closed pipe would otherwise panic). bsdx writes to no
        // child's pipe, so nothing else sees the difference.
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = bsdx::cli::Cli::from_env();
    match bsdx::commands::execute(cli) {
        // process::exit flushes stdout (std's runtime clean-up) and exits.
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::exit(bsdx::exit::code_of(&e));
        }
    }
}
