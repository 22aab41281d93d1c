use anyhow::{Context, Result};

use super::*;
use crate::cli::StubsArgs;

pub fn execute(a: StubsArgs) -> Result<i32> {
    let (target, release) = (a.target.target, a.target.release);
    if a.list {
        let libs: Vec<_> = release
            .sonames()
            .into_iter()
            .filter(|s| !catalog().zig_provides(crate::model::abi::link_name(s)))
            .filter(|s| release.library(crate::model::abi::link_name(s)).is_some())
            .collect();
        if a.json {
            print_json(&crate::stubs::Available {
                schema: crate::stubs::SCHEMA,
                release: release.release.clone(),
                target: target.triple.to_string(),
                libraries: libs,
            })?;
        } else {
            println!("{}", libs.join("\n"));
        }
        return Ok(exit::OK);
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
    Ok(exit::OK)
}
