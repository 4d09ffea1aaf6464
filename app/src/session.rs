//! The root of the app: language, session and sync contexts, start-up
//! session restore (from the server, or from the offline login when the
//! server cannot be reached), and the router. Pages read the session through
//! [`use_session`] and ask [`can`] before showing a button; the server
//! enforces the same matrix, so hiding is only about not offering what would
//! be refused.

use gozcu_shared::api::SessionInfo;
use gozcu_shared::inventory::{DeviceKind, Site};
use gozcu_shared::Permission;
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::components::{Redirect, Route, Router, Routes};
use leptos_router::path;

use crate::api::{self, ApiFailure};
use crate::components::header::Header;
use crate::components::reauth::ReauthPrompt;
use crate::components::update::UpdateBanner;
use crate::i18n::{self, tr, LangCtx, K};
use crate::routes;
use crate::sync::{self, engine, SyncSignals};

/// How long the start waits for the server before working offline.
const BOOT_TIMEOUT_MS: u64 = 6_000;

#[derive(Clone, Copy)]
pub struct SessionCtx(pub RwSignal<Option<SessionInfo>>);

pub fn use_session() -> RwSignal<Option<SessionInfo>> {
    expect_context::<SessionCtx>().0
}

/// Whether the logged-in user's role allows `p`; reactive.
pub fn can(p: Permission) -> impl Fn() -> bool + Copy + Send + Sync + 'static {
    let session = use_session();
    move || session.with(|s| s.as_ref().is_some_and(|s| s.user.role.allows(p)))
}

/// The sites the user may see, loaded once per login and reloaded after a
/// site is added. Most pages need them for selects and for site names.
#[derive(Clone, Copy)]
pub struct SitesCtx(pub LocalResource<Result<Vec<Site>, ApiFailure>>);

pub fn use_sites() -> LocalResource<Result<Vec<Site>, ApiFailure>> {
    expect_context::<SitesCtx>().0
}

/// The sites as `(id, name)` options, empty while loading or on error.
pub fn site_options() -> impl Fn() -> Vec<(String, String)> + Copy + Send + Sync + 'static {
    let sites = use_sites();
    move || {
        sites
            .get()
            .and_then(Result::ok)
            .unwrap_or_default()
            .into_iter()
            .map(|s| (s.id.to_string(), s.name))
            .collect()
    }
}

#[component]
pub fn App() -> impl IntoView {
    let lang = RwSignal::new(i18n::stored_lang());
    provide_context(LangCtx(lang));
    Effect::new(move |_| {
        let l = lang.get();
        api::set_lang(l);
        i18n::store_lang(l);
        // Screen readers and the browser's hyphenation follow <html lang>.
        if let Some(html) = document().document_element() {
            let _ = html.set_attribute("lang", l.code());
        }
    });
    api::set_lang(lang.get_untracked());

    let session = RwSignal::new(None::<SessionInfo>);
    provide_context(SessionCtx(session));
    let signals = SyncSignals::new();
    provide_context(signals);
    sync::install(signals);
    let booting = RwSignal::new(true);
    // An expired session no longer throws the user out: the page (and any
    // half-filled form) stays, and a password prompt appears; the outbox is
    // pushed once the user has logged in again.
    api::on_unauthenticated(move || {
        if session.with_untracked(Option::is_some) {
            signals.reauth.set(true);
        }
    });
    // Whether the session being set was confirmed by the server just now
    // (false for an offline start from the stored login).
    let confirmed = StoredValue::new(true);
    Effect::new(move |_| {
        let s = session.get();
        sync::login::set_current(s.clone());
        match s {
            Some(s) => {
                let online = confirmed.get_value();
                confirmed.set_value(true);
                crate::photos::uploader::start(s.user.id);
                spawn_local(async move {
                    if let Err(e) = engine::start(&s, online).await {
                        leptos::logging::error!("cannot open the offline store: {e}");
                    }
                });
            }
            None => {
                engine::stop();
                crate::photos::uploader::stop();
            }
        }
    });
    // The browser's own idea of the network is a hint worth acting on.
    let online_listener = window_event_listener(leptos::ev::online, move |_| {
        engine::sync_now();
        crate::photos::uploader::kick();
    });
    let offline_listener = window_event_listener(leptos::ev::offline, move |_| {
        signals.status.update(|s| s.online = false);
    });
    on_cleanup(move || {
        online_listener.remove();
        offline_listener.remove();
    });
    // At start the server decides, unless it does not answer in time: on a
    // hanging link (a captive portal, one bar of signal) the app must not
    // sit on "Loading" when it could work from its replica. A late answer
    // still upgrades an offline start to a confirmed session.
    let decided = StoredValue::new(false);
    let start_offline = move || {
        spawn_local(async move {
            if let Some(s) = sync::login::offline_session().await {
                if session.with_untracked(Option::is_none) {
                    api::set_csrf(Some(s.csrf_token.clone()));
                    confirmed.set_value(false);
                    signals.status.update(|st| st.online = false);
                    session.set(Some(s));
                }
            }
            booting.set(false);
        });
    };
    spawn_local(async move {
        let answer = api::auth::me().await;
        let first = !decided.get_value();
        decided.set_value(true);
        match answer {
            Ok(s) => {
                signals.status.update(|st| st.online = true);
                session.set(Some(s));
                booting.set(false);
            }
            // No answer from the server: work offline with the stored login.
            Err(ApiFailure::Network(_)) if first => start_offline(),
            Err(_) if first => booting.set(false),
            Err(_) => {}
        }
    });
    spawn_local(async move {
        gloo_timers::future::sleep(std::time::Duration::from_millis(BOOT_TIMEOUT_MS)).await;
        if !decided.get_value() {
            decided.set_value(true);
            start_offline();
        }
    });
    let logged_in = Memo::new(move |_| session.with(Option::is_some));

    view! {
        <Router>
            {move || {
                if booting.get() {
                    view! { <p class="boot" data-test="booting">{tr(K::Loading)}</p> }.into_any()
                } else if logged_in.get() {
                    view! { <Shell/> }.into_any()
                } else {
                    view! { <routes::login::LoginPage/> }.into_any()
                }
            }}
        </Router>
    }
}

