//! Order (外销合同), split by audience into two documents (DESIGN.md §1):
//!
//! - [`Order`], the production side: customer, order and style numbers, lines with the size
//!   breakdown (尺码分配), delivery date, factory, merchandiser, and the order tracking sheet
//!   (订单跟踪表): milestones, samples, notes and an append-only activity log. Factory and QC
//!   may read it.
//! - [`OrderCommercial`], the commercial side: unit prices, the cost sheet (成本核算表) and the
//!   payment term. Office only. Its own module, [`crate::order_commercial`]; re-exported
//!   here, where the two sides were first defined.

use std::collections::BTreeMap;

use automerge::{AutoCommit, ROOT};
use autosurgeon::{Hydrate, Reconcile};
use serde::{Deserialize, Serialize};

use crate::common::{
    COLLECTION_ITEMS_MAX, EditContext, Int, Problem, SHORT_TEXT_BYTES_MAX, TEXT_BYTES_MAX,
    Username, check_required, check_text, string_enum,
};
use crate::record::{
    Record, RecordError, RecordType, insert_item, item_map, problems_to_result, put_value,
};

pub use crate::order_commercial::*;

/// The top-level collections of an order (production side).
pub const ORDER_COLLECTIONS: &[&str] = &[
    "lines",
    "milestones",
    "samples",
    "notes",
    "activity",
    "handover_items",
    "handover_decisions",
    "packaging",
    "week_planned",
    "week_actual",
];

/// The most pieces one week of a production schedule may plan or report.
pub const WEEK_QTY_MAX: i64 = 10_000_000;

/// The most entries the activity log of one order may hold.
pub const ACTIVITY_ENTRIES_MAX: usize = 100_000;

/// The most sizes one order line may break down into.
pub const SIZES_PER_LINE_MAX: usize = 64;

/// One order line: a colour with its size breakdown. In JSON every field may be left out.
#[derive(Debug, Clone, Default, PartialEq, Hydrate, Reconcile, Serialize, Deserialize)]
#[serde(default)]
pub struct OrderLine {
    /// Colour.
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub colour: String,
    /// Quantity per size (尺码分配), e.g. `{"S": 100, "M": 200}`.
    #[autosurgeon(missing = "Default::default")]
    pub sizes: BTreeMap<String, Int>,
    /// Total quantity; derived from `sizes` when they are given.
    #[autosurgeon(missing = "Default::default")]
    pub quantity: Int,
}

impl OrderLine {
    /// The line's quantity: the sum of the size breakdown when there is one.
    pub fn total(&self) -> i64 {
        if self.sizes.is_empty() {
            self.quantity.0
        } else {
            self.sizes.values().map(|q| q.0).sum()
        }
    }
}

string_enum! {
    /// A sample round (样板), in the order the seed lists them.
    pub enum SampleRound (Proto) {
        /// 初办: first / proto sample.
        Proto = "proto",
        /// PP办: pre-production sample (three pieces: customer, own file, factory; QC keeps one).
        PreProduction = "pp",
        /// 签样: the signed sample QC inspects against.
        Signed = "signed",
        /// 大货样: shipping / bulk sample.
        Shipping = "shipping",
    }
}

/// A milestone of the order tracking sheet / T&A plan.
#[derive(Debug, Clone, Default, PartialEq, Hydrate, Reconcile, Serialize, Deserialize)]
#[serde(default)]
pub struct Milestone {
    /// What, e.g. "PP sample approved".
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub name: String,
    /// Who is responsible.
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub owner: Username,
    /// Planned date, ms since the epoch.
    #[autosurgeon(missing = "Default::default")]
    pub planned_ms: Int,
    /// Actual date, ms (0 = not done).
    #[autosurgeon(missing = "Default::default")]
    pub actual_ms: Int,
    /// Why it is late, if it is.
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub late_reason: String,
    /// The template step it was planned from (e.g. `pp_approved`), empty for a free one.
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub code: String,
    /// Lead time in calendar days from this milestone to the next one of the plan.
    #[autosurgeon(missing = "Default::default")]
    pub lead_days: Int,
    /// The coded reason it is late (for the per-factory statistics), with `late_reason`
    /// in words.
    #[autosurgeon(missing = "Default::default")]
    pub late_code: LateCode,
}

string_enum! {
    /// Coded reasons a milestone is late, so lateness can be counted per factory and cause.
    pub enum LateCode (None) {
        /// Not late, or no code given.
        None = "",
        /// Fabric, trims or accessories arrived late (物料延误).
        MaterialLate = "material_late",
        /// A sample was rejected and had to be remade.
        SampleRejected = "sample_rejected",
        /// The customer answered late (comments, approvals, artwork, shipping marks).
        CustomerLate = "customer_late",
        /// The factory lacked capacity or changed its schedule (排产).
        FactoryCapacity = "factory_capacity",
        /// A quality problem needed rework.
        QualityIssue = "quality_issue",
        /// The payment gate (L/C, deposit) held the PO back.
        PaymentLate = "payment_late",
        /// Shipping space or customs.
        Logistics = "logistics",
        /// Something else (say what in `late_reason`).
        Other = "other",
    }
}

