//! The document layer every record type shares: one Automerge document per record with
//! `type` and `schema` at its root, created, loaded, upgraded, edited and saved here.
//!
//! Edits are minimal: an operation writes only the keys it changes (a scalar `put`, a
//! counter `increment`, or a new entry in a map keyed by a unique id). No operation ever
//! rewrites a whole object, so concurrent edits to other fields always survive a merge.

use automerge::{
    ActorId, AutoCommit, ChangeHash, ObjId, ObjType, ROOT, ReadDoc, transaction::CommitOptions,
    transaction::Transactable,
};
use autosurgeon::{Hydrate, Reconcile};
use serde::Serialize;

use crate::common::{EditContext, Int, Problem, Username, string_enum};
use crate::read_cache::CachedRead;

string_enum! {
    /// The kind of record a document holds: the `type` key at its root.
    pub enum RecordType (Unknown) {
        /// 外销合同, production side: styles, lines, milestones, samples (seen by factory and QC).
        Order = "order",
        /// 外销合同, commercial side: prices, costs, payment terms (office only).
        OrderCommercial = "order_commercial",
        /// 采购合同 to a supplier factory, with process sheet and accessories list.
        PurchaseOrder = "purchase_order",
        /// 验货报告: an AQL inspection.
        Inspection = "inspection",
        /// 库存盘点: a stock count.
        StockCount = "stock_count",
        /// 出货/装柜检查: a container loading check.
        ShipmentCheck = "shipment_check",
        /// 审批: a multi-step approval request.
        Approval = "approval",
        /// The per-user index of records in scope (server-written, read-only to clients).
        UserIndex = "user_index",
        /// A type this build does not know.
        Unknown = "unknown",
    }
}

impl RecordType {
    /// The schema version this build writes for the type.
    ///
    /// - 1: the first schema of every type.
    /// - 2 (order, order commercial side, purchase order): the order follow-up added
    ///   collections — to the order `handover_items`, `handover_decisions`, `packaging`,
    ///   `week_planned` and `week_actual`; to the commercial side `review` and
    ///   `cost_sheet_signers`; to the purchase order `corrections`.
    pub fn current_schema(self) -> u64 {
        match self {
            RecordType::Unknown => 0,
            RecordType::Order | RecordType::OrderCommercial | RecordType::PurchaseOrder => 2,
            _ => 1,
        }
    }
}

/// The largest saved document this build will load, in bytes.
pub const DOCUMENT_BYTES_MAX: usize = 64 * 1024 * 1024;

