//! Form state and fields with inline validation.
//!
//! A form holds what the user typed as text, keyed by the record's wire
//! field names, so the same name links an input, the shared `normalize()`
//! errors and the server's `FieldError`s. Local errors appear once a field
//! has been edited (or after a submit attempt), so an empty new form is not
//! covered in red; server errors appear at once and disappear when the user
//! edits that field.

use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet};

use gozcu_shared::{ErrorCode, FieldError};
use leptos::prelude::*;

use crate::i18n::{field_label, tr, use_lang, K};

pub type Values = BTreeMap<String, String>;

#[derive(Clone, Copy)]
pub struct Form {
    pub values: RwSignal<Values>,
    touched: RwSignal<BTreeSet<String>>,
    pub submitted: RwSignal<bool>,
    pub server: RwSignal<Vec<FieldError>>,
    local: Memo<Vec<FieldError>>,
    /// Fields that have an input on the page; server errors for any other
    /// field are listed above the form so none is lost.
    shown: StoredValue<BTreeSet<String>>,
    /// Makes input ids unique when several forms share a page (the sites
    /// page has three forms with a `name` field). Tests select inputs by
    /// `#form-id [name=field]`, which does not depend on this number.
    uid: u32,
}

thread_local! {
    static NEXT_UID: Cell<u32> = const { Cell::new(0) };
}

impl Form {
    /// `validate` turns the typed text into field errors, normally by
    /// building the record and calling its shared `normalize()`.
    pub fn new(initial: Values, validate: fn(&Values) -> Vec<FieldError>) -> Form {
        let values = RwSignal::new(initial);
        Form {
            values,
            touched: RwSignal::new(BTreeSet::new()),
            submitted: RwSignal::new(false),
            server: RwSignal::new(Vec::new()),
            local: Memo::new(move |_| values.with(validate)),
            shown: StoredValue::new(BTreeSet::new()),
            uid: NEXT_UID.with(|n| {
                n.set(n.get() + 1);
                n.get()
            }),
        }
    }

    pub fn get(&self, field: &str) -> String {
        self.values
            .with(|v| v.get(field).cloned().unwrap_or_default())
    }

    pub fn set(&self, field: &str, value: String) {
        self.values.update(|v| {
            v.insert(field.to_owned(), value);
        });
        self.touched.update(|t| {
            t.insert(field.to_owned());
        });
        if self
            .server
            .with_untracked(|s| s.iter().any(|e| e.field == field))
        {
            self.server.update(|s| s.retain(|e| e.field != field));
        }
    }

    /// Replaces every value, e.g. after loading a record or saving one.
    pub fn reset(&self, values: Values) {
        self.values.set(values);
        self.touched.set(BTreeSet::new());
        self.submitted.set(false);
        self.server.set(Vec::new());
    }

    /// The errors to show next to `field`: local ones once relevant, and
    /// the server's.
    pub fn errors_for(&self, field: &str) -> Vec<ErrorCode> {
        let show_local = self.submitted.get() || self.touched.with(|t| t.contains(field));
        let mut out: Vec<ErrorCode> = Vec::new();
        if show_local {
            self.local
                .with(|l| out.extend(l.iter().filter(|e| e.field == field).map(|e| e.code)));
        }
        self.server
            .with(|s| out.extend(s.iter().filter(|e| e.field == field).map(|e| e.code)));
        out.dedup();
        out
    }

    /// Whether the user has typed anything since the form was loaded or
    /// saved; reactive. A reload offered by the update banner asks first.
    pub fn is_dirty(&self) -> bool {
        self.touched.with(|t| !t.is_empty())
    }

    /// Marks the form as submitted and says whether it may be sent.
    pub fn check(&self) -> bool {
        self.submitted.set(true);
        self.local.with_untracked(Vec::is_empty)
    }

    /// Whether the typed values break any local rule; reactive.
    pub fn has_local_errors(&self) -> bool {
        self.local.with(|l| !l.is_empty())
    }

    /// Server field errors that no input on the page shows.
    pub fn orphan_errors(&self) -> Vec<FieldError> {
        let shown = self.shown.get_value();
        self.server.with(|s| {
            s.iter()
                .filter(|e| !shown.contains(&e.field))
                .cloned()
                .collect()
        })
    }

    fn input_id(&self, field: &str) -> String {
        format!("f{}-{field}", self.uid)
    }

    fn register(&self, field: &str) {
        self.shown.update_value(|s| {
            s.insert(field.to_owned());
        });
    }
}

/// The translated errors of one field.
#[component]
pub fn FieldErrors(form: Form, field: &'static str) -> impl IntoView {
    let lang = use_lang();
    move || {
        form.errors_for(field)
            .into_iter()
            .map(|code| {
                view! { <p class="field-error" data-test="field-error" data-field=field data-code=code.as_str()>{code.message(lang.get())}</p> }
            })
            .collect_view()
    }
}

