//! Inspection (验货报告): lot, AQL settings, defects by class with photos and quantities,
//! measurements against the size spec, checklist, verdict and sign-off.
//!
//! Stored: what the inspector recorded and the human decisions (an override with its
//! reason, the sign-off). Derived, never stored: the sampling plan, the defect totals, the
//! verdict they imply and the out-of-tolerance readings — so a merge can never leave a stale
//! verdict behind.

use std::collections::BTreeMap;

use automerge::{AutoCommit, ROOT, ReadDoc};
use autosurgeon::{Counter, Hydrate, HydrateError, Reconcile, Reconciler};
use serde::{Deserialize, Serialize};

use crate::aql::{self, AqlSettings, ClassAql, DefectClass, InspectionPlan};
use crate::common::{
    COLLECTION_ITEMS_MAX, Decimal, EditContext, Int, PHOTOS_PER_ITEM_MAX, PhotoRef, Problem,
    SHORT_TEXT_BYTES_MAX, SignOff, TEXT_BYTES_MAX, Username, Verdict, VerdictOverride,
    check_required, check_text, is_sha256_hex, serialize_counter, string_enum,
};
use crate::record::{
    Record, RecordError, RecordType, ensure_map, get_map, has_item, increment, insert_item,
    item_map, problems_to_result, put_value,
};

/// The top-level collections of an inspection, created with it.
pub const COLLECTIONS: &[&str] = &["defects", "points", "readings", "checklist", "photos"];

/// The most pieces a defect tally may hold (a lot is at most [`aql::LOT_SIZE_MAX`]).
pub const DEFECT_QTY_MAX: i64 = aql::LOT_SIZE_MAX as i64;

string_enum! {
    /// When in production the inspection takes place.
    pub enum InspectionType (PreShipment) {
        /// 首检 / pre-production: materials and first pieces.
        PreProduction = "pre_production",
        /// 中期 / inline: during production.
        Inline = "inline",
        /// 尾期 / final random inspection before shipment.
        PreShipment = "pre_shipment",
    }
}

string_enum! {
    /// The result of one checklist item.
    pub enum CheckResult (Unset) {
        /// Not checked yet.
        Unset = "",
        /// Conforms.
        Pass = "pass",
        /// Does not conform.
        Fail = "fail",
        /// Does not apply to this lot.
        NotApplicable = "na",
    }
}

/// The checklist items every inspection starts with (PRODUCT.md): the key and its name.
pub const STANDARD_CHECKLIST: &[(&str, &str)] = &[
    ("packaging", "Packaging / 包装"),
    ("shipping_marks", "Shipping marks / 唛头"),
    ("carton_drop", "Carton drop test / 摔箱测试"),
    (
        "colour_vs_sample",
        "Colour vs approved sample / 颜色对比签样",
    ),
    ("accessories_vs_list", "Accessories vs list / 辅料对照清单"),
];

impl Hydrate for DefectClass {
    fn hydrate_string(s: &str) -> Result<Self, HydrateError> {
        // A class this build does not know is counted as major: never silently ignored.
        Ok(match s {
            "critical" => DefectClass::Critical,
            "minor" => DefectClass::Minor,
            _ => DefectClass::Major,
        })
    }
}

impl Reconcile for DefectClass {
    type Key<'a> = autosurgeon::reconcile::NoKey;
    fn reconcile<R: Reconciler>(&self, mut r: R) -> Result<(), R::Error> {
        r.str(self.as_str())
    }
}

/// Why and by whom an entry was voided. Entries are voided, never deleted: nothing a
/// device recorded is lost.
#[derive(Debug, Clone, Default, PartialEq, Hydrate, Reconcile, Serialize, Deserialize)]
pub struct Voided {
    /// Who voided it.
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub by: Username,
    /// When, ms since the epoch.
    #[autosurgeon(missing = "Default::default")]
    pub at_ms: Int,
    /// Why.
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub reason: String,
}

/// One kind of defect found, with how many pieces show it (a counter several inspectors
/// may add to at once).
#[derive(Debug, Clone, Default, Hydrate, Reconcile, Serialize)]
pub struct Defect {
    /// Critical, major or minor.
    #[autosurgeon(missing = "Default::default")]
    pub class: DefectClass,
    /// What is wrong, e.g. "open seam at left side".
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub description: String,
    /// Where on the product.
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub position: String,
    /// Pieces with this defect: an Automerge counter.
    #[serde(serialize_with = "serialize_counter")]
    #[autosurgeon(missing = "Default::default")]
    pub qty: Counter,
    /// Photos, keyed by their SHA-256.
    #[autosurgeon(missing = "Default::default")]
    pub photos: BTreeMap<String, PhotoRef>,
    /// Who recorded it.
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub by: Username,
    /// When, ms since the epoch.
    #[autosurgeon(missing = "Default::default")]
    pub at_ms: Int,
    /// Set when the entry was withdrawn.
    #[autosurgeon(missing = "Default::default")]
    pub voided: Option<Voided>,
}

impl Default for DefectClass {
    /// A defect whose class is not (yet) known counts as major: never silently ignored.
    fn default() -> Self {
        DefectClass::Major
    }
}

/// A point of measure in the size spec, for one size.
#[derive(Debug, Clone, Default, PartialEq, Hydrate, Reconcile, Serialize, Deserialize)]
pub struct MeasurementPoint {
    /// e.g. "chest width 1 cm below armhole".
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub name: String,
    /// The size, e.g. "M".
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub size: String,
    /// The spec value.
    #[autosurgeon(missing = "Default::default")]
    pub target: Decimal,
    /// Allowed below the target (a positive number).
    #[autosurgeon(missing = "Default::default")]
    pub tol_minus: Decimal,
    /// Allowed above the target (a positive number).
    #[autosurgeon(missing = "Default::default")]
    pub tol_plus: Decimal,
    /// Unit, e.g. "cm".
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub unit: String,
}

/// One measured value of one sample piece at one point.
#[derive(Debug, Clone, Default, PartialEq, Hydrate, Reconcile, Serialize, Deserialize)]
pub struct Reading {
    /// The id of the measurement point.
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub point: String,
    /// Which sample piece (1-based).
    #[autosurgeon(missing = "Default::default")]
    pub piece: Int,
    /// The measured value.
    #[autosurgeon(missing = "Default::default")]
    pub value: Decimal,
    /// Who measured.
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub by: Username,
    /// When, ms since the epoch.
    #[autosurgeon(missing = "Default::default")]
    pub at_ms: Int,
}

/// One checklist item's result.
#[derive(Debug, Clone, Default, PartialEq, Hydrate, Reconcile, Serialize, Deserialize)]
pub struct CheckItem {
    /// What is checked.
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub name: String,
    /// The result.
    #[autosurgeon(missing = "Default::default")]
    pub result: CheckResult,
    /// A note, e.g. what failed.
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub note: String,
    /// Photos, keyed by their SHA-256.
    #[autosurgeon(missing = "Default::default")]
    pub photos: BTreeMap<String, PhotoRef>,
    /// Who set the result last.
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub by: Username,
    /// When, ms since the epoch.
    #[autosurgeon(missing = "Default::default")]
    pub at_ms: Int,
}

