//! Users limited to some sites see and change only those sites.

use reqwest::StatusCode;
use serde_json::json;

use crate::support::{field_codes, Backend, TestApp};

both!(site_scope_limits_reads_and_writes);

async fn site_scope_limits_reads_and_writes(backend: Backend) {
    let t = TestApp::spawn(backend).await;
    let admin = t.admin().await;
    let a = admin.create_site("A Kampüsü").await;
    let b = admin.create_site("B Kampüsü").await;
    admin.create_camera(&a, "A-1", json!({})).await;
    let in_b = admin.create_camera(&b, "B-1", json!({})).await;
    let tech = t.user(&admin, "saha-a", "technician", &[a.as_str()]).await;

    let (_, sites) = tech.get("/api/v1/sites").await;
    assert_eq!(sites.as_array().unwrap().len(), 1);
    let (_, tree) = tech.get("/api/v1/sites/tree").await;
    assert_eq!(tree[0]["site"]["id"], a.as_str());
    let (_, page) = tech.get("/api/v1/cameras").await;
    assert_eq!(page["total"], 1);
    assert_eq!(page["items"][0]["name"], "A-1");
    let (s, _) = tech
        .get(&format!("/api/v1/cameras/{}", in_b["id"].as_str().unwrap()))
        .await;
    assert_eq!(
        s,
        StatusCode::NOT_FOUND,
        "out-of-scope devices do not exist for the user"
    );
    let (s, b_body) = tech
        .post(
            "/api/v1/cameras",
            json!({"site_id": b, "name": "X", "make": "Axis"}),
        )
        .await;
    assert_eq!(
        (s, field_codes(&b_body)),
        (
            StatusCode::FORBIDDEN,
            vec![("site_id".into(), "not_in_scope".into())]
        )
    );
    let (_, r) = tech
        .import(
            "site,name,make\nB Kampüsü,X,Axis\nA Kampüsü,Y,Axis\n".to_owned(),
            true,
        )
        .await;
    assert_eq!(r["errors"][0]["code"], "not_in_scope");
    assert_eq!(r["valid_rows"], 1);
    let csv = tech
        .http
        .get(format!("{}/api/v1/cameras/export.csv", tech.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(csv.contains("A-1") && !csv.contains("B-1"));
}
