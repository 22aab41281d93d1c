//! The project bsdx works on: a Cargo project (its `Cargo.toml`, with
//! `key.workspace = true` fields taken from the parent workspace) and the
//! service it declares in `[package.metadata.bsdx.service]` /
//! `[package.metadata.bsdx.package]`, resolved by [`crate::model::service`].
//! Read by `bsdx rcd`, `bsdx package`, `bsdx repro` and `bsdx new`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use std::collections::BTreeMap;

use crate::model::service::{
    resolve_assets, resolve_deps, Asset, Crate, DeclError, DepDecl, PackageDecl, PackageInfo,
    Service, ServiceDecl,
};

/// A Cargo project with a declared service.
#[derive(Debug, Clone)]
pub struct Project {
    pub dir: PathBuf,
    pub manifest: PathBuf,
    pub krate: Crate,
    pub service: Service,
    pub package: PackageInfo,
}

fn str_field(
    table: &toml::Table,
    key: &str,
    workspace: &dyn Fn(&str) -> Option<toml::Value>,
) -> Option<String> {
    match table.get(key)? {
        toml::Value::String(s) => Some(s.clone()),
        toml::Value::Table(t) if t.get("workspace").and_then(|w| w.as_bool()) == Some(true) => {
            workspace(key).and_then(|v| v.as_str().map(str::to_string))
        }
        _ => None,
    }
}

/// A Cargo project as `bsdx package` packages it: a service when it
/// declares one, else a tool (its binaries in `/usr/local/bin`), with the
/// extra files and run-time dependencies of `[package.metadata.bsdx.package]`.
#[derive(Debug, Clone)]
pub struct PackageProject {
    pub dir: PathBuf,
    pub manifest: PathBuf,
    pub krate: Crate,
    pub service: Option<Service>,
    pub package: PackageInfo,
    pub assets: Vec<Asset>,
    pub deps: BTreeMap<String, DepDecl>,
}

impl PackageProject {
    /// The binaries the package installs: the service's, else every
    /// `[[bin]]` of the crate (the crate's name when it lists none).
    pub fn binaries(&self) -> Vec<String> {
        match &self.service {
            Some(s) => vec![s.binary.clone()],
            None if self.krate.bins.is_empty() => vec![self.krate.name.clone()],
            None => self.krate.bins.clone(),
        }
    }
}

/// `[workspace.package]` of the nearest parent workspace, for
/// `key.workspace = true`.
fn workspace_package(dir: &Path) -> Option<toml::Table> {
    let mut cur = dir.parent();
    while let Some(d) = cur {
        if let Ok(text) = std::fs::read_to_string(d.join("Cargo.toml")) {
            if let Ok(t) = text.parse::<toml::Table>() {
                if let Some(ws) = t.get("workspace").and_then(|w| w.as_table()) {
                    return ws.get("package").and_then(|p| p.as_table()).cloned();
                }
            }
        }
        cur = d.parent();
    }
    None
}

/// Does the project at `dir` declare a service? (Cheap; errors count as no.)
pub fn declares_service(dir: &Path) -> bool {
    std::fs::read_to_string(dir.join("Cargo.toml"))
        .ok()
        .and_then(|t| t.parse::<toml::Table>().ok())
        .is_some_and(|t| {
            t.get("package")
                .and_then(|p| p.get("metadata"))
                .and_then(|m| m.get("bsdx"))
                .and_then(|b| b.get("service"))
                .is_some()
        })
}

/// Read the project at `dir` (its Cargo.toml) and resolve its service.
pub fn load(dir: &Path) -> Result<Project> {
    let p = load_package(dir)?;
    let Some(service) = p.service else {
        return Err(DeclError::NoService {
            manifest: p.manifest.display().to_string(),
        }
        .into());
    };
    Ok(Project {
        dir: p.dir,
        manifest: p.manifest,
        krate: p.krate,
        service,
        package: p.package,
    })
}

