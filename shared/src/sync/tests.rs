//! Tests of the merge rules and of push application: a table per rule, each
//! case checked in every order of its writes, and property tests that random
//! offline sessions of several replicas converge whatever the network does.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use serde_json::{json, Value};
use uuid::Uuid;

use super::*;
use crate::ErrorCode;

fn node(n: u8) -> Uuid {
    Uuid::from_bytes([n; 16])
}

fn hlc(wall_ms: i64, client: u8) -> Hlc {
    Hlc {
        wall_ms,
        counter: 0,
        node: node(client),
    }
}

fn cam(n: u8) -> EntityRef {
    EntityRef {
        kind: EntityKind::Camera,
        id: node(100 + n),
    }
}

fn mutation(client: u8, wall: i64, kind: MutationKind) -> Mutation {
    Mutation {
        client_id: node(client),
        mutation_id: 1,
        hlc: hlc(wall, client),
        kind,
    }
}

/// (field, value, (wall, client) of the versions it replaces).
type Write<'a> = (&'a str, Value, &'a [(i64, u8)]);

/// An upsert of camera 0.
fn up(client: u8, wall: i64, fields: &[Write]) -> Mutation {
    let fields = fields
        .iter()
        .map(|(name, value, sup)| {
            let supersedes = sup.iter().map(|(w, c)| hlc(*w, *c)).collect();
            (
                name.to_string(),
                FieldWrite {
                    value: value.clone(),
                    hlc: hlc(wall, client),
                    supersedes,
                },
            )
        })
        .collect();
    mutation(
        client,
        wall,
        MutationKind::Upsert {
            entity: cam(0),
            fields,
        },
    )
}

/// A delete of camera 0 that saw the given (field, wall, client) versions.
fn del(client: u8, wall: i64, seen: &[(&str, i64, u8)]) -> Mutation {
    let seen = seen
        .iter()
        .map(|(f, w, c)| (f.to_string(), hlc(*w, *c)))
        .collect();
    mutation(
        client,
        wall,
        MutationKind::Delete {
            entity: cam(0),
            seen,
        },
    )
}

fn ans(client: u8, wall: i64, item: u8, value: Value, sup: &[(i64, u8)]) -> Mutation {
    let supersedes = sup.iter().map(|(w, c)| hlc(*w, *c)).collect();
    let kind = MutationKind::ChecklistAnswer {
        run_id: node(50),
        item_id: node(60 + item),
        value,
        supersedes,
    };
    mutation(client, wall, kind)
}

fn permutations(n: usize) -> Vec<Vec<usize>> {
    if n == 0 {
        return vec![vec![]];
    }
    let mut out = Vec::new();
    for p in permutations(n - 1) {
        for at in 0..=p.len() {
            let mut q = p.clone();
            q.insert(at, n - 1);
            out.push(q);
        }
    }
    out
}

/// A conflict as a short string: `field: winner > loser [id]`.
fn describe(c: &Conflict) -> String {
    let side = |s: &Contender| match s {
        Contender::Write { value, hlc } => format!("{value}@{}", hlc.wall_ms),
        Contender::Delete { hlc } => format!("DEL@{}", hlc.wall_ms),
    };
    let field = c.field.as_deref().unwrap_or("*");
    let id = if c.identity { " [id]" } else { "" };
    format!("{field}: {} > {}{id}", side(&c.winner), side(&c.loser))
}

/// Merges `writes` in every order (and each twice) and checks the outcome is
/// always the same; returns it.
fn merge_all_orders(writes: &[Mutation]) -> Records {
    let mut first: Option<Records> = None;
    for order in permutations(writes.len()) {
        let mut records = Records::default();
        for &i in order.iter().chain(order.iter().rev()) {
            records.merge(writes[i].hlc, &writes[i].kind);
        }
        match &first {
            None => first = Some(records),
            Some(f) => assert_eq!(&records, f, "order {order:?}"),
        }
    }
    first.expect("at least one order")
}

struct Case {
    name: &'static str,
    writes: Vec<Mutation>,
    /// field → expected value (`None`: absent or record deleted).
    expect: &'static [(&'static str, Option<&'static str>)],
    deleted: bool,
    conflicts: &'static [&'static str],
}

