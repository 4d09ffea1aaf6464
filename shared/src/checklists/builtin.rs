//! The templates Gözcü ships with, one per duty of DOMAIN.md §9–11: periodic
//! camera maintenance and cleaning, the recorder health check, the site
//! survey (keşif) for a new installation, camera commissioning and the fault
//! form.
//!
//! They live as JSON in `shared/templates/`, in exactly the format an
//! administrator's template uses, so they can be read and reviewed as
//! documents and a customised copy starts from the same text. Their ids are
//! fixed, so that installing them is idempotent and schedules and reports
//! can name them the same way on every installation.

use uuid::{uuid, Uuid};

use super::template::Template;

pub const CAMERA_MAINTENANCE: Uuid = uuid!("3fb66ba3-42e8-5173-bc4b-87ff5acd44a3");
pub const RECORDER_HEALTH: Uuid = uuid!("663634e5-1f21-5d73-a0db-28c93138a33e");
pub const SITE_SURVEY: Uuid = uuid!("ef611c7a-1961-5a1e-81c4-cdf658ea26eb");
pub const CAMERA_COMMISSIONING: Uuid = uuid!("e04dbda3-8910-5742-b3ca-fb8c55d2b483");
pub const FAULT_FORM: Uuid = uuid!("40c04c05-b73d-5445-a309-fef340910090");

const SOURCES: [&str; 5] = [
    include_str!("../../templates/camera_maintenance.json"),
    include_str!("../../templates/recorder_health.json"),
    include_str!("../../templates/site_survey.json"),
    include_str!("../../templates/camera_commissioning.json"),
    include_str!("../../templates/fault_form.json"),
];

/// The built-in templates, in the order above. Parsing cannot fail at run
/// time: the files are compiled in and a unit test parses and validates
/// every one of them.
pub fn builtin_templates() -> Vec<Template> {
    SOURCES
        .iter()
        .map(|s| serde_json::from_str(s).expect("built-in templates are checked by unit tests"))
        .collect()
}
