//! `/api/v1/recorders`.

use gozcu_shared::api::{AuditEntry, DeviceCredentials};
use gozcu_shared::inventory::Recorder;
use uuid::Uuid;

use super::{devices, ApiFailure};

pub async fn get(id: Uuid) -> Result<Recorder, ApiFailure> {
    devices::get(id).await
}

pub async fn history(id: Uuid) -> Result<Vec<AuditEntry>, ApiFailure> {
    devices::history::<Recorder>(id).await
}

pub async fn set_credentials(id: Uuid, c: &DeviceCredentials) -> Result<(), ApiFailure> {
    devices::set_credentials::<Recorder>(id, c).await
}

pub async fn reveal_credentials(id: Uuid) -> Result<DeviceCredentials, ApiFailure> {
    devices::reveal_credentials::<Recorder>(id).await
}
