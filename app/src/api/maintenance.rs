//! `/api/v1/maintenance` (what is due, per site and per day) and
//! `/api/v1/schedules` (the rules that make it due).

use gozcu_shared::schedules::Schedule;
use serde_json::Value;
use uuid::Uuid;

use super::ApiFailure;

/// Everything due or overdue in the user's sites (a `DueReport`), with the
/// server's default window (30 days ahead). The app filters by site
/// itself, so that the copy kept for offline use covers every site.
pub const DUE: &str = "/maintenance/due";

/// One month (`?month=YYYY-MM`, default this one) as a `MaintenanceCalendar`.
pub const CALENDAR: &str = "/maintenance/calendar";

/// [`DUE`] or [`CALENDAR`] as the JSON that came: the page keeps it as it
/// is for reading offline, and reads it as its type once.
pub async fn fetch(path: &'static str, query: &[(&str, String)]) -> Result<Value, ApiFailure> {
    super::get(path, query).await
}

pub async fn schedules() -> Result<Vec<Schedule>, ApiFailure> {
    super::get("/schedules", &[]).await
}

pub async fn create(s: &Schedule) -> Result<Schedule, ApiFailure> {
    super::post("/schedules", s).await
}

pub async fn update(id: Uuid, s: &Schedule) -> Result<Schedule, ApiFailure> {
    super::put(&format!("/schedules/{id}"), s).await
}

pub async fn delete(id: Uuid) -> Result<(), ApiFailure> {
    super::delete(&format!("/schedules/{id}")).await
}
