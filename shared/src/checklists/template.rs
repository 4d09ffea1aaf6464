//! Checklist templates: what an administrator defines, and the rules a
//! template must follow before anyone can run it.
//!
//! [`validate_template`] reports every problem at once with a path such as
//! `sections[1].items[0].show_if`, so the template editor can mark each bad
//! field. The rules keep the run-time functions simple: every condition looks
//! backwards at an item that exists, so visibility is decided in one pass in
//! item order and can never loop.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::answers::{check_answer, is_blank};
use crate::inventory::DeviceKind;
use crate::validate::{MAX_NOTES, MAX_TEXT};
use crate::{ErrorCode, FieldError, Lang};

/// Longest item label; labels are questions, not paragraphs (those go in `help`).
pub const MAX_LABEL: usize = 500;
/// Longest template or choice key.
pub const MAX_KEY: usize = 64;
/// Longest unit of a number item ("gün", "°C", "m").
pub const MAX_UNIT: usize = 20;
/// Most options of one choice item; a longer list belongs in the inventory.
pub const MAX_OPTIONS: usize = 100;
/// Largest `max_len` a text item may allow.
pub const MAX_TEXT_ANSWER: u32 = 10_000;
/// Most photos one item may ask for; each is uploaded over a weak link.
pub const MAX_PHOTOS: u32 = 50;

/// A text in both UI languages.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Text {
    pub tr: String,
    pub en: String,
}

impl Text {
    pub fn new(tr: impl Into<String>, en: impl Into<String>) -> Text {
        Text {
            tr: tr.into(),
            en: en.into(),
        }
    }

    /// The text in `lang`. A blank English text falls back to Turkish, the
    /// default language, so that a half-translated draft still shows words.
    pub fn get(&self, lang: Lang) -> &str {
        match lang {
            Lang::En if !self.en.trim().is_empty() => &self.en,
            _ => &self.tr,
        }
    }
}

/// What a template can be run against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum TargetKind {
    Camera,
    Recorder,
    Switch,
    Site,
}

impl TargetKind {
    pub const ALL: [TargetKind; 4] = [
        TargetKind::Camera,
        TargetKind::Recorder,
        TargetKind::Switch,
        TargetKind::Site,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TargetKind::Camera => "camera",
            TargetKind::Recorder => "recorder",
            TargetKind::Switch => "switch",
            TargetKind::Site => "site",
        }
    }

    pub fn parse(s: &str) -> Option<TargetKind> {
        TargetKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl From<DeviceKind> for TargetKind {
    fn from(kind: DeviceKind) -> TargetKind {
        match kind {
            DeviceKind::Camera => TargetKind::Camera,
            DeviceKind::Recorder => TargetKind::Recorder,
            DeviceKind::Switch => TargetKind::Switch,
        }
    }
}

/// Why a template exists; reports group runs by it (maintenance done,
/// surveys made, faults closed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    Maintenance,
    RecorderHealth,
    SiteSurvey,
    Commissioning,
    FaultForm,
    Other,
}

impl Purpose {
    pub const ALL: [Purpose; 6] = [
        Purpose::Maintenance,
        Purpose::RecorderHealth,
        Purpose::SiteSurvey,
        Purpose::Commissioning,
        Purpose::FaultForm,
        Purpose::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Maintenance => "maintenance",
            Purpose::RecorderHealth => "recorder_health",
            Purpose::SiteSurvey => "site_survey",
            Purpose::Commissioning => "commissioning",
            Purpose::FaultForm => "fault_form",
            Purpose::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<Purpose> {
        Purpose::ALL.into_iter().find(|p| p.as_str() == s)
    }

    pub fn label(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (Purpose::Maintenance, Lang::Tr) => "Periyodik bakım ve temizlik",
            (Purpose::Maintenance, Lang::En) => "Periodic maintenance and cleaning",
            (Purpose::RecorderHealth, Lang::Tr) => "Kayıt cihazı kontrolü",
            (Purpose::RecorderHealth, Lang::En) => "Recorder health check",
            (Purpose::SiteSurvey, Lang::Tr) => "Keşif",
            (Purpose::SiteSurvey, Lang::En) => "Site survey",
            (Purpose::Commissioning, Lang::Tr) => "Kurulum ve devreye alma",
            (Purpose::Commissioning, Lang::En) => "Installation and commissioning",
            (Purpose::FaultForm, Lang::Tr) => "Arıza formu",
            (Purpose::FaultForm, Lang::En) => "Fault form",
            (Purpose::Other, Lang::Tr) => "Diğer",
            (Purpose::Other, Lang::En) => "Other",
        }
    }
}

