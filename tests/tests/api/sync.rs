//! The offline sync endpoints, `POST /api/v1/sync/push` and `/pull`, against
//! the contract in `docs/sync.md`: exactly-once pushes, gaps, rejections that
//! never wedge a client's queue, scope, paging, tombstones, REST writes seen
//! by pulls, concurrent edits that converge with a visible conflict, epochs
//! and the request-level errors.
//!
//! A test "device" here does what the PWA does: it stamps changes with its
//! own hybrid logical clock, turns an entity's JSON form into field writes
//! with the shared `upsert_fields`, and numbers its mutations 1, 2, 3, … .
//! Where the records were only ever changed through sync, the state the
//! server hands out must equal what the shared merge code computes from the
//! same mutations on the device: that is what convergence means.

use std::collections::{BTreeMap, BTreeSet};

use gozcu_shared::checklists::builtin_templates;
use gozcu_shared::inventory::Camera;
use gozcu_shared::sync::{
    delete_seen, entity_fields, upsert_fields, Contender, EntityKind, EntityRef, Gap, Hlc,
    Mutation, MutationKind, PullRequest, PullResponse, PushOutcome, PushRequest, RecordKey,
    RecordState, Records, RejectReason, SyncRecord, MAX_CLOCK_AHEAD_MS, PUSH_MAX_MUTATIONS,
    SCHEMA_VERSION,
};
use gozcu_shared::ErrorCode;
use reqwest::StatusCode;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::support::{scalar, Backend, Client, TestApp, START_MS};

both!(
    a_repeated_push_changes_nothing,
    skipped_numbers_are_reported_and_still_applied,
    rejections_do_not_wedge_the_queue,
    pulls_are_limited_to_the_users_sites,
    pages_deliver_every_record_once_and_changes_again,
    deletes_are_pulled_as_tombstones,
    rest_writes_are_pulled,
    concurrent_offline_edits_converge_with_a_conflict,
    a_new_epoch_resets_pulls_and_pushes_go_on,
    whole_requests_are_refused_before_anything_is_applied,
);

// ---- a device, as the PWA is one -------------------------------------------

/// One client replica: its id, its clock and its next mutation number.
pub(crate) struct Device {
    id: Uuid,
    clock: Hlc,
    next: u64,
}

impl Device {
    pub(crate) fn new() -> Device {
        let id = Uuid::now_v7();
        Device {
            id,
            clock: Hlc::new(id),
            next: 1,
        }
    }

    /// A mutation with the next number, stamped at the device's wall time
    /// `now` (the clock never goes backwards, whatever `now` says).
    pub(crate) fn mutation(
        &mut self,
        now: i64,
        kind: impl FnOnce(Hlc) -> MutationKind,
    ) -> Mutation {
        let hlc = self.clock.tick(now);
        let m = Mutation {
            client_id: self.id,
            mutation_id: self.next,
            hlc,
            kind: kind(hlc),
        };
        self.next += 1;
        m
    }

    /// Creates or edits `entity` so that it shows `values` (its JSON form),
    /// starting from `base`, the state the user was looking at.
    pub(crate) fn upsert(
        &mut self,
        now: i64,
        entity: EntityRef,
        base: Option<&RecordState>,
        values: Value,
    ) -> Mutation {
        self.mutation(now, |hlc| MutationKind::Upsert {
            entity,
            fields: upsert_fields(base, &entity_fields(&values), hlc),
        })
    }

    fn delete(&mut self, now: i64, entity: EntityRef, base: &RecordState) -> Mutation {
        self.mutation(now, |_| MutationKind::Delete {
            entity,
            seen: delete_seen(base),
        })
    }

    pub(crate) fn push(&self, mutations: &[&Mutation]) -> PushRequest {
        PushRequest {
            schema_version: SCHEMA_VERSION,
            client_id: self.id,
            mutations: mutations.iter().map(|m| (*m).clone()).collect(),
        }
    }

    pub(crate) fn pull(&self, epoch: Option<&str>, cursor: u64, limit: Option<u32>) -> PullRequest {
        PullRequest {
            schema_version: SCHEMA_VERSION,
            client_id: self.id,
            epoch: epoch.map(str::to_owned),
            cursor,
            limit,
        }
    }

    /// Pulls from the beginning until `more` is false; the pages in order.
    pub(crate) async fn pull_all(&self, client: &Client, limit: Option<u32>) -> Vec<PullResponse> {
        let mut pages: Vec<PullResponse> = Vec::new();
        loop {
            let (epoch, cursor) = match pages.last() {
                Some(p) => (Some(p.epoch.as_str()), p.cursor),
                None => (None, 0),
            };
            let page = client.pull_ok(&self.pull(epoch, cursor, limit)).await;
            let more = page.more;
            pages.push(page);
            assert!(pages.len() < 1000, "pull never ends");
            if !more {
                return pages;
            }
        }
    }
}

pub(crate) fn camera(id: Uuid) -> EntityRef {
    EntityRef {
        kind: EntityKind::Camera,
        id,
    }
}

fn camera_key(id: Uuid) -> RecordKey {
    RecordKey::Entity(camera(id))
}

fn key(kind: EntityKind, id: &str) -> RecordKey {
    RecordKey::Entity(EntityRef {
        kind,
        id: id.parse().unwrap(),
    })
}

/// A new camera's whole JSON form, as the app's form sends it: every field
/// of `Camera` with its default, then the site, name and make, then
/// `extra`. A complete, already normalised form is what lets the server
/// keep exactly the device's writes (it writes back only what its
/// normalisation changed), so states can be compared with the shared merge.
fn camera_form(site: &str, name: &str, extra: Value) -> Value {
    let mut v = serde_json::to_value(Camera::default()).unwrap();
    let o = v.as_object_mut().unwrap();
    o.extend(
        json!({"site_id": site, "name": name, "make": "Axis"})
            .as_object()
            .cloned()
            .unwrap(),
    );
    o.extend(extra.as_object().cloned().unwrap_or_default());
    v
}

