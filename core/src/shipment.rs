//! Shipment check (出货/装柜检查): cartons loaded per PO/style against the packing list,
//! cartons not on the list, shipping marks (唛头) verified with photos, container and seal
//! numbers, verdict and sign-off; then export customs and delivery confirmation.
//!
//! Loaded cartons are Automerge counters, so several dock staff tallying the same line at
//! once all count.

use std::collections::BTreeMap;

use automerge::{AutoCommit, ROOT, ReadDoc};
use autosurgeon::{Counter, Hydrate, Reconcile};
use serde::{Deserialize, Serialize};

use crate::common::{
    COLLECTION_ITEMS_MAX, EditContext, Int, PHOTOS_PER_ITEM_MAX, PhotoRef, Problem,
    SHORT_TEXT_BYTES_MAX, SignOff, TEXT_BYTES_MAX, Username, Verdict, VerdictOverride,
    check_required, check_text, is_sha256_hex, serialize_counter,
};
use crate::record::{
    Record, RecordError, RecordType, ensure_map, increment, insert_item, item_map,
    problems_to_result, put_value,
};

/// The top-level collections of a shipment check, created with it.
pub const COLLECTIONS: &[&str] = &["lines", "extras", "photos"];

/// The most cartons one packing-list line may list or count.
pub const CARTONS_MAX: i64 = 1_000_000;

/// The longest carton label code a scan may carry, in bytes.
pub const CARTON_CODE_BYTES_MAX: usize = 128;

/// Who verified something, and when.
#[derive(Debug, Clone, Default, PartialEq, Hydrate, Reconcile, Serialize, Deserialize)]
pub struct Verified {
    /// Who.
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub by: Username,
    /// When, ms since the epoch.
    #[autosurgeon(missing = "Default::default")]
    pub at_ms: Int,
}

/// One line of the packing list: cartons of a PO/style, and what was loaded.
#[derive(Debug, Clone, Default, Hydrate, Reconcile, Serialize)]
pub struct PackingLine {
    /// Purchase order number.
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub po_no: String,
    /// Style number (款号).
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub style_no: String,
    /// Description / colour.
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub description: String,
    /// Cartons on the packing list.
    #[autosurgeon(missing = "Default::default")]
    pub cartons_expected: Int,
    /// Pieces per carton.
    #[autosurgeon(missing = "Default::default")]
    pub qty_per_carton: Int,
    /// The shipping mark (唛头) text expected on the cartons.
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub shipping_mark: String,
    /// The code printed as a barcode on the line's carton labels (empty: none; the line
    /// then matches a scanned `PO/STYLE` code, see [`match_carton_code`]).
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub barcode: String,
    /// Cartons loaded: a counter several checkers add to.
    #[serde(serialize_with = "serialize_counter")]
    #[autosurgeon(missing = "Default::default")]
    pub loaded: Counter,
    /// Whether the marks on the cartons were checked against `shipping_mark`.
    #[autosurgeon(missing = "Default::default")]
    pub mark_verified: Option<Verified>,
    /// Photos of the marks, keyed by SHA-256.
    #[autosurgeon(missing = "Default::default")]
    pub photos: BTreeMap<String, PhotoRef>,
}

/// Cartons found that are not on the packing list.
#[derive(Debug, Clone, Default, Hydrate, Reconcile, Serialize)]
pub struct ExtraCartons {
    /// PO number printed on them, if any.
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub po_no: String,
    /// Style number printed on them, if any.
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub style_no: String,
    /// What was found.
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub note: String,
    /// How many: a counter.
    #[serde(serialize_with = "serialize_counter")]
    #[autosurgeon(missing = "Default::default")]
    pub count: Counter,
    /// Who found them.
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub by: Username,
    /// When, ms since the epoch.
    #[autosurgeon(missing = "Default::default")]
    pub at_ms: Int,
}

/// Export customs clearance.
#[derive(Debug, Clone, Default, PartialEq, Hydrate, Reconcile, Serialize, Deserialize)]
pub struct Customs {
    /// Customs declaration number.
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub declaration_no: String,
    /// When cleared, ms since the epoch (0 = not yet).
    #[autosurgeon(missing = "Default::default")]
    pub cleared_at_ms: Int,
}

/// The customer's confirmation of delivery and feedback.
#[derive(Debug, Clone, Default, PartialEq, Hydrate, Reconcile, Serialize, Deserialize)]
pub struct Delivery {
    /// When delivery was confirmed, ms since the epoch (0 = not yet).
    #[autosurgeon(missing = "Default::default")]
    pub confirmed_at_ms: Int,
    /// The customer's feedback.
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub feedback: String,
}

