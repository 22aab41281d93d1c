//! The package manifest as `pkg create` writes it (libpkg
//! `pkg_emit_object`): compact JSON, keys in pkg's order, paths, `desc` and
//! scripts URL-encoded the way libpkg encodes them (`%` and non-ASCII bytes
//! as `%xx`), files as `"path": "1$<sha256 hex>"`, directories as
//! `"path": "y"`. `+COMPACT_MANIFEST` is the same without files,
//! directories and scripts.

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
    /// path → `1$<sha256 hex>`.
    pub files: BTreeMap<String, String>,
    pub directories: Vec<String>,
    /// `pre-install`, `post-install`, `pre-deinstall`, … → shell text.
    pub scripts: BTreeMap<String, String>,
    pub messages: Vec<Message>,
}

struct Obj(Vec<(String, Value)>);

impl Obj {
    fn put(&mut self, k: &str, v: impl Into<Value>) {
        self.0.push((k.to_string(), v.into()));
    }
    fn render(&self) -> String {
        let mut s = String::from("{");
        for (i, (k, v)) in self.0.iter().enumerate() {
            if i > 0 {
                s.push(',');
            }
            s.push_str(&serde_json::to_string(k).expect("a string"));
            s.push(':');
            s.push_str(&serde_json::to_string(v).expect("JSON"));
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
        if !self.categories.is_empty() {
            o.put("categories", self.categories.clone());
        }
        if !self.users.is_empty() {
            o.put("users", self.users.clone());
        }
        if !self.groups.is_empty() {
            o.put("groups", self.groups.clone());
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
            let files: serde_json::Map<String, Value> = self
                .files
                .iter()
                .map(|(k, v)| (urlencode(k), Value::from(v.as_str())))
                .collect();
            o.put("files", Value::Object(files));
            if !self.directories.is_empty() {
                let dirs: serde_json::Map<String, Value> = self
                    .directories
                    .iter()
                    .map(|d| (urlencode(d), Value::from("y")))
                    .collect();
                o.put("directories", Value::Object(dirs));
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
        m.files.insert("/usr/local/bin/bot".into(), "1$ab".into());
        m.directories.push("/var/db/bot".into());
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
            full.contains("\"files\":{\"/usr/local/bin/bot\":\"1$ab\"}"),
            "{full}"
        );
        assert!(
            full.contains("\"directories\":{\"/var/db/bot\":\"y\"}"),
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
        assert_eq!(urldecode("50%25 caf%c3%a9"), "50% caf\u{e9}");
        assert_eq!(abi_and_arch(14, "amd64").1, "freebsd:14:x86:64");
    }
}
