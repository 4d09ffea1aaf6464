//! When and how the replica meets the server.
//!
//! A sync pushes the whole outbox (in batches of at most
//! `PUSH_MAX_MUTATIONS`, oldest first), then pulls pages until the server
//! has no more. It runs when the replica is opened, when the browser says it
//! is back online, shortly after every local change, when the user presses
//! "Sync now", and on a timer: every 30 s while things work, backing off
//! exponentially up to 5 minutes while the server cannot be reached, so a
//! tablet in a basement does not drain its battery retrying.
//!
//! Failures never touch the outbox: no network only marks the app offline,
//! an expired session asks for the password again (then syncs), and an
//! outdated app (HTTP 426) asks the user to reload.

use std::cell::Cell;
use std::collections::{BTreeSet, HashMap};
use std::rc::Rc;

use gozcu_shared::api::SessionInfo;
use gozcu_shared::sync::{
    Hlc, Outbox, PullRequest, PushOutcome, PushRequest, RecordKey, SyncRecord, PULL_LIMIT_MAX,
    PUSH_MAX_MUTATIONS, SCHEMA_VERSION,
};
use gozcu_shared::ErrorCode;
use leptos::prelude::{Set, Update};
use leptos::task::spawn_local;

use super::{now_ms, refresh, set_replica, signals, with_replica, with_replica_mut, Replica};
use crate::api::{self, ApiFailure};
use crate::store::{Clock, OfflineLogin, Rejected, ReplicaMark, Store, StoreError};

const NORMAL_MS: u64 = 30_000;
const FIRST_RETRY_MS: u64 = 5_000;
const MAX_BACKOFF_MS: u64 = 5 * 60_000;
/// A change is pushed this long after it was made, so a burst of edits goes
/// out in one request.
const SOON_MS: u64 = 300;

thread_local! {
    static RUNNING: Cell<bool> = const { Cell::new(false) };
    static AGAIN: Cell<bool> = const { Cell::new(false) };
    /// Bumped by every new schedule and by `stop`, so an older timer that
    /// wakes up does nothing.
    static GENERATION: Cell<u64> = const { Cell::new(0) };
    static FAILURES: Cell<u32> = const { Cell::new(0) };
    static PERSIST_ASKED: Cell<bool> = const { Cell::new(false) };
}

/// Why a sync stopped.
#[derive(Debug)]
enum SyncError {
    Api(ApiFailure),
    Store(StoreError),
    /// The replica was closed (logout) while the sync ran.
    Closed,
}

impl From<ApiFailure> for SyncError {
    fn from(e: ApiFailure) -> SyncError {
        SyncError::Api(e)
    }
}

impl From<StoreError> for SyncError {
    fn from(e: StoreError) -> SyncError {
        SyncError::Store(e)
    }
}

/// Opens the user's database, loads the replica and starts syncing. With
/// `online` the session was just confirmed by the server and is kept for
/// offline starts.
pub async fn start(session: &SessionInfo, online: bool) -> Result<(), StoreError> {
    let user = session.user.id;
    if with_replica(|r| r.user == user).unwrap_or(false) {
        if online {
            remember_login(session).await;
        }
        sync_now();
        return Ok(());
    }
    stop();
    let store = Rc::new(Store::open(user).await?);
    let loaded = store.load().await?;
    let client_id = match loaded.client_id {
        Some(id) => id,
        None => store.claim_client_id(super::new_id()).await?,
    };
    let clock = loaded.clock.unwrap_or(Clock {
        hlc: Hlc::new(client_id),
        last_mutation_id: 0,
    });
    let last_id = clock
        .last_mutation_id
        .max(loaded.outbox.last().map_or(0, |m| m.mutation_id));
    let mut replica = Replica {
        store: store.clone(),
        user,
        hlc: clock.hlc,
        outbox: Outbox::restore(client_id, last_id, loaded.outbox),
        mark: loaded.replica,
        base: HashMap::with_capacity(loaded.records.len()),
        shown: HashMap::new(),
        rejections: loaded.rejections,
    };
    for r in loaded.records {
        if let Some(server) = r.server {
            replica.base.insert(server.key, server);
        }
    }
    replica.rebuild_shown();
    if let Some(sig) = signals() {
        sig.status.update(|s| s.last_sync_ms = loaded.last_sync_ms);
    }
    set_replica(Some(replica));
    crate::sync::login::remember_user(user);
    if online {
        remember_login(session).await;
    }
    if !PERSIST_ASKED.with(|p| p.replace(true)) {
        crate::store::ask_persistence();
    }
    sync_now();
    Ok(())
}

