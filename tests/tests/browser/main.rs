//! Browser end-to-end tests: the real server binary, the built PWA and a
//! real headless Chromium driven through chromedriver.
//!
//! Run them with `cargo xtask test`, which builds everything and sets:
//! - `GOZCU_BIN`: the `gozcu` server binary;
//! - `GOZCU_WEB_DIR`: the built PWA (`target/dist`);
//! - `CHROMEDRIVER` (default `/usr/bin/chromedriver`), `CHROMIUM` (default
//!   `/usr/bin/chromium`).
//!
//! Without `GOZCU_WEB_DIR` the test prints that it was skipped, unless
//! `GOZCU_REQUIRE_E2E=1`, which turns the skip into a failure (CI).
//! A failing test leaves a screenshot in `target/e2e-screenshots/`; with
//! `GOZCU_E2E_SCREENSHOTS=1` every step leaves one there, for a human to
//! look at the pages.
//!
//! Stable selectors the app guarantees (change them only together with
//! this file):
//! - login: `#username`, `#password`, `#login-submit`, form `#login-form`;
//! - header: `[data-test=nav-sites]`, `nav-cameras`, `nav-recorders`,
//!   `nav-switches`, `nav-import`, `nav-warranty`, `nav-users`, `#lang`,
//!   `#logout`, `[data-test=user-name]`, `[data-test=user-role]`;
//! - sites page: `#site-form`, `#building-form`, `#location-form` with inputs
//!   named after the record's fields (`[name=name]`, `[name=site_id]`…),
//!   submit buttons `[data-test=site-save]` etc., tree nodes
//!   `[data-test=site-node][data-site="<name>"]`;
//! - device lists: `#search`, `#filter-site`, `#filter-status`,
//!   `[data-test=new-device]`, rows `[data-test=camera-row]` (also
//!   `recorder-row`, `switch-row`) with `[data-test=serial]` cells, sort
//!   buttons `[data-test=sort-<column>]`, pager `[data-test=range]`;
//! - device form: `#device-form` with inputs named after the fields,
//!   `#device-save`, `[data-test=device-title]`, inline errors
//!   `[data-test=field-error][data-field=<field>][data-code=<code>]`;
//! - import: `#import-file`, `#import-text`, `#import-dry-run`, `#import-run`,
//!   `[data-test=import-report][data-dry-run=true|false]`, error rows
//!   `[data-test=import-error]` with `data-line`, `data-field`, `data-code`,
//!   totals `[data-test=total-rows]`, `valid-rows`, `imported`, outcomes
//!   `[data-test=import-clean]`, `import-refused`, `import-done`;
//! - device page: `[data-test=history-link]`, `[data-test=credentials-form]`
//!   (`#cred-username`, `#cred-password`), `#reveal`,
//!   `[data-test=revealed-password]`; history: `[data-test=history-entry]`
//!   with `data-action`, `[data-test=diff-row][data-field=<field>]`;
//! - warranty: `#within-days`, rows `[data-test=warranty-row]`, buttons
//!   `[data-test=warranty-ack]`;
//! - users: `#user-form` (inputs by name), `[data-test=user-save]`, rows
//!   `[data-test=user-row][data-username=<name>]`;
//! - banners: `[data-test=error][data-code=<code>]`, `[data-test=ok]`;
//! - sync: `[data-test=sync-status]` with `data-online`, `data-pending`,
//!   `data-conflicts`, `data-rejected`, `data-last-sync`; `[data-test=sync-now]`,
//!   `[data-test=nav-sync]`; unsent marks `[data-test=unsent]`; on the sync
//!   page `[data-test=conflict][data-field=<field>]` with
//!   `[data-test=conflict-winner]`/`conflict-loser` (`.value`, buttons
//!   `[data-test=keep-winner]`/`keep-loser`), `[data-test=rejected]`;
//! - scan: `[data-test=nav-scan]`; on `/scan` `[data-test=scan-page]`,
//!   `[data-test=scan-manual]` with `[data-test=scan-go]`,
//!   `[data-test=scan-file]`, `[data-test=scan-camera]`, and
//!   `[data-test=scan-error][data-code=unknown|invalid|no_code|camera|not_ready]`;
//! - photos (components the checklist pages mount): `[data-test=photo-input]`
//!   (camera) and `[data-test=photo-gallery]` file inputs inside
//!   `[data-test=photo-field]` (`data-count`, `data-busy`), thumbnails
//!   `[data-test=photo-thumb][data-sha256]`, `[data-test=photo-remove]`; the
//!   header's `[data-test=photo-queue]` with `data-pending`, `data-bytes-left`;
//!   the signature pad `[data-test=signature-canvas]`,
//!   `[data-test=signature-name]`, `[data-test=signature-save]`,
//!   `[data-test=signature-done][data-sha256]`;
//! - faults: `[data-test=nav-faults]`; on a device page
//!   `[data-test=faults-panel]` with `[data-test=device-fault][data-id]`,
//!   `[data-test=open-fault]` and `#fault-form` (inputs by name,
//!   `[data-test=fault-save]`); on `/faults` `#filter-status`,
//!   `#filter-severity`, `#filter-site` and rows
//!   `[data-test=fault-row][data-id][data-number][data-status]`; on
//!   `/faults/:id` `[data-test=fault-title]`,
//!   `[data-test=fault-status][data-status]`,
//!   `[data-test=fault-severity][data-severity]`,
//!   `[data-test=timeline-entry][data-kind][data-unsent]`,
//!   `[data-test=note-text]`, `[data-test=add-note]`, action buttons
//!   `[data-test=to-<status>]`, `reassign`, `edit-fault`,
//!   `[data-test=confirm-action]`, `[data-test=actions-offline]`,
//!   `[data-test=actions-unsent]`, `[data-test=fault-form-next]`,
//!   `[data-test=fault-form-state][data-state=missing|in_progress|completed]`,
//!   `[data-test=start-fault-form]`.
//! - maintenance: `[data-test=nav-maintenance]`, tabs `[data-test=tab-due]`,
//!   `tab-calendar`, `tab-schedules`; due list `#maint-site`,
//!   `[data-test=due-site][data-site=<name>]`, rows `[data-test=due-row]`
//!   (`data-device`, `data-template`, `data-due`, `data-days` = days
//!   overdue, negative for days left) with `[data-test=due-start]`,
//!   `due-continue`, `[data-test=due-done][data-done][data-next]`,
//!   `[data-test=maint-nothing]`, `[data-test=maint-refresh]`; offline
//!   `[data-test=maint-offline][data-as-of]`, `[data-test=maint-no-copy]`;
//!   calendar `[data-test=cal-month][data-month]`, `cal-prev`, `cal-next`,
//!   `[data-test=cal-day][data-date][data-today]` holding
//!   `[data-test=cal-item][data-device]`; rules `#rule-form` (inputs by
//!   name: `device_kind`, `site_id`, `target`, `template_id`, `every_days`),
//!   `[data-test=rule-save]`, rows `[data-test=rule-row]` (`data-id`,
//!   `data-target`, `data-every`) with `rule-edit`, `rule-delete`.
//!
//! Modules:
//! - this file: the harness and the online stories;
//! - [`offline`]: working with the server stopped, and two offline editors;
//! - [`scan`]: opening a device from its label's QR code, typed or read
//!   from a picked image;
//! - [`faults`]: a fault opened offline on a camera with a note, synced,
//!   then worked online until closing asks for the fault form;
//! - [`fieldwork`]: a maintenance checklist done offline, synced, printed;
//! - [`maintenance`]: a schedule made in the app, the due list, a
//!   maintenance started from it and completed, the next date; the due
//!   list and calendar shown offline from the kept copy.

