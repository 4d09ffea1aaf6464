//! `/api/v1/schedules` (maintenance every N days per device type or device)
//! and `/api/v1/maintenance/{due,calendar}` (what is due, per site and per
//! day). The rules — device rules replace type rules, dates count from the
//! last completed run — are `gozcu_shared::schedules`; "today", and the
//! day a run was completed on, are calendar days in the institution's time
//! zone (`Settings::utc_offset`), never UTC days.

use std::collections::{BTreeMap, HashMap};

use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use axum::routing::{delete, get, post, put};
use gozcu_shared::api_fieldwork::{
    next_month, parse_month, CalendarDay, CalendarQuery, DueEntry, DueQuery, DueReport,
    MaintenanceCalendar, SiteDue,
};
use gozcu_shared::checklists::Text;
use gozcu_shared::inventory::DeviceKind;
use gozcu_shared::schedules::{due_list, DueItem, Schedule, ScheduleTarget};
use gozcu_shared::validate::Date;
use gozcu_shared::{ErrorCode, FieldError, Permission};
use sqlx::{AnyConnection, Row};
use uuid::Uuid;

use super::extract::{Json, Query};
use super::{Access, AppError, AppResult, Ctx, Route};
use crate::app::App;
use crate::audit::{self, Event};
use crate::fieldwork::{self, schedules as repo};

/// Without `to`, the due list looks this many days ahead.
const DEFAULT_HORIZON_DAYS: i64 = 30;

pub fn routes() -> Vec<Route> {
    use Permission::*;
    vec![
        Route {
            method: Method::GET,
            path: "/api/v1/schedules",
            access: Access::Permission(InventoryRead),
            tag: "schedules",
            summary: "Maintenance schedules: type rules, then device rules of devices in scope",
            request: None,
            response: Some("[Schedule]"),
            handler: get(list),
        },
        Route {
            method: Method::POST,
            path: "/api/v1/schedules",
            access: Access::Permission(SchedulesWrite),
            tag: "schedules",
            summary: "Add a schedule for a device type or one device",
            request: Some("Schedule"),
            response: Some("Schedule"),
            handler: post(create),
        },
        Route {
            method: Method::PUT,
            path: "/api/v1/schedules/{id}",
            access: Access::Permission(SchedulesWrite),
            tag: "schedules",
            summary: "Replace a schedule",
            request: Some("Schedule"),
            response: Some("Schedule"),
            handler: put(update),
        },
        Route {
            method: Method::DELETE,
            path: "/api/v1/schedules/{id}",
            access: Access::Permission(SchedulesWrite),
            tag: "schedules",
            summary: "Delete a schedule",
            request: None,
            response: None,
            handler: delete(remove),
        },
        Route {
            method: Method::GET,
            path: "/api/v1/maintenance/due",
            access: Access::Permission(InventoryRead),
            tag: "schedules",
            summary: "Maintenance due and overdue per site (site_id, from, to as YYYY-MM-DD)",
            request: None,
            response: Some("DueReport"),
            handler: get(due),
        },
        Route {
            method: Method::GET,
            path: "/api/v1/maintenance/calendar",
            access: Access::Permission(InventoryRead),
            tag: "schedules",
            summary: "Maintenance due in one month (month=YYYY-MM, site_id), by day",
            request: None,
            response: Some("MaintenanceCalendar"),
            handler: get(calendar),
        },
    ]
}

/// Whether the caller may see a stored schedule: type rules are seen by
/// everyone, a device rule by those who can see its device.
fn visible(ctx: &Ctx, s: &repo::Stored) -> bool {
    match s.schedule.target {
        ScheduleTarget::DeviceType(_) => true,
        ScheduleTarget::Device(_) => match s.device_site {
            Some(site) => ctx.in_scope(&site),
            None => ctx.scope().is_none(),
        },
    }
}

