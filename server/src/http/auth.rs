//! `/api/v1/auth`: login, logout and "who am I".

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use gozcu_shared::api::{LoginRequest, SessionInfo};
use gozcu_shared::ErrorCode;
use serde_json::json;
use uuid::Uuid;

use super::extract::Json;
use super::{client_ip, session_token, Access, AppError, AppResult, Ctx, Route, SESSION_COOKIE};
use crate::app::App;
use crate::audit::{self, Actor, Event};
use crate::auth;

pub fn routes() -> Vec<Route> {
    vec![
        Route {
            method: Method::POST,
            path: "/api/v1/auth/login",
            access: Access::Public,
            tag: "auth",
            summary: "Log in; sets the session cookie",
            request: Some("LoginRequest"),
            response: Some("SessionInfo"),
            handler: post(login),
        },
        Route {
            method: Method::POST,
            path: "/api/v1/auth/logout",
            access: Access::Session,
            tag: "auth",
            summary: "Log out",
            request: None,
            response: None,
            handler: post(logout),
        },
        Route {
            method: Method::GET,
            path: "/api/v1/auth/me",
            access: Access::Session,
            tag: "auth",
            summary: "The current session",
            request: None,
            response: Some("SessionInfo"),
            handler: get(me),
        },
    ]
}

fn is_https(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("https"))
}

async fn login(State(app): State<App>, req: Request) -> AppResult<Response> {
    let ip = client_ip(req.extensions());
    let https = app.settings.secure_cookies || is_https(req.headers());
    let (_, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, 16 * 1024)
        .await
        .map_err(|_| AppError::new(StatusCode::PAYLOAD_TOO_LARGE, ErrorCode::BodyTooLarge))?;
    let creds: LoginRequest = serde_json::from_slice(&bytes)
        .map_err(|e| AppError::bad_request(ErrorCode::InvalidJson, e.to_string()))?;
    let now = app.now_ms();
    let ip_key = ip.clone().unwrap_or_else(|| "unknown".into());
    if app.ip_throttle.is_limited(&ip_key, now) {
        return Err(AppError::new(
            StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::TooManyRequests,
        ));
    }
    let username = creds.username.trim().to_owned();
    let user = auth::user_by_name(&app.db, &username).await?;
    let failed = |reason: &'static str| {
        let app = app.clone();
        let ip = ip.clone();
        let username = username.clone();
        async move {
            app.ip_throttle
                .record_failure(ip.as_deref().unwrap_or("unknown"), now);
            let actor = Actor {
                id: None,
                name: username.chars().take(100).collect(),
                ip,
            };
            audit::record(
                &app.db,
                now,
                &actor,
                Event {
                    action: "login_failed",
                    entity_type: "session",
                    entity_id: None,
                    before: None,
                    after: Some(json!({ "reason": reason })),
                },
            )
            .await
        }
    };
    let Some(user) = user else {
        let password = creds.password.clone();
        tokio::task::spawn_blocking(move || auth::burn_verify_time(&password))
            .await
            .map_err(anyhow::Error::from)?;
        failed("unknown_user").await?;
        return Err(AppError::new(
            StatusCode::UNAUTHORIZED,
            ErrorCode::InvalidCredentials,
        ));
    };
    if user.locked_until > now {
        failed("locked").await?;
        return Err(AppError::new(StatusCode::LOCKED, ErrorCode::AccountLocked));
    }
    let hash = user.password_hash.clone();
    let password = creds.password.clone();
    let ok = tokio::task::spawn_blocking(move || auth::verify_password(&password, &hash))
        .await
        .map_err(anyhow::Error::from)?;
    let id = user.user.id.to_string();
    if !ok || !user.user.active {
        let failures = user.failed_logins + 1;
        let lock = failures >= i64::from(app.settings.login_max_failures);
        let locked_until = if lock {
            now + app.settings.lockout_minutes as i64 * 60_000
        } else {
            0
        };
        let mut tx = app.db.begin_write().await?;
        sqlx::query("UPDATE users SET failed_logins = $1, locked_until = $2 WHERE id = $3")
            .bind(if lock { 0 } else { failures })
            .bind(locked_until)
            .bind(&id)
            .execute(tx.conn())
            .await?;
        tx.commit().await?;
        failed(if lock {
            "wrong_password_locked"
        } else {
            "wrong_password"
        })
        .await?;
        return Err(if lock {
            AppError::new(StatusCode::LOCKED, ErrorCode::AccountLocked)
        } else {
            AppError::new(StatusCode::UNAUTHORIZED, ErrorCode::InvalidCredentials)
        });
    }

    let token = auth::random_token();
    let csrf = auth::random_token();
    let expires_at = now + app.settings.session_hours as i64 * 3_600_000;
    let mut tx = app.db.begin_write().await?;
    sqlx::query("UPDATE users SET failed_logins = 0, locked_until = 0 WHERE id = $1")
        .bind(&id)
        .execute(tx.conn())
        .await?;
    // Expired sessions are swept at each login rather than by a timer.
    sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
        .bind(now)
        .execute(tx.conn())
        .await?;
    sqlx::query("INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, expires_at, ip) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(auth::token_hash(&token))
        .bind(&id)
        .bind(&csrf)
        .bind(now)
        .bind(expires_at)
        .bind(ip.as_deref())
        .execute(tx.conn())
        .await?;
    let actor = Actor {
        id: Some(id.clone()),
        name: user.user.username.clone(),
        ip: ip.clone(),
    };
    audit::append(
        &mut tx,
        app.db.backend,
        now,
        &actor,
        Event {
            action: "login",
            entity_type: "session",
            entity_id: Some(id),
            before: None,
            after: None,
        },
    )
    .await?;
    tx.commit().await?;

    let max_age = app.settings.session_hours * 3600;
    let secure = if https { "; Secure" } else { "" };
    let cookie = format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"
    );
    let info = SessionInfo {
        user: user.user,
        csrf_token: csrf,
        expires_at,
        offline_days: app.settings.offline_days,
    };
    let mut resp = Json(info).into_response();
    resp.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&cookie).map_err(anyhow::Error::from)?,
    );
    Ok(resp)
}

