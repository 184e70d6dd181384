//! `write_check`: the server's check of an incoming change set ([`changed_paths`] +
//! [`check_write`]) against raw edits by random users.
//!
//! A stored record (an inspection, a stock count or an approval request, each made with the
//! core's own `create` and a few later edits by other users) is the server's copy. A device
//! forks it — at its latest heads, or at its creation, so that its edits are concurrent with
//! the later ones — makes raw [`Edit`]s (and optionally a second device makes more,
//! concurrently), and the server checks the merged result as acting user `who`.
//!
//! Asserted, whenever the check accepts the change set (oracles written from DESIGN.md §3,
//! independently of `access.rs`; what changed is found by comparing the visible states
//! before and after, not with `changed_paths`):
//!
//! * nothing panics;
//! * the user has write access to the record as it was ([`may_write`]);
//! * `type` is unchanged: not deleted, no other value, no conflicting value that differs;
//! * a user outside the office changed none of `type`, `created_by`, `created_at_ms`,
//!   `assignees`, `factory`, `warehouse`;
//! * a warehouse clerk changed a stock count only in their own count entries and own
//!   submission, in lines they added, and in the other fields (not `expected`, `round`,
//!   `safety_stock`) of existing lines — never another clerk's entry, never an existing
//!   line as a whole (deleting or replacing it drops the office's expected quantity and
//!   the other clerks' counts);
//! * approval decisions changed only under the user's own key (`<step>:<user>`).

use std::collections::BTreeMap;
use std::rc::Rc;

use arbitrary::{Arbitrary, Unstructured};
use automerge::{ActorId, AutoCommit, ChangeHash};
use gendan_core::Record;
use gendan_core::access::{Principal, Role, changed_paths, check_write};
use gendan_core::approval::{self, NewApproval};
use gendan_core::common::EditContext;
use gendan_core::inspection::{self, InspectionOp, NewInspection};
use gendan_core::record::{RecordHeader, RecordType, actor_from_bytes};
use gendan_core::stock_count::{self, NewLine, NewStockCount, StockCountOp};

use crate::edits::{self, Edit, FlatPath};

/// The users a fuzz input picks from (valid usernames: no `:`).
pub const USERS: &[&str] = &["office", "qc1", "qc2", "c1", "c2", "m1"];
const FACTORIES: &[Option<&str>] = &[None, Some("F1"), Some("F2"), Some("")];
const WAREHOUSES: &[Option<&str>] = &[None, Some("W1"), Some("W2"), Some("")];

/// Root keys only the office may change.
pub const PROTECTED_KEYS: &[&str] = &[
    "type",
    "created_by",
    "created_at_ms",
    "assignees",
    "factory",
    "warehouse",
];

/// The most edits one device makes in one input.
pub const EDITS_MAX: usize = 32;

/// Who acts: indexes into the pools above (modulo their lengths).
#[derive(Debug, Clone, Arbitrary)]
pub struct Who {
    /// Into [`USERS`].
    pub user: u8,
    /// Into [`Role::ALL`].
    pub role: u8,
    /// Into the factories.
    pub factory: u8,
    /// Into the warehouses.
    pub warehouse: u8,
}

impl Who {
    /// The principal.
    pub fn principal(&self) -> Principal {
        Principal {
            user: USERS[self.user as usize % USERS.len()].to_string(),
            role: Role::ALL[self.role as usize % Role::ALL.len()],
            factory: FACTORIES[self.factory as usize % FACTORIES.len()].map(str::to_string),
            warehouse: WAREHOUSES[self.warehouse as usize % WAREHOUSES.len()].map(str::to_string),
            titles: Vec::new(),
        }
    }
}

/// One fuzz input.
#[derive(Debug, Clone, Arbitrary)]
pub struct Input {
    /// Which stored record: inspection, stock count, approval (modulo 3).
    pub record: u8,
    /// Who sends the change set.
    pub who: Who,
    /// Whether the device's edits start from the record as created (concurrent with the
    /// later edits on the server) rather than from its latest state.
    pub from_creation: bool,
    /// The device's actor id is 16 times this byte.
    pub actor: u8,
    /// The device's edits.
    pub edits: Vec<Edit>,
    /// Edits by a second device of the same user, concurrent with the first's.
    pub concurrent: Vec<Edit>,
}

/// A stored record and the heads it had right after it was created.
#[derive(Debug, Clone)]
pub struct Fixture {
    /// The record as the server holds it.
    pub record: Record,
    /// Its heads right after creation (before the later edits).
    pub created_heads: Vec<ChangeHash>,
}

/// A fixture with what every input needs of it, computed once (forking and flattening
/// take milliseconds: more than the rest of an input).
#[derive(Debug, Clone)]
struct Prepared {
    record: Record,
    header: RecordHeader,
    heads: Vec<ChangeHash>,
    /// Forks at the latest heads and at creation, for the devices.
    fork_latest: AutoCommit,
    fork_created: AutoCommit,
    flat: BTreeMap<FlatPath, String>,
}

