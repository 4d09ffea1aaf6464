//! The audit log is append-only and any edit or deletion is found.

use gozcu_shared::audit::ChainBreak;
use reqwest::StatusCode;
use serde_json::json;
use sqlx::Connection;

use crate::support::{Backend, TestApp};

both!(tampering_is_detected);

async fn tampering_is_detected(backend: Backend) {
    let t = TestApp::spawn(backend).await;
    let admin = t.admin().await;
    let site = admin.create_site("Denetim").await;
    for i in 0..5 {
        admin
            .create_camera(&site, &format!("K{i}"), json!({}))
            .await;
    }
    let n = gozcu_server::audit::verify(&t.app.db)
        .await
        .unwrap()
        .expect("intact chain");
    assert!(n >= 7, "admin creation, login, site, 5 cameras: {n}");
    let (s, log) = admin.get("/api/v1/audit?limit=3").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(log.as_array().unwrap().len(), 3);
    assert!(
        log[0]["seq"].as_i64() > log[1]["seq"].as_i64(),
        "newest first"
    );

    // The database refuses edits outright…
    let edit = sqlx::query("UPDATE audit_log SET actor_name = 'someone' WHERE seq = 3")
        .execute(&t.app.db.pool)
        .await;
    assert!(edit.is_err(), "append-only trigger");
    let delete = sqlx::query("DELETE FROM audit_log WHERE seq = 3")
        .execute(&t.app.db.pool)
        .await;
    assert!(delete.is_err(), "append-only trigger");

    // …and someone who removes the guard is still caught by the chain.
    match t.backend {
        Backend::Sqlite => {
            sqlx::query("DROP TRIGGER audit_no_update")
                .execute(&t.app.db.pool)
                .await
                .unwrap();
            sqlx::query("DROP TRIGGER audit_no_delete")
                .execute(&t.app.db.pool)
                .await
                .unwrap();
        }
        Backend::Postgres => {
            let mut c = sqlx::postgres::PgConnection::connect(&t.database_url)
                .await
                .unwrap();
            sqlx::query("DROP TRIGGER audit_no_update ON audit_log")
                .execute(&mut c)
                .await
                .unwrap();
        }
    }
    sqlx::query("UPDATE audit_log SET actor_name = 'someone' WHERE seq = 4")
        .execute(&t.app.db.pool)
        .await
        .unwrap();
    assert_eq!(
        gozcu_server::audit::verify(&t.app.db).await.unwrap(),
        Err(ChainBreak::HashMismatch { seq: 4 })
    );
    sqlx::query("DELETE FROM audit_log WHERE seq = 4")
        .execute(&t.app.db.pool)
        .await
        .unwrap();
    assert_eq!(
        gozcu_server::audit::verify(&t.app.db).await.unwrap(),
        Err(ChainBreak::Gap {
            seq: 5,
            expected: 4
        })
    );
}
