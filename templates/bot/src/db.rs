//! SQLite storage (sea-orm over sqlx, SQLite bundled into the binary).
//!
//! The schema is created by the versioned migrations in [`MIGRATIONS`]; applied
//! versions are recorded in the `schema_migrations` table, so `migrate` is
//! idempotent and new migrations are applied on the next start.
//! To change the schema, append a new [`Migration`]: never edit an old one.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use sea_orm::sea_query::{Expr, ExprTrait, Index, OnConflict, Query, Table};
use sea_orm::{
    ColumnTrait, ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend,
    EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set, Statement, TransactionTrait,
};

/// Per-guild command usage counters.
pub mod command_count {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "command_counts")]
    pub struct Model {
        /// Discord guild ID; [`super::DM_GUILD_ID`] for direct messages.
        #[sea_orm(primary_key, auto_increment = false)]
        pub guild_id: i64,
        /// Qualified command name, e.g. `status`.
        #[sea_orm(primary_key, auto_increment = false)]
        pub command: String,
        pub count: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Guild ID used for commands invoked outside a guild (Discord IDs are never 0).
pub const DM_GUILD_ID: i64 = 0;

/// A schema migration: applied once, in order of `version`, inside a transaction.
pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub up: fn(DbBackend) -> Vec<Statement>,
}

/// All migrations, oldest first. Append only.
pub const MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    name: "create_command_counts",
    up: m0001_create_command_counts,
}];

fn m0001_create_command_counts(backend: DbBackend) -> Vec<Statement> {
    vec![
        backend.build(
            Table::create()
                .table("command_counts")
                .col(
                    sea_orm::sea_query::ColumnDef::new("guild_id")
                        .big_integer()
                        .not_null(),
                )
                .col(
                    sea_orm::sea_query::ColumnDef::new("command")
                        .text()
                        .not_null(),
                )
                .col(
                    sea_orm::sea_query::ColumnDef::new("count")
                        .big_integer()
                        .not_null()
                        .default(0),
                )
                .primary_key(Index::create().col("guild_id").col("command")),
        ),
        backend.build(
            Index::create()
                .name("idx_command_counts_guild_count")
                .table("command_counts")
                .col("guild_id")
                .col("count"),
        ),
    ]
}

const MIGRATIONS_TABLE: &str = "schema_migrations";

/// Opens (creating if needed) the SQLite database file at `path`.
pub async fn connect(path: &Path) -> Result<DatabaseConnection> {
    let file = path.to_path_buf();
    let mut opts = ConnectOptions::new("sqlite:");
    opts.sqlx_logging(false).map_sqlx_sqlite_opts(move |o| {
        o.filename(&file)
            .create_if_missing(true)
            .busy_timeout(std::time::Duration::from_secs(5))
    });
    Database::connect(opts)
        .await
        // DbErr repeats its source in its own message: keep just the message.
        .map_err(|e| anyhow::anyhow!("{e}"))
        .with_context(|| format!("cannot open database {}", path.display()))
}

/// Applies pending migrations; returns how many were applied.
pub async fn migrate(db: &DatabaseConnection) -> Result<usize> {
    let backend = db.get_database_backend();
    db.execute(
        Table::create()
            .table(MIGRATIONS_TABLE)
            .if_not_exists()
            .col(
                sea_orm::sea_query::ColumnDef::new("version")
                    .big_integer()
                    .not_null()
                    .primary_key(),
            )
            .col(sea_orm::sea_query::ColumnDef::new("name").text().not_null())
            .col(
                sea_orm::sea_query::ColumnDef::new("applied_at")
                    .big_integer()
                    .not_null(),
            ),
    )
    .await
    .context("cannot create the schema_migrations table")?;

    let applied: Vec<i64> = db
        .query_all(Query::select().column("version").from(MIGRATIONS_TABLE))
        .await?
        .iter()
        .map(|row| row.try_get::<i64>("", "version"))
        .collect::<Result<_, _>>()?;

    let latest = MIGRATIONS.last().map_or(0, |m| m.version);
    if let Some(&newest) = applied.iter().max()
        && newest > latest
    {
        bail!(
            "database schema version {newest} is newer than this binary knows ({latest}); \
             refusing to run an old binary on a newer database"
        );
    }

    let mut count = 0;
    for m in MIGRATIONS.iter().filter(|m| !applied.contains(&m.version)) {
        let txn = db.begin().await?;
        for stmt in (m.up)(backend) {
            txn.execute_raw(stmt)
                .await
                .with_context(|| format!("migration {} ({}) failed", m.version, m.name))?;
        }
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        txn.execute(
            Query::insert()
                .into_table(MIGRATIONS_TABLE)
                .columns(["version", "name", "applied_at"])
                .values_panic([m.version.into(), m.name.into(), now.into()]),
        )
        .await?;
        txn.commit().await?;
        tracing::info!(
            version = m.version,
            name = m.name,
            "applied database migration"
        );
        count += 1;
    }
    Ok(count)
}

