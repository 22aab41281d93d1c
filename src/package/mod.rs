//! `bsdx package`: a FreeBSD package (`NAME-VERSION.pkg`) of a project, as
//! `pkg create` would make it, bit-reproducibly. A project that declares a
//! service gets the binary, the generated rc.d script and newsyslog
//! drop-in, config samples, owned directories and users/groups created by
//! a pre-install script; any other project (a CLI tool) gets its binaries
//! in `/usr/local/bin`. Both get the declared `assets` and `deps`, a
//! manifest with each file's sum, owner, group and mode, and
//! `shlibs_required` from the ELF files' `DT_NEEDED`. [`inspect`] reads
//! one back.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use schemars::JsonSchema;
use serde::Serialize;

use crate::digest::sha256_hex;
use crate::exit::{self, Exit};
use crate::model::release::{catalog, Release};
use crate::model::service::{Service, PREFIX};
use crate::model::target::Target;
use crate::project::PackageProject;
use crate::rcd::generate;

pub mod archive;
pub mod inspect;
pub mod manifest;

pub use archive::Compression;

/// Version of `bsdx package --json`.
pub const SCHEMA: u32 = 1;

/// Member mtime when `SOURCE_DATE_EPOCH` is unset: 2000-01-01T00:00:00Z.
pub const DEFAULT_MTIME: u64 = 946_684_800;

/// `SOURCE_DATE_EPOCH` (as `pkg create` honours it), else [`DEFAULT_MTIME`].
pub fn mtime() -> Result<u64> {
    match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(v) if !v.is_empty() => v.trim().parse().with_context(|| {
            format!("SOURCE_DATE_EPOCH={v} is not a number of seconds\n  fix: unset it or set it to a Unix time")
        }),
        _ => Ok(DEFAULT_MTIME),
    }
}

/// `NAME-VERSION.pkg` in `out`.
pub fn output_path(project: &PackageProject, out: &Path) -> PathBuf {
    out.join(format!(
        "{}-{}.pkg",
        project.package.name, project.package.version
    ))
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PackagedFile {
    pub path: String,
    pub size: u64,
    /// As in the manifest: `1$<sha256 hex>`.
    pub sum: String,
    /// Octal, e.g. `0755`.
    pub mode: String,
    pub uname: String,
    pub gname: String,
}

/// What `bsdx package` wrote.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Packaged {
    pub schema: u32,
    pub path: PathBuf,
    pub name: String,
    pub version: String,
    pub abi: String,
    pub arch: String,
    /// `annotations.FreeBSD_version`: the oldest release of the ABI's major
    /// version that `bsdx check` says the binary runs on.
    pub freebsd_version: u32,
    pub floor_release: String,
    pub compression: Compression,
    pub size: u64,
    pub sha256: String,
    pub flatsize: u64,
    pub files: Vec<PackagedFile>,
    pub directories: Vec<String>,
    /// The ELF files' `DT_NEEDED` (less what the package provides).
    pub shlibs_required: Vec<String>,
    /// The `DT_SONAME`s of the package's ELF files.
    pub shlibs_provided: Vec<String>,
    /// Run-time dependencies (package names).
    pub deps: Vec<String>,
    /// The users and groups the pre-install script creates.
    pub users: Vec<String>,
    pub groups: Vec<String>,
    /// `bsdx check` of the binary against the release.
    pub check: crate::check::Report,
}

/// The oldest known release of `release`'s major version the binary runs
/// on (`runs_on` of its check report), else `release` itself.
fn floor(report: &crate::check::FileReport, release: &Release) -> &'static Release {
    let major = release.freebsd_version / 100_000;
    let cat = catalog();
    report
        .runs_on
        .iter()
        .filter_map(|r| cat.get(r).ok())
        .filter(|r| r.freebsd_version / 100_000 == major)
        .min_by_key(|r| r.freebsd_version)
        .unwrap_or_else(|| cat.get(&release.release).expect("a catalog release"))
}

