//! The one error type of the API and its mapping to HTTP.
//!
//! Handlers return [`AppError`]; it renders as `ApiError { code, message,
//! fields }`. The message is localised by the [`localize`] middleware, which
//! knows the request's language, so handlers never need to carry it around.
//! Database and internal errors are logged with detail and answered with a
//! bare `internal` code: SQL, paths and secrets never reach the client.

use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use gozcu_shared::{ApiError, ErrorCode, FieldError, Lang};

#[derive(Debug)]
pub enum AppError {
    /// An expected failure with a stable code.
    Api {
        status: StatusCode,
        code: ErrorCode,
        fields: Vec<FieldError>,
        detail: Option<String>,
    },
    Db(sqlx::Error),
    Internal(anyhow::Error),
}

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    pub fn new(status: StatusCode, code: ErrorCode) -> Self {
        AppError::Api {
            status,
            code,
            fields: Vec::new(),
            detail: None,
        }
    }

    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, ErrorCode::NotFound)
    }

    pub fn forbidden() -> Self {
        Self::new(StatusCode::FORBIDDEN, ErrorCode::Forbidden)
    }

    pub fn unauthenticated() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, ErrorCode::Unauthenticated)
    }

    pub fn bad_request(code: ErrorCode, detail: impl Into<String>) -> Self {
        AppError::Api {
            status: StatusCode::BAD_REQUEST,
            code,
            fields: Vec::new(),
            detail: Some(detail.into()),
        }
    }

    /// 422 with every field problem.
    pub fn validation(fields: Vec<FieldError>) -> Self {
        AppError::Api {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code: ErrorCode::Validation,
            fields,
            detail: None,
        }
    }

    /// 409 for a duplicate, naming the field.
    pub fn conflict(fields: Vec<FieldError>) -> Self {
        AppError::Api {
            status: StatusCode::CONFLICT,
            code: ErrorCode::Conflict,
            fields,
            detail: None,
        }
    }
}

impl From<sqlx::Error> for AppError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::Database(db) if db.is_unique_violation() => AppError::conflict(Vec::new()),
            // A referenced row is missing, or a row is still referenced by
            // another one (deleting a site that has cameras).
            sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
                AppError::new(StatusCode::CONFLICT, ErrorCode::Conflict)
            }
            _ => AppError::Db(e),
        }
    }
}

impl From<anyhow::Error> for AppError {
    fn from(e: anyhow::Error) -> Self {
        AppError::Internal(e)
    }
}

/// Put on error responses so [`localize`] can rewrite the message.
#[derive(Clone, Debug)]
struct Localizable {
    error: ApiError,
    detail: Option<String>,
}

fn body(error: &ApiError, detail: Option<&str>, lang: Lang) -> String {
    let mut e = error.clone();
    e.message = error.code.message(lang).to_owned();
    if let Some(d) = detail {
        e.message = format!("{} ({d})", e.message);
    }
    serde_json::to_string(&e).unwrap_or_else(|_| "{\"code\":\"internal\"}".into())
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, error, detail) = match self {
            AppError::Api {
                status,
                code,
                fields,
                detail,
            } => (
                status,
                ApiError {
                    code,
                    message: String::new(),
                    fields,
                },
                detail,
            ),
            AppError::Db(e) => {
                tracing::error!(error = %e, "database error");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    ApiError::new(ErrorCode::Internal, Lang::Tr),
                    None,
                )
            }
            AppError::Internal(e) => {
                tracing::error!(error = format!("{e:#}"), "internal error");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    ApiError::new(ErrorCode::Internal, Lang::Tr),
                    None,
                )
            }
        };
        let text = body(&error, detail.as_deref(), Lang::Tr);
        let mut resp = (
            status,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            text,
        )
            .into_response();
        resp.extensions_mut().insert(Localizable { error, detail });
        resp
    }
}

/// Rewrites error messages into the request's language (`Accept-Language`).
pub async fn localize(req: Request, next: Next) -> Response {
    let lang = req
        .headers()
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .map(Lang::from_header)
        .unwrap_or_default();
    let resp = next.run(req).await;
    if lang == Lang::Tr {
        return resp;
    }
    match resp.extensions().get::<Localizable>().cloned() {
        Some(l) => {
            let (mut parts, _) = resp.into_parts();
            parts.headers.remove(header::CONTENT_LENGTH);
            Response::from_parts(
                parts,
                axum::body::Body::from(body(&l.error, l.detail.as_deref(), lang)),
            )
        }
        None => resp,
    }
}
