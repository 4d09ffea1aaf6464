//! Banners for the outcome of an action.

use leptos::prelude::*;

use crate::api::ApiFailure;
use crate::i18n::use_lang;

/// Shows a failure translated from its code, or nothing.
#[component]
pub fn ErrorBanner(#[prop(into)] error: Signal<Option<ApiFailure>>) -> impl IntoView {
    let lang = use_lang();
    move || {
        error.get().map(|e| {
            view! {
                <div class="alert error" role="alert" data-test="error" data-code=e.code().map(|c| c.as_str())>
                    {e.message(lang.get())}
                </div>
            }
        })
    }
}

/// A short confirmation, e.g. "Saved.".
#[component]
pub fn OkBanner(#[prop(into)] message: Signal<Option<String>>) -> impl IntoView {
    move || {
        message
            .get()
            .map(|m| view! { <div class="alert ok" role="status" data-test="ok">{m}</div> })
    }
}
