//! The repository catalog: one line per package, as `pkg repo` writes it,
//! and the two files that carry the lines.
//!
//! Read from freebsd/pkg (master `13f9f98`, 2026-08-21, and the tags named):
//!
//! - `libpkg/pkg_repo_create.c` (`pkg_create_repo_thread`): each package's
//!   line is `pkg_emit_object(pkg, PKG_MANIFEST_EMIT_COMPACT)` of its
//!   manifest (no `files`, `directories`, `scripts`, `config`,
//!   `lua_scripts`) emitted as compact JSON, plus what the repository adds:
//!   `sum` (the .pkg file's checksum), `pkgsize` (its size in bytes) and its
//!   path relative to the repository root as both `path` and `repopath`
//!   (`pkg_manifest.c`: "dirty hack to be compatible with pkg 1.2").
//! - `packagesite.yaml` is those lines, each ended by `\n` (every pkg
//!   version; `docs/pkg-repository.5`: "deprecated, kept for backward
//!   compatibility").
//! - `data` (pkg ≥ 1.21.0, commit `ce35a0762` "meta: add a data field in
//!   meta v2"; fetched first from `a992cd2e3` "repo: prefer data.pkg over
//!   packagesite.pkg", also 1.21.0) is one line of compact JSON
//!   `{"groups":[],"expired_packages":[],"packages":[…]}` (the keys
//!   `groups`/`expired_packages` since 2.0.0, `d8295aea8`). pkg 1.21 parses
//!   it with UCL; master reads its first line with jsmn
//!   (`repo/binary/update.c` `pkg_repo_binary_update_proceed`), so it must
//!   stay one line.
//! - `sum`: pkg ≤ 2.7 writes the bare SHA-256 hex of the .pkg file; 2.8
//!   writes `<type>$<blake2 base32>` (`eb2ac2b76`). Every version's
//!   `pkg_checksum_validate_fileat` (`libpkg/pkg_checksum.c`) reads a sum
//!   without `$` as SHA-256 hex, so bsdx writes the bare SHA-256 hex.
//! - The key order is `pkg_emit_object`'s (`libpkg/pkg_manifest.c`); pkg
//!   parses the line as an object, so order only matters for byte identity.

use std::cmp::Ordering;

use serde_json::{Map, Value};

/// Manifest keys in the order `pkg_emit_object` emits them
/// (`libpkg/pkg_manifest.c`, pkg master `13f9f98`). Keys not listed follow
/// in byte order.
const ORDER: &[&str] = &[
    "name",
    "origin",
    "version",
    "comment",
    "maintainer",
    "www",
    "abi",
    "arch",
    "prefix",
    "sum",
    "flatsize",
    "dep_formula",
    "path",
    "repopath",
    "licenselogic",
    "licenses",
    "pkgsize",
    "vital",
    "desc",
    "deps",
    "categories",
    "users",
    "groups",
    "shlibs_required",
    "shlibs_required_ignore",
    "shlibs_provided",
    "shlibs_provided_ignore",
    "conflicts",
    "provides",
    "requires",
    "options",
    "annotations",
    "messages",
];

/// Left out of the catalog: `PKG_MANIFEST_EMIT_COMPACT` (and, since pkg
/// `1891a25bf` "repo: keep file lists out of the data catalog", always).
const NOT_IN_CATALOG: &[&str] = &["files", "directories", "scripts", "lua_scripts", "config"];

/// Keys the catalog needs (`repo/binary/binary_private.h`: the repository
/// database's `packages` columns that are `NOT NULL`, filled from them).
pub const REQUIRED: &[&str] = &[
    "name",
    "origin",
    "version",
    "comment",
    "desc",
    "maintainer",
    "prefix",
    "abi",
];

/// The catalog line of one package: its compact manifest (`manifest`, any
/// repository fields in it replaced) plus `sum`, `path`, `repopath` and
/// `pkgsize`.
pub fn line(manifest: &Map<String, Value>, sum: &str, pkgsize: u64, repopath: &str) -> String {
    let mut fields: Vec<(String, Value)> = Vec::new();
    let value = |k: &str| -> Option<Value> {
        match k {
            "sum" => Some(Value::from(sum)),
            "path" | "repopath" => Some(Value::from(repopath)),
            "pkgsize" => Some(Value::from(pkgsize)),
            _ => manifest.get(k).cloned(),
        }
    };
    for k in ORDER {
        if let Some(v) = value(k) {
            fields.push((k.to_string(), v));
        }
    }
    for (k, v) in manifest {
        if !ORDER.contains(&k.as_str()) && !NOT_IN_CATALOG.contains(&k.as_str()) {
            fields.push((k.clone(), v.clone()));
        }
    }
    let mut obj = crate::package::manifest::Obj::default();
    for (k, v) in fields {
        obj.put(&k, v);
    }
    obj.render()
}

/// `packagesite.yaml`: the lines, each ended by `\n`.
pub fn packagesite(lines: &[String]) -> String {
    lines.iter().map(|l| format!("{l}\n")).collect()
}

