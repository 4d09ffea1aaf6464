//! `POST /api/v1/sync/push` and `POST /api/v1/sync/pull` (docs/sync.md).
//!
//! A push is applied in order, exactly once per mutation number. Each
//! mutation is merged with the shared rules and then *projected*: the merged
//! record is turned back into its entity (a camera, …) and goes through the
//! same normalisation and reference checks as a REST write, inside a
//! savepoint. A mutation that fails is rolled back to that savepoint and
//! reported as rejected; the client's number advances anyway, so one bad
//! change never blocks the ones behind it. Mutations are committed in
//! batches together with the client's last processed number, so a server
//! killed mid-push keeps a consistent prefix and the retry skips exactly it.

use std::collections::{BTreeMap, HashMap};

use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::routing::post;
use gozcu_shared::faults::check_sync_write;
use gozcu_shared::inventory::{Camera, Recorder, Switch};
use gozcu_shared::sync::{
    advance, entity_fields, resolve_field, upsert_fields, well_formed, EntityKind, EntityRef, Hlc,
    Mutation, MutationKind, PullRequest, PushOutcome, PushRequest, PushResponse, PushResult,
    RecordKey, RecordState, RejectReason, ANSWER_FIELD, MAX_CLOCK_AHEAD_MS, PULL_LIMIT_DEFAULT,
    PULL_LIMIT_MAX, PUSH_MAX_MUTATIONS, SCHEMA_VERSION,
};
use gozcu_shared::{validate, ErrorCode, FieldError, Permission};
use serde_json::Value;
use sqlx::{AnyConnection, Connection};

use super::checklists::{project_answer, project_run};
use super::devices::{check_references, Known};
use super::extract::{large_json, Json};
use super::faults::{project_fault, project_fault_event};
use super::{Access, AppError, AppResult, Ctx, Route};
use crate::app::App;
use crate::audit::{self, Event};
use crate::inventory::devices::{self as repo, Common};
use crate::inventory::Device;
use crate::sync::{self, store, Stored};

/// Mutations per transaction: small enough that a batch commits quickly
/// and a killed server loses little work, large enough to amortise the
/// commit.
const BATCH: usize = 250;

pub fn routes() -> Vec<Route> {
    vec![
        Route {
            method: Method::POST,
            path: "/api/v1/sync/push",
            access: Access::Session,
            tag: "sync",
            summary: "Apply a client's outbox in order, exactly once (docs/sync.md)",
            request: None,
            response: None,
            handler: post(push),
        },
        Route {
            method: Method::POST,
            path: "/api/v1/sync/pull",
            access: Access::Session,
            tag: "sync",
            summary: "Records changed since a cursor, in the user's scope (docs/sync.md)",
            request: None,
            response: None,
            handler: post(pull),
        },
    ]
}

/// Refuses clients built for another version of the protocol before they
/// can change anything.
fn check_schema(version: u32) -> AppResult<()> {
    if version < SCHEMA_VERSION {
        return Err(AppError::new(
            StatusCode::UPGRADE_REQUIRED,
            ErrorCode::ClientOutdated,
        ));
    }
    if version > SCHEMA_VERSION {
        return Err(AppError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::ServerOutdated,
        ));
    }
    Ok(())
}

/// [`gozcu_shared::sync::PullResponse`] with the records' states passed
/// through as stored.
#[derive(serde::Serialize)]
struct PullPage {
    epoch: String,
    reset: bool,
    records: Vec<store::RawRecord>,
    cursor: u64,
    more: bool,
    last_processed: u64,
    server_time_ms: i64,
}

async fn pull(
    State(app): State<App>,
    ctx: Ctx,
    Json(req): Json<PullRequest>,
) -> AppResult<Json<PullPage>> {
    check_schema(req.schema_version)?;
    let now = app.now_ms();
    let epoch = sync::epoch(&app.db).await?;
    let reset = req.epoch.as_deref() != Some(epoch.as_str());
    let cursor = if reset { 0 } else { req.cursor };
    let limit = req
        .limit
        .unwrap_or(PULL_LIMIT_DEFAULT)
        .clamp(1, PULL_LIMIT_MAX);
    let (records, more) = store::changes(&app.db, ctx.scope(), cursor, limit).await?;
    let next = records.last().map_or(cursor, |r| r.seq);
    let mut conn = app.db.pool.acquire().await?;
    let last_processed = match store::client(&mut conn, &req.client_id).await? {
        Some((owner, last)) if owner == ctx.user.id => last,
        _ => 0,
    };
    Ok(Json(PullPage {
        epoch,
        reset,
        records,
        cursor: next,
        more,
        last_processed,
        server_time_ms: now,
    }))
}

