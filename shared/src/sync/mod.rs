//! The offline sync core: what the app queues while it has no network, and
//! how the server and every replica merge those changes into the same state.
//!
//! Technicians edit the inventory in basements and shafts for hours without a
//! signal, and two of them may change the same camera before either syncs.
//! The rules that decide the outcome must be identical in the PWA (which
//! shows the merged state offline) and on the server (which is the judge), so
//! they live here, pure: no I/O, no clock reads (`now` is always an argument),
//! no random ids (ids come from the caller), and the module builds for
//! `wasm32-unknown-unknown`.
//!
//! - [`edit`]: from an entity's JSON to field writes and back; conflict
//!   resolution and the `seen` set of a delete.
//! - [`hlc`]: the hybrid logical clock that orders every write, with a string
//!   form that sorts like the timestamps for storage keys.
//! - [`mutation`]: mutations, their kinds (upsert with per-field timestamps,
//!   delete as tombstone, one record per checklist answer) and the per-client
//!   outbox with its monotonic mutation numbers.
//! - [`merge`]: per-field last-writer-wins with conflict records, identity
//!   fields, tombstones; a function of the set of writes, not their order.
//! - [`protocol`]: the push and pull request and response bodies, the
//!   schema version and the limits.
//! - [`server`]: exactly-once application of a push, rejection without
//!   wedging the queue, gap reports.

pub mod edit;
pub mod hlc;
pub mod merge;
pub mod mutation;
pub mod protocol;
pub mod server;

#[cfg(test)]
mod tests;

pub use edit::{delete_seen, entity_fields, resolve_field, upsert_fields, NOT_SYNCED};
pub use hlc::{Hlc, ParseHlcError};
pub use merge::{
    is_identity_field, Conflict, Contender, FieldState, RecordState, Records, Tombstone, Version,
    IDENTITY_FIELDS,
};
pub use mutation::{
    EntityKind, EntityRef, FieldWrite, Mutation, MutationKind, Outbox, RecordKey, ANSWER_FIELD,
};
pub use protocol::{
    PullRequest, PullResponse, PushOutcome, PushRequest, PushResponse, PushResult, SyncRecord,
    MAX_CLOCK_AHEAD_MS, PULL_LIMIT_DEFAULT, PULL_LIMIT_MAX, PUSH_MAX_MUTATIONS, SCHEMA_VERSION,
};
pub use server::{
    advance, apply, apply_with, well_formed, Applied, Gap, RejectReason, Rejection, ServerState,
};
