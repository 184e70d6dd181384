//! The office REST API under `/api/v1` (records, assignment, history, AQL, blobs, users,
//! quarantine, OpenAPI). Login, logout and `me` are in [`crate::serve`].
//!
//! Every endpoint but `/openapi.json` authenticates with the session's Bearer token and
//! applies the same access rules as sync (`gendan_core::access`): a record the caller may
//! not read answers 404 exactly like a record that does not exist, so existence never leaks;
//! a record they may read but not write answers 403 to a change. Edits run inside the sync
//! loop ([`crate::sync::SyncHandle::edit`]), pass the same write check as a device's change
//! set, and are durable, attributed and fanned out to devices before the answer is sent.
//!
//! Bodies are JSON (read whatever the `Content-Type`), answers are JSON, and every error is
//! `{"error": "<what was wrong>", "code", "params", "problems"}` ([`ApiError`]): a stable
//! code (`crate::serve::codes`, or the core's) with the values its message names, which
//! interfaces translate; the English text is for API users. The routes are one table ([`route_table`])
//! so the OpenAPI description can be checked against it.
//!
//! Modules: [`records`] (list, create, read, edit, assign, history), [`office`] (dashboard,
//! order timeline, search, assignable users), [`blobs`] (photos and files), [`admin`]
//! (users, quarantine), [`aql`] (sampling plans), [`openapi`].

pub mod admin;
pub mod aql;
pub mod blobs;
pub mod office;
pub mod openapi;
pub mod records;

use axum::Router;
use axum::body::Bytes;
use axum::extract::Query;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::routing::{MethodRouter, get, head, patch, post, put};
use serde::de::DeserializeOwned;

use crate::accounts::Session;
use crate::serve::{ApiError, AppState};

/// One route of the API: its method, its path under `/api/v1`, and its handler.
pub type RouteEntry = (Method, &'static str, MethodRouter<AppState>);

/// Every route of this module, in the order the OpenAPI description lists them. The
/// router is built from this table, so a route cannot be served without being listed.
pub fn route_table() -> Vec<RouteEntry> {
    let blob_body = || axum::extract::DefaultBodyLimit::max(crate::blobs::PART_BYTES_MAX);
    vec![
        (Method::GET, "/records", get(records::list)),
        (Method::POST, "/records", post(records::create)),
        (Method::GET, "/records/{id}", get(records::read)),
        (Method::POST, "/records/{id}/ops", post(records::apply_op)),
        (Method::POST, "/records/{id}/decide", post(records::decide)),
        (
            Method::POST,
            "/records/{id}/copy-packaging",
            post(records::copy_packaging),
        ),
        (Method::POST, "/records/{id}/assign", post(records::assign)),
        (
            Method::POST,
            "/records/{id}/unassign",
            post(records::unassign),
        ),
        (Method::GET, "/records/{id}/history", get(records::history)),
        (Method::GET, "/aql", get(aql::plan)),
        (
            Method::GET,
            "/export/orders.xlsx",
            get(records::export_orders),
        ),
        (
            Method::POST,
            "/import/orders.xlsx",
            post(records::import_orders).layer(axum::extract::DefaultBodyLimit::max(
                crate::excel::IMPORT_BYTES_MAX,
            )),
        ),
        (Method::GET, "/dashboard", get(office::dashboard)),
        (
            Method::GET,
            "/orders/{order_no}/timeline",
            get(office::timeline),
        ),
        (Method::GET, "/search", get(office::search)),
        (Method::GET, "/assignees", get(office::assignees)),
        (
            Method::PUT,
            "/blobs/{sha256}",
            put(blobs::put_whole).layer(blob_body()),
        ),
        (
            Method::PATCH,
            "/blobs/{sha256}",
            patch(blobs::append_part).layer(blob_body()),
        ),
        (Method::HEAD, "/blobs/{sha256}", head(blobs::status)),
        (Method::GET, "/blobs/{sha256}", get(blobs::download)),
        (Method::POST, "/blobs/{sha256}/finish", post(blobs::finish)),
        (Method::GET, "/users", get(admin::list_users)),
        (Method::POST, "/users", post(admin::add_user)),
        (
            Method::POST,
            "/users/{username}/revoke",
            post(admin::revoke_sessions),
        ),
        (
            Method::POST,
            "/users/{username}/disable",
            post(admin::disable),
        ),
        (
            Method::POST,
            "/users/{username}/enable",
            post(admin::enable),
        ),
        (
            Method::POST,
            "/users/{username}/password",
            post(admin::set_password),
        ),
        (
            Method::POST,
            "/users/{username}/titles",
            post(admin::set_titles),
        ),
        (
            Method::POST,
            "/users/{username}/scope",
            post(admin::set_scope),
        ),
        (Method::GET, "/quarantine", get(admin::list_quarantine)),
        (
            Method::GET,
            "/quarantine/{id}",
            get(admin::quarantine_entry),
        ),
        (Method::GET, "/openapi.json", get(openapi::serve)),
    ]
}

/// The REST routes (nested under `/api/v1` by [`crate::serve::app`]).
pub fn routes() -> Router<AppState> {
    route_table()
        .into_iter()
        .fold(Router::new(), |router, (_, path, handler)| {
            router.route(path, handler)
        })
}

/// Now, in milliseconds since the Unix epoch.
pub(crate) fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// Now, as the core's edit contexts take it.
pub(crate) fn now_unix_ms() -> i64 {
    i64::try_from(now_ms()).unwrap_or(i64::MAX)
}

/// The session of a request (Bearer token), or 401.
pub(crate) fn session(state: &AppState, headers: &HeaderMap) -> Result<Session, ApiError> {
    crate::serve::authenticate(state, headers, None)
}

/// The session of an admin, or 403 for anyone else (401 without a session).
pub(crate) fn admin_session(state: &AppState, headers: &HeaderMap) -> Result<Session, ApiError> {
    let session = session(state, headers)?;
    if session.user.role != crate::accounts::Role::Admin {
        return Err(ApiError::forbidden("only an admin may do this"));
    }
    Ok(session)
}

/// The request body's bytes, or the extractor's own answer (413 over the body limit).
pub(crate) fn body_bytes(body: Result<Bytes, BytesRejection>) -> Result<Bytes, ApiError> {
    body.map_err(|e| ApiError::new(e.status(), e.body_text()))
}

/// The body read as JSON of type `T`; `expected` describes the shape in the 400 message.
pub(crate) fn json_body<T: DeserializeOwned>(
    body: Result<Bytes, BytesRejection>,
    expected: &str,
) -> Result<T, ApiError> {
    let bytes = body_bytes(body)?;
    serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::bad_request(format!("expected {expected}: {e}")))
}

/// The query string read as `T`, or 400 saying what was wrong.
pub(crate) fn query<T>(q: Result<Query<T>, QueryRejection>) -> Result<T, ApiError> {
    q.map(|Query(q)| q)
        .map_err(|e| ApiError::bad_request(e.body_text()))
}

/// A path parameter, or 400.
pub(crate) fn path<T>(p: Result<axum::extract::Path<T>, PathRejection>) -> Result<T, ApiError> {
    p.map(|axum::extract::Path(p)| p)
        .map_err(|e| ApiError::new(e.status(), e.body_text()))
}

/// Runs CPU- or disk-heavy work (loading a document, argon2, blob files) off the async
/// workers.
pub(crate) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(ApiError::internal)?
}

/// `Some(text)` unless the text is absent or blank (`?status=` means no filter).
pub(crate) fn non_empty(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.trim().is_empty())
}

/// 413 Payload Too Large with a message.
pub(crate) fn too_large(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, message)
}