#[test]
fn merge_rules_table() {
    let cases = vec![
        Case {
            name: "a knowing edit replaces silently",
            writes: vec![
                up(1, 10, &[("name", json!("A"), &[])]),
                up(2, 20, &[("name", json!("B"), &[(10, 1)])]),
            ],
            expect: &[("name", Some("B"))],
            deleted: false,
            conflicts: &[],
        },
        Case {
            name: "the same client's sequence of edits raises nothing",
            writes: vec![
                up(1, 10, &[("name", json!("A"), &[])]),
                up(1, 11, &[("name", json!("B"), &[(10, 1)])]),
                up(1, 12, &[("name", json!("C"), &[(11, 1)])]),
            ],
            expect: &[("name", Some("C"))],
            deleted: false,
            conflicts: &[],
        },
        Case {
            name: "concurrent edits: later HLC wins, loser kept",
            writes: vec![
                up(1, 10, &[("name", json!("A"), &[])]),
                up(2, 20, &[("name", json!("B"), &[(10, 1)])]),
                up(3, 15, &[("name", json!("C"), &[(10, 1)])]),
            ],
            expect: &[("name", Some("B"))],
            deleted: false,
            conflicts: &["name: \"B\"@20 > \"C\"@15"],
        },
        Case {
            name: "same wall time: the node breaks the tie",
            writes: vec![
                up(1, 10, &[("notes", json!("x"), &[])]),
                up(2, 10, &[("notes", json!("y"), &[])]),
            ],
            expect: &[("notes", Some("y"))],
            deleted: false,
            conflicts: &["notes: \"y\"@10 > \"x\"@10"],
        },
        Case {
            name: "concurrent equal values are no conflict",
            writes: vec![
                up(1, 10, &[("notes", json!("same"), &[])]),
                up(2, 12, &[("notes", json!("same"), &[])]),
            ],
            expect: &[("notes", Some("same"))],
            deleted: false,
            conflicts: &[],
        },
        Case {
            name: "different fields merge without conflict",
            writes: vec![
                up(1, 10, &[("name", json!("N"), &[])]),
                up(2, 11, &[("notes", json!("M"), &[])]),
            ],
            expect: &[("name", Some("N")), ("notes", Some("M"))],
            deleted: false,
            conflicts: &[],
        },
        Case {
            name: "identity fields: ip",
            writes: vec![
                up(1, 10, &[("ip", json!("10.0.0.1"), &[])]),
                up(2, 11, &[("ip", json!("10.0.0.2"), &[])]),
            ],
            expect: &[("ip", Some("10.0.0.2"))],
            deleted: false,
            conflicts: &["ip: \"10.0.0.2\"@11 > \"10.0.0.1\"@10 [id]"],
        },
        Case {
            name: "identity fields: serial and mac in one mutation",
            writes: vec![
                up(
                    1,
                    30,
                    &[("serial", json!("S1"), &[]), ("mac", json!("aa"), &[])],
                ),
                up(
                    2,
                    20,
                    &[("serial", json!("S2"), &[]), ("mac", json!("bb"), &[])],
                ),
            ],
            expect: &[("serial", Some("S1")), ("mac", Some("aa"))],
            deleted: false,
            conflicts: &[
                "mac: \"aa\"@30 > \"bb\"@20 [id]",
                "serial: \"S1\"@30 > \"S2\"@20 [id]",
            ],
        },
        Case {
            name: "three concurrent writes: both losers point at the final winner",
            writes: vec![
                up(1, 10, &[("name", json!("A"), &[])]),
                up(2, 30, &[("name", json!("B"), &[])]),
                up(3, 20, &[("name", json!("C"), &[])]),
            ],
            expect: &[("name", Some("B"))],
            deleted: false,
            conflicts: &["name: \"B\"@30 > \"A\"@10", "name: \"B\"@30 > \"C\"@20"],
        },
        Case {
            name: "office resolves a conflict by replacing both versions",
            writes: vec![
                up(1, 10, &[("name", json!("A"), &[])]),
                up(2, 20, &[("name", json!("B"), &[])]),
                up(3, 40, &[("name", json!("A"), &[(10, 1), (20, 2)])]),
            ],
            expect: &[("name", Some("A"))],
            deleted: false,
            conflicts: &[],
        },
        Case {
            name: "delete of everything seen: deleted, no conflict",
            writes: vec![
                up(1, 10, &[("name", json!("A"), &[])]),
                del(2, 20, &[("name", 10, 1)]),
            ],
            expect: &[("name", None)],
            deleted: true,
            conflicts: &[],
        },
        Case {
            name: "later delete over an unseen edit: deleted, edit shown",
            writes: vec![
                up(1, 10, &[("name", json!("A"), &[])]),
                up(3, 15, &[("name", json!("B"), &[(10, 1)])]),
                del(2, 20, &[("name", 10, 1)]),
            ],
            expect: &[("name", None)],
            deleted: true,
            conflicts: &["name: DEL@20 > \"B\"@15"],
        },
        Case {
            name: "later edit over a delete: alive, delete shown",
            writes: vec![
                up(1, 10, &[("name", json!("A"), &[])]),
                del(2, 20, &[("name", 10, 1)]),
                up(3, 30, &[("notes", json!("still here"), &[])]),
            ],
            expect: &[("name", Some("A")), ("notes", Some("still here"))],
            deleted: false,
            conflicts: &["*: \"still here\"@30 > DEL@20"],
        },
        Case {
            name: "an edit that knowingly replaces the tombstone restores silently",
            writes: vec![
                up(1, 10, &[("name", json!("A"), &[])]),
                del(2, 20, &[("name", 10, 1)]),
                up(3, 30, &[("name", json!("A2"), &[(10, 1), (20, 2)])]),
            ],
            expect: &[("name", Some("A2"))],
            deleted: false,
            conflicts: &[],
        },
        Case {
            name: "two deletes: the newest tombstone counts, seen sets add up",
            writes: vec![
                up(1, 10, &[("name", json!("A"), &[])]),
                del(2, 20, &[]),
                del(3, 25, &[("name", 10, 1)]),
            ],
            expect: &[("name", None)],
            deleted: true,
            conflicts: &[],
        },
        Case {
            name: "a misbehaving client reusing an HLC still merges deterministically",
            writes: vec![
                up(1, 10, &[("name", json!("A"), &[])]),
                up(1, 10, &[("name", json!("B"), &[])]),
            ],
            expect: &[("name", Some("B"))],
            deleted: false,
            conflicts: &["name: \"B\"@10 > \"A\"@10"],
        },
    ];
    for case in cases {
        let records = merge_all_orders(&case.writes);
        let state = records.get(&RecordKey::Entity(cam(0))).expect(case.name);
        assert_eq!(state.is_deleted(), case.deleted, "{}", case.name);
        for (field, want) in case.expect {
            let got = state
                .get(field)
                .map(|v| v.as_str().expect("string").to_string());
            assert_eq!(got.as_deref(), *want, "{}: {field}", case.name);
        }
        let got: Vec<String> = records.conflicts().iter().map(describe).collect();
        assert_eq!(got, case.conflicts, "{}", case.name);
    }
}

