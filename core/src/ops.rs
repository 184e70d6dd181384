//! One entry point for every record type: apply an operation given as JSON, and read a
//! record's view (stored fields plus derived values) as JSON. The WASM bindings and the
//! server's REST API both go through here, so they can never disagree on the rules.

use serde::Serialize;

use crate::common::EditContext;
use crate::record::{Record, RecordError, RecordType, parse_op};
use crate::{approval, inspection, order, purchase_order, shipment, stock_count};

/// Who is asking to see a record, for the rules that depend on it (blind counts).
#[derive(Debug, Clone, Copy)]
pub struct Viewer<'a> {
    /// The username.
    pub user: &'a str,
    /// Whether the viewer works in the office (sees expected quantities of blind counts).
    pub office: bool,
}

/// Applies an operation, given as a JSON object with an `op` tag, to a record of any type.
/// Approval decisions are not applied here: they need the user's roles
/// (see [`approval::decide`]).
pub fn apply_json(
    record: &mut Record,
    op_json: &str,
    ctx: &EditContext,
) -> Result<(), RecordError> {
    match record.record_type() {
        RecordType::Inspection => inspection::apply(record, &parse_op(op_json)?, ctx),
        RecordType::StockCount => stock_count::apply(record, &parse_op(op_json)?, ctx),
        RecordType::ShipmentCheck => shipment::apply(record, &parse_op(op_json)?, ctx),
        RecordType::PurchaseOrder => purchase_order::apply(record, &parse_op(op_json)?, ctx),
        RecordType::OrderCommercial => order::apply_commercial(record, &parse_op(op_json)?, ctx),
        RecordType::Order => {
            let op: order::OrderOp = parse_op(op_json)?;
            // The activity log entry gets an id made of the user and the time: one user
            // makes at most one edit per millisecond on one device.
            let log_id = format!("{}:{}", ctx.now_ms, ctx.user);
            order::apply(record, &op, &log_id, ctx)
        }
        other => Err(RecordError::NotAllowed(format!(
            "{other} records are not edited with operations"
        ))),
    }
}

fn to_json<T: Serialize>(value: &T) -> Result<serde_json::Value, RecordError> {
    serde_json::to_value(value).map_err(|e| RecordError::BadOperation(e.to_string()))
}

/// The view of a record of any type as JSON: `{"record": …, "derived": …}`.
pub fn view_json(record: &Record, viewer: Viewer<'_>) -> Result<serde_json::Value, RecordError> {
    match record.record_type() {
        RecordType::Inspection => to_json(&inspection::view(record)?),
        RecordType::StockCount => to_json(&stock_count::view(record, viewer.user, viewer.office)?),
        RecordType::ShipmentCheck => to_json(&shipment::view(record)?),
        RecordType::Approval => {
            let req: approval::ApprovalRequest = record.read()?;
            let derived = approval::derive(&req);
            to_json(&serde_json::json!({ "record": req, "derived": derived }))
        }
        RecordType::Order => {
            let o: order::Order = record.read()?;
            to_json(&serde_json::json!({ "record": o, "derived": {} }))
        }
        RecordType::OrderCommercial => {
            let o: order::OrderCommercial = record.read()?;
            to_json(&serde_json::json!({ "record": o, "derived": {} }))
        }
        RecordType::PurchaseOrder => {
            let o: purchase_order::PurchaseOrder = record.read()?;
            to_json(&serde_json::json!({ "record": o, "derived": {} }))
        }
        RecordType::UserIndex | RecordType::Unknown => {
            let header = record.header()?;
            to_json(&serde_json::json!({ "record": header, "derived": {} }))
        }
    }
}

/// Creates a record of `record_type` from a JSON description of what it starts with.
pub fn create_json(
    record_type: RecordType,
    new_json: &str,
    actor: automerge::ActorId,
    ctx: &EditContext,
) -> Result<Record, RecordError> {
    match record_type {
        RecordType::Inspection => inspection::create(&parse_op(new_json)?, actor, ctx),
        RecordType::StockCount => stock_count::create(&parse_op(new_json)?, actor, ctx),
        RecordType::ShipmentCheck => shipment::create(&parse_op(new_json)?, actor, ctx),
        RecordType::Order => order::create(&parse_op(new_json)?, actor, ctx),
        RecordType::PurchaseOrder => purchase_order::create(&parse_op(new_json)?, actor, ctx),
        RecordType::Approval => approval::create(&parse_op(new_json)?, actor, ctx),
        other => Err(RecordError::NotAllowed(format!(
            "{other} records are not created this way"
        ))),
    }
}
