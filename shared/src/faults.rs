//! Faults (arıza kaydı, DOMAIN.md §9): how serious a fault is, the statuses
//! it moves through from report to closure, and the checks on a new fault.
//!
//! The workflow, enforced by [`transition`]:
//!
//! ```text
//!              ┌────────── reopen ──────────┐
//!              ▼                            │
//! open ───► assigned ◄───► waiting_vendor   │
//!   │          │                 │          │
//!   │          └────────┬────────┘          │
//!   │                   ▼                   │
//!   └─────────────► resolved ───────────────┘
//!                       │
//!                       ▼
//!                    closed   (final; needs a completed fault form)
//! ```
//!
//! - Moving to `assigned` needs an assignee.
//! - `open → resolved` is allowed: many faults are cleared from the
//!   monitoring centre (a remote reboot, a recorder reconnected) or clear
//!   themselves (a power cut ends), and forcing a make-believe assignment
//!   first would only distort the assignment statistics. Closing still needs
//!   the fault form, so every closed fault is explained.
//! - `waiting_vendor` does not need a vendor ticket number: the vendor is
//!   often called first and sends the number later. The ticket is recorded
//!   on the fault whenever it is known.
//! - `resolved → closed` needs a completed fault form (DOMAIN.md §9: "close
//!   with a fault form"); `resolved → assigned` reopens a fault that came back.
//! - `closed` is final: a fault that recurs after closure is a new fault,
//!   so repair-time statistics stay honest.
//! - Changing the assignee of an assigned fault is not a status change and
//!   is not judged here.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::inventory::{DeviceKind, Errors};
use crate::sync::{EntityKind, FieldWrite};
use crate::validate::{self, MAX_TEXT};
use crate::{ErrorCode, FieldError, Lang};

pub const MAX_TITLE: usize = MAX_TEXT;
pub const MAX_DESCRIPTION: usize = 5000;
pub const MAX_VENDOR_TICKET: usize = 100;

/// How bad a fault is; ordered from least to most severe.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Low,
    #[default]
    Medium,
    High,
    /// A site is blind: a recorder is down or a whole entrance is unseen.
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 4] = [
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// Accepts the English code and the Turkish word.
    pub fn parse(s: &str) -> Option<Severity> {
        match s.trim().to_lowercase().as_str() {
            "low" | "düşük" => Some(Severity::Low),
            "medium" | "orta" => Some(Severity::Medium),
            "high" | "yüksek" => Some(Severity::High),
            "critical" | "kritik" | "acil" => Some(Severity::Critical),
            _ => None,
        }
    }

    pub fn label(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (Severity::Low, Lang::Tr) => "Düşük",
            (Severity::Medium, Lang::Tr) => "Orta",
            (Severity::High, Lang::Tr) => "Yüksek",
            (Severity::Critical, Lang::Tr) => "Kritik",
            (Severity::Low, Lang::En) => "Low",
            (Severity::Medium, Lang::En) => "Medium",
            (Severity::High, Lang::En) => "High",
            (Severity::Critical, Lang::En) => "Critical",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum FaultStatus {
    #[default]
    Open,
    Assigned,
    WaitingVendor,
    Resolved,
    Closed,
}

impl FaultStatus {
    pub const ALL: [FaultStatus; 5] = [
        FaultStatus::Open,
        FaultStatus::Assigned,
        FaultStatus::WaitingVendor,
        FaultStatus::Resolved,
        FaultStatus::Closed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FaultStatus::Open => "open",
            FaultStatus::Assigned => "assigned",
            FaultStatus::WaitingVendor => "waiting_vendor",
            FaultStatus::Resolved => "resolved",
            FaultStatus::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<FaultStatus> {
        FaultStatus::ALL.into_iter().find(|f| f.as_str() == s)
    }

    pub fn label(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (FaultStatus::Open, Lang::Tr) => "Açık",
            (FaultStatus::Assigned, Lang::Tr) => "Atandı",
            (FaultStatus::WaitingVendor, Lang::Tr) => "Firma bekleniyor",
            (FaultStatus::Resolved, Lang::Tr) => "Giderildi",
            (FaultStatus::Closed, Lang::Tr) => "Kapatıldı",
            (FaultStatus::Open, Lang::En) => "Open",
            (FaultStatus::Assigned, Lang::En) => "Assigned",
            (FaultStatus::WaitingVendor, Lang::En) => "Waiting for vendor",
            (FaultStatus::Resolved, Lang::En) => "Resolved",
            (FaultStatus::Closed, Lang::En) => "Closed",
        }
    }

    /// The statuses this one may move to (if their conditions hold); the
    /// app shows one button for each.
    pub fn next(self) -> &'static [FaultStatus] {
        use FaultStatus::*;
        match self {
            Open => &[Assigned, Resolved],
            Assigned => &[WaitingVendor, Resolved],
            WaitingVendor => &[Assigned, Resolved],
            Resolved => &[Closed, Assigned],
            Closed => &[],
        }
    }

    /// Whether the fault still needs work: it counts as a fault of its
    /// device on the dashboard.
    pub fn is_active(self) -> bool {
        matches!(
            self,
            FaultStatus::Open | FaultStatus::Assigned | FaultStatus::WaitingVendor
        )
    }
}

/// What the server knows about a fault when someone changes its status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TransitionCheck {
    /// The fault has (or the same request gives it) an assignee.
    pub has_assignee: bool,
    /// A fault-form run linked to the fault is completed.
    pub fault_form_completed: bool,
}

