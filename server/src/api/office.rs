//! The office pages' aggregates: the dashboard, an order's timeline, search across the
//! archive, and the users work can be assigned to. Office roles only (403 for field roles).
//!
//! Everything here is derived when asked, from the projections and the stored documents,
//! with the core's rules (`plan::risk_report`, the payment gate, `approval::waiting_for`,
//! the inspection verdict); nothing is stored. Each read is bounded by a named limit, and an
//! answer that hit one says so (`truncated`).

use std::any::Any;
use std::collections::BTreeMap;
use std::sync::Arc;

use autosurgeon::Hydrate;
use axum::Json;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use gendan_core::access::{Access, record_access};
use gendan_core::approval::{self, ApprovalRequest};
use gendan_core::aql::DefectClass;
use gendan_core::inspection::Inspection;
use gendan_core::order::Order;
use gendan_core::payment_gate::Gate;
use gendan_core::plan::{self, Alarm, RiskLevel};
use gendan_core::purchase_order::PurchaseOrder;
use gendan_core::record::{Record, RecordHeader, RecordType};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{blocking, non_empty, now_unix_ms, path, query, session};
use crate::accounts::Session;
use crate::projections::{Filter, IndexField, RecordSummary};
use crate::serve::{ApiError, AppState, codes};

/// The most records of one type the dashboard reads; past it the answer says `truncated`.
pub const DASHBOARD_RECORDS_MAX: usize = 2_000;
/// The most entries of each dashboard list (orders at risk, blocked POs, …).
pub const DASHBOARD_LIST_MAX: usize = 100;
/// The most records of one order the timeline reads.
pub const ORDER_RECORDS_MAX: usize = 500;
/// The most events one timeline returns (the newest are kept).
pub const TIMELINE_EVENTS_MAX: usize = 2_000;
/// The longest search text, in bytes.
pub const SEARCH_TEXT_BYTES_MAX: usize = 100;
/// The most records one search page returns.
pub const SEARCH_LIMIT_MAX: usize = 200;
/// The search page size when none is asked for.
pub const SEARCH_LIMIT_DEFAULT: usize = 50;
/// The longest order number a timeline may be asked for, in bytes.
pub const ORDER_NO_BYTES_MAX: usize = 100;

/// The session of an office user, or 403 for a field role (401 without a session).
fn office_session(state: &AppState, headers: &HeaderMap) -> Result<Session, ApiError> {
    let session = session(state, headers)?;
    if !session.user.role.is_office() {
        return Err(ApiError::forbidden("the office pages are for office roles"));
    }
    Ok(session)
}

fn store_error(e: impl std::fmt::Display) -> ApiError {
    ApiError::internal(e)
}

/// Reads a stored record; `None` when it is missing or is not a record.
fn load_record(state: &AppState, id: &str) -> Result<Option<Record>, ApiError> {
    let Some(bytes) = state.storage.docs.load(id).map_err(store_error)? else {
        return Ok(None);
    };
    let doc = gendan_core::guard::load(&bytes)
        .map_err(|e| ApiError::internal(format!("stored document {id} does not load: {e}")))?;
    Ok(Record::from_doc(doc).ok())
}

/// Stored record `id` read as `T` when it is a record of `record_type` (`None` when it is
/// missing or of another type), from the cache of derived values while the document has
/// not changed since it was last read ([`crate::derived`]).
pub(crate) fn cached_read<T: Hydrate + Any + Send + Sync>(
    state: &AppState,
    id: &str,
    record_type: RecordType,
) -> Result<Option<Arc<T>>, ApiError> {
    cached(state, id, |record| {
        if record.record_type() != record_type {
            return Ok(None);
        }
        record.read::<T>().map(Some).map_err(|e| e.to_string())
    })
}