#[test]
fn checklist_answers_are_one_record_each() {
    let writes = vec![
        ans(1, 10, 0, json!("ok"), &[]),
        ans(2, 12, 0, json!("faulty"), &[]),
        ans(2, 13, 1, json!(true), &[]),
        ans(1, 14, 1, json!(false), &[(13, 2)]),
    ];
    let records = merge_all_orders(&writes);
    assert_eq!(records.records.len(), 2);
    let item = |i: u8| RecordKey::Answer {
        run_id: node(50),
        item_id: node(60 + i),
    };
    assert_eq!(
        records.get(&item(0)).unwrap().get(ANSWER_FIELD),
        Some(&json!("faulty"))
    );
    assert_eq!(
        records.get(&item(1)).unwrap().get(ANSWER_FIELD),
        Some(&json!(false))
    );
    let conflicts: Vec<String> = records.conflicts().iter().map(describe).collect();
    assert_eq!(conflicts, ["value: \"faulty\"@12 > \"ok\"@10"]);
    assert_eq!(records.conflicts()[0].key, item(0));
}

#[test]
fn merged_state_and_conflicts_round_trip_through_json() {
    let writes = vec![
        up(1, 10, &[("ip", json!("10.0.0.1"), &[])]),
        up(2, 20, &[("ip", json!("10.0.0.2"), &[])]),
        del(3, 30, &[("ip", 20, 2)]),
        ans(1, 40, 0, json!({"ok": true}), &[]),
    ];
    let records = merge_all_orders(&writes);
    for (key, state) in &records.records {
        let json = serde_json::to_string(state).unwrap();
        assert_eq!(
            &serde_json::from_str::<RecordState>(&json).unwrap(),
            state,
            "{json}"
        );
        let json = serde_json::to_string(key).unwrap();
        assert_eq!(
            &serde_json::from_str::<RecordKey>(&json).unwrap(),
            key,
            "{json}"
        );
    }
    let conflicts = records.conflicts();
    // The competing ip values, and nothing for the delete (its author saw the winner).
    assert_eq!(conflicts.len(), 1, "{conflicts:?}");
    let json = serde_json::to_string(&conflicts).unwrap();
    assert_eq!(
        serde_json::from_str::<Vec<Conflict>>(&json).unwrap(),
        conflicts
    );
}

