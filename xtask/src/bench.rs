//! `cargo xtask bench`: the performance targets of the inventory, each
//! printed beside a reference measured in the same run on the same machine,
//! and written to `docs/benchmarks.md`.
//!
//! - list/search API latency (p50/p99) with 10,000 cameras, on SQLite and on
//!   PostgreSQL, against the same SQL run directly (Python's `sqlite3`
//!   module in-process; `psql` with `\timing` over TCP);
//! - CSV import rows/s for 10,000 rows through the API, against loading the
//!   same file into a bare table (`sqlite3 .import`; `psql \copy`);
//! - offline sync on the same server, on SQLite and on PostgreSQL: a device
//!   pushing 10,000 new cameras (five full pushes) and another pulling them,
//!   against the CSV import of the same number of cameras through the API;
//!   and a fresh device pulling the 10,000 imported cameras page by page,
//!   against the REST list of the same cameras in pages of the same size;
//! - IndexedDB write throughput in headless Chromium (at the server's
//!   origin, as the PWA's replica writes it), against `localStorage` for the
//!   same records and against one transaction per record; skipped with a
//!   message when Chromium or chromedriver is missing;
//! - the gzipped size of the PWA's wasm, against its 600 KB budget;
//! - the camera probe: time to the first decoded frame against ffmpeg, and
//!   probes per second over 200 loopback cameras (`bench_probe`; also run
//!   alone by `cargo xtask bench probe`).

use std::{
    fmt::Write as _,
    fs,
    io::Write as _,
    path::{Path, PathBuf},
    process::{Child, Command, ExitCode, Stdio},
    thread::sleep,
    time::{Duration, Instant, SystemTime},
};

use anyhow::{bail, ensure, Context, Result};
use serde_json::{json, Value};

use crate::{
    install, postgres, pwa,
    util::{self, cargo, check_interrupted, Stages},
};

const CAMERAS: usize = 10_000;
/// Timed requests per query; p99 of 200 samples is the second slowest.
const REQUESTS: usize = 200;
/// Untimed requests first, so that caches, prepared statements and the
/// connection pool are warm on both sides of the comparison.
const WARMUP: usize = 10;
/// Imports are timed this many times, each into a fresh database, and the
/// median reported.
const IMPORT_RUNS: usize = 3;
const P99_TARGET_MS: f64 = 30.0;
const WASM_GZ_BUDGET_BYTES: u64 = 600 * 1024;
const ADMIN_PASSWORD: &str = "bench-admin-Passw0rd";
const SITE: &str = "Benchmark Site";
const PLACES: &[&str] = &[
    "Otopark", "Koridor", "Depo", "Lobi", "Bahce", "Ofis", "Kapi", "Cati",
];
const MAKES: &[&str] = &["Hikvision", "Dahua", "Axis", "Bosch", "Hanwha"];
const STATUSES: &[&str] = &["installed", "installed", "installed", "planned", "faulty"];
const RESULTS_FILE: &str = "docs/benchmarks.md";
/// Mutations a device pushes in the sync benchmark.
const SYNC_MUTATIONS: usize = 10_000;
/// The most mutations one push carries (`PUSH_MAX_MUTATIONS`).
const PUSH_MAX: usize = 2_000;
/// The wire format version (`gozcu_shared::sync::SCHEMA_VERSION`; a unit
/// test keeps them equal).
const SYNC_SCHEMA_VERSION: u32 = 3;
/// The app's pull page (`PULL_LIMIT_DEFAULT`), also the REST reference's page.
const PAGE: usize = 1_000;
const SYNC_TARGET_S: f64 = 2.0;
const FRESH_PULL_TARGET_S: f64 = 5.0;
/// IndexedDB: records written in pages, records written one transaction each.
const IDB_RECORDS: usize = 10_000;
const IDB_SINGLE: usize = 1_000;

pub fn bench() -> Result<ExitCode> {
    util::handle_ctrl_c()?;
    let root = util::root();
    let mut stages = Stages::default();
    let result = bench_stages(&root, &mut stages);
    stages.print_summary(result.is_ok());
    result.map(|()| ExitCode::SUCCESS)
}

fn bench_stages(root: &Path, stages: &mut Stages) -> Result<()> {
    let tools = stages.run("install prerequisites", || {
        // sqlite3 is the reference for the SQLite import.
        // imagemagick is the reference for the browser's photo downscale.
        install::debian_packages(&["postgresql", "sqlite3", "imagemagick"])?;
        // GStreamer's RTSP server and ffmpeg for the camera probe.
        install::debian_packages(crate::bench_probe::PACKAGES)?;
        install::pwa_tools(root)
    })?;
    let pwa = stages.run("build PWA", || pwa::build(root, &tools))?;
    stages.run("build release server", || {
        util::run(cargo(root).args(["build", "--release", "-p", "gozcu-server"]))
    })?;

    let work = root.join("target/bench");
    if work.exists() {
        fs::remove_dir_all(&work).with_context(|| format!("removing {}", work.display()))?;
    }
    fs::create_dir_all(&work).with_context(|| format!("creating {}", work.display()))?;
    let csv_path = work.join("cameras.csv");
    fs::write(&csv_path, cameras_csv())
        .with_context(|| format!("writing {}", csv_path.display()))?;

    let load_before = other_cpu_use();
    println!("CPUs busy with other work before the measurements: {load_before}");
    let sqlite = stages.run("benchmark on SQLite", || {
        bench_sqlite(root, &work, &csv_path)
    })?;
    let postgres = stages.run("benchmark on PostgreSQL", || {
        bench_postgres(root, &work, &csv_path)
    })?;

    let indexeddb = stages.run("benchmark IndexedDB in Chromium", || {
        Ok(bench_indexeddb(root, &work).map_err(|e| {
            eprintln!("warning: IndexedDB benchmark: {e:#}");
            format!("{e:#}")
        }))
    })?;

    let reports = stages.run("benchmark PDF reports", || {
        Ok(crate::bench_reports::run(root, &work).map_err(|e| {
            eprintln!("warning: PDF benchmark: {e:#}");
            format!("{e:#}")
        }))
    })?;

    let photos = stages.run("benchmark photo downscale in Chromium", || {
        Ok(crate::bench_photos::run(root).map_err(|e| {
            eprintln!("warning: photo benchmark: {e:#}");
            format!("{e:#}")
        }))
    })?;

    let probe = stages.run("benchmark camera probe", || {
        Ok(crate::bench_probe::run(root).map_err(|e| {
            eprintln!("warning: camera probe benchmark: {e:#}");
            format!("{e:#}")
        }))
    })?;

    let report = Report {
        photos,
        probe,
        load_before,
        backends: vec![sqlite, postgres],
        indexeddb,
        reports,
        wasm_gz_bytes: pwa.wasm_gz_bytes,
        wasm_bytes: pwa.wasm_bytes,
    };
    let markdown = report.markdown(root);
    println!("\n{}", report.console());
    let path = root.join(RESULTS_FILE);
    fs::write(&path, markdown).with_context(|| format!("writing {}", path.display()))?;
    println!("written to {}", path.display());
    Ok(())
}

/// `cargo xtask bench probe`: only the camera probe benchmark, written into
/// its own section of `docs/benchmarks.md` so the other figures stay as
/// they were measured.
pub fn bench_probe() -> Result<ExitCode> {
    util::handle_ctrl_c()?;
    let root = util::root();
    let mut stages = Stages::default();
    let result = (|| {
        stages.run("install prerequisites", || {
            install::debian_packages(crate::bench_probe::PACKAGES)
        })?;
        let bench = stages.run("benchmark camera probe", || crate::bench_probe::run(&root))?;
        println!("\n{}", bench.console());
        let path = root.join(RESULTS_FILE);
        let existing = fs::read_to_string(&path).unwrap_or_else(|_| "# Benchmarks\n".to_owned());
        let section = format!(
            "{}\nMeasured on {} (UTC), commit {}, {}.\n",
            bench.markdown(),
            today(),
            describe_commit(&root),
            machine()
        );
        fs::write(&path, crate::bench_probe::splice(&existing, &section))
            .with_context(|| format!("writing {}", path.display()))?;
        println!("written to {}", path.display());
        Ok(())
    })();
    stages.print_summary(result.is_ok());
    result.map(|()| ExitCode::SUCCESS)
}

/// One camera CSV with unique serials, IPs and MACs, so that the import is
/// accepted as a whole and searches hit a realistic number of rows: a serial
/// matches one camera, a place name one in eight.
fn cameras_csv() -> String {
    let mut csv = String::from("site,name,make,model,serial,ip,mac,status\n");
    for i in 0..CAMERAS {
        let make = MAKES[i % MAKES.len()];
        let _ = writeln!(
            csv,
            "{SITE},{place} Kamera {i:05},{make},{make}-{model},{serial},{ip},{mac},{status}",
            place = PLACES[i % PLACES.len()],
            model = 100 + i % 50,
            serial = serial(i),
            ip = format_args!("10.20.{}.{}", i / 250, i % 250 + 1),
            mac = format_args!(
                "02:00:00:{:02x}:{:02x}:{:02x}",
                (i >> 16) & 0xff,
                (i >> 8) & 0xff,
                i & 0xff
            ),
            status = STATUSES[i % STATUSES.len()],
        );
    }
    csv
}