async fn remember_login(session: &SessionInfo) {
    let Some(store) = with_replica(|r| r.store.clone()) else {
        return;
    };
    let login = OfflineLogin {
        session: session.clone(),
        last_contact_ms: now_ms(),
    };
    let _ = store.set_login(&login).await;
}

/// Closes the replica (logout). Nothing is deleted.
pub fn stop() {
    GENERATION.with(|g| g.set(g.get() + 1));
    set_replica(None);
}

/// Syncs as soon as the current sync (if any) is done.
pub fn sync_now() {
    spawn_local(run());
}

/// Syncs shortly.
pub fn soon() {
    schedule(SOON_MS);
}

fn schedule(ms: u64) {
    let generation = GENERATION.with(|g| {
        g.set(g.get() + 1);
        g.get()
    });
    spawn_local(async move {
        gloo_timers::future::sleep(std::time::Duration::from_millis(ms)).await;
        if GENERATION.with(Cell::get) == generation {
            run().await;
        }
    });
}

async fn run() {
    if with_replica(|_| ()).is_none() {
        return;
    }
    if RUNNING.with(|r| r.replace(true)) {
        AGAIN.with(|a| a.set(true));
        return;
    }
    let sig = signals();
    if let Some(s) = sig {
        s.status.update(|s| s.running = true);
    }
    let mut outcome;
    loop {
        AGAIN.with(|a| a.set(false));
        outcome = cycle().await;
        if outcome.is_err() || !AGAIN.with(Cell::get) {
            break;
        }
    }
    RUNNING.with(|r| r.set(false));
    let Some(sig) = sig else { return };
    let next = match outcome {
        Ok(()) => {
            FAILURES.with(|f| f.set(0));
            let now = now_ms();
            sig.status.update(|s| {
                s.running = false;
                s.online = true;
                s.outdated = false;
                s.failure = None;
                s.last_sync_ms = Some(now);
            });
            if let Some(store) = with_replica(|r| r.store.clone()) {
                let _ = store.set_last_sync(now).await;
                if let Some(s) = super::login::current() {
                    remember_login(&s).await;
                }
            }
            Some(NORMAL_MS)
        }
        Err(SyncError::Closed) => None,
        Err(SyncError::Api(ApiFailure::Network(_))) => {
            sig.status.update(|s| {
                s.running = false;
                s.online = false;
            });
            let n = FAILURES.with(|f| {
                f.set(f.get().saturating_add(1));
                f.get()
            });
            Some(
                FIRST_RETRY_MS
                    .saturating_mul(1 << (n - 1).min(10))
                    .min(MAX_BACKOFF_MS),
            )
        }
        Err(SyncError::Api(e)) => {
            let code = e.code();
            sig.status.update(|s| {
                s.running = false;
                s.online = true;
                s.outdated = code == Some(ErrorCode::ClientOutdated);
                s.failure = Some(e.clone());
            });
            if code == Some(ErrorCode::Unauthenticated) {
                // The password prompt resumes syncing once answered.
                sig.reauth.set(true);
                None
            } else {
                Some(MAX_BACKOFF_MS)
            }
        }
        Err(SyncError::Store(e)) => {
            sig.status.update(|s| {
                s.running = false;
                s.failure = Some(ApiFailure::Network(e.0.clone()));
            });
            Some(MAX_BACKOFF_MS)
        }
    };
    if let Some(ms) = next {
        schedule(ms);
    }
}

async fn cycle() -> Result<(), SyncError> {
    push_all().await?;
    let reset = pull_all().await?;
    if reset && with_replica(|r| !r.outbox.is_empty()).unwrap_or(false) {
        // A restored server forgot what it had from us: send it again.
        push_all().await?;
        pull_all().await?;
    }
    Ok(())
}

