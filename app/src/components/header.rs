//! The top bar. Admin-only links are hidden from other roles with the same
//! permission matrix the server enforces. It also shows the sync state
//! (online or not, unsent changes, last sync, conflicts and rejections) and
//! guards logging out with unsent changes.

use gozcu_shared::{Lang, Permission};
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::components::A;

use crate::api;
use crate::i18n::{format_ms, t, tr, use_lang, K};
use crate::session::{can, use_session};
use crate::sync::{engine, login, use_sync};

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
    let sync = use_sync();
    // Asking before logging out with unsent changes: they are not lost (the
    // outbox stays in this user's database), but they wait for the next login.
    let confirm_logout = RwSignal::new(false);
    let do_logout = move || {
        confirm_logout.set(false);
        let user = session.with_untracked(|s| s.as_ref().map(|s| s.user.id));
        spawn_local(async move {
            // Even if the server is unreachable the user asked to leave:
            // forget the session locally, and the offline login with it.
            let _ = api::auth::logout().await;
            if let Some(user) = user {
                login::forget(user).await;
            }
            session.set(None);
        });
    };
    let logout = move |_| {
        if sync.status.with_untracked(|s| s.pending > 0) {
            confirm_logout.set(true);
        } else {
            do_logout();
        }
    };
    view! {
        <header class="topbar">
            <a class="brand" href="/">{tr(K::AppName)}</a>
            <nav class="mainnav" aria-label="main">
                <A href="/sites" attr:data-test="nav-sites">{tr(K::NavSites)}</A>
                <A href="/cameras" attr:data-test="nav-cameras">{tr(K::NavCameras)}</A>
                <A href="/recorders" attr:data-test="nav-recorders">{tr(K::NavRecorders)}</A>
                <A href="/switches" attr:data-test="nav-switches">{tr(K::NavSwitches)}</A>
                <A href="/faults" attr:data-test="nav-faults">{tr(K::NavFaults)}</A>
                <Show when=can_import>
                    <A href="/import" attr:data-test="nav-import">{tr(K::NavImport)}</A>
                </Show>
                <A href="/warranty" attr:data-test="nav-warranty">{tr(K::NavWarranty)}</A>
                <A href="/maintenance" attr:data-test="nav-maintenance">{tr(K::NavMaintenance)}</A>
                <A href="/scan" attr:data-test="nav-scan">{tr(K::NavScan)}</A>
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
            <SyncStatus/>
            <crate::photos::PhotoQueueStatus/>
            <Show when=move || confirm_logout.get()>
                <div class="logout-confirm alert warn" role="alertdialog" data-test="logout-confirm">
                    <p>{tr(K::UnsentOnLogout)}</p>
                    <button type="button" class="primary" data-test="logout-sync-first" on:click=move |_| {
                        confirm_logout.set(false);
                        engine::sync_now();
                    }>{tr(K::SyncFirst)}</button>
                    <button type="button" class="danger" data-test="logout-anyway" on:click=move |_| do_logout()>{tr(K::LogoutAnyway)}</button>
                    <button type="button" data-test="logout-cancel" on:click=move |_| confirm_logout.set(false)>{tr(K::Cancel)}</button>
                </div>
            </Show>
        </header>
    }
}

fn attention_class(n: usize) -> &'static str {
    if n > 0 {
        "attention"
    } else {
        ""
    }
}

/// The sync line of the header. Its `data-*` attributes are the test hooks
/// (`data-online`, `data-pending`, `data-conflicts`, `data-rejected`,
/// `data-last-sync`).
#[component]
fn SyncStatus() -> impl IntoView {
    let lang = use_lang();
    let sync = use_sync();
    let st = sync.status;
    let online = move || st.with(|s| s.online);
    let attention = move || st.with(|s| s.conflicts + s.rejected);
    view! {
        <div
            class="sync-status"
            data-test="sync-status"
            data-online=move || online().to_string()
            data-pending=move || st.with(|s| s.pending.to_string())
            data-conflicts=move || st.with(|s| s.conflicts.to_string())
            data-rejected=move || st.with(|s| s.rejected.to_string())
            data-last-sync=move || st.with(|s| s.last_sync_ms.map(|m| m.to_string()).unwrap_or_default())
            data-running=move || st.with(|s| s.running.to_string())
        >
            <span class="net" class:online=online class:offline=move || !online()>
                {move || t(lang.get(), if online() { K::Online } else { K::Offline })}
            </span>
            <span class="pending" class:has=move || st.with(|s| s.pending > 0)>
                {tr(K::UnsentCount)}": "{move || st.with(|s| s.pending)}
            </span>
            <span class="last-sync">
                {tr(K::LastSync)}": "
                {move || st.with(|s| s.last_sync_ms).map(|ms| format_ms(ms, lang.get())).unwrap_or_else(|| t(lang.get(), K::Never).to_owned())}
            </span>
            <button type="button" data-test="sync-now" disabled=move || st.with(|s| s.running) on:click=move |_| engine::sync_now()>
                {move || t(lang.get(), if st.with(|s| s.running) { K::Syncing } else { K::SyncNow })}
            </button>
            <A href="/sync" attr:data-test="nav-sync" attr:class=move || attention_class(attention())>
                {tr(K::NavSync)}
                {move || (attention() > 0).then(|| format!(" ({})", attention()))}
            </A>
            {move || st.with(|s| s.outdated).then(|| view! {
                <span class="outdated" data-test="client-outdated">
                    {tr(K::UpdateApp)}" "
                    <button type="button" on:click=move |_| { let _ = window().location().reload(); }>{tr(K::Reload)}</button>
                </span>
            })}
        </div>
    }
}
