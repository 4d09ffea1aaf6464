//! Request and response bodies of the field-work endpoints that are not
//! domain records themselves: faults with their timeline
//! (`/api/v1/faults`) and the maintenance due list and calendar
//! (`/api/v1/maintenance`). Schedules travel as [`crate::schedules::Schedule`]
//! and new faults as [`crate::faults::NewFault`].
//!
//! The `normalize` methods here are the checks that need no database: the
//! server runs them first and answers every bad field at once, and the app
//! can run them before sending.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::checklists::Text;
use crate::faults::{self, DeviceRef, FaultStatus, Severity};
use crate::inventory::{DeviceKind, Errors};
use crate::schedules::DueItem;
use crate::validate::{self, Date, MAX_NOTES, MAX_TEXT};
use crate::{ErrorCode, FieldError};

/// Longest vendor (firm) name.
pub const MAX_VENDOR: usize = MAX_TEXT;
/// Longest note on a fault's timeline.
pub const MAX_FAULT_NOTE: usize = MAX_NOTES;

/// A fault as the API shows it. `site_name`, `device_name` and
/// `assignee_name` are read from their tables when the fault is read, so
/// that a list needs no second request per row.
///
/// The same JSON form (without `id` and `updated_at`) is the fault's sync
/// record. A fault opened offline and not synced yet holds only the fields
/// its client wrote (`faults::CLIENT_FAULT_FIELDS`); the server's fields
/// then read as their defaults: no number (0), status open.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Fault {
    pub id: Uuid,
    /// The human fault number (arıza no), counting up from 1; 0 until the
    /// server has taken in a fault opened offline.
    #[serde(default)]
    pub number: i64,
    pub site_id: Uuid,
    #[serde(default)]
    pub site_name: String,
    pub device: Option<DeviceRef>,
    /// `None` for a site-wide fault, or when the device was deleted since.
    pub device_name: Option<String>,
    pub title: String,
    pub description: Option<String>,
    #[serde(default)]
    pub severity: Severity,
    #[serde(default)]
    pub status: FaultStatus,
    pub assignee_id: Option<Uuid>,
    pub assignee_name: Option<String>,
    pub vendor: Option<String>,
    pub vendor_ticket: Option<String>,
    /// The completed fault form (arıza formu) the fault was closed with.
    pub fault_form_run_id: Option<Uuid>,
    /// `manual`, or `probe` for faults opened by a failed camera probe.
    #[serde(default)]
    pub source: String,
    pub opened_by: Option<Uuid>,
    /// Unix milliseconds, like every `_at` below.
    pub opened_at: i64,
    pub resolved_at: Option<i64>,
    pub closed_at: Option<i64>,
    #[serde(default)]
    pub updated_at: i64,
    /// From opening to resolution; kept after closing, cleared by a reopen.
    pub time_to_repair_ms: Option<i64>,
}

/// What a timeline entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum FaultEventKind {
    Opened,
    Note,
    /// A status change; `from_status` and `to_status` are set.
    Transition,
    /// The assignee changed without a status change.
    Reassigned,
    /// Title, description, severity or vendor details were edited.
    Edited,
}

impl FaultEventKind {
    pub const ALL: [FaultEventKind; 5] = [
        FaultEventKind::Opened,
        FaultEventKind::Note,
        FaultEventKind::Transition,
        FaultEventKind::Reassigned,
        FaultEventKind::Edited,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FaultEventKind::Opened => "opened",
            FaultEventKind::Note => "note",
            FaultEventKind::Transition => "transition",
            FaultEventKind::Reassigned => "reassigned",
            FaultEventKind::Edited => "edited",
        }
    }

    pub fn parse(s: &str) -> Option<FaultEventKind> {
        FaultEventKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// One entry of a fault's timeline. The fields a transition set (assignee,
/// vendor, ticket, fault form) are repeated here so that the timeline reads
/// on its own: "assigned to Ayşe", "waiting for vendor, ticket TCK-42".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FaultEvent {
    pub id: Uuid,
    pub kind: FaultEventKind,
    pub from_status: Option<FaultStatus>,
    pub to_status: Option<FaultStatus>,
    pub note: Option<String>,
    pub assignee_id: Option<Uuid>,
    pub assignee_name: Option<String>,
    pub vendor: Option<String>,
    pub vendor_ticket: Option<String>,
    pub fault_form_run_id: Option<Uuid>,
    pub by_user: Option<Uuid>,
    pub by_name: Option<String>,
    pub at: i64,
}

