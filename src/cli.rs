//! The command line, defined with clap derive. Doc comments are the help.
//!
//! One grammar for every subcommand: `--target` (alias `--arch`,
//! `BSDX_TARGET`) chooses the machine (a Rust triple or its FreeBSD name),
//! `--release` the FreeBSD release (`BSDX_RELEASE`; default and known values
//! from `data/releases.json`, checked by one of two typed parsers that name
//! them), `--sysroot DIR | --stubs` the libraries, a Cargo project is the
//! optional `[PATH]` (default: the current directory), `--out` is always a
//! directory, and `--json` the machine-readable output. Exit codes:
//! [`crate::exit`].

use std::path::PathBuf;

use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::env::Libs;
use crate::model::release::{catalog, default_release, release_names, Release};
use crate::model::target::{self, Target};

/// Cross-compile Rust services for FreeBSD from Linux with Zig.
///
/// bsdx generates stub libraries or uses a real FreeBSD sysroot, computes the
/// environment that makes `cargo zigbuild --target x86_64-unknown-freebsd`
/// link, builds, and creates projects from templates.
#[derive(Debug, Parser)]
#[command(
    name = "bsdx",
    version,
    propagate_version = true,
    max_term_width = 100,
    after_help = "Exit status: 0 success; 1 failure (errors found, builds differ); 2 usage error; \
                  3 an input could not be read (`check`, `rcd lint`, `package --inspect`); 4 \
                  `build`/`repro`/`package`: the binary is rejected by `bsdx check`; cargo's own code \
                  when cargo fails; `run`: the program's own status, 124 on --timeout, 125 when the VM \
                  could not run it."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// The command line of this process. `bsdx check` is what scripts run
    /// once per file, where starting bsdx is most of the time: it is parsed
    /// against its own arguments only, without building clap's tree of every
    /// subcommand (about a quarter of the instructions of a whole check run,
    /// `benches/check.sh`). Whatever that parse does not accept as a check —
    /// `--help`, a usage error — goes to the whole parser, so its output and
    /// exit status are exactly those of [`Parser::parse`].
    pub fn from_env() -> Cli {
        let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
        Cli::check_only(&args).unwrap_or_else(|| Cli::parse_from(args))
    }

    /// `bsdx check …` parsed by the check's own arguments, or `None`.
    fn check_only(args: &[std::ffi::OsString]) -> Option<Cli> {
        use clap::FromArgMatches as _;
        if args.get(1).is_none_or(|a| a != "check") {
            return None;
        }
        let m = CheckArgs::augment_args(clap::Command::new("check"))
            .try_get_matches_from(&args[1..])
            .ok()?;
        Some(Cli {
            command: Command::Check(CheckArgs::from_arg_matches(&m).ok()?),
        })
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the environment that makes plain `cargo zigbuild --target T` work.
    ///
    /// Use it as `eval "$(bsdx env)"`. `bsdx build` applies exactly this
    /// environment.
    Env(EnvArgs),
    /// Build a Cargo project (default: the current directory) for FreeBSD.
    ///
    /// Runs `cargo zigbuild --release --target T` with the `bsdx env`
    /// environment, streams cargo's output to stderr, brands each binary
    /// (EI_OSABI FreeBSD), runs `bsdx check` on it against --release and
    /// prints the path of each binary on stdout. Exit status: 0 built and
    /// checked; cargo's own code when cargo fails (101 for compile errors); 4
    /// when `bsdx check` rejects the output.
    Build(BuildArgs),
    /// Prove a project builds bit-for-bit reproducibly for FreeBSD.
    ///
    /// Copies the project into two directories with different paths, builds
    /// each with its own CARGO_TARGET_DIR exactly as `bsdx build` does, and
    /// compares every binary's SHA-256. Differences are explained per ELF
    /// section, byte range and embedded string. Each build is exactly `bsdx
    /// build` (branded, checked). Exit 0 identical, 1 different; as `bsdx
    /// build` when a build fails (cargo's code) or is rejected (4).
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
    /// files. Exit status: 0 no errors, 1 errors (--strict: or warnings), 3
    /// an input could not be read (2 is a usage error).
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
    /// Print the JSON Schema of a command's `--json` output.
    Schema(SchemaArgs),
    /// Maintain the FreeBSD ABI data files in stubs/abi/ (maintainers).
    #[command(subcommand, hide = true)]
    Abi(AbiCommand),
    /// Build and write NAME-VERSION.pkg, a FreeBSD package of the project.
    ///
    /// Builds as `bsdx build` (branded, checked), then writes what `pkg create`
    /// would: a pax tar (zstd, or xz with --xz) with +COMPACT_MANIFEST,
    /// +MANIFEST (per-file owner, group and mode; shlibs_required), the
    /// binaries (/usr/local/bin) and declared assets and deps
    /// ([package.metadata.bsdx.package]); for a service declared in
    /// [package.metadata.bsdx.service] also the generated rc.d script and
    /// newsyslog drop-in, config files as *.sample, owned directories, and a
    /// pre-install script creating the user. Bit-reproducible
    /// (SOURCE_DATE_EPOCH sets the mtimes). Exit status as `bsdx build`; 4 when
    /// `bsdx check` rejects the binary (nothing is written). With --inspect,
    /// reads a package back instead: 0 clean, 1 problems, 3 unreadable.
    Package(PackageArgs),
    /// Print the rc.d script generated from the declared service; lint scripts.
    ///
    /// `bsdx rcd` prints the script of [package.metadata.bsdx.service] (with
    /// --out DIR, writes DIR/rc.d/NAME and DIR/newsyslog.conf.d/NAME.conf).
    /// `bsdx rcd lint FILE…` checks any rc.d script against rc.subr and
    /// daemon(8).
    Rcd(RcdArgs),
    /// Run a FreeBSD program in a FreeBSD VM (QEMU), unattended.
    ///
    /// Boots the real kernel and base of --release (kernel.txz and base.txz,
    /// fetched once and verified, or --kernel-txz/--base-txz), runs BINARY
    /// with ARGS as an unprivileged user (--root: as root) in the program's
    /// own directory /mnt, streams its stdout and stderr, powers the VM off
    /// and exits with the program's exit status (128+N for signal N). A
    /// program the loader refuses is shown with the `bsdx check` finding that
    /// predicts it. Exit status: the program's; 124 --timeout passed; 125
    /// the VM could not run it (QEMU missing or failing, a kernel panic, a
    /// boot that stopped, no exit status); 1 or 2 for bsdx's own errors.
    Run(RunArgs),
    /// Run a crate's tests on FreeBSD: `cargo zigbuild test` with each test
    /// binary run through `bsdx run`.
    ///
    /// Builds with the `bsdx env` environment plus CARGO_TARGET_<T>_RUNNER
    /// (what `bsdx env --runner` prints), so cargo boots one FreeBSD VM per
    /// test binary, with the package directory copied to /mnt, and reports
    /// the tests' pass/fail as cargo does. The VM options are passed to each
    /// `bsdx run` through their BSDX_* variables. Exit status: cargo's.
    Test(TestArgs),
    /// Make DIR a pkg(8) repository: the signed catalog FreeBSD hosts fetch.
    ///
    /// Reads the .pkg files in DIR and DIR/All/ and writes beside them what
    /// `pkg repo` writes: meta.conf, data.pkg and packagesite.pkg (the
    /// catalog: each package's manifest, path, size and SHA-256), signed
    /// with --key (an RSA private key, PEM) as pkg checks `signature_type:
    /// "pubkey"`. The newest version of each name is listed. Reproducible
    /// (SOURCE_DATE_EPOCH sets the archive mtimes), atomic (files complete
    /// before they are renamed into place), incremental (sums of unchanged
    /// packages come from DIR/.bsdx-repo-cache.json). --print-conf URL
    /// prints the host's /usr/local/etc/pkg/repos/NAME.conf and public key;
    /// --verify reads a repository back. Exit status: 0; 1 failure or (with
    /// --verify) a problem found; 3 an input could not be read.
    Repo(RepoArgs),
}

