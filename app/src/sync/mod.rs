//! The only path an inventory change takes: outbox first, network later.
//!
//! The app keeps a replica of every record in the user's scope (the
//! server's merged states, pulled page by page) and an outbox of the user's
//! own changes. What the screen shows is the replica with the pending
//! outbox merged on top, through the same `RecordState::merge` the server
//! runs, so an offline edit looks exactly as it will once the server has it.
//!
//! - this module: the in-memory replica, [`record_change`] (the one place a
//!   [`Mutation`] is made), and the reads the pages use;
//! - [`engine`]: pushing, pulling, and when to do it (start, `online`, a
//!   timer with backoff, "Sync now");
//! - [`login`]: the session kept for working offline;
//! - [`faults`]: faults and their timelines in the replica, opening one and
//!   adding notes offline.
//!
//! Everything runs on the browser's single thread, so the replica lives in a
//! thread-local and the UI learns about changes through [`SyncSignals`].

pub mod engine;
pub mod faults;
pub mod login;

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use gozcu_shared::checklists::{templates_of_record, Run, Template};
use gozcu_shared::sync::{
    delete_seen, entity_fields, resolve_field, upsert_fields, Conflict, EntityKind, EntityRef, Hlc,
    Mutation, MutationKind, Outbox, RecordKey, RecordState, SyncRecord, ANSWER_FIELD,
};
use leptos::prelude::*;
use serde::de::DeserializeOwned;
use serde_json::Value;
use uuid::Uuid;

use crate::api::ApiFailure;
use crate::store::{Clock, Rejected, ReplicaMark, Store, StoreError, StoredRecord};

/// What the header and the sync page show.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Status {
    /// The replica has been read from IndexedDB.
    pub ready: bool,
    /// The last attempt reached the server.
    pub online: bool,
    pub running: bool,
    pub pending: usize,
    pub conflicts: usize,
    pub rejected: usize,
    pub last_sync_ms: Option<i64>,
    /// The server refused this app's protocol version (HTTP 426).
    pub outdated: bool,
    /// The last failure that was not just "no network".
    pub failure: Option<ApiFailure>,
}

/// The reactive face of the sync state, provided at the root.
#[derive(Clone, Copy)]
pub struct SyncSignals {
    pub status: RwSignal<Status>,
    /// Bumped whenever the shown records change; pages that read the
    /// replica call [`track`] to re-run.
    pub version: RwSignal<u64>,
    /// The server said the session is gone while the user was working: ask
    /// for the password again, without leaving the page.
    pub reauth: RwSignal<bool>,
}

impl SyncSignals {
    pub fn new() -> SyncSignals {
        SyncSignals {
            status: RwSignal::new(Status::default()),
            version: RwSignal::new(0),
            reauth: RwSignal::new(false),
        }
    }
}

pub fn use_sync() -> SyncSignals {
    expect_context::<SyncSignals>()
}

/// The records of one user, as held in memory.
pub(crate) struct Replica {
    pub store: Rc<Store>,
    pub user: Uuid,
    pub hlc: Hlc,
    pub outbox: Outbox,
    pub mark: ReplicaMark,
    /// The server's states.
    pub base: HashMap<RecordKey, SyncRecord>,
    /// The shown state of every record with pending mutations.
    pub shown: HashMap<RecordKey, RecordState>,
    pub rejections: Vec<Rejected>,
}

impl Replica {
    pub fn client_id(&self) -> Uuid {
        self.outbox.client_id()
    }

    pub fn clock(&self) -> Clock {
        Clock {
            hlc: self.hlc,
            last_mutation_id: self.outbox.next_mutation_id() - 1,
        }
    }

    /// Takes in what another tab of the same user stored: a newer clock,
    /// numbers it handed out and the mutations it recorded.
    pub fn catch_up(&mut self, stored: Option<Clock>, outbox: Vec<Mutation>) {
        let last = stored.map_or(0, |c| c.last_mutation_id);
        if let Some(c) = stored {
            self.hlc = self.hlc.max(c.hlc);
        }
        let before = self.outbox.len();
        self.outbox.adopt(last, outbox);
        if self.outbox.len() != before {
            self.rebuild_shown();
        }
    }

