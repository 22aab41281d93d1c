use anyhow::Result;

use super::*;
use crate::cli::DoctorArgs;

pub fn run(a: DoctorArgs) -> Result<i32> {
    let (target, release) = resolve(&a.target)?;
    let report = crate::doctor::run(&target, release, a.sysroot);
    if a.json {
        print_json(&report)?;
    } else {
        print!("{report}");
    }
    Ok(if report.ok() { 0 } else { 1 })
}