/// A checklist definition. `id` stays the same across versions; a run
/// records `id` and `version`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Template {
    pub id: Uuid,
    pub version: u32,
    /// A stable slug such as `camera_maintenance`, for people and URLs.
    pub key: String,
    pub title: Text,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<Text>,
    pub targets: Vec<TargetKind>,
    pub purpose: Purpose,
    pub sections: Vec<Section>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Section {
    pub id: Uuid,
    pub title: Text,
    pub items: Vec<Item>,
}

/// One question. `id` stays the same across template versions as long as the
/// question means the same thing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Item {
    pub id: Uuid,
    pub label: Text,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help: Option<Text>,
    #[serde(default)]
    pub required: bool,
    pub kind: ItemKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub show_if: Option<Condition>,
}

/// The kind of answer an item takes; the module docs list each kind's value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ItemKind {
    YesNo,
    /// Pass, fail, or not applicable.
    PassFail,
    Number {
        #[serde(default)]
        unit: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min: Option<f64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max: Option<f64>,
        #[serde(default)]
        integer: bool,
    },
    Text {
        #[serde(default)]
        multiline: bool,
        #[serde(default = "default_max_len")]
        max_len: u32,
    },
    SingleChoice {
        options: Vec<Choice>,
    },
    MultiChoice {
        options: Vec<Choice>,
    },
    Date,
    /// Between `min` and `max` photos; a required photo item has `min ≥ 1`.
    Photo {
        min: u32,
        max: u32,
    },
    Signature,
}

fn default_max_len() -> u32 {
    1000
}

impl ItemKind {
    /// The wire name of the kind (serde's `type` tag).
    pub fn as_str(&self) -> &'static str {
        match self {
            ItemKind::YesNo => "yes_no",
            ItemKind::PassFail => "pass_fail",
            ItemKind::Number { .. } => "number",
            ItemKind::Text { .. } => "text",
            ItemKind::SingleChoice { .. } => "single_choice",
            ItemKind::MultiChoice { .. } => "multi_choice",
            ItemKind::Date => "date",
            ItemKind::Photo { .. } => "photo",
            ItemKind::Signature => "signature",
        }
    }
}

/// One option of a choice item. The key is what is stored, so it never
/// changes with the wording.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Choice {
    pub key: String,
    pub label: Text,
}

/// When an item is shown: a test on the answer of an earlier item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Condition {
    /// The answer equals `value` (for a multiple choice: contains that key).
    Equals { item: Uuid, value: Value },
    /// The answer equals one of `values` (for a multiple choice: contains one of them).
    AnyOf { item: Uuid, values: Vec<Value> },
    /// The item has any valid answer.
    Answered { item: Uuid },
}

impl Condition {
    /// The item whose answer is tested.
    pub fn item(&self) -> Uuid {
        match self {
            Condition::Equals { item, .. }
            | Condition::AnyOf { item, .. }
            | Condition::Answered { item } => *item,
        }
    }
}

impl Template {
    /// Every item, in the order the form shows them.
    pub fn items(&self) -> impl Iterator<Item = &Item> {
        self.sections.iter().flat_map(|s| s.items.iter())
    }

    pub fn item(&self, id: Uuid) -> Option<&Item> {
        self.items().find(|i| i.id == id)
    }

    pub fn applies_to(&self, target: TargetKind) -> bool {
        self.targets.contains(&target)
    }

