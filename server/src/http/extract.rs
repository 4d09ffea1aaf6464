//! Extractors whose rejections speak the API's error format instead of
//! axum's plain-text defaults.

use axum::extract::rejection::{BytesRejection, JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use gozcu_shared::ErrorCode;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::error::AppError;

/// `axum::Json` with API-shaped errors: 400 `invalid_json` naming what is
/// wrong, 413 `body_too_large`.
pub struct Json<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(Json(v)),
            Err(JsonRejection::BytesRejection(b)) => Err(bytes_rejection(b)),
            Err(JsonRejection::MissingJsonContentType(_)) => Err(AppError::bad_request(
                ErrorCode::InvalidJson,
                "Content-Type: application/json",
            )),
            Err(e) => Err(AppError::bad_request(ErrorCode::InvalidJson, e.body_text())),
        }
    }
}

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// Reads a JSON body allowed to be larger than the default limit (a sync
/// push of a day's work offline), up to `limit` bytes.
pub async fn large_json<T: DeserializeOwned>(req: Request, limit: usize) -> Result<T, AppError> {
    let bytes = axum::body::to_bytes(req.into_body(), limit)
        .await
        .map_err(|_| AppError::new(StatusCode::PAYLOAD_TOO_LARGE, ErrorCode::BodyTooLarge))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| AppError::bad_request(ErrorCode::InvalidJson, e.to_string()))
}

pub fn bytes_rejection(b: BytesRejection) -> AppError {
    if b.status() == StatusCode::PAYLOAD_TOO_LARGE {
        AppError::new(StatusCode::PAYLOAD_TOO_LARGE, ErrorCode::BodyTooLarge)
    } else {
        AppError::bad_request(ErrorCode::BadRequest, b.body_text())
    }
}

/// `axum::extract::Query` with API-shaped errors.
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| Query(q.0))
            .map_err(|e: QueryRejection| {
                AppError::bad_request(ErrorCode::BadRequest, e.body_text())
            })
    }
}
