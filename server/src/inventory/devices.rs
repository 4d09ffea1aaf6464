//! The device repository, generic over cameras, recorders and switches.
//!
//! Columns every device has (identity, asset fields, search text, sealed
//! credentials) are read and written here once; each kind adds its own
//! columns through [`Device`]. Identity keys (IP, MAC, serial per make) live
//! in `device_identities`, whose primary key makes the database the judge of
//! duplicates across all kinds of device.

use gozcu_shared::api::{ListQuery, Page};
use gozcu_shared::inventory::{AssetFields, Camera, DeviceKind, DeviceStatus, Recorder, Switch};
use gozcu_shared::validate::{search_fold, serial_key};
use gozcu_shared::{ErrorCode, FieldError};
use serde::de::DeserializeOwned;
use serde::Serialize;
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::Query;
use sqlx::{Any, AnyConnection, Row};
use uuid::Uuid;

use crate::db::{Backend, Db, WriteTx};

/// The part every device has.
#[derive(Debug, Clone, Default)]
pub struct Common {
    pub id: Uuid,
    pub site_id: Uuid,
    pub location_id: Option<Uuid>,
    pub name: String,
    pub asset: AssetFields,
    pub has_credentials: bool,
    pub updated_at: i64,
}

/// A value to bind; the Any driver needs concrete types per column.
#[derive(Debug, Clone)]
pub enum Val {
    Text(Option<String>),
    Int(Option<i64>),
    Real(Option<f64>),
}

impl Val {
    pub fn bind<'q>(self, q: Query<'q, Any, AnyArguments<'q>>) -> Query<'q, Any, AnyArguments<'q>> {
        match self {
            Val::Text(v) => q.bind(v),
            Val::Int(v) => q.bind(v),
            Val::Real(v) => q.bind(v),
        }
    }
}

pub struct Paths {
    pub base: &'static str,
    pub item: &'static str,
    pub history: &'static str,
    pub credentials: &'static str,
    pub reveal: &'static str,
}

pub trait Device: Serialize + DeserializeOwned + Clone + Send + Sync + 'static {
    const KIND: DeviceKind;
    const TABLE: &'static str;
    const SCHEMA: &'static str;
    const PATHS: Paths;
    const EXTRA_COLUMNS: &'static [&'static str];
    const HAS_CREDENTIALS: bool;

    fn normalize(&self) -> Result<Self, Vec<FieldError>>;
    fn common(&self) -> Common;
    fn with_common(self, c: Common) -> Self;
    /// Values of [`Device::EXTRA_COLUMNS`], in order.
    fn extra_values(&self) -> Vec<Val>;
    fn from_row(row: &AnyRow, common: Common) -> Result<Self, sqlx::Error>;
    /// The recorder and channel a camera records on.
    fn recorder_ref(&self) -> Option<(Uuid, Option<u32>)> {
        None
    }
    /// Extra words to find the device by (a camera's tags).
    fn search_extra(&self) -> String {
        String::new()
    }
}

const COMMON_COLUMNS: &[&str] = &[
    "id",
    "site_id",
    "location_id",
    "name",
    "make",
    "model",
    "serial",
    "mac",
    "ip",
    "firmware",
    "status",
    "install_date",
    "warranty_start",
    "warranty_end",
    "asset_number",
    "supplier",
    "purchase_date",
    "notes",
    "search",
    "created_at",
    "updated_at",
];

fn select_list<D: Device>() -> String {
    let mut cols: Vec<&str> = COMMON_COLUMNS.to_vec();
    cols.extend_from_slice(D::EXTRA_COLUMNS);
    format!(
        "{}, CAST(CASE WHEN cred_secret IS NULL THEN 0 ELSE 1 END AS BIGINT) AS has_cred",
        cols.join(", ")
    )
}

fn opt_uuid(row: &AnyRow, col: &str) -> Result<Option<Uuid>, sqlx::Error> {
    let v: Option<String> = row.try_get(col)?;
    v.map(|s| Uuid::parse_str(&s).map_err(|e| sqlx::Error::Decode(Box::new(e))))
        .transpose()
}