/// `--target`: a Rust target triple or its FreeBSD machine name.
fn target_parser() -> impl TypedValueParser<Value = Target> {
    let values = target::TARGETS.iter().flat_map(|t| {
        [
            PossibleValue::new(t.triple),
            PossibleValue::new(t.machine).alias(t.machine_arch),
        ]
    });
    PossibleValuesParser::new(values).map(|s| Target::parse(&s).expect("a possible value"))
}

/// `--release`: one of the releases in data/releases.json.
fn release_parser() -> impl TypedValueParser<Value = &'static Release> {
    PossibleValuesParser::new(release_names()).map(|s| catalog().get(&s).expect("a possible value"))
}

/// `--release` where bsdx is given the release's files (`run` with
/// --kernel-txz/--base-txz, `sysroot fetch --sha256`, `sysroot extract`): a
/// known release, or any `X.Y` as a label. The error names the known ones.
fn release_label_parser() -> impl TypedValueParser<Value = String> {
    clap::builder::NonEmptyStringValueParser::new().try_map(|s: String| {
        let ok = s.split_once('.').is_some_and(|(a, b)| {
            [a, b]
                .iter()
                .all(|p| !p.is_empty() && p.len() <= 4 && p.bytes().all(|c| c.is_ascii_digit()))
        });
        if ok {
            Ok(s)
        } else {
            Err(format!(
                "`{s}` is not a FreeBSD release like 14.4; known releases: {}",
                release_names().join(", ")
            ))
        }
    })
}

