//! Faults in the replica: reading them and their timelines, opening one and
//! adding notes (offline first, like every change).
//!
//! A fault is a `fault` record and each timeline entry a `fault_event`
//! record of its own (docs/sync.md). The app writes a fault's opening
//! fields once and notes as new records; the server numbers the fault,
//! moves its workflow and writes everything else, which arrives by pull.

use std::cmp::Reverse;

use gozcu_shared::api_fieldwork::{Fault, FaultEvent, FaultEventKind, FaultEventRecord};
use gozcu_shared::faults::{offline_fault, offline_note, DeviceRef, Severity};
use gozcu_shared::sync::{EntityKind, EntityRef, RecordState};
use gozcu_shared::FieldError;
use serde::de::DeserializeOwned;
use serde_json::{json, Value};
use uuid::Uuid;

use super::{for_each_entity, new_id, now_ms, save_entity, ChangeError};

/// A fault as the user sees it, and whether something of it waits in the
/// outbox (for a fault opened offline: all of it, and it has no number yet).
#[derive(Debug, Clone, PartialEq)]
pub struct ShownFault {
    pub fault: Fault,
    pub unsent: bool,
}

/// One timeline entry and whether it waits in the outbox.
#[derive(Debug, Clone, PartialEq)]
pub struct ShownEvent {
    pub event: FaultEvent,
    pub unsent: bool,
}

pub fn fault_entity(id: Uuid) -> EntityRef {
    EntityRef {
        kind: EntityKind::Fault,
        id,
    }
}

fn event_entity(id: Uuid) -> EntityRef {
    EntityRef {
        kind: EntityKind::FaultEvent,
        id,
    }
}

/// A record's values as `T`, with its id put back.
fn read<T: DeserializeOwned>(id: Uuid, state: &RecordState) -> Option<T> {
    let mut values = state.values()?;
    values.insert("id".into(), Value::String(id.to_string()));
    serde_json::from_value(Value::Object(values)).ok()
}

/// Every fault in the replica that `keep` accepts: active ones first (open,
/// assigned, waiting for the vendor), then the newest, as the server lists
/// them.
pub fn faults(mut keep: impl FnMut(&Fault) -> bool) -> Vec<ShownFault> {
    let mut out = Vec::new();
    for_each_entity(EntityKind::Fault, |id, state, unsent| {
        if let Some(fault) = read::<Fault>(id, state) {
            if keep(&fault) {
                out.push(ShownFault { fault, unsent });
            }
        }
    });
    out.sort_by_key(|f| {
        (
            !f.fault.status.is_active(),
            Reverse(f.fault.opened_at),
            Reverse(f.fault.number),
        )
    });
    out
}

/// One fault, if the replica has it.
pub fn fault(id: Uuid) -> Option<ShownFault> {
    super::entity::<Fault>(EntityKind::Fault, id)
        .map(|(fault, unsent)| ShownFault { fault, unsent })
}

/// The timeline of a fault, oldest first (ids break ties: they are v7 and
/// grow with time, as on the server).
pub fn timeline(fault_id: Uuid) -> Vec<ShownEvent> {
    let mut out = Vec::new();
    for_each_entity(EntityKind::FaultEvent, |id, state, unsent| {
        if let Some(r) = read::<FaultEventRecord>(id, state) {
            if r.fault_id == fault_id {
                out.push(ShownEvent {
                    event: r.event,
                    unsent,
                });
            }
        }
    });
    out.sort_by_key(|e| (e.event.at, e.event.id));
    out
}

/// What the "open fault" form gives.
#[derive(Debug, Clone, PartialEq)]
pub struct Opening {
    pub site_id: Uuid,
    pub device: Option<DeviceRef>,
    pub title: String,
    pub description: Option<String>,
    pub severity: Severity,
}

fn opening_record(o: &Opening, opened_at: i64) -> Value {
    json!({
        "site_id": o.site_id,
        "device": o.device,
        "title": o.title,
        "description": o.description,
        "severity": o.severity,
        "opened_at": opened_at,
    })
}

/// The field errors the server would give the opening, checked with the
/// same shared rules; empty when it may be saved.
pub fn check_opening(o: &Opening) -> Vec<FieldError> {
    let record = opening_record(o, 0);
    let values = record.as_object().cloned().unwrap_or_default();
    offline_fault(&values).err().unwrap_or_default()
}

/// Why a fault or note could not be saved.
#[derive(Debug, Clone, PartialEq)]
pub enum SaveError {
    /// The shared rules refuse it; nothing was saved.
    Fields(Vec<FieldError>),
    Change(ChangeError),
}

/// Opens a fault on this device (into the outbox first): returns its id.
pub async fn open(o: &Opening) -> Result<Uuid, SaveError> {
    let record = opening_record(o, now_ms());
    let values = record.as_object().cloned().unwrap_or_default();
    offline_fault(&values).map_err(SaveError::Fields)?;
    let id = new_id();
    save_entity(fault_entity(id), &record)
        .await
        .map_err(SaveError::Change)?;
    Ok(id)
}

/// Adds a note to a fault's timeline (into the outbox first), as a record
/// of its own.
pub async fn add_note(fault_id: Uuid, note: &str) -> Result<(), SaveError> {
    let record = json!({
        "fault_id": fault_id,
        "kind": FaultEventKind::Note,
        "note": note,
        "at": now_ms(),
    });
    let values = record.as_object().cloned().unwrap_or_default();
    offline_note(&values).map_err(SaveError::Fields)?;
    save_entity(event_entity(new_id()), &record)
        .await
        .map_err(SaveError::Change)?;
    Ok(())
}
