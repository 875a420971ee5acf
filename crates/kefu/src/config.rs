//! Settings: defaults, then `kefu.toml`, then `KEFU_*` environment variables (each overriding the last).
//!
//! | setting | env | default |
//! |---|---|---|
//! | `data_dir` | `KEFU_DATA_DIR` | `./data` |
//! | `database_url` | `KEFU_DATABASE_URL` | SQLite at `<data_dir>/kefu.db` |
//! | `listen` | `KEFU_LISTEN` | `127.0.0.1:8080` |
//! | `log_format` | `KEFU_LOG_FORMAT` | `text` (or `json`) |
//! | `secure_cookies` | `KEFU_SECURE_COOKIES` | `false` (set `true` behind HTTPS) |
//! | `max_attachment_bytes` | `KEFU_MAX_ATTACHMENT_BYTES` | 25 MiB |
//! | `login_attempts_per_minute` | `KEFU_LOGIN_ATTEMPTS_PER_MINUTE` | 10 |
//! | `max_db_connections` | `KEFU_MAX_DB_CONNECTIONS` | 16 |
//! | `smtp_listen` | `KEFU_SMTP_LISTEN` | off; e.g. `127.0.0.1:2525` for the inbound SMTP listener |
//! | `mail_workers` | `KEFU_MAIL_WORKERS` | `true`: poll IMAP and send queued mail |
//! | `public_url` | `KEFU_PUBLIC_URL` | unset: links in emails and the sitemap use the request's host |

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

/// How log lines look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Every setting.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Config {
    /// Where the SQLite database and attachment files live.
    pub data_dir: PathBuf,
    /// `postgres://...` to use PostgreSQL; default SQLite in the data directory.
    pub database_url: Option<String>,
    /// Address to serve on.
    pub listen: SocketAddr,
    /// Log format.
    pub log_format: LogFormat,
    /// Mark cookies Secure.
    pub secure_cookies: bool,
    /// Upload limit.
    pub max_attachment_bytes: usize,
    /// Sign-in throttle.
    pub login_attempts_per_minute: u32,
    /// Database pool size.
    pub max_db_connections: u32,
    /// Where the inbound SMTP listener listens; off when unset.
    pub smtp_listen: Option<SocketAddr>,
    /// Run the IMAP poller and the outbound mail sender.
    pub mail_workers: bool,
    /// Where customers reach Kefu (`https://help.example.com`), for links in emails and the sitemap.
    pub public_url: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from("data"),
            database_url: None,
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            log_format: LogFormat::Text,
            secure_cookies: false,
            max_attachment_bytes: 25 * 1024 * 1024,
            login_attempts_per_minute: 10,
            max_db_connections: 16,
            smtp_listen: None,
            mail_workers: true,
            public_url: None,
        }
    }
}

impl Config {
    /// Loads defaults, then the TOML file (`path`, or `kefu.toml` if it exists), then `KEFU_*`.
    pub fn load(path: Option<&Path>) -> Result<Config> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        match path {
            Some(path) => figment = figment.merge(Toml::file_exact(path)),
            None => figment = figment.merge(Toml::file("kefu.toml")),
        }
        figment = figment.merge(Env::prefixed("KEFU_").only(&[
            "data_dir",
            "database_url",
            "listen",
            "log_format",
            "secure_cookies",
            "max_attachment_bytes",
            "login_attempts_per_minute",
            "max_db_connections",
            "smtp_listen",
            "mail_workers",
            "public_url",
        ]));
        figment.extract().context("invalid settings (kefu.toml or KEFU_* variables)")
    }

    /// The database URL: the configured one, or SQLite in the data directory.
    pub fn database_url(&self) -> Result<String> {
        match &self.database_url {
            Some(url) if !url.trim().is_empty() => Ok(url.trim().to_owned()),
            _ => {
                let path = self.data_dir.join("kefu.db");
                let path = path.to_str().context("the data directory path is not valid UTF-8")?;
                Ok(format!("sqlite://{path}?mode=rwc"))
            }
        }
    }

    /// The HTTP server's part of the settings.
    pub fn server_config(&self) -> kefu_http::ServerConfig {
        kefu_http::ServerConfig {
            secure_cookies: self.secure_cookies,
            login_attempts_per_minute: self.login_attempts_per_minute,
            public_url: self.public_url.as_deref().map(|url| url.trim().trim_end_matches('/').to_owned()),
            ..kefu_http::ServerConfig::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::result_large_err)] // figment's Jail closure returns figment's (large) error type
    fn environment_overrides_the_file_which_overrides_defaults() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("kefu.toml", "listen = \"0.0.0.0:9000\"\ndata_dir = \"/srv/kefu\"")?;
            jail.set_env("KEFU_LISTEN", "127.0.0.1:9100");
            let config = Config::load(None).expect("valid config");
            assert_eq!(config.listen.to_string(), "127.0.0.1:9100");
            assert_eq!(config.data_dir, PathBuf::from("/srv/kefu"));
            assert_eq!(config.database_url().expect("url"), "sqlite:///srv/kefu/kefu.db?mode=rwc");
            Ok(())
        });
    }
}
