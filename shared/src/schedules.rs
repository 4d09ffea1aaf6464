//! Maintenance schedules (DOMAIN.md §10): "clean every camera every 180
//! days", "check this recorder every 30 days", and the list of what is due.
//!
//! A [`Schedule`] says which checklist template to run how often, either for
//! every device of a type or for one device. Rules combine per template: for
//! a device and a template, a device rule replaces the type rule (the dusty
//! camera by the construction site is cleaned every 30 days while the others
//! wait 180), and rules for different templates add up (a recorder can have
//! both a monthly health check and a yearly cleaning). If several rules of
//! the same level name the same template, the shortest interval wins: doing
//! maintenance too often is a smaller mistake than missing it.
//!
//! Dates are calendar dates, not timestamps: "every 90 days" counts days
//! from the last completed run (or from the device's install or creation
//! date if it was never done), so a run finished late at night does not
//! shift the next one. The caller passes `today`; nothing here reads a clock.
//! Which calendar day an instant falls on depends on where one stands: a
//! run finished at 01:30 in Turkey is finished on that day, not on the UTC
//! day before it. The institution's [`UtcOffset`] turns instants into days,
//! on the server and in the app alike.
//! Retired and planned devices are not maintained: the caller leaves them
//! out of the device list.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::inventory::DeviceKind;
use crate::validate::Date;
use crate::{ErrorCode, FieldError};

/// Longest interval: ten years, longer than any device lives.
pub const MAX_EVERY_DAYS: u32 = 3650;

/// A fixed offset from UTC, the institution's time zone ("+03:00" for
/// Turkey, which has no daylight saving time since 2016). A zone with
/// daylight saving would need two offsets a year; none of the institutions
/// this is for has one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UtcOffset {
    minutes: i32,
}

impl UtcOffset {
    pub const UTC: UtcOffset = UtcOffset { minutes: 0 };
    /// Türkiye saati (TRT), UTC+3 all year.
    pub const TURKEY: UtcOffset = UtcOffset { minutes: 180 };

    /// An offset in minutes east of UTC, within the offsets in use on
    /// Earth (−12:00 to +14:00).
    pub fn from_minutes(minutes: i32) -> Option<UtcOffset> {
        (-12 * 60..=14 * 60)
            .contains(&minutes)
            .then_some(UtcOffset { minutes })
    }

    pub fn minutes(self) -> i32 {
        self.minutes
    }

    /// Parses `+HH:MM` or `-HH:MM` (also `Z` for UTC).
    pub fn parse(value: &str) -> Result<UtcOffset, ErrorCode> {
        let v = value.trim();
        if v == "Z" {
            return Ok(UtcOffset::UTC);
        }
        let bytes = v.as_bytes();
        let sign = match bytes.first() {
            Some(b'+') => 1,
            Some(b'-') => -1,
            _ => return Err(ErrorCode::Validation),
        };
        if bytes.len() != 6 || bytes[3] != b':' {
            return Err(ErrorCode::Validation);
        }
        let num = |s: &str| {
            (s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit()))
                .then(|| s.parse::<i32>().ok())
                .flatten()
        };
        let (Some(h), Some(m)) = (num(&v[1..3]), num(&v[4..6])) else {
            return Err(ErrorCode::Validation);
        };
        if m >= 60 {
            return Err(ErrorCode::OutOfRange);
        }
        UtcOffset::from_minutes(sign * (h * 60 + m)).ok_or(ErrorCode::OutOfRange)
    }

    /// The calendar day a Unix timestamp (milliseconds) falls on here.
    pub fn date_of(self, unix_ms: i64) -> Date {
        Date::from_unix_ms(unix_ms + i64::from(self.minutes) * 60_000)
    }
}

impl Default for UtcOffset {
    fn default() -> UtcOffset {
        UtcOffset::TURKEY
    }
}

impl std::fmt::Display for UtcOffset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sign = if self.minutes < 0 { '-' } else { '+' };
        let m = self.minutes.abs();
        write!(f, "{sign}{:02}:{:02}", m / 60, m % 60)
    }
}