#[derive(Debug, Clone, Args)]
pub struct TargetArgs {
    /// The machine to build for: a Rust target triple, or amd64/arm64.
    #[arg(long, env = "BSDX_TARGET", default_value = target::DEFAULT, value_parser = target_parser(), alias = "arch")]
    pub target: Target,
    /// FreeBSD release the binary must run on.
    #[arg(long, env = "BSDX_RELEASE", default_value = default_release(), value_parser = release_parser())]
    pub release: &'static Release,
}

#[derive(Debug, Clone, Args)]
pub struct LibsArgs {
    /// Use the real libraries of an extracted FreeBSD base (made by `bsdx
    /// sysroot`, or a directory with lib/ and usr/lib/ as in base.txz).
    /// Without --sysroot and --stubs, $BSDX_SYSROOT is used when set.
    #[arg(long, conflicts_with = "stubs", value_name = "DIR")]
    pub sysroot: Option<PathBuf>,
    /// Use bsdx's generated stub libraries and embedded symbol data, even
    /// when $BSDX_SYSROOT is set (the default without either).
    #[arg(long)]
    pub stubs: bool,
}

impl LibsArgs {
    /// The sysroot chosen (`--sysroot`, else `$BSDX_SYSROOT` unless
    /// `--stubs` was given), whatever release it is. Only `bsdx doctor`
    /// wants this: it reports a mismatch as a failed check instead of
    /// refusing. Every other command takes [`LibsArgs::libs`].
    pub fn sysroot_unchecked(&self) -> Option<PathBuf> {
        if self.stubs {
            return None;
        }
        self.sysroot.clone().or_else(|| {
            std::env::var_os("BSDX_SYSROOT")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        })
    }

