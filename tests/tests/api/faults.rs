//! Faults: opening, the status workflow with its timeline and time to repair,
//! closing with a fault form, who may do what, site scope and hostile input.

use gozcu_shared::checklists::builtin::FAULT_FORM;
use gozcu_shared::checklists::builtin_templates;
use reqwest::StatusCode;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::support::{field_codes, scalar, Backend, Client, TestApp, START_MS};

both!(
    lifecycle_with_timeline_and_repair_time,
    reopening_and_the_linked_fault_form,
    invalid_transitions_and_assignees,
    technician_opens_and_notes_but_cannot_transition,
    scope_limits_faults,
    hostile_fault_input,
    list_filters_search_and_order,
    concurrent_openings_get_distinct_numbers
);

const HOUR: i64 = 3_600_000;

/// Puts a built-in template into `checklist_templates` unless the server
/// already installed it, the way schedules and runs expect to find it.
pub async fn ensure_template(t: &TestApp, id: Uuid) {
    let n = scalar(
        t,
        &format!("SELECT COUNT(*) FROM checklist_templates WHERE id = '{id}'"),
    )
    .await;
    if n > 0 {
        return;
    }
    let template = builtin_templates()
        .into_iter()
        .find(|x| x.id == id)
        .expect("a built-in template");
    sqlx::query(
        "INSERT INTO checklist_templates (id, version, key, purpose, body, builtin, created_at) \
         VALUES ($1, $2, $3, $4, $5, 1, $6)",
    )
    .bind(id.to_string())
    .bind(i64::from(template.version))
    .bind(template.key.clone())
    .bind(template.purpose.as_str())
    .bind(serde_json::to_string(&template).unwrap())
    .bind(START_MS)
    .execute(&t.app.db.pool)
    .await
    .unwrap();
}

/// A checklist run as the run endpoints write it; the tests only need the
/// columns that faults and schedules read.
pub struct Run<'a> {
    pub template: Uuid,
    pub purpose: &'a str,
    pub target_kind: &'a str,
    pub target_id: &'a str,
    pub site_id: &'a str,
    pub completed_at: Option<i64>,
    pub fault_id: Option<&'a str>,
}

pub async fn insert_run(t: &TestApp, run: Run<'_>) -> String {
    ensure_template(t, run.template).await;
    let version = scalar(
        t,
        &format!(
            "SELECT MAX(version) FROM checklist_templates WHERE id = '{}'",
            run.template
        ),
    )
    .await;
    let id = Uuid::now_v7().to_string();
    let status = if run.completed_at.is_some() {
        "completed"
    } else {
        "in_progress"
    };
    sqlx::query(
        "INSERT INTO checklist_runs (id, template_id, template_version, purpose, target_kind, \
         target_id, site_id, status, started_at, completed_at, fault_id, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $9)",
    )
    .bind(id.clone())
    .bind(run.template.to_string())
    .bind(version)
    .bind(run.purpose)
    .bind(run.target_kind)
    .bind(run.target_id)
    .bind(run.site_id)
    .bind(status)
    .bind(run.completed_at.unwrap_or(START_MS) - HOUR)
    .bind(run.completed_at)
    .bind(run.fault_id.map(str::to_owned))
    .execute(&t.app.db.pool)
    .await
    .unwrap();
    id
}

/// A completed fault form linked to `fault`.
async fn fault_form(t: &TestApp, fault: &Value, completed_at: Option<i64>) -> String {
    insert_run(
        t,
        Run {
            template: FAULT_FORM,
            purpose: "fault_form",
            target_kind: "camera",
            target_id: fault["device"]["id"].as_str().unwrap_or("none"),
            site_id: fault["site_id"].as_str().unwrap(),
            completed_at,
            fault_id: fault["id"].as_str(),
        },
    )
    .await
}

async fn user_id(c: &Client) -> String {
    let (_, me) = c.get("/api/v1/auth/me").await;
    me["user"]["id"].as_str().unwrap().to_owned()
}

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_owned()
}

async fn open(c: &Client, body: Value) -> Value {
    let (s, b) = c.post("/api/v1/faults", body).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    b["fault"].clone()
}

async fn step(c: &Client, fault: &str, body: Value) -> (StatusCode, Value) {
    c.post(&format!("/api/v1/faults/{fault}/transition"), body)
        .await
}

