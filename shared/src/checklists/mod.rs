//! Checklists (DOMAIN.md §9–11): the forms technicians fill in on site —
//! periodic maintenance and cleaning, recorder health checks, site surveys
//! (keşif), commissioning of a new camera and the fault form (arıza formu).
//!
//! An administrator defines a [`Template`]; every change to a template makes
//! a new version with the same id, and a run pins the id and version it was
//! started with, so a signed form never changes meaning when the template is
//! edited later. Item ids are stable across versions as well, which lets
//! reports compare "lens cleaned" over years of runs.
//!
//! A run's answers travel one per sync record
//! ([`crate::sync::MutationKind::ChecklistAnswer`]), so two technicians
//! answering different items of the same run never conflict. The value of
//! such a record is the JSON described below; [`check_answer`] parses it into
//! its canonical form and is run by the app before queuing and by the server
//! before storing.
//!
//! # Answer values on the wire
//!
//! | item kind (`type`) | value | example |
//! |---|---|---|
//! | `yes_no` | boolean | `true` |
//! | `pass_fail` | `"pass"`, `"fail"` or `"na"` | `"fail"` |
//! | `number` | JSON number; integral values are written without a fraction | `42`, `-3.5` |
//! | `text` | string, trimmed; `\r\n` becomes `\n` | `"Conta değiştirildi"` |
//! | `single_choice` | the chosen option's key | `"vendor_repair"` |
//! | `multi_choice` | array of distinct option keys, in the template's option order | `["bay_1", "bay_3"]` |
//! | `date` | `"YYYY-MM-DD"` | `"2026-03-01"` |
//! | `photo` | array of [`PhotoRef`] | `[{"sha256": "…", "width": 4000, "height": 3000}]` |
//! | `signature` | one [`Signature`] | `{"signer": "Ayşe Yılmaz", "signed_at_ms": 1767225600000, "image_sha256": "…"}` |
//!
//! A [`PhotoRef`] is `{"sha256", "width", "height", "taken_at_ms"?, "gps"?}`
//! and a [`Signature`] is `{"signer", "signed_at_ms", "image_sha256", "gps"?}`,
//! where `gps` is [`Gps`] `{"lat", "lon", "accuracy_m"?}` and every hash is
//! the SHA-256 of the uploaded file in 64 lowercase hex digits (the drawn
//! signature is uploaded as a PNG like a photo). Unknown fields are rejected.
//!
//! `null`, a blank string and an empty array mean "not answered": they are how
//! a technician clears an answer, and [`check_answer`] turns them all into
//! `null`.
//!
//! # Conditions
//!
//! An item may carry `show_if`, a [`Condition`] on an *earlier* item's
//! answer: `{"op": "equals", "item": "<id>", "value": false}`,
//! `{"op": "any_of", "item": "<id>", "values": ["fail", "na"]}` or
//! `{"op": "answered", "item": "<id>"}`. For a multiple-choice item, `equals`
//! and `any_of` test whether the answer *contains* the given keys. An item
//! whose condition refers to a hidden item is hidden too, and because
//! conditions may only look backwards they can never form a cycle. Hidden
//! items are not required, and answers given to them before they were hidden
//! are kept but not checked, so flipping an answer back restores them.
//!
//! Layout:
//! - [`template`]: templates, sections, items, conditions and their validation.
//! - [`answers`]: answer values, their typed parts and [`check_answer`].
//! - [`completion`]: which items are visible and whether a run is complete.
//! - [`runs`]: run status, the completion lock and amendments.
//! - [`builtin`]: the Turkish/English templates Gözcü ships with.

pub mod answers;
pub mod builtin;
pub mod completion;
pub mod runs;
pub mod template;

#[cfg(test)]
mod tests;

pub use answers::{check_answer, is_blank, Gps, PassFail, PhotoRef, Signature};
pub use builtin::builtin_templates;
pub use completion::{check_completion, visible_items};
pub use runs::{
    can_amend, can_answer, check_amendment, prepare_amendment, template_record,
    templates_of_record, AmendRequest, Amendment, Run, RunDetail, RunStatus, MAX_REASON,
};
pub use template::{
    validate_template, Choice, Condition, Item, ItemKind, Purpose, Section, TargetKind, Template,
    Text,
};
