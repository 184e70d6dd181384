//! The commercial side of an order (外销合同, office only; DESIGN.md §1): unit prices, the
//! cost sheet (成本核算表), the payment term that decides when a PO may be released, and the
//! contract review's sign-offs (the price check by the product control manager, the cost
//! sheet by department heads, the general manager). A document of its own, never read by
//! the factory or QC; the production side is [`crate::order`].

use std::collections::BTreeMap;

use automerge::ROOT;
use autosurgeon::{Hydrate, Reconcile};
use serde::{Deserialize, Serialize};

use crate::common::{
    COLLECTION_ITEMS_MAX, EditContext, Int, Money, Problem, SHORT_TEXT_BYTES_MAX, SignOff,
    TEXT_BYTES_MAX, Username, check_required, check_text, string_enum,
};
use crate::record::{Record, RecordError, RecordType, insert_item, problems_to_result, put_value};

/// The top-level collections of an order's commercial side.
pub const COMMERCIAL_COLLECTIONS: &[&str] = &["prices", "costs", "review", "cost_sheet_signers"];

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
    /// The L/C number as received (L/C terms).
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub lc_no: String,
    /// When the L/C was received, ms (0 = not received).
    #[autosurgeon(missing = "Default::default")]
    pub lc_received_ms: Int,
    /// Who recorded it received.
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub lc_received_by: Username,
    /// When the L/C was checked against the order, ms (0 = not checked).
    #[autosurgeon(missing = "Default::default")]
    pub lc_checked_ms: Int,
    /// Who checked it.
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub lc_checked_by: Username,
    /// The L/C number that was checked: a check of an earlier L/C (before an amendment)
    /// does not count for the one received since.
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub lc_checked_no: String,
    /// Whether the L/C matches the order (审核与L/C要求是否相符).
    #[autosurgeon(missing = "Default::default")]
    pub lc_matches: bool,
    /// What does not match, when it does not.
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub lc_discrepancies: String,
    /// When finance confirmed the deposit in the account (定金入帐), ms (0 = not confirmed).
    #[autosurgeon(missing = "Default::default")]
    pub deposit_confirmed_ms: Int,
    /// The finance user who confirmed it (signs the tracking sheet).
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub deposit_confirmed_by: Username,
    /// The deposit received.
    #[autosurgeon(missing = "Default::default")]
    pub deposit_amount: Money,
    /// Contract review sign-offs (合同评审), keyed `price_check`, `tracking_sheet` and
    /// `cost_sheet:<department>` (the general manager signs as `cost_sheet:general_manager`).
    #[autosurgeon(missing = "Default::default")]
    pub review: BTreeMap<String, SignOff>,
    /// The departments whose heads must sign the cost sheet (the general manager always
    /// must), keyed by department.
    #[autosurgeon(missing = "Default::default")]
    pub cost_sheet_signers: BTreeMap<String, bool>,
}

string_enum! {
    /// A sign-off of the contract review (合同评审).
    pub enum ReviewStep (PriceCheck) {
        /// The product control manager checked the price (产品控制中心经理确认价格).
        PriceCheck = "price_check",
        /// The order tracking sheet is filled and signed (订单跟踪表).
        TrackingSheet = "tracking_sheet",
        /// The cost sheet is signed by a department head or the general manager (成本核算表).
        CostSheet = "cost_sheet",
    }
}

/// The department name the general manager signs the cost sheet under (and the general
/// manager's job title).
pub const GENERAL_MANAGER: &str = "general_manager";

/// The job title of finance (财务部), who alone confirms a deposit in the account.
pub const FINANCE: &str = "finance";

/// Whether the deposit confirmation differs between two states of the commercial side.
fn deposit_changed(was: &OrderCommercial, now: &OrderCommercial) -> bool {
    was.deposit_confirmed_ms != now.deposit_confirmed_ms
        || was.deposit_confirmed_by != now.deposit_confirmed_by
        || was.deposit_amount != now.deposit_amount
}