    /// The state the user sees.
    pub fn state(&self, key: &RecordKey) -> Option<&RecordState> {
        self.shown
            .get(key)
            .or_else(|| self.base.get(key).map(|r| &r.state))
    }

    /// Recomputes the shown states from the server states and the outbox.
    pub fn rebuild_shown(&mut self) {
        let mut shown: HashMap<RecordKey, RecordState> = HashMap::new();
        for m in self.outbox.pending() {
            let key = m.kind.key();
            shown
                .entry(key)
                .or_insert_with(|| {
                    self.base
                        .get(&key)
                        .map(|r| r.state.clone())
                        .unwrap_or_default()
                })
                .merge(m.hlc, &m.kind);
        }
        self.shown = shown;
    }

    /// What IndexedDB keeps for `key`.
    pub fn stored(&self, key: &RecordKey) -> StoredRecord {
        StoredRecord {
            server: self.base.get(key).cloned(),
            local: self.shown.get(key).cloned(),
        }
    }

    /// What the user calls a record: its name, or a fault's title, or a
    /// fault note's text.
    fn name_of(&self, key: &RecordKey) -> Option<String> {
        let state = self.state(key)?;
        ["name", "title", "note"].iter().find_map(|field| {
            state
                .fields
                .get(*field)
                .and_then(|f| f.current.value.as_str().map(str::to_owned))
        })
    }

    fn conflict_count(&self) -> usize {
        let mut n = 0;
        for (key, r) in &self.base {
            if !self.shown.contains_key(key) {
                n += r.state.conflicts(*key).len();
            }
        }
        for (key, s) in &self.shown {
            n += s.conflicts(*key).len();
        }
        n
    }
}

thread_local! {
    static REPLICA: RefCell<Option<Replica>> = const { RefCell::new(None) };
    static SIGNALS: RefCell<Option<SyncSignals>> = const { RefCell::new(None) };
}

/// Hands the root's signals to the sync code.
pub fn install(signals: SyncSignals) {
    SIGNALS.with_borrow_mut(|s| *s = Some(signals));
}

pub(crate) fn signals() -> Option<SyncSignals> {
    SIGNALS.with_borrow(|s| *s)
}

pub(crate) fn with_replica<R>(f: impl FnOnce(&Replica) -> R) -> Option<R> {
    REPLICA.with_borrow(|r| r.as_ref().map(f))
}

pub(crate) fn with_replica_mut<R>(f: impl FnOnce(&mut Replica) -> R) -> Option<R> {
    REPLICA.with_borrow_mut(|r| r.as_mut().map(f))
}

pub(crate) fn set_replica(r: Option<Replica>) {
    REPLICA.with_borrow_mut(|slot| *slot = r);
    refresh();
}

/// Recounts what the header shows and tells the pages the records changed.
pub(crate) fn refresh() {
    let Some(sig) = signals() else {
        return;
    };
    let counts = with_replica(|r| (r.outbox.len(), r.conflict_count(), r.rejections.len()));
    sig.status.update(|s| {
        s.ready = counts.is_some();
        let (pending, conflicts, rejected) = counts.unwrap_or_default();
        s.pending = pending;
        s.conflicts = conflicts;
        s.rejected = rejected;
    });
    sig.version.update(|v| *v += 1);
}

/// Subscribes the calling reactive context to replica changes and says
/// whether the replica is loaded.
pub fn track() -> bool {
    match signals() {
        Some(s) => {
            s.version.track();
            s.status.with(|s| s.ready)
        }
        None => false,
    }
}

pub fn now_ms() -> i64 {
    js_sys::Date::now() as i64
}

/// A new record id: UUIDv7, so ids made offline on different tablets never
/// collide and still sort by creation time.
pub fn new_id() -> Uuid {
    let ms = now_ms().max(0) as u64;
    let ts =
        uuid::Timestamp::from_unix(uuid::NoContext, ms / 1000, ((ms % 1000) * 1_000_000) as u32);
    Uuid::new_v7(ts)
}

/// Calls `f` for every shown, not deleted record of `kind`, with whether it
/// has unsent changes.
pub fn for_each_entity(kind: EntityKind, mut f: impl FnMut(Uuid, &RecordState, bool)) {
    with_replica(|r| {
        for (key, rec) in &r.base {
            if let RecordKey::Entity(e) = key {
                if e.kind == kind && !r.shown.contains_key(key) && !rec.state.is_deleted() {
                    f(e.id, &rec.state, false);
                }
            }
        }
        for (key, state) in &r.shown {
            if let RecordKey::Entity(e) = key {
                if e.kind == kind && !state.is_deleted() {
                    f(e.id, state, true);
                }
            }
        }
    });
}

