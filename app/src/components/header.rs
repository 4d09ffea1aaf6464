//! The top bar. Admin-only links are hidden from other roles with the same
//! permission matrix the server enforces.

use gozcu_shared::{Lang, Permission};
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::components::A;

use crate::api;
use crate::i18n::{tr, use_lang, K};
use crate::session::{can, use_session};

#[component]
pub fn Header() -> impl IntoView {
    let lang = use_lang();
    let session = use_session();
    let can_import = can(Permission::InventoryImport);
    let can_users = can(Permission::UsersManage);
    let user_name = move || {
        session.with(|s| {
            s.as_ref()
                .map(|s| s.user.display_name.clone())
                .unwrap_or_default()
        })
    };
    let role = move || {
        session.with(|s| {
            s.as_ref()
                .map(|s| s.user.role.label(lang.get()))
                .unwrap_or_default()
        })
    };
    let logout = move |_| {
        spawn_local(async move {
            // Even if the server is unreachable the user asked to leave:
            // forget the session locally.
            let _ = api::auth::logout().await;
            session.set(None);
        });
    };
    view! {
        <header class="topbar">
            <a class="brand" href="/">{tr(K::AppName)}</a>
            <nav class="mainnav" aria-label="main">
                <A href="/sites" attr:data-test="nav-sites">{tr(K::NavSites)}</A>
                <A href="/cameras" attr:data-test="nav-cameras">{tr(K::NavCameras)}</A>
                <A href="/recorders" attr:data-test="nav-recorders">{tr(K::NavRecorders)}</A>
                <A href="/switches" attr:data-test="nav-switches">{tr(K::NavSwitches)}</A>
                <Show when=can_import>
                    <A href="/import" attr:data-test="nav-import">{tr(K::NavImport)}</A>
                </Show>
                <A href="/warranty" attr:data-test="nav-warranty">{tr(K::NavWarranty)}</A>
                <Show when=can_users>
                    <A href="/users" attr:data-test="nav-users">{tr(K::NavUsers)}</A>
                </Show>
            </nav>
            <div class="who">
                <span class="user" data-test="user-name">{user_name}</span>
                <span class="role" data-test="user-role">{role}</span>
                <label class="lang">
                    <span class="sr-only">{tr(K::Language)}</span>
                    <select
                        id="lang"
                        data-test="lang"
                        on:change=move |ev| lang.set(if event_target_value(&ev) == "en" { Lang::En } else { Lang::Tr })
                    >
                        <option value="tr" selected=move || lang.get() == Lang::Tr>"Türkçe"</option>
                        <option value="en" selected=move || lang.get() == Lang::En>"English"</option>
                    </select>
                </label>
                <button type="button" id="logout" data-test="logout" on:click=logout>{tr(K::Logout)}</button>
            </div>
        </header>
    }
}
