//! A sync push interrupted by SIGKILL, against the real `gozcu` binary on
//! SQLite: the server must keep a consistent prefix of the push (every
//! committed camera with its audit entry and the client's number in the same
//! transaction), and the app's retry of the very same push must complete it
//! without a duplicate or a missing camera.
//!
//! The binary is `GOZCU_BIN` (set by `cargo xtask test`) or
//! `target/debug/gozcu`. Without either the test says it was skipped, unless
//! `GOZCU_REQUIRE_E2E=1` (CI), which makes that a failure.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use gozcu_shared::inventory::Camera;
use gozcu_shared::sync::{
    entity_fields, upsert_fields, EntityKind, EntityRef, Hlc, Mutation, MutationKind, PullRequest,
    PullResponse, PushOutcome, PushRequest, PushResponse, PUSH_MAX_MUTATIONS, SCHEMA_VERSION,
};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::{Connection, SqliteConnection};
use uuid::Uuid;

const ADMIN_PASSWORD: &str = "kill-admin-password-1";
/// A full push, the largest the app sends.
const MUTATIONS: usize = PUSH_MAX_MUTATIONS;
/// Fresh servers to try before giving up on landing the kill mid-push.
const ATTEMPTS: usize = 3;

fn binary() -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_owned();
    let bin = std::env::var_os("GOZCU_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target/debug/gozcu"));
    if bin.is_file() {
        return Some(bin);
    }
    assert!(
        std::env::var("GOZCU_REQUIRE_E2E").as_deref() != Ok("1"),
        "GOZCU_REQUIRE_E2E=1 but there is no server binary at {}",
        bin.display()
    );
    println!(
        "sync kill test skipped: no server binary at {} (run `cargo build -p gozcu-server` or `cargo xtask test`)",
        bin.display()
    );
    None
}

/// A fresh directory under the system temp dir, removed at the end.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        let dir = std::env::temp_dir().join(format!("gozcu-kill-{}", Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `gozcu serve` on a free port; killed with SIGKILL if a test fails
/// half-way, so that no server outlives the test.
struct Server {
    child: Child,
    base: String,
}

