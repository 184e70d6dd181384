//! Writes the seed corpora under `corpus/<target>/` (run from `fuzz/`:
//! `cargo run --example seeds --no-default-features`). Deterministic: running it again
//! rewrites the same files. The fuzzer's own finds stay in a scratch corpus (see the
//! Makefile), so the committed corpus stays small.
//!
//! * `frame_decode`: every message type as `encode` writes it, and lenient forms a JS peer
//!   may send (indefinite-length map, null optional fields, a float count, bytes document
//!   id, unknown keys and types).
//! * `document_load`: saved records of every type made with the core's `create` and edited
//!   with its operations, the same as incremental change chunks, and a record of a newer
//!   schema.
//! * `write_check`, `hub`: pseudo-random inputs, kept when they reach an interesting
//!   outcome (accepted and rejected change sets, of every record type).
#![allow(clippy::print_stdout)]

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use automerge::ROOT;
use automerge::transaction::Transactable;
use gendan_core::Record;
use gendan_core::common::EditContext;
use gendan_core::ops::apply_json;
use gendan_core::protocol::{
    DocumentId, Message, PeerId, PeerMetadata, RemoteHeads, SessionId, StorageId, encode,
};
use gendan_core::record::actor_from_bytes;
use gendan_core::{approval, inspection, order, purchase_order, shipment, stock_count};
use gendan_fuzz::{edits, hub, write_check};

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let frames = frame_seeds();
    write_all(&root.join("frame_decode"), &frames);
    let docs = document_seeds();
    write_all(&root.join("document_load"), &docs);
    let mut wc = write_check_crafted();
    wc.extend(write_check_seeds());
    write_all(&root.join("write_check"), &wc);
    write_all(&root.join("hub"), &hub_seeds());
}

fn write_all(dir: &PathBuf, seeds: &[(String, Vec<u8>)]) {
    fs::create_dir_all(dir).expect("create corpus dir");
    for (name, bytes) in seeds {
        fs::write(dir.join(name), bytes).expect("write seed");
    }
    println!("{}: {} seeds", dir.display(), seeds.len());
}

fn peer(s: &str) -> PeerId {
    PeerId::new(s)
}

