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

/// A JS `Error` with the English text as its message, plus what an interface needs to say
/// it in its own language: `code` (the kind, e.g. `invalid`, `not_allowed`) and
/// `problems` (`[{field, message, code?, params?}]`: for `invalid` every problem, for
/// `not_allowed` the one saying why).
fn coded_error(message: &str, code: &str, problems: &[crate::common::Problem]) -> JsValue {
    let err = js_sys::Error::new(message);
    let set = |k: &str, v: &JsValue| {
        // Setting a property on a fresh Error object cannot fail.
        let _ = js_sys::Reflect::set(&err, &JsValue::from_str(k), v);
    };
    set("code", &JsValue::from_str(code));
    let list = serde_json::to_value(problems)
        .ok()
        .and_then(|v| to_js(&v).ok())
        .unwrap_or_else(|| js_sys::Array::new().into());
    set("problems", &list);
    err.into()
}

fn record_error(e: &crate::record::RecordError) -> JsValue {
    coded_error(&e.to_string(), e.code(), e.problems())
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
    ) -> Result<WasmRecord, JsValue> {
        let t: RecordType = record_type
            .parse()
            .map_err(|e| coded_error(&format!("{e}"), "bad_operation", &[]))?;
        let inner = ops::create_json(t, new_json, actor_from_bytes(actor), &ctx(user, now_ms))
            .map_err(|e| record_error(&e))?;
        Ok(WasmRecord { inner })
    }

    /// Loads saved bytes.
    pub fn load(bytes: &[u8], actor: &[u8]) -> Result<WasmRecord, JsValue> {
        let inner = Record::load(bytes, actor_from_bytes(actor)).map_err(|e| record_error(&e))?;
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

    /// Applies an operation (a JSON object with an `op` tag) as `user` at `now_ms`. A
    /// refusal is an `Error` with `code` and `problems` (see `coded_error`).
    pub fn apply(&mut self, op_json: &str, user: String, now_ms: f64) -> Result<(), JsValue> {
        ops::apply_json(&mut self.inner, op_json, &ctx(user, now_ms)).map_err(|e| record_error(&e))
    }

    /// The record and what is derived from it, as a plain JS object.
    pub fn view(&self, viewer: &str, office: bool) -> Result<JsValue, JsValue> {
        let v = ops::view_json(
            &self.inner,
            Viewer {
                user: viewer,
                office,
            },
        )
        .map_err(|e| record_error(&e))?;
        Ok(to_js(&v)?)
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
pub fn aql_plan(lot_size: f64, level: &str, aql_value: &str) -> Result<JsValue, JsValue> {
    let aql_error = |field: &str, e: &aql::AqlError| {
        coded_error(&e.to_string(), "invalid", &[e.to_problem(field)])
    };
    if !(lot_size.is_finite() && lot_size >= 0.0 && lot_size.fract() == 0.0) {
        let p = crate::common::Problem::new("lot_size", "must be a whole number")
            .with_code("not_whole_number");
        return Err(coded_error(
            "lot size must be a whole number",
            "invalid",
            &[p],
        ));
    }
    let level: aql::InspectionLevel = level.parse().map_err(|e| aql_error("level", &e))?;
    let a: aql::Aql = aql_value.parse().map_err(|e| aql_error("aql", &e))?;
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "checked above"
    )]
    let plan = aql::plan(lot_size as u64, level, a).map_err(|e| aql_error("lot_size", &e))?;
    Ok(to_js(&serde_json::to_value(plan).map_err(js_error)?)?)
}

/// The device's sync peer (the same state machine the tests drive), for the app's
/// WebSocket. The app owns the socket: it calls `connected`, `receive`, `sync` and
/// `disconnected`, and sends every frame `takeFrames` returns.
#[wasm_bindgen]
#[derive(Debug)]
pub struct WasmClient {
    inner: crate::protocol::client::ClientPeer,
}

