//! The sync tables: `sync_records` (merged state per record, with change
//! numbers), `sync_clients` (last processed mutation per client) and the
//! `meta` entries `sync_node` and `sync_epoch`.

use std::collections::{BTreeMap, HashMap};

use gozcu_shared::sync::{EntityKind, EntityRef, RecordKey, RecordState};
use sqlx::{AnyConnection, Row};
use uuid::Uuid;

use crate::db::{Backend, Db};
use crate::inventory::devices::{max_params, IN_LIST_CHUNK};

/// A record's merged state and the site it belongs to.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stored {
    pub site_id: Option<Uuid>,
    pub state: RecordState,
}

pub async fn meta(db: &Db, key: &str) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT value FROM meta WHERE key = $1")
        .bind(key)
        .fetch_optional(&db.pool)
        .await
}

pub async fn set_meta(db: &Db, key: &str, value: &str) -> Result<(), sqlx::Error> {
    let mut tx = db.begin_write().await?;
    sqlx::query(
        "INSERT INTO meta (key, value) VALUES ($1, $2) \
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )
    .bind(key)
    .bind(value)
    .execute(tx.conn())
    .await?;
    tx.commit().await
}

/// Takes the lock that orders change numbers (and the audit chain) until
/// the transaction ends. On SQLite the process write lock of
/// [`crate::db::WriteTx`] already does this.
pub async fn lock(conn: &mut AnyConnection, backend: Backend) -> Result<(), sqlx::Error> {
    if backend == Backend::Postgres {
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(crate::audit::PG_WRITE_LOCK)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// The `(kind, id)` columns of a record key.
fn key_columns(key: &RecordKey) -> (&'static str, String) {
    match key {
        RecordKey::Entity(e) => (e.kind.as_str(), e.id.to_string()),
        RecordKey::Answer { run_id, item_id } => ("answer", format!("{run_id}:{item_id}")),
    }
}

fn key_from_columns(kind: &str, id: &str) -> Option<RecordKey> {
    if kind == "answer" {
        let (run, item) = id.split_once(':')?;
        return Some(RecordKey::Answer {
            run_id: Uuid::parse_str(run).ok()?,
            item_id: Uuid::parse_str(item).ok()?,
        });
    }
    Some(RecordKey::Entity(EntityRef {
        kind: EntityKind::parse(kind)?,
        id: Uuid::parse_str(id).ok()?,
    }))
}

fn decode_err(e: impl std::error::Error + Send + Sync + 'static) -> sqlx::Error {
    sqlx::Error::Decode(Box::new(e))
}

fn opt_uuid(s: Option<String>) -> Option<Uuid> {
    s.and_then(|s| Uuid::parse_str(&s).ok())
}

/// Loads the stored state of `keys` (those that exist).
pub async fn load(
    conn: &mut AnyConnection,
    backend: Backend,
    keys: &[RecordKey],
) -> Result<HashMap<RecordKey, Stored>, sqlx::Error> {
    let mut out = HashMap::new();
    let ids: Vec<(&'static str, String)> = keys.iter().map(key_columns).collect();
    for chunk in ids.chunks(max_params(backend).min(IN_LIST_CHUNK)) {
        let params: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT kind, id, site_id, state FROM sync_records WHERE id IN ({})",
            params.join(", ")
        );
        let mut q = sqlx::query(&sql);
        for (_, id) in chunk {
            q = q.bind(id.clone());
        }
        for row in q.fetch_all(&mut *conn).await? {
            let kind: String = row.try_get(0)?;
            let id: String = row.try_get(1)?;
            let Some(key) = key_from_columns(&kind, &id) else {
                continue;
            };
            if !keys.contains(&key) {
                continue;
            }
            let state: String = row.try_get(3)?;
            out.insert(
                key,
                Stored {
                    site_id: opt_uuid(row.try_get(2)?),
                    state: serde_json::from_str(&state).map_err(decode_err)?,
                },
            );
        }
    }
    Ok(out)
}

/// Writes changed records, each with a new change number above every
/// existing one. The caller holds [`lock`].
pub async fn save(
    conn: &mut AnyConnection,
    backend: Backend,
    changed: BTreeMap<RecordKey, Stored>,
) -> Result<(), sqlx::Error> {
    if changed.is_empty() {
        return Ok(());
    }
    let mut seq: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM sync_records")
        .fetch_one(&mut *conn)
        .await?;
    let rows: Vec<(RecordKey, Stored)> = changed.into_iter().collect();
    const COLS: usize = 7;
    for chunk in rows.chunks(max_params(backend) / COLS) {
        let values: Vec<String> = (0..chunk.len())
            .map(|r| {
                let p: Vec<String> = (1..=COLS).map(|c| format!("${}", r * COLS + c)).collect();
                format!("({})", p.join(", "))
            })
            .collect();
        let sql = format!(
            "INSERT INTO sync_records (kind, id, site_id, seq, deleted, conflicts, state) \
             VALUES {} ON CONFLICT (kind, id) DO UPDATE SET site_id = excluded.site_id, \
             seq = excluded.seq, deleted = excluded.deleted, conflicts = excluded.conflicts, \
             state = excluded.state",
            values.join(", ")
        );
        let mut q = sqlx::query(&sql);
        for (key, stored) in chunk {
            seq += 1;
            let (kind, id) = key_columns(key);
            let state = serde_json::to_string(&stored.state).map_err(decode_err)?;
            q = q
                .bind(kind)
                .bind(id)
                .bind(stored.site_id.map(|s| s.to_string()))
                .bind(seq)
                .bind(i64::from(stored.state.is_deleted()))
                .bind(stored.state.conflicts(*key).len() as i64)
                .bind(state);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// The owner and last processed mutation of a client.
pub async fn client(
    conn: &mut AnyConnection,
    client_id: &Uuid,
) -> Result<Option<(Uuid, u64)>, sqlx::Error> {
    let row = sqlx::query("SELECT user_id, last_processed FROM sync_clients WHERE client_id = $1")
        .bind(client_id.to_string())
        .fetch_optional(&mut *conn)
        .await?;
    row.map(|r| {
        let user: String = r.try_get(0)?;
        let last: i64 = r.try_get(1)?;
        Ok((
            Uuid::parse_str(&user).map_err(decode_err)?,
            u64::try_from(last).unwrap_or(0),
        ))
    })
    .transpose()
}

pub async fn set_client(
    conn: &mut AnyConnection,
    client_id: &Uuid,
    user_id: &Uuid,
    last_processed: u64,
    now_ms: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO sync_clients (client_id, user_id, last_processed, updated_at) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (client_id) DO UPDATE SET \
         last_processed = excluded.last_processed, updated_at = excluded.updated_at",
    )
    .bind(client_id.to_string())
    .bind(user_id.to_string())
    .bind(i64::try_from(last_processed).unwrap_or(i64::MAX))
    .bind(now_ms)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// One record of a pull page with its state as stored: the JSON is passed
/// through without being parsed and printed again, which is most of the
/// cost of a large pull. It serialises exactly like
/// [`gozcu_shared::sync::SyncRecord`].
#[derive(Debug, serde::Serialize)]
pub struct RawRecord {
    pub key: RecordKey,
    pub site_id: Option<Uuid>,
    pub seq: u64,
    pub state: Box<serde_json::value::RawValue>,
}

/// One page of records changed after `cursor`, within `scope` (`None`: every
/// site), oldest change first; one more than `limit` is fetched to tell
/// whether more wait.
pub async fn changes(
    db: &Db,
    scope: Option<&[Uuid]>,
    cursor: u64,
    limit: u32,
) -> Result<(Vec<RawRecord>, bool), sqlx::Error> {
    let mut sql =
        String::from("SELECT kind, id, site_id, seq, state FROM sync_records WHERE seq > $1");
    if let Some(sites) = scope {
        let params: Vec<String> = (0..sites.len()).map(|i| format!("${}", i + 2)).collect();
        // Records of no site (checklist templates) are everyone's.
        sql.push_str(&format!(
            " AND (site_id IN ({}) OR site_id IS NULL)",
            params.join(", ")
        ));
    }
    sql.push_str(&format!(" ORDER BY seq LIMIT {}", u64::from(limit) + 1));
    let mut q = sqlx::query(&sql).bind(i64::try_from(cursor).unwrap_or(i64::MAX));
    for s in scope.unwrap_or_default() {
        q = q.bind(s.to_string());
    }
    let rows = q.fetch_all(&db.pool).await?;
    let more = rows.len() > limit as usize;
    let mut out = Vec::with_capacity(rows.len().min(limit as usize));
    for row in rows.into_iter().take(limit as usize) {
        let kind: String = row.try_get(0)?;
        let id: String = row.try_get(1)?;
        let Some(key) = key_from_columns(&kind, &id) else {
            continue;
        };
        let seq: i64 = row.try_get(3)?;
        let state: String = row.try_get(4)?;
        out.push(RawRecord {
            key,
            site_id: opt_uuid(row.try_get(2)?),
            seq: u64::try_from(seq).unwrap_or(0),
            state: serde_json::value::RawValue::from_string(state).map_err(decode_err)?,
        });
    }
    Ok((out, more))
}
