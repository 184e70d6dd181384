//! Purchase order (采购合同) to a supplier factory, with the production process sheet
//! (产品生产工艺单: construction, workmanship, carton packing) and the accessories list
//! (辅料清单: labels, hang tags, stickers, their positions and pictures). QC inspects
//! against these.
//!
//! The flow, from the seed ("跟单工作流程" 2.1): the merchandiser drafts the PO from the
//! order ([`draft_from_order`]) with the process sheet and the accessories list (every PO
//! carries both); sales checks it — returning it for correction until it is right — and
//! signs; the general manager signs; then it is released to the factory. Content is frozen
//! once sales has signed (a correction removes the signature).
//!
//! Release also needs the payment gate to be open ([`crate::payment_gate`]). The core's own
//! release takes the gate as input ([`apply_with_gate`], [`crate::ops::apply_json_with_gate`]);
//! the server's write check calls [`check_release`] on the PO before and after a change set
//! with the gate it derived itself, so a client cannot release past a closed gate.

use std::collections::BTreeMap;

use automerge::ROOT;
use autosurgeon::{Hydrate, Reconcile};
use serde::{Deserialize, Serialize};

use crate::common::{
    COLLECTION_ITEMS_MAX, EditContext, Int, PhotoRef, Problem, SHORT_TEXT_BYTES_MAX, SignOff,
    TEXT_BYTES_MAX, Username, check_required, check_text, is_sha256_hex,
};
use crate::record::{
    Record, RecordError, RecordType, ensure_map, insert_item, item_map, problems_to_result,
    put_value,
};

/// The top-level collections of a purchase order.
pub const COLLECTIONS: &[&str] = &["lines", "accessories", "signatures", "corrections"];

/// The production process sheet (产品生产工艺单).
#[derive(Debug, Clone, Default, PartialEq, Hydrate, Reconcile, Serialize, Deserialize)]
#[serde(default)]
pub struct ProcessSheet {
    /// Construction.
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub construction: String,
    /// Workmanship requirements.
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub workmanship: String,
    /// Carton packing instructions.
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub carton_packing: String,
}

/// One accessory of the accessories list (辅料清单).
#[derive(Debug, Clone, Default, PartialEq, Hydrate, Reconcile, Serialize, Deserialize)]
#[serde(default)]
pub struct Accessory {
    /// What: label, hang tag, sticker…
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub item: String,
    /// Details.
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub description: String,
    /// Where it goes on the product.
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub position: String,
    /// Pictures, keyed by SHA-256.
    #[autosurgeon(missing = "Default::default")]
    pub pictures: BTreeMap<String, PhotoRef>,
}

/// A PO line.
#[derive(Debug, Clone, Default, PartialEq, Hydrate, Reconcile, Serialize, Deserialize)]
#[serde(default)]
pub struct PoLine {
    /// The order line it fulfils.
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub order_line: String,
    /// Colour.
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub colour: String,
    /// Quantity per size.
    #[autosurgeon(missing = "Default::default")]
    pub sizes: BTreeMap<String, Int>,
}

