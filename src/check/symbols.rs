//! The symbols a file needs, against every known release: which releases
//! it runs on, what is missing on the one asked about, and what could not
//! be checked. One lookup per (release, requirement) ([`lookups`]): the
//! verdict (`runs_on`) and every message are computed from that same table,
//! so they cannot disagree.

use std::collections::BTreeSet;

use super::base::Lookup;
use super::elf::escape;
use super::facts::Facts;
use super::report::{Code, Finding, Level};
use super::rules::{finding, Against};

/// What the symbols say about a file.
pub(super) struct Verdict {
    pub findings: Vec<Finding>,
    /// Known releases on which every requirement is met, oldest first.
    pub runs_on: Vec<String>,
    pub unchecked: Vec<String>,
}

/// `found[i][j]`: requirement `j` in release `i`.
type Table = Vec<Vec<Lookup>>;

/// Resolve `f`'s symbols against every release of `a`. `earlier` are the
/// findings of the other rules (a static file with an error runs nowhere).
pub(super) fn resolve(f: &Facts, a: &Against, earlier: &[Finding]) -> Verdict {
    let found = lookups(f, a);
    let why = why_not(f, a, &found);
    let mut findings = missing(f, a, &found);
    findings.extend(not_on_release(f, a, &why));
    findings.extend(host_provided(f, a, &found));
    let errors = earlier
        .iter()
        .chain(&findings)
        .any(|x| x.level == Level::Error);
    Verdict {
        runs_on: runs_on(f, a, &why, errors),
        unchecked: unchecked(f, a, &found),
        findings,
    }
}

fn lookups(f: &Facts, a: &Against) -> Table {
    a.bases
        .iter()
        .map(|b| f.reqs.iter().map(|req| b.lookup(req, &f.needed)).collect())
        .collect()
}

/// Why each release cannot run the file (empty: it can).
fn why_not(f: &Facts, a: &Against, found: &Table) -> Vec<Vec<String>> {
    a.bases
        .iter()
        .zip(found)
        .map(|(b, row)| {
            let mut why = Vec::new();
            for n in &f.needed {
                if n.contains('/') {
                    why.push(format!("DT_NEEDED {} is a path", escape(n)));
                } else if !b.has_soname(n) {
                    why.push(format!("{} is not in its base", escape(n)));
                }
            }
            // A shared object may take symbols from the program that loads it.
            if f.is_exec {
                for (req, l) in f.reqs.iter().zip(row) {
                    if matches!(l, Lookup::Missing) {
                        why.push(format!("{} is not exported", req.display()));
                    }
                }
            }
            why
        })
        .collect()
}

/// The releases that export requirement `j`.
fn exporters<'a>(a: &'a Against, found: &Table, j: usize) -> Vec<&'a str> {
    a.bases
        .iter()
        .zip(found)
        .filter(|(_, row)| matches!(row[j], Lookup::Found))
        .map(|(b, _)| b.release.release.as_str())
        .collect()
}

/// An executable's symbols the asked-about release does not export.
fn missing(f: &Facts, a: &Against, found: &Table) -> Vec<Finding> {
    if !f.is_exec {
        return vec![];
    }
    let (base, release) = (a.base(), a.release());
    let mut out = vec![];
    for (j, req) in f.reqs.iter().enumerate() {
        if !matches!(found[a.target_idx][j], Lookup::Missing) {
            continue;
        }
        let shown = req.display();
        let have = exporters(a, found, j);
        let elsewhere = match have.first() {
            Some(first) => format!(
                "FreeBSD {} export it, so this file needs one of those (check it with --release {first}); to run on {release}, rebuild so nothing calls it (C code compiled against Zig's libc headers, which describe FreeBSD 14, may)",
                have.join(", ")
            ),
            None => "no release bsdx knows exports it: it was linked against a library (or stub) that has it, the real ones do not".to_string(),
        };
        let (level, code, message) = match (&req.version, base.exact) {
            (_, false) => (Level::Warning, Code::SymbolNotInData, format!("{shown} is not in bsdx's symbol data for FreeBSD {release} ({}); check with --sysroot against the real base", base.description)),
            (Some(_), true) => (Level::Error, Code::MissingSymbolVersion, format!("FreeBSD {release} does not export {shown}: ld-elf.so.1 will refuse to start it. {elsewhere}")),
            (None, true) => (Level::Error, Code::MissingSymbol, format!("no NEEDED library of FreeBSD {release} exports {shown}: ld-elf.so.1 will refuse to start it. {elsewhere}")),
        };
        out.push(finding(level, code, &shown, message));
    }
    out
}