async fn push(State(app): State<App>, ctx: Ctx, req: Request) -> AppResult<Json<PushResponse>> {
    let req: PushRequest = large_json(req, app.settings.max_import_bytes).await?;
    check_schema(req.schema_version)?;
    if req.mutations.len() > PUSH_MAX_MUTATIONS {
        return Err(AppError::validation(vec![FieldError::new(
            "mutations",
            ErrorCode::TooLong,
        )]));
    }
    if req.mutations.iter().any(|m| m.client_id != req.client_id) {
        return Err(AppError::validation(vec![FieldError::new(
            "client_id",
            ErrorCode::BadRequest,
        )]));
    }
    let mut results = Vec::with_capacity(req.mutations.len());
    let mut last = 0;
    // An empty push still answers the client's number and registers it.
    let batches: Vec<&[Mutation]> = if req.mutations.is_empty() {
        vec![&[]]
    } else {
        req.mutations.chunks(BATCH).collect()
    };
    for batch in batches {
        // The fast way writes without savepoints; if a write still fails
        // (a constraint the checks did not foresee, such as a concurrent
        // online write on PostgreSQL), the batch is rolled back and applied
        // again the careful way, one savepoint per mutation.
        let applied = match apply_batch(&app, &ctx, req.client_id, batch, false).await? {
            Some(applied) => applied,
            None => {
                tracing::warn!(
                    client = %req.client_id,
                    "a sync write failed the fast way; applying the batch carefully"
                );
                apply_batch(&app, &ctx, req.client_id, batch, true)
                    .await?
                    .ok_or_else(|| AppError::Internal(anyhow::anyhow!("careful apply gave up")))?
            }
        };
        last = applied.0;
        results.extend(applied.1);
    }
    Ok(Json(PushResponse {
        epoch: sync::epoch(&app.db).await?,
        last_processed: last,
        results,
        server_time_ms: app.now_ms(),
    }))
}

/// Applies one batch in its own transaction and returns the client's last
/// processed number and the outcomes, or `None` when a write failed in the
/// fast way (`careful == false`) and the batch must be applied carefully.
async fn apply_batch(
    app: &App,
    ctx: &Ctx,
    client_id: uuid::Uuid,
    batch: &[Mutation],
    careful: bool,
) -> AppResult<Option<(u64, Vec<PushResult>)>> {
    let now = app.now_ms();
    let mut tx = app.db.begin_write().await?;
    store::lock(tx.conn(), app.db.backend).await?;
    // Read under the lock: two pushes of the same client (a retry while the
    // first is still running) are applied one after the other.
    let mut last = match store::client(tx.conn(), &client_id).await? {
        Some((owner, _)) if owner != ctx.user.id => {
            return Err(AppError::conflict(vec![FieldError::new(
                "client_id",
                ErrorCode::Conflict,
            )]));
        }
        Some((_, last)) => last,
        None => 0,
    };
    let keys: Vec<RecordKey> = batch.iter().map(|m| m.kind.key()).collect();
    let mut state = Batch {
        records: store::load(tx.conn(), app.db.backend, &keys).await?,
        changed: BTreeMap::new(),
        events: Vec::new(),
        careful,
        pending: Pending {
            now,
            ..Pending::default()
        },
    };
    if !careful {
        // One query for the identity keys the whole batch is about to
        // claim, instead of one per device.
        let keys = batch.iter().flat_map(candidate_identity_keys);
        let known = &mut state.pending.known;
        known.prefetch_identities(tx.conn(), keys).await?;
    }
    let mut results = Vec::with_capacity(batch.len());
    for m in batch {
        let Some(outcome) = apply_one(app, ctx, tx.conn(), m, &mut last, &mut state, now).await?
        else {
            // Dropping the transaction rolls the batch back.
            return Ok(None);
        };
        results.push(PushResult {
            mutation_id: m.mutation_id,
            outcome,
        });
    }
    match state.pending.flush(tx.conn(), app.db.backend).await {
        Ok(()) => {}
        Err(e) if rejection_of_db(&e) => return Ok(None),
        Err(e) => return Err(e),
    }
    store::save(tx.conn(), app.db.backend, state.changed).await?;
    store::set_client(tx.conn(), &client_id, &ctx.user.id, last, now).await?;
    let events: Vec<Event<'_>> = state
        .events
        .into_iter()
        .map(|e| Event {
            action: e.action,
            entity_type: e.entity_type,
            entity_id: Some(e.id),
            before: e.before,
            after: e.after,
        })
        .collect();
    if !events.is_empty() {
        audit::append_many(&mut tx, app.db.backend, now, &ctx.actor(), events).await?;
    }
    tx.commit().await?;
    Ok(Some((last, results)))
}