fn pre_install(s: &Service) -> String {
    let comment = format!("{} service", s.name);
    format!(
        "# Create the group and user of the {name} service unless they exist.\n\
         if [ -n \"${{PKG_ROOTDIR}}\" ] && [ \"${{PKG_ROOTDIR}}\" != \"/\" ]; then\n\
         \tPW=\"/usr/sbin/pw -R ${{PKG_ROOTDIR}}\"\n\
         else\n\
         \tPW=/usr/sbin/pw\n\
         fi\n\
         if ! ${{PW}} groupshow {group} >/dev/null 2>&1; then\n\
         \techo \"Creating group '{group}'.\"\n\
         \t${{PW}} groupadd {group} || exit 1\n\
         fi\n\
         if ! ${{PW}} usershow {user} >/dev/null 2>&1; then\n\
         \techo \"Creating user '{user}'.\"\n\
         \t${{PW}} useradd {user} -g {group} -c \"{comment}\" -d {home} -s /usr/sbin/nologin -h - || exit 1\n\
         fi\n",
        name = s.name,
        user = s.user,
        group = s.group,
        home = s.data_dir,
    )
}

fn live_files(s: &Service) -> Vec<String> {
    let mut v: Vec<String> = s.config.iter().map(|c| c.path.clone()).collect();
    v.push(s.env_file.clone());
    v
}

fn post_install(s: &Service) -> String {
    format!(
        "# Install each configuration file from its sample unless it exists\n\
         # (an edited file is never replaced, on install or upgrade).\n\
         for f in {files}; do\n\
         \tif [ ! -e \"${{PKG_ROOTDIR}}${{f}}\" ]; then\n\
         \t\tcp -p \"${{PKG_ROOTDIR}}${{f}}.sample\" \"${{PKG_ROOTDIR}}${{f}}\"\n\
         \tfi\n\
         done\n",
        files = live_files(s).join(" ")
    )
}

fn pre_deinstall(s: &Service) -> String {
    format!(
        "# Remove each configuration file that is still the sample; keep edited ones.\n\
         for f in {files}; do\n\
         \tif cmp -s \"${{PKG_ROOTDIR}}${{f}}\" \"${{PKG_ROOTDIR}}${{f}}.sample\"; then\n\
         \t\trm -f \"${{PKG_ROOTDIR}}${{f}}\"\n\
         \telif [ -e \"${{PKG_ROOTDIR}}${{f}}\" ]; then\n\
         \t\techo \"Keeping ${{f}}: it differs from ${{f}}.sample (remove it by hand when no longer needed).\"\n\
         \tfi\n\
         done\n",
        files = live_files(s).join(" ")
    )
}

fn env_sample(s: &Service) -> String {
    let mut t = format!(
        "# Environment of the {n} service: NAME=value lines, read by rc.subr\n\
         # (as root, with `set -a`) before daemon(8) starts {bin}.\n\
         # For secrets: keep this file owned by root, mode 0600.\n\
         # Settings in {n}_env (rc.conf) come first; lines here override them.\n",
        n = s.name,
        bin = s.binary_path()
    );
    for (k, v) in &s.env {
        t.push_str(&format!("#{k}={v}\n"));
    }
    t
}

/// Where and how `bsdx package` writes.
#[derive(Debug, Clone)]
pub struct Output {
    pub dir: PathBuf,
    pub compression: Compression,
    /// Replace an existing file.
    pub force: bool,
}

/// Refuse a bad declaration found while packaging ([`exit::FAILURE`], as
/// every bad declaration), with the key and the fix.
fn refused(project: &PackageProject, key: &str, message: String, fix: &str) -> anyhow::Error {
    Exit {
        code: exit::FAILURE,
        message: format!(
            "[package.metadata.bsdx.package] in {}: `{key}`: {message}; nothing was written\n  fix: {fix}",
            project.manifest.display()
        ),
    }
    .into()
}

/// The `DT_NEEDED` and `DT_SONAME` of an ELF file (none for other files),
/// as pkg's `analyse_elf` (`libpkg/pkg_elf.c`) keeps them: names starting
/// with `lib`, no absolute paths.
pub fn elf_shlibs(data: &[u8]) -> (Vec<String>, Option<String>) {
    let Ok(elf) = goblin::elf::Elf::parse(data) else {
        return (vec![], None);
    };
    let needed = elf
        .libraries
        .iter()
        .filter(|l| l.starts_with("lib"))
        .map(|l| l.to_string())
        .collect();
    let soname = elf
        .soname
        .filter(|s| s.starts_with("lib"))
        .map(str::to_string);
    (needed, soname)
}

