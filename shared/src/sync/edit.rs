//! Between entities and merged records: what an edit form or a REST write
//! turns into, and what a merged record shows as.
//!
//! An entity (a camera, a site, …) travels as its ordinary JSON form, the
//! same one the REST API uses, split into one field per top-level key. The
//! server and the app both go through these functions, so a camera edited in
//! a form offline and one edited through `PUT /api/v1/cameras/{id}` produce
//! the same field writes.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use super::{FieldWrite, Hlc, RecordState};

/// Keys of an entity's JSON form that are not synced: the id is the record's
/// key, and the rest is set by the server alone.
pub const NOT_SYNCED: [&str; 4] = ["id", "has_credentials", "updated_at", "created_at"];

/// The synced fields of an entity's JSON form. Anything but an object has no
/// fields.
pub fn entity_fields(value: &Value) -> BTreeMap<String, Value> {
    match value {
        Value::Object(map) => map
            .iter()
            .filter(|(k, _)| !NOT_SYNCED.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        _ => BTreeMap::new(),
    }
}

/// The field writes that turn `state` (`None` for a new record) into
/// `values`: every field whose value differs, stamped `hlc`, replacing the
/// version the editor was looking at. Editing a deleted record brings it back
/// on purpose, so the tombstone is superseded too.
pub fn upsert_fields(
    state: Option<&RecordState>,
    values: &BTreeMap<String, Value>,
    hlc: Hlc,
) -> BTreeMap<String, FieldWrite> {
    let deleted = state
        .filter(|s| s.is_deleted())
        .and_then(|s| s.tombstone.as_ref());
    values
        .iter()
        .filter_map(|(name, value)| {
            let seen = state.and_then(|s| s.fields.get(name));
            if deleted.is_none() && seen.is_some_and(|f| &f.current.value == value) {
                return None;
            }
            let mut supersedes = BTreeSet::new();
            supersedes.extend(seen.map(|f| f.current.hlc).filter(|h| *h < hlc));
            supersedes.extend(deleted.map(|t| t.hlc).filter(|h| *h < hlc));
            Some((
                name.clone(),
                FieldWrite {
                    value: value.clone(),
                    hlc,
                    supersedes,
                },
            ))
        })
        .collect()
}

/// The write that settles every conflict of `field` on `value`: it replaces
/// the winner, every loser and (when there is one) the tombstone, so none of
/// them is shown again.
pub fn resolve_field(state: &RecordState, field: &str, value: Value, hlc: Hlc) -> FieldWrite {
    let mut supersedes = BTreeSet::new();
    if let Some(f) = state.fields.get(field) {
        supersedes.insert(f.current.hlc);
        supersedes.extend(f.losers.iter().map(|v| v.hlc));
    }
    if let Some(t) = &state.tombstone {
        supersedes.insert(t.hlc);
    }
    supersedes.retain(|h| *h < hlc);
    FieldWrite {
        value,
        hlc,
        supersedes,
    }
}

/// The `seen` map of a delete: every field version the deleter was looking
/// at, so that only edits they never saw are shown as lost to the delete.
pub fn delete_seen(state: &RecordState) -> BTreeMap<String, Hlc> {
    state
        .fields
        .iter()
        .map(|(name, f)| (name.clone(), f.current.hlc))
        .collect()
}

impl RecordState {
    /// The record as its entity's JSON object (without `id`), or `None` when
    /// it is deleted or has no fields.
    pub fn values(&self) -> Option<Map<String, Value>> {
        if self.is_deleted() || self.fields.is_empty() {
            return None;
        }
        Some(
            self.fields
                .iter()
                .map(|(k, f)| (k.clone(), f.current.value.clone()))
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use uuid::Uuid;

    use super::*;
    use crate::sync::{EntityKind, EntityRef, MutationKind, RecordKey};

    fn node(n: u8) -> Uuid {
        Uuid::from_bytes([n; 16])
    }

    fn camera() -> EntityRef {
        EntityRef {
            kind: EntityKind::Camera,
            id: node(9),
        }
    }

    fn upsert(state: &mut RecordState, values: Value, hlc: Hlc) -> BTreeMap<String, FieldWrite> {
        let fields = upsert_fields(Some(state), &entity_fields(&values), hlc);
        state.merge(
            hlc,
            &MutationKind::Upsert {
                entity: camera(),
                fields: fields.clone(),
            },
        );
        fields
    }

    #[test]
    fn entity_fields_drop_server_keys() {
        let v =
            json!({"id": "x", "name": "A", "updated_at": 5, "has_credentials": true, "ip": null});
        let f = entity_fields(&v);
        assert_eq!(f.keys().collect::<Vec<_>>(), vec!["ip", "name"]);
        assert!(entity_fields(&json!([1, 2])).is_empty());
    }

    #[test]
    fn an_edit_writes_only_changed_fields_and_supersedes_what_it_saw() {
        let mut s = RecordState::default();
        let first = upsert(
            &mut s,
            json!({"name": "A", "ip": "10.0.0.1"}),
            Hlc::at(10, node(1)),
        );
        assert_eq!(first.len(), 2);
        assert!(first.values().all(|w| w.supersedes.is_empty()));
        let second = upsert(
            &mut s,
            json!({"name": "B", "ip": "10.0.0.1"}),
            Hlc::at(20, node(2)),
        );
        assert_eq!(second.keys().collect::<Vec<_>>(), vec!["name"]);
        assert_eq!(
            second["name"].supersedes,
            BTreeSet::from([Hlc::at(10, node(1))])
        );
        assert!(s.conflicts(RecordKey::Entity(camera())).is_empty());
        assert_eq!(s.values().unwrap()["name"], json!("B"));
    }

    #[test]
    fn resolving_a_conflict_clears_it() {
        let mut s = RecordState::default();
        upsert(&mut s, json!({"ip": "10.0.0.1"}), Hlc::at(10, node(1)));
        // Two writers who both saw version 10 change the IP.
        let base = s.clone();
        for (n, ip) in [(2, "10.0.0.2"), (3, "10.0.0.3")] {
            let f = upsert_fields(
                Some(&base),
                &entity_fields(&json!({"ip": ip})),
                Hlc::at(20, node(n)),
            );
            s.merge(
                Hlc::at(20, node(n)),
                &MutationKind::Upsert {
                    entity: camera(),
                    fields: f,
                },
            );
        }
        let key = RecordKey::Entity(camera());
        assert_eq!(s.conflicts(key).len(), 1);
        assert!(s.conflicts(key)[0].identity);
        let hlc = Hlc::at(30, node(4));
        let w = resolve_field(&s, "ip", json!("10.0.0.2"), hlc);
        let mut fields = BTreeMap::new();
        fields.insert("ip".to_string(), w);
        s.merge(
            hlc,
            &MutationKind::Upsert {
                entity: camera(),
                fields,
            },
        );
        assert!(s.conflicts(key).is_empty());
        assert_eq!(s.values().unwrap()["ip"], json!("10.0.0.2"));
    }

    #[test]
    fn a_seen_delete_is_quiet_and_editing_a_deleted_record_revives_it() {
        let mut s = RecordState::default();
        upsert(&mut s, json!({"name": "A"}), Hlc::at(10, node(1)));
        let del = Hlc::at(20, node(2));
        s.merge(
            del,
            &MutationKind::Delete {
                entity: camera(),
                seen: delete_seen(&s),
            },
        );
        let key = RecordKey::Entity(camera());
        assert!(s.values().is_none());
        assert!(s.conflicts(key).is_empty());
        // Re-entering the same value after seeing the delete brings it back
        // on purpose: no "delete lost" conflict.
        let f = upsert(&mut s, json!({"name": "A"}), Hlc::at(30, node(1)));
        assert_eq!(
            f["name"].supersedes,
            BTreeSet::from([Hlc::at(10, node(1)), del])
        );
        assert_eq!(s.values().unwrap()["name"], json!("A"));
        assert!(s.conflicts(key).is_empty());
    }
}
