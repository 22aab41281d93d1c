//! `meta.conf`: the repository's description, the first file a host fetches
//! (`libpkg/pkg_repo.c` `pkg_repo_fetch_meta`: `meta.conf`, falling back to
//! the legacy signed `meta.txz`). It is not signed; it names the catalog
//! files and their compression.
//!
//! Fields from `libpkg/pkg_repo_meta.c` (pkg master `13f9f98`): `version`
//! 2 (`DEFAULT_META_VERSION`; v1 prints "Meta v1 support will be removed"),
//! `packing_format` (one of `tzst, txz, tbz, tgz, tar`), `manifests` /
//! `manifests_archive` (`packagesite.yaml` in `packagesite.pkg`), `data` /
//! `data_archive` (`data` in `data.pkg`, pkg ≥ 1.21.0). The names are pkg's
//! defaults, so a pkg that ignores a field still finds the files. pkg
//! writes it with libucl's `UCL_EMIT_CONFIG` (`key = value;`), which is
//! what this writes.

/// The catalog archives' compression, as `meta.conf` names it.
pub const PACKING_FORMAT: &str = "tzst";

/// The uncompressed catalog file names and their archives' base names.
pub const MANIFESTS: &str = "packagesite.yaml";
pub const MANIFESTS_ARCHIVE: &str = "packagesite";
pub const DATA: &str = "data";
pub const DATA_ARCHIVE: &str = "data";

/// File names pkg treats as repository files, not packages
/// (`pkg_repo_meta_is_special_file`, plus `meta`): skipped when scanning.
pub const SPECIAL: &[&str] = &["packagesite", "data", "files", "digests", "meta"];

/// The text of `meta.conf`.
pub fn conf() -> String {
    format!(
        "version = 2;\npacking_format = \"{PACKING_FORMAT}\";\nmanifests = \"{MANIFESTS}\";\nmanifests_archive = \"{MANIFESTS_ARCHIVE}\";\ndata = \"{DATA}\";\ndata_archive = \"{DATA_ARCHIVE}\";\n"
    )
}