/// `derive` of stored record `id` through the cache of derived values.
fn cached<T: Any + Send + Sync>(
    state: &AppState,
    id: &str,
    derive: impl FnOnce(&Record) -> Result<Option<T>, String>,
) -> Result<Option<Arc<T>>, ApiError> {
    state
        .storage
        .derived
        .get(&state.storage.docs, id, derive)
        .map_err(store_error)
}

/// What the defect Pareto needs of one inspection: factory, style and its defects'
/// pieces by description and class (voided and empty ones left out).
struct InspectionDefects {
    factory: String,
    style_no: String,
    defects: Vec<(String, DefectClass, i64)>,
}

fn inspection_defects(record: &Record) -> Result<Option<InspectionDefects>, String> {
    if record.record_type() != RecordType::Inspection {
        return Ok(None);
    }
    let inspection: Inspection = record.read().map_err(|e| e.to_string())?;
    let defects = inspection
        .defects
        .values()
        .filter(|d| d.voided.is_none() && d.qty.value() > 0)
        .map(|d| (d.description.trim().to_string(), d.class, d.qty.value()))
        .collect();
    Ok(Some(InspectionDefects {
        factory: inspection.factory,
        style_no: inspection.style_no,
        defects,
    }))
}

/// An order as the T&A risk reads it (`plan::risk_report`: milestones, the weekly schedule,
/// packaging, dates and names), without what risk never reads (the activity log, notes,
/// handover, samples), so the cache keeps orders small.
fn order_for_risk(record: &Record) -> Result<Option<Order>, String> {
    if record.record_type() != RecordType::Order {
        return Ok(None);
    }
    let mut order: Order = record.read().map_err(|e| e.to_string())?;
    order.activity.clear();
    order.notes.clear();
    order.handover_items.clear();
    order.handover_decisions.clear();
    order.samples.clear();
    Ok(Some(order))
}

/// Up to `max` summaries of records of `record_type`, and whether there were more.
fn summaries_of(
    state: &AppState,
    record_type: RecordType,
    max: usize,
) -> Result<(Vec<RecordSummary>, bool), ApiError> {
    let projections = &state.storage.projections;
    let ids = projections
        .ids_by(IndexField::RecordType, record_type.as_str(), None, max + 1)
        .map_err(store_error)?;
    let truncated = ids.len() > max;
    let mut out = Vec::with_capacity(ids.len().min(max));
    for id in ids.into_iter().take(max) {
        if let Some(s) = projections.get(&id).map_err(store_error)?
            && s.record_type == record_type.as_str()
        {
            out.push(s);
        }
    }
    Ok((out, truncated))
}

// ---------------------------------------------------------------------------------------
// GET /dashboard

/// A milestone past its planned date and not done.
#[derive(Debug, Serialize)]
struct OverdueMilestone {
    order_id: String,
    order_no: String,
    style_no: String,
    factory: String,
    milestone: String,
    name: String,
    days: i64,
}

/// Late milestones of one factory: done late (by coded reason) and overdue now.
#[derive(Debug, Default, Serialize)]
struct FactoryLateness {
    factory: String,
    done_late: usize,
    overdue: usize,
    by_code: BTreeMap<String, usize>,
}

/// One defect of a Pareto: pieces per description and class, most first.
#[derive(Debug, Serialize)]
struct DefectBar {
    description: String,
    class: DefectClass,
    qty: i64,
}

/// Pieces per defect description and class, of one factory and style.
type DefectTotals = BTreeMap<(String, DefectClass), i64>;

/// The defects of one factory and style, most first.
#[derive(Debug, Serialize)]
struct DefectPareto {
    factory: String,
    style_no: String,
    inspections: usize,
    defects: Vec<DefectBar>,
}

/// An approval step waiting for the caller.
#[derive(Debug, Serialize)]
struct MyApproval {
    id: String,
    subject: String,
    order_no: String,
    kind: String,
    step: String,
    deadline_ms: Option<i64>,
    overdue: bool,
}

