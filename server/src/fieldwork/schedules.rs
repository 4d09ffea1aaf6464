//! The `maintenance_schedules` table, and what the due list needs from the
//! rest of the database: the devices that are maintained, the last completed
//! run of each template on each device, and the templates' names.

use std::collections::{BTreeMap, HashMap};

use gozcu_shared::checklists::Text;
use gozcu_shared::inventory::DeviceKind;
use gozcu_shared::schedules::{DeviceForSchedule, Schedule, ScheduleTarget, UtcOffset};
use gozcu_shared::validate::Date;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use uuid::Uuid;

use super::{opt_uuid_col, uuid_col, DEVICE_TABLES};

const TYPE_TARGET: &str = "device_type";
const DEVICE_TARGET: &str = "device";

/// A stored schedule and, for a device rule, the site of its device (`None`
/// when the device has been deleted since).
#[derive(Debug, Clone)]
pub struct Stored {
    pub schedule: Schedule,
    pub device_site: Option<Uuid>,
}

const SELECT: &str = "SELECT m.id, m.target_kind, m.device_kind, m.device_id, m.every_days, \
     m.template_id, COALESCE(c.site_id, r.site_id, w.site_id) AS device_site \
     FROM maintenance_schedules m \
     LEFT JOIN cameras c ON m.device_kind = 'camera' AND c.id = m.device_id \
     LEFT JOIN recorders r ON m.device_kind = 'recorder' AND r.id = m.device_id \
     LEFT JOIN switches w ON m.device_kind = 'switch' AND w.id = m.device_id";

fn stored_from(row: &AnyRow) -> Result<Stored, sqlx::Error> {
    let target_kind: String = row.try_get("target_kind")?;
    let device_kind: Option<String> = row.try_get("device_kind")?;
    let bad = || sqlx::Error::Decode(format!("bad schedule target {target_kind:?}").into());
    let target = match target_kind.as_str() {
        TYPE_TARGET => ScheduleTarget::DeviceType(
            device_kind
                .as_deref()
                .and_then(DeviceKind::parse)
                .ok_or_else(bad)?,
        ),
        DEVICE_TARGET => ScheduleTarget::Device(opt_uuid_col(row, "device_id")?.ok_or_else(bad)?),
        _ => return Err(bad()),
    };
    let every_days: i64 = row.try_get("every_days")?;
    Ok(Stored {
        schedule: Schedule {
            id: uuid_col(row, "id")?,
            target,
            every_days: u32::try_from(every_days).map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
            template_id: uuid_col(row, "template_id")?,
        },
        device_site: opt_uuid_col(row, "device_site")?,
    })
}

/// Every schedule: type rules first, then device rules, each by template
/// and interval.
pub async fn list(conn: &mut AnyConnection) -> Result<Vec<Stored>, sqlx::Error> {
    let sql = format!(
        "{SELECT} ORDER BY CASE WHEN m.target_kind = '{TYPE_TARGET}' THEN 0 ELSE 1 END, \
         m.device_kind, m.template_id, m.every_days, m.id"
    );
    sqlx::query(&sql)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(stored_from)
        .collect()
}

pub async fn get(conn: &mut AnyConnection, id: &Uuid) -> Result<Option<Stored>, sqlx::Error> {
    sqlx::query(&format!("{SELECT} WHERE m.id = $1"))
        .bind(id.to_string())
        .fetch_optional(&mut *conn)
        .await?
        .as_ref()
        .map(stored_from)
        .transpose()
}

/// The target as columns: `(target_kind, device_kind, device_id)`. A device
/// rule stores its device's kind too, so that reading it back joins one
/// device table instead of searching all three.
fn target_columns(
    target: ScheduleTarget,
    device_kind: Option<DeviceKind>,
) -> (&'static str, Option<String>, Option<String>) {
    match target {
        ScheduleTarget::DeviceType(kind) => (TYPE_TARGET, Some(kind.as_str().to_owned()), None),
        ScheduleTarget::Device(id) => (
            DEVICE_TARGET,
            device_kind.map(|k| k.as_str().to_owned()),
            Some(id.to_string()),
        ),
    }
}