/// Whether a fault may move from `from` to `to`; see the module docs. Staying
/// in the same status is not a transition and is refused too, so a doubled
/// click cannot write a second history entry.
pub fn transition(
    from: FaultStatus,
    to: FaultStatus,
    check: &TransitionCheck,
) -> Result<(), ErrorCode> {
    if !from.next().contains(&to) {
        return Err(ErrorCode::InvalidTransition);
    }
    match to {
        FaultStatus::Assigned if !check.has_assignee => Err(ErrorCode::AssigneeRequired),
        FaultStatus::Closed if !check.fault_form_completed => Err(ErrorCode::FaultFormRequired),
        _ => Ok(()),
    }
}

/// Time from report to resolution, for repair-time statistics
/// (DOMAIN.md §16). `None` when the resolution is stamped before the report —
/// possible when two devices' clocks disagree — so that such a fault is left
/// out of averages instead of pulling them down.
pub fn time_to_repair_ms(opened_at_ms: i64, resolved_at_ms: i64) -> Option<i64> {
    resolved_at_ms
        .checked_sub(opened_at_ms)
        .filter(|ms| *ms >= 0)
}

/// The device a fault is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeviceRef {
    pub kind: DeviceKind,
    pub id: Uuid,
}

/// A fault as reported. A fault is always about a site and usually about one
/// device of it; a fault of the site as a whole (a cut fibre to a building)
/// has no device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewFault {
    pub site_id: Uuid,
    #[serde(default)]
    pub device: Option<DeviceRef>,
    pub title: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub severity: Severity,
    #[serde(default)]
    pub vendor_ticket: Option<String>,
}

impl NewFault {
    /// Trims the texts and checks their lengths, reporting every bad field.
    pub fn normalize(&self) -> Result<NewFault, Vec<FieldError>> {
        let mut e = Errors::default();
        let title = e
            .take("title", validate::required_text(&self.title, MAX_TITLE))
            .unwrap_or_default();
        let description = e.opt_text("description", &self.description, MAX_DESCRIPTION);
        let vendor_ticket = e.opt_text("vendor_ticket", &self.vendor_ticket, MAX_VENDOR_TICKET);
        e.finish(NewFault {
            site_id: self.site_id,
            device: self.device,
            title,
            description,
            severity: self.severity,
            vendor_ticket,
        })
    }
}

/// Checks a vendor ticket number given later, once the vendor sends it.
pub fn check_vendor_ticket(value: &str) -> Result<Option<String>, ErrorCode> {
    validate::optional_text(value, MAX_VENDOR_TICKET)
}

// ---- faults opened offline (sync records, docs/sync.md) -------------------