/// Written as its `+HH:MM` text, in settings files as on the wire.
impl Serialize for UtcOffset {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for UtcOffset {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<UtcOffset, D::Error> {
        let text = String::deserialize(deserializer)?;
        UtcOffset::parse(&text).map_err(|_| {
            serde::de::Error::custom(format!(
                "{text:?} is not a UTC offset like \"+03:00\" between -12:00 and +14:00"
            ))
        })
    }
}

/// What a schedule applies to. On the wire `{"device_type": "camera"}` or
/// `{"device": "<uuid>"}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ScheduleTarget {
    DeviceType(DeviceKind),
    Device(Uuid),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Schedule {
    #[serde(default)]
    pub id: Uuid,
    pub target: ScheduleTarget,
    pub every_days: u32,
    /// The checklist template to run (its id, stable across versions).
    pub template_id: Uuid,
}

impl Schedule {
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut errors = Vec::new();
        if !(1..=MAX_EVERY_DAYS).contains(&self.every_days) {
            errors.push(FieldError::new("every_days", ErrorCode::OutOfRange));
        }
        if self.template_id.is_nil() {
            errors.push(FieldError::new("template_id", ErrorCode::Required));
        }
        if matches!(self.target, ScheduleTarget::Device(id) if id.is_nil()) {
            errors.push(FieldError::new("target", ErrorCode::Required));
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    fn applies_to(&self, device: &DeviceForSchedule) -> bool {
        match self.target {
            ScheduleTarget::DeviceType(kind) => kind == device.kind,
            ScheduleTarget::Device(id) => id == device.id,
        }
    }
}

/// What the due list needs to know about a device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeviceForSchedule {
    pub id: Uuid,
    pub kind: DeviceKind,
    pub site_id: Uuid,
    /// Where counting starts for a device never maintained: its install
    /// date, or the day it was registered.
    pub created: Date,
    /// Template id → date of the last completed run of that template on
    /// this device.
    #[serde(default)]
    pub last_completed: BTreeMap<Uuid, Date>,
}

/// One maintenance that is due (or overdue) on one device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DueItem {
    pub device_id: Uuid,
    pub site_id: Uuid,
    pub schedule_id: Uuid,
    pub template_id: Uuid,
    pub every_days: u32,
    pub last_completed: Option<Date>,
    pub due: Date,
    /// Days past the due date: positive when overdue, 0 on the day, negative
    /// (days left) when it is still ahead.
    pub overdue_days: i64,
}

/// The date the next run is due: `every_days` after the last completed run,
/// or after `since` (install or creation date) if there was none.
pub fn next_due(last_completed: Option<Date>, since: Date, every_days: u32) -> Date {
    let from = last_completed.unwrap_or(since);
    Date::from_days(from.to_days() + i64::from(every_days))
}

/// The schedules that apply to a device, one per template: device rules
/// replace type rules, and the shortest interval wins among equals (ties go
/// to the smaller schedule id, so the answer never depends on input order).
pub fn effective_schedules<'a>(
    device: &DeviceForSchedule,
    schedules: &'a [Schedule],
) -> Vec<&'a Schedule> {
    let mut chosen: BTreeMap<Uuid, &Schedule> = BTreeMap::new();
    for s in schedules.iter().filter(|s| s.applies_to(device)) {
        let rank = |s: &Schedule| {
            (
                !matches!(s.target, ScheduleTarget::Device(_)),
                s.every_days,
                s.id,
            )
        };
        match chosen.get(&s.template_id) {
            Some(current) if rank(current) <= rank(s) => {}
            _ => {
                chosen.insert(s.template_id, s);
            }
        }
    }
    chosen.into_values().collect()
}

