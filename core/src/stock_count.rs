//! Stock count (库存盘点): count lines per location/bin and SKU, one entry per counter per
//! round, variance against the expected quantity, recount over a threshold, blind mode,
//! submission and the approval that turns a count into a stock adjustment.
//!
//! Several clerks may count the same line at once: each clerk's count sits under its own
//! key (`<round>:<username>`), so concurrent counts never overwrite each other, and the
//! line's total is derived as their sum.

use std::collections::BTreeMap;

use automerge::{AutoCommit, ROOT};
use autosurgeon::{Hydrate, Reconcile};
use serde::{Deserialize, Serialize};

use crate::common::{
    COLLECTION_ITEMS_MAX, Decimal, EditContext, Int, Problem, SHORT_TEXT_BYTES_MAX, TEXT_BYTES_MAX,
    Username, check_required, check_text,
};
use crate::record::{
    Record, RecordError, RecordType, ensure_map, insert_item, item_map, problems_to_result,
    put_value,
};

/// The top-level collections of a stock count, created with it.
pub const COLLECTIONS: &[&str] = &["lines", "submissions"];

/// The largest quantity one counter may enter for one line.
pub const COUNT_QTY_MAX: i64 = 1_000_000_000;

/// The most recount rounds a line may have.
pub const ROUNDS_MAX: i64 = 20;

/// One counter's count of one line in one round.
#[derive(Debug, Clone, Default, PartialEq, Hydrate, Reconcile, Serialize, Deserialize)]
pub struct CountEntry {
    /// Pieces counted.
    #[autosurgeon(missing = "Default::default")]
    pub qty: Int,
    /// The counting round (1 = first count, 2 = first recount, …).
    #[autosurgeon(missing = "Default::default")]
    pub round: Int,
    /// The clerk.
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub by: Username,
    /// When, ms since the epoch.
    #[autosurgeon(missing = "Default::default")]
    pub at_ms: Int,
}

/// One line of the count sheet: a SKU at a location/bin.
#[derive(Debug, Clone, Default, PartialEq, Hydrate, Reconcile, Serialize, Deserialize)]
pub struct CountLine {
    /// Location or bin, e.g. `A-03-2`.
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub location: String,
    /// The SKU / item code (also what a barcode scan gives).
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub sku: String,
    /// Item description.
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub description: String,
    /// Unit, e.g. `pcs`, `ctn`.
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub unit: String,
    /// Expected quantity from the books.
    #[autosurgeon(missing = "Default::default")]
    pub expected: Int,
    /// Safety stock (安全库存) for the SKU at this location.
    #[autosurgeon(missing = "Default::default")]
    pub safety_stock: Int,
    /// The round counters count in now (1 until a recount is requested).
    #[autosurgeon(missing = "Default::default")]
    pub round: Int,
    /// Counts keyed `<round>:<username>`.
    #[autosurgeon(missing = "Default::default")]
    pub entries: BTreeMap<String, CountEntry>,
}

/// When a counter submitted the count sheet.
#[derive(Debug, Clone, Default, PartialEq, Hydrate, Reconcile, Serialize, Deserialize)]
pub struct Submission {
    /// When, ms since the epoch.
    #[autosurgeon(missing = "Default::default")]
    pub at_ms: Int,
}

/// The approval that turns the count into a stock adjustment.
#[derive(Debug, Clone, Default, PartialEq, Hydrate, Reconcile, Serialize, Deserialize)]
pub struct CountApproval {
    /// The approver.
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub by: Username,
    /// When, ms since the epoch.
    #[autosurgeon(missing = "Default::default")]
    pub at_ms: Int,
    /// A note.
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub note: String,
}

/// When a line is flagged for recount. A threshold that is not set does not flag.
#[derive(Debug, Clone, Default, PartialEq, Hydrate, Reconcile, Serialize, Deserialize)]
pub struct RecountThreshold {
    /// Flag when |variance| is greater than this many units.
    #[autosurgeon(missing = "Default::default")]
    pub qty: Option<Int>,
    /// Flag when |variance| is greater than this percentage of the expected quantity.
    #[autosurgeon(missing = "Default::default")]
    pub pct: Option<Decimal>,
}

