//! Maintenance schedules in the app: a supervisor adds "every camera every
//! 180 days" (after a bad interval is refused next to its field); the
//! camera installed 200 days ago is 20 days overdue in the due list and on
//! today in the calendar. The server stops: the due list and the calendar
//! still open, from the copy kept on the tablet, marked "as of"; the
//! technician starts the maintenance from the list, completes it, and the
//! list shows it done with its next date. Back online, the run syncs and
//! the server's due date moves by 180 days.

use anyhow::{ensure, Context, Result};
use fantoccini::{Client, Locator};
use gozcu_shared::validate::Date;
use serde_json::{json, Value};

use super::fieldwork::{answer_every_item, photo_file, CAMERA_MAINTENANCE};
use super::offline::{controlled_by_service_worker, sync_now, synced};
use super::{click, count, el, fill, login, run, snap, until, Env, TempDir, ADMIN_PASSWORD, SITE};

/// A REST session as admin with its CSRF token, for seeding and checking.
struct Rest {
    http: reqwest::Client,
    base: String,
    csrf: String,
}

impl Rest {
    async fn login(base: &str) -> Result<Rest> {
        let http = reqwest::Client::builder().cookie_store(true).build()?;
        let session: Value = http
            .post(format!("{base}/api/v1/auth/login"))
            .json(&json!({"username": "admin", "password": ADMIN_PASSWORD}))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let csrf = session["csrf_token"].as_str().context("csrf")?.to_owned();
        Ok(Rest {
            http,
            base: base.to_owned(),
            csrf,
        })
    }

    async fn get(&self, path: &str) -> Result<Value> {
        Ok(self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?)
    }

    async fn post(&self, path: &str, body: Value) -> Result<Value> {
        Ok(self
            .http
            .post(format!("{}{path}", self.base))
            .header("X-CSRF-Token", &self.csrf)
            .json(&body)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?)
    }
}

fn date(v: &Value) -> Result<Date> {
    Date::parse(v.as_str().context("a date")?).map_err(|e| anyhow::anyhow!("{e:?}"))
}

fn plus(d: Date, days: i64) -> Date {
    Date::from_days(d.to_days() + days)
}

async fn attr(c: &Client, css: &str, name: &str) -> Result<String> {
    el(c, css)
        .await?
        .attr(name)
        .await?
        .with_context(|| format!("{css} has no {name}"))
}