/// What can go wrong creating, loading or editing a record.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// Automerge refused an operation or could not load bytes.
    #[error("document error: {0}")]
    Automerge(#[from] automerge::AutomergeError),
    /// The document's content does not have the shape of its record type.
    #[error("the record does not read as its type: {0}")]
    Hydrate(#[from] autosurgeon::HydrateError),
    /// A typed value could not be written into the document.
    #[error("the record could not be written: {0}")]
    Reconcile(#[from] autosurgeon::ReconcileError),
    /// The document holds another type of record than the operation expects.
    #[error("this is a {found} record, not a {expected}")]
    WrongType {
        /// The type the caller expected.
        expected: RecordType,
        /// The type at the document's root.
        found: RecordType,
    },
    /// The document has no known `type` at its root.
    #[error("the document has no known record type at its root")]
    NoType,
    /// The document was written by a newer schema than this build reads.
    #[error("the {record_type} record has schema {found}; this build reads up to {supported}")]
    SchemaTooNew {
        /// The record type.
        record_type: RecordType,
        /// The schema in the document.
        found: u64,
        /// The newest schema this build knows.
        supported: u64,
    },
    /// The bytes are not a document Automerge can use.
    #[error("{0}")]
    Malformed(crate::guard::GuardError),
    /// The saved document is larger than [`DOCUMENT_BYTES_MAX`].
    #[error("the document is {0} bytes; at most {DOCUMENT_BYTES_MAX} are allowed")]
    TooLarge(usize),
    /// The operation's input is invalid; every problem found is listed.
    #[error("invalid input: {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<Problem>),
    /// The operation is not allowed in the record's current state (a signed or approved
    /// record, a released PO…). The problem's `code` says why, stably (`record.signed`,
    /// `record.not_allowed.<why>`), with the values its message names in `params`; its
    /// message is the English text. See [`RecordError::not_allowed`].
    #[error("{}", .0.message)]
    NotAllowed(Problem),
    /// An operation could not be parsed.
    #[error("the operation could not be read: {0}")]
    BadOperation(String),
}

impl RecordError {
    /// A stable machine code for the kind of error (the problems of `Invalid` carry their
    /// own codes), for interfaces that say it in their own words.
    pub fn code(&self) -> &'static str {
        match self {
            RecordError::Automerge(_) => "document",
            RecordError::Hydrate(_) => "unreadable",
            RecordError::Reconcile(_) => "unwritable",
            RecordError::WrongType { .. } => "wrong_type",
            RecordError::NoType => "no_type",
            RecordError::SchemaTooNew { .. } => "schema_too_new",
            RecordError::Malformed(_) => "malformed",
            RecordError::TooLarge(_) => "too_large",
            RecordError::Invalid(_) => "invalid",
            RecordError::NotAllowed(_) => "not_allowed",
            RecordError::BadOperation(_) => "bad_operation",
        }
    }

    /// A `NotAllowed` error: `code` is stable (`record.signed`, `record.not_allowed.<why>`),
    /// `message` the English text; add the values it names with [`RecordError::with_param`].
    pub fn not_allowed(code: &str, message: impl Into<String>) -> Self {
        RecordError::NotAllowed(Problem::new("record", message).with_code(code))
    }

    /// The same error with one more named value for its code's message (a `NotAllowed`
    /// refusal); other errors are returned unchanged.
    #[must_use]
    pub fn with_param(self, name: &str, value: impl ToString) -> Self {
        match self {
            RecordError::NotAllowed(p) => RecordError::NotAllowed(p.with_param(name, value)),
            other => other,
        }
    }

    /// The problems an interface shows for this error, each with its code: those of
    /// `Invalid`, the one of `NotAllowed`; none for the other kinds.
    pub fn problems(&self) -> &[Problem] {
        match self {
            RecordError::Invalid(p) => p,
            RecordError::NotAllowed(p) => std::slice::from_ref(p),
            _ => &[],
        }
    }

    /// An `Invalid` error with one problem.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        RecordError::Invalid(vec![Problem::new(field, message)])
    }
}

/// Returns `Ok(())` when no problems were found, else every problem as one error.
pub(crate) fn problems_to_result(problems: Vec<Problem>) -> Result<(), RecordError> {
    if problems.is_empty() {
        Ok(())
    } else {
        Err(RecordError::Invalid(problems))
    }
}

/// The keys every record has at its root: its type and schema, who created it, and the
/// scope fields the server decides access by.
#[derive(Debug, Clone, Default, PartialEq, Hydrate, Reconcile, Serialize, serde::Deserialize)]
pub struct RecordHeader {
    /// The record type.
    #[autosurgeon(missing = "Default::default", rename = "type")]
    #[serde(rename = "type")]
    pub record_type: RecordType,
    /// The schema version the record was last upgraded to.
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
    /// Users assigned to the record (the key is the username; the value is always true).
    #[autosurgeon(missing = "Default::default")]
    pub assignees: std::collections::BTreeMap<String, bool>,
    /// The supplier factory the record concerns, if any.
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub factory: String,
    /// The warehouse the record concerns, if any.
    #[autosurgeon(
        missing = "Default::default",
        hydrate = "crate::common::text_or_string"
    )]
    pub warehouse: String,
}

/// One record: an Automerge document with its type known.
#[derive(Debug, Clone)]
pub struct Record {
    doc: AutoCommit,
    record_type: RecordType,
}

/// Builds an actor id from bytes the caller chose (a device id plus a random suffix): the
/// core never draws random numbers itself.
pub fn actor_from_bytes(bytes: &[u8]) -> ActorId {
    ActorId::from(bytes)
}

impl Record {
    /// Creates a new record of `record_type` whose root holds `initial`, a typed value of
    /// that record (every collection map is created here, in the first change, so devices
    /// that later add to them concurrently never race to create them).
    pub fn create<T: Reconcile>(
        record_type: RecordType,
        actor: ActorId,
        ctx: &EditContext,
        initial: &T,
    ) -> Result<Self, RecordError> {
        let mut doc = AutoCommit::new().with_actor(actor);
        autosurgeon::reconcile(&mut doc, initial)?;
        doc.put(ROOT, "type", record_type.as_str())?;
        doc.put(ROOT, "schema", record_type.current_schema() as i64)?;
        doc.put(ROOT, "created_by", ctx.user.as_str())?;
        doc.put(ROOT, "created_at_ms", ctx.now_ms)?;
        ensure_map(&mut doc, &ROOT, "assignees")?;
        let mut record = Record { doc, record_type };
        record.commit(ctx, "create");
        Ok(record)
    }

