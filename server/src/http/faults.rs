//! `/api/v1/faults`: recording faults, their timeline, and the workflow
//! open → assigned ⇄ waiting_vendor → resolved → closed (DOMAIN.md §9;
//! the rules are `gozcu_shared::faults::transition`, the flow is described
//! in docs/faults.md).
//!
//! Every write is one transaction holding the fault row, its timeline entry
//! and its audit entry, so the timeline and the audit log never disagree
//! with the fault. Faults outside the caller's site scope do not exist for
//! them (404), like devices.

use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use axum::routing::{get, post, put};
use gozcu_shared::api::Page;
use gozcu_shared::api_fieldwork::{
    Fault, FaultAssign, FaultDetail, FaultEvent, FaultEventKind, FaultListQuery, FaultNote,
    FaultTransition, FaultUpdate, MAX_FAULT_NOTE,
};
use gozcu_shared::faults::{transition, FaultStatus, NewFault, TransitionCheck};
use gozcu_shared::{validate, ErrorCode, FieldError, Permission};
use sqlx::AnyConnection;
use uuid::Uuid;

use super::extract::{Json, Query};
use super::{Access, AppError, AppResult, Ctx, Route};
use crate::app::App;
use crate::audit::{self, Event};
use crate::db::{Backend, WriteTx};
use crate::fieldwork::{self, faults as repo};

const TAG: &str = "faults";

pub fn routes() -> Vec<Route> {
    use Permission::*;
    vec![
        Route {
            method: Method::GET,
            path: "/api/v1/faults",
            access: Access::Permission(InventoryRead),
            tag: TAG,
            summary: "List faults (site_id, status, active, device_id, q, limit, offset): active first, then newest",
            request: None,
            response: Some("Page"),
            handler: get(list),
        },
        Route {
            method: Method::POST,
            path: "/api/v1/faults",
            access: Access::Permission(FaultsWrite),
            tag: TAG,
            summary: "Open a fault on a site or one of its devices",
            request: Some("NewFault"),
            response: Some("FaultDetail"),
            handler: post(open),
        },
        Route {
            method: Method::GET,
            path: "/api/v1/faults/{id}",
            access: Access::Permission(InventoryRead),
            tag: TAG,
            summary: "One fault with its timeline and time to repair",
            request: None,
            response: Some("FaultDetail"),
            handler: get(read),
        },
        Route {
            method: Method::PUT,
            path: "/api/v1/faults/{id}",
            access: Access::Permission(FaultsWrite),
            tag: TAG,
            summary: "Edit title, description, severity, vendor and ticket of a fault not closed",
            request: Some("FaultUpdate"),
            response: Some("FaultDetail"),
            handler: put(edit),
        },
        Route {
            method: Method::POST,
            path: "/api/v1/faults/{id}/notes",
            access: Access::Permission(FaultsWrite),
            tag: TAG,
            summary: "Add a note to the timeline",
            request: Some("FaultNote"),
            response: Some("FaultDetail"),
            handler: post(note),
        },
        Route {
            method: Method::POST,
            path: "/api/v1/faults/{id}/transition",
            access: Access::Permission(FaultsManage),
            tag: TAG,
            summary: "Change the status (assign, wait for vendor, resolve, reopen, close with a fault form)",
            request: Some("FaultTransition"),
            response: Some("FaultDetail"),
            handler: post(change_status),
        },
        Route {
            method: Method::POST,
            path: "/api/v1/faults/{id}/assign",
            access: Access::Permission(FaultsManage),
            tag: TAG,
            summary: "Hand an assigned fault to someone else without changing its status",
            request: Some("FaultAssign"),
            response: Some("FaultDetail"),
            handler: post(reassign),
        },
    ]
}

async fn list(
    State(app): State<App>,
    ctx: Ctx,
    Query(q): Query<FaultListQuery>,
) -> AppResult<Json<Page<Fault>>> {
    Ok(Json(repo::list(&app.db, ctx.scope(), &q).await?))
}

/// Loads a fault the caller may see; others are "not found" for them.
async fn load(conn: &mut AnyConnection, ctx: &Ctx, id: &Uuid) -> AppResult<Fault> {
    let fault = repo::get(conn, id).await?.ok_or_else(AppError::not_found)?;
    if !ctx.in_scope(&fault.site_id) {
        return Err(AppError::not_found());
    }
    Ok(fault)
}

async fn detail(conn: &mut AnyConnection, id: &Uuid) -> AppResult<FaultDetail> {
    let fault = repo::get(conn, id).await?.ok_or_else(AppError::not_found)?;
    let events = repo::events(conn, id).await?;
    Ok(FaultDetail { fault, events })
}

