//! The rules: one function per question `bsdx package --inspect` asks of a
//! package ([`RULES`], in the order their problems are reported), as
//! pkg(8) would ask it when installing.

use super::read::Package;
use super::Problem;
use crate::findings::Level;

fn problem(level: Level, code: &str, message: String) -> Problem {
    Problem {
        level,
        code: code.into(),
        message,
    }
}

type Rule = fn(&Package) -> Vec<Problem>;

pub(super) const RULES: &[Rule] = &[
    member_order,
    manifest_is_json,
    compact_manifest,
    manifest_fields,
    abi,
    freebsd_version,
    files,
    unlisted,
    directories,
    attributes,
    shlibs,
    flatsize,
];

/// pkg reads the manifests from the start of the stream.
fn member_order(p: &Package) -> Vec<Problem> {
    let order: Vec<&str> = p.members.iter().take(2).map(|m| m.path.as_str()).collect();
    if order == ["+COMPACT_MANIFEST", "+MANIFEST"] {
        return vec![];
    }
    vec![problem(
        Level::Error,
        "member-order",
        format!("the first members are {order:?}, not +COMPACT_MANIFEST then +MANIFEST: pkg reads the manifest from the start of the stream"),
    )]
}

fn manifest_is_json(p: &Package) -> Vec<Problem> {
    if p.manifest.is_object() {
        return vec![];
    }
    vec![problem(
        Level::Error,
        "manifest",
        "+MANIFEST is missing or not JSON".into(),
    )]
}

/// `+COMPACT_MANIFEST` is `+MANIFEST` without the file lists and scripts.
fn compact_manifest(p: &Package) -> Vec<Problem> {
    match (p.manifest.as_object(), p.compact.as_object()) {
        (Some(full), Some(c)) => {
            let mut stripped = full.clone();
            for k in ["files", "directories", "scripts", "config", "lua_scripts"] {
                stripped.remove(k);
            }
            if &stripped == c {
                return vec![];
            }
            vec![problem(
                Level::Warning,
                "compact-manifest",
                "+COMPACT_MANIFEST is not +MANIFEST without files, directories and scripts".into(),
            )]
        }
        (Some(_), None) => vec![problem(
            Level::Error,
            "compact-manifest",
            "+COMPACT_MANIFEST is missing or not JSON".into(),
        )],
        (None, _) => vec![],
    }
}

/// The fields pkg requires.
fn manifest_fields(p: &Package) -> Vec<Problem> {
    if !p.manifest.is_object() {
        return vec![];
    }
    [
        "name",
        "origin",
        "version",
        "comment",
        "maintainer",
        "www",
        "abi",
        "prefix",
        "desc",
    ]
    .into_iter()
    .filter(|k| p.field(k).is_none())
    .map(|k| {
        problem(
            Level::Error,
            "manifest",
            format!("the manifest has no `{k}`"),
        )
    })
    .collect()
}

/// `abi` is `FreeBSD:<major>:<arch>`.
fn abi(p: &Package) -> Vec<Problem> {
    let Some(a) = p.field("abi") else {
        return vec![];
    };
    let parts: Vec<&str> = a.split(':').collect();
    if parts.len() == 3
        && parts[0] == "FreeBSD"
        && (parts[1].parse::<u32>().is_ok() || parts[1] == "*")
    {
        return vec![];
    }
    vec![problem(
        Level::Error,
        "abi",
        format!("abi `{a}` is not FreeBSD:<major>:<arch>"),
    )]
}

/// `annotations.FreeBSD_version` of the ABI's major version.
fn freebsd_version(p: &Package) -> Vec<Problem> {
    let (Some(v), Some(a)) = (p.freebsd_version(), p.field("abi")) else {
        return vec![];
    };
    match a.split(':').nth(1).and_then(|m| m.parse::<u32>().ok()) {
        Some(major) if v / 100_000 != major => vec![problem(
            Level::Warning,
            "freebsd-version",
            format!("FreeBSD_version {v} is not a FreeBSD {major} version (abi {a})"),
        )],
        _ => vec![],
    }
}

/// How a listed file's sum compares with its content.
enum Sum {
    Verified,
    /// Another sum type than `1$` (sha256).
    NotVerified(String),
    Differs,
}

fn sum_of(listed: &str, member_sum: Option<&str>) -> Sum {
    let content = member_sum.unwrap_or_default().trim_start_matches("1$");
    match listed.split_once('$') {
        Some(("1", hex)) if hex == content => Sum::Verified,
        None if listed == content => Sum::Verified,
        Some((t, _)) if t != "1" => Sum::NotVerified(t.to_string()),
        _ => Sum::Differs,
    }
}