async fn step_ok(c: &Client, fault: &str, body: Value) -> Value {
    let (s, b) = step(c, fault, body.clone()).await;
    assert_eq!(s, StatusCode::OK, "{body} → {b}");
    b
}

/// Status code, error code and field errors of an answer.
fn error(s: StatusCode, b: &Value) -> (StatusCode, String, Vec<(String, String)>) {
    (
        s,
        b["code"].as_str().unwrap_or_default().to_owned(),
        field_codes(b),
    )
}

fn err(s: StatusCode, code: &str, field: &str) -> (StatusCode, String, Vec<(String, String)>) {
    (
        s,
        code.to_owned(),
        vec![(field.to_owned(), code.to_owned())],
    )
}

fn kinds(detail: &Value) -> Vec<String> {
    detail["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let kind = e["kind"].as_str().unwrap();
            match e["to_status"].as_str() {
                Some(to) if kind == "transition" => format!("→{to}"),
                _ => kind.to_owned(),
            }
        })
        .collect()
}

async fn lifecycle_with_timeline_and_repair_time(backend: Backend) {
    let t = TestApp::spawn(backend).await;
    let admin = t.admin().await;
    let site = admin.create_site("Merkez Yerleşke").await;
    let cam = id(&admin.create_camera(&site, "Otopark Giriş", json!({})).await);
    let operator = t.user(&admin, "operator", "operator", &[]).await;
    let chief = t.user(&admin, "sef", "supervisor", &[]).await;
    let tech = t.user(&admin, "ayse", "technician", &[]).await;
    let tech_id = user_id(&tech).await;

    // The operator sees the black screen in the monitoring centre and opens
    // the fault from the office.
    let fault = open(
        &operator,
        json!({"site_id": site, "device": {"kind": "camera", "id": cam},
               "title": " Otopark girişi görüntü yok ", "severity": "high"}),
    )
    .await;
    let f = id(&fault);
    assert_eq!(fault["number"], 1);
    assert_eq!(fault["status"], "open");
    assert_eq!(fault["title"], "Otopark girişi görüntü yok");
    assert_eq!(fault["device_name"], "Otopark Giriş");
    assert_eq!(fault["site_name"], "Merkez Yerleşke");
    assert_eq!(fault["opened_at"], START_MS);
    assert_eq!(fault["time_to_repair_ms"], Value::Null);
    let second = open(
        &operator,
        json!({"site_id": site, "title": "B blok fiber kesik"}),
    )
    .await;
    assert_eq!(second["number"], 2, "numbers count up");
    assert_eq!(second["severity"], "medium");

    // Assigning needs someone to assign to.
    let (s, b) = step(&chief, &f, json!({"to": "assigned"})).await;
    assert_eq!(
        error(s, &b),
        err(
            StatusCode::UNPROCESSABLE_ENTITY,
            "assignee_required",
            "assignee_id"
        )
    );
    t.clock.advance_ms(HOUR);
    let b = step_ok(
        &chief,
        &f,
        json!({"to": "assigned", "assignee_id": tech_id, "note": "Ayşe baksın"}),
    )
    .await;
    assert_eq!(b["fault"]["status"], "assigned");
    assert_eq!(b["fault"]["assignee_name"], "ayse");
    let last = b["events"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (
            &last["from_status"],
            &last["to_status"],
            &last["assignee_name"],
            &last["note"],
            &last["by_name"]
        ),
        (
            &json!("open"),
            &json!("assigned"),
            &json!("ayse"),
            &json!("Ayşe baksın"),
            &json!("sef")
        )
    );

    t.clock.advance_ms(HOUR);
    let b = step_ok(
        &chief,
        &f,
        json!({"to": "waiting_vendor", "vendor": "Güvenlik Sistemleri A.Ş.", "vendor_ticket": " TCK-2026-0042 "}),
    )
    .await;
    assert_eq!(b["fault"]["vendor"], "Güvenlik Sistemleri A.Ş.");
    assert_eq!(b["fault"]["vendor_ticket"], "TCK-2026-0042");
    assert_eq!(
        b["fault"]["assignee_id"],
        tech_id.as_str(),
        "the assignee stays"
    );

    // The technician writes what they found while the vendor is away.
    let (s, b) = tech
        .post(
            &format!("/api/v1/faults/{f}/notes"),
            json!({"note": "Lens değişecek, firma parça gönderiyor."}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");

    t.clock.advance_ms(20 * HOUR);
    // A day later everyone has logged in again: sessions last 12 hours.
    let (admin, chief, tech) = (
        t.admin().await,
        t.login("sef", "sef-password-1").await,
        t.login("ayse", "ayse-password-1").await,
    );
    step_ok(&chief, &f, json!({"to": "assigned"})).await;
    t.clock.advance_ms(2 * HOUR);
    let b = step_ok(
        &chief,
        &f,
        json!({"to": "resolved", "note": "Lens değişti, görüntü geldi."}),
    )
    .await;
    let repair = 24 * HOUR;
    assert_eq!(b["fault"]["resolved_at"], START_MS + repair);
    assert_eq!(b["fault"]["time_to_repair_ms"], repair);

    // Closing needs the fault form: none given, an unfinished one, a
    // finished form of another fault — all refused naming the field.
    t.clock.advance_ms(HOUR);
    let (s, b) = step(&chief, &f, json!({"to": "closed"})).await;
    assert_eq!(
        error(s, &b),
        err(
            StatusCode::UNPROCESSABLE_ENTITY,
            "fault_form_required",
            "fault_form_run_id"
        )
    );
    let unfinished = fault_form(&t, &fault, None).await;
    let (s, b) = step(
        &chief,
        &f,
        json!({"to": "closed", "fault_form_run_id": unfinished}),
    )
    .await;
    assert_eq!(
        error(s, &b),
        err(
            StatusCode::UNPROCESSABLE_ENTITY,
            "fault_form_required",
            "fault_form_run_id"
        )
    );
    let others = fault_form(&t, &second, Some(t.app.now_ms())).await;
    let (s, b) = step(
        &chief,
        &f,
        json!({"to": "closed", "fault_form_run_id": others}),
    )
    .await;
    assert_eq!(
        error(s, &b),
        err(
            StatusCode::UNPROCESSABLE_ENTITY,
            "fault_form_required",
            "fault_form_run_id"
        )
    );
    let (s, b) = step(
        &chief,
        &f,
        json!({"to": "closed", "fault_form_run_id": Uuid::now_v7()}),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    let (_, still) = chief.get(&format!("/api/v1/faults/{f}")).await;
    assert_eq!(
        still["fault"]["status"], "resolved",
        "refusals change nothing"
    );

    let form = fault_form(&t, &fault, Some(t.app.now_ms())).await;
    let b = step_ok(
        &chief,
        &f,
        json!({"to": "closed", "fault_form_run_id": form}),
    )
    .await;
    let closed = &b["fault"];
    assert_eq!(closed["status"], "closed");
    assert_eq!(closed["closed_at"], t.app.now_ms());
    assert_eq!(closed["fault_form_run_id"], form.as_str());
    assert_eq!(
        closed["time_to_repair_ms"], repair,
        "closing keeps the repair time"
    );
    assert_eq!(
        kinds(&b),
        [
            "opened",
            "→assigned",
            "→waiting_vendor",
            "note",
            "→assigned",
            "→resolved",
            "→closed"
        ]
    );
    let events = b["events"].as_array().unwrap();
    assert_eq!(events[2]["vendor_ticket"], "TCK-2026-0042");
    assert_eq!(events[3]["note"], "Lens değişecek, firma parça gönderiyor.");
    assert_eq!(events[3]["by_name"], "ayse");
    assert_eq!(events[6]["fault_form_run_id"], form.as_str());
    assert!(events
        .windows(2)
        .all(|w| w[0]["at"].as_i64() <= w[1]["at"].as_i64()));

    // Every write left its audit entry.
    assert_eq!(
        scalar(
            &t,
            &format!(
                "SELECT COUNT(*) FROM audit_log WHERE entity_type = 'fault' AND entity_id = '{f}'"
            )
        )
        .await,
        7
    );
    let (_, log) = admin.get("/api/v1/audit?limit=20").await;
    assert!(log
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["action"] == "transition"
            && e["after"]["status"] == "closed"
            && e["before"]["status"] == "resolved"));

    // Closed is final: no notes, edits or transitions.
    let (s, b) = tech
        .post(
            &format!("/api/v1/faults/{f}/notes"),
            json!({"note": "tekrar"}),
        )
        .await;
    assert_eq!(
        (s, b["code"].as_str()),
        (StatusCode::CONFLICT, Some("fault_closed"))
    );
    let (s, b) = tech
        .put(&format!("/api/v1/faults/{f}"), json!({"title": "x"}))
        .await;
    assert_eq!(
        (s, b["code"].as_str()),
        (StatusCode::CONFLICT, Some("fault_closed"))
    );
    let (s, b) = step(
        &chief,
        &f,
        json!({"to": "assigned", "assignee_id": tech_id}),
    )
    .await;
    assert_eq!(
        error(s, &b),
        err(StatusCode::CONFLICT, "fault_closed", "to")
    );

    // Messages follow the caller's language.
    let resp = chief
        .http
        .post(format!(
            "{}/api/v1/faults/{}/transition",
            chief.base,
            id(&second)
        ))
        .header("x-csrf-token", chief.csrf.clone().unwrap())
        .header("accept-language", "en")
        .json(&json!({"to": "closed"}))
        .send()
        .await
        .unwrap();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["code"], "invalid_transition");
    assert!(body["message"]
        .as_str()
        .unwrap()
        .starts_with("The fault cannot move"));
}

async fn reopening_and_the_linked_fault_form(backend: Backend) {
    let t = TestApp::spawn(backend).await;
    let admin = t.admin().await;
    let site = admin.create_site("Yerleşke").await;
    let cam = id(&admin.create_camera(&site, "Kapı", json!({})).await);
    let admin_id = user_id(&admin).await;
    let fault = open(&admin, json!({"site_id": site, "device": {"kind": "camera", "id": cam}, "title": "Görüntü donuyor"})).await;
    let f = id(&fault);

    // Cleared from the monitoring centre (a remote reboot): straight to resolved.
    t.clock.advance_ms(HOUR);
    let b = step_ok(&admin, &f, json!({"to": "resolved"})).await;
    assert_eq!(b["fault"]["time_to_repair_ms"], HOUR);
    // It came back: reopening clears the resolution and its repair time.
    t.clock.advance_ms(HOUR);
    let b = step_ok(
        &admin,
        &f,
        json!({"to": "assigned", "assignee_id": admin_id}),
    )
    .await;
    assert_eq!(b["fault"]["resolved_at"], Value::Null);
    assert_eq!(b["fault"]["time_to_repair_ms"], Value::Null);
    t.clock.advance_ms(HOUR);
    let b = step_ok(&admin, &f, json!({"to": "resolved"})).await;
    assert_eq!(b["fault"]["time_to_repair_ms"], 3 * HOUR);

    // The technician filled the fault form on the tablet, linked to the
    // fault; the supervisor closes without naming it.
    let form = fault_form(&t, &fault, Some(t.app.now_ms())).await;
    let b = step_ok(&admin, &f, json!({"to": "closed"})).await;
    assert_eq!(b["fault"]["fault_form_run_id"], form.as_str());

    // A form run on the device but not linked to any fault counts only if
    // it was completed after the fault was opened.
    let g = open(&admin, json!({"site_id": site, "device": {"kind": "camera", "id": cam}, "title": "Gece görüntü yok"})).await;
    let gid = id(&g);
    step_ok(&admin, &gid, json!({"to": "resolved"})).await;
    let on_device = |completed_at| Run {
        template: FAULT_FORM,
        purpose: "fault_form",
        target_kind: "camera",
        target_id: &cam,
        site_id: &site,
        completed_at: Some(completed_at),
        fault_id: None,
    };
    let before_fault = insert_run(&t, on_device(t.app.now_ms() - 10 * HOUR)).await;
    let (s, b) = step(
        &admin,
        &gid,
        json!({"to": "closed", "fault_form_run_id": before_fault}),
    )
    .await;
    assert_eq!(
        error(s, &b),
        err(
            StatusCode::UNPROCESSABLE_ENTITY,
            "fault_form_required",
            "fault_form_run_id"
        )
    );
    // A maintenance run is no fault form, however completed.
    let maintenance = insert_run(
        &t,
        Run {
            template: gozcu_shared::checklists::builtin::CAMERA_MAINTENANCE,
            purpose: "maintenance",
            ..on_device(t.app.now_ms())
        },
    )
    .await;
    let (s, _) = step(
        &admin,
        &gid,
        json!({"to": "closed", "fault_form_run_id": maintenance}),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let after = insert_run(&t, on_device(t.app.now_ms())).await;
    let b = step_ok(
        &admin,
        &gid,
        json!({"to": "closed", "fault_form_run_id": after}),
    )
    .await;
    assert_eq!(b["fault"]["status"], "closed");
}

async fn invalid_transitions_and_assignees(backend: Backend) {
    let t = TestApp::spawn(backend).await;
    let admin = t.admin().await;
    let a = admin.create_site("A").await;
    let b_site = admin.create_site("B").await;
    let f = id(&open(&admin, json!({"site_id": a, "title": "Direk eğildi"})).await);

    for to in ["open", "waiting_vendor", "closed"] {
        let (s, b) = step(&admin, &f, json!({"to": to})).await;
        assert_eq!(
            error(s, &b),
            err(StatusCode::CONFLICT, "invalid_transition", "to"),
            "open → {to}"
        );
    }
    let (s, b) = step(&admin, &f, json!({"to": "fixed"})).await;
    assert_eq!(
        (s, b["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_json"))
    );
    let (s, _) = step(
        &admin,
        &Uuid::now_v7().to_string(),
        json!({"to": "resolved"}),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // Assignees: active people who may work on faults at this site.
    let viewer = t.user(&admin, "izleyici", "viewer", &[]).await;
    let elsewhere = t
        .user(&admin, "b-teknisyen", "technician", &[b_site.as_str()])
        .await;
    let (_, gone) = admin
        .post("/api/v1/users", json!({"username": "ayrildi", "display_name": "Ayrıldı", "role": "technician", "password": "ayrildi-password-1"}))
        .await;
    let (s, b) = admin
        .put(&format!("/api/v1/users/{}", id(&gone)), json!({"username": "ayrildi", "display_name": "Ayrıldı", "role": "technician", "active": false}))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    for who in [
        user_id(&viewer).await,
        user_id(&elsewhere).await,
        id(&gone),
        Uuid::now_v7().to_string(),
    ] {
        let (s, b) = step(&admin, &f, json!({"to": "assigned", "assignee_id": who})).await;
        assert_eq!(
            error(s, &b),
            err(
                StatusCode::UNPROCESSABLE_ENTITY,
                "unknown_user",
                "assignee_id"
            )
        );
    }
    let local = t
        .user(&admin, "a-teknisyen", "technician", &[a.as_str()])
        .await;
    let local_id = user_id(&local).await;
    step_ok(
        &admin,
        &f,
        json!({"to": "assigned", "assignee_id": local_id}),
    )
    .await;
    let (s, b) = step(
        &admin,
        &f,
        json!({"to": "assigned", "assignee_id": local_id}),
    )
    .await;
    assert_eq!(
        error(s, &b),
        err(StatusCode::CONFLICT, "invalid_transition", "to"),
        "a doubled click writes nothing"
    );

    // Handing over without a status change.
    let other = t.user(&admin, "mehmet", "technician", &[]).await;
    let other_id = user_id(&other).await;
    let (s, b) = admin
        .post(
            &format!("/api/v1/faults/{f}/assign"),
            json!({"assignee_id": other_id, "note": "Ayşe izinli"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["fault"]["status"], "assigned");
    assert_eq!(b["fault"]["assignee_name"], "mehmet");
    assert_eq!(kinds(&b), ["opened", "→assigned", "reassigned"]);
    let (s, b) = admin
        .post(
            &format!("/api/v1/faults/{f}/assign"),
            json!({"assignee_id": user_id(&viewer).await}),
        )
        .await;
    assert_eq!(
        error(s, &b),
        err(
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_user",
            "assignee_id"
        )
    );
    let g = id(&open(&admin, json!({"site_id": a, "title": "Yeni"})).await);
    let (s, b) = admin
        .post(
            &format!("/api/v1/faults/{g}/assign"),
            json!({"assignee_id": other_id}),
        )
        .await;
    assert_eq!(
        error(s, &b),
        err(StatusCode::CONFLICT, "invalid_transition", "status"),
        "an open fault is assigned through its transition"
    );
}

async fn technician_opens_and_notes_but_cannot_transition(backend: Backend) {
    let t = TestApp::spawn(backend).await;
    let admin = t.admin().await;
    let site = admin.create_site("Saha").await;
    let (_, rec) = admin
        .post(
            "/api/v1/recorders",
            json!({"site_id": site, "name": "NVR-1", "make": "Dahua", "channels": 16}),
        )
        .await;
    let tech = t.user(&admin, "teknisyen", "technician", &[]).await;
    let viewer = t.user(&admin, "izleyici", "viewer", &[]).await;

    let fault = open(
        &tech,
        json!({"site_id": site, "device": {"kind": "recorder", "id": rec["id"]}, "title": "Disk hatası", "severity": "critical", "description": "HDD 3 kırmızı"}),
    )
    .await;
    let f = id(&fault);
    assert_eq!(
        fault["device"],
        json!({"kind": "recorder", "id": rec["id"]})
    );
    assert_eq!(fault["device_name"], "NVR-1");
    let (s, b) = tech
        .post(
            &format!("/api/v1/faults/{f}/notes"),
            json!({"note": "Yedek disk depoda var"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (s, b) = tech
        .put(
            &format!("/api/v1/faults/{f}"),
            json!({"title": "Disk 3 arızalı", "severity": "high", "vendor_ticket": "D-77"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["fault"]["title"], "Disk 3 arızalı");
    assert_eq!(b["fault"]["description"], Value::Null, "PUT replaces");
    assert_eq!(b["fault"]["vendor_ticket"], "D-77");
    assert_eq!(kinds(&b), ["opened", "note", "edited"]);

    for (path, body) in [
        (
            format!("/api/v1/faults/{f}/transition"),
            json!({"to": "resolved"}),
        ),
        (
            format!("/api/v1/faults/{f}/assign"),
            json!({"assignee_id": Uuid::now_v7()}),
        ),
    ] {
        let (s, b) = tech.post(&path, body).await;
        assert_eq!(
            (s, b["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("forbidden")),
            "{path}"
        );
    }
    let (s, _) = viewer
        .post("/api/v1/faults", json!({"site_id": site, "title": "x"}))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = viewer
        .post(&format!("/api/v1/faults/{f}/notes"), json!({"note": "x"}))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, b) = viewer.get(&format!("/api/v1/faults/{f}")).await;
    assert_eq!(s, StatusCode::OK, "everyone may read faults of their scope");
    assert_eq!(b["events"].as_array().unwrap().len(), 3);
}

async fn scope_limits_faults(backend: Backend) {
    let t = TestApp::spawn(backend).await;
    let admin = t.admin().await;
    let a = admin.create_site("A Kampüsü").await;
    let b = admin.create_site("B Kampüsü").await;
    let cam_b = id(&admin.create_camera(&b, "B-1", json!({})).await);
    let in_a = id(&open(&admin, json!({"site_id": a, "title": "A arızası"})).await);
    let in_b = id(&open(&admin, json!({"site_id": b, "title": "B arızası"})).await);
    let tech = t.user(&admin, "saha-a", "technician", &[a.as_str()]).await;
    let chief = t.user(&admin, "sef-a", "supervisor", &[a.as_str()]).await;

    let (_, page) = tech.get("/api/v1/faults").await;
    assert_eq!(page["total"], 1);
    assert_eq!(page["items"][0]["id"], in_a.as_str());
    let (_, page) = tech.get(&format!("/api/v1/faults?site_id={b}")).await;
    assert_eq!(page["total"], 0);
    let (s, _) = tech.get(&format!("/api/v1/faults/{in_b}")).await;
    assert_eq!(
        s,
        StatusCode::NOT_FOUND,
        "out-of-scope faults do not exist for the user"
    );
    let (s, _) = tech
        .post(
            &format!("/api/v1/faults/{in_b}/notes"),
            json!({"note": "x"}),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = tech
        .put(&format!("/api/v1/faults/{in_b}"), json!({"title": "x"}))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = step(&chief, &in_b, json!({"to": "resolved"})).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    step_ok(&chief, &in_a, json!({"to": "resolved"})).await;

    let (s, body) = tech
        .post("/api/v1/faults", json!({"site_id": b, "title": "x"}))
        .await;
    assert_eq!(
        error(s, &body),
        err(StatusCode::FORBIDDEN, "not_in_scope", "site_id")
    );
    // A device of a site outside the scope does not exist for the user.
    let (s, body) = tech
        .post(
            "/api/v1/faults",
            json!({"site_id": a, "device": {"kind": "camera", "id": cam_b}, "title": "x"}),
        )
        .await;
    assert_eq!(
        (s, field_codes(&body)),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            vec![("device".into(), "unknown_device".into())]
        )
    );
    assert_eq!(scalar(&t, "SELECT COUNT(*) FROM faults").await, 2);
}

async fn hostile_fault_input(backend: Backend) {
    let t = TestApp::spawn(backend).await;
    let admin = t.admin().await;
    let a = admin.create_site("A").await;
    let b = admin.create_site("B").await;
    let cam_a = id(&admin.create_camera(&a, "A-1", json!({})).await);
    let cam_b = id(&admin.create_camera(&b, "B-1", json!({})).await);

    let cases = [
        (
            json!({"site_id": a, "title": "x".repeat(201)}),
            vec![("title", "too_long")],
        ),
        (
            json!({"site_id": a, "title": " \n "}),
            vec![("title", "required")],
        ),
        (
            json!({"site_id": a, "title": "x", "description": "d".repeat(5001), "vendor_ticket": "t".repeat(101)}),
            vec![("description", "too_long"), ("vendor_ticket", "too_long")],
        ),
        (
            json!({"site_id": a, "title": "x", "device": {"kind": "camera", "id": Uuid::now_v7()}}),
            vec![("device", "unknown_device")],
        ),
        (
            json!({"site_id": a, "title": "x", "device": {"kind": "recorder", "id": cam_a}}),
            vec![("device", "unknown_device")],
        ),
        (
            json!({"site_id": a, "title": "x", "device": {"kind": "camera", "id": cam_b}}),
            vec![("device", "device_not_in_site")],
        ),
        (
            json!({"site_id": Uuid::now_v7(), "title": "x"}),
            vec![("site_id", "unknown_site")],
        ),
    ];
    for (body, want) in cases {
        let (s, b) = admin.post("/api/v1/faults", body.clone()).await;
        let want: Vec<(String, String)> = want
            .into_iter()
            .map(|(f, c)| (f.into(), c.into()))
            .collect();
        assert_eq!(
            (s, field_codes(&b)),
            (StatusCode::UNPROCESSABLE_ENTITY, want),
            "{body}"
        );
    }
    for body in [
        json!({"site_id": a, "title": "x", "severity": "apocalyptic"}),
        json!({"site_id": "not-a-uuid", "title": "x"}),
        json!({"site_id": a, "title": "x", "device": {"kind": "toaster", "id": cam_a}}),
        json!({"title": "x"}),
        json!([1, 2]),
    ] {
        let (s, b) = admin.post("/api/v1/faults", body.clone()).await;
        assert_eq!(
            (s, b["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_json")),
            "{body}"
        );
    }
    assert_eq!(scalar(&t, "SELECT COUNT(*) FROM faults").await, 0);

    let f = id(&open(&admin, json!({"site_id": a, "title": "Gerçek arıza"})).await);
    let (s, b) = admin
        .post(
            &format!("/api/v1/faults/{f}/notes"),
            json!({"note": "n".repeat(4001)}),
        )
        .await;
    assert_eq!(
        (s, field_codes(&b)),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            vec![("note".into(), "too_long".into())]
        )
    );
    let (s, b) = admin
        .post(&format!("/api/v1/faults/{f}/notes"), json!({"note": "  "}))
        .await;
    assert_eq!(
        (s, field_codes(&b)),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            vec![("note".into(), "required".into())]
        )
    );
    let (s, b) = step(
        &admin,
        &f,
        json!({"to": "resolved", "vendor": "v".repeat(201)}),
    )
    .await;
    assert_eq!(
        (s, field_codes(&b)),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            vec![("vendor".into(), "too_long".into())]
        )
    );
    let (s, b) = admin
        .put(&format!("/api/v1/faults/{f}"), json!({"title": ""}))
        .await;
    assert_eq!(
        (s, field_codes(&b)),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            vec![("title".into(), "required".into())]
        )
    );
    let (s, _) = admin.get("/api/v1/faults/not-a-uuid").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, b) = admin.get("/api/v1/faults?status=broken").await;
    assert_eq!(
        (s, b["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("bad_request"))
    );
    // SQL in the search box is only text.
    let (s, page) = admin
        .get("/api/v1/faults?q=%27%3B%20DROP%20TABLE%20faults%3B--")
        .await;
    assert_eq!((s, &page["total"]), (StatusCode::OK, &json!(0)));
    let (_, page) = admin.get("/api/v1/faults?q=%25").await;
    assert_eq!(page["total"], 0, "% is a literal, not a wildcard");
    let (_, page) = admin.get("/api/v1/faults?limit=100000").await;
    assert_eq!(page["total"], 1);
}

async fn list_filters_search_and_order(backend: Backend) {
    let t = TestApp::spawn(backend).await;
    let admin = t.admin().await;
    let a = admin.create_site("A").await;
    let b = admin.create_site("B").await;
    let cam = id(&admin.create_camera(&a, "Kapı", json!({})).await);
    let first = id(&open(&admin, json!({"site_id": a, "device": {"kind": "camera", "id": cam}, "title": "IŞIK yok, IR arızalı"})).await);
    t.clock.advance_ms(HOUR);
    let second = id(&open(
        &admin,
        json!({"site_id": b, "title": "Fiber kesik", "vendor_ticket": "TT-99_1"}),
    )
    .await);
    t.clock.advance_ms(HOUR);
    let third = id(&open(&admin, json!({"site_id": a, "title": "Görüntü bulanık"})).await);
    step_ok(&admin, &third, json!({"to": "resolved"})).await;

    let ids = |page: &Value| -> Vec<String> {
        page["items"].as_array().unwrap().iter().map(id).collect()
    };
    // Active first, then the newest.
    let (_, page) = admin.get("/api/v1/faults").await;
    assert_eq!(
        ids(&page),
        [second.as_str(), first.as_str(), third.as_str()]
    );
    assert_eq!(page["total"], 3);
    let (_, page) = admin.get("/api/v1/faults?limit=1&offset=1").await;
    assert_eq!(
        (ids(&page), &page["total"]),
        (vec![first.clone()], &json!(3))
    );
    let (_, page) = admin.get(&format!("/api/v1/faults?site_id={a}")).await;
    assert_eq!(ids(&page), [first.as_str(), third.as_str()]);
    let (_, page) = admin.get("/api/v1/faults?status=resolved").await;
    assert_eq!(ids(&page), [third.as_str()]);
    let (_, page) = admin.get("/api/v1/faults?active=true").await;
    assert_eq!(ids(&page), [second.as_str(), first.as_str()]);
    let (_, page) = admin.get("/api/v1/faults?active=false").await;
    assert_eq!(ids(&page), [third.as_str()]);
    let (_, page) = admin.get(&format!("/api/v1/faults?device_id={cam}")).await;
    assert_eq!(ids(&page), [first.as_str()]);
    // Search folds Turkish letters and case, and matches ticket and number.
    for (q, want) in [
        ("isik", vec![first.clone()]),
        ("ışık ir", vec![first.clone()]),
        ("tt-99_1", vec![second.clone()]),
        ("tt-99%", vec![]),
        ("GÖRÜNTÜ", vec![third.clone()]),
    ] {
        let (_, page) = admin
            .get(&format!("/api/v1/faults?q={}", urlencode(q)))
            .await;
        assert_eq!(ids(&page), want, "q={q}");
    }
    // Edits and transitions keep the search text current.
    step_ok(
        &admin,
        &first,
        json!({"to": "assigned", "assignee_id": user_id(&admin).await}),
    )
    .await;
    step_ok(
        &admin,
        &first,
        json!({"to": "waiting_vendor", "vendor_ticket": "HK-5531"}),
    )
    .await;
    let (_, page) = admin.get("/api/v1/faults?q=hk-5531").await;
    assert_eq!(ids(&page), [first.as_str()]);
}

/// Fault numbers are MAX + 1 inside the write transaction: faults opened at
/// the same moment (a power cut blacks out a whole building and several
/// operators report it) must still get distinct, gapless numbers.
async fn concurrent_openings_get_distinct_numbers(backend: Backend) {
    let t = TestApp::spawn(backend).await;
    let admin = t.admin().await;
    let site = admin.create_site("Yerleşke").await;
    let mut set = tokio::task::JoinSet::new();
    for i in 0..12 {
        let http = admin.http.clone();
        let url = format!("{}/api/v1/faults", admin.base);
        let csrf = admin.csrf.clone().unwrap();
        let body = json!({"site_id": site, "title": format!("Elektrik kesintisi {i}")});
        set.spawn(async move {
            let resp = http
                .post(url)
                .header("x-csrf-token", csrf)
                .json(&body)
                .send()
                .await
                .unwrap();
            (resp.status(), resp.json::<Value>().await.unwrap())
        });
    }
    let mut numbers = Vec::new();
    while let Some(done) = set.join_next().await {
        let (s, b) = done.unwrap();
        assert_eq!(s, StatusCode::CREATED, "{b}");
        numbers.push(b["fault"]["number"].as_i64().unwrap());
    }
    numbers.sort_unstable();
    assert_eq!(numbers, (1..=12).collect::<Vec<i64>>());
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