fn frame_seeds() -> Vec<(String, Vec<u8>)> {
    let doc = DocumentId::from_bytes([7; 16]);
    let meta = Some(PeerMetadata {
        storage_id: Some(StorageId::new("storage-1")),
        is_ephemeral: false,
    });
    let mut new_heads = BTreeMap::new();
    new_heads.insert(
        StorageId::new("storage-1"),
        RemoteHeads {
            heads: vec!["2W8ryTMpUdX8ybqxYwb6ShtGZaX5Q1Xc5yFXxMyXfVkp".into()],
            timestamp: 1_767_225_600_000,
        },
    );
    let messages = [
        (
            "join",
            Message::Join {
                sender_id: peer("dev-1"),
                peer_metadata: Some(PeerMetadata {
                    storage_id: None,
                    is_ephemeral: true,
                }),
                supported_protocol_versions: vec!["1".into()],
            },
        ),
        (
            "peer",
            Message::Peer {
                sender_id: peer("server"),
                target_id: peer("dev-1"),
                selected_protocol_version: "1".into(),
                peer_metadata: meta.clone(),
            },
        ),
        (
            "leave",
            Message::Leave {
                sender_id: peer("dev-1"),
            },
        ),
        (
            "error",
            Message::Error {
                sender_id: Some(peer("server")),
                target_id: None,
                message: "unsupported protocol version".into(),
            },
        ),
        (
            "sync",
            Message::Sync {
                sender_id: peer("dev-1"),
                target_id: peer("server"),
                document_id: doc,
                data: vec![0x42, 0, 0, 1, 0],
            },
        ),
        (
            "request",
            Message::Request {
                sender_id: peer("dev-1"),
                target_id: peer("server"),
                document_id: doc,
                data: vec![0x42, 0, 0, 1, 0],
            },
        ),
        (
            "doc-unavailable",
            Message::DocUnavailable {
                sender_id: peer("server"),
                target_id: peer("dev-1"),
                document_id: doc,
            },
        ),
        (
            "ephemeral",
            Message::Ephemeral {
                sender_id: peer("dev-1"),
                target_id: peer("server"),
                document_id: doc,
                data: vec![0xa1, 0x61, 0x78, 0x01],
                count: 3,
                session_id: SessionId::new("session-1"),
            },
        ),
        (
            "remote-subscription-change",
            Message::RemoteSubscriptionChange {
                sender_id: peer("dev-1"),
                target_id: peer("server"),
                add: vec![StorageId::new("storage-1")],
                remove: vec![StorageId::new("storage-2")],
            },
        ),
        (
            "remote-heads-changed",
            Message::RemoteHeadsChanged {
                sender_id: peer("server"),
                target_id: peer("dev-1"),
                document_id: doc,
                new_heads,
            },
        ),
        (
            "unknown",
            Message::Unknown {
                type_name: "future-message".into(),
            },
        ),
    ];
    let mut out: Vec<(String, Vec<u8>)> = messages
        .iter()
        .map(|(name, m)| (format!("{name}.cbor"), encode(m)))
        .collect();
    // Lenient forms, written by hand in CBOR.
    let text = |s: &str| {
        let mut b = vec![0x60 + s.len() as u8];
        b.extend_from_slice(s.as_bytes());
        b
    };
    let mut join_indef = vec![0xbf];
    for (k, v) in [("type", "join"), ("senderId", "dev-1")] {
        join_indef.extend(text(k));
        join_indef.extend(text(v));
    }
    join_indef.extend(text("peerMetadata"));
    join_indef.push(0xf7); // undefined
    join_indef.extend(text("extra"));
    join_indef.extend([0x82, 0x01, 0xa0]); // [1, {}]
    join_indef.push(0xff);
    out.push(("join-indefinite-undefined-extra.cbor".into(), join_indef));
    // Ephemeral with a float64 count and the document id as 16 raw bytes.
    let mut eph = vec![0xa7];
    for (k, v) in [
        ("type", "ephemeral"),
        ("senderId", "dev-1"),
        ("targetId", "server"),
        ("sessionId", "s1"),
    ] {
        eph.extend(text(k));
        eph.extend(text(v));
    }
    eph.extend(text("documentId"));
    eph.push(0x50);
    eph.extend([7u8; 16]);
    eph.extend(text("data"));
    eph.extend([0x41, 0x00]);
    eph.extend(text("count"));
    eph.push(0xfb);
    eph.extend(3.0f64.to_be_bytes());
    out.push(("ephemeral-float-count-bytes-id.cbor".into(), eph));
    out
}

fn ctx(user: &str, now: i64) -> EditContext {
    EditContext::new(user, now)
}

fn op(r: &mut Record, json: &str, c: &EditContext) {
    apply_json(r, json, c).unwrap_or_else(|e| panic!("{json}: {e}"));
}

