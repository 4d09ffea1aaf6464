//! "A new version is ready": the service worker installs a new app shell in
//! the background and waits; `index.html` announces it with a
//! `gozcu-update` event (and `window.gozcuUpdateReady`). The app only
//! switches when the user clicks, and warns first when a form on the page
//! has unsaved input (`form[data-dirty=true]`), so a reload never eats a
//! half-filled form unasked. Saved changes are safe anyway: they are in
//! IndexedDB before the UI says "saved".

use leptos::prelude::*;
use wasm_bindgen::{JsCast, JsValue};

use crate::i18n::{t, tr, use_lang, K};

fn flag_set() -> bool {
    js_sys::Reflect::get(&window(), &JsValue::from_str("gozcuUpdateReady"))
        .map(|v| v.is_truthy())
        .unwrap_or(false)
}

fn has_dirty_form() -> bool {
    document()
        .query_selector("form[data-dirty='true']")
        .ok()
        .flatten()
        .is_some()
}

fn apply_update() {
    let f = js_sys::Reflect::get(&window(), &JsValue::from_str("gozcuApplyUpdate"));
    match f.ok().and_then(|f| f.dyn_into::<js_sys::Function>().ok()) {
        Some(f) => {
            let _ = f.call0(&JsValue::NULL);
        }
        None => {
            let _ = window().location().reload();
        }
    }
}

#[component]
pub fn UpdateBanner() -> impl IntoView {
    let lang = use_lang();
    let ready = RwSignal::new(flag_set());
    let listener = window_event_listener_untyped("gozcu-update", move |_| ready.set(true));
    on_cleanup(move || listener.remove());
    let reload = move |_| {
        if has_dirty_form()
            && !window()
                .confirm_with_message(t(lang.get_untracked(), K::UnsavedForm))
                .unwrap_or(false)
        {
            return;
        }
        apply_update();
    };
    view! {
        <Show when=move || ready.get()>
            <div class="update-banner alert ok" role="status" data-test="update-available">
                {tr(K::UpdateAvailable)}" "
                <button type="button" class="primary" data-test="update-reload" on:click=reload>{tr(K::Reload)}</button>
            </div>
        </Show>
    }
}
