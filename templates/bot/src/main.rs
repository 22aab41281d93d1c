//! bsdx-bot-template: a Discord bot (poise) that reports host status and
//! counts command usage per guild in SQLite.
//!
//! Usage: bsdx-bot-template -c config.json -d sqlite.db

mod bot;
mod config;
mod db;
mod status;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::Parser;
use tracing_subscriber::EnvFilter;

#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Logging used when RUST_LOG is not set.
const DEFAULT_LOG: &str = "warn,bsdx_bot_template=info";

#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    /// JSON config file: {"token": "...", "guild_id": ...}
    #[arg(short, long, value_name = "FILE", default_value = "config.json")]
    config: PathBuf,
    /// SQLite database file (created if missing)
    #[arg(short, long, value_name = "FILE", default_value = "sqlite.db")]
    db: PathBuf,
}

fn init_logging() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_LOG));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        // no colour codes in /var/log/<name>.log
        .with_ansi(std::io::stdout().is_terminal())
        .init();
}

async fn run(cli: Cli) -> Result<()> {
    let config = config::Config::load(&cli.config)?;
    let db = db::connect(&cli.db).await?;
    db::migrate(&db).await?;
    tracing::info!(db = %cli.db.display(), "database ready");
    bot::run(config, db).await
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // `{:#}` prints the whole context chain on one line.
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_valid() {
        Cli::command().debug_assert();
    }

    #[test]
    fn cli_short_and_long_flags() {
        let cli = Cli::try_parse_from(["bot", "-c", "a.json", "-d", "b.db"]).unwrap();
        assert_eq!((cli.config, cli.db), ("a.json".into(), "b.db".into()));
        let cli = Cli::try_parse_from(["bot", "--config", "x.json", "--db", "y.db"]).unwrap();
        assert_eq!((cli.config, cli.db), ("x.json".into(), "y.db".into()));
        let cli = Cli::try_parse_from(["bot"]).unwrap();
        assert_eq!(
            (cli.config, cli.db),
            ("config.json".into(), "sqlite.db".into())
        );
    }

    #[test]
    fn default_log_filter_parses() {
        EnvFilter::try_new(DEFAULT_LOG).unwrap();
    }
}