fn document_seeds() -> Vec<(String, Vec<u8>)> {
    let actor = |b: u8| actor_from_bytes(&[b; 16]);
    let mut out = Vec::new();

    // An inspection with defects, readings, a checklist result and an override.
    let mut points = BTreeMap::new();
    points.insert(
        "chest".to_string(),
        inspection::MeasurementPoint {
            name: "1/2 chest".into(),
            size: "M".into(),
            target: 52.0.into(),
            tol_minus: 1.0.into(),
            tol_plus: 1.0.into(),
            unit: "cm".into(),
        },
    );
    let mut insp = inspection::create(
        &inspection::NewInspection {
            title: "Final inspection".into(),
            order_no: "SO-1".into(),
            factory: "F1".into(),
            lot_size: 6400,
            assignees: vec!["qc1".into()],
            points,
            ..Default::default()
        },
        actor(1),
        &ctx("office", 1_000),
    )
    .expect("inspection");
    let qc = ctx("qc1", 2_000);
    op(
        &mut insp,
        r#"{"op":"add_defect","id":"d1","class":"major","description":"open seam","qty":2}"#,
        &qc,
    );
    op(
        &mut insp,
        r#"{"op":"tally_defect","id":"d1","delta":1}"#,
        &qc,
    );
    op(
        &mut insp,
        r#"{"op":"record_reading","id":"r1","point":"chest","piece":1,"value":52.4}"#,
        &qc,
    );
    op(
        &mut insp,
        r#"{"op":"set_check","item":"carton_drop","result":"fail","note":"corner crushed"}"#,
        &qc,
    );
    op(
        &mut insp,
        r#"{"op":"override_verdict","verdict":"pass","reason":"customer accepts"}"#,
        &ctx("office", 3_000),
    );
    let mut signed = insp.clone();
    op(
        &mut signed,
        r#"{"op":"sign_off","name":"QC One"}"#,
        &ctx("qc1", 4_000),
    );
    out.push(("inspection.automerge".to_string(), insp.save()));
    out.push(("inspection-signed.automerge".to_string(), signed.save()));
    // The same history as concatenated change chunks (as storage appends them).
    let changes: Vec<u8> = insp
        .doc_mut()
        .get_changes(&[])
        .iter()
        .flat_map(|c| c.raw_bytes().to_vec())
        .collect();
    out.push(("inspection-changes.automerge".to_string(), changes));
    // A saved document followed by an incremental chunk.
    let mut incremental = insp.clone();
    let mut bytes = incremental.save();
    op(
        &mut incremental,
        r#"{"op":"tally_defect","id":"d1","delta":-1}"#,
        &qc,
    );
    bytes.extend(incremental.doc_mut().save_incremental());
    out.push(("inspection-plus-incremental.automerge".to_string(), bytes));

    // A stock count with two clerks' entries and a recount.
    let mut lines = BTreeMap::new();
    lines.insert(
        "l1".to_string(),
        stock_count::NewLine {
            sku: "S1".into(),
            expected: 5,
            ..Default::default()
        },
    );
    let mut count = stock_count::create(
        &stock_count::NewStockCount {
            warehouse: "W1".into(),
            blind: true,
            assignees: vec!["c1".into()],
            lines,
            ..Default::default()
        },
        actor(2),
        &ctx("office", 1_000),
    )
    .expect("stock count");
    op(
        &mut count,
        r#"{"op":"set_count","line":"l1","qty":4}"#,
        &ctx("c1", 2_000),
    );
    op(
        &mut count,
        r#"{"op":"set_count","line":"l1","qty":6}"#,
        &ctx("c2", 2_001),
    );
    op(
        &mut count,
        r#"{"op":"request_recount","line":"l1"}"#,
        &ctx("office", 3_000),
    );
    out.push(("stock-count.automerge".to_string(), count.save()));

    let mut appr = approval::create(
        &approval::NewApproval {
            subject: "Price change".into(),
            steps: vec![("merchandiser".into(), 1), ("approver".into(), 2)],
            ..Default::default()
        },
        actor(3),
        &ctx("office", 1_000),
    )
    .expect("approval");
    approval::decide(
        &mut appr,
        "s1",
        true,
        "ok",
        &["merchandiser"],
        &ctx("m1", 2_000),
    )
    .expect("decide");
    out.push(("approval.automerge".to_string(), appr.save()));

    let mut order_lines = BTreeMap::new();
    order_lines.insert(
        "navy".to_string(),
        order::OrderLine {
            colour: "Navy".into(),
            ..Default::default()
        },
    );
    let mut ord = order::create(
        &order::NewOrder {
            order_no: "SO-1".into(),
            customer: "Northwind".into(),
            factory: "F1".into(),
            merchandiser: "m1".into(),
            lines: order_lines,
            ..Default::default()
        },
        actor(4),
        &ctx("m1", 1_000),
    )
    .expect("order");
    out.push(("order.automerge".to_string(), ord.save()));
    if let Ok(mut c) = order::create_commercial(
        "order-1",
        "SO-1",
        Default::default(),
        actor(5),
        &ctx("m1", 1_000),
    ) {
        out.push(("order-commercial.automerge".to_string(), c.save()));
    }
    let mut po = purchase_order::create(
        &purchase_order::NewPurchaseOrder {
            po_no: "PO-1".into(),
            order_no: "SO-1".into(),
            factory: "F1".into(),
            ..Default::default()
        },
        actor(6),
        &ctx("m1", 1_000),
    )
    .expect("purchase order");
    out.push(("purchase-order.automerge".to_string(), po.save()));
    let mut ship = shipment::create(
        &shipment::NewShipmentCheck {
            title: "Container 1".into(),
            warehouse: "W1".into(),
            assignees: vec!["s1".into()],
            ..Default::default()
        },
        actor(7),
        &ctx("office", 1_000),
    )
    .expect("shipment check");
    out.push(("shipment-check.automerge".to_string(), ship.save()));

    // A record whose schema is newer than this build reads, and one without a schema.
    let mut newer = count.clone();
    newer.doc_mut().put(ROOT, "schema", 99).expect("put");
    out.push(("stock-count-schema-99.automerge".to_string(), newer.save()));
    let mut old = count.clone();
    old.doc_mut().delete(ROOT, "schema").expect("delete");
    out.push(("stock-count-schema-0.automerge".to_string(), old.save()));
    out
}

