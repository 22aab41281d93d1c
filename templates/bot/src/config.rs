//! Loading and validating `config.json`.
//!
//! ```json
//! { "token": "YOUR.BOT.TOKEN", "guild_id": 123456789012345678 }
//! ```
//!
//! `token` is required. `guild_id` is optional: when set, slash commands are
//! registered in that one guild (instant, handy while developing); otherwise
//! they are registered globally.

use std::fmt;
use std::num::NonZeroU64;
use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};
use serde::{Deserialize, Deserializer};

#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Discord bot token (Developer Portal → your application → Bot → Token).
    pub token: String,
    /// Register slash commands in this guild only. Accepts a number or a string.
    #[serde(default, deserialize_with = "snowflake")]
    pub guild_id: Option<NonZeroU64>,
}

// Never print the token, not even in debug logs.
impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("token", &"<redacted>")
            .field("guild_id", &self.guild_id)
            .finish()
    }
}

/// Discord IDs are often copied as strings; accept `123` and `"123"`.
fn snowflake<'de, D: Deserializer<'de>>(d: D) -> Result<Option<NonZeroU64>, D::Error> {
    use serde::de::Error;
    use serde_json::Value;
    let id = match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Number(n)) => n.as_u64().ok_or_else(|| {
            D::Error::custom(format!("`guild_id` must be a positive integer, got {n}"))
        })?,
        Some(Value::String(s)) => s.trim().parse::<u64>().map_err(|_| {
            D::Error::custom(format!(
                "`guild_id` must be a numeric Discord ID, got {s:?}"
            ))
        })?,
        Some(other) => {
            return Err(D::Error::custom(format!(
                "`guild_id` must be a number or a string, got {other}"
            )));
        }
    };
    NonZeroU64::new(id)
        .map(Some)
        .ok_or_else(|| D::Error::custom("`guild_id` must not be 0"))
}

impl Config {
    /// Parses and validates the JSON text of a config file.
    pub fn parse(text: &str) -> Result<Self> {
        let config: Config = serde_json::from_str(text).map_err(|e| anyhow!("{e}"))?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<()> {
        let token = self.token.trim();
        if token.is_empty() {
            bail!("`token` is empty: put your bot token from the Discord Developer Portal there");
        }
        if token != self.token {
            bail!("`token` has leading or trailing whitespace");
        }
        if poise::serenity_prelude::utils::token::validate(token).is_err() {
            bail!(
                "`token` does not look like a Discord bot token (expected three dot-separated parts)"
            );
        }
        Ok(())
    }

    /// Reads, parses and validates the config file at `path`.
    /// Every error names the file.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read config file {}", path.display()))?;
        Self::parse(&text).with_context(|| format!("invalid config file {}", path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    const TOKEN: &str = "MTIzNDU2Nzg5MDEyMzQ1Njc4.GabcDE.fake-token-for-tests_0123456789";

    fn write_temp(contents: &str) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(contents.as_bytes()).unwrap();
        f
    }

    /// The one-line message `main` prints (`{:#}` joins the context chain).
    fn message(err: anyhow::Error) -> String {
        format!("{err:#}")
    }

    #[test]
    fn good_file_loads() {
        let f = write_temp(&format!(r#"{{"token": "{TOKEN}", "guild_id": 42}}"#));
        let cfg = Config::load(f.path()).unwrap();
        assert_eq!(cfg.token, TOKEN);
        assert_eq!(cfg.guild_id, NonZeroU64::new(42));
    }

    #[test]
    fn guild_id_is_optional_and_may_be_a_string() {
        let cfg = Config::parse(&format!(r#"{{"token": "{TOKEN}"}}"#)).unwrap();
        assert_eq!(cfg.guild_id, None);
        let cfg = Config::parse(&format!(r#"{{"token": "{TOKEN}", "guild_id": null}}"#)).unwrap();
        assert_eq!(cfg.guild_id, None);
        let cfg = Config::parse(&format!(
            r#"{{"token": "{TOKEN}", "guild_id": "987654321098765432"}}"#
        ))
        .unwrap();
        assert_eq!(cfg.guild_id, NonZeroU64::new(987_654_321_098_765_432));
    }

    #[test]
    fn missing_file_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nope.json");
        let msg = message(Config::load(&path).unwrap_err());
        assert!(msg.starts_with("cannot read config file "), "{msg}");
        assert!(msg.contains("nope.json"), "{msg}");
    }

    #[test]
    fn bad_json_names_the_file_and_position() {
        let f = write_temp(r#"{"token": "abc",,}"#);
        let msg = message(Config::load(f.path()).unwrap_err());
        assert!(msg.starts_with("invalid config file "), "{msg}");
        assert!(msg.contains(&f.path().display().to_string()), "{msg}");
        assert!(msg.contains("line 1 column"), "{msg}");
    }

    #[test]
    fn missing_token_field() {
        let msg = message(Config::parse("{}").unwrap_err());
        assert!(msg.contains("missing field `token`"), "{msg}");
    }

    #[test]
    fn empty_token_is_rejected() {
        let f = write_temp(r#"{"token": "   "}"#);
        let msg = message(Config::load(f.path()).unwrap_err());
        assert!(msg.contains(&f.path().display().to_string()), "{msg}");
        assert!(msg.contains("`token` is empty"), "{msg}");
    }

    #[test]
    fn malformed_token_and_bad_fields_are_rejected() {
        let msg = message(Config::parse(r#"{"token": "not-a-token"}"#).unwrap_err());
        assert!(
            msg.contains("does not look like a Discord bot token"),
            "{msg}"
        );
        let msg = message(Config::parse(&format!(r#"{{"token": " {TOKEN}"}}"#)).unwrap_err());
        assert!(msg.contains("whitespace"), "{msg}");
        let msg = message(
            Config::parse(&format!(r#"{{"token": "{TOKEN}", "guild_id": 0}}"#)).unwrap_err(),
        );
        assert!(msg.contains("must not be 0"), "{msg}");
        let msg = message(
            Config::parse(&format!(r#"{{"token": "{TOKEN}", "guild_id": "abc"}}"#)).unwrap_err(),
        );
        assert!(msg.contains("numeric Discord ID"), "{msg}");
        let msg =
            message(Config::parse(&format!(r#"{{"token": "{TOKEN}", "tokn": 1}}"#)).unwrap_err());
        assert!(msg.contains("unknown field `tokn`"), "{msg}");
    }

    #[test]
    fn example_config_only_lacks_a_real_token() {
        let example = include_str!("../config.example.json");
        let msg = message(Config::parse(example).unwrap_err());
        assert!(
            msg.contains("does not look like a Discord bot token"),
            "{msg}"
        );
        let real = example.replace("PASTE-YOUR-BOT-TOKEN-HERE", TOKEN);
        assert_eq!(Config::parse(&real).unwrap().guild_id, None);
    }

    #[test]
    fn debug_output_redacts_the_token() {
        let cfg = Config::parse(&format!(r#"{{"token": "{TOKEN}"}}"#)).unwrap();
        let dbg = format!("{cfg:?}");
        assert!(!dbg.contains(TOKEN), "{dbg}");
        assert!(dbg.contains("<redacted>"), "{dbg}");
    }
}