    /// Loads a saved record. Reading is lenient: an older schema reads with its missing
    /// parts defaulted; [`Record::upgrade`] writes them (a change, so the caller decides).
    pub fn load(bytes: &[u8], actor: ActorId) -> Result<Self, RecordError> {
        if bytes.len() > DOCUMENT_BYTES_MAX {
            return Err(RecordError::TooLarge(bytes.len()));
        }
        // Through the guard: bytes from storage, a backup or a peer may be corrupt in ways
        // Automerge 0.12 panics on (see `guard`).
        let doc = crate::guard::load_walked(bytes)
            .map_err(RecordError::Malformed)?
            .with_actor(actor);
        Self::from_doc(doc).map_err(|b| b.1)
    }

    /// Wraps a document that is already in memory (e.g. synced in), checking its type. On
    /// error the document is handed back.
    pub fn from_doc(doc: AutoCommit) -> Result<Self, Box<(AutoCommit, RecordError)>> {
        let Some(record_type) = read_type(&doc) else {
            return Err(Box::new((doc, RecordError::NoType)));
        };
        let schema = read_schema(&doc);
        let supported = record_type.current_schema();
        if schema > supported {
            return Err(Box::new((
                doc,
                RecordError::SchemaTooNew {
                    record_type,
                    found: schema,
                    supported,
                },
            )));
        }
        Ok(Record { doc, record_type })
    }

    /// Upgrades an older schema in place (no-op when current). Returns whether anything
    /// changed. Upgrades only add missing collections and keys; they never rewrite data.
    /// See [`upgrade_doc`]: the change is the same wherever the same state is upgraded.
    ///
    /// Every step so far (0 → 1: no `schema` key, written by hand or an early client;
    /// 1 → 2: the order follow-up collections, see [`RecordType::current_schema`]) only
    /// adds collection maps, so one pass makes sure every collection of the type exists.
    /// The server runs it before it edits a record and after it accepts a device's change
    /// to one, so the maps exist once, on the server, before devices add to them: two
    /// devices that each created a missing map offline would write two maps under one
    /// key, and the merge would keep only one.
    pub fn upgrade(&mut self) -> Result<bool, RecordError> {
        Ok(upgrade_doc(&mut self.doc, self.record_type)?.is_some())
    }

    /// The record's type.
    pub fn record_type(&self) -> RecordType {
        self.record_type
    }

    /// Fails unless the record is of `expected` type.
    pub fn expect_type(&self, expected: RecordType) -> Result<(), RecordError> {
        if self.record_type == expected {
            Ok(())
        } else {
            Err(RecordError::WrongType {
                expected,
                found: self.record_type,
            })
        }
    }

    /// The header keys every record has.
    pub fn header(&self) -> Result<RecordHeader, RecordError> {
        Ok(autosurgeon::hydrate(&CachedRead::new(&self.doc))?)
    }

    /// Reads the whole record as the typed value `T`.
    pub fn read<T: Hydrate>(&self) -> Result<T, RecordError> {
        Ok(autosurgeon::hydrate(&CachedRead::new(&self.doc))?)
    }

    /// The underlying document.
    pub fn doc(&self) -> &AutoCommit {
        &self.doc
    }

    /// The underlying document, to edit or sync.
    pub fn doc_mut(&mut self) -> &mut AutoCommit {
        &mut self.doc
    }

    /// Takes the underlying document.
    pub fn into_doc(self) -> AutoCommit {
        self.doc
    }

    /// The document's current heads.
    pub fn heads(&mut self) -> Vec<ChangeHash> {
        self.doc.get_heads()
    }

    /// Saves the whole document, compacted.
    pub fn save(&mut self) -> Vec<u8> {
        self.doc.save()
    }