/// A deterministic pseudo-random byte source (xorshift64*).
struct Bytes(u64);

impl Bytes {
    fn fill(&mut self, n: usize) -> Vec<u8> {
        (0..n)
            .map(|_| {
                self.0 ^= self.0 >> 12;
                self.0 ^= self.0 << 25;
                self.0 ^= self.0 >> 27;
                (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 56) as u8
            })
            .collect()
    }
}

/// Inputs for `write_check`: for each record type, one accepted and one rejected change
/// set, and the accepted ones that changed the most.
fn write_check_seeds() -> Vec<(String, Vec<u8>)> {
    let mut rng = Bytes(0x5eed_0001);
    let mut best: BTreeMap<String, (usize, Vec<u8>)> = BTreeMap::new();
    for _ in 0..20_000 {
        let len = 32 + (rng.fill(1)[0] as usize) * 2;
        let data = rng.fill(len);
        let kind = ["inspection", "stock-count", "approval"][data[0] as usize % 3];
        let key = match write_check::outcome(&data) {
            write_check::Outcome::Skipped => continue,
            write_check::Outcome::Rejected => format!("{kind}-rejected"),
            write_check::Outcome::Accepted(0) => format!("{kind}-accepted-nothing"),
            write_check::Outcome::Accepted(_) => format!("{kind}-accepted"),
        };
        let score = match write_check::outcome(&data) {
            write_check::Outcome::Accepted(n) => n,
            _ => usize::MAX - data.len(), // the shortest
        };
        if best.get(&key).is_none_or(|(s, _)| score > *s) {
            best.insert(key, (score, data));
        }
    }
    best.into_iter().map(|(k, (_, d))| (k, d)).collect()
}

/// The bytes `arbitrary` decodes as variant `index` of an enum with `count` variants (a
/// little-endian u32 `v` with `(v * count) >> 32 == index`).
fn tag(index: u64, count: u64) -> Vec<u8> {
    let v = (index << 32).div_ceil(count) as u32;
    v.to_le_bytes().to_vec()
}

/// `arbitrary`'s encoding of an [`edits::Edit`] path: each key as `Key::Known(index of
/// the key in KEYS)`, each preceded by a "one more" byte, then a "no more" byte.
fn path(keys: &[&str]) -> Vec<u8> {
    let mut out = Vec::new();
    for k in keys {
        let i = edits::KEYS
            .iter()
            .position(|x| x == k)
            .unwrap_or_else(|| panic!("{k} is not in KEYS"));
        out.push(1);
        out.extend(tag(0, 2));
        out.push(i as u8);
    }
    out.push(0);
    out
}

const EDITS: u64 = 6; // Put, Delete, Increment, Insert, Splice, Commit
const VALS: u64 = 13; // Known, Str, Int, Uint, F64, Bool, Null, Counter, Timestamp, Bytes, Map, List, Text

/// `Val::Known`: the index of `text` in TEXTS, or in KEYS after them.
fn known(text: &str) -> Vec<u8> {
    let i = edits::TEXTS
        .iter()
        .chain(edits::KEYS)
        .position(|x| *x == text)
        .expect("a known text");
    [tag(0, VALS), vec![i as u8]].concat()
}

fn int(v: i64) -> Vec<u8> {
    [tag(2, VALS), v.to_le_bytes().to_vec()].concat()
}

fn boolean(b: bool) -> Vec<u8> {
    [tag(5, VALS), vec![u8::from(b)]].concat()
}

