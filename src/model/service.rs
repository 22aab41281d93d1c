//! A declared FreeBSD service: what `[package.metadata.bsdx.service]` in a
//! project's Cargo.toml says, with every default filled in and every value
//! checked. Data only: the caller reads the file ([`crate::project::load`]);
//! `bsdx rcd` turns a [`Service`] into an rc.d script and `bsdx package`
//! into a .pkg.
//!
//! ```toml
//! [package.metadata.bsdx.service]
//! args = ["-c", "{config_dir}/config.json", "-d", "{data_dir}/sqlite.db"]
//! config = [{ source = "config.example.json", name = "config.json" }]
//! ```
//!
//! Everything else has a default: the service name is the crate name with
//! `-` → `_`, it runs as a user of that name that the package creates, in
//! `/var/db/<name>`, logging to `/var/log/<name>.log`.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Where packages install (FreeBSD's `LOCALBASE`).
pub const PREFIX: &str = "/usr/local";

/// `[package.metadata.bsdx.service]` as written (kebab-case keys).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ServiceDecl {
    pub name: Option<String>,
    pub description: Option<String>,
    pub binary: Option<String>,
    pub user: Option<String>,
    pub group: Option<String>,
    pub create_user: Option<bool>,
    #[serde(default)]
    pub args: Vec<String>,
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    pub env_file: Option<String>,
    pub restart_delay: Option<u32>,
    pub log_file: Option<String>,
    pub data_dir: Option<String>,
    pub require: Option<Vec<String>>,
    #[serde(default)]
    pub config: Vec<ConfigDecl>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ConfigDecl {
    /// The file in the project, shipped as `<config_dir>/<name>.sample`.
    pub source: String,
    /// The live file's name in `<config_dir>` (default: `source`'s file name).
    pub name: Option<String>,
    /// Octal mode of the sample and the live copy (default `0640`, owner
    /// root, group the service's group, so the service can read it).
    pub mode: Option<String>,
}

/// `[package.metadata.bsdx.package]`: package fields Cargo.toml has no key
/// for, extra files and run-time dependencies.
///
/// ```toml
/// [package.metadata.bsdx.package]
/// assets = [
///   ["README.md", "/usr/local/share/doc/mytool/", "644"],        # [source, dest, mode]
///   { source = "data/db.bin", dest = "/usr/local/share/mytool/db.bin", mode = "640", group = "www" },
/// ]
/// deps = { ca_root_nss = { origin = "security/ca_root_nss", version = "3.108" } }
/// ```
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct PackageDecl {
    pub origin: Option<String>,
    pub comment: Option<String>,
    pub maintainer: Option<String>,
    pub www: Option<String>,
    /// Checked by [`resolve_assets`] (its messages name the entry).
    pub assets: Option<toml::Value>,
    /// Checked by [`resolve_deps`].
    pub deps: Option<toml::Value>,
}

/// An extra file the package installs (`assets`).
#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq, Eq)]
pub struct Asset {
    /// The file in the project (relative to its root).
    pub source: String,
    /// Where it is installed (absolute).
    pub dest: String,
    pub mode: u32,
    pub user: String,
    pub group: String,
}

/// A run-time dependency on another FreeBSD package (`deps`), written
/// into the manifest's `deps` as pkg reads it (`pkg_set_deps_from_object`
/// in `libpkg/pkg_manifest.c`: name → `{origin, version}`).
#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq, Eq)]
pub struct DepDecl {
    /// The port, `category/name` (e.g. `security/ca_root_nss`).
    pub origin: String,
    /// The version it was built against (pkg records it; `pkg install`
    /// resolves the dependency by name).
    pub version: String,
}

/// The Cargo facts a package needs (from `[package]`).
#[derive(Debug, Clone, Default)]
pub struct Crate {
    pub name: String,
    pub version: String,
    pub description: Option<String>,
    pub homepage: Option<String>,
    pub repository: Option<String>,
    pub authors: Vec<String>,
    /// `[[bin]]` names (the crate name when there is none).
    pub bins: Vec<String>,
}

