//! Checklist runs done offline and pushed through sync: answers stored in
//! canonical form, completion checked and locking the run, amendments with
//! a reason, scope, and new template versions.

use gozcu_shared::checklists::{
    builtin::CAMERA_MAINTENANCE, builtin_templates, Item, ItemKind, RunDetail, RunStatus, Template,
};
use gozcu_shared::sync::{
    EntityKind, EntityRef, Mutation, MutationKind, PushOutcome, RecordKey, RejectReason,
};
use gozcu_shared::ErrorCode;
use reqwest::StatusCode;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::support::{scalar, Backend, Client, TestApp, START_MS};
use crate::sync::{is_accepted, Device};

both!(
    a_run_done_offline_arrives_complete_and_locked,
    completing_with_missing_answers_is_refused_and_names_them,
    amendments_need_a_reason_and_reach_every_device,
    runs_outside_the_scope_or_of_unknown_templates_are_refused,
    templates_get_new_versions,
);

pub(crate) fn maintenance() -> Template {
    builtin_templates()
        .into_iter()
        .find(|t| t.id == CAMERA_MAINTENANCE)
        .expect("the built-in maintenance template")
}

/// A valid answer for any item.
pub(crate) fn valid_answer(item: &Item) -> Value {
    let hash = |n: u8| format!("{n:02x}").repeat(32);
    match &item.kind {
        ItemKind::YesNo => json!(true),
        ItemKind::PassFail => json!("pass"),
        ItemKind::Number { min, max, .. } => json!(min.or(*max).unwrap_or(1.0)),
        ItemKind::Text { .. } => json!("Temizlendi, sorun yok"),
        ItemKind::SingleChoice { options } => json!(options[0].key),
        ItemKind::MultiChoice { options } => json!([options[0].key]),
        ItemKind::Date => json!("2026-11-20"),
        ItemKind::Photo { min, .. } => Value::Array(
            (0..(*min).max(1))
                .map(|i| json!({"sha256": hash(i as u8 + 1), "width": 2048, "height": 1536}))
                .collect(),
        ),
        ItemKind::Signature => json!({
            "signer": "Ayşe Yılmaz",
            "signed_at_ms": START_MS,
            "image_sha256": hash(0xaa),
        }),
    }
}

fn run_entity(id: Uuid) -> EntityRef {
    EntityRef {
        kind: EntityKind::ChecklistRun,
        id,
    }
}

fn run_form(template: &Template, camera: &str, status: RunStatus) -> Value {
    json!({
        "template_id": template.id,
        "template_version": template.version,
        "target_kind": "camera",
        "target_id": camera,
        "status": status,
        "started_at_ms": START_MS,
        "gps": {"lat": 41.0082, "lon": 28.9784, "accuracy_m": 12.0},
    })
}

