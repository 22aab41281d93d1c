//! Turns every `stubs/abi/<key>.json` (the source of truth, still embedded
//! as JSON for `bsdx stubs`) into a compact pre-indexed form that
//! `bsdx check` searches without parsing anything at run time: see
//! `src/model/abi.rs` (`Packed`) for the layout, and its unit test that the
//! packed form equals the JSON. Also writes `data/releases.json` as the Rust
//! expression that builds `model::release::Catalog` (`catalog_rs`), and
//! links bsdx position-dependent (`link_position_dependent`) with the
//! unwinder linked in (`link_unwinder_statically`).

use std::fs;
use std::path::Path;

use serde_json::Value;

/// Bump with the layout in `src/model/abi.rs`.
const MAGIC: &[u8; 8] = b"BSDXABI1";

struct Out {
    head: Vec<u8>,
    libs: Vec<u8>,
    needed: Vec<u8>,
    syms: Vec<u8>,
    strtab: Vec<u8>,
}

fn u32_of(n: usize) -> [u8; 4] {
    u32::try_from(n)
        .expect("symbol data fits u32")
        .to_le_bytes()
}

impl Out {
    fn str(&mut self, s: &str) -> [u8; 8] {
        let mut r = [0u8; 8];
        r[..4].copy_from_slice(&u32_of(self.strtab.len()));
        r[4..].copy_from_slice(&u32_of(s.len()));
        self.strtab.extend_from_slice(s.as_bytes());
        r
    }
}

fn text<'a>(v: &'a Value, key: &str, file: &str) -> &'a str {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("{file}: {key} is not a string"))
}

fn pack(json: &Value, file: &str) -> Vec<u8> {
    let mut o = Out {
        head: Vec::new(),
        libs: Vec::new(),
        needed: Vec::new(),
        syms: Vec::new(),
        strtab: Vec::new(),
    };
    let schema = json["schema"].as_u64().expect("schema") as u32;
    let mut head = Vec::new();
    head.extend_from_slice(MAGIC);
    head.extend_from_slice(&schema.to_le_bytes());
    for key in ["release", "arch", "source"] {
        let r = o.str(text(json, key, file));
        head.extend_from_slice(&r);
    }
    let libs = json["libraries"].as_array().expect("libraries");
    let (mut n_needed, mut n_syms) = (0usize, 0usize);
    for lib in libs {
        let soname = o.str(text(lib, "soname", file));
        let path = o.str(text(lib, "path", file));
        let needed: Vec<&str> = lib
            .get("needed")
            .and_then(Value::as_array)
            .map(|a| a.iter().map(|n| n.as_str().expect("needed")).collect())
            .unwrap_or_default();
        let symbols = lib
            .get("symbols")
            .or_else(|| lib.get("exports"))
            .and_then(Value::as_array)
            .expect("symbols");
        let mut rec = Vec::new();
        rec.extend_from_slice(&soname);
        rec.extend_from_slice(&path);
        rec.extend_from_slice(&u32_of(n_needed));
        rec.extend_from_slice(&u32_of(needed.len()));
        rec.extend_from_slice(&u32_of(n_syms));
        rec.extend_from_slice(&u32_of(symbols.len()));
        o.libs.extend_from_slice(&rec);
        for n in needed {
            let r = o.str(n);
            o.needed.extend_from_slice(&r);
        }
        n_needed += lib
            .get("needed")
            .and_then(Value::as_array)
            .map_or(0, Vec::len);
        for s in symbols {
            let name = o.str(text(s, "name", file));
            let kind: u8 = match text(s, "type", file) {
                "func" => 0,
                "object" => 1,
                "tls" => 2,
                "ifunc" => 3,
                "notype" => 4,
                other => panic!("{file}: unknown symbol type {other}"),
            };
            let size = s.get("size").and_then(Value::as_u64);
            let version = s.get("version").and_then(Value::as_str);
            let hidden = s
                .get("hidden")
                .or_else(|| s.get("hidden_version"))
                .and_then(Value::as_bool)
                .unwrap_or(false);
            let version_ref = o.str(version.unwrap_or(""));
            let mut rec = Vec::new();
            rec.extend_from_slice(&name);
            rec.extend_from_slice(&version_ref);
            rec.extend_from_slice(&size.unwrap_or(0).to_le_bytes());
            rec.push(kind);
            rec.push(
                u8::from(size.is_some())
                    | (u8::from(version.is_some()) << 1)
                    | (u8::from(hidden) << 2),
            );
            rec.extend_from_slice(&[0, 0]);
            o.syms.extend_from_slice(&rec);
        }
        n_syms += symbols.len();
    }
    // Fixed header: magic, schema, release, arch, source (36 bytes), then
    // the library count and the offsets of the four tables (56 in all).
    let base = head.len() + 4 * 5;
    let libs_off = base;
    let needed_off = libs_off + o.libs.len();
    let syms_off = needed_off + o.needed.len();
    let strtab_off = syms_off + o.syms.len();
    head.extend_from_slice(&u32_of(libs.len()));
    head.extend_from_slice(&u32_of(libs_off));
    head.extend_from_slice(&u32_of(needed_off));
    head.extend_from_slice(&u32_of(syms_off));
    head.extend_from_slice(&u32_of(strtab_off));
    o.head = head;
    let mut all = o.head;
    all.extend_from_slice(&o.libs);
    all.extend_from_slice(&o.needed);
    all.extend_from_slice(&o.syms);
    all.extend_from_slice(&o.strtab);
    all
}

