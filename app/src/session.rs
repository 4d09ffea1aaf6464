//! The root of the app: language and session contexts, start-up session
//! restore, and the router. Pages read the session through [`use_session`]
//! and ask [`can`] before showing a button; the server enforces the same
//! matrix, so hiding is only about not offering what would be refused.

use gozcu_shared::api::SessionInfo;
use gozcu_shared::inventory::{DeviceKind, Site};
use gozcu_shared::Permission;
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::components::{Redirect, Route, Router, Routes};
use leptos_router::path;

use crate::api::{self, ApiFailure};
use crate::components::header::Header;
use crate::i18n::{self, tr, LangCtx, K};
use crate::routes;

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
    let booting = RwSignal::new(true);
    // An expired session anywhere sends the user back to the login form
    // instead of leaving every page showing "log in" errors.
    api::on_unauthenticated(move || {
        if session.with_untracked(Option::is_some) {
            session.set(None);
        }
    });
    spawn_local(async move {
        if let Ok(s) = api::auth::me().await {
            session.set(Some(s));
        }
        booting.set(false);
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