    /// The document's bytes in a canonical form: every change, in a topological order that
    /// breaks ties by change hash, saved from a fresh document. Two replicas that hold the
    /// same changes give identical bytes whatever order they received them in (a plain
    /// [`Record::save`] keeps each replica's own arrival order).
    pub fn canonical_bytes(&mut self) -> Result<Vec<u8>, RecordError> {
        canonical_bytes(&mut self.doc)
    }

    /// Merges another replica of the same record into this one.
    pub fn merge(&mut self, other: &mut Record) -> Result<(), RecordError> {
        self.doc.merge(&mut other.doc)?;
        Ok(())
    }

    /// Commits pending operations as one change, stamped with the edit's time and a message
    /// naming the user and the operation.
    pub fn commit(&mut self, ctx: &EditContext, what: &str) -> Option<ChangeHash> {
        let message = format!("{}: {what}", ctx.user);
        self.doc.commit_with(
            CommitOptions::default()
                .with_message(message)
                .with_time(ctx.now_ms / 1000),
        )
    }

    /// Runs `edit` and commits it as one change; on error every pending operation of the
    /// edit is rolled back, so a refused operation leaves the document as it was.
    pub fn edit<F>(&mut self, ctx: &EditContext, what: &str, edit: F) -> Result<(), RecordError>
    where
        F: FnOnce(&mut AutoCommit) -> Result<(), RecordError>,
    {
        match edit(&mut self.doc) {
            Ok(()) => {
                self.commit(ctx, what);
                Ok(())
            }
            Err(e) => {
                self.doc.rollback();
                Err(e)
            }
        }
    }

    /// Adds `user` to the record's assignees.
    pub fn assign(&mut self, ctx: &EditContext, user: &str) -> Result<(), RecordError> {
        if user.trim().is_empty() {
            return Err(RecordError::invalid("assignee", "is required"));
        }
        self.edit(ctx, "assign", |doc| {
            let assignees = ensure_map(doc, &ROOT, "assignees")?;
            doc.put(&assignees, user, true)?;
            Ok(())
        })
    }

    /// Removes `user` from the record's assignees.
    pub fn unassign(&mut self, ctx: &EditContext, user: &str) -> Result<(), RecordError> {
        self.edit(ctx, "unassign", |doc| {
            let assignees = ensure_map(doc, &ROOT, "assignees")?;
            doc.delete(&assignees, user)?;
            Ok(())
        })
    }
}

/// The top-level collection maps of each record type, created with the record.
pub(crate) fn collection_keys(record_type: RecordType) -> &'static [&'static str] {
    match record_type {
        RecordType::Inspection => crate::inspection::COLLECTIONS,
        RecordType::StockCount => crate::stock_count::COLLECTIONS,
        RecordType::ShipmentCheck => crate::shipment::COLLECTIONS,
        RecordType::Order => crate::order::ORDER_COLLECTIONS,
        RecordType::OrderCommercial => crate::order::COMMERCIAL_COLLECTIONS,
        RecordType::PurchaseOrder => crate::purchase_order::COLLECTIONS,
        RecordType::Approval => crate::approval::COLLECTIONS,
        RecordType::UserIndex | RecordType::Unknown => &[],
    }
}

/// The record type at a document's root, if it is one this build knows.
pub fn read_type<D: ReadDoc>(doc: &D) -> Option<RecordType> {
    match doc.get(ROOT, "type").ok().flatten() {
        Some((automerge::Value::Scalar(s), _)) => match s.as_ref() {
            automerge::ScalarValue::Str(t) => t.parse().ok(),
            _ => None,
        },
        // automerge-js writes strings as collaborative text by default.
        Some((automerge::Value::Object(ObjType::Text), id)) => doc.text(&id).ok()?.parse().ok(),
        _ => None,
    }
}

/// The header of a document that reads as a record.
pub fn read_header<D: ReadDoc + autosurgeon::ReadDoc>(doc: &D) -> Option<RecordHeader> {
    read_type(doc)?;
    autosurgeon::hydrate(&CachedRead::new(doc)).ok()
}

/// The schema version at a document's root (0 when missing).
pub fn read_schema<D: ReadDoc>(doc: &D) -> u64 {
    match doc.get(ROOT, "schema").ok().flatten() {
        Some((automerge::Value::Scalar(s), _)) => match s.as_ref() {
            automerge::ScalarValue::Int(i) => u64::try_from(*i).unwrap_or(0),
            automerge::ScalarValue::Uint(u) => *u,
            automerge::ScalarValue::F64(f) if *f >= 0.0 => *f as u64,
            _ => 0,
        },
        _ => 0,
    }
}