/// A purchase order, as stored.
#[derive(Debug, Clone, Default, PartialEq, Hydrate, Reconcile, Serialize, Deserialize)]
pub struct PurchaseOrder {
    /// Always `purchase_order`.
    #[autosurgeon(missing = "Default::default", rename = "type")]
    #[serde(rename = "type")]
    pub record_type: RecordType,
    /// Schema version.
    #[autosurgeon(missing = "Default::default")]
    pub schema: Int,
    /// Who created it.
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub created_by: Username,
    /// When, ms.
    #[autosurgeon(missing = "Default::default")]
    pub created_at_ms: Int,
    /// Users assigned.
    #[autosurgeon(missing = "Default::default")]
    pub assignees: BTreeMap<String, bool>,
    /// The supplier factory.
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub factory: String,
    /// Warehouse.
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub warehouse: String,
    /// PO number (采购合同号).
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub po_no: String,
    /// The document id of the order (production side).
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub order_id: String,
    /// Order number.
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub order_no: String,
    /// Style number.
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub style_no: String,
    /// Ex-factory date, ms.
    #[autosurgeon(missing = "Default::default")]
    pub ex_factory_ms: Int,
    /// Lines keyed by id.
    #[autosurgeon(missing = "Default::default")]
    pub lines: BTreeMap<String, PoLine>,
    /// Process sheet.
    #[autosurgeon(missing = "Default::default")]
    pub process_sheet: ProcessSheet,
    /// Accessories keyed by id.
    #[autosurgeon(missing = "Default::default")]
    pub accessories: BTreeMap<String, Accessory>,
    /// Signatures keyed by role (`sales`, `general_manager`).
    #[autosurgeon(missing = "Default::default")]
    pub signatures: BTreeMap<String, SignOff>,
    /// When released to the factory, ms (0 = not released).
    #[autosurgeon(missing = "Default::default")]
    pub released_ms: Int,
    /// Sales' requests for correction, keyed by id (如合同有误，需返回跟单员修改).
    #[autosurgeon(missing = "Default::default")]
    pub corrections: BTreeMap<String, Correction>,
}

/// A request by sales to correct the PO before signing.
#[derive(Debug, Clone, Default, PartialEq, Hydrate, Reconcile, Serialize, Deserialize)]
#[serde(default)]
pub struct Correction {
    /// What is wrong.
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub comment: String,
    /// Who asked.
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub by: Username,
    /// When, ms.
    #[autosurgeon(missing = "Default::default")]
    pub at_ms: Int,
    /// When the merchandiser said it is corrected, ms (0 = open).
    #[autosurgeon(missing = "Default::default")]
    pub resolved_ms: Int,
}

crate::common::string_enum! {
    /// Where a PO stands, derived from its signatures and release.
    pub enum PoStatus (Draft) {
        /// Being drafted or corrected by the merchandiser.
        Draft = "draft",
        /// Checked and signed by sales.
        SignedBySales = "signed_by_sales",
        /// Signed by the general manager too: ready to release once the gate is open.
        SignedByGeneralManager = "signed_by_general_manager",
        /// Released to the factory.
        Released = "released",
    }
}

/// The PO's status.
pub fn status(po: &PurchaseOrder) -> PoStatus {
    if po.released_ms.0 > 0 {
        PoStatus::Released
    } else if po.signatures.contains_key(GENERAL_MANAGER_SIGNATURE) {
        PoStatus::SignedByGeneralManager
    } else if po.signatures.contains_key(SALES_SIGNATURE) {
        PoStatus::SignedBySales
    } else {
        PoStatus::Draft
    }
}

/// The signature key of sales' check (在合同背面签名确认).
pub const SALES_SIGNATURE: &str = "sales";
/// The signature key of the general manager (签字盖章).
pub const GENERAL_MANAGER_SIGNATURE: &str = "general_manager";

/// The job titles (or access role names) that may sign the PO in `slot`: sales' check by
/// a sales representative (the title [`crate::chains::SALES_REP`], or the `sales` access
/// role: 业务员审核合同无误后必须在合同背面签名确认), the general manager's signature by the
/// general manager (然后交由总经理签字盖章). Any other slot is nobody's: empty.
pub fn signature_titles(slot: &str) -> Vec<String> {
    match slot {
        SALES_SIGNATURE => vec![crate::chains::SALES_REP.to_string(), "sales".to_string()],
        GENERAL_MANAGER_SIGNATURE => vec![crate::chains::GENERAL_MANAGER.to_string()],
        _ => Vec::new(),
    }
}

