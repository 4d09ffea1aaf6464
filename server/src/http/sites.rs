//! `/api/v1/sites`, `/api/v1/buildings`, `/api/v1/locations`: where devices are.

use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use axum::routing::{delete, get, post, put};
use gozcu_shared::inventory::{Building, BuildingTree, Location, Site, SiteTree};
use gozcu_shared::{ErrorCode, FieldError, Permission};
use sqlx::any::AnyRow;
use sqlx::Row;
use uuid::Uuid;

use super::extract::Json;
use super::{Access, AppError, AppResult, Ctx, Route};
use crate::app::App;
use crate::audit::{self, Event};
use crate::inventory::devices::Val;
use crate::sync;
use gozcu_shared::sync::{EntityKind, EntityRef};

pub fn routes() -> Vec<Route> {
    let read = Access::Permission(Permission::InventoryRead);
    let write = Access::Permission(Permission::SitesWrite);
    vec![
        Route {
            method: Method::GET,
            path: "/api/v1/sites",
            access: read,
            tag: "sites",
            summary: "List sites in the caller's scope",
            request: None,
            response: Some("[Site]"),
            handler: get(list),
        },
        Route {
            method: Method::GET,
            path: "/api/v1/sites/tree",
            access: read,
            tag: "sites",
            summary: "Sites with buildings, locations and device counts",
            request: None,
            response: Some("[SiteTree]"),
            handler: get(tree),
        },
        Route {
            method: Method::POST,
            path: "/api/v1/sites",
            access: write,
            tag: "sites",
            summary: "Create a site",
            request: Some("Site"),
            response: Some("Site"),
            handler: post(create_site),
        },
        Route {
            method: Method::GET,
            path: "/api/v1/sites/{id}",
            access: read,
            tag: "sites",
            summary: "One site",
            request: None,
            response: Some("Site"),
            handler: get(get_site),
        },
        Route {
            method: Method::PUT,
            path: "/api/v1/sites/{id}",
            access: write,
            tag: "sites",
            summary: "Update a site",
            request: Some("Site"),
            response: Some("Site"),
            handler: put(update_site),
        },
        Route {
            method: Method::DELETE,
            path: "/api/v1/sites/{id}",
            access: write,
            tag: "sites",
            summary: "Delete an empty site",
            request: None,
            response: None,
            handler: delete(delete_site),
        },
        Route {
            method: Method::POST,
            path: "/api/v1/buildings",
            access: write,
            tag: "sites",
            summary: "Add a building to a site",
            request: Some("Building"),
            response: Some("Building"),
            handler: post(create_building),
        },
        Route {
            method: Method::PUT,
            path: "/api/v1/buildings/{id}",
            access: write,
            tag: "sites",
            summary: "Update a building",
            request: Some("Building"),
            response: Some("Building"),
            handler: put(update_building),
        },
        Route {
            method: Method::DELETE,
            path: "/api/v1/buildings/{id}",
            access: write,
            tag: "sites",
            summary: "Delete an empty building",
            request: None,
            response: None,
            handler: delete(delete_building),
        },
        Route {
            method: Method::POST,
            path: "/api/v1/locations",
            access: write,
            tag: "sites",
            summary: "Add a location to a building",
            request: Some("Location"),
            response: Some("Location"),
            handler: post(create_location),
        },
        Route {
            method: Method::PUT,
            path: "/api/v1/locations/{id}",
            access: write,
            tag: "sites",
            summary: "Update a location",
            request: Some("Location"),
            response: Some("Location"),
            handler: put(update_location),
        },
        Route {
            method: Method::DELETE,
            path: "/api/v1/locations/{id}",
            access: write,
            tag: "sites",
            summary: "Delete an unused location",
            request: None,
            response: None,
            handler: delete(delete_location),
        },
    ]
}

fn uuid(row: &AnyRow, col: &str) -> Result<Uuid, sqlx::Error> {
    let s: String = row.try_get(col)?;
    Uuid::parse_str(&s).map_err(|e| sqlx::Error::Decode(Box::new(e)))
}

