//! Order (外销合同), split by audience into two documents (DESIGN.md §1):
//!
//! - [`Order`], the production side: customer, order and style numbers, lines with the size
//!   breakdown (尺码分配), delivery date, factory, merchandiser, and the order tracking sheet
//!   (订单跟踪表): milestones, samples, notes and an append-only activity log. Factory and QC
//!   may read it.
//! - [`OrderCommercial`], the commercial side: unit prices, the cost sheet (成本核算表) and the
//!   payment term. Office only.

use std::collections::BTreeMap;

use automerge::{AutoCommit, ROOT};
use autosurgeon::{Hydrate, Reconcile};
use serde::{Deserialize, Serialize};

use crate::common::{
    COLLECTION_ITEMS_MAX, EditContext, Int, Money, Problem, SHORT_TEXT_BYTES_MAX, TEXT_BYTES_MAX,
    Username, check_required, check_text, string_enum,
};
use crate::record::{
    Record, RecordError, RecordType, insert_item, item_map, problems_to_result, put_value,
};

/// The top-level collections of an order (production side).
pub const ORDER_COLLECTIONS: &[&str] = &["lines", "milestones", "samples", "notes", "activity"];
/// The top-level collections of an order's commercial side.
pub const COMMERCIAL_COLLECTIONS: &[&str] = &["prices", "costs"];

/// The most entries the activity log of one order may hold.
pub const ACTIVITY_ENTRIES_MAX: usize = 100_000;

/// The most sizes one order line may break down into.
pub const SIZES_PER_LINE_MAX: usize = 64;

/// One order line: a colour with its size breakdown.
#[derive(Debug, Clone, Default, PartialEq, Hydrate, Reconcile, Serialize, Deserialize)]
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
    },
    /// Adds a note.
    AddNote {
        /// A new unique id.
        id: String,
        /// The note.
        text: String,
    },
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
        let text = apply_to_doc(doc, op, ctx)?;
        let entry = LogEntry {
            by: ctx.user.clone(),
            at_ms: Int(ctx.now_ms),
            text,
        };
        insert_item(doc, &ROOT, "activity", log_id, &entry, ACTIVITY_ENTRIES_MAX)
    })
}

fn apply_to_doc(
    doc: &mut AutoCommit,
    op: &OrderOp,
    ctx: &EditContext,
) -> Result<String, RecordError> {
    match op {
        OrderOp::SetDelivery { delivery_ms } => {
            put_value(doc, &ROOT, "delivery_ms", Int(*delivery_ms))?;
            Ok(format!("delivery date set to {delivery_ms}"))
        }
        OrderOp::AddLine { id, line } => {
            let mut problems = Vec::new();
            check_order_line(&mut problems, id, line);
            problems_to_result(problems)?;
            let mut l = line.clone();
            l.quantity = Int(l.total());
            insert_item(doc, &ROOT, "lines", id, &l, COLLECTION_ITEMS_MAX)?;
            Ok(format!("line {id} added"))
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
            Ok(format!("line {line} size {size} set to {qty}"))
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
            Ok(format!("milestone {} added", milestone.name))
        }
        OrderOp::CompleteMilestone {
            id,
            actual_ms,
            late_reason,
        } => {
            let obj = item_map(doc, "milestones", id)?;
            let mut problems = Vec::new();
            check_text(&mut problems, "late_reason", late_reason, TEXT_BYTES_MAX);
            problems_to_result(problems)?;
            put_value(doc, &obj, "actual_ms", Int(*actual_ms))?;
            put_value(doc, &obj, "late_reason", late_reason.as_str())?;
            Ok(format!("milestone {id} done"))
        }
        OrderOp::AddSample { id, round, sent_ms } => {
            let sample = Sample {
                round: *round,
                sent_ms: Int(*sent_ms),
                ..Sample::default()
            };
            insert_item(doc, &ROOT, "samples", id, &sample, COLLECTION_ITEMS_MAX)?;
            Ok(format!("{round} sample sent"))
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
            Ok(format!("comment on sample {sample}"))
        }
        OrderOp::DecideSample { sample, approved } => {
            let obj = item_map(doc, "samples", sample)?;
            let result = if *approved { "approved" } else { "rejected" };
            put_value(doc, &obj, "result", result)?;
            Ok(format!("sample {sample} {result}"))
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
            };
            insert_item(doc, &ROOT, "notes", id, &e, COLLECTION_ITEMS_MAX)?;
            Ok("note added".into())
        }
    }
}

string_enum! {
    /// Payment terms of the seed, which decide when a PO may be released.
    pub enum PaymentTerm (TtBeforeShipment) {
        /// Documents against payment: release at once.
        DocumentsAgainstPayment = "dp",
        /// Documents against acceptance: release at once.
        DocumentsAgainstAcceptance = "da",
        /// T/T before shipment: release at once.
        TtBeforeShipment = "tt_before_shipment",
        /// Letter of credit: release only after the L/C is received and checked.
        LetterOfCredit = "lc",
        /// Deposit: release only after finance confirms the deposit.
        Deposit = "deposit",
    }
}