    /// The libraries to use for `release`. A sysroot of another release is
    /// refused here, where `Libs` is made, so no command can forget it.
    pub fn libs(&self, release: &Release) -> anyhow::Result<Libs> {
        match self.sysroot_unchecked() {
            Some(dir) => {
                crate::sysroot::ensure_is(&dir, release)?;
                Ok(Libs::Sysroot(dir))
            }
            None => Ok(Libs::Stubs),
        }
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    Sh,
    Json,
}

#[derive(Debug, Args)]
pub struct EnvArgs {
    /// The Cargo project whose paths to remap (default: the current
    /// directory).
    #[arg(default_value = ".")]
    pub path: PathBuf,
    #[command(flatten)]
    pub target: TargetArgs,
    #[command(flatten)]
    pub libs: LibsArgs,
    /// Print the environment as JSON instead of `export` lines.
    #[arg(long)]
    pub json: bool,
    /// Old spelling of --json (`--format json`).
    #[arg(long, value_enum, hide = true)]
    pub format: Option<Format>,
    /// Also export CARGO_TARGET_<T>_RUNNER, so `cargo test`/`cargo run`
    /// for the target run each binary in a FreeBSD VM (`bsdx run`).
    #[arg(long)]
    pub runner: bool,
}

impl EnvArgs {
    pub fn json(&self) -> bool {
        self.json || matches!(self.format, Some(Format::Json))
    }
}

#[derive(Debug, Args)]
pub struct BuildArgs {
    /// The Cargo project (default: the current directory).
    #[arg(default_value = ".")]
    pub path: PathBuf,
    #[command(flatten)]
    pub target: TargetArgs,
    #[command(flatten)]
    pub libs: LibsArgs,
    /// Print the result (binaries and their check report) as JSON on stdout.
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
    #[arg(long, env = "BSDX_RELEASE", default_value = default_release(), value_parser = release_parser())]
    pub release: &'static Release,
    #[command(flatten)]
    pub libs: LibsArgs,
    /// Require this machine (a Rust target triple, or amd64/arm64; default:
    /// any supported one).
    #[arg(long, env = "BSDX_TARGET", value_parser = target_parser(), alias = "arch")]
    pub target: Option<Target>,
    /// Print the report as JSON (schema: `bsdx schema check`).
    #[arg(long)]
    pub json: bool,
    /// Fail on warnings too.
    #[arg(long)]
    pub strict: bool,
}

#[derive(Debug, Args)]
pub struct StubsArgs {
    #[command(flatten)]
    pub target: TargetArgs,
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
    #[arg(long, default_value = "bot", value_parser = PossibleValuesParser::new(crate::new::template_names()))]
    pub template: String,
    /// Directory to create (default: ./NAME). Must not exist, or be empty.
    #[arg(long, value_name = "DIR")]
    pub path: Option<PathBuf>,
    /// The bsdx flake the project's flake.nix builds with, written as its
    /// `inputs.bsdx.url` (e.g. path:/home/me/src/bsdx, github:me/bsdx).
    /// Without it flake.nix holds a placeholder that every nix command
    /// stops at, naming what to edit.
    #[arg(long, env = "BSDX_FLAKE", value_name = "URL")]
    pub flake: Option<String>,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct DoctorArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    #[command(flatten)]
    pub libs: LibsArgs,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// The commands whose `--json` output has a schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SchemaName {
    Env,
    Build,
    Repro,
    Stubs,
    StubsList,
    New,
    Doctor,
    Check,
    Brand,
    SysrootFetch,
    SysrootExtract,
    Package,
    PackageInspect,
    Rcd,
    RcdLint,
    Run,
    Test,
}

#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// The command whose output to describe (default: all, as one object).
    #[arg(value_enum)]
    pub command: Option<SchemaName>,
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
    /// FreeBSD release: one of those pinned in data/releases.json, or any
    /// other with --sha256.
    #[arg(long, env = "BSDX_RELEASE", default_value = default_release(), value_parser = release_label_parser())]
    pub release: String,
    /// The machine whose base to fetch: a Rust target triple, or amd64/arm64.
    #[arg(long, env = "BSDX_TARGET", default_value = target::DEFAULT, value_parser = target_parser(), alias = "arch")]
    pub target: Target,
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
    /// Release to record in the marker, `X.Y` (default: the one whose pinned
    /// SHA-256 the file has, if any).
    #[arg(long, value_parser = release_label_parser())]
    pub release: Option<String>,
    /// Machine to record in the marker, a Rust target triple or amd64/arm64
    /// (default: as for --release).
    #[arg(long, env = "BSDX_TARGET", value_parser = target_parser(), alias = "arch")]
    pub target: Option<Target>,
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
    /// Print {files: [{path, branded}]} as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct PackageArgs {
    /// The Cargo project whose declared service to package (default: the
    /// current directory).
    #[arg(default_value = ".")]
    pub path: PathBuf,
    #[command(flatten)]
    pub target: TargetArgs,
    #[command(flatten)]
    pub libs: LibsArgs,
    /// Directory to write NAME-VERSION.pkg into.
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub out: PathBuf,
    /// Compress with xz (pkg's older txz format) instead of zstd.
    #[arg(long)]
    pub xz: bool,
    /// Replace an existing NAME-VERSION.pkg.
    #[arg(long)]
    pub force: bool,
    /// Package this FreeBSD binary, already built (for Nix, or CI that built
    /// it), instead of building; it is still checked against --release.
    #[arg(long, value_name = "FILE")]
    pub from_binary: Option<PathBuf>,
    /// Read FILE.pkg back instead: manifest, members, every sum verified,
    /// ELF files audited against --release.
    #[arg(long, value_name = "FILE.pkg", conflicts_with_all = ["from_binary", "force", "xz", "cargo_args"])]
    pub inspect: Option<PathBuf>,
    /// Print the result as JSON (schemas: `bsdx schema package`,
    /// `bsdx schema package-inspect`).
    #[arg(long)]
    pub json: bool,
    /// Extra arguments for cargo (after `--`).
    #[arg(last = true, value_name = "CARGO_ARGS")]
    pub cargo_args: Vec<String>,
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct RcdArgs {
    #[command(subcommand)]
    pub command: Option<RcdCommand>,
    /// The Cargo project (default: the current directory).
    #[arg(default_value = ".")]
    pub path: PathBuf,
    /// Write DIR/rc.d/NAME (0755) and DIR/newsyslog.conf.d/NAME.conf instead
    /// of printing the script.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Replace existing files under --out.
    #[arg(long, requires = "out")]
    pub force: bool,
    /// Print {name, service, script, newsyslog, written} as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum RcdCommand {
    /// Check rc.d scripts against rc.subr, rcorder and daemon(8).
    ///
    /// Checks `sh -n` syntax (with /bin/sh, or $BSDX_SH), PROVIDE = file name
    /// = $name, rcvar, load_rc_config before the defaults, KEYWORD: shutdown,
    /// REQUIRE: LOGIN for non-root services, and daemon(8) use: -f, -r with
    /// -P (not -p), -P = pidfile, no procname, no ${name}_user with -u, the
    /// pid file's directory, the -o log file and -H, no env(1) wrapper. Each
    /// finding says what to change. Exit status: 0 no errors, 1 errors
    /// (--strict: or warnings), 3 a file could not be read.
    Lint(RcdLintArgs),
}

#[derive(Debug, Args)]
pub struct RcdLintArgs {
    /// rc.d scripts to check. With none, `bsdx rcd lint` means the project
    /// directory named `lint` when there is one here (as `bsdx rcd ./lint`),
    /// so the subcommand never hides a project.
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Print the report as JSON (schema: `bsdx schema rcd-lint`).
    #[arg(long)]
    pub json: bool,
    /// Fail on warnings too.
    #[arg(long)]
    pub strict: bool,
}

#[derive(Debug, Args)]
pub struct AbiImportArgs {
    /// The dump to read (omit with --sysroot or --zig-abilists).
    #[arg(required_unless_present_any = ["sysroot", "zig_abilists"], conflicts_with_all = ["sysroot", "zig_abilists"])]
    pub dump: Option<PathBuf>,
    /// Read Zig's lib/libc/freebsd/abilists (FreeBSD 14.x libc family) for --target.
    #[arg(long, value_name = "FILE", conflicts_with = "sysroot")]
    pub zig_abilists: Option<PathBuf>,
    /// Read the libraries of an extracted base instead (lib/, usr/lib/).
    #[arg(long, value_name = "DIR", requires = "release")]
    pub sysroot: Option<PathBuf>,
    /// The release the sysroot is (with --sysroot).
    #[arg(long, value_parser = release_parser())]
    pub release: Option<&'static Release>,
    /// The machine the data is for: a Rust target triple, or amd64/arm64.
    #[arg(long, env = "BSDX_TARGET", default_value = target::DEFAULT, value_parser = target_parser(), alias = "arch")]
    pub target: Target,
    /// The directory to write RELEASE-ARCH.json into (e.g. stubs/abi). The
    /// old spelling, a file name ending in .json, still writes that file.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Replace the file if it exists.
    #[arg(long)]
    pub force: bool,
}

/// How the FreeBSD VM runs (`bsdx run`, and `bsdx test` for each binary).
#[derive(Debug, Clone, Args)]
pub struct VmArgs {
    #[arg(value_parser = clap::value_parser!(u64).range(1..))]
    /// Give up after this many seconds, boot included (exit status 124).
    #[arg(long, env = "BSDX_RUN_TIMEOUT", default_value_t = crate::vm::DEFAULT_TIMEOUT, value_name = "SECONDS")]
    pub timeout: u64,
    /// Copy DIR into the guest at /mnt, the program's working directory
    /// (not copied back; `target/`-like caches and .git are left out).
    #[arg(long, env = "BSDX_RUN_MOUNT", value_name = "DIR")]
    pub mount: Option<PathBuf>,
    /// Run the program as root instead of FreeBSD's unprivileged `tests`
    /// user (uid 977).
    #[arg(long, env = "BSDX_RUN_ROOT")]
    pub root: bool,
    /// Set NAME=VALUE in the program's environment, or pass NAME on from
    /// here; repeatable. RUST_*, CARGO_PKG_* and NEXTEST_* are passed on
    /// always; nothing else is.
    #[arg(long = "env", value_name = "NAME[=VALUE]")]
    pub env: Vec<String>,
    /// KVM or software emulation; auto uses KVM when a probe guest really
    /// runs on /dev/kvm.
    #[arg(long, value_enum, env = "BSDX_ACCEL", default_value = "auto")]
    pub accel: crate::vm::qemu::AccelChoice,
    /// Guest memory in MiB (at least 128).
    #[arg(
        long,
        env = "BSDX_RUN_MEMORY",
        default_value_t = 1024,
        value_name = "MB",
        value_parser = clap::value_parser!(u32).range(128..)
    )]
    pub memory: u32,
    /// Guest CPUs (1 to 64). Default: 1 under software emulation (TCG),
    /// where a second virtual CPU made FreeBSD boot 2-3 times slower; 2 with
    /// KVM.
    #[arg(long, env = "BSDX_RUN_CPUS", value_name = "N", value_parser = clap::value_parser!(u32).range(1..=64))]
    pub cpus: Option<u32>,
    /// Boot this kernel.txz instead of fetching the release's.
    #[arg(long, env = "BSDX_KERNEL_TXZ", value_name = "FILE")]
    pub kernel_txz: Option<PathBuf>,
    /// Use this base.txz instead of fetching the release's pinned one.
    #[arg(long, env = "BSDX_BASE_TXZ", value_name = "FILE")]
    pub base_txz: Option<PathBuf>,
    /// The lock file recording kernel.txz hashes on first use (default:
    /// bsdx.lock at the Cargo workspace root, or here).
    #[arg(long, env = "BSDX_RUN_LOCK", value_name = "FILE")]
    pub lock: Option<PathBuf>,
    /// Download from these mirrors (as `bsdx sysroot fetch --mirror`).
    #[arg(long, env = "BSDX_MIRROR", value_name = "URLS")]
    pub mirror: Option<String>,
    /// Copy the whole serial console (loader, kernel, guest) to stderr.
    #[arg(long, env = "BSDX_RUN_CONSOLE")]
    pub console: bool,
    /// Print none of bsdx's own progress, only failures.
    #[arg(long, short, env = "BSDX_RUN_QUIET")]
    pub quiet: bool,
}