/// The records one batch touches, as loaded and as changed, and the audit
/// entries it writes.
struct Batch {
    records: HashMap<RecordKey, Stored>,
    changed: BTreeMap<RecordKey, Stored>,
    events: Vec<SyncEvent>,
    /// One savepoint per mutation, so a failing write rejects only it.
    careful: bool,
    pending: Pending,
}

impl Batch {
    fn current(&self, key: &RecordKey) -> Stored {
        self.changed
            .get(key)
            .or_else(|| self.records.get(key))
            .cloned()
            .unwrap_or_default()
    }
}

pub(super) struct SyncEvent {
    pub action: &'static str,
    pub entity_type: &'static str,
    pub id: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

fn refused(code: ErrorCode, fields: Vec<FieldError>) -> RejectReason {
    RejectReason::Refused {
        code,
        detail: code.as_str().to_owned(),
        fields,
    }
}

/// Applies one mutation of a push; `Err` only for a database failure that
/// must abort the whole batch (the client then retries it), `Ok(None)` when
/// a write failed in the fast way.
async fn apply_one(
    app: &App,
    ctx: &Ctx,
    conn: &mut AnyConnection,
    m: &Mutation,
    last: &mut u64,
    batch: &mut Batch,
    now: i64,
) -> AppResult<Option<PushOutcome>> {
    let Some(gap) = advance(last, m.mutation_id) else {
        return Ok(Some(PushOutcome::AlreadyProcessed));
    };
    let reject = |reason| Ok(Some(PushOutcome::Rejected { gap, reason }));

    if let Err(reason) = well_formed(m) {
        return reject(reason);
    }
    if newest_timestamp(m) > now.saturating_add(MAX_CLOCK_AHEAD_MS) {
        return reject(refused(ErrorCode::ClockAhead, vec![]));
    }
    let device = |k: EntityKind| {
        matches!(
            k,
            EntityKind::Camera | EntityKind::Recorder | EntityKind::Switch
        )
    };
    let needed = match &m.kind {
        MutationKind::Upsert { entity, .. } if device(entity.kind) => Permission::InventoryWrite,
        MutationKind::Delete { entity, .. } if device(entity.kind) => Permission::InventoryDelete,
        // Runs are started and completed, never deleted: a mistaken run
        // stays on record as in progress.
        MutationKind::Upsert { entity, .. } if entity.kind == EntityKind::ChecklistRun => {
            Permission::ChecklistsRun
        }
        MutationKind::ChecklistAnswer { .. } => Permission::ChecklistsRun,
        // Faults are opened and noted offline; the rest of their life (the
        // workflow, assignment, vendor, closing) is online, in
        // `http::faults`, and nothing of theirs is deleted.
        MutationKind::Upsert { entity, .. }
            if matches!(entity.kind, EntityKind::Fault | EntityKind::FaultEvent) =>
        {
            Permission::FaultsWrite
        }
        // Places are edited online; templates only by the server.
        _ => return reject(refused(ErrorCode::NotSyncable, vec![])),
    };
    if !ctx.user.role.allows(needed) {
        return reject(refused(ErrorCode::Forbidden, vec![]));
    }
    let key = m.kind.key();
    let before = batch.current(&key);
    if before.site_id.is_some_and(|s| !ctx.in_scope(&s)) {
        return reject(refused(
            ErrorCode::NotInScope,
            vec![FieldError::new("site_id", ErrorCode::NotInScope)],
        ));
    }
    if let MutationKind::Upsert { entity, fields } = &m.kind {
        // Of a fault, a client writes only what it opens it with, once.
        let current = before.state.values();
        if let Err(errors) = check_sync_write(entity.kind, current.as_ref(), fields) {
            return reject(refused(ErrorCode::Validation, errors));
        }
    }
    let mut after = before.clone();
    after.state.merge(m.hlc, &m.kind);
    app.sync.observe(&m.hlc, now);

    let w = Writer { app, ctx, now };
    let projection = if batch.careful {
        let mut sp = conn.begin().await?;
        match project_record(&w, &mut sp, key, &before, &after, None).await {
            Ok(p) => {
                sp.commit().await?;
                p
            }
            Err(e) => {
                sp.rollback().await?;
                return match rejection_of(e) {
                    Ok(reason) => reject(reason),
                    Err(e) => Err(e),
                };
            }
        }
    } else {
        match project_record(&w, conn, key, &before, &after, Some(&mut batch.pending)).await {
            Ok(p) => p,
            // A check refused it before anything was written.
            Err(AppError::Api { code, fields, .. }) => return reject(refused(code, fields)),
            Err(e) if rejection_of_db(&e) => return Ok(None),
            Err(e) => return Err(e),
        }
    };
    if let Some(p) = projection {
        // What the inventory now holds (normalised: trimmed text, canonical
        // MAC, …) is written back as a server edit, so the synced record and
        // the inventory row never disagree.
        if let Some(normalised) = &p.after {
            app.sync.observe_record(&after.state, now);
            let hlc = app.sync.tick(now);
            if let Some(write) = write_back(key, &after.state, normalised, hlc) {
                after.state.merge(hlc, &write);
            }
        }
        if p.site_id.is_some() {
            after.site_id = p.site_id;
        }
        if let Some(event) = p.event {
            batch.events.push(event);
        }
    }
    let opened = after
        .state
        .conflicts(key)
        .into_iter()
        .filter(|c| !before.state.conflicts(key).contains(c))
        .collect();
    batch.changed.insert(key, after);
    Ok(Some(PushOutcome::Accepted {
        gap,
        conflicts: opened,
    }))
}

/// The server edit that makes a record hold what its projection wrote
/// (normalised values), or `None` when it already does.
fn write_back(
    key: RecordKey,
    state: &RecordState,
    normalised: &Value,
    hlc: Hlc,
) -> Option<MutationKind> {
    match key {
        RecordKey::Entity(entity) => {
            let fields = upsert_fields(Some(state), &entity_fields(normalised), hlc);
            (!fields.is_empty()).then_some(MutationKind::Upsert { entity, fields })
        }
        RecordKey::Answer { run_id, item_id } => {
            let current = state.fields.get(ANSWER_FIELD)?;
            (current.current.value != *normalised).then(|| MutationKind::ChecklistAnswer {
                run_id,
                item_id,
                value: normalised.clone(),
                supersedes: resolve_field(state, ANSWER_FIELD, Value::Null, hlc).supersedes,
            })
        }
    }
}

/// What every projection of a batch shares.
pub(super) struct Writer<'a> {
    pub app: &'a App,
    pub ctx: &'a Ctx,
    pub now: i64,
}

