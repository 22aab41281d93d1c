use anyhow::Result;

use super::*;
use crate::cli::CheckArgs;

pub fn run(a: CheckArgs) -> Result<i32> {
    let release = catalog().get(&a.release)?;
    let target = a.target.as_deref().map(Target::parse).transpose()?;
    let report = crate::check::run(&a.files, release, a.sysroot.as_deref(), target.as_ref())?;
    if a.json {
        print_json(&report)?;
    } else {
        use std::io::IsTerminal;
        print!("{}", report.render(std::io::stdout().is_terminal()));
    }
    Ok(report.exit_code(a.strict))
}