fn serial(i: usize) -> String {
    format!("GZB{i:07}")
}

/// One kind of list request, as the API path and as the SQL the server runs
/// for it (so that the reference does the same work without the server).
struct Query {
    label: &'static str,
    /// The query string of the n-th request.
    api: fn(usize) -> String,
    /// The statements of the n-th request; the same for both engines.
    sql: fn(usize) -> Vec<String>,
}

/// What the list endpoint selects for a camera (`select_list` in
/// `server/src/inventory/devices.rs`).
const CAMERA_SELECT: &str = "id, site_id, location_id, name, make, model, serial, mac, ip, firmware, status, \
     install_date, warranty_start, warranty_end, asset_number, supplier, purchase_date, notes, search, \
     created_at, updated_at, rtsp_main_path, rtsp_sub_path, recorder_id, recorder_channel, public, tags, \
     CAST(CASE WHEN cred_secret IS NULL THEN 0 ELSE 1 END AS BIGINT) AS has_cred";

/// The n-th request of a search cycles through different values, so that
/// no single cached answer is measured 200 times.
fn searched_serial(n: usize) -> String {
    serial(n * 7919 % CAMERAS)
}

fn searched_place(n: usize) -> &'static str {
    PLACES[n % PLACES.len()]
}

/// A page of the list as the server builds it for an admin (`list` in
/// `server/src/inventory/devices.rs`): the total of the filter, then the
/// page. Each search word must appear in the folded `search` column; the
/// benchmark's words are ASCII, for which folding is lowercasing. The server
/// binds the values as parameters; here they are literals, which both
/// engines plan the same way for these queries.
fn list_sql(filter: Option<&str>, sort: &str) -> Vec<String> {
    let filter = match filter {
        Some(q) => {
            let conditions: Vec<String> = q
                .to_lowercase()
                .split_whitespace()
                .map(|word| format!("search LIKE '%{}%' ESCAPE '\\'", word.replace('\'', "''")))
                .collect();
            format!(" WHERE {}", conditions.join(" AND "))
        }
        None => String::new(),
    };
    vec![
        format!("SELECT COUNT(*) FROM cameras{filter}"),
        format!("SELECT {CAMERA_SELECT} FROM cameras{filter} ORDER BY {sort} ASC, id ASC LIMIT 100 OFFSET 0"),
    ]
}

fn queries() -> Vec<Query> {
    vec![
        Query {
            label: "list `?limit=100`",
            api: |_| "limit=100".into(),
            sql: |_| list_sql(None, "name"),
        },
        Query {
            label: "search serial `?q=<serial>`",
            api: |n| format!("q={}", searched_serial(n)),
            sql: |n| list_sql(Some(&searched_serial(n)), "name"),
        },
        Query {
            label: "search name `?q=<part of name>&sort=ip`",
            api: |n| format!("q={}&sort=ip", searched_place(n)),
            sql: |n| list_sql(Some(searched_place(n)), "ip"),
        },
    ]
}

/// p50 and p99 of one query, in milliseconds.
#[derive(Clone, Copy)]
struct Latency {
    p50: f64,
    p99: f64,
}

impl Latency {
    /// Nearest-rank percentiles of the timed samples.
    fn of(mut samples_ms: Vec<f64>) -> Result<Latency> {
        ensure!(!samples_ms.is_empty(), "no samples");
        samples_ms.sort_by(f64::total_cmp);
        let rank = |p: f64| {
            let idx = (p / 100.0 * samples_ms.len() as f64).ceil() as usize;
            samples_ms[idx.clamp(1, samples_ms.len()) - 1]
        };
        Ok(Latency {
            p50: rank(50.0),
            p99: rank(99.0),
        })
    }
}

/// An import rate over [`IMPORT_RUNS`] runs: one 10,000-row import is a
/// single sample whose time follows the disk's fsync latency, which varies
/// a lot between runs on a shared machine.
#[derive(Clone, Copy)]
struct Rate {
    median: f64,
    min: f64,
    max: f64,
}

impl Rate {
    fn of(mut rows_per_s: Vec<f64>) -> Result<Rate> {
        ensure!(!rows_per_s.is_empty(), "no samples");
        rows_per_s.sort_by(f64::total_cmp);
        Ok(Rate {
            median: rows_per_s[rows_per_s.len() / 2],
            min: rows_per_s[0],
            max: rows_per_s[rows_per_s.len() - 1],
        })
    }

    fn of_runs(mut f: impl FnMut(usize) -> Result<f64>) -> Result<Rate> {
        Rate::of((1..=IMPORT_RUNS).map(&mut f).collect::<Result<_>>()?)
    }

    fn show(&self) -> String {
        format!(
            "{:.0} rows/s ({:.0}–{:.0})",
            self.median, self.min, self.max
        )
    }
}

struct QueryResult {
    label: &'static str,
    api: Latency,
    reference: Result<Latency, String>,
}

struct BackendResult {
    backend: &'static str,
    import: Rate,
    import_reference: Result<Rate, String>,
    import_reference_name: &'static str,
    query_reference_name: String,
    queries: Vec<QueryResult>,
    /// Push of [`SYNC_MUTATIONS`] and the pull of them, seconds each.
    sync: Result<SyncRun, String>,
    /// A fresh device pulling the imported cameras, and the REST list of
    /// them, in seconds.
    fresh_pull: Result<(f64, f64), String>,
}

#[derive(Clone, Copy)]
struct SyncRun {
    push_s: f64,
    pull_s: f64,
}

impl SyncRun {
    fn total_s(&self) -> f64 {
        self.push_s + self.pull_s
    }
}

/// Wraps a sync measurement so that a failure shows in the table (and on
/// the console) instead of losing every other figure.
fn keep<T>(what: &str, r: Result<T>) -> Result<T, String> {
    r.map_err(|e| {
        eprintln!("warning: {what} failed: {e:#}");
        format!("{e:#}")
    })
}

fn bench_sqlite(root: &Path, work: &Path, csv_path: &Path) -> Result<BackendResult> {
    let (server, client, import) = import_runs(csv_path, |run| {
        BenchServer::spawn(
            root,
            &work.join(format!("sqlite-data-{run}")),
            &work.join(format!("sqlite-server-{run}.log")),
            None,
            None,
        )
    })?;
    let api = time_queries(&client)?;
    let fresh_pull = keep("fresh pull on SQLite", fresh_pull(&client));
    // The reference reads the server's own database file, so the server
    // stops first: nothing else then touches the file while it is timed.
    drop(server);
    let sync = keep(
        "sync push + pull on SQLite",
        BenchServer::spawn(
            root,
            &work.join("sqlite-sync-data"),
            &work.join("sqlite-sync-server.log"),
            None,
            None,
        )
        .and_then(|server| push_pull(&Client::login(&server.base)?)),
    );

    let db = work.join(format!("sqlite-data-{IMPORT_RUNS}/gozcu.db"));
    ensure!(
        db.is_file(),
        "the server kept no SQLite database at {}",
        db.display()
    );
    let reference = python_sqlite_latencies(work, &db);
    let queries = merge(api, reference);

    let import_reference = Rate::of_runs(|run| sqlite_import_rows_per_s(work, csv_path, run))
        .map_err(|e| format!("{e:#}"));
    Ok(BackendResult {
        backend: "SQLite",
        import,
        import_reference,
        import_reference_name: "`sqlite3 .import` into a bare table",
        // Python links the system's SQLite, which may be older than the one
        // bundled into the server: the version belongs next to the figure.
        query_reference_name: format!(
            "same SQL via Python `sqlite3` (SQLite {}), in-process",
            util::probe(
                Command::new("python3")
                    .args(["-c", "import sqlite3; print(sqlite3.sqlite_version)"])
            )
            .map_or_else(|| "?".into(), |v| v.trim().to_owned())
        ),
        queries,
        sync,
        fresh_pull,
    })
}

fn bench_postgres(root: &Path, work: &Path, csv_path: &Path) -> Result<BackendResult> {
    let pg = postgres::PgServer::start(root)?;
    let database = |run: usize| format!("gozcu_bench_{run}");
    let (server, client, import) = import_runs(csv_path, |run| {
        pg.create_database(&database(run))?;
        BenchServer::spawn(
            root,
            &work.join(format!("pg-data-{run}")),
            &work.join(format!("pg-server-{run}.log")),
            Some(&pg.url(&database(run))),
            None,
        )
    })?;
    let api = time_queries(&client)?;
    let fresh_pull = keep("fresh pull on PostgreSQL", fresh_pull(&client));
    drop(server);
    let sync = keep(
        "sync push + pull on PostgreSQL",
        pg.create_database("gozcu_bench_sync").and_then(|()| {
            let server = BenchServer::spawn(
                root,
                &work.join("pg-sync-data"),
                &work.join("pg-sync-server.log"),
                Some(&pg.url("gozcu_bench_sync")),
                None,
            )?;
            push_pull(&Client::login(&server.base)?)
        }),
    );

    let last = database(IMPORT_RUNS);
    let reference = psql_latencies(&pg, &last, work);
    let queries = merge(api, reference);
    let import_reference = Rate::of_runs(|run| psql_import_rows_per_s(&pg, &last, csv_path, run))
        .map_err(|e| format!("{e:#}"));
    pg.stop()?;
    Ok(BackendResult {
        backend: "PostgreSQL",
        import,
        import_reference,
        import_reference_name: "`psql \\copy` into a bare table",
        query_reference_name: "same SQL via `psql` with `\\timing`, TCP".into(),
        queries,
        sync,
        fresh_pull,
    })
}