/// Read the project at `dir` for `bsdx package`: its service if it
/// declares one, its package declaration (assets, deps) checked.
pub fn load_package(dir: &Path) -> Result<PackageProject> {
    let manifest = dir.join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest).map_err(|e| {
        anyhow::anyhow!(
            "cannot read {}: {e}\n  fix: run this in a Cargo project (or pass its directory)",
            manifest.display()
        )
    })?;
    let shown = manifest.display().to_string();
    let doc: toml::Table = text.parse().map_err(|e: toml::de::Error| {
        anyhow::anyhow!(
            "{shown} is not valid TOML: {}\n  fix: correct it there (cargo reports the same error)",
            e.to_string().trim_end()
        )
    })?;
    let package = doc
        .get("package")
        .and_then(|p| p.as_table())
        .with_context(|| format!("{shown} has no [package] (a virtual workspace?)\n  fix: pass the directory of the service's crate"))?;
    let ws = workspace_package(dir);
    let from_ws = |k: &str| ws.as_ref().and_then(|w| w.get(k).cloned());
    let bins: Vec<String> = doc
        .get("bin")
        .and_then(|b| b.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|b| b.get("name").and_then(|n| n.as_str()).map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let name = str_field(package, "name", &from_ws).with_context(|| {
        format!("{shown}: [package] has no name\n  fix: add name = \"…\" to [package]")
    })?;
    let authors = match package.get("authors") {
        Some(toml::Value::Array(a)) => a
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        Some(toml::Value::Table(_)) => from_ws("authors")
            .and_then(|v| v.as_array().cloned())
            .unwrap_or_default()
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        _ => vec![],
    };
    let krate = Crate {
        version: str_field(package, "version", &from_ws).unwrap_or_else(|| "0.0.0".into()),
        description: str_field(package, "description", &from_ws),
        homepage: str_field(package, "homepage", &from_ws),
        repository: str_field(package, "repository", &from_ws),
        authors,
        bins,
        name,
    };
    let bsdx = package.get("metadata").and_then(|m| m.get("bsdx"));
    let invalid = |e: toml::de::Error, what: &str| DeclError::Invalid {
        manifest: shown.clone(),
        message: format!("{what}: {}", e.message()),
    };
    let decl: Option<ServiceDecl> = match bsdx.and_then(|b| b.get("service")) {
        None => None,
        Some(v) => Some(v.clone().try_into().map_err(|e| invalid(e, "service"))?),
    };
    let pdecl: PackageDecl = match bsdx.and_then(|b| b.get("package")) {
        None => PackageDecl::default(),
        Some(v) => v
            .clone()
            .try_into()
            .map_err(|e: toml::de::Error| DeclError::InvalidPackage {
                manifest: shown.clone(),
                key: e
                    .message()
                    .split('`')
                    .nth(1)
                    .unwrap_or("package")
                    .to_string(),
                message: e.message().to_string(),
                fix: "use the keys origin, comment, maintainer, www, assets, deps (the README's \"Deploying to FreeBSD: bsdx package\" shows each)".into(),
            })?,
    };
    let service = match &decl {
        Some(d) => Some(Service::resolve(&krate, d, &shown)?),
        None => None,
    };
    for c in service.iter().flat_map(|s| &s.config) {
        anyhow::ensure!(
            dir.join(&c.source).is_file(),
            "{shown}: config source {} does not exist in {}\n  fix: create it, or correct `source`",
            c.source,
            dir.display()
        );
    }
    let assets = resolve_assets(pdecl.assets.as_ref(), &shown)?;
    let deps = resolve_deps(pdecl.deps.as_ref(), &shown)?;
    let info = PackageInfo::resolve(&krate, &pdecl, service.as_ref());
    Ok(PackageProject {
        dir: dir.to_path_buf(),
        manifest,
        krate,
        service,
        package: info,
        assets,
        deps,
    })
}
