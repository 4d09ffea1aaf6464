//! The only code that touches IndexedDB: the offline replica, the outbox,
//! the clock and the rejected mutations of one user.
//!
//! Each user has a database of their own (`gozcu-<user id>`), so two people
//! sharing a tablet never mix outboxes, and logging out never deletes
//! anything: the next login of the same user finds the unsent changes again.
//!
//! Stores (all values are JSON strings, which IndexedDB stores and returns
//! far faster than structured objects, and which keep serde as the one
//! format):
//! - `records`: the replica, keyed by [`key_string`]; a [`StoredRecord`]
//!   holds the server's state and, while changes wait in the outbox, the
//!   state the user sees;
//! - `outbox`: [`Mutation`]s by `mutation_id` (a number key, so they sort
//!   in order and a range deletes everything acknowledged);
//! - `meta`: the client id, the clock, the replica's epoch and cursor, the
//!   last sync time, the offline login, and copies of server answers kept
//!   for reading offline (`cache:<name>`, see [`Store::keep`]), one JSON
//!   value per key;
//! - `rejections`: [`Rejected`] mutations by `mutation_id`, until dismissed.
//!
//! A user change is written with [`Store::record`], which puts the record
//! and its outbox entry in one transaction, so neither can exist without
//! the other.

use gozcu_shared::api::SessionInfo;
use gozcu_shared::sync::{Hlc, Mutation, RecordKey, RecordState, RejectReason, SyncRecord};
use rexie::{KeyRange, ObjectStore, Rexie, TransactionMode};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use wasm_bindgen::JsValue;

const RECORDS: &str = "records";
const OUTBOX: &str = "outbox";
const META: &str = "meta";
const REJECTIONS: &str = "rejections";
const VERSION: u32 = 1;

/// Meta keys.
const CLIENT_ID: &str = "client_id";
const CLOCK: &str = "clock";
const REPLICA: &str = "replica";
const LAST_SYNC: &str = "last_sync_ms";
const LOGIN: &str = "login";

/// Why IndexedDB refused. The text is for the console and the error banner;
/// nothing branches on it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoreError(pub String);

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<rexie::Error> for StoreError {
    fn from(e: rexie::Error) -> StoreError {
        StoreError(e.to_string())
    }
}

impl From<serde_json::Error> for StoreError {
    fn from(e: serde_json::Error) -> StoreError {
        StoreError(format!("stored JSON: {e}"))
    }
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// The clock and the mutation counter, stored together because every
/// change advances both.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Clock {
    pub hlc: Hlc,
    pub last_mutation_id: u64,
}

/// Where the replica stands: the server epoch it belongs to and the cursor
/// of the last page applied.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReplicaMark {
    pub epoch: Option<String>,
    pub cursor: u64,
}

/// The session as last confirmed by the server, to keep working offline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OfflineLogin {
    pub session: SessionInfo,
    /// Unix milliseconds of the last answer from the server.
    pub last_contact_ms: i64,
}

/// One replica entry.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct StoredRecord {
    /// The server's merged record; `None` for a record only created here.
    #[serde(default)]
    pub server: Option<SyncRecord>,
    /// The server state with the pending outbox merged on top, while there
    /// is anything pending for this record.
    #[serde(default)]
    pub local: Option<RecordState>,
}

/// A mutation the server refused, kept to show the user why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rejected {
    pub mutation: Mutation,
    pub reason: RejectReason,
    /// The record's name when it was sent, so the list reads well even once
    /// the record is gone.
    #[serde(default)]
    pub name: Option<String>,
    pub at_ms: i64,
}

/// Everything a store holds, read at start-up.
#[derive(Debug, Default)]
pub struct Loaded {
    pub client_id: Option<Uuid>,
    pub clock: Option<Clock>,
    pub replica: ReplicaMark,
    pub last_sync_ms: Option<i64>,
    pub records: Vec<StoredRecord>,
    pub outbox: Vec<Mutation>,
    pub rejections: Vec<Rejected>,
}

/// The stable string form of a record key.
pub fn key_string(key: &RecordKey) -> String {
    match key {
        RecordKey::Entity(e) => format!(
            "{}:{}",
            serde_json::to_value(e.kind)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            e.id
        ),
        RecordKey::Answer { run_id, item_id } => format!("answer:{run_id}:{item_id}"),
    }
}