async fn read(
    State(app): State<App>,
    ctx: Ctx,
    Path(id): Path<Uuid>,
) -> AppResult<Json<FaultDetail>> {
    let mut conn = app.db.pool.acquire().await?;
    load(&mut conn, &ctx, &id).await?;
    Ok(Json(detail(&mut conn, &id).await?))
}

fn to_json<T: serde::Serialize>(v: &T) -> AppResult<serde_json::Value> {
    serde_json::to_value(v).map_err(|e| AppError::Internal(e.into()))
}

/// A 422 whose code says what is wrong and whose field says where.
fn field_error(field: &str, code: ErrorCode) -> AppError {
    AppError::Api {
        status: StatusCode::UNPROCESSABLE_ENTITY,
        code,
        fields: vec![FieldError::new(field, code)],
        detail: None,
    }
}

/// A change refused because of the fault's state rather than the request's
/// fields: 409, naming the field that asked for it.
fn state_error(field: &str, code: ErrorCode) -> AppError {
    AppError::Api {
        status: StatusCode::CONFLICT,
        code,
        fields: vec![FieldError::new(field, code)],
        detail: None,
    }
}

fn event(kind: FaultEventKind, ctx: &Ctx, now: i64) -> FaultEvent {
    FaultEvent {
        id: Uuid::now_v7(),
        kind,
        from_status: None,
        to_status: None,
        note: None,
        assignee_id: None,
        assignee_name: None,
        vendor: None,
        vendor_ticket: None,
        fault_form_run_id: None,
        by_user: Some(ctx.user.id),
        by_name: None,
        at: now,
    }
}

