//! `/api/v1/cameras`.

use gozcu_shared::api::{AuditEntry, DeviceCredentials, ImportReport};
use gozcu_shared::inventory::Camera;
use uuid::Uuid;

use super::{devices, ApiFailure};

pub async fn get(id: Uuid) -> Result<Camera, ApiFailure> {
    devices::get(id).await
}

pub async fn history(id: Uuid) -> Result<Vec<AuditEntry>, ApiFailure> {
    devices::history::<Camera>(id).await
}

pub async fn set_credentials(id: Uuid, c: &DeviceCredentials) -> Result<(), ApiFailure> {
    devices::set_credentials::<Camera>(id, c).await
}

pub async fn reveal_credentials(id: Uuid) -> Result<DeviceCredentials, ApiFailure> {
    devices::reveal_credentials::<Camera>(id).await
}

/// Where the browser downloads the CSV export; a plain link is enough since
/// the session cookie goes along with a same-origin `GET`.
pub fn export_url() -> String {
    format!("{}/cameras/export.csv", super::BASE)
}

/// What to upload: a file as picked (sent byte for byte, so the server can
/// report a non-UTF-8 file by line) or text pasted into the page.
pub enum CsvSource {
    File(web_sys::File),
    Text(String),
}

/// Uploads a camera CSV. A refused real import (HTTP 422) still carries a
/// report listing the bad rows; it is returned as `Ok` with `imported == 0`
/// so that the page shows it exactly like a dry run's.
pub async fn import(source: &CsvSource, dry_run: bool) -> Result<ImportReport, ApiFailure> {
    use gloo_net::http::Request;
    let url = format!("{}/cameras/import?dry_run={dry_run}", super::BASE);
    let b = super::mutation(Request::post(&url)).header("Content-Type", "text/csv");
    let req = match source {
        CsvSource::File(f) => b.body(f.clone()),
        CsvSource::Text(t) => b.body(t.clone()),
    }
    .map_err(super::net)?;
    let resp = req.send().await.map_err(super::net)?;
    let status = resp.status();
    let text = resp.text().await.map_err(super::net)?;
    if let Ok(report) = serde_json::from_str::<ImportReport>(&text) {
        return Ok(report);
    }
    match serde_json::from_str::<gozcu_shared::ApiError>(&text) {
        Ok(error) => Err(ApiFailure::Api { status, error }),
        Err(_) => Err(ApiFailure::Network(format!("HTTP {status}"))),
    }
}
