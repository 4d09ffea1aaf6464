//! The inventory (DOMAIN.md §1): sites → buildings → locations, and the
//! devices installed there — cameras, recorders and network switches.
//!
//! The same structs travel as form input and as API output. `normalize`
//! turns what a user typed into the canonical stored form or returns every
//! field error at once, so a form can mark all bad fields in one go. Rules that
//! need other rows (uniqueness, the recorder's channel count) live in the
//! server, which calls the pure helpers at the bottom of this file.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::validate::{self, MAX_NOTES, MAX_TEXT};
use crate::{ErrorCode, FieldError, Lang};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DeviceStatus {
    #[default]
    Planned,
    Installed,
    Faulty,
    Retired,
}

impl DeviceStatus {
    pub const ALL: [DeviceStatus; 4] = [
        DeviceStatus::Planned,
        DeviceStatus::Installed,
        DeviceStatus::Faulty,
        DeviceStatus::Retired,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DeviceStatus::Planned => "planned",
            DeviceStatus::Installed => "installed",
            DeviceStatus::Faulty => "faulty",
            DeviceStatus::Retired => "retired",
        }
    }

    /// Accepts the English code and the Turkish word, as people type both in
    /// spreadsheets.
    pub fn parse(s: &str) -> Option<DeviceStatus> {
        match s.trim().to_lowercase().as_str() {
            "planned" | "planlandı" | "planlandi" | "planlı" => Some(DeviceStatus::Planned),
            "installed" | "kurulu" | "kuruldu" => Some(DeviceStatus::Installed),
            "faulty" | "arızalı" | "arizali" => Some(DeviceStatus::Faulty),
            "retired" | "hurda" | "kullanım dışı" => Some(DeviceStatus::Retired),
            _ => None,
        }
    }

    pub fn label(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (DeviceStatus::Planned, Lang::Tr) => "Planlandı",
            (DeviceStatus::Installed, Lang::Tr) => "Kurulu",
            (DeviceStatus::Faulty, Lang::Tr) => "Arızalı",
            (DeviceStatus::Retired, Lang::Tr) => "Kullanım dışı",
            (DeviceStatus::Planned, Lang::En) => "Planned",
            (DeviceStatus::Installed, Lang::En) => "Installed",
            (DeviceStatus::Faulty, Lang::En) => "Faulty",
            (DeviceStatus::Retired, Lang::En) => "Retired",
        }
    }
}

/// The three kinds of device; used by history, warranty and audit entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DeviceKind {
    Camera,
    Recorder,
    Switch,
}