/// Who may return a PO for correction: whoever may make its sales signature (the sales
/// representative checks the PO and returns it to the merchandiser when it is wrong: 如合同有
/// 误，需返回跟单员修改), under their own name. Looks only at corrections new since `was`.
pub fn correction_problems(
    was: &PurchaseOrder,
    now: &PurchaseOrder,
    user: &str,
    roles: &[&str],
) -> Vec<Problem> {
    let mut problems = Vec::new();
    let allowed = signature_titles(SALES_SIGNATURE);
    for (id, c) in &now.corrections {
        if was.corrections.contains_key(id) {
            continue;
        }
        let path = format!("corrections.{id}");
        if !roles.iter().any(|r| allowed.iter().any(|a| a == r)) {
            problems.push(
                Problem::new(
                    path.clone(),
                    format!(
                        "only sales returns a PO for correction: it needs the job title {}; you hold: {}",
                        allowed.join(" or "),
                        crate::access::roles_text(roles)
                    ),
                )
                .with_code("po.correction_by_sales")
                .with_param("titles", allowed.join(", "))
                .with_param("held", crate::access::roles_text(roles)),
            );
        }
        if c.by != user {
            problems.push(
                Problem::new(
                    path,
                    format!(
                        "is asked as {:?}: a correction is asked only under your own name",
                        c.by
                    ),
                )
                .with_code("sign_off.not_own"),
            );
        }
    }
    problems
}

/// Everything that stops the PO's release apart from the payment gate: signatures and the
/// attachments every PO must carry.
pub fn release_problems(po: &PurchaseOrder) -> Vec<Problem> {
    let mut problems = Vec::new();
    for (part, text) in [
        ("construction", &po.process_sheet.construction),
        ("workmanship", &po.process_sheet.workmanship),
        ("carton_packing", &po.process_sheet.carton_packing),
    ] {
        if text.trim().is_empty() {
            problems.push(Problem::new(
                format!("process_sheet.{part}"),
                "the production process sheet must say it (产品生产工艺单)",
            ));
        }
    }
    if po.accessories.is_empty() {
        problems.push(Problem::new(
            "accessories",
            "every PO carries the accessories list (辅料清单)",
        ));
    }
    for (id, a) in &po.accessories {
        if a.position.trim().is_empty() {
            problems.push(Problem::new(
                format!("accessories.{id}.position"),
                "must say where it goes",
            ));
        }
        if a.pictures.is_empty() {
            problems.push(Problem::new(
                format!("accessories.{id}.pictures"),
                "must be shown with a picture or drawing",
            ));
        }
    }
    for role in [SALES_SIGNATURE, GENERAL_MANAGER_SIGNATURE] {
        if !po.signatures.contains_key(role) {
            problems.push(Problem::new(
                format!("signatures.{role}"),
                "is required before release",
            ));
        }
    }
    problems
}

/// For the server's write check: refuses a change set that releases the PO (its release
/// time goes from unset to set, or changes once set) while `gate` is closed. `before` is the
/// PO as stored, `after` the PO with the change set applied, `gate` the gate the server
/// derived from the order's commercial side and special approvals.
pub fn check_release(
    before: &PurchaseOrder,
    after: &PurchaseOrder,
    gate: &crate::payment_gate::Gate,
) -> Result<(), Problem> {
    if after.released_ms == before.released_ms || after.released_ms.0 <= 0 {
        return Ok(());
    }
    if before.released_ms.0 > 0 {
        return Err(Problem::new(
            "released_ms",
            "the PO was already released; its release cannot be changed",
        ));
    }
    if !gate.is_open() {
        let why = match gate {
            crate::payment_gate::Gate::Blocked { message, .. } => message.as_str(),
            _ => "",
        };
        return Err(Problem::new(
            "released_ms",
            format!("the payment gate is closed: {why}"),
        ));
    }
    if let Some(p) = release_problems(after).into_iter().next() {
        return Err(p);
    }
    Ok(())
}

/// A new PO drafted from the order: its numbers, factory, lines with their size breakdowns,
/// and the ex-factory date `ex_factory_days_before` days before delivery. The process sheet
/// and accessories are given by the merchandiser.
pub fn draft_from_order(
    order: &crate::order::Order,
    order_id: &str,
    po_no: &str,
    ex_factory_days_before: i64,
    process_sheet: ProcessSheet,
    accessories: BTreeMap<String, Accessory>,
) -> NewPurchaseOrder {
    NewPurchaseOrder {
        po_no: po_no.into(),
        order_id: order_id.into(),
        order_no: order.order_no.clone(),
        style_no: order.style_no.clone(),
        factory: order.factory.clone(),
        ex_factory_ms: if order.delivery_ms.0 > 0 {
            order.delivery_ms.0 - ex_factory_days_before * crate::calendar::DAY_MS
        } else {
            0
        },
        lines: order
            .lines
            .iter()
            .map(|(id, l)| {
                let sizes = if l.sizes.is_empty() {
                    [("all".to_string(), Int(l.total()))].into_iter().collect()
                } else {
                    l.sizes.clone()
                };
                (
                    id.clone(),
                    PoLine {
                        order_line: id.clone(),
                        colour: l.colour.clone(),
                        sizes,
                    },
                )
            })
            .collect(),
        process_sheet,
        accessories,
    }
}