/// A shipment / container loading check as stored.
#[derive(Debug, Clone, Default, Hydrate, Reconcile, Serialize)]
pub struct ShipmentCheck {
    /// Always `shipment_check`.
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
    /// Checkers assigned.
    #[autosurgeon(missing = "Default::default")]
    pub assignees: BTreeMap<String, bool>,
    /// The factory loading, if loading at a factory.
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub factory: String,
    /// The warehouse loading, if loading at a warehouse.
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
    /// The sales order number(s).
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub order_no: String,
    /// The customer.
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub customer: String,
    /// Booking number.
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub booking_no: String,
    /// Container number.
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub container_no: String,
    /// Seal number.
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub seal_no: String,
    /// Container type, e.g. `40HQ`.
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub container_type: String,
    /// Due (loading) date, ms since the epoch.
    #[autosurgeon(missing = "Default::default")]
    pub due_ms: Int,
    /// The packing list, keyed by line id.
    #[autosurgeon(missing = "Default::default")]
    pub lines: BTreeMap<String, PackingLine>,
    /// Cartons not on the list, keyed by a unique id.
    #[autosurgeon(missing = "Default::default")]
    pub extras: BTreeMap<String, ExtraCartons>,
    /// General photos (container, seal, loading), keyed by SHA-256.
    #[autosurgeon(missing = "Default::default")]
    pub photos: BTreeMap<String, PhotoRef>,
    /// A human verdict replacing the derived one, with its reason.
    #[autosurgeon(missing = "Default::default", rename = "override")]
    #[serde(rename = "override")]
    pub verdict_override: Option<VerdictOverride>,
    /// The checker's sign-off.
    #[autosurgeon(missing = "Default::default")]
    pub sign_off: Option<SignOff>,
    /// Export customs.
    #[autosurgeon(missing = "Default::default")]
    pub customs: Customs,
    /// Delivery confirmation.
    #[autosurgeon(missing = "Default::default")]
    pub delivery: Delivery,
    /// Remarks.
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub remarks: String,
}

/// A packing-list line as a new check lists it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct NewPackingLine {
    /// PO number.
    pub po_no: String,
    /// Style number.
    pub style_no: String,
    /// Description.
    pub description: String,
    /// Cartons on the packing list.
    pub cartons_expected: i64,
    /// Pieces per carton.
    pub qty_per_carton: i64,
    /// Shipping mark text.
    pub shipping_mark: String,
    /// The carton label barcode, if the labels carry one.
    pub barcode: String,
}

/// What a new shipment check starts with.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct NewShipmentCheck {
    /// Title.
    pub title: String,
    /// Order number(s).
    pub order_no: String,
    /// Customer.
    pub customer: String,
    /// Factory.
    pub factory: String,
    /// Warehouse.
    pub warehouse: String,
    /// Booking number.
    pub booking_no: String,
    /// Container type.
    pub container_type: String,
    /// Due date.
    pub due_ms: i64,
    /// Checkers to assign.
    pub assignees: Vec<String>,
    /// The packing list.
    pub lines: BTreeMap<String, NewPackingLine>,
}

fn check_new_line(problems: &mut Vec<Problem>, id: &str, l: &NewPackingLine) {
    let f = format!("lines.{id}");
    if !crate::common::is_valid_item_id(id) {
        problems.push(Problem::new(&f, "is not a valid id"));
    }
    for (name, v) in [("po_no", &l.po_no), ("style_no", &l.style_no)] {
        check_text(problems, &format!("{f}.{name}"), v, SHORT_TEXT_BYTES_MAX);
    }
    if l.po_no.trim().is_empty() && l.style_no.trim().is_empty() {
        problems.push(Problem::new(&f, "needs a PO number or a style number"));
    }
    check_text(
        problems,
        &format!("{f}.description"),
        &l.description,
        TEXT_BYTES_MAX,
    );
    check_text(
        problems,
        &format!("{f}.shipping_mark"),
        &l.shipping_mark,
        TEXT_BYTES_MAX,
    );
    check_text(
        problems,
        &format!("{f}.barcode"),
        &l.barcode,
        CARTON_CODE_BYTES_MAX,
    );
    for (name, v) in [
        ("cartons_expected", l.cartons_expected),
        ("qty_per_carton", l.qty_per_carton),
    ] {
        if !(0..=CARTONS_MAX).contains(&v) {
            problems.push(Problem::new(
                format!("{f}.{name}"),
                format!("is {v}; it must be from 0 to {CARTONS_MAX}"),
            ));
        }
    }
}

fn new_line(l: &NewPackingLine) -> PackingLine {
    PackingLine {
        po_no: l.po_no.clone(),
        style_no: l.style_no.clone(),
        description: l.description.clone(),
        cartons_expected: Int(l.cartons_expected),
        qty_per_carton: Int(l.qty_per_carton),
        shipping_mark: l.shipping_mark.clone(),
        barcode: l.barcode.trim().to_string(),
        ..PackingLine::default()
    }
}

/// Creates a shipment check record.
pub fn create(
    new: &NewShipmentCheck,
    actor: automerge::ActorId,
    ctx: &EditContext,
) -> Result<Record, RecordError> {
    let mut problems = Vec::new();
    for (name, v) in [
        ("title", &new.title),
        ("order_no", &new.order_no),
        ("customer", &new.customer),
        ("factory", &new.factory),
        ("warehouse", &new.warehouse),
        ("booking_no", &new.booking_no),
        ("container_type", &new.container_type),
    ] {
        check_text(&mut problems, name, v, SHORT_TEXT_BYTES_MAX);
    }
    if new.lines.len() > COLLECTION_ITEMS_MAX {
        problems.push(Problem::new(
            "lines",
            format!("at most {COLLECTION_ITEMS_MAX} lines"),
        ));
    }
    for (id, l) in &new.lines {
        check_new_line(&mut problems, id, l);
    }
    problems_to_result(problems)?;
    let initial = ShipmentCheck {
        record_type: RecordType::ShipmentCheck,
        title: new.title.clone(),
        order_no: new.order_no.clone(),
        customer: new.customer.clone(),
        factory: new.factory.clone(),
        warehouse: new.warehouse.clone(),
        booking_no: new.booking_no.clone(),
        container_type: new.container_type.clone(),
        due_ms: Int(new.due_ms),
        assignees: new.assignees.iter().map(|a| (a.clone(), true)).collect(),
        lines: new
            .lines
            .iter()
            .map(|(id, l)| (id.clone(), new_line(l)))
            .collect(),
        ..ShipmentCheck::default()
    };
    Record::create(RecordType::ShipmentCheck, actor, ctx, &initial)
}

