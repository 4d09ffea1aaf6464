//! The pure rules of a checklist run: its status, the lock that completion
//! puts on it, and amendments.
//!
//! A completed run is a signed record — a maintenance report, a site-survey
//! tutanak, a fault form that closed a fault — so its answers are never
//! silently edited. A later correction is an [`Amendment`]: the old and new
//! value, who, when and why, kept beside the run and shown with it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::answers::{check_answer, Gps};
use super::completion::check_completion;
use super::template::{TargetKind, Template};
use crate::{validate, ErrorCode, FieldError, Lang};

/// Longest amendment reason.
pub const MAX_REASON: usize = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    #[default]
    InProgress,
    Completed,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::InProgress => "in_progress",
            RunStatus::Completed => "completed",
        }
    }

    pub fn parse(s: &str) -> Option<RunStatus> {
        [RunStatus::InProgress, RunStatus::Completed]
            .into_iter()
            .find(|r| r.as_str() == s)
    }

    pub fn label(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (RunStatus::InProgress, Lang::Tr) => "Devam ediyor",
            (RunStatus::InProgress, Lang::En) => "In progress",
            (RunStatus::Completed, Lang::Tr) => "Tamamlandı",
            (RunStatus::Completed, Lang::En) => "Completed",
        }
    }
}

/// A run as its sync record and the REST API carry it. The client fills
/// what it knows; the server derives `site_id` from the target and stamps
/// `started_by`/`completed_by`, and writes those back into the record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Run {
    pub id: Uuid,
    pub template_id: Uuid,
    pub template_version: u32,
    pub target_kind: TargetKind,
    pub target_id: Uuid,
    #[serde(default)]
    pub site_id: Option<Uuid>,
    #[serde(default)]
    pub status: RunStatus,
    pub started_at_ms: i64,
    #[serde(default)]
    pub started_by: Option<String>,
    #[serde(default)]
    pub completed_at_ms: Option<i64>,
    #[serde(default)]
    pub completed_by: Option<String>,
    #[serde(default)]
    pub gps: Option<Gps>,
    /// The fault this run's fault form belongs to.
    #[serde(default)]
    pub fault_id: Option<Uuid>,
}

/// The fields of a checklist template's sync record: `latest` and one field
/// per version (`v1`, `v2`, …), so a device offline can still show a run
/// pinned to an older version.
pub fn template_record(versions: &[Template]) -> Value {
    let mut fields = serde_json::Map::new();
    let latest = versions.iter().map(|t| t.version).max().unwrap_or(0);
    fields.insert("latest".into(), Value::from(latest));
    for t in versions {
        if let Ok(v) = serde_json::to_value(t) {
            fields.insert(format!("v{}", t.version), v);
        }
    }
    Value::Object(fields)
}

/// The versions a template record holds, oldest first; the inverse of
/// [`template_record`] (fields that are not versions are skipped).
pub fn templates_of_record(fields: &serde_json::Map<String, Value>) -> Vec<Template> {
    let mut out: Vec<Template> = fields
        .iter()
        .filter(|(k, _)| k.starts_with('v') && k[1..].parse::<u32>().is_ok())
        .filter_map(|(_, v)| serde_json::from_value(v.clone()).ok())
        .collect();
    out.sort_by_key(|t| t.version);
    out
}

/// A run with everything needed to show it or print it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RunDetail {
    pub run: Run,
    pub template: Template,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub answers: BTreeMap<Uuid, Value>,
    pub amendments: Vec<Amendment>,
}

/// `POST /api/v1/checklists/runs/{id}/amendments`: corrections of a
/// completed run, made together for one reason.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AmendRequest {
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub changes: BTreeMap<Uuid, Value>,
    pub reason: String,
}

/// A correction of one answer of a completed run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Amendment {
    pub item_id: Uuid,
    /// The answer before the amendment (`null` if there was none).
    pub old: Value,
    /// The canonical new answer (`null` clears it).
    pub new: Value,
    pub reason: String,
    /// The user who made it.
    pub by: Uuid,
    /// Unix milliseconds, from the server's clock.
    pub at_ms: i64,
}

/// Answers may be written only while the run is in progress; a completed
/// run changes only through amendments.
pub fn can_answer(status: RunStatus) -> Result<(), ErrorCode> {
    match status {
        RunStatus::InProgress => Ok(()),
        RunStatus::Completed => Err(ErrorCode::RunLocked),
    }
}

/// Amendments exist only for completed runs: an open run is simply answered
/// again, and an amendment trail on a draft would only be noise.
pub fn can_amend(status: RunStatus) -> Result<(), ErrorCode> {
    match status {
        RunStatus::Completed => Ok(()),
        RunStatus::InProgress => Err(ErrorCode::RunNotCompleted),
    }
}

/// Checks an amendment's reason and returns it trimmed. Every amendment needs
/// one: the whole point of locking a signed form is that changes explain
/// themselves.
pub fn check_amendment(reason: &str) -> Result<String, ErrorCode> {
    validate::optional_text(reason, MAX_REASON)?.ok_or(ErrorCode::ReasonRequired)
}

/// Checks a set of amendments to a completed run made together for one
/// reason, and returns the canonical new values and the trimmed reason.
///
/// Several answers may need to change at once — answering "no" to "privacy
/// areas?" hides the description of those areas, answering "yes" reveals a
/// required one — so the changes are judged together, and the run must still
/// be complete once all of them are applied. Errors name the item id (as in
/// [`check_completion`]), or `changes` or `reason`. The caller checks
/// [`can_amend`] and writes one [`Amendment`] per changed item.
pub fn prepare_amendment(
    template: &Template,
    answers: &BTreeMap<Uuid, Value>,
    changes: &BTreeMap<Uuid, Value>,
    reason: &str,
) -> Result<(BTreeMap<Uuid, Value>, String), Vec<FieldError>> {
    let mut errors = Vec::new();
    if changes.is_empty() {
        errors.push(FieldError::new("changes", ErrorCode::Required));
    }
    let mut normalised = BTreeMap::new();
    for (id, value) in changes {
        let Some(item) = template.item(*id) else {
            errors.push(FieldError::new(id.to_string(), ErrorCode::UnknownItem));
            continue;
        };
        match check_answer(item, value) {
            Ok(v) => {
                normalised.insert(*id, v);
            }
            Err(code) => errors.push(FieldError::new(id.to_string(), code)),
        }
    }
    let reason = match check_amendment(reason) {
        Ok(r) => r,
        Err(code) => {
            errors.push(FieldError::new("reason", code));
            String::new()
        }
    };
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut after = answers.clone();
    after.extend(normalised.iter().map(|(k, v)| (*k, v.clone())));
    check_completion(template, &after)?;
    Ok((normalised, reason))
}
