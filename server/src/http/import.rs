//! `/api/v1/cameras/import` and `/api/v1/cameras/export.csv`.
//!
//! An import is checked in full first — the pure checks of
//! `gozcu_shared::csv_import`, then names resolved against the database and
//! identities against every stored device — and written in one transaction
//! only when no row is bad. A dry run stops after the checks. So a file with
//! one bad row changes nothing, and the report lists every bad row at once.

use std::collections::{HashMap, HashSet};

use axum::extract::{Request, State};
use axum::http::{header, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use gozcu_shared::api::{ImportReport, ListQuery};
use gozcu_shared::csv_import::{camera_record, parse_cameras, CAMERA_COLUMNS};
use gozcu_shared::inventory::{check_channel, Camera, Recorder};
use gozcu_shared::validate::search_fold;
use gozcu_shared::{ErrorCode, FieldError, Permission};
use serde::Deserialize;
use sqlx::Row;
use uuid::Uuid;

use super::extract::{Json, Query};
use super::{Access, AppError, AppResult, Ctx, Route};
use crate::app::App;
use crate::audit::{self, Event};
use crate::inventory::devices as repo;
use crate::sync;

pub fn routes() -> Vec<Route> {
    vec![
        Route {
            method: Method::POST,
            path: "/api/v1/cameras/import",
            access: Access::Permission(Permission::InventoryImport),
            tag: "cameras",
            summary: "Import cameras from CSV (text/csv body); ?dry_run=true only checks. All rows or none.",
            request: None,
            response: Some("ImportReport"),
            handler: post(import),
        },
        Route { method: Method::GET, path: "/api/v1/cameras/export.csv", access: Access::Permission(Permission::InventoryRead), tag: "cameras", summary: "All cameras in the caller's scope as CSV", request: None, response: None, handler: get(export) },
    ]
}

#[derive(Debug, Deserialize)]
struct ImportParams {
    #[serde(default)]
    dry_run: bool,
}

/// Name → id lookups, folded so that "Rektörlük" matches "REKTORLUK".
struct Names {
    sites: HashMap<String, Uuid>,
    recorders: HashMap<(Uuid, String), (Uuid, u32)>,
    locations: HashMap<(Uuid, String), Uuid>,
}

async fn load_names(app: &App) -> AppResult<Names> {
    let mut sites = HashMap::new();
    for r in sqlx::query("SELECT id, name, code FROM sites")
        .fetch_all(&app.db.pool)
        .await?
    {
        let id = Uuid::parse_str(&r.try_get::<String, _>(0)?).map_err(anyhow::Error::from)?;
        sites.insert(search_fold(&r.try_get::<String, _>(1)?), id);
        if let Some(code) = r.try_get::<Option<String>, _>(2)? {
            sites.entry(search_fold(&code)).or_insert(id);
        }
    }
    let mut recorders = HashMap::new();
    for r in sqlx::query("SELECT id, site_id, name, channels FROM recorders")
        .fetch_all(&app.db.pool)
        .await?
    {
        let id = Uuid::parse_str(&r.try_get::<String, _>(0)?).map_err(anyhow::Error::from)?;
        let site = Uuid::parse_str(&r.try_get::<String, _>(1)?).map_err(anyhow::Error::from)?;
        recorders.insert(
            (site, search_fold(&r.try_get::<String, _>(2)?)),
            (id, r.try_get::<i64, _>(3)? as u32),
        );
    }
    let mut locations = HashMap::new();
    for r in sqlx::query(
        "SELECT l.id, b.site_id, l.name FROM locations l JOIN buildings b ON b.id = l.building_id",
    )
    .fetch_all(&app.db.pool)
    .await?
    {
        let id = Uuid::parse_str(&r.try_get::<String, _>(0)?).map_err(anyhow::Error::from)?;
        let site = Uuid::parse_str(&r.try_get::<String, _>(1)?).map_err(anyhow::Error::from)?;
        locations.insert((site, search_fold(&r.try_get::<String, _>(2)?)), id);
    }
    Ok(Names {
        sites,
        recorders,
        locations,
    })
}

async fn import(
    State(app): State<App>,
    ctx: Ctx,
    Query(params): Query<ImportParams>,
    req: Request,
) -> AppResult<Response> {
    // CSV files are allowed to be much bigger than JSON bodies.
    let bytes = axum::body::to_bytes(req.into_body(), app.settings.max_import_bytes)
        .await
        .map_err(|_| AppError::new(StatusCode::PAYLOAD_TOO_LARGE, ErrorCode::BodyTooLarge))?;
    let parsed = parse_cameras(&bytes);
    if let Some(e) = parsed
        .errors
        .iter()
        .find(|e| e.code == ErrorCode::InvalidUtf8)
    {
        // Nothing can be trusted in a file with broken encoding.
        return Err(AppError::Api {
            status: StatusCode::BAD_REQUEST,
            code: ErrorCode::InvalidUtf8,
            fields: vec![e.clone()],
            detail: None,
        });
    }
    let names = load_names(&app).await?;
    let existing: HashSet<String> = sqlx::query_scalar("SELECT identity FROM device_identities")
        .fetch_all(&app.db.pool)
        .await?
        .into_iter()
        .collect();
    let mut errors = parsed.errors.clone();
    let mut cameras: Vec<Camera> = Vec::with_capacity(parsed.rows.len());
    let now = app.now_ms();
    for row in &parsed.rows {
        let line = row.line;
        let mut row_errors = Vec::new();
        let Some(&site_id) = names.sites.get(&search_fold(&row.site)) else {
            errors.push(FieldError::new("site", ErrorCode::UnknownSite).at_line(line));
            continue;
        };
        if !ctx.in_scope(&site_id) {
            errors.push(FieldError::new("site", ErrorCode::NotInScope).at_line(line));
            continue;
        }
        let mut camera = Camera {
            id: Uuid::now_v7(),
            site_id,
            updated_at: now,
            ..row.camera.clone()
        };
        if let Some(name) = &row.recorder {
            match names.recorders.get(&(site_id, search_fold(name))) {
                Some(&(rid, channels)) => {
                    camera.recorder_id = Some(rid);
                    if let Err(e) = check_channel(camera.recorder_channel, channels) {
                        row_errors.push(FieldError::new("channel", e.code).at_line(line));
                    }
                }
                None => row_errors
                    .push(FieldError::new("recorder", ErrorCode::UnknownRecorder).at_line(line)),
            }
        }
        if let Some(name) = &row.location {
            match names.locations.get(&(site_id, search_fold(name))) {
                Some(&lid) => camera.location_id = Some(lid),
                None => row_errors
                    .push(FieldError::new("location", ErrorCode::UnknownLocation).at_line(line)),
            }
        }
        for (key, field, code) in repo::identity_keys(&camera.asset) {
            if existing.contains(&key) {
                row_errors.push(FieldError::new(field, code).at_line(line));
            }
        }
        if row_errors.is_empty() {
            cameras.push(camera);
        } else {
            errors.extend(row_errors);
        }
    }
    errors.sort_by_key(|e| e.line.unwrap_or(0));
    let mut report = ImportReport {
        dry_run: params.dry_run,
        total_rows: parsed.total_rows,
        valid_rows: cameras.len() as u32,
        imported: 0,
        errors,
    };
    if params.dry_run {
        return Ok(Json(report).into_response());
    }
    if !report.errors.is_empty() || cameras.is_empty() {
        let status = if report.errors.is_empty() {
            StatusCode::OK
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        };
        return Ok((status, Json(report)).into_response());
    }
    let mut tx = app.db.begin_write().await?;
    repo::insert_many(tx.conn(), app.db.backend, &cameras, now).await?;
    let writes = cameras
        .iter()
        .map(|c| {
            Ok(sync::ServerWrite {
                entity: super::devices::entity::<Camera>(c.id),
                site_id: Some(c.site_id),
                after: Some(serde_json::to_value(c)?),
            })
        })
        .collect::<Result<Vec<_>, serde_json::Error>>()
        .map_err(anyhow::Error::from)?;
    sync::record_writes(tx.conn(), app.db.backend, &app.sync, now, writes).await?;
    let events = cameras
        .iter()
        .map(|c| {
            Ok(Event {
                action: "import",
                entity_type: "camera",
                entity_id: Some(c.id.to_string()),
                before: None,
                after: Some(serde_json::to_value(c)?),
            })
        })
        .collect::<Result<Vec<_>, serde_json::Error>>()
        .map_err(anyhow::Error::from)?;
    audit::append_many(&mut tx, app.db.backend, now, &ctx.actor(), events).await?;
    tx.commit().await?;
    report.imported = cameras.len() as u32;
    Ok(Json(report).into_response())
}

async fn export(State(app): State<App>, ctx: Ctx) -> AppResult<Response> {
    let mut all = Vec::new();
    // Page through so a huge inventory never needs one giant query result.
    let mut offset = 0u32;
    loop {
        let page = repo::list::<Camera>(
            &app.db,
            ctx.scope(),
            &ListQuery {
                offset: Some(offset),
                limit: Some(10_000),
                ..Default::default()
            },
        )
        .await?;
        let n = page.items.len() as u32;
        all.extend(page.items);
        if n < 10_000 {
            break;
        }
        offset += n;
    }
    let site_names: HashMap<Uuid, String> = sqlx::query("SELECT id, name FROM sites")
        .fetch_all(&app.db.pool)
        .await?
        .iter()
        .filter_map(|r| {
            Some((
                Uuid::parse_str(&r.try_get::<String, _>(0).ok()?).ok()?,
                r.try_get(1).ok()?,
            ))
        })
        .collect();
    let recorders = repo::list::<Recorder>(
        &app.db,
        ctx.scope(),
        &ListQuery {
            limit: Some(10_000),
            ..Default::default()
        },
    )
    .await?;
    let recorder_names: HashMap<Uuid, String> = recorders
        .items
        .into_iter()
        .map(|r| (r.id, r.name))
        .collect();
    let location_names: HashMap<Uuid, String> = sqlx::query("SELECT id, name FROM locations")
        .fetch_all(&app.db.pool)
        .await?
        .iter()
        .filter_map(|r| {
            Some((
                Uuid::parse_str(&r.try_get::<String, _>(0).ok()?).ok()?,
                r.try_get(1).ok()?,
            ))
        })
        .collect();
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(CAMERA_COLUMNS)
        .map_err(anyhow::Error::from)?;
    for c in &all {
        let site = site_names.get(&c.site_id).map(String::as_str).unwrap_or("");
        let rec = c
            .recorder_id
            .and_then(|r| recorder_names.get(&r))
            .map(String::as_str);
        let loc = c
            .location_id
            .and_then(|l| location_names.get(&l))
            .map(String::as_str);
        w.write_record(camera_record(c, site, rec, loc))
            .map_err(anyhow::Error::from)?;
    }
    let body = w.into_inner().map_err(|e| anyhow::anyhow!("csv: {e}"))?;
    audit::record(
        &app.db,
        app.now_ms(),
        &ctx.actor(),
        Event {
            action: "export",
            entity_type: "camera",
            entity_id: None,
            before: None,
            after: Some(serde_json::json!({ "format": "csv", "rows": all.len() })),
        },
    )
    .await?;
    // A UTF-8 BOM makes Excel read Turkish letters correctly.
    let mut bytes = b"\xEF\xBB\xBF".to_vec();
    bytes.extend_from_slice(&body);
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"gozcu-kameralar.csv\"",
            ),
        ],
        bytes,
    )
        .into_response())
}