/// `GET /dashboard`: what the office should act on now. `{"today_ms", "at_risk",
/// "overdue_milestones", "blocked_pos", "failed_inspections", "pending_inspections",
/// "counts_waiting", "my_approvals", "late_by_factory", "defect_pareto", "truncated"}`.
pub async fn dashboard(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let session = office_session(&state, &headers)?;
    let value = blocking(move || dashboard_of(&state, &session, now_unix_ms())).await?;
    Ok(Json(value))
}

fn dashboard_of(state: &AppState, session: &Session, now_ms: i64) -> Result<Value, ApiError> {
    let mut truncated = false;

    // Orders: risk (the core's T&A assessment), overdue milestones, lateness per factory.
    let (order_summaries, more) = summaries_of(state, RecordType::Order, DASHBOARD_RECORDS_MAX)?;
    truncated |= more;
    let mut orders: Vec<(String, Arc<Order>)> = Vec::new();
    for s in &order_summaries {
        if let Some(order) = cached(state, &s.id, order_for_risk)? {
            orders.push((s.id.clone(), order));
        }
    }
    let report = plan::risk_report(orders.iter().map(|(id, o)| (id.as_str(), &**o)), now_ms);
    let mut overdue = Vec::new();
    let mut lateness: BTreeMap<String, FactoryLateness> = BTreeMap::new();
    for risk in &report {
        let entry = lateness
            .entry(risk.factory.clone())
            .or_insert_with(|| FactoryLateness {
                factory: risk.factory.clone(),
                ..FactoryLateness::default()
            });
        for (code, n) in &risk.late_by_code {
            entry.done_late += n;
            *entry.by_code.entry(code.clone()).or_default() += n;
        }
        for alarm in &risk.alarms {
            if let Alarm::MilestoneOverdue { id, name, days } = alarm {
                entry.overdue += 1;
                overdue.push(OverdueMilestone {
                    order_id: risk.order_id.clone(),
                    order_no: risk.order_no.clone(),
                    style_no: risk.style_no.clone(),
                    factory: risk.factory.clone(),
                    milestone: id.clone(),
                    name: name.clone(),
                    days: *days,
                });
            }
        }
    }
    overdue.sort_by(|a, b| b.days.cmp(&a.days).then(a.order_no.cmp(&b.order_no)));
    let at_risk: Vec<_> = report
        .iter()
        .filter(|r| r.level >= RiskLevel::Watch)
        .take(DASHBOARD_LIST_MAX)
        .collect();
    let late_by_factory: Vec<_> = lateness
        .into_values()
        .filter(|f| f.done_late + f.overdue > 0)
        .collect();

    // Purchase orders not released whose payment gate is closed.
    let (po_summaries, more) =
        summaries_of(state, RecordType::PurchaseOrder, DASHBOARD_RECORDS_MAX)?;
    truncated |= more;
    let mut blocked = Vec::new();
    for s in po_summaries.iter().filter(|s| s.status != "released") {
        let Some(po) = cached_read::<PurchaseOrder>(state, &s.id, RecordType::PurchaseOrder)?
        else {
            continue;
        };
        // An order with no commercial side has no known gate: not listed as blocked.
        let Ok(gate) = super::records::payment_gate_of(state, &po) else {
            continue;
        };
        if let Gate::Blocked { .. } = gate {
            blocked.push(json!({
                "id": s.id, "po_no": po.po_no, "order_no": po.order_no,
                "style_no": po.style_no, "factory": po.factory, "gate": gate,
            }));
        }
    }
    blocked.truncate(DASHBOARD_LIST_MAX);

    // Inspections: failed, and not yet signed off; the defect Pareto per factory and style.
    let (inspections, more) = summaries_of(state, RecordType::Inspection, DASHBOARD_RECORDS_MAX)?;
    truncated |= more;
    let mut failed: Vec<&RecordSummary> = Vec::new();
    let mut pending: Vec<&RecordSummary> = Vec::new();
    let mut pareto: BTreeMap<(String, String), (usize, DefectTotals)> = BTreeMap::new();
    for s in &inspections {
        if s.verdict.as_deref() == Some("fail") {
            failed.push(s);
        } else if s.status != "signed" || s.verdict.as_deref() == Some("pending") {
            pending.push(s);
        }
        let Some(inspection) = cached(state, &s.id, inspection_defects)? else {
            continue;
        };
        let key = (inspection.factory.clone(), inspection.style_no.clone());
        let (count, bars) = pareto.entry(key).or_default();
        *count += 1;
        for (description, class, qty) in &inspection.defects {
            *bars.entry((description.clone(), *class)).or_default() += qty;
        }
    }
    let by_due = |a: &&RecordSummary, b: &&RecordSummary| {
        (a.due_ms.unwrap_or(u64::MAX), &a.id).cmp(&(b.due_ms.unwrap_or(u64::MAX), &b.id))
    };
    failed.sort_by(by_due);
    pending.sort_by(by_due);
    failed.truncate(DASHBOARD_LIST_MAX);
    pending.truncate(DASHBOARD_LIST_MAX);
    let defect_pareto: Vec<DefectPareto> = pareto
        .into_iter()
        .filter(|(_, (_, bars))| !bars.is_empty())
        .map(|((factory, style_no), (inspections, bars))| {
            let mut defects: Vec<DefectBar> = bars
                .into_iter()
                .map(|((description, class), qty)| DefectBar {
                    description,
                    class,
                    qty,
                })
                .collect();
            defects.sort_by(|a, b| b.qty.cmp(&a.qty).then(a.description.cmp(&b.description)));
            DefectPareto {
                factory,
                style_no,
                inspections,
                defects,
            }
        })
        .collect();

    // Stock counts submitted and waiting for approval.
    let (counts, more) = summaries_of(state, RecordType::StockCount, DASHBOARD_RECORDS_MAX)?;
    truncated |= more;
    let mut waiting: Vec<&RecordSummary> =
        counts.iter().filter(|s| s.status == "submitted").collect();
    waiting.sort_by(by_due);
    waiting.truncate(DASHBOARD_LIST_MAX);

    // Approval steps the caller may decide now.
    let (approvals, more) = summaries_of(state, RecordType::Approval, DASHBOARD_RECORDS_MAX)?;
    truncated |= more;
    let mut mine = Vec::new();
    // The steps the caller decides: by a job title (the general manager's special approval)
    // or by their role, as the decision check allows.
    let principal = session.user.principal();
    let roles = principal.decision_roles();
    for s in approvals.iter().filter(|s| s.status == "pending") {
        let Some(req) = cached_read::<ApprovalRequest>(state, &s.id, RecordType::Approval)? else {
            continue;
        };
        if let Some(step) = approval::waiting_for(&req, &session.user.username, &roles, now_ms) {
            let view = approval::view(&req, now_ms);
            mine.push(MyApproval {
                id: s.id.clone(),
                subject: req.subject.clone(),
                order_no: req.order_no.clone(),
                kind: req.kind.to_string(),
                step,
                deadline_ms: view.deadline_ms,
                overdue: view.overdue,
            });
        }
    }
    mine.sort_by(|a, b| {
        (a.deadline_ms.unwrap_or(i64::MAX), &a.id).cmp(&(b.deadline_ms.unwrap_or(i64::MAX), &b.id))
    });
    mine.truncate(DASHBOARD_LIST_MAX);

    overdue.truncate(DASHBOARD_LIST_MAX);
    Ok(json!({
        "today_ms": now_ms,
        "at_risk": at_risk,
        "overdue_milestones": overdue,
        "blocked_pos": blocked,
        "failed_inspections": failed,
        "pending_inspections": pending,
        "counts_waiting": waiting,
        "my_approvals": mine,
        "late_by_factory": late_by_factory,
        "defect_pareto": defect_pareto,
        "truncated": truncated,
    }))
}

