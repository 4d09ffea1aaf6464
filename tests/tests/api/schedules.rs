//! Maintenance schedules: type rules and device overrides, the due list per
//! site under the fake clock, completed runs moving the due date, the
//! monthly calendar, validation and scope.

use gozcu_shared::checklists::builtin::{CAMERA_MAINTENANCE, RECORDER_HEALTH};
use reqwest::StatusCode;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::faults::{ensure_template, insert_run, Run};
use crate::support::{field_codes, scalar, Backend, Client, TestApp};
use gozcu_shared::schedules::UtcOffset;

both!(
    type_rules_device_overrides_and_the_due_list,
    completing_a_run_moves_the_due_date,
    calendar_groups_by_day,
    schedule_validation_and_scope,
    today_is_the_institutions_day_not_utc
);

const DAY: i64 = 86_400_000;

/// Sites and devices shared by the tests; "today" is 2026-11-23.
struct Fleet {
    merkez: String,
    dogu: String,
    /// Installed 2026-01-01: the 180-day camera rule makes it due 2026-06-30.
    k1: String,
    /// Installed 2026-11-01 with its own 30-day rule: due 2026-12-01.
    k2: String,
    /// Registered today without an install date: due in 180 days.
    k5: String,
    /// A recorder of the other site installed 2026-10-01: the 30-day health
    /// check was due 2026-10-31.
    nvr: String,
}