/// One entity as its REST type, and whether it has unsent changes; `None`
/// when it is unknown or deleted.
pub fn entity<T: DeserializeOwned>(kind: EntityKind, id: Uuid) -> Option<(T, bool)> {
    with_replica(|r| {
        let key = RecordKey::Entity(EntityRef { kind, id });
        let mut values = r.state(&key)?.values()?;
        values.insert("id".into(), Value::String(id.to_string()));
        let t = serde_json::from_value(Value::Object(values)).ok()?;
        Some((t, r.shown.contains_key(&key)))
    })
    .flatten()
}

/// Whether anything for this record waits in the outbox.
pub fn is_unsent(key: &RecordKey) -> bool {
    with_replica(|r| r.shown.contains_key(key)).unwrap_or(false)
}

/// Why a change could not be recorded.
#[derive(Debug, Clone, PartialEq)]
pub enum ChangeError {
    /// The replica is not loaded (no login yet).
    NotReady,
    Store(StoreError),
}

/// Records one user change: stamps it with the clock, numbers it in the
/// outbox, and writes the record's new state and the outbox entry to
/// IndexedDB in one transaction before returning. `build` sees the state
/// the user was looking at and the change's timestamp, and returns `None`
/// when there is nothing to change. Returns whether a mutation was made.
///
/// Another tab of the same user shares the stored outbox and clock, so the
/// number and timestamp are taken after reading the stored clock; should
/// the other tab record a change in between, the store refuses and this
/// one is made again.
pub async fn record_change(
    key: RecordKey,
    build: impl Fn(Option<&RecordState>, Hlc) -> Option<MutationKind>,
) -> Result<bool, ChangeError> {
    const ATTEMPTS: usize = 5;
    for _ in 0..ATTEMPTS {
        let store = with_replica(|r| r.store.clone()).ok_or(ChangeError::NotReady)?;
        let stored_clock = store.clock().await.map_err(ChangeError::Store)?;
        let prepared = with_replica_mut(|r| {
            r.catch_up(stored_clock, Vec::new());
            let mut hlc = r.hlc;
            let at = hlc.tick(now_ms());
            let kind = build(r.state(&key), at)?;
            debug_assert_eq!(kind.key(), key);
            r.hlc = hlc;
            let mutation = r.outbox.record(at, kind).clone();
            r.rebuild_shown();
            Some((mutation, r.stored(&key), r.clock()))
        })
        .ok_or(ChangeError::NotReady)?;
        let Some((mutation, stored, clock)) = prepared else {
            return Ok(false);
        };
        refresh();
        let written = store.record(&key, &stored, &mutation, &clock).await;
        if written != Ok(true) {
            // Not stored, so not made: take it out again (its number stays
            // used; the server reports the gap and carries on).
            with_replica_mut(|r| {
                let pending: Vec<Mutation> = r
                    .outbox
                    .pending()
                    .filter(|m| m.mutation_id != mutation.mutation_id)
                    .cloned()
                    .collect();
                let last = r.outbox.next_mutation_id() - 1;
                r.outbox = Outbox::restore(r.client_id(), last, pending);
                r.rebuild_shown();
            });
            refresh();
        }
        match written {
            Ok(true) => {
                engine::soon();
                return Ok(true);
            }
            Ok(false) => continue,
            Err(e) => return Err(ChangeError::Store(e)),
        }
    }
    Err(ChangeError::Store(StoreError(
        "another tab keeps changing the same data; try again".into(),
    )))
}

/// Saves an entity's edited JSON form (as the REST API would take it):
/// only the fields that differ from what the user saw are written.
pub async fn save_entity(entity: EntityRef, value: &Value) -> Result<bool, ChangeError> {
    let fields = entity_fields(value);
    record_change(RecordKey::Entity(entity), |state, hlc| {
        let writes = upsert_fields(state, &fields, hlc);
        (!writes.is_empty()).then_some(MutationKind::Upsert {
            entity,
            fields: writes,
        })
    })
    .await
}

