//! Request and response bodies of `/api/v1` that are not inventory records
//! themselves. Anything secret has a hand-written `Debug` that redacts it.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::inventory::DeviceKind;
use crate::{FieldError, Role};

#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for LoginRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginRequest")
            .field("username", &self.username)
            .field("password", &"[redacted]")
            .finish()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct User {
    pub id: Uuid,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    /// Empty means every site.
    pub site_ids: Vec<Uuid>,
    pub active: bool,
}

/// What the app learns after logging in or on start-up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionInfo {
    pub user: User,
    /// Sent back in the `X-CSRF-Token` header on every mutation.
    pub csrf_token: String,
    /// Unix milliseconds.
    pub expires_at: i64,
    /// How many days after its last contact with the server the app keeps
    /// working offline with this login (server setting `offline_days`).
    #[serde(default = "default_offline_days")]
    pub offline_days: u32,
}

fn default_offline_days() -> u32 {
    7
}

#[derive(Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserInput {
    pub username: String,
    pub display_name: String,
    pub role: Option<Role>,
    #[serde(default)]
    pub site_ids: Vec<Uuid>,
    /// Required when creating; when updating, `None` keeps the old password.
    #[serde(default)]
    pub password: Option<String>,
    #[serde(default = "yes")]
    pub active: bool,
}

fn yes() -> bool {
    true
}

impl std::fmt::Debug for UserInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserInput")
            .field("username", &self.username)
            .field("role", &self.role)
            .field("site_ids", &self.site_ids)
            .field("password", &self.password.as_ref().map(|_| "[redacted]"))
            .field("active", &self.active)
            .finish()
    }
}

pub const MIN_PASSWORD_LEN: usize = 10;

/// A device's login, as sent to store it or as revealed to a supervisor.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeviceCredentials {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for DeviceCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceCredentials")
            .field("username", &self.username)
            .field("password", &"[redacted]")
            .finish()
    }
}

/// One page of a list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Rows matching the filter, before `limit`/`offset`.
    pub total: u64,
}

/// Query string of the device lists.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
pub struct ListQuery {
    /// Matches name, serial, IP, MAC, make, model and asset number.
    pub q: Option<String>,
    pub site_id: Option<Uuid>,
    pub status: Option<crate::inventory::DeviceStatus>,
    /// `name` (default), `serial`, `ip`, `status`, `warranty_end`, `updated_at`.
    pub sort: Option<String>,
    /// `asc` (default) or `desc`.
    pub order: Option<String>,
    /// At most 10,000; default 100.
    pub limit: Option<u32>,
    pub offset: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImportReport {
    pub dry_run: bool,
    pub total_rows: u32,
    pub valid_rows: u32,
    /// Rows written; always 0 on a dry run or when any row is bad.
    pub imported: u32,
    pub errors: Vec<FieldError>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WarrantyItem {
    pub kind: DeviceKind,
    pub id: Uuid,
    pub name: String,
    pub site_id: Uuid,
    pub site_name: String,
    pub make: String,
    pub serial: Option<String>,
    pub warranty_end: String,
    pub days_left: i64,
    pub acknowledged: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WarrantyAck {
    pub kind: DeviceKind,
    pub id: Uuid,
}

/// One entry of the audit log or of a device's change history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEntry {
    pub seq: i64,
    pub at: i64,
    pub actor_name: String,
    pub action: String,
    pub entity_type: String,
    pub entity_id: Option<String>,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
    pub ip: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_redacted_in_debug() {
        let c = DeviceCredentials {
            username: "admin".into(),
            password: "hunter2-secret".into(),
        };
        assert!(!format!("{c:?}").contains("hunter2"));
        let l = LoginRequest {
            username: "a".into(),
            password: "hunter2-secret".into(),
        };
        assert!(!format!("{l:?}").contains("hunter2"));
        let u = UserInput {
            password: Some("hunter2-secret".into()),
            ..Default::default()
        };
        assert!(!format!("{u:?}").contains("hunter2"));
    }
}