/// A comment on a sample round, kept with the round it belongs to.
#[derive(Debug, Clone, Default, PartialEq, Hydrate, Reconcile, Serialize, Deserialize)]
pub struct SampleComment {
    /// Who wrote or relayed it.
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub by: Username,
    /// When, ms since the epoch.
    #[autosurgeon(missing = "Default::default")]
    pub at_ms: Int,
    /// The comment.
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub text: String,
}

/// One sample sent in one round.
#[derive(Debug, Clone, Default, PartialEq, Hydrate, Reconcile, Serialize, Deserialize)]
#[serde(default)]
pub struct Sample {
    /// The round.
    #[autosurgeon(missing = "Default::default")]
    pub round: SampleRound,
    /// When sent, ms (0 = not sent).
    #[autosurgeon(missing = "Default::default")]
    pub sent_ms: Int,
    /// `approved`, `rejected` or empty while waiting.
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub result: String,
    /// Customer comments, keyed by a unique id.
    #[autosurgeon(missing = "Default::default")]
    pub comments: BTreeMap<String, SampleComment>,
    /// Where the pieces of this sample went, keyed by holder (`customer`, `own_file`,
    /// `factory`): a PP sample is made in three (客一件, 自存一件给QC查货, 工厂一件).
    #[autosurgeon(missing = "Default::default")]
    pub pieces: BTreeMap<String, SamplePiece>,
    /// When the customer's decision was recorded, ms (0 = none yet).
    #[autosurgeon(missing = "Default::default")]
    pub decided_ms: Int,
    /// Who recorded the decision.
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub decided_by: Username,
    /// The customer's signer (签名盖章) on an approved PP or signed sample.
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub signed_by: String,
}

string_enum! {
    /// Who holds one piece of a sample.
    pub enum PieceHolder (OwnFile) {
        /// Sent to the customer for approval.
        Customer = "customer",
        /// Kept in our own file; QC takes it to inspect against.
        OwnFile = "own_file",
        /// Given to the factory to produce against.
        Factory = "factory",
    }
}

/// One piece of a sample and where it is.
#[derive(Debug, Clone, Default, PartialEq, Hydrate, Reconcile, Serialize, Deserialize)]
#[serde(default)]
pub struct SamplePiece {
    /// Who holds it.
    #[autosurgeon(missing = "Default::default")]
    pub holder: PieceHolder,
    /// When it was handed over or sent, ms (0 = not yet).
    #[autosurgeon(missing = "Default::default")]
    pub sent_ms: Int,
}

string_enum! {
    /// What an item handed over from sales to the merchandiser is (合同评审及移交 1.3).
    pub enum HandoverKind (File) {
        /// A document: the contract, specs, the customer's mails (文件).
        File = "file",
        /// A fabric or colour swatch mounted on paper with notes (布样/色样).
        Sample = "sample",
        /// A trim or accessory (辅料).
        Accessory = "accessory",
        /// A picture, printed and saved (图片).
        Picture = "picture",
        /// A detail negotiated with the customer, written on the tracking sheet.
        Comment = "comment",
    }
}

/// One item of the handover checklist. Every item is marked with the contract no.
#[derive(Debug, Clone, Default, PartialEq, Hydrate, Reconcile, Serialize, Deserialize)]
#[serde(default)]
pub struct HandoverItem {
    /// What it is.
    #[autosurgeon(missing = "Default::default")]
    pub kind: HandoverKind,
    /// What it says or shows; for samples, the details to watch (注明需注意的细节).
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub description: String,
    /// The contract no. the item is marked with (注明外销合同号).
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub contract_no: String,
    /// A photo or scan of it (SHA-256 of a blob), required for pictures.
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub photo_sha256: String,
    /// Who added it.
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub by: Username,
    /// When, ms.
    #[autosurgeon(missing = "Default::default")]
    pub at_ms: Int,
}

/// The merchandiser's answer to a handover: accepted, or refused with what is missing.
#[derive(Debug, Clone, Default, PartialEq, Hydrate, Reconcile, Serialize, Deserialize)]
#[serde(default)]
pub struct HandoverDecision {
    /// Accepted (true) or refused (false).
    #[autosurgeon(missing = "Default::default")]
    pub accepted: bool,
    /// What is missing or unclear (required to refuse).
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub missing: String,
    /// Who decided.
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub by: Username,
    /// When, ms.
    #[autosurgeon(missing = "Default::default")]
    pub at_ms: Int,
}

string_enum! {
    /// A piece of packaging data confirmed with the customer (包装资料).
    pub enum PackagingKind (Other) {
        /// 彩盒: colour box.
        ColourBox = "colour_box",
        /// 彩卡: colour card / header card.
        Card = "card",
        /// 彩标 / 标签: label.
        Label = "label",
        /// 吊牌: hang tag.
        HangTag = "hang_tag",
        /// 贴纸: sticker.
        Sticker = "sticker",
        /// 唛头: shipping mark on the export carton.
        ShippingMark = "shipping_mark",
        /// Anything else.
        Other = "other",
    }
}