/// Deletes an entity, marking every version the user saw as seen.
pub async fn delete_entity(entity: EntityRef) -> Result<bool, ChangeError> {
    record_change(RecordKey::Entity(entity), |state, _| {
        Some(MutationKind::Delete {
            entity,
            seen: state.map(delete_seen).unwrap_or_default(),
        })
    })
    .await
}

/// Settles a conflict on `field` with `value` (the side the user kept).
pub async fn resolve(entity: EntityRef, field: String, value: Value) -> Result<bool, ChangeError> {
    record_change(RecordKey::Entity(entity), |state, hlc| {
        let state = state?;
        let write = resolve_field(state, &field, value.clone(), hlc);
        Some(MutationKind::Upsert {
            entity,
            fields: [(field.clone(), write)].into_iter().collect(),
        })
    })
    .await
}

/// Settles a delete-against-edit conflict by keeping the record: every
/// field is written again with its shown value (or, for a record the delete
/// won, the value that lost), superseding the tombstone and the losers.
pub async fn keep_record(entity: EntityRef) -> Result<bool, ChangeError> {
    record_change(RecordKey::Entity(entity), |state, hlc| {
        let state = state?;
        let fields = state
            .fields
            .iter()
            .map(|(name, f)| {
                (
                    name.clone(),
                    resolve_field(state, name, f.current.value.clone(), hlc),
                )
            })
            .collect();
        Some(MutationKind::Upsert { entity, fields })
    })
    .await
}

/// One open conflict with the record's name, for the sync page.
#[derive(Debug, Clone, PartialEq)]
pub struct ShownConflict {
    pub conflict: Conflict,
    pub name: String,
}

/// Every open conflict on the shown records, ordered by record and field.
pub fn conflicts() -> Vec<ShownConflict> {
    with_replica(|r| {
        let mut keys: HashSet<RecordKey> = r.shown.keys().copied().collect();
        keys.extend(r.base.keys().copied());
        let mut keys: Vec<RecordKey> = keys.into_iter().collect();
        keys.sort();
        let mut out = Vec::new();
        for key in keys {
            let Some(state) = r.state(&key) else { continue };
            let found = state.conflicts(key);
            if found.is_empty() {
                continue;
            }
            let name = r.name_of(&key).unwrap_or_default();
            out.extend(found.into_iter().map(|conflict| ShownConflict {
                conflict,
                name: name.clone(),
            }));
        }
        out
    })
    .unwrap_or_default()
}

pub fn rejections() -> Vec<Rejected> {
    with_replica(|r| r.rejections.clone()).unwrap_or_default()
}

/// This device's client id, to tell its own writes from others'.
pub fn client_id() -> Option<Uuid> {
    with_replica(|r| r.client_id())
}

/// Forgets a shown rejection.
pub async fn dismiss(mutation_id: u64) -> Result<(), StoreError> {
    let Some(store) = with_replica_mut(|r| {
        r.rejections
            .retain(|x| x.mutation.mutation_id != mutation_id);
        r.store.clone()
    }) else {
        return Ok(());
    };
    refresh();
    store.dismiss(mutation_id).await
}

fn str_field(s: &RecordState, field: &str) -> String {
    s.get(field)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

fn uuid_field(s: &RecordState, field: &str) -> Option<Uuid> {
    s.get(field)
        .and_then(Value::as_str)
        .and_then(|v| Uuid::parse_str(v).ok())
}

fn sorted(mut v: Vec<(String, String)>) -> Vec<(String, String)> {
    v.sort_by(|a, b| a.1.cmp(&b.1));
    v
}

/// The sites as `(id, name)` select options, from the replica.
pub fn site_options() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for_each_entity(EntityKind::Site, |id, s, _| {
        out.push((id.to_string(), str_field(s, "name")))
    });
    sorted(out)
}

/// The locations of a site as `(id, "building / location")`.
pub fn location_options(site: Uuid) -> Vec<(String, String)> {
    let mut buildings = HashMap::new();
    for_each_entity(EntityKind::Building, |id, s, _| {
        if uuid_field(s, "site_id") == Some(site) {
            buildings.insert(id, str_field(s, "name"));
        }
    });
    let mut out = Vec::new();
    for_each_entity(EntityKind::Location, |id, s, _| {
        if let Some(b) = uuid_field(s, "building_id").and_then(|b| buildings.get(&b)) {
            out.push((id.to_string(), format!("{b} / {}", str_field(s, "name"))));
        }
    });
    sorted(out)
}

