//! Checklists over HTTP: templates, runs with their answers and amendments,
//! and the projection of synced runs and answers onto their tables.
//!
//! Runs and answers are mostly written offline and arrive through the sync
//! push, which calls [`project_run`] and [`project_answer`] with each merged
//! record; the REST endpoints here read them, add template versions and
//! amend completed runs.

use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use axum::routing::{get, post};
use gozcu_shared::checklists::{
    can_amend, can_answer, check_answer, check_completion, is_blank, prepare_amendment,
    validate_template, AmendRequest, Amendment, Run, RunDetail, RunStatus, TargetKind, Template,
};
use gozcu_shared::inventory::{Camera, Recorder, Switch};
use gozcu_shared::sync::{EntityRef, ANSWER_FIELD};
use gozcu_shared::Permission;
use gozcu_shared::{ErrorCode, FieldError};
use serde::Deserialize;
use serde_json::Value;
use sqlx::AnyConnection;
use uuid::Uuid;

use super::extract::{Json, Query};
use super::sync::{entity_of, Projection, SyncEvent, Writer};
use super::{Access, AppError, AppResult, Ctx, Route};
use crate::app::App;
use crate::audit::{self, Event};
use crate::checklists as repo;
use crate::inventory::devices::get_in;
use crate::sync;
use crate::sync::Stored;

fn field_error(field: impl Into<String>, code: ErrorCode) -> AppError {
    AppError::validation(vec![FieldError::new(field, code)])
}

/// The site a run's target belongs to, if the target exists.
async fn target_site(
    conn: &mut AnyConnection,
    kind: TargetKind,
    id: &Uuid,
) -> Result<Option<Uuid>, sqlx::Error> {
    Ok(match kind {
        TargetKind::Camera => get_in::<Camera>(conn, id).await?.map(|d| d.site_id),
        TargetKind::Recorder => get_in::<Recorder>(conn, id).await?.map(|d| d.site_id),
        TargetKind::Switch => get_in::<Switch>(conn, id).await?.map(|d| d.site_id),
        TargetKind::Site => {
            let found: Option<String> = sqlx::query_scalar("SELECT id FROM sites WHERE id = $1")
                .bind(id.to_string())
                .fetch_optional(&mut *conn)
                .await?;
            found.map(|_| *id)
        }
    })
}

fn to_json<T: serde::Serialize>(v: &T) -> AppResult<Value> {
    serde_json::to_value(v).map_err(|e| AppError::Internal(e.into()))
}

