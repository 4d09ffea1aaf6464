//! Background work as rows of the `jobs` table. Later issues (probing,
//! snapshot comparison, exports) enqueue here; a worker leases due jobs for a
//! while, so a crashed worker's jobs come back when the lease runs out and
//! several server processes can share the queue. On PostgreSQL the lease
//! uses `FOR UPDATE SKIP LOCKED`; on SQLite the write lock serialises it.

use sqlx::Row;
use uuid::Uuid;

use crate::db::{Backend, Db};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub id: String,
    pub kind: String,
    pub payload: String,
    pub attempts: i64,
}

pub async fn enqueue(
    db: &Db,
    kind: &str,
    payload: &serde_json::Value,
    run_at_ms: i64,
    now_ms: i64,
) -> Result<String, sqlx::Error> {
    let id = Uuid::now_v7().to_string();
    let mut tx = db.begin_write().await?;
    sqlx::query(
        "INSERT INTO jobs (id, kind, payload, run_at, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&id)
    .bind(kind)
    .bind(payload.to_string())
    .bind(run_at_ms)
    .bind(now_ms)
    .execute(tx.conn())
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// Leases up to `limit` due jobs of `kind` to `worker` for `lease_ms`.
pub async fn lease(
    db: &Db,
    kind: &str,
    worker: &str,
    limit: i64,
    lease_ms: i64,
    now_ms: i64,
) -> Result<Vec<Job>, sqlx::Error> {
    let mut tx = db.begin_write().await?;
    let lock = match db.backend {
        Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    };
    let rows = sqlx::query(&format!("SELECT id, kind, payload, attempts FROM jobs WHERE kind = $1 AND run_at <= $2 AND lease_until <= $2 ORDER BY run_at LIMIT $3{lock}"))
        .bind(kind)
        .bind(now_ms)
        .bind(limit)
        .fetch_all(tx.conn())
        .await?;
    let mut jobs = Vec::with_capacity(rows.len());
    for r in rows {
        let job = Job {
            id: r.try_get(0)?,
            kind: r.try_get(1)?,
            payload: r.try_get(2)?,
            attempts: r.try_get::<i64, _>(3)? + 1,
        };
        sqlx::query("UPDATE jobs SET lease_until = $1, leased_by = $2, attempts = attempts + 1 WHERE id = $3").bind(now_ms + lease_ms).bind(worker).bind(&job.id).execute(tx.conn()).await?;
        jobs.push(job);
    }
    tx.commit().await?;
    Ok(jobs)
}

/// Removes a finished job.
pub async fn complete(db: &Db, id: &str) -> Result<(), sqlx::Error> {
    let mut tx = db.begin_write().await?;
    sqlx::query("DELETE FROM jobs WHERE id = $1")
        .bind(id)
        .execute(tx.conn())
        .await?;
    tx.commit().await
}