/// The recorders of a site as `(id, "name (channels ch)")`.
pub fn recorder_options(site: Uuid) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for_each_entity(EntityKind::Recorder, |id, s, _| {
        if uuid_field(s, "site_id") == Some(site) {
            let channels = s.get("channels").map(Value::to_string).unwrap_or_default();
            out.push((
                id.to_string(),
                format!("{} ({channels} ch)", str_field(s, "name")),
            ));
        }
    });
    sorted(out)
}

// ---- checklists -------------------------------------------------------------

/// Every template version the replica holds, by id (oldest version first).
pub fn template_versions() -> Vec<Vec<Template>> {
    let mut out = Vec::new();
    for_each_entity(EntityKind::ChecklistTemplate, |_, state, _| {
        if let Some(values) = state.values() {
            out.push(templates_of_record(&values));
        }
    });
    out
}

/// The latest version of every template, by title.
pub fn latest_templates(lang: gozcu_shared::Lang) -> Vec<Template> {
    let mut out: Vec<Template> = template_versions()
        .into_iter()
        .filter_map(|mut v| v.pop())
        .collect();
    out.sort_by(|a, b| a.title.get(lang).cmp(b.title.get(lang)));
    out
}

/// One template version, as a run pins it.
pub fn template(id: Uuid, version: u32) -> Option<Template> {
    entity_values(EntityKind::ChecklistTemplate, id)
        .map(|v| templates_of_record(&v))?
        .into_iter()
        .find(|t| t.version == version)
}

fn entity_values(kind: EntityKind, id: Uuid) -> Option<serde_json::Map<String, Value>> {
    with_replica(|r| {
        r.state(&RecordKey::Entity(EntityRef { kind, id }))?
            .values()
    })
    .flatten()
}

/// The runs on one target, newest first, with whether each has unsent changes.
pub fn runs_for(target_id: Uuid) -> Vec<(Run, bool)> {
    let mut out = Vec::new();
    for_each_entity(EntityKind::ChecklistRun, |id, state, unsent| {
        let Some(mut values) = state.values() else {
            return;
        };
        values.insert("id".into(), Value::String(id.to_string()));
        if let Ok(run) = serde_json::from_value::<Run>(Value::Object(values)) {
            if run.target_id == target_id {
                out.push((run, unsent));
            }
        }
    });
    out.sort_by_key(|r| std::cmp::Reverse(r.0.started_at_ms));
    out
}

/// The answers of a run as the user sees them; unanswered items are absent.
pub fn answers(run_id: Uuid) -> std::collections::BTreeMap<Uuid, Value> {
    with_replica(|r| {
        let mut out = std::collections::BTreeMap::new();
        let keys = r.base.keys().chain(r.shown.keys());
        for key in keys {
            if let RecordKey::Answer {
                run_id: run,
                item_id,
            } = key
            {
                if *run != run_id || out.contains_key(item_id) {
                    continue;
                }
                let value = r
                    .state(key)
                    .and_then(|s| s.values())
                    .and_then(|v| v.get(ANSWER_FIELD).cloned())
                    .unwrap_or(Value::Null);
                if !value.is_null() {
                    out.insert(*item_id, value);
                }
            }
        }
        out
    })
    .unwrap_or_default()
}

/// Records one answer (offline first, like every change): it replaces
/// every version of the answer the user saw; `null` takes it back.
pub async fn save_answer(run_id: Uuid, item_id: Uuid, value: Value) -> Result<bool, ChangeError> {
    record_change(RecordKey::Answer { run_id, item_id }, |state, hlc| {
        let current = state.and_then(|s| s.fields.get(ANSWER_FIELD));
        if current.map_or(value.is_null(), |f| f.current.value == value) {
            return None;
        }
        let supersedes = state
            .map(|s| resolve_field(s, ANSWER_FIELD, Value::Null, hlc).supersedes)
            .unwrap_or_default();
        Some(MutationKind::ChecklistAnswer {
            run_id,
            item_id,
            value: value.clone(),
            supersedes,
        })
    })
    .await
}