/// AQL settings as stored: strings, read leniently and turned into [`AqlSettings`].
#[derive(Debug, Clone, Default, PartialEq, Hydrate, Reconcile, Serialize, Deserialize)]
pub struct StoredAqlSettings {
    /// Inspection level: `S-1`…`S-4`, `I`, `II`, `III`.
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub level: String,
    /// Critical AQL: a table AQL, `0` (zero tolerance) or `none` (not inspected).
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub critical: String,
    /// Major AQL, same forms.
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub major: String,
    /// Minor AQL, same forms.
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub minor: String,
    /// `largest_for_all` or `per_class`.
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub sample_size_rule: String,
}

impl StoredAqlSettings {
    /// The stored form of `settings`.
    pub fn from_settings(settings: &AqlSettings) -> Self {
        fn class(c: &ClassAql) -> String {
            match c {
                ClassAql::ZeroTolerance => "0".into(),
                ClassAql::NotInspected => "none".into(),
                ClassAql::Aql(a) => a.to_string(),
            }
        }
        StoredAqlSettings {
            level: settings.level.to_string(),
            critical: class(&settings.critical),
            major: class(&settings.major),
            minor: class(&settings.minor),
            sample_size_rule: match settings.sample_size_rule {
                aql::SampleSizeRule::LargestForAll => "largest_for_all".into(),
                aql::SampleSizeRule::PerClass => "per_class".into(),
            },
        }
    }

    /// The settings, with every field that is missing taken from the defaults, and every
    /// problem in the stored values listed.
    pub fn to_settings(&self) -> (AqlSettings, Vec<Problem>) {
        let defaults = AqlSettings::default();
        let mut problems = Vec::new();
        let level = if self.level.is_empty() {
            defaults.level
        } else {
            self.level.parse().unwrap_or_else(|e: aql::AqlError| {
                problems.push(e.to_problem("aql.level"));
                defaults.level
            })
        };
        let mut class = |field: &str, value: &str, default: ClassAql| -> ClassAql {
            match value.trim() {
                "" => default,
                "0" | "zero" => ClassAql::ZeroTolerance,
                "none" => ClassAql::NotInspected,
                v => match v.parse() {
                    Ok(a) => ClassAql::Aql(a),
                    Err(e) => {
                        problems.push(e.to_problem(format!("aql.{field}")));
                        default
                    }
                },
            }
        };
        let critical = class("critical", &self.critical, defaults.critical);
        let major = class("major", &self.major, defaults.major);
        let minor = class("minor", &self.minor, defaults.minor);
        let sample_size_rule = match self.sample_size_rule.as_str() {
            "" => defaults.sample_size_rule,
            "largest_for_all" => aql::SampleSizeRule::LargestForAll,
            "per_class" => aql::SampleSizeRule::PerClass,
            other => {
                problems.push(Problem::new(
                    "aql.sample_size_rule",
                    format!("unknown rule {other:?}: expected largest_for_all or per_class"),
                ));
                defaults.sample_size_rule
            }
        };
        (
            AqlSettings {
                level,
                critical,
                major,
                minor,
                sample_size_rule,
            },
            problems,
        )
    }
}

/// The inspector's sign-off, with the verdict and document heads it signed.
#[derive(Debug, Clone, Default, PartialEq, Hydrate, Reconcile, Serialize, Deserialize)]
pub struct InspectionSignOff {
    /// Who, when and the drawn signature.
    #[autosurgeon(missing = "Default::default")]
    pub person: SignOff,
    /// The final verdict at the moment of signing.
    #[autosurgeon(missing = "Default::default")]
    pub verdict: Verdict,
    /// The document heads (hex change hashes) that were signed.
    #[autosurgeon(missing = "Default::default")]
    pub heads: Vec<String>,
}

/// An inspection record (验货报告) as stored.
#[derive(Debug, Clone, Default, Hydrate, Reconcile, Serialize)]
pub struct Inspection {
    /// Always `inspection`.
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
    /// Inspectors assigned (username → true).
    #[autosurgeon(missing = "Default::default")]
    pub assignees: BTreeMap<String, bool>,
    /// The supplier factory inspected.
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub factory: String,
    /// Warehouse, when the goods are inspected there.
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub warehouse: String,
    /// A short title for work lists.
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub title: String,
    /// The sales order number (外销合同号).
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub order_no: String,
    /// The purchase order number (采购合同号).
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub po_no: String,
    /// The style number (款号).
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub style_no: String,
    /// The customer.
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub customer: String,
    /// The kind of inspection.
    #[autosurgeon(missing = "Default::default")]
    pub inspection_type: InspectionType,
    /// Pieces in the lot.
    #[autosurgeon(missing = "Default::default")]
    pub lot_size: Int,
    /// When it is due, ms since the epoch (0 = no date).
    #[autosurgeon(missing = "Default::default")]
    pub due_ms: Int,
    /// Sampling settings.
    #[autosurgeon(missing = "Default::default")]
    pub aql: StoredAqlSettings,
    /// Defects found, keyed by a unique id.
    #[autosurgeon(missing = "Default::default")]
    pub defects: BTreeMap<String, Defect>,
    /// The size spec's points of measure, keyed by id.
    #[autosurgeon(missing = "Default::default")]
    pub points: BTreeMap<String, MeasurementPoint>,
    /// Measured values, keyed by a unique id.
    #[autosurgeon(missing = "Default::default")]
    pub readings: BTreeMap<String, Reading>,
    /// Checklist results, keyed by item key.
    #[autosurgeon(missing = "Default::default")]
    pub checklist: BTreeMap<String, CheckItem>,
    /// General photos, keyed by SHA-256.
    #[autosurgeon(missing = "Default::default")]
    pub photos: BTreeMap<String, PhotoRef>,
    /// A human verdict replacing the derived one, with its reason.
    #[autosurgeon(missing = "Default::default", rename = "override")]
    #[serde(rename = "override")]
    pub verdict_override: Option<VerdictOverride>,
    /// The inspector's sign-off.
    #[autosurgeon(missing = "Default::default")]
    pub sign_off: Option<InspectionSignOff>,
    /// Free remarks for the report.
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub remarks: String,
}

/// What a new inspection starts with.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct NewInspection {
    /// A short title.
    pub title: String,
    /// Sales order number.
    pub order_no: String,
    /// Purchase order number.
    pub po_no: String,
    /// Style number.
    pub style_no: String,
    /// Customer.
    pub customer: String,
    /// Factory.
    pub factory: String,
    /// Kind of inspection.
    pub inspection_type: InspectionType,
    /// Pieces in the lot.
    pub lot_size: u64,
    /// Due date, ms since the epoch.
    pub due_ms: i64,
    /// Sampling settings (defaults: level II, critical 0, major 2.5, minor 4.0).
    pub aql: Option<AqlSettings>,
    /// Inspectors to assign.
    pub assignees: Vec<String>,
    /// The size spec.
    pub points: BTreeMap<String, MeasurementPoint>,
}