/// Whether the build flag `name` is set (to anything but empty or `0`);
/// cargo reruns build.rs when it changes.
fn build_flag(name: &str) -> bool {
    println!("cargo:rerun-if-env-changed={name}");
    std::env::var_os(name).is_some_and(|v| !v.is_empty() && v != "0")
}

/// bsdx is a short-lived command (`bsdx check` should finish before readelf
/// does): linked as a position-dependent executable, its ~9,000 relative
/// relocations are resolved at link time instead of by ld.so at every start,
/// which copies and writes ~40 pages of `.data.rel.ro` and reads a 200 KB
/// `.rela.dyn` (ld.so's own statistics: 5.9 M cycles of startup against
/// 0.27 M). The cost is ASLR for bsdx's own image (its libraries, heap and
/// stack stay randomised). `BSDX_BUILD_PIE=1` keeps a PIE.
fn link_position_dependent() {
    let linux = std::env::var("CARGO_CFG_TARGET_OS").is_ok_and(|os| os == "linux");
    if linux && !build_flag("BSDX_BUILD_PIE") {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
}

/// The unwinder std calls (`_Unwind_*`, for panics and backtraces) comes
/// from `libgcc_eh.a`, linked into bsdx as `gcc -static-libgcc` would,
/// instead of from `libgcc_s.so.1`, which ld.so would otherwise open, map
/// and relocate at every start (std names `-lgcc_s`; with the unwinder
/// already defined, `--as-needed` drops it). The archive is the one the
/// linker's own gcc ships (`-print-file-name`); where there is none, bsdx
/// links as before. `BSDX_BUILD_LIBGCC_S=1` keeps the shared unwinder.
fn link_unwinder_statically() {
    println!("cargo:rerun-if-env-changed=RUSTC_LINKER");
    let var = |k: &str| std::env::var(k).unwrap_or_default();
    let shared = build_flag("BSDX_BUILD_LIBGCC_S");
    // Which unwinder bsdx starts with, for tests/cli.rs to hold it to.
    let unwinder = |how: &str| println!("cargo:rustc-env=BSDX_UNWINDER={how}");
    if var("CARGO_CFG_TARGET_OS") != "linux" || var("CARGO_CFG_TARGET_ENV") != "gnu" || shared {
        return unwinder("default");
    }
    let linker = std::env::var("RUSTC_LINKER").unwrap_or_else(|_| "cc".into());
    let found = std::process::Command::new(&linker)
        .arg("-print-file-name=libgcc_eh.a")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
    let Some(archive) = found
        .map(std::path::PathBuf::from)
        .filter(|p| p.is_absolute() && p.is_file())
    else {
        println!("cargo:warning={linker} has no libgcc_eh.a: bsdx loads libgcc_s.so.1 at start");
        return unwinder("default");
    };
    // A gcc upgrade moves or removes the archive: look again then.
    println!("cargo:rerun-if-changed={}", archive.display());
    let dir = archive.parent().expect("an absolute file has a parent");
    println!("cargo:rustc-link-search=native={}", dir.display());
    println!("cargo:rustc-link-lib=static:+whole-archive,-bundle=gcc_eh");
    unwinder("libgcc_eh.a");
}

fn main() {
    link_position_dependent();
    link_unwinder_statically();
    let dir = Path::new("stubs/abi");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=stubs/abi");
    let out = std::env::var("OUT_DIR").expect("OUT_DIR");
    let mut files: Vec<_> = fs::read_dir(dir)
        .expect("stubs/abi")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    let mut table = String::from("&[\n");
    for path in files {
        println!("cargo:rerun-if-changed={}", path.display());
        let key = path.file_stem().unwrap().to_str().unwrap().to_string();
        let text = fs::read_to_string(&path).expect("read symbol data");
        let json: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{}: invalid JSON: {e}", path.display()));
        let packed = pack(&json, &path.display().to_string());
        let name = format!("abi-{key}.bin");
        fs::write(Path::new(&out).join(&name), packed).expect("write packed symbol data");
        table.push_str(&format!(
            "    ({key:?}, include_bytes!(concat!(env!(\"OUT_DIR\"), \"/{name}\"))),\n"
        ));
    }
    table.push(']');
    fs::write(Path::new(&out).join("abi_packed.rs"), table).expect("write abi_packed.rs");
    catalog_rs(&out);
}

/// `data/releases.json` as Rust: an expression that builds the
/// `model::release::Catalog` it deserialises to, so no bsdx command parses
/// JSON at start (the parse was a fifth of a `bsdx check`'s instructions).
/// The file stays the source (read by the flake too; cache keys hash it
/// whole), and a unit test checks the built value equals a parse of it.
/// Every key is consumed here: one this generator does not know (a new
/// field in the data) stops the build until it and the struct learn it.
fn catalog_rs(out: &str) {
    println!("cargo:rerun-if-changed=data/releases.json");
    let text = fs::read_to_string("data/releases.json").expect("read data/releases.json");
    let json: Value = serde_json::from_str(&text).expect("data/releases.json is valid JSON");
    let code = Gen::new(&json, "catalog").catalog();
    fs::write(Path::new(out).join("catalog.rs"), code).expect("write catalog.rs");
}

/// Reads one JSON object for the generator, key by key, and insists at the
/// end that every key (but prose: `about`, `*_about`) was read.
struct Gen<'a> {
    obj: &'a serde_json::Map<String, Value>,
    at: String,
    used: std::cell::RefCell<Vec<&'a str>>,
}

