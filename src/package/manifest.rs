//! The package manifest as `pkg create` writes it (libpkg
//! `pkg_emit_object`, `libpkg/pkg_manifest.c`): compact JSON, keys in pkg's
//! order, paths, `desc` and scripts URL-encoded the way libpkg encodes them
//! (`%` and non-ASCII bytes as `%xx`).
//!
//! Files and directories are in the per-entry object form pkg 2.4.0 and
//! later write (freebsd/pkg `699f92e2c`, "pkgdb: track uname, gname,
//! permissions and fflags in pkgdb"; `08bf9b3d7` added `mtime`):
//! `"files": {"/p": {"sum": "1$<sha256 hex>", "uname": "root", "gname":
//! "wheel", "perm": "0755", "mtime": N}}`, `"directories": {"/d": {"uname":
//! …, "gname": …, "perm": "0750"}}` (`perm` as C's `%#4.4o`). Every pkg
//! since 1.2 reads objects there (`pkg_set_files_from_object`,
//! `pkg_set_dirs_from_object`); the old form, `"/p": "1$…"` and `"/d":
//! "y"`, is what bsdx wrote before and what `--inspect` still reads.
//! `+COMPACT_MANIFEST` is the same without files, directories and scripts.

use std::collections::BTreeMap;

use serde_json::Value;

/// libpkg's `urlencode`: only `%` and non-ASCII bytes are escaped.
pub fn urlencode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if !b.is_ascii() || b == b'%' {
            out.push_str(&format!("%{b:02x}"));
        } else {
            out.push(b as char);
        }
    }
    out
}

/// The inverse, for reading packages back.
pub fn urldecode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Some(v) = std::str::from_utf8(&b[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A pkg install/deinstall message (`messages` array).
#[derive(Debug, Clone)]
pub struct Message {
    pub text: String,
    /// `install`, `remove` or `upgrade`.
    pub kind: &'static str,
}

/// One file's entry in `files`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileAttrs {
    /// `1$<sha256 hex>`.
    pub sum: String,
    pub uname: String,
    pub gname: String,
    pub perm: u32,
    pub mtime: u64,
}

/// One directory's entry in `directories`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirAttrs {
    pub uname: String,
    pub gname: String,
    pub perm: u32,
}

/// A run-time dependency (`deps`: name → {origin, version}).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dep {
    pub origin: String,
    pub version: String,
}

/// C's `%#4.4o`, as pkg prints `perm`: `0755`, `04755`, `0000`.
pub fn perm_str(mode: u32) -> String {
    let d = format!("{mode:04o}");
    if d.starts_with('0') {
        d
    } else {
        format!("0{d}")
    }
}

/// Everything the manifest says.
#[derive(Debug, Clone, Default)]
pub struct Manifest {
    pub name: String,
    pub origin: String,
    pub version: String,
    pub comment: String,
    pub maintainer: String,
    pub www: String,
    pub abi: String,
    pub arch: String,
    pub prefix: String,
    pub flatsize: u64,
    pub desc: String,
    pub categories: Vec<String>,
    pub users: Vec<String>,
    pub groups: Vec<String>,
    pub annotations: BTreeMap<String, String>,
    /// Run-time dependencies: package name → origin and version.
    pub deps: BTreeMap<String, Dep>,
    /// The ELF files' `DT_NEEDED` libraries (sorted, once each), less those
    /// the package provides itself.
    pub shlibs_required: Vec<String>,
    /// The `DT_SONAME`s of its ELF files.
    pub shlibs_provided: Vec<String>,
    pub files: BTreeMap<String, FileAttrs>,
    pub directories: BTreeMap<String, DirAttrs>,
    /// `pre-install`, `post-install`, `pre-deinstall`, … → shell text.
    pub scripts: BTreeMap<String, String>,
    pub messages: Vec<Message>,
}

/// A JSON object whose keys keep their insertion order (pkg's, which is
/// not serde_json's): the manifests here, and the catalog lines `bsdx repo`
/// writes from them (`crate::repo::catalog`).
#[derive(Default)]
pub struct Obj(Vec<(String, Field)>);

