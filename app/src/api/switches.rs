//! `/api/v1/switches`.

use gozcu_shared::api::AuditEntry;
use gozcu_shared::inventory::Switch;
use uuid::Uuid;

use super::{devices, ApiFailure};

pub async fn history(id: Uuid) -> Result<Vec<AuditEntry>, ApiFailure> {
    devices::history::<Switch>(id).await
}
