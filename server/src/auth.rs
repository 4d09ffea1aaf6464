//! Accounts: Argon2id password hashes, sessions and login throttling.
//!
//! A session is a random 256-bit token in an HttpOnly cookie; the database
//! keeps only its SHA-256. Each session also has a CSRF token that the app
//! echoes in `X-CSRF-Token` on mutations (checked in [`crate::http::guard`]).
//! Failed logins lock the account for a while after a few attempts in a row,
//! and a per-address limiter stops password spraying across accounts.

use std::collections::HashMap;
use std::sync::Mutex;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;
use gozcu_shared::api::User;
use gozcu_shared::Role;
use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::Row;
use uuid::Uuid;

use crate::db::Db;

pub fn hash_password(password: &str) -> String {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    // Argon2::default() is Argon2id v19 with OWASP's recommended m=19 MiB, t=2, p=1.
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 hashing with valid params cannot fail")
        .to_string()
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// Verifies against a fixed hash so that a login for an unknown user takes
/// as long as one for a known user, and timing does not reveal usernames.
pub fn burn_verify_time(password: &str) {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let hash = DUMMY.get_or_init(|| hash_password("not-a-real-password"));
    let _ = verify_password(password, hash);
}

pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    B64URL.encode(bytes)
}

pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A password is at least this long; length beats composition rules.
pub fn password_ok(password: &str) -> bool {
    password.chars().count() >= gozcu_shared::api::MIN_PASSWORD_LEN
}

/// A user row as the auth code needs it.
pub struct UserRow {
    pub user: User,
    pub password_hash: String,
    pub failed_logins: i64,
    pub locked_until: i64,
}

const USER_COLUMNS: &str =
    "id, username, display_name, role, active, password_hash, failed_logins, locked_until";

fn user_from_row(row: &sqlx::any::AnyRow) -> Result<UserRow, sqlx::Error> {
    let id: String = row.try_get(0)?;
    let role: String = row.try_get(3)?;
    Ok(UserRow {
        user: User {
            id: Uuid::parse_str(&id).map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
            username: row.try_get(1)?,
            display_name: row.try_get(2)?,
            role: Role::parse(&role)
                .ok_or_else(|| sqlx::Error::Decode(format!("unknown role {role}").into()))?,
            site_ids: Vec::new(),
            active: row.try_get::<i64, _>(4)? != 0,
        },
        password_hash: row.try_get(5)?,
        failed_logins: row.try_get(6)?,
        locked_until: row.try_get(7)?,
    })
}

pub async fn user_by_name(db: &Db, username: &str) -> Result<Option<UserRow>, sqlx::Error> {
    let row = sqlx::query(&format!(
        "SELECT {USER_COLUMNS} FROM users WHERE username = $1"
    ))
    .bind(username)
    .fetch_optional(&db.pool)
    .await?;
    match row {
        Some(r) => {
            let mut u = user_from_row(&r)?;
            u.user.site_ids = user_sites(db, &u.user.id).await?;
            Ok(Some(u))
        }
        None => Ok(None),
    }
}

pub async fn user_sites(db: &Db, user_id: &Uuid) -> Result<Vec<Uuid>, sqlx::Error> {
    let rows = sqlx::query("SELECT site_id FROM user_sites WHERE user_id = $1 ORDER BY site_id")
        .bind(user_id.to_string())
        .fetch_all(&db.pool)
        .await?;
    rows.iter()
        .map(|r| {
            r.try_get::<String, _>(0)
                .map(|s| Uuid::parse_str(&s).unwrap_or_default())
        })
        .collect()
}

pub async fn list_users(db: &Db) -> Result<Vec<User>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "SELECT {USER_COLUMNS} FROM users ORDER BY username"
    ))
    .fetch_all(&db.pool)
    .await?;
    let mut users = Vec::with_capacity(rows.len());
    for r in &rows {
        let mut u = user_from_row(r)?.user;
        u.site_ids = user_sites(db, &u.id).await?;
        users.push(u);
    }
    Ok(users)
}

pub async fn user_by_id(db: &Db, id: &Uuid) -> Result<Option<User>, sqlx::Error> {
    let row = sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1"))
        .bind(id.to_string())
        .fetch_optional(&db.pool)
        .await?;
    match row {
        Some(r) => {
            let mut u = user_from_row(&r)?.user;
            u.site_ids = user_sites(db, &u.id).await?;
            Ok(Some(u))
        }
        None => Ok(None),
    }
}

/// A live session and its user.
pub struct SessionRow {
    pub user: User,
    pub csrf_token: String,
    pub expires_at: i64,
}

pub async fn session(db: &Db, token: &str, now_ms: i64) -> Result<Option<SessionRow>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT u.id, u.username, u.display_name, u.role, u.active, u.password_hash, u.failed_logins, u.locked_until, s.csrf_token, s.expires_at \
         FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1 AND s.expires_at > $2",
    )
    .bind(token_hash(token))
    .bind(now_ms)
    .fetch_optional(&db.pool)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let mut u = user_from_row(&row)?.user;
    if !u.active {
        return Ok(None);
    }
    u.site_ids = user_sites(db, &u.id).await?;
    Ok(Some(SessionRow {
        user: u,
        csrf_token: row.try_get(8)?,
        expires_at: row.try_get(9)?,
    }))
}

/// Counts failed logins per client address over a sliding minute, in memory:
/// good enough for one process, and a restart only forgives a minute.
#[derive(Debug, Default)]
pub struct IpThrottle {
    failures: Mutex<HashMap<String, Vec<i64>>>,
}

impl IpThrottle {
    pub const MAX_PER_MINUTE: usize = 20;

    pub fn is_limited(&self, ip: &str, now_ms: i64) -> bool {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let entry = map.entry(ip.to_owned()).or_default();
        entry.retain(|t| now_ms - t < 60_000);
        entry.len() >= Self::MAX_PER_MINUTE
    }

    pub fn record_failure(&self, ip: &str, now_ms: i64) {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() > 100_000 {
            // Bound memory under a spray from many addresses.
            map.clear();
        }
        map.entry(ip.to_owned()).or_default().push(now_ms);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argon2id_hashes_verify() {
        let h = hash_password("doğru-şifre-123");
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("doğru-şifre-123", &h));
        assert!(!verify_password("yanlış", &h));
        assert!(!verify_password("x", "not a hash"));
    }

    #[test]
    fn tokens_are_random_and_hashed() {
        let a = random_token();
        assert_ne!(a, random_token());
        assert_eq!(token_hash(&a).len(), 64);
        assert_ne!(token_hash(&a), a);
    }

    #[test]
    fn ip_throttle_slides() {
        let t = IpThrottle::default();
        for i in 0..IpThrottle::MAX_PER_MINUTE {
            assert!(!t.is_limited("1.2.3.4", i as i64));
            t.record_failure("1.2.3.4", i as i64);
        }
        assert!(t.is_limited("1.2.3.4", 100));
        assert!(!t.is_limited("5.6.7.8", 100));
        assert!(!t.is_limited("1.2.3.4", 61_000));
    }
}
