//! The merge rules: how concurrent writes to the same record become one state.
//!
//! Every field is a last-writer-wins register ordered by HLC, because office
//! staff and technicians edit different fields of the same camera far more
//! often than the same one, and per-field merging keeps both edits. When two
//! people *did* change the same field without seeing each other's work, the
//! later HLC wins but the other value is not thrown away: it stays in the
//! field's `losers` and is reported as a [`Conflict`] for office staff to
//! review. A write that lists a version in its `supersedes` set (the writer
//! saw that value and replaced it on purpose) is an ordinary edit and raises
//! no conflict; that is also how a conflict is resolved.
//!
//! Identity fields (`serial`, `mac`, `ip`) follow the same rule, but their
//! conflicts are flagged `identity`: two competing values there usually mean
//! two physical devices were confused, which the office must look at even
//! though the winner was picked deterministically.
//!
//! Deletes leave a tombstone instead of removing the record, so a delete that
//! arrives late still wins over older edits and an edit that arrives late can
//! still be compared with the delete. Delete against edit is decided by HLC
//! like any other write: a record is deleted while its tombstone is newer than
//! every field, and the losing side is shown — an unseen edit under a newer
//! delete, or a delete overtaken by a later edit.
//!
//! Everything here is a function of the *set* of writes received, never of
//! their order: applying the same mutations in any order, any number of
//! times, gives the same [`RecordState`] and the same conflicts. That is what
//! lets the server and every replica converge, and it is checked by the
//! property tests in `sync::tests`.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{FieldWrite, Hlc, MutationKind, RecordKey, ANSWER_FIELD};

/// Fields where two competing values always need a human: they identify the
/// physical device.
pub const IDENTITY_FIELDS: [&str; 3] = ["serial", "mac", "ip"];

pub fn is_identity_field(field: &str) -> bool {
    IDENTITY_FIELDS.contains(&field)
}

/// One value of a field and when it was written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Version {
    pub value: Value,
    pub hlc: Hlc,
}

impl Version {
    /// The total order of versions: by HLC, and (only for a misbehaving client
    /// that reused a timestamp) by value, so even that case merges the same
    /// way everywhere.
    fn order(&self, other: &Version) -> Ordering {
        self.hlc
            .cmp(&other.hlc)
            .then_with(|| cmp_json(&self.value, &other.value))
    }
}

/// The merged state of one field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldState {
    /// The winning version (highest HLC).
    pub current: Version,
    /// Versions that lost without anyone having replaced them knowingly,
    /// oldest first. Those with a value different from `current` are
    /// conflicts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub losers: Vec<Version>,
    /// Every HLC some write of this field declared it replaced on purpose.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub superseded: BTreeSet<Hlc>,
}

impl FieldState {
    fn new(write: &FieldWrite) -> FieldState {
        FieldState {
            current: Version {
                value: write.value.clone(),
                hlc: write.hlc,
            },
            losers: Vec::new(),
            superseded: write.supersedes.clone(),
        }
    }

    fn merge(&mut self, write: &FieldWrite) {
        self.superseded.extend(write.supersedes.iter().copied());
        let superseded = &self.superseded;
        self.losers.retain(|v| !superseded.contains(&v.hlc));
        let incoming = Version {
            value: write.value.clone(),
            hlc: write.hlc,
        };
        let loser = match incoming.order(&self.current) {
            Ordering::Equal => return,
            Ordering::Greater => std::mem::replace(&mut self.current, incoming),
            Ordering::Less => incoming,
        };
        if self.superseded.contains(&loser.hlc) {
            return;
        }
        if let Err(at) = self.losers.binary_search_by(|v| v.order(&loser)) {
            self.losers.insert(at, loser);
        }
    }

    /// The losers whose value differs from the winner's.
    pub fn conflicting(&self) -> impl Iterator<Item = &Version> {
        self.losers
            .iter()
            .filter(move |v| v.value != self.current.value)
    }
}

/// The newest delete of a record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tombstone {
    pub hlc: Hlc,
    /// Every (field, version) some deleter was looking at: deleting those was
    /// deliberate and raises no conflict.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub seen: BTreeSet<(String, Hlc)>,
}

/// The merged state of one record: its fields and, once deleted, a tombstone.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RecordState {
    #[serde(default)]
    pub fields: BTreeMap<String, FieldState>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tombstone: Option<Tombstone>,
}

impl RecordState {
    /// Merges one mutation (made at `hlc`) into this record. Idempotent and
    /// order-independent; the caller has checked the mutation (see
    /// [`super::apply`]).
    pub fn merge(&mut self, hlc: Hlc, kind: &MutationKind) {
        match kind {
            MutationKind::Upsert { fields, .. } => {
                for (name, write) in fields {
                    self.merge_field(name, write);
                }
            }
            MutationKind::Delete { seen, .. } => {
                let seen = seen.iter().map(|(f, h)| (f.clone(), *h));
                match &mut self.tombstone {
                    Some(t) => {
                        t.hlc = t.hlc.max(hlc);
                        t.seen.extend(seen);
                    }
                    None => {
                        self.tombstone = Some(Tombstone {
                            hlc,
                            seen: seen.collect(),
                        })
                    }
                }
            }
            MutationKind::ChecklistAnswer {
                value, supersedes, ..
            } => {
                let write = FieldWrite {
                    value: value.clone(),
                    hlc,
                    supersedes: supersedes.clone(),
                };
                self.merge_field(ANSWER_FIELD, &write);
            }
        }
    }

    fn merge_field(&mut self, name: &str, write: &FieldWrite) {
        match self.fields.get_mut(name) {
            Some(field) => field.merge(write),
            None => {
                self.fields.insert(name.to_string(), FieldState::new(write));
            }
        }
    }

