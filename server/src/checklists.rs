//! Checklist templates, runs, answers and amendments in the database.
//!
//! The rules live in `gozcu_shared::checklists`; this module only stores
//! and loads. A run and each of its answers are also sync records: the
//! tables here are their projection, written by the sync push (work done
//! offline) and by the REST endpoints (amendments) through the same checks.
//! Built-in templates are written at start ([`seed_builtin`]); a template is
//! never changed in place, an edit is a new version, so a run always finds
//! the exact version it was made with.

use std::collections::BTreeMap;

use gozcu_shared::checklists::{
    builtin_templates, template_record, Amendment, Run, RunStatus, TargetKind, Template,
};
use gozcu_shared::sync::{EntityKind, EntityRef};
use serde_json::Value;
use sqlx::{AnyConnection, Row};
use uuid::Uuid;

use crate::app::App;
use crate::sync::{self, ServerWrite};

fn decode<E: std::error::Error + Send + Sync + 'static>(e: E) -> sqlx::Error {
    sqlx::Error::Decode(Box::new(e))
}

fn uuid(s: &str) -> Result<Uuid, sqlx::Error> {
    Uuid::parse_str(s).map_err(decode)
}

/// Every version of one template, oldest first.
pub async fn versions(conn: &mut AnyConnection, id: &Uuid) -> Result<Vec<Template>, sqlx::Error> {
    let rows = sqlx::query("SELECT body FROM checklist_templates WHERE id = $1 ORDER BY version")
        .bind(id.to_string())
        .fetch_all(&mut *conn)
        .await?;
    rows.iter()
        .map(|r| serde_json::from_str(&r.try_get::<String, _>(0)?).map_err(decode))
        .collect()
}

/// One version of a template.
pub async fn template(
    conn: &mut AnyConnection,
    id: &Uuid,
    version: u32,
) -> Result<Option<Template>, sqlx::Error> {
    let body: Option<String> =
        sqlx::query_scalar("SELECT body FROM checklist_templates WHERE id = $1 AND version = $2")
            .bind(id.to_string())
            .bind(i64::from(version))
            .fetch_optional(&mut *conn)
            .await?;
    body.map(|b| serde_json::from_str(&b).map_err(decode))
        .transpose()
}

/// The latest version of every template, by title.
pub async fn latest(conn: &mut AnyConnection) -> Result<Vec<Template>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT t.body FROM checklist_templates t \
         WHERE t.version = (SELECT MAX(v.version) FROM checklist_templates v WHERE v.id = t.id) \
         ORDER BY t.key",
    )
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| serde_json::from_str(&r.try_get::<String, _>(0)?).map_err(decode))
        .collect()
}

