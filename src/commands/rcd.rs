use anyhow::Result;

use super::*;
use crate::cli::{RcdArgs, RcdCommand};

pub fn execute(a: RcdArgs) -> Result<i32> {
    if let Some(RcdCommand::Lint(l)) = a.command {
        let report = crate::rcd::lint::run(&l.files);
        if l.json {
            print_json(&report)?;
        } else {
            print!("{}", report.render());
        }
        return Ok(report.exit_code(l.strict));
    }
    let project = crate::rcd::load(&a.path)?;
    let g = crate::rcd::generate_for(&project, a.out.as_deref(), a.force)?;
    if a.json {
        print_json(&g)?;
    } else if g.written.is_empty() {
        print!("{}", g.script);
    } else {
        for w in &g.written {
            println!("{}", w.display());
        }
    }
    Ok(exit::OK)
}