/// A stock count (库存盘点) as stored.
#[derive(Debug, Clone, Default, Hydrate, Reconcile, Serialize)]
pub struct StockCount {
    /// Always `stock_count`.
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
    /// When, ms since the epoch.
    #[autosurgeon(missing = "Default::default")]
    pub created_at_ms: Int,
    /// Clerks assigned.
    #[autosurgeon(missing = "Default::default")]
    pub assignees: BTreeMap<String, bool>,
    /// Factory (when counting a factory's stock).
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub factory: String,
    /// The warehouse counted.
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub warehouse: String,
    /// A title for work lists.
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub title: String,
    /// Due date, ms since the epoch.
    #[autosurgeon(missing = "Default::default")]
    pub due_ms: Int,
    /// Blind count: counters do not see expected quantities until they submit.
    #[autosurgeon(missing = "Default::default")]
    pub blind: bool,
    /// Recount threshold.
    #[autosurgeon(missing = "Default::default")]
    pub threshold: RecountThreshold,
    /// The lines, keyed by a unique id.
    #[autosurgeon(missing = "Default::default")]
    pub lines: BTreeMap<String, CountLine>,
    /// Submissions, keyed by username.
    #[autosurgeon(missing = "Default::default")]
    pub submissions: BTreeMap<String, Submission>,
    /// The approval, once given.
    #[autosurgeon(missing = "Default::default")]
    pub approval: Option<CountApproval>,
}

/// A line as a new count sheet lists it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct NewLine {
    /// Location/bin.
    pub location: String,
    /// SKU.
    pub sku: String,
    /// Description.
    pub description: String,
    /// Unit.
    pub unit: String,
    /// Expected quantity.
    pub expected: i64,
    /// Safety stock.
    pub safety_stock: i64,
}

/// What a new stock count starts with.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct NewStockCount {
    /// Title.
    pub title: String,
    /// Warehouse.
    pub warehouse: String,
    /// Due date.
    pub due_ms: i64,
    /// Blind count.
    pub blind: bool,
    /// Recount when |variance| exceeds this many units (default 0: any variance).
    pub threshold_qty: Option<i64>,
    /// Recount when |variance| exceeds this percentage of expected.
    pub threshold_pct: Option<f64>,
    /// Clerks to assign.
    pub assignees: Vec<String>,
    /// Lines keyed by id.
    pub lines: BTreeMap<String, NewLine>,
}

fn check_line(problems: &mut Vec<Problem>, id: &str, line: &NewLine) {
    let field = format!("lines.{id}");
    if !crate::common::is_valid_item_id(id) {
        problems.push(Problem::new(&field, "is not a valid id"));
    }
    check_required(problems, &format!("{field}.sku"), &line.sku);
    for (name, value) in [
        ("location", &line.location),
        ("sku", &line.sku),
        ("unit", &line.unit),
    ] {
        check_text(
            problems,
            &format!("{field}.{name}"),
            value,
            SHORT_TEXT_BYTES_MAX,
        );
    }
    check_text(
        problems,
        &format!("{field}.description"),
        &line.description,
        TEXT_BYTES_MAX,
    );
    for (name, value) in [
        ("expected", line.expected),
        ("safety_stock", line.safety_stock),
    ] {
        if !(0..=COUNT_QTY_MAX).contains(&value) {
            problems.push(Problem::new(
                format!("{field}.{name}"),
                format!("is {value}; it must be from 0 to {COUNT_QTY_MAX}"),
            ));
        }
    }
}

fn check_threshold(problems: &mut Vec<Problem>, qty: Option<i64>, pct: Option<f64>) {
    if qty.is_some_and(|q| q < 0) {
        problems.push(Problem::new("threshold.qty", "must be zero or more"));
    }
    if pct.is_some_and(|p| !(p.is_finite() && p >= 0.0)) {
        problems.push(Problem::new(
            "threshold.pct",
            "must be zero or a positive percentage",
        ));
    }
}

