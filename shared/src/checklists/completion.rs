//! Which items a run shows, and whether its answers complete it.
//!
//! Both functions take the answers as the sync records hold them (item id →
//! raw value) and never fail on odd input: the app calls them on every
//! keystroke with whatever the local copy holds, including answers from a
//! newer template version or from a colleague's half-synced tablet.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;
use uuid::Uuid;

use super::answers::check_answer;
use super::template::{Condition, Item, ItemKind, Template};
use crate::{ErrorCode, FieldError};

/// The ids of the items shown for these answers. Conditions only look
/// backwards, so one pass in item order settles every chain: an item is
/// shown when it has no condition, or when the item it refers to is shown
/// and that item's answer satisfies the condition. A condition that does not
/// refer to an earlier item (only possible in an invalid template) hides its
/// item.
pub fn visible_items(template: &Template, answers: &BTreeMap<Uuid, Value>) -> BTreeSet<Uuid> {
    let mut visible = BTreeSet::new();
    let mut earlier: BTreeMap<Uuid, &Item> = BTreeMap::new();
    for item in template.items() {
        let shown = match &item.show_if {
            None => true,
            Some(cond) => {
                visible.contains(&cond.item())
                    && earlier
                        .get(&cond.item())
                        .is_some_and(|target| holds(cond, target, answers.get(&target.id)))
            }
        };
        if shown {
            visible.insert(item.id);
        }
        earlier.entry(item.id).or_insert(item);
    }
    visible
}

/// Whether a condition holds for the (raw) answer of its target item. An
/// invalid answer satisfies nothing: showing questions because of a value
/// the form itself rejects would only confuse.
fn holds(cond: &Condition, target: &Item, answer: Option<&Value>) -> bool {
    let Some(Ok(answer)) = answer.map(|a| check_answer(target, a)) else {
        return false;
    };
    if answer.is_null() {
        return false;
    }
    match cond {
        Condition::Answered { .. } => true,
        Condition::Equals { value, .. } => matches(target, &answer, value),
        Condition::AnyOf { values, .. } => values.iter().any(|v| matches(target, &answer, v)),
    }
}

/// Compares a canonical answer with a condition's value. Both go through
/// [`check_answer`], so `5` matches `5.0` and `" evet "` matches `"evet"`.
fn matches(target: &Item, answer: &Value, expected: &Value) -> bool {
    if let ItemKind::MultiChoice { .. } = target.kind {
        return answer
            .as_array()
            .is_some_and(|picked| picked.iter().any(|k| k == expected));
    }
    match check_answer(target, expected) {
        Ok(e) => !e.is_null() && e == *answer,
        Err(_) => false,
    }
}

/// Checks that a run can be completed with these answers: every visible
/// required item has a valid, non-blank answer, every answer to a visible
/// item is valid, and no answer names an item the template does not have.
/// Answers to hidden items are ignored (kept, not checked). Each error's
/// `field` is the item's id.
pub fn check_completion(
    template: &Template,
    answers: &BTreeMap<Uuid, Value>,
) -> Result<(), Vec<FieldError>> {
    let visible = visible_items(template, answers);
    let mut errors = Vec::new();
    for item in template.items() {
        if !visible.contains(&item.id) {
            continue;
        }
        match answers.get(&item.id).map(|v| check_answer(item, v)) {
            Some(Err(code)) => errors.push(FieldError::new(item.id.to_string(), code)),
            Some(Ok(v)) if !v.is_null() => {}
            _ if item.required => {
                errors.push(FieldError::new(item.id.to_string(), ErrorCode::Required))
            }
            _ => {}
        }
    }
    for id in answers.keys() {
        if template.item(*id).is_none() {
            errors.push(FieldError::new(id.to_string(), ErrorCode::UnknownItem));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}