/// A value of an [`Obj`]: JSON, or an ordered object already rendered (the
/// only text written as it is; nothing read from a file can become one).
enum Field {
    Json(Value),
    Rendered(String),
}

impl Obj {
    pub fn put(&mut self, k: &str, v: impl Into<Value>) {
        self.0.push((k.to_string(), Field::Json(v.into())));
    }
    fn raw(&mut self, k: &str, json: String) {
        self.0.push((k.to_string(), Field::Rendered(json)));
    }
    /// Compact JSON text, keys in order.
    pub fn render(&self) -> String {
        let mut s = String::from("{");
        for (i, (k, v)) in self.0.iter().enumerate() {
            if i > 0 {
                s.push(',');
            }
            s.push_str(&serde_json::to_string(k).expect("a string"));
            s.push(':');
            match v {
                Field::Rendered(json) => s.push_str(json),
                Field::Json(v) => s.push_str(&serde_json::to_string(v).expect("JSON")),
            }
        }
        s.push('}');
        s
    }
}

impl Manifest {
    fn object(&self, compact: bool) -> Obj {
        let mut o = Obj(Vec::new());
        o.put("name", self.name.as_str());
        o.put("origin", self.origin.as_str());
        o.put("version", self.version.as_str());
        o.put("comment", self.comment.as_str());
        o.put("maintainer", self.maintainer.as_str());
        o.put("www", self.www.as_str());
        o.put("abi", self.abi.as_str());
        o.put("arch", self.arch.as_str());
        o.put("prefix", self.prefix.as_str());
        o.put("flatsize", self.flatsize);
        o.put("desc", urlencode(self.desc.trim()));
        if !self.deps.is_empty() {
            let m: serde_json::Map<String, Value> = self
                .deps
                .iter()
                .map(|(k, d)| {
                    let mut e = serde_json::Map::new();
                    e.insert("origin".into(), Value::from(d.origin.as_str()));
                    e.insert("version".into(), Value::from(d.version.as_str()));
                    (k.clone(), Value::Object(e))
                })
                .collect();
            o.put("deps", Value::Object(m));
        }
        if !self.categories.is_empty() {
            o.put("categories", self.categories.clone());
        }
        if !self.users.is_empty() {
            o.put("users", self.users.clone());
        }
        if !self.groups.is_empty() {
            o.put("groups", self.groups.clone());
        }
        if !self.shlibs_required.is_empty() {
            o.put("shlibs_required", self.shlibs_required.clone());
        }
        if !self.shlibs_provided.is_empty() {
            o.put("shlibs_provided", self.shlibs_provided.clone());
        }
        if !self.annotations.is_empty() {
            let m: serde_json::Map<String, Value> = self
                .annotations
                .iter()
                .map(|(k, v)| (k.clone(), Value::from(v.as_str())))
                .collect();
            o.put("annotations", Value::Object(m));
        }
        if !compact {
            // serde_json's Map keeps keys sorted: each entry's keys are
            // rendered in pkg's order by `Obj`.
            let files: Vec<String> = self
                .files
                .iter()
                .map(|(k, f)| {
                    let mut e = Obj(Vec::new());
                    e.put("sum", f.sum.as_str());
                    e.put("uname", f.uname.as_str());
                    e.put("gname", f.gname.as_str());
                    e.put("perm", perm_str(f.perm));
                    if f.mtime > 0 {
                        e.put("mtime", f.mtime);
                    }
                    format!(
                        "{}:{}",
                        serde_json::to_string(&urlencode(k)).expect("a string"),
                        e.render()
                    )
                })
                .collect();
            o.raw("files", format!("{{{}}}", files.join(",")));
            if !self.directories.is_empty() {
                let dirs: Vec<String> = self
                    .directories
                    .iter()
                    .map(|(k, d)| {
                        let mut e = Obj(Vec::new());
                        e.put("uname", d.uname.as_str());
                        e.put("gname", d.gname.as_str());
                        e.put("perm", perm_str(d.perm));
                        format!(
                            "{}:{}",
                            serde_json::to_string(&urlencode(k)).expect("a string"),
                            e.render()
                        )
                    })
                    .collect();
                o.raw("directories", format!("{{{}}}", dirs.join(",")));
            }
            if !self.scripts.is_empty() {
                let s: serde_json::Map<String, Value> = self
                    .scripts
                    .iter()
                    .map(|(k, v)| (k.clone(), Value::from(urlencode(v.trim()))))
                    .collect();
                o.put("scripts", Value::Object(s));
            }
        }
        if !self.messages.is_empty() {
            let m: Vec<Value> = self
                .messages
                .iter()
                .map(|m| serde_json::json!({ "message": m.text, "type": m.kind }))
                .collect();
            o.put("messages", m);
        }
        o
    }