async fn push_all() -> Result<(), SyncError> {
    loop {
        // Another tab of the same user may have recorded changes: the push
        // carries every stored one, in number order, so none is skipped
        // when the server advances past a number.
        let store = with_replica(|r| r.store.clone()).ok_or(SyncError::Closed)?;
        let (stored, clock) = store.outbox().await?;
        with_replica_mut(|r| r.catch_up(clock, stored)).ok_or(SyncError::Closed)?;
        let Some(req) = with_replica(|r| {
            (!r.outbox.is_empty()).then(|| PushRequest {
                schema_version: SCHEMA_VERSION,
                client_id: r.client_id(),
                mutations: r
                    .outbox
                    .pending()
                    .take(PUSH_MAX_MUTATIONS)
                    .cloned()
                    .collect(),
            })
        })
        .ok_or(SyncError::Closed)?
        else {
            return Ok(());
        };
        let last_sent = req.mutations.last().map_or(0, |m| m.mutation_id);
        let resp = api::sync::push(&req).await?;
        let now = now_ms();
        let (store, rejected, records, clock) = with_replica_mut(|r| {
            if r.client_id() != req.client_id {
                return None;
            }
            r.hlc.seed_from_server(resp.server_time_ms, now);
            let mut rejected = Vec::new();
            let mut keys = BTreeSet::new();
            for (m, res) in req.mutations.iter().zip(&resp.results) {
                debug_assert_eq!(m.mutation_id, res.mutation_id);
                let key = m.kind.key();
                keys.insert(key);
                match &res.outcome {
                    PushOutcome::Accepted { .. } => {
                        // The server merged it with the same rules; until the
                        // next pull brings its state, merge it here too so
                        // the screen does not flicker back.
                        let rec = r.base.entry(key).or_insert_with(|| SyncRecord {
                            key,
                            site_id: None,
                            seq: 0,
                            state: Default::default(),
                        });
                        rec.state.merge(m.hlc, &m.kind);
                    }
                    PushOutcome::Rejected { reason, .. } => rejected.push(Rejected {
                        mutation: m.clone(),
                        reason: reason.clone(),
                        name: r.name_of(&key),
                        at_ms: now,
                    }),
                    PushOutcome::AlreadyProcessed => {}
                }
            }
            r.outbox.acknowledge(resp.last_processed);
            r.rejections.extend(rejected.iter().cloned());
            r.rebuild_shown();
            let records: Vec<_> = keys.into_iter().map(|k| (k, r.stored(&k))).collect();
            Some((r.store.clone(), rejected, records, r.clock()))
        })
        .flatten()
        .ok_or(SyncError::Closed)?;
        store
            .acknowledge(resp.last_processed, &rejected, &records, &clock)
            .await?;
        refresh();
        if resp.last_processed < last_sent {
            // The server did not get through the batch; try again later
            // rather than resend the same batch in a loop.
            return Ok(());
        }
    }
}

/// Pulls every page; returns whether the server reset the replica.
async fn pull_all() -> Result<bool, SyncError> {
    let mut reset_any = false;
    loop {
        let req = with_replica(|r| PullRequest {
            schema_version: SCHEMA_VERSION,
            client_id: r.client_id(),
            epoch: r.mark.epoch.clone(),
            cursor: r.mark.cursor,
            limit: Some(PULL_LIMIT_MAX),
        })
        .ok_or(SyncError::Closed)?;
        let resp = api::sync::pull(&req).await?;
        let now = now_ms();
        let (store, records, mark, clock) = with_replica_mut(|r| {
            if r.client_id() != req.client_id {
                return None;
            }
            if resp.reset {
                r.base.clear();
            }
            let mut keys: Vec<RecordKey> = Vec::with_capacity(resp.records.len());
            for rec in resp.records.iter() {
                keys.push(rec.key);
                r.base.insert(rec.key, rec.clone());
            }
            r.mark = ReplicaMark {
                epoch: Some(resp.epoch.clone()),
                cursor: resp.cursor,
            };
            r.hlc.seed_from_server(resp.server_time_ms, now);
            r.rebuild_shown();
            if resp.reset {
                // The cleared store must keep the records only made here.
                keys.extend(r.shown.keys().copied());
            } else {
                keys.extend(r.shown.keys().copied().filter(|k| !r.base.contains_key(k)));
            }
            let records: Vec<_> = keys.into_iter().map(|k| (k, r.stored(&k))).collect();
            Some((r.store.clone(), records, r.mark.clone(), r.clock()))
        })
        .flatten()
        .ok_or(SyncError::Closed)?;
        store
            .apply_pull(resp.reset, &records, &mark, &clock)
            .await?;
        reset_any |= resp.reset;
        refresh();
        if !resp.more {
            return Ok(reset_any);
        }
    }
}