mod faults;
mod fieldwork;
mod maintenance;
mod offline;
mod scan;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use gozcu_shared::{ErrorCode, Lang};
use serde_json::json;

const ADMIN_PASSWORD: &str = "e2e-admin-password-1";
/// How long any single UI condition may take before the test fails. Generous
/// because a shared CI machine may be compiling something else meanwhile.
const WAIT: Duration = Duration::from_secs(20);
const SITE: &str = "Merkez Yerleşke";

/// A child process that is killed, with everything it started, when the
/// test ends — also when it panics or fails half-way.
struct Guard {
    child: Child,
    name: &'static str,
}

impl Guard {
    fn spawn(name: &'static str, cmd: &mut Command) -> Result<Guard> {
        // Its own process group, so that Chromium, started by chromedriver,
        // goes down with it.
        use std::os::unix::process::CommandExt;
        let child = cmd
            .process_group(0)
            .spawn()
            .with_context(|| format!("cannot start {name}"))?;
        Ok(Guard { child, name })
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        let pid = self.child.id();
        // The group id is the child's pid (process_group(0) above): only
        // processes this test started are signalled.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{pid}")])
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
        eprintln!("stopped {} (pid {pid})", self.name);
    }
}

/// A fresh directory under the system temp dir, removed at the end.
struct TempDir(PathBuf);