/// `shlibs_required` and `shlibs_provided` of the package's files, as
/// `pkg_analyse_files` (`libpkg/pkg_abi.c`) records them: every `DT_NEEDED`
/// once, sorted, base libraries such as `libc.so.7` included (pkg ≥ 2.0
/// no longer filters them), less the libraries the package provides itself
/// (a `DT_SONAME` of one of its files, or a file of that name).
pub fn shlibs(members: &[archive::Member]) -> (Vec<String>, Vec<String>) {
    let mut required = std::collections::BTreeSet::new();
    let mut provided = std::collections::BTreeSet::new();
    for m in members {
        let Some(data) = &m.data else { continue };
        let (needed, soname) = elf_shlibs(data);
        required.extend(needed);
        provided.extend(soname);
    }
    let required = required
        .into_iter()
        .filter(|r| {
            !provided.contains(r)
                && !members
                    .iter()
                    .any(|m| m.data.is_some() && m.path.ends_with(&format!("/{r}")))
        })
        .collect();
    (required, provided.into_iter().collect())
}

/// Package `binaries` (already built for `target`) as the project: the
/// service's binary, or the tool's binaries (each named as one of the
/// crate's `[[bin]]`s). `bsdx check` must accept them for `release`, or
/// this fails with [`exit::REJECTED`] and writes nothing.
pub fn from_binary(
    project: &PackageProject,
    binaries: &[PathBuf],
    target: &Target,
    release: &Release,
    sysroot: Option<&Path>,
    out: &Output,
) -> Result<Packaged> {
    let (compression, force) = (out.compression, out.force);
    let dest = output_path(project, &out.dir);
    crate::output::refuse_existing(&dest, force)?;
    anyhow::ensure!(!binaries.is_empty(), "no binary to package");
    let mut built = Vec::new();
    for binary in binaries {
        let bytes = std::fs::read(binary).map_err(|e| {
            anyhow::anyhow!(
                "cannot read the binary {}: {e}\n  fix: build it first (bsdx build), or pass the path of the built binary",
                binary.display()
            )
        })?;
        let name = match &project.service {
            Some(s) => s.binary.clone(),
            None => {
                let name = binary
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let bins = project.binaries();
                if !bins.contains(&name) {
                    return Err(Exit {
                        code: exit::FAILURE,
                        message: format!(
                            "{} is not one of the crate's binaries ({}): the package installs each as /usr/local/bin/<its [[bin]] name>; nothing was written\n  fix: pass the binary cargo built for one of them (target/<triple>/release/{})",
                            binary.display(),
                            bins.join(", "),
                            bins[0]
                        ),
                    }
                    .into());
                }
                name
            }
        };
        built.push((name, bytes));
    }
    let check = crate::check::run(binaries, release, sysroot, Some(target))?;
    if check.exit_code(false) != exit::OK {
        eprint!("{}", check.render(false));
        let shown: Vec<String> = binaries.iter().map(|b| b.display().to_string()).collect();
        return Err(Exit {
            code: exit::REJECTED,
            message: format!(
                "bsdx check rejects {} for FreeBSD {} (above): not packaging a binary that would not run there; nothing was written\n  fix: build it with `bsdx build --release {}` (or fix what check reports)",
                shown.join(", "),
                release.release,
                release.release
            ),
        }
        .into());
    }
    let floor = check
        .files
        .iter()
        .map(|f| floor(f, release))
        .max_by_key(|r| r.freebsd_version)
        .expect("a checked file");
    let p = &project.package;
    let mut members = match &project.service {
        Some(s) => service_files(project, s, built.remove(0).1)?,
        None => built
            .into_iter()
            .map(|(name, data)| archive::Member {
                path: format!("{PREFIX}/bin/{name}"),
                data: Some(data),
                mode: 0o755,
                uname: "root".into(),
                gname: "wheel".into(),
            })
            .collect(),
    };
    for (i, a) in project.assets.iter().enumerate() {
        let key = format!("assets[{i}]");
        if members.iter().any(|m| m.path == a.dest) {
            return Err(refused(
                project,
                &key,
                format!("dest {} is a file bsdx already puts in the package", a.dest),
                "choose another dest (the package's own files are listed by bsdx package --json)",
            ));
        }
        let path = project.dir.join(&a.source);
        let data =
            match std::fs::metadata(&path) {
                Ok(md) if md.is_file() => std::fs::read(&path)?,
                Ok(_) => {
                    return Err(refused(
                        project,
                        &key,
                        format!("source {} is not a regular file", a.source),
                        "name a file (a directory's files are separate entries)",
                    ))
                }
                Err(e) => return Err(refused(
                    project,
                    &key,
                    format!("cannot read source {}: {e}", a.source),
                    "create it, or correct the source (relative to the directory of Cargo.toml)",
                )),
            };
        members.push(archive::Member {
            path: a.dest.clone(),
            data: Some(data),
            mode: a.mode,
            uname: a.user.clone(),
            gname: a.group.clone(),
        });
    }
    let dirs = match &project.service {
        Some(s) => directories(s),
        None => vec![],
    };
    let major = release.freebsd_version / 100_000;
    let (abi, arch) = manifest::abi_and_arch(major, target.machine_arch);
    let mut m = manifest(project, &abi, &arch, floor);
    let mtime = mtime()?;
    let (required, provided) = shlibs(&members);
    m.shlibs_required = required;
    m.shlibs_provided = provided;
    let mut files = Vec::new();
    for mem in &members {
        let data = mem.data.as_ref().expect("a file");
        let sum = format!("1${}", sha256_hex(data));
        m.flatsize += data.len() as u64;
        m.files.insert(
            mem.path.clone(),
            manifest::FileAttrs {
                sum: sum.clone(),
                uname: mem.uname.clone(),
                gname: mem.gname.clone(),
                perm: mem.mode,
                mtime,
            },
        );
        files.push(PackagedFile {
            path: mem.path.clone(),
            size: data.len() as u64,
            sum,
            mode: manifest::perm_str(mem.mode),
            uname: mem.uname.clone(),
            gname: mem.gname.clone(),
        });
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    for d in &dirs {
        m.directories.insert(
            d.path.clone(),
            manifest::DirAttrs {
                uname: d.uname.clone(),
                gname: d.gname.clone(),
                perm: d.mode,
            },
        );
    }
    members.extend(dirs);
    let tar = archive::tar_bytes(&m.compact(), &m.full(), &members, mtime)?;
    let bytes = archive::compress(&tar, compression)?;
    let path = crate::output::write_new(&dest, &bytes, 0o644, force)?;
    Ok(Packaged {
        schema: SCHEMA,
        path,
        name: p.name.clone(),
        version: p.version.clone(),
        abi,
        arch,
        freebsd_version: floor.freebsd_version,
        floor_release: floor.release.clone(),
        compression,
        size: bytes.len() as u64,
        sha256: sha256_hex(&bytes),
        flatsize: m.flatsize,
        files,
        directories: m.directories.keys().cloned().collect(),
        shlibs_required: m.shlibs_required.clone(),
        shlibs_provided: m.shlibs_provided.clone(),
        deps: m.deps.keys().cloned().collect(),
        users: m.users.clone(),
        groups: m.groups.clone(),
        check,
    })
}

/// A service's files: the binary, the rc.d script, the newsyslog drop-in,
/// the env file's sample and each config file's sample.
fn service_files(
    project: &PackageProject,
    s: &Service,
    binary: Vec<u8>,
) -> Result<Vec<archive::Member>> {
    let root = |path: String, data: Vec<u8>, mode: u32| archive::Member {
        path,
        data: Some(data),
        mode,
        uname: "root".into(),
        gname: "wheel".into(),
    };
    let mut members = vec![
        root(s.binary_path(), binary, 0o755),
        root(s.rc_path(), generate::script(s).into_bytes(), 0o755),
        root(
            s.newsyslog_path(),
            generate::newsyslog(s).into_bytes(),
            0o644,
        ),
        root(
            format!("{}.sample", s.env_file),
            env_sample(s).into_bytes(),
            0o600,
        ),
    ];
    for c in &s.config {
        let data = std::fs::read(project.dir.join(&c.source)).map_err(|e| {
            anyhow::anyhow!(
                "cannot read the config file {}: {e}\n  fix: create it, or correct `source`",
                c.source
            )
        })?;
        members.push(archive::Member {
            path: format!("{}.sample", c.path),
            data: Some(data),
            mode: c.mode,
            uname: "root".into(),
            gname: s.group.clone(),
        });
    }
    Ok(members)
}

/// The directories a service's package owns: the data directory (the
/// service's user's) and the config directory when anything goes there.
fn directories(s: &Service) -> Vec<archive::Member> {
    let mut dirs = vec![archive::Member {
        path: s.data_dir.clone(),
        data: None,
        mode: 0o750,
        uname: s.user.clone(),
        gname: s.group.clone(),
    }];
    if s.env_file.starts_with(&s.config_dir) || !s.config.is_empty() {
        dirs.push(archive::Member {
            path: s.config_dir.clone(),
            data: None,
            mode: 0o755,
            uname: "root".into(),
            gname: "wheel".into(),
        });
    }
    dirs
}

/// The manifest without its files and directories: the package's
/// identity, its dependencies, and for a service its scripts (users,
/// config samples) and messages.
fn manifest(
    project: &PackageProject,
    abi: &str,
    arch: &str,
    floor: &Release,
) -> manifest::Manifest {
    let p = &project.package;
    let mut m = manifest::Manifest {
        name: p.name.clone(),
        origin: p.origin.clone(),
        version: p.version.clone(),
        comment: p.comment.clone(),
        maintainer: p.maintainer.clone(),
        www: p.www.clone(),
        abi: abi.into(),
        arch: arch.into(),
        prefix: PREFIX.into(),
        desc: p.desc.clone(),
        categories: vec![p.origin.split('/').next().unwrap_or("local").to_string()],
        ..manifest::Manifest::default()
    };
    m.deps = project
        .deps
        .iter()
        .map(|(k, d)| {
            (
                k.clone(),
                manifest::Dep {
                    origin: d.origin.clone(),
                    version: d.version.clone(),
                },
            )
        })
        .collect();
    m.annotations
        .insert("FreeBSD_version".into(), floor.freebsd_version.to_string());
    let Some(s) = &project.service else {
        return m;
    };
    if s.create_user {
        m.users.push(s.user.clone());
        m.groups.push(s.group.clone());
        m.scripts.insert("pre-install".into(), pre_install(s));
    }
    m.scripts.insert("post-install".into(), post_install(s));
    m.scripts.insert("pre-deinstall".into(), pre_deinstall(s));
    let first_config = s
        .config
        .first()
        .map(|c| c.path.clone())
        .unwrap_or_else(|| s.env_file.clone());
    m.messages.push(manifest::Message {
        kind: "install",
        text: format!(
            "{n} is installed, not started. Edit {cfg} (secrets: {env}, mode 0600), then:\n  sysrc {n}_enable=YES\n  service {n} start\nIts output goes to {log} (rotated by newsyslog); settings: head -40 {rc}",
            n = s.name,
            cfg = first_config,
            env = s.env_file,
            log = s.log_file,
            rc = s.rc_path()
        ),
    });
    m.messages.push(manifest::Message {
        kind: "remove",
        text: format!(
            "{n} was removed. Kept: {data} if it holds data (pkg removes it when empty){users}, and configuration files in {etc} that differ from their samples.",
            n = s.name,
            data = s.data_dir,
            etc = s.config_dir,
            users = if s.create_user {
                format!(", the user and group (pw userdel {}; pw groupdel {})", s.user, s.group)
            } else {
                String::new()
            }
        ),
    });
    m
}

/// For `bsdx repro`: the package of the binary a build made in `dir`
/// (when the project declares a service), written next to the build.
pub fn for_repro(
    dir: &Path,
    binaries: &[PathBuf],
    target: &Target,
    release: &Release,
    sysroot: Option<&Path>,
) -> Result<Option<PathBuf>> {
    if !crate::project::declares_service(dir) {
        return Ok(None);
    }
    let project = crate::project::load_package(dir)?;
    let Some(service) = &project.service else {
        return Ok(None);
    };
    let Some(bin) = binaries
        .iter()
        .find(|b| b.file_name().is_some_and(|n| n == service.binary.as_str()))
    else {
        return Ok(None);
    };
    let out = Output {
        dir: dir.join("target").join("bsdx-repro-pkg"),
        compression: Compression::Zstd,
        force: true,
    };
    let p = from_binary(
        &project,
        std::slice::from_ref(bin),
        target,
        release,
        sysroot,
        &out,
    )?;
    Ok(Some(p.path))
}
