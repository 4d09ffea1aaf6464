//! The job queue's lease semantics (the ground later issues build on).

use serde_json::json;

use crate::support::{Backend, TestApp};

both!(jobs_are_leased_once_until_the_lease_runs_out);

async fn jobs_are_leased_once_until_the_lease_runs_out(backend: Backend) {
    let t = TestApp::spawn(backend).await;
    let db = &t.app.db;
    let now = t.app.now_ms();
    for i in 0..3 {
        gozcu_server::jobs::enqueue(db, "probe", &json!({"camera": i}), now, now)
            .await
            .unwrap();
    }
    gozcu_server::jobs::enqueue(db, "probe", &json!({"camera": "later"}), now + 60_000, now)
        .await
        .unwrap();
    let a = gozcu_server::jobs::lease(db, "probe", "worker-a", 2, 30_000, now)
        .await
        .unwrap();
    let b = gozcu_server::jobs::lease(db, "probe", "worker-b", 10, 30_000, now)
        .await
        .unwrap();
    assert_eq!(
        (a.len(), b.len()),
        (2, 1),
        "no job is handed out twice, future jobs wait"
    );
    gozcu_server::jobs::complete(db, &a[0].id).await.unwrap();
    // After the lease runs out, unfinished jobs come back with one more attempt.
    let c = gozcu_server::jobs::lease(db, "probe", "worker-c", 10, 30_000, now + 61_000)
        .await
        .unwrap();
    assert_eq!(c.len(), 3);
    assert!(c.iter().all(|j| j.id != a[0].id));
    assert_eq!(c.iter().map(|j| j.attempts).max(), Some(2));
}
