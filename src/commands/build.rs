use anyhow::Result;

use super::*;
use crate::cli::BuildArgs;

pub fn execute(a: BuildArgs) -> Result<i32> {
    let (target, release) = (a.target.target, a.target.release);
    let (dir, libs) = enter_project(&a.path, a.libs.libs(release)?)?;
    let env = crate::env::compute(&target, release, &libs, &crate::env::Paths::current()?)?;
    eprintln!(
        "bsdx: building for {} (FreeBSD {}, {})",
        env.target, env.release, env.libs
    );
    let built = crate::build::build_checked(&env, release, &libs, &a.cargo_args, &dir)?;
    if a.json {
        print_json(&built)?;
    } else {
        if built.binaries.is_empty() {
            eprintln!("bsdx: cargo produced no binaries (a library crate?)");
        }
        for b in &built.binaries {
            println!("{}", b.display());
        }
    }
    Ok(exit::OK)
}