/// The message of a schema upgrade's change.
pub const UPGRADE_MESSAGE: &str = "server: upgrade schema";

/// Upgrades `doc`, a record of `record_type`, to the type's current schema (see
/// [`Record::upgrade`]); `None` when it is current already. Idempotent, and deterministic:
/// the change is made by an actor derived from the document's heads and the target
/// schema, timed as the latest head, with a fixed message — every byte follows from the
/// state upgraded. Two servers (or a server and a device) that upgrade the same state
/// concurrently make the very same change, with one hash, so the merge holds one set of
/// collection maps, not two under each key of which only one would be kept. The
/// document's own actor is restored afterwards.
pub fn upgrade_doc(
    doc: &mut AutoCommit,
    record_type: RecordType,
) -> Result<Option<ChangeHash>, RecordError> {
    let current = record_type.current_schema();
    if read_schema(doc) >= current {
        return Ok(None);
    }
    // Pending operations belong to the caller's actor: commit them as they are.
    if doc.pending_ops() > 0 {
        doc.commit();
    }
    let heads = doc.get_heads();
    let time_s = heads
        .iter()
        .filter_map(|h| doc.get_change_by_hash(h).map(|c| c.timestamp()))
        .max()
        .unwrap_or(0);
    let previous = doc.get_actor().clone();
    doc.set_actor(upgrade_actor(&heads, current));
    let written = (|| {
        ensure_map(doc, &ROOT, "assignees")?;
        for key in collection_keys(record_type) {
            ensure_map(doc, &ROOT, key)?;
        }
        doc.put(ROOT, "schema", current as i64)?;
        Ok::<(), RecordError>(())
    })();
    let hash = match written {
        Ok(()) => doc.commit_with(
            CommitOptions::default()
                .with_message(UPGRADE_MESSAGE)
                .with_time(time_s),
        ),
        Err(e) => {
            doc.rollback();
            doc.set_actor(previous);
            return Err(e);
        }
    };
    doc.set_actor(previous);
    Ok(hash)
}

/// The actor of the upgrade of the state at `heads` to `schema`: the heads' hashes folded
/// into 16 bytes, marked with the schema. Distinct states give distinct actors, so one
/// actor never makes two different changes with the same sequence number.
fn upgrade_actor(heads: &[ChangeHash], schema: u64) -> ActorId {
    let mut bytes = [0u8; 16];
    for (i, head) in heads.iter().enumerate() {
        for (j, b) in head.0.iter().enumerate() {
            // Rotate by the head's position so the fold depends on every head.
            let k = (j + i) % 16;
            bytes[k] = bytes[k].rotate_left(1) ^ b;
        }
    }
    bytes[0] ^= 0x47; // "G": an upgrade actor
    bytes[15] ^= schema.to_le_bytes()[0];
    ActorId::from(bytes.as_slice())
}

/// The map at `obj[key]`, created if it is missing.
pub(crate) fn ensure_map(
    doc: &mut AutoCommit,
    obj: &ObjId,
    key: &str,
) -> Result<ObjId, RecordError> {
    match doc.get(obj, key)? {
        Some((automerge::Value::Object(ObjType::Map), id)) => Ok(id),
        _ => Ok(doc.put_object(obj, key, ObjType::Map)?),
    }
}

/// The map at `obj[key]`, which must exist.
pub(crate) fn get_map<D: ReadDoc>(doc: &D, obj: &ObjId, key: &str) -> Option<ObjId> {
    match doc.get(obj, key).ok().flatten() {
        Some((automerge::Value::Object(ObjType::Map), id)) => Some(id),
        _ => None,
    }
}

/// The map of the item `id` in the collection `collection` at the root, which must exist.
pub(crate) fn item_map<D: ReadDoc>(
    doc: &D,
    collection: &str,
    id: &str,
) -> Result<ObjId, RecordError> {
    get_map(doc, &ROOT, collection)
        .and_then(|c| get_map(doc, &c, id))
        .ok_or_else(|| {
            RecordError::Invalid(vec![
                Problem::new(format!("{collection}.{id}"), "does not exist").with_code("not_found"),
            ])
        })
}