/// A text field of a shipment check header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShipmentField {
    /// Title.
    Title,
    /// Booking number.
    BookingNo,
    /// Container number.
    ContainerNo,
    /// Seal number.
    SealNo,
    /// Container type.
    ContainerType,
    /// Remarks.
    Remarks,
}

impl ShipmentField {
    fn key(self) -> &'static str {
        match self {
            ShipmentField::Title => "title",
            ShipmentField::BookingNo => "booking_no",
            ShipmentField::ContainerNo => "container_no",
            ShipmentField::SealNo => "seal_no",
            ShipmentField::ContainerType => "container_type",
            ShipmentField::Remarks => "remarks",
        }
    }
}

/// One edit of a shipment check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum ShipmentOp {
    /// Sets a header text field (container and seal numbers among them).
    SetText {
        /// Which field.
        field: ShipmentField,
        /// The value.
        value: String,
    },
    /// Adds a packing-list line.
    AddLine {
        /// A new unique id.
        id: String,
        /// The line.
        line: NewPackingLine,
    },
    /// Tallies loaded cartons of a line (+n / −n).
    TallyCartons {
        /// The line.
        line: String,
        /// Cartons to add (negative to take away).
        delta: i64,
    },
    /// One carton label scanned: the line it matches (see [`match_carton_code`]) gets one
    /// more loaded carton. A code that matches no line, or more than one, is refused
    /// (`unknown_carton` / `ambiguous_carton`) and nothing changes.
    ScanCarton {
        /// The code read from the label.
        code: String,
    },
    /// Records cartons that are not on the packing list.
    AddExtra {
        /// A new unique id.
        id: String,
        /// PO printed on them.
        #[serde(default)]
        po_no: String,
        /// Style printed on them.
        #[serde(default)]
        style_no: String,
        /// What was found.
        #[serde(default)]
        note: String,
        /// How many.
        count: i64,
    },
    /// Tallies more (or fewer) extra cartons of one kind.
    TallyExtra {
        /// The entry.
        id: String,
        /// Cartons to add.
        delta: i64,
    },
    /// Marks a line's shipping marks as verified.
    VerifyMark {
        /// The line.
        line: String,
    },
    /// Attaches a photo of a line's marks.
    AddLinePhoto {
        /// The line.
        line: String,
        /// The photo.
        photo: PhotoRef,
    },
    /// Attaches a general photo.
    AddPhoto {
        /// The photo.
        photo: PhotoRef,
    },
    /// Overrides the derived verdict with a reason.
    OverrideVerdict {
        /// The verdict.
        verdict: Verdict,
        /// Why.
        reason: String,
    },
    /// Removes the override.
    ClearOverride,
    /// Signs the check off.
    SignOff {
        /// Printed name.
        name: String,
        /// Drawn signature blob.
        #[serde(default)]
        signature_sha256: String,
    },
    /// Records export customs clearance.
    SetCustoms {
        /// Declaration number.
        declaration_no: String,
        /// When cleared.
        cleared_at_ms: i64,
    },
    /// Records the customer's delivery confirmation and feedback.
    ConfirmDelivery {
        /// When confirmed.
        confirmed_at_ms: i64,
        /// Feedback.
        #[serde(default)]
        feedback: String,
    },
}

/// Applies one edit as one change. After sign-off only customs and delivery may change.
pub fn apply(record: &mut Record, op: &ShipmentOp, ctx: &EditContext) -> Result<(), RecordError> {
    record.expect_type(RecordType::ShipmentCheck)?;
    let check: ShipmentCheck = record.read()?;
    let after_loading = matches!(
        op,
        ShipmentOp::SetCustoms { .. } | ShipmentOp::ConfirmDelivery { .. }
    );
    if check.sign_off.is_some() && !after_loading {
        return Err(RecordError::not_allowed(
            "record.not_allowed.loading_signed",
            "the shipment check is signed off; only customs and delivery may still be recorded",
        )
        .with_param("record_type", RecordType::ShipmentCheck));
    }
    record.edit(ctx, "shipment check", |doc| {
        apply_to_doc(doc, &check, op, ctx)
    })
}

fn normalize_code(code: &str) -> String {
    code.trim().to_ascii_uppercase()
}

/// The packing-list lines a scanned carton code matches: a line matches when the code
/// equals its `barcode`, or, for a line without a barcode, its `PO/STYLE` (e.g.
/// `PO-1/ST-1`). Both compare without surrounding blanks and ignoring ASCII case.
pub fn match_carton_code(check: &ShipmentCheck, code: &str) -> Vec<String> {
    let code = normalize_code(code);
    if code.is_empty() {
        return Vec::new();
    }
    check
        .lines
        .iter()
        .filter(|(_, l)| {
            if l.barcode.trim().is_empty() {
                normalize_code(&format!("{}/{}", l.po_no, l.style_no)) == code
            } else {
                normalize_code(&l.barcode) == code
            }
        })
        .map(|(id, _)| id.clone())
        .collect()
}