/// Creates an inspection record.
pub fn create(
    new: &NewInspection,
    actor: automerge::ActorId,
    ctx: &EditContext,
) -> Result<Record, RecordError> {
    let mut problems = Vec::new();
    check_text(&mut problems, "title", &new.title, SHORT_TEXT_BYTES_MAX);
    for (field, value) in [
        ("order_no", &new.order_no),
        ("po_no", &new.po_no),
        ("style_no", &new.style_no),
        ("customer", &new.customer),
        ("factory", &new.factory),
    ] {
        check_text(&mut problems, field, value, SHORT_TEXT_BYTES_MAX);
    }
    if new.lot_size > aql::LOT_SIZE_MAX {
        problems.push(Problem::new(
            "lot_size",
            format!(
                "is {}; at most {} is allowed",
                new.lot_size,
                aql::LOT_SIZE_MAX
            ),
        ));
    }
    for (id, point) in &new.points {
        check_point(&mut problems, id, point);
    }
    problems_to_result(problems)?;
    let settings = new.aql.unwrap_or_default();
    let initial = Inspection {
        record_type: RecordType::Inspection,
        title: new.title.clone(),
        order_no: new.order_no.clone(),
        po_no: new.po_no.clone(),
        style_no: new.style_no.clone(),
        customer: new.customer.clone(),
        factory: new.factory.clone(),
        inspection_type: new.inspection_type,
        lot_size: Int(i64::try_from(new.lot_size).unwrap_or(i64::MAX)),
        due_ms: Int(new.due_ms),
        aql: StoredAqlSettings::from_settings(&settings),
        assignees: new.assignees.iter().map(|a| (a.clone(), true)).collect(),
        points: new.points.clone(),
        checklist: STANDARD_CHECKLIST
            .iter()
            .map(|(key, name)| {
                (
                    (*key).to_string(),
                    CheckItem {
                        name: (*name).to_string(),
                        ..CheckItem::default()
                    },
                )
            })
            .collect(),
        ..Inspection::default()
    };
    Record::create(RecordType::Inspection, actor, ctx, &initial)
}

fn check_point(problems: &mut Vec<Problem>, id: &str, p: &MeasurementPoint) {
    let field = format!("points.{id}");
    if !crate::common::is_valid_item_id(id) {
        problems.push(Problem::new(&field, "is not a valid id"));
    }
    check_required(problems, &format!("{field}.name"), &p.name);
    check_text(
        problems,
        &format!("{field}.name"),
        &p.name,
        SHORT_TEXT_BYTES_MAX,
    );
    if !(p.tol_minus.0 >= 0.0 && p.tol_plus.0 >= 0.0) {
        problems.push(Problem::new(
            format!("{field}.tolerance"),
            "tolerances must be zero or positive numbers",
        ));
    }
    if !p.target.0.is_finite() {
        problems.push(Problem::new(format!("{field}.target"), "must be a number"));
    }
}

/// A header field of an inspection that holds text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TextField {
    /// Title.
    Title,
    /// Sales order number.
    OrderNo,
    /// PO number.
    PoNo,
    /// Style number.
    StyleNo,
    /// Customer.
    Customer,
    /// Factory.
    Factory,
    /// Remarks.
    Remarks,
}

impl TextField {
    fn key(self) -> &'static str {
        match self {
            TextField::Title => "title",
            TextField::OrderNo => "order_no",
            TextField::PoNo => "po_no",
            TextField::StyleNo => "style_no",
            TextField::Customer => "customer",
            TextField::Factory => "factory",
            TextField::Remarks => "remarks",
        }
    }
    fn max_bytes(self) -> usize {
        match self {
            TextField::Remarks => TEXT_BYTES_MAX,
            _ => SHORT_TEXT_BYTES_MAX,
        }
    }
}

/// One edit of an inspection. Each writes only what it changes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum InspectionOp {
    /// Sets a text field of the header.
    SetText {
        /// Which field.
        field: TextField,
        /// The new text.
        value: String,
    },
    /// Sets the kind of inspection.
    SetInspectionType {
        /// The kind.
        inspection_type: InspectionType,
    },
    /// Sets the lot size; the sampling plan follows.
    SetLotSize {
        /// Pieces in the lot.
        lot_size: u64,
    },
    /// Sets the due date.
    SetDue {
        /// ms since the epoch.
        due_ms: i64,
    },
    /// Sets the sampling settings.
    SetAql {
        /// The settings.
        settings: AqlSettings,
    },
    /// Records a new defect.
    AddDefect {
        /// A new unique id (made by the caller, e.g. device id + counter).
        id: String,
        /// Its class.
        class: DefectClass,
        /// What is wrong.
        description: String,
        /// Where.
        #[serde(default)]
        position: String,
        /// Pieces found so far (at least 1).
        #[serde(default = "one")]
        qty: i64,
    },
    /// Adds `delta` pieces to a defect's tally (+1 / −1 buttons). The tally never goes
    /// below zero through this device.
    TallyDefect {
        /// The defect.
        id: String,
        /// Pieces to add (negative to take away).
        delta: i64,
    },
    /// Corrects a defect's class, description or position.
    EditDefect {
        /// The defect.
        id: String,
        /// A new class.
        #[serde(default)]
        class: Option<DefectClass>,
        /// A new description.
        #[serde(default)]
        description: Option<String>,
        /// A new position.
        #[serde(default)]
        position: Option<String>,
    },
    /// Withdraws a defect entered by mistake (kept, marked void).
    VoidDefect {
        /// The defect.
        id: String,
        /// Why.
        reason: String,
    },
    /// Attaches a photo to a defect.
    AddDefectPhoto {
        /// The defect.
        id: String,
        /// The photo.
        photo: PhotoRef,
    },
    /// Adds a point of measure to the size spec.
    AddPoint {
        /// A new unique id.
        id: String,
        /// The point.
        point: MeasurementPoint,
    },
    /// Records a measured value.
    RecordReading {
        /// A new unique id.
        id: String,
        /// The point's id.
        point: String,
        /// Sample piece number (1-based).
        piece: i64,
        /// The value.
        value: f64,
    },
    /// Sets a checklist item's result and note (adds the item if it is new).
    SetCheck {
        /// The item key, e.g. `carton_drop`.
        item: String,
        /// The result.
        result: CheckResult,
        /// A note.
        #[serde(default)]
        note: String,
        /// A name, for a new item.
        #[serde(default)]
        name: Option<String>,
    },
    /// Attaches a photo to a checklist item.
    AddCheckPhoto {
        /// The item key.
        item: String,
        /// The photo.
        photo: PhotoRef,
    },
    /// Attaches a general photo.
    AddPhoto {
        /// The photo.
        photo: PhotoRef,
    },
    /// Replaces the derived verdict with a human one; the reason is required.
    OverrideVerdict {
        /// The verdict.
        verdict: Verdict,
        /// Why.
        reason: String,
    },
    /// Removes an override: the derived verdict applies again.
    ClearOverride,
    /// Signs the inspection off: the verdict and heads at this moment are recorded.
    SignOff {
        /// The name printed on the report.
        name: String,
        /// The drawn signature blob, if any.
        #[serde(default)]
        signature_sha256: String,
    },
}

fn one() -> i64 {
    1
}

fn check_photo(problems: &mut Vec<Problem>, field: &str, photo: &PhotoRef) {
    if !is_sha256_hex(&photo.sha256) {
        problems.push(Problem::new(
            format!("{field}.sha256"),
            "must be a SHA-256 in lower-case hex (64 characters)",
        ));
    }
    check_text(
        problems,
        &format!("{field}.caption"),
        &photo.caption,
        TEXT_BYTES_MAX,
    );
    check_text(
        problems,
        &format!("{field}.mime"),
        &photo.mime,
        SHORT_TEXT_BYTES_MAX,
    );
}

