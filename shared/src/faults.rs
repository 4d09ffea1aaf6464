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

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::inventory::{DeviceKind, Errors};
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
}
