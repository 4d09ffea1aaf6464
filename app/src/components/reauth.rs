//! The password prompt shown when the server answers 401 while the user is
//! working (the session expired, typically after days offline). The page
//! and its forms stay where they are; once the user has logged in again,
//! the outbox is pushed. Nothing local is cleared.

use gozcu_shared::api::LoginRequest;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api::{self, ApiFailure};
use crate::components::alert::ErrorBanner;
use crate::i18n::{field_label, tr, use_lang, K};
use crate::session::use_session;
use crate::sync::{engine, use_sync};

#[component]
pub fn ReauthPrompt() -> impl IntoView {
    let lang = use_lang();
    let session = use_session();
    let sync = use_sync();
    let password = RwSignal::new(String::new());
    let error = RwSignal::new(None::<ApiFailure>);
    let busy = RwSignal::new(false);
    let username = move || {
        session.with(|s| {
            s.as_ref()
                .map(|s| s.user.username.clone())
                .unwrap_or_default()
        })
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        error.set(None);
        let req = LoginRequest {
            username: username(),
            password: password.get_untracked(),
        };
        spawn_local(async move {
            match api::auth::login(&req).await {
                Ok(s) => {
                    password.set(String::new());
                    sync.reauth.set(false);
                    // Same user: the replica stays open; the new session is
                    // remembered for offline starts and the outbox is pushed.
                    session.set(Some(s));
                    engine::sync_now();
                }
                Err(e) => error.set(Some(e)),
            }
            busy.set(false);
        });
    };
    view! {
        <Show when=move || sync.reauth.get()>
            <div class="modal-backdrop">
                <form class="card modal" id="reauth-form" data-test="reauth" on:submit=submit>
                    <p>{tr(K::SessionExpired)}</p>
                    <ErrorBanner error=error/>
                    <div class="field">
                        <label for="reauth-username">{move || field_label(lang.get(), "username")}</label>
                        <input id="reauth-username" name="username" autocomplete="username" readonly prop:value=username/>
                    </div>
                    <div class="field">
                        <label for="reauth-password">{move || field_label(lang.get(), "password")}</label>
                        <input
                            id="reauth-password"
                            name="password"
                            type="password"
                            autocomplete="current-password"
                            prop:value=password
                            on:input=move |ev| password.set(event_target_value(&ev))
                            on:change=move |ev| password.set(event_target_value(&ev))
                        />
                    </div>
                    <button type="submit" class="primary" id="reauth-submit" disabled=busy>{tr(K::LoginButton)}</button>
                </form>
            </div>
        </Show>
    }
}