fn common_from(row: &AnyRow) -> Result<Common, sqlx::Error> {
    let status: String = row.try_get("status")?;
    Ok(Common {
        id: opt_uuid(row, "id")?.unwrap_or_default(),
        site_id: opt_uuid(row, "site_id")?.unwrap_or_default(),
        location_id: opt_uuid(row, "location_id")?,
        name: row.try_get("name")?,
        asset: AssetFields {
            make: row.try_get("make")?,
            model: row.try_get("model")?,
            serial: row.try_get("serial")?,
            mac: row.try_get("mac")?,
            ip: row.try_get("ip")?,
            firmware: row.try_get("firmware")?,
            status: DeviceStatus::parse(&status).unwrap_or_default(),
            install_date: row.try_get("install_date")?,
            warranty_start: row.try_get("warranty_start")?,
            warranty_end: row.try_get("warranty_end")?,
            asset_number: row.try_get("asset_number")?,
            supplier: row.try_get("supplier")?,
            purchase_date: row.try_get("purchase_date")?,
            notes: row.try_get("notes")?,
        },
        has_credentials: row.try_get::<i64, _>("has_cred")? != 0,
        updated_at: row.try_get("updated_at")?,
    })
}

pub fn row_to<D: Device>(row: &AnyRow) -> Result<D, sqlx::Error> {
    let common = common_from(row)?;
    D::from_row(row, common)
}

fn common_values<D: Device>(d: &D, created_at: i64, updated_at: i64) -> Vec<Val> {
    let c = d.common();
    let a = &c.asset;
    let search = search_fold(
        &[
            c.name.as_str(),
            &a.make,
            a.model.as_deref().unwrap_or(""),
            a.serial.as_deref().unwrap_or(""),
            a.ip.as_deref().unwrap_or(""),
            a.mac.as_deref().unwrap_or(""),
            a.asset_number.as_deref().unwrap_or(""),
            &d.search_extra(),
        ]
        .join(" "),
    );
    let t = |v: &Option<String>| Val::Text(v.clone());
    vec![
        Val::Text(Some(c.id.to_string())),
        Val::Text(Some(c.site_id.to_string())),
        Val::Text(c.location_id.map(|l| l.to_string())),
        Val::Text(Some(c.name.clone())),
        Val::Text(Some(a.make.clone())),
        t(&a.model),
        t(&a.serial),
        t(&a.mac),
        t(&a.ip),
        t(&a.firmware),
        Val::Text(Some(a.status.as_str().to_owned())),
        t(&a.install_date),
        t(&a.warranty_start),
        t(&a.warranty_end),
        t(&a.asset_number),
        t(&a.supplier),
        t(&a.purchase_date),
        t(&a.notes),
        Val::Text(Some(search)),
        Val::Int(Some(created_at)),
        Val::Int(Some(updated_at)),
    ]
}

pub async fn get<D: Device>(db: &Db, id: &Uuid) -> Result<Option<D>, sqlx::Error> {
    get_in::<D>(&mut *db.pool.acquire().await?, id).await
}

/// [`get`] on a given connection, to see a transaction's own writes.
pub async fn get_in<D: Device>(
    conn: &mut AnyConnection,
    id: &Uuid,
) -> Result<Option<D>, sqlx::Error> {
    let sql = format!(
        "SELECT {} FROM {} WHERE id = $1",
        select_list::<D>(),
        D::TABLE
    );
    let row = sqlx::query(&sql)
        .bind(id.to_string())
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(row_to::<D>).transpose()
}

/// Devices that have no sync record yet (written before sync existed).
pub async fn without_sync_record<D: Device>(
    conn: &mut AnyConnection,
) -> Result<Vec<D>, sqlx::Error> {
    let sql = format!(
        "SELECT {} FROM {} WHERE id NOT IN (SELECT id FROM sync_records)",
        select_list::<D>(),
        D::TABLE
    );
    let rows = sqlx::query(&sql).fetch_all(&mut *conn).await?;
    rows.iter().map(row_to::<D>).collect()
}