fn put(keys: &[&str], value: Vec<u8>) -> Vec<u8> {
    // Missing parents are created.
    [tag(0, EDITS), path(keys), value, vec![1]].concat()
}

fn delete(keys: &[&str]) -> Vec<u8> {
    [tag(1, EDITS), path(keys)].concat()
}

fn increment(keys: &[&str], by: i64) -> Vec<u8> {
    [tag(2, EDITS), path(keys), by.to_le_bytes().to_vec()].concat()
}

/// `arbitrary`'s encoding of a [`write_check::Input`]: record (0 inspection, 1 stock count,
/// 2 approval), who (see `hub_seeds`), the device's edits, a second device's edits.
fn write_check_input(
    record: u8,
    who: [u8; 4],
    from_creation: bool,
    edits: &[Vec<u8>],
    concurrent: &[Vec<u8>],
) -> Vec<u8> {
    let mut out = vec![record];
    out.extend(who);
    out.push(u8::from(from_creation));
    out.push(0xd1); // the device's actor byte
    for e in edits {
        out.push(1);
        out.extend(e);
    }
    out.push(0);
    for e in concurrent {
        out.push(1);
        out.extend(e);
    }
    out
}

/// Hand-written `write_check` inputs: each a change the rules allow or refuse.
fn write_check_crafted() -> Vec<(String, Vec<u8>)> {
    const QC1: [u8; 4] = [1, 3, 0, 0];
    const CLERK_C1: [u8; 4] = [3, 4, 0, 1];
    const MERCH_M1: [u8; 4] = [5, 1, 0, 0];
    const FACTORY: [u8; 4] = [2, 7, 1, 0];
    let seeds = [
        (
            "qc1-edits-inspection",
            write_check_input(
                0,
                QC1,
                false,
                &[
                    put(&["title"], known("F2")),
                    increment(&["defects", "d1", "qty"], 1),
                ],
                &[],
            ),
        ),
        (
            "qc1-concurrent-edits-from-creation",
            write_check_input(
                0,
                QC1,
                true,
                &[put(&["remarks"], known("W1"))],
                &[put(&["remarks"], known("W2"))],
            ),
        ),
        (
            "qc1-assigns-c2-refused",
            write_check_input(
                0,
                QC1,
                false,
                &[put(&["assignees", "c2"], boolean(true))],
                &[],
            ),
        ),
        (
            "factory-edits-refused",
            write_check_input(0, FACTORY, false, &[put(&["title"], known("F1"))], &[]),
        ),
        (
            "office-changes-type-refused",
            write_check_input(0, MERCH_M1, false, &[put(&["type"], known("order"))], &[]),
        ),
        (
            "clerk-enters-own-count",
            write_check_input(
                1,
                CLERK_C1,
                false,
                &[put(&["lines", "l1", "entries", "1:c1", "qty"], int(5))],
                &[],
            ),
        ),
        (
            "clerk-changes-other-count-refused",
            write_check_input(
                1,
                CLERK_C1,
                false,
                &[put(&["lines", "l1", "entries", "1:c2", "qty"], int(9))],
                &[],
            ),
        ),
        (
            "clerk-changes-expected-refused",
            write_check_input(
                1,
                CLERK_C1,
                false,
                &[put(&["lines", "l1", "expected"], int(0))],
                &[],
            ),
        ),
        (
            "office-decides-own-step",
            write_check_input(
                2,
                MERCH_M1,
                false,
                &[put(&["decisions", "s1:m1", "status"], known("approval"))],
                &[],
            ),
        ),
        (
            "office-forges-decision-refused",
            write_check_input(
                2,
                MERCH_M1,
                false,
                &[
                    delete(&["decisions", "s1:qc1"]),
                    put(&["decisions", "s1:c1"], boolean(true)),
                ],
                &[],
            ),
        ),
    ];
    seeds
        .into_iter()
        .map(|(name, data)| {
            let outcome = write_check::outcome(&data);
            println!("write_check seed {name}: {outcome:?}");
            (name.to_string(), data)
        })
        .collect()
}

