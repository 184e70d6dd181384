//! kill -9: nothing the server acknowledged is ever lost.
//!
//! A device (qc1, `gendan-core`'s `ClientPeer` over a real socket) adds defects to the final
//! inspection as fast as the server acknowledges them, a few in flight at a time. At a
//! random moment (50–500 ms into each trial) the server gets SIGKILL — no shutdown, nothing
//! pending written. It is restarted on the same data folder (its store must reopen), and the
//! inspection is read before the device reconnects (so the device cannot quietly resend what
//! the server lost) — over REST, which reads the store, and by a different sync client:
//! every acknowledged defect must be there.
//!
//! "Acknowledged" is decided by the device's own protocol state: after each frame from the
//! server, `ClientPeer::unsynced_changes` counts the local changes not covered by the heads
//! the server last sent (automerge's `shared_heads`). The server sends a frame only after the
//! turn that produced it is written and flushed, so heads it sends are durable. The device's
//! defects form one chain of changes (each built on the previous), so the uncovered changes
//! are always the newest ones: with `u` uncovered, all but the last `u` defects written are
//! acknowledged.
//!
//! Trials: 5, or `GENDAN_KILL9_TRIALS`; the random delays come from a seed printed at the
//! start (set `GENDAN_KILL9_SEED` to repeat a run).

use std::collections::BTreeSet;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use gendan_core::aql::DefectClass;
use gendan_core::inspection::InspectionOp;
use gendan_core::protocol::client::ClientPeer;
use gendan_core::protocol::{DocumentId, PeerId, StorageId};
use gendan_tests::ws::{self, index_entries, root_map_keys, server_copy};
use gendan_tests::{PATIENCE, Server, SyncClient, http, login};

/// Defects written but not acknowledged, at most (a device pipelines a little).
const IN_FLIGHT_MAX: usize = 4;

/// xorshift64*: reproducible delays without a dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn between(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }
}

/// The device: its peer (documents kept across connections, like durable device storage)
/// and the defects it wrote, oldest first.
struct Device {
    peer: Option<ClientPeer>,
    written: Vec<String>,
    /// `written[..acked]` are acknowledged.
    acked: usize,
}

/// One connection's worth of writing: until the connection dies (or `stop_after` passes,
/// for the final catch-up). Sends `()` on `started` once the first defect is written.
fn write_until_dead(
    dev: &mut Device,
    port: u16,
    token: &str,
    doc: DocumentId,
    trial: usize,
    started: Option<mpsc::Sender<()>>,
) {
    let peer = dev.peer.take().expect("the device's peer");
    let mut client = match SyncClient::try_connect_peer(port, token, peer) {
        Ok(c) => c,
        Err(failed) => {
            dev.peer = Some(*failed.peer);
            return;
        }
    };
    if client.peer().doc(&doc).is_none() {
        client.peer_mut().want(doc);
    }
    client.sync();
    let ready = client.pump_until(PATIENCE, |c| c.has_server_heads(&doc));
    let mut started = started;
    if ready {
        let mut n = 0usize;
        loop {
            let unsynced = client.peer_mut().unsynced_changes(&doc);
            dev.acked = dev.acked.max(dev.written.len().saturating_sub(unsynced));
            if dev.written.len() - dev.acked < IN_FLIGHT_MAX {
                n += 1;
                let id = format!("k9-{trial}-{n}");
                let changes = client.inspection_op(
                    doc,
                    "qc1",
                    &InspectionOp::AddDefect {
                        id: id.clone(),
                        class: DefectClass::Minor,
                        description: "loose thread".into(),
                        position: "hem".into(),
                        qty: 1,
                    },
                );
                assert_eq!(changes.len(), 1, "one defect, one change");
                dev.written.push(id);
                if let Some(tx) = started.take() {
                    let _ = tx.send(());
                }
            }
            if !client.pump_once(Duration::from_millis(2)) || client.closed().is_some() {
                break;
            }
        }
    }
    if let Some(tx) = started.take() {
        let _ = tx.send(());
    }
    dev.peer = Some(client.into_peer());
}

