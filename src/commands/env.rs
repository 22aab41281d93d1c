use anyhow::Result;

use super::*;
use crate::cli::EnvArgs;

pub fn execute(a: EnvArgs) -> Result<i32> {
    let (_, libs) = enter_project(&a.path, a.libs.libs(a.target.release)?)?;
    let mut env = crate::env::compute(
        &a.target.target,
        a.target.release,
        &libs,
        &crate::env::Paths::current()?,
    )?;
    if a.runner {
        env.vars
            .push(crate::env::runner_var(&a.target.target, a.target.release)?);
    }
    if a.json() {
        print_json(&env)?;
    } else {
        print!("{}", env.to_sh());
    }
    Ok(exit::OK)
}
