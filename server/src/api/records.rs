//! Records: the paged list (from projections), create, read (also as it was at given
//! heads), operations, approval decisions, assignment and the change history.
//!
//! A record the caller may not read is answered exactly like a missing one (404, "there is
//! no record …"); documents are read from storage, which holds only durable data.

use std::sync::{Arc, Mutex, PoisonError};

use automerge::{AutoCommit, ChangeHash};
use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use gendan_core::access::{
    Access, Principal, changed_paths, check_decisions, check_sign_offs, check_write,
    check_write_with_gate, may_create, record_access,
};
use gendan_core::approval::{self, ApprovalRequest};
use gendan_core::common::EditContext;
use gendan_core::ops::{self, Viewer};
use gendan_core::order::{Order, OrderCommercial, OrderOp};
use gendan_core::packaging;
use gendan_core::payment_gate::{self, Gate};
use gendan_core::protocol::DocumentId;
use gendan_core::purchase_order::PurchaseOrder;
use gendan_core::record::{Record, RecordError, RecordHeader, RecordType, actor_from_bytes};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{blocking, json_body, non_empty, now_unix_ms, path, query, session};
use crate::accounts::{Session, check_username};
use crate::persist::from_record_summary;
use crate::projections::{
    ASSIGNEES_MAX, Filter, IndexField, ProjectionError, QUERY_LIMIT_DEFAULT, QUERY_LIMIT_MAX,
    RecordSummary,
};
use crate::serve::{ApiError, AppState, codes};
use crate::store::SCAN_ROWS_MAX;
use crate::sync::{EditFn, SyncStorage, header_of, random_bytes16};

/// Projection pages one list request of a field user reads at most while it looks for
/// records they may see; past it the page comes back short with a cursor to go on.
pub const LIST_ROUNDS_MAX: usize = 8;
/// The most changes one history page returns.
pub const HISTORY_LIMIT_MAX: usize = 1_000;
/// The history page size when none is asked for.
pub const HISTORY_LIMIT_DEFAULT: usize = 200;
/// The most change hashes `?at=` may name.
pub const AT_HEADS_MAX: usize = 64;

/// The answer for a record that is missing or outside the caller's scope (the same).
fn no_record(id: &str) -> ApiError {
    ApiError::not_found(format!("there is no record {id}"))
}

/// 400 for a core error: its message says what was wrong, its code and problems what
/// an interface translates.
fn bad_input(e: &RecordError) -> ApiError {
    ApiError::from_core(e)
}

/// A record read from storage with the caller's access to it (never [`Access::None`]).
struct Loaded {
    id: DocumentId,
    record: Record,
    access: Access,
}

/// Reads record `id` from storage for `p`: 404 when it is missing, is not a record, or is
/// outside `p`'s scope.
fn load(state: &AppState, p: &Principal, id: &str) -> Result<Loaded, ApiError> {
    let doc_id: DocumentId = id.parse().map_err(|_| no_record(id))?;
    let bytes = state
        .storage
        .docs
        .load(&doc_id.to_string())
        .map_err(ApiError::internal)?
        .ok_or_else(|| no_record(id))?;
    let doc = gendan_core::guard::load(&bytes)
        .map_err(|e| ApiError::internal(format!("stored document {doc_id} does not load: {e}")))?;
    let record = match Record::from_doc(doc) {
        Ok(record) => record,
        Err(boxed) => match boxed.1 {
            RecordError::NoType => return Err(no_record(id)),
            other => {
                return Err(ApiError::internal(format!(
                    "stored document {doc_id} does not read: {other}"
                )));
            }
        },
    };
    let header = record
        .header()
        .map_err(|e| ApiError::internal(format!("stored document {doc_id} has no header: {e}")))?;
    match record_access(p, &header) {
        Access::None => Err(no_record(id)),
        access => Ok(Loaded {
            id: doc_id,
            record,
            access,
        }),
    }
}

/// [`load`] off the async workers (a document may be megabytes).
async fn load_blocking(state: &AppState, p: &Principal, id: String) -> Result<Loaded, ApiError> {
    let (state, p) = (state.clone(), p.clone());
    blocking(move || load(&state, &p, &id)).await
}

/// The answer for one record: `{"id", "type", "access", "heads", "view"}`.
fn record_json(
    id: &DocumentId,
    record: &mut Record,
    access: Access,
    session: &Session,
) -> Result<Value, ApiError> {
    let viewer = Viewer {
        user: &session.user.username,
        office: session.user.role.is_office(),
    };
    let view = ops::view_json(record, viewer)
        .map_err(|e| ApiError::internal(format!("record {id} does not give a view: {e}")))?;
    let heads: Vec<String> = record.heads().iter().map(ToString::to_string).collect();
    Ok(json!({
        "id": id.to_string(),
        "type": record.record_type(),
        "access": access,
        "heads": heads,
        "view": view,
    }))
}