fn scan_carton(doc: &mut AutoCommit, check: &ShipmentCheck, code: &str) -> Result<(), RecordError> {
    let coded = |code_name: &str, message: &str| {
        RecordError::Invalid(vec![
            Problem::new("code", message)
                .with_code(code_name)
                .with_param("code", code.trim()),
        ])
    };
    if code.trim().is_empty() {
        return Err(RecordError::Invalid(vec![
            Problem::new("code", "is required").with_code("required"),
        ]));
    }
    if code.len() > CARTON_CODE_BYTES_MAX {
        return Err(RecordError::Invalid(vec![
            Problem::new(
                "code",
                format!(
                    "is {} bytes long; at most {CARTON_CODE_BYTES_MAX} are allowed",
                    code.len()
                ),
            )
            .with_code("text_too_long")
            .with_param("len", code.len())
            .with_param("max", CARTON_CODE_BYTES_MAX),
        ]));
    }
    match match_carton_code(check, code).as_slice() {
        [] => Err(coded(
            "unknown_carton",
            "matches no line of the packing list",
        )),
        [line] => {
            let current = check.lines[line].loaded.value();
            tally(doc, "lines", line, "loaded", current, 1)
        }
        _ => Err(coded(
            "ambiguous_carton",
            "matches more than one line of the packing list",
        )),
    }
}

fn tally(
    doc: &mut AutoCommit,
    collection: &str,
    id: &str,
    key: &str,
    current: i64,
    delta: i64,
) -> Result<(), RecordError> {
    if delta == 0 {
        return Err(RecordError::Invalid(vec![
            Problem::new("delta", "must not be zero").with_code("delta_zero"),
        ]));
    }
    let next = current.saturating_add(delta);
    if !(0..=CARTONS_MAX).contains(&next) {
        return Err(RecordError::Invalid(vec![
            Problem::new(
                format!("{collection}.{id}.{key}"),
                format!("would be {next}; it must stay from 0 to {CARTONS_MAX}"),
            )
            .with_code("out_of_range")
            .with_param("value", next)
            .with_param("min", 0)
            .with_param("max", CARTONS_MAX),
        ]));
    }
    let obj = item_map(doc, collection, id)?;
    increment(doc, &obj, key, delta)
}

fn add_photo(
    doc: &mut AutoCommit,
    obj: &automerge::ObjId,
    field: &str,
    photo: &PhotoRef,
    ctx: &EditContext,
) -> Result<(), RecordError> {
    if !is_sha256_hex(&photo.sha256) {
        return Err(RecordError::invalid(
            format!("{field}.sha256"),
            "must be a SHA-256 in hex",
        ));
    }
    let photos = ensure_map(doc, obj, "photos")?;
    if doc.get(&photos, &photo.sha256)?.is_some() {
        return Ok(());
    }
    if doc.length(&photos) >= PHOTOS_PER_ITEM_MAX {
        return Err(RecordError::invalid(
            field,
            format!("has {PHOTOS_PER_ITEM_MAX} photos, the most allowed"),
        ));
    }
    let stored = PhotoRef {
        by: ctx.user.clone(),
        at_ms: Int(ctx.now_ms),
        ..photo.clone()
    };
    put_value(doc, &photos, &photo.sha256, &stored)
}