/// `data`: one line, `{"groups":[],"expired_packages":[],"packages":[…]}`.
pub fn data(lines: &[String]) -> String {
    format!(
        "{{\"groups\":[],\"expired_packages\":[],\"packages\":[{}]}}",
        lines.join(",")
    )
}

/// One dot-separated component of a version: a number (-1 when the
/// component starts with a letter), a letter rank, a trailing number.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord, Clone, Copy)]
struct Component(i64, i64, i64);

const STAGES: &[&str] = &["pl", "snap", "alpha", "beta", "pre", "rc"];

fn components(v: &str) -> Vec<Component> {
    let b = v.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let number = |i: &mut usize| -> i64 {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        v[start..*i].parse().unwrap_or(i64::MAX)
    };
    while i < b.len() {
        if !b[i].is_ascii_alphanumeric() {
            i += 1;
            continue;
        }
        let n = if b[i].is_ascii_digit() {
            number(&mut i)
        } else {
            -1
        };
        let start = i;
        while i < b.len() && b[i].is_ascii_alphabetic() {
            i += 1;
        }
        let word = v[start..i].to_ascii_lowercase();
        if word.is_empty() {
            out.push(Component(n, 0, 0));
            continue;
        }
        if n >= 0 && STAGES.contains(&word.as_str()) {
            // `1rc2` reads as `1.rc2`.
            out.push(Component(n, 0, 0));
            i = start;
            continue;
        }
        let rank = if word == "pl" {
            0
        } else {
            i64::from(word.as_bytes()[0] - b'a') + 2
        };
        let pl = if i < b.len() && b[i].is_ascii_digit() {
            number(&mut i)
        } else {
            -1
        };
        out.push(Component(n, rank, pl));
    }
    out
}

/// `(epoch, version, revision)` of `1.2.3_4,1`.
fn split(v: &str) -> (u64, &str, u64) {
    let (rest, epoch) = match v.rsplit_once(',') {
        Some((r, e)) => (r, e.parse().unwrap_or(0)),
        None => (v, 0),
    };
    let (body, revision) = match rest.rsplit_once('_') {
        Some((b, r)) => (b, r.parse().unwrap_or(0)),
        None => (rest, 0),
    };
    (epoch, body, revision)
}

/// pkg's version order as pkg-version(8) describes it: epoch (`,N`), then
/// the version component by component (numbers numerically; a component
/// starting with a letter — `alpha`, `beta`, `pre`, `rc` — sorts before
/// any number, so `1.2.0.rc.1` < `1.2.0`), then the port revision (`_N`).
/// Written for the versions `bsdx package` makes (Cargo's, `-` → `.`); not
/// pkg's code.
pub fn version_cmp(a: &str, b: &str) -> Ordering {
    let (ea, va, ra) = split(a);
    let (eb, vb, rb) = split(b);
    ea.cmp(&eb)
        .then_with(|| {
            let (ca, cb) = (components(va), components(vb));
            let n = ca.len().max(cb.len());
            let zero = Component(0, 0, 0);
            (0..n)
                .map(|i| ca.get(i).unwrap_or(&zero).cmp(cb.get(i).unwrap_or(&zero)))
                .find(|o| o.is_ne())
                .unwrap_or(Ordering::Equal)
        })
        .then(ra.cmp(&rb))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_in_pkg_order() {
        let less = [
            ("1.0", "1.1"),
            ("1.9.0", "1.10.0"),
            ("1.2.0.rc.1", "1.2.0"),
            ("1.2.0.alpha.1", "1.2.0.beta.1"),
            ("1.2.0.beta.2", "1.2.0.rc.1"),
            ("1.2.0rc1", "1.2.0"),
            ("1.2", "1.2.1"),
            ("1.2_1", "1.2_2"),
            ("2.0", "1.0,1"),
            ("0.1.0", "0.2.0"),
        ];
        for (a, b) in less {
            assert_eq!(version_cmp(a, b), Ordering::Less, "{a} < {b}");
            assert_eq!(version_cmp(b, a), Ordering::Greater, "{b} > {a}");
        }
        assert_eq!(version_cmp("1.0", "1.0.0"), Ordering::Equal);
    }

    #[test]
    fn a_line_in_pkg_emit_object_order_without_file_lists() {
        let m: Map<String, Value> = serde_json::from_str(
            r#"{"version":"1.0","name":"bot","desc":"d","files":{"/a":"1$x"},"annotations":{"k":"v"},"abi":"FreeBSD:14:amd64","zzz":1,"sum":"old"}"#,
        )
        .unwrap();
        let l = line(&m, "abc", 42, "All/bot-1.0.pkg");
        assert_eq!(
            l,
            r#"{"name":"bot","version":"1.0","abi":"FreeBSD:14:amd64","sum":"abc","path":"All/bot-1.0.pkg","repopath":"All/bot-1.0.pkg","pkgsize":42,"desc":"d","annotations":{"k":"v"},"zzz":1}"#
        );
        assert_eq!(
            data(&[l.clone(), l.clone()]),
            format!("{{\"groups\":[],\"expired_packages\":[],\"packages\":[{l},{l}]}}")
        );
        assert_eq!(packagesite(std::slice::from_ref(&l)), format!("{l}\n"));
    }
}