/// The files whose sum matches the manifest.
pub(super) fn verified(p: &Package) -> usize {
    p.listed()
        .iter()
        .filter_map(|(path, sum)| p.member(path).map(|m| (sum, m)))
        .filter(|(sum, m)| matches!(sum_of(sum, m.sha256.as_deref()), Sum::Verified))
        .count()
}

/// Every listed file is in the archive, with the content its sum says.
fn files(p: &Package) -> Vec<Problem> {
    let mut out = vec![];
    for (path, sum) in &p.listed() {
        let Some(m) = p.member(path) else {
            out.push(problem(
                Level::Error,
                "missing",
                format!("{path} is in the manifest but not in the archive"),
            ));
            continue;
        };
        match sum_of(sum, m.sha256.as_deref()) {
            Sum::Verified => {}
            Sum::NotVerified(t) => out.push(problem(
                Level::Info,
                "sum",
                format!("{path}: sum type {t} is not verified by bsdx (only 1$, sha256)"),
            )),
            Sum::Differs => out.push(problem(
                Level::Error,
                "sum",
                format!(
                    "{path}: the manifest says {sum}, the content is {}",
                    m.sha256.as_deref().unwrap_or_default()
                ),
            )),
        }
    }
    out
}

/// Every member (after the manifests) is listed: pkg refuses others.
fn unlisted(p: &Package) -> Vec<Problem> {
    let (listed, dirs) = (p.listed(), p.dirs());
    p.members
        .iter()
        .skip(2)
        .filter(|m| match m.kind.as_str() {
            "dir" => !dirs.contains(&m.path),
            _ => !listed.contains_key(&m.path),
        })
        .map(|m| {
            problem(
                Level::Error,
                "unlisted",
                format!(
                    "{} is in the archive but not in the manifest: pkg refuses it",
                    m.path
                ),
            )
        })
        .collect()
}

/// Every listed directory has a member (its owner and mode).
fn directories(p: &Package) -> Vec<Problem> {
    p.dirs()
        .iter()
        .filter(|d| !p.members.iter().any(|m| m.kind == "dir" && &m.path == *d))
        .map(|d| problem(Level::Warning, "missing", format!("directory {d} is in the manifest but has no archive member (its owner and mode are pkg's defaults)")))
        .collect()
}

/// A `perm` as pkg reads it (`setmode` of its text: octal).
fn perm_of(v: &serde_json::Value) -> Option<u32> {
    let t = match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Number(n) => n.to_string(),
        _ => return None,
    };
    u32::from_str_radix(&t, 8).ok()
}

/// The owner, group and mode the manifest records for each file and
/// directory (pkg ≥ 2.4's object form, `libpkg/pkg_manifest.c`) are the
/// archive member's: pkg installs the member's and records the manifest's,
/// so a difference is what `pkg check -m` would report on the host. The
/// pre-2.4 form (`"path": "1$…"`, `"dir": "y"`) records none: reported
/// once, as information.
fn attributes(p: &Package) -> Vec<Problem> {
    let mut out = vec![];
    let mut old = 0;
    for (key, dir) in [("files", false), ("directories", true)] {
        let Some(entries) = p.manifest.get(key).and_then(|f| f.as_object()) else {
            continue;
        };
        for (k, v) in entries {
            let path = crate::package::manifest::urldecode(k)
                .trim_end_matches('/')
                .to_string();
            let Some(o) = v.as_object() else {
                old += 1;
                continue;
            };
            let Some(m) = p
                .members
                .iter()
                .find(|m| m.path == path && (m.kind == "dir") == dir)
            else {
                continue;
            };
            let said = (
                o.get("uname").and_then(|u| u.as_str()),
                o.get("gname").and_then(|g| g.as_str()),
                o.get("perm").and_then(perm_of),
            );
            let has = (
                m.uname.as_str(),
                m.gname.as_str(),
                u32::from_str_radix(&m.mode, 8).ok(),
            );
            let differs = said.0.is_some_and(|u| u != has.0)
                || said.1.is_some_and(|g| g != has.1)
                || (said.2.is_some() && said.2 != has.2);
            if differs {
                let show = |u: Option<&str>, g: Option<&str>, m: Option<u32>| {
                    format!(
                        "{}:{} {}",
                        u.unwrap_or("-"),
                        g.unwrap_or("-"),
                        m.map(crate::package::manifest::perm_str)
                            .unwrap_or_else(|| "-".into())
                    )
                };
                out.push(problem(
                    Level::Error,
                    "attributes",
                    format!(
                        "{path}: the manifest records {}, the archive holds {}: pkg installs the archive's and records the manifest's (pkg check -m on the host reports the difference)",
                        show(said.0, said.1, said.2),
                        show(Some(has.0), Some(has.1), has.2)
                    ),
                ));
            }
        }
    }
    if old > 0 {
        out.push(problem(
            Level::Info,
            "manifest-form",
            format!("{old} files and directories are in pkg's pre-2.4 manifest form (no owner, group or mode): pkg records none for them, so pkg check -m cannot check them; bsdx package now writes the per-file form"),
        ));
    }
    out
}

