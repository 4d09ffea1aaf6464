//! The role × route matrix: every route of the route table, called by every
//! role, is allowed exactly when the role has the route's permission — and
//! anonymous callers get 401 everywhere but the public routes.

use gozcu_server::http::{routes, Access};
use gozcu_shared::checklists::builtin_templates;
use gozcu_shared::Role;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::{Backend, Client, TestApp};

both!(every_route_times_every_role);

/// Fills `{id}` with an id of the right kind of record.
fn concrete(path: &str, ids: &[(&str, String)]) -> String {
    let (_, id) = ids
        .iter()
        .find(|(prefix, _)| path.starts_with(prefix))
        .unwrap_or_else(|| panic!("no fixture id for {path}"));
    path.replace("{id}", id).replace("{version}", "1")
}

async fn every_route_times_every_role(backend: Backend) {
    let t = TestApp::spawn(backend).await;
    let admin = t.admin().await;
    let site = admin.create_site("Matris").await;
    let (_, b) = admin
        .post("/api/v1/buildings", json!({"site_id": site, "name": "B"}))
        .await;
    let building = b["id"].as_str().unwrap().to_owned();
    let (_, l) = admin
        .post(
            "/api/v1/locations",
            json!({"building_id": building, "name": "L"}),
        )
        .await;
    let location = l["id"].as_str().unwrap().to_owned();
    let camera = admin.create_camera(&site, "C", json!({})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, r) = admin
        .post(
            "/api/v1/recorders",
            json!({"site_id": site, "name": "R", "make": "M", "channels": 4}),
        )
        .await;
    let recorder = r["id"].as_str().unwrap().to_owned();
    let (_, s) = admin
        .post(
            "/api/v1/switches",
            json!({"site_id": site, "name": "S", "make": "M", "ports": 8}),
        )
        .await;
    let switch = s["id"].as_str().unwrap().to_owned();
    // A user that no test logs in as, so deleting it harms nobody.
    let (_, u) = admin.post("/api/v1/users", json!({"username": "hedef", "display_name": "H", "role": "viewer", "password": "hedef-password-1"})).await;
    let user = u["id"].as_str().unwrap().to_owned();
    let (_, f) = admin
        .post(
            "/api/v1/faults",
            json!({"site_id": site, "title": "Matris arızası"}),
        )
        .await;
    let fault = f["fault"]["id"].as_str().unwrap().to_owned();
    let ids = [
        ("/api/v1/sites", site),
        ("/api/v1/buildings", building),
        ("/api/v1/locations", location),
        ("/api/v1/cameras", camera),
        ("/api/v1/recorders", recorder),
        ("/api/v1/switches", switch),
        ("/api/v1/users", user),
        ("/api/v1/faults", fault),
        // No such schedule: allowed callers get 404 (or 400 for the empty
        // body), never a change.
        ("/api/v1/schedules", uuid::Uuid::now_v7().to_string()),
        (
            "/api/v1/checklists/templates",
            builtin_templates()[0].id.to_string(),
        ),
        // No run exists: allowed callers get 404, which the matrix accepts.
        ("/api/v1/checklists/runs", uuid::Uuid::now_v7().to_string()),
    ];

    let mut clients: Vec<(Role, Client)> = Vec::new();
    for role in Role::ALL {
        let c = if role == Role::Admin {
            t.admin().await
        } else {
            t.user(&admin, &format!("u-{}", role.as_str()), role.as_str(), &[])
                .await
        };
        clients.push((role, c));
    }
    let anon = t.anonymous();

    let table = routes();
    assert!(
        table.len() >= 40,
        "the route table lists every endpoint ({} found)",
        table.len()
    );
    let mut checked = 0;
    for route in &table {
        if route.path == "/api/v1/auth/logout" {
            continue; // Would end the session the rest of the matrix uses; tested in auth.
        }
        let path = if route.path.contains("{id}") {
            concrete(route.path, &ids)
        } else {
            // A well-formed hash of no photo: allowed callers get 404 or a
            // 4xx about the missing upload body, never a change.
            route.path.replace("{sha256}", &"0".repeat(64))
        };
        let method = Method::from_bytes(route.method.as_str().as_bytes()).unwrap();
        // An empty object is a valid JSON body that no handler accepts as a
        // full record, so allowed calls end in 4xx validation, never in a
        // change that would disturb the rest of the matrix.
        let body = matches!(route.method.as_str(), "POST" | "PUT").then(|| json!({}));

        let (status, b) = anon.send(method.clone(), &path, body.clone()).await;
        match route.access {
            Access::Public => {
                assert_ne!(status, StatusCode::UNAUTHORIZED, "{} {path}", route.method)
            }
            _ => assert_eq!(
                (status, b["code"].as_str()),
                (StatusCode::UNAUTHORIZED, Some("unauthenticated")),
                "anonymous {} {path}",
                route.method
            ),
        }
        for (role, client) in &clients {
            let allowed = match route.access {
                Access::Public | Access::Session => true,
                Access::Permission(p) => role.allows(p),
            };
            let (status, b) = client.send(method.clone(), &path, body.clone()).await;
            if allowed {
                assert!(
                    status != StatusCode::FORBIDDEN && status != StatusCode::UNAUTHORIZED,
                    "{role:?} should reach {} {path}, got {status} {b}",
                    route.method
                );
                assert!(
                    !status.is_server_error(),
                    "{role:?} {} {path}: {status} {b}",
                    route.method
                );
            } else {
                assert_eq!(
                    (status, b["code"].as_str()),
                    (StatusCode::FORBIDDEN, Some("forbidden")),
                    "{role:?} must not reach {} {path}",
                    route.method
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 200, "checked {checked} role × route pairs");

    // Every documented path is a route of the table, and vice versa.
    let (_, doc) = anon.get("/api/v1/openapi.json").await;
    let documented: std::collections::BTreeSet<String> =
        doc["paths"].as_object().unwrap().keys().cloned().collect();
    let routed: std::collections::BTreeSet<String> =
        table.iter().map(|r| r.path.to_owned()).collect();
    assert_eq!(documented, routed);
}