/// A config file the package ships as `<path>.sample`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ConfigFile {
    /// The file in the project (relative to its root).
    pub source: String,
    /// The live file, e.g. `/usr/local/etc/mybot/config.json`.
    pub path: String,
    pub mode: u32,
}

/// A fully resolved service: every path absolute, every name checked.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Service {
    /// rc.d name: PROVIDE, `$name`, the script's file name, `<name>_enable`.
    pub name: String,
    pub description: String,
    /// The executable, installed as `/usr/local/bin/<binary>`.
    pub binary: String,
    pub user: String,
    pub group: String,
    /// The package creates the user (and the group) when missing.
    pub create_user: bool,
    pub args: Vec<String>,
    pub env: BTreeMap<String, String>,
    pub env_file: String,
    pub restart_delay: u32,
    pub log_file: String,
    pub data_dir: String,
    pub config_dir: String,
    pub require: Vec<String>,
    pub config: Vec<ConfigFile>,
}

/// The package fields, resolved.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PackageInfo {
    pub name: String,
    /// pkg's form of the Cargo version (`-` → `.`, no `+build`).
    pub version: String,
    pub origin: String,
    pub comment: String,
    pub desc: String,
    pub maintainer: String,
    pub www: String,
}

/// What is wrong with a declaration, and what to write instead.
#[derive(Debug, thiserror::Error)]
pub enum DeclError {
    #[error("no service declared in {manifest}\n  fix: add to it, for example:\n\n[package.metadata.bsdx.service]\nargs = []          # the binary's arguments; {{config_dir}}, {{data_dir}}, {{name}} are filled in\n\n  (every other key has a default; see the README, \"Deploying to FreeBSD\")")]
    NoService { manifest: String },
    #[error("[package.metadata.bsdx.service] in {manifest}: {message}\n  fix: correct it as said; the README's \"Deploying to FreeBSD\" lists every key and its default")]
    Invalid { manifest: String, message: String },
    #[error("[package.metadata.bsdx.package] in {manifest}: `{key}`: {message}\n  fix: {fix}")]
    InvalidPackage {
        manifest: String,
        key: String,
        message: String,
        fix: String,
    },
}

/// FreeBSD's own accounts (etc/master.passwd) and their primary groups: a
/// service running as one of these never creates it.
pub const BASE_ACCOUNTS: &[(&str, &str)] = &[
    ("root", "wheel"),
    ("toor", "wheel"),
    ("daemon", "daemon"),
    ("operator", "operator"),
    ("bin", "bin"),
    ("tty", "tty"),
    ("kmem", "kmem"),
    ("games", "games"),
    ("news", "news"),
    ("man", "man"),
    ("sshd", "sshd"),
    ("smmsp", "smmsp"),
    ("mailnull", "mailnull"),
    ("bind", "bind"),
    ("unbound", "unbound"),
    ("proxy", "proxy"),
    ("_pflogd", "_pflogd"),
    ("_dhcp", "_dhcp"),
    ("uucp", "uucp"),
    ("pop", "mail"),
    ("auditdistd", "audit"),
    ("www", "www"),
    ("ntpd", "ntpd"),
    ("_ypldap", "_ypldap"),
    ("hast", "hast"),
    ("tests", "tests"),
    ("nobody", "nobody"),
];

/// A name rc.subr can build variables from (`<name>_enable`): a letter or
/// `_` first, then letters, digits, `_`; at most 31 characters (it is also
/// the default user name, which a ustar header holds in 31 bytes).
pub fn check_name(kind: &str, s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Err(format!("the {kind} is empty"));
    }
    if s.contains('/') || s.contains("..") {
        return Err(format!(
            "the {kind} `{s}` is a path; it must be a plain name (the rc.d script is /usr/local/etc/rc.d/<name>)"
        ));
    }
    if s.contains('-') {
        return Err(format!(
            "the {kind} `{s}` contains `-`: rc.subr builds shell variables from it (`{}_enable`), which cannot contain `-`; use `{}`",
            s,
            s.replace('-', "_")
        ));
    }
    if s.len() > 31 {
        return Err(format!("the {kind} `{s}` is longer than 31 characters"));
    }
    if !s.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        || !s
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        return Err(format!(
            "the {kind} `{s}` must be lowercase ASCII letters, digits and `_`, starting with a letter or `_`"
        ));
    }
    Ok(())
}