/// `shlibs_required` names every library the package's ELF files need
/// (`DT_NEEDED`, less what it provides or lists in `shlibs_required_ignore`),
/// as `pkg create` records them: pkg cannot refuse or warn about a missing
/// library it is not told of.
fn shlibs(p: &Package) -> Vec<Problem> {
    let files: Vec<crate::package::archive::Member> = p
        .contents
        .iter()
        .filter(|(path, _)| !path.starts_with('+'))
        .map(|(path, data)| crate::package::archive::Member {
            path: path.clone(),
            data: Some(data.clone()),
            mode: 0,
            uname: String::new(),
            gname: String::new(),
        })
        .collect();
    let (needed, _) = crate::package::shlibs(&files);
    let listed = |k: &str| -> Vec<String> {
        p.manifest
            .get(k)
            .and_then(|v| v.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    let (req, ignored) = (listed("shlibs_required"), listed("shlibs_required_ignore"));
    let missing: Vec<String> = needed
        .into_iter()
        .filter(|n| !req.contains(n) && !ignored.contains(n))
        .collect();
    if missing.is_empty() {
        return vec![];
    }
    vec![problem(
        Level::Info,
        "shlibs",
        format!(
            "shlibs_required lacks {}, which the ELF files need (DT_NEEDED): pkg cannot refuse the package on a host without them, nor say they are missing",
            missing.join(", ")
        ),
    )]
}

/// `flatsize` is the listed files' total size.
fn flatsize(p: &Package) -> Vec<Problem> {
    let Some(fs) = p.flatsize() else {
        return vec![];
    };
    let flat: u64 = p
        .listed()
        .keys()
        .filter_map(|path| p.member(path))
        .map(|m| m.size)
        .sum();
    if fs == flat {
        return vec![];
    }
    vec![problem(
        Level::Warning,
        "flatsize",
        format!("flatsize {fs} differs from the files' total size {flat}"),
    )]
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::json;

    use super::*;
    use crate::digest::sha256_hex;
    use crate::package::inspect::Member;

    fn member(path: &str, kind: &str, data: &[u8]) -> Member {
        Member {
            path: path.into(),
            kind: kind.into(),
            size: data.len() as u64,
            mode: "0644".into(),
            uname: "root".into(),
            gname: "wheel".into(),
            mtime: 0,
            sha256: (kind == "file").then(|| format!("1${}", sha256_hex(data))),
        }
    }

    /// A well-formed package: each test breaks one thing.
    fn good() -> Package {
        let manifest = json!({
            "name": "x", "origin": "local/x", "version": "1", "comment": "c",
            "maintainer": "m", "www": "w", "abi": "FreeBSD:14:amd64", "prefix": "/usr/local",
            "desc": "d", "flatsize": 3,
            "annotations": {"FreeBSD_version": "1404000"},
            "files": {"/usr/local/bin/x": {
                "sum": format!("1${}", sha256_hex(b"elf")),
                "uname": "root", "gname": "wheel", "perm": "0644", "mtime": 0,
            }},
            "directories": {"/var/db/x/": {"uname": "root", "gname": "wheel", "perm": "0644"}},
        });
        let mut compact = manifest.clone();
        for k in ["files", "directories"] {
            compact.as_object_mut().unwrap().remove(k);
        }
        Package {
            raw: vec![],
            compression: "zstd",
            members: vec![
                member("+COMPACT_MANIFEST", "file", b"{}"),
                member("+MANIFEST", "file", b"{}"),
                member("/usr/local/bin/x", "file", b"elf"),
                member("/var/db/x", "dir", b""),
            ],
            contents: BTreeMap::new(),
            manifest,
            compact,
        }
    }

    fn codes(p: &Package) -> Vec<(Level, String)> {
        RULES
            .iter()
            .flat_map(|r| r(p))
            .map(|x| (x.level, x.code))
            .collect()
    }

    fn set(p: &mut Package, k: &str, v: serde_json::Value) {
        p.manifest.as_object_mut().unwrap().insert(k.into(), v);
    }

    #[test]
    fn the_good_package_has_no_problem() {
        let p = good();
        assert_eq!(codes(&p), []);
        assert_eq!(verified(&p), 1);
    }

    #[test]
    fn order_and_manifests() {
        let mut p = good();
        p.members.swap(0, 1);
        assert_eq!(codes(&p), [(Level::Error, "member-order".into())]);
        let mut p = good();
        p.compact = serde_json::Value::Null;
        assert_eq!(codes(&p), [(Level::Error, "compact-manifest".into())]);
        let mut p = good();
        set(&mut p, "comment", json!("other"));
        assert_eq!(codes(&p), [(Level::Warning, "compact-manifest".into())]);
        let mut p = good();
        p.manifest = serde_json::Value::Null;
        let c = codes(&p);
        assert_eq!(c[0], (Level::Error, "manifest".into()));
        assert!(c.iter().all(|(_, c)| c != "compact-manifest"));
        let mut p = good();
        p.manifest.as_object_mut().unwrap().remove("www");
        p.compact.as_object_mut().unwrap().remove("www");
        assert_eq!(codes(&p), [(Level::Error, "manifest".into())]);
    }

    #[test]
    fn abi_and_freebsd_version() {
        for (a, bad) in [
            ("FreeBSD:14:amd64", false),
            ("FreeBSD:*:amd64", false),
            ("Linux:14:amd64", true),
            ("FreeBSD:14", true),
        ] {
            let mut p = good();
            set(&mut p, "abi", json!(a));
            assert_eq!(!abi(&p).is_empty(), bad, "{a}");
        }
        let mut p = good();
        set(&mut p, "annotations", json!({"FreeBSD_version": 1305000}));
        let f = freebsd_version(&p);
        assert!(f[0].message.contains("1305000 is not a FreeBSD 14 version"));
    }

    #[test]
    fn files_sums_and_sizes() {
        let mut p = good();
        set(
            &mut p,
            "files",
            json!({"/usr/local/bin/x": {"sum": "1$00"}, "/usr/local/bin/gone": {"sum": "1$00"}}),
        );
        let c = codes(&p);
        assert_eq!(
            c,
            [
                (Level::Error, "missing".into()),
                (Level::Error, "sum".into()),
            ]
        );
        assert_eq!(verified(&p), 0);
        let mut p = good();
        set(
            &mut p,
            "files",
            json!({"/usr/local/bin/x": {"sum": "2$abc"}}),
        );
        assert_eq!(codes(&p), [(Level::Info, "sum".into())]);
        // The pre-2.4 form: sums still verified, the missing attributes said once.
        let mut p = good();
        set(
            &mut p,
            "files",
            json!({"/usr/local/bin/x": format!("1${}", sha256_hex(b"elf"))}),
        );
        set(&mut p, "directories", json!({"/var/db/x/": "y"}));
        assert_eq!(
            (codes(&p), verified(&p)),
            (vec![(Level::Info, "manifest-form".into())], 1)
        );
        // A bare hex sum counts as sha256.
        let mut p = good();
        set(
            &mut p,
            "files",
            json!({"/usr/local/bin/x": {"sum": sha256_hex(b"elf")}}),
        );
        assert_eq!((codes(&p), verified(&p)), (vec![], 1));
        let mut p = good();
        set(&mut p, "flatsize", json!(4));
        p.compact["flatsize"] = json!(4);
        assert_eq!(codes(&p), [(Level::Warning, "flatsize".into())]);
    }

    #[test]
    fn owner_group_and_mode_match_the_archive() {
        let mut p = good();
        p.members[2].mode = "0777".into();
        p.members[3].uname = "x".into();
        let c = codes(&p);
        assert_eq!(
            c,
            [
                (Level::Error, "attributes".into()),
                (Level::Error, "attributes".into()),
            ]
        );
        let msgs: Vec<String> = attributes(&p).into_iter().map(|p| p.message).collect();
        assert!(
            msgs[0].contains("/usr/local/bin/x: the manifest records root:wheel 0644, the archive holds root:wheel 0777"),
            "{msgs:?}"
        );
        // pkg reads an integer perm as its octal text too.
        let mut p = good();
        set(
            &mut p,
            "directories",
            json!({"/var/db/x/": {"uname": "root", "gname": "wheel", "perm": 644}}),
        );
        assert_eq!(codes(&p), vec![]);
    }

    #[test]
    fn members_and_directories() {
        let mut p = good();
        p.members.push(member("/etc/evil", "file", b"x"));
        assert_eq!(codes(&p), [(Level::Error, "unlisted".into())]);
        let mut p = good();
        p.members.pop();
        assert_eq!(codes(&p), [(Level::Warning, "missing".into())]);
    }
}
