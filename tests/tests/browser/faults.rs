//! Faults offline: with the server stopped, a technician opens a fault on a
//! camera's page and adds a note; the workflow buttons say they need a
//! connection. The server comes back, one sync sends both, the server holds
//! the fault numbered with its note, and the app shows the number; the
//! workflow then runs online, and closing without a fault form is refused
//! with the way to start that form.

use anyhow::{ensure, Context, Result};
use fantoccini::Client;
use serde_json::Value;

use super::offline::{offline_on_camera_page, rest, sync_now};
use super::{click, count, el, fill, run, seed_cameras, snap, text_of, until, Env};

const TITLE: &str = "Direk kamerası görüntü vermiyor";
const NOTE: &str = "Sigorta attı, yarın yedek getirilecek";

/// Whether the element matched by `css` is enabled.
async fn enabled(c: &Client, css: &str) -> Result<bool> {
    Ok(el(c, css).await?.is_enabled().await?)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fault_opened_offline_reaches_the_server_with_its_note() -> Result<()> {
    run("faults_offline", async |env: &Env| {
        seed_cameras(&env.base, 1).await.context("seeding")?;
        let http = rest(&env.base).await?;
        let page: Value = http
            .get(format!("{}/api/v1/cameras", env.base))
            .send()
            .await?
            .json()
            .await?;
        let camera = page["items"][0]["id"]
            .as_str()
            .context("camera id")?
            .to_owned();

        // No signal on the pole: the server is gone once the replica is filled.
        offline_on_camera_page(env, &camera).await?;
        let c = &env.client;
        el(c, "[data-test=faults-panel] [data-test=no-faults]")
            .await
            .context("the faults panel")?;
        click(c, "[data-test=open-fault]").await?;
        fill(c, "#fault-form [name=title]", TITLE).await?;
        fill(
            c,
            "#fault-form [name=description]",
            "Yağmurdan sonra kapandı",
        )
        .await?;
        el(c, "#fault-form [name=severity]")
            .await?
            .select_by_value("high")
            .await?;
        click(c, "[data-test=fault-save]").await?;
        let fault_id = until("the fault's page", async || {
            let path = c.current_url().await?.path().to_owned();
            Ok(path.strip_prefix("/faults/").map(str::to_owned))
        })
        .await?;
        el(c, ".page-head [data-test=unsent]")
            .await
            .context("not sent yet")?;
        el(c, "[data-test=fault-severity][data-severity=high]").await?;
        // The workflow is office work: offline it is there, but disabled,
        // and says why.
        el(c, "[data-test=actions-offline]").await?;
        ensure!(
            !enabled(c, "[data-test=to-resolved]").await?,
            "status buttons are disabled offline"
        );
        fill(c, "[data-test=note-text]", NOTE).await?;
        click(c, "[data-test=add-note]").await?;
        el(
            c,
            "[data-test=timeline-entry][data-kind=note][data-unsent=true]",
        )
        .await
        .context("the note in the timeline, not sent")?;
        snap(c, "40-offline-fault").await;

        // The camera's page lists it among its active faults.
        c.goto(&format!("{}/cameras/{camera}", env.base)).await?;
        el(
            c,
            &format!("[data-test=device-fault][data-id='{fault_id}'] [data-test=unsent]"),
        )
        .await
        .context("the fault on the camera's page")?;

        // Back in range: one sync sends the fault and its note.
        env.start_server().await?;
        sync_now(c).await.context("sync after restart")?;
        let list: Value = http
            .get(format!("{}/api/v1/faults?device_id={camera}", env.base))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let items = list["items"].as_array().context("items")?;
        ensure!(items.len() == 1, "one fault on the server: {list}");
        ensure!(items[0]["id"] == fault_id.as_str(), "{list}");
        ensure!(
            items[0]["number"] == 1 && items[0]["title"] == TITLE,
            "{list}"
        );
        ensure!(items[0]["severity"] == "high", "{list}");
        let detail: Value = http
            .get(format!("{}/api/v1/faults/{fault_id}", env.base))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let kinds: Vec<&str> = detail["events"]
            .as_array()
            .context("events")?
            .iter()
            .filter_map(|e| e["kind"].as_str())
            .collect();
        ensure!(kinds == ["opened", "note"], "timeline {kinds:?}");
        ensure!(detail["events"][1]["note"] == NOTE, "{detail}");

        // The app shows the number the server gave, and the timeline with
        // the server's `opened` entry.
        c.goto(&format!("{}/faults/{fault_id}", env.base)).await?;
        until("the fault's number", async || {
            Ok(text_of(c, "[data-test=fault-title]")
                .await?
                .contains("#1")
                .then_some(()))
        })
        .await?;
        until("the synced timeline", async || {
            let entries = count(c, "[data-test=timeline-entry][data-unsent=false]").await?;
            Ok((entries == 2).then_some(()))
        })
        .await?;
        ensure!(
            count(c, "[data-test=unsent]").await? == 0,
            "nothing left unsent"
        );

        // Online, the supervisor's moves work: resolve it …
        click(c, "[data-test=to-resolved]").await?;
        click(c, "[data-test=confirm-action]").await?;
        el(
            c,
            ".page-head [data-test=fault-status][data-status=resolved]",
        )
        .await
        .context("resolved")?;
        el(c, "[data-test=fault-repair]")
            .await
            .context("time to repair")?;
        // … but closing needs the fault form, and the page says how.
        click(c, "[data-test=to-closed]").await?;
        click(c, "[data-test=confirm-action]").await?;
        el(c, "[data-test=error][data-code=fault_form_required]").await?;
        el(c, "[data-test=fault-form-next]").await?;
        el(c, "[data-test=fault-form-state][data-state=missing]").await?;
        snap(c, "41-close-needs-form").await;
        click(c, "[data-test=start-fault-form]").await?;
        until("the fault form's page", async || {
            Ok(c.current_url()
                .await?
                .path()
                .starts_with("/runs/")
                .then_some(()))
        })
        .await?;
        until("the fault form", async || {
            Ok(text_of(c, "[data-test=run-title]")
                .await?
                .contains("Arıza formu")
                .then_some(()))
        })
        .await?;
        Ok(())
    })
    .await
}