/// Everything behind the login.
#[component]
fn Shell() -> impl IntoView {
    let sites = LocalResource::new(api::sites::list);
    provide_context(SitesCtx(sites));
    view! {
        <Header/>
        <UpdateBanner/>
        <ReauthPrompt/>
        <main id="main">
            <Routes fallback=|| view! { <p class="empty">{tr(K::NotFoundPage)}</p> }>
                <Route path=path!("/") view=|| view! { <Redirect path="/cameras"/> }/>
                <Route path=path!("/login") view=|| view! { <Redirect path="/cameras"/> }/>
                <Route path=path!("/sites") view=routes::sites::SitesPage/>
                <Route path=path!("/cameras") view=|| view! { <routes::devices::DeviceListPage kind=DeviceKind::Camera/> }/>
                <Route path=path!("/cameras/:id") view=|| view! { <routes::device_edit::DevicePage kind=DeviceKind::Camera/> }/>
                <Route path=path!("/cameras/:id/history") view=|| view! { <routes::history::HistoryPage kind=DeviceKind::Camera/> }/>
                <Route path=path!("/recorders") view=|| view! { <routes::devices::DeviceListPage kind=DeviceKind::Recorder/> }/>
                <Route path=path!("/recorders/:id") view=|| view! { <routes::device_edit::DevicePage kind=DeviceKind::Recorder/> }/>
                <Route path=path!("/recorders/:id/history") view=|| view! { <routes::history::HistoryPage kind=DeviceKind::Recorder/> }/>
                <Route path=path!("/switches") view=|| view! { <routes::devices::DeviceListPage kind=DeviceKind::Switch/> }/>
                <Route path=path!("/switches/:id") view=|| view! { <routes::device_edit::DevicePage kind=DeviceKind::Switch/> }/>
                <Route path=path!("/switches/:id/history") view=|| view! { <routes::history::HistoryPage kind=DeviceKind::Switch/> }/>
                <Route path=path!("/import") view=routes::import::ImportPage/>
                <Route path=path!("/warranty") view=routes::warranty::WarrantyPage/>
                <Route path=path!("/users") view=routes::users::UsersPage/>
                <Route path=path!("/sync") view=routes::sync::SyncPage/>
                <Route path=path!("/runs/:id") view=routes::checklists::RunPage/>
                <Route path=path!("/scan") view=routes::scan::ScanPage/>
                <Route path=path!("/faults") view=routes::faults::FaultsPage/>
                <Route path=path!("/faults/:id") view=routes::faults::FaultPage/>
                <Route path=path!("/maintenance/:tab?") view=routes::maintenance::MaintenancePage/>
            </Routes>
        </main>
    }
}

/// The URL segment of a device kind's pages and API collection.
pub fn kind_path(kind: DeviceKind) -> &'static str {
    match kind {
        DeviceKind::Camera => "cameras",
        DeviceKind::Recorder => "recorders",
        DeviceKind::Switch => "switches",
    }
}