/// What a new PO starts with.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct NewPurchaseOrder {
    /// PO number.
    pub po_no: String,
    /// Order document id.
    pub order_id: String,
    /// Order number.
    pub order_no: String,
    /// Style number.
    pub style_no: String,
    /// Factory.
    pub factory: String,
    /// Ex-factory date.
    pub ex_factory_ms: i64,
    /// Lines.
    pub lines: BTreeMap<String, PoLine>,
    /// Process sheet.
    pub process_sheet: ProcessSheet,
    /// Accessories list, keyed by id.
    pub accessories: BTreeMap<String, Accessory>,
}

/// Drafts a purchase order.
pub fn create(
    new: &NewPurchaseOrder,
    actor: automerge::ActorId,
    ctx: &EditContext,
) -> Result<Record, RecordError> {
    let mut problems = Vec::new();
    check_required(&mut problems, "po_no", &new.po_no);
    check_required(&mut problems, "factory", &new.factory);
    for (f, v) in [
        ("po_no", &new.po_no),
        ("order_no", &new.order_no),
        ("style_no", &new.style_no),
        ("factory", &new.factory),
    ] {
        check_text(&mut problems, f, v, SHORT_TEXT_BYTES_MAX);
    }
    for (f, v) in [
        (
            "process_sheet.construction",
            &new.process_sheet.construction,
        ),
        ("process_sheet.workmanship", &new.process_sheet.workmanship),
        (
            "process_sheet.carton_packing",
            &new.process_sheet.carton_packing,
        ),
    ] {
        check_text(&mut problems, f, v, TEXT_BYTES_MAX);
    }
    if new.accessories.len() > COLLECTION_ITEMS_MAX {
        problems.push(Problem::new(
            "accessories",
            format!("at most {COLLECTION_ITEMS_MAX}"),
        ));
    }
    for (id, a) in &new.accessories {
        if !crate::common::is_valid_item_id(id) {
            problems.push(Problem::new(
                format!("accessories.{id}"),
                "is not a valid id",
            ));
        }
        check_accessory(&mut problems, &format!("accessories.{id}"), a);
    }
    problems_to_result(problems)?;
    let initial = PurchaseOrder {
        record_type: RecordType::PurchaseOrder,
        po_no: new.po_no.clone(),
        order_id: new.order_id.clone(),
        order_no: new.order_no.clone(),
        style_no: new.style_no.clone(),
        factory: new.factory.clone(),
        ex_factory_ms: Int(new.ex_factory_ms),
        lines: new.lines.clone(),
        process_sheet: new.process_sheet.clone(),
        accessories: new.accessories.clone(),
        ..PurchaseOrder::default()
    };
    Record::create(RecordType::PurchaseOrder, actor, ctx, &initial)
}

/// One edit of a purchase order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum PurchaseOrderOp {
    /// Sets one part of the process sheet.
    SetProcess {
        /// `construction`, `workmanship` or `carton_packing`.
        part: String,
        /// The text.
        text: String,
    },
    /// Adds an accessory.
    AddAccessory {
        /// A new unique id.
        id: String,
        /// The accessory.
        accessory: Accessory,
    },
    /// Adds a picture to an accessory.
    AddAccessoryPicture {
        /// The accessory.
        id: String,
        /// The picture.
        picture: PhotoRef,
    },
    /// Signs the PO in a role (`sales` checks and signs, then `general_manager`).
    Sign {
        /// The role signed for.
        role: String,
        /// Printed name.
        name: String,
    },
    /// Records the release to the factory. Needs the payment gate: see [`apply_with_gate`].
    Release {
        /// When.
        released_ms: i64,
    },
    /// Sales returns the PO to the merchandiser for correction (removes sales' signature).
    ReturnForCorrection {
        /// A new unique id.
        id: String,
        /// What is wrong.
        comment: String,
    },
    /// The merchandiser reports a correction done.
    ResolveCorrection {
        /// The correction.
        id: String,
    },
}