/// Characters allowed in paths and arguments written into the rc.d script
/// unquoted (rc.subr `eval`s `command_args`).
fn plain_word(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_./:=,@%+-".contains(c))
}

fn absolute_path(what: &str, s: &str) -> Result<(), String> {
    if !s.starts_with('/') || s.contains("..") || s.ends_with('/') || !plain_word(s) {
        return Err(format!(
            "{what} `{s}` must be an absolute path of letters, digits and `_./:=,@%+-`, without `..` or a trailing `/`"
        ));
    }
    Ok(())
}

/// pkg's version for a Cargo version: pkg splits `name-version` at the
/// last `-`, so a pre-release `1.0.0-rc.1` becomes `1.0.0.rc.1`; build
/// metadata (`+…`) is dropped.
pub fn pkg_version(cargo: &str) -> String {
    cargo.split('+').next().unwrap_or(cargo).replace('-', ".")
}

impl Service {
    /// Resolve a declaration against the crate it belongs to.
    pub fn resolve(
        krate: &Crate,
        decl: &ServiceDecl,
        manifest: &str,
    ) -> Result<Service, DeclError> {
        let bad = |message: String| DeclError::Invalid {
            manifest: manifest.to_string(),
            message,
        };
        let name = decl
            .name
            .clone()
            .unwrap_or_else(|| krate.name.replace('-', "_"));
        check_name("service name", &name).map_err(bad)?;
        let binary = match &decl.binary {
            Some(b) => b.clone(),
            None if krate.bins.contains(&krate.name) || krate.bins.is_empty() => krate.name.clone(),
            None if krate.bins.len() == 1 => krate.bins[0].clone(),
            None => {
                return Err(bad(format!(
                "the crate has several binaries ({}); say which one is the service: binary = \"…\"",
                krate.bins.join(", ")
            )))
            }
        };
        if !plain_word(&binary) || binary.contains('/') {
            return Err(bad(format!("binary `{binary}` must be a file name")));
        }
        let user = decl.user.clone().unwrap_or_else(|| name.clone());
        let base_group = BASE_ACCOUNTS
            .iter()
            .find(|(u, _)| *u == user)
            .map(|(_, g)| g.to_string());
        if decl.user.is_some() && user != name {
            check_name("user", &user).map_err(bad)?;
        }
        let group = decl
            .group
            .clone()
            .or_else(|| base_group.clone())
            .unwrap_or_else(|| user.clone());
        check_name("group", &group).map_err(bad)?;
        let create_user = decl.create_user.unwrap_or(base_group.is_none());
        if create_user && base_group.is_some() {
            return Err(bad(format!(
                "`{user}` is a FreeBSD base account; the package cannot create it (remove create-user)"
            )));
        }
        let config_dir = format!("{PREFIX}/etc/{name}");
        let fill = |s: &str, data_dir: &str, log: &str| {
            s.replace("{name}", &name)
                .replace("{config_dir}", &config_dir)
                .replace("{data_dir}", data_dir)
                .replace("{log_file}", log)
                .replace("{prefix}", PREFIX)
        };
        let data_dir = fill(decl.data_dir.as_deref().unwrap_or("/var/db/{name}"), "", "");
        absolute_path("data-dir", &data_dir).map_err(bad)?;
        let log_file = fill(
            decl.log_file.as_deref().unwrap_or("/var/log/{name}.log"),
            &data_dir,
            "",
        );
        absolute_path("log-file", &log_file).map_err(bad)?;
        let env_file = fill(
            decl.env_file
                .as_deref()
                .unwrap_or("{config_dir}/{name}.env"),
            &data_dir,
            &log_file,
        );
        absolute_path("env-file", &env_file).map_err(bad)?;
        let mut args = Vec::new();
        for a in &decl.args {
            let v = fill(a, &data_dir, &log_file);
            if !plain_word(&v) {
                return Err(bad(format!(
                    "argument `{a}` must be one word of letters, digits and `_./:=,@%+-` (rc.subr evaluates command_args as shell)"
                )));
            }
            args.push(v);
        }
        let mut env = BTreeMap::new();
        for (k, v) in &decl.env {
            if !k.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                || !k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            {
                return Err(bad(format!(
                    "environment variable name `{k}` is not a shell name"
                )));
            }
            let v = fill(v, &data_dir, &log_file);
            if !v
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_./:=,@%+-".contains(c))
            {
                return Err(bad(format!(
                    "the value of {k} (`{v}`) must be letters, digits and `_./:=,@%+-`; put other values in the env file ({env_file})"
                )));
            }
            env.insert(k.clone(), v);
        }
        let mut require: Vec<String> = decl
            .require
            .clone()
            .unwrap_or_else(|| vec!["NETWORKING".into()]);
        for r in &require {
            if r.is_empty() || !r.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(bad(format!("require `{r}` is not an rc.d name")));
            }
        }
        if user != "root" && !require.iter().any(|r| r == "LOGIN") {
            // Mandatory for services that run as a non-root user (Porter's Handbook).
            require.insert(0, "LOGIN".into());
        }
        let mut config = Vec::new();
        for c in &decl.config {
            if c.source.starts_with('/') || c.source.contains("..") || c.source.is_empty() {
                return Err(bad(format!(
                    "config source `{}` must be a path inside the project",
                    c.source
                )));
            }
            let file = c
                .name
                .clone()
                .unwrap_or_else(|| c.source.rsplit('/').next().unwrap_or(&c.source).to_string());
            if file.contains('/') || file.ends_with(".sample") || !plain_word(&file) {
                return Err(bad(format!(
                    "config name `{file}` must be a plain file name (it is installed as {config_dir}/{file}.sample and copied to {config_dir}/{file})"
                )));
            }
            let mode = match &c.mode {
                None => 0o640,
                Some(m) => u32::from_str_radix(m.trim_start_matches("0o"), 8)
                    .ok()
                    .filter(|m| *m <= 0o777)
                    .ok_or_else(|| {
                        bad(format!(
                            "mode `{m}` of {file} is not an octal mode like \"0640\""
                        ))
                    })?,
            };
            config.push(ConfigFile {
                source: c.source.clone(),
                path: format!("{config_dir}/{file}"),
                mode,
            });
        }
        // The crate's description is made safe for a double-quoted shell
        // string; a declared one must already be.
        let description = decl.description.clone().unwrap_or_else(|| {
            krate
                .description
                .as_deref()
                .map(|d| {
                    d.replace(['"', '`', '$', '\\'], "")
                        .split_whitespace()
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .filter(|d| !d.is_empty())
                .unwrap_or_else(|| format!("{} service", krate.name))
        });
        if description.contains(['"', '`', '$', '\\', '\n']) {
            return Err(bad(
                "the description (or the crate's) must not contain `\"`, `` ` ``, `$`, `\\` or a newline: it is written into the rc.d script".into(),
            ));
        }
        Ok(Service {
            name,
            description,
            binary,
            user,
            group,
            create_user,
            args,
            env,
            env_file,
            restart_delay: decl.restart_delay.unwrap_or(10).max(1),
            log_file,
            data_dir,
            config_dir,
            require,
            config,
        })
    }

    /// `/usr/local/bin/<binary>`.
    pub fn binary_path(&self) -> String {
        format!("{PREFIX}/bin/{}", self.binary)
    }

    /// `/usr/local/etc/rc.d/<name>`.
    pub fn rc_path(&self) -> String {
        format!("{PREFIX}/etc/rc.d/{}", self.name)
    }

    /// `/usr/local/etc/newsyslog.conf.d/<name>.conf`.
    pub fn newsyslog_path(&self) -> String {
        format!("{PREFIX}/etc/newsyslog.conf.d/{}.conf", self.name)
    }

    /// The supervisor's pid file, in a directory the service user owns.
    pub fn pidfile(&self) -> String {
        format!("/var/run/{0}/{0}.pid", self.name)
    }

    pub fn runs_as_root(&self) -> bool {
        self.user == "root"
    }
}

/// The `assets` fix, shown with every refusal.
const ASSETS_FIX: &str = "write each entry as [\"SOURCE\", \"/ABSOLUTE/DEST\", \"MODE\"] (a file of the project, where it installs — a dest ending in `/` is a directory the file keeps its name in — and an octal mode such as \"644\"), or as { source = \"…\", dest = \"…\", mode = \"644\", user = \"root\", group = \"wheel\" }";

/// The `deps` fix, shown with every refusal.
const DEPS_FIX: &str = "write deps = { NAME = { origin = \"CATEGORY/PORT\", version = \"VERSION\" } }, e.g. deps = { ca_root_nss = { origin = \"security/ca_root_nss\", version = \"3.108\" } } (`pkg info ca_root_nss` on a FreeBSD host shows both)";

/// Check `assets` (see [`PackageDecl`]): relative sources without `..`,
/// absolute destinations without `..`, each once, octal modes, plain
/// owner names (default `root:wheel`, as ports install files).
pub fn resolve_assets(v: Option<&toml::Value>, manifest: &str) -> Result<Vec<Asset>, DeclError> {
    let bad = |key: String, message: String| DeclError::InvalidPackage {
        manifest: manifest.to_string(),
        key,
        message,
        fix: ASSETS_FIX.to_string(),
    };
    let Some(v) = v else { return Ok(vec![]) };
    let Some(items) = v.as_array() else {
        return Err(bad(
            "assets".into(),
            format!("is a {}, not an array of entries", v.type_str()),
        ));
    };
    let mut out: Vec<Asset> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let key = format!("assets[{i}]");
        let text = |x: Option<&toml::Value>, what: &str| -> Result<Option<String>, DeclError> {
            match x {
                None => Ok(None),
                Some(toml::Value::String(s)) => Ok(Some(s.clone())),
                Some(o) => Err(bad(
                    key.clone(),
                    format!("its {what} is a {}, not a string", o.type_str()),
                )),
            }
        };
        let (source, dest, mode, user, group) = match item {
            toml::Value::Array(a) => {
                if a.len() != 3 {
                    return Err(bad(
                        key,
                        format!("has {} elements; an entry is [source, dest, mode]", a.len()),
                    ));
                }
                (
                    text(a.first(), "source")?,
                    text(a.get(1), "dest")?,
                    text(a.get(2), "mode")?,
                    None,
                    None,
                )
            }
            toml::Value::Table(t) => {
                if let Some(k) = t
                    .keys()
                    .find(|k| !["source", "dest", "mode", "user", "group"].contains(&k.as_str()))
                {
                    return Err(bad(
                        key,
                        format!("unknown key `{k}` (an entry has source, dest, mode, user, group)"),
                    ));
                }
                (
                    text(t.get("source"), "source")?,
                    text(t.get("dest"), "dest")?,
                    text(t.get("mode"), "mode")?,
                    text(t.get("user"), "user")?,
                    text(t.get("group"), "group")?,
                )
            }
            other => {
                return Err(bad(
                    key,
                    format!("is a {}, not [source, dest, mode]", other.type_str()),
                ))
            }
        };
        let Some(source) = source.filter(|s| !s.is_empty()) else {
            return Err(bad(key, "has no source".into()));
        };
        let Some(dest) = dest.filter(|s| !s.is_empty()) else {
            return Err(bad(key, "has no dest".into()));
        };
        if source.starts_with('/') || source.split('/').any(|c| c == "..") {
            return Err(bad(
                key,
                format!("source `{source}` must be a path inside the project, relative to its Cargo.toml, without `..`"),
            ));
        }
        let dest = if dest.ends_with('/') {
            let base = source.rsplit('/').next().unwrap_or(&source);
            format!("{dest}{base}")
        } else {
            dest
        };
        if !dest.starts_with('/')
            || dest
                .split('/')
                .skip(1)
                .any(|c| c.is_empty() || c == "." || c == "..")
            || dest.chars().any(|c| c.is_control())
        {
            return Err(bad(
                key,
                format!("dest `{dest}` must be an absolute path (such as /usr/local/share/NAME/FILE) without `..`, `.` or `//`"),
            ));
        }
        let mode_text = mode.unwrap_or_else(|| "644".into());
        let mode = match u32::from_str_radix(&mode_text, 8) {
            Ok(m) if !mode_text.is_empty() && mode_text.len() <= 5 && m <= 0o7777 => m,
            _ => {
                return Err(bad(
                    key,
                    format!(
                        "mode `{mode_text}` is not an octal file mode such as \"644\" or \"0755\""
                    ),
                ))
            }
        };
        let user = user.unwrap_or_else(|| "root".into());
        let group = group.unwrap_or_else(|| "wheel".into());
        for (kind, n) in [("user", &user), ("group", &group)] {
            check_name(kind, n).map_err(|m| bad(key.clone(), m))?;
        }
        if let Some(j) = out.iter().position(|a| a.dest == dest) {
            return Err(bad(
                key,
                format!("dest {dest} is also assets[{j}]'s: a package installs a path once"),
            ));
        }
        out.push(Asset {
            source,
            dest,
            mode,
            user,
            group,
        });
    }
    Ok(out)
}

