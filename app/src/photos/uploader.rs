//! Drains the photo queue with the resumable upload of docs/photos.md.
//!
//! It runs when the session starts ([`start`]), when the browser says it is
//! back online ([`kick`]), shortly after a photo is stored, and on a timer
//! that backs off like the sync engine's (5 s doubling up to 5 minutes)
//! while the server cannot be reached. Photos go oldest first; each one is
//! declared (which also tells where an earlier, interrupted upload of it
//! stands), then sent in chunks of [`CHUNK_BYTES`] at the server's offset.
//! Whenever a chunk fails, the offset is asked again rather than assumed:
//! the server keeps every byte that reached its disk, including those of a
//! chunk cut off half-way.
//!
//! Nothing here ever deletes a photo. Only the server's "complete" takes a
//! photo out of the queue, and its local copy stays; a photo the server
//! refuses stays queued and is tried again on the next run.

use std::cell::Cell;

use gozcu_shared::photos::{PhotoUploadRequest, PhotoUploadStatus, MAX_CHUNK_BYTES};
use leptos::prelude::*;
use leptos::task::spawn_local;
use uuid::Uuid;

use super::store::{PhotoStore, Queued};
use crate::api::{self, ApiFailure};
use crate::store::StoreError;

/// The bytes one request carries. The server takes up to 4 MiB; on a
/// mobile link a smaller chunk loses less when the connection drops and
/// shows progress sooner.
pub const CHUNK_BYTES: u64 = 1024 * 1024;
const _: () = assert!(CHUNK_BYTES <= MAX_CHUNK_BYTES);

const SOON_MS: u64 = 300;
const FIRST_RETRY_MS: u64 = 5_000;
const MAX_BACKOFF_MS: u64 = 5 * 60_000;
/// Chunks in a row that may fail without the offset moving before the run
/// gives up and waits for the timer.
const MAX_STALLS: u32 = 3;

/// What the progress line shows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueProgress {
    /// Photos not yet confirmed by the server.
    pub pending: usize,
    /// Their bytes the server does not have yet.
    pub bytes_left: u64,
    /// Photos the server refused on the last run (kept, tried again later).
    pub refused: usize,
    /// An upload is running.
    pub running: bool,
}

thread_local! {
    static USER: Cell<Option<Uuid>> = const { Cell::new(None) };
    static RUNNING: Cell<bool> = const { Cell::new(false) };
    static AGAIN: Cell<bool> = const { Cell::new(false) };
    /// Bumped by every new schedule and by [`stop`], so an older timer that
    /// wakes up does nothing.
    static GENERATION: Cell<u64> = const { Cell::new(0) };
    static FAILURES: Cell<u32> = const { Cell::new(0) };
    /// Reference-counted rather than owned by a component, so it outlives
    /// any page that shows it.
    static PROGRESS: ArcRwSignal<QueueProgress> = ArcRwSignal::new(QueueProgress::default());
}

/// The queue's state, for a progress display.
pub fn progress() -> ArcRwSignal<QueueProgress> {
    PROGRESS.with(Clone::clone)
}

fn set_progress(f: impl FnOnce(&mut QueueProgress)) {
    PROGRESS.with(|p| p.update(f));
}

/// Starts uploading `user`'s photos (the session started or changed).
pub fn start(user: Uuid) {
    if USER.get() != Some(user) {
        USER.set(Some(user));
        FAILURES.set(0);
        set_progress(|p| *p = QueueProgress::default());
    }
    kick();
}

/// Stops uploading (logout). The queue stays for the user's next login.
pub fn stop() {
    USER.set(None);
    GENERATION.set(GENERATION.get() + 1);
    set_progress(|p| *p = QueueProgress::default());
}

/// Uploads now, e.g. when the browser is back online.
pub fn kick() {
    spawn_local(run());
}

/// A photo of `size` bytes was queued: shown at once, sent shortly.
pub(crate) fn queued(size: u64) {
    set_progress(|p| {
        p.pending += 1;
        p.bytes_left += size;
    });
    schedule(SOON_MS);
}

fn schedule(ms: u64) {
    let generation = GENERATION.get() + 1;
    GENERATION.set(generation);
    spawn_local(async move {
        gloo_timers::future::sleep(std::time::Duration::from_millis(ms)).await;
        if GENERATION.get() == generation {
            run().await;
        }
    });
}

/// Why a run stopped before the queue was empty.
enum Stop {
    Api(ApiFailure),
    Store(StoreError),
    /// The user logged out (or another logged in) during the run.
    Closed,
}

impl From<ApiFailure> for Stop {
    fn from(e: ApiFailure) -> Stop {
        Stop::Api(e)
    }
}

impl From<StoreError> for Stop {
    fn from(e: StoreError) -> Stop {
        Stop::Store(e)
    }
}

