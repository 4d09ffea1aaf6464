//! Offline-first: the app loads and edits with the server stopped, keeps the
//! changes across a closed tab, and syncs them exactly once; two tablets
//! that edit the same field offline converge and show the conflict.

use std::collections::HashMap;

use anyhow::{ensure, Context, Result};
use fantoccini::Client;
use serde_json::{json, Value};

use super::{
    choose_site, click, count, el, fill, login, run, seed_cameras, snap, text_of, until, Env,
    TempDir, ADMIN_PASSWORD,
};

/// A REST client logged in as admin, for checking what the server holds.
pub(super) async fn rest(base: &str) -> Result<reqwest::Client> {
    let http = reqwest::Client::builder().cookie_store(true).build()?;
    http.post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"username": "admin", "password": ADMIN_PASSWORD}))
        .send()
        .await?
        .error_for_status()?;
    Ok(http)
}

/// Every camera on the server, by serial.
async fn cameras(http: &reqwest::Client, base: &str) -> Result<Vec<Value>> {
    let page: Value = http
        .get(format!("{base}/api/v1/cameras?limit=1000"))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    Ok(page["items"].as_array().context("items")?.clone())
}

pub(super) async fn status(c: &Client, attr: &str) -> Result<String> {
    Ok(el(c, "[data-test=sync-status]")
        .await?
        .attr(attr)
        .await?
        .unwrap_or_default())
}

/// Waits until a sync has completed with nothing left to send.
pub(super) async fn synced(c: &Client) -> Result<()> {
    until("a completed sync with nothing unsent", async || {
        let ok = status(c, "data-online").await? == "true"
            && status(c, "data-pending").await? == "0"
            && status(c, "data-running").await? == "false"
            && !status(c, "data-last-sync").await?.is_empty();
        Ok(ok.then_some(()))
    })
    .await
}

/// Presses "Sync now" and waits for a sync that started after the press to
/// finish with nothing left to send.
pub(super) async fn sync_now(c: &Client) -> Result<()> {
    let before = status(c, "data-last-sync").await?;
    click(c, "[data-test=sync-now]").await?;
    until("a new sync", async || {
        Ok((status(c, "data-last-sync").await? != before).then_some(()))
    })
    .await?;
    synced(c).await
}

async fn pending(c: &Client) -> Result<String> {
    status(c, "data-pending").await
}

/// The service worker controls the page, so a reload works offline.
pub(super) async fn controlled_by_service_worker(c: &Client) -> Result<()> {
    until("the service worker controlling the page", async || {
        let v = c
            .execute(
                "return !!(navigator.serviceWorker && navigator.serviceWorker.controller)",
                vec![],
            )
            .await?;
        Ok((v == Value::Bool(true)).then_some(()))
    })
    .await
}

pub(super) async fn rows(c: &Client, n: usize) -> Result<()> {
    until(&format!("{n} camera rows"), async || {
        Ok((count(c, "[data-test=camera-row]").await? == n).then_some(()))
    })
    .await
}

/// Opens a camera from the list and sets its firmware through the form.
/// The start of every field story: log in while online, let the first sync
/// fill the replica (one camera) and the service worker take the page, then
/// stop the server and open `camera`'s page from the offline copy.
pub(super) async fn offline_on_camera_page(env: &Env, camera: &str) -> Result<()> {
    let c = &env.client;
    login(c, &env.base).await?;
    click(c, "[data-test=nav-cameras]").await?;
    rows(c, 1).await?;
    synced(c).await.context("first sync")?;
    controlled_by_service_worker(c).await?;
    env.stop_server();
    c.refresh().await?;
    el(c, "[data-test=sync-status][data-online=false]").await?;
    c.goto(&format!("{}/cameras/{camera}", env.base)).await?;
    Ok(())
}

