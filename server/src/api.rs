//! The office REST API under `/api/v1` (records, assignment, history, AQL, blobs, users,
//! quarantine, OpenAPI). Login, logout and `me` are in [`crate::serve`].

use axum::Router;

use crate::serve::AppState;

/// The REST routes.
pub fn routes() -> Router<AppState> {
    Router::new()
}