/// A timeline entry as its sync record (`fault_event`): the entry and the
/// fault it belongs to, one record per entry. A note written offline and
/// not synced yet holds only `fault_id`, `kind`, `note` and `at`
/// (`faults::CLIENT_NOTE_FIELDS`); the server adds the writer's name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultEventRecord {
    pub fault_id: Uuid,
    #[serde(flatten)]
    pub event: FaultEvent,
}

/// `GET /api/v1/faults/{id}`: the fault and its timeline, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FaultDetail {
    pub fault: Fault,
    pub events: Vec<FaultEvent>,
}

/// Query string of `GET /api/v1/faults`. Active faults (open, assigned,
/// waiting for the vendor) come first, then the newest.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultListQuery {
    pub site_id: Option<Uuid>,
    pub status: Option<FaultStatus>,
    /// Only open, assigned and waiting-for-vendor faults.
    pub active: Option<bool>,
    pub device_id: Option<Uuid>,
    /// Every word must match the title, description, vendor, ticket or number.
    pub q: Option<String>,
    /// At most 1,000; default 100.
    pub limit: Option<u32>,
    pub offset: Option<u32>,
}

/// `POST /api/v1/faults/{id}/notes`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FaultNote {
    pub note: String,
}

impl FaultNote {
    pub fn normalize(&self) -> Result<String, Vec<FieldError>> {
        validate::required_text(&self.note, MAX_FAULT_NOTE)
            .map_err(|code| vec![FieldError::new("note", code)])
    }
}

/// `POST /api/v1/faults/{id}/transition`: move the fault to `to`, setting
/// what that step needs (an assignee for `assigned`, a completed fault form
/// for `closed`) and what is known by then (vendor, ticket). Fields left out
/// keep their value.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FaultTransition {
    pub to: FaultStatus,
    #[serde(default)]
    pub assignee_id: Option<Uuid>,
    #[serde(default)]
    pub vendor: Option<String>,
    #[serde(default)]
    pub vendor_ticket: Option<String>,
    #[serde(default)]
    pub note: Option<String>,
    #[serde(default)]
    pub fault_form_run_id: Option<Uuid>,
}

impl FaultTransition {
    /// Trims the texts and checks their lengths. A blank vendor or ticket
    /// means "not given" here, never "clear it": clearing is an edit.
    pub fn normalize(&self) -> Result<FaultTransition, Vec<FieldError>> {
        let mut e = Errors::default();
        let vendor = e.opt_text("vendor", &self.vendor, MAX_VENDOR);
        let vendor_ticket = e
            .take(
                "vendor_ticket",
                faults::check_vendor_ticket(self.vendor_ticket.as_deref().unwrap_or("")),
            )
            .flatten();
        let note = e.opt_text("note", &self.note, MAX_FAULT_NOTE);
        if self.assignee_id.is_some_and(|id| id.is_nil()) {
            e.0.push(FieldError::new("assignee_id", ErrorCode::Required));
        }
        e.finish(FaultTransition {
            to: self.to,
            assignee_id: self.assignee_id,
            vendor,
            vendor_ticket,
            note,
            fault_form_run_id: self.fault_form_run_id,
        })
    }
}

/// `POST /api/v1/faults/{id}/assign`: hand an active fault to someone else
/// without changing its status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FaultAssign {
    pub assignee_id: Uuid,
    #[serde(default)]
    pub note: Option<String>,
}

