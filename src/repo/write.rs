//! Writing a repository: scan the packages, reuse the cached sums of the
//! unchanged ones, build the catalog, sign it, and move the new files into
//! place.
//!
//! Atomicity: the three files are written in full (and synced) into a
//! temporary directory inside DIR (`.bsdx-repo-*`: same file system, so
//! `rename(2)` is atomic; pkg's own scan skips dot-directories) and renamed
//! over the old ones, `data.pkg`, `packagesite.pkg`, then `meta.conf`. At
//! every moment each file a host can fetch is complete and, when signed,
//! carries its own valid signature, and every catalog names only packages
//! already in DIR. Every check (packages, key) happens before anything is
//! written, so a failure leaves the previous repository untouched.
//!
//! Reproducibility: packages sorted by their path, catalog archive members
//! owned `root:wheel`, mode 0644, mtime `SOURCE_DATE_EPOCH` (else
//! 2000-01-01), zstd level 19: the same packages give the same bytes.
//! RSASSA-PKCS1-v1_5 is deterministic, so signed catalogs are too. When
//! the new files equal the old ones nothing is rewritten, so their mtimes
//! (which pkg compares with `If-Modified-Since`,
//! `libpkg/pkg_repo.c` `pkg_repo_fetch_remote_tmp`) only move when the
//! catalog changes.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use super::{catalog, meta, read, sign, Catalog, Package, Report, SCHEMA};
use crate::exit::{self, Exit};
use crate::package::archive::{compress, Compression};

/// The incremental cache, `DIR/.bsdx-repo-cache.json`.
pub const CACHE: &str = ".bsdx-repo-cache.json";
const CACHE_VERSION: u32 = 1;

#[derive(Debug, Serialize, Deserialize, Default)]
struct Cache {
    version: u32,
    /// Path relative to DIR → what was read.
    entries: BTreeMap<String, CacheEntry>,
}

#[derive(Debug, Serialize, Deserialize, Clone)]
struct CacheEntry {
    size: u64,
    mtime_s: i64,
    mtime_ns: u32,
    sha256: String,
    /// The compact manifest, as JSON text.
    manifest: String,
}

fn failure(message: String) -> anyhow::Error {
    Exit {
        code: exit::FAILURE,
        message,
    }
    .into()
}

/// The .pkg files of DIR and DIR/All/, relative paths, sorted.
pub fn scan(dir: &Path) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for sub in ["", "All"] {
        let d = if sub.is_empty() {
            dir.to_path_buf()
        } else {
            dir.join(sub)
        };
        let rd = match std::fs::read_dir(&d) {
            Ok(rd) => rd,
            Err(e) if !sub.is_empty() && e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => {
                return Err(Exit {
                    code: exit::UNREADABLE,
                    message: format!("cannot read the directory {}: {e}\n  fix: pass the directory that holds the .pkg files (`bsdx package --out DIR` writes them)", d.display()),
                }
                .into())
            }
        };
        for e in rd {
            let e = e.with_context(|| format!("cannot read {}", d.display()))?;
            let name = e.file_name().to_string_lossy().into_owned();
            let Some(stem) = name.strip_suffix(".pkg") else {
                continue;
            };
            if name.starts_with('.') || meta::SPECIAL.contains(&stem) {
                continue;
            }
            // Follows symlinks, as pkg repo does for links out of the tree.
            if !std::fs::metadata(e.path()).is_ok_and(|m| m.is_file()) {
                continue;
            }
            out.push(if sub.is_empty() {
                name
            } else {
                format!("{sub}/{name}")
            });
        }
    }
    out.sort();
    Ok(out)
}

/// A tar of `members` (name, bytes) as the catalog archives hold them.
fn tar_of(members: &[(&str, &[u8])], mtime: u64) -> Result<Vec<u8>> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, data) in members {
        let mut h = tar::Header::new_ustar();
        h.set_path(name)?;
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_uid(0);
        h.set_gid(0);
        h.set_username("root")?;
        h.set_groupname("wheel")?;
        h.set_mtime(mtime);
        h.set_entry_type(tar::EntryType::Regular);
        h.set_cksum();
        b.append(&h, *data)?;
    }
    Ok(b.into_inner()?)
}

/// One catalog archive: `signature` (when signing) then the file, as
/// `pkg_repo_pack_db` packs them.
fn archive(
    member: &str,
    content: &[u8],
    key: Option<&rsa::RsaPrivateKey>,
    mtime: u64,
) -> Result<Vec<u8>> {
    let sig = key.map(|k| sign::sign(k, content));
    let mut members: Vec<(&str, &[u8])> = Vec::new();
    if let Some(s) = &sig {
        members.push(("signature", s));
    }
    members.push((member, content));
    compress(&tar_of(&members, mtime)?, Compression::Zstd)
}

fn mtime_of(m: &std::fs::Metadata) -> (i64, u32) {
    use std::os::unix::fs::MetadataExt;
    (m.mtime(), m.mtime_nsec() as u32)
}

