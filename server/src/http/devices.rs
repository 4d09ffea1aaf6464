//! `/api/v1/cameras`, `/api/v1/recorders`, `/api/v1/switches`: one generic
//! implementation of list, read, create, update, delete, history and
//! credentials for every kind of device.

use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use axum::routing::{delete, get, post, put};
use gozcu_shared::api::{AuditEntry, DeviceCredentials, ListQuery, Page};
use gozcu_shared::inventory::{check_channel, Recorder};
use gozcu_shared::sync::EntityRef;
use gozcu_shared::{ErrorCode, FieldError, Permission};
use serde_json::json;
use std::collections::{HashMap, HashSet};

use sqlx::AnyConnection;
use uuid::Uuid;

use super::extract::{Json, Query};
use super::{Access, AppError, AppResult, Ctx, Route};
use crate::app::App;
use crate::audit::{self, Event};
use crate::inventory::devices::{self as repo, Common};
use crate::inventory::Device;
use crate::sync;

pub fn routes<D: Device>() -> Vec<Route> {
    use Permission::*;
    let p = D::PATHS;
    let tag = D::TABLE;
    let mut r = vec![
        Route {
            method: Method::GET,
            path: p.base,
            access: Access::Permission(InventoryRead),
            tag,
            summary: "List with search (q), site/status filters, sorting and paging",
            request: None,
            response: Some("Page"),
            handler: get(list::<D>),
        },
        Route {
            method: Method::POST,
            path: p.base,
            access: Access::Permission(InventoryWrite),
            tag,
            summary: "Create",
            request: Some(D::SCHEMA),
            response: Some(D::SCHEMA),
            handler: post(create::<D>),
        },
        Route {
            method: Method::GET,
            path: p.item,
            access: Access::Permission(InventoryRead),
            tag,
            summary: "Read one",
            request: None,
            response: Some(D::SCHEMA),
            handler: get(read::<D>),
        },
        Route {
            method: Method::PUT,
            path: p.item,
            access: Access::Permission(InventoryWrite),
            tag,
            summary: "Replace",
            request: Some(D::SCHEMA),
            response: Some(D::SCHEMA),
            handler: put(update::<D>),
        },
        Route {
            method: Method::DELETE,
            path: p.item,
            access: Access::Permission(InventoryDelete),
            tag,
            summary: "Delete",
            request: None,
            response: None,
            handler: delete(remove::<D>),
        },
        Route {
            method: Method::GET,
            path: p.history,
            access: Access::Permission(AuditReadOwnDevice),
            tag,
            summary: "Change history, oldest first",
            request: None,
            response: Some("[AuditEntry]"),
            handler: get(history::<D>),
        },
    ];
    if D::HAS_CREDENTIALS {
        r.push(Route {
            method: Method::PUT,
            path: p.credentials,
            access: Access::Permission(CredentialsWrite),
            tag,
            summary: "Store the device login (encrypted at rest)",
            request: Some("DeviceCredentials"),
            response: None,
            handler: put(set_credentials::<D>),
        });
        r.push(Route {
            method: Method::POST,
            path: p.reveal,
            access: Access::Permission(CredentialsReveal),
            tag,
            summary: "Reveal the device login (audited)",
            request: None,
            response: Some("DeviceCredentials"),
            handler: post(reveal::<D>),
        });
    }
    r
}

async fn list<D: Device>(
    State(app): State<App>,
    ctx: Ctx,
    Query(q): Query<ListQuery>,
) -> AppResult<Json<Page<D>>> {
    Ok(Json(repo::list::<D>(&app.db, ctx.scope(), &q).await?))
}

/// Loads a device the caller may see; others are "not found" for them.
async fn load<D: Device>(app: &App, ctx: &Ctx, id: &Uuid) -> AppResult<D> {
    let d = repo::get::<D>(&app.db, id)
        .await?
        .ok_or_else(AppError::not_found)?;
    if !ctx.in_scope(&d.common().site_id) {
        return Err(AppError::not_found());
    }
    Ok(d)
}