fn new_count_line(line: &NewLine) -> CountLine {
    CountLine {
        location: line.location.clone(),
        sku: line.sku.clone(),
        description: line.description.clone(),
        unit: line.unit.clone(),
        expected: Int(line.expected),
        safety_stock: Int(line.safety_stock),
        round: Int(1),
        entries: BTreeMap::new(),
    }
}

/// Creates a stock count record.
pub fn create(
    new: &NewStockCount,
    actor: automerge::ActorId,
    ctx: &EditContext,
) -> Result<Record, RecordError> {
    let mut problems = Vec::new();
    check_text(&mut problems, "title", &new.title, SHORT_TEXT_BYTES_MAX);
    check_text(
        &mut problems,
        "warehouse",
        &new.warehouse,
        SHORT_TEXT_BYTES_MAX,
    );
    check_threshold(&mut problems, new.threshold_qty, new.threshold_pct);
    if new.lines.len() > COLLECTION_ITEMS_MAX {
        problems.push(Problem::new(
            "lines",
            format!(
                "has {} lines; at most {COLLECTION_ITEMS_MAX}",
                new.lines.len()
            ),
        ));
    }
    for (id, line) in &new.lines {
        check_line(&mut problems, id, line);
    }
    problems_to_result(problems)?;
    let initial = StockCount {
        record_type: RecordType::StockCount,
        title: new.title.clone(),
        warehouse: new.warehouse.clone(),
        due_ms: Int(new.due_ms),
        blind: new.blind,
        threshold: RecountThreshold {
            qty: Some(Int(new.threshold_qty.unwrap_or(0))),
            pct: new.threshold_pct.map(Decimal),
        },
        assignees: new.assignees.iter().map(|a| (a.clone(), true)).collect(),
        lines: new
            .lines
            .iter()
            .map(|(id, l)| (id.clone(), new_count_line(l)))
            .collect(),
        ..StockCount::default()
    };
    Record::create(RecordType::StockCount, actor, ctx, &initial)
}

/// One edit of a stock count.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum StockCountOp {
    /// Adds a line (an item found at a location that was not on the sheet, or office set-up).
    AddLine {
        /// A new unique id.
        id: String,
        /// The line.
        line: NewLine,
    },
    /// Sets this user's count of a line in the line's current round (replaces only this
    /// user's own earlier entry for the round).
    SetCount {
        /// The line.
        line: String,
        /// Pieces counted.
        qty: i64,
    },
    /// Asks for a recount of a line: counters count it again in a new round.
    RequestRecount {
        /// The line.
        line: String,
    },
    /// Sets the recount threshold.
    SetThreshold {
        /// Units, or none.
        qty: Option<i64>,
        /// Percentage, or none.
        pct: Option<f64>,
    },
    /// Turns blind mode on or off.
    SetBlind {
        /// Blind or not.
        blind: bool,
    },
    /// This user submits their counts.
    Submit,
    /// Approves the count (turns it into a stock adjustment).
    Approve {
        /// A note.
        #[serde(default)]
        note: String,
    },
}

/// Applies one edit of a stock count as one change. A refused edit changes nothing.
pub fn apply(record: &mut Record, op: &StockCountOp, ctx: &EditContext) -> Result<(), RecordError> {
    record.expect_type(RecordType::StockCount)?;
    let count: StockCount = record.read()?;
    if count.approval.is_some() {
        return Err(RecordError::not_allowed(
            "record.not_allowed.approved",
            "the count is approved; it can no longer be changed",
        )
        .with_param("record_type", RecordType::StockCount));
    }
    let what = match op {
        StockCountOp::AddLine { .. } => "add line",
        StockCountOp::SetCount { .. } => "set count",
        StockCountOp::RequestRecount { .. } => "request recount",
        StockCountOp::SetThreshold { .. } => "set threshold",
        StockCountOp::SetBlind { .. } => "set blind",
        StockCountOp::Submit => "submit",
        StockCountOp::Approve { .. } => "approve",
    };
    record.edit(ctx, what, |doc| apply_to_doc(doc, &count, op, ctx))
}