fn add_photo_at(
    doc: &mut AutoCommit,
    obj: &automerge::ObjId,
    field: &str,
    photo: &PhotoRef,
    ctx: &EditContext,
) -> Result<(), RecordError> {
    let mut problems = Vec::new();
    check_photo(&mut problems, field, photo);
    problems_to_result(problems)?;
    let photos = ensure_map(doc, obj, "photos")?;
    if doc.get(&photos, &photo.sha256)?.is_some() {
        return Ok(()); // the same photo twice is one photo
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

/// Applies one edit to an inspection as one change. A refused edit changes nothing.
pub fn apply(record: &mut Record, op: &InspectionOp, ctx: &EditContext) -> Result<(), RecordError> {
    record.expect_type(RecordType::Inspection)?;
    if record
        .doc()
        .get(ROOT, "sign_off")?
        .is_some_and(|(v, _)| !v.is_null())
    {
        return Err(RecordError::not_allowed(
            "record.signed",
            "the inspection is signed off; it can no longer be changed",
        )
        .with_param("record_type", RecordType::Inspection));
    }
    let what = op_name(op);
    record.edit(ctx, what, |doc| apply_to_doc(doc, op, ctx))
}

fn op_name(op: &InspectionOp) -> &'static str {
    match op {
        InspectionOp::SetText { .. } => "set text",
        InspectionOp::SetInspectionType { .. } => "set inspection type",
        InspectionOp::SetLotSize { .. } => "set lot size",
        InspectionOp::SetDue { .. } => "set due date",
        InspectionOp::SetAql { .. } => "set AQL",
        InspectionOp::AddDefect { .. } => "add defect",
        InspectionOp::TallyDefect { .. } => "tally defect",
        InspectionOp::EditDefect { .. } => "edit defect",
        InspectionOp::VoidDefect { .. } => "void defect",
        InspectionOp::AddDefectPhoto { .. } => "add defect photo",
        InspectionOp::AddPoint { .. } => "add measurement point",
        InspectionOp::RecordReading { .. } => "record reading",
        InspectionOp::SetCheck { .. } => "set check",
        InspectionOp::AddCheckPhoto { .. } => "add check photo",
        InspectionOp::AddPhoto { .. } => "add photo",
        InspectionOp::OverrideVerdict { .. } => "override verdict",
        InspectionOp::ClearOverride => "clear override",
        InspectionOp::SignOff { .. } => "sign off",
    }
}

fn apply_to_doc(
    doc: &mut AutoCommit,
    op: &InspectionOp,
    ctx: &EditContext,
) -> Result<(), RecordError> {
    match op {
        InspectionOp::SetText { field, value } => {
            let mut problems = Vec::new();
            check_text(&mut problems, field.key(), value, field.max_bytes());
            problems_to_result(problems)?;
            put_value(doc, &ROOT, field.key(), value.as_str())
        }
        InspectionOp::SetInspectionType { inspection_type } => {
            put_value(doc, &ROOT, "inspection_type", inspection_type)
        }
        InspectionOp::SetLotSize { lot_size } => {
            if *lot_size > aql::LOT_SIZE_MAX {
                return Err(RecordError::invalid(
                    "lot_size",
                    format!("is {lot_size}; at most {} is allowed", aql::LOT_SIZE_MAX),
                ));
            }
            put_value(doc, &ROOT, "lot_size", Int(*lot_size as i64))
        }
        InspectionOp::SetDue { due_ms } => put_value(doc, &ROOT, "due_ms", Int(*due_ms)),
        InspectionOp::SetAql { settings } => {
            let aql_obj = ensure_map(doc, &ROOT, "aql")?;
            let stored = StoredAqlSettings::from_settings(settings);
            // Field by field: a concurrent change of another setting survives.
            put_value(doc, &aql_obj, "level", stored.level.as_str())?;
            put_value(doc, &aql_obj, "critical", stored.critical.as_str())?;
            put_value(doc, &aql_obj, "major", stored.major.as_str())?;
            put_value(doc, &aql_obj, "minor", stored.minor.as_str())?;
            put_value(
                doc,
                &aql_obj,
                "sample_size_rule",
                stored.sample_size_rule.as_str(),
            )
        }
        InspectionOp::AddDefect {
            id,
            class,
            description,
            position,
            qty,
        } => {
            let mut problems = Vec::new();
            check_required(&mut problems, "description", description);
            check_text(&mut problems, "description", description, TEXT_BYTES_MAX);
            check_text(&mut problems, "position", position, SHORT_TEXT_BYTES_MAX);
            if !(1..=DEFECT_QTY_MAX).contains(qty) {
                problems.push(Problem::new(
                    "qty",
                    format!("is {qty}; it must be from 1 to {DEFECT_QTY_MAX}"),
                ));
            }
            problems_to_result(problems)?;
            let defect = Defect {
                class: *class,
                description: description.clone(),
                position: position.clone(),
                qty: Counter::with_value(*qty),
                photos: BTreeMap::new(),
                by: ctx.user.clone(),
                at_ms: Int(ctx.now_ms),
                voided: None,
            };
            insert_item(doc, &ROOT, "defects", id, &defect, COLLECTION_ITEMS_MAX)
        }
        InspectionOp::TallyDefect { id, delta } => {
            let obj = item_map(doc, "defects", id)?;
            let current: Counter = autosurgeon::hydrate_prop(doc, &obj, "qty").unwrap_or_default();
            let next = current.value().saturating_add(*delta);
            if *delta == 0 {
                return Err(RecordError::Invalid(vec![
                    Problem::new("delta", "must not be zero").with_code("delta_zero"),
                ]));
            }
            if next < 0 {
                return Err(RecordError::Invalid(vec![
                    Problem::new(format!("defects.{id}.qty"), "cannot go below zero")
                        .with_code("below_zero"),
                ]));
            }
            if next > DEFECT_QTY_MAX {
                return Err(RecordError::Invalid(vec![
                    Problem::new(
                        format!("defects.{id}.qty"),
                        format!("cannot exceed {DEFECT_QTY_MAX}"),
                    )
                    .with_code("too_many")
                    .with_param("max", DEFECT_QTY_MAX),
                ]));
            }
            increment(doc, &obj, "qty", *delta)
        }
        InspectionOp::EditDefect {
            id,
            class,
            description,
            position,
        } => {
            let obj = item_map(doc, "defects", id)?;
            let mut problems = Vec::new();
            if let Some(d) = description {
                check_required(&mut problems, "description", d);
                check_text(&mut problems, "description", d, TEXT_BYTES_MAX);
            }
            if let Some(p) = position {
                check_text(&mut problems, "position", p, SHORT_TEXT_BYTES_MAX);
            }
            problems_to_result(problems)?;
            if let Some(c) = class {
                put_value(doc, &obj, "class", c)?;
            }
            if let Some(d) = description {
                put_value(doc, &obj, "description", d.as_str())?;
            }
            if let Some(p) = position {
                put_value(doc, &obj, "position", p.as_str())?;
            }
            Ok(())
        }
        InspectionOp::VoidDefect { id, reason } => {
            let obj = item_map(doc, "defects", id)?;
            let mut problems = Vec::new();
            check_required(&mut problems, "reason", reason);
            check_text(&mut problems, "reason", reason, TEXT_BYTES_MAX);
            problems_to_result(problems)?;
            let voided = Voided {
                by: ctx.user.clone(),
                at_ms: Int(ctx.now_ms),
                reason: reason.clone(),
            };
            put_value(doc, &obj, "voided", &voided)
        }
        InspectionOp::AddDefectPhoto { id, photo } => {
            let obj = item_map(doc, "defects", id)?;
            add_photo_at(doc, &obj, &format!("defects.{id}.photos"), photo, ctx)
        }
        InspectionOp::AddPoint { id, point } => {
            let mut problems = Vec::new();
            check_point(&mut problems, id, point);
            problems_to_result(problems)?;
            insert_item(doc, &ROOT, "points", id, point, COLLECTION_ITEMS_MAX)
        }
        InspectionOp::RecordReading {
            id,
            point,
            piece,
            value,
        } => {
            let mut problems = Vec::new();
            if !has_item(doc, "points", point) {
                problems.push(Problem::new(
                    "point",
                    format!("{point:?} is not in the size spec"),
                ));
            }
            if !(1..=i64::try_from(aql::LOT_SIZE_MAX).unwrap_or(i64::MAX)).contains(piece) {
                problems.push(Problem::new("piece", "must be a piece number from 1"));
            }
            if !value.is_finite() {
                problems.push(Problem::new("value", "must be a number"));
            }
            problems_to_result(problems)?;
            let reading = Reading {
                point: point.clone(),
                piece: Int(*piece),
                value: Decimal(*value),
                by: ctx.user.clone(),
                at_ms: Int(ctx.now_ms),
            };
            insert_item(doc, &ROOT, "readings", id, &reading, COLLECTION_ITEMS_MAX)
        }
        InspectionOp::SetCheck {
            item,
            result,
            note,
            name,
        } => {
            let mut problems = Vec::new();
            check_text(&mut problems, "note", note, TEXT_BYTES_MAX);
            if let Some(n) = name {
                check_text(&mut problems, "name", n, SHORT_TEXT_BYTES_MAX);
            }
            problems_to_result(problems)?;
            if !has_item(doc, "checklist", item) {
                let new_item = CheckItem {
                    name: name.clone().unwrap_or_else(|| item.clone()),
                    ..CheckItem::default()
                };
                insert_item(
                    doc,
                    &ROOT,
                    "checklist",
                    item,
                    &new_item,
                    COLLECTION_ITEMS_MAX,
                )?;
            }
            let obj = item_map(doc, "checklist", item)?;
            put_value(doc, &obj, "result", result)?;
            put_value(doc, &obj, "note", note.as_str())?;
            put_value(doc, &obj, "by", ctx.user.as_str())?;
            put_value(doc, &obj, "at_ms", Int(ctx.now_ms))
        }
        InspectionOp::AddCheckPhoto { item, photo } => {
            let obj = item_map(doc, "checklist", item)?;
            add_photo_at(doc, &obj, &format!("checklist.{item}.photos"), photo, ctx)
        }
        InspectionOp::AddPhoto { photo } => add_photo_at(doc, &ROOT, "photos", photo, ctx),
        InspectionOp::OverrideVerdict { verdict, reason } => {
            let mut problems = Vec::new();
            check_required(&mut problems, "reason", reason);
            check_text(&mut problems, "reason", reason, TEXT_BYTES_MAX);
            problems_to_result(problems)?;
            let o = VerdictOverride {
                verdict: *verdict,
                reason: reason.clone(),
                by: ctx.user.clone(),
                at_ms: Int(ctx.now_ms),
            };
            put_value(doc, &ROOT, "override", &o)
        }
        InspectionOp::ClearOverride => {
            put_value(doc, &ROOT, "override", Option::<VerdictOverride>::None)
        }
        InspectionOp::SignOff {
            name,
            signature_sha256,
        } => {
            let mut problems = Vec::new();
            check_required(&mut problems, "name", name);
            check_text(&mut problems, "name", name, SHORT_TEXT_BYTES_MAX);
            if !signature_sha256.is_empty() && !is_sha256_hex(signature_sha256) {
                problems.push(Problem::new("signature_sha256", "must be a SHA-256 in hex"));
            }
            let inspection: Inspection =
                autosurgeon::hydrate(&crate::read_cache::CachedRead::new(doc))?;
            let derived = derive(&inspection);
            if derived.plan.is_none() {
                problems.push(Problem::new(
                    "lot_size",
                    "a lot size is needed before signing off",
                ));
            }
            problems_to_result(problems)?;
            let heads = doc.get_heads().iter().map(ToString::to_string).collect();
            let sign_off = InspectionSignOff {
                person: SignOff {
                    by: ctx.user.clone(),
                    name: name.clone(),
                    at_ms: Int(ctx.now_ms),
                    signature_sha256: signature_sha256.clone(),
                },
                verdict: derived.verdict,
                heads,
            };
            put_value(doc, &ROOT, "sign_off", &sign_off)
        }
    }
}

/// The totals and result of one defect class against its plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassResult {
    /// The class.
    pub class: DefectClass,
    /// Pieces found with defects of this class (voided entries excluded).
    pub found: i64,
    /// Accept number (Ac), when the class is inspected.
    pub accept: Option<u32>,
    /// Reject number (Re).
    pub reject: Option<u32>,
    /// Whether `found` reached the reject number.
    pub rejected: bool,
}

