//! Field work offline: with the server stopped, a technician runs the
//! camera maintenance checklist on a tablet — answers, a photo and a
//! signature — completes it; the server comes back, the run and its photos
//! sync, and the signed PDF prints with the answers.

use anyhow::{ensure, Context, Result};
use fantoccini::Client;
use serde_json::{json, Value};

use super::offline::{offline_on_camera_page, rest, sync_now};
use super::{click, el, run, seed_cameras, snap, until, Env, TempDir};

/// The built-in camera maintenance template (`shared::checklists::builtin`).
pub(super) const CAMERA_MAINTENANCE: &str = "3fb66ba3-42e8-5173-bc4b-87ff5acd44a3";

/// A small JPEG photo of a camera, written where the file input can take it.
pub(super) fn photo_file(dir: &TempDir) -> Result<std::path::PathBuf> {
    let mut img = image::RgbImage::new(640, 480);
    for (x, y, p) in img.enumerate_pixels_mut() {
        *p = image::Rgb([(x % 256) as u8, (y % 256) as u8, 128]);
    }
    let path = dir.0.join("kamera.jpg");
    img.save(&path).context("writing the test photo")?;
    Ok(path)
}

/// The items on the page as (id, kind), in order.
async fn items(c: &Client) -> Result<Vec<(String, String)>> {
    let v = c
        .execute(
            "return [...document.querySelectorAll('[data-test=item]')].map(e => [e.dataset.item, e.dataset.kind])",
            vec![],
        )
        .await?;
    Ok(serde_json::from_value(v)?)
}

/// Sets a text-like input's value and fires `change`, as leaving the field does.
async fn type_into(c: &Client, css: &str, text: &str) -> Result<()> {
    c.execute(
        "const e = document.querySelector(arguments[0]); e.value = arguments[1]; \
         e.dispatchEvent(new Event('input', {bubbles: true})); \
         e.dispatchEvent(new Event('change', {bubbles: true}));",
        vec![json!(css), json!(text)],
    )
    .await?;
    Ok(())
}

/// Draws a stroke on a signature canvas with pointer events.
async fn draw(c: &Client, css: &str) -> Result<()> {
    c.execute(
        "const cv = document.querySelector(arguments[0]); const r = cv.getBoundingClientRect(); \
         const ev = (type, x, y) => cv.dispatchEvent(new PointerEvent(type, {bubbles: true, \
           pointerId: 1, pointerType: 'pen', isPrimary: true, buttons: type === 'pointerup' ? 0 : 1, \
           clientX: r.left + x, clientY: r.top + y})); \
         ev('pointerdown', 10, 10); \
         for (let i = 1; i < 30; i++) ev('pointermove', 10 + i * 6, 10 + (i % 5) * 8); \
         ev('pointerup', 190, 40);",
        vec![json!(css)],
    )
    .await?;
    Ok(())
}

async fn answer_item(c: &Client, id: &str, kind: &str, photo: &str) -> Result<()> {
    let scope = format!("[data-test=item][data-item='{id}']");
    match kind {
        "yes_no" => click(c, &format!("{scope} button[data-value=true]")).await,
        "pass_fail" => click(c, &format!("{scope} button[data-value=pass]")).await,
        "number" => type_into(c, &format!("{scope} input"), "1").await,
        "text" => {
            let field = if super::count(c, &format!("{scope} textarea")).await? > 0 {
                format!("{scope} textarea")
            } else {
                format!("{scope} input")
            };
            type_into(c, &field, "Lens temizlendi, conta sağlam").await
        }
        "photo" => {
            el(c, &format!("{scope} [data-test=photo-input]"))
                .await?
                .send_keys(photo)
                .await?;
            until("the photo's thumbnail", async || {
                Ok(
                    (super::count(c, &format!("{scope} [data-test=photo-thumb]")).await? > 0)
                        .then_some(()),
                )
            })
            .await
        }
        "signature" => {
            draw(c, &format!("{scope} [data-test=signature-canvas]")).await?;
            type_into(
                c,
                &format!("{scope} [data-test=signature-name]"),
                "Ayşe Yılmaz",
            )
            .await?;
            click(c, &format!("{scope} [data-test=signature-save]")).await?;
            until("the signature saved", async || {
                Ok(
                    (super::count(c, &format!("{scope} [data-test=signature-done]")).await? > 0)
                        .then_some(()),
                )
            })
            .await
        }
        other => anyhow::bail!("no answer for item kind {other}"),
    }
}

