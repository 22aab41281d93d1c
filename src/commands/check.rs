use anyhow::Result;

use super::*;
use crate::cli::CheckArgs;

pub fn execute(a: CheckArgs) -> Result<i32> {
    let sysroot = match a.libs.libs(a.release)? {
        crate::env::Libs::Sysroot(dir) => Some(dir),
        crate::env::Libs::Stubs => None,
    };
    let report = crate::check::run(&a.files, a.release, sysroot.as_deref(), a.target.as_ref())?;
    if a.json {
        print_json(&report)?;
    } else {
        use std::io::IsTerminal;
        print!("{}", report.render(std::io::stdout().is_terminal()));
    }
    Ok(report.exit_code(a.strict))
}
