//! The `faults` and `fault_events` tables.
//!
//! A fault is read with the names of its site, device and assignee joined in,
//! so that lists and the detail page need one query. Writes go through the
//! caller's transaction: the HTTP layer checks the workflow, then writes the
//! fault row, its timeline entry and the audit entry together.

use gozcu_shared::api::Page;
use gozcu_shared::api_fieldwork::{
    Fault, FaultAssignee, FaultEvent, FaultEventKind, FaultListQuery,
};
use gozcu_shared::faults::{time_to_repair_ms, DeviceRef, FaultStatus, Severity};
use gozcu_shared::inventory::DeviceKind;
use gozcu_shared::validate::search_fold;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use uuid::Uuid;

use super::{opt_uuid_col, uuid_col};
use crate::db::Db;
use crate::inventory::devices::Val;

/// Most faults one list request returns.
pub const MAX_LIMIT: u32 = 1000;

const SELECT: &str = "SELECT f.id, f.number, f.site_id, s.name AS site_name, \
     f.device_kind, f.device_id, COALESCE(c.name, r.name, w.name) AS device_name, \
     f.title, f.description, f.severity, f.status, f.assignee_id, \
     u.display_name AS assignee_name, f.vendor, f.vendor_ticket, f.fault_form_run_id, \
     f.source, f.opened_by, f.opened_at, f.resolved_at, f.closed_at, f.updated_at \
     FROM faults f \
     JOIN sites s ON s.id = f.site_id \
     LEFT JOIN cameras c ON f.device_kind = 'camera' AND c.id = f.device_id \
     LEFT JOIN recorders r ON f.device_kind = 'recorder' AND r.id = f.device_id \
     LEFT JOIN switches w ON f.device_kind = 'switch' AND w.id = f.device_id \
     LEFT JOIN users u ON u.id = f.assignee_id";

fn decode(what: &str, value: &str) -> sqlx::Error {
    sqlx::Error::Decode(format!("unknown {what} {value:?} in faults").into())
}

fn fault_from(row: &AnyRow) -> Result<Fault, sqlx::Error> {
    let device = match (
        row.try_get::<Option<String>, _>("device_kind")?,
        opt_uuid_col(row, "device_id")?,
    ) {
        (Some(kind), Some(id)) => Some(DeviceRef {
            kind: DeviceKind::parse(&kind).ok_or_else(|| decode("device kind", &kind))?,
            id,
        }),
        _ => None,
    };
    let severity: String = row.try_get("severity")?;
    let status: String = row.try_get("status")?;
    let opened_at: i64 = row.try_get("opened_at")?;
    let resolved_at: Option<i64> = row.try_get("resolved_at")?;
    Ok(Fault {
        id: uuid_col(row, "id")?,
        number: row.try_get("number")?,
        site_id: uuid_col(row, "site_id")?,
        site_name: row.try_get("site_name")?,
        device,
        device_name: row.try_get("device_name")?,
        title: row.try_get("title")?,
        description: row.try_get("description")?,
        severity: Severity::parse(&severity).ok_or_else(|| decode("severity", &severity))?,
        status: FaultStatus::parse(&status).ok_or_else(|| decode("status", &status))?,
        assignee_id: opt_uuid_col(row, "assignee_id")?,
        assignee_name: row.try_get("assignee_name")?,
        vendor: row.try_get("vendor")?,
        vendor_ticket: row.try_get("vendor_ticket")?,
        fault_form_run_id: opt_uuid_col(row, "fault_form_run_id")?,
        source: row.try_get("source")?,
        opened_by: opt_uuid_col(row, "opened_by")?,
        opened_at,
        resolved_at,
        closed_at: row.try_get("closed_at")?,
        updated_at: row.try_get("updated_at")?,
        time_to_repair_ms: resolved_at.and_then(|r| time_to_repair_ms(opened_at, r)),
    })
}

/// The folded text `q` is matched against.
fn search_text(f: &Fault) -> String {
    let parts = [
        Some(f.number.to_string()),
        Some(f.title.clone()),
        f.description.clone(),
        f.vendor.clone(),
        f.vendor_ticket.clone(),
    ];
    search_fold(&parts.into_iter().flatten().collect::<Vec<_>>().join(" "))
}

pub async fn get(conn: &mut AnyConnection, id: &Uuid) -> Result<Option<Fault>, sqlx::Error> {
    sqlx::query(&format!("{SELECT} WHERE f.id = $1"))
        .bind(id.to_string())
        .fetch_optional(&mut *conn)
        .await?
        .as_ref()
        .map(fault_from)
        .transpose()
}