/// Every record of every page, applied in order as a replica applies them:
/// a later copy of a record replaces the earlier one.
fn replica(pages: &[PullResponse]) -> Records {
    let mut r = Records::default();
    for p in pages {
        if p.reset {
            r.records.clear();
        }
        for rec in &p.records {
            r.records.insert(rec.key, rec.state.clone());
        }
    }
    r
}

/// The states the shared merge code computes from `mutations`.
fn merged(mutations: &[&Mutation]) -> Records {
    let mut r = Records::default();
    for m in mutations {
        r.merge(m.hlc, &m.kind);
    }
    r
}

/// Checks that the server's state of every record the mutations touched is
/// exactly what the shared merge computes from them: the server and every
/// replica converge.
fn assert_converged(pulled: &Records, mutations: &[&Mutation]) {
    let local = merged(mutations);
    for (k, state) in &local.records {
        assert_eq!(
            pulled.get(k),
            Some(state),
            "the server's state of {k:?} differs from the shared merge of the same mutations"
        );
    }
}

fn record<'a>(records: &'a Records, k: &RecordKey) -> &'a RecordState {
    records
        .get(k)
        .unwrap_or_else(|| panic!("{k:?} was not pulled"))
}

/// The code and the (field, code) pairs of a refused mutation.
fn refusal(outcome: &PushOutcome) -> (ErrorCode, Vec<(String, ErrorCode)>) {
    match outcome {
        PushOutcome::Rejected {
            reason: RejectReason::Refused { code, fields, .. },
            ..
        } => (
            *code,
            fields.iter().map(|f| (f.field.clone(), f.code)).collect(),
        ),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

pub(crate) fn is_accepted(outcome: &PushOutcome) -> bool {
    matches!(outcome, PushOutcome::Accepted { .. })
}

async fn audit_count(t: &TestApp, action: &str) -> i64 {
    scalar(
        t,
        &format!("SELECT COUNT(*) FROM audit_log WHERE action = '{action}'"),
    )
    .await
}

async fn cameras_total(client: &Client) -> u64 {
    let (s, page) = client.get("/api/v1/cameras?limit=100").await;
    assert_eq!(s, StatusCode::OK, "{page}");
    page["total"].as_u64().unwrap()
}

// ---- the tests -------------------------------------------------------------

/// A push whose answer was lost is sent again by the app; the second time
/// must change nothing at all: no second camera, no second audit entry, the
/// same record state and change number.
async fn a_repeated_push_changes_nothing(backend: Backend) {
    let t = TestApp::spawn(backend).await;
    let admin = t.admin().await;
    let site = admin.create_site("Merkez").await;
    let mut dev = Device::new();
    let cam = Uuid::now_v7();
    let m = dev.upsert(
        START_MS,
        camera(cam),
        None,
        camera_form(&site, "Giriş", json!({"ip": "10.0.0.7", "serial": "SN-7"})),
    );
    let req = dev.push(&[&m]);

    let first = admin.push_ok(&req).await;
    assert_eq!(first.last_processed, 1);
    assert_eq!(first.results.len(), 1);
    assert_eq!(first.results[0].mutation_id, 1);
    assert_eq!(
        first.results[0].outcome,
        PushOutcome::Accepted {
            gap: None,
            conflicts: vec![]
        }
    );
    let before = replica(&dev.pull_all(&admin, None).await);

    let second = admin.push_ok(&req).await;
    assert_eq!(second.last_processed, 1);
    assert_eq!(second.results.len(), 1);
    assert_eq!(second.results[0].outcome, PushOutcome::AlreadyProcessed);
    assert_eq!(second.epoch, first.epoch);

    let pages = dev.pull_all(&admin, None).await;
    let after = replica(&pages);
    assert_eq!(after, before, "the retry changed the pulled state");
    let seqs: Vec<u64> = pages
        .iter()
        .flat_map(|p| &p.records)
        .filter(|r| r.key == camera_key(cam))
        .map(|r| r.seq)
        .collect();
    assert_eq!(seqs.len(), 1, "the camera is pulled once: {seqs:?}");
    assert_eq!(pages.last().unwrap().last_processed, 1);
    assert_converged(&after, &[&m]);

    assert_eq!(cameras_total(&admin).await, 1);
    let (s, got) = admin.get(&format!("/api/v1/cameras/{cam}")).await;
    assert_eq!(s, StatusCode::OK, "{got}");
    assert_eq!(
        (&got["name"], &got["ip"], &got["serial"]),
        (&json!("Giriş"), &json!("10.0.0.7"), &json!("SN-7"))
    );
    assert_eq!(audit_count(&t, "sync_create").await, 1);
    assert_eq!(
        scalar(
            &t,
            &format!(
                "SELECT COUNT(*) FROM audit_log WHERE action = 'sync_create' AND entity_id = '{cam}'"
            )
        )
        .await,
        1,
        "the audit entry names the camera"
    );
    assert_eq!(audit_count(&t, "sync_update").await, 0);
}

/// A client that lost part of its outbox skips numbers; the server reports
/// the gap but applies the mutation, because refusing it would block the
/// client forever. A late mutation from inside the gap counts as processed.
async fn skipped_numbers_are_reported_and_still_applied(backend: Backend) {
    let t = TestApp::spawn(backend).await;
    let admin = t.admin().await;
    let site = admin.create_site("Merkez").await;
    let mut dev = Device::new();
    let ids: Vec<Uuid> = (0..4).map(|_| Uuid::now_v7()).collect();
    let mut ms: Vec<Mutation> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| {
            dev.upsert(
                START_MS,
                camera(*id),
                None,
                camera_form(&site, &format!("K{i}"), json!({})),
            )
        })
        .collect();
    // Numbers 1, 2 and 5: 3 and 4 never arrive in this push.
    ms[2].mutation_id = 5;
    ms[3].mutation_id = 3;
    let answer = admin.push_ok(&dev.push(&[&ms[0], &ms[1], &ms[2]])).await;
    assert_eq!(answer.last_processed, 5);
    let outcomes: Vec<(u64, &PushOutcome)> = answer
        .results
        .iter()
        .map(|r| (r.mutation_id, &r.outcome))
        .collect();
    let accepted = |gap| PushOutcome::Accepted {
        gap,
        conflicts: vec![],
    };
    assert_eq!(
        outcomes,
        vec![
            (1, &accepted(None)),
            (2, &accepted(None)),
            (
                5,
                &accepted(Some(Gap {
                    expected: 3,
                    received: 5
                }))
            ),
        ]
    );
    assert_eq!(cameras_total(&admin).await, 3);

    // Number 3 shows up late: it is below last_processed, so it is treated
    // as already seen and its camera is not created.
    let late = admin.push_ok(&dev.push(&[&ms[3]])).await;
    assert_eq!(late.last_processed, 5);
    assert_eq!(late.results[0].outcome, PushOutcome::AlreadyProcessed);
    assert_eq!(cameras_total(&admin).await, 3);
    let (s, _) = admin.get(&format!("/api/v1/cameras/{}", ids[3])).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(audit_count(&t, "sync_create").await, 3);
}

/// Every rule the REST API enforces refuses a pushed mutation on its own,
/// with the error code and field the REST API would give, and the next
/// mutation in the same push is applied all the same; the client's
/// `last_processed` covers both, so its outbox empties.
async fn rejections_do_not_wedge_the_queue(backend: Backend) {
    let t = TestApp::spawn(backend).await;
    let admin = t.admin().await;
    let a = admin.create_site("A Kampüsü").await;
    let b = admin.create_site("B Kampüsü").await;
    admin
        .create_camera(&a, "Var olan", json!({"serial": "SN-DUP"}))
        .await;

    // Office staff (allowed everything): validation and reference rules.
    let mut dev = Device::new();
    let cams: Vec<Uuid> = (0..12).map(|_| Uuid::now_v7()).collect();
    let bad_ip = dev.upsert(
        START_MS,
        camera(cams[0]),
        None,
        camera_form(&a, "Kötü IP", json!({"ip": "999.1.1.1"})),
    );
    let ok1 = dev.upsert(
        START_MS,
        camera(cams[1]),
        None,
        camera_form(&a, "İyi 1", json!({})),
    );
    let unknown_site = dev.upsert(
        START_MS,
        camera(cams[2]),
        None,
        camera_form(&Uuid::now_v7().to_string(), "Sahasız", json!({})),
    );
    let ok2 = dev.upsert(
        START_MS,
        camera(cams[3]),
        None,
        camera_form(&a, "İyi 2", json!({})),
    );
    let dup_serial = dev.upsert(
        START_MS,
        camera(cams[4]),
        None,
        camera_form(
            &a,
            "Kopya",
            json!({"make": "Hikvision", "serial": "SN-DUP"}),
        ),
    );
    let ok3 = dev.upsert(
        START_MS,
        camera(cams[5]),
        None,
        camera_form(&a, "İyi 3", json!({})),
    );
    // A device clock more than an hour ahead of the server (FakeClock stands
    // at START_MS): it would win every later edit, so it is refused…
    let mut ahead = dev.upsert(
        START_MS,
        camera(cams[6]),
        None,
        camera_form(&a, "Gelecek", json!({})),
    );
    restamp(&mut ahead, START_MS + MAX_CLOCK_AHEAD_MS + 60_000);
    // …while one a little under an hour ahead is still accepted. Both are
    // stamped by hand so that the device's own clock stays at server time
    // for the mutations after them.
    let mut in_bound = dev.upsert(
        START_MS,
        camera(cams[7]),
        None,
        camera_form(&a, "Az ileri", json!({})),
    );
    restamp(&mut in_bound, START_MS + MAX_CLOCK_AHEAD_MS - 60_000);
    let unknown_field = dev.upsert(
        START_MS,
        camera(cams[8]),
        None,
        camera_form(&a, "Renkli", json!({"colour": "red"})),
    );
    let not_syncable = dev.upsert(
        START_MS,
        EntityRef {
            kind: EntityKind::Site,
            id: Uuid::now_v7(),
        },
        None,
        json!({"name": "Çevrimdışı saha"}),
    );
    let ok4 = dev.upsert(
        START_MS,
        camera(cams[9]),
        None,
        camera_form(&a, "İyi 4", json!({})),
    );
    let all = [
        &bad_ip,
        &ok1,
        &unknown_site,
        &ok2,
        &dup_serial,
        &ok3,
        &ahead,
        &in_bound,
        &unknown_field,
        &not_syncable,
        &ok4,
    ];
    let answer = admin.push_ok(&dev.push(&all)).await;
    assert_eq!(answer.last_processed, 11, "every mutation was processed");
    assert_eq!(answer.results.len(), 11);
    let r = |i: usize| &answer.results[i].outcome;
    assert_eq!(
        refusal(r(0)),
        (
            ErrorCode::Validation,
            vec![("ip".into(), ErrorCode::InvalidIp)]
        )
    );
    assert!(is_accepted(r(1)), "{:?}", r(1));
    assert_eq!(
        refusal(r(2)),
        (
            ErrorCode::Validation,
            vec![("site_id".into(), ErrorCode::UnknownSite)]
        )
    );
    assert!(is_accepted(r(3)), "{:?}", r(3));
    assert_eq!(
        refusal(r(4)),
        (
            ErrorCode::Conflict,
            vec![("serial".into(), ErrorCode::DuplicateSerial)]
        )
    );
    assert!(is_accepted(r(5)), "{:?}", r(5));
    assert_eq!(refusal(r(6)).0, ErrorCode::ClockAhead);
    assert!(
        is_accepted(r(7)),
        "59 minutes ahead is within bounds: {:?}",
        r(7)
    );
    let (code, fields) = refusal(r(8));
    assert_eq!(
        (
            code,
            fields.contains(&("colour".into(), ErrorCode::UnknownField))
        ),
        (ErrorCode::Validation, true),
        "{fields:?}"
    );
    assert_eq!(refusal(r(9)).0, ErrorCode::NotSyncable);
    assert!(is_accepted(r(10)), "{:?}", r(10));
    for (i, res) in answer.results.iter().enumerate() {
        assert_eq!(res.mutation_id, i as u64 + 1, "results are in push order");
    }
    for (i, cam) in cams.iter().enumerate().take(10) {
        let (s, _) = admin.get(&format!("/api/v1/cameras/{cam}")).await;
        let want = if [1, 3, 5, 7, 9].contains(&i) {
            StatusCode::OK
        } else {
            StatusCode::NOT_FOUND
        };
        assert_eq!(s, want, "camera {i}");
    }

    // A viewer may not change anything; both mutations are refused and
    // both are processed.
    let viewer = t.user(&admin, "izleyici", "viewer", &[]).await;
    let mut vdev = Device::new();
    let v1 = vdev.upsert(
        START_MS,
        camera(cams[10]),
        None,
        camera_form(&a, "İzleyici", json!({})),
    );
    let v2 = vdev.upsert(
        START_MS,
        camera(cams[10]),
        None,
        camera_form(&a, "İzleyici 2", json!({})),
    );
    let answer = viewer.push_ok(&vdev.push(&[&v1, &v2])).await;
    assert_eq!(answer.last_processed, 2);
    assert_eq!(refusal(&answer.results[0].outcome).0, ErrorCode::Forbidden);
    assert_eq!(refusal(&answer.results[1].outcome).0, ErrorCode::Forbidden);

    // A technician limited to site A may write there, but may neither delete
    // (no inventory_delete) nor touch site B.
    let tech = t.user(&admin, "saha-a", "technician", &[a.as_str()]).await;
    let mut tdev = Device::new();
    let base = replica(&tdev.pull_all(&tech, None).await);
    let doomed = camera_key(cams[1]);
    // The technician works a few milliseconds after the office wrote, as a
    // real clock would have moved on (the FakeClock does not).
    let delete = tdev.delete(START_MS + 10, camera(cams[1]), record(&base, &doomed));
    let ok5 = tdev.upsert(
        START_MS,
        camera(cams[11]),
        None,
        camera_form(&a, "Teknisyen", json!({})),
    );
    let outside = tdev.upsert(
        START_MS,
        camera(Uuid::now_v7()),
        None,
        camera_form(&b, "B'de", json!({})),
    );
    let edit = tdev.upsert(
        START_MS,
        camera(cams[1]),
        Some(record(&base, &doomed)),
        camera_form(&a, "İyi 1 (teknisyen)", json!({})),
    );
    let answer = tech
        .push_ok(&tdev.push(&[&delete, &ok5, &outside, &edit]))
        .await;
    assert_eq!(answer.last_processed, 4);
    assert_eq!(refusal(&answer.results[0].outcome).0, ErrorCode::Forbidden);
    assert!(is_accepted(&answer.results[1].outcome));
    assert_eq!(
        refusal(&answer.results[2].outcome),
        (
            ErrorCode::NotInScope,
            vec![("site_id".into(), ErrorCode::NotInScope)]
        )
    );
    assert!(
        is_accepted(&answer.results[3].outcome),
        "{:?}",
        answer.results[3]
    );
    let (s, kept) = admin.get(&format!("/api/v1/cameras/{}", cams[1])).await;
    assert_eq!(s, StatusCode::OK, "the refused delete left the camera");
    assert_eq!(kept["name"], "İyi 1 (teknisyen)");
    assert_eq!(
        cameras_total(&admin).await,
        1 + 5 + 1,
        "the REST camera, five accepted by the office, one by the technician"
    );
    assert_eq!(audit_count(&t, "sync_create").await, 6);
    assert_eq!(audit_count(&t, "sync_update").await, 1);
    assert_eq!(audit_count(&t, "sync_delete").await, 0);
}

/// Moves a mutation and all its field writes to another wall time, as a
/// device whose clock was set differently would have stamped it.
fn restamp(m: &mut Mutation, wall_ms: i64) {
    m.hlc.wall_ms = wall_ms;
    m.hlc.counter = 0;
    if let MutationKind::Upsert { fields, .. } = &mut m.kind {
        for w in fields.values_mut() {
            w.hlc = m.hlc;
        }
    }
}

/// A technician limited to site A receives site A with its buildings,
/// locations and devices, and nothing of site B, however B's records were
/// written.
async fn pulls_are_limited_to_the_users_sites(backend: Backend) {
    let t = TestApp::spawn(backend).await;
    let admin = t.admin().await;
    // Checklist templates belong to no site: everyone receives them.
    let templates: BTreeSet<RecordKey> = builtin_templates()
        .iter()
        .map(|t| key(EntityKind::ChecklistTemplate, &t.id.to_string()))
        .collect();
    let mut expected_a = templates.clone();
    let mut all = templates.clone();
    let mut sites = Vec::new();
    for name in ["A Kampüsü", "B Kampüsü"] {
        let site = admin.create_site(name).await;
        let (s, building) = admin
            .post(
                "/api/v1/buildings",
                json!({"site_id": site, "name": "Blok"}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{building}");
        let (s, location) = admin
            .post(
                "/api/v1/locations",
                json!({"building_id": building["id"], "name": "Koridor", "floor": "1"}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{location}");
        let cam = admin
            .create_camera(
                &site,
                "Kamera",
                json!({"location_id": location["id"], "ip": format!("10.9.{}.1", sites.len())}),
            )
            .await;
        let keys = [
            key(EntityKind::Site, &site),
            key(EntityKind::Building, building["id"].as_str().unwrap()),
            key(EntityKind::Location, location["id"].as_str().unwrap()),
            key(EntityKind::Camera, cam["id"].as_str().unwrap()),
        ];
        if sites.is_empty() {
            expected_a.extend(keys);
        }
        all.extend(keys);
        sites.push(site);
    }
    // A camera pushed into B through sync is filtered the same way.
    let mut office = Device::new();
    let pushed_b = Uuid::now_v7();
    let m = office.upsert(
        START_MS,
        camera(pushed_b),
        None,
        camera_form(&sites[1], "Senkron B", json!({})),
    );
    let answer = admin.push_ok(&office.push(&[&m])).await;
    assert!(is_accepted(&answer.results[0].outcome), "{answer:?}");
    all.insert(camera_key(pushed_b));

    let admin_pull = replica(&office.pull_all(&admin, None).await);
    let admin_keys: BTreeSet<RecordKey> = admin_pull.records.keys().copied().collect();
    assert_eq!(admin_keys, all, "an admin without limits sees everything");

    let tech = t.user(&admin, "saha-a", "technician", &[&sites[0]]).await;
    let dev = Device::new();
    let pages = dev.pull_all(&tech, None).await;
    let records: Vec<&SyncRecord> = pages.iter().flat_map(|p| &p.records).collect();
    let keys: BTreeSet<RecordKey> = records.iter().map(|r| r.key).collect();
    assert_eq!(keys, expected_a);
    let a: Uuid = sites[0].parse().unwrap();
    for r in records.iter().filter(|r| !templates.contains(&r.key)) {
        assert_eq!(r.site_id, Some(a), "{:?}", r.key);
        assert!(r.state.values().is_some(), "{:?} is alive", r.key);
    }

    // A later change in B is not news for the technician.
    let (s, _) = admin
        .put(
            &format!("/api/v1/sites/{}", sites[1]),
            json!({"name": "B Kampüsü (yeni)"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let last = pages.last().unwrap();
    let again = tech
        .pull_ok(&dev.pull(Some(&last.epoch), last.cursor, None))
        .await;
    assert!(!again.reset);
    assert!(
        again.records.is_empty(),
        "nothing of site B: {:?}",
        again.records
    );
    assert!(!again.more);
}

/// 25 cameras, their site and the templates in pages of 10: increasing
/// cursors, every record exactly once — except the one changed after the
/// first page, which comes again with its new state.
async fn pages_deliver_every_record_once_and_changes_again(backend: Backend) {
    let t = TestApp::spawn(backend).await;
    let admin = t.admin().await;
    let site = admin.create_site("Merkez").await;
    let mut office = Device::new();
    let mut mutations: Vec<Mutation> = (0..25)
        .map(|i| {
            office.upsert(
                START_MS,
                camera(Uuid::now_v7()),
                None,
                camera_form(&site, &format!("K{i:02}"), json!({})),
            )
        })
        .collect();
    let refs: Vec<&Mutation> = mutations.iter().collect();
    let answer = admin.push_ok(&office.push(&refs)).await;
    assert_eq!(answer.last_processed, 25);
    assert!(answer.results.iter().all(|r| is_accepted(&r.outcome)));

    let dev = Device::new();
    let first = admin.pull_ok(&dev.pull(None, 0, Some(10))).await;
    assert!(first.reset, "a new replica starts from the beginning");
    assert_eq!(first.records.len(), 10);
    assert!(first.more);

    // A camera the device already received changes before the next page.
    let changed = first
        .records
        .iter()
        .find(|r| is_camera(&r.key))
        .expect("a camera on the first page")
        .clone();
    let RecordKey::Entity(entity) = changed.key else {
        unreachable!()
    };
    let edit = office.upsert(
        START_MS + 5,
        entity,
        Some(&changed.state),
        json!({"name": "Değişti"}),
    );
    let answer = admin.push_ok(&office.push(&[&edit])).await;
    assert!(is_accepted(&answer.results[0].outcome), "{answer:?}");
    mutations.push(edit);

    let mut pages = vec![first];
    while pages.last().unwrap().more {
        let last = pages.last().unwrap();
        let page = admin
            .pull_ok(&dev.pull(Some(&last.epoch), last.cursor, Some(10)))
            .await;
        assert!(!page.reset, "same epoch, no reset");
        pages.push(page);
        assert!(pages.len() <= 10, "paging does not end");
    }
    let sizes: Vec<usize> = pages.iter().map(|p| p.records.len()).collect();
    // 25 cameras, their site and the built-in checklist templates, plus the
    // changed camera once more.
    let total = 26 + builtin_templates().len() + 1;
    let mut expected = vec![10; total / 10];
    if total % 10 > 0 {
        expected.push(total % 10);
    }
    assert_eq!(sizes, expected, "{total} records with the changed one");
    let mut cursor = 0;
    for p in &pages {
        assert!(p.cursor > cursor, "cursors increase");
        let mut seq = cursor;
        for r in &p.records {
            assert!(
                r.seq > seq && r.seq <= p.cursor,
                "oldest change first, within the page's cursor"
            );
            seq = r.seq;
        }
        cursor = p.cursor;
    }
    let mut seen: BTreeMap<RecordKey, usize> = BTreeMap::new();
    for r in pages.iter().flat_map(|p| &p.records) {
        *seen.entry(r.key).or_default() += 1;
    }
    assert_eq!(seen.len(), total - 1);
    for (k, n) in &seen {
        let want = if *k == changed.key { 2 } else { 1 };
        assert_eq!(*n, want, "{k:?}");
    }
    let again = pages
        .iter()
        .flat_map(|p| &p.records)
        .rfind(|r| r.key == changed.key)
        .unwrap();
    assert!(again.seq > changed.seq);
    assert_eq!(again.state.values().unwrap()["name"], "Değişti");

    // Nothing new: an empty page at the same cursor.
    let last = pages.last().unwrap();
    let empty = admin
        .pull_ok(&dev.pull(Some(&last.epoch), last.cursor, Some(10)))
        .await;
    assert!(empty.records.is_empty() && !empty.more);
    assert_eq!(empty.cursor, last.cursor);

    // The paged replica equals one full pull, and the cameras' states equal
    // the shared merge of the office's mutations.
    let paged = replica(&pages);
    let full = replica(&dev.pull_all(&admin, Some(1000)).await);
    assert_eq!(paged, full);
    let refs: Vec<&Mutation> = mutations.iter().collect();
    assert_converged(&paged, &refs);
}

fn is_camera(k: &RecordKey) -> bool {
    matches!(k, RecordKey::Entity(e) if e.kind == EntityKind::Camera)
}

/// A camera deleted through REST and one deleted through sync both come as
/// tombstoned records, so replicas drop them; neither opens a conflict,
/// because each deleter saw what they deleted.
async fn deletes_are_pulled_as_tombstones(backend: Backend) {
    let t = TestApp::spawn(backend).await;
    let admin = t.admin().await;
    let site = admin.create_site("Merkez").await;
    let by_rest = admin.create_camera(&site, "REST", json!({})).await;
    let by_rest = key(EntityKind::Camera, by_rest["id"].as_str().unwrap());
    let mut dev = Device::new();
    let synced = Uuid::now_v7();
    let create = dev.upsert(
        START_MS,
        camera(synced),
        None,
        camera_form(&site, "Senkron", json!({"ip": "10.0.0.9"})),
    );
    admin.push_ok(&dev.push(&[&create])).await;
    let before = replica(&dev.pull_all(&admin, None).await);
    assert!(record(&before, &by_rest).values().is_some());

    let RecordKey::Entity(rest_entity) = by_rest else {
        unreachable!()
    };
    let (s, b) = admin
        .delete(&format!("/api/v1/cameras/{}", rest_entity.id))
        .await;
    assert!(s.is_success(), "{s} {b}");
    let delete = dev.delete(
        START_MS + 1,
        camera(synced),
        record(&before, &camera_key(synced)),
    );
    let answer = admin.push_ok(&dev.push(&[&delete])).await;
    assert!(is_accepted(&answer.results[0].outcome), "{answer:?}");

    let after = replica(&dev.pull_all(&admin, None).await);
    for k in [by_rest, camera_key(synced)] {
        let state = record(&after, &k);
        assert!(state.tombstone.is_some(), "{k:?} has a tombstone");
        assert!(state.is_deleted());
        assert_eq!(state.values(), None);
        assert_eq!(state.conflicts(k), vec![], "{k:?}");
    }
    assert_converged(&after, &[&create, &delete]);
    for id in [rest_entity.id, synced] {
        let (s, _) = admin.get(&format!("/api/v1/cameras/{id}")).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
    }
    // The IP of the deleted camera is free again.
    admin
        .create_camera(&site, "Yeni", json!({"ip": "10.0.0.9"}))
        .await;
    assert_eq!(audit_count(&t, "sync_delete").await, 1);
}

/// Office staff keep using the REST API and the CSV import; a device must
/// see those changes in its next pull, field for field as `GET` shows them,
/// and a REST edit of a synced camera replaces the synced value without a
/// conflict (the editor saw what they changed).
async fn rest_writes_are_pulled(backend: Backend) {
    let t = TestApp::spawn(backend).await;
    let admin = t.admin().await;
    let site = admin.create_site("Merkez").await;
    let cam = admin
        .create_camera(
            &site,
            "Kapı",
            json!({"serial": "SN-R1", "ip": "10.1.0.1", "mac": "00-11-22-33-44-55", "status": "installed", "tags": ["dış"]}),
        )
        .await;
    let id = cam["id"].as_str().unwrap();
    let (s, updated) = admin
        .put(
            &format!("/api/v1/cameras/{id}"),
            json!({"site_id": site, "name": "Ana kapı", "make": "Hikvision", "serial": "SN-R1", "ip": "10.1.0.2", "mac": "00:11:22:33:44:55", "status": "installed", "tags": ["dış"]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{updated}");
    let (s, report) = admin
        .import(
            "site,name,make,serial\nMerkez,İçe 1,Axis,IMP-1\nMerkez,İçe 2,Axis,IMP-2\n".to_owned(),
            false,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{report}");

    let mut dev = Device::new();
    let pulled = replica(&dev.pull_all(&admin, None).await);
    let (_, shown) = admin.get(&format!("/api/v1/cameras/{id}")).await;
    let values = record(&pulled, &key(EntityKind::Camera, id))
        .values()
        .expect("alive");
    let want: serde_json::Map<String, Value> = entity_fields(&shown).into_iter().collect();
    assert_eq!(
        values, want,
        "the pulled camera equals its REST form minus server-only keys"
    );
    assert_eq!(values["ip"], "10.1.0.2");
    let (_, page) = admin.get("/api/v1/cameras?q=IMP&limit=10").await;
    let imported = page["items"].as_array().unwrap();
    assert_eq!(imported.len(), 2);
    for c in imported {
        let state = record(&pulled, &key(EntityKind::Camera, c["id"].as_str().unwrap()));
        assert_eq!(state.values().unwrap()["serial"], c["serial"]);
    }

    // A synced camera edited through REST.
    let synced = Uuid::now_v7();
    let create = dev.upsert(
        START_MS,
        camera(synced),
        None,
        camera_form(&site, "Senkron", json!({"notes": "ilk"})),
    );
    admin.push_ok(&dev.push(&[&create])).await;
    let (s, b) = admin
        .put(
            &format!("/api/v1/cameras/{synced}"),
            json!({"site_id": site, "name": "Senkron (ofis)", "make": "Axis", "notes": "ilk"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let pulled = replica(&dev.pull_all(&admin, None).await);
    let state = record(&pulled, &camera_key(synced));
    assert_eq!(state.values().unwrap()["name"], "Senkron (ofis)");
    assert_eq!(state.values().unwrap()["notes"], "ilk");
    assert_eq!(state.conflicts(camera_key(synced)), vec![]);
    assert_eq!(audit_count(&t, "sync_create").await, 1);
}

/// Two technicians change the same camera offline. Different fields both
/// survive; the same field (the IP) is decided by the later timestamp, even
/// when the later edit arrives first, and the loser stays visible as an
/// identity conflict. Server, both replicas and the inventory row agree.
async fn concurrent_offline_edits_converge_with_a_conflict(backend: Backend) {
    let t = TestApp::spawn(backend).await;
    let admin = t.admin().await;
    let site = admin.create_site("Merkez").await;
    let mut office = Device::new();
    let cam = Uuid::now_v7();
    let create = office.upsert(
        START_MS,
        camera(cam),
        None,
        camera_form(&site, "Depo", json!({"ip": "10.0.0.1"})),
    );
    admin.push_ok(&office.push(&[&create])).await;

    let tech1 = t.user(&admin, "saha-1", "technician", &[&site]).await;
    let tech2 = t.user(&admin, "saha-2", "technician", &[&site]).await;
    let mut dev1 = Device::new();
    let mut dev2 = Device::new();
    let base1 = replica(&dev1.pull_all(&tech1, None).await);
    let base2 = replica(&dev2.pull_all(&tech2, None).await);
    let base = record(&base1, &camera_key(cam));
    assert_eq!(Some(base), base2.get(&camera_key(cam)));

    // Offline, each edits from the same base; the second a second later.
    let mut form1 = base.values().unwrap();
    form1.insert("ip".into(), json!("10.0.0.2"));
    form1.insert("notes".into(), json!("kablo değişti"));
    let edit1 = dev1.upsert(START_MS + 1_000, camera(cam), Some(base), form1.into());
    let mut form2 = base.values().unwrap();
    form2.insert("ip".into(), json!("10.0.0.3"));
    form2.insert("firmware".into(), json!("5.7.1"));
    let edit2 = dev2.upsert(START_MS + 2_000, camera(cam), Some(base), form2.into());

    // The later edit reaches the server first.
    let answer2 = tech2.push_ok(&dev2.push(&[&edit2])).await;
    assert_eq!(
        answer2.results[0].outcome,
        PushOutcome::Accepted {
            gap: None,
            conflicts: vec![]
        }
    );
    let answer1 = tech1.push_ok(&dev1.push(&[&edit1])).await;
    let PushOutcome::Accepted { conflicts, .. } = &answer1.results[0].outcome else {
        panic!("{answer1:?}")
    };
    assert_eq!(conflicts.len(), 1, "{conflicts:?}");
    assert_eq!(conflicts[0].field.as_deref(), Some("ip"));

    let server1 = replica(&dev1.pull_all(&tech1, None).await);
    let server2 = replica(&dev2.pull_all(&tech2, None).await);
    assert_eq!(server1, server2, "both technicians see the same state");
    let state = record(&server1, &camera_key(cam));
    let values = state.values().unwrap();
    assert_eq!(values["ip"], "10.0.0.3", "the later timestamp wins");
    assert_eq!(values["notes"], "kablo değişti");
    assert_eq!(values["firmware"], "5.7.1");
    let open = state.conflicts(camera_key(cam));
    assert_eq!(open.len(), 1, "{open:?}");
    assert_eq!(open[0].field.as_deref(), Some("ip"));
    assert!(open[0].identity, "an IP conflict needs the office");
    assert!(matches!(&open[0].winner, Contender::Write { value, .. } if value == "10.0.0.3"));
    assert!(matches!(&open[0].loser, Contender::Write { value, .. } if value == "10.0.0.2"));
    // The conflict the push reported is the one the record shows.
    assert_eq!(conflicts[0], open[0]);
    assert_converged(&server1, &[&edit1, &create, &edit2]);

    let (_, row) = admin.get(&format!("/api/v1/cameras/{cam}")).await;
    assert_eq!(
        (&row["ip"], &row["notes"], &row["firmware"]),
        (&json!("10.0.0.3"), &json!("kablo değişti"), &json!("5.7.1")),
        "the inventory row shows the merged record, not the last push"
    );
    assert_eq!(audit_count(&t, "sync_update").await, 2);
}

/// After a backup restore the operator runs `gozcu sync new-epoch`: a pull
/// with the old epoch starts again from the beginning with `reset`, and the
/// device's pushes still go through.
async fn a_new_epoch_resets_pulls_and_pushes_go_on(backend: Backend) {
    let t = TestApp::spawn(backend).await;
    let admin = t.admin().await;
    let site = admin.create_site("Merkez").await;
    let mut dev = Device::new();
    let first = Uuid::now_v7();
    let m1 = dev.upsert(
        START_MS,
        camera(first),
        None,
        camera_form(&site, "Önce", json!({})),
    );
    let answer = admin.push_ok(&dev.push(&[&m1])).await;
    let pages = dev.pull_all(&admin, None).await;
    let old = pages.last().unwrap().clone();
    assert_eq!(old.epoch, answer.epoch);
    let same = admin
        .pull_ok(&dev.pull(Some(&old.epoch), old.cursor, None))
        .await;
    assert!(!same.reset && same.records.is_empty());

    gozcu_server::sync::new_epoch(&t.app.db)
        .await
        .expect("new epoch");

    let reset = admin
        .pull_ok(&dev.pull(Some(&old.epoch), old.cursor, None))
        .await;
    assert!(reset.reset, "the old epoch's replica must be dropped");
    assert_ne!(reset.epoch, old.epoch);
    let keys: BTreeSet<RecordKey> = reset.records.iter().map(|r| r.key).collect();
    assert!(
        keys.contains(&camera_key(first)) && keys.contains(&key(EntityKind::Site, &site)),
        "the reset page starts from the beginning: {keys:?}"
    );
    assert_eq!(reset.last_processed, 1);

    let second = Uuid::now_v7();
    let m2 = dev.upsert(
        START_MS + 1,
        camera(second),
        None,
        camera_form(&site, "Sonra", json!({})),
    );
    let answer = admin.push_ok(&dev.push(&[&m2])).await;
    assert_eq!(answer.epoch, reset.epoch);
    assert_eq!(answer.last_processed, 2);
    assert!(is_accepted(&answer.results[0].outcome), "{answer:?}");
    let next = admin
        .pull_ok(&dev.pull(Some(&reset.epoch), reset.cursor, None))
        .await;
    assert!(!next.reset);
    assert_eq!(
        next.records.iter().map(|r| r.key).collect::<Vec<_>>(),
        vec![camera_key(second)]
    );
}

/// Whole-request errors come before any mutation is looked at: an outdated
/// app (426 `client_outdated`), a newer app (400 `server_outdated`), a
/// client id that another user owns (409), too many mutations or a mutation
/// of another client (400). None of them applies anything or moves the
/// client's number, which the clean push afterwards shows (no gap).
async fn whole_requests_are_refused_before_anything_is_applied(backend: Backend) {
    let t = TestApp::spawn(backend).await;
    let admin = t.admin().await;
    let site = admin.create_site("Merkez").await;
    let mut dev = Device::new();
    let m = dev.upsert(
        START_MS,
        camera(Uuid::now_v7()),
        None,
        camera_form(&site, "K", json!({})),
    );
    let code = |b: &Value| b["code"].as_str().unwrap_or_default().to_owned();

    let mut old = dev.push(&[&m]);
    old.schema_version = SCHEMA_VERSION - 1;
    let (s, b) = admin.push(&old).await;
    assert_eq!(
        (s, code(&b)),
        (StatusCode::UPGRADE_REQUIRED, "client_outdated".into()),
        "{b}"
    );
    let mut old_pull = dev.pull(None, 0, None);
    old_pull.schema_version = SCHEMA_VERSION - 1;
    let (s, b) = admin.pull(&old_pull).await;
    assert_eq!(
        (s, code(&b)),
        (StatusCode::UPGRADE_REQUIRED, "client_outdated".into()),
        "{b}"
    );
    let mut newer = dev.push(&[&m]);
    newer.schema_version = SCHEMA_VERSION + 1;
    let (s, b) = admin.push(&newer).await;
    assert_eq!(
        (s, code(&b)),
        (StatusCode::BAD_REQUEST, "server_outdated".into()),
        "{b}"
    );

    // A mutation carrying another client's id inside this client's push.
    let mut foreign = m.clone();
    foreign.client_id = Uuid::now_v7();
    let (s, b) = admin.push(&dev.push(&[&foreign])).await;
    assert_eq!(
        (s, code(&b)),
        (StatusCode::UNPROCESSABLE_ENTITY, "validation".into()),
        "{b}"
    );

    // More than PUSH_MAX_MUTATIONS: the smallest mutations there are (deletes
    // without `seen`), so that the body stays small.
    let tiny: Vec<Mutation> = (1..=PUSH_MAX_MUTATIONS as u64 + 1)
        .map(|n| Mutation {
            client_id: dev.id,
            mutation_id: n,
            hlc: Hlc::at(START_MS, dev.id),
            kind: MutationKind::Delete {
                entity: camera(Uuid::nil()),
                seen: BTreeMap::new(),
            },
        })
        .collect();
    let (s, b) = admin
        .push(&PushRequest {
            schema_version: SCHEMA_VERSION,
            client_id: dev.id,
            mutations: tiny,
        })
        .await;
    assert_eq!(
        (s, code(&b)),
        (StatusCode::UNPROCESSABLE_ENTITY, "validation".into()),
        "{b}"
    );
    assert_eq!(cameras_total(&admin).await, 0, "nothing was applied");

    // The first clean push starts at number 1 without a gap.
    let answer = admin.push_ok(&dev.push(&[&m])).await;
    assert_eq!(
        answer.results[0].outcome,
        PushOutcome::Accepted {
            gap: None,
            conflicts: vec![]
        }
    );
    assert_eq!(cameras_total(&admin).await, 1);

    // The client id now belongs to the admin; another user may not use it,
    // neither to push nor to read its number.
    let tech = t.user(&admin, "saha", "technician", &[&site]).await;
    let mut stolen = Device::new();
    stolen.id = dev.id;
    stolen.clock = Hlc::new(dev.id);
    stolen.next = 2;
    let m2 = stolen.upsert(
        START_MS,
        camera(Uuid::now_v7()),
        None,
        camera_form(&site, "Başkası", json!({})),
    );
    let (s, b) = tech.push(&stolen.push(&[&m2])).await;
    assert_eq!(
        (s, code(&b)),
        (StatusCode::CONFLICT, "conflict".into()),
        "{b}"
    );
    // Pulling with it shows the records in the technician's own scope, but
    // never the owner's number.
    let pulled = tech.pull_ok(&stolen.pull(None, 0, None)).await;
    assert_eq!(pulled.last_processed, 0);
    let (s, b) = admin.push(&dev.push(&[&m])).await;
    assert_eq!(s, StatusCode::OK, "the owner still may: {b}");
    assert_eq!(cameras_total(&admin).await, 1);

    // Without a session there is no sync at all.
    let (s, _) = t.anonymous().push(&dev.push(&[&m])).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}
