use anyhow::Result;

use super::*;
use crate::cli::ReproArgs;

pub fn execute(a: ReproArgs) -> Result<i32> {
    let (target, release) = (a.target.target, a.target.release);
    let tmp;
    let work = match &a.work_dir {
        Some(w) => w.clone(),
        None => {
            tmp = tempfile::Builder::new().prefix("bsdx-repro-").tempdir()?;
            tmp.path().to_path_buf()
        }
    };
    let report = crate::repro::run(
        &a.path,
        &work,
        &target,
        release,
        &a.libs.libs(release)?,
        &a.cargo_args,
    )?;
    if a.json {
        print_json(&report)?;
    } else {
        print!("{}", report.render());
    }
    Ok(if report.identical {
        exit::OK
    } else {
        exit::FAILURE
    })
}
