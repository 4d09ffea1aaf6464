//! Checklist tests. The case tables live in `shared/tests/data/` as JSON —
//! `checklist_answers.json` (every item kind × valid and invalid values) and
//! `checklist_templates.json` (a test template with conditional chains, its
//! visibility and completion cases, and broken variants with the expected
//! error paths) — so a new rule usually means a new line there, not new code.
//! Property tests check that nothing panics on arbitrary input, that hidden
//! items never report errors and that canonical answers stay canonical.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

use super::builtin::{
    CAMERA_COMMISSIONING, CAMERA_MAINTENANCE, FAULT_FORM, RECORDER_HEALTH, SITE_SURVEY,
};
use super::template::is_key;
use super::*;
use crate::{ErrorCode, FieldError, Lang};

const ANSWERS: &str = include_str!("../../tests/data/checklist_answers.json");
const TEMPLATES: &str = include_str!("../../tests/data/checklist_templates.json");

#[derive(Deserialize)]
struct AnswerTable {
    groups: Vec<AnswerGroup>,
}

#[derive(Deserialize)]
struct AnswerGroup {
    kind: ItemKind,
    cases: Vec<AnswerCase>,
}

#[derive(Deserialize)]
struct AnswerCase {
    value: Value,
    #[serde(default)]
    ok: Option<Value>,
    #[serde(default)]
    err: Option<ErrorCode>,
    #[serde(default)]
    note: String,
}

#[derive(Deserialize)]
struct TemplateTable {
    base: Value,
    visibility: Vec<VisibilityCase>,
    completion: Vec<CompletionCase>,
    invalid: Vec<InvalidCase>,
}

#[derive(Deserialize)]
struct VisibilityCase {
    name: String,
    answers: BTreeMap<String, Value>,
    visible: Vec<String>,
}

#[derive(Deserialize)]
struct CompletionCase {
    name: String,
    answers: BTreeMap<String, Value>,
    errors: Vec<(String, ErrorCode)>,
}

#[derive(Deserialize)]
struct InvalidCase {
    name: String,
    set: BTreeMap<String, Value>,
    errors: Vec<(String, ErrorCode)>,
}

/// Item `NN` of the test template.
fn id(nn: &str) -> Uuid {
    Uuid::parse_str(&format!("00000000-0000-4000-8000-0000000000{nn}")).unwrap()
}

/// The reverse of [`id`], so that expected errors read as in the table.
fn short(field: &str) -> String {
    field
        .strip_prefix("00000000-0000-4000-8000-0000000000")
        .unwrap_or(field)
        .to_owned()
}

fn table() -> TemplateTable {
    serde_json::from_str(TEMPLATES).unwrap()
}

fn base() -> Template {
    serde_json::from_value(table().base).unwrap()
}

fn answers(raw: &BTreeMap<String, Value>) -> BTreeMap<Uuid, Value> {
    raw.iter().map(|(k, v)| (id(k), v.clone())).collect()
}

fn errors(r: Result<(), Vec<FieldError>>) -> Vec<(String, ErrorCode)> {
    r.err()
        .unwrap_or_default()
        .into_iter()
        .map(|e| (short(&e.field), e.code))
        .collect()
}

fn item(kind: ItemKind) -> Item {
    Item {
        id: id("01"),
        label: Text::new("Soru", "Question"),
        help: None,
        required: false,
        kind,
        show_if: None,
    }
}

/// Sets the value at a JSON pointer, creating the last key of an object.
fn set(doc: &mut Value, pointer: &str, value: Value) {
    let (parent, last) = pointer.rsplit_once('/').unwrap();
    match doc.pointer_mut(parent) {
        Some(Value::Object(map)) => {
            map.insert(last.to_owned(), value);
        }
        Some(Value::Array(list)) => list[last.parse::<usize>().unwrap()] = value,
        _ => panic!("no parent for {pointer}"),
    }
}