pub(crate) fn site_from(row: &AnyRow) -> Result<Site, sqlx::Error> {
    Ok(Site {
        id: uuid(row, "id")?,
        name: row.try_get("name")?,
        code: row.try_get("code")?,
        address: row.try_get("address")?,
        notes: row.try_get("notes")?,
    })
}

pub(crate) fn building_from(row: &AnyRow) -> Result<Building, sqlx::Error> {
    Ok(Building {
        id: uuid(row, "id")?,
        site_id: uuid(row, "site_id")?,
        name: row.try_get("name")?,
        notes: row.try_get("notes")?,
    })
}

pub(crate) fn location_from(row: &AnyRow) -> Result<Location, sqlx::Error> {
    Ok(Location {
        id: uuid(row, "id")?,
        building_id: uuid(row, "building_id")?,
        name: row.try_get("name")?,
        floor: row.try_get("floor")?,
        notes: row.try_get("notes")?,
    })
}

async fn all_sites(app: &App, ctx: &Ctx) -> AppResult<Vec<Site>> {
    let rows = sqlx::query("SELECT id, name, code, address, notes FROM sites ORDER BY name")
        .fetch_all(&app.db.pool)
        .await?;
    let sites: Vec<Site> = rows.iter().map(site_from).collect::<Result<_, _>>()?;
    Ok(sites.into_iter().filter(|s| ctx.in_scope(&s.id)).collect())
}

async fn list(State(app): State<App>, ctx: Ctx) -> AppResult<Json<Vec<Site>>> {
    Ok(Json(all_sites(&app, &ctx).await?))
}

async fn counts(app: &App, table: &str) -> AppResult<std::collections::HashMap<String, u32>> {
    let rows = sqlx::query(&format!(
        "SELECT site_id, COUNT(*) FROM {table} GROUP BY site_id"
    ))
    .fetch_all(&app.db.pool)
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get::<String, _>(0)?, r.try_get::<i64, _>(1)? as u32)))
        .collect()
}

async fn tree(State(app): State<App>, ctx: Ctx) -> AppResult<Json<Vec<SiteTree>>> {
    let sites = all_sites(&app, &ctx).await?;
    let buildings: Vec<Building> =
        sqlx::query("SELECT id, site_id, name, notes FROM buildings ORDER BY name")
            .fetch_all(&app.db.pool)
            .await?
            .iter()
            .map(building_from)
            .collect::<Result<_, _>>()?;
    let locations: Vec<Location> =
        sqlx::query("SELECT id, building_id, name, floor, notes FROM locations ORDER BY name")
            .fetch_all(&app.db.pool)
            .await?
            .iter()
            .map(location_from)
            .collect::<Result<_, _>>()?;
    let (cams, recs, sws) = (
        counts(&app, "cameras").await?,
        counts(&app, "recorders").await?,
        counts(&app, "switches").await?,
    );
    let out = sites
        .into_iter()
        .map(|site| {
            let key = site.id.to_string();
            let buildings = buildings
                .iter()
                .filter(|b| b.site_id == site.id)
                .map(|b| BuildingTree {
                    building: b.clone(),
                    locations: locations
                        .iter()
                        .filter(|l| l.building_id == b.id)
                        .cloned()
                        .collect(),
                })
                .collect();
            SiteTree {
                camera_count: cams.get(&key).copied().unwrap_or(0),
                recorder_count: recs.get(&key).copied().unwrap_or(0),
                switch_count: sws.get(&key).copied().unwrap_or(0),
                site,
                buildings,
            }
        })
        .collect();
    Ok(Json(out))
}

async fn load_site(app: &App, ctx: &Ctx, id: &Uuid) -> AppResult<Site> {
    let row = sqlx::query("SELECT id, name, code, address, notes FROM sites WHERE id = $1")
        .bind(id.to_string())
        .fetch_optional(&app.db.pool)
        .await?;
    let site = row
        .as_ref()
        .map(site_from)
        .transpose()?
        .ok_or_else(AppError::not_found)?;
    // Outside the caller's scope the site does not exist for them.
    if !ctx.in_scope(&site.id) {
        return Err(AppError::not_found());
    }
    Ok(site)
}