// ---------------------------------------------------------------------------------------
// GET /orders/{order_no}/timeline

/// One thing that happened to a record of the order.
#[derive(Debug, Clone, Serialize)]
struct Event {
    /// When it was done, ms: the time the editing device stamped on the change (a device
    /// that was offline syncs later), or the activity log entry's time.
    at_ms: i64,
    /// When the server received it, ms, if it is attributed.
    received_ms: Option<u64>,
    /// Who: the authenticated user who delivered it, else the author named in the change.
    user: String,
    /// The record.
    record_id: String,
    record_type: String,
    title: String,
    /// What: the operation (`create`, `tally_defect`, `approve`, …), or `activity` for an
    /// entry of the order's activity log.
    what: String,
    /// The activity log's text, if any (English).
    text: String,
    /// The activity log entry's code (`gendan_core::order::ACTIVITY_CODES`), empty for an
    /// entry written before codes were kept: the apps word it in their language.
    code: String,
    /// The values the code names.
    params: BTreeMap<String, String>,
    /// Consecutive changes of the same kind by the same user on the same record.
    count: usize,
}

/// The events of one record: its changes, oldest first, consecutive ones of the same kind
/// by the same user merged; for an order, its activity log in place of its `order` edits.
fn record_events(
    state: &AppState,
    summary: &RecordSummary,
    record: &mut Record,
) -> Result<Vec<Event>, ApiError> {
    let is_order = record.record_type() == RecordType::Order;
    let mut events: Vec<Event> = Vec::new();
    for c in record.doc_mut().get_changes_meta(&[]) {
        let hash = c.hash.to_string();
        let attribution = state
            .storage
            .attribution
            .get(&summary.id, &hash)
            .map_err(store_error)?;
        let message = c.message.as_deref().unwrap_or_default();
        let (author, what) = message.split_once(": ").unwrap_or(("", message));
        let what = what.trim().to_lowercase().replace(' ', "_");
        if is_order && what == "order" {
            continue; // in the activity log, with its text
        }
        let at_ms = c.timestamp.saturating_mul(1000);
        let (user, received_ms) = match attribution {
            Some(a) => (a.user, Some(a.at_ms)),
            None => (author.to_string(), None),
        };
        if let Some(last) = events.last_mut()
            && last.user == user
            && last.what == what
        {
            last.count += 1;
            last.at_ms = last.at_ms.max(at_ms);
            last.received_ms = last.received_ms.max(received_ms);
            continue;
        }
        events.push(Event {
            at_ms,
            received_ms,
            user,
            record_id: summary.id.clone(),
            record_type: summary.record_type.clone(),
            title: summary.title.clone(),
            what,
            text: String::new(),
            code: String::new(),
            params: BTreeMap::new(),
            count: 1,
        });
    }
    if is_order {
        let order: Order = record.read().map_err(store_error)?;
        for entry in order.activity.values() {
            events.push(Event {
                at_ms: entry.at_ms.0,
                received_ms: None,
                user: entry.by.clone(),
                record_id: summary.id.clone(),
                record_type: summary.record_type.clone(),
                title: summary.title.clone(),
                what: "activity".into(),
                text: entry.text.clone(),
                code: entry.code.clone(),
                params: entry.params.clone(),
                count: 1,
            });
        }
    }
    Ok(events)
}