fn to_js<T: Serialize>(v: &T) -> Result<JsValue> {
    Ok(JsValue::from_str(&serde_json::to_string(v)?))
}

fn from_js<T: DeserializeOwned>(v: &JsValue) -> Result<T> {
    let s = v
        .as_string()
        .ok_or_else(|| StoreError("a stored value is not a string".into()))?;
    Ok(serde_json::from_str(&s)?)
}

fn id_key(id: u64) -> JsValue {
    // Mutation numbers stay far below 2^53, so the number is exact.
    JsValue::from_f64(id as f64)
}

pub fn db_name(user: Uuid) -> String {
    format!("gozcu-{user}")
}

/// An open per-user database.
#[derive(Debug)]
pub struct Store {
    db: Rexie,
}

impl Store {
    pub async fn open(user: Uuid) -> Result<Store> {
        let db = Rexie::builder(&db_name(user))
            .version(VERSION)
            .add_object_store(ObjectStore::new(RECORDS))
            .add_object_store(ObjectStore::new(OUTBOX))
            .add_object_store(ObjectStore::new(META))
            .add_object_store(ObjectStore::new(REJECTIONS))
            .build()
            .await?;
        Ok(Store { db })
    }

    /// Reads everything; the replica is small enough (10,000 cameras are a
    /// few megabytes) to search and sort in memory.
    pub async fn load(&self) -> Result<Loaded> {
        let tx = self.db.transaction(
            &[RECORDS, OUTBOX, META, REJECTIONS],
            TransactionMode::ReadOnly,
        )?;
        let meta = tx.store(META)?;
        let mut out = Loaded::default();
        if let Some(v) = meta.get(JsValue::from_str(CLIENT_ID)).await? {
            out.client_id = Some(from_js(&v)?);
        }
        if let Some(v) = meta.get(JsValue::from_str(CLOCK)).await? {
            out.clock = Some(from_js(&v)?);
        }
        if let Some(v) = meta.get(JsValue::from_str(REPLICA)).await? {
            out.replica = from_js(&v)?;
        }
        if let Some(v) = meta.get(JsValue::from_str(LAST_SYNC)).await? {
            out.last_sync_ms = Some(from_js(&v)?);
        }
        for v in tx.store(RECORDS)?.get_all(None, None).await? {
            out.records.push(from_js(&v)?);
        }
        for v in tx.store(OUTBOX)?.get_all(None, None).await? {
            out.outbox.push(from_js(&v)?);
        }
        for v in tx.store(REJECTIONS)?.get_all(None, None).await? {
            out.rejections.push(from_js(&v)?);
        }
        tx.done().await?;
        out.outbox.sort_by_key(|m| m.mutation_id);
        Ok(out)
    }

    /// Writes one meta value on its own.
    async fn put_meta<T: Serialize>(&self, key: &str, value: &T) -> Result<()> {
        let tx = self.db.transaction(&[META], TransactionMode::ReadWrite)?;
        tx.store(META)?
            .put(&to_js(value)?, Some(&JsValue::from_str(key)))
            .await?;
        tx.done().await?;
        Ok(())
    }

    /// Stores `id` as this database's client id unless one is there
    /// already (a second tab opened at the same first start), and returns
    /// the one that counts.
    pub async fn claim_client_id(&self, id: Uuid) -> Result<Uuid> {
        let tx = self.db.transaction(&[META], TransactionMode::ReadWrite)?;
        let meta = tx.store(META)?;
        let id = match meta.get(JsValue::from_str(CLIENT_ID)).await? {
            Some(v) => from_js(&v)?,
            None => {
                meta.put(&to_js(&id)?, Some(&JsValue::from_str(CLIENT_ID)))
                    .await?;
                id
            }
        };
        tx.done().await?;
        Ok(id)
    }

    /// The stored clock: the newest any tab of this user has written.
    pub async fn clock(&self) -> Result<Option<Clock>> {
        let tx = self.db.transaction(&[META], TransactionMode::ReadOnly)?;
        let clock = get_clock(&tx.store(META)?).await?;
        tx.done().await?;
        Ok(clock)
    }

