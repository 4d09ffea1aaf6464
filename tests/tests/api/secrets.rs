//! Device passwords: encrypted at rest, revealed only to admin/supervisor,
//! every reveal audited.

use reqwest::StatusCode;
use serde_json::json;
use sqlx::Connection;

use crate::support::{Backend, TestApp};

both!(credentials_are_sealed_and_reveals_audited);

const PASSWORD: &str = "Kamera-Şifresi-7731";

async fn credentials_are_sealed_and_reveals_audited(backend: Backend) {
    let t = TestApp::spawn(backend).await;
    let admin = t.admin().await;
    let site = admin.create_site("Gizli").await;
    let cam = admin.create_camera(&site, "K", json!({})).await;
    let id = cam["id"].as_str().unwrap();
    let (_, r) = admin
        .post(
            "/api/v1/recorders",
            json!({"site_id": site, "name": "R", "make": "M", "channels": 4}),
        )
        .await;
    let rid = r["id"].as_str().unwrap();

    let tech = t.user(&admin, "tek", "technician", &[]).await;
    let (s, _) = tech
        .put(
            &format!("/api/v1/cameras/{id}/credentials"),
            json!({"username": "admin", "password": PASSWORD}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = admin
        .put(
            &format!("/api/v1/recorders/{rid}/credentials"),
            json!({"username": "admin", "password": PASSWORD}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, got) = admin.get(&format!("/api/v1/cameras/{id}")).await;
    assert_eq!(got["has_credentials"], true);
    assert!(!got.to_string().contains(PASSWORD));

    // Technicians may store but not read back a password.
    let (s, _) = tech
        .post(
            &format!("/api/v1/cameras/{id}/credentials/reveal"),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let sup = t.user(&admin, "amir", "supervisor", &[]).await;
    let (s, c) = sup
        .post(
            &format!("/api/v1/cameras/{id}/credentials/reveal"),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        (c["username"].as_str(), c["password"].as_str()),
        (Some("admin"), Some(PASSWORD))
    );
    let (_, log) = admin.get("/api/v1/audit").await;
    let reveal = log
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "reveal_credentials")
        .expect("reveal audited");
    assert_eq!(reveal["actor_name"], "amir");
    assert_eq!(reveal["entity_id"], id);
    assert!(
        !log.to_string().contains(PASSWORD),
        "the audit log never holds the password"
    );

    // A dump of the whole database holds no password in plain text.
    let dump = dump_database(&t).await;
    assert!(
        dump.len() > 1000,
        "the dump has content ({} bytes)",
        dump.len()
    );
    assert!(
        !contains(&dump, PASSWORD.as_bytes()),
        "plain-text password found in the database"
    );
    assert!(
        contains(&dump, b"reveal_credentials"),
        "the dump is a real dump"
    );
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// Every byte the database holds: the SQLite files after a checkpoint, or
/// every row of every table of the PostgreSQL database as text.
async fn dump_database(t: &TestApp) -> Vec<u8> {
    match t.backend {
        Backend::Sqlite => {
            sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(&t.app.db.pool)
                .await
                .unwrap();
            let mut all = Vec::new();
            for entry in std::fs::read_dir(&t.data_dir).unwrap() {
                let path = entry.unwrap().path();
                if path
                    .file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with("gozcu.db")
                {
                    all.extend(std::fs::read(path).unwrap());
                }
            }
            all
        }
        Backend::Postgres => {
            let mut conn = sqlx::postgres::PgConnection::connect(&t.database_url)
                .await
                .unwrap();
            let tables: Vec<String> = sqlx::query_scalar("SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public'").fetch_all(&mut conn).await.unwrap();
            let mut all = Vec::new();
            for table in tables {
                let rows: Vec<String> =
                    sqlx::query_scalar(&format!("SELECT t::text FROM \"{table}\" t"))
                        .fetch_all(&mut conn)
                        .await
                        .unwrap();
                for r in rows {
                    all.extend(r.into_bytes());
                    all.push(b'\n');
                }
            }
            all
        }
    }
}
