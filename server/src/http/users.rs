//! `/api/v1/users`: user management for administrators (DOMAIN.md §15).

use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use axum::routing::{delete, get, post, put};
use gozcu_shared::api::{User, UserInput};
use gozcu_shared::{ErrorCode, FieldError, Permission};
use serde_json::json;
use uuid::Uuid;

use super::extract::Json;
use super::{Access, AppError, AppResult, Ctx, Route};
use crate::app::App;
use crate::audit::{self, Event};
use crate::auth;
use crate::db::WriteTx;

pub fn routes() -> Vec<Route> {
    let p = Access::Permission(Permission::UsersManage);
    vec![
        Route {
            method: Method::GET,
            path: "/api/v1/users",
            access: p,
            tag: "users",
            summary: "List users",
            request: None,
            response: Some("[User]"),
            handler: get(list),
        },
        Route {
            method: Method::POST,
            path: "/api/v1/users",
            access: p,
            tag: "users",
            summary: "Create a user",
            request: Some("UserInput"),
            response: Some("User"),
            handler: post(create),
        },
        Route {
            method: Method::PUT,
            path: "/api/v1/users/{id}",
            access: p,
            tag: "users",
            summary: "Update a user; a new password or deactivation ends their sessions",
            request: Some("UserInput"),
            response: Some("User"),
            handler: put(update),
        },
        Route {
            method: Method::DELETE,
            path: "/api/v1/users/{id}",
            access: p,
            tag: "users",
            summary: "Delete a user",
            request: None,
            response: None,
            handler: delete(remove),
        },
    ]
}

async fn list(State(app): State<App>) -> AppResult<Json<Vec<User>>> {
    Ok(Json(auth::list_users(&app.db).await?))
}

fn audit_view(u: &User) -> serde_json::Value {
    json!({ "username": u.username, "display_name": u.display_name, "role": u.role, "site_ids": u.site_ids, "active": u.active })
}

/// Checks a user form; `creating` makes the password required.
async fn check(
    app: &App,
    input: &UserInput,
    creating: bool,
) -> AppResult<(String, String, gozcu_shared::Role)> {
    let mut errors = Vec::new();
    let username = input.username.trim().to_lowercase();
    if username.is_empty() {
        errors.push(FieldError::new("username", ErrorCode::Required));
    } else if username.len() > 50
        || !username
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        errors.push(FieldError::new("username", ErrorCode::BadRequest));
    }
    let display_name = gozcu_shared::validate::required_text(&input.display_name, 100)
        .map_err(|c| errors.push(FieldError::new("display_name", c)))
        .unwrap_or_default();
    if input.role.is_none() {
        errors.push(FieldError::new("role", ErrorCode::Required));
    }
    match &input.password {
        None if creating => errors.push(FieldError::new("password", ErrorCode::Required)),
        Some(p) if !auth::password_ok(p) => {
            errors.push(FieldError::new("password", ErrorCode::WeakPassword))
        }
        _ => {}
    }
    for site in &input.site_ids {
        let exists: Option<String> = sqlx::query_scalar("SELECT id FROM sites WHERE id = $1")
            .bind(site.to_string())
            .fetch_optional(&app.db.pool)
            .await?;
        if exists.is_none() {
            errors.push(FieldError::new("site_ids", ErrorCode::UnknownSite));
        }
    }
    match (errors.is_empty(), input.role) {
        (true, Some(role)) => Ok((username, display_name, role)),
        _ => Err(AppError::validation(errors)),
    }
}

async fn set_sites(tx: &mut WriteTx, user_id: &str, sites: &[Uuid]) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM user_sites WHERE user_id = $1")
        .bind(user_id)
        .execute(tx.conn())
        .await?;
    for s in sites {
        sqlx::query("INSERT INTO user_sites (user_id, site_id) VALUES ($1, $2)")
            .bind(user_id)
            .bind(s.to_string())
            .execute(tx.conn())
            .await?;
    }
    Ok(())
}

fn duplicate_username(e: sqlx::Error) -> AppError {
    match crate::db::unique_violation(&e) {
        Some(_) => AppError::conflict(vec![FieldError::new("username", ErrorCode::DuplicateName)]),
        None => e.into(),
    }
}