fn doc_id(id: &str) -> Result<crate::protocol::DocumentId, JsError> {
    id.parse().map_err(js_error)
}

#[wasm_bindgen]
impl WasmClient {
    /// A peer named `peer_id`, with a durable `storage_id` (IndexedDB) when given.
    #[wasm_bindgen(constructor)]
    pub fn new(peer_id: String, storage_id: Option<String>) -> WasmClient {
        let peer = crate::protocol::PeerId::new(peer_id);
        let storage = storage_id.map(crate::protocol::StorageId::new);
        WasmClient {
            inner: crate::protocol::client::ClientPeer::new(peer, storage),
        }
    }

    /// The socket opened.
    pub fn connected(&mut self) {
        self.inner.connected();
    }

    /// The socket closed.
    pub fn disconnected(&mut self) {
        self.inner.disconnected();
    }

    /// Whether the handshake is done.
    #[wasm_bindgen(js_name = isJoined)]
    pub fn is_joined(&self) -> bool {
        self.inner.is_joined()
    }

    /// Adds a document from saved bytes (or asks for it when `bytes` is empty).
    pub fn add(&mut self, id: &str, bytes: &[u8]) -> Result<(), JsError> {
        let id = doc_id(id)?;
        if bytes.is_empty() {
            self.inner.want(id);
        } else {
            let doc = automerge::AutoCommit::load(bytes).map_err(js_error)?;
            self.inner.add(id, doc);
        }
        Ok(())
    }

    /// Replaces a document's content with a record edited locally (merging, never losing
    /// what the peer already holds).
    #[wasm_bindgen(js_name = mergeRecord)]
    pub fn merge_record(&mut self, id: &str, record: &mut WasmRecord) -> Result<(), JsError> {
        let id = doc_id(id)?;
        if self.inner.doc(&id).is_none() {
            self.inner.want(id);
        }
        let doc = self
            .inner
            .doc_mut(&id)
            .ok_or_else(|| JsError::new("unknown document"))?;
        doc.merge(record.inner.doc_mut()).map_err(js_error)?;
        Ok(())
    }

    /// The document as a record, to view or edit (a copy: edit it, then `mergeRecord`).
    pub fn record(&self, id: &str, actor: &[u8]) -> Result<Option<WasmRecord>, JsError> {
        let id = doc_id(id)?;
        let Some(doc) = self.inner.doc(&id) else {
            return Ok(None);
        };
        let doc = doc.clone().with_actor(actor_from_bytes(actor));
        match Record::from_doc(doc) {
            Ok(inner) => Ok(Some(WasmRecord { inner })),
            Err(_) => Ok(None), // not received yet, or not a record
        }
    }

    /// A document's saved bytes (to keep in IndexedDB).
    pub fn save(&mut self, id: &str) -> Result<Option<Vec<u8>>, JsError> {
        let id = doc_id(id)?;
        Ok(self.inner.doc_mut(&id).map(automerge::AutoCommit::save))
    }

    /// The index document's record ids (for the user's index document).
    #[wasm_bindgen(js_name = indexIds)]
    pub fn index_ids(&self, id: &str) -> Result<Vec<String>, JsError> {
        let id = doc_id(id)?;
        Ok(self
            .inner
            .doc(&id)
            .map(crate::summary::index_ids)
            .unwrap_or_default())
    }

    /// The entries of an index document as a plain JS object: record id → summary
    /// (`{record_type, title, status, verdict, order_no, style_no, po_no, customer,
    /// factory, warehouse, assignees, created_by, due_ms}`). An entry that does not read as
    /// a summary (written by a newer server) is left out rather than failing the list.
    #[wasm_bindgen(js_name = indexEntries)]
    pub fn index_entries(&self, id: &str) -> Result<JsValue, JsError> {
        let id = doc_id(id)?;
        let mut entries = serde_json::Map::new();
        if let Some(doc) = self.inner.doc(&id) {
            for (key, s) in crate::summary::index_entries(doc) {
                entries.insert(key, serde_json::to_value(s).map_err(js_error)?);
            }
        }
        to_js(&serde_json::Value::Object(entries))
    }