    /// The stored outbox and clock, which other tabs of the same user may
    /// have added to; read before every push.
    pub async fn outbox(&self) -> Result<(Vec<Mutation>, Option<Clock>)> {
        let tx = self
            .db
            .transaction(&[OUTBOX, META], TransactionMode::ReadOnly)?;
        let mut outbox = Vec::new();
        for v in tx.store(OUTBOX)?.get_all(None, None).await? {
            outbox.push(from_js::<Mutation>(&v)?);
        }
        let clock = get_clock(&tx.store(META)?).await?;
        tx.done().await?;
        outbox.sort_by_key(|m| m.mutation_id);
        Ok((outbox, clock))
    }

    pub async fn set_login(&self, login: &OfflineLogin) -> Result<()> {
        self.put_meta(LOGIN, login).await
    }

    /// Forgets the offline login (an explicit logout), so the next start
    /// without network does not log the user back in. The outbox stays.
    pub async fn clear_login(&self) -> Result<()> {
        let tx = self.db.transaction(&[META], TransactionMode::ReadWrite)?;
        tx.store(META)?.delete(JsValue::from_str(LOGIN)).await?;
        tx.done().await?;
        Ok(())
    }

    pub async fn login(&self) -> Result<Option<OfflineLogin>> {
        let tx = self.db.transaction(&[META], TransactionMode::ReadOnly)?;
        let v = tx.store(META)?.get(JsValue::from_str(LOGIN)).await?;
        tx.done().await?;
        v.map(|v| from_js(&v)).transpose()
    }

    /// A user change: the record as it now looks, its outbox entry and the
    /// advanced clock, in one transaction. Returns `false`, having written
    /// nothing, when another tab of the same user has meanwhile stored a
    /// clock at or past the mutation's number or timestamp: the caller
    /// catches up and makes the change again. IndexedDB runs read-write
    /// transactions on the same stores one at a time, across tabs too, so
    /// this check and the write cannot be split by another tab.
    pub async fn record(
        &self,
        key: &RecordKey,
        record: &StoredRecord,
        mutation: &Mutation,
        clock: &Clock,
    ) -> Result<bool> {
        let tx = self
            .db
            .transaction(&[RECORDS, OUTBOX, META], TransactionMode::ReadWrite)?;
        let meta = tx.store(META)?;
        if let Some(stored) = get_clock(&meta).await? {
            if stored.last_mutation_id >= mutation.mutation_id || stored.hlc >= mutation.hlc {
                tx.done().await?;
                return Ok(false);
            }
        }
        tx.store(RECORDS)?
            .put(&to_js(record)?, Some(&JsValue::from_str(&key_string(key))))
            .await?;
        // `add`, not `put`: should a number still be taken, the whole
        // transaction fails instead of one change replacing another.
        tx.store(OUTBOX)?
            .add(&to_js(mutation)?, Some(&id_key(mutation.mutation_id)))
            .await?;
        meta.put(&to_js(clock)?, Some(&JsValue::from_str(CLOCK)))
            .await?;
        tx.done().await?;
        Ok(true)
    }

    /// A push answer: drops the outbox up to `last_processed`, keeps the
    /// rejections and rewrites the records the answer changed.
    pub async fn acknowledge(
        &self,
        last_processed: u64,
        rejected: &[Rejected],
        records: &[(RecordKey, StoredRecord)],
        clock: &Clock,
    ) -> Result<()> {
        let tx = self.db.transaction(
            &[RECORDS, OUTBOX, META, REJECTIONS],
            TransactionMode::ReadWrite,
        )?;
        if last_processed > 0 {
            let range = KeyRange::upper_bound(&id_key(last_processed), Some(false))
                .map_err(|e| StoreError(e.to_string()))?;
            tx.store(OUTBOX)?.delete(range.into()).await?;
        }
        let rejections = tx.store(REJECTIONS)?;
        for r in rejected {
            rejections
                .put(&to_js(r)?, Some(&id_key(r.mutation.mutation_id)))
                .await?;
        }
        // Another tab may have pulled a newer server state of these records
        // meanwhile; it is not replaced by this tab's older one.
        let store = tx.store(RECORDS)?;
        let mut newer = Vec::with_capacity(records.len());
        for (key, r) in records {
            let stored = store.get(JsValue::from_str(&key_string(key))).await?;
            let stored_seq = match stored {
                Some(v) => from_js::<StoredRecord>(&v)?.server.map_or(0, |s| s.seq),
                None => 0,
            };
            if r.server.as_ref().map_or(0, |s| s.seq) >= stored_seq {
                newer.push((*key, r.clone()));
            }
        }
        put_records(&store, &newer).await?;
        advance_clock(&tx.store(META)?, clock).await?;
        tx.done().await?;
        Ok(())
    }