/// A name pkg accepts for a package: letters, digits and `-_+.`, not
/// starting with `-`.
fn pkg_name(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with('-')
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_+.".contains(c))
}

/// Check `deps` (see [`PackageDecl`]).
pub fn resolve_deps(
    v: Option<&toml::Value>,
    manifest: &str,
) -> Result<BTreeMap<String, DepDecl>, DeclError> {
    let bad = |key: String, message: String| DeclError::InvalidPackage {
        manifest: manifest.to_string(),
        key,
        message,
        fix: DEPS_FIX.to_string(),
    };
    let Some(v) = v else {
        return Ok(BTreeMap::new());
    };
    let Some(t) = v.as_table() else {
        return Err(bad(
            "deps".into(),
            format!("is a {}, not a table of package names", v.type_str()),
        ));
    };
    let mut out = BTreeMap::new();
    for (name, d) in t {
        let key = format!("deps.{name}");
        if !pkg_name(name) {
            return Err(bad(
                key,
                format!("`{name}` is not a package name (letters, digits and `-_+.`)"),
            ));
        }
        let Some(d) = d.as_table() else {
            return Err(bad(
                key,
                format!("is a {}, not {{ origin = …, version = … }}", d.type_str()),
            ));
        };
        if let Some(k) = d.keys().find(|k| *k != "origin" && *k != "version") {
            return Err(bad(
                key,
                format!("unknown key `{k}` (a dependency has origin and version)"),
            ));
        }
        let field = |f: &str| d.get(f).and_then(|x| x.as_str()).map(str::to_string);
        let origin = field("origin").unwrap_or_default();
        let (cat, port) = origin.split_once('/').unwrap_or(("", ""));
        if !pkg_name(cat) || !pkg_name(port.split('@').next().unwrap_or("")) {
            return Err(bad(
                key,
                format!("origin `{origin}` is not a port's origin, CATEGORY/PORT (e.g. security/ca_root_nss)"),
            ));
        }
        let version = field("version").unwrap_or_default();
        if version.is_empty()
            || !version
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._,+-".contains(c))
        {
            return Err(bad(
                key,
                format!("version `{version}` is missing or not a pkg version (such as 3.108 or 1.2_1,1)"),
            ));
        }
        out.insert(name.clone(), DepDecl { origin, version });
    }
    Ok(out)
}