/// One piece of packaging artwork, drafted, sent to the customer and confirmed. Its state
/// is derived from the times (see [`crate::packaging::status`]).
#[derive(Debug, Clone, Default, PartialEq, Hydrate, Reconcile, Serialize, Deserialize)]
#[serde(default)]
pub struct PackagingItem {
    /// What it is.
    #[autosurgeon(missing = "Default::default")]
    pub kind: PackagingKind,
    /// Its content: size, text, colours, die-line (刀模) notes.
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub description: String,
    /// When drafted, ms.
    #[autosurgeon(missing = "Default::default")]
    pub drafted_ms: Int,
    /// Who drafted it.
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub drafted_by: Username,
    /// When last sent to the customer (as JPG or printed proof), ms (0 = not sent).
    #[autosurgeon(missing = "Default::default")]
    pub sent_ms: Int,
    /// When the customer confirmed it, ms (0 = not confirmed).
    #[autosurgeon(missing = "Default::default")]
    pub confirmed_ms: Int,
    /// When the customer last asked for changes, ms (0 = never).
    #[autosurgeon(missing = "Default::default")]
    pub rejected_ms: Int,
    /// The customer's last comment.
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub customer_comment: String,
    /// The artwork (SHA-256 of a blob), if any.
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub artwork_sha256: String,
    /// The order no. it was copied from on a repeat order (翻单), if any.
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub copied_from: String,
}

/// An entry of the append-only activity log / a note.
#[derive(Debug, Clone, Default, PartialEq, Hydrate, Reconcile, Serialize, Deserialize)]
pub struct LogEntry {
    /// Who.
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub by: Username,
    /// When, ms since the epoch.
    #[autosurgeon(missing = "Default::default")]
    pub at_ms: Int,
    /// What happened / the note.
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub text: String,
    /// For an activity-log entry, what happened as a code of [`ACTIVITY_CODES`] (empty in a
    /// note, and in entries written before codes were kept: `text` says it then).
    #[autosurgeon(missing = "Default::default")]
    #[serde(default)]
    pub code: String,
    /// The values the code names (ids, names, quantities, dates in ms), by name.
    #[autosurgeon(missing = "Default::default")]
    #[serde(default)]
    pub params: BTreeMap<String, String>,
}

/// The codes of what an order edit did, as its activity-log entry keeps them.
pub const ACTIVITY_CODES: &[&str] = &[
    "delivery_set",
    "line_added",
    "size_qty_set",
    "milestone_added",
    "milestone_done",
    "milestone_replanned",
    "milestones_planned",
    "week_planned",
    "week_finished",
    "handover_added",
    "handover_removed",
    "handover_accepted",
    "handover_refused",
    "packaging_drafted",
    "packaging_sent",
    "packaging_confirmed",
    "packaging_rejected",
    "sample_sent",
    "sample_commented",
    "sample_approved",
    "sample_rejected",
    "note_added",
];

/// What an order edit did: a code of [`ACTIVITY_CODES`] and the values it names. The apps
/// word it in their language; [`Activity::text`] is the English kept beside it for API
/// users and for apps that do not know the code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Activity {
    /// One of [`ACTIVITY_CODES`].
    pub code: &'static str,
    /// The values it names, by name.
    pub params: BTreeMap<String, String>,
}

impl Activity {
    fn new(code: &'static str) -> Self {
        debug_assert!(ACTIVITY_CODES.contains(&code), "{code} is not listed");
        Self {
            code,
            params: BTreeMap::new(),
        }
    }

    fn with(mut self, name: &str, value: impl ToString) -> Self {
        self.params.insert(name.to_string(), value.to_string());
        self
    }

    /// In English.
    pub fn text(&self) -> String {
        let p = |name: &str| self.params.get(name).map_or("", String::as_str);
        match self.code {
            "delivery_set" => format!("delivery date set to {}", p("delivery_ms")),
            "line_added" => format!("line {} added", p("line")),
            "size_qty_set" => format!("line {} size {} set to {}", p("line"), p("size"), p("qty")),
            "milestone_added" => format!("milestone {} added", p("name")),
            "milestone_done" => format!("milestone {} done", p("name")),
            "milestone_replanned" => {
                format!("milestone {} re-planned to {}", p("name"), p("planned_ms"))
            }
            "milestones_planned" => format!(
                "{} milestones planned back from the delivery date",
                p("count")
            ),
            "week_planned" => format!("week of {}: {} pieces planned", p("week"), p("qty")),
            "week_finished" => format!("week of {}: {} pieces finished", p("week"), p("qty")),
            "handover_added" => format!("{} handed over", p("kind")),
            "handover_removed" => format!("handover item {} taken back", p("id")),
            "handover_accepted" => "handover accepted".into(),
            "handover_refused" => "handover refused".into(),
            "packaging_drafted" => format!("{} drafted", p("kind")),
            "packaging_sent" => format!("packaging {} sent to the customer", p("id")),
            "packaging_confirmed" => format!("packaging {} confirmed by the customer", p("id")),
            "packaging_rejected" => format!("packaging {}: customer asks for changes", p("id")),
            "sample_sent" => format!("{} sample sent", p("round")),
            "sample_commented" => format!("comment on sample {}", p("sample")),
            "sample_approved" => format!("sample {} approved", p("sample")),
            "sample_rejected" => format!("sample {} rejected", p("sample")),
            "note_added" => "note added".into(),
            other => other.to_string(),
        }
    }
}

