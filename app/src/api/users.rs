//! `/api/v1/users` (administrators only).

use gozcu_shared::api::{User, UserInput};
use uuid::Uuid;

use super::ApiFailure;

pub async fn list() -> Result<Vec<User>, ApiFailure> {
    super::get("/users", &[]).await
}

pub async fn create(u: &UserInput) -> Result<User, ApiFailure> {
    super::post("/users", u).await
}

/// Also resets the password when `u.password` is set.
pub async fn update(id: Uuid, u: &UserInput) -> Result<User, ApiFailure> {
    super::put(&format!("/users/{id}"), u).await
}