fn prepare(f: Fixture) -> Prepared {
    let mut record = f.record;
    let heads = record.heads();
    let fork_latest = record.doc_mut().fork_at(&heads).expect("fork at latest");
    let fork_created = record
        .doc_mut()
        .fork_at(&f.created_heads)
        .expect("fork at creation");
    Prepared {
        header: record.header().expect("fixture header"),
        flat: edits::flatten(record.doc()),
        record,
        heads,
        fork_latest,
        fork_created,
    }
}

fn office(now_ms: i64) -> EditContext {
    EditContext::new("office", now_ms)
}

/// The stored records: an inspection, a stock count, an approval request.
pub fn fixtures() -> Vec<Fixture> {
    let server = actor_from_bytes(&[1; 16]);
    let mut insp = inspection::create(
        &NewInspection {
            title: "Final inspection".into(),
            factory: "F1".into(),
            lot_size: 500,
            assignees: vec!["qc1".into()],
            ..NewInspection::default()
        },
        server.clone(),
        &office(1),
    )
    .expect("inspection fixture");
    let insp_created = insp.heads();
    let qc1 = EditContext::new("qc1", 2);
    inspection::apply(
        &mut insp,
        &InspectionOp::AddDefect {
            id: "d1".into(),
            class: Default::default(),
            description: "open seam".into(),
            position: "left side".into(),
            qty: 2,
        },
        &qc1,
    )
    .expect("add defect");
    insp.assign(&office(3), "qc2").expect("assign");

    let mut lines = BTreeMap::new();
    for (id, sku, expected) in [("l1", "S1", 5), ("l2", "S2", 7)] {
        lines.insert(
            id.to_string(),
            NewLine {
                sku: sku.into(),
                expected,
                safety_stock: 2,
                ..NewLine::default()
            },
        );
    }
    let mut count = stock_count::create(
        &NewStockCount {
            title: "Monthly count".into(),
            warehouse: "W1".into(),
            assignees: vec!["c1".into()],
            lines,
            ..NewStockCount::default()
        },
        server.clone(),
        &office(1),
    )
    .expect("stock count fixture");
    let count_created = count.heads();
    for (user, qty) in [("c1", 4), ("c2", 6)] {
        stock_count::apply(
            &mut count,
            &StockCountOp::SetCount {
                line: "l1".into(),
                qty,
            },
            &EditContext::new(user, 2),
        )
        .expect("set count");
    }

    let mut appr = approval::create(
        &NewApproval {
            subject: "Price change".into(),
            steps: vec![("merchandiser".into(), 1), ("approver".into(), 2)],
            ..NewApproval::default()
        },
        server,
        &office(1),
    )
    .expect("approval fixture");
    let appr_created = appr.heads();
    approval::decide(
        &mut appr,
        "s1",
        true,
        "",
        &["merchandiser"],
        &EditContext::new("m1", 2),
    )
    .expect("decide");

    vec![
        Fixture {
            record: insp,
            created_heads: insp_created,
        },
        Fixture {
            record: count,
            created_heads: count_created,
        },
        Fixture {
            record: appr,
            created_heads: appr_created,
        },
    ]
}

thread_local! {
    static PREPARED: Vec<Rc<Prepared>> = fixtures().into_iter().map(|f| Rc::new(prepare(f))).collect();
}

/// Runs the target on one input.
pub fn run(data: &[u8]) {
    crate::known::install_hook();
    let _ = outcome(data);
}

/// What became of one input (for choosing seeds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The input did not decode, or the device's changes could not be merged.
    Skipped,
    /// The check refused the change set.
    Rejected,
    /// The check accepted a change set that changed this many places.
    Accepted(usize),
}

/// Runs the target on one input and says what became of it.
pub fn outcome(data: &[u8]) -> Outcome {
    let u = Unstructured::new(data);
    match Input::arbitrary_take_rest(u) {
        Ok(input) => check(&input),
        Err(_) => Outcome::Skipped,
    }
}

/// Applies `edits` to `fork` with `actor`, and commits.
fn device_changes(fork: &AutoCommit, actor: ActorId, edits: &[Edit]) -> AutoCommit {
    let mut dev = fork.clone().with_actor(actor);
    for e in edits.iter().take(EDITS_MAX) {
        edits::apply(&mut dev, e);
    }
    dev.commit();
    dev
}