/// Everything due on or before `today + horizon_days`, overdue first, then
/// by due date (and site, device and template, for a stable order). A
/// horizon of 0 lists what is due today or overdue.
pub fn due_list(
    devices: &[DeviceForSchedule],
    schedules: &[Schedule],
    today: Date,
    horizon_days: u32,
) -> Vec<DueItem> {
    let until = today.to_days() + i64::from(horizon_days);
    let mut due: Vec<DueItem> = devices
        .iter()
        .flat_map(|device| {
            effective_schedules(device, schedules)
                .into_iter()
                .map(move |s| {
                    let last = device.last_completed.get(&s.template_id).copied();
                    let date = next_due(last, device.created, s.every_days);
                    DueItem {
                        device_id: device.id,
                        site_id: device.site_id,
                        schedule_id: s.id,
                        template_id: s.template_id,
                        every_days: s.every_days,
                        last_completed: last,
                        due: date,
                        overdue_days: today.to_days() - date.to_days(),
                    }
                })
        })
        .filter(|item| item.due.to_days() <= until)
        .collect();
    due.sort_by_key(|d| (d.due, d.site_id, d.device_id, d.template_id));
    due
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        Date::parse(s).unwrap()
    }

    fn u(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    const CLEANING: Uuid = Uuid::from_u128(0xC1EA);
    const HEALTH: Uuid = Uuid::from_u128(0x4EA1);
    const SITE: Uuid = Uuid::from_u128(0x517E);

    fn device(n: u128, kind: DeviceKind, created: &str) -> DeviceForSchedule {
        DeviceForSchedule {
            id: u(n),
            kind,
            site_id: SITE,
            created: d(created),
            last_completed: BTreeMap::new(),
        }
    }

    fn schedule(id: u128, target: ScheduleTarget, every_days: u32, template: Uuid) -> Schedule {
        Schedule {
            id: u(id),
            target,
            every_days,
            template_id: template,
        }
    }

    fn rules() -> Vec<Schedule> {
        vec![
            schedule(
                1,
                ScheduleTarget::DeviceType(DeviceKind::Camera),
                180,
                CLEANING,
            ),
            schedule(
                2,
                ScheduleTarget::DeviceType(DeviceKind::Recorder),
                30,
                HEALTH,
            ),
            // The camera by the construction site gets dusty.
            schedule(3, ScheduleTarget::Device(u(11)), 30, CLEANING),
            // A device rule for a template its type rule does not name adds to it.
            schedule(4, ScheduleTarget::Device(u(20)), 365, CLEANING),
            // A device rule overrides even when it is the longer one: the
            // administrator chose it for that device (a camera indoors).
            schedule(5, ScheduleTarget::Device(u(12)), 365, CLEANING),
        ]
    }

    #[test]
    fn next_due_counts_calendar_days() {
        let cases = [
            (None, "2026-01-01", 90, "2026-04-01"),
            (Some("2026-03-15"), "2026-01-01", 90, "2026-06-13"),
            // Leap years: 2024 has 29 February, 2100 does not, 2000 does.
            (None, "2024-02-29", 365, "2025-02-28"),
            (Some("2023-12-31"), "2020-01-01", 60, "2024-02-29"),
            (None, "2100-02-28", 1, "2100-03-01"),
            (None, "2000-02-28", 1, "2000-02-29"),
            (None, "2024-01-01", 366, "2025-01-01"),
            (None, "2026-12-31", 1, "2027-01-01"),
        ];
        for (last, since, every, want) in cases {
            assert_eq!(
                next_due(last.map(d), d(since), every),
                d(want),
                "{last:?} {since} +{every}"
            );
        }
    }

    #[test]
    fn device_rules_override_type_rules_per_template() {
        let rules = rules();
        let ids = |dev: &DeviceForSchedule| -> Vec<Uuid> {
            effective_schedules(dev, &rules)
                .iter()
                .map(|s| s.id)
                .collect()
        };
        assert_eq!(ids(&device(10, DeviceKind::Camera, "2026-01-01")), [u(1)]);
        assert_eq!(ids(&device(11, DeviceKind::Camera, "2026-01-01")), [u(3)]);
        assert_eq!(ids(&device(12, DeviceKind::Camera, "2026-01-01")), [u(5)]);
        let mut recorder = device(20, DeviceKind::Recorder, "2026-01-01");
        assert_eq!(ids(&recorder), [u(2), u(4)]);
        recorder.kind = DeviceKind::Switch;
        assert_eq!(ids(&recorder), [u(4)]);
        assert!(ids(&device(30, DeviceKind::Switch, "2026-01-01")).is_empty());
    }

    #[test]
    fn the_shortest_of_equal_rules_wins_whatever_the_order() {
        let mut rules = vec![
            schedule(
                7,
                ScheduleTarget::DeviceType(DeviceKind::Camera),
                90,
                CLEANING,
            ),
            schedule(
                5,
                ScheduleTarget::DeviceType(DeviceKind::Camera),
                60,
                CLEANING,
            ),
            schedule(
                6,
                ScheduleTarget::DeviceType(DeviceKind::Camera),
                60,
                CLEANING,
            ),
        ];
        let cam = device(10, DeviceKind::Camera, "2026-01-01");
        for _ in 0..rules.len() {
            let chosen = effective_schedules(&cam, &rules);
            assert_eq!(chosen.iter().map(|s| s.id).collect::<Vec<_>>(), [u(5)]);
            rules.rotate_left(1);
        }
    }

    #[test]
    fn due_list_with_overdue_days_sorted_by_date() {
        let mut devices = vec![
            device(10, DeviceKind::Camera, "2025-06-01"), // due 2025-11-28
            device(11, DeviceKind::Camera, "2026-03-01"), // due 2026-03-31
            device(20, DeviceKind::Recorder, "2026-03-20"), // health 04-19, cleaning 2027
            device(30, DeviceKind::Switch, "2020-01-01"), // no rule
        ];
        devices[0].site_id = u(0x5172);
        let today = d("2026-04-10");
        let list = due_list(&devices, &rules(), today, 14);
        let got: Vec<(Uuid, Uuid, String, i64)> = list
            .iter()
            .map(|i| {
                (
                    i.device_id,
                    i.schedule_id,
                    i.due.to_string(),
                    i.overdue_days,
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                (u(10), u(1), "2025-11-28".to_owned(), 133),
                (u(11), u(3), "2026-03-31".to_owned(), 10),
                (u(20), u(2), "2026-04-19".to_owned(), -9),
            ]
        );
        assert_eq!(list[0].site_id, u(0x5172));
        assert_eq!(list[2].template_id, HEALTH);
        assert_eq!(list[2].last_completed, None);

        // A horizon of 0: only what is due today or overdue.
        assert_eq!(due_list(&devices, &rules(), today, 0).len(), 2);
        // The due day itself is overdue by 0 days.
        let on_the_day = due_list(&devices, &rules(), d("2026-04-19"), 0);
        assert_eq!(on_the_day.last().unwrap().overdue_days, 0);
    }

    #[test]
    fn completing_a_run_moves_the_due_date() {
        let mut cam = device(10, DeviceKind::Camera, "2025-06-01");
        let today = d("2026-04-10");
        let before = due_list(std::slice::from_ref(&cam), &rules(), today, 30);
        assert_eq!(before[0].overdue_days, 133);

        // A run of another template changes nothing.
        cam.last_completed.insert(HEALTH, today);
        assert_eq!(
            due_list(std::slice::from_ref(&cam), &rules(), today, 30),
            before
        );

        cam.last_completed.insert(CLEANING, today);
        assert!(due_list(std::slice::from_ref(&cam), &rules(), today, 30).is_empty());
        let later = due_list(std::slice::from_ref(&cam), &rules(), today, 180);
        assert_eq!(later[0].due, d("2026-10-07"));
        assert_eq!(later[0].overdue_days, -180);
        assert_eq!(later[0].last_completed, Some(today));
    }

    #[test]
    fn the_day_of_an_instant_depends_on_the_offset() {
        // 2026-04-09T22:30:00Z is 01:30 on the 10th in Turkey.
        let ms = 1_775_773_800_000;
        assert_eq!(UtcOffset::UTC.date_of(ms), d("2026-04-09"));
        assert_eq!(UtcOffset::TURKEY.date_of(ms), d("2026-04-10"));
        assert_eq!(
            UtcOffset::parse("-05:00").unwrap().date_of(ms),
            d("2026-04-09")
        );
        // Exactly midnight in Turkey is already the new day.
        let midnight_tr = 1_775_768_400_000; // 2026-04-09T21:00:00Z
        assert_eq!(UtcOffset::TURKEY.date_of(midnight_tr), d("2026-04-10"));
        assert_eq!(UtcOffset::TURKEY.date_of(midnight_tr - 1), d("2026-04-09"));
        // Before 1970 too.
        assert_eq!(UtcOffset::TURKEY.date_of(-1), d("1970-01-01"));
    }

    #[test]
    fn utc_offsets_parse_and_print() {
        for (text, minutes) in [
            ("+03:00", 180),
            ("-03:30", -210),
            ("+05:45", 345),
            ("Z", 0),
            (" +00:00 ", 0),
            ("+14:00", 840),
            ("-12:00", -720),
        ] {
            let o = UtcOffset::parse(text).unwrap();
            assert_eq!(o.minutes(), minutes, "{text}");
            assert_eq!(UtcOffset::parse(&o.to_string()), Ok(o));
        }
        assert_eq!(UtcOffset::default().to_string(), "+03:00");
        for bad in [
            "",
            "3",
            "+3",
            "+03",
            "03:00",
            "+0300",
            "UTC+3",
            "+03:0a",
            "Europe/Istanbul",
        ] {
            assert_eq!(UtcOffset::parse(bad), Err(ErrorCode::Validation), "{bad:?}");
        }
        for far in ["+15:00", "-13:00", "+03:60"] {
            assert_eq!(UtcOffset::parse(far), Err(ErrorCode::OutOfRange), "{far:?}");
        }
        let json: UtcOffset = serde_json::from_str("\"+03:00\"").unwrap();
        assert_eq!(json, UtcOffset::TURKEY);
        assert!(serde_json::from_str::<UtcOffset>("\"+3\"")
            .unwrap_err()
            .to_string()
            .contains("UTC offset"));
    }

    #[test]
    fn schedule_limits() {
        let ok = schedule(
            1,
            ScheduleTarget::DeviceType(DeviceKind::Camera),
            1,
            CLEANING,
        );
        assert_eq!(ok.validate(), Ok(()));
        let max = Schedule {
            every_days: MAX_EVERY_DAYS,
            ..ok.clone()
        };
        assert_eq!(max.validate(), Ok(()));
        for every_days in [0, MAX_EVERY_DAYS + 1] {
            let bad = Schedule {
                every_days,
                ..ok.clone()
            };
            assert_eq!(
                bad.validate(),
                Err(vec![FieldError::new("every_days", ErrorCode::OutOfRange)])
            );
        }
        let nothing = schedule(1, ScheduleTarget::Device(Uuid::nil()), 30, Uuid::nil());
        assert_eq!(
            nothing.validate(),
            Err(vec![
                FieldError::new("template_id", ErrorCode::Required),
                FieldError::new("target", ErrorCode::Required),
            ])
        );
    }

    #[test]
    fn wire_format() {
        let s = schedule(
            1,
            ScheduleTarget::DeviceType(DeviceKind::Recorder),
            30,
            HEALTH,
        );
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(
            json["target"],
            serde_json::json!({"device_type": "recorder"})
        );
        assert_eq!(serde_json::from_value::<Schedule>(json).unwrap(), s);
        let target: ScheduleTarget =
            serde_json::from_value(serde_json::json!({"device": u(11)})).unwrap();
        assert_eq!(target, ScheduleTarget::Device(u(11)));

        let cam = device(10, DeviceKind::Camera, "2025-06-01");
        let item = &due_list(&[cam], &rules(), d("2026-04-10"), 0)[0];
        let json = serde_json::to_value(item).unwrap();
        assert_eq!(json["due"], "2025-11-28");
        assert_eq!(json["last_completed"], serde_json::Value::Null);
    }
}