/// A reading outside its point's tolerance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutOfTolerance {
    /// The reading's id.
    pub reading: String,
    /// The point's id.
    pub point: String,
    /// The sample piece.
    pub piece: i64,
    /// Measured minus target.
    pub deviation: f64,
}

/// What the rules derive from an inspection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InspectionDerived {
    /// The sampling plan, when the lot size allows one.
    pub plan: Option<InspectionPlan>,
    /// Why there is no plan, or problems in the stored settings.
    pub plan_problems: Vec<Problem>,
    /// Totals and results per class.
    pub classes: Vec<ClassResult>,
    /// The verdict the defects and checklist imply: fail when a class reached its reject
    /// number, pending when a checklist item failed or there is no plan, else pass.
    pub derived_verdict: Verdict,
    /// The verdict that counts: the override when there is one, else the derived one.
    pub verdict: Verdict,
    /// Whether a human override is in force.
    pub overridden: bool,
    /// Checklist items that failed.
    pub failed_checks: Vec<String>,
    /// Checklist items not yet checked.
    pub open_checks: Vec<String>,
    /// Readings outside tolerance.
    pub out_of_tolerance: Vec<OutOfTolerance>,
    /// `open` (nothing recorded), `in_progress` or `signed`.
    pub status: String,
}

/// Derives the plan, totals, verdict and tolerance checks of an inspection.
pub fn derive(inspection: &Inspection) -> InspectionDerived {
    let (settings, mut plan_problems) = inspection.aql.to_settings();
    let plan = if inspection.lot_size.0 <= 0 {
        plan_problems.push(Problem::new("lot_size", "is not set").with_code("not_set"));
        None
    } else {
        match aql::inspection_plan(inspection.lot_size.0 as u64, &settings) {
            Ok(p) => Some(p),
            Err(e) => {
                plan_problems.push(e.to_problem("lot_size"));
                None
            }
        }
    };
    let mut found: BTreeMap<DefectClass, i64> = BTreeMap::new();
    for defect in inspection.defects.values() {
        if defect.voided.is_none() {
            *found.entry(defect.class).or_default() += defect.qty.value().max(0);
        }
    }
    let mut classes = Vec::new();
    let mut any_rejected = false;
    for class in [
        DefectClass::Critical,
        DefectClass::Major,
        DefectClass::Minor,
    ] {
        let n = found.get(&class).copied().unwrap_or(0);
        let class_plan = plan.as_ref().and_then(|p| p.class(class).plan);
        let (accept, reject) = match class_plan {
            Some(cp) => (Some(cp.accept), Some(cp.reject)),
            None => (None, None),
        };
        let rejected = reject.is_some_and(|re| n >= i64::from(re));
        any_rejected |= rejected;
        classes.push(ClassResult {
            class,
            found: n,
            accept,
            reject,
            rejected,
        });
    }
    let failed_checks: Vec<String> = inspection
        .checklist
        .iter()
        .filter(|(_, c)| c.result == CheckResult::Fail)
        .map(|(k, _)| k.clone())
        .collect();
    let open_checks: Vec<String> = inspection
        .checklist
        .iter()
        .filter(|(_, c)| c.result == CheckResult::Unset)
        .map(|(k, _)| k.clone())
        .collect();
    let derived_verdict = if any_rejected {
        Verdict::Fail
    } else if plan.is_none() || !failed_checks.is_empty() {
        Verdict::Pending
    } else {
        Verdict::Pass
    };
    let overridden = inspection.verdict_override.is_some();
    let verdict = inspection
        .verdict_override
        .as_ref()
        .map(|o| o.verdict)
        .unwrap_or(derived_verdict);
    let mut out_of_tolerance = Vec::new();
    for (id, r) in &inspection.readings {
        if let Some(p) = inspection.points.get(&r.point) {
            let deviation = r.value.0 - p.target.0;
            // A small epsilon so a reading exactly at the limit (in decimal) is inside.
            let eps = 1e-9;
            if deviation > p.tol_plus.0 + eps || -deviation > p.tol_minus.0 + eps {
                out_of_tolerance.push(OutOfTolerance {
                    reading: id.clone(),
                    point: r.point.clone(),
                    piece: r.piece.0,
                    deviation,
                });
            }
        }
    }
    let recorded = !inspection.defects.is_empty()
        || !inspection.readings.is_empty()
        || inspection
            .checklist
            .values()
            .any(|c| c.result != CheckResult::Unset);
    let status = if inspection.sign_off.is_some() {
        "signed"
    } else if recorded {
        "in_progress"
    } else {
        "open"
    };
    InspectionDerived {
        plan,
        plan_problems,
        classes,
        derived_verdict,
        verdict,
        overridden,
        failed_checks,
        open_checks,
        out_of_tolerance,
        status: status.to_string(),
    }
}

