use anyhow::Result;

use super::*;
use crate::cli::BuildArgs;

pub fn run(a: BuildArgs) -> Result<i32> {
    let (target, release) = resolve(&a.target)?;
    let env = crate::env::compute(
        &target,
        release,
        &libs(&a.libs),
        &crate::env::Paths::current()?,
    )?;
    eprintln!(
        "bsdx: building for {} (FreeBSD {}, {})",
        env.target, env.release, env.libs
    );
    let binaries = crate::build::execute(&env, &a.cargo_args)?;
    for b in &binaries {
        crate::abitag::brand(b)?;
    }
    let report = crate::check::run(&binaries, release, a.libs.sysroot.as_deref(), Some(&target))?;
    if !binaries.is_empty() {
        eprint!("{}", report.render(false));
    }
    if report.exit_code(false) != 0 {
        anyhow::bail!("bsdx check found errors in the build output (above); the binaries would not run on FreeBSD {}", release.release);
    }
    if a.json {
        print_json(
            &serde_json::json!({ "schema": 1, "target": env.target, "release": env.release, "binaries": binaries }),
        )?;
    } else {
        if binaries.is_empty() {
            eprintln!("bsdx: cargo produced no binaries (a library crate?)");
        }
        for b in &binaries {
            println!("{}", b.display());
        }
    }
    Ok(0)
}