fn check_accessory(problems: &mut Vec<Problem>, f: &str, accessory: &Accessory) {
    check_required(problems, &format!("{f}.item"), &accessory.item);
    check_text(
        problems,
        &format!("{f}.item"),
        &accessory.item,
        SHORT_TEXT_BYTES_MAX,
    );
    check_text(
        problems,
        &format!("{f}.description"),
        &accessory.description,
        TEXT_BYTES_MAX,
    );
    check_text(
        problems,
        &format!("{f}.position"),
        &accessory.position,
        SHORT_TEXT_BYTES_MAX,
    );
    if accessory.pictures.len() > crate::common::PHOTOS_PER_ITEM_MAX {
        problems.push(Problem::new(
            format!("{f}.pictures"),
            format!("at most {}", crate::common::PHOTOS_PER_ITEM_MAX),
        ));
    }
    for sha in accessory.pictures.keys() {
        if !is_sha256_hex(sha) {
            problems.push(Problem::new(
                format!("{f}.pictures"),
                "must be keyed by SHA-256 in hex",
            ));
        }
    }
}

/// Applies one edit of a purchase order without a payment gate: `Release` is refused here
/// (it needs the gate, which only the commercial side knows; see [`apply_with_gate`]).
pub fn apply(
    record: &mut Record,
    op: &PurchaseOrderOp,
    ctx: &EditContext,
) -> Result<(), RecordError> {
    apply_with_gate(record, op, None, ctx)
}

