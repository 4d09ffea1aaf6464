//! `/scan`: a device label's QR code opens the device from the offline
//! replica, typed in or read from a picked photo of the label by the WASM
//! decoder; an id the replica does not have, or text that is no device
//! code, is said so.

use anyhow::{ensure, Context, Result};
use fantoccini::Client;
use image::{ImageBuffer, Luma};
use qrcode::QrCode;
use serde_json::{json, Value};

use super::{click, el, fill, login, run, seed_cameras, snap, text_of, until, Env, ADMIN_PASSWORD};

/// The seeded camera's id and name, read through the API.
async fn first_camera(base: &str) -> Result<(String, String)> {
    let http = reqwest::Client::builder().cookie_store(true).build()?;
    http.post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"username": "admin", "password": ADMIN_PASSWORD}))
        .send()
        .await?
        .error_for_status()?;
    let page: Value = http
        .get(format!("{base}/api/v1/cameras?limit=1"))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let cam = &page["items"][0];
    Ok((
        cam["id"].as_str().context("camera id")?.to_owned(),
        cam["name"].as_str().context("camera name")?.to_owned(),
    ))
}

/// A label's QR code as a PNG, black on white with the standard quiet zone,
/// at a size a phone photo of a label would give.
fn qr_png(payload: &str, path: &std::path::Path) -> Result<()> {
    let code = QrCode::new(payload.as_bytes())?;
    let img: ImageBuffer<Luma<u8>, Vec<u8>> =
        code.render::<Luma<u8>>().min_dimensions(360, 360).build();
    img.save(path)?;
    Ok(())
}

async fn path_is(c: &Client, want: &str) -> Result<()> {
    until(&format!("the page {want}"), async || {
        Ok((c.current_url().await?.path() == want).then_some(()))
    })
    .await
}

async fn scan_error(c: &Client, code: &str) -> Result<String> {
    text_of(c, &format!("[data-test=scan-error][data-code={code}]")).await
}

async fn open_scan(c: &Client) -> Result<()> {
    click(c, "[data-test=nav-scan]").await?;
    el(c, "[data-test=scan-page]").await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_label_opens_its_device_from_the_offline_inventory() -> Result<()> {
    run("scan", async |env: &Env| {
        seed_cameras(&env.base, 1).await.context("seeding")?;
        let (id, name) = first_camera(&env.base).await?;
        let c = &env.client;
        login(c, &env.base).await?;
        // The replica has the camera once the list (read from it) shows it.
        click(c, "[data-test=nav-cameras]").await?;
        el(c, "[data-test=camera-row]")
            .await
            .context("camera synced")?;

        open_scan(c).await?;
        snap(c, "scan-01-page").await;

        // (c) An id the replica does not have, and text that is no code.
        let unknown = "gozcu:device/0190d6c6-0000-7000-8000-000000000000";
        fill(c, "[data-test=scan-manual]", unknown).await?;
        click(c, "[data-test=scan-go]").await?;
        let msg = scan_error(c, "unknown").await?;
        ensure!(
            msg.contains("envanterde yok") && msg.contains(unknown),
            "unknown id message {msg:?}"
        );
        snap(c, "scan-02-unknown").await;
        fill(c, "[data-test=scan-manual]", "https://example.org/").await?;
        click(c, "[data-test=scan-go]").await?;
        scan_error(c, "invalid").await?;
        ensure!(c.current_url().await?.path() == "/scan", "left the page");

        // (a) The label's payload, typed: the camera's page opens.
        fill(c, "[data-test=scan-manual]", &format!("gozcu:device/{id}")).await?;
        click(c, "[data-test=scan-go]").await?;
        path_is(c, &format!("/cameras/{id}")).await?;
        until("the camera's title", async || {
            Ok(text_of(c, "[data-test=device-title]")
                .await?
                .ends_with(&name)
                .then_some(()))
        })
        .await?;

        // (b) A photo of the label, read by the WASM decoder: headless
        // Chromium on Linux has no BarcodeDetector, which is the case the
        // fallback is for.
        let native = c
            .execute("return 'BarcodeDetector' in window", vec![])
            .await?;
        ensure!(
            native == Value::Bool(false),
            "this Chromium has a BarcodeDetector: the WASM decoder would not be the one tested"
        );
        let png = env.work.0.join("label.png");
        qr_png(&format!("gozcu:device/{id}"), &png)?;
        open_scan(c).await?;
        el(c, "[data-test=scan-file]")
            .await?
            .send_keys(&png.display().to_string())
            .await?;
        path_is(c, &format!("/cameras/{id}"))
            .await
            .context("camera page from the picked QR image")?;
        snap(c, "scan-03-opened").await;

        // A picture without a code says so.
        let blank = env.work.0.join("blank.png");
        ImageBuffer::from_pixel(200, 120, Luma([255u8])).save(&blank)?;
        open_scan(c).await?;
        el(c, "[data-test=scan-file]")
            .await?
            .send_keys(&blank.display().to_string())
            .await?;
        scan_error(c, "no_code").await?;
        Ok(())
    })
    .await
}