/// Writes a timeline entry and its audit entry (stamped with the entry's
/// time), commits, and answers with the fault as now stored.
async fn finish(
    app: &App,
    ctx: &Ctx,
    mut tx: WriteTx,
    action: &str,
    before: Option<&Fault>,
    fault_id: &Uuid,
    event: FaultEvent,
) -> AppResult<FaultDetail> {
    repo::insert_event(tx.conn(), fault_id, &event).await?;
    let after = detail(tx.conn(), fault_id).await?;
    let mut after_json = to_json(&after.fault)?;
    // A note exists only on the timeline; the audit entry carries it so
    // that the log alone tells the whole story.
    if let (Some(note), Some(obj)) = (&event.note, after_json.as_object_mut()) {
        obj.insert("note".into(), note.clone().into());
    }
    audit::append(
        &mut tx,
        app.db.backend,
        event.at,
        &ctx.actor(),
        Event {
            action,
            entity_type: "fault",
            entity_id: Some(fault_id.to_string()),
            before: before.map(to_json).transpose()?,
            after: Some(after_json),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

async fn open(
    State(app): State<App>,
    ctx: Ctx,
    Json(input): Json<NewFault>,
) -> AppResult<(StatusCode, Json<FaultDetail>)> {
    let new = input.normalize().map_err(AppError::validation)?;
    ctx.require_site(&new.site_id)?;
    let now = app.now_ms();
    let mut tx = app.db.begin_write().await?;
    let site: Option<String> = sqlx::query_scalar("SELECT name FROM sites WHERE id = $1")
        .bind(new.site_id.to_string())
        .fetch_optional(tx.conn())
        .await?;
    let Some(site_name) = site else {
        return Err(AppError::validation(vec![FieldError::new(
            "site_id",
            ErrorCode::UnknownSite,
        )]));
    };
    if let Some(device) = new.device {
        match fieldwork::device_site(tx.conn(), device.kind, &device.id).await? {
            Some(site) if site == new.site_id => {}
            // A device of another site the caller can see is a mistake in
            // the form; one outside their scope does not exist for them.
            Some(site) if ctx.in_scope(&site) => {
                return Err(AppError::validation(vec![FieldError::new(
                    "device",
                    ErrorCode::DeviceNotInSite,
                )]))
            }
            _ => {
                return Err(AppError::validation(vec![FieldError::new(
                    "device",
                    ErrorCode::UnknownDevice,
                )]))
            }
        }
    }
    if app.db.backend == Backend::Postgres {
        // The number is MAX + 1: hold the lock that orders every audited
        // write across server processes (SQLite's writers are already one
        // at a time), so two faults opened at once cannot share a number.
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(audit::PG_WRITE_LOCK)
            .execute(tx.conn())
            .await?;
    }
    let fault = Fault {
        id: Uuid::now_v7(),
        number: repo::next_number(tx.conn()).await?,
        site_id: new.site_id,
        site_name,
        device: new.device,
        device_name: None,
        title: new.title,
        description: new.description,
        severity: new.severity,
        status: FaultStatus::Open,
        assignee_id: None,
        assignee_name: None,
        vendor: None,
        vendor_ticket: new.vendor_ticket,
        fault_form_run_id: None,
        source: "manual".into(),
        opened_by: Some(ctx.user.id),
        opened_at: now,
        resolved_at: None,
        closed_at: None,
        updated_at: now,
        time_to_repair_ms: None,
    };
    repo::insert(tx.conn(), &fault).await?;
    let e = FaultEvent {
        to_status: Some(FaultStatus::Open),
        vendor_ticket: fault.vendor_ticket.clone(),
        ..event(FaultEventKind::Opened, &ctx, now)
    };
    let out = finish(&app, &ctx, tx, "create", None, &fault.id, e).await?;
    Ok((StatusCode::CREATED, Json(out)))
}

async fn note(
    State(app): State<App>,
    ctx: Ctx,
    Path(id): Path<Uuid>,
    Json(input): Json<FaultNote>,
) -> AppResult<Json<FaultDetail>> {
    let text = input.normalize().map_err(AppError::validation)?;
    let now = app.now_ms();
    let mut tx = app.db.begin_write().await?;
    let fault = load(tx.conn(), &ctx, &id).await?;
    // A closed fault is a finished record (it was closed with a signed
    // fault form); anything new about the device is a new fault.
    if fault.status == FaultStatus::Closed {
        return Err(state_error("status", ErrorCode::FaultClosed));
    }
    let e = FaultEvent {
        note: Some(text),
        ..event(FaultEventKind::Note, &ctx, now)
    };
    Ok(Json(finish(&app, &ctx, tx, "note", None, &id, e).await?))
}

async fn edit(
    State(app): State<App>,
    ctx: Ctx,
    Path(id): Path<Uuid>,
    Json(input): Json<FaultUpdate>,
) -> AppResult<Json<FaultDetail>> {
    let upd = input.normalize().map_err(AppError::validation)?;
    let now = app.now_ms();
    let mut tx = app.db.begin_write().await?;
    let before = load(tx.conn(), &ctx, &id).await?;
    if before.status == FaultStatus::Closed {
        return Err(state_error("status", ErrorCode::FaultClosed));
    }
    let after = Fault {
        title: upd.title,
        description: upd.description,
        severity: upd.severity,
        vendor: upd.vendor,
        vendor_ticket: upd.vendor_ticket,
        updated_at: now,
        ..before.clone()
    };
    if !repo::update(tx.conn(), &after, before.status).await? {
        return Err(AppError::conflict(vec![FieldError::new(
            "status",
            ErrorCode::Conflict,
        )]));
    }
    let e = FaultEvent {
        vendor: (after.vendor != before.vendor)
            .then(|| after.vendor.clone())
            .flatten(),
        vendor_ticket: (after.vendor_ticket != before.vendor_ticket)
            .then(|| after.vendor_ticket.clone())
            .flatten(),
        ..event(FaultEventKind::Edited, &ctx, now)
    };
    Ok(Json(
        finish(&app, &ctx, tx, "update", Some(&before), &id, e).await?,
    ))
}

async fn check_assignee(conn: &mut AnyConnection, fault: &Fault, user: &Uuid) -> AppResult<()> {
    if repo::can_be_assigned(conn, user, &fault.site_id).await? {
        Ok(())
    } else {
        Err(field_error("assignee_id", ErrorCode::UnknownUser))
    }
}

async fn change_status(
    State(app): State<App>,
    ctx: Ctx,
    Path(id): Path<Uuid>,
    Json(input): Json<FaultTransition>,
) -> AppResult<Json<FaultDetail>> {
    let req = input.normalize().map_err(AppError::validation)?;
    let now = app.now_ms();
    let mut tx = app.db.begin_write().await?;
    let before = load(tx.conn(), &ctx, &id).await?;
    let (from, to) = (before.status, req.to);
    // Whether the step exists at all comes first: asking to close an open
    // fault is answered "not from here", not "the form is missing".
    if !from.next().contains(&to) {
        let code = if from == FaultStatus::Closed {
            ErrorCode::FaultClosed
        } else {
            ErrorCode::InvalidTransition
        };
        return Err(state_error("to", code));
    }
    if let Some(user) = &req.assignee_id {
        check_assignee(tx.conn(), &before, user).await?;
    }
    // The fault form: the one named now, else the one already on the fault,
    // else the newest completed form linked to the fault.
    let form = match req.fault_form_run_id {
        Some(run) => {
            if !repo::fault_form_ok(tx.conn(), &before, &run).await? {
                return Err(field_error(
                    "fault_form_run_id",
                    ErrorCode::FaultFormRequired,
                ));
            }
            Some(run)
        }
        None if to == FaultStatus::Closed => {
            let stored = match before.fault_form_run_id {
                Some(run) if repo::fault_form_ok(tx.conn(), &before, &run).await? => Some(run),
                _ => None,
            };
            match stored {
                Some(run) => Some(run),
                None => repo::linked_fault_form(tx.conn(), &id).await?,
            }
        }
        None => None,
    };
    let assignee = req.assignee_id.or(before.assignee_id);
    let check = TransitionCheck {
        has_assignee: assignee.is_some(),
        fault_form_completed: form.is_some(),
    };
    if let Err(code) = transition(from, to, &check) {
        let field = match code {
            ErrorCode::AssigneeRequired => "assignee_id",
            ErrorCode::FaultFormRequired => "fault_form_run_id",
            _ => "to",
        };
        return Err(field_error(field, code));
    }
    let after = Fault {
        status: to,
        assignee_id: assignee,
        vendor: req.vendor.clone().or(before.vendor.clone()),
        vendor_ticket: req.vendor_ticket.clone().or(before.vendor_ticket.clone()),
        fault_form_run_id: form.or(before.fault_form_run_id),
        // Time to repair runs from opening to the last resolution: a
        // reopened fault is not repaired until it is resolved again.
        resolved_at: match to {
            FaultStatus::Resolved => Some(now),
            FaultStatus::Closed => before.resolved_at,
            _ => None,
        },
        closed_at: (to == FaultStatus::Closed).then_some(now),
        updated_at: now,
        ..before.clone()
    };
    if !repo::update(tx.conn(), &after, from).await? {
        return Err(AppError::conflict(vec![FieldError::new(
            "status",
            ErrorCode::Conflict,
        )]));
    }
    let e = FaultEvent {
        from_status: Some(from),
        to_status: Some(to),
        note: req.note,
        assignee_id: (after.assignee_id != before.assignee_id || to == FaultStatus::Assigned)
            .then_some(after.assignee_id)
            .flatten(),
        vendor: req.vendor,
        vendor_ticket: req.vendor_ticket,
        fault_form_run_id: form.filter(|_| after.fault_form_run_id != before.fault_form_run_id),
        ..event(FaultEventKind::Transition, &ctx, now)
    };
    Ok(Json(
        finish(&app, &ctx, tx, "transition", Some(&before), &id, e).await?,
    ))
}

async fn reassign(
    State(app): State<App>,
    ctx: Ctx,
    Path(id): Path<Uuid>,
    Json(input): Json<FaultAssign>,
) -> AppResult<Json<FaultDetail>> {
    let note = validate::optional_text(input.note.as_deref().unwrap_or(""), MAX_FAULT_NOTE)
        .map_err(|code| AppError::validation(vec![FieldError::new("note", code)]))?;
    let now = app.now_ms();
    let mut tx = app.db.begin_write().await?;
    let before = load(tx.conn(), &ctx, &id).await?;
    match before.status {
        FaultStatus::Assigned | FaultStatus::WaitingVendor => {}
        FaultStatus::Closed => return Err(state_error("status", ErrorCode::FaultClosed)),
        // An open fault is assigned through its transition to `assigned`,
        // and a resolved one is reopened the same way: both are status
        // changes the statistics count.
        FaultStatus::Open | FaultStatus::Resolved => {
            return Err(state_error("status", ErrorCode::InvalidTransition))
        }
    }
    check_assignee(tx.conn(), &before, &input.assignee_id).await?;
    if before.assignee_id == Some(input.assignee_id) && note.is_none() {
        // A doubled click: nothing changes and nothing is written.
        drop(tx);
        let mut conn = app.db.pool.acquire().await?;
        return Ok(Json(detail(&mut conn, &id).await?));
    }
    let after = Fault {
        assignee_id: Some(input.assignee_id),
        updated_at: now,
        ..before.clone()
    };
    if !repo::update(tx.conn(), &after, before.status).await? {
        return Err(AppError::conflict(vec![FieldError::new(
            "status",
            ErrorCode::Conflict,
        )]));
    }
    let e = FaultEvent {
        assignee_id: Some(input.assignee_id),
        note,
        ..event(FaultEventKind::Reassigned, &ctx, now)
    };
    Ok(Json(
        finish(&app, &ctx, tx, "assign", Some(&before), &id, e).await?,
    ))
}
