use anyhow::Result;

use super::*;
use crate::cli::DoctorArgs;

pub fn execute(a: DoctorArgs) -> Result<i32> {
    let report = crate::doctor::run(
        &a.target.target,
        a.target.release,
        a.libs.sysroot_unchecked(),
    );
    if a.json {
        print_json(&report)?;
    } else {
        print!("{report}");
    }
    Ok(if report.ok() { exit::OK } else { exit::FAILURE })
}
