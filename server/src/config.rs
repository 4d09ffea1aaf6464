//! Typed, layered settings: built-in defaults, then `gozcu.toml` (in the data
//! directory, or the file named by `GOZCU_CONFIG`), then `GOZCU_*` variables.
//! Secrets are wrapped in [`Secret`] so that printing the settings can never
//! leak them.

use std::net::SocketAddr;
use std::path::PathBuf;

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use gozcu_shared::schedules::UtcOffset;
use serde::{Deserialize, Serialize};

/// A string that never shows up in `Debug` output or logs.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Address the HTTP server binds (`GOZCU_LISTEN`).
    pub listen: SocketAddr,
    /// Where the SQLite file, the key file and later snapshots live (`GOZCU_DATA_DIR`).
    pub data_dir: PathBuf,
    /// `postgres://…` for PostgreSQL; empty means SQLite in `data_dir` (`GOZCU_DATABASE_URL`).
    pub database_url: Option<Secret>,
    /// The built PWA to serve at `/` (`GOZCU_WEB_DIR`); none serves only the API.
    pub web_dir: Option<PathBuf>,
    /// 32 bytes, base64 or hex (`GOZCU_MASTER_KEY`); none means a key file in `data_dir`.
    pub master_key: Option<Secret>,
    /// Password of the `admin` account created on first start (`GOZCU_ADMIN_PASSWORD`).
    pub admin_password: Option<Secret>,
    /// Session lifetime in hours (`GOZCU_SESSION_HOURS`).
    pub session_hours: u64,
    /// Days the app keeps working offline after its last contact with the
    /// server; when it comes back with an expired session it asks for the
    /// password again and then sends its outbox.
    pub offline_days: u32,
    /// Force the `Secure` cookie flag; by default it is set when the request
    /// came over https (directly or per `X-Forwarded-Proto`).
    pub secure_cookies: bool,
    /// Largest accepted request body for JSON endpoints, in bytes.
    pub max_body_bytes: usize,
    /// Largest accepted CSV import, in bytes.
    pub max_import_bytes: usize,
    /// Largest accepted photo, in bytes (`GOZCU_MAX_PHOTO_BYTES`). Photos
    /// are uploaded in chunks (docs/photos.md), so this bounds the file,
    /// not a request.
    pub max_photo_bytes: u64,
    /// Failed logins in a row before an account is locked.
    pub login_max_failures: u32,
    /// How long a locked account stays locked.
    pub lockout_minutes: u64,
    /// Logging filter, as in `RUST_LOG` (`GOZCU_LOG`).
    pub log: String,
    /// The institution printed at the top of every report (`GOZCU_INSTITUTION`).
    pub institution: String,
    /// The unit under it (`GOZCU_UNIT`).
    pub unit: String,
    /// The institution's time zone as a fixed offset from UTC
    /// (`GOZCU_UTC_OFFSET`, default `+03:00`, Turkey). It decides which
    /// calendar day "today" is for due maintenance, warranties and report
    /// dates, and which day a run finished at 01:30 was done on.
    pub utc_offset: UtcOffset,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("data"),
            database_url: None,
            web_dir: None,
            master_key: None,
            admin_password: None,
            session_hours: 12,
            offline_days: 7,
            secure_cookies: false,
            max_body_bytes: 256 * 1024,
            max_import_bytes: 20 * 1024 * 1024,
            max_photo_bytes: 25 * 1024 * 1024,
            login_max_failures: 5,
            lockout_minutes: 15,
            log: "info,sqlx=warn,tower_http=info".into(),
            institution: "T.C. Gözcü Kurumu".into(),
            unit: "Güvenlik Teknolojileri Birimi".into(),
            utc_offset: UtcOffset::TURKEY,
        }
    }
}

impl Settings {
    /// Reads the layers. The config file is optional; a malformed one is an
    /// error that names the file and key.
    pub fn load() -> Result<Settings, Box<figment::Error>> {
        let env = Env::prefixed("GOZCU_").ignore(&["CONFIG"]);
        let data_dir: PathBuf = Figment::from(Serialized::defaults(Settings::default()))
            .merge(env.clone())
            .extract_inner("data_dir")?;
        let file = std::env::var_os("GOZCU_CONFIG")
            .map(PathBuf::from)
            .unwrap_or_else(|| data_dir.join("gozcu.toml"));
        let settings: Settings = Figment::from(Serialized::defaults(Settings::default()))
            .merge(Toml::file(file))
            .merge(env)
            .extract()?;
        Ok(settings.normalized())
    }

    fn normalized(mut self) -> Settings {
        // An empty variable means "not set", as shells make that easy to do by accident.
        for s in [
            &mut self.database_url,
            &mut self.master_key,
            &mut self.admin_password,
        ] {
            if s.as_ref().is_some_and(|v| v.expose().trim().is_empty()) {
                *s = None;
            }
        }
        self
    }

    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.expose().to_owned(),
            None => format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("gozcu.db").display()
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_do_not_print() {
        let s = Settings {
            master_key: Some(Secret::new("very-secret-key")),
            admin_password: Some(Secret::new("pw-123456789")),
            ..Default::default()
        };
        let shown = format!("{s:?}");
        assert!(!shown.contains("very-secret-key") && !shown.contains("pw-123456789"));
    }

    fn from_toml(toml: &str) -> Result<Settings, Box<figment::Error>> {
        Ok(Figment::from(Serialized::defaults(Settings::default()))
            .merge(Toml::string(toml))
            .extract()?)
    }

    #[test]
    fn the_utc_offset_is_read_and_checked() {
        assert_eq!(Settings::default().utc_offset, UtcOffset::TURKEY);
        let s = from_toml("utc_offset = \"-05:00\"").unwrap();
        assert_eq!(s.utc_offset.minutes(), -300);
        for bad in ["+3", "Europe/Istanbul", "+15:00"] {
            let e = from_toml(&format!("utc_offset = \"{bad}\"")).unwrap_err();
            let text = e.to_string();
            assert!(
                text.contains("utc_offset") && text.contains("UTC offset"),
                "{bad}: {text}"
            );
        }
    }
}