    /// Turns an edited copy of this template into its next version: the id
    /// must stay, the version becomes this one's plus one (whatever the copy
    /// says), and the result must be valid. An item kept under the same id
    /// must keep its kind, because reports compare an item's answers across
    /// versions; a question that changes kind is a new question with a new id.
    pub fn next_version(&self, mut edited: Template) -> Result<Template, Vec<FieldError>> {
        let mut errors = Vec::new();
        if edited.id != self.id {
            errors.push(FieldError::new("id", ErrorCode::InvalidTemplate));
        }
        match self.version.checked_add(1) {
            Some(v) => edited.version = v,
            None => errors.push(FieldError::new("version", ErrorCode::OutOfRange)),
        }
        if let Err(e) = validate_template(&edited) {
            errors.extend(e);
        }
        let old_kinds: BTreeMap<Uuid, &'static str> =
            self.items().map(|i| (i.id, i.kind.as_str())).collect();
        for (si, section) in edited.sections.iter().enumerate() {
            for (ii, item) in section.items.iter().enumerate() {
                if matches!(old_kinds.get(&item.id), Some(k) if *k != item.kind.as_str()) {
                    errors.push(FieldError::new(
                        format!("sections[{si}].items[{ii}].kind"),
                        ErrorCode::InvalidTemplate,
                    ));
                }
            }
        }
        if errors.is_empty() {
            Ok(edited)
        } else {
            Err(errors)
        }
    }
}

/// A key is a lowercase ASCII slug: it appears in URLs, exports and stored
/// answers, where Turkish letters and spaces only cause trouble.
pub fn is_key(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some('a'..='z'))
        && s.len() <= MAX_KEY
        && chars.all(|c| matches!(c, 'a'..='z' | '0'..='9' | '_'))
}

/// Checks a template; see the module docs for what is checked. Field paths
/// follow the JSON: `title.en`, `sections[0].items[2].kind.options[1].key`.
pub fn validate_template(t: &Template) -> Result<(), Vec<FieldError>> {
    let mut v = Checker::default();
    if t.id.is_nil() {
        v.push("id", ErrorCode::Required);
    }
    if t.version == 0 {
        v.push("version", ErrorCode::OutOfRange);
    }
    if !is_key(&t.key) {
        v.push("key", ErrorCode::InvalidKey);
    }
    v.text("title", &t.title, MAX_TEXT);
    if let Some(d) = &t.description {
        v.text("description", d, MAX_NOTES);
    }
    if t.targets.is_empty() {
        v.push("targets", ErrorCode::Required);
    } else if t.targets.iter().collect::<BTreeSet<_>>().len() != t.targets.len() {
        v.push("targets", ErrorCode::DuplicateValue);
    }
    if t.sections.is_empty() {
        v.push("sections", ErrorCode::Required);
    }

    let mut section_ids = BTreeSet::new();
    // Items seen so far, in order: a condition may only refer to these.
    let mut earlier: BTreeMap<Uuid, &Item> = BTreeMap::new();
    for (si, section) in t.sections.iter().enumerate() {
        let sp = format!("sections[{si}]");
        if section.id.is_nil() {
            v.push(format!("{sp}.id"), ErrorCode::Required);
        } else if !section_ids.insert(section.id) {
            v.push(format!("{sp}.id"), ErrorCode::DuplicateId);
        }
        v.text(&format!("{sp}.title"), &section.title, MAX_TEXT);
        if section.items.is_empty() {
            v.push(format!("{sp}.items"), ErrorCode::Required);
        }
        for (ii, item) in section.items.iter().enumerate() {
            let p = format!("{sp}.items[{ii}]");
            if item.id.is_nil() {
                v.push(format!("{p}.id"), ErrorCode::Required);
            } else if earlier.contains_key(&item.id) {
                v.push(format!("{p}.id"), ErrorCode::DuplicateId);
            }
            v.text(&format!("{p}.label"), &item.label, MAX_LABEL);
            if let Some(help) = &item.help {
                v.text(&format!("{p}.help"), help, MAX_NOTES);
            }
            v.kind(&p, item);
            if let Some(cond) = &item.show_if {
                v.condition(&p, cond, &earlier);
            }
            earlier.entry(item.id).or_insert(item);
        }
    }
    if v.0.is_empty() {
        Ok(())
    } else {
        Err(v.0)
    }
}

#[derive(Default)]
struct Checker(Vec<FieldError>);

impl Checker {
    fn push(&mut self, field: impl Into<String>, code: ErrorCode) {
        self.0.push(FieldError::new(field, code));
    }

    /// Both languages are required: the app may be switched to English by
    /// any user, and an empty label there is an unanswerable question.
    fn text(&mut self, path: &str, text: &Text, max: usize) {
        for (lang, s) in [("tr", &text.tr), ("en", &text.en)] {
            let s = s.trim();
            if s.is_empty() {
                self.push(format!("{path}.{lang}"), ErrorCode::Required);
            } else if s.chars().count() > max {
                self.push(format!("{path}.{lang}"), ErrorCode::TooLong);
            }
        }
    }

