use anyhow::Result;

use super::*;
use crate::cli::{ExtractArgs, FetchArgs, SysrootCommand};
use crate::sysroot::{extract, fetch, Extracted, Fetched, Labels, Wanted};

pub fn execute(cmd: SysrootCommand) -> Result<i32> {
    match cmd {
        SysrootCommand::Fetch(a) => fetch_command(a),
        SysrootCommand::Extract(a) => extract_command(a),
    }
}

fn extract_command(a: ExtractArgs) -> Result<i32> {
    let labels = Labels {
        release: a.release,
        arch: a.target.map(|t| t.machine.to_string()),
    };
    let source = a.base_txz.display().to_string();
    let marker = extract(&a.base_txz, &a.out, labels, &source, None)?;
    if a.json {
        print_json(&Extracted {
            path: a.out,
            marker,
        })?;
    } else {
        println!("{}", a.out.display());
    }
    Ok(exit::OK)
}

fn fetch_command(a: FetchArgs) -> Result<i32> {
    let want = Wanted::new(&a.release, a.target.machine, a.sha256.as_deref())?;
    let urls = want.urls_with(a.mirror.as_deref());
    let (path, marker, cached) = fetch(&want, &urls)?;
    if cached {
        eprintln!(
            "bsdx: FreeBSD {} {} sysroot already in the cache",
            want.release, want.arch
        );
    }
    if a.json {
        print_json(&Fetched {
            path,
            release: want.release,
            arch: want.arch,
            sha256: marker.sha256,
            url: marker.source,
            cached,
        })?;
    } else {
        println!("{}", path.display());
    }
    Ok(exit::OK)
}
