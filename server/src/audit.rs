//! Appending to and reading the audit log (DOMAIN.md §17).
//!
//! Every change is written in the same transaction as the audit entry that
//! describes it, so there is never a change without its record. Entries are
//! chained by hash (`gozcu_shared::audit`); on PostgreSQL an advisory lock
//! serialises appenders across server processes, on SQLite the write lock in
//! [`crate::db`] already does.

use gozcu_shared::api::AuditEntry;
use gozcu_shared::audit::{entry_hash, AuditFields, ChainBreak, ChainCursor, GENESIS};
use serde_json::Value;
use sqlx::Row;

use crate::db::{Backend, Db, WriteTx};

/// Who did something, and from where.
#[derive(Debug, Clone)]
pub struct Actor {
    pub id: Option<String>,
    pub name: String,
    pub ip: Option<String>,
}

impl Actor {
    pub fn system() -> Actor {
        Actor {
            id: None,
            name: "system".into(),
            ip: None,
        }
    }
}

/// What happened. `before`/`after` are the record as JSON; secrets must be
/// replaced by markers before they get here.
#[derive(Debug, Clone)]
pub struct Event<'a> {
    pub action: &'a str,
    pub entity_type: &'a str,
    pub entity_id: Option<String>,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

/// The PostgreSQL advisory lock that orders the audit chain and the sync
/// change numbers across server processes.
pub(crate) const PG_WRITE_LOCK: i64 = 0x476f_7a63_7541;

pub async fn append(
    tx: &mut WriteTx,
    backend: Backend,
    now_ms: i64,
    actor: &Actor,
    event: Event<'_>,
) -> Result<i64, sqlx::Error> {
    let seq = append_many(tx, backend, now_ms, actor, vec![event]).await?;
    Ok(seq)
}

