//! Faults through the sync (docs/faults.md, docs/sync.md): a fault opened
//! offline with its notes arrives numbered, keeps the technician's times and
//! shows in the REST list; invalid or forged pushes are rejected by field
//! and write nothing; site scope holds for pushes and pulls; other devices
//! pull faults, notes and the online workflow; faults from before the sync
//! get their records at start; a fault form done offline and linked to the
//! fault lets the office close it.

use gozcu_shared::api_fieldwork::{Fault, FaultDetail, FaultEventKind};
use gozcu_shared::checklists::builtin::FAULT_FORM;
use gozcu_shared::checklists::builtin_templates;
use gozcu_shared::faults::FaultStatus;
use gozcu_shared::sync::{
    EntityKind, EntityRef, Mutation, MutationKind, PullResponse, PushOutcome, RecordKey,
    RejectReason,
};
use gozcu_shared::ErrorCode;
use reqwest::StatusCode;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::checklists::{answer, valid_answer};
use crate::support::{scalar, Backend, Client, TestApp, START_MS};
use crate::sync::{is_accepted, Device};

both!(
    an_offline_fault_arrives_numbered_with_its_notes,
    other_devices_pull_faults_notes_and_the_workflow,
    invalid_offline_faults_are_rejected_by_field_and_write_nothing,
    scope_limits_offline_faults_and_their_pulls,
    faults_from_before_sync_get_their_records,
    a_fault_form_done_offline_closes_the_offline_fault,
);

const HOUR: i64 = 3_600_000;

fn fault_ref(id: Uuid) -> EntityRef {
    EntityRef {
        kind: EntityKind::Fault,
        id,
    }
}

fn note_ref(id: Uuid) -> EntityRef {
    EntityRef {
        kind: EntityKind::FaultEvent,
        id,
    }
}

/// A fault as the app's "open fault" form records it.
fn opening(site: &str, camera: &str, title: &str, opened_at: i64) -> Value {
    json!({
        "site_id": site,
        "device": {"kind": "camera", "id": camera},
        "title": title,
        "description": "Direkteki kamera yağmurdan sonra kapandı",
        "severity": "high",
        "opened_at": opened_at,
    })
}

fn note(fault: Uuid, text: &str, at: i64) -> Value {
    json!({"fault_id": fault, "kind": "note", "note": text, "at": at})
}

/// Pushes, and returns each mutation's outcome.
async fn push(c: &Client, dev: &Device, ms: &[Mutation]) -> Vec<PushOutcome> {
    let refs: Vec<&Mutation> = ms.iter().collect();
    c.push_ok(&dev.push(&refs))
        .await
        .results
        .into_iter()
        .map(|r| r.outcome)
        .collect()
}

/// A rejection's code and its (field, code) pairs.
type Refusal = (ErrorCode, Vec<(String, ErrorCode)>);

