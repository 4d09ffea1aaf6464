//! `/api/v1/switches`.

use gozcu_shared::api::{AuditEntry, ListQuery, Page};
use gozcu_shared::inventory::Switch;
use uuid::Uuid;

use super::{devices, ApiFailure};

pub async fn list(q: &ListQuery) -> Result<Page<Switch>, ApiFailure> {
    devices::list(q).await
}

pub async fn get(id: Uuid) -> Result<Switch, ApiFailure> {
    devices::get(id).await
}

pub async fn create(d: &Switch) -> Result<Switch, ApiFailure> {
    devices::create(d).await
}

pub async fn update(d: &Switch) -> Result<Switch, ApiFailure> {
    devices::update(d).await
}

pub async fn delete(id: Uuid) -> Result<(), ApiFailure> {
    devices::delete::<Switch>(id).await
}

pub async fn history(id: Uuid) -> Result<Vec<AuditEntry>, ApiFailure> {
    devices::history::<Switch>(id).await
}
