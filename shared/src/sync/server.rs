//! The server's side of a push: exactly-once, in-order application of each
//! client's mutations.
//!
//! The server remembers, per client, the last `mutation_id` it processed.
//! A mutation at or below that number was handled before (a retried push after
//! a lost answer), so it changes nothing. A mutation that fails a rule is
//! rejected with a reason the app can show, but the client's number still
//! advances: the app drops it from its outbox, and one bad mutation can never
//! block the ones queued behind it. A number that skips ahead (the client lost
//! part of its outbox) is reported as a [`Gap`] but the mutation is still
//! applied, because refusing it would wedge the client forever.
//!
//! Rules that need the database (permissions, site scope, uniqueness) are
//! passed in as a check closure to [`apply_with`], so the bookkeeping above is
//! the same for every rule and stays testable without a database.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{Conflict, Mutation, MutationKind, RecordState, Records};
use crate::ErrorCode;

/// The server's merged records and, per client, the last processed mutation.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ServerState {
    pub records: Records,
    pub last_processed: BTreeMap<Uuid, u64>,
}

impl ServerState {
    /// The last mutation id processed for `client` (0: none yet), which is
    /// what a push answer tells the client to acknowledge.
    pub fn last_processed(&self, client: Uuid) -> u64 {
        self.last_processed.get(&client).copied().unwrap_or(0)
    }
}

/// Mutation numbers skipped between the last processed one and this one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Gap {
    /// The number the server expected (last processed + 1).
    pub expected: u64,
    /// The number it received instead.
    pub received: u64,
}

/// A mutation that was not rejected.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Applied {
    /// Merged into the state.
    Accepted {
        gap: Option<Gap>,
        /// Conflicts of the record that this mutation opened.
        new_conflicts: Vec<Conflict>,
    },
    /// Already processed earlier (a replay): nothing changed.
    AlreadyProcessed { last_processed: u64 },
}

/// A mutation that was refused; the client's last processed id advanced
/// past it all the same.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rejection {
    pub mutation_id: u64,
    pub gap: Option<Gap>,
    pub reason: RejectReason,
}

/// Why a mutation was refused.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RejectReason {
    /// A timestamp in the mutation belongs to another client.
    #[error("a timestamp in the mutation was issued by another client")]
    ForeignTimestamp,
    /// A `supersedes`/`seen` entry is not older than the write it belongs to.
    #[error("the mutation claims to replace a version that is not older than itself")]
    SupersedesFuture,
    /// An upsert without fields.
    #[error("the change has no fields")]
    EmptyUpsert,
    /// A field with an empty name.
    #[error("a field name is empty")]
    EmptyFieldName,
    /// Refused by a server rule (permission, scope, validation, uniqueness);
    /// `fields` says which fields, in the same form as an API error.
    #[error("{code:?}: {detail}")]
    Refused {
        code: ErrorCode,
        detail: String,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        fields: Vec<crate::FieldError>,
    },
}

/// [`apply_with`] without extra server rules.
pub fn apply(state: &mut ServerState, m: &Mutation) -> Result<Applied, Rejection> {
    apply_with(state, m, |_, _| Ok(()))
}

/// Applies one pushed mutation exactly once. `check` sees the mutation and
/// the record's current state and may refuse it; it runs only for mutations
/// that are new and well-formed.
pub fn apply_with<F>(state: &mut ServerState, m: &Mutation, check: F) -> Result<Applied, Rejection>
where
    F: FnOnce(&Mutation, Option<&RecordState>) -> Result<(), RejectReason>,
{
    let mut last = state.last_processed(m.client_id);
    let Some(gap) = advance(&mut last, m.mutation_id) else {
        return Ok(Applied::AlreadyProcessed {
            last_processed: last,
        });
    };
    state.last_processed.insert(m.client_id, last);

    let key = m.kind.key();
    let reject = |reason| Rejection {
        mutation_id: m.mutation_id,
        gap,
        reason,
    };
    well_formed(m).map_err(reject)?;
    check(m, state.records.get(&key)).map_err(reject)?;

    let before = state
        .records
        .get(&key)
        .map(|r| r.conflicts(key))
        .unwrap_or_default();
    state.records.merge(m.hlc, &m.kind);
    let after = state
        .records
        .get(&key)
        .map(|r| r.conflicts(key))
        .unwrap_or_default();
    let new_conflicts = after.into_iter().filter(|c| !before.contains(c)).collect();
    Ok(Applied::Accepted { gap, new_conflicts })
}

/// The numbering rule of a push, on its own so the server's database-backed
/// apply uses exactly the same one: `None` when `mutation_id` was processed
/// before (a replay), otherwise advances `last` to it and returns the gap
/// it skipped, if any.
pub fn advance(last: &mut u64, mutation_id: u64) -> Option<Option<Gap>> {
    if mutation_id <= *last {
        return None;
    }
    let gap = (mutation_id > *last + 1).then_some(Gap {
        expected: *last + 1,
        received: mutation_id,
    });
    *last = mutation_id;
    Some(gap)
}

/// The structural rules every mutation must meet, whoever sends it.
pub fn well_formed(m: &Mutation) -> Result<(), RejectReason> {
    if m.hlc.node != m.client_id {
        return Err(RejectReason::ForeignTimestamp);
    }
    match &m.kind {
        MutationKind::Upsert { fields, .. } => {
            if fields.is_empty() {
                return Err(RejectReason::EmptyUpsert);
            }
            for (name, write) in fields {
                if name.is_empty() {
                    return Err(RejectReason::EmptyFieldName);
                }
                if write.hlc.node != m.client_id {
                    return Err(RejectReason::ForeignTimestamp);
                }
                if write.supersedes.iter().any(|h| *h >= write.hlc) {
                    return Err(RejectReason::SupersedesFuture);
                }
            }
        }
        MutationKind::Delete { seen, .. } => {
            if seen.keys().any(String::is_empty) {
                return Err(RejectReason::EmptyFieldName);
            }
            if seen.values().any(|h| *h >= m.hlc) {
                return Err(RejectReason::SupersedesFuture);
            }
        }
        MutationKind::ChecklistAnswer { supersedes, .. } => {
            if supersedes.iter().any(|h| *h >= m.hlc) {
                return Err(RejectReason::SupersedesFuture);
            }
        }
    }
    Ok(())
}
