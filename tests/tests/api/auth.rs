//! Login, CSRF, lockout, session expiry and user management.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::{field_codes, Backend, TestApp, ADMIN_PASSWORD};

both!(
    login_sets_a_strict_httponly_cookie,
    csrf_is_required_on_mutations,
    lockout_after_repeated_failures,
    sessions_expire,
    user_management_ends_sessions
);

async fn login_sets_a_strict_httponly_cookie(backend: Backend) {
    let t = TestApp::spawn(backend).await;
    let resp = reqwest::Client::new()
        .post(format!("{}/api/v1/auth/login", t.base))
        .json(&json!({"username": "admin", "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let cookie = resp.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("gozcu_session="));
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(attr), "{cookie} lacks {attr}");
    }
    assert!(!cookie.contains("Secure"), "plain http on loopback");
    // Behind a TLS-terminating proxy the cookie is Secure.
    let resp = reqwest::Client::new()
        .post(format!("{}/api/v1/auth/login", t.base))
        .header("x-forwarded-proto", "https")
        .json(&json!({"username": "admin", "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert!(resp.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .contains("; Secure"));

    let anon = t.anonymous();
    let (s, b) = anon.get("/api/v1/auth/me").await;
    assert_eq!(
        (s, b["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("unauthenticated"))
    );
    let admin = t.admin().await;
    let (s, me) = admin.get("/api/v1/auth/me").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(me["user"]["role"], "admin");
    let (s, _) = admin.send(Method::POST, "/api/v1/auth/logout", None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = admin.get("/api/v1/auth/me").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}

async fn csrf_is_required_on_mutations(backend: Backend) {
    let t = TestApp::spawn(backend).await;
    let mut admin = t.admin().await;
    let good = admin.csrf.take();
    let (s, b) = admin.post("/api/v1/sites", json!({"name": "X"})).await;
    assert_eq!(
        (s, b["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("csrf_failed"))
    );
    admin.csrf = Some("wrong-token".into());
    let (s, _) = admin.post("/api/v1/sites", json!({"name": "X"})).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // Reads need no token.
    let (s, _) = admin.get("/api/v1/sites").await;
    assert_eq!(s, StatusCode::OK);
    admin.csrf = good;
    let (s, _) = admin.post("/api/v1/sites", json!({"name": "X"})).await;
    assert_eq!(s, StatusCode::CREATED);
    // Another session's token does not work either.
    let other = t.admin().await;
    admin.csrf = other.csrf.clone();
    let (s, _) = admin.post("/api/v1/sites", json!({"name": "Y"})).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

async fn lockout_after_repeated_failures(backend: Backend) {
    let t = TestApp::spawn(backend).await;
    let anon = t.anonymous();
    let login = |pw: &'static str| {
        anon.post(
            "/api/v1/auth/login",
            json!({"username": "admin", "password": pw}),
        )
    };
    for _ in 0..4 {
        let (s, b) = login("wrong-password").await;
        assert_eq!(
            (s, b["code"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("invalid_credentials"))
        );
    }
    let (s, b) = login("wrong-password").await;
    assert_eq!(
        (s, b["code"].as_str()),
        (StatusCode::LOCKED, Some("account_locked"))
    );
    // Even the right password is refused while locked.
    let (s, _) = anon
        .post(
            "/api/v1/auth/login",
            json!({"username": "admin", "password": ADMIN_PASSWORD}),
        )
        .await;
    assert_eq!(s, StatusCode::LOCKED);
    t.clock.advance_ms(16 * 60_000);
    let (s, _) = anon
        .post(
            "/api/v1/auth/login",
            json!({"username": "admin", "password": ADMIN_PASSWORD}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    // Unknown users look exactly like wrong passwords.
    let (s, b) = anon
        .post(
            "/api/v1/auth/login",
            json!({"username": "nobody", "password": "x"}),
        )
        .await;
    assert_eq!(
        (s, b["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_credentials"))
    );
    // Failed logins are audited.
    let admin = t.admin().await;
    let (_, log) = admin.get("/api/v1/audit?limit=100").await;
    let failed = log
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "login_failed")
        .count();
    assert_eq!(failed, 7);
}

async fn sessions_expire(backend: Backend) {
    let t = TestApp::spawn(backend).await;
    let admin = t.admin().await;
    t.clock.advance_ms(11 * 3_600_000);
    assert_eq!(admin.get("/api/v1/sites").await.0, StatusCode::OK);
    t.clock.advance_ms(2 * 3_600_000);
    let (s, b) = admin.get("/api/v1/sites").await;
    assert_eq!(
        (s, b["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("unauthenticated"))
    );
}

async fn user_management_ends_sessions(backend: Backend) {
    let t = TestApp::spawn(backend).await;
    let admin = t.admin().await;
    let tech = t.user(&admin, "teknisyen1", "technician", &[]).await;
    assert_eq!(tech.get("/api/v1/cameras").await.0, StatusCode::OK);
    let (_, users) = admin.get("/api/v1/users").await;
    let tid = users
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == "teknisyen1")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let (s, b) = admin.post("/api/v1/users", json!({"username": "teknisyen1", "display_name": "x", "role": "viewer", "password": "long-enough-1"})).await;
    assert_eq!(
        (s, field_codes(&b)),
        (
            StatusCode::CONFLICT,
            vec![("username".into(), "duplicate_name".into())]
        )
    );
    let (s, b) = admin
        .post(
            "/api/v1/users",
            json!({"username": "kisa", "display_name": "x", "role": "viewer", "password": "short"}),
        )
        .await;
    assert_eq!(
        (s, field_codes(&b)),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            vec![("password".into(), "weak_password".into())]
        )
    );

    // Disabling a user ends their session at once.
    let (s, b) = admin.put(&format!("/api/v1/users/{tid}"), json!({"username": "teknisyen1", "display_name": "T", "role": "technician", "active": false})).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(
        tech.get("/api/v1/cameras").await.0,
        StatusCode::UNAUTHORIZED
    );
    let (s, _) = t
        .anonymous()
        .post(
            "/api/v1/auth/login",
            json!({"username": "teknisyen1", "password": "teknisyen1-password-1"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    // An admin cannot lock themselves out.
    let (_, me) = admin.get("/api/v1/auth/me").await;
    let (s, _) = admin
        .put(
            &format!("/api/v1/users/{}", me["user"]["id"].as_str().unwrap()),
            json!({"username": "admin", "display_name": "A", "role": "viewer"}),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (s, _) = admin.delete(&format!("/api/v1/users/{tid}")).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
}
