//! Field-work storage (DOMAIN.md §9–10): faults with their timeline, and
//! maintenance schedules with the due list built from checklist runs. The
//! rules themselves are pure and live in `gozcu_shared::{faults, schedules}`;
//! this module reads and writes their rows, and `http::{faults, schedules}`
//! puts the two together inside write transactions.

pub mod faults;
pub mod schedules;

use gozcu_shared::inventory::DeviceKind;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use uuid::Uuid;

/// The device tables, with the kind each holds.
pub const DEVICE_TABLES: [(DeviceKind, &str); 3] = [
    (DeviceKind::Camera, "cameras"),
    (DeviceKind::Recorder, "recorders"),
    (DeviceKind::Switch, "switches"),
];

pub fn device_table(kind: DeviceKind) -> &'static str {
    match kind {
        DeviceKind::Camera => "cameras",
        DeviceKind::Recorder => "recorders",
        DeviceKind::Switch => "switches",
    }
}

fn bad_uuid(e: uuid::Error) -> sqlx::Error {
    sqlx::Error::Decode(Box::new(e))
}

pub(crate) fn uuid_col(row: &AnyRow, col: &str) -> Result<Uuid, sqlx::Error> {
    let s: String = row.try_get(col)?;
    Uuid::parse_str(&s).map_err(bad_uuid)
}

pub(crate) fn opt_uuid_col(row: &AnyRow, col: &str) -> Result<Option<Uuid>, sqlx::Error> {
    let s: Option<String> = row.try_get(col)?;
    s.map(|s| Uuid::parse_str(&s).map_err(bad_uuid)).transpose()
}

/// The site of a device of the given kind, if the device exists.
pub async fn device_site(
    conn: &mut AnyConnection,
    kind: DeviceKind,
    id: &Uuid,
) -> Result<Option<Uuid>, sqlx::Error> {
    let sql = format!("SELECT site_id FROM {} WHERE id = $1", device_table(kind));
    let site: Option<String> = sqlx::query_scalar(&sql)
        .bind(id.to_string())
        .fetch_optional(&mut *conn)
        .await?;
    site.map(|s| Uuid::parse_str(&s).map_err(bad_uuid))
        .transpose()
}

/// Finds a device of any kind: its kind and site.
pub async fn find_device(
    conn: &mut AnyConnection,
    id: &Uuid,
) -> Result<Option<(DeviceKind, Uuid)>, sqlx::Error> {
    for (kind, _) in DEVICE_TABLES {
        if let Some(site) = device_site(conn, kind, id).await? {
            return Ok(Some((kind, site)));
        }
    }
    Ok(None)
}