/// Lists devices matching a query within a site scope (`None` = all sites).
pub async fn list<D: Device>(
    db: &Db,
    scope: Option<&[Uuid]>,
    q: &ListQuery,
) -> Result<Page<D>, sqlx::Error> {
    let mut conds: Vec<String> = Vec::new();
    let mut vals: Vec<Val> = Vec::new();
    let next = |v: Val, vals: &mut Vec<Val>| {
        vals.push(v);
        format!("${}", vals.len())
    };
    if let Some(text) = q.q.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        // Every word must match somewhere; LIKE wildcards typed by the user
        // are escaped so that "10.0.0_1" means what it says.
        for word in search_fold(text).split_whitespace().take(8) {
            let escaped = word
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            let p = next(Val::Text(Some(format!("%{escaped}%"))), &mut vals);
            conds.push(format!("search LIKE {p} ESCAPE '\\'"));
        }
    }
    if let Some(site) = q.site_id {
        let p = next(Val::Text(Some(site.to_string())), &mut vals);
        conds.push(format!("site_id = {p}"));
    }
    if let Some(status) = q.status {
        let p = next(Val::Text(Some(status.as_str().to_owned())), &mut vals);
        conds.push(format!("status = {p}"));
    }
    if let Some(sites) = scope {
        if sites.is_empty() {
            conds.push("1 = 0".into());
        } else {
            let ps: Vec<String> = sites
                .iter()
                .map(|s| next(Val::Text(Some(s.to_string())), &mut vals))
                .collect();
            conds.push(format!("site_id IN ({})", ps.join(", ")));
        }
    }
    let where_sql = if conds.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", conds.join(" AND "))
    };
    let sort = match q.sort.as_deref() {
        Some("serial") => "serial",
        Some("ip") => "ip",
        Some("status") => "status",
        Some("make") => "make",
        Some("model") => "model",
        Some("warranty_end") => "warranty_end",
        Some("updated_at") => "updated_at",
        _ => "name",
    };
    let order = if q.order.as_deref() == Some("desc") {
        "DESC"
    } else {
        "ASC"
    };
    let limit = i64::from(q.limit.unwrap_or(100).min(10_000));
    let offset = i64::from(q.offset.unwrap_or(0));

    let count_sql = format!("SELECT COUNT(*) FROM {}{where_sql}", D::TABLE);
    let mut count_q = sqlx::query(&count_sql);
    for v in vals.clone() {
        count_q = v.bind(count_q);
    }
    let total: i64 = count_q.fetch_one(&db.pool).await?.try_get(0)?;

    let n = vals.len();
    let sql = format!(
        "SELECT {} FROM {}{where_sql} ORDER BY {sort} {order}, id {order} LIMIT ${} OFFSET ${}",
        select_list::<D>(),
        D::TABLE,
        n + 1,
        n + 2
    );
    let mut query = sqlx::query(&sql);
    for v in vals {
        query = v.bind(query);
    }
    let rows = query.bind(limit).bind(offset).fetch_all(&db.pool).await?;
    let items = rows.iter().map(row_to::<D>).collect::<Result<_, _>>()?;
    Ok(Page {
        items,
        total: total as u64,
    })
}

/// Bound parameters per multi-row statement. PostgreSQL gains from big
/// statements (fewer round trips); SQLite runs in-process and binding cost
/// grows faster than linearly with the parameter count in sqlx, so smaller
/// statements are faster there (measured: 60 ms for 8,000 parameters).
pub fn max_params(backend: Backend) -> usize {
    match backend {
        Backend::Sqlite => 500,
        Backend::Postgres => 8_000,
    }
}

/// Keys per `WHERE key IN (…)` lookup. Given a long list, PostgreSQL's
/// planner prefers a sequential scan of the whole table, especially while a
/// table's statistics lag behind its growth (measured: 750 identity keys
/// against 120,000 rows took 26 ms by sequential scan and 0.7 ms through the
/// primary key), so lookups go in chunks small enough that the index is
/// always chosen.
pub const IN_LIST_CHUNK: usize = 100;

