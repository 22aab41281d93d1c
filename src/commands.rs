//! The command layer: turn parsed arguments into calls, add context, print.
//! Returns the process exit code.

use std::path::PathBuf;

use anyhow::{Context, Result};

use crate::cli::{AbiCommand, Cli, Command, Format, LibsArgs, TargetArgs};
use crate::env::{self, Libs};
use crate::release::{catalog, Release};
use crate::target::Target;

fn resolve(t: &TargetArgs) -> Result<(Target, &'static Release)> {
    Ok((Target::parse(&t.target)?, catalog().get(&t.release)?))
}

fn libs(l: &LibsArgs) -> Libs {
    match &l.sysroot {
        Some(dir) => Libs::Sysroot(dir.clone()),
        None => Libs::Stubs,
    }
}

fn print_json<T: serde::Serialize>(value: &T) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

pub fn run(cli: Cli) -> Result<i32> {
    match cli.command {
        Command::Env(a) => {
            let (target, release) = resolve(&a.target)?;
            let env = env::compute(&target, release, &libs(&a.libs), &env::Paths::current()?)?;
            match a.format {
                Format::Sh => print!("{}", env.to_sh()),
                Format::Json => print_json(&env)?,
            }
            Ok(0)
        }
        Command::Build(a) => {
            let (target, release) = resolve(&a.target)?;
            let env = env::compute(&target, release, &libs(&a.libs), &env::Paths::current()?)?;
            eprintln!(
                "bsdx: building for {} (FreeBSD {}, {})",
                env.target, env.release, env.libs
            );
            let binaries = crate::build::execute(&env, &a.cargo_args)?;
            for b in &binaries {
                crate::abitag::brand(b)?;
            }
            let report =
                crate::check::run(&binaries, release, a.libs.sysroot.as_deref(), Some(&target))?;
            if !binaries.is_empty() {
                eprint!("{}", report.render(false));
            }
            if report.exit_code(false) != 0 {
                anyhow::bail!("bsdx check found errors in the build output (above); the binaries would not run on FreeBSD {}", release.release);
            }
            if a.json {
                print_json(
                    &serde_json::json!({ "schema": 1, "target": env.target, "release": env.release, "binaries": binaries }),
                )?;
            } else {
                if binaries.is_empty() {
                    eprintln!("bsdx: cargo produced no binaries (a library crate?)");
                }
                for b in &binaries {
                    println!("{}", b.display());
                }
            }
            Ok(0)
        }
        Command::Repro(a) => {
            let (target, release) = resolve(&a.target)?;
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
                &libs(&a.libs),
                &a.cargo_args,
            )?;
            if a.json {
                print_json(&report)?;
            } else {
                print!("{}", report.render());
            }
            Ok(if report.identical { 0 } else { 1 })
        }
        Command::Stubs(a) => {
            let target = Target::from_arch(&a.arch)?;
            let release = catalog().get(&a.release)?;
            if a.list {
                let libs: Vec<_> = release
                    .sonames()
                    .into_iter()
                    .filter(|s| !catalog().zig_provides(crate::abi::link_name(s)))
                    .filter(|s| release.library(crate::abi::link_name(s)).is_some())
                    .collect();
                if a.json {
                    print_json(&libs)?;
                } else {
                    println!("{}", libs.join("\n"));
                }
                return Ok(0);
            }
            let out = a.out.expect("clap requires --out without --list");
            let names = if a.libs.is_empty() {
                catalog().default_stubs.clone()
            } else {
                a.libs
            };
            let zig = crate::toolchain::zig()?;
            let selected = crate::stubs::select(release, &names)?;
            let manifest = crate::stubs::generate(&zig, release, &target, &selected, &out)
                .with_context(|| format!("generating stubs in {}", out.display()))?;
            if a.json {
                print_json(&manifest)?;
            } else {
                for l in &manifest.libraries {
                    println!("{}  ({} symbols)", out.join(&l.soname).display(), l.symbols);
                }
                if !release.symbols_are_exact() {
                    eprintln!(
                        "bsdx: note: symbol lists for {} come from FreeBSD {} data (the only full data shipped); sonames are {}'s",
                        release.release, manifest.symbols_from, release.release
                    );
                }
            }
            Ok(0)
        }
        Command::New(a) => {
            let dest = a.path.clone().unwrap_or_else(|| PathBuf::from(&a.name));
            let created = crate::new::create(&a.name, &a.template, &dest)?;
            if a.json {
                print_json(&created)?;
            } else {
                println!(
                    "created {} from template `{}` ({} files)",
                    dest.display(),
                    created.template,
                    created.files.len()
                );
                println!("next: cd {} && bsdx build", dest.display());
            }
            Ok(0)
        }
        Command::Doctor(a) => {
            let (target, release) = resolve(&a.target)?;
            let report = crate::doctor::run(&target, release, a.sysroot);
            if a.json {
                print_json(&report)?;
            } else {
                print!("{report}");
            }
            Ok(if report.ok() { 0 } else { 1 })
        }
        Command::Check(a) => {
            let release = catalog().get(&a.release)?;
            let target = a.target.as_deref().map(Target::parse).transpose()?;
            let report =
                crate::check::run(&a.files, release, a.sysroot.as_deref(), target.as_ref())?;
            if a.json {
                print_json(&report)?;
            } else {
                use std::io::IsTerminal;
                print!("{}", report.render(std::io::stdout().is_terminal()));
            }
            Ok(report.exit_code(a.strict))
        }
        Command::Brand { files } => {
            for f in crate::check::expand(&files) {
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
        Command::Sysroot(cmd) => crate::base_txz::run(cmd),
        Command::Abi(AbiCommand::Import {
            dump,
            zig_abilists,
            sysroot,
            release,
            arch,
            out,
            force,
        }) => {
            let set = match (&dump, &sysroot) {
                _ if zig_abilists.is_some() => {
                    let file = zig_abilists.expect("checked");
                    let bytes = std::fs::read(&file)
                        .with_context(|| format!("cannot read {}", file.display()))?;
                    let target = Target::from_arch(&arch)?;
                    let zig = crate::toolchain::zig()
                        .map(|z| z.version)
                        .unwrap_or_else(|_| "unknown".into());
                    crate::abi::from_zig_abilists(
                        &bytes,
                        &format!("{}-none", target.zig),
                        target.machine,
                        &zig,
                    )
                    .with_context(|| format!("in {}", file.display()))?
                }
                (_, Some(dir)) => {
                    let release = release.expect("clap requires --release with --sysroot");
                    catalog().get(&release)?;
                    crate::abi::from_sysroot(dir, &release, &arch)?
                }
                (Some(dump), None) => {
                    let text = std::fs::read_to_string(dump)
                        .with_context(|| format!("cannot read {}", dump.display()))?;
                    crate::abi::AbiSet::from_dump(&text)
                        .with_context(|| format!("in {}", dump.display()))?
                }
                (None, None) => unreachable!("clap requires a dump or --sysroot"),
            };
            if out.exists() && !force {
                anyhow::bail!("{} exists; pass --force to replace it", out.display());
            }
            let tmp = out.with_extension("json.tmp");
            std::fs::write(&tmp, set.write_pretty())
                .with_context(|| format!("cannot write {}", tmp.display()))?;
            std::fs::rename(&tmp, &out)?;
            let symbols: usize = set.libraries.iter().map(|l| l.symbols.len()).sum();
            println!(
                "{}: {} libraries, {symbols} symbols ({} {})",
                out.display(),
                set.libraries.len(),
                set.release,
                set.arch
            );
            Ok(0)
        }
    }
}
