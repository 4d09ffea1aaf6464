//! The only code in the app that talks to the network. Every read and every
//! request goes through a typed function of one of the submodules. Inventory
//! changes do not call the device endpoints directly any more: they go
//! through [`crate::sync`] (outbox first), which pushes them with [`sync`].
//!
//! Layout:
//! - [`auth`]: login, logout, the current session.
//! - [`sites`]: sites, buildings, locations and the site tree.
//! - [`cameras`], [`recorders`], [`switches`]: the device inventories.
//! - [`warranty`]: expiring warranties and their acknowledgement.
//! - [`users`]: user administration.
//! - [`photos`]: the resumable photo upload.
//! - [`sync`]: the offline sync's push and pull.
//! - [`faults`]: the fault workflow, edits and assignees (online only).
//! - [`maintenance`]: the maintenance due list, calendar and schedules.

pub mod auth;
pub mod cameras;
pub mod checklists;
mod devices;
pub mod faults;
pub mod maintenance;
pub mod photos;
pub mod recorders;
pub mod sites;
pub mod switches;
pub mod sync;
pub mod users;
pub mod warranty;

use std::cell::{Cell, RefCell};

use gloo_net::http::{Request, RequestBuilder, Response};
use gozcu_shared::{ApiError, ErrorCode, Lang};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// Every API path starts here; the server serves the app and the API on the
/// same origin, so a relative path keeps cookies and CSRF simple.
pub const BASE: &str = "/api/v1";

/// Why a call failed: either the server answered with its error body, or the
/// request never got a usable answer (offline, proxy error page, bad JSON).
#[derive(Debug, Clone, PartialEq)]
pub enum ApiFailure {
    Api { status: u16, error: ApiError },
    Network(String),
}

impl ApiFailure {
    /// The error code, when the server sent one.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            ApiFailure::Api { error, .. } => Some(error.code),
            ApiFailure::Network(_) => None,
        }
    }

    /// Field errors of a 409/422, to be shown next to their inputs.
    pub fn fields(&self) -> Vec<gozcu_shared::FieldError> {
        match self {
            ApiFailure::Api { error, .. } => error.fields.clone(),
            ApiFailure::Network(_) => Vec::new(),
        }
    }

    /// A message in the user's language. The server's own `message` is never
    /// shown: the app translates the stable code itself.
    pub fn message(&self, lang: Lang) -> String {
        match self {
            ApiFailure::Api { error, .. } => error.code.message(lang).to_owned(),
            ApiFailure::Network(_) => {
                crate::i18n::t(lang, crate::i18n::K::NeedsConnection).to_owned()
            }
        }
    }
}

thread_local! {
    /// The CSRF token of the current session; sent on every mutation.
    static CSRF: RefCell<Option<String>> = const { RefCell::new(None) };
    /// The UI language, sent as `Accept-Language` so that server-side texts
    /// (e.g. a CSV export's headers in the future) follow the user's choice.
    static LANG: Cell<Lang> = const { Cell::new(Lang::Tr) };
    /// Called when the server says the session is gone, so that the app can
    /// show the login page instead of a page full of errors.
    static ON_UNAUTHENTICATED: RefCell<Option<Box<dyn Fn()>>> = const { RefCell::new(None) };
}

pub fn set_csrf(token: Option<String>) {
    CSRF.with(|c| *c.borrow_mut() = token);
}

pub fn set_lang(lang: Lang) {
    LANG.with(|l| l.set(lang));
}

pub fn on_unauthenticated(f: impl Fn() + 'static) {
    ON_UNAUTHENTICATED.with(|h| *h.borrow_mut() = Some(Box::new(f)));
}

fn common(b: RequestBuilder) -> RequestBuilder {
    let lang = LANG.with(|l| l.get());
    b.header("Accept", "application/json")
        .header("Accept-Language", lang.code())
}

/// Mutations also carry the CSRF token.
fn mutation(b: RequestBuilder) -> RequestBuilder {
    let b = common(b);
    match CSRF.with(|c| c.borrow().clone()) {
        Some(token) => b.header("X-CSRF-Token", &token),
        None => b,
    }
}

fn net(e: impl std::fmt::Display) -> ApiFailure {
    ApiFailure::Network(e.to_string())
}

/// Turns a non-2xx answer into an [`ApiFailure`]. A body that is not our
/// error JSON (a reverse proxy's HTML page, say) becomes a network failure
/// rather than a guess.
async fn failure(resp: Response) -> ApiFailure {
    let status = resp.status();
    match resp.json::<ApiError>().await {
        Ok(error) => {
            if error.code == ErrorCode::Unauthenticated {
                ON_UNAUTHENTICATED.with(|h| {
                    if let Some(f) = h.borrow().as_ref() {
                        f();
                    }
                });
            }
            ApiFailure::Api { status, error }
        }
        Err(_) => ApiFailure::Network(format!("HTTP {status}")),
    }
}

async fn send(req: Request) -> Result<Response, ApiFailure> {
    let resp = req.send().await.map_err(net)?;
    if resp.ok() {
        Ok(resp)
    } else {
        Err(failure(resp).await)
    }
}

async fn json<T: DeserializeOwned>(resp: Response) -> Result<T, ApiFailure> {
    resp.json::<T>().await.map_err(net)
}

pub(crate) async fn get<T: DeserializeOwned>(
    path: &str,
    query: &[(&str, String)],
) -> Result<T, ApiFailure> {
    let b = common(Request::get(&format!("{BASE}{path}")));
    let b = if query.is_empty() {
        b
    } else {
        b.query(query.iter().map(|(k, v)| (*k, v.as_str())))
    };
    json(send(b.build().map_err(net)?).await?).await
}

pub(crate) async fn post<B: Serialize, T: DeserializeOwned>(
    path: &str,
    body: &B,
) -> Result<T, ApiFailure> {
    let req = mutation(Request::post(&format!("{BASE}{path}")))
        .json(body)
        .map_err(net)?;
    json(send(req).await?).await
}

pub(crate) async fn put<B: Serialize, T: DeserializeOwned>(
    path: &str,
    body: &B,
) -> Result<T, ApiFailure> {
    let req = mutation(Request::put(&format!("{BASE}{path}")))
        .json(body)
        .map_err(net)?;
    json(send(req).await?).await
}

/// A `PUT` whose answer is `204 No Content`.
pub(crate) async fn put_no_content<B: Serialize>(path: &str, body: &B) -> Result<(), ApiFailure> {
    let req = mutation(Request::put(&format!("{BASE}{path}")))
        .json(body)
        .map_err(net)?;
    send(req).await.map(|_| ())
}

/// A `POST` whose answer is `204 No Content`.
pub(crate) async fn post_no_content<B: Serialize>(path: &str, body: &B) -> Result<(), ApiFailure> {
    let req = mutation(Request::post(&format!("{BASE}{path}")))
        .json(body)
        .map_err(net)?;
    send(req).await.map(|_| ())
}

/// A `POST` without a body that answers with JSON (e.g. a credential reveal).
pub(crate) async fn post_empty<T: DeserializeOwned>(path: &str) -> Result<T, ApiFailure> {
    let req = mutation(Request::post(&format!("{BASE}{path}")))
        .build()
        .map_err(net)?;
    json(send(req).await?).await
}

/// A `DELETE` whose answer is `204 No Content`.
pub(crate) async fn delete(path: &str) -> Result<(), ApiFailure> {
    let req = mutation(Request::delete(&format!("{BASE}{path}")))
        .build()
        .map_err(net)?;
    send(req).await.map(|_| ())
}
