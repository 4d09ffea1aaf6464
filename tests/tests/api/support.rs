//! `TestApp`: a server on its own database and port, with a fake clock.

use std::path::PathBuf;
use std::sync::Arc;

use gozcu_server::app::App;
use gozcu_server::clock::FakeClock;
use gozcu_server::config::{Secret, Settings};
use gozcu_shared::sync::{PullRequest, PullResponse, PushRequest, PushResponse};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

pub const ADMIN_PASSWORD: &str = "admin-password-123";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Generates a `sqlite` and a `postgres` test from one async fn taking a
/// [`Backend`].
macro_rules! both {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name($crate::support::Backend::Sqlite).await
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    if $crate::support::postgres_url().is_some() {
                        super::$name($crate::support::Backend::Postgres).await
                    }
                }
            }
        )*
    };
}

/// The server URL of the PostgreSQL cluster that `cargo xtask test` starts.
/// Without it the PostgreSQL variants are skipped, unless
/// `GOZCU_REQUIRE_POSTGRES=1` says that would be a mistake.
pub fn postgres_url() -> Option<String> {
    match std::env::var("GOZCU_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var("GOZCU_REQUIRE_POSTGRES").as_deref() != Ok("1"),
                "GOZCU_REQUIRE_POSTGRES=1 but GOZCU_TEST_POSTGRES_URL is not set"
            );
            eprintln!("PostgreSQL variant skipped: GOZCU_TEST_POSTGRES_URL is not set (cargo xtask test sets it)");
            None
        }
    }
}

/// Creates a fresh database on the test cluster and returns its URL.
async fn fresh_postgres_db(server_url: &str) -> String {
    use sqlx::Connection;
    let name = format!("gozcu_test_{}", uuid::Uuid::new_v4().simple());
    let mut conn = sqlx::postgres::PgConnection::connect(server_url)
        .await
        .expect("connect to test PostgreSQL");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .expect("create test database");
    let base = server_url
        .rsplit_once('/')
        .map(|(b, _)| b)
        .unwrap_or(server_url);
    format!("{base}/{name}")
}

pub struct TestApp {
    pub base: String,
    pub app: App,
    pub clock: FakeClock,
    pub backend: Backend,
    pub data_dir: PathBuf,
    pub database_url: String,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        // The data directory holds the SQLite file and, on both backends,
        // the master key file.
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

/// 2026-11-23T00:00:00Z: tests get a fixed "today".
pub const START_MS: i64 = 1_795_392_000_000;

impl TestApp {
    pub async fn spawn(backend: Backend) -> TestApp {
        TestApp::spawn_with(backend, |_| {}).await
    }

    /// A server whose settings `configure` changes first (a time zone, a
    /// limit).
    pub async fn spawn_with(backend: Backend, configure: impl FnOnce(&mut Settings)) -> TestApp {
        let data_dir =
            std::env::temp_dir().join(format!("gozcu-test-{}", uuid::Uuid::new_v4().simple()));
        let database_url = match backend {
            Backend::Sqlite => format!("sqlite://{}?mode=rwc", data_dir.join("gozcu.db").display()),
            Backend::Postgres => fresh_postgres_db(&postgres_url().expect("PostgreSQL URL")).await,
        };
        let settings = Settings {
            data_dir: data_dir.clone(),
            database_url: Some(Secret::new(database_url.clone())),
            admin_password: Some(Secret::new(ADMIN_PASSWORD)),
            // A tiny JSON limit keeps the "oversized body" test cheap.
            max_body_bytes: 64 * 1024,
            ..Settings::default()
        };
        let mut settings = settings;
        configure(&mut settings);
        let clock = FakeClock::new(START_MS);
        let app = App::open(settings, Arc::new(clock.clone()))
            .await
            .expect("open app");
        app.ensure_admin().await.expect("create admin");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let served = app.clone();
        tokio::spawn(async move {
            gozcu_server::http::serve(listener, served, async {
                let _ = rx.await;
            })
            .await
            .unwrap();
        });
        TestApp {
            base,
            app,
            clock,
            backend,
            data_dir,
            database_url,
            shutdown: Some(tx),
        }
    }

    /// A fresh browser-like client (own cookie jar), not logged in.
    pub fn anonymous(&self) -> Client {
        Client {
            base: self.base.clone(),
            http: reqwest::Client::builder()
                .cookie_store(true)
                .build()
                .unwrap(),
            csrf: None,
        }
    }