/// Answers every item of the open run's page as it appears (answers
/// reveal conditional ones); returns the ids of the items answered.
pub(super) async fn answer_every_item(
    c: &Client,
    photo: &str,
) -> Result<std::collections::HashSet<String>> {
    let mut done = std::collections::HashSet::new();
    loop {
        let todo: Vec<(String, String)> = items(c)
            .await?
            .into_iter()
            .filter(|(id, _)| !done.contains(id))
            .collect();
        if todo.is_empty() {
            return Ok(done);
        }
        for (id, kind) in todo {
            answer_item(c, &id, &kind, photo)
                .await
                .with_context(|| format!("answering {kind} item {id}"))?;
            done.insert(id);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_maintenance_checklist_done_offline_prints_after_sync() -> Result<()> {
    run("fieldwork_offline_run", async |env: &Env| {
        seed_cameras(&env.base, 1).await.context("seeding")?;
        let http = rest(&env.base).await?;
        let page: Value = http
            .get(format!("{}/api/v1/cameras", env.base))
            .send()
            .await?
            .json()
            .await?;
        let camera = page["items"][0]["id"].as_str().context("camera id")?.to_owned();
        let files = TempDir::new("fieldwork-files")?;
        let photo = photo_file(&files)?;
        let photo = photo.to_str().context("photo path")?.to_owned();

        // The replica is filled, then the server goes away; the tablet works on.
        offline_on_camera_page(env, &camera).await?;
        let c = &env.client;
        el(c, "[data-test=runs]").await.context("the runs panel")?;
        until("the built-in templates offline", async || {
            let n = super::count(c, &format!("[data-test=template-select] option[value='{CAMERA_MAINTENANCE}']")).await?;
            Ok((n > 0).then_some(()))
        })
        .await?;
        c.execute(
            "const s = document.querySelector('[data-test=template-select]'); s.value = arguments[0]; \
             s.dispatchEvent(new Event('change', {bubbles: true}));",
            vec![json!(CAMERA_MAINTENANCE)],
        )
        .await?;
        click(c, "[data-test=start-run]").await?;
        until("the run's page", async || {
            Ok(c.current_url().await?.path().starts_with("/runs/").then_some(()))
        })
        .await?;
        let run_id = c
            .current_url()
            .await?
            .path()
            .trim_start_matches("/runs/")
            .to_owned();

        let done = answer_every_item(c, &photo).await?;
        snap(c, "30-offline-run").await;
        click(c, "[data-test=complete-run]").await?;
        el(c, "[data-test=run-status][data-status=completed]")
            .await
            .context("the run completed offline")?;
        el(c, "[data-test=run-locked]").await?;

        // Back online: one sync sends the run, its answers and its photos.
        env.start_server().await?;
        sync_now(c).await.context("sync after restart")?;
        let detail = until("the run completed on the server", async || {
            let resp = http
                .get(format!("{}/api/v1/checklists/runs/{run_id}", env.base))
                .send()
                .await?;
            if !resp.status().is_success() {
                return Ok(None);
            }
            let d: Value = resp.json().await?;
            Ok((d["run"]["status"] == "completed").then_some(d))
        })
        .await?;
        let answers = detail["answers"].as_object().context("answers")?;
        ensure!(answers.len() == done.len(), "{} answers for {} items", answers.len(), done.len());
        let hashes: Vec<String> = answers
            .values()
            .flat_map(|v| match v {
                Value::Array(list) => list
                    .iter()
                    .filter_map(|p| p["sha256"].as_str().map(str::to_owned))
                    .collect(),
                Value::Object(o) => o
                    .get("image_sha256")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                    .into_iter()
                    .collect(),
                _ => Vec::new(),
            })
            .collect();
        ensure!(!hashes.is_empty(), "the run names its photos and signature");
        for h in &hashes {
            until(&format!("photo {h} uploaded"), async || {
                let s = http
                    .get(format!("{}/api/v1/photos/{h}", env.base))
                    .send()
                    .await?
                    .status();
                Ok(s.is_success().then_some(()))
            })
            .await?;
        }

        // The PDF, as the link on the page downloads it.
        el(c, "[data-test=run-pdf]").await.context("the PDF link once synced")?;
        let pdf = http
            .get(format!("{}/api/v1/checklists/runs/{run_id}/report.pdf", env.base))
            .send()
            .await?
            .error_for_status()?
            .bytes()
            .await?;
        let text = pdf_extract::extract_text_from_mem(&pdf)?;
        for needle in ["Ayşe Yılmaz", "Lens temizlendi, conta sağlam", "GZC-"] {
            ensure!(text.contains(needle), "{needle:?} missing from the PDF:\n{text}");
        }
        Ok(())
    })
    .await
}