/// Writes a synced run: the template version it pins must exist and fit
/// the target, the target must be in the user's scope, and completing it
/// checks every required answer. A completed run no longer changes (a
/// correction is an amendment, online).
pub(super) async fn project_run(
    w: &Writer<'_>,
    conn: &mut AnyConnection,
    entity: EntityRef,
    merged: &Stored,
) -> AppResult<Option<Projection>> {
    let (ctx, now) = (w.ctx, w.now);
    let Some(values) = merged.state.values() else {
        return Err(AppError::validation(vec![FieldError::new(
            "record",
            ErrorCode::NotSyncable,
        )]));
    };
    let mut run: Run = entity_of(entity.id, &values)?;
    let existing = repo::run(conn, &entity.id).await?;
    let Some(template) = repo::template(conn, &run.template_id, run.template_version).await? else {
        return Err(field_error("template_id", ErrorCode::InvalidTemplate));
    };
    if !template.applies_to(run.target_kind) {
        return Err(field_error("target_kind", ErrorCode::Validation));
    }
    let Some(site) = target_site(conn, run.target_kind, &run.target_id).await? else {
        return Err(field_error("target_id", ErrorCode::NotFound));
    };
    ctx.require_site(&site)?;
    run.site_id = Some(site);
    if let Some(fault) = run.fault_id {
        if existing.as_ref().and_then(|e| e.fault_id) != Some(fault) {
            super::faults::check_form_link(conn, ctx, fault, run.target_id, site).await?;
        }
    }
    if let Some(e) = &existing {
        // What a run is about is fixed when it starts.
        for (field, same) in [
            ("template_id", e.template_id == run.template_id),
            (
                "template_version",
                e.template_version == run.template_version,
            ),
            ("target_id", e.target_id == run.target_id),
        ] {
            if !same {
                return Err(field_error(field, ErrorCode::RunLocked));
            }
        }
        run.started_by = e.started_by.clone();
    } else {
        run.started_by = Some(ctx.user.username.clone());
    }
    let was_completed = existing
        .as_ref()
        .is_some_and(|e| e.status == RunStatus::Completed);
    match run.status {
        RunStatus::Completed if was_completed => {
            let e = existing.as_ref().expect("completed implies existing");
            run.completed_by = e.completed_by.clone();
            run.completed_at_ms = e.completed_at_ms;
        }
        RunStatus::Completed => {
            let answers = repo::answers(conn, &run.id).await?;
            check_completion(&template, &answers).map_err(AppError::validation)?;
            run.completed_by = Some(ctx.user.username.clone());
            // The time the technician finished (possibly offline), unless
            // the tablet's clock claims the future.
            run.completed_at_ms = Some(run.completed_at_ms.map_or(now, |t| t.min(now)));
        }
        RunStatus::InProgress => {
            if was_completed {
                return Err(AppError::conflict(vec![FieldError::new(
                    "status",
                    ErrorCode::RunLocked,
                )]));
            }
            run.completed_by = None;
            run.completed_at_ms = None;
        }
    }
    if was_completed && existing.as_ref() != Some(&run) {
        return Err(AppError::conflict(vec![FieldError::new(
            "status",
            ErrorCode::RunLocked,
        )]));
    }
    let after = to_json(&run)?;
    if existing.as_ref() == Some(&run) {
        return Ok(Some(Projection {
            site_id: Some(site),
            after: Some(after),
            event: None,
        }));
    }
    repo::save_run(conn, &run, template.purpose.as_str(), &site, now).await?;
    let action = match (&existing, run.status) {
        (_, RunStatus::Completed) => "sync_complete",
        (None, _) => "sync_create",
        (Some(_), _) => "sync_update",
    };
    Ok(Some(Projection {
        site_id: Some(site),
        after: Some(after.clone()),
        event: Some(SyncEvent {
            action,
            entity_type: "checklist_run",
            id: run.id.to_string(),
            before: existing.as_ref().map(to_json).transpose()?,
            after: Some(after),
        }),
    }))
}

/// Writes one synced answer: its run must exist, be in scope and still be
/// in progress, and the value must fit its item (it is stored canonical).
pub(super) async fn project_answer(
    w: &Writer<'_>,
    conn: &mut AnyConnection,
    run_id: Uuid,
    item_id: Uuid,
    merged: &Stored,
) -> AppResult<Option<Projection>> {
    let (ctx, now) = (w.ctx, w.now);
    let value = merged
        .state
        .values()
        .and_then(|v| v.get(ANSWER_FIELD).cloned())
        .unwrap_or(Value::Null);
    let Some(run) = repo::run(conn, &run_id).await? else {
        return Err(field_error("run_id", ErrorCode::NotFound));
    };
    let site = run.site_id.unwrap_or_default();
    ctx.require_site(&site)?;
    if let Err(code) = can_answer(run.status) {
        return Err(AppError::conflict(vec![FieldError::new(
            item_id.to_string(),
            code,
        )]));
    }
    let Some(template) = repo::template(conn, &run.template_id, run.template_version).await? else {
        return Err(field_error("run_id", ErrorCode::InvalidTemplate));
    };
    let Some(item) = template.item(item_id) else {
        return Err(field_error(item_id.to_string(), ErrorCode::UnknownItem));
    };
    let normalised = if is_blank(&value) {
        Value::Null
    } else {
        check_answer(item, &value).map_err(|code| field_error(item_id.to_string(), code))?
    };
    repo::save_answer(conn, &run_id, &item_id, &normalised, now).await?;
    Ok(Some(Projection {
        site_id: Some(site),
        after: Some(normalised.clone()),
        event: Some(SyncEvent {
            action: "sync_answer",
            entity_type: "checklist_answer",
            id: format!("{run_id}/{item_id}"),
            before: None,
            after: Some(normalised),
        }),
    }))
}