#[test]
fn json_order_is_total_and_ignores_object_key_order() {
    let ordered = [
        json!(null),
        json!(false),
        json!(true),
        json!(-1),
        json!(2.5),
        json!(3),
        json!(""),
        json!("a"),
        json!([]),
        json!([1]),
        json!([1, 2]),
        json!({}),
        json!({"a": 1}),
        json!({"a": 1, "b": 2}),
    ];
    for (i, a) in ordered.iter().enumerate() {
        for (j, b) in ordered.iter().enumerate() {
            assert_eq!(merge::cmp_json(a, b), i.cmp(&j), "{a} vs {b}");
        }
    }
    let x: Value = serde_json::from_str(r#"{"b": 2, "a": 1}"#).unwrap();
    assert_eq!(
        merge::cmp_json(&x, &json!({"a": 1, "b": 2})),
        std::cmp::Ordering::Equal
    );
}

fn numbered(mut m: Mutation, id: u64) -> Mutation {
    m.mutation_id = id;
    m
}

#[test]
fn push_is_exactly_once_reports_gaps_and_never_wedges() {
    let good = |id, wall| numbered(up(1, wall, &[("name", json!(format!("v{id}")), &[])]), id);
    let bad = |id, wall| numbered(up(1, wall, &[]), id);
    // (mutation, expected outcome)
    let steps = [
        (good(1, 10), "accepted"),
        (good(1, 10), "already"), // retried push
        (good(2, 11), "accepted"),
        (bad(3, 12), "rejected"),  // bad mutation …
        (good(4, 13), "accepted"), // … does not block the next one
        (bad(3, 12), "already"),   // and its replay is a no-op too
        (good(2, 11), "already"),  // an older id changes nothing
        (good(7, 14), "gap 5→7"),  // lost outbox entries: reported, applied
        (bad(9, 15), "rejected gap 8→9"),
        (good(10, 16), "accepted"),
    ];
    let mut state = ServerState::default();
    for (i, (m, want)) in steps.iter().enumerate() {
        let before = state.records.clone();
        let got = match apply(&mut state, m) {
            Ok(Applied::Accepted { gap: None, .. }) => "accepted".to_string(),
            Ok(Applied::Accepted { gap: Some(g), .. }) => {
                format!("gap {}→{}", g.expected, g.received)
            }
            Ok(Applied::AlreadyProcessed { .. }) => "already".to_string(),
            Err(Rejection { gap: None, .. }) => "rejected".to_string(),
            Err(Rejection { gap: Some(g), .. }) => {
                format!("rejected gap {}→{}", g.expected, g.received)
            }
        };
        assert_eq!(&got, want, "step {i}");
        if got != "accepted" && !got.starts_with("gap") {
            assert_eq!(state.records, before, "step {i} changed the state");
        }
        let expected_last = steps[..=i]
            .iter()
            .map(|(m, _)| m.mutation_id)
            .max()
            .unwrap();
        assert_eq!(state.last_processed(node(1)), expected_last, "step {i}");
    }
    let name = state
        .records
        .get(&RecordKey::Entity(cam(0)))
        .unwrap()
        .get("name")
        .cloned();
    assert_eq!(name, Some(json!("v10")));
    assert_eq!(state.last_processed(node(2)), 0);
}

#[test]
fn server_rules_refuse_through_the_check_and_still_advance() {
    let mut state = ServerState::default();
    let m = numbered(up(1, 10, &[("ip", json!("10.0.0.9"), &[])]), 1);
    let refuse = |_: &Mutation, _: Option<&RecordState>| {
        Err(RejectReason::Refused {
            code: ErrorCode::Forbidden,
            detail: "not your site".into(),
            fields: vec![],
        })
    };
    let err = apply_with(&mut state, &m, refuse).unwrap_err();
    assert!(matches!(
        err.reason,
        RejectReason::Refused {
            code: ErrorCode::Forbidden,
            ..
        }
    ));
    assert_eq!(err.mutation_id, 1);
    assert_eq!(state.last_processed(node(1)), 1);
    assert!(state.records.records.is_empty());
    // The check sees the current record.
    apply(
        &mut state,
        &numbered(up(1, 11, &[("ip", json!("10.0.0.1"), &[])]), 2),
    )
    .unwrap();
    let m = numbered(up(1, 12, &[("ip", json!("10.0.0.2"), &[])]), 3);
    let mut saw = None;
    apply_with(&mut state, &m, |_, r| {
        saw = r.and_then(|r| r.get("ip")).cloned();
        Ok(())
    })
    .unwrap();
    assert_eq!(saw, Some(json!("10.0.0.1")));
}

#[test]
fn accepted_reports_the_conflicts_it_opened() {
    let mut state = ServerState::default();
    apply(
        &mut state,
        &numbered(up(1, 10, &[("mac", json!("aa"), &[])]), 1),
    )
    .unwrap();
    let got = apply(
        &mut state,
        &numbered(up(2, 20, &[("mac", json!("bb"), &[])]), 1),
    )
    .unwrap();
    let Applied::Accepted {
        new_conflicts,
        gap: None,
    } = got
    else {
        panic!("{got:?}")
    };
    let described: Vec<String> = new_conflicts.iter().map(describe).collect();
    assert_eq!(described, ["mac: \"bb\"@20 > \"aa\"@10 [id]"]);
}

#[test]
fn malformed_mutations_are_rejected() {
    let mut foreign_field = up(1, 10, &[("name", json!("x"), &[])]);
    if let MutationKind::Upsert { fields, .. } = &mut foreign_field.kind {
        fields.get_mut("name").unwrap().hlc = hlc(10, 2);
    }
    let mut foreign = up(1, 10, &[("name", json!("x"), &[])]);
    foreign.client_id = node(2);
    let cases = [
        (foreign, RejectReason::ForeignTimestamp),
        (foreign_field, RejectReason::ForeignTimestamp),
        (up(1, 10, &[]), RejectReason::EmptyUpsert),
        (
            up(1, 10, &[("", json!(1), &[])]),
            RejectReason::EmptyFieldName,
        ),
        (
            up(1, 10, &[("name", json!(1), &[(10, 1)])]),
            RejectReason::SupersedesFuture,
        ),
        (
            up(1, 10, &[("name", json!(1), &[(11, 0)])]),
            RejectReason::SupersedesFuture,
        ),
        (
            del(1, 10, &[("name", 12, 3)]),
            RejectReason::SupersedesFuture,
        ),
        (del(1, 10, &[("", 2, 3)]), RejectReason::EmptyFieldName),
        (
            ans(1, 10, 0, json!(1), &[(10, 1)]),
            RejectReason::SupersedesFuture,
        ),
    ];
    for (m, want) in cases {
        assert_eq!(well_formed(&m), Err(want.clone()), "{m:?}");
        let mut state = ServerState::default();
        let err = apply(&mut state, &m).unwrap_err();
        assert_eq!(err.reason, want);
        assert!(state.records.records.is_empty());
    }
    for ok in [
        up(1, 10, &[("name", json!(1), &[(9, 7)])]),
        del(1, 10, &[("name", 9, 3)]),
        ans(1, 10, 0, json!(1), &[]),
    ] {
        assert_eq!(well_formed(&ok), Ok(()));
    }
}

// ---------------------------------------------------------------------------
// Property tests: random offline sessions of 2–4 replicas.

const FIELDS: [&str; 4] = ["name", "notes", "ip", "serial"];

#[derive(Debug, Clone)]
enum Op {
    Upsert {
        entity: u8,
        fields: Vec<(u8, u8)>,
    },
    Delete {
        entity: u8,
    },
    Answer {
        item: u8,
        value: u8,
    },
    /// Pull everything the other replicas have made so far.
    Sync,
    /// An upsert without fields, which the server must reject.
    Bad,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        5 => (0..3u8, prop::collection::vec((0..4u8, 0..3u8), 1..3))
            .prop_map(|(entity, fields)| Op::Upsert { entity, fields }),
        1 => (0..3u8).prop_map(|entity| Op::Delete { entity }),
        1 => (0..2u8, 0..3u8).prop_map(|(item, value)| Op::Answer { item, value }),
        2 => Just(Op::Sync),
        1 => Just(Op::Bad),
    ]
}