/// Stores a new template version and refreshes the template's sync record.
pub async fn insert_template(
    conn: &mut AnyConnection,
    app: &App,
    t: &Template,
    builtin: bool,
    by: Option<&str>,
    now: i64,
) -> Result<(), sqlx::Error> {
    let body = serde_json::to_string(t).map_err(decode)?;
    sqlx::query(
        "INSERT INTO checklist_templates (id, version, key, purpose, body, builtin, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(t.id.to_string())
    .bind(i64::from(t.version))
    .bind(&t.key)
    .bind(t.purpose.as_str())
    .bind(body)
    .bind(i64::from(builtin))
    .bind(by.map(str::to_owned))
    .bind(now)
    .execute(&mut *conn)
    .await?;
    let all = versions(conn, &t.id).await?;
    let write = ServerWrite {
        entity: EntityRef {
            kind: EntityKind::ChecklistTemplate,
            id: t.id,
        },
        // Templates belong to no site: every user sees them.
        site_id: None,
        after: Some(template_record(&all)),
    };
    sync::record_writes(conn, app.db.backend, &app.sync, now, vec![write]).await
}

/// Writes the built-in templates that are not in the database yet; a no-op
/// once they are. Returns how many were written.
pub async fn seed_builtin(app: &App) -> anyhow::Result<usize> {
    let mut tx = app.db.begin_write().await?;
    let mut written = 0;
    let now = app.now_ms();
    for t in builtin_templates() {
        if template(tx.conn(), &t.id, t.version).await?.is_none() {
            insert_template(tx.conn(), app, &t, true, None, now).await?;
            written += 1;
        }
    }
    tx.commit().await?;
    Ok(written)
}

const RUN_COLUMNS: &str = "id, template_id, template_version, target_kind, target_id, site_id, \
     status, started_by, started_at, completed_by, completed_at, gps, fault_id";

fn run_from(row: &sqlx::any::AnyRow) -> Result<Run, sqlx::Error> {
    let text = |i: usize| row.try_get::<String, _>(i);
    let opt = |i: usize| row.try_get::<Option<String>, _>(i);
    Ok(Run {
        id: uuid(&text(0)?)?,
        template_id: uuid(&text(1)?)?,
        template_version: u32::try_from(row.try_get::<i64, _>(2)?).map_err(decode)?,
        target_kind: TargetKind::parse(&text(3)?)
            .ok_or_else(|| sqlx::Error::Decode("unknown target kind".into()))?,
        target_id: uuid(&text(4)?)?,
        site_id: Some(uuid(&text(5)?)?),
        status: RunStatus::parse(&text(6)?)
            .ok_or_else(|| sqlx::Error::Decode("unknown run status".into()))?,
        started_by: opt(7)?,
        started_at_ms: row.try_get(8)?,
        completed_by: opt(9)?,
        completed_at_ms: row.try_get(10)?,
        gps: opt(11)?
            .map(|g| serde_json::from_str(&g).map_err(decode))
            .transpose()?,
        fault_id: opt(12)?.map(|f| uuid(&f)).transpose()?,
    })
}

pub async fn run(conn: &mut AnyConnection, id: &Uuid) -> Result<Option<Run>, sqlx::Error> {
    let row = sqlx::query(&format!(
        "SELECT {RUN_COLUMNS} FROM checklist_runs WHERE id = $1"
    ))
    .bind(id.to_string())
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(run_from).transpose()
}

/// Runs filtered by target, site scope and status, newest first.
pub async fn runs(
    conn: &mut AnyConnection,
    target_id: Option<&Uuid>,
    scope: Option<&[Uuid]>,
    limit: u32,
) -> Result<Vec<Run>, sqlx::Error> {
    let mut sql = format!("SELECT {RUN_COLUMNS} FROM checklist_runs WHERE 1 = 1");
    let mut binds: Vec<String> = Vec::new();
    if let Some(t) = target_id {
        binds.push(t.to_string());
        sql.push_str(&format!(" AND target_id = ${}", binds.len()));
    }
    if let Some(sites) = scope {
        let start = binds.len();
        binds.extend(sites.iter().map(Uuid::to_string));
        let params: Vec<String> = (start + 1..=binds.len()).map(|i| format!("${i}")).collect();
        if params.is_empty() {
            sql.push_str(" AND 1 = 0");
        } else {
            sql.push_str(&format!(" AND site_id IN ({})", params.join(", ")));
        }
    }
    sql.push_str(&format!(" ORDER BY started_at DESC LIMIT {limit}"));
    let mut q = sqlx::query(&sql);
    for b in binds {
        q = q.bind(b);
    }
    q.fetch_all(&mut *conn)
        .await?
        .iter()
        .map(run_from)
        .collect()
}

/// Inserts or replaces a run row.
pub async fn save_run(
    conn: &mut AnyConnection,
    r: &Run,
    purpose: &str,
    site_id: &Uuid,
    now: i64,
) -> Result<(), sqlx::Error> {
    let gps = r
        .gps
        .as_ref()
        .map(|g| serde_json::to_string(g).map_err(decode))
        .transpose()?;
    let exists: Option<String> = sqlx::query_scalar("SELECT id FROM checklist_runs WHERE id = $1")
        .bind(r.id.to_string())
        .fetch_optional(&mut *conn)
        .await?;
    let sql = if exists.is_some() {
        "UPDATE checklist_runs SET template_id = $2, template_version = $3, purpose = $4, \
         target_kind = $5, target_id = $6, site_id = $7, status = $8, started_by = $9, \
         started_at = $10, completed_by = $11, completed_at = $12, gps = $13, fault_id = $14, \
         updated_at = $15 WHERE id = $1"
    } else {
        "INSERT INTO checklist_runs (id, template_id, template_version, purpose, target_kind, \
         target_id, site_id, status, started_by, started_at, completed_by, completed_at, gps, \
         fault_id, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
    };
    sqlx::query(sql)
        .bind(r.id.to_string())
        .bind(r.template_id.to_string())
        .bind(i64::from(r.template_version))
        .bind(purpose.to_owned())
        .bind(r.target_kind.as_str())
        .bind(r.target_id.to_string())
        .bind(site_id.to_string())
        .bind(r.status.as_str())
        .bind(r.started_by.clone())
        .bind(r.started_at_ms)
        .bind(r.completed_by.clone())
        .bind(r.completed_at_ms)
        .bind(gps)
        .bind(r.fault_id.map(|f| f.to_string()))
        .bind(now)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// The answers of a run, by item.
pub async fn answers(
    conn: &mut AnyConnection,
    run_id: &Uuid,
) -> Result<BTreeMap<Uuid, Value>, sqlx::Error> {
    let rows = sqlx::query("SELECT item_id, value FROM checklist_answers WHERE run_id = $1")
        .bind(run_id.to_string())
        .fetch_all(&mut *conn)
        .await?;
    let mut out = BTreeMap::new();
    for row in rows {
        let item = uuid(&row.try_get::<String, _>(0)?)?;
        let value: Value = serde_json::from_str(&row.try_get::<String, _>(1)?).map_err(decode)?;
        out.insert(item, value);
    }
    Ok(out)
}

/// Stores one answer; `null` removes it (an answer taken back).
pub async fn save_answer(
    conn: &mut AnyConnection,
    run_id: &Uuid,
    item_id: &Uuid,
    value: &Value,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM checklist_answers WHERE run_id = $1 AND item_id = $2")
        .bind(run_id.to_string())
        .bind(item_id.to_string())
        .execute(&mut *conn)
        .await?;
    if !value.is_null() {
        sqlx::query(
            "INSERT INTO checklist_answers (run_id, item_id, value, updated_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(run_id.to_string())
        .bind(item_id.to_string())
        .bind(value.to_string())
        .bind(now)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

pub async fn insert_amendment(
    conn: &mut AnyConnection,
    run_id: &Uuid,
    a: &Amendment,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO checklist_amendments (id, run_id, item_id, old_value, new_value, reason, by_user, at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(Uuid::now_v7().to_string())
    .bind(run_id.to_string())
    .bind(a.item_id.to_string())
    .bind(a.old.to_string())
    .bind(a.new.to_string())
    .bind(a.reason.clone())
    .bind(a.by.to_string())
    .bind(a.at_ms)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn amendments(
    conn: &mut AnyConnection,
    run_id: &Uuid,
) -> Result<Vec<Amendment>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT item_id, old_value, new_value, reason, by_user, at FROM checklist_amendments \
         WHERE run_id = $1 ORDER BY at, id",
    )
    .bind(run_id.to_string())
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|row| {
            let json = |i: usize| -> Result<Value, sqlx::Error> {
                serde_json::from_str(&row.try_get::<String, _>(i)?).map_err(decode)
            };
            Ok(Amendment {
                item_id: uuid(&row.try_get::<String, _>(0)?)?,
                old: json(1)?,
                new: json(2)?,
                reason: row.try_get(3)?,
                by: uuid(&row.try_get::<String, _>(4)?)?,
                at_ms: row.try_get(5)?,
            })
        })
        .collect()
}