async fn run() {
    let Some(user) = USER.get() else { return };
    if RUNNING.replace(true) {
        AGAIN.set(true);
        return;
    }
    set_progress(|p| p.running = true);
    let mut outcome;
    loop {
        AGAIN.set(false);
        outcome = drain(user).await;
        if outcome.is_err() || !AGAIN.get() {
            break;
        }
    }
    RUNNING.set(false);
    set_progress(|p| p.running = false);
    // Another user logged in while this run was busy with the previous
    // one's queue: their own run was refused above, so it starts now.
    if USER.get().is_some_and(|u| u != user) {
        kick();
        return;
    }
    let next = match outcome {
        Ok(0) => {
            FAILURES.set(0);
            None
        }
        // Refused photos are tried again, but not in a tight loop.
        Ok(_) => Some(MAX_BACKOFF_MS),
        Err(Stop::Closed) => None,
        Err(Stop::Api(ApiFailure::Network(e))) => {
            leptos::logging::log!("photo upload paused: {e}");
            let n = FAILURES.get().saturating_add(1);
            FAILURES.set(n);
            Some(
                FIRST_RETRY_MS
                    .saturating_mul(1 << (n - 1).min(10))
                    .min(MAX_BACKOFF_MS),
            )
        }
        // An expired session: the password prompt's new session starts the
        // uploader again.
        Err(Stop::Api(e)) if e.code() == Some(gozcu_shared::ErrorCode::Unauthenticated) => None,
        Err(Stop::Api(e)) => {
            leptos::logging::warn!("photo upload stopped: {e:?}");
            Some(MAX_BACKOFF_MS)
        }
        Err(Stop::Store(e)) => {
            leptos::logging::error!("photo store: {e}");
            Some(MAX_BACKOFF_MS)
        }
    };
    if let Some(ms) = next {
        if USER.get() == Some(user) {
            schedule(ms);
        }
    }
}

/// Uploads every queued photo; returns how many the server refused.
async fn drain(user: Uuid) -> Result<usize, Stop> {
    let store = super::store_for(user).await?;
    let mut refused: Vec<String> = Vec::new();
    loop {
        if USER.get() != Some(user) {
            return Err(Stop::Closed);
        }
        let queue = store.queue().await?;
        let left: u64 = queue.iter().map(|q| q.size).sum();
        set_progress(|p| {
            p.pending = queue.len();
            p.bytes_left = left;
            p.refused = refused.len();
        });
        let Some(next) = queue.into_iter().find(|q| !refused.contains(&q.sha256)) else {
            return Ok(refused.len());
        };
        match upload(&store, &next, left).await? {
            Outcome::Complete => store.uploaded(&next.sha256).await?,
            Outcome::Refused(e) => {
                leptos::logging::warn!("photo {} refused by the server: {e:?}", next.sha256);
                refused.push(next.sha256);
            }
        }
    }
}

enum Outcome {
    Complete,
    /// The server will not take this photo as it is (too large, not an
    /// image it accepts, a hash that keeps failing); it stays queued.
    Refused(ApiFailure),
}

/// Answers that are about this photo, not about the connection or the
/// session: the next photo may still go through.
fn refuses_photo(e: &ApiFailure) -> bool {
    matches!(
        e,
        ApiFailure::Api {
            status: 400 | 413 | 415 | 422,
            ..
        }
    )
}

/// Sends one photo to the end. `queue_bytes` is the size of the whole
/// queue, for the progress line.
async fn upload(store: &PhotoStore, q: &Queued, queue_bytes: u64) -> Result<Outcome, Stop> {
    let Some(photo) = store.get(&q.sha256).await? else {
        // A queue entry without its photo cannot be sent; it would block
        // the queue forever. It cannot happen (both are written in one
        // transaction), so it is only dropped, with a trace.
        leptos::logging::error!("queued photo {} is not stored", q.sha256);
        return Ok(Outcome::Complete);
    };
    let declaration = PhotoUploadRequest {
        sha256: q.sha256.clone(),
        size: photo.size,
        content_type: photo.content_type.clone(),
    };
    let declare = async || match api::photos::declare(&declaration).await {
        Ok(s) => Ok(Ok(s)),
        Err(e) if refuses_photo(&e) => Ok(Err(Outcome::Refused(e))),
        Err(e) => Err(Stop::Api(e)),
    };
    let mut status: PhotoUploadStatus = match declare().await? {
        Ok(s) => s,
        Err(refused) => return Ok(refused),
    };
    let mut redeclared = false;
    let mut stalls = 0;
    loop {
        let shown_left = queue_bytes.saturating_sub(status.offset.min(photo.size));
        set_progress(|p| p.bytes_left = shown_left);
        if status.complete {
            return Ok(Outcome::Complete);
        }
        let offset = status.offset.min(photo.size);
        let end = (offset + CHUNK_BYTES).min(photo.size);
        let chunk = photo
            .blob
            .slice_with_f64_and_f64(offset as f64, end as f64)
            .map_err(|e| Stop::Store(StoreError(super::js_text(&e))))?;
        let failure = match api::photos::append(&q.sha256, offset, &chunk).await {
            Ok(s) => {
                status = s;
                stalls = 0;
                continue;
            }
            Err(e) => e,
        };
        match &failure {
            // 404: the server no longer has the declaration (abandoned
            // uploads may be cleared); 422: the bytes it had were wrong and
            // it discarded them. Both start over, once per run.
            ApiFailure::Api {
                status: 404 | 422, ..
            } if !redeclared => {
                redeclared = true;
                status = match declare().await? {
                    Ok(s) => s,
                    Err(refused) => return Ok(refused),
                };
                continue;
            }
            e if refuses_photo(e) => return Ok(Outcome::Refused(failure)),
            // 409 (another offset, or a newer request took over), 408, a
            // cut connection, a proxy's error page: ask where it stands.
            ApiFailure::Network(_)
            | ApiFailure::Api {
                status: 408 | 409, ..
            } => {}
            _ => return Err(Stop::Api(failure)),
        }
        let before = status.offset;
        status = match api::photos::status(&q.sha256).await {
            Ok(Some(s)) if s.size == photo.size => s,
            // Gone, or declared with another size: declare it again.
            Ok(_) => match declare().await? {
                Ok(s) => s,
                Err(refused) => return Ok(refused),
            },
            // No answer to the status either: offline; wait for the timer.
            Err(e) => return Err(Stop::Api(e)),
        };
        if status.offset <= before {
            stalls += 1;
            if stalls >= MAX_STALLS {
                return Err(Stop::Api(failure));
            }
        } else {
            stalls = 0;
        }
    }
}