/// Inserts new devices, with their identity keys, in multi-row statements
/// (one device from a form, thousands from a CSV import). The devices are
/// new, so there are no old identity keys to clear.
pub async fn insert_many<D: Device>(
    conn: &mut AnyConnection,
    backend: Backend,
    devices: &[D],
    now: i64,
) -> Result<(), sqlx::Error> {
    let mut cols: Vec<&str> = COMMON_COLUMNS.to_vec();
    cols.extend_from_slice(D::EXTRA_COLUMNS);
    let per_chunk = (max_params(backend) / cols.len()).max(1);
    for chunk in devices.chunks(per_chunk) {
        let rows: Vec<String> = (0..chunk.len())
            .map(|r| {
                let p: Vec<String> = (1..=cols.len())
                    .map(|c| format!("${}", r * cols.len() + c))
                    .collect();
                format!("({})", p.join(", "))
            })
            .collect();
        let sql = format!(
            "INSERT INTO {} ({}) VALUES {}",
            D::TABLE,
            cols.join(", "),
            rows.join(", ")
        );
        let mut q = sqlx::query(&sql);
        for d in chunk {
            for v in common_values(d, now, now)
                .into_iter()
                .chain(d.extra_values())
            {
                q = v.bind(q);
            }
        }
        q.execute(&mut *conn).await?;
    }
    let keys: Vec<(String, String)> = devices
        .iter()
        .flat_map(|d| {
            let c = d.common();
            identity_keys(&c.asset)
                .into_iter()
                .map(move |(k, _, _)| (k, c.id.to_string()))
        })
        .collect();
    for chunk in keys.chunks(max_params(backend) / 3) {
        let rows: Vec<String> = (0..chunk.len())
            .map(|r| format!("(${}, ${}, ${})", r * 3 + 1, r * 3 + 2, r * 3 + 3))
            .collect();
        let sql = format!(
            "INSERT INTO device_identities (identity, kind, device_id) VALUES {}",
            rows.join(", ")
        );
        let mut q = sqlx::query(&sql);
        for (key, id) in chunk {
            q = q.bind(key.clone()).bind(D::KIND.as_str()).bind(id.clone());
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

pub async fn update<D: Device>(
    conn: &mut AnyConnection,
    d: &D,
    now: i64,
) -> Result<(), sqlx::Error> {
    let mut cols: Vec<&str> = COMMON_COLUMNS.to_vec();
    cols.extend_from_slice(D::EXTRA_COLUMNS);
    let mut values: Vec<Val> = common_values(d, now, now)
        .into_iter()
        .chain(d.extra_values())
        .collect();
    // `id` (first) becomes the WHERE parameter; `created_at` is never updated.
    let id = values.remove(0);
    let created_idx = cols
        .iter()
        .position(|c| *c == "created_at")
        .expect("created_at is a common column")
        - 1;
    values.remove(created_idx);
    let set: Vec<String> = cols
        .iter()
        .filter(|c| **c != "id" && **c != "created_at")
        .enumerate()
        .map(|(i, c)| format!("{c} = ${}", i + 1))
        .collect();
    let sql = format!(
        "UPDATE {} SET {} WHERE id = ${}",
        D::TABLE,
        set.join(", "),
        values.len() + 1
    );
    let mut q = sqlx::query(&sql);
    for v in values {
        q = v.bind(q);
    }
    id.bind(q).execute(&mut *conn).await?;
    Ok(())
}

pub async fn delete<D: Device>(conn: &mut AnyConnection, id: &Uuid) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM device_identities WHERE device_id = $1")
        .bind(id.to_string())
        .execute(&mut *conn)
        .await?;
    sqlx::query(&format!("DELETE FROM {} WHERE id = $1", D::TABLE))
        .bind(id.to_string())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// The identity keys of an asset, each with the field and error it maps to.
pub fn identity_keys(a: &AssetFields) -> Vec<(String, &'static str, ErrorCode)> {
    let mut keys = Vec::new();
    if let Some(ip) = &a.ip {
        keys.push((format!("ip:{ip}"), "ip", ErrorCode::DuplicateIp));
    }
    if let Some(mac) = &a.mac {
        keys.push((format!("mac:{mac}"), "mac", ErrorCode::DuplicateMac));
    }
    if let Some(serial) = &a.serial {
        keys.push((
            format!("serial:{}", serial_key(&a.make, serial)),
            "serial",
            ErrorCode::DuplicateSerial,
        ));
    }
    keys
}

/// Which of `keys` already belong to another device (one query for all).
pub async fn identity_conflicts(
    conn: &mut AnyConnection,
    keys: &[(String, &'static str, ErrorCode)],
    own_id: &Uuid,
) -> Result<Vec<FieldError>, sqlx::Error> {
    let wanted: Vec<String> = keys.iter().map(|(k, _, _)| k.clone()).collect();
    let taken: Vec<String> = identity_owners(conn, &wanted)
        .await?
        .into_iter()
        .filter(|(_, owner)| owner != own_id)
        .map(|(key, _)| key)
        .collect();
    Ok(keys
        .iter()
        .filter(|(key, _, _)| taken.contains(key))
        .map(|(_, field, code)| FieldError::new(*field, *code))
        .collect())
}

/// The holders of those of `keys` that some device holds.
pub async fn identity_owners(
    conn: &mut AnyConnection,
    keys: &[String],
) -> Result<Vec<(String, Uuid)>, sqlx::Error> {
    let mut owners = Vec::new();
    for chunk in keys.chunks(IN_LIST_CHUNK) {
        let params: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT identity, device_id FROM device_identities WHERE identity IN ({})",
            params.join(", ")
        );
        let mut q = sqlx::query(&sql);
        for key in chunk {
            q = q.bind(key.clone());
        }
        for row in q.fetch_all(&mut *conn).await? {
            let owner: String = row.try_get(1)?;
            let owner = Uuid::parse_str(&owner).map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
            owners.push((row.try_get(0)?, owner));
        }
    }
    Ok(owners)
}

/// Replaces a device's identity keys. A concurrent writer that took the same
/// key first makes this fail with a unique violation.
pub async fn claim_identities(
    conn: &mut AnyConnection,
    kind: DeviceKind,
    id: &Uuid,
    keys: &[(String, &'static str, ErrorCode)],
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM device_identities WHERE device_id = $1")
        .bind(id.to_string())
        .execute(&mut *conn)
        .await?;
    for (key, _, _) in keys {
        sqlx::query(
            "INSERT INTO device_identities (identity, kind, device_id) VALUES ($1, $2, $3)",
        )
        .bind(key)
        .bind(kind.as_str())
        .bind(id.to_string())
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Stores sealed credentials.
pub async fn set_credentials<D: Device>(
    tx: &mut WriteTx,
    id: &Uuid,
    username: &str,
    sealed: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(&format!(
        "UPDATE {} SET cred_username = $1, cred_secret = $2, updated_at = $3 WHERE id = $4",
        D::TABLE
    ))
    .bind(username)
    .bind(sealed)
    .bind(now)
    .bind(id.to_string())
    .execute(tx.conn())
    .await?;
    Ok(())
}

pub async fn credentials<D: Device>(
    db: &Db,
    id: &Uuid,
) -> Result<Option<(String, String)>, sqlx::Error> {
    let row = sqlx::query(&format!(
        "SELECT cred_username, cred_secret FROM {} WHERE id = $1",
        D::TABLE
    ))
    .bind(id.to_string())
    .fetch_optional(&db.pool)
    .await?;
    Ok(match row {
        Some(r) => match (
            r.try_get::<Option<String>, _>(0)?,
            r.try_get::<Option<String>, _>(1)?,
        ) {
            (Some(u), Some(s)) => Some((u, s)),
            _ => None,
        },
        None => None,
    })
}

fn common_of(
    id: Uuid,
    site_id: Uuid,
    location_id: Option<Uuid>,
    name: &str,
    asset: &AssetFields,
    has_credentials: bool,
    updated_at: i64,
) -> Common {
    Common {
        id,
        site_id,
        location_id,
        name: name.to_owned(),
        asset: asset.clone(),
        has_credentials,
        updated_at,
    }
}

impl Device for Camera {
    const KIND: DeviceKind = DeviceKind::Camera;
    const TABLE: &'static str = "cameras";
    const SCHEMA: &'static str = "Camera";
    const PATHS: Paths = Paths {
        base: "/api/v1/cameras",
        item: "/api/v1/cameras/{id}",
        history: "/api/v1/cameras/{id}/history",
        credentials: "/api/v1/cameras/{id}/credentials",
        reveal: "/api/v1/cameras/{id}/credentials/reveal",
    };
    const EXTRA_COLUMNS: &'static [&'static str] = &[
        "rtsp_main_path",
        "rtsp_sub_path",
        "recorder_id",
        "recorder_channel",
        "public",
        "tags",
    ];
    const HAS_CREDENTIALS: bool = true;

    fn normalize(&self) -> Result<Self, Vec<FieldError>> {
        Camera::normalize(self)
    }
    fn common(&self) -> Common {
        common_of(
            self.id,
            self.site_id,
            self.location_id,
            &self.name,
            &self.asset,
            self.has_credentials,
            self.updated_at,
        )
    }
    fn with_common(self, c: Common) -> Self {
        Camera {
            id: c.id,
            site_id: c.site_id,
            location_id: c.location_id,
            name: c.name,
            asset: c.asset,
            has_credentials: c.has_credentials,
            updated_at: c.updated_at,
            ..self
        }
    }
    fn extra_values(&self) -> Vec<Val> {
        vec![
            Val::Text(self.rtsp_main_path.clone()),
            Val::Text(self.rtsp_sub_path.clone()),
            Val::Text(self.recorder_id.map(|r| r.to_string())),
            Val::Int(self.recorder_channel.map(i64::from)),
            Val::Int(Some(i64::from(self.public))),
            Val::Text(Some(
                serde_json::to_string(&self.tags).unwrap_or_else(|_| "[]".into()),
            )),
        ]
    }
    fn from_row(row: &AnyRow, c: Common) -> Result<Self, sqlx::Error> {
        let tags: String = row.try_get("tags")?;
        Ok(Camera {
            rtsp_main_path: row.try_get("rtsp_main_path")?,
            rtsp_sub_path: row.try_get("rtsp_sub_path")?,
            recorder_id: opt_uuid(row, "recorder_id")?,
            recorder_channel: row
                .try_get::<Option<i64>, _>("recorder_channel")?
                .map(|n| n as u32),
            public: row.try_get::<i64, _>("public")? != 0,
            tags: serde_json::from_str(&tags).unwrap_or_default(),
            ..Camera::default()
        }
        .with_common(c))
    }
    fn recorder_ref(&self) -> Option<(Uuid, Option<u32>)> {
        self.recorder_id.map(|r| (r, self.recorder_channel))
    }
    fn search_extra(&self) -> String {
        self.tags.join(" ")
    }
}

impl Device for Recorder {
    const KIND: DeviceKind = DeviceKind::Recorder;
    const TABLE: &'static str = "recorders";
    const SCHEMA: &'static str = "Recorder";
    const PATHS: Paths = Paths {
        base: "/api/v1/recorders",
        item: "/api/v1/recorders/{id}",
        history: "/api/v1/recorders/{id}/history",
        credentials: "/api/v1/recorders/{id}/credentials",
        reveal: "/api/v1/recorders/{id}/credentials/reveal",
    };
    const EXTRA_COLUMNS: &'static [&'static str] = &["channels", "storage_tb", "retention_days"];
    const HAS_CREDENTIALS: bool = true;

    fn normalize(&self) -> Result<Self, Vec<FieldError>> {
        Recorder::normalize(self)
    }
    fn common(&self) -> Common {
        common_of(
            self.id,
            self.site_id,
            self.location_id,
            &self.name,
            &self.asset,
            self.has_credentials,
            self.updated_at,
        )
    }
    fn with_common(self, c: Common) -> Self {
        Recorder {
            id: c.id,
            site_id: c.site_id,
            location_id: c.location_id,
            name: c.name,
            asset: c.asset,
            has_credentials: c.has_credentials,
            updated_at: c.updated_at,
            ..self
        }
    }
    fn extra_values(&self) -> Vec<Val> {
        vec![
            Val::Int(Some(i64::from(self.channels))),
            Val::Real(self.storage_tb),
            Val::Int(self.retention_days.map(i64::from)),
        ]
    }
    fn from_row(row: &AnyRow, c: Common) -> Result<Self, sqlx::Error> {
        Ok(Recorder {
            channels: row.try_get::<i64, _>("channels")? as u32,
            storage_tb: row.try_get("storage_tb")?,
            retention_days: row
                .try_get::<Option<i64>, _>("retention_days")?
                .map(|n| n as u32),
            ..Recorder::default()
        }
        .with_common(c))
    }
}

impl Device for Switch {
    const KIND: DeviceKind = DeviceKind::Switch;
    const TABLE: &'static str = "switches";
    const SCHEMA: &'static str = "Switch";
    const PATHS: Paths = Paths {
        base: "/api/v1/switches",
        item: "/api/v1/switches/{id}",
        history: "/api/v1/switches/{id}/history",
        credentials: "/api/v1/switches/{id}/credentials",
        reveal: "/api/v1/switches/{id}/credentials/reveal",
    };
    const EXTRA_COLUMNS: &'static [&'static str] = &["ports", "poe_budget_w", "uplink"];
    const HAS_CREDENTIALS: bool = false;

    fn normalize(&self) -> Result<Self, Vec<FieldError>> {
        Switch::normalize(self)
    }
    fn common(&self) -> Common {
        common_of(
            self.id,
            self.site_id,
            self.location_id,
            &self.name,
            &self.asset,
            false,
            self.updated_at,
        )
    }
    fn with_common(self, c: Common) -> Self {
        Switch {
            id: c.id,
            site_id: c.site_id,
            location_id: c.location_id,
            name: c.name,
            asset: c.asset,
            updated_at: c.updated_at,
            ..self
        }
    }
    fn extra_values(&self) -> Vec<Val> {
        vec![
            Val::Int(Some(i64::from(self.ports))),
            Val::Real(self.poe_budget_w),
            Val::Text(self.uplink.clone()),
        ]
    }
    fn from_row(row: &AnyRow, c: Common) -> Result<Self, sqlx::Error> {
        Ok(Switch {
            ports: row.try_get::<i64, _>("ports")? as u32,
            poe_budget_w: row.try_get("poe_budget_w")?,
            uplink: row.try_get("uplink")?,
            ..Switch::default()
        }
        .with_common(c))
    }
}