async fn logout(State(app): State<App>, ctx: Ctx, headers: HeaderMap) -> AppResult<Response> {
    if let Some(token) = session_token(&headers) {
        let now = app.now_ms();
        let mut tx = app.db.begin_write().await?;
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(auth::token_hash(&token))
            .execute(tx.conn())
            .await?;
        audit::append(
            &mut tx,
            app.db.backend,
            now,
            &ctx.actor(),
            Event {
                action: "logout",
                entity_type: "session",
                entity_id: Some(ctx.user.id.to_string()),
                before: None,
                after: None,
            },
        )
        .await?;
        tx.commit().await?;
    }
    let mut resp = StatusCode::NO_CONTENT.into_response();
    let clear = format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    resp.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&clear).map_err(anyhow::Error::from)?,
    );
    Ok(resp)
}

async fn me(State(app): State<App>, headers: HeaderMap) -> AppResult<Json<SessionInfo>> {
    let token = session_token(&headers).ok_or_else(AppError::unauthenticated)?;
    let s = auth::session(&app.db, &token, app.now_ms())
        .await?
        .ok_or_else(AppError::unauthenticated)?;
    Ok(Json(SessionInfo {
        user: s.user,
        csrf_token: s.csrf_token,
        expires_at: s.expires_at,
        offline_days: app.settings.offline_days,
    }))
}

/// Used by user management to end a user's sessions when they are disabled
/// or their password is reset.
pub async fn end_sessions(tx: &mut crate::db::WriteTx, user_id: &Uuid) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM sessions WHERE user_id = $1")
        .bind(user_id.to_string())
        .execute(tx.conn())
        .await?;
    Ok(())
}