/// Pairs each query's API figures with its reference, or the reason the
/// reference could not be measured.
fn merge(api: Vec<(&'static str, Latency)>, reference: Result<Vec<Latency>>) -> Vec<QueryResult> {
    let reference = reference.map_err(|e| {
        eprintln!("warning: reference measurement failed: {e:#}");
        format!("{e:#}")
    });
    api.into_iter()
        .enumerate()
        .map(|(i, (label, api))| QueryResult {
            label,
            api,
            reference: match &reference {
                Ok(all) => all.get(i).copied().ok_or_else(|| "missing".to_owned()),
                Err(e) => Err(e.clone()),
            },
        })
        .collect()
}

/// Imports the cameras [`IMPORT_RUNS`] times, each through a fresh server
/// and database from `spawn(run)`, and returns the last server (with its
/// 10,000 cameras, for the queries), a session on it and the import rate.
fn import_runs(
    csv_path: &Path,
    mut spawn: impl FnMut(usize) -> Result<BenchServer>,
) -> Result<(BenchServer, Client, Rate)> {
    let csv = fs::read_to_string(csv_path)?;
    let mut rates = Vec::new();
    for run in 1..=IMPORT_RUNS {
        let server = spawn(run)?;
        let client = Client::login(&server.base)?;
        rates.push(import(&client, &csv)?);
        if run == IMPORT_RUNS {
            return Ok((server, client, Rate::of(rates)?));
        }
    }
    bail!("IMPORT_RUNS must be at least 1")
}

/// Creates the site and imports the CSV in one request; returns rows/s.
fn import(client: &Client, csv: &str) -> Result<f64> {
    let (status, body) = client.send(
        "POST",
        "/api/v1/sites",
        "application/json",
        json!({ "name": SITE }).to_string(),
    )?;
    ensure!(
        status == 201 || status == 200,
        "creating the site answered {status}: {body}"
    );

    let start = Instant::now();
    let (status, body) = client.send(
        "POST",
        "/api/v1/cameras/import?dry_run=false",
        "text/csv",
        csv.to_owned(),
    )?;
    let took = start.elapsed();
    ensure!(
        status == 200,
        "the import answered {status}: {}",
        truncate(&body, 2000)
    );
    let report: Value = serde_json::from_str(&body).context("the import answered invalid JSON")?;
    let imported = report.get("imported").and_then(Value::as_u64).unwrap_or(0);
    ensure!(
        imported == CAMERAS as u64,
        "the import wrote {imported} of {CAMERAS} rows: {}",
        truncate(&body, 2000)
    );
    let rows_per_s = CAMERAS as f64 / took.as_secs_f64();
    println!(
        "imported {CAMERAS} cameras in {} ({rows_per_s:.0} rows/s)",
        util::fmt_duration(took)
    );
    Ok(rows_per_s)
}

/// Times every query: [`WARMUP`] untimed requests, then [`REQUESTS`] timed
/// ones, one at a time.
fn time_queries(client: &Client) -> Result<Vec<(&'static str, Latency)>> {
    let mut results = Vec::new();
    for query in queries() {
        let mut samples = Vec::with_capacity(REQUESTS);
        for n in 0..WARMUP + REQUESTS {
            check_interrupted()?;
            let path = format!("/api/v1/cameras?{}", (query.api)(n));
            let start = Instant::now();
            let (status, body) = client.send("GET", &path, "", String::new())?;
            let took = start.elapsed();
            ensure!(
                status == 200,
                "GET {path} answered {status}: {}",
                truncate(&body, 500)
            );
            if n < WARMUP {
                // A search that finds nothing would measure an empty answer.
                let page: Value = serde_json::from_str(&body)
                    .with_context(|| format!("GET {path}: invalid JSON"))?;
                let total = page.get("total").and_then(Value::as_u64).unwrap_or(0);
                ensure!(
                    total > 0,
                    "GET {path} found no cameras; the benchmark data does not match the query"
                );
            } else {
                samples.push(took.as_secs_f64() * 1000.0);
            }
        }
        let latency = Latency::of(samples)?;
        println!(
            "{}: p50 {:.2} ms, p99 {:.2} ms",
            query.label, latency.p50, latency.p99
        );
        results.push((query.label, latency));
    }
    Ok(results)
}

/// An API session: the `gozcu_session` cookie and the CSRF token that
/// mutations must echo.
struct Client {
    agent: ureq::Agent,
    base: String,
    cookie: String,
    csrf: String,
}

impl Client {
    fn login(base: &str) -> Result<Client> {
        let mut client = Client {
            agent: agent(),
            base: base.to_owned(),
            cookie: String::new(),
            csrf: String::new(),
        };
        let body = json!({ "username": "admin", "password": ADMIN_PASSWORD }).to_string();
        let response = client
            .agent
            .post(format!("{base}/api/v1/auth/login"))
            .header("Content-Type", "application/json")
            .send(body)
            .context("POST /api/v1/auth/login")?;
        let status = response.status().as_u16();
        client.cookie = response
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(|v| v.split(';').next())
            .find(|v| v.starts_with("gozcu_session="))
            .unwrap_or_default()
            .to_owned();
        let text = response.into_body().read_to_string()?;
        ensure!(status == 200, "login answered {status}: {text}");
        ensure!(
            !client.cookie.is_empty(),
            "login set no gozcu_session cookie"
        );
        let session: Value = serde_json::from_str(&text).context("login answered invalid JSON")?;
        client.csrf = session
            .get("csrf_token")
            .and_then(Value::as_str)
            .context("login answer has no csrf_token")?
            .to_owned();
        Ok(client)
    }

    /// Sends a request and returns the status and the whole body; reading
    /// the body is part of what the latency measures, as for a browser.
    fn send(
        &self,
        method: &str,
        path: &str,
        content_type: &str,
        body: String,
    ) -> Result<(u16, String)> {
        let url = format!("{}{path}", self.base);
        let result = if method == "GET" {
            self.agent.get(&url).header("Cookie", &self.cookie).call()
        } else {
            self.agent
                .post(&url)
                .header("Cookie", &self.cookie)
                .header("X-CSRF-Token", &self.csrf)
                .header("Content-Type", content_type)
                .send(body)
        };
        let response = result.with_context(|| format!("{method} {path}"))?;
        let status = response.status().as_u16();
        let text = response
            .into_body()
            .with_config()
            .limit(64 * 1024 * 1024)
            .read_to_string()?;
        Ok((status, text))
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        // Error statuses are answers to report, not transport failures.
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(300)))
        .build()
        .into()
}

/// `gozcu serve` (release) on a free port with its own data directory; the
/// guard stops it with SIGINT, as Ctrl-C would.
struct BenchServer {
    child: Child,
    base: String,
    log: PathBuf,
}

impl BenchServer {
    fn spawn(
        root: &Path,
        data_dir: &Path,
        log: &Path,
        database_url: Option<&str>,
        web_dir: Option<&Path>,
    ) -> Result<BenchServer> {
        fs::create_dir_all(data_dir).with_context(|| format!("creating {}", data_dir.display()))?;
        let port = util::free_port()?;
        let log_file =
            fs::File::create(log).with_context(|| format!("creating {}", log.display()))?;
        let mut cmd = Command::new(root.join("target/release/gozcu"));
        cmd.arg("serve")
            .current_dir(root)
            .env("GOZCU_LISTEN", format!("127.0.0.1:{port}"))
            .env("GOZCU_DATA_DIR", data_dir)
            .env("GOZCU_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env_remove("GOZCU_CONFIG")
            .stdin(Stdio::null())
            .stdout(log_file.try_clone()?)
            .stderr(log_file);
        match database_url {
            Some(url) => cmd.env("GOZCU_DATABASE_URL", url),
            None => cmd.env_remove("GOZCU_DATABASE_URL"),
        };
        match web_dir {
            Some(dir) => cmd.env("GOZCU_WEB_DIR", dir),
            None => cmd.env_remove("GOZCU_WEB_DIR"),
        };
        println!("$ {} (log: {})", util::describe(&cmd), log.display());
        let child = cmd
            .spawn()
            .with_context(|| format!("starting {}", util::describe(&cmd)))?;
        let mut server = BenchServer {
            child,
            base: format!("http://127.0.0.1:{port}"),
            log: log.to_owned(),
        };
        server.wait_ready()?;
        Ok(server)
    }

    /// Polls `/healthz` until the server answers; first starts run the
    /// migrations and hash the admin password, which takes a moment.
    fn wait_ready(&mut self) -> Result<()> {
        let agent = agent();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            check_interrupted()?;
            if let Some(status) = self.child.try_wait()? {
                bail!(
                    "gozcu serve exited ({status}) before answering; its log:\n{}",
                    self.log_tail()
                );
            }
            let url = format!("{}/healthz", self.base);
            if agent
                .get(&url)
                .call()
                .is_ok_and(|r| r.status().as_u16() == 200)
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!(
                    "gozcu serve did not answer {url} within 60 s; its log:\n{}",
                    self.log_tail()
                );
            }
            sleep(Duration::from_millis(100));
        }
    }

    fn log_tail(&self) -> String {
        let text = fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }
}

