//! `/api/v1/warranty`: devices whose warranty ends soon, and acknowledging a
//! reminder so that it does not come back every day (until the end date
//! changes).

use std::collections::HashSet;

use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::routing::{get, post};
use gozcu_shared::api::{WarrantyAck, WarrantyItem};
use gozcu_shared::inventory::{warranty_days_left, DeviceKind};
use gozcu_shared::validate::Date;
use gozcu_shared::Permission;
use serde::Deserialize;
use sqlx::Row;
use uuid::Uuid;

use super::extract::{Json, Query};
use super::{Access, AppError, AppResult, Ctx, Route};
use crate::app::App;
use crate::audit::{self, Event};

pub fn routes() -> Vec<Route> {
    vec![
        Route {
            method: Method::GET,
            path: "/api/v1/warranty",
            access: Access::Permission(Permission::InventoryRead),
            tag: "warranty",
            summary: "Devices whose warranty ends within ?within_days (30, 60, 90, 180…)",
            request: None,
            response: Some("[WarrantyItem]"),
            handler: get(list),
        },
        Route {
            method: Method::POST,
            path: "/api/v1/warranty/ack",
            access: Access::Permission(Permission::WarrantyAcknowledge),
            tag: "warranty",
            summary: "Acknowledge one reminder",
            request: Some("WarrantyAck"),
            response: None,
            handler: post(ack),
        },
    ]
}

#[derive(Debug, Deserialize)]
struct Params {
    within_days: Option<u32>,
    #[serde(default)]
    include_acknowledged: bool,
}

const KINDS: [(DeviceKind, &str); 3] = [
    (DeviceKind::Camera, "cameras"),
    (DeviceKind::Recorder, "recorders"),
    (DeviceKind::Switch, "switches"),
];

async fn list(
    State(app): State<App>,
    ctx: Ctx,
    Query(p): Query<Params>,
) -> AppResult<Json<Vec<WarrantyItem>>> {
    let within = i64::from(p.within_days.unwrap_or(90).min(3650));
    let today = app.today();
    let until = Date::from_days(today.to_days() + within).to_string();
    let acks: HashSet<(String, String, String)> =
        sqlx::query("SELECT kind, device_id, warranty_end FROM warranty_acks")
            .fetch_all(&app.db.pool)
            .await?
            .iter()
            .map(|r| Ok::<_, sqlx::Error>((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
            .collect::<Result<_, _>>()?;
    let mut items = Vec::new();
    for (kind, table) in KINDS {
        // Expired warranties stay on the list: someone still has to act.
        let sql = format!("SELECT d.id, d.name, d.site_id, s.name, d.make, d.serial, d.warranty_end FROM {table} d JOIN sites s ON s.id = d.site_id WHERE d.warranty_end IS NOT NULL AND d.warranty_end <= $1 AND d.status <> 'retired'");
        for r in sqlx::query(&sql)
            .bind(&until)
            .fetch_all(&app.db.pool)
            .await?
        {
            let id: String = r.try_get(0)?;
            let site_id =
                Uuid::parse_str(&r.try_get::<String, _>(2)?).map_err(anyhow::Error::from)?;
            if !ctx.in_scope(&site_id) {
                continue;
            }
            let end: String = r.try_get(6)?;
            let acknowledged = acks.contains(&(kind.as_str().to_owned(), id.clone(), end.clone()));
            if acknowledged && !p.include_acknowledged {
                continue;
            }
            items.push(WarrantyItem {
                kind,
                id: Uuid::parse_str(&id).map_err(anyhow::Error::from)?,
                name: r.try_get(1)?,
                site_id,
                site_name: r.try_get(3)?,
                make: r.try_get(4)?,
                serial: r.try_get(5)?,
                days_left: warranty_days_left(&end, today).unwrap_or(0),
                warranty_end: end,
                acknowledged,
            });
        }
    }
    items.sort_by(|a, b| {
        a.days_left
            .cmp(&b.days_left)
            .then_with(|| a.name.cmp(&b.name))
    });
    Ok(Json(items))
}

async fn ack(
    State(app): State<App>,
    ctx: Ctx,
    Json(a): Json<WarrantyAck>,
) -> AppResult<StatusCode> {
    let table = KINDS
        .iter()
        .find(|(k, _)| *k == a.kind)
        .map(|(_, t)| *t)
        .unwrap_or("cameras");
    let row = sqlx::query(&format!(
        "SELECT site_id, warranty_end FROM {table} WHERE id = $1"
    ))
    .bind(a.id.to_string())
    .fetch_optional(&app.db.pool)
    .await?
    .ok_or_else(AppError::not_found)?;
    let site_id = Uuid::parse_str(&row.try_get::<String, _>(0)?).map_err(anyhow::Error::from)?;
    if !ctx.in_scope(&site_id) {
        return Err(AppError::not_found());
    }
    let Some(end) = row.try_get::<Option<String>, _>(1)? else {
        return Err(AppError::not_found());
    };
    let now = app.now_ms();
    let mut tx = app.db.begin_write().await?;
    let done: Option<String> = sqlx::query_scalar(
        "SELECT kind FROM warranty_acks WHERE kind = $1 AND device_id = $2 AND warranty_end = $3",
    )
    .bind(a.kind.as_str())
    .bind(a.id.to_string())
    .bind(&end)
    .fetch_optional(tx.conn())
    .await?;
    if done.is_none() {
        sqlx::query("INSERT INTO warranty_acks (kind, device_id, warranty_end, acked_by, acked_at) VALUES ($1, $2, $3, $4, $5)").bind(a.kind.as_str()).bind(a.id.to_string()).bind(&end).bind(&ctx.user.username).bind(now).execute(tx.conn()).await?;
        audit::append(
            &mut tx,
            app.db.backend,
            now,
            &ctx.actor(),
            Event {
                action: "acknowledge_warranty",
                entity_type: a.kind.as_str(),
                entity_id: Some(a.id.to_string()),
                before: None,
                after: Some(serde_json::json!({ "warranty_end": end })),
            },
        )
        .await?;
    }
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