fn apply_to_doc(
    doc: &mut AutoCommit,
    check: &ShipmentCheck,
    op: &ShipmentOp,
    ctx: &EditContext,
) -> Result<(), RecordError> {
    match op {
        ShipmentOp::SetText { field, value } => {
            let max = if *field == ShipmentField::Remarks {
                TEXT_BYTES_MAX
            } else {
                SHORT_TEXT_BYTES_MAX
            };
            let mut problems = Vec::new();
            check_text(&mut problems, field.key(), value, max);
            problems_to_result(problems)?;
            put_value(doc, &ROOT, field.key(), value.as_str())
        }
        ShipmentOp::AddLine { id, line } => {
            let mut problems = Vec::new();
            check_new_line(&mut problems, id, line);
            problems_to_result(problems)?;
            insert_item(
                doc,
                &ROOT,
                "lines",
                id,
                &new_line(line),
                COLLECTION_ITEMS_MAX,
            )
        }
        ShipmentOp::TallyCartons { line, delta } => {
            let current = check
                .lines
                .get(line)
                .ok_or_else(|| RecordError::invalid(format!("lines.{line}"), "does not exist"))?
                .loaded
                .value();
            tally(doc, "lines", line, "loaded", current, *delta)
        }
        ShipmentOp::ScanCarton { code } => scan_carton(doc, check, code),
        ShipmentOp::AddExtra {
            id,
            po_no,
            style_no,
            note,
            count,
        } => {
            let mut problems = Vec::new();
            check_text(&mut problems, "po_no", po_no, SHORT_TEXT_BYTES_MAX);
            check_text(&mut problems, "style_no", style_no, SHORT_TEXT_BYTES_MAX);
            check_text(&mut problems, "note", note, TEXT_BYTES_MAX);
            if !(1..=CARTONS_MAX).contains(count) {
                problems.push(Problem::new(
                    "count",
                    format!("must be from 1 to {CARTONS_MAX}"),
                ));
            }
            problems_to_result(problems)?;
            let extra = ExtraCartons {
                po_no: po_no.clone(),
                style_no: style_no.clone(),
                note: note.clone(),
                count: Counter::with_value(*count),
                by: ctx.user.clone(),
                at_ms: Int(ctx.now_ms),
            };
            insert_item(doc, &ROOT, "extras", id, &extra, COLLECTION_ITEMS_MAX)
        }
        ShipmentOp::TallyExtra { id, delta } => {
            let current = check
                .extras
                .get(id)
                .ok_or_else(|| RecordError::invalid(format!("extras.{id}"), "does not exist"))?
                .count
                .value();
            tally(doc, "extras", id, "count", current, *delta)
        }
        ShipmentOp::VerifyMark { line } => {
            let obj = item_map(doc, "lines", line)?;
            if check.lines.get(line).is_some_and(|l| l.photos.is_empty()) {
                return Err(RecordError::Invalid(vec![
                    Problem::new(
                        format!("lines.{line}.mark_verified"),
                        "needs a photo of the shipping marks first",
                    )
                    .with_code("mark_photo_required"),
                ]));
            }
            put_value(
                doc,
                &obj,
                "mark_verified",
                &Verified {
                    by: ctx.user.clone(),
                    at_ms: Int(ctx.now_ms),
                },
            )
        }
        ShipmentOp::AddLinePhoto { line, photo } => {
            let obj = item_map(doc, "lines", line)?;
            add_photo(doc, &obj, &format!("lines.{line}.photos"), photo, ctx)
        }
        ShipmentOp::AddPhoto { photo } => add_photo(doc, &ROOT, "photos", photo, ctx),
        ShipmentOp::OverrideVerdict { verdict, reason } => {
            let mut problems = Vec::new();
            check_required(&mut problems, "reason", reason);
            check_text(&mut problems, "reason", reason, TEXT_BYTES_MAX);
            problems_to_result(problems)?;
            put_value(
                doc,
                &ROOT,
                "override",
                &VerdictOverride {
                    verdict: *verdict,
                    reason: reason.clone(),
                    by: ctx.user.clone(),
                    at_ms: Int(ctx.now_ms),
                },
            )
        }
        ShipmentOp::ClearOverride => {
            put_value(doc, &ROOT, "override", Option::<VerdictOverride>::None)
        }
        ShipmentOp::SignOff {
            name,
            signature_sha256,
        } => {
            let mut problems = Vec::new();
            check_required(&mut problems, "name", name);
            check_text(&mut problems, "name", name, SHORT_TEXT_BYTES_MAX);
            if !signature_sha256.is_empty() && !is_sha256_hex(signature_sha256) {
                problems.push(Problem::new("signature_sha256", "must be a SHA-256 in hex"));
            }
            check_required(&mut problems, "container_no", &check.container_no);
            check_required(&mut problems, "seal_no", &check.seal_no);
            problems_to_result(problems)?;
            put_value(
                doc,
                &ROOT,
                "sign_off",
                &SignOff {
                    by: ctx.user.clone(),
                    name: name.clone(),
                    at_ms: Int(ctx.now_ms),
                    signature_sha256: signature_sha256.clone(),
                },
            )
        }
        ShipmentOp::SetCustoms {
            declaration_no,
            cleared_at_ms,
        } => {
            let mut problems = Vec::new();
            check_text(
                &mut problems,
                "declaration_no",
                declaration_no,
                SHORT_TEXT_BYTES_MAX,
            );
            problems_to_result(problems)?;
            let obj = ensure_map(doc, &ROOT, "customs")?;
            put_value(doc, &obj, "declaration_no", declaration_no.as_str())?;
            put_value(doc, &obj, "cleared_at_ms", Int(*cleared_at_ms))
        }
        ShipmentOp::ConfirmDelivery {
            confirmed_at_ms,
            feedback,
        } => {
            let mut problems = Vec::new();
            check_text(&mut problems, "feedback", feedback, TEXT_BYTES_MAX);
            problems_to_result(problems)?;
            let obj = ensure_map(doc, &ROOT, "delivery")?;
            put_value(doc, &obj, "confirmed_at_ms", Int(*confirmed_at_ms))?;
            put_value(doc, &obj, "feedback", feedback.as_str())
        }
    }
}

/// What the rules derive for one packing-list line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineResult {
    /// Cartons loaded.
    pub loaded: i64,
    /// Cartons on the list.
    pub expected: i64,
    /// Listed but not loaded.
    pub missing: i64,
    /// Loaded beyond the list.
    pub extra: i64,
    /// Marks verified.
    pub mark_verified: bool,
}

/// What the rules derive for a shipment check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShipmentDerived {
    /// Per line.
    pub lines: BTreeMap<String, LineResult>,
    /// Total cartons missing.
    pub missing: i64,
    /// Total cartons loaded beyond the list, plus cartons not on the list.
    pub extra: i64,
    /// Cartons found that are not on the list.
    pub unlisted: i64,
    /// Lines whose marks are not verified yet.
    pub marks_unverified: Vec<String>,
    /// What is still missing before sign-off (container no., seal no., marks).
    pub open_items: Vec<String>,
    /// Fail when cartons are missing or extra; pending while marks, container or seal are
    /// unchecked; else pass.
    pub derived_verdict: Verdict,
    /// The override if any, else the derived verdict.
    pub verdict: Verdict,
    /// Whether an override is in force.
    pub overridden: bool,
    /// `open`, `loading`, `signed`, `cleared` or `delivered`.
    pub status: String,
}