/// A labelled text input. `input_type` is the HTML type (`text`, `date`,
/// `number`, `password`…).
#[component]
pub fn TextField(
    form: Form,
    field: &'static str,
    #[prop(default = "text")] input_type: &'static str,
    #[prop(optional)] required: bool,
    #[prop(optional)] placeholder: &'static str,
    #[prop(optional)] autocomplete: &'static str,
) -> impl IntoView {
    form.register(field);
    let lang = use_lang();
    let id = form.input_id(field);
    let invalid = move || !form.errors_for(field).is_empty();
    view! {
        <div class="field" class:invalid=invalid>
            <label for=id.clone()>{move || field_label(lang.get(), field)}{required.then_some(" *")}</label>
            <input
                id=id
                name=field
                type=input_type
                placeholder=placeholder
                autocomplete=if autocomplete.is_empty() { "off" } else { autocomplete }
                aria-invalid=move || invalid().to_string()
                prop:value=move || form.get(field)
                on:input=move |ev| form.set(field, event_target_value(&ev))
                // Autofill and programmatic clearing may fire only `change`.
                on:change=move |ev| form.set(field, event_target_value(&ev))
            />
            <FieldErrors form field/>
        </div>
    }
}

/// A labelled multi-line input.
#[component]
pub fn TextArea(form: Form, field: &'static str) -> impl IntoView {
    form.register(field);
    let lang = use_lang();
    let id = form.input_id(field);
    view! {
        <div class="field wide" class:invalid=move || !form.errors_for(field).is_empty()>
            <label for=id.clone()>{move || field_label(lang.get(), field)}</label>
            <textarea id=id name=field rows="3" prop:value=move || form.get(field) on:input=move |ev| form.set(field, event_target_value(&ev)) on:change=move |ev| form.set(field, event_target_value(&ev))></textarea>
            <FieldErrors form field/>
        </div>
    }
}

/// A labelled select. `options` are `(value, label)`; the empty value is
/// offered first as "choose" (required) or "none" (optional).
#[component]
pub fn SelectField(
    form: Form,
    field: &'static str,
    #[prop(into)] options: Signal<Vec<(String, String)>>,
    #[prop(optional)] required: bool,
) -> impl IntoView {
    form.register(field);
    let lang = use_lang();
    let id = form.input_id(field);
    let empty_label = tr(if required { K::Choose } else { K::None });
    view! {
        <div class="field" class:invalid=move || !form.errors_for(field).is_empty()>
            <label for=id.clone()>{move || field_label(lang.get(), field)}{required.then_some(" *")}</label>
            <select id=id name=field on:change=move |ev| form.set(field, event_target_value(&ev))>
                <option value="" selected=move || form.get(field).is_empty()>{empty_label}</option>
                {move || {
                    let current = form.get(field);
                    options
                        .get()
                        .into_iter()
                        .map(|(value, label)| {
                            let selected = value == current;
                            view! { <option value=value selected=selected>{label}</option> }
                        })
                        .collect_view()
                }}
            </select>
            <FieldErrors form field/>
        </div>
    }
}

/// A labelled checkbox stored as `"true"` or `""`.
#[component]
pub fn CheckField(form: Form, field: &'static str) -> impl IntoView {
    form.register(field);
    let lang = use_lang();
    let id = form.input_id(field);
    view! {
        <div class="field check">
            <input
                id=id.clone()
                name=field
                type="checkbox"
                prop:checked=move || form.get(field) == "true"
                on:change=move |ev| form.set(field, if event_target_checked(&ev) { "true".into() } else { String::new() })
            />
            <label for=id>{move || field_label(lang.get(), field)}</label>
            <FieldErrors form field/>
        </div>
    }
}

/// Server field errors that have no input on the page.
#[component]
pub fn OrphanErrors(form: Form) -> impl IntoView {
    let lang = use_lang();
    move || {
        let errs = form.orphan_errors();
        (!errs.is_empty()).then(|| {
            view! {
                <ul class="alert error orphan">
                    {errs
                        .into_iter()
                        .map(|e| view! { <li>{field_label(lang.get(), &e.field)}": "{e.code.message(lang.get())}</li> })
                        .collect_view()}
                </ul>
            }
        })
    }
}

/// Text → optional number for a form value: empty is `None`, anything else
/// must parse or becomes an `invalid_number` error on that field.
pub fn opt_number<T: std::str::FromStr>(
    v: &Values,
    field: &str,
    errors: &mut Vec<FieldError>,
) -> Option<T> {
    let s = v.get(field).map(|s| s.trim()).unwrap_or("");
    if s.is_empty() {
        return None;
    }
    match s.replace(',', ".").parse() {
        Ok(n) => Some(n),
        Err(_) => {
            errors.push(FieldError::new(field, ErrorCode::InvalidNumber));
            None
        }
    }
}

/// Text → optional text: empty is `None`. Trimming and length checks are
/// left to the shared `normalize()`.
pub fn opt_text(v: &Values, field: &str) -> Option<String> {
    v.get(field).filter(|s| !s.trim().is_empty()).cloned()
}

pub fn text(v: &Values, field: &str) -> String {
    v.get(field).cloned().unwrap_or_default()
}

/// Text → optional UUID from a select; an empty choice is `None`.
pub fn opt_uuid(v: &Values, field: &str) -> Option<uuid::Uuid> {
    v.get(field).and_then(|s| uuid::Uuid::parse_str(s).ok())
}

pub fn put(v: &mut Values, field: &str, value: impl ToString) {
    v.insert(field.to_owned(), value.to_string());
}

pub fn put_opt(v: &mut Values, field: &str, value: Option<impl ToString>) {
    v.insert(
        field.to_owned(),
        value.map(|x| x.to_string()).unwrap_or_default(),
    );
}
