//! The command line, defined with clap derive. Doc comments are the help.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Cross-compile Rust services for FreeBSD from Linux with Zig.
///
/// bsdx generates stub libraries or uses a real FreeBSD sysroot, computes the
/// environment that makes `cargo zigbuild --target x86_64-unknown-freebsd`
/// link, builds, and creates projects from templates.
#[derive(Debug, Parser)]
#[command(name = "bsdx", version, propagate_version = true, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the environment that makes plain `cargo zigbuild --target T` work.
    ///
    /// Use it as `eval "$(bsdx env)"`. `bsdx build` applies exactly this
    /// environment.
    Env(EnvArgs),
    /// Build the Cargo project in the current directory for FreeBSD.
    ///
    /// Runs `cargo zigbuild --release --target T` with the `bsdx env`
    /// environment, streams cargo's output to stderr, brands each binary
    /// (EI_OSABI FreeBSD), runs `bsdx check` on it against --release (failing
    /// on errors) and prints the path of each binary on stdout.
    Build(BuildArgs),
    /// Prove a project builds bit-for-bit reproducibly for FreeBSD.
    ///
    /// Copies the project into two directories with different paths, builds
    /// each with its own CARGO_TARGET_DIR exactly as `bsdx build` does, and
    /// compares every binary's SHA-256. Differences are explained per ELF
    /// section, byte range and embedded string. Exit 0 identical, 1 different.
    Repro(ReproArgs),
    /// Generate stub shared libraries for FreeBSD base libraries.
    ///
    /// Each stub has the real soname and exactly the real exported symbols
    /// (functions, data objects of their real size, version nodes), so links
    /// against it record the right DT_NEEDED and fail on symbols the real
    /// library lacks.
    Stubs(StubsArgs),
    /// Audit FreeBSD ELF files: will they run on the release?
    ///
    /// Checks machine and class, FreeBSD branding (EI_OSABI, the
    /// NT_FREEBSD_ABI_TAG note, the interpreter), every DT_NEEDED against the
    /// release's base, RPATH/RUNPATH build paths, and every undefined symbol
    /// and symbol version against the release's libraries; reports the oldest
    /// known release the file runs on. Directories are searched for ELF
    /// files. Exit status: 0 no errors, 1 errors (--strict: or warnings), 2
    /// unreadable input.
    Check(CheckArgs),
    /// Set EI_OSABI to FreeBSD in ELF files (as `brandelf -t FreeBSD`).
    ///
    /// `bsdx build` does this after every build; Nix builds call it in
    /// postInstall. Directories are searched for ELF files; files already
    /// branded are left untouched.
    Brand(BrandArgs),
    /// Create a new project from a template (default: a Discord bot).
    New(NewArgs),
    /// Check that every tool a FreeBSD cross build needs is installed.
    Doctor(DoctorArgs),
    /// Download, verify and extract FreeBSD base sysroots (no Nix needed).
    #[command(subcommand)]
    Sysroot(SysrootCommand),
    /// Maintain the FreeBSD ABI data files in stubs/abi/.
    #[command(subcommand)]
    Abi(AbiCommand),
}

#[derive(Debug, Clone, Args)]
pub struct TargetArgs {
    /// Rust target triple: x86_64-unknown-freebsd or aarch64-unknown-freebsd.
    #[arg(long, env = "BSDX_TARGET", default_value = crate::model::target::DEFAULT)]
    pub target: String,
    /// FreeBSD release the binary must run on.
    #[arg(long, env = "BSDX_RELEASE", default_value = "14.4")]
    pub release: String,
}

#[derive(Debug, Clone, Args)]
pub struct LibsArgs {
    /// Link against the real libraries of an extracted FreeBSD base
    /// (a directory with lib/ and usr/lib/ as in base.txz).
    #[arg(
        long,
        env = "BSDX_SYSROOT",
        conflicts_with = "stubs",
        value_name = "DIR"
    )]
    pub sysroot: Option<PathBuf>,
    /// Link against generated stub libraries (the default without --sysroot).
    #[arg(long)]
    pub stubs: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    Sh,
    Json,
}

#[derive(Debug, Args)]
pub struct EnvArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    #[command(flatten)]
    pub libs: LibsArgs,
    /// Output format: `sh` (export lines) or `json`.
    #[arg(long, value_enum, default_value = "sh")]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct BuildArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    #[command(flatten)]
    pub libs: LibsArgs,
    /// Print the result as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    /// Extra arguments for cargo (after `--`), e.g. `-- --bin mybot`.
    #[arg(last = true, value_name = "CARGO_ARGS")]
    pub cargo_args: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ReproArgs {
    /// The Cargo project (default: the current directory).
    #[arg(default_value = ".")]
    pub path: PathBuf,
    #[command(flatten)]
    pub target: TargetArgs,
    #[command(flatten)]
    pub libs: LibsArgs,
    /// Where the two copies and their target dirs live (default: a fresh
    /// temporary directory, removed afterwards). Reuse one to keep the
    /// dependency builds between runs.
    #[arg(long, value_name = "DIR")]
    pub work_dir: Option<PathBuf>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// Extra arguments for cargo (after `--`).
    #[arg(last = true, value_name = "CARGO_ARGS")]
    pub cargo_args: Vec<String>,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// ELF files or directories to check.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// FreeBSD release the files must run on.
    #[arg(long, env = "BSDX_RELEASE", default_value = "14.4")]
    pub release: String,
    /// Read the release's real libraries from an extracted base instead of
    /// bsdx's data (exact symbol checks).
    #[arg(long, env = "BSDX_SYSROOT", value_name = "DIR")]
    pub sysroot: Option<PathBuf>,
    /// Require this target's machine (default: any supported one).
    #[arg(long)]
    pub target: Option<String>,
    /// Print the report as JSON (schema in the README).
    #[arg(long)]
    pub json: bool,
    /// Fail on warnings too.
    #[arg(long)]
    pub strict: bool,
}