/// The production side of an order, as stored.
#[derive(Debug, Clone, Default, PartialEq, Hydrate, Reconcile, Serialize, Deserialize)]
pub struct Order {
    /// Always `order`.
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
    /// Warehouse, if any.
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub warehouse: String,
    /// Order number (外销合同号).
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub order_no: String,
    /// Style number (款号).
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub style_no: String,
    /// Customer.
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub customer: String,
    /// Product description.
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub description: String,
    /// The merchandiser who owns it (跟单员).
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub merchandiser: Username,
    /// The salesperson (业务员).
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub sales: Username,
    /// Delivery date (交期), ms.
    #[autosurgeon(missing = "Default::default")]
    pub delivery_ms: Int,
    /// Lines keyed by id.
    #[autosurgeon(missing = "Default::default")]
    pub lines: BTreeMap<String, OrderLine>,
    /// Milestones keyed by id.
    #[autosurgeon(missing = "Default::default")]
    pub milestones: BTreeMap<String, Milestone>,
    /// Samples keyed by id.
    #[autosurgeon(missing = "Default::default")]
    pub samples: BTreeMap<String, Sample>,
    /// Notes keyed by id.
    #[autosurgeon(missing = "Default::default")]
    pub notes: BTreeMap<String, LogEntry>,
    /// Activity log keyed by id (append-only).
    #[autosurgeon(missing = "Default::default")]
    pub activity: BTreeMap<String, LogEntry>,
    /// The handover checklist from sales, keyed by id.
    #[autosurgeon(missing = "Default::default")]
    pub handover_items: BTreeMap<String, HandoverItem>,
    /// The merchandiser's answers to the handover, keyed by id; the latest counts.
    #[autosurgeon(missing = "Default::default")]
    pub handover_decisions: BTreeMap<String, HandoverDecision>,
    /// Packaging data and shipping marks, keyed by id.
    #[autosurgeon(missing = "Default::default")]
    pub packaging: BTreeMap<String, PackagingItem>,
    /// The factory's weekly production schedule (生产计划排程): pieces planned per week,
    /// keyed by the week's Monday (`YYYY-MM-DD`). Planned and actual live in two maps so a
    /// plan update and an output report made at once on two devices both survive.
    #[autosurgeon(missing = "Default::default")]
    pub week_planned: BTreeMap<String, Int>,
    /// Pieces actually finished per week, keyed like `week_planned`.
    #[autosurgeon(missing = "Default::default")]
    pub week_actual: BTreeMap<String, Int>,
}

/// What a new order starts with.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct NewOrder {
    /// Order number.
    pub order_no: String,
    /// Style number.
    pub style_no: String,
    /// Customer.
    pub customer: String,
    /// Description.
    pub description: String,
    /// Factory.
    pub factory: String,
    /// Merchandiser.
    pub merchandiser: String,
    /// Sales.
    pub sales: String,
    /// Delivery date.
    pub delivery_ms: i64,
    /// Lines.
    pub lines: BTreeMap<String, OrderLine>,
}

fn check_order_line(problems: &mut Vec<Problem>, id: &str, line: &OrderLine) {
    let f = format!("lines.{id}");
    if !crate::common::is_valid_item_id(id) {
        problems.push(Problem::new(&f, "is not a valid id"));
    }
    check_text(
        problems,
        &format!("{f}.colour"),
        &line.colour,
        SHORT_TEXT_BYTES_MAX,
    );
    if line.sizes.len() > SIZES_PER_LINE_MAX {
        problems.push(Problem::new(
            format!("{f}.sizes"),
            format!("at most {SIZES_PER_LINE_MAX} sizes"),
        ));
    }
    if line.sizes.values().any(|q| q.0 < 0) || line.quantity.0 < 0 {
        problems.push(Problem::new(
            format!("{f}.quantity"),
            "must not be negative",
        ));
    }
}

/// Creates the production side of an order.
pub fn create(
    new: &NewOrder,
    actor: automerge::ActorId,
    ctx: &EditContext,
) -> Result<Record, RecordError> {
    let mut problems = Vec::new();
    check_required(&mut problems, "order_no", &new.order_no);
    for (f, v) in [
        ("order_no", &new.order_no),
        ("style_no", &new.style_no),
        ("customer", &new.customer),
        ("factory", &new.factory),
        ("merchandiser", &new.merchandiser),
        ("sales", &new.sales),
    ] {
        check_text(&mut problems, f, v, SHORT_TEXT_BYTES_MAX);
    }
    check_text(
        &mut problems,
        "description",
        &new.description,
        TEXT_BYTES_MAX,
    );
    for (id, l) in &new.lines {
        check_order_line(&mut problems, id, l);
    }
    problems_to_result(problems)?;
    let mut assignees = BTreeMap::new();
    for who in [&new.merchandiser, &new.sales] {
        if !who.is_empty() {
            assignees.insert(who.clone(), true);
        }
    }
    let initial = Order {
        record_type: RecordType::Order,
        order_no: new.order_no.clone(),
        style_no: new.style_no.clone(),
        customer: new.customer.clone(),
        description: new.description.clone(),
        factory: new.factory.clone(),
        merchandiser: new.merchandiser.clone(),
        sales: new.sales.clone(),
        delivery_ms: Int(new.delivery_ms),
        lines: new
            .lines
            .iter()
            .map(|(k, l)| {
                let mut l = l.clone();
                l.quantity = Int(l.total());
                (k.clone(), l)
            })
            .collect(),
        assignees,
        ..Order::default()
    };
    Record::create(RecordType::Order, actor, ctx, &initial)
}