impl TempDir {
    fn new(label: &str) -> Result<TempDir> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_nanos();
        let dir =
            std::env::temp_dir().join(format!("gozcu-e2e-{label}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        Ok(TempDir(dir))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Polls `url` until it answers 2xx.
async fn wait_http_ok(url: &str, what: &str, child: &mut Child) -> Result<()> {
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(r) = http.get(url).send().await {
            if r.status().is_success() {
                return Ok(());
            }
        }
        if let Some(status) = child.try_wait()? {
            bail!("{what} exited early with {status}");
        }
        if Instant::now() > deadline {
            bail!("{what} did not answer on {url}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// How to (re)start the server on the same data and port.
struct ServerSpec {
    bin: PathBuf,
    web_dir: std::ffi::OsString,
    data: PathBuf,
    port: u16,
}

impl ServerSpec {
    async fn spawn(&self) -> Result<Guard> {
        let mut server = Guard::spawn(
            "gozcu serve",
            Command::new(&self.bin)
                .arg("serve")
                .env("GOZCU_DATA_DIR", &self.data)
                .env("GOZCU_LISTEN", format!("127.0.0.1:{}", self.port))
                .env("GOZCU_WEB_DIR", &self.web_dir)
                .env("GOZCU_ADMIN_PASSWORD", ADMIN_PASSWORD)
                .stdout(Stdio::null()),
        )?;
        let base = format!("http://127.0.0.1:{}", self.port);
        wait_http_ok(&format!("{base}/healthz"), "gozcu serve", &mut server.child).await?;
        Ok(server)
    }
}

/// Everything one test run needs: server, chromedriver, browser session.
struct Env {
    base: String,
    client: Client,
    work: TempDir,
    spec: ServerSpec,
    driver_url: String,
    chromium: String,
    // Dropped last, after the browser session is closed.
    server: std::sync::Mutex<Option<Guard>>,
    _driver: Guard,
    _data: TempDir,
    _profile: TempDir,
}

impl Env {
    /// Kills the server (as a power cut would); the data dir stays.
    fn stop_server(&self) {
        drop(self.server.lock().expect("server lock").take());
    }

    /// Starts the server again on the same data dir and port.
    async fn start_server(&self) -> Result<()> {
        let guard = self.spec.spawn().await?;
        *self.server.lock().expect("server lock") = Some(guard);
        Ok(())
    }

    /// Another browser session with a profile of its own (another tablet).
    async fn new_browser(&self, profile: &Path) -> Result<Client> {
        browser(&self.driver_url, &self.chromium, profile).await
    }
}

async fn browser(driver_url: &str, chromium: &str, profile: &Path) -> Result<Client> {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": chromium,
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync",
                format!("--user-data-dir={}", profile.display()),
                "--window-size=1280,900",
            ],
        }),
    );
    // Plain HTTP to the local chromedriver: no TLS stack needed.
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    ClientBuilder::new(connector)
        .capabilities(caps)
        .connect(driver_url)
        .await
        .context("cannot open a browser session")
}

/// `None` when the environment asks to skip.
async fn start() -> Result<Option<Env>> {
    let Some(web_dir) = std::env::var_os("GOZCU_WEB_DIR") else {
        if std::env::var("GOZCU_REQUIRE_E2E").as_deref() == Ok("1") {
            bail!("GOZCU_REQUIRE_E2E=1 but GOZCU_WEB_DIR is not set: run `cargo xtask test`");
        }
        println!("browser tests skipped: run `cargo xtask test`");
        return Ok(None);
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_owned();
    let bin = std::env::var_os("GOZCU_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target/debug/gozcu"));
    let chromedriver =
        std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into());
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());

    let data = TempDir::new("data")?;
    let profile = TempDir::new("profile")?;
    let work = TempDir::new("work")?;
    let port = free_port()?;
    let spec = ServerSpec {
        bin,
        web_dir,
        data: data.0.clone(),
        port,
    };
    let server = spec.spawn().await?;
    let base = format!("http://127.0.0.1:{port}");