/// `annotations.FreeBSD_version` of a manifest (a string, as pkg writes it).
fn freebsd_version(m: &serde_json::Map<String, serde_json::Value>) -> Option<u32> {
    let v = m.get("annotations")?.get("FreeBSD_version")?;
    v.as_str()
        .and_then(|s| s.parse().ok())
        .or_else(|| v.as_u64().and_then(|n| u32::try_from(n).ok()))
}

/// Build (or rebuild) the repository in `dir`; sign it with `key`.
pub fn build(dir: &Path, key: Option<&Path>) -> Result<Report> {
    if !dir.is_dir() {
        return Err(Exit {
            code: exit::UNREADABLE,
            message: format!(
                "{} is not a directory\n  fix: pass the directory holding the .pkg files (`bsdx package --out DIR` writes them there)",
                dir.display()
            ),
        }
        .into());
    }
    let private = key.map(sign::load_private_key).transpose()?;
    let files = scan(dir)?;
    if files.is_empty() {
        return Err(failure(format!(
            "no .pkg files in {} or {}/All\n  fix: write packages there first (`bsdx package --out {}`), then run bsdx repo again",
            dir.display(),
            dir.display(),
            dir.display()
        )));
    }
    let cache_path = dir.join(CACHE);
    let old_cache: Cache = std::fs::read(&cache_path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .filter(|c: &Cache| c.version == CACHE_VERSION)
        .unwrap_or_default();
    let mut cache = Cache {
        version: CACHE_VERSION,
        entries: BTreeMap::new(),
    };
    struct Read {
        rel: String,
        size: u64,
        sha256: String,
        manifest: serde_json::Map<String, serde_json::Value>,
        cached: bool,
    }
    let mut read_all = Vec::new();
    for rel in &files {
        let path = dir.join(rel);
        let md = std::fs::metadata(&path).map_err(|e| Exit {
            code: exit::UNREADABLE,
            message: format!("cannot read {}: {e}", path.display()),
        })?;
        let (mtime_s, mtime_ns) = mtime_of(&md);
        let hit = old_cache
            .entries
            .get(rel)
            .filter(|c| c.size == md.len() && c.mtime_s == mtime_s && c.mtime_ns == mtime_ns);
        let (entry, manifest, cached) = match hit.and_then(|c| {
            serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(&c.manifest)
                .ok()
                .map(|m| (c.clone(), m))
        }) {
            Some((c, m)) => (c, m, true),
            None => {
                let m = read::manifest(&path)?;
                let sha256 = crate::digest::sha256_file(&path).map_err(|e| Exit {
                    code: exit::UNREADABLE,
                    message: format!("{e:#}"),
                })?;
                let c = CacheEntry {
                    size: md.len(),
                    mtime_s,
                    mtime_ns,
                    sha256,
                    manifest: serde_json::to_string(&m)?,
                };
                (c, m, false)
            }
        };
        read_all.push(Read {
            rel: rel.clone(),
            size: entry.size,
            sha256: entry.sha256.clone(),
            manifest,
            cached,
        });
        cache.entries.insert(rel.clone(), entry);
    }
    let field = |m: &serde_json::Map<String, serde_json::Value>, k: &str| -> String {
        m.get(k)
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_string()
    };
    // One version per name: the newest (docs/pkg-repository.5: "Each of
    // the packages listed in the repository catalogue must have a unique
    // name").
    let mut newest: BTreeMap<String, usize> = BTreeMap::new();
    for (i, r) in read_all.iter().enumerate() {
        let name = field(&r.manifest, "name");
        let version = field(&r.manifest, "version");
        match newest.get(&name) {
            None => {
                newest.insert(name, i);
            }
            Some(&j) => {
                let other = &read_all[j];
                match catalog::version_cmp(&version, &field(&other.manifest, "version")) {
                    std::cmp::Ordering::Greater => {
                        newest.insert(name, i);
                    }
                    std::cmp::Ordering::Less => {}
                    std::cmp::Ordering::Equal => {
                        return Err(failure(format!(
                            "{} and {} are both {name} {version}: a repository lists one file per version\n  fix: remove one of them (or bump the version in Cargo.toml and package again)",
                            other.rel, r.rel
                        )))
                    }
                }
            }
        }
    }
    let listed: BTreeSet<usize> = newest.values().copied().collect();
    // pkg refuses a whole catalog holding a package of another ABI
    // (repo/binary/update.c `pkg_repo_binary_add_from_manifest`: "repository
    // %s contains packages with wrong ABI"), so one repository per ABI.
    let abis: BTreeSet<String> = listed
        .iter()
        .map(|&i| field(&read_all[i].manifest, "abi"))
        .collect();
    if abis.len() > 1 {
        let list: Vec<String> = listed
            .iter()
            .map(|&i| {
                format!(
                    "{} ({})",
                    read_all[i].rel,
                    field(&read_all[i].manifest, "abi")
                )
            })
            .collect();
        return Err(failure(format!(
            "the packages are for different ABIs: {}; pkg refuses the whole catalog on a host when one package's ABI is not its own (\"contains packages with wrong ABI\")\n  fix: one repository directory per ABI (e.g. DIR/FreeBSD:14:amd64/), served under a URL with ${{ABI}} (`bsdx repo --print-conf 'https://HOST/pkg/${{ABI}}'`)",
            list.join(", ")
        )));
    }
    let lines: Vec<String> = listed
        .iter()
        .map(|&i| {
            let r = &read_all[i];
            catalog::line(&r.manifest, &r.sha256, r.size, &r.rel)
        })
        .collect();
    let packagesite = catalog::packagesite(&lines);
    let data = catalog::data(&lines);
    let mtime = crate::package::mtime()?;
    let packagesite_pkg = archive(
        meta::MANIFESTS,
        packagesite.as_bytes(),
        private.as_ref(),
        mtime,
    )?;
    let data_pkg = archive(meta::DATA, data.as_bytes(), private.as_ref(), mtime)?;
    let meta_conf = meta::conf();
    let outputs: [(String, &[u8]); 3] = [
        (format!("{}.pkg", meta::DATA_ARCHIVE), &data_pkg),
        (format!("{}.pkg", meta::MANIFESTS_ARCHIVE), &packagesite_pkg),
        ("meta.conf".to_string(), meta_conf.as_bytes()),
    ];
    let unchanged = outputs
        .iter()
        .all(|(n, b)| std::fs::read(dir.join(n)).is_ok_and(|old| old == *b));
    if !unchanged {
        let tmp = tempfile::Builder::new()
            .prefix(".bsdx-repo-")
            .tempdir_in(dir)
            .map_err(|e| {
                failure(format!(
                    "cannot create a temporary directory in {}: {e}\n  fix: make the directory writable by this user",
                    dir.display()
                ))
            })?;
        for (name, bytes) in &outputs {
            let p = tmp.path().join(name);
            let mut f = std::fs::File::create(&p)
                .with_context(|| format!("cannot write {}", p.display()))?;
            f.write_all(bytes)?;
            // Readable by the web server whatever the umask (pkg repo: 0644).
            use std::os::unix::fs::PermissionsExt;
            f.set_permissions(std::fs::Permissions::from_mode(0o644))?;
            f.sync_all()?;
        }
        for (name, _) in &outputs {
            std::fs::rename(tmp.path().join(name), dir.join(name)).with_context(|| {
                format!(
                    "cannot move the new {name} into {} (the files already moved are complete; run bsdx repo again)",
                    dir.display()
                )
            })?;
        }
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        tmp.close().with_context(|| {
            format!("cannot remove the temporary directory in {}", dir.display())
        })?;
    }
    // The cache is an optimisation: failing to write it is not an error.
    if let Ok(text) = serde_json::to_vec_pretty(&cache) {
        if let Ok(mut t) = tempfile::Builder::new()
            .prefix(".bsdx-repo-cache-")
            .tempfile_in(dir)
        {
            if t.write_all(&text).is_ok() {
                let _ = t.persist(&cache_path);
            }
        }
    }
    let packages = read_all
        .iter()
        .enumerate()
        .map(|(i, r)| Package {
            path: r.rel.clone(),
            name: field(&r.manifest, "name"),
            version: field(&r.manifest, "version"),
            abi: field(&r.manifest, "abi"),
            freebsd_version: freebsd_version(&r.manifest),
            size: r.size,
            sha256: r.sha256.clone(),
            listed: listed.contains(&i),
            cached: r.cached,
        })
        .collect();
    let public_key = private
        .as_ref()
        .map(|k| sign::public_pem(&k.to_public_key()));
    Ok(Report {
        schema: SCHEMA,
        dir: dir.to_path_buf(),
        packages,
        abi: abis.into_iter().next().unwrap_or_default(),
        requires_freebsd_version: listed
            .iter()
            .filter_map(|&i| freebsd_version(&read_all[i].manifest))
            .max(),
        signed: private.is_some(),
        public_key_sha256: public_key
            .as_ref()
            .map(|p| crate::digest::sha256_hex(p.as_bytes())),
        catalog: Catalog {
            data_pkg: PathBuf::from(&outputs[0].0),
            data_pkg_sha256: crate::digest::sha256_hex(&data_pkg),
            data_sha256: crate::digest::sha256_hex(data.as_bytes()),
            packagesite_pkg: PathBuf::from(&outputs[1].0),
            packagesite_pkg_sha256: crate::digest::sha256_hex(&packagesite_pkg),
            packagesite_yaml_sha256: crate::digest::sha256_hex(packagesite.as_bytes()),
            meta_conf: PathBuf::from("meta.conf"),
        },
        written: !unchanged,
    })
}