async fn list(State(app): State<App>, ctx: Ctx) -> AppResult<Json<Vec<Schedule>>> {
    let all = repo::list(&mut *app.db.pool.acquire().await?).await?;
    Ok(Json(
        all.into_iter()
            .filter(|s| visible(&ctx, s))
            .map(|s| s.schedule)
            .collect(),
    ))
}

/// The checks that need the database: the device exists and is in scope,
/// the template exists, and a type rule — which applies to every site — is
/// set only by someone whose scope is every site. Returns the device's kind
/// for a device rule.
async fn check(conn: &mut AnyConnection, ctx: &Ctx, s: &Schedule) -> AppResult<Option<DeviceKind>> {
    let mut errors = Vec::new();
    let kind = match s.target {
        ScheduleTarget::DeviceType(_) => {
            if ctx.scope().is_some() {
                return Err(AppError::Api {
                    status: StatusCode::FORBIDDEN,
                    code: ErrorCode::NotInScope,
                    fields: vec![FieldError::new("target", ErrorCode::NotInScope)],
                    detail: None,
                });
            }
            None
        }
        ScheduleTarget::Device(id) => match fieldwork::find_device(conn, &id).await? {
            Some((kind, site)) if ctx.in_scope(&site) => Some(kind),
            _ => {
                errors.push(FieldError::new("target", ErrorCode::UnknownDevice));
                None
            }
        },
    };
    if !repo::template_exists(conn, &s.template_id).await? {
        errors.push(FieldError::new("template_id", ErrorCode::UnknownTemplate));
    }
    if errors.is_empty() {
        Ok(kind)
    } else {
        Err(AppError::validation(errors))
    }
}

fn to_json<T: serde::Serialize>(v: &T) -> AppResult<serde_json::Value> {
    serde_json::to_value(v).map_err(|e| AppError::Internal(e.into()))
}

/// The audit entry of a change to a schedule.
fn audit_event<'a>(
    action: &'a str,
    id: &Uuid,
    before: Option<&Schedule>,
    after: Option<&Schedule>,
) -> AppResult<Event<'a>> {
    Ok(Event {
        action,
        entity_type: "maintenance_schedule",
        entity_id: Some(id.to_string()),
        before: before.map(to_json).transpose()?,
        after: after.map(to_json).transpose()?,
    })
}

async fn create(
    State(app): State<App>,
    ctx: Ctx,
    Json(input): Json<Schedule>,
) -> AppResult<(StatusCode, Json<Schedule>)> {
    input.validate().map_err(AppError::validation)?;
    let s = Schedule {
        id: Uuid::now_v7(),
        ..input
    };
    let now = app.now_ms();
    let mut tx = app.db.begin_write().await?;
    let kind = check(tx.conn(), &ctx, &s).await?;
    repo::insert(tx.conn(), &s, kind, now).await?;
    let event = audit_event("create", &s.id, None, Some(&s))?;
    audit::append(&mut tx, app.db.backend, now, &ctx.actor(), event).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(s)))
}

/// Loads a schedule the caller may change: a device rule of a device in
/// scope, or a type rule for a caller whose scope is every site.
async fn load_for_write(conn: &mut AnyConnection, ctx: &Ctx, id: &Uuid) -> AppResult<Schedule> {
    let stored = repo::get(conn, id)
        .await?
        .filter(|s| visible(ctx, s))
        .ok_or_else(AppError::not_found)?;
    if matches!(stored.schedule.target, ScheduleTarget::DeviceType(_)) && ctx.scope().is_some() {
        return Err(AppError::Api {
            status: StatusCode::FORBIDDEN,
            code: ErrorCode::NotInScope,
            fields: vec![FieldError::new("target", ErrorCode::NotInScope)],
            detail: None,
        });
    }
    Ok(stored.schedule)
}