/// Adds one to the counter of `command` in `guild_id`.
pub async fn increment(db: &impl ConnectionTrait, guild_id: i64, command: &str) -> Result<()> {
    use command_count::{ActiveModel, Column, Entity};
    let row = ActiveModel {
        guild_id: Set(guild_id),
        command: Set(command.to_owned()),
        count: Set(1),
    };
    Entity::insert(row)
        .on_conflict(
            OnConflict::columns([Column::GuildId, Column::Command])
                .value(Column::Count, Expr::col(Column::Count).add(1))
                .to_owned(),
        )
        .exec_without_returning(db)
        .await
        .context("cannot update command count")?;
    Ok(())
}

/// The `limit` most used commands in `guild_id`, most used first.
pub async fn top_commands(
    db: &impl ConnectionTrait,
    guild_id: i64,
    limit: u64,
) -> Result<Vec<(String, i64)>> {
    use command_count::{Column, Entity};
    let rows = Entity::find()
        .filter(Column::GuildId.eq(guild_id))
        .order_by_desc(Column::Count)
        .order_by_asc(Column::Command)
        .limit(limit)
        .all(db)
        .await
        .context("cannot read command counts")?;
    Ok(rows.into_iter().map(|m| (m.command, m.count)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A private in-memory database.
    async fn connect_in_memory() -> Result<DatabaseConnection> {
        let mut opts = ConnectOptions::new("sqlite::memory:");
        // One connection: every connection to `:memory:` would be a new database.
        opts.sqlx_logging(false)
            .max_connections(1)
            .min_connections(1);
        Ok(Database::connect(opts).await?)
    }

    async fn fresh() -> DatabaseConnection {
        let db = connect_in_memory().await.unwrap();
        assert_eq!(migrate(&db).await.unwrap(), MIGRATIONS.len());
        db
    }

    #[tokio::test]
    async fn migrate_is_idempotent() {
        let db = fresh().await;
        assert_eq!(migrate(&db).await.unwrap(), 0);
        let rows = db
            .query_all(Query::select().column("version").from(MIGRATIONS_TABLE))
            .await
            .unwrap();
        assert_eq!(rows.len(), MIGRATIONS.len());
    }

    #[tokio::test]
    async fn increment_and_top_counts() {
        let db = fresh().await;
        for _ in 0..3 {
            increment(&db, 1, "status").await.unwrap();
        }
        increment(&db, 1, "stats").await.unwrap();
        increment(&db, 1, "about").await.unwrap();
        increment(&db, 2, "stats").await.unwrap();
        increment(&db, DM_GUILD_ID, "status").await.unwrap();

        let top = top_commands(&db, 1, 10).await.unwrap();
        assert_eq!(
            top,
            vec![
                ("status".to_owned(), 3),
                ("about".to_owned(), 1),
                ("stats".to_owned(), 1)
            ]
        );
        assert_eq!(top_commands(&db, 1, 1).await.unwrap().len(), 1);
        assert_eq!(
            top_commands(&db, 2, 10).await.unwrap(),
            vec![("stats".to_owned(), 1)]
        );
        assert_eq!(
            top_commands(&db, DM_GUILD_ID, 10).await.unwrap(),
            vec![("status".to_owned(), 1)]
        );
        assert!(top_commands(&db, 3, 10).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn file_database_persists_across_connections() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bot.db");
        {
            let db = connect(&path).await.unwrap();
            assert_eq!(migrate(&db).await.unwrap(), MIGRATIONS.len());
            increment(&db, 7, "status").await.unwrap();
            db.close().await.unwrap();
        }
        assert!(path.exists());
        let db = connect(&path).await.unwrap();
        assert_eq!(migrate(&db).await.unwrap(), 0);
        increment(&db, 7, "status").await.unwrap();
        assert_eq!(
            top_commands(&db, 7, 10).await.unwrap(),
            vec![("status".to_owned(), 2)]
        );
    }

    #[tokio::test]
    async fn unopenable_database_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("no-such-dir").join("bot.db");
        let msg = format!("{:#}", connect(&path).await.unwrap_err());
        assert!(msg.starts_with("cannot open database "), "{msg}");
        assert!(msg.contains("no-such-dir"), "{msg}");
    }

    #[tokio::test]
    async fn refuses_a_newer_schema() {
        let db = fresh().await;
        db.execute(
            Query::insert()
                .into_table(MIGRATIONS_TABLE)
                .columns(["version", "name", "applied_at"])
                .values_panic([9999.into(), "future".into(), 0.into()]),
        )
        .await
        .unwrap();
        let msg = format!("{:#}", migrate(&db).await.unwrap_err());
        assert!(msg.contains("newer than this binary"), "{msg}");
    }
}