pub fn routes() -> Vec<Route> {
    use Permission::*;
    vec![
        Route {
            method: Method::GET,
            path: "/api/v1/checklists/templates",
            access: Access::Permission(InventoryRead),
            tag: "checklists",
            summary: "The latest version of every checklist template",
            request: None,
            response: Some("[Template]"),
            handler: get(list_templates),
        },
        Route {
            method: Method::POST,
            path: "/api/v1/checklists/templates",
            access: Access::Permission(TemplatesManage),
            tag: "checklists",
            summary: "Add a template, or a new version of one (same id)",
            request: Some("Template"),
            response: Some("Template"),
            handler: post(add_template),
        },
        Route {
            method: Method::GET,
            path: "/api/v1/checklists/templates/{id}/versions/{version}",
            access: Access::Permission(InventoryRead),
            tag: "checklists",
            summary: "One version of a template",
            request: None,
            response: Some("Template"),
            handler: get(get_template),
        },
        Route {
            method: Method::GET,
            path: "/api/v1/checklists/runs",
            access: Access::Permission(InventoryRead),
            tag: "checklists",
            summary: "Runs in the caller's scope, newest first (?target_id)",
            request: None,
            response: Some("[Run]"),
            handler: get(list_runs),
        },
        Route {
            method: Method::GET,
            path: "/api/v1/checklists/runs/{id}",
            access: Access::Permission(InventoryRead),
            tag: "checklists",
            summary: "A run with its template, answers and amendments",
            request: None,
            response: Some("RunDetail"),
            handler: get(get_run),
        },
        Route {
            method: Method::POST,
            path: "/api/v1/checklists/runs/{id}/amendments",
            access: Access::Permission(ChecklistsRun),
            tag: "checklists",
            summary: "Correct answers of a completed run, with a reason",
            request: Some("AmendRequest"),
            response: Some("RunDetail"),
            handler: post(amend),
        },
    ]
}

async fn list_templates(State(app): State<App>) -> AppResult<Json<Vec<Template>>> {
    let mut conn = app.db.pool.acquire().await?;
    Ok(Json(repo::latest(&mut conn).await?))
}

async fn get_template(
    State(app): State<App>,
    Path((id, version)): Path<(Uuid, u32)>,
) -> AppResult<Json<Template>> {
    let mut conn = app.db.pool.acquire().await?;
    repo::template(&mut conn, &id, version)
        .await?
        .map(Json)
        .ok_or_else(AppError::not_found)
}

async fn add_template(
    State(app): State<App>,
    ctx: Ctx,
    Json(edited): Json<Template>,
) -> AppResult<(StatusCode, Json<Template>)> {
    let now = app.now_ms();
    let mut tx = app.db.begin_write().await?;
    let existing = repo::versions(tx.conn(), &edited.id).await?;
    let template = match existing.last() {
        Some(latest) => latest.next_version(edited).map_err(AppError::validation)?,
        None => {
            let t = Template {
                version: 1,
                ..edited
            };
            validate_template(&t).map_err(AppError::validation)?;
            t
        }
    };
    repo::insert_template(
        tx.conn(),
        &app,
        &template,
        false,
        Some(&ctx.user.username),
        now,
    )
    .await?;
    audit::append(
        &mut tx,
        app.db.backend,
        now,
        &ctx.actor(),
        Event {
            action: "create",
            entity_type: "checklist_template",
            entity_id: Some(format!("{}/{}", template.id, template.version)),
            before: None,
            after: Some(to_json(&template)?),
        },
    )
    .await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(template)))
}