fn apply_to_doc(
    doc: &mut AutoCommit,
    count: &StockCount,
    op: &StockCountOp,
    ctx: &EditContext,
) -> Result<(), RecordError> {
    match op {
        StockCountOp::AddLine { id, line } => {
            let mut problems = Vec::new();
            check_line(&mut problems, id, line);
            problems_to_result(problems)?;
            insert_item(
                doc,
                &ROOT,
                "lines",
                id,
                &new_count_line(line),
                COLLECTION_ITEMS_MAX,
            )
        }
        StockCountOp::SetCount { line, qty } => {
            if !(0..=COUNT_QTY_MAX).contains(qty) {
                return Err(RecordError::invalid(
                    "qty",
                    format!("is {qty}; it must be from 0 to {COUNT_QTY_MAX}"),
                ));
            }
            let current = count
                .lines
                .get(line)
                .ok_or_else(|| RecordError::invalid(format!("lines.{line}"), "does not exist"))?;
            let round = current.round.0.max(1);
            let obj = item_map(doc, "lines", line)?;
            let entries = ensure_map(doc, &obj, "entries")?;
            let key = entry_key(round, &ctx.user);
            let entry = CountEntry {
                qty: Int(*qty),
                round: Int(round),
                by: ctx.user.clone(),
                at_ms: Int(ctx.now_ms),
            };
            put_value(doc, &entries, &key, &entry)
        }
        StockCountOp::RequestRecount { line } => {
            let current = count
                .lines
                .get(line)
                .ok_or_else(|| RecordError::invalid(format!("lines.{line}"), "does not exist"))?;
            let next = current.round.0.max(1) + 1;
            if next > ROUNDS_MAX {
                return Err(RecordError::invalid(
                    format!("lines.{line}.round"),
                    format!("a line may be counted at most {ROUNDS_MAX} times"),
                ));
            }
            let obj = item_map(doc, "lines", line)?;
            put_value(doc, &obj, "round", Int(next))
        }
        StockCountOp::SetThreshold { qty, pct } => {
            let mut problems = Vec::new();
            check_threshold(&mut problems, *qty, *pct);
            problems_to_result(problems)?;
            let t = ensure_map(doc, &ROOT, "threshold")?;
            put_value(doc, &t, "qty", qty.map(Int))?;
            put_value(doc, &t, "pct", pct.map(Decimal))
        }
        StockCountOp::SetBlind { blind } => put_value(doc, &ROOT, "blind", *blind),
        StockCountOp::Submit => {
            let submissions = ensure_map(doc, &ROOT, "submissions")?;
            put_value(
                doc,
                &submissions,
                &ctx.user,
                &Submission {
                    at_ms: Int(ctx.now_ms),
                },
            )
        }
        StockCountOp::Approve { note } => {
            let mut problems = Vec::new();
            check_text(&mut problems, "note", note, TEXT_BYTES_MAX);
            let derived = derive(count);
            if count.submissions.is_empty() {
                problems.push(Problem::new(
                    "submissions",
                    "nobody has submitted the count yet",
                ));
            }
            if derived.uncounted > 0 {
                problems.push(Problem::new(
                    "lines",
                    format!("{} line(s) are not counted yet", derived.uncounted),
                ));
            }
            if derived.flagged > 0 {
                problems.push(Problem::new(
                    "lines",
                    format!(
                        "{} line(s) are over the variance threshold: recount them first",
                        derived.flagged
                    ),
                ));
            }
            problems_to_result(problems)?;
            let approval = CountApproval {
                by: ctx.user.clone(),
                at_ms: Int(ctx.now_ms),
                note: note.clone(),
            };
            put_value(doc, &ROOT, "approval", &approval)
        }
    }
}