impl Drop for BenchServer {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(Some(_))) {
            return;
        }
        let _ = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            sleep(Duration::from_millis(50));
        }
        eprintln!("warning: gozcu serve ignored SIGINT for 15 s; killing it");
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs every query's SQL against the server's SQLite file through Python's
/// built-in `sqlite3` module, timing each request's statements with
/// `perf_counter`. In-process, this is the floor the API is compared with.
fn python_sqlite_latencies(work: &Path, db: &Path) -> Result<Vec<Latency>> {
    const SCRIPT: &str = r#"
import json, sqlite3, sys, time
con = sqlite3.connect("file:" + sys.argv[1] + "?mode=ro", uri=True)
out = []
for requests in json.load(sys.stdin):
    times = []
    for statements in requests:
        start = time.perf_counter()
        for sql in statements:
            con.execute(sql).fetchall()
        times.append((time.perf_counter() - start) * 1000.0)
    out.append(times)
json.dump(out, sys.stdout)
"#;
    ensure!(util::which("python3").is_some(), "python3 is not installed");
    let input: Vec<Vec<Vec<String>>> = queries()
        .iter()
        .map(|q| (0..WARMUP + REQUESTS).map(|n| (q.sql)(n)).collect())
        .collect();
    let input_path = work.join("sqlite-reference.json");
    fs::write(&input_path, serde_json::to_string(&input)?)?;
    let script_path = work.join("sqlite-reference.py");
    fs::write(&script_path, SCRIPT)?;
    let out = util::output(
        Command::new("python3")
            .arg(&script_path)
            .arg(db)
            .stdin(fs::File::open(&input_path)?),
    )?;
    let all: Vec<Vec<f64>> = serde_json::from_str(&out).context("python3 printed invalid JSON")?;
    all.into_iter()
        .map(|times| Latency::of(times.into_iter().skip(WARMUP).collect()))
        .collect()
}

/// Runs every query's SQL through `psql` with `\timing on`, which prints one
/// `Time: x ms` line per statement (the rows go to /dev/null). A request's
/// time is the sum of its statements'.
fn psql_latencies(pg: &postgres::PgServer, database: &str, work: &Path) -> Result<Vec<Latency>> {
    let mut script = String::from("\\timing on\n");
    let mut per_request = Vec::new();
    for query in queries() {
        let statements = (query.sql)(0).len();
        per_request.push(statements);
        for n in 0..WARMUP + REQUESTS {
            let sql = (query.sql)(n);
            ensure!(
                sql.len() == statements,
                "{}: the number of statements must not vary",
                query.label
            );
            for statement in sql {
                let _ = writeln!(script, "{statement};");
            }
        }
    }
    let script_path = work.join("pg-reference.sql");
    fs::write(&script_path, script)?;
    let out = util::output(
        pg.psql(database)
            .arg("-o")
            .arg("/dev/null")
            .arg("-f")
            .arg(&script_path),
    )?;
    let mut times = out.lines().filter_map(|l| {
        let ms = l.strip_prefix("Time: ")?.split_whitespace().next()?;
        ms.parse::<f64>().ok()
    });
    let mut result = Vec::new();
    for statements in per_request {
        let mut samples = Vec::new();
        for n in 0..WARMUP + REQUESTS {
            let mut sum = 0.0;
            for _ in 0..statements {
                sum += times
                    .next()
                    .context("psql printed fewer `Time:` lines than statements")?;
            }
            if n >= WARMUP {
                samples.push(sum);
            }
        }
        result.push(Latency::of(samples)?);
    }
    Ok(result)
}

/// Loads the CSV into a new, bare SQLite table with the `sqlite3` shell: no
/// validation, no indexes, one transaction. Timed as a whole process.
fn sqlite_import_rows_per_s(work: &Path, csv_path: &Path, run: usize) -> Result<f64> {
    let db = work.join(format!("sqlite-reference-{run}.db"));
    let script = format!(".mode csv\n.import '{}' cameras_bare\n", csv_path.display());
    let mut child = Command::new("sqlite3")
        .arg(&db)
        .stdin(Stdio::piped())
        .spawn()
        .context("starting sqlite3 (Debian package `sqlite3`)")?;
    let start = Instant::now();
    child
        .stdin
        .take()
        .context("sqlite3 stdin")?
        .write_all(script.as_bytes())?;
    let status = child.wait()?;
    let took = start.elapsed();
    ensure!(status.success(), "sqlite3 .import failed ({status})");
    let count = util::output(
        Command::new("sqlite3")
            .arg(&db)
            .arg("SELECT count(*) FROM cameras_bare"),
    )?;
    ensure!(
        count.trim() == CAMERAS.to_string(),
        "sqlite3 .import loaded {} rows",
        count.trim()
    );
    Ok(CAMERAS as f64 / took.as_secs_f64())
}

/// Loads the CSV into a new, bare PostgreSQL table with `psql \copy`, timed
/// as a whole process (connection included, as the API's is not).
fn psql_import_rows_per_s(
    pg: &postgres::PgServer,
    database: &str,
    csv_path: &Path,
    run: usize,
) -> Result<f64> {
    let table = format!("cameras_bare_{run}");
    util::run(pg.psql(database).args([
        "-c",
        &format!(
            "CREATE TABLE {table} (site text, name text, make text, model text, serial text, \
             ip text, mac text, status text)"
        ),
    ]))?;
    let copy = format!(
        "\\copy {table} FROM '{}' WITH (FORMAT csv, HEADER true)",
        csv_path.display()
    );
    let start = Instant::now();
    util::output(pg.psql(database).args(["-c", &copy]))?;
    let took = start.elapsed();
    let count = util::output(pg.psql(database).args([
        "-t",
        "-A",
        "-c",
        &format!("SELECT count(*) FROM {table}"),
    ]))?;
    ensure!(
        count.trim() == CAMERAS.to_string(),
        "psql \\copy loaded {} rows",
        count.trim()
    );
    Ok(CAMERAS as f64 / took.as_secs_f64())
}

// ---- offline sync ----------------------------------------------------------

/// A per-run prefix for generated ids, so that ids never repeat between
/// runs even if a data directory were reused.
fn run_prefix() -> u32 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.subsec_nanos() ^ (d.as_secs() as u32))
        .unwrap_or(0)
}

