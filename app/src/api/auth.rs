//! `/api/v1/auth`: the session lives in an HttpOnly cookie the app never
//! sees; what it keeps is the CSRF token from [`SessionInfo`].

use gozcu_shared::api::{LoginRequest, SessionInfo};

use super::ApiFailure;

pub async fn login(req: &LoginRequest) -> Result<SessionInfo, ApiFailure> {
    let s: SessionInfo = super::post("/auth/login", req).await?;
    super::set_csrf(Some(s.csrf_token.clone()));
    Ok(s)
}

/// Restores the session after a reload. A 401 here is the normal "not
/// logged in" answer; the unauthenticated handler it fires only clears a
/// session that is already empty, and the caller shows the login page.
pub async fn me() -> Result<SessionInfo, ApiFailure> {
    let s: SessionInfo = super::get("/auth/me", &[]).await?;
    super::set_csrf(Some(s.csrf_token.clone()));
    Ok(s)
}

pub async fn logout() -> Result<(), ApiFailure> {
    let r = super::post_no_content("/auth/logout", &serde_json::json!({})).await;
    super::set_csrf(None);
    r
}