/// Reads the record again after an edit and answers with it.
async fn fresh(
    state: &AppState,
    session: &Session,
    id: DocumentId,
) -> Result<Json<Value>, ApiError> {
    let p = session.user.principal();
    let mut loaded = load_blocking(state, &p, id.to_string()).await?;
    Ok(Json(record_json(
        &loaded.id,
        &mut loaded.record,
        loaded.access,
        session,
    )?))
}

// ---------------------------------------------------------------------------------------
// GET /records

/// `GET /records` query.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ListQuery {
    /// Record type.
    #[serde(rename = "type")]
    pub record_type: Option<String>,
    /// Status.
    pub status: Option<String>,
    /// Search text.
    pub q: Option<String>,
    /// Assigned user.
    pub assignee: Option<String>,
    /// Factory.
    pub factory: Option<String>,
    /// Page size.
    pub limit: Option<usize>,
    /// Cursor (the `next` of the previous page).
    pub after: Option<String>,
}

/// Whether a field user may see the record of `summary`: by its scope fields, or because
/// the sync service lists it in their index (which also knows who created it).
fn visible(state: &AppState, p: &Principal, summary: &RecordSummary) -> Result<bool, ApiError> {
    if record_access(p, &header_of(&from_record_summary(summary))) != Access::None {
        return Ok(true);
    }
    let Ok(id) = summary.id.parse::<DocumentId>() else {
        return Ok(false);
    };
    Ok(state
        .storage
        .index_members(&id)
        .map_err(ApiError::internal)?
        .contains(&p.user))
}

fn projection_error(e: ProjectionError) -> ApiError {
    match e {
        ProjectionError::LimitTooLarge { .. }
        | ProjectionError::QueryTooLong { .. }
        | ProjectionError::BadId(_) => ApiError::bad_request(e.to_string()),
        other => ApiError::internal(other),
    }
}

/// `GET /records`: one page of summaries the caller may read, `{"items", "next"}`.
pub async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let session = session(&state, &headers)?;
    let q = query(q)?;
    let limit = q.limit.unwrap_or(QUERY_LIMIT_DEFAULT);
    if limit > QUERY_LIMIT_MAX {
        return Err(projection_error(ProjectionError::LimitTooLarge {
            limit,
            max: QUERY_LIMIT_MAX,
        }));
    }
    let filter = Filter {
        record_type: non_empty(q.record_type),
        status: non_empty(q.status),
        q: non_empty(q.q),
        assignee: non_empty(q.assignee),
        factory: non_empty(q.factory),
        limit: Some(limit),
        after: non_empty(q.after),
    };
    let p = session.user.principal();
    let page = blocking(move || {
        let projections = &state.storage.projections;
        if p.role.is_office() {
            return projections.query(&filter).map_err(projection_error);
        }
        // A field user: keep what they may read, reading further pages (a bounded number)
        // to fill this one.
        let mut items = Vec::new();
        let mut after = filter.after.clone();
        for _ in 0..LIST_ROUNDS_MAX {
            let page = projections
                .query(&Filter {
                    limit: Some(limit - items.len()),
                    after: after.clone(),
                    ..filter.clone()
                })
                .map_err(projection_error)?;
            for summary in page.items {
                if visible(&state, &p, &summary)? {
                    items.push(summary);
                }
            }
            after = page.next;
            if after.is_none() || items.len() == limit {
                break;
            }
        }
        Ok(crate::projections::Page { items, next: after })
    })
    .await?;
    Ok(Json(json!({ "items": page.items, "next": page.next })))
}

// ---------------------------------------------------------------------------------------
// POST /records