/// Derives cartons missing/extra per line, the verdict and the status.
pub fn derive(check: &ShipmentCheck) -> ShipmentDerived {
    let mut lines = BTreeMap::new();
    let (mut missing, mut extra) = (0, 0);
    let mut marks_unverified = Vec::new();
    for (id, l) in &check.lines {
        let loaded = l.loaded.value().max(0);
        let expected = l.cartons_expected.0;
        let r = LineResult {
            loaded,
            expected,
            missing: (expected - loaded).max(0),
            extra: (loaded - expected).max(0),
            mark_verified: l.mark_verified.is_some(),
        };
        missing += r.missing;
        extra += r.extra;
        if !r.mark_verified {
            marks_unverified.push(id.clone());
        }
        lines.insert(id.clone(), r);
    }
    let unlisted: i64 = check.extras.values().map(|e| e.count.value().max(0)).sum();
    extra += unlisted;
    let mut open_items = Vec::new();
    if check.container_no.trim().is_empty() {
        open_items.push("container_no".to_string());
    }
    if check.seal_no.trim().is_empty() {
        open_items.push("seal_no".to_string());
    }
    for id in &marks_unverified {
        open_items.push(format!("lines.{id}.mark_verified"));
    }
    let derived_verdict = if missing > 0 || extra > 0 {
        Verdict::Fail
    } else if !open_items.is_empty() || check.lines.is_empty() {
        Verdict::Pending
    } else {
        Verdict::Pass
    };
    let verdict = check
        .verdict_override
        .as_ref()
        .map(|o| o.verdict)
        .unwrap_or(derived_verdict);
    let any_loaded = lines.values().any(|l: &LineResult| l.loaded > 0) || unlisted > 0;
    let status = if check.delivery.confirmed_at_ms.0 > 0 {
        "delivered"
    } else if check.customs.cleared_at_ms.0 > 0 {
        "cleared"
    } else if check.sign_off.is_some() {
        "signed"
    } else if any_loaded {
        "loading"
    } else {
        "open"
    };
    ShipmentDerived {
        lines,
        missing,
        extra,
        unlisted,
        marks_unverified,
        open_items,
        derived_verdict,
        verdict,
        overridden: check.verdict_override.is_some(),
        status: status.into(),
    }
}

/// A shipment check with what is derived from it.
#[derive(Debug, Clone, Serialize)]
pub struct ShipmentView {
    /// The stored record.
    pub record: ShipmentCheck,
    /// Derived results.
    pub derived: ShipmentDerived,
}

