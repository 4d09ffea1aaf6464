//! Turkish (default) and English UI strings. The language is a signal in
//! the app context and is kept in `localStorage`, so a technician's choice
//! survives reloads; it is also handed to [`crate::api`] for the
//! `Accept-Language` header.

mod strings;

use gloo_storage::{LocalStorage, Storage};
use gozcu_shared::Lang;
use leptos::prelude::*;

pub use strings::{action_label, field_label, t, K};

const STORAGE_KEY: &str = "gozcu.lang";

/// The stored choice, or Turkish.
pub fn stored_lang() -> Lang {
    match LocalStorage::get::<String>(STORAGE_KEY).ok().as_deref() {
        Some("en") => Lang::En,
        _ => Lang::Tr,
    }
}

pub fn store_lang(lang: Lang) {
    // A full or disabled storage only loses the preference; the UI still
    // switches for this visit.
    let _ = LocalStorage::set(STORAGE_KEY, lang.code());
}

/// The language signal provided at the root of the app.
#[derive(Clone, Copy)]
pub struct LangCtx(pub RwSignal<Lang>);

pub fn use_lang() -> RwSignal<Lang> {
    expect_context::<LangCtx>().0
}

/// A reactive translation, for use inside `view!`.
pub fn tr(k: K) -> impl Fn() -> &'static str + Copy + Send + Sync + 'static {
    let lang = use_lang();
    move || t(lang.get(), k)
}

/// Formats Unix milliseconds as a local date and time in the UI language,
/// using the browser's calendar so the wasm needs no date library.
pub fn format_ms(ms: i64, lang: Lang) -> String {
    let d = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms as f64));
    let locale = match lang {
        Lang::Tr => "tr-TR",
        Lang::En => "en-GB",
    };
    d.to_locale_string(locale, &wasm_bindgen::JsValue::UNDEFINED)
        .into()
}