/// `POST /records`: creates a record from `{"type", …the type's New* fields…,
/// "assignees": [...]}`; answers 201 `{"id"}`.
pub async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let session = session(&state, &headers)?;
    let p = session.user.principal();
    let expected = "a JSON object {\"type\": \"inspection\", …the record's fields…}";
    let mut body: Value = json_body(body, expected)?;
    let Some(fields) = body.as_object_mut() else {
        return Err(ApiError::bad_request(format!("expected {expected}")));
    };
    let record_type: RecordType = match fields.remove("type") {
        Some(Value::String(t)) => t.parse().map_err(|e: gendan_core::common::UnknownValue| {
            ApiError::bad_request(format!("type: {e}"))
        })?,
        _ => return Err(ApiError::bad_request("type: is required (a record type)")),
    };
    let assignees: Vec<String> = match fields.get("assignees") {
        None | Some(Value::Null) => Vec::new(),
        Some(v) => serde_json::from_value(v.clone())
            .map_err(|_| ApiError::bad_request("assignees: expected a list of usernames"))?,
    };
    if assignees.len() > ASSIGNEES_MAX {
        return Err(ApiError::bad_request(format!(
            "assignees: {} is over the limit of {ASSIGNEES_MAX}",
            assignees.len()
        )));
    }
    if !may_create(&p, record_type) {
        return Err(ApiError::forbidden(format!(
            "your role may not create {record_type} records"
        )));
    }
    for user in &assignees {
        assignable(&state, user, record_type)?;
    }
    if record_type == RecordType::Approval {
        from_shipped_chain(fields)?;
    }
    let ctx = EditContext::new(p.user.clone(), now_unix_ms());
    let actor = actor_from_bytes(&random_bytes16());
    let mut record =
        ops::create_json(record_type, &body.to_string(), actor, &ctx).map_err(|e| bad_input(&e))?;
    let header = record.header().map_err(|e| bad_input(&e))?;
    for user in &assignees {
        if !header.assignees.contains_key(user) {
            record.assign(&ctx, user).map_err(|e| bad_input(&e))?;
        }
    }
    // The same check a device's new record passes in the sync service.
    let heads = record.heads();
    let paths = changed_paths(record.doc_mut(), &[], &heads);
    check_write(&p, None, &record, &paths).map_err(|problems| refused(&problems))?;
    check_sign_offs(&p, &mut record, &[], &paths).map_err(|problems| refused(&problems))?;
    let id = DocumentId::from_bytes(random_bytes16());
    state
        .sync
        .create(id, record.save(), &p.user)
        .await
        .map_err(ApiError::internal)?;
    let location = format!("/api/v1/records/{id}");
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(json!({ "id": id.to_string() })),
    )
        .into_response())
}

/// An approval request naming a shipped chain (`"chain": "special_po_release"`) and no steps
/// of its own gets the chain's kind, purpose and steps (`chains::new_request`), so a client
/// opens a request "through the shipped chain" without copying its configuration. 400 for
/// a chain name that is not shipped.
fn from_shipped_chain(fields: &mut serde_json::Map<String, Value>) -> Result<(), ApiError> {
    let Some(Value::String(name)) = fields.get("chain") else {
        return Ok(());
    };
    let has_steps = ["steps", "chain_steps"]
        .iter()
        .any(|k| fields.get(*k).is_some_and(|v| !v.is_null()));
    if has_steps {
        return Ok(());
    }
    let Some(config) = gendan_core::chains::by_name(name) else {
        return Err(ApiError::bad_request(format!(
            "chain: {name:?} is not a shipped approval chain"
        ))
        .with_param("chain", name));
    };
    let new = gendan_core::chains::new_request(config, "");
    let shipped = serde_json::to_value(&new).map_err(ApiError::internal)?;
    for key in ["kind", "purpose", "chain_steps"] {
        if let Some(v) = shipped.get(key) {
            fields.insert(key.to_string(), v.clone());
        }
    }
    Ok(())
}

/// 403 for a change the write check refuses, listing every problem.
fn refused(problems: &[gendan_core::common::Problem]) -> ApiError {
    let list: Vec<String> = problems.iter().map(ToString::to_string).collect();
    ApiError::forbidden(format!("this change is not allowed: {}", list.join("; ")))
        .with_code(codes::CHANGE_REFUSED)
        .with_problems(problems.to_vec())
}

/// 403 for a record the caller may read but not change.
fn read_only() -> ApiError {
    ApiError::forbidden("you may read this record but not change it").with_code(codes::READ_ONLY)
}

