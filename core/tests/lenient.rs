//! Readers are lenient, for every record type: a document written by an early or a foreign
//! client — no schema, no collections, a field this build does not know, numbers stored as
//! unsigned or float — reads with everything missing defaulted, upgrades once to the
//! current schema (its collections created), and keeps the unknown field through writes.

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ROOT, ReadDoc};
use gendan_core::ops::{Viewer, view_json};
use gendan_core::record::{Record, RecordType, actor_from_bytes, read_schema};

const TYPES: [RecordType; 7] = [
    RecordType::Inspection,
    RecordType::StockCount,
    RecordType::ShipmentCheck,
    RecordType::Order,
    RecordType::OrderCommercial,
    RecordType::PurchaseOrder,
    RecordType::Approval,
];

fn bare(t: RecordType) -> Vec<u8> {
    let mut doc = AutoCommit::new();
    doc.put(ROOT, "type", t.as_str()).unwrap();
    doc.put(ROOT, "future_field", "keep me").unwrap();
    doc.put(ROOT, "created_at_ms", 42_u64).unwrap();
    doc.put(ROOT, "due_ms", 7.0_f64).unwrap();
    doc.put(ROOT, "title", "from an early client").unwrap();
    doc.save()
}

fn office_view(r: &Record) -> serde_json::Value {
    view_json(
        r,
        Viewer {
            user: "",
            office: true,
        },
    )
    .unwrap_or_else(|e| panic!("{}: does not read leniently: {e}", r.record_type()))
}

#[test]
fn every_record_type_reads_leniently_upgrades_once_and_keeps_unknown_fields() {
    for t in TYPES {
        let mut r = Record::load(&bare(t), actor_from_bytes(&[3; 16]))
            .unwrap_or_else(|e| panic!("{t}: {e}"));
        let before = office_view(&r);
        assert_eq!(
            before["record"]["future_field"],
            serde_json::Value::Null,
            "{t}"
        );
        assert_eq!(
            r.header().unwrap().created_at_ms.0,
            42,
            "{t}: an unsigned number"
        );

        // Upgraded once: the schema is current and every collection exists.
        assert!(r.upgrade().unwrap(), "{t}: upgrades");
        assert!(!r.upgrade().unwrap(), "{t}: upgrade runs once");
        assert_eq!(read_schema(r.doc()), t.current_schema(), "{t}");
        let after = office_view(&r);
        assert_eq!(
            after["record"]["title"], before["record"]["title"],
            "{t}: the upgrade changes no value"
        );

        // The unknown field survives the write and a save/load round trip.
        let saved = r.save();
        let again = Record::load(&saved, actor_from_bytes(&[4; 16])).unwrap();
        let kept = again.doc().get(ROOT, "future_field").unwrap().unwrap().0;
        assert_eq!(kept.as_str(), Some("keep me"), "{t}");
        assert_eq!(
            office_view(&again),
            after,
            "{t}: reads the same after reloading"
        );
    }
}