async fn create(
    State(app): State<App>,
    ctx: Ctx,
    Json(input): Json<UserInput>,
) -> AppResult<(StatusCode, Json<User>)> {
    let (username, display_name, role) = check(&app, &input, true).await?;
    let password = input.password.clone().unwrap_or_default();
    let hash = tokio::task::spawn_blocking(move || auth::hash_password(&password))
        .await
        .map_err(anyhow::Error::from)?;
    let id = Uuid::now_v7();
    let now = app.now_ms();
    let mut sites = input.site_ids.clone();
    sites.sort();
    sites.dedup();
    let user = User {
        id,
        username,
        display_name,
        role,
        site_ids: sites,
        active: input.active,
    };
    let mut tx = app.db.begin_write().await?;
    sqlx::query("INSERT INTO users (id, username, display_name, role, password_hash, active, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)")
        .bind(id.to_string())
        .bind(&user.username)
        .bind(&user.display_name)
        .bind(role.as_str())
        .bind(hash)
        .bind(i64::from(user.active))
        .bind(now)
        .execute(tx.conn())
        .await
        .map_err(duplicate_username)?;
    set_sites(&mut tx, &id.to_string(), &user.site_ids).await?;
    audit::append(
        &mut tx,
        app.db.backend,
        now,
        &ctx.actor(),
        Event {
            action: "create",
            entity_type: "user",
            entity_id: Some(id.to_string()),
            before: None,
            after: Some(audit_view(&user)),
        },
    )
    .await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(user)))
}

async fn update(
    State(app): State<App>,
    ctx: Ctx,
    Path(id): Path<Uuid>,
    Json(input): Json<UserInput>,
) -> AppResult<Json<User>> {
    let before = auth::user_by_id(&app.db, &id)
        .await?
        .ok_or_else(AppError::not_found)?;
    let (username, display_name, role) = check(&app, &input, false).await?;
    if id == ctx.user.id && (role != before.role || !input.active) {
        // An administrator demoting or disabling themselves could leave the
        // system with nobody able to manage users.
        return Err(AppError::conflict(vec![FieldError::new(
            "role",
            ErrorCode::Forbidden,
        )]));
    }
    let hash = match input.password.clone() {
        Some(p) => Some(
            tokio::task::spawn_blocking(move || auth::hash_password(&p))
                .await
                .map_err(anyhow::Error::from)?,
        ),
        None => None,
    };
    let mut sites = input.site_ids.clone();
    sites.sort();
    sites.dedup();
    let user = User {
        id,
        username,
        display_name,
        role,
        site_ids: sites,
        active: input.active,
    };
    let now = app.now_ms();
    let mut tx = app.db.begin_write().await?;
    sqlx::query("UPDATE users SET username = $1, display_name = $2, role = $3, active = $4, updated_at = $5 WHERE id = $6")
        .bind(&user.username)
        .bind(&user.display_name)
        .bind(role.as_str())
        .bind(i64::from(user.active))
        .bind(now)
        .bind(id.to_string())
        .execute(tx.conn())
        .await
        .map_err(duplicate_username)?;
    if let Some(hash) = &hash {
        sqlx::query("UPDATE users SET password_hash = $1, failed_logins = 0, locked_until = 0 WHERE id = $2").bind(hash).bind(id.to_string()).execute(tx.conn()).await?;
    }
    if hash.is_some() || !user.active || role != before.role {
        super::auth::end_sessions(&mut tx, &id).await?;
    }
    set_sites(&mut tx, &id.to_string(), &user.site_ids).await?;
    let mut after = audit_view(&user);
    if hash.is_some() {
        after["password_changed"] = json!(true);
    }
    audit::append(
        &mut tx,
        app.db.backend,
        now,
        &ctx.actor(),
        Event {
            action: "update",
            entity_type: "user",
            entity_id: Some(id.to_string()),
            before: Some(audit_view(&before)),
            after: Some(after),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Json(user))
}

async fn remove(State(app): State<App>, ctx: Ctx, Path(id): Path<Uuid>) -> AppResult<StatusCode> {
    if id == ctx.user.id {
        return Err(AppError::conflict(vec![FieldError::new(
            "id",
            ErrorCode::Forbidden,
        )]));
    }
    let before = auth::user_by_id(&app.db, &id)
        .await?
        .ok_or_else(AppError::not_found)?;
    let now = app.now_ms();
    let mut tx = app.db.begin_write().await?;
    sqlx::query("DELETE FROM sessions WHERE user_id = $1")
        .bind(id.to_string())
        .execute(tx.conn())
        .await?;
    sqlx::query("DELETE FROM user_sites WHERE user_id = $1")
        .bind(id.to_string())
        .execute(tx.conn())
        .await?;
    sqlx::query("DELETE FROM users WHERE id = $1")
        .bind(id.to_string())
        .execute(tx.conn())
        .await?;
    audit::append(
        &mut tx,
        app.db.backend,
        now,
        &ctx.actor(),
        Event {
            action: "delete",
            entity_type: "user",
            entity_id: Some(id.to_string()),
            before: Some(audit_view(&before)),
            after: None,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