impl DeviceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceKind::Camera => "camera",
            DeviceKind::Recorder => "recorder",
            DeviceKind::Switch => "switch",
        }
    }

    pub fn parse(s: &str) -> Option<DeviceKind> {
        match s {
            "camera" => Some(DeviceKind::Camera),
            "recorder" => Some(DeviceKind::Recorder),
            "switch" => Some(DeviceKind::Switch),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Site {
    #[serde(default)]
    pub id: Uuid,
    pub name: String,
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub address: Option<String>,
    #[serde(default)]
    pub notes: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Building {
    #[serde(default)]
    pub id: Uuid,
    pub site_id: Uuid,
    pub name: String,
    #[serde(default)]
    pub notes: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Location {
    #[serde(default)]
    pub id: Uuid,
    pub building_id: Uuid,
    pub name: String,
    #[serde(default)]
    pub floor: Option<String>,
    #[serde(default)]
    pub notes: Option<String>,
}

/// A site with its buildings and their locations, for the site tree.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SiteTree {
    pub site: Site,
    pub buildings: Vec<BuildingTree>,
    pub camera_count: u32,
    pub recorder_count: u32,
    pub switch_count: u32,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BuildingTree {
    pub building: Building,
    pub locations: Vec<Location>,
}

/// Fields every fixed asset has, whatever kind of device it is.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AssetFields {
    pub make: String,
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default)]
    pub serial: Option<String>,
    #[serde(default)]
    pub mac: Option<String>,
    #[serde(default)]
    pub ip: Option<String>,
    #[serde(default)]
    pub firmware: Option<String>,
    #[serde(default)]
    pub status: DeviceStatus,
    #[serde(default)]
    pub install_date: Option<String>,
    #[serde(default)]
    pub warranty_start: Option<String>,
    #[serde(default)]
    pub warranty_end: Option<String>,
    /// Demirbaş numarası.
    #[serde(default)]
    pub asset_number: Option<String>,
    #[serde(default)]
    pub supplier: Option<String>,
    #[serde(default)]
    pub purchase_date: Option<String>,
    #[serde(default)]
    pub notes: Option<String>,
}

/// Collects field errors so that a form learns about every bad field at once.
#[derive(Debug, Default)]
pub(crate) struct Errors(pub(crate) Vec<FieldError>);

impl Errors {
    pub(crate) fn take<T>(&mut self, field: &str, r: Result<T, ErrorCode>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(code) => {
                self.0.push(FieldError::new(field, code));
                None
            }
        }
    }

    pub(crate) fn opt_text(
        &mut self,
        field: &str,
        v: &Option<String>,
        max: usize,
    ) -> Option<String> {
        self.take(
            field,
            validate::optional_text(v.as_deref().unwrap_or(""), max),
        )
        .flatten()
    }

    fn opt_date(&mut self, field: &str, v: &Option<String>) -> Option<String> {
        self.take(field, validate::optional_date(v.as_deref().unwrap_or("")))
            .flatten()
    }

    pub(crate) fn finish<T>(self, value: T) -> Result<T, Vec<FieldError>> {
        if self.0.is_empty() {
            Ok(value)
        } else {
            Err(self.0)
        }
    }
}