/// Lists faults within a site scope (`None` = all sites): active ones first,
/// then the newest.
pub async fn list(
    db: &Db,
    scope: Option<&[Uuid]>,
    q: &FaultListQuery,
) -> Result<Page<Fault>, sqlx::Error> {
    let mut conds: Vec<String> = Vec::new();
    let mut vals: Vec<Val> = Vec::new();
    let param = |v: String, vals: &mut Vec<Val>| {
        vals.push(Val::Text(Some(v)));
        format!("${}", vals.len())
    };
    if let Some(text) = q.q.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        // As in the device lists: every word must match, and LIKE wildcards
        // typed by the user are taken literally.
        for word in search_fold(text).split_whitespace().take(8) {
            let escaped = word
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            let p = param(format!("%{escaped}%"), &mut vals);
            conds.push(format!("f.search LIKE {p} ESCAPE '\\'"));
        }
    }
    if let Some(site) = q.site_id {
        let p = param(site.to_string(), &mut vals);
        conds.push(format!("f.site_id = {p}"));
    }
    if let Some(device) = q.device_id {
        let p = param(device.to_string(), &mut vals);
        conds.push(format!("f.device_id = {p}"));
    }
    if let Some(status) = q.status {
        let p = param(status.as_str().to_owned(), &mut vals);
        conds.push(format!("f.status = {p}"));
    }
    if let Some(active) = q.active {
        let not = if active { "" } else { "NOT " };
        conds.push(format!(
            "f.status {not}IN ('open', 'assigned', 'waiting_vendor')"
        ));
    }
    if let Some(sites) = scope {
        if sites.is_empty() {
            conds.push("1 = 0".into());
        } else {
            let ps: Vec<String> = sites
                .iter()
                .map(|s| param(s.to_string(), &mut vals))
                .collect();
            conds.push(format!("f.site_id IN ({})", ps.join(", ")));
        }
    }
    let where_sql = if conds.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", conds.join(" AND "))
    };
    let count_sql = format!("SELECT COUNT(*) FROM faults f{where_sql}");
    let mut count = sqlx::query(&count_sql);
    for v in vals.clone() {
        count = v.bind(count);
    }
    let total: i64 = count.fetch_one(&db.pool).await?.try_get(0)?;

    let n = vals.len();
    let sql = format!(
        "{SELECT}{where_sql} ORDER BY CASE WHEN f.status IN ('open', 'assigned', 'waiting_vendor') THEN 0 ELSE 1 END, \
         f.opened_at DESC, f.number DESC LIMIT ${} OFFSET ${}",
        n + 1,
        n + 2
    );
    let mut query = sqlx::query(&sql);
    for v in vals {
        query = v.bind(query);
    }
    let limit = i64::from(q.limit.unwrap_or(100).min(MAX_LIMIT));
    let offset = i64::from(q.offset.unwrap_or(0));
    let rows = query.bind(limit).bind(offset).fetch_all(&db.pool).await?;
    Ok(Page {
        items: rows.iter().map(fault_from).collect::<Result<_, _>>()?,
        total: total as u64,
    })
}

/// The next fault number. The caller holds the write lock (SQLite's
/// in-process lock, PostgreSQL's advisory lock), so no other writer can take
/// the same number before the insert.
pub async fn next_number(conn: &mut AnyConnection) -> Result<i64, sqlx::Error> {
    let max: Option<i64> = sqlx::query_scalar("SELECT MAX(number) FROM faults")
        .fetch_one(&mut *conn)
        .await?;
    Ok(max.unwrap_or(0) + 1)
}

pub async fn insert(conn: &mut AnyConnection, f: &Fault) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO faults (id, number, site_id, device_kind, device_id, title, description, \
         severity, status, assignee_id, vendor, vendor_ticket, fault_form_run_id, source, \
         opened_by, opened_at, resolved_at, closed_at, updated_at, search) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)",
    )
    .bind(f.id.to_string())
    .bind(f.number)
    .bind(f.site_id.to_string())
    .bind(f.device.map(|d| d.kind.as_str().to_owned()))
    .bind(f.device.map(|d| d.id.to_string()))
    .bind(&f.title)
    .bind(f.description.clone())
    .bind(f.severity.as_str())
    .bind(f.status.as_str())
    .bind(f.assignee_id.map(|u| u.to_string()))
    .bind(f.vendor.clone())
    .bind(f.vendor_ticket.clone())
    .bind(f.fault_form_run_id.map(|u| u.to_string()))
    .bind(&f.source)
    .bind(f.opened_by.map(|u| u.to_string()))
    .bind(f.opened_at)
    .bind(f.resolved_at)
    .bind(f.closed_at)
    .bind(f.updated_at)
    .bind(search_text(f))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Writes the changeable columns of `f`, provided the stored status is still
