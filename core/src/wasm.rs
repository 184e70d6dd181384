//! wasm-bindgen bindings for the PWA. Every conversion between JS and Rust values happens
//! in this module and nowhere else: the rest of the crate knows nothing of JS.
//!
//! Operations and views cross the boundary as JSON strings/objects whose shapes are the
//! serde forms of the core's types, so the TypeScript side mirrors them one to one.

use wasm_bindgen::prelude::*;

use crate::aql;
use crate::common::EditContext;
use crate::ops::{self, Viewer};
use crate::record::{Record, RecordType, actor_from_bytes};

fn js_error(e: impl std::fmt::Display) -> JsError {
    JsError::new(&e.to_string())
}

fn ctx(user: String, now_ms: f64) -> EditContext {
    // JS numbers carry ms since the epoch exactly up to 2^53.
    #[allow(
        clippy::cast_possible_truncation,
        reason = "ms timestamps are integral and < 2^53"
    )]
    EditContext::new(user, now_ms as i64)
}

fn to_js(value: &serde_json::Value) -> Result<JsValue, JsError> {
    let serializer = serde_wasm_bindgen::Serializer::json_compatible();
    serde::Serialize::serialize(value, &serializer).map_err(js_error)
}

/// One record held by the app.
#[wasm_bindgen]
#[derive(Debug)]
pub struct WasmRecord {
    inner: Record,
}

#[wasm_bindgen]
impl WasmRecord {
    /// Creates a record. `record_type` is e.g. `inspection`; `new_json` describes what it
    /// starts with; `actor` is 16+ random bytes chosen by the caller.
    pub fn create(
        record_type: &str,
        new_json: &str,
        actor: &[u8],
        user: String,
        now_ms: f64,
    ) -> Result<WasmRecord, JsError> {
        let t: RecordType = record_type.parse().map_err(js_error)?;
        let inner = ops::create_json(t, new_json, actor_from_bytes(actor), &ctx(user, now_ms))
            .map_err(js_error)?;
        Ok(WasmRecord { inner })
    }

    /// Loads saved bytes.
    pub fn load(bytes: &[u8], actor: &[u8]) -> Result<WasmRecord, JsError> {
        let inner = Record::load(bytes, actor_from_bytes(actor)).map_err(js_error)?;
        Ok(WasmRecord { inner })
    }

    /// The saved bytes.
    pub fn save(&mut self) -> Vec<u8> {
        self.inner.save()
    }

    /// The record type, e.g. `inspection`.
    #[wasm_bindgen(js_name = recordType)]
    pub fn record_type(&self) -> String {
        self.inner.record_type().to_string()
    }

    /// Applies an operation (a JSON object with an `op` tag) as `user` at `now_ms`.
    pub fn apply(&mut self, op_json: &str, user: String, now_ms: f64) -> Result<(), JsError> {
        ops::apply_json(&mut self.inner, op_json, &ctx(user, now_ms)).map_err(js_error)
    }

    /// The record and what is derived from it, as a plain JS object.
    pub fn view(&self, viewer: &str, office: bool) -> Result<JsValue, JsError> {
        let v = ops::view_json(
            &self.inner,
            Viewer {
                user: viewer,
                office,
            },
        )
        .map_err(js_error)?;
        to_js(&v)
    }

    /// The document's heads as hex strings.
    pub fn heads(&mut self) -> Vec<String> {
        self.inner.heads().iter().map(ToString::to_string).collect()
    }

    /// Merges another replica into this one.
    pub fn merge(&mut self, other: &mut WasmRecord) -> Result<(), JsError> {
        self.inner.merge(&mut other.inner).map_err(js_error)
    }
}

/// The ISO 2859-1 plan for one lot, level and AQL: the same answer as `gendan aql`.
#[wasm_bindgen(js_name = aqlPlan)]
pub fn aql_plan(lot_size: f64, level: &str, aql_value: &str) -> Result<JsValue, JsError> {
    if !(lot_size.is_finite() && lot_size >= 0.0 && lot_size.fract() == 0.0) {
        return Err(JsError::new("lot size must be a whole number"));
    }
    let level: aql::InspectionLevel = level.parse().map_err(js_error)?;
    let a: aql::Aql = aql_value.parse().map_err(js_error)?;
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "checked above"
    )]
    let plan = aql::plan(lot_size as u64, level, a).map_err(js_error)?;
    to_js(&serde_json::to_value(plan).map_err(js_error)?)
}