/// A UUID-shaped id (version 7 layout) from a prefix and a number.
fn bench_uuid(prefix: u32, n: usize) -> String {
    format!("{prefix:08x}-0000-7000-8000-{n:012x}")
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// The whole JSON form of the n-th synced camera, every field of `Camera`
/// already normalised, as the app's form sends it (so the server has
/// nothing to write back).
fn sync_camera_form(site: &str, n: usize) -> serde_json::Map<String, Value> {
    let make = MAKES[n % MAKES.len()];
    let form = json!({
        "site_id": site,
        "location_id": null,
        "name": format!("{} Senkron {n:05}", PLACES[n % PLACES.len()]),
        "make": make,
        "model": format!("{make}-{}", 100 + n % 50),
        "serial": format!("GZS{n:07}"),
        "mac": format!("02:00:01:{:02x}:{:02x}:{:02x}", (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff),
        "ip": format!("10.30.{}.{}", n / 250, n % 250 + 1),
        "firmware": null,
        "status": STATUSES[n % STATUSES.len()],
        "install_date": null,
        "warranty_start": null,
        "warranty_end": null,
        "asset_number": null,
        "supplier": null,
        "purchase_date": null,
        "notes": null,
        "rtsp_main_path": null,
        "rtsp_sub_path": null,
        "recorder_id": null,
        "recorder_channel": null,
        "public": false,
        "tags": [],
    });
    match form {
        Value::Object(map) => map,
        _ => unreachable!("a JSON object literal"),
    }
}

/// The n-th mutation (1-based) of a device creating cameras offline: an
/// upsert of every field, stamped by the device's clock within one
/// millisecond (the counter orders them), as `gozcu_shared::sync` builds it.
fn sync_mutation(client_id: &str, prefix: u32, site: &str, n: usize, wall_ms: i64) -> Value {
    let hlc = json!({"wall_ms": wall_ms, "counter": n, "node": client_id});
    let fields: serde_json::Map<String, Value> = sync_camera_form(site, n)
        .into_iter()
        .map(|(name, value)| (name, json!({"value": value, "hlc": hlc, "supersedes": []})))
        .collect();
    json!({
        "client_id": client_id,
        "mutation_id": n,
        "hlc": hlc,
        "kind": {
            "type": "upsert",
            "entity": {"kind": "camera", "id": bench_uuid(prefix, n)},
            "fields": fields,
        },
    })
}

/// The bodies of the pushes that create [`SYNC_MUTATIONS`] cameras, at most
/// [`PUSH_MAX`] mutations each, in outbox order.
fn sync_push_bodies(client_id: &str, prefix: u32, site: &str) -> Vec<String> {
    let wall_ms = now_ms();
    let mutations: Vec<Value> = (1..=SYNC_MUTATIONS)
        .map(|n| sync_mutation(client_id, prefix, site, n, wall_ms))
        .collect();
    mutations
        .chunks(PUSH_MAX)
        .map(|chunk| {
            json!({
                "schema_version": SYNC_SCHEMA_VERSION,
                "client_id": client_id,
                "mutations": chunk,
            })
            .to_string()
        })
        .collect()
}

/// Pulls everything as a new replica does, page by page until `more` is
/// false; returns the number of records received. The answers are parsed,
/// as the app parses them.
fn pull_all(client: &Client, client_id: &str) -> Result<usize> {
    let mut epoch = Value::Null;
    let mut cursor = 0u64;
    let mut records = 0;
    for _ in 0..10_000 {
        check_interrupted()?;
        let body = json!({
            "schema_version": SYNC_SCHEMA_VERSION,
            "client_id": client_id,
            "epoch": epoch,
            "cursor": cursor,
        });
        let (status, text) = client.send(
            "POST",
            "/api/v1/sync/pull",
            "application/json",
            body.to_string(),
        )?;
        ensure!(
            status == 200,
            "POST /api/v1/sync/pull answered {status}: {}",
            truncate(&text, 500)
        );
        let page: Value = serde_json::from_str(&text).context("pull: invalid JSON")?;
        records += page["records"].as_array().map_or(0, Vec::len);
        cursor = page["cursor"].as_u64().context("pull: no cursor")?;
        epoch = page["epoch"].clone();
        if page["more"] != Value::Bool(true) {
            return Ok(records);
        }
    }
    bail!("the pull did not end after 10,000 pages")
}

/// A device pushes [`SYNC_MUTATIONS`] new cameras in full pushes, then
/// another device pulls everything; both timed (seconds).
fn push_pull(client: &Client) -> Result<SyncRun> {
    let (status, body) = client.send(
        "POST",
        "/api/v1/sites",
        "application/json",
        json!({ "name": "Sync Benchmark" }).to_string(),
    )?;
    ensure!(status == 201, "creating the site answered {status}: {body}");
    let site: Value = serde_json::from_str(&body)?;
    let site = site["id"].as_str().context("site without id")?.to_owned();
    let prefix = run_prefix();
    let client_id = bench_uuid(prefix, 0);
    let bodies = sync_push_bodies(&client_id, prefix, &site);

    let start = Instant::now();
    let mut expected = 0;
    for body in bodies {
        check_interrupted()?;
        let (status, text) = client.send("POST", "/api/v1/sync/push", "application/json", body)?;
        ensure!(
            status == 200,
            "POST /api/v1/sync/push answered {status}: {}",
            truncate(&text, 500)
        );
        let answer: Value = serde_json::from_str(&text).context("push: invalid JSON")?;
        let results = answer["results"].as_array().context("push: no results")?;
        let accepted = results
            .iter()
            .filter(|r| r["outcome"]["type"] == "accepted")
            .count();
        expected += results.len();
        ensure!(
            accepted == results.len() && answer["last_processed"] == expected,
            "push: {accepted} of {} accepted, last_processed {}: {}",
            results.len(),
            answer["last_processed"],
            truncate(&text, 500)
        );
    }
    let push_s = start.elapsed().as_secs_f64();

    let start = Instant::now();
    let pulled = pull_all(client, &bench_uuid(prefix, SYNC_MUTATIONS + 1))?;
    let pull_s = start.elapsed().as_secs_f64();
    ensure!(
        pulled > SYNC_MUTATIONS,
        "the pull brought {pulled} records, not the {SYNC_MUTATIONS} cameras and their site"
    );
    println!(
        "sync: pushed {SYNC_MUTATIONS} mutations in {push_s:.2} s, pulled {pulled} records in {pull_s:.2} s"
    );
    Ok(SyncRun { push_s, pull_s })
}

/// A fresh device pulls the server's whole inventory (the imported
/// cameras), against reading the same cameras through the REST list in
/// pages of the same size; seconds each.
fn fresh_pull(client: &Client) -> Result<(f64, f64)> {
    let start = Instant::now();
    let pulled = pull_all(client, &bench_uuid(run_prefix(), 1))?;
    let ours = start.elapsed().as_secs_f64();
    ensure!(
        pulled > CAMERAS,
        "the pull brought {pulled} records, not the {CAMERAS} cameras and their site"
    );

    let start = Instant::now();
    let mut listed = 0;
    loop {
        check_interrupted()?;
        let path = format!("/api/v1/cameras?limit={PAGE}&offset={listed}");
        let (status, text) = client.send("GET", &path, "", String::new())?;
        ensure!(status == 200, "GET {path} answered {status}");
        let page: Value = serde_json::from_str(&text).context("list: invalid JSON")?;
        let items = page["items"].as_array().map_or(0, Vec::len);
        listed += items;
        if items == 0 || listed as u64 >= page["total"].as_u64().unwrap_or(0) {
            break;
        }
    }
    let reference = start.elapsed().as_secs_f64();
    ensure!(listed == CAMERAS, "the REST list gave {listed} cameras");
    println!("fresh pull: {pulled} records in {ours:.2} s; REST list of {listed} cameras in {reference:.2} s");
    Ok((ours, reference))
}

// ---- IndexedDB in Chromium -------------------------------------------------

/// Writes camera-sized replica records (a pulled camera's merged state with
/// per-field timestamps, about 3.3 KB of JSON) into IndexedDB three ways and
/// reports milliseconds: in transactions of one pull page, one transaction
/// per record (as each user edit is written), and with `localStorage`
/// (cleared between pages to stay under its quota; the clearing is not
/// timed). Runs through WebDriver's asynchronous script execution.
const IDB_SCRIPT: &str = r#"
const done = arguments[arguments.length - 1];
const N = arguments[0], PAGE = arguments[1], SINGLE = arguments[2];
(async () => {
  const node = '0195b7a2-0000-7000-8000-00000000beef';
  const hlc = (i, c) => ({ wall_ms: 1795392000000 + i, counter: c, node });
  const rec = (i) => {
    const id = '0195b7a2-0000-7000-8000-' + i.toString(16).padStart(12, '0');
    const values = {
      site_id: '0195b7a2-0000-7000-8000-5173e0000001', location_id: null,
      name: 'Otopark Kamera ' + i, make: 'Hikvision', model: 'DS-2CD2143G2-I',
      serial: 'GZB' + String(i).padStart(7, '0'),
      mac: '02:00:00:00:' + ((i >> 8) & 255).toString(16).padStart(2, '0') + ':' + (i & 255).toString(16).padStart(2, '0'),
      ip: '10.20.' + ((i / 250) | 0) + '.' + (i % 250 + 1), firmware: 'V5.7.3 build 220112',
      status: 'installed', install_date: '2025-03-01', warranty_start: '2025-03-01',
      warranty_end: '2028-03-01', asset_number: 'DMR-' + i, supplier: 'Güvenlik A.Ş.',
      purchase_date: '2025-02-15', notes: 'Giriş kapısına bakıyor',
      rtsp_main_path: '/Streaming/Channels/101', rtsp_sub_path: '/Streaming/Channels/102',
      recorder_id: null, recorder_channel: null, public: false, tags: ['dış', 'otopark'],
    };
    const fields = {};
    let c = 0;
    for (const [k, v] of Object.entries(values)) fields[k] = { current: { value: v, hlc: hlc(i, c++) } };
    return { key: 'entity/camera/' + id, site_id: values.site_id, seq: i + 1, state: { fields } };
  };
  const records = Array.from({ length: N }, (_, i) => rec(i));
  const open = (name) => new Promise((res, rej) => {
    const r = indexedDB.open(name, 1);
    r.onupgradeneeded = () => r.result.createObjectStore('records');
    r.onsuccess = () => res(r.result);
    r.onerror = () => rej(r.error);
  });
  const write = (db, items) => new Promise((res, rej) => {
    const t = db.transaction('records', 'readwrite');
    const s = t.objectStore('records');
    for (const r of items) s.put(r, r.key);
    t.oncomplete = () => res();
    t.onerror = () => rej(t.error);
    t.onabort = () => rej(t.error);
  });
  const count = (db) => new Promise((res, rej) => {
    const r = db.transaction('records').objectStore('records').count();
    r.onsuccess = () => res(r.result);
    r.onerror = () => rej(r.error);
  });
  const pages = await open('bench-pages');
  let t0 = performance.now();
  for (let i = 0; i < N; i += PAGE) await write(pages, records.slice(i, i + PAGE));
  const pages_ms = performance.now() - t0;
  const pages_count = await count(pages);
  const single = await open('bench-single');
  t0 = performance.now();
  for (const r of records.slice(0, SINGLE)) await write(single, [r]);
  const single_ms = performance.now() - t0;
  const single_count = await count(single);
  localStorage.clear();
  let ls_ms = 0, ls_count = 0;
  for (let i = 0; i < N; i += PAGE) {
    const start = performance.now();
    for (const r of records.slice(i, i + PAGE)) { localStorage.setItem(r.key, JSON.stringify(r)); ls_count++; }
    ls_ms += performance.now() - start;
    localStorage.clear();
  }
  pages.close();
  single.close();
  done({ pages_ms, pages_count, single_ms, single_count, ls_ms, ls_count,
         bytes: JSON.stringify(records[0]).length, agent: navigator.userAgent });
})().catch((e) => done({ error: String(e) }));
"#;

/// IndexedDB write rates, records/s.
struct IdbResult {
    /// Seconds from pressing "log in" on a fresh profile to a completed
    /// first sync of the {CAMERAS} cameras (the replica stored in
    /// IndexedDB, nothing pending), or why it was not measured.
    first_sync: Result<f64, String>,
    pages: f64,
    single: f64,
    local_storage: f64,
    record_bytes: u64,
    browser: String,
}

/// Logs in through the PWA's own form on a fresh profile and times until
/// the header says the first sync is done: the camera list is then usable
/// offline.
fn app_first_sync(
    call: &dyn Fn(&str, &str, Value) -> Result<Value>,
    session: &str,
    base: &str,
) -> Result<f64> {
    call(
        "POST",
        &format!("/session/{session}/url"),
        json!({"url": format!("{base}/login")}),
    )?;
    let script = |js: &str| {
        call(
            "POST",
            &format!("/session/{session}/execute/sync"),
            json!({"script": js, "args": []}),
        )
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while script("return !!document.querySelector('#login-submit')")? != Value::Bool(true) {
        ensure!(Instant::now() < deadline, "the login form did not appear");
        sleep(Duration::from_millis(50));
    }
    script(&format!(
        "const set = (id, v) => {{ const e = document.getElementById(id); e.value = v; \
           e.dispatchEvent(new Event('input', {{bubbles: true}})); }}; \
         set('username', 'admin'); set('password', '{ADMIN_PASSWORD}');"
    ))?;
    let start = Instant::now();
    script("document.getElementById('login-submit').click()")?;
    let done = "const s = document.querySelector('[data-test=sync-status]'); \
        return !!s && s.dataset.lastSync !== '' && s.dataset.lastSync !== undefined \
          && s.dataset.pending === '0' && s.dataset.running === 'false';";
    loop {
        if script(done)? == Value::Bool(true) {
            return Ok(start.elapsed().as_secs_f64());
        }
        check_interrupted()?;
        ensure!(
            Instant::now() < deadline,
            "the first sync did not finish within a minute"
        );
        sleep(Duration::from_millis(20));
    }
}

/// A child process killed (with SIGKILL) when the guard goes, so that a
/// failed benchmark leaves no chromedriver behind.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn bench_indexeddb(root: &Path, work: &Path) -> Result<IdbResult> {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let chromedriver =
        std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into());
    for (name, path) in [("chromium", &chromium), ("chromedriver", &chromedriver)] {
        if !Path::new(path).is_file() {
            bail!("skipped: {name} is not installed at {path} (Debian packages `chromium` and `chromium-driver`)");
        }
    }
    // The records are written at the server's origin, where the PWA keeps
    // its replica. The server serves the built PWA and holds the cameras,
    // so that after the raw IndexedDB figures a fresh device can log in and
    // fill its replica through the app itself.
    let server = BenchServer::spawn(
        root,
        &work.join("idb-data"),
        &work.join("idb-server.log"),
        None,
        Some(&root.join("target/dist")),
    )?;
    import(&Client::login(&server.base)?, &cameras_csv())?;
    let port = util::free_port()?;
    let mut driver = KillOnDrop(
        Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {chromedriver}"))?,
    );
    let wd = format!("http://127.0.0.1:{port}");
    let agent = agent();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !agent
        .get(format!("{wd}/status"))
        .call()
        .is_ok_and(|r| r.status().as_u16() == 200)
    {
        check_interrupted()?;
        if let Some(status) = driver.0.try_wait()? {
            bail!("chromedriver exited ({status})");
        }
        ensure!(Instant::now() < deadline, "chromedriver did not answer");
        sleep(Duration::from_millis(100));
    }
    let profile = work.join("idb-profile");
    let call = |method: &str, path: &str, body: Value| -> Result<Value> {
        let url = format!("{wd}{path}");
        let response = match method {
            "DELETE" => agent.delete(&url).call(),
            _ => agent
                .post(&url)
                .header("Content-Type", "application/json")
                .send(body.to_string()),
        }
        .with_context(|| format!("WebDriver {method} {path}"))?;
        let status = response.status().as_u16();
        let text = response.into_body().read_to_string()?;
        ensure!(
            status == 200,
            "WebDriver {method} {path} answered {status}: {}",
            truncate(&text, 500)
        );
        let v: Value = serde_json::from_str(&text)?;
        Ok(v["value"].clone())
    };
    let session = call(
        "POST",
        "/session",
        json!({"capabilities": {"alwaysMatch": {"goog:chromeOptions": {
            "binary": chromium,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--no-first-run", "--disable-background-networking",
                     format!("--user-data-dir={}", profile.display())],
        }}}}),
    )?;
    let id = session["sessionId"]
        .as_str()
        .context("WebDriver session without id")?
        .to_owned();
    let result = (|| {
        call(
            "POST",
            &format!("/session/{id}/url"),
            json!({"url": format!("{}/healthz", server.base)}),
        )?;
        call(
            "POST",
            &format!("/session/{id}/timeouts"),
            json!({"script": 600_000}),
        )?;
        let raw = call(
            "POST",
            &format!("/session/{id}/execute/async"),
            json!({"script": IDB_SCRIPT, "args": [IDB_RECORDS, PAGE, IDB_SINGLE]}),
        )?;
        let first_sync = app_first_sync(&call, &id, &server.base);
        Ok::<_, anyhow::Error>((raw, first_sync))
    })();
    let _ = call("DELETE", &format!("/session/{id}"), Value::Null);
    let (r, first_sync) = result?;
    if let Some(e) = r.get("error") {
        bail!("the script failed in the browser: {e}");
    }
    let num = |k: &str| r[k].as_f64().with_context(|| format!("no {k} in {r}"));
    ensure!(
        num("pages_count")? as usize == IDB_RECORDS
            && num("single_count")? as usize == IDB_SINGLE
            && num("ls_count")? as usize == IDB_RECORDS,
        "the browser stored fewer records than written: {r}"
    );
    let rate = |n: usize, ms: f64| n as f64 / (ms.max(0.001) / 1000.0);
    let result = IdbResult {
        first_sync: first_sync.map_err(|e| format!("{e:#}")),
        pages: rate(IDB_RECORDS, num("pages_ms")?),
        single: rate(IDB_SINGLE, num("single_ms")?),
        local_storage: rate(IDB_RECORDS, num("ls_ms")?),
        record_bytes: num("bytes")? as u64,
        browser: r["agent"]
            .as_str()
            .and_then(|a| a.split_whitespace().find(|w| w.contains("Chrome/")))
            .unwrap_or("Chromium")
            .replace("HeadlessChrome", "Chromium"),
    };
    println!(
        "IndexedDB: {:.0} records/s in pages of {PAGE}, {:.0} records/s one per transaction; localStorage {:.0} records/s",
        result.pages, result.single, result.local_storage
    );
    Ok(result)
}