async fn get_site(State(app): State<App>, ctx: Ctx, Path(id): Path<Uuid>) -> AppResult<Json<Site>> {
    Ok(Json(load_site(&app, &ctx, &id).await?))
}

/// Maps a unique violation on a name or code to a field error.
fn duplicate(field: &'static str) -> impl Fn(sqlx::Error) -> AppError {
    move |e| match crate::db::unique_violation(&e) {
        Some(msg) if msg.contains("code") => {
            AppError::conflict(vec![FieldError::new("code", ErrorCode::DuplicateName)])
        }
        Some(_) => AppError::conflict(vec![FieldError::new(field, ErrorCode::DuplicateName)]),
        None => e.into(),
    }
}

fn site_values(site: &Site) -> Vec<Val> {
    vec![
        Val::Text(Some(site.name.clone())),
        text(&site.code),
        text(&site.address),
        text(&site.notes),
    ]
}

async fn create_site(
    State(app): State<App>,
    ctx: Ctx,
    Json(input): Json<Site>,
) -> AppResult<(StatusCode, Json<Site>)> {
    let mut site = input.normalize().map_err(AppError::validation)?;
    site.id = Uuid::now_v7();
    write_place(
        &app,
        &ctx,
        &SITES,
        &site.id,
        site_values(&site),
        None,
        to_json(&site)?,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(site)))
}

async fn update_site(
    State(app): State<App>,
    ctx: Ctx,
    Path(id): Path<Uuid>,
    Json(input): Json<Site>,
) -> AppResult<Json<Site>> {
    let before = load_site(&app, &ctx, &id).await?;
    ctx.require_site(&id)?;
    let mut site = input.normalize().map_err(AppError::validation)?;
    site.id = id;
    write_place(
        &app,
        &ctx,
        &SITES,
        &id,
        site_values(&site),
        Some(to_json(&before)?),
        to_json(&site)?,
    )
    .await?;
    Ok(Json(site))
}