async fn fleet(t: &TestApp, admin: &Client) -> Fleet {
    ensure_template(t, CAMERA_MAINTENANCE).await;
    ensure_template(t, RECORDER_HEALTH).await;
    let merkez = admin.create_site("Merkez").await;
    let dogu = admin.create_site("Doğu").await;
    let cam = |name: &str, extra: Value| {
        let merkez = merkez.clone();
        let name = name.to_owned();
        async move {
            admin.create_camera(&merkez, &name, extra).await["id"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };
    let k1 = cam(
        "K-1",
        json!({"status": "installed", "install_date": "2026-01-01"}),
    )
    .await;
    let k2 = cam(
        "K-2",
        json!({"status": "installed", "install_date": "2026-11-01"}),
    )
    .await;
    // Retired and planned devices are not maintained.
    cam(
        "K-3",
        json!({"status": "retired", "install_date": "2020-01-01"}),
    )
    .await;
    cam("K-4", json!({"install_date": "2020-01-01"})).await;
    let k5 = cam("K-5", json!({"status": "installed"})).await;
    let (s, nvr) = admin
        .post(
            "/api/v1/recorders",
            json!({"site_id": dogu, "name": "NVR-D", "make": "Dahua", "channels": 16, "status": "installed", "install_date": "2026-10-01"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{nvr}");
    for body in [
        json!({"target": {"device_type": "camera"}, "every_days": 180, "template_id": CAMERA_MAINTENANCE}),
        json!({"target": {"device_type": "recorder"}, "every_days": 30, "template_id": RECORDER_HEALTH}),
        // The dusty camera by the construction site.
        json!({"target": {"device": k2}, "every_days": 30, "template_id": CAMERA_MAINTENANCE}),
    ] {
        let (s, b) = admin.post("/api/v1/schedules", body).await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
    }
    Fleet {
        merkez,
        dogu,
        k1,
        k2,
        k5,
        nvr: nvr["id"].as_str().unwrap().to_owned(),
    }
}

/// A site of the due report as `(site name, [(device name, due, overdue days)])`.
type SiteSummary = (String, Vec<(String, String, i64)>);

fn summary(report: &Value) -> Vec<SiteSummary> {
    report["sites"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["site_name"].as_str().unwrap().to_owned(),
                s["items"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|i| {
                        (
                            i["device_name"].as_str().unwrap().to_owned(),
                            i["due"].as_str().unwrap().to_owned(),
                            i["overdue_days"].as_i64().unwrap(),
                        )
                    })
                    .collect(),
            )
        })
        .collect()
}

fn site(name: &str, items: &[(&str, &str, i64)]) -> SiteSummary {
    (
        name.to_owned(),
        items
            .iter()
            .map(|(d, due, o)| ((*d).to_owned(), (*due).to_owned(), *o))
            .collect(),
    )
}

async fn due(c: &Client, query: &str) -> Value {
    let (s, b) = c.get(&format!("/api/v1/maintenance/due{query}")).await;
    assert_eq!(s, StatusCode::OK, "{query}: {b}");
    b
}

async fn type_rules_device_overrides_and_the_due_list(backend: Backend) {
    let t = TestApp::spawn(backend).await;
    let admin = t.admin().await;
    let f = fleet(&t, &admin).await;

    // Default window: everything overdue and what falls due within 30 days.
    // Sites come by name, overdue first within a site.
    let report = due(&admin, "").await;
    assert_eq!(report["today"], "2026-11-23");
    assert_eq!(report["to"], "2026-12-23");
    assert_eq!(
        summary(&report),
        [
            site("Doğu", &[("NVR-D", "2026-10-31", 23)]),
            site(
                "Merkez",
                &[("K-1", "2026-06-30", 146), ("K-2", "2026-12-01", -8)]
            ),
        ]
    );
    let merkez = &report["sites"][1];
    assert_eq!(merkez["site_id"], f.merkez.as_str());
    assert_eq!(merkez["overdue"], 1, "due in the future is not overdue");
    let k1 = &merkez["items"][0];
    assert_eq!(k1["device_id"], f.k1.as_str());
    assert_eq!(k1["device_kind"], "camera");
    assert_eq!(k1["template_id"], CAMERA_MAINTENANCE.to_string());
    assert_eq!(k1["template_key"], "camera_maintenance");
    assert!(k1["template_title"]["tr"]
        .as_str()
        .is_some_and(|s| !s.is_empty()));
    assert_eq!(k1["every_days"], 180);
    assert_eq!(k1["last_completed"], Value::Null);
    assert_eq!(
        merkez["items"][1]["every_days"], 30,
        "the device rule replaced the type rule"
    );

    // Windows and filters.
    assert_eq!(
        summary(&due(&admin, "?to=2026-11-23").await),
        [
            site("Doğu", &[("NVR-D", "2026-10-31", 23)]),
            site("Merkez", &[("K-1", "2026-06-30", 146)]),
        ]
    );
    assert_eq!(
        summary(&due(&admin, "?from=2026-11-01&to=2027-06-01").await),
        [site(
            "Merkez",
            &[("K-2", "2026-12-01", -8), ("K-5", "2027-05-22", -180)]
        )]
    );
    assert_eq!(
        summary(&due(&admin, &format!("?site_id={}", f.dogu)).await),
        [site("Doğu", &[("NVR-D", "2026-10-31", 23)])]
    );
    let tech = t
        .user(&admin, "merkez-tek", "technician", &[f.merkez.as_str()])
        .await;
    let mine = due(&tech, "").await;
    assert_eq!(
        mine["sites"].as_array().unwrap().len(),
        1,
        "scope limits the list"
    );
    assert_eq!(mine["sites"][0]["site_name"], "Merkez");

    // Time passes: overdue days grow, and K-2 becomes overdue.
    t.clock.advance_ms(10 * DAY);
    let admin = t.admin().await;
    assert_eq!(
        summary(&due(&admin, &format!("?site_id={}", f.merkez)).await),
        [site(
            "Merkez",
            &[("K-1", "2026-06-30", 156), ("K-2", "2026-12-01", 2)]
        )]
    );

    // A device rule overrides the type rule even when it is longer (an
    // indoor camera), and deleting it brings the type rule back.
    let (s, rule) = admin
        .post("/api/v1/schedules", json!({"target": {"device": f.k1}, "every_days": 365, "template_id": CAMERA_MAINTENANCE}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{rule}");
    let (_, all) = admin.get("/api/v1/schedules").await;
    assert_eq!(all.as_array().unwrap().len(), 4);
    assert_eq!(
        all[0]["target"],
        json!({"device_type": "camera"}),
        "type rules first"
    );
    assert_eq!(
        summary(&due(&admin, &format!("?site_id={}", f.merkez)).await),
        [site(
            "Merkez",
            &[("K-2", "2026-12-01", 2), ("K-1", "2027-01-01", -29)]
        )]
    );
    let rule_id = rule["id"].as_str().unwrap();
    let (s, b) = admin
        .put(&format!("/api/v1/schedules/{rule_id}"), json!({"target": {"device": f.k1}, "every_days": 90, "template_id": CAMERA_MAINTENANCE}))
        .await;
    assert_eq!((s, &b["every_days"]), (StatusCode::OK, &json!(90)));
    let (s, _) = admin.delete(&format!("/api/v1/schedules/{rule_id}")).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(
        summary(&due(&admin, &format!("?site_id={}", f.merkez)).await)[0].1[0],
        ("K-1".to_owned(), "2026-06-30".to_owned(), 156)
    );
    assert_eq!(
        scalar(&t, &format!("SELECT COUNT(*) FROM audit_log WHERE entity_type = 'maintenance_schedule' AND entity_id = '{rule_id}'")).await,
        3
    );

    // Bad windows name their parameter.
    for (query, field, code) in [
        ("?to=2026-13-01", "to", "invalid_date"),
        ("?from=yesterday", "from", "invalid_date"),
        ("?from=2026-12-10&to=2026-12-01", "from", "invalid_range"),
    ] {
        let (s, b) = admin.get(&format!("/api/v1/maintenance/due{query}")).await;
        assert_eq!(
            (s, field_codes(&b)),
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                vec![(field.into(), code.into())]
            ),
            "{query}"
        );
    }
    let _ = (f.k2, f.k5, f.nvr);
}

/// A completed (or, without a date, unfinished) run on a device.
fn run<'a>(
    template: Uuid,
    purpose: &'a str,
    target_kind: &'a str,
    target_id: &'a str,
    site_id: &'a str,
    completed_at: Option<i64>,
) -> Run<'a> {
    Run {
        template,
        purpose,
        target_kind,
        target_id,
        site_id,
        completed_at,
        fault_id: None,
    }
}

async fn completing_a_run_moves_the_due_date(backend: Backend) {
    let t = TestApp::spawn(backend).await;
    let admin = t.admin().await;
    let f = fleet(&t, &admin).await;
    let now = t.app.now_ms();
    let (k1, merkez) = (f.k1.as_str(), f.merkez.as_str());
    let cleaning = |completed_at| {
        run(
            CAMERA_MAINTENANCE,
            "maintenance",
            "camera",
            k1,
            merkez,
            completed_at,
        )
    };

    // A run still in progress and a run of another template change nothing.
    insert_run(&t, cleaning(None)).await;
    insert_run(
        &t,
        run(
            RECORDER_HEALTH,
            "recorder_health",
            "camera",
            k1,
            merkez,
            Some(now),
        ),
    )
    .await;
    let report = due(&admin, &format!("?site_id={merkez}")).await;
    assert_eq!(report["sites"][0]["items"][0]["due"], "2026-06-30");

    // The completed maintenance: the next one is 180 days after it, and the
    // list remembers when it was done. An older run does not count.
    insert_run(&t, cleaning(Some(now - 100 * DAY))).await;
    insert_run(&t, cleaning(Some(now))).await;
    assert_eq!(
        summary(&due(&admin, &format!("?site_id={merkez}")).await),
        [site("Merkez", &[("K-2", "2026-12-01", -8)])]
    );
    let later = due(&admin, &format!("?site_id={merkez}&to=2027-06-30")).await;
    let k1_item = later["sites"][0]["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["device_id"] == k1)
        .unwrap()
        .clone();
    assert_eq!(k1_item["due"], "2027-05-22");
    assert_eq!(k1_item["last_completed"], "2026-11-23");

    // The recorder's health check done today moves it off the overdue list,
    // 30 days ahead.
    insert_run(
        &t,
        run(
            RECORDER_HEALTH,
            "recorder_health",
            "recorder",
            &f.nvr,
            &f.dogu,
            Some(now),
        ),
    )
    .await;
    assert_eq!(
        summary(&due(&admin, &format!("?site_id={}", f.dogu)).await),
        [site("Doğu", &[("NVR-D", "2026-12-23", -30)])]
    );
    let (_, cal) = admin
        .get("/api/v1/maintenance/calendar?month=2026-12")
        .await;
    assert!(
        days(&cal).contains(&day("2026-12-23", &[("NVR-D", false)])),
        "the real due date now, not a projection"
    );
}

/// The calendar as `(date, [(device name, projected)])`.
fn days(cal: &Value) -> Vec<(String, Vec<(String, bool)>)> {
    cal["days"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["date"].as_str().unwrap().to_owned(),
                d["items"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|i| {
                        (
                            i["device_name"].as_str().unwrap().to_owned(),
                            i["projected"].as_bool().unwrap(),
                        )
                    })
                    .collect(),
            )
        })
        .collect()
}

fn day(date: &str, items: &[(&str, bool)]) -> (String, Vec<(String, bool)>) {
    (
        date.to_owned(),
        items.iter().map(|(n, p)| ((*n).to_owned(), *p)).collect(),
    )
}

async fn calendar_groups_by_day(backend: Backend) {
    let t = TestApp::spawn(backend).await;
    let admin = t.admin().await;
    let f = fleet(&t, &admin).await;

    // This month: what is overdue is planned for today.
    let (s, cal) = admin.get("/api/v1/maintenance/calendar").await;
    assert_eq!(s, StatusCode::OK, "{cal}");
    assert_eq!(cal["month"], "2026-11");
    assert_eq!(
        days(&cal),
        [day("2026-11-23", &[("K-1", false), ("NVR-D", false)])]
    );
    assert_eq!(
        cal["days"][0]["items"][0]["due"], "2026-06-30",
        "the real due date stays"
    );
    assert_eq!(cal["days"][0]["items"][0]["overdue_days"], 146);

    // Next month: K-2's real due date, then the occurrences that follow if
    // each run is done when planned.
    let (_, cal) = admin
        .get("/api/v1/maintenance/calendar?month=2026-12")
        .await;
    assert_eq!(
        days(&cal),
        [
            day("2026-12-01", &[("K-2", false)]),
            day("2026-12-23", &[("NVR-D", true)]),
            day("2026-12-31", &[("K-2", true)]),
        ]
    );
    assert_eq!(cal["days"][1]["items"][0]["due"], "2026-12-23");
    assert_eq!(cal["days"][1]["items"][0]["overdue_days"], -30);
    let (_, cal) = admin
        .get(&format!(
            "/api/v1/maintenance/calendar?month=2026-12&site_id={}",
            f.dogu
        ))
        .await;
    assert_eq!(days(&cal), [day("2026-12-23", &[("NVR-D", true)])]);
    // The calendar shows work to do, not history.
    let (_, cal) = admin
        .get("/api/v1/maintenance/calendar?month=2026-10")
        .await;
    assert_eq!(days(&cal), []);
    // Months later, the camera rules come round again.
    let (_, cal) = admin
        .get("/api/v1/maintenance/calendar?month=2027-05")
        .await;
    let may = days(&cal);
    assert!(
        may.contains(&day(
            "2027-05-22",
            &[("K-1", true), ("NVR-D", true), ("K-5", false)]
        )),
        "{may:?}"
    );

    for bad in ["2026-13", "2026", "12-2026", "2026-12-01"] {
        let (s, b) = admin
            .get(&format!("/api/v1/maintenance/calendar?month={bad}"))
            .await;
        assert_eq!(
            (s, field_codes(&b)),
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                vec![("month".into(), "invalid_date".into())]
            ),
            "{bad}"
        );
    }
    let _ = (f.k1, f.k2, f.k5, f.nvr, f.merkez);
}