/// One cost line of the cost sheet (成本核算表).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hydrate, Reconcile, Serialize, Deserialize)]
pub struct CostItem {
    /// What, e.g. "fabric", "freight".
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub name: String,
    /// Cost per piece.
    #[autosurgeon(missing = "Default::default")]
    pub unit_cost: Money,
}

/// The commercial side of an order, as stored. Office only.
#[derive(Debug, Clone, Default, PartialEq, Hydrate, Reconcile, Serialize, Deserialize)]
pub struct OrderCommercial {
    /// Always `order_commercial`.
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
    /// Factory.
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
    /// The document id of the production side.
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub order_id: String,
    /// Order number, repeated for search.
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub order_no: String,
    /// Unit price per order line id.
    #[autosurgeon(missing = "Default::default")]
    pub prices: BTreeMap<String, Money>,
    /// The cost sheet, keyed by id.
    #[autosurgeon(missing = "Default::default")]
    pub costs: BTreeMap<String, CostItem>,
    /// The payment term.
    #[autosurgeon(missing = "Default::default")]
    pub payment_term: PaymentTerm,
    /// Deposit percentage for deposit terms.
    #[autosurgeon(missing = "Default::default")]
    pub deposit_pct: Int,
}

/// Creates the commercial side of an order.
pub fn create_commercial(
    order_id: &str,
    order_no: &str,
    payment_term: PaymentTerm,
    actor: automerge::ActorId,
    ctx: &EditContext,
) -> Result<Record, RecordError> {
    let mut problems = Vec::new();
    check_required(&mut problems, "order_id", order_id);
    check_text(&mut problems, "order_id", order_id, SHORT_TEXT_BYTES_MAX);
    check_text(&mut problems, "order_no", order_no, SHORT_TEXT_BYTES_MAX);
    problems_to_result(problems)?;
    let initial = OrderCommercial {
        record_type: RecordType::OrderCommercial,
        order_id: order_id.into(),
        order_no: order_no.into(),
        payment_term,
        ..OrderCommercial::default()
    };
    Record::create(RecordType::OrderCommercial, actor, ctx, &initial)
}

/// One edit of the commercial side.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum CommercialOp {
    /// Sets the unit price of an order line.
    SetPrice {
        /// The order line id.
        line: String,
        /// The price.
        price: Money,
    },
    /// Adds a cost item.
    AddCost {
        /// A new unique id.
        id: String,
        /// The item.
        item: CostItem,
    },
    /// Sets the payment term.
    SetPaymentTerm {
        /// The term.
        term: PaymentTerm,
        /// Deposit percentage (deposit terms).
        #[serde(default)]
        deposit_pct: i64,
    },
}

fn check_money(problems: &mut Vec<Problem>, field: &str, m: &Money) {
    if m.currency.len() != 3 || !m.currency.bytes().all(|b| b.is_ascii_uppercase()) {
        problems.push(Problem::new(
            format!("{field}.currency"),
            "must be a 3-letter ISO 4217 code such as USD",
        ));
    }
    if m.minor < 0 {
        problems.push(Problem::new(
            format!("{field}.minor"),
            "must not be negative",
        ));
    }
}

/// Applies one edit of the commercial side.
pub fn apply_commercial(
    record: &mut Record,
    op: &CommercialOp,
    ctx: &EditContext,
) -> Result<(), RecordError> {
    record.expect_type(RecordType::OrderCommercial)?;
    record.edit(ctx, "commercial", |doc| match op {
        CommercialOp::SetPrice { line, price } => {
            let mut problems = Vec::new();
            check_money(&mut problems, "price", price);
            if !crate::common::is_valid_item_id(line) {
                problems.push(Problem::new("line", "is not a valid id"));
            }
            problems_to_result(problems)?;
            let prices = crate::record::ensure_map(doc, &ROOT, "prices")?;
            put_value(doc, &prices, line, price)
        }
        CommercialOp::AddCost { id, item } => {
            let mut problems = Vec::new();
            check_required(&mut problems, "name", &item.name);
            check_money(&mut problems, "unit_cost", &item.unit_cost);
            problems_to_result(problems)?;
            insert_item(doc, &ROOT, "costs", id, item, COLLECTION_ITEMS_MAX)
        }
        CommercialOp::SetPaymentTerm { term, deposit_pct } => {
            if !(0..=100).contains(deposit_pct) {
                return Err(RecordError::invalid("deposit_pct", "must be from 0 to 100"));
            }
            put_value(doc, &ROOT, "payment_term", term)?;
            put_value(doc, &ROOT, "deposit_pct", Int(*deposit_pct))
        }
    })
}