/// Runs one input (panics on a finding).
pub fn check(input: &Input) -> Outcome {
    let fixture = PREPARED.with(|f| f[input.record as usize % f.len()].clone());
    let kind = fixture.record.record_type();
    let p = input.who.principal();
    let header = &fixture.header;
    let before_heads = &fixture.heads;
    let fork = if input.from_creation {
        &fixture.fork_created
    } else {
        &fixture.fork_latest
    };

    let mut after = fixture.record.clone();
    let actor = actor_from_bytes(&[input.actor; 16]);
    let mut dev = device_changes(fork, actor, &input.edits);
    if after.doc_mut().merge(&mut dev).is_err() {
        // E.g. the device reused the server's actor id: Automerge refuses the merge.
        return Outcome::Skipped;
    }
    if !input.concurrent.is_empty() {
        let actor = actor_from_bytes(&[input.actor ^ 0x80; 16]);
        let mut dev2 = device_changes(fork, actor, &input.concurrent);
        if after.doc_mut().merge(&mut dev2).is_err() {
            return Outcome::Skipped;
        }
    }
    let after_heads = after.heads();
    let paths = changed_paths(after.doc_mut(), before_heads, &after_heads);
    let verdict = check_write(&p, Some(header), &after, &paths);
    if verdict.is_err() {
        return Outcome::Rejected;
    }

    // Accepted: the oracles.
    let flat_before = &fixture.flat;
    let flat_after = edits::flatten(after.doc());
    let diff = edits::changed(flat_before, &flat_after);
    let context = || {
        format!(
            "\nprincipal: {p:?}\nrecord: {kind}\nchanged (by state): {:?}\nchanged_paths: {paths:?}",
            diff.iter().map(|d| edits::show(d)).collect::<Vec<_>>()
        )
    };
    assert!(
        may_write(&p, header, kind),
        "accepted a change by a user without write access{}",
        context()
    );
    let found = violations(&p, kind, flat_before, &flat_after, &diff);
    if !found.is_empty() && !crate::known::all_known_violations(&found) {
        panic!("accepted a change to {}{}", found.join("; "), context());
    }
    Outcome::Accepted(diff.len())
}

/// Whether `p` may write the record whose header is `h` (DESIGN.md §3), for the record types
/// of the fixtures.
pub fn may_write(p: &Principal, h: &RecordHeader, kind: RecordType) -> bool {
    let assigned = h.assignees.get(&p.user) == Some(&true);
    let creator = h.created_by == p.user;
    let own_warehouse = p
        .warehouse
        .as_deref()
        .is_some_and(|w| !w.is_empty() && w == h.warehouse);
    match (p.role, kind) {
        (Role::Admin | Role::Merchandiser | Role::Sales | Role::Approver, _) => true,
        (Role::Qc, RecordType::Inspection) => assigned || creator,
        (Role::Warehouse, RecordType::StockCount) => assigned || creator || own_warehouse,
        _ => false,
    }
}

/// Whether `key` is `user`'s own per-user key: the username, or `<prefix>:<username>`.
fn own_key(key: &str, user: &str) -> bool {
    key == user || key.strip_suffix(user).is_some_and(|k| k.ends_with(':'))
}

/// Every change the oracles forbid for `p` (as text for the panic message).
pub fn violations(
    p: &Principal,
    kind: RecordType,
    before: &BTreeMap<FlatPath, String>,
    after: &BTreeMap<FlatPath, String>,
    diff: &[&FlatPath],
) -> Vec<String> {
    let type_value = before.get(&vec![("type".to_string(), 0)]);
    let office = p.role.is_office();
    let existed =
        |line: &str| before.contains_key(&vec![("lines".to_string(), 0), (line.to_string(), 0)]);
    // Existing lines deleted or replaced as a whole: what changed inside them follows.
    let whole_lines: Vec<&str> = diff
        .iter()
        .filter(|p| p.len() == 2 && p[0].0 == "lines" && existed(&p[1].0))
        .map(|p| p[1].0.as_str())
        .collect();
    let mut found = Vec::new();
    for path in diff {
        let name = |i: usize| path.get(i).map(|(k, _)| k.as_str());
        let Some(root) = name(0) else { continue };
        if kind == RecordType::StockCount
            && p.role == Role::Warehouse
            && root == "lines"
            && path.len() > 2
            && whole_lines.contains(&path[1].0.as_str())
        {
            continue;
        }
        let what: Option<&str> =
            if root == "type" && (path.len() > 1 || after.get(*path) != type_value) {
                // `type` may gain a conflicting value only if it is the same type (two
                // histories of the same record merged); it may never change or go.
                Some("`type`")
            } else if !office && PROTECTED_KEYS.contains(&root) {
                Some("a scope key by a non-office user")
            } else {
                match (kind, p.role) {
                    (RecordType::StockCount, Role::Warehouse) => match (root, name(1)) {
                        ("lines", None) => Some("the lines map itself"),
                        // A line the clerk added: theirs.
                        ("lines", Some(line)) if !existed(line) => None,
                        ("lines", Some(_)) => match (name(2), name(3)) {
                            (None, _) => Some("an existing line as a whole"),
                            (Some("expected" | "round" | "safety_stock"), _) => {
                                Some("an office field of a line")
                            }
                            (Some("entries"), Some(k)) if own_key(k, &p.user) => None,
                            (Some("entries"), _) => Some("another clerk's count"),
                            (Some(_), _) => None,
                        },
                        ("submissions", Some(k)) if own_key(k, &p.user) => None,
                        ("submissions", _) => Some("another clerk's submission"),
                        _ => Some("an office part of a stock count"),
                    },
                    (RecordType::Approval, _) => match (root, name(1)) {
                        ("decisions", Some(k)) if own_key(k, &p.user) => None,
                        ("decisions", _) => Some("another user's decision"),
                        _ if office => None,
                        _ => Some("an approval request by a non-office user"),
                    },
                    _ => None,
                }
            };
        if let Some(what) = what {
            found.push(format!("{what} ({})", edits::show(path)));
        }
    }
    found
}