impl Server {
    async fn start(bin: &Path, data: &Path) -> Server {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut cmd = Command::new(bin);
        // A clean environment, so a developer's GOZCU_* variables (another
        // database, say) do not leak in.
        for (k, _) in std::env::vars() {
            if k.starts_with("GOZCU_") {
                cmd.env_remove(k);
            }
        }
        let child = cmd
            .arg("serve")
            .env("GOZCU_DATA_DIR", data)
            .env("GOZCU_LISTEN", format!("127.0.0.1:{port}"))
            .env("GOZCU_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("GOZCU_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()
            .expect("start gozcu serve");
        let mut server = Server {
            child,
            base: format!("http://127.0.0.1:{port}"),
        };
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(r) = http.get(format!("{}/healthz", server.base)).send().await {
                if r.status().is_success() {
                    return server;
                }
            }
            if let Some(status) = server.child.try_wait().unwrap() {
                panic!("gozcu serve exited early: {status}");
            }
            assert!(Instant::now() < deadline, "gozcu serve did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// SIGKILL: no shutdown handler runs, no transaction is finished.
    fn kill(&mut self) -> ExitStatus {
        // `Child::kill` sends SIGKILL on Unix, straight to this pid.
        self.child.kill().expect("SIGKILL");
        self.child.wait().unwrap()
    }

    /// SIGTERM and wait for the clean exit.
    fn stop(&mut self) -> ExitStatus {
        Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "server did not stop on SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A logged-in API session: its cookie jar and CSRF token.
#[derive(Clone)]
struct Session {
    http: reqwest::Client,
    base: String,
    csrf: String,
}

impl Session {
    async fn login(base: &str) -> Session {
        let http = reqwest::Client::builder()
            .cookie_store(true)
            .build()
            .unwrap();
        let r = http
            .post(format!("{base}/api/v1/auth/login"))
            .json(&json!({"username": "admin", "password": ADMIN_PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let body: Value = r.json().await.unwrap();
        Session {
            http,
            base: base.to_owned(),
            csrf: body["csrf_token"].as_str().unwrap().to_owned(),
        }
    }

    /// Posts a prepared JSON body; `Err` when the connection broke before an
    /// answer arrived.
    async fn post(&self, path: &str, body: Vec<u8>) -> reqwest::Result<(StatusCode, Value)> {
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .header("x-csrf-token", &self.csrf)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await?;
        let status = r.status();
        let text = r.text().await?;
        Ok((
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        ))
    }

    async fn get(&self, path: &str) -> Value {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        r.json().await.unwrap()
    }
}

/// The push a tablet sends after a day of registering cameras offline: one
/// new camera per mutation, each with a whole form and its own serial and IP.
fn big_push(client_id: Uuid, site: Uuid) -> (PushRequest, Vec<Uuid>) {
    let mut clock = Hlc::new(client_id);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let mut ids = Vec::new();
    let mutations = (1..=MUTATIONS)
        .map(|n| {
            let id = Uuid::now_v7();
            ids.push(id);
            let mut form = serde_json::to_value(Camera::default()).unwrap();
            form.as_object_mut().unwrap().extend(
                json!({
                    "site_id": site,
                    "name": format!("Kamera {n:04}"),
                    "make": "Hikvision",
                    "serial": format!("KILL{n:06}"),
                    "ip": format!("10.77.{}.{}", n / 250, n % 250 + 1),
                    "status": "installed",
                })
                .as_object()
                .cloned()
                .unwrap(),
            );
            let hlc = clock.tick(now);
            Mutation {
                client_id,
                mutation_id: n as u64,
                hlc,
                kind: MutationKind::Upsert {
                    entity: EntityRef {
                        kind: EntityKind::Camera,
                        id,
                    },
                    fields: upsert_fields(None, &entity_fields(&form), hlc),
                },
            }
        })
        .collect();
    (
        PushRequest {
            schema_version: SCHEMA_VERSION,
            client_id,
            mutations,
        },
        ids,
    )
}

async fn count(db: &mut SqliteConnection, sql: &str) -> i64 {
    sqlx::query_scalar::<_, i64>(sql)
        .fetch_one(&mut *db)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// The database file, read past the server (read-only; WAL lets this reader
/// look while the server writes).
async fn open_db(data: &Path) -> SqliteConnection {
    let url = format!("sqlite://{}?mode=ro", data.join("gozcu.db").display());
    SqliteConnection::connect(&url).await.unwrap()
}

/// What one attempt saw at the moment of the kill.
struct Killed {
    /// Cameras committed when the poll saw the push under way.
    seen: i64,
    /// The interrupted request's own result.
    answered: bool,
}

/// Starts the push in the background, watches the database until the first
/// batch is committed, and kills the server there.
async fn push_and_kill(
    server: &mut Server,
    session: &Session,
    body: Vec<u8>,
    data: &Path,
) -> Killed {
    let mut db = open_db(data).await;
    let pushing = {
        let session = session.clone();
        tokio::spawn(async move { session.post("/api/v1/sync/push", body).await })
    };
    let deadline = Instant::now() + Duration::from_secs(120);
    let seen = loop {
        let n = count(&mut db, "SELECT COUNT(*) FROM cameras").await;
        if n > 0 || pushing.is_finished() {
            break n;
        }
        assert!(
            Instant::now() < deadline,
            "the push never committed a camera"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    };
    let status = server.kill();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), Some(9), "the server died of SIGKILL");
    drop(db);
    let answered = match pushing.await.unwrap() {
        Ok((s, b)) => {
            assert_eq!(s, StatusCode::OK, "{b}");
            true
        }
        Err(_) => false,
    };
    Killed { seen, answered }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_killed_midway_keeps_a_prefix_and_the_retry_completes_it() {
    let Some(bin) = binary() else {
        return;
    };
    for attempt in 1..=ATTEMPTS {
        let data = TempDir::new();
        if run(&bin, &data.0).await {
            return;
        }
        eprintln!("attempt {attempt}: the push finished before the kill; trying again");
    }
    panic!("in {ATTEMPTS} attempts the kill never landed in the middle of the push");
}

/// One attempt; `false` when the kill came too late to interrupt the push
/// (everything was already committed), which proves nothing.
async fn run(bin: &Path, data: &Path) -> bool {
    let mut server = Server::start(bin, data).await;
    let session = Session::login(&server.base).await;
    let (s, site) = session
        .post(
            "/api/v1/sites",
            serde_json::to_vec(&json!({"name": "Kesinti"})).unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(s, StatusCode::CREATED, "{site}");
    let site: Uuid = site["id"].as_str().unwrap().parse().unwrap();
    let client_id = Uuid::now_v7();
    let (push, ids) = big_push(client_id, site);
    let body = serde_json::to_vec(&push).unwrap();

    let killed = push_and_kill(&mut server, &session, body.clone(), data).await;
    // What survived, read from the file before anything else touches it.
    let mut db = open_db(data).await;
    let committed = count(&mut db, "SELECT COUNT(*) FROM cameras").await;
    let last = count(
        &mut db,
        &format!("SELECT last_processed FROM sync_clients WHERE client_id = '{client_id}'"),
    )
    .await;
    let audited = count(
        &mut db,
        "SELECT COUNT(*) FROM audit_log WHERE action = 'sync_create'",
    )
    .await;
    let records = count(
        &mut db,
        "SELECT COUNT(*) FROM sync_records WHERE kind = 'camera'",
    )
    .await;
    drop(db);
    if committed == MUTATIONS as i64 {
        assert_eq!(
            (last, audited, records),
            (committed, committed, committed),
            "even a finished push must be consistent"
        );
        return false;
    }
    println!(
        "SIGKILL after the poll saw {} cameras: {committed} of {MUTATIONS} survived",
        killed.seen
    );
    assert!(
        !killed.answered,
        "the push was cut off, so its client never got an answer"
    );
    assert!(committed >= killed.seen && committed > 0);
    // The consistent prefix: the client's number, the cameras, their audit
    // entries and their sync records were committed together.
    assert_eq!(
        last, committed,
        "last_processed matches the committed cameras"
    );
    assert_eq!(audited, committed, "one audit entry per committed camera");
    assert_eq!(records, committed, "one sync record per committed camera");

    // Restart on the same data and retry the very same push, as the app does
    // after a failed request.
    let mut server = Server::start(bin, data).await;
    let session = Session::login(&server.base).await;
    let pull = PullRequest {
        schema_version: SCHEMA_VERSION,
        client_id,
        epoch: None,
        cursor: 0,
        limit: Some(1),
    };
    let (s, pulled) = session
        .post("/api/v1/sync/pull", serde_json::to_vec(&pull).unwrap())
        .await
        .unwrap();
    assert_eq!(s, StatusCode::OK, "{pulled}");
    let pulled: PullResponse = serde_json::from_value(pulled).unwrap();
    assert_eq!(pulled.last_processed as i64, committed);

    let (s, answer) = session.post("/api/v1/sync/push", body).await.unwrap();
    assert_eq!(s, StatusCode::OK, "{answer}");
    let answer: PushResponse = serde_json::from_value(answer).unwrap();
    assert_eq!(answer.last_processed, MUTATIONS as u64);
    assert_eq!(answer.results.len(), MUTATIONS);
    for (i, r) in answer.results.iter().enumerate() {
        assert_eq!(r.mutation_id, i as u64 + 1);
        if (i as i64) < committed {
            assert_eq!(
                r.outcome,
                PushOutcome::AlreadyProcessed,
                "mutation {}",
                i + 1
            );
        } else {
            assert!(
                matches!(r.outcome, PushOutcome::Accepted { gap: None, .. }),
                "mutation {}: {:?}",
                i + 1,
                r.outcome
            );
        }
    }
    let page = session.get("/api/v1/cameras?limit=1").await;
    assert_eq!(page["total"], MUTATIONS);
    assert_eq!(server.stop().code(), Some(0), "clean shutdown");

    // Every camera exactly once, each with exactly one creation entry.
    let mut db = open_db(data).await;
    let stored: BTreeSet<String> = sqlx::query_scalar("SELECT id FROM cameras")
        .fetch_all(&mut db)
        .await
        .unwrap()
        .into_iter()
        .collect();
    let expected: BTreeSet<String> = ids.iter().map(Uuid::to_string).collect();
    assert_eq!(stored, expected, "exactly the pushed cameras");
    assert_eq!(
        count(
            &mut db,
            "SELECT COUNT(*) FROM audit_log WHERE action = 'sync_create'"
        )
        .await,
        MUTATIONS as i64
    );
    assert_eq!(
        count(
            &mut db,
            "SELECT COUNT(DISTINCT entity_id) FROM audit_log WHERE action = 'sync_create'"
        )
        .await,
        MUTATIONS as i64,
        "no camera was created twice"
    );
    assert_eq!(
        count(
            &mut db,
            &format!("SELECT last_processed FROM sync_clients WHERE client_id = '{client_id}'")
        )
        .await,
        MUTATIONS as i64
    );
    drop(db);

    // The audit chain survived the kill intact.
    let verify = Command::new(bin)
        .args(["audit", "verify"])
        .env("GOZCU_DATA_DIR", data)
        .env_remove("GOZCU_DATABASE_URL")
        .env("GOZCU_LOG", "warn")
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&verify.stdout);
    assert!(verify.status.success(), "audit verify: {out}");
    assert!(out.contains("intact"), "{out}");
    true
}