/// The defect ids of the inspection as the server has them after a restart, read two ways
/// that must agree: the store (`GET /api/v1/records/{id}`, which reads it directly) and a
/// fresh sync connection (which loads the document into the sync service).
fn defects_on_server(port: u16, doc: DocumentId) -> BTreeSet<String> {
    let merch = login(port, "merch");
    let r = http::get(port, &format!("/api/v1/records/{doc}"), &merch.token);
    assert_eq!(r.status, 200, "GET /api/v1/records/{doc}: {}", r.body);
    let rest: BTreeSet<String> = r.json()["view"]["record"]["defects"]
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    let copy = server_copy(port, doc).expect("merch syncs the inspection");
    let synced: BTreeSet<String> = root_map_keys(&copy, "defects").into_iter().collect();
    assert_eq!(rest, synced, "the store and the sync service disagree");
    rest
}

#[test]
fn acknowledged_changes_survive_kill_9() {
    let trials: usize = std::env::var("GENDAN_KILL9_TRIALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let seed: u64 = std::env::var("GENDAN_KILL9_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| ws::unique() | 1);
    eprintln!("kill-9: {trials} trials, seed {seed} (GENDAN_KILL9_SEED to repeat)");
    let mut rng = Rng(seed);
    let started_at = Instant::now();

    let mut server = Server::start_demo();
    let doc = {
        let qc1 = login(server.port(), "qc1");
        let index = qc1.index_id.expect("qc1 has an index");
        let mut c = SyncClient::connect(server.port(), &qc1.token, "kill9-index");
        c.fetch(index).expect("qc1's index");
        index_entries(&c.doc(&index))
            .into_iter()
            .find(|e| e.record_type == "inspection" && e.title.starts_with("Final inspection"))
            .expect("qc1's index lists the final inspection")
            .id
    };
    let mut dev = Device {
        peer: Some(ClientPeer::new(
            PeerId::new("kill9-device"),
            Some(StorageId::new("kill9-device-storage")),
        )),
        written: Vec::new(),
        acked: 0,
    };
    let mut lost_total = Vec::new();
    let mut acked_total = 0;
    for trial in 1..=trials {
        let port = server.port();
        let token = login(port, "qc1").token;
        let delay = Duration::from_millis(rng.between(50, 500));
        let (tx, rx) = mpsc::channel();
        let killed_after = std::thread::scope(|s| {
            let dev = &mut dev;
            let writer = s.spawn(move || write_until_dead(dev, port, &token, doc, trial, Some(tx)));
            rx.recv_timeout(PATIENCE)
                .expect("the device starts writing in time");
            let t0 = Instant::now();
            std::thread::sleep(delay);
            server.kill9();
            let killed_after = t0.elapsed();
            writer.join().expect("the writer thread");
            killed_after
        });
        server.restart();
        assert!(
            server.log().contains("store verified"),
            "trial {trial}: the store reopens and verifies; log:\n{}",
            server.log()
        );
        let on_server = defects_on_server(server.port(), doc);
        let acked: Vec<&String> = dev.written[..dev.acked].iter().collect();
        let lost: Vec<String> = acked
            .iter()
            .filter(|id| !on_server.contains(id.as_str()))
            .map(|id| (*id).clone())
            .collect();
        let durable_unacked = dev.written[dev.acked..]
            .iter()
            .filter(|id| on_server.contains(id.as_str()))
            .count();
        eprintln!(
            "  trial {trial}: killed after {killed_after:?}; written {}, acknowledged {}, \
             on disk {} (+{durable_unacked} written but not yet acknowledged), lost {}",
            dev.written.len(),
            dev.acked,
            on_server.iter().filter(|d| d.starts_with("k9-")).count(),
            lost.len()
        );
        acked_total = dev.acked;
        lost_total.extend(lost);
    }

    // The device reconnects and catches up: then everything it ever wrote is on the server.
    {
        let port = server.port();
        let token = login(port, "qc1").token;
        let peer = dev.peer.take().expect("the device's peer");
        let mut client = SyncClient::connect_peer(port, &token, peer);
        client.sync();
        assert!(
            client.wait_acknowledged(doc, PATIENCE),
            "the device's changes are all acknowledged after reconnecting"
        );
        let on_server = defects_on_server(port, doc);
        let missing: Vec<&String> = dev
            .written
            .iter()
            .filter(|id| !on_server.contains(id.as_str()))
            .collect();
        assert!(
            missing.is_empty(),
            "after the device resynced, defects are missing: {missing:?}"
        );
    }

    if lost_total.is_empty() {
        eprintln!(
            "kill-9: {trials} trials, 0 acknowledged changes lost ({acked_total} acknowledged, \
             {} written; {:.1} s)",
            dev.written.len(),
            started_at.elapsed().as_secs_f64()
        );
    } else {
        eprintln!(
            "kill-9: {trials} trials, {} acknowledged changes LOST: {lost_total:?}",
            lost_total.len()
        );
    }
    assert!(
        lost_total.is_empty(),
        "acknowledged changes lost after kill -9 (seed {seed}): {lost_total:?}"
    );
    assert!(
        acked_total > 0,
        "the test acknowledged nothing: it proved nothing"
    );
}

