//! Purchase order (采购合同) to a supplier factory, with the production process sheet
//! (产品生产工艺单: construction, workmanship, carton packing) and the accessories list
//! (辅料清单: labels, hang tags, stickers, their positions and pictures). QC inspects
//! against these.

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
pub const COLLECTIONS: &[&str] = &["lines", "accessories", "signatures"];

/// The production process sheet (产品生产工艺单).
#[derive(Debug, Clone, Default, PartialEq, Hydrate, Reconcile, Serialize, Deserialize)]
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
    /// Records the release to the factory.
    Release {
        /// When.
        released_ms: i64,
    },
}

/// Applies one edit of a purchase order. (The payment gate that decides whether `Release`
/// is allowed is checked by the order workflow, which sees the commercial side.)
pub fn apply(
    record: &mut Record,
    op: &PurchaseOrderOp,
    ctx: &EditContext,
) -> Result<(), RecordError> {
    record.expect_type(RecordType::PurchaseOrder)?;
    let po: PurchaseOrder = record.read()?;
    if po.released_ms.0 > 0 && !matches!(op, PurchaseOrderOp::AddAccessoryPicture { .. }) {
        return Err(RecordError::NotAllowed(
            "the PO is released to the factory; it can no longer be changed".into(),
        ));
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
            check_required(&mut problems, "item", &accessory.item);
            check_text(&mut problems, "item", &accessory.item, SHORT_TEXT_BYTES_MAX);
            check_text(
                &mut problems,
                "description",
                &accessory.description,
                TEXT_BYTES_MAX,
            );
            check_text(
                &mut problems,
                "position",
                &accessory.position,
                SHORT_TEXT_BYTES_MAX,
            );
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
            let mut problems = Vec::new();
            for role in ["sales", "general_manager"] {
                if !po.signatures.contains_key(role) {
                    problems.push(Problem::new(
                        format!("signatures.{role}"),
                        "is required before release",
                    ));
                }
            }
            problems_to_result(problems)?;
            put_value(doc, &ROOT, "released_ms", Int(*released_ms))
        }
    })
}