/// `expected`. Returns false when it is not: another request moved the
/// fault in the meantime (possible on PostgreSQL, whose writers are not
/// serialised before they read), and the caller answers with a conflict
/// instead of overwriting that change.
pub async fn update(
    conn: &mut AnyConnection,
    f: &Fault,
    expected: FaultStatus,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE faults SET title = $1, description = $2, severity = $3, status = $4, \
         assignee_id = $5, vendor = $6, vendor_ticket = $7, fault_form_run_id = $8, \
         resolved_at = $9, closed_at = $10, updated_at = $11, search = $12 \
         WHERE id = $13 AND status = $14",
    )
    .bind(&f.title)
    .bind(f.description.clone())
    .bind(f.severity.as_str())
    .bind(f.status.as_str())
    .bind(f.assignee_id.map(|u| u.to_string()))
    .bind(f.vendor.clone())
    .bind(f.vendor_ticket.clone())
    .bind(f.fault_form_run_id.map(|u| u.to_string()))
    .bind(f.resolved_at)
    .bind(f.closed_at)
    .bind(f.updated_at)
    .bind(search_text(f))
    .bind(f.id.to_string())
    .bind(expected.as_str())
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A timeline entry to write; `by_name` and `assignee_name` are read back
/// from `users` and ignored here.
pub async fn insert_event(
    conn: &mut AnyConnection,
    fault_id: &Uuid,
    e: &FaultEvent,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO fault_events (id, fault_id, kind, from_status, to_status, note, by_user, at, \
         assignee_id, vendor, vendor_ticket, fault_form_run_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(e.id.to_string())
    .bind(fault_id.to_string())
    .bind(e.kind.as_str())
    .bind(e.from_status.map(|s| s.as_str().to_owned()))
    .bind(e.to_status.map(|s| s.as_str().to_owned()))
    .bind(e.note.clone())
    .bind(e.by_user.map(|u| u.to_string()))
    .bind(e.at)
    .bind(e.assignee_id.map(|u| u.to_string()))
    .bind(e.vendor.clone())
    .bind(e.vendor_ticket.clone())
    .bind(e.fault_form_run_id.map(|u| u.to_string()))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The timeline of a fault, oldest first. Entries written in the same
/// millisecond keep their order through their v7 ids, which grow with time.
pub async fn events(
    conn: &mut AnyConnection,
    fault_id: &Uuid,
) -> Result<Vec<FaultEvent>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT e.id, e.kind, e.from_status, e.to_status, e.note, e.assignee_id, \
         a.display_name AS assignee_name, e.vendor, e.vendor_ticket, e.fault_form_run_id, \
         e.by_user, b.display_name AS by_name, e.at \
         FROM fault_events e \
         LEFT JOIN users a ON a.id = e.assignee_id \
         LEFT JOIN users b ON b.id = e.by_user \
         WHERE e.fault_id = $1 ORDER BY e.at, e.id",
    )
    .bind(fault_id.to_string())
    .fetch_all(&mut *conn)
    .await?;
    let status = |row: &AnyRow, col: &str| -> Result<Option<FaultStatus>, sqlx::Error> {
        row.try_get::<Option<String>, _>(col)?
            .map(|s| FaultStatus::parse(&s).ok_or_else(|| decode("status", &s)))
            .transpose()
    };
    rows.iter()
        .map(|row| {
            let kind: String = row.try_get("kind")?;
            Ok(FaultEvent {
                id: uuid_col(row, "id")?,
                kind: FaultEventKind::parse(&kind).ok_or_else(|| decode("event kind", &kind))?,
                from_status: status(row, "from_status")?,
                to_status: status(row, "to_status")?,
                note: row.try_get("note")?,
                assignee_id: opt_uuid_col(row, "assignee_id")?,
                assignee_name: row.try_get("assignee_name")?,
                vendor: row.try_get("vendor")?,
                vendor_ticket: row.try_get("vendor_ticket")?,
                fault_form_run_id: opt_uuid_col(row, "fault_form_run_id")?,
                by_user: opt_uuid_col(row, "by_user")?,
                by_name: row.try_get("by_name")?,
                at: row.try_get("at")?,
            })
        })
        .collect()
}

