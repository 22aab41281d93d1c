use anyhow::Result;

use crate::cli::BrandArgs;

pub fn run(a: BrandArgs) -> Result<i32> {
    for f in crate::check::expand(&a.files) {
        let changed = crate::abitag::brand(&f)?;
        println!(
            "{}: {}",
            f.display(),
            if changed {
                "branded FreeBSD"
            } else {
                "already FreeBSD"
            }
        );
    }
    Ok(0)
}