/// The key of a counter's entry: `<round>:<username>`.
pub fn entry_key(round: i64, user: &str) -> String {
    format!("{round}:{user}")
}

/// What the rules derive for one line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LineDerived {
    /// The round whose entries make the total (the newest round with any entry).
    pub counted_round: Option<i64>,
    /// The round counters count in now.
    pub current_round: i64,
    /// The total counted: the sum of every counter's entry in `counted_round`.
    pub total: Option<i64>,
    /// How many clerks counted in that round.
    pub counters: usize,
    /// Total minus expected.
    pub variance: Option<i64>,
    /// Variance as a percentage of expected (none when expected is 0).
    pub variance_pct: Option<f64>,
    /// Over the recount threshold.
    pub recount: bool,
    /// A recount was requested and nobody has counted the new round yet.
    pub recount_pending: bool,
    /// Counted total below safety stock.
    pub below_safety_stock: bool,
}

/// Derives a line's total, variance and flags.
pub fn derive_line(line: &CountLine, threshold: &RecountThreshold) -> LineDerived {
    let current_round = line.round.0.max(1);
    let counted_round = line.entries.values().map(|e| e.round.0).max();
    let (total, counters) = match counted_round {
        Some(r) => {
            let in_round: Vec<&CountEntry> =
                line.entries.values().filter(|e| e.round.0 == r).collect();
            (
                Some(in_round.iter().map(|e| e.qty.0).sum::<i64>()),
                in_round.len(),
            )
        }
        None => (None, 0),
    };
    let variance = total.map(|t| t - line.expected.0);
    let variance_pct = match (variance, line.expected.0) {
        (Some(v), e) if e != 0 => Some(v as f64 * 100.0 / e as f64),
        _ => None,
    };
    let over_qty = match (variance, &threshold.qty) {
        (Some(v), Some(q)) => v.abs() > q.0,
        _ => false,
    };
    let over_pct = match (variance, &threshold.pct) {
        (Some(v), Some(p)) => match variance_pct {
            Some(pct) => pct.abs() > p.0,
            None => v != 0, // any variance against an expected 0 is infinitely many percent
        },
        _ => false,
    };
    let recount_pending = counted_round.is_some_and(|r| r < current_round);
    LineDerived {
        counted_round,
        current_round,
        total,
        counters,
        variance,
        variance_pct,
        recount: (over_qty || over_pct) && !recount_pending,
        recount_pending,
        below_safety_stock: total.is_some_and(|t| t < line.safety_stock.0),
    }
}

/// What the rules derive for a whole count.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StockCountDerived {
    /// Per line.
    pub lines: BTreeMap<String, LineDerived>,
    /// Lines nobody counted yet.
    pub uncounted: usize,
    /// Lines over the threshold.
    pub flagged: usize,
    /// Lines waiting for a recount.
    pub recount_pending: usize,
    /// Sum of all variances (units).
    pub net_variance: i64,
    /// `open`, `counting`, `submitted` or `approved`.
    pub status: String,
}

/// Derives totals, variances and flags for every line.
pub fn derive(count: &StockCount) -> StockCountDerived {
    let lines: BTreeMap<String, LineDerived> = count
        .lines
        .iter()
        .map(|(id, l)| (id.clone(), derive_line(l, &count.threshold)))
        .collect();
    let uncounted = lines.values().filter(|l| l.total.is_none()).count();
    let flagged = lines.values().filter(|l| l.recount).count();
    let recount_pending = lines.values().filter(|l| l.recount_pending).count();
    let net_variance = lines.values().filter_map(|l| l.variance).sum();
    let status = if count.approval.is_some() {
        "approved"
    } else if !count.submissions.is_empty() {
        "submitted"
    } else if uncounted < lines.len() {
        "counting"
    } else {
        "open"
    };
    StockCountDerived {
        lines,
        uncounted,
        flagged,
        recount_pending,
        net_variance,
        status: status.into(),
    }
}

