use anyhow::Result;

use super::*;
use crate::cli::RepoArgs;

const URL_SCHEMES: &[&str] = &[
    "http://",
    "https://",
    "file://",
    "ssh://",
    "tcp://",
    "pkg+http://",
    "pkg+https://",
];

pub fn execute(a: RepoArgs) -> Result<i32> {
    if let Some(url) = &a.print_conf {
        if !crate::repo::valid_name(&a.name) {
            anyhow::bail!(
                "`{}` cannot name a repository\n  fix: --name with a letter first, then letters, digits, `-` or `_` (it becomes NAME.conf and the key in it)",
                a.name
            );
        }
        if !URL_SCHEMES.iter().any(|s| url.starts_with(s)) || url.contains(['"', '\n']) {
            anyhow::bail!(
                "`{url}` is not a URL pkg fetches from (pkg.conf(5): http://, https://, file://, ssh://, tcp://, or pkg+http(s):// for SRV mirrors)\n  fix: the URL of the directory that holds meta.conf, e.g. https://pkg.example.org/bsdx/${{ABI}}"
            );
        }
        let pubkey = match (&a.key, &a.pubkey) {
            (Some(k), _) => Some(crate::repo::sign::load_private_key(k)?.to_public_key()),
            (None, Some(p)) => Some(crate::repo::sign::load_public_key(p)?),
            (None, None) => None,
        };
        let conf = crate::repo::host_conf(&a.name, url, pubkey.as_ref());
        if a.json {
            print_json(&conf)?;
        } else {
            if url.starts_with("file://") {
                eprintln!("bsdx: note: with a file:// URL pkg installs packages in place without checking their sums against the catalog (libpkg/repo/binary/fetch.c); the catalog signature is still checked");
            }
            if pubkey.is_none() {
                eprintln!("bsdx: no --key or --pubkey: this configuration trusts whatever the server sends (signature_type \"none\")");
            }
            print!("{}", conf.script);
        }
        return Ok(exit::OK);
    }
    let dir = a.dir.expect("clap requires DIR without --print-conf");
    if a.verify {
        let v = crate::repo::verify(&dir, a.pubkey.as_deref())?;
        if a.json {
            print_json(&v)?;
        } else {
            print!("{}", v.render());
        }
        return Ok(v.exit_code());
    }
    if a.pubkey.is_some() {
        anyhow::bail!(
            "--pubkey is for --verify and --print-conf; building signs with the private key\n  fix: pass --key PRIVATE_KEY.pem"
        );
    }
    let report = crate::repo::build(&dir, a.key.as_deref())?;
    if a.json {
        print_json(&report)?;
    } else {
        eprint!("{}", report.render());
        println!("{}", dir.display());
    }
    Ok(exit::OK)
}