    let driver_port = free_port()?;
    let mut driver = Guard::spawn(
        "chromedriver",
        Command::new(&chromedriver)
            .arg(format!("--port={driver_port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    )?;
    let driver_url = format!("http://127.0.0.1:{driver_port}");
    wait_http_ok(
        &format!("{driver_url}/status"),
        "chromedriver",
        &mut driver.child,
    )
    .await?;

    let client = browser(&driver_url, &chromium, &profile.0).await?;
    Ok(Some(Env {
        base,
        client,
        work,
        spec,
        driver_url,
        chromium,
        server: std::sync::Mutex::new(Some(server)),
        _driver: driver,
        _data: data,
        _profile: profile,
    }))
}

/// Runs `scenario`, saves a screenshot if it fails, and always closes the
/// browser session before the guards stop the processes.
async fn run(name: &str, scenario: impl AsyncFnOnce(&Env) -> Result<()>) -> Result<()> {
    let Some(env) = start().await? else {
        return Ok(());
    };
    let result = scenario(&env).await;
    if result.is_err() {
        if let Some(path) = save_screenshot(&env.client, &format!("failed-{name}")).await {
            eprintln!("screenshot of the failure: {}", path.display());
        }
    }
    let Env { client, .. } = env;
    let _ = client.close().await;
    result
}

// ---- small helpers over fantoccini ----------------------------------------

async fn save_screenshot(c: &Client, name: &str) -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/e2e-screenshots");
    let png = c.screenshot().await.ok()?;
    std::fs::create_dir_all(&dir).ok()?;
    let path = dir.join(format!("{name}.png"));
    std::fs::write(&path, png).ok()?;
    Some(path)
}

/// A screenshot of a step, only when `GOZCU_E2E_SCREENSHOTS=1`.
async fn snap(c: &Client, name: &str) {
    if std::env::var("GOZCU_E2E_SCREENSHOTS").as_deref() == Ok("1") {
        save_screenshot(c, name).await;
    }
}

async fn count(c: &Client, css: &str) -> Result<usize> {
    Ok(c.find_all(Locator::Css(css)).await?.len())
}

/// Polls `check` until it returns `Some`, or fails after [`WAIT`] saying
/// what was awaited. Errors from the browser (a row re-rendered under our
/// feet) count as "not yet".
async fn until<T>(what: &str, mut check: impl AsyncFnMut() -> Result<Option<T>>) -> Result<T> {
    let deadline = Instant::now() + WAIT;
    let mut last_err = None;
    loop {
        match check().await {
            Ok(Some(v)) => return Ok(v),
            Ok(None) => {}
            Err(e) => last_err = Some(e),
        }
        if Instant::now() > deadline {
            return Err(anyhow!(
                "timed out waiting for {what} (last error: {last_err:?})"
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn el(c: &Client, css: &str) -> Result<Element> {
    until(&format!("element `{css}`"), async || {
        Ok(c.find_all(Locator::Css(css)).await?.into_iter().next())
    })
    .await
}

async fn click(c: &Client, css: &str) -> Result<()> {
    // An element may be found while still disabled (a button waiting for
    // its input); wait until it can really be clicked.
    let e = el(c, css).await?;
    until(&format!("`{css}` enabled"), async || {
        Ok(e.is_enabled().await?.then_some(()))
    })
    .await?;
    // Centre it first: the sticky header may cover an element that the
    // driver's own scrolling leaves at the top edge.
    let arg = serde_json::to_value(&e)?;
    c.execute("arguments[0].scrollIntoView({block: 'center'})", vec![arg])
        .await?;
    e.click().await.with_context(|| format!("click {css}"))
}

async fn fill(c: &Client, css: &str, text: &str) -> Result<()> {
    let e = el(c, css).await?;
    e.clear().await?;
    e.send_keys(text)
        .await
        .with_context(|| format!("type into {css}"))
}

async fn text_of(c: &Client, css: &str) -> Result<String> {
    Ok(el(c, css).await?.text().await?)
}

/// Picks [`SITE`] in the device form once the select has been filled (from
/// the local copy, so it may take a moment after the page opens).
async fn choose_site(c: &Client) -> Result<()> {
    until("site option", async || {
        Ok((count(c, "#device-form [name=site_id] option").await? >= 2).then_some(()))
    })
    .await?;
    el(c, "#device-form [name=site_id]")
        .await?
        .select_by_label(SITE)
        .await?;
    Ok(())
}

/// Searches the camera list for `serial` and waits until that camera is the
/// only row (the answer to this search, not a previous one's single row).
async fn search_single_camera(c: &Client, serial: &str) -> Result<()> {
    fill(c, "#search", serial).await?;
    until(&format!("camera {serial} alone"), async || {
        let rows = c.find_all(Locator::Css("[data-test=camera-row]")).await?;
        if rows.len() != 1 {
            return Ok(None);
        }
        let found = rows[0]
            .find(Locator::Css("[data-test=serial]"))
            .await?
            .text()
            .await?;
        Ok((found == serial).then_some(()))
    })
    .await
}

async fn login(c: &Client, base: &str) -> Result<()> {
    c.goto(base).await?;
    fill(c, "#username", "admin").await?;
    fill(c, "#password", ADMIN_PASSWORD).await?;
    click(c, "#login-submit").await?;
    el(c, "[data-test=nav-cameras]")
        .await
        .context("header after login")?;
    let name = text_of(c, "[data-test=user-role]").await?;
    anyhow::ensure!(
        name == gozcu_shared::Role::Admin.label(Lang::Tr),
        "role shown as {name:?}"
    );
    Ok(())
}

async fn create_site(c: &Client) -> Result<()> {
    click(c, "[data-test=nav-sites]").await?;
    fill(c, "#site-form [name=name]", SITE).await?;
    fill(c, "#site-form [name=code]", "MRK").await?;
    click(c, "[data-test=site-save]").await?;
    el(c, &format!("[data-test=site-node][data-site='{SITE}']"))
        .await
        .context("new site in the tree")?;
    snap(c, "01-sites").await;
    Ok(())
}

async fn create_camera(c: &Client) -> Result<()> {
    click(c, "[data-test=nav-cameras]").await?;
    click(c, "[data-test=new-device]").await?;
    fill(c, "#device-form [name=name]", "Ana Giriş Kapısı").await?;
    choose_site(c).await?;
    fill(c, "#device-form [name=make]", "Hikvision").await?;
    fill(c, "#device-form [name=serial]", "SN-E2E-0001").await?;
    // Inline validation from shared `normalize()`, translated in Turkish.
    fill(c, "#device-form [name=ip]", "10.1.0.300").await?;
    let err = text_of(
        c,
        "[data-test=field-error][data-field=ip][data-code=invalid_ip]",
    )
    .await?;
    anyhow::ensure!(
        err == ErrorCode::InvalidIp.message(Lang::Tr),
        "inline IP error was {err:?}"
    );
    snap(c, "02-camera-form-inline-error").await;
    fill(c, "#device-form [name=ip]", "10.1.0.30").await?;
    until("IP error gone", async || {
        Ok(
            c.find_all(Locator::Css("[data-test=field-error][data-field=ip]"))
                .await?
                .is_empty()
                .then_some(()),
        )
    })
    .await?;
    click(c, "#device-save").await?;
    // Creating navigates to the new camera's own page.
    until("camera page after save", async || {
        let url = c.current_url().await?;
        let title = c.find_all(Locator::Css("[data-test=device-title]")).await?;
        let on_detail = url.path().starts_with("/cameras/") && !url.path().ends_with("/new");
        Ok(match (on_detail, title.first()) {
            (true, Some(t)) if t.text().await?.contains("Ana Giriş Kapısı") => Some(()),
            _ => None,
        })
    })
    .await?;
    snap(c, "03-camera-created").await;
    Ok(())
}

/// A camera CSV with `rows` data rows; `bad` rows are broken on purpose.
/// Data row `i` (1-based) is on file line `i + 1`.
fn camera_csv(rows: u32, skip_bad: bool) -> String {
    let mut out = String::from("site,name,make,serial,ip,warranty_start,warranty_end\n");
    for i in 1..=rows {
        let (mut name, mut ip, mut w_end) = (
            format!("İçe Aktarılan {i}"),
            format!("10.2.0.{i}"),
            "2027-01-01".to_owned(),
        );
        match i {
            11 => ip = "10.2.0.999".into(),    // line 12: bad IP
            25 => name = String::new(),        // line 26: missing name
            40 => w_end = "2024-12-31".into(), // line 41: warranty ends before it starts
            _ => {}
        }
        if skip_bad && matches!(i, 11 | 25 | 40) {
            continue;
        }
        out.push_str(&format!(
            "{SITE},{name},Dahua,IMP-{i:04},{ip},2025-01-01,{w_end}\n"
        ));
    }
    out
}

async fn import_rows(c: &Client) -> Result<Vec<(u32, String, String)>> {
    let mut out = Vec::new();
    for row in c.find_all(Locator::Css("[data-test=import-error]")).await? {
        let line = row
            .attr("data-line")
            .await?
            .unwrap_or_default()
            .parse()
            .unwrap_or(0);
        let field = row.attr("data-field").await?.unwrap_or_default();
        let code = row.attr("data-code").await?.unwrap_or_default();
        out.push((line, field, code));
    }
    Ok(out)
}

async fn import_csv(c: &Client, work: &Path) -> Result<()> {
    let bad = work.join("cameras-bad.csv");
    std::fs::write(&bad, camera_csv(50, false))?;
    click(c, "[data-test=nav-import]").await?;
    el(c, "#import-file")
        .await?
        .send_keys(&bad.display().to_string())
        .await?;
    click(c, "#import-dry-run").await?;
    el(c, "[data-test=import-report][data-dry-run=true]")
        .await
        .context("dry-run report")?;
    let errors = import_rows(c).await?;
    let expected = vec![
        (12, "ip".to_owned(), "invalid_ip".to_owned()),
        (26, "name".to_owned(), "required".to_owned()),
        (
            41,
            "warranty_end".to_owned(),
            "warranty_end_before_start".to_owned(),
        ),
    ];
    anyhow::ensure!(errors == expected, "dry-run errors: {errors:?}");
    anyhow::ensure!(text_of(c, "[data-test=total-rows]").await? == "50");
    anyhow::ensure!(text_of(c, "[data-test=valid-rows]").await? == "47");
    // The message is translated by the app from the code.
    let first = el(c, "[data-test=import-error][data-line='12']")
        .await?
        .text()
        .await?;
    anyhow::ensure!(
        first.contains(ErrorCode::InvalidIp.message(Lang::Tr)),
        "error row text {first:?}"
    );

    snap(c, "04-import-dry-run").await;

    // The real import of a file with bad rows is refused as a whole.
    click(c, "#import-run").await?;
    el(c, "[data-test=import-report][data-dry-run=false]")
        .await
        .context("refused import report")?;
    el(c, "[data-test=import-refused]").await?;
    snap(c, "05-import-refused").await;
    anyhow::ensure!(text_of(c, "[data-test=imported]").await? == "0");
    anyhow::ensure!(import_rows(c).await?.len() == 3);

    // Fixed file: the 47 good rows check clean and import.
    let good = work.join("cameras-good.csv");
    std::fs::write(&good, camera_csv(50, true))?;
    el(c, "#import-file")
        .await?
        .send_keys(&good.display().to_string())
        .await?;
    until("report cleared after picking a new file", async || {
        Ok(c.find_all(Locator::Css("[data-test=import-report]"))
            .await?
            .is_empty()
            .then_some(()))
    })
    .await?;
    click(c, "#import-dry-run").await?;
    el(c, "[data-test=import-clean]")
        .await
        .context("clean dry run")?;
    anyhow::ensure!(text_of(c, "[data-test=total-rows]").await? == "47");
    click(c, "#import-run").await?;
    el(c, "[data-test=import-done]")
        .await
        .context("import done")?;
    anyhow::ensure!(text_of(c, "[data-test=imported]").await? == "47");
    snap(c, "06-import-done").await;
    Ok(())
}

async fn search_by_serial(c: &Client) -> Result<()> {
    click(c, "[data-test=nav-cameras]").await?;
    // 1 camera made in the form + 47 imported.
    until("48 cameras in the list", async || {
        Ok(text_of(c, "[data-test=range]")
            .await?
            .ends_with("/ 48")
            .then_some(()))
    })
    .await?;
    search_single_camera(c, "IMP-0033").await?;
    snap(c, "07-search").await;
    Ok(())
}

/// The camera made in the form has a history with its creation, showing
/// the fields it set; editing it adds an entry with just the change.
async fn camera_history(c: &Client) -> Result<()> {
    search_single_camera(c, "SN-E2E-0001").await?;
    click(c, "[data-test=camera-row] a").await?;
    fill(c, "#device-form [name=firmware]", "V5.7.3").await?;
    click(c, "#device-save").await?;
    el(c, "[data-test=ok]").await.context("saved banner")?;
    // Credentials: store, then reveal (admin may).
    fill(c, "#cred-username", "admin").await?;
    fill(c, "#cred-password", "kamera-sifre-1").await?;
    click(c, "[data-test=credentials-save]").await?;
    el(c, "[data-test=credentials] [data-test=ok]")
        .await
        .context("credentials stored")?;
    click(c, "#reveal").await?;
    let revealed = text_of(c, "[data-test=revealed-password]").await?;
    anyhow::ensure!(revealed == "kamera-sifre-1", "revealed {revealed:?}");
    snap(c, "08-camera-detail").await;
    click(c, "[data-test=history-link]").await?;
    until("two history entries", async || {
        Ok((count(c, "[data-test=history-entry]").await? >= 2).then_some(()))
    })
    .await?;
    // The firmware change shows as its own diff row.
    el(c, "[data-test=diff-row][data-field=firmware]").await?;
    // Ids are shown as names.
    let site = text_of(c, "[data-test=diff-row][data-field=site_id] .new").await?;
    anyhow::ensure!(site == SITE, "site shown as {site:?}");
    snap(c, "09-history").await;
    Ok(())
}

/// The imported cameras' warranties end on 2027-01-01; acknowledging one
/// removes it from the default list.
async fn warranty(c: &Client) -> Result<()> {
    click(c, "[data-test=nav-warranty]").await?;
    el(c, "#within-days").await?.select_by_value("180").await?;
    // How many rows there are depends on today's date; whatever it is, one
    // acknowledgement must remove exactly one row.
    let before = until("warranty list", async || {
        let n = count(c, "[data-test=warranty-row]").await?;
        let empty = count(c, "[data-test=no-warranty]").await?;
        Ok((n > 0 || empty > 0).then_some(n))
    })
    .await?;
    snap(c, "10-warranty").await;
    if before > 0 {
        click(c, "[data-test=warranty-ack]").await?;
        until("one row fewer", async || {
            Ok((count(c, "[data-test=warranty-row]").await? == before - 1).then_some(()))
        })
        .await?;
    }
    Ok(())
}

/// A recorder through its own form; numbers are checked inline too.
async fn create_recorder(c: &Client) -> Result<()> {
    click(c, "[data-test=nav-recorders]").await?;
    click(c, "[data-test=new-device]").await?;
    fill(c, "#device-form [name=name]", "NVR-1").await?;
    choose_site(c).await?;
    fill(c, "#device-form [name=make]", "Dahua").await?;
    fill(c, "#device-form [name=channels]", "otuz iki").await?;
    el(
        c,
        "[data-test=field-error][data-field=channels][data-code=invalid_number]",
    )
    .await?;
    fill(c, "#device-form [name=channels]", "32").await?;
    click(c, "#device-save").await?;
    until("recorder page after save", async || {
        let titles = c.find_all(Locator::Css("[data-test=device-title]")).await?;
        Ok(match titles.first() {
            Some(t) if t.text().await?.ends_with("NVR-1") => Some(()),
            _ => None,
        })
    })
    .await?;
    click(c, "[data-test=nav-recorders]").await?;
    until("recorder listed", async || {
        Ok((count(c, "[data-test=recorder-row]").await? == 1).then_some(()))
    })
    .await?;
    Ok(())
}

/// On a 10-inch tablet in portrait (about 800 CSS pixels wide) the pages
/// must not scroll sideways: wide tables scroll inside their own box.
async fn tablet_layout(c: &Client) -> Result<()> {
    c.set_window_size(800, 1200).await?;
    for (nav, ready) in [
        ("[data-test=nav-cameras]", "[data-test=camera-row]"),
        ("[data-test=nav-import]", "#import-file"),
        ("[data-test=nav-warranty]", "#within-days"),
        ("[data-test=nav-users]", "[data-test=user-row]"),
        ("[data-test=nav-sites]", "[data-test=site-node]"),
    ] {
        click(c, nav).await?;
        el(c, ready).await?;
        let overflow = c
            .execute(
                "return document.documentElement.scrollWidth - document.documentElement.clientWidth",
                vec![],
            )
            .await?;
        anyhow::ensure!(
            overflow.as_i64() == Some(0),
            "{nav}: page is {overflow} px too wide"
        );
        snap(c, &format!("12-tablet-{}", &nav[15..nav.len() - 1])).await;
    }
    c.set_window_size(1280, 900).await?;
    Ok(())
}

/// The session survives a reload (restored from `/auth/me`), deep links
/// work, and logging out brings the login form back.
async fn reload_and_logout(c: &Client, base: &str) -> Result<()> {
    c.goto(&format!("{base}/warranty")).await?;
    el(c, "#within-days")
        .await
        .context("deep link after reload")?;
    click(c, "#logout").await?;
    el(c, "#username")
        .await
        .context("login form after logout")?;
    c.goto(&format!("{base}/cameras")).await?;
    el(c, "#username")
        .await
        .context("still logged out after reload")?;
    Ok(())
}

async fn create_user(c: &Client) -> Result<()> {
    click(c, "[data-test=nav-users]").await?;
    el(c, "[data-test=user-row][data-username=admin]").await?;
    fill(c, "#user-form [name=username]", "tekniker1").await?;
    fill(c, "#user-form [name=display_name]", "Saha Teknisyeni").await?;
    // A short password is refused inline before anything is sent.
    fill(c, "#user-form [name=password]", "kisa").await?;
    el(
        c,
        "[data-test=field-error][data-field=password][data-code=weak_password]",
    )
    .await?;
    fill(c, "#user-form [name=password]", "tekniker-sifre-1").await?;
    click(c, "[data-test=user-save]").await?;
    el(c, "[data-test=user-row][data-username=tekniker1]")
        .await
        .context("new user listed")?;
    snap(c, "11-users").await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_manages_inventory_in_the_browser() -> Result<()> {
    // One server and one browser for the whole story: each costs seconds,
    // and the steps build on each other (the site is needed by the camera
    // and by the import).
    run("admin_manages_inventory", async |env: &Env| {
        let c = &env.client;
        login(c, &env.base).await.context("login")?;
        create_site(c).await.context("create site")?;
        create_camera(c).await.context("create camera")?;
        import_csv(c, &env.work.0).await.context("CSV import")?;
        search_by_serial(c).await.context("search by serial")?;
        camera_history(c)
            .await
            .context("camera detail and history")?;
        warranty(c).await.context("warranty")?;
        create_user(c).await.context("users")?;
        create_recorder(c).await.context("recorder")?;
        tablet_layout(c).await.context("tablet layout")?;
        reload_and_logout(c, &env.base)
            .await
            .context("reload and logout")?;
        Ok(())
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_password_is_refused_with_a_translated_message() -> Result<()> {
    run("wrong_password", async |env: &Env| {
        let c = &env.client;
        c.goto(&env.base).await?;
        fill(c, "#username", "admin").await?;
        fill(c, "#password", "not-the-password").await?;
        click(c, "#login-submit").await?;
        let msg = text_of(c, "[data-test=error][data-code=invalid_credentials]").await?;
        anyhow::ensure!(
            msg == ErrorCode::InvalidCredentials.message(Lang::Tr),
            "message {msg:?}"
        );
        // Switching the language re-translates from the code.
        click(c, "[data-test=lang-en]").await?;
        until("English message", async || {
            Ok((text_of(c, "[data-test=error]").await?
                == ErrorCode::InvalidCredentials.message(Lang::En))
            .then_some(()))
        })
        .await?;
        anyhow::ensure!(
            c.find_all(Locator::Css("[data-test=nav-cameras]"))
                .await?
                .is_empty(),
            "logged in with a wrong password"
        );
        Ok(())
    })
    .await
}

/// Seeds the inventory through the API (the browser part of the test is
/// what is measured, not the seeding): one site and `n` cameras.
async fn seed_cameras(base: &str, n: u32) -> Result<()> {
    let http = reqwest::Client::builder().cookie_store(true).build()?;
    let session: serde_json::Value = http
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"username": "admin", "password": ADMIN_PASSWORD}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let csrf = session["csrf_token"]
        .as_str()
        .context("csrf token")?
        .to_owned();
    http.post(format!("{base}/api/v1/sites"))
        .header("X-CSRF-Token", &csrf)
        .json(&json!({"name": SITE}))
        .send()
        .await?
        .error_for_status()?;
    let mut csv = String::from("site,name,make,serial,ip\n");
    for i in 0..n {
        csv.push_str(&format!(
            "{SITE},Kamera {i:05},Axis,BULK-{i:05},10.{}.{}.{}\n",
            100 + i / 65536,
            (i / 256) % 256,
            i % 256
        ));
    }
    let report: serde_json::Value = http
        .post(format!("{base}/api/v1/cameras/import?dry_run=false"))
        .header("X-CSRF-Token", &csrf)
        .header("Content-Type", "text/csv")
        .body(csv)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    anyhow::ensure!(report["imported"] == n, "seeding: {report}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_cameras_stay_responsive() -> Result<()> {
    run("ten_thousand", async |env: &Env| {
        const N: u32 = 10_000;
        seed_cameras(&env.base, N).await.context("seeding")?;
        let c = &env.client;
        login(c, &env.base).await?;
        click(c, "[data-test=nav-cameras]").await?;
        // The list shows one page and the server's count of all of them.
        until("the total count", async || {
            Ok(text_of(c, "[data-test=range]")
                .await?
                .ends_with(&format!("/ {N}"))
                .then_some(()))
        })
        .await?;
        anyhow::ensure!(
            count(c, "[data-test=camera-row]").await? == 100,
            "page size"
        );
        // Searching, sorting and paging each answer well within the time a
        // person notices, on a debug-built server.
        let limit = Duration::from_secs(3);
        let started = Instant::now();
        fill(c, "#search", "BULK-09876").await?;
        until("the searched camera", async || {
            let rows = c
                .find_all(Locator::Css("[data-test=camera-row] [data-test=serial]"))
                .await?;
            Ok(match rows.as_slice() {
                [one] if one.text().await? == "BULK-09876" => Some(()),
                _ => None,
            })
        })
        .await?;
        let search_took = started.elapsed();
        fill(c, "#search", "").await?;
        until("all cameras again", async || {
            Ok((count(c, "[data-test=camera-row]").await? == 100).then_some(()))
        })
        .await?;
        let started = Instant::now();
        click(c, "[data-test=sort-serial]").await?;
        click(c, "[data-test=sort-serial]").await?;
        until("highest serial first", async || {
            let first = c
                .find_all(Locator::Css("[data-test=camera-row] [data-test=serial]"))
                .await?;
            Ok(match first.first() {
                Some(e) if e.text().await? == format!("BULK-{:05}", N - 1) => Some(()),
                _ => None,
            })
        })
        .await?;
        let sort_took = started.elapsed();
        let started = Instant::now();
        click(c, "[data-test=next]").await?;
        until("second page", async || {
            Ok(text_of(c, "[data-test=range]")
                .await?
                .contains("101–200")
                .then_some(()))
        })
        .await?;
        let page_took = started.elapsed();
        snap(c, "13-ten-thousand").await;
        eprintln!(
            "10,000 cameras: search {search_took:?}, sort {sort_took:?}, next page {page_took:?}"
        );
        // The search includes the 250 ms debounce.
        for (what, took) in [
            ("search", search_took),
            ("sort", sort_took),
            ("next page", page_took),
        ] {
            anyhow::ensure!(took < limit, "{what} took {took:?}");
        }
        Ok(())
    })
    .await
}
