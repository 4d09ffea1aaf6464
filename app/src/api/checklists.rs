//! `/api/v1/checklists`: what needs the server (amendments of completed runs).

use gozcu_shared::checklists::{AmendRequest, RunDetail};
use uuid::Uuid;

use super::ApiFailure;

pub async fn amend(run: Uuid, req: &AmendRequest) -> Result<RunDetail, ApiFailure> {
    super::post(&format!("/checklists/runs/{run}/amendments"), req).await
}
