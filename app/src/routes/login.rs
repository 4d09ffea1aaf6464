//! The login form, shown instead of any page while nobody is logged in.

use gozcu_shared::api::LoginRequest;
use gozcu_shared::Lang;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api::{self, ApiFailure};
use crate::components::alert::ErrorBanner;
use crate::i18n::{field_label, tr, use_lang, K};
use crate::session::use_session;

#[component]
pub fn LoginPage() -> impl IntoView {
    let lang = use_lang();
    let session = use_session();
    let username = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let error = RwSignal::new(None::<ApiFailure>);
    let busy = RwSignal::new(false);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        error.set(None);
        let req = LoginRequest {
            username: username.get_untracked().trim().to_owned(),
            password: password.get_untracked(),
        };
        spawn_local(async move {
            match api::auth::login(&req).await {
                Ok(s) => session.set(Some(s)),
                Err(e) => {
                    error.set(Some(e));
                    busy.set(false);
                }
            }
        });
    };
    view! {
        <main class="login-page">
            <form class="card login" id="login-form" data-test="login-form" on:submit=submit>
                <h1>{tr(K::AppName)}</h1>
                <h2>{tr(K::LoginTitle)}</h2>
                <ErrorBanner error=error/>
                <div class="field">
                    <label for="username">{move || field_label(lang.get(), "username")}</label>
                    <input id="username" name="username" autocomplete="username" required prop:value=username on:input=move |ev| username.set(event_target_value(&ev)) on:change=move |ev| username.set(event_target_value(&ev))/>
                </div>
                <div class="field">
                    <label for="password">{move || field_label(lang.get(), "password")}</label>
                    <input
                        id="password"
                        name="password"
                        type="password"
                        autocomplete="current-password"
                        required
                        prop:value=password
                        on:input=move |ev| password.set(event_target_value(&ev))
                        // Password managers may fill the field with only a `change` event.
                        on:change=move |ev| password.set(event_target_value(&ev))
                    />
                </div>
                <button id="login-submit" class="primary" type="submit" disabled=busy>{tr(K::LoginButton)}</button>
                <p class="lang-switch">
                    <button type="button" class="link" data-test="lang-tr" on:click=move |_| lang.set(Lang::Tr)>"Türkçe"</button>
                    " · "
                    <button type="button" class="link" data-test="lang-en" on:click=move |_| lang.set(Lang::En)>"English"</button>
                </p>
            </form>
        </main>
    }
}