pub(crate) fn answer(dev: &mut Device, run: Uuid, item: Uuid, value: Value) -> Mutation {
    dev.mutation(START_MS, |_| MutationKind::ChecklistAnswer {
        run_id: run,
        item_id: item,
        value,
        supersedes: Default::default(),
    })
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

/// The code and field codes of a rejection.
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

pub(crate) struct Scene {
    pub t: TestApp,
    pub admin: Client,
    pub tech: Client,
    pub camera: String,
}

pub(crate) async fn scene(backend: Backend) -> Scene {
    let t = TestApp::spawn(backend).await;
    let admin = t.admin().await;
    let site = admin.create_site("Rektörlük").await;
    let camera = admin.create_camera(&site, "Giriş", json!({})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let tech = t.user(&admin, "saha", "technician", &[&site]).await;
    Scene {
        t,
        admin,
        tech,
        camera,
    }
}

/// Starts a run, answers every item and completes it, in one push.
pub(crate) async fn complete_run(s: &Scene, dev: &mut Device) -> Uuid {
    let template = maintenance();
    let run = Uuid::now_v7();
    let mut ms = vec![dev.upsert(
        START_MS,
        run_entity(run),
        None,
        run_form(&template, &s.camera, RunStatus::InProgress),
    )];
    for item in template.items() {
        ms.push(answer(dev, run, item.id, valid_answer(item)));
    }
    ms.push(dev.upsert(
        START_MS,
        run_entity(run),
        None,
        json!({"status": "completed", "completed_at_ms": START_MS - 60_000}),
    ));
    let outcomes = push(&s.tech, dev, &ms).await;
    assert!(outcomes.iter().all(is_accepted), "{outcomes:?}");
    run
}

async fn detail(c: &Client, run: Uuid) -> RunDetail {
    let (st, b) = c.get(&format!("/api/v1/checklists/runs/{run}")).await;
    assert_eq!(st, StatusCode::OK, "{b}");
    serde_json::from_value(b).expect("a RunDetail")
}

async fn a_run_done_offline_arrives_complete_and_locked(backend: Backend) {
    let s = scene(backend).await;
    let mut dev = Device::new();
    let run = complete_run(&s, &mut dev).await;
    let d = detail(&s.admin, run).await;
    assert_eq!(d.run.status, RunStatus::Completed);
    assert_eq!(d.run.completed_by.as_deref(), Some("saha"));
    assert_eq!(d.run.started_by.as_deref(), Some("saha"));
    assert_eq!(d.run.completed_at_ms, Some(START_MS - 60_000));
    assert_eq!(d.answers.len(), maintenance().items().count());
    // Stored canonical: hashes lower-case, numbers as given.
    let first_photo = maintenance()
        .items()
        .find(|i| matches!(i.kind, ItemKind::Photo { .. }))
        .unwrap()
        .id;
    assert_eq!(d.answers[&first_photo][0]["sha256"], json!("01".repeat(32)));
    let runs: Vec<Value> = serde_json::from_value(
        s.tech
            .get(&format!("/api/v1/checklists/runs?target_id={}", s.camera))
            .await
            .1,
    )
    .unwrap();
    assert_eq!(runs.len(), 1);

    // The run is locked: a late answer is refused with the lock.
    let item = maintenance().items().next().unwrap().id;
    let late = answer(
        &mut dev,
        run,
        item,
        valid_answer(maintenance().item(item).unwrap()),
    );
    let outcome = push(&s.tech, &dev, &[late]).await;
    let (_, fields) = refusal(&outcome[0]);
    assert_eq!(fields, vec![(item.to_string(), ErrorCode::RunLocked)]);
    assert_eq!(
        scalar(
            &s.t,
            "SELECT COUNT(*) FROM audit_log WHERE action = 'sync_complete'"
        )
        .await,
        1
    );
}

async fn completing_with_missing_answers_is_refused_and_names_them(backend: Backend) {
    let s = scene(backend).await;
    let template = maintenance();
    let mut dev = Device::new();
    let run = Uuid::now_v7();
    let items: Vec<&Item> = template.items().collect();
    let start = dev.upsert(
        START_MS,
        run_entity(run),
        None,
        run_form(&template, &s.camera, RunStatus::InProgress),
    );
    let first = answer(&mut dev, run, items[0].id, valid_answer(items[0]));
    // A wrong type is refused on its own, naming the item.
    let wrong = answer(&mut dev, run, items[1].id, json!("evet"));
    let complete = dev.upsert(
        START_MS,
        run_entity(run),
        None,
        json!({"status": "completed"}),
    );
    let outcomes = push(&s.tech, &dev, &[start, first, wrong, complete]).await;
    assert!(
        is_accepted(&outcomes[0]) && is_accepted(&outcomes[1]),
        "{outcomes:?}"
    );
    let (_, fields) = refusal(&outcomes[2]);
    assert_eq!(fields[0].0, items[1].id.to_string());
    let (code, fields) = refusal(&outcomes[3]);
    assert_eq!(code, ErrorCode::Validation);
    let named: Vec<&str> = fields.iter().map(|(f, _)| f.as_str()).collect();
    assert!(
        named.contains(&items[1].id.to_string().as_str()),
        "{fields:?}"
    );
    assert!(
        !named.contains(&items[0].id.to_string().as_str()),
        "{fields:?}"
    );
    assert_eq!(
        detail(&s.admin, run).await.run.status,
        RunStatus::InProgress
    );

    // The rest of the answers, then completion again.
    let mut ms: Vec<Mutation> = items[1..]
        .iter()
        .map(|i| answer(&mut dev, run, i.id, valid_answer(i)))
        .collect();
    ms.push(dev.upsert(
        START_MS,
        run_entity(run),
        None,
        json!({"status": "completed"}),
    ));
    let outcomes = push(&s.tech, &dev, &ms).await;
    assert!(outcomes.iter().all(is_accepted), "{outcomes:?}");
    assert_eq!(detail(&s.admin, run).await.run.status, RunStatus::Completed);
}

async fn amendments_need_a_reason_and_reach_every_device(backend: Backend) {
    let s = scene(backend).await;
    let mut dev = Device::new();
    let run = complete_run(&s, &mut dev).await;
    let note = maintenance()
        .items()
        .find(|i| matches!(i.kind, ItemKind::Text { .. }) && !i.required)
        .unwrap()
        .id;
    let path = format!("/api/v1/checklists/runs/{run}/amendments");
    let (st, b) = s
        .tech
        .post(
            &path,
            json!({"changes": {note.to_string(): "Lens değişti"}, "reason": "  "}),
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    assert_eq!(b["fields"][0]["field"], "reason", "{b}");

    let (st, b) = s
        .tech
        .post(
            &path,
            json!({"changes": {note.to_string(): "  Lens değişti  "}, "reason": "Not eksik yazılmış"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    let d: RunDetail = serde_json::from_value(b).unwrap();
    assert_eq!(d.answers[&note], json!("Lens değişti"));
    assert_eq!(d.amendments.len(), 1);
    assert_eq!(d.amendments[0].old, json!("Temizlendi, sorun yok"));
    assert_eq!(d.amendments[0].reason, "Not eksik yazılmış");
    assert_eq!(
        scalar(
            &s.t,
            "SELECT COUNT(*) FROM audit_log WHERE action = 'amend'"
        )
        .await,
        1
    );

    // A device pulling afresh gets the amended answer.
    let fresh = Device::new();
    let pages = fresh.pull_all(&s.tech, None).await;
    let record = pages
        .iter()
        .flat_map(|p| &p.records)
        .rfind(|r| {
            r.key
                == RecordKey::Answer {
                    run_id: run,
                    item_id: note,
                }
        })
        .expect("the answer's record");
    assert_eq!(
        record.state.values().unwrap()["value"],
        json!("Lens değişti")
    );
}

async fn runs_outside_the_scope_or_of_unknown_templates_are_refused(backend: Backend) {
    let s = scene(backend).await;
    let other_site = s.admin.create_site("Başka Kampüs").await;
    let outsider =
        s.t.user(&s.admin, "disari", "technician", &[&other_site])
            .await;
    let template = maintenance();
    let mut dev = Device::new();
    let foreign = dev.upsert(
        START_MS,
        run_entity(Uuid::now_v7()),
        None,
        run_form(&template, &s.camera, RunStatus::InProgress),
    );
    let mut unknown_template = template.clone();
    unknown_template.id = Uuid::now_v7();
    let bad = dev.upsert(
        START_MS,
        run_entity(Uuid::now_v7()),
        None,
        run_form(&unknown_template, &s.camera, RunStatus::InProgress),
    );
    let outcomes = push(&outsider, &dev, &[foreign, bad]).await;
    assert_eq!(refusal(&outcomes[0]).0, ErrorCode::NotInScope);
    let (_, fields) = refusal(&outcomes[1]);
    assert_eq!(
        fields,
        vec![("template_id".to_owned(), ErrorCode::InvalidTemplate)]
    );

    // A viewer may not run checklists at all.
    let viewer = s.t.user(&s.admin, "bakan", "viewer", &[]).await;
    let mut vdev = Device::new();
    let m = vdev.upsert(
        START_MS,
        run_entity(Uuid::now_v7()),
        None,
        run_form(&template, &s.camera, RunStatus::InProgress),
    );
    assert_eq!(
        refusal(&push(&viewer, &vdev, &[m]).await[0]).0,
        ErrorCode::Forbidden
    );
    assert_eq!(scalar(&s.t, "SELECT COUNT(*) FROM checklist_runs").await, 0);
}

async fn templates_get_new_versions(backend: Backend) {
    let s = scene(backend).await;
    let mut edited = maintenance();
    edited.title.tr = "Periyodik bakım (2027)".into();
    let (st, b) = s
        .admin
        .post(
            "/api/v1/checklists/templates",
            serde_json::to_value(&edited).unwrap(),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{b}");
    assert_eq!(b["version"], 2);
    let (_, latest) = s.tech.get("/api/v1/checklists/templates").await;
    let latest: Vec<Template> = serde_json::from_value(latest).unwrap();
    let mine = latest.iter().find(|t| t.id == edited.id).unwrap();
    assert_eq!(
        (mine.version, mine.title.tr.as_str()),
        (2, "Periyodik bakım (2027)")
    );
    let (st, v1) = s
        .tech
        .get(&format!(
            "/api/v1/checklists/templates/{}/versions/1",
            edited.id
        ))
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(v1["title"]["tr"], json!(maintenance().title.tr));

    // A broken template is refused with the path of the mistake.
    let mut broken = maintenance();
    broken.id = Uuid::now_v7();
    broken.sections[0].items[0].label.tr = String::new();
    let (st, b) = s
        .admin
        .post(
            "/api/v1/checklists/templates",
            serde_json::to_value(&broken).unwrap(),
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    assert!(
        b["fields"][0]["field"]
            .as_str()
            .unwrap()
            .starts_with("sections[0].items[0]"),
        "{b}"
    );
}