/// Who may confirm the deposit: the seed releases a deposit order's PO only once the
/// deposit is in the account "and finance has signed for it on the tracking sheet"
/// (定金入帐并由财务部在“订单跟踪表”上签字确认). A change from `was` to `now` that touches
/// the confirmation (amount, date, who) must be made by a holder of the [`FINANCE`] job
/// title (`roles`: [`crate::access::Principal::decision_roles`]) and, when it confirms,
/// under the writer's own name. Returns every problem; empty when allowed.
pub fn deposit_confirmation_problems(
    was: &OrderCommercial,
    now: &OrderCommercial,
    user: &str,
    roles: &[&str],
) -> Vec<Problem> {
    let mut problems = Vec::new();
    if !deposit_changed(was, now) {
        return problems;
    }
    if !roles.contains(&FINANCE) {
        problems.push(
            Problem::new(
                "deposit_confirmed_by",
                format!(
                    "only finance confirms a deposit: it needs the job title {FINANCE}; you hold: {}",
                    crate::access::roles_text(roles)
                ),
            )
            .with_code("deposit.finance_only")
            .with_param("titles", FINANCE),
        );
    }
    if now.deposit_confirmed_ms.0 > 0 && now.deposit_confirmed_by != user {
        problems.push(
            Problem::new(
                "deposit_confirmed_by",
                "a deposit is confirmed only under your own name",
            )
            .with_code("sign_off.not_own"),
        );
    }
    problems
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
    /// Records the L/C as received (a new number records an amendment).
    RecordLcReceived {
        /// The L/C number.
        lc_no: String,
        /// When received, ms.
        received_ms: i64,
    },
    /// Records the check of the received L/C against the order.
    CheckLc {
        /// Whether it matches the order.
        matches: bool,
        /// What does not match (required when it does not).
        #[serde(default)]
        discrepancies: String,
    },
    /// Finance confirms the deposit is in the account.
    ConfirmDeposit {
        /// The amount received.
        amount: Money,
        /// When it arrived, ms.
        received_ms: i64,
    },
    /// Signs a step of the contract review.
    SignReview {
        /// Which sign-off.
        step: ReviewStep,
        /// For the cost sheet: the department signed for (`general_manager` for the GM).
        #[serde(default)]
        department: String,
        /// Printed name.
        name: String,
    },
    /// Adds a department whose head must sign the cost sheet.
    RequireCostSheetSigner {
        /// The department.
        department: String,
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
        CommercialOp::RecordLcReceived { lc_no, received_ms } => {
            let mut problems = Vec::new();
            check_required(&mut problems, "lc_no", lc_no);
            check_text(&mut problems, "lc_no", lc_no, SHORT_TEXT_BYTES_MAX);
            if *received_ms <= 0 {
                problems.push(Problem::new("received_ms", "must be a date"));
            }
            problems_to_result(problems)?;
            put_value(doc, &ROOT, "lc_no", lc_no.as_str())?;
            put_value(doc, &ROOT, "lc_received_ms", Int(*received_ms))?;
            put_value(doc, &ROOT, "lc_received_by", ctx.user.as_str())
        }
        CommercialOp::CheckLc {
            matches,
            discrepancies,
        } => {
            let c: OrderCommercial =
                autosurgeon::hydrate(&crate::read_cache::CachedRead::new(doc))?;
            let mut problems = Vec::new();
            if c.lc_received_ms.0 <= 0 || c.lc_no.is_empty() {
                problems.push(Problem::new(
                    "lc",
                    "has not been recorded as received; record it before checking it",
                ));
            }
            if !matches {
                check_required(&mut problems, "discrepancies", discrepancies);
            }
            check_text(
                &mut problems,
                "discrepancies",
                discrepancies,
                TEXT_BYTES_MAX,
            );
            problems_to_result(problems)?;
            put_value(doc, &ROOT, "lc_checked_ms", Int(ctx.now_ms))?;
            put_value(doc, &ROOT, "lc_checked_by", ctx.user.as_str())?;
            put_value(doc, &ROOT, "lc_checked_no", c.lc_no.as_str())?;
            put_value(doc, &ROOT, "lc_matches", *matches)?;
            put_value(doc, &ROOT, "lc_discrepancies", discrepancies.as_str())
        }
        CommercialOp::ConfirmDeposit {
            amount,
            received_ms,
        } => {
            let mut problems = Vec::new();
            check_money(&mut problems, "amount", amount);
            if amount.minor <= 0 {
                problems.push(Problem::new("amount.minor", "must be more than zero"));
            }
            if *received_ms <= 0 {
                problems.push(Problem::new("received_ms", "must be a date"));
            }
            problems_to_result(problems)?;
            put_value(doc, &ROOT, "deposit_amount", amount)?;
            put_value(doc, &ROOT, "deposit_confirmed_ms", Int(*received_ms))?;
            put_value(doc, &ROOT, "deposit_confirmed_by", ctx.user.as_str())
        }
        CommercialOp::SignReview {
            step,
            department,
            name,
        } => {
            let c: OrderCommercial =
                autosurgeon::hydrate(&crate::read_cache::CachedRead::new(doc))?;
            let mut problems = Vec::new();
            check_required(&mut problems, "name", name);
            check_text(&mut problems, "name", name, SHORT_TEXT_BYTES_MAX);
            let key = match step {
                ReviewStep::CostSheet => {
                    check_required(&mut problems, "department", department);
                    if !department.is_empty() {
                        crate::review::check_department(&mut problems, "department", department);
                    }
                    format!("cost_sheet:{department}")
                }
                other => other.as_str().to_string(),
            };
            if *step != ReviewStep::PriceCheck && !c.review.contains_key("price_check") {
                problems.push(Problem::new(
                    "step",
                    "the product control manager checks the price first",
                ));
            }
            problems_to_result(problems)?;
            let review = crate::record::ensure_map(doc, &ROOT, "review")?;
            put_value(
                doc,
                &review,
                &key,
                &SignOff {
                    by: ctx.user.clone(),
                    name: name.clone(),
                    at_ms: Int(ctx.now_ms),
                    signature_sha256: String::new(),
                },
            )
        }
        CommercialOp::RequireCostSheetSigner { department } => {
            let mut problems = Vec::new();
            crate::review::check_department(&mut problems, "department", department);
            problems_to_result(problems)?;
            let signers = crate::record::ensure_map(doc, &ROOT, "cost_sheet_signers")?;
            put_value(doc, &signers, department, true)
        }
    })
}