#[derive(Debug, Clone)]
struct Session {
    replicas: usize,
    skew: Vec<i64>,
    steps: Vec<(usize, Op, i64)>,
}

fn session() -> impl Strategy<Value = Session> {
    (
        2..=4usize,
        prop::collection::vec(0..4i64, 4),
        prop::collection::vec((0..4usize, op(), 0..3i64), 1..40),
    )
        .prop_map(|(replicas, skew, steps)| Session {
            replicas,
            skew,
            steps,
        })
}

/// One push: which client, how many mutations, how far back it re-sends from
/// (a retry after a lost answer), and whether the answer is lost.
type Push = (usize, usize, usize, bool);

fn pushes() -> impl Strategy<Value = Vec<Push>> {
    prop::collection::vec((0..4usize, 0..5usize, 0..3usize, any::<bool>()), 0..40)
}

fn entity(n: u8) -> EntityRef {
    EntityRef {
        kind: if n == 2 {
            EntityKind::Switch
        } else {
            EntityKind::Camera
        },
        id: node(100 + n),
    }
}

/// Runs the offline session: every replica edits its own view, sometimes
/// pulls the others' changes, and records everything in its outbox. Returns
/// each client's mutations in outbox order and each replica's own view.
fn run_session(s: &Session) -> (Vec<Vec<Mutation>>, Vec<Records>) {
    let n = s.replicas;
    let mut clocks: Vec<Hlc> = (0..n).map(|r| Hlc::new(node(r as u8 + 1))).collect();
    let mut outboxes: Vec<Outbox> = (0..n).map(|r| Outbox::new(node(r as u8 + 1))).collect();
    let mut views = vec![Records::default(); n];
    let mut pulled = vec![0usize; n];
    let mut log: Vec<Mutation> = Vec::new();
    let mut time = 1_000i64;
    for (r, op, advance) in &s.steps {
        let r = r % n;
        time += advance;
        let now = time + s.skew[r];
        let view = &views[r];
        let kind = match op {
            Op::Sync => {
                for m in &log[pulled[r]..] {
                    if m.client_id != node(r as u8 + 1) && well_formed(m).is_ok() {
                        views[r].merge(m.hlc, &m.kind);
                        clocks[r].recv(&m.hlc, now);
                    }
                }
                pulled[r] = log.len();
                continue;
            }
            Op::Upsert { entity: e, fields } => {
                let at = clocks[r].tick(now);
                let record = view.get(&RecordKey::Entity(entity(*e)));
                let fields = fields
                    .iter()
                    .map(|(f, v)| {
                        let name = FIELDS[*f as usize];
                        let supersedes = record
                            .and_then(|rec| rec.fields.get(name))
                            .map(|fs| BTreeSet::from([fs.current.hlc]))
                            .unwrap_or_default();
                        (
                            name.to_string(),
                            FieldWrite {
                                value: json!(format!("v{v}")),
                                hlc: at,
                                supersedes,
                            },
                        )
                    })
                    .collect();
                MutationKind::Upsert {
                    entity: entity(*e),
                    fields,
                }
            }
            Op::Delete { entity: e } => {
                clocks[r].tick(now);
                let seen = view
                    .get(&RecordKey::Entity(entity(*e)))
                    .map(|rec| {
                        rec.fields
                            .iter()
                            .map(|(f, fs)| (f.clone(), fs.current.hlc))
                            .collect()
                    })
                    .unwrap_or_default();
                MutationKind::Delete {
                    entity: entity(*e),
                    seen,
                }
            }
            Op::Answer { item, value } => {
                clocks[r].tick(now);
                let key = RecordKey::Answer {
                    run_id: node(50),
                    item_id: node(60 + item),
                };
                let supersedes = view
                    .get(&key)
                    .and_then(|rec| rec.fields.get(ANSWER_FIELD))
                    .map(|fs| BTreeSet::from([fs.current.hlc]))
                    .unwrap_or_default();
                MutationKind::ChecklistAnswer {
                    run_id: node(50),
                    item_id: node(60 + item),
                    value: json!(*value),
                    supersedes,
                }
            }
            Op::Bad => {
                clocks[r].tick(now);
                MutationKind::Upsert {
                    entity: entity(0),
                    fields: BTreeMap::new(),
                }
            }
        };
        let m = outboxes[r].record(clocks[r], kind).clone();
        views[r].merge(m.hlc, &m.kind);
        log.push(m);
    }
    let clients = outboxes
        .iter()
        .map(|o| o.pending().cloned().collect())
        .collect();
    (clients, views)
}

