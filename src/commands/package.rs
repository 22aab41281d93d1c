use anyhow::{Context, Result};

use super::*;
use crate::cli::PackageArgs;
use crate::package::Compression;

pub fn execute(a: PackageArgs) -> Result<i32> {
    let (target, release) = (a.target.target, a.target.release);
    if let Some(file) = &a.inspect {
        let report = crate::package::inspect::inspect(file, release)?;
        if a.json {
            print_json(&report)?;
        } else {
            print!("{}", report.render());
        }
        return Ok(report.exit_code());
    }
    let cwd = std::env::current_dir()?;
    // Refused before anything runs; relative to here, as every other path.
    let libs = match a.libs.libs(release)? {
        crate::env::Libs::Sysroot(d) => crate::env::Libs::Sysroot(cwd.join(d)),
        stubs => stubs,
    };
    let out = cwd.join(&a.out);
    let dir = std::fs::canonicalize(&a.path).map_err(|e| {
        anyhow::anyhow!(
            "{} does not exist ({e})\n  fix: give a Cargo project's directory as PATH, or run bsdx inside it",
            a.path.display()
        )
    })?;
    let project = crate::project::load_package(&dir)?;
    let dest = crate::package::output_path(&project, &out);
    crate::output::refuse_existing(&dest, a.force)?;
    let sysroot = match &libs {
        crate::env::Libs::Sysroot(d) => Some(d.clone()),
        crate::env::Libs::Stubs => None,
    };
    let binaries = match &a.from_binary {
        Some(b) => vec![cwd.join(b)],
        None => {
            // Exactly `bsdx build`, in the project's directory.
            std::env::set_current_dir(&dir)?;
            let env = crate::env::compute(&target, release, &libs, &crate::env::Paths::current()?)?;
            eprintln!(
                "bsdx: building {} for {} (FreeBSD {}, {})",
                project.package.name, env.target, env.release, env.libs
            );
            let built = crate::build::build_checked(&env, release, &libs, &a.cargo_args, &dir)?;
            let wanted = project.binaries();
            let found: Vec<std::path::PathBuf> = built
                .binaries
                .iter()
                .filter(|b| {
                    b.file_name()
                        .is_some_and(|n| wanted.iter().any(|w| n == w.as_str()))
                })
                .cloned()
                .collect();
            Some(found)
                .filter(|f| !f.is_empty())
                .with_context(|| {
                    format!(
                        "cargo built no binary named {} (it built: {})\n  fix: set binary = \"…\" in [package.metadata.bsdx.service] (a service) or name the crate's [[bin]]s (a tool)",
                        wanted.join(" or "),
                        built
                            .binaries
                            .iter()
                            .filter_map(|b| b.file_name().map(|n| n.to_string_lossy().into_owned()))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                })?
        }
    };
    let compression = if a.xz {
        Compression::Xz
    } else {
        Compression::Zstd
    };
    let p = crate::package::from_binary(
        &project,
        &binaries,
        &target,
        release,
        sysroot.as_deref(),
        &crate::package::Output {
            dir: out,
            compression,
            force: a.force,
        },
    )?;
    if a.json {
        print_json(&p)?;
    } else {
        eprintln!(
            "bsdx: {} {} ({}, FreeBSD_version {} = {}; {} bytes, sha256 {})",
            p.name, p.version, p.abi, p.freebsd_version, p.floor_release, p.size, p.sha256
        );
        println!("{}", p.path.display());
    }
    Ok(exit::OK)
}
