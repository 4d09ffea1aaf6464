//! What cameras, recorders and switches have in common on the wire. The
//! public modules ([`super::cameras`] …) wrap these generic calls in typed
//! functions so that pages never build a path by hand. Creating, changing
//! and deleting devices goes through the sync outbox instead; what is left
//! here needs the server itself (a password flag, history, credentials).

use gozcu_shared::api::{AuditEntry, DeviceCredentials};
use gozcu_shared::inventory::{Camera, Recorder, Switch};
use serde::de::DeserializeOwned;
use serde::Serialize;
use uuid::Uuid;

use super::ApiFailure;

/// A device type with its collection path under `/api/v1`.
pub trait DeviceRecord: Serialize + DeserializeOwned + Clone + 'static {
    const PATH: &'static str;
}

impl DeviceRecord for Camera {
    const PATH: &'static str = "/cameras";
}

impl DeviceRecord for Recorder {
    const PATH: &'static str = "/recorders";
}

impl DeviceRecord for Switch {
    const PATH: &'static str = "/switches";
}

pub(super) async fn get<T: DeviceRecord>(id: Uuid) -> Result<T, ApiFailure> {
    super::get(&format!("{}/{id}", T::PATH), &[]).await
}

pub(super) async fn history<T: DeviceRecord>(id: Uuid) -> Result<Vec<AuditEntry>, ApiFailure> {
    super::get(&format!("{}/{id}/history", T::PATH), &[]).await
}

pub(super) async fn set_credentials<T: DeviceRecord>(
    id: Uuid,
    c: &DeviceCredentials,
) -> Result<(), ApiFailure> {
    super::put_no_content(&format!("{}/{id}/credentials", T::PATH), c).await
}

pub(super) async fn reveal_credentials<T: DeviceRecord>(
    id: Uuid,
) -> Result<DeviceCredentials, ApiFailure> {
    super::post_empty(&format!("{}/{id}/credentials/reveal", T::PATH)).await
}
