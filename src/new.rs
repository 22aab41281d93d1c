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
    /// `inputs.bsdx.url` written into the project's flake.nix: the URL given
    /// with `--flake`, or [`FLAKE_URL_PLACEHOLDER`] (null: the template has
    /// no flake.nix).
    pub flake_url: Option<String>,
    /// Whether flake.nix still holds the placeholder, at which every nix
    /// command stops until it is edited.
    pub flake_url_is_placeholder: bool,
}

/// What a template's flake.nix says in `inputs.bsdx.url` until it is set:
/// `nix flake init -t URL#bot` copies the file as it is, and the first nix
/// command then fails on this path, which names what to edit. `bsdx new
/// --flake URL` writes URL instead. The template's README and the flake's
/// welcomeText quote it (tests/new.rs checks they agree).
pub const FLAKE_URL_PLACEHOLDER: &str =
    "path:/bsdx-flake-url-not-set/edit-inputs.bsdx.url-in-flake.nix";

/// A flake URL that can stand inside a Nix string as it is.
fn validate_flake_url(url: &str) -> Result<(), Error> {
    let why = if url.trim().is_empty() {
        Some("it is empty")
    } else if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        Some("it contains whitespace")
    } else if url.contains(['"', '\\']) || url.contains("${") {
        Some("it contains `\"`, `\\` or `${`, which a Nix string would not keep as written")
    } else if !url.contains(':') {
        Some("it has no scheme (path:, github:, git+https:, ...)")
    } else {
        None
    };
    match why {
        Some(why) => Err(Error::BadFlakeUrl {
            url: url.to_string(),
            why,
        }),
        None => Ok(()),
    }
}

fn skip(path: &Path) -> bool {
    path.components().any(|c| c.as_os_str() == "target")
}

/// Create project `name` from `template_name` at `dest`, which must not
/// exist or be an empty directory. Writes to a temporary sibling first, so
/// nothing half-written is ever left at `dest`.
///
/// `flake`: the bsdx flake URL to write into the template's flake.nix
/// (`inputs.bsdx.url`); without it the placeholder stays.
pub fn create(
    name: &str,
    template_name: &str,
    dest: &Path,
    flake: Option<&str>,
) -> Result<Created> {
    validate_name(name)?;
    let tpl = template(template_name)?;
    let has_flake = tpl.get_file(format!("{template_name}/flake.nix")).is_some();
    if let Some(url) = flake {
        validate_flake_url(url)?;
        if !has_flake {
            return Err(Error::NoFlakeInTemplate {
                template: template_name.to_string(),
                with_flake: TEMPLATES
                    .dirs()
                    .filter(|d| d.get_file(d.path().join("flake.nix")).is_some())
                    .filter_map(|d| d.path().file_name()?.to_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            }
            .into());
        }
    }
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
                        Some(text) if out_rel == Path::new("flake.nix") => {
                            let text = rename(text);
                            let text = match flake {
                                Some(url) => text.replace(FLAKE_URL_PLACEHOLDER, url),
                                None => text,
                            };
                            std::fs::write(&out, text)?
                        }
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
        flake_url: has_flake.then(|| flake.unwrap_or(FLAKE_URL_PLACEHOLDER).to_string()),
        flake_url_is_placeholder: has_flake && flake.is_none(),
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
    fn flake_urls() {
        for ok in [
            "path:/home/me/src/bsdx",
            "github:me/bsdx",
            "git+https://example.org/me/bsdx?ref=v1",
        ] {
            validate_flake_url(ok).unwrap();
        }
        for bad in [
            "",
            "  ",
            "/home/me/bsdx",
            "path:/a b",
            "path:/a\"b",
            "path:/a\\b",
            "path:/${x}",
        ] {
            assert!(validate_flake_url(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn every_template_flake_names_the_placeholder_once() {
        for n in template_names() {
            if let Some(f) = template(n).unwrap().get_file(format!("{n}/flake.nix")) {
                let text = f.contents_utf8().unwrap();
                assert_eq!(
                    text.matches(&format!("inputs.bsdx.url = \"{FLAKE_URL_PLACEHOLDER}\";"))
                        .count(),
                    1,
                    "{n}/flake.nix"
                );
            }
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