/// Why each other release cannot run it (up to three reasons each).
fn not_on_release(f: &Facts, a: &Against, why: &[Vec<String>]) -> Vec<Finding> {
    if !f.dynamic {
        return vec![];
    }
    a.bases
        .iter()
        .zip(why)
        .enumerate()
        .filter(|(i, (_, reasons))| *i != a.target_idx && !reasons.is_empty())
        .map(|(_, (b, reasons))| {
            finding(
                Level::Info,
                Code::NotOnRelease,
                &b.release.release,
                format!(
                    "does not run on FreeBSD {}: {}{}",
                    b.release.release,
                    reasons
                        .iter()
                        .take(3)
                        .cloned()
                        .collect::<Vec<_>>()
                        .join("; "),
                    if reasons.len() > 3 {
                        format!("; and {} more", reasons.len() - 3)
                    } else {
                        String::new()
                    }
                ),
            )
        })
        .collect()
}

/// A shared object's symbols none of its libraries has: its host's API.
fn host_provided(f: &Facts, a: &Against, found: &Table) -> Vec<Finding> {
    if f.is_exec {
        return vec![];
    }
    let host: Vec<String> = f
        .reqs
        .iter()
        .zip(&found[a.target_idx])
        .filter(|(_, l)| matches!(l, Lookup::Missing))
        .map(|(req, _)| req.display())
        .collect();
    if host.is_empty() {
        return vec![];
    }
    let shown: Vec<&str> = host.iter().take(5).map(String::as_str).collect();
    vec![finding(
        Level::Info,
        Code::HostProvidedSymbols,
        &host.join(" "),
        format!(
            "{} undefined symbol(s) ({}{}) are in none of its NEEDED libraries: fine if the program that loads this object provides them (a plugin's host API)",
            host.len(),
            shown.join(", "),
            if host.len() > 5 { ", …" } else { "" }
        ),
    )]
}

/// The releases it runs on: for a dynamic file those with no reason
/// against; a static one (nothing to resolve) runs from the kernel ABI it
/// was built for on, unless it has an error.
fn runs_on(f: &Facts, a: &Against, why: &[Vec<String>], errors: bool) -> Vec<String> {
    let releases = a.bases.iter().map(|b| b.release);
    if f.dynamic {
        releases
            .zip(why)
            .filter(|(_, w)| w.is_empty())
            .map(|(r, _)| r.release.clone())
            .collect()
    } else if !errors {
        releases
            .filter(|r| f.tag.is_none_or(|t| r.freebsd_version / 1000 >= t / 1000))
            .map(|r| r.release.clone())
            .collect()
    } else {
        vec![]
    }
}

