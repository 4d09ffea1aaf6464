//! Hostile and broken input gets a clear 4xx in the API's error format and
//! changes nothing.

use reqwest::StatusCode;
use serde_json::json;

use crate::support::{Backend, TestApp};

both!(hostile_input_gets_clear_errors);

async fn hostile_input_gets_clear_errors(backend: Backend) {
    let t = TestApp::spawn(backend).await;
    let admin = t.admin().await;
    let site = admin.create_site("Sahne").await;
    admin
        .create_camera(&site, "Normal", json!({"serial": "N1"}))
        .await;

    // Oversized JSON.
    let big = "x".repeat(200 * 1024);
    let (s, b) = admin.post("/api/v1/sites", json!({"name": big})).await;
    assert_eq!(
        (s, b["code"].as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, Some("body_too_large"))
    );
    // Oversized login body.
    let (s, _) = t
        .anonymous()
        .post(
            "/api/v1/auth/login",
            json!({"username": big, "password": "x"}),
        )
        .await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE);
    // Broken JSON and wrong types name the problem.
    let resp = admin
        .http
        .post(format!("{}/api/v1/sites", admin.base))
        .header("x-csrf-token", admin.csrf.clone().unwrap())
        .header("content-type", "application/json")
        .body("{\"name\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        resp.json::<serde_json::Value>().await.unwrap()["code"],
        "invalid_json"
    );
    let (s, b) = admin
        .post(
            "/api/v1/recorders",
            json!({"site_id": site, "name": "R", "make": "M", "channels": "many"}),
        )
        .await;
    assert_eq!(
        (s, b["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_json"))
    );
    assert!(b["message"].as_str().unwrap().contains("channels"), "{b}");
    // Invalid UTF-8 in a CSV names the line.
    let mut csv = b"site,name,make\nSahne,Bir,Axis\nSahne,".to_vec();
    csv.extend_from_slice(&[0xC3, 0x28]);
    csv.extend_from_slice(b",Axis\n");
    let (s, b) = admin.import(csv, true).await;
    assert_eq!(
        (s, b["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_utf8"))
    );
    assert_eq!(b["fields"][0]["line"], 3);
    // SQL metacharacters are just text, in search and in stored values.
    for q in [
        "' OR 1=1 --",
        "\"; DROP TABLE cameras; --",
        "%' UNION SELECT * FROM users --",
        "\\",
    ] {
        let (s, p) = admin
            .get(&format!("/api/v1/cameras?q={}", urlencode(q)))
            .await;
        assert_eq!((s, p["total"].as_u64()), (StatusCode::OK, Some(0)), "{q}");
    }
    let (s, _) = admin
        .get("/api/v1/cameras?sort=name;DROP%20TABLE%20cameras&order=sideways")
        .await;
    assert_eq!(s, StatusCode::OK, "unknown sort keys fall back to name");
    let evil = admin
        .create_camera(&site, "x'); DROP TABLE cameras;--", json!({}))
        .await;
    let (_, p) = admin.get("/api/v1/cameras?q=drop%20table").await;
    assert_eq!(p["items"][0]["id"], evil["id"]);
    // Bad query parameters, unknown paths, wrong ids.
    let (s, b) = admin.get("/api/v1/cameras?limit=-1").await;
    assert_eq!(
        (s, b["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("bad_request"))
    );
    let (s, b) = admin.get("/api/v1/no-such-thing").await;
    assert_eq!(
        (s, b["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    let (s, _) = admin.get("/api/v1/cameras/not-a-uuid").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    // English on request.
    let resp = admin
        .http
        .get(format!(
            "{}/api/v1/cameras/{}",
            admin.base,
            uuid::Uuid::now_v7()
        ))
        .header("accept-language", "en-GB,en;q=0.9")
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.json::<serde_json::Value>().await.unwrap()["message"],
        "Not found."
    );
    // Nothing above changed the inventory.
    let (_, p) = admin.get("/api/v1/cameras").await;
    assert_eq!(p["total"], 2);
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
