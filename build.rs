//! Turns every `stubs/abi/<key>.json` (the source of truth, still embedded
//! as JSON for `bsdx stubs`) into a compact pre-indexed form that
//! `bsdx check` searches without parsing anything at run time: see
//! `src/model/abi.rs` (`Packed`) for the layout, and its unit test that the
//! packed form equals the JSON.

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

/// bsdx is a short-lived command (`bsdx check` should finish before readelf
/// does): linked as a position-dependent executable, its ~9,000 relative
/// relocations are resolved at link time instead of by ld.so at every start,
/// which copies and writes ~40 pages of `.data.rel.ro` and reads a 200 KB
/// `.rela.dyn` (ld.so's own statistics: 5.9 M cycles of startup against
/// 0.27 M). The cost is ASLR for bsdx's own image (its libraries, heap and
/// stack stay randomised). `BSDX_BUILD_PIE=1` keeps a PIE.
fn link_position_dependent() {
    println!("cargo:rerun-if-env-changed=BSDX_BUILD_PIE");
    let linux = std::env::var("CARGO_CFG_TARGET_OS").is_ok_and(|os| os == "linux");
    let pie = std::env::var_os("BSDX_BUILD_PIE").is_some_and(|v| !v.is_empty() && v != "0");
    if linux && !pie {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
}

fn main() {
    link_position_dependent();
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
    minify_catalog(&out);
}

/// `data/releases.json` without its prose (`about`, `*_about`) and
/// whitespace: what every bsdx command parses at start (`model::release::catalog`),
/// about half the bytes. The file itself stays the source (and cache keys
/// hash it whole).
fn minify_catalog(out: &str) {
    fn strip(v: Value) -> Value {
        match v {
            Value::Object(m) => Value::Object(
                m.into_iter()
                    .filter(|(k, _)| k != "about" && !k.ends_with("_about"))
                    .map(|(k, v)| (k, strip(v)))
                    .collect(),
            ),
            Value::Array(a) => Value::Array(a.into_iter().map(strip).collect()),
            v => v,
        }
    }
    println!("cargo:rerun-if-changed=data/releases.json");
    let text = fs::read_to_string("data/releases.json").expect("read data/releases.json");
    let json: Value = serde_json::from_str(&text).expect("data/releases.json is valid JSON");
    let min = serde_json::to_string(&strip(json)).expect("serialise");
    fs::write(Path::new(out).join("releases.min.json"), min).expect("write releases.min.json");
}