/// Applies one edit of a purchase order. `Release` is refused unless `gate` is given and
/// open, the attachments are complete and sales and the general manager have signed.
pub fn apply_with_gate(
    record: &mut Record,
    op: &PurchaseOrderOp,
    gate: Option<&crate::payment_gate::Gate>,
    ctx: &EditContext,
) -> Result<(), RecordError> {
    record.expect_type(RecordType::PurchaseOrder)?;
    let po: PurchaseOrder = record.read()?;
    if po.released_ms.0 > 0 && !matches!(op, PurchaseOrderOp::AddAccessoryPicture { .. }) {
        return Err(RecordError::not_allowed(
            "record.not_allowed.released",
            "the PO is released to the factory; it can no longer be changed",
        )
        .with_param("record_type", RecordType::PurchaseOrder));
    }
    let content_edit = matches!(
        op,
        PurchaseOrderOp::SetProcess { .. }
            | PurchaseOrderOp::AddAccessory { .. }
            | PurchaseOrderOp::AddAccessoryPicture { .. }
    );
    if content_edit && po.signatures.contains_key(SALES_SIGNATURE) {
        return Err(RecordError::not_allowed(
            "record.not_allowed.signed_by_sales",
            "sales has signed the PO; it must be returned for correction before it changes",
        )
        .with_param("record_type", RecordType::PurchaseOrder));
    }
    record.edit(ctx, "purchase order", |doc| match op {
        PurchaseOrderOp::SetProcess { part, text } => {
            if !matches!(
                part.as_str(),
                "construction" | "workmanship" | "carton_packing"
            ) {
                return Err(RecordError::invalid(
                    "part",
                    "must be construction, workmanship or carton_packing",
                ));
            }
            let mut problems = Vec::new();
            check_text(&mut problems, part, text, TEXT_BYTES_MAX);
            problems_to_result(problems)?;
            let sheet = ensure_map(doc, &ROOT, "process_sheet")?;
            put_value(doc, &sheet, part, text.as_str())
        }
        PurchaseOrderOp::AddAccessory { id, accessory } => {
            let mut problems = Vec::new();
            check_accessory(&mut problems, "accessory", accessory);
            problems_to_result(problems)?;
            insert_item(
                doc,
                &ROOT,
                "accessories",
                id,
                accessory,
                COLLECTION_ITEMS_MAX,
            )
        }
        PurchaseOrderOp::AddAccessoryPicture { id, picture } => {
            if !is_sha256_hex(&picture.sha256) {
                return Err(RecordError::invalid(
                    "picture.sha256",
                    "must be a SHA-256 in hex",
                ));
            }
            let obj = item_map(doc, "accessories", id)?;
            let pictures = ensure_map(doc, &obj, "pictures")?;
            put_value(doc, &pictures, &picture.sha256, picture)
        }
        PurchaseOrderOp::Sign { role, name } => {
            let mut problems = Vec::new();
            if !matches!(role.as_str(), "sales" | "general_manager") {
                problems.push(Problem::new("role", "must be sales or general_manager"));
            }
            if role == "general_manager" && !po.signatures.contains_key("sales") {
                problems.push(Problem::new(
                    "role",
                    "sales checks and signs before the general manager",
                ));
            }
            if role == SALES_SIGNATURE && po.corrections.values().any(|c| c.resolved_ms.0 <= 0) {
                problems.push(Problem::new(
                    "corrections",
                    "a correction asked for is not done yet",
                ));
            }
            check_required(&mut problems, "name", name);
            problems_to_result(problems)?;
            let signatures = ensure_map(doc, &ROOT, "signatures")?;
            put_value(
                doc,
                &signatures,
                role,
                &SignOff {
                    by: ctx.user.clone(),
                    name: name.clone(),
                    at_ms: Int(ctx.now_ms),
                    signature_sha256: String::new(),
                },
            )
        }
        PurchaseOrderOp::Release { released_ms } => {
            let mut problems = release_problems(&po);
            match gate {
                None => problems.push(Problem::new(
                    "payment_gate",
                    "release needs the payment gate of the order (apply_with_gate)",
                )),
                Some(g) if !g.is_open() => {
                    let why = match g {
                        crate::payment_gate::Gate::Blocked { message, .. } => message.clone(),
                        _ => String::new(),
                    };
                    problems.push(Problem::new("payment_gate", format!("is closed: {why}")));
                }
                Some(_) => {}
            }
            if *released_ms <= 0 {
                problems.push(Problem::new("released_ms", "must be a date"));
            }
            problems_to_result(problems)?;
            put_value(doc, &ROOT, "released_ms", Int(*released_ms))
        }
        PurchaseOrderOp::ReturnForCorrection { id, comment } => {
            let mut problems = Vec::new();
            check_required(&mut problems, "comment", comment);
            check_text(&mut problems, "comment", comment, TEXT_BYTES_MAX);
            if po.signatures.contains_key(GENERAL_MANAGER_SIGNATURE) {
                problems.push(Problem::new(
                    "signatures.general_manager",
                    "the general manager has signed; it is past correction by sales",
                ));
            }
            problems_to_result(problems)?;
            let c = Correction {
                comment: comment.clone(),
                by: ctx.user.clone(),
                at_ms: Int(ctx.now_ms),
                resolved_ms: Int(0),
            };
            insert_item(doc, &ROOT, "corrections", id, &c, COLLECTION_ITEMS_MAX)?;
            let signatures = ensure_map(doc, &ROOT, "signatures")?;
            if automerge::ReadDoc::get(doc, &signatures, SALES_SIGNATURE)?.is_some() {
                automerge::transaction::Transactable::delete(doc, &signatures, SALES_SIGNATURE)?;
            }
            Ok(())
        }
        PurchaseOrderOp::ResolveCorrection { id } => {
            let obj = item_map(doc, "corrections", id)?;
            put_value(doc, &obj, "resolved_ms", Int(ctx.now_ms))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::order::{self, NewOrder, Order, OrderLine, PaymentTerm};
    use crate::payment_gate::{BlockReason, Gate};
    use crate::record::actor_from_bytes;
    use wasm_bindgen_test::wasm_bindgen_test;

    const SHA: &str = "1111111111111111111111111111111111111111111111111111111111111111";

    fn order() -> Order {
        let mut lines = BTreeMap::new();
        let mut sizes = BTreeMap::new();
        sizes.insert("M".to_string(), Int(60));
        sizes.insert("L".to_string(), Int(40));
        lines.insert(
            "navy".to_string(),
            OrderLine {
                colour: "navy".into(),
                sizes,
                ..OrderLine::default()
            },
        );
        order::create(
            &NewOrder {
                order_no: "SO-1".into(),
                style_no: "ST-9".into(),
                factory: "F1".into(),
                delivery_ms: 100 * crate::calendar::DAY_MS,
                lines,
                ..NewOrder::default()
            },
            actor_from_bytes(&[1; 16]),
            &EditContext::new("merch", 1),
        )
        .unwrap()
        .read()
        .unwrap()
    }

    fn label() -> Accessory {
        let mut pictures = BTreeMap::new();
        pictures.insert(
            SHA.to_string(),
            PhotoRef {
                sha256: SHA.into(),
                ..PhotoRef::default()
            },
        );
        Accessory {
            item: "main label".into(),
            position: "centre back neck".into(),
            pictures,
            ..Accessory::default()
        }
    }

    fn drafted(with_label: bool) -> Record {
        let sheet = ProcessSheet {
            construction: "crew neck".into(),
            workmanship: "12 stitches / 3 cm".into(),
            carton_packing: "12 pcs / carton".into(),
        };
        let mut accessories = BTreeMap::new();
        if with_label {
            accessories.insert("a1".to_string(), label());
        }
        let new = draft_from_order(&order(), "order-doc", "PO-1", 14, sheet, accessories);
        create(
            &new,
            actor_from_bytes(&[2; 16]),
            &EditContext::new("merch", 2),
        )
        .unwrap()
    }

    fn run(r: &mut Record, op: PurchaseOrderOp, who: &str) -> Result<(), String> {
        apply(r, &op, &EditContext::new(who, 10)).map_err(|e| e.to_string())
    }

    fn sign(r: &mut Record, role: &str) -> Result<(), String> {
        run(
            r,
            PurchaseOrderOp::Sign {
                role: role.into(),
                name: role.into(),
            },
            role,
        )
    }

    fn release(r: &mut Record, gate: &Gate) -> Result<(), String> {
        apply_with_gate(
            r,
            &PurchaseOrderOp::Release { released_ms: 50 },
            Some(gate),
            &EditContext::new("merch", 50),
        )
        .map_err(|e| e.to_string())
    }

    const OPEN: Gate = Gate::Open {
        term: PaymentTerm::DocumentsAgainstPayment,
    };

    fn closed() -> Gate {
        Gate::Blocked {
            term: PaymentTerm::Deposit,
            reason: BlockReason::DepositNotConfirmed,
            message: "finance has not confirmed the deposit".into(),
            special_approval: None,
        }
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn drafted_from_the_order() {
        let po: PurchaseOrder = drafted(true).read().unwrap();
        assert_eq!(
            (
                po.order_no.as_str(),
                po.style_no.as_str(),
                po.factory.as_str(),
                po.order_id.as_str()
            ),
            ("SO-1", "ST-9", "F1", "order-doc")
        );
        assert_eq!(po.ex_factory_ms.0, 86 * crate::calendar::DAY_MS);
        assert_eq!(po.lines["navy"].sizes["M"], Int(60));
        assert_eq!(po.lines["navy"].order_line, "navy");
        assert_eq!(po.accessories["a1"].position, "centre back neck");
        assert_eq!(status(&po), PoStatus::Draft);
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn sales_checks_and_signs_then_the_general_manager_then_release() {
        let mut r = drafted(true);
        assert!(
            sign(&mut r, "general_manager").is_err(),
            "sales signs first"
        );
        run(
            &mut r,
            PurchaseOrderOp::ReturnForCorrection {
                id: "c1".into(),
                comment: "carton packing should be 10 pcs".into(),
            },
            "sales",
        )
        .unwrap();
        let err = sign(&mut r, "sales").unwrap_err();
        assert!(err.contains("correction"), "{err}");
        run(
            &mut r,
            PurchaseOrderOp::SetProcess {
                part: "carton_packing".into(),
                text: "10 pcs / carton".into(),
            },
            "merch",
        )
        .unwrap();
        run(
            &mut r,
            PurchaseOrderOp::ResolveCorrection { id: "c1".into() },
            "merch",
        )
        .unwrap();
        sign(&mut r, "sales").unwrap();
        assert_eq!(status(&r.read().unwrap()), PoStatus::SignedBySales);
        let err = run(
            &mut r,
            PurchaseOrderOp::SetProcess {
                part: "construction".into(),
                text: "v-neck".into(),
            },
            "merch",
        )
        .unwrap_err();
        assert!(err.contains("returned for correction"), "{err}");
        let err = release(&mut r, &OPEN).unwrap_err();
        assert!(err.contains("signatures.general_manager"), "{err}");
        sign(&mut r, "general_manager").unwrap();
        assert_eq!(status(&r.read().unwrap()), PoStatus::SignedByGeneralManager);
        assert!(
            run(
                &mut r,
                PurchaseOrderOp::ReturnForCorrection {
                    id: "c2".into(),
                    comment: "late".into()
                },
                "sales"
            )
            .is_err()
        );
        // The plain apply (no gate) refuses release; a closed gate refuses it.
        let err = run(
            &mut r,
            PurchaseOrderOp::Release { released_ms: 50 },
            "merch",
        )
        .unwrap_err();
        assert!(err.contains("payment gate"), "{err}");
        let err = release(&mut r, &closed()).unwrap_err();
        assert!(err.contains("deposit"), "{err}");
        assert_eq!(status(&r.read().unwrap()), PoStatus::SignedByGeneralManager);
        release(&mut r, &OPEN).unwrap();
        assert_eq!(status(&r.read().unwrap()), PoStatus::Released);
        assert!(release(&mut r, &OPEN).is_err(), "released once");
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn every_po_carries_the_process_sheet_and_the_accessories_list() {
        let mut r = drafted(false);
        sign(&mut r, "sales").unwrap();
        sign(&mut r, "general_manager").unwrap();
        let err = release(&mut r, &OPEN).unwrap_err();
        assert!(err.contains("accessories"), "{err}");
        let mut bare = label();
        bare.pictures.clear();
        bare.position.clear();
        let mut po: PurchaseOrder = r.read().unwrap();
        po.accessories.insert("a1".into(), bare);
        po.process_sheet.workmanship.clear();
        let fields: Vec<String> = release_problems(&po).into_iter().map(|p| p.field).collect();
        assert_eq!(
            fields,
            [
                "process_sheet.workmanship",
                "accessories.a1.position",
                "accessories.a1.pictures"
            ]
        );
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn the_write_check_refuses_a_release_past_a_closed_gate() {
        let mut r = drafted(true);
        sign(&mut r, "sales").unwrap();
        sign(&mut r, "general_manager").unwrap();
        let before: PurchaseOrder = r.read().unwrap();
        // A change set that releases, made by a client bypassing its own rules.
        let mut after = before.clone();
        after.released_ms = Int(50);
        let err = check_release(&before, &after, &closed()).unwrap_err();
        assert!(err.message.contains("payment gate is closed"), "{err}");
        assert!(check_release(&before, &after, &OPEN).is_ok());
        let by_special = Gate::OpenBySpecialApproval {
            term: PaymentTerm::Deposit,
            blocked_by: BlockReason::DepositNotConfirmed,
            reason: "bank holiday".into(),
            approved_by: vec!["gm".into()],
        };
        assert!(check_release(&before, &after, &by_special).is_ok());
        // Changes that do not release pass whatever the gate.
        assert!(check_release(&before, &before, &closed()).is_ok());
        // A release of an unsigned PO is refused even with the gate open.
        let mut unsigned = before.clone();
        unsigned.signatures.clear();
        let mut unsigned_after = unsigned.clone();
        unsigned_after.released_ms = Int(50);
        assert!(check_release(&unsigned, &unsigned_after, &OPEN).is_err());
        // Moving the release time of a released PO is refused.
        let mut moved = after.clone();
        moved.released_ms = Int(60);
        assert!(check_release(&after, &moved, &OPEN).is_err());
    }
}