/// `GET /api/v1/faults/{id}/assignees`: someone a fault may be given to —
/// an active user whose role works on faults and whose scope holds the
/// fault's site. Supervisors choose from these without seeing the user
/// administration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FaultAssignee {
    pub id: Uuid,
    pub username: String,
    pub display_name: String,
    pub role: crate::Role,
}

/// `PUT /api/v1/faults/{id}`: the editable description of a fault that is
/// not closed. Status, assignee and fault form change only through
/// transitions, so that each such change is on the timeline. This is a
/// replacement: an empty `vendor_ticket` clears it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FaultUpdate {
    pub title: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub severity: Severity,
    #[serde(default)]
    pub vendor: Option<String>,
    #[serde(default)]
    pub vendor_ticket: Option<String>,
}

impl FaultUpdate {
    pub fn normalize(&self) -> Result<FaultUpdate, Vec<FieldError>> {
        let mut e = Errors::default();
        let title = e
            .take(
                "title",
                validate::required_text(&self.title, faults::MAX_TITLE),
            )
            .unwrap_or_default();
        let description = e.opt_text("description", &self.description, faults::MAX_DESCRIPTION);
        let vendor = e.opt_text("vendor", &self.vendor, MAX_VENDOR);
        let vendor_ticket = e.opt_text(
            "vendor_ticket",
            &self.vendor_ticket,
            faults::MAX_VENDOR_TICKET,
        );
        e.finish(FaultUpdate {
            title,
            description,
            severity: self.severity,
            vendor,
            vendor_ticket,
        })
    }
}

/// Query string of `GET /api/v1/maintenance/due`; dates are `YYYY-MM-DD`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DueQuery {
    pub site_id: Option<Uuid>,
    /// Leave out what was due before this date. Without it every overdue
    /// maintenance is listed, however old.
    pub from: Option<String>,
    /// List what falls due up to this date; default today + 30 days.
    pub to: Option<String>,
}

/// Query string of `GET /api/v1/maintenance/calendar`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CalendarQuery {
    /// `YYYY-MM`; default the current month.
    pub month: Option<String>,
    pub site_id: Option<Uuid>,
}

/// Parses `YYYY-MM` into the first day of that month.
pub fn parse_month(value: &str) -> Result<Date, ErrorCode> {
    let v = value.trim();
    if v.len() != 7 {
        return Err(ErrorCode::InvalidDate);
    }
    Date::parse(&format!("{v}-01"))
}

/// The first day of the month after the one `first` is in.
pub fn next_month(first: Date) -> Date {
    let (year, month) = if first.month == 12 {
        (first.year + 1, 1)
    } else {
        (first.year, first.month + 1)
    };
    Date {
        year,
        month,
        day: 1,
    }
}

/// One maintenance due on one device, with the names a list shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DueEntry {
    #[serde(flatten)]
    pub item: DueItem,
    pub device_kind: DeviceKind,
    pub device_name: String,
    /// The template's key (`camera_maintenance`) and title, from its newest
    /// version.
    pub template_key: Option<String>,
    pub template_title: Option<Text>,
    /// On the calendar: a later occurrence, assuming the one before it is
    /// done on the day it is planned for. Always `false` in the due list.
    #[serde(default)]
    pub projected: bool,
}

/// The due list of one site.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SiteDue {
    pub site_id: Uuid,
    pub site_name: String,
    /// Entries whose due date has passed (due today is not overdue yet).
    pub overdue: u32,
    /// Overdue first, then by due date.
    pub items: Vec<DueEntry>,
}

/// `GET /api/v1/maintenance/due`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DueReport {
    /// Today in the institution's time zone, which `overdue_days` counts
    /// from.
    pub today: Date,
    /// That time zone, in minutes east of UTC (180 for Turkey): an app
    /// showing a kept copy of this report later can tell which day it is
    /// there, and date a run it completed the way the server will.
    pub utc_offset_minutes: i32,
    pub from: Option<Date>,
    pub to: Date,
    /// Sites with something due, by name.
    pub sites: Vec<SiteDue>,
}