/// Picks an option by value once the select offers it (options may come
/// from the local copy a moment after the page opens).
async fn choose(c: &Client, css: &str, value: &str) -> Result<()> {
    until(&format!("option {value} in {css}"), async || {
        Ok((count(c, &format!("{css} option[value='{value}']")).await? > 0).then_some(()))
    })
    .await?;
    el(c, css).await?.select_by_value(value).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_schedule_makes_maintenance_due_and_a_run_moves_it() -> Result<()> {
    run("maintenance", async |env: &Env| {
        let rest = Rest::login(&env.base).await?;
        let today = date(&rest.get("/api/v1/maintenance/due").await?["today"])?;
        let site = rest.post("/api/v1/sites", json!({"name": SITE})).await?;
        let camera = rest
            .post(
                "/api/v1/cameras",
                json!({"site_id": site["id"], "name": "Giriş Kamerası", "make": "Axis",
                       "status": "installed", "install_date": plus(today, -200).to_string()}),
            )
            .await?;
        let camera = camera["id"].as_str().context("camera id")?.to_owned();
        let files = TempDir::new("maintenance-files")?;
        let photo = photo_file(&files)?;
        let photo = photo.to_str().context("photo path")?.to_owned();

        let c = &env.client;
        login(c, &env.base).await?;
        synced(c).await.context("first sync")?;
        controlled_by_service_worker(c).await?;
        click(c, "[data-test=nav-maintenance]").await?;
        el(c, "[data-test=maint-nothing]")
            .await
            .context("nothing due without a schedule")?;

        // The rule, with the form's own check first.
        click(c, "[data-test=tab-schedules]").await?;
        el(c, "[data-test=no-rules]").await?;
        choose(c, "#rule-form [name=device_kind]", "camera").await?;
        choose(c, "#rule-form [name=target]", "all").await?;
        choose(c, "#rule-form [name=template_id]", CAMERA_MAINTENANCE).await?;
        fill(c, "#rule-form [name=every_days]", "0").await?;
        click(c, "[data-test=rule-save]").await?;
        el(
            c,
            "[data-test=field-error][data-field=every_days][data-code=out_of_range]",
        )
        .await
        .context("a zero interval refused next to its field")?;
        ensure!(
            count(c, "[data-test=rule-row]").await? == 0,
            "nothing was saved"
        );
        fill(c, "#rule-form [name=every_days]", "180").await?;
        click(c, "[data-test=rule-save]").await?;
        el(
            c,
            "[data-test=rule-row][data-target=device_type][data-every='180']",
        )
        .await
        .context("the rule listed")?;
        snap(c, "40-maintenance-rules").await;

        // Due: 200 days since installation, every 180 days → 20 days overdue.
        click(c, "[data-test=tab-due]").await?;
        let row = format!("[data-test=due-row][data-device='{camera}']");
        el(
            c,
            &format!("{row}[data-days='20'][data-template='{CAMERA_MAINTENANCE}']"),
        )
        .await
        .context("the camera 20 days overdue")?;
        ensure!(
            attr(c, &row, "data-due").await? == plus(today, -20).to_string(),
            "due date"
        );
        el(
            c,
            &format!("[data-test=due-site][data-site='{SITE}'] [data-test=due-overdue-count]"),
        )
        .await?;
        snap(c, "41-maintenance-due").await;

        // The calendar plans what is overdue for today.
        click(c, "[data-test=tab-calendar]").await?;
        let today_cell = format!("[data-test=cal-day][data-date='{today}']");
        el(
            c,
            &format!("{today_cell}[data-today=true] [data-test=cal-item][data-device='{camera}']"),
        )
        .await
        .context("the overdue camera on today")?;
        snap(c, "42-maintenance-calendar").await;

        // On a 10-inch tablet held upright the pages do not scroll sideways.
        c.set_window_size(800, 1200).await?;
        for (tab, ready) in [
            ("[data-test=tab-calendar]", "[data-test=cal-grid]"),
            ("[data-test=tab-due]", "[data-test=due-row]"),
            ("[data-test=tab-schedules]", "[data-test=rule-row]"),
        ] {
            click(c, tab).await?;
            el(c, ready).await?;
            let overflow = c
                .execute(
                    "return document.documentElement.scrollWidth - document.documentElement.clientWidth",
                    vec![],
                )
                .await?;
            ensure!(overflow.as_i64() == Some(0), "{tab}: {overflow} px too wide");
        }
        click(c, "[data-test=tab-calendar]").await?;
        el(c, &format!("{today_cell} [data-test=cal-item]")).await?;
        snap(c, "42-maintenance-calendar-tablet").await;
        c.set_window_size(1280, 900).await?;

        // No signal on site: both pages open from the kept copies.
        env.stop_server();
        c.refresh().await?;
        el(c, "[data-test=sync-status][data-online=false]").await?;
        el(c, "[data-test=maint-offline]")
            .await
            .context("calendar offline")?;
        el(
            c,
            &format!("{today_cell} [data-test=cal-item][data-device='{camera}']"),
        )
        .await?;
        click(c, "[data-test=tab-due]").await?;
        el(c, "[data-test=maint-offline][data-as-of]")
            .await
            .context("due list offline")?;
        el(c, &format!("{row}[data-days='20']")).await?;
        snap(c, "43-maintenance-offline").await;

        // Start the maintenance from the list, do it, complete it.
        click(c, &format!("{row} [data-test=due-start]")).await?;
        until("the run's page", async || {
            Ok(c.current_url()
                .await?
                .path()
                .starts_with("/runs/")
                .then_some(()))
        })
        .await?;
        let run_path = c.current_url().await?.path().to_owned();
        let target = attr(c, "[data-test=run-target]", "href").await?;
        ensure!(
            target.ends_with(&camera),
            "the run is on the camera: {target}"
        );
        answer_every_item(c, &photo).await?;
        click(c, "[data-test=complete-run]").await?;
        el(c, "[data-test=run-status][data-status=completed]").await?;

        // Back to the list, still offline: done today, next in 180 days.
        c.goto(&format!("{}/maintenance", env.base)).await?;
        let next = plus(today, 180).to_string();
        el(
            c,
            &format!(
                "{row}[data-due='{next}'] [data-test=due-done][data-done='{today}'][data-next='{next}']"
            ),
        )
        .await
        .context("the run shown done, counting from it")?;
        ensure!(
            count(c, "[data-test=due-overdue-count]").await? == 0,
            "nothing overdue any more"
        );
        el(c, &format!("{row} [data-test=unsent]")).await?;
        snap(c, "44-maintenance-done-offline").await;

        // Online again: the run syncs, and the server moves the date.
        env.start_server().await?;
        sync_now(c).await?;
        synced(c).await?;
        let rest = Rest::login(&env.base).await?;
        let run_id = run_path.trim_start_matches("/runs/");
        let stored = rest
            .get(&format!("/api/v1/checklists/runs/{run_id}"))
            .await?;
        ensure!(stored["run"]["status"] == "completed", "{stored}");
        let later = rest
            .get(&format!("/api/v1/maintenance/due?to={next}"))
            .await?;
        let item = later["sites"][0]["items"]
            .as_array()
            .context("items")?
            .iter()
            .find(|i| i["device_id"] == camera.as_str())
            .context("the camera in the longer window")?
            .clone();
        ensure!(
            item["due"] == next.as_str() && item["last_completed"] == today.to_string(),
            "{item}"
        );
        click(c, "[data-test=maint-refresh]").await?;
        until("the camera off the 30-day list", async || {
            let offline = count(c, "[data-test=maint-offline]").await?;
            let rows = c.find_all(Locator::Css(&row)).await?.len();
            Ok((offline == 0 && rows == 0).then_some(()))
        })
        .await?;
        el(c, "[data-test=maint-nothing]").await?;
        Ok(())
    })
    .await
}