/// The status the office's record list (`GET /api/v1/records`, the projections) shows for
/// `doc`.
fn listed_status(port: u16, token: &str, doc: DocumentId) -> String {
    let r = http::get(port, "/api/v1/records?type=inspection&limit=500", token);
    assert_eq!(r.status, 200, "GET /api/v1/records: {}", r.body);
    r.json()["items"]
        .as_array()
        .and_then(|items| items.iter().find(|i| i["id"] == doc.to_string()))
        .and_then(|i| i["status"].as_str().map(str::to_string))
        .unwrap_or_else(|| panic!("{doc} is not listed: {}", r.body))
}

/// Polls the list until `doc` shows `status`, for `patience` at most.
fn listed_within(
    port: u16,
    token: &str,
    doc: DocumentId,
    status: &str,
    patience: Duration,
) -> bool {
    let deadline = Instant::now() + patience;
    loop {
        if listed_status(port, token, doc) == status {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A record the devices change again soon after its summary was brought up to date waits
/// for its next summary (`sync::CATALOG_COALESCE_MS`). Two things must hold: the summary
/// catches up by itself, with no further change; and when the server is killed while a
/// summary waits, the restarted server brings it up to date (the wait is marked in storage
/// with the changes). The device records a defect (the list shows `in_progress` at once)
/// and signs the inspection off right after: the list must go on to `signed`.
#[test]
fn a_waiting_summary_catches_up_and_survives_kill_9() {
    let mut server = Server::start_demo();
    let mut kill = false;
    loop {
        let port = server.port();
        let merch = login(port, "merch");
        let qc1 = login(port, "qc1");
        let mut waited = false;
        // On a slow machine the second change may come after the wait: then try again with
        // a new inspection, a few times.
        for attempt in 1..=5 {
            let r = http::post(
                port,
                "/api/v1/records",
                Some(&merch.token),
                &serde_json::json!({"type": "inspection", "title": format!("Coalesce {kill} {attempt}"),
                    "order_no": "SO-CO-1", "factory": "Dongguan Hengli Garments",
                    "inspection_type": "pre_shipment", "lot_size": 500, "assignees": ["qc1"]}),
            );
            assert_eq!(r.status, 201, "{}", r.body);
            let doc: DocumentId = r.json()["id"].as_str().unwrap().parse().unwrap();
            assert_eq!(listed_status(port, &merch.token, doc), "open");
            let mut c =
                SyncClient::connect(port, &qc1.token, &format!("coalesce-{}", ws::unique()));
            c.fetch(doc).expect("qc1 syncs the inspection");
            // Past the wait of the office's creation: the first change updates at once.
            std::thread::sleep(Duration::from_millis(400));
            c.inspection_op(
                doc,
                "qc1",
                &InspectionOp::AddDefect {
                    id: "d1".into(),
                    class: DefectClass::Minor,
                    description: "loose thread".into(),
                    position: "hem".into(),
                    qty: 1,
                },
            );
            assert!(c.wait_acknowledged(doc, PATIENCE));
            c.inspection_op(
                doc,
                "qc1",
                &InspectionOp::SignOff {
                    name: "Li Qiang".into(),
                    signature_sha256: String::new(),
                },
            );
            assert!(c.wait_acknowledged(doc, PATIENCE));
            // The defect made it `in_progress`; the sign-off waits.
            let now_listed = listed_status(port, &merch.token, doc);
            if now_listed != "in_progress" {
                eprintln!(
                    "  attempt {attempt}: the summary did not wait (a slow turn): {now_listed}"
                );
                continue;
            }
            waited = true;
            if kill {
                server.kill9();
                server.restart();
                let port = server.port();
                let merch = login(port, "merch");
                assert!(
                    listed_within(port, &merch.token, doc, "signed", PATIENCE),
                    "after kill -9, the restarted server brings the waiting summary up to date"
                );
            } else {
                assert!(
                    listed_within(port, &merch.token, doc, "signed", Duration::from_secs(2)),
                    "the waiting summary catches up with no further change"
                );
            }
            break;
        }
        assert!(
            waited,
            "no summary waited in 5 attempts: the test proved nothing"
        );
        if kill {
            break;
        }
        kill = true;
    }
}