    fn kind(&mut self, p: &str, item: &Item) {
        match &item.kind {
            ItemKind::YesNo | ItemKind::PassFail | ItemKind::Date | ItemKind::Signature => {}
            ItemKind::Number { unit, min, max, .. } => {
                if unit.chars().count() > MAX_UNIT {
                    self.push(format!("{p}.kind.unit"), ErrorCode::TooLong);
                }
                for (name, bound) in [("min", min), ("max", max)] {
                    if matches!(bound, Some(b) if !b.is_finite()) {
                        self.push(format!("{p}.kind.{name}"), ErrorCode::InvalidNumber);
                    }
                }
                if let (Some(lo), Some(hi)) = (min, max) {
                    if lo > hi {
                        self.push(format!("{p}.kind.max"), ErrorCode::InvalidRange);
                    }
                }
            }
            ItemKind::Text { max_len, .. } => {
                if !(1..=MAX_TEXT_ANSWER).contains(max_len) {
                    self.push(format!("{p}.kind.max_len"), ErrorCode::InvalidRange);
                }
            }
            ItemKind::SingleChoice { options } => self.options(p, options, 2),
            ItemKind::MultiChoice { options } => self.options(p, options, 1),
            ItemKind::Photo { min, max } => {
                if *max == 0 || *max > MAX_PHOTOS {
                    self.push(format!("{p}.kind.max"), ErrorCode::InvalidRange);
                } else if min > max {
                    self.push(format!("{p}.kind.min"), ErrorCode::InvalidRange);
                }
                // A required photo item with no minimum would be satisfied by
                // nothing at all; the form would say "required" and mean "optional".
                if item.required && *min == 0 {
                    self.push(format!("{p}.kind.min"), ErrorCode::InvalidRange);
                }
            }
        }
    }

    fn options(&mut self, p: &str, options: &[Choice], at_least: usize) {
        if options.len() < at_least {
            self.push(format!("{p}.kind.options"), ErrorCode::TooFewOptions);
        } else if options.len() > MAX_OPTIONS {
            self.push(format!("{p}.kind.options"), ErrorCode::TooLong);
        }
        let mut keys = BTreeSet::new();
        for (oi, option) in options.iter().enumerate() {
            let op = format!("{p}.kind.options[{oi}]");
            if !is_key(&option.key) {
                self.push(format!("{op}.key"), ErrorCode::InvalidKey);
            } else if !keys.insert(option.key.as_str()) {
                self.push(format!("{op}.key"), ErrorCode::DuplicateValue);
            }
            self.text(&format!("{op}.label"), &option.label, MAX_TEXT);
        }
    }

    fn condition(&mut self, p: &str, cond: &Condition, earlier: &BTreeMap<Uuid, &Item>) {
        let path = format!("{p}.show_if");
        // Only earlier items are known here, so a reference to the item
        // itself, to a later item or to nothing at all fails the same way.
        let Some(target) = earlier.get(&cond.item()) else {
            self.push(path, ErrorCode::InvalidCondition);
            return;
        };
        match cond {
            Condition::Answered { .. } => {}
            Condition::Equals { value, .. } => {
                if !condition_value_ok(target, value) {
                    self.push(format!("{path}.value"), ErrorCode::InvalidCondition);
                }
            }
            Condition::AnyOf { values, .. } => {
                if values.is_empty() {
                    self.push(format!("{path}.values"), ErrorCode::Required);
                }
                for (vi, value) in values.iter().enumerate() {
                    if !condition_value_ok(target, value) {
                        self.push(format!("{path}.values[{vi}]"), ErrorCode::InvalidCondition);
                    }
                }
            }
        }
    }
}

/// Whether `value` is something a condition on `target` can compare with.
/// Photos and signatures are never equal to anything a template author could
/// write down, so only `answered` applies to them.
fn condition_value_ok(target: &Item, value: &Value) -> bool {
    match &target.kind {
        ItemKind::Photo { .. } | ItemKind::Signature => false,
        ItemKind::MultiChoice { options } => value
            .as_str()
            .is_some_and(|k| options.iter().any(|o| o.key == k)),
        _ => !is_blank(value) && check_answer(target, value).is_ok(),
    }
}
