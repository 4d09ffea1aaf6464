//! Warranty reminders and their acknowledgement.

use reqwest::StatusCode;
use serde_json::json;

use crate::support::{Backend, TestApp};

both!(warranty_reminders_can_be_acknowledged);

async fn warranty_reminders_can_be_acknowledged(backend: Backend) {
    let t = TestApp::spawn(backend).await;
    let admin = t.admin().await;
    let site = admin.create_site("Garanti").await;
    // "Today" is 2026-11-23 on the fake clock.
    let soon = admin
        .create_camera(&site, "Yakında", json!({"warranty_end": "2026-12-10"}))
        .await;
    admin
        .create_camera(&site, "Geçmiş", json!({"warranty_end": "2026-11-01"}))
        .await;
    admin
        .create_camera(&site, "Uzak", json!({"warranty_end": "2027-04-01"}))
        .await;
    admin.post("/api/v1/recorders", json!({"site_id": site, "name": "NVR", "make": "M", "channels": 4, "warranty_end": "2027-02-01"})).await;

    let names = |v: &serde_json::Value| {
        v.as_array()
            .unwrap()
            .iter()
            .map(|i| i["name"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    let (_, l30) = admin.get("/api/v1/warranty?within_days=30").await;
    assert_eq!(names(&l30), vec!["Geçmiş", "Yakında"]);
    assert_eq!(l30[1]["days_left"], 17);
    assert_eq!(l30[0]["days_left"], -22);
    let (_, l90) = admin.get("/api/v1/warranty?within_days=90").await;
    assert_eq!(names(&l90), vec!["Geçmiş", "Yakında", "NVR"]);
    let (_, l180) = admin.get("/api/v1/warranty?within_days=180").await;
    assert_eq!(l180.as_array().unwrap().len(), 4);

    let (s, _) = admin
        .post(
            "/api/v1/warranty/ack",
            json!({"kind": "camera", "id": soon["id"]}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, l30) = admin.get("/api/v1/warranty?within_days=30").await;
    assert_eq!(
        names(&l30),
        vec!["Geçmiş"],
        "acknowledged reminders stay away"
    );
    let (_, all) = admin
        .get("/api/v1/warranty?within_days=30&include_acknowledged=true")
        .await;
    assert_eq!(all[1]["acknowledged"], true);
    // A new end date is a new reminder.
    let mut c = soon.clone();
    c["warranty_end"] = json!("2026-12-12");
    admin
        .put(
            &format!("/api/v1/cameras/{}", soon["id"].as_str().unwrap()),
            c,
        )
        .await;
    let (_, l30) = admin.get("/api/v1/warranty?within_days=30").await;
    assert_eq!(names(&l30), vec!["Geçmiş", "Yakında"]);
    // Viewers may read the list but not acknowledge.
    let viewer = t.user(&admin, "izleyici", "viewer", &[]).await;
    assert_eq!(viewer.get("/api/v1/warranty").await.0, StatusCode::OK);
    assert_eq!(
        viewer
            .post(
                "/api/v1/warranty/ack",
                json!({"kind": "camera", "id": soon["id"]})
            )
            .await
            .0,
        StatusCode::FORBIDDEN
    );
}