/// One edit of an order's production side.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum OrderOp {
    /// Sets the delivery date.
    SetDelivery {
        /// ms since the epoch.
        delivery_ms: i64,
    },
    /// Adds a line.
    AddLine {
        /// A new unique id.
        id: String,
        /// The line.
        line: OrderLine,
    },
    /// Sets the quantity of one size of a line.
    SetSizeQty {
        /// The line.
        line: String,
        /// The size.
        size: String,
        /// Quantity.
        qty: i64,
    },
    /// Adds a milestone.
    AddMilestone {
        /// A new unique id.
        id: String,
        /// The milestone.
        milestone: Milestone,
    },
    /// Records a milestone as done (or late, with a reason).
    CompleteMilestone {
        /// The milestone.
        id: String,
        /// When it was done.
        actual_ms: i64,
        /// Why late, if late.
        #[serde(default)]
        late_reason: String,
        /// The coded reason, if late.
        #[serde(default)]
        late_code: LateCode,
    },
    /// Moves a milestone's planned date (a re-plan agreed with the customer or factory).
    ReplanMilestone {
        /// The milestone.
        id: String,
        /// The new planned date, ms.
        planned_ms: i64,
    },
    /// Plans the default Time & Action milestones backwards from the delivery date
    /// ([`crate::plan::DEFAULT_TEMPLATE`]); milestones already planned are kept.
    PlanBackwards {
        /// Owner per template role (`merchandiser`, `sales`, `factory`, `qc`, …); the order's
        /// merchandiser and sales fill in when missing.
        #[serde(default)]
        owners: BTreeMap<String, String>,
    },
    /// Sets the pieces the factory plans to finish in a week (its weekly schedule update).
    SetWeekPlanned {
        /// Any time in the week, ms.
        week_ms: i64,
        /// Pieces.
        qty: i64,
    },
    /// Records the pieces actually finished in a week.
    SetWeekActual {
        /// Any time in the week, ms.
        week_ms: i64,
        /// Pieces.
        qty: i64,
    },
    /// Adds an item to the handover checklist (sales, 合同移交).
    AddHandoverItem {
        /// A new unique id.
        id: String,
        /// What it is.
        kind: HandoverKind,
        /// What it is or says.
        #[serde(default)]
        description: String,
        /// The contract no. it is marked with.
        #[serde(default)]
        contract_no: String,
        /// A photo or scan (SHA-256), required for pictures.
        #[serde(default)]
        photo_sha256: String,
    },
    /// Takes back a handover item (handed over by mistake or to be replaced).
    RemoveHandoverItem {
        /// The item.
        id: String,
    },
    /// The merchandiser accepts the handover; refused while the checklist has problems.
    AcceptHandover {
        /// A new unique id for the decision.
        id: String,
    },
    /// The merchandiser refuses an incomplete handover, saying what is missing.
    RefuseHandover {
        /// A new unique id for the decision.
        id: String,
        /// What is missing or unclear.
        missing: String,
    },
    /// Drafts a piece of packaging data or a shipping mark.
    AddPackaging {
        /// A new unique id.
        id: String,
        /// The item (times and the customer's answer are filled in by later operations).
        item: PackagingItem,
    },
    /// Records a packaging item sent to the customer for confirmation.
    SendPackaging {
        /// The item.
        id: String,
        /// When sent, ms.
        sent_ms: i64,
    },
    /// Records the customer's confirmation of what was sent.
    ConfirmPackaging {
        /// The item.
        id: String,
        /// When confirmed, ms.
        confirmed_ms: i64,
    },
    /// Records the customer's request for changes to what was sent.
    RejectPackaging {
        /// The item.
        id: String,
        /// The customer's comment.
        comment: String,
    },
    /// Records a sample sent.
    AddSample {
        /// A new unique id.
        id: String,
        /// The round.
        round: SampleRound,
        /// When sent.
        sent_ms: i64,
    },
    /// Adds a customer comment to a sample round.
    CommentSample {
        /// The sample.
        sample: String,
        /// A new unique id.
        id: String,
        /// The comment.
        text: String,
    },
    /// Records the customer's decision on a sample.
    DecideSample {
        /// The sample.
        sample: String,
        /// Approved or not.
        approved: bool,
        /// The customer's signer (签名盖章); required to approve a PP or signed sample.
        #[serde(default)]
        signed_by: String,
    },
    /// Adds a note.
    AddNote {
        /// A new unique id.
        id: String,
        /// The note.
        text: String,
    },
}

/// Hex digits of the device's actor id in an activity-log id.
pub const LOG_ID_ACTOR_HEX: usize = 16;

/// A fresh id for the next activity-log entry of `record` written at `now_ms` on this
/// device: `<now_ms>:<actor>:<n>`, where `<actor>` is the first [`LOG_ID_ACTOR_HEX`] hex
/// digits of the document's actor id (one per device and session, so two devices never
/// pick the same id, even for one user in one millisecond) and `n` the first number not
/// yet used on this replica (so two edits in one millisecond on one device do not collide
/// either). Always a valid item id, whatever the username's length.
pub fn next_log_id(record: &Record, now_ms: i64) -> String {
    let actor = record.doc().get_actor().to_hex_string();
    let actor = &actor[..actor.len().min(LOG_ID_ACTOR_HEX)];
    let mut n: u64 = 0;
    loop {
        let id = format!("{now_ms}:{actor}:{n}");
        if !crate::record::has_item(record.doc(), "activity", &id) {
            return id;
        }
        n += 1;
    }
}