/// `GET /orders/{order_no}/timeline`: every record of the order (summaries), its risk and
/// payment gate, and one timeline of what happened to them, oldest first: `{"order_no",
/// "records", "risk", "gates", "events", "truncated"}`. 404 when no record has the number.
pub async fn timeline(
    State(state): State<AppState>,
    headers: HeaderMap,
    order_no: Result<Path<String>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    let session = office_session(&state, &headers)?;
    let order_no = path(order_no)?;
    let order_no = order_no.trim().to_string();
    if order_no.is_empty() {
        return Err(ApiError::bad_request("order_no: is required"));
    }
    if order_no.len() > ORDER_NO_BYTES_MAX {
        return Err(ApiError::bad_request(format!(
            "order_no: {} bytes is over the limit of {ORDER_NO_BYTES_MAX}",
            order_no.len()
        )));
    }
    drop(session);
    let value = blocking(move || timeline_of(&state, &order_no, now_unix_ms())).await?;
    Ok(Json(value))
}

fn timeline_of(state: &AppState, order_no: &str, now_ms: i64) -> Result<Value, ApiError> {
    let projections = &state.storage.projections;
    let ids = projections
        .ids_by(IndexField::OrderNo, order_no, None, ORDER_RECORDS_MAX + 1)
        .map_err(store_error)?;
    let mut truncated = ids.len() > ORDER_RECORDS_MAX;
    let mut records = Vec::new();
    let mut events = Vec::new();
    let mut risk = None;
    let mut gates = Vec::new();
    for id in ids.into_iter().take(ORDER_RECORDS_MAX) {
        let Some(summary) = projections.get(&id).map_err(store_error)? else {
            continue;
        };
        // The index keeps a cut value: compare the whole number.
        if summary.order_no.as_deref().map(str::trim) != Some(order_no) {
            continue;
        }
        let Some(mut record) = load_record(state, &id)? else {
            continue;
        };
        events.extend(record_events(state, &summary, &mut record)?);
        match record.record_type() {
            RecordType::Order if risk.is_none() => {
                let order: Order = record.read().map_err(store_error)?;
                risk = Some(plan::assess(&id, &order, now_ms));
            }
            RecordType::PurchaseOrder => {
                let po: PurchaseOrder = record.read().map_err(store_error)?;
                let gate = super::records::payment_gate_of(state, &po).ok();
                gates.push(json!({ "id": id, "po_no": po.po_no, "gate": gate }));
            }
            _ => {}
        }
        records.push(summary);
    }
    if records.is_empty() {
        return Err(
            ApiError::not_found(format!("there is no record of order {order_no}"))
                .with_code(codes::ORDER_NOT_FOUND)
                .with_param("order_no", order_no),
        );
    }
    events.sort_by(|a, b| {
        a.at_ms
            .cmp(&b.at_ms)
            .then_with(|| a.record_id.cmp(&b.record_id))
    });
    if events.len() > TIMELINE_EVENTS_MAX {
        truncated = true;
        events.drain(..events.len() - TIMELINE_EVENTS_MAX);
    }
    records.sort_by(|a, b| (&a.record_type, &a.id).cmp(&(&b.record_type, &b.id)));
    Ok(json!({
        "order_no": order_no,
        "records": records,
        "risk": risk,
        "gates": gates,
        "events": events,
        "truncated": truncated,
    }))
}

