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
    Fault, FaultAssign, FaultAssignee, FaultDetail, FaultEvent, FaultEventKind, FaultEventRecord,
    FaultListQuery, FaultNote, FaultTransition, FaultUpdate, MAX_FAULT_NOTE,
};
use gozcu_shared::faults::{
    offline_fault, offline_note, transition, FaultStatus, NewFault, TransitionCheck,
};
use gozcu_shared::sync::{EntityKind, EntityRef};
use gozcu_shared::{validate, ErrorCode, FieldError, Permission};
use serde_json::Value;
use sqlx::AnyConnection;
use uuid::Uuid;

use super::extract::{Json, Query};
use super::sync::{Projection, SyncEvent, Writer};
use super::{Access, AppError, AppResult, Ctx, Route};
use crate::app::App;
use crate::audit::{self, Event};
use crate::db::WriteTx;
use crate::fieldwork::{self, faults as repo};
use crate::sync::{self, ServerWrite, Stored};

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
            method: Method::GET,
            path: "/api/v1/faults/{id}/assignees",
            access: Access::Permission(FaultsManage),
            tag: TAG,
            summary: "Who the fault may be assigned to: active fault workers of its site",
            request: None,
            response: Some("[FaultAssignee]"),
            handler: get(assignees),
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

async fn assignees(
    State(app): State<App>,
    ctx: Ctx,
    Path(id): Path<Uuid>,
) -> AppResult<Json<Vec<FaultAssignee>>> {
    let mut conn = app.db.pool.acquire().await?;
    let fault = load(&mut conn, &ctx, &id).await?;
    Ok(Json(repo::assignees(&mut conn, &fault.site_id).await?))
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

/// The sync write that gives devices a fault as stored.
fn fault_write(fault: &Fault) -> AppResult<ServerWrite> {
    Ok(ServerWrite {
        entity: EntityRef {
            kind: EntityKind::Fault,
            id: fault.id,
        },
        site_id: Some(fault.site_id),
        after: Some(to_json(fault)?),
    })
}

/// The sync write of one timeline entry as stored (with the names read
/// in); each entry is a record of its own, written once.
fn stored_event_write(detail: &FaultDetail, event_id: &Uuid) -> AppResult<ServerWrite> {
    let event = detail
        .events
        .iter()
        .find(|e| e.id == *event_id)
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("a written fault event is missing")))?;
    event_write(detail.fault.id, detail.fault.site_id, event)
}

fn event_write(fault_id: Uuid, site_id: Uuid, event: &FaultEvent) -> AppResult<ServerWrite> {
    let record = FaultEventRecord {
        fault_id,
        event: event.clone(),
    };
    Ok(ServerWrite {
        entity: EntityRef {
            kind: EntityKind::FaultEvent,
            id: event.id,
        },
        site_id: Some(site_id),
        after: Some(to_json(&record)?),
    })
}

/// Writes a timeline entry, its audit entry (stamped with the entry's
/// time) and the sync records devices pull, commits, and answers with the
/// fault as now stored.
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
    let writes = vec![
        fault_write(&after.fault)?,
        stored_event_write(&after, &event.id)?,
    ];
    sync::record_writes(tx.conn(), app.db.backend, &app.sync, event.at, writes).await?;
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

