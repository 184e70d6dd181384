//! Admin endpoints (role `admin` only; anyone else gets 403): users and sessions, and the
//! quarantine of refused change sets.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{admin_session, blocking, json_body, non_empty, path, query};
use crate::accounts::{AccountError, NewUser, Role};
use crate::quarantine::QuarantineError;
use crate::serve::{ApiError, AppState};

/// The most quarantine entries one page lists.
pub const QUARANTINE_LIMIT_MAX: usize = 500;
/// The quarantine page size when none is asked for.
pub const QUARANTINE_LIMIT_DEFAULT: usize = 50;

fn account_error(e: AccountError) -> ApiError {
    match e {
        AccountError::BadUsername(_)
        | AccountError::PasswordTooShort
        | AccountError::PasswordTooLong
        | AccountError::BadName { .. }
        | AccountError::FactoryMissing
        | AccountError::BadTitle(_)
        | AccountError::TooManyTitles(_)
        | AccountError::BadTtl(_) => ApiError::bad_request(e.to_string()),
        AccountError::Exists(_)
        | AccountError::TooManyUsers
        | AccountError::Disabled(_)
        | AccountError::LastAdmin(_) => ApiError::new(StatusCode::CONFLICT, e.to_string()),
        AccountError::UnknownUser(_) => ApiError::not_found(e.to_string()),
        AccountError::Crypto(_) | AccountError::Damaged(_) | AccountError::Store(_) => {
            ApiError::internal(e)
        }
    }
}

/// A role named in a request body; 400 naming the roles there are otherwise.
fn parse_role(role: &str) -> Result<Role, ApiError> {
    role.parse()
        .map_err(|e: gendan_core::common::UnknownValue| ApiError::bad_request(format!("role: {e}")))
}

/// `GET /users`: `{"items": [user…]}` by username.
pub async fn list_users(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    admin_session(&state, &headers)?;
    let users = state.storage.accounts.list_users().map_err(account_error)?;
    Ok(Json(json!({ "items": users })))
}

/// `POST /users` body.
#[derive(Debug, Deserialize)]
pub struct AddUserBody {
    /// Login name.
    pub username: String,
    /// Password.
    pub password: String,
    /// Role (`admin`, `merchandiser`, …).
    pub role: String,
    /// Name shown in the apps.
    #[serde(default)]
    pub display_name: Option<String>,
    /// The factory of a factory user.
    #[serde(default)]
    pub factory: Option<String>,
    /// The warehouse of a warehouse clerk.
    #[serde(default)]
    pub warehouse: Option<String>,
    /// Job titles (`general_manager`, `finance`…).
    #[serde(default)]
    pub titles: Vec<String>,
}

/// `POST /users`: creates a user; 201 with the user (never the password).
pub async fn add_user(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    admin_session(&state, &headers)?;
    let body: AddUserBody = json_body(
        body,
        "{\"username\", \"password\", \"role\", \"display_name\", \"factory\", \"warehouse\", \"titles\"}",
    )?;
    let role = parse_role(&body.role)?;
    let new = NewUser {
        username: body.username,
        password: body.password,
        role,
        display_name: non_empty(body.display_name),
        factory: non_empty(body.factory),
        warehouse: non_empty(body.warehouse),
        titles: body.titles,
    };
    let accounts = state.storage.accounts.clone();
    // Argon2 takes tens of milliseconds of CPU on purpose.
    let user = blocking(move || accounts.add_user(new).map_err(account_error)).await?;
    Ok((StatusCode::CREATED, Json(user)).into_response())
}

/// `POST /users/{username}/revoke`: ends every session of the user; `{"revoked": n}`.
pub async fn revoke_sessions(
    State(state): State<AppState>,
    headers: HeaderMap,
    username: Result<Path<String>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    admin_session(&state, &headers)?;
    let username = path(username)?;
    let revoked = state
        .storage
        .accounts
        .revoke_all(&username)
        .map_err(account_error)?;
    Ok(Json(json!({ "revoked": revoked })))
}

/// `POST /users/{username}/disable`: the user can no longer log in, and every session of
/// theirs ends; `{"revoked": n}`.
pub async fn disable(
    State(state): State<AppState>,
    headers: HeaderMap,
    username: Result<Path<String>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    let session = admin_session(&state, &headers)?;
    let username = path(username)?;
    if username == session.user.username {
        return Err(ApiError::bad_request(
            "an admin cannot disable themselves; ask another admin",
        ));
    }
    let revoked = state
        .storage
        .accounts
        .disable(&username)
        .map_err(account_error)?;
    Ok(Json(json!({ "revoked": revoked })))
}

/// `POST /users/{username}/enable`: a disabled user may log in again; answers the user.
pub async fn enable(
    State(state): State<AppState>,
    headers: HeaderMap,
    username: Result<Path<String>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    admin_session(&state, &headers)?;
    let username = path(username)?;
    let accounts = &state.storage.accounts;
    accounts.enable(&username).map_err(account_error)?;
    let user = accounts
        .get_user(&username)
        .map_err(account_error)?
        .ok_or_else(|| ApiError::not_found(format!("there is no user {username}")))?;
    Ok(Json(
        serde_json::to_value(user).map_err(ApiError::internal)?,
    ))
}