impl AssetFields {
    fn normalize_into(&self, e: &mut Errors) -> AssetFields {
        let make = e
            .take("make", validate::required_text(&self.make, MAX_TEXT))
            .unwrap_or_default();
        let mac = match self.mac.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(m) => e.take("mac", validate::mac(m)),
        };
        let ip = match self.ip.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(v) => e.take("ip", validate::ip(v)),
        };
        let warranty_start = e.opt_date("warranty_start", &self.warranty_start);
        let warranty_end = e.opt_date("warranty_end", &self.warranty_end);
        if let (Some(s), Some(end)) = (&warranty_start, &warranty_end) {
            // ISO dates compare correctly as text.
            if end < s {
                e.0.push(FieldError::new(
                    "warranty_end",
                    ErrorCode::WarrantyEndBeforeStart,
                ));
            }
        }
        AssetFields {
            make,
            model: e.opt_text("model", &self.model, MAX_TEXT),
            serial: e.opt_text("serial", &self.serial, MAX_TEXT),
            mac,
            ip,
            firmware: e.opt_text("firmware", &self.firmware, MAX_TEXT),
            status: self.status,
            install_date: e.opt_date("install_date", &self.install_date),
            warranty_start,
            warranty_end,
            asset_number: e.opt_text("asset_number", &self.asset_number, MAX_TEXT),
            supplier: e.opt_text("supplier", &self.supplier, MAX_TEXT),
            purchase_date: e.opt_date("purchase_date", &self.purchase_date),
            notes: e.opt_text("notes", &self.notes, MAX_NOTES),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Camera {
    #[serde(default)]
    pub id: Uuid,
    pub site_id: Uuid,
    #[serde(default)]
    pub location_id: Option<Uuid>,
    pub name: String,
    #[serde(flatten)]
    pub asset: AssetFields,
    #[serde(default)]
    pub rtsp_main_path: Option<String>,
    #[serde(default)]
    pub rtsp_sub_path: Option<String>,
    #[serde(default)]
    pub recorder_id: Option<Uuid>,
    #[serde(default)]
    pub recorder_channel: Option<u32>,
    /// Shown on the department's public website (DOMAIN.md §14).
    #[serde(default)]
    pub public: bool,
    #[serde(default)]
    pub tags: Vec<String>,
    /// Whether a username/password is stored; the secret itself never
    /// appears in this struct.
    #[serde(default)]
    pub has_credentials: bool,
    /// Unix milliseconds; set by the server.
    #[serde(default)]
    pub updated_at: i64,
}

impl Camera {
    pub fn normalize(&self) -> Result<Camera, Vec<FieldError>> {
        let mut e = Errors::default();
        let name = e
            .take("name", validate::required_text(&self.name, MAX_TEXT))
            .unwrap_or_default();
        let asset = self.asset.normalize_into(&mut e);
        let rtsp_main_path = e
            .take("rtsp_main_path", rtsp_path(self.rtsp_main_path.as_deref()))
            .flatten();
        let rtsp_sub_path = e
            .take("rtsp_sub_path", rtsp_path(self.rtsp_sub_path.as_deref()))
            .flatten();
        if self.recorder_channel.is_some() && self.recorder_id.is_none() {
            e.0.push(FieldError::new("recorder_id", ErrorCode::Required));
        }
        if self.recorder_channel == Some(0) {
            e.0.push(FieldError::new(
                "recorder_channel",
                ErrorCode::ChannelOutOfRange,
            ));
        }
        let mut tags = Vec::new();
        for t in &self.tags {
            if let Some(t) = e.take("tags", validate::optional_text(t, 50)).flatten() {
                if !tags.contains(&t) {
                    tags.push(t);
                }
            }
        }
        e.finish(Camera {
            id: self.id,
            site_id: self.site_id,
            location_id: self.location_id,
            name,
            asset,
            rtsp_main_path,
            rtsp_sub_path,
            recorder_id: self.recorder_id,
            recorder_channel: self.recorder_channel,
            public: self.public,
            tags,
            has_credentials: self.has_credentials,
            updated_at: self.updated_at,
        })
    }
}

/// An RTSP path is stored without host and without credentials: the host
/// comes from the IP field and the credentials from the encrypted store, so a
/// pasted `rtsp://user:pass@host/path` must not smuggle a password in.
fn rtsp_path(value: Option<&str>) -> Result<Option<String>, ErrorCode> {
    let Some(v) = validate::optional_text(value.unwrap_or(""), MAX_TEXT)? else {
        return Ok(None);
    };
    let path = match v
        .strip_prefix("rtsp://")
        .or_else(|| v.strip_prefix("rtsps://"))
    {
        Some(rest) => match rest.find('/') {
            Some(i) => rest[i..].to_owned(),
            None => "/".to_owned(),
        },
        None if v.starts_with('/') => v,
        None => format!("/{v}"),
    };
    if path.contains(char::is_whitespace) {
        return Err(ErrorCode::BadRequest);
    }
    Ok(Some(path))
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Recorder {
    #[serde(default)]
    pub id: Uuid,
    pub site_id: Uuid,
    #[serde(default)]
    pub location_id: Option<Uuid>,
    pub name: String,
    #[serde(flatten)]
    pub asset: AssetFields,
    pub channels: u32,
    #[serde(default)]
    pub storage_tb: Option<f64>,
    /// Legally required days of footage this recorder must hold (DOMAIN.md §13).
    #[serde(default)]
    pub retention_days: Option<u32>,
    #[serde(default)]
    pub has_credentials: bool,
    #[serde(default)]
    pub updated_at: i64,
}

impl Recorder {
    pub fn normalize(&self) -> Result<Recorder, Vec<FieldError>> {
        let mut e = Errors::default();
        let name = e
            .take("name", validate::required_text(&self.name, MAX_TEXT))
            .unwrap_or_default();
        let asset = self.asset.normalize_into(&mut e);
        if !(1..=512).contains(&self.channels) {
            e.0.push(FieldError::new("channels", ErrorCode::InvalidNumber));
        }
        if let Some(tb) = self.storage_tb {
            if !(tb.is_finite() && (0.0..10_000.0).contains(&tb)) {
                e.0.push(FieldError::new("storage_tb", ErrorCode::InvalidNumber));
            }
        }
        if matches!(self.retention_days, Some(d) if d == 0 || d > 3650) {
            e.0.push(FieldError::new("retention_days", ErrorCode::InvalidNumber));
        }
        e.finish(Recorder {
            name,
            asset,
            ..self.clone()
        })
    }
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Switch {
    #[serde(default)]
    pub id: Uuid,
    pub site_id: Uuid,
    #[serde(default)]
    pub location_id: Option<Uuid>,
    pub name: String,
    #[serde(flatten)]
    pub asset: AssetFields,
    pub ports: u32,
    #[serde(default)]
    pub poe_budget_w: Option<f64>,
    /// Where this switch connects upwards: another switch's name and port,
    /// or the campus backbone.
    #[serde(default)]
    pub uplink: Option<String>,
    #[serde(default)]
    pub updated_at: i64,
}

impl Switch {
    pub fn normalize(&self) -> Result<Switch, Vec<FieldError>> {
        let mut e = Errors::default();
        let name = e
            .take("name", validate::required_text(&self.name, MAX_TEXT))
            .unwrap_or_default();
        let asset = self.asset.normalize_into(&mut e);
        if !(1..=512).contains(&self.ports) {
            e.0.push(FieldError::new("ports", ErrorCode::InvalidNumber));
        }
        if let Some(w) = self.poe_budget_w {
            if !(w.is_finite() && (0.0..100_000.0).contains(&w)) {
                e.0.push(FieldError::new("poe_budget_w", ErrorCode::InvalidNumber));
            }
        }
        let uplink = e.opt_text("uplink", &self.uplink, MAX_TEXT);
        e.finish(Switch {
            name,
            asset,
            uplink,
            ..self.clone()
        })
    }
}

impl Site {
    pub fn normalize(&self) -> Result<Site, Vec<FieldError>> {
        let mut e = Errors::default();
        let name = e
            .take("name", validate::required_text(&self.name, MAX_TEXT))
            .unwrap_or_default();
        let code = e.opt_text("code", &self.code, 50);
        let address = e.opt_text("address", &self.address, MAX_TEXT);
        let notes = e.opt_text("notes", &self.notes, MAX_NOTES);
        e.finish(Site {
            id: self.id,
            name,
            code,
            address,
            notes,
        })
    }
}

impl Building {
    pub fn normalize(&self) -> Result<Building, Vec<FieldError>> {
        let mut e = Errors::default();
        let name = e
            .take("name", validate::required_text(&self.name, MAX_TEXT))
            .unwrap_or_default();
        let notes = e.opt_text("notes", &self.notes, MAX_NOTES);
        e.finish(Building {
            name,
            notes,
            ..self.clone()
        })
    }
}

impl Location {
    pub fn normalize(&self) -> Result<Location, Vec<FieldError>> {
        let mut e = Errors::default();
        let name = e
            .take("name", validate::required_text(&self.name, MAX_TEXT))
            .unwrap_or_default();
        let floor = e.opt_text("floor", &self.floor, 20);
        let notes = e.opt_text("notes", &self.notes, MAX_NOTES);
        e.finish(Location {
            name,
            floor,
            notes,
            ..self.clone()
        })
    }
}

/// A camera's channel must exist on its recorder.
pub fn check_channel(channel: Option<u32>, recorder_channels: u32) -> Result<(), FieldError> {
    match channel {
        Some(c) if c == 0 || c > recorder_channels => Err(FieldError::new(
            "recorder_channel",
            ErrorCode::ChannelOutOfRange,
        )),
        _ => Ok(()),
    }
}

/// Days from `today` to a warranty end date; negative once it has passed.
pub fn warranty_days_left(warranty_end: &str, today: validate::Date) -> Option<i64> {
    validate::Date::parse(warranty_end)
        .ok()
        .map(|end| end.to_days() - today.to_days())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn camera() -> Camera {
        Camera {
            name: " Giriş Kapısı ".into(),
            asset: AssetFields {
                make: "Hikvision".into(),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    fn codes(r: Result<Camera, Vec<FieldError>>) -> Vec<(String, ErrorCode)> {
        r.err()
            .unwrap_or_default()
            .into_iter()
            .map(|f| (f.field, f.code))
            .collect()
    }

    #[test]
    fn minimal_camera_is_valid_and_trimmed() {
        let c = camera().normalize().unwrap();
        assert_eq!(c.name, "Giriş Kapısı");
        assert_eq!(c.asset.status, DeviceStatus::Planned);
    }

    #[test]
    fn every_bad_field_is_reported_at_once() {
        let mut c = camera();
        c.name = "".into();
        c.asset.make = " ".into();
        c.asset.ip = Some("300.1.1.1".into());
        c.asset.mac = Some("zz".into());
        c.asset.warranty_start = Some("2025-01-01".into());
        c.asset.warranty_end = Some("2024-12-31".into());
        c.asset.install_date = Some("31/12/2024".into());
        c.recorder_channel = Some(3);
        assert_eq!(
            codes(c.normalize()),
            vec![
                ("name".into(), ErrorCode::Required),
                ("make".into(), ErrorCode::Required),
                ("mac".into(), ErrorCode::InvalidMac),
                ("ip".into(), ErrorCode::InvalidIp),
                ("warranty_end".into(), ErrorCode::WarrantyEndBeforeStart),
                ("install_date".into(), ErrorCode::InvalidDate),
                ("recorder_id".into(), ErrorCode::Required),
            ]
        );
    }

    #[test]
    fn warranty_end_equal_to_start_is_fine() {
        let mut c = camera();
        c.asset.warranty_start = Some("2025-01-01".into());
        c.asset.warranty_end = Some("2025-01-01".into());
        assert!(c.normalize().is_ok());
    }

    #[test]
    fn rtsp_urls_lose_host_and_credentials() {
        let mut c = camera();
        c.rtsp_main_path = Some("rtsp://admin:secret@10.0.0.5:554/Streaming/Channels/101".into());
        c.rtsp_sub_path = Some("Streaming/Channels/102".into());
        let c = c.normalize().unwrap();
        assert_eq!(c.rtsp_main_path.as_deref(), Some("/Streaming/Channels/101"));
        assert_eq!(c.rtsp_sub_path.as_deref(), Some("/Streaming/Channels/102"));
    }

    #[test]
    fn channel_must_fit_recorder() {
        assert!(check_channel(Some(16), 16).is_ok());
        assert!(check_channel(None, 4).is_ok());
        assert_eq!(
            check_channel(Some(17), 16).unwrap_err().code,
            ErrorCode::ChannelOutOfRange
        );
        assert_eq!(
            check_channel(Some(0), 16).unwrap_err().code,
            ErrorCode::ChannelOutOfRange
        );
    }

    #[test]
    fn recorder_and_switch_numbers() {
        let r = Recorder {
            name: "NVR".into(),
            asset: AssetFields {
                make: "Dahua".into(),
                ..Default::default()
            },
            channels: 0,
            retention_days: Some(0),
            storage_tb: Some(f64::NAN),
            ..Default::default()
        };
        let fields: Vec<_> = r
            .normalize()
            .unwrap_err()
            .into_iter()
            .map(|f| f.field)
            .collect();
        assert_eq!(fields, ["channels", "storage_tb", "retention_days"]);
        let s = Switch {
            name: "SW1".into(),
            asset: AssetFields {
                make: "Cisco".into(),
                ..Default::default()
            },
            ports: 24,
            poe_budget_w: Some(370.0),
            ..Default::default()
        };
        assert!(s.normalize().is_ok());
    }

    #[test]
    fn status_accepts_turkish_words() {
        assert_eq!(DeviceStatus::parse("Arızalı"), Some(DeviceStatus::Faulty));
        assert_eq!(DeviceStatus::parse("KURULU"), Some(DeviceStatus::Installed));
        assert_eq!(DeviceStatus::parse("broken"), None);
    }

    #[test]
    fn warranty_days() {
        let today = validate::Date::parse("2026-11-23").unwrap();
        assert_eq!(warranty_days_left("2026-12-23", today), Some(30));
        assert_eq!(warranty_days_left("2026-11-22", today), Some(-1));
        assert_eq!(warranty_days_left("bad", today), None);
    }
}
