//! The server's half of offline sync (docs/sync.md): the stored merged
//! records, their change numbers, the server's own clock, the epoch, and the
//! hook through which every online write (REST, CSV import) reaches the
//! records that clients pull.
//!
//! The merge rules themselves are `gozcu_shared::sync`, the same code the
//! app runs. The inventory tables (`cameras`, `sites`, …) stay the query
//! model every other feature reads; `sync_records` holds the merged state
//! with per-field timestamps and conflicts. Both are written in the same
//! transaction, so they never disagree after a commit.
//!
//! Change numbers (`seq`) are allocated while holding the write lock that
//! also orders the audit chain (the SQLite process lock, a PostgreSQL
//! advisory lock held to commit), so they become visible in increasing order
//! and a pull that has seen number *n* can never later miss a smaller one.

pub mod store;

use std::collections::BTreeMap;
use std::sync::Mutex;

use gozcu_shared::sync::{
    delete_seen, entity_fields, upsert_fields, EntityKind, EntityRef, Hlc, MutationKind, RecordKey,
    RecordState,
};
use serde_json::Value;
use sqlx::AnyConnection;
use uuid::Uuid;

use crate::db::{Backend, Db};
pub use store::Stored;

/// The server's node id and hybrid logical clock, for writes made online.
/// Every client timestamp the server accepts is received into this clock,
/// so an online edit made after a synced one is ordered after it even when
/// the tablet's clock ran ahead.
pub struct SyncClock {
    node: Uuid,
    hlc: Mutex<Hlc>,
}

impl std::fmt::Debug for SyncClock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncClock")
            .field("node", &self.node)
            .finish()
    }
}

impl SyncClock {
    /// Loads the server's node id (made once per database) and starts the
    /// clock after every timestamp already stored.
    pub async fn load(db: &Db) -> anyhow::Result<SyncClock> {
        let node = match store::meta(db, "sync_node").await? {
            Some(s) => Uuid::parse_str(&s)?,
            None => {
                let node = Uuid::now_v7();
                store::set_meta(db, "sync_node", &node.to_string()).await?;
                node
            }
        };
        if store::meta(db, "sync_epoch").await?.is_none() {
            new_epoch(db).await?;
        }
        Ok(SyncClock {
            node,
            hlc: Mutex::new(Hlc::new(node)),
        })
    }

    /// The timestamp of an online write made now.
    pub fn tick(&self, now_ms: i64) -> Hlc {
        self.hlc.lock().expect("sync clock poisoned").tick(now_ms)
    }

    /// Takes in every timestamp of a record before the server writes to it,
    /// so its write is later than everything it replaces (a restarted server
    /// starts its clock from scratch, and a tablet may run up to
    /// `MAX_CLOCK_AHEAD_MS` ahead).
    pub fn observe_record(&self, state: &RecordState, now_ms: i64) {
        let mut hlc = self.hlc.lock().expect("sync clock poisoned");
        for f in state.fields.values() {
            hlc.recv(&f.current.hlc, now_ms);
        }
        if let Some(t) = &state.tombstone {
            hlc.recv(&t.hlc, now_ms);
        }
    }

    /// Takes in a timestamp the server accepted from a client.
    pub fn observe(&self, remote: &Hlc, now_ms: i64) {
        self.hlc
            .lock()
            .expect("sync clock poisoned")
            .recv(remote, now_ms);
    }
}

/// The current epoch.
pub async fn epoch(db: &Db) -> Result<String, sqlx::Error> {
    Ok(store::meta(db, "sync_epoch").await?.unwrap_or_default())
}

/// Starts a new epoch: every client drops its replica on its next pull,
/// rebuilds it from the server and pushes its outbox again. Run after a
/// database restore (`gozcu sync new-epoch`).
pub async fn new_epoch(db: &Db) -> Result<String, sqlx::Error> {
    let epoch = Uuid::new_v4().to_string();
    store::set_meta(db, "sync_epoch", &epoch).await?;
    Ok(epoch)
}

/// One online write of an inventory entity: its JSON form after the write,
/// or `None` when it was deleted.
#[derive(Debug, Clone)]
pub struct ServerWrite {
    pub entity: EntityRef,
    pub site_id: Option<Uuid>,
    pub after: Option<Value>,
}