/// Inputs for `hub`, written in `arbitrary`'s encoding of [`hub::Input`]: whole sessions
/// (join, request, sync rounds, flush) by users in and out of scope, a record created on
/// the device, a refused protocol version, another user's index.
fn hub_seeds() -> Vec<(String, Vec<u8>)> {
    const OPS: u64 = 14; // the variants of HubOp, in order:
    let join = |peer: u8, v1: bool| [tag(0, OPS), vec![peer, u8::from(v1)]].concat();
    let request = |doc: u8| [tag(2, OPS), vec![doc]].concat();
    let sync = |doc: u8| [tag(3, OPS), vec![doc]].concat();
    let create = |doc: u8, stock_count: bool, user: u8| {
        [tag(7, OPS), vec![doc, u8::from(stock_count), user]].concat()
    };
    let flush = || tag(10, OPS);
    let edit = |doc: u8, e: Vec<u8>| [tag(6, OPS), vec![doc], e].concat();
    let reconnect = || tag(11, OPS);
    // Who: user (office qc1 qc2 c1 c2 m1), role (admin merchandiser sales qc warehouse
    // shipping approver factory), factory (- F1 F2 ""), warehouse (- W1 W2 "").
    let session = |who: [u8; 4], has_docs: bool, ops: Vec<Vec<u8>>| {
        let mut out = who.to_vec();
        out.push(u8::from(has_docs));
        for op in ops {
            out.push(1); // one more element
            out.extend(op);
        }
        out
    };
    let rounds = |doc: u8| vec![request(doc), sync(doc), sync(doc), flush(), sync(doc)];
    vec![
        (
            "qc1-syncs-assigned-inspection",
            session(
                [1, 3, 0, 0],
                false,
                [vec![join(0, true)], rounds(0)].concat(),
            ),
        ),
        (
            "qc1-pushes-from-old-copy",
            session(
                [1, 3, 0, 0],
                true,
                [vec![join(0, true)], rounds(0)].concat(),
            ),
        ),
        (
            "clerk-syncs-stock-count",
            session(
                [3, 4, 0, 1],
                true,
                [vec![join(1, true)], rounds(1)].concat(),
            ),
        ),
        (
            "factory-reads-inspection",
            session(
                [2, 7, 1, 0],
                true,
                [vec![join(0, true)], rounds(0)].concat(),
            ),
        ),
        (
            "office-creates-inspection",
            session(
                [0, 1, 0, 0],
                false,
                [vec![join(0, true), create(2, false, 0)], rounds(2)].concat(),
            ),
        ),
        (
            "qc-creates-stock-count",
            session(
                [1, 3, 0, 0],
                false,
                [vec![join(0, true), create(2, true, 1)], rounds(2)].concat(),
            ),
        ),
        (
            "qc1-edits-and-pushes",
            session(
                [1, 3, 0, 0],
                false,
                [
                    vec![join(0, true)],
                    rounds(0),
                    vec![
                        edit(0, put(&["title"], known("F2"))),
                        edit(0, increment(&["defects", "d1", "qty"], 1)),
                    ],
                    rounds(0),
                ]
                .concat(),
            ),
        ),
        (
            "qc1-assigns-c2-refused",
            session(
                [1, 3, 0, 0],
                false,
                [
                    vec![join(0, true)],
                    rounds(0),
                    vec![edit(0, put(&["assignees", "c2"], boolean(true)))],
                    rounds(0),
                ]
                .concat(),
            ),
        ),
        (
            "clerk-enters-own-count",
            session(
                [3, 4, 0, 1],
                false,
                [
                    vec![join(0, true)],
                    rounds(1),
                    vec![edit(
                        1,
                        put(&["lines", "l1", "entries", "1:c1", "qty"], int(5)),
                    )],
                    rounds(1),
                ]
                .concat(),
            ),
        ),
        (
            "qc2-asks-for-qc1-index",
            session(
                [2, 3, 0, 0],
                false,
                [vec![join(0, true)], rounds(3)].concat(),
            ),
        ),
        (
            "version-2-then-rejoin",
            session(
                [1, 3, 0, 0],
                false,
                [vec![join(0, false), reconnect(), join(1, true)], rounds(0)].concat(),
            ),
        ),
    ]
    .into_iter()
    .map(|(name, data)| {
        let accepted = hub::outcome(&data).expect("a hub seed decodes");
        println!("hub seed {name}: {accepted} change set(s) accepted");
        (name.to_string(), data)
    })
    .collect()
}