/// Deletes one row and audits it; a row still referenced answers 409.
async fn delete_row(
    app: &App,
    ctx: &Ctx,
    table: &str,
    entity: &'static str,
    id: &Uuid,
    before: serde_json::Value,
) -> AppResult<StatusCode> {
    let now = app.now_ms();
    let mut tx = app.db.begin_write().await?;
    sqlx::query(&format!("DELETE FROM {table} WHERE id = $1"))
        .bind(id.to_string())
        .execute(tx.conn())
        .await?;
    sync::record_write(
        tx.conn(),
        app.db.backend,
        &app.sync,
        now,
        place_entity(entity, *id),
        Some(&before),
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
            entity_type: entity,
            entity_id: Some(id.to_string()),
            before: Some(before),
            after: None,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn delete_site(
    State(app): State<App>,
    ctx: Ctx,
    Path(id): Path<Uuid>,
) -> AppResult<StatusCode> {
    let before = load_site(&app, &ctx, &id).await?;
    ctx.require_site(&id)?;
    delete_row(
        &app,
        &ctx,
        "sites",
        "site",
        &id,
        serde_json::to_value(before).map_err(anyhow::Error::from)?,
    )
    .await
}

async fn load_building(app: &App, ctx: &Ctx, id: &Uuid) -> AppResult<Building> {
    let row = sqlx::query("SELECT id, site_id, name, notes FROM buildings WHERE id = $1")
        .bind(id.to_string())
        .fetch_optional(&app.db.pool)
        .await?;
    let b = row
        .as_ref()
        .map(building_from)
        .transpose()?
        .ok_or_else(AppError::not_found)?;
    if !ctx.in_scope(&b.site_id) {
        return Err(AppError::not_found());
    }
    Ok(b)
}

async fn save_building(
    app: &App,
    ctx: &Ctx,
    input: Building,
    existing: Option<Building>,
) -> AppResult<Building> {
    let mut b = input.normalize().map_err(AppError::validation)?;
    // A building never moves to another site through an update.
    b.site_id = existing.as_ref().map(|e| e.site_id).unwrap_or(b.site_id);
    ctx.require_site(&b.site_id)?;
    load_site(app, ctx, &b.site_id).await.map_err(|_| {
        AppError::validation(vec![FieldError::new("site_id", ErrorCode::UnknownSite)])
    })?;
    b.id = existing.as_ref().map(|e| e.id).unwrap_or_else(Uuid::now_v7);
    let vals = vec![
        Val::Text(Some(b.site_id.to_string())),
        Val::Text(Some(b.name.clone())),
        text(&b.notes),
    ];
    let before = existing.as_ref().map(to_json).transpose()?;
    write_place(app, ctx, &BUILDINGS, &b.id, vals, before, to_json(&b)?).await?;
    Ok(b)
}

/// A table of places and its editable columns, in the order of the values
/// passed to [`write_place`].
#[derive(Clone, Copy)]
struct PlaceTable {
    table: &'static str,
    entity: &'static str,
    cols: &'static [&'static str],
}

const SITES: PlaceTable = PlaceTable {
    table: "sites",
    entity: "site",
    cols: &["name", "code", "address", "notes"],
};
const BUILDINGS: PlaceTable = PlaceTable {
    table: "buildings",
    entity: "building",
    cols: &["site_id", "name", "notes"],
};
const LOCATIONS: PlaceTable = PlaceTable {
    table: "locations",
    entity: "location",
    cols: &["building_id", "name", "floor", "notes"],
};

/// Writes one row of a place table (site, building, location) and its audit
/// entry in one transaction: an INSERT when `before` is `None`, else an
/// UPDATE. `cols`/`vals` are the editable columns; `id`, `created_at` and
/// `updated_at` are handled here.
async fn write_place(
    app: &App,
    ctx: &Ctx,
    place: &PlaceTable,
    id: &Uuid,
    vals: Vec<Val>,
    before: Option<serde_json::Value>,
    after: serde_json::Value,
) -> AppResult<()> {
    let PlaceTable {
        table,
        entity,
        cols,
    } = *place;
    let now = app.now_ms();
    let n = cols.len();
    let sql = if before.is_some() {
        let set: Vec<String> = cols
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c} = ${}", i + 1))
            .collect();
        format!(
            "UPDATE {table} SET {}, updated_at = ${} WHERE id = ${}",
            set.join(", "),
            n + 1,
            n + 2
        )
    } else {
        let params: Vec<String> = (1..=n).map(|i| format!("${i}")).collect();
        format!(
            "INSERT INTO {table} ({}, updated_at, id, created_at) VALUES ({}, ${}, ${}, ${})",
            cols.join(", "),
            params.join(", "),
            n + 1,
            n + 2,
            n + 1
        )
    };
    let mut q = sqlx::query(&sql);
    for v in vals {
        q = v.bind(q);
    }
    let mut tx = app.db.begin_write().await?;
    q.bind(now)
        .bind(id.to_string())
        .execute(tx.conn())
        .await
        .map_err(duplicate("name"))?;
    sync::record_write(
        tx.conn(),
        app.db.backend,
        &app.sync,
        now,
        place_entity(entity, *id),
        before.as_ref(),
        Some(&after),
    )
    .await?;
    let event = Event {
        action: if before.is_some() { "update" } else { "create" },
        entity_type: entity,
        entity_id: Some(id.to_string()),
        before,
        after: Some(after),
    };
    audit::append(&mut tx, app.db.backend, now, &ctx.actor(), event).await?;
    tx.commit().await?;
    Ok(())
}

/// The sync record of a place.
fn place_entity(entity: &str, id: Uuid) -> EntityRef {
    EntityRef {
        kind: EntityKind::parse(entity).expect("places are named by their entity kind"),
        id,
    }
}

fn text(v: &Option<String>) -> Val {
    Val::Text(v.clone())
}

fn to_json<T: serde::Serialize>(v: &T) -> AppResult<serde_json::Value> {
    serde_json::to_value(v).map_err(|e| AppError::Internal(e.into()))
}

async fn create_building(
    State(app): State<App>,
    ctx: Ctx,
    Json(input): Json<Building>,
) -> AppResult<(StatusCode, Json<Building>)> {
    Ok((
        StatusCode::CREATED,
        Json(save_building(&app, &ctx, input, None).await?),
    ))
}