    /// `+MANIFEST`.
    pub fn full(&self) -> String {
        self.object(false).render()
    }

    /// `+COMPACT_MANIFEST`.
    pub fn compact(&self) -> String {
        self.object(true).render()
    }
}

/// `FreeBSD:<major>:<machine_arch>` and pkg's legacy `arch` for it.
pub fn abi_and_arch(major: u32, machine_arch: &str) -> (String, String) {
    let legacy = match machine_arch {
        "amd64" => format!("freebsd:{major}:x86:64"),
        "aarch64" => format!("freebsd:{major}:aarch64:64"),
        other => format!("freebsd:{major}:{other}"),
    };
    (format!("FreeBSD:{major}:{machine_arch}"), legacy)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_in_pkg_order_and_compact_form() {
        let mut m = Manifest {
            name: "bot".into(),
            version: "1.0".into(),
            desc: "50% done: caf\u{e9}".into(),
            ..Manifest::default()
        };
        m.files.insert(
            "/usr/local/bin/bot".into(),
            FileAttrs {
                sum: "1$ab".into(),
                uname: "root".into(),
                gname: "wheel".into(),
                perm: 0o755,
                mtime: 946684800,
            },
        );
        m.directories.insert(
            "/var/db/bot".into(),
            DirAttrs {
                uname: "bot".into(),
                gname: "bot".into(),
                perm: 0o750,
            },
        );
        m.deps.insert(
            "ca_root_nss".into(),
            Dep {
                origin: "security/ca_root_nss".into(),
                version: "3.108".into(),
            },
        );
        m.groups.push("bot".into());
        m.shlibs_required = vec!["libc.so.7".into(), "libthr.so.3".into()];
        m.scripts.insert("pre-install".into(), "echo %".into());
        let full = m.full();
        assert!(
            full.starts_with("{\"name\":\"bot\",\"origin\":\"\",\"version\":\"1.0\",\"comment\""),
            "{full}"
        );
        assert!(
            full.contains("\"desc\":\"50%25 done: caf%c3%a9\""),
            "{full}"
        );
        assert!(
            full.contains(
                r#""files":{"/usr/local/bin/bot":{"sum":"1$ab","uname":"root","gname":"wheel","perm":"0755","mtime":946684800}}"#
            ),
            "{full}"
        );
        assert!(
            full.contains(
                r#""directories":{"/var/db/bot":{"uname":"bot","gname":"bot","perm":"0750"}}"#
            ),
            "{full}"
        );
        assert!(
            full.contains(r#""desc":"50%25 done: caf%c3%a9","deps":{"ca_root_nss":{"origin":"security/ca_root_nss","version":"3.108"}},"groups":["bot"],"shlibs_required":["libc.so.7","libthr.so.3"]"#),
            "{full}"
        );
        assert!(
            full.contains("\"scripts\":{\"pre-install\":\"echo %25\"}"),
            "{full}"
        );
        let compact = m.compact();
        assert!(
            !compact.contains("files") && !compact.contains("scripts"),
            "{compact}"
        );
        assert!(
            compact.contains("\"deps\"") && compact.contains("shlibs_required"),
            "{compact}"
        );
        serde_json::from_str::<Value>(&full).expect("JSON");
        assert_eq!(
            [
                perm_str(0o755),
                perm_str(0o4755),
                perm_str(0),
                perm_str(0o600)
            ],
            ["0755", "04755", "0000", "0600"]
        );
        assert_eq!(urldecode("50%25 caf%c3%a9"), "50% caf\u{e9}");
        assert_eq!(abi_and_arch(14, "amd64").1, "freebsd:14:x86:64");
    }
}