/// Delivers the clients' mutations to a fresh server following `schedule`
/// (interleaved, partial, repeated pushes), then a final complete push from
/// every client. Checks each answer and returns the server.
fn deliver(clients: &[Vec<Mutation>], schedule: &[Push]) -> ServerState {
    let mut server = ServerState::default();
    let mut acked = vec![0usize; clients.len()];
    let all = schedule
        .iter()
        .map(|&(c, len, back, lost)| (c % clients.len(), len, back, lost))
        .chain((0..clients.len()).map(|c| (c, usize::MAX, 0, false)));
    for (c, len, back, lost) in all {
        let list = &clients[c];
        let start = acked[c].saturating_sub(back);
        let end = start.saturating_add(len).min(list.len());
        for m in &list[start..end] {
            let answer = apply(&mut server, m);
            let new = m.mutation_id > acked[c] as u64
                && server.last_processed(m.client_id) == m.mutation_id;
            match (&answer, well_formed(m)) {
                (Ok(Applied::AlreadyProcessed { .. }), _) => {}
                (Ok(Applied::Accepted { gap, .. }), Ok(())) => assert_eq!(*gap, None),
                (Err(rej), Err(reason)) => assert_eq!(rej.reason, reason),
                other => panic!("unexpected answer {other:?} for {m:?}"),
            }
            assert!(new || matches!(answer, Ok(Applied::AlreadyProcessed { .. })));
        }
        if !lost {
            acked[c] =
                server.last_processed(list.first().map_or(Uuid::nil(), |m| m.client_id)) as usize;
        }
    }
    for list in clients {
        if let Some(last) = list.last() {
            assert_eq!(
                server.last_processed(last.client_id),
                last.mutation_id,
                "queue wedged"
            );
        }
    }
    server
}