/// `POST /users/{username}/titles` body.
#[derive(Debug, Deserialize)]
pub struct TitlesBody {
    /// The job titles, replacing the user's (empty clears them).
    pub titles: Vec<String>,
}

/// `POST /users/{username}/titles` `{"titles": [...]}`: sets the user's job titles (which
/// approval steps they may decide); answers the user.
pub async fn set_titles(
    State(state): State<AppState>,
    headers: HeaderMap,
    username: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    admin_session(&state, &headers)?;
    let username = path(username)?;
    let TitlesBody { titles } = json_body(body, "{\"titles\": [\"general_manager\"]}")?;
    let user = state
        .storage
        .accounts
        .set_titles(&username, titles)
        .map_err(account_error)?;
    Ok(Json(
        serde_json::to_value(user).map_err(ApiError::internal)?,
    ))
}

/// `POST /users/{username}/scope` body.
#[derive(Debug, Deserialize)]
pub struct ScopeBody {
    /// The role (`qc`, `factory`, `warehouse`, …).
    pub role: String,
    /// The factory of a factory user.
    #[serde(default)]
    pub factory: Option<String>,
    /// The warehouse of a warehouse clerk.
    #[serde(default)]
    pub warehouse: Option<String>,
}

/// `POST /users/{username}/scope` `{"role", "factory", "warehouse"}`: moves the user to
/// another role, factory or warehouse; answers the user. The sync service brings their
/// index (the list their device syncs) in line.
pub async fn set_scope(
    State(state): State<AppState>,
    headers: HeaderMap,
    username: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    admin_session(&state, &headers)?;
    let username = path(username)?;
    let ScopeBody {
        role,
        factory,
        warehouse,
    } = json_body(
        body,
        "{\"role\": \"qc\", \"factory\": null, \"warehouse\": null}",
    )?;
    let role = parse_role(&role)?;
    let user = state
        .storage
        .accounts
        .set_scope(&username, role, non_empty(factory), non_empty(warehouse))
        .map_err(account_error)?;
    Ok(Json(
        serde_json::to_value(user).map_err(ApiError::internal)?,
    ))
}

/// `POST /users/{username}/password` body.
#[derive(Debug, Deserialize)]
pub struct PasswordBody {
    /// The new password.
    pub password: String,
}

/// `POST /users/{username}/password` `{"password"}`: sets a new password and ends the
/// user's sessions (whoever had the old one is logged out); `{"revoked": n}`.
pub async fn set_password(
    State(state): State<AppState>,
    headers: HeaderMap,
    username: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    admin_session(&state, &headers)?;
    let username = path(username)?;
    let PasswordBody { password } = json_body(body, "{\"password\": \"…\"}")?;
    let accounts = state.storage.accounts.clone();
    let revoked = blocking(move || {
        accounts
            .set_password(&username, &password)
            .map_err(account_error)?;
        accounts.revoke_all(&username).map_err(account_error)
    })
    .await?;
    Ok(Json(json!({ "revoked": revoked })))
}

/// `GET /quarantine` query.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct QuarantineQuery {
    /// The id of the last entry of the previous page.
    pub after: Option<String>,
    /// Page size.
    pub limit: Option<usize>,
}

fn quarantine_error(e: QuarantineError) -> ApiError {
    match e {
        QuarantineError::BadId(_) => ApiError::bad_request(e.to_string()),
        other => ApiError::internal(other),
    }
}

/// `GET /quarantine`: refused change sets, oldest first, without their bytes:
/// `{"items": [{"id", "doc_id", "user", "peer", "at_ms", "reason", "changes_bytes"}],
/// "next": id | null}`.
pub async fn list_quarantine(
    State(state): State<AppState>,
    headers: HeaderMap,
    q: Result<Query<QuarantineQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    admin_session(&state, &headers)?;
    let q = query(q)?;
    let limit = q.limit.unwrap_or(QUARANTINE_LIMIT_DEFAULT);
    if limit == 0 || limit > QUARANTINE_LIMIT_MAX {
        return Err(ApiError::bad_request(format!(
            "limit: a page of {limit} entries is outside 1..={QUARANTINE_LIMIT_MAX}"
        )));
    }
    let after = non_empty(q.after);
    let items = state
        .storage
        .quarantine
        .list(after.as_deref(), limit)
        .map_err(quarantine_error)?;
    let next = if items.len() == limit {
        items.last().map(|i| i.id.clone())
    } else {
        None
    };
    Ok(Json(json!({ "items": items, "next": next })))
}

/// `GET /quarantine/{id}`: one entry with its changes as hex:
/// `{"id", "doc_id", "user", "peer", "at_ms", "reason", "changes_bytes", "changes_hex"}`.
pub async fn quarantine_entry(
    State(state): State<AppState>,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    admin_session(&state, &headers)?;
    let id = path(id)?;
    let storage = state.storage.clone();
    let entry = blocking(move || {
        storage
            .quarantine
            .get(&id)
            .map_err(quarantine_error)?
            .ok_or_else(|| ApiError::not_found(format!("there is no quarantine entry {id}")))
    })
    .await?;
    Ok(Json(json!({
        "id": entry.id,
        "doc_id": entry.doc_id,
        "user": entry.user,
        "peer": entry.peer,
        "at_ms": entry.at_ms,
        "reason": entry.reason,
        "changes_bytes": entry.changes.len(),
        "changes_hex": hex::encode(&entry.changes),
    })))
}
