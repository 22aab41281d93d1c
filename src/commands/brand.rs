use anyhow::Result;

use super::*;
use crate::abitag::{BrandReport, Branded};
use crate::cli::BrandArgs;

pub fn execute(a: BrandArgs) -> Result<i32> {
    let mut report = BrandReport { files: vec![] };
    for path in crate::check::expand(&a.files) {
        let branded = crate::abitag::brand(&path)?;
        if !a.json {
            let what = if branded {
                "branded FreeBSD"
            } else {
                "already FreeBSD"
            };
            println!("{}: {what}", path.display());
        }
        report.files.push(Branded { path, branded });
    }
    if a.json {
        print_json(&report)?;
    }
    Ok(exit::OK)
}