/// Checks that `ctx` may open `new` and that its site and device exist and
/// belong together; answers the site's name.
async fn check_opening(conn: &mut AnyConnection, ctx: &Ctx, new: &NewFault) -> AppResult<String> {
    ctx.require_site(&new.site_id)?;
    let site: Option<String> = sqlx::query_scalar("SELECT name FROM sites WHERE id = $1")
        .bind(new.site_id.to_string())
        .fetch_optional(&mut *conn)
        .await?;
    let Some(site_name) = site else {
        return Err(AppError::validation(vec![FieldError::new(
            "site_id",
            ErrorCode::UnknownSite,
        )]));
    };
    if let Some(device) = new.device {
        match fieldwork::device_site(conn, device.kind, &device.id).await? {
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
    Ok(site_name)
}

/// Numbers and inserts a checked new fault, opened at `opened_at` (now
/// online; the tablet's time for a fault opened offline), and answers it
/// with its `opened` timeline entry, not yet written.
async fn insert_opened(
    conn: &mut AnyConnection,
    w: &Writer<'_>,
    id: Uuid,
    new: NewFault,
    site_name: String,
    opened_at: i64,
) -> AppResult<(Fault, FaultEvent)> {
    let (app, ctx, now) = (w.app, w.ctx, w.now);
    // The number is MAX + 1: hold the lock that orders every audited write
    // across server processes (SQLite's writers are already one at a
    // time), so two faults opened at once — online, or pushed by two
    // tablets — cannot share a number.
    sync::store::lock(conn, app.db.backend).await?;
    let fault = Fault {
        id,
        number: repo::next_number(conn).await?,
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
        opened_at,
        resolved_at: None,
        closed_at: None,
        updated_at: now,
        time_to_repair_ms: None,
    };
    repo::insert(conn, &fault).await?;
    let e = FaultEvent {
        to_status: Some(FaultStatus::Open),
        vendor_ticket: fault.vendor_ticket.clone(),
        ..event(FaultEventKind::Opened, ctx, opened_at)
    };
    Ok((fault, e))
}

async fn open(
    State(app): State<App>,
    ctx: Ctx,
    Json(input): Json<NewFault>,
) -> AppResult<(StatusCode, Json<FaultDetail>)> {
    let new = input.normalize().map_err(AppError::validation)?;
    let now = app.now_ms();
    let mut tx = app.db.begin_write().await?;
    let site_name = check_opening(tx.conn(), &ctx, &new).await?;
    let w = Writer {
        app: &app,
        ctx: &ctx,
        now,
    };
    let (fault, e) = insert_opened(tx.conn(), &w, Uuid::now_v7(), new, site_name, now).await?;
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

// ---- faults and notes made offline, arriving through the sync push ---------

fn record_error(code: ErrorCode) -> AppError {
    AppError::validation(vec![FieldError::new("record", code)])
}

/// Writes a fault opened offline: the same checks as opening one online,
/// then its number (taken under the push's write lock, like the REST
/// path's), its row, its `opened` entry and that entry's sync record. The
/// fault keeps the client's id, so notes and a fault form made offline
/// already point at it. A fault the server holds changes only online;
/// `faults::check_sync_write` has let through nothing but values it
/// already has, so nothing is written then.
pub(super) async fn project_fault(
    w: &Writer<'_>,
    conn: &mut AnyConnection,
    entity: EntityRef,
    merged: &Stored,
) -> AppResult<Option<Projection>> {
    let (app, ctx, now) = (w.app, w.ctx, w.now);
    let Some(values) = merged.state.values() else {
        return Err(record_error(ErrorCode::NotSyncable));
    };
    if let Some(existing) = repo::get(conn, &entity.id).await? {
        ctx.require_site(&existing.site_id)?;
        return Ok(Some(Projection {
            site_id: Some(existing.site_id),
            after: Some(to_json(&existing)?),
            event: None,
        }));
    }
    let offline = offline_fault(&values).map_err(AppError::validation)?;
    let site_name = check_opening(conn, ctx, &offline.fault).await?;
    // The technician's time counts for the time to repair, but a tablet
    // whose clock runs ahead cannot open a fault in the future.
    let opened_at = offline.opened_at.min(now);
    let (fault, opened) =
        insert_opened(conn, w, entity.id, offline.fault, site_name, opened_at).await?;
    repo::insert_event(conn, &fault.id, &opened).await?;
    let stored = detail(conn, &fault.id).await?;
    // The fault's own record is the pushed one, written back by the push
    // with what was stored; the `opened` entry is a record the server makes.
    let writes = vec![stored_event_write(&stored, &opened.id)?];
    sync::record_writes(conn, app.db.backend, &app.sync, now, writes).await?;
    let after = to_json(&stored.fault)?;
    Ok(Some(Projection {
        site_id: Some(fault.site_id),
        after: Some(after.clone()),
        event: Some(SyncEvent {
            action: "sync_create",
            entity_type: "fault",
            id: fault.id.to_string(),
            before: None,
            after: Some(after),
        }),
    }))
}

/// Writes a note made offline onto its fault's timeline, with the note
/// record's id as the entry's id. The fault must exist in the user's scope
/// (it was pushed before the note, in outbox order) and not be closed.
pub(super) async fn project_fault_event(
    w: &Writer<'_>,
    conn: &mut AnyConnection,
    entity: EntityRef,
    merged: &Stored,
) -> AppResult<Option<Projection>> {
    let (ctx, now) = (w.ctx, w.now);
    let Some(values) = merged.state.values() else {
        return Err(record_error(ErrorCode::NotSyncable));
    };
    let note = offline_note(&values).map_err(AppError::validation)?;
    let fault = repo::get(conn, &note.fault_id)
        .await?
        .filter(|f| ctx.in_scope(&f.site_id))
        .ok_or_else(|| {
            AppError::validation(vec![FieldError::new("fault_id", ErrorCode::NotFound)])
        })?;
    let record_of = |event: &FaultEvent| -> AppResult<Value> {
        to_json(&FaultEventRecord {
            fault_id: fault.id,
            event: event.clone(),
        })
    };
    let events = repo::events(conn, &fault.id).await?;
    if let Some(existing) = events.iter().find(|e| e.id == entity.id) {
        return Ok(Some(Projection {
            site_id: Some(fault.site_id),
            after: Some(record_of(existing)?),
            event: None,
        }));
    }
    if fault.status == FaultStatus::Closed {
        return Err(state_error("status", ErrorCode::FaultClosed));
    }
    // Written when the technician wrote it, but never before the fault was
    // opened nor after now, so the timeline reads in order.
    let at = note.at.min(now).max(fault.opened_at);
    let e = FaultEvent {
        id: entity.id,
        note: Some(note.note.clone()),
        ..event(FaultEventKind::Note, ctx, at)
    };
    repo::insert_event(conn, &fault.id, &e).await?;
    let stored = repo::events(conn, &fault.id)
        .await?
        .into_iter()
        .find(|x| x.id == e.id)
        .ok_or_else(AppError::not_found)?;
    let mut audit_after = to_json(&fault)?;
    if let Some(obj) = audit_after.as_object_mut() {
        obj.insert("note".into(), note.note.into());
    }
    Ok(Some(Projection {
        site_id: Some(fault.site_id),
        after: Some(record_of(&stored)?),
        event: Some(SyncEvent {
            action: "sync_note",
            entity_type: "fault",
            id: fault.id.to_string(),
            before: None,
            after: Some(audit_after),
        }),
    }))
}

/// Checks that a checklist run may be linked to `fault_id` as its fault
/// form: the fault exists in the user's scope and the run is about the
/// fault's device (for a fault of a whole site, about something of that
/// site). A link is what lets the office close the fault without naming
/// the form, so it must not be made to someone else's fault.
pub(super) async fn check_form_link(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    fault_id: Uuid,
    target_id: Uuid,
    target_site: Uuid,
) -> AppResult<()> {
    let fault = repo::get(conn, &fault_id)
        .await?
        .filter(|f| ctx.in_scope(&f.site_id))
        .ok_or_else(|| field_error("fault_id", ErrorCode::NotFound))?;
    let fits = match fault.device {
        Some(d) => d.id == target_id,
        None => fault.site_id == target_site,
    };
    if fits {
        Ok(())
    } else {
        Err(field_error("fault_id", ErrorCode::Validation))
    }
}

/// The sync records of faults written before faults were synced (or by a
/// tool outside the server): each such fault and its whole timeline, so
/// that devices see them. Writing a record again with the values it holds
/// changes nothing, so faults of which only some entries lack a record are
/// simply written whole.
pub(super) async fn sync_backfill(conn: &mut AnyConnection) -> AppResult<Vec<ServerWrite>> {
    let ids: Vec<String> = sqlx::query_scalar(
        "SELECT id FROM faults WHERE id NOT IN (SELECT id FROM sync_records) \
         UNION SELECT fault_id FROM fault_events WHERE id NOT IN (SELECT id FROM sync_records)",
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut writes = Vec::new();
    for id in ids {
        let Ok(id) = Uuid::parse_str(&id) else {
            continue;
        };
        let stored = detail(conn, &id).await?;
        writes.push(fault_write(&stored.fault)?);
        for e in &stored.events {
            writes.push(event_write(id, stored.fault.site_id, e)?);
        }
    }
    Ok(writes)
}