async fn read<D: Device>(
    State(app): State<App>,
    ctx: Ctx,
    Path(id): Path<Uuid>,
) -> AppResult<Json<D>> {
    Ok(Json(load::<D>(&app, &ctx, &id).await?))
}

/// What one transaction has already learned about other rows, so that a
/// sync push checking hundreds of devices does not ask the database the
/// same question hundreds of times. A fresh value knows nothing and every
/// check queries; REST writes use one per request.
#[derive(Debug, Default)]
pub struct Known {
    /// Sites seen to exist.
    pub sites: HashSet<Uuid>,
    /// Identity keys looked up, with the device holding each (`None`: free).
    /// A key missing here has not been looked up.
    identities: HashMap<String, Option<Uuid>>,
}

impl Known {
    /// Looks up many identity keys at once (the keys a push batch is about
    /// to claim), in statements of at most 500 parameters — larger ones are
    /// slower on SQLite, whose binding cost grows faster than linearly.
    pub async fn prefetch_identities(
        &mut self,
        conn: &mut AnyConnection,
        keys: impl IntoIterator<Item = String>,
    ) -> Result<(), sqlx::Error> {
        let keys: Vec<String> = keys
            .into_iter()
            .filter(|k| !self.identities.contains_key(k))
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        for chunk in keys.chunks(500) {
            for (key, owner) in repo::identity_owners(conn, chunk).await? {
                self.identities.insert(key, Some(owner));
            }
            for key in chunk {
                self.identities.entry(key.clone()).or_insert(None);
            }
        }
        Ok(())
    }