async fn update_building(
    State(app): State<App>,
    ctx: Ctx,
    Path(id): Path<Uuid>,
    Json(input): Json<Building>,
) -> AppResult<Json<Building>> {
    let existing = load_building(&app, &ctx, &id).await?;
    Ok(Json(
        save_building(&app, &ctx, input, Some(existing)).await?,
    ))
}

async fn delete_building(
    State(app): State<App>,
    ctx: Ctx,
    Path(id): Path<Uuid>,
) -> AppResult<StatusCode> {
    let b = load_building(&app, &ctx, &id).await?;
    ctx.require_site(&b.site_id)?;
    delete_row(
        &app,
        &ctx,
        "buildings",
        "building",
        &id,
        serde_json::to_value(b).map_err(anyhow::Error::from)?,
    )
    .await
}

/// A location's site, through its building.
pub async fn location_site(
    conn: &mut sqlx::AnyConnection,
    location_id: &Uuid,
) -> AppResult<Option<Uuid>> {
    let site: Option<String> = sqlx::query_scalar(
        "SELECT b.site_id FROM locations l JOIN buildings b ON b.id = l.building_id WHERE l.id = $1",
    )
    .bind(location_id.to_string())
    .fetch_optional(&mut *conn)
    .await?;
    Ok(site.and_then(|s| Uuid::parse_str(&s).ok()))
}

async fn load_location(app: &App, ctx: &Ctx, id: &Uuid) -> AppResult<(Location, Uuid)> {
    let row =
        sqlx::query("SELECT id, building_id, name, floor, notes FROM locations WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(&app.db.pool)
            .await?;
    let l = row
        .as_ref()
        .map(location_from)
        .transpose()?
        .ok_or_else(AppError::not_found)?;
    let site = location_site(&mut *app.db.pool.acquire().await?, id)
        .await?
        .ok_or_else(AppError::not_found)?;
    if !ctx.in_scope(&site) {
        return Err(AppError::not_found());
    }
    Ok((l, site))
}

async fn save_location(
    app: &App,
    ctx: &Ctx,
    input: Location,
    existing: Option<Location>,
) -> AppResult<Location> {
    let mut l = input.normalize().map_err(AppError::validation)?;
    let building = load_building(app, ctx, &l.building_id).await.map_err(|_| {
        AppError::validation(vec![FieldError::new(
            "building_id",
            ErrorCode::UnknownLocation,
        )])
    })?;
    ctx.require_site(&building.site_id)?;
    l.id = existing.as_ref().map(|e| e.id).unwrap_or_else(Uuid::now_v7);
    let vals = vec![
        Val::Text(Some(l.building_id.to_string())),
        Val::Text(Some(l.name.clone())),
        text(&l.floor),
        text(&l.notes),
    ];
    let before = existing.as_ref().map(to_json).transpose()?;
    write_place(app, ctx, &LOCATIONS, &l.id, vals, before, to_json(&l)?).await?;
    Ok(l)
}

async fn create_location(
    State(app): State<App>,
    ctx: Ctx,
    Json(input): Json<Location>,
) -> AppResult<(StatusCode, Json<Location>)> {
    Ok((
        StatusCode::CREATED,
        Json(save_location(&app, &ctx, input, None).await?),
    ))
}

async fn update_location(
    State(app): State<App>,
    ctx: Ctx,
    Path(id): Path<Uuid>,
    Json(input): Json<Location>,
) -> AppResult<Json<Location>> {
    let (existing, _) = load_location(&app, &ctx, &id).await?;
    Ok(Json(
        save_location(&app, &ctx, input, Some(existing)).await?,
    ))
}

async fn delete_location(
    State(app): State<App>,
    ctx: Ctx,
    Path(id): Path<Uuid>,
) -> AppResult<StatusCode> {
    let (l, site) = load_location(&app, &ctx, &id).await?;
    ctx.require_site(&site)?;
    delete_row(
        &app,
        &ctx,
        "locations",
        "location",
        &id,
        serde_json::to_value(l).map_err(anyhow::Error::from)?,
    )
    .await
}
