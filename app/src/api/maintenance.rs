//! `/api/v1/maintenance` (what is due, per site and per day) and
//! `/api/v1/schedules` (the rules that make it due).

use gozcu_shared::api_fieldwork::{DueReport, MaintenanceCalendar};
use gozcu_shared::schedules::Schedule;
use uuid::Uuid;

use super::ApiFailure;

/// Everything due or overdue in the user's sites, with the server's default
/// window (30 days ahead). The app filters by site itself, so that the copy
/// kept for offline use covers every site.
pub async fn due() -> Result<DueReport, ApiFailure> {
    super::get("/maintenance/due", &[]).await
}

/// One month (`YYYY-MM`), or the current one.
pub async fn calendar(month: Option<&str>) -> Result<MaintenanceCalendar, ApiFailure> {
    let query: Vec<(&str, String)> = month.map(|m| ("month", m.to_owned())).into_iter().collect();
    super::get("/maintenance/calendar", &query).await
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