    /// The conflicts of `keys` for device `own`, if every key was looked up.
    fn identity_conflicts(
        &self,
        keys: &[(String, &'static str, ErrorCode)],
        own: &Uuid,
    ) -> Option<Vec<FieldError>> {
        let mut conflicts = Vec::new();
        for (key, field, code) in keys {
            match self.identities.get(key)? {
                Some(owner) if owner != own => conflicts.push(FieldError::new(*field, *code)),
                _ => {}
            }
        }
        Some(conflicts)
    }

    /// Device `owner` now holds exactly `keys` (after an insert or an
    /// update that replaced its keys).
    pub fn claimed(&mut self, owner: Uuid, keys: &[(String, &'static str, ErrorCode)]) {
        self.released(owner);
        for (key, _, _) in keys {
            self.identities.insert(key.clone(), Some(owner));
        }
    }

    /// Device `owner` holds no keys any more (deleted, or about to claim
    /// new ones). Its old keys are known to be free.
    pub fn released(&mut self, owner: Uuid) {
        for holder in self.identities.values_mut() {
            if *holder == Some(owner) {
                *holder = None;
            }
        }
    }
}

/// The rules that need other rows: the site exists and is in scope, the
/// location is in that site, the recorder exists and has the channel, and
/// no other device holds the same IP, MAC or serial. `known` saves queries
/// whose answers the transaction already has.
pub async fn check_references<D: Device>(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    d: &D,
    known: &mut Known,
) -> AppResult<()> {
    let c = d.common();
    ctx.require_site(&c.site_id)?;
    let mut errors = Vec::new();
    if !known.sites.contains(&c.site_id) {
        let site: Option<String> = sqlx::query_scalar("SELECT id FROM sites WHERE id = $1")
            .bind(c.site_id.to_string())
            .fetch_optional(&mut *conn)
            .await?;
        if site.is_some() {
            known.sites.insert(c.site_id);
        }
    }
    if !known.sites.contains(&c.site_id) {
        errors.push(FieldError::new("site_id", ErrorCode::UnknownSite));
    }
    if let Some(loc) = c.location_id {
        if super::sites::location_site(conn, &loc).await? != Some(c.site_id) {
            errors.push(FieldError::new("location_id", ErrorCode::UnknownLocation));
        }
    }
    if let Some((recorder_id, channel)) = d.recorder_ref() {
        match repo::get_in::<Recorder>(conn, &recorder_id).await? {
            Some(r) if ctx.in_scope(&r.site_id) => {
                if let Err(e) = check_channel(channel, r.channels) {
                    errors.push(e);
                }
            }
            _ => errors.push(FieldError::new("recorder_id", ErrorCode::UnknownRecorder)),
        }
    }
    if !errors.is_empty() {
        return Err(AppError::validation(errors));
    }
    let keys = repo::identity_keys(&c.asset);
    let conflicts = match known.identity_conflicts(&keys, &c.id) {
        Some(conflicts) => conflicts,
        None => repo::identity_conflicts(conn, &keys, &c.id).await?,
    };
    if !conflicts.is_empty() {
        return Err(AppError::conflict(conflicts));
    }
    Ok(())
}

/// The sync record of a device.
pub fn entity<D: Device>(id: Uuid) -> EntityRef {
    EntityRef {
        kind: D::KIND.into(),
        id,
    }
}

fn to_json<T: serde::Serialize>(v: &T) -> AppResult<serde_json::Value> {
    serde_json::to_value(v).map_err(|e| AppError::Internal(e.into()))
}

async fn create<D: Device>(
    State(app): State<App>,
    ctx: Ctx,
    Json(input): Json<D>,
) -> AppResult<(StatusCode, Json<D>)> {
    let now = app.now_ms();
    let d = input.normalize().map_err(AppError::validation)?;
    let d = d.clone().with_common(Common {
        id: Uuid::now_v7(),
        has_credentials: false,
        updated_at: now,
        ..d.common()
    });
    check_references(
        &mut *app.db.pool.acquire().await?,
        &ctx,
        &d,
        &mut Known::default(),
    )
    .await?;
    let c = d.common();
    let mut tx = app.db.begin_write().await?;
    // Identity keys were checked above; a writer that took one since then
    // makes this fail with a unique violation, answered as a 409.
    repo::insert_many(tx.conn(), app.db.backend, std::slice::from_ref(&d), now).await?;
    let after = to_json(&d)?;
    sync::record_write(
        tx.conn(),
        app.db.backend,
        &app.sync,
        now,
        entity::<D>(c.id),
        None,
        Some(&after),
    )
    .await?;
    audit::append(
        &mut tx,
        app.db.backend,
        now,
        &ctx.actor(),
        Event {
            action: "create",
            entity_type: D::KIND.as_str(),
            entity_id: Some(c.id.to_string()),
            before: None,
            after: Some(after),
        },
    )
    .await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(d)))
}

async fn update<D: Device>(
    State(app): State<App>,
    ctx: Ctx,
    Path(id): Path<Uuid>,
    Json(input): Json<D>,
) -> AppResult<Json<D>> {
    let before = load::<D>(&app, &ctx, &id).await?;
    let now = app.now_ms();
    let d = input.normalize().map_err(AppError::validation)?;
    let d = d.clone().with_common(Common {
        id,
        has_credentials: before.common().has_credentials,
        updated_at: now,
        ..d.common()
    });
    check_references(
        &mut *app.db.pool.acquire().await?,
        &ctx,
        &d,
        &mut Known::default(),
    )
    .await?;
    let c = d.common();
    let mut tx = app.db.begin_write().await?;
    repo::update(tx.conn(), &d, now).await?;
    repo::claim_identities(tx.conn(), D::KIND, &id, &repo::identity_keys(&c.asset)).await?;
    let (before_json, after_json) = (to_json(&before)?, to_json(&d)?);
    sync::record_write(
        tx.conn(),
        app.db.backend,
        &app.sync,
        now,
        entity::<D>(id),
        Some(&before_json),
        Some(&after_json),
    )
    .await?;
    audit::append(
        &mut tx,
        app.db.backend,
        now,
        &ctx.actor(),
        Event {
            action: "update",
            entity_type: D::KIND.as_str(),
            entity_id: Some(id.to_string()),
            before: Some(before_json),
            after: Some(after_json),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Json(d))
}

async fn remove<D: Device>(
    State(app): State<App>,
    ctx: Ctx,
    Path(id): Path<Uuid>,
) -> AppResult<StatusCode> {
    let before = load::<D>(&app, &ctx, &id).await?;
    let now = app.now_ms();
    let mut tx = app.db.begin_write().await?;
    repo::delete::<D>(tx.conn(), &id).await?;
    let before_json = to_json(&before)?;
    sync::record_write(
        tx.conn(),
        app.db.backend,
        &app.sync,
        now,
        entity::<D>(id),
        Some(&before_json),
        None,
    )
    .await?;
    audit::append(
        &mut tx,
        app.db.backend,
        now,
        &ctx.actor(),
        Event {
            action: "delete",
            entity_type: D::KIND.as_str(),
            entity_id: Some(id.to_string()),
            before: Some(before_json),
            after: None,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn history<D: Device>(
    State(app): State<App>,
    ctx: Ctx,
    Path(id): Path<Uuid>,
) -> AppResult<Json<Vec<AuditEntry>>> {
    // Scope check first; a deleted device's history stays with the audit log.
    load::<D>(&app, &ctx, &id).await?;
    Ok(Json(
        audit::history(&app.db, D::KIND.as_str(), &id.to_string()).await?,
    ))
}

fn seal_context<D: Device>(id: &Uuid) -> String {
    format!("{}:{id}", D::KIND.as_str())
}

async fn set_credentials<D: Device>(
    State(app): State<App>,
    ctx: Ctx,
    Path(id): Path<Uuid>,
    Json(creds): Json<DeviceCredentials>,
) -> AppResult<StatusCode> {
    load::<D>(&app, &ctx, &id).await?;
    let username = gozcu_shared::validate::required_text(&creds.username, 100)
        .map_err(|c| AppError::validation(vec![FieldError::new("username", c)]))?;
    if creds.password.is_empty() || creds.password.len() > 200 {
        return Err(AppError::validation(vec![FieldError::new(
            "password",
            if creds.password.is_empty() {
                ErrorCode::Required
            } else {
                ErrorCode::TooLong
            },
        )]));
    }
    let sealed = app.secrets.seal(&creds.password, &seal_context::<D>(&id));
    let now = app.now_ms();
    let mut tx = app.db.begin_write().await?;
    repo::set_credentials::<D>(&mut tx, &id, &username, &sealed, now).await?;
    // The audit entry says that the password changed, never what it is.
    audit::append(
        &mut tx,
        app.db.backend,
        now,
        &ctx.actor(),
        Event {
            action: "set_credentials",
            entity_type: D::KIND.as_str(),
            entity_id: Some(id.to_string()),
            before: None,
            after: Some(json!({ "username": username, "password": "[changed]" })),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn reveal<D: Device>(
    State(app): State<App>,
    ctx: Ctx,
    Path(id): Path<Uuid>,
) -> AppResult<Json<DeviceCredentials>> {
    load::<D>(&app, &ctx, &id).await?;
    let (username, sealed) = repo::credentials::<D>(&app.db, &id)
        .await?
        .ok_or_else(AppError::not_found)?;
    let password = app.secrets.open(&sealed, &seal_context::<D>(&id))?;
    // The reveal is recorded before the secret leaves the server.
    audit::record(
        &app.db,
        app.now_ms(),
        &ctx.actor(),
        Event {
            action: "reveal_credentials",
            entity_type: D::KIND.as_str(),
            entity_id: Some(id.to_string()),
            before: None,
            after: Some(json!({ "username": username })),
        },
    )
    .await?;
    Ok(Json(DeviceCredentials { username, password }))
}