/// 400 unless `user` is an existing account that could work on a record of `record_type`
/// once assigned to it (the access rule the sync service applies: a QC inspector assigned
/// to a shipment check would never receive it). Office accounts are never refused here.
fn assignable(state: &AppState, user: &str, record_type: RecordType) -> Result<(), ApiError> {
    check_username(user).map_err(|e| ApiError::bad_request(e.to_string()))?;
    let account = match state.storage.accounts.get_user(user) {
        Ok(Some(a)) => a,
        Ok(None) => {
            return Err(ApiError::bad_request(format!("there is no user {user}"))
                .with_code(codes::NO_SUCH_USER)
                .with_param("user", user));
        }
        Err(e) => return Err(ApiError::internal(e)),
    };
    if account.role.is_office() {
        return Ok(());
    }
    let header = RecordHeader {
        record_type,
        assignees: [(user.to_string(), true)].into_iter().collect(),
        ..RecordHeader::default()
    };
    if record_access(&account.principal(), &header) != Access::Write {
        return Err(ApiError::bad_request(format!(
            "user {user} ({}) cannot work on {record_type} records: assign someone whose role can",
            account.role
        ))
        .with_code(codes::ASSIGNEE_CANNOT_WORK)
        .with_param("user", user)
        .with_param("role", account.role)
        .with_param("type", record_type));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// GET /records/{id}

/// `GET /records/{id}` query.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ReadQuery {
    /// Comma-separated change hashes: show the record as it was at these heads.
    pub at: Option<String>,
}

/// Parses `?at=`: 1 to [`AT_HEADS_MAX`] change hashes, each in `doc`.
fn parse_heads(doc: &mut AutoCommit, at: &str) -> Result<Vec<ChangeHash>, ApiError> {
    let texts: Vec<&str> = at
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .collect();
    if texts.is_empty() {
        return Err(ApiError::bad_request(
            "at: expected comma-separated change hashes",
        ));
    }
    if texts.len() > AT_HEADS_MAX {
        return Err(ApiError::bad_request(format!(
            "at: {} change hashes is over the limit of {AT_HEADS_MAX}",
            texts.len()
        )));
    }
    let mut heads = Vec::with_capacity(texts.len());
    for text in texts {
        let hash: ChangeHash = text.parse().map_err(|_| {
            ApiError::bad_request(format!("at: {text:?} is not a change hash (64 hex digits)"))
        })?;
        if doc.get_change_meta_by_hash(&hash).is_none() {
            return Err(ApiError::bad_request(format!(
                "at: change {text} is not in this record"
            )));
        }
        heads.push(hash);
    }
    Ok(heads)
}

/// `GET /records/{id}[?at=h1,h2]`: `{"id", "type", "access", "heads", "view"}`.
pub async fn read(
    State(state): State<AppState>,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
    q: Result<Query<ReadQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let session = session(&state, &headers)?;
    let id = path(id)?;
    let q = query(q)?;
    let p = session.user.principal();
    let value = blocking(move || {
        let Loaded {
            id,
            mut record,
            access,
        } = load(&state, &p, &id)?;
        let Some(at) = non_empty(q.at) else {
            return record_json(&id, &mut record, access, &session);
        };
        let heads = parse_heads(record.doc_mut(), &at)?;
        let past = record
            .doc_mut()
            .fork_at(&heads)
            .map_err(|e| ApiError::bad_request(format!("at: {e}")))?;
        let mut past = Record::from_doc(past).map_err(|_| {
            ApiError::bad_request("at: the record did not exist yet at those heads")
        })?;
        record_json(&id, &mut past, access, &session)
    })
    .await?;
    Ok(Json(value))
}

// ---------------------------------------------------------------------------------------
// Edits

/// An edit of a record, given the edit context; fails with the core's message.
/// (The core's error is boxed: it is large, and travels through the sync loop.)
type Edit = Box<dyn FnOnce(&mut Record, &EditContext) -> Result<(), Box<RecordError>> + Send>;

/// Runs `edit` as `p` inside the sync loop, with the write check a device's change set
/// passes (access on the record as it is there, the paths touched, the schema). Returns
/// when the change is durable.
async fn run_edit(
    state: &AppState,
    p: &Principal,
    id: DocumentId,
    edit: Edit,
) -> Result<(), ApiError> {
    run_edit_with_gate(state, p, id, edit, None).await
}

/// [`run_edit`] with the payment gate of the record's order (a purchase order's release).
async fn run_edit_with_gate(
    state: &AppState,
    p: &Principal,
    id: DocumentId,
    edit: Edit,
    gate: Option<Gate>,
) -> Result<(), ApiError> {
    // The loop takes errors as text; the typed answer travels beside it.
    let answer: Arc<Mutex<Option<ApiError>>> = Arc::new(Mutex::new(None));
    let slot = answer.clone();
    let who = p.clone();
    let ctx = EditContext::new(p.user.clone(), now_unix_ms());
    let shown_id = id.to_string();
    let edit_fn: EditFn = Box::new(move |record: &mut Record| {
        let result = (|| {
            let header: RecordHeader = record.header().map_err(|e| bad_input(&e))?;
            match record_access(&who, &header) {
                Access::Write => {}
                Access::Read => return Err(read_only()),
                Access::None => return Err(no_record(&shown_id)),
            }
            let before = record.heads();
            // An older schema gets its new collections first, here on the server, so
            // devices add to one map (`Record::upgrade`); checked with the edit below.
            record.upgrade().map_err(|e| bad_input(&e))?;
            edit(record, &ctx).map_err(|e| bad_input(&e))?;
            let after = record.heads();
            if before != after {
                let paths = changed_paths(record.doc_mut(), &before, &after);
                check_write_with_gate(&who, Some(&header), record, &paths, gate.as_ref())
                    .map_err(|problems| refused(&problems))?;
                // An approval decision: by someone the step's role (job title) allows,
                // as a device's change set is checked in the sync service.
                check_decisions(&who, record, &before, &paths, ctx.now_ms)
                    .map_err(|problems| refused(&problems))?;
                // A sign-off (contract review, PO) or the deposit confirmation: by the
                // job title the slot needs, as in the sync service.
                check_sign_offs(&who, record, &before, &paths)
                    .map_err(|problems| refused(&problems))?;
            }
            Ok(())
        })();
        result.map_err(|e: ApiError| {
            let text = e.message.clone();
            *slot.lock().unwrap_or_else(PoisonError::into_inner) = Some(e);
            text
        })
    });
    match state.sync.edit(id, &p.user, edit_fn).await {
        Ok(()) => Ok(()),
        Err(text) => Err(answer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
            .unwrap_or_else(|| ApiError::internal(text))),
    }
}

/// Loads the record for an edit: 404 outside the caller's scope, 403 when read-only.
async fn load_for_write(
    state: &AppState,
    session: &Session,
    id: String,
) -> Result<Loaded, ApiError> {
    let loaded = load_blocking(state, &session.user.principal(), id).await?;
    if loaded.access != Access::Write {
        return Err(read_only());
    }
    Ok(loaded)
}

/// `POST /records/{id}/ops`: applies one operation (`{"op": "tally_defect", …}`, the
/// record type's operation in its JSON form); answers with the record as `GET` does.
pub async fn apply_op(
    State(state): State<AppState>,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    let session = session(&state, &headers)?;
    let id = path(id)?;
    let op: Value = json_body(body, "one operation as a JSON object {\"op\": …}")?;
    if !op.is_object() {
        return Err(ApiError::bad_request(
            "expected one operation as a JSON object {\"op\": …}",
        ));
    }
    let loaded = load_for_write(&state, &session, id).await?;
    // A purchase order's operations run with its order's payment gate, derived now from
    // storage: the release op refuses a closed gate, and so does the write check.
    let gate = if loaded.record.record_type() == RecordType::PurchaseOrder {
        let po: PurchaseOrder = loaded.record.read().map_err(|e| bad_input(&e))?;
        let st = state.clone();
        Some(blocking(move || payment_gate_of(&st, &po)).await?)
    } else {
        None
    };
    // A release past a closed gate is refused here with the gate's reason as data, so an
    // interface can say it in its own words (the core and the write check refuse it too).
    if op.get("op").and_then(Value::as_str) == Some("release")
        && let Some(Gate::Blocked {
            term,
            reason,
            message,
            ..
        }) = &gate
    {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!("the payment gate is closed: {message}"),
        )
        .with_code(codes::GATE_CLOSED)
        .with_param("term", term.as_str())
        .with_param("reason", block_reason_code(*reason)));
    }
    let op = op.to_string();
    let op_gate = gate.clone();
    run_edit_with_gate(
        &state,
        &session.user.principal(),
        loaded.id,
        Box::new(move |record, ctx| {
            ops::apply_json_with_gate(record, &op, op_gate.as_ref(), ctx).map_err(Box::new)
        }),
        gate,
    )
    .await?;
    fresh(&state, &session, loaded.id).await
}