    /// The newest field write, if any.
    pub fn newest_write(&self) -> Option<&Version> {
        self.fields
            .values()
            .map(|f| &f.current)
            .max_by(|a, b| a.order(b))
    }

    /// Deleted while the tombstone is newer than every field.
    pub fn is_deleted(&self) -> bool {
        match (&self.tombstone, self.newest_write()) {
            (None, _) => false,
            (Some(_), None) => true,
            (Some(t), Some(v)) => t.hlc > v.hlc,
        }
    }

    /// The current value of a field, or `None` if it was never written or the
    /// record is deleted.
    pub fn get(&self, field: &str) -> Option<&Value> {
        if self.is_deleted() {
            return None;
        }
        self.fields.get(field).map(|f| &f.current.value)
    }

    /// Every open conflict of this record, in a deterministic order.
    pub fn conflicts(&self, key: RecordKey) -> Vec<Conflict> {
        let mut out = Vec::new();
        let write = |v: &Version| Contender::Write {
            value: v.value.clone(),
            hlc: v.hlc,
        };
        for (name, field) in &self.fields {
            for loser in field.conflicting() {
                out.push(Conflict {
                    key,
                    field: Some(name.clone()),
                    winner: write(&field.current),
                    loser: write(loser),
                    identity: is_identity_field(name),
                });
            }
        }
        let Some(tomb) = &self.tombstone else {
            return out;
        };
        if self.is_deleted() {
            // Edits the deleters never saw lost to the delete.
            for (name, field) in &self.fields {
                if !tomb.seen.contains(&(name.clone(), field.current.hlc)) {
                    out.push(Conflict {
                        key,
                        field: Some(name.clone()),
                        winner: Contender::Delete { hlc: tomb.hlc },
                        loser: write(&field.current),
                        identity: is_identity_field(name),
                    });
                }
            }
        } else if let Some(newest) = self.newest_write() {
            // A later edit brought the record back; unless a writer replaced
            // the tombstone on purpose, the delete is shown as the loser.
            let revived = self
                .fields
                .values()
                .any(|f| f.superseded.contains(&tomb.hlc));
            if !revived {
                out.push(Conflict {
                    key,
                    field: None,
                    winner: write(newest),
                    loser: Contender::Delete { hlc: tomb.hlc },
                    identity: false,
                });
            }
        }
        out
    }
}

/// One side of a conflict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Contender {
    Write { value: Value, hlc: Hlc },
    Delete { hlc: Hlc },
}

impl Contender {
    pub fn hlc(&self) -> Hlc {
        match self {
            Contender::Write { hlc, .. } | Contender::Delete { hlc } => *hlc,
        }
    }
}

/// A value that lost to a concurrent write and waits for office review.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Conflict {
    pub key: RecordKey,
    /// The field, or `None` when the record's existence is in question (a
    /// delete overtaken by a later edit).
    pub field: Option<String>,
    pub winner: Contender,
    pub loser: Contender,
    /// The field identifies the device (`serial`, `mac`, `ip`).
    pub identity: bool,
}

/// A set of merged records: the server's state or a replica's.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Records {
    pub records: BTreeMap<RecordKey, RecordState>,
}

impl Records {
    /// Merges a mutation; idempotent and order-independent. An upsert
    /// without fields changes nothing (it does not even create the record).
    pub fn merge(&mut self, hlc: Hlc, kind: &MutationKind) {
        if matches!(kind, MutationKind::Upsert { fields, .. } if fields.is_empty()) {
            return;
        }
        self.records.entry(kind.key()).or_default().merge(hlc, kind);
    }

    pub fn get(&self, key: &RecordKey) -> Option<&RecordState> {
        self.records.get(key)
    }

    /// Every open conflict, in a deterministic order.
    pub fn conflicts(&self) -> Vec<Conflict> {
        self.records
            .iter()
            .flat_map(|(k, r)| r.conflicts(*k))
            .collect()
    }
}

/// A total order on JSON values (type, then content; object keys sorted), so
/// the rare tie between two versions with the same HLC breaks the same way on
/// every machine, whatever the map ordering of `serde_json` in the build.
pub fn cmp_json(a: &Value, b: &Value) -> Ordering {
    fn rank(v: &Value) -> u8 {
        match v {
            Value::Null => 0,
            Value::Bool(_) => 1,
            Value::Number(_) => 2,
            Value::String(_) => 3,
            Value::Array(_) => 4,
            Value::Object(_) => 5,
        }
    }
    match (a, b) {
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::Number(x), Value::Number(y)) => {
            let (fx, fy) = (x.as_f64().unwrap_or(0.0), y.as_f64().unwrap_or(0.0));
            fx.total_cmp(&fy)
                .then_with(|| x.to_string().cmp(&y.to_string()))
        }
        (Value::String(x), Value::String(y)) => x.cmp(y),
        (Value::Array(x), Value::Array(y)) => {
            for (p, q) in x.iter().zip(y) {
                let o = cmp_json(p, q);
                if o != Ordering::Equal {
                    return o;
                }
            }
            x.len().cmp(&y.len())
        }
        (Value::Object(x), Value::Object(y)) => {
            let mut xs: Vec<_> = x.iter().collect();
            let mut ys: Vec<_> = y.iter().collect();
            xs.sort_by(|p, q| p.0.cmp(q.0));
            ys.sort_by(|p, q| p.0.cmp(q.0));
            for ((kx, vx), (ky, vy)) in xs.iter().zip(&ys) {
                let o = kx.cmp(ky).then_with(|| cmp_json(vx, vy));
                if o != Ordering::Equal {
                    return o;
                }
            }
            xs.len().cmp(&ys.len())
        }
        _ => rank(a).cmp(&rank(b)),
    }
}