/// Reads a shipment check and derives its view.
pub fn view(record: &Record) -> Result<ShipmentView, RecordError> {
    record.expect_type(RecordType::ShipmentCheck)?;
    let check: ShipmentCheck = record.read()?;
    let derived = derive(&check);
    Ok(ShipmentView {
        record: check,
        derived,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::actor_from_bytes;
    use wasm_bindgen_test::wasm_bindgen_test;

    fn ctx(user: &str) -> EditContext {
        EditContext::new(user, 5_000)
    }

    fn check() -> Record {
        let mut lines = BTreeMap::new();
        lines.insert(
            "p1".to_string(),
            NewPackingLine {
                po_no: "PO-1".into(),
                style_no: "ST-1".into(),
                cartons_expected: 10,
                qty_per_carton: 12,
                shipping_mark: "ACME / NEW YORK".into(),
                ..NewPackingLine::default()
            },
        );
        lines.insert(
            "p2".to_string(),
            NewPackingLine {
                po_no: "PO-2".into(),
                style_no: "ST-2".into(),
                cartons_expected: 5,
                ..NewPackingLine::default()
            },
        );
        let new = NewShipmentCheck {
            title: "Container 1".into(),
            booking_no: "BK-1".into(),
            assignees: vec!["dock1".into()],
            lines,
            ..NewShipmentCheck::default()
        };
        create(&new, actor_from_bytes(&[5; 16]), &ctx("merch")).unwrap()
    }

    fn op(r: &mut Record, user: &str, o: ShipmentOp) {
        apply(r, &o, &ctx(user)).unwrap();
    }

    fn mark_photo() -> PhotoRef {
        PhotoRef {
            sha256: "ab".repeat(32),
            mime: "image/jpeg".into(),
            bytes: Int(1000),
            ..PhotoRef::default()
        }
    }

    fn problem(e: RecordError) -> Problem {
        match e {
            RecordError::Invalid(mut p) => {
                assert_eq!(p.len(), 1, "{p:?}");
                p.remove(0)
            }
            other => panic!("not an input problem: {other}"),
        }
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn mark_verified_needs_a_photo() {
        let mut r = check();
        let verify = ShipmentOp::VerifyMark { line: "p1".into() };
        let p = problem(apply(&mut r, &verify, &ctx("dock1")).unwrap_err());
        assert_eq!(
            (p.code.as_str(), p.field.as_str()),
            ("mark_photo_required", "lines.p1.mark_verified")
        );
        assert!(view(&r).unwrap().record.lines["p1"].mark_verified.is_none());
        op(
            &mut r,
            "dock1",
            ShipmentOp::AddLinePhoto {
                line: "p1".into(),
                photo: mark_photo(),
            },
        );
        op(&mut r, "dock1", verify);
        let v = view(&r).unwrap();
        assert_eq!(
            v.record.lines["p1"].mark_verified.as_ref().unwrap().by,
            "dock1"
        );
        assert_eq!(v.derived.marks_unverified, vec!["p2".to_string()]);
        let p = problem(
            apply(
                &mut r,
                &ShipmentOp::VerifyMark { line: "p9".into() },
                &ctx("d"),
            )
            .unwrap_err(),
        );
        assert_eq!(p.code, "not_found");
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn scanned_cartons_match_barcode_or_po_style() {
        let mut r = check();
        // p1 and p2 have no barcode: their PO/STYLE codes match, blanks and case aside.
        for code in ["PO-1/ST-1", " po-1/st-1 ", "PO-2/ST-2"] {
            op(
                &mut r,
                "dock1",
                ShipmentOp::ScanCarton { code: code.into() },
            );
        }
        let d = view(&r).unwrap().derived;
        assert_eq!((d.lines["p1"].loaded, d.lines["p2"].loaded), (2, 1));

        // A line with a barcode matches its barcode only.
        op(
            &mut r,
            "m",
            ShipmentOp::AddLine {
                id: "p3".into(),
                line: NewPackingLine {
                    po_no: "PO-1".into(),
                    style_no: "ST-1".into(),
                    cartons_expected: 3,
                    barcode: "CTN-0003".into(),
                    ..NewPackingLine::default()
                },
            },
        );
        op(
            &mut r,
            "dock1",
            ShipmentOp::ScanCarton {
                code: "ctn-0003".into(),
            },
        );
        let d = view(&r).unwrap().derived;
        assert_eq!((d.lines["p1"].loaded, d.lines["p3"].loaded), (2, 1));

        let before = r.save();
        let p = problem(
            apply(
                &mut r,
                &ShipmentOp::ScanCarton {
                    code: "NOPE-1".into(),
                },
                &ctx("d"),
            )
            .unwrap_err(),
        );
        assert_eq!(
            (p.code.as_str(), p.params["code"].as_str()),
            ("unknown_carton", "NOPE-1")
        );
        let p = problem(
            apply(
                &mut r,
                &ShipmentOp::ScanCarton { code: "  ".into() },
                &ctx("d"),
            )
            .unwrap_err(),
        );
        assert_eq!(p.code, "required");
        assert_eq!(r.save(), before, "a refused scan changes nothing");

        // Two lines with the same barcode: the scan cannot tell which.
        op(
            &mut r,
            "m",
            ShipmentOp::AddLine {
                id: "p4".into(),
                line: NewPackingLine {
                    po_no: "PO-4".into(),
                    barcode: "CTN-0003".into(),
                    ..NewPackingLine::default()
                },
            },
        );
        let p = problem(
            apply(
                &mut r,
                &ShipmentOp::ScanCarton {
                    code: "CTN-0003".into(),
                },
                &ctx("d"),
            )
            .unwrap_err(),
        );
        assert_eq!(p.code, "ambiguous_carton");
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn carton_codes_have_a_length_limit() {
        let mut r = check();
        let at_limit = "C".repeat(CARTON_CODE_BYTES_MAX);
        let over = "C".repeat(CARTON_CODE_BYTES_MAX + 1);
        let line = |barcode: &str| ShipmentOp::AddLine {
            id: "p5".into(),
            line: NewPackingLine {
                po_no: "PO-5".into(),
                barcode: barcode.into(),
                ..NewPackingLine::default()
            },
        };
        let p = problem(apply(&mut r, &line(&over), &ctx("m")).unwrap_err());
        assert_eq!(
            (p.code.as_str(), p.field.as_str()),
            ("text_too_long", "lines.p5.barcode")
        );
        op(&mut r, "m", line(&at_limit));
        op(&mut r, "d", ShipmentOp::ScanCarton { code: at_limit });
        assert_eq!(view(&r).unwrap().derived.lines["p5"].loaded, 1);
        let p =
            problem(apply(&mut r, &ShipmentOp::ScanCarton { code: over }, &ctx("d")).unwrap_err());
        assert_eq!(p.code, "text_too_long");
        assert_eq!(p.params["max"], CARTON_CODE_BYTES_MAX.to_string());
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn cartons_against_packing_list() {
        let mut r = check();
        op(
            &mut r,
            "dock1",
            ShipmentOp::TallyCartons {
                line: "p1".into(),
                delta: 8,
            },
        );
        op(
            &mut r,
            "dock1",
            ShipmentOp::TallyCartons {
                line: "p2".into(),
                delta: 6,
            },
        );
        let d = view(&r).unwrap().derived;
        assert_eq!(d.lines["p1"].missing, 2);
        assert_eq!(d.lines["p2"].extra, 1);
        assert_eq!((d.missing, d.extra), (2, 1));
        assert_eq!(d.derived_verdict, Verdict::Fail);
        assert_eq!(d.status, "loading");
        op(
            &mut r,
            "dock1",
            ShipmentOp::TallyCartons {
                line: "p1".into(),
                delta: 2,
            },
        );
        op(
            &mut r,
            "dock1",
            ShipmentOp::TallyCartons {
                line: "p2".into(),
                delta: -1,
            },
        );
        let d = view(&r).unwrap().derived;
        assert_eq!((d.missing, d.extra), (0, 0));
        assert_eq!(
            d.derived_verdict,
            Verdict::Pending,
            "marks, container and seal still open"
        );
        assert_eq!(d.open_items.len(), 4);
        op(
            &mut r,
            "dock1",
            ShipmentOp::AddExtra {
                id: "x1".into(),
                po_no: "PO-9".into(),
                style_no: String::new(),
                note: "not ours".into(),
                count: 2,
            },
        );
        let d = view(&r).unwrap().derived;
        assert_eq!(
            (d.unlisted, d.extra, d.derived_verdict),
            (2, 2, Verdict::Fail)
        );
        op(
            &mut r,
            "dock1",
            ShipmentOp::TallyExtra {
                id: "x1".into(),
                delta: -2,
            },
        );
        for l in ["p1", "p2"] {
            op(
                &mut r,
                "dock1",
                ShipmentOp::AddLinePhoto {
                    line: l.into(),
                    photo: mark_photo(),
                },
            );
            op(&mut r, "dock1", ShipmentOp::VerifyMark { line: l.into() });
        }
        op(
            &mut r,
            "dock1",
            ShipmentOp::SetText {
                field: ShipmentField::ContainerNo,
                value: "MSKU1234567".into(),
            },
        );
        assert!(
            apply(
                &mut r,
                &ShipmentOp::SignOff {
                    name: "Wang".into(),
                    signature_sha256: String::new()
                },
                &ctx("dock1")
            )
            .is_err(),
            "seal number missing"
        );
        op(
            &mut r,
            "dock1",
            ShipmentOp::SetText {
                field: ShipmentField::SealNo,
                value: "SEAL-778".into(),
            },
        );
        assert_eq!(view(&r).unwrap().derived.derived_verdict, Verdict::Pass);
        op(
            &mut r,
            "dock1",
            ShipmentOp::SignOff {
                name: "Wang".into(),
                signature_sha256: String::new(),
            },
        );
        assert!(matches!(
            apply(
                &mut r,
                &ShipmentOp::TallyCartons {
                    line: "p1".into(),
                    delta: 1
                },
                &ctx("dock1")
            ),
            Err(RecordError::NotAllowed(_))
        ));
        op(
            &mut r,
            "merch",
            ShipmentOp::SetCustoms {
                declaration_no: "D-1".into(),
                cleared_at_ms: 9,
            },
        );
        op(
            &mut r,
            "merch",
            ShipmentOp::ConfirmDelivery {
                confirmed_at_ms: 10,
                feedback: "all good".into(),
            },
        );
        assert_eq!(view(&r).unwrap().derived.status, "delivered");
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn limits_and_override() {
        let mut r = check();
        assert!(
            apply(
                &mut r,
                &ShipmentOp::TallyCartons {
                    line: "p1".into(),
                    delta: -1
                },
                &ctx("d")
            )
            .is_err()
        );
        assert!(
            apply(
                &mut r,
                &ShipmentOp::TallyCartons {
                    line: "p1".into(),
                    delta: CARTONS_MAX + 1
                },
                &ctx("d")
            )
            .is_err()
        );
        op(
            &mut r,
            "d",
            ShipmentOp::TallyCartons {
                line: "p1".into(),
                delta: CARTONS_MAX,
            },
        );
        assert!(
            apply(
                &mut r,
                &ShipmentOp::OverrideVerdict {
                    verdict: Verdict::Pass,
                    reason: String::new()
                },
                &ctx("m")
            )
            .is_err()
        );
        op(
            &mut r,
            "m",
            ShipmentOp::OverrideVerdict {
                verdict: Verdict::Pass,
                reason: "customer accepts short shipment".into(),
            },
        );
        let d = view(&r).unwrap().derived;
        assert_eq!(
            (d.verdict, d.derived_verdict, d.overridden),
            (Verdict::Pass, Verdict::Fail, true)
        );
        let bad_line = ShipmentOp::AddLine {
            id: "p3".into(),
            line: NewPackingLine::default(),
        };
        assert!(
            apply(&mut r, &bad_line, &ctx("m")).is_err(),
            "needs a PO or style"
        );
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn concurrent_tallies_add_up() {
        let mut a = check();
        let mut b = Record::load(&a.save(), actor_from_bytes(&[6; 16])).unwrap();
        op(
            &mut a,
            "dock1",
            ShipmentOp::TallyCartons {
                line: "p1".into(),
                delta: 4,
            },
        );
        op(
            &mut b,
            "dock2",
            ShipmentOp::TallyCartons {
                line: "p1".into(),
                delta: 6,
            },
        );
        op(
            &mut a,
            "dock1",
            ShipmentOp::SetText {
                field: ShipmentField::ContainerNo,
                value: "C1".into(),
            },
        );
        op(
            &mut b,
            "dock2",
            ShipmentOp::SetText {
                field: ShipmentField::SealNo,
                value: "S1".into(),
            },
        );
        a.merge(&mut b).unwrap();
        let v = view(&a).unwrap();
        assert_eq!(v.derived.lines["p1"].loaded, 10);
        assert_eq!(
            (v.record.container_no.as_str(), v.record.seal_no.as_str()),
            ("C1", "S1")
        );
    }
}
