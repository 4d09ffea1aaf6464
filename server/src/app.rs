//! [`App`]: the state every handler shares, and start-up (data directory,
//! database, master key, first admin account).

use std::ops::Deref;
use std::sync::Arc;

use anyhow::Context;
use gozcu_shared::validate::Date;
use gozcu_shared::Role;
use uuid::Uuid;

use crate::audit::{self, Actor, Event};
use crate::auth::{self, IpThrottle};
use crate::clock::{Clock, SystemClock};
use crate::config::Settings;
use crate::crypto::SecretBox;
use crate::db::Db;

#[derive(Clone)]
pub struct App(Arc<AppInner>);

pub struct AppInner {
    pub db: Db,
    pub settings: Settings,
    pub secrets: SecretBox,
    pub clock: Arc<dyn Clock>,
    pub ip_throttle: IpThrottle,
    pub sync: crate::sync::SyncClock,
    pub photos: crate::photos::PhotoStore,
}

impl Deref for App {
    type Target = AppInner;
    fn deref(&self) -> &AppInner {
        &self.0
    }
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("db", &self.db)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl App {
    /// Opens everything the server needs. `clock` is the system clock in
    /// production and a fake in tests.
    pub async fn open(settings: Settings, clock: Arc<dyn Clock>) -> anyhow::Result<App> {
        std::fs::create_dir_all(&settings.data_dir)
            .with_context(|| format!("creating data directory {}", settings.data_dir.display()))?;
        let db = Db::connect(&settings.database_url())
            .await
            .context("opening the database")?;
        let secrets = SecretBox::load(
            settings.master_key.as_ref().map(|s| s.expose()),
            &settings.data_dir,
        )?;
        let sync = crate::sync::SyncClock::load(&db)
            .await
            .context("loading the sync clock")?;
        let photos = crate::photos::PhotoStore::open(&settings.data_dir)
            .context("creating the photo directories")?;
        let app = App(Arc::new(AppInner {
            sync,
            photos,
            db,
            settings,
            secrets,
            clock,
            ip_throttle: IpThrottle::default(),
        }));
        let seeded = crate::checklists::seed_builtin(&app)
            .await
            .context("writing the built-in checklist templates")?;
        if seeded > 0 {
            tracing::info!(templates = seeded, "wrote built-in checklist templates");
        }
        let n = crate::http::sync::backfill(&app)
            .await
            .context("giving existing inventory its sync records")?;
        if n > 0 {
            tracing::info!(
                records = n,
                "gave existing inventory rows their sync records"
            );
        }
        Ok(app)
    }

    pub async fn open_default(settings: Settings) -> anyhow::Result<App> {
        App::open(settings, Arc::new(SystemClock)).await
    }

    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    /// Today in the institution's time zone (`Settings::utc_offset`), not
    /// in UTC: at 01:30 in Turkey it is already the new day.
    pub fn today(&self) -> Date {
        self.settings.utc_offset.date_of(self.now_ms())
    }

    /// Creates the `admin` account when there are no users yet. Returns the
    /// password when it was generated, so that it can be shown once.
    pub async fn ensure_admin(&self) -> anyhow::Result<Option<FirstAdmin>> {
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
            .fetch_one(&self.db.pool)
            .await?;
        if count > 0 {
            return Ok(None);
        }
        let (password, generated) = match &self.settings.admin_password {
            Some(p) => (p.expose().to_owned(), false),
            None => (auth::random_token()[..20].to_owned(), true),
        };
        anyhow::ensure!(
            auth::password_ok(&password),
            "GOZCU_ADMIN_PASSWORD must be at least {} characters",
            gozcu_shared::api::MIN_PASSWORD_LEN
        );
        let now = self.now_ms();
        let id = Uuid::now_v7().to_string();
        let mut tx = self.db.begin_write().await?;
        sqlx::query("INSERT INTO users (id, username, display_name, role, password_hash, active, created_at, updated_at) VALUES ($1, 'admin', 'Yönetici', $2, $3, 1, $4, $4)")
            .bind(&id)
            .bind(Role::Admin.as_str())
            .bind(auth::hash_password(&password))
            .bind(now)
            .execute(tx.conn())
            .await?;
        let after = serde_json::json!({"username": "admin", "role": "admin"});
        audit::append(
            &mut tx,
            self.db.backend,
            now,
            &Actor::system(),
            Event {
                action: "create",
                entity_type: "user",
                entity_id: Some(id),
                before: None,
                after: Some(after),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(Some(FirstAdmin {
            password: generated.then_some(password),
        }))
    }
}

/// The first admin account was just created.
pub struct FirstAdmin {
    /// Set when the password was generated rather than given.
    pub password: Option<String>,
}