/// New devices of a batch written the fast way, inserted together in
/// multi-row statements (a day of field work is mostly new devices), with
/// their identity keys so that later mutations of the batch see them.
#[derive(Default)]
struct Pending {
    cameras: Vec<Camera>,
    recorders: Vec<Recorder>,
    switches: Vec<Switch>,
    keys: std::collections::HashSet<String>,
    /// What this batch's transaction already knows about sites and
    /// identity keys.
    known: Known,
    now: i64,
}

impl Pending {
    fn defer<D: Deferrable>(&mut self, d: D) {
        let keys = repo::identity_keys(&d.common().asset);
        self.known.claimed(d.common().id, &keys);
        self.keys.extend(keys.into_iter().map(|(k, _, _)| k));
        D::pending(self).push(d);
    }

    async fn flush(
        &mut self,
        conn: &mut AnyConnection,
        backend: crate::db::Backend,
    ) -> AppResult<()> {
        let now = self.now;
        repo::insert_many(conn, backend, &std::mem::take(&mut self.cameras), now).await?;
        repo::insert_many(conn, backend, &std::mem::take(&mut self.recorders), now).await?;
        repo::insert_many(conn, backend, &std::mem::take(&mut self.switches), now).await?;
        self.keys.clear();
        Ok(())
    }
}

/// A device kind that can wait in [`Pending`].
trait Deferrable: Device {
    fn pending(p: &mut Pending) -> &mut Vec<Self>;
}

impl Deferrable for Camera {
    fn pending(p: &mut Pending) -> &mut Vec<Self> {
        &mut p.cameras
    }
}