async fn edit_firmware(c: &Client, id: &str, name: &str, firmware: &str) -> Result<()> {
    click(c, "[data-test=nav-cameras]").await?;
    click(c, &format!("[data-test=camera-row][data-id='{id}'] a")).await?;
    until("the camera's form", async || {
        Ok(text_of(c, "[data-test=device-title]")
            .await?
            .ends_with(name)
            .then_some(()))
    })
    .await?;
    fill(c, "#device-form [name=firmware]", firmware).await?;
    click(c, "#device-save").await?;
    el(c, "[data-test=ok]").await.context("saved banner")?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edits_made_offline_reach_the_server_exactly_once() -> Result<()> {
    run("offline_edits", async |env: &Env| {
        seed_cameras(&env.base, 5).await.context("seeding")?;
        let http = rest(&env.base).await?;
        let before = cameras(&http, &env.base).await?;
        ensure!(before.len() == 5, "seeded {}", before.len());
        let by_serial: HashMap<String, Value> = before
            .iter()
            .map(|c| {
                (
                    c["serial"].as_str().unwrap_or_default().to_owned(),
                    c.clone(),
                )
            })
            .collect();
        let cam = |i: u32| by_serial[&format!("BULK-{i:05}")].clone();
        let id = |i: u32| cam(i)["id"].as_str().unwrap_or_default().to_owned();

        // Online: log in and let the first sync fill the replica.
        let c = &env.client;
        login(c, &env.base).await.context("login")?;
        click(c, "[data-test=nav-cameras]").await?;
        rows(c, 5).await?;
        synced(c).await.context("first sync")?;
        controlled_by_service_worker(c).await?;

        // The server goes away; the app still loads from the service worker
        // and logs in from the stored session.
        env.stop_server();
        c.refresh().await?;
        el(c, "[data-test=sync-status][data-online=false]")
            .await
            .context("offline start")?;
        click(c, "[data-test=nav-cameras]").await?;
        rows(c, 5).await.context("list from the replica")?;
        snap(c, "20-offline-list").await;

        // Three edits, one new camera, one delete, all offline.
        for i in 0..3 {
            edit_firmware(c, &id(i), &format!("Kamera {i:05}"), &format!("OFF-{i}"))
                .await
                .with_context(|| format!("edit camera {i}"))?;
        }
        click(c, "[data-test=nav-cameras]").await?;
        click(c, "[data-test=new-device]").await?;
        fill(c, "#device-form [name=name]", "Çevrimdışı Kamera").await?;
        choose_site(c).await?;
        fill(c, "#device-form [name=make]", "Bosch").await?;
        fill(c, "#device-form [name=serial]", "OFF-NEW-1").await?;
        click(c, "#device-save").await?;
        until("the new camera's page", async || {
            let url = c.current_url().await?;
            Ok(
                (url.path().starts_with("/cameras/") && !url.path().ends_with("/new"))
                    .then_some(()),
            )
        })
        .await?;
        click(c, "[data-test=nav-cameras]").await?;
        click(c, &format!("[data-test=camera-row][data-id='{}'] a", id(4))).await?;
        el(c, "[data-test=device-delete]").await?;
        c.execute("window.confirm = () => true", vec![]).await?;
        click(c, "[data-test=device-delete]").await?;
        rows(c, 5).await.context("list after the delete")?;
        ensure!(pending(c).await? == "5", "pending {}", pending(c).await?);
        until("four rows marked unsent", async || {
            Ok((count(c, "[data-test=camera-row] [data-test=unsent]").await? == 4).then_some(()))
        })
        .await?;
        snap(c, "21-offline-edits").await;
        // Logging out with unsent changes asks first.
        click(c, "#logout").await?;
        el(c, "[data-test=logout-confirm]").await?;
        click(c, "[data-test=logout-cancel]").await?;

        // Close the tab and open a new one (same profile): nothing is lost.
        let old = c.window().await?;
        let new = c.new_window(true).await?.handle;
        c.switch_to_window(old).await?;
        c.close_window().await?;
        c.switch_to_window(new).await?;
        c.goto(&format!("{}/cameras", env.base)).await?;
        rows(c, 5).await.context("list in a new tab")?;
        until("the outbox kept across tabs", async || {
            Ok((pending(c).await? == "5").then_some(()))
        })
        .await?;

        // The server is back: one sync sends everything.
        env.start_server().await?;
        sync_now(c).await.context("sync after restart")?;
        ensure!(
            count(c, "[data-test=camera-row] [data-test=unsent]").await? == 0,
            "unsent marks after sync"
        );

        let after = cameras(&http, &env.base).await?;
        let mut serials: Vec<&str> = after
            .iter()
            .map(|c| c["serial"].as_str().unwrap_or_default())
            .collect();
        serials.sort();
        ensure!(
            serials
                == [
                    "BULK-00000",
                    "BULK-00001",
                    "BULK-00002",
                    "BULK-00003",
                    "OFF-NEW-1"
                ],
            "cameras on the server: {serials:?}"
        );
        let strip = |v: &Value| {
            let mut v = v.clone();
            if let Some(o) = v.as_object_mut() {
                o.remove("updated_at");
            }
            v
        };
        for c in &after {
            let serial = c["serial"].as_str().unwrap_or_default();
            match serial {
                "OFF-NEW-1" => {
                    ensure!(
                        c["name"] == "Çevrimdışı Kamera" && c["make"] == "Bosch",
                        "{c}"
                    );
                }
                "BULK-00003" => ensure!(strip(c) == strip(&cam(3)), "untouched camera: {c}"),
                _ => {
                    let i: u32 = serial[5..].parse()?;
                    let mut want = strip(&cam(i));
                    want["firmware"] = json!(format!("OFF-{i}"));
                    ensure!(strip(c) == want, "edited camera {i}: {c}");
                }
            }
        }
        let gone = http
            .get(format!("{}/api/v1/cameras/{}", env.base, id(4)))
            .send()
            .await?
            .status();
        ensure!(
            gone == reqwest::StatusCode::NOT_FOUND,
            "deleted camera: {gone}"
        );
        Ok(())
    })
    .await
}

/// The value of the firmware field a camera's form shows.
async fn shown_firmware(c: &Client, id: &str) -> Result<String> {
    click(c, "[data-test=nav-cameras]").await?;
    click(c, &format!("[data-test=camera-row][data-id='{id}'] a")).await?;
    let input = el(c, "#device-form [name=firmware]").await?;
    Ok(input.prop("value").await?.unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_offline_editors_converge_and_resolve_the_conflict() -> Result<()> {
    run("offline_conflict", async |env: &Env| {
        seed_cameras(&env.base, 1).await.context("seeding")?;
        let http = rest(&env.base).await?;
        let id = cameras(&http, &env.base).await?[0]["id"]
            .as_str()
            .context("id")?
            .to_owned();
        let profile_b = TempDir::new("profile-b")?;
        let b = env.new_browser(&profile_b.0).await?;
        let outcome = async {
            let a = &env.client;
            for c in [a, &b] {
                login(c, &env.base).await?;
                click(c, "[data-test=nav-cameras]").await?;
                rows(c, 1).await?;
                synced(c).await?;
            }

            env.stop_server();
            edit_firmware(a, &id, "Kamera 00000", "A-1.0").await?;
            edit_firmware(&b, &id, "Kamera 00000", "B-2.0").await?;
            for c in [a, &b] {
                ensure!(pending(c).await? == "1");
            }

            env.start_server().await?;
            sync_now(a).await.context("sync a")?;
            sync_now(&b).await.context("sync b")?;
            sync_now(a).await.context("sync a again")?;

            // Both show the server's winner, and at least one the conflict.
            let server = cameras(&http, &env.base).await?[0]["firmware"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            ensure!(
                server == "A-1.0" || server == "B-2.0",
                "server has {server:?}"
            );
            for c in [a, &b] {
                let shown = shown_firmware(c, &id).await?;
                ensure!(shown == server, "shown {shown:?}, server {server:?}");
            }
            let mut with_conflict = 0;
            for c in [a, &b] {
                if status(c, "data-conflicts").await? != "0" {
                    with_conflict += 1;
                }
            }
            ensure!(with_conflict >= 1, "no device shows the conflict");

            // Resolve on A, keeping the losing value; both clear after sync.
            click(a, "[data-test=nav-sync]").await?;
            let row = "[data-test=conflict][data-field=firmware]";
            el(a, row).await.context("conflict row")?;
            snap(a, "22-conflict").await;
            let loser = text_of(a, &format!("{row} [data-test=conflict-loser] .value")).await?;
            ensure!(
                loser != server && (loser == "A-1.0" || loser == "B-2.0"),
                "loser {loser:?}"
            );
            click(a, &format!("{row} [data-test=keep-loser]")).await?;
            sync_now(a).await.context("sync the resolution")?;
            sync_now(&b).await.context("b pulls the resolution")?;
            for c in [a, &b] {
                until("no conflicts", async || {
                    Ok((status(c, "data-conflicts").await? == "0").then_some(()))
                })
                .await?;
            }
            el(a, "[data-test=no-conflicts]").await?;
            let server = cameras(&http, &env.base).await?[0]["firmware"].clone();
            ensure!(server == json!(loser), "resolved to {server}");
            for c in [a, &b] {
                ensure!(shown_firmware(c, &id).await? == loser);
            }
            Ok(())
        }
        .await;
        let _ = b.close().await;
        outcome
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_tabs_of_one_user_share_the_outbox() -> Result<()> {
    run("offline_two_tabs", async |env: &Env| {
        seed_cameras(&env.base, 3).await.context("seeding")?;
        let http = rest(&env.base).await?;
        let seeded = cameras(&http, &env.base).await?;
        let id_of = |serial: &str| -> Result<String> {
            let cam = seeded
                .iter()
                .find(|c| c["serial"] == serial)
                .with_context(|| format!("camera {serial}"))?;
            Ok(cam["id"].as_str().unwrap_or_default().to_owned())
        };
        let c = &env.client;
        login(c, &env.base).await.context("login")?;
        click(c, "[data-test=nav-cameras]").await?;
        rows(c, 3).await?;
        synced(c).await.context("first sync")?;
        controlled_by_service_worker(c).await?;
        let first = c.window().await?;
        let second = c.new_window(true).await?.handle;
        c.switch_to_window(second.clone()).await?;
        c.goto(&format!("{}/cameras", env.base)).await?;
        rows(c, 3).await.context("list in the second tab")?;

        // Offline, the tabs take turns; each has its own copy in memory
        // and neither reloads, so each must take its numbers from the
        // stored outbox.
        env.stop_server();
        let turns = [(&first, 0), (&second, 1), (&first, 2)];
        for (tab, i) in turns {
            c.switch_to_window(tab.clone()).await?;
            let serial = format!("BULK-{i:05}");
            edit_firmware(
                c,
                &id_of(&serial)?,
                &format!("Kamera {i:05}"),
                &format!("TAB-{i}"),
            )
            .await
            .with_context(|| format!("edit {serial}"))?;
        }

        // The first tab pushes everything, the second tab's change too.
        c.switch_to_window(first.clone()).await?;
        env.start_server().await?;
        sync_now(c).await.context("sync from the first tab")?;
        let after = cameras(&http, &env.base).await?;
        for i in 0..3 {
            let serial = format!("BULK-{i:05}");
            let cam = after
                .iter()
                .find(|c| c["serial"] == serial.as_str())
                .with_context(|| format!("camera {serial} on the server"))?;
            ensure!(cam["firmware"] == format!("TAB-{i}"), "{serial}: {cam}");
        }
        c.switch_to_window(second).await?;
        sync_now(c).await.context("the second tab catches up")?;
        ensure!(
            status(c, "data-rejected").await? == "0",
            "rejections in the second tab"
        );
        Ok(())
    })
    .await
}
