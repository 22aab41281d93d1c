use anyhow::Result;

use super::*;
use crate::cli::EnvArgs;

pub fn run(a: EnvArgs) -> Result<i32> {
    let (target, release) = resolve(&a.target)?;
    let env = crate::env::compute(
        &target,
        release,
        &libs(&a.libs),
        &crate::env::Paths::current()?,
    )?;
    match a.format {
        Format::Sh => print!("{}", env.to_sh()),
        Format::Json => print_json(&env)?,
    }
    Ok(0)
}
