//! `/api/v1/sync`: pushing the outbox and pulling the replica (see
//! `docs/sync.md`). Only [`crate::sync`] calls these.

use gozcu_shared::sync::{PullRequest, PullResponse, PushRequest, PushResponse};

use super::ApiFailure;

pub async fn push(req: &PushRequest) -> Result<PushResponse, ApiFailure> {
    super::post("/sync/push", req).await
}

pub async fn pull(req: &PullRequest) -> Result<PullResponse, ApiFailure> {
    super::post("/sync/pull", req).await
}