/// A stock count as `viewer` may see it, with what is derived.
#[derive(Debug, Clone, Serialize)]
pub struct StockCountView {
    /// The stored record; in a blind count, before the viewer submitted, expected
    /// quantities read 0 and `expected_hidden` is true.
    pub record: StockCount,
    /// Derived totals; blind before submission: variances and flags are hidden too.
    pub derived: StockCountDerived,
    /// Whether expected quantities are hidden from this viewer.
    pub expected_hidden: bool,
}

/// Reads a stock count as `viewer` sees it. In blind mode a counter who has not submitted
/// sees neither expected quantities nor variances (an office role passes `office: true`).
pub fn view(record: &Record, viewer: &str, office: bool) -> Result<StockCountView, RecordError> {
    record.expect_type(RecordType::StockCount)?;
    let mut count: StockCount = record.read()?;
    let mut derived = derive(&count);
    let expected_hidden = count.blind && !office && !count.submissions.contains_key(viewer);
    if expected_hidden {
        for line in count.lines.values_mut() {
            line.expected = Int(0);
        }
        for line in derived.lines.values_mut() {
            line.variance = None;
            line.variance_pct = None;
            line.recount = false;
        }
        derived.flagged = 0;
        derived.net_variance = 0;
    }
    Ok(StockCountView {
        record: count,
        derived,
        expected_hidden,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::actor_from_bytes;
    use wasm_bindgen_test::wasm_bindgen_test;

    fn ctx(user: &str) -> EditContext {
        EditContext::new(user, 1_000)
    }

    fn sheet(blind: bool, threshold_qty: Option<i64>, threshold_pct: Option<f64>) -> Record {
        let mut lines = BTreeMap::new();
        for (id, loc, sku, expected) in [
            ("l1", "A-01", "SKU-1", 100),
            ("l2", "A-02", "SKU-2", 50),
            ("l3", "B-01", "SKU-3", 0),
        ] {
            lines.insert(
                id.to_string(),
                NewLine {
                    location: loc.into(),
                    sku: sku.into(),
                    expected,
                    safety_stock: 20,
                    ..NewLine::default()
                },
            );
        }
        let new = NewStockCount {
            title: "Monthly count".into(),
            warehouse: "WH-1".into(),
            blind,
            threshold_qty,
            threshold_pct,
            assignees: vec!["clerk1".into(), "clerk2".into()],
            lines,
            ..NewStockCount::default()
        };
        create(&new, actor_from_bytes(&[9; 16]), &ctx("office")).unwrap()
    }

    fn set(r: &mut Record, user: &str, line: &str, qty: i64) {
        apply(
            r,
            &StockCountOp::SetCount {
                line: line.into(),
                qty,
            },
            &ctx(user),
        )
        .unwrap();
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn totals_sum_over_counters_and_own_entry_is_replaced() {
        let mut r = sheet(false, Some(0), None);
        set(&mut r, "clerk1", "l1", 60);
        set(&mut r, "clerk2", "l1", 40);
        set(&mut r, "clerk1", "l1", 61); // a correction replaces only clerk1's own entry
        let v = view(&r, "clerk1", false).unwrap();
        let l1 = &v.derived.lines["l1"];
        assert_eq!(l1.total, Some(101));
        assert_eq!(l1.counters, 2);
        assert_eq!(l1.variance, Some(1));
        assert!(l1.recount, "threshold 0: any variance flags");
        assert_eq!(v.derived.uncounted, 2);
        assert_eq!(v.derived.status, "counting");
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn thresholds_by_quantity_and_percentage() {
        let t = |qty: Option<i64>, pct: Option<f64>| RecountThreshold {
            qty: qty.map(Int),
            pct: pct.map(Decimal),
        };
        let line = |expected: i64, counted: i64| {
            let mut l = CountLine {
                expected: Int(expected),
                round: Int(1),
                ..CountLine::default()
            };
            l.entries.insert(
                entry_key(1, "c"),
                CountEntry {
                    qty: Int(counted),
                    round: Int(1),
                    ..CountEntry::default()
                },
            );
            l
        };
        // Quantity: flagged when |variance| is greater than the threshold, not equal.
        assert!(!derive_line(&line(100, 105), &t(Some(5), None)).recount);
        assert!(derive_line(&line(100, 106), &t(Some(5), None)).recount);
        assert!(derive_line(&line(100, 94), &t(Some(5), None)).recount);
        // Percentage of expected.
        assert!(!derive_line(&line(200, 210), &t(None, Some(5.0))).recount);
        assert!(derive_line(&line(200, 211), &t(None, Some(5.0))).recount);
        assert_eq!(
            derive_line(&line(200, 190), &t(None, Some(5.0))).variance_pct,
            Some(-5.0)
        );
        // Against expected 0, any variance exceeds a percentage threshold.
        assert!(derive_line(&line(0, 1), &t(None, Some(50.0))).recount);
        assert!(!derive_line(&line(0, 0), &t(None, Some(50.0))).recount);
        // Either threshold flags.
        assert!(derive_line(&line(1000, 1011), &t(Some(10), Some(50.0))).recount);
        // No threshold set: never flagged.
        assert!(!derive_line(&line(100, 1), &t(None, None)).recount);
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn recount_starts_a_new_round() {
        let mut r = sheet(false, Some(2), None);
        set(&mut r, "clerk1", "l2", 40);
        assert!(view(&r, "office", true).unwrap().derived.lines["l2"].recount);
        apply(
            &mut r,
            &StockCountOp::RequestRecount { line: "l2".into() },
            &ctx("office"),
        )
        .unwrap();
        let v = view(&r, "office", true).unwrap();
        let l2 = &v.derived.lines["l2"];
        assert!(l2.recount_pending);
        assert!(!l2.recount);
        assert_eq!(l2.total, Some(40), "the last counted round still shows");
        set(&mut r, "clerk2", "l2", 49);
        let l2 = view(&r, "office", true).unwrap().derived.lines["l2"].clone();
        assert_eq!(
            (l2.counted_round, l2.total, l2.variance, l2.recount),
            (Some(2), Some(49), Some(-1), false)
        );
        for _ in 2..ROUNDS_MAX {
            apply(
                &mut r,
                &StockCountOp::RequestRecount { line: "l2".into() },
                &ctx("office"),
            )
            .unwrap();
        }
        assert!(
            apply(
                &mut r,
                &StockCountOp::RequestRecount { line: "l2".into() },
                &ctx("office")
            )
            .is_err()
        );
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn blind_mode_hides_expected_until_submitted() {
        let mut r = sheet(true, Some(0), None);
        set(&mut r, "clerk1", "l1", 90);
        let v = view(&r, "clerk1", false).unwrap();
        assert!(v.expected_hidden);
        assert_eq!(v.record.lines["l1"].expected.0, 0);
        assert_eq!(v.derived.lines["l1"].variance, None);
        assert_eq!(v.derived.lines["l1"].total, Some(90));
        let office = view(&r, "boss", true).unwrap();
        assert!(!office.expected_hidden);
        assert_eq!(office.derived.lines["l1"].variance, Some(-10));
        apply(&mut r, &StockCountOp::Submit, &ctx("clerk1")).unwrap();
        let v = view(&r, "clerk1", false).unwrap();
        assert!(!v.expected_hidden);
        assert_eq!(v.record.lines["l1"].expected.0, 100);
        // Another clerk who has not submitted still counts blind.
        assert!(view(&r, "clerk2", false).unwrap().expected_hidden);
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn approval_needs_complete_count_within_threshold_and_then_locks() {
        let mut r = sheet(false, Some(5), None);
        let approve = StockCountOp::Approve {
            note: String::new(),
        };
        match apply(&mut r, &approve, &ctx("boss")).unwrap_err() {
            RecordError::Invalid(p) => assert_eq!(p.len(), 2, "{p:?}"), // nobody submitted; 3 uncounted
            e => panic!("{e}"),
        }
        set(&mut r, "clerk1", "l1", 100);
        set(&mut r, "clerk1", "l2", 30);
        set(&mut r, "clerk1", "l3", 0);
        apply(&mut r, &StockCountOp::Submit, &ctx("clerk1")).unwrap();
        assert!(
            apply(&mut r, &approve, &ctx("boss")).is_err(),
            "l2 is over the threshold"
        );
        apply(
            &mut r,
            &StockCountOp::RequestRecount { line: "l2".into() },
            &ctx("boss"),
        )
        .unwrap();
        set(&mut r, "clerk2", "l2", 48);
        apply(&mut r, &approve, &ctx("boss")).unwrap();
        let v = view(&r, "boss", true).unwrap();
        assert_eq!(v.derived.status, "approved");
        assert_eq!(v.derived.net_variance, -2);
        assert!(matches!(
            apply(
                &mut r,
                &StockCountOp::SetCount {
                    line: "l1".into(),
                    qty: 1
                },
                &ctx("clerk1")
            ),
            Err(RecordError::NotAllowed(_))
        ));
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn limits_and_bad_input() {
        let mut r = sheet(false, None, None);
        assert!(
            apply(
                &mut r,
                &StockCountOp::SetCount {
                    line: "l1".into(),
                    qty: -1
                },
                &ctx("c")
            )
            .is_err()
        );
        assert!(
            apply(
                &mut r,
                &StockCountOp::SetCount {
                    line: "l1".into(),
                    qty: COUNT_QTY_MAX + 1
                },
                &ctx("c")
            )
            .is_err()
        );
        apply(
            &mut r,
            &StockCountOp::SetCount {
                line: "l1".into(),
                qty: COUNT_QTY_MAX,
            },
            &ctx("c"),
        )
        .unwrap();
        assert!(
            apply(
                &mut r,
                &StockCountOp::SetCount {
                    line: "zz".into(),
                    qty: 1
                },
                &ctx("c")
            )
            .is_err()
        );
        assert!(
            apply(
                &mut r,
                &StockCountOp::SetThreshold {
                    qty: Some(-1),
                    pct: Some(f64::NAN)
                },
                &ctx("c")
            )
            .is_err()
        );
        let no_sku = StockCountOp::AddLine {
            id: "l9".into(),
            line: NewLine::default(),
        };
        assert!(apply(&mut r, &no_sku, &ctx("c")).is_err());
        let found = StockCountOp::AddLine {
            id: "l9".into(),
            line: NewLine {
                sku: "SKU-9".into(),
                location: "C-1".into(),
                ..NewLine::default()
            },
        };
        apply(&mut r, &found, &ctx("c")).unwrap();
        let v = view(&r, "c", false).unwrap();
        assert!(v.derived.lines.contains_key("l9"));
        assert!(v.derived.lines["l1"].total.is_some());
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn concurrent_counts_of_the_same_line_all_survive() {
        let mut a = sheet(false, Some(0), None);
        let mut b = Record::load(&a.save(), actor_from_bytes(&[10; 16])).unwrap();
        set(&mut a, "clerk1", "l1", 70);
        set(&mut b, "clerk2", "l1", 30);
        apply(&mut b, &StockCountOp::Submit, &ctx("clerk2")).unwrap();
        a.merge(&mut b).unwrap();
        let v = view(&a, "office", true).unwrap();
        assert_eq!(v.derived.lines["l1"].total, Some(100));
        assert_eq!(v.derived.lines["l1"].variance, Some(0));
        assert!(v.record.submissions.contains_key("clerk2"));
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn safety_stock() {
        let mut r = sheet(false, None, None);
        set(&mut r, "c", "l1", 19);
        set(&mut r, "c", "l2", 20);
        let v = view(&r, "c", false).unwrap();
        assert!(v.derived.lines["l1"].below_safety_stock);
        assert!(!v.derived.lines["l2"].below_safety_stock);
    }
}