/// Records online writes (REST, import) in the sync records, in the caller's
/// transaction, as writes by the server's own clock that saw the current
/// state: an ordinary edit, never a conflict.
pub async fn record_writes(
    conn: &mut AnyConnection,
    backend: Backend,
    clock: &SyncClock,
    now_ms: i64,
    writes: Vec<ServerWrite>,
) -> Result<(), sqlx::Error> {
    store::lock(conn, backend).await?;
    let keys: Vec<RecordKey> = writes.iter().map(|w| RecordKey::Entity(w.entity)).collect();
    let mut records = store::load(conn, backend, &keys).await?;
    let mut changed: BTreeMap<RecordKey, Stored> = BTreeMap::new();
    for w in writes {
        let key = RecordKey::Entity(w.entity);
        let mut stored = changed
            .remove(&key)
            .or_else(|| records.remove(&key))
            .unwrap_or_default();
        clock.observe_record(&stored.state, now_ms);
        let hlc = clock.tick(now_ms);
        let kind = match &w.after {
            Some(after) => MutationKind::Upsert {
                entity: w.entity,
                fields: upsert_fields(Some(&stored.state), &entity_fields(after), hlc),
            },
            None => MutationKind::Delete {
                entity: w.entity,
                seen: delete_seen(&stored.state),
            },
        };
        if matches!(&kind, MutationKind::Upsert { fields, .. } if fields.is_empty()) {
            continue;
        }
        stored.state.merge(hlc, &kind);
        if w.site_id.is_some() {
            stored.site_id = w.site_id;
        }
        changed.insert(key, stored);
    }
    store::save(conn, backend, changed).await
}

/// Records server-side changes of checklist answers (amendments) in their
/// sync records, superseding every version the record holds, so that
/// devices take the amended value.
pub async fn record_answer_writes(
    conn: &mut AnyConnection,
    backend: Backend,
    clock: &SyncClock,
    now_ms: i64,
    site_id: Uuid,
    run_id: Uuid,
    answers: &[(Uuid, Value)],
) -> Result<(), sqlx::Error> {
    store::lock(conn, backend).await?;
    let keys: Vec<RecordKey> = answers
        .iter()
        .map(|(item_id, _)| RecordKey::Answer {
            run_id,
            item_id: *item_id,
        })
        .collect();
    let mut records = store::load(conn, backend, &keys).await?;
    let mut changed: BTreeMap<RecordKey, Stored> = BTreeMap::new();
    for (key, (item_id, value)) in keys.into_iter().zip(answers) {
        let mut stored = records.remove(&key).unwrap_or_default();
        clock.observe_record(&stored.state, now_ms);
        let hlc = clock.tick(now_ms);
        let supersedes = gozcu_shared::sync::resolve_field(
            &stored.state,
            gozcu_shared::sync::ANSWER_FIELD,
            Value::Null,
            hlc,
        )
        .supersedes;
        let kind = MutationKind::ChecklistAnswer {
            run_id,
            item_id: *item_id,
            value: value.clone(),
            supersedes,
        };
        stored.state.merge(hlc, &kind);
        stored.site_id = Some(site_id);
        changed.insert(key, stored);
    }
    store::save(conn, backend, changed).await
}

/// The site a record belongs to, from its JSON form: a site is its own, a
/// location belongs to its building's site, everything else names it.
pub async fn site_of(
    conn: &mut AnyConnection,
    kind: EntityKind,
    id: &Uuid,
    value: &Value,
) -> Result<Option<Uuid>, sqlx::Error> {
    let uuid_at = |field: &str| {
        value
            .get(field)
            .and_then(Value::as_str)
            .and_then(|s| Uuid::parse_str(s).ok())
    };
    Ok(match kind {
        EntityKind::Site => Some(*id),
        EntityKind::Location => match uuid_at("building_id") {
            Some(b) => {
                let site: Option<String> =
                    sqlx::query_scalar("SELECT site_id FROM buildings WHERE id = $1")
                        .bind(b.to_string())
                        .fetch_optional(&mut *conn)
                        .await?;
                site.and_then(|s| Uuid::parse_str(&s).ok())
            }
            None => None,
        },
        _ => uuid_at("site_id"),
    })
}

/// [`record_writes`] for one entity whose site is derived from its JSON.
pub async fn record_write(
    conn: &mut AnyConnection,
    backend: Backend,
    clock: &SyncClock,
    now_ms: i64,
    entity: EntityRef,
    before: Option<&Value>,
    after: Option<&Value>,
) -> Result<(), sqlx::Error> {
    let site_id = match after.or(before) {
        Some(v) => site_of(conn, entity.kind, &entity.id, v).await?,
        None => None,
    };
    let write = ServerWrite {
        entity,
        site_id,
        after: after.cloned(),
    };
    record_writes(conn, backend, clock, now_ms, vec![write]).await
}