/// What could not be checked: a static file's symbols, libraries without
/// data, and symbols when the release's data is not its own.
fn unchecked(f: &Facts, a: &Against, found: &Table) -> Vec<String> {
    let mut out = vec![];
    if !f.dynamic {
        out.push("statically linked: no libraries or symbols to resolve".into());
    }
    let unknown: BTreeSet<String> = f
        .reqs
        .iter()
        .zip(&found[a.target_idx])
        .filter(|(_, l)| matches!(l, Lookup::Unknown))
        .map(|(req, _)| {
            req.file
                .clone()
                .unwrap_or_else(|| "one of the NEEDED libraries".into())
        })
        .collect();
    for lib in unknown {
        out.push(format!(
            "symbols from {} not checked: no symbol data for it",
            escape(&lib)
        ));
    }
    if !a.base().exact && f.dynamic {
        out.push(format!(
            "exact symbol availability in FreeBSD {}: {}",
            a.release(),
            a.base().description
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::elf::Requirement;
    use super::super::rules::tests::{against, bases, good};
    use super::*;

    fn req(name: &str, file: Option<&str>, version: Option<&str>) -> Requirement {
        Requirement {
            name: name.into(),
            file: file.map(str::to_string),
            version: version.map(str::to_string),
        }
    }

    fn codes(v: &Verdict) -> Vec<Code> {
        v.findings.iter().map(|x| x.code).collect()
    }

    #[test]
    fn a_clean_file_runs_everywhere_it_links() {
        let b = bases();
        let a = against(&b, "14.4");
        let f = Facts {
            reqs: vec![req("printf", None, None)],
            ..good()
        };
        let v = resolve(&f, &a, &[]);
        assert!(v.findings.is_empty(), "{:?}", v.findings);
        assert_eq!(v.runs_on.first().map(String::as_str), Some("13.5"));
        assert!(v.runs_on.contains(&"14.4".to_string()));
    }

    #[test]
    fn a_missing_symbol_is_found_on_the_release_and_explains_the_others() {
        let b = bases();
        let a = against(&b, "13.5");
        let f = Facts {
            reqs: vec![req("kvm_bogus_function", None, None)],
            needed: vec!["libc.so.7".into()],
            ..good()
        };
        let v = resolve(&f, &a, &[]);
        // The embedded 13.5 data is 13.5's own: an error, not a warning.
        assert_eq!(codes(&v)[0], Code::MissingSymbol);
        assert!(v.findings[0]
            .message
            .contains("no release bsdx knows exports it"));
        assert!(codes(&v)[1..].iter().all(|c| *c == Code::NotOnRelease));
        assert!(v.runs_on.is_empty());
        // Against a release whose data is borrowed, only a warning.
        let a = against(&b, "14.4");
        let v = resolve(&f, &a, &[]);
        assert_eq!(codes(&v)[0], Code::SymbolNotInData);
        assert!(v
            .unchecked
            .iter()
            .any(|u| u.starts_with("exact symbol availability")));
    }

    #[test]
    fn a_plugin_takes_symbols_from_its_host() {
        let b = bases();
        let a = against(&b, "13.5");
        let f = Facts {
            kind: "shared-object",
            is_exec: false,
            interp: None,
            reqs: (0..7)
                .map(|i| req(&format!("napi_{i}"), None, None))
                .collect(),
            ..good()
        };
        let v = resolve(&f, &a, &[]);
        assert_eq!(codes(&v), [Code::HostProvidedSymbols]);
        assert!(v.findings[0]
            .message
            .starts_with("7 undefined symbol(s) (napi_0, "));
        assert!(v.findings[0].message.contains(", …)"));
        assert_eq!(
            v.runs_on.len(),
            b.len(),
            "a host's API is no reason against"
        );
    }

    #[test]
    fn static_files_run_from_their_note_on_unless_broken() {
        let b = bases();
        let a = against(&b, "14.4");
        let f = Facts {
            dynamic: false,
            needed: vec![],
            tag: Some(1402000),
            ..good()
        };
        let v = resolve(&f, &a, &[]);
        assert!(
            v.runs_on.iter().all(|r| r.as_str() >= "14.2"),
            "{:?}",
            v.runs_on
        );
        assert!(v.runs_on.contains(&"14.2".to_string()));
        assert_eq!(
            v.unchecked,
            ["statically linked: no libraries or symbols to resolve"]
        );
        let broken = [finding(Level::Error, Code::ElfClass, "x", String::new())];
        assert!(resolve(&f, &a, &broken).runs_on.is_empty());
    }

    #[test]
    fn libraries_without_data_are_not_checked() {
        let b = bases();
        let a = against(&b, "13.5");
        let f = Facts {
            needed: vec!["libc.so.7".into(), "libfoo.so.1".into()],
            reqs: vec![req("foo", Some("libfoo.so.1"), Some("FOO_1.0"))],
            ..good()
        };
        let v = resolve(&f, &a, &[]);
        assert_eq!(
            v.unchecked,
            ["symbols from libfoo.so.1 not checked: no symbol data for it"]
        );
        // libfoo is in no base: every release says so.
        assert!(v.runs_on.is_empty());
    }
}
