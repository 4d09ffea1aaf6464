//! `/api/v1/audit`: the audit log for supervisors and administrators.

use axum::extract::State;
use axum::http::Method;
use axum::routing::get;
use gozcu_shared::api::AuditEntry;
use gozcu_shared::Permission;
use serde::Deserialize;

use super::extract::{Json, Query};
use super::{Access, AppResult, Route};
use crate::app::App;

pub fn routes() -> Vec<Route> {
    vec![Route {
        method: Method::GET,
        path: "/api/v1/audit",
        access: Access::Permission(Permission::AuditRead),
        tag: "audit",
        summary: "Audit entries, newest first (?limit, ?before_seq)",
        request: None,
        response: Some("[AuditEntry]"),
        handler: get(list),
    }]
}

#[derive(Debug, Deserialize)]
struct Params {
    limit: Option<u32>,
    before_seq: Option<i64>,
}

async fn list(State(app): State<App>, Query(p): Query<Params>) -> AppResult<Json<Vec<AuditEntry>>> {
    let limit = i64::from(p.limit.unwrap_or(100).clamp(1, 1000));
    Ok(Json(
        crate::audit::list(&app.db, limit, p.before_seq).await?,
    ))
}