/// The payment gate of a purchase order's order: the order's commercial side and every
/// special approval naming the order, read from storage whatever the caller's scope (the
/// gate is the server's decision, not the caller's view). 409 when the order has no
/// commercial side, so its payment term is unknown.
pub(crate) fn payment_gate_of(state: &AppState, po: &PurchaseOrder) -> Result<Gate, ApiError> {
    let projections = &state.storage.projections;
    let ids = projections
        .ids_by(IndexField::OrderNo, &po.order_no, None, SCAN_ROWS_MAX)
        .map_err(projection_error)?;
    let mut commercial: Option<Arc<OrderCommercial>> = None;
    let mut specials: Vec<Arc<ApprovalRequest>> = Vec::new();
    for id in ids {
        let Some(summary) = projections.get(&id).map_err(projection_error)? else {
            continue;
        };
        let wanted = summary.record_type == RecordType::OrderCommercial.as_str()
            || summary.record_type == RecordType::Approval.as_str();
        if !wanted {
            continue;
        }
        // Read through the cache of derived values: exact, as it checks the stored version.
        if summary.record_type == RecordType::OrderCommercial.as_str() {
            let Some(c) = super::office::cached_read::<OrderCommercial>(
                state,
                &id,
                RecordType::OrderCommercial,
            )?
            else {
                continue;
            };
            // The commercial side of this very order first; else one with its number.
            let better = c.order_id == po.order_id
                || (commercial.is_none() && c.order_no.trim() == po.order_no.trim());
            if better {
                commercial = Some(c);
            }
        } else if let Some(a) =
            super::office::cached_read::<ApprovalRequest>(state, &id, RecordType::Approval)?
        {
            specials.push(a);
        }
    }
    let commercial = commercial.ok_or_else(|| {
        ApiError::new(
            StatusCode::CONFLICT,
            format!(
                "order {} has no commercial side (payment term) on record, so its payment gate is unknown",
                po.order_no
            ),
        )
        .with_code(codes::GATE_UNKNOWN)
        .with_param("order_no", &po.order_no)
    })?;
    let candidates: Vec<&ApprovalRequest> = specials.iter().map(|a| &**a).collect();
    Ok(payment_gate::gate_any(&commercial, &candidates))
}

