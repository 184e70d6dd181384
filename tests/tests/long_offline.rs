//! The long offline device: a QC tablet takes its 200 inspections into a factory with no
//! signal and works for seven (simulated) days — 5,000 edits: new defects, tallies on them,
//! checklist results — while the office keeps editing some of the same records on the
//! server. Then it reconnects once. Every edit of both sides must be on the server and on
//! the device, the tallies summed, and the two replicas of every record identical (same
//! heads, same view).
//!
//! Size: `GENDAN_OFFLINE_EDITS` (5000) and `GENDAN_OFFLINE_RECORDS` (200).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use gendan_core::aql::DefectClass;
use gendan_core::common::EditContext;
use gendan_core::inspection::{self, InspectionOp};
use gendan_core::protocol::client::ClientPeer;
use gendan_core::protocol::{DocumentId, PeerId, StorageId};
use gendan_core::record::Record;
use gendan_tests::ws::index_entries;
use gendan_tests::{PATIENCE, Server, SyncClient, http, login};
use serde_json::{Value, json};

const DAY_MS: i64 = 24 * 3600 * 1000;
/// Two of the checklist items every inspection has (`inspection::STANDARD_CHECKLIST`).
const CHECKS: [&str; 2] = ["packaging", "shipping_marks"];

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Edits a document the peer holds, with no connection (the tablet's own storage).
fn edit_offline(peer: &mut ClientPeer, doc: DocumentId, op: &InspectionOp, ctx: &EditContext) {
    let held = peer.doc(&doc).expect("the device holds the record").clone();
    let mut record = Record::from_doc(held).unwrap_or_else(|b| panic!("{doc}: {}", b.1));
    let before = record.heads();
    inspection::apply(&mut record, op, ctx).unwrap_or_else(|e| panic!("{doc}: {op:?}: {e}"));
    let changes = record.doc_mut().get_changes(&before);
    peer.doc_mut(&doc)
        .expect("held")
        .apply_changes(changes)
        .expect("the device's own changes apply");
}

/// The inspection's view as JSON (what the office and the device show).
fn view_of(doc: &automerge::AutoCommit) -> Value {
    let record = Record::from_doc(doc.clone()).unwrap_or_else(|b| panic!("{}", b.1));
    serde_json::to_value(inspection::view(&record).expect("reads as an inspection")).expect("JSON")
}

#[test]
fn a_week_offline_loses_no_edit_and_the_replicas_agree() {
    let edits = env_or("GENDAN_OFFLINE_EDITS", 5000);
    let records = env_or("GENDAN_OFFLINE_RECORDS", 200);
    let started = Instant::now();
    let server = Server::start_demo();
    let port = server.port();
    let merch = login(port, "merch");

    // The office assigns `records` inspections to qc1.
    let mut ids: Vec<DocumentId> = Vec::new();
    for k in 0..records {
        let r = http::post(
            port,
            "/api/v1/records",
            Some(&merch.token),
            &json!({
                "type": "inspection",
                "title": format!("Week offline {k:03}"),
                "order_no": "SO-WEEK",
                "style_no": format!("ST-{k:03}"),
                "factory": "Ningbo Knitwear",
                "lot_size": 2000,
                "assignees": ["qc1"],
            }),
        );
        assert_eq!(r.status, 201, "create {k}: {}", r.body);
        ids.push(
            r.json()["id"]
                .as_str()
                .expect("id")
                .parse()
                .expect("a document id"),
        );
    }

    // The tablet syncs its index and every record before leaving.
    let qc1 = login(port, "qc1");
    let index = qc1.index_id.expect("qc1 has an index");
    let peer = ClientPeer::new(
        PeerId::new("week-tablet"),
        Some(StorageId::new("week-tablet")),
    );
    let mut client = SyncClient::connect_peer(port, &qc1.token, peer);
    client.fetch(index).expect("qc1's index");
    let listed: BTreeSet<DocumentId> = index_entries(&client.doc(&index))
        .into_iter()
        .map(|e| e.id)
        .collect();
    for id in &ids {
        assert!(listed.contains(id), "qc1's index lists {id}");
        client.fetch(*id).expect("the record syncs");
    }
    let mut peer = client.into_peer();
    peer.disconnected();

    // Seven days offline: `edits` edits spread over the records and the week.
    let t0 = 1_800_000_000_000_i64;
    let step = 7 * DAY_MS / i64::try_from(edits.max(1)).unwrap_or(1);
    // Per record: defect id → expected quantity; checklist key → expected result.
    let mut want: BTreeMap<DocumentId, BTreeMap<String, i64>> = BTreeMap::new();
    for i in 0..edits {
        let doc = ids[i % records];
        let round = i / records;
        let ctx = EditContext::new("qc1", t0 + step * i64::try_from(i).unwrap_or(0));
        let defects = want.entry(doc).or_default();
        let op = match round % 3 {
            // A new defect, then tallies on the record's first defect, then a checklist item.
            0 => {
                let id = format!("w{i}");
                defects.insert(id.clone(), 1);
                InspectionOp::AddDefect {
                    id,
                    class: [DefectClass::Minor, DefectClass::Major][i % 2],
                    description: format!("day {} finding", round * 7 / 25 + 1),
                    position: "hem".into(),
                    qty: 1,
                }
            }
            1 => {
                let first = defects.keys().next().cloned().expect("a defect to tally");
                *defects.get_mut(&first).expect("known") += 1;
                InspectionOp::TallyDefect {
                    id: first,
                    delta: 1,
                }
            }
            _ => InspectionOp::SetCheck {
                item: CHECKS[round % 2].into(),
                result: inspection::CheckResult::Pass,
                note: format!("round {round}"),
                name: None,
            },
        };
        edit_offline(&mut peer, doc, &op, &ctx);
    }
    let offline_done = started.elapsed();

    // Meanwhile the office adds a defect to every tenth record, on the server.
    let mut office_defects: BTreeMap<DocumentId, String> = BTreeMap::new();
    for (k, doc) in ids.iter().enumerate().step_by(10) {
        let id = format!("office-{k}");
        let r = http::post(
            port,
            &format!("/api/v1/records/{doc}/ops"),
            Some(&merch.token),
            &json!({ "op": "add_defect", "id": id, "class": "major", "description": "seen on the photos" }),
        );
        assert_eq!(r.status, 200, "office edit {k}: {}", r.body);
        office_defects.insert(*doc, id);
    }

    // Back in signal: one reconnect, everything acknowledged.
    let qc1 = login(port, "qc1");
    let mut client = SyncClient::connect_peer(port, &qc1.token, peer);
    client.sync();
    for id in &ids {
        assert!(
            client.wait_acknowledged(*id, PATIENCE),
            "{id}: the device's edits are acknowledged"
        );
    }
    // And the office's edits reach the device.
    for (doc, defect) in &office_defects {
        let arrived = client.pump_until(PATIENCE, |c| {
            c.peer()
                .doc(doc)
                .is_some_and(|d| view_of(d)["record"]["defects"].get(defect).is_some())
        });
        assert!(arrived, "{doc}: the office's defect reaches the device");
    }

    // Every record, both replicas: every edit there, tallies summed, heads and views equal.
    let mut checked_edits = 0usize;
    for doc in &ids {
        let r = http::get(port, &format!("/api/v1/records/{doc}"), &merch.token);
        assert_eq!(r.status, 200, "{doc}: {}", r.body);
        let server_view = r.json()["view"].clone();
        let mut device_doc = client.doc(doc);
        let device_view = view_of(&device_doc);
        assert_eq!(
            server_view["record"], device_view["record"],
            "{doc}: the server's and the device's record differ"
        );
        assert_eq!(
            server_view["derived"], device_view["derived"],
            "{doc}: derived values differ"
        );
        let server_heads: Vec<String> = r.json()["heads"]
            .as_array()
            .expect("heads")
            .iter()
            .map(|h| h.as_str().expect("a hash").to_string())
            .collect();
        let device_heads: Vec<String> = device_doc
            .get_heads()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            server_heads.iter().collect::<BTreeSet<_>>(),
            device_heads.iter().collect::<BTreeSet<_>>(),
            "{doc}: heads differ"
        );
        let defects = &server_view["record"]["defects"];
        for (id, qty) in want.get(doc).into_iter().flatten() {
            assert_eq!(
                defects[id]["qty"].as_i64(),
                Some(*qty),
                "{doc}: defect {id} with its tallies"
            );
        }
        if let Some(id) = office_defects.get(doc) {
            assert!(defects.get(id).is_some(), "{doc}: the office's defect");
        }
        let expected_defects =
            want.get(doc).map_or(0, BTreeMap::len) + usize::from(office_defects.contains_key(doc));
        assert_eq!(
            defects.as_object().map_or(0, serde_json::Map::len),
            expected_defects,
            "{doc}: no defect more, none less"
        );
        checked_edits += want
            .get(doc)
            .map_or(0, |d| d.values().sum::<i64>() as usize);
    }
    eprintln!(
        "long offline: {edits} edits over {records} records in 7 simulated days ({:.1} s \
         offline work), synced in one reconnect; 0 edits lost, replicas identical ({} defect \
         pieces checked; {:.1} s in all)",
        offline_done.as_secs_f64(),
        checked_edits,
        started.elapsed().as_secs_f64()
    );
}