async fn schedule_validation_and_scope(backend: Backend) {
    let t = TestApp::spawn(backend).await;
    let admin = t.admin().await;
    let f = fleet(&t, &admin).await;
    let cases = [
        (
            json!({"target": {"device_type": "camera"}, "every_days": 0, "template_id": CAMERA_MAINTENANCE}),
            vec![("every_days", "out_of_range")],
        ),
        (
            json!({"target": {"device_type": "camera"}, "every_days": 3651, "template_id": CAMERA_MAINTENANCE}),
            vec![("every_days", "out_of_range")],
        ),
        (
            json!({"target": {"device_type": "camera"}, "every_days": 30, "template_id": Uuid::now_v7()}),
            vec![("template_id", "unknown_template")],
        ),
        (
            json!({"target": {"device_type": "camera"}, "every_days": 30, "template_id": Uuid::nil()}),
            vec![("template_id", "required")],
        ),
        (
            json!({"target": {"device": Uuid::now_v7()}, "every_days": 30, "template_id": Uuid::now_v7()}),
            vec![
                ("target", "unknown_device"),
                ("template_id", "unknown_template"),
            ],
        ),
        (
            json!({"target": {"device": Uuid::nil()}, "every_days": 30, "template_id": CAMERA_MAINTENANCE}),
            vec![("target", "required")],
        ),
    ];
    for (body, want) in cases {
        let (s, b) = admin.post("/api/v1/schedules", body.clone()).await;
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
        json!({"target": {"device_type": "toaster"}, "every_days": 30, "template_id": CAMERA_MAINTENANCE}),
        json!({"target": {"device_type": "camera"}, "every_days": -1, "template_id": CAMERA_MAINTENANCE}),
        json!({"target": "camera", "every_days": 30, "template_id": CAMERA_MAINTENANCE}),
        json!({"every_days": 30, "template_id": CAMERA_MAINTENANCE}),
    ] {
        let (s, b) = admin.post("/api/v1/schedules", body.clone()).await;
        assert_eq!(
            (s, b["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_json")),
            "{body}"
        );
    }
    assert_eq!(
        scalar(&t, "SELECT COUNT(*) FROM maintenance_schedules").await,
        3
    );
    let (s, _) = admin
        .put(&format!("/api/v1/schedules/{}", Uuid::now_v7()), json!({"target": {"device_type": "camera"}, "every_days": 30, "template_id": CAMERA_MAINTENANCE}))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // Technicians and operators follow schedules; supervisors set them.
    let ok =
        json!({"target": {"device": f.k1}, "every_days": 60, "template_id": CAMERA_MAINTENANCE});
    for role in ["technician", "operator", "viewer"] {
        let c = t.user(&admin, &format!("u-{role}"), role, &[]).await;
        let (s, _) = c.post("/api/v1/schedules", ok.clone()).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{role}");
        let (s, _) = c.get("/api/v1/schedules").await;
        assert_eq!(s, StatusCode::OK, "{role} reads schedules");
    }

    // A supervisor of one site sets rules for its devices only: a type rule
    // would change every site.
    let chief = t
        .user(&admin, "sef-merkez", "supervisor", &[f.merkez.as_str()])
        .await;
    let (s, b) = chief
        .post("/api/v1/schedules", json!({"target": {"device_type": "switch"}, "every_days": 30, "template_id": CAMERA_MAINTENANCE}))
        .await;
    assert_eq!(
        (s, field_codes(&b)),
        (
            StatusCode::FORBIDDEN,
            vec![("target".into(), "not_in_scope".into())]
        )
    );
    let (s, b) = chief
        .post(
            "/api/v1/schedules",
            json!({"target": {"device": f.nvr}, "every_days": 30, "template_id": RECORDER_HEALTH}),
        )
        .await;
    assert_eq!(
        (s, field_codes(&b)),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            vec![("target".into(), "unknown_device".into())]
        )
    );
    let (s, mine) = chief.post("/api/v1/schedules", ok.clone()).await;
    assert_eq!(s, StatusCode::CREATED, "{mine}");
    let (s, other) = admin
        .post(
            "/api/v1/schedules",
            json!({"target": {"device": f.nvr}, "every_days": 7, "template_id": RECORDER_HEALTH}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{other}");
    let (_, seen) = chief.get("/api/v1/schedules").await;
    let seen: Vec<&str> = seen
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        seen.len(),
        4,
        "two type rules, K-2's rule and their own: {seen:?}"
    );
    assert!(seen.contains(&mine["id"].as_str().unwrap()));
    assert!(!seen.contains(&other["id"].as_str().unwrap()));
    let (s, _) = chief
        .delete(&format!(
            "/api/v1/schedules/{}",
            other["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (_, all) = admin.get("/api/v1/schedules").await;
    let type_rule = all[0]["id"].as_str().unwrap();
    let (s, b) = chief
        .delete(&format!("/api/v1/schedules/{type_rule}"))
        .await;
    assert_eq!(
        (s, b["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("not_in_scope"))
    );
    let (s, _) = chief
        .delete(&format!(
            "/api/v1/schedules/{}",
            mine["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let _ = (f.k2, f.k5, f.dogu);
}

/// At 01:30 in Turkey (22:30 UTC the evening before) it is already the new
/// day: for what is overdue, for the day a run was done on, for a device
/// registered then, for warranties. A server configured for UTC sees the
/// same instants on the day before.
async fn today_is_the_institutions_day_not_utc(backend: Backend) {
    const HALF_PAST_TEN_PM: i64 = 22 * 3_600_000 + 30 * 60_000;
    // (configured offset, the day it is at 2026-11-23T22:30Z there)
    for (offset, today, next_k1, overdue_nvr, warranty_days) in [
        (None, "2026-11-24", "2027-05-23", 24, 0),
        (Some("+00:00"), "2026-11-23", "2027-05-22", 23, 1),
    ] {
        let t = TestApp::spawn_with(backend, |s| {
            if let Some(o) = offset {
                s.utc_offset = UtcOffset::parse(o).unwrap();
            }
        })
        .await;
        t.clock.advance_ms(HALF_PAST_TEN_PM);
        let admin = t.admin().await;
        let f = fleet(&t, &admin).await;
        admin
            .create_camera(
                &f.merkez,
                "K-6",
                json!({"status": "installed", "warranty_end": "2026-11-24"}),
            )
            .await;

        let report = due(&admin, "").await;
        assert_eq!(report["today"], today, "{offset:?}");
        assert_eq!(
            report["utc_offset_minutes"],
            if offset.is_none() { 180 } else { 0 }
        );
        assert_eq!(report["sites"][0]["items"][0]["device_name"], "NVR-D");
        assert_eq!(
            report["sites"][0]["items"][0]["overdue_days"], overdue_nvr,
            "{offset:?}"
        );
        let (_, cal) = admin.get("/api/v1/maintenance/calendar").await;
        assert_eq!(cal["today"], today);
        assert_eq!(
            cal["days"][0]["date"], today,
            "overdue work is planned for today"
        );

        // A run finished now was done "today", and the next one counts from it.
        let now = t.app.now_ms();
        insert_run(
            &t,
            run(
                CAMERA_MAINTENANCE,
                "maintenance",
                "camera",
                &f.k1,
                &f.merkez,
                Some(now),
            ),
        )
        .await;
        let later = due(&admin, &format!("?site_id={}&to=2027-06-30", f.merkez)).await;
        let items = later["sites"][0]["items"].as_array().unwrap();
        let k1 = items
            .iter()
            .find(|i| i["device_id"] == f.k1.as_str())
            .unwrap();
        assert_eq!(
            (&k1["last_completed"], &k1["due"]),
            (&json!(today), &json!(next_k1))
        );
        // K-5 was registered now, without an install date: counted from today.
        let k5 = items
            .iter()
            .find(|i| i["device_id"] == f.k5.as_str())
            .unwrap();
        assert_eq!(k5["due"], next_k1, "{offset:?}");

        let (s, w) = admin.get("/api/v1/warranty?within_days=30").await;
        assert_eq!(s, StatusCode::OK, "{w}");
        let k6 = w
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["name"] == "K-6")
            .unwrap();
        assert_eq!(k6["days_left"], warranty_days, "{offset:?}");
    }
}