/// Whether `user_id` may be given a fault of `site_id`: an active account
/// whose role may work on faults and whose scope holds the site. Anyone
/// else could not even open the fault they were given.
pub async fn can_be_assigned(
    conn: &mut AnyConnection,
    user_id: &Uuid,
    site_id: &Uuid,
) -> Result<bool, sqlx::Error> {
    let row = sqlx::query("SELECT role, active FROM users WHERE id = $1")
        .bind(user_id.to_string())
        .fetch_optional(&mut *conn)
        .await?;
    let Some(row) = row else { return Ok(false) };
    let role: String = row.try_get(0)?;
    let active: i64 = row.try_get(1)?;
    let role_ok = gozcu_shared::Role::parse(&role)
        .is_some_and(|r| r.allows(gozcu_shared::Permission::FaultsWrite));
    if active == 0 || !role_ok {
        return Ok(false);
    }
    let sites: Vec<String> =
        sqlx::query_scalar("SELECT site_id FROM user_sites WHERE user_id = $1")
            .bind(user_id.to_string())
            .fetch_all(&mut *conn)
            .await?;
    Ok(sites.is_empty() || sites.contains(&site_id.to_string()))
}

/// Everyone [`can_be_assigned`] a fault of `site_id`, by display name.
pub async fn assignees(
    conn: &mut AnyConnection,
    site_id: &Uuid,
) -> Result<Vec<FaultAssignee>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT u.id, u.username, u.display_name, u.role FROM users u WHERE u.active = 1 \
         AND (NOT EXISTS (SELECT 1 FROM user_sites s WHERE s.user_id = u.id) \
           OR EXISTS (SELECT 1 FROM user_sites s WHERE s.user_id = u.id AND s.site_id = $1)) \
         ORDER BY u.display_name, u.username",
    )
    .bind(site_id.to_string())
    .fetch_all(&mut *conn)
    .await?;
    let mut out = Vec::new();
    for row in rows {
        let role: String = row.try_get("role")?;
        let Some(role) = gozcu_shared::Role::parse(&role) else {
            continue;
        };
        if !role.allows(gozcu_shared::Permission::FaultsWrite) {
            continue;
        }
        out.push(FaultAssignee {
            id: uuid_col(&row, "id")?,
            username: row.try_get("username")?,
            display_name: row.try_get("display_name")?,
            role,
        });
    }
    Ok(out)
}

/// The fault form a fault may be closed with, checked: a run of purpose
/// `fault_form`, completed, and either linked to this fault or — for a form
/// filled in before the link existed (offline, from the device page) — run
/// on the fault's device, linked to no other fault and completed after the
/// fault was opened, so that the form of an earlier fault of the same
/// camera cannot close this one.
pub async fn fault_form_ok(
    conn: &mut AnyConnection,
    fault: &Fault,
    run_id: &Uuid,
) -> Result<bool, sqlx::Error> {
    let row = sqlx::query(
        "SELECT purpose, status, fault_id, target_id, completed_at FROM checklist_runs WHERE id = $1",
    )
    .bind(run_id.to_string())
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else { return Ok(false) };
    let purpose: String = row.try_get("purpose")?;
    let status: String = row.try_get("status")?;
    let linked: Option<String> = row.try_get("fault_id")?;
    let target: String = row.try_get("target_id")?;
    let completed_at: Option<i64> = row.try_get("completed_at")?;
    if purpose != "fault_form" || status != "completed" {
        return Ok(false);
    }
    Ok(match linked {
        Some(linked) => linked == fault.id.to_string(),
        None => {
            fault.device.is_some_and(|d| d.id.to_string() == target)
                && completed_at.is_some_and(|at| at >= fault.opened_at)
        }
    })
}

/// The newest completed fault form linked to the fault, for a close that
/// names none: the technician filled it in on the tablet and the
/// supervisor closes from the office.
pub async fn linked_fault_form(
    conn: &mut AnyConnection,
    fault_id: &Uuid,
) -> Result<Option<Uuid>, sqlx::Error> {
    let id: Option<String> = sqlx::query_scalar(
        "SELECT id FROM checklist_runs WHERE fault_id = $1 AND purpose = 'fault_form' \
         AND status = 'completed' ORDER BY completed_at DESC, id DESC LIMIT 1",
    )
    .bind(fault_id.to_string())
    .fetch_optional(&mut *conn)
    .await?;
    id.map(|s| Uuid::parse_str(&s).map_err(super::bad_uuid))
        .transpose()
}