/// The fields of a fault's sync record that a client writes, all at once
/// when it opens the fault (offline, on a pole with no signal). Everything
/// else on the record — number, status, assignee, vendor, names, times — is
/// written by the server, which also moves the workflow online.
pub const CLIENT_FAULT_FIELDS: [&str; 6] = [
    "site_id",
    "device",
    "title",
    "description",
    "severity",
    "opened_at",
];

/// The fields of a timeline entry's sync record that a client writes: a
/// note, once. Each note is a record of its own, so two people's notes on
/// the same fault never meet in one record.
pub const CLIENT_NOTE_FIELDS: [&str; 4] = ["fault_id", "kind", "note", "at"];

/// The server's fields of a fault record (the rest of
/// [`crate::api_fieldwork::Fault`]'s JSON form): a client that writes one
/// is told it cannot be changed offline, not that it does not exist.
pub const SERVER_FAULT_FIELDS: [&str; 14] = [
    "number",
    "site_name",
    "device_name",
    "status",
    "assignee_id",
    "assignee_name",
    "vendor",
    "vendor_ticket",
    "fault_form_run_id",
    "source",
    "opened_by",
    "resolved_at",
    "closed_at",
    "time_to_repair_ms",
];

/// The server's fields of a timeline entry's record (the rest of
/// [`crate::api_fieldwork::FaultEventRecord`]'s JSON form).
pub const SERVER_NOTE_FIELDS: [&str; 9] = [
    "from_status",
    "to_status",
    "assignee_id",
    "assignee_name",
    "vendor",
    "vendor_ticket",
    "fault_form_run_id",
    "by_user",
    "by_name",
];

/// A fault opened offline, as its record's client fields say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfflineFault {
    /// Trimmed and checked like a fault opened online.
    pub fault: NewFault,
    /// When the technician opened it, by the tablet's clock (Unix ms).
    pub opened_at: i64,
}

/// A note written offline, as its record's client fields say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfflineNote {
    pub fault_id: Uuid,
    /// Trimmed and checked like a note added online.
    pub note: String,
    /// When it was written, by the tablet's clock (Unix ms).
    pub at: i64,
}

/// One field of a record's values as `T`: `Required` when it is missing or
/// null (and `required`), `Validation` when it has the wrong shape.
fn record_field<T: serde::de::DeserializeOwned>(
    values: &Map<String, Value>,
    field: &str,
    required: bool,
    e: &mut Errors,
) -> Option<T> {
    match values.get(field) {
        None | Some(Value::Null) => {
            if required {
                e.0.push(FieldError::new(field, ErrorCode::Required));
            }
            None
        }
        Some(v) => match serde_json::from_value(v.clone()) {
            Ok(t) => Some(t),
            Err(_) => {
                e.0.push(FieldError::new(field, ErrorCode::Validation));
                None
            }
        },
    }
}

/// Reads and checks a fault opened offline from its record's values (the
/// server's fields, if the record holds any, are ignored here). Every bad
/// field is reported at once, by name; the app runs this before saving and
/// the server again on push.
pub fn offline_fault(values: &Map<String, Value>) -> Result<OfflineFault, Vec<FieldError>> {
    let mut e = Errors::default();
    let site_id: Option<Uuid> = record_field(values, "site_id", true, &mut e);
    let device: Option<DeviceRef> = record_field(values, "device", false, &mut e);
    let title: Option<String> = record_field(values, "title", true, &mut e);
    let description: Option<String> = record_field(values, "description", false, &mut e);
    let severity: Option<Severity> = record_field(values, "severity", false, &mut e);
    let opened_at: Option<i64> = record_field(values, "opened_at", true, &mut e);
    if site_id.is_some_and(|s| s.is_nil()) {
        e.0.push(FieldError::new("site_id", ErrorCode::Required));
    }
    if device.is_some_and(|d| d.id.is_nil()) {
        e.0.push(FieldError::new("device", ErrorCode::Required));
    }
    let new = NewFault {
        site_id: site_id.unwrap_or_default(),
        device,
        title: title.unwrap_or_default(),
        description,
        severity: severity.unwrap_or_default(),
        vendor_ticket: None,
    };
    let fault = match new.normalize() {
        Ok(f) => Some(f),
        Err(errors) => {
            // A missing title was reported above already.
            for err in errors {
                if !e.0.iter().any(|x| x.field == err.field) {
                    e.0.push(err);
                }
            }
            None
        }
    };
    match (fault, opened_at) {
        (Some(fault), Some(opened_at)) if e.0.is_empty() => Ok(OfflineFault { fault, opened_at }),
        _ => Err(e.0),
    }
}