impl VmArgs {
    /// Make the files and directories given relative to here absolute, so
    /// they keep their meaning in another working directory.
    pub fn make_paths_absolute(&mut self) -> std::io::Result<()> {
        for p in [
            &mut self.mount,
            &mut self.kernel_txz,
            &mut self.base_txz,
            &mut self.lock,
        ]
        .into_iter()
        .flatten()
        {
            *p = std::path::absolute(&*p)?;
        }
        Ok(())
    }
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// FreeBSD release to boot: one of data/releases.json's; with
    /// --kernel-txz and --base-txz, any X.Y (a label).
    #[arg(long, env = "BSDX_RELEASE", default_value = default_release(), value_parser = release_label_parser())]
    pub release: String,
    /// The machine: a Rust target triple, or amd64/arm64 (default: the
    /// program's own, read from the file).
    #[arg(long, env = "BSDX_TARGET", value_parser = target_parser(), alias = "arch")]
    pub target: Option<Target>,
    #[command(flatten)]
    pub vm: VmArgs,
    /// Print a report as JSON on stdout (schema: `bsdx schema run`); the
    /// program's output is in it instead of streamed.
    #[arg(long)]
    pub json: bool,
    /// Fetch, build the media and the data disk, print the QEMU command
    /// line; do not boot.
    #[arg(long)]
    pub dry_run: bool,
    /// The FreeBSD program.
    #[arg(value_name = "BINARY")]
    pub binary: PathBuf,
    /// Its arguments (after BINARY, or after `--`).
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "ARGS"
    )]
    pub args: Vec<String>,
}