// ---------------------------------------------------------------------------------------
// GET /search

/// `GET /search` query.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SearchQuery {
    /// The text: part of an order no., style no., customer, factory or title.
    pub q: Option<String>,
    /// Only records of this type.
    #[serde(rename = "type")]
    pub record_type: Option<String>,
    /// Page size.
    pub limit: Option<usize>,
    /// Cursor (the `next` of the previous page).
    pub after: Option<String>,
}

/// An order found by a search, with how many of the page's records belong to it.
#[derive(Debug, Serialize)]
struct OrderHit {
    order_no: String,
    style_no: String,
    customer: String,
    factory: String,
    records: usize,
}

/// `GET /search?q=…[&type=][&limit=][&after=]`: records whose order no., style no.,
/// customer, factory or title contains `q` (any case), in pages, and the orders they
/// belong to: `{"items", "orders", "next"}`.
pub async fn search(
    State(state): State<AppState>,
    headers: HeaderMap,
    q: Result<Query<SearchQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    office_session(&state, &headers)?;
    let q = query(q)?;
    let Some(text) = non_empty(q.q).map(|t| t.trim().to_string()) else {
        return Err(ApiError::bad_request("q: the search text is required"));
    };
    if text.len() > SEARCH_TEXT_BYTES_MAX {
        return Err(ApiError::bad_request(format!(
            "q: {} bytes is over the limit of {SEARCH_TEXT_BYTES_MAX}",
            text.len()
        )));
    }
    let limit = q.limit.unwrap_or(SEARCH_LIMIT_DEFAULT);
    if limit == 0 || limit > SEARCH_LIMIT_MAX {
        return Err(ApiError::bad_request(format!(
            "limit: a page of {limit} records is outside 1..={SEARCH_LIMIT_MAX}"
        )));
    }
    let record_type = match non_empty(q.record_type) {
        None => None,
        Some(t) => Some(
            t.parse::<RecordType>()
                .map_err(|e| ApiError::bad_request(format!("type: {e}")))?
                .to_string(),
        ),
    };
    let filter = Filter {
        record_type,
        q: Some(text),
        limit: Some(limit),
        after: non_empty(q.after),
        ..Filter::default()
    };
    let page = blocking(move || {
        state
            .storage
            .projections
            .query(&filter)
            .map_err(|e| ApiError::bad_request(e.to_string()))
    })
    .await?;
    let mut orders: BTreeMap<String, OrderHit> = BTreeMap::new();
    for s in &page.items {
        let Some(order_no) = s.order_no.clone().filter(|n| !n.trim().is_empty()) else {
            continue;
        };
        let hit = orders.entry(order_no.clone()).or_insert_with(|| OrderHit {
            order_no,
            style_no: String::new(),
            customer: String::new(),
            factory: String::new(),
            records: 0,
        });
        hit.records += 1;
        for (have, field) in [
            (&mut hit.style_no, &s.style_no),
            (&mut hit.customer, &s.customer),
            (&mut hit.factory, &s.factory),
        ] {
            if have.is_empty()
                && let Some(v) = field
            {
                have.clone_from(v);
            }
        }
    }
    let orders: Vec<OrderHit> = orders.into_values().collect();
    Ok(Json(
        json!({ "items": page.items, "orders": orders, "next": page.next }),
    ))
}