struct Report {
    /// How busy the CPUs were with other work just before the API runs:
    /// on a 2-core machine that skews the tail latencies, so it is part of
    /// the record.
    load_before: String,
    backends: Vec<BackendResult>,
    /// `Err` holds why the browser figures are missing (e.g. no Chromium).
    indexeddb: Result<IdbResult, String>,
    /// The photo downscale benchmark, or why it is missing.
    photos: Result<crate::bench_photos::PhotoBench, String>,
    /// The PDF report benchmark, or why it is missing.
    reports: Result<crate::bench_reports::ReportBench, String>,
    /// The camera probe benchmark, or why it is missing.
    probe: Result<crate::bench_probe::ProbeBench, String>,
    wasm_bytes: u64,
    wasm_gz_bytes: u64,
}

/// One row of the results table.
struct Row {
    figure: String,
    backend: &'static str,
    ours: String,
    reference_name: String,
    reference: String,
    ratio: String,
    target: String,
}

impl Report {
    fn rows(&self) -> Vec<Row> {
        let mut rows = Vec::new();
        for b in &self.backends {
            for q in &b.queries {
                for (which, ours, reference, target) in [
                    (
                        "p50",
                        q.api.p50,
                        q.reference.as_ref().map(|r| r.p50),
                        String::new(),
                    ),
                    (
                        "p99",
                        q.api.p99,
                        q.reference.as_ref().map(|r| r.p99),
                        verdict(q.api.p99 <= P99_TARGET_MS, "≤ 30 ms"),
                    ),
                ] {
                    rows.push(Row {
                        figure: format!("{} {which}", q.label),
                        backend: b.backend,
                        ours: format!("{ours:.2} ms"),
                        reference_name: b.query_reference_name.to_owned(),
                        reference: match &reference {
                            Ok(r) => format!("{r:.2} ms"),
                            Err(e) => format!("n/a ({})", truncate(&one_line(e), 80)),
                        },
                        ratio: match reference {
                            Ok(r) if r > 0.0 => format!("{:.1}×", ours / r),
                            _ => "n/a".into(),
                        },
                        target,
                    });
                }
            }
            rows.push(Row {
                figure: format!(
                    "CSV import, {CAMERAS} rows (median of {IMPORT_RUNS} runs, min–max)"
                ),
                backend: b.backend,
                ours: b.import.show(),
                reference_name: b.import_reference_name.to_owned(),
                reference: match &b.import_reference {
                    Ok(r) => r.show(),
                    Err(e) => format!("n/a ({})", truncate(&one_line(e), 80)),
                },
                ratio: match &b.import_reference {
                    Ok(r) if r.median > 0.0 => format!("{:.3}×", b.import.median / r.median),
                    _ => "n/a".into(),
                },
                target: String::new(),
            });
            let import_s = CAMERAS as f64 / b.import.median;
            rows.push(match &b.sync {
                Ok(run) => Row {
                    figure: format!(
                        "sync push + pull of {SYNC_MUTATIONS} new cameras (push {:.2} s, pull {:.2} s)",
                        run.push_s, run.pull_s
                    ),
                    backend: b.backend,
                    ours: format!(
                        "{:.2} s ({:.0} mutations/s)",
                        run.total_s(),
                        SYNC_MUTATIONS as f64 / run.total_s()
                    ),
                    reference_name: format!("CSV import of {CAMERAS} cameras via the API (median)"),
                    reference: format!("{import_s:.2} s"),
                    ratio: format!("{:.1}×", run.total_s() / import_s),
                    target: verdict(run.total_s() <= SYNC_TARGET_S, "≤ 2 s"),
                },
                Err(e) => unavailable(
                    format!("sync push + pull of {SYNC_MUTATIONS} new cameras"),
                    b.backend,
                    e,
                    "≤ 2 s",
                ),
            });
            rows.push(match &b.fresh_pull {
                Ok((ours, reference)) => Row {
                    figure: format!("fresh device pulls {CAMERAS} cameras, pages of {PAGE}"),
                    backend: b.backend,
                    ours: format!("{ours:.2} s ({:.0} records/s)", CAMERAS as f64 / ours),
                    reference_name: format!("REST list of the same cameras, pages of {PAGE}"),
                    reference: format!("{reference:.2} s"),
                    ratio: format!("{:.1}×", ours / reference.max(1e-9)),
                    target: verdict(*ours <= FRESH_PULL_TARGET_S, "≤ 5 s"),
                },
                Err(e) => unavailable(
                    format!("fresh device pulls {CAMERAS} cameras"),
                    b.backend,
                    e,
                    "≤ 5 s",
                ),
            });
        }
        match &self.indexeddb {
            Ok(idb) => {
                rows.push(Row {
                    figure: format!(
                        "IndexedDB writes, {IDB_RECORDS} camera records, {PAGE} per transaction (a pulled page)"
                    ),
                    backend: "Chromium",
                    ours: format!("{:.0} records/s", idb.pages),
                    reference_name: "`localStorage.setItem` of the same records as JSON".into(),
                    reference: format!("{:.0} records/s", idb.local_storage),
                    ratio: format!("{:.2}×", idb.pages / idb.local_storage.max(1e-9)),
                    target: String::new(),
                });
                rows.push(Row {
                    figure: format!(
                        "IndexedDB writes, one transaction per record ({IDB_SINGLE} records, as user edits)"
                    ),
                    backend: "Chromium",
                    ours: format!("{:.0} records/s", idb.single),
                    reference_name: format!("{PAGE} records per transaction, same run"),
                    reference: format!("{:.0} records/s", idb.pages),
                    ratio: format!("{:.2}×", idb.single / idb.pages.max(1e-9)),
                    target: String::new(),
                });
            }
            Err(e) => rows.push(unavailable("IndexedDB writes".into(), "Chromium", e, "")),
        }
        let pulls: Vec<(&'static str, f64)> = self
            .backends
            .iter()
            .filter_map(|b| {
                b.fresh_pull
                    .as_ref()
                    .ok()
                    .map(|(ours, _)| (b.backend, *ours))
            })
            .collect();
        match self.indexeddb.as_ref().map(|i| &i.first_sync) {
            Ok(Ok(s)) => {
                let (name, reference) = pulls
                    .iter()
                    .find(|(b, _)| *b == "SQLite")
                    .map_or(("—", f64::NAN), |(b, t)| (*b, *t));
                rows.push(Row {
                    figure: format!(
                        "fresh device in the app: log in → {CAMERAS} cameras stored in IndexedDB, usable offline"
                    ),
                    backend: "Chromium + SQLite",
                    ours: format!("{s:.2} s"),
                    reference_name: format!("the same pull without the app ({name}, client-side)"),
                    reference: format!("{reference:.2} s"),
                    ratio: format!("{:.1}×", s / reference),
                    target: verdict(*s <= FRESH_PULL_TARGET_S, "≤ 5 s"),
                });
            }
            Ok(Err(e)) | Err(e) => rows.push(unavailable(
                "fresh device in the app, until usable offline".into(),
                "Chromium",
                e,
                "≤ 5 s",
            )),
        }
        rows.push(Row {
            figure: "PWA wasm, gzipped".into(),
            backend: "—",
            ours: format!("{:.0} KB", self.wasm_gz_bytes as f64 / 1024.0),
            reference_name: "budget".into(),
            reference: format!("{} KB", WASM_GZ_BUDGET_BYTES / 1024),
            ratio: format!(
                "{:.2}×",
                self.wasm_gz_bytes as f64 / WASM_GZ_BUDGET_BYTES as f64
            ),
            target: verdict(self.wasm_gz_bytes <= WASM_GZ_BUDGET_BYTES, "≤ 600 KB"),
        });
        rows
    }

    fn console(&self) -> String {
        let mut out = String::new();
        match &self.photos {
            Ok(p) => out.push_str(&p.console()),
            Err(e) => {
                let _ = writeln!(out, "photo downscale: not measured ({})", one_line(e));
            }
        }
        match &self.reports {
            Ok(r) => out.push_str(&r.console()),
            Err(e) => {
                let _ = writeln!(out, "PDF reports: not measured ({})", one_line(e));
            }
        }
        match &self.probe {
            Ok(p) => out.push_str(&p.console()),
            Err(e) => {
                let _ = writeln!(out, "camera probe: not measured ({})", one_line(e));
            }
        }
        for r in self.rows() {
            let _ = writeln!(
                out,
                "{:<52} {:<10} {:>14}   vs {:>14} ({}): ratio {}{}",
                r.figure,
                r.backend,
                r.ours,
                r.reference,
                r.reference_name,
                r.ratio,
                if r.target.is_empty() {
                    String::new()
                } else {
                    format!("; target {}", r.target)
                }
            );
        }
        out
    }

    fn markdown(&self, root: &Path) -> String {
        let mut md = String::from("# Benchmarks\n\n");
        md.push_str(
            "The latest result of `cargo xtask bench`, which rewrites this file on every run \
             (earlier results are in git history). Every figure stands beside a reference \
             measured in the same run on the same machine and data.\n\n",
        );
        let _ = writeln!(md, "- Date: {} (UTC)", today());
        let _ = writeln!(md, "- Commit: {}", describe_commit(root));
        let _ = writeln!(
            md,
            "- Machine: {}; CPUs busy with other work just before the API runs: {}",
            machine(),
            self.load_before
        );
        let _ = writeln!(
            md,
            "- Data: {CAMERAS} generated cameras in one site, imported through \
             `POST /api/v1/cameras/import` in one request. Each query: {WARMUP} warm-up then {REQUESTS} \
             timed requests, one at a time, HTTP/1.1 keep-alive on 127.0.0.1, body read in full; \
             searches cycle through different serials and place names."
        );
        let _ = writeln!(
            md,
            "- Sync: a device pushes {SYNC_MUTATIONS} new cameras (whole forms, {} pushes of {PUSH_MAX} \
             mutations) to a fresh server, then a new device pulls everything in pages of {PAGE}; \
             both timed from the client, answers parsed. A fresh device also pulls the {CAMERAS} \
             imported cameras of the query benchmark.",
            SYNC_MUTATIONS / PUSH_MAX
        );
        match &self.indexeddb {
            Ok(idb) => {
                let _ = writeln!(
                    md,
                    "- IndexedDB: headless {} through chromedriver, at the server's origin; {IDB_RECORDS} \
                     replica records of a camera (merged state with per-field timestamps, {} bytes of \
                     JSON each) put into one object store; `localStorage` gets the same records as \
                     JSON strings and is cleared (untimed) after every {PAGE} to stay within its quota.",
                    idb.browser, idb.record_bytes
                );
            }
            Err(e) => {
                let _ = writeln!(md, "- IndexedDB: not measured ({}).", one_line(e));
            }
        }
        let _ = writeln!(
            md,
            "- References: the same SQL the server runs for the request (a count and a page of 100), \
             on the same database right after the API run; importing the same CSV into a bare \
             table without validation or indexes; the sync push + pull beside the CSV import of \
             as many cameras through the API (same validation, one request); the fresh pull beside \
             the REST list of the same cameras; IndexedDB beside `localStorage` and beside itself \
             with one transaction per record; the wasm size budget.\n"
        );
        md.push_str(
            "| figure | backend | Gözcü | reference | reference value | Gözcü ÷ reference | target |\n",
        );
        md.push_str("|---|---|---:|---|---:|---|---|\n");
        for r in self.rows() {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} | {} | {} |",
                r.figure.replace('|', "\\|"),
                r.backend,
                r.ours,
                r.reference_name,
                r.reference.replace('|', "\\|"),
                r.ratio,
                r.target
            );
        }
        let _ = writeln!(
            md,
            "\nPWA wasm before gzip: {:.0} KB.",
            self.wasm_bytes as f64 / 1024.0
        );
        md.push_str(
            "\n## PDF reports\n\nThe server's typst renderer (`server/examples/report_bench.rs`) \
             beside ReportLab from PyPI typesetting the same text and the same JPEGs, each in \
             its own process, typst's cache emptied between runs.\n\n\
             | figure | Gözcü | reference | Gözcü ÷ reference |\n|---|---:|---|---|\n",
        );
        match &self.reports {
            Ok(r) => {
                let _ = writeln!(md, "{}", r.markdown_row());
            }
            Err(e) => {
                let _ = writeln!(
                    md,
                    "| PDF survey report | not measured: {} | | |",
                    one_line(e)
                );
            }
        }
        md.push('\n');
        match &self.photos {
            Ok(p) => md.push_str(&p.markdown()),
            Err(e) => {
                let _ = writeln!(md, "Photo downscale: not measured ({}).", one_line(e));
            }
        }
        md.push('\n');
        match &self.probe {
            Ok(p) => md.push_str(&p.markdown()),
            Err(e) => {
                let _ = writeln!(
                    md,
                    "{}\n\nNot measured ({}).",
                    crate::bench_probe::HEADING,
                    one_line(e)
                );
            }
        }
        md
    }
}