#[derive(Debug, Args)]
pub struct TestArgs {
    /// The Cargo project (default: the current directory).
    #[arg(default_value = ".")]
    pub path: PathBuf,
    #[command(flatten)]
    pub target: TargetArgs,
    #[command(flatten)]
    pub libs: LibsArgs,
    #[command(flatten)]
    pub vm: VmArgs,
    /// Print a summary of the test binaries' runs as JSON on stdout (schema:
    /// `bsdx schema test`); cargo's and the tests' output go to stderr.
    #[arg(long)]
    pub json: bool,
    /// Arguments for `cargo zigbuild test` (after `--`), e.g. `-- --lib -- --nocapture`.
    #[arg(last = true, value_name = "CARGO_TEST_ARGS")]
    pub cargo_args: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    /// `bsdx check`'s own parse gives what the whole parser gives, and
    /// leaves everything else (help, usage errors, other commands) to it.
    #[test]
    fn the_check_fast_path_parses_as_the_whole_tree_does() {
        let os = |v: &[&str]| -> Vec<std::ffi::OsString> { v.iter().map(Into::into).collect() };
        for args in [
            &["bsdx", "check", "a.out"][..],
            &["bsdx", "check", "--json", "--strict", "a", "b/"],
            &["bsdx", "check", "--release", "13.5", "--arch", "arm64", "x"],
            &[
                "bsdx",
                "check",
                "--sysroot",
                "/s",
                "--release=14.2",
                "--",
                "--weird-name",
            ],
            &["bsdx", "check", "--stubs", "x"],
        ] {
            let fast = Cli::check_only(&os(args)).unwrap_or_else(|| panic!("{args:?}"));
            let whole = Cli::try_parse_from(os(args)).unwrap();
            assert_eq!(format!("{fast:?}"), format!("{whole:?}"), "{args:?}");
        }
        for args in [
            &["bsdx", "check"][..],
            &["bsdx", "check", "--help"],
            &["bsdx", "check", "--release", "9.9", "x"],
            &["bsdx", "check", "--no-such-flag", "x"],
            &["bsdx", "env"],
            &["bsdx"],
        ] {
            assert!(Cli::check_only(&os(args)).is_none(), "{args:?}");
        }
    }
}