/// The stable code of a closed gate's reason (`deposit_not_confirmed`, …).
pub(crate) fn block_reason_code(reason: payment_gate::BlockReason) -> String {
    serde_json::to_value(reason)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// `POST /records/{id}/decide` body.
#[derive(Debug, Deserialize)]
pub struct DecideBody {
    /// The step id (`s1`, `s2`, …).
    pub step: String,
    /// Approve (true) or reject (false).
    pub approved: bool,
    /// Why (required to reject).
    #[serde(default)]
    pub comment: String,
}

/// `POST /records/{id}/decide`: the caller's decision on an approval step.
pub async fn decide(
    State(state): State<AppState>,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    let session = session(&state, &headers)?;
    let id = path(id)?;
    let body: DecideBody = json_body(
        body,
        "{\"step\": \"s1\", \"approved\": true, \"comment\": \"…\"}",
    )?;
    let loaded = load_for_write(&state, &session, id).await?;
    let principal = session.user.principal();
    let req: ApprovalRequest = loaded.record.read().map_err(|e| bad_input(&e))?;
    not_entitled(&req, &principal, &body.step, now_unix_ms())?;
    let who = principal.clone();
    run_edit(
        &state,
        &principal,
        loaded.id,
        Box::new(move |record, ctx| {
            approval::decide(
                record,
                &body.step,
                body.approved,
                &body.comment,
                &who.decision_roles(),
                ctx,
            )
            .map_err(Box::new)
        }),
    )
    .await?;
    fresh(&state, &session, loaded.id).await
}

/// 403 when `step` is the step waiting for a decision and `p` may not decide it: neither
/// a holder of its role (a job title), a named approver, nor — past the deadline — of its
/// escalation role. Other problems (a step not waiting, a decision already made, a
/// missing comment) are the core's to report. The write check repeats this inside the
/// sync loop, so a request racing with another decision is still refused there.
fn not_entitled(
    req: &ApprovalRequest,
    p: &Principal,
    step: &str,
    now_ms: i64,
) -> Result<(), ApiError> {
    let v = approval::view(req, now_ms);
    let roles = p.decision_roles();
    let decided = req.decisions.contains_key(&format!("{step}:{}", p.user));
    if v.current_step.as_deref() != Some(step) || decided {
        return Ok(());
    }
    if approval::waiting_for(req, &p.user, &roles, now_ms).as_deref() == Some(step) {
        return Ok(());
    }
    let Some(s) = req.steps.get(step) else {
        return Ok(());
    };
    let mut needs = format!("it needs the job title {}", s.role);
    if !s.escalate_to.is_empty() {
        needs.push_str(&format!(
            " (or {} once its deadline has passed)",
            s.escalate_to
        ));
    }
    let held = if p.titles.is_empty() {
        "none".to_string()
    } else {
        p.titles.join(", ")
    };
    let label = if s.label.is_empty() {
        String::new()
    } else {
        format!(" ({})", s.label)
    };
    Err(ApiError::forbidden(format!(
        "you may not decide step {step}{label}: {needs}; your job titles: {held}"
    ))
    .with_code(codes::NOT_ENTITLED)
    .with_param("step", step)
    .with_param("role", &s.role)
    .with_param("escalate_to", &s.escalate_to)
    .with_param("titles", held))
}

/// `POST /records/{id}/copy-packaging` body.
#[derive(Debug, Deserialize)]
pub struct CopyPackagingBody {
    /// The previous order's number (订单号).
    pub from_order_no: String,
}

/// `POST /records/{id}/copy-packaging` `{"from_order_no"}`: a repeat order (翻单) takes the
/// previous order's packaging data and shipping marks to adjust
/// (`packaging::copy_for_repeat`): every item drafted again, not sent or confirmed, marked
/// as copied. Items the order already holds (by id: copied before) are kept as they are.
/// Of several orders with that number, the one with this order's style no. is taken, else
/// the one changed last. Answers `{"copied", "skipped", "from": id, "record": …}`.
pub async fn copy_packaging(
    State(state): State<AppState>,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    let session = session(&state, &headers)?;
    let id = path(id)?;
    let body: CopyPackagingBody = json_body(body, "{\"from_order_no\": \"<previous order no.>\"}")?;
    let from_no = body.from_order_no.trim().to_string();
    if from_no.is_empty() {
        return Err(ApiError::bad_request("from_order_no: is required"));
    }
    let loaded = load_for_write(&state, &session, id).await?;
    if loaded.record.record_type() != RecordType::Order {
        return Err(ApiError::bad_request(
            "packaging is copied onto an order record",
        ));
    }
    let target: Order = loaded.record.read().map_err(|e| bad_input(&e))?;
    let p = session.user.principal();
    let (st, target_id) = (state.clone(), loaded.id.to_string());
    let style = target.style_no.clone();
    let wanted = from_no.clone();
    let previous = blocking(move || previous_order(&st, &p, &wanted, &style, &target_id)).await?;
    let Some((from_id, previous)) = previous else {
        return Err(
            ApiError::not_found(format!("there is no other order {from_no} to copy from"))
                .with_code(codes::ORDER_NOT_FOUND)
                .with_param("order_no", &from_no),
        );
    };
    let ops = packaging::copy_for_repeat(&previous);
    if ops.is_empty() {
        return Err(ApiError::bad_request(format!(
            "order {from_no} has no packaging data or shipping marks to copy"
        ))
        .with_code(codes::NOTHING_TO_COPY)
        .with_param("order_no", &from_no));
    }
    let (fresh_ops, skipped): (Vec<OrderOp>, Vec<OrderOp>) = ops.into_iter().partition(
        |op| !matches!(op, OrderOp::AddPackaging { id, .. } if target.packaging.contains_key(id)),
    );
    let copied = fresh_ops.len();
    if copied > 0 {
        run_edit(
            &state,
            &session.user.principal(),
            loaded.id,
            Box::new(move |record, ctx| {
                // Through the core's JSON entry point, which gives each its activity entry.
                for op in &fresh_ops {
                    let json = serde_json::to_string(op)
                        .map_err(|e| Box::new(RecordError::BadOperation(e.to_string())))?;
                    ops::apply_json_with_gate(record, &json, None, ctx).map_err(Box::new)?;
                }
                Ok(())
            }),
        )
        .await?;
    }
    let Json(record) = fresh(&state, &session, loaded.id).await?;
    Ok(Json(json!({
        "copied": copied,
        "skipped": skipped.len(),
        "from": from_id,
        "record": record,
    })))
}

/// The order numbered `order_no` that `p` may read, other than `except`: the one with
/// `style_no` first, else the one changed last.
fn previous_order(
    state: &AppState,
    p: &Principal,
    order_no: &str,
    style_no: &str,
    except: &str,
) -> Result<Option<(String, Order)>, ApiError> {
    let projections = &state.storage.projections;
    let ids = projections
        .ids_by(IndexField::OrderNo, order_no, None, SCAN_ROWS_MAX)
        .map_err(projection_error)?;
    let mut best: Option<(bool, u64, String)> = None;
    for id in ids {
        if id == except {
            continue;
        }
        let Some(summary) = projections.get(&id).map_err(projection_error)? else {
            continue;
        };
        if summary.record_type != RecordType::Order.as_str() {
            continue;
        }
        let key = (
            summary.style_no.as_deref() == Some(style_no),
            summary.updated_ms,
            id,
        );
        if best.as_ref().is_none_or(|b| (key.0, key.1) > (b.0, b.1)) {
            best = Some(key);
        }
    }
    let Some((_, _, id)) = best else {
        return Ok(None);
    };
    let loaded = match load(state, p, &id) {
        Ok(loaded) => loaded,
        Err(e) if e.status == StatusCode::NOT_FOUND => return Ok(None),
        Err(e) => return Err(e),
    };
    let order: Order = loaded.record.read().map_err(|e| bad_input(&e))?;
    Ok(Some((id, order)))
}

/// `POST /records/{id}/assign` and `/unassign` body.
#[derive(Debug, Deserialize)]
pub struct AssignBody {
    /// The username.
    pub user: String,
}

async fn change_assignment(
    state: AppState,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
    assign: bool,
) -> Result<Json<Value>, ApiError> {
    let session = session(&state, &headers)?;
    let id = path(id)?;
    let AssignBody { user } = json_body(body, "{\"user\": \"<username>\"}")?;
    let loaded = load_blocking(&state, &session.user.principal(), id).await?;
    if !session.user.role.is_office() {
        return Err(ApiError::forbidden("only the office assigns records"));
    }
    let header = loaded.record.header().map_err(ApiError::internal)?;
    let assigned = header.assignees.get(&user).copied().unwrap_or(false);
    if assign {
        assignable(&state, &user, header.record_type)?;
        if assigned {
            return fresh(&state, &session, loaded.id).await;
        }
    } else if !assigned {
        return Err(ApiError::bad_request(format!(
            "user: {user} is not assigned to this record"
        )));
    }
    run_edit(
        &state,
        &session.user.principal(),
        loaded.id,
        Box::new(move |record, ctx| {
            if assign {
                record.assign(ctx, &user)
            } else {
                record.unassign(ctx, &user)
            }
            .map_err(Box::new)
        }),
    )
    .await?;
    fresh(&state, &session, loaded.id).await
}

/// `POST /records/{id}/assign` `{"user"}`: office roles only; the user must exist.
pub async fn assign(
    State(state): State<AppState>,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    change_assignment(state, headers, id, body, true).await
}

/// `POST /records/{id}/unassign` `{"user"}`: office roles only.
pub async fn unassign(
    State(state): State<AppState>,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    change_assignment(state, headers, id, body, false).await
}

// ---------------------------------------------------------------------------------------
// GET /records/{id}/history

/// `GET /records/{id}/history` query.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct HistoryQuery {
    /// The hash of the last change of the previous page.
    pub after: Option<String>,
    /// Page size.
    pub limit: Option<usize>,
}

