//! The HTTP layer. One table, [`routes`], lists every endpoint with its
//! access rule; the router, the permission guard, the OpenAPI document and the
//! role × route test are all built from it, so an endpoint cannot exist
//! without a permission check or be missing from the API description.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::MethodRouter;
use axum::Router;
use gozcu_shared::api::User;
use gozcu_shared::{ErrorCode, Permission};
use tower_http::services::{ServeDir, ServeFile};
use tower_http::set_header::SetResponseHeaderLayer;
use uuid::Uuid;

use crate::app::App;
use crate::audit::Actor;

pub mod audit;
pub mod auth;
pub mod checklists;
pub mod devices;
pub mod error;
pub mod extract;
pub mod faults;
pub mod import;
pub mod openapi;
pub mod photos;
pub mod reports;
pub mod schedules;
pub mod sites;
pub mod sync;
pub mod users;
pub mod warranty;

pub use error::{AppError, AppResult};

pub const SESSION_COOKIE: &str = "gozcu_session";
pub const CSRF_HEADER: &str = "x-csrf-token";

/// Who may call an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone (login, health).
    Public,
    /// Any logged-in user.
    Session,
    /// A logged-in user whose role has this permission.
    Permission(Permission),
}

pub struct Route {
    pub method: Method,
    /// axum path syntax, which is also OpenAPI's (`/api/v1/cameras/{id}`).
    pub path: &'static str,
    pub access: Access,
    pub tag: &'static str,
    pub summary: &'static str,
    /// Schema names for the OpenAPI document.
    pub request: Option<&'static str>,
    pub response: Option<&'static str>,
    pub handler: MethodRouter<App>,
}

/// Every endpoint of the API.
pub fn routes() -> Vec<Route> {
    let mut all = Vec::new();
    all.extend(auth::routes());
    all.extend(users::routes());
    all.extend(sites::routes());
    all.extend(devices::routes::<gozcu_shared::inventory::Camera>());
    all.extend(import::routes());
    all.extend(devices::routes::<gozcu_shared::inventory::Recorder>());
    all.extend(devices::routes::<gozcu_shared::inventory::Switch>());
    all.extend(warranty::routes());
    all.extend(audit::routes());
    all.extend(sync::routes());
    all.extend(checklists::routes());
    all.extend(reports::routes());
    all.extend(photos::routes());
    all.extend(faults::routes());
    all.extend(schedules::routes());
    all
}

/// The caller of an authenticated endpoint, put in place by [`guard`].
#[derive(Debug, Clone)]
pub struct Ctx {
    pub user: User,
    pub ip: Option<String>,
}

impl Ctx {
    pub fn actor(&self) -> Actor {
        Actor {
            id: Some(self.user.id.to_string()),
            name: self.user.username.clone(),
            ip: self.ip.clone(),
        }
    }

    /// The sites this user is limited to; `None` means all sites.
    pub fn scope(&self) -> Option<&[Uuid]> {
        (!self.user.site_ids.is_empty()).then_some(self.user.site_ids.as_slice())
    }

    pub fn in_scope(&self, site_id: &Uuid) -> bool {
        self.scope().is_none_or(|s| s.contains(site_id))
    }

    /// For writes into a site outside the user's scope: 403 naming the site.
    pub fn require_site(&self, site_id: &Uuid) -> AppResult<()> {
        if self.in_scope(site_id) {
            Ok(())
        } else {
            Err(AppError::Api {
                status: StatusCode::FORBIDDEN,
                code: ErrorCode::NotInScope,
                fields: vec![gozcu_shared::FieldError::new(
                    "site_id",
                    ErrorCode::NotInScope,
                )],
                detail: None,
            })
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Ctx {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Ctx>()
            .cloned()
            .ok_or_else(AppError::unauthenticated)
    }
}

pub fn client_ip(req_extensions: &axum::http::Extensions) -> Option<String> {
    req_extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string())
}

pub fn session_token(headers: &axum::http::HeaderMap) -> Option<String> {
    axum_extra::extract::CookieJar::from_headers(headers)
        .get(SESSION_COOKIE)
        .map(|c| c.value().to_owned())
}

/// Authenticates, checks CSRF on mutations and checks the route's permission.
async fn guard(
    State((app, access)): State<(App, Access)>,
    mut req: Request,
    next: Next,
) -> Response {
    if access == Access::Public {
        return next.run(req).await;
    }
    let Some(token) = session_token(req.headers()) else {
        return AppError::unauthenticated().into_response();
    };
    let session = match crate::auth::session(&app.db, &token, app.now_ms()).await {
        Ok(Some(s)) => s,
        Ok(None) => return AppError::unauthenticated().into_response(),
        Err(e) => return AppError::from(e).into_response(),
    };
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if !safe {
        let sent = req
            .headers()
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !constant_time_eq(sent.as_bytes(), session.csrf_token.as_bytes()) {
            return AppError::new(StatusCode::FORBIDDEN, ErrorCode::CsrfFailed).into_response();
        }
    }
    if let Access::Permission(p) = access {
        if !session.user.role.allows(p) {
            return AppError::forbidden().into_response();
        }
    }
    let ip = client_ip(req.extensions());
    req.extensions_mut().insert(Ctx {
        user: session.user,
        ip,
    });
    next.run(req).await
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The whole application: API, OpenAPI + Swagger UI, and the PWA.
pub fn router(app: App) -> Router {
    let mut api = Router::new();
    for route in routes() {
        let guarded = route.handler.route_layer(middleware::from_fn_with_state(
            (app.clone(), route.access),
            guard,
        ));
        api = api.route(route.path, guarded);
    }
    let api = api
        .route("/healthz", axum::routing::get(|| async { "ok" }))
        .route(
            "/api/v1/openapi.json",
            axum::routing::get(|| async { axum::Json(openapi::document()) }),
        )
        .merge(
            utoipa_swagger_ui::SwaggerUi::new("/api/docs")
                .url("/api/v1/openapi-ui.json", openapi::document()),
        )
        // Unknown API paths get the API's 404, not the PWA's index.html.
        .route(
            "/api/{*rest}",
            axum::routing::any(|| async { AppError::not_found() }),
        )
        .layer(axum::extract::DefaultBodyLimit::max(
            app.settings.max_body_bytes,
        ))
        .with_state(app.clone());

    let mut router = api;
    if let Some(dir) = &app.settings.web_dir {
        // The PWA's routes are client-side: unknown paths get index.html.
        let index = dir.join("index.html");
        let serve = ServeDir::new(dir).fallback(ServeFile::new(index));
        router = router.fallback_service(serve);
    }
    router
        .layer(middleware::from_fn(error::localize))
        .layer(middleware::from_fn(no_store_api))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(tower_http::trace::TraceLayer::new_for_http())
}

/// API answers hold inventory and secrets: no browser or proxy may cache them.
async fn no_store_api(req: Request, next: Next) -> Response {
    let is_api = req.uri().path().starts_with("/api/");
    let mut resp = next.run(req).await;
    if is_api && !resp.headers().contains_key(header::CACHE_CONTROL) {
        resp.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    resp
}

/// Serves until `shutdown` resolves, then finishes in-flight requests.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: App,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let service = router(app).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, service)
        .with_graceful_shutdown(shutdown)
        .await
}
