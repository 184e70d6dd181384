//! `GET /aql?lot_size=&level=&aql=`: the ISO 2859-1 single sampling plan, the same JSON as
//! `gendan aql` prints.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use gendan_core::aql::{self, Aql, InspectionLevel, LOT_SIZE_MAX, LOT_SIZE_MIN};
use serde::Deserialize;
use serde_json::Value;

use super::{query, session};
use crate::serve::{ApiError, AppState};

/// `GET /aql` query: every value as text, so each is read (and refused) by the core.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct AqlQuery {
    /// Units in the lot.
    pub lot_size: Option<String>,
    /// Inspection level (`II` when absent).
    pub level: Option<String>,
    /// Acceptance quality limit.
    pub aql: Option<String>,
}

/// `GET /aql`: `{"code_letter", "sample_size", "accept", "reject", "inspect_all"}`.
pub async fn plan(
    State(state): State<AppState>,
    headers: HeaderMap,
    q: Result<Query<AqlQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    session(&state, &headers)?;
    let q = query(q)?;
    let whole_number =
        || format!("expected a whole number of units from {LOT_SIZE_MIN} to {LOT_SIZE_MAX}");
    let lot_size: u64 = match q.lot_size.as_deref().map(str::trim) {
        None | Some("") => {
            return Err(ApiError::bad_request(format!(
                "lot_size: is required; {}",
                whole_number()
            )));
        }
        Some(text) => text
            .parse()
            .map_err(|_| ApiError::bad_request(format!("lot_size: {}", whole_number())))?,
    };
    let level: InspectionLevel = match q.level.as_deref().map(str::trim) {
        None | Some("") => InspectionLevel::default(),
        Some(text) => text
            .parse()
            .map_err(|e: aql::AqlError| ApiError::bad_request(e.to_string()))?,
    };
    let aql: Aql = match q.aql.as_deref().map(str::trim) {
        None | Some("") => {
            let known: Vec<&str> = Aql::ALL.iter().map(|a| a.as_str()).collect();
            return Err(ApiError::bad_request(format!(
                "aql: is required, one of {}",
                known.join(", ")
            )));
        }
        Some(text) => text
            .parse()
            .map_err(|e: aql::AqlError| ApiError::bad_request(e.to_string()))?,
    };
    let plan = aql::plan(lot_size, level, aql).map_err(|e| ApiError::bad_request(e.to_string()))?;
    Ok(Json(
        serde_json::to_value(plan).map_err(ApiError::internal)?,
    ))
}