#[test]
fn answers_by_kind() {
    let table: AnswerTable = serde_json::from_str(ANSWERS).unwrap();
    let mut count = 0;
    for group in table.groups {
        let item = item(group.kind);
        for case in group.cases {
            let got = check_answer(&item, &case.value);
            let want = match (case.ok, case.err) {
                (Some(v), None) => Ok(v),
                (None, Some(code)) => Err(code),
                // `"ok": null` deserialises as a missing `ok`: a blank answer.
                (None, None) => Ok(Value::Null),
                _ => panic!("case with both ok and err: {}", case.value),
            };
            assert_eq!(
                got,
                want,
                "{} with {}: {}",
                item.kind.as_str(),
                case.value,
                case.note
            );
            count += 1;
        }
    }
    assert!(count > 80, "only {count} answer cases");
}

#[test]
fn test_template_is_valid() {
    assert_eq!(validate_template(&base()), Ok(()));
}

#[test]
fn visibility_cases() {
    let t = base();
    for case in table().visibility {
        let got: Vec<String> = visible_items(&t, &answers(&case.answers))
            .iter()
            .map(|u| short(&u.to_string()))
            .collect();
        assert_eq!(got, case.visible, "{}", case.name);
    }
}

#[test]
fn completion_cases() {
    let t = base();
    for case in table().completion {
        assert_eq!(
            errors(check_completion(&t, &answers(&case.answers))),
            case.errors,
            "{}",
            case.name
        );
    }
}

#[test]
fn invalid_templates() {
    let table = table();
    for case in table.invalid {
        let mut doc = table.base.clone();
        for (pointer, value) in case.set {
            set(&mut doc, &pointer, value);
        }
        let t: Template = serde_json::from_value(doc)
            .unwrap_or_else(|e| panic!("{}: does not parse: {e}", case.name));
        assert_eq!(errors(validate_template(&t)), case.errors, "{}", case.name);
    }
}

/// JSON with every number as a float, so that a bound written `100` equals
/// the `100.0` an `f64` field serialises to.
fn floats(v: Value) -> Value {
    match v {
        Value::Number(n) => n.as_f64().map_or(Value::Null, Value::from),
        Value::Array(a) => Value::Array(a.into_iter().map(floats).collect()),
        Value::Object(m) => Value::Object(m.into_iter().map(|(k, v)| (k, floats(v))).collect()),
        other => other,
    }
}

#[test]
fn templates_round_trip_through_json() {
    let doc = table().base;
    let t: Template = serde_json::from_value(doc.clone()).unwrap();
    assert_eq!(floats(serde_json::to_value(&t).unwrap()), floats(doc));
}

#[test]
fn keys() {
    for good in ["a", "camera_maintenance", "bay_12"] {
        assert!(is_key(good), "{good}");
    }
    for bad in [
        "",
        "_a",
        "1a",
        "Camera",
        "a-b",
        "a b",
        "kayıt",
        &"a".repeat(65),
    ] {
        assert!(!is_key(bad), "{bad}");
    }
}

#[test]
fn text_falls_back_to_turkish() {
    let t = Text::new("Bakım", "Maintenance");
    assert_eq!(t.get(Lang::Tr), "Bakım");
    assert_eq!(t.get(Lang::En), "Maintenance");
    assert_eq!(Text::new("Bakım", " ").get(Lang::En), "Bakım");
}

#[test]
fn next_version_keeps_id_and_counts_up() {
    let v1 = base();
    let mut edited = v1.clone();
    edited.title.tr = "Deneme formu (yeni)".into();
    let v2 = v1.next_version(edited.clone()).unwrap();
    assert_eq!((v2.id, v2.version), (v1.id, 2));
    assert_eq!(v2.title.tr, "Deneme formu (yeni)");

    // The version in the edited copy does not matter; the old one does.
    edited.version = 40;
    assert_eq!(v2.next_version(edited).unwrap().version, 3);

    let mut other = v1.clone();
    other.id = Uuid::from_u128(7);
    assert_eq!(
        errors(v1.next_version(other).map(drop)),
        [("id".to_owned(), ErrorCode::InvalidTemplate)]
    );

    // Item 4 was a number; the same id as a yes/no question would make
    // reports compare days with booleans.
    let mut changed = v1.clone();
    changed.sections[0].items[3].kind = ItemKind::YesNo;
    changed.sections[1].items[3].show_if = None;
    assert_eq!(
        errors(v1.next_version(changed).map(drop)),
        [(
            "sections[0].items[3].kind".to_owned(),
            ErrorCode::InvalidTemplate
        )]
    );

    let mut broken = v1.clone();
    broken.key = "Bozuk".into();
    assert_eq!(
        errors(v1.next_version(broken).map(drop)),
        [("key".to_owned(), ErrorCode::InvalidKey)]
    );
}