async fn update(
    State(app): State<App>,
    ctx: Ctx,
    Path(id): Path<Uuid>,
    Json(input): Json<Schedule>,
) -> AppResult<Json<Schedule>> {
    input.validate().map_err(AppError::validation)?;
    let s = Schedule { id, ..input };
    let now = app.now_ms();
    let mut tx = app.db.begin_write().await?;
    let before = load_for_write(tx.conn(), &ctx, &id).await?;
    let kind = check(tx.conn(), &ctx, &s).await?;
    repo::update(tx.conn(), &s, kind, now).await?;
    let event = audit_event("update", &id, Some(&before), Some(&s))?;
    audit::append(&mut tx, app.db.backend, now, &ctx.actor(), event).await?;
    tx.commit().await?;
    Ok(Json(s))
}

async fn remove(State(app): State<App>, ctx: Ctx, Path(id): Path<Uuid>) -> AppResult<StatusCode> {
    let now = app.now_ms();
    let mut tx = app.db.begin_write().await?;
    let before = load_for_write(tx.conn(), &ctx, &id).await?;
    repo::delete(tx.conn(), &id).await?;
    let event = audit_event("delete", &id, Some(&before), None)?;
    audit::append(&mut tx, app.db.backend, now, &ctx.actor(), event).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// What the due list and the calendar are computed from.
struct DueInput {
    today: Date,
    devices: Vec<repo::MaintainedDevice>,
    schedules: Vec<Schedule>,
    templates: HashMap<Uuid, (String, Option<Text>)>,
}

async fn due_input(app: &App, ctx: &Ctx, site: Option<Uuid>) -> AppResult<DueInput> {
    let mut conn = app.db.pool.acquire().await?;
    let tz = app.settings.utc_offset;
    let devices = repo::maintained_devices(&mut conn, site, tz)
        .await?
        .into_iter()
        .filter(|d| ctx.in_scope(&d.device.site_id))
        .collect();
    // Every rule counts, including device rules of devices outside the
    // caller's scope: those devices are not in the list, so their rules
    // match nothing.
    let schedules = repo::list(&mut conn)
        .await?
        .into_iter()
        .map(|s| s.schedule)
        .collect();
    Ok(DueInput {
        today: app.today(),
        devices,
        schedules,
        templates: repo::template_names(&mut conn).await?,
    })
}

impl DueInput {
    /// Everything due up to `until` (and all that is overdue).
    fn items(&self, until: Date) -> Vec<DueItem> {
        let horizon = (until.to_days() - self.today.to_days()).max(0);
        let plain: Vec<_> = self.devices.iter().map(|d| d.device.clone()).collect();
        due_list(
            &plain,
            &self.schedules,
            self.today,
            u32::try_from(horizon).unwrap_or(u32::MAX),
        )
        .into_iter()
        .filter(|i| i.due <= until)
        .collect()
    }

    fn entry(&self, item: DueItem, projected: bool) -> DueEntry {
        let device = self.devices.iter().find(|d| d.device.id == item.device_id);
        let template = self.templates.get(&item.template_id);
        DueEntry {
            device_kind: device.map_or(DeviceKind::Camera, |d| d.device.kind),
            device_name: device.map(|d| d.name.clone()).unwrap_or_default(),
            template_key: template.map(|t| t.0.clone()),
            template_title: template.and_then(|t| t.1.clone()),
            projected,
            item,
        }
    }
}

/// A `YYYY-MM-DD` query parameter, or a field error naming it.
fn date_param(field: &str, value: &Option<String>, errors: &mut Vec<FieldError>) -> Option<Date> {
    let v = value.as_deref().map(str::trim).filter(|v| !v.is_empty())?;
    match Date::parse(v) {
        Ok(d) => Some(d),
        Err(code) => {
            errors.push(FieldError::new(field, code));
            None
        }
    }
}

async fn site_names(app: &App) -> AppResult<HashMap<Uuid, String>> {
    let rows = sqlx::query("SELECT id, name FROM sites")
        .fetch_all(&app.db.pool)
        .await?;
    rows.iter()
        .map(|r| {
            let id: String = r.try_get(0)?;
            Ok((
                Uuid::parse_str(&id).map_err(anyhow::Error::from)?,
                r.try_get(1)?,
            ))
        })
        .collect()
}

async fn due(
    State(app): State<App>,
    ctx: Ctx,
    Query(q): Query<DueQuery>,
) -> AppResult<Json<DueReport>> {
    let mut errors = Vec::new();
    let from = date_param("from", &q.from, &mut errors);
    let to = date_param("to", &q.to, &mut errors);
    if !errors.is_empty() {
        return Err(AppError::validation(errors));
    }
    let input = due_input(&app, &ctx, q.site_id).await?;
    let to = to.unwrap_or(Date::from_days(
        input.today.to_days() + DEFAULT_HORIZON_DAYS,
    ));
    if from.is_some_and(|f| f > to) {
        return Err(AppError::validation(vec![FieldError::new(
            "from",
            ErrorCode::InvalidRange,
        )]));
    }
    let mut by_site: BTreeMap<Uuid, Vec<DueEntry>> = BTreeMap::new();
    for item in input.items(to) {
        if from.is_some_and(|f| item.due < f) {
            continue;
        }
        by_site
            .entry(item.site_id)
            .or_default()
            .push(input.entry(item, false));
    }
    let names = site_names(&app).await?;
    let mut sites: Vec<SiteDue> = by_site
        .into_iter()
        .map(|(site_id, items)| SiteDue {
            site_id,
            site_name: names.get(&site_id).cloned().unwrap_or_default(),
            overdue: items.iter().filter(|i| i.item.overdue_days > 0).count() as u32,
            items,
        })
        .collect();
    sites.sort_by(|a, b| {
        a.site_name
            .cmp(&b.site_name)
            .then(a.site_id.cmp(&b.site_id))
    });
    Ok(Json(DueReport {
        today: input.today,
        utc_offset_minutes: app.settings.utc_offset.minutes(),
        from,
        to,
        sites,
    }))
}

async fn calendar(
    State(app): State<App>,
    ctx: Ctx,
    Query(q): Query<CalendarQuery>,
) -> AppResult<Json<MaintenanceCalendar>> {
    let input = due_input(&app, &ctx, q.site_id).await?;
    let first = match q.month.as_deref().map(str::trim).filter(|m| !m.is_empty()) {
        Some(m) => parse_month(m)
            .map_err(|code| AppError::validation(vec![FieldError::new("month", code)]))?,
        None => Date {
            day: 1,
            ..input.today
        },
    };
    let end = next_month(first);
    let last = Date::from_days(end.to_days() - 1);
    let mut days: BTreeMap<Date, Vec<DueEntry>> = BTreeMap::new();
    for item in input.items(last) {
        // The calendar plans work: something already overdue is to be done
        // today, so it sits on today (its `due` still says since when), and
        // the occurrences after it are projected assuming each run is done
        // on the day it is planned for.
        let mut date = item.due.max(input.today);
        let mut projected = false;
        while date < end {
            if date >= first {
                let occurrence = if projected {
                    DueItem {
                        due: date,
                        overdue_days: input.today.to_days() - date.to_days(),
                        ..item.clone()
                    }
                } else {
                    item.clone()
                };
                days.entry(date)
                    .or_default()
                    .push(input.entry(occurrence, projected));
            }
            date = Date::from_days(date.to_days() + i64::from(item.every_days));
            projected = true;
        }
    }
    Ok(Json(MaintenanceCalendar {
        month: format!("{:04}-{:02}", first.year, first.month),
        today: input.today,
        utc_offset_minutes: app.settings.utc_offset.minutes(),
        days: days
            .into_iter()
            .map(|(date, items)| CalendarDay { date, items })
            .collect(),
    }))
}