/// `GET /records/{id}/history`: every change of the record, oldest first (causal order),
/// with who delivered it: `{"items": [{"hash", "time_s", "message", "actor", "seq", "deps",
/// "attribution": {"user", "peer", "device", "at_ms"} | null}], "next": hash | null}`.
pub async fn history(
    State(state): State<AppState>,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
    q: Result<Query<HistoryQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let session = session(&state, &headers)?;
    let id = path(id)?;
    let q = query(q)?;
    let limit = q.limit.unwrap_or(HISTORY_LIMIT_DEFAULT);
    if limit == 0 || limit > HISTORY_LIMIT_MAX {
        return Err(ApiError::bad_request(format!(
            "limit: a page of {limit} changes is outside 1..={HISTORY_LIMIT_MAX}"
        )));
    }
    let p = session.user.principal();
    let value = blocking(move || {
        let Loaded { id, mut record, .. } = load(&state, &p, &id)?;
        let doc_id = id.to_string();
        let changes = record.doc_mut().get_changes_meta(&[]);
        let start = match non_empty(q.after) {
            None => 0,
            Some(after) => {
                changes
                    .iter()
                    .position(|c| c.hash.to_string() == after)
                    .ok_or_else(|| {
                        ApiError::bad_request(format!(
                            "after: change {after:?} is not in this record"
                        ))
                    })?
                    + 1
            }
        };
        let end = changes.len().min(start.saturating_add(limit));
        let mut items = Vec::with_capacity(end.saturating_sub(start));
        for c in changes.get(start..end).unwrap_or_default() {
            let hash = c.hash.to_string();
            let attribution = state
                .storage
                .attribution
                .get(&doc_id, &hash)
                .map_err(ApiError::internal)?;
            let deps: Vec<String> = c.deps.iter().map(ToString::to_string).collect();
            items.push(json!({
                "hash": hash,
                "time_s": c.timestamp,
                "message": c.message.as_deref(),
                "actor": c.actor.to_hex_string(),
                "seq": c.seq,
                "deps": deps,
                "attribution": attribution,
            }));
        }
        let next = (end < changes.len()).then(|| changes[end - 1].hash.to_string());
        Ok(json!({ "items": items, "next": next }))
    })
    .await?;
    Ok(Json(value))
}