#[derive(Debug, Args)]
pub struct RepoArgs {
    /// The directory holding the .pkg files (and All/*.pkg); the catalog
    /// is written there.
    #[arg(value_name = "DIR", required_unless_present = "print_conf")]
    pub dir: Option<PathBuf>,
    /// Sign the catalog with this RSA private key (PEM, as `openssl genrsa`
    /// writes it). With --print-conf: print its public key for the hosts.
    #[arg(long, value_name = "PRIVATE_KEY.pem", conflicts_with = "verify")]
    pub key: Option<PathBuf>,
    /// Print the host's /usr/local/etc/pkg/repos/NAME.conf for a repository
    /// served at URL (`${ABI}` allowed), the public key to install, and a
    /// script doing both, instead of building.
    #[arg(long, value_name = "URL", conflicts_with_all = ["dir", "verify"])]
    pub print_conf: Option<String>,
    /// The repository's name on the hosts (with --print-conf).
    #[arg(long, default_value = "bsdx", requires = "print_conf")]
    pub name: String,
    /// Read DIR back instead: both catalogs, their signatures (against
    /// --pubkey), every listed package's size and SHA-256.
    #[arg(long)]
    pub verify: bool,
    /// The public key to check signatures with (--verify) or to print
    /// (--print-conf): PEM, `-----BEGIN PUBLIC KEY-----`.
    #[arg(long, value_name = "PUBLIC_KEY.pem", conflicts_with = "key")]
    pub pubkey: Option<PathBuf>,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}