    /// A document's heads as hex strings (empty when it is not held or not received yet).
    pub fn heads(&mut self, id: &str) -> Result<Vec<String>, JsError> {
        let id = doc_id(id)?;
        Ok(self
            .inner
            .doc_mut(&id)
            .map(|d| d.get_heads().iter().map(ToString::to_string).collect())
            .unwrap_or_default())
    }

    /// How many changes of a document are not covered by `heads` (hex change hashes the
    /// app saved when the server last acknowledged everything): the "not yet synced" count
    /// that survives a restart, when the live sync state starts afresh. Hashes the document
    /// does not know are ignored.
    #[wasm_bindgen(js_name = changesSince)]
    pub fn changes_since(&mut self, id: &str, heads: Vec<String>) -> Result<u32, JsError> {
        let id = doc_id(id)?;
        let Some(doc) = self.inner.doc_mut(&id) else {
            return Ok(0);
        };
        let known: Vec<automerge::ChangeHash> = heads
            .iter()
            .filter_map(|h| h.parse().ok())
            .filter(|h| doc.get_change_by_hash(h).is_some())
            .collect();
        Ok(u32::try_from(doc.get_changes(&known).len()).unwrap_or(u32::MAX))
    }

    /// Changes of a document not yet acknowledged by the server.
    #[wasm_bindgen(js_name = unsyncedChanges)]
    pub fn unsynced_changes(&mut self, id: &str) -> Result<u32, JsError> {
        let id = doc_id(id)?;
        Ok(u32::try_from(self.inner.unsynced_changes(&id)).unwrap_or(u32::MAX))
    }

    /// Ids of every document held.
    #[wasm_bindgen(js_name = docIds)]
    pub fn doc_ids(&self) -> Vec<String> {
        self.inner
            .doc_ids()
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    /// Generates sync messages for every document with something to say.
    pub fn sync(&mut self) {
        self.inner.sync();
    }

    /// A frame from the server; returns the events as `[{kind, doc?, message?}]`.
    pub fn receive(&mut self, frame: &[u8]) -> Result<JsValue, JsError> {
        use crate::protocol::client::ClientEvent;
        let events = self.inner.receive(frame).map_err(js_error)?;
        let list: Vec<serde_json::Value> = events
            .into_iter()
            .map(|e| match e {
                ClientEvent::Joined { server } => {
                    serde_json::json!({"kind": "joined", "server": server.as_str()})
                }
                ClientEvent::Changed(d) => {
                    serde_json::json!({"kind": "changed", "doc": d.to_string()})
                }
                ClientEvent::Unavailable(d) => {
                    serde_json::json!({"kind": "unavailable", "doc": d.to_string()})
                }
                ClientEvent::ServerError(m) => serde_json::json!({"kind": "error", "message": m}),
            })
            .collect();
        to_js(&serde_json::Value::Array(list))
    }

    /// Frames to send now.
    #[wasm_bindgen(js_name = takeFrames)]
    pub fn take_frames(&mut self) -> Vec<js_sys::Uint8Array> {
        self.inner
            .take_frames()
            .iter()
            .map(|f| js_sys::Uint8Array::from(f.as_slice()))
            .collect()
    }
}

/// A new random-looking document id from 16 bytes the caller drew (crypto.getRandomValues).
#[wasm_bindgen(js_name = documentId)]
pub fn document_id(bytes: &[u8]) -> Result<String, JsError> {
    let b: [u8; 16] = bytes
        .try_into()
        .map_err(|_| JsError::new("a document id needs exactly 16 bytes"))?;
    Ok(crate::protocol::DocumentId::from_bytes(b).to_string())
}