/// An inspection with what is derived from it: what the app and the office show.
#[derive(Debug, Clone, Serialize)]
pub struct InspectionView {
    /// The stored record.
    pub record: Inspection,
    /// The derived plan, totals and verdict.
    pub derived: InspectionDerived,
}

/// Reads an inspection and derives its view.
pub fn view(record: &Record) -> Result<InspectionView, RecordError> {
    record.expect_type(RecordType::Inspection)?;
    let inspection: Inspection = record.read()?;
    let derived = derive(&inspection);
    Ok(InspectionView {
        record: inspection,
        derived,
    })
}

/// Whether the document has a collection this module expects (used by the upgrade test).
pub fn has_collections<D: ReadDoc>(doc: &D) -> bool {
    COLLECTIONS.iter().all(|c| get_map(doc, &ROOT, c).is_some())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aql::Aql;
    use crate::record::actor_from_bytes;
    use wasm_bindgen_test::wasm_bindgen_test;

    fn ctx(user: &str, now_ms: i64) -> EditContext {
        EditContext::new(user, now_ms)
    }

    fn new_inspection(lot_size: u64) -> Record {
        let new = NewInspection {
            title: "Final inspection PO-1".into(),
            order_no: "SO-1".into(),
            po_no: "PO-1".into(),
            style_no: "ST-9".into(),
            factory: "Factory A".into(),
            lot_size,
            assignees: vec!["qc1".into()],
            ..NewInspection::default()
        };
        create(&new, actor_from_bytes(&[1; 16]), &ctx("merch", 1_000)).unwrap()
    }

    fn add_defect(r: &mut Record, id: &str, class: DefectClass, qty: i64) {
        let op = InspectionOp::AddDefect {
            id: id.into(),
            class,
            description: format!("defect {id}"),
            position: String::new(),
            qty,
        };
        apply(r, &op, &ctx("qc1", 2_000)).unwrap();
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn new_inspection_has_plan_and_standard_checklist() {
        let r = new_inspection(5000);
        let v = view(&r).unwrap();
        assert_eq!(v.record.record_type, RecordType::Inspection);
        assert_eq!(v.record.schema.0, 1);
        assert_eq!(v.record.created_by, "merch");
        assert_eq!(v.record.checklist.len(), STANDARD_CHECKLIST.len());
        let plan = v.derived.plan.expect("plan");
        // Level II, lot 5000: letter L, n = 200; major 2.5 → 10/11, minor 4.0 → 14/15.
        assert_eq!(plan.sample_size, 200);
        let major = &v.derived.classes[1];
        assert_eq!((major.accept, major.reject), (Some(10), Some(11)));
        let minor = &v.derived.classes[2];
        assert_eq!((minor.accept, minor.reject), (Some(14), Some(15)));
        let critical = &v.derived.classes[0];
        assert_eq!((critical.accept, critical.reject), (Some(0), Some(1)));
        assert_eq!(v.derived.verdict, Verdict::Pass);
        assert_eq!(v.derived.status, "open");
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn verdict_follows_defect_counts() {
        let mut r = new_inspection(5000);
        add_defect(&mut r, "d1", DefectClass::Major, 10);
        assert_eq!(
            view(&r).unwrap().derived.verdict,
            Verdict::Pass,
            "10 majors = Ac"
        );
        apply(
            &mut r,
            &InspectionOp::TallyDefect {
                id: "d1".into(),
                delta: 1,
            },
            &ctx("qc1", 3),
        )
        .unwrap();
        let v = view(&r).unwrap();
        assert_eq!(v.derived.classes[1].found, 11);
        assert_eq!(v.derived.verdict, Verdict::Fail, "11 majors = Re");
        apply(
            &mut r,
            &InspectionOp::TallyDefect {
                id: "d1".into(),
                delta: -1,
            },
            &ctx("qc1", 4),
        )
        .unwrap();
        assert_eq!(view(&r).unwrap().derived.verdict, Verdict::Pass);
        // One critical defect fails the lot (zero tolerance).
        add_defect(&mut r, "c1", DefectClass::Critical, 1);
        assert_eq!(view(&r).unwrap().derived.verdict, Verdict::Fail);
        // Voiding it restores the verdict; the entry is kept.
        apply(
            &mut r,
            &InspectionOp::VoidDefect {
                id: "c1".into(),
                reason: "entered twice".into(),
            },
            &ctx("qc1", 5),
        )
        .unwrap();
        let v = view(&r).unwrap();
        assert_eq!(v.derived.verdict, Verdict::Pass);
        assert!(v.record.defects["c1"].voided.is_some());
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn failed_check_makes_verdict_pending_and_override_needs_reason() {
        let mut r = new_inspection(500);
        let op = InspectionOp::SetCheck {
            item: "carton_drop".into(),
            result: CheckResult::Fail,
            note: "carton burst".into(),
            name: None,
        };
        apply(&mut r, &op, &ctx("qc1", 10)).unwrap();
        let v = view(&r).unwrap();
        assert_eq!(v.derived.derived_verdict, Verdict::Pending);
        assert_eq!(v.derived.failed_checks, vec!["carton_drop".to_string()]);
        let no_reason = InspectionOp::OverrideVerdict {
            verdict: Verdict::Pass,
            reason: "  ".into(),
        };
        let err = apply(&mut r, &no_reason, &ctx("qc1", 11)).unwrap_err();
        assert!(
            matches!(err, RecordError::Invalid(ref p) if p[0].field == "reason"),
            "{err}"
        );
        let with_reason = InspectionOp::OverrideVerdict {
            verdict: Verdict::Pass,
            reason: "customer accepted re-packing".into(),
        };
        apply(&mut r, &with_reason, &ctx("qc1", 12)).unwrap();
        let v = view(&r).unwrap();
        assert_eq!(v.derived.verdict, Verdict::Pass);
        assert!(v.derived.overridden);
        assert_eq!(
            v.derived.derived_verdict,
            Verdict::Pending,
            "derived value is still derived"
        );
        apply(&mut r, &InspectionOp::ClearOverride, &ctx("qc1", 13)).unwrap();
        assert_eq!(view(&r).unwrap().derived.verdict, Verdict::Pending);
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn tally_never_below_zero_and_refused_edit_changes_nothing() {
        let mut r = new_inspection(500);
        add_defect(&mut r, "d1", DefectClass::Minor, 1);
        let heads = r.heads();
        let err = apply(
            &mut r,
            &InspectionOp::TallyDefect {
                id: "d1".into(),
                delta: -2,
            },
            &ctx("qc1", 3),
        );
        assert!(err.is_err());
        assert_eq!(r.heads(), heads, "a refused edit leaves no change");
        let dup = InspectionOp::AddDefect {
            id: "d1".into(),
            class: DefectClass::Minor,
            description: "x".into(),
            position: String::new(),
            qty: 1,
        };
        assert!(
            apply(&mut r, &dup, &ctx("qc1", 4)).is_err(),
            "ids are unique"
        );
        let bad_qty = InspectionOp::AddDefect {
            id: "d2".into(),
            class: DefectClass::Minor,
            description: "x".into(),
            position: String::new(),
            qty: 0,
        };
        assert!(apply(&mut r, &bad_qty, &ctx("qc1", 4)).is_err());
        assert!(
            apply(
                &mut r,
                &InspectionOp::TallyDefect {
                    id: "nope".into(),
                    delta: 1
                },
                &ctx("qc1", 4)
            )
            .is_err()
        );
        assert_eq!(r.heads(), heads);
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn invalid_input_lists_every_problem() {
        let mut r = new_inspection(500);
        let op = InspectionOp::AddDefect {
            id: "d1".into(),
            class: DefectClass::Minor,
            description: "".into(),
            position: "x".repeat(SHORT_TEXT_BYTES_MAX + 1),
            qty: DEFECT_QTY_MAX + 1,
        };
        match apply(&mut r, &op, &ctx("qc1", 1)).unwrap_err() {
            RecordError::Invalid(problems) => assert_eq!(problems.len(), 3, "{problems:?}"),
            e => panic!("{e}"),
        }
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn text_and_limits_are_enforced() {
        let mut r = new_inspection(500);
        let long = InspectionOp::SetText {
            field: TextField::Remarks,
            value: "x".repeat(TEXT_BYTES_MAX + 1),
        };
        assert!(apply(&mut r, &long, &ctx("qc1", 1)).is_err());
        let ok = InspectionOp::SetText {
            field: TextField::Remarks,
            value: "x".repeat(TEXT_BYTES_MAX),
        };
        apply(&mut r, &ok, &ctx("qc1", 1)).unwrap();
        let too_big = InspectionOp::SetLotSize {
            lot_size: aql::LOT_SIZE_MAX + 1,
        };
        assert!(apply(&mut r, &too_big, &ctx("qc1", 1)).is_err());
        apply(
            &mut r,
            &InspectionOp::SetLotSize {
                lot_size: aql::LOT_SIZE_MAX,
            },
            &ctx("qc1", 1),
        )
        .unwrap();
        // Photos per item are limited.
        add_defect(&mut r, "d1", DefectClass::Minor, 1);
        for i in 0..PHOTOS_PER_ITEM_MAX {
            let photo = PhotoRef {
                sha256: format!("{i:064x}"),
                mime: "image/jpeg".into(),
                ..PhotoRef::default()
            };
            apply(
                &mut r,
                &InspectionOp::AddDefectPhoto {
                    id: "d1".into(),
                    photo,
                },
                &ctx("qc1", 2),
            )
            .unwrap();
        }
        let one_more = PhotoRef {
            sha256: format!("{:064x}", 999_999),
            ..PhotoRef::default()
        };
        assert!(
            apply(
                &mut r,
                &InspectionOp::AddDefectPhoto {
                    id: "d1".into(),
                    photo: one_more
                },
                &ctx("qc1", 2)
            )
            .is_err()
        );
        let bad_hash = PhotoRef {
            sha256: "not-a-hash".into(),
            ..PhotoRef::default()
        };
        assert!(
            apply(
                &mut r,
                &InspectionOp::AddPhoto { photo: bad_hash },
                &ctx("qc1", 2)
            )
            .is_err()
        );
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn measurements_out_of_tolerance() {
        let mut r = new_inspection(500);
        let point = MeasurementPoint {
            name: "chest".into(),
            size: "M".into(),
            target: Decimal(50.0),
            tol_minus: Decimal(1.0),
            tol_plus: Decimal(1.5),
            unit: "cm".into(),
        };
        apply(
            &mut r,
            &InspectionOp::AddPoint {
                id: "p1".into(),
                point,
            },
            &ctx("qc1", 1),
        )
        .unwrap();
        for (id, piece, value) in [
            ("r1", 1, 49.0),
            ("r2", 2, 51.5),
            ("r3", 3, 48.9),
            ("r4", 4, 51.6),
        ] {
            let op = InspectionOp::RecordReading {
                id: id.into(),
                point: "p1".into(),
                piece,
                value,
            };
            apply(&mut r, &op, &ctx("qc1", 2)).unwrap();
        }
        let v = view(&r).unwrap();
        let out: Vec<&str> = v
            .derived
            .out_of_tolerance
            .iter()
            .map(|o| o.reading.as_str())
            .collect();
        assert_eq!(out, vec!["r3", "r4"]);
        let unknown = InspectionOp::RecordReading {
            id: "r5".into(),
            point: "p9".into(),
            piece: 1,
            value: 1.0,
        };
        assert!(apply(&mut r, &unknown, &ctx("qc1", 2)).is_err());
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn sign_off_records_verdict_and_heads_then_locks() {
        let mut r = new_inspection(500);
        add_defect(&mut r, "d1", DefectClass::Major, 1);
        let heads: Vec<String> = r.heads().iter().map(ToString::to_string).collect();
        apply(
            &mut r,
            &InspectionOp::SignOff {
                name: "Li Qiang".into(),
                signature_sha256: String::new(),
            },
            &ctx("qc1", 9),
        )
        .unwrap();
        let v = view(&r).unwrap();
        let s = v.record.sign_off.clone().unwrap();
        assert_eq!(s.verdict, Verdict::Pass);
        assert_eq!(s.heads, heads);
        assert_eq!(s.person.by, "qc1");
        assert_eq!(v.derived.status, "signed");
        let err = apply(
            &mut r,
            &InspectionOp::TallyDefect {
                id: "d1".into(),
                delta: 1,
            },
            &ctx("qc1", 10),
        )
        .unwrap_err();
        assert!(matches!(err, RecordError::NotAllowed(_)));
        // A stable code and its values for the interface, the English as the message.
        assert_eq!(err.code(), "not_allowed");
        let why = &err.problems()[0];
        assert_eq!(why.code, "record.signed");
        assert_eq!(why.params["record_type"], "inspection");
        assert_eq!(
            err.to_string(),
            "the inspection is signed off; it can no longer be changed"
        );
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn concurrent_edits_merge_without_loss() {
        let mut a = new_inspection(5000);
        add_defect(&mut a, "d1", DefectClass::Major, 1);
        let mut b = Record::load(&a.save(), actor_from_bytes(&[2; 16])).unwrap();
        // A and B tally the same defect, add different defects, set different checks.
        apply(
            &mut a,
            &InspectionOp::TallyDefect {
                id: "d1".into(),
                delta: 1,
            },
            &ctx("qc1", 5),
        )
        .unwrap();
        apply(
            &mut b,
            &InspectionOp::TallyDefect {
                id: "d1".into(),
                delta: 2,
            },
            &ctx("qc2", 5),
        )
        .unwrap();
        add_defect(&mut a, "a-1", DefectClass::Minor, 1);
        add_defect(&mut b, "b-1", DefectClass::Minor, 3);
        let check = |item: &str| InspectionOp::SetCheck {
            item: item.into(),
            result: CheckResult::Pass,
            note: String::new(),
            name: None,
        };
        apply(&mut a, &check("packaging"), &ctx("qc1", 6)).unwrap();
        apply(&mut b, &check("carton_drop"), &ctx("qc2", 6)).unwrap();
        apply(
            &mut a,
            &InspectionOp::SetText {
                field: TextField::Remarks,
                value: "from A".into(),
            },
            &ctx("qc1", 7),
        )
        .unwrap();
        apply(
            &mut b,
            &InspectionOp::SetLotSize { lot_size: 3000 },
            &ctx("qc2", 7),
        )
        .unwrap();
        a.merge(&mut b).unwrap();
        b.merge(&mut a).unwrap();
        let (va, vb) = (view(&a).unwrap(), view(&b).unwrap());
        assert_eq!(va.record.defects["d1"].qty.value(), 4);
        assert_eq!(va.record.defects.len(), 3);
        assert_eq!(va.record.checklist["packaging"].result, CheckResult::Pass);
        assert_eq!(va.record.checklist["carton_drop"].result, CheckResult::Pass);
        assert_eq!(va.record.remarks, "from A");
        assert_eq!(va.record.lot_size.0, 3000);
        assert_eq!(va.derived, vb.derived);
        assert_eq!(a.heads(), b.heads());
        assert_eq!(a.canonical_bytes().unwrap(), b.canonical_bytes().unwrap());
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn reads_leniently_and_keeps_unknown_fields() {
        use automerge::transaction::Transactable;
        // A record written by an early client: no schema, no collections, a field we do not
        // know, a number stored as uint and a lot size stored as float.
        let mut doc = AutoCommit::new();
        doc.put(ROOT, "type", "inspection").unwrap();
        doc.put(ROOT, "lot_size", 500.0_f64).unwrap();
        doc.put(ROOT, "future_field", "keep me").unwrap();
        doc.put(ROOT, "due_ms", 42_u64).unwrap();
        let bytes = doc.save();
        let mut r = Record::load(&bytes, actor_from_bytes(&[3; 16])).unwrap();
        let v = view(&r).unwrap();
        assert_eq!(v.record.lot_size.0, 500);
        assert_eq!(v.record.due_ms.0, 42);
        assert!(v.record.defects.is_empty());
        assert!(v.derived.plan.is_some());
        assert!(r.upgrade().unwrap());
        assert!(!r.upgrade().unwrap(), "upgrade runs once");
        assert!(has_collections(r.doc()));
        add_defect(&mut r, "d1", DefectClass::Minor, 1);
        let kept = r.doc().get(ROOT, "future_field").unwrap().unwrap().0;
        assert_eq!(kept.as_str(), Some("keep me"));
        // A newer schema than this build knows is refused, not misread.
        let mut newer = AutoCommit::new();
        newer.put(ROOT, "type", "inspection").unwrap();
        newer.put(ROOT, "schema", 99_i64).unwrap();
        let err = Record::load(&newer.save(), actor_from_bytes(&[4; 16])).unwrap_err();
        assert!(matches!(err, RecordError::SchemaTooNew { found: 99, .. }));
        // A document without a type is not a record.
        assert!(matches!(
            Record::load(&AutoCommit::new().save(), actor_from_bytes(&[4; 16])),
            Err(RecordError::NoType)
        ));
        // Garbage bytes give an error, not a panic.
        assert!(Record::load(b"not automerge", actor_from_bytes(&[4; 16])).is_err());
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn aql_settings_round_trip_and_bad_stored_values_are_reported() {
        let mut r = new_inspection(1200);
        let settings = AqlSettings {
            level: aql::InspectionLevel::S4,
            critical: ClassAql::NotInspected,
            major: ClassAql::Aql(Aql::A1_0),
            minor: ClassAql::Aql(Aql::A6_5),
            sample_size_rule: aql::SampleSizeRule::PerClass,
        };
        apply(&mut r, &InspectionOp::SetAql { settings }, &ctx("merch", 1)).unwrap();
        let v = view(&r).unwrap();
        assert_eq!(v.record.aql.to_settings(), (settings, vec![]));
        let stored = StoredAqlSettings {
            level: "IV".into(),
            major: "3.3".into(),
            ..StoredAqlSettings::default()
        };
        let (s, problems) = stored.to_settings();
        assert_eq!(s, AqlSettings::default());
        assert_eq!(problems.len(), 2);
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn ops_parse_from_json() {
        let op: InspectionOp = crate::record::parse_op(
            r#"{"op":"add_defect","id":"d1","class":"major","description":"open seam"}"#,
        )
        .unwrap();
        assert_eq!(
            op,
            InspectionOp::AddDefect {
                id: "d1".into(),
                class: DefectClass::Major,
                description: "open seam".into(),
                position: String::new(),
                qty: 1
            }
        );
        assert!(crate::record::parse_op::<InspectionOp>(r#"{"op":"explode"}"#).is_err());
    }
}
