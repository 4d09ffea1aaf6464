//! What cameras, recorders and switches have in common on the wire. The
//! public modules ([`super::cameras`] …) wrap these generic calls in typed
//! functions so that pages never build a path by hand.

use gozcu_shared::api::{AuditEntry, DeviceCredentials, ListQuery, Page};
use gozcu_shared::inventory::{AssetFields, Camera, Recorder, Switch};
use serde::de::DeserializeOwned;
use serde::Serialize;
use uuid::Uuid;

use super::ApiFailure;

/// A device type with its collection path under `/api/v1`.
pub trait DeviceRecord: Serialize + DeserializeOwned + Clone + 'static {
    const PATH: &'static str;
    fn id(&self) -> Uuid;
    fn name(&self) -> &str;
    fn site_id(&self) -> Uuid;
    fn asset(&self) -> &AssetFields;
}

macro_rules! device_record {
    ($t:ty, $path:literal) => {
        impl DeviceRecord for $t {
            const PATH: &'static str = $path;
            fn id(&self) -> Uuid {
                self.id
            }
            fn name(&self) -> &str {
                &self.name
            }
            fn site_id(&self) -> Uuid {
                self.site_id
            }
            fn asset(&self) -> &AssetFields {
                &self.asset
            }
        }
    };
}

device_record!(Camera, "/cameras");
device_record!(Recorder, "/recorders");
device_record!(Switch, "/switches");

/// The list query as URL parameters; absent filters are left out rather
/// than sent empty, so the server's defaults apply.
pub(super) fn query_pairs(q: &ListQuery) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    if let Some(v) = q.q.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
        out.push(("q", v.to_owned()));
    }
    if let Some(v) = q.site_id {
        out.push(("site_id", v.to_string()));
    }
    if let Some(v) = q.status {
        out.push(("status", v.as_str().to_owned()));
    }
    if let Some(v) = &q.sort {
        out.push(("sort", v.clone()));
    }
    if let Some(v) = &q.order {
        out.push(("order", v.clone()));
    }
    if let Some(v) = q.limit {
        out.push(("limit", v.to_string()));
    }
    if let Some(v) = q.offset {
        out.push(("offset", v.to_string()));
    }
    out
}

pub(super) async fn list<T: DeviceRecord>(q: &ListQuery) -> Result<Page<T>, ApiFailure> {
    super::get(T::PATH, &query_pairs(q)).await
}

pub(super) async fn get<T: DeviceRecord>(id: Uuid) -> Result<T, ApiFailure> {
    super::get(&format!("{}/{id}", T::PATH), &[]).await
}

pub(super) async fn create<T: DeviceRecord>(d: &T) -> Result<T, ApiFailure> {
    super::post(T::PATH, d).await
}

pub(super) async fn update<T: DeviceRecord>(d: &T) -> Result<T, ApiFailure> {
    super::put(&format!("{}/{}", T::PATH, d.id()), d).await
}

pub(super) async fn delete<T: DeviceRecord>(id: Uuid) -> Result<(), ApiFailure> {
    super::delete(&format!("{}/{id}", T::PATH)).await
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
