use anyhow::{Context, Result};

use super::*;
use crate::cli::AbiImportArgs;

pub fn execute(a: AbiImportArgs) -> Result<i32> {
    let AbiImportArgs {
        dump,
        zig_abilists,
        sysroot,
        release,
        target,
        out,
        force,
    } = a;
    let from_zig = zig_abilists.is_some();
    let set = match (&dump, &sysroot) {
        _ if zig_abilists.is_some() => {
            let file = zig_abilists.expect("checked");
            let bytes =
                std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let zig = crate::toolchain::zig()
                .map(|z| z.version)
                .unwrap_or_else(|_| "unknown".into());
            crate::abi_import::from_zig_abilists(
                &bytes,
                &format!("{}-none", target.zig),
                target.machine,
                &zig,
            )
            .with_context(|| format!("in {}", file.display()))?
        }
        (_, Some(dir)) => {
            let release = release.expect("clap requires --release with --sysroot");
            crate::sysroot::abi_set(dir, &release.release, target.machine)?
        }
        (Some(dump), None) => {
            let text = std::fs::read_to_string(dump)
                .with_context(|| format!("cannot read {}", dump.display()))?;
            crate::model::abi::AbiSet::from_dump(&text)
                .with_context(|| format!("in {}", dump.display()))?
        }
        (None, None) => unreachable!("clap requires a dump or --sysroot"),
    };
    // --out is a directory; the data file's name is the shipped one. A name
    // ending in .json is the old spelling of the file itself.
    let out = if out.extension().is_some_and(|e| e == "json") {
        out
    } else {
        std::fs::create_dir_all(&out)
            .with_context(|| format!("cannot create the directory {}", out.display()))?;
        out.join(if from_zig {
            format!(
                "zig-{}-libc-{}.json",
                set.release.trim_end_matches(".x"),
                set.arch
            )
        } else {
            format!("{}-{}.json", set.release, set.arch)
        })
    };
    if out.exists() && !force {
        anyhow::bail!(
            "{} exists; bsdx never overwrites it unasked\n  fix: pass --force to replace it, or --out another directory",
            out.display()
        );
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
    Ok(exit::OK)
}