/// A row whose figure could not be measured, with the reason.
fn unavailable(figure: String, backend: &'static str, error: &str, target: &str) -> Row {
    Row {
        figure,
        backend,
        ours: format!("n/a ({})", truncate(&one_line(error), 120)),
        reference_name: String::new(),
        reference: String::new(),
        ratio: "n/a".into(),
        target: if target.is_empty() {
            String::new()
        } else {
            format!("{target} ❌ not measured")
        },
    }
}

fn verdict(met: bool, target: &str) -> String {
    format!("{target} {}", if met { "✅" } else { "❌ missed" })
}

/// Error chains can span lines; a table cell cannot.
fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn truncate(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}

/// Today's date in UTC as `YYYY-MM-DD`, from the system clock.
fn today() -> String {
    let secs = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    civil_date(secs)
}

/// The UTC calendar date of a Unix time, by Howard Hinnant's
/// `civil_from_days`: xtask needs one date, not a time-zone library.
fn civil_date(unix_secs: u64) -> String {
    let days = (unix_secs / 86_400) as i64 + 719_468;
    let era = days.div_euclid(146_097);
    let doe = days.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

fn describe_commit(root: &Path) -> String {
    let commit =
        util::probe(
            Command::new("git")
                .current_dir(root)
                .args(["rev-parse", "--short", "HEAD"]),
        );
    let dirty = util::probe(
        Command::new("git")
            .current_dir(root)
            .args(["status", "--porcelain"]),
    )
    .is_some_and(|s| !s.trim().is_empty());
    match commit {
        Some(c) => format!(
            "`{}`{}",
            c.trim(),
            if dirty {
                " with uncommitted changes"
            } else {
                ""
            }
        ),
        None => "none yet (uncommitted work tree)".into(),
    }
}

/// The share of CPU time spent busy over one second, from `/proc/stat`.
/// xtask itself is idle meanwhile, so this is what other processes use (a
/// load average would still show the server build that just finished).
fn other_cpu_use() -> String {
    fn sample() -> Option<(u64, u64)> {
        let stat = fs::read_to_string("/proc/stat").ok()?;
        let fields: Vec<u64> = stat
            .lines()
            .next()?
            .split_whitespace()
            .skip(1)
            .filter_map(|v| v.parse().ok())
            .collect();
        // user nice system idle iowait irq softirq steal …
        let idle = fields.get(3)? + fields.get(4).unwrap_or(&0);
        Some((fields.iter().take(8).sum(), idle))
    }
    let Some((total0, idle0)) = sample() else {
        return "unknown".into();
    };
    sleep(Duration::from_secs(1));
    match sample() {
        Some((total1, idle1)) if total1 > total0 => {
            let busy = (total1 - total0).saturating_sub(idle1 - idle0);
            format!("{:.0}%", 100.0 * busy as f64 / (total1 - total0) as f64)
        }
        _ => "unknown".into(),
    }
}

fn machine() -> String {
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let rustc = util::probe(Command::new("rustc").arg("--version")).unwrap_or_default();
    let os = fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix("PRETTY_NAME=")
                    .map(|v| v.trim_matches('"').to_owned())
            })
        })
        .unwrap_or_else(|| "unknown OS".into());
    format!("{cpus} CPUs, {os}, {}", rustc.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_generated_csv_passes_the_real_import_rules() {
        let parsed = gozcu_shared::csv_import::parse_cameras(cameras_csv().as_bytes());
        assert!(
            parsed.errors.is_empty(),
            "{:?}",
            &parsed.errors[..parsed.errors.len().min(5)]
        );
        assert_eq!(parsed.rows.len(), CAMERAS);
    }

    #[test]
    fn searches_match_what_the_benchmark_expects() {
        let csv = cameras_csv();
        let serial = searched_serial(3);
        assert_eq!(csv.matches(&format!(",{serial},")).count(), 1);
        let place = searched_place(3);
        assert_eq!(
            csv.matches(&format!(",{place} Kamera ")).count(),
            CAMERAS / PLACES.len()
        );
        let sql = list_sql(Some("Otopark"), "ip");
        assert_eq!(
            sql[0],
            "SELECT COUNT(*) FROM cameras WHERE search LIKE '%otopark%' ESCAPE '\\'"
        );
        assert!(sql[1].ends_with("ORDER BY ip ASC, id ASC LIMIT 100 OFFSET 0"));
    }

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let latency = Latency::of((1..=200).map(f64::from).rev().collect()).unwrap();
        assert_eq!((latency.p50, latency.p99), (100.0, 198.0));
        let rate = Rate::of(vec![3.0, 1.0, 2.0]).unwrap();
        assert_eq!((rate.median, rate.min, rate.max), (2.0, 1.0, 3.0));
    }

    #[test]
    fn sync_pushes_are_what_the_shared_protocol_reads() {
        use gozcu_shared::inventory::Camera;
        use gozcu_shared::sync::{
            entity_fields, MutationKind, PushRequest, PUSH_MAX_MUTATIONS, SCHEMA_VERSION,
        };
        assert_eq!(SYNC_SCHEMA_VERSION, SCHEMA_VERSION);
        assert_eq!(PUSH_MAX, PUSH_MAX_MUTATIONS);
        assert_eq!(PAGE as u32, gozcu_shared::sync::PULL_LIMIT_DEFAULT);
        let site = bench_uuid(1, 99_999);
        let bodies = sync_push_bodies(&bench_uuid(1, 0), 1, &site);
        assert_eq!(bodies.len(), SYNC_MUTATIONS / PUSH_MAX);
        let mut next = 1;
        for body in &bodies {
            let push: PushRequest = serde_json::from_str(body).unwrap();
            assert!(push.mutations.len() <= PUSH_MAX_MUTATIONS);
            for m in &push.mutations {
                assert_eq!(m.mutation_id, next, "numbered without gaps");
                next += 1;
                gozcu_shared::sync::well_formed(m).unwrap();
                let MutationKind::Upsert { fields, .. } = &m.kind else {
                    panic!("an upsert")
                };
                // Every field of a camera, already normalised: the server
                // has nothing to write back.
                let form: serde_json::Map<String, Value> = fields
                    .iter()
                    .map(|(k, w)| (k.clone(), w.value.clone()))
                    .collect();
                let camera: Camera = serde_json::from_value(Value::Object(form.clone())).unwrap();
                let normalised = camera.normalize().unwrap();
                let keys: Vec<String> =
                    entity_fields(&serde_json::to_value(Camera::default()).unwrap())
                        .into_keys()
                        .collect();
                assert_eq!(form.keys().cloned().collect::<Vec<_>>(), keys);
                let shown = entity_fields(&serde_json::to_value(&normalised).unwrap());
                assert_eq!(shown.into_iter().collect::<serde_json::Map<_, _>>(), form);
            }
        }
        assert_eq!(next - 1, SYNC_MUTATIONS as u64);
    }

    #[test]
    fn civil_dates() {
        assert_eq!(civil_date(0), "1970-01-01");
        assert_eq!(civil_date(951_782_400), "2000-02-29");
        assert_eq!(civil_date(1_700_000_000), "2023-11-14");
    }
}