/// The code and the (field, code) pairs of a rejection.
fn refusal(outcome: &PushOutcome) -> Refusal {
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

fn pairs(want: &[(&str, ErrorCode)]) -> Vec<(String, ErrorCode)> {
    want.iter().map(|(f, c)| (f.to_string(), *c)).collect()
}

async fn list(c: &Client) -> Vec<Fault> {
    let (s, b) = c.get("/api/v1/faults").await;
    assert_eq!(s, StatusCode::OK, "{b}");
    serde_json::from_value(b["items"].clone()).unwrap()
}

async fn detail(c: &Client, id: Uuid) -> FaultDetail {
    let (s, b) = c.get(&format!("/api/v1/faults/{id}")).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    serde_json::from_value(b).unwrap()
}

/// Every record a fresh replica pulls, last copy of each.
async fn pulled(c: &Client, dev: &Device) -> Vec<(RecordKey, Value)> {
    let pages: Vec<PullResponse> = dev.pull_all(c, None).await;
    let mut out: Vec<(RecordKey, Value)> = Vec::new();
    for rec in pages.iter().flat_map(|p| &p.records) {
        out.retain(|(k, _)| *k != rec.key);
        let values = rec.state.values().map(Value::Object).unwrap_or(Value::Null);
        out.push((rec.key, values));
    }
    out
}

fn of_kind(records: &[(RecordKey, Value)], kind: EntityKind) -> Vec<(Uuid, Value)> {
    records
        .iter()
        .filter_map(|(k, v)| match k {
            RecordKey::Entity(e) if e.kind == kind => Some((e.id, v.clone())),
            _ => None,
        })
        .collect()
}

struct Scene {
    t: TestApp,
    admin: Client,
    tech: Client,
    tech_id: Uuid,
    site: String,
    camera: String,
}

async fn scene(backend: Backend) -> Scene {
    let t = TestApp::spawn(backend).await;
    let admin = t.admin().await;
    let site = admin.create_site("Kuzey Yerleşke").await;
    let camera = admin.create_camera(&site, "Direk 14", json!({})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let tech = t.user(&admin, "saha", "technician", &[&site]).await;
    let (_, me) = tech.get("/api/v1/auth/me").await;
    let tech_id = me["user"]["id"].as_str().unwrap().parse().unwrap();
    Scene {
        t,
        admin,
        tech,
        tech_id,
        site,
        camera,
    }
}

/// Opens a fault offline with two notes in one push; all accepted.
async fn open_offline(s: &Scene, dev: &mut Device, opened_at: i64) -> (Uuid, [Uuid; 2]) {
    let (fault, notes, _) = open_offline_with(s, dev, opened_at).await;
    (fault, notes)
}

/// [`open_offline`], also answering the mutations it pushed.
async fn open_offline_with(
    s: &Scene,
    dev: &mut Device,
    opened_at: i64,
) -> (Uuid, [Uuid; 2], Vec<Mutation>) {
    let (fault, n1, n2) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    let ms = vec![
        dev.upsert(
            opened_at,
            fault_ref(fault),
            None,
            opening(&s.site, &s.camera, "  Direk 14 görüntü yok ", opened_at),
        ),
        dev.upsert(
            opened_at,
            note_ref(n1),
            None,
            note(fault, " Sigorta attı, kutu ıslak ", opened_at + 60_000),
        ),
        dev.upsert(
            opened_at,
            note_ref(n2),
            None,
            note(
                fault,
                "Yedek sigorta yok, yarın gelinecek",
                opened_at + 120_000,
            ),
        ),
    ];
    let outcomes = push(&s.tech, dev, &ms).await;
    assert!(outcomes.iter().all(is_accepted), "{outcomes:?}");
    (fault, [n1, n2], ms)
}

async fn an_offline_fault_arrives_numbered_with_its_notes(backend: Backend) {
    let s = scene(backend).await;
    // The office opened one fault already: the offline one comes second.
    let (st, b) = s
        .admin
        .post(
            "/api/v1/faults",
            json!({"site_id": s.site, "title": "Kayıt cihazı bip sesi veriyor"}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{b}");

    let mut dev = Device::new();
    let opened_at = START_MS - 2 * HOUR;
    let (fault, [n1, n2], pushed) = open_offline_with(&s, &mut dev, opened_at).await;

    let faults = list(&s.admin).await;
    let f = faults.iter().find(|f| f.id == fault).expect("in the list");
    assert_eq!(f.number, 2);
    assert_eq!(f.title, "Direk 14 görüntü yok");
    assert_eq!(f.status, FaultStatus::Open);
    assert_eq!(f.opened_at, opened_at, "the technician's time counts");
    assert_eq!(f.opened_by, Some(s.tech_id));
    assert_eq!(f.device_name.as_deref(), Some("Direk 14"));
    assert_eq!(f.source, "manual");

    let d = detail(&s.tech, fault).await;
    let timeline: Vec<(FaultEventKind, Option<&str>, i64)> = d
        .events
        .iter()
        .map(|e| (e.kind, e.note.as_deref(), e.at))
        .collect();
    assert_eq!(
        timeline,
        vec![
            (FaultEventKind::Opened, None, opened_at),
            (
                FaultEventKind::Note,
                Some("Sigorta attı, kutu ıslak"),
                opened_at + 60_000
            ),
            (
                FaultEventKind::Note,
                Some("Yedek sigorta yok, yarın gelinecek"),
                opened_at + 120_000
            ),
        ]
    );
    assert_eq!(d.events[1].id, n1, "a note keeps its record's id");
    assert_eq!(d.events[2].id, n2);
    assert!(d.events.iter().all(|e| e.by_user == Some(s.tech_id)));
    let audited = scalar(
        &s.t,
        &format!(
            "SELECT COUNT(*) FROM audit_log WHERE entity_type = 'fault' AND entity_id = '{fault}' \
             AND action IN ('sync_create', 'sync_note')"
        ),
    )
    .await;
    assert_eq!(audited, 3);

    // The device pulls back the number and the names the server added.
    let records = pulled(&s.tech, &dev).await;
    let (_, mine) = of_kind(&records, EntityKind::Fault)
        .into_iter()
        .find(|(id, _)| *id == fault)
        .expect("the fault's record");
    assert_eq!(mine["number"], 2);
    assert_eq!(mine["status"], "open");
    assert_eq!(mine["title"], "Direk 14 görüntü yok");
    let notes = of_kind(&records, EntityKind::FaultEvent);
    let first = notes.iter().find(|(id, _)| *id == n1).unwrap();
    assert_eq!(first.1["by_name"], "saha");
    assert_eq!(first.1["note"], "Sigorta attı, kutu ıslak");

    // A retried push (the answer was lost) changes nothing: no second
    // fault, no second number, no second note.
    let events = scalar(&s.t, "SELECT COUNT(*) FROM fault_events").await;
    let outcomes = push(&s.tech, &dev, &pushed).await;
    assert!(outcomes
        .iter()
        .all(|o| matches!(o, PushOutcome::AlreadyProcessed)));
    assert_eq!(
        scalar(&s.t, "SELECT COUNT(*) FROM fault_events").await,
        events
    );
    assert_eq!(scalar(&s.t, "SELECT MAX(number) FROM faults").await, 2);

    // A clock that runs ahead (within the allowed hour) cannot open a
    // fault in the future.
    let mut fast = Device::new();
    let future = START_MS + HOUR / 2;
    let id = Uuid::now_v7();
    let m = fast.upsert(
        future,
        fault_ref(id),
        None,
        opening(&s.site, &s.camera, "Saat ileri", future),
    );
    assert!(is_accepted(&push(&s.tech, &fast, &[m]).await[0]));
    assert_eq!(detail(&s.tech, id).await.fault.opened_at, START_MS);
}

async fn other_devices_pull_faults_notes_and_the_workflow(backend: Backend) {
    let s = scene(backend).await;
    let mut tablet = Device::new();
    let (fault, [n1, n2]) = open_offline(&s, &mut tablet, START_MS - HOUR).await;

    // A colleague's tablet (another user of the same site) pulls it all.
    let colleague = s.t.user(&s.admin, "ayse", "technician", &[&s.site]).await;
    let other = Device::new();
    let records = pulled(&colleague, &other).await;
    let faults = of_kind(&records, EntityKind::Fault);
    assert_eq!(faults.len(), 1);
    assert_eq!(faults[0].1["number"], 1);
    let mut events: Vec<Uuid> = of_kind(&records, EntityKind::FaultEvent)
        .into_iter()
        .filter(|(_, v)| v["fault_id"] == json!(fault))
        .map(|(id, _)| id)
        .collect();
    events.sort();
    assert_eq!(events.len(), 3, "opened and two notes");
    assert!(events.contains(&n1) && events.contains(&n2));

    // The colleague adds a note offline too: no conflict with the first
    // technician's notes, each is its own record.
    let mut other = other;
    let n3 = Uuid::now_v7();
    let m = other.upsert(
        START_MS,
        note_ref(n3),
        None,
        note(fault, "Sigorta değişti, görüntü geldi", START_MS - HOUR / 2),
    );
    assert!(is_accepted(&push(&colleague, &other, &[m]).await[0]));

    // The supervisor works the fault online; the tablets see each step.
    let chief = s.t.user(&s.admin, "sef", "supervisor", &[]).await;
    let (st, b) = chief
        .post(
            &format!("/api/v1/faults/{fault}/transition"),
            json!({"to": "assigned", "assignee_id": s.tech_id, "note": "Sen bak"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    let (st, b) = chief
        .post(
            &format!("/api/v1/faults/{fault}/transition"),
            json!({"to": "resolved"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    let records = pulled(&s.tech, &tablet).await;
    let (_, f) = &of_kind(&records, EntityKind::Fault)[0];
    assert_eq!(f["status"], "resolved");
    assert_eq!(f["assignee_name"], "saha");
    assert_eq!(f["time_to_repair_ms"], json!(HOUR));
    let kinds: Vec<String> = {
        let mut es: Vec<Value> = of_kind(&records, EntityKind::FaultEvent)
            .into_iter()
            .map(|(_, v)| v)
            .collect();
        es.sort_by_key(|v| v["at"].as_i64());
        es.iter()
            .map(|v| v["kind"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        kinds,
        ["opened", "note", "note", "note", "transition", "transition"]
    );
    // Writing the same opening values again is harmless and changes nothing.
    let again = tablet.upsert(START_MS, fault_ref(fault), None, json!({"site_id": s.site}));
    assert!(is_accepted(&push(&s.tech, &tablet, &[again]).await[0]));
    assert_eq!(
        detail(&s.tech, fault).await.fault.status,
        FaultStatus::Resolved
    );
}

async fn invalid_offline_faults_are_rejected_by_field_and_write_nothing(backend: Backend) {
    let s = scene(backend).await;
    let other_site = s.admin.create_site("Güney Yerleşke").await;
    let other_camera = s.admin.create_camera(&other_site, "Kapı", json!({})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let admin_dev = Device::new();
    let mut dev = Device::new();
    let (fault, _) = open_offline(&s, &mut dev, START_MS - HOUR).await;
    let counts = async |t: &TestApp| {
        (
            scalar(t, "SELECT COUNT(*) FROM faults").await,
            scalar(t, "SELECT COUNT(*) FROM fault_events").await,
            scalar(
                t,
                "SELECT COUNT(*) FROM sync_records WHERE kind IN ('fault', 'fault_event')",
            )
            .await,
            scalar(t, "SELECT COUNT(*) FROM audit_log").await,
        )
    };
    let before = counts(&s.t).await;

    use ErrorCode::*;
    let new_fault = |changes: Value| {
        let mut v = opening(&s.site, &s.camera, "Görüntü yok", START_MS);
        for (k, x) in changes.as_object().unwrap() {
            v[k] = x.clone();
        }
        v
    };
    let mut cases: Vec<(Mutation, Refusal)> = Vec::new();
    let mut add = |dev: &mut Device, entity: EntityRef, v: Value, want| {
        let m = dev.upsert(START_MS, entity, None, v);
        cases.push((m, want));
    };
    add(
        &mut dev,
        fault_ref(Uuid::now_v7()),
        new_fault(json!({"title": "  "})),
        (Validation, pairs(&[("title", Required)])),
    );
    add(
        &mut dev,
        fault_ref(Uuid::now_v7()),
        new_fault(json!({"severity": "apocalyptic", "opened_at": "dün"})),
        (
            Validation,
            pairs(&[("severity", Validation), ("opened_at", Validation)]),
        ),
    );
    add(
        &mut dev,
        fault_ref(Uuid::now_v7()),
        new_fault(json!({"site_id": Uuid::now_v7()})),
        (NotInScope, pairs(&[("site_id", NotInScope)])),
    );
    add(
        &mut dev,
        fault_ref(Uuid::now_v7()),
        new_fault(json!({"device": {"kind": "camera", "id": Uuid::now_v7()}})),
        (Validation, pairs(&[("device", UnknownDevice)])),
    );
    add(
        &mut dev,
        fault_ref(Uuid::now_v7()),
        new_fault(json!({"device": {"kind": "recorder", "id": s.camera}})),
        (Validation, pairs(&[("device", UnknownDevice)])),
    );
    add(
        &mut dev,
        fault_ref(Uuid::now_v7()),
        new_fault(json!({"status": "closed", "number": 99, "colour": "red"})),
        (
            Validation,
            pairs(&[
                ("colour", UnknownField),
                ("number", NotSyncable),
                ("status", NotSyncable),
            ]),
        ),
    );
    add(
        &mut dev,
        fault_ref(fault),
        json!({"title": "Başka başlık", "severity": "low"}),
        (
            Validation,
            pairs(&[("severity", NotSyncable), ("title", NotSyncable)]),
        ),
    );
    add(
        &mut dev,
        note_ref(Uuid::now_v7()),
        note(Uuid::now_v7(), "Kime?", START_MS),
        (Validation, pairs(&[("fault_id", NotFound)])),
    );
    add(
        &mut dev,
        note_ref(Uuid::now_v7()),
        json!({"fault_id": fault, "kind": "transition", "note": "kapat", "at": START_MS, "to_status": "closed"}),
        (Validation, pairs(&[("to_status", NotSyncable)])),
    );
    add(
        &mut dev,
        note_ref(Uuid::now_v7()),
        json!({"fault_id": fault, "kind": "transition", "note": "kapat", "at": START_MS}),
        (Validation, pairs(&[("kind", NotSyncable)])),
    );
    add(
        &mut dev,
        note_ref(Uuid::now_v7()),
        note(fault, " ", START_MS),
        (Validation, pairs(&[("note", Required)])),
    );
    let delete = dev.mutation(START_MS, |_| MutationKind::Delete {
        entity: fault_ref(fault),
        seen: Default::default(),
    });
    cases.push((delete, (NotSyncable, vec![])));
    let (ms, wants): (Vec<Mutation>, Vec<_>) = cases.into_iter().unzip();
    let outcomes = push(&s.tech, &dev, &ms).await;
    for (i, (outcome, want)) in outcomes.iter().zip(wants).enumerate() {
        assert_eq!(refusal(outcome), want, "mutation {i}");
    }
    assert_eq!(counts(&s.t).await, before, "nothing half-written");

    // A device of another site that the technician cannot see does not
    // exist for them; the admin sees it belongs elsewhere.
    let mut adm = admin_dev;
    let m = adm.upsert(
        START_MS,
        fault_ref(Uuid::now_v7()),
        None,
        opening(&s.site, &other_camera, "Yanlış saha", START_MS),
    );
    let unknown_site = adm.upsert(
        START_MS,
        fault_ref(Uuid::now_v7()),
        None,
        opening(
            &Uuid::now_v7().to_string(),
            &s.camera,
            "Hiçbir yer",
            START_MS,
        ),
    );
    let outcomes = push(&s.admin, &adm, &[m, unknown_site]).await;
    assert_eq!(
        refusal(&outcomes[0]),
        (Validation, pairs(&[("device", DeviceNotInSite)]))
    );
    assert_eq!(
        refusal(&outcomes[1]),
        (Validation, pairs(&[("site_id", UnknownSite)]))
    );

    // A viewer may not open faults at all.
    let viewer = s.t.user(&s.admin, "izleyici", "viewer", &[]).await;
    let mut vdev = Device::new();
    let m = vdev.upsert(
        START_MS,
        fault_ref(Uuid::now_v7()),
        None,
        opening(&s.site, &s.camera, "İzleyici", START_MS),
    );
    assert_eq!(refusal(&push(&viewer, &vdev, &[m]).await[0]).0, Forbidden);

    // Once closed, a fault takes no more notes, offline or not.
    let chief = s.t.user(&s.admin, "sef", "supervisor", &[]).await;
    let (st, b) = chief
        .post(
            &format!("/api/v1/faults/{fault}/transition"),
            json!({"to": "resolved"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    let fault_text = fault.to_string();
    let form = crate::faults::insert_run(
        &s.t,
        crate::faults::Run {
            template: gozcu_shared::checklists::builtin::FAULT_FORM,
            purpose: "fault_form",
            target_kind: "camera",
            target_id: &s.camera,
            site_id: &s.site,
            completed_at: Some(START_MS),
            fault_id: Some(&fault_text),
        },
    )
    .await;
    let (st, b) = chief
        .post(
            &format!("/api/v1/faults/{fault}/transition"),
            json!({"to": "closed", "fault_form_run_id": form}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    let m = dev.upsert(
        START_MS,
        note_ref(Uuid::now_v7()),
        None,
        note(fault, "Geç not", START_MS),
    );
    assert_eq!(
        refusal(&push(&s.tech, &dev, &[m]).await[0]),
        (FaultClosed, pairs(&[("status", FaultClosed)]))
    );
}

async fn scope_limits_offline_faults_and_their_pulls(backend: Backend) {
    let s = scene(backend).await;
    let south = s.admin.create_site("Güney Yerleşke").await;
    let south_camera = s.admin.create_camera(&south, "Kapı", json!({})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // The office opens a fault in the south, where the technician has no
    // access; the technician opens one in the north offline.
    let (st, b) = s
        .admin
        .post(
            "/api/v1/faults",
            json!({"site_id": south, "device": {"kind": "camera", "id": south_camera},
                   "title": "Güney kapı görüntü yok"}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{b}");
    let south_fault: Uuid = b["fault"]["id"].as_str().unwrap().parse().unwrap();
    let mut dev = Device::new();
    let (north_fault, _) = open_offline(&s, &mut dev, START_MS - HOUR).await;

    // Opening one in the south, or noting on the south's fault, is refused.
    let m1 = dev.upsert(
        START_MS,
        fault_ref(Uuid::now_v7()),
        None,
        opening(&south, &south_camera, "Güney", START_MS),
    );
    let m2 = dev.upsert(
        START_MS,
        note_ref(Uuid::now_v7()),
        None,
        note(south_fault, "Buradan görünmüyor", START_MS),
    );
    let outcomes = push(&s.tech, &dev, &[m1, m2]).await;
    assert_eq!(
        refusal(&outcomes[0]),
        (
            ErrorCode::NotInScope,
            pairs(&[("site_id", ErrorCode::NotInScope)])
        )
    );
    assert_eq!(
        refusal(&outcomes[1]),
        (
            ErrorCode::Validation,
            pairs(&[("fault_id", ErrorCode::NotFound)])
        )
    );

    // The technician pulls only the north's fault and its timeline.
    let records = pulled(&s.tech, &Device::new()).await;
    let faults: Vec<Uuid> = of_kind(&records, EntityKind::Fault)
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert_eq!(faults, vec![north_fault]);
    assert!(of_kind(&records, EntityKind::FaultEvent)
        .iter()
        .all(|(_, v)| v["fault_id"] == json!(north_fault)));
    // The admin, whose scope is every site, pulls both.
    let records = pulled(&s.admin, &Device::new()).await;
    assert_eq!(of_kind(&records, EntityKind::Fault).len(), 2);
}

async fn faults_from_before_sync_get_their_records(backend: Backend) {
    let s = scene(backend).await;
    let (st, b) = s
        .admin
        .post(
            "/api/v1/faults",
            json!({"site_id": s.site, "title": "Eski arıza"}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{b}");
    let id = b["fault"]["id"].as_str().unwrap().to_owned();
    let (st, b) = s
        .admin
        .post(
            &format!("/api/v1/faults/{id}/notes"),
            json!({"note": "Eski not"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    // As a database from before faults were synced holds them: rows, no
    // sync records.
    sqlx::query("DELETE FROM sync_records WHERE kind IN ('fault', 'fault_event')")
        .execute(&s.t.app.db.pool)
        .await
        .unwrap();
    assert!(of_kind(&pulled(&s.tech, &Device::new()).await, EntityKind::Fault).is_empty());
    let n = gozcu_server::http::sync::backfill(&s.t.app).await.unwrap();
    assert_eq!(n, 3, "the fault, its opening and its note");
    let records = pulled(&s.tech, &Device::new()).await;
    let faults = of_kind(&records, EntityKind::Fault);
    assert_eq!(faults.len(), 1);
    assert_eq!(faults[0].1["number"], 1);
    assert_eq!(of_kind(&records, EntityKind::FaultEvent).len(), 2);
    // A second start finds nothing to do.
    assert_eq!(
        gozcu_server::http::sync::backfill(&s.t.app).await.unwrap(),
        0
    );
}

/// A fault-form run on `target`, linked to `fault`, as the fault's page
/// starts it.
fn fault_form_run(dev: &mut Device, run: Uuid, target: &str, fault: Uuid) -> Mutation {
    let template = builtin_templates()
        .into_iter()
        .find(|t| t.id == FAULT_FORM)
        .expect("the built-in fault form");
    dev.upsert(
        START_MS,
        EntityRef {
            kind: EntityKind::ChecklistRun,
            id: run,
        },
        None,
        json!({
            "template_id": template.id,
            "template_version": template.version,
            "target_kind": "camera",
            "target_id": target,
            "status": "in_progress",
            "started_at_ms": START_MS - HOUR / 2,
            "fault_id": fault,
        }),
    )
}

async fn a_fault_form_done_offline_closes_the_offline_fault(backend: Backend) {
    let s = scene(backend).await;
    let other_camera = s.admin.create_camera(&s.site, "Direk 15", json!({})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut dev = Device::new();
    let (fault, _) = open_offline(&s, &mut dev, START_MS - HOUR).await;

    // A fault form cannot be linked to a fault of another device, nor to a
    // fault that does not exist for the user.
    let wrong = fault_form_run(&mut dev, Uuid::now_v7(), &other_camera, fault);
    let nowhere = fault_form_run(&mut dev, Uuid::now_v7(), &s.camera, Uuid::now_v7());
    let outcomes = push(&s.tech, &dev, &[wrong, nowhere]).await;
    assert_eq!(
        refusal(&outcomes[0]),
        (
            ErrorCode::Validation,
            pairs(&[("fault_id", ErrorCode::Validation)])
        )
    );
    assert_eq!(
        refusal(&outcomes[1]),
        (
            ErrorCode::NotFound,
            pairs(&[("fault_id", ErrorCode::NotFound)])
        )
    );

    // The technician fills in the fault form on the camera, offline,
    // linked to the fault, and completes it.
    let run = Uuid::now_v7();
    let template = builtin_templates()
        .into_iter()
        .find(|t| t.id == FAULT_FORM)
        .unwrap();
    let mut ms = vec![fault_form_run(&mut dev, run, &s.camera, fault)];
    for item in template.items() {
        ms.push(answer(&mut dev, run, item.id, valid_answer(item)));
    }
    ms.push(dev.upsert(
        START_MS,
        EntityRef {
            kind: EntityKind::ChecklistRun,
            id: run,
        },
        None,
        json!({"status": "completed", "completed_at_ms": START_MS - 60_000}),
    ));
    let outcomes = push(&s.tech, &dev, &ms).await;
    assert!(outcomes.iter().all(is_accepted), "{outcomes:?}");

    // The office resolves and closes it without naming the form: the
    // linked one is found.
    let chief = s.t.user(&s.admin, "sef", "supervisor", &[]).await;
    for to in ["resolved", "closed"] {
        let (st, b) = chief
            .post(
                &format!("/api/v1/faults/{fault}/transition"),
                json!({"to": to}),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{to}: {b}");
    }
    let d = detail(&s.tech, fault).await;
    assert_eq!(d.fault.status, FaultStatus::Closed);
    assert_eq!(d.fault.fault_form_run_id, Some(run));
    assert_eq!(d.fault.time_to_repair_ms, Some(HOUR));
}
