use anyhow::Result;

use super::*;
use crate::cli::{RcdArgs, RcdCommand, RcdLintArgs};

pub fn execute(mut a: RcdArgs) -> Result<i32> {
    if let Some(RcdCommand::Lint(l)) = a.command.take() {
        // `bsdx rcd lint` without FILE: a project directory named `lint`.
        if l.files.is_empty() {
            let project = std::path::Path::new("lint");
            if !project.join("Cargo.toml").is_file() {
                return Err(exit::Exit {
                    code: exit::USAGE,
                    message: "bsdx rcd lint needs the rc.d scripts to check\n  fix: bsdx rcd lint FILE…  (or, for a Cargo project, bsdx rcd PATH)".into(),
                }
                .into());
            }
            a.path = project.to_path_buf();
            a.json = l.json;
        } else {
            return lint(l);
        }
    }
    generate(a)
}

fn lint(l: RcdLintArgs) -> Result<i32> {
    let report = crate::rcd::lint::run(&l.files);
    if l.json {
        print_json(&report)?;
    } else {
        print!("{}", report.render());
    }
    Ok(report.exit_code(l.strict))
}

fn generate(a: RcdArgs) -> Result<i32> {
    let project = crate::project::load(&a.path)?;
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