#[test]
fn runs_lock_on_completion() {
    assert_eq!(can_answer(RunStatus::InProgress), Ok(()));
    assert_eq!(can_answer(RunStatus::Completed), Err(ErrorCode::RunLocked));
    assert_eq!(can_amend(RunStatus::Completed), Ok(()));
    assert_eq!(
        can_amend(RunStatus::InProgress),
        Err(ErrorCode::RunNotCompleted)
    );
    for status in [RunStatus::InProgress, RunStatus::Completed] {
        assert_eq!(RunStatus::parse(status.as_str()), Some(status));
        assert_eq!(serde_json::to_value(status).unwrap(), status.as_str());
        assert_ne!(status.label(Lang::Tr), status.label(Lang::En));
    }
}

#[test]
fn amendment_reasons() {
    assert_eq!(
        check_amendment("  Yanlış kamera seçilmiş. "),
        Ok("Yanlış kamera seçilmiş.".into())
    );
    assert_eq!(check_amendment(" \n "), Err(ErrorCode::ReasonRequired));
    assert_eq!(
        check_amendment(&"ı".repeat(MAX_REASON)).map(|r| r.len()),
        Ok(2000)
    );
    assert_eq!(
        check_amendment(&"ı".repeat(MAX_REASON + 1)),
        Err(ErrorCode::TooLong)
    );
}

/// Answers that complete the test template.
fn complete_answers() -> BTreeMap<Uuid, Value> {
    let case = table()
        .completion
        .into_iter()
        .find(|c| c.errors.is_empty())
        .unwrap();
    answers(&case.answers)
}

#[test]
fn amendments_are_judged_together_and_keep_the_run_complete() {
    let t = base();
    let done = complete_answers();
    assert_eq!(check_completion(&t, &done), Ok(()));

    // B from pass to fail reveals C, which is required: alone it would
    // leave the run incomplete, together with C it is fine.
    let alone = BTreeMap::from([(id("02"), json!("fail"))]);
    assert_eq!(
        prepare_amendment(&t, &done, &alone, "Görüntü testi yanlış işaretlenmiş")
            .map(drop)
            .unwrap_err(),
        [FieldError::new(id("03").to_string(), ErrorCode::Required)]
    );
    let both = BTreeMap::from([
        (id("02"), json!("fail")),
        (id("03"), json!("  Lens çizik ")),
    ]);
    let (values, reason) =
        prepare_amendment(&t, &done, &both, " Görüntü testi yanlış işaretlenmiş ").unwrap();
    assert_eq!(values[&id("03")], json!("Lens çizik"));
    assert_eq!(reason, "Görüntü testi yanlış işaretlenmiş");

    // Every problem at once: an unknown item, a bad value, no reason.
    let bad = BTreeMap::from([(id("04"), json!(-5)), (id("99"), json!(true))]);
    assert_eq!(
        errors(prepare_amendment(&t, &done, &bad, " ").map(drop)),
        [
            ("04".to_owned(), ErrorCode::OutOfRange),
            ("99".to_owned(), ErrorCode::UnknownItem),
            ("reason".to_owned(), ErrorCode::ReasonRequired),
        ]
    );
    assert_eq!(
        errors(prepare_amendment(&t, &done, &BTreeMap::new(), "neden").map(drop)),
        [("changes".to_owned(), ErrorCode::Required)]
    );
}