/// Applies one edit of an order as one change; every edit also appends to the activity log.
pub fn apply(
    record: &mut Record,
    op: &OrderOp,
    log_id: &str,
    ctx: &EditContext,
) -> Result<(), RecordError> {
    record.expect_type(RecordType::Order)?;
    record.edit(ctx, "order", |doc| {
        let activity = apply_to_doc(doc, op, ctx)?;
        let entry = LogEntry {
            by: ctx.user.clone(),
            at_ms: Int(ctx.now_ms),
            text: activity.text(),
            code: activity.code.to_string(),
            params: activity.params,
        };
        insert_item(doc, &ROOT, "activity", log_id, &entry, ACTIVITY_ENTRIES_MAX)
    })
}

fn apply_to_doc(
    doc: &mut AutoCommit,
    op: &OrderOp,
    ctx: &EditContext,
) -> Result<Activity, RecordError> {
    match op {
        OrderOp::SetDelivery { delivery_ms } => {
            put_value(doc, &ROOT, "delivery_ms", Int(*delivery_ms))?;
            Ok(Activity::new("delivery_set").with("delivery_ms", delivery_ms))
        }
        OrderOp::AddLine { id, line } => {
            let mut problems = Vec::new();
            check_order_line(&mut problems, id, line);
            problems_to_result(problems)?;
            let mut l = line.clone();
            l.quantity = Int(l.total());
            insert_item(doc, &ROOT, "lines", id, &l, COLLECTION_ITEMS_MAX)?;
            Ok(Activity::new("line_added").with("line", id))
        }
        OrderOp::SetSizeQty { line, size, qty } => {
            if *qty < 0 {
                return Err(RecordError::invalid("qty", "must not be negative"));
            }
            let mut problems = Vec::new();
            check_required(&mut problems, "size", size);
            check_text(&mut problems, "size", size, SHORT_TEXT_BYTES_MAX);
            problems_to_result(problems)?;
            let obj = item_map(doc, "lines", line)?;
            let sizes = crate::record::ensure_map(doc, &obj, "sizes")?;
            put_value(doc, &sizes, size, Int(*qty))?;
            Ok(Activity::new("size_qty_set")
                .with("line", line)
                .with("size", size)
                .with("qty", qty))
        }
        OrderOp::AddMilestone { id, milestone } => {
            let mut problems = Vec::new();
            check_required(&mut problems, "name", &milestone.name);
            check_text(&mut problems, "name", &milestone.name, SHORT_TEXT_BYTES_MAX);
            problems_to_result(problems)?;
            insert_item(
                doc,
                &ROOT,
                "milestones",
                id,
                milestone,
                COLLECTION_ITEMS_MAX,
            )?;
            Ok(Activity::new("milestone_added")
                .with("id", id)
                .with("name", &milestone.name)
                .with("code", &milestone.code))
        }
        OrderOp::CompleteMilestone {
            id,
            actual_ms,
            late_reason,
            late_code,
        } => {
            let obj = item_map(doc, "milestones", id)?;
            let current: Milestone = read_item(doc, "milestones", id)?;
            let mut problems = Vec::new();
            check_text(&mut problems, "late_reason", late_reason, TEXT_BYTES_MAX);
            if *actual_ms <= 0 {
                problems.push(Problem::new("actual_ms", "must be a date"));
            }
            let late = current.planned_ms.0 > 0
                && crate::calendar::local_day(*actual_ms)
                    > crate::calendar::local_day(current.planned_ms.0);
            if late && *late_code == LateCode::None {
                problems.push(Problem::new(
                    "late_code",
                    "is required: the milestone is done after its planned date",
                ));
            }
            if *late_code == LateCode::Other {
                check_required(&mut problems, "late_reason", late_reason);
            }
            problems_to_result(problems)?;
            put_value(doc, &obj, "actual_ms", Int(*actual_ms))?;
            put_value(doc, &obj, "late_reason", late_reason.as_str())?;
            put_value(doc, &obj, "late_code", late_code)?;
            Ok(Activity::new("milestone_done")
                .with("id", id)
                .with("name", &current.name)
                .with("code", &current.code))
        }
        OrderOp::ReplanMilestone { id, planned_ms } => {
            if *planned_ms <= 0 {
                return Err(RecordError::invalid("planned_ms", "must be a date"));
            }
            let obj = item_map(doc, "milestones", id)?;
            let current: Milestone = read_item(doc, "milestones", id)?;
            put_value(doc, &obj, "planned_ms", Int(*planned_ms))?;
            Ok(Activity::new("milestone_replanned")
                .with("id", id)
                .with("name", &current.name)
                .with("code", &current.code)
                .with("planned_ms", planned_ms))
        }
        OrderOp::PlanBackwards { owners } => {
            let order: Order = autosurgeon::hydrate(&crate::read_cache::CachedRead::new(doc))?;
            let planned =
                crate::plan::plan_backwards(&order, crate::plan::DEFAULT_TEMPLATE, owners)
                    .map_err(|p| RecordError::Invalid(vec![p]))?;
            let mut added = 0;
            for (id, m) in planned.into_iter() {
                if !order.milestones.contains_key(&id) {
                    insert_item(doc, &ROOT, "milestones", &id, &m, COLLECTION_ITEMS_MAX)?;
                    added += 1;
                }
            }
            Ok(Activity::new("milestones_planned").with("count", added))
        }
        OrderOp::SetWeekPlanned { week_ms, qty } | OrderOp::SetWeekActual { week_ms, qty } => {
            if !(0..=WEEK_QTY_MAX).contains(qty) {
                return Err(RecordError::invalid(
                    "qty",
                    format!("must be from 0 to {WEEK_QTY_MAX}"),
                ));
            }
            let (key, code) = match op {
                OrderOp::SetWeekPlanned { .. } => ("week_planned", "week_planned"),
                _ => ("week_actual", "week_finished"),
            };
            let week = crate::calendar::week_key(*week_ms);
            let map = crate::record::ensure_map(doc, &ROOT, key)?;
            put_value(doc, &map, &week, Int(*qty))?;
            Ok(Activity::new(code).with("week", &week).with("qty", qty))
        }
        OrderOp::AddHandoverItem {
            id,
            kind,
            description,
            contract_no,
            photo_sha256,
        } => {
            let mut problems = Vec::new();
            check_text(&mut problems, "description", description, TEXT_BYTES_MAX);
            check_text(
                &mut problems,
                "contract_no",
                contract_no,
                SHORT_TEXT_BYTES_MAX,
            );
            if !photo_sha256.is_empty() && !crate::common::is_sha256_hex(photo_sha256) {
                problems.push(Problem::new("photo_sha256", "must be a SHA-256 in hex"));
            }
            problems_to_result(problems)?;
            let item = HandoverItem {
                kind: *kind,
                description: description.clone(),
                contract_no: contract_no.clone(),
                photo_sha256: photo_sha256.clone(),
                by: ctx.user.clone(),
                at_ms: Int(ctx.now_ms),
            };
            insert_item(
                doc,
                &ROOT,
                "handover_items",
                id,
                &item,
                COLLECTION_ITEMS_MAX,
            )?;
            Ok(Activity::new("handover_added").with("kind", kind))
        }
        OrderOp::RemoveHandoverItem { id } => {
            item_map(doc, "handover_items", id)?;
            let items = crate::record::ensure_map(doc, &ROOT, "handover_items")?;
            automerge::transaction::Transactable::delete(doc, &items, id.as_str())?;
            Ok(Activity::new("handover_removed").with("id", id))
        }
        OrderOp::AcceptHandover { id } | OrderOp::RefuseHandover { id, .. } => {
            let order: Order = autosurgeon::hydrate(&crate::read_cache::CachedRead::new(doc))?;
            let (accepted, missing) = match op {
                OrderOp::RefuseHandover { missing, .. } => (false, missing.clone()),
                _ => (true, String::new()),
            };
            let mut problems = Vec::new();
            if accepted {
                for p in crate::review::handover_problems(&order) {
                    problems.push(p);
                }
            } else {
                check_required(&mut problems, "missing", &missing);
                check_text(&mut problems, "missing", &missing, TEXT_BYTES_MAX);
            }
            problems_to_result(problems)?;
            let d = HandoverDecision {
                accepted,
                missing,
                by: ctx.user.clone(),
                at_ms: Int(ctx.now_ms),
            };
            insert_item(
                doc,
                &ROOT,
                "handover_decisions",
                id,
                &d,
                COLLECTION_ITEMS_MAX,
            )?;
            Ok(if accepted {
                Activity::new("handover_accepted")
            } else {
                Activity::new("handover_refused")
            })
        }
        OrderOp::AddPackaging { id, item } => {
            let mut problems = Vec::new();
            check_text(
                &mut problems,
                "description",
                &item.description,
                TEXT_BYTES_MAX,
            );
            check_text(
                &mut problems,
                "copied_from",
                &item.copied_from,
                SHORT_TEXT_BYTES_MAX,
            );
            if !item.artwork_sha256.is_empty()
                && !crate::common::is_sha256_hex(&item.artwork_sha256)
            {
                problems.push(Problem::new("artwork_sha256", "must be a SHA-256 in hex"));
            }
            problems_to_result(problems)?;
            let fresh = PackagingItem {
                kind: item.kind,
                description: item.description.clone(),
                drafted_ms: Int(ctx.now_ms),
                drafted_by: ctx.user.clone(),
                artwork_sha256: item.artwork_sha256.clone(),
                copied_from: item.copied_from.clone(),
                ..PackagingItem::default()
            };
            insert_item(doc, &ROOT, "packaging", id, &fresh, COLLECTION_ITEMS_MAX)?;
            Ok(Activity::new("packaging_drafted")
                .with("id", id)
                .with("kind", item.kind))
        }
        OrderOp::SendPackaging { id, sent_ms } => {
            if *sent_ms <= 0 {
                return Err(RecordError::invalid("sent_ms", "must be a date"));
            }
            let obj = item_map(doc, "packaging", id)?;
            put_value(doc, &obj, "sent_ms", Int(*sent_ms))?;
            Ok(Activity::new("packaging_sent").with("id", id))
        }
        OrderOp::ConfirmPackaging { id, confirmed_ms } => {
            let item: PackagingItem = read_item(doc, "packaging", id)?;
            let obj = item_map(doc, "packaging", id)?;
            if item.sent_ms.0 <= 0 {
                return Err(RecordError::not_allowed(
                    "record.not_allowed.packaging_not_sent",
                    format!(
                        "packaging {id} was never sent to the customer; the customer confirms what was sent"
                    ),
                )
                .with_param("id", id));
            }
            if *confirmed_ms <= 0 {
                return Err(RecordError::invalid("confirmed_ms", "must be a date"));
            }
            put_value(doc, &obj, "confirmed_ms", Int(*confirmed_ms))?;
            Ok(Activity::new("packaging_confirmed").with("id", id))
        }
        OrderOp::RejectPackaging { id, comment } => {
            let item: PackagingItem = read_item(doc, "packaging", id)?;
            let obj = item_map(doc, "packaging", id)?;
            let mut problems = Vec::new();
            check_required(&mut problems, "comment", comment);
            check_text(&mut problems, "comment", comment, TEXT_BYTES_MAX);
            if item.sent_ms.0 <= 0 {
                problems.push(Problem::new("id", "was never sent to the customer"));
            }
            problems_to_result(problems)?;
            put_value(doc, &obj, "rejected_ms", Int(ctx.now_ms))?;
            put_value(doc, &obj, "customer_comment", comment.as_str())?;
            Ok(Activity::new("packaging_rejected").with("id", id))
        }
        OrderOp::AddSample { id, round, sent_ms } => {
            let mut sample = Sample {
                round: *round,
                sent_ms: Int(*sent_ms),
                ..Sample::default()
            };
            if *round == SampleRound::PreProduction {
                for holder in PieceHolder::ALL {
                    sample.pieces.insert(
                        holder.as_str().to_string(),
                        SamplePiece {
                            holder: *holder,
                            sent_ms: Int(*sent_ms),
                        },
                    );
                }
            }
            insert_item(doc, &ROOT, "samples", id, &sample, COLLECTION_ITEMS_MAX)?;
            Ok(Activity::new("sample_sent")
                .with("sample", id)
                .with("round", round))
        }
        OrderOp::CommentSample { sample, id, text } => {
            let mut problems = Vec::new();
            check_required(&mut problems, "text", text);
            check_text(&mut problems, "text", text, TEXT_BYTES_MAX);
            problems_to_result(problems)?;
            let obj = item_map(doc, "samples", sample)?;
            let c = SampleComment {
                by: ctx.user.clone(),
                at_ms: Int(ctx.now_ms),
                text: text.clone(),
            };
            insert_item(doc, &obj, "comments", id, &c, COLLECTION_ITEMS_MAX)?;
            Ok(Activity::new("sample_commented").with("sample", sample))
        }
        OrderOp::DecideSample {
            sample,
            approved,
            signed_by,
        } => {
            let current: Sample = read_item(doc, "samples", sample)?;
            let obj = item_map(doc, "samples", sample)?;
            let mut problems = Vec::new();
            if current.sent_ms.0 <= 0 {
                problems.push(Problem::new(
                    "sample",
                    "was never sent; the customer decides on a sample they received",
                ));
            }
            check_text(&mut problems, "signed_by", signed_by, SHORT_TEXT_BYTES_MAX);
            if *approved
                && matches!(
                    current.round,
                    SampleRound::PreProduction | SampleRound::Signed
                )
            {
                check_required(&mut problems, "signed_by", signed_by);
            }
            problems_to_result(problems)?;
            let result = if *approved { "approved" } else { "rejected" };
            put_value(doc, &obj, "result", result)?;
            put_value(doc, &obj, "decided_ms", Int(ctx.now_ms))?;
            put_value(doc, &obj, "decided_by", ctx.user.as_str())?;
            if !signed_by.is_empty() {
                put_value(doc, &obj, "signed_by", signed_by.as_str())?;
            }
            Ok(Activity::new(if *approved {
                "sample_approved"
            } else {
                "sample_rejected"
            })
            .with("sample", sample)
            .with("round", current.round))
        }
        OrderOp::AddNote { id, text } => {
            let mut problems = Vec::new();
            check_required(&mut problems, "text", text);
            check_text(&mut problems, "text", text, TEXT_BYTES_MAX);
            problems_to_result(problems)?;
            let e = LogEntry {
                by: ctx.user.clone(),
                at_ms: Int(ctx.now_ms),
                text: text.clone(),
                ..LogEntry::default()
            };
            insert_item(doc, &ROOT, "notes", id, &e, COLLECTION_ITEMS_MAX)?;
            Ok(Activity::new("note_added"))
        }
    }
}

/// Reads the item `id` of the root collection `collection`, which must exist.
pub(crate) fn read_item<T: Hydrate>(
    doc: &AutoCommit,
    collection: &str,
    id: &str,
) -> Result<T, RecordError> {
    item_map(doc, collection, id)?;
    let parent = crate::record::get_map(doc, &ROOT, collection)
        .ok_or_else(|| RecordError::invalid(collection, "does not exist"))?;
    Ok(autosurgeon::hydrate_prop(doc, &parent, id)?)
}