impl PackageInfo {
    /// The package's identity; `service` (when declared) gives the comment
    /// when neither the declaration nor the crate has one.
    pub fn resolve(krate: &Crate, decl: &PackageDecl, service: Option<&Service>) -> PackageInfo {
        let comment = decl
            .comment
            .clone()
            .or_else(|| krate.description.clone())
            .unwrap_or_else(|| match service {
                Some(s) => s.description.clone(),
                None => krate.name.clone(),
            });
        // pkg's comment is one line.
        let comment = comment.lines().next().unwrap_or("").trim().to_string();
        let maintainer = decl.maintainer.clone().unwrap_or_else(|| {
            krate
                .authors
                .iter()
                .find_map(|a| {
                    let (_, rest) = a.split_once('<')?;
                    Some(rest.trim_end_matches('>').trim().to_string())
                })
                .unwrap_or_else(|| "nobody@localhost".into())
        });
        let www = decl
            .www
            .clone()
            .or_else(|| krate.homepage.clone())
            .or_else(|| krate.repository.clone())
            .unwrap_or_else(|| "UNKNOWN".into());
        PackageInfo {
            name: krate.name.clone(),
            version: pkg_version(&krate.version),
            origin: decl
                .origin
                .clone()
                .unwrap_or_else(|| format!("local/{}", krate.name)),
            desc: krate.description.clone().unwrap_or_else(|| comment.clone()),
            comment,
            maintainer,
            www,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn krate(name: &str) -> Crate {
        Crate {
            name: name.into(),
            version: "0.1.0".into(),
            description: Some("A bot".into()),
            ..Crate::default()
        }
    }

    #[test]
    fn defaults_make_a_complete_service() {
        let s = Service::resolve(&krate("my-bot"), &ServiceDecl::default(), "Cargo.toml").unwrap();
        assert_eq!(s.name, "my_bot");
        assert_eq!(s.binary, "my-bot");
        assert_eq!((s.user.as_str(), s.group.as_str()), ("my_bot", "my_bot"));
        assert!(s.create_user);
        assert_eq!(s.data_dir, "/var/db/my_bot");
        assert_eq!(s.log_file, "/var/log/my_bot.log");
        assert_eq!(s.env_file, "/usr/local/etc/my_bot/my_bot.env");
        assert_eq!(s.require, ["LOGIN", "NETWORKING"]);
        assert_eq!(s.pidfile(), "/var/run/my_bot/my_bot.pid");
    }

    #[test]
    fn placeholders_and_base_accounts() {
        let decl = ServiceDecl {
            user: Some("www".into()),
            args: vec![
                "-d".into(),
                "{data_dir}/x.db".into(),
                "{config_dir}/c".into(),
            ],
            ..ServiceDecl::default()
        };
        let s = Service::resolve(&krate("web"), &decl, "Cargo.toml").unwrap();
        assert_eq!(s.args, ["-d", "/var/db/web/x.db", "/usr/local/etc/web/c"]);
        assert!(!s.create_user, "www exists on every FreeBSD");
        assert_eq!(s.group, "www");
    }

    #[test]
    fn bad_names_are_refused_with_the_fix() {
        for (name, needle) in [
            ("my-bot", "use `my_bot`"),
            ("../x", "is a path"),
            ("a/b", "is a path"),
            ("Bot", "lowercase"),
        ] {
            let decl = ServiceDecl {
                name: Some(name.into()),
                ..ServiceDecl::default()
            };
            let e = Service::resolve(&krate("x"), &decl, "Cargo.toml")
                .unwrap_err()
                .to_string();
            assert!(e.contains(needle), "{name}: {e}");
        }
        let decl = ServiceDecl {
            args: vec!["a b".into()],
            ..ServiceDecl::default()
        };
        assert!(Service::resolve(&krate("x"), &decl, "C").is_err());
    }

    #[test]
    fn versions_for_pkg() {
        assert_eq!(pkg_version("1.2.3"), "1.2.3");
        assert_eq!(pkg_version("1.0.0-rc.1+abc"), "1.0.0.rc.1");
    }

    fn toml_value(s: &str) -> toml::Value {
        s.parse::<toml::Table>().unwrap().remove("v").unwrap()
    }

    #[test]
    fn assets_in_both_shapes_with_defaults() {
        let v = toml_value(
            r#"v = [["README.md", "/usr/local/share/doc/t/", "644"], { source = "d/x.db", dest = "/usr/local/share/t/x.db", mode = "0640", group = "www" }, { source = "a", dest = "/usr/local/share/t/a" }]"#,
        );
        let a = resolve_assets(Some(&v), "Cargo.toml").unwrap();
        assert_eq!(a[0].dest, "/usr/local/share/doc/t/README.md");
        assert_eq!(
            (a[0].mode, a[0].user.as_str(), a[0].group.as_str()),
            (0o644, "root", "wheel")
        );
        assert_eq!((a[1].mode, a[1].group.as_str()), (0o640, "www"));
        assert_eq!(a[2].mode, 0o644);
        assert!(resolve_assets(None, "Cargo.toml").unwrap().is_empty());
    }

    #[test]
    fn bad_assets_and_deps_name_the_key_and_the_fix() {
        let cases = [
            (r#"v = "README.md""#, "`assets`: is a string"),
            (r#"v = [["a", "/x"]]"#, "`assets[0]`: has 2 elements"),
            (
                r#"v = [["a", "usr/local/x", "644"]]"#,
                "must be an absolute path",
            ),
            (
                r#"v = [["a", "/usr/local/../etc/x", "644"]]"#,
                "without `..`",
            ),
            (
                r#"v = [["../a", "/usr/local/x", "644"]]"#,
                "inside the project",
            ),
            (
                r#"v = [["a", "/usr/local/x", "9z"]]"#,
                "is not an octal file mode",
            ),
            (
                r#"v = [["a", "/usr/local/x", 644]]"#,
                "its mode is a integer",
            ),
            (
                r#"v = [{ source = "a", dest = "/x", owner = "me" }]"#,
                "unknown key `owner`",
            ),
            (
                r#"v = [["a", "/x", "644"], ["b", "/x", "644"]]"#,
                "`assets[1]`: dest /x is also assets[0]'s",
            ),
            (
                r#"v = [{ source = "a", dest = "/x", user = "My-User" }]"#,
                "user",
            ),
        ];
        for (t, needle) in cases {
            let e = resolve_assets(Some(&toml_value(t)), "Cargo.toml")
                .unwrap_err()
                .to_string();
            assert!(e.contains(needle), "{t}: {e}");
            assert!(
                e.starts_with("[package.metadata.bsdx.package] in Cargo.toml: `assets"),
                "{e}"
            );
            assert!(e.contains("\n  fix: write each entry as"), "{e}");
        }
        let ok = toml_value(
            r#"v = { ca_root_nss = { origin = "security/ca_root_nss", version = "3.108" }, "py311-x" = { origin = "devel/py-x@py311", version = "1.0_1,1" } }"#,
        );
        let d = resolve_deps(Some(&ok), "Cargo.toml").unwrap();
        assert_eq!(d["ca_root_nss"].origin, "security/ca_root_nss");
        assert_eq!(d["py311-x"].version, "1.0_1,1");
        let cases = [
            (r#"v = ["ca_root_nss"]"#, "`deps`: is a array"),
            (
                r#"v = { ca_root_nss = "security/ca_root_nss" }"#,
                "`deps.ca_root_nss`: is a string",
            ),
            (
                r#"v = { ca_root_nss = { version = "1" } }"#,
                "origin `` is not a port's origin",
            ),
            (
                r#"v = { ca_root_nss = { origin = "ca_root_nss", version = "1" } }"#,
                "CATEGORY/PORT",
            ),
            (
                r#"v = { ca_root_nss = { origin = "security/ca_root_nss" } }"#,
                "version `` is missing",
            ),
            (
                r#"v = { "a b" = { origin = "x/y", version = "1" } }"#,
                "is not a package name",
            ),
            (
                r#"v = { x = { origin = "x/y", version = "1", flavor = "z" } }"#,
                "unknown key `flavor`",
            ),
        ];
        for (t, needle) in cases {
            let e = resolve_deps(Some(&toml_value(t)), "Cargo.toml")
                .unwrap_err()
                .to_string();
            assert!(e.contains(needle), "{t}: {e}");
            assert!(e.contains("\n  fix: write deps = {"), "{e}");
        }
    }
}
