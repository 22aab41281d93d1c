//! `bsdx new`: create a project from a template embedded in the binary.
//!
//! A template is a complete Cargo project under `templates/<name>/` whose
//! name is spelled `bsdx-<name>-template` (and `bsdx_<name>_template`), so
//! it builds and tests in place; creating a project replaces those two
//! spellings in file contents and paths.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use include_dir::{include_dir, Dir, DirEntry};

use crate::cache;
use crate::error::Error;

static TEMPLATES: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/templates");

pub fn template_names() -> Vec<&'static str> {
    let mut names: Vec<&str> = TEMPLATES
        .dirs()
        .filter_map(|d| d.path().file_name()?.to_str())
        .collect();
    names.sort();
    names
}

fn template(name: &str) -> Result<&'static Dir<'static>, Error> {
    TEMPLATES
        .get_dir(name)
        .ok_or_else(|| Error::UnknownTemplate {
            given: name.to_string(),
            known: template_names().join(", "),
        })
}

const KEYWORDS: &[&str] = &[
    "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum", "extern",
    "false", "fn", "for", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub",
    "ref", "return", "self", "Self", "static", "struct", "super", "trait", "true", "type",
    "unsafe", "use", "where", "while", "abstract", "become", "box", "do", "final", "macro",
    "override", "priv", "typeof", "unsized", "virtual", "yield", "try", "gen",
];
const RESERVED: &[&str] = &[
    "std",
    "core",
    "alloc",
    "proc_macro",
    "proc-macro",
    "test",
    "build",
    "deps",
    "examples",
    "incremental",
];

/// Accept names cargo accepts as package names, and nothing that could
/// escape the destination when used as a path.
pub fn validate_name(name: &str) -> Result<(), Error> {
    let bad = |why| {
        Err(Error::BadProjectName {
            name: name.to_string(),
            why,
        })
    };
    if name.is_empty() {
        return bad("it is empty");
    }
    if name.contains('/') || name.contains('\\') || name.contains("..") {
        return bad("it contains a path separator or `..`");
    }
    if name.len() > 64 {
        return bad("it is longer than 64 characters");
    }
    if !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return bad("it must start with an ASCII letter");
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return bad("it contains a character other than ASCII letters, digits, `-` and `_`");
    }
    if KEYWORDS.contains(&name) || RESERVED.contains(&name) {
        return bad("it is a Rust keyword or a reserved crate name");
    }
    Ok(())
}

#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
pub struct Created {
    pub path: PathBuf,
    pub template: String,
    pub files: Vec<PathBuf>,
}

fn skip(path: &Path) -> bool {
    path.components().any(|c| c.as_os_str() == "target")
}

/// Create project `name` from `template_name` at `dest`, which must not
/// exist or be an empty directory. Writes to a temporary sibling first, so
/// nothing half-written is ever left at `dest`.
pub fn create(name: &str, template_name: &str, dest: &Path) -> Result<Created> {
    validate_name(name)?;
    let tpl = template(template_name)?;
    if dest.exists() {
        let empty = std::fs::read_dir(dest)
            .with_context(|| format!("{} exists and is not a readable directory\n  fix: choose another destination, or remove it yourself", dest.display()))?
            .next()
            .is_none();
        if !empty {
            return Err(Error::NotEmpty {
                path: dest.to_path_buf(),
            }
            .into());
        }
    }
    let kebab_from = format!("bsdx-{template_name}-template");
    let snake_from = kebab_from.replace('-', "_");
    let snake_to = name.replace('-', "_");
    let rename = |s: &str| s.replace(&kebab_from, name).replace(&snake_from, &snake_to);

    let staging = cache::staging_dir(dest)?;
    let mut files = Vec::new();
    let mut stack: Vec<&Dir> = vec![tpl];
    while let Some(dir) = stack.pop() {
        for entry in dir.entries() {
            let rel = entry
                .path()
                .strip_prefix(tpl.path())
                .expect("entries are under their template");
            if skip(rel) {
                continue;
            }
            match entry {
                DirEntry::Dir(d) => stack.push(d),
                DirEntry::File(f) => {
                    let out_rel = PathBuf::from(rename(&rel.to_string_lossy()));
                    let out = staging.path().join(&out_rel);
                    std::fs::create_dir_all(out.parent().expect("file has a parent"))?;
                    match f.contents_utf8() {
                        Some(text) => std::fs::write(&out, rename(text))?,
                        None => std::fs::write(&out, f.contents())?,
                    }
                    if out_rel.starts_with("rc.d") {
                        use std::os::unix::fs::PermissionsExt;
                        std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o755))?;
                    }
                    files.push(out_rel);
                }
            }
        }
    }
    // The rc.d script is generated output of the declared service (one
    // source): write it from the new project's Cargo.toml.
    if crate::project::declares_service(staging.path()) {
        let project = crate::project::load(staging.path())?;
        let rel = PathBuf::from("rc.d").join(&project.service.name);
        let out = staging.path().join(&rel);
        std::fs::create_dir_all(out.parent().expect("rc.d/"))?;
        std::fs::write(&out, crate::rcd::generate::script(&project.service))?;
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o755))?;
        if !files.contains(&rel) {
            files.push(rel);
        }
    }
    files.sort();
    if dest.exists() {
        std::fs::remove_dir(dest)
            .map_err(|e| {
                anyhow::anyhow!(
                    "cannot replace the empty directory {}: {e}\n  fix: remove it yourself, or choose another destination",
                    dest.display()
                )
            })?;
    }
    cache::publish(staging, dest)?;
    Ok(Created {
        path: dest.to_path_buf(),
        template: template_name.to_string(),
        files,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for ok in ["bot", "my-bot", "my_bot2", "A"] {
            validate_name(ok).unwrap();
        }
        for bad in [
            "",
            "../x",
            "a/b",
            "a\\b",
            "1bot",
            "-x",
            "fn",
            "test",
            "bot!",
            "caf\u{e9}",
            &"x".repeat(65),
        ] {
            assert!(validate_name(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn templates_are_embedded() {
        let names = template_names();
        assert!(names.contains(&"bot"), "{names:?}");
        assert!(names.contains(&"sysinfo"), "{names:?}");
        for n in names {
            let t = template(n).unwrap();
            assert!(
                t.get_file(format!("{n}/Cargo.toml")).is_some(),
                "{n} has no Cargo.toml"
            );
        }
    }
}
