//! The Discord side: slash commands, the usage-counting hook and the client.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, Result};
use poise::serenity_prelude as serenity;
use sea_orm::DatabaseConnection;

use crate::config::Config;
use crate::db;
use crate::status::Status;

/// Shared state available to every command as `ctx.data()`.
pub struct Data {
    pub db: DatabaseConnection,
}

pub type Error = anyhow::Error;
pub type Context<'a> = poise::Context<'a, Data, Error>;

/// How many commands `/stats` lists.
const STATS_LIMIT: u64 = 10;

fn guild_key(ctx: Context<'_>) -> i64 {
    // Discord IDs fit in 63 bits.
    ctx.guild_id().map_or(db::DM_GUILD_ID, |g| g.get() as i64)
}

/// Show the host's load, memory, uptime and process count.
#[poise::command(slash_command)]
pub async fn status(ctx: Context<'_>) -> Result<(), Error> {
    let status = tokio::task::spawn_blocking(Status::collect)
        .await
        .context("status task failed")?
        .context("cannot read system information")?;
    ctx.say(format!("```\n{status}\n```")).await?;
    Ok(())
}

/// Show how often each command was used here.
#[poise::command(slash_command)]
pub async fn stats(ctx: Context<'_>) -> Result<(), Error> {
    let top = db::top_commands(&ctx.data().db, guild_key(ctx), STATS_LIMIT).await?;
    ctx.say(format_stats(&top)).await?;
    Ok(())
}

/// Text of the `/stats` reply.
pub fn format_stats(top: &[(String, i64)]) -> String {
    if top.is_empty() {
        return "No commands used here yet.".to_owned();
    }
    let mut out = String::from("Command usage here:\n");
    for (command, count) in top {
        let times = if *count == 1 { "time" } else { "times" };
        out.push_str(&format!("`/{command}`: {count} {times}\n"));
    }
    out.pop();
    out
}

/// Every command, for registration.
pub fn commands() -> Vec<poise::Command<Data, Error>> {
    vec![status(), stats()]
}

/// Counts every invocation (runs before the command body).
async fn count_invocation(ctx: Context<'_>) {
    let name = &ctx.command().qualified_name;
    tracing::debug!(command = %name, guild = ?ctx.guild_id(), user = %ctx.author().id, "command invoked");
    if let Err(e) = db::increment(&ctx.data().db, guild_key(ctx), name).await {
        tracing::warn!("{e:#}");
    }
}

async fn on_error(error: poise::FrameworkError<'_, Data, Error>) {
    if let poise::FrameworkError::Command { error, ctx, .. } = &error {
        tracing::error!(command = %ctx.command().qualified_name, "{error:#}");
    }
    if let Err(e) = poise::builtins::on_error(error).await {
        tracing::error!("error while handling an error: {e}");
    }
}

/// Connects to Discord and runs until SIGINT/SIGTERM or a fatal gateway error.
pub async fn run(config: Config, db: DatabaseConnection) -> Result<()> {
    let guild_id = config.guild_id.map(|id| serenity::GuildId::new(id.get()));
    let framework = poise::Framework::builder()
        .options(poise::FrameworkOptions {
            commands: commands(),
            pre_command: |ctx| Box::pin(count_invocation(ctx)),
            on_error: |error| Box::pin(on_error(error)),
            ..Default::default()
        })
        .setup(move |ctx, ready, framework| {
            Box::pin(async move {
                // A failed registration is logged, not fatal: commands registered
                // by an earlier run keep working.
                register(ctx, &framework.options().commands, guild_id).await;
                tracing::info!(user = %ready.user.name, guilds = ready.guilds.len(), "connected");
                Ok(Data { db })
            })
        })
        .build();

    let mut client =
        serenity::ClientBuilder::new(&config.token, serenity::GatewayIntents::non_privileged())
            .framework(framework)
            .await
            .context("cannot create the Discord client")?;

    let shard_manager = Arc::clone(&client.shard_manager);
    tokio::select! {
        result = client.start() => result.context("Discord client stopped"),
        () = shutdown_signal() => {
            tracing::info!("shutting down");
            // Don't hang on a shard that is stuck (re)connecting: give up after a few seconds.
            if tokio::time::timeout(SHUTDOWN_GRACE, shard_manager.shutdown_all()).await.is_err() {
                tracing::warn!("shards did not stop within {SHUTDOWN_GRACE:?}");
            }
            Ok(())
        }
    }
}

/// How long to wait for a clean disconnect on SIGTERM/SIGINT.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

async fn register(
    ctx: &serenity::Context,
    commands: &[poise::Command<Data, Error>],
    guild_id: Option<serenity::GuildId>,
) {
    match guild_id {
        Some(guild) => match poise::builtins::register_in_guild(ctx, commands, guild).await {
            Ok(()) => tracing::info!(%guild, "registered slash commands in guild"),
            Err(e) => tracing::error!(%guild, "cannot register slash commands in guild: {e}"),
        },
        None => match poise::builtins::register_globally(ctx, commands).await {
            Ok(()) => tracing::info!("registered slash commands globally"),
            Err(e) => tracing::error!("cannot register slash commands globally: {e}"),
        },
    }
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_text() {
        assert_eq!(format_stats(&[]), "No commands used here yet.");
        assert_eq!(
            format_stats(&[("status".into(), 3), ("stats".into(), 1)]),
            "Command usage here:\n`/status`: 3 times\n`/stats`: 1 time"
        );
    }

    #[test]
    fn commands_are_slash_commands_with_descriptions() {
        let cmds = commands();
        let names: Vec<_> = cmds.iter().map(|c| c.name.to_string()).collect();
        assert_eq!(names, ["status", "stats"]);
        for c in &cmds {
            assert!(
                c.slash_action.is_some(),
                "{} is not a slash command",
                c.name
            );
            assert!(c.description.is_some(), "{} has no description", c.name);
        }
    }
}