#[derive(Debug, Args)]
pub struct StubsArgs {
    /// FreeBSD release whose sonames and symbols the stubs carry.
    #[arg(long, env = "BSDX_RELEASE", default_value = "14.4")]
    pub release: String,
    /// FreeBSD architecture: amd64 or arm64 (aarch64).
    #[arg(long, default_value = "amd64")]
    pub arch: String,
    /// Directory to create (must not exist, or be empty).
    #[arg(long, value_name = "DIR", required_unless_present = "list")]
    pub out: Option<PathBuf>,
    /// Library to stub, by link name (`kvm`) or soname; repeatable.
    /// Default: the set bsdx uses for builds.
    #[arg(long = "lib", value_name = "NAME")]
    pub libs: Vec<String>,
    /// List the libraries bsdx has data for, instead of generating.
    #[arg(long)]
    pub list: bool,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct NewArgs {
    /// Project (crate) name: letters, digits, `-`, `_`; starts with a letter.
    pub name: String,
    /// Template to start from.
    #[arg(long, default_value = "bot")]
    pub template: String,
    /// Directory to create (default: ./NAME). Must not exist, or be empty.
    #[arg(long, value_name = "DIR")]
    pub path: Option<PathBuf>,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct DoctorArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Also check an extracted FreeBSD base.
    #[arg(long, env = "BSDX_SYSROOT", value_name = "DIR")]
    pub sysroot: Option<PathBuf>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum SysrootCommand {
    /// Download a release's base.txz, verify it and extract its libraries.
    ///
    /// Downloads the base.txz pinned in data/releases.json for --release and
    /// --arch (each URL in turn, 3 attempts for transient errors; a missing
    /// file moves to the next URL at once), verifies its SHA-256 while
    /// streaming and extracts the shared libraries into
    /// $BSDX_CACHE_DIR/sysroots/<release>-<arch>-<sha256 prefix>/. Prints that
    /// directory, ready for `bsdx env/build/check --sysroot`. A finished
    /// directory is reused without downloading. A file whose SHA-256 differs
    /// is deleted, nothing is cached and the other URLs are not tried.
    Fetch(FetchArgs),
    /// Extract the shared libraries of a base.txz you already have.
    ///
    /// Streams the archive and keeps the ELF shared libraries (lib*.so.N) of
    /// lib/ and usr/lib/ and the links among them, flattened into DIR/lib/
    /// with a lib<name>.so link for each, plus DIR/bsdx-sysroot.json. Linker
    /// scripts, static archives and everything else are left out. An
    /// archive with a member that could write outside DIR (a `..` or
    /// absolute path, a link leaving the archive, an absolute link among the
    /// libraries) or a device file is refused as a whole.
    Extract(ExtractArgs),
}

#[derive(Debug, Args)]
pub struct FetchArgs {
    /// FreeBSD release, one of those pinned in data/releases.json (e.g. 14.4).
    #[arg(long, env = "BSDX_RELEASE")]
    pub release: String,
    /// FreeBSD architecture: amd64 or arm64 (aarch64).
    #[arg(long, default_value = "amd64")]
    pub arch: String,
    /// Expect this SHA-256 instead of the pinned one: for testing, or for a
    /// release bsdx does not pin yet (take it from the release's MANIFEST).
    #[arg(long, value_name = "HEX")]
    pub sha256: Option<String>,
    /// Download from these mirrors instead of the pinned URLs: base URLs or
    /// file:// directories holding <machine>/<machine_arch>/<release>-RELEASE/base.txz,
    /// separated by spaces, tried in order.
    #[arg(long, env = "BSDX_MIRROR", value_name = "URLS")]
    pub mirror: Option<String>,
    /// Print {path, release, arch, sha256, url, cached} as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ExtractArgs {
    /// The base.txz to read.
    #[arg(value_name = "BASE_TXZ")]
    pub base_txz: PathBuf,
    /// Directory to create (must not exist, or be empty).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Release to record in the marker (default: the one whose pinned
    /// SHA-256 the file has, if any).
    #[arg(long)]
    pub release: Option<String>,
    /// Architecture to record in the marker (default: as for --release).
    #[arg(long)]
    pub arch: Option<String>,
    /// Print the marker (and the directory's path) as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum AbiCommand {
    /// Convert a readelf-derived base ABI dump (such as
    /// base-13.5-amd64-abi.json) into bsdx's data layout.
    Import(AbiImportArgs),
}

#[derive(Debug, Args)]
pub struct BrandArgs {
    /// ELF files or directories.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct AbiImportArgs {
    /// The dump to read (omit with --sysroot or --zig-abilists).
    #[arg(required_unless_present_any = ["sysroot", "zig_abilists"], conflicts_with_all = ["sysroot", "zig_abilists"])]
    pub dump: Option<PathBuf>,
    /// Read Zig's lib/libc/freebsd/abilists (FreeBSD 14.x libc family) for --arch.
    #[arg(long, value_name = "FILE", conflicts_with = "sysroot")]
    pub zig_abilists: Option<PathBuf>,
    /// Read the libraries of an extracted base instead (lib/, usr/lib/).
    #[arg(long, value_name = "DIR", requires = "release")]
    pub sysroot: Option<PathBuf>,
    /// The release the sysroot is (with --sysroot).
    #[arg(long)]
    pub release: Option<String>,
    /// The architecture the sysroot is (with --sysroot).
    #[arg(long, default_value = "amd64")]
    pub arch: String,
    /// The data file to write (e.g. stubs/abi/13.5-amd64.json).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Replace --out if it exists.
    #[arg(long)]
    pub force: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }
}