impl Deferrable for Recorder {
    fn pending(p: &mut Pending) -> &mut Vec<Self> {
        &mut p.recorders
    }
}

impl Deferrable for Switch {
    fn pending(p: &mut Pending) -> &mut Vec<Self> {
        &mut p.switches
    }
}

/// Projects a merged record onto its table; `pending` (the fast way)
/// defers inserts of new devices.
async fn project_record(
    w: &Writer<'_>,
    conn: &mut AnyConnection,
    key: RecordKey,
    before: &Stored,
    after: &Stored,
    pending: Option<&mut Pending>,
) -> AppResult<Option<Projection>> {
    // Every writer keeps the table row and the sync record together, so
    // the row exists exactly when the record was visible: a new record needs
    // no lookup.
    let row_exists = before.state.values().is_some();
    let entity = match key {
        RecordKey::Entity(entity) => entity,
        RecordKey::Answer { run_id, item_id } => {
            // A run created earlier in this batch may name a device that
            // still waits among the deferred inserts; its answers need the
            // run, which is written at once.
            return project_answer(w, conn, run_id, item_id, after).await;
        }
    };
    match entity.kind {
        EntityKind::Camera => project::<Camera>(w, conn, entity, row_exists, after, pending).await,
        EntityKind::Recorder => {
            project::<Recorder>(w, conn, entity, row_exists, after, pending).await
        }
        EntityKind::Switch => project::<Switch>(w, conn, entity, row_exists, after, pending).await,
        EntityKind::ChecklistRun => {
            // The run's target may be a device created earlier in this
            // batch and still waiting among the deferred inserts.
            if let Some(p) = pending {
                p.flush(conn, w.app.db.backend).await?;
            }
            project_run(w, conn, entity, after).await
        }
        EntityKind::Fault => {
            // The fault may be about a device created earlier in this batch.
            if let Some(p) = pending {
                p.flush(conn, w.app.db.backend).await?;
            }
            project_fault(w, conn, entity, after).await
        }
        EntityKind::FaultEvent => project_fault_event(w, conn, entity, after).await,
        _ => unreachable!("only devices, runs and faults are projected"),
    }
}

/// The identity keys a device upsert will probably claim, computed from
/// the written fields alone. A guess is enough: a key it misses is looked
/// up when the device is checked, a key it adds costs nothing.
fn candidate_identity_keys(m: &Mutation) -> Vec<String> {
    let MutationKind::Upsert { fields, .. } = &m.kind else {
        return Vec::new();
    };
    let text = |name: &str| {
        fields
            .get(name)
            .and_then(|w| w.value.as_str())
            .map(str::trim)
    };
    let mut keys = Vec::new();
    if let Some(ip) = text("ip").and_then(|v| validate::ip(v).ok()) {
        keys.push(format!("ip:{ip}"));
    }
    if let Some(mac) = text("mac").and_then(|v| validate::mac(v).ok()) {
        keys.push(format!("mac:{mac}"));
    }
    if let (Some(make), Some(serial)) = (text("make"), text("serial")) {
        keys.push(format!("serial:{}", validate::serial_key(make, serial)));
    }
    keys
}

/// The newest timestamp anywhere in a mutation.
fn newest_timestamp(m: &Mutation) -> i64 {
    let mut newest = m.hlc.wall_ms;
    if let MutationKind::Upsert { fields, .. } = &m.kind {
        for w in fields.values() {
            newest = newest.max(w.hlc.wall_ms);
        }
    }
    newest
}

/// Turns a failed projection into the reason the app shows, or passes on a
/// failure that is the server's and not the mutation's.
fn rejection_of(e: AppError) -> Result<RejectReason, AppError> {
    match e {
        AppError::Api { code, fields, .. } => Ok(refused(code, fields)),
        e if rejection_of_db(&e) => Ok(refused(ErrorCode::Conflict, vec![])),
        other => Err(other),
    }
}

/// A write refused by a constraint: the mutation's fault, not the server's.
fn rejection_of_db(e: &AppError) -> bool {
    matches!(e, AppError::Db(sqlx::Error::Database(db))
        if db.is_unique_violation() || db.is_foreign_key_violation())
}

/// What projecting a merged record onto its inventory table did.
pub(super) struct Projection {
    pub site_id: Option<uuid::Uuid>,
    /// The entity as written (normalised), `None` when deleted.
    pub after: Option<Value>,
    pub event: Option<SyncEvent>,
}