/// `GET /export/orders.xlsx` query.
#[derive(Debug, Deserialize)]
pub struct ExportQuery {
    /// Header language.
    #[serde(default)]
    pub lang: crate::excel::Lang,
}

/// `GET /export/orders.xlsx`: the order tracking sheet, for office roles.
pub async fn export_orders(
    State(state): State<AppState>,
    headers: HeaderMap,
    q: Result<Query<ExportQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let session = session(&state, &headers)?;
    if !session.user.role.is_office() {
        return Err(ApiError::forbidden(
            "the order tracking sheet is for office roles",
        ));
    }
    let q = query(q)?;
    let bytes =
        blocking(move || crate::excel::export(&state.storage, q.lang).map_err(ApiError::internal))
            .await?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            ),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"orders.xlsx\"",
            ),
        ],
        bytes,
    )
        .into_response())
}

/// `POST /import/orders.xlsx`: reads an order tracking sheet (the body is the workbook's
/// bytes, at most [`crate::excel::IMPORT_BYTES_MAX`]) and creates or updates its orders,
/// as `gendan import orders` does. Office roles only. Answers the same summary: created,
/// updated and the refused rows by number; bad rows never stop the good ones.
pub async fn import_orders(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<crate::excel::ImportSummary>, ApiError> {
    use crate::excel::{IMPORT_BYTES_MAX, SheetError};
    let session = session(&state, &headers)?;
    if !session.user.role.is_office() {
        return Err(ApiError::forbidden(
            "importing the order tracking sheet is for office roles",
        ));
    }
    let bytes = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("the file is larger than {IMPORT_BYTES_MAX} bytes; split the sheet"),
            )
        } else {
            ApiError::bad_request(format!("the workbook could not be read: {rejection}"))
                .with_code(codes::IMPORT_UNREADABLE)
        }
    })?;
    if bytes.is_empty() {
        return Err(
            ApiError::bad_request("send the .xlsx workbook as the request body")
                .with_code(codes::IMPORT_EMPTY),
        );
    }
    let rows = blocking(move || {
        crate::excel::read_sheet(&bytes).map_err(|e| match e {
            SheetError::TooLarge(_) => ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, e.to_string()),
            SheetError::Store(_) | SheetError::Write(_) => ApiError::internal(e),
            _ => ApiError::bad_request(e.to_string()).with_code(codes::IMPORT_UNREADABLE),
        })
    })
    .await?;
    let now = i64::try_from(super::now_ms()).unwrap_or(i64::MAX);
    let summary = crate::excel::import(
        &state.storage,
        &state.sync,
        rows,
        &session.user.username,
        now,
    )
    .await;
    Ok(Json(summary))
}