/// Reads and checks a note written offline from its record's values.
pub fn offline_note(values: &Map<String, Value>) -> Result<OfflineNote, Vec<FieldError>> {
    let mut e = Errors::default();
    let fault_id: Option<Uuid> = record_field(values, "fault_id", true, &mut e);
    let kind: Option<String> = record_field(values, "kind", true, &mut e);
    let note: Option<String> = record_field(values, "note", true, &mut e);
    let at: Option<i64> = record_field(values, "at", true, &mut e);
    if fault_id.is_some_and(|f| f.is_nil()) {
        e.0.push(FieldError::new("fault_id", ErrorCode::Required));
    }
    // Status changes, assignments and edits are made online, where the
    // server checks the workflow; offline there are only notes.
    if kind.as_deref().is_some_and(|k| k != "note") {
        e.0.push(FieldError::new("kind", ErrorCode::NotSyncable));
    }
    let note = note.and_then(|n| {
        e.take(
            "note",
            validate::required_text(&n, crate::api_fieldwork::MAX_FAULT_NOTE),
        )
    });
    match (fault_id, note, at) {
        (Some(fault_id), Some(note), Some(at)) if e.0.is_empty() => {
            Ok(OfflineNote { fault_id, note, at })
        }
        _ => Err(e.0),
    }
}