// ---------------------------------------------------------------------------------------
// GET /assignees

/// `GET /assignees` query.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct AssigneesQuery {
    /// Only users who could work on a record of this type once assigned to it.
    #[serde(rename = "type")]
    pub record_type: Option<String>,
}

/// `GET /assignees[?type=inspection]`: the enabled field users work can be assigned to,
/// `{"items": [{"username", "display_name", "role", "factory", "warehouse"}]}`. With a
/// type, only those whose role may write such a record when assigned to it (the core's
/// access rule): a QC inspector is never offered a shipment check they could not open.
pub async fn assignees(
    State(state): State<AppState>,
    headers: HeaderMap,
    q: Result<Query<AssigneesQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    office_session(&state, &headers)?;
    let q = query(q)?;
    let record_type = match non_empty(q.record_type) {
        None => None,
        Some(t) => Some(
            t.parse::<RecordType>()
                .map_err(|e| ApiError::bad_request(format!("type: {e}")))?,
        ),
    };
    let users = blocking(move || state.storage.accounts.list_users().map_err(store_error)).await?;
    let items: Vec<Value> = users
        .into_iter()
        .filter(|u| !u.disabled && !u.role.is_office())
        .filter(|u| {
            record_type.is_none_or(|t| {
                let header = RecordHeader {
                    record_type: t,
                    assignees: [(u.username.clone(), true)].into_iter().collect(),
                    ..RecordHeader::default()
                };
                record_access(&u.principal(), &header) == Access::Write
            })
        })
        .map(|u| {
            json!({
                "username": u.username, "display_name": u.display_name, "role": u.role,
                "factory": u.factory, "warehouse": u.warehouse,
            })
        })
        .collect();
    Ok(Json(json!({ "items": items })))
}