#[test]
fn item_kinds_travel_with_a_type_tag() {
    let kind: ItemKind =
        serde_json::from_value(json!({"type": "number", "unit": "gün", "min": 0})).unwrap();
    assert_eq!(
        kind,
        ItemKind::Number {
            unit: "gün".into(),
            min: Some(0.0),
            max: None,
            integer: false
        }
    );
    assert_eq!(
        serde_json::to_value(ItemKind::Text {
            multiline: true,
            max_len: 500
        })
        .unwrap(),
        json!({"type": "text", "multiline": true, "max_len": 500})
    );
    let cond: Condition =
        serde_json::from_value(json!({"op": "any_of", "item": id("02"), "values": ["fail"]}))
            .unwrap();
    assert_eq!(cond.item(), id("02"));
}

/// A valid, non-blank answer for any item, for checking that templates can
/// be completed at all.
fn sample_answer(item: &Item) -> Value {
    let hash = |n: usize| format!("{n:064x}");
    match &item.kind {
        ItemKind::YesNo => json!(true),
        ItemKind::PassFail => json!("pass"),
        ItemKind::Number { min, max, .. } => json!(min.or(*max).unwrap_or(0.0)),
        ItemKind::Text { .. } => json!("Açıklama"),
        ItemKind::SingleChoice { options } | ItemKind::MultiChoice { options } => {
            let key = json!(options[0].key);
            if matches!(item.kind, ItemKind::MultiChoice { .. }) {
                json!([key])
            } else {
                key
            }
        }
        ItemKind::Date => json!("2026-03-01"),
        ItemKind::Photo { min, .. } => Value::Array(
            (0..(*min).max(1) as usize)
                .map(|n| json!({"sha256": hash(n + 1), "width": 1920, "height": 1080}))
                .collect(),
        ),
        ItemKind::Signature => json!({
            "signer": "Teknisyen Ali Çelik",
            "signed_at_ms": 1_772_323_200_000_i64,
            "image_sha256": hash(99),
        }),
    }
}

#[test]
fn builtin_templates_are_valid_and_completable() {
    let all = builtin_templates();
    assert_eq!(
        all.iter().map(|t| t.id).collect::<Vec<_>>(),
        [
            CAMERA_MAINTENANCE,
            RECORDER_HEALTH,
            SITE_SURVEY,
            CAMERA_COMMISSIONING,
            FAULT_FORM
        ]
    );
    let mut with_conditions = 0;
    for t in &all {
        assert_eq!(validate_template(t), Ok(()), "{}", t.key);
        assert_eq!(t.version, 1, "{}", t.key);
        if t.items().any(|i| i.show_if.is_some()) {
            with_conditions += 1;
        }
        // Answering every item with some valid value completes the form
        // (answers to items that stay hidden are ignored).
        let answers: BTreeMap<Uuid, Value> = t.items().map(|i| (i.id, sample_answer(i))).collect();
        for (id, value) in &answers {
            let item = t.item(*id).unwrap();
            assert!(
                check_answer(item, value).is_ok(),
                "{} {}",
                t.key,
                item.label.en
            );
        }
        assert_eq!(check_completion(t, &answers), Ok(()), "{}", t.key);
        // Nothing answered: at least the first required item is reported.
        assert!(check_completion(t, &BTreeMap::new()).is_err());
        // Every form ends with a signature: these are signed records.
        assert!(t
            .items()
            .any(|i| i.required && i.kind == ItemKind::Signature));
    }
    assert!(with_conditions >= 3, "{with_conditions}");
    assert_eq!(
        all.iter().map(|t| t.purpose).collect::<BTreeSet<_>>().len(),
        5
    );
}

#[test]
fn builtin_ids_are_unique_across_all_templates() {
    let mut ids = BTreeSet::new();
    for t in builtin_templates() {
        assert!(ids.insert(t.id), "{}", t.id);
        for s in &t.sections {
            assert!(ids.insert(s.id), "{} section {}", t.key, s.id);
            for i in &s.items {
                assert!(ids.insert(i.id), "{} item {}", t.key, i.label.en);
            }
        }
    }
}