/// Whether a client may make `fields` writes to a fault or timeline record
/// whose values are `current` (`None`: the record is new). A client writes
/// only its own fields, and only when it creates the record: once the
/// server has taken a fault in, it changes online, through the workflow.
/// Writing again the value the record already holds is harmless and
/// allowed. Other kinds of record are not judged here.
pub fn check_sync_write(
    kind: EntityKind,
    current: Option<&Map<String, Value>>,
    fields: &BTreeMap<String, FieldWrite>,
) -> Result<(), Vec<FieldError>> {
    let (client, server): (&[&str], &[&str]) = match kind {
        EntityKind::Fault => (&CLIENT_FAULT_FIELDS, &SERVER_FAULT_FIELDS),
        EntityKind::FaultEvent => (&CLIENT_NOTE_FIELDS, &SERVER_NOTE_FIELDS),
        _ => return Ok(()),
    };
    let mut errors = Vec::new();
    for (name, write) in fields {
        let code = if server.contains(&name.as_str()) {
            ErrorCode::NotSyncable
        } else if !client.contains(&name.as_str()) {
            ErrorCode::UnknownField
        } else if current.is_some_and(|c| c.get(name) != Some(&write.value)) {
            ErrorCode::NotSyncable
        } else {
            continue;
        };
        errors.push(FieldError::new(name.clone(), code));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use FaultStatus::*;

    const ALL_SET: TransitionCheck = TransitionCheck {
        has_assignee: true,
        fault_form_completed: true,
    };
    const NONE_SET: TransitionCheck = TransitionCheck {
        has_assignee: false,
        fault_form_completed: false,
    };

    type Outcome = Result<(), ErrorCode>;
    const INVALID: Outcome = Err(ErrorCode::InvalidTransition);
    const OK: Outcome = Ok(());

    /// Every (from, to) pair: the outcome when everything is in place, and
    /// when nothing is (no assignee, no completed fault form).
    #[rustfmt::skip]
    const TABLE: [(FaultStatus, FaultStatus, Outcome, Outcome); 25] = [
        (Open, Open, INVALID, INVALID),
        (Open, Assigned, OK, Err(ErrorCode::AssigneeRequired)),
        (Open, WaitingVendor, INVALID, INVALID),
        (Open, Resolved, OK, OK),
        (Open, Closed, INVALID, INVALID),
        (Assigned, Open, INVALID, INVALID),
        (Assigned, Assigned, INVALID, INVALID),
        (Assigned, WaitingVendor, OK, OK),
        (Assigned, Resolved, OK, OK),
        (Assigned, Closed, INVALID, INVALID),
        (WaitingVendor, Open, INVALID, INVALID),
        (WaitingVendor, Assigned, OK, Err(ErrorCode::AssigneeRequired)),
        (WaitingVendor, WaitingVendor, INVALID, INVALID),
        (WaitingVendor, Resolved, OK, OK),
        (WaitingVendor, Closed, INVALID, INVALID),
        (Resolved, Open, INVALID, INVALID),
        (Resolved, Assigned, OK, Err(ErrorCode::AssigneeRequired)),
        (Resolved, WaitingVendor, INVALID, INVALID),
        (Resolved, Resolved, INVALID, INVALID),
        (Resolved, Closed, OK, Err(ErrorCode::FaultFormRequired)),
        (Closed, Open, INVALID, INVALID),
        (Closed, Assigned, INVALID, INVALID),
        (Closed, WaitingVendor, INVALID, INVALID),
        (Closed, Resolved, INVALID, INVALID),
        (Closed, Closed, INVALID, INVALID),
    ];

    #[test]
    fn every_status_pair() {
        let mut seen = std::collections::BTreeSet::new();
        for (from, to, with_all, with_none) in TABLE {
            assert!(
                seen.insert((from.as_str(), to.as_str())),
                "{from:?}→{to:?} twice"
            );
            assert_eq!(transition(from, to, &ALL_SET), with_all, "{from:?}→{to:?}");
            assert_eq!(
                transition(from, to, &NONE_SET),
                with_none,
                "{from:?}→{to:?}"
            );
            // `next` lists exactly the transitions that can ever succeed.
            assert_eq!(
                from.next().contains(&to),
                with_all.is_ok(),
                "{from:?}→{to:?}"
            );
        }
        assert_eq!(seen.len(), FaultStatus::ALL.len() * FaultStatus::ALL.len());
    }

    #[test]
    fn only_the_requirement_of_the_target_matters() {
        let form_only = TransitionCheck {
            has_assignee: false,
            fault_form_completed: true,
        };
        assert_eq!(transition(Resolved, Closed, &form_only), Ok(()));
        let assignee_only = TransitionCheck {
            has_assignee: true,
            fault_form_completed: false,
        };
        assert_eq!(transition(Open, Assigned, &assignee_only), Ok(()));
        assert_eq!(
            transition(Resolved, Closed, &assignee_only),
            Err(ErrorCode::FaultFormRequired)
        );
    }

    #[test]
    fn names_round_trip() {
        for s in FaultStatus::ALL {
            assert_eq!(FaultStatus::parse(s.as_str()), Some(s));
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
            assert_ne!(s.label(Lang::Tr), s.label(Lang::En));
        }
        for s in Severity::ALL {
            assert_eq!(Severity::parse(s.as_str()), Some(s));
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
            assert_ne!(s.label(Lang::Tr), s.label(Lang::En));
        }
        assert_eq!(Severity::parse(" Kritik "), Some(Severity::Critical));
        assert_eq!(Severity::parse("YÜKSEK"), Some(Severity::High));
        assert_eq!(FaultStatus::parse("Open"), None);
        assert!(Severity::Critical > Severity::High && Severity::Low < Severity::Medium);
        assert!(Open.is_active() && WaitingVendor.is_active() && !Resolved.is_active());
    }

    #[test]
    fn repair_time() {
        assert_eq!(time_to_repair_ms(1_000, 61_000), Some(60_000));
        assert_eq!(time_to_repair_ms(1_000, 1_000), Some(0));
        assert_eq!(time_to_repair_ms(2_000, 1_000), None);
        assert_eq!(time_to_repair_ms(i64::MIN, i64::MAX), None);
    }

    fn fault() -> NewFault {
        NewFault {
            site_id: Uuid::from_u128(1),
            device: Some(DeviceRef {
                kind: DeviceKind::Camera,
                id: Uuid::from_u128(2),
            }),
            title: "  Otopark girişi görüntü yok ".into(),
            description: Some(" \n ".into()),
            severity: Severity::High,
            vendor_ticket: Some(" TCK-2026-0042 ".into()),
        }
    }

    #[test]
    fn a_new_fault_is_trimmed() {
        let f = fault().normalize().unwrap();
        assert_eq!(f.title, "Otopark girişi görüntü yok");
        assert_eq!(f.description, None);
        assert_eq!(f.vendor_ticket.as_deref(), Some("TCK-2026-0042"));
    }

    #[test]
    fn every_bad_field_of_a_new_fault() {
        let cases: [(NewFault, &[(&str, ErrorCode)]); 4] = [
            (
                NewFault {
                    title: " ".into(),
                    ..fault()
                },
                &[("title", ErrorCode::Required)],
            ),
            (
                NewFault {
                    title: "ç".repeat(201),
                    description: Some("a".repeat(5001)),
                    vendor_ticket: Some("1".repeat(101)),
                    ..fault()
                },
                &[
                    ("title", ErrorCode::TooLong),
                    ("description", ErrorCode::TooLong),
                    ("vendor_ticket", ErrorCode::TooLong),
                ],
            ),
            (
                NewFault {
                    title: "ç".repeat(200),
                    description: Some("a".repeat(5000)),
                    vendor_ticket: Some("1".repeat(100)),
                    ..fault()
                },
                &[],
            ),
            (
                NewFault {
                    description: Some("a\u{0}b".into()),
                    ..fault()
                },
                &[("description", ErrorCode::BadRequest)],
            ),
        ];
        for (input, want) in cases {
            let got: Vec<(String, ErrorCode)> = input
                .normalize()
                .err()
                .unwrap_or_default()
                .into_iter()
                .map(|e| (e.field, e.code))
                .collect();
            let want: Vec<(String, ErrorCode)> =
                want.iter().map(|(f, c)| (f.to_string(), *c)).collect();
            assert_eq!(got, want);
        }
        assert_eq!(check_vendor_ticket("  "), Ok(None));
        assert_eq!(
            check_vendor_ticket(&"x".repeat(101)),
            Err(ErrorCode::TooLong)
        );
    }

    #[test]
    fn a_new_fault_travels_with_defaults() {
        let f: NewFault = serde_json::from_value(serde_json::json!({
            "site_id": Uuid::from_u128(1),
            "title": "Kayıt cihazı bip sesi veriyor",
        }))
        .unwrap();
        assert_eq!(f.severity, Severity::Medium);
        assert_eq!(f.device, None);
    }

    // ---- offline faults ----------------------------------------------------

    use crate::api_fieldwork::{Fault, FaultEvent, FaultEventKind, FaultEventRecord};
    use crate::sync::{entity_fields, Hlc};
    use serde_json::json;

    fn values(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    fn offline() -> Value {
        json!({
            "site_id": Uuid::from_u128(1),
            "device": {"kind": "camera", "id": Uuid::from_u128(2)},
            "title": " Direkteki kamera kapalı ",
            "description": "Yağmurdan sonra görüntü gitti",
            "severity": "high",
            "opened_at": 1_700_000_000_000_i64,
        })
    }

    /// The field errors of a result, as (field, code) pairs.
    fn codes<T>(r: Result<T, Vec<FieldError>>) -> Vec<(String, ErrorCode)> {
        r.err()
            .unwrap_or_default()
            .into_iter()
            .map(|e| (e.field, e.code))
            .collect()
    }

    fn pairs(want: &[(&str, ErrorCode)]) -> Vec<(String, ErrorCode)> {
        want.iter().map(|(f, c)| (f.to_string(), *c)).collect()
    }

    #[test]
    fn a_fault_opened_offline_is_read_and_trimmed() {
        let f = offline_fault(&values(offline())).unwrap();
        assert_eq!(f.opened_at, 1_700_000_000_000);
        assert_eq!(f.fault.title, "Direkteki kamera kapalı");
        assert_eq!(f.fault.severity, Severity::High);
        assert_eq!(f.fault.site_id, Uuid::from_u128(1));
        assert_eq!(f.fault.device.map(|d| d.kind), Some(DeviceKind::Camera));
        // Severity may be left out (medium), so may the device and the
        // description: a site-wide fault.
        let mut v = values(offline());
        v.remove("severity");
        v.insert("device".into(), Value::Null);
        v.remove("description");
        let f = offline_fault(&v).unwrap();
        assert_eq!(f.fault.severity, Severity::Medium);
        assert_eq!(f.fault.device, None);
        assert_eq!(f.fault.description, None);
    }

    #[test]
    fn every_bad_field_of_a_fault_opened_offline_is_named() {
        let with = |changes: Value| {
            let mut v = values(offline());
            for (k, x) in values(changes) {
                if x == json!("<remove>") {
                    v.remove(&k);
                } else {
                    v.insert(k, x);
                }
            }
            codes(offline_fault(&v))
        };
        use ErrorCode::*;
        let cases: Vec<(Value, Vec<(String, ErrorCode)>)> = vec![
            (json!({}), vec![]),
            (
                json!({"site_id": "<remove>", "title": "<remove>", "opened_at": "<remove>"}),
                pairs(&[
                    ("site_id", Required),
                    ("title", Required),
                    ("opened_at", Required),
                ]),
            ),
            (json!({"title": "   "}), pairs(&[("title", Required)])),
            (json!({"title": 42}), pairs(&[("title", Validation)])),
            (
                json!({"site_id": "not-a-uuid"}),
                pairs(&[("site_id", Validation)]),
            ),
            (
                json!({"site_id": Uuid::nil()}),
                pairs(&[("site_id", Required)]),
            ),
            (
                json!({"severity": "apocalyptic"}),
                pairs(&[("severity", Validation)]),
            ),
            (
                json!({"device": {"kind": "toaster", "id": Uuid::from_u128(2)}}),
                pairs(&[("device", Validation)]),
            ),
            (
                json!({"device": {"kind": "camera", "id": Uuid::nil()}}),
                pairs(&[("device", Required)]),
            ),
            (
                json!({"opened_at": "yesterday"}),
                pairs(&[("opened_at", Validation)]),
            ),
            (
                json!({"title": "x".repeat(MAX_TITLE + 1), "description": "y".repeat(MAX_DESCRIPTION + 1)}),
                pairs(&[("title", TooLong), ("description", TooLong)]),
            ),
        ];
        for (changes, want) in cases {
            assert_eq!(with(changes.clone()), want, "{changes}");
        }
    }

    #[test]
    fn a_note_written_offline_is_read_and_checked() {
        let note = json!({"fault_id": Uuid::from_u128(7), "kind": "note", "note": " Sigorta attı ", "at": 5});
        let n = offline_note(&values(note.clone())).unwrap();
        assert_eq!(
            n,
            OfflineNote {
                fault_id: Uuid::from_u128(7),
                note: "Sigorta attı".into(),
                at: 5
            }
        );
        use ErrorCode::*;
        let cases: Vec<(Value, Vec<(String, ErrorCode)>)> = vec![
            (json!({"note": " "}), pairs(&[("note", Required)])),
            (
                json!({"note": "n".repeat(crate::api_fieldwork::MAX_FAULT_NOTE + 1)}),
                pairs(&[("note", TooLong)]),
            ),
            (
                json!({"kind": "transition"}),
                pairs(&[("kind", NotSyncable)]),
            ),
            (
                json!({"fault_id": null, "at": "noon"}),
                pairs(&[("fault_id", Required), ("at", Validation)]),
            ),
        ];
        for (changes, want) in cases {
            let mut v = values(note.clone());
            v.extend(values(changes.clone()));
            assert_eq!(codes(offline_note(&v)), want, "{changes}");
        }
    }

    fn writes(v: Value) -> BTreeMap<String, FieldWrite> {
        values(v)
            .into_iter()
            .map(|(k, value)| {
                let write = FieldWrite {
                    value,
                    hlc: Hlc::at(10, Uuid::from_u128(3)),
                    supersedes: Default::default(),
                };
                (k, write)
            })
            .collect()
    }

    #[test]
    fn clients_write_their_fields_once() {
        use ErrorCode::*;
        let new = writes(offline());
        assert_eq!(check_sync_write(EntityKind::Fault, None, &new), Ok(()));
        // The server's fields, and fields nobody knows, are refused by name.
        let forged =
            writes(json!({"title": "x", "status": "closed", "number": 1, "colour": "red"}));
        assert_eq!(
            codes(check_sync_write(EntityKind::Fault, None, &forged).map(|_| ())),
            pairs(&[
                ("colour", UnknownField),
                ("number", NotSyncable),
                ("status", NotSyncable)
            ])
        );
        // Once the server holds the fault, its client fields change online
        // only; the same value again changes nothing and passes.
        let stored =
            values(json!({"title": "Direkteki kamera kapalı", "number": 4, "status": "open"}));
        let same = writes(json!({"title": "Direkteki kamera kapalı"}));
        assert_eq!(
            check_sync_write(EntityKind::Fault, Some(&stored), &same),
            Ok(())
        );
        let edit = writes(json!({"title": "Başka", "severity": "low"}));
        assert_eq!(
            codes(check_sync_write(EntityKind::Fault, Some(&stored), &edit).map(|_| ())),
            pairs(&[("severity", NotSyncable), ("title", NotSyncable)])
        );
        // Notes: their four fields, once.
        let note =
            writes(json!({"fault_id": Uuid::from_u128(7), "kind": "note", "note": "a", "at": 5}));
        assert_eq!(
            check_sync_write(EntityKind::FaultEvent, None, &note),
            Ok(())
        );
        let forged = writes(json!({"note": "a", "by_user": Uuid::from_u128(9)}));
        assert_eq!(
            codes(check_sync_write(EntityKind::FaultEvent, None, &forged).map(|_| ())),
            pairs(&[("by_user", NotSyncable)])
        );
        // Other kinds are judged elsewhere.
        assert_eq!(check_sync_write(EntityKind::Camera, None, &forged), Ok(()));
    }

    #[test]
    fn client_and_server_fields_cover_the_records() {
        let fault = Fault {
            id: Uuid::from_u128(1),
            number: 1,
            site_id: Uuid::from_u128(2),
            site_name: String::new(),
            device: None,
            device_name: None,
            title: String::new(),
            description: None,
            severity: Severity::Low,
            status: FaultStatus::Open,
            assignee_id: None,
            assignee_name: None,
            vendor: None,
            vendor_ticket: None,
            fault_form_run_id: None,
            source: String::new(),
            opened_by: None,
            opened_at: 0,
            resolved_at: None,
            closed_at: None,
            updated_at: 0,
            time_to_repair_ms: None,
        };
        let event = FaultEventRecord {
            fault_id: Uuid::from_u128(1),
            event: FaultEvent {
                id: Uuid::from_u128(3),
                kind: FaultEventKind::Note,
                from_status: None,
                to_status: None,
                note: None,
                assignee_id: None,
                assignee_name: None,
                vendor: None,
                vendor_ticket: None,
                fault_form_run_id: None,
                by_user: None,
                by_name: None,
                at: 0,
            },
        };
        let cases: [(Value, &[&str], &[&str]); 2] = [
            (
                serde_json::to_value(&fault).unwrap(),
                &CLIENT_FAULT_FIELDS,
                &SERVER_FAULT_FIELDS,
            ),
            (
                serde_json::to_value(&event).unwrap(),
                &CLIENT_NOTE_FIELDS,
                &SERVER_NOTE_FIELDS,
            ),
        ];
        for (json, client, server) in cases {
            let mut synced: Vec<String> = entity_fields(&json).into_keys().collect();
            let mut both: Vec<String> =
                client.iter().chain(server).map(|s| s.to_string()).collect();
            synced.sort();
            both.sort();
            assert_eq!(synced, both);
        }
        // A fault opened offline and not synced yet still reads as a fault.
        let mut v = offline();
        v["id"] = json!(Uuid::from_u128(9));
        let f: Fault = serde_json::from_value(v).unwrap();
        assert_eq!((f.number, f.status), (0, FaultStatus::Open));
        let note: FaultEventRecord = serde_json::from_value(json!({
            "id": Uuid::from_u128(4), "fault_id": Uuid::from_u128(9), "kind": "note", "note": "a", "at": 5
        }))
        .unwrap();
        assert_eq!(note.event.kind, FaultEventKind::Note);
    }
}