fn shuffled<T: Clone>(items: &[T], swaps: &[usize], dups: &[usize]) -> Vec<T> {
    let mut out: Vec<T> = items.to_vec();
    if out.is_empty() {
        return out;
    }
    for &d in dups {
        out.push(items[d % items.len()].clone());
    }
    for i in (1..out.len()).rev() {
        let j = swaps[i % swaps.len()] % (i + 1);
        out.swap(i, j);
    }
    out
}

/// Every accepted write is still visible: as the current value, as the loser
/// of a conflict, or replaced by someone who saw it.
fn assert_nothing_lost(records: &Records, accepted: &[&Mutation]) {
    let conflicts = records.conflicts();
    let in_conflict = |key: RecordKey, field: &str, at: Hlc| {
        conflicts
            .iter()
            .any(|c| c.key == key && c.field.as_deref() == Some(field) && c.loser.hlc() == at)
    };
    for m in accepted {
        let key = m.kind.key();
        let rec = records.get(&key).expect("record of an accepted mutation");
        let writes: Vec<(&str, &Value, Hlc)> = match &m.kind {
            MutationKind::Upsert { fields, .. } => fields
                .iter()
                .map(|(f, w)| (f.as_str(), &w.value, w.hlc))
                .collect(),
            MutationKind::ChecklistAnswer { value, .. } => vec![(ANSWER_FIELD, value, m.hlc)],
            MutationKind::Delete { .. } => {
                let tomb = rec.tombstone.as_ref().expect("tombstone kept");
                assert!(tomb.hlc >= m.hlc);
                if !rec.is_deleted() {
                    let revived = rec
                        .fields
                        .values()
                        .any(|f| f.superseded.contains(&tomb.hlc));
                    let shown = conflicts.iter().any(|c| c.key == key && c.field.is_none());
                    assert!(revived || shown, "overtaken delete not shown: {m:?}");
                }
                continue;
            }
        };
        for (field, value, at) in writes {
            let fs = &rec.fields[field];
            let current = fs.current.hlc == at;
            let same_value = &fs.current.value == value;
            let replaced = fs.superseded.contains(&at);
            assert!(
                current || same_value || replaced || in_conflict(key, field, at),
                "lost {field}@{at} of {m:?}"
            );
            if current && rec.is_deleted() {
                let seen = rec
                    .tombstone
                    .as_ref()
                    .unwrap()
                    .seen
                    .contains(&(field.to_string(), at));
                assert!(
                    seen || in_conflict(key, field, at),
                    "deleted unseen {field}@{at}"
                );
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Any interleaving, partial delivery and repetition of pushes leads the
    /// server to the same state, which every replica also reaches by merging
    /// the accepted mutations in any order, with duplicates; nothing accepted
    /// is lost.
    #[test]
    fn replicas_and_server_converge(
        s in session(),
        a in pushes(),
        b in pushes(),
        swaps in prop::collection::vec(0..1000usize, 1..64),
        dups in prop::collection::vec(0..1000usize, 0..20),
    ) {
        let (clients, views) = run_session(&s);
        let server_a = deliver(&clients, &a);
        let server_b = deliver(&clients, &b);
        prop_assert_eq!(&server_a.records, &server_b.records);
        prop_assert_eq!(server_a.records.conflicts(), server_b.records.conflicts());

        let accepted: Vec<&Mutation> = clients.iter().flatten().filter(|m| well_formed(m).is_ok()).collect();
        let mut replica = Records::default();
        for m in shuffled(&accepted, &swaps, &dups) {
            replica.merge(m.hlc, &m.kind);
        }
        prop_assert_eq!(&replica, &server_a.records);
        // Each replica, starting from its own offline view, reaches the same
        // state once it has pulled everything.
        for (i, mut view) in views.into_iter().enumerate() {
            let swaps: Vec<usize> = swaps.iter().map(|x| x + 7 * i).collect();
            for m in shuffled(&accepted, &swaps, &dups) {
                view.merge(m.hlc, &m.kind);
            }
            prop_assert_eq!(&view, &server_a.records);
        }
        assert_nothing_lost(&server_a.records, &accepted);
    }

    /// The clock never goes backwards and its string form sorts like it.
    #[test]
    fn hlc_is_monotonic_and_its_string_sorts(events in prop::collection::vec((any::<bool>(), -5..5i64, 0..3u32, 0..3u8), 1..50)) {
        let mut clock = Hlc::new(node(1));
        let mut last: Option<Hlc> = None;
        let mut now = 0i64;
        for (receive, delta, counter, other) in events {
            now += delta;
            let t = if receive {
                clock.recv(&Hlc { wall_ms: now + delta, counter, node: node(other) }, now)
            } else {
                clock.tick(now)
            };
            if let Some(prev) = last {
                prop_assert!(t > prev);
                prop_assert!(t.to_string() > prev.to_string());
            }
            prop_assert_eq!(t.to_string().parse::<Hlc>().unwrap(), t);
            last = Some(t);
        }
    }
}