/// Writes the merged record's visible state to the device table with the
/// rules of a REST write. `Ok(None)`: nothing visible changed.
async fn project<D: Deferrable>(
    w: &Writer<'_>,
    conn: &mut AnyConnection,
    entity: EntityRef,
    row_exists: bool,
    merged: &Stored,
    mut pending: Option<&mut Pending>,
) -> AppResult<Option<Projection>> {
    let (app, ctx, now) = (w.app, w.ctx, w.now);
    if row_exists {
        // The row may still wait among the deferred inserts.
        if let Some(p) = pending.as_deref_mut() {
            p.flush(conn, app.db.backend).await?;
        }
    }
    let existing = match row_exists {
        true => repo::get_in::<D>(conn, &entity.id).await?,
        false => None,
    };
    let existing_json = existing.as_ref().map(to_json).transpose()?;
    let Some(values) = merged.state.values() else {
        let Some(existing) = existing else {
            return Ok(None);
        };
        ctx.require_site(&existing.common().site_id)?;
        repo::delete::<D>(conn, &entity.id).await?;
        if let Some(p) = pending.as_deref_mut() {
            p.known.released(entity.id);
        }
        return Ok(Some(Projection {
            site_id: Some(existing.common().site_id),
            after: None,
            event: Some(SyncEvent {
                action: "sync_delete",
                entity_type: D::KIND.as_str(),
                id: entity.id.to_string(),
                before: existing_json,
                after: None,
            }),
        }));
    };
    let d: D = entity_of(entity.id, &values)?;
    let d = d.normalize().map_err(AppError::validation)?;
    if let Some(e) = &existing {
        ctx.require_site(&e.common().site_id)?;
    }
    let d = d.clone().with_common(Common {
        id: entity.id,
        has_credentials: existing
            .as_ref()
            .is_some_and(|e| e.common().has_credentials),
        updated_at: existing.as_ref().map_or(now, |e| e.common().updated_at),
        ..d.common()
    });
    if let Some(p) = pending.as_deref_mut() {
        // A camera may name a recorder created earlier in this batch.
        if d.recorder_ref()
            .is_some_and(|(r, _)| p.recorders.iter().any(|x| x.id == r))
        {
            p.flush(conn, app.db.backend).await?;
        }
    }
    let mut fresh = Known::default();
    let known = match pending.as_deref_mut() {
        Some(p) => &mut p.known,
        // The careful way may roll a write back, which a cache would not see.
        None => &mut fresh,
    };
    check_references(conn, ctx, &d, known).await?;
    if let Some(p) = pending.as_deref() {
        let taken: Vec<FieldError> = repo::identity_keys(&d.common().asset)
            .into_iter()
            .filter(|(key, _, _)| p.keys.contains(key))
            .map(|(_, field, code)| FieldError::new(field, code))
            .collect();
        if !taken.is_empty() {
            return Err(AppError::conflict(taken));
        }
    }
    let after_json = to_json(&d)?;
    if existing_json.as_ref() == Some(&after_json) {
        return Ok(Some(Projection {
            site_id: Some(d.common().site_id),
            after: Some(after_json),
            event: None,
        }));
    }
    let d = d.clone().with_common(Common {
        updated_at: now,
        ..d.common()
    });
    let c = d.common();
    let action = if existing.is_some() {
        repo::update(conn, &d, now).await?;
        let keys = repo::identity_keys(&c.asset);
        repo::claim_identities(conn, D::KIND, &c.id, &keys).await?;
        if let Some(p) = pending.as_deref_mut() {
            p.known.claimed(c.id, &keys);
        }
        "sync_update"
    } else {
        match pending {
            Some(p) => p.defer(d.clone()),
            None => repo::insert_many(conn, app.db.backend, std::slice::from_ref(&d), now).await?,
        }
        "sync_create"
    };
    let after_json = to_json(&d)?;
    Ok(Some(Projection {
        site_id: Some(c.site_id),
        after: Some(after_json.clone()),
        event: Some(SyncEvent {
            action,
            entity_type: D::KIND.as_str(),
            id: entity.id.to_string(),
            before: existing_json,
            after: Some(after_json),
        }),
    }))
}

/// Reads one row of a place table as its entity's JSON.
type RowToJson = fn(&sqlx::any::AnyRow) -> Result<Value, sqlx::Error>;

