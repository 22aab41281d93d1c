//! Warm Zig's cache for the target's final link while cargo compiles.
//!
//! The first link for a FreeBSD target with a cold Zig cache builds Zig's
//! runtime libraries for it (compiler-rt, libunwind, the UBSan runtime): about
//! 8 s of CPU, measured at 11.3 s of wall time on the serial tail of a cold
//! build, where nothing else runs. Linking a one-line C object with the same
//! wrapper and the flags rustc passes to a release link fills the same cache
//! entries (same cache keys: the runtimes depend on the target and the link's
//! mode, not on the program) early in the build, when `core` is compiling on
//! one core and the other is idle. The real link then finds them (measured:
//! 11.3 s → 2.5 s for a relink of a hello program with a cold Zig cache).
//!
//! Best effort by design: a warm-up that fails or is still running when cargo
//! ends changes nothing but time, so it is cancelled and never reported as an
//! error. `BSDX_NO_WARMUP=1` turns it off.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use crate::env::CrossEnv;
use crate::model::target::Target;

/// The link flags rustc gives a FreeBSD release link (`--print link-args`
/// of a release hello program, rust 1.96), without the program's own
/// objects and libraries: these decide which runtime builds Zig caches.
/// `-Wl,--strip-debug` matters: without it Zig builds (and caches) the debug
/// variants, which the real link never uses.
const RELEASE_LINK_FLAGS: &[&str] = &[
    "-Wl,--as-needed",
    "-lgcc_s",
    "-lc",
    "-Wl,--eh-frame-hdr",
    "-Wl,-z,noexecstack",
    "-Wl,--gc-sections",
    "-pie",
    "-Wl,-z,relro,-z,now",
    "-Wl,-O1",
    "-Wl,--strip-debug",
    "-nodefaultlibs",
];

/// cargo-zigbuild's `zig cc` wrapper (`zigcc-<target>.sh`) runs
/// `cargo-zigbuild zig cc -- -g -fno-sanitize=all -target <zig> "$@"`.
fn wrapper_args(target: &Target) -> Vec<String> {
    [
        "zig",
        "cc",
        "--",
        "-g",
        "-fno-sanitize=all",
        "-target",
        target.zig,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// The two commands of a warm-up in `dir`: compile a C object, then link it
/// as rustc links a release binary for `target`.
pub fn commands(target: &Target, dir: &Path) -> [Vec<String>; 2] {
    let src = dir.join("warmup.c").display().to_string();
    let obj = dir.join("warmup.o").display().to_string();
    let exe = dir.join("warmup").display().to_string();
    let mut compile = wrapper_args(target);
    compile.extend(["-c".into(), "-o".into(), obj.clone(), src]);
    let mut link = wrapper_args(target);
    // rustc's pre-link argument for x86_64 targets.
    if target.triple.starts_with("x86_64") {
        link.push("-m64".into());
    }
    link.push(obj);
    link.extend(RELEASE_LINK_FLAGS.iter().map(|s| s.to_string()));
    link.extend(["-o".into(), exe]);
    [compile, link]
}

/// A warm-up running beside a build.
pub struct Warmup {
    thread: Option<JoinHandle<()>>,
    state: Arc<Mutex<State>>,
}

#[derive(Default)]
struct State {
    cancelled: bool,
    running: Option<duct::Handle>,
}

/// Start warming Zig's cache for `env`'s target, unless `BSDX_NO_WARMUP` is
/// set. Everything, finding cargo-zigbuild included, happens on the warm-up's
/// own thread, so cargo starts at once; if cargo-zigbuild cannot be found the
/// build just pays the cold link itself.
pub fn start(env: &CrossEnv) -> Option<Warmup> {
    if std::env::var_os("BSDX_NO_WARMUP").is_some_and(|v| !v.is_empty() && v != "0") {
        return None;
    }
    let target = Target::parse(&env.target).ok()?;
    let env = env.clone();
    let state = Arc::new(Mutex::new(State::default()));
    let shared = Arc::clone(&state);
    let thread = std::thread::spawn(move || {
        let Some((_dir, cmds)) = prepare(&env, &target) else {
            return;
        };
        for cmd in cmds {
            {
                let mut s = shared.lock().unwrap_or_else(|e| e.into_inner());
                if s.cancelled {
                    return;
                }
                match cmd.start() {
                    Ok(h) => s.running = Some(h),
                    Err(_) => return,
                }
            }
            // Wait without holding the lock, so `finish` can kill it.
            loop {
                let s = shared.lock().unwrap_or_else(|e| e.into_inner());
                match s.running.as_ref().map(|h| h.try_wait()) {
                    Some(Ok(Some(out))) if out.status.success() => break,
                    Some(Ok(None)) => {}
                    _ => return, // failed or killed: stop here
                }
                drop(s);
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
        }
    });
    Some(Warmup {
        thread: Some(thread),
        state,
    })
}

/// The warm-up's directory (removed when dropped) and its commands, run
/// through cargo-zigbuild with the build's environment.
fn prepare(env: &CrossEnv, target: &Target) -> Option<(tempfile::TempDir, Vec<duct::Expression>)> {
    let zigbuild = crate::toolchain::cargo_zigbuild().ok()?.path;
    let dir = tempfile::Builder::new()
        .prefix("bsdx-warmup")
        .tempdir()
        .ok()?;
    std::fs::write(
        dir.path().join("warmup.c"),
        "int main(void) { return 0; }\n",
    )
    .ok()?;
    let cmds = commands(target, dir.path())
        .into_iter()
        .map(|args| {
            env.apply(duct::cmd(&zigbuild, args))
                .stdin_null()
                .stdout_null()
                .stderr_null()
                .unchecked()
        })
        .collect();
    Some((dir, cmds))
}

impl Warmup {
    /// Stop a warm-up that is still running and wait for it to be gone.
    pub fn finish(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        {
            let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
            s.cancelled = true;
            if let Some(h) = &s.running {
                let _ = h.kill();
            }
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Warmup {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_link_is_a_release_link_through_cargo_zigbuilds_wrapper() {
        let amd64 = Target::parse("x86_64-unknown-freebsd").unwrap();
        let [compile, link] = commands(&amd64, Path::new("/w"));
        assert_eq!(
            compile,
            [
                "zig",
                "cc",
                "--",
                "-g",
                "-fno-sanitize=all",
                "-target",
                "x86_64-freebsd"
            ]
            .iter()
            .chain(&["-c", "-o", "/w/warmup.o", "/w/warmup.c"])
            .map(|s| s.to_string())
            .collect::<Vec<_>>()
        );
        assert!(link.contains(&"-Wl,--strip-debug".to_string()));
        assert_eq!(link[7..9], ["-m64", "/w/warmup.o"]);
        assert_eq!(link[link.len() - 2..], ["-o", "/w/warmup"]);
        let arm64 = Target::parse("aarch64-unknown-freebsd").unwrap();
        let [_, link] = commands(&arm64, Path::new("/w"));
        assert!(link.contains(&"aarch64-freebsd".to_string()));
        assert!(!link.contains(&"-m64".to_string()), "-m64 is x86 only");
    }
}
