//! Who may read and write which record (DESIGN.md §3), and the check every incoming change
//! set passes before the server merges it. Pure: the server and the client run the same
//! rules, so an honest device never produces a change the server rejects.
//!
//! Reading is decided per record from its header: role, assignees, factory and warehouse.
//! Writing is decided per changed path: a change set may only touch what the user's role
//! may write in that record type, never the scope fields unless the user works in the
//! office, and per-person entries (a clerk's count, a submission, an approval decision) only
//! under the user's own name.

use std::collections::BTreeSet;

use automerge::{AutoCommit, ChangeHash, PatchAction, Prop};
use serde::{Deserialize, Serialize};

use crate::common::Problem;
use crate::record::{Record, RecordHeader, RecordType, read_schema, read_type};
use crate::{approval, inspection, order, purchase_order, shipment, stock_count};

crate::common::string_enum! {
    /// A user's role (DESIGN.md §3).
    pub enum Role (Factory) {
        /// Manages users; reads and writes everything.
        Admin = "admin",
        /// 跟单员: owns orders end to end.
        Merchandiser = "merchandiser",
        /// 业务员: hands orders over, talks to customers.
        Sales = "sales",
        /// 验货员: performs inspections.
        Qc = "qc",
        /// 仓管员: counts stock.
        Warehouse = "warehouse",
        /// 出货/装柜: checks container loading.
        Shipping = "shipping",
        /// 经理/总经理: signs off reviews and approvals.
        Approver = "approver",
        /// A supplier factory's user: reads its own orders and POs.
        Factory = "factory",
    }
}

impl Role {
    /// Roles that work in the office: they create and assign records and may change scope.
    pub fn is_office(self) -> bool {
        matches!(
            self,
            Role::Admin | Role::Merchandiser | Role::Sales | Role::Approver
        )
    }
}

/// The user a connection or request acts for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Principal {
    /// Username.
    pub user: String,
    /// Role.
    pub role: Role,
    /// The factory a factory user belongs to.
    #[serde(default)]
    pub factory: Option<String>,
    /// The warehouse a warehouse clerk belongs to.
    #[serde(default)]
    pub warehouse: Option<String>,
    /// Job titles (`general_manager`, `finance`, `product_control_manager`…): who may
    /// decide which step of an approval chain ([`crate::chains`] names them).
    #[serde(default)]
    pub titles: Vec<String>,
}

impl Principal {
    /// The roles an approval step is matched against: the job titles, then the access
    /// role's own name (a chain step may name an access role, e.g. `merchandiser`).
    pub fn decision_roles(&self) -> Vec<&str> {
        self.titles
            .iter()
            .map(String::as_str)
            .chain(std::iter::once(self.role.as_str()))
            .collect()
    }
}

/// What a principal may do with one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Access {
    /// Nothing: the record does not exist for them.
    None,
    /// Read only: their changes are never merged.
    Read,
    /// Read and write (within [`check_write`]).
    Write,
}

/// What `p` may do with the record whose header is `h`.
pub fn record_access(p: &Principal, h: &RecordHeader) -> Access {
    let assigned = h.assignees.get(&p.user).copied().unwrap_or(false);
    let own_factory = p
        .factory
        .as_deref()
        .is_some_and(|f| !f.is_empty() && f == h.factory);
    let own_warehouse = p
        .warehouse
        .as_deref()
        .is_some_and(|w| !w.is_empty() && w == h.warehouse);
    let creator = h.created_by == p.user;
    use RecordType as T;
    match (p.role, h.record_type) {
        (_, T::UserIndex | T::Unknown) => Access::None,
        (Role::Admin, _) => Access::Write,
        (Role::Merchandiser | Role::Sales, _) => Access::Write,
        (Role::Approver, _) => Access::Write,
        (Role::Qc, T::Inspection) if assigned || creator => Access::Write,
        (Role::Qc, T::Order | T::PurchaseOrder) if assigned => Access::Read,
        (Role::Warehouse, T::StockCount) if assigned || creator || own_warehouse => Access::Write,
        (Role::Warehouse | Role::Shipping, T::ShipmentCheck) if assigned || creator => {
            Access::Write
        }
        (Role::Factory, T::Order | T::PurchaseOrder | T::Inspection) if own_factory => Access::Read,
        _ => Access::None,
    }
}

/// Whether `p` may create a record of type `t` (the header of the new record is checked by
/// [`check_write`] as for any change).
pub fn may_create(p: &Principal, t: RecordType) -> bool {
    match p.role {
        Role::Admin | Role::Merchandiser | Role::Sales | Role::Approver => {
            !matches!(t, RecordType::UserIndex | RecordType::Unknown)
        }
        Role::Qc => t == RecordType::Inspection,
        Role::Warehouse => matches!(t, RecordType::StockCount | RecordType::ShipmentCheck),
        Role::Shipping => t == RecordType::ShipmentCheck,
        Role::Factory => false,
    }
}

/// Root keys only office roles may change: the record's identity and scope.
const PROTECTED_KEYS: &[&str] = &[
    "type",
    "created_by",
    "created_at_ms",
    "assignees",
    "factory",
    "warehouse",
];

/// One changed place in a document: the path of map keys from the root, ending with the
/// key that was put, deleted or incremented.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ChangedPath {
    /// The keys from the root.
    pub keys: Vec<String>,
    /// Whether the change deleted or overwrote a value that was there before (as opposed to
    /// adding a key that did not exist, or changing something inside an existing object).
    pub replaces: bool,
    /// Whether the changed place is inside an object this change set created (so the
    /// path is part of building something new, not an edit of what was there).
    pub in_new_object: bool,
}

impl ChangedPath {
    /// A path that adds or edits in place.
    pub fn new(keys: &[&str]) -> Self {
        Self {
            keys: keys.iter().map(|k| (*k).to_string()).collect(),
            replaces: false,
            in_new_object: false,
        }
    }
}

/// The paths a set of changes touched, from before to after.
pub fn changed_paths(
    doc: &mut AutoCommit,
    before: &[ChangeHash],
    after: &[ChangeHash],
) -> Vec<ChangedPath> {
    use automerge::ReadDoc;
    let patches = doc.diff(before, after);
    let mut out = Vec::new();
    let mut new_objects: std::collections::HashMap<automerge::ObjId, bool> =
        std::collections::HashMap::new();
    for patch in &patches {
        let base: Vec<String> = patch.path.iter().map(|(_, p)| prop_str(p)).collect();
        let with = |k: String| {
            let mut p = base.clone();
            p.push(k);
            p
        };
        // Whether `key` of the patched object held a value at `before`.
        let existed = |key: &str| {
            !before.is_empty() && matches!(doc.get_at(&patch.obj, key, before), Ok(Some(_)))
        };
        // Whether the patched object is new since `before`: the place it hangs from did not
        // hold this very object then. Everything is new in a new document; otherwise the
        // answer is looked up once per object (a lookup at old heads walks the history).
        let in_new_object = before.is_empty()
            || *new_objects
                .entry(patch.obj.clone())
                .or_insert_with(|| match patch.path.last() {
                    None => false,
                    Some((parent, prop)) => !matches!(
                        doc.get_at(parent, prop.clone(), before),
                        Ok(Some((_, id))) if id == patch.obj
                    ),
                });
        let (keys, replaces) = match &patch.action {
            PatchAction::PutMap { key, .. } | PatchAction::DeleteMap { key } => {
                (with(key.to_string()), existed(key))
            }
            PatchAction::Increment { prop, .. } => (with(prop_str(prop)), false),
            PatchAction::PutSeq { index, .. } => (with(index.to_string()), false),
            // Edits inside lists, text and marks: the object itself is the changed place.
            _ => (base, false),
        };
        out.push(ChangedPath {
            keys,
            replaces,
            in_new_object,
        });
    }
    out
}