/// Gives every inventory row written before sync existed (or by a tool
/// outside the server) its sync record, so that apps see it. Runs at start;
/// a no-op once every row has one.
pub async fn backfill(app: &App) -> anyhow::Result<usize> {
    let mut conn = app.db.pool.acquire().await?;
    let mut found: Vec<(EntityKind, uuid::Uuid, Value)> = Vec::new();
    let places: [(EntityKind, &str, RowToJson); 3] = [
        (
            EntityKind::Site,
            "SELECT id, name, code, address, notes FROM sites",
            |r| json_of(super::sites::site_from(r)?),
        ),
        (
            EntityKind::Building,
            "SELECT id, site_id, name, notes FROM buildings",
            |r| json_of(super::sites::building_from(r)?),
        ),
        (
            EntityKind::Location,
            "SELECT id, building_id, name, floor, notes FROM locations",
            |r| json_of(super::sites::location_from(r)?),
        ),
    ];
    for (kind, select, convert) in places {
        let sql = format!("{select} WHERE id NOT IN (SELECT id FROM sync_records)");
        for row in sqlx::query(&sql).fetch_all(&mut *conn).await? {
            let value = convert(&row)?;
            let id = value["id"]
                .as_str()
                .and_then(|s| uuid::Uuid::parse_str(s).ok());
            found.extend(id.map(|id| (kind, id, value)));
        }
    }
    for c in repo::without_sync_record::<Camera>(&mut conn).await? {
        found.push((EntityKind::Camera, c.id, json_of(&c)?));
    }
    for r in repo::without_sync_record::<Recorder>(&mut conn).await? {
        found.push((EntityKind::Recorder, r.id, json_of(&r)?));
    }
    for s in repo::without_sync_record::<Switch>(&mut conn).await? {
        found.push((EntityKind::Switch, s.id, json_of(&s)?));
    }
    let faults = super::faults::sync_backfill(&mut conn)
        .await
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    drop(conn);
    if found.is_empty() && faults.is_empty() {
        return Ok(0);
    }
    let n = found.len() + faults.len();
    let now = app.now_ms();
    let mut tx = app.db.begin_write().await?;
    let mut writes = Vec::with_capacity(n);
    for (kind, id, value) in found {
        writes.push(sync::ServerWrite {
            entity: EntityRef { kind, id },
            site_id: sync::site_of(tx.conn(), kind, &id, &value).await?,
            after: Some(value),
        });
    }
    writes.extend(faults);
    sync::record_writes(tx.conn(), app.db.backend, &app.sync, now, writes).await?;
    tx.commit().await?;
    Ok(n)
}

fn json_of<T: serde::Serialize>(v: T) -> Result<Value, sqlx::Error> {
    serde_json::to_value(v).map_err(|e| sqlx::Error::Decode(Box::new(e)))
}

/// A merged record's values as its entity type (with its `id`). A field
/// the type does not have is refused: it would be stored and synced forever
/// without ever reaching its table.
pub(super) fn entity_of<T: serde::Serialize + serde::de::DeserializeOwned>(
    id: uuid::Uuid,
    values: &serde_json::Map<String, Value>,
) -> AppResult<T> {
    let mut object = values.clone();
    object.insert("id".into(), Value::String(id.to_string()));
    let t: T = serde_json::from_value(Value::Object(object))
        .map_err(|e| AppError::validation(vec![deserialize_error(&e.to_string())]))?;
    let known = entity_fields(&to_json(&t)?);
    let unknown: Vec<FieldError> = values
        .keys()
        .filter(|k| !known.contains_key(*k))
        .map(|k| FieldError::new(k.clone(), ErrorCode::UnknownField))
        .collect();
    if !unknown.is_empty() {
        return Err(AppError::validation(unknown));
    }
    Ok(t)
}

/// A field error from a serde message: a missing field names itself; a
/// value of the wrong type cannot be traced to its field by serde_json, so
/// it is reported on the record.
fn deserialize_error(message: &str) -> FieldError {
    if let Some(rest) = message.strip_prefix("missing field `") {
        if let Some(field) = rest.split('`').next() {
            return FieldError::new(field, ErrorCode::Required);
        }
    }
    FieldError::new("record", ErrorCode::Validation)
}

fn to_json<T: serde::Serialize>(v: &T) -> AppResult<Value> {
    serde_json::to_value(v).map_err(|e| AppError::Internal(e.into()))
}