/// Whether the collection at the root already has an item `id`.
pub(crate) fn has_item<D: ReadDoc>(doc: &D, collection: &str, id: &str) -> bool {
    get_map(doc, &ROOT, collection)
        .map(|c| doc.get(&c, id).ok().flatten().is_some())
        .unwrap_or(false)
}

/// Adds `value` as a new entry `id` of the map `obj[collection]` (creating the map if an
/// old document lacks it), refusing ids that are malformed or already used and
/// collections that are full.
pub(crate) fn insert_item<T: Reconcile>(
    doc: &mut AutoCommit,
    obj: &ObjId,
    collection: &str,
    id: &str,
    value: &T,
    max_items: usize,
) -> Result<(), RecordError> {
    if !crate::common::is_valid_item_id(id) {
        return Err(RecordError::invalid(
            format!("{collection}.id"),
            format!("{id:?} is not a valid id (1–64 of A–Z a–z 0–9 _ - . :)"),
        ));
    }
    let map = ensure_map(doc, obj, collection)?;
    if doc.get(&map, id)?.is_some() {
        return Err(RecordError::invalid(
            format!("{collection}.{id}"),
            "already exists",
        ));
    }
    if doc.length(&map) >= max_items {
        return Err(RecordError::invalid(
            collection,
            format!("holds {max_items} items, the most allowed"),
        ));
    }
    autosurgeon::reconcile_prop(doc, &map, id, value)?;
    Ok(())
}

/// Writes a typed value at `obj[key]` (a scalar or a small struct), touching only what
/// differs from what is there.
pub(crate) fn put_value<T: Reconcile>(
    doc: &mut AutoCommit,
    obj: &ObjId,
    key: &str,
    value: T,
) -> Result<(), RecordError> {
    autosurgeon::reconcile_prop(doc, obj, key, value)?;
    Ok(())
}

/// Adds 1 (or `by`) to the counter at `obj[key]`, creating it when missing.
pub(crate) fn increment(
    doc: &mut AutoCommit,
    obj: &ObjId,
    key: &str,
    by: i64,
) -> Result<(), RecordError> {
    match doc.get(obj, key)? {
        Some((automerge::Value::Scalar(s), _))
            if matches!(s.as_ref(), automerge::ScalarValue::Counter(_)) =>
        {
            doc.increment(obj, key, by)?;
        }
        _ => {
            doc.put(obj, key, automerge::ScalarValue::counter(by))?;
        }
    }
    Ok(())
}

/// Parses an operation from JSON, naming what was wrong.
pub fn parse_op<T: serde::de::DeserializeOwned>(json: &str) -> Result<T, RecordError> {
    serde_json::from_str(json).map_err(|e| RecordError::BadOperation(e.to_string()))
}

/// See [`Record::canonical_bytes`].
pub fn canonical_bytes(doc: &mut AutoCommit) -> Result<Vec<u8>, RecordError> {
    use std::collections::{BTreeMap, BTreeSet, HashMap};
    let changes = doc.get_changes(&[]);
    let by_hash: HashMap<ChangeHash, &automerge::Change> =
        changes.iter().map(|c| (c.hash(), c)).collect();
    // Kahn's algorithm over the dependency graph; the ready set is ordered by hash.
    let mut waiting: HashMap<ChangeHash, usize> = HashMap::new();
    let mut dependents: BTreeMap<ChangeHash, Vec<ChangeHash>> = BTreeMap::new();
    let mut ready: BTreeSet<ChangeHash> = BTreeSet::new();
    for c in &changes {
        let deps = c.deps().iter().filter(|d| by_hash.contains_key(d)).count();
        waiting.insert(c.hash(), deps);
        for d in c.deps() {
            dependents.entry(*d).or_default().push(c.hash());
        }
        if deps == 0 {
            ready.insert(c.hash());
        }
    }
    let mut fresh = AutoCommit::new();
    let mut ordered = Vec::with_capacity(changes.len());
    while let Some(h) = ready.pop_first() {
        ordered.push(by_hash[&h].clone());
        for d in dependents.get(&h).map(Vec::as_slice).unwrap_or(&[]) {
            let n = waiting
                .get_mut(d)
                .expect("every dependent is a known change");
            *n -= 1;
            if *n == 0 {
                ready.insert(*d);
            }
        }
    }
    fresh.apply_changes(ordered)?;
    Ok(fresh.save())
}