/// Appends several entries by one actor in order, in as few statements as
/// possible (a 10,000-row import writes 10,000 entries). Returns the last
/// sequence number.
pub async fn append_many(
    tx: &mut WriteTx,
    backend: Backend,
    now_ms: i64,
    actor: &Actor,
    events: Vec<Event<'_>>,
) -> Result<i64, sqlx::Error> {
    if backend == Backend::Postgres {
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(PG_WRITE_LOCK)
            .execute(tx.conn())
            .await?;
    }
    let last = sqlx::query("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
        .fetch_optional(tx.conn())
        .await?;
    let (mut seq, mut prev) = match last {
        Some(row) => (row.try_get::<i64, _>(0)?, row.try_get::<String, _>(1)?),
        None => (0, GENESIS.to_owned()),
    };
    // 12 parameters a row; see `max_params` for why the size depends on the engine.
    for chunk in events.chunks(crate::inventory::devices::max_params(backend) / 12) {
        let mut rows = Vec::with_capacity(chunk.len());
        for event in chunk {
            seq += 1;
            let before = event.before.as_ref().map(|v| v.to_string());
            let after = event.after.as_ref().map(|v| v.to_string());
            let hash = entry_hash(
                &prev,
                &AuditFields {
                    seq,
                    at_ms: now_ms,
                    actor_id: actor.id.as_deref(),
                    actor_name: &actor.name,
                    action: event.action,
                    entity_type: event.entity_type,
                    entity_id: event.entity_id.as_deref(),
                    before: before.as_deref(),
                    after: after.as_deref(),
                    ip: actor.ip.as_deref(),
                },
            );
            rows.push((
                seq,
                event,
                before,
                after,
                std::mem::replace(&mut prev, hash.clone()),
                hash,
            ));
        }
        let placeholders: Vec<String> = (0..rows.len())
            .map(|r| {
                let p: Vec<String> = (1..=12).map(|c| format!("${}", r * 12 + c)).collect();
                format!("({})", p.join(", "))
            })
            .collect();
        let sql = format!(
            "INSERT INTO audit_log (seq, at, actor_id, actor_name, action, entity_type, entity_id, before, after, ip, prev_hash, hash) VALUES {}",
            placeholders.join(", ")
        );
        let mut q = sqlx::query(&sql);
        for (seq, event, before, after, prev_hash, hash) in rows {
            q = q
                .bind(seq)
                .bind(now_ms)
                .bind(actor.id.clone())
                .bind(actor.name.clone())
                .bind(event.action)
                .bind(event.entity_type)
                .bind(event.entity_id.clone())
                .bind(before)
                .bind(after)
                .bind(actor.ip.clone())
                .bind(prev_hash)
                .bind(hash);
        }
        q.execute(tx.conn()).await?;
    }
    Ok(seq)
}

/// Appends one entry in its own transaction (logins, failed logins, reveals).
pub async fn record(
    db: &Db,
    now_ms: i64,
    actor: &Actor,
    event: Event<'_>,
) -> Result<(), sqlx::Error> {
    let mut tx = db.begin_write().await?;
    append(&mut tx, db.backend, now_ms, actor, event).await?;
    tx.commit().await
}

const COLUMNS: &str = "seq, at, actor_id, actor_name, action, entity_type, entity_id, before, after, ip, prev_hash, hash";

struct StoredRow {
    seq: i64,
    at: i64,
    actor_id: Option<String>,
    actor_name: String,
    action: String,
    entity_type: String,
    entity_id: Option<String>,
    before: Option<String>,
    after: Option<String>,
    ip: Option<String>,
    prev_hash: String,
    hash: String,
}

fn stored(row: &sqlx::any::AnyRow) -> Result<StoredRow, sqlx::Error> {
    Ok(StoredRow {
        seq: row.try_get(0)?,
        at: row.try_get(1)?,
        actor_id: row.try_get(2)?,
        actor_name: row.try_get(3)?,
        action: row.try_get(4)?,
        entity_type: row.try_get(5)?,
        entity_id: row.try_get(6)?,
        before: row.try_get(7)?,
        after: row.try_get(8)?,
        ip: row.try_get(9)?,
        prev_hash: row.try_get(10)?,
        hash: row.try_get(11)?,
    })
}

impl StoredRow {
    fn fields(&self) -> AuditFields<'_> {
        AuditFields {
            seq: self.seq,
            at_ms: self.at,
            actor_id: self.actor_id.as_deref(),
            actor_name: &self.actor_name,
            action: &self.action,
            entity_type: &self.entity_type,
            entity_id: self.entity_id.as_deref(),
            before: self.before.as_deref(),
            after: self.after.as_deref(),
            ip: self.ip.as_deref(),
        }
    }

    fn into_entry(self) -> AuditEntry {
        let json = |s: Option<String>| s.and_then(|s| serde_json::from_str(&s).ok());
        AuditEntry {
            seq: self.seq,
            at: self.at,
            actor_name: self.actor_name,
            action: self.action,
            entity_type: self.entity_type,
            entity_id: self.entity_id,
            before: json(self.before),
            after: json(self.after),
            ip: self.ip,
        }
    }
}

/// Walks the whole chain in batches; returns the number of entries or the
/// first broken link.
pub async fn verify(db: &Db) -> anyhow::Result<Result<u64, ChainBreak>> {
    const BATCH: i64 = 5_000;
    let mut cursor = ChainCursor::default();
    loop {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM audit_log WHERE seq >= $1 ORDER BY seq LIMIT $2"
        ))
        .bind(cursor.next_seq)
        .bind(BATCH)
        .fetch_all(&db.pool)
        .await?;
        if rows.is_empty() {
            return Ok(Ok(cursor.count));
        }
        let rows: Vec<StoredRow> = rows.iter().map(stored).collect::<Result<_, _>>()?;
        if let Err(e) = cursor.check(
            rows.iter()
                .map(|r| (r.fields(), r.prev_hash.as_str(), r.hash.as_str())),
        ) {
            return Ok(Err(e));
        }
    }
}

/// Newest first, optionally before a sequence number (for paging back).
pub async fn list(
    db: &Db,
    limit: i64,
    before_seq: Option<i64>,
) -> Result<Vec<AuditEntry>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM audit_log WHERE seq < $1 ORDER BY seq DESC LIMIT $2"
    ))
    .bind(before_seq.unwrap_or(i64::MAX))
    .bind(limit)
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|r| stored(r).map(StoredRow::into_entry))
        .collect()
}

/// The change history of one record, oldest first.
pub async fn history(
    db: &Db,
    entity_type: &str,
    entity_id: &str,
) -> Result<Vec<AuditEntry>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM audit_log WHERE entity_type = $1 AND entity_id = $2 ORDER BY seq"
    ))
    .bind(entity_type)
    .bind(entity_id)
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|r| stored(r).map(StoredRow::into_entry))
        .collect()
}