fn prop_str(p: &Prop) -> String {
    match p {
        Prop::Map(k) => k.to_string(),
        Prop::Seq(i) => i.to_string(),
    }
}

/// Checks a change set that `p` wants merged into a record: `before` is the server's
/// record, `after` a copy with the changes applied, `paths` what they touched. Returns
/// every problem found.
pub fn check_write(
    p: &Principal,
    before: Option<&RecordHeader>,
    after: &Record,
    paths: &[ChangedPath],
) -> Result<(), Vec<Problem>> {
    check_write_with_gate(p, before, after, paths, None)
}

/// [`check_write`] for a writer that knows the payment gate of the record's order.
///
/// Releasing a purchase order (its `released_ms`) needs the gate, which is derived from
/// *other* documents (the order's commercial side, special approvals). The sync hub checks
/// one document at a time and passes `None`: a release arriving by sync is refused, and
/// releases go through the server's office API, which derives the gate from storage and
/// passes it here (DESIGN.md §1: derived, never stored; PRODUCT.md: L/C and deposit
/// orders are released only when the gate opens).
pub fn check_write_with_gate(
    p: &Principal,
    before: Option<&RecordHeader>,
    after: &Record,
    paths: &[ChangedPath],
    gate: Option<&crate::payment_gate::Gate>,
) -> Result<(), Vec<Problem>> {
    let mut problems = Vec::new();
    let after_header = match after.header() {
        Ok(h) => h,
        Err(e) => {
            return Err(vec![Problem::new(
                "record",
                format!("does not read as a record: {e}"),
            )]);
        }
    };
    // The access decision is taken on the record as it was (or, for a new record, as the
    // creator made it): a change cannot grant itself access.
    match before {
        Some(b) => {
            if record_access(p, b) != Access::Write {
                problems.push(Problem::new("record", "you may not change this record"));
            }
            if b.record_type != after_header.record_type {
                problems.push(Problem::new("type", "a record's type never changes"));
            }
        }
        None => {
            if !may_create(p, after_header.record_type) {
                problems.push(Problem::new(
                    "type",
                    format!(
                        "your role may not create {} records",
                        after_header.record_type
                    ),
                ));
            }
            if after_header.created_by != p.user {
                problems.push(Problem::new("created_by", "must be the creating user"));
            }
            if record_access(p, &after_header) != Access::Write {
                problems.push(Problem::new(
                    "record",
                    "the new record is outside your scope",
                ));
            }
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    if read_schema(after.doc()) > after.record_type().current_schema() {
        problems.push(Problem::new("schema", "is newer than this server reads"));
    }
    if read_type(after.doc()).is_none() {
        problems.push(Problem::new("type", "is missing or unknown"));
    }
    let office = p.role.is_office();
    let mut seen = BTreeSet::new();
    for path in paths {
        if !seen.insert(path.clone()) {
            continue;
        }
        if let Some(problem) = check_path(p, office, before.is_none(), after.record_type(), path) {
            problems.push(problem);
        }
    }
    let releases = match before {
        // A new PO must not come released.
        None => number_at(after.doc(), &automerge::ROOT, "released_ms").is_some_and(|ms| ms > 0.0),
        Some(_) => paths
            .iter()
            .any(|c| c.keys.first().is_some_and(|k| k == "released_ms")),
    };
    if after.record_type() == RecordType::PurchaseOrder && releases {
        match gate {
            None => problems.push(Problem::new(
                "released_ms",
                "a purchase order is released through the office (which checks the payment gate), not by sync",
            )),
            Some(g) if !g.is_open() => problems.push(Problem::new(
                "released_ms",
                format!("the payment gate is closed: {}", gate_text(g)),
            )),
            Some(_) => {}
        }
    }
    if p.role == Role::Warehouse && after.record_type() == RecordType::StockCount {
        check_found_lines(after, paths, &mut problems);
    }
    if let Err(e) = validate_changed_shape(after, paths, before.is_none()) {
        problems.push(Problem::new(
            "record",
            format!("does not match the {} schema: {e}", after.record_type()),
        ));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

/// The number under `key` of `obj`: `Some(0.0)` when absent or null, `None` when the value
/// is not a number.
fn number_at(doc: &AutoCommit, obj: &automerge::ObjId, key: &str) -> Option<f64> {
    use automerge::{ReadDoc, ScalarValue, Value};
    match doc.get(obj, key) {
        Ok(None) => Some(0.0),
        Ok(Some((Value::Scalar(v), _))) => match v.as_ref() {
            #[allow(clippy::cast_precision_loss, reason = "compared with zero only")]
            ScalarValue::Int(n) => Some(*n as f64),
            #[allow(clippy::cast_precision_loss, reason = "compared with zero only")]
            ScalarValue::Uint(n) => Some(*n as f64),
            ScalarValue::F64(n) => Some(*n),
            ScalarValue::Null => Some(0.0),
            _ => None,
        },
        _ => None,
    }
}

fn gate_text(g: &crate::payment_gate::Gate) -> String {
    match g {
        crate::payment_gate::Gate::Blocked { message, .. } => message.clone(),
        other => format!("{other:?}"),
    }
}

/// A line a clerk adds (found on the floor, not on the sheet) expects nothing: the
/// expected quantities are the office's, so a new line's `expected` and `safety_stock`
/// must be zero or absent.
fn check_found_lines(after: &Record, paths: &[ChangedPath], problems: &mut Vec<Problem>) {
    use automerge::ReadDoc;
    let doc = after.doc();
    let Ok(Some((_, lines))) = doc.get(automerge::ROOT, "lines") else {
        return;
    };
    for changed in paths {
        let [root, id] = changed.keys.as_slice() else {
            continue;
        };
        if root != "lines" || changed.replaces {
            continue;
        }
        let Ok(Some((_, line))) = doc.get(&lines, id.as_str()) else {
            continue;
        };
        for field in ["expected", "safety_stock"] {
            let zero = number_at(doc, &line, field) == Some(0.0);
            if !zero {
                problems.push(Problem::new(
                    format!("lines.{id}.{field}"),
                    "a line you add expects nothing: only the office sets expected quantities",
                ));
            }
        }
    }
}

/// Whether the record was closed at `heads`: an inspection or shipment check signed off,
/// a stock count approved. Reads history in place, without copying the document.
pub fn locked_at(doc: &AutoCommit, t: RecordType, heads: &[ChangeHash]) -> bool {
    use automerge::ReadDoc;
    let key = match t {
        RecordType::Inspection | RecordType::ShipmentCheck => "sign_off",
        RecordType::StockCount => "approval",
        _ => return false,
    };
    matches!(doc.get_at(automerge::ROOT, key, heads), Ok(Some((v, _))) if !v.is_null())
}

/// Refuses changes a field user made *after* seeing the record closed (signed off or
/// approved). Changes made concurrently — offline, before the device learnt of the
/// sign-off — are not refused: they were honest and are merged. `before` are the heads the
/// server had before the change set.
pub fn check_not_locked(
    p: &Principal,
    after: &mut Record,
    before: &[ChangeHash],
) -> Result<(), Vec<Problem>> {
    let t = after.record_type();
    if p.role.is_office() || !locked_at(after.doc(), t, before) {
        return Ok(());
    }
    let new = after.doc_mut().get_changes(before);
    for change in new {
        if locked_at(after.doc(), t, change.deps()) {
            // Shipment checks still take customs and delivery after sign-off.
            return Err(vec![Problem::new(
                "record",
                "the record was closed (signed off or approved) before this change was made",
            )]);
        }
    }
    Ok(())
}

/// The decisions check of an approval request: every decision a change set adds or
/// changes must be the writer's own and theirs to make — by the step's role (matched
/// against [`Principal::decision_roles`], the job titles), a named approver, or the
/// escalation role after the deadline; on a step already reached; not dated after `now_ms`
/// beyond the allowed clock skew (see [`approval::check_new_decisions`]). `before` are the
/// heads the server had before the change set (empty for a new record: its decisions are
/// checked against the chain it was created with). Only runs when `paths` touch
/// `decisions`; other record types pass.
pub fn check_decisions(
    p: &Principal,
    after: &mut Record,
    before: &[ChangeHash],
    paths: &[ChangedPath],
    now_ms: i64,
) -> Result<(), Vec<Problem>> {
    if after.record_type() != RecordType::Approval
        || !paths
            .iter()
            .any(|c| c.keys.first().is_some_and(|k| k == "decisions"))
    {
        return Ok(());
    }
    let read_error = |e: crate::RecordError| {
        vec![Problem::new(
            "record",
            format!("does not read as an approval request: {e}"),
        )]
    };
    let now: approval::ApprovalRequest = after.read().map_err(read_error)?;
    let was: approval::ApprovalRequest = if before.is_empty() {
        approval::ApprovalRequest {
            decisions: Default::default(),
            ..now.clone()
        }
    } else {
        let past = after
            .doc_mut()
            .fork_at(before)
            .map_err(|e| vec![Problem::new("record", e.to_string())])?;
        match Record::from_doc(past) {
            Ok(r) => r.read().map_err(read_error)?,
            Err(_) => approval::ApprovalRequest {
                decisions: Default::default(),
                ..now.clone()
            },
        }
    };
    approval::check_new_decisions(&was, &now, &p.user, &p.decision_roles(), now_ms)
}

/// The job titles and role a user holds, for a message: `none` when empty.
pub fn roles_text(roles: &[&str]) -> String {
    if roles.is_empty() {
        "none".to_string()
    } else {
        roles.join(", ")
    }
}

/// The sign-offs a change takes a keyed map of sign-offs from `was` to `now`, checked
/// against who may make them: every slot added or changed must be signed under the
/// writer's own name (`by` is `user`) by a holder of one of `signers(slot)` (matched
/// against `roles`, [`Principal::decision_roles`]: job titles, then the access role). A
/// slot removed is refused unless `removable(slot)` (a PO returned for correction loses
/// sales' signature). `field` is the map's key at the record's root, for the problems'
/// paths. Pure: the same on the server (sync and REST) and on a device.
pub fn check_new_sign_offs(
    field: &str,
    was: &std::collections::BTreeMap<String, crate::common::SignOff>,
    now: &std::collections::BTreeMap<String, crate::common::SignOff>,
    user: &str,
    roles: &[&str],
    signers: impl Fn(&str) -> Vec<String>,
    removable: impl Fn(&str) -> bool,
) -> Vec<Problem> {
    let mut problems = Vec::new();
    for (slot, sign_off) in now {
        if was.get(slot) == Some(sign_off) {
            continue;
        }
        let path = format!("{field}.{slot}");
        if sign_off.by != user {
            problems.push(
                Problem::new(
                    path.clone(),
                    format!(
                        "is signed as {:?}: a sign-off is made only under your own name",
                        sign_off.by
                    ),
                )
                .with_code("sign_off.not_own")
                .with_param("slot", slot),
            );
        }
        let allowed = signers(slot);
        if !roles.iter().any(|r| allowed.iter().any(|a| a == r)) {
            let needs = if allowed.is_empty() {
                "nobody may sign it (an unknown sign-off)".to_string()
            } else {
                format!("it needs the job title {}", allowed.join(" or "))
            };
            problems.push(
                Problem::new(
                    path,
                    format!(
                        "you may not sign {slot}: {needs}; you hold: {}",
                        roles_text(roles)
                    ),
                )
                .with_code("sign_off.title_required")
                .with_param("slot", slot)
                .with_param("titles", allowed.join(", "))
                .with_param("held", roles_text(roles)),
            );
        }
    }
    for slot in was.keys() {
        if !now.contains_key(slot) && !removable(slot) {
            problems.push(
                Problem::new(format!("{field}.{slot}"), "a sign-off is never removed")
                    .with_code("sign_off.removed")
                    .with_param("slot", slot),
            );
        }
    }
    problems
}

/// The sign-off check of a change set (contract review, PO signatures, the deposit
/// confirmation): each is someone's to make by job title (PRODUCT.md, the order
/// follow-up flow; [`crate::review::review_signer_titles`],
/// [`crate::purchase_order::signature_titles`],
/// [`crate::order::deposit_confirmation_problems`]). `before` are the heads the server had
/// before the change set (empty for a new record: everything it carries is new). Only
/// reads the record when `paths` touch a sign-off; other record types pass. Honest
/// changes of other users' slots merged concurrently are not this writer's: only what
/// differs between `before` and now is looked at.
pub fn check_sign_offs(
    p: &Principal,
    after: &mut Record,
    before: &[ChangeHash],
    paths: &[ChangedPath],
) -> Result<(), Vec<Problem>> {
    let touches = |keys: &[&str]| {
        paths
            .iter()
            .any(|c| c.keys.first().is_some_and(|k| keys.contains(&k.as_str())))
    };
    let roles = p.decision_roles();
    let problems = match after.record_type() {
        RecordType::OrderCommercial
            if touches(&[
                "review",
                "deposit_confirmed_ms",
                "deposit_confirmed_by",
                "deposit_amount",
            ]) =>
        {
            let (was, now) = was_and_now::<order::OrderCommercial>(after, before)?;
            let mut problems = check_new_sign_offs(
                "review",
                &was.review,
                &now.review,
                &p.user,
                &roles,
                crate::review::review_signer_titles,
                |_| false,
            );
            problems.extend(order::deposit_confirmation_problems(
                &was, &now, &p.user, &roles,
            ));
            problems
        }
        RecordType::PurchaseOrder if touches(&["signatures", "corrections"]) => {
            let (was, now) = was_and_now::<purchase_order::PurchaseOrder>(after, before)?;
            let mut problems = check_new_sign_offs(
                "signatures",
                &was.signatures,
                &now.signatures,
                &p.user,
                &roles,
                purchase_order::signature_titles,
                |slot| slot == purchase_order::SALES_SIGNATURE,
            );
            problems.extend(purchase_order::correction_problems(
                &was, &now, &p.user, &roles,
            ));
            problems
        }
        _ => Vec::new(),
    };
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

/// A record read as `T` at `before` (the default value when `before` is empty: a new
/// record) and now.
fn was_and_now<T: autosurgeon::Hydrate + Default>(
    after: &mut Record,
    before: &[ChangeHash],
) -> Result<(T, T), Vec<Problem>> {
    let now: T = after.read().map_err(|e| {
        vec![Problem::new(
            "record",
            format!("does not read as its type: {e}"),
        )]
    })?;
    let was: T = if before.is_empty() {
        T::default()
    } else {
        let past = after
            .doc_mut()
            .fork_at(before)
            .map_err(|e| vec![Problem::new("record", e.to_string())])?;
        autosurgeon::hydrate(&past).unwrap_or_default()
    };
    Ok((was, now))
}

/// Checks one element of a keyed collection (absent is fine: it was deleted).
fn element<T: autosurgeon::Hydrate>(
    doc: &AutoCommit,
    map: &automerge::ObjId,
    key: &str,
) -> Result<(), crate::RecordError> {
    use automerge::ReadDoc;
    if doc.get(map, key)?.is_none() {
        return Ok(());
    }
    autosurgeon::hydrate_prop::<_, T, _, _>(doc, map, key)?;
    Ok(())
}

type ElementCheck = fn(&AutoCommit, &automerge::ObjId, &str) -> Result<(), crate::RecordError>;

/// The keyed collections (maps of id → struct at the root) whose elements are checked one
/// by one: where field devices write most (defects, readings, count lines, cartons).
fn collection_element(t: RecordType, key: &str) -> Option<ElementCheck> {
    use crate::common::PhotoRef;
    use crate::{inspection as i, shipment as sh, stock_count as sc};
    Some(match (t, key) {
        (RecordType::Inspection, "defects") => element::<i::Defect>,
        (RecordType::Inspection, "readings") => element::<i::Reading>,
        (RecordType::Inspection, "points") => element::<i::MeasurementPoint>,
        (RecordType::Inspection, "checklist") => element::<i::CheckItem>,
        (RecordType::Inspection | RecordType::ShipmentCheck, "photos") => element::<PhotoRef>,
        (RecordType::StockCount, "lines") => element::<sc::CountLine>,
        (RecordType::StockCount, "submissions") => element::<sc::Submission>,
        (RecordType::ShipmentCheck, "lines") => element::<sh::PackingLine>,
        (RecordType::ShipmentCheck, "extras") => element::<sh::ExtraCartons>,
        _ => return None,
    })
}

/// Checks that the record still reads as its type, looking only at what changed when it
/// can: the record read as its type before (every accepted change set was checked), so a
/// change inside one element of a keyed collection can only break that element. Reading
/// the whole record costs ~50 ms on an inspection with 200 defects (Automerge 0.12 reads
/// one value at a time); one element costs a few dozen reads. Anything else — a new
/// record, a root field, a collection replaced — reads the whole record.
fn validate_changed_shape(
    r: &Record,
    paths: &[ChangedPath],
    creating: bool,
) -> Result<(), crate::RecordError> {
    use automerge::ReadDoc;
    if creating {
        return validate_shape(r);
    }
    let doc = r.doc();
    let mut elements: BTreeSet<(&str, &str)> = BTreeSet::new();
    for path in paths {
        match path.keys.as_slice() {
            [collection, id, ..] if collection_element(r.record_type(), collection).is_some() => {
                elements.insert((collection.as_str(), id.as_str()));
            }
            _ => return validate_shape(r),
        }
    }
    for (collection, id) in elements {
        let Some(check) = collection_element(r.record_type(), collection) else {
            return validate_shape(r);
        };
        match doc.get(automerge::ROOT, collection)? {
            Some((automerge::Value::Object(automerge::ObjType::Map), map)) => {
                check(doc, &map, id)?;
            }
            _ => return validate_shape(r),
        }
    }
    Ok(())
}

/// Checks that the whole record still reads as its type.
fn validate_shape(r: &Record) -> Result<(), crate::RecordError> {
    match r.record_type() {
        RecordType::Inspection => r.read::<inspection::Inspection>().map(|_| ()),
        RecordType::StockCount => r.read::<stock_count::StockCount>().map(|_| ()),
        RecordType::ShipmentCheck => r.read::<shipment::ShipmentCheck>().map(|_| ()),
        RecordType::Order => r.read::<order::Order>().map(|_| ()),
        RecordType::OrderCommercial => r.read::<order::OrderCommercial>().map(|_| ()),
        RecordType::PurchaseOrder => r.read::<purchase_order::PurchaseOrder>().map(|_| ()),
        RecordType::Approval => r.read::<approval::ApprovalRequest>().map(|_| ()),
        RecordType::UserIndex | RecordType::Unknown => Ok(()),
    }
}

fn check_path(
    p: &Principal,
    office: bool,
    creating: bool,
    t: RecordType,
    changed: &ChangedPath,
) -> Option<Problem> {
    let path = changed.keys.as_slice();
    let joined = path.join(".");
    let deny = |why: &str| Some(Problem::new(joined.clone(), why.to_string()));
    let root = path.first().map(String::as_str)?;
    if !office && !creating && PROTECTED_KEYS.contains(&root) {
        return deny("only the office may change a record's identity and scope");
    }
    if creating {
        // A new record is checked as a whole by the creation rules above.
        return None;
    }
    let own_key = |key: Option<&String>| {
        key.is_some_and(|k| k == &p.user || k.ends_with(&format!(":{}", p.user)))
    };
    match (t, p.role) {
        (RecordType::StockCount, Role::Warehouse) => match root {
            // A clerk writes only their own count entries and their own submission.
            "lines" if path.get(2).map(String::as_str) == Some("entries") => {
                // The entries map itself, made with a line the clerk adds, or their own entry.
                if (path.len() == 3 && changed.in_new_object) || own_key(path.get(3)) {
                    None
                } else {
                    deny("you may only enter your own counts")
                }
            }
            // A line found on the floor may be added; an existing line (its expected
            // quantity, other clerks' counts) is never deleted or replaced by a clerk.
            "lines" if path.len() == 2 && changed.replaces => {
                deny("you may not delete or replace a count line")
            }
            "lines" if path.len() == 2 => None,
            // Inside a line the clerk adds in this change set: part of adding it (its
            // expected quantity is checked to be zero by `check_found_lines`).
            "lines" if changed.in_new_object => None,
            "lines"
                if path.len() >= 3
                    && !matches!(path[2].as_str(), "expected" | "round" | "safety_stock") =>
            {
                None
            }
            "submissions" => {
                if own_key(path.get(1)) {
                    None
                } else {
                    deny("you may only submit for yourself")
                }
            }
            _ => deny("only the office may change this part of a stock count"),
        },
        (RecordType::Approval, _) => match root {
            "decisions" => {
                if own_key(path.get(1)) {
                    None
                } else {
                    deny("you may only record your own decision")
                }
            }
            _ if office => None,
            _ => deny("only the office may change an approval request"),
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::EditContext;
    use crate::record::actor_from_bytes;
    use crate::stock_count::{NewLine, NewStockCount, StockCountOp};
    use automerge::transaction::Transactable;
    use wasm_bindgen_test::wasm_bindgen_test;

    /// The hub reads changed paths from Automerge's patch log (diff cursor at `before`);
    /// they must be exactly what the full diff says, for every kind of edit.
    #[wasm_bindgen_test(unsupported = test)]
    fn changed_paths_from_the_patch_log_equal_the_full_diff() {
        use automerge::{ObjType, ROOT, ReadDoc, ScalarValue};
        let mut base = AutoCommit::new();
        base.put(ROOT, "title", "t").unwrap();
        let defects = base.put_object(ROOT, "defects", ObjType::Map).unwrap();
        let d1 = base.put_object(&defects, "d1", ObjType::Map).unwrap();
        base.put(&d1, "qty", ScalarValue::counter(1)).unwrap();
        base.put(&d1, "note", "n").unwrap();
        let list = base.put_object(ROOT, "photos", ObjType::List).unwrap();
        base.insert(&list, 0, "p0").unwrap();
        base.commit();
        type Edit = fn(&mut AutoCommit);
        let edits: Vec<(&str, Edit)> = vec![
            ("put a new key", |d| d.put(ROOT, "extra", 1).unwrap()),
            ("overwrite", |d| d.put(ROOT, "title", "u").unwrap()),
            ("delete", |d| d.delete(ROOT, "title").unwrap()),
            ("increment", |d| {
                let (_, defects) = d.get(ROOT, "defects").unwrap().unwrap();
                let (_, d1) = d.get(&defects, "d1").unwrap().unwrap();
                d.increment(&d1, "qty", 2).unwrap();
            }),
            ("new nested object", |d| {
                let (_, defects) = d.get(ROOT, "defects").unwrap().unwrap();
                let d2 = d.put_object(&defects, "d2", ObjType::Map).unwrap();
                d.put(&d2, "qty", ScalarValue::counter(1)).unwrap();
                let sub = d.put_object(&d2, "photos", ObjType::List).unwrap();
                d.insert(&sub, 0, "x").unwrap();
            }),
            ("list insert and delete", |d| {
                let (_, list) = d.get(ROOT, "photos").unwrap().unwrap();
                d.insert(&list, 1, "p1").unwrap();
                d.delete(&list, 0).unwrap();
            }),
            ("replace an object", |d| {
                let (_, defects) = d.get(ROOT, "defects").unwrap().unwrap();
                let d1 = d.put_object(&defects, "d1", ObjType::Map).unwrap();
                d.put(&d1, "note", "again").unwrap();
            }),
        ];
        for (what, edit) in edits {
            let mut device = base.fork();
            edit(&mut device);
            device.commit();
            let before = base.get_heads();
            let changes = device.get_changes(&before);
            // The full diff.
            let mut slow = base.fork();
            slow.apply_changes(changes.clone()).unwrap();
            let after = slow.get_heads();
            let mut want = changed_paths(&mut slow, &before, &after);
            // From the patch log.
            let mut fast = base.fork();
            fast.update_diff_cursor();
            fast.apply_changes(changes).unwrap();
            let mut got = changed_paths(&mut fast, &before, &after);
            want.sort();
            got.sort();
            assert!(!want.is_empty(), "{what}: no paths");
            assert_eq!(got, want, "{what}");
        }
        // Concurrent with the server's own edit of the same key (a conflict).
        let mut server = base.fork();
        server.put(ROOT, "title", "server").unwrap();
        server.commit();
        let mut device = base.fork();
        device.put(ROOT, "title", "device").unwrap();
        device.commit();
        let changes = device.get_changes(&base.get_heads());
        let before = server.get_heads();
        let mut slow = server.fork();
        slow.apply_changes(changes.clone()).unwrap();
        let after = slow.get_heads();
        let want = changed_paths(&mut slow, &before, &after);
        let mut fast = server.fork();
        fast.update_diff_cursor();
        fast.apply_changes(changes).unwrap();
        assert_eq!(changed_paths(&mut fast, &before, &after), want, "conflict");
    }

    fn who(user: &str, role: Role) -> Principal {
        Principal {
            user: user.into(),
            role,
            factory: Some("F1".into()),
            warehouse: Some("W1".into()),
            titles: Vec::new(),
        }
    }

    fn header(t: RecordType, assignees: &[&str], factory: &str, warehouse: &str) -> RecordHeader {
        RecordHeader {
            record_type: t,
            assignees: assignees.iter().map(|a| ((*a).to_string(), true)).collect(),
            factory: factory.into(),
            warehouse: warehouse.into(),
            created_by: "office".into(),
            ..RecordHeader::default()
        }
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn read_and_write_by_role_and_scope() {
        let insp = header(RecordType::Inspection, &["qc1"], "F1", "");
        assert_eq!(record_access(&who("qc1", Role::Qc), &insp), Access::Write);
        assert_eq!(record_access(&who("qc2", Role::Qc), &insp), Access::None);
        assert_eq!(record_access(&who("f", Role::Factory), &insp), Access::Read);
        assert_eq!(
            record_access(&who("m", Role::Merchandiser), &insp),
            Access::Write
        );
        let commercial = header(RecordType::OrderCommercial, &["qc1"], "F1", "");
        assert_eq!(
            record_access(&who("qc1", Role::Qc), &commercial),
            Access::None,
            "prices never reach QC"
        );
        assert_eq!(
            record_access(&who("f", Role::Factory), &commercial),
            Access::None
        );
        let count = header(RecordType::StockCount, &[], "", "W1");
        assert_eq!(
            record_access(&who("c", Role::Warehouse), &count),
            Access::Write,
            "own warehouse"
        );
        let other = header(RecordType::StockCount, &[], "", "W2");
        assert_eq!(
            record_access(&who("c", Role::Warehouse), &other),
            Access::None
        );
        let index = header(RecordType::UserIndex, &[], "", "");
        assert_eq!(
            record_access(&who("a", Role::Admin), &index),
            Access::None,
            "indexes are the server's"
        );
    }

    fn count_record() -> Record {
        let mut lines = std::collections::BTreeMap::new();
        lines.insert(
            "l1".to_string(),
            NewLine {
                sku: "S".into(),
                expected: 5,
                ..NewLine::default()
            },
        );
        let new = NewStockCount {
            warehouse: "W1".into(),
            lines,
            ..NewStockCount::default()
        };
        stock_count::create(
            &new,
            actor_from_bytes(&[1; 16]),
            &EditContext::new("office", 0),
        )
        .unwrap()
    }

    fn check(
        p: &Principal,
        before: &mut Record,
        edit: impl FnOnce(&mut Record),
    ) -> Result<(), Vec<Problem>> {
        let header = before.header().unwrap();
        let heads = before.heads();
        let mut after = before.clone();
        edit(&mut after);
        let after_heads = after.heads();
        let paths = changed_paths(after.doc_mut(), &heads, &after_heads);
        check_write(p, Some(&header), &after, &paths)
    }

    /// The shape check looks at the changed element of a collection only, and at the whole
    /// record for anything else; either way a value of the wrong shape is refused.
    #[wasm_bindgen_test(unsupported = test)]
    fn a_change_that_breaks_the_records_shape_is_refused_wherever_it_is() {
        use crate::inspection::{InspectionOp, NewInspection};
        use automerge::{ROOT, ReadDoc};
        let mut r = inspection::create(
            &NewInspection {
                lot_size: 500,
                assignees: vec!["qc1".into()],
                ..NewInspection::default()
            },
            actor_from_bytes(&[1; 16]),
            &EditContext::new("office", 0),
        )
        .unwrap();
        let ctx = EditContext::new("qc1", 1);
        for i in 0..3 {
            let op = InspectionOp::AddDefect {
                id: format!("d{i}"),
                class: crate::aql::DefectClass::Minor,
                description: "seam".into(),
                position: String::new(),
                qty: 1,
            };
            inspection::apply(&mut r, &op, &ctx).unwrap();
        }
        let qc = who("qc1", Role::Qc);
        let office = who("m", Role::Merchandiser);
        let obj = |a: &Record, path: &[&str]| {
            let mut o = ROOT;
            for k in path {
                o = a.doc().get(&o, *k).unwrap().unwrap().1;
            }
            o
        };
        // Fine: a tally, a new defect, a deleted one (by the office).
        let tally = InspectionOp::TallyDefect {
            id: "d1".into(),
            delta: 1,
        };
        assert_eq!(
            check(&qc, &mut r, |a| inspection::apply(a, &tally, &ctx).unwrap()),
            Ok(())
        );
        assert_eq!(
            check(&office, &mut r, |a| {
                let defects = obj(a, &["defects"]);
                a.doc_mut().delete(&defects, "d2").unwrap();
                a.doc_mut().commit();
            }),
            Ok(())
        );
        // Broken inside one element: that element is read and refused.
        let err = check(&qc, &mut r, |a| {
            let d1 = obj(a, &["defects", "d1"]);
            a.doc_mut().put(&d1, "class", 7_i64).unwrap();
            a.doc_mut().commit();
        })
        .unwrap_err();
        assert!(
            err.iter()
                .any(|p| p.message.contains("does not match the inspection schema")),
            "{err:?}"
        );
        // An element replaced by a scalar.
        let err = check(&office, &mut r, |a| {
            let defects = obj(a, &["defects"]);
            a.doc_mut().put(&defects, "d0", "not a defect").unwrap();
            a.doc_mut().commit();
        })
        .unwrap_err();
        assert!(err.iter().any(|p| p.field == "record"), "{err:?}");
        // A whole collection replaced, and a root field of the wrong type: the whole record.
        for (key, value) in [("defects", "gone"), ("lot_size", "many")] {
            let err = check(&office, &mut r, |a| {
                a.doc_mut().put(ROOT, key, value).unwrap();
                a.doc_mut().commit();
            })
            .unwrap_err();
            assert!(
                err.iter()
                    .any(|p| p.message.contains("does not match the inspection schema")),
                "{key}: {err:?}"
            );
        }
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn clerks_write_only_their_own_counts() {
        let mut r = count_record();
        let clerk = who("c1", Role::Warehouse);
        assert!(
            check(&clerk, &mut r, |a| {
                stock_count::apply(
                    a,
                    &StockCountOp::SetCount {
                        line: "l1".into(),
                        qty: 4,
                    },
                    &EditContext::new("c1", 1),
                )
                .unwrap();
            })
            .is_ok()
        );
        // The same operation made as another clerk (a forged entry) is refused.
        let err = check(&clerk, &mut r, |a| {
            stock_count::apply(
                a,
                &StockCountOp::SetCount {
                    line: "l1".into(),
                    qty: 4,
                },
                &EditContext::new("c2", 1),
            )
            .unwrap();
        })
        .unwrap_err();
        assert!(err[0].message.contains("own counts"), "{err:?}");
        // Expected quantities and approval are the office's.
        assert!(
            check(&clerk, &mut r, |a| {
                stock_count::apply(
                    a,
                    &StockCountOp::RequestRecount { line: "l1".into() },
                    &EditContext::new("c1", 1),
                )
                .unwrap();
            })
            .is_err()
        );
        // Assignment is scope: only the office changes it.
        assert!(
            check(&clerk, &mut r, |a| a
                .assign(&EditContext::new("c1", 1), "c9")
                .unwrap())
            .is_err()
        );
        assert!(
            check(&who("m", Role::Merchandiser), &mut r, |a| a
                .assign(&EditContext::new("m", 1), "c9")
                .unwrap())
            .is_ok()
        );
        // Someone without write access is refused whatever they touch.
        assert!(
            check(&who("q", Role::Qc), &mut r, |a| {
                stock_count::apply(a, &StockCountOp::Submit, &EditContext::new("q", 1)).unwrap();
            })
            .is_err()
        );
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn clerks_add_lines_but_never_delete_or_replace_one() {
        use automerge::ReadDoc;
        let mut r = count_record();
        let clerk = who("c1", Role::Warehouse);
        let add = |a: &mut Record| {
            stock_count::apply(
                a,
                &StockCountOp::AddLine {
                    id: "found-1".into(),
                    line: NewLine {
                        sku: "S9".into(),
                        ..NewLine::default()
                    },
                },
                &EditContext::new("c1", 1),
            )
            .unwrap();
        };
        assert_eq!(check(&clerk, &mut r, add), Ok(()));
        // ... but not one that claims an expected quantity.
        let err = check(&clerk, &mut r, |a| {
            stock_count::apply(
                a,
                &StockCountOp::AddLine {
                    id: "found-2".into(),
                    line: NewLine {
                        sku: "S9".into(),
                        expected: 40,
                        ..NewLine::default()
                    },
                },
                &EditContext::new("c1", 1),
            )
            .unwrap();
        })
        .unwrap_err();
        assert_eq!(err[0].field, "lines.found-2.expected", "{err:?}");
        // Nor one that carries another clerk's count.
        let err = check(&clerk, &mut r, |a| {
            stock_count::apply(
                a,
                &StockCountOp::AddLine {
                    id: "found-3".into(),
                    line: NewLine {
                        sku: "S9".into(),
                        ..NewLine::default()
                    },
                },
                &EditContext::new("c1", 1),
            )
            .unwrap();
            stock_count::apply(
                a,
                &StockCountOp::SetCount {
                    line: "found-3".into(),
                    qty: 2,
                },
                &EditContext::new("c2", 1),
            )
            .unwrap();
        })
        .unwrap_err();
        assert!(err[0].message.contains("own counts"), "{err:?}");

        let lines = |a: &Record| a.doc().get(automerge::ROOT, "lines").unwrap().unwrap().1;
        let err = check(&clerk, &mut r, |a| {
            let obj = lines(a);
            a.doc_mut().delete(&obj, "l1").unwrap();
        })
        .unwrap_err();
        assert_eq!(err[0].field, "lines.l1", "{err:?}");
        assert!(err[0].message.contains("delete or replace"), "{err:?}");

        let err = check(&clerk, &mut r, |a| {
            let obj = lines(a);
            let fresh = a
                .doc_mut()
                .put_object(&obj, "l1", automerge::ObjType::Map)
                .unwrap();
            a.doc_mut().put(&fresh, "sku", "S").unwrap();
        })
        .unwrap_err();
        assert!(err[0].message.contains("delete or replace"), "{err:?}");

        // The office may restructure its sheet.
        let office = who("m", Role::Merchandiser);
        assert_eq!(
            check(&office, &mut r, |a| {
                let obj = lines(a);
                a.doc_mut().delete(&obj, "l1").unwrap();
            }),
            Ok(())
        );
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn a_po_release_needs_an_open_payment_gate_and_never_comes_by_sync() {
        use crate::order::{self, NewOrder, PaymentTerm};
        use crate::payment_gate::{BlockReason, Gate};
        use crate::purchase_order::{self, PurchaseOrderOp};
        let order = order::create(
            &NewOrder {
                order_no: "SO-1".into(),
                style_no: "ST-1".into(),
                factory: "F1".into(),
                ..NewOrder::default()
            },
            actor_from_bytes(&[1; 16]),
            &EditContext::new("merch", 1),
        )
        .unwrap()
        .read()
        .unwrap();
        let new = purchase_order::draft_from_order(
            &order,
            "order-doc",
            "PO-1",
            14,
            purchase_order::ProcessSheet {
                construction: "crew neck".into(),
                workmanship: "12 stitches / 3 cm".into(),
                carton_packing: "12 pcs / carton".into(),
            },
            std::iter::once((
                "a1".to_string(),
                purchase_order::Accessory {
                    item: "main label".into(),
                    position: "centre back neck".into(),
                    pictures: std::iter::once((
                        "ab".repeat(32),
                        crate::common::PhotoRef {
                            sha256: "ab".repeat(32),
                            ..crate::common::PhotoRef::default()
                        },
                    ))
                    .collect(),
                    ..purchase_order::Accessory::default()
                },
            ))
            .collect(),
        );
        let mut po =
            purchase_order::create(&new, actor_from_bytes(&[2; 16]), &EditContext::new("m", 2))
                .unwrap();
        for role in ["sales", "general_manager"] {
            purchase_order::apply(
                &mut po,
                &PurchaseOrderOp::Sign {
                    role: role.into(),
                    name: role.into(),
                },
                &EditContext::new(role, 3),
            )
            .unwrap();
        }
        let open = Gate::Open {
            term: PaymentTerm::Deposit,
        };
        let closed = Gate::Blocked {
            term: PaymentTerm::Deposit,
            reason: BlockReason::DepositNotConfirmed,
            message: "finance has not confirmed the deposit".into(),
            special_approval: None,
        };
        let header = po.header().unwrap();
        let heads = po.heads();
        let mut after = po.clone();
        purchase_order::apply_with_gate(
            &mut after,
            &PurchaseOrderOp::Release { released_ms: 50 },
            Some(&open),
            &EditContext::new("m", 50),
        )
        .unwrap();
        let after_heads = after.heads();
        let paths = changed_paths(after.doc_mut(), &heads, &after_heads);
        let merch = who("m", Role::Merchandiser);
        let by_sync = check_write(&merch, Some(&header), &after, &paths).unwrap_err();
        assert!(by_sync[0].message.contains("not by sync"), "{by_sync:?}");
        let shut = check_write_with_gate(&merch, Some(&header), &after, &paths, Some(&closed))
            .unwrap_err();
        assert!(shut[0].message.contains("deposit"), "{shut:?}");
        assert_eq!(
            check_write_with_gate(&merch, Some(&header), &after, &paths, Some(&open)),
            Ok(())
        );
        // A PO pushed already released, as a new record, is refused by sync too.
        let mut born_released = after.clone();
        let all = born_released.heads();
        let paths = changed_paths(born_released.doc_mut(), &[], &all);
        assert!(check_write(&merch, None, &born_released, &paths).is_err());
        // Other edits of a PO are not affected.
        assert_eq!(check_write(&merch, Some(&header), &po, &[]), Ok(()));
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn decisions_are_checked_by_job_title_also_in_a_new_request() {
        let gm = Principal {
            titles: vec!["general_manager".into()],
            ..who("gm", Role::Approver)
        };
        let other = who("sm", Role::Approver);
        let mut new =
            crate::chains::new_request(&crate::chains::SPECIAL_PO_RELEASE, "release PO-1");
        new.order_no = "SO-1".into();
        new.reason = "factory slot".into();
        let ctx = |u: &str| EditContext::new(u, 10);
        let created = || approval::create(&new, actor_from_bytes(&[5; 16]), &ctx("gm")).unwrap();
        // A request created and decided offline in one go: the decision is checked against
        // the chain it was created with.
        for (p, ok) in [(&gm, true), (&other, false)] {
            let mut r = created();
            approval::decide(&mut r, "s1", true, "", &["general_manager"], &ctx(&p.user)).unwrap();
            let heads = r.heads();
            let paths = changed_paths(r.doc_mut(), &[], &heads);
            let verdict = check_decisions(p, &mut r, &[], &paths, 10);
            assert_eq!(verdict.is_ok(), ok, "{}: {verdict:?}", p.user);
        }
        // On an existing request, only the new decision is looked at.
        let mut r = created();
        let before = r.heads();
        approval::decide(&mut r, "s1", true, "", &["general_manager"], &ctx("sm")).unwrap();
        let after = r.heads();
        let paths = changed_paths(r.doc_mut(), &before, &after);
        let err = check_decisions(&other, &mut r, &before, &paths, 10).unwrap_err();
        assert!(
            err[0].message.contains("needs the role general_manager"),
            "{err:?}"
        );
        // A change set not touching decisions is not this check's business.
        let mut r = created();
        let before = r.heads();
        r.assign(&ctx("gm"), "qc1").unwrap();
        let after = r.heads();
        let paths = changed_paths(r.doc_mut(), &before, &after);
        assert!(check_decisions(&other, &mut r, &before, &paths, 10).is_ok());
    }

    /// Runs `edit` on a copy of `record` and the sign-off check of the change as `p`.
    fn sign_check(
        p: &Principal,
        record: &Record,
        edit: impl FnOnce(&mut Record),
    ) -> Result<(), Vec<Problem>> {
        let mut after = record.clone();
        let before = after.heads();
        edit(&mut after);
        let now = after.heads();
        let paths = changed_paths(after.doc_mut(), &before, &now);
        check_sign_offs(p, &mut after, &before, &paths)
    }

    fn titled(user: &str, role: Role, titles: &[&str]) -> Principal {
        Principal {
            titles: titles.iter().map(|t| (*t).to_string()).collect(),
            ..who(user, role)
        }
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn only_finance_confirms_a_deposit() {
        use crate::common::Money;
        use crate::order::{self, CommercialOp, PaymentTerm};
        let c = order::create_commercial(
            "o",
            "SO-1",
            PaymentTerm::Deposit,
            actor_from_bytes(&[3; 16]),
            &EditContext::new("sales", 1),
        )
        .unwrap();
        let confirm = |user: &'static str| {
            move |r: &mut Record| {
                order::apply_commercial(
                    r,
                    &CommercialOp::ConfirmDeposit {
                        amount: Money {
                            minor: 100,
                            currency: "USD".into(),
                        },
                        received_ms: 5,
                    },
                    &EditContext::new(user, 6),
                )
                .unwrap();
            }
        };
        let finance = titled("fin", Role::Approver, &["finance"]);
        assert_eq!(sign_check(&finance, &c, confirm("fin")), Ok(()));
        // A merchandiser, a general manager: not finance.
        for p in [
            who("merch", Role::Merchandiser),
            titled("gm", Role::Approver, &["general_manager"]),
        ] {
            let err = sign_check(&p, &c, confirm(if p.user == "gm" { "gm" } else { "merch" }))
                .unwrap_err();
            assert_eq!(err[0].code, "deposit.finance_only", "{err:?}");
            assert!(err[0].message.contains("job title finance"), "{err:?}");
        }
        // Finance, but confirming under another name.
        let err = sign_check(&finance, &c, confirm("someone")).unwrap_err();
        assert_eq!(err[0].code, "sign_off.not_own", "{err:?}");
        // Other edits of the commercial side are not this check's business.
        let price = |r: &mut Record| {
            order::apply_commercial(
                r,
                &CommercialOp::SetPrice {
                    line: "l1".into(),
                    price: Money {
                        minor: 5,
                        currency: "USD".into(),
                    },
                },
                &EditContext::new("merch", 6),
            )
            .unwrap();
        };
        assert_eq!(
            sign_check(&who("merch", Role::Merchandiser), &c, price),
            Ok(())
        );
        // A new commercial side that arrives with the deposit confirmed is checked too.
        let mut born = c.clone();
        confirm("merch")(&mut born);
        let heads = born.heads();
        let paths = changed_paths(born.doc_mut(), &[], &heads);
        let merch = who("merch", Role::Merchandiser);
        assert!(check_sign_offs(&merch, &mut born, &[], &paths).is_err());
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn review_and_po_sign_offs_need_the_slots_job_title() {
        use crate::order::{self, CommercialOp, PaymentTerm, ReviewStep};
        let mut c = order::create_commercial(
            "o",
            "SO-1",
            PaymentTerm::Deposit,
            actor_from_bytes(&[3; 16]),
            &EditContext::new("sales", 1),
        )
        .unwrap();
        order::apply_commercial(
            &mut c,
            &CommercialOp::RequireCostSheetSigner {
                department: "finance".into(),
            },
            &EditContext::new("sales", 1),
        )
        .unwrap();
        let sign = |step: ReviewStep, department: &'static str, user: &'static str| {
            move |r: &mut Record| {
                order::apply_commercial(
                    r,
                    &CommercialOp::SignReview {
                        step,
                        department: department.into(),
                        name: user.into(),
                    },
                    &EditContext::new(user, 6),
                )
                .unwrap();
            }
        };
        let pcm = titled("pcm", Role::Approver, &["product_control_manager"]);
        let gm = titled("gm", Role::Approver, &["general_manager"]);
        let cfo = titled("cfo", Role::Approver, &["finance_manager"]);
        let merch = who("merch", Role::Merchandiser);
        // The price check: the product control manager, nobody else.
        let err = sign_check(&gm, &c, sign(ReviewStep::PriceCheck, "", "gm")).unwrap_err();
        assert_eq!(err[0].field, "review.price_check", "{err:?}");
        assert_eq!(err[0].code, "sign_off.title_required");
        assert_eq!(err[0].params["titles"], "product_control_manager");
        assert!(
            err[0]
                .message
                .contains("needs the job title product_control_manager"),
            "{err:?}"
        );
        assert_eq!(
            sign_check(&pcm, &c, sign(ReviewStep::PriceCheck, "", "pcm")),
            Ok(())
        );
        sign(ReviewStep::PriceCheck, "", "pcm")(&mut c);
        // The tracking sheet: a merchandiser (the access role counts).
        assert_eq!(
            sign_check(&merch, &c, sign(ReviewStep::TrackingSheet, "", "merch")),
            Ok(())
        );
        assert!(sign_check(&pcm, &c, sign(ReviewStep::TrackingSheet, "", "pcm")).is_err());
        // The cost sheet: each department's head, and the GM's line by the GM only.
        assert_eq!(
            sign_check(&cfo, &c, sign(ReviewStep::CostSheet, "finance", "cfo")),
            Ok(())
        );
        let err = sign_check(&gm, &c, sign(ReviewStep::CostSheet, "finance", "gm")).unwrap_err();
        assert_eq!(err[0].params["titles"], "finance_manager", "{err:?}");
        assert!(
            sign_check(
                &cfo,
                &c,
                sign(ReviewStep::CostSheet, "general_manager", "cfo")
            )
            .is_err()
        );
        assert_eq!(
            sign_check(
                &gm,
                &c,
                sign(ReviewStep::CostSheet, "general_manager", "gm")
            ),
            Ok(())
        );
        // A sign-off under someone else's name, by a holder of the title, is refused.
        let err = sign_check(
            &gm,
            &c,
            sign(ReviewStep::CostSheet, "general_manager", "boss"),
        )
        .unwrap_err();
        assert_eq!(err[0].code, "sign_off.not_own", "{err:?}");
        // A review sign-off is never removed.
        let err = sign_check(&gm, &c, |r| {
            use automerge::ReadDoc;
            let review = r.doc().get(automerge::ROOT, "review").unwrap().unwrap().1;
            r.doc_mut().delete(&review, "price_check").unwrap();
            r.doc_mut().commit();
        })
        .unwrap_err();
        assert_eq!(err[0].code, "sign_off.removed", "{err:?}");

        // The PO: sales checks and signs, the general manager signs.
        use crate::purchase_order::{self, PurchaseOrderOp};
        let new = purchase_order::NewPurchaseOrder {
            po_no: "PO-1".into(),
            order_id: "o".into(),
            order_no: "SO-1".into(),
            factory: "F1".into(),
            ..purchase_order::NewPurchaseOrder::default()
        };
        let po =
            purchase_order::create(&new, actor_from_bytes(&[4; 16]), &EditContext::new("m", 1))
                .unwrap();
        let po_sign = |role: &'static str, user: &'static str| {
            move |r: &mut Record| {
                purchase_order::apply(
                    r,
                    &PurchaseOrderOp::Sign {
                        role: role.into(),
                        name: user.into(),
                    },
                    &EditContext::new(user, 6),
                )
                .unwrap();
            }
        };
        let sales = who("sales", Role::Sales);
        let rep = titled("rep", Role::Approver, &["sales_rep"]);
        assert_eq!(sign_check(&sales, &po, po_sign("sales", "sales")), Ok(()));
        assert_eq!(sign_check(&rep, &po, po_sign("sales", "rep")), Ok(()));
        assert!(sign_check(&merch, &po, po_sign("sales", "merch")).is_err());
        let mut signed = po.clone();
        po_sign("sales", "sales")(&mut signed);
        let err = sign_check(&sales, &signed, po_sign("general_manager", "sales")).unwrap_err();
        assert_eq!(err[0].field, "signatures.general_manager", "{err:?}");
        assert_eq!(err[0].params["titles"], "general_manager");
        assert_eq!(
            sign_check(&gm, &signed, po_sign("general_manager", "gm")),
            Ok(())
        );
        // Sales returns the PO for correction, which removes sales' signature; nobody else
        // may, and nobody under another's name.
        let return_as = |user: &'static str| {
            move |r: &mut Record| {
                purchase_order::apply(
                    r,
                    &PurchaseOrderOp::ReturnForCorrection {
                        id: "c1".into(),
                        comment: "carton size".into(),
                    },
                    &EditContext::new(user, 7),
                )
                .unwrap();
            }
        };
        assert_eq!(sign_check(&sales, &signed, return_as("sales")), Ok(()));
        assert_eq!(sign_check(&rep, &signed, return_as("rep")), Ok(()));
        let err = sign_check(&merch, &signed, return_as("merch")).unwrap_err();
        assert_eq!(err[0].code, "po.correction_by_sales", "{err:?}");
        assert_eq!(err[0].field, "corrections.c1");
        assert_eq!(err[0].params["titles"], "sales_rep, sales");
        assert_eq!(err[0].params["held"], "merchandiser");
        let err = sign_check(&rep, &signed, return_as("sales")).unwrap_err();
        assert_eq!(err[0].code, "sign_off.not_own", "{err:?}");
        // Resolving a correction is the merchandiser's, with no title needed.
        let mut returned = signed.clone();
        return_as("sales")(&mut returned);
        assert_eq!(
            sign_check(&merch, &returned, |r| {
                purchase_order::apply(
                    r,
                    &PurchaseOrderOp::ResolveCorrection { id: "c1".into() },
                    &EditContext::new("merch", 8),
                )
                .unwrap();
            }),
            Ok(())
        );
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn creation_rules() {
        let mut r = count_record();
        let paths = vec![ChangedPath::new(&["type"])];
        let h = r.header().unwrap();
        assert!(check_write(&who("office", Role::Merchandiser), None, &r, &paths).is_ok());
        assert!(
            check_write(&who("office", Role::Factory), None, &r, &paths).is_err(),
            "factories create nothing"
        );
        assert!(
            check_write(&who("someone", Role::Merchandiser), None, &r, &paths).is_err(),
            "created_by must be the creator"
        );
        let _ = (h, r.heads());
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn edits_after_a_sign_off_are_refused_concurrent_ones_are_not() {
        use crate::inspection::{self, InspectionOp, NewInspection};
        let new = NewInspection {
            lot_size: 500,
            assignees: vec!["qc1".into(), "qc2".into()],
            ..NewInspection::default()
        };
        let mut server = inspection::create(
            &new,
            actor_from_bytes(&[1; 16]),
            &EditContext::new("office", 0),
        )
        .unwrap();
        // qc2 works offline from the unsigned record.
        let mut offline = Record::load(&server.save(), actor_from_bytes(&[2; 16])).unwrap();
        let add = |id: &str| InspectionOp::AddDefect {
            id: id.into(),
            class: crate::aql::DefectClass::Minor,
            description: "x".into(),
            position: String::new(),
            qty: 1,
        };
        inspection::apply(
            &mut offline,
            &add("late-but-honest"),
            &EditContext::new("qc2", 1),
        )
        .unwrap();
        // qc1 signs off; the server has it.
        let sign = InspectionOp::SignOff {
            name: "Li".into(),
            signature_sha256: String::new(),
        };
        inspection::apply(&mut server, &sign, &EditContext::new("qc1", 2)).unwrap();
        let signed_heads = server.heads();
        // A device that has seen the sign-off and changes the record anyway (bypassing its own
        // rules) is refused.
        let mut after = server.clone();
        after
            .doc_mut()
            .put(automerge::ROOT, "remarks", "changed after signing")
            .unwrap();
        after.commit(&EditContext::new("qc1", 3), "tamper");
        let qc1 = who("qc1", Role::Qc);
        assert!(check_not_locked(&qc1, &mut after, &signed_heads).is_err());
        // The office may still change it (e.g. customs on a shipment, a correction).
        assert!(check_not_locked(&who("m", Role::Merchandiser), &mut after, &signed_heads).is_ok());
        // The concurrent offline edit merges.
        let mut merged = server.clone();
        merged.merge(&mut offline).unwrap();
        assert!(check_not_locked(&who("qc2", Role::Qc), &mut merged, &signed_heads).is_ok());
    }
}