#[derive(Debug, Deserialize)]
struct RunParams {
    target_id: Option<Uuid>,
    limit: Option<u32>,
}

async fn list_runs(
    State(app): State<App>,
    ctx: Ctx,
    Query(p): Query<RunParams>,
) -> AppResult<Json<Vec<Run>>> {
    let mut conn = app.db.pool.acquire().await?;
    let limit = p.limit.unwrap_or(100).clamp(1, 1000);
    Ok(Json(
        repo::runs(&mut conn, p.target_id.as_ref(), ctx.scope(), limit).await?,
    ))
}

/// A run the caller may see, with everything about it.
pub async fn run_detail(conn: &mut AnyConnection, ctx: &Ctx, id: &Uuid) -> AppResult<RunDetail> {
    let run = repo::run(conn, id)
        .await?
        .filter(|r| r.site_id.is_some_and(|s| ctx.in_scope(&s)))
        .ok_or_else(AppError::not_found)?;
    let template = repo::template(conn, &run.template_id, run.template_version)
        .await?
        .ok_or_else(AppError::not_found)?;
    Ok(RunDetail {
        answers: repo::answers(conn, id).await?,
        amendments: repo::amendments(conn, id).await?,
        run,
        template,
    })
}

async fn get_run(
    State(app): State<App>,
    ctx: Ctx,
    Path(id): Path<Uuid>,
) -> AppResult<Json<RunDetail>> {
    let mut conn = app.db.pool.acquire().await?;
    Ok(Json(run_detail(&mut conn, &ctx, &id).await?))
}

async fn amend(
    State(app): State<App>,
    ctx: Ctx,
    Path(id): Path<Uuid>,
    Json(req): Json<AmendRequest>,
) -> AppResult<Json<RunDetail>> {
    let now = app.now_ms();
    let mut tx = app.db.begin_write().await?;
    let detail = run_detail(tx.conn(), &ctx, &id).await?;
    can_amend(detail.run.status)
        .map_err(|code| AppError::conflict(vec![FieldError::new("status", code)]))?;
    let (new_answers, reason) =
        prepare_amendment(&detail.template, &detail.answers, &req.changes, &req.reason)
            .map_err(AppError::validation)?;
    let mut changed = Vec::new();
    for item in req.changes.keys() {
        let old = detail.answers.get(item).cloned().unwrap_or(Value::Null);
        let new = new_answers.get(item).cloned().unwrap_or(Value::Null);
        if old == new {
            continue;
        }
        repo::save_answer(tx.conn(), &id, item, &new, now).await?;
        let amendment = Amendment {
            item_id: *item,
            old,
            new: new.clone(),
            reason: reason.clone(),
            by: ctx.user.id,
            at_ms: now,
        };
        repo::insert_amendment(tx.conn(), &id, &amendment).await?;
        changed.push((*item, new, amendment));
    }
    if changed.is_empty() {
        return Ok(Json(detail));
    }
    let site = detail.run.site_id.unwrap_or_default();
    let writes: Vec<(Uuid, Value)> = changed.iter().map(|(i, v, _)| (*i, v.clone())).collect();
    sync::record_answer_writes(tx.conn(), app.db.backend, &app.sync, now, site, id, &writes)
        .await?;
    let events = changed
        .iter()
        .map(|(item, _, a)| {
            Ok(Event {
                action: "amend",
                entity_type: "checklist_answer",
                entity_id: Some(format!("{id}/{item}")),
                before: Some(a.old.clone()),
                after: Some(to_json(a)?),
            })
        })
        .collect::<AppResult<Vec<_>>>()?;
    audit::append_many(&mut tx, app.db.backend, now, &ctx.actor(), events).await?;
    let detail = run_detail(tx.conn(), &ctx, &id).await?;
    tx.commit().await?;
    Ok(Json(detail))
}