pub async fn insert(
    conn: &mut AnyConnection,
    s: &Schedule,
    device_kind: Option<DeviceKind>,
    now: i64,
) -> Result<(), sqlx::Error> {
    let (target_kind, kind, device) = target_columns(s.target, device_kind);
    sqlx::query(
        "INSERT INTO maintenance_schedules (id, target_kind, device_kind, device_id, every_days, \
         template_id, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
    )
    .bind(s.id.to_string())
    .bind(target_kind)
    .bind(kind)
    .bind(device)
    .bind(i64::from(s.every_days))
    .bind(s.template_id.to_string())
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn update(
    conn: &mut AnyConnection,
    s: &Schedule,
    device_kind: Option<DeviceKind>,
    now: i64,
) -> Result<(), sqlx::Error> {
    let (target_kind, kind, device) = target_columns(s.target, device_kind);
    sqlx::query(
        "UPDATE maintenance_schedules SET target_kind = $1, device_kind = $2, device_id = $3, \
         every_days = $4, template_id = $5, updated_at = $6 WHERE id = $7",
    )
    .bind(target_kind)
    .bind(kind)
    .bind(device)
    .bind(i64::from(s.every_days))
    .bind(s.template_id.to_string())
    .bind(now)
    .bind(s.id.to_string())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn delete(conn: &mut AnyConnection, id: &Uuid) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM maintenance_schedules WHERE id = $1")
        .bind(id.to_string())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Whether any version of the template exists.
pub async fn template_exists(conn: &mut AnyConnection, id: &Uuid) -> Result<bool, sqlx::Error> {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM checklist_templates WHERE id = $1")
        .bind(id.to_string())
        .fetch_one(&mut *conn)
        .await?;
    Ok(n > 0)
}

/// The key and title of every template, from its newest version. The title
/// is read from the stored body alone, so that a body this server version
/// does not fully understand still gives its name.
pub async fn template_names(
    conn: &mut AnyConnection,
) -> Result<HashMap<Uuid, (String, Option<Text>)>, sqlx::Error> {
    let rows =
        sqlx::query("SELECT id, version, key, body FROM checklist_templates ORDER BY id, version")
            .fetch_all(&mut *conn)
            .await?;
    let mut names = HashMap::new();
    for row in &rows {
        let body: String = row.try_get("body")?;
        let title = serde_json::from_str::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| serde_json::from_value::<Text>(v.get("title")?.clone()).ok());
        // Rows come by version, so the newest one is inserted last and wins.
        names.insert(uuid_col(row, "id")?, (row.try_get("key")?, title));
    }
    Ok(names)
}

/// A device that is maintained, with its name for the lists.
#[derive(Debug, Clone)]
pub struct MaintainedDevice {
    pub device: DeviceForSchedule,
    pub name: String,
}

/// The devices that are maintained — every device not planned or retired —
/// of one site or all, with the last completed run of each template on
/// each. Counting starts at the install date when it is known: a camera
/// registered years after it was mounted is not new. Instants become days
/// in the institution's time zone `tz`.
pub async fn maintained_devices(
    conn: &mut AnyConnection,
    site: Option<Uuid>,
    tz: UtcOffset,
) -> Result<Vec<MaintainedDevice>, sqlx::Error> {
    let mut last = last_completed(conn, tz).await?;
    let mut out = Vec::new();
    for (kind, table) in DEVICE_TABLES {
        let mut sql = format!(
            "SELECT id, site_id, name, install_date, created_at FROM {table} \
             WHERE status NOT IN ('planned', 'retired')"
        );
        if site.is_some() {
            sql.push_str(" AND site_id = $1");
        }
        let mut q = sqlx::query(&sql);
        if let Some(site) = site {
            q = q.bind(site.to_string());
        }
        for row in q.fetch_all(&mut *conn).await? {
            let id = uuid_col(&row, "id")?;
            let install: Option<String> = row.try_get("install_date")?;
            let created_at: i64 = row.try_get("created_at")?;
            let created = install
                .as_deref()
                .and_then(|d| Date::parse(d).ok())
                .unwrap_or_else(|| tz.date_of(created_at));
            out.push(MaintainedDevice {
                device: DeviceForSchedule {
                    id,
                    kind,
                    site_id: uuid_col(&row, "site_id")?,
                    created,
                    last_completed: last.remove(&id).unwrap_or_default(),
                },
                name: row.try_get("name")?,
            });
        }
    }
    Ok(out)
}

/// Device id → template id → the date of its last completed run: the day
/// of its completion in the institution's time zone, like "today".
async fn last_completed(
    conn: &mut AnyConnection,
    tz: UtcOffset,
) -> Result<HashMap<Uuid, BTreeMap<Uuid, Date>>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT target_id, template_id, MAX(completed_at) AS done FROM checklist_runs \
         WHERE status = 'completed' AND completed_at IS NOT NULL \
         GROUP BY target_id, template_id",
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut out: HashMap<Uuid, BTreeMap<Uuid, Date>> = HashMap::new();
    for row in &rows {
        // Runs on sites (surveys) have a site id as target; they simply
        // match no device.
        let (Ok(target), Ok(template)) = (uuid_col(row, "target_id"), uuid_col(row, "template_id"))
        else {
            continue;
        };
        let done: i64 = row.try_get("done")?;
        out.entry(target)
            .or_default()
            .insert(template, tz.date_of(done));
    }
    Ok(out)
}