#[test]
fn builtin_files_hold_nothing_serde_would_drop() {
    // Templates ignore unknown fields, so a misspelt "requried" in a file
    // would silently do nothing; the files must equal their own round trip.
    let files = [
        include_str!("../../templates/camera_maintenance.json"),
        include_str!("../../templates/recorder_health.json"),
        include_str!("../../templates/site_survey.json"),
        include_str!("../../templates/camera_commissioning.json"),
        include_str!("../../templates/fault_form.json"),
    ];
    for (file, t) in files.iter().zip(builtin_templates()) {
        let raw: Value = serde_json::from_str(file).unwrap();
        assert_eq!(
            floats(serde_json::to_value(&t).unwrap()),
            floats(raw),
            "{}",
            t.key
        );
    }
}

#[test]
fn builtin_recorder_check_asks_days_in_gun() {
    let t = builtin_templates()
        .into_iter()
        .find(|t| t.key == "recorder_health")
        .unwrap();
    assert!(t.items().any(|i| matches!(
        &i.kind,
        ItemKind::Number { unit, integer: true, .. } if unit == "gün"
    )));
}

/// Raw answers a technician's tablet might hold: valid and invalid values
/// of every shape.
fn value_pool() -> Vec<Value> {
    let photo = json!({"sha256": "ab".repeat(32), "width": 10, "height": 10});
    vec![
        Value::Null,
        json!(true),
        json!(false),
        json!(""),
        json!("pass"),
        json!("fail"),
        json!("na"),
        json!("poe"),
        json!("x"),
        json!(10),
        json!(10.5),
        json!(-3),
        json!(500),
        json!("2024-02-29"),
        json!("2023-02-29"),
        json!([]),
        json!(["bay_2"]),
        json!(["bay_2", "bay_2"]),
        json!([photo]),
        json!([photo, photo]),
        json!({"signer": "Ali", "signed_at_ms": 1, "image_sha256": "cd".repeat(32)}),
        json!({"a": 1}),
        json!([1, 2]),
    ]
}

fn arbitrary_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        "[a-z_0-9 ]{0,12}".prop_map(Value::from),
        Just(json!("ab".repeat(32))),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("sha256".to_owned()),
                    Just("width".to_owned()),
                    Just("height".to_owned()),
                    Just("signer".to_owned()),
                    Just("signed_at_ms".to_owned()),
                    Just("image_sha256".to_owned()),
                    "[a-z]{1,4}",
                ],
                inner,
                0..5
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn hidden_items_never_report_errors(
        picks in prop::collection::vec((0usize..15, 0usize..23), 0..20)
    ) {
        let t = base();
        let pool = value_pool();
        let mut ids: Vec<Uuid> = t.items().map(|i| i.id).collect();
        ids.extend([id("98"), id("99"), Uuid::nil()]);
        let answers: BTreeMap<Uuid, Value> = picks
            .into_iter()
            .map(|(i, v)| (ids[i % ids.len()], pool[v % pool.len()].clone()))
            .collect();
        let visible = visible_items(&t, &answers);
        let result = check_completion(&t, &answers);
        for e in result.clone().err().unwrap_or_default() {
            let item = Uuid::parse_str(&e.field).unwrap();
            if t.item(item).is_some() {
                prop_assert!(visible.contains(&item), "{e:?} for a hidden item");
            } else {
                prop_assert_eq!(e.code, ErrorCode::UnknownItem);
            }
        }
        // Dropping the answers to hidden items changes nothing.
        let shown: BTreeMap<Uuid, Value> = answers
            .iter()
            .filter(|(k, _)| visible.contains(k) || t.item(**k).is_none())
            .map(|(k, v)| (*k, v.clone()))
            .collect();
        prop_assert_eq!(check_completion(&t, &shown), result);
    }

    #[test]
    fn canonical_answers_stay_canonical(value in arbitrary_json()) {
        let t = base();
        for item in t.items() {
            if let Ok(v) = check_answer(item, &value) {
                prop_assert_eq!(check_answer(item, &v), Ok(v.clone()), "{}", item.kind.as_str());
            }
        }
    }
}