    pub async fn login(&self, username: &str, password: &str) -> Client {
        let mut c = self.anonymous();
        let (status, body) = c
            .send(
                Method::POST,
                "/api/v1/auth/login",
                Some(json!({"username": username, "password": password})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "login as {username}: {body}");
        c.csrf = Some(body["csrf_token"].as_str().unwrap().to_owned());
        c
    }

    pub async fn admin(&self) -> Client {
        self.login("admin", ADMIN_PASSWORD).await
    }

    /// Creates a user with a role (and optional site scope) and logs them in.
    pub async fn user(&self, admin: &Client, username: &str, role: &str, sites: &[&str]) -> Client {
        let password = format!("{username}-password-1");
        let (s, b) = admin.post("/api/v1/users", json!({"username": username, "display_name": username, "role": role, "site_ids": sites, "password": password})).await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
        self.login(username, &password).await
    }
}

pub struct Client {
    pub base: String,
    pub http: reqwest::Client,
    pub csrf: Option<String>,
}

impl Client {
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(csrf) = &self.csrf {
            req = req.header("x-csrf-token", csrf);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status();
        let text = resp.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// A GET whose answer is a file: status, content type and bytes.
    pub async fn get_bytes(&self, path: &str) -> (StatusCode, String, Vec<u8>) {
        let resp = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("request");
        let status = resp.status();
        let kind = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        (status, kind, resp.bytes().await.unwrap().to_vec())
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.send(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.send(Method::POST, path, Some(body)).await
    }

    pub async fn put(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.send(Method::PUT, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> (StatusCode, Value) {
        self.send(Method::DELETE, path, None).await
    }

    /// Sends a CSV body to the import endpoint.
    pub async fn import(
        &self,
        csv: impl Into<reqwest::Body>,
        dry_run: bool,
    ) -> (StatusCode, Value) {
        let resp = self
            .http
            .post(format!(
                "{}/api/v1/cameras/import?dry_run={dry_run}",
                self.base
            ))
            .header("x-csrf-token", self.csrf.clone().unwrap_or_default())
            .header("content-type", "text/csv")
            .body(csv)
            .send()
            .await
            .unwrap();
        let status = resp.status();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    pub async fn create_site(&self, name: &str) -> String {
        let (s, b) = self.post("/api/v1/sites", json!({"name": name})).await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
        b["id"].as_str().unwrap().to_owned()
    }

    /// `POST /api/v1/sync/push` with a typed body; the raw answer.
    pub async fn push(&self, req: &PushRequest) -> (StatusCode, Value) {
        self.post("/api/v1/sync/push", serde_json::to_value(req).unwrap())
            .await
    }

    /// A push that must succeed as a whole (single mutations may still be
    /// rejected inside the answer).
    pub async fn push_ok(&self, req: &PushRequest) -> PushResponse {
        let (s, b) = self.push(req).await;
        assert_eq!(s, StatusCode::OK, "push: {b}");
        serde_json::from_value(b).expect("a PushResponse")
    }

    /// `POST /api/v1/sync/pull` with a typed body; the raw answer.
    pub async fn pull(&self, req: &PullRequest) -> (StatusCode, Value) {
        self.post("/api/v1/sync/pull", serde_json::to_value(req).unwrap())
            .await
    }

    pub async fn pull_ok(&self, req: &PullRequest) -> PullResponse {
        let (s, b) = self.pull(req).await;
        assert_eq!(s, StatusCode::OK, "pull: {b}");
        serde_json::from_value(b).expect("a PullResponse")
    }

    pub async fn create_camera(&self, site: &str, name: &str, extra: Value) -> Value {
        let mut body = json!({"site_id": site, "name": name, "make": "Hikvision"});
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().cloned().unwrap_or_default());
        let (s, b) = self.post("/api/v1/cameras", body).await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
        b
    }
}

/// The `code` fields of an error body's field errors, as (field, code).
pub fn field_codes(body: &Value) -> Vec<(String, String)> {
    body["fields"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|f| {
                    (
                        f["field"].as_str().unwrap_or("").to_owned(),
                        f["code"].as_str().unwrap_or("").to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// One number from the test's database (`SELECT COUNT(*) …` and the like),
/// read past the API so that a test can check what was really stored.
pub async fn scalar(t: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar::<_, i64>(sql)
        .fetch_one(&t.app.db.pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}