/// One day of the maintenance calendar: the maintenance planned for it.
/// Something overdue is planned for today, so on today's entry `due` may be
/// earlier than `date`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CalendarDay {
    pub date: Date,
    pub items: Vec<DueEntry>,
}

/// `GET /api/v1/maintenance/calendar`: the days of one month that have
/// maintenance planned, in order; days with nothing planned are left out.
/// Past days have nothing planned: the calendar shows work to do, and what
/// is overdue is planned for today.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MaintenanceCalendar {
    /// `YYYY-MM`.
    pub month: String,
    pub today: Date,
    /// As in [`DueReport::utc_offset_minutes`].
    pub utc_offset_minutes: i32,
    pub days: Vec<CalendarDay>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_transition_is_trimmed_and_checked() {
        let t = FaultTransition {
            to: FaultStatus::WaitingVendor,
            vendor: Some("  Bilgi İşlem A.Ş. ".into()),
            vendor_ticket: Some(" ".into()),
            note: Some(" Firma arandı \n".into()),
            ..Default::default()
        }
        .normalize()
        .unwrap();
        assert_eq!(t.vendor.as_deref(), Some("Bilgi İşlem A.Ş."));
        assert_eq!(t.vendor_ticket, None);
        assert_eq!(t.note.as_deref(), Some("Firma arandı"));

        let bad = FaultTransition {
            to: FaultStatus::Assigned,
            assignee_id: Some(Uuid::nil()),
            vendor: Some("x".repeat(MAX_VENDOR + 1)),
            vendor_ticket: Some("t".repeat(faults::MAX_VENDOR_TICKET + 1)),
            note: Some("n".repeat(MAX_FAULT_NOTE + 1)),
            fault_form_run_id: None,
        };
        assert_eq!(
            bad.normalize().unwrap_err(),
            vec![
                FieldError::new("vendor", ErrorCode::TooLong),
                FieldError::new("vendor_ticket", ErrorCode::TooLong),
                FieldError::new("note", ErrorCode::TooLong),
                FieldError::new("assignee_id", ErrorCode::Required),
            ]
        );
    }

    #[test]
    fn notes_and_edits() {
        assert_eq!(
            FaultNote { note: " ".into() }.normalize(),
            Err(vec![FieldError::new("note", ErrorCode::Required)])
        );
        assert_eq!(
            FaultNote {
                note: " Kablo değişti ".into()
            }
            .normalize()
            .as_deref(),
            Ok("Kablo değişti")
        );
        let edit = FaultUpdate {
            title: " Görüntü yok ".into(),
            vendor_ticket: Some(" ".into()),
            ..Default::default()
        }
        .normalize()
        .unwrap();
        assert_eq!(edit.title, "Görüntü yok");
        assert_eq!(edit.vendor_ticket, None);
        let bad = FaultUpdate {
            title: "x".repeat(faults::MAX_TITLE + 1),
            description: Some("d".repeat(faults::MAX_DESCRIPTION + 1)),
            ..Default::default()
        };
        assert_eq!(
            bad.normalize().unwrap_err(),
            vec![
                FieldError::new("title", ErrorCode::TooLong),
                FieldError::new("description", ErrorCode::TooLong),
            ]
        );
    }

    #[test]
    fn months() {
        let first = parse_month("2026-12").unwrap();
        assert_eq!(first.to_string(), "2026-12-01");
        assert_eq!(next_month(first).to_string(), "2027-01-01");
        assert_eq!(
            next_month(parse_month(" 2024-02 ").unwrap()).to_string(),
            "2024-03-01"
        );
        for bad in ["2026-13", "2026-1", "2026-12-01", "", "abcd-ef"] {
            assert_eq!(parse_month(bad), Err(ErrorCode::InvalidDate), "{bad}");
        }
    }

    #[test]
    fn event_kinds_round_trip() {
        for k in FaultEventKind::ALL {
            assert_eq!(FaultEventKind::parse(k.as_str()), Some(k));
            assert_eq!(serde_json::to_value(k).unwrap(), k.as_str());
        }
    }
}