fn lit(s: &str) -> String {
    format!("String::from({s:?})")
}

impl<'a> Gen<'a> {
    fn new(v: &'a Value, at: &str) -> Gen<'a> {
        let obj = v
            .as_object()
            .unwrap_or_else(|| panic!("data/releases.json: {at} is not an object"));
        Gen {
            obj,
            at: at.to_string(),
            used: std::cell::RefCell::new(Vec::new()),
        }
    }

    fn get(&self, key: &'a str) -> Option<&'a Value> {
        self.used.borrow_mut().push(key);
        self.obj.get(key)
    }

    fn need(&self, key: &'a str) -> &'a Value {
        self.get(key)
            .unwrap_or_else(|| panic!("data/releases.json: {} has no {key}", self.at))
    }

    fn str(&self, key: &'a str) -> String {
        let v = self.need(key);
        lit(v
            .as_str()
            .unwrap_or_else(|| panic!("{}.{key}: not a string", self.at)))
    }

    fn num(&self, key: &'a str) -> u64 {
        let v = self.need(key);
        v.as_u64()
            .unwrap_or_else(|| panic!("{}.{key}: not a number", self.at))
    }

    /// `key`'s value; a missing one stops the build when `required`
    /// (serde has no `#[serde(default)]` for it either).
    fn field(&self, key: &'a str, required: bool) -> Option<&'a Value> {
        if required {
            Some(self.need(key))
        } else {
            self.get(key)
        }
    }

    fn flag(&self, key: &'a str, required: bool) -> bool {
        self.field(key, required).is_some_and(|v| {
            v.as_bool()
                .unwrap_or_else(|| panic!("{}.{key}: not a boolean", self.at))
        })
    }

    fn strings(&self, key: &'a str, required: bool) -> String {
        let items: Vec<String> = self
            .field(key, required)
            .map(|v| {
                v.as_array()
                    .unwrap_or_else(|| panic!("{}.{key}: not a list", self.at))
                    .iter()
                    .map(|s| lit(s.as_str().expect("a list of strings")))
                    .collect()
            })
            .unwrap_or_default();
        format!("vec![{}]", items.join(", "))
    }

    fn done(&self) {
        for k in self.obj.keys() {
            let prose = k == "about" || k.ends_with("_about");
            if !prose && !self.used.borrow().contains(&k.as_str()) {
                panic!(
                    "data/releases.json: {}.{k} is new to build.rs: teach `catalog_rs` and model::release",
                    self.at
                );
            }
        }
    }

    fn catalog(&self) -> String {
        let releases: Vec<String> = self
            .need("releases")
            .as_array()
            .expect("releases is a list")
            .iter()
            .enumerate()
            .map(|(i, r)| Gen::new(r, &format!("releases[{i}]")).release())
            .collect();
        let code = format!(
            "Catalog {{\n    schema: {},\n    default_release: {},\n    releases: vec![\n{}    ],\n    zig_provides: {},\n    cargo_zigbuild_filtered: {},\n    default_stubs: {},\n    url_forms: {},\n}}\n",
            self.num("schema"),
            self.str("default_release"),
            releases.concat(),
            self.strings("zig_provides", true),
            self.strings("cargo_zigbuild_filtered", true),
            self.strings("default_stubs", true),
            self.strings("url_forms", true),
        );
        self.done();
        code
    }

    fn release(&self) -> String {
        let renamed: Vec<String> = self
            .field("renamed", false)
            .map(|v| {
                v.as_object()
                    .unwrap_or_else(|| panic!("{}.renamed: not an object", self.at))
            })
            .into_iter()
            .flatten()
            .map(|(k, v)| {
                format!(
                    "({}, {})",
                    lit(k),
                    lit(v.as_str().expect("renamed: strings"))
                )
            })
            .collect();
        let pins: Vec<String> = self
            .need("base_txz")
            .as_object()
            .expect("base_txz is an object")
            .iter()
            .map(|(arch, p)| {
                let at = format!("{}.base_txz.{arch}", self.at);
                format!("({}, {})", lit(arch), Gen::new(p, &at).pin())
            })
            .collect();
        let code = format!(
            "        Release {{\n            release: {},\n            freebsd_version: {},\n            exact: {},\n            symbols: {},\n            renamed: BTreeMap::from([{}]),\n            added: {},\n            base_txz: BTreeMap::from([{}]),\n        }},\n",
            self.str("release"),
            self.num("freebsd_version"),
            self.flag("exact", true),
            self.strings("symbols", true),
            renamed.join(", "),
            self.strings("added", false),
            pins.join(",\n                "),
        );
        self.done();
        code
    }

    fn pin(&self) -> String {
        let opt_num = |k: &'a str| match self.get(k) {
            Some(v) => format!("Some({})", v.as_u64().expect("a number")),
            None => "None".to_string(),
        };
        let opt_str = |k: &'a str| match self.get(k) {
            Some(v) => format!("Some({})", lit(v.as_str().expect("a string"))),
            None => "None".to_string(),
        };
        let code = format!(
            "Pin {{ machine: {}, machine_arch: {}, sha256: {}, sources: {}, single_source: {}, urls: {}, size: {}, note: {} }}",
            self.str("machine"),
            self.str("machine_arch"),
            self.str("sha256"),
            self.num("sources"),
            self.flag("single_source", false),
            self.strings("urls", true),
            opt_num("size"),
            opt_str("note"),
        );
        self.done();
        code
    }
}
