//! The wire format of `POST /api/v1/sync/push` and `POST /api/v1/sync/pull`.
//!
//! The protocol follows Replicache's shape. A client pushes its outbox in
//! order; the server answers, per mutation, whether it was accepted, already
//! processed, or rejected (with a reason the app shows), and the client's
//! `last_processed` number, which is what the client drops from its outbox.
//! A client pulls the merged records changed since its cursor, page by page,
//! filtered to the user's site scope and including deleted records
//! (tombstones), and re-seeds its clock from `server_time_ms`.
//!
//! Two numbers guard against mixing incompatible states:
//! - `schema_version`: a client built for an older protocol gets
//!   `client_outdated` (HTTP 426) before anything is applied, and the app
//!   asks the user to reload; its outbox stays untouched.
//! - the server `epoch`: a random id that changes when the database is
//!   restored from a backup (`gozcu sync new-epoch`). A pull with another
//!   epoch answers `reset: true` from the beginning, and the client replaces
//!   its replica and re-pushes whatever its outbox still holds.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{Conflict, Gap, Mutation, RecordKey, RecordState, RejectReason};

/// The version of this wire format. Bump it on any change a deployed client
/// would misread; the server refuses clients on another version.
/// Version 2 added checklist templates, runs and answers; version 3 faults
/// and their timeline entries.
pub const SCHEMA_VERSION: u32 = 3;

/// How far ahead of the server's clock a client timestamp may be. A tablet
/// whose clock runs days ahead would otherwise win every later edit.
pub const MAX_CLOCK_AHEAD_MS: i64 = 60 * 60 * 1000;

/// Records per pull page unless the client asks for fewer.
pub const PULL_LIMIT_DEFAULT: u32 = 1000;
/// The most records one pull page may hold.
pub const PULL_LIMIT_MAX: u32 = 5000;
/// The most mutations one push may carry; the app sends larger outboxes in
/// several pushes.
pub const PUSH_MAX_MUTATIONS: usize = 2000;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PushRequest {
    pub schema_version: u32,
    pub client_id: Uuid,
    /// In outbox order; every mutation's `client_id` equals the request's.
    pub mutations: Vec<Mutation>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PushResponse {
    pub epoch: String,
    /// The last mutation number processed for this client, accepted or
    /// rejected: the client drops everything up to it from its outbox.
    pub last_processed: u64,
    /// One entry per mutation of the request, in order.
    pub results: Vec<PushResult>,
    pub server_time_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PushResult {
    pub mutation_id: u64,
    pub outcome: PushOutcome,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum PushOutcome {
    /// Merged and written to the inventory. `conflicts` are those this
    /// mutation opened (a concurrent edit it overwrote or lost to).
    Accepted {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        gap: Option<Gap>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        conflicts: Vec<Conflict>,
    },
    /// Processed by an earlier push; nothing changed.
    AlreadyProcessed,
    /// Refused; the client's number advanced past it all the same.
    Rejected {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        gap: Option<Gap>,
        reason: RejectReason,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PullRequest {
    pub schema_version: u32,
    pub client_id: Uuid,
    /// The epoch the client's replica belongs to; `None` for a new replica.
    #[serde(default)]
    pub epoch: Option<String>,
    /// The `cursor` of the last page applied; 0 for everything.
    #[serde(default)]
    pub cursor: u64,
    #[serde(default)]
    pub limit: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PullResponse {
    pub epoch: String,
    /// The request's epoch differed (or was missing): this page starts from
    /// the beginning and the client must drop its replica (never its
    /// outbox) before applying it.
    pub reset: bool,
    /// Records changed after the request's cursor, oldest change first.
    pub records: Vec<SyncRecord>,
    /// Where the next pull starts.
    pub cursor: u64,
    /// More changes wait beyond this page.
    pub more: bool,
    /// The last mutation number processed for the pulling client.
    pub last_processed: u64,
    /// The server's clock, to re-seed the client's HLC.
    pub server_time_ms: i64,
}

/// One merged record as the server holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyncRecord {
    pub key: RecordKey,
    /// The site the record belongs to (a site's own id for a site), which is
    /// what scope filtering uses; `None` for checklist answers.
    #[serde(default)]
    pub site_id: Option<Uuid>,
    /// The server's change number of this record's last change.
    pub seq: u64,
    pub state: RecordState,
}