    /// One pulled page: on a reset the old replica goes first (the outbox
    /// stays), then the page's records and where the replica now stands.
    pub async fn apply_pull(
        &self,
        reset: bool,
        records: &[(RecordKey, StoredRecord)],
        mark: &ReplicaMark,
        clock: &Clock,
    ) -> Result<()> {
        let tx = self
            .db
            .transaction(&[RECORDS, META], TransactionMode::ReadWrite)?;
        let store = tx.store(RECORDS)?;
        if reset {
            store.clear().await?;
        }
        put_records(&store, records).await?;
        let meta = tx.store(META)?;
        meta.put(&to_js(mark)?, Some(&JsValue::from_str(REPLICA)))
            .await?;
        advance_clock(&meta, clock).await?;
        tx.done().await?;
        Ok(())
    }

    /// Keeps a copy of a server answer that is not part of the replica
    /// (the maintenance due list), to show it offline, marked as old.
    pub async fn keep<T: Serialize>(&self, name: &str, value: &T) -> Result<()> {
        self.put_meta(&format!("cache:{name}"), value).await
    }

    /// The copy [`Store::keep`] made, if any. A copy this version of the
    /// app cannot read any more counts as none.
    pub async fn kept<T: DeserializeOwned>(&self, name: &str) -> Result<Option<T>> {
        let tx = self.db.transaction(&[META], TransactionMode::ReadOnly)?;
        let v = tx
            .store(META)?
            .get(JsValue::from_str(&format!("cache:{name}")))
            .await?;
        tx.done().await?;
        Ok(v.and_then(|v| from_js(&v).ok()))
    }

    pub async fn set_last_sync(&self, ms: i64) -> Result<()> {
        self.put_meta(LAST_SYNC, &ms).await
    }

    pub async fn dismiss(&self, mutation_id: u64) -> Result<()> {
        let tx = self
            .db
            .transaction(&[REJECTIONS], TransactionMode::ReadWrite)?;
        tx.store(REJECTIONS)?.delete(id_key(mutation_id)).await?;
        tx.done().await?;
        Ok(())
    }
}

async fn get_clock(meta: &rexie::Store) -> Result<Option<Clock>> {
    meta.get(JsValue::from_str(CLOCK))
        .await?
        .map(|v| from_js(&v))
        .transpose()
}

/// Writes `clock` without moving the stored one back: another tab of the
/// same user may have advanced the timestamp or handed out numbers since
/// this tab last looked.
async fn advance_clock(meta: &rexie::Store, clock: &Clock) -> Result<()> {
    let merged = match get_clock(meta).await? {
        Some(stored) => Clock {
            hlc: stored.hlc.max(clock.hlc),
            last_mutation_id: stored.last_mutation_id.max(clock.last_mutation_id),
        },
        None => *clock,
    };
    meta.put(&to_js(&merged)?, Some(&JsValue::from_str(CLOCK)))
        .await?;
    Ok(())
}

/// Puts records in bulk (one request per record, awaiting only the last,
/// which IndexedDB completes in order).
async fn put_records(store: &rexie::Store, records: &[(RecordKey, StoredRecord)]) -> Result<()> {
    let mut items = Vec::with_capacity(records.len());
    for (key, r) in records {
        items.push((to_js(r)?, Some(JsValue::from_str(&key_string(key)))));
    }
    store.put_all(items.into_iter()).await?;
    Ok(())
}

/// Asks the browser not to evict this origin's storage under pressure: the
/// outbox may hold a day's work. The answer does not matter; some browsers
/// only grant it to installed apps.
pub fn ask_persistence() {
    let Ok(storage) =
        js_sys::Reflect::get(&web_sys::window().unwrap().navigator(), &"storage".into())
    else {
        return;
    };
    if storage.is_undefined() {
        return;
    }
    let storage: web_sys::StorageManager = wasm_bindgen::JsCast::unchecked_into(storage);
    let _ = storage.persist();
}
