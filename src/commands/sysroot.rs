use anyhow::Result;

use crate::cli::{ExtractArgs, FetchArgs, SysrootCommand};
use crate::sysroot::{canonical_arch, extract, fetch, Labels, Wanted};

pub fn run(cmd: SysrootCommand) -> Result<i32> {
    match cmd {
        SysrootCommand::Fetch(a) => fetch_command(a),
        SysrootCommand::Extract(a) => extract_command(a),
    }
}

fn extract_command(a: ExtractArgs) -> Result<i32> {
    let arch = a
        .arch
        .map(|g| canonical_arch(&g).map(str::to_string).unwrap_or(g));
    let labels = Labels {
        release: a.release,
        arch,
    };
    let source = a.base_txz.display().to_string();
    let marker = extract(&a.base_txz, &a.out, labels, &source, None)?;
    if a.json {
        let mut value = serde_json::to_value(&marker)?;
        value["path"] = serde_json::json!(a.out);
        println!("{}", serde_json::to_string_pretty(&value)?);
    } else {
        println!("{}", a.out.display());
    }
    Ok(0)
}

fn fetch_command(a: FetchArgs) -> Result<i32> {
    let want = Wanted::new(&a.release, &a.arch, a.sha256.as_deref())?;
    let urls = want.urls_with(a.mirror.as_deref());
    let (path, marker, cached) = fetch(&want, &urls)?;
    if cached {
        eprintln!(
            "bsdx: FreeBSD {} {} sysroot already in the cache",
            want.release, want.arch
        );
    }
    if a.json {
        let out = serde_json::json!({
            "path": path, "release": want.release, "arch": want.arch,
            "sha256": marker.sha256, "url": marker.source, "cached": cached,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        println!("{}", path.display());
    }
    Ok(0)
}
